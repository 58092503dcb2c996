//! What applying one transaction needs to reach: the file system, the root's layout, the
//! journal its contents are read from, and the salt that names its staged files.

use super::layout::Layout;
use super::ops::Op;
use super::staging::{staged_name, trash_name};
use crate::error::{Error, Result};
use crate::fs::{FileHandle, FileSystem, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// What one transaction's application needs to reach.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub fs: &'a dyn FileSystem,
    /// Where the root and the engine's directory (with staging) are.
    pub layout: &'a Layout,
    pub journal: &'a dyn FileHandle,
    pub journal_path: &'a Path,
    pub salt: u64,
    /// The journal format version of the transaction's records: version 1 recorded no
    /// permission bits, so they are not compared for its operations.
    pub version: u16,
}

impl<'a> Ctx<'a> {
    /// The same, for the transaction of a run salted `salt` (wal-spec.md §6.6).
    pub(super) fn with_salt(&self, salt: u64) -> Ctx<'a> {
        Ctx { salt, ..*self }
    }
    pub(super) fn target(&self, op: &Op) -> PathBuf {
        self.layout.resolve(op.path().as_str())
    }
    pub(super) fn staged(&self, index: u32) -> PathBuf {
        self.layout.staging.join(staged_name(self.salt, index))
    }
    pub(super) fn trash(&self, index: u32) -> PathBuf {
        self.layout.staging.join(trash_name(self.salt, index))
    }
    /// Whether permission bits are part of the states compared (format version 2 on).
    pub(super) fn modes(&self) -> bool {
        self.version >= 2
    }
}

/// What `lstat` says of `path`, `None` when nothing is there.
pub(super) fn lstat(fs: &dyn FileSystem, path: &Path) -> Result<Option<Metadata>> {
    match fs.metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("stat", path, e)),
    }
}
