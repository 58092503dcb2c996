//! Embedding skillwal's engine in a program of your own.
//!
//! ```sh
//! cargo run --example embed
//! ```
//!
//! The engine makes a set of changes to a directory tree (the *root*) happen completely or
//! not at all, across crashes (wal-spec.md is the long form). This example:
//!
//! 1. opens a fresh root, stages a transaction (a manifest file, a directory, and a skill
//!    as a whole tree), commits it, checkpoints it and closes the root;
//! 2. runs itself again as a child process that stages a second transaction and dies
//!    (`std::process::abort`) **before** committing it: the next open rolls it back and
//!    the tree is exactly as step 1 left it;
//! 3. runs a child that commits a third transaction and dies right **after** `commit`
//!    returned, before the checkpoint: the next open rolls it forward and retires it, and
//!    the tree is exactly the new state.
//!
//! It checks every state it claims (every path, its bytes and its permission bits) and
//! exits with a failure when one differs, so `tests/example_embed.rs` runs it.

use skillwal::fs::FileSystem;
use skillwal::{Engine, Layout, OpenOptions, RealFs, RecoveryOutcome, needs_recovery};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// The first argument that makes this program the crashing child.
const CHILD: &str = "--crash-child";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, when, root] = args.as_slice()
        && flag == CHILD
    {
        return crash_child(when, Path::new(root));
    }

    let dir = tempfile::tempdir()?;
    let root = dir.path().join("collection");
    std::fs::create_dir(&root)?;
    // All I/O goes through a `FileSystem`: `RealFs` is the real one (the crate also has a
    // simulated one, `skillwal::fs::sim::SimFs`, for crash tests, and a fault-injecting one).
    let fs: Arc<dyn FileSystem> = Arc::new(RealFs);

    // ---- 1. open, stage, commit, checkpoint, close ----------------------------------
    // `open` takes the root's exclusive lock (another process waits, or fails at once with
    // `no_wait`) and recovers whatever a crash interrupted. The engine keeps its journal,
    // lock and staging area in `<root>/.skillwal/` (`Layout`).
    let mut engine = Engine::open(fs.clone(), &root, &OpenOptions::default())?;
    assert_eq!(engine.recovery_report().outcome, RecoveryOutcome::Nothing);

    // Staging writes only into the journal and `.skillwal/staging/`: nothing in the tree
    // changes until the commit. Paths are relative to the root, `/`-separated; every
    // permission bit is exactly the one given (the umask does not apply).
    let mut txn = engine.begin("install hello")?;
    txn.put_bytes("collection.toml", b"[collection]\nname = \"demo\"\n", 0o644)?;
    txn.create_dir("skills", 0o755)?; // a directory this transaction creates may hold what it puts
    let mut tree = txn.put_tree("skills/hello", 0o755)?;
    tree.bytes("SKILL.md", b"# hello\nSays hello.\n", 0o644)?;
    tree.dir("scripts", 0o755)?; // a tree's directories come before what they hold
    tree.bytes("scripts/run.sh", b"#!/bin/sh\necho hello\n", 0o755)?;
    tree.finish()?;
    // The commit point is one `fdatasync` of the journal; `commit` then applies the
    // operations (atomic renames) and returns. The new files are in place but not yet
    // durable: a power cut now is rolled forward from the journal by the next open.
    let report = txn.commit()?;
    println!(
        "step 1: committed transaction {} ({} operations, {} journal bytes)",
        report.txn_id, report.operations, report.journal_bytes
    );
    // The checkpoint makes every changed file and directory durable and retires the
    // journal's records. `begin` and `close` run it too; `commit_durable` is commit +
    // checkpoint in one call. Dropping the engine instead leaves it to the next open.
    engine.checkpoint()?;
    engine.close()?;
    let v1 = expected(&[
        (
            "collection.toml",
            0o644,
            Some("[collection]\nname = \"demo\"\n"),
        ),
        ("skills", 0o755, None),
        ("skills/hello", 0o755, None),
        (
            "skills/hello/SKILL.md",
            0o644,
            Some("# hello\nSays hello.\n"),
        ),
        ("skills/hello/scripts", 0o755, None),
        (
            "skills/hello/scripts/run.sh",
            0o755,
            Some("#!/bin/sh\necho hello\n"),
        ),
    ]);
    assert_eq!(tree_state(&root)?, v1, "after step 1");
    println!("step 1: the tree holds the new state; the journal is retired");

    // ---- 2. a crash before the commit: rolled back ----------------------------------
    run_crashing_child("before-commit", &root)?;
    // Without opening (no lock, no change): is there a transaction to recover?
    let layout = Layout::new(&root);
    assert!(needs_recovery(fs.as_ref(), &layout)?);
    assert_eq!(
        tree_state(&root)?,
        v1,
        "the crash before the commit changed the tree"
    );
    let engine = Engine::open(fs.clone(), &root, &OpenOptions::default())?;
    let report = engine.recovery_report().clone();
    println!("step 2: recovery report: {report:?}");
    assert!(
        matches!(report.outcome, RecoveryOutcome::RolledBack { .. }),
        "step 2: expected a roll-back, got {report:?}"
    );
    engine.close()?;
    assert_eq!(tree_state(&root)?, v1, "after the roll-back");
    assert!(!needs_recovery(fs.as_ref(), &layout)?);
    println!("step 2: rolled back; the tree is exactly as step 1 left it");

    // ---- 3. a crash after the commit: rolled forward --------------------------------
    run_crashing_child("after-commit", &root)?;
    assert!(needs_recovery(fs.as_ref(), &layout)?);
    let v2 = expected(&[
        ("collection.lock", 0o644, Some("[lock]\nhello = \"2\"\n")),
        (
            "collection.toml",
            0o644,
            Some("[collection]\nname = \"demo\"\nupdated = \"2\"\n"),
        ),
        ("skills", 0o755, None),
        ("skills/hello", 0o750, None),
        ("skills/hello/SKILL.md", 0o600, Some("# hello, version 2\n")),
    ]);
    // The child's `commit` had applied the operations before it died, so the tree already
    // shows them — but nothing of them was synced: a power cut instead of a process crash
    // could have lost any part of it. The journal still holds the committed transaction.
    assert_eq!(tree_state(&root)?, v2, "the child's commit was not applied");
    let engine = Engine::open(fs.clone(), &root, &OpenOptions::default())?;
    let report = engine.recovery_report().clone();
    println!("step 3: recovery report: {report:?}");
    // Recovery checked every operation's target against the journal (all done here: a
    // process crash loses nothing the kernel already has; after a power cut some would
    // be redone from the journal), made everything durable and retired the journal.
    match &report.outcome {
        RecoveryOutcome::RolledForward {
            label,
            operations,
            redone,
            repaired,
            ..
        } => {
            assert_eq!(label, "update hello");
            assert_eq!((*operations, *redone, *repaired), (3, 0, 0));
        }
        other => panic!("step 3: expected a roll-forward, got {other:?}"),
    }
    engine.close()?;
    assert_eq!(tree_state(&root)?, v2, "after the roll-forward");
    assert!(!needs_recovery(fs.as_ref(), &layout)?);
    println!("step 3: rolled forward; the tree holds the committed state, durably");

    println!("embed: ok");
    Ok(())
}

