//! One JSON schema for every command (docs/json.md): each command's top-level fields are
//! exactly the documented set, every document names the collection the same way and says
//! what recovery did, and clap's usage errors are JSON errors too under `--json`.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Every success document has these.
const COMMON: [&str; 3] = ["collection", "collection_dir", "recovered"];

/// docs/json.md's "Per command" table: each command's other top-level fields. The test
/// `the_documented_table_is_this_table` keeps the two the same.
const SCHEMA: &[(&str, &[&str])] = &[
    ("init", &["config", "path"]),
    ("add", &["added"]),
    ("remove", &["removed", "record"]),
    (
        "copy",
        &[
            "copied",
            "content_hash",
            "base_copied",
            "transaction_across",
            "record",
            "destination_record",
        ],
    ),
    (
        "move",
        &[
            "moved",
            "content_hash",
            "base_copied",
            "transaction_across",
            "record",
            "destination_record",
        ],
    ),
    ("update", &["updates", "record", "not_updated"]),
    (
        "update --collections",
        &["collections", "transaction_across"],
    ),
    ("diff", &["name", "type", "files"]),
    ("list", &["artifacts", "path"]),
    (
        "show",
        &[
            "name",
            "type",
            "path",
            "origin",
            "added",
            "upstream",
            "version_spec",
            "resolved_sha",
            "resolved_version",
            "last_updated",
            "tags",
            "metadata",
            "skillwal",
            "lock",
            "files",
            "disk_hash",
        ],
    ),
    ("status", &["artifacts"]),
    ("status --project", &["project", "deployments", "debris"]),
    ("deploy", &["project", "committed", "deployed", "record"]),
    ("undeploy", &["project", "undeployed", "record"]),
    (
        "cleanup",
        &[
            "project",
            "dry_run",
            "removed",
            "kept",
            "committed",
            "record",
        ],
    ),
    ("deployments", &["artifact", "projects"]),
    ("pull", &["project", "pulled"]),
    (
        "update --deploy",
        &[
            "updates",
            "record",
            "not_updated",
            "deployments",
            "transaction_across",
        ],
    ),
    ("verify", &["clean", "report"]),
    ("snapshot", &["snapshot"]),
    ("snapshot list", &["snapshots", "skillmeat_snapshots"]),
    (
        "snapshot show",
        &["snapshot", "skillmeat_snapshot", "changes"],
    ),
    ("snapshot delete", &["deleted"]),
    (
        "rollback",
        &["rollback", "skillmeat_snapshot", "extracted", "imported"],
    ),
    ("gc", &["gc"]),
    ("log", &["records"]),
    ("log show", &["record", "files"]),
    ("undo", &["undo"]),
    (
        "journal inspect",
        &[
            "path",
            "file_len",
            "slots",
            "state",
            "txn_id",
            "label",
            "time_unix_ms",
            "salt",
            "salt_from_header",
            "run",
            "records",
            "stop",
            "beyond_damage",
            "commit_offset",
            "previous",
            "kept_decisions",
        ],
    ),
    ("journal verify", &["journal", "ok", "plan", "problem"]),
    (
        "recover",
        &["recovery", "dry_run", "plan", "discarded", "forgotten"],
    ),
    ("error", &["error", "exit_code", "changed", "hint"]),
];

fn documented(command: &str) -> BTreeSet<String> {
    let (_, fields) = SCHEMA
        .iter()
        .find(|(c, _)| *c == command)
        .unwrap_or_else(|| panic!("{command} is not in the table"));
    let mut all: BTreeSet<String> = fields.iter().map(|f| f.to_string()).collect();
    if command == "error" {
        all.insert("recovered".into());
    } else {
        all.extend(COMMON.iter().map(|f| f.to_string()));
    }
    all
}

/// Asserts that `v`'s top-level fields are exactly `command`'s documented ones.
#[track_caller]
fn check(command: &str, v: &Value) {
    let got: BTreeSet<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{command}: not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    let want = documented(command);
    assert_eq!(
        got,
        want,
        "{command}: fields differ from docs/json.md\n  not documented: {:?}\n  missing: {:?}\n{v:#}",
        got.difference(&want).collect::<Vec<_>>(),
        want.difference(&got).collect::<Vec<_>>()
    );
}

/// The default collection with three artifacts; returns the sandbox and its directory.
fn three() -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    (sb, coll)
}

