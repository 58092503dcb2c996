//! Deploying to projects through the built binary (README, "Deploying to projects";
//! wal-spec.md §15): `deploy`, `undeploy`, `status --project`, `deployments`; the tracking
//! file in SkillMeat's format; skillwal's own files out of git's way; bad input refused with
//! nothing changed; every crash point of deploy, redeploy and undeploy leaving the project
//! exactly before or after (files, modes and records together).
//!
//! The tests marked so run the real Python `skillmeat` 0.74.0 (skip and require rules of
//! `tests/python_compat.rs`, see `tests/python/tool.rs`).

#[path = "cli/support.rs"]
mod support;
#[path = "python/tool.rs"]
mod tool;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use support::*;
use tool::Both;

const TRACKING: &str = ".claude/.skillmeat-deployed.toml";

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

/// What a user sees in a project: every path below it but skillwal's `.skillwal/` and the
/// Python tool's empty lock files (`.<name>.skillmeat-lock`, which both tools create and
/// never delete), with the tracking files' timestamps masked.
fn project_tree(p: &Path) -> Tree {
    tree(p)
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".git/") && k != ".git")
        .filter(|(k, _)| {
            let name = k.rsplit('/').next().unwrap_or(k);
            !(name.starts_with('.') && name.ends_with(".skillmeat-lock"))
        })
        .map(|(k, v)| {
            let v = match v {
                Node::File { mode, bytes } if k.ends_with(".skillmeat-deployed.toml") => {
                    Node::File {
                        mode,
                        bytes: mask_timestamps(&String::from_utf8_lossy(&bytes)).into_bytes(),
                    }
                }
                other => other,
            };
            (k, v)
        })
        .collect()
}

fn status_json(sb: &Sandbox, p: &Path) -> Vec<Value> {
    let v = sb.run(&["--json", "status", "--project", s(p)]).ok().json();
    v["deployments"].as_array().unwrap().clone()
}

/// (name, state) of every deployment.
fn states(sb: &Sandbox, p: &Path) -> Vec<(String, String)> {
    status_json(sb, p)
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn deploy_writes_files_and_records_as_skillmeat_does_and_stays_out_of_git() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "helper", "--project", s(&p)])
        .ok()
        .stdout_has("deployed")
        .stdout_has("one transaction");
    // Files, byte for byte and mode for mode, as in the collection.
    let coll_skill = tree(&coll.join("skills/my-skill"));
    assert_eq!(tree(&p.join(".claude/skills/my-skill")), coll_skill);
    assert_eq!(
        mode(&p.join(".claude/skills/my-skill/scripts/run.sh")),
        0o755
    );
    assert_eq!(
        read(&p.join(".claude/commands/review.md")),
        read(&coll.join("commands/review.md"))
    );
    // The tracking file: SkillMeat's fields, order and layout; mode 0600.
    let text = read(&p.join(TRACKING));
    assert_eq!(mode(&p.join(TRACKING)), 0o600);
    let h = skillmeat_hash(&p.join(".claude/skills/my-skill"));
    let first = text.split("\n\n").next().unwrap();
    let expected = format!(
        "[[deployed]]\nartifact_name = \"my-skill\"\nartifact_type = \"skill\"\nfrom_collection = \"default\"\ndeployed_at = \"<TS>\"\nartifact_path = \"skills/my-skill\"\ncontent_hash = \"{h}\"\nlocal_modifications = false\nversion_lineage = [\n    \"{h}\",\n]\nmerge_base_snapshot = \"{h}\"\ndeployment_profile_id = \"claude_code\"\nplatform = \"claude_code\"\nprofile_root_dir = \".claude\"\ncollection_sha = \"{h}\""
    );
    assert_eq!(mask_timestamps(first), expected);
    assert_eq!(text.matches("[[deployed]]").count(), 3);
    assert!(text.contains("artifact_path = \"agents/helper.md\""));
    // skillwal's own files: ignored by git, a small journal.
    let porcelain = sb.git(&p, &["status", "--porcelain", "--untracked-files=all"]);
    for line in porcelain.lines() {
        assert!(
            line.starts_with("?? .claude/"),
            "git sees {line:?}\n{porcelain}"
        );
    }
    assert!(!porcelain.contains(".skillwal"));
    let journal = fs::metadata(p.join(".skillwal/journal")).unwrap().len();
    assert!(journal <= 128 * 1024, "journal of {journal} bytes");
    // All in sync; `deployments` lists the project.
    assert_eq!(
        states(&sb, &p),
        pairs(&[
            ("my-skill", "in-sync"),
            ("review", "in-sync"),
            ("helper", "in-sync")
        ])
    );
    let d = sb.run(&["--json", "deployments", "my-skill"]).ok().json();
    assert_eq!(d["projects"][0]["project"].as_str(), Some(s(&p)));
    assert_eq!(d["projects"][0]["records"].as_array().unwrap().len(), 1);
    // Deploying again writes nothing.
    let before = project_tree(&p);
    sb.run(&["deploy", "my-skill", "--project", s(&p)])
        .ok()
        .stdout_has("already in sync");
    assert_same_tree(&before, &project_tree(&p), "a deploy with nothing to do");
}

