//! The file-system layer: the only way skillwal reaches the disk.
//!
//! Everything the engine does to storage goes through [`FileSystem`] and [`FileHandle`], so
//! tests can put a simulated file system ([`sim::SimFs`]) or a fault injector
//! ([`fault::FaultFs`]) underneath it. This module knows nothing of journals.
//!
//! # The rule
//!
//! Every read and write of a collection, of skillwal's state beside it, and of the home
//! directory (`config.toml`, `collections/`) goes through the `FileSystem` the caller was
//! given, so the crash hook, the fault injector and the simulator see all of it
//! ([`create_dir_all_durably`] and [`write_atomically`] are the home directory's writes).
//! What lies outside all of those is read through a `FileSystem` too, never with `std::fs`:
//! a local source being added through the one the caller passes (the CLI's own, so the
//! fault injector sees those reads; [`real::RealFs`] by default); a git checkout, which
//! `git` itself makes in a temporary directory, through `RealFs`; a SkillMeat snapshot
//! tarball through the home directory's, extracted into a scratch directory through the
//! collection's. Where a reader must follow links (a link to a file in a source counts as
//! that file), [`resolve`] follows them one component at a time through the same trait.
//! The CLI looks at the paths it is given (does it exist, what is near it, its canonical form)
//! through the same trait. The only writes outside it: `git`'s own; making and removing the
//! scratch directories (`tempfile`) that git's checkout and a SkillMeat snapshot's extraction
//! go into; and the demo's sample sources (`src/cli/demo.rs`), which play the user's files.
//!
//! Paths given to a `FileSystem` are absolute. Calls never follow a symbolic link in the last
//! component (`metadata` is `lstat`); the engine never places links in its own paths.
//!
//! *Mutating calls* — the ones the crash hook counts — are: `open` with
//! [`OpenMode::CreateNew`], `write_all_at`, `set_len`, `sync_data`, `sync_all`, `sync_dir`,
//! `rename`, `rename_noreplace`, `exchange`, `remove_file`, `remove_dir`, `create_dir`,
//! `set_mode` and `symlink`.
//!
//! Permission bits are exact: a file or directory created with mode `m` has exactly `m`,
//! whatever the process's umask (the umask of the user running skillwal must not change what
//! a collection holds), and `set_mode` sets exactly what it is given.

pub mod fault;
pub mod hint;
pub mod real;
pub mod sim;

mod resolve;
pub use resolve::{FileReader, FsPath, canonicalize, resolve, stat};

use crate::error::{IoError, io_error};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// One sync of a [`FileSystem::sync_set`] that failed: what was being done, to which path.
#[derive(Debug)]
pub struct SyncFailure {
    /// The call that failed: `open`, `fsync` or `fsync directory`.
    pub op: &'static str,
    /// The file or directory it was on.
    pub path: PathBuf,
    /// The error it returned.
    pub error: io::Error,
}

/// One sync of a set, as every implementation does it: `fsync` of a file (`file`: its data
/// and its metadata, permission bits included) or of a directory.
fn sync_one(fs: &(impl FileSystem + ?Sized), path: &Path, file: bool) -> Result<(), SyncFailure> {
    let fail = |op, error| SyncFailure {
        op,
        path: path.to_path_buf(),
        error,
    };
    if file {
        let h = fs.open(path, OpenMode::Read).map_err(|e| fail("open", e))?;
        h.sync_all().map_err(|e| fail("fsync", e))
    } else {
        fs.sync_dir(path).map_err(|e| fail("fsync directory", e))
    }
}

/// What a directory entry is. Links are never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// Anything else: a device, socket or FIFO. The engine refuses to stage over one.
    Other,
}

/// A file time stamp as the file system keeps it (seconds and nanoseconds since the epoch,
/// at the file system's own granularity). Only ever compared with other time stamps of the
/// same file system, never with the process's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime {
    /// Whole seconds since the Unix epoch (negative before it).
    pub sec: i64,
    /// Nanoseconds within the second, below 1,000,000,000.
    pub nsec: u32,
}

/// The part of `lstat` the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    /// What the path is (of the link itself, not its target).
    pub kind: FileKind,
    /// Length in bytes (`st_size`; a link's is its target's length).
    pub len: u64,
    /// Inode number: identifies a file the engine created across renames (wal-spec.md §6.2
    /// records it, §7.2 compares it).
    pub ino: u64,
    /// The file system it is on (`st_dev`): a rename is atomic only within one.
    pub dev: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Last change of the content (`st_mtime`); a user can set it back.
    pub mtime: FileTime,
    /// Last change of the inode (`st_ctime`: content, permissions, links, renames); set by
    /// the file system only, to its current time.
    pub ctime: FileTime,
}

/// One entry of [`FileSystem::read_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name within its directory (one component, never `.` or `..`).
    pub name: OsString,
    /// What it is; a link is reported as a link.
    pub kind: FileKind,
}

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist. Nothing is truncated.
    ReadWrite,
    /// Create a new file (fails if the path exists), read and write, with exactly these
    /// permission bits (the umask does not apply).
    CreateNew {
        /// The new file's permission bits.
        mode: u32,
    },
}

