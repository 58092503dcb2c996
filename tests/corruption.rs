//! Damaged journals (wal-spec.md promises 5 and 8): never applied in part, never a panic,
//! a clear error that changes nothing; retired journals are never replayed; targets changed
//! by someone else stop recovery without being overwritten.

mod common;

use common::{
    JOURNAL, ROOT, WOp, base, initial, opts, read_journal, snapshot, stage, write_journal,
};
use skillwal::engine::RecoveryOutcome;
use skillwal::engine::inspect::{TxnState, inspect};
use skillwal::fs::sim::SimFs;
use skillwal::fs::{FileSystem, OpenMode};
use skillwal::{Engine, Error};
use std::path::Path;
use std::sync::Arc;

fn update() -> Vec<WOp> {
    vec![
        WOp::Tree("skills/a".into(), common::skill("9")),
        WOp::Put(
            "collection.toml".into(),
            common::Bytes::lit("[collection]\nname = \"c\"\nv = 9\n"),
        ),
        WOp::Diff,
    ]
}

/// A root whose last transaction committed and was applied, but not checkpointed (the
/// engine was dropped), with everything made durable so the journal is what we read.
fn committed_not_checkpointed() -> SimFs {
    let sim = base(&common::Workload {
        name: "corruption".into(),
        setup: initial(),
        txn: vec![],
    });
    let arc: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let mut engine = Engine::open(arc, Path::new(ROOT), &opts()).unwrap();
    let mut t = engine.begin("update a").unwrap();
    stage(&mut t, &update()).unwrap();
    t.commit().unwrap();
    drop(engine);
    sim.sync_everything();
    sim
}

fn open(sim: &SimFs) -> skillwal::Result<Engine> {
    Engine::open(Arc::new(sim.handle()), Path::new(ROOT), &opts())
}

/// Offsets and lengths of the live transaction's records.
fn frames(sim: &SimFs) -> Vec<(u64, u64)> {
    let r = inspect(sim, Path::new(JOURNAL)).unwrap();
    assert_eq!(r.state, TxnState::Committed);
    r.records
        .iter()
        .map(|e| (e.offset, (32 + e.payload_len as u64).next_multiple_of(8)))
        .collect()
}

#[test]
fn a_flipped_byte_inside_a_committed_transaction_changes_nothing() {
    let sim = committed_not_checkpointed();
    let pristine = read_journal(&sim);
    let frames = frames(&sim);
    let (commit_off, _) = *frames.last().unwrap();
    let mut checked = 0;
    for &(off, len) in &frames[..frames.len() - 1] {
        // The first byte of the CRC, a byte of the salt, the kind, the middle, the last (often
        // padding).
        for at in [off, off + 9, off + 20, off + len / 2, off + len - 1] {
            let s = sim.fork();
            let mut bytes = pristine.clone();
            bytes[at as usize] ^= 0x40;
            write_journal(&s, &bytes);
            let tree = snapshot(&s);
            let err = open(&s)
                .err()
                .unwrap_or_else(|| panic!("byte {at} flipped: open succeeded"));
            match &err {
                Error::CorruptJournal { offset, reason, .. } => {
                    // Damage in padding is caught by the commit record's digest.
                    assert!(
                        *offset == off || *offset == commit_off,
                        "byte {at}: {reason}"
                    );
                    // The CLI says "Nothing was changed" and names `journal inspect` for
                    // this error (tests/bad_input.rs); the library says what happened and
                    // types its effect.
                    assert_eq!(err.effect(), skillwal::error::Effect::Unchanged, "{err}");
                }
                other => panic!("byte {at} flipped: {other}"),
            }
            assert_eq!(snapshot(&s), tree, "byte {at}: the tree changed");
            assert_eq!(read_journal(&s), bytes, "byte {at}: the journal changed");
            let r = inspect(&s, Path::new(JOURNAL)).unwrap();
            assert_eq!(r.state, TxnState::Corrupt);
            assert_eq!(r.commit_offset, Some(commit_off));
            checked += 1;
        }
    }
    eprintln!(
        "flipped bytes checked: {checked} in {} records",
        frames.len() - 1
    );
    assert!(checked >= 5 * 4);
}