#[test]
fn status_says_what_is_true_for_skills_commands_and_agents() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "helper", "--project", s(&p)])
        .ok();
    // The project's copy edited: modified, naming the files.
    append(&p.join(".claude/skills/my-skill/SKILL.md"), "local edit\n");
    write(&p.join(".claude/skills/my-skill/extra.txt"), "mine\n");
    fs::remove_file(p.join(".claude/skills/my-skill/docs/notes.txt")).unwrap();
    // The collection changed: outdated.
    sb.change_sources("v2");
    sb.run(&["update", "review", "--strategy", "upstream"]).ok();
    // The agent's project copy deleted: missing (the Python tool says "synced").
    fs::remove_file(p.join(".claude/agents/helper.md")).unwrap();
    let all = status_json(&sb, &p);
    let by = |n: &str| all.iter().find(|d| d["name"] == n).unwrap().clone();
    assert_eq!(by("my-skill")["state"], "modified");
    let files: Vec<(String, String)> = by("my-skill")["files"]
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
        files,
        pairs(&[
            ("SKILL.md", "changed"),
            ("docs/notes.txt", "deleted"),
            ("extra.txt", "added")
        ])
    );
    assert_eq!(by("review")["state"], "outdated");
    assert_eq!(by("helper")["state"], "missing");
    // Both sides changed: conflict. Gone from the collection: not-in-collection.
    sb.run(&["update", "my-skill", "--strategy", "upstream"])
        .ok();
    append(&p.join(".claude/commands/review.md"), "local\n");
    sb.run(&["deploy", "helper", "--project", s(&p)])
        .ok()
        .stdout_has("deployed");
    sb.run(&["remove", "helper"]).ok();
    sb.run(&["deploy", "helper", "--project", s(&p)]).code(1);
    assert_eq!(
        states(&sb, &p),
        pairs(&[
            ("my-skill", "conflict"),
            ("review", "conflict"),
            ("helper", "not-in-collection")
        ])
    );
    sb.run(&["status", "--project", s(&p)])
        .ok()
        .stdout_has("conflict")
        .stdout_has("added extra.txt");
}

#[test]
fn a_project_copy_with_local_changes_is_never_overwritten_silently() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    append(&p.join(".claude/skills/my-skill/SKILL.md"), "local edit\n");
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    let before = project_tree(&p);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .code(1)
        .stderr_has("local changes")
        .stderr_has("SKILL.md changed")
        .stderr_has("--overwrite");
    assert_same_tree(&before, &project_tree(&p), "a refused deploy");
    // The unmodified command alone is replaced; then --overwrite replaces the skill.
    sb.run(&["deploy", "review", "--project", s(&p)])
        .ok()
        .stdout_has("replaced");
    sb.run(&["deploy", "my-skill", "--project", s(&p), "--overwrite"])
        .ok()
        .stdout_has("replaced");
    assert_eq!(
        states(&sb, &p),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
    // A copy that is already what the collection has is only recorded.
    let sb2 = Sandbox::new();
    let coll = sb2.three_artifacts();
    let p2 = project(&sb2);
    copy_tree(
        &coll.join("skills/my-skill"),
        &p2.join(".claude/skills/my-skill"),
    );
    sb2.run(&["deploy", "my-skill", "--project", s(&p2)])
        .ok()
        .stdout_has("recorded");
}

#[test]
fn deploy_refresh_brings_a_project_up_to_date_in_every_profile() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    sb.run(&[
        "deploy",
        "my-skill",
        "--project",
        s(&p),
        "--profile",
        "codex",
    ])
    .ok();
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    assert_eq!(
        states(&sb, &p),
        pairs(&[
            ("my-skill", "outdated"),
            ("review", "outdated"),
            ("my-skill", "outdated")
        ])
    );
    // A local change anywhere refuses the whole refresh.
    append(&p.join(".agents/skills/my-skill/SKILL.md"), "local\n");
    let before = project_tree(&p);
    sb.run(&["deploy", "--refresh", "--project", s(&p)])
        .code(1)
        .stderr_has(".agents/skills/my-skill");
    assert_same_tree(&before, &project_tree(&p), "a refused refresh");
    sb.run(&["deploy", "--refresh", "--project", s(&p), "--overwrite"])
        .ok()
        .stdout_has("replaced");
    assert_eq!(
        states(&sb, &p),
        pairs(&[
            ("my-skill", "in-sync"),
            ("review", "in-sync"),
            ("my-skill", "in-sync")
        ])
    );
    // The helper agent was never deployed there: a refresh does not add it.
    assert!(!p.join(".claude/agents").exists());
    assert_eq!(
        read(&p.join(".agents/skills/my-skill/SKILL.md")),
        read(&sb.coll().join("skills/my-skill/SKILL.md"))
    );
}

/// `copy`, a project copy of my-skill whose `scripts/run.sh` was changed locally, merged
/// with the collection `coll`'s version: the local change kept (bytes and mode), every file
/// the collection changed as the collection has it.
#[track_caller]
fn assert_merged(copy: &Path, coll: &Path) {
    assert_eq!(
        read(&copy.join("scripts/run.sh")),
        "#!/bin/sh\necho run locally\n"
    );
    assert_eq!(mode(&copy.join("scripts/run.sh")), 0o755);
    for f in ["SKILL.md", "docs/notes.txt", "docs/new.txt"] {
        assert_eq!(
            read(&copy.join(f)),
            read(&coll.join("skills/my-skill").join(f)),
            "{f}"
        );
    }
}

#[test]
fn deploy_merge_keeps_local_changes_and_marks_conflicts() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    let copy = p.join(".claude/skills/my-skill");
    // A local change where the collection changes nothing; the collection changes the rest.
    write(
        &copy.join("scripts/run.sh"),
        "#!/bin/sh\necho run locally\n",
    );
    sb.change_sources("v2");
    sb.run(&["update", "my-skill", "--strategy", "upstream"])
        .ok();
    sb.run(&["deploy", "my-skill", "--project", s(&p)])
        .code(1)
        .stderr_has("scripts/run.sh changed");
    // Killed at every call: before or after (the merged copy with its record).
    let points = every_crash_point(
        &sb,
        &p,
        &["deploy", "my-skill", "--project", s(&p), "--merge"],
    );
    eprintln!("deploy --merge: {points} crash points");
    assert!(points > 20);
    assert_merged(&copy, &coll);
    // The record names the collection's version: the local change shows as such.
    let d = status_json(&sb, &p);
    assert_eq!(d[0]["state"], "modified");
    assert_eq!(d[0]["files"][0]["path"], "scripts/run.sh");
    // Both sides change the same lines: marked, reported, exit code 4.
    append(&copy.join("docs/notes.txt"), "mine\n");
    sb.change_sources("v3");
    sb.run(&["update", "my-skill", "--strategy", "upstream"])
        .ok();
    let r = sb.run(&["deploy", "my-skill", "--project", s(&p), "--merge"]);
    r.code(4).stdout_has("CONFLICT");
    let notes = read(&copy.join("docs/notes.txt"));
    assert!(
        notes.contains("<<<<<<<") && notes.contains(">>>>>>>"),
        "{notes}"
    );
}

