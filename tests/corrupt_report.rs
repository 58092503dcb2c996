//! Where a journal recovery refuses is reported: `Error::CorruptJournal` carries the offset
//! of the record at fault and its index in the transaction, as the journal reader found
//! them — for damage the scan finds (a checksum), for committed records that are not a
//! transaction the engine writes (crafted, with valid checksums), and for content staged
//! outside the journal that is gone. Each case checks that nothing was changed. Also: a
//! record whose frame sets a flag (none is defined, wal-spec.md §4.1) is not valid.

mod common;

use common::{
    Bytes, JOURNAL, LARGE, ROOT, WOp, base, initial, opts, read_journal, snapshot, stage,
    write_journal,
};
use skillwal::engine::inspect::{RecordView, inspect};
use skillwal::fs::FileSystem;
use skillwal::fs::sim::SimFs;
use skillwal::journal::format::{Before, Record};
use skillwal::{Engine, Error, RecoveryOutcome};
use std::path::Path;
use std::sync::Arc;

#[path = "common/crafted.rs"]
mod crafted;

use crafted::{crafted, crafted_with_flags, put_file};

fn root() -> SimFs {
    base(&common::Workload {
        name: "corrupt-report".into(),
        setup: initial(),
        txn: vec![],
    })
}

fn open(sim: &SimFs) -> skillwal::Result<Engine> {
    Engine::open(Arc::new(sim.handle()), Path::new(ROOT), &opts())
}

/// Opens `sim` with `journal` in place and checks that recovery refuses it naming `offset`
/// and `record`, with a reason containing `why`, and that nothing changed.
fn assert_refused_at(sim: &SimFs, journal: &[u8], offset: u64, record: u32, why: &str) {
    write_journal(sim, journal);
    let tree = snapshot(sim);
    let err = open(sim).err().expect("recovery must refuse this journal");
    match &err {
        Error::CorruptJournal {
            offset: o,
            record: r,
            reason,
            ..
        } => {
            assert_eq!(
                (*o, *r),
                (offset, Some(record)),
                "reported at the wrong place: {err}"
            );
            assert!(reason.contains(why), "{err}");
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("damaged at byte {offset} (record {record})")),
                "{msg}"
            );
        }
        other => panic!("expected CorruptJournal, got {other}"),
    }
    assert_eq!(snapshot(sim), tree, "the tree changed");
    assert_eq!(read_journal(sim), journal, "the journal changed");
}

#[test]
fn a_badly_numbered_operation_is_reported_at_its_record() {
    let sim = root();
    let (mut wrong, inline) = put_file(1, "b.txt", b"b\n");
    if let Record::PutFile { op, .. } = &mut wrong {
        *op = 5;
    }
    let (journal, offsets) = crafted(&[put_file(0, "a.txt", b"a\n"), (wrong, inline)], 2);
    assert_refused_at(
        &sim,
        &journal,
        offsets[2],
        2,
        "operation number 5, expected 1",
    );
}

#[test]
fn a_path_leaving_the_root_is_reported_at_its_record() {
    let sim = root();
    let (journal, offsets) = crafted(
        &[
            put_file(0, "a.txt", b"a\n"),
            put_file(1, "b.txt", b"b\n"),
            put_file(2, "../evil.txt", b"pwned\n"),
        ],
        3,
    );
    assert_refused_at(&sim, &journal, offsets[3], 3, "..");
}

#[test]
fn an_operation_below_another_is_reported_at_the_later_record() {
    // Op 0 makes `skills/evil` a link; op 1 writes below it. Each record is fine alone; the
    // pair is what the engine never writes, and the later one is to blame.
    let sim = root();
    let link = Record::PutLink {
        op: 0,
        path: "skills/evil".into(),
        before: Before::Absent,
        target: b"/elsewhere".to_vec(),
    };
    let (journal, offsets) = crafted(
        &[(link, None), put_file(1, "skills/evil/x.txt", b"pwned\n")],
        2,
    );
    assert_refused_at(&sim, &journal, offsets[2], 2, "lies below skills/evil");
}

#[test]
fn a_commit_counting_other_operations_is_reported_at_the_commit_record() {
    let sim = root();
    let (journal, offsets) = crafted(&[put_file(0, "a.txt", b"a\n")], 3);
    assert_refused_at(
        &sim,
        &journal,
        offsets[2],
        2,
        "commit counts 3 operations, 1 precede it",
    );
}

