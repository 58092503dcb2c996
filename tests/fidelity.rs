//! Exactly before or after, for everything a user can see (issue 11, findings 1–4), through
//! the real binary: permission bits of files and directories (also under `umask 077`), a
//! mode-only change upstream, symbolic links inside a skill, paths whose kind changes. The
//! oracle is `support::tree`: every path's kind, a file's bytes and mode, a directory's
//! mode, a link's target.

#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use support::*;

const ROLLBACK_1: [&str; 3] = ["rollback", "1", "--yes"];

/// A skill source with explicit modes everywhere: the skill's own directory 0750, a script
/// 0755, a private note 0600, a directory 0700 and one 0755, and two contained links.
fn moded_skill(sb: &Sandbox, name: &str) -> PathBuf {
    let dir = sb.skill_source(name, "v1");
    write(&dir.join("private/secret.txt"), "only mine\n");
    chmod(&dir.join("private/secret.txt"), 0o600);
    chmod(&dir.join("private"), 0o700);
    chmod(&dir.join("docs"), 0o755);
    chmod(&dir.join("docs/notes.txt"), 0o644);
    chmod(&dir.join("SKILL.md"), 0o644);
    chmod(&dir, 0o750);
    symlink("scripts/run.sh", dir.join("run")).unwrap();
    symlink("docs", dir.join("documentation")).unwrap();
    dir
}

/// The tree of `dir` below `rel`, as the oracle sees it.
fn sub(t: &Tree, rel: &str) -> Tree {
    t.iter()
        .filter(|(k, _)| k.as_str() == rel || k.starts_with(&format!("{rel}/")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn add_keeps_exact_modes_and_links_under_umask_077() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let src = moded_skill(&sb, "tool");
    sb.run_umask("077", &[], &["add", "skill", s(&src)]).ok();
    let t = tree(&coll);
    let want = [
        ("skills/tool", "dir 750"),
        ("skills/tool/scripts", "dir 755"),
        ("skills/tool/scripts/run.sh", "file 755"),
        ("skills/tool/SKILL.md", "file 644"),
        ("skills/tool/private", "dir 700"),
        ("skills/tool/private/secret.txt", "file 600"),
        ("skills/tool/docs/notes.txt", "file 644"),
    ];
    for (rel, kind_mode) in want {
        let shown = format!("{:?}", t[rel]);
        assert!(shown.starts_with(kind_mode), "{rel}: {shown}");
    }
    assert_eq!(
        fs::read_link(coll.join("skills/tool/run")).unwrap(),
        Path::new("scripts/run.sh")
    );
    assert_eq!(
        fs::read_link(coll.join("skills/tool/documentation")).unwrap(),
        Path::new("docs")
    );
    sb.run(&["verify"]).ok();
    // A command keeps its mode too.
    let cmd = sb.file_source("review.md", "x");
    chmod(&cmd, 0o640);
    sb.run_umask("077", &[], &["add", "command", s(&cmd)]).ok();
    assert_eq!(mode(&coll.join("commands/review.md")), 0o640);
}

#[test]
fn update_applies_an_upstream_change_of_modes_only() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let src = moded_skill(&sb, "tool");
    sb.run(&["add", "skill", s(&src)]).ok();
    let before = sb.run(&["--json", "status"]).ok().json();
    assert_eq!(before["artifacts"][0]["update_available"], false);

    // Upstream: a script becomes executable, a directory private. No byte changes.
    write(&src.join("docs/tool.sh"), "#!/bin/sh\n");
    sb.run(&["update", "tool"]).ok();
    chmod(&src.join("docs/tool.sh"), 0o755);
    chmod(&src.join("private"), 0o750);
    let st = sb.run(&["--json", "status"]).ok().json();
    assert_eq!(st["artifacts"][0]["state"], "ok");
    assert_eq!(st["artifacts"][0]["update_available"], true);
    let diff = sb.run(&["--json", "diff", "tool"]).ok().json();
    let changes: Vec<(String, String)> = diff["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("skills/tool/private".to_string(), "mode".to_string()),
            ("skills/tool/docs/tool.sh".to_string(), "mode".to_string()),
        ]
    );
    sb.run(&["update", "tool"]).ok().stdout_lacks("up to date");
    assert_eq!(mode(&coll.join("skills/tool/docs/tool.sh")), 0o755);
    assert_eq!(mode(&coll.join("skills/tool/private")), 0o750);
    sb.run(&["verify"]).ok();
    sb.run(&["update", "tool"]).ok().stdout_has("up to date");

    // A local change of modes only is a local modification, reported and kept or replaced
    // by the strategy like any other.
    chmod(&coll.join("skills/tool/scripts/run.sh"), 0o700);
    let st = sb.run(&["--json", "status"]).ok().json();
    assert_eq!(st["artifacts"][0]["state"], "modified");
    let reasons = st["artifacts"][0]["reasons"].to_string();
    assert!(
        reasons.contains("scripts/run.sh: file 755 / file 700"),
        "{reasons}"
    );
    sb.run(&["verify"]).code(1).stdout_has("scripts/run.sh");
    chmod(&src.join("SKILL.md"), 0o664);
    sb.run(&["update", "tool", "--strategy", "local"]).ok();
    assert_eq!(mode(&coll.join("skills/tool/scripts/run.sh")), 0o700);
    assert_eq!(mode(&coll.join("skills/tool/SKILL.md")), 0o644);
    sb.run(&["update", "tool", "--strategy", "merge"]).ok();
    assert_eq!(
        mode(&coll.join("skills/tool/scripts/run.sh")),
        0o700,
        "ours"
    );
    assert_eq!(mode(&coll.join("skills/tool/SKILL.md")), 0o664, "theirs");
    sb.run(&["update", "tool", "--strategy", "upstream"]).ok();
    assert_eq!(mode(&coll.join("skills/tool/scripts/run.sh")), 0o755);
    sb.run(&["verify"]).ok();
}

