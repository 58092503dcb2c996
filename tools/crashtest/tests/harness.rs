//! The harness run as part of `cargo test --release` at the workspace root: the bounded set
//! against the `skillwal` built in the same invocation (and three scenarios' models and
//! error mode under umask 077), and mutants of skillwal the harness
//! must catch (a harness that cannot fail proves nothing): one that loses its journal after
//! a crash, one that copies without permission bits and follows links; and the power cut
//! at every sync of update-many on `tools/powercut` (built beside it by the same command).
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

/// The scenarios of the bounded set (`crashtest --list`).
const BOUNDED: [&str; 12] = [
    "add",
    "update-one",
    "update-many",
    "remove",
    "rollback",
    "rollback-modes",
    "rollback-dir-modes",
    "update-mode-only",
    "type-change",
    "links",
    "links-rollback",
    "move",
];

#[test]
fn the_bounded_set_passes() {
    let bin = skillwal();
    let (code, text) = crashtest(&["--skillwal", bin.to_str().expect("utf-8"), "--seed", "1"]);
    let [tried, passed, rtried, rpassed, failed] = totals(&text);
    assert_eq!(code, 0, "crashtest failed:\n{text}");
    assert_eq!(failed, 0);
    assert_eq!(tried, passed);
    assert_eq!(rtried, rpassed);
    // Twelve scenarios: every crash point (about 40-100 each, about 280 for the move
    // across two collections), one of three errnos at each call, random kills; and the
    // crash points of the recoveries.
    assert!(tried > 2_000, "{tried} trials");
    assert!(rtried > 1_000, "{rtried} recovery crash points");
    for scenario in BOUNDED {
        for mode in ["deterministic", "random", "error"] {
            assert!(
                text.lines()
                    .any(|l| l.split_whitespace().next() == Some(scenario)
                        && l.contains(mode)
                        && l.contains("failed   0")),
                "no passing line for {scenario} {mode}"
            );
        }
    }
    assert!(text.contains("rolled back") && text.contains("rolled forward"));
}

#[test]
fn under_umask_077_the_copies_keep_their_sources_modes() {
    // Every skillwal run under umask 077: each command's uninterrupted result is checked
    // against its model (exact modes) before any trial, and the error mode then checks
    // every call's failure; the crash modes are the bounded set's (`--umask 077` runs all).
    let bin = skillwal();
    let (code, text) = crashtest(&[
        "--skillwal",
        bin.to_str().expect("utf-8"),
        "--umask",
        "077",
        "--scenario",
        "add",
        "--scenario",
        "rollback-modes",
        "--scenario",
        "update-mode-only",
        "--mode",
        "error",
        "--errno",
        "EIO",
    ]);
    assert_eq!(code, 0, "crashtest --umask 077 failed:\n{text}");
    let [tried, passed, _, _, failed] = totals(&text);
    assert_eq!((failed, tried), (0, passed));
    assert!(tried > 100, "{tried} trials");
}

/// A wrapper script standing in for skillwal: runs the real binary, then `after` (shell,
/// with `$rc` its exit status, `$state` skillwal's state directory for the collection
/// `--collection-dir $2`, found by asking crashtest so that the rule lives in one place).
fn mutant(dir: &std::path::Path, name: &str, after: &str) -> PathBuf {
    let bin = skillwal();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\"{}\" \"$@\"\nrc=$?\nif [ \"$1\" = --collection-dir ]; then\n  state=$(\"{}\" --print-state-dir \"$2\")\n{after}\nfi\nexit $rc\n",
            bin.display(),
            CRASHTEST
        ),
    )
    .expect("write the mutant");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn a_skillwal_that_loses_its_journal_after_a_crash_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    // When the real binary was killed by its crash hook, deletes the journal (what a tool
    // without a journal leaves behind) and dies the same way.
    let mutant = mutant(
        dir.path(),
        "skillwal-without-recovery",
        "  if [ $rc -eq 137 ]; then rm -f \"$state/journal\"; kill -9 $$; fi",
    );
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

#[test]
fn a_deploy_that_loses_the_projects_journal_after_a_crash_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    // When the real binary was killed by its crash hook during a deploy, deletes the
    // project's journal (`deploy alpha review helper --project P`: P is the eighth
    // argument), which is what a deploy that wrote the files without a journal (as the
    // Python tool does) leaves behind, and dies the same way.
    let mutant = mutant(
        dir.path(),
        "skillwal-forgets-the-project",
        "  if [ $rc -eq 137 ] && [ \"$3\" = deploy ]; then rm -f \"$8/.skillwal/journal\"; kill -9 $$; fi",
    );
    let (code, text) = crashtest(&[
        "--skillwal",
        mutant.to_str().expect("utf-8"),
        "--scenario",
        "deploy",
        "--mode",
        "deterministic",
        "--no-recovery-crashes",
    ]);
    assert_eq!(code, 1, "the harness must fail on the mutant:\n{text}");
    let [tried, _, _, _, failed] = totals(&text);
    eprintln!("the project mutant fails {failed} of {tried} crash points");
    assert!(failed > 0 && tried > failed);
    assert!(text.contains("neither before nor after"), "{text}");
    // The real binary passes every crash point of the same scenario.
    let (code, text) = crashtest(&[
        "--skillwal",
        skillwal().to_str().expect("utf-8"),
        "--scenario",
        "deploy",
        "--mode",
        "deterministic",
        "--no-recovery-crashes",
    ]);
    assert_eq!(code, 0, "{text}");
    let [tried, passed, _, _, _] = totals(&text);
    assert_eq!(tried, passed);
    assert!(tried > 50, "{tried} crash points");
}

