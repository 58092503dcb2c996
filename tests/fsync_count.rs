//! Counts the durability barriers of a commit through the file-system layer
//! (wal-spec.md §6.4 states the same numbers).

mod common;

use common::{Bytes, ROOT, WOp, base, initial, opts, skill, stage};
use skillwal::Engine;
use skillwal::fs::FileSystem;
use skillwal::fs::sim::SimFs;
use std::path::Path;
use std::sync::Arc;

/// The one-artifact transaction: a skill of three files (and a subdirectory) replaced,
/// plus the manifest and the lock rewritten.
fn one_artifact() -> Vec<WOp> {
    vec![
        WOp::Tree("skills/a".into(), skill("2")),
        WOp::Put(
            "collection.toml".into(),
            Bytes::lit("[collection]\nname = \"c\"\nupdated = \"x\"\n"),
        ),
        WOp::Put(
            "collection.lock".into(),
            Bytes::lit("[lock]\nversion = \"1.0.0\"\n# x\n"),
        ),
        WOp::Diff,
    ]
}

fn setup() -> SimFs {
    base(&common::Workload {
        name: "fsync-count".into(),
        setup: initial(),
        txn: vec![],
    })
}

/// (barriers while staging, barriers until commit returned (staging included), barriers of
/// the checkpoint, the checkpoint's log)
fn count(ops: &[WOp]) -> (u64, u64, u64, Vec<(String, String)>) {
    let sim = setup();
    let arc: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let mut engine = Engine::open(arc, Path::new(ROOT), &opts()).unwrap();
    let mut t = engine.begin("count").unwrap();
    stage(&mut t, ops).unwrap();
    let staged = sim.sync_stats().total();
    t.commit().unwrap();
    let at_commit = sim.sync_stats().total();
    engine.checkpoint().unwrap();
    let stats = sim.sync_stats();
    let log = stats.log[at_commit as usize..].to_vec();
    (staged, at_commit, stats.total() - at_commit, log)
}

#[test]
fn one_artifact_commit_takes_one_barrier() {
    let (staged, commit, checkpoint, log) = count(&one_artifact());
    assert_eq!(staged, 0, "no barrier while staging small files");
    eprintln!(
        "one-artifact transaction: {commit} barrier(s) to commit, {checkpoint} at checkpoint"
    );
    for (call, what) in &log {
        eprintln!("  checkpoint: {call} {what}");
    }
    assert_eq!(
        commit, 1,
        "the commit's critical path is one fdatasync of the journal"
    );
    // 5 files written unsynced (3 in the skill, manifest, lock) + 4 directories (skills/a,
    // skills/a/scripts, skills, the root) + the journal header that retires the transaction.
    assert_eq!(checkpoint, 10);
    assert_eq!(
        log.last().unwrap().0,
        "sync_data",
        "the header sync comes last"
    );
}

#[test]
fn a_large_file_adds_its_own_sync_and_its_staging_directories() {
    let mut ops = one_artifact();
    ops.push(WOp::Put(
        "commands/big.md".into(),
        Bytes::Gen {
            len: skillwal::limits::INLINE_CONTENT_MAX as usize + 1,
            seed: 1,
        },
    ));
    let (staged, commit, checkpoint, _) = count(&ops);
    assert_eq!(
        staged, 1,
        "the large file is synced as soon as it is written"
    );
    // + the large staged file's fsync and one sync of the staging directory.
    assert_eq!(commit, 3);
    // + the parent directory of commands/big.md; the file itself is already durable.
    assert_eq!(checkpoint, 11);
}

/// A run (wal-spec.md §6.6): the one-artifact transaction committed 8 times in one open
/// engine costs 8 commit barriers and then one checkpoint of the same 10 barriers — the 5
/// files and 4 directories each synced once, in their last version — not 8 checkpoints.
#[test]
fn a_run_of_updates_shares_one_checkpoint() {
    let sim = setup();
    let arc: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let mut engine = Engine::open(arc, Path::new(ROOT), &opts()).unwrap();
    let mut journal_bytes = Vec::new();
    for i in 0..8 {
        let mut ops = one_artifact();
        ops[0] = WOp::Tree("skills/a".into(), skill(&format!("v{i}")));
        let before = sim.sync_stats().total();
        let mut t = engine.begin("count").unwrap();
        stage(&mut t, &ops).unwrap();
        journal_bytes.push(t.commit().unwrap().journal_bytes);
        assert_eq!(
            sim.sync_stats().total() - before,
            1,
            "transaction {i} of the run: begin, staging and commit take one barrier"
        );
    }
    // Each reports its own records, not the run's so far (the 8 are of one size).
    assert!(
        journal_bytes.iter().all(|b| *b == journal_bytes[0]),
        "{journal_bytes:?}"
    );
    let before = sim.sync_stats().total();
    engine.checkpoint().unwrap();
    assert_eq!(
        sim.sync_stats().total() - before,
        10,
        "one checkpoint for all"
    );
}
