//! The simulator's model addressed by inode and directory entry instead of by path: the
//! calls a kernel makes of a file system (`lookup(dir, name)`, `write(ino, …)`,
//! `rename(dir, name, new_dir, new_name, flags)`, `fsync(ino)`, `fsyncdir(ino)`), for a file
//! system the real binary reaches through the kernel (`tools/powercut`, a FUSE file system).
//! Every call changes the live image and is kept pending until it is made durable, exactly
//! as through [`SimFs`]'s paths, and [`InodeModel::power_cut`] keeps what the same
//! [`CrashModel`]s keep: one model of the disk for the in-process simulator and for the real
//! binary on a real mount.
//!
//! Unlike [`SimFs`], it has hard links (a file may have several entries; it lives while one
//! remains or it is open, which the FUSE layer tracks) and can be loaded from, and written
//! out to, a real directory.

use super::*;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// The root directory's inode number (FUSE's too).
pub const ROOT: u64 = ROOT_INO;

/// What to create.
#[derive(Debug, Clone)]
pub enum NewNode {
    /// An empty regular file with these permission bits.
    File(u32),
    /// An empty directory with these permission bits.
    Dir(u32),
    /// A symbolic link to this target.
    Symlink(OsString),
}

/// How a rename treats an existing destination (`renameat2`'s flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameMode {
    /// Replaces it (a directory only by an empty directory).
    Replace,
    /// Fails with `EEXIST` when there is one (`RENAME_NOREPLACE`).
    NoReplace,
    /// Swaps the two entries, which must both exist (`RENAME_EXCHANGE`).
    Exchange,
}

/// One inode's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Kind, size, permission bits, times (in the model's ticks).
    pub meta: Metadata,
    /// Entries naming it (a directory: 2 plus its subdirectories, as POSIX says).
    pub nlink: u32,
}

/// The simulator's model by inode (see the module documentation).
#[derive(Clone)]
pub struct InodeModel {
    s: State,
}

impl Default for InodeModel {
    fn default() -> Self {
        InodeModel::new()
    }
}

impl InodeModel {
    /// An empty file system: a root directory of mode 0755, durable.
    pub fn new() -> InodeModel {
        InodeModel { s: State::new() }
    }

