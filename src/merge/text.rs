//! Line-based three-way merge (diff3) of one file's base, ours and theirs contents.
//!
//! # How
//!
//! Two line diffs are taken, base→ours and base→theirs (see the [module doc](super) for
//! the algorithm). Their hunks are walked in base order and grouped into *regions*: a hunk
//! joins a region when its base range overlaps the region's or touches it (starts where
//! the region ends), so changes to adjacent lines, and insertions at the same point, land in
//! one region, as in git (`xdl_merge`). Base lines outside every region are unchanged on both
//! sides and copied. A region changed by one side only takes that side; changed by both to
//! the same lines, takes them; otherwise it is a conflict.
//!
//! # Conflicts
//!
//! Lines at the start and at the end of a conflicting region that ours and theirs both
//! have are written once, outside the markers (git's `zdiff3` style); what remains is
//! written in diff3 style, with the region's whole base text in the middle section so the
//! reader sees what each side changed:
//!
//! ```text
//! <<<<<<< ours-label
//! ours' lines
//! ||||||| base-label
//! the base lines of the region
//! =======
//! theirs' lines
//! >>>>>>> theirs-label
//! ```
//!
//! The markers are 7 characters, followed by a space and the label when the label is not
//! empty (a `\r` or `\n` in a label is written as a space). They end with `\r\n` or `\n`
//! as git decides it (see `marker_eol`): CRLF only when the files around the conflict use
//! CRLF. A section whose last line has no newline (the last line of its file) gets one,
//! the markers' line ending, before the next marker, as git does, so every marker starts a
//! line. The output is that of `git merge-file --zdiff3 --diff-algorithm=histogram` with
//! the same labels; tests/merge.rs checks it against git on random inputs.

use std::ops::Range;

use imara_diff::{Hunk, InternedInput, Token};

use super::{NotText, line_diff, lines, require_text};

/// The labels written after the conflict markers, e.g. "ours (on disk)", "base (v1.0.0)",
/// "theirs (v1.1.0)".
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// After `<<<<<<<`: what our side is.
    pub ours: &'a str,
    /// After `|||||||`: what the common base is.
    pub base: &'a str,
    /// After `>>>>>>>`: what their side is.
    pub theirs: &'a str,
}

/// The result of [`merge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The merged file: clean, or with conflict markers where [`Merged::conflicts`] says.
    pub content: Vec<u8>,
    /// The conflict regions, in file order; empty when the merge is clean.
    pub conflicts: Vec<Conflict>,
}

impl Merged {
    /// True when no region conflicted (the content has no markers that the merge wrote).
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty()
    }
}

/// One conflict region. Line ranges are 0-based and half-open, counted in lines as the
/// [module doc](super) defines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The lines of [`Merged::content`] from the `<<<<<<<` line to the `>>>>>>>` line,
    /// both included. Line `n` is shown to people as line `n + 1`.
    pub output: Range<usize>,
    /// The base lines of the whole region (shown between `|||||||` and `=======`).
    pub base: Range<usize>,
    /// The lines of ours between `<<<<<<<` and `|||||||`.
    pub ours: Range<usize>,
    /// The lines of theirs between `=======` and `>>>>>>>`.
    pub theirs: Range<usize>,
}

/// Merges `ours` and `theirs`, two descendants of `base`, line by line.
///
/// Promises: `merge(b, x, b)`, `merge(b, b, x)` and `merge(b, x, x)` are clean and give `x`
/// byte for byte; swapping ours and theirs gives the same clean parts and the same
/// conflicts with the sides swapped; lines of a side are never altered, except for the
/// newline added before a marker (see the [module doc](self)). Work is bounded: each
/// input has at most [`MERGE_TEXT_BYTES_MAX`](crate::limits::MERGE_TEXT_BYTES_MAX) bytes
/// and [`MERGE_TEXT_LINES_MAX`](crate::limits::MERGE_TEXT_LINES_MAX) lines.
///
/// Fails, computing nothing, when an input is binary or too large ([`NotText`]; inputs
/// are checked in the order base, ours, theirs). An empty base is allowed: merging two
/// files added on both sides takes `base = b""`.
pub fn merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    labels: &Labels<'_>,
) -> Result<Merged, NotText> {
    require_text("base", base)?;
    require_text("ours", ours)?;
    require_text("theirs", theirs)?;

    let mut input = InternedInput::new(base, ours);
    let ours_hunks: Vec<Hunk> = line_diff(&input).hunks().collect();
    let ours_tokens = std::mem::take(&mut input.after);
    input.update_after(imara_diff::sources::byte_lines(theirs));
    let theirs_hunks: Vec<Hunk> = line_diff(&input).hunks().collect();

    let base_side = Side::new(base, std::mem::take(&mut input.before));
    let ours_side = Side::new(ours, ours_tokens);
    let theirs_side = Side::new(theirs, std::mem::take(&mut input.after));
    let mut out = Output::new(labels);

    let mut base_done = 0;
    for region in regions(&ours_hunks, &theirs_hunks) {
        out.lines(&base_side.lines[base_done..region.base.start]);
        resolve(&mut out, &region, &base_side, &ours_side, &theirs_side);
        base_done = region.base.end;
    }
    out.lines(&base_side.lines[base_done..]);
    Ok(Merged {
        content: out.bytes,
        conflicts: out.conflicts,
    })
}

