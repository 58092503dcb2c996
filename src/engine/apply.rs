//! Applying committed operations: one code path for the commit and for recovery's redo.
//!
//! Every operation has a *classification* of its target (wal-spec.md §7.2): `Done` (the
//! target holds the after-state), `NotApplied` (it holds the before-state), `Damaged` (it is
//! the engine's own staged inode whose unsynced writes were lost in a crash) or a conflict
//! (a state the transaction cannot explain, which is reported and never overwritten).
//! "Holds" means everything a user can see: the kind, a file's bytes and permission bits, a
//! directory's tree (every mode and link below it included), a link's target.
//! The commit applies each operation with [`act`] right after the commit point; recovery
//! classifies every operation first and then [`redo`]es them, making what it rewrites durable
//! before it renames it into place.

use super::classify::{Expected, Status, expected, fits, short};
use super::ctx::{Ctx, lstat};
use super::layout::Layout;
use super::ops::{Located, Op, PutFile, PutTree, TreeEntry};
use super::tree_hash::{self, TreeNode, walk_tree};
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileHandle, FileKind, FileSystem, OpenMode, remove_tree};
use crate::journal::format::{Before, EntryKind, Hash};
use crate::limits::STREAM_BUFFER_BYTES;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Owner read, write and search: what the engine needs on a directory it fills.
const OWNER_RWX: u32 = 0o700;

/// Applies `op` to a tree whose target is in the before-state and whose staged content is
/// in place. Does not sync anything.
pub(crate) fn act(ctx: &Ctx, index: u32, op: &Op) -> Result<()> {
    act_with(ctx, index, op, false)
}

/// [`act`]; with `look`, a put decides between a rename and an exchange by what is at its
/// target now rather than by its before-state: recovery's redo of a put that chains onto
/// puts of earlier transactions of a run, whose target may hold any state of the chain,
/// "nothing" among them (wal-spec.md §6.6).
fn act_with(ctx: &Ctx, index: u32, op: &Op, look: bool) -> Result<()> {
    let fs = ctx.fs;
    let target = ctx.target(op);
    // A put replaces whatever is there by an exchange, never "old away, then new in": a
    // reader sees the old thing or the new one (a file, a directory or a link, of any kind
    // on either side). The old one is left at the staged name, and the checkpoint's clearing
    // of staging removes it. For a file replaced by a file, an exchange rather than a rename
    // over it also keeps ext4 (auto_da_alloc) from flushing the replaced file in the commit.
    let put = |before: &Before| -> Result<()> {
        let staged = ctx.staged(index);
        let absent = if look {
            lstat(fs, &target)?.is_none()
        } else {
            *before == Before::Absent
        };
        if absent {
            fs.rename_noreplace(&staged, &target)
                .ctx("rename", &target)?;
        } else {
            fs.exchange(&staged, &target).ctx("exchange", &target)?;
        }
        Ok(())
    };
    match op {
        Op::PutFile(p) => put(&p.before),
        Op::PutTree(t) => {
            put(&t.before)?;
            // Staged with owner read, write and search (needed to fill it, and by a process
            // that is not root to move it); its own mode once in place. A crash between the
            // two finds the engine's own tree with another mode: damaged, repaired (§7.2).
            match t.mode {
                Some(m) if m & OWNER_RWX != OWNER_RWX => {
                    Ok(fs.set_mode(&target, m).ctx("set mode", &target)?)
                }
                _ => Ok(()),
            }
        }
        Op::PutLink { before, .. } => put(before),
        Op::DeleteFile { .. } => Ok(fs.remove_file(&target).ctx("remove", &target)?),
        Op::CreateDir {
            staged_ino: Some(_),
            ..
        } => put(&Before::Absent),
        // Format version 1 created the directory in place.
        Op::CreateDir {
            mode,
            staged_ino: None,
            ..
        } => Ok(fs
            .create_dir(&target, *mode)
            .ctx("create directory", &target)?),
        Op::RemoveDir { .. } => Ok(fs.remove_dir(&target).ctx("remove directory", &target)?),
        Op::DeleteTree { .. } => {
            let trash = ctx.trash(index);
            remove_tree(fs, &trash).ctx("remove", &trash)?;
            Ok(fs
                .rename_noreplace(&target, &trash)
                .ctx("rename", &target)?)
        }
        Op::SetDirMode { mode, .. } => Ok(fs.set_mode(&target, *mode).ctx("set mode", &target)?),
    }
}