#[test]
fn a_damaged_record_of_a_committed_transaction_is_reported_at_its_record() {
    let sim = root();
    let (mut journal, offsets) = crafted(
        &[
            put_file(0, "a.txt", b"a\n"),
            put_file(1, "b.txt", b"b\n"),
            put_file(2, "c.txt", b"c\n"),
        ],
        3,
    );
    // A byte of record 2's payload: its checksum fails, the commit record beyond is valid.
    journal[offsets[2] as usize + 40] ^= 0x10;
    assert_refused_at(&sim, &journal, offsets[2], 2, "checksum");
}

#[test]
fn staged_content_gone_is_reported_at_the_record_that_names_it() {
    // A committed transaction whose large file (staged outside the journal) was applied, but
    // not checkpointed; then the file is removed by someone else, and so is the staged copy
    // (it became the file). Recovery finds the target in its before-state (absent), must
    // redo the put, and cannot: its content is neither in the journal nor in staging.
    let sim = root();
    let arc: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let mut engine = Engine::open(arc, Path::new(ROOT), &opts()).unwrap();
    let mut t = engine.begin("large").unwrap();
    let ops = [
        WOp::Put("collection.toml".into(), Bytes::lit("[collection]\n")),
        WOp::Put(
            "commands/big.md".into(),
            Bytes::Gen {
                len: LARGE,
                seed: 3,
            },
        ),
    ];
    stage(&mut t, &ops).unwrap();
    t.commit().unwrap();
    drop(engine);
    sim.remove_file(Path::new("/c/commands/big.md")).unwrap();
    sim.sync_everything();
    let report = inspect(&sim, Path::new(JOURNAL)).unwrap();
    let big = report
        .records
        .iter()
        .find(
            |r| matches!(&r.record, RecordView::PutFile { path, .. } if path == "commands/big.md"),
        )
        .expect("the put-file record of commands/big.md");
    let (offset, index) = (big.offset, big.index);
    assert!(index > 0);
    let journal = read_journal(&sim);
    let tree = snapshot(&sim);
    let err = open(&sim).err().expect("recovery must refuse");
    match &err {
        Error::CorruptJournal {
            offset: o,
            record: r,
            reason,
            ..
        } => {
            assert_eq!((*o, *r), (offset, Some(index)), "{err}");
            assert!(reason.contains("was staged outside the journal"), "{err}");
        }
        other => panic!("expected CorruptJournal, got {other}"),
    }
    assert_eq!(snapshot(&sim), tree, "the tree changed");
    assert_eq!(read_journal(&sim), journal, "the journal changed");
}

#[test]
fn a_commit_record_with_a_flag_set_does_not_commit() {
    // Everything checks out but the commit record's flags: it is not a valid commit record,
    // so the transaction never committed and is rolled back; a.txt never appears.
    let sim = root();
    let (journal, _) = crafted_with_flags(&[put_file(0, "a.txt", b"a\n")], 1, Some(2));
    write_journal(&sim, &journal);
    let tree = snapshot(&sim);
    let engine = open(&sim).expect("an uncommitted transaction is rolled back");
    assert!(
        matches!(
            engine.recovery_report().outcome,
            RecoveryOutcome::RolledBack { records: 2, .. }
        ),
        "{:?}",
        engine.recovery_report()
    );
    drop(engine);
    assert!(!sim.exists(Path::new("/c/a.txt")).unwrap(), "applied");
    assert_eq!(snapshot(&sim), tree, "the tree changed");
}

#[test]
fn a_record_with_a_flag_set_inside_a_committed_transaction_is_damage() {
    // Record 1's flags are set (its checksum and the commit digest match the bytes): it is
    // not valid, and a valid commit record lies beyond it — a damaged committed transaction,
    // refused at record 1.
    let sim = root();
    let (journal, offsets) = crafted_with_flags(
        &[put_file(0, "a.txt", b"a\n"), put_file(1, "b.txt", b"b\n")],
        2,
        Some(1),
    );
    assert_refused_at(&sim, &journal, offsets[1], 1, "unknown record flags 0x0001");
    assert!(!sim.exists(Path::new("/c/a.txt")).unwrap(), "applied");
}
