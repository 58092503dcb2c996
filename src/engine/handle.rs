//! An open root: [`Engine`] takes the root's lock, recovers what a crash interrupted, begins
//! transactions and checkpoints them. Also the journal operations that need no open engine:
//! [`needs_recovery`] and [`discard_journal`].

use super::layout::Layout;
use super::recovery::{self, Plan, RecoveryOutcome, RecoveryReport};
use super::salt::SaltSource;
use super::session::{Applied, Run, Session};
use super::staging::clear_staging;
use super::txn::Transaction;
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileKind, FileSystem, LockError, LockGuard, LockKind, OpenMode};
use crate::journal::format::{FORMAT_VERSION, Header, Participation};
use crate::journal::reader::{ScanEnd, scan};
use crate::journal::writer::JournalFile;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// How to open a root.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Fail at once with [`Error::Locked`] instead of waiting for another process.
    pub no_wait: bool,
    /// Draw salts from this seed instead of the OS (deterministic tests).
    pub salt_seed: Option<u64>,
}

/// An open root: holds the exclusive lock until dropped.
pub struct Engine {
    pub(super) session: Session,
    _lock: Box<dyn LockGuard>,
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
            Ok(fs.sync_dir(parent).ctx("fsync directory", parent)?)
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
        Ok(Engine::open_unless_across(fs, layout, opts, false)?
            .expect("recovery across roots is allowed"))
    }

    /// [`Engine::open_layout`]; but when `refuse_across` is set and the root holds a part of
    /// a transaction across roots to recover, its lock is let go and `None` returned: the
    /// caller holds other roots' locks, which that recovery may need (wal-spec.md §14.4).
    pub(super) fn open_unless_across(
        fs: Arc<dyn FileSystem>,
        layout: &Layout,
        opts: &OpenOptions,
        refuse_across: bool,
    ) -> Result<Option<Engine>> {
        let mut opened = Opened::lock(fs.clone(), layout, opts)?;
        match recover(&mut opened.session)? {
            Recovered::Done(recovery) => Ok(Some(opened.into_engine(recovery))),
            Recovered::AcrossRoots(_) if refuse_across => Ok(None),
            Recovered::AcrossRoots(participation) => {
                // Recovered with every root it spans, locked in identity order: this lock
                // is let go first, so that no two processes ever wait in a cycle.
                drop(opened);
                let (mut opened, across) =
                    super::multi_root::recover(fs, layout, opts, &participation)?;
                let mut recovery = match recover(&mut opened.session)? {
                    Recovered::Done(r) => r,
                    Recovered::AcrossRoots(_) => {
                        unreachable!("the transaction across roots was just settled, the lock held")
                    }
                };
                if recovery.outcome == RecoveryOutcome::Nothing {
                    recovery.outcome = across.this_outcome.clone();
                }
                recovery.across_roots = Some(across);
                Ok(Some(opened.into_engine(recovery)))
            }
        }
    }

    /// What recovery did when this engine was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The root's layout.
    pub fn layout(&self) -> &Layout {
        &self.session.layout
    }

    /// This root's identity (wal-spec.md §2), made now when it has none: `root-id` written,
    /// synced and renamed into the engine's directory, which is then synced. Fails when the
    /// engine is poisoned, or the file cannot be read, holds no identity, or cannot be made.
    pub fn root_id(&mut self) -> Result<super::identity::RootId> {
        self.session.check_usable()?;
        let seed = self.session.seed();
        super::identity::create(self.session.fs.as_ref(), &self.session.layout, seed)
    }

    /// The decisions this root keeps as the coordinator of transactions across roots for
    /// participants it could not reach (wal-spec.md §14.5).
    pub fn kept_decisions(&self) -> Result<Vec<super::multi_root::decisions::KeptDecision>> {
        super::multi_root::decisions::kept(self.session.fs.as_ref(), &self.session.layout.meta)
    }

    /// Forgets the kept decision of transaction `global_id` (32 hex digits): the user says
    /// that every root that could not be reached is gone for good, or had its part
    /// discarded. A root that still holds its part and comes back would then roll it back
    /// (presumed abort) while this root keeps its own: use only for roots that will not.
    /// Returns whether a decision was kept. Fails when `global_id` is not 32 hex digits.
    pub fn forget_decision(&mut self, global_id: &str) -> Result<bool> {
        self.session.check_usable()?;
        let Some(gid) = super::multi_root::decisions::parse_global_id(global_id) else {
            return Err(Error::Rejected {
                op: "forget decision",
                path: global_id.to_string(),
                reason: "a transaction's id is 32 hex digits (as `journal inspect` shows it)"
                    .into(),
            });
        };
        super::multi_root::decisions::forget(self.session.fs.as_ref(), &self.session.layout, &gid)
    }

    /// Begins a transaction, first checkpointing the previous one if it is still pending.
    /// `label` (cut to 1 KiB) is stored in the journal for `journal inspect`.
    pub fn begin(&mut self, label: &str) -> Result<Transaction<'_>> {
        Transaction::begin(&mut self.session, label)
    }

    /// Makes the last committed transaction durable in full and retires its journal records
    /// (wal-spec.md §6.4): syncs every file and directory it changed, then a header write
    /// with a fresh salt, synced; then clears the staging area. Does nothing when there is
    /// nothing to checkpoint. Any failure poisons the engine; the next open finishes it.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.session.checkpoint()
    }

    /// Checkpoints and releases the lock. Prefer this to dropping the engine: a drop does no
    /// I/O, and leaves the checkpoint to the next open.
    pub fn close(mut self) -> Result<()> {
        self.checkpoint()
    }
}