/// Brings `op` from `status` to done, durably for anything it rewrites.
pub(crate) fn redo(ctx: &Ctx, index: u32, op: &Op, status: &Status) -> Result<()> {
    match (status, op) {
        (Status::Done | Status::Superseded, _) => Ok(()),
        (Status::Conflict(c), _) => unreachable!("redo of a conflict: {c}"),
        (Status::Damaged, Op::PutFile(p)) => {
            rewrite_file(ctx, &ctx.target(op), p.content, p.size, p.mode, &p.hash)
        }
        (Status::Damaged, Op::PutTree(t)) => make_tree_match(ctx, &ctx.target(op), t, false),
        (Status::Damaged, Op::CreateDir { mode, .. }) => {
            let target = ctx.target(op);
            Ok(ctx.fs.set_mode(&target, *mode).ctx("set mode", &target)?)
        }
        (Status::Damaged, _) => unreachable!("only puts and created directories are damaged"),
        (Status::NotApplied, Op::PutFile(p)) => {
            restage_file(ctx, index, p)?;
            act_with(ctx, index, op, true)
        }
        (Status::NotApplied, Op::PutTree(t)) => {
            restage_tree(ctx, index, t)?;
            act_with(ctx, index, op, true)
        }
        (Status::NotApplied, Op::PutLink { target, .. }) => {
            restage_link(ctx, index, target)?;
            act_with(ctx, index, op, true)
        }
        (
            Status::NotApplied,
            Op::CreateDir {
                mode,
                staged_ino: Some(_),
                ..
            },
        ) => {
            restage_dir(ctx, index, *mode)?;
            act(ctx, index, op)
        }
        (Status::NotApplied, _) => act(ctx, index, op),
    }
}

/// Makes the staged tree of `t` a directory holding exactly its entries (recreating the
/// directory if something else is there).
fn restage_tree(ctx: &Ctx, index: u32, t: &PutTree) -> Result<()> {
    let staged = ctx.staged(index);
    if lstat(ctx.fs, &staged)?.is_none_or(|m| m.kind != FileKind::Dir) {
        remove_tree(ctx.fs, &staged).ctx("remove", &staged)?;
        ctx.fs
            .create_dir(&staged, t.mode.unwrap_or(0o755) | OWNER_RWX)
            .ctx("create directory", &staged)?;
    }
    make_tree_match(ctx, &staged, t, true)
}

/// Makes the staged link of a put-link a link to `target` (recreating it if anything else
/// is there).
fn restage_link(ctx: &Ctx, index: u32, target: &[u8]) -> Result<()> {
    let staged = ctx.staged(index);
    let right = match lstat(ctx.fs, &staged)? {
        Some(m) if m.kind == FileKind::Symlink => {
            ctx.fs
                .read_link(&staged)
                .ctx("read link", &staged)?
                .as_bytes()
                == target
        }
        _ => false,
    };
    if !right {
        remove_tree(ctx.fs, &staged).ctx("remove", &staged)?;
        ctx.fs
            .symlink(OsStr::from_bytes(target), &staged)
            .ctx("create link", &staged)?;
    }
    Ok(())
}

