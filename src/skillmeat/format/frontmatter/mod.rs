//! What SkillMeat 0.74 derives from the YAML front matter of `SKILL.md` and of command and
//! agent files: the `[artifacts.metadata]` fields `title`, `description`, `author`,
//! `license`, `version`, `dependencies` and `tools`, and the artifact's `tags`.
//!
//! This follows `skillmeat.utils.metadata.extract_artifact_metadata` step by step, because
//! its results are not those of "parse the YAML and copy the fields":
//!
//! 1. `extract_frontmatter`: the block between the `---` lines is loaded with PyYAML's
//!    `safe_load` (YAML 1.1, see `yaml`) and every field is stored as Python's `str()` of
//!    its value: `version: 0.10` is `"0.1"`, `title: yes` is `"True"`, `author:` (null) is
//!    `"None"`, a date is `"2024-01-05"`. Lists (`tags`, `dependencies`) keep the `str()` of
//!    each truthy item; a text is split at commas. `tools` (or `allowed-tools`,
//!    `allowedTools`) keeps only names of Claude Code tools, normalised (`bash` is `Bash`).
//!    When the YAML does not load, a line-by-line reading keeps only `description` and
//!    `tools`; when a key is not text (`1: x`), the whole step is lost (an `AttributeError`
//!    SkillMeat catches).
//! 2. A second, stricter look at the same file (`extract_yaml_frontmatter`) fills the fields
//!    still empty with the raw YAML values (so `title: ''` is stored as `""`, and after a lost
//!    step 1 a number stays a number).
//! 3. A description still empty is the first line of the body that is not a heading, cut to
//!    200 characters.
//! 4. On add only, the tags become the artifact's `tags`, duplicates removed. SkillMeat fails
//!    the add when they are not a list (`tags: 5`); skillwal refuses it with
//!    [`FrontMatterError::Tags`] instead, before anything is written. An update never
//!    changes the artifact's tags (SkillMeat re-extracts only the metadata).
//!
//! Deliberate differences: front matter of more than [`MAX_FRONT_MATTER`] bytes, nesting or
//! aliases beyond the limits of `yaml`, and the few YAML features `yaml` does not
//! reproduce are treated as front matter SkillMeat cannot read at all (step 3 only); a field
//! whose raw value TOML cannot hold the way SkillMeat writes it (an integer beyond 64 bits,
//! a list holding a null) is left out, where SkillMeat writes an invalid file or fails.

mod blocks;
mod fields;
mod py;
mod yaml;

use blocks::*;
use fields::*;

use std::io::Read;

use yaml::{LoadError, Value};

/// Keys SkillMeat copies into `[artifacts.metadata]`.
pub const METADATA_KEYS: [&str; 7] = [
    "title",
    "description",
    "author",
    "license",
    "version",
    "tools",
    "dependencies",
];

/// Front matter larger than this (in bytes) is not parsed.
pub const MAX_FRONT_MATTER: usize = 64 * 1024;

/// The most of a metadata file [`read_source`] keeps in memory.
pub const MAX_SOURCE: usize = 1024 * 1024;

/// Why an artifact cannot be added with the front matter it has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrontMatterError {
    /// The tags are not a list of texts: SkillMeat 0.74 fails such an add (`can only
    /// concatenate list`, `unhashable type`, or a TOML error) or writes tags that are not
    /// text.
    #[error(
        "front matter: `tags` is {value}, not a list of texts (SkillMeat 0.74 fails to add it too); write `tags: [a, b]` or `tags: a, b`"
    )]
    Tags {
        /// The value, as Python shows it.
        value: String,
    },
    /// A key is not text, or a value is or holds a null (`argument-hint:` left empty):
    /// SkillMeat 0.74 keeps such front matter under `metadata.extra` and fails to write it
    /// (`tomli_w`: "Object of type 'NoneType' is not TOML serializable", "Invalid mapping
    /// key").
    #[error(
        "front matter: {key} is empty (null), holds a null, or is not text; SkillMeat 0.74 fails to add it too (it cannot write it to collection.toml); give it a value, quote it, or remove it"
    )]
    Unwritable {
        /// The key, as written (a key that is not text as Python shows it).
        key: String,
    },
}

/// The text of an artifact's metadata file as SkillMeat reads it (`Path.read_text`): UTF-8,
/// a byte order mark kept (the newline translation is done by [`metadata_and_tags`]).
///
/// `file` is the open file (this module does no I/O of its own). Returns `None` when it
/// cannot be read or is not UTF-8 anywhere in it (SkillMeat then
/// extracts no metadata at all). Only the first [`MAX_SOURCE`] bytes are kept; the rest is
/// read to check it is UTF-8.
pub fn read_source(mut file: impl Read) -> Option<String> {
    let mut head = Vec::new();
    (&mut file)
        .take(MAX_SOURCE as u64)
        .read_to_end(&mut head)
        .ok()?;
    // A character cut at the limit is completed from the rest.
    let mut carry = match std::str::from_utf8(&head) {
        Ok(_) => Vec::new(),
        Err(e) if e.error_len().is_none() => head.split_off(e.valid_up_to()),
        Err(_) => return None,
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        match std::str::from_utf8(&carry) {
            Ok(_) => carry.clear(),
            Err(e) if e.error_len().is_none() => {
                carry.drain(..e.valid_up_to());
            }
            Err(_) => return None,
        }
    }
    if !carry.is_empty() {
        return None;
    }
    String::from_utf8(head).ok()
}

