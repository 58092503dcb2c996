//! The merge module (`skillwal::merge`): three-way text merge, binary detection, the
//! per-path tree plan and unified diffs. One module per concern; expected outputs are
//! written out in full. The `props` module checks laws that must hold for any input, and
//! `git_apply` checks the rendered diffs with the real `git apply`.

use skillwal::limits::{BINARY_SNIFF_BYTES, MERGE_TEXT_BYTES_MAX};
use skillwal::merge::text::{Conflict, Labels, Merged, merge};
use skillwal::merge::{Content, NotText, classify, is_binary};

const LABELS: Labels<'static> = Labels {
    ours: "ours",
    base: "base",
    theirs: "theirs",
};

fn m(base: &str, ours: &str, theirs: &str) -> Merged {
    merge(base.as_bytes(), ours.as_bytes(), theirs.as_bytes(), &LABELS).expect("text merges")
}

fn text(merged: &Merged) -> &str {
    std::str::from_utf8(&merged.content).unwrap()
}

/// Asserts a clean merge with exactly `expected`.
fn assert_clean(base: &str, ours: &str, theirs: &str, expected: &str) {
    let merged = m(base, ours, theirs);
    assert_eq!(text(&merged), expected);
    assert!(merged.is_clean(), "{:?}", merged.conflicts);
}

mod text {
    use super::*;

    const BASE: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";

    #[test]
    fn one_side_unchanged_takes_the_other() {
        let changed = "one\nTWO\nthree\nfour\nfive\nsix\nseven\neight\n";
        assert_clean(BASE, changed, BASE, changed);
        assert_clean(BASE, BASE, changed, changed);
        assert_clean(BASE, BASE, BASE, BASE);
    }

    #[test]
    fn identical_changes_on_both_sides_are_clean() {
        let changed = "one\nTWO\nthree\nfive\nsix\nseven\n";
        assert_clean(BASE, changed, changed, changed);
    }

    #[test]
    fn separate_changes_on_both_sides_merge() {
        let ours = "zero\none\nTWO\nthree\nfour\nfive\nsix\nseven\n";
        let theirs = "one\ntwo\nthree\nfour\nFIVE\nsix\n";
        assert_clean(
            BASE,
            ours,
            theirs,
            "zero\none\nTWO\nthree\nfour\nFIVE\nsix\n",
        );
    }

    #[test]
    fn deletions_on_both_sides_merge() {
        let ours = "one\nthree\nfour\nfive\nsix\nseven\n";
        let theirs = "one\ntwo\nthree\nfour\nfive\nseven\n";
        assert_clean(BASE, ours, theirs, "one\nthree\nfour\nfive\nseven\n");
    }

    #[test]
    fn the_same_line_changed_differently_conflicts() {
        let merged = m(BASE, "one\ntwo\nTHREE\nfour\n", "one\ntwo\n3\nfour\n");
        assert_eq!(
            text(&merged),
            "one\ntwo\n<<<<<<< ours\nTHREE\n||||||| base\nthree\n=======\n3\n>>>>>>> theirs\nfour\n"
        );
        // Both deleted five to seven: not part of the conflict.
        assert_eq!(
            merged.conflicts,
            vec![Conflict {
                output: 2..9,
                base: 2..3,
                ours: 2..3,
                theirs: 2..3,
            }]
        );
    }

    #[test]
    fn adjacent_changes_conflict_as_in_git() {
        let merged = m(
            BASE,
            "one\nTWO\nthree\nfour\nfive\nsix\nseven\n",
            "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\n",
        );
        assert_eq!(
            text(&merged),
            "one\n<<<<<<< ours\nTWO\nthree\n||||||| base\ntwo\nthree\n=======\ntwo\nTHREE\n>>>>>>> theirs\nfour\nfive\nsix\nseven\n"
        );
        assert_eq!(merged.conflicts.len(), 1);
    }

    #[test]
    fn both_adding_at_the_same_point_conflicts_unless_identical() {
        let merged = m("a\nc\n", "a\nb1\nc\n", "a\nb2\nc\n");
        assert_eq!(
            text(&merged),
            "a\n<<<<<<< ours\nb1\n||||||| base\n=======\nb2\n>>>>>>> theirs\nc\n"
        );
        assert_eq!(merged.conflicts[0].base, 1..1);
        assert_clean("a\nc\n", "a\nb\nc\n", "a\nb\nc\n", "a\nb\nc\n");
    }

