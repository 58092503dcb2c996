//! Runs `examples/embed.rs` (the example of embedding the library: a transaction, a crash
//! before a commit rolled back, a crash after one rolled forward) and checks that it
//! succeeded. The example asserts every state itself; this checks its exit status and the
//! lines that say each step happened.
//!
//! `cargo test` builds the examples before running the tests; `cargo test --test
//! example_embed` alone does not, so this fails then with what to run (`cargo build
//! --examples` with the same profile) rather than skip.

use std::path::PathBuf;
use std::process::Command;

/// `<target>/<profile>/examples/embed`, found from this test's own executable,
/// `<target>/<profile>/deps/example_embed-<hash>`: the same target directory and profile,
/// whatever `CARGO_TARGET_DIR` and `--release` say.
fn example_binary() -> PathBuf {
    let me = std::env::current_exe().expect("the test's own path");
    let profile_dir = me
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("{} is not in <target>/<profile>/deps", me.display()));
    profile_dir.join("examples").join("embed")
}

#[test]
fn the_embedding_example_runs_and_recovers_both_crashes() {
    let bin = example_binary();
    assert!(
        bin.is_file(),
        "{} is missing: `cargo test` builds it (with --release for a release run); \
         with `--test example_embed` alone, run `cargo build --examples` (same profile) first",
        bin.display()
    );
    let out = Command::new(&bin).output().expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the example failed: {}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        out.status
    );
    for line in [
        "step 1: committed transaction",
        "step 1: the tree holds the new state; the journal is retired",
        "crash before-commit: the child died: signal: 6 (SIGABRT)",
        "step 2: recovery report: RecoveryReport { outcome: RolledBack {",
        "step 2: rolled back; the tree is exactly as step 1 left it",
        "crash after-commit: the child died: signal: 6 (SIGABRT)",
        "step 3: recovery report: RecoveryReport { outcome: RolledForward {",
        "label: \"update hello\", transactions: 1, operations: 3, redone: 0, repaired: 0, dropped: None }",
        "step 3: rolled forward; the tree holds the committed state, durably",
    ] {
        assert!(
            stdout.contains(line),
            "the example's output lacks {line:?}:\n{stdout}"
        );
    }
    assert_eq!(
        stdout.lines().last(),
        Some("embed: ok"),
        "the example's output:\n{stdout}"
    );
}
