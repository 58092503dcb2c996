use skillwal::fs::FileSystem;
use skillwal::fs::sim::{SimFs, SnapNode};
use skillwal::{Engine, OpenOptions};
use std::path::Path;
use std::sync::Arc;

#[test]
fn commit_then_reopen() {
    let sim = Arc::new(SimFs::new());
    sim.create_dir(Path::new("/c"), 0o755).unwrap();
    let opts = OpenOptions {
        salt_seed: Some(1),
        ..Default::default()
    };
    let mut e = Engine::open(sim.clone(), Path::new("/c"), &opts).unwrap();
    let mut t = e.begin("first").unwrap();
    t.put_bytes("collection.toml", b"hello", 0o644).unwrap();
    t.create_dir("skills", 0o755).unwrap();
    let mut tree = t.put_tree("skills/a").unwrap();
    tree.bytes("SKILL.md", b"# a", 0o644).unwrap();
    tree.dir("sub", 0o755).unwrap();
    tree.bytes("sub/x.sh", &vec![7u8; 200_000], 0o755).unwrap();
    tree.finish().unwrap();
    let r = t.commit().unwrap();
    assert_eq!(r.operations, 3);
    e.close().unwrap();
    let snap = sim.snapshot(Path::new("/c"), &[".skillwal"]).unwrap();
    assert_eq!(
        snap.get(Path::new("collection.toml")),
        Some(&SnapNode::File(b"hello".to_vec()))
    );
    assert_eq!(
        snap.get(Path::new("skills/a/sub/x.sh")),
        Some(&SnapNode::File(vec![7u8; 200_000]))
    );
    let staging = sim.read_dir(Path::new("/c/.skillwal/staging")).unwrap();
    assert!(staging.is_empty());
    let e = Engine::open(sim.clone(), Path::new("/c"), &opts).unwrap();
    assert!(!e.recovery_report().did_something());
    // Replace the tree.
    let mut e = e;
    let mut t = e.begin("second").unwrap();
    let mut tree = t.put_tree("skills/a").unwrap();
    tree.bytes("SKILL.md", b"# a v2", 0o644).unwrap();
    tree.finish().unwrap();
    t.delete_file("collection.toml").unwrap();
    t.commit().unwrap();
    e.close().unwrap();
    let snap = sim.snapshot(Path::new("/c"), &[".skillwal"]).unwrap();
    assert_eq!(
        snap.get(Path::new("skills/a/SKILL.md")),
        Some(&SnapNode::File(b"# a v2".to_vec()))
    );
    assert!(!snap.contains_key(Path::new("skills/a/sub")));
    assert!(!snap.contains_key(Path::new("collection.toml")));
}
