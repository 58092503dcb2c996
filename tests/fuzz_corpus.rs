//! Replays the journal fuzz target's committed corpus (`fuzz/corpus/journal/`: real journals
//! left by crashes — committed, uncommitted, torn — and framed inputs built from them)
//! through the same check the fuzz target runs: no panic, nothing outside the collection
//! changed. The fuzzer itself runs with `cargo fuzz` (fuzz/README.md).

#[path = "../fuzz/src/check.rs"]
mod check;

#[test]
fn every_corpus_input_passes_the_fuzz_check() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/journal");
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let data = std::fs::read(&p).expect("read corpus file");
        check::check(&data);
        n += 1;
    }
    assert!(n >= 10, "only {n} corpus inputs in {}", dir.display());
}

mod common;

/// Writes the corpus: for a few workloads, the journal a crash left at several points
/// (before the commit point: uncommitted; after it: committed), plus torn copies (the commit
/// record cut, a range zeroed), each in raw form and in the framed form of
/// `fuzz/src/check.rs`. Run by hand when the journal format changes:
/// `cargo test --release --test fuzz_corpus -- --ignored --exact write_the_corpus`.
#[test]
#[ignore = "writes fuzz/corpus/journal; run by hand"]
fn write_the_corpus() {
    use skillwal::engine::inspect::{TxnState, inspect};
    use skillwal::fs::sim::CrashModel;
    use skillwal::fs::{FileSystem, OpenMode};
    use std::path::Path;
    use std::sync::Arc;

    const KINDS: [u16; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 255, 9];
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/journal");
    std::fs::create_dir_all(&out).expect("mkdir");
    let journal = Path::new("/c/.skillwal/journal");
    let mut written = 0;
    for w in common::workloads() {
        let b = common::base(&w);
        let r = Arc::new(b.fork());
        common::run_txn(r.clone(), &w.txn);
        let total = r.mutating_calls();
        for n in [total / 3, total / 2, 2 * total / 3, total - 2] {
            let f = Arc::new(b.fork());
            f.set_crash_after(Some(n.max(1)));
            common::run_txn(f.clone(), &w.txn);
            let img = f.crash(CrashModel::Kill, 0);
            if !img.exists(journal).unwrap() {
                continue;
            }
            let rep = inspect(&img, journal).unwrap();
            if rep.records.is_empty() {
                continue;
            }
            let file = img.open(journal, OpenMode::Read).unwrap();
            let mut bytes = vec![0u8; file.metadata().unwrap().len as usize];
            file.read_exact_at(&mut bytes, 0).unwrap();
            let last = rep.records.last().unwrap();
            let end = (last.offset + 32 + last.payload_len as u64).next_multiple_of(8) as usize;
            bytes.truncate(end);
            let state = match rep.state {
                TxnState::Committed => "committed",
                _ => "uncommitted",
            };
            let name = format!("{}-{n}-{state}", w.name);
            let mut raw = vec![0u8];
            raw.extend_from_slice(&bytes);
            std::fs::write(out.join(format!("{name}-raw")), &raw).unwrap();
            // Torn: the last record cut in half, and a range zeroed in the middle.
            let mut torn = raw.clone();
            torn.truncate(1 + (last.offset as usize + end) / 2);
            std::fs::write(out.join(format!("{name}-torn-tail")), &torn).unwrap();
            let mut zeroed = raw.clone();
            let mid = 1 + 4096 + (end - 4096) / 2;
            zeroed[mid..(mid + 40).min(raw.len())].fill(0);
            std::fs::write(out.join(format!("{name}-zeroed")), &zeroed).unwrap();
            // Framed.
            let committed = rep.state == TxnState::Committed;
            let mut framed = vec![1u8, u8::from(committed)];
            let kind_of = |r: &skillwal::engine::inspect::RecordEntry| {
                serde_json::to_value(&r.record).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            let ops = rep
                .records
                .iter()
                .filter(|r| {
                    matches!(
                        kind_of(r).as_str(),
                        "put-file"
                            | "delete-file"
                            | "create-dir"
                            | "remove-dir"
                            | "put-tree"
                            | "delete-tree"
                    )
                })
                .count() as u32;
            framed.extend_from_slice(&ops.to_le_bytes());
            for r in &rep.records {
                let p = r.offset as usize + 32;
                let payload = &bytes[p..p + r.payload_len as usize];
                let kind = match kind_of(r).as_str() {
                    "begin" => 1,
                    "put-file" => 2,
                    "delete-file" => 3,
                    "create-dir" => 4,
                    "remove-dir" => 5,
                    "put-tree" => 6,
                    "tree-entry" => 7,
                    "delete-tree" => 8,
                    "document-diff" | "manifest-diff" => 16,
                    "lock-diff" => 17,
                    "commit" => continue,
                    other => panic!("kind {other}"),
                };
                let k = KINDS.iter().position(|x| *x == kind).unwrap() as u8;
                framed.push(k);
                framed.extend_from_slice(&(payload.len() as u16).to_le_bytes());
                framed.extend_from_slice(payload);
            }
            std::fs::write(out.join(format!("{name}-framed")), &framed).unwrap();
            written += 4;
        }
    }
    eprintln!("wrote {written} corpus files to {}", out.display());
}
