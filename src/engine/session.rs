//! What an open root's transactions share: the file system, the layout, the journal, the
//! salts, the transaction applied but not yet durable, and whether a failure stopped the
//! engine. [`super::Engine`] owns one; a [`super::Transaction`] borrows it.

use super::apply;
use super::ctx::Ctx;
use super::layout::Layout;
use super::ops::Op;
use super::salt::SaltSource;
use super::staging::clear_staging;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::journal::format::{FORMAT_VERSION, Header};
use crate::journal::writer::JournalFile;
use std::sync::Arc;

/// A committed, applied transaction whose changes are not yet all durable.
pub(super) struct Applied {
    pub ops: Vec<Op>,
}

/// The state behind an open root (see the module's documentation).
pub(super) struct Session {
    pub fs: Arc<dyn FileSystem>,
    pub layout: Layout,
    /// `None` until the first transaction begins: opening a root only to read it (taking
    /// its lock, recovering) never creates a journal.
    pub journal: Option<JournalFile>,
    pub applied: Option<Applied>,
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
            applied: None,
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

    /// See [`super::Engine::checkpoint`].
    pub(super) fn checkpoint(&mut self) -> Result<()> {
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
        let _ = clear_staging(self.fs.as_ref(), &self.layout.staging);
        Ok(())
    }
}