/// The child: opens the root, stages a transaction and dies without running a destructor
/// (`abort`, like a `kill -9`): before committing it, or right after `commit` returned.
fn crash_child(when: &str, root: &Path) -> Res<()> {
    let mut engine = Engine::open(Arc::new(RealFs), root, &OpenOptions::default())?;
    match when {
        "before-commit" => {
            let mut txn = engine.begin("never committed")?;
            txn.put_bytes("collection.toml", b"[collection]\nname = \"lost\"\n", 0o644)?;
            txn.delete_tree("skills/hello")?;
            // Staged in the journal and `.skillwal/staging/`, no commit record: dying
            // here is as if the transaction never began.
            std::process::abort();
        }
        "after-commit" => {
            let mut txn = engine.begin("update hello")?;
            txn.put_bytes(
                "collection.toml",
                b"[collection]\nname = \"demo\"\nupdated = \"2\"\n",
                0o644,
            )?;
            // A whole tree replaces the old one in one atomic exchange (its `scripts/`
            // goes away with it); a reader never sees a mix of the two.
            let mut tree = txn.put_tree("skills/hello", 0o750)?;
            tree.bytes("SKILL.md", b"# hello, version 2\n", 0o600)?;
            tree.finish()?;
            txn.put_bytes("collection.lock", b"[lock]\nhello = \"2\"\n", 0o644)?;
            txn.commit()?;
            // Committed and applied, not checkpointed: the journal still holds it.
            std::process::abort();
        }
        other => Err(format!("unknown crash point {other:?}").into()),
    }
}

/// Runs this program as the crashing child and checks that it did crash.
fn run_crashing_child(when: &str, root: &Path) -> Res<()> {
    let status = Command::new(std::env::current_exe()?)
        .args([CHILD, when])
        .arg(root)
        .status()?;
    println!("crash {when}: the child died: {status}");
    if status.signal() != Some(SIGABRT) {
        return Err(format!("the child did not crash as planned: {status}").into());
    }
    Ok(())
}

/// The signal `std::process::abort` dies of (SIGABRT, 6 on Linux).
const SIGABRT: i32 = 6;

/// What a user sees of every path under `root` but the engine's own directory: its
/// permission bits and, for a file, its bytes (`None` for a directory).
type TreeState = BTreeMap<String, (u32, Option<String>)>;

fn tree_state(root: &Path) -> Res<TreeState> {
    fn walk(root: &Path, dir: &Path, out: &mut TreeState) -> Res<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(root)?.to_string_lossy().into_owned();
            if rel == ".skillwal" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)?;
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, (mode, None));
                walk(root, &path, out)?;
            } else {
                out.insert(rel, (mode, Some(std::fs::read_to_string(&path)?)));
            }
        }
        Ok(())
    }
    let mut out = TreeState::new();
    walk(root, root, &mut out)?;
    Ok(out)
}

fn expected(paths: &[(&str, u32, Option<&str>)]) -> TreeState {
    paths
        .iter()
        .map(|(p, mode, text)| (p.to_string(), (*mode, text.map(str::to_string))))
        .collect()
}