#[test]
fn undeploy_removes_files_and_records_together() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    sb.run(&["undeploy", "my-skill", "--project", s(&p)])
        .ok()
        .stdout_has("removed");
    assert!(!p.join(".claude/skills/my-skill").exists());
    assert_eq!(states(&sb, &p), pairs(&[("review", "in-sync")]));
    // A record whose files are gone is dropped; the last one leaves `deployed = []`.
    fs::remove_file(p.join(".claude/commands/review.md")).unwrap();
    sb.run(&["undeploy", "review", "--project", s(&p)])
        .ok()
        .stdout_has("record dropped");
    assert_eq!(read(&p.join(TRACKING)), "deployed = []\n");
    sb.run(&["undeploy", "review", "--project", s(&p)])
        .code(1)
        .stderr_has("not deployed")
        .nothing_changed();
}

#[test]
fn bad_input_is_refused_with_nothing_changed() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    // Looking at a project skillwal never wrote leaves nothing there.
    sb.run(&["status", "--project", s(&p)])
        .ok()
        .stdout_has("Nothing is deployed");
    assert!(!p.join(".skillwal").exists());
    // No such project; a file; an artifact not in the collection; an unknown profile.
    sb.run(&["deploy", "my-skill", "--project", s(&sb.root.join("nope"))])
        .code(1)
        .stderr_has("does not exist");
    sb.run(&["deploy", "my-skill", "--project", s(&p.join("README.md"))])
        .code(1)
        .stderr_has("is not a directory");
    sb.run(&["deploy", "my-skil", "--project", s(&p)])
        .code(1)
        .stderr_has("my-skill");
    sb.run(&["deploy", "my-skill", "--project", s(&p), "--profile", "vim"])
        .code(1)
        .stderr_has("unknown profile");
    sb.run(&[
        "deploy",
        "helper",
        "--project",
        s(&p),
        "--profile",
        "gemini",
    ])
    .code(1)
    .stderr_has("does not take agents");
    assert!(!p.join(".claude").exists());
    // A .claude that is a link out of the project.
    let outside = sb.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, p.join(".claude")).unwrap();
    sb.run(&["deploy", "my-skill", "--project", s(&p)])
        .code(1)
        .stderr_has("symbolic link");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    fs::remove_file(p.join(".claude")).unwrap();
    // Tracking files the Python tool would refuse: refused with the path and line.
    sb.run(&["deploy", "review", "--project", s(&p)]).ok();
    let good = read(&p.join(TRACKING));
    for (bad, needle) in [
        (good.replacen("[[deployed]]", "[[deployed]", 1), ":1:"),
        (
            good.replacen(
                "deployed_at = \"",
                "deployed_at = 2026-01-01T00:00:00 #\"",
                1,
            ),
            "TOML datetime",
        ),
        (
            good.replacen("platform = \"claude_code\"", "platform = \"vim\"", 1),
            "\"vim\"",
        ),
    ] {
        write(&p.join(TRACKING), &bad);
        let before = project_tree(&p);
        sb.run(&["deploy", "my-skill", "--project", s(&p)])
            .code(1)
            .stderr_has(".skillmeat-deployed.toml:")
            .stderr_has(needle);
        sb.run(&["status", "--project", s(&p)])
            .code(1)
            .stderr_has(needle);
        assert_same_tree(&before, &project_tree(&p), needle);
    }
}

/// The home and the projects `ps`, kept at `<root>/<name>` so that every trial starts from
/// them; and what a user sees of them (every project, then the collection).
struct Template<'a> {
    sb: &'a Sandbox,
    ps: &'a [&'a Path],
    dir: PathBuf,
}