#[test]
fn a_damaged_commit_record_reads_as_never_committed() {
    let sim = committed_not_checkpointed();
    let mut bytes = read_journal(&sim);
    let (commit_off, _) = *frames(&sim).last().unwrap();
    bytes[commit_off as usize + 40] ^= 1;
    write_journal(&sim, &bytes);
    let e = open(&sim).unwrap();
    assert!(matches!(
        e.recovery_report().outcome,
        RecoveryOutcome::RolledBack { .. }
    ));
}

#[test]
fn truncation_at_every_offset_never_applies_a_part() {
    let sim = committed_not_checkpointed();
    let pristine = read_journal(&sim);
    let end = frames(&sim).last().map(|(o, l)| o + l).unwrap();
    for cut in (0..end).step_by(8) {
        let s = sim.fork();
        write_journal(&s, &pristine[..cut as usize]);
        let tree = snapshot(&s);
        match open(&s) {
            Err(Error::CorruptJournal { .. }) => {
                assert!(
                    cut < 4096,
                    "cut {cut}: a cut inside the records is a torn tail"
                );
                assert_eq!(snapshot(&s), tree);
            }
            Ok(e) => {
                assert!(cut >= 4096, "cut {cut}");
                assert!(
                    matches!(
                        e.recovery_report().outcome,
                        RecoveryOutcome::RolledBack { .. } | RecoveryOutcome::Nothing
                    ),
                    "cut {cut}: {:?}",
                    e.recovery_report()
                );
                assert_eq!(
                    snapshot(&s),
                    tree,
                    "cut {cut}: rolling back must not touch the tree"
                );
            }
            Err(other) => panic!("cut {cut}: {other}"),
        }
    }
}

#[test]
fn a_damaged_current_header_falls_back_and_still_finds_the_transaction() {
    let sim = committed_not_checkpointed();
    let report = inspect(&sim, Path::new(JOURNAL)).unwrap();
    let current = report.slots.iter().find(|s| s.current).unwrap().offset as usize;
    let mut bytes = read_journal(&sim);
    bytes[current + 20] ^= 0xFF;
    write_journal(&sim, &bytes);
    let e = open(&sim).unwrap();
    assert!(matches!(
        e.recovery_report().outcome,
        RecoveryOutcome::RolledForward { .. }
    ));
}

#[test]
fn garbage_never_panics() {
    let mut rng = skillwal::fs::sim::SplitMix64::new(42);
    for round in 0..200 {
        let sim = committed_not_checkpointed();
        let mut bytes = read_journal(&sim);
        let flips = 1 + rng.below(64);
        for _ in 0..flips {
            let at = if rng.next_bool() {
                rng.below(1024)
            } else {
                4096 + rng.below(2048)
            };
            bytes[at as usize] = rng.next_u64() as u8;
        }
        if round % 7 == 0 {
            bytes.truncate(rng.below(bytes.len() as u64) as usize);
        }
        write_journal(&sim, &bytes);
        let _ = inspect(&sim, Path::new(JOURNAL)).unwrap();
        let _ = open(&sim);
    }
}

#[test]
fn a_retired_transaction_is_never_replayed_over_later_changes() {
    let sim = committed_not_checkpointed();
    open(&sim).unwrap().close().unwrap();
    // Someone else (the Python tool) changes the file afterwards, with temp file + rename.
    let tmp = Path::new("/c/collection.toml.tmp");
    let f = sim.open(tmp, OpenMode::CreateNew { mode: 0o644 }).unwrap();
    f.write_all_at(b"changed by someone else\n", 0).unwrap();
    sim.rename(tmp, Path::new("/c/collection.toml")).unwrap();
    sim.sync_everything();
    let before = snapshot(&sim);
    for model in skillwal::fs::sim::CrashModel::ALL {
        let s = sim.crash(model, 3);
        let e = open(&s).unwrap();
        assert_eq!(e.recovery_report().outcome, RecoveryOutcome::Nothing);
        assert_eq!(snapshot(&s), before);
    }
}

