//! The YAML front matter of `SKILL.md` and of command and agent files, as far as SkillMeat
//! uses it for `[artifacts.metadata]` and `tags`: scalar `key: value` lines and block lists
//! (`key:` followed by `  - item` lines) between two `---` lines at the top of the file.
//! Anything else (nested maps, flow syntax) is ignored, never an error.

use std::collections::BTreeMap;

/// A front matter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontValue {
    Text(String),
    List(Vec<String>),
}

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

fn unquote(v: &str) -> String {
    let v = v.trim();
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Parses the front matter at the start of `text`; empty when there is none.
pub fn parse(text: &str) -> BTreeMap<String, FrontValue> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return out;
    }
    let mut list_key: Option<String> = None;
    for line in lines {
        if line.trim_end() == "---" {
            return out;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ")
            && line.starts_with([' ', '-'])
            && let Some(key) = &list_key
        {
            if let Some(FrontValue::List(items)) = out.get_mut(key) {
                items.push(unquote(item));
            }
            continue;
        }
        list_key = None;
        if line.starts_with([' ', '\t', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_string();
        let value = value.trim();
        if value.is_empty() {
            out.insert(key.clone(), FrontValue::List(Vec::new()));
            list_key = Some(key);
        } else if value.starts_with('[') && value.ends_with(']') {
            let items = value[1..value.len() - 1]
                .split(',')
                .map(unquote)
                .filter(|s| !s.is_empty())
                .collect();
            out.insert(key, FrontValue::List(items));
        } else {
            out.insert(key, FrontValue::Text(unquote(value)));
        }
    }
    // No closing line: not front matter.
    BTreeMap::new()
}

/// The text after the front matter (all of it when there is none).
fn body(text: &str) -> &str {
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        offset += line.len();
        if i == 0 && line.trim_end() != "---" {
            return text;
        }
        if i > 0 && line.trim_end() == "---" {
            return &text[offset..];
        }
    }
    text
}

/// SkillMeat's fallback description: the first non-empty line of the body that is not a
/// heading, cut to 200 characters.
fn description_from_body(text: &str) -> Option<String> {
    body(text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.chars().take(200).collect())
}

/// The `[artifacts.metadata]` table and the tags SkillMeat derives from front matter:
/// known keys copied, `tools: A, B` split into a list as SkillMeat does, and a missing
/// description taken from the body.
pub fn metadata_and_tags(text: &str) -> (toml::Table, Vec<String>) {
    let mut fm = parse(text);
    if let Some(FrontValue::Text(t)) = fm.get("tools") {
        let tools = t
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        fm.insert("tools".into(), FrontValue::List(tools));
    }
    if !matches!(fm.get("description"), Some(FrontValue::Text(d)) if !d.is_empty())
        && let Some(d) = description_from_body(text)
    {
        fm.insert("description".into(), FrontValue::Text(d));
    }
    let mut table = toml::Table::new();
    for key in METADATA_KEYS {
        match fm.get(key) {
            Some(FrontValue::Text(t)) => {
                table.insert(key.to_string(), toml::Value::String(t.clone()));
            }
            Some(FrontValue::List(l)) if !l.is_empty() => {
                table.insert(
                    key.to_string(),
                    toml::Value::Array(l.iter().cloned().map(toml::Value::String).collect()),
                );
            }
            _ => {}
        }
    }
    let tags = match fm.get("tags") {
        Some(FrontValue::List(l)) => l.clone(),
        Some(FrontValue::Text(t)) => vec![t.clone()],
        None => Vec::new(),
    };
    (table, tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scalars_and_lists() {
        let text = "---\nname: my-skill\ndescription: \"A skill\"\ntags:\n  - a\n  - b\ntools: [Read, Grep]\n---\n# body\n";
        let (meta, tags) = metadata_and_tags(text);
        assert_eq!(meta["description"].as_str(), Some("A skill"));
        assert_eq!(meta["tools"].as_array().unwrap().len(), 2);
        assert_eq!(tags, ["a", "b"]);
    }

    #[test]
    fn tools_text_is_split_and_a_missing_description_comes_from_the_body() {
        let (meta, _) =
            metadata_and_tags("---\nname: h\ntools: Read, Grep\n---\n\n# Title\nYou help.\n");
        let tools: Vec<_> = meta["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(tools, ["Read", "Grep"]);
        assert_eq!(meta["description"].as_str(), Some("You help."));
        let (meta, _) = metadata_and_tags("Just do it.\n");
        assert_eq!(meta["description"].as_str(), Some("Just do it."));
    }

    #[test]
    fn no_front_matter() {
        assert!(parse("# title\n").is_empty());
        assert!(parse("---\nkey: v\nno end").is_empty());
    }
}