impl<'a> Template<'a> {
    fn keep(sb: &'a Sandbox, ps: &'a [&'a Path], name: &str) -> Template<'a> {
        let dir = sb.root.join(name);
        let _ = fs::remove_dir_all(&dir);
        copy_tree(&sb.root.join("home"), &dir.join("home"));
        for (i, p) in ps.iter().enumerate() {
            copy_tree(p, &dir.join(format!("proj{i}")));
        }
        Template { sb, ps, dir }
    }

    /// Puts the home and every project back as kept.
    fn restore(&self) {
        let mut pairs = vec![(self.dir.join("home"), self.sb.root.join("home"))];
        for (i, p) in self.ps.iter().enumerate() {
            pairs.push((self.dir.join(format!("proj{i}")), p.to_path_buf()));
        }
        for (from, to) in pairs {
            fs::remove_dir_all(&to).unwrap();
            copy_tree(&from, &to);
        }
    }

    fn state(&self) -> Vec<Tree> {
        let mut v: Vec<Tree> = self.ps.iter().map(|p| project_tree(p)).collect();
        v.push(masked(&tree(&self.sb.coll())));
        v
    }
}

/// Every crash point of `args` (killed for real after each mutating call): every project
/// of `ps`, and the collection, are exactly before or after — all of them the same way —
/// once `status --project` recovered, started from each project in turn.
fn every_crash_point_in(sb: &Sandbox, ps: &[&Path], args: &[&str]) -> u64 {
    let template = Template::keep(sb, ps, "template");
    let state = || template.state();
    let before = state();
    sb.run(args).ok();
    let after = state();
    assert_ne!(before, after, "{args:?} changes nothing");
    let mut points = 0;
    for n in 1.. {
        template.restore();
        let r = sb.run_env(&[("SKILLWAL_CRASH_AFTER", &n.to_string())], args);
        let finished = r.code == Some(0);
        if !finished {
            r.killed();
        }
        // Recovery starts from a different project each time.
        for k in 0..ps.len() {
            let p = ps[(n as usize + k) % ps.len()];
            sb.run(&["status", "--project", s(p)]).ok();
        }
        let got = state();
        let diff = |want: &Vec<Tree>| -> String {
            want.iter()
                .zip(&got)
                .map(|(a, b)| tree_diff(a, b))
                .collect::<Vec<_>>()
                .join("--\n")
        };
        assert!(
            got == after || (!finished && got == before),
            "{args:?} killed after call {n}: neither before nor after\nvs before:\n{}vs after:\n{}",
            diff(&before),
            diff(&after)
        );
        points += 1;
        if finished {
            break;
        }
    }
    points
}

fn every_crash_point(sb: &Sandbox, p: &Path, args: &[&str]) -> u64 {
    every_crash_point_in(sb, &[p], args)
}

#[test]
fn deploy_redeploy_and_undeploy_killed_at_every_call_leave_the_project_before_or_after() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    let first = every_crash_point(
        &sb,
        &p,
        &["deploy", "my-skill", "review", "helper", "--project", s(&p)],
    );
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    let again = every_crash_point(
        &sb,
        &p,
        &["deploy", "my-skill", "review", "--project", s(&p)],
    );
    let undeploy = every_crash_point(
        &sb,
        &p,
        &["undeploy", "my-skill", "helper", "--project", s(&p)],
    );
    eprintln!(
        "crash points: deploy {first}, redeploy {again}, undeploy {undeploy}; each before or after"
    );
    assert!(first > 10 && again > 10 && undeploy > 5);
}

#[test]
fn pull_takes_the_project_copy_into_the_collection_with_its_record() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    append(
        &p.join(".claude/skills/my-skill/SKILL.md"),
        "improved here\n",
    );
    write(&p.join(".claude/skills/my-skill/docs/extra.md"), "more\n");
    chmod(&p.join(".claude/skills/my-skill/docs/extra.md"), 0o600);
    let v = sb
        .run(&["--json", "pull", "my-skill", "--project", s(&p)])
        .ok()
        .json();
    assert_eq!(v["pulled"]["action"], "pulled");
    assert!(v["pulled"]["transaction_across"].is_string());
    assert!(v["pulled"]["record"]["id"].is_u64(), "{v}");
    // The collection has the project's copy, byte for byte and mode for mode; the record
    // agrees; the lock still says what was fetched, so the collection shows the changes as
    // local modifications.
    assert_eq!(
        tree(&coll.join("skills/my-skill")),
        tree(&p.join(".claude/skills/my-skill"))
    );
    assert_eq!(
        states(&sb, &p),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
    let st = sb.run(&["--json", "status"]).ok().json();
    let mine = st["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "my-skill")
        .unwrap()
        .clone();
    assert_eq!(mine["state"], "modified", "{st:#}");
    // Pulling again: nothing to do.
    sb.run(&["pull", "my-skill", "--project", s(&p)])
        .ok()
        .stdout_has("nothing to pull");
    // Both changed: refused, unless --overwrite.
    sb.change_sources("v2");
    sb.run(&["update", "review", "--strategy", "upstream"]).ok();
    append(&p.join(".claude/commands/review.md"), "mine\n");
    let before = (project_tree(&p), masked(&tree(&coll)));
    sb.run(&["pull", "review", "--project", s(&p)])
        .code(1)
        .stderr_has("changed in the collection too")
        .nothing_changed();
    assert!(before == (project_tree(&p), masked(&tree(&coll))));
    sb.run(&["pull", "review", "--project", s(&p), "--overwrite"])
        .ok();
    assert_eq!(
        read(&coll.join("commands/review.md")),
        read(&p.join(".claude/commands/review.md"))
    );
    sb.run(&["pull", "helper", "--project", s(&p)])
        .code(1)
        .stderr_has("not deployed");
}

#[test]
fn pull_killed_at_every_call_leaves_the_collection_and_project_together() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    append(
        &p.join(".claude/skills/my-skill/SKILL.md"),
        "improved here\n",
    );
    write(&p.join(".claude/skills/my-skill/docs/extra.md"), "more\n");
    let points = every_crash_point(&sb, &p, &["pull", "my-skill", "--project", s(&p)]);
    eprintln!("pull: {points} crash points, collection and project before or after together");
    assert!(points > 30);
}

/// A second project, `proj2`.
fn project2(sb: &Sandbox) -> PathBuf {
    let p = sb.root.join("proj2");
    fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn update_deploy_refreshes_every_deployment_with_the_collection() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let (p1, p2) = (project(&sb), project2(&sb));
    for p in [&p1, &p2] {
        sb.run(&["deploy", "my-skill", "review", "--project", s(p)])
            .ok();
    }
    append(&p2.join(".claude/skills/my-skill/SKILL.md"), "local\n");
    sb.change_sources("v2");
    // Without a terminal, prompt refuses: nothing changed anywhere.
    let before = (
        project_tree(&p1),
        project_tree(&p2),
        masked(&tree(&sb.coll())),
    );
    sb.run(&["update", "my-skill", "review", "--deploy"])
        .code(1)
        .stderr_has("proj2");
    assert!(
        before
            == (
                project_tree(&p1),
                project_tree(&p2),
                masked(&tree(&sb.coll()))
            )
    );
    // `local`: the changed copy is kept, everything else refreshed, in one transaction.
    let v = sb
        .run(&[
            "--json",
            "update",
            "my-skill",
            "review",
            "--deploy",
            "--strategy",
            "local",
        ])
        .ok()
        .json();
    assert!(v["transaction_across"].is_string(), "{v:#}");
    assert_eq!(
        pushed_actions(&v),
        pairs(&[
            ("proj:my-skill", "replaced"),
            ("proj:review", "replaced"),
            ("proj2:my-skill", "kept-local"),
            ("proj2:review", "replaced")
        ])
    );
    assert_eq!(
        states(&sb, &p1),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
    assert_eq!(
        states(&sb, &p2),
        pairs(&[("my-skill", "conflict"), ("review", "in-sync")])
    );
    // `upstream` replaces it.
    sb.run(&["update", "my-skill", "--deploy", "--strategy", "upstream"])
        .ok()
        .stdout_has("refreshed");
    assert_eq!(
        states(&sb, &p2),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
}

/// `(project dir's name:artifact, action)` of each deployment `update --deploy --json` reports.
fn pushed_actions(v: &Value) -> Vec<(String, String)> {
    v["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                format!(
                    "{}:{}",
                    d["project"].as_str().unwrap().rsplit('/').next().unwrap(),
                    d["name"].as_str().unwrap()
                ),
                d["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn update_deploy_merges_project_copies_with_local_changes() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let (p1, p2) = (project(&sb), project2(&sb));
    for p in [&p1, &p2] {
        sb.run(&["deploy", "my-skill", "review", "--project", s(p)])
            .ok();
    }
    // A local change in proj2 where the new version changes nothing.
    let copy = p2.join(".claude/skills/my-skill");
    write(
        &copy.join("scripts/run.sh"),
        "#!/bin/sh\necho run locally\n",
    );
    sb.change_sources("v2");
    let args = [
        "update",
        "my-skill",
        "review",
        "--deploy",
        "--strategy",
        "merge",
    ];
    // (Killed at every call in
    // `update_deploy_killed_at_every_call_leaves_the_collection_and_projects_together`.)
    sb.run(&args).ok();
    // The merged copy: the local change kept (mode too), the new version's changes in.
    assert_merged(&copy, &coll);
    // The record names the new version: the local change shows as such; the rest in sync.
    assert_eq!(
        states(&sb, &p1),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
    let d = status_json(&sb, &p2);
    assert_eq!(d[0]["name"], "my-skill");
    assert_eq!(d[0]["state"], "modified");
    assert_eq!(d[0]["files"][0]["path"], "scripts/run.sh");
    assert_eq!(d[1]["state"], "in-sync");
    // What the JSON says of a merge, on a second round that merges again (the base is the
    // version the last merge recorded) and conflicts: both sides change the same lines.
    append(&copy.join("docs/notes.txt"), "mine\n");
    sb.change_sources("v3");
    let r = sb.run(&[
        "--json",
        "update",
        "my-skill",
        "--deploy",
        "--strategy",
        "merge",
    ]);
    r.code(4);
    let v = r.json();
    assert_eq!(
        pushed_actions(&v),
        pairs(&[("proj:my-skill", "replaced"), ("proj2:my-skill", "merged")])
    );
    let conflicts = v["deployments"][1]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{v:#}");
    assert_eq!(
        conflicts[0]["path"],
        ".claude/skills/my-skill/docs/notes.txt"
    );
    assert!(v["deployments"][0].get("conflicts").is_none(), "{v:#}");
    let notes = read(&copy.join("docs/notes.txt"));
    assert!(
        notes.contains("<<<<<<<") && notes.contains(">>>>>>>"),
        "{notes}"
    );
    assert_eq!(
        read(&copy.join("scripts/run.sh")),
        "#!/bin/sh\necho run locally\n"
    );
    assert_eq!(
        states(&sb, &p1),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
}

#[test]
fn merge_without_the_deployed_version_in_the_store_is_refused() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    append(&p.join(".claude/skills/my-skill/SKILL.md"), "local\n");
    // The record names a version this collection never held (deployed by another tool from
    // elsewhere): there is no base to merge with.
    let tracking = read(&p.join(TRACKING));
    let h = tracking
        .lines()
        .find_map(|l| l.strip_prefix("content_hash = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    fs::write(p.join(TRACKING), tracking.replace(&h, &"0".repeat(64))).unwrap();
    sb.change_sources("v2");
    let before = (project_tree(&p), masked(&tree(&sb.coll())));
    sb.run(&["deploy", "my-skill", "--project", s(&p), "--merge"])
        .code(1)
        .stderr_has("no base to merge with")
        .stderr_has(".claude/skills/my-skill")
        .nothing_changed();
    sb.run(&["update", "my-skill", "--deploy", "--strategy", "merge"])
        .code(1)
        .stderr_has("no base to merge with")
        .nothing_changed();
    assert!(before == (project_tree(&p), masked(&tree(&sb.coll()))));
}

#[test]
fn update_deploy_killed_at_every_call_leaves_the_collection_and_projects_together() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let (p1, p2) = (project(&sb), project2(&sb));
    for p in [&p1, &p2] {
        sb.run(&["deploy", "my-skill", "review", "--project", s(p)])
            .ok();
    }
    // proj2's copy has a local change: the one transaction replaces three copies and merges
    // the fourth.
    write(
        &p2.join(".claude/skills/my-skill/scripts/run.sh"),
        "#!/bin/sh\necho run locally\n",
    );
    sb.change_sources("v2");
    let points = every_crash_point_in(
        &sb,
        &[&p1, &p2],
        &[
            "update",
            "my-skill",
            "review",
            "--deploy",
            "--strategy",
            "merge",
        ],
    );
    eprintln!("update --deploy to two projects: {points} crash points, all before or all after");
    assert!(points > 30);
    assert_eq!(
        read(&p2.join(".claude/skills/my-skill/scripts/run.sh")),
        "#!/bin/sh\necho run locally\n"
    );
}

/// `args` with a file-system call failing (with each of `errnos`) at each call in turn: the
/// command fails or succeeds; after recovery every root is before or after, all the same
/// way; and when the command said nothing was changed, before.
fn every_error(sb: &Sandbox, ps: &[&Path], args: &[&str], errnos: &[&str]) -> u64 {
    let template = Template::keep(sb, ps, "template-e");
    let state = || template.state();
    let restore = || template.restore();
    let before = state();
    sb.run(args).ok();
    let after = state();
    assert_ne!(before, after, "{args:?} changes nothing");
    let mut tried = 0;
    for errno in errnos {
        for n in 1.. {
            restore();
            let r = sb.run_env(&[("SKILLWAL_FAIL_AT", &format!("{n}:{errno}"))], args);
            r.no_panic();
            let said_unchanged = r.stderr.contains("Nothing was changed");
            for p in ps {
                sb.run(&["status", "--project", s(p)]).ok();
            }
            let got = state();
            assert!(
                got == after || (r.code != Some(0) && got == before),
                "{errno} at call {n}: neither before nor after\n{}",
                r.stderr
            );
            assert!(
                !(said_unchanged && got != before),
                "{errno} at call {n}: said nothing was changed, yet changed\n{}",
                r.stderr
            );
            tried += 1;
            if r.code == Some(0) {
                break;
            }
        }
    }
    tried
}

#[test]
fn deploy_and_update_deploy_failing_at_every_call_are_all_or_nothing() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let (p1, p2) = (project(&sb), project2(&sb));
    let deploy = every_error(
        &sb,
        &[&p1],
        &["deploy", "my-skill", "review", "--project", s(&p1)],
        &["EIO", "ENOSPC", "EROFS"],
    );
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p1)])
        .ok();
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p2)])
        .ok();
    sb.change_sources("v2");
    let update = every_error(
        &sb,
        &[&p1, &p2],
        &[
            "update",
            "my-skill",
            "review",
            "--deploy",
            "--strategy",
            "upstream",
        ],
        &["EIO", "ENOSPC"],
    );
    eprintln!("errors at every call: deploy {deploy} runs, update --deploy {update} runs");
    assert!(deploy > 30 && update > 100);
}

