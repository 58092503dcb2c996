//! The simulated file system with several devices (for transactions across roots on
//! different file systems, wal-spec.md §14): each device reports its own number,
//! a rename or exchange between devices fails with `EXDEV` as on Linux, and a power cut can
//! keep one device's unsynced writes while dropping the other's.

use skillwal::fs::sim::{CrashModel, SimFs};
use skillwal::fs::{FileSystem, OpenMode};
use std::path::Path;

fn put(sim: &SimFs, path: &str, bytes: &[u8]) {
    let f = sim
        .open(Path::new(path), OpenMode::CreateNew { mode: 0o644 })
        .unwrap();
    f.write_all_at(bytes, 0).unwrap();
}

/// `/a` on the first device, `/b` the root of a second one, both durable and empty.
fn two_devices() -> (SimFs, u64) {
    let sim = SimFs::new();
    for d in ["/a", "/b"] {
        sim.create_dir(Path::new(d), 0o755).unwrap();
    }
    let dev = sim.mount_device(Path::new("/b")).unwrap();
    sim.sync_everything();
    (sim, dev)
}

#[test]
fn devices_have_their_numbers_and_renames_do_not_cross_them() {
    let (sim, dev) = two_devices();
    let first = sim.metadata(Path::new("/a")).unwrap().dev;
    assert_ne!(first, dev);
    sim.create_dir(Path::new("/b/sub"), 0o755).unwrap();
    put(&sim, "/b/sub/f", b"on b");
    put(&sim, "/a/g", b"on a");
    assert_eq!(sim.metadata(Path::new("/b/sub/f")).unwrap().dev, dev);
    assert_eq!(sim.metadata(Path::new("/a/g")).unwrap().dev, first);
    let xdev = rustix::io::Errno::XDEV.raw_os_error();
    for r in [
        sim.rename(Path::new("/a/g"), Path::new("/b/g")),
        sim.rename_noreplace(Path::new("/b/sub/f"), Path::new("/a/f")),
        sim.exchange(Path::new("/a/g"), Path::new("/b/sub/f")),
    ] {
        assert_eq!(r.unwrap_err().raw_os_error(), Some(xdev));
    }
    // Within a device, as before.
    sim.rename(Path::new("/b/sub/f"), Path::new("/b/f"))
        .unwrap();
    assert!(sim.exists(Path::new("/b/f")).unwrap());
    assert!(sim.mount_device(Path::new("/a")).is_err(), "not empty");
}

#[test]
fn a_power_cut_can_keep_one_devices_writes_and_drop_the_others() {
    let (sim, dev) = two_devices();
    put(&sim, "/a/f", b"unsynced on a");
    put(&sim, "/b/f", b"unsynced on b");
    let keep_b = sim.crash_per_device(
        |d| {
            if d == dev {
                CrashModel::Kill
            } else {
                CrashModel::DropAll
            }
        },
        1,
    );
    assert!(!keep_b.exists(Path::new("/a/f")).unwrap());
    let f = keep_b.open(Path::new("/b/f"), OpenMode::Read).unwrap();
    let mut buf = vec![0u8; 13];
    f.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"unsynced on b");
    // The devices survive the cut: still two, still no rename between them.
    assert_eq!(keep_b.metadata(Path::new("/b/f")).unwrap().dev, dev);
    let keep_a = sim.crash_per_device(
        |d| {
            if d == dev {
                CrashModel::DropAll
            } else {
                CrashModel::Kill
            }
        },
        1,
    );
    assert!(keep_a.exists(Path::new("/a/f")).unwrap());
    assert!(!keep_a.exists(Path::new("/b/f")).unwrap());
    // One model for both is the ordinary crash, draw for draw.
    for model in [CrashModel::DropAll, CrashModel::Subset, CrashModel::Torn] {
        for seed in 0..8 {
            let one = sim.crash(model, seed);
            let both = sim.crash_per_device(|_| model, seed);
            assert_eq!(
                one.snapshot(Path::new("/"), &[]).unwrap(),
                both.snapshot(Path::new("/"), &[]).unwrap(),
                "{model:?} seed {seed}"
            );
        }
    }
}
