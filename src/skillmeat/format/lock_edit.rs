//! Editing `collection.lock` without disturbing what the editor does not understand.
//!
//! Same rules as the manifest editor: an unedited document serializes to its original text;
//! a changed value keeps its formatting; a new field goes where SkillMeat would write it; a
//! new entry goes right after the last table of `[lock]`; unknown fields, entries of
//! unmanaged types and other tables stay. Entries written inline
//! (`"a::skill" = { … }`) are edited in place, new fields appended at their end. Parsing
//! once, the typed view, [`LockEditor::changes`], `rebase` and `discard_edits` work as in
//! the manifest editor.

use std::borrow::Cow;
use std::fmt;

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use super::diff::{FieldChange, Fields, Slot, lock_head_fields};
use super::editor::{
    Edited, flatten_item, make_room, max_position, remove_key, set_value, set_value_inline,
    string_value,
};
use super::error::{Error, Result};
use super::lock::{LOCK_ENTRY_FIELDS, LOCK_FORMAT_VERSION, Lock, LockEntry};
use super::names::{ArtifactType, lock_key};
use crate::skillmeat::hash::is_content_hash;

/// An editable `collection.lock`.
#[derive(Debug, Clone)]
pub struct LockEditor {
    /// The text, its document, the typed view, the saved items: [`Edited`].
    d: Edited<Lock>,
}

impl LockEditor {
    /// Parses `text` for editing, once; validated exactly as by [`Lock::parse`], failing the
    /// same way. The typed view read then is kept ([`LockEditor::lock`]).
    pub fn parse(text: &str, document: &str) -> Result<LockEditor> {
        Ok(LockEditor {
            d: Edited::parse(text, document)?,
        })
    }

    /// The empty lock SkillMeat's `init` writes:
    ///
    /// ```toml
    /// [lock]
    /// version = "1.0.0"
    ///
    /// [lock.entries]
    /// ```
    pub fn new_empty(document: &str) -> LockEditor {
        let text = format!(
            "[lock]\nversion = {}\n\n[lock.entries]\n",
            string_value(LOCK_FORMAT_VERSION)
        );
        LockEditor::parse(&text, document).expect("the empty lock is valid")
    }

    /// The name given at construction, used in errors.
    pub fn document_name(&self) -> &str {
        &self.d.document
    }

    /// Whether any edit changed the document.
    pub fn is_edited(&self) -> bool {
        self.d.edited
    }