/// A project on a read-only file system (a read-only bind mount; skipped, saying so,
/// where it cannot be made): refused with the path, nothing changed.
#[test]
fn a_read_only_project_is_refused_with_nothing_changed() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "review", "--project", s(&p)]).ok();
    let ro = sb.root.join("ro");
    fs::create_dir_all(&ro).unwrap();
    let bind = std::process::Command::new("mount")
        .args(["--bind", "-o", "ro"])
        .arg(&p)
        .arg(&ro)
        .output();
    if !bind.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: a_read_only_project_is_refused: cannot bind-mount read-only here");
        return;
    }
    let _ = std::process::Command::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&ro)
        .status();
    let before = project_tree(&p);
    let r = sb.run(&["deploy", "my-skill", "--project", s(&ro)]);
    let _ = std::process::Command::new("umount").arg(&ro).status();
    r.code(1).stderr_has("Read-only file system");
    assert_same_tree(
        &before,
        &project_tree(&p),
        "a deploy into a read-only project",
    );
}

/// Runs `args` while a thread holds the Python tool's lock `lock` (exclusively, as it does)
/// for 0.8 s: the command must succeed only after the lock was let go, writing nothing into
/// the lock file.
fn waits_for_python_lock(sb: &Sandbox, lock: &Path, args: &[&str]) {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock)
        .unwrap();
    f.lock().unwrap();
    let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = released.clone();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        f.unlock().unwrap();
    });
    sb.run(args).ok();
    assert!(
        released.load(std::sync::atomic::Ordering::SeqCst),
        "{args:?} finished while the Python tool's lock was held"
    );
    holder.join().unwrap();
    assert_eq!(
        fs::metadata(lock).unwrap().len(),
        0,
        "nothing written into it"
    );
}

