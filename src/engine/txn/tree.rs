//! Staging a whole directory tree, entry by entry; see [`Transaction::put_tree`].

use super::checks::check_target;
use super::{OWNER_RWX, Transaction};
use crate::engine::ops::{Located, Op, PutTree, TreeEntry, tree_nodes};
use crate::engine::path::RelPath;
use crate::engine::tree_hash::tree_hash_of;
use crate::error::{Error, IoContext, Result};
use crate::journal::format::{Before, Content, EntryKind, FORMAT_VERSION, Record};
use crate::limits::TREE_ENTRIES_MAX;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What [`Transaction::put_tree`] prepared before handing out its stager.
pub(super) struct PreparedTree {
    pub op: u32,
    pub path: RelPath,
    pub mode: u32,
    pub before: Before,
    pub staged: PathBuf,
    pub staged_ino: u64,
}

/// Stages one directory tree; see [`Transaction::put_tree`].
pub struct TreeStager<'t, 'e> {
    txn: &'t mut Transaction<'e>,
    op: u32,
    path: RelPath,
    /// The tree's own directory's permission bits.
    mode: u32,
    before: Before,
    staged: PathBuf,
    staged_ino: u64,
    entries: Vec<TreeEntry>,
    dirs: BTreeSet<String>,
    /// Staged directories created with more permission than they must end with (their
    /// owner needs to fill them): set to their own mode, deepest first, at the end.
    modes_after: Vec<(PathBuf, u32)>,
    finished: bool,
}

impl<'t, 'e> TreeStager<'t, 'e> {
    pub(super) fn new(txn: &'t mut Transaction<'e>, p: PreparedTree) -> TreeStager<'t, 'e> {
        TreeStager {
            txn,
            op: p.op,
            path: p.path,
            mode: p.mode,
            before: p.before,
            staged: p.staged,
            staged_ino: p.staged_ino,
            entries: Vec::new(),
            dirs: BTreeSet::new(),
            modes_after: Vec::new(),
            finished: false,
        }
    }

    fn check_entry(&self, rel: &str) -> Result<RelPath> {
        let rel = RelPath::new_in_tree(rel)?;
        if self.entries.len() as u32 >= TREE_ENTRIES_MAX {
            return Err(Error::Limit {
                what: "entries in one tree",
                limit: TREE_ENTRIES_MAX as u64,
            });
        }
        if let Some(parent) = rel.parent()
            && !self.dirs.contains(parent.as_str())
        {
            return Err(Transaction::reject(
                "put-tree",
                &self.path,
                format!("{rel}: directory {parent} was not added first"),
            ));
        }
        if self.entries.iter().any(|e| e.rel == rel) {
            return Err(Transaction::reject(
                "put-tree",
                &self.path,
                format!("{rel} added twice"),
            ));
        }
        Ok(rel)
    }

    /// Adds a directory at `rel` (its parent must have been added) with exactly the
    /// permission bits `mode`.
    pub fn dir(&mut self, rel: &str, mode: u32) -> Result<()> {
        let r = self.dir_inner(rel, mode & 0o7777);
        self.txn.broken_by(r)
    }

    fn dir_inner(&mut self, rel: &str, mode: u32) -> Result<()> {
        let rel = self.check_entry(rel)?;
        let dest = rel.join_to(&self.staged);
        self.txn
            .session
            .fs
            .create_dir(&dest, mode | OWNER_RWX)
            .ctx("create directory", &dest)?;
        if mode | OWNER_RWX != mode {
            self.modes_after.push((dest, mode));
        }
        let rec = Record::TreeEntry {
            op: self.op,
            rel_path: rel.to_string(),
            kind: EntryKind::Dir,
            mode,
            size: 0,
            hash: [0; 32],
            content: Content::Staged,
            target: Vec::new(),
        };
        self.txn.append(&rec, None)?;
        self.dirs.insert(rel.to_string());
        self.entries.push(TreeEntry {
            rel,
            kind: EntryKind::Dir,
            mode,
            size: 0,
            hash: [0; 32],
            content: Located::Staged,
            target: Vec::new(),
        });
        Ok(())
    }

    /// Adds a file at `rel` with the bytes `content` yields (streamed; memory stays bounded)
    /// and exactly the permission bits `mode`.
    pub fn file(&mut self, rel: &str, content: &mut dyn Read, mode: u32) -> Result<()> {
        let r = self.file_inner(rel, content, mode & 0o7777);
        self.txn.broken_by(r)
    }

