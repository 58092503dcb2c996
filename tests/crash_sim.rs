//! Exhaustive crash enumeration on the simulated file system (wal-spec.md §11): for each
//! workload, a crash after every mutating call under every crash model, recovery, and the
//! before/after oracle; then a second crash at every call of each of those recoveries.
//! `SKILLWAL_CRASH_SEEDS=N` (default 3) sets the seeds per seeded model for a longer run.

mod common;

use common::{Budget, Bytes, WOp, Workload, check_workload};

fn skill(version: &str) -> Vec<(String, Option<Bytes>)> {
    vec![
        ("SKILL.md".into(), Some(Bytes::lit(&format!("---\nname: a\nversion: {version}\n---\n# A\n")))),
        ("scripts".into(), None),
        ("scripts/run.sh".into(), Some(Bytes::lit(&format!("#!/bin/sh\necho {version}\n")))),
        ("notes.md".into(), Some(Bytes::Gen { len: 3000, seed: version.len() as u64 })),
    ]
}

fn initial() -> Vec<Vec<WOp>> {
    vec![vec![
        WOp::Put("collection.toml".into(), Bytes::lit("[collection]\nname = \"c\"\n")),
        WOp::Put("collection.lock".into(), Bytes::lit("[lock]\nversion = \"1.0.0\"\n")),
        WOp::Mkdir("skills".into()),
        WOp::Mkdir("commands".into()),
        WOp::Tree("skills/a".into(), skill("1")),
        WOp::Put("commands/c.md".into(), Bytes::lit("# command c\n")),
    ]]
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "create".into(),
            setup: initial(),
            txn: vec![
                WOp::Tree("skills/b".into(), skill("b1")),
                WOp::Put("commands/new.md".into(), Bytes::lit("# new\n")),
            ],
        },
        Workload {
            name: "overwrite".into(),
            setup: initial(),
            txn: vec![WOp::Put("commands/c.md".into(), Bytes::lit("# command c, version 2\n"))],
        },
        Workload {
            name: "delete".into(),
            setup: initial(),
            txn: vec![WOp::DeleteTree("skills/a".into()), WOp::Delete("commands/c.md".into())],
        },
        Workload {
            name: "directory-replace".into(),
            setup: initial(),
            txn: vec![WOp::Tree("skills/a".into(), skill("2.0"))],
        },
        Workload {
            name: "large-streamed-file".into(),
            setup: initial(),
            txn: vec![
                WOp::Put("commands/big.md".into(), Bytes::Gen { len: 300_000, seed: 7 }),
                WOp::Tree(
                    "skills/a".into(),
                    vec![
                        ("SKILL.md".into(), Some(Bytes::lit("# A with data\n"))),
                        ("data".into(), None),
                        ("data/blob.bin".into(), Some(Bytes::Gen { len: 200_000, seed: 8 })),
                    ],
                ),
            ],
        },
        Workload {
            name: "manifest-and-lock".into(),
            setup: initial(),
            txn: vec![
                WOp::Tree("skills/a".into(), skill("3")),
                WOp::Put("collection.toml".into(), Bytes::lit("[collection]\nname = \"c\"\nupdated = \"2\"\n")),
                WOp::Put("collection.lock".into(), Bytes::lit("[lock]\nversion = \"1.0.0\"\n[lock.entries.\"a::skill\"]\n")),
                WOp::Diff,
            ],
        },
        Workload {
            name: "mkdir-and-rmdir".into(),
            setup: initial(),
            txn: vec![
                WOp::Mkdir("agents".into()),
                WOp::Put("agents/x.md".into(), Bytes::lit("# agent\n")),
                WOp::Delete("commands/c.md".into()),
                WOp::Rmdir("commands".into()),
            ],
        },
    ]
}

#[test]
fn every_crash_point_recovers_to_before_or_after() {
    let budget = Budget::from_env();
    let mut total = common::Counts::default();
    for w in workloads() {
        let c = check_workload(&w, budget);
        eprintln!(
            "{:>20}: {:>3} crash points, {:>5} crash states, {:>7} states with a crash during recovery",
            w.name, c.crash_points, c.states, c.recovery_states
        );
        total.crash_points += c.crash_points;
        total.states += c.states;
        total.recovery_states += c.recovery_states;
    }
    eprintln!(
        "crash states checked: {} after {} crash points, plus {} with a second crash during recovery ({} seeds per seeded model)",
        total.states, total.crash_points, total.recovery_states, budget.seeds
    );
    assert!(total.states > 0 && total.recovery_states > 0);
}
