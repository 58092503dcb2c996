//! Where collections live: the home directory (`--home`, `$SKILLWAL_HOME`, else
//! `~/.skillmeat`), its `config.toml`, and `collections/<name>/`.

use super::config::{ConfigEditor, DEFAULT_COLLECTION};
use super::names::validate_collection_name;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the home directory.
pub const HOME_ENV: &str = "SKILLWAL_HOME";
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// What could not be resolved or read in the home directory.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("no home directory: set {HOME_ENV} or HOME")]
    NoHome,
    #[error(transparent)]
    Io(#[from] crate::error::IoError),
    #[error(transparent)]
    Format(#[from] super::Error),
    #[error("invalid collection name {name:?}: {reason}")]
    InvalidName {
        name: String,
        reason: super::NameError,
    },
}

/// A SkillMeat home directory.
#[derive(Debug, Clone)]
pub struct Home {
    pub dir: PathBuf,
}

/// What [`Home::ensure_config`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigChange {
    Created,
    SetDefault,
    Kept,
}

impl Home {
    /// `explicit`, else `$SKILLWAL_HOME`, else `$HOME/.skillmeat`.
    pub fn resolve(explicit: Option<&Path>) -> Result<Home, HomeError> {
        if let Some(p) = explicit {
            return Ok(Home {
                dir: p.to_path_buf(),
            });
        }
        if let Some(p) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Home {
                dir: PathBuf::from(p),
            });
        }
        match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(h) => Ok(Home {
                dir: PathBuf::from(h).join(".skillmeat"),
            }),
            None => Err(HomeError::NoHome),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE_NAME)
    }

    pub fn collection_dir(&self, name: &str) -> PathBuf {
        self.dir.join("collections").join(name)
    }

    /// The config, or `None` when there is no `config.toml`. Parse errors carry line and
    /// column; so does a value skillwal does not know ([`check_values`]).
    pub fn read_config(&self) -> Result<Option<ConfigEditor>, HomeError> {
        let path = self.config_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let document = path.display().to_string();
                let editor = ConfigEditor::parse(&text, &document)?;
                check_values(&text, &document)?;
                Ok(Some(editor))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(HomeError::Io(crate::error::IoError::new("read", path, e))),
        }
    }

    /// The collection to use: `default-collection` from the config, else `default`.
    pub fn active_collection(&self) -> Result<String, HomeError> {
        Ok(match self.read_config()? {
            Some(c) => c.config()?.active_collection().to_string(),
            None => DEFAULT_COLLECTION.to_string(),
        })
    }

    /// Makes sure `config.toml` exists and names a default collection (`name` when it names
    /// none); keeps everything else in it. Written by temp file, fsync, rename and directory
    /// fsync.
    pub fn ensure_config(&self, name: &str) -> Result<ConfigChange, HomeError> {
        validate_collection_name(name).map_err(|reason| HomeError::InvalidName {
            name: name.to_string(),
            reason,
        })?;
        let path = self.config_path();
        let (mut editor, change) = match self.read_config()? {
            Some(e) => (e, ConfigChange::SetDefault),
            None => (
                ConfigEditor::new_default(&path.display().to_string()),
                ConfigChange::Created,
            ),
        };
        let set = editor.set_default_collection_if_missing(name)?;
        if change == ConfigChange::Created || set {
            if change == ConfigChange::Created {
                editor.set_default_collection(name)?;
            }
            write_atomically(&path, editor.to_string().as_bytes())?;
            return Ok(change);
        }
        Ok(ConfigChange::Kept)
    }
}

/// The values `[settings] update-strategy` may take (`--strategy`'s).
pub const UPDATE_STRATEGIES: [&str; 4] = ["prompt", "upstream", "local", "merge"];

/// Checks the config's values as `skillwal-snapshot-keep` is checked at parse: an
/// `update-strategy` that is not one of [`UPDATE_STRATEGIES`] is a schema error at its line
/// and column, naming the key and the values allowed (it used to be taken silently as
/// `prompt`).
fn check_values(text: &str, document: &str) -> Result<(), super::Error> {
    let (source, doc) = super::toml_util::Source::parse(text, document)?;
    let Some(settings) = doc.get("settings").and_then(|s| s.as_table_like()) else {
        return Ok(());
    };
    match settings.get("update-strategy") {
        Some(item)
            if item
                .as_str()
                .is_some_and(|v| !UPDATE_STRATEGIES.contains(&v)) =>
        {
            Err(source.schema(
                item.span(),
                format!(
                    "[settings]: field `update-strategy` must be one of {}",
                    UPDATE_STRATEGIES.map(|s| format!("\"{s}\"")).join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> HomeError + 'a {
    move |source| HomeError::Io(crate::error::IoError::new(op, path, source))
}

/// Creates `dir` and its missing parents, syncing each parent whose entries changed.
pub fn create_dir_durably(dir: &Path) -> Result<(), HomeError> {
    let mut missing = Vec::new();
    let mut p = dir;
    while !p.exists() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(HomeError::Io(crate::error::IoError::new(
                    "create directory",
                    d.clone(),
                    e,
                )));
            }
        }
        if let Some(parent) = d.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), HomeError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io("fsync directory", dir))
}

/// Replaces the file at `path` atomically and durably: a temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory. For `config.toml`, which
/// is outside every collection; files inside a collection are only written by the engine.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir_durably(dir)?;
    let tmp = dir.join(format!(
        ".{}.skillwal-tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("fsync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", path))?;
    sync_dir(dir)
}
