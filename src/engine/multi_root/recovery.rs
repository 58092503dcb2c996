//! Recovery of a transaction across several roots (wal-spec.md §14.4): started by the
//! open of any of its roots that finds its part committed in its journal. Every root is
//! found by its identity at the path the records give, the reachable ones are locked in
//! identity order, the coordinator's decision is read, and every part is rolled forward
//! or back accordingly. A participant whose coordinator cannot be found is in doubt.

use super::decisions;
use super::{AcrossRootsReport, RootReport, RootState};
use crate::engine::handle::{OpenOptions, Opened};
use crate::engine::identity;
use crate::engine::layout::Layout;
use crate::engine::ops::{self, TxnContents};
use crate::engine::recovery::{self, RecoveryOutcome};
use crate::engine::session::{Applied, Run, Session};
use crate::engine::staging::clear_staging;
use crate::error::{Error, Result};
use crate::fs::FileSystem;
use crate::journal::format::{Participation, hex};
use crate::journal::reader::{ScanEnd, scan};
use serde::Serialize;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

/// What the coordinator decided, as recovery finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// The decision is durable (in the coordinator's journal or in its `decisions/`): every
    /// part is applied.
    Commit,
    /// The coordinator holds no decision: the transaction never committed, every part is
    /// dropped.
    Abort,
    /// The coordinator is not found: nothing is applied or dropped (only in a dry run; an
    /// open fails with [`Error::InDoubt`]).
    InDoubt {
        /// Why it is not found.
        reason: String,
    },
}

/// A root's part of the transaction, committed in its journal and not yet retired.
struct Part {
    txn: TxnContents,
    salt: u64,
    version: u16,
    records: u32,
}

fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// Each root's layout: the root being opened where it was opened; the others where the
/// records say they were.
fn layouts_of(own: &Layout, p: &Participation) -> Vec<Layout> {
    p.roots
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if i == p.this as usize {
                own.clone()
            } else {
                Layout::with_meta(&path_of(&r.root), &path_of(&r.meta))
            }
        })
        .collect()
}

/// Why the root with identity `id` is not at `layout`, or `None` when it is.
fn why_unreachable(fs: &dyn FileSystem, layout: &Layout, id: &[u8; 16]) -> Option<String> {
    match identity::read(fs, layout) {
        Ok(Some(found)) if found.to_bytes() == *id => None,
        Ok(Some(found)) => Some(format!(
            "another root, identity {found}, is at {}",
            layout.root.display()
        )),
        Ok(None) => Some(format!(
            "no root with an identity at {} (engine directory {})",
            layout.root.display(),
            layout.meta.display()
        )),
        Err(e) => Some(e.to_string()),
    }
}

fn corrupt(layout: &Layout, reason: String) -> Error {
    Error::CorruptJournal {
        path: layout.journal.clone(),
        offset: 0,
        record: None,
        reason,
    }
}

/// The part of `p`'s transaction that root `i`'s journal holds committed, if any. An
/// uncommitted transaction is not a part (a part is committed in its root before the
/// decision can exist) and is left to the root's own recovery; so is any other committed
/// transaction. Fails on a damaged journal, and on a part that names the transaction's
/// roots otherwise than `p` does.
fn part_in(s: &Session, p: &Participation, i: usize) -> Result<Option<Part>> {
    let Some(journal) = &s.journal else {
        return Ok(None);
    };
    let scanned =
        scan(journal.file.as_ref()).map_err(|e| recovery::scan_error(&s.layout.journal, e))?;
    match &scanned.end {
        ScanEnd::Empty { .. } | ScanEnd::Uncommitted { .. } => Ok(None),
        ScanEnd::Damaged { .. } => {
            // The plan's error names the damage.
            let ctx = s.ctx(scanned.header.live_salt, scanned.header.version);
            recovery::plan(&ctx, &scanned).map(|_| None)
        }
        ScanEnd::Committed { .. } => {
            let txn = recovery::contents(&s.layout.journal, &scanned)?;
            let Some(q) = &txn.participation else {
                return Ok(None);
            };
            if q.global_id != p.global_id {
                return Ok(None);
            }
            if q.roots != p.roots || q.coordinator != p.coordinator || q.this as usize != i {
                return Err(corrupt(
                    &s.layout,
                    format!(
                        "its part of transaction {} names the transaction's roots otherwise than another root's part does",
                        hex(&p.global_id)
                    ),
                ));
            }
            Ok(Some(Part {
                txn,
                salt: scanned.header.live_salt,
                version: scanned.header.version,
                records: scanned.records.len() as u32,
            }))
        }
    }
}

