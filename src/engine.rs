//! The engine: a root directory, its lock, its journal and its staging area.
//!
//! Invariants of the commit protocol (wal-spec.md §6 is the long form; the numbers match
//! the promises there):
//!
//! (E1) Nothing outside `.skillwal/` changes before the commit record is durable: staging
//!      writes only into `.skillwal/staging/` and the journal.
//! (E2) Every byte a committed transaction needs is durable at its commit point: inline
//!      contents in the journal (synced by the commit's one `fdatasync`), larger contents in
//!      staged files synced, with their directories, before the commit record is written.
//! (E3) A transaction's operations touch disjoint paths (except a directory it creates and
//!      what it puts inside), so applying them in record order is well defined and each
//!      target's state can be classified on its own.
//! (E4) The live transaction's records stay in the journal until everything it changed is
//!      durable; only then does a header write with a fresh salt (synced) retire them, so a
//!      retired transaction can never be replayed.
//! (E5) Recovery writes nothing to the journal until the transaction is fully applied and
//!      durable, so a crash during recovery leaves the same decision for the next open.
//! (E6) After any failed sync the engine refuses all further work (`Error::Poisoned`); the
//!      next open recovers from what is on disk. Syncs are never retried.

use crate::apply::{self, Ctx};
use crate::error::{Error, IoContext, Result};
use crate::fs::sim::SplitMix64;
use crate::fs::{FileKind, FileSystem, LockError, LockGuard, LockKind, OpenMode};
use crate::journal::format::{FORMAT_VERSION, Header};
use crate::journal::reader::{ScanEnd, scan};
use crate::journal::writer::JournalFile;
use crate::ops::Op;
use crate::path::{META_DIR, RelPath};
use crate::recovery::{self, Plan, RecoveryOutcome, RecoveryReport};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const JOURNAL_FILE: &str = "journal";
pub const JOURNAL_TMP_FILE: &str = "journal.tmp";
pub const LOCK_FILE: &str = "lock";
pub const STAGING_DIR: &str = "staging";

/// How to open a root.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Fail at once with [`Error::Locked`] instead of waiting for another process.
    pub no_wait: bool,
    /// Draw salts from this seed instead of the OS (deterministic tests).
    pub salt_seed: Option<u64>,
}

/// Where salts come from.
///
/// A salt must never repeat for one journal: a retired transaction's records would
/// validate again. From the OS, 64 random bits make that practically impossible. A seeded
/// source (for deterministic tests) mixes the seed with the header sequence the salt is for,
/// which only grows across durable header writes, so it never repeats either.
enum SaltSource {
    Os,
    Seeded(u64),
}

impl SaltSource {
    fn new(seed: Option<u64>) -> SaltSource {
        match seed {
            Some(s) => SaltSource::Seeded(s),
            None => SaltSource::Os,
        }
    }

    /// A salt for the header with sequence `sequence`, never 0 and never `avoid`.
    fn next(&mut self, avoid: u64, sequence: u64) -> Result<u64> {
        for attempt in 0u64.. {
            let v = match self {
                SaltSource::Os => {
                    let mut b = [0u8; 8];
                    rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty())
                        .map_err(|e| Error::io("getrandom", "/dev/urandom", crate::fs::errno(e)))?;
                    u64::from_le_bytes(b)
                }
                SaltSource::Seeded(seed) => {
                    let mut rng = SplitMix64::new(
                        *seed ^ sequence.wrapping_mul(0x9E37_79B9) ^ (attempt << 48),
                    );
                    rng.next_u64()
                }
            };
            if v != 0 && v != avoid {
                return Ok(v);
            }
        }
        unreachable!("an unbounded loop returns")
    }
}

/// The paths of a root's engine files.
///
/// The engine's own directory (`meta`) is `<root>/.skillwal` by default; it may be anywhere
/// on the root's file system instead ([`Layout::with_meta`]; a SkillMeat collection keeps it
/// beside itself, so that the Python tool never sees it). Journal paths name it as
/// `.skillwal/...` whatever its place: [`Layout::resolve`] maps them (wal-spec.md §2).
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub meta: PathBuf,
    pub journal: PathBuf,
    pub journal_tmp: PathBuf,
    pub lock: PathBuf,
    pub staging: PathBuf,
}

