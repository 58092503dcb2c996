//! Recovery on open: scan the journal, decide (wal-spec.md §7.1), then roll the live
//! transaction forward or back. Each step is explicit and idempotent: recovery does not
//! change the journal until the very end, so a crash at any point of it leaves the same
//! decision for the next open.

use super::apply;
use super::classify::{self, Status};
use super::ctx::Ctx;
use super::layout::Layout;
use super::ops::{self, Op, TxnContents};
use super::run;
use crate::error::{Error, IoContext, Result};
use crate::fs::FileSystem;
use crate::journal::format::{FORMAT_VERSION, run_salt};
use crate::journal::reader::{Scan, ScanEnd, ScanError, ScannedRecord};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What recovery did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum RecoveryOutcome {
    /// No transaction was in progress.
    Nothing,
    /// An uncommitted transaction was discarded: nothing of it had reached the tree.
    RolledBack {
        /// The discarded transaction's id.
        txn_id: u64,
        /// How many of its records were valid.
        records: u32,
    },
    /// A committed transaction was completed and made durable (or a run of several, wal-spec.md
    /// §6.6, together; an uncommitted transaction after them dropped).
    RolledForward {
        /// The transaction's id (in a run, the last committed one's).
        txn_id: u64,
        /// Its label, from its begin record.
        label: String,
        /// How many committed transactions: 1, or a run's.
        transactions: u32,
        /// How many operations it has (done before the crash or not; in a run, all of
        /// them, those a later transaction superseded included).
        operations: u32,
        /// Operations that had to be applied again.
        redone: u32,
        /// Operations whose target the crash had left damaged and that were rewritten.
        repaired: u32,
        /// An uncommitted transaction after a run's committed ones, dropped (nothing of it
        /// had reached the tree): its id.
        dropped: Option<u64>,
    },
}

/// The report of one open's recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// What happened to the transaction the journal held.
    #[serde(flatten)]
    pub outcome: RecoveryOutcome,
    /// Leftover entries removed from the staging directory.
    pub staging_removed: u32,
    /// When the live transaction spanned several roots: what happened in each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub across_roots: Option<crate::engine::multi_root::AcrossRootsReport>,
}

impl RecoveryReport {
    /// Whether recovery had anything to do (worth telling a user).
    pub fn did_something(&self) -> bool {
        self.outcome != RecoveryOutcome::Nothing || self.staging_removed > 0
    }
}

/// What recovery will do, decided from the journal and the targets without changing
/// anything.
#[derive(Debug)]
pub enum Plan {
    Nothing,
    RollBack {
        txn_id: u64,
        records: u32,
    },
    /// Roll the run's committed transactions forward (one, without a run), in order; an
    /// uncommitted transaction after them (`dropped`: its id) is dropped with the staging
    /// area.
    RollForward {
        run: Vec<Planned>,
        dropped: Option<u64>,
    },
    /// A committed part of a transaction across several roots: decided and recovered with
    /// its other roots (wal-spec.md §14.4), its targets not looked at here.
    AcrossRoots(Box<TxnContents>),
}

/// One committed transaction of a roll-forward, classified.
#[derive(Debug)]
pub struct Planned {
    pub txn: TxnContents,
    /// Its salt (names its staged content): the run's salt for its place (wal-spec.md §6.6).
    pub salt: u64,
    /// Each operation's status.
    pub statuses: Vec<Status>,
    /// For an operation that chains onto puts of earlier transactions of the run, those
    /// puts (wal-spec.md §6.6); empty otherwise.
    pub chains: Vec<Vec<Op>>,
}

impl Planned {
    /// A transaction alone, not in a run (a root's part of one across several roots).
    pub(crate) fn alone(txn: &TxnContents, salt: u64, statuses: &[Status]) -> Planned {
        Planned {
            txn: txn.clone(),
            salt,
            statuses: statuses.to_vec(),
            chains: vec![Vec::new(); txn.ops.len()],
        }
    }
}

/// The error of a journal that cannot be scanned at all. What is wrong is then in the
/// header area (too short, no valid slot), so the offset is 0 and no record is to blame;
/// damage in a record is found by the scan and reported by [`plan`] with its offset and
/// index.
pub(crate) fn scan_error(path: &Path, e: ScanError) -> Error {
    match e {
        ScanError::Io(e) => Error::io("read journal", path, e),
        ScanError::UnsupportedVersion { found, .. } => Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        },
        other => Error::CorruptJournal {
            path: path.to_path_buf(),
            offset: 0,
            record: None,
            reason: other.to_string(),
        },
    }
}

