//! `update --strategy merge` and `diff NAME` through the real binary: every merge case (one
//! side, both sides clean, both sides conflicting, files added and removed on either side,
//! binary files, file artifacts), the distinct exit code, the refusal without a base, and a
//! kill at every call of a merging update (one transaction: before or after).

#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use support::*;

const MERGE_ALL: [&str; 4] = ["update", "--all", "--strategy", "merge"];

/// A collection with a skill `sk` (SKILL.md of ten numbered lines, `keep.txt`,
/// `gone-local.txt`, `gone-upstream.txt`, `data.bin`) and a command `c.md`, added from
/// local sources. Returns the sandbox, the collection and the skill's source.
fn world() -> (Sandbox, PathBuf, PathBuf) {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    let src = sb.src.join("sk");
    let lines: String = (1..=10).map(|i| format!("line {i}\n")).collect();
    write(
        &src.join("SKILL.md"),
        &format!("---\nname: sk\ndescription: d\n---\n{lines}"),
    );
    write(&src.join("keep.txt"), "keep\n");
    write(&src.join("gone-local.txt"), "a\n");
    write(&src.join("gone-upstream.txt"), "b\n");
    fs::write(src.join("data.bin"), b"\x00\x01base").expect("bin");
    write(&sb.src.join("c.md"), "one\ntwo\nthree\n");
    sb.run(&["add", "skill", s(&src)]).ok();
    sb.run(&["add", "command", s(&sb.src.join("c.md"))]).ok();
    let coll = sb.coll();
    (sb, coll, src)
}

fn replace_in(p: &Path, from: &str, to: &str) {
    let t = read(p);
    assert!(t.contains(from), "{from:?} not in {}", p.display());
    fs::write(p, t.replacen(from, to, 1)).expect("write");
}

#[test]
fn changes_on_one_side_or_both_merge_cleanly_and_nothing_is_lost() {
    let (sb, coll, src) = world();
    let sk = coll.join("skills/sk");
    // Ours: line 2 edited, a file added, one deleted.
    replace_in(&sk.join("SKILL.md"), "line 2\n", "line 2 (local)\n");
    write(&sk.join("local-new.txt"), "mine\n");
    fs::remove_file(sk.join("gone-local.txt")).expect("rm");
    // Theirs: line 9 edited, a file added, one deleted.
    replace_in(&src.join("SKILL.md"), "line 9\n", "line 9 (upstream)\n");
    write(&src.join("upstream-new.txt"), "theirs\n");
    fs::remove_file(src.join("gone-upstream.txt")).expect("rm");
    let r = sb.run(&["--json", "update", "sk", "--strategy", "merge"]);
    let v = r.ok().json();
    assert_eq!(v["updates"][0]["action"], "merged", "{v}");
    assert!(v["updates"][0].get("conflicts").is_none(), "{v}");
    let text = read(&sk.join("SKILL.md"));
    assert!(text.contains("line 2 (local)\n") && text.contains("line 9 (upstream)\n"));
    assert!(!text.contains("<<<<<<<"));
    assert_eq!(read(&sk.join("local-new.txt")), "mine\n");
    assert_eq!(read(&sk.join("upstream-new.txt")), "theirs\n");
    assert_eq!(
        read(&sk.join("keep.txt")),
        "keep\n",
        "an unchanged file survives"
    );
    assert!(!sk.join("gone-local.txt").exists());
    assert!(!sk.join("gone-upstream.txt").exists());
    assert_eq!(fs::read(sk.join("data.bin")).expect("bin"), b"\x00\x01base");
    // The lock records the upstream content; the local changes show as modifications.
    assert_eq!(
        str_field(
            &lock_entry(&coll, "sk", "skill").expect("lock"),
            "content_hash"
        ),
        Some(skillmeat_hash(&src).as_str())
    );
    sb.run(&["status"]).ok().stdout_has("modified");

    // The next update merges against the new base: upstream changes again, cleanly.
    replace_in(&src.join("SKILL.md"), "line 5\n", "line 5 (upstream 2)\n");
    sb.run(&["update", "sk", "--strategy", "merge"])
        .ok()
        .stdout_has("merged with the local modifications");
    let text = read(&sk.join("SKILL.md"));
    assert!(text.contains("line 2 (local)\n") && text.contains("line 5 (upstream 2)\n"));
}

