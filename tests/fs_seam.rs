//! The file-system seam (src/fs/mod.rs, "The rule"): the home directory's writes and a new
//! collection's directories go through the file system they were given — on the simulator
//! they exist in the simulator only, nothing appears on the host, and a power cut right
//! after they return keeps them (each new directory entry was made durable). A local source
//! is listed, copied and hashed through the file system it was fetched with, and a source file
//! that changed after it was listed is refused.

use skillwal::OpenOptions;
use skillwal::fs::FileSystem;
use skillwal::fs::sim::{CrashModel, SimFs};
use skillwal::skillmeat::collection::{Collection, CollectionError};
use skillwal::skillmeat::home::{ConfigChange, Home};
use skillwal::skillmeat::source::fetch_in;
use skillwal::skillmeat::{ArtifactType, SourceSpec, content_hash_in};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A path that does not exist on the host, so that anything created there by mistake is
/// seen (and nothing of the host is touched).
fn unique_root() -> PathBuf {
    let p = std::env::temp_dir().join(format!("skillwal-fs-seam-{}", std::process::id()));
    assert!(!p.exists(), "{} exists on the host", p.display());
    p
}

#[test]
fn home_config_and_init_go_through_the_given_file_system_and_survive_a_power_cut() {
    let root = unique_root();
    let sim = SimFs::new();
    // Only `/` exists in the simulator: every directory on the way to `root` is created.
    let fs: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let home = Home::resolve(Some(&root)).unwrap().with_fs(fs.clone());
    let dir = home.collection_dir("work");

    let c = Collection::init(fs.clone(), &dir, "work", &OpenOptions::default()).unwrap();
    c.close().unwrap();
    assert_eq!(home.ensure_config("work").unwrap(), ConfigChange::Created);

    assert!(!root.exists(), "{} was created on the host", root.display());
    for p in [&root, &dir, &home.config_path()] {
        assert!(
            sim.exists(p).unwrap(),
            "{} is missing in the simulator",
            p.display()
        );
    }

    // Power lost right now: nothing not yet durable survives.
    let after = sim.crash(CrashModel::DropAll, 1);
    for p in [&dir, &dir.join("collection.toml"), &home.config_path()] {
        assert!(after.exists(p).unwrap(), "{} was not durable", p.display());
    }
    let home_after = Home::resolve(Some(&root))
        .unwrap()
        .with_fs(Arc::new(after.handle()));
    assert_eq!(home_after.active_collection().unwrap(), "work");
}

#[test]
fn a_failing_config_write_is_reported_with_its_path_and_leaves_the_old_config() {
    let root = unique_root().join("failing");
    let sim = SimFs::new();
    let fs: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let home = Home::resolve(Some(&root)).unwrap().with_fs(fs);
    home.ensure_config("first").unwrap();
    let before = sim.snapshot(Path::new("/"), &[]).unwrap();
    // A config naming no default collection is rewritten; its first mutating call fails.
    let text = "[settings]\n";
    let path = home.config_path();
    let f = sim
        .open(
            &root.join("x.tmp"),
            skillwal::fs::OpenMode::CreateNew { mode: 0o644 },
        )
        .unwrap();
    f.write_all_at(text.as_bytes(), 0).unwrap();
    drop(f);
    sim.rename(&root.join("x.tmp"), &path).unwrap();
    sim.sync_everything();
    let before_rewrite = sim.snapshot(Path::new("/"), &[]).unwrap();
    assert_ne!(before, before_rewrite);
    sim.reset_counters();
    sim.set_fail_at(Some((1, rustix::io::Errno::NOSPC)));
    let err = home.ensure_config("second").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(".config.toml.skillwal-tmp") || msg.contains("config.toml"),
        "{msg}"
    );
    assert_eq!(sim.snapshot(Path::new("/"), &[]).unwrap(), before_rewrite);
}

