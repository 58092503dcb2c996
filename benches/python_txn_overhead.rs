//! What the Python package costs over the engine itself: the same transaction run from
//! Rust (`skillwal::Engine`, in this process) and from Python (`skillwal.open(...)` in a
//! Python process, timed inside it, interpreter start-up excluded), interleaved (the order
//! alternating each round), several rounds; medians per transaction and the ratio, measured
//! in the same run.
//!
//! The transaction is a one-artifact update: a skill's tree of 3 files of 4 KiB (one in a
//! subdirectory) replaced, and a 24 KiB `collection.toml` and `collection.lock` rewritten,
//! every byte different at every transaction, from memory. Two ways of running a loop of
//! 64 of them back to back on one open root, every cost counted (the loop is timed from
//! `open` to `close`, the last checkpoint included):
//!
//! - `durable`: each commit durable in place before it returns (`commit_durable`, the
//!   package's default `durable=True`);
//! - `run`: each commit durable in the journal (`commit`, `durable=False`), the checkpoint
//!   shared by the transactions of a run (wal-spec.md §6.6).
//!
//! Needs the package installed in a Python (`SKILLWAL_PYTHON`, else `target/python-venv`,
//! which `python/check.sh` makes). Runs under `target/skillwal-bench-pyoverhead` (not
//! `/tmp`, which may be a tmpfs). `SKILLWAL_BENCH_ROUNDS` sets the rounds (default 7).
//!
//! ```sh
//! bash python/check.sh && cargo bench -p skillwal-benches --bench python_txn_overhead
//! ```

#[path = "common/mod.rs"]
mod common;

use skillwal::{Engine, OpenOptions, RealFs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Transactions per timed loop.
const LOOP: usize = 64;
const FILE_BYTES: usize = 4096;
const DOC_BYTES: usize = 24 * 1024;

fn python() -> PathBuf {
    std::env::var_os("SKILLWAL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::target_dir().join("python-venv/bin/python"))
}

/// The bytes of one file of transaction `txn`: a line naming them, padded to `len`. The
/// Python side (`PY_LOOP`) makes the very same bytes.
fn content(txn: usize, what: &str, len: usize) -> Vec<u8> {
    let mut b = format!("{txn}:{what}\n").into_bytes();
    b.resize(len, b'a');
    b
}

/// `LOOP` transactions from Rust on a fresh root; the whole loop's time.
fn rust_loop(root: &Path, durable: bool) -> Duration {
    let start = Instant::now();
    let mut engine =
        Engine::open(Arc::new(RealFs), root, &OpenOptions::default()).expect("open the root");
    for i in 0..LOOP {
        let mut t = engine.begin("update skill").expect("begin");
        let mut tree = t.put_tree("skills/s", 0o755).expect("put_tree");
        tree.bytes("SKILL.md", &content(i, "SKILL.md", FILE_BYTES), 0o644)
            .expect("file");
        tree.bytes("a.md", &content(i, "a.md", FILE_BYTES), 0o644)
            .expect("file");
        tree.dir("scripts", 0o755).expect("dir");
        tree.bytes("scripts/run.sh", &content(i, "run.sh", FILE_BYTES), 0o755)
            .expect("file");
        tree.finish().expect("finish");
        t.put_bytes("collection.toml", &content(i, "toml", DOC_BYTES), 0o644)
            .expect("manifest");
        t.put_bytes("collection.lock", &content(i, "lock", DOC_BYTES), 0o644)
            .expect("lock");
        if durable {
            t.commit_durable().expect("commit");
        } else {
            t.commit().expect("commit");
        }
    }
    engine.close().expect("close");
    start.elapsed()
}

/// The same loop in Python: prints the loop's seconds (`time.perf_counter`).
const PY_LOOP: &str = r#"
import sys, time, skillwal
root, durable, n, fb, db = sys.argv[1], sys.argv[2] == "durable", int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def content(txn, what, size):
    b = f"{txn}:{what}\n".encode()
    return b + b"a" * (size - len(b))
start = time.perf_counter()
with skillwal.open(root) as r:
    for i in range(n):
        with r.transaction("update skill", durable=durable) as t:
            t.write_tree("skills/s", {
                "SKILL.md": content(i, "SKILL.md", fb),
                "a.md": content(i, "a.md", fb),
                "scripts/": 0o755,
                "scripts/run.sh": (content(i, "run.sh", fb), 0o755),
            })
            t.write("collection.toml", content(i, "toml", db))
            t.write("collection.lock", content(i, "lock", db))
print(time.perf_counter() - start)
"#;

fn python_loop(root: &Path, durable: bool) -> Duration {
    let out = Command::new(python())
        .arg("-c")
        .arg(PY_LOOP)
        .arg(root)
        .arg(if durable { "durable" } else { "run" })
        .arg(LOOP.to_string())
        .arg(FILE_BYTES.to_string())
        .arg(DOC_BYTES.to_string())
        .env_remove("SKILLWAL_CRASH_AFTER")
        .output()
        .expect("run python (SKILLWAL_PYTHON, or python/check.sh's target/python-venv)");
    assert!(
        out.status.success(),
        "the Python loop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the Python loop prints its seconds");
    Duration::from_secs_f64(secs)
}

/// The two sides left the same tree: what the last transaction wrote.
fn check_same(a: &Path, b: &Path) {
    for rel in [
        "skills/s/SKILL.md",
        "skills/s/a.md",
        "skills/s/scripts/run.sh",
        "collection.toml",
        "collection.lock",
    ] {
        let (x, y) = (std::fs::read(a.join(rel)), std::fs::read(b.join(rel)));
        assert!(
            x.is_ok() && x.ok() == y.ok(),
            "{rel} differs between the Rust and Python runs"
        );
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let rounds: usize = std::env::var("SKILLWAL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let work = common::target_dir().join("skillwal-bench-pyoverhead");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("make the bench's directory");
    println!(
        "python_txn_overhead: {LOOP} back-to-back one-artifact transactions per loop, {rounds} rounds, python {}",
        python().display()
    );
    println!("| mode | Rust per txn | Python per txn | Python ÷ Rust | overhead per txn |");
    println!("|---|---:|---:|---:|---:|");
    for durable in [true, false] {
        let (mut rust, mut py) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let (r_root, p_root) = (
                work.join(format!("rust-{durable}-{round}")),
                work.join(format!("py-{durable}-{round}")),
            );
            std::fs::create_dir_all(r_root.join("skills")).expect("root");
            std::fs::create_dir_all(p_root.join("skills")).expect("root");
            if round % 2 == 0 {
                rust.push(rust_loop(&r_root, durable));
                py.push(python_loop(&p_root, durable));
            } else {
                py.push(python_loop(&p_root, durable));
                rust.push(rust_loop(&r_root, durable));
            }
            check_same(&r_root, &p_root);
            let _ = std::fs::remove_dir_all(&r_root);
            let _ = std::fs::remove_dir_all(&p_root);
        }
        let (r, p) = (
            median(&mut rust) / LOOP as u32,
            median(&mut py) / LOOP as u32,
        );
        println!(
            "| {} | {:.0} µs | {:.0} µs | {:.2} | {:.0} µs |",
            if durable { "durable" } else { "run" },
            r.as_secs_f64() * 1e6,
            p.as_secs_f64() * 1e6,
            p.as_secs_f64() / r.as_secs_f64(),
            (p.as_secs_f64() - r.as_secs_f64()) * 1e6,
        );
    }
    let _ = std::fs::remove_dir_all(&work);
}
