//! Random transactions, random crash points and seeds, with shrinking (proptest). Each case
//! stages a random mix of operations over a small collection, crashes once during the run
//! and once during recovery, and checks the before/after oracle.

mod common;

use common::{Bytes, WOp, Workload, check_point, initial};
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

/// One operation from a menu that fits the collection made by `initial()`.
fn op() -> impl Strategy<Value = WOp> {
    prop_oneof![
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
        | WOp::Rmdir(p) => Some(p),
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
}
