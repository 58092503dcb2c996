//! The `skillwal` binary end to end: every command, every update strategy with and without
//! local modifications, each bad input (one clear message, a non-zero exit code, the
//! collection byte-identical before and after), and real processes failed or killed by the
//! crash hook (`SKILLWAL_FAIL_AT`, `SKILLWAL_CRASH_AFTER`, wal-spec.md §10) at every
//! mutating call of a three-artifact update.
//!
//! Everything runs offline in temporary directories: git sources are repositories the tests
//! create, and `https://github.com/` is mapped to a local directory through git's
//! `url.<base>.insteadOf` in the sandbox's `$HOME/.gitconfig`.
//!
//! Tests marked `#[ignore = "BUG: ..."]` show a bug in skillwal; run them with
//! `cargo test --release --test cli -- --ignored`.

#[path = "cli/support.rs"]
mod support;

use predicates::prelude::*;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::*;

/// The update every crash and error-injection test interrupts: three artifacts, one
/// transaction.
const UPDATE_ALL: [&str; 4] = ["update", "--all", "--strategy", "upstream"];

/// A three-artifact collection whose sources have all changed, plus the tree before and the
/// (timestamp-masked) tree after a successful `update --all --strategy upstream`, computed
/// on a copy.
struct UpdateFixture {
    sb: Sandbox,
    coll: PathBuf,
    before: Tree,
    after: Tree,
}

fn update_fixture() -> UpdateFixture {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let before = tree(&coll);
    let reference = sb.root.join("reference");
    copy_collection(&coll, &reference);
    sb.run_in(&reference, &[], &UPDATE_ALL)
        .ok()
        .stdout_has("3 artifacts updated in one transaction");
    let after = masked(&tree(&reference));
    assert_ne!(masked(&before), after, "the update must change something");
    UpdateFixture {
        sb,
        coll,
        before,
        after,
    }
}

impl UpdateFixture {
    /// A fresh copy of the collection as it was before the update.
    fn copy(&self, name: &str) -> PathBuf {
        let w = self.sb.root.join(name);
        if w.exists() {
            fs::remove_dir_all(&w).expect("remove old copy");
        }
        copy_collection(&self.coll, &w);
        w
    }

