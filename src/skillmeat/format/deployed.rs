//! `.skillmeat-deployed.toml`: what SkillMeat deployed into one profile root of a project
//! (`<project>/.claude/.skillmeat-deployed.toml`, `<project>/.agents/…`), read and written
//! exactly as SkillMeat 0.74 does (`docs/skillmeat-deploy-format.md` §1).
//!
//! The file is `tomli_w`'s rendering of `{"deployed": [record, …]}`: one `[[deployed]]`
//! table per record, a blank line between tables, arrays one element per line; with no
//! record left it is exactly `deployed = []\n`. Reading keeps every record and every field
//! as parsed, also those skillwal does not know (the Python tool drops them when it
//! rewrites the file; skillwal keeps them). A record skillwal writes has every field the
//! Python tool writes, in its order, with `content_hash` = `collection_sha` =
//! `merge_base_snapshot`, `version_lineage = [content_hash]`, `local_modifications = false`
//! and the profile fields always present.
//!
//! Refused on read, as the Python tool refuses them (it would fail on every command, or drop
//! the record on its next write): a syntax error, a `deployed` that is not a list of tables,
//! a record without `artifact_name`, `artifact_type`, `from_collection`, `deployed_at`,
//! `artifact_path` or one of `content_hash`/`collection_sha`, any of them not a string (a
//! TOML datetime for `deployed_at` included), and a `platform` that is not one of
//! [`PLATFORMS`]. Every error names the document, line and column.

use toml_edit::{Item, Key, Table, TableLike, Value};

use super::editor::{Source, item_span, string_array_value, string_value};
use super::error::{Error, Result};

/// The tracking file's name in a profile root.
pub const DEPLOYED_FILE_NAME: &str = ".skillmeat-deployed.toml";

/// The Python tool's `Platform` values; any other makes it refuse the whole file.
pub const PLATFORMS: [&str; 7] = [
    "claude_code",
    "codex",
    "gemini",
    "cursor",
    "bob",
    "remote_git",
    "other",
];

/// The profile a record without `deployment_profile_id` belongs to.
pub const DEFAULT_PROFILE_ID: &str = "claude_code";
/// The root directory a record without `profile_root_dir` belongs to.
pub const DEFAULT_PROFILE_ROOT: &str = ".claude";

/// The record fields SkillMeat knows, in the order its `Deployment.to_dict` writes them.
pub const RECORD_FIELDS: [&str; 18] = [
    "artifact_name",
    "artifact_type",
    "from_collection",
    "deployed_at",
    "artifact_path",
    "content_hash",
    "local_modifications",
    "parent_hash",
    "version_lineage",
    "last_modified_check",
    "modification_detected_at",
    "merge_base_snapshot",
    "deployment_profile_id",
    "platform",
    "profile_root_dir",
    "artifact_uuid",
    "branch_name",
    "collection_sha",
];

/// Fields a redeploy carries over from the record it replaces (the Python tool builds the
/// new record afresh: lineage, detection time and parent hash go; these identify the
/// artifact, not the deployment). Unknown fields are carried over too.
const CARRIED_FIELDS: [&str; 2] = ["artifact_uuid", "branch_name"];

/// One record, as read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployment {
    /// `artifact_name`.
    pub artifact_name: String,
    /// `artifact_type` as written (`skill`, `command`, `agent`, or a type skillwal does not
    /// deploy such as `hook`).
    pub artifact_type: String,
    /// `from_collection`.
    pub from_collection: String,
    /// `deployed_at`, a naive ISO-8601 string.
    pub deployed_at: String,
    /// `artifact_path`, relative to the profile root.
    pub artifact_path: String,
    /// `content_hash`, else `collection_sha`; the Python `status` compares with
    /// `collection_sha or content_hash`, and skillwal writes them equal.
    pub content_hash: String,
    /// `deployment_profile_id`, else [`DEFAULT_PROFILE_ID`].
    pub profile_id: String,
    /// `profile_root_dir`, else [`DEFAULT_PROFILE_ROOT`].
    pub profile_root_dir: String,
}

