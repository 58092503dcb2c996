//! Fault injection for real processes: a decorator that counts mutating calls and either
//! kills the process right after the N-th (`SKILLWAL_CRASH_AFTER=N`) or fails the N-th with
//! an errno (`SKILLWAL_FAIL_AT=N:ENOSPC`); and, to make the mutants a power-cut harness must
//! catch without building them, leaves out chosen syncs while reporting them done
//! (`SKILLWAL_SKIP_SYNC=dirs` or `file:NAME`). wal-spec.md §10 documents all three.

use super::{DirEntry, FileHandle, FileSystem, LockError, LockGuard, LockKind, Metadata, OpenMode};
use rustix::io::Errno;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Environment variable: kill the process with SIGKILL right after this mutating call.
pub const CRASH_AFTER_ENV: &str = "SKILLWAL_CRASH_AFTER";
/// Environment variable: `N:ERRNO` fails the N-th mutating call with that errno.
pub const FAIL_AT_ENV: &str = "SKILLWAL_FAIL_AT";
/// Environment variable: syncs to leave out while returning success, comma-separated:
/// `dirs` (every directory fsync) and `file:NAME` (every `fdatasync`/`fsync` of a file
/// named NAME, e.g. `file:journal`). For harnesses only: it makes the process a mutant
/// that is not durable.
pub const SKIP_SYNC_ENV: &str = "SKILLWAL_SKIP_SYNC";

/// Syncs a [`FaultPlan`] leaves out: the call is not made, not counted, and reported done.
/// What a build without those calls would do, as seen from the file system below.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SkipSyncs {
    /// Every directory fsync.
    pub dirs: bool,
    /// Every sync of a file whose last path component is one of these.
    pub files_named: Vec<OsString>,
}

impl SkipSyncs {
    /// Whether any sync is left out.
    pub fn any(&self) -> bool {
        self.dirs || !self.files_named.is_empty()
    }

    /// Parses `dirs`, `file:NAME`, or several of them separated by commas.
    pub fn parse(v: &str) -> Result<SkipSyncs, String> {
        let mut s = SkipSyncs::default();
        for part in v.split(',').map(str::trim) {
            if part == "dirs" {
                s.dirs = true;
            } else if let Some(name) = part.strip_prefix("file:").filter(|n| !n.is_empty()) {
                s.files_named.push(name.into());
            } else {
                return Err(format!(
                    "{SKIP_SYNC_ENV}={v:?}: expected dirs or file:NAME, comma-separated"
                ));
            }
        }
        Ok(s)
    }

    fn skips_file(&self, path: &Path) -> bool {
        path.file_name()
            .is_some_and(|n| self.files_named.iter().any(|f| f == n))
    }
}

/// What to do, and when.
#[derive(Debug, Default)]
pub struct FaultPlan {
    calls: AtomicU64,
    file_syncs: AtomicU64,
    dir_syncs: AtomicU64,
    crash_after: Option<u64>,
    fail_at: Option<(u64, Errno)>,
    skip_syncs: SkipSyncs,
}

impl FaultPlan {
    /// A plan that kills the process right after mutating call number `crash_after`
    /// and/or fails call number `fail_at.0` with errno `fail_at.1` (both 1-based).
    pub fn new(crash_after: Option<u64>, fail_at: Option<(u64, Errno)>) -> FaultPlan {
        FaultPlan {
            crash_after,
            fail_at,
            ..FaultPlan::default()
        }
    }

    /// This plan, also leaving out the syncs `skip` names.
    pub fn skipping(mut self, skip: SkipSyncs) -> FaultPlan {
        self.skip_syncs = skip;
        self
    }

