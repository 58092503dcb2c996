//! The operation log through the binary: `log`, `log show`, `undo`, `redo` on real
//! collections. Every state is compared whole (every path's kind, a file's bytes and mode, a
//! directory's mode, a link's target; manifest and lock), not by contents only.

#[path = "cli/support.rs"]
mod support;

use std::os::unix::fs::symlink;
use support::*;

/// The collection's tree, timestamps in the manifest and lock masked (an undo restores the
/// exact bytes; the masking is for comparing states written by different runs).
fn state(sb: &Sandbox) -> Tree {
    tree(&sb.coll())
}

/// `log --json`: the records' ids and commands, newest first.
fn records(sb: &Sandbox, args: &[&str]) -> Vec<(u64, String)> {
    let mut all = vec!["--json", "log"];
    all.extend_from_slice(args);
    let v = sb.run(&all).ok().json();
    v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().expect("id"),
                r["command"].as_str().expect("command").to_string(),
            )
        })
        .collect()
}

#[test]
fn undo_walks_back_and_redo_walks_forward_exactly() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let empty = state(&sb);
    let skill = sb.skill_source("my-skill", "v1");
    sb.run(&["add", "skill", s(&skill)]).ok();
    let added = state(&sb);
    let cmd = sb.file_source("review.md", "review v1");
    sb.run(&["add", "command", s(&cmd)]).ok();
    let both = state(&sb);
    // The update changes a file, deletes one, adds one, makes the script not executable and
    // the docs directory private, and adds a link.
    append(&skill.join("SKILL.md"), "v2\n");
    std::fs::remove_file(skill.join("docs/notes.txt")).expect("rm");
    write(&skill.join("docs/new.txt"), "new\n");
    chmod(&skill.join("scripts/run.sh"), 0o644);
    chmod(&skill.join("docs"), 0o700);
    symlink("scripts/run.sh", skill.join("run")).expect("link");
    sb.run(&["update", "my-skill"]).ok();
    let updated = state(&sb);
    assert_ne!(updated, both);

    assert_eq!(
        records(&sb, &[]),
        vec![
            (3, "update my-skill".to_string()),
            (2, "add command review".to_string()),
            (1, "add skill my-skill".to_string()),
        ]
    );

    sb.run(&["undo", "--yes"])
        .ok()
        .stdout_has("Undid record 3 (update my-skill)");
    assert_same_tree(&both, &state(&sb), "after undoing the update");
    sb.run(&["log", "-n", "2"])
        .ok()
        .stdout_has("update my-skill  (3 paths, undone by 4)");
    let v = sb.run(&["--json", "log"]).ok().json();
    let undone_by: Vec<serde_json::Value> = v["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["undone_by"].clone())
        .collect();
    assert_eq!(
        undone_by,
        [
            serde_json::Value::Null,
            4.into(),
            serde_json::Value::Null,
            serde_json::Value::Null
        ]
    );
    sb.run(&["undo", "--yes"])
        .ok()
        .stdout_has("Undid record 2 (add command review)");
    assert_same_tree(&added, &state(&sb), "after undoing the second add");
    sb.run(&["undo", "--yes"]).ok();
    assert_same_tree(&empty, &state(&sb), "after undoing the first add");
    sb.run(&["undo", "--yes"])
        .code(1)
        .stderr_has("nothing to undo")
        .nothing_changed();
    assert_same_tree(&empty, &state(&sb), "after a refused undo");

    sb.run(&["redo", "--yes"]).ok();
    assert_same_tree(&added, &state(&sb), "after the first redo");
    sb.run(&["redo", "--yes"]).ok();
    assert_same_tree(&both, &state(&sb), "after the second redo");
    sb.run(&["redo", "--yes"]).ok();
    assert_same_tree(&updated, &state(&sb), "after the third redo");
    sb.run(&["redo", "--yes"])
        .code(1)
        .stderr_has("nothing to redo");
    // The collection is consistent with its lock after all of it.
    sb.run(&["verify"]).ok();

    // A change ends what can be redone.
    sb.run(&["undo", "--yes"]).ok();
    assert_same_tree(&both, &state(&sb), "undo after the redos");
    let agent = sb.file_source("helper.md", "helper v1");
    sb.run(&["add", "agent", s(&agent)]).ok();
    sb.run(&["redo", "--yes"])
        .code(1)
        .stderr_has("no undo is in effect since record");
}