#[test]
fn unmodified_artifacts_update_and_unchanged_upstream_keeps_local_files() {
    let (sb, coll, src) = world();
    // Only theirs changed: a plain update.
    replace_in(&src.join("SKILL.md"), "line 1\n", "line 1 (upstream)\n");
    sb.run(&["update", "sk", "--strategy", "merge"])
        .ok()
        .stdout_has("skill sk: updated");
    assert_eq!(tree(&coll.join("skills/sk")), tree(&src));
    // Only ours changed: nothing to do.
    append(&coll.join("commands/c.md"), "local\n");
    let before = tree(&coll);
    sb.run(&["update", "c", "--strategy", "merge"])
        .ok()
        .stdout_has("up to date");
    assert_eq!(tree(&coll), before);
}

#[test]
fn conflicts_are_marked_reported_by_path_and_exit_4() {
    let (sb, coll, src) = world();
    let sk = coll.join("skills/sk");
    replace_in(&sk.join("SKILL.md"), "line 4\n", "line 4 (local)\n");
    replace_in(&src.join("SKILL.md"), "line 4\n", "line 4 (upstream)\n");
    fs::write(sk.join("data.bin"), b"\x00\x01ours").expect("bin");
    fs::write(src.join("data.bin"), b"\x00\x01theirs").expect("bin");
    // Modified locally, deleted upstream; deleted locally, modified upstream.
    append(&sk.join("gone-upstream.txt"), "edited\n");
    fs::remove_file(src.join("gone-upstream.txt")).expect("rm");
    fs::remove_file(sk.join("gone-local.txt")).expect("rm");
    append(&src.join("gone-local.txt"), "edited upstream\n");
    // Added on both sides with different text.
    write(&sk.join("both.txt"), "ours\n");
    write(&src.join("both.txt"), "theirs\n");
    // The command conflicts too.
    replace_in(&coll.join("commands/c.md"), "two\n", "two (local)\n");
    replace_in(&sb.src.join("c.md"), "two\n", "two (upstream)\n");

    let r = sb.run(&MERGE_ALL);
    r.code(4)
        .stdout_has("skill sk: merged, WITH CONFLICTS")
        .stdout_has("conflict (content) skills/sk/SKILL.md")
        .stdout_has("conflict (binary) skills/sk/data.bin")
        .stdout_has("conflict (modify-delete) skills/sk/gone-upstream.txt")
        .stdout_has("conflict (modify-delete) skills/sk/gone-local.txt")
        .stdout_has("conflict (content) skills/sk/both.txt")
        .stdout_has("conflict (content) commands/c.md")
        .stderr_has("exit code 4");
    let text = read(&sk.join("SKILL.md"));
    for marker in [
        "<<<<<<< local (on disk)\nline 4 (local)\n",
        "||||||| base",
        "=======\nline 4 (upstream)\n>>>>>>> upstream",
    ] {
        assert!(text.contains(marker), "{marker:?} not in\n{text}");
    }
    assert_eq!(
        fs::read(sk.join("data.bin")).expect("ours"),
        b"\x00\x01ours"
    );
    assert_eq!(
        fs::read(sk.join("data.bin.theirs")).expect("theirs"),
        b"\x00\x01theirs"
    );
    assert_eq!(read(&sk.join("gone-upstream.txt")), "b\nedited\n");
    assert_eq!(read(&sk.join("gone-local.txt")), "a\nedited upstream\n");
    assert_eq!(read(&sk.join("keep.txt")), "keep\n");
    let both = read(&sk.join("both.txt"));
    assert!(both.contains("<<<<<<<") && both.contains("ours\n") && both.contains("theirs\n"));
    assert!(read(&coll.join("commands/c.md")).contains(">>>>>>> upstream"));
    // The update's record in the operation log undoes it in one step.
    sb.run(&["undo", "--yes"]).ok();
    assert!(!read(&sk.join("SKILL.md")).contains("<<<<<<<"));
    assert!(!sk.join("data.bin.theirs").exists());
}

#[test]
fn a_binary_file_artifact_changed_on_both_sides_keeps_ours_and_puts_theirs_beside_it() {
    let (sb, coll, _src) = world();
    fs::write(sb.src.join("bin.md"), b"\x00base").expect("bin");
    sb.run(&["add", "command", s(&sb.src.join("bin.md"))]).ok();
    fs::write(coll.join("commands/bin.md"), b"\x00ours").expect("ours");
    fs::write(sb.src.join("bin.md"), b"\x00theirs").expect("theirs");
    sb.run(&["update", "bin", "--strategy", "merge"])
        .code(4)
        .stdout_has("conflict (binary) commands/bin.md")
        .stdout_has("commands/bin.md.theirs");
    assert_eq!(
        fs::read(coll.join("commands/bin.md")).expect("ours"),
        b"\x00ours"
    );
    assert_eq!(
        fs::read(coll.join("commands/bin.md.theirs")).expect("theirs"),
        b"\x00theirs"
    );
}