/// One input: its lines and their interned tokens (one token per line; equal tokens mean
/// equal bytes, across all three inputs, because they share one interner).
struct Side<'a> {
    lines: Vec<&'a [u8]>,
    tokens: Vec<Token>,
}

impl<'a> Side<'a> {
    fn new(bytes: &'a [u8], tokens: Vec<Token>) -> Side<'a> {
        let lines = lines(bytes);
        debug_assert_eq!(lines.len(), tokens.len());
        Side { lines, tokens }
    }
}

/// A stretch of base changed by one side or both, with the matching lines of each side.
#[derive(Debug, PartialEq, Eq)]
struct Region {
    base: Range<usize>,
    ours: Range<usize>,
    theirs: Range<usize>,
    ours_changed: bool,
    theirs_changed: bool,
}

/// Groups the hunks of base→ours and base→theirs into regions, in base order.
fn regions(ours: &[Hunk], theirs: &[Hunk]) -> Vec<Region> {
    let mut out = Vec::new();
    let (mut o, mut t) = (Walk::new(ours), Walk::new(theirs));
    while let Some(start) = min_opt(o.next_start(), t.next_start()) {
        let (o_index, o_offset) = (o.index, o.offset);
        let (t_index, t_offset) = (t.index, t.offset);
        let mut end = start;
        // A hunk joins while it starts at or before the region's end; each join may extend
        // the end and so let a hunk of the other side join.
        loop {
            let took_ours = o.take_if_starts_by(&mut end);
            let took_theirs = t.take_if_starts_by(&mut end);
            if !took_ours && !took_theirs {
                break;
            }
        }
        // Lines before the region's first hunk and after its last are unchanged on each
        // side, so each side's range follows from the offsets before and after the region.
        out.push(Region {
            base: start..end,
            ours: shift(start, o_offset)..shift(end, o.offset),
            theirs: shift(start, t_offset)..shift(end, t.offset),
            ours_changed: o.index > o_index,
            theirs_changed: t.index > t_index,
        });
    }
    out
}

/// A cursor over one side's hunks: the next hunk, and how far that side's line numbers are
/// ahead of base's after the hunks already taken.
struct Walk<'h> {
    hunks: &'h [Hunk],
    index: usize,
    offset: isize,
}

