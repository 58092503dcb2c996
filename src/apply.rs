//! Applying committed operations: one code path for the commit and for recovery's redo.
//!
//! Every operation has a *classification* of its target (wal-spec.md §7.2): `Done` (the
//! target holds the after-state), `NotApplied` (it holds the before-state), `Damaged` (it is
//! the engine's own staged inode whose unsynced writes were lost in a crash) or a conflict
//! (a state the transaction cannot explain, which is reported and never overwritten).
//! The commit applies each operation with [`act`] right after the commit point; recovery
//! classifies every operation first and then [`redo`]es them, making what it rewrites durable
//! before it renames it into place.

use crate::error::{Error, IoContext, Result};
use crate::fs::{FileHandle, FileKind, FileSystem, OpenMode, remove_tree};
use crate::hashing::{self, TreeNode, tree_hash_of, walk_tree};
use crate::journal::format::{Before, EntryKind, Hash, hex};
use crate::limits::STREAM_BUFFER_BYTES;
use crate::ops::{Located, Op, PutFile, PutTree, staged_name, trash_name};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What one transaction's application needs to reach.
pub(crate) struct Ctx<'a> {
    pub fs: &'a dyn FileSystem,
    pub root: &'a Path,
    pub staging: &'a Path,
    pub journal: &'a dyn FileHandle,
    pub journal_path: &'a Path,
    pub salt: u64,
}

impl Ctx<'_> {
    fn target(&self, op: &Op) -> PathBuf {
        op.path().join_to(self.root)
    }
    fn staged(&self, index: u32) -> PathBuf {
        self.staging.join(staged_name(self.salt, index))
    }
    fn trash(&self, index: u32) -> PathBuf {
        self.staging.join(trash_name(self.salt, index))
    }
}

/// The state of an operation's target (wal-spec.md §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Done,
    NotApplied,
    Damaged,
    Conflict(String),
}

fn short(h: &Hash) -> String {
    hex(&h[..6])
}

fn lstat(fs: &dyn FileSystem, path: &Path) -> Result<Option<crate::fs::Metadata>> {
    match fs.metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("stat", path, e)),
    }
}

fn kind_name(k: FileKind) -> &'static str {
    match k {
        FileKind::File => "a file",
        FileKind::Dir => "a directory",
        FileKind::Symlink => "a symbolic link",
        FileKind::Other => "a special file",
    }
}

/// Applies `op` to a tree whose target is in the before-state and whose staged content is
/// in place. Does not sync anything.
pub(crate) fn act(ctx: &Ctx, index: u32, op: &Op) -> Result<()> {
    let fs = ctx.fs;
    let target = ctx.target(op);
    match op {
        Op::PutFile(p) => {
            let staged = ctx.staged(index);
            if p.before == Before::Absent {
                fs.rename_noreplace(&staged, &target).ctx("rename", &target)
            } else {
                // An exchange, not a rename over the target: as atomic, but ext4 forces the
                // writeback of a file renamed over another (auto_da_alloc), which would put
                // a flush of every replaced file into the commit. The old file is left at
                // the staged name, and the checkpoint's clearing of staging removes it.
                fs.exchange(&staged, &target).ctx("exchange", &target)
            }
        }
        Op::DeleteFile { .. } => fs.remove_file(&target).ctx("remove", &target),
        Op::CreateDir { mode, .. } => fs
            .create_dir(&target, *mode)
            .ctx("create directory", &target),
        Op::RemoveDir { .. } => fs.remove_dir(&target).ctx("remove directory", &target),
        Op::PutTree(t) => {
            let staged = ctx.staged(index);
            if t.before == Before::Absent {
                fs.rename_noreplace(&staged, &target).ctx("rename", &target)
            } else {
                // Never "old away, then new in": readers see the old tree or the new one.
                fs.exchange(&staged, &target).ctx("exchange", &target)
            }
        }
        Op::DeleteTree { .. } => {
            let trash = ctx.trash(index);
            remove_tree(fs, &trash).ctx("remove", &trash)?;
            fs.rename_noreplace(&target, &trash).ctx("rename", &target)
        }
    }
}

