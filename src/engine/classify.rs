//! Classifying an operation's target (wal-spec.md §7.2): `Done` (the target holds the
//! after-state), `NotApplied` (it holds the before-state), `Damaged` (it is the engine's own
//! staged inode whose unsynced writes were lost in a crash) or a conflict (a state the
//! transaction cannot explain, which is reported and never overwritten). "Holds" means
//! everything a user can see: the kind, a file's bytes and permission bits, a directory's
//! tree (every mode and link below it included), a link's target. Reads only.

use super::ctx::{Ctx, lstat};
use super::ops::{Op, PutTree, TreeEntry};
use super::tree_hash::{self, TreeNode, walk_tree};
use crate::error::{IoContext, Result};
use crate::fs::{FileKind, Metadata};
use crate::journal::format::{Before, EntryKind, Hash, hex};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The state of an operation's target (wal-spec.md §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Done,
    NotApplied,
    Damaged,
    Conflict(String),
    /// A later transaction of the run supersedes the operation (wal-spec.md §6.6): its
    /// target is not looked at, and nothing is redone.
    Superseded,
}

pub(super) fn short(h: &Hash) -> String {
    hex(&h[..6])
}

/// What a target holds, read lazily: each of its hashes at most once.
struct Seen<'c> {
    ctx: &'c Ctx<'c>,
    path: PathBuf,
    meta: Option<Metadata>,
    file_hash: Option<Hash>,
    tree_hash: Option<Hash>,
    link: Option<Vec<u8>>,
}

impl<'c> Seen<'c> {
    fn new(ctx: &'c Ctx<'c>, path: PathBuf) -> Result<Seen<'c>> {
        let meta = lstat(ctx.fs, &path)?;
        Ok(Seen {
            ctx,
            path,
            meta,
            file_hash: None,
            tree_hash: None,
            link: None,
        })
    }

    fn kind(&self) -> Option<FileKind> {
        self.meta.map(|m| m.kind)
    }

    fn file_hash(&mut self) -> Result<Hash> {
        if let Some(h) = self.file_hash {
            return Ok(h);
        }
        let h = tree_hash::hash_file(self.ctx.fs, &self.path)?.1;
        self.file_hash = Some(h);
        Ok(h)
    }

    fn tree_hash(&mut self) -> Result<Hash> {
        if let Some(h) = self.tree_hash {
            return Ok(h);
        }
        let h = tree_hash::tree_hash(self.ctx.fs, &self.path, self.ctx.version)?;
        self.tree_hash = Some(h);
        Ok(h)
    }

    fn link(&mut self) -> Result<Vec<u8>> {
        if let Some(t) = &self.link {
            return Ok(t.clone());
        }
        let t = self
            .ctx
            .fs
            .read_link(&self.path)
            .ctx("read link", &self.path)?
            .as_bytes()
            .to_vec();
        self.link = Some(t.clone());
        Ok(t)
    }

    /// Whether it is a file of `size` bytes hashing to `hash`, with permission bits `mode`
    /// (not compared when `None`: a version-1 record).
    fn is_file(&mut self, size: u64, hash: &Hash, mode: Option<u32>) -> Result<bool> {
        let Some(m) = self.meta else { return Ok(false) };
        if m.kind != FileKind::File || m.len != size || mode.is_some_and(|x| x != m.mode) {
            return Ok(false);
        }
        Ok(self.file_hash()? == *hash)
    }

    fn is_tree(&mut self, hash: &Hash) -> Result<bool> {
        Ok(self.kind() == Some(FileKind::Dir) && self.tree_hash()? == *hash)
    }

    fn is_link(&mut self, target: &[u8]) -> Result<bool> {
        Ok(self.kind() == Some(FileKind::Symlink) && self.link()? == target)
    }

    /// Whether it holds exactly the before-state `b`.
    fn is(&mut self, b: &Before) -> Result<bool> {
        match b {
            Before::Absent => Ok(self.meta.is_none()),
            Before::File { size, hash, mode } => self.is_file(*size, hash, *mode),
            Before::Tree { hash } => self.is_tree(hash),
            Before::Link { target } => self.is_link(target),
        }
    }

    /// What it is, for a conflict message.
    fn describe(&mut self) -> Result<String> {
        Ok(match self.meta {
            None => "missing".into(),
            Some(m) => match m.kind {
                FileKind::File => format!(
                    "a file of {} bytes, mode {:o} (hash {})",
                    m.len,
                    m.mode,
                    short(&self.file_hash()?)
                ),
                FileKind::Dir => format!("a directory (tree hash {})", short(&self.tree_hash()?)),
                FileKind::Symlink => format!(
                    "a symbolic link to {:?}",
                    String::from_utf8_lossy(&self.link()?)
                ),
                FileKind::Other => "a special file".into(),
            },
        })
    }
}

