//! Editing `collection.toml` without disturbing what the editor does not understand.
//!
//! The editor holds a `toml_edit::DocumentMut`. Edits touch only the values they change:
//! comments, blank lines, key order, quoting, unknown fields and unknown tables
//! (`[[mcp_servers]]`, `[[groups]]`, …) stay as they were. A document that was never edited
//! serializes to its original text byte for byte. A changed value keeps its trailing comment;
//! a new field goes where SkillMeat would write it ([`ARTIFACT_FIELDS`] order), unknown
//! fields go last; a new artifact goes right after the last existing one.
//!
//! Two layouts are changed as a whole when an edit needs it, because toml_edit cannot add a
//! standard table to an inline array: `artifacts = [ … ]` (SkillMeat writes `artifacts = []`
//! for a new collection) becomes `[[artifacts]]` tables on the first add, update or
//! `artifact_mut`. Removing from an inline array edits it in place.
//!
//! The text is parsed once: the typed view read to validate it is kept, and handed out by
//! [`ManifestEditor::manifest`] until the first edit. Each item an edit changes (`[collection]`,
//! an artifact) is first saved as it was, so [`ManifestEditor::changes`] finds the changed
//! fields by comparing those items only, not two whole documents. Once the new text is
//! written, [`ManifestEditor::rebase`] makes it the original; [`ManifestEditor::discard_edits`]
//! goes back to the original.
//!
//! The editor never sets timestamps on its own; call [`ManifestEditor::set_updated`] with
//! [`crate::skillmeat::now_timestamp`] on every write, as SkillMeat does.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

use super::diff::{FieldChange, Saved, Slot, table_fields};
use super::editor::{
    Source, make_room, make_standard_table, max_position, plain_to_table, remove_key,
    render_document, set_value, set_value_like, string_array_value, string_value,
    table_like_to_plain, trim_blank_document_start,
};
use super::error::{Error, Result};
use super::manifest::{ARTIFACT_FIELDS, Artifact, MANIFEST_FORMAT_VERSION, Manifest, Origin};
use super::names::{ArtifactType, lock_key, split_lock_key, validate_collection_name};

/// An editable `collection.toml`.
#[derive(Debug, Clone)]
pub struct ManifestEditor {
    document: String,
    /// The text parsed, or the one given to the last [`ManifestEditor::rebase`].
    original: String,
    doc: DocumentMut,
    /// The typed view of `original` (so of the document while `edited` is false): read
    /// from the same parse as `doc`; after a rebase, read from `original` when first asked.
    parsed: OnceLock<Manifest>,
    /// The items changed since `original`, as they were (for [`ManifestEditor::changes`]).
    saved: Saved,
    crlf: bool,
    edited: bool,
}

impl ManifestEditor {
    /// Parses `text` for editing; `document` names it in errors.
    ///
    /// The text is parsed once, and validated exactly as by [`Manifest::parse`], failing the
    /// same way, so an editor always starts from a valid manifest; the typed view read then
    /// is kept ([`ManifestEditor::manifest`]).
    pub fn parse(text: &str, document: &str) -> Result<ManifestEditor> {
        let (source, doc) = Source::parse(text, document)?;
        let parsed = Manifest::read(&source, doc.as_table())?;
        let doc = doc.into_mut();
        Ok(ManifestEditor {
            document: document.to_owned(),
            original: text.to_owned(),
            doc,
            parsed: OnceLock::from(parsed),
            saved: Saved::default(),
            crlf: text.contains("\r\n"),
            edited: false,
        })
    }