/// Classifies `op`'s target. Reads only.
pub(crate) fn classify(ctx: &Ctx, op: &Op) -> Result<Status> {
    let fs = ctx.fs;
    let target = ctx.target(op);
    let meta = lstat(fs, &target)?;
    let conflict = |what: String| Ok(Status::Conflict(format!("{}: {what}", op.path())));
    match op {
        Op::PutFile(p) => {
            let Some(m) = meta else {
                return match p.before {
                    Before::Absent => Ok(Status::NotApplied),
                    _ => conflict("missing; the transaction found a file there".into()),
                };
            };
            if m.kind != FileKind::File {
                return conflict(format!(
                    "is {}, the transaction writes a file",
                    kind_name(m.kind)
                ));
            }
            let before_size = match p.before {
                Before::File { size, .. } => Some(size),
                _ => None,
            };
            // Hash only when the size could match, and at most once.
            let found = if m.len == p.size || Some(m.len) == before_size {
                Some(hashing::hash_file(fs, &target)?.1)
            } else {
                None
            };
            if m.len == p.size && found == Some(p.hash) {
                return Ok(Status::Done);
            }
            if m.ino == p.staged_ino {
                return Ok(Status::Damaged);
            }
            if let Before::File { size, hash } = p.before
                && m.len == size
                && found == Some(hash)
            {
                return Ok(Status::NotApplied);
            }
            conflict(format!(
                "holds neither the content before nor after the transaction ({} bytes)",
                m.len
            ))
        }
        Op::DeleteFile { before, .. } => match meta {
            None => Ok(Status::Done),
            Some(m) if m.kind == FileKind::File => {
                let (size, hash) = hashing::hash_file(fs, &target)?;
                match before {
                    Before::File { size: s, hash: h } if *s == size && *h == hash => {
                        Ok(Status::NotApplied)
                    }
                    _ => conflict(format!("changed since (hash {})", short(&hash))),
                }
            }
            Some(m) => conflict(format!(
                "is {}, the transaction deletes a file",
                kind_name(m.kind)
            )),
        },
        Op::CreateDir { .. } => match meta {
            None => Ok(Status::NotApplied),
            Some(m) if m.kind == FileKind::Dir => Ok(Status::Done),
            Some(m) => conflict(format!(
                "is {}, the transaction creates a directory",
                kind_name(m.kind)
            )),
        },
        Op::RemoveDir { .. } => match meta {
            None => Ok(Status::Done),
            Some(m) if m.kind == FileKind::Dir => {
                let entries = fs.read_dir(&target).ctx("read directory", &target)?;
                if entries.is_empty() {
                    Ok(Status::NotApplied)
                } else {
                    conflict(format!("directory has {} entries", entries.len()))
                }
            }
            Some(m) => conflict(format!(
                "is {}, the transaction removes a directory",
                kind_name(m.kind)
            )),
        },
        Op::PutTree(t) => classify_tree(ctx, t, &target, meta),
        Op::DeleteTree { before, .. } => match meta {
            None => Ok(Status::Done),
            Some(m) if m.kind == FileKind::Dir => {
                let found = hashing::tree_hash(fs, &target)?;
                match before {
                    Before::Tree { hash } if *hash == found => Ok(Status::NotApplied),
                    _ => conflict(format!("changed since (tree hash {})", short(&found))),
                }
            }
            Some(m) => conflict(format!(
                "is {}, the transaction deletes a directory",
                kind_name(m.kind)
            )),
        },
    }
}

fn expected_nodes(t: &PutTree) -> Expected {
    t.entries
        .iter()
        .map(|e| (e.rel.as_str().as_bytes().to_vec(), (e.kind, e.hash, e.size)))
        .collect()
}

type Expected = BTreeMap<Vec<u8>, (EntryKind, Hash, u64)>;

/// Whether `node` found at `rel` is an entry of the transaction's tree, of the same kind.
fn fits(expected: &Expected, rel: &[u8], node: &TreeNode) -> bool {
    matches!(
        (expected.get(rel), node),
        (Some((EntryKind::File, ..)), TreeNode::File { .. })
            | (Some((EntryKind::Dir, ..)), TreeNode::Dir)
    )
}