    /// Reads the plan from the environment. `Ok(None)` when no variable is set.
    pub fn from_env() -> Result<Option<FaultPlan>, String> {
        let crash_after = match std::env::var(CRASH_AFTER_ENV) {
            Ok(v) => Some(parse_count(CRASH_AFTER_ENV, &v)?),
            Err(_) => None,
        };
        let fail_at = match std::env::var(FAIL_AT_ENV) {
            Ok(v) => Some(parse_fail_at(&v)?),
            Err(_) => None,
        };
        let skip = match std::env::var(SKIP_SYNC_ENV) {
            Ok(v) => SkipSyncs::parse(&v)?,
            Err(_) => SkipSyncs::default(),
        };
        if crash_after.is_none() && fail_at.is_none() && !skip.any() {
            return Ok(None);
        }
        Ok(Some(FaultPlan::new(crash_after, fail_at).skipping(skip)))
    }

    /// Mutating calls seen so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// File syncs (`sync_data`, `sync_all`) and directory syncs seen since the last call
    /// (the counters restart at zero).
    pub fn take_syncs(&self) -> (u64, u64) {
        (
            self.file_syncs.swap(0, Ordering::SeqCst),
            self.dir_syncs.swap(0, Ordering::SeqCst),
        )
    }

    fn mutate<T>(&self, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((at, e)) = self.fail_at
            && at == n
        {
            return Err(super::errno(e));
        }
        let result = f();
        if self.crash_after == Some(n) {
            kill_self();
        }
        result
    }
}

fn kill_self() -> ! {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // SIGKILL cannot be caught; if delivery is somehow delayed, do not run another line.
    std::process::abort()
}

fn parse_count(var: &str, v: &str) -> Result<u64, String> {
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{var}={v:?}: expected a positive call number")),
    }
}

/// Parses `N:ERRNO` where ERRNO is ENOSPC, EIO, EACCES, EROFS, EDQUOT or EPERM.
pub fn parse_fail_at(v: &str) -> Result<(u64, Errno), String> {
    let (n, e) = v
        .split_once(':')
        .ok_or_else(|| format!("{FAIL_AT_ENV}={v:?}: expected N:ERRNO, e.g. 7:ENOSPC"))?;
    let n = parse_count(FAIL_AT_ENV, n)?;
    let errno = match e.trim() {
        "ENOSPC" => Errno::NOSPC,
        "EIO" => Errno::IO,
        "EACCES" => Errno::ACCESS,
        "EROFS" => Errno::ROFS,
        "EDQUOT" => Errno::DQUOT,
        "EPERM" => Errno::PERM,
        other => {
            return Err(format!(
                "{FAIL_AT_ENV}={v:?}: unknown errno {other:?} (ENOSPC, EIO, EACCES, EROFS, EDQUOT, EPERM)"
            ));
        }
    };
    Ok((n, errno))
}

/// A file system that applies a [`FaultPlan`] to every mutating call of `inner`.
/// Also counts syncs, so benchmarks can report barriers on the real file system.
pub struct FaultFs {
    inner: Arc<dyn FileSystem>,
    plan: Arc<FaultPlan>,
}

impl FaultFs {
    /// `inner` with `plan` applied to its mutating calls (and those of the files it opens).
    pub fn new(inner: Arc<dyn FileSystem>, plan: FaultPlan) -> FaultFs {
        FaultFs {
            inner,
            plan: Arc::new(plan),
        }
    }

    /// `inner` wrapped in the plan from the environment, or `inner` itself when no fault is
    /// asked for.
    pub fn from_env(inner: Arc<dyn FileSystem>) -> Result<Arc<dyn FileSystem>, String> {
        Ok(match FaultPlan::from_env()? {
            Some(plan) => Arc::new(FaultFs::new(inner, plan)),
            None => inner,
        })
    }

    /// The plan, shared: its counters stay readable after the file system is handed over.
    pub fn plan(&self) -> Arc<FaultPlan> {
        self.plan.clone()
    }
}

struct FaultFile {
    inner: Box<dyn FileHandle>,
    plan: Arc<FaultPlan>,
    /// The plan leaves this file's syncs out.
    skip_sync: bool,
}