    /// Which of the two states `dir` is in; panics with both diffs on a mix.
    #[track_caller]
    fn state(&self, dir: &Path, what: &str) -> State {
        let now = tree(dir);
        if now == self.before {
            State::Before
        } else if masked(&now) == self.after {
            State::After
        } else {
            panic!(
                "{what}: the collection is neither before nor after the update\nagainst before:\n{}against after (timestamps masked):\n{}",
                tree_diff(&self.before, &now),
                tree_diff(&self.after, &masked(&now))
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Before,
    After,
}

// ---------------------------------------------------------------------------------------
// Usage, help, init
// ---------------------------------------------------------------------------------------

#[test]
fn help_lists_every_command_and_usage_errors_exit_2() {
    let sb = Sandbox::new();
    let help = sb.run(&["--help"]);
    help.ok().stdout_has("Exit codes");
    for c in [
        "init", "add", "update", "remove", "list", "show", "status", "verify", "journal",
        "recover", "demo",
    ] {
        help.stdout_has(&format!("  {c} "));
        sb.run(&[c, "--help"]).ok().stdout_has("Usage: skillwal");
    }
    sb.run(&["--version"]).ok().stdout_has("skillwal");

    sb.run(&["update"])
        .code(2)
        .stderr_has("name the artifacts to update, or pass --all");
    let j = sb.run(&["--json", "update"]);
    j.code(2);
    assert_eq!(j.json_err()["exit_code"], 2);
    sb.run(&["add", "skill"]).code(2);
    sb.run(&["update", "x", "--all"]).code(2);
    sb.run(&["update", "x", "--strategy", "sideways"])
        .code(2)
        .stderr_has("possible values");
    sb.run(&["recover", "--dry-run", "--discard"]).code(2);
    sb.run(&["-c", "x", "--collection-dir", "y", "list"])
        .code(2)
        .stderr_has("cannot be used with");
    sb.run(&["frobnicate"]).code(2);
    sb.run(&["add", "skill", "x", "--git", "y"]).code(2);

    // A malformed crash hook is an error, not ignored and not a panic.
    sb.run(&["init"]).ok();
    sb.run_env(&[("SKILLWAL_FAIL_AT", "seven")], &["list"])
        .code(1)
        .stderr_has("SKILLWAL_FAIL_AT")
        .stderr_has("expected N:ERRNO");
    let r = sb.run_env(&[("SKILLWAL_FAIL_AT", "7:EWHAT")], &["list"]);
    r.code(1).stderr_has("SKILLWAL_FAIL_AT");
    let r = sb.run_env(&[("SKILLWAL_CRASH_AFTER", "0")], &["list"]);
    r.code(1).stderr_has("SKILLWAL_CRASH_AFTER");
}

#[test]
fn init_creates_the_config_and_the_collection_layout() {
    let sb = Sandbox::new();
    let coll = sb.coll();
    sb.run(&["init"])
        .ok()
        .stdout_has(&format!("Created collection default at {}", coll.display()))
        .stdout_has(&format!(
            "Created {}",
            sb.home.join("config.toml").display()
        ));
    let config = toml_doc(&sb.home.join("config.toml"));
    assert_eq!(
        config["settings"]["default-collection"].as_str(),
        Some("default")
    );
    for d in ["skills", "commands", "agents"] {
        assert!(coll.join(d).is_dir(), "{d}/ missing");
    }
    let manifest = toml_doc(&coll.join("collection.toml"));
    assert_eq!(manifest["collection"]["name"].as_str(), Some("default"));
    let lock = toml_doc(&coll.join("collection.lock"));
    assert!(lock["lock"]["version"].is_str());
    assert!(state_dir(&coll).join("journal").is_file());

    // A second init changes nothing and says what exists.
    let before = tree(&coll);
    let config_before = read(&sb.home.join("config.toml"));
    sb.run(&["init"])
        .code(1)
        .stderr_has("a collection already exists at")
        .stderr_has(s(&coll))
        .nothing_changed();
    assert_same_tree(&before, &tree(&coll), "second init");

    // Another collection: config kept, JSON says so.
    let j = sb.run(&["--json", "init", "--name", "second"]);
    let v = j.ok().json();
    assert_eq!(v["collection"], "second");
    assert_eq!(v["config"], "kept");
    assert_eq!(
        v["path"].as_str(),
        Some(s(&sb.home.join("collections/second")))
    );
    sb.run(&["-c", "third", "init"]).ok();
    assert!(sb.home.join("collections/third/collection.toml").is_file());
    assert_eq!(read(&sb.home.join("config.toml")), config_before);
}

#[test]
fn init_keeps_an_existing_config_byte_identical_except_the_default_collection_line() {
    let sb = Sandbox::new();
    let fixture = include_str!("fixtures/cli/config-with-comments.toml");
    fs::create_dir_all(&sb.home).unwrap();
    let cfg = sb.home.join("config.toml");
    fs::write(&cfg, fixture).unwrap();

    sb.run(&["init", "--name", "work"])
        .ok()
        .stdout_has("Set default-collection = \"work\"");
    let after = read(&cfg);
    let line = "default-collection = \"work\"\n";
    assert_eq!(after.matches(line).count(), 1, "{after}");
    assert_eq!(
        after.replacen(line, "", 1),
        fixture,
        "only the default-collection line may be added"
    );
    let settings_at = after.find("[settings]\n").unwrap();
    let line_at = after.find(line).unwrap();
    let analytics_at = after.find("[analytics]").unwrap();
    assert!(
        settings_at < line_at && line_at < analytics_at,
        "the line belongs in [settings]:\n{after}"
    );

    // Now that it names a default, another init leaves it byte-identical.
    let v = sb.run(&["--json", "init", "--name", "other"]).ok().json();
    assert_eq!(v["config"], "kept");
    assert_eq!(read(&cfg), after);
    // And the default collection is the one the config names.
    sb.run(&["list"])
        .ok()
        .stdout_has("Collection work is empty");
}

// ---------------------------------------------------------------------------------------
// add
// ---------------------------------------------------------------------------------------

#[test]
fn add_local_skill_command_and_agent() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let skill = sb.skill_source("my-skill", "v1");
    // What SkillMeat does not copy, and an empty directory it does copy.
    write(&skill.join(".DS_Store"), "junk");
    write(&skill.join("__pycache__/x.pyc"), "junk");
    write(&skill.join("docs/old.pyc"), "junk");
    write(&skill.join(".git/HEAD"), "ref: refs/heads/main\n");
    fs::create_dir_all(skill.join("empty")).unwrap();

    sb.run(&["add", "skill", s(&skill)])
        .ok()
        .stdout_has(&format!("Added skill my-skill from {}", skill.display()));
    let dest = coll.join("skills/my-skill");
    let copied: Vec<String> = tree(&dest).into_keys().collect();
    assert_eq!(
        copied,
        [
            "SKILL.md",
            "docs",
            "docs/notes.txt",
            "empty",
            "scripts",
            "scripts/run.sh"
        ]
    );
    assert_eq!(read(&dest.join("SKILL.md")), read(&skill.join("SKILL.md")));
    assert_eq!(mode(&dest.join("scripts/run.sh")), 0o755, "exec bit lost");
    assert_eq!(mode(&dest.join("SKILL.md")) & 0o111, 0);

    let m = manifest_entry(&coll, "my-skill", "skill");
    assert_eq!(str_field(&m, "path"), Some("skills/my-skill"));
    assert_eq!(str_field(&m, "origin"), Some("local"));
    assert_eq!(str_field(&m, "skillwal_source"), Some(s(&skill)));
    assert_eq!(
        m["tags"].as_array().unwrap(),
        &vec![toml::Value::from("testing"), toml::Value::from("cli")]
    );
    assert_eq!(
        m["metadata"]["description"].as_str(),
        Some("The my-skill skill")
    );
    let l = lock_entry(&coll, "my-skill", "skill").expect("lock entry");
    assert_eq!(
        str_field(&l, "content_hash"),
        Some(skillmeat_hash(&dest).as_str())
    );

    // A command named after its file (".md" dropped), from a relative path.
    let cmd = sb.file_source("review.md", "review v1");
    sb.run(&["add", "command", "src/review.md"])
        .ok()
        .stdout_has("Added command review from src/review.md");
    assert_eq!(read(&coll.join("commands/review.md")), read(&cmd));
    let m = manifest_entry(&coll, "review", "command");
    assert_eq!(str_field(&m, "path"), Some("commands/review.md"));
    assert_eq!(
        str_field(&m, "skillwal_source"),
        Some(s(&cmd)),
        "a relative source is recorded absolute"
    );

    // An agent under another name, with JSON output.
    let agent = sb.file_source("helper.md", "helper v1");
    let v = sb
        .run(&["--json", "add", "agent", s(&agent), "--name", "assistant"])
        .ok()
        .json();
    let added = &v["added"];
    assert_eq!(added["name"], "assistant");
    assert_eq!(added["type"], "agent");
    assert_eq!(added["collection"].as_str(), Some(s(&coll)));
    assert!(added["resolved_sha"].is_null());
    let dest = coll.join("agents/assistant.md");
    assert_eq!(read(&dest), read(&agent));
    assert_eq!(
        added["content_hash"].as_str(),
        Some(skillmeat_hash(&dest).as_str())
    );
    sb.run(&["verify"])
        .ok()
        .stdout_has("All 3 artifacts match the lock");

    // The same name again: refused, nothing changed.
    let before = tree(&coll);
    sb.run(&["add", "agent", s(&agent), "--name", "assistant"])
        .code(1)
        .stderr_has("agent assistant is already in the collection")
        .stderr_has("skillwal update assistant")
        .nothing_changed();
    // A stray file where the artifact would go.
    write(&coll.join("commands/stray.md"), "stray\n");
    let before_stray = tree(&coll);
    sb.run(&["add", "command", s(&cmd), "--name", "stray"])
        .code(1)
        .stderr_has(s(&coll.join("commands/stray.md")))
        .stderr_has("choose another --name")
        .nothing_changed();
    assert_same_tree(&before_stray, &tree(&coll), "add over a stray file");
    fs::remove_file(coll.join("commands/stray.md")).unwrap();
    assert_same_tree(&before, &tree(&coll), "add of an existing name");
}

#[test]
fn lock_content_hash_is_skillmeats_sha256() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    // Names whose component-wise order differs from a plain string sort of whole paths.
    let src = sb.src.join("ordering");
    for (rel, text) in [
        ("SKILL.md", "---\ndescription: order\n---\n"),
        ("Z.txt", "zed"),
        ("a b.txt", "space"),
        ("sub/b.txt", "in sub"),
        ("sub-x/c.txt", "in sub-x"),
        ("sub.txt", "beside sub"),
        ("é.txt", "accent"),
    ] {
        write(&src.join(rel), text);
    }
    fs::create_dir_all(src.join("empty/deeper")).unwrap();
    sb.run(&["add", "skill", s(&src)]).ok();
    let dest = coll.join("skills/ordering");

    // SkillMeat's order, written out by hand.
    let order = [
        "SKILL.md",
        "Z.txt",
        "a b.txt",
        "sub/b.txt",
        "sub-x/c.txt",
        "sub.txt",
        "é.txt",
    ];
    let digest = |paths: &[&str]| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in paths {
            h.update(p.as_bytes());
            h.update(fs::read(dest.join(p)).unwrap());
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let expected = digest(&order);
    assert_eq!(expected, skillmeat_hash(&dest));
    let mut plain = order;
    plain.sort();
    assert_ne!(
        digest(&plain),
        expected,
        "the fixture must tell the orders apart"
    );

    let lock = lock_entry(&coll, "ordering", "skill").unwrap();
    assert_eq!(str_field(&lock, "content_hash"), Some(expected.as_str()));

    let cmd = sb.file_source("hashme.md", "bytes");
    sb.run(&["add", "command", s(&cmd)]).ok();
    let file_hash = {
        use sha2::{Digest, Sha256};
        Sha256::digest(fs::read(&cmd).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let lock = lock_entry(&coll, "hashme", "command").unwrap();
    assert_eq!(str_field(&lock, "content_hash"), Some(file_hash.as_str()));

    let v = sb.run(&["--json", "show", "ordering"]).ok().json();
    assert_eq!(v["disk_hash"].as_str(), Some(expected.as_str()));
    assert_eq!(v["lock"]["content_hash"].as_str(), Some(expected.as_str()));
    assert_eq!(v["files"], "ok");
}

/// A repository with a skill (with an executable script), a command and an agent; tag
/// `v1.0` on the first commit, a second commit on `main`, and a branch `dev` with a change
/// to the command.
struct Repo {
    dir: PathBuf,
    v1: String,
    main: String,
    dev: String,
}

fn make_repo(sb: &Sandbox, dir: &Path) -> Repo {
    sb.git_init(dir);
    write(&dir.join("README.md"), "tools\n");
    write(
        &dir.join("skills/gs/SKILL.md"),
        "---\ndescription: git skill\n---\nv1\n",
    );
    write(&dir.join("skills/gs/bin/tool.sh"), "#!/bin/sh\necho tool\n");
    chmod(&dir.join("skills/gs/bin/tool.sh"), 0o755);
    write(&dir.join("commands/gcmd.md"), "git command v1\n");
    write(&dir.join("agents/gagent.md"), "git agent v1\n");
    let v1 = sb.git_commit(dir, "v1");
    sb.git(dir, &["tag", "v1.0"]);
    append(&dir.join("skills/gs/SKILL.md"), "v2\n");
    let main = sb.git_commit(dir, "v2");
    sb.git(dir, &["checkout", "-q", "-b", "dev"]);
    append(&dir.join("commands/gcmd.md"), "dev\n");
    let dev = sb.git_commit(dir, "dev");
    sb.git(dir, &["checkout", "-q", "main"]);
    Repo {
        dir: dir.to_path_buf(),
        v1,
        main,
        dev,
    }
}

#[test]
fn add_from_git_records_the_resolution_and_update_follows_the_ref() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    let repo = make_repo(&sb, &sb.root.join("repos/tools"));
    let url = s(&repo.dir).to_string();
    let file_url = format!("file://{url}");

    // A tag, through a local path.
    sb.run(&[
        "add",
        "skill",
        "--git",
        &url,
        "--path",
        "skills/gs",
        "--ref",
        "v1.0",
    ])
    .ok()
    .stdout_has("Added skill gs from")
    .stdout_has("at v1.0");
    let m = manifest_entry(&coll, "gs", "skill");
    assert_eq!(str_field(&m, "origin"), Some("github"));
    assert_eq!(str_field(&m, "version_spec"), Some("v1.0"));
    assert_eq!(str_field(&m, "resolved_sha"), Some(repo.v1.as_str()));
    assert_eq!(str_field(&m, "resolved_version"), Some("v1.0"));
    assert_eq!(
        str_field(&m, "upstream"),
        Some(format!("{url}#skills/gs").as_str())
    );
    assert_eq!(str_field(&m, "skillwal_source"), Some(url.as_str()));
    assert_eq!(str_field(&m, "skillwal_path"), Some("skills/gs"));
    assert_eq!(str_field(&m, "skillwal_ref"), Some("v1.0"));
    let l = lock_entry(&coll, "gs", "skill").unwrap();
    assert_eq!(str_field(&l, "resolved_sha"), Some(repo.v1.as_str()));
    assert_eq!(str_field(&l, "resolved_version"), Some("v1.0"));
    assert_eq!(str_field(&l, "upstream"), str_field(&m, "upstream"));
    let dest = coll.join("skills/gs");
    assert_eq!(
        str_field(&l, "content_hash"),
        Some(skillmeat_hash(&dest).as_str())
    );
    assert_eq!(
        read(&dest.join("SKILL.md")),
        "---\ndescription: git skill\n---\nv1\n"
    );
    assert_eq!(
        mode(&dest.join("bin/tool.sh")),
        0o755,
        "exec bit from git lost"
    );

    // A branch, through a file:// URL.
    sb.run(&[
        "add",
        "command",
        "--git",
        &file_url,
        "--path",
        "commands/gcmd.md",
        "--ref",
        "dev",
    ])
    .ok();
    let m = manifest_entry(&coll, "gcmd", "command");
    assert_eq!(str_field(&m, "version_spec"), Some("dev"));
    assert_eq!(str_field(&m, "resolved_sha"), Some(repo.dev.as_str()));
    assert_eq!(str_field(&m, "resolved_version"), None, "no tag on dev");
    assert_eq!(
        str_field(&m, "upstream"),
        Some(format!("{file_url}#commands/gcmd.md").as_str())
    );
    assert_eq!(
        read(&coll.join("commands/gcmd.md")),
        "git command v1\ndev\n"
    );

    // A full sha; the tag on it is found.
    let v = sb
        .run(&[
            "--json",
            "add",
            "agent",
            "--git",
            &url,
            "--path",
            "agents/gagent.md",
            "--ref",
            &repo.v1,
        ])
        .ok()
        .json();
    assert_eq!(v["added"]["resolved_sha"].as_str(), Some(repo.v1.as_str()));
    assert_eq!(v["added"]["resolved_version"], "v1.0");
    let m = manifest_entry(&coll, "gagent", "agent");
    assert_eq!(str_field(&m, "version_spec"), Some(repo.v1.as_str()));

    // No ref: the default branch, "latest"; a relative repository path is recorded absolute.
    sb.run(&[
        "add",
        "skill",
        "--git",
        "repos/tools",
        "--path",
        "skills/gs",
        "--name",
        "gs-head",
    ])
    .ok();
    let m = manifest_entry(&coll, "gs-head", "skill");
    assert_eq!(str_field(&m, "version_spec"), Some("latest"));
    assert_eq!(str_field(&m, "resolved_sha"), Some(repo.main.as_str()));
    assert_eq!(str_field(&m, "skillwal_source"), Some(url.as_str()));
    assert_eq!(str_field(&m, "skillwal_ref"), None);

    let list = sb.run(&["--json", "list"]).ok().json();
    let version = |name: &str| {
        list["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            // `version` is the front matter's (as skillmeat shows it); the ref is here.
            .map(|a| match &a["resolved_version"] {
                serde_json::Value::Null => a["version_spec"].clone(),
                v => v.clone(),
            })
            .unwrap()
    };
    assert_eq!(version("gs"), "v1.0");
    assert_eq!(version("gcmd"), "dev");
    assert_eq!(version("gs-head"), "latest");

    // New commits on main and dev: the tag and the sha stay, the branches move.
    append(&repo.dir.join("skills/gs/SKILL.md"), "v3\n");
    let main2 = sb.git_commit(&repo.dir, "v3");
    sb.git(&repo.dir, &["checkout", "-q", "dev"]);
    append(&repo.dir.join("commands/gcmd.md"), "dev2\n");
    let dev2 = sb.git_commit(&repo.dir, "dev2");
    sb.git(&repo.dir, &["checkout", "-q", "main"]);

    let v = sb
        .run(&["--json", "update", "--all", "--strategy", "upstream"])
        .ok()
        .json();
    let action = |name: &str| {
        v["updates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .map(|u| u["action"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(action("gs"), "up-to-date");
    assert_eq!(action("gagent"), "up-to-date");
    assert_eq!(action("gcmd"), "updated");
    assert_eq!(action("gs-head"), "updated");
    let m = manifest_entry(&coll, "gs-head", "skill");
    assert_eq!(str_field(&m, "resolved_sha"), Some(main2.as_str()));
    assert_eq!(
        str_field(
            &lock_entry(&coll, "gcmd", "command").unwrap(),
            "resolved_sha"
        ),
        Some(dev2.as_str())
    );
    assert!(read(&coll.join("skills/gs-head/SKILL.md")).ends_with("v3\n"));
    assert_eq!(mode(&coll.join("skills/gs-head/bin/tool.sh")), 0o755);
    sb.run(&["verify"]).ok();
}

#[test]
fn github_shorthand_is_parsed_and_fetched_offline() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let coll = sb.coll();
    // "github.com/acme/skills" is a local repository (see Sandbox's .gitconfig).
    let repo = sb.github.join("acme/skills");
    sb.git_init(&repo);
    write(
        &repo.join("pdf/SKILL.md"),
        "---\ndescription: pdf\n---\nv1\n",
    );
    let sha = sb.git_commit(&repo, "pdf");
    sb.git(&repo, &["tag", "v2"]);

    sb.run(&["add", "skill", "acme/skills/pdf@v2"])
        .ok()
        .stdout_has("from https://github.com/acme/skills (pdf) @v2");
    let m = manifest_entry(&coll, "pdf", "skill");
    assert_eq!(
        str_field(&m, "upstream"),
        Some(format!("https://github.com/acme/skills/tree/{sha}/pdf").as_str())
    );
    assert_eq!(str_field(&m, "version_spec"), Some("v2"));
    assert_eq!(str_field(&m, "resolved_version"), Some("v2"));
    assert_eq!(
        str_field(&m, "skillwal_source"),
        Some("https://github.com/acme/skills")
    );
    sb.run(&[
        "add",
        "skill",
        "acme/skills/pdf@latest",
        "--name",
        "pdf-latest",
    ])
    .ok();
    let m = manifest_entry(&coll, "pdf-latest", "skill");
    assert_eq!(str_field(&m, "version_spec"), Some("latest"));

    append(&repo.join("pdf/SKILL.md"), "v2\n");
    let sha2 = sb.git_commit(&repo, "more");
    sb.run(&["update", "pdf", "pdf-latest"])
        .ok()
        .stdout_has("skill pdf: up to date")
        .stdout_has("skill pdf-latest: updated");
    let m = manifest_entry(&coll, "pdf-latest", "skill");
    assert_eq!(str_field(&m, "resolved_sha"), Some(sha2.as_str()));

    // A repository that does not exist: git's error, cleanly, and nothing changed.
    let before = tree(&coll);
    sb.run(&["add", "skill", "acme/missing/pdf@main"])
        .code(1)
        .stderr_has("git could not clone the repository for https://github.com/acme/missing")
        .stderr_has("check the URL")
        .nothing_changed();
    assert_same_tree(&before, &tree(&coll), "shorthand of a missing repository");
}

// ---------------------------------------------------------------------------------------
// update: strategies
// ---------------------------------------------------------------------------------------

#[test]
fn update_each_strategy_without_local_modifications_updates() {
    for strategy in ["upstream", "local", "prompt"] {
        let sb = Sandbox::new();
        let coll = sb.three_artifacts();
        let helper_before = read(&coll.join("agents/helper.md"));
        sb.change_sources("v2");
        sb.run(&["update", "my-skill", "review", "--strategy", strategy])
            .ok()
            .stdout_has("skill my-skill: updated (content ")
            .stdout_has("command review: updated (content ")
            .stdout_has("2 artifacts updated in one transaction");
        assert_same_tree(
            &tree(&sb.src.join("my-skill")),
            &tree(&coll.join("skills/my-skill")),
            "skill files after update",
        );
        assert_eq!(
            read(&coll.join("commands/review.md")),
            read(&sb.src.join("review.md"))
        );
        assert_eq!(
            read(&coll.join("agents/helper.md")),
            helper_before,
            "an artifact not named is not updated"
        );
        for (name, ty) in [("my-skill", "skill"), ("review", "command")] {
            let m = manifest_entry(&coll, name, ty);
            assert!(str_field(&m, "last_updated").is_some(), "{name}");
        }
        assert!(str_field(&manifest_entry(&coll, "helper", "agent"), "last_updated").is_none());
        sb.run(&["verify"]).ok();
        // With nothing new, an update is "up to date" and writes nothing.
        let before = tree(&coll);
        sb.run(&["update", "my-skill", "--strategy", strategy])
            .ok()
            .stdout_has("skill my-skill: up to date");
        assert_same_tree(&before, &tree(&coll), "up-to-date update");
    }
}

/// A three-artifact collection with changed sources and a local edit to `review`.
fn modified_fixture() -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    append(&coll.join("commands/review.md"), "my local edit\n");
    (sb, coll)
}

#[test]
fn update_upstream_overwrites_local_modifications() {
    let (sb, coll) = modified_fixture();
    append(&coll.join("skills/my-skill/docs/notes.txt"), "local\n");
    sb.run(&["update", "--all", "--strategy", "upstream"])
        .ok()
        .stdout_has("command review: updated (local modifications overwritten)")
        .stdout_has("skill my-skill: updated (local modifications overwritten)")
        .stdout_has("agent helper: updated (content")
        .stdout_has("3 artifacts updated in one transaction");
    assert_eq!(
        read(&coll.join("commands/review.md")),
        read(&sb.src.join("review.md"))
    );
    assert_same_tree(
        &tree(&sb.src.join("my-skill")),
        &tree(&coll.join("skills/my-skill")),
        "skill overwritten",
    );
    sb.run(&["verify"]).ok();
}

#[test]
fn update_local_keeps_local_modifications() {
    let (sb, coll) = modified_fixture();
    let mine = read(&coll.join("commands/review.md"));
    let lock_before = lock_entry(&coll, "review", "command").unwrap();

    // Only the modified artifact: nothing at all is written.
    let before = tree(&coll);
    sb.run(&["update", "review", "--strategy", "local"])
        .ok()
        .stdout_has("command review: kept local modifications (not updated)");
    assert_same_tree(
        &before,
        &tree(&coll),
        "update --strategy local of a modified artifact",
    );

    let v = sb
        .run(&["--json", "update", "--all", "--strategy", "local"])
        .ok()
        .json();
    let ups = v["updates"].as_array().unwrap();
    let by = |n: &str| ups.iter().find(|u| u["name"] == n).unwrap();
    assert_eq!(by("review")["action"], "kept-local");
    assert_eq!(by("review")["locally_modified"], true);
    assert_eq!(by("my-skill")["action"], "updated");
    assert_eq!(by("helper")["action"], "updated");
    assert_eq!(read(&coll.join("commands/review.md")), mine);
    assert_eq!(lock_entry(&coll, "review", "command").unwrap(), lock_before);
    assert_eq!(
        read(&coll.join("agents/helper.md")),
        read(&sb.src.join("helper.md"))
    );
    sb.run(&["verify"])
        .code(1)
        .stdout_has("modified  review::command");
}

#[test]
fn update_prompt_without_a_terminal_refuses_and_changes_nothing() {
    let (sb, coll) = modified_fixture();
    let before = tree(&coll);
    // The default strategy (config.toml says "prompt"), then explicitly.
    for args in [
        &["update", "--all"][..],
        &["update", "review", "my-skill", "--strategy", "prompt"][..],
    ] {
        let r = sb.run(args);
        r.code(1)
            .stderr_has("local modifications in command review")
            .stderr_has("--strategy upstream")
            .stderr_has("--strategy local")
            .stderr_has("no terminal")
            .nothing_changed();
        assert_eq!(r.stdout, "");
        assert_same_tree(&before, &tree(&coll), &r.what);
    }
    insta::assert_snapshot!(sb.run(&["update", "review"]).stderr, @r"
    error: local modifications in command review; choose --strategy upstream (overwrite them) or --strategy local (keep them): there is no terminal to ask
    Nothing was changed.
    ");
    let r = sb.run(&["--json", "update", "--all"]);
    r.code(1);
    let e = r.json_err();
    assert_eq!(e["exit_code"], 1);
    assert_eq!(e["changed"], "no");
    assert!(e["error"].as_str().unwrap().contains("--strategy local"));
    assert_same_tree(&before, &tree(&coll), "update --json");
}

#[test]
fn update_strategy_defaults_to_config_and_the_flag_wins() {
    let (sb, coll) = modified_fixture();
    let cfg = sb.home.join("config.toml");
    let text = read(&cfg);
    assert!(text.contains("update-strategy = \"prompt\""), "{text}");
    fs::write(
        &cfg,
        text.replace(
            "update-strategy = \"prompt\"",
            "update-strategy = \"local\"",
        ),
    )
    .unwrap();
    let mine = read(&coll.join("commands/review.md"));
    sb.run(&["update", "review"])
        .ok()
        .stdout_has("kept local modifications");
    assert_eq!(read(&coll.join("commands/review.md")), mine);

    fs::write(
        &cfg,
        text.replace(
            "update-strategy = \"prompt\"",
            "update-strategy = \"upstream\"",
        ),
    )
    .unwrap();
    sb.run(&["update", "review", "--strategy", "local"])
        .ok()
        .stdout_has("kept local modifications");
    sb.run(&["update", "review"])
        .ok()
        .stdout_has("updated (local modifications overwritten)");
    assert_eq!(
        read(&coll.join("commands/review.md")),
        read(&sb.src.join("review.md"))
    );
}

#[test]
fn update_prompt_asks_on_a_terminal() {
    if !have("script") {
        eprintln!(
            "skipped: `script` (util-linux) is not installed, no pseudo-terminal to test with"
        );
        return;
    }
    for (answer, expect) in [
        ("n\n", "kept local modifications (not updated)"),
        ("y\n", "updated (local modifications overwritten)"),
    ] {
        let (sb, coll) = modified_fixture();
        let mine = read(&coll.join("commands/review.md"));
        let mut c = sb.std_cmd("script");
        c.args([
            "-qec",
            // No echo of the typed answer: it is written before the question is asked, and
            // its echo would land anywhere in the output.
            &format!("stty -echo; {BIN} update review --strategy prompt"),
            "/dev/null",
        ]);
        let out = assert_cmd::Command::from_std(c)
            .write_stdin(answer)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(
            stdout.contains(
                "command review has local modifications. Overwrite them with the upstream version? [y/N]"
            ),
            "{stdout}"
        );
        assert!(stdout.contains(expect), "{stdout}");
        let now = read(&coll.join("commands/review.md"));
        if answer.starts_with('y') {
            assert_eq!(now, read(&sb.src.join("review.md")));
        } else {
            assert_eq!(now, mine);
        }
    }
}

#[test]
fn update_by_type_by_name_and_unknown_names() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let before = tree(&coll);
    sb.run(&["update", "nope", "--strategy", "upstream"])
        .code(1)
        .stderr_has("no artifact named \"nope\"")
        .stderr_has("skillwal list")
        .nothing_changed();
    sb.run(&["update", "review", "nope", "--strategy", "upstream"])
        .code(1)
        .nothing_changed();
    sb.run(&["update", "review", "--type", "skill"])
        .code(1)
        .stderr_has("no artifact named \"review\" of type skill");
    assert_same_tree(&before, &tree(&coll), "failed updates");

    sb.run(&[
        "update",
        "--all",
        "--type",
        "command",
        "--strategy",
        "upstream",
    ])
    .ok()
    .stdout_has("command review: updated")
    .stdout_lacks("my-skill")
    .stdout_lacks("helper");
    // The same name for a skill and a command needs --type.
    let dup = sb.file_source("my-skill.md", "a command");
    sb.run(&["add", "command", s(&dup)]).ok();
    sb.run(&["update", "my-skill", "--strategy", "upstream"])
        .code(1)
        .stderr_has("\"my-skill\" names more than one artifact")
        .stderr_has("add --type");
    sb.run(&[
        "update",
        "my-skill",
        "--type",
        "skill",
        "--strategy",
        "upstream",
    ])
    .ok()
    .stdout_has("skill my-skill: updated");
}

#[test]
fn update_whose_source_is_gone_changes_nothing() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    fs::remove_file(sb.src.join("helper.md")).unwrap();
    let before = tree(&coll);
    // Named artifacts: all or nothing (`update --all` updates the others: python_sources.rs).
    sb.run(&[
        "update",
        "my-skill",
        "review",
        "helper",
        "--strategy",
        "upstream",
    ])
    .code(1)
    .stderr_has("fetching agent helper failed; nothing was changed")
    .stderr_has(s(&sb.src.join("helper.md")))
    .stderr_has("does not exist");
    assert_same_tree(&before, &tree(&coll), "update with a missing source");
}

// ---------------------------------------------------------------------------------------
// remove, list, show, status, verify
// ---------------------------------------------------------------------------------------

#[test]
fn remove_with_and_without_keep_files() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.run(&["remove", "review"])
        .ok()
        .stdout_has("Removed command review");
    assert!(!coll.join("commands/review.md").exists());
    assert!(lock_entry(&coll, "review", "command").is_none());
    let manifest = read(&coll.join("collection.toml"));
    assert!(!manifest.contains("name = \"review\""), "{manifest}");
    sb.run(&["verify"]).ok().stdout_has("All 2 artifacts match");

    let files = tree(&coll.join("skills/my-skill"));
    sb.run(&["remove", "my-skill", "--keep-files"])
        .ok()
        .stdout_has("Removed skill my-skill from the manifest and lock (files kept)");
    assert_same_tree(&files, &tree(&coll.join("skills/my-skill")), "--keep-files");
    assert!(lock_entry(&coll, "my-skill", "skill").is_none());
    sb.run(&["verify"])
        .code(1)
        .stdout_has("extra     skills/my-skill");

    let v = sb.run(&["--json", "remove", "helper"]).ok().json();
    assert_eq!(v["removed"]["name"], "helper");
    assert_eq!(v["removed"]["type"], "agent");
    assert_eq!(v["removed"]["files_kept"], false);
    assert!(!coll.join("agents/helper.md").exists());

    let before = tree(&coll);
    sb.run(&["remove", "nope"])
        .code(1)
        .stderr_has("no artifact named \"nope\"")
        .nothing_changed();
    assert_same_tree(&before, &tree(&coll), "remove of an unknown name");

    // Same name, two types.
    let skill = sb.skill_source("dup", "s");
    let cmd = sb.file_source("dup.md", "c");
    sb.run(&["add", "skill", s(&skill)]).ok();
    sb.run(&["add", "command", s(&cmd)]).ok();
    let before = tree(&coll);
    sb.run(&["remove", "dup"])
        .code(1)
        .stderr_has("add --type")
        .nothing_changed();
    assert_same_tree(&before, &tree(&coll), "ambiguous remove");
    sb.run(&["remove", "dup", "--type", "command"]).ok();
    assert!(coll.join("skills/dup/SKILL.md").is_file());
    assert!(!coll.join("commands/dup.md").exists());
}

#[test]
fn list_show_status_verify_in_text_and_json() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    sb.run(&["list"])
        .ok()
        .stdout_has("Collection default is empty");
    sb.run(&["status"])
        .ok()
        .stdout_has("Collection default is empty");
    sb.run(&["verify"])
        .ok()
        .stdout_has("All 0 artifacts match the lock");
    let coll = sb.three_artifacts_added();

    insta::assert_snapshot!(sb.run(&["list"]).ok().stdout, @r"
    NAME      TYPE     ORIGIN       VERSION  REF
    my-skill  skill    local        -        -
    review    command  local        -        -
    helper    agent    local        -        -
    ");
    let v = sb.run(&["--json", "list"]).ok().json();
    assert_eq!(v["collection"], "default");
    assert_eq!(v["path"].as_str(), Some(s(&coll)));
    let arts = v["artifacts"].as_array().unwrap();
    let names: Vec<&str> = arts.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["my-skill", "review", "helper"]);
    for a in arts {
        assert_eq!(a["origin"], "local");
        let ty = a["type"].as_str().unwrap();
        let name = a["name"].as_str().unwrap();
        let lock = lock_entry(&coll, name, ty).unwrap();
        assert_eq!(a["content_hash"].as_str(), str_field(&lock, "content_hash"));
    }

    let hash = skillmeat_hash(&coll.join("skills/my-skill"));
    sb.run(&["show", "my-skill"])
        .ok()
        .stdout_has("skill my-skill\n")
        .stdout_has("  origin            local\n")
        .stdout_has(&format!("  lock.content_hash {hash}\n"))
        .stdout_has("  tags              testing, cli\n")
        .stdout_has("  files             ok\n");
    let v = sb.run(&["--json", "show", "my-skill"]).ok().json();
    assert_eq!(v["name"], "my-skill");
    assert_eq!(v["type"], "skill");
    assert_eq!(v["path"].as_str(), Some(s(&coll.join("skills/my-skill"))));
    assert_eq!(v["origin"], "local");
    assert_eq!(v["tags"], serde_json::json!(["testing", "cli"]));
    assert_eq!(v["metadata"]["description"], "The my-skill skill");
    assert_eq!(
        v["skillwal"]["skillwal_source"].as_str(),
        Some(s(&sb.src.join("my-skill")))
    );
    assert_eq!(v["lock"]["content_hash"].as_str(), Some(hash.as_str()));
    assert_eq!(v["disk_hash"].as_str(), Some(hash.as_str()));
    assert_eq!(v["files"], "ok");
    sb.run(&["show", "nope"])
        .code(1)
        .stderr_has("no artifact named \"nope\"");

    sb.run(&["status"])
        .ok()
        .stdout_has("skill   my-skill: ok\n")
        .stdout_has("command review: ok\n")
        .stdout_has("agent   helper: ok\n");
    let v = sb.run(&["--json", "status"]).ok().json();
    for a in v["artifacts"].as_array().unwrap() {
        assert_eq!(a["state"], "ok", "{a}");
        assert_eq!(a["update_available"], false, "{a}");
    }

    // Sources change, one local edit, one file deleted, one stray directory.
    sb.change_sources("v2");
    append(&coll.join("commands/review.md"), "mine\n");
    fs::remove_file(coll.join("agents/helper.md")).unwrap();
    write(&coll.join("skills/stray/SKILL.md"), "stray\n");
    sb.run(&["status"])
        .ok()
        .stdout_has("skill   my-skill: ok, update available\n")
        .stdout_has("command review: modified, update available\n")
        .stdout_has("agent   helper: missing");
    let v = sb.run(&["--json", "status"]).ok().json();
    let st: Vec<(String, String)> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        st,
        [
            ("my-skill".to_string(), "ok".to_string()),
            ("review".to_string(), "modified".to_string()),
            ("helper".to_string(), "missing".to_string())
        ]
    );
    assert_eq!(v["artifacts"][0]["update_available"], true);