#[test]
fn a_move_that_loses_the_destinations_journal_after_a_crash_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    // When the real binary was killed by its crash hook during a move, deletes the
    // journal of the destination (the collection `--to` names: what a move made of two
    // separate transactions leaves, one of them forgotten) and dies the same way.
    let mutant = mutant(
        dir.path(),
        "skillwal-forgets-the-destination",
        &format!(
            "  if [ $rc -eq 137 ] && [ \"$3\" = move ]; then rm -f \"$(\"{CRASHTEST}\" --print-state-dir \"$6\")/journal\"; kill -9 $$; fi"
        ),
    );
    // Crash points of the move's 280 or so around the stretch between its commit point
    // (about call 155, the source's decision) and the destination's checkpoint (about call
    // 185): with the destination's part forgotten, the artifact is in neither collection,
    // or the destination is half applied. The numbering moves by a few calls from run to
    // run (a store object's fan-out directory exists or not, depending on hashes of
    // timestamped content), so a range is tried and the mutant must fail at several.
    let points: Vec<String> = (145..=195).step_by(5).map(|p| p.to_string()).collect();
    let mut caught = Vec::new();
    for point in &points {
        let (code, text) = crashtest(&[
            "--skillwal",
            mutant.to_str().expect("utf-8"),
            "--scenario",
            "move",
            "--mode",
            "deterministic",
            "--no-recovery-crashes",
            "--point",
            point,
        ]);
        if code == 0 {
            continue;
        }
        assert_eq!(code, 1, "{text}");
        let [_, _, _, _, failed] = totals(&text);
        assert!(failed > 0);
        assert!(
            text.contains("not all of them the same way")
                || text.contains("neither before nor after"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "--scenario move --mode deterministic --point {point}"
            )),
            "a failure must print the arguments that replay it:\n{text}"
        );
        caught.push(point.clone());
    }
    eprintln!("the mutant is caught at crash points {caught:?} of {points:?}");
    assert!(
        caught.len() >= 3,
        "the harness must fail on the mutant at the points after the commit point; it failed at {caught:?} of {points:?}"
    );
    // The real binary passes the same points.
    for point in &points {
        let (code, text) = crashtest(&[
            "--skillwal",
            skillwal().to_str().expect("utf-8"),
            "--scenario",
            "move",
            "--mode",
            "deterministic",
            "--no-recovery-crashes",
            "--point",
            point,
        ]);
        assert_eq!(code, 0, "{text}");
    }
}

#[test]
fn a_skillwal_that_copies_without_modes_or_links_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    // After each command that succeeded, does to the collection's skills what a copier
    // that ignores permission bits and follows links does: every link becomes a copy of
    // what it points to, every file 0644.
    let mutant = mutant(
        dir.path(),
        "skillwal-sloppy-copier",
        r#"  if [ $rc -eq 0 ] && [ -d "$2/skills" ]; then
    find "$2/skills" -type l | while read -r l; do cp -RL "$l" "$l.copy" && rm "$l" && mv "$l.copy" "$l"; done
    find "$2/skills" -type f -exec chmod 0644 {} +
  fi"#,
    );
    let (code, text) = crashtest(&[
        "--skillwal",
        mutant.to_str().expect("utf-8"),
        "--scenario",
        "links-rollback",
        "--scenario",
        "update-mode-only",
        "--mode",
        "error",
        "--errno",
        "EIO",
    ]);
    assert_eq!(code, 1, "the harness must fail on the mutant:\n{text}");
    assert!(text.contains("links-rollback     setup FAILED"), "{text}");
    assert!(text.contains("update-mode-only   setup FAILED"), "{text}");
    assert!(
        text.contains("link-to-file") && text.contains("expected symbolic link -> SKILL.md"),
        "a link copied as a file must be named:\n{text}"
    );
    assert!(
        text.contains("expected file 0755"),
        "a lost executable bit must be named:\n{text}"
    );
}

/// `crashtest --list | head -1` once `head` has gone: the write fails with EPIPE, and the
/// harness ends quietly with success (no panic, nothing on stderr). The pipe's read end is
/// closed before crashtest starts, so its first write already fails.
#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(CRASHTEST)
        .arg("--list")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run crashtest --list");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

#[test]
fn power_cuts_at_every_sync_on_powercut_pass() {
    // tools/powercut is built beside crashtest by the same `cargo test`.
    let powercut = PathBuf::from(CRASHTEST)
        .parent()
        .expect("the binary's directory")
        .join("powercut");
    assert!(
        powercut.is_file(),
        "{} is missing: run `cargo test --release` at the workspace root (it builds it)",
        powercut.display()
    );
    // One scenario and model, to keep CI's time (`move` under `torn` took 50 s more): the
    // one that catches both hand-built mutants (README, tools/powercut).
    {
        let (scenario, model) = ("update-many", "drop-all");
        let (code, text) = crashtest(&[
            "--skillwal",
            skillwal().to_str().expect("utf-8"),
            "--powercut",
            powercut.to_str().expect("utf-8"),
            "--scenario",
            scenario,
            "--mode",
            "powercut",
            "--model",
            model,
            "--seed",
            "1",
        ]);
        assert_eq!(
            code, 0,
            "crashtest --scenario {scenario} --mode powercut --model {model} failed:\n{text}"
        );
        let [tried, passed, _, _, failed] = totals(&text);
        assert_eq!((failed, tried), (0, passed));
        // A cut at each of the command's syncs and one after its success, per scenario.
        assert!(tried > 20, "{tried} trials");
        assert!(text.contains("cut after success"), "{text}");
    }
}