#[test]
fn a_target_changed_since_stops_recovery_and_nothing_is_overwritten() {
    let sim = committed_not_checkpointed();
    let tmp = Path::new("/c/collection.toml.tmp");
    let f = sim.open(tmp, OpenMode::CreateNew { mode: 0o644 }).unwrap();
    f.write_all_at(b"changed by someone else\n", 0).unwrap();
    sim.rename(tmp, Path::new("/c/collection.toml")).unwrap();
    sim.sync_everything();
    let tree = snapshot(&sim);
    let journal = read_journal(&sim);
    match open(&sim) {
        Err(e @ Error::RecoveryConflict { .. }) => {
            let msg = e.to_string();
            // The CLI adds `recover --discard` to this message (tests/cli.rs); the library
            // names the path and types its effect.
            assert!(msg.contains("collection.toml"), "{msg}");
            assert_eq!(e.effect(), skillwal::error::Effect::Unchanged, "{msg}");
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("recovery overwrote a changed target"),
    }
    assert_eq!(snapshot(&sim), tree);
    assert_eq!(read_journal(&sim), journal);
    // The way out: discard after looking; the files stay exactly as they are.
    let d = skillwal::discard_journal(
        Arc::new(sim.handle()),
        &skillwal::engine::Layout::new(Path::new(ROOT)),
        &opts(),
    )
    .unwrap();
    assert!(d.committed);
    assert_eq!(snapshot(&sim), tree);
    assert_eq!(
        open(&sim).unwrap().recovery_report().outcome,
        RecoveryOutcome::Nothing
    );
}

mod fuzz {
    use proptest::prelude::*;
    use skillwal::fs::FileSystem;
    use skillwal::fs::OpenMode;
    use skillwal::fs::sim::SimFs;
    use skillwal::journal::format::{self, Header, Kind};
    use std::path::Path;

    const KINDS: [Kind; 13] = [
        Kind::PutLink,
        Kind::SetDirMode,
        Kind::Begin,
        Kind::PutFile,
        Kind::DeleteFile,
        Kind::CreateDir,
        Kind::RemoveDir,
        Kind::PutTree,
        Kind::TreeEntry,
        Kind::DeleteTree,
        Kind::DocumentDiff,
        Kind::LegacyLockDiff,
        Kind::Commit,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any bytes, decoded as any record kind: an error or a record, never a panic.
        #[test]
        fn payload_decoding_never_panics(kind in 0usize..11, bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = format::decode_payload(KINDS[kind], &bytes, format::FORMAT_VERSION);
        }

        /// A valid, active header in front of arbitrary record bytes (some of them carrying
        /// the live salt, so the scanner gets past the salt check): scanning and inspecting
        /// never panic, and whatever recovery decides, it does not panic either.
        #[test]
        fn scanning_arbitrary_journals_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..4096),
            salted in proptest::collection::vec(0usize..512, 0..8),
        ) {
            let salt = 0x1122_3344_5566_7788u64;
            let mut bytes = vec![0u8; 4096];
            let h = Header { version: format::FORMAT_VERSION, sequence: 2, live_salt: salt, next_txn_id: 1, active: true };
            bytes[..512].copy_from_slice(&format::encode_header(&h));
            bytes.extend_from_slice(&body);
            for at in salted {
                let off = 4096 + (at * 8) + 8;
                if off + 8 <= bytes.len() {
                    bytes[off..off + 8].copy_from_slice(&salt.to_le_bytes());
                }
            }
            let sim = SimFs::new();
            sim.create_dir(Path::new("/j"), 0o755).unwrap();
            let f = sim.open(Path::new("/j/journal"), OpenMode::CreateNew { mode: 0o644 }).unwrap();
            f.write_all_at(&bytes, 0).unwrap();
            let _ = skillwal::journal::reader::scan(f.as_ref());
            let _ = skillwal::engine::inspect::inspect(&sim, Path::new("/j/journal")).unwrap();
        }

        /// Frames with valid checksums around random payloads, kinds and numbering: the
        /// scanner reaches the decoder and the chain checks; recovery of such a journal, in
        /// a root, fails or does nothing, never panics and never leaves the root.
        #[test]
        fn valid_frames_with_random_payloads_never_panic(
            frames in proptest::collection::vec(
                (0usize..11, 0u32..6, proptest::collection::vec(any::<u8>(), 0..200)), 1..8),
        ) {
            let salt = 0x0BAD_CAFE_F00D_0001u64;
            let mut bytes = vec![0u8; 4096];
            let h = Header { version: format::FORMAT_VERSION, sequence: 2, live_salt: salt, next_txn_id: 1, active: true };
            bytes[..512].copy_from_slice(&format::encode_header(&h));
            for (kind, index, payload) in &frames {
                bytes.extend_from_slice(&format::encode_frame(salt, 1, *index, KINDS[*kind], payload));
            }
            let sim = SimFs::new();
            sim.create_dir(Path::new("/c"), 0o755).unwrap();
            sim.create_dir(Path::new("/c/.skillwal"), 0o755).unwrap();
            let f = sim.open(Path::new("/c/.skillwal/journal"), OpenMode::CreateNew { mode: 0o644 }).unwrap();
            f.write_all_at(&bytes, 0).unwrap();
            let _ = skillwal::engine::inspect::inspect(&sim, Path::new("/c/.skillwal/journal")).unwrap();
            let _ = skillwal::Engine::open(std::sync::Arc::new(sim.handle()), Path::new("/c"), &super::opts());
            let outside = sim.read_dir(Path::new("/")).unwrap();
            prop_assert_eq!(outside.len(), 1, "recovery wrote outside the root");
        }
    }
}

