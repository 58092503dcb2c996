//! `collection.lock` read into typed data.
//!
//! ```toml
//! [lock]
//! version = "1.0.0"
//!
//! [lock.entries."my-skill::skill"]
//! content_hash = "…64 lowercase hex…"
//! fetched = "2026-11-25T20:26:48.521234"
//! ```
//!
//! Like SkillMeat, the reader treats a missing `[lock]` or `entries` table as no entries and
//! splits keys at the first `::`. Stricter than SkillMeat: names must pass
//! [`validate_artifact_name`] and `content_hash` must be 64 lowercase hex digits (anything
//! else cannot be a hash SkillMeat wrote). Entries of types skillwal does not manage are
//! listed in [`Lock::unsupported`] and kept untouched by the editor.

use toml_edit::{Item, Table};

use super::editor::{Source, item_span};
use super::error::{Error, Result};
use super::manifest::UnsupportedItem;
use super::names::{ArtifactType, lock_key, split_lock_key, validate_artifact_name};
use crate::skillmeat::hash::is_content_hash;

/// Version string SkillMeat writes in `[lock] version`.
pub const LOCK_FORMAT_VERSION: &str = "1.0.0";

/// Fields of a lock entry that SkillMeat gives a meaning, in the order it writes them.
pub const LOCK_ENTRY_FIELDS: [&str; 7] = [
    "content_hash",
    "fetched",
    "upstream",
    "resolved_sha",
    "resolved_version",
    "recipe_hash",
    "applied_at",
];

/// One `[lock.entries."name::type"]` table of a type skillwal manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    /// Artifact name (from the key).
    pub name: String,
    /// Artifact type (from the key).
    pub artifact_type: ArtifactType,
    /// SkillMeat content hash of the stored files ([`crate::skillmeat::content_hash`]).
    pub content_hash: String,
    /// When the content was fetched.
    pub fetched: String,
    /// Upstream URL, if any.
    pub upstream: Option<String>,
    /// Resolved commit, if any.
    pub resolved_sha: Option<String>,
    /// Resolved version, if any.
    pub resolved_version: Option<String>,
}

impl LockEntry {
    /// An entry with no optional fields. Fails on a bad name or a malformed hash.
    pub fn new(
        name: &str,
        artifact_type: ArtifactType,
        content_hash: &str,
        fetched: &str,
    ) -> Result<LockEntry> {
        let entry = LockEntry {
            name: name.to_owned(),
            artifact_type,
            content_hash: content_hash.to_owned(),
            fetched: fetched.to_owned(),
            upstream: None,
            resolved_sha: None,
            resolved_version: None,
        };
        entry.check("lock entry")?;
        Ok(entry)
    }

    /// The entry's key: `"<name>::<type>"`.
    pub fn key(&self) -> String {
        lock_key(&self.name, self.artifact_type)
    }

    /// Checks the name and the hash shape; `document` names the lock in errors.
    pub(crate) fn check(&self, document: &str) -> Result<()> {
        validate_artifact_name(&self.name).map_err(|reason| Error::InvalidName {
            name: self.name.clone(),
            reason,
        })?;
        if !is_content_hash(&self.content_hash) {
            return Err(Error::InvalidValue {
                document: document.to_owned(),
                field: "content_hash".to_owned(),
                message: format!("{:?} is not 64 lowercase hex digits", self.content_hash),
            });
        }
        Ok(())
    }
}

/// A parsed `collection.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lock {
    /// `[lock] version`, when present (SkillMeat always writes it but never reads it).
    pub version: Option<String>,
    /// Entries of managed types, in document order.
    pub entries: Vec<LockEntry>,
    /// Entries of other types, in document order.
    pub unsupported: Vec<UnsupportedItem>,
}

impl Lock {
    /// Parses and validates `text`; `document` names it in errors.
    ///
    /// Fails with [`Error::Syntax`], [`Error::Schema`] or [`Error::DocumentTooLarge`], each
    /// with the document name and, for the first two, line and column.
    pub fn parse(text: &str, document: &str) -> Result<Lock> {
        let (source, doc) = Source::parse(text, document)?;
        Lock::read(&source, doc.as_table())
    }

