//! Where each item of a manifest or lock is in its text, and editing a few items of a large
//! document without parsing the rest (store-spec.md §8.1).
//!
//! An [`Outline`] is computed from a full parse (the spans of the table headers), only for a
//! document laid out so that every item is one contiguous run of header blocks:
//!
//! - manifest: `[collection]` (the head) and every `[[artifacts]]` element, each with the
//!   sub-tables that follow it (`[artifacts.metadata]`);
//! - lock: `[lock]` with `[lock.entries]` (the head) and every `[lock.entries."<key>"]`.
//!
//! A block runs from the start of its header's line to the start of the next header's line
//! (comments above the next header are the end of this block). A document written otherwise
//! (`artifacts = [ … ]` inline, an entry written inline, a sub-table far from its artifact,
//! CRLF line ends) has no outline and is always parsed whole.
//!
//! A [`Window`] is a small document made of the head and the chosen items, in document order,
//! with a marker comment line before each segment but the first. Parsed by the ordinary
//! editor, it is itself a valid manifest or lock. The edits an update makes — fields of the
//! chosen items changed, an artifact's metadata replaced, `[collection] updated` set — touch
//! only the inside of those items, never the header lines the markers stand above, so the
//! edited window's text splits at the markers into the new segments, and putting them in
//! place of the old ones gives exactly the text that editing the whole document gives (the
//! tests compare the two, byte for byte).

use std::collections::HashMap;
use std::ops::Range;

use toml_edit::{Item, Table};

/// The start of the line that separates a window's segments; the rest of the line is a token
/// of 128 random bits, new for each window, so no text can contain a marker by chance or on
/// purpose.
const MARKER: &str = "# skillwal-window ";

/// The items of a document and where they are in its text; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// `[collection]` or `[lock]` (with `[lock.entries]`).
    pub head: Range<usize>,
    /// Every artifact or entry, in document order.
    pub items: Vec<OutlineItem>,
}

/// One artifact of a manifest or entry of a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineItem {
    /// `<name>::<type>`.
    pub key: String,
    /// Its index in the document's sequence of artifacts or entries.
    pub ordinal: u32,
    /// Its bytes in the text: its header blocks.
    pub range: Range<usize>,
}

impl Outline {
    /// The item `key`, if the document has it.
    pub fn item(&self, key: &str) -> Option<&OutlineItem> {
        self.items.iter().find(|i| i.key == key)
    }

    /// Whether the outline describes a text of `len` bytes: ranges in order, inside it.
    pub fn fits(&self, len: usize) -> bool {
        let mut end = 0;
        let mut ranges: Vec<&Range<usize>> = self.items.iter().map(|i| &i.range).collect();
        ranges.push(&self.head);
        ranges.sort_by_key(|r| r.start);
        for r in ranges {
            if r.start < end || r.end < r.start || r.end > len {
                return false;
            }
            end = r.end;
        }
        true
    }
}

/// A table header found in a parsed document.
struct Header {
    /// Offset of the header's `[`.
    start: usize,
    /// Its dotted path (`["artifacts", "metadata"]`).
    path: Vec<String>,
    /// `[[…]]`: the index of this element in its array of tables.
    element: Option<usize>,
}

/// The headers of every standard table under `table` (depth first; sorted later).
fn headers(table: &Table, path: &mut Vec<String>, out: &mut Vec<Header>) -> Option<()> {
    for (key, item) in table.iter() {
        path.push(key.to_owned());
        match item {
            Item::Table(t) => {
                if !t.is_implicit() && !t.is_dotted() {
                    out.push(Header {
                        start: t.span()?.start,
                        path: path.clone(),
                        element: None,
                    });
                }
                headers(t, path, out)?;
            }
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    out.push(Header {
                        start: t.span()?.start,
                        path: path.clone(),
                        element: Some(i),
                    });
                    headers(t, path, out)?;
                }
            }
            _ => {}
        }
        path.pop();
    }
    Some(())
}

/// The headers of `root` in text order, each with its block: from the start of its line to
/// the start of the next header's line (the last to the end of the text).
fn blocks(text: &str, root: &Table) -> Option<Vec<(Header, Range<usize>)>> {
    let mut found = Vec::new();
    headers(root, &mut Vec::new(), &mut found)?;
    found.sort_by_key(|h| h.start);
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let starts: Vec<usize> = found.iter().map(|h| line_start(h.start)).collect();
    let mut out = Vec::with_capacity(found.len());
    for (i, h) in found.into_iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        if end <= starts[i] {
            return None; // two headers on one line: not a layout we window
        }
        out.push((h, starts[i]..end));
    }
    Some(out)
}