    #[test]
    fn delete_versus_modify_of_a_line_conflicts_with_an_empty_side() {
        let merged = m("a\nb\nc\n", "a\nc\n", "a\nB\nc\n");
        assert_eq!(
            text(&merged),
            "a\n<<<<<<< ours\n||||||| base\nb\n=======\nB\n>>>>>>> theirs\nc\n"
        );
        assert_eq!(
            merged.conflicts,
            vec![Conflict {
                output: 1..7,
                base: 1..2,
                ours: 1..1,
                theirs: 1..2,
            }]
        );
    }

    #[test]
    fn lines_common_to_both_sides_are_kept_outside_the_markers() {
        // Added on both sides (empty base), sharing the first and last lines.
        let merged = m("", "head\nmine\ntail\n", "head\nyours\ntail\n");
        assert_eq!(
            text(&merged),
            "head\n<<<<<<< ours\nmine\n||||||| base\n=======\nyours\n>>>>>>> theirs\ntail\n"
        );
        assert_eq!(
            merged.conflicts,
            vec![Conflict {
                output: 1..7,
                base: 0..0,
                ours: 1..2,
                theirs: 1..2,
            }]
        );
    }

    #[test]
    fn several_conflicts_are_counted_with_their_output_lines() {
        let base = "a\nb\nc\nd\ne\nf\ng\n";
        let merged = m(base, "A1\nb\nc\nd\ne\nf\nG1\n", "A2\nb\nc\nd\ne\nf\nG2\n");
        let out = text(&merged);
        assert_eq!(
            out,
            "<<<<<<< ours\nA1\n||||||| base\na\n=======\nA2\n>>>>>>> theirs\nb\nc\nd\ne\nf\n\
             <<<<<<< ours\nG1\n||||||| base\ng\n=======\nG2\n>>>>>>> theirs\n"
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(merged.conflicts.len(), 2);
        for c in &merged.conflicts {
            assert!(lines[c.output.start].starts_with("<<<<<<<"));
            assert!(lines[c.output.end - 1].starts_with(">>>>>>>"));
        }
        assert_eq!(merged.conflicts[1].output, 12..19);
        assert_eq!(merged.conflicts[1].base, 6..7);
    }

    #[test]
    fn a_missing_final_newline_is_a_change_like_any_other() {
        // Ours drops the final newline, theirs edits the top: both kept.
        assert_clean("a\nb\nc\nd\n", "a\nb\nc\nd", "A\nb\nc\nd\n", "A\nb\nc\nd");
        // Both drop it: clean.
        assert_clean("a\nb\n", "a\nb", "a\nb", "a\nb");
        // Ours adds one where base had none, theirs edits the top.
        assert_clean("a\nb\nc\nd", "a\nb\nc\nd\n", "A\nb\nc\nd", "A\nb\nc\nd\n");
    }

    #[test]
    fn a_conflicting_side_without_final_newline_gets_one_before_the_marker() {
        let merged = m("a\n", "mine", "yours");
        assert_eq!(
            text(&merged),
            "<<<<<<< ours\nmine\n||||||| base\na\n=======\nyours\n>>>>>>> theirs\n"
        );
        assert_eq!(merged.conflicts[0].output, 0..7);
        assert_eq!(merged.conflicts[0].ours, 0..1);
    }

    #[test]
    fn crlf_lines_are_compared_byte_exactly_and_markers_follow_them() {
        let base = "a\r\nb\r\nc\r\n";
        assert_clean(base, "a\r\nB\r\nc\r\n", base, "a\r\nB\r\nc\r\n");
        // A line ending changed to LF on one side is that side's change.
        assert_clean(base, "a\nb\r\nc\r\n", base, "a\nb\r\nc\r\n");
        let merged = m(base, "a\r\nmine\r\nc\r\n", "a\r\nyours\r\nc\r\n");
        assert_eq!(
            text(&merged),
            "a\r\n<<<<<<< ours\r\nmine\r\n||||||| base\r\nb\r\n=======\r\nyours\r\n>>>>>>> theirs\r\nc\r\n"
        );
        assert_eq!(merged.conflicts[0].output, 1..8);
    }

    #[test]
    fn empty_files() {
        assert_clean("", "", "", "");
        assert_clean("", "new\n", "", "new\n");
        assert_clean("", "", "new\n", "new\n");
        assert_clean("gone\n", "", "gone\n", "");
        assert_clean("gone\n", "", "", "");
        let merged = m("", "mine\n", "yours\n");
        assert_eq!(
            text(&merged),
            "<<<<<<< ours\nmine\n||||||| base\n=======\nyours\n>>>>>>> theirs\n"
        );
        let merged = m("a\n", "", "b\n");
        assert_eq!(
            text(&merged),
            "<<<<<<< ours\n||||||| base\na\n=======\nb\n>>>>>>> theirs\n"
        );
        assert_eq!(merged.conflicts[0].ours, 0..0);
    }

    #[test]
    fn labels_are_written_on_one_line_and_may_be_empty() {
        let labels = Labels {
            ours: "",
            base: "base\nv1",
            theirs: "upstream v2",
        };
        let merged = merge(b"a\n", b"b\n", b"c\n", &labels).unwrap();
        assert_eq!(
            text(&merged),
            "<<<<<<<\nb\n||||||| base v1\na\n=======\nc\n>>>>>>> upstream v2\n"
        );
    }

    #[test]
    fn binary_or_too_large_inputs_are_refused() {
        let binary = b"PNG\0\x01";
        assert_eq!(
            merge(b"a\n", b"a\n", binary, &LABELS),
            Err(NotText::Binary { input: "theirs" })
        );
        assert_eq!(
            merge(binary, b"a\n", b"a\n", &LABELS),
            Err(NotText::Binary { input: "base" })
        );
        let huge = vec![b'a'; MERGE_TEXT_BYTES_MAX as usize + 1];
        let refused = merge(b"", &huge, b"", &LABELS).unwrap_err();
        assert_eq!(
            refused,
            NotText::TooLarge {
                input: "ours",
                bytes: MERGE_TEXT_BYTES_MAX + 1
            }
        );
        assert!(
            refused.to_string().contains("ours is 8388609 bytes"),
            "{refused}"
        );
        // At the limit exactly it is still merged.
        let limit = vec![b'a'; MERGE_TEXT_BYTES_MAX as usize];
        assert!(merge(b"", &limit, b"", &LABELS).unwrap().is_clean());
    }
}

mod binary {
    use super::*;