    fn file_inner(&mut self, rel: &str, content: &mut dyn Read, mode: u32) -> Result<()> {
        let rel = self.check_entry(rel)?;
        let dest = rel.join_to(&self.staged);
        let target = RelPath::new(&format!("{}/{}", self.path, rel))?;
        let staged = self.txn.stage_content(&dest, content, mode, &target)?;
        let rec = Record::TreeEntry {
            op: self.op,
            rel_path: rel.to_string(),
            kind: EntryKind::File,
            mode,
            size: staged.size,
            hash: staged.hash,
            content: match &staged.inline {
                Some(b) => Content::Inline {
                    at: 0,
                    len: b.len() as u32,
                },
                None => Content::Staged,
            },
            target: Vec::new(),
        };
        let content = self.txn.append(&rec, staged.inline.as_deref())?;
        self.entries.push(TreeEntry {
            rel,
            kind: EntryKind::File,
            mode,
            size: staged.size,
            hash: staged.hash,
            content,
            target: Vec::new(),
        });
        Ok(())
    }

    /// [`TreeStager::file`] from a byte slice.
    pub fn bytes(&mut self, rel: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let mut r = bytes;
        self.file(rel, &mut r, mode)
    }

    /// Adds a symbolic link at `rel` whose target is `target` (bytes, never followed).
    pub fn link(&mut self, rel: &str, target: &[u8]) -> Result<()> {
        let r = self.link_inner(rel, target);
        self.txn.broken_by(r)
    }

    fn link_inner(&mut self, rel: &str, target: &[u8]) -> Result<()> {
        let rel = self.check_entry(rel)?;
        check_target("put-tree", &self.path, target)?;
        let dest = rel.join_to(&self.staged);
        self.txn
            .session
            .fs
            .symlink(OsStr::from_bytes(target), &dest)
            .ctx("create link", &dest)?;
        let rec = Record::TreeEntry {
            op: self.op,
            rel_path: rel.to_string(),
            kind: EntryKind::Link,
            mode: 0,
            size: 0,
            hash: [0; 32],
            content: Content::Staged,
            target: target.to_vec(),
        };
        self.txn.append(&rec, None)?;
        self.entries.push(TreeEntry {
            rel,
            kind: EntryKind::Link,
            mode: 0,
            size: 0,
            hash: [0; 32],
            content: Located::Staged,
            target: target.to_vec(),
        });
        Ok(())
    }

    /// Completes the tree: gives every directory its own mode, records the tree's
    /// after-state hash and its operation.
    pub fn finish(mut self) -> Result<()> {
        self.finished = true;
        let r = self.finish_inner();
        self.txn.broken_by(r)
    }

    fn finish_inner(&mut self) -> Result<()> {
        let fs = self.txn.session.fs.clone();
        // The tree's own directory keeps owner write until it is renamed into place (a
        // process that is not root cannot move a directory it may not write): the apply
        // gives it its mode right after (wal-spec.md §6.3).
        let mut modes_after = std::mem::take(&mut self.modes_after);
        // Deepest first: a parent stays writable until its children are done.
        modes_after.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
        for (dir, mode) in &modes_after {
            fs.set_mode(dir, *mode).ctx("set mode", dir)?;
        }
        let after_hash = tree_hash_of(FORMAT_VERSION, self.mode, tree_nodes(&self.entries));
        let rec = Record::PutTree {
            op: self.op,
            path: self.path.to_string(),
            mode: Some(self.mode),
            before: self.before.clone(),
            after_hash,
            staged_ino: self.staged_ino,
            entry_count: self.entries.len() as u32,
        };
        self.txn.append(&rec, None)?;
        self.txn.ops.push(Op::PutTree(PutTree {
            path: self.path.clone(),
            mode: Some(self.mode),
            before: self.before.clone(),
            after_hash,
            staged_ino: self.staged_ino,
            entries: std::mem::take(&mut self.entries),
        }));
        Ok(())
    }
}

impl Drop for TreeStager<'_, '_> {
    fn drop(&mut self) {
        if !self.finished {
            self.txn.broken = Some(format!("the tree for {} was not finished", self.path));
        }
    }
}