    /// The typed view of the document as it is now: while nothing was edited, the one read
    /// at parse (borrowed, no work); after an edit, read again from the new text (an error
    /// here is a bug in the editor).
    pub fn lock(&self) -> Result<Cow<'_, Lock>> {
        self.d.typed()
    }

    /// The changed fields from the original text (as parsed, or given to the last
    /// [`LockEditor::rebase`]) to the document now: what [`crate::skillmeat::diff_locks`] gives for the
    /// two, computed from the items the edits saved, not from whole documents.
    pub fn changes(&self) -> Vec<FieldChange> {
        self.d.saved.changes(|name| {
            let lock = self.d.doc.get("lock")?.as_table_like()?;
            if name == "lock" {
                return Some((Slot::Head, lock_head_fields(lock)));
            }
            let (index, entry) = entry_position(lock.get("entries")?.as_table_like()?, name)?;
            let mut fields = Fields::new();
            flatten_item(entry, "", &mut fields);
            Some((Slot::Element(index), fields))
        })
    }

    /// Makes the document as it is now the original: `text` must be its text now (what
    /// `to_string` gives; the caller has just written it). Afterwards nothing is edited and
    /// [`LockEditor::changes`] counts from here; the typed view is read from `text` when
    /// first asked for.
    pub fn rebase(&mut self, text: String) {
        self.d.rebase(text);
    }

    /// Drops every edit since the original text: the editor is again what
    /// [`LockEditor::parse`] made of it (the text is parsed again if anything changed).
    pub fn discard_edits(&mut self) {
        self.d.discard_edits();
    }

    /// Whether an entry for (`name`, `artifact_type`) is present.
    pub fn contains_entry(&self, name: &str, artifact_type: ArtifactType) -> bool {
        self.entries()
            .is_some_and(|e| e.contains_key(&lock_key(name, artifact_type)))
    }

    /// Adds `entry` as a new `[lock.entries."name::type"]` table after the last table of
    /// `[lock]`, fields in SkillMeat's order. Creates `[lock]` (with `version`) if missing.
    ///
    /// Fails with [`Error::AlreadyExists`], [`Error::InvalidName`], [`Error::InvalidValue`]
    /// (malformed hash), or [`Error::UnsupportedLayout`] when `[lock]` or its `entries` is
    /// written inline.
    pub fn add_entry(&mut self, entry: &LockEntry) -> Result<()> {
        entry.check(&self.d.document)?;
        if self.contains_entry(&entry.name, entry.artifact_type) {
            return Err(Error::AlreadyExists {
                document: self.d.document.clone(),
                item: entry.key(),
            });
        }
        self.d.saved.save(&entry.key(), || None);
        let mut table = Table::new();
        write_fields(&mut EntryRef::Table(&mut table), entry);
        self.ensure_entries_table()?;
        let lock = self
            .d
            .doc
            .get("lock")
            .and_then(Item::as_table)
            .expect("ensured a standard table");
        let anchor = max_position(lock)
            .or_else(|| max_position(self.d.doc.as_table()))
            .unwrap_or(0);
        make_room(self.d.doc.as_table_mut(), &mut table, anchor);
        self.entries_table_mut()?
            .insert(&entry.key(), Item::Table(table));
        self.d.edited = true;
        Ok(())
    }

    /// Adds `entry`, or makes the existing entry equal to it: typed fields set when they
    /// differ, optional fields that are `None` removed, unknown fields kept.
    pub fn set_entry(&mut self, entry: &LockEntry) -> Result<()> {
        entry.check(&self.d.document)?;
        if !self.contains_entry(&entry.name, entry.artifact_type) {
            return self.add_entry(entry);
        }
        let handle = self.entry_mut(&entry.name, entry.artifact_type)?;
        let mut target = handle.entry;
        *handle.edited |= write_fields(&mut target, entry);
        Ok(())
    }

    /// A handle to change fields of the entry (`name`, `artifact_type`).
    /// Fails with [`Error::NotFound`].
    pub fn entry_mut(
        &mut self,
        name: &str,
        artifact_type: ArtifactType,
    ) -> Result<LockEntryMut<'_>> {
        let key = lock_key(name, artifact_type);
        self.save_entry(&key);
        let entry = self
            .d
            .doc
            .get_mut("lock")
            .and_then(|l| l.get_mut("entries"))
            .and_then(Item::as_table_like_mut)
            .and_then(|entries| entries.get_mut(&key));
        let entry = match entry {
            Some(Item::Table(t)) => EntryRef::Table(t),
            Some(Item::Value(Value::InlineTable(t))) => EntryRef::Inline(t),
            _ => {
                return Err(Error::NotFound {
                    document: self.d.document.clone(),
                    item: key,
                });
            }
        };
        Ok(LockEntryMut {
            entry,
            edited: &mut self.d.edited,
            document: &self.d.document,
        })
    }

    /// Removes the entry (`name`, `artifact_type`) and the comments directly above it.
    /// Fails with [`Error::NotFound`].
    pub fn remove_entry(&mut self, name: &str, artifact_type: ArtifactType) -> Result<()> {
        let key = lock_key(name, artifact_type);
        self.save_entry(&key);
        let removed = self
            .d
            .doc
            .get_mut("lock")
            .and_then(|l| l.get_mut("entries"))
            .and_then(Item::as_table_like_mut)
            .and_then(|e| e.remove(&key));
        if removed.is_none() {
            return Err(Error::NotFound {
                document: self.d.document.clone(),
                item: key,
            });
        }
        self.d.saved.remove(&key);
        self.d.edited = true;
        Ok(())
    }

    /// The underlying document, for the diff module.
    pub(crate) fn document(&self) -> &DocumentMut {
        &self.d.doc
    }

    fn entries(&self) -> Option<&dyn toml_edit::TableLike> {
        self.d.doc.get("lock")?.get("entries")?.as_table_like()
    }

    /// Saves the entry `key` before its first change (as absent when it is not there).
    fn save_entry(&mut self, key: &str) {
        let entries = self.d.doc.get("lock").and_then(|l| l.get("entries"));
        self.d.saved.save(key, || {
            let (index, entry) = entry_position(entries?.as_table_like()?, key)?;
            Some((Slot::Element(index), entry.clone()))
        });
    }

    /// Makes sure `[lock]` and `[lock.entries]` exist as standard tables.
    fn ensure_entries_table(&mut self) -> Result<()> {
        if !self.d.doc.contains_key("lock") {
            self.d.saved.save("lock", || None);
            let anchor = max_position(self.d.doc.as_table()).unwrap_or(0);
            let mut lock = Table::new();
            lock.insert("version", Item::Value(string_value(LOCK_FORMAT_VERSION)));
            make_room(self.d.doc.as_table_mut(), &mut lock, anchor);
            self.d.doc.insert("lock", Item::Table(lock));
            self.d.edited = true;
        }
        let lock = self
            .d
            .doc
            .get_mut("lock")
            .and_then(Item::as_table_mut)
            .ok_or_else(|| unsupported(&self.d.document, "[lock] is written inline"))?;
        if !lock.contains_key("entries") {
            let mut entries = Table::new();
            entries.set_implicit(true);
            lock.insert("entries", Item::Table(entries));
        }
        self.entries_table_mut().map(|_| ())
    }

    fn entries_table_mut(&mut self) -> Result<&mut Table> {
        let document = &self.d.document;
        self.d
            .doc
            .get_mut("lock")
            .and_then(|l| l.get_mut("entries"))
            .and_then(Item::as_table_mut)
            .ok_or_else(|| unsupported(document, "[lock] entries are written inline"))
    }
}