#[test]
fn skillwal_waits_for_a_python_lock_on_the_tracking_file() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "review", "--project", s(&p)]).ok();
    // The lock file the Python tool takes (created 0644 if missing, never deleted).
    let lock = p.join(".claude/..skillmeat-deployed.toml.skillmeat-lock");
    waits_for_python_lock(&sb, &lock, &["deploy", "my-skill", "--project", s(&p)]);
}

#[test]
fn recovery_in_a_project_waits_for_a_python_lock_on_what_it_changes() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    sb.change_sources("v2");
    sb.run(&["update", "my-skill", "--strategy", "upstream"])
        .ok();
    // A redeploy killed past its commit point: the project's journal holds it, and the
    // recovery puts the new copy in place. (Killed before, the recovery only drops the
    // staged copy, changing nothing the Python tool writes: then try a later call.)
    let journal = p.join(".skillwal/journal");
    for n in 1.. {
        sb.run_env(
            &[("SKILLWAL_CRASH_AFTER", &n.to_string())],
            &["deploy", "my-skill", "--project", s(&p)],
        )
        .killed();
        let v = sb
            .run(&["--json", "journal", "inspect", s(&journal)])
            .ok()
            .json();
        if v["state"] == "committed" {
            break;
        }
        sb.run(&["status", "--project", s(&p)]).ok();
    }
    // The Python tool writing skills/my-skill meanwhile: the recovery waits for it.
    let lock = p.join(".claude/skills/.my-skill.skillmeat-lock");
    waits_for_python_lock(&sb, &lock, &["status", "--project", s(&p)]);
    let v = sb
        .run(&["--json", "journal", "inspect", s(&journal)])
        .ok()
        .json();
    assert_eq!(v["state"], "none", "{v:#}");
}

#[test]
fn cleanup_waits_for_a_python_lock_on_the_destination() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    // A Python write of skills/my-skill in progress: its staged copy is not debris yet.
    let staged = p.join(".claude/skills/.my-skill.txn-a3c4d637");
    write(&staged.join("SKILL.md"), "staged\n");
    let lock = p.join(".claude/skills/.my-skill.skillmeat-lock");
    waits_for_python_lock(&sb, &lock, &["cleanup", "--project", s(&p)]);
    assert!(!staged.exists());
}

// ---------------------------------------------------------------------------------------
// With the real Python tool

fn both<'a>(sb: &'a Sandbox, test: &str) -> Option<Both<'a>> {
    let skillmeat = tool::skillmeat_or_skip(test)?;
    Some(Both { sb, skillmeat })
}

/// `skillmeat status --project P` as (section, names): "Synced", "Locally modified".
fn py_status(b: &Both<'_>, p: &Path) -> String {
    b.py(&["status", "--project", s(p)])
}