impl Layout {
    /// The engine's directory inside the root: `<root>/.skillwal`.
    pub fn new(root: &Path) -> Layout {
        Layout::with_meta(root, &root.join(META_DIR))
    }

    /// The engine's directory at `meta`, which must be on the root's file system (renames
    /// between the two must be atomic: checked at open).
    pub fn with_meta(root: &Path, meta: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            journal: meta.join(JOURNAL_FILE),
            journal_tmp: meta.join(JOURNAL_TMP_FILE),
            lock: meta.join(LOCK_FILE),
            staging: meta.join(STAGING_DIR),
            meta: meta.to_path_buf(),
        }
    }

    /// The absolute path of `rel`, a path relative to the root as journal records name
    /// them: `.skillwal` and what lies below it are in the engine's directory, wherever it
    /// is; anything else is below the root.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        match rel.strip_prefix(META_DIR) {
            Some("") => self.meta.clone(),
            Some(rest) if rest.starts_with('/') => self.meta.join(&rest[1..]),
            _ => self.root.join(rel),
        }
    }

    /// The directory holding `rel` (the root for a top-level path).
    pub fn parent_of(&self, rel: &RelPath) -> PathBuf {
        match rel.parent() {
            Some(p) => self.resolve(p.as_str()),
            None => self.root.clone(),
        }
    }
}

/// A committed, applied transaction whose changes are not yet all durable.
pub(crate) struct Applied {
    pub ops: Vec<Op>,
}

/// An open root: holds the exclusive lock until dropped.
pub struct Engine {
    pub(crate) fs: Arc<dyn FileSystem>,
    pub(crate) layout: Layout,
    /// `None` until the first transaction begins: opening a root only to read it (taking
    /// its lock, recovering) never creates a journal.
    pub(crate) journal: Option<JournalFile>,
    _lock: Box<dyn LockGuard>,
    pub(crate) applied: Option<Applied>,
    pub(crate) poisoned: Option<String>,
    salts: SaltSource,
    recovery: RecoveryReport,
}

/// Makes `dir` exist, creating it and any missing directories above it (each made durable
/// by an fsync of its parent before the next is made inside it).
fn ensure_dirs(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut d = dir;
    loop {
        match fs.metadata(d) {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing.push(d);
                match d.parent() {
                    Some(p) => d = p,
                    None => break,
                }
            }
            Err(e) => return Err(Error::io("stat", d, e)),
        }
    }
    for m in missing.into_iter().rev() {
        ensure_dir(fs, m, m.parent().unwrap_or(m))?;
    }
    ensure_dir(fs, dir, dir.parent().unwrap_or(dir))
}

