//! The engine on the real file system: readers that take no lock never see a path missing
//! or half-written (promise 7), one writer at a time (promise 9), and real processes killed
//! with SIGKILL after every mutating call by the crash hook, then recovered (promise 1).

use skillwal::fs::FileSystem;
use skillwal::fs::fault::{CRASH_AFTER_ENV, FaultFs};
use skillwal::fs::real::RealFs;
use skillwal::{Engine, Error, OpenOptions};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

fn real() -> Arc<dyn FileSystem> {
    Arc::new(RealFs)
}

fn tempdir() -> tempfile::TempDir {
    // Under target/, not /tmp: /tmp may be tmpfs, where durability is not exercised.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tempfile::tempdir_in(base).unwrap()
}

fn skill_md(v: u32) -> String {
    format!(
        "---\nname: a\nversion: {v}\n---\n{}\n",
        "x".repeat(2000 + v as usize % 7)
    )
}

fn manifest(v: u32) -> String {
    format!(
        "[collection]\nname = \"c\"\nversion = {v}\n{}\n",
        "#".repeat(3000)
    )
}

fn update(engine: &mut Engine, v: u32) -> skillwal::Result<()> {
    let mut t = engine.begin(&format!("update to {v}"))?;
    let mut tree = t.put_tree("skills/a", 0o755)?;
    tree.bytes("SKILL.md", skill_md(v).as_bytes(), 0o644)?;
    tree.dir("scripts", 0o755)?;
    tree.bytes("scripts/run.sh", format!("echo {v}\n").as_bytes(), 0o755)?;
    tree.finish()?;
    t.put_bytes("collection.toml", manifest(v).as_bytes(), 0o644)?;
    t.commit()?;
    Ok(())
}

fn setup(root: &Path) {
    std::fs::create_dir_all(root.join("skills")).unwrap();
    let mut e = Engine::open(real(), root, &OpenOptions::default()).unwrap();
    update(&mut e, 0).unwrap();
    e.close().unwrap();
}

#[test]
fn a_reader_without_the_lock_never_sees_a_path_missing_or_partial() {
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    setup(&root);
    let stop = Arc::new(AtomicBool::new(false));
    let looks = Arc::new(AtomicU64::new(0));
    let reader = {
        let (root, stop, looks) = (root.clone(), stop.clone(), looks.clone());
        std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                let m = std::fs::read_to_string(root.join("collection.toml"))
                    .map_err(|e| format!("collection.toml: {e}"))?;
                if !(0..=200).any(|v| m == manifest(v)) {
                    return Err(format!("collection.toml partial: {} bytes", m.len()));
                }
                let s = std::fs::read_to_string(root.join("skills/a/SKILL.md"))
                    .map_err(|e| format!("skills/a/SKILL.md: {e}"))?;
                if !(0..=200).any(|v| s == skill_md(v)) {
                    return Err(format!("SKILL.md partial: {} bytes", s.len()));
                }
                std::fs::read_dir(root.join("skills/a/scripts"))
                    .map_err(|e| format!("scripts: {e}"))?;
                looks.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    let mut e = Engine::open(real(), &root, &OpenOptions::default()).unwrap();
    for v in 1..=200 {
        update(&mut e, v).unwrap();
    }
    e.close().unwrap();
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap().unwrap();
    let n = looks.load(Ordering::Relaxed);
    eprintln!("reader looked {n} times during 200 updates; never saw a path missing or partial");
    assert!(n > 0);
}

#[test]
fn a_second_writer_fails_at_once_naming_the_holder_or_waits() {
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    let first = Engine::open(real(), &root, &OpenOptions::default()).unwrap();
    let no_wait = OpenOptions {
        no_wait: true,
        ..Default::default()
    };
    match Engine::open(real(), &root, &no_wait) {
        Err(e @ Error::Locked { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("pid {}", std::process::id())),
                "{msg}"
            );
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("two writers at once"),
    }
    let waiter = {
        let root = root.clone();
        std::thread::spawn(move || Engine::open(real(), &root, &OpenOptions::default()).map(|_| ()))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!waiter.is_finished(), "the waiting writer did not wait");
    drop(first);
    waiter.join().unwrap().unwrap();
}

#[test]
fn a_read_only_check_finds_nothing_to_recover_on_a_fresh_directory() {
    let dir = tempdir();
    assert!(
        !skillwal::needs_recovery(&RealFs, &skillwal::engine::Layout::new(dir.path())).unwrap()
    );
    assert!(
        !dir.path().join(".skillwal").exists(),
        "a check must not create anything"
    );
}

// ---- real processes killed for real ----

const CHILD_ROOT: &str = "SKILLWAL_TEST_CHILD_ROOT";

/// Runs in the child process only: one update under the crash hook from the environment.
#[test]
fn child_worker() {
    let Ok(root) = std::env::var(CHILD_ROOT) else {
        return;
    };
    let fs = FaultFs::from_env(real()).unwrap();
    let mut e = Engine::open(fs, Path::new(&root), &OpenOptions::default()).unwrap();
    update(&mut e, 7).unwrap();
    e.close().unwrap();
    println!("CHILD-DONE");
}

const CHILD_RUN: &str = "SKILLWAL_TEST_CHILD_RUN";

/// Runs in the child process only: three updates in one open engine — a run of committed
/// transactions (wal-spec.md §6.6) — under the crash hook, saying which commits returned.
#[test]
fn child_run_worker() {
    let Ok(root) = std::env::var(CHILD_RUN) else {
        return;
    };
    let fs = FaultFs::from_env(real()).unwrap();
    let mut e = Engine::open(fs, Path::new(&root), &OpenOptions::default()).unwrap();
    for v in 7..=9 {
        update(&mut e, v).unwrap();
        println!("ACK {v}");
    }
    e.close().unwrap();
    println!("CHILD-DONE");
}

/// What a user can see of one path: its kind, a file's bytes and permission bits, a
/// directory's permission bits, a link's target.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File(Vec<u8>, u32),
    Dir(u32),
    Link(PathBuf),
}

