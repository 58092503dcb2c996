//! Field-level differences between two manifests or two locks.
//!
//! Each document is seen as a list of items, each a list of (field, value) leaves:
//!
//! - manifest: `collection` (the `[collection]` table), one item per artifact named
//!   `"<name>::<type>"`, whatever the artifact's type;
//! - lock: `lock` (the `[lock]` table without its entries), one item per entry named by
//!   its key (`"<name>::<type>"`);
//! - both: every other top-level table under its key (`mcp_servers[0]` for arrays of
//!   tables), and top-level plain values under the item `(root)`.
//!
//! Nested tables are flattened into dotted field paths (`metadata.description`). Values are
//! rendered as short normalized TOML text (`"abc"`, `["a", "b"]`, `90`), so a change of
//! quoting, spacing or comments is not a difference; no value is truncated.
//!
//! Only differing fields are reported. An item present on one side only reports every one of
//! its fields with `None` on the other side. Order: items in `before` order then new items in
//! `after` order; fields likewise. `[collection] updated` is an ordinary field: it changes
//! on every write and is reported like any other.
//!
//! An editor records in a `Saved` each item it changes, as it was before the first change;
//! its `changes()` ([`ManifestEditor::changes`], [`LockEditor::changes`]) gives what diffing
//! its original document against the document now gives, copying and comparing only those
//! items. (Only a document in which another top-level table has the name of a changed item,
//! e.g. `["my-skill::skill"]` beside that artifact, could differ: a whole-document diff merges
//! the two tables into one item.)

use std::collections::HashMap;

use toml_edit::{DocumentMut, Item, Key, Table, TableLike, Value};

use super::editor::{flatten, flatten_item, render_value};
use super::lock_edit::LockEditor;
use super::manifest_edit::ManifestEditor;

/// One changed field: the engine's journal type, which the collection layer fills.
pub use crate::journal::format::FieldChange;

/// The changed fields from manifest `before` to manifest `after`; `None` is a missing
/// document (so `(None, Some(new))` lists everything in `new` as added).
pub fn diff_manifests(
    before: Option<&ManifestEditor>,
    after: Option<&ManifestEditor>,
) -> Vec<FieldChange> {
    let items =
        |m: Option<&ManifestEditor>| m.map(|m| manifest_items(m.document())).unwrap_or_default();
    diff_items(items(before), items(after))
}

/// The changed fields from lock `before` to lock `after`; `None` is a missing document.
pub fn diff_locks(before: Option<&LockEditor>, after: Option<&LockEditor>) -> Vec<FieldChange> {
    let items = |l: Option<&LockEditor>| l.map(|l| lock_items(l.document())).unwrap_or_default();
    diff_items(items(before), items(after))
}

pub(crate) type Fields = Vec<(String, String)>;

/// Items in document order, with an index by name: a document of N items is merged and
/// compared in O(N), not O(N²) (10,000 artifacts made the linear lookups the bulk of an
/// update's time).
#[derive(Default)]
struct Items {
    list: Vec<(String, Fields)>,
    index: HashMap<String, usize>,
}

fn manifest_items(doc: &DocumentMut) -> Items {
    let mut items = Items::default();
    if let Some(collection) = doc.get("collection").and_then(Item::as_table_like) {
        push_item(&mut items, "collection", collection);
    }
    let artifacts: Vec<&dyn TableLike> = match doc.get("artifacts") {
        Some(Item::ArrayOfTables(aot)) => aot.iter().map(|t| t as &dyn TableLike).collect(),
        Some(Item::Value(Value::Array(array))) => array
            .iter()
            .filter_map(Value::as_inline_table)
            .map(|t| t as &dyn TableLike)
            .collect(),
        _ => Vec::new(),
    };
    for (i, artifact) in artifacts.into_iter().enumerate() {
        let text = |k| artifact.get(k).and_then(Item::as_str);
        let name = match (text("name"), text("type")) {
            (Some(name), Some(type_name)) => format!("{name}::{type_name}"),
            _ => format!("artifacts[{i}]"),
        };
        push_item(&mut items, &name, artifact);
    }
    other_items(doc.as_table(), &["collection", "artifacts"], &mut items);
    items
}

fn lock_items(doc: &DocumentMut) -> Items {
    let mut items = Items::default();
    if let Some(lock) = doc.get("lock").and_then(Item::as_table_like) {
        merge_fields(&mut items, "lock", lock_head_fields(lock));
        if let Some(entries) = lock.get("entries").and_then(Item::as_table_like) {
            for (key, entry) in entries.iter() {
                let mut fields = Fields::new();
                flatten_item(entry, "", &mut fields);
                merge_fields(&mut items, key, fields);
            }
        }
    }
    other_items(doc.as_table(), &["lock"], &mut items);
    items
}