/// The collection fields name the collection: its name and its directory.
#[track_caller]
fn names_the_collection(v: &Value, name: &str, dir: &Path) {
    assert_eq!(v["collection"], name, "{v:#}");
    assert_eq!(v["collection_dir"].as_str(), Some(s(dir)), "{v:#}");
}

#[test]
fn the_documented_table_is_this_table() {
    let doc = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"));
    let section = doc
        .split("## Per command")
        .nth(1)
        .expect("docs/json.md has a Per command section");
    let mut rows = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let command = cells[0].trim_start_matches("| ").trim_matches('`');
        if command == "command" || cells.len() < 3 {
            continue;
        }
        let fields: Vec<String> = cells[1]
            .split_whitespace()
            .map(|f| f.trim_matches('`').to_string())
            .collect();
        rows.push((command.to_string(), fields));
    }
    let ours: Vec<(String, Vec<String>)> = SCHEMA
        .iter()
        .map(|(c, f)| (c.to_string(), f.iter().map(|x| x.to_string()).collect()))
        .collect();
    assert_eq!(rows, ours, "docs/json.md and this test's table differ");
}

#[test]
fn deploy_json() {
    let (sb, coll) = three();
    let p = sb.root.join("proj");
    fs::create_dir_all(&p).unwrap();
    let v = sb
        .run(&["--json", "deploy", "my-skill", "review", "--project", s(&p)])
        .ok()
        .json();
    check("deploy", &v);
    names_the_collection(&v, "default", &coll);
    assert_eq!(v["committed"], true);
    assert_eq!(v["deployed"][0]["action"], "deployed");
    assert_eq!(v["deployed"][0]["path"], ".claude/skills/my-skill");
    let v = sb
        .run(&["--json", "status", "--project", s(&p)])
        .ok()
        .json();
    check("status --project", &v);
    assert_eq!(v["deployments"][1]["state"], "in-sync");
    let v = sb.run(&["--json", "deployments"]).ok().json();
    check("deployments", &v);
    assert_eq!(v["projects"][0]["records"].as_array().unwrap().len(), 2);
    let v = sb
        .run(&["--json", "undeploy", "review", "--project", s(&p)])
        .ok()
        .json();
    check("undeploy", &v);
    assert_eq!(v["undeployed"][0]["files_removed"], true);
    write(
        &p.join(".claude/skills/.my-skill.txn-a3c4d637/SKILL.md"),
        "staged\n",
    );
    let v = sb
        .run(&["--json", "cleanup", "--project", s(&p)])
        .ok()
        .json();
    check("cleanup", &v);
    assert_eq!(v["removed"][0]["kind"], "staged");
    assert_eq!(v["committed"], true);
    sb.change_sources("v2");
    let v = sb
        .run(&[
            "--json",
            "update",
            "my-skill",
            "--deploy",
            "--strategy",
            "upstream",
        ])
        .ok()
        .json();
    check("update --deploy", &v);
    assert_eq!(v["deployments"][0]["action"], "replaced");
    sb.run(&["deploy", "review", "--project", s(&p)]).ok();
    append(&p.join(".claude/commands/review.md"), "mine\n");
    let v = sb
        .run(&["--json", "pull", "review", "--project", s(&p)])
        .ok()
        .json();
    check("pull", &v);
    assert_eq!(v["pulled"]["action"], "pulled");
}

#[test]
fn init_json() {
    let sb = Sandbox::new();
    let v = sb.run(&["--json", "init"]).ok().json();
    check("init", &v);
    names_the_collection(&v, "default", &sb.coll());
    let loose = sb.root.join("loose");
    let v = sb
        .run(&["--json", "--collection-dir", s(&loose), "init"])
        .ok()
        .json();
    check("init", &v);
    names_the_collection(&v, "loose", &loose);
}

#[test]
fn add_json() {
    let sb = Sandbox::new();
    sb.run(&["-c", "work", "init"]).ok();
    let cmd = sb.file_source("review.md", "x");
    let v = sb
        .run(&["--json", "-c", "work", "add", "command", s(&cmd)])
        .ok()
        .json();
    check("add", &v);
    names_the_collection(&v, "work", &sb.home.join("collections/work"));
}

#[test]
fn remove_json() {
    let (sb, coll) = three();
    let v = sb.run(&["--json", "remove", "review"]).ok().json();
    check("remove", &v);
    names_the_collection(&v, "default", &coll);
}

