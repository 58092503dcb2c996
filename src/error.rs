//! The engine's errors, the one I/O error every layer uses, and the effect of a failure.
//!
//! Each error says what failed, on which path, and why; journal errors say where in the
//! journal (byte offset, record number). Messages state the problem and never name a
//! command or a flag: what to do next is the caller's to say (the CLI adds it).
//!
//! Whether a failure may have changed anything is a typed property, [`Effect`], that every
//! layer's error reports through `effect()`: a caller never has to read it from the text.

use std::io;
use std::path::{Path, PathBuf};

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A file-system call that failed: what was being done, to which path, and the OS's error.
/// Every layer's error wraps this one type.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct IoError {
    /// The operation, in words (`"open"`, `"fsync directory"`, …).
    pub op: &'static str,
    /// The path it was done to.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

impl IoError {
    /// An error of `op` on `path`.
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> IoError {
        IoError {
            op,
            path: path.into(),
            source,
        }
    }

    /// The OS error number, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// Adds the operation and path to an `io::Result`; `?` then turns the [`IoError`] into the
/// caller's own error type.
pub trait IoContext<T> {
    /// `self` with `op` and `path` attached to its error.
    fn ctx(self, op: &'static str, path: &Path) -> std::result::Result<T, IoError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &Path) -> std::result::Result<T, IoError> {
        self.map_err(|e| IoError::new(op, path, e))
    }
}

/// A closure that wraps an `io::Error` as an [`IoError`] of `op` on `path` (for
/// `map_err`).
pub fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> IoError + 'a {
    move |source| IoError::new(op, path, source)
}

/// What a failed operation did to the files it was changing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// Nothing a user can see was changed.
    Unchanged,
    /// The change passed its commit point, or may have: the next open completes it or rolls
    /// it back from the journal.
    MaybeApplied,
}

/// The engine's errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system call failed.
    #[error(transparent)]
    Io(#[from] IoError),

    /// Two roots opened together have one identity: the same root twice, or a copy of one's
    /// engine directory in the other. Nothing was opened.
    #[error(
        "{} and {} have the same identity {id}: the same root twice, or one's engine directory copied into the other; give each root once (a copied engine directory must be removed)",
        first.display(),
        second.display()
    )]
    SameRoot {
        /// The identity they share.
        id: String,
        /// One root.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },

    /// The root holds its part of a transaction across several roots, and the root that
    /// decides it (the coordinator) cannot be found by its identity: whether it committed
    /// is not known here, so it is neither applied nor dropped (wal-spec.md §14.4). Nothing
    /// was changed.
    #[error(
        "{} holds its part of transaction {global_id}, which {} decides; that root is not found by its identity ({reason}), so whether the transaction committed is not known here. Nothing was changed",
        root.display(),
        coordinator.display()
    )]
    InDoubt {
        /// The root that holds the part.
        root: PathBuf,
        /// The transaction's identity across its roots, hex.
        global_id: String,
        /// Where the coordinator was when the transaction began.
        coordinator: PathBuf,
        /// Why it is not found there, its identity included.
        reason: String,
    },

    /// Another process holds the root's lock and the caller asked not to wait.
    #[error("{} is locked by another skillwal process{}", root.display(), holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Locked {
        /// The root.
        root: PathBuf,
        /// What the lock file says of its holder, when it says anything.
        holder: Option<String>,
    },

    /// A path given to the engine is not a valid relative path.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// A staged operation does not fit the tree as it is, or another operation of the same
    /// transaction.
    #[error("cannot stage {op} on {path}: {reason}")]
    Rejected {
        /// The operation.
        op: &'static str,
        /// Its path.
        path: String,
        /// Why it was refused.
        reason: String,
    },

    /// A bound in `limits.rs` was reached.
    #[error("limit reached: {what} (at most {limit})")]
    Limit {
        /// The bound.
        what: &'static str,
        /// Its value.
        limit: u64,
    },

    /// The journal cannot be trusted; nothing on disk was changed.
    #[error("journal {} is damaged at byte {offset}{}: {reason}", path.display(), record.map(|r| format!(" (record {r})")).unwrap_or_default())]
    CorruptJournal {
        /// The journal.
        path: PathBuf,
        /// Where the damage is: the start of the record that does not read (0 for the
        /// header, or when no single record is to blame).
        offset: u64,
        /// That record's index in its transaction, when one is to blame.
        record: Option<u32>,
        /// What is wrong there.
        reason: String,
    },

    /// A journal written in a format this build does not know.
    #[error("journal {} has format version {found}; this skillwal reads versions 1 to {supported}. The journal is kept; use the skillwal that wrote it", path.display())]
    UnsupportedVersion {
        /// The journal.
        path: PathBuf,
        /// The version found.
        found: u16,
        /// The newest version this build reads.
        supported: u16,
    },

    /// Recovery found targets in a state the interrupted transaction cannot explain, and
    /// changed nothing.
    #[error("recovery of transaction {txn_id} stopped: {} changed since that transaction was committed (nothing was overwritten): {}", if conflicts.len() == 1 { "a path was" } else { "paths were" }, conflicts.join("; "))]
    RecoveryConflict {
        /// The transaction.
        txn_id: u64,
        /// One line per target that changed.
        conflicts: Vec<String>,
    },

    /// The commit point may or may not have been passed: the next open settles it.
    #[error("{cause}. The change may have been applied; the next open of {} completes it or rolls it back from the journal", root.display())]
    CommitUncertain {
        /// The root.
        root: PathBuf,
        /// The failure.
        cause: Box<Error>,
    },

    /// An earlier durability failure made this engine unusable; reopen to recover.
    #[error(
        "the engine stopped after an earlier failure ({cause}); open the collection again to recover"
    )]
    Poisoned {
        /// The earlier failure, as text.
        cause: String,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io(IoError::new(op, path, source))
    }

    /// The OS error number under this error, if there is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io(e) => e.raw_os_error(),
            Error::CommitUncertain { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }

    /// What the failed operation did: only [`Error::CommitUncertain`] may have changed
    /// anything.
    pub fn effect(&self) -> Effect {
        match self {
            Error::CommitUncertain { .. } => Effect::MaybeApplied,
            _ => Effect::Unchanged,
        }
    }
}
