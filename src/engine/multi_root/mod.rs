//! One transaction across several roots (wal-spec.md §14): two collections, or a collection
//! and a project, possibly on different file systems, committed at one `fdatasync` in one
//! of them (the *coordinator*), and recovered by whichever root is opened first.
//!
//! Invariants (§14 is the long form and cites them by these names):
//!
//! (M-a) Every part is durable before the decision is written: each participant's records,
//!       its prepare record and its commit record are `fdatasync`ed before the coordinator
//!       appends its decision. So a durable decision implies durable parts.
//! (M-b) Nothing outside a root's engine directory changes before the decision is durable.
//! (M-c) The decision stays findable — in the coordinator's live transaction, or in
//!       `decisions/<global id>` — while any participant may still hold its part. A
//!       coordinator's part is retired only after every participant retired its own, or
//!       after the decision was written to `decisions/`.
//! (M-d) A participant whose coordinator is not found by its identity is in doubt: nothing
//!       is applied or dropped by guess.
//! (M-e) Several roots are locked in ascending identity order, by the commit and by
//!       recovery alike.
//!
//! `mod.rs` holds the transaction and its commit; `recovery.rs` recovery across roots and
//! the dry run; `decisions.rs` the decisions a coordinator keeps for unreachable roots.

pub mod decisions;
mod recovery;

pub(super) use recovery::recover;
pub use recovery::{AcrossRootsDryRun, Decision, DryRunRoot, dry_run_across};

use super::handle::Engine;
use super::txn::{CommitReport, Transaction};
use crate::error::{Error, Result};
use crate::journal::format::{FORMAT_VERSION_MULTI_ROOT, Participation, Record, RootEntry, hex};
use crate::limits::ROOTS_PER_TXN_MAX;
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What recovery across roots did to each root (in [`crate::RecoveryReport`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcrossRootsReport {
    /// The transaction's identity across its roots, hex.
    pub global_id: String,
    /// What the coordinator had decided.
    pub decision: Decision,
    /// Every root of the transaction, coordinator included, in the order the records list
    /// them.
    pub roots: Vec<RootReport>,
    /// The coordinator kept the decision in `decisions/` because a participant could not be
    /// reached (it is settled when that root is opened).
    pub decision_kept: bool,
    /// What happened to the root that was opened.
    #[serde(skip)]
    pub this_outcome: crate::RecoveryOutcome,
}

/// One root in an [`AcrossRootsReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootReport {
    /// Its identity, hex.
    pub id: String,
    /// Where it was looked for.
    pub root: PathBuf,
    /// Whether it is the coordinator.
    pub coordinator: bool,
    /// What happened to its part.
    pub state: RootState,
}

/// What recovery did to one root's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RootState {
    /// Its part was applied and retired.
    RolledForward,
    /// Its part was dropped (never applied).
    RolledBack,
    /// It held no part any more (finished before the crash, or never prepared).
    Finished,
    /// It was not found by its identity.
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// What a commit across roots did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcrossCommitReport {
    /// The transaction's identity across its roots, hex.
    pub global_id: String,
    /// Each root's part, in the order of the engines given.
    pub parts: Vec<CommitReport>,
}

/// A transaction across several open roots: one [`Transaction`] per root, staged as usual,
/// committed together by [`MultiRootTransaction::commit`]. Dropping it aborts every part.
pub struct MultiRootTransaction<'e> {
    parts: Vec<Transaction<'e>>,
    coordinator: usize,
    global_id: [u8; 16],
    roots: Vec<RootEntry>,
}

fn absolute_bytes(p: &Path) -> Result<Vec<u8>> {
    let b = p.as_os_str().as_bytes();
    if !p.is_absolute() || b.len() > crate::limits::PATH_BYTES_MAX {
        return Err(Error::Rejected {
            op: "begin",
            path: p.display().to_string(),
            reason:
                "a root of a transaction across roots needs an absolute path of at most 4,096 bytes"
                    .into(),
        });
    }
    Ok(b.to_vec())
}

