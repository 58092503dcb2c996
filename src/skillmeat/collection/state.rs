//! Where skillwal keeps its state for a collection (wal-spec.md §2, store-spec.md §1).
//!
//! A collection `<parent>/<name>` keeps skillwal's state — journal, lock, staging area,
//! store, stat cache — in `<parent>/.skillwal/<name>/`: beside the collection, on its file
//! system (so every rename between the two is atomic), and outside the directory the Python
//! tool tars into each of its snapshots and deletes and extracts again on its rollback. So
//! its tarballs carry none of skillwal's history, and its rollback neither erases nor rewinds
//! it. The Python tool lists as collections only directories holding `collection.toml`: it
//! never sees `.skillwal/`.
//!
//! Two other places:
//! - a collection that is a mount point (its parent on another file system) keeps the state
//!   inside itself, in `<dir>/.skillwal/` (the place older skillwal used for every
//!   collection): renames between two file systems are not atomic;
//! - older skillwal kept it in `<dir>/.skillwal/` for every collection. A writer moves it
//!   beside the collection the first time it opens one ([`migrate`]): one rename, under the
//!   collection's lock; the journal names its paths relative to the collection, so an
//!   interrupted transaction is recovered after the move as before it.
//!
//! A `<dir>/.skillwal/` found while the state lives beside the collection is a **stale
//! copy** — brought back by the Python tool's rollback of a snapshot taken before the move,
//! or copied by hand: an older state of skillwal that went back in time. It is reported
//! ([`Location::stale`]), never used, never deleted by skillwal.

use crate::engine::Layout;
use crate::engine::layout::LOCK_FILE;
use crate::engine::path::META_DIR;
use crate::fs::{FileKind, FileSystem, LockError, LockKind};
use crate::store::refs;
use serde::Serialize;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Where the state of a collection is.
#[derive(Debug, Clone)]
pub struct Location {
    /// Where the journal, the staging area and the store are.
    pub layout: Layout,
    /// The state is still in the collection, where older skillwal kept it, and a writer
    /// moves it beside the collection ([`migrate`]).
    pub legacy: bool,
    /// An older copy of the state inside the collection, ignored.
    pub stale: Option<Stale>,
}

/// A stale copy of skillwal's state inside a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stale {
    /// The copy (`<collection>/.skillwal`).
    pub path: PathBuf,
    /// Where the state in use is.
    pub state: PathBuf,
    /// The next snapshot id each of them would give (`None`: not readable): the copy's is
    /// lower when it went back in time.
    pub copy_next_snapshot: Option<u64>,
    /// The same for the state in use.
    pub state_next_snapshot: Option<u64>,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> crate::Error + '_ {
    move |e| crate::Error::io("stat", path, e)
}

fn kind(fs: &dyn FileSystem, path: &Path) -> crate::Result<Option<(FileKind, u64)>> {
    match fs.metadata(path) {
        Ok(m) => Ok(Some((m.kind, m.dev))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(path)(e)),
    }
}

/// The state's place beside the collection `dir`: `<parent>/.skillwal/<name>`.
pub fn beside(dir: &Path) -> Option<PathBuf> {
    let name = dir.file_name()?;
    Some(dir.parent()?.join(META_DIR).join(name))
}

/// Where the state of the collection at `dir` is, without changing anything. `dir` must be
/// absolute and normal (no `.` or `..`, no link on the way: callers canonicalize it), since
/// the place is derived from it: two spellings of one collection must not get two states.
pub fn locate(fs: &Arc<dyn FileSystem>, dir: &Path) -> crate::Result<Location> {
    let normal = dir.is_absolute()
        && dir
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    let rejected = |reason: &str| crate::Error::Rejected {
        op: "open",
        path: dir.display().to_string(),
        reason: reason.into(),
    };
    if !normal {
        return Err(rejected(
            "a collection's path must be absolute, without . or ..",
        ));
    }
    let arc = fs;
    let fs = fs.as_ref();
    let legacy = Layout::new(dir);
    let in_dir = kind(fs, &legacy.meta)?.is_some_and(|(k, _)| k == FileKind::Dir);
    let Some(beside) = beside(dir) else {
        return Ok(Location {
            layout: legacy,
            legacy: false,
            stale: None,
        });
    };
    // A mount point keeps its state inside: a rename across file systems is not atomic.
    let parent = dir.parent().expect("a path with a name has a parent");
    if let (Some((_, dev)), Some((_, parent_dev))) = (kind(fs, dir)?, kind(fs, parent)?)
        && dev != parent_dev
    {
        return Ok(Location {
            layout: legacy,
            legacy: false,
            stale: None,
        });
    }
    let layout = Layout::with_meta(dir, &beside);
    if kind(fs, &beside)?.is_some() {
        let stale = in_dir.then(|| Stale {
            path: legacy.meta.clone(),
            state: beside.clone(),
            copy_next_snapshot: next_snapshot(arc, &legacy),
            state_next_snapshot: next_snapshot(arc, &layout),
        });
        return Ok(Location {
            layout,
            legacy: false,
            stale,
        });
    }
    if in_dir {
        return Ok(Location {
            layout: legacy,
            legacy: true,
            stale: None,
        });
    }
    Ok(Location {
        layout,
        legacy: false,
        stale: None,
    })
}

/// The id the next snapshot would get in the store of `layout`, if it can be read.
fn next_snapshot(fs: &Arc<dyn FileSystem>, layout: &Layout) -> Option<u64> {
    let store = crate::store::Store::new(fs.clone(), layout);
    let existing = refs::list_snapshots(&store).ok()?;
    refs::next_id(&store, &existing).ok()
}

/// Moves the state of the collection at `dir` from inside it (older skillwal) to beside it,
/// under the collection's lock (waiting for it unless `no_wait`). Returns whether this call
/// moved it (`false`: another process did, or there was nothing to move). One rename, made
/// durable by fsyncs of both directories; a crash leaves the state in one place or the
/// other, whole.
pub fn migrate(fs: &dyn FileSystem, dir: &Path, no_wait: bool) -> crate::Result<bool> {
    let legacy = Layout::new(dir);
    let Some(to) = beside(dir) else {
        return Ok(false);
    };
    let _lock = match fs.lock(&legacy.meta.join(LOCK_FILE), LockKind::Exclusive, !no_wait) {
        Ok(l) => l,
        Err(LockError::WouldBlock { holder }) => {
            return Err(crate::Error::Locked {
                root: dir.to_path_buf(),
                holder,
            });
        }
        Err(LockError::Io(e)) => return Err(crate::Error::io("lock", &legacy.lock, e)),
    };
    // Another process may have moved it while this one waited for the lock.
    let still_here = kind(fs, &legacy.meta)?.is_some_and(|(k, _)| k == FileKind::Dir);
    if !still_here || kind(fs, &to)?.is_some() {
        return Ok(false);
    }
    let holder = to.parent().expect("beside has a parent");
    if kind(fs, holder)?.is_none() {
        fs.create_dir(holder, 0o755)
            .map_err(|e| crate::Error::io("create directory", holder, e))?;
        let grand = holder.parent().expect("a parent");
        fs.sync_dir(grand)
            .map_err(|e| crate::Error::io("fsync directory", grand, e))?;
    }
    fs.rename_noreplace(&legacy.meta, &to)
        .map_err(|e| crate::Error::io("rename", &legacy.meta, e))?;
    for d in [dir, holder] {
        fs.sync_dir(d)
            .map_err(|e| crate::Error::io("fsync directory", d, e))?;
    }
    Ok(true)
}
