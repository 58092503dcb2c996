//! Staging a transaction and committing it (wal-spec.md §6.2).
//!
//! Staging writes only the journal and `.skillwal/staging/` (invariant E1). `commit` makes
//! the staged bytes durable, appends the commit record, syncs the journal once — the commit
//! point — and then applies the operations in order. Dropping a transaction without
//! committing aborts it.

use crate::apply::act;
use crate::engine::{Applied, Engine, Layout};
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileKind, Metadata, OpenMode};
use crate::hashing::{self, tree_hash_of};
use crate::journal::format::{
    Before, Content, EntryKind, FORMAT_VERSION, FieldChange, Hash, Header, Kind, Record,
    encode_payload,
};
use crate::journal::writer::TxnWriter;
use crate::limits::{
    DIFF_CHANGES_PER_RECORD_MAX, DIFF_VALUE_BYTES_MAX, INLINE_BYTES_PER_TXN_MAX,
    INLINE_CONTENT_MAX, LABEL_BYTES_MAX, OPS_PER_TXN_MAX, PATH_BYTES_MAX, RECORD_HEADER_BYTES,
    STREAM_BUFFER_BYTES, TREE_ENTRIES_MAX,
};
use crate::ops::{Located, Op, PutFile, PutTree, TreeEntry, staged_name, tree_nodes};
use crate::path::RelPath;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Owner read, write and search: what the engine itself needs on a directory it fills.
const OWNER_RWX: u32 = 0o700;

/// What is at `path` below `root` (`meta` is what `lstat` said of it) as a before-state: a
/// file's size, hash and permission bits; a directory's tree hash (which covers every mode
/// and link below it); a link's target. A special file is refused.
fn before_state(
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
            let (size, hash) = hashing::hash_file(fs, &abs)?;
            Before::File {
                size,
                hash,
                mode: Some(m.mode),
            }
        }
        FileKind::Dir => Before::Tree {
            hash: hashing::tree_hash(fs, &abs, FORMAT_VERSION)?,
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
fn check_target(op: &'static str, path: &RelPath, target: &[u8]) -> Result<()> {
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

/// Above this size, an old file's before-state hash is computed on a second thread while
/// the new content is staged (a thread costs ~20 µs; hashing 4 MiB a few ms).
const PARALLEL_BEFORE_HASH_MIN: u64 = INLINE_CONTENT_MAX;

/// What a successful commit did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommitReport {
    pub txn_id: u64,
    pub operations: u32,
    /// Bytes appended to the journal, commit record included.
    pub journal_bytes: u64,
}

/// A transaction being staged. Borrows the engine until it is committed or aborted.
pub struct Transaction<'e> {
    engine: &'e mut Engine,
    writer: TxnWriter,
    ops: Vec<Op>,
    inline_bytes: u64,
    /// Directories whose entries for durable staged content must be synced before commit.
    sync_before_commit: BTreeSet<PathBuf>,
    broken: Option<String>,
    /// A commit record write was attempted: an abort must then retire the salt durably,
    /// or a commit record that reached the page cache could be replayed later.
    commit_record_attempted: bool,
    finished: bool,
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
fn read_fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Appends to `buf` what `r` yields until `limit` bytes or its end, reading straight into
/// the buffer as it grows; returns how many bytes were read.
fn read_up_to(r: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    r.take(limit as u64).read_to_end(buf)
}

/// Staged content of one file.
struct Staged {
    size: u64,
    hash: Hash,
    ino: u64,
    /// The bytes, when small enough to go inline in the journal.
    inline: Option<Vec<u8>>,
}

impl Engine {
    /// Begins a transaction, first checkpointing the previous one if it is still pending.
    /// `label` (cut to 1 KiB) is stored in the journal for `journal inspect`.
    pub fn begin(&mut self, label: &str) -> Result<Transaction<'_>> {
        self.check_usable()?;
        self.checkpoint()?;
        let h = self.journal_or_create()?.header;
        // Mark the header active (unsynced: the commit's fdatasync makes it durable together
        // with the records; before that, an idle header correctly hides them).
        let active = Header {
            version: FORMAT_VERSION,
            sequence: h.sequence + 1,
            active: true,
            ..h
        };
        if let Err(e) = self.journal_mut().write_header(active) {
            let _ = self.retire_unsynced(h.next_txn_id);
            return Err(e);
        }
        let mut writer = TxnWriter::new(h.live_salt, h.next_txn_id);
        let begin = Record::Begin {
            time_unix_ms: now_unix_ms(),
            label: cut(label, LABEL_BYTES_MAX),
        };
        let payload = encode_payload(&begin, None);
        if let Err(e) = writer.append(self.journal(), Kind::Begin, &payload) {
            let _ = self.retire_unsynced(h.next_txn_id);
            return Err(e);
        }
        Ok(Transaction {
            engine: self,
            writer,
            ops: Vec::new(),
            inline_bytes: 0,
            sync_before_commit: BTreeSet::new(),
            broken: None,
            commit_record_attempted: false,
            finished: false,
        })
    }
}