/// Recovers the transaction across roots that `p` (read from the journal of the root laid
/// out as `own`, whose lock the caller let go) describes, with every root of it that can be
/// found; returns that root locked, and the report. Takes the locks in identity order
/// (waiting unless `opts.no_wait`).
///
/// Fails with [`Error::InDoubt`] when `own` is a participant and the coordinator is not
/// found by its identity, changing nothing; with the errors of recovery in one root
/// (damaged journal, conflicting targets) in any of them, changing nothing in any; and, if
/// a sync fails, with nothing decided that the next open does not decide again.
pub(in crate::engine) fn recover(
    fs: Arc<dyn FileSystem>,
    own: &Layout,
    opts: &OpenOptions,
    p: &Participation,
) -> Result<(Opened, AcrossRootsReport)> {
    let n = p.roots.len();
    let this = p.this as usize;
    let c = p.coordinator as usize;
    let layouts = layouts_of(own, p);
    match identity::read(fs.as_ref(), own)? {
        Some(id) if id.to_bytes() == p.roots[this].id => {}
        found => {
            return Err(corrupt(
                own,
                format!(
                    "its part of transaction {} names this root by identity {}, but the root's identity is {}",
                    hex(&p.global_id),
                    hex(&p.roots[this].id),
                    found
                        .map(|f| f.to_string())
                        .unwrap_or_else(|| "missing".into())
                ),
            ));
        }
    }
    let mut unreachable: Vec<Option<String>> = (0..n)
        .map(|i| {
            (i != this)
                .then(|| why_unreachable(fs.as_ref(), &layouts[i], &p.roots[i].id))
                .flatten()
        })
        .collect();
    let in_doubt = |reason: &str| Error::InDoubt {
        root: own.root.clone(),
        global_id: hex(&p.global_id),
        coordinator: layouts[c].root.clone(),
        reason: format!("identity {}: {reason}", hex(&p.roots[c].id)),
    };
    if let Some(why) = &unreachable[c] {
        return Err(in_doubt(why));
    }
    // Invariant M-e: every root this recovery writes is locked, in identity order.
    let mut order: Vec<usize> = (0..n).filter(|&i| unreachable[i].is_none()).collect();
    order.sort_by_key(|&i| p.roots[i].id);
    let mut opened: Vec<Option<Opened>> = (0..n).map(|_| None).collect();
    for &i in &order {
        match Opened::lock(fs.clone(), &layouts[i], opts) {
            Ok(o) => opened[i] = Some(o),
            Err(e @ Error::Locked { .. }) => return Err(e),
            Err(e) if i == this => return Err(e),
            Err(e) => unreachable[i] = Some(e.to_string()),
        }
    }
    if let Some(why) = &unreachable[c] {
        return Err(in_doubt(why));
    }
    let mut parts: Vec<Option<Part>> = Vec::with_capacity(n);
    for (i, o) in opened.iter().enumerate() {
        parts.push(match o {
            Some(o) => part_in(&o.session, p, i)?,
            None => None,
        });
    }
    let coordinator = opened[c].as_ref().expect("the coordinator is locked");
    let decision = if parts[c].is_some()
        || decisions::exists(fs.as_ref(), &coordinator.session.layout, &p.global_id)?
    {
        Decision::Commit
    } else {
        // Presumed abort: the coordinator is here and locked, and holds no decision. Had
        // the transaction committed, the decision would be kept until this part retired
        // (invariant M-c).
        Decision::Abort
    };
    let mut outcomes: Vec<RecoveryOutcome> = vec![RecoveryOutcome::Nothing; n];
    let mut decision_kept = false;
    match decision {
        Decision::Commit => {
            decision_kept = roll_all_forward(&fs, p, &mut opened, &parts, &mut outcomes)?;
        }
        Decision::Abort => {
            for i in 0..n {
                let (Some(o), Some(part)) = (opened[i].as_mut(), &parts[i]) else {
                    continue;
                };
                clear_staging(o.session.fs.as_ref(), &o.session.layout.staging)?;
                o.session.retire(part.txn.txn_id)?;
                outcomes[i] = RecoveryOutcome::RolledBack {
                    txn_id: part.txn.txn_id,
                    records: part.records,
                };
            }
        }
        Decision::InDoubt { .. } => unreachable!("an unreachable coordinator returned above"),
    }
    let roots = (0..n)
        .map(|i| RootReport {
            id: hex(&p.roots[i].id),
            root: layouts[i].root.clone(),
            coordinator: i == c,
            state: match (&unreachable[i], &outcomes[i]) {
                (Some(reason), _) => RootState::Unreachable {
                    reason: reason.clone(),
                },
                (None, RecoveryOutcome::RolledForward { .. }) => RootState::RolledForward,
                (None, RecoveryOutcome::RolledBack { .. }) => RootState::RolledBack,
                (None, RecoveryOutcome::Nothing) => RootState::Finished,
            },
        })
        .collect();
    let report = AcrossRootsReport {
        global_id: hex(&p.global_id),
        decision,
        roots,
        decision_kept,
        this_outcome: outcomes[this].clone(),
    };
    let own = opened[this].take().expect("this root is locked");
    Ok((own, report))
}