/// The journal of the root laid out as `layout`, opened for reading and scanned without its
/// lock (a writer holding it may change it meanwhile); `None` when the root has no journal.
pub(crate) fn scan_unlocked(
    fs: &dyn FileSystem,
    layout: &Layout,
) -> Result<Option<(Box<dyn crate::fs::FileHandle>, Scan)>> {
    if !fs.exists(&layout.journal).ctx("stat", &layout.journal)? {
        return Ok(None);
    }
    let journal = fs
        .open(&layout.journal, crate::fs::OpenMode::Read)
        .ctx("open", &layout.journal)?;
    let scanned = crate::journal::reader::scan(journal.as_ref())
        .map_err(|e| scan_error(&layout.journal, e))?;
    Ok(Some((journal, scanned)))
}

/// The operations of a committed transaction's records ([`ops::from_records`]); records
/// that are not a transaction the engine writes are [`Error::CorruptJournal`] in
/// `journal_path`, naming the record at fault.
pub(crate) fn contents(journal_path: &Path, scan: &Scan) -> Result<TxnContents> {
    contents_of(journal_path, &scan.records)
}

/// [`contents`] of one transaction's `records`.
pub(crate) fn contents_of(journal_path: &Path, records: &[ScannedRecord]) -> Result<TxnContents> {
    ops::from_records(records).map_err(|bad| Error::CorruptJournal {
        path: journal_path.to_path_buf(),
        offset: bad.offset,
        record: Some(bad.record),
        reason: bad.reason,
    })
}

/// Decides what recovery must do. Reads only. Fails on a damaged committed transaction
/// (never applied in part) and on targets the transaction cannot explain.
pub(crate) fn plan(ctx: &Ctx, scan: &Scan) -> Result<Plan> {
    let committed_run = || -> Result<Vec<TxnContents>> {
        scan.run_before
            .iter()
            .map(|records| contents_of(ctx.journal_path, records))
            .collect()
    };
    match &scan.end {
        ScanEnd::Empty { .. } => Ok(Plan::Nothing),
        ScanEnd::Uncommitted { .. } if scan.run_before.is_empty() => Ok(Plan::RollBack {
            txn_id: scan.records[0].frame.txn_id,
            records: scan.records.len() as u32,
        }),
        ScanEnd::Uncommitted { .. } => Ok(Plan::RollForward {
            run: classify_run(ctx, committed_run()?)?,
            dropped: Some(scan.records[0].frame.txn_id),
        }),
        ScanEnd::Damaged {
            stop,
            commit_offset,
        } => Err(Error::CorruptJournal {
            path: ctx.journal_path.to_path_buf(),
            offset: stop.offset,
            record: Some(stop.index),
            reason: format!(
                "{} inside a committed transaction (its commit record is at byte {commit_offset})",
                stop.reason
            ),
        }),
        ScanEnd::Committed { .. } => {
            let txn = contents(ctx.journal_path, scan)?;
            if txn.participation.is_some() && scan.run_before.is_empty() {
                return Ok(Plan::AcrossRoots(Box::new(txn)));
            }
            let mut run = committed_run()?;
            run.push(txn);
            Ok(Plan::RollForward {
                run: classify_run(ctx, run)?,
                dropped: None,
            })
        }
    }
}

/// Classifies every operation of a run's committed transactions, in order (wal-spec.md §7.2,
/// §6.6), reading only: an operation a later transaction supersedes is not looked at; one
/// that chains onto puts of earlier transactions also accepts their states as not applied.
/// Fails with [`Error::RecoveryConflict`] listing every target it cannot explain.
fn classify_run(ctx: &Ctx, run: Vec<TxnContents>) -> Result<Vec<Planned>> {
    let superseded = run::superseded(run.iter().map(|t| t.ops.as_slice()));
    let mut earlier_puts: BTreeMap<String, Vec<Op>> = BTreeMap::new();
    let mut planned = Vec::with_capacity(run.len());
    let mut conflicts = Vec::new();
    let mut conflict_txn = None;
    for (k, (txn, gone)) in run.into_iter().zip(superseded).enumerate() {
        let salt = run_salt(ctx.salt, k as u32);
        let ctx_k = ctx.with_salt(salt);
        let chains: Vec<Vec<Op>> = txn
            .ops
            .iter()
            .map(|op| match earlier_puts.get(op.path().as_str()) {
                Some(puts) if run::is_put(op) => puts.clone(),
                _ => Vec::new(),
            })
            .collect();
        let mut statuses = Vec::with_capacity(txn.ops.len());
        for (i, op) in txn.ops.iter().enumerate() {
            let status = if gone[i] {
                Status::Superseded
            } else {
                classify_in_order(&ctx_k, op, &txn.ops, i, &chains[i])?
            };
            if let Status::Conflict(c) = &status {
                conflicts.push(c.clone());
                conflict_txn.get_or_insert(txn.txn_id);
            }
            statuses.push(status);
        }
        for op in txn.ops.iter().filter(|op| run::is_put(op)) {
            earlier_puts
                .entry(op.path().as_str().to_string())
                .or_default()
                .push(op.clone());
        }
        planned.push(Planned {
            txn,
            salt,
            statuses,
            chains,
        });
    }
    if let Some(txn_id) = conflict_txn {
        return Err(Error::RecoveryConflict { txn_id, conflicts });
    }
    Ok(planned)
}

