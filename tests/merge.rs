//! The merge module (`skillwal::merge`): three-way text merge, binary detection, the
//! per-path tree plan and unified diffs. One module per concern; expected outputs are
//! written out in full. The `props` module checks laws that must hold for any input, and
//! `git_apply` checks the rendered diffs with the real `git apply`.

use skillwal::limits::{BINARY_SNIFF_BYTES, MERGE_TEXT_BYTES_MAX, MERGE_TEXT_LINES_MAX};
use skillwal::merge::text::{Conflict, Labels, Merged, merge};
use skillwal::merge::{Content, NotText, classify, is_binary, line_count};

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
                bytes: MERGE_TEXT_BYTES_MAX + 1,
                lines: 1,
            }
        );
        assert!(
            refused.to_string().contains(
                "ours is too large to merge or diff line by line: 8388609 bytes in 1 lines"
            ),
            "{refused}"
        );
        // At the limit exactly it is still merged.
        let limit = vec![b'a'; MERGE_TEXT_BYTES_MAX as usize];
        assert!(merge(b"", &limit, b"", &LABELS).unwrap().is_clean());

        // The line bound: one line more than allowed, unterminated, is refused.
        let mut many = vec![b'\n'; MERGE_TEXT_LINES_MAX as usize];
        assert!(merge(b"", &many, b"x\n", &LABELS).is_ok());
        many.push(b'x');
        assert_eq!(
            merge(b"", b"", &many, &LABELS),
            Err(NotText::TooLarge {
                input: "theirs",
                bytes: MERGE_TEXT_LINES_MAX + 1,
                lines: MERGE_TEXT_LINES_MAX + 1,
            })
        );
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
    fn lines_are_counted_with_an_unterminated_last_one() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a"), 1);
        assert_eq!(line_count(b"a\n"), 1);
        assert_eq!(line_count(b"a\r\nb"), 2);
        assert_eq!(line_count(b"\n\n"), 2);
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

/// The lines of `bytes`, each with its `\n` (the last may have none).
fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// A small applier of unified diffs, strict: every context and removed line must match
/// `old`, and every hunk's counts must match its body.
fn apply_patch(old: &[u8], patch: &[u8]) -> Vec<u8> {
    let old_lines = split_lines(old);
    let patch_lines = split_lines(patch);
    if patch_lines.is_empty() {
        return old.to_vec();
    }
    assert!(patch_lines[0].starts_with(b"--- "), "no --- header");
    assert!(patch_lines[1].starts_with(b"+++ "), "no +++ header");
    let (mut out, mut new_count, mut pos) = (Vec::new(), 0usize, 0usize);
    let mut i = 2;
    while i < patch_lines.len() {
        let (old_start, old_len, new_start, new_len) = parse_at(patch_lines[i]);
        // An empty range names the line before it; a non-empty one its first line.
        let old_first = if old_len == 0 {
            old_start
        } else {
            old_start - 1
        };
        let new_first = if new_len == 0 {
            new_start
        } else {
            new_start - 1
        };
        assert!(old_first >= pos, "hunks out of order");
        for line in &old_lines[pos..old_first] {
            out.extend_from_slice(line);
        }
        new_count += old_first - pos;
        assert_eq!(new_count, new_first, "new start line");
        pos = old_first;
        let (mut seen_old, mut seen_new) = (0, 0);
        i += 1;
        while i < patch_lines.len() && !patch_lines[i].starts_with(b"@@ ") {
            let line = patch_lines[i];
            let mut body = line[1..].to_vec();
            if patch_lines.get(i + 1) == Some(&&b"\\ No newline at end of file\n"[..]) {
                assert_eq!(body.pop(), Some(b'\n'));
                i += 1;
            }
            match line[0] {
                b' ' | b'-' => {
                    assert_eq!(old_lines[pos], &body[..], "context or removed line {pos}");
                    pos += 1;
                    seen_old += 1;
                    if line[0] == b' ' {
                        out.extend_from_slice(&body);
                        seen_new += 1;
                    }
                }
                b'+' => {
                    out.extend_from_slice(&body);
                    seen_new += 1;
                }
                other => panic!("unexpected line kind {:?}", other as char),
            }
            i += 1;
        }
        assert_eq!((seen_old, seen_new), (old_len, new_len), "hunk counts");
        new_count += new_len;
    }
    for line in &old_lines[pos..] {
        out.extend_from_slice(line);
    }
    out
}

