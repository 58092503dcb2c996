//! The SkillMeat collection format: read, edit and hash it exactly as SkillMeat 0.74 does.
//!
//! A SkillMeat collection is a directory holding `collection.toml` (the manifest),
//! `collection.lock` (content hashes) and the artifacts themselves (`skills/<name>/`,
//! `commands/<name>.md`, `agents/<name>.md`); `~/.skillmeat/config.toml` names the active
//! collection. `docs/skillmeat-format.md` is the normative description.
//!
//! The format modules are pure: they parse and produce text and hash files. [`collection`]
//! puts them on the engine: every change to a collection is one engine transaction, and
//! nothing but the engine writes inside a collection.
//!
//! - [`names`]: artifact types, name rules, storage paths, lock keys.
//! - [`Manifest`] / [`ManifestEditor`]: typed read, and an editor that keeps every byte it
//!   does not need to change (comments, unknown tables and fields, order).
//! - [`Lock`] / [`LockEditor`]: the same for `collection.lock`.
//! - [`Config`] / [`ConfigEditor`]: the same for `config.toml`.
//! - [`content_hash`]: SkillMeat's SHA-256 content hash of a file or directory.
//! - [`diff_manifests`] / [`diff_locks`]: field-level changes between two documents.
//! - [`now_timestamp`]: SkillMeat's timestamp format.
//!
//! Every fallible function returns [`Error`], which says where: document name with line and
//! column, filesystem path, or item.

pub mod collection;
pub mod format;
mod hash;
pub mod home;
pub mod project;
pub mod source;

// The modules' former paths, kept for the CLI and for embedders.
pub use collection::{py_snapshot, shape, state, threeway};
pub use format::{frontmatter, names};
pub use source::links;

pub use format::config::{Config, ConfigEditor, DEFAULT_COLLECTION, DEFAULT_CONFIG_TOML};
pub use format::diff::{FieldChange, diff_locks, diff_manifests};
pub use format::error::{Error, Location, Result};
pub use format::lock::{LOCK_ENTRY_FIELDS, LOCK_FORMAT_VERSION, Lock, LockEntry};
pub use format::lock_edit::{LockEditor, LockEntryMut};
pub use format::manifest::{
    ARTIFACT_FIELDS, Artifact, CollectionInfo, MANIFEST_FORMAT_VERSION, Manifest, Origin,
    UnsupportedItem,
};
pub use format::manifest_edit::{ArtifactMut, ManifestEditor};
pub use format::names::{
    ArtifactType, NAME_BYTES_MAX, NameError, lock_key, split_lock_key, validate_artifact_name,
    validate_collection_name,
};
pub use format::time::{format_timestamp, now_timestamp};
pub use hash::{
    HASH_BUFFER_BYTES, HASH_DEPTH_MAX, HASH_FILES_MAX, content_hash, content_hash_dir,
    content_hash_file, content_hash_in, is_content_hash,
};
pub use source::{
    Fetched, FetchedEntry, FetchedKind, SourceError, SourceSpec, default_name, fetch,
};

pub use crate::limits::DOCUMENT_BYTES_MAX;

/// File names inside a collection directory.
pub const MANIFEST_FILE_NAME: &str = "collection.toml";
/// See [`MANIFEST_FILE_NAME`].
pub const LOCK_FILE_NAME: &str = "collection.lock";
/// Sub-directories SkillMeat creates in a new collection.
pub const COLLECTION_DIRS: [&str; 4] = ["skills", "commands", "agents", "workflows"];
