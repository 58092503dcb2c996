//! Reading this run's criterion results back and printing the summary table; shared by the
//! `update_cost` bench (which prints it at its end) and the `summary` bench (which only
//! prints it, from whatever `target/criterion/` holds).

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Collection sizes of the workload (skills, each a directory of 3 files of 4 KiB).
pub const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// The contenders of one update, in table order: (criterion id, what is timed).
pub const CONTENDERS: [(&str, &str); 11] = [
    (
        "floor",
        "the same new bytes: one pwrite into one preallocated file + one fdatasync",
    ),
    (
        "naive",
        "per file: temp file, fsync, rename, fsync of its directory (5 files)",
    ),
    ("fstx", "fstx 0.1 Transaction: begin, 5 writes, commit"),
    (
        "fs_transaction",
        "fs-transaction 0.4 ChangeSet: 5 writes, apply",
    ),
    (
        "sqlite",
        "rusqlite (bundled SQLite), WAL, synchronous=FULL: 5 upserts in one transaction",
    ),
    (
        "tarball",
        "SkillMeat: tar.gz of the whole collection, then the naive writes",
    ),
    (
        "skillwal_commit",
        "library: `commit()` alone — the commit record, the journal's one fdatasync (the commit point), applying the renames; begin and staging before it and the checkpoint after it untimed",
    ),
    (
        "skillwal_txn",
        "library: the whole transaction up to its durable commit point — begin + put_tree (3 files) + 2 put_bytes + commit(); checkpoint untimed",
    ),
    (
        "skillwal_loop",
        "library: one update after another on an engine of its own — begin (which joins the run of committed transactions, or runs the run's checkpoint when it is full) + staging + commit(); a median of single updates misses the checkpoint most of them do not pay: the loop pass below is its cost",
    ),
    (
        "skillwal_durable",
        "library: begin + staging + commit_durable() — every change durable in place and the journal retired, as `update` does",
    ),
    (
        "skillwal_bin",
        "`skillwal update NAME --strategy upstream` through the binary (process start to exit)",
    ),
];

pub fn group_of(n: usize) -> String {
    format!("update_N{n}")
}

/// The directory of this bench executable's profile: cargo puts a bench at
/// `<target>/<profile>/deps/<name>-<hash>`, so its grandparent is `<target>/<profile>`
/// (`target/release` for `cargo bench`), whatever `CARGO_TARGET_DIR` or the configuration
/// says.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} is not under <target>/<profile>/deps", exe.display()))
        .to_path_buf()
}

/// The cargo target directory the bench was built in (the workspace's, shared with
/// skillwal): `CARGO_TARGET_DIR` when set, as criterion reads it, else derived from the
/// bench executable's own path.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            profile_dir()
                .parent()
                .expect("<target>/<profile> has a parent")
                .to_path_buf()
        })
}

/// The `skillwal` binary the `skillwal_bin` and `cli` rows run: `SKILLWAL_BIN` when set,
/// else `skillwal` beside this bench's `deps/` (`target/release/skillwal`). This package
/// cannot make cargo build another package's binary, so `cargo build --release` must have
/// built it (benches/README.md); panics when it is missing or older than a `.rs` file under
/// skillwal's `src/` (each of them is compiled into it, so cargo relinks it when one
/// changes), rather than time a stale binary.
pub fn skillwal_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let bin = std::env::var_os("SKILLWAL_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| profile_dir().join("skillwal"));
        let built = fs::metadata(&bin)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| {
                panic!(
                    "the skillwal binary {}: {e}; build it first: cargo build --release --locked",
                    bin.display()
                )
            });
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src");
        if let Some(newer) = newer_than(&src, built) {
            panic!(
                "the skillwal binary {} is older than {}: rebuild it: cargo build --release --locked",
                bin.display(),
                newer.display()
            );
        }
        bin
    })
    .clone()
}

/// A `.rs` file at or under `path` modified after `t`, if any.
fn newer_than(path: &Path, t: SystemTime) -> Option<PathBuf> {
    let meta = fs::symlink_metadata(path).ok()?;
    if meta.is_dir() {
        let entries = fs::read_dir(path).ok()?;
        return entries
            .filter_map(|e| e.ok())
            .find_map(|e| newer_than(&e.path(), t));
    }
    let rust = path.extension().is_some_and(|e| e == "rs");
    (rust && meta.modified().ok()? > t).then(|| path.to_path_buf())
}

pub fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"))
}