/// The first directory on the way to `op`'s target (below the root) that is there but is
/// not a directory: a link, most likely, which nothing may be written through.
fn blocked_parent(ctx: &Ctx, op: &Op) -> Result<Option<(String, FileKind)>> {
    let mut prefix = String::new();
    let comps: Vec<&str> = op.path().components().collect();
    for c in &comps[..comps.len() - 1] {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(c);
        match lstat(ctx.fs, &ctx.layout.resolve(&prefix))? {
            Some(m) if m.kind == FileKind::Dir => {}
            Some(m) => return Ok(Some((prefix, m.kind))),
            // Made by an earlier operation of the transaction, or the op will fail.
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Says what is found at a target that neither state of the transaction explains.
type Conflict<'a> = dyn FnMut(&mut Seen, &str) -> Result<Status> + 'a;

/// Whether the target holds a state of one of `chain`, the puts of the same path by earlier
/// transactions of the run (wal-spec.md §6.6): its before-state, its after-state, or its
/// own staged inode (a file, or a tree holding only its entries) whose unsynced writes the
/// crash lost. A put chained onto them that finds one of these was not applied.
fn holds_chain_state(ctx: &Ctx, seen: &mut Seen, chain: &[Op]) -> Result<bool> {
    for earlier in chain {
        let held = match earlier {
            Op::PutFile(p) => {
                seen.is_file(p.size, &p.hash, ctx.modes().then_some(p.mode))?
                    || seen
                        .meta
                        .is_some_and(|m| m.kind == FileKind::File && m.ino == p.staged_ino)
                    || seen.is(&p.before)?
            }
            Op::PutTree(t) => {
                seen.is_tree(&t.after_hash)?
                    || own_tree_damaged(ctx, t, seen)?.is_some_and(|foreign| foreign.is_none())
                    || seen.is(&t.before)?
            }
            Op::PutLink { before, target, .. } => seen.is_link(target)? || seen.is(before)?,
            _ => false,
        };
        if held {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Classifies `op`'s target. Reads only. `chain`: the puts of the same path by earlier
/// transactions of the run that `op` chains onto (wal-spec.md §6.6), empty otherwise; a
/// state of theirs is "not applied" for `op`.
pub(crate) fn classify(ctx: &Ctx, op: &Op, chain: &[Op]) -> Result<Status> {
    let status = classify_alone(ctx, op)?;
    if matches!(status, Status::Conflict(_)) && !chain.is_empty() {
        let mut seen = Seen::new(ctx, ctx.target(op))?;
        if holds_chain_state(ctx, &mut seen, chain)? {
            return Ok(Status::NotApplied);
        }
    }
    Ok(status)
}

/// [`classify`] against `op`'s own states only.
fn classify_alone(ctx: &Ctx, op: &Op) -> Result<Status> {
    if let Some((parent, kind)) = blocked_parent(ctx, op)? {
        let what = if kind == FileKind::Symlink {
            "a symbolic link, which skillwal never writes through"
        } else {
            "not a directory"
        };
        return Ok(Status::Conflict(format!(
            "{}: {parent} on the way is {what}",
            op.path()
        )));
    }
    let mut seen = Seen::new(ctx, ctx.target(op))?;
    let mut conflict = |seen: &mut Seen, what: &str| -> Result<Status> {
        Ok(Status::Conflict(format!(
            "{}: {}; the transaction {what}",
            op.path(),
            seen.describe()?
        )))
    };
    match op {
        Op::PutTree(t) => classify_tree(ctx, t, &mut seen, &mut conflict),
        Op::PutFile(_) | Op::PutLink { .. } | Op::DeleteFile { .. } | Op::DeleteTree { .. } => {
            classify_put_or_delete(ctx, op, &mut seen, &mut conflict)
        }
        Op::CreateDir { .. } | Op::RemoveDir { .. } | Op::SetDirMode { .. } => {
            classify_dir_op(ctx, op, &mut seen, &mut conflict)
        }
    }
}

/// [`classify`] for a put-file, a put-link, a delete-file or a delete-tree.
fn classify_put_or_delete(
    ctx: &Ctx,
    op: &Op,
    seen: &mut Seen,
    conflict: &mut Conflict,
) -> Result<Status> {
    match op {
        Op::PutFile(p) => {
            if seen.is_file(p.size, &p.hash, ctx.modes().then_some(p.mode))? {
                return Ok(Status::Done);
            }
            if seen
                .meta
                .is_some_and(|m| m.kind == FileKind::File && m.ino == p.staged_ino)
            {
                return Ok(Status::Damaged);
            }
            if seen.is(&p.before)? {
                return Ok(Status::NotApplied);
            }
            let what = format!("found {} there and writes a file", p.before.describe());
            conflict(seen, &what)
        }
        Op::PutLink { before, target, .. } => {
            if seen.is_link(target)? {
                return Ok(Status::Done);
            }
            if seen.is(before)? {
                return Ok(Status::NotApplied);
            }
            conflict(
                seen,
                &format!("found {} there and makes a link", before.describe()),
            )
        }
        Op::DeleteFile { before, .. } | Op::DeleteTree { before, .. } => {
            if seen.meta.is_none() {
                return Ok(Status::Done);
            }
            if seen.is(before)? {
                return Ok(Status::NotApplied);
            }
            conflict(seen, &format!("deletes {} found there", before.describe()))
        }
        other => unreachable!("{} is classified elsewhere", other.name()),
    }
}

/// [`classify`] for a create-dir, a remove-dir or a set-dir-mode.
fn classify_dir_op(ctx: &Ctx, op: &Op, seen: &mut Seen, conflict: &mut Conflict) -> Result<Status> {
    match op {
        Op::CreateDir {
            mode: m,
            staged_ino,
            ..
        } => match seen.meta {
            None => Ok(Status::NotApplied),
            Some(meta) if meta.kind == FileKind::Dir => {
                if ctx.modes().then_some(*m).is_none_or(|m| m == meta.mode) {
                    Ok(Status::Done)
                } else if *staged_ino == Some(meta.ino) {
                    // Its own directory, renamed into place; only its mode was lost.
                    Ok(Status::Damaged)
                } else {
                    conflict(seen, &format!("creates a directory of mode {m:o}"))
                }
            }
            Some(_) => conflict(seen, "creates a directory"),
        },
        Op::RemoveDir { .. } => match seen.meta {
            None => Ok(Status::Done),
            Some(m) if m.kind == FileKind::Dir => {
                let entries = ctx
                    .fs
                    .read_dir(&seen.path)
                    .ctx("read directory", &seen.path)?;
                if entries.is_empty() {
                    Ok(Status::NotApplied)
                } else {
                    conflict(
                        seen,
                        &format!("removes it empty (it has {} entries)", entries.len()),
                    )
                }
            }
            Some(_) => conflict(seen, "removes a directory"),
        },
        Op::SetDirMode {
            before_mode,
            mode: m,
            ..
        } => match seen.meta {
            Some(meta) if meta.kind == FileKind::Dir && meta.mode == *m => Ok(Status::Done),
            Some(meta) if meta.kind == FileKind::Dir && meta.mode == *before_mode => {
                Ok(Status::NotApplied)
            }
            _ => conflict(
                seen,
                &format!("changes a directory's mode from {before_mode:o} to {m:o}"),
            ),
        },
        other => unreachable!("{} is classified elsewhere", other.name()),
    }
}

/// Each entry of a tree by relative path: what must be there.
pub(super) type Expected<'t> = BTreeMap<&'t [u8], &'t TreeEntry>;

pub(super) fn expected(t: &PutTree) -> Expected<'_> {
    t.entries
        .iter()
        .map(|e| (e.rel.as_str().as_bytes(), e))
        .collect()
}

/// Whether `node` found at `rel` can be made the transaction's entry there in place: the
/// same kind, and for a link the same target (a link is made whole, never repaired).
pub(super) fn fits(expected: &Expected, rel: &[u8], node: &TreeNode) -> bool {
    match (expected.get(rel), node) {
        (Some(e), TreeNode::File { .. }) => e.kind == EntryKind::File,
        (Some(e), TreeNode::Dir { .. }) => e.kind == EntryKind::Dir,
        (Some(e), TreeNode::Link(target)) => e.kind == EntryKind::Link && e.target == *target,
        _ => false,
    }
}

fn classify_tree(
    ctx: &Ctx,
    t: &PutTree,
    seen: &mut Seen,
    conflict: &mut Conflict,
) -> Result<Status> {
    if seen.is_tree(&t.after_hash)? {
        return Ok(Status::Done);
    }
    match own_tree_damaged(ctx, t, seen)? {
        Some(None) => return Ok(Status::Damaged),
        Some(Some(foreign)) => {
            return conflict(
                seen,
                &format!(
                    "wrote this directory, but {} was added or changed in kind after it",
                    String::from_utf8_lossy(&foreign)
                ),
            );
        }
        None => {}
    }
    if restaged_before_its_mode(ctx, t, seen)? {
        return Ok(Status::Damaged);
    }
    if seen.is(&t.before)? {
        return Ok(Status::NotApplied);
    }
    conflict(
        seen,
        &format!("found {} there and writes a directory", t.before.describe()),
    )
}

/// Whether the target is the engine's own staged tree of `t` (its inode): `None` if not;
/// `Some(None)` if it holds only entries of the tree, each of the same kind (a link with the
/// same target), with any content — damaged, repairable in place; `Some(Some(rel))` naming
/// an entry that was added or changed in kind after it.
fn own_tree_damaged(ctx: &Ctx, t: &PutTree, seen: &Seen) -> Result<Option<Option<Vec<u8>>>> {
    let Some(m) = seen.meta else { return Ok(None) };
    if m.kind != FileKind::Dir || m.ino != t.staged_ino {
        return Ok(None);
    }
    let expected = expected(t);
    for (rel, node) in walk_tree(ctx.fs, &seen.path)? {
        if !fits(&expected, &rel, &node) {
            return Ok(Some(Some(rel)));
        }
    }
    Ok(Some(None))
}

/// Whether the target is the whole tree but for its own mode, which is the mode plus owner
/// read, write and search: the tree a recovery restaged (its staged copy lost with the
/// power, wal-spec.md §7.3) and moved into place, crashed before giving it its own mode
/// (§6.3: a tree whose mode lacks owner rwx is staged with them and `chmod`ed after the
/// rename). Its inode is the restaged one, not the one the record names, so only its
/// content can tell: every entry as the transaction writes it (the restaged tree was synced
/// whole before the rename), only the root's mode the staged one. The repair gives it its
/// mode.
fn restaged_before_its_mode(ctx: &Ctx, t: &PutTree, seen: &Seen) -> Result<bool> {
    let (Some(mode), Some(m)) = (t.mode, seen.meta) else {
        return Ok(false);
    };
    let staged = mode | 0o700;
    if m.kind != FileKind::Dir || staged == mode || m.mode & 0o7777 != staged {
        return Ok(false);
    }
    let entries = walk_tree(ctx.fs, &seen.path)?;
    Ok(tree_hash::tree_hash_of(ctx.version, mode, entries) == t.after_hash)
}