    /// The manifest SkillMeat's `init` writes for a new collection `name`, with `timestamp`
    /// as both `created` and `updated`:
    ///
    /// ```toml
    /// artifacts = []
    ///
    /// [collection]
    /// name = "default"
    /// version = "1.0.0"
    /// created = "2026-11-25T21:08:40.959035"
    /// updated = "2026-11-25T21:08:40.959035"
    /// ```
    ///
    /// Fails when `name` breaks the collection naming rules.
    pub fn new_collection(name: &str, timestamp: &str, document: &str) -> Result<ManifestEditor> {
        validate_collection_name(name).map_err(|reason| Error::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        let text = format!(
            "artifacts = []\n\n[collection]\nname = {}\nversion = {}\ncreated = {}\nupdated = {}\n",
            string_value(name),
            string_value(MANIFEST_FORMAT_VERSION),
            string_value(timestamp),
            string_value(timestamp),
        );
        ManifestEditor::parse(&text, document)
    }

    /// The name given at construction, used in errors.
    pub fn document_name(&self) -> &str {
        &self.document
    }

    /// Whether any edit changed the document.
    pub fn is_edited(&self) -> bool {
        self.edited
    }

    /// The typed view of the document as it is now: while nothing was edited, the one read
    /// at parse (borrowed, no work); after an edit, read again from the new text.
    ///
    /// Fails only if the edits produced an invalid manifest, which the editor's own checks
    /// are meant to prevent; treat an error as a bug.
    pub fn manifest(&self) -> Result<Cow<'_, Manifest>> {
        if self.edited {
            return Manifest::parse(&self.to_string(), &self.document).map(Cow::Owned);
        }
        if let Some(parsed) = self.parsed.get() {
            return Ok(Cow::Borrowed(parsed));
        }
        let parsed = Manifest::parse(&self.original, &self.document)?;
        Ok(Cow::Borrowed(self.parsed.get_or_init(|| parsed)))
    }

    /// The changed fields from the original text (as parsed, or given to the last
    /// [`ManifestEditor::rebase`]) to the document now: what [`crate::skillmeat::diff_manifests`] gives
    /// for the two, computed from the items the edits saved, not from whole documents.
    pub fn changes(&self) -> Vec<FieldChange> {
        self.saved.changes(|name| {
            let (slot, table) = if name == "collection" {
                (Slot::Head, self.doc.get("collection")?.as_table_like()?)
            } else {
                let (name, type_name) = split_lock_key(name)?;
                let index = find_artifact(&self.doc, name, type_name)?;
                (Slot::Element(index), artifact_at(&self.doc, index)?)
            };
            Some((slot, table_fields(table)))
        })
    }

    /// Makes the document as it is now the original: `text` must be its text now (what
    /// `to_string` gives; the caller has just written it). Afterwards nothing is edited and
    /// [`ManifestEditor::changes`] counts from here; the typed view is read from `text` when
    /// first asked for.
    pub fn rebase(&mut self, text: String) {
        debug_assert_eq!(text, self.to_string(), "rebase on the document's own text");
        self.original = text;
        self.parsed = OnceLock::new();
        self.saved.clear();
        self.edited = false;
    }

    /// Drops every edit since the original text: the editor is again what
    /// [`ManifestEditor::parse`] made of it (the text is parsed again if anything changed).
    pub fn discard_edits(&mut self) {
        if self.edited {
            *self = ManifestEditor::parse(&self.original, &self.document)
                .expect("the original text is a valid manifest: it was parsed or written so");
        }
        self.saved.clear();
    }

    /// Sets `[collection] updated`, keeping the line's formatting.
    pub fn set_updated(&mut self, timestamp: &str) {
        let doc = &self.doc;
        self.saved.save("collection", || {
            Some((Slot::Head, doc.get("collection")?.clone()))
        });
        let collection = self
            .doc
            .get_mut("collection")
            .and_then(Item::as_table_like_mut)
            .expect("validated at parse: [collection] is a table");
        self.edited |= set_value_like(collection, "updated", string_value(timestamp));
    }

    /// Whether the artifact (`name`, `artifact_type`) is present.
    pub fn contains_artifact(&self, name: &str, artifact_type: ArtifactType) -> bool {
        find_artifact(&self.doc, name, artifact_type.as_str()).is_some()
    }