/// What a block belongs to, as the outline builders classify it.
enum Role {
    /// The start of the head.
    Head,
    /// The start of the item with this key and ordinal.
    Item(String, u32),
    /// A part of the current head or item (a sub-table): `prefix` must be what it belongs to.
    Part(Part),
    /// Anything else (another table): ends the current head or item.
    Other,
}

#[derive(PartialEq, Eq, Clone)]
enum Part {
    Head,
    /// The item with this key.
    Item(String),
    /// The item just above, whatever its key (a manifest's sub-tables name none).
    LastItem,
}

/// Builds an outline from the blocks of `text`, each classified by `role`; `None` when the
/// layout is not one the window can work on (see the module docs).
fn build(text: &str, root: &Table, role: impl Fn(&Header) -> Option<Role>) -> Option<Outline> {
    if text.contains('\r') {
        return None;
    }
    let mut head: Option<Range<usize>> = None;
    let mut items: Vec<OutlineItem> = Vec::new();
    let mut current: Option<Part> = None;
    for (header, range) in blocks(text, root)? {
        match role(&header)? {
            Role::Head => {
                if head.is_some() {
                    return None;
                }
                head = Some(range);
                current = Some(Part::Head);
            }
            Role::Item(key, ordinal) => {
                current = Some(Part::Item(key.clone()));
                items.push(OutlineItem {
                    key,
                    ordinal,
                    range,
                });
            }
            Role::Part(part) => {
                let belongs = match (&part, &current) {
                    (Part::LastItem, Some(Part::Item(_))) => true,
                    (part, Some(current)) => part == current,
                    (_, None) => false,
                };
                if !belongs {
                    return None; // a sub-table away from what it belongs to
                }
                match part {
                    Part::Head => head.as_mut()?.end = range.end,
                    Part::Item(_) | Part::LastItem => items.last_mut()?.range.end = range.end,
                }
            }
            Role::Other => current = None,
        }
    }
    Some(Outline { head: head?, items })
}

/// The outline of the manifest `text`, which must be valid (read without error by the
/// manifest reader, or written by its editor); `None` when its layout has none (see the
/// module docs). It parses `text` (spans kept): a cost paid only where an outline is needed.
pub fn of_manifest(text: &str) -> Option<Outline> {
    let doc = toml_edit::Document::parse(text).ok()?;
    manifest(text, doc.as_table())
}

/// The outline of the lock `text`; see [`of_manifest`].
pub fn of_lock(text: &str) -> Option<Outline> {
    let doc = toml_edit::Document::parse(text).ok()?;
    lock(text, doc.as_table())
}

/// The outline of a manifest `text` whose parsed root table (spans kept) is `root`; `None`
/// when its layout is not windowed (see the module docs).
fn manifest(text: &str, root: &Table) -> Option<Outline> {
    let Some(Item::ArrayOfTables(artifacts)) = root.get("artifacts") else {
        return None;
    };
    if !matches!(root.get("collection"), Some(Item::Table(t)) if !t.is_implicit() && !t.is_dotted())
    {
        return None;
    }
    let keys: Vec<String> = artifacts
        .iter()
        .map(|t| {
            let field = |k| t.get(k).and_then(Item::as_str);
            Some(format!("{}::{}", field("name")?, field("type")?))
        })
        .collect::<Option<_>>()?;
    let outline = build(text, root, |h| {
        let first = h.path.first().map(String::as_str);
        Some(match (first, h.path.len(), h.element) {
            (Some("collection"), 1, None) => Role::Head,
            (Some("collection"), _, _) => Role::Part(Part::Head),
            (Some("artifacts"), 1, Some(i)) => Role::Item(keys.get(i)?.clone(), i as u32),
            (Some("artifacts"), 1, None) => return None,
            (Some("artifacts"), _, _) => Role::Part(Part::LastItem),
            _ => Role::Other,
        })
    })?;
    (outline.items.len() == keys.len()).then_some(outline)
}

/// The outline of a lock `text` (see [`manifest`]).
fn lock(text: &str, root: &Table) -> Option<Outline> {
    let Some(Item::Table(lock)) = root.get("lock") else {
        return None;
    };
    if lock.is_implicit() || lock.is_dotted() {
        return None;
    }
    let entries = match lock.get("entries") {
        Some(Item::Table(t)) if !t.is_dotted() => t,
        None => return build_lock(text, root, &HashMap::new()),
        _ => return None,
    };
    let mut ordinals = HashMap::with_capacity(entries.len());
    for (i, (key, item)) in entries.iter().enumerate() {
        // An entry written inline is inside the `[lock.entries]` block: not windowed.
        match item {
            Item::Table(t) if !t.is_implicit() && !t.is_dotted() => {
                ordinals.insert(key.to_owned(), i as u32);
            }
            _ => return None,
        }
    }
    build_lock(text, root, &ordinals)
}