/// The fields of the item `lock`: those of `[lock]` but its entries.
pub(crate) fn lock_head_fields(lock: &dyn TableLike) -> Fields {
    let mut fields = Fields::new();
    for (k, item) in lock.iter().filter(|(k, _)| *k != "entries") {
        flatten_item(item, &Key::new(k).display_repr(), &mut fields);
    }
    fields
}

/// Top-level content other than `skip`: tables by name, arrays of tables by index, plain
/// values under `(root)`.
fn other_items(root: &Table, skip: &[&str], items: &mut Items) {
    for (key, item) in root.iter().filter(|(k, _)| !skip.contains(k)) {
        match item {
            Item::Table(t) => push_item(items, key, t),
            Item::Value(Value::InlineTable(t)) => push_item(items, key, t),
            Item::ArrayOfTables(aot) => {
                for (i, t) in aot.iter().enumerate() {
                    push_item(items, &format!("{key}[{i}]"), t);
                }
            }
            Item::Value(v) => {
                merge_fields(items, "(root)", vec![(key.to_owned(), render_value(v))]);
            }
            Item::None => {}
        }
    }
}

fn push_item(items: &mut Items, name: &str, table: &dyn TableLike) {
    let mut fields = Fields::new();
    flatten(table, "", &mut fields);
    merge_fields(items, name, fields);
}

impl FromIterator<(String, Fields)> for Items {
    /// Items in iteration order; a repeated name merges its fields into the first.
    fn from_iter<I: IntoIterator<Item = (String, Fields)>>(iter: I) -> Items {
        let mut items = Items::default();
        for (name, fields) in iter {
            merge_fields(&mut items, &name, fields);
        }
        items
    }
}

fn merge_fields(items: &mut Items, name: &str, fields: Fields) {
    match items.index.get(name) {
        Some(&i) => items.list[i].1.extend(fields),
        None => {
            items.index.insert(name.to_owned(), items.list.len());
            items.list.push((name.to_owned(), fields));
        }
    }
}

fn diff_items(before: Items, after: Items) -> Vec<FieldChange> {
    let empty = Fields::new();
    let mut changes = Vec::new();
    for (name, fields) in &before.list {
        let other = after.index.get(name).map_or(&empty, |i| &after.list[*i].1);
        diff_fields(name, fields, other, &mut changes);
    }
    for (name, fields) in after
        .list
        .iter()
        .filter(|(n, _)| !before.index.contains_key(n))
    {
        diff_fields(name, &empty, fields, &mut changes);
    }
    changes
}

fn diff_fields(item: &str, before: &Fields, after: &Fields, changes: &mut Vec<FieldChange>) {
    let before_map: HashMap<&str, &str> = before
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_str()))
        .collect();
    let after_map: HashMap<&str, &str> = after
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_str()))
        .collect();
    let mut push = |field: &str, b: Option<&str>, a: Option<&str>| {
        if b != a {
            changes.push(FieldChange {
                item: item.to_owned(),
                field: field.to_owned(),
                before: b.map(str::to_owned),
                after: a.map(str::to_owned),
            });
        }
    };
    for (field, value) in before {
        push(field, Some(value), after_map.get(field.as_str()).copied());
    }
    for (field, value) in after {
        if !before_map.contains_key(field.as_str()) {
            push(field, None, Some(value));
        }
    }
}

/// Where an item is in its document: the table before the sequence (`[collection]`,
/// `[lock]`), or the element at this index of the sequence (artifacts, lock entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Slot {
    Head,
    Element(usize),
}

/// The items an editor changed since its original text, each as it was then; see the
/// module documentation.
///
/// The editor calls [`Saved::save`] before it first changes an item (and for an item it
/// adds), and [`Saved::remove`] when it removes a sequence element. It must only change, add
/// or remove items in ways that keep the items it does not save exactly as they were, add
/// elements at the end of their sequence, and remove them without reordering the others.
#[derive(Debug, Clone, Default)]
pub(crate) struct Saved {
    items: Vec<SavedItem>,
    /// Original indices of the removed elements that were in the original text, ascending.
    removed: Vec<usize>,
}

#[derive(Debug, Clone)]
struct SavedItem {
    /// The item's name in the diff: `collection`, `lock`, `"<name>::<type>"`.
    name: String,
    /// Where it was in the original text and its table then (standard or inline); `None`
    /// for an item added since.
    original: Option<(Slot, Item)>,
    /// The original element was removed (counted in [`Saved::removed`]; if it is added
    /// again, that is a new element at the end).
    removed: bool,
}