#[test]
fn conflicts_in_json() {
    let (sb, coll, _src) = world();
    replace_in(&coll.join("commands/c.md"), "two\n", "two (local)\n");
    replace_in(&sb.src.join("c.md"), "two\n", "two (upstream)\n");
    let r = sb.run(&["--json", "update", "c", "--strategy", "merge"]);
    let v = r.code(4).json();
    let c = &v["updates"][0]["conflicts"][0];
    assert_eq!(c["path"], "commands/c.md", "{v}");
    assert_eq!(c["kind"], "content");
}

#[test]
fn without_a_recorded_base_merge_is_refused_and_changes_nothing() {
    let (sb, coll, src) = world();
    // A base exists only for the version the lock names: the Python tool (or a hand) may
    // rewrite the lock; simulate a base lost with the store.
    fs::remove_dir_all(state_dir(&coll).join("store/bases")).expect("rm bases");
    append(&coll.join("skills/sk/keep.txt"), "local\n");
    append(&src.join("keep.txt"), "upstream\n");
    let before = tree_all(&coll);
    sb.run(&["update", "sk", "--strategy", "merge"])
        .code(1)
        .stderr_has("no recorded base")
        .stderr_has("--strategy upstream or --strategy local")
        .nothing_changed();
    assert_eq!(tree_all(&coll), before);
}

#[test]
fn diff_shows_what_update_would_change_per_file() {
    let (sb, coll, src) = world();
    sb.run(&["diff", "sk"])
        .ok()
        .stdout_has("updating would change nothing");
    replace_in(&src.join("SKILL.md"), "line 3\n", "line 3 (upstream)\n");
    write(&src.join("added.txt"), "new\n");
    fs::remove_file(src.join("keep.txt")).expect("rm");
    fs::write(src.join("data.bin"), b"\x00\x02").expect("bin");
    let before = tree_all(&coll);
    let out = sb.run(&["diff", "sk"]).ok().stdout.clone();
    for needle in [
        "--- a/skills/sk/SKILL.md",
        "+++ b/skills/sk/SKILL.md",
        "-line 3\n+line 3 (upstream)\n",
        "+++ b/skills/sk/added.txt",
        "--- a/skills/sk/keep.txt",
        "Binary files differ: skills/sk/data.bin (modified)",
        "updating would change 4 file(s)",
    ] {
        assert!(out.contains(needle), "{needle:?} not in\n{out}");
    }
    let v = sb.run(&["--json", "diff", "sk"]).ok().json();
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 4, "{v}");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "skills/sk/added.txt" && f["change"] == "added")
    );
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "skills/sk/keep.txt" && f["change"] == "deleted")
    );
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "skills/sk/data.bin" && f["diff"].is_null())
    );
    assert_eq!(tree_all(&coll), before, "diff changes nothing");
    sb.run(&["diff", "nope"])
        .code(1)
        .stderr_has("no artifact named");
}

#[test]
fn sigkill_at_every_call_of_a_merging_update_leaves_before_or_after() {
    let (sb, coll, src) = world();
    replace_in(
        &coll.join("skills/sk/SKILL.md"),
        "line 2\n",
        "line 2 (local)\n",
    );
    replace_in(&src.join("SKILL.md"), "line 9\n", "line 9 (upstream)\n");
    replace_in(&coll.join("commands/c.md"), "two\n", "two (local)\n");
    replace_in(&sb.src.join("c.md"), "two\n", "two (upstream)\n");
    let before = tree(&coll);
    let reference = sb.root.join("reference");
    copy_collection(&coll, &reference);
    sb.run_in(&reference, &[], &MERGE_ALL).code(4);
    let after = masked(&tree(&reference));
    let (mut b, mut a) = (0, 0);
    let mut n = 1;
    loop {
        assert!(n < 2000, "always killed");
        let w = sb.root.join("work");
        if w.exists() {
            fs::remove_dir_all(&w).expect("rm");
        }
        copy_collection(&coll, &w);
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &MERGE_ALL);
        let finished = r.code == Some(4);
        if !finished {
            r.killed();
        }
        sb.run_in(&w, &[], &["status"]).ok();
        let t = tree(&w);
        if t == before {
            b += 1;
        } else if masked(&t) == after {
            a += 1;
        } else {
            panic!(
                "kill at {n}: neither before nor after\nagainst before:\n{}against after:\n{}",
                tree_diff(&before, &t),
                tree_diff(&after, &masked(&t))
            );
        }
        if finished {
            break;
        }
        n += 1;
    }
    assert!(b > 0 && a > 0);
    eprintln!("merge update: {} kills; {b} before, {a} after", n - 1);
}
