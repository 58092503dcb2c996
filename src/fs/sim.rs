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
    pub sync_data: u64,
    pub sync_all: u64,
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
    File { data: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
    Symlink(OsString),
}

#[derive(Clone)]
enum Node {
    File {
        data: Arc<Vec<u8>>,
        mode: u32,
    },
    Dir {
        entries: BTreeMap<OsString, u64>,
        mode: u32,
    },
    Symlink {
        target: OsString,
    },
}

#[derive(Clone)]
enum Pending {
    Write {
        ino: u64,
        offset: u64,
        data: Arc<Vec<u8>>,
    },
    SetLen {
        ino: u64,
        len: u64,
    },
    /// A `chmod` of the inode, durable only through an `fsync` of that inode.
    Mode {
        ino: u64,
        mode: u32,
    },
    /// Sets (`Some`) or removes (`None`) one directory entry. Entries of one rename or
    /// exchange share a group and are kept or dropped together.
    Entry {
        group: u64,
        dir: u64,
        name: OsString,
        target: Option<u64>,
    },
}

#[derive(Clone, Default)]
struct State {
    nodes: HashMap<u64, Node>,
    durable_files: HashMap<u64, Arc<Vec<u8>>>,
    durable_dirs: HashMap<u64, BTreeMap<OsString, u64>>,
    /// Permission bits on disk: those a file or directory was created with (part of its
    /// creation), then those of the last `set_mode` made durable by an `fsync` of it.
    durable_modes: HashMap<u64, u32>,
    pending: Vec<Pending>,
    next_ino: u64,
    next_group: u64,
    mutating_calls: u64,
    crash_after: Option<u64>,
    crashed: bool,
    fail_at: Option<(u64, Errno)>,
    stats: SyncStats,
    /// The simulated clock: one tick per mutating call, never reset (also not by a crash),
    /// so time stamps only grow.
    clock: u64,
    /// Time stamps (mtime, ctime) of every inode, in ticks of `clock`. Kept as they are
    /// through a crash: whatever the disk kept, [`State::boot`] changes with power loss.
    times: HashMap<u64, (u64, u64)>,
    /// Counts power losses ([`SimFs::crash`] under any model but `Kill`): the boot id.
    boot: u64,
}

/// The simulated file system. Cheap to clone via [`SimFs::fork`]; file contents are shared
/// copy-on-write.
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

struct SimFile {
    state: Arc<Mutex<State>>,
    ino: u64,
    writable: bool,
}

struct SimLock;
impl LockGuard for SimLock {}

/// A small, fast, seedable generator (SplitMix64); enough for choosing crash outcomes.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next_bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

