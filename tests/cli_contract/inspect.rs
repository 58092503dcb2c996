//! `journal inspect PATH`: a journal file, a collection's directory or skillwal's state
//! directory of one; anything else is an error about PATH; a damaged journal exits 1; the
//! advice names the journal's own collection, or gives no command when there is none.

use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A collection `work` (outside the home) whose update of three artifacts was killed past
/// its commit point: its journal holds a committed transaction.
fn committed(sb: &Sandbox) -> PathBuf {
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let work = sb.root.join("work");
    for n in 1..400u64 {
        copy_collection(&coll, &work);
        let spec = n.to_string();
        sb.run_in(
            &work,
            &[("SKILLWAL_CRASH_AFTER", &spec)],
            &["update", "--all", "--strategy", "upstream"],
        )
        .killed();
        let plan = sb.run_in(&work, &[], &["recover", "--dry-run"]);
        if plan.ok().stdout.contains("Would roll forward") {
            return work;
        }
    }
    panic!("never killed past the commit point");
}

fn damage(journal: &Path) {
    let mut bytes = fs::read(journal).unwrap();
    bytes[4096 + 40] ^= 0xFF;
    fs::write(journal, &bytes).unwrap();
}

#[test]
fn paths_that_are_not_journals_get_a_message_about_that_path() {
    let sb = Sandbox::new();
    sb.three_artifacts();
    let missing = sb.root.join("missing");
    sb.run(&["journal", "inspect", s(&missing)])
        .code(1)
        .stderr_has(&format!(
            "no journal at {}: nothing exists there",
            s(&missing)
        ));
    let empty = sb.root.join("empty");
    fs::create_dir(&empty).unwrap();
    sb.run(&["journal", "inspect", s(&empty)])
        .code(1)
        .stderr_has(&format!(
            "{} is a directory, but neither a collection (no collection.toml) nor skillwal's state of one",
            s(&empty)
        ));
    let text = sb.root.join("notes.txt");
    fs::write(&text, "just some text\n").unwrap();
    let r = sb.run(&["journal", "inspect", s(&text)]);
    r.code(1)
        .stderr_has(&format!("{} is not a skillwal journal", s(&text)));
    assert_eq!(r.stdout, "");
    // A collection skillwal never wrote to (the Python tool's, say).
    let py = sb.root.join("py-coll");
    fs::create_dir(&py).unwrap();
    fs::write(
        py.join("collection.toml"),
        "[collection]\nname = \"py-coll\"\n",
    )
    .unwrap();
    sb.run(&["journal", "inspect", s(&py)])
        .code(1)
        .stderr_has(&format!("no journal for the collection at {}", s(&py)));
    // None of this changed anything.
    assert!(!state_dir(&py).exists());
}

#[test]
fn a_collection_or_its_state_directory_finds_the_journal() {
    let sb = Sandbox::new();
    let work = committed(&sb);
    let untouched = tree_all(&work);
    let dry_run = format!("`skillwal --collection-dir {} recover --dry-run`", s(&work));
    for path in [
        work.clone(),
        state_dir(&work),
        state_dir(&work).join("journal"),
    ] {
        sb.run(&["journal", "inspect", s(&path)])
            .ok()
            .stdout_has("COMMITTED (will be rolled forward)")
            .stdout_has(&dry_run);
        let v = sb
            .run(&["--json", "journal", "inspect", s(&path)])
            .ok()
            .json();
        assert_eq!(v["state"], "committed", "{v:#}");
        assert_eq!(v["collection_dir"].as_str(), Some(s(&work)), "{v:#}");
        assert_eq!(v["collection"], "work", "{v:#}");
    }
    // Without PATH, the advice repeats the options that chose the collection.
    sb.run_in(&work, &[], &["journal", "inspect"])
        .ok()
        .stdout_has(&dry_run);
    assert_same_tree(&untouched, &tree_all(&work), "journal inspect is read-only");
}

#[test]
fn a_damaged_journal_exits_1_and_the_advice_names_its_collection() {
    let sb = Sandbox::new();
    let work = committed(&sb);
    let journal = state_dir(&work).join("journal");
    damage(&journal);
    let discard = format!("`skillwal --collection-dir {} recover --discard`", s(&work));
    for path in [&journal, &work] {
        sb.run(&["journal", "inspect", s(path)])
            .code(1)
            .stdout_has("CORRUPT (committed, damaged inside)")
            .stdout_has(&discard)
            .stdout_lacks("`skillwal recover --discard`");
        let r = sb.run(&["--json", "journal", "inspect", s(path)]);
        assert_eq!(r.code(1).json()["state"], "corrupt");
    }
    // A copy that belongs to no collection: no command that would act on another one.
    let copy = sb.root.join("journal.copy");
    fs::copy(&journal, &copy).unwrap();
    sb.run(&["journal", "inspect", s(&copy)])
        .code(1)
        .stdout_has("CORRUPT")
        .stdout_has("not the journal of a collection skillwal can find")
        .stdout_lacks("recover --discard`")
        .stdout_lacks("--collection-dir");
    // The default collection's journal is not the one the advice is about.
    sb.run(&["journal", "inspect", s(&journal)])
        .code(1)
        .stdout_lacks("`skillwal recover");
}