#[test]
fn copy_and_move_json() {
    let (sb, coll) = three();
    sb.run(&["-c", "work", "init"]).ok();
    let v = sb
        .run(&["--json", "copy", "review", "--to", "work"])
        .ok()
        .json();
    check("copy", &v);
    names_the_collection(&v, "default", &coll);
    assert!(v["transaction_across"].is_null() && v["destination_record"].is_null());
    assert!(v["record"]["id"].is_u64(), "{v}");
    let v = sb
        .run(&["--json", "-c", "work", "move", "review", "--to", "default"])
        .code(1)
        .json_err();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("already in the collection"),
        "{v}"
    );
    sb.run(&["remove", "review"]).ok();
    let v = sb
        .run(&["--json", "-c", "work", "move", "review", "--to", "default"])
        .ok()
        .json();
    check("move", &v);
    assert_eq!(
        v["transaction_across"].as_str().map(str::len),
        Some(32),
        "{v}"
    );
    assert_eq!(v["moved"]["name"], "review");
    assert!(v["record"]["id"].is_u64(), "{v}");
    assert!(v["destination_record"]["id"].is_u64(), "{v}");
}

#[test]
fn update_json() {
    let (sb, coll) = three();
    sb.change_sources("v2");
    let v = sb
        .run(&["--json", "update", "--all", "--strategy", "upstream"])
        .ok()
        .json();
    check("update", &v);
    names_the_collection(&v, "default", &coll);
}

#[test]
fn update_across_collections_json() {
    let (sb, coll) = three();
    sb.run(&["-c", "work", "init"]).ok();
    sb.run(&["copy", "review", "--to", "work"]).ok();
    sb.change_sources("v2");
    let v = sb
        .run(&[
            "--json",
            "update",
            "review",
            "--collections",
            "default,work",
            "--strategy",
            "upstream",
        ])
        .ok()
        .json();
    check("update --collections", &v);
    assert!(
        v["collection"].is_null() && v["collection_dir"].is_null(),
        "{v}"
    );
    let rows = v["collections"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert_eq!(rows[0]["collection"], "default");
    assert_eq!(rows[0]["collection_dir"].as_str(), Some(s(&coll)));
    assert_eq!(rows[1]["collection"], "work");
    for r in rows {
        assert_eq!(r["updates"][0]["action"], "updated", "{v}");
        assert!(r["record"]["id"].is_u64(), "{v}");
    }
    assert_eq!(
        v["transaction_across"].as_str().map(str::len),
        Some(32),
        "{v}"
    );
}

#[test]
fn diff_json() {
    let (sb, _) = three();
    sb.change_sources("v2");
    check("diff", &sb.run(&["--json", "diff", "review"]).ok().json());
}

#[test]
fn list_show_status_verify_json() {
    let (sb, coll) = three();
    for (command, args) in [
        ("list", &["--json", "list"][..]),
        ("show", &["--json", "show", "my-skill"]),
        ("status", &["--json", "status"]),
        ("verify", &["--json", "verify"]),
    ] {
        let v = sb.run(args).ok().json();
        check(command, &v);
        names_the_collection(&v, "default", &coll);
        assert!(v["recovered"].is_null(), "{command}: {v:#}");
    }
}

#[test]
fn snapshot_commands_json() {
    let (sb, coll) = three();
    let v = sb.run(&["--json", "snapshot", "-m", "one"]).ok().json();
    check("snapshot", &v);
    names_the_collection(&v, "default", &coll);
    let v = sb.run(&["--json", "snapshot", "list"]).ok().json();
    check("snapshot list", &v);
    let v = sb.run(&["--json", "snapshot", "show", "1"]).ok().json();
    check("snapshot show", &v);
    assert!(v["skillmeat_snapshot"].is_null(), "{v:#}");
    let v = sb.run(&["--json", "rollback", "1", "--yes"]).ok().json();
    check("rollback", &v);
    assert!(v["extracted"].is_null(), "{v:#}");
    let v = sb.run(&["--json", "snapshot", "delete", "1"]).ok().json();
    check("snapshot delete", &v);
    let v = sb.run(&["--json", "gc"]).ok().json();
    check("gc", &v);
    names_the_collection(&v, "default", &coll);
}

#[test]
fn history_commands_json() {
    let (sb, coll) = three();
    let v = sb.run(&["--json", "log"]).ok().json();
    check("log", &v);
    names_the_collection(&v, "default", &coll);
    let v = sb
        .run(&["--json", "log", "show", "1", "--diff"])
        .ok()
        .json();
    check("log show", &v);
    let v = sb.run(&["--json", "undo", "--yes"]).ok().json();
    check("undo", &v);
    names_the_collection(&v, "default", &coll);
    let v = sb.run(&["--json", "redo", "--yes"]).ok().json();
    check("undo", &v);
}

#[test]
fn journal_and_recover_json() {
    let (sb, coll) = three();
    let v = sb.run(&["--json", "journal", "inspect"]).ok().json();
    check("journal inspect", &v);
    names_the_collection(&v, "default", &coll);
    let v = sb.run(&["--json", "journal", "verify"]).ok().json();
    check("journal verify", &v);
    names_the_collection(&v, "default", &coll);
    for args in [
        &["--json", "recover"][..],
        &["--json", "recover", "--dry-run"],
        &["--json", "recover", "--discard"],
    ] {
        let v = sb.run(args).ok().json();
        check("recover", &v);
        names_the_collection(&v, "default", &coll);
    }
}

#[test]
fn errors_are_one_object_on_stderr() {
    let (sb, _) = three();
    let r = sb.run(&["--json", "show", "nope"]);
    let v = r.code(1).json_err();
    check("error", &v);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["changed"], "no");
    assert_eq!(r.stdout, "");
}

