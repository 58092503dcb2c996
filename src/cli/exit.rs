//! The process exit codes (README, "Exit codes"), and which one an error gets.

use super::output::StdoutError;
use skillwal::skillmeat::collection::CollectionError;

/// How a `skillwal` process ends. The numbers are part of the interface: scripts test them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// An error (the message says what failed, where, whether anything was changed, and
    /// what to do); also `verify` when it finds problems, and `journal inspect` of a damaged
    /// or unreadable journal.
    Error = 1,
    /// A usage error: the command line itself is wrong (clap's errors, and the
    /// [`UsageError`]s found after parsing).
    Usage = 2,
    /// The collection is locked by another skillwal process and `--no-wait` was given.
    Locked = 3,
    /// `update --strategy merge` committed, leaving merge conflicts to resolve by hand.
    Conflicts = 4,
    /// `update --all` committed what it could, but some artifacts could not be updated (no
    /// recorded source, or the fetch failed); they are listed. [`Exit::Conflicts`] wins
    /// when both apply.
    NotAllUpdated = 5,
}

/// A usage mistake found after parsing (exit code 2, [`Exit::Usage`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Exit {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code for a command that failed with `e`. A closed standard output (the
    /// reader of a pipe went away, as `skillwal list | head -1` does) is not a failure: the
    /// command ends quietly with success, as other Unix tools do.
    pub fn of_error(e: &anyhow::Error) -> Exit {
        if stdout_closed(e) {
            return Exit::Ok;
        }
        if e.chain()
            .any(|c| c.is::<clap::Error>() || c.is::<UsageError>())
        {
            return Exit::Usage;
        }
        if is_locked(e) {
            return Exit::Locked;
        }
        Exit::Error
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// Whether `e` is standard output closed under the command's feet (`EPIPE`: the reader
/// of the pipe went away). skillwal ignores `SIGPIPE` (Rust programs do), so a write to
/// such a pipe fails with this error instead of killing the process.
pub fn stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<StdoutError>()
            .is_some_and(|s| s.0.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether `e` is "another process holds the collection" (with `--no-wait`).
pub fn is_locked(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<skillwal::Error>(),
            Some(skillwal::Error::Locked { .. })
        ) || matches!(
            c.downcast_ref::<CollectionError>(),
            Some(CollectionError::Engine(skillwal::Error::Locked { .. }))
        )
    })
}
