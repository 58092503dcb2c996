//! A simulated file system with a live image and a durable image, for crash testing.
//!
//! Every inode has live contents; files also have *durable* contents (what `sync_data` last
//! made durable) and directories have *durable entries* (what `sync_dir` last made durable).
//! Operations not yet made durable are kept, in order, in a pending list. [`SimFs::crash`]
//! builds the state after a crash under a [`CrashModel`] from the durable image plus a
//! choice of pending operations, reproducibly from a seed.
//!
//! What the model assumes of a real file system (wal-spec.md §9 states the same):
//! - a file's data is durable after `sync_data`/`sync_all` on it; not before;
//! - a directory entry (creation, removal, rename) is durable after `sync_dir` on its
//!   directory; not before;
//! - a rename or exchange is atomic across a crash: in full or not at all, and syncing either
//!   directory it touched makes all of it durable;
//! - unsynced writes to one file reach the disk as a prefix of them in order (model
//!   [`CrashModel::Subset`]), and the last of them may be torn at a 512-byte boundary with a
//!   tail of zeros or garbage ([`CrashModel::Torn`]).
//!
//! It also counts mutating calls (see [`super`]), can fail the N-th with a chosen errno, and
//! can "crash" right after the N-th: from then on every call fails, as if the process had
//! died, and the test takes [`SimFs::crash`] of that moment.

use super::{
    DirEntry, FileHandle, FileKind, FileSystem, FileTime, LockError, LockGuard, LockKind, Metadata,
    OpenMode, errno,
};
use rustix::io::Errno;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

const ROOT_INO: u64 = 1;

mod crash;
mod file_system;
pub mod inode;
mod state;

use crash::*;
use state::*;

/// What survives a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashModel {
    /// The process is killed; the kernel keeps everything, and what was not yet durable stays
    /// not durable (a later power cut can still lose it).
    Kill,
    /// Power loss that drops everything not made durable.
    DropAll,
    /// Power loss that keeps a random subset of what was not durable: per file a prefix of its
    /// writes, per rename all of it or none.
    Subset,
    /// As `Subset`, then the last kept write of each file is torn at a 512-byte boundary, the
    /// tail zeroed or filled with garbage.
    Torn,
}

impl CrashModel {
    /// Every model, for tests that run a scenario under each.
    pub const ALL: [CrashModel; 4] = [
        CrashModel::Kill,
        CrashModel::DropAll,
        CrashModel::Subset,
        CrashModel::Torn,
    ];
    /// Whether the seed changes the outcome.
    pub fn is_seeded(self) -> bool {
        matches!(self, CrashModel::Subset | CrashModel::Torn)
    }
}

/// How many durability calls were made, and on what, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Calls of [`FileHandle::sync_data`].
    pub sync_data: u64,
    /// Calls of [`FileHandle::sync_all`].
    pub sync_all: u64,
    /// Calls of [`FileSystem::sync_dir`].
    pub sync_dir: u64,
    /// Every durability call in order: (call name, path or inode).
    pub log: Vec<(String, String)>,
}

impl SyncStats {
    /// Total barriers: every `sync_data`, `sync_all` and `sync_dir`.
    pub fn total(&self) -> u64 {
        self.sync_data + self.sync_all + self.sync_dir
    }
}

/// One node of a snapshot taken by [`SimFs::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapNode {
    /// A regular file.
    File {
        /// Its live contents.
        data: Vec<u8>,
        /// Its permission bits.
        mode: u32,
    },
    /// A directory (its entries are nodes of their own in the snapshot).
    Dir {
        /// Its permission bits.
        mode: u32,
    },
    /// A symbolic link, holding its target.
    Symlink(OsString),
}

/// The simulated file system. Cheap to clone via [`SimFs::fork`]; file contents are shared
/// copy-on-write.
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

/// A small, fast, seedable generator (SplitMix64); enough for choosing crash outcomes.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// The next value, uniform over all of `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A fair coin toss.
    pub fn next_bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

impl Default for SimFs {
    fn default() -> Self {
        Self::new()
    }
}

impl SimFs {
    /// An empty file system: just `/`, durable.
    pub fn new() -> SimFs {
        SimFs {
            state: Arc::new(Mutex::new(State::new())),
        }
    }

    /// Another handle to this same file system (shares its state).
    pub fn handle(&self) -> SimFs {
        SimFs {
            state: self.state.clone(),
        }
    }

    /// An independent copy of this file system in its current state (live, durable, pending,
    /// counters).
    pub fn fork(&self) -> SimFs {
        SimFs {
            state: Arc::new(Mutex::new(lock(&self.state).clone())),
        }
    }

    /// Crash right after the `n`-th mutating call from now on (1-based, counting calls made
    /// since the last [`SimFs::reset_counters`]).
    pub fn set_crash_after(&self, n: Option<u64>) {
        lock(&self.state).crash_after = n;
    }

    /// Fail the `n`-th mutating call with `e` (without performing it).
    pub fn set_fail_at(&self, at: Option<(u64, Errno)>) {
        lock(&self.state).fail_at = at;
    }

    /// Mutating calls made since the file system was made or [`SimFs::reset_counters`] ran
    /// (the call a crash or failure setting counts to).
    pub fn mutating_calls(&self) -> u64 {
        lock(&self.state).mutating_calls
    }

    /// Whether the simulated process has "died": the crash point set by
    /// [`SimFs::set_crash_after`] was passed, and every call fails from then on.
    pub fn crashed(&self) -> bool {
        lock(&self.state).crashed
    }