#[test]
fn a_git_commit_that_only_makes_a_script_executable_is_an_update() {
    if !have("git") {
        eprintln!("skipped: no git");
        return;
    }
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let repo = sb.root.join("repo");
    write(&repo.join("skills/x/SKILL.md"), "---\nname: x\n---\nx\n");
    write(&repo.join("skills/x/run.sh"), "#!/bin/sh\n");
    sb.git_init(&repo);
    let c1 = sb.git_commit(&repo, "c1");
    sb.run(&["add", "skill", "--git", s(&repo), "--path", "skills/x"])
        .ok();
    assert_eq!(mode(&coll.join("skills/x/run.sh")), 0o644);
    chmod(&repo.join("skills/x/run.sh"), 0o755);
    let c2 = sb.git_commit(&repo, "c2: chmod +x");
    assert_ne!(c1, c2);
    sb.run(&["update", "x"]).ok().stdout_lacks("up to date");
    assert_eq!(mode(&coll.join("skills/x/run.sh")), 0o755);
    let m = manifest_entry(&coll, "x", "skill");
    assert_eq!(str_field(&m, "resolved_sha"), Some(c2.as_str()));
    let l = lock_entry(&coll, "x", "skill").unwrap();
    assert_eq!(str_field(&l, "resolved_sha"), Some(c2.as_str()));
    // Under umask 077 a git checkout holds 0600/0700: the modes git records are what count.
    write(&repo.join("skills/x/more.txt"), "more\n");
    sb.git_commit(&repo, "c3");
    sb.run_umask("077", &[], &["update", "x"]).ok();
    assert_eq!(mode(&coll.join("skills/x/more.txt")), 0o644);
    assert_eq!(mode(&coll.join("skills/x/run.sh")), 0o755);
    assert_eq!(mode(&coll.join("skills/x")), 0o755);
}

