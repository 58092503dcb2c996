//! The Python tool's lock files (`docs/skillmeat-deploy-format.md` §6): before it replaces
//! `<dir>/<name>` it takes `flock(LOCK_EX|LOCK_NB)` on `<dir>/.<name>.skillmeat-lock`
//! (created `0644`, never deleted), polling every 50 ms for up to 10 s, then gives up and
//! changes nothing.
//!
//! skillwal holds the same files while it reads and rewrites a profile root, with a *shared*
//! lock: it excludes the Python tool's exclusive one just the same, and writes nothing into
//! the file (skillwal's own lock, which records a PID, is the project's `.skillwal/lock`; two
//! skillwal processes are already kept apart by it). A lock file is taken only in a directory
//! that exists: one the transaction creates cannot hold a Python deployment yet, and creating
//! it outside the transaction would leave it behind after a crash.

use crate::fs::{FileSystem, LockError, LockGuard, LockKind};
use crate::skillmeat::collection::{CollectionError, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long to wait for the Python tool to let go (its own timeout is 10 s).
pub const PYTHON_LOCK_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// The lock file the Python tool takes before replacing `path`.
pub fn lock_file_for(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    Some(path.with_file_name(format!(".{name}.skillmeat-lock")))
}

/// Whether `name` is one of the Python tool's lock files (never an artifact).
pub fn is_lock_file(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".skillmeat-lock")
}

/// Locks held until dropped.
#[derive(Default)]
pub struct PythonLocks {
    held: Vec<(PathBuf, Box<dyn LockGuard>)>,
}

impl PythonLocks {
    /// Takes the Python tool's lock for `path` unless its directory is missing or it is held
    /// already. Waits up to [`PYTHON_LOCK_WAIT`] for a holder, then fails naming the file.
    pub fn take(&mut self, fs: &dyn FileSystem, path: &Path) -> Result<()> {
        let Some(lock) = lock_file_for(path) else {
            return Ok(());
        };
        if self.held.iter().any(|(p, _)| *p == lock) {
            return Ok(());
        }
        let Some(dir) = lock.parent() else {
            return Ok(());
        };
        if !fs
            .metadata(dir)
            .is_ok_and(|m| m.kind == crate::fs::FileKind::Dir)
        {
            return Ok(());
        }
        let start = Instant::now();
        loop {
            match fs.lock(&lock, LockKind::Shared, false) {
                Ok(guard) => {
                    self.held.push((lock, guard));
                    return Ok(());
                }
                Err(LockError::WouldBlock { .. }) if start.elapsed() < PYTHON_LOCK_WAIT => {
                    std::thread::sleep(POLL);
                }
                Err(LockError::WouldBlock { .. }) => {
                    return Err(CollectionError::PythonLocked {
                        lock,
                        waited: PYTHON_LOCK_WAIT,
                    });
                }
                Err(LockError::Io(e)) => {
                    return Err(CollectionError::Io(crate::error::IoError::new(
                        "lock", &lock, e,
                    )));
                }
            }
        }
    }

    /// How many are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}