/// Makes the staged directory of a create-dir a directory with `mode` (recreating it if
/// anything else is there).
fn restage_dir(ctx: &Ctx, index: u32, mode: u32) -> Result<()> {
    let staged = ctx.staged(index);
    match lstat(ctx.fs, &staged)? {
        Some(m) if m.kind == FileKind::Dir => {
            if m.mode != mode {
                ctx.fs.set_mode(&staged, mode).ctx("set mode", &staged)?;
            }
        }
        _ => {
            remove_tree(ctx.fs, &staged).ctx("remove", &staged)?;
            ctx.fs
                .create_dir(&staged, mode)
                .ctx("create directory", &staged)?;
        }
    }
    Ok(())
}

/// Makes the staged file of `p` hold its content and mode durably (recreating inline content
/// from the journal if the crash lost it).
fn restage_file(ctx: &Ctx, index: u32, p: &PutFile) -> Result<()> {
    let staged = ctx.staged(index);
    if let Some(m) = lstat(ctx.fs, &staged)?
        && m.kind == FileKind::File
        && m.len == p.size
        && tree_hash::hash_file(ctx.fs, &staged)?.1 == p.hash
    {
        if m.mode != p.mode {
            ctx.fs.set_mode(&staged, p.mode).ctx("set mode", &staged)?;
        }
        let f = ctx.fs.open(&staged, OpenMode::Read).ctx("open", &staged)?;
        return Ok(f.sync_all().ctx("fsync", &staged)?);
    }
    remove_tree(ctx.fs, &staged).ctx("remove", &staged)?;
    rewrite_file(ctx, &staged, p.content, p.size, p.mode, &p.hash)
}

/// Writes `content` into `path` with exactly the permission bits `mode` (created if missing,
/// else truncated and rewritten in place, keeping its inode) and syncs it (`fsync`: the
/// mode is part of what it must hold).
fn rewrite_file(
    ctx: &Ctx,
    path: &Path,
    content: Located,
    size: u64,
    mode: u32,
    hash: &Hash,
) -> Result<()> {
    let Located::Journal { offset, len } = content else {
        return Err(staged_missing(ctx, path, hash));
    };
    debug_assert_eq!(len as u64, size);
    let fs = ctx.fs;
    let file = match lstat(fs, path)? {
        Some(_) => {
            // A file of mode 0444 (a store object) cannot be opened for writing by its
            // owner unless root: open it writable first, give it its mode after.
            fs.set_mode(path, mode | 0o600).ctx("set mode", path)?;
            let f = fs.open(path, OpenMode::ReadWrite).ctx("open", path)?;
            f.set_len(0).ctx("truncate", path)?;
            f
        }
        None => fs
            .open(path, OpenMode::CreateNew { mode })
            .ctx("create", path)?,
    };
    copy_from_journal(ctx, offset, len, file.as_ref(), path)?;
    if file.metadata().ctx("stat", path)?.mode != mode {
        fs.set_mode(path, mode).ctx("set mode", path)?;
    }
    Ok(file.sync_all().ctx("fsync", path)?)
}

fn staged_missing(ctx: &Ctx, path: &Path, hash: &Hash) -> Error {
    Error::CorruptJournal {
        path: ctx.journal_path.to_path_buf(),
        offset: 0,
        record: None,
        reason: format!(
            "content {} for {} was staged outside the journal and is gone from {}: something removed skillwal's staging files",
            short(hash),
            path.display(),
            ctx.layout.staging.display()
        ),
    }
}

/// Copies `len` bytes of the journal at `offset` into `dest` from its start.
fn copy_from_journal(
    ctx: &Ctx,
    offset: u64,
    len: u32,
    dest: &dyn FileHandle,
    path: &Path,
) -> Result<()> {
    let mut buf = vec![0u8; STREAM_BUFFER_BYTES.min(len as usize)];
    let mut done = 0u64;
    while done < len as u64 {
        let n = buf.len().min((len as u64 - done) as usize);
        ctx.journal
            .read_exact_at(&mut buf[..n], offset + done)
            .ctx("read journal", ctx.journal_path)?;
        dest.write_all_at(&buf[..n], done).ctx("write", path)?;
        done += n as u64;
    }
    Ok(())
}

