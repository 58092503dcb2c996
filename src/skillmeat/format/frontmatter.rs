//! What SkillMeat 0.74 derives from the YAML front matter of `SKILL.md` and of command and
//! agent files: the `[artifacts.metadata]` fields `title`, `description`, `author`,
//! `license`, `version`, `dependencies` and `tools`, and the artifact's `tags`.
//!
//! This follows `skillmeat.utils.metadata.extract_artifact_metadata` step by step, because
//! its results are not those of "parse the YAML and copy the fields":
//!
//! 1. `extract_frontmatter`: the block between the `---` lines is loaded with PyYAML's
//!    `safe_load` (YAML 1.1, see [`yaml`]) and every field is stored as Python's `str()` of
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
//! aliases beyond the limits of [`yaml`], and the few YAML features [`yaml`] does not
//! reproduce are treated as front matter SkillMeat cannot read at all (step 3 only); a field
//! whose raw value TOML cannot hold the way SkillMeat writes it (an integer beyond 64 bits,
//! a list holding a null) is left out, where SkillMeat writes an invalid file or fails.

mod py;
mod yaml;

use std::io::Read;
use std::path::Path;

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
/// Returns `None` when the file cannot be read or is not UTF-8 anywhere in it (SkillMeat then
/// extracts no metadata at all). Only the first [`MAX_SOURCE`] bytes are kept; the rest is
/// read to check it is UTF-8.
pub fn read_source(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
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

/// What `extract_frontmatter` returns, for the fields used here.
#[derive(Debug, Default)]
struct Fields {
    description: Option<String>,
    tools: Option<Vec<String>>,
    title: Option<String>,
    author: Option<String>,
    license: Option<String>,
    version: Option<String>,
    tags: Option<Vec<String>>,
    dependencies: Option<Vec<String>>,
    /// A key whose raw value this step keeps (unknown keys, `hooks`, `parameters`, the
    /// `aos_*` fields) and `tomli_w` cannot write.
    unwritable: Option<String>,
}

/// Keys `extract_frontmatter` knows (compared lower-cased, without `-` and `_`).
const KNOWN_FIELDS: [&str; 22] = [
    "name",
    "description",
    "tools",
    "allowedtools",
    "disallowedtools",
    "model",
    "permissionmode",
    "skills",
    "hooks",
    "userinvocable",
    "title",
    "author",
    "license",
    "version",
    "tags",
    "dependencies",
    "parameters",
    "aosartifactuuid",
    "aosfeatureuuid",
    "aosrunuuid",
    "aostraceuuid",
    "nativealiases",
];

/// The AOS fields `extract_frontmatter` passes through as they are.
const AOS_FIELDS: [&str; 5] = [
    "aos_artifact_uuid",
    "aos_feature_uuid",
    "aos_run_uuid",
    "aos_trace_uuid",
    "native_aliases",
];

/// Keys `extract_artifact_metadata` does not copy into `metadata.extra` on its second look.
const SECOND_LOOK_KNOWN: [&str; 15] = [
    "title",
    "description",
    "author",
    "license",
    "version",
    "tags",
    "dependencies",
    "tools",
    "allowed-tools",
    "allowedTools",
    "aos_artifact_uuid",
    "aos_feature_uuid",
    "aos_run_uuid",
    "aos_trace_uuid",
    "native_aliases",
];

/// Whether `tomli_w` fails on the value: a null, or a mapping key that is not text, at any
/// depth.
fn unwritable(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Seq(items) => items.iter().any(unwritable),
        Value::Map(pairs) => pairs
            .iter()
            .any(|(k, v)| !matches!(k, Value::Str(_)) || unwritable(v)),
        _ => false,
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::Str(s) => format!("`{s}`"),
        k => format!("the key `{}`", py::repr(k)),
    }
}

fn extract(text: &str) -> Meta {
    // `read_text` turns `\r\n` and `\r` into `\n`.
    let text = &text.replace("\r\n", "\n").replace('\r', "\n");
    let mut meta = Meta::default();
    // Step 1 (`extract_frontmatter` + `populate_metadata_from_frontmatter`).
    if let Some(fields) = frontmatter_fields(text) {
        meta.unwritable = fields.unwritable.clone();
        populate(&mut meta, fields);
    }
    // Step 2 (`extract_yaml_frontmatter`), for the fields still empty.
    if let Some(group) = strict_block(text)
        && group.len() <= MAX_FRONT_MATTER
        && let Ok(Value::Map(data)) = yaml::load(group)
        && !data.is_empty()
    {
        // The keys it does not know are copied, raw, into `metadata.extra`.
        if meta.unwritable.is_none() {
            meta.unwritable = data
                .iter()
                .find(|(k, v)| match k {
                    Value::Str(k) => !SECOND_LOOK_KNOWN.contains(&k.as_str()) && unwritable(v),
                    _ => true,
                })
                .map(|(k, _)| key_text(k));
        }
        let get = |key: &str| {
            data.iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v.clone())
                .filter(|v| *v != Value::Null)
        };
        for (slot, key) in [
            (&mut meta.title, "title"),
            (&mut meta.description, "description"),
            (&mut meta.author, "author"),
            (&mut meta.license, "license"),
            (&mut meta.version, "version"),
            (&mut meta.tags, "tags"),
            (&mut meta.dependencies, "dependencies"),
        ] {
            if !slot.as_ref().is_some_and(truthy) {
                *slot = get(key);
            }
        }
    }
    // Step 3.
    if !meta.description.as_ref().is_some_and(truthy) {
        meta.description = description_from_body(text).map(Value::Str);
    }
    meta
}