/// Parses `@@ -a[,b] +c[,d] @@`.
fn parse_at(line: &[u8]) -> (usize, usize, usize, usize) {
    let line = std::str::from_utf8(line).unwrap();
    let inner = line
        .strip_prefix("@@ -")
        .and_then(|l| l.strip_suffix(" @@\n"))
        .unwrap_or_else(|| panic!("bad hunk header {line:?}"));
    let (old, new) = inner.split_once(" +").unwrap();
    let range = |r: &str| match r.split_once(',') {
        Some((s, n)) => (s.parse().unwrap(), n.parse().unwrap()),
        None => (r.parse().unwrap(), 1),
    };
    let ((a, b), (c, d)) = (range(old), range(new));
    (a, b, c, d)
}

mod props {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use skillwal::merge::tree::{Decision, plan};
    use skillwal::merge::unified::diff;
    use std::collections::BTreeMap;

    /// Few distinct lines, so that sides share lines and edits collide; one CRLF line.
    const ALPHABET: [&str; 6] = ["a\n", "b\n", "c\n", "d\n", "e\n", "a\r\n"];

    fn join(lines: &[&str], final_newline: bool) -> Vec<u8> {
        let mut out = lines.concat().into_bytes();
        if !final_newline && out.last() == Some(&b'\n') {
            out.pop();
        }
        out
    }

    /// `base` with random edits: each line kept, deleted, replaced, or preceded by a new
    /// line; and maybe a line appended.
    fn edited(base: Vec<&'static str>) -> impl Strategy<Value = Vec<&'static str>> {
        let n = base.len();
        vec((0u8..7, select(&ALPHABET[..])), n + 1).prop_map(move |ops| {
            let mut out = Vec::new();
            for (i, (op, new)) in ops.into_iter().enumerate() {
                let old = base.get(i).copied();
                match op {
                    0..=3 => out.extend(old),
                    4 => {}
                    5 => out.push(new),
                    _ => {
                        out.push(new);
                        out.extend(old);
                    }
                }
            }
            out
        })
    }

    /// (base, ours, theirs): ours and theirs are edits of base, or (now and then)
    /// unrelated files; each may lack its final newline.
    pub(super) fn three_files() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<u8>)> {
        vec(select(&ALPHABET[..]), 0..12)
            .prop_flat_map(|base| {
                let side = prop_oneof![
                    4 => edited(base.clone()),
                    1 => vec(select(&ALPHABET[..]), 0..8),
                ];
                (Just(base), side.clone(), side, any::<[bool; 3]>())
            })
            .prop_map(|(b, x, y, nl)| (join(&b, nl[0]), join(&x, nl[1]), join(&y, nl[2])))
    }

    fn run(base: &[u8], ours: &[u8], theirs: &[u8]) -> Merged {
        merge(base, ours, theirs, &LABELS).unwrap()
    }

    /// The merged content with every conflict region replaced by `pick`'s lines.
    fn resolve(merged: &Merged, pick: impl Fn(&Conflict) -> Vec<u8>) -> Vec<u8> {
        let lines = split_lines(&merged.content);
        let (mut out, mut pos) = (Vec::new(), 0);
        for c in &merged.conflicts {
            out.extend(lines[pos..c.output.start].concat());
            out.extend(pick(c));
            pos = c.output.end;
        }
        out.extend(lines[pos..].concat());
        out
    }

    fn section(file: &[u8], range: &std::ops::Range<usize>) -> Vec<u8> {
        split_lines(file)[range.clone()].concat()
    }