/// Makes the directory `dir` hold exactly the tree of `t` — every entry's kind, content,
/// mode and target, and the tree's own mode — rewriting inline files from the journal, and
/// makes all of it durable. Entries `t` does not have are removed when `remove_extra` (the
/// staging copy), and are an error otherwise.
fn make_tree_match(ctx: &Ctx, dir: &Path, t: &PutTree, remove_extra: bool) -> Result<()> {
    let fs = ctx.fs;
    let expected = expected(t);
    let actual: BTreeMap<Vec<u8>, TreeNode> = walk_tree(fs, dir)?.into_iter().collect();
    clear_extra_entries(fs, dir, &expected, &actual, remove_extra)?;
    // Directories and the modes they must end with; filled while their owner can write them.
    // The staged copy's own directory keeps owner access: the apply moves it, then gives it
    // its mode.
    let root_mode = if remove_extra {
        t.mode.map(|m| m | OWNER_RWX)
    } else {
        t.mode
    };
    let mut dirs: Vec<(PathBuf, Option<u32>)> = vec![(dir.to_path_buf(), root_mode)];
    make_writable(fs, dir)?;
    for e in &t.entries {
        let path = e.rel.join_to(dir);
        let found = actual.get(e.rel.as_str().as_bytes());
        let present = fits(
            &expected,
            e.rel.as_str().as_bytes(),
            found.unwrap_or(&TreeNode::Other),
        ) && fs.exists(&path).ctx("stat", &path)?;
        match e.kind {
            EntryKind::Dir => {
                if present {
                    make_writable(fs, &path)?;
                } else {
                    fs.create_dir(&path, e.mode | OWNER_RWX)
                        .ctx("create directory", &path)?;
                }
                dirs.push((path, Some(e.mode)));
            }
            EntryKind::File => make_file_match(ctx, &path, e, present.then_some(found).flatten())?,
            EntryKind::Link => {
                if !present {
                    fs.symlink(OsStr::from_bytes(&e.target), &path)
                        .ctx("create link", &path)?;
                }
            }
        }
    }
    set_modes_and_sync_dirs(fs, dirs)
}

/// Removes the entries below `dir` that the tree does not have (`remove_extra`: the staging
/// copy), or refuses the first one (the target: nothing but the engine's own entries may be
/// there).
fn clear_extra_entries(
    fs: &dyn FileSystem,
    dir: &Path,
    expected: &Expected<'_>,
    actual: &BTreeMap<Vec<u8>, TreeNode>,
    remove_extra: bool,
) -> Result<()> {
    for (rel, node) in actual {
        if !fits(expected, rel, node) {
            let path = dir.join(OsStr::from_bytes(rel));
            if !remove_extra {
                return Err(Error::Rejected {
                    op: "repair",
                    path: path.display().to_string(),
                    reason: "entry not written by the transaction".into(),
                });
            }
            // A parent removed earlier in this loop took it along already.
            remove_tree(fs, &path).ctx("remove", &path)?;
        }
    }
    Ok(())
}

/// Makes the file entry `e` at `path` hold its content and mode durably. `found` is what
/// is there when it is a file of the entry's kind (`None`: rewrite it).
fn make_file_match(ctx: &Ctx, path: &Path, e: &TreeEntry, found: Option<&TreeNode>) -> Result<()> {
    let fs = ctx.fs;
    let right = matches!(found, Some(TreeNode::File { size, hash, .. })
        if *size == e.size && *hash == e.hash);
    if !right {
        return rewrite_file(ctx, path, e.content, e.size, e.mode, &e.hash);
    }
    let mode_now = fs.metadata(path).ctx("stat", path)?.mode;
    if mode_now != e.mode {
        fs.set_mode(path, e.mode).ctx("set mode", path)?;
    }
    if mode_now != e.mode || matches!(e.content, Located::Journal { .. }) {
        let f = fs.open(path, OpenMode::Read).ctx("open", path)?;
        f.sync_all().ctx("fsync", path)?;
    }
    Ok(())
}