/// `extract_frontmatter`'s fields; `None` when it returns nothing usable or raises.
fn frontmatter_fields(text: &str) -> Option<Fields> {
    let group = lenient_block(text).or_else(|| lenient_block(text.trim_start_matches(py_space)))?;
    if group.len() > MAX_FRONT_MATTER {
        return None;
    }
    let data = match yaml::load(group) {
        Ok(Value::Map(data)) => data,
        Ok(_) => return None,
        Err(LoadError::Yaml) => return Some(partial_fields(group)),
        Err(LoadError::Other) => return None,
    };
    // SkillMeat lower-cases every key to sort out the unknown ones: a key that is not text
    // raises, and SkillMeat drops the whole result.
    if !data.iter().all(|(k, _)| matches!(k, Value::Str(_))) {
        return None;
    }
    let get = |key: &str| {
        data.iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
            .map(|(_, v)| v)
    };
    let list = |v: &Value| match v {
        Value::Seq(items) => Some(items.iter().filter(|t| truthy(t)).map(py::str).collect()),
        Value::Str(s) => Some(split_commas(s)),
        _ => None,
    };
    let mut f = Fields {
        description: get("description").map(py::str),
        title: get("title").map(py::str),
        author: get("author").map(py::str),
        license: get("license").map(py::str),
        version: get("version").map(py::str),
        tags: get("tags").and_then(list),
        dependencies: get("dependencies").and_then(list),
        tools: None,
        unwritable: None,
    };
    let normalized = |k: &str| k.to_lowercase().replace(['-', '_'], "");
    f.unwritable = data
        .iter()
        .find(|(k, v)| {
            let Value::Str(k) = k else { return false };
            let raw = k == "hooks"
                || (k == "parameters" && *v != Value::Null)
                || AOS_FIELDS.contains(&k.as_str())
                || !KNOWN_FIELDS.contains(&normalized(k).as_str());
            raw && unwritable(v)
        })
        .map(|(k, _)| key_text(k));
    // `data.get("tools") or data.get("allowed-tools") or data.get("allowedTools")`.
    let candidates = [get("tools"), get("allowed-tools"), get("allowedTools")];
    let tools = candidates
        .iter()
        .find(|v| v.is_some_and(truthy))
        .copied()
        .unwrap_or(candidates[2]);
    f.tools = tools.and_then(|v| match v {
        Value::Null => None,
        Value::Str(s) if s.contains(',') => Some(split_commas(s)),
        Value::Str(s) => Some(
            Some(py_strip(s))
                .filter(|t| !t.is_empty())
                .map(String::from)
                .into_iter()
                .collect(),
        ),
        Value::Seq(items) => Some(
            items
                .iter()
                .filter(|t| **t != Value::Null)
                .map(|t| py_strip(&py::str(t)).to_string())
                .collect(),
        ),
        _ => Some(Vec::new()),
    });
    Some(f)
}

/// `_extract_partial_frontmatter`: `key: value` lines, for when the YAML does not load.
fn partial_fields(group: &str) -> Fields {
    let mut f = Fields::default();
    for line in group.split('\n') {
        let line = py_strip(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, mut value) = (py_strip(key), py_strip(value));
        if key.is_empty() {
            continue;
        }
        let mut chars = value.chars();
        if let (Some(first @ ('"' | '\'')), Some(last)) = (chars.next(), chars.next_back())
            && first == last
        {
            value = &value[1..value.len() - 1];
        }
        match key.to_lowercase().as_str() {
            "description" => f.description = Some(value.to_string()),
            "tools" | "allowed-tools" | "allowedtools" => f.tools = Some(split_tools(value)),
            _ => {}
        }
    }
    f
}

/// `_normalize_tools` on a text: split at commas (when there is one), stripped.
fn split_tools(value: &str) -> Vec<String> {
    if value.contains(',') {
        value.split(',').map(|t| py_strip(t).to_string()).collect()
    } else {
        vec![py_strip(value).to_string()]
    }
}

