//! The one error type of the `skillmeat` module.
//!
//! Every variant says where the problem is: a document name plus a 1-based line and column for
//! anything found while reading TOML, a filesystem path for anything found while hashing, and
//! the item (`"name::type"`) for edits that refer to something that is not there.

use std::fmt;
use std::path::PathBuf;

use super::names::NameError;

/// A position inside a named TOML document.
///
/// `line` and `column` are 1-based; `column` counts Unicode scalar values (characters), not
/// bytes, the same convention `toml` uses in its own messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The name the caller gave the document, usually its path (`".../collection.toml"`).
    pub document: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte offset `offset` of `text` (clamped to the text's length).
    ///
    /// An offset inside a multi-byte character is attributed to that character.
    pub fn from_offset(document: &str, text: &str, offset: usize) -> Location {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            document: document.to_owned(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.document, self.line, self.column)
    }
}

/// Everything that can go wrong in `skillwal::skillmeat`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not TOML at all.
    #[error("{at}: TOML syntax error: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// The parser's message, first line only.
        message: String,
    },
    /// The text is TOML but not a valid SkillMeat document: a required field is missing, a
    /// field has the wrong type, a name is invalid, an identity is duplicated, a hash is not
    /// 64 lowercase hex digits, …
    #[error("{at}: {message}")]
    Schema {
        /// The offending value, or the header of the table that lacks a field.
        at: Location,
        /// What is wrong, in words.
        message: String,
    },
    /// A document is larger than [`crate::skillmeat::DOCUMENT_BYTES_MAX`].
    #[error("{document}: {bytes} bytes is larger than the limit of {limit} bytes")]
    DocumentTooLarge {
        /// The document's name.
        document: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// An artifact or collection name given through the API breaks the naming rules.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: NameError,
    },
    /// A string is not one of `skill`, `command`, `agent`.
    #[error("unknown artifact type {value:?} (expected skill, command or agent)")]
    UnknownArtifactType {
        /// The rejected string.
        value: String,
    },
    /// A string is not one of `local`, `github`, `marketplace`.
    #[error("unknown origin {value:?} (expected local, github or marketplace)")]
    UnknownOrigin {
        /// The rejected string.
        value: String,
    },
    /// A value given through the API cannot be stored (for example a content hash that is not
    /// 64 lowercase hex digits).
    #[error("{document}: invalid value for {field}: {message}")]
    InvalidValue {
        /// The document being edited.
        document: String,
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An edit names an item (`"name::type"`) that the document does not hold.
    #[error("{document}: no {item} here")]
    NotFound {
        /// The document being edited.
        document: String,
        /// The missing item, `"name::type"`.
        item: String,
    },
    /// An add names an item (`"name::type"`) that the document already holds.
    #[error("{document}: {item} already exists")]
    AlreadyExists {
        /// The document being edited.
        document: String,
        /// The duplicate item, `"name::type"`.
        item: String,
    },
    /// A generic string-field accessor was asked for a field that has a typed accessor (or a
    /// non-string meaning) in SkillMeat's schema.
    #[error("{field:?} is a SkillMeat field with its own accessor, not a free string field")]
    ReservedField {
        /// The field name.
        field: String,
    },
    /// The document's layout is valid TOML that the editor cannot change safely.
    #[error("{document}: cannot edit: {message}")]
    UnsupportedLayout {
        /// The document being edited.
        document: String,
        /// What the editor found.
        message: String,
    },
    /// Reading a file or directory failed. The message leads with the path, as the
    /// content hash reports it; the message holds the whole cause, so no `source()`.
    #[error("{}: {}", .0.path.display(), .0.source)]
    Io(crate::error::IoError),
    /// The content hash met a symbolic link (they are never followed; see `hash.rs`).
    #[error("{path}: is a symbolic link; content hashes do not follow links")]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The content hash met something that is neither a regular file nor a directory.
    #[error("{path}: is neither a regular file nor a directory")]
    NotRegularFile {
        /// The special file.
        path: PathBuf,
    },
    /// A content hash was asked of a file where a directory is needed, or the reverse.
    #[error("{path}: expected {expected}")]
    WrongKind {
        /// The path.
        path: PathBuf,
        /// `"a directory"` or `"a regular file"`.
        expected: &'static str,
    },
    /// The content hash met a file name that is not UTF-8 (SkillMeat hashes UTF-8 paths).
    #[error("{path}: file name is not valid UTF-8")]
    NonUtf8Name {
        /// The path, lossily displayed.
        path: PathBuf,
    },
    /// The content hash met a tree deeper or larger than the limits in `mod.rs`.
    #[error("{path}: {what} exceeds the limit of {limit}")]
    LimitExceeded {
        /// Where the limit was hit.
        path: PathBuf,
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
    },
}

/// Shorthand used across the module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::error::IoError> for Error {
    fn from(e: crate::error::IoError) -> Self {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a = 1\nb = \"é\" x\n";
        let at = Location::from_offset("t.toml", text, 15);
        assert_eq!((at.line, at.column), (2, 9));
        assert_eq!(at.to_string(), "t.toml:2:9");
        let start = Location::from_offset("t.toml", text, 0);
        assert_eq!((start.line, start.column), (1, 1));
        let past_end = Location::from_offset("t.toml", text, 1000);
        assert_eq!((past_end.line, past_end.column), (3, 1));
        // Inside the two bytes of 'é': attributed to that character.
        let inside = Location::from_offset("t.toml", text, 12);
        assert_eq!((inside.line, inside.column), (2, 6));
    }
}