/// A root locked, its journal's header read, nothing recovered yet.
pub(super) struct Opened {
    pub session: Session,
    lock: Box<dyn LockGuard>,
}

impl Opened {
    /// Takes the root's lock (creating the engine's directory on first use) and reads its
    /// journal's header. Fails when the root is not a directory, when the engine's
    /// directory is on another file system, and as [`Engine::open`] does for the lock.
    pub(super) fn lock(
        fs: Arc<dyn FileSystem>,
        layout: &Layout,
        opts: &OpenOptions,
    ) -> Result<Opened> {
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
        Ok(Opened {
            session: Session::new(fs, layout, journal, opts.salt_seed),
            lock,
        })
    }

    fn into_engine(self, recovery: RecoveryReport) -> Engine {
        Engine {
            session: self.session,
            _lock: self.lock,
            recovery,
        }
    }
}

/// What [`recover`] did, or that the live transaction spans several roots and is recovered
/// with all of them (wal-spec.md §14.4).
enum Recovered {
    Done(RecoveryReport),
    AcrossRoots(Participation),
}

/// Recovers what the journal of `s` holds (wal-spec.md §7): rolls a committed transaction
/// forward, an uncommitted one back, and clears the staging area. A committed transaction
/// that is part of one across several roots is left as it is, for the caller to recover
/// with its other roots.
fn recover(s: &mut Session) -> Result<Recovered> {
    if s.journal.is_none() {
        // Never used, or only read: nothing can be live. Leftovers of a creation
        // interrupted before the journal was renamed into place are removed.
        let staging_removed = clear_staging(s.fs.as_ref(), &s.layout.staging)?;
        return Ok(Recovered::Done(RecoveryReport {
            outcome: RecoveryOutcome::Nothing,
            staging_removed,
            across_roots: None,
        }));
    }
    let scanned =
        scan(s.journal().file.as_ref()).map_err(|e| recovery::scan_error(&s.layout.journal, e))?;
    let salt = scanned.header.live_salt;
    let version = scanned.record_version();
    let plan = recovery::plan(&s.ctx(salt, version), &scanned)?;
    let outcome = match plan {
        Plan::Nothing => {
            // An active header without a record: a crash between `begin`'s header write
            // and its first record. Retire the salt, so no later transaction shares it
            // with stale bytes (unsynced, like an abort: nothing here can commit).
            if scanned.header.active {
                s.retire_unsynced(scanned.header.next_txn_id)?;
            }
            RecoveryOutcome::Nothing
        }
        Plan::RollBack { txn_id, records } => {
            clear_staging(s.fs.as_ref(), &s.layout.staging)?;
            s.retire(txn_id)?;
            RecoveryOutcome::RolledBack { txn_id, records }
        }
        Plan::AcrossRoots(txn) => {
            return Ok(Recovered::AcrossRoots(
                txn.participation
                    .expect("a part of a transaction across roots"),
            ));
        }
        Plan::RollForward { run, dropped } => {
            // A killed process may have left a commit record that is only in the page
            // cache. Make what we are about to act on durable first (SQLite's rule for a
            // hot journal), so a power cut during the roll-forward cannot turn it back
            // into "never committed" after some targets were changed.
            s.journal().sync().inspect_err(|e| s.poison(e))?;
            let (redone, repaired) = recovery::roll_forward_run(&s.ctx(salt, version), &run)
                .inspect_err(|e| s.poison(e))?;
            // The checkpoint makes the run durable and retires it (and the uncommitted
            // transaction after it, if any, with the staging area).
            let last = &run.last().expect("a roll-forward has a transaction").txn;
            s.run = Run {
                txns: run
                    .iter()
                    .map(|p| Applied {
                        ops: p.txn.ops.clone(),
                        flushed: false,
                    })
                    .collect(),
                first_txn_id: run[0].txn.txn_id,
                end: 0,
                version,
            };
            s.checkpoint()?;
            RecoveryOutcome::RolledForward {
                txn_id: last.txn_id,
                label: last.label.clone(),
                transactions: run.len() as u32,
                operations: run.iter().map(|p| p.txn.ops.len() as u32).sum(),
                redone,
                repaired,
                dropped,
            }
        }
    };
    // A journal an older skillwal left, idle now: its next header is written in this
    // build's format before any record is (synced, once), so that records of the current
    // format never follow a current header of an older one (wal-spec.md §13).
    let header = s.journal().header;
    if header.version != FORMAT_VERSION {
        s.retire(header.next_txn_id)?;
    }
    // Leftovers of a transaction that was retired but not cleaned up, or of one that
    // never wrote a record.
    let staging_removed = clear_staging(s.fs.as_ref(), &s.layout.staging)?;
    Ok(Recovered::Done(RecoveryReport {
        outcome,
        staging_removed,
        across_roots: None,
    }))
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
    Ok(recovery::scan_unlocked(fs, layout)?
        .is_some_and(|(_, scanned)| !matches!(scanned.end, ScanEnd::Empty { .. })))
}