/// `[t.strip() for t in s.split(",") if t.strip()]`.
fn split_commas(s: &str) -> Vec<String> {
    s.split(',')
        .map(py_strip)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// `populate_metadata_from_frontmatter`, for the fields written here.
fn populate(meta: &mut Meta, f: Fields) {
    let text = |s: Option<String>| s.filter(|s| !s.is_empty()).map(Value::Str);
    if let Some(d) = text(f.description) {
        meta.description = Some(d);
    }
    if let Some(tools) = f.tools.filter(|t| !t.is_empty()) {
        meta.tools = tools
            .iter()
            .filter(|t| !t.is_empty())
            .filter_map(|t| normalize_tool(t))
            .map(String::from)
            .collect();
    }
    for (slot, value) in [
        (&mut meta.title, f.title),
        (&mut meta.author, f.author),
        (&mut meta.license, f.license),
        (&mut meta.version, f.version),
    ] {
        if let Some(v) = text(value) {
            *slot = Some(v);
        }
    }
    let list = |l: Option<Vec<String>>| {
        l.filter(|l| !l.is_empty())
            .map(|l| Value::Seq(l.into_iter().map(Value::Str).collect()))
    };
    if let Some(t) = list(f.tags) {
        meta.tags = Some(t);
    }
    if let Some(d) = list(f.dependencies) {
        meta.dependencies = Some(d);
    }
}

/// The Claude Code tools SkillMeat knows (`skillmeat.core.enums.Tool`).
const TOOLS: [&str; 18] = [
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "Glob",
    "Grep",
    "NotebookEdit",
    "Bash",
    "KillShell",
    "AskUserQuestion",
    "TodoWrite",
    "WebFetch",
    "WebSearch",
    "Task",
    "TaskOutput",
    "Skill",
    "EnterPlanMode",
    "ExitPlanMode",
];

/// `_normalize_tool_name`: a known tool in any case, with `-` or `_` between its words
/// (`web-fetch`, `todo_write`); `None` for anything else.
fn normalize_tool(name: &str) -> Option<&'static str> {
    let s = py_strip(name);
    if s.is_empty() {
        return None;
    }
    let lower = s.to_lowercase();
    TOOLS.into_iter().find(|tool| {
        let t = tool.to_lowercase();
        lower == t || {
            // The alias table: the words of the name joined by `-` or `_`.
            let words = split_words(tool);
            words.len() > 1 && (lower == words.join("-") || lower == words.join("_"))
        }
    })
}

/// `MultiEdit` -> `["multi", "edit"]`.
fn split_words(tool: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for c in tool.chars() {
        if c.is_ascii_uppercase() || words.is_empty() {
            words.push(c.to_ascii_lowercase().to_string());
        } else if let Some(w) = words.last_mut() {
            w.push(c);
        }
    }
    words
}

/// Python's truth value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => i.to_decimal() != "0",
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Seq(items) => !items.is_empty(),
        Value::Map(pairs) => !pairs.is_empty(),
        Value::Date(_) | Value::DateTime(_) => true,
    }
}

/// `Artifact.__post_init__`: `self.tags + metadata.tags` (a list is needed), then
/// `dict.fromkeys` (hashable items), then written by `tomli_w` (skillwal needs texts).
fn artifact_tags(tags: Option<&Value>) -> Result<Vec<String>, FrontMatterError> {
    let Some(tags) = tags.filter(|t| truthy(t)) else {
        return Ok(Vec::new());
    };
    let refuse = || FrontMatterError::Tags {
        value: py::repr(tags),
    };
    let Value::Seq(items) = tags else {
        return Err(refuse());
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let Value::Str(s) = item else {
            return Err(refuse());
        };
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    Ok(out)
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

/// Python's `str.isspace`.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// The front matter `extract_frontmatter` finds:
/// `^\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)` (no `\r` is left by then).
fn lenient_block(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = rest.strip_prefix("---")?.trim_start_matches([' ', '\t']);
    let body = rest.strip_prefix('\n')?;
    let mut from = 0;
    while let Some(i) = body[from..].find("\n---") {
        let q = from + i;
        let after = body[q + 4..].trim_start_matches([' ', '\t']);
        if after.is_empty() || after.starts_with('\n') {
            return Some(&body[..q]);
        }
        from = q + 1;
    }
    None
}

/// The front matter `extract_yaml_frontmatter` finds: `^---\s*\n(.*?)\n---\s*\n`.
fn strict_block(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("---")?;
    // `\s*\n`, greedy: up to the last newline of the run of white space.
    let run = rest.len() - rest.trim_start_matches(py_space).len();
    let header = rest[..run].rfind('\n')?;
    let body = &rest[header + 1..];
    let mut from = 0;
    while let Some(i) = body[from..].find("\n---") {
        let q = from + i;
        let after = &body[q + 4..];
        let run = after.len() - after.trim_start_matches(py_space).len();
        if after[..run].contains('\n') {
            return Some(&body[..q]);
        }
        from = q + 1;
    }
    None
}

/// `extract_description_from_content` on the body: the first line (stripped) that is not
/// empty and not a heading, cut to 200 characters. The body starts after the first later
/// line that is `---` when the file starts with `---`.
fn description_from_body(text: &str) -> Option<String> {
    let mut lines = text.split('\n');
    let body: Vec<&str> = if text.starts_with("---") {
        let all: Vec<&str> = lines.by_ref().collect();
        match all.iter().skip(1).position(|l| py_strip(l) == "---") {
            Some(i) => all[i + 2..].to_vec(),
            None => all,
        }
    } else {
        lines.collect()
    };
    body.iter()
        .map(|l| py_strip(l))
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.chars().take(200).collect())
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
