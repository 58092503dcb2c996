//! Three-way merge and unified diff of artifact files, for `update --strategy merge` and
//! `diff NAME`.
//!
//! Pure functions over byte slices and listings: no I/O, and no knowledge of the engine or of
//! SkillMeat. The caller reads the three versions of an artifact (base: the upstream version
//! it was last fetched at; ours: the files on disk; theirs: the new upstream), asks
//! [`tree::plan`] what to do with each path, merges the contents of the paths changed on both
//! sides with [`text::merge`] when [`classify`] says they are text, and stages the results in
//! one transaction.
//!
//! | function | answers |
//! |---|---|
//! | [`tree::plan`] | per path: unchanged, take one side, delete, merge contents, or conflict |
//! | [`classify`], [`is_binary`] | whether a content may be merged or diffed line by line |
//! | [`text::merge`] | the merged bytes, with diff3-style conflict markers and their line ranges |
//! | [`unified::diff`] | a unified diff (`---`/`+++`, `@@` hunks, 3 lines of context) |
//!
//! ```
//! use std::collections::BTreeMap;
//! use skillwal::merge::text::{Labels, merge};
//! use skillwal::merge::tree::{Decision, plan};
//! use skillwal::merge::{Content, classify};
//!
//! // Listings: relative path -> content id (a hash in practice).
//! let base = BTreeMap::from([("SKILL.md".to_string(), 1), ("old.md".to_string(), 5)]);
//! let ours = BTreeMap::from([("SKILL.md".to_string(), 2), ("old.md".to_string(), 5)]);
//! let theirs = BTreeMap::from([("SKILL.md".to_string(), 3)]);
//! let decisions = plan(&base, &ours, &theirs);
//! assert_eq!(decisions["SKILL.md"], Decision::MergeContent);
//! assert!(matches!(decisions["old.md"], Decision::Delete { .. }));
//!
//! // The contents of SKILL.md on each side.
//! let (b, o, t) = (&b"a\nb\nc\n"[..], &b"A\nb\nc\n"[..], &b"a\nb\nC\n"[..]);
//! assert!([b, o, t].iter().all(|c| classify(c) == Content::Text));
//! let labels = Labels { ours: "ours (on disk)", base: "base (v1)", theirs: "theirs (v2)" };
//! let merged = merge(b, o, t, &labels).unwrap();
//! assert!(merged.is_clean());
//! assert_eq!(merged.content, b"A\nb\nC\n");
//! ```
//!
//! # Lines
//!
//! A line is a run of bytes ending with `\n` (the `\n` belongs to the line), or the bytes
//! after the last `\n` when the content does not end with one. Lines are compared byte for
//! byte: `a\r\n` differs from `a\n`, and a last line `a` differs from `a\n`, so changing line
//! endings or the final newline is a change like any other, and CRLF files merge and diff
//! without being rewritten.
//!
//! # The line diff
//!
//! Both merge and diff rest on a two-way line diff from the `imara-diff` crate (the diff
//! library of gitoxide and helix): its Histogram algorithm, then its indentation heuristic
//! to place ambiguous hunks where a reader expects them, as `git diff --histogram` does.
//! It was chosen over `similar` because similar's Myers has no cost heuristic: two large,
//! entirely different files make it run in quadratic time unless it is given a wall-clock
//! deadline, which would make a merge's result depend on the machine's load. imara-diff
//! falls back to a Myers search bounded the way git and GNU diff bound it, so its result is
//! deterministic and its time close to linear. `diffy` merges with conflict markers but
//! reports neither how many conflicts there are nor where, and uses a plain Myers diff;
//! the three-way merge here ([`text`]) is therefore our own, on top of the two line diffs
//! base→ours and base→theirs.
//!
//! Inputs above [`MERGE_TEXT_BYTES_MAX`] bytes or [`MERGE_TEXT_LINES_MAX`] lines are
//! refused ([`NotText::TooLarge`]) rather than diffed: the first bounds the memory one file
//! can take, the second the time. The diff is near linear on real text, but on long files
//! made of a few oft-repeated lines it is about quadratic in the line count (so is git's,
//! with a smaller constant), and a line bound is what keeps that case to seconds.