fn crashed_error() -> io::Error {
    io::Error::other("simulated crash: the process is dead")
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock only happens in a failing test; keep going.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    fn new() -> State {
        let mut s = State {
            next_ino: ROOT_INO + 1,
            next_group: 1,
            ..State::default()
        };
        s.nodes.insert(
            ROOT_INO,
            Node::Dir {
                entries: BTreeMap::new(),
                mode: 0o755,
            },
        );
        s.durable_dirs.insert(ROOT_INO, BTreeMap::new());
        s
    }

    fn check_alive(&self) -> io::Result<()> {
        if self.crashed {
            Err(crashed_error())
        } else {
            Ok(())
        }
    }

    /// Runs one mutating call: counts it, fails it if asked, and crashes right after it if
    /// asked.
    fn mutate<T>(&mut self, f: impl FnOnce(&mut State) -> io::Result<T>) -> io::Result<T> {
        self.check_alive()?;
        self.mutating_calls += 1;
        self.clock += 1;
        let n = self.mutating_calls;
        if let Some((at, e)) = self.fail_at
            && at == n
        {
            return Err(errno(e));
        }
        let result = f(self);
        if self.crash_after == Some(n) {
            self.crashed = true;
        }
        result
    }

    fn components(path: &Path) -> io::Result<Vec<&OsStr>> {
        let mut out = Vec::new();
        let mut comps = path.components();
        if comps.next() != Some(Component::RootDir) {
            return Err(errno(Errno::INVAL));
        }
        for c in comps {
            match c {
                Component::Normal(n) => out.push(n),
                _ => return Err(errno(Errno::INVAL)),
            }
        }
        Ok(out)
    }

    fn lookup(&self, path: &Path) -> io::Result<u64> {
        let mut ino = ROOT_INO;
        for name in Self::components(path)? {
            match self.nodes.get(&ino) {
                Some(Node::Dir { entries, .. }) => {
                    ino = *entries.get(name).ok_or_else(|| errno(Errno::NOENT))?;
                }
                _ => return Err(errno(Errno::NOTDIR)),
            }
        }
        Ok(ino)
    }

    /// The directory that would hold `path`, and the last component's name.
    fn parent_of(&self, path: &Path) -> io::Result<(u64, OsString)> {
        let comps = Self::components(path)?;
        let (name, dirs) = comps.split_last().ok_or_else(|| errno(Errno::INVAL))?;
        let mut ino = ROOT_INO;
        for d in dirs {
            match self.nodes.get(&ino) {
                Some(Node::Dir { entries, .. }) => {
                    ino = *entries.get(*d).ok_or_else(|| errno(Errno::NOENT))?;
                }
                _ => return Err(errno(Errno::NOTDIR)),
            }
        }
        match self.nodes.get(&ino) {
            Some(Node::Dir { .. }) => Ok((ino, name.to_os_string())),
            _ => Err(errno(Errno::NOTDIR)),
        }
    }

    fn entries_mut(&mut self, dir: u64) -> &mut BTreeMap<OsString, u64> {
        match self.nodes.get_mut(&dir) {
            Some(Node::Dir { entries, .. }) => entries,
            _ => unreachable!("parent_of returns directories only"),
        }
    }

    fn entry(&self, dir: u64, name: &OsStr) -> Option<u64> {
        match self.nodes.get(&dir) {
            Some(Node::Dir { entries, .. }) => entries.get(name).copied(),
            _ => None,
        }
    }

    fn kind(&self, ino: u64) -> FileKind {
        match self.nodes.get(&ino) {
            Some(Node::File { .. }) => FileKind::File,
            Some(Node::Dir { .. }) => FileKind::Dir,
            Some(Node::Symlink { .. }) => FileKind::Symlink,
            None => FileKind::Other,
        }
    }

    fn is_empty_dir(&self, ino: u64) -> bool {
        matches!(self.nodes.get(&ino), Some(Node::Dir { entries, .. }) if entries.is_empty())
    }

    /// Sets or removes live entries as one group, recording them as pending.
    fn set_entries(&mut self, sides: &[(u64, OsString, Option<u64>)]) {
        let group = self.next_group;
        self.next_group += 1;
        for (dir, name, target) in sides {
            self.touch(*dir, true);
            if let Some(t) = target {
                self.touch(*t, false);
            }
            let entries = self.entries_mut(*dir);
            match target {
                Some(t) => entries.insert(name.clone(), *t),
                None => entries.remove(name),
            };
            self.pending.push(Pending::Entry {
                group,
                dir: *dir,
                name: name.clone(),
                target: *target,
            });
        }
    }

    fn new_inode(&mut self, node: Node) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        if let Node::File { mode, .. } | Node::Dir { mode, .. } = &node {
            self.durable_modes.insert(ino, *mode);
        }
        self.nodes.insert(ino, node);
        self.times.insert(ino, (self.clock, self.clock));
        ino
    }

    /// Sets the inode's ctime (and its mtime, when its content changed) to now.
    fn touch(&mut self, ino: u64, content: bool) {
        let now = self.clock;
        let t = self.times.entry(ino).or_insert((now, now));
        t.1 = now;
        if content {
            t.0 = now;
        }
    }

    fn metadata(&self, ino: u64) -> Metadata {
        let (kind, len, mode) = match &self.nodes[&ino] {
            Node::File { data, mode } => (FileKind::File, data.len() as u64, *mode),
            Node::Dir { entries, mode } => (FileKind::Dir, entries.len() as u64, *mode),
            Node::Symlink { target } => (FileKind::Symlink, target.len() as u64, 0o777),
        };
        let (m, c) = self.times.get(&ino).copied().unwrap_or_default();
        let stamp = |tick: u64| FileTime {
            sec: tick as i64,
            nsec: 0,
        };
        Metadata {
            kind,
            len,
            ino,
            // One simulated file system.
            dev: 1,
            mode,
            mtime: stamp(m),
            ctime: stamp(c),
        }
    }

    fn file_data_mut(&mut self, ino: u64) -> &mut Vec<u8> {
        self.touch(ino, true);
        match self.nodes.get_mut(&ino) {
            Some(Node::File { data, .. }) => Arc::make_mut(data),
            _ => unreachable!("handles are opened on files only"),
        }
    }

    /// `fdatasync` (`metadata` false: the data and size) or `fsync` (also the permission
    /// bits) of a file.
    fn sync_file(&mut self, ino: u64, what: &str, metadata: bool) {
        if let Some(Node::File { data, .. }) = self.nodes.get(&ino) {
            self.durable_files.insert(ino, data.clone());
        }
        self.pending.retain(|p| match p {
            Pending::Write { ino: i, .. } | Pending::SetLen { ino: i, .. } => *i != ino,
            Pending::Mode { .. } | Pending::Entry { .. } => true,
        });
        if metadata {
            self.sync_mode(ino);
        }
        self.stats
            .log
            .push((what.to_string(), format!("ino {ino}")));
    }

    /// Makes the inode's pending `set_mode`s durable (an `fsync` of it).
    fn sync_mode(&mut self, ino: u64) {
        let mut last = None;
        self.pending.retain(|p| match p {
            Pending::Mode { ino: i, mode } if *i == ino => {
                last = Some(*mode);
                false
            }
            _ => true,
        });
        if let Some(m) = last {
            self.durable_modes.insert(ino, m);
        }
    }

    /// Makes the entries of `dir` durable, with every rename group that touches it in full,
    /// and its own permission bits.
    fn sync_directory(&mut self, dir: u64) {
        self.sync_mode(dir);
        let groups: HashSet<u64> = self
            .pending
            .iter()
            .filter_map(|p| match p {
                Pending::Entry { group, dir: d, .. } if *d == dir => Some(*group),
                _ => None,
            })
            .collect();
        let mut made_durable: Vec<(u64, OsString, Option<u64>, usize)> = Vec::new();
        for (i, p) in self.pending.iter().enumerate() {
            if let Pending::Entry {
                group,
                dir: d,
                name,
                target,
            } = p
                && (*d == dir || groups.contains(group))
            {
                made_durable.push((*d, name.clone(), *target, i));
            }
        }
        // Apply in order; then drop them and every earlier pending op on the same entry, which
        // they supersede.
        let mut superseded: HashMap<(u64, OsString), usize> = HashMap::new();
        for (d, name, target, i) in &made_durable {
            let entries = self.durable_dirs.entry(*d).or_default();
            match target {
                Some(t) => entries.insert(name.clone(), *t),
                None => entries.remove(name),
            };
            superseded.insert((*d, name.clone()), *i);
        }
        let mut index = 0usize;
        self.pending.retain(|p| {
            let i = index;
            index += 1;
            match p {
                Pending::Entry { dir: d, name, .. } => match superseded.get(&(*d, name.clone())) {
                    Some(last) => i > *last,
                    None => true,
                },
                _ => true,
            }
        });
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

    pub fn mutating_calls(&self) -> u64 {
        lock(&self.state).mutating_calls
    }

    pub fn crashed(&self) -> bool {
        lock(&self.state).crashed
    }

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
        let ino = s.new_inode(Node::Symlink {
            target: target.into(),
        });
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

/// The state after power loss under `model`: the durable image plus a seeded choice of the
/// pending operations.
fn durable_image(s: &State, model: CrashModel, seed: u64) -> State {
    let mut rng = SplitMix64::new(seed ^ 0x5EED_5EED_0000_0000);
    let mut disk = Disk {
        files: s
            .durable_files
            .iter()
            .map(|(k, v)| (*k, v.to_vec()))
            .collect(),
        dirs: s.durable_dirs.clone(),
        modes: s.durable_modes.clone(),
    };
    if model != CrashModel::DropAll {
        let last_write = disk.keep_some_pending(&s.pending, &mut rng);
        if model == CrashModel::Torn {
            let mut torn: Vec<_> = last_write.into_iter().collect();
            torn.sort_unstable();
            for (ino, (offset, len)) in torn {
                tear(disk.files.entry(ino).or_default(), offset, len, &mut rng);
            }
        }
    }
    disk.reachable_state(s)
}

/// What is on the simulated disk after a crash: file bytes, directory entries and modes,
/// by inode.
struct Disk {
    files: HashMap<u64, Vec<u8>>,
    dirs: HashMap<u64, BTreeMap<OsString, u64>>,
    modes: HashMap<u64, u32>,
}

impl Disk {
    /// Applies the writes not yet synced that reach the disk, drawn from `rng` in order: each
    /// file keeps a prefix of its writes, each chmod reaches the disk or not, and each group
    /// of directory changes (one rename, say) all or nothing. Returns, per file, the last
    /// write kept (offset and length), for a tear.
    fn keep_some_pending(
        &mut self,
        pending: &[Pending],
        rng: &mut SplitMix64,
    ) -> HashMap<u64, (u64, u64)> {
        let mut dropped_files: HashSet<u64> = HashSet::new();
        let mut group_kept: HashMap<u64, bool> = HashMap::new();
        let mut last_write: HashMap<u64, (u64, u64)> = HashMap::new();
        for p in pending {
            match p {
                Pending::Write { ino, offset, data } => {
                    if dropped_files.contains(ino) || !rng.next_bool() {
                        dropped_files.insert(*ino);
                        continue;
                    }
                    let f = self.files.entry(*ino).or_default();
                    write_into(f, *offset, data);
                    last_write.insert(*ino, (*offset, data.len() as u64));
                }
                Pending::SetLen { ino, len } => {
                    if dropped_files.contains(ino) || !rng.next_bool() {
                        dropped_files.insert(*ino);
                        continue;
                    }
                    self.files.entry(*ino).or_default().resize(*len as usize, 0);
                    last_write.remove(ino);
                }
                // Inode metadata: each chmod reaches the disk or not, in order.
                Pending::Mode { ino, mode } => {
                    if rng.next_bool() {
                        self.modes.insert(*ino, *mode);
                    }
                }
                Pending::Entry {
                    group,
                    dir,
                    name,
                    target,
                } => {
                    let keep = *group_kept.entry(*group).or_insert_with(|| rng.next_bool());
                    if keep {
                        let entries = self.dirs.entry(*dir).or_default();
                        match target {
                            Some(t) => entries.insert(name.clone(), *t),
                            None => entries.remove(name),
                        };
                    }
                }
            }
        }
        last_write
    }

    /// The state after the crash: the live image rebuilt from what is reachable from the
    /// root on this disk, all of it durable.
    fn reachable_state(&self, s: &State) -> State {
        let mut next = State {
            next_ino: s.next_ino,
            next_group: s.next_group,
            clock: s.clock,
            times: s.times.clone(),
            ..State::default()
        };
        let mut stack = vec![ROOT_INO];
        let mut seen = HashSet::new();
        while let Some(ino) = stack.pop() {
            if !seen.insert(ino) {
                continue;
            }
            let node = match &s.nodes[&ino] {
                Node::File { mode, .. } => Node::File {
                    data: Arc::new(self.files.get(&ino).cloned().unwrap_or_default()),
                    mode: self.modes.get(&ino).copied().unwrap_or(*mode),
                },
                Node::Dir { mode, .. } => {
                    let entries = self.dirs.get(&ino).cloned().unwrap_or_default();
                    stack.extend(entries.values().copied());
                    Node::Dir {
                        entries,
                        mode: self.modes.get(&ino).copied().unwrap_or(*mode),
                    }
                }
                Node::Symlink { target } => Node::Symlink {
                    target: target.clone(),
                },
            };
            next.nodes.insert(ino, node);
        }
        mark_all_durable(&mut next);
        next
    }
}

/// Makes everything `state` holds its durable image too.
fn mark_all_durable(state: &mut State) {
    for (ino, node) in &state.nodes {
        match node {
            Node::File { data, mode } => {
                state.durable_files.insert(*ino, data.clone());
                state.durable_modes.insert(*ino, *mode);
            }
            Node::Dir { entries, mode } => {
                state.durable_dirs.insert(*ino, entries.clone());
                state.durable_modes.insert(*ino, *mode);
            }
            Node::Symlink { .. } => {}
        }
    }
}

fn write_into(file: &mut Vec<u8>, offset: u64, data: &[u8]) {
    let start = offset as usize;
    let end = start + data.len();
    if file.len() < end {
        file.resize(end, 0);
    }
    file[start..end].copy_from_slice(data);
}

/// Tears the write `[offset, offset+len)`: keeps it up to a 512-byte boundary inside it (or
/// none of it) and replaces the rest with zeros or garbage.
fn tear(file: &mut Vec<u8>, offset: u64, len: u64, rng: &mut SplitMix64) {
    let end = offset + len;
    let mut cuts = vec![offset];
    let mut b = (offset / 512 + 1) * 512;
    while b < end {
        cuts.push(b);
        b += 512;
    }
    let cut = cuts[rng.below(cuts.len() as u64) as usize];
    let garbage = rng.next_bool();
    if file.len() < end as usize {
        file.resize(end as usize, 0);
    }
    for byte in &mut file[cut as usize..end as usize] {
        *byte = if garbage { rng.next_u64() as u8 } else { 0 };
    }
}

impl FileHandle for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let s = lock(&self.state);
        s.check_alive()?;
        let data = match s.nodes.get(&self.ino) {
            Some(Node::File { data, .. }) => data,
            _ => return Err(errno(Errno::BADF)),
        };
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut s = lock(&self.state);
        if !self.writable {
            s.check_alive()?;
            return Err(errno(Errno::BADF));
        }
        let ino = self.ino;
        s.mutate(|s| {
            write_into(s.file_data_mut(ino), offset, buf);
            s.pending.push(Pending::Write {
                ino,
                offset,
                data: Arc::new(buf.to_vec()),
            });
            Ok(())
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut s = lock(&self.state);
        if !self.writable {
            s.check_alive()?;
            return Err(errno(Errno::BADF));
        }
        let ino = self.ino;
        s.mutate(|s| {
            s.file_data_mut(ino).resize(len as usize, 0);
            s.pending.push(Pending::SetLen { ino, len });
            Ok(())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut s = lock(&self.state);
        let ino = self.ino;
        s.mutate(|s| {
            s.stats.sync_data += 1;
            s.sync_file(ino, "sync_data", false);
            Ok(())
        })
    }

    fn sync_all(&self) -> io::Result<()> {
        let mut s = lock(&self.state);
        let ino = self.ino;
        s.mutate(|s| {
            s.stats.sync_all += 1;
            s.sync_file(ino, "sync_all", true);
            Ok(())
        })
    }

    fn metadata(&self) -> io::Result<Metadata> {
        let s = lock(&self.state);
        s.check_alive()?;
        Ok(s.metadata(self.ino))
    }
}

impl FileSystem for SimFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FileHandle>> {
        let mut s = lock(&self.state);
        let (ino, writable) = match mode {
            OpenMode::Read | OpenMode::ReadWrite => {
                s.check_alive()?;
                let ino = s.lookup(path)?;
                match s.kind(ino) {
                    FileKind::File => {}
                    FileKind::Dir => return Err(errno(Errno::ISDIR)),
                    _ => return Err(errno(Errno::LOOP)),
                }
                (ino, mode == OpenMode::ReadWrite)
            }
            OpenMode::CreateNew { mode } => {
                let ino = s.mutate(|s| {
                    let (dir, name) = s.parent_of(path)?;
                    if s.entry(dir, &name).is_some() {
                        return Err(errno(Errno::EXIST));
                    }
                    let ino = s.new_inode(Node::File {
                        data: Arc::new(Vec::new()),
                        mode: mode & 0o7777,
                    });
                    s.set_entries(&[(dir, name, Some(ino))]);
                    Ok(ino)
                })?;
                (ino, true)
            }
        };
        Ok(Box::new(SimFile {
            state: self.state.clone(),
            ino,
            writable,
        }))
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        let s = lock(&self.state);
        s.check_alive()?;
        let ino = s.lookup(path)?;
        Ok(s.metadata(ino))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let s = lock(&self.state);
        s.check_alive()?;
        let ino = s.lookup(path)?;
        match s.nodes.get(&ino) {
            Some(Node::Dir { entries, .. }) => Ok(entries
                .iter()
                .map(|(name, child)| DirEntry {
                    name: name.clone(),
                    kind: s.kind(*child),
                })
                .collect()),
            _ => Err(errno(Errno::NOTDIR)),
        }
    }

    fn read_link(&self, path: &Path) -> io::Result<OsString> {
        let s = lock(&self.state);
        s.check_alive()?;
        let ino = s.lookup(path)?;
        match s.nodes.get(&ino) {
            Some(Node::Symlink { target }) => Ok(target.clone()),
            _ => Err(errno(Errno::INVAL)),
        }
    }

    fn create_dir(&self, path: &Path, mode: u32) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            let (dir, name) = s.parent_of(path)?;
            if s.entry(dir, &name).is_some() {
                return Err(errno(Errno::EXIST));
            }
            let ino = s.new_inode(Node::Dir {
                entries: BTreeMap::new(),
                mode: mode & 0o7777,
            });
            s.set_entries(&[(dir, name, Some(ino))]);
            Ok(())
        })
    }

    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            let ino = s.lookup(path)?;
            match s.nodes.get_mut(&ino) {
                Some(Node::File { mode: m, .. } | Node::Dir { mode: m, .. }) => *m = mode & 0o7777,
                _ => return Err(errno(Errno::LOOP)),
            }
            s.touch(ino, false);
            s.pending.push(Pending::Mode {
                ino,
                mode: mode & 0o7777,
            });
            Ok(())
        })
    }

    /// The simulator has no users: everything may be written.
    fn may_write_dir(&self, dir: &Path) -> io::Result<bool> {
        let s = lock(&self.state);
        s.check_alive()?;
        s.lookup(dir)?;
        Ok(true)
    }

    fn symlink(&self, target: &OsStr, path: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            let (dir, name) = s.parent_of(path)?;
            if s.entry(dir, &name).is_some() {
                return Err(errno(Errno::EXIST));
            }
            let ino = s.new_inode(Node::Symlink {
                target: target.to_os_string(),
            });
            s.set_entries(&[(dir, name, Some(ino))]);
            Ok(())
        })
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            let (dir, name) = s.parent_of(path)?;
            let ino = s.entry(dir, &name).ok_or_else(|| errno(Errno::NOENT))?;
            if s.kind(ino) == FileKind::Dir {
                return Err(errno(Errno::ISDIR));
            }
            s.set_entries(&[(dir, name, None)]);
            Ok(())
        })
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            let (dir, name) = s.parent_of(path)?;
            let ino = s.entry(dir, &name).ok_or_else(|| errno(Errno::NOENT))?;
            if s.kind(ino) != FileKind::Dir {
                return Err(errno(Errno::NOTDIR));
            }
            if !s.is_empty_dir(ino) {
                return Err(errno(Errno::NOTEMPTY));
            }
            s.set_entries(&[(dir, name, None)]);
            Ok(())
        })
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| rename_in(s, from, to, false))
    }

    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| rename_in(s, from, to, true))
    }

    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            if a.starts_with(b) || b.starts_with(a) {
                return Err(errno(Errno::INVAL));
            }
            let (da, na) = s.parent_of(a)?;
            let (db, nb) = s.parent_of(b)?;
            let ia = s.entry(da, &na).ok_or_else(|| errno(Errno::NOENT))?;
            let ib = s.entry(db, &nb).ok_or_else(|| errno(Errno::NOENT))?;
            s.set_entries(&[(da, na, Some(ib)), (db, nb, Some(ia))]);
            Ok(())
        })
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        lock(&self.state).mutate(|s| {
            let ino = s.lookup(path)?;
            if s.kind(ino) != FileKind::Dir {
                return Err(errno(Errno::NOTDIR));
            }
            s.stats.sync_dir += 1;
            s.sync_directory(ino);
            s.stats
                .log
                .push(("sync_dir".to_string(), path.display().to_string()));
            Ok(())
        })
    }

    /// `sim-<n>`, where n counts the power losses this file system went through.
    fn boot_id(&self) -> Option<String> {
        Some(format!("sim-{}", lock(&self.state).boot))
    }

    fn lock(
        &self,
        path: &Path,
        kind: LockKind,
        _wait: bool,
    ) -> Result<Box<dyn LockGuard>, LockError> {
        // One simulated process: the lock is always free. The lock file itself is created
        // like any file (it counts as a mutating call only when it is created).
        let exists = self.exists(path).map_err(LockError::Io)?;
        if !exists {
            self.open(path, OpenMode::CreateNew { mode: 0o644 })
                .map_err(LockError::Io)?;
        }
        if kind == LockKind::Exclusive {
            // The real exclusive holder writes its PID into the file, which sets its time
            // stamps to now (the stat cache reads the time from them). Only that is modelled
            // here, and, as on the real file system, it is not a mutating call.
            let mut s = lock(&self.state);
            s.check_alive().map_err(LockError::Io)?;
            let ino = s.lookup(path).map_err(LockError::Io)?;
            s.clock += 1;
            s.touch(ino, true);
        }
        Ok(Box::new(SimLock))
    }
}

fn rename_in(s: &mut State, from: &Path, to: &Path, noreplace: bool) -> io::Result<()> {
    let (df, nf) = s.parent_of(from)?;
    let (dt, nt) = s.parent_of(to)?;
    let src = s.entry(df, &nf).ok_or_else(|| errno(Errno::NOENT))?;
    if from == to {
        return Ok(());
    }
    if s.kind(src) == FileKind::Dir && to.starts_with(from) {
        return Err(errno(Errno::INVAL));
    }
    if let Some(dst) = s.entry(dt, &nt) {
        if noreplace {
            return Err(errno(Errno::EXIST));
        }
        match (s.kind(src), s.kind(dst)) {
            (FileKind::Dir, FileKind::Dir) if !s.is_empty_dir(dst) => {
                return Err(errno(Errno::NOTEMPTY));
            }
            (FileKind::Dir, FileKind::Dir) => {}
            (FileKind::Dir, _) => return Err(errno(Errno::NOTDIR)),
            (_, FileKind::Dir) => return Err(errno(Errno::ISDIR)),
            _ => {}
        }
    }
    s.set_entries(&[(df, nf, None), (dt, nt, Some(src))]);
    Ok(())
}
