//! SkillMeat's documents, as text: pure parsing, editing and diffing, with no I/O.
//!
//! - [`names`]: artifact types, name rules, storage paths, lock keys.
//! - [`manifest`] / [`manifest_edit`]: `collection.toml`, typed, and an editor that keeps
//!   every byte it does not need to change.
//! - [`lock`] / [`lock_edit`]: the same for `collection.lock`.
//! - [`config`]: the same for `~/.skillmeat/config.toml`.
//! - [`deployed`]: a project's `.skillmeat-deployed.toml` (what was deployed there).
//! - [`editor`]: what the three editors share (spans, flattening, rendering values).
//! - [`outline`]: where each artifact or entry is in a document's text, and editing a few
//!   of them in a window without parsing the rest.
//! - [`diff`]: field-level changes between two documents, as the journal records them.
//! - [`frontmatter`]: the YAML front matter of a `SKILL.md` or `<name>.md`.
//! - [`time`]: SkillMeat's timestamp format.
//! - [`error`]: the one error type of this layer, which says where.

pub mod config;
pub mod deployed;
pub mod diff;
pub mod editor;
pub mod error;
pub mod frontmatter;
pub mod lock;
pub mod lock_edit;
pub mod manifest;
pub mod manifest_edit;
pub mod names;
pub mod outline;
pub mod time;