fn classify_tree(
    ctx: &Ctx,
    t: &PutTree,
    target: &Path,
    meta: Option<crate::fs::Metadata>,
) -> Result<Status> {
    let conflict = |what: String| Ok(Status::Conflict(format!("{}: {what}", t.path)));
    let Some(m) = meta else {
        return match t.before {
            Before::Absent => Ok(Status::NotApplied),
            _ => conflict("missing; the transaction found a directory there".into()),
        };
    };
    if m.kind != FileKind::Dir {
        return conflict(format!(
            "is {}, the transaction writes a directory",
            kind_name(m.kind)
        ));
    }
    let nodes = walk_tree(ctx.fs, target)?;
    let found = tree_hash_of(nodes.clone());
    if found == t.after_hash {
        return Ok(Status::Done);
    }
    if m.ino == t.staged_ino {
        // The engine's own tree: only its own entries may be there, with any content.
        let expected = expected_nodes(t);
        for (rel, node) in &nodes {
            if !fits(&expected, rel, node) {
                return conflict(format!(
                    "{} was added or changed in kind after the transaction",
                    String::from_utf8_lossy(rel)
                ));
            }
        }
        return Ok(Status::Damaged);
    }
    match t.before {
        Before::Tree { hash } if hash == found => Ok(Status::NotApplied),
        _ => conflict(format!(
            "holds neither the tree before nor after the transaction (tree hash {})",
            short(&found)
        )),
    }
}

/// Brings `op` from `status` to done, durably for anything it rewrites.
pub(crate) fn redo(ctx: &Ctx, index: u32, op: &Op, status: &Status) -> Result<()> {
    match (status, op) {
        (Status::Done, _) => Ok(()),
        (Status::Conflict(c), _) => unreachable!("redo of a conflict: {c}"),
        (Status::Damaged, Op::PutFile(p)) => {
            rewrite_file(ctx, &ctx.target(op), p.content, p.size, p.mode, &p.hash)
        }
        (Status::Damaged, Op::PutTree(t)) => make_tree_match(ctx, &ctx.target(op), t, false),
        (Status::Damaged, _) => unreachable!("only puts are classified damaged"),
        (Status::NotApplied, Op::PutFile(p)) => {
            restage_file(ctx, index, p)?;
            act(ctx, index, op)
        }
        (Status::NotApplied, Op::PutTree(t)) => {
            let staged = ctx.staged(index);
            if lstat(ctx.fs, &staged)?.is_none_or(|m| m.kind != FileKind::Dir) {
                remove_tree(ctx.fs, &staged).ctx("remove", &staged)?;
                ctx.fs
                    .create_dir(&staged, 0o755)
                    .ctx("create directory", &staged)?;
            }
            make_tree_match(ctx, &staged, t, true)?;
            act(ctx, index, op)
        }
        (Status::NotApplied, _) => act(ctx, index, op),
    }
}

/// Makes the staged file of `p` hold its content durably (recreating inline content from the
/// journal if the crash lost it).
fn restage_file(ctx: &Ctx, index: u32, p: &PutFile) -> Result<()> {
    let staged = ctx.staged(index);
    if let Some(m) = lstat(ctx.fs, &staged)?
        && m.kind == FileKind::File
        && m.len == p.size
        && hashing::hash_file(ctx.fs, &staged)?.1 == p.hash
    {
        let f = ctx.fs.open(&staged, OpenMode::Read).ctx("open", &staged)?;
        return f.sync_data().ctx("fsync", &staged);
    }
    remove_tree(ctx.fs, &staged).ctx("remove", &staged)?;
    rewrite_file(ctx, &staged, p.content, p.size, p.mode, &p.hash)
}

/// Writes `content` into `path` (created if missing, else truncated and rewritten in place,
/// keeping its inode) and syncs it.
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
    let file = match ctx.fs.open(path, OpenMode::ReadWrite) {
        Ok(f) => {
            f.set_len(0).ctx("truncate", path)?;
            f
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => ctx
            .fs
            .open(path, OpenMode::CreateNew { mode })
            .ctx("create", path)?,
        Err(e) => return Err(Error::io("open", path, e)),
    };
    copy_from_journal(ctx, offset, len, file.as_ref(), path)?;
    file.sync_data().ctx("fsync", path)
}

