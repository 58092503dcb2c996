//! The stat cache of captures (store-spec.md §8) on the simulated file system, where time
//! stamps, crashes and failures are exact: what a capture reads, what it trusts, and that a
//! power loss, damage or a failed write only ever costs reading files again.

use skillwal::fs::sim::{CrashModel, SimFs};
use skillwal::fs::{FileSystem, LockKind, OpenMode};
use skillwal::store::Store;
use skillwal::store::capture::{CacheUse, Captured, capture_dir};
use std::path::Path;
use std::sync::Arc;

const ROOT: &str = "/c";
const LOCK: &str = "/c/.skillwal/lock";
const FILES: [&str; 4] = [
    "a.txt",
    "skills/s1/SKILL.md",
    "skills/s1/run.sh",
    "skills/s2/x",
];

fn write(fs: &SimFs, rel: &str, bytes: &[u8]) {
    let p = Path::new(ROOT).join(rel);
    let _ = fs.remove_file(&p);
    let f = fs
        .open(&p, OpenMode::CreateNew { mode: 0o644 })
        .expect("create");
    f.write_all_at(bytes, 0).expect("write");
}

/// Overwrites the start of an existing file in place (same inode, same size).
fn rewrite_in_place(fs: &SimFs, rel: &str, bytes: &[u8]) {
    let f = fs
        .open(&Path::new(ROOT).join(rel), OpenMode::ReadWrite)
        .expect("open");
    f.write_all_at(bytes, 0).expect("write");
}

/// A root with `.skillwal/` and four files, all durable.
fn setup() -> SimFs {
    let fs = SimFs::new();
    for d in ["", "/.skillwal", "/skills", "/skills/s1", "/skills/s2"] {
        fs.create_dir(Path::new(&format!("{ROOT}{d}")), 0o755)
            .expect("mkdir");
    }
    for (i, f) in FILES.iter().enumerate() {
        write(&fs, f, format!("content {i}\n").as_bytes());
    }
    write(&fs, ".skillwal/lock", b"");
    fs.sync_everything();
    fs
}

/// A capture as the collection makes one: under the exclusive lock, and with a recording
/// cache saved afterwards (as after a committed transaction).
fn capture(fs: &SimFs, cache: CacheUse) -> Captured {
    let store = Store::new(
        Arc::new(fs.handle()) as Arc<dyn FileSystem>,
        &skillwal::engine::Layout::new(Path::new(ROOT)),
    );
    let _lock = fs
        .lock(Path::new(LOCK), LockKind::Exclusive, true)
        .map_err(|_| "lock")
        .expect("lock");
    let c = capture_dir(&store, Path::new(ROOT), cache).expect("capture");
    c.save_stat_cache(&store, true);
    c
}

#[test]
fn unchanged_files_are_not_read_again_and_changed_ones_are() {
    let fs = setup();
    let first = capture(&fs, CacheUse::ReadWrite);
    assert_eq!(first.hashed_files, 4, "no cache yet: every file is read");
    let second = capture(&fs, CacheUse::ReadWrite);
    assert_eq!(second.hashed_files, 0);
    assert_eq!(second.root, first.root);

    // Rewritten in place with the same size (same inode): the time stamps tell.
    rewrite_in_place(&fs, "skills/s1/run.sh", b"content 9\n");
    let third = capture(&fs, CacheUse::ReadWrite);
    assert_eq!(third.hashed_files, 1);
    assert_ne!(third.root, first.root, "the new content is recorded");
    assert_eq!(capture(&fs, CacheUse::ReadWrite).hashed_files, 0);

    // Back to the first content: the same root as the first capture, read once more.
    write(&fs, "skills/s1/run.sh", b"content 2\n");
    let back = capture(&fs, CacheUse::ReadWrite);
    assert_eq!((back.hashed_files, back.root), (1, first.root));
}

#[test]
fn a_reader_uses_the_cache_but_never_writes_it() {
    let fs = setup();
    assert_eq!(capture(&fs, CacheUse::Read).hashed_files, 4);
    assert!(
        !fs.exists(Path::new("/c/.skillwal/stat-cache")).unwrap(),
        "a reader wrote a cache"
    );
    capture(&fs, CacheUse::ReadWrite);
    let calls = fs.mutating_calls();
    assert_eq!(capture(&fs, CacheUse::Read).hashed_files, 0);
    assert_eq!(fs.mutating_calls(), calls, "a reader changed something");
    assert_eq!(capture(&fs, CacheUse::Off).hashed_files, 4);
}