/// The `[artifacts.metadata]` table and the artifact tags SkillMeat 0.74 writes when it adds
/// an artifact whose metadata file is `text` (as [`read_source`] returns it; `\r\n` and `\r`
/// count as `\n`, as for Python).
///
/// Fails only where SkillMeat fails the add for the front matter's sake (tags that are not a
/// list of texts); bad YAML is never an error.
pub fn metadata_and_tags(text: &str) -> Result<(toml::Table, Vec<String>), FrontMatterError> {
    let meta = extract(text);
    let tags = artifact_tags(meta.tags.as_ref())?;
    if let Some(key) = meta.unwritable {
        return Err(FrontMatterError::Unwritable { key });
    }
    Ok((meta.to_table(), tags))
}

/// The `[artifacts.metadata]` table SkillMeat 0.74 writes when it updates an artifact whose
/// metadata file is `text`; the artifact's tags are left as they are. Never fails.
pub fn metadata(text: &str) -> toml::Table {
    extract(text).to_table()
}

/// SkillMeat's `ArtifactMetadata`, for the fields skillwal writes, with values as Python
/// holds them (`None` is Python's `None`).
#[derive(Debug, Default)]
struct Meta {
    title: Option<Value>,
    description: Option<Value>,
    author: Option<Value>,
    license: Option<Value>,
    version: Option<Value>,
    tags: Option<Value>,
    dependencies: Option<Value>,
    tools: Vec<String>,
    /// A key whose value SkillMeat puts under `metadata.extra` and cannot write.
    unwritable: Option<String>,
}

impl Meta {
    /// `ArtifactMetadata.to_dict` for these fields, as TOML values.
    fn to_table(&self) -> toml::Table {
        let mut table = toml::Table::new();
        for (key, value) in [
            ("title", &self.title),
            ("description", &self.description),
            ("author", &self.author),
            ("license", &self.license),
            ("version", &self.version),
        ] {
            if let Some(v) = value.as_ref().and_then(to_toml) {
                table.insert(key.into(), v);
            }
        }
        if let Some(v) = self
            .dependencies
            .as_ref()
            .filter(|d| truthy(d))
            .and_then(to_toml)
        {
            table.insert("dependencies".into(), v);
        }
        if !self.tools.is_empty() {
            let tools = self.tools.iter().cloned().map(toml::Value::String);
            table.insert("tools".into(), toml::Value::Array(tools.collect()));
        }
        table
    }
}

/// The TOML value `tomli_w` writes for a Python value; `None` where it cannot (a null, a
/// key that is not text, an integer beyond 64 bits: SkillMeat fails or writes invalid TOML).
fn to_toml(v: &Value) -> Option<toml::Value> {
    use toml::value::{Date, Datetime, Offset, Time};
    let date = |d: &yaml::Date| Date {
        year: d.year,
        month: d.month,
        day: d.day,
    };
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Int(i) => toml::Value::Integer(i.to_i64()?),
        Value::Float(f) => toml::Value::Float(*f),
        Value::Str(s) => toml::Value::String(s.clone()),
        Value::Date(d) => toml::Value::Datetime(Datetime {
            date: Some(date(d)),
            time: None,
            offset: None,
        }),
        Value::DateTime(d) => toml::Value::Datetime(Datetime {
            date: Some(date(&d.date)),
            time: Some(Time {
                hour: d.hour,
                minute: d.minute,
                second: Some(d.second),
                nanosecond: (d.microsecond != 0).then_some(d.microsecond * 1000),
            }),
            // `isoformat()` writes `+00:00`, never `Z`.
            offset: d
                .offset_minutes
                .map(|m| Offset::Custom { minutes: m as i16 }),
        }),
        Value::Seq(items) => toml::Value::Array(items.iter().map(to_toml).collect::<Option<_>>()?),
        Value::Map(pairs) => {
            let mut t = toml::Table::new();
            for (k, v) in pairs {
                let Value::Str(k) = k else { return None };
                t.insert(k.clone(), to_toml(v)?);
            }
            toml::Value::Table(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(text: &str) -> toml::Table {
        metadata(text)
    }

    #[test]
    fn blocks_as_the_two_python_patterns_find_them() {
        assert_eq!(lenient_block("---\na: 1\n---\nbody"), Some("a: 1"));
        assert_eq!(lenient_block("\u{feff}--- \na: 1\n---"), Some("a: 1"));
        assert_eq!(lenient_block("---\n---\n"), None);
        assert_eq!(lenient_block("---\n\n---\n"), Some(""));
        assert_eq!(
            lenient_block("---\na: 1\n----\nb: 2\n--- \t\n"),
            Some("a: 1\n----\nb: 2")
        );
        assert_eq!(strict_block("---\na: 1\n---"), None);
        assert_eq!(strict_block("---  \n\n  a: 1\n---  \n"), Some("  a: 1"));
        assert_eq!(strict_block("\u{feff}---\na: 1\n---\n"), None);
    }

    #[test]
    fn tool_names_are_normalised() {
        assert_eq!(normalize_tool("web-fetch"), Some("WebFetch"));
        assert_eq!(normalize_tool(" BASH "), Some("Bash"));
        assert_eq!(normalize_tool("todo_write"), Some("TodoWrite"));
        assert_eq!(normalize_tool("Foo"), None);
        assert_eq!(normalize_tool("mcp__x"), None);
    }

    #[test]
    fn body_description() {
        assert_eq!(
            meta("Just do it.\n")["description"].as_str(),
            Some("Just do it.")
        );
        assert_eq!(
            meta("---\nname: x\n---\n\n# Title\n  You help.  \n")["description"].as_str(),
            Some("You help.")
        );
        assert_eq!(meta("---\nname: x\n")["description"].as_str(), Some("---"));
    }
}