fn staged_missing(ctx: &Ctx, path: &Path, hash: &Hash) -> Error {
    Error::CorruptJournal {
        path: ctx.journal_path.to_path_buf(),
        offset: 0,
        record: None,
        reason: format!(
            "content {} for {} was staged outside the journal and is gone from {}",
            short(hash),
            path.display(),
            ctx.staging.display()
        ),
        advice: "Something removed skillwal's staging files; `skillwal journal inspect` shows the transaction".into(),
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

/// Makes the directory `dir` hold exactly the tree of `t`, rewriting inline files from the
/// journal, and makes all of it durable. Entries `t` does not have are removed when
/// `remove_extra` (the staging copy), and are an error otherwise.
fn make_tree_match(ctx: &Ctx, dir: &Path, t: &PutTree, remove_extra: bool) -> Result<()> {
    let fs = ctx.fs;
    let expected = expected_nodes(t);
    let actual: BTreeMap<Vec<u8>, TreeNode> = walk_tree(fs, dir)?.into_iter().collect();
    for (rel, node) in &actual {
        if !fits(&expected, rel, node) {
            let path = dir.join(std::ffi::OsStr::from_bytes(rel));
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
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    dirs.insert(dir.to_path_buf());
    for e in &t.entries {
        let path = e.rel.join_to(dir);
        let present = fs.exists(&path).ctx("stat", &path)?;
        match e.kind {
            EntryKind::Dir => {
                if !present {
                    fs.create_dir(&path, e.mode)
                        .ctx("create directory", &path)?;
                }
                dirs.insert(path);
            }
            EntryKind::File => {
                let right = present
                    && matches!(actual.get(e.rel.as_str().as_bytes()),
                        Some(TreeNode::File { size, hash }) if *size == e.size && *hash == e.hash);
                if !right {
                    rewrite_file(ctx, &path, e.content, e.size, e.mode, &e.hash)?;
                } else if matches!(e.content, Located::Journal { .. }) {
                    let f = fs.open(&path, OpenMode::Read).ctx("open", &path)?;
                    f.sync_data().ctx("fsync", &path)?;
                }
            }
        }
    }
    for d in dirs.iter().rev() {
        fs.sync_dir(d).ctx("fsync directory", d)?;
    }
    Ok(())
}

/// The files and directories a checkpoint must sync to make `ops` durable: every file whose
/// bytes were written without a sync, then every directory whose entries changed.
pub(crate) fn durability_set(root: &Path, ops: &[Op]) -> (Vec<PathBuf>, BTreeSet<PathBuf>) {
    let mut files = Vec::new();
    let mut dirs = BTreeSet::new();
    let parent = |p: &crate::path::RelPath| match p.parent() {
        Some(par) => par.join_to(root),
        None => root.to_path_buf(),
    };
    for op in ops {
        let target = op.path().join_to(root);
        dirs.insert(parent(op.path()));
        match op {
            Op::PutFile(p) => {
                if matches!(p.content, Located::Journal { .. }) {
                    files.push(target);
                }
            }
            Op::CreateDir { .. } => {
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
                        (EntryKind::File, Located::Staged) => {}
                    }
                }
                dirs.insert(target);
            }
            Op::DeleteFile { .. } | Op::RemoveDir { .. } | Op::DeleteTree { .. } => {}
        }
    }
    // A directory this transaction removed has nothing left to sync.
    for op in ops {
        if matches!(
            op,
            Op::RemoveDir { .. } | Op::DeleteTree { .. } | Op::DeleteFile { .. }
        ) {
            let gone = op.path().join_to(root);
            dirs.retain(|d| !d.starts_with(&gone));
        }
    }
    (files, dirs)
}

/// Syncs the durability set of `ops`, in no particular order (the real file system does
/// them concurrently: wal-spec.md §6.4). Any failure is final for this engine.
pub(crate) fn sync_targets(fs: &dyn FileSystem, root: &Path, ops: &[Op]) -> Result<()> {
    let (files, dirs) = durability_set(root, ops);
    let dirs: Vec<PathBuf> = dirs.into_iter().collect();
    fs.sync_set(&files, &dirs)
        .map_err(|f| Error::io(f.op, &f.path, f.error))
}
