//! What a snapshot and a rollback cost against the collection's size (issue: "its cost is
//! in proportion to what changed since the last snapshot, not to the collection size").
//!
//! The workload: a collection of N skills (N = 100, 1,000, 10,000), each a directory of 3
//! files of 4 KiB with distinct content, plus the manifest and lock. Per N, in one run:
//!
//! | id | timed |
//! |---|---|
//! | `walk` | `lstat` of every file and directory (std): what noticing a change costs without being told, the floor of any snapshot that does not trust timestamps blindly |
//! | `tarball` | SkillMeat's snapshot: a `tar.gz` of the whole collection (GNU tar + `gzip -9`) |
//! | `snapshot_unchanged` | `Collection::snapshot` with nothing changed since the last one |
//! | `snapshot_one_changed` | the same after one file of one skill was rewritten |
//! | `snapshot_no_cache` | the same with nothing changed and the stat cache deleted: every file hashed |
//! | `rollback_one` | `Collection::rollback` to a snapshot from which one file differs (it also writes the operation log's record) |
//!
//! Not timed, printed after the table (`store_growth`, issue 16's target ≤ 400 KiB at
//! N = 1,000): what 20 snapshots add to the store when one 4 KiB file is rewritten before
//! each, as the bytes of the files added (apparent) and as the blocks they take (`st_blocks`,
//! what `du` counts), with the number of files added.
//!
//! Every snapshot and rollback is durable on return (`commit_durable`). The references a
//! timed snapshot adds are deleted between iterations, untimed. Results print as a table at
//! the end: median, p90, and the ratios to `walk` and to `tarball`.
//!
//! `SKILLWAL_BENCH_SIZES=100,1000` limits the sizes; a criterion filter selects ids.

#[path = "common/mod.rs"]
mod common;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use skillwal::OpenOptions;
use skillwal::fs::FileSystem;
use skillwal::fs::real::RealFs;
use skillwal::skillmeat::collection::Collection;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const FILE_BYTES: usize = 4096;
const SKILL_FILES: [(&str, u32); 3] = [
    ("SKILL.md", 0o644),
    ("reference.md", 0o644),
    ("run.sh", 0o755),
];
const IDS: [&str; 6] = [
    "walk",
    "tarball",
    "snapshot_unchanged",
    "snapshot_one_changed",
    "snapshot_no_cache",
    "rollback_one",
];

fn group_of(n: usize) -> String {
    format!("snapshot_N{n}")
}

/// 4 KiB of text, different for every skill, file and version.
fn file_text(skill: usize, file: &str, version: u64) -> Vec<u8> {
    let mut s = format!("# {file} of skill {skill}, version {version}\n").into_bytes();
    let mut line = 0u64;
    while s.len() < FILE_BYTES {
        let l = format!("{skill:05} {line:04} {version} lorem ipsum dolor sit amet\n");
        let k = (FILE_BYTES - s.len()).min(l.len());
        s.extend_from_slice(&l.as_bytes()[..k]);
        line += 1;
    }
    s
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    fs::write(path, bytes)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Makes the collection of `n` skills at `dir` (an initialised, empty collection).
fn make_collection(dir: &Path, n: usize) -> io::Result<()> {
    for i in 0..n {
        let d = dir.join("skills").join(format!("skill-{i:05}"));
        fs::create_dir_all(&d)?;
        for (f, mode) in SKILL_FILES {
            write_file(&d.join(f), &file_text(i, f, 0), mode)?;
        }
    }
    Ok(())
}

/// `lstat` of everything below `dir` (links not followed).
fn walk(dir: &Path) -> io::Result<u64> {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d)? {
            let p = e?.path();
            let m = fs::symlink_metadata(&p)?;
            n += 1;
            if m.is_dir() {
                stack.push(p);
            }
        }
    }
    Ok(n)
}

fn tarball(dir: &Path, out: &Path) -> io::Result<()> {
    let status = Command::new("tar")
        .arg("-cf")
        .arg(out)
        .arg("-I")
        .arg("gzip -9")
        .arg("--exclude=.skillwal")
        .arg("-C")
        .arg(dir.parent().expect("a parent"))
        .arg(dir.file_name().expect("a name"))
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("tar failed: {status}")));
    }
    Ok(())
}

struct Sized {
    n: usize,
    dir: PathBuf,
    c: Collection,
    /// The snapshot every `rollback_one` goes back to.
    base: u64,
    version: u64,
}

impl Sized {
    fn new(root: &Path, n: usize) -> Sized {
        let dir = root.join(format!("c{n}"));
        let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
        let opts = OpenOptions::default();
        Collection::init(fs.clone(), &dir, "bench", &opts)
            .expect("init")
            .close()
            .expect("close");
        make_collection(&dir, n).expect("write the collection");
        let (mut c, _) = Collection::open(fs, &dir, &opts).expect("open");
        // The first snapshot stores every object; later ones find them there.
        let base = c.snapshot("base").expect("first snapshot").snapshot_id();
        Sized {
            n,
            dir,
            c,
            base,
            version: 0,
        }
    }

    /// Rewrites one file of skill 0 with new content.
    fn change_one(&mut self) {
        self.version += 1;
        let p = self.dir.join("skills/skill-00000/SKILL.md");
        write_file(&p, &file_text(0, "SKILL.md", self.version), 0o644).expect("rewrite");
    }

    fn snapshot(&mut self) -> u64 {
        self.c.snapshot("bench").expect("snapshot").snapshot_id()
    }

    fn delete(&mut self, id: u64) {
        self.c.delete_snapshot(id).expect("delete snapshot");
    }
}

