//! Where collections live: the home directory (`--home`, `$SKILLWAL_HOME`, else
//! `~/.skillmeat`), its `config.toml`, and `collections/<name>/`.

use super::format::config::{ConfigEditor, DEFAULT_COLLECTION};
use super::names::validate_collection_name;
use crate::fs::FileSystem;
use crate::fs::real::RealFs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable naming the home directory.
pub const HOME_ENV: &str = "SKILLWAL_HOME";
/// The configuration file in the home directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// What could not be resolved or read in the home directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HomeError {
    /// Neither `SKILLWAL_HOME` nor `HOME` names a home directory.
    #[error("no home directory: set {HOME_ENV} or HOME")]
    NoHome,
    /// Reading or writing in the home directory failed.
    #[error(transparent)]
    Io(#[from] crate::error::IoError),
    /// `config.toml` could not be parsed, or holds an invalid value.
    #[error(transparent)]
    Format(#[from] super::Error),
    /// A collection name SkillMeat would refuse.
    #[error("invalid collection name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Which rule it breaks.
        reason: super::NameError,
    },
}

/// A SkillMeat home directory, read and written through one [`FileSystem`].
#[derive(Clone)]
pub struct Home {
    /// The home directory (`~/.skillmeat`, or `SKILLWAL_HOME`).
    pub dir: PathBuf,
    fs: Arc<dyn FileSystem>,
}

impl std::fmt::Debug for Home {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Home").field("dir", &self.dir).finish()
    }
}

/// What [`Home::ensure_config`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigChange {
    /// `config.toml` did not exist; it was written, naming the collection the default.
    Created,
    /// It named no default collection; this one was set.
    SetDefault,
    /// It was left as it was.
    Kept,
}

impl Home {
    /// `explicit`, else `$SKILLWAL_HOME`, else `$HOME/.skillmeat`, on the real file system
    /// ([`Home::with_fs`] puts another one underneath).
    pub fn resolve(explicit: Option<&Path>) -> Result<Home, HomeError> {
        let dir = if let Some(p) = explicit {
            p.to_path_buf()
        } else if let Some(p) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            PathBuf::from(p)
        } else {
            match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(h) => PathBuf::from(h).join(".skillmeat"),
                None => return Err(HomeError::NoHome),
            }
        };
        Ok(Home {
            dir,
            fs: Arc::new(RealFs),
        })
    }

    /// The same home, read and written through `fs` (the one its collections use, so that
    /// the crash hook and the fault injector see the config's writes too).
    pub fn with_fs(self, fs: Arc<dyn FileSystem>) -> Home {
        Home { fs, ..self }
    }

    /// The file system the home directory is read and written through.
    pub fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// `<home>/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE_NAME)
    }

    /// `<home>/collections/<name>` (the name is not checked here).
    pub fn collection_dir(&self, name: &str) -> PathBuf {
        self.dir.join("collections").join(name)
    }

    /// The names of the home's collections: the directories in `<home>/collections/`
    /// holding a `collection.toml`, sorted. None when there is no `collections/`.
    pub fn collections(&self) -> Result<Vec<String>, HomeError> {
        use crate::error::IoContext;
        let dir = self.dir.join("collections");
        let entries = match self.fs.read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            other => other.ctx("read directory", &dir)?,
        };
        let mut names = Vec::new();
        for e in entries {
            let Some(name) = e.name.to_str() else {
                continue;
            };
            if e.kind != crate::fs::FileKind::Dir {
                continue;
            }
            let manifest = dir.join(name).join(super::MANIFEST_FILE_NAME);
            if self.fs.exists(&manifest).ctx("stat", &manifest)? {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The config, or `None` when there is no `config.toml`. Parse errors carry line and
    /// column; so does a value skillwal does not know ([`super::Config::parse`]).
    pub fn read_config(&self) -> Result<Option<ConfigEditor>, HomeError> {
        let path = self.config_path();
        let limit = crate::limits::DOCUMENT_BYTES_MAX as u64;
        let Some((text, _)) = crate::fs::read_small_text(self.fs.as_ref(), &path, limit)? else {
            return Ok(None);
        };
        let document = path.display().to_string();
        Ok(Some(ConfigEditor::parse(&text, &document)?))
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
            crate::fs::write_atomically(self.fs.as_ref(), &path, editor.to_string().as_bytes())?;
            return Ok(change);
        }
        Ok(ConfigChange::Kept)
    }
}

pub use super::format::config::UPDATE_STRATEGIES;