    /// Each conflict's reported ranges describe exactly what is between its markers.
    fn check_regions(merged: &Merged, base: &[u8], ours: &[u8], theirs: &[u8]) {
        let out = split_lines(&merged.content);
        let mut after_previous = 0;
        for c in &merged.conflicts {
            assert!(c.output.start >= after_previous, "regions in order");
            after_previous = c.output.end;
            let mut at = c.output.start;
            for (marker, file, range) in [
                (&b"<<<<<<<"[..], ours, &c.ours),
                (b"|||||||", base, &c.base),
                (b"=======", theirs, &c.theirs),
            ] {
                assert!(out[at].starts_with(marker), "marker at output line {at}");
                at += 1;
                for (got, want) in out[at..at + range.len()]
                    .iter()
                    .zip(&split_lines(file)[range.clone()])
                {
                    // A side's unterminated last line gets the markers' line ending.
                    let lf = [*want, b"\n"].concat();
                    let crlf = [*want, b"\r\n"].concat();
                    assert!(
                        *got == *want || *got == lf || *got == crlf,
                        "line {at}: {got:?} vs {want:?}"
                    );
                }
                at += range.len();
            }
            assert!(out[at].starts_with(b">>>>>>>"));
            assert_eq!(at + 1, c.output.end);
        }
        let opened = out.iter().filter(|l| l.starts_with(b"<<<<<<<")).count();
        assert_eq!(
            opened,
            merged.conflicts.len(),
            "one <<<<<<< per reported conflict"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn one_side_unchanged_gives_the_other((b, x, _y) in three_files()) {
            let merged = run(&b, &x, &b);
            prop_assert!(merged.is_clean());
            prop_assert_eq!(&merged.content, &x);
            let merged = run(&b, &b, &x);
            prop_assert!(merged.is_clean());
            prop_assert_eq!(&merged.content, &x);
        }

        #[test]
        fn the_same_change_on_both_sides_gives_it((b, x, _y) in three_files()) {
            let merged = run(&b, &x, &x);
            prop_assert!(merged.is_clean());
            prop_assert_eq!(&merged.content, &x);
        }

        #[test]
        fn regions_are_reported_where_they_are_written((b, x, y) in three_files()) {
            check_regions(&run(&b, &x, &y), &b, &x, &y);
        }

        /// Swapping ours and theirs swaps the sides of each conflict and nothing else.
        #[test]
        fn merge_is_symmetric((b, x, y) in three_files()) {
            let xy = run(&b, &x, &y);
            let yx = run(&b, &y, &x);
            prop_assert_eq!(xy.conflicts.len(), yx.conflicts.len());
            prop_assert_eq!(
                resolve(&xy, |c| section(&x, &c.ours)),
                resolve(&yx, |c| section(&x, &c.theirs))
            );
            prop_assert_eq!(
                resolve(&xy, |c| section(&y, &c.theirs)),
                resolve(&yx, |c| section(&y, &c.ours))
            );
        }

        /// Edits at least one unchanged line apart, on distinct lines: the merge is clean
        /// and holds both edits exactly.
        #[test]
        fn separate_edits_both_land(
            n in 4usize..30,
            first in 0usize..30,
            gap in 2usize..30,
            ops in (0u8..3, 0u8..3),
            ours_first in any::<bool>(),
        ) {
            let first = first % (n - 2);
            let second = first + 2 + gap % (n - first - 2);
            let base: Vec<String> = (0..n).map(|i| format!("line {i}\n")).collect();
            let edit = |lines: &mut Vec<String>, at: usize, op: u8, who: &str| match op {
                0 => lines[at] = format!("{who} replaced {at}\n"),
                1 => lines[at] = String::new(),
                _ => lines[at] = format!("{who} inserted\n{}", lines[at]),
            };
            let (mut ours, mut theirs, mut both) = (base.clone(), base.clone(), base.clone());
            let (o_at, t_at) = if ours_first { (first, second) } else { (second, first) };
            edit(&mut ours, o_at, ops.0, "ours");
            edit(&mut theirs, t_at, ops.1, "theirs");
            edit(&mut both, o_at, ops.0, "ours");
            edit(&mut both, t_at, ops.1, "theirs");
            let merged = run(base.concat().as_bytes(), ours.concat().as_bytes(), theirs.concat().as_bytes());
            prop_assert!(merged.is_clean(), "{:?}", merged.conflicts);
            prop_assert_eq!(String::from_utf8(merged.content).unwrap(), both.concat());
        }

        /// Applying the rendered diff to old gives new, and the counts match the lines.
        #[test]
        fn unified_diff_round_trips((old, new, _) in three_files(), old_present in any::<bool>(), new_present in any::<bool>()) {
            let old = old_present.then_some(&old[..]);
            let new = new_present.then_some(&new[..]);
            let rendered = diff("dir/file.md", old, new).unwrap();
            let applied = apply_patch(old.unwrap_or_default(), &rendered.text);
            prop_assert_eq!(&applied[..], new.unwrap_or_default());
            let lines = split_lines(&rendered.text);
            let body = |prefix: u8| lines.iter().skip(2).filter(|l| l[0] == prefix).count();
            prop_assert_eq!(rendered.added, body(b'+'));
            prop_assert_eq!(rendered.removed, body(b'-'));
            prop_assert_eq!(rendered.hunks, body(b'@'));
            prop_assert_eq!(rendered.text.is_empty(), old.unwrap_or_default() == new.unwrap_or_default());
        }

        /// Every path of every listing has a decision; one side equal to base, or both
        /// sides equal, leave no conflict and no content to merge; swapping sides mirrors.
        #[test]
        fn tree_plan_laws(
            b in proptest::collection::btree_map(0u8..8, 0u8..3, 0..8),
            x in proptest::collection::btree_map(0u8..8, 0u8..3, 0..8),
            y in proptest::collection::btree_map(0u8..8, 0u8..3, 0..8),
        ) {
            let named = |m: &BTreeMap<u8, u8>| -> BTreeMap<String, u8> {
                m.iter().map(|(k, v)| (format!("f{k}"), *v)).collect()
            };
            let (b, x, y) = (named(&b), named(&x), named(&y));
            let xy = plan(&b, &x, &y);
            let union: Vec<&String> = {
                let mut keys: Vec<&String> = b.keys().chain(x.keys()).chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                keys
            };
            prop_assert_eq!(xy.keys().collect::<Vec<_>>(), union);
            let yx = plan(&b, &y, &x);
            for (path, d) in &xy {
                prop_assert_eq!(yx[path], d.mirror());
            }
            for p in [plan(&b, &x, &b), plan(&b, &b, &x), plan(&b, &x, &x)] {
                for (path, d) in p {
                    prop_assert!(!d.is_conflict() && !d.needs_content_merge(), "{path}: {d:?}");
                    // The result is x's: present in x exactly when the decision keeps a file.
                    let kept = !matches!(d, Decision::Delete { .. }) && x.contains_key(&path);
                    prop_assert_eq!(kept, x.contains_key(&path));
                }
            }
        }
    }
}

/// The rendered diffs applied by the real `git apply`, in a directory made by the test.
mod git_apply {
    use super::props::three_files;
    use proptest::prelude::*;
    use skillwal::merge::unified::diff;
    use std::process::Command;

