//! `skillwal move` and `skillwal copy` between two collections, and `skillwal update
//! --collections` across them, through the built binary (wal-spec.md §14): killed for real (SIGKILL by the crash hook, `SKILLWAL_CRASH_AFTER`)
//! after every mutating call, the next commands — started in either collection — find both
//! collections exactly before or exactly after (every path's kind, bytes, mode and link
//! target; manifests and locks), so the artifact is in exactly one collection after a move;
//! two processes moving in opposite directions at once both finish.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_skillwal")
}

fn run(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.env("SKILLWAL_HOME", home)
        .env_remove("SKILLWAL_CRASH_AFTER");
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().expect("runs")
}

fn ok(home: &Path, args: &[&str]) -> Output {
    let o = run(home, &[], args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Everything a user can see below `dir`, `.skillwal` left out: kind, bytes, mode, target.
type Tree = BTreeMap<PathBuf, String>;

fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    walk(dir, dir, &mut out, false);
    out
}

/// [`tree`] with the manifest and lock byte for byte, timestamps included (what an undo
/// restores exactly).
fn exact_tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    walk(dir, dir, &mut out, true);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Tree, exact: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n == ".skillwal") {
            continue;
        }
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let mode = m.mode() & 0o7777;
        if m.file_type().is_symlink() {
            out.insert(
                rel,
                format!("link -> {:?}", std::fs::read_link(&p).unwrap()),
            );
        } else if m.is_dir() {
            out.insert(rel, format!("dir {mode:o}"));
            walk(root, &p, out, exact);
        } else {
            let bytes = std::fs::read(&p).unwrap();
            let text = if !exact && p.extension().is_some_and(|x| x == "toml" || x == "lock") {
                // Manifest and lock: every byte but the timestamps, which the reference
                // run and a crashed one write at different moments.
                mask_times(&String::from_utf8_lossy(&bytes))
            } else {
                format!("{} B {:x}", bytes.len(), crc(&bytes))
            };
            out.insert(rel, format!("file {mode:o} {text}"));
        }
    }
}