    /// Reads and validates the root table `root` of a document that [`Source::parse`] parsed
    /// from `source` (its spans locate the errors); fails as [`Lock::parse`] does.
    pub(crate) fn read(source: &Source<'_>, root: &Table) -> Result<Lock> {
        let mut lock = Lock::default();
        let Some(lock_item) = root.get("lock") else {
            return Ok(lock);
        };
        let lock_table = source.table_like(lock_item, "[lock]")?;
        lock.version = source.optional_string(lock_table, "version", "[lock]")?;
        let Some(entries_item) = lock_table.get("entries") else {
            return Ok(lock);
        };
        let entries = source.table_like(entries_item, "[lock.entries]")?;
        for (key, item) in entries.iter() {
            read_entry(source, &mut lock, key, item)?;
        }
        Ok(lock)
    }

    /// The entry for (`name`, `artifact_type`), if present.
    pub fn entry(&self, name: &str, artifact_type: ArtifactType) -> Option<&LockEntry> {
        self.entries
            .iter()
            .find(|e| e.name == name && e.artifact_type == artifact_type)
    }
}

fn read_entry(source: &Source<'_>, lock: &mut Lock, key: &str, item: &Item) -> Result<()> {
    let span = item_span(item);
    let what = format!("lock entry {key:?}");
    let Some((name, type_name)) = split_lock_key(key) else {
        return Err(source.schema(span, format!("{what}: key is not \"<name>::<type>\"")));
    };
    if let Err(reason) = validate_artifact_name(name) {
        return Err(source.schema(span, format!("{what}: invalid name {name:?}: {reason}")));
    }
    let table = source.table_like(item, &what)?;
    let Ok(artifact_type) = type_name.parse::<ArtifactType>() else {
        lock.unsupported.push(UnsupportedItem {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            line: source.at(span).line,
        });
        return Ok(());
    };
    let content_hash = source.required_string(table, span.clone(), "content_hash", &what)?;
    if !is_content_hash(&content_hash) {
        let at = table.get("content_hash").and_then(Item::span);
        return Err(source.schema(
            at,
            format!("{what}: content_hash is not 64 lowercase hex digits"),
        ));
    }
    lock.entries.push(LockEntry {
        name: name.to_owned(),
        artifact_type,
        content_hash,
        fetched: source.required_string(table, span, "fetched", &what)?,
        upstream: source.optional_string(table, "upstream", &what)?,
        resolved_sha: source.optional_string(table, "resolved_sha", &what)?,
        resolved_version: source.optional_string(table, "resolved_version", &what)?,
    });
    Ok(())
}

impl super::editor::Typed for Lock {
    fn read(source: &Source<'_>, root: &Table) -> Result<Lock> {
        Lock::read(source, root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn keys_split_at_the_first_separator() {
        let text =
            format!("[lock.entries.\"a::skill::x\"]\ncontent_hash = \"{HASH}\"\nfetched = \"t\"\n");
        let lock = Lock::parse(&text, "l").unwrap();
        assert!(lock.entries.is_empty());
        assert_eq!(lock.unsupported[0].type_name, "skill::x");
    }

    #[test]
    fn inline_entries_are_read() {
        let text = format!(
            "[lock]\nentries = {{ \"a::agent\" = {{ content_hash = \"{HASH}\", fetched = \"t\", resolved_version = \"v1\" }} }}\n"
        );
        let lock = Lock::parse(&text, "l").unwrap();
        let entry = lock.entry("a", ArtifactType::Agent).unwrap();
        assert_eq!(entry.resolved_version.as_deref(), Some("v1"));
        assert_eq!(entry.key(), "a::agent");
    }

    #[test]
    fn wrong_shapes_are_located() {
        let err = Lock::parse("lock = 1\n", "l").unwrap_err();
        assert_eq!(err.to_string(), "l:1:8: [lock] must be a table");
        let err = Lock::parse("[lock.entries]\n\"a::skill\" = 1\n", "l").unwrap_err();
        assert_eq!(
            err.to_string(),
            "l:2:14: lock entry \"a::skill\" must be a table"
        );
    }
}
