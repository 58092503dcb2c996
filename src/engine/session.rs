//! What an open root's transactions share: the file system, the layout, the journal, the
//! salts, the run of transactions applied but not yet durable, and whether a failure
//! stopped the engine. [`super::Engine`] owns one; a [`super::Transaction`] borrows it.

use super::apply;
use super::ctx::Ctx;
use super::layout::Layout;
use super::ops::Op;
use super::run::{self, Meet, PathIndex};
use super::salt::SaltSource;
use super::staging::clear_staging;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::journal::format::{FORMAT_VERSION, Header};
use crate::journal::writer::JournalFile;
use crate::limits::{RUN_JOURNAL_FACTOR, RUN_TXNS_MAX};
use std::sync::Arc;

/// A committed, applied transaction whose changes are not yet all durable.
pub(super) struct Applied {
    pub ops: Vec<Op>,
    /// Made durable already: a later transaction of the run overlapped it, so the run was
    /// synced before that one's commit record (wal-spec.md §6.6).
    pub flushed: bool,
}

/// The committed transactions whose records the journal still holds (wal-spec.md §6.6):
/// applied, not yet all durable, retired together by the next checkpoint.
#[derive(Default)]
pub(super) struct Run {
    pub txns: Vec<Applied>,
    /// The id of the run's first transaction.
    pub first_txn_id: u64,
    /// Where the next transaction's begin record goes: just past the last commit record.
    pub end: u64,
    /// The format version of the run's first transaction: only a run of version-2
    /// transactions takes more (a part of a transaction across roots stays alone).
    pub version: u16,
}

impl Run {
    pub(super) fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    /// The operations a checkpoint must still make durable: those of transactions not yet
    /// flushed that no later transaction of the run supersedes ([`run::superseded`]).
    pub(super) fn pending_ops(&self) -> Vec<Op> {
        let superseded = run::superseded(self.txns.iter().map(|t| t.ops.as_slice()));
        self.txns
            .iter()
            .zip(superseded)
            .filter(|(t, _)| !t.flushed)
            .flat_map(|(t, gone)| {
                t.ops
                    .iter()
                    .zip(gone)
                    .filter(|(_, gone)| !gone)
                    .map(|(op, _)| op.clone())
            })
            .collect()
    }

    /// Whether committing `ops` after the run needs the run made durable first: some
    /// operation of theirs overlaps one of a transaction not yet flushed, other than a put
    /// chained onto a put of the same path (wal-spec.md §6.6).
    pub(super) fn needs_flush(&self, ops: &[Op]) -> bool {
        let mut index = PathIndex::default();
        for op in self.txns.iter().filter(|t| !t.flushed).flat_map(|t| &t.ops) {
            index.add(op);
        }
        !index.is_empty() && ops.iter().any(|op| index.meet(op) == Meet::Overlap)
    }
}

/// The state behind an open root (see the module's documentation).
pub(super) struct Session {
    pub fs: Arc<dyn FileSystem>,
    pub layout: Layout,
    /// `None` until the first transaction begins: opening a root only to read it (taking
    /// its lock, recovering) never creates a journal.
    pub journal: Option<JournalFile>,
    /// The committed transactions not yet retired.
    pub run: Run,
    poisoned: Option<String>,
    salts: SaltSource,
}

impl Session {
    pub(super) fn new(
        fs: Arc<dyn FileSystem>,
        layout: Layout,
        journal: Option<JournalFile>,
        salt_seed: Option<u64>,
    ) -> Session {
        Session {
            fs,
            layout,
            journal,
            run: Run::default(),
            poisoned: None,
            salts: SaltSource::new(salt_seed),
        }
    }

    /// The journal, created durably on first use (wal-spec.md §6.1).
    pub(super) fn journal_or_create(&mut self) -> Result<&mut JournalFile> {
        if self.journal.is_none() {
            let salt = self.salts.next(0, 1)?;
            let j = JournalFile::create(
                self.fs.as_ref(),
                &self.layout.journal,
                &self.layout.journal_tmp,
                salt,
                self.layout.budget.prealloc,
            )?;
            self.journal = Some(j);
        }
        Ok(self.journal.as_mut().expect("just made"))
    }

    /// The journal of a transaction that began (it exists then).
    pub(super) fn journal(&self) -> &JournalFile {
        self.journal
            .as_ref()
            .expect("a journal exists once a transaction began")
    }

    pub(super) fn journal_mut(&mut self) -> &mut JournalFile {
        self.journal
            .as_mut()
            .expect("a journal exists once a transaction began")
    }

    /// The seed salts are drawn from, when there is one (deterministic tests).
    pub(super) fn seed(&self) -> Option<u64> {
        self.salts.seed()
    }

