//! Error injection at every mutating call with each errno (wal-spec.md promise 3): the
//! state before (or, past the commit point, the change settled by the next open), a clear
//! error naming the path and the cause, no leftovers, and a next transaction that works.

mod common;

use common::{ROOT, WOp, base, opts, snapshot, stage, workloads};
use rustix::io::Errno;
use skillwal::fs::FileSystem;
use skillwal::fs::sim::SimFs;
use skillwal::{Engine, Error};
use std::path::Path;
use std::sync::Arc;

const ERRNOS: [(Errno, &str); 4] = [
    (Errno::NOSPC, "No space left on device"),
    (Errno::IO, "Input/output error"),
    (Errno::ACCESS, "Permission denied"),
    (Errno::ROFS, "Read-only file system"),
];

enum Outcome {
    OpenFailed(Error),
    Aborted(Error),
    Uncertain(Error),
    Committed { close: Result<(), Error> },
}

fn run(fs: &SimFs, ops: &[WOp]) -> Outcome {
    let arc: Arc<dyn FileSystem> = Arc::new(fs.handle());
    let mut engine = match Engine::open(arc, Path::new(ROOT), &opts()) {
        Ok(e) => e,
        Err(e) => return Outcome::OpenFailed(e),
    };
    let result = match engine.begin("inject") {
        Err(e) => Err(e),
        Ok(mut t) => match stage(&mut t, ops) {
            Err(e) => Err(e),
            Ok(()) => t.commit().map(|_| ()),
        },
    };
    match result {
        Err(e @ Error::CommitUncertain { .. }) => Outcome::Uncertain(e),
        Err(e) => Outcome::Aborted(e),
        Ok(()) => Outcome::Committed {
            close: engine.close(),
        },
    }
}

/// Nothing staged is left (an open that failed before creating the staging directory
/// left none at all).
fn staging_is_empty(fs: &SimFs) -> bool {
    match fs.read_dir(Path::new("/c/.skillwal/staging")) {
        Ok(entries) => entries.is_empty(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => panic!("staging: {e}"),
    }
}

#[test]
fn every_call_fails_cleanly_with_every_errno() {
    let mut checked = 0u64;
    let mut kinds = [0u64; 4];
    for w in workloads() {
        let base = base(&w);
        let before = snapshot(&base);
        let reference = base.fork();
        assert!(matches!(
            run(&reference, &w.txn),
            Outcome::Committed { close: Ok(()) }
        ));
        let after = snapshot(&reference);
        let total = reference.mutating_calls();
        for n in 1..=total {
            for (errno, text) in ERRNOS {
                let ctx = format!("{}: call {n}/{total} fails with {errno:?}", w.name);
                let f = base.fork();
                f.set_fail_at(Some((n, errno)));
                let outcome = run(&f, &w.txn);
                f.set_fail_at(None);
                match &outcome {
                    Outcome::OpenFailed(e) | Outcome::Aborted(e) => {
                        kinds[0] += 1;
                        let msg = e.to_string();
                        assert!(msg.contains(text), "{ctx}: cause missing from {msg:?}");
                        assert!(msg.contains('/'), "{ctx}: path missing from {msg:?}");
                        assert_eq!(
                            snapshot(&f),
                            before,
                            "{ctx}: an aborted transaction changed the tree"
                        );
                        assert!(
                            staging_is_empty(&f),
                            "{ctx}: staging left behind after abort"
                        );
                    }
                    Outcome::Uncertain(e) => {
                        kinds[1] += 1;
                        let msg = e.to_string();
                        assert!(msg.contains(text), "{ctx}: cause missing from {msg:?}");
                        assert!(msg.contains("may have been applied"), "{ctx}: {msg:?}");
                    }
                    Outcome::Committed { close: Ok(()) } => {
                        kinds[2] += 1;
                        assert_eq!(snapshot(&f), after, "{ctx}");
                    }
                    Outcome::Committed { close: Err(e) } => {
                        kinds[3] += 1;
                        assert!(e.to_string().contains(text), "{ctx}: {e}");
                        assert_eq!(snapshot(&f), after, "{ctx}: applied change missing");
                    }
                }
                // The next open settles anything pending, and the next transaction works.
                let arc: Arc<dyn FileSystem> = Arc::new(f.handle());
                let engine = Engine::open(arc, Path::new(ROOT), &opts())
                    .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
                engine.close().unwrap();
                let settled = snapshot(&f);
                assert!(
                    settled == before || settled == after,
                    "{ctx}: neither before nor after after reopen"
                );
                assert!(
                    staging_is_empty(&f),
                    "{ctx}: staging left behind after reopen"
                );
                if settled == before {
                    assert!(
                        matches!(run(&f, &w.txn), Outcome::Committed { close: Ok(()) }),
                        "{ctx}: retry failed"
                    );
                    assert_eq!(snapshot(&f), after, "{ctx}: retry");
                }
                checked += 1;
            }
        }
    }
    eprintln!(
        "error injections checked: {checked} (aborted cleanly {}, uncertain then settled {}, no error {}, checkpoint failed after commit {})",
        kinds[0], kinds[1], kinds[2], kinds[3]
    );
    assert!(kinds[0] > 0 && kinds[1] > 0 && kinds[3] > 0);
}