    const PATH: &str = "dir/file.md";

    fn git_apply(old: Option<&[u8]>, new: Option<&[u8]>) -> Result<(), TestCaseError> {
        let rendered = diff(PATH, old, new).unwrap();
        if rendered.text.is_empty() {
            return Ok(());
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join(PATH);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        if let Some(old) = old {
            std::fs::write(&target, old).unwrap();
        }
        let patch = dir.path().join("change.patch");
        std::fs::write(&patch, &rendered.text).unwrap();
        let output = Command::new("git")
            .args(["apply", "--whitespace=nowarn", "change.patch"])
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", dir.path())
            .output()
            .expect("git runs");
        prop_assert!(
            output.status.success(),
            "git apply failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&rendered.text)
        );
        match new {
            Some(new) => prop_assert_eq!(std::fs::read(&target).unwrap(), new),
            None => prop_assert!(!target.exists(), "git apply deleted the file"),
        }
        Ok(())
    }

    proptest! {
        // Each case runs git; a few dozen cover added, deleted, CRLF and unterminated files.
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn git_applies_the_rendered_diff(
            (old, new, _) in three_files(),
            old_present in any::<bool>(),
            new_present in any::<bool>(),
        ) {
            let old = old_present.then_some(&old[..]);
            let new = new_present.then_some(&new[..]);
            git_apply(old, new)?;
        }
    }
}

/// The merge compared with the real `git merge-file --zdiff3`, in a directory made by the
/// test. Line diffs may differ between implementations where a diff is ambiguous (repeated
/// lines: git's own histogram and Myers disagree there), so the inputs have one diff only:
/// base's lines are distinct, and each side deletes, replaces or inserts lines that occur
/// nowhere else in its file. What is compared is everything after the line diff: regions,
/// clean takes, conflicts, markers, trimming, line endings and missing final newlines.
mod git_merge_file {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::process::Command;