/// Classifies every operation of a committed transaction (wal-spec.md §7.2), reading only.
/// Fails with [`Error::RecoveryConflict`] listing every target it cannot explain.
pub(crate) fn classify_all(ctx: &Ctx, txn: &TxnContents) -> Result<Vec<Status>> {
    let mut statuses = Vec::with_capacity(txn.ops.len());
    let mut conflicts = Vec::new();
    for op in &txn.ops {
        let status = classify_in_order(ctx, op, &txn.ops, statuses.len(), &[])?;
        if let Status::Conflict(c) = &status {
            conflicts.push(c.clone());
        }
        statuses.push(status);
    }
    if !conflicts.is_empty() {
        return Err(Error::RecoveryConflict {
            txn_id: txn.txn_id,
            conflicts,
        });
    }
    Ok(statuses)
}

/// Classifies `ops[i]`. A directory that this transaction empties before removing it is
/// judged as if the earlier removals had happened.
fn classify_in_order(ctx: &Ctx, op: &Op, all: &[Op], i: usize, chain: &[Op]) -> Result<Status> {
    if let Op::RemoveDir { path } = op {
        let target = ctx.layout.resolve(path.as_str());
        if let Ok(entries) = ctx.fs.read_dir(&target) {
            let removed_earlier = |name: &std::ffi::OsStr| {
                all[..i].iter().any(|earlier| {
                    matches!(
                        earlier,
                        Op::DeleteFile { .. } | Op::DeleteTree { .. } | Op::RemoveDir { .. }
                    ) && ctx.layout.resolve(earlier.path().as_str()) == target.join(name)
                })
            };
            if !entries.is_empty() && entries.iter().all(|e| removed_earlier(&e.name)) {
                return Ok(Status::NotApplied);
            }
        }
    }
    classify::classify(ctx, op, chain)
}

/// Carries out a plan's roll-forward part: redoes every operation not yet done.
/// Returns (redone, repaired).
///
/// A directory a transaction creates is staged and renamed into place (wal-spec.md §6.3), so
/// a crash can keep a later operation's rename into it while losing its own rename: what
/// that later operation wrote is then inside the staged directory, and appears at its target
/// only when the directory is renamed. So every operation below a directory this recovery
/// renamed into place is classified again just before it is redone.
pub(crate) fn roll_forward(ctx: &Ctx, p: &Planned) -> Result<(u32, u32)> {
    let (txn, statuses) = (&p.txn, &p.statuses);
    let (mut redone, mut repaired) = (0, 0);
    let mut created: Vec<&super::path::RelPath> = Vec::new();
    for (i, (op, planned)) in txn.ops.iter().zip(statuses).enumerate() {
        let below_created = created
            .iter()
            .any(|c| op.path() != *c && op.path().is_within(c));
        let status = if below_created && *planned != Status::Superseded {
            classify_in_order(ctx, op, &txn.ops, i, &p.chains[i])?
        } else {
            planned.clone()
        };
        match &status {
            Status::NotApplied => redone += 1,
            Status::Damaged => repaired += 1,
            Status::Conflict(c) => {
                // Only the transaction's own renames can put anything there; this is not a
                // state the engine leaves. Nothing more is written.
                return Err(Error::RecoveryConflict {
                    txn_id: txn.txn_id,
                    conflicts: vec![c.clone()],
                });
            }
            Status::Done | Status::Superseded => {}
        }
        apply::redo(ctx, i as u32, op, &status).map_err(|e| at_record(e, txn.op_records[i]))?;
        if matches!(op, Op::CreateDir { .. }) && status == Status::NotApplied {
            created.push(op.path());
        }
    }
    Ok((redone, repaired))
}