/// Deepest first: each directory gets its own mode once nothing more is written in it,
/// then is synced (its entries and its mode).
fn set_modes_and_sync_dirs(
    fs: &dyn FileSystem,
    mut dirs: Vec<(PathBuf, Option<u32>)>,
) -> Result<()> {
    dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    let unique: BTreeSet<PathBuf> = dirs.iter().map(|(p, _)| p.clone()).collect();
    debug_assert_eq!(unique.len(), dirs.len());
    for (d, mode) in &dirs {
        if let Some(mode) = mode
            && fs.metadata(d).ctx("stat", d)?.mode != *mode
        {
            fs.set_mode(d, *mode).ctx("set mode", d)?;
        }
        fs.sync_dir(d).ctx("fsync directory", d)?;
    }
    Ok(())
}

/// Gives the directory `dir` owner read, write and search, if it lacks any.
fn make_writable(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    let mode = fs.metadata(dir).ctx("stat", dir)?.mode;
    if mode & OWNER_RWX != OWNER_RWX {
        fs.set_mode(dir, mode | OWNER_RWX).ctx("set mode", dir)?;
    }
    Ok(())
}

/// The files and directories a checkpoint must sync to make `ops` durable: every file whose
/// bytes were written without a sync, then every directory whose entries or mode changed.
pub(crate) fn durability_set(layout: &Layout, ops: &[Op]) -> (Vec<PathBuf>, BTreeSet<PathBuf>) {
    let mut files = Vec::new();
    let mut dirs = BTreeSet::new();
    for op in ops {
        let target = layout.resolve(op.path().as_str());
        if !matches!(op, Op::SetDirMode { .. }) {
            dirs.insert(layout.parent_of(op.path()));
        }
        match op {
            Op::PutFile(p) => {
                if matches!(p.content, Located::Journal { .. }) {
                    files.push(target);
                }
            }
            // Its entries, and its own mode.
            Op::CreateDir { .. } | Op::SetDirMode { .. } => {
                dirs.insert(target);
            }
            Op::PutTree(t) => {
                for e in &t.entries {
                    let path = e.rel.join_to(&target);
                    match (e.kind, e.content) {
                        (EntryKind::Dir, _) => {
                            dirs.insert(path);
                        }
                        (EntryKind::File, Located::Journal { .. }) => files.push(path),
                        (EntryKind::File, Located::Staged) | (EntryKind::Link, _) => {}
                    }
                }
                dirs.insert(target);
            }
            Op::DeleteFile { .. }
            | Op::RemoveDir { .. }
            | Op::DeleteTree { .. }
            | Op::PutLink { .. } => {}
        }
    }
    // A directory this transaction removed has nothing left to sync.
    for op in ops {
        if matches!(
            op,
            Op::RemoveDir { .. } | Op::DeleteTree { .. } | Op::DeleteFile { .. }
        ) {
            let gone = layout.resolve(op.path().as_str());
            dirs.retain(|d| !d.starts_with(&gone));
        }
    }
    (files, dirs)
}

/// Syncs the durability set of `ops`, in no particular order (the real file system does
/// them concurrently: wal-spec.md §6.4). Any failure is final for this engine.
pub(crate) fn sync_targets(fs: &dyn FileSystem, layout: &Layout, ops: &[Op]) -> Result<()> {
    let (files, dirs) = durability_set(layout, ops);
    let dirs: Vec<PathBuf> = dirs.into_iter().collect();
    fs.sync_set(&files, &dirs)
        .map_err(|f| Error::io(f.op, &f.path, f.error))
}
