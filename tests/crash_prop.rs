//! Random transactions, random crash points and seeds, with shrinking (proptest). Each case
//! stages a random mix of operations over a small collection, crashes once during the run
//! and once during recovery, and checks the before/after oracle. A second property does the
//! same to a run: two to four random transactions committed one after another in one engine
//! (wal-spec.md §6.6), each after the last commit acknowledged or the next.

mod common;

use common::{Bytes, Node, RunWorkload, WOp, Workload, check_point, check_run_point, initial};
use proptest::prelude::*;
use skillwal::fs::sim::CrashModel;

fn content() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        "[a-z \n]{0,40}".prop_map(|s| Bytes::Lit(s.into_bytes())),
        (0usize..100_000, any::<u64>()).prop_map(|(len, seed)| Bytes::Gen { len, seed }),
        // Either side of the inline limit: journal inline, or staged and synced on its own.
        (common::LARGE - 2..common::LARGE + 70_000, any::<u64>())
            .prop_map(|(len, seed)| Bytes::Gen { len, seed }),
    ]
}

fn tree() -> impl Strategy<Value = Vec<(String, Option<Bytes>)>> {
    (
        content(),
        proptest::option::of(content()),
        proptest::option::of(content()),
    )
        .prop_map(|(a, b, c)| {
            let mut v = vec![("SKILL.md".to_string(), Some(a))];
            if let Some(b) = b {
                v.push(("d".into(), None));
                v.push(("d/x".into(), Some(b)));
            }
            if let Some(c) = c {
                v.push(("y".into(), Some(c)));
            }
            v
        })
}

fn mode() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0o644), Just(0o755), Just(0o600), Just(0o444)]
}

fn dir_mode() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0o755), Just(0o700), Just(0o555), Just(0o2750)]
}

/// A tree with modes of its own and links: a file, a subdirectory holding a file, and links
/// to both (relative, inside the tree), each maybe absent.
fn tree_with_modes() -> impl Strategy<Value = (u32, Vec<(String, Node)>)> {
    (
        dir_mode(),
        content(),
        mode(),
        proptest::option::of((dir_mode(), content(), mode())),
        any::<bool>(),
    )
        .prop_map(|(root, a, am, sub, links)| {
            let mut v = vec![("SKILL.md".to_string(), Node::File(a, am))];
            if let Some((dm, b, bm)) = sub {
                v.push(("d".into(), Node::Dir(dm)));
                v.push(("d/x".into(), Node::File(b, bm)));
                if links {
                    v.push(("to-d".into(), Node::Link("d".into())));
                }
            }
            if links {
                v.push(("to-skill".into(), Node::Link("SKILL.md".into())));
            }
            (root, v)
        })
}

/// One operation from a menu that fits the collection made by `initial()`.
fn op() -> impl Strategy<Value = WOp> {
    prop_oneof![
        // The same bytes as `initial()` wrote, maybe another mode: a mode-only change.
        mode().prop_map(|m| WOp::PutMode("commands/c.md".into(), Bytes::lit("# command c\n"), m)),
        tree_with_modes().prop_map(|(m, t)| WOp::TreeM("skills/a".into(), m, t)),
        tree_with_modes().prop_map(|(m, t)| WOp::TreeM("commands/c.md".into(), m, t)),
        "[a-z./]{1,12}".prop_map(|t| WOp::Link("commands/l.md".into(), t)),
        "[a-z./]{1,12}".prop_map(|t| WOp::Link("skills/a".into(), t)),
        content().prop_map(|b| WOp::Put("skills/a".into(), b)),
        dir_mode().prop_map(|m| WOp::Chmod("skills".into(), m)),
        content().prop_map(|b| WOp::Put("commands/c.md".into(), b)),
        content().prop_map(|b| WOp::Put("commands/new.md".into(), b)),
        content().prop_map(|b| WOp::Put("collection.toml".into(), b)),
        tree().prop_map(|t| WOp::Tree("skills/a".into(), t)),
        tree().prop_map(|t| WOp::Tree("skills/b".into(), t)),
        Just(WOp::Delete("collection.lock".into())),
        Just(WOp::DeleteTree("skills/a".into())),
        Just(WOp::Mkdir("agents".into())),
        Just(WOp::Diff),
    ]
}

fn path_of(op: &WOp) -> Option<&str> {
    match op {
        WOp::Put(p, _)
        | WOp::Tree(p, _)
        | WOp::Delete(p)
        | WOp::DeleteTree(p)
        | WOp::Mkdir(p)
        | WOp::Rmdir(p)
        | WOp::PutMode(p, ..)
        | WOp::TreeM(p, ..)
        | WOp::Link(p, _)
        | WOp::Chmod(p, _) => Some(p),
        WOp::Diff => None,
    }
}

/// Drops operations on a path already used (the engine rejects those) and makes sure the
/// transaction changes something.
fn txn() -> impl Strategy<Value = Vec<WOp>> {
    proptest::collection::vec(op(), 1..6).prop_map(|ops| {
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<WOp> = ops
            .into_iter()
            .filter(|o| path_of(o).is_none_or(|p| seen.insert(p.to_string())))
            .collect();
        if out.iter().all(|o| matches!(o, WOp::Diff)) {
            out.push(WOp::Put("commands/new.md".into(), Bytes::lit("x")));
        }
        // A directory's mode is set after the changes inside it (the engine refuses the other
        // order); `skills/a` replaced and `skills/b` added are inside `skills`.
        out.sort_by_key(|o| matches!(o, WOp::Chmod(..)));
        out
    })
}

fn model() -> impl Strategy<Value = CrashModel> {
    prop_oneof![
        Just(CrashModel::Kill),
        Just(CrashModel::DropAll),
        Just(CrashModel::Subset),
        Just(CrashModel::Torn)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("SKILLWAL_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_transactions_survive_random_crashes(
        ops in txn(),
        n in 1u64..200,
        first in (model(), any::<u64>()),
        second in proptest::option::of((1u64..200, model(), any::<u64>())),
    ) {
        let w = Workload { name: "proptest".into(), setup: initial(), txn: ops };
        check_point(&w, n, first, second);
    }

    #[test]
    fn random_runs_survive_random_crashes(
        txns in proptest::collection::vec(txn(), 2..5),
        n in 1u64..400,
        first in (model(), any::<u64>()),
        second in proptest::option::of((1u64..200, model(), any::<u64>())),
    ) {
        let w = RunWorkload { name: "proptest-run".into(), setup: initial(), txns };
        prop_assume!(check_run_point(&w, n, first, second));
    }
}