/// Files below `dir`, their bytes and their allocated bytes (`st_blocks` × 512).
fn usage(dir: &Path) -> (u64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut out = (0, 0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let m = e.metadata().expect("lstat");
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.0 += 1;
                out.1 += m.len();
                out.2 += m.blocks() * 512;
            }
        }
    }
    out
}

/// What `SNAPSHOTS` snapshots add to the store, one file rewritten before each: (files,
/// bytes, allocated bytes).
fn store_growth(s: &mut Sized) -> (u64, u64, u64) {
    const SNAPSHOTS: usize = 20;
    let store = s.dir.parent().expect("parent").join(format!(
        ".skillwal/{}/store",
        s.dir.file_name().expect("name").to_string_lossy()
    ));
    let before = usage(&store);
    for _ in 0..SNAPSHOTS {
        s.change_one();
        s.snapshot();
    }
    let after = usage(&store);
    (after.0 - before.0, after.1 - before.1, after.2 - before.2)
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>, slow: bool) {
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if slow { 10 } else { 300 }))
        .measurement_time(Duration::from_secs(if slow { 20 } else { 3 }));
}

fn bench(c: &mut Criterion, s: &mut Sized, tmp: &Path, selected: &dyn Fn(&str) -> bool) {
    let group = group_of(s.n);
    let mut g = c.benchmark_group(&group);
    for id in IDS {
        if !selected(&format!("{group}/{id}")) {
            continue;
        }
        configure(&mut g, id == "tarball" && s.n >= 1_000);
        let mut last: Option<u64> = None;
        match id {
            "walk" => g.bench_function(id, |b| b.iter(|| walk(&s.dir).expect("walk"))),
            "tarball" => {
                let out = tmp.join("snapshot.tar.gz");
                g.bench_function(id, |b| b.iter(|| tarball(&s.dir, &out).expect("tar")))
            }
            "snapshot_unchanged" | "snapshot_one_changed" | "snapshot_no_cache" => g
                .bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            // Untimed: drop the previous iteration's reference, prepare.
                            if let Some(prev) = last.take() {
                                s.delete(prev);
                            }
                            match id {
                                "snapshot_one_changed" => s.change_one(),
                                "snapshot_no_cache" => {
                                    let _ = fs::remove_file(s.dir.join(".skillwal/stat-cache"));
                                }
                                _ => {}
                            }
                            let t = Instant::now();
                            last = Some(s.snapshot());
                            total += t.elapsed();
                        }
                        total
                    })
                }),
            "rollback_one" => g.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        s.change_one();
                        let t = Instant::now();
                        s.c.rollback(s.base).expect("rollback");
                        total += t.elapsed();
                    }
                    total
                })
            }),
            _ => unreachable!(),
        };
        if let Some(prev) = last {
            s.delete(prev);
        }
    }
    g.finish();
}

fn print_table(sizes: &[usize], since: SystemTime) {
    println!("\n| N | id | median | p90 | × walk | tarball ÷ it |");
    println!("|---:|---|---:|---:|---:|---:|");
    for &n in sizes {
        let group = group_of(n);
        let walk = common::stats(&group, "walk", Some(since)).map(|s| s.0);
        let tar = common::stats(&group, "tarball", Some(since)).map(|s| s.0);
        for id in IDS {
            let Some((median, p90)) = common::stats(&group, id, Some(since)) else {
                continue;
            };
            let x_walk = walk.map_or("—".into(), |w| format!("{:.1}×", median / w));
            let x_tar = tar.map_or("—".into(), |t| format!("{:.1}×", t / median));
            println!(
                "| {n} | `{id}` | {} | {} | {x_walk} | {x_tar} |",
                common::fmt_time(median),
                common::fmt_time(p90)
            );
        }
    }
}

fn main() {
    let since = SystemTime::now();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let filter: Option<String> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .filter(|a| !a.is_empty());
    let selected = |name: &str| {
        filter
            .as_deref()
            .is_none_or(|f| f.split('|').any(|f| name.contains(f)))
    };
    let sizes: Vec<usize> = match std::env::var("SKILLWAL_BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .filter(|n| SIZES.contains(n))
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    let target = common::target_dir();
    fs::create_dir_all(&target).expect("target dir");
    // Under target/, not /tmp: /tmp may be a tmpfs, where fsync costs nothing.
    let tmp = tempfile::Builder::new()
        .prefix("skillwal-bench-snap-")
        .tempdir_in(target.canonicalize().expect("target dir"))
        .expect("temp dir");
    let mut c = Criterion::default()
        .output_directory(&common::criterion_dir())
        .without_plots()
        .configure_from_args();
    let mut growth = Vec::new();
    for &n in &sizes {
        if !IDS
            .iter()
            .chain(&["store_growth"])
            .any(|id| selected(&format!("{}/{id}", group_of(n))))
        {
            continue;
        }
        eprintln!("snapshot_cost: building a collection of {n} skills");
        let mut s = Sized::new(tmp.path(), n);
        if selected(&format!("{}/store_growth", group_of(n))) {
            growth.push((n, store_growth(&mut s)));
        }
        bench(&mut c, &mut s, tmp.path(), &selected);
        s.c.close().expect("close");
        fs::remove_dir_all(&s.dir).expect("remove the collection");
    }
    print_table(&sizes, since);
    if !growth.is_empty() {
        println!(
            "\n| N | 20 snapshots, one 4 KiB file rewritten before each: files added | bytes | allocated |"
        );
        println!("|---:|---:|---:|---:|");
        for (n, (files, bytes, alloc)) in growth {
            println!(
                "| {n} | {files} | {:.1} KiB | {:.1} KiB |",
                bytes as f64 / 1024.0,
                alloc as f64 / 1024.0
            );
        }
    }
}