use imara_diff::{Algorithm, Diff, InternedInput};

use crate::limits::{BINARY_SNIFF_BYTES, MERGE_TEXT_BYTES_MAX, MERGE_TEXT_LINES_MAX};

pub mod text;
pub mod tree;
pub mod unified;

/// What a content is, for merging and diffing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Merged and diffed line by line.
    Text,
    /// Has a NUL byte in its first [`BINARY_SNIFF_BYTES`] bytes (see [`is_binary`]).
    Binary,
    /// More than [`MERGE_TEXT_BYTES_MAX`] bytes or [`MERGE_TEXT_LINES_MAX`] lines; handled
    /// like a binary file.
    TooLarge,
}

/// Whether `bytes` is binary by git's rule: a NUL byte in the first [`BINARY_SNIFF_BYTES`]
/// (8,000) bytes. Anything else is text, whatever its encoding, so UTF-16 files (which
/// have NUL bytes) are binary and Latin-1 files are text, as in git.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

/// Classifies a content: too large first (so a huge file is never scanned further), then
/// binary, else text.
pub fn classify(bytes: &[u8]) -> Content {
    if bytes.len() as u64 > MERGE_TEXT_BYTES_MAX || line_count(bytes) > MERGE_TEXT_LINES_MAX {
        Content::TooLarge
    } else if is_binary(bytes) {
        Content::Binary
    } else {
        Content::Text
    }
}

/// Why [`text::merge`] or [`unified::diff`] refused an input. Nothing was computed; the
/// caller handles the file as binary (keeps ours, writes theirs beside it, reports).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotText {
    /// The input named `input` ("base", "ours", "theirs", "old" or "new") is binary.
    #[error(
        "{input} is binary (it has a NUL byte in its first {BINARY_SNIFF_BYTES} bytes), so it is not merged or diffed line by line"
    )]
    Binary {
        /// Which input: `base`, `ours`, `theirs`, `old` or `new`.
        input: &'static str,
    },
    /// The input named `input` has more than [`MERGE_TEXT_BYTES_MAX`] bytes or
    /// [`MERGE_TEXT_LINES_MAX`] lines.
    #[error(
        "{input} is too large to merge or diff line by line: {bytes} bytes in {lines} lines (the limits are {MERGE_TEXT_BYTES_MAX} bytes and {MERGE_TEXT_LINES_MAX} lines)"
    )]
    TooLarge {
        /// Which input: `base`, `ours`, `theirs`, `old` or `new`.
        input: &'static str,
        /// Its size in bytes.
        bytes: u64,
        /// Its number of lines.
        lines: u64,
    },
}

/// `Ok` if `bytes` is [`Content::Text`]; else the refusal naming `input`.
fn require_text(input: &'static str, bytes: &[u8]) -> Result<(), NotText> {
    match classify(bytes) {
        Content::Text => Ok(()),
        Content::Binary => Err(NotText::Binary { input }),
        Content::TooLarge => Err(NotText::TooLarge {
            input,
            bytes: bytes.len() as u64,
            lines: line_count(bytes),
        }),
    }
}

/// How many lines `bytes` has (see the module doc): one per `\n`, plus an unterminated
/// last line.
pub fn line_count(bytes: &[u8]) -> u64 {
    let terminated = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    terminated + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

/// The lines of `bytes` (see the module doc): each ends with its `\n`, except a last line
/// without one.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    imara_diff::sources::byte_lines(bytes).collect()
}

/// The line diff of `input.before` → `input.after` used by merge and diff alike.
fn line_diff(input: &InternedInput<&[u8]>) -> Diff {
    let mut diff = Diff::compute(Algorithm::Histogram, input);
    diff.postprocess_lines(input);
    diff
}