impl fmt::Display for LockEditor {
    /// The document text: the original text, byte for byte, when nothing was edited.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.d.fmt(f)
    }
}

/// The index of the entry `key` among `entries`, and the entry.
fn entry_position<'a>(
    entries: &'a dyn toml_edit::TableLike,
    key: &str,
) -> Option<(usize, &'a Item)> {
    entries
        .iter()
        .enumerate()
        .find_map(|(i, (k, entry))| (k == key).then_some((i, entry)))
}

fn unsupported(document: &str, message: &str) -> Error {
    Error::UnsupportedLayout {
        document: document.to_owned(),
        message: message.to_owned(),
    }
}

#[derive(Debug)]
enum EntryRef<'a> {
    Table(&'a mut Table),
    Inline(&'a mut InlineTable),
}

impl EntryRef<'_> {
    fn set(&mut self, key: &str, value: Value) -> bool {
        match self {
            EntryRef::Table(t) => set_value(t, key, value, &LOCK_ENTRY_FIELDS),
            EntryRef::Inline(t) => set_value_inline(t, key, value),
        }
    }

    fn remove(&mut self, key: &str) -> bool {
        match self {
            EntryRef::Table(t) => remove_key(t, key),
            EntryRef::Inline(t) => t.remove(key).is_some(),
        }
    }

    fn set_optional(&mut self, key: &str, value: Option<&str>) -> bool {
        match value {
            Some(v) => self.set(key, string_value(v)),
            None => self.remove(key),
        }
    }
}

/// Writes every typed field of `entry`; returns whether anything changed.
fn write_fields(target: &mut EntryRef<'_>, entry: &LockEntry) -> bool {
    let mut changed = target.set("content_hash", string_value(&entry.content_hash));
    changed |= target.set("fetched", string_value(&entry.fetched));
    changed |= target.set_optional("upstream", entry.upstream.as_deref());
    changed |= target.set_optional("resolved_sha", entry.resolved_sha.as_deref());
    changed |= target.set_optional("resolved_version", entry.resolved_version.as_deref());
    changed
}

/// Changes fields of one lock entry in a [`LockEditor`]. Setters keep the line's formatting
/// and do nothing when the value is unchanged.
#[derive(Debug)]
pub struct LockEntryMut<'a> {
    entry: EntryRef<'a>,
    edited: &'a mut bool,
    document: &'a str,
}

impl LockEntryMut<'_> {
    /// Sets `content_hash`. Fails with [`Error::InvalidValue`] unless `hash` is 64 lowercase
    /// hex digits.
    pub fn set_content_hash(&mut self, hash: &str) -> Result<()> {
        if !is_content_hash(hash) {
            return Err(Error::InvalidValue {
                document: self.document.to_owned(),
                field: "content_hash".to_owned(),
                message: format!("{hash:?} is not 64 lowercase hex digits"),
            });
        }
        *self.edited |= self.entry.set("content_hash", string_value(hash));
        Ok(())
    }

    /// Sets `fetched`.
    pub fn set_fetched(&mut self, timestamp: &str) {
        *self.edited |= self.entry.set("fetched", string_value(timestamp));
    }

    /// Sets (`Some`) or removes (`None`) `upstream`.
    pub fn set_upstream(&mut self, value: Option<&str>) {
        *self.edited |= self.entry.set_optional("upstream", value);
    }

    /// Sets or removes `resolved_sha`.
    pub fn set_resolved_sha(&mut self, value: Option<&str>) {
        *self.edited |= self.entry.set_optional("resolved_sha", value);
    }

    /// Sets or removes `resolved_version`.
    pub fn set_resolved_version(&mut self, value: Option<&str>) {
        *self.edited |= self.entry.set_optional("resolved_version", value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn inline_lock_table_cannot_take_a_new_entry() {
        let mut l = LockEditor::parse("lock = { version = \"1.0.0\" }\n", "l").unwrap();
        let entry = LockEntry::new("a", ArtifactType::Skill, HASH, "t").unwrap();
        assert!(matches!(
            l.add_entry(&entry),
            Err(Error::UnsupportedLayout { .. })
        ));
        assert!(!l.is_edited());
    }

    #[test]
    fn setters_report_edits_only_on_change() {
        let text =
            format!("[lock.entries.\"a::skill\"]\ncontent_hash = \"{HASH}\"\nfetched = \"t\"\n");
        let mut l = LockEditor::parse(&text, "l").unwrap();
        {
            let mut e = l.entry_mut("a", ArtifactType::Skill).unwrap();
            e.set_content_hash(HASH).unwrap();
            e.set_fetched("t");
            e.set_resolved_sha(None);
        }
        assert!(!l.is_edited());
        l.entry_mut("a", ArtifactType::Skill)
            .unwrap()
            .set_resolved_version(Some("v2"));
        assert!(l.is_edited());
        assert_eq!(l.to_string(), format!("{text}resolved_version = \"v2\"\n"));
    }
}