    #[test]
    fn a_nul_in_the_first_8000_bytes_is_binary() {
        assert_eq!(BINARY_SNIFF_BYTES, 8000);
        assert!(!is_binary(b""));
        assert!(!is_binary("text, héllo\r\n".as_bytes()));
        assert!(
            !is_binary(&[0xff, 0xfe, 0x80]),
            "invalid UTF-8 without NUL is text"
        );
        let mut bytes = vec![b'x'; 10_000];
        bytes[7999] = 0;
        assert!(is_binary(&bytes));
        bytes[7999] = b'x';
        bytes[8000] = 0;
        assert!(
            !is_binary(&bytes),
            "a NUL past the first 8000 bytes is not looked at"
        );
    }

    #[test]
    fn classify_checks_size_first() {
        assert_eq!(classify(b"a\n"), Content::Text);
        assert_eq!(classify(b"\0"), Content::Binary);
        let mut huge = vec![b'a'; MERGE_TEXT_BYTES_MAX as usize + 1];
        assert_eq!(classify(&huge), Content::TooLarge);
        huge[0] = 0;
        assert_eq!(classify(&huge), Content::TooLarge);
        huge.pop();
        assert_eq!(classify(&huge), Content::Binary);
    }
}

mod tree {
    use skillwal::merge::tree::{Decision, Side, decide, plan};
    use std::collections::BTreeMap;

    fn listing(entries: &[(&str, u32)]) -> BTreeMap<String, u32> {
        entries.iter().map(|(p, h)| (p.to_string(), *h)).collect()
    }

    /// One row of the module doc's table each; ids: 1 base, 2 ours, 3 theirs, 4 both.
    #[test]
    fn every_row_of_the_table() {
        let (b, o, t, x) = (Some(&1), Some(&2), Some(&3), Some(&4));
        let rows = [
            (b, b, b, Decision::Unchanged),
            (b, o, b, Decision::TakeOurs),
            (None, o, None, Decision::TakeOurs),
            (b, b, t, Decision::TakeTheirs),
            (None, None, t, Decision::TakeTheirs),
            (b, None, b, Decision::Delete { by: Side::Ours }),
            (b, b, None, Decision::Delete { by: Side::Theirs }),
            (b, x, x, Decision::Same),
            (None, x, x, Decision::Same),
            (b, None, None, Decision::Same),
            (b, o, t, Decision::MergeContent),
            (None, o, t, Decision::AddAdd),
            (
                b,
                None,
                t,
                Decision::ModifyDelete {
                    deleted_by: Side::Ours,
                },
            ),
            (
                b,
                o,
                None,
                Decision::ModifyDelete {
                    deleted_by: Side::Theirs,
                },
            ),
        ];
        for (base, ours, theirs, expected) in rows {
            assert_eq!(
                decide(base, ours, theirs),
                expected,
                "{base:?} {ours:?} {theirs:?}"
            );
            assert_eq!(
                decide(base, theirs, ours),
                expected.mirror(),
                "mirror of {base:?} {ours:?} {theirs:?}"
            );
        }
    }