#[test]
fn a_target_replaced_by_a_link_is_a_conflict_never_followed() {
    let sim = committed_not_checkpointed();
    sim.remove_file(Path::new("/c/collection.toml")).unwrap();
    sim.symlink_durable("/etc/passwd", Path::new("/c/collection.toml"))
        .unwrap();
    sim.sync_everything();
    let tree = snapshot(&sim);
    match open(&sim) {
        Err(Error::RecoveryConflict { conflicts, .. }) => {
            assert!(
                conflicts
                    .iter()
                    .any(|c| c.contains("collection.toml") && c.contains("symbolic link")),
                "{conflicts:?}"
            );
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("recovery went through a link"),
    }
    assert_eq!(snapshot(&sim), tree);
}

#[test]
fn an_explicit_abort_leaves_the_tree_and_staging_as_they_were() {
    let sim = base(&common::Workload {
        name: "abort".into(),
        setup: initial(),
        txn: vec![],
    });
    let tree = snapshot(&sim);
    let mut engine = open(&sim).unwrap();
    let mut t = engine.begin("abandoned").unwrap();
    stage(&mut t, &update()).unwrap();
    t.abort().unwrap();
    assert_eq!(snapshot(&sim), tree);
    assert!(
        sim.read_dir(Path::new("/c/.skillwal/staging"))
            .unwrap()
            .is_empty()
    );
    // The aborted records can never be applied: a crash now recovers to the same tree.
    for model in skillwal::fs::sim::CrashModel::ALL {
        let s = sim.crash(model, 5);
        let e = open(&s).unwrap();
        assert!(!matches!(
            e.recovery_report().outcome,
            RecoveryOutcome::RolledForward { .. }
        ));
        assert_eq!(snapshot(&s), tree);
    }
    engine.begin("next").unwrap().commit().unwrap();
}