    /// Appends `artifact` as a new `[[artifacts]]` table right after the last existing one,
    /// fields in SkillMeat's order (name, type, path, origin, added, upstream, version_spec,
    /// resolved_sha, resolved_version, last_updated, tags), then the `extra` fields, then
    /// `[artifacts.metadata]`. Empty `tags` and `metadata` are omitted, as SkillMeat does.
    ///
    /// Fails with [`Error::AlreadyExists`] for a duplicate identity, [`Error::InvalidName`]
    /// for a bad name, [`Error::InvalidValue`] when `path` is not the storage path, and
    /// [`Error::ReservedField`] when an `extra` key is one of [`ARTIFACT_FIELDS`].
    pub fn add_artifact(&mut self, artifact: &Artifact) -> Result<()> {
        self.check_new_values(artifact)?;
        if self.contains_artifact(&artifact.name, artifact.artifact_type) {
            return Err(Error::AlreadyExists {
                document: self.document.clone(),
                item: artifact.key(),
            });
        }
        self.saved.save(&artifact.key(), || None);
        let mut table = Table::new();
        {
            // The handle's edit flag is about `table`, which is not in the document yet.
            let mut table_edited = false;
            let mut handle = ArtifactMut {
                table: &mut table,
                edited: &mut table_edited,
                document: &self.document,
            };
            handle.set_field("name", string_value(&artifact.name));
            handle.set_field("type", string_value(artifact.artifact_type.as_str()));
            handle.write_fields(artifact)?;
        }
        if !artifact.metadata.is_empty() {
            table.insert("metadata", Item::Table(plain_to_table(&artifact.metadata)));
        }
        let aot = self.artifacts_mut()?;
        let anchor = aot.iter().filter_map(max_position).max();
        let anchor = anchor
            .or_else(|| max_position(self.doc.as_table()))
            .unwrap_or(0);
        make_room(self.doc.as_table_mut(), &mut table, anchor);
        self.artifacts_mut()?.push(table);
        self.edited = true;
        Ok(())
    }

    /// Makes the stored artifact with `artifact`'s identity equal to `artifact`, changing only
    /// the values that differ: typed fields, `metadata` (replaced as a whole when it
    /// differs), and `extra` string fields (set, and unknown string fields not in `extra`
    /// removed). Unknown non-string fields stay.
    ///
    /// Fails like [`ManifestEditor::add_artifact`], or with [`Error::NotFound`].
    pub fn update_artifact(&mut self, artifact: &Artifact) -> Result<()> {
        self.check_new_values(artifact)?;
        let mut handle = self.artifact_mut(&artifact.name, artifact.artifact_type)?;
        handle.write_fields(artifact)?;
        let stale: Vec<String> = handle
            .table
            .iter()
            .filter(|(k, item)| {
                !ARTIFACT_FIELDS.contains(k) && item.is_str() && !artifact.extra.contains_key(*k)
            })
            .map(|(k, _)| k.to_owned())
            .collect();
        for key in stale {
            handle.remove_string(&key)?;
        }
        self.set_metadata(&artifact.name, artifact.artifact_type, &artifact.metadata)
    }

    /// Replaces `[artifacts.metadata]` of the artifact with `metadata` unless equal; an
    /// empty table removes it. Fails with [`Error::NotFound`].
    pub fn set_metadata(
        &mut self,
        name: &str,
        artifact_type: ArtifactType,
        metadata: &toml::Table,
    ) -> Result<()> {
        let index = self.artifact_index_mut(name, artifact_type)?;
        let artifact = artifact_table_mut(&mut self.doc, index);
        let current = artifact
            .get("metadata")
            .and_then(Item::as_table_like)
            .map(table_like_to_plain)
            .unwrap_or_default();
        if &current == metadata {
            return Ok(());
        }
        artifact.remove("metadata");
        self.edited = true;
        if metadata.is_empty() {
            return Ok(());
        }
        let anchor = max_position(artifact).unwrap_or(0);
        let mut table = plain_to_table(metadata);
        make_room(self.doc.as_table_mut(), &mut table, anchor);
        artifact_table_mut(&mut self.doc, index).insert("metadata", Item::Table(table));
        Ok(())
    }