/// Shared or exclusive advisory lock (`flock` semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Held by any number of holders at once, none exclusive.
    Shared,
    /// Held by one holder, no other shared or exclusive one.
    Exclusive,
}

/// Why a lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another holder has it and the caller asked not to wait. `holder` is what the lock
    /// file says about the process holding it (its PID), when it says anything.
    WouldBlock {
        /// The lock file's text about its holder (e.g. `pid 1234`), trimmed.
        holder: Option<String>,
    },
    /// Opening the lock file or taking the lock failed.
    Io(io::Error),
}

/// A held lock; dropping it releases the lock.
pub trait LockGuard: Send {}

/// An open file. Reads and writes are positional; there is no cursor.
pub trait FileHandle: Send {
    /// Reads up to `buf.len()` bytes at `offset`; returns 0 at end of file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Truncates or extends (with zeros) the file to `len` bytes; durable after a sync.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// `fdatasync`: the file's data (and the size needed to read it) is durable on `Ok`.
    /// An error is final: the caller must not retry it (wal-spec.md, promise 6).
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: data and all metadata durable on `Ok`.
    fn sync_all(&self) -> io::Result<()>;
    /// `fstat` of the open file.
    fn metadata(&self) -> io::Result<Metadata>;

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with `UnexpectedEof`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.read_at(buf, offset)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shorter than expected",
                ));
            }
            buf = &mut buf[n..];
            offset += n as u64;
        }
        Ok(())
    }
}