    insta::assert_snapshot!(sb.run(&["verify"]).code(1).stdout, @r"
    modified  review::command
              the files' content differs from the lock
    missing   helper::agent
    extra     skills/stray
    1 of 3 artifacts match the lock; 3 problem(s)
    ");
    let r = sb.run(&["--json", "verify"]);
    let v = r.code(1).json();
    assert_eq!(v["clean"], false);
    assert_eq!(v["report"]["checked"], 3);
    assert_eq!(v["report"]["ok"], serde_json::json!(["my-skill::skill"]));
    assert_eq!(
        v["report"]["modified"],
        serde_json::json!(["review::command"])
    );
    assert_eq!(v["report"]["missing"], serde_json::json!(["helper::agent"]));
    assert_eq!(v["report"]["extra"], serde_json::json!(["skills/stray"]));
    let v = sb.run(&["--json", "show", "review"]).ok().json();
    assert_eq!(v["files"], "modified");
    let v = sb.run(&["--json", "show", "helper"]).ok().json();
    assert_eq!(v["files"], "missing");
    assert!(v["disk_hash"].is_null());
}

#[test]
fn home_collection_name_and_collection_dir_select_the_collection() {
    let sb = Sandbox::new();
    // SKILLWAL_HOME (the sandbox sets it for every command).
    sb.run(&["init"]).ok();
    let cmd = sb.file_source("review.md", "x");
    sb.run(&["add", "command", s(&cmd)]).ok();

    // --home wins over SKILLWAL_HOME.
    let other = sb.root.join("other-home");
    sb.run(&["--home", s(&other), "init"])
        .ok()
        .stdout_has(s(&other.join("collections/default")));
    sb.run(&["--home", s(&other), "list"])
        .ok()
        .stdout_has("Collection default is empty");
    sb.run(&["list"]).ok().stdout_has("review");

    // Without SKILLWAL_HOME (unset or empty): $HOME/.skillmeat.
    let dot = sb.user_home.join(".skillmeat");
    let mut c = sb.cmd();
    c.env_remove("SKILLWAL_HOME").args(["init"]);
    c.assert().success().stdout(predicate::str::contains(
        s(&dot.join("collections/default")),
    ));
    assert!(dot.join("config.toml").is_file());
    let mut c = sb.cmd();
    c.env("SKILLWAL_HOME", "").args(["list"]);
    c.assert().success().stdout(predicate::str::contains(
        s(&dot.join("collections/default")),
    ));

    // -c NAME.
    sb.run(&["-c", "work", "init"]).ok();
    sb.run(&[
        "-c",
        "work",
        "add",
        "command",
        s(&cmd),
        "--name",
        "only-in-work",
    ])
    .ok();
    sb.run(&["-c", "work", "list"])
        .ok()
        .stdout_has("only-in-work");
    assert!(!sb.run(&["list"]).ok().stdout.contains("only-in-work"));
    sb.run(&["--collection", "work", "show", "only-in-work"])
        .ok();
    sb.run(&["-c", "nowhere", "list"])
        .code(1)
        .stderr_has(s(&sb.home.join("collections/nowhere")))
        .stderr_has("skillwal init")
        .nothing_changed();
    assert!(!sb.home.join("collections/nowhere").exists());

    // default-collection in config.toml.
    let cfg = sb.home.join("config.toml");
    fs::write(
        &cfg,
        read(&cfg).replace(
            "default-collection = \"default\"",
            "default-collection = \"work\"",
        ),
    )
    .unwrap();
    sb.run(&["list"]).ok().stdout_has("only-in-work");

    // --collection-dir, absolute and relative.
    let dir = sb.home.join("collections/default");
    sb.run(&["--collection-dir", s(&dir), "list"])
        .ok()
        .stdout_has("review");
    sb.run(&["--collection-dir", "./home/collections/default", "list"])
        .ok()
        .stdout_has("review");
    let v = sb
        .run(&[
            "--json",
            "--collection-dir",
            s(&sb.root.join("loose")),
            "init",
        ])
        .ok()
        .json();
    assert_eq!(v["collection"], "loose");
    assert!(
        v["config"].is_null(),
        "--collection-dir leaves config.toml alone"
    );
    sb.run(&[
        "--collection-dir",
        s(&sb.root.join("loose")),
        "add",
        "command",
        s(&cmd),
    ])
    .ok();
    sb.run(&["--collection-dir", s(&sb.root.join("loose")), "verify"])
        .ok();
}

#[test]
fn exec_bit_survives_add_and_update() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let script = coll.join("skills/my-skill/scripts/run.sh");
    assert_eq!(mode(&script), 0o755);
    append(&sb.src.join("my-skill/scripts/run.sh"), "echo v2\n");
    write(&sb.src.join("my-skill/scripts/new.sh"), "#!/bin/sh\n");
    chmod(&sb.src.join("my-skill/scripts/new.sh"), 0o750);
    sb.run(&["update", "my-skill"]).ok().stdout_has("updated");
    assert_eq!(mode(&script), 0o755);
    assert_eq!(mode(&coll.join("skills/my-skill/scripts/new.sh")), 0o750);
    assert!(read(&script).ends_with("echo v2\n"));
}