    /// The directory tree at `dir` on a real file system, all of it durable (it is what a
    /// disk holds after a boot): files with their bytes and permission bits, directories
    /// with theirs, symbolic links with their targets; hard links kept as such. Anything
    /// else (a socket, a device) fails.
    pub fn load(dir: &Path) -> io::Result<InodeModel> {
        let mut m = InodeModel::new();
        let root_mode = std::fs::symlink_metadata(dir)?.permissions().mode() & 0o7777;
        set_node_mode(&mut m.s, ROOT, root_mode);
        let mut seen: HashMap<(u64, u64), u64> = HashMap::new();
        let mut stack = vec![(dir.to_path_buf(), ROOT)];
        while let Some((path, ino)) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&path)?.collect::<io::Result<_>>()?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let p = e.path();
                let meta = std::fs::symlink_metadata(&p)?;
                let name = e.file_name();
                let key = (meta.dev(), meta.ino());
                let ft = meta.file_type();
                let mode = meta.permissions().mode() & 0o7777;
                if ft.is_file()
                    && let Some(existing) = seen.get(&key)
                {
                    m.s.entries_mut(ino).insert(name, *existing);
                    continue;
                }
                let node = if ft.is_dir() {
                    Node::Dir {
                        entries: BTreeMap::new(),
                        mode,
                    }
                } else if ft.is_file() {
                    Node::File {
                        data: Arc::new(std::fs::read(&p)?),
                        mode,
                    }
                } else if ft.is_symlink() {
                    Node::Symlink {
                        target: std::fs::read_link(&p)?.into_os_string(),
                    }
                } else {
                    return Err(io::Error::other(format!(
                        "{}: not a file, directory or symbolic link",
                        p.display()
                    )));
                };
                let child = m.s.new_inode(ino, node);
                m.s.entries_mut(ino).insert(name, child);
                if ft.is_dir() {
                    stack.push((p, child));
                } else if ft.is_file() {
                    seen.insert(key, child);
                }
            }
        }
        m.s.pending.clear();
        mark_all_durable(&mut m.s);
        Ok(m)
    }

    /// Writes the live image into `dir`, which must be an empty directory: what is reachable
    /// from the root, files with their bytes and permission bits, directories with theirs
    /// (set last, so that one without write permission can still be filled), links, hard
    /// links as hard links.
    pub fn write_out(&self, dir: &Path) -> io::Result<()> {
        let mut first_path: HashMap<u64, PathBuf> = HashMap::new();
        let mut dirs: Vec<(PathBuf, u32)> = vec![(dir.to_path_buf(), self.node_mode(ROOT))];
        let mut stack = vec![(dir.to_path_buf(), ROOT)];
        while let Some((path, ino)) = stack.pop() {
            let Some(Node::Dir { entries, .. }) = self.s.nodes.get(&ino) else {
                continue;
            };
            for (name, child) in entries {
                let p = path.join(name);
                if let Some(first) = first_path.get(child) {
                    std::fs::hard_link(first, &p)?;
                    continue;
                }
                match &self.s.nodes[child] {
                    Node::File { data, mode } => {
                        std::fs::write(&p, data.as_slice())?;
                        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))?;
                        first_path.insert(*child, p);
                    }
                    Node::Dir { mode, .. } => {
                        std::fs::create_dir(&p)?;
                        dirs.push((p.clone(), *mode));
                        stack.push((p, *child));
                    }
                    Node::Symlink { target } => std::os::unix::fs::symlink(target, &p)?,
                }
            }
        }
        for (p, mode) in dirs.into_iter().rev() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }

    /// The file system after a power cut now under `model` ([`CrashModel::Kill`]: nothing
    /// is lost), chosen by `seed`: everything in it durable.
    pub fn power_cut(&self, model: CrashModel, seed: u64) -> InodeModel {
        let mut next = match model {
            CrashModel::Kill => {
                let mut s = self.s.clone();
                s.pending.clear();
                mark_all_durable(&mut s);
                s
            }
            _ => durable_image(&self.s, model, seed),
        };
        next.boot = self.s.boot + 1;
        InodeModel { s: next }
    }

    /// How many changes are not durable yet.
    pub fn pending(&self) -> usize {
        self.s.pending.len()
    }

    /// Every durability call so far.
    pub fn sync_stats(&self) -> &SyncStats {
        &self.s.stats
    }

    /// The inode `name` in the directory `dir` names.
    pub fn lookup(&self, dir: u64, name: &OsStr) -> io::Result<u64> {
        match self.s.nodes.get(&dir) {
            Some(Node::Dir { entries, .. }) => entries
                .get(name)
                .copied()
                .ok_or_else(|| errno(Errno::NOENT)),
            Some(_) => Err(errno(Errno::NOTDIR)),
            None => Err(errno(Errno::NOENT)),
        }
    }

    /// Whether the inode exists (it may have no entry left).
    pub fn exists(&self, ino: u64) -> bool {
        self.s.nodes.contains_key(&ino)
    }

    /// The directory holding the directory `ino` (the root's is the root).
    pub fn parent(&self, ino: u64) -> Option<u64> {
        if ino == ROOT {
            return Some(ROOT);
        }
        self.s.nodes.iter().find_map(|(d, n)| match n {
            Node::Dir { entries, .. } if entries.values().any(|c| *c == ino) => Some(*d),
            _ => None,
        })
    }

    /// The inode's attributes.
    pub fn attr(&self, ino: u64) -> io::Result<Attr> {
        if !self.exists(ino) {
            return Err(errno(Errno::NOENT));
        }
        let meta = self.s.metadata(ino);
        let nlink = match &self.s.nodes[&ino] {
            Node::Dir { entries, .. } => {
                2 + entries
                    .values()
                    .filter(|c| self.s.kind(**c) == FileKind::Dir)
                    .count() as u32
            }
            _ => self.links_to(ino),
        };
        Ok(Attr { meta, nlink })
    }

    /// How many directory entries name `ino`.
    pub fn links_to(&self, ino: u64) -> u32 {
        self.s
            .nodes
            .values()
            .map(|n| match n {
                Node::Dir { entries, .. } => entries.values().filter(|c| **c == ino).count(),
                _ => 0,
            })
            .sum::<usize>() as u32
    }

    /// The entries of the directory `ino`, in name order.
    pub fn read_dir(&self, ino: u64) -> io::Result<Vec<(OsString, u64, FileKind)>> {
        match self.s.nodes.get(&ino) {
            Some(Node::Dir { entries, .. }) => Ok(entries
                .iter()
                .map(|(n, c)| (n.clone(), *c, self.s.kind(*c)))
                .collect()),
            Some(_) => Err(errno(Errno::NOTDIR)),
            None => Err(errno(Errno::NOENT)),
        }
    }

    /// The target of the link `ino`.
    pub fn read_link(&self, ino: u64) -> io::Result<OsString> {
        match self.s.nodes.get(&ino) {
            Some(Node::Symlink { target }) => Ok(target.clone()),
            _ => Err(errno(Errno::INVAL)),
        }
    }

    /// Up to `len` bytes of the file `ino` from `offset`.
    pub fn read(&self, ino: u64, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        match self.s.nodes.get(&ino) {
            Some(Node::File { data, .. }) => {
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(len).min(data.len());
                Ok(data[start..end].to_vec())
            }
            Some(Node::Dir { .. }) => Err(errno(Errno::ISDIR)),
            _ => Err(errno(Errno::INVAL)),
        }
    }

    /// Creates `name` in the directory `dir`; fails with `EEXIST` if it is there.
    pub fn create(&mut self, dir: u64, name: &OsStr, node: NewNode) -> io::Result<u64> {
        self.check_name(name)?;
        self.lookup_dir(dir)?;
        if self.s.entry(dir, name).is_some() {
            return Err(errno(Errno::EXIST));
        }
        let node = match node {
            NewNode::File(mode) => Node::File {
                data: Arc::new(Vec::new()),
                mode: mode & 0o7777,
            },
            NewNode::Dir(mode) => Node::Dir {
                entries: BTreeMap::new(),
                mode: mode & 0o7777,
            },
            NewNode::Symlink(target) => Node::Symlink { target },
        };
        self.tick();
        let ino = self.s.new_inode(dir, node);
        self.s.set_entries(&[(dir, name.to_os_string(), Some(ino))]);
        Ok(ino)
    }

    /// A new entry `name` in `dir` for the file or link `ino` (a hard link).
    pub fn link(&mut self, ino: u64, dir: u64, name: &OsStr) -> io::Result<()> {
        self.check_name(name)?;
        self.lookup_dir(dir)?;
        match self.s.nodes.get(&ino) {
            Some(Node::Dir { .. }) => return Err(errno(Errno::PERM)),
            Some(_) => {}
            None => return Err(errno(Errno::NOENT)),
        }
        if self.s.entry(dir, name).is_some() {
            return Err(errno(Errno::EXIST));
        }
        self.tick();
        self.s.set_entries(&[(dir, name.to_os_string(), Some(ino))]);
        Ok(())
    }

    /// Removes the entry `name` from `dir`: a file or link (`dir_wanted` false, else
    /// `EISDIR`) or an empty directory (`dir_wanted` true, else `ENOTDIR`/`ENOTEMPTY`).
    /// The inode stays in the live image, unreachable (an open file can still be used); a
    /// power cut keeps only what its durable entries reach.
    pub fn remove(&mut self, dir: u64, name: &OsStr, dir_wanted: bool) -> io::Result<u64> {
        let ino = self.lookup(dir, name)?;
        let is_dir = self.s.kind(ino) == FileKind::Dir;
        match (dir_wanted, is_dir) {
            (false, true) => return Err(errno(Errno::ISDIR)),
            (true, false) => return Err(errno(Errno::NOTDIR)),
            (true, true) if !self.s.is_empty_dir(ino) => return Err(errno(Errno::NOTEMPTY)),
            _ => {}
        }
        self.tick();
        self.s.set_entries(&[(dir, name.to_os_string(), None)]);
        Ok(ino)
    }

    /// `renameat2(dir, name, new_dir, new_name, mode)`, one group of entry changes: a power
    /// cut keeps all of it or none, and syncing either directory makes all of it durable.
    pub fn rename(
        &mut self,
        dir: u64,
        name: &OsStr,
        new_dir: u64,
        new_name: &OsStr,
        mode: RenameMode,
    ) -> io::Result<()> {
        self.check_name(new_name)?;
        let src = self.lookup(dir, name)?;
        self.lookup_dir(new_dir)?;
        let dst = self.s.entry(new_dir, new_name);
        if dir == new_dir && name == new_name {
            return match (mode, dst) {
                (RenameMode::NoReplace, Some(_)) => Err(errno(Errno::EXIST)),
                _ => Ok(()),
            };
        }
        // A directory never goes below itself (nor, exchanged, does the other).
        let moves_into_itself = |m: &InodeModel, moving: u64, target_dir: u64| {
            m.s.kind(moving) == FileKind::Dir && m.is_ancestor(moving, target_dir)
        };
        if moves_into_itself(self, src, new_dir) {
            return Err(errno(Errno::INVAL));
        }
        match mode {
            RenameMode::Exchange => {
                let dst = dst.ok_or_else(|| errno(Errno::NOENT))?;
                if moves_into_itself(self, dst, dir) {
                    return Err(errno(Errno::INVAL));
                }
                self.tick();
                self.s.set_entries(&[
                    (dir, name.to_os_string(), Some(dst)),
                    (new_dir, new_name.to_os_string(), Some(src)),
                ]);
                return Ok(());
            }
            RenameMode::NoReplace if dst.is_some() => return Err(errno(Errno::EXIST)),
            _ => {}
        }
        if let Some(dst) = dst {
            if dst == src {
                return Ok(()); // two links to one file: POSIX says do nothing
            }
            match (self.s.kind(src), self.s.kind(dst)) {
                (FileKind::Dir, FileKind::Dir) if !self.s.is_empty_dir(dst) => {
                    return Err(errno(Errno::NOTEMPTY));
                }
                (FileKind::Dir, FileKind::Dir) => {}
                (FileKind::Dir, _) => return Err(errno(Errno::NOTDIR)),
                (_, FileKind::Dir) => return Err(errno(Errno::ISDIR)),
                _ => {}
            }
        }
        self.tick();
        self.s.set_entries(&[
            (dir, name.to_os_string(), None),
            (new_dir, new_name.to_os_string(), Some(src)),
        ]);
        Ok(())
    }

    /// Writes `data` at `offset` into the file `ino`.
    pub fn write(&mut self, ino: u64, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file(ino)?;
        self.tick();
        write_into(self.s.file_data_mut(ino), offset, data);
        self.s.pending.push(Pending::Write {
            ino,
            offset,
            data: Arc::new(data.to_vec()),
        });
        Ok(())
    }

    /// Truncates or extends the file `ino` to `len` bytes.
    pub fn set_len(&mut self, ino: u64, len: u64) -> io::Result<()> {
        self.file(ino)?;
        self.tick();
        self.s.file_data_mut(ino).resize(len as usize, 0);
        self.s.pending.push(Pending::SetLen { ino, len });
        Ok(())
    }

    /// Sets the permission bits of the file or directory `ino` (durable with an `fsync` of
    /// it).
    pub fn set_mode(&mut self, ino: u64, mode: u32) -> io::Result<()> {
        match self.s.nodes.get_mut(&ino) {
            Some(Node::File { mode: m, .. } | Node::Dir { mode: m, .. }) => *m = mode & 0o7777,
            Some(Node::Symlink { .. }) => return Ok(()),
            None => return Err(errno(Errno::NOENT)),
        }
        self.tick();
        self.s.touch(ino, false);
        self.s.pending.push(Pending::Mode {
            ino,
            mode: mode & 0o7777,
        });
        Ok(())
    }

    /// `fsync` (`metadata`: also the permission bits) or `fdatasync` of the file `ino`;
    /// of a directory, `fsync` makes its entries durable ([`InodeModel::sync_dir`]).
    pub fn sync(&mut self, ino: u64, metadata: bool) -> io::Result<()> {
        match self.s.kind(ino) {
            FileKind::Dir => self.sync_dir(ino),
            FileKind::File => {
                self.tick();
                let what = if metadata { "sync_all" } else { "sync_data" };
                if metadata {
                    self.s.stats.sync_all += 1;
                } else {
                    self.s.stats.sync_data += 1;
                }
                self.s.sync_file(ino, what, metadata);
                Ok(())
            }
            FileKind::Symlink => Ok(()),
            FileKind::Other => Err(errno(Errno::NOENT)),
        }
    }

    /// `fsync` of the directory `ino`: its entries (with every rename group touching it)
    /// and its permission bits durable.
    pub fn sync_dir(&mut self, ino: u64) -> io::Result<()> {
        self.lookup_dir(ino)?;
        self.tick();
        self.s.stats.sync_dir += 1;
        self.s.sync_directory(ino);
        self.s
            .stats
            .log
            .push(("sync_dir".to_string(), format!("ino {ino}")));
        Ok(())
    }

    fn tick(&mut self) {
        self.s.mutating_calls += 1;
        self.s.clock += 1;
    }

    fn node_mode(&self, ino: u64) -> u32 {
        match &self.s.nodes[&ino] {
            Node::File { mode, .. } | Node::Dir { mode, .. } => *mode,
            Node::Symlink { .. } => 0o777,
        }
    }

    fn file(&self, ino: u64) -> io::Result<()> {
        match self.s.nodes.get(&ino) {
            Some(Node::File { .. }) => Ok(()),
            Some(Node::Dir { .. }) => Err(errno(Errno::ISDIR)),
            Some(Node::Symlink { .. }) => Err(errno(Errno::INVAL)),
            None => Err(errno(Errno::NOENT)),
        }
    }

    fn lookup_dir(&self, ino: u64) -> io::Result<()> {
        match self.s.nodes.get(&ino) {
            Some(Node::Dir { .. }) => Ok(()),
            Some(_) => Err(errno(Errno::NOTDIR)),
            None => Err(errno(Errno::NOENT)),
        }
    }

    fn check_name(&self, name: &OsStr) -> io::Result<()> {
        let b = name.as_bytes();
        if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
            return Err(errno(Errno::INVAL));
        }
        if b.len() > 255 {
            return Err(errno(Errno::NAMETOOLONG));
        }
        Ok(())
    }

    /// Whether the directory `a` is `b` or holds it, at any depth.
    fn is_ancestor(&self, a: u64, mut b: u64) -> bool {
        loop {
            if a == b {
                return true;
            }
            if b == ROOT {
                return false;
            }
            match self.parent(b) {
                Some(p) => b = p,
                None => return false,
            }
        }
    }
}