fn ensure_dir(fs: &dyn FileSystem, dir: &Path, parent: &Path) -> Result<()> {
    match fs.metadata(dir) {
        Ok(m) if m.kind == FileKind::Dir => Ok(()),
        Ok(_) => Err(Error::Rejected {
            op: "open",
            path: dir.display().to_string(),
            reason: "exists and is not a directory".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs.create_dir(dir, 0o755).ctx("create directory", dir)?;
            fs.sync_dir(parent).ctx("fsync directory", parent)
        }
        Err(e) => Err(Error::io("stat", dir, e)),
    }
}

impl Engine {
    /// Opens `root` for writing: takes its lock (waiting unless `no_wait`), creates the
    /// engine's files on first use, and recovers any interrupted transaction. The report of
    /// what recovery did is [`Engine::recovery_report`].
    ///
    /// Fails with [`Error::Locked`] when another process holds the root and `no_wait` is
    /// set, [`Error::CorruptJournal`] when a committed transaction cannot be read in full,
    /// and [`Error::RecoveryConflict`] when its targets changed since; nothing is changed
    /// then.
    pub fn open(fs: Arc<dyn FileSystem>, root: &Path, opts: &OpenOptions) -> Result<Engine> {
        Engine::open_layout(fs, &Layout::new(root), opts)
    }

    /// [`Engine::open`] with the engine's directory where `layout` puts it. Also fails when
    /// that directory is not on the root's file system.
    pub fn open_layout(
        fs: Arc<dyn FileSystem>,
        layout: &Layout,
        opts: &OpenOptions,
    ) -> Result<Engine> {
        let layout = layout.clone();
        let root = &layout.root;
        let root_dev = match fs.metadata(root) {
            Ok(m) if m.kind == FileKind::Dir => m.dev,
            Ok(_) => {
                return Err(Error::Rejected {
                    op: "open",
                    path: root.display().to_string(),
                    reason: "not a directory".into(),
                });
            }
            Err(e) => return Err(Error::io("open", root, e)),
        };
        let lock = take_lock(fs.as_ref(), &layout, opts)?;
        let meta_dev = fs.metadata(&layout.meta).ctx("stat", &layout.meta)?.dev;
        if meta_dev != root_dev {
            return Err(Error::Rejected {
                op: "open",
                path: layout.meta.display().to_string(),
                reason: format!(
                    "it is on another file system than {}: a rename between the two could not be atomic",
                    root.display()
                ),
            });
        }
        let journal = if fs.exists(&layout.journal).ctx("stat", &layout.journal)? {
            Some(open_journal(fs.as_ref(), &layout)?)
        } else {
            None
        };
        let mut engine = Engine {
            fs,
            layout,
            journal,
            _lock: lock,
            applied: None,
            poisoned: None,
            salts: SaltSource::new(opts.salt_seed),
            recovery: RecoveryReport {
                outcome: RecoveryOutcome::Nothing,
                staging_removed: 0,
            },
        };
        engine.recovery = engine.recover()?;
        Ok(engine)
    }

    /// The journal, created durably on first use (wal-spec.md §6.1).
    pub(crate) fn journal_or_create(&mut self) -> Result<&mut JournalFile> {
        if self.journal.is_none() {
            let salt = self.salts.next(0, 1)?;
            let j = JournalFile::create(
                self.fs.as_ref(),
                &self.layout.journal,
                &self.layout.journal_tmp,
                salt,
            )?;
            self.journal = Some(j);
        }
        Ok(self.journal.as_mut().expect("just made"))
    }

    /// The journal of a transaction that began (it exists then).
    pub(crate) fn journal(&self) -> &JournalFile {
        self.journal
            .as_ref()
            .expect("a journal exists once a transaction began")
    }

    pub(crate) fn journal_mut(&mut self) -> &mut JournalFile {
        self.journal
            .as_mut()
            .expect("a journal exists once a transaction began")
    }

    /// What recovery did when this engine was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    pub(crate) fn check_usable(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the engine unusable after a failure whose effect on disk is unknown.
    pub(crate) fn poison(&mut self, e: &Error) {
        if self.poisoned.is_none() {
            self.poisoned = Some(e.to_string());
        }
    }

    /// What applying a transaction salted `salt`, recorded in format `version`, needs.
    pub(crate) fn ctx(&self, salt: u64, version: u16) -> Ctx<'_> {
        Ctx {
            fs: self.fs.as_ref(),
            layout: &self.layout,
            journal: self.journal().file.as_ref(),
            journal_path: &self.layout.journal,
            salt,
            version,
        }
    }

    fn recover(&mut self) -> Result<RecoveryReport> {
        if self.journal.is_none() {
            // Never used, or only read: nothing can be live. Leftovers of a creation
            // interrupted before the journal was renamed into place are removed.
            let staging_removed = recovery::clear_staging(self.fs.as_ref(), &self.layout.staging)?;
            return Ok(RecoveryReport {
                outcome: RecoveryOutcome::Nothing,
                staging_removed,
            });
        }
        let scanned = scan(self.journal().file.as_ref())
            .map_err(|e| recovery::scan_error(&self.layout.journal, e))?;
        let salt = scanned.header.live_salt;
        let version = scanned.header.version;
        let plan = recovery::plan(&self.ctx(salt, version), &scanned)?;
        let outcome = match plan {
            Plan::Nothing => {
                // An active header without a record: a crash between `begin`'s header write
                // and its first record. Retire the salt, so no later transaction shares it
                // with stale bytes (unsynced, like an abort: nothing here can commit).
                if scanned.header.active {
                    self.retire_unsynced(scanned.header.next_txn_id)?;
                }
                RecoveryOutcome::Nothing
            }
            Plan::RollBack { txn_id, records } => {
                recovery::clear_staging(self.fs.as_ref(), &self.layout.staging)?;
                self.retire(txn_id)?;
                RecoveryOutcome::RolledBack { txn_id, records }
            }
            Plan::RollForward { txn, statuses } => {
                // A killed process may have left a commit record that is only in the page
                // cache. Make what we are about to act on durable first (SQLite's rule for a
                // hot journal), so a power cut during the roll-forward cannot turn it back
                // into "never committed" after some targets were changed.
                self.journal().sync().inspect_err(|e| self.poison(e))?;
                let (redone, repaired) =
                    recovery::roll_forward(&self.ctx(salt, version), &txn, &statuses)
                        .inspect_err(|e| self.poison(e))?;
                self.applied = Some(Applied {
                    ops: txn.ops.clone(),
                });
                self.checkpoint()?;
                RecoveryOutcome::RolledForward {
                    txn_id: txn.txn_id,
                    label: txn.label,
                    operations: txn.ops.len() as u32,
                    redone,
                    repaired,
                }
            }
        };
        // A journal an older skillwal left, idle now: its next header is written in this
        // build's format before any record is (synced, once), so that records of the current
        // format never follow a current header of an older one (wal-spec.md §13).
        let header = self.journal().header;
        if header.version != FORMAT_VERSION {
            self.retire(header.next_txn_id)?;
        }
        // Leftovers of a transaction that was retired but not cleaned up, or of one that
        // never wrote a record.
        let staging_removed = recovery::clear_staging(self.fs.as_ref(), &self.layout.staging)?;
        Ok(RecoveryReport {
            outcome,
            staging_removed,
        })
    }

    /// Retires the live salt durably: writes the other header slot with a fresh salt and
    /// syncs the journal. After `Ok`, no record written so far can ever validate again.
    pub(crate) fn retire(&mut self, txn_id: u64) -> Result<()> {
        let h = self.journal().header;
        let header = Header {
            version: FORMAT_VERSION,
            sequence: h.sequence + 1,
            live_salt: self.salts.next(h.live_salt, h.sequence + 1)?,
            next_txn_id: h.next_txn_id.max(txn_id + 1),
            active: false,
        };
        let r = self.journal_mut().write_header(header);
        r.inspect_err(|e| self.poison(e))?;
        self.journal().sync().inspect_err(|e| self.poison(e))
    }

    /// Retires the live salt without syncing (after an abort: the aborted records have no
    /// commit record and can never be applied, so durability of this write is not needed).
    pub(crate) fn retire_unsynced(&mut self, txn_id: u64) -> Result<()> {
        let h = self.journal().header;
        let header = Header {
            version: FORMAT_VERSION,
            sequence: h.sequence + 1,
            live_salt: self.salts.next(h.live_salt, h.sequence + 1)?,
            next_txn_id: h.next_txn_id.max(txn_id + 1),
            active: false,
        };
        self.journal_mut().write_header(header)
    }

    /// Makes the last committed transaction durable in full and retires its journal records
    /// (wal-spec.md §6.3): syncs every file and directory it changed, then a header write
    /// with a fresh salt, synced; then clears the staging area. Does nothing when there is
    /// nothing to checkpoint. Any failure poisons the engine; the next open finishes it.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.check_usable()?;
        let Some(applied) = self.applied.take() else {
            return Ok(());
        };
        let result = apply::sync_targets(self.fs.as_ref(), &self.layout, &applied.ops)
            .and_then(|()| self.retire(self.journal().header.next_txn_id));
        if let Err(e) = result {
            self.poison(&e);
            self.applied = Some(applied);
            return Err(e);
        }
        // The transaction is retired and durable; what is left in staging is garbage that
        // the next open removes, so failing to remove it now is not a failure of the commit.
        let _ = recovery::clear_staging(self.fs.as_ref(), &self.layout.staging);
        Ok(())
    }

    /// Checkpoints and releases the lock. Prefer this to dropping the engine: a drop does no
    /// I/O, and leaves the checkpoint to the next open.
    pub fn close(mut self) -> Result<()> {
        self.checkpoint()
    }
}

