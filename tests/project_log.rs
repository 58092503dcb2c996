//! A project's operation log through the built binary (store-spec.md §4.5, README "History"):
//! every transaction skillwal makes in a project — `deploy`, `undeploy`, `cleanup`, an
//! `update --deploy` refresh — leaves a record in `<project>/.skillwal/store/log/`;
//! `log --project`, `log show --project`, `undo --project`, `redo --project` and
//! `gc --project` work on it as on a collection's. Every undo is compared with the whole
//! project as it was (every path's kind, bytes and mode; the tracking file byte for byte,
//! timestamps included: an undo restores, it does not rewrite), and a path changed since is
//! a conflict that leaves everything as it was. Killed at every call, an undo leaves the
//! project before or after.

#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use support::*;

/// A project directory `proj` in the sandbox, a git repository with one commit.
fn project(sb: &Sandbox) -> PathBuf {
    let p = sb.root.join("proj");
    fs::create_dir_all(&p).unwrap();
    write(&p.join("README.md"), "my project\n");
    sb.git_init(&p);
    sb.git(&p, &["add", "."]);
    sb.git_commit(&p, "init");
    p
}

/// Everything a user sees in the project, exactly (nothing masked): every path but git's
/// directory, skillwal's `.skillwal/` and the Python tool's empty lock files
/// (`.<name>.skillmeat-lock`, which both tools create beside what they change and never
/// delete).
fn exact(p: &Path) -> Tree {
    tree(p)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".git/") && k != ".git")
        .filter(|(k, _)| !k.ends_with(".skillmeat-lock"))
        .collect()
}

fn record_id(v: &serde_json::Value) -> u64 {
    v["record"]["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{v:#}"))
}