/// Where the update bench leaves what criterion does not keep (fsync counts, the 1 GiB
/// check, the interleaved pass), for the summary.
pub fn extras_path() -> PathBuf {
    criterion_dir().join("skillwal-extras.json")
}

fn fresh(path: &Path, since: Option<SystemTime>) -> bool {
    match since {
        None => path.exists(),
        Some(t) => fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m >= t),
    }
}

/// Median and p90 (ns per iteration) of `group/id`: the median is criterion's estimate,
/// the p90 the 90th percentile of the per-iteration times of its samples. `None` when
/// criterion has no result (or, with `since`, none written since then).
pub fn stats(group: &str, id: &str, since: Option<SystemTime>) -> Option<(f64, f64)> {
    let dir = criterion_dir().join(group).join(id).join("new");
    let est = dir.join("estimates.json");
    if !fresh(&est, since) {
        return None;
    }
    let est: serde_json::Value = serde_json::from_str(&fs::read_to_string(&est).ok()?).ok()?;
    let median = est["median"]["point_estimate"].as_f64()?;
    let sample: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("sample.json")).ok()?).ok()?;
    let iters = sample["iters"].as_array()?;
    let times = sample["times"].as_array()?;
    let mut per: Vec<f64> = iters
        .iter()
        .zip(times)
        .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?))
        .collect();
    per.sort_by(f64::total_cmp);
    let p90 = *per.get(((per.len() as f64 * 0.9).ceil() as usize).saturating_sub(1))?;
    Some((median, p90))
}

pub fn fmt_time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.0} µs", ns / 1e3)
    }
}

