//! The model: live inodes, the durable image, and the pending operations between them.

use super::*;

#[derive(Clone)]
pub(super) enum Node {
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
pub(super) enum Pending {
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
pub(super) struct State {
    pub(super) nodes: HashMap<u64, Node>,
    pub(super) durable_files: HashMap<u64, Arc<Vec<u8>>>,
    pub(super) durable_dirs: HashMap<u64, BTreeMap<OsString, u64>>,
    /// Permission bits on disk: those a file or directory was created with (part of its
    /// creation), then those of the last `set_mode` made durable by an `fsync` of it.
    pub(super) durable_modes: HashMap<u64, u32>,
    pub(super) pending: Vec<Pending>,
    pub(super) next_ino: u64,
    pub(super) next_group: u64,
    pub(super) mutating_calls: u64,
    pub(super) crash_after: Option<u64>,
    pub(super) crashed: bool,
    pub(super) fail_at: Option<(u64, Errno)>,
    pub(super) stats: SyncStats,
    /// The simulated clock: one tick per mutating call, never reset (also not by a crash),
    /// so time stamps only grow.
    pub(super) clock: u64,
    /// Time stamps (mtime, ctime) of every inode, in ticks of `clock`. Kept as they are
    /// through a crash: whatever the disk kept, [`State::boot`] changes with power loss.
    pub(super) times: HashMap<u64, (u64, u64)>,
    /// Counts power losses ([`SimFs::crash`] under any model but `Kill`): the boot id.
    pub(super) boot: u64,
    /// The device of every inode not on the first one ([`ROOT_DEV`]): a directory made a
    /// mount point by [`SimFs::mount_device`] and everything created below it.
    pub(super) devs: HashMap<u64, u64>,
    /// The last device number given.
    pub(super) last_dev: u64,
}

/// The device of `/` and of everything not below another device's mount point.
pub(super) const ROOT_DEV: u64 = 1;

pub(super) fn crashed_error() -> io::Error {
    io::Error::other("simulated crash: the process is dead")
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock only happens in a failing test; keep going.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    pub(super) fn new() -> State {
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

    pub(super) fn check_alive(&self) -> io::Result<()> {
        if self.crashed {
            Err(crashed_error())
        } else {
            Ok(())
        }
    }

    /// Runs one mutating call: counts it, fails it if asked, and crashes right after it if
    /// asked.
    pub(super) fn mutate<T>(
        &mut self,
        f: impl FnOnce(&mut State) -> io::Result<T>,
    ) -> io::Result<T> {
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

    pub(super) fn components(path: &Path) -> io::Result<Vec<&OsStr>> {
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

    pub(super) fn lookup(&self, path: &Path) -> io::Result<u64> {
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
    pub(super) fn parent_of(&self, path: &Path) -> io::Result<(u64, OsString)> {
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

    pub(super) fn entries_mut(&mut self, dir: u64) -> &mut BTreeMap<OsString, u64> {
        match self.nodes.get_mut(&dir) {
            Some(Node::Dir { entries, .. }) => entries,
            _ => unreachable!("parent_of returns directories only"),
        }
    }

    pub(super) fn entry(&self, dir: u64, name: &OsStr) -> Option<u64> {
        match self.nodes.get(&dir) {
            Some(Node::Dir { entries, .. }) => entries.get(name).copied(),
            _ => None,
        }
    }

    pub(super) fn kind(&self, ino: u64) -> FileKind {
        match self.nodes.get(&ino) {
            Some(Node::File { .. }) => FileKind::File,
            Some(Node::Dir { .. }) => FileKind::Dir,
            Some(Node::Symlink { .. }) => FileKind::Symlink,
            None => FileKind::Other,
        }
    }

    pub(super) fn is_empty_dir(&self, ino: u64) -> bool {
        matches!(self.nodes.get(&ino), Some(Node::Dir { entries, .. }) if entries.is_empty())
    }

    /// Sets or removes live entries as one group, recording them as pending.
    pub(super) fn set_entries(&mut self, sides: &[(u64, OsString, Option<u64>)]) {
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

    /// A new inode in the directory `parent`, on the same device.
    pub(super) fn new_inode(&mut self, parent: u64, node: Node) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        let dev = self.dev_of(parent);
        if dev != ROOT_DEV {
            self.devs.insert(ino, dev);
        }
        if let Node::File { mode, .. } | Node::Dir { mode, .. } = &node {
            self.durable_modes.insert(ino, *mode);
        }
        self.nodes.insert(ino, node);
        self.times.insert(ino, (self.clock, self.clock));
        ino
    }

    /// Sets the inode's ctime (and its mtime, when its content changed) to now.
    pub(super) fn touch(&mut self, ino: u64, content: bool) {
        let now = self.clock;
        let t = self.times.entry(ino).or_insert((now, now));
        t.1 = now;
        if content {
            t.0 = now;
        }
    }

    /// The device the inode is on.
    pub(super) fn dev_of(&self, ino: u64) -> u64 {
        self.devs.get(&ino).copied().unwrap_or(ROOT_DEV)
    }

    pub(super) fn metadata(&self, ino: u64) -> Metadata {
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
            dev: self.dev_of(ino),
            mode,
            mtime: stamp(m),
            ctime: stamp(c),
        }
    }

    pub(super) fn file_data_mut(&mut self, ino: u64) -> &mut Vec<u8> {
        self.touch(ino, true);
        match self.nodes.get_mut(&ino) {
            Some(Node::File { data, .. }) => Arc::make_mut(data),
            _ => unreachable!("handles are opened on files only"),
        }
    }

    /// `fdatasync` (`metadata` false: the data and size) or `fsync` (also the permission
    /// bits) of a file.
    pub(super) fn sync_file(&mut self, ino: u64, what: &str, metadata: bool) {
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
    pub(super) fn sync_mode(&mut self, ino: u64) {
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
    pub(super) fn sync_directory(&mut self, dir: u64) {
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
