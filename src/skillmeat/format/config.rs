//! `~/.skillmeat/config.toml`: which collection is active.
//!
//! skillwal reads `[settings] default-collection`, `update-strategy` and its own
//! `skillwal-log-keep` (and checks `skillwal-snapshot-keep`, which it no longer uses) and may set the default collection; every other table (`[analytics]`, `[artifact_search]`, …) belongs to
//! SkillMeat and is kept byte for byte.

use std::fmt;

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::editor::{
    Source, make_room, render_document, set_value, set_value_inline, string_value,
};
use super::error::{Error, Result};
use super::names::validate_collection_name;

/// The collection SkillMeat uses when `default-collection` is not set.
pub const DEFAULT_COLLECTION: &str = "default";

/// The config text SkillMeat writes the first time it runs.
pub const DEFAULT_CONFIG_TOML: &str = "[settings]
default-collection = \"default\"
update-strategy = \"prompt\"

[analytics]
enabled = true
retention-days = 90

[artifact_search]
indexing_mode = \"opt_in\"
";

const SETTINGS_ORDER: [&str; 2] = ["default-collection", "update-strategy"];

/// The parts of the config skillwal uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `[settings] default-collection`, if set.
    pub default_collection: Option<String>,
    /// `[settings] update-strategy`, if set (SkillMeat writes `"prompt"`).
    pub update_strategy: Option<String>,
    /// `[settings] skillwal-snapshot-keep`: how many automatic snapshots earlier versions
    /// kept, if set. Checked, no longer used: the operation log replaced them.
    pub snapshot_keep: Option<u64>,
    /// `[settings] skillwal-log-keep`: how many records the operation log keeps, if set.
    pub log_keep: Option<u64>,
}

/// The values `[settings] update-strategy` may take (`--strategy`'s).
pub const UPDATE_STRATEGIES: [&str; 4] = ["prompt", "upstream", "local", "merge"];

/// `[settings] update-strategy`, checked as `skillwal-snapshot-keep` is: a value that is not
/// one of [`UPDATE_STRATEGIES`] is a schema error at its line and column, naming the key and
/// the values allowed (it used to be taken silently as `prompt`).
fn update_strategy(source: &Source<'_>, settings: &dyn TableLike) -> Result<Option<String>> {
    let key = SETTINGS_ORDER[1];
    let value = source.optional_string(settings, key, "[settings]")?;
    match &value {
        Some(v) if !UPDATE_STRATEGIES.contains(&v.as_str()) => Err(source.schema(
            settings.get(key).and_then(|i| i.span()),
            format!(
                "[settings]: field `{key}` must be one of {}",
                UPDATE_STRATEGIES.map(|s| format!("\"{s}\"")).join(", ")
            ),
        )),
        _ => Ok(value),
    }
}

/// The config key of [`Config::snapshot_keep`] (SkillMeat ignores it).
pub const SNAPSHOT_KEEP_KEY: &str = "skillwal-snapshot-keep";
/// The config key of [`Config::log_keep`] (SkillMeat ignores it).
pub const LOG_KEEP_KEY: &str = "skillwal-log-keep";

impl Config {
    /// Parses `text`; `document` names it in errors. A missing `[settings]` table or key is
    /// not an error. Fails with [`Error::Syntax`], or [`Error::Schema`] when `[settings]` is
    /// not a table, one of the two keys holds a non-string, `update-strategy` is not one of
    /// [`UPDATE_STRATEGIES`], or `skillwal-snapshot-keep` or `skillwal-log-keep` is not a
    /// positive integer.
    pub fn parse(text: &str, document: &str) -> Result<Config> {
        let (source, doc) = Source::parse(text, document)?;
        let Some(item) = doc.as_table().get("settings") else {
            return Ok(Config::default());
        };
        let settings = source.table_like(item, "[settings]")?;
        Ok(Config {
            default_collection: source.optional_string(
                settings,
                SETTINGS_ORDER[0],
                "[settings]",
            )?,
            update_strategy: update_strategy(&source, settings)?,
            snapshot_keep: source.optional_positive_integer(
                settings,
                SNAPSHOT_KEEP_KEY,
                "[settings]",
            )?,
            log_keep: source.optional_positive_integer(settings, LOG_KEEP_KEY, "[settings]")?,
        })
    }

    /// The collection SkillMeat would use: `default-collection`, else `"default"`.
    pub fn active_collection(&self) -> &str {
        self.default_collection
            .as_deref()
            .unwrap_or(DEFAULT_COLLECTION)
    }
}

/// An editable config.
#[derive(Debug, Clone)]
pub struct ConfigEditor {
    document: String,
    original: String,
    doc: DocumentMut,
    crlf: bool,
    edited: bool,
}