/// Rolls every reachable part forward and retires it, the coordinator's last (invariant
/// M-c); returns whether the decision had to be kept in `decisions/` for a participant
/// that could not be reached.
fn roll_all_forward(
    fs: &Arc<dyn FileSystem>,
    p: &Participation,
    opened: &mut [Option<Opened>],
    parts: &[Option<Part>],
    outcomes: &mut [RecoveryOutcome],
) -> Result<bool> {
    let c = p.coordinator as usize;
    let n = p.roots.len();
    let mut participants: Vec<usize> = (0..n).filter(|&i| i != c).collect();
    participants.sort_by_key(|&i| p.roots[i].id);
    let order: Vec<usize> = std::iter::once(c)
        .chain(participants.iter().copied())
        .collect();
    // A part is read only from a root that is locked.
    let held = |i: usize| parts[i].is_some();
    // A killed process may have left a part's records only in the page cache: each is made
    // durable before any target changes (the hot-journal rule of §7.1, in every root).
    // Then every part is classified, reading only, so a conflict anywhere changes nothing.
    let mut statuses = vec![Vec::new(); n];
    for &i in order.iter().filter(|&&i| held(i)) {
        let (o, part) = (
            opened[i].as_mut().expect("held"),
            parts[i].as_ref().expect("held"),
        );
        o.session
            .journal()
            .sync()
            .inspect_err(|e| o.session.poison(e))?;
        let ctx = o.session.ctx(part.salt, part.version);
        statuses[i] = recovery::classify_all(&ctx, &part.txn)?;
    }
    for &i in order.iter().filter(|&&i| held(i)) {
        let (o, part) = (
            opened[i].as_mut().expect("held"),
            parts[i].as_ref().expect("held"),
        );
        let (redone, repaired) = {
            let ctx = o.session.ctx(part.salt, part.version);
            recovery::roll_forward(
                &ctx,
                &recovery::Planned::alone(&part.txn, part.salt, &statuses[i]),
            )
        }
        .inspect_err(|e| o.session.poison(e))?;
        o.session.run = Run {
            txns: vec![Applied {
                ops: part.txn.ops.clone(),
                flushed: false,
            }],
            first_txn_id: part.txn.txn_id,
            end: 0,
            version: part.version,
        };
        outcomes[i] = RecoveryOutcome::RolledForward {
            txn_id: part.txn.txn_id,
            label: part.txn.label.clone(),
            transactions: 1,
            operations: part.txn.ops.len() as u32,
            redone,
            repaired,
            dropped: None,
        };
    }
    for &i in participants.iter().filter(|&&i| held(i)) {
        opened[i].as_mut().expect("held").session.checkpoint()?;
    }
    // A participant that is locked holds no part now: it retired it (just now, or before
    // the crash). One that could not be reached may still hold its part.
    let all_retired = participants.iter().all(|&i| opened[i].is_some());
    let co = opened[c].as_mut().expect("the coordinator is locked");
    if parts[c].is_some() {
        if !all_retired {
            decisions::keep(fs.as_ref(), &co.session.layout, p)?;
        }
        co.session.checkpoint()?;
    } else if all_retired {
        decisions::forget(fs.as_ref(), &co.session.layout, &p.global_id)?;
    }
    Ok(!all_retired)
}