impl FileHandle for FaultFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.plan.mutate(|| self.inner.write_all_at(buf, offset))
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.plan.mutate(|| self.inner.set_len(len))
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.skip_sync {
            return Ok(());
        }
        self.plan.file_syncs.fetch_add(1, Ordering::SeqCst);
        self.plan.mutate(|| self.inner.sync_data())
    }
    fn sync_all(&self) -> io::Result<()> {
        if self.skip_sync {
            return Ok(());
        }
        self.plan.file_syncs.fetch_add(1, Ordering::SeqCst);
        self.plan.mutate(|| self.inner.sync_all())
    }
    fn metadata(&self) -> io::Result<Metadata> {
        self.inner.metadata()
    }
}

impl FileSystem for FaultFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FileHandle>> {
        let inner = match mode {
            OpenMode::CreateNew { .. } => self.plan.mutate(|| self.inner.open(path, mode))?,
            _ => self.inner.open(path, mode)?,
        };
        Ok(Box::new(FaultFile {
            inner,
            plan: self.plan.clone(),
            skip_sync: self.plan.skip_syncs.skips_file(path),
        }))
    }
    fn metadata(&self, path: &Path) -> io::Result<Metadata> {
        self.inner.metadata(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.inner.read_dir(path)
    }
    fn read_link(&self, path: &Path) -> io::Result<OsString> {
        self.inner.read_link(path)
    }
    fn create_dir(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.plan.mutate(|| self.inner.create_dir(path, mode))
    }
    fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.plan.mutate(|| self.inner.set_mode(path, mode))
    }
    fn symlink(&self, target: &std::ffi::OsStr, path: &Path) -> io::Result<()> {
        self.plan.mutate(|| self.inner.symlink(target, path))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.plan.mutate(|| self.inner.remove_file(path))
    }
    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.plan.mutate(|| self.inner.remove_dir(path))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.plan.mutate(|| self.inner.rename(from, to))
    }
    fn rename_noreplace(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.plan.mutate(|| self.inner.rename_noreplace(from, to))
    }
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        self.plan.mutate(|| self.inner.exchange(a, b))
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        if self.plan.skip_syncs.dirs {
            return Ok(());
        }
        self.plan.dir_syncs.fetch_add(1, Ordering::SeqCst);
        self.plan.mutate(|| self.inner.sync_dir(path))
    }
    fn boot_id(&self) -> Option<String> {
        self.inner.boot_id()
    }
    fn may_write_dir(&self, dir: &Path) -> io::Result<bool> {
        self.inner.may_write_dir(dir)
    }
    fn lock(
        &self,
        path: &Path,
        kind: LockKind,
        wait: bool,
    ) -> Result<Box<dyn LockGuard>, LockError> {
        self.inner.lock(path, kind, wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::real::RealFs;

    #[test]
    fn skip_sync_parses_what_it_documents_and_refuses_the_rest() {
        let s = SkipSyncs::parse("dirs, file:journal").unwrap();
        assert!(s.dirs && s.any());
        assert_eq!(s.files_named, vec![OsString::from("journal")]);
        assert!(s.skips_file(Path::new("/a/.skillwal/journal")));
        assert!(!s.skips_file(Path::new("/a/journal.tmp")));
        for bad in ["", "dir", "file:", "files:journal", "dirs,,"] {
            assert!(SkipSyncs::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn skipped_syncs_are_not_made_and_the_others_are() {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan::new(None, None).skipping(SkipSyncs::parse("file:journal").unwrap());
        let fs = FaultFs::new(Arc::new(RealFs), plan);
        let counts = fs.plan();
        for name in ["journal", "other"] {
            let f = fs
                .open(&dir.path().join(name), OpenMode::CreateNew { mode: 0o644 })
                .unwrap();
            f.write_all_at(b"x", 0).unwrap();
            f.sync_data().unwrap();
            f.sync_all().unwrap();
        }
        fs.sync_dir(dir.path()).unwrap();
        // Two creates and two writes, the other file's two syncs and the directory's.
        assert_eq!(counts.calls(), 7);
        assert_eq!(counts.take_syncs(), (2, 1));

        let plan = FaultPlan::new(None, None).skipping(SkipSyncs::parse("dirs").unwrap());
        let fs = FaultFs::new(Arc::new(RealFs), plan);
        fs.sync_dir(dir.path()).unwrap();
        assert_eq!(fs.plan().calls(), 0);
    }
}
