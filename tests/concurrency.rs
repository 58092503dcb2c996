//! Several real `skillwal` processes on one collection at once: waiting writers all land in
//! some serial order (no update lost, none mixed), `--no-wait` losers exit 3 and change
//! nothing, readers in a loop during updates never see a half-applied transaction, and a
//! process killed while holding the lock does not block the next one.

#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::*;

/// Starts `skillwal --collection-dir COLL ARGS` without waiting for it.
fn spawn(sb: &Sandbox, coll: &Path, args: &[String]) -> Child {
    sb.std_cmd(BIN)
        .arg("--collection-dir")
        .arg(coll)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn skillwal")
}

/// Waits for every child: (exit code, stderr) in order.
fn wait_all(children: Vec<Child>) -> Vec<(i32, String)> {
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("wait");
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn names(sb: &Sandbox, coll: &Path) -> Vec<String> {
    let v = sb.run_in(coll, &[], &["--json", "list"]).ok().json();
    let mut n: Vec<String> = v["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_string())
        .collect();
    n.sort();
    n
}

fn lock_hash(coll: &Path, key: &str) -> String {
    let lock: toml::Table = read(&coll.join("collection.lock")).parse().expect("lock");
    lock["lock"]["entries"][key]["content_hash"]
        .as_str()
        .expect("content_hash")
        .to_string()
}

fn verify_clean(sb: &Sandbox, coll: &Path) {
    let v = sb.run_in(coll, &[], &["--json", "verify"]).ok().json();
    assert_eq!(v["clean"], true, "{v}");
}

const WRITERS: usize = 8;

#[test]
fn waiting_writers_of_different_artifacts_all_land() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let sources: Vec<_> = (0..WRITERS)
        .map(|i| sb.file_source(&format!("c{i}.md"), &format!("command {i}")))
        .collect();
    let children = sources
        .iter()
        .map(|p| spawn(&sb, &coll, &args(&["add", "command", s(p)])))
        .collect();
    for (i, (code, err)) in wait_all(children).into_iter().enumerate() {
        assert_eq!(code, 0, "writer {i}: {err}");
    }
    let mut want: Vec<String> = (0..WRITERS).map(|i| format!("c{i}")).collect();
    want.extend(["helper", "my-skill", "review"].map(String::from));
    want.sort();
    assert_eq!(names(&sb, &coll), want, "an update was lost");
    for (i, p) in sources.iter().enumerate() {
        assert_eq!(
            read(&coll.join(format!("commands/c{i}.md"))),
            read(p),
            "c{i}"
        );
        assert_eq!(
            lock_hash(&coll, &format!("c{i}::command")),
            skillmeat_hash(p)
        );
    }
    verify_clean(&sb, &coll);
}

#[test]
fn waiting_writers_of_the_same_artifact_serialize_one_add_wins_one_remove_wins() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let sources: Vec<_> = (0..WRITERS)
        .map(|i| sb.skill_source(&format!("v{i}/shared"), &format!("version {i}")))
        .collect();
    let children = sources
        .iter()
        .map(|p| {
            spawn(
                &sb,
                &coll,
                &args(&["add", "skill", s(p), "--name", "shared"]),
            )
        })
        .collect();
    let results = wait_all(children);
    let winners: Vec<usize> = (0..WRITERS).filter(|i| results[*i].0 == 0).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one add of `shared` wins: {results:?}"
    );
    for (i, (code, err)) in results.iter().enumerate() {
        if *code != 0 {
            assert_eq!(*code, 1, "writer {i}: {err}");
            assert!(err.contains("already"), "writer {i}: {err}");
        }
    }
    // The collection is exactly the winner's add: its files, its hash.
    let w = &sources[winners[0]];
    assert_eq!(tree(&coll.join("skills/shared")), tree(w));
    assert_eq!(lock_hash(&coll, "shared::skill"), skillmeat_hash(w));
    verify_clean(&sb, &coll);

    let children = (0..WRITERS)
        .map(|_| spawn(&sb, &coll, &args(&["remove", "shared"])))
        .collect();
    let results = wait_all(children);
    assert_eq!(
        results.iter().filter(|r| r.0 == 0).count(),
        1,
        "exactly one remove wins: {results:?}"
    );
    assert!(results.iter().all(|r| r.0 == 0 || r.0 == 1), "{results:?}");
    assert!(!coll.join("skills/shared").exists());
    assert_eq!(names(&sb, &coll), ["helper", "my-skill", "review"]);
    verify_clean(&sb, &coll);
}