#[test]
fn deploy_and_undeploy_are_recorded_and_undone_exactly_and_redone() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    let fresh = exact(&p);
    // A look at a project skillwal never wrote creates nothing.
    sb.run(&["log", "--project", s(&p)])
        .ok()
        .stdout_has("The operation log is empty");
    assert!(!p.join(".skillwal").exists());

    let v = sb
        .run(&["--json", "deploy", "my-skill", "review", "--project", s(&p)])
        .ok()
        .json();
    assert_eq!(record_id(&v), 1);
    // .claude/, its skills/ and commands/, the two artifacts and the tracking file.
    assert_eq!(v["record"]["paths"], 6, "{v:#}");
    let deployed = exact(&p);
    // The Python tool leaves its (empty) lock files behind, also in a directory the
    // deploy made: they are nobody's content, and do not stand in the way of the undo.
    let lock = p.join(".claude/skills/.other.skillmeat-lock");
    write(&lock, "");

    let log = sb.run(&["--json", "log", "--project", s(&p)]).ok().json();
    let records = log["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["command"],
        "deploy my-skill, review from default"
    );
    let paths: Vec<&str> = records[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&".claude/skills/my-skill"), "{paths:?}");
    assert!(
        paths.contains(&".claude/.skillmeat-deployed.toml"),
        "{paths:?}"
    );
    // The collection's log does not hold it.
    let clog = sb.run(&["--json", "log"]).ok().json();
    assert!(
        clog["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["command"].as_str().unwrap().starts_with("deploy")),
        "{clog:#}"
    );
    sb.run(&["log", "show", "1", "--project", s(&p)])
        .ok()
        .stdout_has("added    .claude/skills/my-skill/scripts/run.sh");

    // Undo: the project exactly as before the deploy, the lock file gone with its directory.
    sb.run(&["undo", "--project", s(&p), "--yes"])
        .ok()
        .stdout_has("Undid record 1 (deploy my-skill, review from default)")
        .stdout_has("--project");
    assert_same_tree(&fresh, &exact(&p), "the undo of the first deploy");
    assert!(!p.join(".claude").exists());
    // Redo: exactly as after (the lock file back too: the undo recorded it).
    sb.run(&["redo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&deployed, &exact(&p), "the redo of the deploy");
    assert!(lock.is_file());
    assert_eq!(
        mode(&p.join(".claude/skills/my-skill/scripts/run.sh")),
        0o755
    );
    sb.run(&["status", "--project", s(&p)])
        .ok()
        .stdout_lacks("modified");

    // Undeploy, undone: the files with their modes and the tracking file's bytes.
    let v = sb
        .run(&["--json", "undeploy", "my-skill", "--project", s(&p)])
        .ok()
        .json();
    assert_eq!(record_id(&v), 4);
    assert!(!p.join(".claude/skills/my-skill").exists());
    sb.run(&["undo", "4", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&deployed, &exact(&p), "the undo of the undeploy");

    // Nothing more to redo after a change; nothing in a project that has no log.
    sb.run(&["deploy", "helper", "--project", s(&p)]).ok();
    sb.run(&["redo", "--project", s(&p), "--yes"])
        .code(1)
        .stderr_has("nothing to redo");
    let other = sb.root.join("other");
    fs::create_dir_all(&other).unwrap();
    sb.run(&["undo", "--project", s(&other), "--yes"])
        .code(1)
        .stderr_has("nothing to undo");
    sb.run(&["undo", "--project", s(&p)])
        .code(2)
        .stderr_has("the project's files")
        .stderr_has("pass --yes");
}

#[test]
fn an_undo_in_a_project_never_overwrites_a_copy_changed_since_unless_forced() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    let v1 = exact(&p);
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    let v = sb
        .run(&["--json", "deploy", "my-skill", "--project", s(&p)])
        .ok()
        .json();
    assert_eq!(v["deployed"][0]["action"], "replaced");
    assert_eq!(record_id(&v), 2);
    append(
        &p.join(".claude/skills/my-skill/SKILL.md"),
        "edited in the project\n",
    );
    let edited = exact(&p);

    let e = sb
        .run(&["--json", "undo", "--project", s(&p), "--yes"])
        .code(1)
        .json_err();
    assert_eq!(e["changed"], "no", "{e:#}");
    let msg = e["error"].as_str().unwrap();
    assert!(msg.contains(".claude/skills/my-skill"), "{msg}");
    assert!(msg.contains("--force"), "{msg}");
    assert_same_tree(&edited, &exact(&p), "a refused undo");

    // Forced: the version 1 copy back; the hand edit kept by the undo's own record.
    let v = sb
        .run(&["--json", "undo", "--project", s(&p), "--yes", "--force"])
        .ok()
        .json();
    assert_eq!(v["undo"]["forced"][0]["path"], ".claude/skills/my-skill");
    assert_same_tree(&v1, &exact(&p), "a forced undo of the redeploy");
    sb.run(&["redo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&edited, &exact(&p), "the redo: the forced undo undone");
}

#[test]
fn cleanup_and_update_deploy_leave_records_and_gc_keeps_what_they_need() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    // A leftover of the Python tool, removed by cleanup, brought back by its undo.
    write(
        &p.join(".claude/skills/.my-skill.skillmeat-txn-9ff2536a/SKILL.md"),
        "old\n",
    );
    let with_debris = exact(&p);
    let v = sb
        .run(&["--json", "cleanup", "--project", s(&p)])
        .ok()
        .json();
    assert_eq!(record_id(&v), 2);
    assert!(
        !p.join(".claude/skills/.my-skill.skillmeat-txn-9ff2536a")
            .exists()
    );
    let cleaned = exact(&p);
    sb.run(&["undo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&with_debris, &exact(&p), "the undo of a cleanup");
    sb.run(&["redo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&cleaned, &exact(&p), "the redo of a cleanup");

    // update --deploy: the refresh in the project is recorded there.
    sb.change_sources("v2");
    sb.run(&["update", "my-skill", "--deploy"]).ok();
    let refreshed = exact(&p);
    let log = sb.run(&["--json", "log", "--project", s(&p)]).ok().json();
    let newest = &log["records"][0];
    assert!(
        newest["command"]
            .as_str()
            .unwrap()
            .starts_with("update my-skill"),
        "{newest:#}"
    );
    // gc frees nothing an undo needs: the v1 copy comes back after it.
    sb.run(&["gc", "--project", s(&p)]).ok();
    sb.run(&["undo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&cleaned, &exact(&p), "the undo of the refresh, after gc");
    sb.run(&["redo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&refreshed, &exact(&p), "the redo of the refresh");

    // update --deploy with the collection up to date already: the project alone changes,
    // in a transaction of its own, recorded all the same.
    sb.change_sources("v3");
    sb.run(&["update", "my-skill"]).ok();
    let behind = exact(&p);
    let newest = |sb: &Sandbox| {
        let log = sb.run(&["--json", "log", "--project", s(&p)]).ok().json();
        log["records"][0].clone()
    };
    let last = newest(&sb)["id"].as_u64().unwrap();
    sb.run(&["update", "my-skill", "--deploy"]).ok();
    assert_ne!(behind, exact(&p));
    let r = newest(&sb);
    assert_eq!(r["id"].as_u64(), Some(last + 1), "{r:#}");
    sb.run(&["undo", "--project", s(&p), "--yes"]).ok();
    assert_same_tree(&behind, &exact(&p), "the undo of a refresh alone");
}

#[test]
fn an_undo_in_a_project_killed_at_every_call_leaves_it_before_or_after() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    let keep = sb.root.join("keep");
    copy_dir(&p, &keep);
    let restore = || {
        fs::remove_dir_all(&p).unwrap();
        copy_dir(&keep, &p);
    };
    let before = exact(&p);
    let args = ["undo", "--project", s(&p), "--yes"];
    sb.run(&args).ok();
    let after = exact(&p);
    assert_ne!(before, after);
    let mut points = 0;
    for n in 1.. {
        restore();
        let r = sb.run_env(&[("SKILLWAL_CRASH_AFTER", &n.to_string())], &args);
        let finished = r.code == Some(0);
        if !finished {
            r.killed();
        }
        // The next command recovers.
        sb.run(&["log", "--project", s(&p)]).ok();
        let got = exact(&p);
        assert!(
            got == after || (!finished && got == before),
            "undo killed after call {n}: neither before nor after\nvs before:\n{}vs after:\n{}",
            tree_diff(&before, &got),
            tree_diff(&after, &got)
        );
        points += 1;
        if finished {
            break;
        }
    }
    eprintln!("undo in a project: {points} crash points, each before or after");
    assert!(points > 10);
}

/// Copies `from` to `to` as `cp -a` does (modes, links).
fn copy_dir(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .args(["-a", s(from), s(to)])
        .status()
        .expect("cp");
    assert!(st.success());
}