    /// A handle to change fields of the artifact (`name`, `artifact_type`).
    ///
    /// Fails with [`Error::NotFound`], or [`Error::UnsupportedLayout`] when `artifacts` is
    /// neither an array of tables nor an inline array of inline tables.
    pub fn artifact_mut(
        &mut self,
        name: &str,
        artifact_type: ArtifactType,
    ) -> Result<ArtifactMut<'_>> {
        let index = self.artifact_index_mut(name, artifact_type)?;
        Ok(ArtifactMut {
            table: artifact_table_mut(&mut self.doc, index),
            edited: &mut self.edited,
            document: &self.document,
        })
    }

    /// Removes the artifact (`name`, `artifact_type`) with its sub-tables and the comments
    /// directly above its header. Fails with [`Error::NotFound`].
    pub fn remove_artifact(&mut self, name: &str, artifact_type: ArtifactType) -> Result<()> {
        let index = self.find_or_not_found(name, artifact_type)?;
        let key = lock_key(name, artifact_type);
        self.save_artifact(&key, index);
        match self.doc.get_mut("artifacts") {
            Some(Item::ArrayOfTables(aot)) => {
                aot.remove(index);
            }
            Some(Item::Value(Value::Array(array))) => {
                array.remove(index);
            }
            _ => unreachable!("find_artifact found it in one of the two layouts"),
        }
        self.saved.remove(&key);
        self.edited = true;
        Ok(())
    }

    /// The underlying document, for the diff module.
    pub(crate) fn document(&self) -> &DocumentMut {
        &self.doc
    }

    fn find_or_not_found(&self, name: &str, artifact_type: ArtifactType) -> Result<usize> {
        find_artifact(&self.doc, name, artifact_type.as_str()).ok_or_else(|| Error::NotFound {
            document: self.document.clone(),
            item: lock_key(name, artifact_type),
        })
    }

    /// The index of the artifact, saved as it is (it is about to change) in the
    /// `[[artifacts]]` layout.
    fn artifact_index_mut(&mut self, name: &str, artifact_type: ArtifactType) -> Result<usize> {
        let index = self.find_or_not_found(name, artifact_type)?;
        self.save_artifact(&lock_key(name, artifact_type), index);
        self.artifacts_mut()?;
        Ok(index)
    }

    /// Saves the artifact `key` at `index`, before its first change.
    fn save_artifact(&mut self, key: &str, index: usize) {
        let doc = &self.doc;
        self.saved.save(key, || {
            let item = match doc.get("artifacts")? {
                Item::ArrayOfTables(aot) => Item::Table(aot.get(index)?.clone()),
                Item::Value(Value::Array(array)) => Item::Value(array.get(index)?.clone()),
                _ => return None,
            };
            Some((Slot::Element(index), item))
        });
    }

    /// The `[[artifacts]]` array, converting the inline layout (see the module docs).
    fn artifacts_mut(&mut self) -> Result<&mut ArrayOfTables> {
        let needs_conversion = !matches!(self.doc.get("artifacts"), Some(Item::ArrayOfTables(_)));
        if needs_conversion {
            let tables = self.take_inline_artifacts()?;
            let mut aot = ArrayOfTables::new();
            let mut anchor = max_position(self.doc.as_table()).unwrap_or(0);
            for mut table in tables {
                make_room(self.doc.as_table_mut(), &mut table, anchor);
                anchor = max_position(&table).unwrap_or(anchor);
                aot.push(table);
            }
            self.doc.insert("artifacts", Item::ArrayOfTables(aot));
            self.edited = true;
        }
        match self.doc.get_mut("artifacts") {
            Some(Item::ArrayOfTables(aot)) => Ok(aot),
            _ => unreachable!("ensured just above"),
        }
    }

    /// Removes an inline `artifacts = [...]` (or nothing) and returns its elements as tables.
    fn take_inline_artifacts(&mut self) -> Result<Vec<Table>> {
        let unsupported = || Error::UnsupportedLayout {
            document: self.document.clone(),
            message: "`artifacts` is not an array of tables".to_owned(),
        };
        let Some(Item::Value(Value::Array(array))) = self.doc.get("artifacts") else {
            return match self.doc.get("artifacts") {
                None => Ok(Vec::new()),
                Some(_) => Err(unsupported()),
            };
        };
        if array.iter().any(|v| v.as_inline_table().is_none()) {
            return Err(unsupported());
        }
        let Some(Item::Value(Value::Array(array))) = self.doc.remove("artifacts") else {
            unreachable!("matched just above");
        };
        trim_blank_document_start(self.doc.as_table_mut());
        let mut tables = Vec::with_capacity(array.len());
        for value in array {
            let mut item = Item::Value(value);
            make_standard_table(&mut item);
            let Item::Table(mut table) = item else {
                unreachable!("checked above: every element is an inline table")
            };
            table.decor_mut().clear();
            tables.push(table);
        }
        Ok(tables)
    }

    fn check_new_values(&self, artifact: &Artifact) -> Result<()> {
        let expected = artifact.artifact_type.storage_path(&artifact.name)?;
        if artifact.path != expected {
            return Err(Error::InvalidValue {
                document: self.document.clone(),
                field: "path".to_owned(),
                message: format!("{:?} is not the storage path {expected:?}", artifact.path),
            });
        }
        for key in artifact.extra.keys() {
            check_free_field(&self.document, key)?;
        }
        Ok(())
    }
}

