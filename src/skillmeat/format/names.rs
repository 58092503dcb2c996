//! Artifact types, artifact names, and where an artifact lives inside a collection.
//!
//! The naming rules are SkillMeat's (empty, `/`, `\`, `..`, leading `.` are rejected) plus
//! three of skillwal's own, each closing a hole SkillMeat leaves open:
//! control characters (a NUL cannot be a file name, and a newline would corrupt every
//! line-oriented report), more than [`NAME_BYTES_MAX`] bytes (the usual `NAME_MAX` of
//! file systems), and `::` (the lock file keys entries by `"<name>::<type>"` and SkillMeat
//! splits that key at the first `::`, so such a name cannot round-trip through the lock).

use std::fmt;
use std::str::FromStr;

use super::error::Error;

/// Longest accepted artifact or collection name, in bytes.
pub const NAME_BYTES_MAX: usize = 255;

/// The artifact types skillwal manages.
///
/// SkillMeat knows more types (hook, mcp, workflow, …); artifacts of those types are kept
/// untouched by the editors and reported by the readers as unsupported, never rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArtifactType {
    /// A directory `skills/<name>/` holding `SKILL.md` and supporting files.
    Skill,
    /// A single file `commands/<name>.md`.
    Command,
    /// A single file `agents/<name>.md`.
    Agent,
}

impl ArtifactType {
    /// Every supported type, in SkillMeat's order.
    pub const ALL: [ArtifactType; 3] = [
        ArtifactType::Skill,
        ArtifactType::Command,
        ArtifactType::Agent,
    ];

    /// The spelling used in `collection.toml` and in lock keys: `skill`, `command`, `agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactType::Skill => "skill",
            ArtifactType::Command => "command",
            ArtifactType::Agent => "agent",
        }
    }

    /// The collection sub-directory holding artifacts of this type: `skills`, `commands`,
    /// `agents`.
    pub fn dir_name(self) -> &'static str {
        match self {
            ArtifactType::Skill => "skills",
            ArtifactType::Command => "commands",
            ArtifactType::Agent => "agents",
        }
    }

    /// Whether an artifact of this type is stored as a directory (skills) rather than as a
    /// single file (commands, agents). Decides which content hash applies.
    pub fn is_directory(self) -> bool {
        matches!(self, ArtifactType::Skill)
    }

    /// Where an artifact named `name` is stored, relative to the collection root, with `/`
    /// separators and no trailing slash — exactly the `path` SkillMeat writes in the manifest:
    /// `skills/<name>`, `commands/<name>.md`, `agents/<name>.md`.
    ///
    /// Fails when `name` breaks the naming rules, so the result never escapes the
    /// type's directory.
    pub fn storage_path(self, name: &str) -> Result<String, Error> {
        validate_artifact_name(name).map_err(|reason| Error::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        Ok(match self {
            ArtifactType::Skill => format!("skills/{name}"),
            ArtifactType::Command | ArtifactType::Agent => {
                format!("{}/{name}.md", self.dir_name())
            }
        })
    }
}

impl fmt::Display for ArtifactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArtifactType {
    type Err = Error;

    /// Accepts exactly `skill`, `command` or `agent` (lowercase, as SkillMeat writes them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArtifactType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::UnknownArtifactType {
                value: s.to_owned(),
            })
    }
}

/// Why a name was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty string.
    #[error("name is empty")]
    Empty,
    /// Longer than [`NAME_BYTES_MAX`] bytes.
    #[error("name is {bytes} bytes long, the limit is {NAME_BYTES_MAX}")]
    TooLong {
        /// The name's length in bytes.
        bytes: usize,
    },
    /// Contains `/`.
    #[error("name contains a path separator '/'")]
    Slash,
    /// Contains `\`.
    #[error("name contains a path separator '\\'")]
    Backslash,
    /// Contains `..` anywhere (SkillMeat rejects it anywhere, not only as a whole component).
    #[error("name contains '..'")]
    DotDot,
    /// Starts with `.` (hidden files).
    #[error("name starts with '.'")]
    LeadingDot,
    /// Contains a control character (including NUL and newline).
    #[error("name contains a control character")]
    ControlChar,
    /// Contains `::`, the lock key separator.
    #[error("name contains '::', the lock key separator")]
    DoubleColon,
}

