//! Where an artifact came from survives the Python tool's manifest rewrites (store-spec.md
//! §4.4): skillwal keeps it also as a source reference in its store, written with every add
//! and update, and `update --all` updates what it can and lists the rest (exit code 5).
//!
//! The tests marked so run the real Python `skillmeat` 0.74.0 (skip and require rules of
//! `tests/python_compat.rs`, see `tests/python/tool.rs`); the others run without it.

#[path = "cli/support.rs"]
mod support;
#[path = "python/tool.rs"]
mod tool;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use support::*;
use tool::Both;

/// skillwal's source reference of `ty/name`.
fn source_ref(coll: &Path, ty: &str, name: &str) -> PathBuf {
    state_dir(coll).join("store/sources").join(ty).join(name)
}

fn json_file(p: &Path) -> Value {
    serde_json::from_str(&read(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `(type/name, action)` of an update's JSON, and the not-updated entries.
fn update_report(v: &Value) -> (Vec<(String, String)>, Vec<Value>) {
    let updates = v["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| {
            let key = format!(
                "{}/{}",
                u["type"].as_str().unwrap(),
                u["name"].as_str().unwrap()
            );
            (key, u["action"].as_str().unwrap().to_string())
        })
        .collect();
    let not = v["not_updated"].as_array().expect("not_updated").clone();
    (updates, not)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A git repository holding the skill `skills/gskill`; returns its directory.
fn git_skill_repo(sb: &Sandbox) -> PathBuf {
    let repo = sb.root.join("repo");
    sb.git_init(&repo);
    write(
        &repo.join("skills/gskill/SKILL.md"),
        "---\nname: gskill\ndescription: The git skill\n---\ngit v1\n",
    );
    sb.git_commit(&repo, "v1");
    repo
}

/// Changes the sources of the local skill, the git skill, the command and the Python-added
/// skill (`tag` is appended to each).
fn change_sources(sb: &Sandbox, repo: &Path, tag: &str) {
    append(&sb.src.join("lskill/SKILL.md"), &format!("{tag}\n"));
    append(&sb.src.join("cmd.md"), &format!("{tag}\n"));
    append(&sb.src.join("pyskill/SKILL.md"), &format!("{tag}\n"));
    append(&repo.join("skills/gskill/SKILL.md"), &format!("{tag}\n"));
    sb.git_commit(repo, tag);
}

/// The collection's copies equal the sources of skillwal's three artifacts.
#[track_caller]
fn assert_current(sb: &Sandbox, coll: &Path, repo: &Path, what: &str) {
    for (copy, src) in [
        (
            coll.join("skills/lskill/SKILL.md"),
            sb.src.join("lskill/SKILL.md"),
        ),
        (
            coll.join("skills/gskill/SKILL.md"),
            repo.join("skills/gskill/SKILL.md"),
        ),
        (coll.join("commands/cmd.md"), sb.src.join("cmd.md")),
    ] {
        assert_eq!(read(&copy), read(&src), "{what}: {}", copy.display());
    }
}

/// skillwal adds a local skill, a git skill and a command; every Python write drops their
/// manifest fields, and skillwal still updates them (`--all` and by name) from the source
/// references, lists the Python-added local skill as not updatable (exit 5), and does not
/// take a reference for an artifact the Python tool removed and added again from elsewhere.
#[test]
fn skillwal_artifacts_stay_updatable_after_python_rewrites_the_manifest() {
    let Some(skillmeat) = tool::skillmeat_or_skip("python_sources") else {
        return;
    };
    let sb = Sandbox::new();
    let both = Both { sb: &sb, skillmeat };
    let coll = both.coll();
    both.sw(&["init"]).ok();
    let lskill = sb.skill_source("lskill", "local v1");
    let repo = git_skill_repo(&sb);
    let cmd = sb.file_source("cmd.md", "cmd v1");
    let pyskill = sb.skill_source("pyskill", "python v1");
    both.sw(&["add", "skill", s(&lskill)]).ok();
    both.sw(&["add", "skill", "--git", s(&repo), "--path", "skills/gskill"])
        .ok();
    both.sw(&["add", "command", s(&cmd)]).ok();
    // Each reference records the source and the manifest's `added` of its artifact.
    for (ty, name, src) in [
        ("skill", "lskill", s(&lskill)),
        ("skill", "gskill", s(&repo)),
        ("command", "cmd", s(&cmd)),
    ] {
        let r = json_file(&source_ref(&coll, ty, name));
        let entry = manifest_entry(&coll, name, ty);
        assert_eq!(r["source"], src, "{r}");
        assert_eq!(r["added"].as_str(), str_field(&entry, "added"), "{r}");
    }
    assert_eq!(
        json_file(&source_ref(&coll, "skill", "gskill"))["path"],
        "skills/gskill"
    );

    // An artifact without a reference (added by an earlier skillwal) gets one from its next
    // update, in the same transaction.
    fs::remove_file(source_ref(&coll, "command", "cmd")).unwrap();
    append(&cmd, "cmd v2\n");
    both.sw(&["update", "cmd", "--strategy", "upstream"]).ok();
    assert!(source_ref(&coll, "command", "cmd").exists());

    // The Python tool adds a skill of its own, rewriting the manifest without skillwal's
    // fields.
    both.py(&["add", "skill", s(&pyskill), "--yes"]);
    assert!(!both.manifest_has_skillwal_fields());
    change_sources(&sb, &repo, "v3");
    let py_copy = read(&coll.join("skills/pyskill/SKILL.md"));
    let r = both.sw(&["--json", "update", "--all", "--strategy", "upstream"]);
    r.code(5);
    let v = r.json();
    let (updates, not) = update_report(&v);
    assert_eq!(
        updates,
        pairs(&[
            ("skill/lskill", "updated"),
            ("skill/gskill", "updated"),
            ("command/cmd", "updated"),
        ]),
        "{v:#}"
    );
    assert_eq!(not.len(), 1, "{v:#}");
    assert_eq!(
        (&not[0]["name"], &not[0]["type"]),
        (&"pyskill".into(), &"skill".into())
    );
    assert_eq!(not[0]["reason"], "no-source");
    assert!(
        not[0]["detail"]
            .as_str()
            .unwrap()
            .contains("has no source skillwal can update from")
    );
    assert!(
        v["record"]["id"].is_u64(),
        "one transaction, one record: {v:#}"
    );
    assert_current(&sb, &coll, &repo, "update --all");
    assert_eq!(read(&coll.join("skills/pyskill/SKILL.md")), py_copy);
    // The update wrote skillwal's fields again.
    assert_eq!(
        str_field(&manifest_entry(&coll, "lskill", "skill"), "skillwal_source"),
        Some(s(&lskill))
    );
    both.sw(&["update", "--all", "--strategy", "upstream"])
        .code(5)
        .stdout_has("skill pyskill: NOT UPDATED (no-source)")
        .stdout_has("skill lskill: up to date")
        .stderr_has("exit code 5");

    // Another Python rewrite; each of skillwal's artifacts updates by name.
    both.py(&["remove", "pyskill", "--force"]);
    assert!(!both.manifest_has_skillwal_fields());
    change_sources(&sb, &repo, "v4");
    for (ty, name) in [("skill", "lskill"), ("skill", "gskill"), ("command", "cmd")] {
        both.sw(&["update", name, "--strategy", "upstream"])
            .ok()
            .stdout_has(&format!("{ty} {name}: updated"));
    }
    assert_current(&sb, &coll, &repo, "update NAME");

    // The Python tool removes the command and adds another one under the same name: the
    // reference (the old source) is not the new artifact's, and is not used.
    both.py(&["remove", "cmd", "--force"]);
    let other = sb.src.join("elsewhere/cmd.md");
    write(
        &other,
        "---\ndescription: another cmd\n---\nfrom elsewhere\n",
    );
    both.py(&["add", "command", s(&other), "--yes"]);
    append(&cmd, "v5 of the old source\n");
    let before = tree(&coll);
    both.sw(&["update", "cmd", "--strategy", "upstream"])
        .code(1)
        .stderr_has("command cmd has no source skillwal can update from")
        .nothing_changed();
    assert_same_tree(&before, &tree(&coll), "update of the re-added command");
    let r = both.sw(&["--json", "update", "--all", "--strategy", "upstream"]);
    r.code(5);
    let (_, not) = update_report(&r.json());
    let names: Vec<&str> = not.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cmd"]);
    assert_eq!(read(&coll.join("commands/cmd.md")), read(&other));
}

/// `update --all` with one source gone: the others are updated in one transaction, the
/// one that cannot be fetched is listed with the error (exit 5); by name it still fails whole
/// (tests/cli.rs).
#[test]
fn update_all_updates_what_it_can_and_lists_what_it_cannot_fetch() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let helper = sb.src.join("helper.md");
    let agent_before = read(&coll.join("agents/helper.md"));
    fs::remove_file(&helper).unwrap();
    let r = sb.run(&["--json", "update", "--all", "--strategy", "upstream"]);
    r.code(5);
    let v = r.json();
    let (updates, not) = update_report(&v);
    assert_eq!(
        updates,
        pairs(&[("skill/my-skill", "updated"), ("command/review", "updated")]),
        "{v:#}"
    );
    assert_eq!(not.len(), 1, "{v:#}");
    assert_eq!(not[0]["name"], "helper");
    assert_eq!(not[0]["reason"], "fetch-failed");
    let detail = not[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(s(&helper)) && detail.contains("does not exist"),
        "{detail}"
    );
    assert_eq!(
        read(&coll.join("commands/review.md")),
        read(&sb.src.join("review.md"))
    );
    assert_eq!(read(&coll.join("agents/helper.md")), agent_before);
    sb.run(&["verify"]).ok();
    let r = sb.run(&["update", "--all", "--strategy", "upstream"]);
    r.code(5)
        .stdout_has("agent helper: NOT UPDATED (fetch-failed)")
        .stdout_has("command review: up to date")
        .stderr_has("1 artifact(s) could not be updated");
    // `remove` deletes the source reference in its transaction.
    assert!(source_ref(&coll, "agent", "helper").exists());
    sb.run(&["remove", "helper"]).ok();
    assert!(!source_ref(&coll, "agent", "helper").exists());
}

/// Merge conflicts and an artifact not updated at once: exit code 4 (the conflicts are what
/// must be fixed in the files), and the JSON lists both.
#[test]
fn conflicts_win_over_artifacts_not_updated() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    append(&coll.join("commands/review.md"), "a local line\n");
    fs::remove_file(sb.src.join("helper.md")).unwrap();
    let r = sb.run(&["--json", "update", "--all", "--strategy", "merge"]);
    r.code(4);
    let v = r.json();
    let (_, not) = update_report(&v);
    assert_eq!(not.len(), 1, "{v:#}");
    assert_eq!(not[0]["name"], "helper");
    let review = v["updates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "review")
        .expect("review");
    assert!(!review["conflicts"].as_array().unwrap().is_empty(), "{v:#}");
}
