//! Unified diff of one file, for `diff NAME`.
//!
//! The format is the one `git diff` and `diff -u` write and `patch` and `git apply` read:
//!
//! ```text
//! --- a/path            (--- /dev/null when the file is added)
//! +++ b/path            (+++ /dev/null when the file is deleted)
//! @@ -l,n +l,n @@       one hunk: old start line and count, new start line and count
//!  context line
//! -removed line
//! +added line
//! \ No newline at end of file    (after a line that is the unterminated end of its file)
//! ```
//!
//! Hunks carry [`CONTEXT_LINES`] lines of context, and changes separated by at most twice
//! that many unchanged lines share a hunk. Ranges follow git: start lines count from 1,
//! a count of 1 is written without `,1`, and an empty range starts at the line before it
//! (`-0,0` at the top of the file). Lines are written byte for byte, so the diff of a CRLF
//! file keeps its `\r`.

use imara_diff::{Hunk, InternedInput};

use super::{NotText, line_diff, lines, require_text};

/// Unchanged lines shown before and after each change.
pub const CONTEXT_LINES: usize = 3;

/// A rendered diff and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnifiedDiff {
    /// The diff, headers included; empty when the contents have the same lines. Bytes, not
    /// a string: the files' lines are copied as they are, in whatever encoding they have.
    pub text: Vec<u8>,
    /// Number of `@@` hunks.
    pub hunks: usize,
    /// Lines added (`+`).
    pub added: usize,
    /// Lines removed (`-`).
    pub removed: usize,
}

/// Renders the diff from `old` to `new` of the file at `path` (relative, written after
/// `a/` and `b/` verbatim: callers pass validated paths). `None` means the file does not
/// exist on that side: it is diffed as empty and its header names `/dev/null`.
///
/// The text is empty when the two have the same lines, including when a file is added or
/// deleted empty: the caller, which knows from [`tree::plan`](super::tree::plan) that a
/// path is added or deleted, says so itself.
///
/// Fails, computing nothing, when `old` or `new` is binary or too large ([`NotText`]);
/// `diff NAME` then reports that the file differs without showing lines.
pub fn diff(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> Result<UnifiedDiff, NotText> {
    let old_bytes = old.unwrap_or_default();
    let new_bytes = new.unwrap_or_default();
    require_text("old", old_bytes)?;
    require_text("new", new_bytes)?;

    let input = InternedInput::new(old_bytes, new_bytes);
    let changes: Vec<Hunk> = line_diff(&input).hunks().collect();
    let mut out = UnifiedDiff {
        text: Vec::new(),
        hunks: 0,
        added: 0,
        removed: 0,
    };
    if changes.is_empty() {
        return Ok(out);
    }
    let header = |marker: &str, prefix: &str, present: bool| match present {
        true => format!("{marker} {prefix}{path}\n"),
        false => format!("{marker} /dev/null\n"),
    };
    out.text
        .extend_from_slice(header("---", "a/", old.is_some()).as_bytes());
    out.text
        .extend_from_slice(header("+++", "b/", new.is_some()).as_bytes());

    let (old_lines, new_lines) = (lines(old_bytes), lines(new_bytes));
    for group in groups(&changes) {
        write_hunk(&mut out, group, &old_lines, &new_lines);
    }
    Ok(out)
}

/// Splits the changes into hunks: consecutive changes whose contexts would overlap or
/// touch (at most `2 * CONTEXT_LINES` unchanged lines apart) share one.
fn groups(changes: &[Hunk]) -> Vec<&[Hunk]> {
    let mut out = Vec::new();
    let mut first = 0;
    for i in 1..=changes.len() {
        let split = i == changes.len()
            || (changes[i].before.start - changes[i - 1].before.end) as usize > 2 * CONTEXT_LINES;
        if split {
            out.push(&changes[first..i]);
            first = i;
        }
    }
    out
}

/// Writes one hunk: its `@@` line, then context, removed and added lines.
fn write_hunk(out: &mut UnifiedDiff, group: &[Hunk], old: &[&[u8]], new: &[&[u8]]) {
    let (first, last) = (&group[0], &group[group.len() - 1]);
    // Lines before the first change and after the last are unchanged, so the same number
    // of context lines exists on both sides.
    let lead = CONTEXT_LINES.min(first.before.start as usize);
    let trail = CONTEXT_LINES.min(old.len() - last.before.end as usize);
    let old_start = first.before.start as usize - lead;
    let new_start = first.after.start as usize - lead;
    let old_end = last.before.end as usize + trail;
    let new_end = last.after.end as usize + trail;
    let range = |start: usize, end: usize| match end - start {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        n => format!("{},{n}", start + 1),
    };
    let at = format!(
        "@@ -{} +{} @@\n",
        range(old_start, old_end),
        range(new_start, new_end)
    );
    out.text.extend_from_slice(at.as_bytes());
    out.hunks += 1;

    let mut old_pos = old_start;
    for change in group {
        let (before, after) = (change.before.start as usize, change.before.end as usize);
        write_lines(&mut out.text, b' ', &old[old_pos..before]);
        write_lines(&mut out.text, b'-', &old[before..after]);
        let added = &new[change.after.start as usize..change.after.end as usize];
        write_lines(&mut out.text, b'+', added);
        out.removed += after - before;
        out.added += added.len();
        old_pos = after;
    }
    write_lines(&mut out.text, b' ', &old[old_pos..old_end]);
    debug_assert!(new_end <= new.len());
}

fn write_lines(text: &mut Vec<u8>, prefix: u8, lines: &[&[u8]]) {
    for line in lines {
        text.push(prefix);
        text.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            text.extend_from_slice(b"\n\\ No newline at end of file\n");
        }
    }
}