    /// git's merged output and its conflict count (its exit code, capped at 127).
    fn git_merge(base: &[u8], ours: &[u8], theirs: &[u8]) -> (Vec<u8>, usize) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("base", base), ("ours", ours), ("theirs", theirs)] {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let output = Command::new("git")
            .args(["merge-file", "-p", "--zdiff3"])
            .args([
                "-L", "ours", "-L", "base", "-L", "theirs", "ours", "base", "theirs",
            ])
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", dir.path())
            .output()
            .expect("git runs");
        let code = output.status.code().expect("git exits");
        assert!(
            (0..128).contains(&code),
            "git merge-file failed: {output:?}"
        );
        (output.stdout, code as usize)
    }

    /// A file of lines, CRLF- or LF-terminated, with or without its final newline.
    fn render(lines: &[String], crlf: bool, final_newline: bool) -> Vec<u8> {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut out: String = lines.iter().map(|l| format!("{l}{eol}")).collect();
        if !final_newline && !out.is_empty() {
            out.truncate(out.len() - eol.len());
        }
        out.into_bytes()
    }

    /// One side's edit of base line `i` (or of the end, `i == n`): the same edit on both
    /// sides writes the same lines, so identical changes happen too.
    fn edit(base: &[String], ops: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let line = base.get(i).cloned();
            match op {
                0..=2 => out.extend(line),
                3 => {}
                4 => out.push(format!("new {i}")),
                _ => {
                    out.push(format!("inserted {i}"));
                    out.extend(line);
                }
            }
        }
        out
    }

    fn unambiguous() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<u8>)> {
        (0usize..10)
            .prop_flat_map(|n| {
                (
                    vec(0u8..6, n + 1),
                    vec(0u8..6, n + 1),
                    any::<[bool; 3]>(),
                    any::<[u8; 3]>(),
                )
            })
            .prop_map(|(ours_ops, theirs_ops, final_newline, crlf)| {
                let base: Vec<String> = (0..ours_ops.len() - 1)
                    .map(|i| format!("line {i}"))
                    .collect();
                // CRLF now and then, per file: a whole file's lines then differ from base's.
                let crlf = crlf.map(|c| c % 4 == 0);
                (
                    render(&base, crlf[0], final_newline[0]),
                    render(&edit(&base, &ours_ops), crlf[1], final_newline[1]),
                    render(&edit(&base, &theirs_ops), crlf[2], final_newline[2]),
                )
            })
    }

    proptest! {
        // Each case runs git.
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn agrees_with_git((b, x, y) in unambiguous()) {
            let ours = merge(&b, &x, &y, &LABELS).unwrap();
            let (git, git_conflicts) = git_merge(&b, &x, &y);
            prop_assert_eq!(
                String::from_utf8_lossy(&ours.content),
                String::from_utf8_lossy(&git)
            );
            prop_assert_eq!(ours.conflicts.len(), git_conflicts);
        }
    }
}
