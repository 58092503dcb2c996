//! Roots' identities and opening several roots (wal-spec.md §2; the first step of one
//! transaction across several roots, wal-spec.md §14): an identity is made only
//! when asked for, durably, and never changes; several roots are locked in identity order,
//! so that two processes opening overlapping sets in opposite orders never deadlock; one root
//! given twice, or a copied engine directory, is refused.

use skillwal::engine::identity::{self, ROOT_ID_FILE, open_several};
use skillwal::fs::FileSystem;
use skillwal::fs::real::RealFs;
use skillwal::fs::sim::{CrashModel, SimFs};
use skillwal::{Engine, Error, Layout, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

fn sim_root(sim: &SimFs, root: &str) -> (Arc<dyn FileSystem>, Layout) {
    sim.create_dir(Path::new(root), 0o755).unwrap();
    sim.sync_everything();
    (Arc::new(sim.handle()), Layout::new(Path::new(root)))
}

#[test]
fn an_identity_is_made_only_when_asked_for_and_survives_a_power_cut() {
    let sim = SimFs::new();
    let (fs, layout) = sim_root(&sim, "/a");
    let mut e = Engine::open_layout(fs.clone(), &layout, &OpenOptions::default()).unwrap();
    // A transaction on one root makes none (its cost is unchanged).
    let mut t = e.begin("one root").unwrap();
    t.put_bytes("x.txt", b"x", 0o644).unwrap();
    t.commit().unwrap();
    e.checkpoint().unwrap();
    assert_eq!(identity::read(fs.as_ref(), &layout).unwrap(), None);
    let id = e.root_id().unwrap();
    assert_eq!(e.root_id().unwrap(), id, "asked twice, one identity");
    drop(e);
    // Power lost right after: the identity was durable when root_id returned.
    let after = sim.crash(CrashModel::DropAll, 1);
    let after_fs: Arc<dyn FileSystem> = Arc::new(after.handle());
    assert_eq!(
        identity::read(after_fs.as_ref(), &layout).unwrap(),
        Some(id)
    );
    let mut again = Engine::open_layout(after_fs, &layout, &OpenOptions::default()).unwrap();
    assert_eq!(again.root_id().unwrap(), id, "never changes");
}

#[test]
fn a_damaged_identity_is_reported_not_replaced() {
    let sim = SimFs::new();
    let (fs, layout) = sim_root(&sim, "/a");
    let mut e = Engine::open_layout(fs.clone(), &layout, &OpenOptions::default()).unwrap();
    e.root_id().unwrap();
    let path = identity::path(&layout);
    fs.remove_file(&path).unwrap();
    let f = fs
        .open(&path, skillwal::fs::OpenMode::CreateNew { mode: 0o644 })
        .unwrap();
    f.write_all_at(b"not an identity\n", 0).unwrap();
    drop(f);
    let err = e.root_id().unwrap_err();
    assert!(err.to_string().contains(ROOT_ID_FILE), "{err}");
    assert!(identity::read(fs.as_ref(), &layout).is_err());
}

/// A root: the file system it is on and its layout.
type Root = (Arc<dyn FileSystem>, Layout);

/// Real roots in a temporary directory (the locks are real `flock`s between threads).
fn real_roots(n: usize) -> (tempfile::TempDir, Vec<Root>) {
    let tmp = tempfile::tempdir().unwrap();
    let roots = (0..n)
        .map(|i| {
            let dir = tmp.path().join(format!("root{i}"));
            std::fs::create_dir(&dir).unwrap();
            let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
            (fs, Layout::new(&dir))
        })
        .collect();
    (tmp, roots)
}

#[test]
fn several_roots_come_back_in_the_callers_order_each_with_its_identity() {
    let (_tmp, roots) = real_roots(3);
    let reversed: Vec<_> = roots.iter().rev().cloned().collect();
    let engines = open_several(&reversed, &OpenOptions::default()).unwrap();
    let got: Vec<PathBuf> = engines.iter().map(|e| e.layout().root.clone()).collect();
    let want: Vec<PathBuf> = reversed.iter().map(|(_, l)| l.root.clone()).collect();
    assert_eq!(got, want);
    drop(engines);
    let ids: Vec<_> = roots
        .iter()
        .map(|(fs, l)| identity::read(fs.as_ref(), l).unwrap().expect("made"))
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
}

#[test]
fn opposite_orders_in_two_threads_never_deadlock() {
    let (_tmp, roots) = real_roots(2);
    // Identities first, so that both threads go straight to locking both roots.
    drop(open_several(&roots, &OpenOptions::default()).unwrap());
    let (done_tx, done_rx) = mpsc::channel();
    for forward in [true, false] {
        let mut set = roots.clone();
        if !forward {
            set.reverse();
        }
        let done = done_tx.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                let engines = open_several(&set, &OpenOptions::default()).unwrap();
                // Hold both a moment, so that the other thread is caught between its two.
                std::thread::yield_now();
                drop(engines);
            }
            done.send(()).unwrap();
        });
    }
    for _ in 0..2 {
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a thread is stuck: the two took the locks in a cycle");
    }
}

#[test]
fn with_no_wait_a_held_root_fails_at_once_and_releases_the_others() {
    let (_tmp, roots) = real_roots(2);
    drop(open_several(&roots, &OpenOptions::default()).unwrap());
    let no_wait = OpenOptions {
        no_wait: true,
        ..OpenOptions::default()
    };
    for held in 0..2 {
        let (fs, layout) = &roots[held];
        let holder = Engine::open_layout(fs.clone(), layout, &no_wait).unwrap();
        match open_several(&roots, &no_wait) {
            Err(Error::Locked { root, .. }) => assert_eq!(root, layout.root),
            Err(other) => panic!("root {held} held: {other}"),
            Ok(_) => panic!("root {held} held, and both opened"),
        }
        drop(holder);
        // Nothing of the failed call is still locked.
        for (fs, layout) in &roots {
            drop(Engine::open_layout(fs.clone(), layout, &no_wait).unwrap());
        }
    }
}

#[test]
fn one_root_twice_or_a_copied_engine_directory_is_refused() {
    let (tmp, roots) = real_roots(2);
    let twice = vec![roots[0].clone(), roots[0].clone()];
    assert!(matches!(
        open_several(&twice, &OpenOptions::default()),
        Err(Error::SameRoot { .. })
    ));
    // A copy of root0's engine directory into root1 carries root0's identity with it.
    drop(open_several(&roots[..1], &OpenOptions::default()).unwrap());
    let meta1 = tmp.path().join("root1/.skillwal");
    std::fs::create_dir_all(&meta1).unwrap();
    std::fs::copy(
        tmp.path().join("root0/.skillwal").join(ROOT_ID_FILE),
        meta1.join(ROOT_ID_FILE),
    )
    .unwrap();
    let err = open_several(&roots, &OpenOptions::default())
        .err()
        .expect("a copied identity is refused");
    assert!(matches!(err, Error::SameRoot { .. }), "{err}");
    assert!(err.to_string().contains("root0") && err.to_string().contains("root1"));
}