/// The rollback of finding 1: in the snapshot a script is 0755, a directory 0755 and a
/// note has one content; since then the script was made 0644, the directory 0700 and the
/// note and a command edited. Every kill of the rollback ends exactly before or exactly at
/// the snapshot; so does every kill of the recovery after the first kill past the commit
/// point and after every third one from there (a kill at every call of every such recovery
/// is quadratic: the simulator crashes every recovery, `tests/crash_workflows.rs`).
#[test]
fn sigkill_at_every_call_of_a_rollback_restoring_modes_and_contents() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let src = moded_skill(&sb, "tool");
    let cmd = sb.file_source("review.md", "v1");
    sb.run(&["add", "skill", s(&src)]).ok();
    sb.run(&["add", "command", s(&cmd)]).ok();
    sb.run(&["snapshot", "-m", "good"]).ok();
    let at_snapshot = tree(&coll);
    chmod(&coll.join("skills/tool/scripts/run.sh"), 0o644);
    chmod(&coll.join("skills/tool/docs"), 0o700);
    append(&coll.join("skills/tool/docs/notes.txt"), "edited\n");
    append(&coll.join("commands/review.md"), "edited\n");
    let now = tree(&coll);
    let state = |dir: &Path, what: &str| -> &'static str {
        let t = tree(dir);
        if t == now {
            "before"
        } else if t == at_snapshot {
            "after"
        } else {
            panic!(
                "{what}: neither before nor the snapshot\nagainst before:\n{}against the snapshot:\n{}",
                tree_diff(&now, &t),
                tree_diff(&at_snapshot, &t)
            )
        }
    };
    let fresh = |from: &Path, name: &str| {
        let w = sb.root.join(name);
        if w.exists() {
            fs::remove_dir_all(&w).unwrap();
        }
        copy_collection(from, &w);
        w
    };
    let (mut before, mut after, mut recovery_kills) = (0, 0, 0);
    let mut n = 1;
    loop {
        assert!(n < 3000, "the rollback was always killed");
        let w = fresh(&coll, "work");
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &ROLLBACK_1);
        if r.code == Some(0) {
            assert_eq!(state(&w, &r.what), "after");
            break;
        }
        r.killed();
        // A copy of the killed state, for its recovery killed at every call (below).
        let killed = fresh(&w, "killed");
        sb.run_in(&w, &[], &["status"]).ok();
        let settled = state(&w, &format!("{} then status", r.what));
        if settled == "before" {
            before += 1;
        } else {
            after += 1;
        }
        if settled == "after" && after % 3 == 1 {
            let mut m = 1;
            loop {
                let k = fresh(&killed, "recovery");
                let spec = m.to_string();
                let r2 = sb.run_in(&k, &[("SKILLWAL_CRASH_AFTER", &spec)], &["status"]);
                if r2.code == Some(0) {
                    break;
                }
                r2.killed();
                recovery_kills += 1;
                sb.run_in(&k, &[], &["status"]).ok();
                assert_eq!(
                    state(&k, &format!("{} then status killed at {m}", r.what)),
                    "after",
                    "a recovery killed at call {m} must still finish the rollback"
                );
                m += 1;
            }
        }
        n += 1;
    }
    assert!(before > 0 && after > 0, "before {before}, after {after}");
    assert!(recovery_kills > 0);
    eprintln!(
        "rollback restoring modes: {} kills ({before} before, {after} after), {recovery_kills} kills of recoveries",
        n - 1
    );
}

#[test]
fn rollback_restores_modes_under_umask_077() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let src = moded_skill(&sb, "tool");
    sb.run(&["add", "skill", s(&src)]).ok();
    sb.run(&["snapshot"]).ok();
    let at_snapshot = tree(&coll);
    // Everything changes mode, a directory is deleted whole, a file is added.
    chmod(&coll.join("skills/tool/scripts/run.sh"), 0o600);
    chmod(&coll.join("skills/tool"), 0o700);
    fs::remove_dir_all(coll.join("skills/tool/private")).unwrap();
    write(&coll.join("skills/tool/new.txt"), "new\n");
    sb.run_umask("077", &[], &ROLLBACK_1).ok();
    assert_same_tree(&at_snapshot, &tree(&coll), "rollback under umask 077");
    sb.run(&["verify"]).ok();
}

#[test]
fn links_are_recorded_by_snapshots_and_restored_by_rollback() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let src = moded_skill(&sb, "tool");
    sb.run(&["add", "skill", s(&src)]).ok();
    let with_links = tree(&coll);
    // `remove`'s record keeps the links; undo brings them back.
    sb.run(&["remove", "tool"])
        .ok()
        .stdout_has("Recorded as 2 in the operation log");
    assert!(!coll.join("skills/tool").exists());
    sb.run(&["undo", "--yes"]).ok();
    assert_same_tree(&with_links, &tree(&coll), "remove, then undo");
    sb.run(&["verify"]).ok();
    // A link's target changed by hand, and one added: both restored exactly.
    sb.run(&["snapshot"]).ok();
    fs::remove_file(coll.join("skills/tool/run")).unwrap();
    symlink("SKILL.md", coll.join("skills/tool/run")).unwrap();
    symlink("docs/notes.txt", coll.join("skills/tool/extra")).unwrap();
    let id = sb.run(&["--json", "snapshot", "list"]).ok().json()["snapshots"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["id"]
        .to_string();
    sb.run(&["rollback", &id, "--yes"]).ok();
    assert_same_tree(&with_links, &tree(&coll), "link targets");
}

