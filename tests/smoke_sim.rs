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
    let mut tree = t.put_tree("skills/a", 0o755).unwrap();
    tree.bytes("SKILL.md", b"# a", 0o644).unwrap();
    tree.dir("sub", 0o755).unwrap();
    tree.bytes(
        "sub/x.sh",
        &vec![7u8; skillwal::limits::INLINE_CONTENT_MAX as usize + 1],
        0o755,
    )
    .unwrap();
    tree.finish().unwrap();
    let r = t.commit().unwrap();
    assert_eq!(r.operations, 3);
    e.close().unwrap();
    let snap = sim.snapshot(Path::new("/c"), &[".skillwal"]).unwrap();
    assert_eq!(
        snap.get(Path::new("collection.toml")),
        Some(&SnapNode::File {
            data: b"hello".to_vec(),
            mode: 0o644
        })
    );
    assert_eq!(
        snap.get(Path::new("skills/a/sub/x.sh")),
        Some(&SnapNode::File {
            data: vec![7u8; skillwal::limits::INLINE_CONTENT_MAX as usize + 1],
            mode: 0o755
        })
    );
    let staging = sim.read_dir(Path::new("/c/.skillwal/staging")).unwrap();
    assert!(staging.is_empty());
    let e = Engine::open(sim.clone(), Path::new("/c"), &opts).unwrap();
    assert!(!e.recovery_report().did_something());
    // Replace the tree.
    let mut e = e;
    let mut t = e.begin("second").unwrap();
    let mut tree = t.put_tree("skills/a", 0o755).unwrap();
    tree.bytes("SKILL.md", b"# a v2", 0o644).unwrap();
    tree.finish().unwrap();
    t.delete_file("collection.toml").unwrap();
    t.commit().unwrap();
    e.close().unwrap();
    let snap = sim.snapshot(Path::new("/c"), &[".skillwal"]).unwrap();
    assert_eq!(
        snap.get(Path::new("skills/a/SKILL.md")),
        Some(&SnapNode::File {
            data: b"# a v2".to_vec(),
            mode: 0o644
        })
    );
    assert!(!snap.contains_key(Path::new("skills/a/sub")));
    assert!(!snap.contains_key(Path::new("collection.toml")));
}

/// A reader that fails after yielding some bytes.
struct Failing(usize);

impl std::io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("source went away"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(b'x');
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn a_failed_staging_step_leaves_only_abort() {
    let sim = Arc::new(SimFs::new());
    sim.create_dir(Path::new("/c"), 0o755).unwrap();
    let opts = OpenOptions {
        salt_seed: Some(2),
        ..Default::default()
    };
    let mut e = Engine::open(sim.clone(), Path::new("/c"), &opts).unwrap();
    // A validation error leaves the transaction usable.
    let mut t = e.begin("x").unwrap();
    assert!(t.delete_file("missing").is_err());
    t.put_bytes("a", b"1", 0o644).unwrap();
    // A failure after something was staged does not.
    let err = t.put_file("b", &mut Failing(100_000), 0o644).unwrap_err();
    assert!(err.to_string().contains("source went away"), "{err}");
    let again = t.put_bytes("c", b"3", 0o644).unwrap_err();
    assert!(
        again.to_string().contains("abort and start again"),
        "{again}"
    );
    assert!(t.commit().is_err());
    let snap = sim.snapshot(Path::new("/c"), &[".skillwal"]).unwrap();
    assert!(snap.is_empty(), "{snap:?}");
    assert!(
        sim.read_dir(Path::new("/c/.skillwal/staging"))
            .unwrap()
            .is_empty()
    );
    // The engine itself is fine.
    let mut t = e.begin("y").unwrap();
    t.put_bytes("a", b"1", 0o644).unwrap();
    t.commit().unwrap();
    e.close().unwrap();
}