/// Creates the engine's directory if needed (§6.1), takes the root's exclusive lock, and
/// creates the staging directory if needed.
fn take_lock(
    fs: &dyn FileSystem,
    layout: &Layout,
    opts: &OpenOptions,
) -> Result<Box<dyn LockGuard>> {
    ensure_dirs(fs, &layout.meta)?;
    let lock = match fs.lock(&layout.lock, LockKind::Exclusive, !opts.no_wait) {
        Ok(l) => l,
        Err(LockError::WouldBlock { holder }) => {
            return Err(Error::Locked {
                root: layout.root.clone(),
                holder,
            });
        }
        Err(LockError::Io(e)) => return Err(Error::io("lock", &layout.lock, e)),
    };
    ensure_dir(fs, &layout.staging, &layout.meta)?;
    Ok(lock)
}

fn open_journal(fs: &dyn FileSystem, layout: &Layout) -> Result<JournalFile> {
    let file = fs
        .open(&layout.journal, OpenMode::ReadWrite)
        .ctx("open", &layout.journal)?;
    let read = crate::journal::reader::read_header(file.as_ref())
        .map_err(|e| recovery::scan_error(&layout.journal, e))?;
    Ok(JournalFile {
        path: layout.journal.clone(),
        file,
        header: read.header,
        slot: read.current_slot,
    })
}