/// The operations the engine performs on storage. See the module documentation for which
/// calls are mutating.
pub trait FileSystem: Send + Sync {
    /// Opens the file at `path` as `mode` says; never follows a link at `path` itself
    /// (`O_NOFOLLOW`).
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FileHandle>>;
    /// `lstat`.
    fn metadata(&self, path: &Path) -> io::Result<Metadata>;
    /// Entries of a directory, without `.` and `..`, in no particular order.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// The target of the symbolic link at `path` (`readlink`); fails if it is not a link.
    fn read_link(&self, path: &Path) -> io::Result<OsString>;
    /// Creates a directory with exactly the permission bits `mode` (the umask does not
    /// apply).
    fn create_dir(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// Sets the permission bits of the file or directory at `path` to exactly `mode`
    /// (`chmod`). Never follows a link: fails (`ELOOP`) when `path` is one. Durable after an
    /// `fsync` of that file or directory (not after an `fdatasync`).
    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// Creates a symbolic link at `path` whose target is `target` (`symlink(2)`); fails with
    /// `AlreadyExists` if `path` exists. The link's entry is durable after an fsync of its
    /// directory, like any other entry.
    fn symlink(&self, target: &std::ffi::OsStr, path: &Path) -> io::Result<()>;
    /// Removes a file or a symbolic link (`unlink`); fails on a directory.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes an empty directory.
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
    /// `rename(2)`: atomically replaces `to` if it exists (a file by a file, or an empty
    /// directory by a directory).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// `renameat2(RENAME_NOREPLACE)`: fails with `AlreadyExists` if `to` exists.
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// `renameat2(RENAME_EXCHANGE)`: atomically swaps two existing paths.
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()>;
    /// `fsync` of a directory: its entries (creations, renames, removals in it) are durable
    /// on `Ok`.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Takes an advisory lock on the file at `path`, creating it if needed. With `wait`, blocks
    /// until the lock is free. The exclusive holder records its PID in the file.
    fn lock(
        &self,
        path: &Path,
        kind: LockKind,
        wait: bool,
    ) -> Result<Box<dyn LockGuard>, LockError>;

    /// Makes every file of `files` and every directory of `dirs` durable (`fsync`: data and
    /// metadata, permission bits included): on `Ok`, all of them are. No order among them is promised. This default does
    /// them one after the other, files first (deterministic, for the simulator and the crash
    /// hook); the real file system issues them concurrently, so that one device cache flush
    /// can serve several. On failure, every sync that was started has finished when this
    /// returns, and the error is final: it must not be retried (wal-spec.md, promise 6).
    fn sync_set(&self, files: &[PathBuf], dirs: &[PathBuf]) -> Result<(), SyncFailure> {
        for f in files {
            sync_one(self, f, true)?;
        }
        for d in dirs {
            sync_one(self, d, false)?;
        }
        Ok(())
    }

    /// Whether this process may change the entries of the directory `dir` (create, remove
    /// and rename in it; with the effective user, as the calls that follow will be judged),
    /// and so also move it to another directory. Not a mutating call.
    fn may_write_dir(&self, dir: &Path) -> io::Result<bool>;

    /// Identifies the current boot of the machine (Linux: `/proc/sys/kernel/random/boot_id`),
    /// `None` when unknown. Facts about files remembered across processes — the stat cache
    /// of store-spec.md §8 — are trusted only within one boot: after a power loss, a file's
    /// time stamps may have survived while its data did not.
    fn boot_id(&self) -> Option<String>;

    /// Whether `path` exists (as anything, links not followed).
    fn exists(&self, path: &Path) -> io::Result<bool> {
        match self.metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// `ENOENT` and friends as `io::Error`s with the real errno, for implementations.
pub(crate) fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// Removes `path` and everything below it, links not followed. Missing is fine.
pub fn remove_tree(fs: &dyn FileSystem, path: &Path) -> io::Result<()> {
    let meta = match fs.metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.kind != FileKind::Dir {
        return fs.remove_file(path);
    }
    // Depth-first with an explicit stack: no recursion limit on deep trees.
    let mut stack = vec![(path.to_path_buf(), false)];
    while let Some((dir, expanded)) = stack.pop() {
        if expanded {
            fs.remove_dir(&dir)?;
            continue;
        }
        // A directory its owner cannot write or search (a tree restored with mode 0555, say)
        // cannot be emptied by a process that is not root until that is changed.
        let mode = fs.metadata(&dir)?.mode;
        if mode & 0o700 != 0o700 {
            fs.set_mode(&dir, mode | 0o700)?;
        }
        stack.push((dir.clone(), true));
        for entry in fs.read_dir(&dir)? {
            let child = dir.join(&entry.name);
            if entry.kind == FileKind::Dir {
                stack.push((child, false));
            } else {
                fs.remove_file(&child)?;
            }
        }
    }
    Ok(())
}

/// The process's umask: the permission bits taken away from the directories and files a
/// user's command creates outside a collection (the home directory, `collections/`, a new
/// collection's own directory, `config.toml`), as `mkdir` and `open` would. Read from
/// `/proc/self/status`; `0o022` where that says nothing.
pub fn process_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Creates `dir` and its missing parents, as `mkdir -p` does (permission bits `0o777` less
/// the [`process_umask`]), and fsyncs each parent whose entries changed, so the new
/// directories survive a power loss once this returns. An existing `dir` is fine.
pub fn create_dir_all_durably(fs: &dyn FileSystem, dir: &Path) -> Result<(), IoError> {
    let mode = 0o777 & !process_umask();
    let mut missing = Vec::new();
    let mut p = dir;
    while !fs.exists(p).map_err(io_error("stat", p))? {
        missing.push(p);
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent,
            _ => break,
        }
    }
    for d in missing.into_iter().rev() {
        match fs.create_dir(d, mode) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(IoError::new("create directory", d, e)),
        }
        if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs.sync_dir(parent)
                .map_err(io_error("fsync directory", parent))?;
        }
    }
    Ok(())
}

/// Replaces the file at `path` atomically and durably: a temporary file beside it (mode
/// `0o666` less the [`process_umask`], as `open` would create it), its bytes, fsync, rename
/// over `path`, fsync of the directory. For files outside every collection (`config.toml`)
/// and the engine's own files outside its journal (a kept decision); inside a collection
/// only the engine's transactions write.
pub fn write_atomically(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_dir_all_durably(fs, dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.skillwal-tmp"));
    // A temporary file left by a process that died is garbage.
    match fs.remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(IoError::new("remove", &tmp, e)),
    }
    let mode = 0o666 & !process_umask();
    let f = fs
        .open(&tmp, OpenMode::CreateNew { mode })
        .map_err(io_error("create", &tmp))?;
    f.write_all_at(bytes, 0).map_err(io_error("write", &tmp))?;
    f.sync_all().map_err(io_error("fsync", &tmp))?;
    drop(f);
    fs.rename(&tmp, path).map_err(io_error("rename", path))?;
    fs.sync_dir(dir).map_err(io_error("fsync directory", dir))
}

/// Reads the whole UTF-8 text file at `path` (at most `max` bytes: a larger file, or one
/// that is not UTF-8, is an `InvalidData` error) and its permission bits, or `None` when it
/// does not exist. For documents that are parsed whole (manifest, lock, config).
pub fn read_small_text(
    fs: &dyn FileSystem,
    path: &Path,
    max: u64,
) -> Result<Option<(String, u32)>, IoError> {
    let invalid = |what: String| {
        IoError::new(
            "read",
            path,
            io::Error::new(io::ErrorKind::InvalidData, what),
        )
    };
    let file = match fs.open(path, OpenMode::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IoError::new("read", path, e)),
    };
    let meta = file.metadata().map_err(io_error("stat", path))?;
    if meta.len > max {
        return Err(invalid(format!(
            "{} bytes, larger than the {max} bytes a document may have",
            meta.len
        )));
    }
    let mut bytes = vec![0u8; meta.len as usize];
    file.read_exact_at(&mut bytes, 0)
        .map_err(io_error("read", path))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| invalid("stream did not contain valid UTF-8".into()))?;
    Ok(Some((text, meta.mode)))
}