fn set_node_mode(s: &mut State, ino: u64, mode: u32) {
    if let Some(Node::File { mode: m, .. } | Node::Dir { mode: m, .. }) = s.nodes.get_mut(&ino) {
        *m = mode;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> &OsStr {
        OsStr::new(n)
    }

    /// A durable file `f` holding `old` in a durable directory `d`.
    fn start() -> (InodeModel, u64, u64) {
        let mut m = InodeModel::new();
        let d = m.create(ROOT, name("d"), NewNode::Dir(0o755)).unwrap();
        let f = m.create(d, name("f"), NewNode::File(0o644)).unwrap();
        m.write(f, 0, b"old").unwrap();
        m.sync(f, true).unwrap();
        m.sync_dir(d).unwrap();
        m.sync_dir(ROOT).unwrap();
        assert_eq!(m.pending(), 0);
        (m, d, f)
    }

    fn content(m: &InodeModel, d: u64, n: &str) -> Option<Vec<u8>> {
        let ino = m.lookup(d, name(n)).ok()?;
        Some(m.read(ino, 0, usize::MAX).unwrap())
    }

    #[test]
    fn a_new_file_needs_its_data_and_its_directory_synced() {
        for (sync_file, sync_dir, survives) in [
            (false, false, false),
            (true, false, false),
            (false, true, true),
            (true, true, true),
        ] {
            let (mut m, d, _) = start();
            let g = m.create(d, name("g"), NewNode::File(0o600)).unwrap();
            m.write(g, 0, b"new").unwrap();
            if sync_file {
                m.sync(g, false).unwrap();
            }
            if sync_dir {
                m.sync_dir(d).unwrap();
            }
            let after = m.power_cut(CrashModel::DropAll, 1);
            let want = survives.then(|| {
                if sync_file {
                    b"new".to_vec()
                } else {
                    Vec::new()
                }
            });
            assert_eq!(content(&after, d, "g"), want, "{sync_file} {sync_dir}");
            // Created with its mode: the mode is part of the creation.
            if survives {
                let g = after.lookup(d, name("g")).unwrap();
                assert_eq!(after.attr(g).unwrap().meta.mode, 0o600);
            }
        }
    }

    #[test]
    fn a_rename_is_durable_with_its_directory_and_atomic() {
        let (mut m, d, _) = start();
        let t = m.create(d, name("t"), NewNode::File(0o644)).unwrap();
        m.write(t, 0, b"new").unwrap();
        m.sync(t, true).unwrap();
        m.rename(d, name("t"), d, name("f"), RenameMode::Replace)
            .unwrap();
        assert_eq!(content(&m, d, "f").unwrap(), b"new");
        let lost = m.power_cut(CrashModel::DropAll, 1);
        assert_eq!(content(&lost, d, "f").unwrap(), b"old");
        assert_eq!(content(&lost, d, "t"), None, "t was never made durable");
        // Subset: all of the rename or none of it, whatever the seed (the creation of `t`
        // before it is a change of its own: kept or not).
        let mut seen = HashSet::new();
        for seed in 0..64 {
            let a = m.power_cut(CrashModel::Subset, seed);
            let state = (content(&a, d, "f"), content(&a, d, "t"));
            let (old, new) = (Some(b"old".to_vec()), Some(b"new".to_vec()));
            assert!(
                state == (new.clone(), None) || state == (old.clone(), None) || state == (old, new),
                "{state:?}"
            );
            seen.insert(state);
        }
        assert_eq!(seen.len(), 3, "every outcome occurs");
        m.sync_dir(d).unwrap();
        let kept = m.power_cut(CrashModel::DropAll, 1);
        assert_eq!(content(&kept, d, "f").unwrap(), b"new");
    }

    #[test]
    fn an_exchange_swaps_both_or_neither_and_either_directory_makes_it_durable() {
        let (mut m, d, _) = start();
        let e = m.create(ROOT, name("e"), NewNode::Dir(0o755)).unwrap();
        let g = m.create(e, name("g"), NewNode::File(0o644)).unwrap();
        m.write(g, 0, b"other").unwrap();
        m.sync(g, true).unwrap();
        m.sync_dir(e).unwrap();
        m.sync_dir(ROOT).unwrap();
        m.rename(d, name("f"), e, name("g"), RenameMode::Exchange)
            .unwrap();
        for seed in 0..32 {
            let a = m.power_cut(CrashModel::Subset, seed);
            let state = (content(&a, d, "f"), content(&a, e, "g"));
            assert!(
                state == (Some(b"old".to_vec()), Some(b"other".to_vec()))
                    || state == (Some(b"other".to_vec()), Some(b"old".to_vec())),
                "{state:?}"
            );
        }
        // Syncing the second directory makes the whole exchange durable.
        m.sync_dir(e).unwrap();
        let a = m.power_cut(CrashModel::DropAll, 1);
        assert_eq!(content(&a, d, "f").unwrap(), b"other");
        assert_eq!(content(&a, e, "g").unwrap(), b"old");
        assert_eq!(
            m.rename(d, name("f"), e, name("none"), RenameMode::Exchange)
                .unwrap_err()
                .raw_os_error(),
            Some(libc_errno(Errno::NOENT))
        );
    }

    #[test]
    fn unsynced_writes_reach_the_disk_as_a_prefix_and_the_last_may_be_torn() {
        let (mut m, d, f) = start();
        m.write(f, 0, &[b'a'; 1000]).unwrap();
        m.write(f, 1000, &[b'b'; 1000]).unwrap();
        let whole: Vec<u8> = [[b'a'; 1000], [b'b'; 1000]].concat();
        let mut torn = false;
        for seed in 0..64 {
            let a = m.power_cut(CrashModel::Torn, seed);
            let got = content(&a, d, "f").unwrap();
            if got == b"old" {
                continue; // neither write reached the disk
            }
            // A prefix of the writes, in order, the last of them torn: everything before the
            // last write kept is intact.
            let last_start = match got.len() {
                1000 => 0,
                2000 => 1000,
                n => panic!("seed {seed}: {n} bytes"),
            };
            assert_eq!(got[..last_start], whole[..last_start], "seed {seed}");
            let intact = got.iter().zip(&whole).take_while(|(g, w)| g == w).count();
            torn |= intact < got.len();
        }
        assert!(torn, "some seed tears the last write kept");
        m.sync(f, false).unwrap();
        let a = m.power_cut(CrashModel::Torn, 3);
        let want: Vec<u8> = [[b'a'; 1000], [b'b'; 1000]].concat();
        assert_eq!(content(&a, d, "f").unwrap(), want);
    }

    #[test]
    fn a_mode_is_durable_with_an_fsync_of_its_inode() {
        let (mut m, d, f) = start();
        m.set_mode(f, 0o755).unwrap();
        assert_eq!(m.attr(f).unwrap().meta.mode, 0o755);
        let a = m.power_cut(CrashModel::DropAll, 1);
        assert_eq!(
            a.attr(a.lookup(d, name("f")).unwrap()).unwrap().meta.mode,
            0o644
        );
        m.sync(f, false).unwrap();
        let a = m.power_cut(CrashModel::DropAll, 1);
        assert_eq!(
            a.attr(f).unwrap().meta.mode,
            0o644,
            "fdatasync keeps no mode"
        );
        m.sync(f, true).unwrap();
        let a = m.power_cut(CrashModel::DropAll, 1);
        assert_eq!(a.attr(f).unwrap().meta.mode, 0o755);
    }

    #[test]
    fn rename_refuses_what_renameat2_refuses() {
        let (mut m, d, _) = start();
        let sub = m.create(d, name("sub"), NewNode::Dir(0o755)).unwrap();
        m.create(sub, name("x"), NewNode::File(0o644)).unwrap();
        let code = |r: io::Result<()>| r.unwrap_err().raw_os_error();
        assert_eq!(
            code(m.rename(ROOT, name("d"), sub, name("d"), RenameMode::Replace)),
            Some(libc_errno(Errno::INVAL))
        );
        assert_eq!(
            code(m.rename(d, name("f"), d, name("sub"), RenameMode::Replace)),
            Some(libc_errno(Errno::ISDIR))
        );
        assert_eq!(
            code(m.rename(d, name("sub"), d, name("f"), RenameMode::Replace)),
            Some(libc_errno(Errno::NOTDIR))
        );
        assert_eq!(
            code(m.rename(d, name("f"), d, name("sub"), RenameMode::NoReplace)),
            Some(libc_errno(Errno::EXIST))
        );
        let empty = m.create(ROOT, name("empty"), NewNode::Dir(0o700)).unwrap();
        assert_eq!(
            code(m.rename(ROOT, name("empty"), d, name("sub"), RenameMode::Replace)),
            Some(libc_errno(Errno::NOTEMPTY))
        );
        m.rename(d, name("sub"), ROOT, name("empty"), RenameMode::Replace)
            .unwrap();
        assert!(!m.exists(empty) || m.links_to(empty) == 0);
        assert_eq!(
            code(m.remove(ROOT, name("empty"), true).map(|_| ())),
            Some(libc_errno(Errno::NOTEMPTY))
        );
    }

    #[test]
    fn a_directory_round_trips_through_a_real_one() {
        let src = tempfile::tempdir().unwrap();
        let root = src.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), b"bytes").unwrap();
        std::fs::set_permissions(root.join("d/f"), std::fs::Permissions::from_mode(0o751)).unwrap();
        std::fs::hard_link(root.join("d/f"), root.join("hard")).unwrap();
        std::os::unix::fs::symlink("d/f", root.join("link")).unwrap();
        std::fs::create_dir(root.join("ro")).unwrap();
        std::fs::write(root.join("ro/x"), b"x").unwrap();
        std::fs::set_permissions(root.join("ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
        let m = InodeModel::load(root).unwrap();
        assert_eq!(m.pending(), 0);
        let f = m
            .lookup(m.lookup(ROOT, name("d")).unwrap(), name("f"))
            .unwrap();
        assert_eq!(m.lookup(ROOT, name("hard")).unwrap(), f, "one inode");
        assert_eq!(m.attr(f).unwrap().nlink, 2);
        let out = tempfile::tempdir().unwrap();
        let dst = out.path().join("copy");
        std::fs::create_dir(&dst).unwrap();
        m.power_cut(CrashModel::DropAll, 1).write_out(&dst).unwrap();
        let meta = |p: &Path| std::fs::symlink_metadata(p).unwrap();
        assert_eq!(std::fs::read(dst.join("d/f")).unwrap(), b"bytes");
        assert_eq!(meta(&dst.join("d/f")).permissions().mode() & 0o7777, 0o751);
        assert_eq!(meta(&dst.join("hard")).ino(), meta(&dst.join("d/f")).ino());
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("d/f")
        );
        assert_eq!(meta(&dst.join("ro")).permissions().mode() & 0o7777, 0o555);
        assert_eq!(std::fs::read(dst.join("ro/x")).unwrap(), b"x");
        std::fs::set_permissions(root.join("ro"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dst.join("ro"), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn libc_errno(e: Errno) -> i32 {
        e.raw_os_error()
    }
}
