//! The interactive update prompt, on a real pseudo-terminal (`script` from util-linux runs
//! skillwal on one and feeds it the test's input): it offers overwrite / keep / merge /
//! show the diff, and an answer that is none of them asks again.

use crate::support::*;
use std::path::PathBuf;
use std::time::Duration;

/// Three artifacts whose sources changed (a line appended), with a local edit to the
/// front matter of `review` (and of `helper` with `both`): far from upstream's change,
/// so a merge keeps both.
fn fixture(both: bool) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let mut edit = vec![("commands/review.md", "review.md")];
    if both {
        edit.push(("agents/helper.md", "helper.md"));
    }
    for (rel, file) in edit {
        let p = coll.join(rel);
        let text = read(&p);
        let mine = text.replace(&format!("description: {file}"), "description: mine");
        assert_ne!(text, mine);
        write(&p, &mine);
    }
    (sb, coll)
}

/// `skillwal ARGS` on a pseudo-terminal with `input` typed; its exit code and everything
/// the terminal showed.
pub fn on_a_terminal(sb: &Sandbox, args: &str, input: &str) -> (Option<i32>, String) {
    on_a_terminal_with(sb, &[], args, input)
}

/// [`on_a_terminal`] with more environment variables.
pub fn on_a_terminal_with(
    sb: &Sandbox,
    env: &[(&str, &str)],
    args: &str,
    input: &str,
) -> (Option<i32>, String) {
    let mut c = sb.std_cmd("script");
    c.envs(env.iter().copied());
    // `stty -echo`: the terminal does not echo the typed answers, which would otherwise land
    // anywhere in the output (the input is written before the question is asked).
    c.args(["-qec", &format!("stty -echo; {BIN} {args}"), "/dev/null"]);
    let out = assert_cmd::Command::from_std(c)
        .write_stdin(input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    )
}

pub fn no_script() -> bool {
    if have("script") {
        return false;
    }
    eprintln!("skipped: `script` (util-linux) is not installed, no pseudo-terminal to test with");
    true
}

#[test]
fn the_prompt_offers_the_strategies_and_asks_again() {
    if no_script() {
        return;
    }
    let (sb, coll) = fixture(false);
    let mine = read(&coll.join("commands/review.md"));
    let (code, shown) = on_a_terminal(&sb, "update review --strategy prompt", "x\nn\n");
    assert_eq!(code, Some(0), "{shown}");
    for choice in [
        "y  overwrite them with the upstream version",
        "n  keep them",
        "m  merge them with the upstream version",
        "d  show what overwriting would change, then ask again",
    ] {
        assert!(shown.contains(choice), "{choice}:\n{shown}");
    }
    assert!(shown.contains("\"x\" is none of the answers"), "{shown}");
    assert_eq!(
        shown.matches("command review: [y/n/m/d]").count(),
        2,
        "{shown}"
    );
    assert!(
        shown.contains("kept local modifications (not updated)"),
        "{shown}"
    );
    assert_eq!(read(&coll.join("commands/review.md")), mine);
}

#[test]
fn diff_then_merge() {
    if no_script() {
        return;
    }
    let (sb, coll) = fixture(false);
    let (code, shown) = on_a_terminal(&sb, "update review --strategy prompt", "d\nm\n");
    assert_eq!(code, Some(0), "{shown}");
    // The diff: what overwriting would do to the local edit and with upstream's line.
    assert!(shown.contains("-description: mine"), "{shown}");
    assert!(shown.contains("+v2"), "{shown}");
    assert_eq!(
        shown.matches("command review: [y/n/m/d]").count(),
        2,
        "{shown}"
    );
    assert!(
        shown.contains("merged with the local modifications"),
        "{shown}"
    );
    let now = read(&coll.join("commands/review.md"));
    assert!(now.contains("description: mine"), "{now}");
    assert!(now.contains("v2"), "{now}");
}

#[test]
fn overwrite_keep_and_end_of_input() {
    if no_script() {
        return;
    }
    for (input, expect_upstream) in [("y\n", true), ("", false)] {
        let (sb, coll) = fixture(false);
        let mine = read(&coll.join("commands/review.md"));
        let (code, shown) = on_a_terminal(&sb, "update review --strategy prompt", input);
        assert_eq!(code, Some(0), "{input:?}: {shown}");
        let now = read(&coll.join("commands/review.md"));
        if expect_upstream {
            assert_eq!(now, read(&sb.src.join("review.md")), "{shown}");
        } else {
            assert_eq!(now, mine, "{shown}");
        }
    }
}

/// Merge for one artifact and overwrite for another: one update, each answer carried out.
#[test]
fn merge_and_overwrite_in_one_update() {
    if no_script() {
        return;
    }
    let (sb, coll) = fixture(true);
    let (code, shown) = on_a_terminal(&sb, "update --all --strategy prompt", "m\ny\n");
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(
        shown.matches("merged with the local modifications").count(),
        1,
        "{shown}"
    );
    // Which artifact was asked first is the update's order; one of the two was merged
    // (the local edit and upstream's line both there), the other overwritten (upstream's).
    let files = [
        (coll.join("commands/review.md"), sb.src.join("review.md")),
        (coll.join("agents/helper.md"), sb.src.join("helper.md")),
    ];
    let merged = files
        .iter()
        .filter(|(p, _)| {
            let t = read(p);
            t.contains("description: mine") && t.contains("v2")
        })
        .count();
    let overwritten = files.iter().filter(|(p, src)| read(p) == read(src)).count();
    assert_eq!((merged, overwritten), (1, 1), "{shown}");
    // The update is one record of the operation log, written by its one transaction.
    let (code, shown) = on_a_terminal(&sb, "log", "");
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown.matches("update ").count(), 1, "{shown}");
}