fn build_lock(text: &str, root: &Table, ordinals: &HashMap<String, u32>) -> Option<Outline> {
    let outline = build(text, root, |h| {
        let p: Vec<&str> = h.path.iter().map(String::as_str).collect();
        Some(match p.as_slice() {
            ["lock"] if h.element.is_none() => Role::Head,
            ["lock", "entries", key] if h.element.is_none() => {
                Role::Item((*key).to_owned(), *ordinals.get(*key)?)
            }
            ["lock", "entries", key, ..] => Role::Part(Part::Item((*key).to_owned())),
            ["lock", ..] => Role::Part(Part::Head),
            _ => Role::Other,
        })
    })?;
    (outline.items.len() == ordinals.len()).then_some(outline)
}

/// A few items of a document and its head, as one small document to edit (see the module
/// docs).
#[derive(Debug, Clone)]
pub struct Window {
    /// The segments' ranges in the original text, in order.
    ranges: Vec<Range<usize>>,
    /// The window's text: the segments with a marker line before each but the first.
    text: String,
    /// The marker line of this window.
    marker: String,
}

impl Window {
    /// The window of `original` over its head and the items `keys` of `outline` (which must
    /// be `original`'s); `None` when a key is not an item of the outline.
    pub fn new(original: &str, outline: &Outline, keys: &[&str]) -> Option<Window> {
        let mut ranges = vec![outline.head.clone()];
        for key in keys {
            let range = outline.item(key)?.range.clone();
            if !ranges.contains(&range) {
                ranges.push(range);
            }
        }
        ranges.sort_by_key(|r| r.start);
        // 128 random bits: no text holds the marker, by chance or on purpose (and if one
        // did, the split in `splice` would find too many segments and refuse).
        let marker = format!("{MARKER}{:016x}{:016x}\n", random(), random());
        let mut text = String::new();
        for (i, r) in ranges.iter().enumerate() {
            if i > 0 {
                text.push_str(&marker);
            }
            text.push_str(original.get(r.clone())?);
        }
        Some(Window {
            ranges,
            text,
            marker,
        })
    }

    /// The window's text, to parse and edit.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The whole document after the window's text became `edited`: `original` with each
    /// segment replaced by the new one, and the segments' new ranges (in order). `None` when
    /// `edited` does not split at the markers into as many segments (an edit touched a
    /// marker: a bug in the caller, which must not use the result).
    pub fn splice(&self, original: &str, edited: &str) -> Option<(String, Vec<Range<usize>>)> {
        let segments: Vec<&str> = edited.split(self.marker.as_str()).collect();
        if segments.len() != self.ranges.len() {
            return None;
        }
        let mut out = String::with_capacity(original.len() + edited.len());
        let mut ranges = Vec::with_capacity(segments.len());
        let mut at = 0;
        for (r, segment) in self.ranges.iter().zip(segments) {
            out.push_str(&original[at..r.start]);
            let start = out.len();
            out.push_str(segment);
            ranges.push(start..out.len());
            at = r.end;
        }
        out.push_str(&original[at..]);
        Some((out, ranges))
    }

    /// The outline of the spliced text: `outline` (the original's) with the window's
    /// segments at `new` (from [`Window::splice`]) and everything after each shifted.
    pub fn shift(&self, outline: &Outline, new: &[Range<usize>]) -> Outline {
        let moved = |r: &Range<usize>| -> Range<usize> {
            if let Some(i) = self.ranges.iter().position(|w| w == r) {
                return new[i].clone();
            }
            // Not in the window: shifted by the growth of every segment before it.
            let mut delta: isize = 0;
            for (old, new) in self.ranges.iter().zip(new) {
                if old.end <= r.start {
                    delta += new.len() as isize - old.len() as isize;
                }
            }
            let shift = |x: usize| (x as isize + delta) as usize;
            shift(r.start)..shift(r.end)
        };
        Outline {
            head: moved(&outline.head),
            items: outline
                .items
                .iter()
                .map(|i| OutlineItem {
                    key: i.key.clone(),
                    ordinal: i.ordinal,
                    range: moved(&i.range),
                })
                .collect(),
        }
    }
}

/// 64 random bits (std's hash keys are random per process; each hasher adds a counter).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skillmeat::format::lock::LockEntry;
    use crate::skillmeat::format::lock_edit::LockEditor;
    use crate::skillmeat::format::manifest_edit::ManifestEditor;
    use crate::skillmeat::format::names::ArtifactType;

    const MANIFEST: &str = r#"# my collection