impl fmt::Display for ManifestEditor {
    /// The document text: the original text, byte for byte, when nothing was edited.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.edited {
            f.write_str(&render_document(&self.doc, self.crlf))
        } else {
            f.write_str(&self.original)
        }
    }
}

/// Changes fields of one artifact in a [`ManifestEditor`]. Every setter keeps the line's
/// formatting when the field exists and does nothing when the value is unchanged.
#[derive(Debug)]
pub struct ArtifactMut<'a> {
    table: &'a mut Table,
    edited: &'a mut bool,
    document: &'a str,
}

impl ArtifactMut<'_> {
    /// Sets `origin`.
    pub fn set_origin(&mut self, origin: Origin) {
        self.set_field("origin", string_value(origin.as_str()));
    }

    /// Sets `added`.
    pub fn set_added(&mut self, timestamp: &str) {
        self.set_field("added", string_value(timestamp));
    }

    /// Sets (`Some`) or removes (`None`) `upstream`.
    pub fn set_upstream(&mut self, value: Option<&str>) {
        self.set_optional("upstream", value);
    }

    /// Sets or removes `version_spec`.
    pub fn set_version_spec(&mut self, value: Option<&str>) {
        self.set_optional("version_spec", value);
    }

    /// Sets or removes `resolved_sha`.
    pub fn set_resolved_sha(&mut self, value: Option<&str>) {
        self.set_optional("resolved_sha", value);
    }

    /// Sets or removes `resolved_version`.
    pub fn set_resolved_version(&mut self, value: Option<&str>) {
        self.set_optional("resolved_version", value);
    }

    /// Sets or removes `last_updated`.
    pub fn set_last_updated(&mut self, value: Option<&str>) {
        self.set_optional("last_updated", value);
    }

    /// Sets `tags`; an empty list removes the field, as SkillMeat writes it.
    pub fn set_tags(&mut self, tags: &[String]) {
        if tags.is_empty() {
            *self.edited |= remove_key(self.table, "tags");
        } else {
            self.set_field("tags", string_array_value(tags));
        }
    }

    /// The string value of any field (known or not), if present and a string.
    pub fn get_string(&self, field: &str) -> Option<&str> {
        self.table.get(field).and_then(Item::as_str)
    }

    /// Sets a field SkillMeat does not know (e.g. `skillwal_source`) to a string; new ones go
    /// after all existing fields. Fails with [`Error::ReservedField`] for a name in
    /// [`ARTIFACT_FIELDS`] and [`Error::InvalidValue`] for an empty name.
    pub fn set_string(&mut self, field: &str, value: &str) -> Result<()> {
        check_free_field(self.document, field)?;
        self.set_field(field, string_value(value));
        Ok(())
    }

    /// Removes a field SkillMeat does not know and returns its string value (`None` when it
    /// was absent). Fails with [`Error::ReservedField`] as [`ArtifactMut::set_string`] does,
    /// and with [`Error::InvalidValue`] when the field holds something other than a string
    /// (which is then left in place).
    pub fn remove_string(&mut self, field: &str) -> Result<Option<String>> {
        check_free_field(self.document, field)?;
        let Some(item) = self.table.get(field) else {
            return Ok(None);
        };
        let Some(value) = item.as_str().map(str::to_owned) else {
            return Err(Error::InvalidValue {
                document: self.document.to_owned(),
                field: field.to_owned(),
                message: "holds a value that is not a string".to_owned(),
            });
        };
        self.table.remove(field);
        *self.edited = true;
        Ok(Some(value))
    }

    fn set_field(&mut self, key: &str, value: Value) {
        *self.edited |= set_value(self.table, key, value, &ARTIFACT_FIELDS);
    }

    fn set_optional(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.set_field(key, string_value(v)),
            None => *self.edited |= remove_key(self.table, key),
        }
    }

    /// Writes every typed field but name, type and metadata, plus the extra fields.
    fn write_fields(&mut self, artifact: &Artifact) -> Result<()> {
        self.set_field("path", string_value(&artifact.path));
        self.set_origin(artifact.origin);
        self.set_added(&artifact.added);
        self.set_upstream(artifact.upstream.as_deref());
        self.set_version_spec(artifact.version_spec.as_deref());
        self.set_resolved_sha(artifact.resolved_sha.as_deref());
        self.set_resolved_version(artifact.resolved_version.as_deref());
        self.set_last_updated(artifact.last_updated.as_deref());
        self.set_tags(&artifact.tags);
        for (key, value) in &artifact.extra {
            self.set_string(key, value)?;
        }
        Ok(())
    }
}