#[test]
fn demo_runs_offline_and_cleans_up() {
    let sb = Sandbox::new();
    let r = sb.run(&["demo"]);
    r.ok()
        .stdout_has("[killed by SIGKILL]")
        .stdout_has("files, manifest and lock agree");
    let left: Vec<_> = fs::read_dir(sb.root.join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "demo left {left:?} in TMPDIR");
}

// ---------------------------------------------------------------------------------------
// Bad inputs: one clear message, non-zero exit, the collection byte-identical
// ---------------------------------------------------------------------------------------

/// Runs `args` expecting a failure with `code` whose stderr holds every fragment and says
/// nothing was changed, and checks that the collection (and config.toml) did not change.
#[track_caller]
fn refused(sb: &Sandbox, coll: &Path, args: &[&str], code: i32, fragments: &[&str]) -> Run {
    refused_env(sb, coll, &[], args, code, fragments)
}

#[track_caller]
fn refused_env(
    sb: &Sandbox,
    coll: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    code: i32,
    fragments: &[&str],
) -> Run {
    let before = tree(coll);
    let cfg = sb.home.join("config.toml");
    let cfg_before = fs::read(&cfg).ok();
    let r = sb.run_env(env, args);
    r.code(code).nothing_changed();
    for f in fragments {
        r.stderr_has(f);
    }
    assert_eq!(
        r.stdout, "",
        "no output on stdout for a failure: {}",
        r.what
    );
    assert_same_tree(&before, &tree(coll), &r.what);
    assert_eq!(
        fs::read(&cfg).ok(),
        cfg_before,
        "config.toml changed: {}",
        r.what
    );
    r
}

