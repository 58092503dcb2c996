//! `collection.toml` read into typed data.
//!
//! The reader accepts what SkillMeat 0.74 accepts and rejects what it rejects (missing
//! required fields, an origin other than `local`/`github`/`marketplace`, invalid names),
//! plus what skillwal cannot work with safely (names breaking [`validate_artifact_name`],
//! duplicate identities). Every error carries the document name and a 1-based line and
//! column. Artifacts whose type skillwal does not manage (hook, mcp, …) are listed in
//! [`Manifest::unsupported`]; fields the reader does not know are ignored here and kept by
//! the editor ([`crate::skillmeat::ManifestEditor`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use toml_edit::{Item, Table, TableLike};

use super::editor::{Source, item_span, table_like_to_plain};
use super::error::{Error, Result};
use super::names::{ArtifactType, lock_key, validate_artifact_name};

/// Version string SkillMeat writes in `[collection] version`.
pub const MANIFEST_FORMAT_VERSION: &str = "1.0.0";

/// Fields of an `[[artifacts]]` table that SkillMeat gives a meaning, in the order SkillMeat
/// writes them. The generic string accessors refuse these names.
pub const ARTIFACT_FIELDS: [&str; 17] = [
    "name",
    "type",
    "path",
    "origin",
    "added",
    "metadata",
    "upstream",
    "version_spec",
    "resolved_sha",
    "resolved_version",
    "last_updated",
    "discovered_at",
    "tags",
    "origin_source",
    "target_platforms",
    "import_id",
    "uuid",
];

/// Where an artifact came from, as SkillMeat records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Added from a local path.
    Local,
    /// Added from GitHub.
    Github,
    /// Added from a marketplace.
    Marketplace,
}

impl Origin {
    /// The spelling in `collection.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Github => "github",
            Origin::Marketplace => "marketplace",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Origin {
    type Err = Error;

    /// Accepts exactly `local`, `github`, `marketplace`.
    fn from_str(s: &str) -> Result<Self> {
        [Origin::Local, Origin::Github, Origin::Marketplace]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| Error::UnknownOrigin {
                value: s.to_owned(),
            })
    }
}

/// The `[collection]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionInfo {
    /// Collection name (non-empty).
    pub name: String,
    /// Format version, `"1.0.0"`.
    pub version: String,
    /// Creation timestamp (see [`crate::skillmeat::now_timestamp`]).
    pub created: String,
    /// Timestamp of the last manifest write.
    pub updated: String,
}

/// One `[[artifacts]]` entry of a type skillwal manages.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// Artifact name; passes [`validate_artifact_name`].
    pub name: String,
    /// Artifact type; with `name`, the artifact's identity.
    pub artifact_type: ArtifactType,
    /// Storage path relative to the collection root, as recorded. SkillMeat always records
    /// [`ArtifactType::storage_path`]; the reader does not enforce it, so callers that touch
    /// files should derive the path from name and type instead of trusting this field.
    pub path: String,
    /// Where the artifact came from.
    pub origin: Origin,
    /// When it was added.
    pub added: String,
    /// Upstream URL, if any.
    pub upstream: Option<String>,
    /// What the user asked for (`"latest"`, a tag, a branch).
    pub version_spec: Option<String>,
    /// Commit the artifact was resolved to.
    pub resolved_sha: Option<String>,
    /// Version the artifact was resolved to.
    pub resolved_version: Option<String>,
    /// When it was last updated.
    pub last_updated: Option<String>,
    /// Tags; empty when absent (SkillMeat omits the field when empty).
    pub tags: Vec<String>,
    /// The `[artifacts.metadata]` table (front matter of `SKILL.md` and the like); empty when
    /// absent (SkillMeat omits it when empty).
    pub metadata: toml::Table,
    /// Fields SkillMeat does not know whose value is a string, e.g. skillwal's own
    /// `skillwal_source`. SkillMeat drops them when it rewrites the manifest, so readers must
    /// cope with their absence. Unknown non-string fields are not listed here.
    pub extra: BTreeMap<String, String>,
}

impl Artifact {
    /// A new artifact with the storage path SkillMeat would record and no optional fields.
    ///
    /// Fails when `name` breaks the naming rules.
    pub fn new(
        name: &str,
        artifact_type: ArtifactType,
        origin: Origin,
        added: &str,
    ) -> Result<Artifact> {
        Ok(Artifact {
            path: artifact_type.storage_path(name)?,
            name: name.to_owned(),
            artifact_type,
            origin,
            added: added.to_owned(),
            upstream: None,
            version_spec: None,
            resolved_sha: None,
            resolved_version: None,
            last_updated: None,
            tags: Vec::new(),
            metadata: toml::Table::new(),
            extra: BTreeMap::new(),
        })
    }