impl<'e> Transaction<'e> {
    fn layout(&self) -> &Layout {
        &self.engine.layout
    }

    fn staging(&self) -> &Path {
        &self.engine.layout.staging
    }

    fn lstat(&self, path: &Path) -> Result<Option<Metadata>> {
        match self.engine.fs.metadata(path) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("stat", path, e)),
        }
    }

    fn reject(op: &'static str, path: &RelPath, reason: impl Into<String>) -> Error {
        Error::Rejected {
            op,
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    /// Marks the transaction unusable after a failure that may have left something staged
    /// (a partial file, a directory): only abort is left. Validation errors, which happen
    /// before anything is written, leave it usable.
    fn broken_by<T>(&mut self, r: Result<T>) -> Result<T> {
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

    fn check_room(&self) -> Result<()> {
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
    fn check_place(&self, op: &'static str, path: &RelPath) -> Result<()> {
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

    /// Refuses, before anything is staged, what this process could not do after the commit
    /// point, where a failure leaves the change half applied until someone fixes the
    /// permissions: change the entries of the directory `dir`, or move it (a rename of a
    /// directory rewrites its `..`). Root may do both.
    fn check_writable(&self, op: &'static str, path: &RelPath, dir: &Path) -> Result<()> {
        let may = self
            .engine
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
    fn current(&self, path: &RelPath) -> Result<Option<Metadata>> {
        let below_created = self
            .ops
            .iter()
            .any(|o| matches!(o, Op::CreateDir { .. }) && path.is_within(o.path()));
        if below_created {
            return Ok(None);
        }
        self.lstat(&self.layout().resolve(path.as_str()))
    }

    /// Appends a record; returns where its inline bytes (the last field of put-file and
    /// tree-entry payloads, when present) are in the journal.
    fn append(&mut self, rec: &Record, inline: Option<&[u8]>) -> Result<Located> {
        let payload = encode_payload(rec, inline);
        let offset = self
            .writer
            .append(self.engine.journal(), rec.kind(), &payload)?;
        Ok(match inline {
            Some(b) => Located::Journal {
                offset: offset + RECORD_HEADER_BYTES + (payload.len() - b.len()) as u64,
                len: b.len() as u32,
            },
            None => Located::Staged,
        })
    }

    /// Streams `content` into a new file at `dest`. Up to `INLINE_CONTENT_MAX` (while the
    /// transaction's inline budget lasts) it is kept for the journal; larger content is synced, and its
    /// directories up to the staging directory are noted for a sync before commit.
    fn stage_content(
        &mut self,
        dest: &Path,
        content: &mut dyn Read,
        mode: u32,
        target: &RelPath,
    ) -> Result<Staged> {
        let fs = self.engine.fs.clone();
        let file = fs
            .open(dest, OpenMode::CreateNew { mode })
            .ctx("create", dest)?;
        let ino = file.metadata().ctx("stat", dest)?.ino;
        let read_err = |e: io::Error| Error::Io {
            op: "read new content for",
            path: PathBuf::from(target.as_str()),
            source: e,
        };
        // Read up to one byte past the inline limit, into a buffer that grows with what the
        // reader yields (not one of the limit's size: most contents are a few KiB).
        let mut buf = Vec::with_capacity(STREAM_BUFFER_BYTES);
        let n = read_up_to(content, &mut buf, INLINE_CONTENT_MAX as usize + 1).map_err(read_err)?;
        let room = INLINE_BYTES_PER_TXN_MAX - self.inline_bytes;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&buf[..n]);
        file.write_all_at(&buf[..n], 0).ctx("write", dest)?;
        if n as u64 <= INLINE_CONTENT_MAX && n as u64 <= room {
            buf.truncate(n);
            self.inline_bytes += n as u64;
            return Ok(Staged {
                size: n as u64,
                hash: *hasher.finalize().as_bytes(),
                ino,
                inline: Some(buf),
            });
        }
        let mut size = n as u64;
        buf.clear();
        buf.resize(STREAM_BUFFER_BYTES, 0);
        buf.shrink_to(STREAM_BUFFER_BYTES);
        loop {
            let k = read_fill(content, &mut buf).map_err(read_err)?;
            if k == 0 {
                break;
            }
            hasher.update(&buf[..k]);
            file.write_all_at(&buf[..k], size).ctx("write", dest)?;
            size += k as u64;
        }
        // fsync, not fdatasync: the file's permission bits are part of what it must hold.
        if let Err(e) = file.sync_all().ctx("fsync", dest) {
            self.engine.poison(&e);
            return Err(e);
        }
        let staging = self.staging().to_path_buf();
        let mut dir = dest.parent();
        while let Some(d) = dir {
            self.sync_before_commit.insert(d.to_path_buf());
            if d == staging {
                break;
            }
            dir = d.parent();
        }
        Ok(Staged {
            size,
            hash: *hasher.finalize().as_bytes(),
            ino,
            inline: None,
        })
    }

    /// What is at `path` now (`meta`, as [`Transaction::current`] found it), as a
    /// before-state; see [`before_state`].
    fn before_of(
        &self,
        op: &'static str,
        path: &RelPath,
        meta: Option<Metadata>,
    ) -> Result<Before> {
        if meta.is_some_and(|m| m.kind == FileKind::Dir) {
            // Replaced or deleted: moved out of its parent (into the staging area).
            self.check_writable(op, path, &self.layout().resolve(path.as_str()))?;
        }
        before_state(self.engine.fs.as_ref(), self.layout(), op, path, meta)
    }

    /// Stages writing `content` to the file `path` (created, or replacing whatever is there:
    /// a file, a directory or a link, atomically; its parent must exist or be created by this
    /// transaction), with exactly the permission bits `mode`.
    pub fn put_file(&mut self, path: &str, content: &mut dyn Read, mode: u32) -> Result<()> {
        let r = self.put_file_inner(path, content, mode);
        self.broken_by(r)
    }

    fn put_file_inner(&mut self, path: &str, content: &mut dyn Read, mode: u32) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("put-file", &path)?;
        let mode = mode & 0o7777;
        let current = self.current(&path)?;
        let op = self.ops.len() as u32;
        let dest = self.staging().join(staged_name(self.writer.salt, op));
        let (before, staged) = match current {
            // A large old file is hashed (for its before-state) on a second thread while
            // the new content is staged: the two read and write different files, and
            // hashing only reads, so the order of mutating calls is unchanged.
            Some(m) if m.kind == FileKind::File && m.len > PARALLEL_BEFORE_HASH_MIN => {
                let (fs, layout) = (self.engine.fs.clone(), self.layout().clone());
                let (before, staged) = std::thread::scope(|s| {
                    let hashing =
                        s.spawn(|| before_state(fs.as_ref(), &layout, "put-file", &path, current));
                    let staged = self.stage_content(&dest, content, mode, &path);
                    let before = hashing.join().expect("hashing does not panic");
                    (before, staged)
                });
                (before?, staged?)
            }
            _ => {
                let before = self.before_of("put-file", &path, current)?;
                (before, self.stage_content(&dest, content, mode, &path)?)
            }
        };
        let rec = Record::PutFile {
            op,
            path: path.to_string(),
            mode,
            before: before.clone(),
            size: staged.size,
            hash: staged.hash,
            staged_ino: staged.ino,
            content: match &staged.inline {
                Some(b) => Content::Inline {
                    at: 0,
                    len: b.len() as u32,
                },
                None => Content::Staged,
            },
        };
        let content = self.append(&rec, staged.inline.as_deref())?;
        self.ops.push(Op::PutFile(PutFile {
            path,
            mode,
            before,
            size: staged.size,
            hash: staged.hash,
            staged_ino: staged.ino,
            content,
        }));
        Ok(())
    }

    /// [`Transaction::put_file`] from a byte slice.
    pub fn put_bytes(&mut self, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let mut r = bytes;
        self.put_file(path, &mut r, mode)
    }

    /// Stages making `path` a symbolic link to `target` (created, or replacing whatever is
    /// there, atomically). The target is never followed or checked: it is bytes.
    pub fn put_link(&mut self, path: &str, target: &[u8]) -> Result<()> {
        let r = self.put_link_inner(path, target);
        self.broken_by(r)
    }

    fn put_link_inner(&mut self, path: &str, target: &[u8]) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("put-link", &path)?;
        check_target("put-link", &path, target)?;
        let current = self.current(&path)?;
        let before = self.before_of("put-link", &path, current)?;
        let op = self.ops.len() as u32;
        let dest = self.staging().join(staged_name(self.writer.salt, op));
        self.engine
            .fs
            .symlink(OsStr::from_bytes(target), &dest)
            .ctx("create link", &dest)?;
        self.append(
            &Record::PutLink {
                op,
                path: path.to_string(),
                before: before.clone(),
                target: target.to_vec(),
            },
            None,
        )?;
        self.ops.push(Op::PutLink {
            path,
            before,
            target: target.to_vec(),
        });
        Ok(())
    }

    /// Stages deleting the regular file or symbolic link `path`.
    pub fn delete_file(&mut self, path: &str) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("delete-file", &path)?;
        let before = match self.current(&path)? {
            Some(m) if matches!(m.kind, FileKind::File | FileKind::Symlink) => {
                self.before_of("delete-file", &path, Some(m))?
            }
            Some(_) => {
                return Err(Self::reject(
                    "delete-file",
                    &path,
                    "not a regular file or a link",
                ));
            }
            None => return Err(Self::reject("delete-file", &path, "does not exist")),
        };
        let op = self.ops.len() as u32;
        self.append(
            &Record::DeleteFile {
                op,
                path: path.to_string(),
                before: before.clone(),
            },
            None,
        )?;
        self.ops.push(Op::DeleteFile { path, before });
        Ok(())
    }

    /// Stages creating the directory `path`, which must not exist, with exactly the
    /// permission bits `mode`. The mode must let its owner read, write and search it (later
    /// operations of the transaction may put things inside; [`Transaction::set_dir_mode`]
    /// of an existing directory, or a tree's own mode, can give any other).
    pub fn create_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        let r = self.create_dir_inner(path, mode);
        self.broken_by(r)
    }

    fn create_dir_inner(&mut self, path: &str, mode: u32) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("create-dir", &path)?;
        let mode = mode & 0o7777;
        if mode & OWNER_RWX != OWNER_RWX {
            return Err(Self::reject(
                "create-dir",
                &path,
                format!("mode {mode:o} does not let its owner fill it"),
            ));
        }
        if self.current(&path)?.is_some() {
            return Err(Self::reject("create-dir", &path, "already exists"));
        }
        let op = self.ops.len() as u32;
        // Staged and renamed into place, so that the directory appears with its mode in one
        // step (a `mkdir` in place could leave the umask's mode behind in a crash).
        let dest = self.staging().join(staged_name(self.writer.salt, op));
        let fs = self.engine.fs.clone();
        fs.create_dir(&dest, mode).ctx("create directory", &dest)?;
        let staged_ino = fs.metadata(&dest).ctx("stat", &dest)?.ino;
        self.append(
            &Record::CreateDir {
                op,
                path: path.to_string(),
                mode,
                staged_ino: Some(staged_ino),
            },
            None,
        )?;
        self.ops.push(Op::CreateDir {
            path,
            mode,
            staged_ino: Some(staged_ino),
        });
        Ok(())
    }

    /// Stages setting the permission bits of the existing directory `path` to `mode`, and
    /// nothing else. It is applied after every earlier operation of the transaction, so
    /// stage it after the changes inside the directory (none may follow it: a mode such as
    /// 0555 would forbid them).
    pub fn set_dir_mode(&mut self, path: &str, mode: u32) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("set-dir-mode", &path)?;
        let before_mode = match self.current(&path)? {
            Some(m) if m.kind == FileKind::Dir => m.mode,
            Some(_) => return Err(Self::reject("set-dir-mode", &path, "not a directory")),
            None => return Err(Self::reject("set-dir-mode", &path, "does not exist")),
        };
        let mode = mode & 0o7777;
        let op = self.ops.len() as u32;
        self.append(
            &Record::SetDirMode {
                op,
                path: path.to_string(),
                before_mode,
                mode,
            },
            None,
        )?;
        self.ops.push(Op::SetDirMode {
            path,
            before_mode,
            mode,
        });
        Ok(())
    }

    /// Stages removing the directory `path`, which must be empty once this transaction's
    /// earlier deletions are done.
    pub fn remove_dir(&mut self, path: &str) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("remove-dir", &path)?;
        let target = self.layout().resolve(path.as_str());
        match self.current(&path)? {
            Some(m) if m.kind == FileKind::Dir => {}
            Some(_) => return Err(Self::reject("remove-dir", &path, "not a directory")),
            None => return Err(Self::reject("remove-dir", &path, "does not exist")),
        }
        for e in self
            .engine
            .fs
            .read_dir(&target)
            .ctx("read directory", &target)?
        {
            let child = target.join(&e.name);
            let removed = self.ops.iter().any(|o| {
                matches!(
                    o,
                    Op::DeleteFile { .. } | Op::DeleteTree { .. } | Op::RemoveDir { .. }
                ) && self.layout().resolve(o.path().as_str()) == child
            });
            if !removed {
                return Err(Self::reject(
                    "remove-dir",
                    &path,
                    format!("not empty ({} remains)", e.name.to_string_lossy()),
                ));
            }
        }
        let op = self.ops.len() as u32;
        self.append(
            &Record::RemoveDir {
                op,
                path: path.to_string(),
            },
            None,
        )?;
        self.ops.push(Op::RemoveDir { path });
        Ok(())
    }

    /// Stages deleting the directory `path` and everything below it.
    pub fn delete_tree(&mut self, path: &str) -> Result<()> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("delete-tree", &path)?;
        let before = match self.current(&path)? {
            Some(m) if m.kind == FileKind::Dir => self.before_of("delete-tree", &path, Some(m))?,
            Some(_) => return Err(Self::reject("delete-tree", &path, "not a directory")),
            None => return Err(Self::reject("delete-tree", &path, "does not exist")),
        };
        let op = self.ops.len() as u32;
        self.append(
            &Record::DeleteTree {
                op,
                path: path.to_string(),
                before: before.clone(),
            },
            None,
        )?;
        self.ops.push(Op::DeleteTree { path, before });
        Ok(())
    }

    /// Starts staging a directory tree with permission bits `mode` that will be installed at
    /// `path` (or replace whatever is there — a directory, a file or a link — atomically).
    /// Add its entries to the returned [`TreeStager`], then call [`TreeStager::finish`].
    pub fn put_tree(&mut self, path: &str, mode: u32) -> Result<TreeStager<'_, 'e>> {
        let prepared = self.prepare_tree(path, mode & 0o7777);
        let p = self.broken_by(prepared)?;
        Ok(TreeStager {
            txn: self,
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
        })
    }

    /// Checks the target, records its before-state and creates the staged tree's root.
    fn prepare_tree(&mut self, path: &str, mode: u32) -> Result<PreparedTree> {
        self.check_room()?;
        let path = RelPath::new(path)?;
        self.check_place("put-tree", &path)?;
        let current = self.current(&path)?;
        let before = self.before_of("put-tree", &path, current)?;
        let op = self.ops.len() as u32;
        let staged = self.staging().join(staged_name(self.writer.salt, op));
        let fs = self.engine.fs.clone();
        fs.create_dir(&staged, mode | OWNER_RWX)
            .ctx("create directory", &staged)?;
        let staged_ino = fs.metadata(&staged).ctx("stat", &staged)?.ino;
        Ok(PreparedTree {
            op,
            path,
            mode,
            before,
            staged,
            staged_ino,
        })
    }
    /// Records field-level changes to the manifest (`manifest = true`) or the lock, for
    /// `journal inspect`. Values longer than 512 bytes are cut.
    pub fn record_diff(
        &mut self,
        manifest: bool,
        document: &str,
        changes: &[FieldChange],
    ) -> Result<()> {
        for chunk in changes.chunks(DIFF_CHANGES_PER_RECORD_MAX) {
            let changes = chunk
                .iter()
                .map(|c| FieldChange {
                    item: cut(&c.item, 255),
                    field: cut(&c.field, 255),
                    before: c.before.as_deref().map(|v| cut(v, DIFF_VALUE_BYTES_MAX)),
                    after: c.after.as_deref().map(|v| cut(v, DIFF_VALUE_BYTES_MAX)),
                })
                .collect();
            let rec = Record::Diff {
                manifest,
                document: cut(document, 255),
                changes,
            };
            self.append(&rec, None)?;
        }
        Ok(())
    }

    /// Commits: makes the staged content durable, appends the commit record and syncs the
    /// journal (the commit point), then applies every operation in order. The changes are
    /// in place when this returns; making them durable is the checkpoint's work
    /// ([`Engine::checkpoint`], or the next [`Engine::begin`] or open).
    ///
    /// An error before the commit point aborts the transaction: nothing outside the engine's
    /// directory changed. An error at or after it is [`Error::CommitUncertain`]: the change
    /// may have been applied, and the next open completes it or rolls it back; this engine
    /// is then unusable.
    pub fn commit(mut self) -> Result<CommitReport> {
        self.commit_inner()
    }

    /// [`Transaction::commit`], then [`Engine::checkpoint`]: on `Ok` every change is durable
    /// in its place and the journal is retired.
    ///
    /// A checkpoint failure is reported as [`Error::CommitUncertain`] too: the change is
    /// committed and applied, and the next open makes it durable.
    pub fn commit_durable(mut self) -> Result<CommitReport> {
        let report = self.commit_inner()?;
        if let Err(e) = self.engine.checkpoint() {
            return Err(Error::CommitUncertain {
                root: self.engine.layout.root.clone(),
                cause: Box::new(e),
            });
        }
        Ok(report)
    }

    fn commit_inner(&mut self) -> Result<CommitReport> {
        if let Err(e) = self.pre_commit() {
            let _ = self.abort_inner();
            return Err(e);
        }
        let salt = self.writer.salt;
        let root = self.engine.layout.root.clone();
        self.finished = true;
        if let Err(e) = self.engine.journal().sync() {
            // Promise 6: never retried; whether the commit record reached the disk is unknown.
            self.engine.poison(&e);
            return Err(Error::CommitUncertain {
                root,
                cause: Box::new(e),
            });
        }
        // ---- commit point: from here on the transaction happens, at the latest on redo ----
        let ops = std::mem::take(&mut self.ops);
        let applied = {
            let ctx = self.engine.ctx(salt, FORMAT_VERSION);
            ops.iter()
                .enumerate()
                .try_for_each(|(i, op)| act(&ctx, i as u32, op))
        };
        if let Err(e) = applied {
            self.engine.poison(&e);
            return Err(Error::CommitUncertain {
                root,
                cause: Box::new(e),
            });
        }
        let report = CommitReport {
            txn_id: self.writer.txn_id,
            operations: ops.len() as u32,
            journal_bytes: self.writer.next_offset - crate::journal::format::RECORDS_OFFSET,
        };
        self.engine.applied = Some(Applied { ops });
        Ok(report)
    }

    fn pre_commit(&mut self) -> Result<()> {
        if let Some(b) = &self.broken {
            return Err(Error::Rejected {
                op: "commit",
                path: String::new(),
                reason: b.clone(),
            });
        }
        let dirs: Vec<PathBuf> = self.sync_before_commit.iter().rev().cloned().collect();
        for d in dirs {
            if let Err(e) = self.engine.fs.sync_dir(&d).ctx("fsync directory", &d) {
                self.engine.poison(&e);
                return Err(e);
            }
        }
        let commit = Record::Commit {
            record_count: self.writer.next_index,
            op_count: self.ops.len() as u32,
            digest: self.writer.digest(),
        };
        self.commit_record_attempted = true;
        self.append(&commit, None)?;
        Ok(())
    }

    /// Abandons the transaction: removes what was staged and retires its records. Nothing
    /// outside the engine's directory was changed.
    pub fn abort(mut self) -> Result<()> {
        self.abort_inner()
    }

    fn abort_inner(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let cleared =
            crate::recovery::clear_staging(self.engine.fs.as_ref(), &self.engine.layout.staging);
        let retired = if self.commit_record_attempted {
            self.engine.retire(self.writer.txn_id)
        } else {
            self.engine.retire_unsynced(self.writer.txn_id)
        };
        cleared.and(retired)
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // No sync here: an abort needs none (the records have no commit record).
        let _ = self.abort_inner();
    }
}

/// What [`Transaction::put_tree`] prepared before handing out its stager.
struct PreparedTree {
    op: u32,
    path: RelPath,
    mode: u32,
    before: Before,
    staged: PathBuf,
    staged_ino: u64,
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

impl TreeStager<'_, '_> {
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
            .engine
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
            .engine
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
        let fs = self.txn.engine.fs.clone();
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