/// The line and column (1-based) of the first occurrence of `needle` in `text`, plus
/// `offset` characters.
fn line_col(text: &str, needle: &str, offset: usize) -> String {
    let at = text.find(needle).expect("needle");
    let line = text[..at].matches('\n').count() + 1;
    let col = text[..at].rfind('\n').map_or(at, |nl| at - nl - 1) + 1 + offset;
    format!("{line}:{col}")
}

#[test]
fn invalid_toml_in_manifest_lock_or_config_names_line_and_column() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let extra = sb.file_source("extra.md", "extra");
    let commands: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["status"],
        vec!["verify"],
        vec!["show", "review"],
        vec!["add", "command", s(&extra)],
        vec!["update", "--all", "--strategy", "upstream"],
        vec!["remove", "review"],
    ];

    let manifest = coll.join("collection.toml");
    let lock = coll.join("collection.lock");
    let cfg = sb.home.join("config.toml");
    let cases = [
        (&manifest, "name = \"review\"", "name = \"review\" = 2", 16),
        (&lock, "version = \"1.0.0\"", "version = \"1.0.0", 16),
        (
            &cfg,
            "update-strategy = \"prompt\"",
            "update-strategy = prompt",
            18,
        ),
    ];
    for (path, good, bad, col_offset) in cases {
        let original = read(path);
        assert!(original.contains(good), "{good} not in {}", path.display());
        let broken = original.replacen(good, bad, 1);
        fs::write(path, &broken).unwrap();
        let at = format!("{}:{}", path.display(), line_col(&broken, bad, col_offset));
        for args in &commands {
            refused(&sb, &coll, args, 1, &[&at, "TOML syntax error"]);
        }
        let r = sb.run(&["--json", "list"]);
        let e = r.code(1).json_err();
        assert!(e["error"].as_str().unwrap().contains(&at), "{e}");
        assert_eq!(e["changed"], "no");
        fs::write(path, original).unwrap();
    }
    // A broken config also stops init from another collection.
    let original = read(&cfg);
    fs::write(&cfg, "[settings\n").unwrap();
    refused(
        &sb,
        &coll,
        &["init", "--name", "other"],
        1,
        &["config.toml:1:10"],
    );
    assert!(!sb.home.join("collections/other").exists());
    fs::write(&cfg, original).unwrap();
    sb.run(&["verify"]).ok();
}

#[test]
fn missing_artifact_files_verify_reports_them_and_update_refuses() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    fs::remove_dir_all(coll.join("skills/my-skill")).unwrap();

    sb.run(&["verify"])
        .code(1)
        .stdout_has("missing   my-skill::skill")
        .stdout_has("2 of 3 artifacts match the lock; 1 problem(s)");
    let v = sb.run(&["--json", "verify"]).code(1).json();
    assert_eq!(v["clean"], false);
    assert_eq!(
        v["report"]["missing"],
        serde_json::json!(["my-skill::skill"])
    );
    sb.run(&["status"])
        .ok()
        .stdout_has("skill   my-skill: missing");

    let path = coll.join("skills/my-skill");
    let fragments = [
        "the files of skill my-skill are missing",
        s(&path),
        "restore them, or `skillwal remove my-skill`",
    ];
    refused(
        &sb,
        &coll,
        &["update", "my-skill", "--strategy", "local"],
        1,
        &fragments,
    );
    refused(
        &sb,
        &coll,
        &["update", "--all", "--strategy", "local"],
        1,
        &fragments,
    );
    let r = sb.run(&["--json", "update", "my-skill", "--strategy", "local"]);
    assert_eq!(r.code(1).json_err()["changed"], "no");

    // What the message suggests works.
    sb.run(&["remove", "my-skill"]).ok();
    sb.run(&["verify"]).ok();
}

#[test]
fn invalid_artifact_names_are_refused() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let skill = sb.skill_source("fine", "x");
    let cmd = sb.file_source("fine.md", "x");
    let collections = tree(&sb.home.join("collections"));
    let cases = [
        ("", "name is empty"),
        ("a/b", "path separator '/'"),
        ("../evil", "path separator '/'"),
        ("a\\b", "path separator '\\'"),
        ("..", "'..'"),
        ("a..b", "'..'"),
        (".hidden", "starts with '.'"),
    ];
    for (name, reason) in cases {
        for (ty, src) in [("skill", &skill), ("command", &cmd), ("agent", &cmd)] {
            let quoted = format!("invalid artifact name {name:?}");
            refused(
                &sb,
                &coll,
                &["add", ty, s(src), "--name", name],
                1,
                &[&quoted, reason],
            );
        }
    }
    // A name taken from the source is checked too.
    let hidden = sb.skill_source(".hidden-skill", "x");
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&hidden)],
        1,
        &["invalid artifact name \".hidden-skill\"", "starts with '.'"],
    );
    let r = sb.run(&["--json", "add", "skill", s(&skill), "--name", "a/b"]);
    assert_eq!(r.code(1).json_err()["changed"], "no");
    assert_same_tree(
        &collections,
        &tree(&sb.home.join("collections")),
        "nothing appears beside the collection",
    );
}

#[test]
fn bad_local_source_paths_are_refused() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let missing = sb.src.join("does-not-exist");
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&missing)],
        1,
        &[s(&missing), "does not exist", "check the path"],
    );
    refused(
        &sb,
        &coll,
        &["add", "command", "./src/nope.md"],
        1,
        &["./src/nope.md", "does not exist"],
    );

    // A link inside the skill leading outside it.
    let outside = sb.root.join("secret.txt");
    write(&outside, "secret\n");
    let leaky = sb.skill_source("leaky", "x");
    std::os::unix::fs::symlink(&outside, leaky.join("docs/secret.txt")).unwrap();
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&leaky)],
        1,
        &[
            &format!("symbolic link {}", leaky.join("docs/secret.txt").display()),
            s(&outside),
            "an absolute path",
            "replace the link",
        ],
    );
    // A dangling link.
    let dangling = sb.skill_source("dangling", "x");
    std::os::unix::fs::symlink("nowhere.txt", dangling.join("gone.txt")).unwrap();
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&dangling)],
        1,
        &["symbolic link", "gone.txt", "nothing (it dangles)"],
    );
    // A link to a directory inside the skill is part of it: copied as the link it is.
    let dirlink = sb.skill_source("dirlink", "x");
    std::os::unix::fs::symlink("docs", dirlink.join("docs2")).unwrap();
    sb.run(&["add", "skill", s(&dirlink)]).ok();
    assert_eq!(
        fs::read_link(coll.join("skills/dirlink/docs2")).unwrap(),
        Path::new("docs")
    );
    sb.run(&["remove", "dirlink"]).ok();

    // The wrong kind.
    let file = sb.src.join("review.md");
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&file), "--name", "x"],
        1,
        &[
            "a skill must be a directory containing SKILL.md",
            s(&file),
            "is a file",
            "point to a directory",
        ],
    );
    let dir = sb.src.join("my-skill");
    refused(
        &sb,
        &coll,
        &["add", "command", s(&dir), "--name", "x"],
        1,
        &[
            "a command must be a single .md file",
            s(&dir),
            "is a directory",
        ],
    );
    refused(
        &sb,
        &coll,
        &["add", "agent", s(&dir), "--name", "x"],
        1,
        &["agent must be a single .md file", s(&dir)],
    );
    let txt = sb.src.join("notes.txt");
    write(&txt, "x");
    refused(
        &sb,
        &coll,
        &["add", "command", s(&txt)],
        1,
        &["must be a .md file", s(&txt)],
    );
    let no_manifest = sb.src.join("no-manifest");
    write(&no_manifest.join("README.md"), "x");
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&no_manifest)],
        1,
        &["has no SKILL.md", s(&no_manifest), "add SKILL.md"],
    );
    let lower = sb.src.join("lower");
    write(&lower.join("skill.md"), "x");
    refused(
        &sb,
        &coll,
        &["add", "skill", s(&lower)],
        1,
        &["rename it to SKILL.md"],
    );
}