fn check_free_field(document: &str, field: &str) -> Result<()> {
    if ARTIFACT_FIELDS.contains(&field) {
        return Err(Error::ReservedField {
            field: field.to_owned(),
        });
    }
    if field.is_empty() {
        return Err(Error::InvalidValue {
            document: document.to_owned(),
            field: String::new(),
            message: "field name is empty".to_owned(),
        });
    }
    Ok(())
}

/// Index of the artifact (`name`, `type_name`) in either layout of `artifacts`.
fn find_artifact(doc: &DocumentMut, name: &str, type_name: &str) -> Option<usize> {
    let matches = |t: &dyn TableLike| {
        t.get("name").and_then(Item::as_str) == Some(name)
            && t.get("type").and_then(Item::as_str) == Some(type_name)
    };
    match doc.get("artifacts")? {
        Item::ArrayOfTables(aot) => aot.iter().position(|t| matches(t)),
        Item::Value(Value::Array(array)) => array
            .iter()
            .position(|v| v.as_inline_table().is_some_and(|t| matches(t))),
        _ => None,
    }
}

/// The artifact at `index` in either layout of `artifacts`.
fn artifact_at(doc: &DocumentMut, index: usize) -> Option<&dyn TableLike> {
    match doc.get("artifacts")? {
        Item::ArrayOfTables(aot) => Some(aot.get(index)?),
        Item::Value(Value::Array(array)) => Some(array.get(index)?.as_inline_table()?),
        _ => None,
    }
}

fn artifact_table_mut(doc: &mut DocumentMut, index: usize) -> &mut Table {
    match doc.get_mut("artifacts") {
        Some(Item::ArrayOfTables(aot)) => aot
            .get_mut(index)
            .expect("index comes from find_artifact on this document"),
        _ => unreachable!("artifacts_mut converted the layout"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "[collection]\nname = \"c\"\nversion = \"1.0.0\"\ncreated = \"t\"\nupdated = \"t\"\n";

    #[test]
    fn edits_report_whether_they_changed_anything() {
        let mut m = ManifestEditor::parse(TEXT, "m").unwrap();
        m.set_updated("t");
        assert!(!m.is_edited());
        m.set_updated("u");
        assert!(m.is_edited());
        assert_eq!(
            m.to_string(),
            TEXT.replace("updated = \"t\"", "updated = \"u\"")
        );
    }

    #[test]
    fn inline_collection_table_is_edited_in_place() {
        let text = "collection = { name = \"c\", version = \"1.0.0\", created = \"t\", updated = \"t\" }\n";
        let mut m = ManifestEditor::parse(text, "m").unwrap();
        m.set_updated("u");
        assert_eq!(
            m.to_string(),
            text.replace("updated = \"t\"", "updated = \"u\"")
        );
    }

    #[test]
    fn first_artifact_in_a_document_without_artifacts_goes_last() {
        let mut m =
            ManifestEditor::parse(&format!("{TEXT}\n[[groups]]\nname = \"g\"\n"), "m").unwrap();
        let a = Artifact::new("a", ArtifactType::Agent, Origin::Local, "t").unwrap();
        m.add_artifact(&a).unwrap();
        assert_eq!(
            m.to_string(),
            format!(
                "{TEXT}\n[[groups]]\nname = \"g\"\n\n[[artifacts]]\nname = \"a\"\ntype = \"agent\"\npath = \"agents/a.md\"\norigin = \"local\"\nadded = \"t\"\n"
            )
        );
    }

    #[test]
    fn empty_inline_array_converts_and_reserved_fields_are_refused() {
        let text = format!("artifacts = []\n{TEXT}");
        let mut m = ManifestEditor::parse(&text, "m").unwrap();
        assert!(
            m.add_artifact(&Artifact::new("a", ArtifactType::Skill, Origin::Local, "t").unwrap())
                .is_ok()
        );
        assert!(matches!(
            check_free_field("m", "added"),
            Err(Error::ReservedField { .. })
        ));
    }
}