#[test]
fn no_wait_losers_exit_3_and_change_nothing() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    // Deterministic: the lock is held, so every --no-wait writer loses.
    let before = tree(&coll);
    let mut held = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(state_dir(&coll).join("lock"))
        .expect("lock file");
    held.lock().expect("take the lock");
    held.write_all(b"").unwrap();
    let sources: Vec<_> = (0..WRITERS)
        .map(|i| sb.file_source(&format!("n{i}.md"), &format!("n {i}")))
        .collect();
    let children = sources
        .iter()
        .map(|p| spawn(&sb, &coll, &args(&["--no-wait", "add", "command", s(p)])))
        .collect();
    for (i, (code, err)) in wait_all(children).into_iter().enumerate() {
        assert_eq!(code, 3, "writer {i}: {err}");
        assert!(err.contains("locked by another skillwal process"), "{err}");
    }
    assert_same_tree(&before, &tree(&coll), "losers changed the collection");
    drop(held);

    // Racing: whoever gets the lock lands, the others exit 3 and change nothing.
    let mut losers_seen = 0;
    for round in 0..20 {
        let sources: Vec<_> = (0..WRITERS)
            .map(|i| sb.file_source(&format!("r{round}-{i}.md"), "racing"))
            .collect();
        let children = sources
            .iter()
            .map(|p| spawn(&sb, &coll, &args(&["--no-wait", "add", "command", s(p)])))
            .collect();
        let results = wait_all(children);
        for (i, (code, err)) in results.iter().enumerate() {
            let present = coll.join(format!("commands/r{round}-{i}.md")).exists();
            match code {
                0 => assert!(present, "round {round} writer {i} succeeded but is missing"),
                3 => {
                    assert!(
                        !present,
                        "round {round} writer {i} lost but changed the collection"
                    );
                    losers_seen += 1;
                }
                _ => panic!("round {round} writer {i}: exit {code}: {err}"),
            }
        }
        verify_clean(&sb, &coll);
        if losers_seen >= WRITERS {
            break;
        }
    }
    assert!(losers_seen > 0, "no --no-wait writer ever lost a race");
}

#[test]
fn readers_in_a_loop_never_see_a_half_applied_update() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let stop = Arc::new(AtomicBool::new(false));
    let looks = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = ["verify", "list"]
        .into_iter()
        .map(|cmd| {
            let (stop, looks) = (stop.clone(), looks.clone());
            let mut c = sb.std_cmd(BIN);
            c.arg("--collection-dir").arg(&coll).args(["--json", cmd]);
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let out = c.stdin(Stdio::null()).output().expect("reader");
                    assert!(
                        out.status.success(),
                        "{cmd}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
                    if cmd == "verify" {
                        assert_eq!(v["clean"], true, "a half-applied update was seen: {v}");
                    } else {
                        assert_eq!(v["artifacts"].as_array().expect("list").len(), 3, "{v}");
                    }
                    seen.push(());
                    looks.fetch_add(1, Ordering::SeqCst);
                }
                seen.len()
            })
        })
        .collect();
    for round in 0..15 {
        sb.change_sources(&format!("round {round}"));
        sb.run_in(&coll, &[], &["update", "--all", "--strategy", "upstream"])
            .ok()
            .stdout_has("3 artifacts updated in one transaction");
    }
    stop.store(true, Ordering::SeqCst);
    let per_reader: Vec<usize> = readers
        .into_iter()
        .map(|r| r.join().expect("reader"))
        .collect();
    assert!(per_reader.iter().all(|n| *n > 0), "{per_reader:?}");
    eprintln!(
        "readers: {} looks ({per_reader:?}) during 15 three-artifact updates",
        looks.load(Ordering::SeqCst)
    );
    verify_clean(&sb, &coll);
}

#[test]
fn a_process_killed_holding_the_lock_does_not_block_the_next() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    // Killed in the middle of the update, while it holds the lock.
    let r = sb.run_in(
        &coll,
        &[("SKILLWAL_CRASH_AFTER", "20")],
        &["update", "--all", "--strategy", "upstream"],
    );
    r.killed();
    // The OS released the lock with the process: nothing to delete by hand, and
    // --no-wait goes straight through (recovering the interrupted update).
    let next = sb.run_in(&coll, &[], &["--no-wait", "list"]);
    next.ok();
    assert_eq!(next.recovered_lines().len(), 1, "{}", next.stderr);
    assert!(
        state_dir(&coll).join("lock").exists(),
        "the lock file stays; only the lock is gone"
    );
    verify_clean(&sb, &coll);
    // And a writer with --no-wait as well.
    let extra = sb.file_source("after-kill.md", "x");
    sb.run_in(&coll, &[], &["--no-wait", "add", "command", s(&extra)])
        .ok();
}