#[test]
fn bad_git_sources_and_refs_that_do_not_resolve_are_refused() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let repo = make_repo(&sb, &sb.root.join("repos/tools"));
    let url = s(&repo.dir).to_string();
    // Links leading out of the checkout.
    std::os::unix::fs::symlink("/etc", repo.dir.join("etc-link")).unwrap();
    write(&repo.dir.join("skills/leak/SKILL.md"), "leak\n");
    std::os::unix::fs::symlink("/etc/hostname", repo.dir.join("skills/leak/host")).unwrap();
    sb.git_commit(&repo.dir, "links");

    let add_skill = |path: &str, reference: Option<&str>| {
        let mut v = vec![
            "add",
            "skill",
            "--git",
            url.as_str(),
            "--path",
            path,
            "--name",
            "g",
        ];
        if let Some(r) = reference {
            v.extend(["--ref", r]);
        }
        v.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    for reference in ["nope", "0123456789abcdef0123456789abcdef01234567"] {
        let args = add_skill("skills/gs", Some(reference));
        refused(
            &sb,
            &coll,
            &as_refs(&args),
            1,
            &[
                &format!("reference {reference:?} does not name a commit in {url}"),
                "use an existing branch, tag or commit",
            ],
        );
    }
    let args = add_skill("skills/nope", None);
    refused(
        &sb,
        &coll,
        &as_refs(&args),
        1,
        &[
            "path \"skills/nope\" does not exist in",
            &repo.dir.display().to_string(),
            "check the path",
        ],
    );
    let args = add_skill("../outside", None);
    refused(&sb, &coll, &as_refs(&args), 1, &["is invalid", "'..'"]);
    let args = add_skill("etc-link", None);
    refused(&sb, &coll, &as_refs(&args), 1, &["etc-link", "outside"]);
    let args = add_skill("skills/leak", None);
    refused(
        &sb,
        &coll,
        &as_refs(&args),
        1,
        &[
            "symbolic link",
            "skills/leak/host",
            "a relative target inside it",
        ],
    );
    let args = add_skill("commands/gcmd.md", None);
    refused(
        &sb,
        &coll,
        &as_refs(&args),
        1,
        &["a skill must be a directory"],
    );
    let nowhere = sb.root.join("no-repo");
    refused(
        &sb,
        &coll,
        &["add", "skill", "--git", s(&nowhere)],
        1,
        &["git could not clone the repository for", s(&nowhere)],
    );

    // A branch that disappears after the add: the update fetches first and changes nothing.
    sb.git(&repo.dir, &["branch", "feature", &repo.main]);
    let args = add_skill("skills/gs", Some("feature"));
    sb.run(&as_refs(&args)).ok();
    sb.git(&repo.dir, &["branch", "-D", "feature"]);
    sb.change_sources("v2");
    refused(
        &sb,
        &coll,
        &["update", "g", "my-skill", "--strategy", "upstream"],
        1,
        &[
            "fetching skill g failed; nothing was changed",
            "reference \"feature\" does not name a commit",
        ],
    );
}

/// Holds `.skillwal/lock` of `coll` the way another skillwal process would: an exclusive
/// `flock` on its own open file description, with `pid 12345` written into it.
fn hold_lock(coll: &Path) -> fs::File {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(state_dir(coll).join("lock"))
        .expect("open the lock file");
    f.write_all(b"pid 12345\n").unwrap();
    f.lock().expect("take the lock");
    f
}

#[test]
fn locked_collection_with_no_wait_exits_3_naming_the_pid() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let extra = sb.file_source("extra.md", "x");
    let lock = hold_lock(&coll);
    let expect = format!(
        "{} is locked by another skillwal process (pid 12345)",
        coll.display()
    );
    for args in [
        &["--no-wait", "list"][..],
        &["--no-wait", "status"],
        &["--no-wait", "verify"],
        &["--no-wait", "show", "review"],
        &["--no-wait", "add", "command", s(&extra)],
        &["--no-wait", "update", "--all", "--strategy", "upstream"],
        &["--no-wait", "remove", "review"],
        &["--no-wait", "recover"],
    ] {
        refused(&sb, &coll, args, 3, &[&expect]);
    }
    let r = sb.run(&["--json", "--no-wait", "remove", "review"]);
    let e = r.code(3).json_err();
    assert_eq!(e["exit_code"], 3);
    assert!(e["error"].as_str().unwrap().contains("pid 12345"));
    // Reading the journal takes no lock.
    sb.run(&["recover", "--dry-run"])
        .ok()
        .stdout_has("Nothing to recover");
    sb.run(&["journal", "verify"]).ok();
    drop(lock);
    sb.run(&["--no-wait", "remove", "review"]).ok();
}

#[test]
fn locked_collection_without_no_wait_waits_then_proceeds() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let lock = hold_lock(&coll);
    let mut child = sb
        .std_cmd(BIN)
        .args(["remove", "review"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a waiting message on stderr");
    assert_eq!(
        first,
        format!(
            "skillwal: {} is in use by another skillwal process (pid 12345); waiting for it (--no-wait fails at once instead)",
            coll.display()
        )
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "it must wait");
    assert!(
        coll.join("commands/review.md").exists(),
        "nothing before the lock is free"
    );
    drop(lock);
    let out = child.wait_with_output().unwrap();
    let all_err = reader.join().unwrap();
    assert!(out.status.success(), "{all_err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Removed command review"));
    assert_eq!(all_err.lines().count(), 1, "{all_err}");
    assert!(!coll.join("commands/review.md").exists());
}

#[test]
fn read_only_collection() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let extra = sb.file_source("extra.md", "x");
    let erofs = [("SKILLWAL_FAIL_AT", "1:EROFS")];
    let journal = state_dir(&coll).join("journal");
    for args in [
        &["add", "command", s(&extra)][..],
        &["update", "--all", "--strategy", "upstream"],
        &["remove", "review"],
        &["remove", "my-skill", "--keep-files"],
    ] {
        refused_env(
            &sb,
            &coll,
            &erofs,
            args,
            1,
            &["Read-only file system", s(&journal)],
        );
    }
    // Reading needs no write.
    for args in [
        &["list"][..],
        &["status"],
        &["verify"],
        &["show", "review"],
        &["journal", "verify"],
        &["recover", "--dry-run"],
    ] {
        sb.run_env(&erofs, args).ok();
    }
    // A new collection on a read-only file system.
    let fresh = sb.root.join("fresh");
    let r = sb.run_env(&erofs, &["--collection-dir", s(&fresh), "init"]);
    r.code(1)
        .stderr_has("Read-only file system")
        .nothing_changed();
    assert!(!fresh.join("collection.toml").exists());
    // The next plain command works.
    sb.run(&UPDATE_ALL).ok().stdout_has("3 artifacts updated");

    if running_as_root() {
        eprintln!(
            "read_only_collection: skipped the `chmod -R a-w` part: running as root (uid 0), for whom permissions do not make a directory read-only"
        );
        return;
    }
    let chmod_r = |spec: &str| {
        let ok = std::process::Command::new("chmod")
            .args(["-R", spec, s(&coll)])
            .status()
            .unwrap()
            .success();
        assert!(ok, "chmod -R {spec}");
    };
    chmod_r("a-w");
    let before = tree(&coll);
    for args in [&["list"][..], &["status"], &["verify"], &["show", "review"]] {
        sb.run(args)
            .ok()
            .stderr_has("cannot be written; reading it without taking its lock");
    }
    let r = sb.run(&["remove", "review"]);
    r.code(1);
    let after = tree(&coll);
    chmod_r("u+w");
    assert_same_tree(&before, &after, "commands on a chmod -R a-w collection");
}

#[test]
fn disk_full_during_add_and_update_changes_nothing() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let extra = sb.skill_source("extra", "x");
    for (label, args) in [
        ("add", vec!["add", "skill", s(&extra)]),
        ("update", UPDATE_ALL.to_vec()),
    ] {
        if label == "update" {
            sb.change_sources("v2");
        }
        let before = tree(&coll);
        let mut refused_at = Vec::new();
        for n in 1.. {
            assert!(n < 300, "{label}: never reached the commit point");
            let spec = format!("{n}:ENOSPC");
            let r = sb.run_env(&[("SKILLWAL_FAIL_AT", &spec)], &args);
            r.code(1).stderr_has("No space left");
            if r.stderr.contains("may have been applied") {
                // Past the commit point: no new space is needed, and the next command
                // completes the change.
                let next = sb.run(&["verify"]);
                next.ok();
                assert!(!tree_diff(&before, &tree(&coll)).is_empty());
                break;
            }
            r.nothing_changed();
            assert_same_tree(&before, &tree(&coll), &r.what);
            refused_at.push(n);
            // The next plain command works and finds nothing to recover.
            sb.run(&["verify"]).ok().stderr_lacks("recovered");
        }
        assert!(refused_at.len() >= 5, "{label}: {refused_at:?}");
    }
    sb.run(&["list"]).ok().stdout_has("extra");
    sb.run(&["verify"])
        .ok()
        .stdout_has("All 4 artifacts match the lock");
}

// ---------------------------------------------------------------------------------------
// Crashes, error injection, recovery, the journal
// ---------------------------------------------------------------------------------------