/// Rolls a run's committed transactions forward, in order, each with its own salt
/// (wal-spec.md §6.6). Returns (redone, repaired) over all of them.
pub(crate) fn roll_forward_run(ctx: &Ctx, run: &[Planned]) -> Result<(u32, u32)> {
    let (mut redone, mut repaired) = (0, 0);
    for p in run {
        let (r, f) = roll_forward(&ctx.with_salt(p.salt), p)?;
        redone += r;
        repaired += f;
    }
    Ok((redone, repaired))
}

/// Names the operation's record in a [`Error::CorruptJournal`] from its redo that names
/// none (content staged outside the journal and gone from the staging area: the record
/// that names that content is the one to look at).
fn at_record(e: Error, (offset, record): (u64, u32)) -> Error {
    match e {
        Error::CorruptJournal {
            path,
            record: None,
            reason,
            ..
        } => Error::CorruptJournal {
            path,
            offset,
            record: Some(record),
            reason,
        },
        other => other,
    }
}

/// One operation in a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedOp {
    /// The operation's kind, as wal-spec.md §4.2 names it (`put-file`, …).
    pub op: &'static str,
    /// Its target, relative to the root.
    pub path: String,
    /// `done`, `redo` (target still as before), `repair` (the engine's own file, damaged by
    /// the crash) or `superseded` (a later transaction of the run replaces it, or it was
    /// made durable before one that overlaps it committed: wal-spec.md §6.6).
    pub action: &'static str,
}

/// What recovery would do, from [`dry_run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum DryRun {
    /// No transaction is in progress: recovery would leave the journal as it is.
    Nothing,
    /// An uncommitted transaction would be discarded.
    RollBack {
        /// Its id.
        txn_id: u64,
        /// How many of its records are valid.
        records: u32,
    },
    /// A committed part of a transaction across several roots would be completed or
    /// dropped with its other roots, as the coordinator decided.
    AcrossRoots {
        /// Its id in this root.
        txn_id: u64,
        /// Its label, from its begin record.
        label: String,
        /// How many operations this root's part has.
        operations: u32,
        /// The transaction, its roots, and the decision as far as it can be seen now.
        across: crate::engine::multi_root::AcrossRootsDryRun,
    },
    /// A committed transaction (or a run of several, wal-spec.md §6.6) would be completed.
    RollForward {
        /// Its id (in a run, the last committed one's).
        txn_id: u64,
        /// Its label, from its begin record.
        label: String,
        /// How many committed transactions: 1, or a run's.
        transactions: u32,
        /// An uncommitted transaction after them that would be dropped: its id.
        dropped: Option<u64>,
        /// Every operation, in order, with what recovery would do to it.
        operations: Vec<PlannedOp>,
    },
}

/// Decides what recovery of `root` would do, changing nothing and taking no lock. Fails as
/// recovery would (damaged journal, conflicting targets).
pub fn dry_run(fs: &dyn FileSystem, layout: &Layout) -> Result<DryRun> {
    let Some((journal, scanned)) = scan_unlocked(fs, layout)? else {
        return Ok(DryRun::Nothing);
    };
    let ctx = Ctx {
        fs,
        layout,
        journal: journal.as_ref(),
        journal_path: &layout.journal,
        salt: scanned.header.live_salt,
        version: scanned.record_version(),
    };
    Ok(match plan(&ctx, &scanned)? {
        Plan::Nothing => DryRun::Nothing,
        Plan::RollBack { txn_id, records } => DryRun::RollBack { txn_id, records },
        Plan::AcrossRoots(txn) => DryRun::AcrossRoots {
            txn_id: txn.txn_id,
            label: txn.label.clone(),
            operations: txn.ops.len() as u32,
            across: crate::engine::multi_root::dry_run_across(
                fs,
                layout,
                txn.participation.as_ref().expect("a part across roots"),
            ),
        },
        Plan::RollForward { run, dropped } => {
            let last = &run.last().expect("a roll-forward has a transaction").txn;
            DryRun::RollForward {
                txn_id: last.txn_id,
                label: last.label.clone(),
                transactions: run.len() as u32,
                dropped,
                operations: run
                    .iter()
                    .flat_map(|p| p.txn.ops.iter().zip(&p.statuses))
                    .map(|(op, s)| PlannedOp {
                        op: op.name(),
                        path: op.path().to_string(),
                        action: match s {
                            Status::Done => "done",
                            Status::Superseded => "superseded",
                            Status::NotApplied => "redo",
                            Status::Damaged => "repair",
                            Status::Conflict(_) => unreachable!("plan fails on conflicts"),
                        },
                    })
                    .collect(),
            }
        }
    })
}