impl Deployment {
    /// The record's identity in the Python tool: the name without a `.md`, `.txt`, `.json`,
    /// `.yaml` or `.yml` suffix, the type, and the profile.
    pub fn key(&self) -> (String, &str, &str) {
        (
            record_name(&self.artifact_name).to_owned(),
            &self.artifact_type,
            &self.profile_id,
        )
    }
}

/// `name` without the suffix the Python tool strips when it matches records.
pub fn record_name(name: &str) -> &str {
    for suffix in [".md", ".txt", ".json", ".yaml", ".yml"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return stem;
        }
    }
    name
}

/// What a new or replaced record says (see the module documentation for what is derived).
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    /// The artifact's name.
    pub artifact_name: &'a str,
    /// `skill`, `command` or `agent`.
    pub artifact_type: &'a str,
    /// The collection's name.
    pub from_collection: &'a str,
    /// Now, as a naive timestamp.
    pub deployed_at: &'a str,
    /// Relative to the profile root: `skills/<name>`, `commands/<name>.md`.
    pub artifact_path: &'a str,
    /// SkillMeat's hash of exactly what was deployed.
    pub content_hash: &'a str,
    /// The profile's id.
    pub profile_id: &'a str,
    /// The profile's platform (one of [`PLATFORMS`]).
    pub platform: &'a str,
    /// The profile's root directory (`.claude`).
    pub profile_root_dir: &'a str,
}

/// A tracking file, parsed, with every record's table kept for writing back.
#[derive(Debug, Clone)]
pub struct DeployedFile {
    /// Top-level items other than `deployed`, kept as parsed.
    others: Vec<(String, Item)>,
    tables: Vec<Table>,
    records: Vec<Deployment>,
}

