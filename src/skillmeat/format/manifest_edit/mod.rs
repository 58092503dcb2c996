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

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

use super::diff::{FieldChange, Slot, table_fields};
use super::editor::{
    Edited, make_room, make_standard_table, max_position, plain_to_table, remove_key, set_value,
    set_value_like, string_array_value, string_value, table_like_to_plain,
    trim_blank_document_start,
};
use super::error::{Error, Result};
use super::manifest::{ARTIFACT_FIELDS, Artifact, MANIFEST_FORMAT_VERSION, Manifest, Origin};
use super::names::{ArtifactType, lock_key, split_lock_key, validate_collection_name};

mod artifact_mut;
mod artifacts;

pub use artifact_mut::ArtifactMut;
use artifacts::*;

/// An editable `collection.toml`.
#[derive(Debug, Clone)]
pub struct ManifestEditor {
    /// The text, its document, the typed view, the saved items: [`Edited`].
    d: Edited<Manifest>,
}

impl ManifestEditor {
    /// Parses `text` for editing; `document` names it in errors.
    ///
    /// The text is parsed once, and validated exactly as by [`Manifest::parse`], failing the
    /// same way, so an editor always starts from a valid manifest; the typed view read then
    /// is kept ([`ManifestEditor::manifest`]).
    pub fn parse(text: &str, document: &str) -> Result<ManifestEditor> {
        Ok(ManifestEditor {
            d: Edited::parse(text, document)?,
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
        &self.d.document
    }

    /// Whether any edit changed the document.
    pub fn is_edited(&self) -> bool {
        self.d.edited
    }

    /// The typed view of the document as it is now: while nothing was edited, the one read
    /// at parse (borrowed, no work); after an edit, read again from the new text.
    ///
    /// Fails only if the edits produced an invalid manifest, which the editor's own checks
    /// are meant to prevent; treat an error as a bug.
    pub fn manifest(&self) -> Result<Cow<'_, Manifest>> {
        self.d.typed()
    }

    /// The changed fields from the original text (as parsed, or given to the last
    /// [`ManifestEditor::rebase`]) to the document now: what [`crate::skillmeat::diff_manifests`] gives
    /// for the two, computed from the items the edits saved, not from whole documents.
    pub fn changes(&self) -> Vec<FieldChange> {
        self.d.saved.changes(|name| {
            let (slot, table) = if name == "collection" {
                (Slot::Head, self.d.doc.get("collection")?.as_table_like()?)
            } else {
                let (name, type_name) = split_lock_key(name)?;
                let index = find_artifact(&self.d.doc, name, type_name)?;
                (Slot::Element(index), artifact_at(&self.d.doc, index)?)
            };
            Some((slot, table_fields(table)))
        })
    }

    /// Makes the document as it is now the original: `text` must be its text now (what
    /// `to_string` gives; the caller has just written it). Afterwards nothing is edited and
    /// [`ManifestEditor::changes`] counts from here; the typed view is read from `text` when
    /// first asked for.
    pub fn rebase(&mut self, text: String) {
        self.d.rebase(text);
    }

    /// Drops every edit since the original text: the editor is again what
    /// [`ManifestEditor::parse`] made of it (the text is parsed again if anything changed).
    pub fn discard_edits(&mut self) {
        self.d.discard_edits();
    }

    /// Sets `[collection] updated`, keeping the line's formatting.
    pub fn set_updated(&mut self, timestamp: &str) {
        let doc = &self.d.doc;
        self.d.saved.save("collection", || {
            Some((Slot::Head, doc.get("collection")?.clone()))
        });
        let collection = self
            .d
            .doc
            .get_mut("collection")
            .and_then(Item::as_table_like_mut)
            .expect("validated at parse: [collection] is a table");
        self.d.edited |= set_value_like(collection, "updated", string_value(timestamp));
    }

    /// The underlying document, for the diff module.
    pub(crate) fn document(&self) -> &DocumentMut {
        &self.d.doc
    }
}

impl fmt::Display for ManifestEditor {
    /// The document text: the original text, byte for byte, when nothing was edited.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.d.fmt(f)
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