#[test]
fn python_reads_what_skillwal_deploys_and_skillwal_reads_what_python_deploys() {
    let sb = Sandbox::new();
    let Some(b) = both(&sb, "python_reads_what_skillwal_deploys") else {
        return;
    };
    // One collection both tools use: ~/.skillmeat of the sandbox's HOME.
    b.sw(&["init"]).ok();
    let skill = sb.skill_source("my-skill", "v1");
    let cmd = sb.file_source("review.md", "review v1");
    let agent = sb.file_source("helper.md", "helper v1");
    b.sw(&["add", "skill", s(&skill)]).ok();
    b.sw(&["add", "command", s(&cmd)]).ok();
    b.sw(&["add", "agent", s(&agent)]).ok();
    let p = project(&sb);
    b.sw(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    let out = py_status(&b, &p);
    assert!(out.contains("Synced (2)"), "{out}");
    assert!(!out.contains("modified"), "{out}");
    // Python deploys beside skillwal's records, and keeps them.
    b.py(&["deploy", "helper", "--project", s(&p), "--overwrite"]);
    let text = read(&p.join(TRACKING));
    assert_eq!(text.matches("[[deployed]]").count(), 3, "{text}");
    let json = b.sw(&["--json", "status", "--project", s(&p)]).ok().json();
    let states: Vec<(&str, &str)> = json["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        vec![
            ("my-skill", "in-sync"),
            ("review", "in-sync"),
            ("helper", "in-sync")
        ]
    );
    // skillwal undeploys what Python deployed; Python agrees.
    b.sw(&["undeploy", "helper", "--project", s(&p)]).ok();
    assert!(!p.join(".claude/agents/helper.md").exists());
    let out = py_status(&b, &p);
    assert!(out.contains("Synced (2)"), "{out}");
    // An edit in the project: both tools say modified; skillwal refuses to overwrite it.
    append(&p.join(".claude/skills/my-skill/SKILL.md"), "local\n");
    let out = py_status(&b, &p);
    assert!(out.contains("Locally modified (1)"), "{out}");
    b.sw(&["deploy", "my-skill", "--project", s(&p)]).code(1);
    // skillwal pulls the change into the collection; Python sees the deployment in sync.
    b.sw(&["pull", "my-skill", "--project", s(&p)]).ok();
    let out = py_status(&b, &p);
    assert!(out.contains("Synced (2)"), "{out}");
    append(&p.join(".claude/skills/my-skill/SKILL.md"), "local again\n");
    // Python undeploys what skillwal deployed.
    b.py(&["undeploy", "review", "--project", s(&p), "--force"]);
    assert!(!p.join(".claude/commands/review.md").exists());
    let json = b.sw(&["--json", "status", "--project", s(&p)]).ok().json();
    assert_eq!(json["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(json["deployments"][0]["state"], "modified");
}

#[test]
fn cleanup_removes_the_python_tools_leftovers_in_one_transaction_and_keeps_what_may_be_the_only_copy()
 {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    // A project skillwal never wrote: a dry run only reads it.
    sb.run(&["cleanup", "--project", s(&p), "--dry-run"])
        .ok()
        .stdout_has("Nothing the Python tool left behind");
    assert!(!p.join(".skillwal").exists());
    sb.run(&["deploy", "my-skill", "review", "--project", s(&p)])
        .ok();
    // What SkillMeat 0.74 leaves when it is killed (docs/skillmeat-deploy-format.md §5),
    // named as it names them; one set aside for `gone`, whose destination is missing.
    let c = p.join(".claude");
    write(
        &c.join("skills/.my-skill.txn-a3c4d637/SKILL.md"),
        "staged\n",
    );
    write(&c.join("skills/.my-skill.txn-a3c4d637/ro/x.txt"), "x\n");
    chmod(&c.join("skills/.my-skill.txn-a3c4d637/ro"), 0o555);
    write(
        &c.join("skills/.my-skill.skillmeat-txn-9ff2536a/SKILL.md"),
        "old\n",
    );
    write(
        &c.join("commands/.review.md.k2_x9abz.txn.tmp"),
        "new bytes\n",
    );
    write(
        &c.join("..skillmeat-deployed.toml.skillmeat-txn-0123abcd"),
        "deployed = []\n",
    );
    write(
        &c.join("skills/.gone.skillmeat-swap-aside-c2ca2259/SKILL.md"),
        "only copy\n",
    );
    // Not leftovers: a lock file, a name that only looks alike.
    write(&c.join("skills/.my-skill.skillmeat-lock"), "");
    write(&c.join("skills/.my-skill.txn-A3C4D637"), "mine\n");
    sb.run(&["status", "--project", s(&p)])
        .ok()
        .stderr_has("5 leftover(s)")
        .stderr_has("skillwal cleanup --project");
    let v = sb
        .run(&["--json", "status", "--project", s(&p)])
        .ok()
        .json();
    let found: Vec<(String, String, bool)> = v["debris"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
                d["destination_missing"].as_bool().unwrap(),
            )
        })
        .collect();
    let want = |p: &str, k: &str, m: bool| (p.to_string(), k.to_string(), m);
    assert_eq!(
        found,
        vec![
            want(
                ".claude/..skillmeat-deployed.toml.skillmeat-txn-0123abcd",
                "backup",
                false
            ),
            want(
                ".claude/commands/.review.md.k2_x9abz.txn.tmp",
                "temporary",
                false
            ),
            want(
                ".claude/skills/.gone.skillmeat-swap-aside-c2ca2259",
                "set aside",
                true
            ),
            want(
                ".claude/skills/.my-skill.skillmeat-txn-9ff2536a",
                "backup",
                false
            ),
            want(".claude/skills/.my-skill.txn-a3c4d637", "staged", false),
        ]
    );
    // The leftovers change nothing of what is deployed.
    assert_eq!(
        states(&sb, &p),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
    let before = project_tree(&p);
    sb.run(&["cleanup", "--project", s(&p), "--dry-run"])
        .ok()
        .stdout_has("would remove .claude/skills/.my-skill.txn-a3c4d637 (staged of .claude/skills/my-skill)")
        .stdout_has("kept .claude/skills/.gone.skillmeat-swap-aside-c2ca2259");
    assert!(before == project_tree(&p), "a dry run changed the project");
    // Killed at every call: before or after.
    let points = every_crash_point(&sb, &p, &["cleanup", "--project", s(&p)]);
    eprintln!("cleanup: {points} crash points");
    assert!(points > 10);
    for gone in [
        "skills/.my-skill.txn-a3c4d637",
        "skills/.my-skill.skillmeat-txn-9ff2536a",
        "commands/.review.md.k2_x9abz.txn.tmp",
        "..skillmeat-deployed.toml.skillmeat-txn-0123abcd",
    ] {
        assert!(!c.join(gone).exists(), "{gone} is still there");
    }
    assert_eq!(
        read(&c.join("skills/.gone.skillmeat-swap-aside-c2ca2259/SKILL.md")),
        "only copy\n"
    );
    assert!(c.join("skills/.my-skill.skillmeat-lock").exists());
    assert_eq!(read(&c.join("skills/.my-skill.txn-A3C4D637")), "mine\n");
    assert_eq!(
        states(&sb, &p),
        pairs(&[("my-skill", "in-sync"), ("review", "in-sync")])
    );
    // Again: only the kept one is left, and nothing is written.
    let v = sb
        .run(&["--json", "cleanup", "--project", s(&p)])
        .ok()
        .json();
    assert_eq!(v["removed"].as_array().unwrap().len(), 0, "{v:#}");
    assert_eq!(v["kept"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["committed"], false);
}

/// What a user sees, exactly: the collection and each project (git's directory and the
/// Python tool's lock files aside), nothing masked — what an undo restores byte for byte.
fn exact_everywhere(sb: &Sandbox, ps: &[&Path]) -> Vec<Tree> {
    let mut v = vec![tree(&sb.coll())];
    for p in ps {
        v.push(
            tree(p)
                .into_iter()
                .filter(|(k, _)| !k.starts_with(".git/") && k != ".git")
                .filter(|(k, _)| !k.ends_with(".skillmeat-lock"))
                .collect(),
        );
    }
    v
}

#[test]
fn an_update_that_refreshed_deployments_is_undone_everywhere_at_once() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    let q = project2(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    sb.run(&["deploy", "my-skill", "--project", s(&q)]).ok();
    let before = exact_everywhere(&sb, &[&p, &q]);
    sb.change_sources("v2");
    sb.run(&["update", "my-skill", "--deploy"]).ok();
    let after = exact_everywhere(&sb, &[&p, &q]);
    assert_ne!(before, after);
    // The three records name each other.
    let log = sb.run(&["--json", "log", "-n", "1"]).ok().json();
    let with = log["records"][0]["with"].as_array().unwrap().clone();
    assert_eq!(with.len(), 2, "{log:#}");
    assert!(with.iter().all(|l| l["project"] == true), "{log:#}");

    // From the collection: the collection and both projects back, in one transaction.
    let v = sb.run(&["--json", "undo", "--yes"]).ok().json();
    assert_eq!(v["undo"]["with"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(v["undo"]["with"][0]["project"], true, "{v:#}");
    assert!(v["undo"]["transaction_across"].is_string(), "{v:#}");
    assert_eq!(
        exact_everywhere(&sb, &[&p, &q]),
        before,
        "undone from the collection"
    );
    sb.run(&["redo", "--yes"]).ok();
    assert_eq!(
        exact_everywhere(&sb, &[&p, &q]),
        after,
        "redone from the collection"
    );
    // From a project: the same, everywhere; redone from the other project.
    sb.run(&["undo", "--project", s(&q), "--yes"])
        .ok()
        .stdout_has("and in");
    assert_eq!(
        exact_everywhere(&sb, &[&p, &q]),
        before,
        "undone from a project"
    );
    sb.run(&["redo", "--project", s(&p), "--yes"]).ok();
    assert_eq!(
        exact_everywhere(&sb, &[&p, &q]),
        after,
        "redone from the other"
    );
    // A project copy changed since: a conflict, nothing changed anywhere.
    append(&q.join(".claude/skills/my-skill/SKILL.md"), "edited in q\n");
    let edited = exact_everywhere(&sb, &[&p, &q]);
    sb.run(&["undo", "--yes"])
        .code(1)
        .stderr_has(".claude/skills/my-skill")
        .stderr_has("--force");
    assert_eq!(exact_everywhere(&sb, &[&p, &q]), edited, "a refused undo");
    fs::remove_file(q.join(".claude/skills/my-skill/SKILL.md")).unwrap();
    fs::write(
        q.join(".claude/skills/my-skill/SKILL.md"),
        read(&p.join(".claude/skills/my-skill/SKILL.md")),
    )
    .unwrap();
    assert_eq!(exact_everywhere(&sb, &[&p, &q]), after);

    // Killed at every call, with every root's recovery started in turn.
    let points = every_crash_point_in(&sb, &[&p, &q], &["undo", "--yes"]);
    eprintln!("undo of an update that refreshed two projects: {points} crash points");
    assert!(points > 20);
}

#[test]
fn a_pull_is_undone_in_the_collection_and_the_project_at_once() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let p = project(&sb);
    sb.run(&["deploy", "my-skill", "--project", s(&p)]).ok();
    append(
        &p.join(".claude/skills/my-skill/SKILL.md"),
        "improved here\n",
    );
    let before = exact_everywhere(&sb, &[&p]);
    sb.run(&["pull", "my-skill", "--project", s(&p)]).ok();
    let after = exact_everywhere(&sb, &[&p]);
    assert_ne!(before, after);
    // The project's log holds the pull too, naming the collection's record.
    let log = sb
        .run(&["--json", "log", "-n", "1", "--project", s(&p)])
        .ok()
        .json();
    let newest = &log["records"][0];
    assert!(
        newest["command"]
            .as_str()
            .unwrap()
            .starts_with("pull skill my-skill"),
        "{log:#}"
    );
    // One link, to the collection (a link to a collection carries no `project`).
    assert_eq!(newest["with"].as_array().map(Vec::len), Some(1), "{log:#}");
    assert!(newest["with"][0]["id"].is_u64(), "{log:#}");
    assert!(newest["with"][0].get("project").is_none(), "{log:#}");
    sb.run(&["undo", "--project", s(&p), "--yes"]).ok();
    assert_eq!(
        exact_everywhere(&sb, &[&p]),
        before,
        "a pull undone from the project"
    );
    sb.run(&["redo", "--yes"]).ok();
    assert_eq!(
        exact_everywhere(&sb, &[&p]),
        after,
        "redone from the collection"
    );
}
