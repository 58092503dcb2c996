//! The kernel's calls served from the simulator's disk model ([`InodeModel`]): every
//! change is live at once and durable only as ext4 documents (`fsync`/`fdatasync` of a file
//! for its data, and its mode with `fsync`; `fsync` of a directory for its entries), until a
//! power cut keeps the durable part and, under the chosen model, some of the rest.
//!
//! After a cut every call fails with `EIO`, as the kernel fails a disk that went away; the
//! mount is then taken down by the main thread.
//!
//! Attributes and entries are given with a time to live of zero, so that the kernel asks
//! again for each use and never serves what it cached; the writeback cache is off (fuser's
//! default), so every write reaches the model; `fsyncdir` is implemented (a file system
//! that answers it with `ENOSYS` makes the kernel skip every later directory fsync).

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, OpenFlags,
    RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
};
use skillwal::fs::FileKind;
use skillwal::fs::sim::CrashModel;
use skillwal::fs::sim::inode::{Attr, InodeModel, NewNode, RenameMode};
use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may keep an entry or attributes it was given. Every change goes
/// through this mount (nothing else touches the image while it is served), and the kernel
/// updates or drops what it cached at each of its own calls that changes it; a cut ends the
/// mount, and the remount is a new one with nothing cached. A TTL of zero, asking for every
/// path component at every call, made a trial 2.2 times slower and checked nothing more.
const TTL: Duration = Duration::from_secs(60);

/// When to cut the power without being told.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoCut {
    /// Right after the N-th call that changes something (1-based), before its answer.
    pub after_op: Option<u64>,
    /// At the N-th `fsync`, `fdatasync` or directory fsync (1-based): it does not happen.
    pub at_sync: Option<u64>,
}

/// What the main thread is told.
#[derive(Debug)]
pub enum Event {
    /// The power was cut at an [`AutoCut`] point; the image to write out is ready.
    AutoCut,
    /// A line of the control input.
    Command(String),
    /// The control input ended: unmount cleanly.
    End,
}

/// The state after a cut, to write out.
pub struct Cut {
    /// The disk after the cut.
    pub image: InodeModel,
    /// What happened, for people.
    pub what: String,
}

struct Inner {
    model: InodeModel,
    ops: u64,
    syncs: u64,
    cut: Option<Cut>,
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

/// The file system (see the module documentation).
pub struct PowerCut {
    inner: Arc<Mutex<Inner>>,
    auto: AutoCut,
    crash: (CrashModel, u64),
    events: Mutex<Sender<Event>>,
    owner: (u32, u32),
}

/// The main thread's handle on a mounted [`PowerCut`].
#[derive(Clone)]
pub struct Control {
    inner: Arc<Mutex<Inner>>,
}

impl Control {
    /// Cuts the power now under `crash` (model and seed), unless it is cut already: from
    /// now on every call fails. Returns whether this call cut it.
    pub fn cut_now(&self, crash: (CrashModel, u64), why: &str) -> bool {
        cut(&mut lock(&self.inner), crash, why)
    }

    /// Takes the image of the cut, once it happened.
    pub fn take_cut(&self) -> Option<Cut> {
        lock(&self.inner).cut.take()
    }

    /// (changing calls, syncs, changes not yet durable).
    pub fn counters(&self) -> (u64, u64, usize) {
        let g = lock(&self.inner);
        (g.ops, g.syncs, g.model.pending())
    }
}

impl PowerCut {
    /// Serves `model`; cuts at `auto` under `crash` (model and seed), telling `events`; every
    /// inode owned by `owner` (uid, gid).
    pub fn new(
        model: InodeModel,
        auto: AutoCut,
        crash: (CrashModel, u64),
        events: Sender<Event>,
        owner: (u32, u32),
    ) -> PowerCut {
        PowerCut {
            inner: Arc::new(Mutex::new(Inner {
                model,
                ops: 0,
                syncs: 0,
                cut: None,
            })),
            auto,
            crash,
            events: Mutex::new(events),
            owner,
        }
    }