impl Saved {
    /// Records the item `name` before its first change: `current()` gives where it is now
    /// and a copy of its table, `None` when it is not in the document (so it was not in the
    /// original text either: it is being added). Does nothing, and does not call `current`,
    /// when `name` was saved already.
    pub(crate) fn save(&mut self, name: &str, current: impl FnOnce() -> Option<(Slot, Item)>) {
        if self.items.iter().any(|s| s.name == name) {
            return;
        }
        let original = current().map(|(slot, table)| {
            debug_assert!(table.is_table_like(), "{name} is saved as a table");
            (self.original_slot(slot), table)
        });
        self.items.push(SavedItem {
            name: name.to_owned(),
            original,
            removed: false,
        });
    }

    /// Records that the element `name`, saved before, was removed from its sequence.
    pub(crate) fn remove(&mut self, name: &str) {
        let Some(saved) = self.items.iter_mut().find(|s| s.name == name) else {
            return;
        };
        if let (Some((Slot::Element(i), _)), false) = (&saved.original, saved.removed) {
            saved.removed = true;
            let at = self.removed.partition_point(|r| r < i);
            self.removed.insert(at, *i);
        }
    }

    /// Forgets everything: the document as it is now is the original.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.removed.clear();
    }

    /// The changed fields from the original text to the document now, as [`diff_manifests`]
    /// and [`diff_locks`] give them: saved items that existed in original order, then added
    /// ones in their order now. `now(name)` gives where the item `name` is now and its
    /// fields (`None` when it is absent).
    pub(crate) fn changes(&self, now: impl Fn(&str) -> Option<(Slot, Fields)>) -> Vec<FieldChange> {
        let mut before: Vec<(Slot, &str, &Item)> = self
            .items
            .iter()
            .filter_map(|s| {
                s.original
                    .as_ref()
                    .map(|(slot, t)| (*slot, s.name.as_str(), t))
            })
            .collect();
        before.sort_by_key(|(slot, _, _)| *slot);
        let mut changes = Vec::new();
        for (_, name, table) in before {
            let fields = table.as_table_like().map(table_fields).unwrap_or_default();
            let after = now(name).map(|(_, f)| f).unwrap_or_default();
            diff_fields(name, &fields, &after, &mut changes);
        }
        let mut added: Vec<(Slot, &str, Fields)> = self
            .items
            .iter()
            .filter(|s| s.original.is_none())
            .filter_map(|s| now(&s.name).map(|(slot, f)| (slot, s.name.as_str(), f)))
            .collect();
        added.sort_by_key(|(slot, _, _)| *slot);
        for (_, name, fields) in added {
            diff_fields(name, &Fields::new(), &fields, &mut changes);
        }
        changes
    }

    /// Where an item now at `slot` was in the original text: an element's index is shifted
    /// past the original elements removed before it (added elements come after all others).
    fn original_slot(&self, slot: Slot) -> Slot {
        match slot {
            Slot::Head => Slot::Head,
            Slot::Element(mut i) => {
                for &r in &self.removed {
                    if r <= i {
                        i += 1;
                    }
                }
                Slot::Element(i)
            }
        }
    }
}

/// The fields of an item that is one table (an artifact, `[collection]`, a lock entry).
pub(crate) fn table_fields(table: &dyn TableLike) -> Fields {
    let mut fields = Fields::new();
    flatten(table, "", &mut fields);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(pairs: &[(&str, &[(&str, &str)])]) -> Items {
        pairs
            .iter()
            .map(|(n, fields)| {
                let fields = fields
                    .iter()
                    .map(|(f, v)| (f.to_string(), v.to_string()))
                    .collect();
                (n.to_string(), fields)
            })
            .collect()
    }

    #[test]
    fn order_is_before_then_new_in_after_order() {
        let before = items(&[("x", &[("a", "1"), ("b", "2")]), ("gone", &[("k", "v")])]);
        let after = items(&[
            ("new2", &[("z", "0")]),
            ("x", &[("c", "3"), ("b", "2"), ("a", "9")]),
            ("new1", &[("y", "0")]),
        ]);
        let rendered: Vec<String> = diff_items(before, after)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            rendered,
            [
                "x a: 1 -> 9",
                "x c: (absent) -> 3",
                "gone k: v -> (absent)",
                "new2 z: (absent) -> 0",
                "new1 y: (absent) -> 0",
            ]
        );
    }

    #[test]
    fn nothing_against_nothing() {
        assert_eq!(diff_manifests(None, None), []);
        assert_eq!(diff_locks(None, None), []);
    }
}