/// Every path below `root` but `.skillwal`, as a user sees it.
fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new(".skillwal") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            let node = if meta.file_type().is_symlink() {
                Node::Link(std::fs::read_link(&p).unwrap())
            } else if meta.is_dir() {
                stack.push(p);
                Node::Dir(mode)
            } else {
                Node::File(std::fs::read(&p).unwrap(), mode)
            };
            out.insert(rel, node);
        }
    }
    out
}

/// `cp -a` of `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// This test binary run again for the test `worker` alone, on `root` (given in the
/// environment variable `root_env`), with the crash hook set to `crash_after`.
fn run_worker(worker: &str, root_env: &str, root: &Path, crash_after: u64) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([worker, "--exact", "--nocapture", "--test-threads=1"])
        .env(root_env, root)
        .env(CRASH_AFTER_ENV, crash_after.to_string())
        .output()
        .unwrap()
}

#[test]
fn killed_with_sigkill_after_every_call_then_recovered() {
    let dir = tempdir();
    let template = dir.path().join("template");
    setup(&template);
    let copy = |to: &Path| copy_tree(&template, to);
    let before = tree(&template);
    // The reference run tells the after-state; count calls by crashing ever later.
    let reference = dir.path().join("reference");
    copy(&reference);
    let out = run_worker("child_worker", CHILD_ROOT, &reference, u64::MAX);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CHILD-DONE"),
        "{out:?}"
    );
    let after = tree(&reference);
    assert_ne!(before, after);
    let mut killed = 0;
    for n in 1.. {
        let root = dir.path().join(format!("run{n}"));
        copy(&root);
        let out = run_worker("child_worker", CHILD_ROOT, &root, n);
        if out.status.signal() != Some(9) {
            assert!(out.status.success(), "call {n}: {out:?}");
            break;
        }
        killed += 1;
        let e = Engine::open(real(), &root, &OpenOptions::default())
            .unwrap_or_else(|e| panic!("after SIGKILL at call {n}: {e}"));
        e.close().unwrap();
        let got = tree(&root);
        assert!(
            got == before || got == after,
            "after SIGKILL at call {n}: neither before nor after"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
    eprintln!("killed for real at {killed} call(s); every one recovered to before or after");
    assert!(killed > 10);
}

/// A run (wal-spec.md §6.6) on the real file system: a process committing three updates in
/// one engine, killed with SIGKILL after every call, leaves exactly the state after the
/// commits it saw return, or after the next; where it left a run in the journal, the
/// binary's `journal inspect` shows the committed transactions before the live one.
#[test]
fn a_run_killed_with_sigkill_after_every_call_then_recovered() {
    let dir = tempdir();
    let template = dir.path().join("template");
    setup(&template);
    let copy = |to: &Path| copy_tree(&template, to);
    // The state after each update, each alone.
    let mut states = vec![tree(&template)];
    let alone = dir.path().join("alone");
    copy(&alone);
    for v in 7..=9 {
        let mut e = Engine::open(real(), &alone, &OpenOptions::default()).unwrap();
        update(&mut e, v).unwrap();
        e.close().unwrap();
        states.push(tree(&alone));
    }
    let (mut killed, mut inspected, mut dropped) = (0, 0, 0);
    for n in 1.. {
        let root = dir.path().join(format!("run{n}"));
        copy(&root);
        let out = run_worker("child_run_worker", CHILD_RUN, &root, n);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.signal() != Some(9) {
            assert!(
                out.status.success() && stdout.contains("CHILD-DONE"),
                "call {n}: {out:?}"
            );
            assert!(tree(&root) == states[3], "the run ends elsewhere");
            break;
        }
        killed += 1;
        let acknowledged = stdout.matches("ACK ").count();
        if acknowledged >= 2 {
            let journal = root.join(".skillwal/journal");
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_skillwal"))
                .args(["journal", "inspect", "--json"])
                .arg(&journal)
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("call {n}: inspect: {e}: {out:?}"));
            let run = v["run"].as_array().expect("run");
            if !run.is_empty() {
                inspected += 1;
                assert_eq!(run[0]["label"], "update to 7", "call {n}: {v:#}");
            }
        }
        let e = Engine::open(real(), &root, &OpenOptions::default())
            .unwrap_or_else(|e| panic!("after SIGKILL at call {n}: {e}"));
        if let skillwal::RecoveryOutcome::RolledForward {
            transactions,
            dropped: Some(_),
            ..
        } = e.recovery_report().outcome
        {
            assert!(transactions >= 1);
            dropped += 1;
        }
        e.close().unwrap();
        let got = tree(&root);
        let allowed = &states[acknowledged..(acknowledged + 2).min(states.len())];
        assert!(
            allowed.contains(&got),
            "after SIGKILL at call {n} ({acknowledged} commits acknowledged): not the state after them, nor after the next (it is state {:?} of 0..=3); the child said:\n{stdout}",
            states.iter().position(|s| *s == got)
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
    eprintln!(
        "a run killed for real at {killed} call(s), every one recovered to an acknowledged state; {inspected} left a run that journal inspect showed, {dropped} an uncommitted transaction after it, dropped"
    );
    assert!(killed > 20 && inspected > 0 && dropped > 0);
}

/// The real file system's concurrent `sync_set` (the checkpoint's syncs): every sync of a
/// set larger than one thread batch succeeds, and a failing one is reported with its path
/// after the others have finished.
#[test]
fn concurrent_sync_set_syncs_everything_or_names_the_failure() {
    let dir = tempdir();
    let root = dir.path();
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    for d in 0..3 {
        let sub = root.join(format!("d{d}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..8 {
            let p = sub.join(format!("f{f}"));
            std::fs::write(&p, format!("{d}/{f}")).unwrap();
            files.push(p);
        }
        dirs.push(sub);
    }
    assert!(files.len() + dirs.len() > skillwal::fs::real::SYNC_THREADS_MAX);
    RealFs.sync_set(&files, &dirs).unwrap();

    let missing = root.join("d1").join("missing");
    files.insert(3, missing.clone());
    let err = RealFs.sync_set(&files, &dirs).unwrap_err();
    assert_eq!(err.op, "open");
    assert_eq!(err.path, missing);
    assert_eq!(err.error.kind(), std::io::ErrorKind::NotFound);
}

/// A transaction whose inline content goes past the preallocated journal extends it; once
/// its records are retired — checkpointed, aborted, or rolled forward by the next open —
/// the journal is back to its preallocated size (wal-spec.md §6.4 step 5, §6.5).
#[test]
fn a_journal_grown_by_a_transaction_returns_to_its_preallocated_size() {
    let prealloc = skillwal::limits::JOURNAL_PREALLOC_BYTES;
    let big = vec![b'j'; 3 * prealloc as usize];
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    setup(&root);
    let journal = root.join(".skillwal/journal");
    let len = || std::fs::metadata(&journal).unwrap().len();
    assert_eq!(len(), prealloc);

    // Committed, then checkpointed by close.
    let mut e = Engine::open(real(), &root, &OpenOptions::default()).unwrap();
    let mut t = e.begin("big").unwrap();
    t.put_bytes("big.md", &big, 0o644).unwrap();
    t.commit().unwrap();
    assert!(
        len() > 3 * prealloc,
        "the records are inline: {} bytes",
        len()
    );
    e.close().unwrap();
    assert_eq!(len(), prealloc);
    assert_eq!(std::fs::read(root.join("big.md")).unwrap(), big);
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o7777
    };
    assert_eq!(mode(&root.join("big.md")), 0o644);

    // Aborted.
    let mut e = Engine::open(real(), &root, &OpenOptions::default()).unwrap();
    let mut t = e.begin("big, aborted").unwrap();
    t.put_bytes("other.md", &big, 0o644).unwrap();
    assert!(len() > 3 * prealloc);
    t.abort().unwrap();
    assert_eq!(len(), prealloc);
    assert!(!root.join("other.md").exists());
    e.close().unwrap();

    // Committed by a process killed before its checkpoint: the next open rolls it forward
    // and retires it.
    let t_root = root.join("big.md");
    let mut e = Engine::open(real(), &root, &OpenOptions::default()).unwrap();
    let mut t = e.begin("big, killed").unwrap();
    let again: Vec<u8> = big.iter().map(|b| b + 1).collect();
    t.put_bytes("big.md", &again, 0o644).unwrap();
    t.commit().unwrap();
    drop(e); // a drop does no I/O: no checkpoint, as a kill leaves it
    assert!(len() > 3 * prealloc);
    let e = Engine::open(real(), &root, &OpenOptions::default()).unwrap();
    assert_eq!(len(), prealloc);
    assert_eq!(std::fs::read(&t_root).unwrap(), again);
    assert_eq!(mode(&t_root), 0o644);
    e.close().unwrap();
}
