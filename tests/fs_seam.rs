//! The file-system seam (src/fs/mod.rs, "The rule"): the home directory's writes and a new
//! collection's directories go through the file system they were given — on the simulator
//! they exist in the simulator only, nothing appears on the host, and a power cut right
//! after they return keeps them (each new directory entry was made durable).

use skillwal::OpenOptions;
use skillwal::fs::FileSystem;
use skillwal::fs::sim::{CrashModel, SimFs};
use skillwal::skillmeat::collection::Collection;
use skillwal::skillmeat::home::{ConfigChange, Home};
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
