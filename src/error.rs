//! The library's errors. Each says what failed, on which path, and why; journal errors say
//! where in the journal (byte offset, record number).

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Another process holds the root's lock and the caller asked not to wait.
    #[error("{} is locked by another skillwal process{}", root.display(), holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        root: PathBuf,
        holder: Option<String>,
    },

    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    /// A staged operation does not fit the tree as it is, or another operation of the same
    /// transaction.
    #[error("cannot stage {op} on {path}: {reason}")]
    Rejected {
        op: &'static str,
        path: String,
        reason: String,
    },

    /// A bound in `limits.rs` was reached.
    #[error("limit reached: {what} (at most {limit})")]
    Limit { what: &'static str, limit: u64 },

    /// The journal cannot be trusted; nothing on disk was changed.
    #[error("journal {} is damaged at byte {offset}{}: {reason}. Nothing was changed. {advice}", path.display(), record.map(|r| format!(" (record {r})")).unwrap_or_default())]
    CorruptJournal {
        path: PathBuf,
        offset: u64,
        record: Option<u32>,
        reason: String,
        advice: String,
    },

    /// A journal written by a newer format version.
    #[error("journal {} has format version {found}; this skillwal reads versions 1 to {supported}. Nothing was changed and the journal is kept; use the skillwal that wrote it", path.display())]
    UnsupportedVersion {
        path: PathBuf,
        found: u16,
        supported: u16,
    },

    /// Recovery found targets in a state the interrupted transaction cannot explain, and
    /// changed nothing.
    #[error("recovery of transaction {txn_id} stopped: {} changed since that transaction was committed (nothing was overwritten): {}. Inspect with `skillwal journal inspect`; once the files are as you want them, `skillwal recover --discard` drops the journal", if conflicts.len() == 1 { "a path was" } else { "paths were" }, conflicts.join("; "))]
    RecoveryConflict { txn_id: u64, conflicts: Vec<String> },

    /// The commit point may or may not have been passed: the next open settles it.
    #[error("{cause}. The change may have been applied; the next open of {} completes it or rolls it back from the journal", root.display())]
    CommitUncertain { root: PathBuf, cause: Box<Error> },

    /// An earlier durability failure made this engine unusable; reopen to recover.
    #[error(
        "the engine stopped after an earlier failure ({cause}); open the collection again to recover"
    )]
    Poisoned { cause: String },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The OS error number under this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            Error::CommitUncertain { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }
}

/// Adds the operation and path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}