[collection]
name = "c"   # the name
version = "1.0.0"
created = "t0"
updated = "t0"

# the first skill
[[artifacts]]
name = "a"
type = "skill"
path = "skills/a"
origin = "local"
added = "t0"
tags = ["x", "y"]
skillwal_source = "/src/a"

[artifacts.metadata]
description = "A"   # kept?

[[artifacts]]
name = "b"
type = "skill"
path = "skills/b"
origin = "github"
added = "t0"
upstream = "https://example.com/b"
skillwal_path = "b"

[[groups]]
name = "g"

[[artifacts]]
name = "c"
type = "agent"
path = "agents/c.md"
origin = "local"
added = "t0"
[artifacts.metadata]
title = "C"
[artifacts.metadata.deep]
x = 1
# trailing comment
"#;

    const LOCK: &str = r#"[lock]
version = "1.0.0"

[lock.entries]

[lock.entries."a::skill"]
content_hash = "0000000000000000000000000000000000000000000000000000000000000000"
fetched = "t0"

# b's entry
[lock.entries."b::skill"]
content_hash = "1111111111111111111111111111111111111111111111111111111111111111"
fetched = "t0"
upstream = "https://example.com/b"

[lock.entries."c::agent"]
content_hash = "2222222222222222222222222222222222222222222222222222222222222222"
fetched = "t0"
"#;

    fn key(name: &str, ty: ArtifactType) -> String {
        format!("{name}::{ty}")
    }

    #[test]
    fn items_are_their_header_blocks() {
        let o = of_manifest(MANIFEST).expect("windowed layout");
        assert!(o.fits(MANIFEST.len()));
        assert!(MANIFEST[o.head.clone()].starts_with("[collection]\n"));
        assert!(MANIFEST[o.head.clone()].ends_with("\n# the first skill\n"));
        let keys: Vec<(&str, u32)> = o
            .items
            .iter()
            .map(|i| (i.key.as_str(), i.ordinal))
            .collect();
        assert_eq!(keys, [("a::skill", 0), ("b::skill", 1), ("c::agent", 2)]);
        assert!(MANIFEST[o.items[0].range.clone()].contains("description = \"A\""));
        assert!(!MANIFEST[o.items[1].range.clone()].contains("[[groups]]"));
        assert!(MANIFEST[o.items[2].range.clone()].ends_with("x = 1\n# trailing comment\n"));
        let o = of_lock(LOCK).expect("windowed layout");
        assert!(LOCK[o.head.clone()].contains("[lock.entries]\n"));
        let keys: Vec<(&str, u32)> = o
            .items
            .iter()
            .map(|i| (i.key.as_str(), i.ordinal))
            .collect();
        assert_eq!(keys, [("a::skill", 0), ("b::skill", 1), ("c::agent", 2)]);
    }

    #[test]
    fn other_layouts_have_no_outline() {
        let cases = [
            // inline artifacts
            "artifacts = []\n[collection]\nname = \"c\"\nversion = \"1\"\ncreated = \"t\"\nupdated = \"t\"\n",
            // a sub-table away from its artifact
            "[collection]\nname = \"c\"\nversion = \"1\"\ncreated = \"t\"\nupdated = \"t\"\n\
             [[artifacts]]\nname = \"a\"\ntype = \"skill\"\npath = \"skills/a\"\norigin = \"local\"\nadded = \"t\"\n\
             [[groups]]\nname = \"g\"\n[artifacts.metadata]\nx = \"1\"\n",
            // CRLF
            "[collection]\r\nname = \"c\"\r\nversion = \"1\"\r\ncreated = \"t\"\r\nupdated = \"t\"\r\n",
        ];
        for text in cases {
            ManifestEditor::parse(text, "m").expect("a valid manifest");
            assert_eq!(of_manifest(text), None, "{text}");
        }
        let inline_entry = "[lock]\nversion = \"1\"\n[lock.entries]\n\"a::skill\" = { content_hash = \"0000000000000000000000000000000000000000000000000000000000000000\", fetched = \"t\" }\n";
        LockEditor::parse(inline_entry, "l").expect("a valid lock");
        assert_eq!(of_lock(inline_entry), None);
    }

    /// The edits an update makes to one artifact, applied to an editor.
    fn edit_manifest(m: &mut ManifestEditor, name: &str, ty: ArtifactType, variant: u32) {
        let mut meta = toml::Table::new();
        match variant % 3 {
            0 => {}
            1 => drop(meta.insert("description".into(), "A".into())),
            _ => drop(meta.insert("description".into(), format!("new {variant}").into())),
        }
        m.set_metadata(name, ty, &meta).unwrap();
        let mut a = m.artifact_mut(name, ty).unwrap();
        a.set_upstream(Some("https://example.com/new"));
        a.set_version_spec(variant.is_multiple_of(2).then_some("latest"));
        a.set_resolved_sha(Some("abc"));
        a.set_last_updated(Some("t1"));
        a.set_string("skillwal_source", "/src/new").unwrap();
        a.remove_string("skillwal_path").unwrap();
        m.set_updated("t1");
    }

    fn edit_lock(l: &mut LockEditor, name: &str, ty: ArtifactType, variant: u32) {
        let hash = format!("{:064x}", variant + 7);
        let mut e = LockEntry::new(name, ty, &hash, "t1").unwrap();
        e.upstream = (variant % 2 == 1).then(|| "https://example.com/new".to_owned());
        e.resolved_sha = Some("abc".into());
        l.set_entry(&e).unwrap();
    }

    /// Editing a window and splicing gives the text, field changes and outline that editing
    /// the whole document gives, for every artifact and every variant of the edits.
    #[test]
    fn window_edits_equal_whole_edits() {
        let artifacts = [
            ("a", ArtifactType::Skill),
            ("b", ArtifactType::Skill),
            ("c", ArtifactType::Agent),
        ];
        for (name, ty) in artifacts {
            for variant in 0..6 {
                let k = key(name, ty);
                // Whole.
                let mut whole_m = ManifestEditor::parse(MANIFEST, "m").unwrap();
                edit_manifest(&mut whole_m, name, ty, variant);
                let mut whole_l = LockEditor::parse(LOCK, "l").unwrap();
                edit_lock(&mut whole_l, name, ty, variant);
                // Window.
                let outline_m = of_manifest(MANIFEST).unwrap();
                let wm = Window::new(MANIFEST, &outline_m, &[&k]).unwrap();
                let mut m = ManifestEditor::parse(wm.text(), "m").unwrap();
                edit_manifest(&mut m, name, ty, variant);
                let (text_m, new_m) = wm.splice(MANIFEST, &m.to_string()).unwrap();
                assert_eq!(text_m, whole_m.to_string(), "{k} {variant}");
                assert_eq!(m.changes(), whole_m.changes(), "{k} {variant}");
                assert_eq!(Some(wm.shift(&outline_m, &new_m)), of_manifest(&text_m));

                let outline_l = of_lock(LOCK).unwrap();
                let wl = Window::new(LOCK, &outline_l, &[&k]).unwrap();
                let mut l = LockEditor::parse(wl.text(), "l").unwrap();
                edit_lock(&mut l, name, ty, variant);
                let (text_l, new_l) = wl.splice(LOCK, &l.to_string()).unwrap();
                assert_eq!(text_l, whole_l.to_string(), "{k} {variant}");
                assert_eq!(l.changes(), whole_l.changes(), "{k} {variant}");
                assert_eq!(Some(wl.shift(&outline_l, &new_l)), of_lock(&text_l));
            }
        }
    }

    #[test]
    fn a_window_over_two_items_and_an_unedited_window() {
        let m = ManifestEditor::parse(MANIFEST, "m").unwrap();
        let o = &of_manifest(MANIFEST).unwrap();
        let w = Window::new(MANIFEST, o, &["c::agent", "a::skill"]).unwrap();
        let mut edited = ManifestEditor::parse(w.text(), "m").unwrap();
        assert_eq!(w.splice(MANIFEST, &edited.to_string()).unwrap().0, MANIFEST);
        let mut whole = m.clone();
        for e in [&mut edited, &mut whole] {
            edit_manifest(e, "a", ArtifactType::Skill, 2);
            edit_manifest(e, "c", ArtifactType::Agent, 1);
        }
        assert_eq!(
            w.splice(MANIFEST, &edited.to_string()).unwrap().0,
            whole.to_string()
        );
        assert!(Window::new(MANIFEST, o, &["zz::skill"]).is_none());
    }

    #[test]
    fn a_marker_touched_is_refused() {
        let o = of_manifest(MANIFEST).unwrap();
        let w = Window::new(MANIFEST, &o, &["b::skill"]).unwrap();
        assert!(
            w.splice(MANIFEST, &w.text().replace("# skillwal-window", "#"))
                .is_none()
        );
        let doubled = format!("{}{}", w.text(), &w.marker);
        assert!(w.splice(MANIFEST, &doubled).is_none());
    }
}