/// Checks an artifact name against the rules in this file's documentation.
///
/// Returns the first rule broken, testing in the order of [`NameError`]'s variants. A name
/// that passes is a single, non-hidden path component on every platform SkillMeat supports.
pub fn validate_artifact_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > NAME_BYTES_MAX {
        return Err(NameError::TooLong { bytes: name.len() });
    }
    if name.contains('/') {
        return Err(NameError::Slash);
    }
    if name.contains('\\') {
        return Err(NameError::Backslash);
    }
    if name.contains("..") {
        return Err(NameError::DotDot);
    }
    if name.starts_with('.') {
        return Err(NameError::LeadingDot);
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::ControlChar);
    }
    if name.contains("::") {
        return Err(NameError::DoubleColon);
    }
    Ok(())
}

/// Checks a collection name. The rules are the artifact rules: a collection name becomes the
/// directory `collections/<name>/`, so it must be one safe path component just the same.
pub fn validate_collection_name(name: &str) -> Result<(), NameError> {
    validate_artifact_name(name)
}

/// The lock-file key of an artifact: `"<name>::<type>"`, e.g. `"my-skill::skill"`.
///
/// Also the item name used by [`crate::skillmeat::diff_manifests`] and [`crate::skillmeat::diff_locks`]. Does not validate `name`.
pub fn lock_key(name: &str, artifact_type: ArtifactType) -> String {
    format!("{name}::{}", artifact_type.as_str())
}

/// Splits a lock key the way SkillMeat does: at the first `::`. `None` when there is none.
pub fn split_lock_key(key: &str) -> Option<(&str, &str)> {
    key.split_once("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_round_trip() {
        for t in ArtifactType::ALL {
            assert_eq!(t.as_str().parse::<ArtifactType>().unwrap(), t);
            assert_eq!(t.to_string(), t.as_str());
        }
        assert!("Skill".parse::<ArtifactType>().is_err());
        assert!("hook".parse::<ArtifactType>().is_err());
        assert!("".parse::<ArtifactType>().is_err());
    }

    #[test]
    fn storage_paths() {
        assert_eq!(ArtifactType::Skill.storage_path("a").unwrap(), "skills/a");
        assert_eq!(
            ArtifactType::Command.storage_path("a").unwrap(),
            "commands/a.md"
        );
        assert_eq!(
            ArtifactType::Agent.storage_path("a").unwrap(),
            "agents/a.md"
        );
        assert!(ArtifactType::Skill.is_directory());
        assert!(!ArtifactType::Command.is_directory());
        assert!(!ArtifactType::Agent.is_directory());
        assert!(matches!(
            ArtifactType::Skill.storage_path("../x"),
            Err(Error::InvalidName {
                reason: NameError::Slash,
                ..
            })
        ));
    }

    #[test]
    fn lock_keys() {
        assert_eq!(lock_key("my-skill", ArtifactType::Skill), "my-skill::skill");
        assert_eq!(split_lock_key("a::b::c"), Some(("a", "b::c")));
        assert_eq!(split_lock_key("abc"), None);
    }

    #[test]
    fn name_length_limit_is_in_bytes() {
        assert_eq!(validate_artifact_name(&"a".repeat(255)), Ok(()));
        assert_eq!(
            validate_artifact_name(&"a".repeat(256)),
            Err(NameError::TooLong { bytes: 256 })
        );
        // 128 two-byte characters: 256 bytes.
        assert_eq!(
            validate_artifact_name(&"é".repeat(128)),
            Err(NameError::TooLong { bytes: 256 })
        );
    }
}