/// The staging operation a message names: `.../staging/<salt>-<op>...` → `op`.
fn staged_op(stderr: &str) -> Option<u32> {
    let at = stderr.find("/staging/")? + "/staging/".len();
    let rest = &stderr[at..];
    let dash = rest.find('-')?;
    let digits: String = rest[dash + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn multi_artifact_update_is_all_or_nothing_under_eio_at_every_call() {
    let fx = update_fixture();
    let sb = &fx.sb;
    let mut staged_ops = std::collections::BTreeSet::new();
    let mut last_artifact_file = None;
    let mut seen_maybe_applied = false;
    let mut n = 1;
    loop {
        assert!(n < 400, "the update never succeeded");
        let w = fx.copy("work");
        let spec = format!("{n}:EIO");
        let r = sb.run_in(&w, &[("SKILLWAL_FAIL_AT", &spec)], &UPDATE_ALL);
        if r.code == Some(0) {
            r.stdout_has("3 artifacts updated in one transaction");
            assert_eq!(fx.state(&w, &r.what), State::After);
            assert!(seen_maybe_applied);
            break;
        }
        r.code(1).stderr_has("Input/output error");
        if r.stderr.contains("may have been applied") {
            seen_maybe_applied = true;
            r.stderr_has(&format!("the next open of {} completes it", w.display()));
            let next = sb.run_in(&w, &[], &["verify"]);
            next.ok();
            assert!(next.recovered_lines().len() <= 1, "{}", next.stderr);
            assert_eq!(
                fx.state(&w, &format!("after {} and verify", r.what)),
                State::After,
                "a change reported as maybe applied must be completed"
            );
        } else {
            assert!(
                !seen_maybe_applied,
                "call {n}: an error after the commit point says nothing was changed"
            );
            r.nothing_changed();
            assert_eq!(fx.state(&w, &r.what), State::Before);
            if let Some(op) = staged_op(&r.stderr) {
                staged_ops.insert(op);
                // Operations are staged in order: skill tree, command, agent, manifest,
                // lock, then the store's objects and references (the automatic snapshot
                // and the bases, store-spec.md §5). The agent is the last artifact file.
                if op == 2 {
                    last_artifact_file = Some(n);
                }
            }
            sb.run_in(&w, &[], &["verify"]).ok();
            assert_eq!(fx.state(&w, "verify after the error"), State::Before);
        }
        n += 1;
    }
    assert!(
        (0..=4).all(|op| staged_ops.contains(&op)),
        "every staged file of the three artifacts, manifest and lock was failed: {staged_ops:?}"
    );
    assert!(
        staged_ops.iter().any(|op| *op > 4),
        "a staged store object was failed too: {staged_ops:?}"
    );
    let last = last_artifact_file.expect("a failure on the last artifact's file");
    eprintln!(
        "all-or-nothing: {} mutating calls, the last artifact file staged at call {last}",
        n - 1
    );
}

#[test]
fn sigkill_at_every_call_of_an_update_recovers_to_before_or_after() {
    let fx = update_fixture();
    let sb = &fx.sb;
    let mut outcomes = Vec::new();
    let mut n = 1;
    loop {
        assert!(n < 400, "the update was always killed");
        let w = fx.copy("work");
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &UPDATE_ALL);
        if r.code == Some(0) {
            assert_eq!(fx.state(&w, &r.what), State::After);
            break;
        }
        r.killed();
        let on_disk = tree(&w);
        let mixed = on_disk != fx.before && masked(&on_disk) != fx.after;
        let next_cmd = if n % 2 == 0 { "status" } else { "verify" };
        let next = sb.run_in(&w, &[], &[next_cmd]);
        next.ok();
        let lines = next.recovered_lines();
        assert!(lines.len() <= 1, "{}", next.stderr);
        if let Some(line) = lines.first() {
            assert_eq!(next.stderr.trim_end(), *line, "one line, nothing else");
            assert!(line.starts_with(&format!("skillwal: recovered {}: ", w.display())));
        }
        let line = lines.first().copied().unwrap_or("");
        let state = fx.state(&w, &format!("{} then {next_cmd}", r.what));
        if mixed {
            assert!(
                line.contains("rolled forward"),
                "kill at {n}: a half-applied update must be rolled forward, got {line:?}"
            );
        }
        if line.contains("rolled forward") {
            assert_eq!(state, State::After, "kill at {n}");
        }
        if line.contains("rolled back") {
            assert_eq!(state, State::Before, "kill at {n}");
            assert!(line.contains("never committed; the collection is as before it"));
        }
        if let Some((_, State::After, _)) = outcomes.last() {
            assert_eq!(
                state,
                State::After,
                "kill at {n}: after the commit point, always after"
            );
        }
        if next_cmd == "status" {
            sb.run_in(&w, &[], &["verify"]).ok();
        }
        outcomes.push((n, state, line.to_string()));
        n += 1;
    }
    let count =
        |pred: &dyn Fn(&(u64, State, String)) -> bool| outcomes.iter().filter(|o| pred(o)).count();
    // Only the first kill (the header write that begins the transaction, before any record)
    // and the last four (after the staging area is emptied, then the three calls that save
    // the stat cache once the transaction is over: store-spec.md §8) leave nothing to
    // recover; every other one is reported by the next command.
    let silent: Vec<u64> = outcomes
        .iter()
        .filter(|o| o.2.is_empty())
        .map(|o| o.0)
        .collect();
    let last = outcomes.last().map(|o| o.0).unwrap_or(0);
    assert!(
        silent.iter().all(|n| *n == 1 || *n + 3 >= last),
        "kills after which the next command printed no `skillwal: recovered` line: {silent:?} (of 1..={last})"
    );
    assert!(count(&|o| o.2.contains("rolled back")) > 0, "{outcomes:#?}");
    assert!(
        count(&|o| o.2.contains("rolled forward")) > 0,
        "{outcomes:#?}"
    );
    assert!(count(&|o| o.1 == State::Before) > 0);
    assert!(count(&|o| o.1 == State::After) > 0);
    eprintln!(
        "sigkill: {} kills; {} ended before, {} after; {} rolled back, {} rolled forward",
        outcomes.len(),
        count(&|o| o.1 == State::Before),
        count(&|o| o.1 == State::After),
        count(&|o| o.2.contains("rolled back")),
        count(&|o| o.2.contains("rolled forward")),
    );
}

/// Kills the update at the first call after which the journal holds a committed
/// transaction (nothing applied yet). Returns the killed copy and the call number.
fn kill_at_commit_point(fx: &UpdateFixture, name: &str) -> (PathBuf, u64) {
    for n in 1..400u64 {
        let w = fx.copy(name);
        let spec = n.to_string();
        let r = fx
            .sb
            .run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &UPDATE_ALL);
        r.killed();
        let plan = fx.sb.run_in(&w, &[], &["recover", "--dry-run"]);
        if plan.ok().stdout.contains("Would roll forward") {
            return (w, n);
        }
    }
    panic!("never killed past the commit point");
}

#[test]
fn recover_dry_run_then_recover_after_a_kill_past_the_commit_point() {
    let fx = update_fixture();
    let sb = &fx.sb;
    let (w, n) = kill_at_commit_point(&fx, "work");

    // One call earlier the transaction is not committed: it would be rolled back.
    let early = fx.copy("early");
    let spec = (n - 1).to_string();
    sb.run_in(&early, &[("SKILLWAL_CRASH_AFTER", &spec)], &UPDATE_ALL)
        .killed();
    let untouched = tree_all(&early);
    sb.run_in(&early, &[], &["recover", "--dry-run"])
        .ok()
        .stdout_has("Would roll back transaction 5")
        .stdout_has("the collection's files are untouched");
    assert_same_tree(
        &untouched,
        &tree_all(&early),
        "recover --dry-run (roll back)",
    );
    sb.run_in(&early, &[], &["recover"])
        .ok()
        .stdout_has("rolled back transaction 5");
    assert_eq!(fx.state(&early, "recover (roll back)"), State::Before);

    // Past the commit point.
    let untouched = tree_all(&w);
    let r = sb.run_in(&w, &[], &["recover", "--dry-run"]);
    // The collection's operations, then the store's (the bases and the operation log's
    // record, whose object names depend on the timestamps in the manifest).
    let (collection_ops, store_ops): (Vec<&str>, Vec<&str>) = r
        .ok()
        .stdout
        .lines()
        .skip(1)
        .partition(|l| !l.contains(" .skillwal/store"));
    insta::assert_snapshot!(format!("{}\n{}", r.stdout.lines().next().unwrap(), collection_ops.join("\n")), @r#"
    Would roll forward transaction 5 "update my-skill, review, helper":
      apply        put-tree     skills/my-skill
      apply        put-file     commands/review.md
      apply        put-file     agents/helper.md
      apply        put-file     collection.toml
      apply        put-file     collection.lock
    "#);
    assert!(
        store_ops
            .iter()
            .any(|l| l.contains(".skillwal/store/log/4"))
            && store_ops
                .iter()
                .any(|l| l.contains(".skillwal/store/bases/skill/my-skill/")),
        "{}",
        r.stdout
    );
    let total_ops = 5 + store_ops.len();
    assert_eq!(r.stderr, "");
    let v = sb
        .run_in(&w, &[], &["--json", "recover", "--dry-run"])
        .ok()
        .json();
    assert_eq!(v["dry_run"], true);
    let ops = v["plan"]["operations"].as_array().unwrap();
    assert_eq!(ops.len(), total_ops);
    assert!(ops.iter().all(|o| o["action"] == "redo"), "{v}");
    sb.run_in(&w, &[], &["journal", "verify"])
        .ok()
        .stdout_has("COMMITTED (will be rolled forward)")
        .stdout_has("Would roll forward transaction 5");
    let v = sb
        .run_in(&w, &[], &["--json", "journal", "verify"])
        .ok()
        .json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["journal"]["state"], "committed");
    assert_same_tree(
        &untouched,
        &tree_all(&w),
        "dry runs and journal verify change nothing",
    );
    assert_eq!(fx.state(&w, "killed at the commit point"), State::Before);

    let r = sb.run_in(&w, &[], &["recover"]);
    r.ok().stdout_has(&format!(
        "recovered {}: rolled forward transaction 5 \"update my-skill, review, helper\" ({total_ops} operations: {total_ops} redone, 0 repaired, 0 already in place)",
        w.display()
    ));
    assert_eq!(r.stderr, "");
    assert_eq!(fx.state(&w, "recover"), State::After);
    sb.run_in(&w, &[], &["recover"])
        .ok()
        .stdout_has("nothing to recover");
    let v = sb.run_in(&w, &[], &["--json", "recover"]).ok().json();
    assert_eq!(v["recovery"]["outcome"], "nothing");
    sb.run_in(&w, &[], &["recover", "--dry-run"])
        .ok()
        .stdout_has("Nothing to recover");
    sb.run_in(&w, &[], &["verify"]).ok();
    sb.run(&["--collection-dir", s(&sb.root.join("absent")), "recover"])
        .code(1)
        .stderr_has("does not exist");
}

#[test]
fn recovery_stops_on_a_conflict_and_discard_drops_the_journal() {
    let fx = update_fixture();
    let sb = &fx.sb;
    let (w, _) = kill_at_commit_point(&fx, "work");
    // Someone edits a file the committed transaction has not replaced yet.
    append(&w.join("agents/helper.md"), "edited meanwhile\n");
    let edited = tree(&w);
    // The advice names this collection (run_in selects it with --collection-dir), not the
    // default one a plain `skillwal recover --discard` would act on.
    let this = format!(
        "`skillwal --collection-dir {} recover --discard`",
        std::fs::canonicalize(&w).unwrap().display()
    );
    for args in [&["status"][..], &["recover"], &["recover", "--dry-run"]] {
        let r = sb.run_in(&w, &[], args);
        r.code(1)
            .stderr_has(
                "a path was changed since that transaction was committed (nothing was overwritten)",
            )
            .stderr_has("agents/helper.md")
            .stderr_has(&this);
        assert_same_tree(&edited, &tree(&w), &r.what);
    }
    sb.run_in(&w, &[], &["journal", "verify"])
        .code(1)
        .stdout_has("Recovery would stop");
    sb.run_in(&w, &[], &["recover", "--discard"])
        .ok()
        .stdout_has("Discarded transaction 5")
        .stdout_has("the files were left as they are");
    assert_same_tree(&edited, &tree(&w), "discard leaves the files");
    sb.run_in(&w, &[], &["status"]).ok();
    let v = sb
        .run_in(&w, &[], &["--json", "recover", "--discard"])
        .ok()
        .json();
    assert!(v["discarded"]["txn_id"].is_null(), "{v}");
}

