//! What is checked before anything is staged: room in the transaction, where a path may
//! go (invariant E3), whether this user may change the directories involved, and the
//! before-state of what a path holds now.

use super::Transaction;
use crate::engine::layout::Layout;
use crate::engine::ops::Op;
use crate::engine::path::RelPath;
use crate::engine::tree_hash;
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileKind, Metadata};
use crate::journal::format::{Before, FORMAT_VERSION};
use crate::limits::{OPS_PER_TXN_MAX, PATH_BYTES_MAX};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What is at `path` below `root` (`meta` is what `lstat` said of it) as a before-state: a
/// file's size, hash and permission bits; a directory's tree hash (which covers every mode
/// and link below it); a link's target. A special file is refused.
pub(super) fn before_state(
    fs: &dyn crate::fs::FileSystem,
    layout: &Layout,
    op: &'static str,
    path: &RelPath,
    meta: Option<Metadata>,
) -> Result<Before> {
    let abs = layout.resolve(path.as_str());
    let Some(m) = meta else {
        return Ok(Before::Absent);
    };
    Ok(match m.kind {
        FileKind::File => {
            let (size, hash) = tree_hash::hash_file(fs, &abs)?;
            Before::File {
                size,
                hash,
                mode: Some(m.mode),
            }
        }
        FileKind::Dir => Before::Tree {
            hash: tree_hash::tree_hash(fs, &abs, FORMAT_VERSION)?,
        },
        FileKind::Symlink => Before::Link {
            target: fs
                .read_link(&abs)
                .ctx("read link", &abs)?
                .as_bytes()
                .to_vec(),
        },
        FileKind::Other => {
            return Err(Transaction::reject(
                op,
                path,
                "is a special file (a socket, FIFO or device), which skillwal never replaces",
            ));
        }
    })
}

/// Checks a symbolic link's target: not empty, at most [`PATH_BYTES_MAX`] bytes, no NUL.
pub(super) fn check_target(op: &'static str, path: &RelPath, target: &[u8]) -> Result<()> {
    if target.is_empty() || target.len() > PATH_BYTES_MAX || target.contains(&0) {
        return Err(Transaction::reject(
            op,
            path,
            format!(
                "a link target must be 1 to {PATH_BYTES_MAX} bytes without NUL ({} bytes given)",
                target.len()
            ),
        ));
    }
    Ok(())
}