#[test]
fn undo_of_a_path_changed_since_is_a_conflict_and_force_keeps_what_it_overwrote() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    sb.run(&["update", "my-skill"]).ok();
    let updated = state(&sb);
    // By hand, after the update.
    append(&coll.join("skills/my-skill/SKILL.md"), "edited by hand\n");
    let edited = state(&sb);

    let r = sb.run(&["--json", "undo", "--yes"]);
    let e = r.code(1).json_err();
    assert_eq!(e["changed"], "no", "{e:#}");
    let msg = e["error"].as_str().expect("error");
    assert!(msg.contains("skills/my-skill"), "{msg}");
    assert!(msg.contains("--force"), "{msg}");
    assert_same_tree(&edited, &state(&sb), "after the refused undo");

    // Forced: the update is undone, the edit with it...
    sb.run(&["undo", "--yes", "--force"])
        .ok()
        .stdout_has("overwritten (--force): skills/my-skill");
    let forced = state(&sb);
    assert_ne!(forced, edited);
    assert!(!read(&coll.join("skills/my-skill/SKILL.md")).contains("edited by hand"));
    // ...and undoing the forced undo brings back exactly what it overwrote.
    sb.run(&["redo", "--yes"]).ok();
    assert_same_tree(&edited, &state(&sb), "after redoing the forced undo");
    assert_ne!(edited, updated);
}

#[test]
fn undo_of_a_removal_brings_the_artifact_back_with_its_modes() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    chmod(&coll.join("skills/my-skill/docs"), 0o700);
    symlink("docs/notes.txt", coll.join("skills/my-skill/notes")).expect("link");
    // Recorded by a snapshot-free path: the files are as they are on disk now.
    let before = state(&sb);
    sb.run(&["remove", "my-skill"]).ok();
    assert!(!coll.join("skills/my-skill").exists());
    sb.run(&["undo", "--yes"]).ok();
    assert_same_tree(&before, &state(&sb), "after undoing the removal");
    assert_eq!(mode(&coll.join("skills/my-skill/docs")), 0o700);
}

#[test]
fn log_filters_by_artifact_and_count_and_show_names_each_file() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    sb.change_sources("v2");
    sb.run(&["update", "--all"]).ok();
    let all = records(&sb, &[]);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(records(&sb, &["-n", "2"]), all[..2].to_vec());
    let review: Vec<String> = records(&sb, &["review"])
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(review.len(), 2, "{review:?}");
    assert!(review[1].contains("add command review"), "{review:?}");
    assert!(records(&sb, &["no-such-thing"]).is_empty());

    let id = all[0].0.to_string();
    let v = sb.run(&["--json", "log", "show", &id]).ok().json();
    let files: Vec<(String, String)> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["before"]["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    for (path, kind) in [
        ("skills/my-skill/SKILL.md", "file"),
        ("skills/my-skill/docs/notes.txt", "file"),
        ("skills/my-skill/docs/new.txt", "absent"),
        ("commands/review.md", "file"),
        ("collection.lock", "file"),
    ] {
        assert!(
            files.contains(&(path.to_string(), kind.to_string())),
            "{path} ({kind}) missing from {files:?}"
        );
    }
    assert!(
        !files.iter().any(|(p, _)| p.starts_with(".skillwal")),
        "{files:?}"
    );
    sb.run(&["log", "show", &id, "--diff"])
        .ok()
        .stdout_has("+++ b/skills/my-skill/docs/new.txt")
        .stdout_has("+v2")
        .stdout_has("-content_hash");
    sb.run(&["log", "show", "99"])
        .code(1)
        .stderr_has("no record 99 in the operation log");
    sb.run(&["log", "show", "x"])
        .code(1)
        .stderr_has("not a record id");
}

#[test]
fn undo_needs_yes_without_a_terminal() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let before = state(&sb);
    sb.run(&["undo"])
        .code(2)
        .stderr_has("pass --yes")
        .nothing_changed();
    sb.run(&["redo"]).code(2).stderr_has("pass --yes");
    assert_same_tree(&before, &state(&sb), "after undo without --yes");
}

#[test]
fn gc_keeps_what_the_log_needs_to_undo() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let before = state(&sb);
    sb.change_sources("v2");
    sb.run(&["update", "my-skill"]).ok();
    // Without automatic snapshots, only the log keeps the version before the update.
    for id in records_of_snapshots(&sb) {
        sb.run(&["snapshot", "delete", &id.to_string()]).ok();
    }
    sb.run(&["gc"]).ok();
    sb.run(&["undo", "--yes"]).ok();
    // The update's base of v1 is in the store anyway; what only the log kept is the old
    // manifest and lock, and those come back byte for byte.
    assert_same_tree(&before, &state(&sb), "undo after gc");
    assert!(coll.join("skills/my-skill/docs/notes.txt").exists());
}

fn records_of_snapshots(sb: &Sandbox) -> Vec<u64> {
    let v = sb.run(&["--json", "snapshot", "list"]).ok().json();
    v["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|s| s["id"].as_u64().expect("id"))
        .collect()
}
