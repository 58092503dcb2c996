//! The real file system: std, plus `rustix` where std has no call (`renameat2`).

use super::{
    DirEntry, FileHandle, FileKind, FileSystem, FileTime, LockError, LockGuard, LockKind, Metadata,
    OpenMode, SyncFailure, errno,
};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Most syncs of one [`FileSystem::sync_set`] in flight at once (one thread each).
pub const SYNC_THREADS_MAX: usize = 16;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

struct RealFile(File);

struct RealLock {
    _file: File,
}

impl LockGuard for RealLock {}

fn kind_of(ft: fs::FileType) -> FileKind {
    if ft.is_file() {
        FileKind::File
    } else if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_symlink() {
        FileKind::Symlink
    } else {
        FileKind::Other
    }
}

fn metadata_of(m: &fs::Metadata) -> Metadata {
    Metadata {
        kind: kind_of(m.file_type()),
        len: m.len(),
        ino: m.ino(),
        dev: m.dev(),
        mode: m.mode() & 0o7777,
        mtime: FileTime {
            sec: m.mtime(),
            nsec: m.mtime_nsec() as u32,
        },
        ctime: FileTime {
            sec: m.ctime(),
            nsec: m.ctime_nsec() as u32,
        },
    }
}

impl FileHandle for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        loop {
            match self.0.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }
    fn metadata(&self) -> io::Result<Metadata> {
        Ok(metadata_of(&self.0.metadata()?))
    }
}