    /// A handle for the main thread, to cut on command and take the image.
    pub fn control(&self) -> Control {
        Control {
            inner: self.inner.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    fn attr(&self, a: &Attr) -> FileAttr {
        let m = &a.meta;
        let time = |sec: i64| UNIX_EPOCH + Duration::from_secs(sec.max(0) as u64);
        let kind = match m.kind {
            FileKind::Dir => FileType::Directory,
            FileKind::Symlink => FileType::Symlink,
            _ => FileType::RegularFile,
        };
        FileAttr {
            ino: INodeNo(m.ino),
            size: m.len,
            blocks: m.len.div_ceil(512),
            atime: time(m.mtime.sec),
            mtime: time(m.mtime.sec),
            ctime: time(m.ctime.sec),
            crtime: time(m.ctime.sec),
            kind,
            perm: (m.mode & 0o7777) as u16,
            nlink: a.nlink,
            uid: self.owner.0,
            gid: self.owner.1,
            rdev: 0,
            flags: 0,
            blksize: 4096,
        }
    }

    /// Runs a call that changes something: fails after a cut; counts it; cuts right after
    /// it when asked to.
    fn change<T>(&self, f: impl FnOnce(&mut InodeModel) -> io::Result<T>) -> Result<T, Errno> {
        let mut g = self.lock();
        if g.cut.is_some() {
            return Err(Errno::EIO);
        }
        let out = f(&mut g.model).map_err(Errno::from)?;
        g.ops += 1;
        if self.auto.after_op == Some(g.ops) {
            let why = format!("after call {}", g.ops);
            if cut(&mut g, self.crash, &why) {
                self.tell(Event::AutoCut);
            }
        }
        Ok(out)
    }

    /// A durability call: at the N-th one asked for, the power goes instead.
    fn sync(&self, f: impl FnOnce(&mut InodeModel) -> io::Result<()>) -> Result<(), Errno> {
        let mut g = self.lock();
        if g.cut.is_some() {
            return Err(Errno::EIO);
        }
        g.syncs += 1;
        if self.auto.at_sync == Some(g.syncs) {
            let why = format!("at sync {}", g.syncs);
            if cut(&mut g, self.crash, &why) {
                self.tell(Event::AutoCut);
            }
            return Err(Errno::EIO);
        }
        f(&mut g.model).map_err(Errno::from)?;
        g.ops += 1;
        Ok(())
    }

    /// A call that only reads.
    fn read<T>(&self, f: impl FnOnce(&InodeModel) -> io::Result<T>) -> Result<T, Errno> {
        let g = self.lock();
        if g.cut.is_some() {
            return Err(Errno::EIO);
        }
        f(&g.model).map_err(Errno::from)
    }

    fn tell(&self, e: Event) {
        let tx = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let _ = tx.send(e);
    }

    fn entry(&self, ino: u64, reply: ReplyEntry) {
        match self.read(|m| m.attr(ino)) {
            Ok(a) => reply.entry(&TTL, &self.attr(&a), Generation(0)),
            Err(e) => reply.error(e),
        }
    }
}

fn cut(g: &mut Inner, crash: (CrashModel, u64), why: &str) -> bool {
    if g.cut.is_some() {
        return false;
    }
    let image = g.model.power_cut(crash.0, crash.1);
    g.cut = Some(Cut {
        image,
        what: format!(
            "power cut {why} under {:?} (seed {}), {} changes not durable",
            crash.0,
            crash.1,
            g.model.pending()
        ),
    });
    true
}

impl Filesystem for PowerCut {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.read(|m| m.lookup(parent.0, name)) {
            Ok(ino) => self.entry(ino, reply),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.read(|m| m.attr(ino.0)) {
            Ok(a) => reply.attr(&TTL, &self.attr(&a)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let done = self.change(|m| {
            if let Some(len) = size {
                m.set_len(ino.0, len)?;
            }
            if let Some(mode) = mode {
                m.set_mode(ino.0, mode)?;
            }
            m.attr(ino.0)
        });
        match done {
            Ok(a) => reply.attr(&TTL, &self.attr(&a)),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        use std::os::unix::ffi::OsStrExt;
        match self.read(|m| m.read_link(ino.0)) {
            Ok(t) => reply.data(t.as_bytes()),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        match self.change(|m| m.create(parent.0, name, NewNode::Dir(mode & !umask & 0o7777))) {
            Ok(ino) => self.entry(ino, reply),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.change(|m| m.remove(parent.0, name, false)) {
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.change(|m| m.remove(parent.0, name, true)) {
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        _req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let target = target.as_os_str().to_os_string();
        match self.change(|m| m.create(parent.0, link_name, NewNode::Symlink(target))) {
            Ok(ino) => self.entry(ino, reply),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mode = if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            RenameMode::Exchange
        } else if flags.contains(RenameFlags::RENAME_NOREPLACE) {
            RenameMode::NoReplace
        } else if flags.is_empty() {
            RenameMode::Replace
        } else {
            return reply.error(Errno::EINVAL); // RENAME_WHITEOUT
        };
        match self.change(|m| m.rename(parent.0, name, newparent.0, newname, mode)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        match self.change(|m| m.link(ino.0, newparent.0, newname)) {
            Ok(()) => self.entry(ino.0, reply),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.read(|m| m.attr(ino.0)) {
            Ok(a) if a.meta.kind == FileKind::Dir => reply.error(Errno::EISDIR),
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        match self.read(|m| m.read(ino.0, offset, size as usize)) {
            Ok(d) => reply.data(&d),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: fuser::WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.change(|m| m.write(ino.0, offset, data)) {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.sync(|m| m.sync(ino.0, !datasync)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let listed = self.read(|m| {
            let parent = m.parent(ino.0).unwrap_or(ino.0);
            let mut all = vec![
                (ino.0, FileType::Directory, OsStr::new(".").to_os_string()),
                (parent, FileType::Directory, OsStr::new("..").to_os_string()),
            ];
            for (name, child, kind) in m.read_dir(ino.0)? {
                let t = match kind {
                    FileKind::Dir => FileType::Directory,
                    FileKind::Symlink => FileType::Symlink,
                    _ => FileType::RegularFile,
                };
                all.push((child, t, name));
            }
            Ok(all)
        });
        match listed {
            Ok(all) => {
                for (i, (child, t, name)) in all.into_iter().enumerate().skip(offset as usize) {
                    if reply.add(INodeNo(child), (i + 1) as u64, t, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.sync(|m| m.sync_dir(ino.0)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // Room enough: a full disk is the error injector's business, not this file system's.
        reply.statfs(1 << 24, 1 << 23, 1 << 23, 1 << 20, 1 << 19, 4096, 255, 4096);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let made = self.change(|m| {
            let ino = m.create(parent.0, name, NewNode::File(mode & !umask & 0o7777))?;
            m.attr(ino)
        });
        match made {
            Ok(a) => reply.created(
                &TTL,
                &self.attr(&a),
                Generation(0),
                FileHandle(0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}