/// clap's usage errors under `--json`: the same error object, exit code 2, on stderr.
#[test]
fn usage_errors_are_json_with_json() {
    let (sb, _) = three();
    for (args, fragment) in [
        (&["--json", "lst"][..], "list"),
        (&["list", "--json", "--frob"], "--frob"),
        (
            &["--json", "update", "review", "--strategy", "nope"],
            "merge",
        ),
        (&["--json", "show"], "<NAME>"),
    ] {
        let r = sb.run(args);
        let v = r.code(2).json_err();
        check("error", &v);
        assert_eq!(v["exit_code"], 2, "{args:?}");
        assert_eq!(v["changed"], "no", "{args:?}");
        assert!(v["recovered"].is_null(), "{args:?}");
        let all = format!("{} {}", v["error"], v["hint"]);
        assert!(all.contains(fragment), "{args:?}: {v:#}");
        assert_eq!(r.stdout, "", "{args:?}");
    }
    // Without --json: clap's text, as before.
    sb.run(&["lst"])
        .code(2)
        .stderr_has("error: unrecognized subcommand 'lst'");
    // Help and version stay text.
    sb.run(&["--json", "--help"])
        .ok()
        .stdout_has("Usage: skillwal");
    sb.run(&["--json", "--version"])
        .ok()
        .stdout_has("skillwal ");
}

/// A command after a kill past the commit point: its JSON says what recovery did.
#[test]
fn recovered_is_a_field_of_the_json() {
    let (sb, coll) = three();
    sb.change_sources("v2");
    let update = ["update", "--all", "--strategy", "upstream"];
    let work = sb.root.join("work");
    for n in 1..400u64 {
        copy_collection(&coll, &work);
        let spec = n.to_string();
        sb.run_in(&work, &[("SKILLWAL_CRASH_AFTER", &spec)], &update)
            .killed();
        let plan = sb.run_in(&work, &[], &["recover", "--dry-run"]);
        if !plan.ok().stdout.contains("Would roll forward") {
            continue;
        }
        let r = sb.run_in(&work, &[], &["--json", "list"]);
        let v = r.ok().json();
        check("list", &v);
        let rec = &v["recovered"];
        assert_eq!(rec["outcome"], "rolled-forward", "{v:#}");
        assert!(rec["txn_id"].is_u64(), "{v:#}");
        assert_eq!(rec["collection_dir"].as_str(), Some(s(&work)), "{v:#}");
        let line = r.recovered_lines();
        assert_eq!(line.len(), 1, "{}", r.stderr);
        assert_eq!(
            format!("skillwal: {}", rec["message"].as_str().unwrap()),
            line[0]
        );
        // The next command has nothing to recover.
        let v = sb.run_in(&work, &[], &["--json", "list"]).ok().json();
        assert!(v["recovered"].is_null(), "{v:#}");
        fs::remove_dir_all(&work).ok();
        return;
    }
    panic!("never killed past the commit point");
}