    /// The identity as a lock key / diff item: `"<name>::<type>"`.
    pub fn key(&self) -> String {
        lock_key(&self.name, self.artifact_type)
    }

    /// The unknown string field `field`, if present.
    pub fn extra_field(&self, field: &str) -> Option<&str> {
        self.extra.get(field).map(String::as_str)
    }
}

/// An artifact of a type skillwal does not manage; kept untouched by the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedItem {
    /// Its name.
    pub name: String,
    /// Its type as written (`"hook"`, `"mcp"`, …).
    pub type_name: String,
    /// 1-based line where it starts.
    pub line: usize,
}

/// A parsed `collection.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The `[collection]` table.
    pub collection: CollectionInfo,
    /// Artifacts of managed types, in document order.
    pub artifacts: Vec<Artifact>,
    /// Artifacts of other types, in document order.
    pub unsupported: Vec<UnsupportedItem>,
}

impl Manifest {
    /// Parses and validates `text`; `document` names it in errors (usually its path).
    ///
    /// Fails with [`Error::Syntax`] for invalid TOML, [`Error::Schema`] for valid TOML that is
    /// not a valid manifest, [`Error::DocumentTooLarge`] beyond
    /// [`crate::skillmeat::DOCUMENT_BYTES_MAX`].
    pub fn parse(text: &str, document: &str) -> Result<Manifest> {
        let (source, doc) = Source::parse(text, document)?;
        Manifest::read(&source, doc.as_table())
    }

    /// Reads and validates the root table `root` of a document that [`Source::parse`] parsed
    /// from `source` (its spans locate the errors); fails as [`Manifest::parse`] does.
    pub(crate) fn read(source: &Source<'_>, root: &Table) -> Result<Manifest> {
        let collection_item = root
            .get("collection")
            .ok_or_else(|| source.schema(None, "missing [collection] table"))?;
        let collection = read_collection(source, collection_item)?;
        let mut manifest = Manifest {
            collection,
            artifacts: Vec::new(),
            unsupported: Vec::new(),
        };
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for (index, (table, span)) in artifact_tables(source, root.get("artifacts"))?
            .into_iter()
            .enumerate()
        {
            let what = format!("artifact #{}", index + 1);
            let identity = read_identity(source, table, span.clone(), &what)?;
            if !seen.insert(identity.clone()) {
                let at = table.get("name").and_then(Item::span).or(span);
                return Err(source.schema(
                    at,
                    format!("duplicate artifact {}::{}", identity.0, identity.1),
                ));
            }
            match identity.1.parse::<ArtifactType>() {
                Ok(artifact_type) => manifest.artifacts.push(read_artifact(
                    source,
                    table,
                    span,
                    &what,
                    artifact_type,
                )?),
                Err(_) => manifest.unsupported.push(UnsupportedItem {
                    name: identity.0,
                    type_name: identity.1,
                    line: source.at(span).line,
                }),
            }
        }
        Ok(manifest)
    }

    /// The artifact with identity (`name`, `artifact_type`), if present.
    pub fn artifact(&self, name: &str, artifact_type: ArtifactType) -> Option<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.name == name && a.artifact_type == artifact_type)
    }
}

fn read_collection(source: &Source<'_>, item: &Item) -> Result<CollectionInfo> {
    let what = "[collection]";
    let table = source.table_like(item, what)?;
    let span = item_span(item);
    let field = |key| source.required_string(table, span.clone(), key, what);
    let info = CollectionInfo {
        name: field("name")?,
        version: field("version")?,
        created: field("created")?,
        updated: field("updated")?,
    };
    if info.name.is_empty() {
        let at = table.get("name").and_then(Item::span);
        return Err(source.schema(at, "[collection]: name is empty"));
    }
    Ok(info)
}

type SpannedTable<'d> = (&'d dyn TableLike, Option<std::ops::Range<usize>>);

/// The artifact tables, whether written as `[[artifacts]]` or as an inline array.
fn artifact_tables<'d>(
    source: &Source<'_>,
    item: Option<&'d Item>,
) -> Result<Vec<SpannedTable<'d>>> {
    match item {
        None => Ok(Vec::new()),
        Some(Item::ArrayOfTables(aot)) => Ok(aot
            .iter()
            .map(|t| (t as &dyn TableLike, t.span()))
            .collect()),
        Some(Item::Value(toml_edit::Value::Array(array))) => array
            .iter()
            .map(|v| match v.as_inline_table() {
                Some(t) => Ok((t as &dyn TableLike, t.span())),
                None => Err(source.schema(v.span(), "artifacts: each element must be a table")),
            })
            .collect(),
        Some(other) => Err(source.schema(other.span(), "artifacts must be an array of tables")),
    }
}

