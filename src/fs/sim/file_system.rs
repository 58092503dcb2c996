//! [`FileSystem`] and [`FileHandle`] on the model: every call a real file system has,
//! applied to the live image and queued as pending until synced.

use super::*;

struct SimFile {
    state: Arc<Mutex<State>>,
    ino: u64,
    writable: bool,
}

struct SimLock;
impl LockGuard for SimLock {}

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
                    let ino = s.new_inode(
                        dir,
                        Node::File {
                            data: Arc::new(Vec::new()),
                            mode: mode & 0o7777,
                        },
                    );
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
            let ino = s.new_inode(
                dir,
                Node::Dir {
                    entries: BTreeMap::new(),
                    mode: mode & 0o7777,
                },
            );
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
            let ino = s.new_inode(
                dir,
                Node::Symlink {
                    target: target.to_os_string(),
                },
            );
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
            if s.dev_of(da) != s.dev_of(db) {
                return Err(errno(Errno::XDEV));
            }
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
    if s.dev_of(df) != s.dev_of(dt) {
        return Err(errno(Errno::XDEV));
    }
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