impl FileSystem for RealFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FileHandle>> {
        let mut opts = OpenOptions::new();
        match mode {
            OpenMode::Read => opts.read(true),
            OpenMode::ReadWrite => opts.read(true).write(true),
            OpenMode::CreateNew { mode } => opts.read(true).write(true).create_new(true).mode(mode),
        };
        // O_NOFOLLOW: the engine never opens through a link it did not make.
        opts.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        let file = opts.open(path)?;
        if let OpenMode::CreateNew { mode } = mode {
            // The umask took bits away: put them back on the new file (by its descriptor,
            // before anything is written to it), so the bits are exactly the ones asked for.
            let now = file.metadata()?.mode() & 0o7777;
            if now != mode & 0o7777 {
                file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
            }
        }
        Ok(Box::new(RealFile(file)))
    }

    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        Ok(metadata_of(&fs::symlink_metadata(path)?))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            out.push(DirEntry {
                name: entry.file_name(),
                kind: kind_of(entry.file_type()?),
            });
        }
        Ok(out)
    }

    fn read_link(&self, path: &Path) -> io::Result<OsString> {
        Ok(fs::read_link(path)?.into_os_string())
    }

    fn create_dir(&self, path: &Path, mode: u32) -> io::Result<()> {
        fs::DirBuilder::new().mode(mode).create(path)?;
        // The umask may have taken bits away; a directory just made by this process is
        // chmod-ed by its path (nothing else writes inside the engine's own directories).
        if fs::symlink_metadata(path)?.mode() & 0o7777 != mode & 0o7777 {
            self.set_mode(path, mode)?;
        }
        Ok(())
    }

    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        use rustix::fs::{CWD, FileType, Mode, OFlags, openat};
        // chmod(2) follows a link in the last component, and Linux cannot chmod a link
        // itself. So: open the path without following it (O_PATH: no permission needed to
        // read it), check what it is, and chmod the inode through /proc/self/fd.
        let fd = openat(
            CWD,
            path,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        let st = rustix::fs::fstat(&fd).map_err(errno)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            return Err(errno(rustix::io::Errno::LOOP));
        }
        let by_fd = PathBuf::from(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ));
        let perms = fs::Permissions::from_mode(mode & 0o7777);
        match fs::set_permissions(&by_fd, perms.clone()) {
            // No /proc: the checked path itself (a race with a link swapped in between is
            // then possible; only a writer inside the collection could make one).
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::set_permissions(path, perms),
            r => r,
        }
    }

    fn may_write_dir(&self, dir: &Path) -> io::Result<bool> {
        use rustix::fs::{Access, AtFlags, CWD, accessat};
        match accessat(
            CWD,
            dir,
            Access::WRITE_OK | Access::EXEC_OK,
            AtFlags::EACCESS | AtFlags::SYMLINK_NOFOLLOW,
        ) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::ACCESS) | Err(rustix::io::Errno::ROFS) => Ok(false),
            Err(e) => Err(errno(e)),
        }
    }

    fn symlink(&self, target: &std::ffi::OsStr, path: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, path)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(errno)
    }

    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(errno)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn boot_id(&self) -> Option<String> {
        let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let id = id.trim();
        (!id.is_empty() && id.len() <= 64).then(|| id.to_string())
    }

    /// The syncs run concurrently, up to [`SYNC_THREADS_MAX`] at a time, one thread each:
    /// concurrent `fsync`s share the file system's journal commit and the block layer merges
    /// their cache flushes, so a set of 8 costs little more than one (measured on ext4: 8
    /// syncs in ~7 ms instead of ~26 ms one after the other). After a failure no further
    /// batch is started; those in flight are waited for.
    fn sync_set(&self, files: &[PathBuf], dirs: &[PathBuf]) -> Result<(), SyncFailure> {
        let jobs: Vec<(&Path, bool)> = files
            .iter()
            .map(|f| (f.as_path(), true))
            .chain(dirs.iter().map(|d| (d.as_path(), false)))
            .collect();
        if jobs.len() <= 1 {
            return jobs
                .into_iter()
                .try_for_each(|(p, file)| super::sync_one(self, p, file));
        }
        std::thread::scope(|scope| {
            for batch in jobs.chunks(SYNC_THREADS_MAX) {
                let running: Vec<_> = batch
                    .iter()
                    .map(|&(p, file)| scope.spawn(move || super::sync_one(self, p, file)))
                    .collect();
                let mut first = None;
                for t in running {
                    let r = t.join().expect("a sync thread does not panic");
                    if let Err(e) = r {
                        first.get_or_insert(e);
                    }
                }
                if let Some(e) = first {
                    return Err(e);
                }
            }
            Ok(())
        })
    }

    fn lock(
        &self,
        path: &Path,
        kind: LockKind,
        wait: bool,
    ) -> Result<Box<dyn LockGuard>, LockError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map_err(LockError::Io)?;
        let taken = match (kind, wait) {
            (LockKind::Exclusive, true) => file.lock().map_err(LockError::Io),
            (LockKind::Shared, true) => file.lock_shared().map_err(LockError::Io),
            (LockKind::Exclusive, false) => try_lock(&file, File::try_lock),
            (LockKind::Shared, false) => try_lock(&file, File::try_lock_shared),
        };
        if let Err(e) = taken {
            return Err(match e {
                LockError::WouldBlock { .. } => LockError::WouldBlock {
                    holder: read_holder(&file),
                },
                other => other,
            });
        }
        if kind == LockKind::Exclusive {
            // Best effort: this text only helps a waiting process name the holder. A fixed
            // width overwrites the previous holder's text without a truncate (which frees a
            // block and, on a `discard` mount, was most of the cost of a clean open).
            let pid = format!("pid {:<27}\n", std::process::id());
            let _ = file.write_all_at(pid.as_bytes(), 0);
        }
        Ok(Box::new(RealLock { _file: file }))
    }
}

fn try_lock(file: &File, f: fn(&File) -> Result<(), fs::TryLockError>) -> Result<(), LockError> {
    match f(file) {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => Err(LockError::WouldBlock { holder: None }),
        Err(fs::TryLockError::Error(e)) => Err(LockError::Io(e)),
    }
}

fn read_holder(file: &File) -> Option<String> {
    let mut buf = [0u8; 64];
    let n = file.read_at(&mut buf, 0).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).trim().to_string();
    (!text.is_empty()).then_some(text)
}