/// `text` with every timestamp written now (`2026-12-02T17:22:52.651043`) as `<time>`.
fn mask_times(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let is_time = b.len() - i >= 19
            && b[i..i + 19].iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            });
        if is_time {
            let mut j = i + 19;
            while j < b.len() && (b[j] == b'.' || b[j].is_ascii_digit()) {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn crc(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ *x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Both collections' trees.
fn state(home: &Path) -> (Tree, Tree) {
    (
        tree(&home.join("collections/default")),
        tree(&home.join("collections/work")),
    )
}

/// Both collections' exact trees.
fn exact_state(home: &Path) -> (Tree, Tree) {
    (
        exact_tree(&home.join("collections/default")),
        exact_tree(&home.join("collections/work")),
    )
}

/// A home with collections `default` (holding skill `hello`: an executable script, a link,
/// a private directory) and `work` (holding command `note`).
fn template(dir: &Path) -> PathBuf {
    let src = dir.join("src/hello");
    std::fs::create_dir_all(src.join("private")).unwrap();
    std::fs::write(
        src.join("SKILL.md"),
        "---\nname: hello\ndescription: hi\n---\nbody\n",
    )
    .unwrap();
    std::fs::write(src.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(src.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(src.join("private/key.txt"), "k\n").unwrap();
    std::fs::set_permissions(src.join("private"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("SKILL.md", src.join("README")).unwrap();
    std::fs::write(dir.join("src/note.md"), "# note\n").unwrap();
    let home = dir.join("home");
    ok(&home, &["init"]);
    ok(&home, &["-c", "work", "init"]);
    ok(&home, &["add", "skill", src.to_str().unwrap()]);
    ok(
        &home,
        &[
            "-c",
            "work",
            "add",
            "command",
            dir.join("src/note.md").to_str().unwrap(),
        ],
    );
    home
}

fn fresh_copy(template: &Path, to: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(to);
    let s = Command::new("cp")
        .arg("-a")
        .arg(template)
        .arg(to)
        .status()
        .unwrap();
    assert!(s.success());
    to.to_path_buf()
}

/// Recovers by running `list` in each collection, `work` first when `work_first`.
fn recover(home: &Path, work_first: bool) {
    let order: [&[&str]; 2] = if work_first {
        [&["-c", "work", "list"], &["list"]]
    } else {
        [&["list"], &["-c", "work", "list"]]
    };
    for args in order {
        ok(home, args);
    }
}

/// `args` killed after every mutating call: both collections before or after, whichever
/// collection recovers first; `verify` clean in both; and once the command finished,
/// only after.
fn every_crash_point(args: &[&str], check_after: impl Fn(&Path)) -> u64 {
    every_crash_point_from(template, args, check_after)
}

/// [`every_crash_point`] from the home `make` makes.
fn every_crash_point_from(
    make: fn(&Path) -> PathBuf,
    args: &[&str],
    check_after: impl Fn(&Path),
) -> u64 {
    let tmp = tempfile::tempdir().unwrap();
    let template = make(tmp.path());
    let before = state(&template);
    let reference = fresh_copy(&template, &tmp.path().join("reference"));
    ok(&reference, args);
    check_after(&reference);
    let after = state(&reference);
    assert_ne!(before, after);
    let mut points = 0;
    for n in 1.. {
        let home = fresh_copy(&template, &tmp.path().join("run"));
        let o = run(&home, &[("SKILLWAL_CRASH_AFTER", &n.to_string())], args);
        let finished = o.status.success();
        if !finished {
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&o.status),
                Some(9),
                "call {n}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        recover(&home, n % 2 == 1);
        let got = state(&home);
        assert!(
            got == after || (!finished && got == before),
            "{args:?} killed after call {n} (finished: {finished}): neither before nor after\n got {got:#?}"
        );
        for v in [&["verify"][..], &["-c", "work", "verify"]] {
            ok(&home, v);
        }
        points += 1;
        if finished {
            break;
        }
    }
    points
}

#[test]
fn a_move_killed_at_every_call_leaves_the_artifact_in_exactly_one_collection() {
    let points = every_crash_point(&["move", "hello", "--to", "work"], |home| {
        let (d, w) = state(home);
        assert!(!d.keys().any(|p| p.starts_with("skills/hello")));
        assert_eq!(
            w.get(Path::new("skills/hello/run.sh")).map(|s| &s[..8]),
            Some("file 755")
        );
        assert_eq!(
            w.get(Path::new("skills/hello/private")).map(String::as_str),
            Some("dir 700")
        );
        assert!(w[Path::new("skills/hello/README")].starts_with("link"));
        assert!(w[Path::new("collection.toml")].contains("hello"));
        assert!(w[Path::new("collection.lock")].contains("hello"));
        assert!(!d[Path::new("collection.lock")].contains("hello"));
    });
    eprintln!("move: {points} crash points, each recovered from both collections in turn");
    assert!(points > 20);
}

#[test]
fn a_copy_killed_at_every_call_changes_only_the_destination() {
    let points = every_crash_point(&["-c", "work", "copy", "note", "--to", "default"], |home| {
        let (d, w) = state(home);
        assert!(d.contains_key(Path::new("commands/note.md")));
        assert!(w.contains_key(Path::new("commands/note.md")));
    });
    eprintln!("copy: {points} crash points");
    assert!(points > 5);
}

#[test]
fn a_move_refuses_what_it_cannot_do_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = template(tmp.path());
    let before = state(&home);
    for (args, says) in [
        (
            &["move", "hello", "--to", "default"][..],
            "both the source and the destination",
        ),
        (&["move", "nope", "--to", "work"], "no artifact named"),
        (
            &["-c", "work", "copy", "note", "--to", "work"],
            "both the source",
        ),
    ] {
        let o = run(&home, &[], args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(state(&home), before, "{args:?}");
    }
    ok(&home, &["copy", "hello", "--to", "work"]);
    let copied = state(&home);
    let o = run(&home, &[], &["move", "hello", "--to", "work"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already in the collection"));
    assert_eq!(state(&home), copied);
}

/// Two processes moving artifacts in opposite directions at once, many times: each pair
/// finishes (the roots are locked in one order whatever the direction), and nothing is
/// lost: every artifact is in exactly one collection, where the last move put it.
#[test]
fn opposite_moves_at_once_never_deadlock_or_lose_an_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let home = template(tmp.path());
    for round in 0..12 {
        let (hello_to, note_to, hello_from, note_from) = if round % 2 == 0 {
            ("work", "default", "default", "work")
        } else {
            ("default", "work", "work", "default")
        };
        let start = Instant::now();
        let spawn = |from: &str, name: &str, to: &str| {
            Command::new(bin())
                .env("SKILLWAL_HOME", &home)
                .args(["-c", from, "move", name, "--to", to])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut a = spawn(hello_from, "hello", hello_to);
        let mut b = spawn(note_from, "note", note_to);
        for (name, child) in [("hello", &mut a), ("note", &mut b)] {
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(status.success(), "round {round}: moving {name} failed");
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "round {round}: the two moves wait for each other"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let (d, w) = state(&home);
        let has = |t: &Tree, p: &str| t.contains_key(Path::new(p));
        let hello_in_work = has(&w, "skills/hello");
        let note_in_work = has(&w, "commands/note.md");
        assert_eq!(hello_in_work, hello_to == "work", "round {round}");
        assert_eq!(
            has(&d, "skills/hello"),
            hello_to == "default",
            "round {round}"
        );
        assert_eq!(note_in_work, note_to == "work", "round {round}");
        assert_eq!(
            has(&d, "commands/note.md"),
            note_to == "default",
            "round {round}"
        );
    }
    for v in [&["verify"][..], &["-c", "work", "verify"]] {
        ok(&home, v);
    }
}

/// A move killed between the destination's prepare and the source's decision, seen before
/// recovery: `recover --dry-run` and `journal inspect` in the destination show its part as
/// one transaction across the two collections, with both roots and the decision so far
/// (none: it would be rolled back); then the source's commit point passed: rolled forward.
#[test]
fn recover_dry_run_and_journal_inspect_show_a_move_as_one_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let mut seen = Vec::new();
    for n in 1.. {
        let home = fresh_copy(&template, &tmp.path().join("run"));
        let o = run(
            &home,
            &[("SKILLWAL_CRASH_AFTER", &n.to_string())],
            &["move", "hello", "--to", "work"],
        );
        if o.status.success() {
            // The finished move, retired in both: shown for history as completed, with
            // its decision (format 3 records after a format 2 idle header).
            for (c, record) in [("default", "decision"), ("work", "prepare")] {
                let text =
                    String::from_utf8_lossy(&ok(&home, &["-c", c, "journal", "inspect"]).stdout)
                        .into_owned();
                assert!(
                    text.contains("retired (completed and durable)"),
                    "{c}: {text}"
                );
                assert!(text.contains(&format!("{record} ")), "{c}: {text}");
            }
            break;
        }
        let dry = ok(&home, &["-c", "work", "recover", "--dry-run", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
        let plan = &v["plan"];
        if plan["outcome"] != "across-roots" {
            continue;
        }
        let across = &plan["across"];
        assert_eq!(across["roots"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(across["roots"][0]["coordinator"], true, "{v}");
        assert!(
            across["roots"][0]["root"]
                .as_str()
                .unwrap()
                .ends_with("collections/default")
        );
        assert!(
            across["roots"][1]["root"]
                .as_str()
                .unwrap()
                .ends_with("collections/work")
        );
        let decision = across["decision"].as_str().unwrap().to_string();
        let text =
            String::from_utf8_lossy(&ok(&home, &["-c", "work", "journal", "inspect"]).stdout)
                .into_owned();
        assert!(
            text.contains("prepare") && text.contains(&across["global_id"].as_str().unwrap()[..12]),
            "{text}"
        );
        let human =
            String::from_utf8_lossy(&ok(&home, &["-c", "work", "recover", "--dry-run"]).stdout)
                .into_owned();
        assert!(human.contains("across 2 roots"), "{human}");
        recover(&home, true);
        let (d, w) = state(&home);
        let moved = w.contains_key(Path::new("skills/hello"));
        assert_eq!(moved, decision == "commit", "call {n}: decision {decision}");
        assert_eq!(d.contains_key(Path::new("skills/hello")), !moved);
        seen.push(decision);
    }
    assert!(seen.iter().any(|d| d == "abort"), "{seen:?}");
    assert!(seen.iter().any(|d| d == "commit"), "{seen:?}");
}

/// A move where a file-system call fails (EIO, ENOSPC) at each call in turn: the command
/// fails or succeeds, the next commands find both collections before or after, and when the
/// command said that nothing was changed, before.
#[test]
fn a_move_failing_at_every_call_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let before = state(&template);
    let args = ["move", "hello", "--to", "work"];
    let mut tried = 0;
    for errno in ["EIO", "ENOSPC"] {
        for n in 1.. {
            let home = fresh_copy(&template, &tmp.path().join("run"));
            let o = run(
                &home,
                &[("SKILLWAL_FAIL_AT", &format!("{n}:{errno}"))],
                &args,
            );
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            let said_unchanged = stderr.contains("Nothing was changed");
            recover(&home, n % 2 == 0);
            let got = state(&home);
            let moved = got.1.contains_key(Path::new("skills/hello"));
            assert_eq!(
                got.0.contains_key(Path::new("skills/hello")),
                !moved,
                "{errno} at call {n}: in both or neither\n{stderr}"
            );
            if !moved {
                assert_eq!(
                    got, before,
                    "{errno} at call {n}: not moved, yet changed\n{stderr}"
                );
            }
            if said_unchanged {
                assert!(
                    !moved,
                    "{errno} at call {n}: said nothing was changed\n{stderr}"
                );
            }
            tried += 1;
            if o.status.success() {
                break;
            }
        }
    }
    eprintln!("move with an error at each call: {tried} runs");
}

/// Unmounts a tmpfs when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A move from a collection on the test's file system to one on a tmpfs (another file
/// system: each collection's journal and staging stay on its own, no rename crosses them),
/// killed after every call. Skipped, saying so, where a tmpfs cannot be mounted (not root).
#[test]
fn a_move_to_another_file_system_killed_at_every_call() {
    let tmp = tempfile::tempdir().unwrap();
    let fs2 = tmp.path().join("fs2");
    std::fs::create_dir(&fs2).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
        .arg(&fs2)
        .output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped: cannot mount a tmpfs here ({})",
            mounted
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                .unwrap_or_else(|e| e.to_string())
        );
        return;
    }
    let _unmount = Mounted(fs2.clone());
    let other = fs2.join("other");
    let template = template(&tmp.path().join("t"));
    ok(
        &template,
        &["--collection-dir", other.to_str().unwrap(), "init"],
    );
    let dev = |p: &Path| std::fs::metadata(p).unwrap().dev();
    assert_ne!(dev(&template), dev(&other), "two file systems");
    let snap = |home: &Path, other: &Path| (tree(&home.join("collections/default")), tree(other));
    let before = snap(&template, &other);
    let saved = tmp.path().join("saved-other");
    let save = |to: &Path| {
        let _ = std::fs::remove_dir_all(to);
        assert!(
            Command::new("cp")
                .arg("-a")
                .arg(&fs2)
                .arg(to)
                .status()
                .unwrap()
                .success()
        );
    };
    let restore = |from: &Path| {
        for e in std::fs::read_dir(&fs2).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
        assert!(
            Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", from.display()))
                .arg(&fs2)
                .status()
                .unwrap()
                .success()
        );
    };
    save(&saved);
    let to = other.to_str().unwrap().to_string();
    let args = ["move", "hello", "--to", &to];
    let reference = fresh_copy(&template, &tmp.path().join("reference"));
    ok(&reference, &args);
    let after = snap(&reference, &other);
    assert!(after.1.contains_key(Path::new("skills/hello/run.sh")));
    let mut points = 0;
    for n in 1.. {
        restore(&saved);
        let home = fresh_copy(&template, &tmp.path().join("run"));
        let o = run(&home, &[("SKILLWAL_CRASH_AFTER", &n.to_string())], &args);
        let finished = o.status.success();
        let first: [&[&str]; 2] = [&["--collection-dir", &to, "list"], &["list"]];
        let order: Vec<&[&str]> = if n % 2 == 0 {
            first.to_vec()
        } else {
            first.iter().rev().copied().collect()
        };
        for a in order {
            ok(&home, a);
        }
        let got = snap(&home, &other);
        assert!(
            got == after || (!finished && got == before),
            "killed after call {n}: neither before nor after\n got {got:#?}"
        );
        points += 1;
        if finished {
            break;
        }
    }
    eprintln!("move to a tmpfs: {points} crash points");
    assert!(points > 20);
}

/// The first crash point of a move after which the destination's part is prepared and the
/// source's decision is `decision` (`commit` or `abort`), in a fresh copy of `template`.
fn killed_move_at(template: &Path, scratch: &Path, decision: &str) -> PathBuf {
    for n in 1.. {
        let home = fresh_copy(template, scratch);
        let o = run(
            &home,
            &[("SKILLWAL_CRASH_AFTER", &n.to_string())],
            &["move", "hello", "--to", "work"],
        );
        assert!(
            !o.status.success(),
            "no crash point with decision {decision}"
        );
        let dry = ok(&home, &["-c", "work", "recover", "--dry-run", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
        if v["plan"]["outcome"] == "across-roots" && v["plan"]["across"]["decision"] == decision {
            return home;
        }
    }
    unreachable!()
}

/// Through the binary: a destination whose source collection's state is gone is in doubt
/// (exit 1, the transaction and what to run named, nothing changed); a source whose
/// destination's state is gone completes its own part, keeps the decision, which `journal
/// inspect` lists and `recover --forget-decision` settles; and the destination back in
/// place learns the decision.
#[test]
fn in_doubt_and_kept_decisions_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let state_of = |home: &Path, c: &str| home.join("collections/.skillwal").join(c);
    let away = |home: &Path, c: &str| {
        std::fs::rename(state_of(home, c), home.join(format!("away-{c}"))).unwrap();
    };
    let back = |home: &Path, c: &str| {
        std::fs::rename(home.join(format!("away-{c}")), state_of(home, c)).unwrap();
    };

    // In doubt: the coordinator's state moved away.
    let home = killed_move_at(&template, &tmp.path().join("doubt"), "commit");
    let before = tree(&home.join("collections/work"));
    away(&home, "default");
    let o = run(&home, &[], &["-c", "work", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("whether the transaction committed is not known"),
        "{err}"
    );
    assert!(err.contains("recover --discard"), "{err}");
    assert_eq!(
        tree(&home.join("collections/work")),
        before,
        "nothing written in doubt"
    );
    back(&home, "default");
    recover(&home, true);
    assert!(tree(&home.join("collections/work")).contains_key(Path::new("skills/hello")));

    // Kept: the participant's state moved away while the coordinator recovers.
    let home = killed_move_at(&template, &tmp.path().join("kept"), "commit");
    away(&home, "work");
    let o = ok(&home, &["--json", "list"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let across = &v["recovered"]["across_roots"];
    assert_eq!(across["decision_kept"], true, "{v}");
    let id = across["global_id"].as_str().unwrap().to_string();
    let inspect = ok(&home, &["--json", "journal", "inspect"]);
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["kept_decisions"][0]["global_id"], id.as_str(), "{v}");
    // The participant back: it completes its part, and the kept decision is dropped.
    back(&home, "work");
    recover(&home, true);
    let (d, w) = state(&home);
    assert!(
        w.contains_key(Path::new("skills/hello")) && !d.contains_key(Path::new("skills/hello"))
    );
    let v: serde_json::Value =
        serde_json::from_slice(&ok(&home, &["--json", "journal", "inspect"]).stdout).unwrap();
    assert_eq!(v["kept_decisions"], serde_json::json!([]), "{v}");

    // Gone for good: the user forgets the kept decision.
    let home = killed_move_at(&template, &tmp.path().join("gone"), "commit");
    away(&home, "work");
    ok(&home, &["list"]);
    let text = String::from_utf8_lossy(&ok(&home, &["journal", "inspect"]).stdout).into_owned();
    assert!(text.contains("kept decision"), "{text}");
    let id = text
        .split("kept decision: transaction ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let o = ok(&home, &["--json", "recover", "--forget-decision", &id]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["forgotten"]["was_kept"], true, "{v}");
    let v: serde_json::Value =
        serde_json::from_slice(&ok(&home, &["--json", "journal", "inspect"]).stdout).unwrap();
    assert_eq!(v["kept_decisions"], serde_json::json!([]));
    let o = run(&home, &[], &["recover", "--forget-decision", "not-an-id"]);
    assert_eq!(o.status.code(), Some(1));
}

/// After a move killed at any call, in either direction, the next command that opens both
/// collections together (here a `copy` of an artifact that is not there, with `--no-wait`)
/// recovers and never finds a lock its own process holds: a collection locked first may
/// have retired its part while the other, locked next, still holds its own and needs the
/// first for its recovery.
#[test]
fn the_next_command_on_both_collections_recovers_after_any_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let template = template(tmp.path());
    let mut tried = 0;
    for (from, to) in [("default", "work"), ("work", "default")] {
        let (name, start) = if from == "default" {
            ("hello", template.clone())
        } else {
            // hello in work first, so that work decides this move.
            let t = fresh_copy(&template, &tmp.path().join("start-work"));
            ok(&t, &["move", "hello", "--to", "work"]);
            ("hello", t)
        };
        for n in 1.. {
            let home = fresh_copy(&start, &tmp.path().join("run"));
            let o = run(
                &home,
                &[("SKILLWAL_CRASH_AFTER", &n.to_string())],
                &["-c", from, "move", name, "--to", to],
            );
            let next = run(
                &home,
                &[],
                &["--no-wait", "-c", to, "copy", "nothing-here", "--to", from],
            );
            let err = String::from_utf8_lossy(&next.stderr);
            assert_eq!(
                next.status.code(),
                Some(1),
                "{from} -> {to}, killed after call {n}: {err}"
            );
            assert!(err.contains("no artifact named"), "{err}");
            tried += 1;
            if o.status.success() {
                break;
            }
        }
    }
    eprintln!("{tried} kills, each followed by a command on both collections");
}

/// [`template`], with skill `hello` added to `work` too (from the same source), and then
/// a new upstream version of it: an edited `SKILL.md`, a new file, `run.sh` no longer
/// executable.
fn template_for_update(dir: &Path) -> PathBuf {
    let home = template(dir);
    let src = dir.join("src/hello");
    ok(
        &home,
        &["-c", "work", "add", "skill", src.to_str().unwrap()],
    );
    std::fs::write(
        src.join("SKILL.md"),
        "---\nname: hello\ndescription: hi again\n---\nbody v2\n",
    )
    .unwrap();
    std::fs::write(src.join("new.txt"), "new\n").unwrap();
    std::fs::set_permissions(src.join("run.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();
    home
}

/// The new upstream version of `hello` is in both collections, files, modes, manifest
/// and lock.
fn updated_in_both(home: &Path) {
    let (d, w) = state(home);
    for t in [&d, &w] {
        assert_eq!(
            t.get(Path::new("skills/hello/run.sh")).map(|s| &s[..8]),
            Some("file 644")
        );
        assert!(t.contains_key(Path::new("skills/hello/new.txt")));
        assert!(t[Path::new("collection.toml")].contains("hi again"));
    }
    let lock = |t: &Tree| {
        let l = &t[Path::new("collection.lock")];
        let at = l.find("[lock.entries.\"hello::skill\"]").unwrap();
        l[at..]
            .lines()
            .find(|x| x.starts_with("content_hash"))
            .unwrap()
            .to_string()
    };
    assert_eq!(lock(&d), lock(&w));
}

#[test]
fn an_update_across_two_collections_killed_at_every_call_is_all_or_nothing() {
    let args = [
        "update",
        "hello",
        "--collections",
        "default,work",
        "--strategy",
        "upstream",
    ];
    let points = every_crash_point_from(template_for_update, &args, updated_in_both);
    eprintln!("update --collections default,work: {points} crash points");
    assert!(points > 20);
}

/// An update across collections that cannot be done in one of them changes neither: an
/// artifact missing from one, local modifications and no terminal to ask, a collection
/// named twice, -c beside --collections. With `--all-collections`, the collections that
/// hold the artifact are updated and the others left alone.
#[test]
fn an_update_across_collections_refuses_as_a_whole_and_finds_the_holders() {
    let tmp = tempfile::tempdir().unwrap();
    let home = template_for_update(tmp.path());
    std::fs::write(
        home.join("collections/work/skills/hello/private/key.txt"),
        "changed here\n",
    )
    .unwrap();
    let before = state(&home);
    for (args, says) in [
        (
            &["update", "note", "--collections", "default,work"][..],
            "in default",
        ),
        (
            &[
                "update",
                "hello",
                "--collections",
                "default,work",
                "--strategy",
                "prompt",
            ],
            "in ",
        ),
        (
            &["update", "hello", "--collections", "work,work"],
            "named twice",
        ),
        (
            &[
                "-c",
                "work",
                "update",
                "hello",
                "--collections",
                "default,work",
            ],
            "leave out -c",
        ),
        (&["update", "nope", "--all-collections"], "no collection of"),
    ] {
        let o = run(&home, &[], args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(state(&home), before, "{args:?} changed something");
    }
    // `note` is in `work` only: updated there alone, in an ordinary transaction.
    std::fs::write(tmp.path().join("src/note.md"), "# note v2\n").unwrap();
    let o = ok(&home, &["--json", "update", "note", "--all-collections"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["collections"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["collection"], "work");
    assert_eq!(rows[0]["updates"][0]["action"], "updated");
    assert!(v["transaction_across"].is_null(), "{v}");
    let (d, w) = state(&home);
    assert_eq!(d, before.0);
    assert!(w[Path::new("commands/note.md")].starts_with("file 644 10 B"));
    // Both hold `hello`; `work`'s is modified, and --strategy local keeps it: only
    // `default` changes.
    let o = ok(
        &home,
        &[
            "--json",
            "update",
            "hello",
            "--all-collections",
            "--strategy",
            "local",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["collections"][0]["updates"][0]["action"], "updated",
        "{v}"
    );
    assert_eq!(
        v["collections"][1]["updates"][0]["action"], "kept-local",
        "{v}"
    );
    assert!(v["transaction_across"].is_null(), "{v}");
    for args in [&["verify"][..], &["-c", "work", "verify"]] {
        let o = run(&home, &[], args);
        // `work`'s local modification is what verify reports; `default` is clean.
        assert_eq!(o.status.success(), args.len() == 1, "{args:?}");
    }
}

/// The home of [`template`] after `move hello --to work`.
fn moved(dir: &Path) -> PathBuf {
    let home = template(dir);
    ok(&home, &["move", "hello", "--to", "work"]);
    home
}

#[test]
fn an_undo_of_a_move_undoes_it_in_both_collections_and_a_redo_redoes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = template(tmp.path());
    let before = exact_state(&home);
    ok(&home, &["move", "hello", "--to", "work"]);
    let after = exact_state(&home);
    let shown = ok(&home, &["log", "show", "2"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("written with record 2 of ../work"), "{text}");

    // Undone from the source: both collections exactly as before (manifests and locks
    // byte for byte), in one transaction across them.
    let o = ok(&home, &["--json", "undo", "--yes"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["undo"]["undone"], 2, "{v:#}");
    assert_eq!(v["undo"]["with"][0]["undone"], 2, "{v:#}");
    assert!(
        v["undo"]["with"][0]["dir"]
            .as_str()
            .unwrap()
            .ends_with("collections/work")
    );
    assert_eq!(
        v["undo"]["transaction_across"].as_str().map(str::len),
        Some(32),
        "{v:#}"
    );
    assert_eq!(exact_state(&home), before, "the undo of the move");
    // Redone, then undone again from the destination's side.
    ok(&home, &["redo", "--yes"]);
    assert_eq!(exact_state(&home), after, "the redo of the move");
    ok(&home, &["-c", "work", "undo", "--yes"]);
    assert_eq!(exact_state(&home), before, "the undo from the destination");
    for v in [&["verify"][..], &["-c", "work", "verify"]] {
        ok(&home, v);
    }
}

#[test]
fn an_undo_of_a_move_refuses_as_a_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let home = moved(tmp.path());
    // Changed by hand in the destination since: a conflict, nothing changed anywhere.
    let md = home.join("collections/work/skills/hello/SKILL.md");
    let mut text = std::fs::read_to_string(&md).unwrap();
    text.push_str("edited in work\n");
    std::fs::write(&md, text).unwrap();
    let edited = exact_state(&home);
    let o = run(&home, &[], &["undo", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("collections/work/skills/hello"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(exact_state(&home), edited, "a refused undo of a move");

    // The other collection out of reach: refused, naming it, nothing changed.
    let work = home.join("collections/work");
    let aside = tmp.path().join("work-aside");
    std::fs::rename(&work, &aside).unwrap();
    let o = run(&home, &[], &["undo", "--yes", "--force"]);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("needs them all"), "{err}");
    std::fs::rename(&aside, &work).unwrap();
    assert_eq!(exact_state(&home), edited, "an undo missing a collection");
    // Forced, with both there: the hand edit kept by the destination's undo record.
    ok(&home, &["undo", "--yes", "--force"]);
    assert!(!work.join("skills/hello").exists());
    ok(&home, &["redo", "--yes"]);
    assert_eq!(
        exact_state(&home),
        edited,
        "the redo of a forced undo of a move"
    );
}

#[test]
fn an_undo_of_a_move_killed_at_every_call_is_all_or_nothing() {
    let points = every_crash_point_from(moved, &["undo", "--yes"], |home| {
        let (d, w) = state(home);
        assert!(d.contains_key(Path::new("skills/hello/run.sh")));
        assert!(!w.keys().any(|p| p.starts_with("skills/hello")));
    });
    eprintln!(
        "undo of a move: {points} crash points, each recovered from both collections in turn"
    );
    assert!(points > 20);
}

#[test]
fn an_undo_of_an_update_across_collections_undoes_it_in_all_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let home = template_for_update(tmp.path());
    let before = exact_state(&home);
    let args = [
        "update",
        "hello",
        "--collections",
        "default,work",
        "--strategy",
        "upstream",
    ];
    ok(&home, &args);
    updated_in_both(&home);
    let after = exact_state(&home);
    // From the second collection: both go back, in one transaction.
    let o = ok(&home, &["--json", "-c", "work", "undo", "--yes"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["undo"]["transaction_across"].is_string(), "{v:#}");
    assert_eq!(exact_state(&home), before, "the undo of an update across");
    ok(&home, &["redo", "--yes"]);
    assert_eq!(exact_state(&home), after, "the redo of an update across");
}