/// Begins one transaction across `engines` (2 to 16 roots, each open once, as
/// [`crate::engine::open_several`] gives them, in any order), decided by
/// `engines[coordinator]`. Every
/// root gets an identity if it has none. Each root's previous transaction is checkpointed
/// first, as [`Engine::begin`] does.
///
/// Fails when there are too few or too many roots, a root's path is not absolute, two
/// roots share an identity ([`Error::SameRoot`]), or as [`Engine::begin`] fails.
pub fn begin_across<'e>(
    mut engines: Vec<&'e mut Engine>,
    coordinator: usize,
    label: &str,
) -> Result<MultiRootTransaction<'e>> {
    let n = engines.len();
    if !(2..=ROOTS_PER_TXN_MAX).contains(&n) || coordinator >= n {
        return Err(Error::Rejected {
            op: "begin",
            path: String::new(),
            reason: format!(
                "a transaction across roots spans 2 to {ROOTS_PER_TXN_MAX} roots, one of them the coordinator ({n} given, coordinator {coordinator})"
            ),
        });
    }
    let mut roots: Vec<RootEntry> = Vec::with_capacity(n);
    for e in engines.iter_mut() {
        let id = e.root_id()?.to_bytes();
        let layout = e.layout();
        if let Some(same) = roots.iter().position(|r| r.id == id) {
            return Err(Error::SameRoot {
                id: hex(&id),
                first: PathBuf::from(std::ffi::OsStr::from_bytes(&roots[same].root)),
                second: layout.root.clone(),
            });
        }
        roots.push(RootEntry {
            id,
            root: absolute_bytes(&layout.root)?,
            meta: absolute_bytes(&layout.meta)?,
        });
    }
    let seed = engines[coordinator].session.seed();
    let parts = engines
        .into_iter()
        .map(|e| Transaction::begin_in(&mut e.session, label, FORMAT_VERSION_MULTI_ROOT))
        .collect::<Result<Vec<_>>>()?;
    // Fresh for every transaction, also when drawn from a seed: the coordinator's salt is.
    let global_id = super::identity::random_16(seed.map(|s| s ^ parts[coordinator].salt()))?;
    Ok(MultiRootTransaction {
        parts,
        coordinator,
        global_id,
        roots,
    })
}

impl<'e> MultiRootTransaction<'e> {
    /// The part of the root at `index` (in the order the engines were given), to stage in.
    pub fn part(&mut self, index: usize) -> &mut Transaction<'e> {
        &mut self.parts[index]
    }

    /// How many roots the transaction spans.
    pub fn roots(&self) -> usize {
        self.parts.len()
    }

    /// The transaction's identity across its roots, hex (as `journal inspect` shows it).
    pub fn global_id(&self) -> String {
        hex(&self.global_id)
    }

    fn participation(&self, this: usize) -> Participation {
        Participation {
            global_id: self.global_id,
            coordinator: self.coordinator as u16,
            this: this as u16,
            roots: self.roots.clone(),
        }
    }

    /// The participants (every root but the coordinator), in ascending identity order.
    fn participants(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.parts.len())
            .filter(|&i| i != self.coordinator)
            .collect();
        order.sort_by_key(|&i| self.roots[i].id);
        order
    }

    /// Commits every part together (wal-spec.md §14.2), and returns once every change is
    /// durable in its place: each participant's part sealed and `fdatasync`ed, then the
    /// coordinator's decision sealed and `fdatasync`ed (the commit point), then every part
    /// applied, the participants checkpointed, and the coordinator checkpointed last.
    ///
    /// An error before the commit point aborts every part: nothing outside the engines'
    /// directories changed (a participant whose sync failed is retired without a sync: no
    /// decision exists, so the next open drops its part if that write is lost). An error at or after it is
    /// [`Error::CommitUncertain`]: every engine is then unusable and the next open of any
    /// of the roots completes the transaction in all of them, or rolls it back.
    pub fn commit(mut self) -> Result<AcrossCommitReport> {
        for i in self.participants() {
            let prepare = Record::Prepare(self.participation(i));
            self.parts[i].seal(Some(&prepare))?;
            self.parts[i].sync_prepared()?;
        }
        let c = self.coordinator;
        let decision = Record::Decision(self.participation(c));
        self.parts[c].seal(Some(&decision))?;
        if let Err(e) = self.parts[c].sync_commit() {
            return Err(self.uncertain(e));
        }
        // ---- commit point: from here on every part happens, at the latest on redo ----
        let mut order = vec![c];
        order.extend(self.participants());
        let mut reports: Vec<Option<CommitReport>> = vec![None; self.parts.len()];
        for &i in &order {
            match self.parts[i].apply_committed() {
                Ok(r) => reports[i] = Some(r),
                Err(e) => return Err(self.uncertain(e)),
            }
        }
        // The coordinator retires the decision with its own part, so every participant
        // retires its part first (invariant M-c).
        for &i in order.iter().skip(1).chain(std::iter::once(&c)) {
            if let Err(e) = self.parts[i].session().checkpoint() {
                return Err(self.uncertain(e));
            }
        }
        Ok(AcrossCommitReport {
            global_id: hex(&self.global_id),
            parts: reports
                .into_iter()
                .map(|r| r.expect("every part applied"))
                .collect(),
        })
    }

    /// After a failure at or past the commit point: every engine is poisoned and every part
    /// left as it is on disk (a participant's part must not be dropped while the decision
    /// may be durable), for the next open to settle.
    fn uncertain(&mut self, cause: Error) -> Error {
        for p in &mut self.parts {
            p.abandon(&cause);
        }
        let root = self.parts[self.coordinator].session().layout.root.clone();
        Error::CommitUncertain {
            root,
            cause: Box::new(cause),
        }
    }

    /// Abandons every part: staged content removed, records retired. Nothing outside the
    /// engines' directories was changed.
    pub fn abort(mut self) -> Result<()> {
        let mut first = Ok(());
        for p in &mut self.parts {
            let r = p.abort_inner();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}
