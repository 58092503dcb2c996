//! Staging a transaction and committing it (wal-spec.md §6.2).
//!
//! Staging writes only the journal and `.skillwal/staging/` (invariant E1). `commit` makes
//! the staged bytes durable, appends the commit record, syncs the journal once — the commit
//! point — and then applies the operations in order. Dropping a transaction without
//! committing aborts it.
//!
//! `mod.rs` holds the transaction's life (begin, commit, abort); `stage.rs` the operations a
//! caller stages; `checks.rs` what is checked before anything is staged; `content.rs` how
//! new bytes are staged and recorded; `tree.rs` the stager of a whole directory tree.

mod checks;
mod content;
mod stage;
mod tree;

pub use tree::TreeStager;

use super::apply::act;
use super::ops::Op;
use super::session::{Applied, Session};
use crate::error::{Error, IoContext, Result};
use crate::journal::format::{
    FORMAT_VERSION, FORMAT_VERSION_MULTI_ROOT, FORMAT_VERSION_RUN, FieldChange, Header, Kind,
    Record, encode_payload, run_salt,
};
use crate::journal::writer::TxnWriter;
use crate::limits::LABEL_BYTES_MAX;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Owner read, write and search: what the engine itself needs on a directory it fills.
const OWNER_RWX: u32 = 0o700;

/// What a successful commit did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommitReport {
    /// The committed transaction's id.
    pub txn_id: u64,
    /// How many operations it applied.
    pub operations: u32,
    /// Bytes appended to the journal, commit record included.
    pub journal_bytes: u64,
}

/// A transaction being staged. Borrows the engine until it is committed or aborted.
pub struct Transaction<'e> {
    session: &'e mut Session,
    writer: TxnWriter,
    ops: Vec<Op>,
    /// The field changes recorded by [`Transaction::record_diff`], by document.
    diffs: Vec<(String, Vec<FieldChange>)>,
    inline_bytes: u64,
    /// Directories whose entries for durable staged content must be synced before commit.
    sync_before_commit: BTreeSet<PathBuf>,
    broken: Option<String>,
    /// A commit record write was attempted: an abort must then retire the salt durably,
    /// or a commit record that reached the page cache could be replayed later.
    commit_record_attempted: bool,
    finished: bool,
    /// The format version of the records (and of the active header): [`FORMAT_VERSION`],
    /// or [`FORMAT_VERSION_MULTI_ROOT`] for a part of a transaction across several roots.
    version: u16,
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The payload of a begin record labelled `label` (cut to [`LABEL_BYTES_MAX`]).
fn begin_payload(label: &str) -> Vec<u8> {
    let begin = Record::Begin {
        time_unix_ms: now_unix_ms(),
        label: cut(label, LABEL_BYTES_MAX),
    };
    encode_payload(&begin, None)
}

fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl<'e> Transaction<'e> {
    /// Begins a transaction on `session`, first checkpointing the previous one if it is
    /// still pending (see [`super::Engine::begin`]).
    pub(in crate::engine) fn begin(
        session: &'e mut Session,
        label: &str,
    ) -> Result<Transaction<'e>> {
        Transaction::begin_in(session, label, FORMAT_VERSION)
    }

    /// [`Transaction::begin`] with records in format `version`: [`FORMAT_VERSION`], or
    /// [`FORMAT_VERSION_MULTI_ROOT`] for one root's part of a transaction across several.
    pub(in crate::engine) fn begin_in(
        session: &'e mut Session,
        label: &str,
        version: u16,
    ) -> Result<Transaction<'e>> {
        debug_assert!(version == FORMAT_VERSION || version == FORMAT_VERSION_MULTI_ROOT);
        session.check_usable()?;
        if session.can_join(version) {
            return Transaction::join_run(session, label);
        }
        session.checkpoint()?;
        let h = session.journal_or_create()?.header;
        // Mark the header active (unsynced: the commit's fdatasync makes it durable together
        // with the records; before that, an idle header correctly hides them).
        let active = Header {
            version,
            sequence: h.sequence + 1,
            active: true,
            ..h
        };
        if let Err(e) = session.journal_mut().write_header(active) {
            let _ = session.retire_unsynced(h.next_txn_id);
            return Err(e);
        }
        let mut writer = TxnWriter::new(h.live_salt, h.next_txn_id);
        if let Err(e) = writer.append(session.journal(), Kind::Begin, &begin_payload(label)) {
            let _ = session.retire_unsynced(h.next_txn_id);
            return Err(e);
        }
        Ok(Transaction::started(session, writer, version))
    }

    /// A transaction whose begin record `writer` has written, nothing staged yet.
    fn started(session: &'e mut Session, writer: TxnWriter, version: u16) -> Transaction<'e> {
        Transaction {
            session,
            writer,
            ops: Vec::new(),
            diffs: Vec::new(),
            inline_bytes: 0,
            sync_before_commit: BTreeSet::new(),
            broken: None,
            commit_record_attempted: false,
            finished: false,
            version,
        }
    }

    /// Begins the next transaction of the run (wal-spec.md §6.6): its records follow the
    /// last commit record, with the run's next salt and id; the second transaction of a run
    /// marks the header version 4 (unsynced, like `begin`'s header write). A failure here
    /// poisons the engine rather than retire the run's salt, which the committed
    /// transactions before it still need: the next open completes them.
    fn join_run(session: &'e mut Session, label: &str) -> Result<Transaction<'e>> {
        let k = session.run.txns.len() as u32;
        let h = session.journal().header;
        let joined = (|| {
            if h.version != FORMAT_VERSION_RUN {
                session.journal_mut().write_header(Header {
                    version: FORMAT_VERSION_RUN,
                    sequence: h.sequence + 1,
                    ..h
                })?;
            }
            let mut writer = TxnWriter::at(
                run_salt(h.live_salt, k),
                session.run.first_txn_id + u64::from(k),
                session.run.end,
            );
            writer.append(session.journal(), Kind::Begin, &begin_payload(label))?;
            Ok(writer)
        })();
        let writer = joined.inspect_err(|e| session.poison(e))?;
        Ok(Transaction::started(session, writer, FORMAT_VERSION))
    }

    /// Commits: makes the staged content durable, appends the commit record and syncs the
    /// journal (the commit point), then applies every operation in order. The changes are
    /// in place when this returns; making them durable is the checkpoint's work
    /// ([`Engine::checkpoint`](crate::Engine::checkpoint), or the next
    /// [`Engine::begin`](crate::Engine::begin) or open).
    ///
    /// An error before the commit point aborts the transaction: nothing outside the engine's
    /// directory changed. An error at or after it is [`Error::CommitUncertain`]: the change
    /// may have been applied, and the next open completes it or rolls it back; this engine
    /// is then unusable.
    pub fn commit(mut self) -> Result<CommitReport> {
        self.commit_inner()
    }

    /// [`Transaction::commit`], then [`Engine::checkpoint`](crate::Engine::checkpoint): on
    /// `Ok` every change is durable
    /// in its place and the journal is retired.
    ///
    /// A checkpoint failure is reported as [`Error::CommitUncertain`] too: the change is
    /// committed and applied, and the next open makes it durable.
    pub fn commit_durable(mut self) -> Result<CommitReport> {
        let report = self.commit_inner()?;
        if let Err(e) = self.session.checkpoint() {
            return Err(Error::CommitUncertain {
                root: self.session.layout.root.clone(),
                cause: Box::new(e),
            });
        }
        Ok(report)
    }

    fn commit_inner(&mut self) -> Result<CommitReport> {
        if let Err(e) = self.seal(None) {
            let _ = self.abort_inner();
            return Err(e);
        }
        let root = self.session.layout.root.clone();
        let uncertain = |e| Error::CommitUncertain {
            root: root.clone(),
            cause: Box::new(e),
        };
        // Promise 6: a failed sync is never retried; whether the commit record reached the
        // disk is unknown.
        self.sync_commit().map_err(uncertain)?;
        // ---- commit point: from here on the transaction happens, at the latest on redo ----
        self.apply_committed().map_err(uncertain)
    }

    /// Makes the staged content durable and appends `last` (a prepare or decision record,
    /// for a part of a transaction across several roots) and the commit record, syncing
    /// nothing but the directories of large staged contents. On error the caller aborts.
    pub(in crate::engine) fn seal(&mut self, last: Option<&Record>) -> Result<()> {
        if let Some(b) = &self.broken {
            return Err(Error::Rejected {
                op: "commit",
                path: String::new(),
                reason: b.clone(),
            });
        }
        let dirs: Vec<PathBuf> = self.sync_before_commit.iter().rev().cloned().collect();
        for d in dirs {
            if let Err(e) = self
                .session
                .fs
                .sync_dir(&d)
                .ctx("fsync directory", &d)
                .map_err(Error::from)
            {
                self.session.poison(&e);
                return Err(e);
            }
        }
        // A run's earlier transactions that this one overlaps are made durable before its
        // commit record: recovery then finds them done and skips them (wal-spec.md §6.6).
        if self.session.run.needs_flush(&self.ops) {
            self.session.flush_run()?;
        }
        if let Some(rec) = last {
            self.append(rec, None)?;
        }
        let commit = Record::Commit {
            record_count: self.writer.next_index,
            op_count: self.ops.len() as u32,
            digest: self.writer.digest(),
        };
        self.commit_record_attempted = true;
        self.append(&commit, None)?;
        Ok(())
    }

    /// `fdatasync`s the sealed journal: the commit point of a transaction in one root, or
    /// of the coordinator's part. The transaction is finished either way (never aborted
    /// after this: a failed sync is not retried, and the next open decides).
    pub(in crate::engine) fn sync_commit(&mut self) -> Result<()> {
        self.finished = true;
        self.session
            .journal()
            .sync()
            .inspect_err(|e| self.session.poison(e))
    }

    /// `fdatasync`s the sealed journal of a participant's part. After `Ok` the part can
    /// still be aborted (its retiring header write is then synced). After a failure the
    /// coordinator writes no decision, so the part can only be aborted: it is retired by a
    /// header write that is not synced (a failed sync is never retried; if the write is
    /// lost, the next open finds no decision and drops the part), its staged content is
    /// removed (an abort never reads it), and the engine is poisoned (wal-spec.md §14.2).
    pub(in crate::engine) fn sync_prepared(&mut self) -> Result<()> {
        let r = self.session.journal().sync();
        if let Err(e) = &r {
            self.finished = true;
            self.session.poison(e);
            let _ = crate::engine::staging::clear_staging(
                self.session.fs.as_ref(),
                &self.session.layout.staging,
            );
            let _ = self.session.retire_unsynced(self.writer.txn_id);
        }
        r
    }

    /// Applies every operation of a transaction past its commit point, in order, and leaves
    /// the checkpoint pending. A failure poisons the engine.
    pub(in crate::engine) fn apply_committed(&mut self) -> Result<CommitReport> {
        self.finished = true;
        let ops = std::mem::take(&mut self.ops);
        let applied = {
            let ctx = self.session.ctx(self.writer.salt, self.version);
            ops.iter()
                .enumerate()
                .try_for_each(|(i, op)| act(&ctx, i as u32, op))
        };
        if let Err(e) = applied {
            self.session.poison(&e);
            return Err(e);
        }
        let report = CommitReport {
            txn_id: self.writer.txn_id,
            operations: ops.len() as u32,
            journal_bytes: self.writer.next_offset - self.writer.start_offset,
        };
        let run = &mut self.session.run;
        if run.is_empty() {
            run.first_txn_id = self.writer.txn_id;
            run.version = self.version;
        }
        run.end = self.writer.next_offset;
        run.txns.push(Applied {
            ops,
            flushed: false,
        });
        Ok(report)
    }

    /// The root this transaction changes.
    pub(in crate::engine) fn session(&mut self) -> &mut Session {
        self.session
    }

    /// The salt of this transaction's records.
    pub(in crate::engine) fn salt(&self) -> u64 {
        self.writer.salt
    }

    /// Leaves the transaction as it is on disk, for the next open, and poisons the engine:
    /// after a failure at or past the commit point of a transaction across roots.
    pub(in crate::engine) fn abandon(&mut self, cause: &Error) {
        self.finished = true;
        self.session.poison(cause);
    }

    /// Abandons the transaction: removes what was staged and retires its records. Nothing
    /// outside the engine's directory was changed.
    pub fn abort(mut self) -> Result<()> {
        self.abort_inner()
    }

    pub(in crate::engine) fn abort_inner(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if !self.session.run.is_empty() {
            // The run's committed transactions may still need their staged content and
            // their salt: they are checkpointed instead, which retires this transaction's
            // records with theirs and clears the staging area (wal-spec.md §6.5). When that
            // fails, the next open completes them and drops this one.
            return self.session.checkpoint();
        }
        let cleared = crate::engine::staging::clear_staging(
            self.session.fs.as_ref(),
            &self.session.layout.staging,
        );
        let retired = if self.commit_record_attempted {
            self.session.retire(self.writer.txn_id)
        } else {
            self.session.retire_unsynced(self.writer.txn_id)
        };
        cleared.and(retired)
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // No sync here: an abort needs none (the records have no commit record).
        let _ = self.abort_inner();
    }
}