    #[test]
    fn a_plan_keeps_every_path_of_every_side() {
        let base = listing(&[
            ("SKILL.md", 1),
            ("kept.md", 5),
            ("gone.md", 6),
            ("both.md", 7),
        ]);
        let ours = listing(&[
            ("SKILL.md", 2),
            ("kept.md", 5),
            ("both.md", 8),
            ("mine.md", 9),
        ]);
        let theirs = listing(&[
            ("SKILL.md", 3),
            ("kept.md", 5),
            ("both.md", 7),
            ("new/x.py", 10),
        ]);
        let plan = plan(&base, &ours, &theirs);
        let expected: BTreeMap<String, Decision> = [
            ("SKILL.md", Decision::MergeContent),
            ("both.md", Decision::TakeOurs),
            ("gone.md", Decision::Same),
            ("kept.md", Decision::Unchanged),
            ("mine.md", Decision::TakeOurs),
            ("new/x.py", Decision::TakeTheirs),
        ]
        .into_iter()
        .map(|(p, d)| (p.to_string(), d))
        .collect();
        assert_eq!(plan, expected);
    }

    #[test]
    fn conflict_predicates() {
        assert!(
            Decision::ModifyDelete {
                deleted_by: Side::Ours
            }
            .is_conflict()
        );
        assert!(!Decision::MergeContent.is_conflict());
        assert!(Decision::MergeContent.needs_content_merge());
        assert!(Decision::AddAdd.needs_content_merge());
        assert!(!Decision::Same.needs_content_merge());
    }
}

mod unified {
    use skillwal::merge::NotText;
    use skillwal::merge::unified::diff;

    fn d(old: Option<&str>, new: Option<&str>) -> String {
        let out = diff(
            "skills/x/SKILL.md",
            old.map(str::as_bytes),
            new.map(str::as_bytes),
        )
        .unwrap();
        String::from_utf8(out.text).unwrap()
    }

    #[test]
    fn a_changed_line_with_three_lines_of_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            d(Some(old), Some(new)),
            "--- a/skills/x/SKILL.md\n+++ b/skills/x/SKILL.md\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        let counted = diff("p", Some(old.as_bytes()), Some(new.as_bytes())).unwrap();
        assert_eq!((counted.hunks, counted.added, counted.removed), (1, 1, 1));
    }

    #[test]
    fn changes_six_lines_apart_share_a_hunk_and_seven_apart_do_not() {
        let lines = |edits: &[(usize, &str)]| -> String {
            (1..=20)
                .map(|i| match edits.iter().find(|(at, _)| *at == i) {
                    Some((_, new)) => format!("{new}\n"),
                    None => format!("{i}\n"),
                })
                .collect()
        };
        let old = lines(&[]);
        let six = lines(&[(3, "c"), (10, "j")]);
        let text = d(Some(&old), Some(&six));
        assert_eq!(text.matches("@@ ").count(), 1, "{text}");
        assert!(text.contains("@@ -1,13 +1,13 @@\n"), "{text}");
        let seven = lines(&[(3, "c"), (11, "k")]);
        let text = d(Some(&old), Some(&seven));
        assert!(text.contains("@@ -1,6 +1,6 @@\n"), "{text}");
        assert!(text.contains("@@ -8,7 +8,7 @@\n"), "{text}");
    }

    #[test]
    fn added_and_deleted_files_name_dev_null() {
        assert_eq!(
            d(None, Some("a\nb\n")),
            "--- /dev/null\n+++ b/skills/x/SKILL.md\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        );
        assert_eq!(
            d(Some("a\n"), None),
            "--- a/skills/x/SKILL.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"
        );
    }

    #[test]
    fn no_newline_at_end_of_file_is_marked() {
        assert_eq!(
            d(Some("a\nb"), Some("a\nb\n")),
            "--- a/skills/x/SKILL.md\n+++ b/skills/x/SKILL.md\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
        assert_eq!(
            d(Some("a\n"), Some("a\nb")),
            "--- a/skills/x/SKILL.md\n+++ b/skills/x/SKILL.md\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn crlf_is_kept_and_same_lines_give_nothing() {
        assert_eq!(
            d(Some("a\r\nb\r\n"), Some("a\r\nc\r\n")),
            "--- a/skills/x/SKILL.md\n+++ b/skills/x/SKILL.md\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"
        );
        assert_eq!(d(Some("same\n"), Some("same\n")), "");
        assert_eq!(
            d(None, Some("")),
            "",
            "an added empty file has no lines to show"
        );
        assert_eq!(d(None, None), "");
    }

    #[test]
    fn binary_sides_are_refused() {
        assert_eq!(
            diff("p", Some(b"a\n"), Some(b"\0")),
            Err(NotText::Binary { input: "new" })
        );
    }
}