#[test]
fn a_link_leaving_the_artifact_is_reported_kept_in_snapshots_and_never_lost() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let outside = sb.root.join("outside.txt");
    write(&outside, "outside\n");
    // Put there by hand (skillwal never brings one in): absolute, escaping, dangling.
    symlink(&outside, coll.join("skills/my-skill/abs")).unwrap();
    symlink("../../../outside.txt", coll.join("skills/my-skill/up")).unwrap();
    symlink("nowhere", coll.join("skills/my-skill/gone")).unwrap();
    let held = tree(&coll);
    let v = sb.run(&["verify"]);
    v.code(1)
        .stdout_has("abs is a symbolic link to")
        .stdout_has("an absolute path")
        .stdout_has("up is a symbolic link to ../../../outside.txt, outside the artifact")
        .stdout_has("gone is a symbolic link to nowhere, nothing (it dangles)")
        .stdout_lacks("cannot be");
    let st = sb.run(&["--json", "status"]).ok().json();
    assert_eq!(st["artifacts"][0]["state"], "modified");
    // An update with the upstream strategy replaces the artifact; its automatic snapshot
    // holds the links, and rolling back to it restores them exactly.
    sb.change_sources("v2");
    let out = sb
        .run(&["update", "my-skill", "--strategy", "upstream"])
        .ok()
        .stdout
        .clone();
    assert!(!coll.join("skills/my-skill/abs").exists());
    assert_eq!(
        read(&outside),
        "outside\n",
        "nothing written through a link"
    );
    assert!(out.contains("in the operation log"), "{out}");
    sb.run(&["undo", "--yes"]).ok();
    assert_same_tree(
        &sub(&held, "skills/my-skill"),
        &sub(&tree(&coll), "skills/my-skill"),
        "the links come back",
    );
}

#[test]
fn rollback_restores_a_path_whose_kind_changed() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    symlink("SKILL.md", coll.join("skills/my-skill/alias")).unwrap();
    sb.run(&["snapshot"]).ok();
    let at_snapshot = tree(&coll);
    // A file becomes a directory, a directory a file, a link a file, a file a link.
    fs::remove_file(coll.join("skills/my-skill/docs/notes.txt")).unwrap();
    write(
        &coll.join("skills/my-skill/docs/notes.txt/inner"),
        "now a dir\n",
    );
    fs::remove_dir_all(coll.join("skills/my-skill/scripts")).unwrap();
    write(&coll.join("skills/my-skill/scripts"), "now a file\n");
    fs::remove_file(coll.join("skills/my-skill/alias")).unwrap();
    write(&coll.join("skills/my-skill/alias"), "was a link\n");
    fs::remove_file(coll.join("commands/review.md")).unwrap();
    symlink("../agents/helper.md", coll.join("commands/review.md")).unwrap();
    let now = tree(&coll);
    let mut n = 1;
    let (mut before, mut after) = (0, 0);
    loop {
        assert!(n < 3000);
        let w = sb.root.join("work");
        if w.exists() {
            fs::remove_dir_all(&w).unwrap();
        }
        copy_collection(&coll, &w);
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &ROLLBACK_1);
        if r.code == Some(0) {
            assert_same_tree(&at_snapshot, &tree(&w), "the rollback");
            break;
        }
        r.killed();
        sb.run_in(&w, &[], &["status"]).ok();
        let t = tree(&w);
        if t == now {
            before += 1;
        } else {
            assert_same_tree(&at_snapshot, &t, &format!("{} then status", r.what));
            after += 1;
        }
        n += 1;
    }
    assert!(before > 0 && after > 0, "before {before}, after {after}");
    sb.run(&ROLLBACK_1).ok();
    assert_same_tree(&at_snapshot, &tree(&coll), "rollback");
}