fn extras() -> serde_json::Value {
    fs::read_to_string(extras_path())
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Prints the summary table (Markdown) of every result criterion has (written since `since`,
/// when given).
pub fn print_summary(since: Option<SystemTime>) {
    let extras = extras();
    println!();
    println!(
        "## One-artifact update: criterion median / p90 per transaction, ×floor = median ÷ floor's \
         median; ×floor (il.) = the same ratio from the interleaved pass"
    );
    println!();
    print!("| contender |");
    for n in SIZES {
        print!(" N={n} median | p90 | ×floor | ×floor (il.) |");
    }
    println!();
    print!("|---|");
    for _ in SIZES {
        print!("---:|---:|---:|---:|");
    }
    println!();
    let inter = &extras["interleaved"];
    for (id, _) in CONTENDERS {
        print!("| {id} |");
        for n in SIZES {
            let g = group_of(n);
            let floor = stats(&g, "floor", since).map(|s| s.0);
            match stats(&g, id, since) {
                Some((m, p)) => {
                    let ratio = floor.map_or("-".into(), |f| format!("{:.2}", m / f));
                    print!(" {} | {} | {} |", fmt_time(m), fmt_time(p), ratio);
                }
                None => print!(" - | - | - |"),
            }
            let med = &inter[n.to_string()]["medians_ns"];
            match (med[id].as_f64(), med["floor"].as_f64()) {
                (Some(v), Some(f)) => print!(" {:.2} |", v / f),
                _ => print!(" - |"),
            }
        }
        println!();
    }
    println!();
    for (id, what) in CONTENDERS {
        println!("- `{id}`: {what}");
    }
    let looped = &extras["loop"];
    if looped.is_object() {
        println!();
        println!(
            "## Back-to-back updates, every cost counted (the loop pass): blocks of 64 updates of \
             each, in a rotating order, every timed part summed with each one's deferred \
             checkpoint at the end, ÷ the updates"
        );
        println!();
        println!("| N | floor | sqlite | ×floor | skillwal_loop | ×floor | ÷ sqlite |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        for n in SIZES {
            let p = &looped[n.to_string()]["per_update_ns"];
            if let (Some(f), Some(q), Some(w)) = (
                p["floor"].as_f64(),
                p["sqlite"].as_f64(),
                p["skillwal_loop"].as_f64(),
            ) {
                println!(
                    "| {n} | {} | {} | {:.2} | {} | {:.2} | {:.2} |",
                    fmt_time(f),
                    fmt_time(q),
                    q / f,
                    fmt_time(w),
                    w / f,
                    w / q
                );
            }
        }
    }
    let syncs = &extras["fsyncs"];
    if syncs.is_object() {
        println!();
        println!(
            "fsyncs per transaction, counted through skillwal's file-system layer (file + directory):"
        );
        for n in SIZES {
            let s = &syncs[n.to_string()];
            if s.is_object() {
                let cell = |k: &str| {
                    let f = s[k][0].as_u64().unwrap_or(0);
                    let d = s[k][1].as_u64().unwrap_or(0);
                    format!("{} ({f}f+{d}d)", f + d)
                };
                let in_loop = match (s["loop"][0].as_u64(), s["loop"][1].as_u64()) {
                    (Some(f), Some(d)) => format!(
                        ", skillwal_loop {:.2} per update ({f}f+{d}d over {})",
                        (f + d) as f64 / s["loop_updates"].as_f64().unwrap_or(1.0),
                        s["loop_updates"]
                    ),
                    _ => String::new(),
                };
                println!(
                    "- N={n}: skillwal_commit {}, skillwal_txn {}, skillwal_durable {}{in_loop}; \
                     manifest {} B, lock {} B",
                    cell("commit"),
                    cell("txn"),
                    cell("durable"),
                    s["manifest_bytes"],
                    s["lock_bytes"],
                );
            }
        }
    }
    println!();
    println!("## Scaling, open, recovery, CLI");
    println!();
    for id in [
        "skillwal_commit",
        "skillwal_txn",
        "skillwal_loop",
        "skillwal_durable",
        "skillwal_bin",
    ] {
        let a = stats(&group_of(10), id, since);
        let b = stats(&group_of(10_000), id, since);
        if let (Some(a), Some(b)) = (a, b) {
            println!(
                "- {id}: N=10,000 ÷ N=10 = {:.2} ({} → {})",
                b.0 / a.0,
                fmt_time(a.0),
                fmt_time(b.0)
            );
        }
    }
    let mut line = Vec::new();
    for n in SIZES {
        if let Some((m, _)) = stats("engine_open", &format!("clean_N{n}"), since) {
            line.push(format!("N={n} {}", fmt_time(m)));
        }
    }
    if !line.is_empty() {
        println!(
            "- Engine::open, clean journal (nothing to recover): {}",
            line.join(", ")
        );
    }
    let mut line = Vec::new();
    for k in RECOVERY_FILES {
        if let Some((m, _)) = stats("engine_open", &format!("recover_{k}x4KiB"), since) {
            line.push(format!("{} KiB of journal {}", k * 4, fmt_time(m)));
        }
    }
    if !line.is_empty() {
        println!(
            "- Engine::open rolling forward one committed transaction of k 4-KiB files: {}",
            line.join(", ")
        );
    }
    for (id, what) in [
        ("startup", "process start-up (`skillwal --version`)"),
        ("list_N10000", "`skillwal list` on 10,000 artifacts"),
        ("status_N10000", "`skillwal status` on 10,000 artifacts"),
    ] {
        if let Some((m, p)) = stats("cli", id, since) {
            println!("- {what}: median {}, p90 {}", fmt_time(m), fmt_time(p));
        }
    }
    if let Some(runs) = inter.as_object() {
        let rounds: Vec<String> = runs
            .iter()
            .map(|(n, r)| format!("N={n}: {}", r["rounds"]))
            .collect();
        println!(
            "- interleaved pass (the ×floor (il.) column): rounds of one iteration of each \
             contender (tarball excepted) in a rotating order, so that background load hits \
             all alike; rounds {}",
            rounds.join(", ")
        );
    }
    let big = &extras["big"];
    if big.is_object() {
        println!(
            "- 1 GiB artifact (separate processes under /usr/bin/time -v, median of {}): floor {:.2} s; \
             skillwal update (put_file over the old 1 GiB file + commit_durable) {:.2} s = {:.2}× floor, \
             of which hashing the old file for its before-state alone takes {:.2} s; \
             peak RSS {} MiB (floor process {} MiB)",
            big["runs"],
            big["floor_s"].as_f64().unwrap_or(0.0),
            big["skillwal_s"].as_f64().unwrap_or(0.0),
            big["skillwal_s"].as_f64().unwrap_or(0.0) / big["floor_s"].as_f64().unwrap_or(1.0),
            big["hash_old_s"].as_f64().unwrap_or(f64::NAN),
            big["skillwal_rss_kib"].as_u64().unwrap_or(0) / 1024,
            big["floor_rss_kib"].as_u64().unwrap_or(0) / 1024,
        );
    }
    if let Some(m) = extras["machine"].as_str() {
        println!("- machine: {m}");
    }
}

/// Files in the transaction the recovery benchmarks roll forward.
pub const RECOVERY_FILES: [usize; 3] = [1, 16, 256];