/// Writes `bytes` to a new file at `path` on `sim`.
fn put(sim: &SimFs, path: &str, bytes: &[u8]) {
    let f = sim
        .open(
            Path::new(path),
            skillwal::fs::OpenMode::CreateNew { mode: 0o644 },
        )
        .unwrap();
    f.write_all_at(bytes, 0).unwrap();
}

/// A skill source at `/src/demo` and a collection at `/c`, both in the simulator only.
fn source_and_collection() -> (SimFs, Arc<dyn FileSystem>, Collection) {
    let sim = SimFs::new();
    for d in ["/src", "/src/demo", "/src/demo/sub"] {
        sim.create_dir(Path::new(d), 0o755).unwrap();
    }
    put(&sim, "/src/demo/SKILL.md", b"---\nname: demo\n---\nhello\n");
    put(&sim, "/src/demo/sub/x.txt", b"twelve bytes");
    put(&sim, "/src/demo/other.txt", b"TWELVE BYTES");
    sim.symlink(std::ffi::OsStr::new("sub/x.txt"), Path::new("/src/demo/l"))
        .unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let c = Collection::init(fs.clone(), Path::new("/c"), "c", &OpenOptions::default()).unwrap();
    (sim, fs, c)
}

fn demo_spec() -> SourceSpec {
    SourceSpec::Local(PathBuf::from("/src/demo"))
}

#[test]
fn a_local_source_is_listed_copied_and_hashed_through_the_given_file_system() {
    let (sim, fs, mut c) = source_and_collection();
    assert!(!Path::new("/src/demo").exists(), "the host has /src/demo");
    let fetched = fetch_in(fs.clone(), &demo_spec(), ArtifactType::Skill).unwrap();
    let entry = c.add(ArtifactType::Skill, "demo", &fetched).unwrap();
    c.close().unwrap();
    let copied = sim.snapshot(Path::new("/c/skills/demo"), &[]).unwrap();
    let source = sim.snapshot(Path::new("/src/demo"), &[]).unwrap();
    assert_eq!(copied, source, "the copy is not the source");
    // The hash recorded is SkillMeat's, computed on the source (the link read as its file).
    let expected =
        content_hash_in(fs.as_ref(), Path::new("/src/demo"), ArtifactType::Skill).unwrap();
    assert_eq!(entry.content_hash, expected);
}

#[test]
fn a_source_file_that_changed_after_listing_is_refused_and_nothing_is_written() {
    type Change = fn(&SimFs);
    let changes: [(&str, Change); 3] = [
        ("grew", |sim| {
            let f = sim
                .open(
                    Path::new("/src/demo/sub/x.txt"),
                    skillwal::fs::OpenMode::ReadWrite,
                )
                .unwrap();
            f.write_all_at(b"!", 12).unwrap();
        }),
        ("replaced by a link to a file of the same size", |sim| {
            sim.remove_file(Path::new("/src/demo/sub/x.txt")).unwrap();
            sim.symlink(
                std::ffi::OsStr::new("../other.txt"),
                Path::new("/src/demo/sub/x.txt"),
            )
            .unwrap();
        }),
        ("removed", |sim| {
            sim.remove_file(Path::new("/src/demo/sub/x.txt")).unwrap();
        }),
    ];
    for (what, change) in changes {
        let (sim, fs, mut c) = source_and_collection();
        let fetched = fetch_in(fs.clone(), &demo_spec(), ArtifactType::Skill).unwrap();
        change(&sim);
        let before = sim.snapshot(Path::new("/c"), &[]).unwrap();
        let err = c.add(ArtifactType::Skill, "demo", &fetched).unwrap_err();
        assert!(
            matches!(err, CollectionError::SourceChanged { ref path } if path.starts_with("/src/demo")),
            "{what}: {err}"
        );
        c.close().unwrap();
        let (c, _) =
            Collection::open(fs.clone(), Path::new("/c"), &OpenOptions::default()).unwrap();
        c.close().unwrap();
        let after = sim.snapshot(Path::new("/c"), &[]).unwrap();
        assert_eq!(before, after, "{what}: the collection changed");
    }
}