    /// Fails with [`Error::Poisoned`] once a failure has stopped the engine.
    pub(super) fn check_usable(&self) -> Result<()> {
        match &self.poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the engine unusable after a failure whose effect on disk is unknown.
    pub(super) fn poison(&mut self, e: &Error) {
        if self.poisoned.is_none() {
            self.poisoned = Some(e.to_string());
        }
    }

    /// What applying a transaction salted `salt`, recorded in format `version`, needs.
    pub(super) fn ctx(&self, salt: u64, version: u16) -> Ctx<'_> {
        Ctx {
            fs: self.fs.as_ref(),
            layout: &self.layout,
            journal: self.journal().file.as_ref(),
            journal_path: &self.layout.journal,
            salt,
            version,
        }
    }

    /// The next idle header: a fresh salt, so no record written so far validates again.
    fn next_idle_header(&mut self, txn_id: u64) -> Result<Header> {
        let h = self.journal().header;
        Ok(Header {
            version: FORMAT_VERSION,
            sequence: h.sequence + 1,
            live_salt: self.salts.next(h.live_salt, h.sequence + 1)?,
            next_txn_id: h.next_txn_id.max(txn_id + 1),
            active: false,
        })
    }

    /// Retires the live salt durably: writes the other header slot with a fresh salt and
    /// syncs the journal. After `Ok`, no record written so far can ever validate again.
    pub(super) fn retire(&mut self, txn_id: u64) -> Result<()> {
        let header = self.next_idle_header(txn_id)?;
        let r = self.journal_mut().write_header(header);
        r.inspect_err(|e| self.poison(e))?;
        self.journal().sync().inspect_err(|e| self.poison(e))?;
        self.shrink_journal();
        Ok(())
    }

    /// Retires the live salt without syncing (after an abort: the aborted records have no
    /// commit record and can never be applied, so durability of this write is not needed).
    pub(super) fn retire_unsynced(&mut self, txn_id: u64) -> Result<()> {
        let header = self.next_idle_header(txn_id)?;
        self.journal_mut().write_header(header)?;
        self.shrink_journal();
        Ok(())
    }

    /// Cuts a journal that a transaction's records grew back to its preallocated size
    /// (wal-spec.md §6.4 step 5, §6.5). Called once the records are retired, or are an
    /// aborted transaction's: nothing past the preallocated size can ever be applied, and a
    /// crash that keeps either length, or the old header, finds the same decision (the
    /// truncation removes records; it never makes one). Not synced, and a failure is not
    /// the transaction's: the next retirement tries again.
    fn shrink_journal(&mut self) {
        let prealloc = self.layout.budget.prealloc;
        let file = &self.journal().file;
        if file.metadata().is_ok_and(|m| m.len > prealloc) {
            let _ = file.set_len(prealloc);
        }
    }

    /// Whether a transaction in format `version` may join the run instead of checkpointing
    /// it first (wal-spec.md §6.6): the run holds version-2 transactions, fewer than
    /// [`RUN_TXNS_MAX`], and its records end before [`RUN_JOURNAL_FACTOR`] times the
    /// preallocated size.
    pub(super) fn can_join(&self, version: u16) -> bool {
        !self.run.is_empty()
            && version == FORMAT_VERSION
            && self.run.version == FORMAT_VERSION
            && (self.run.txns.len() as u32) < RUN_TXNS_MAX
            && self.run.end < RUN_JOURNAL_FACTOR * self.layout.budget.prealloc
    }

    /// Makes every transaction of the run durable without retiring it (wal-spec.md §6.6):
    /// before the commit record of a transaction that overlaps it. A failure poisons.
    pub(super) fn flush_run(&mut self) -> Result<()> {
        let ops = self.run.pending_ops();
        apply::sync_targets(self.fs.as_ref(), &self.layout, &ops)
            .inspect_err(|e| self.poison(e))?;
        for t in &mut self.run.txns {
            t.flushed = true;
        }
        Ok(())
    }

    /// See [`super::Engine::checkpoint`].
    pub(super) fn checkpoint(&mut self) -> Result<()> {
        self.check_usable()?;
        if self.run.is_empty() {
            return Ok(());
        }
        let last_txn_id = self.run.first_txn_id + self.run.txns.len() as u64 - 1;
        let ops = self.run.pending_ops();
        let result = apply::sync_targets(self.fs.as_ref(), &self.layout, &ops)
            .and_then(|()| self.retire(last_txn_id));
        if let Err(e) = result {
            self.poison(&e);
            return Err(e);
        }
        self.run = Run::default();
        // The run is retired and durable; what is left in staging is garbage that the next
        // open removes, so failing to remove it now is not a failure of the commit.
        let _ = clear_staging(self.fs.as_ref(), &self.layout.staging);
        Ok(())
    }
}
