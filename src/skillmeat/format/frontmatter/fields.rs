use super::*;

/// What `extract_frontmatter` returns, for the fields used here.
#[derive(Debug, Default)]
pub(super) struct Fields {
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
pub(super) const KNOWN_FIELDS: [&str; 22] = [
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
pub(super) const AOS_FIELDS: [&str; 5] = [
    "aos_artifact_uuid",
    "aos_feature_uuid",
    "aos_run_uuid",
    "aos_trace_uuid",
    "native_aliases",
];

/// Keys `extract_artifact_metadata` does not copy into `metadata.extra` on its second look.
pub(super) const SECOND_LOOK_KNOWN: [&str; 15] = [
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
pub(super) fn unwritable(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Seq(items) => items.iter().any(unwritable),
        Value::Map(pairs) => pairs
            .iter()
            .any(|(k, v)| !matches!(k, Value::Str(_)) || unwritable(v)),
        _ => false,
    }
}

pub(super) fn key_text(k: &Value) -> String {
    match k {
        Value::Str(s) => format!("`{s}`"),
        k => format!("the key `{}`", py::repr(k)),
    }
}

pub(super) fn extract(text: &str) -> Meta {
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
pub(super) fn frontmatter_fields(text: &str) -> Option<Fields> {
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
    f.unwritable = first_unwritable(&data);
    // `data.get("tools") or data.get("allowed-tools") or data.get("allowedTools")`.
    let candidates = [get("tools"), get("allowed-tools"), get("allowedTools")];
    let tools = candidates
        .iter()
        .find(|v| v.is_some_and(truthy))
        .copied()
        .unwrap_or(candidates[2]);
    f.tools = tools.and_then(tools_list);
    Some(f)
}

/// The first field SkillMeat keeps raw whose value it cannot write back (as its key's
/// text), if any.
fn first_unwritable(data: &[(Value, Value)]) -> Option<String> {
    let normalized = |k: &str| k.to_lowercase().replace(['-', '_'], "");
    data.iter()
        .find(|(k, v)| {
            let Value::Str(k) = k else { return false };
            let raw = k == "hooks"
                || (k == "parameters" && *v != Value::Null)
                || AOS_FIELDS.contains(&k.as_str())
                || !KNOWN_FIELDS.contains(&normalized(k).as_str());
            raw && unwritable(v)
        })
        .map(|(k, _)| key_text(k))
}

/// The `tools` list SkillMeat makes of the value it found: comma-separated text split,
/// one text stripped, a list's non-null items stripped; `None` for null.
fn tools_list(v: &Value) -> Option<Vec<String>> {
    match v {
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
    }
}

/// `_extract_partial_frontmatter`: `key: value` lines, for when the YAML does not load.
pub(super) fn partial_fields(group: &str) -> Fields {
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
pub(super) fn split_tools(value: &str) -> Vec<String> {
    if value.contains(',') {
        value.split(',').map(|t| py_strip(t).to_string()).collect()
    } else {
        vec![py_strip(value).to_string()]
    }
}

/// `[t.strip() for t in s.split(",") if t.strip()]`.
pub(super) fn split_commas(s: &str) -> Vec<String> {
    s.split(',')
        .map(py_strip)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// `populate_metadata_from_frontmatter`, for the fields written here.
pub(super) fn populate(meta: &mut Meta, f: Fields) {
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
pub(super) const TOOLS: [&str; 18] = [
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
pub(super) fn normalize_tool(name: &str) -> Option<&'static str> {
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
pub(super) fn split_words(tool: &str) -> Vec<String> {
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
pub(super) fn truthy(v: &Value) -> bool {
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
pub(super) fn artifact_tags(tags: Option<&Value>) -> Result<Vec<String>, FrontMatterError> {
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