/// What only a process that is not root meets: a directory of mode 0555 refuses its owner
/// too. A skill holding one is added, snapshotted, updated (the old tree, with its 0555
/// directory, leaves through the staging area), rolled back (the tree is made in staging with
/// owner write, then given its modes), has a directory's mode and a file inside it restored
/// in one rollback, and is removed and restored — all by the user `nobody`. Skipped (with a
/// message) unless the tests run as root with `setpriv`.
#[test]
fn read_only_directories_for_a_user_who_is_not_root() {
    if !running_as_root() || !have("setpriv") {
        eprintln!("skipped: needs root and setpriv to run skillwal as another user");
        return;
    }
    let sb = Sandbox::new();
    let src = sb.skill_source("tool", "v1");
    write(&src.join("ro/data.txt"), "data v1\n");
    chmod(&src.join("ro/data.txt"), 0o444);
    chmod(&src.join("ro"), 0o555);
    sb.give_to_nobody();
    let coll = sb.coll();
    sb.run_as_nobody(&["init"]).ok();
    sb.run_as_nobody(&["add", "skill", s(&src)]).ok();
    assert_eq!(mode(&coll.join("skills/tool/ro")), 0o555);
    sb.run_as_nobody(&["snapshot", "-m", "v1"]).ok();
    let v1 = tree(&coll);

    // Upstream changes a file inside the read-only directory.
    chmod(&src.join("ro"), 0o755);
    chmod(&src.join("ro/data.txt"), 0o644);
    write(&src.join("ro/data.txt"), "data v2\n");
    chmod(&src.join("ro/data.txt"), 0o444);
    chmod(&src.join("ro"), 0o555);
    sb.run_as_nobody(&["update", "tool"]).ok();
    assert_eq!(read(&coll.join("skills/tool/ro/data.txt")), "data v2\n");
    sb.run_as_nobody(&["verify"]).ok();

    sb.run_as_nobody(&["rollback", "1", "--yes"]).ok();
    assert_same_tree(&v1, &tree(&coll), "rollback to v1");

    // The user opens the directory and edits inside it; one rollback restores the file and,
    // after it, the directory's mode.
    chmod(&coll.join("skills/tool/ro"), 0o755);
    chmod(&coll.join("skills/tool/ro/data.txt"), 0o644);
    write(&coll.join("skills/tool/ro/data.txt"), "edited\n");
    sb.give_to_nobody();
    sb.run_as_nobody(&["rollback", "1", "--yes"]).ok();
    assert_same_tree(&v1, &tree(&coll), "set-dir-mode after the change inside");

    sb.run_as_nobody(&["remove", "tool"])
        .ok()
        .stdout_has("in the operation log");
    sb.run_as_nobody(&["undo", "--yes"]).ok();
    assert_same_tree(&v1, &tree(&coll), "remove, then undo");
    assert!(
        fs::read_dir(state_dir(&coll).join("staging"))
            .unwrap()
            .next()
            .is_none(),
        "staging left behind"
    );

    // A skill whose own directory is read-only: it is moved into place with owner write,
    // then given its mode; an update moves the old one out the same way.
    let locked = sb.skill_source("locked", "v1");
    chmod(&locked, 0o555);
    sb.give_to_nobody();
    sb.run_as_nobody(&["add", "skill", s(&locked)]).ok();
    assert_eq!(mode(&coll.join("skills/locked")), 0o555);
    chmod(&locked, 0o755);
    append(&locked.join("SKILL.md"), "v2\n");
    chmod(&locked, 0o555);
    sb.run_as_nobody(&["update", "locked"])
        .code(1)
        .stderr_has("skills/locked (mode 555) may not be written by this user")
        .stderr_has("Nothing was changed");
    chmod(&coll.join("skills/locked"), 0o755);
    sb.run_as_nobody(&["update", "locked", "--strategy", "upstream"])
        .ok();
    assert_eq!(mode(&coll.join("skills/locked")), 0o555);
    assert!(read(&coll.join("skills/locked/SKILL.md")).contains("v2"));

    // What cannot be done is refused before anything changes, never left half done: the
    // user made `skills/` read-only.
    chmod(&coll.join("skills"), 0o555);
    let before = tree(&coll);
    sb.run_as_nobody(&["remove", "tool"])
        .code(1)
        .stderr_has("may not be written by this user")
        .stderr_lacks("may have been applied");
    assert_same_tree(&before, &tree(&coll), "a refused remove");
    sb.run_as_nobody(&["journal", "verify"]).ok();
    chmod(&coll.join("skills"), 0o755);
}
