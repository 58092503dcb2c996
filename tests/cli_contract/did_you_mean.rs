//! "did you mean …?" for a misspelled artifact name (show, update, remove, diff) and a
//! misspelled local source path (add); the collection is left exactly as it was.

use crate::support::*;

#[test]
fn misspelled_names_get_the_close_ones() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    let before = tree_all(&coll);
    for args in [
        &["show", "reveiw"][..],
        &["update", "reveiw", "--strategy", "upstream"],
        &["update", "my-skill", "reveiw", "--strategy", "upstream"],
        &["remove", "reveiw"],
        &["diff", "reveiw"],
    ] {
        sb.run(args)
            .code(1)
            .stderr_has("no artifact named \"reveiw\"")
            .stderr_has("did you mean `review`?")
            .stderr_has("skillwal list")
            .nothing_changed();
    }
    // A prefix, and one letter off, with --type narrowing the candidates.
    sb.run(&["show", "my"])
        .code(1)
        .stderr_has("did you mean `my-skill`?");
    sb.run(&["show", "helpr", "--type", "agent"])
        .code(1)
        .stderr_has("did you mean `helper`?");
    sb.run(&["show", "helpr", "--type", "skill"])
        .code(1)
        .stderr_lacks("did you mean");
    // Nothing close: the message as before.
    sb.run(&["show", "nope"])
        .code(1)
        .stderr_has("no artifact named \"nope\"")
        .stderr_lacks("did you mean");
    let v = sb.run(&["--json", "remove", "reveiw"]).code(1).json_err();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `review`?"),
        "{v:#}"
    );
    assert_same_tree(&before, &tree_all(&coll), "misspelled names");
}

#[test]
fn misspelled_local_sources_get_the_close_paths() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.skill_source("other-skill", "x");
    let before = tree_all(&coll);
    // Relative to the working directory (the sandbox's root), as typed.
    sb.run(&["add", "skill", "src/other-skil"])
        .code(1)
        .stderr_has("source src/other-skil does not exist")
        .stderr_has("did you mean `src/other-skill`?")
        .nothing_changed();
    // A misspelled directory on the way.
    sb.run(&["add", "skill", "srcc/other-skill"])
        .code(1)
        .stderr_has("did you mean `src/other-skill`?");
    let abs = sb.src.join("reveiw.md");
    sb.run(&["add", "command", s(&abs)])
        .code(1)
        .stderr_has(&format!(
            "did you mean `{}`?",
            sb.src.join("review.md").display()
        ));
    sb.run(&["add", "skill", "src/zzz-nothing-like-it"])
        .code(1)
        .stderr_lacks("did you mean");
    assert_same_tree(&before, &tree_all(&coll), "misspelled sources");
}
