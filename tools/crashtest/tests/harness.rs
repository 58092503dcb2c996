//! The harness run as part of `cargo test --release` at the workspace root: the bounded set
//! against the `skillwal` built in the same invocation, and a mutant of skillwal that loses
//! its journal after a crash, which the harness must catch (a harness that cannot fail
//! proves nothing).
//!
//! `skillwal` is taken from beside `crashtest` (both are built by `cargo test` at the
//! workspace root); `CRASHTEST_SKILLWAL` overrides that.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

const CRASHTEST: &str = env!("CARGO_BIN_EXE_crashtest");

fn skillwal() -> PathBuf {
    if let Some(p) = std::env::var_os("CRASHTEST_SKILLWAL") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(CRASHTEST)
        .parent()
        .expect("the binary's directory")
        .join("skillwal");
    assert!(
        p.is_file(),
        "{} is missing: run `cargo test --release` at the workspace root (it builds both), or set CRASHTEST_SKILLWAL",
        p.display()
    );
    p
}

fn crashtest(args: &[&str]) -> (i32, String) {
    let out = Command::new(CRASHTEST)
        .args(args)
        .output()
        .expect("run crashtest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    (out.status.code().unwrap_or(-1), text)
}

/// The numbers of the final `total:` line: trials, passed, recovery points, passed, failed.
fn totals(text: &str) -> [u64; 5] {
    let line = text
        .lines()
        .find(|l| l.starts_with("total:"))
        .unwrap_or_else(|| panic!("no total line in:\n{text}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a number"))
        .collect();
    [nums[0], nums[1], nums[2], nums[3], nums[4]]
}

#[test]
fn the_bounded_set_passes() {
    let bin = skillwal();
    let (code, text) = crashtest(&["--skillwal", bin.to_str().expect("utf-8"), "--seed", "1"]);
    let [tried, passed, rtried, rpassed, failed] = totals(&text);
    assert_eq!(code, 0, "crashtest failed:\n{text}");
    assert_eq!(failed, 0);
    assert_eq!(tried, passed);
    assert_eq!(rtried, rpassed);
    // Five scenarios: every crash point (about 40-70 each), three errnos at each call, 100
    // random kills each; and the crash points of the recoveries.
    assert!(tried > 1_000, "{tried} trials");
    assert!(rtried > 1_000, "{rtried} recovery crash points");
    for scenario in ["add", "update-one", "update-many", "remove", "rollback"] {
        for mode in ["deterministic", "random", "error"] {
            assert!(
                text.lines().any(|l| l.starts_with(scenario)
                    && l.contains(mode)
                    && l.contains("failed   0")),
                "no passing line for {scenario} {mode}"
            );
        }
    }
    assert!(text.contains("rolled back") && text.contains("rolled forward"));
}

#[test]
fn a_skillwal_that_loses_its_journal_after_a_crash_is_caught() {
    let bin = skillwal();
    let dir = tempfile::tempdir().expect("temp dir");
    let mutant = dir.path().join("skillwal-without-recovery");
    // Runs the real binary; when it was killed by its crash hook, deletes the journal (what
    // a tool without a journal leaves behind) and dies the same way.
    std::fs::write(
        &mutant,
        format!(
            "#!/bin/sh\n\"{}\" \"$@\"\nrc=$?\nif [ $rc -eq 137 ] && [ \"$1\" = --collection-dir ]; then\n  rm -f \"$(dirname \"$2\")/.skillwal/$(basename \"$2\")/journal\"\n  kill -9 $$\nfi\nexit $rc\n",
            bin.display()
        ),
    )
    .expect("write the mutant");
    std::fs::set_permissions(&mutant, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (code, text) = crashtest(&[
        "--skillwal",
        mutant.to_str().expect("utf-8"),
        "--scenario",
        "update-many",
        "--mode",
        "deterministic",
        "--no-recovery-crashes",
    ]);
    assert_eq!(code, 1, "the harness must fail on the mutant:\n{text}");
    let [_, _, _, _, failed] = totals(&text);
    assert!(failed > 0);
    assert!(text.contains("neither before nor after"), "{text}");
    assert!(
        text.contains("--scenario update-many --mode deterministic --point "),
        "a failure must print the arguments that replay it:\n{text}"
    );
}