impl DeployedFile {
    /// A file with no records (what a profile root without a tracking file has).
    pub fn empty() -> DeployedFile {
        DeployedFile {
            others: Vec::new(),
            tables: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Parses `text`; `document` names it in errors. See the module documentation for what
    /// is refused.
    pub fn parse(text: &str, document: &str) -> Result<DeployedFile> {
        let (source, doc) = Source::parse(text, document)?;
        let mut file = DeployedFile::empty();
        // Validated with spans (for line and column); kept from the same text resolved, so
        // that every value is written back exactly as it was.
        let kept = doc.clone().into_mut();
        for ((key, item), (_, kept)) in doc.as_table().iter().zip(kept.as_table().iter()) {
            if key != "deployed" {
                file.others.push((key.to_owned(), kept.clone()));
                continue;
            }
            let not_a_list = || {
                source.schema(
                    item_span(item),
                    "`deployed` must be a list of tables ([[deployed]])",
                )
            };
            match (item, kept) {
                (Item::ArrayOfTables(a), Item::ArrayOfTables(k)) => {
                    for (t, kt) in a.iter().zip(k.iter()) {
                        file.records.push(read_record(&source, t, t.span())?);
                        file.tables.push(kt.clone());
                    }
                }
                (Item::Value(Value::Array(a)), Item::Value(Value::Array(k))) => {
                    for (v, kv) in a.iter().zip(k.iter()) {
                        let (Some(t), Some(kt)) = (v.as_inline_table(), kv.as_inline_table())
                        else {
                            return Err(not_a_list());
                        };
                        file.records.push(read_record(&source, t, v.span())?);
                        file.tables.push(kt.clone().into_table());
                    }
                }
                _ => return Err(not_a_list()),
            }
        }
        Ok(file)
    }

    /// The records, in file order.
    pub fn records(&self) -> &[Deployment] {
        &self.records
    }

    /// The index of the record of `name` (suffix stripped as the Python tool does), `ty` and
    /// `profile_id`.
    pub fn position(&self, name: &str, ty: &str, profile_id: &str) -> Option<usize> {
        let key = (record_name(name).to_owned(), ty, profile_id);
        self.records.iter().position(|r| r.key() == key)
    }

    /// Adds the record, or replaces the one with its identity in place (its unknown fields
    /// and its `artifact_uuid` and `branch_name` carried over).
    pub fn upsert(&mut self, new: &NewRecord<'_>) {
        let mut table = Table::new();
        let lineage = [new.content_hash.to_owned()];
        let fields: [(&str, Value); 13] = [
            ("artifact_name", string_value(new.artifact_name)),
            ("artifact_type", string_value(new.artifact_type)),
            ("from_collection", string_value(new.from_collection)),
            ("deployed_at", string_value(new.deployed_at)),
            ("artifact_path", string_value(new.artifact_path)),
            ("content_hash", string_value(new.content_hash)),
            ("local_modifications", Value::from(false)),
            ("version_lineage", string_array_value(&lineage)),
            ("merge_base_snapshot", string_value(new.content_hash)),
            ("deployment_profile_id", string_value(new.profile_id)),
            ("platform", string_value(new.platform)),
            ("profile_root_dir", string_value(new.profile_root_dir)),
            ("collection_sha", string_value(new.content_hash)),
        ];
        let at = self.position(new.artifact_name, new.artifact_type, new.profile_id);
        let old = at.map(|i| &self.tables[i]);
        for (key, mut value) in fields {
            if key == "collection_sha"
                && let Some(old) = old
            {
                for carried in CARRIED_FIELDS {
                    if let Some(v) = old.get(carried).and_then(Item::as_value) {
                        table.insert(carried, Item::Value(v.clone()));
                    }
                }
            }
            value.decor_mut().clear();
            table.insert(key, Item::Value(value));
        }
        if let Some(old) = old {
            for (k, item) in old.iter() {
                if !RECORD_FIELDS.contains(&k) {
                    table.insert(k, item.clone());
                }
            }
        }
        let record = Deployment {
            artifact_name: new.artifact_name.to_owned(),
            artifact_type: new.artifact_type.to_owned(),
            from_collection: new.from_collection.to_owned(),
            deployed_at: new.deployed_at.to_owned(),
            artifact_path: new.artifact_path.to_owned(),
            content_hash: new.content_hash.to_owned(),
            profile_id: new.profile_id.to_owned(),
            profile_root_dir: new.profile_root_dir.to_owned(),
        };
        match at {
            Some(i) => {
                self.tables[i] = table;
                self.records[i] = record;
            }
            None => {
                self.tables.push(table);
                self.records.push(record);
            }
        }
    }

    /// Removes the record at `index` (from [`DeployedFile::position`]).
    pub fn remove(&mut self, index: usize) {
        self.tables.remove(index);
        self.records.remove(index);
    }

    /// The file's text, as `tomli_w` lays it out: kept top-level values first, then one
    /// `[[deployed]]` table per record (its fields in their order, a blank line between
    /// tables), then kept tables; `deployed = []` when there is no record.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (values, tables): (Vec<_>, Vec<_>) =
            self.others.iter().partition(|(_, i)| i.is_value());
        for (k, item) in &values {
            push_field(&mut out, k, item);
        }
        if self.tables.is_empty() {
            out.push_str("deployed = []\n");
        }
        for (i, t) in self.tables.iter().enumerate() {
            if i > 0 || !values.is_empty() {
                out.push('\n');
            }
            out.push_str("[[deployed]]\n");
            push_table_fields(&mut out, t);
        }
        for (k, item) in tables {
            let mut doc = toml_edit::DocumentMut::new();
            doc.insert(k, item.clone());
            out.push('\n');
            out.push_str(doc.to_string().trim_start());
        }
        out
    }
}

/// `key = value` lines of a record table; a sub-table or list of tables of an unknown field
/// is written inline (the same data; the Python tool never writes one).
fn push_table_fields(out: &mut String, t: &Table) {
    for (k, item) in t.iter() {
        push_field(out, k, item);
    }
}

fn push_field(out: &mut String, k: &str, item: &Item) {
    let value = match item {
        Item::Value(v) => v.clone(),
        Item::Table(t) => Value::InlineTable(t.clone().into_inline_table()),
        Item::ArrayOfTables(a) => Value::Array(a.clone().into_array()),
        Item::None => return,
    };
    out.push_str(&Key::new(k).display_repr());
    out.push_str(" = ");
    out.push_str(value.to_string().trim());
    out.push('\n');
}

fn read_record(
    source: &Source<'_>,
    t: &dyn TableLike,
    span: Option<std::ops::Range<usize>>,
) -> Result<Deployment> {
    let what = "a [[deployed]] record";
    let string = |key: &str| -> Result<Option<String>> {
        match t.get(key) {
            None => Ok(None),
            Some(item) => match item.as_str() {
                Some(s) => Ok(Some(s.to_owned())),
                None if item.as_datetime().is_some() => Err(source.schema(
                    item_span(item),
                    format!(
                        "{what}: `{key}` is a TOML datetime; SkillMeat needs a quoted string \
                         (it fails on every command with \"fromisoformat: argument must be str\")"
                    ),
                )),
                None => Err(source.schema(
                    item_span(item),
                    format!("{what}: field `{key}` must be a string"),
                )),
            },
        }
    };
    let required = |key: &str| -> Result<String> {
        string(key)?
            .ok_or_else(|| source.schema(span.clone(), format!("{what}: missing field `{key}`")))
    };
    let content_hash = match (string("content_hash")?, string("collection_sha")?) {
        (Some(h), _) | (None, Some(h)) => h,
        (None, None) => {
            return Err(source.schema(
                span,
                format!("{what}: missing field `content_hash` (or `collection_sha`)"),
            ));
        }
    };
    if let Some(p) = string("platform")?
        && !PLATFORMS.contains(&p.as_str())
    {
        return Err(source.schema(
            t.get("platform").and_then(item_span),
            format!(
                "{what}: `platform = {p:?}` is not one of {}; SkillMeat refuses the whole file",
                PLATFORMS.join(", ")
            ),
        ));
    }
    Ok(Deployment {
        artifact_name: required("artifact_name")?,
        artifact_type: required("artifact_type")?,
        from_collection: required("from_collection")?,
        deployed_at: required("deployed_at")?,
        artifact_path: required("artifact_path")?,
        content_hash,
        profile_id: string("deployment_profile_id")?.unwrap_or_else(|| DEFAULT_PROFILE_ID.into()),
        profile_root_dir: string("profile_root_dir")?
            .unwrap_or_else(|| DEFAULT_PROFILE_ROOT.into()),
    })
}

/// Whether `e` is an error of this document's content (as opposed to I/O).
pub fn is_document_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Syntax { .. } | Error::Schema { .. } | Error::DocumentTooLarge { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte for byte what SkillMeat 0.74 wrote for a skill and a command (the record written
    /// last has no `version_lineage`, as the Python tool leaves it out).
    const PYTHON: &str = r#"[[deployed]]
artifact_name = "alpha"
artifact_type = "skill"
from_collection = "default"
deployed_at = "2026-12-02T03:25:13.331697"
artifact_path = "skills/alpha"
content_hash = "da6d53a0b79f5ce55b0b460ad7e610a0a0d5ec848b6fa0f33fa209de3c7b2cf8"
local_modifications = false
version_lineage = [
    "da6d53a0b79f5ce55b0b460ad7e610a0a0d5ec848b6fa0f33fa209de3c7b2cf8",
]
merge_base_snapshot = "da6d53a0b79f5ce55b0b460ad7e610a0a0d5ec848b6fa0f33fa209de3c7b2cf8"
deployment_profile_id = "claude_code"
platform = "claude_code"
profile_root_dir = ".claude"
collection_sha = "da6d53a0b79f5ce55b0b460ad7e610a0a0d5ec848b6fa0f33fa209de3c7b2cf8"

[[deployed]]
artifact_name = "cmdone"
artifact_type = "command"
from_collection = "default"
deployed_at = "2026-12-02T03:25:13.379438"
artifact_path = "commands/cmdone.md"
content_hash = "fddf57e1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
local_modifications = false
merge_base_snapshot = "fddf57e1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
deployment_profile_id = "claude_code"
platform = "claude_code"
profile_root_dir = ".claude"
collection_sha = "fddf57e1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
"#;

    fn new<'a>(name: &'a str, hash: &'a str) -> NewRecord<'a> {
        NewRecord {
            artifact_name: name,
            artifact_type: "skill",
            from_collection: "default",
            deployed_at: "2026-12-02T03:25:13.331697",
            artifact_path: "skills/alpha",
            content_hash: hash,
            profile_id: "claude_code",
            platform: "claude_code",
            profile_root_dir: ".claude",
        }
    }

    #[test]
    fn python_file_round_trips_byte_for_byte() {
        let f = DeployedFile::parse(PYTHON, "t").unwrap();
        assert_eq!(f.records().len(), 2);
        assert_eq!(f.records()[1].artifact_path, "commands/cmdone.md");
        assert_eq!(f.render(), PYTHON);
    }

    #[test]
    fn a_new_record_is_what_python_writes() {
        let mut f = DeployedFile::empty();
        f.upsert(&new(
            "alpha",
            "da6d53a0b79f5ce55b0b460ad7e610a0a0d5ec848b6fa0f33fa209de3c7b2cf8",
        ));
        let first_table = PYTHON.split("\n\n").next().unwrap();
        assert_eq!(f.render(), format!("{first_table}\n"));
    }

    #[test]
    fn redeploy_replaces_in_place_and_keeps_unknown_fields() {
        let text = PYTHON.replacen(
            "local_modifications = false\n",
            "local_modifications = false\nskillwal_x = 3\nmodification_detected_at = \"2026-12-02T03:26:15.931332\"\n",
            1,
        );
        let text = format!("owner = \"me\"\n\n{text}\n[extra]\nk = 1\n");
        let mut f = DeployedFile::parse(&text, "t").unwrap();
        f.upsert(&new("alpha", &"b".repeat(64)));
        let out = f.render();
        assert!(out.starts_with("owner = \"me\"\n\n[[deployed]]\nartifact_name = \"alpha\""));
        assert!(out.contains("skillwal_x = 3\n"), "{out}");
        assert!(!out.contains("modification_detected_at"), "{out}");
        assert!(out.contains(&format!("collection_sha = \"{}\"", "b".repeat(64))));
        assert!(out.ends_with("[extra]\nk = 1\n"), "{out}");
        // Still the first record; the command is untouched.
        assert_eq!(f.records()[0].content_hash, "b".repeat(64));
        assert_eq!(f.records()[1].artifact_name, "cmdone");
        let again = DeployedFile::parse(&out, "t").unwrap();
        assert_eq!(again.records(), f.records());
    }

    #[test]
    fn removing_every_record_leaves_an_empty_list() {
        let mut f = DeployedFile::parse(PYTHON, "t").unwrap();
        f.remove(1);
        f.remove(0);
        assert_eq!(f.render(), "deployed = []\n");
        let empty = DeployedFile::parse("deployed = []\n", "t").unwrap();
        assert!(empty.records().is_empty());
        assert_eq!(empty.render(), "deployed = []\n");
    }

    #[test]
    fn names_match_without_suffix_and_per_profile() {
        let f = DeployedFile::parse(PYTHON, "t").unwrap();
        assert_eq!(f.position("cmdone.md", "command", "claude_code"), Some(1));
        assert_eq!(f.position("cmdone", "command", "codex"), None);
        assert_eq!(f.position("cmdone", "agent", "claude_code"), None);
    }

    #[test]
    fn what_python_refuses_is_refused_with_a_line() {
        let datetime = PYTHON.replacen(
            "deployed_at = \"2026-12-02T03:25:13.331697\"",
            "deployed_at = 2026-12-02T03:25:13",
            1,
        );
        let e = DeployedFile::parse(&datetime, "p/.claude/.skillmeat-deployed.toml").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("p/.claude/.skillmeat-deployed.toml:5:"),
            "{msg}"
        );
        assert!(msg.contains("TOML datetime"), "{msg}");

        let platform = PYTHON.replacen("platform = \"claude_code\"", "platform = \"skillwal\"", 1);
        let msg = DeployedFile::parse(&platform, "t").unwrap_err().to_string();
        assert!(msg.starts_with("t:14:"), "{msg}");
        assert!(msg.contains("\"skillwal\""), "{msg}");

        let missing = PYTHON.replacen("artifact_path = \"skills/alpha\"\n", "", 1);
        let msg = DeployedFile::parse(&missing, "t").unwrap_err().to_string();
        assert!(msg.contains("missing field `artifact_path`"), "{msg}");

        let syntax = DeployedFile::parse("[[deployed]\n", "t").unwrap_err();
        assert!(matches!(syntax, Error::Syntax { .. }));
        assert!(DeployedFile::parse("deployed = 3\n", "t").is_err());
    }
}