impl ConfigEditor {
    /// Parses `text` for editing, validated as by [`Config::parse`].
    pub fn parse(text: &str, document: &str) -> Result<ConfigEditor> {
        Config::parse(text, document)?;
        let doc = text
            .parse::<DocumentMut>()
            .expect("Config::parse accepted the same text with the same parser");
        Ok(ConfigEditor {
            document: document.to_owned(),
            original: text.to_owned(),
            doc,
            crlf: text.contains("\r\n"),
            edited: false,
        })
    }

    /// The config SkillMeat writes when there is none ([`DEFAULT_CONFIG_TOML`]).
    pub fn new_default(document: &str) -> ConfigEditor {
        ConfigEditor::parse(DEFAULT_CONFIG_TOML, document).expect("the default config is valid")
    }

    /// The typed view of the document as it is now.
    pub fn config(&self) -> Result<Config> {
        Config::parse(&self.to_string(), &self.document)
    }

    /// Whether any edit changed the document.
    pub fn is_edited(&self) -> bool {
        self.edited
    }

    /// Sets `default-collection` to `name` only if the key is absent; returns whether it did.
    /// Fails like [`ConfigEditor::set_default_collection`].
    pub fn set_default_collection_if_missing(&mut self, name: &str) -> Result<bool> {
        if self.config()?.default_collection.is_some() {
            return Ok(false);
        }
        self.set_default_collection(name)?;
        Ok(true)
    }

    /// Sets `[settings] default-collection` to `name`, creating `[settings]` as the first
    /// table if missing. Fails with [`Error::InvalidName`] when `name` breaks the collection
    /// naming rules.
    pub fn set_default_collection(&mut self, name: &str) -> Result<()> {
        validate_collection_name(name).map_err(|reason| Error::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        if !self.doc.contains_key("settings") {
            let mut settings = Table::new();
            make_room(self.doc.as_table_mut(), &mut settings, 0);
            self.doc.insert("settings", Item::Table(settings));
            self.edited = true;
        }
        let value = string_value(name);
        let changed = match self.doc.get_mut("settings") {
            Some(Item::Table(t)) => set_value(t, SETTINGS_ORDER[0], value, &SETTINGS_ORDER),
            Some(Item::Value(Value::InlineTable(t))) => {
                set_value_inline(t, SETTINGS_ORDER[0], value)
            }
            _ => unreachable!("validated at parse, or inserted above: [settings] is a table"),
        };
        self.edited |= changed;
        Ok(())
    }
}

impl fmt::Display for ConfigEditor {
    /// The document text: the original text, byte for byte, when nothing was edited.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.edited {
            f.write_str(&render_document(&self.doc, self.crlf))
        } else {
            f.write_str(&self.original)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_reads_back() {
        let editor = ConfigEditor::new_default("config.toml");
        assert_eq!(editor.to_string(), DEFAULT_CONFIG_TOML);
        let config = editor.config().unwrap();
        assert_eq!(config.active_collection(), "default");
        assert_eq!(config.update_strategy.as_deref(), Some("prompt"));
    }

    #[test]
    fn missing_settings_means_default() {
        let config = Config::parse("[analytics]\nenabled = true\n", "c").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.active_collection(), DEFAULT_COLLECTION);
    }

    #[test]
    fn settings_of_the_wrong_type_are_located() {
        let err = Config::parse("[settings]\ndefault-collection = 3\n", "c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "c:2:22: [settings]: field `default-collection` must be a string"
        );
    }

    #[test]
    fn an_unknown_update_strategy_is_located_and_the_known_ones_pass() {
        let err = Config::parse("[settings]\nupdate-strategy = \"yolo\"\n", "c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "c:2:19: [settings]: field `update-strategy` must be one of \"prompt\", \"upstream\", \"local\", \"merge\""
        );
        for s in UPDATE_STRATEGIES {
            let text = format!("[settings]\nupdate-strategy = \"{s}\"\n");
            assert_eq!(
                Config::parse(&text, "c")
                    .unwrap()
                    .update_strategy
                    .as_deref(),
                Some(s)
            );
        }
    }

    #[test]
    fn creating_settings_puts_them_first() {
        let mut editor =
            ConfigEditor::parse("# mine\n[analytics]\nenabled = false\n", "c").unwrap();
        assert!(editor.set_default_collection_if_missing("work").unwrap());
        assert_eq!(
            editor.to_string(),
            "[settings]\ndefault-collection = \"work\"\n# mine\n[analytics]\nenabled = false\n"
        );
        assert!(!editor.set_default_collection_if_missing("other").unwrap());
    }
}