impl Transaction<'_> {
    pub(super) fn layout(&self) -> &Layout {
        &self.session.layout
    }

    pub(super) fn staging(&self) -> &Path {
        &self.session.layout.staging
    }

    pub(super) fn lstat(&self, path: &Path) -> Result<Option<Metadata>> {
        match self.session.fs.metadata(path) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("stat", path, e)),
        }
    }

    pub(super) fn reject(op: &'static str, path: &RelPath, reason: impl Into<String>) -> Error {
        Error::Rejected {
            op,
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    /// Marks the transaction unusable after a failure that may have left something staged
    /// (a partial file, a directory): only abort is left. Validation errors, which happen
    /// before anything is written, leave it usable.
    pub(super) fn broken_by<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && self.broken.is_none()
            && !matches!(
                e,
                Error::Rejected { .. } | Error::InvalidPath { .. } | Error::Limit { .. }
            )
        {
            self.broken = Some(format!(
                "an earlier staging step failed ({e}); abort and start again"
            ));
        }
        r
    }

    pub(super) fn check_room(&self) -> Result<()> {
        if let Some(b) = &self.broken {
            return Err(Error::Rejected {
                op: "stage",
                path: String::new(),
                reason: b.clone(),
            });
        }
        if self.ops.len() as u32 >= OPS_PER_TXN_MAX {
            return Err(Error::Limit {
                what: "operations per transaction",
                limit: OPS_PER_TXN_MAX as u64,
            });
        }
        Ok(())
    }

    /// Checks that `path` does not collide with another operation of this transaction
    /// (invariant E3) and that its parent is a real directory (no link on the way) or one
    /// this transaction creates.
    pub(super) fn check_place(&self, op: &'static str, path: &RelPath) -> Result<()> {
        self.check_disjoint(op, path)?;
        self.check_parents_are_dirs(op, path)?;
        // The directory whose entries the apply changes (a set-dir-mode changes none).
        let parent = path.parent();
        let parent_created = parent.as_ref().is_some_and(|p| {
            self.ops
                .iter()
                .any(|o| matches!(o, Op::CreateDir { .. }) && o.path() == p)
        });
        if op != "set-dir-mode" && !parent_created {
            self.check_writable(op, path, &self.layout().parent_of(path))?;
        }
        Ok(())
    }

    /// Checks that `path` collides with no earlier operation of this transaction: not the
    /// same path, not below one (except below a directory it creates, and never below one
    /// whose mode it sets), not above one (except a remove-dir above deletions, and a
    /// set-dir-mode).
    fn check_disjoint(&self, op: &'static str, path: &RelPath) -> Result<()> {
        for earlier in &self.ops {
            let q = earlier.path();
            if q == path {
                return Err(Self::reject(
                    op,
                    path,
                    "already changed by this transaction",
                ));
            }
            if path.is_within(q) && matches!(earlier, Op::SetDirMode { .. }) {
                return Err(Self::reject(
                    op,
                    path,
                    format!(
                        "the mode of {q} is set by this transaction; change what is inside it first"
                    ),
                ));
            }
            if path.is_within(q) && !matches!(earlier, Op::CreateDir { .. }) {
                return Err(Self::reject(
                    op,
                    path,
                    format!("{q} is also changed by this transaction"),
                ));
            }
            // A directory is removed after what is in it, and its mode set after the changes
            // inside it.
            let clearing = (op == "remove-dir"
                && matches!(
                    earlier,
                    Op::DeleteFile { .. } | Op::DeleteTree { .. } | Op::RemoveDir { .. }
                ))
                || op == "set-dir-mode";
            if q.is_within(path) && !clearing {
                return Err(Self::reject(
                    op,
                    path,
                    format!("{q} below it is also changed by this transaction"),
                ));
            }
        }
        Ok(())
    }

    /// Checks that every directory on the way to `path` (below the root) is a real directory
    /// now, not a link, or one this transaction creates.
    fn check_parents_are_dirs(&self, op: &'static str, path: &RelPath) -> Result<()> {
        let mut prefix = String::new();
        let comps: Vec<&str> = path.components().collect();
        for c in &comps[..comps.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(c);
            let created = self
                .ops
                .iter()
                .any(|o| matches!(o, Op::CreateDir { .. }) && o.path().as_str() == prefix);
            if created {
                continue;
            }
            let p = self.layout().resolve(&prefix);
            match self.lstat(&p)? {
                Some(m) if m.kind == FileKind::Dir => {}
                Some(_) => {
                    return Err(Self::reject(
                        op,
                        path,
                        format!("{prefix} is not a directory"),
                    ));
                }
                None => {
                    return Err(Self::reject(
                        op,
                        path,
                        format!("directory {prefix} does not exist"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Refuses, before anything is staged, what this process could not do after the commit
    /// point, where a failure leaves the change half applied until someone fixes the
    /// permissions: change the entries of the directory `dir`, or move it (a rename of a
    /// directory rewrites its `..`). Root may do both.
    pub(super) fn check_writable(
        &self,
        op: &'static str,
        path: &RelPath,
        dir: &Path,
    ) -> Result<()> {
        let may = self
            .session
            .fs
            .may_write_dir(dir)
            .map_err(|e| Error::io("check access to", dir, e))?;
        if may {
            return Ok(());
        }
        let mode = self.lstat(dir)?.map(|m| m.mode).unwrap_or(0);
        Err(Self::reject(
            op,
            path,
            format!(
                "{} (mode {mode:o}) may not be written by this user, so skillwal cannot change it; give its owner write permission (chmod u+w) and try again",
                dir.display()
            ),
        ))
    }

    /// What `path` holds now, as this transaction sees it (`None` below a directory it
    /// creates).
    pub(super) fn current(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let below_created = self
            .ops
            .iter()
            .any(|o| matches!(o, Op::CreateDir { .. }) && path.is_within(o.path()));
        if below_created {
            return Ok(None);
        }
        self.lstat(&self.layout().resolve(path.as_str()))
    }

    /// What is at `path` now (`meta`, as [`Transaction::current`] found it), as a
    /// before-state; see [`before_state`].
    pub(super) fn before_of(
        &self,
        op: &'static str,
        path: &RelPath,
        meta: Option<Metadata>,
    ) -> Result<Before> {
        if meta.is_some_and(|m| m.kind == FileKind::Dir) {
            // Replaced or deleted: moved out of its parent (into the staging area).
            self.check_writable(op, path, &self.layout().resolve(path.as_str()))?;
        }
        before_state(self.session.fs.as_ref(), self.layout(), op, path, meta)
    }
}