impl<'h> Walk<'h> {
    fn new(hunks: &'h [Hunk]) -> Walk<'h> {
        Walk {
            hunks,
            index: 0,
            offset: 0,
        }
    }

    fn next_start(&self) -> Option<usize> {
        self.hunks.get(self.index).map(|h| h.before.start as usize)
    }

    /// Takes every next hunk that starts at or before `*end`, extending `*end` to cover it.
    fn take_if_starts_by(&mut self, end: &mut usize) -> bool {
        let mut took = false;
        while let Some(h) = self.hunks.get(self.index) {
            if h.before.start as usize > *end {
                break;
            }
            *end = (*end).max(h.before.end as usize);
            self.offset += h.after.len() as isize - h.before.len() as isize;
            self.index += 1;
            took = true;
        }
        took
    }
}

fn min_opt(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn shift(base_line: usize, offset: isize) -> usize {
    base_line
        .checked_add_signed(offset)
        .expect("a side's line number is never negative")
}

/// Writes the merge of one region.
fn resolve(out: &mut Output<'_>, r: &Region, base: &Side<'_>, ours: &Side<'_>, theirs: &Side<'_>) {
    let (o, t) = (r.ours.clone(), r.theirs.clone());
    if !r.theirs_changed || ours.tokens[o.clone()] == theirs.tokens[t.clone()] {
        out.lines(&ours.lines[o]);
        return;
    }
    if !r.ours_changed {
        out.lines(&theirs.lines[t]);
        return;
    }
    // Both changed, differently. Lines both sides start or end the region with are common
    // to them: write them once, outside the markers.
    let (o_tok, t_tok) = (&ours.tokens[o.clone()], &theirs.tokens[t.clone()]);
    let prefix = o_tok.iter().zip(t_tok).take_while(|(a, b)| a == b).count();
    let room = o_tok.len().min(t_tok.len()) - prefix;
    let suffix = o_tok
        .iter()
        .rev()
        .zip(t_tok.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    out.lines(&ours.lines[o.start..o.start + prefix]);
    let conflict = Conflict {
        output: 0..0,
        base: r.base.clone(),
        ours: o.start + prefix..o.end - suffix,
        theirs: t.start + prefix..t.end - suffix,
    };
    out.conflict(conflict, base, ours, theirs);
    out.lines(&ours.lines[o.end - suffix..o.end]);
}

/// The line ending of one conflict's markers, decided as git does (`is_cr_needed`):
/// `\r\n` when the line before the conflict in ours (its first line when the conflict
/// starts the file) and the same line in theirs are not LF-terminated, and base's first line
/// is CRLF-terminated; `\n` otherwise, and when nothing settles it.
fn marker_eol(
    ours: &Side<'_>,
    ours_at: usize,
    theirs: &Side<'_>,
    theirs_at: usize,
    base: &Side<'_>,
) -> &'static [u8] {
    let mut crlf = eol_is_crlf(&ours.lines, ours_at.saturating_sub(1));
    if crlf != Some(false) {
        crlf = eol_is_crlf(&theirs.lines, theirs_at.saturating_sub(1));
    }
    if crlf != Some(false) {
        crlf = eol_is_crlf(&base.lines, 0);
    }
    match crlf {
        Some(true) => b"\r\n",
        _ => b"\n",
    }
}

/// Whether line `i` ends with CRLF; for an unterminated last line, the line before it
/// decides; `None` when there is no line to decide (git's `is_eol_crlf`).
fn eol_is_crlf(lines: &[&[u8]], i: usize) -> Option<bool> {
    let line = lines.get(i)?;
    if line.ends_with(b"\n") {
        return Some(line.ends_with(b"\r\n"));
    }
    let before = lines.get(i.checked_sub(1)?)?;
    Some(before.ends_with(b"\r\n"))
}

/// The merged content being written, with its line count and the conflicts so far.
struct Output<'l> {
    bytes: Vec<u8>,
    line_count: usize,
    conflicts: Vec<Conflict>,
    labels: &'l Labels<'l>,
}

impl<'l> Output<'l> {
    fn new(labels: &'l Labels<'l>) -> Output<'l> {
        Output {
            bytes: Vec::new(),
            line_count: 0,
            conflicts: Vec::new(),
            labels,
        }
    }

    fn lines(&mut self, lines: &[&[u8]]) {
        for line in lines {
            self.bytes.extend_from_slice(line);
            if line.ends_with(b"\n") {
                self.line_count += 1;
            }
        }
    }

    /// Ends an unterminated last line, so the next marker starts a line of its own.
    fn end_line(&mut self, eol: &[u8]) {
        if !self.bytes.is_empty() && !self.bytes.ends_with(b"\n") {
            self.bytes.extend_from_slice(eol);
            self.line_count += 1;
        }
    }

    fn marker(&mut self, marker: &[u8], label: &str, eol: &[u8]) {
        self.end_line(eol);
        self.bytes.extend_from_slice(marker);
        if !label.is_empty() {
            self.bytes.push(b' ');
            let label = label.replace(['\r', '\n'], " ");
            self.bytes.extend_from_slice(label.as_bytes());
        }
        self.bytes.extend_from_slice(eol);
        self.line_count += 1;
    }

    /// Writes conflict `c` (its `output` range is filled in here) between markers.
    fn conflict(&mut self, mut c: Conflict, base: &Side<'_>, ours: &Side<'_>, theirs: &Side<'_>) {
        let eol = marker_eol(ours, c.ours.start, theirs, c.theirs.start, base);
        self.end_line(eol);
        let first = self.line_count;
        self.marker(b"<<<<<<<", self.labels.ours, eol);
        self.lines(&ours.lines[c.ours.clone()]);
        self.marker(b"|||||||", self.labels.base, eol);
        self.lines(&base.lines[c.base.clone()]);
        self.marker(b"=======", "", eol);
        self.lines(&theirs.lines[c.theirs.clone()]);
        self.marker(b">>>>>>>", self.labels.theirs, eol);
        c.output = first..self.line_count;
        self.conflicts.push(c);
    }
}