/// What recovery of a part of a transaction across roots would do, found without locking
/// or changing anything (`recover --dry-run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcrossRootsDryRun {
    /// The transaction's identity across its roots, hex.
    pub global_id: String,
    /// What the coordinator decided, as far as can be seen now.
    #[serde(flatten)]
    pub decision: Decision,
    /// Every root, and whether it is found by its identity.
    pub roots: Vec<DryRunRoot>,
}

/// One root in an [`AcrossRootsDryRun`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRunRoot {
    /// Its identity, hex.
    pub id: String,
    /// Where it is looked for.
    pub root: PathBuf,
    /// Whether it is the coordinator.
    pub coordinator: bool,
    /// Why it is not found there; `None` when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
}

/// The decision recovery would take for `p`'s transaction, from what the coordinator holds
/// now (read without its lock: a writer holding it may still change it).
pub fn dry_run_across(fs: &dyn FileSystem, own: &Layout, p: &Participation) -> AcrossRootsDryRun {
    let c = p.coordinator as usize;
    let layouts = layouts_of(own, p);
    let roots: Vec<DryRunRoot> = (0..p.roots.len())
        .map(|i| DryRunRoot {
            id: hex(&p.roots[i].id),
            root: layouts[i].root.clone(),
            coordinator: i == c,
            unreachable: (i != p.this as usize)
                .then(|| why_unreachable(fs, &layouts[i], &p.roots[i].id))
                .flatten(),
        })
        .collect();
    let decision = match &roots[c].unreachable {
        Some(reason) => Decision::InDoubt {
            reason: reason.clone(),
        },
        None => match decided(fs, &layouts[c], p) {
            Ok(true) => Decision::Commit,
            Ok(false) => Decision::Abort,
            Err(e) => Decision::InDoubt {
                reason: e.to_string(),
            },
        },
    };
    AcrossRootsDryRun {
        global_id: hex(&p.global_id),
        decision,
        roots,
    }
}

/// Whether the coordinator laid out as `layout` holds the decision for `p`, read only.
fn decided(fs: &dyn FileSystem, layout: &Layout, p: &Participation) -> Result<bool> {
    if decisions::exists(fs, layout, &p.global_id)? {
        return Ok(true);
    }
    let Some((_, scanned)) = recovery::scan_unlocked(fs, layout)? else {
        return Ok(false);
    };
    if !matches!(scanned.end, ScanEnd::Committed { .. }) {
        return Ok(false);
    }
    Ok(ops::from_records(&scanned.records)
        .ok()
        .and_then(|t| t.participation)
        .is_some_and(|q| q.global_id == p.global_id))
}
