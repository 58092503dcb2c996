//! Runs: several committed transactions of one root in the journal at once, made durable by
//! one checkpoint (wal-spec.md §6.6). This module holds the one rule both sides of a run
//! stand on — how an operation meets the operations of other transactions — so that what
//! the writer lets into a run and what recovery accepts from one are decided by the same
//! code:
//!
//! - An operation *chains* onto an earlier one when both are puts (put-file, put-tree,
//!   put-link) of the same path: the later one replaces whatever the earlier one left, so
//!   the earlier one needs no sync, and recovery redoes only the later one, accepting any
//!   state of the chain as its "not applied".
//! - It *overlaps* when the paths are the same but one is not a put, or one path lies below
//!   the other. The writer then makes the run durable before the later transaction's commit
//!   record (a flush), so recovery finds the earlier one done and skips it.

use super::ops::Op;
use std::collections::BTreeMap;

/// How an operation meets the operations of other transactions of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meet {
    /// No path in common, none below the other.
    Apart,
    /// The same path, and every operation on it (this one too) a put.
    Chain,
    /// Anything else: the same path with an operation that is not a put, or one path below
    /// the other.
    Overlap,
}

/// Whether `op` replaces whatever is at its path in one step (wal-spec.md §6.3).
pub(crate) fn is_put(op: &Op) -> bool {
    matches!(op, Op::PutFile(_) | Op::PutTree(_) | Op::PutLink { .. })
}

/// The paths of some operations, for [`PathIndex::meet`].
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    /// Each path, and whether every operation on it is a put.
    paths: BTreeMap<String, bool>,
}

impl PathIndex {
    pub(crate) fn add(&mut self, op: &Op) {
        let put = is_put(op);
        self.paths
            .entry(op.path().as_str().to_string())
            .and_modify(|all_puts| *all_puts &= put)
            .or_insert(put);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// How `op` meets the indexed operations: at most one lookup per component of its path
    /// (for a path above it) and one range query (for a path below it).
    pub(crate) fn meet(&self, op: &Op) -> Meet {
        let path = op.path().as_str();
        let mut meet = match self.paths.get(path) {
            Some(&all_puts) if all_puts && is_put(op) => Meet::Chain,
            Some(_) => return Meet::Overlap,
            None => Meet::Apart,
        };
        // A path above it: every proper prefix ending at a component boundary.
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' && self.paths.contains_key(&path[..i]) {
                return Meet::Overlap;
            }
        }
        // A path below it: the keys from "path/" up to "path0" ('0' follows '/').
        let below = format!("{path}/");
        let end = format!("{path}0");
        if self.paths.range(below..end).next().is_some() {
            meet = Meet::Overlap;
        }
        meet
    }
}

/// For each transaction of a run (in order, each a list of operations), which operations a
/// later transaction of the run supersedes: any it chains onto or overlaps (wal-spec.md
/// §6.6). A superseded operation is neither synced by the checkpoint nor classified or
/// redone by recovery: a chained one is replaced by the later put, an overlapped one was
/// made durable before the later transaction committed.
pub(crate) fn superseded<'a>(run: impl DoubleEndedIterator<Item = &'a [Op]>) -> Vec<Vec<bool>> {
    let mut later = PathIndex::default();
    let mut out: Vec<Vec<bool>> = Vec::new();
    for ops in run.rev() {
        out.push(
            ops.iter()
                .map(|op| !later.is_empty() && later.meet(op) != Meet::Apart)
                .collect(),
        );
        for op in ops {
            later.add(op);
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::path::RelPath;
    use crate::journal::format::Before;

    fn del(p: &str) -> Op {
        Op::DeleteFile {
            path: RelPath::new(p).unwrap(),
            before: Before::Absent,
        }
    }
    fn link(p: &str) -> Op {
        Op::PutLink {
            path: RelPath::new(p).unwrap(),
            before: Before::Absent,
            target: b"t".to_vec(),
        }
    }

    #[test]
    fn meets_by_path_and_kind() {
        let mut ix = PathIndex::default();
        ix.add(&link("skills/a"));
        ix.add(&del("commands/c.md"));
        assert_eq!(ix.meet(&link("skills/a")), Meet::Chain);
        assert_eq!(ix.meet(&del("skills/a")), Meet::Overlap, "not a put");
        assert_eq!(
            ix.meet(&link("commands/c.md")),
            Meet::Overlap,
            "onto a delete"
        );
        assert_eq!(ix.meet(&link("skills/a/x")), Meet::Overlap, "below");
        assert_eq!(ix.meet(&link("skills")), Meet::Overlap, "above");
        assert_eq!(ix.meet(&link("skills/ab")), Meet::Apart, "a longer name");
        assert_eq!(
            ix.meet(&link("skills/a.md")),
            Meet::Apart,
            "'.' sorts before '/'"
        );
        assert_eq!(ix.meet(&link("skills/b")), Meet::Apart);
    }

    #[test]
    fn later_transactions_supersede() {
        let run = [
            vec![link("a"), link("b"), link("c/d")],
            vec![link("a"), del("c")],
            vec![link("e")],
        ];
        let s = superseded(run.iter().map(|v| v.as_slice()));
        assert_eq!(
            s,
            vec![vec![true, false, true], vec![false, false], vec![false]]
        );
    }
}