#[test]
fn journal_inspect_works_on_a_copy_and_survives_garbage() {
    let fx = update_fixture();
    let sb = &fx.sb;
    let (w, _) = kill_at_commit_point(&fx, "work");
    let elsewhere = sb.root.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let copy = elsewhere.join("journal.copy");
    fs::copy(state_dir(&w).join("journal"), &copy).unwrap();
    let untouched = tree_all(&w);

    let r = sb.run(&["journal", "inspect", s(&copy)]);
    r.ok()
        .stdout_has(&format!("journal {} (1048576 bytes)", copy.display()))
        .stdout_has("transaction 5 \"update my-skill, review, helper\"")
        .stdout_has("COMMITTED (will be rolled forward)")
        .stdout_has("put-tree       op 0 skills/my-skill")
        .stdout_has("put-file       op 2 agents/helper.md")
        .stdout_has("manifest-diff  collection.toml")
        .stdout_has("lock-diff      collection.lock")
        .stdout_has("my-skill::skill content_hash:")
        .stdout_has("commit ");
    let v = sb
        .run(&["--json", "journal", "inspect", s(&copy)])
        .ok()
        .json();
    assert_eq!(v["state"], "committed");
    assert_eq!(v["txn_id"], 5);
    assert_eq!(v["label"], "update my-skill, review, helper");
    let kinds: Vec<&str> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"begin"));
    assert_eq!(kinds.last(), Some(&"commit"));
    for k in [
        "tree-entry",
        "put-tree",
        "put-file",
        "manifest-diff",
        "lock-diff",
    ] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    // The collection's own journal, without a path.
    sb.run_in(&w, &[], &["journal", "inspect"])
        .ok()
        .stdout_has("COMMITTED");
    assert_same_tree(&untouched, &tree_all(&w), "journal inspect is read-only");

    // Garbage of every shape: never a panic, never a signal.
    let real = fs::read(&copy).unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = |len: usize| {
        (0..len)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect::<Vec<u8>>()
    };
    let mut header_then_noise = real[..4096].to_vec();
    header_then_noise.extend(noise(8192));
    let mut flipped = real.clone();
    flipped[4096 + 40] ^= 0xFF;
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("tiny", b"SKILLWAL".to_vec()),
        ("noise", noise(5000)),
        ("zeros", vec![0; 1 << 20]),
        ("ones", vec![0xFF; 4096]),
        ("header then noise", header_then_noise),
        ("cut in the header", real[..700].to_vec()),
        ("cut in a record", real[..4200].to_vec()),
        ("cut at half", real[..real.len() / 2].to_vec()),
        ("flipped byte in a record", flipped),
    ];
    for (what, bytes) in samples {
        let p = elsewhere.join("garbage");
        fs::write(&p, &bytes).unwrap();
        for json in [false, true] {
            let mut args = vec!["journal", "inspect", s(&p)];
            if json {
                args.insert(0, "--json");
            }
            let r = sb.run(&args);
            r.no_panic();
            assert!(
                matches!(r.code, Some(0) | Some(1)),
                "{what}: exit {:?} signal {:?}\n{}",
                r.code,
                r.signal,
                r.stderr
            );
            if json && r.code == Some(0) {
                let v = r.json();
                assert!(v["state"].is_string(), "{what}: {v}");
            }
        }
    }
    sb.run(&["journal", "inspect", s(&elsewhere.join("missing"))])
        .code(1)
        .stderr_has("no journal at");
    sb.run(&["journal", "inspect", s(&elsewhere)]).code(1);
}

#[test]
fn journal_verify_idle_committed_and_damaged() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.run(&["journal", "verify"])
        .ok()
        .stdout_has("idle (nothing to recover)")
        .stdout_has(&format!("Nothing to recover in {}", coll.display()));
    let v = sb.run(&["--json", "journal", "verify"]).ok().json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["journal"]["state"], "none");
    // A directory skillwal never wrote to.
    let empty = sb.root.join("empty");
    fs::create_dir_all(&empty).unwrap();
    sb.run(&["--collection-dir", s(&empty), "journal", "verify"])
        .ok()
        .stdout_has("No journal in");

    // Damage inside a committed transaction: reported, refused, nothing changed.
    let fx = update_fixture();
    let (w, _) = kill_at_commit_point(&fx, "work");
    let journal = state_dir(&w).join("journal");
    let mut bytes = fs::read(&journal).unwrap();
    bytes[4096 + 40] ^= 0xFF;
    fs::write(&journal, &bytes).unwrap();
    let untouched = tree_all(&w);
    fx.sb
        .run_in(&w, &[], &["journal", "verify"])
        .code(1)
        .stdout_has("CORRUPT (committed, damaged inside)")
        .stdout_has("Recovery would stop");
    let r = fx.sb.run_in(&w, &[], &["list"]);
    r.code(1)
        .stderr_has(&format!("journal {} is damaged at byte", journal.display()))
        .stderr_has("Nothing was changed");
    assert_same_tree(
        &untouched,
        &tree_all(&w),
        "a damaged journal is never applied",
    );
    fx.sb.run_in(&w, &[], &["recover", "--discard"]).ok();
    fx.sb.run_in(&w, &[], &["list"]).ok();
    assert_eq!(fx.state(&w, "after discard"), State::Before);
}

// ---------------------------------------------------------------------------------------
// Bugs (ignored until fixed)
// ---------------------------------------------------------------------------------------

#[test]
fn bug_init_with_a_relative_collection_dir() {
    let sb = Sandbox::new();
    sb.run(&["--collection-dir", "newcoll", "init"]).ok();
    assert!(sb.root.join("newcoll/collection.toml").is_file());
}

#[test]
fn bug_init_with_a_broken_config_creates_the_collection_anyway() {
    let sb = Sandbox::new();
    fs::create_dir_all(&sb.home).unwrap();
    fs::write(sb.home.join("config.toml"), "[settings\n").unwrap();
    let before = tree(&sb.home);
    sb.run(&["-c", "work", "init"])
        .code(1)
        .stderr_has("config.toml:1:10")
        .nothing_changed();
    assert_same_tree(&before, &tree(&sb.home), "init with a broken config.toml");
}

#[test]
fn bug_io_errors_print_the_cause_once() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let cmd = sb.file_source("review.md", "x");
    let r = sb.run_env(
        &[("SKILLWAL_FAIL_AT", "1:ENOSPC")],
        &["add", "command", s(&cmd)],
    );
    r.code(1);
    assert_eq!(
        r.stderr.matches("No space left on device").count(),
        1,
        "{}",
        r.stderr
    );
}

#[test]
fn bug_update_of_missing_files_with_the_default_strategy_blames_local_modifications() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    fs::remove_dir_all(coll.join("skills/my-skill")).unwrap();
    refused(
        &sb,
        &coll,
        &["update", "my-skill"],
        1,
        &["missing", s(&coll.join("skills/my-skill"))],
    );
}

#[test]
fn bug_update_upstream_of_missing_files_is_refused() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    fs::remove_dir_all(coll.join("skills/my-skill")).unwrap();
    refused(
        &sb,
        &coll,
        &["update", "my-skill", "--strategy", "upstream"],
        1,
        &["the files of skill my-skill are missing"],
    );
}

#[test]
fn bug_missing_relative_source_is_reported_as_a_github_failure() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    refused(
        &sb,
        &coll,
        &["add", "skill", "src/nope"],
        1,
        &["source src/nope does not exist"],
    );
}

#[test]
fn bug_path_and_ref_without_git_are_usage_errors() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let skill = sb.skill_source("other", "x");
    let cmd = sb.file_source("other.md", "x");
    for args in [
        &["add", "skill", s(&skill), "--ref", "v1"][..],
        &["add", "command", s(&cmd), "--path", "commands/other.md"],
    ] {
        let before = tree(&coll);
        sb.run(args).code(2);
        assert_same_tree(&before, &tree(&coll), args.join(" ").as_str());
    }
}

#[test]
fn bug_discard_of_a_damaged_transaction_says_what_it_dropped() {
    let fx = update_fixture();
    let (w, _) = kill_at_commit_point(&fx, "work");
    let journal = state_dir(&w).join("journal");
    let mut bytes = fs::read(&journal).unwrap();
    bytes[4096 + 40] ^= 0xFF;
    fs::write(&journal, &bytes).unwrap();
    let r = fx.sb.run_in(&w, &[], &["recover", "--discard"]);
    r.ok()
        .stdout_lacks("held no transaction")
        .stdout_has("committed")
        .stdout_has("the files were left as they are");
}

#[test]
fn bug_agent_messages_say_an_agent() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let dir = sb.src.join("my-skill");
    refused(
        &sb,
        &coll,
        &["add", "agent", s(&dir), "--name", "x"],
        1,
        &["an agent must be a single .md file"],
    );
}

#[test]
fn bug_bad_input_messages_say_what_to_do() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let extra = sb.file_source("extra.md", "x");
    let hints = [
        "fix",
        "check",
        "choose",
        "pass ",
        "run ",
        "restore",
        "remove",
        "try again",
        "retry",
        "wait",
        "free ",
        "make ",
        "rename",
        "point to",
        "replace",
        "install",
        "use ",
    ];
    let mut missing = Vec::new();
    let mut check = |what: &str, r: &Run| {
        r.no_panic();
        assert_ne!(r.code, Some(0), "{what}");
        // The remedy may follow the error on its own line.
        let all = r.stderr.to_lowercase();
        if !hints.iter().any(|h| all.contains(h)) {
            missing.push(format!("{what}: {all}"));
        }
    };
    for (doc, good, bad) in [
        (
            "collection.toml",
            "name = \"review\"",
            "name = \"review\" = 2",
        ),
        (
            "collection.lock",
            "version = \"1.0.0\"",
            "version = \"1.0.0",
        ),
    ] {
        let p = coll.join(doc);
        let original = read(&p);
        fs::write(&p, original.replacen(good, bad, 1)).unwrap();
        check(&format!("invalid {doc}"), &sb.run(&["list"]));
        fs::write(&p, original).unwrap();
    }
    let cfg = sb.home.join("config.toml");
    let original = read(&cfg);
    fs::write(&cfg, "[settings\n").unwrap();
    check("invalid config.toml", &sb.run(&["list"]));
    fs::write(&cfg, original).unwrap();
    check(
        "invalid name",
        &sb.run(&["add", "command", s(&extra), "--name", "a/b"]),
    );
    {
        let _lock = hold_lock(&coll);
        check("locked, --no-wait", &sb.run(&["--no-wait", "list"]));
    }
    for errno in ["EROFS", "ENOSPC"] {
        let spec = format!("1:{errno}");
        check(
            errno,
            &sb.run_env(
                &[("SKILLWAL_FAIL_AT", &spec)],
                &["add", "command", s(&extra)],
            ),
        );
    }
    assert!(
        missing.is_empty(),
        "messages without a remedy:\n{}",
        missing.join("\n")
    );
}

/// `add` and `update` name every entry of the source they left out because its name is
/// ignored (README, "Ignored names"), on stderr and in `--json`; nothing is dropped silently.
#[test]
fn add_and_update_say_which_ignored_entries_they_left_out() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let skill = sb.skill_source("my-skill", "v1");
    write(&skill.join(".DS_Store"), "junk");
    write(&skill.join("node_modules/left-pad/index.js"), "junk");
    write(&skill.join("docs/old.pyc"), "junk");
    sb.run(&["add", "skill", s(&skill)]).ok().stderr_has(
        "skillwal: skill my-skill: left out of the source (ignored names): .DS_Store, docs/old.pyc, node_modules/",
    );

    write(&skill.join("SKILL.md"), "---\nname: my-skill\n---\nv2\n");
    let v = sb
        .run(&["--json", "update", "my-skill", "--strategy", "upstream"])
        .ok()
        .json();
    assert_eq!(
        v["updates"][0]["ignored"],
        serde_json::json!([".DS_Store", "docs/old.pyc", "node_modules/"])
    );

    let other = sb.skill_source("clean", "v1");
    let v = sb.run(&["--json", "add", "skill", s(&other)]).ok().json();
    assert_eq!(v["added"]["ignored"], serde_json::json!([]));
}