    /// A copy of the durability calls counted since the file system was made or
    /// [`SimFs::reset_counters`] last ran.
    pub fn sync_stats(&self) -> SyncStats {
        lock(&self.state).stats.clone()
    }

    /// Zeroes the call counter and the sync statistics; clears crash and failure settings.
    pub fn reset_counters(&self) {
        let mut s = lock(&self.state);
        s.mutating_calls = 0;
        s.stats = SyncStats::default();
        s.crash_after = None;
        s.fail_at = None;
    }

    /// The file system after a crash at this moment, under `model`, chosen by `seed`.
    /// Counters start again from zero; nothing is set to crash or fail.
    pub fn crash(&self, model: CrashModel, seed: u64) -> SimFs {
        let s = lock(&self.state);
        let mut next = match model {
            CrashModel::Kill => s.clone(),
            _ => {
                let mut n = durable_image(&s, model, seed);
                n.boot = s.boot + 1;
                n
            }
        };
        next.crashed = false;
        next.crash_after = None;
        next.fail_at = None;
        next.mutating_calls = 0;
        next.stats = SyncStats::default();
        SimFs {
            state: Arc::new(Mutex::new(next)),
        }
    }

    /// The file system after a power cut at this moment with each device under its own
    /// model, `model_of(dev)` (the device numbers [`FileSystem::metadata`] reports; 1 for
    /// `/`): a device under [`CrashModel::DropAll`] keeps nothing that was not durable, one
    /// under [`CrashModel::Kill`] keeps all of it (its cache was written back before the
    /// power went), one under `Subset` or `Torn` a seeded choice. So two roots on two devices
    /// can lose their unsynced writes differently, as two real disks do.
    pub fn crash_per_device(&self, model_of: impl Fn(u64) -> CrashModel, seed: u64) -> SimFs {
        let s = lock(&self.state);
        let mut next = crash::durable_image_per_device(&s, &model_of, seed);
        next.boot = s.boot + 1;
        SimFs {
            state: Arc::new(Mutex::new(next)),
        }
    }

    /// Makes the existing empty directory `path` the root of a new simulated device and
    /// returns its number: everything created below it is on that device, a rename or
    /// exchange between it and another device fails with `EXDEV`, and
    /// [`SimFs::crash_per_device`] can treat its unsynced writes apart (setup helper; the
    /// mount itself needs no sync).
    pub fn mount_device(&self, path: &Path) -> io::Result<u64> {
        let mut s = lock(&self.state);
        let ino = s.lookup(path)?;
        match &s.nodes[&ino] {
            Node::Dir { entries, .. } if entries.is_empty() => {}
            Node::Dir { .. } => return Err(errno(Errno::NOTEMPTY)),
            _ => return Err(errno(Errno::NOTDIR)),
        }
        s.last_dev = s.last_dev.max(state::ROOT_DEV) + 1;
        let dev = s.last_dev;
        s.devs.insert(ino, dev);
        Ok(dev)
    }

    /// Makes everything durable (for setting up a test's starting state).
    pub fn sync_everything(&self) {
        let mut s = lock(&self.state);
        let inos: Vec<u64> = s.nodes.keys().copied().collect();
        for ino in inos {
            match s.nodes.get(&ino).cloned() {
                Some(Node::File { data, mode }) => {
                    s.durable_files.insert(ino, data);
                    s.durable_modes.insert(ino, mode);
                }
                Some(Node::Dir { entries, mode }) => {
                    s.durable_dirs.insert(ino, entries);
                    s.durable_modes.insert(ino, mode);
                }
                _ => {}
            }
        }
        s.pending.clear();
    }

    /// Creates a symbolic link, durable at once (setup helper).
    pub fn symlink_durable(&self, target: &str, link: &Path) -> io::Result<()> {
        let mut s = lock(&self.state);
        let (dir, name) = s.parent_of(link)?;
        if s.entry(dir, &name).is_some() {
            return Err(errno(Errno::EXIST));
        }
        let ino = s.new_inode(
            dir,
            Node::Symlink {
                target: target.into(),
            },
        );
        s.entries_mut(dir).insert(name.clone(), ino);
        s.durable_dirs.entry(dir).or_default().insert(name, ino);
        Ok(())
    }

    /// Every node below `root` (which must be a directory), keyed by path relative to it,
    /// from the live image. `skip` names top-level entries to leave out.
    pub fn snapshot(&self, root: &Path, skip: &[&str]) -> io::Result<BTreeMap<PathBuf, SnapNode>> {
        let s = lock(&self.state);
        let start = s.lookup(root)?;
        let mut out = BTreeMap::new();
        let mut stack = vec![(PathBuf::new(), start)];
        while let Some((rel, ino)) = stack.pop() {
            if let Some(Node::Dir { entries, .. }) = s.nodes.get(&ino) {
                for (name, child) in entries {
                    if rel.as_os_str().is_empty() && skip.iter().any(|k| OsStr::new(k) == name) {
                        continue;
                    }
                    let path = rel.join(name);
                    match &s.nodes[child] {
                        Node::File { data, mode } => {
                            out.insert(
                                path,
                                SnapNode::File {
                                    data: data.to_vec(),
                                    mode: *mode,
                                },
                            );
                        }
                        Node::Dir { mode, .. } => {
                            out.insert(path.clone(), SnapNode::Dir { mode: *mode });
                            stack.push((path, *child));
                        }
                        Node::Symlink { target } => {
                            out.insert(path, SnapNode::Symlink(target.clone()));
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}