/// Whether the root of `layout` has a transaction to recover, found without changing or
/// locking anything (for read-only collections). `false` when the engine never ran there.
pub fn needs_recovery(fs: &dyn FileSystem, layout: &Layout) -> Result<bool> {
    if !fs.exists(&layout.journal).ctx("stat", &layout.journal)? {
        return Ok(false);
    }
    let file = fs
        .open(&layout.journal, OpenMode::Read)
        .ctx("open", &layout.journal)?;
    let scanned = scan(file.as_ref()).map_err(|e| recovery::scan_error(&layout.journal, e))?;
    Ok(!matches!(scanned.end, ScanEnd::Empty { .. }))
}

/// What [`discard_journal`] threw away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discarded {
    /// The live transaction's id, when its records could be read.
    pub txn_id: Option<u64>,
    pub records: u32,
    pub committed: bool,
    pub staging_removed: u32,
}

use serde::Serialize;

/// Drops whatever the journal holds without applying it, and clears the staging area: the
/// way out of [`Error::CorruptJournal`] and [`Error::RecoveryConflict`] once a person has
/// looked. The files of the collection are left exactly as they are. A journal whose header
/// cannot be read is replaced by a new one.
pub fn discard_journal(
    fs: Arc<dyn FileSystem>,
    layout: &Layout,
    opts: &OpenOptions,
) -> Result<Discarded> {
    let layout = layout.clone();
    let _lock = take_lock(fs.as_ref(), &layout, opts)?;
    let mut salts = SaltSource::new(opts.salt_seed);
    let mut discarded = Discarded {
        txn_id: None,
        records: 0,
        committed: false,
        staging_removed: 0,
    };
    let readable = if fs.exists(&layout.journal).ctx("stat", &layout.journal)? {
        match open_journal(fs.as_ref(), &layout) {
            Ok(j) => Some(j),
            // Another skillwal's journal is never replaced by this one (wal-spec.md §3.1).
            Err(e @ Error::UnsupportedVersion { .. }) => return Err(e),
            Err(_) => None,
        }
    } else {
        None
    };
    match readable {
        Some(mut journal) => {
            if let Ok(s) = scan(journal.file.as_ref()) {
                discarded.txn_id = s.records.first().map(|r| r.frame.txn_id);
                discarded.records = (s.records.len() + s.beyond_damage.len()) as u32;
                discarded.committed =
                    matches!(s.end, ScanEnd::Committed { .. } | ScanEnd::Damaged { .. });
            }
            let h = journal.header;
            journal.write_header(Header {
                version: FORMAT_VERSION,
                sequence: h.sequence + 1,
                live_salt: salts.next(h.live_salt, h.sequence + 1)?,
                next_txn_id: h.next_txn_id + 1,
                active: false,
            })?;
            journal.sync()?;
        }
        None => {
            let salt = salts.next(0, 1)?;
            JournalFile::create(fs.as_ref(), &layout.journal, &layout.journal_tmp, salt)?;
        }
    }
    discarded.staging_removed = recovery::clear_staging(fs.as_ref(), &layout.staging)?;
    Ok(discarded)
}