#[test]
fn a_kill_keeps_the_cache_and_a_power_loss_discards_it() {
    let fs = setup();
    let first = capture(&fs, CacheUse::ReadWrite);
    let killed = fs.crash(CrashModel::Kill, 1);
    assert_eq!(capture(&killed, CacheUse::ReadWrite).hashed_files, 0);
    // The cache was never synced, but even when it survives a power loss (made durable
    // here on purpose) it belongs to another boot.
    fs.sync_everything();
    for model in [CrashModel::DropAll, CrashModel::Subset, CrashModel::Torn] {
        let rebooted = fs.crash(model, 7);
        let c = capture(&rebooted, CacheUse::ReadWrite);
        assert_eq!((c.hashed_files, c.root), (4, first.root), "{model:?}");
    }
}

#[test]
fn any_damage_to_the_cache_only_costs_reading_again() {
    let fs = setup();
    let first = capture(&fs, CacheUse::ReadWrite);
    let cache = Path::new("/c/.skillwal/stat-cache");
    let len = fs.metadata(cache).expect("the cache exists").len;
    for at in (0..len).step_by(7) {
        let damaged = fs.fork();
        let f = damaged.open(cache, OpenMode::ReadWrite).expect("open");
        let mut b = [0u8];
        f.read_exact_at(&mut b, at).expect("read");
        f.write_all_at(&[b[0] ^ 0x21], at).expect("write");
        drop(f);
        let c = capture(&damaged, CacheUse::Read);
        assert_eq!((c.hashed_files, c.root), (4, first.root), "flip at {at}");
    }
    for cut in [0, 1, len / 2, len - 1] {
        let damaged = fs.fork();
        let f = damaged.open(cache, OpenMode::ReadWrite).expect("open");
        f.set_len(cut).expect("truncate");
        drop(f);
        let c = capture(&damaged, CacheUse::Read);
        assert_eq!((c.hashed_files, c.root), (4, first.root), "cut at {cut}");
    }
}

#[test]
fn a_failed_or_interrupted_cache_write_costs_only_reading_again() {
    let fs = setup();
    let reference = capture(&fs.fork(), CacheUse::Off);
    // The capture itself writes nothing; saving the cache is three mutating calls (create,
    // write, rename). Each fails in turn, or is the last before a crash: the next capture
    // records the same state and reads every file, or none when the cache got through.
    let probe = fs.fork();
    probe.reset_counters();
    capture(&probe, CacheUse::ReadWrite);
    assert_eq!(probe.mutating_calls(), 3);
    for n in 1..=3 {
        let failing = fs.fork();
        failing.reset_counters();
        failing.set_fail_at(Some((n, rustix::io::Errno::NOSPC)));
        assert_eq!(capture(&failing, CacheUse::ReadWrite).root, reference.root);
        failing.set_fail_at(None);
        let next = capture(&failing, CacheUse::ReadWrite);
        assert_eq!(next.root, reference.root);
        assert_eq!(
            next.hashed_files, 4,
            "no cache was written (failure at {n})"
        );

        let crashing = fs.fork();
        crashing.reset_counters();
        crashing.set_crash_after(Some(n));
        let store = Store::new(
            Arc::new(crashing.handle()) as Arc<dyn FileSystem>,
            &skillwal::engine::Layout::new(Path::new(ROOT)),
        );
        let c = capture_dir(&store, Path::new(ROOT), CacheUse::ReadWrite).expect("capture");
        c.save_stat_cache(&store, true);
        let after = crashing.crash(CrashModel::Kill, n);
        let next = capture(&after, CacheUse::ReadWrite);
        assert_eq!(next.root, reference.root, "crash after call {n}");
        let expected = if n == 3 { 0 } else { 4 };
        assert_eq!(next.hashed_files, expected, "crash after call {n}");
        // The leftover temporary file does not stop the next save.
        assert_eq!(capture(&after, CacheUse::ReadWrite).hashed_files, 0);
    }
}