/// (name, type string) of an artifact table; validates the name.
fn read_identity(
    source: &Source<'_>,
    table: &dyn TableLike,
    span: Option<std::ops::Range<usize>>,
    what: &str,
) -> Result<(String, String)> {
    let name = source.required_string(table, span.clone(), "name", what)?;
    if let Err(reason) = validate_artifact_name(&name) {
        let at = table.get("name").and_then(Item::span);
        return Err(source.schema(at, format!("{what}: invalid name {name:?}: {reason}")));
    }
    let type_name = source.required_string(table, span, "type", what)?;
    Ok((name, type_name))
}

fn read_artifact(
    source: &Source<'_>,
    table: &dyn TableLike,
    span: Option<std::ops::Range<usize>>,
    what: &str,
    artifact_type: ArtifactType,
) -> Result<Artifact> {
    let what = &format!(
        "{what} ({})",
        table.get("name").and_then(Item::as_str).unwrap_or("")
    );
    let required = |key| source.required_string(table, span.clone(), key, what);
    let optional = |key| source.optional_string(table, key, what);
    let origin_text = required("origin")?;
    let origin = origin_text.parse::<Origin>().map_err(|e| {
        source.schema(
            table.get("origin").and_then(Item::span),
            format!("{what}: {e}"),
        )
    })?;
    let metadata = match table.get("metadata") {
        None => toml::Table::new(),
        Some(item) => match item.as_table_like() {
            Some(table) => table_like_to_plain(table),
            None => {
                return Err(source.schema(item.span(), format!("{what}: metadata must be a table")));
            }
        },
    };
    let extra = table
        .iter()
        .filter(|(k, _)| !ARTIFACT_FIELDS.contains(k))
        .filter_map(|(k, item)| item.as_str().map(|v| (k.to_owned(), v.to_owned())))
        .collect();
    Ok(Artifact {
        name: required("name")?,
        artifact_type,
        path: required("path")?,
        origin,
        added: required("added")?,
        upstream: optional("upstream")?,
        version_spec: optional("version_spec")?,
        resolved_sha: optional("resolved_sha")?,
        resolved_version: optional("resolved_version")?,
        last_updated: optional("last_updated")?,
        tags: source.string_array(table, "tags", what)?,
        metadata,
        extra,
    })
}

impl super::editor::Typed for Manifest {
    fn read(source: &Source<'_>, root: &Table) -> Result<Manifest> {
        Manifest::read(source, root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "[collection]\nname = \"c\"\nversion = \"1.0.0\"\ncreated = \"t0\"\nupdated = \"t1\"\n";

    #[test]
    fn origins_round_trip() {
        for o in [Origin::Local, Origin::Github, Origin::Marketplace] {
            assert_eq!(o.as_str().parse::<Origin>().unwrap(), o);
        }
        assert!("gitlab".parse::<Origin>().is_err());
    }

    #[test]
    fn minimal_manifest() {
        let m = Manifest::parse(MINIMAL, "m").unwrap();
        assert_eq!(m.collection.name, "c");
        assert!(m.artifacts.is_empty());
    }

    #[test]
    fn inline_artifacts_are_read() {
        let text = format!(
            "artifacts = [{{ name = \"a\", type = \"agent\", path = \"agents/a.md\", origin = \"local\", added = \"t\" }}]\n{MINIMAL}"
        );
        let m = Manifest::parse(&text, "m").unwrap();
        assert_eq!(m.artifacts[0].artifact_type, ArtifactType::Agent);
    }

    #[test]
    fn missing_artifacts_key_and_unknown_types() {
        let text = format!(
            "{MINIMAL}\n[[artifacts]]\nname = \"w\"\ntype = \"workflow\"\npath = \"workflows/w\"\norigin = \"local\"\nadded = \"t\"\n"
        );
        let m = Manifest::parse(&text, "m").unwrap();
        assert!(m.artifacts.is_empty());
        assert_eq!(m.unsupported[0].type_name, "workflow");
        assert_eq!(m.unsupported[0].line, 7);
    }

    #[test]
    fn artifacts_of_the_wrong_shape_are_located() {
        let text = format!("artifacts = 3\n{MINIMAL}");
        let err = Manifest::parse(&text, "m").unwrap_err();
        assert_eq!(
            err.to_string(),
            "m:1:13: artifacts must be an array of tables"
        );
        let text = format!("artifacts = [1]\n{MINIMAL}");
        let err = Manifest::parse(&text, "m").unwrap_err();
        assert_eq!(
            err.to_string(),
            "m:1:14: artifacts: each element must be a table"
        );
    }

    #[test]
    fn artifact_new_derives_the_storage_path() {
        let a = Artifact::new("x", ArtifactType::Command, Origin::Local, "t").unwrap();
        assert_eq!(a.path, "commands/x.md");
        assert_eq!(a.key(), "x::command");
        assert!(Artifact::new("", ArtifactType::Command, Origin::Local, "t").is_err());
    }
}