/// What [`discard_journal`] threw away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discarded {
    /// The live transaction's id, when its records could be read.
    pub txn_id: Option<u64>,
    /// How many of its records could be read, those past damage included.
    pub records: u32,
    /// Whether it had a commit record: a transaction that was committed but not (or not
    /// wholly) applied, whose changes may now be partly in the files.
    pub committed: bool,
    /// Entries removed from the staging directory.
    pub staging_removed: u32,
}

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
            let mut next_txn_id = journal.header.next_txn_id + 1;
            if let Ok(s) = scan(journal.file.as_ref()) {
                // The last transaction's id; a run's committed ones before it count as
                // committed records thrown away (wal-spec.md §6.6).
                discarded.txn_id = s.records.first().map(|r| r.frame.txn_id);
                discarded.records = (s.transactions().map(|t| t.len()).sum::<usize>()
                    + s.beyond_damage.len()) as u32;
                discarded.committed = !s.run_before.is_empty()
                    || matches!(s.end, ScanEnd::Committed { .. } | ScanEnd::Damaged { .. });
                if let Some(id) = discarded.txn_id {
                    next_txn_id = next_txn_id.max(id + 1);
                }
            }
            let h = journal.header;
            journal.write_header(Header {
                version: FORMAT_VERSION,
                sequence: h.sequence + 1,
                live_salt: salts.next(h.live_salt, h.sequence + 1)?,
                next_txn_id,
                active: false,
            })?;
            journal.sync()?;
        }
        None => {
            let salt = salts.next(0, 1)?;
            JournalFile::create(
                fs.as_ref(),
                &layout.journal,
                &layout.journal_tmp,
                salt,
                layout.budget.prealloc,
            )?;
        }
    }
    discarded.staging_removed = clear_staging(fs.as_ref(), &layout.staging)?;
    Ok(discarded)
}
