//! What one "one-artifact transaction" costs on the real file system, compared in one run
//! against baselines (see benches/README.md).
//!
//! The change: the skill directory `skills/skill-000` (3 files: 2 KiB, 1 KiB, 3 KiB) replaced
//! by a new version, plus `collection.toml` (1 KiB) and `collection.lock` (1 KiB) rewritten —
//! 8 KiB of content in all, in a collection of 50 skills.
//!
//! Everything runs in a temp dir under the cargo target directory (not /tmp, which may be a
//! tmpfs where fsync costs nothing). The bench prints, in order: the memory check, the fsync
//! counts (from a counting file-system wrapper, outside the timings), criterion's
//! measurements, and at the end a table of medians and ratios to `floor`, all from this run.

use criterion::{Criterion, SamplingMode};
use skillwal::fs::FileSystem;
use skillwal::fs::fault::{FaultFs, FaultPlan};
use skillwal::fs::real::RealFs;
use skillwal::{Engine, OpenOptions, RecoveryOutcome, Transaction};
use std::fs::{self, File};
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

const SKILLS_IN_COLLECTION: usize = 50;
const SKILL: &str = "skills/skill-000";
const SKILL_FILES: [(&str, usize, u32); 3] = [
    ("SKILL.md", 2048, 0o644),
    ("reference.md", 1024, 0o644),
    ("run.sh", 3072, 0o755),
];
const TOML_BYTES: usize = 1024;
const LOCK_BYTES: usize = 1024;
const TOTAL_BYTES: usize = 2048 + 1024 + 3072 + TOML_BYTES + LOCK_BYTES;
const BIG_FILE_BYTES: u64 = 256 * 1024 * 1024;

const GROUP_TXN: &str = "one_artifact_txn";
const GROUP_OPEN: &str = "engine_open";

// ---------------------------------------------------------------------------------------
// Content and collections

/// `len` bytes of text that start with a line naming `tag` and `version`.
fn text(tag: &str, version: u64, len: usize) -> Vec<u8> {
    const FILLER: &[u8] =
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n";
    let mut s = format!("# {tag} (version {version})\n").into_bytes();
    while s.len() < len {
        let k = (len - s.len()).min(FILLER.len());
        s.extend_from_slice(&FILLER[..k]);
    }
    s.truncate(len);
    s
}

/// One version of the change: the new skill files and the two documents.
struct Update {
    skill: Vec<(&'static str, Vec<u8>, u32)>,
    toml: Vec<u8>,
    lock: Vec<u8>,
}

fn update(version: u64) -> Update {
    Update {
        skill: SKILL_FILES
            .iter()
            .map(|&(name, len, mode)| (name, text(name, version, len), mode))
            .collect(),
        toml: text("collection.toml", version, TOML_BYTES),
        lock: text("collection.lock", version, LOCK_BYTES),
    }
}

/// A fresh version number for every iteration, so every commit really changes something.
fn next_version() -> u64 {
    static V: AtomicU64 = AtomicU64::new(1);
    V.fetch_add(1, Ordering::Relaxed)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)
}

/// A SkillMeat-like collection: `skills/skill-NNN/{SKILL.md,reference.md,run.sh}`,
/// `collection.toml`, `collection.lock`.
fn make_collection(root: &Path, skills: usize) -> io::Result<()> {
    fs::create_dir_all(root.join("skills"))?;
    for i in 0..skills {
        let dir = root.join(format!("skills/skill-{i:03}"));
        fs::create_dir(&dir)?;
        for &(name, len, mode) in &SKILL_FILES {
            write_file(&dir.join(name), &text(name, 0, len), mode)?;
        }
    }
    write_file(
        &root.join("collection.toml"),
        &text("collection.toml", 0, TOML_BYTES),
        0o644,
    )?;
    write_file(
        &root.join("collection.lock"),
        &text("collection.lock", 0, LOCK_BYTES),
        0o644,
    )?;
    Ok(())
}

fn opts() -> OpenOptions {
    OpenOptions {
        no_wait: true,
        salt_seed: None,
    }
}

fn fs_real() -> Arc<dyn FileSystem> {
    Arc::new(RealFs)
}

/// A collection with the engine's files created (and checkpointed) once.
fn make_engine_root(root: &Path, skills: usize) -> PathBuf {
    make_collection(root, skills).expect("create collection");
    Engine::open(fs_real(), root, &opts())
        .and_then(|e| e.close())
        .expect("first open");
    root.to_path_buf()
}

fn stage(t: &mut Transaction<'_>, u: &Update) -> skillwal::Result<()> {
    let mut tree = t.put_tree(SKILL)?;
    for (name, bytes, mode) in &u.skill {
        tree.bytes(name, bytes, *mode)?;
    }
    tree.finish()?;
    t.put_bytes("collection.toml", &u.toml, 0o644)?;
    t.put_bytes("collection.lock", &u.lock, 0o644)?;
    Ok(())
}

/// Flushes everything the setup wrote, so background writeback does not land in a sample.
fn settle() {
    rustix::fs::sync();
}

// ---------------------------------------------------------------------------------------
// Baselines

/// The classic careful update: temp file + fsync + rename + fsync(dir) for each document;
/// the skill directory built beside the old one (each file fsynced, the new directory
/// fsynced), swapped in by two renames, the parent fsynced, the old one removed.
/// Returns the number of fsyncs.
fn careful_update(root: &Path, u: &Update) -> io::Result<u32> {
    let mut fsyncs = 0;
    let skills = root.join("skills");
    let target = root.join(SKILL);
    let new = skills.join(".skill-000.new");
    let old = skills.join(".skill-000.old");
    fs::create_dir(&new)?;
    for (name, bytes, mode) in &u.skill {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(*mode)
            .open(new.join(name))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fsyncs += 1;
    }
    File::open(&new)?.sync_all()?;
    fsyncs += 1;
    fs::rename(&target, &old)?;
    fs::rename(&new, &target)?;
    File::open(&skills)?.sync_all()?;
    fsyncs += 1;
    fs::remove_dir_all(&old)?;
    for (name, bytes) in [("collection.toml", &u.toml), ("collection.lock", &u.lock)] {
        let tmp = root.join(format!(".{name}.tmp"));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, root.join(name))?;
        File::open(root)?.sync_all()?;
        fsyncs += 2;
    }
    Ok(fsyncs)
}

/// What SkillMeat (Python) does: a tar.gz snapshot of the whole collection (Python's
/// `tarfile` "w:gz" compresses at level 9), then the update in place without any fsync.
/// No tar/flate2 crate is in Cargo.lock, so this shells out to GNU tar + gzip.
fn tarball_update(root: &Path, snapshot: &Path, u: &Update) -> io::Result<()> {
    let parent = root.parent().expect("root has a parent");
    let name = root.file_name().expect("root has a name");
    let status = Command::new("tar")
        .arg("-cf")
        .arg(snapshot)
        .arg("-I")
        .arg("gzip -9")
        .arg("-C")
        .arg(parent)
        .arg(name)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("tar failed: {status}")));
    }
    let target = root.join(SKILL);
    fs::remove_dir_all(&target)?;
    fs::create_dir(&target)?;
    for (name, bytes, mode) in &u.skill {
        write_file(&target.join(name), bytes, *mode)?;
    }
    for (name, bytes) in [("collection.toml", &u.toml), ("collection.lock", &u.lock)] {
        let tmp = root.join(format!(".{name}.tmp"));
        write_file(&tmp, bytes, 0o600)?;
        fs::rename(&tmp, root.join(name))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Syncs counted through the engine's own FaultFs (an empty plan injects nothing), once,
// outside the timings.

/// fsyncs (file, directory) of each engine step, for the same change.
struct EngineSyncs {
    staging: (u64, u64),
    commit: (u64, u64),
    checkpoint: (u64, u64),
    open_clean: (u64, u64),
    recovery: (u64, u64),
}

fn count_engine_syncs(root: &Path) -> EngineSyncs {
    let counting = FaultFs::new(Arc::new(RealFs), FaultPlan::new(None, None));
    let counts = counting.plan();
    let fs: Arc<dyn FileSystem> = Arc::new(counting);
    let mut engine = Engine::open(fs.clone(), root, &opts()).expect("open");
    counts.take_syncs();
    let mut t = engine.begin("count").expect("begin");
    stage(&mut t, &update(next_version())).expect("stage");
    let staging = counts.take_syncs();
    t.commit().expect("commit");
    let commit = counts.take_syncs();
    engine.checkpoint().expect("checkpoint");
    let checkpoint = counts.take_syncs();
    engine.close().expect("close");
    counts.take_syncs();
    let engine = Engine::open(fs.clone(), root, &opts()).expect("open");
    let open_clean = counts.take_syncs();
    let mut engine = engine;
    let mut t = engine.begin("count").expect("begin");
    stage(&mut t, &update(next_version())).expect("stage");
    t.commit().expect("commit");
    drop(engine);
    counts.take_syncs();
    let engine = Engine::open(fs, root, &opts()).expect("open");
    let recovery = counts.take_syncs();
    assert!(
        matches!(
            engine.recovery_report().outcome,
            RecoveryOutcome::RolledForward { .. }
        ),
        "expected a roll-forward, got {:?}",
        engine.recovery_report()
    );
    engine.close().expect("close");
    EngineSyncs {
        staging,
        commit,
        checkpoint,
        open_clean,
        recovery,
    }
}

// ---------------------------------------------------------------------------------------
// Memory check

/// Generates `left` pseudo-random bytes without holding them.
struct GenReader {
    left: u64,
    state: u64,
}

impl Read for GenReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A field of /proc/self/status, in KiB.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct MemoryReport {
    hwm_before_kib: u64,
    hwm_after_stage_kib: u64,
    hwm_after_commit_kib: u64,
    peak_reset: bool,
    stage_time: Duration,
    commit_durable_time: Duration,
}

fn memory_check(base: &Path) -> MemoryReport {
    let root = base.join("memory");
    fs::create_dir(&root).expect("create root");
    let mut engine = Engine::open(fs_real(), &root, &opts()).expect("open");
    // Reset the peak so it covers only what follows (Linux >= 4.0); not fatal if refused.
    let peak_reset = fs::write("/proc/self/clear_refs", "5").is_ok();
    let hwm_before_kib = proc_status_kib("VmHWM").unwrap_or(0);
    let started = Instant::now();
    let mut t = engine.begin("memory check").expect("begin");
    let mut reader = GenReader {
        left: BIG_FILE_BYTES,
        state: 42,
    };
    t.put_file("big.bin", &mut reader, 0o644).expect("put_file");
    let stage_time = started.elapsed();
    let hwm_after_stage_kib = proc_status_kib("VmHWM").unwrap_or(0);
    let started = Instant::now();
    t.commit_durable().expect("commit");
    let commit_durable_time = started.elapsed();
    let hwm_after_commit_kib = proc_status_kib("VmHWM").unwrap_or(0);
    let len = fs::metadata(root.join("big.bin")).expect("big.bin").len();
    assert_eq!(len, BIG_FILE_BYTES, "the committed file has the full size");
    engine.close().expect("close");
    fs::remove_dir_all(&root).expect("remove");
    MemoryReport {
        hwm_before_kib,
        hwm_after_stage_kib,
        hwm_after_commit_kib,
        peak_reset,
        stage_time,
        commit_durable_time,
    }
}

// ---------------------------------------------------------------------------------------
// One timed iteration of each benchmark (shared by criterion and the interleaved pass)

/// Everything the benchmarks work on, in its own directory.
struct Fixtures {
    floor: File,
    /// Open for the whole pass; used by the three `skillwal_*` transaction benchmarks.
    engine: Engine,
    careful: PathBuf,
    tarball: PathBuf,
    snapshots: PathBuf,
    open_10: PathBuf,
    open_1000: PathBuf,
    recovery: PathBuf,
}

impl Fixtures {
    fn new(dir: &Path) -> Fixtures {
        fs::create_dir(dir).expect("fixture dir");
        let floor = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.join("floor.bin"))
            .expect("floor file");
        floor
            .write_all_at(&[0u8; TOTAL_BYTES], 0)
            .expect("preallocate");
        floor.sync_all().expect("sync");
        let commit = make_engine_root(&dir.join("commit"), SKILLS_IN_COLLECTION);
        let engine = Engine::open(fs_real(), &commit, &opts()).expect("open");
        let careful = dir.join("careful");
        make_collection(&careful, SKILLS_IN_COLLECTION).expect("collection");
        let tarball = dir.join("tarball").join("collection");
        make_collection(&tarball, SKILLS_IN_COLLECTION).expect("collection");
        let snapshots = dir.join("tarball").join("snapshots");
        fs::create_dir(&snapshots).expect("snapshots dir");
        let fixtures = Fixtures {
            floor,
            engine,
            careful,
            tarball,
            snapshots,
            open_10: make_engine_root(&dir.join("open-10"), 10),
            open_1000: make_engine_root(&dir.join("open-1000"), 1000),
            recovery: make_engine_root(&dir.join("recovery"), SKILLS_IN_COLLECTION),
        };
        settle();
        fixtures
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bench {
    Floor,
    SkillwalCommit,
    SkillwalCommitDurable,
    SkillwalFullDurable,
    CarefulPerFile,
    TarballSnapshot,
    OpenClean10,
    OpenClean1000,
    RecoveryRollForward,
}

impl Bench {
    const ALL: [Bench; 9] = [
        Bench::Floor,
        Bench::SkillwalCommit,
        Bench::SkillwalCommitDurable,
        Bench::SkillwalFullDurable,
        Bench::CarefulPerFile,
        Bench::TarballSnapshot,
        Bench::OpenClean10,
        Bench::OpenClean1000,
        Bench::RecoveryRollForward,
    ];

    /// Criterion group and id.
    fn id(self) -> (&'static str, &'static str) {
        match self {
            Bench::Floor => (GROUP_TXN, "floor"),
            Bench::SkillwalCommit => (GROUP_TXN, "skillwal_commit"),
            Bench::SkillwalCommitDurable => (GROUP_TXN, "skillwal_commit_durable"),
            Bench::SkillwalFullDurable => (GROUP_TXN, "skillwal_full_durable"),
            Bench::CarefulPerFile => (GROUP_TXN, "careful_per_file"),
            Bench::TarballSnapshot => (GROUP_TXN, "tarball_snapshot"),
            Bench::OpenClean10 => (GROUP_OPEN, "open_clean_10_skills"),
            Bench::OpenClean1000 => (GROUP_OPEN, "open_clean_1000_skills"),
            Bench::RecoveryRollForward => (GROUP_OPEN, "recovery_roll_forward"),
        }
    }

    /// Runs one iteration; returns the time of its timed part only.
    fn once(self, fx: &mut Fixtures) -> Duration {
        let u = update(next_version());
        match self {
            // 1. The same bytes, one write to one preallocated file, one fdatasync.
            Bench::Floor => {
                let mut buf = text("floor", 0, TOTAL_BYTES);
                buf[..u.toml.len()].copy_from_slice(&u.toml);
                let start = Instant::now();
                fx.floor.write_all_at(&buf, 0).expect("write");
                fx.floor.sync_data().expect("fdatasync");
                start.elapsed()
            }
            // 2. commit() alone; staging and the checkpoint outside the timing.
            Bench::SkillwalCommit => {
                let mut t = fx.engine.begin("bench").expect("begin");
                stage(&mut t, &u).expect("stage");
                let start = Instant::now();
                black_box(t.commit().expect("commit"));
                let d = start.elapsed();
                fx.engine.checkpoint().expect("checkpoint");
                d
            }
            // 3. commit_durable() alone (commit + checkpoint).
            Bench::SkillwalCommitDurable => {
                let mut t = fx.engine.begin("bench").expect("begin");
                stage(&mut t, &u).expect("stage");
                let start = Instant::now();
                black_box(t.commit_durable().expect("commit_durable"));
                start.elapsed()
            }
            // 3b. The whole transaction: begin + staging + commit_durable.
            Bench::SkillwalFullDurable => {
                let start = Instant::now();
                let mut t = fx.engine.begin("bench").expect("begin");
                stage(&mut t, &u).expect("stage");
                black_box(t.commit_durable().expect("commit_durable"));
                start.elapsed()
            }
            // 4. The careful application without an engine.
            Bench::CarefulPerFile => {
                let start = Instant::now();
                black_box(careful_update(&fx.careful, &u).expect("careful update"));
                start.elapsed()
            }
            // 5. SkillMeat: tar.gz of the collection, then the update without fsyncs.
            Bench::TarballSnapshot => {
                let snapshot = fx.snapshots.join("snapshot.tar.gz");
                let start = Instant::now();
                tarball_update(&fx.tarball, &snapshot, &u).expect("tarball update");
                let d = start.elapsed();
                fs::remove_file(&snapshot).expect("remove snapshot");
                d
            }
            Bench::OpenClean10 | Bench::OpenClean1000 => {
                let root = if self == Bench::OpenClean10 {
                    &fx.open_10
                } else {
                    &fx.open_1000
                };
                let start = Instant::now();
                let engine = Engine::open(fs_real(), root, &opts()).expect("open");
                let d = start.elapsed();
                assert!(!engine.recovery_report().did_something());
                drop(engine);
                d
            }
            // An open that rolls one committed transaction forward; the commit (then a drop
            // without checkpoint) outside the timing.
            Bench::RecoveryRollForward => {
                let root = &fx.recovery;
                let mut engine = Engine::open(fs_real(), root, &opts()).expect("open");
                let mut t = engine.begin("bench").expect("begin");
                stage(&mut t, &u).expect("stage");
                t.commit().expect("commit");
                drop(engine);
                let start = Instant::now();
                let engine = Engine::open(fs_real(), root, &opts()).expect("recovering open");
                let d = start.elapsed();
                assert!(
                    matches!(
                        engine.recovery_report().outcome,
                        RecoveryOutcome::RolledForward { .. }
                    ),
                    "expected a roll-forward, got {:?}",
                    engine.recovery_report()
                );
                drop(engine);
                d
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Criterion benchmarks

fn run_criterion(c: &mut Criterion, fx: &mut Fixtures) {
    for (group, warm_up, measure) in [
        (GROUP_TXN, Duration::from_secs(2), Duration::from_secs(5)),
        (GROUP_OPEN, Duration::from_secs(1), Duration::from_secs(3)),
    ] {
        let mut g = c.benchmark_group(group);
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(50)
            .warm_up_time(warm_up)
            .measurement_time(measure);
        for bench in Bench::ALL.into_iter().filter(|b| b.id().0 == group) {
            g.bench_function(bench.id().1, |b| {
                b.iter_custom(|iters| (0..iters).map(|_| bench.once(fx)).sum())
            });
        }
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------
// Interleaved pass: one iteration of each benchmark per round, in a rotating order, so that
// background load (other processes, writeback) hits every benchmark alike.

const INTERLEAVED_ROUNDS: usize = 200;

fn run_interleaved(fx: &mut Fixtures) -> Vec<(Bench, f64)> {
    let mut times: Vec<Vec<Duration>> = Bench::ALL
        .iter()
        .map(|_| Vec::with_capacity(INTERLEAVED_ROUNDS))
        .collect();
    for round in 0..INTERLEAVED_ROUNDS {
        for k in 0..Bench::ALL.len() {
            let i = (round + k) % Bench::ALL.len();
            times[i].push(Bench::ALL[i].once(fx));
        }
    }
    Bench::ALL
        .iter()
        .zip(times)
        .map(|(b, mut t)| {
            t.sort();
            (*b, t[t.len() / 2].as_nanos() as f64)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Results of this run

/// The median point estimate (ns) criterion wrote for `group/id` during this run.
fn median_ns(criterion_dir: &Path, group: &str, id: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let modified = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < since {
        return None; // left over from an earlier run (filtered out of this one)
    }
    let json = fs::read_to_string(&path).ok()?;
    let after = &json[json.find("\"median\"")?..];
    let after = &after[after.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let end = after
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(after.len());
    after[..end].parse().ok()
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn fmt_syncs((file, dir): (u64, u64)) -> String {
    format!("{} ({}f+{}d)", file + dir, file, dir)
}

fn add((a, b): (u64, u64), (c, d): (u64, u64)) -> (u64, u64) {
    (a + c, b + d)
}

fn fsyncs_of(bench: Bench, syncs: &EngineSyncs, careful_syncs: u32) -> String {
    match bench {
        Bench::Floor => "1 (1f+0d)".into(),
        Bench::SkillwalCommit => fmt_syncs(syncs.commit),
        Bench::SkillwalCommitDurable => fmt_syncs(add(syncs.commit, syncs.checkpoint)),
        Bench::SkillwalFullDurable => {
            fmt_syncs(add(syncs.staging, add(syncs.commit, syncs.checkpoint)))
        }
        Bench::CarefulPerFile => format!("{careful_syncs}"),
        Bench::TarballSnapshot => "0".into(),
        Bench::OpenClean10 | Bench::OpenClean1000 => fmt_syncs(syncs.open_clean),
        Bench::RecoveryRollForward => fmt_syncs(syncs.recovery),
    }
}

/// `value` and its ratio to `floor`, or dashes.
fn cells(value: Option<f64>, floor: Option<f64>) -> (String, String) {
    match (value, floor) {
        (Some(v), Some(f)) => (fmt_time(v), format!("{:.2}", v / f)),
        (Some(v), None) => (fmt_time(v), "-".into()),
        _ => ("-".into(), "-".into()),
    }
}

fn print_table(
    criterion_dir: &Path,
    since: SystemTime,
    interleaved: Option<&[(Bench, f64)]>,
    syncs: &EngineSyncs,
    careful_syncs: u32,
    mem: Option<&MemoryReport>,
) {
    let crit = |b: Bench| median_ns(criterion_dir, b.id().0, b.id().1, since);
    let inter = |b: Bench| interleaved.and_then(|v| v.iter().find(|(x, _)| *x == b).map(|x| x.1));
    let crit_floor = crit(Bench::Floor);
    let inter_floor = inter(Bench::Floor);
    println!();
    println!(
        "== skillwal one-artifact transaction ({TOTAL_BYTES} bytes of content), this run; \
         medians, ratio = median / floor median =="
    );
    println!(
        "{:<42} {:>11} {:>8} | {:>11} {:>8} | fsyncs",
        "benchmark", "criterion", "÷ floor", "interleaved", "÷ floor"
    );
    for b in Bench::ALL {
        let (cm, cr) = cells(crit(b), crit_floor);
        let (im, ir) = cells(inter(b), inter_floor);
        println!(
            "{:<42} {:>11} {:>8} | {:>11} {:>8} | {}",
            format!("{}/{}", b.id().0, b.id().1),
            cm,
            cr,
            im,
            ir,
            fsyncs_of(b, syncs, careful_syncs)
        );
    }
    for (name, get) in [
        ("criterion", &crit as &dyn Fn(Bench) -> Option<f64>),
        ("interleaved", &inter),
    ] {
        if let (Some(s), Some(l)) = (get(Bench::OpenClean10), get(Bench::OpenClean1000)) {
            println!("open_clean 1000 skills ÷ 10 skills ({name}): {:.2}", l / s);
        }
    }
    println!(
        "criterion: Flat sampling, 50 samples; interleaved: {INTERLEAVED_ROUNDS} rounds of one \
         iteration each, rotating order. fsyncs: f = file fsync/fdatasync, d = directory fsync; \
         skillwal staging (untimed in skillwal_commit*) did {}",
        fmt_syncs(syncs.staging)
    );
    match mem {
        Some(m) => println!(
            "memory: staged {} MiB via put_file: VmHWM {} -> {} KiB after staging, {} KiB after \
             commit_durable (peak reset: {}); staging {:.2} s, commit_durable {:.2} s",
            BIG_FILE_BYTES >> 20,
            m.hwm_before_kib,
            m.hwm_after_stage_kib,
            m.hwm_after_commit_kib,
            if m.peak_reset {
                "yes"
            } else {
                "no, peak since process start"
            },
            m.stage_time.as_secs_f64(),
            m.commit_durable_time.as_secs_f64()
        ),
        None => println!("memory: not run (filtered out or not in --bench mode)"),
    }
}

// ---------------------------------------------------------------------------------------

/// Positional arguments (criterion's filters), skipping the values of options that take one.
fn filters() -> Vec<String> {
    const TAKES_VALUE: &[&str] = &[
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--color",
        "-c",
        "--plotting-backend",
        "--output-format",
        "--format",
    ];
    let mut out = Vec::new();
    let mut skip = false;
    for a in std::env::args().skip(1) {
        if skip {
            skip = false;
        } else if TAKES_VALUE.contains(&a.as_str()) {
            skip = true;
        } else if !a.starts_with('-') {
            out.push(a);
        }
    }
    out
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn main() {
    let since = SystemTime::now();
    // `cargo bench` passes --bench; `--test` (or `cargo test --benches`) runs each once.
    let bench_mode = std::env::args().any(|a| a == "--bench")
        && !std::env::args().any(|a| a == "--test" || a == "--list");
    let filters = filters();
    let selected =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let target = target_dir();
    fs::create_dir_all(&target).expect("target dir");
    let target = target.canonicalize().expect("target dir");
    let tmp = tempfile::Builder::new()
        .prefix("skillwal-bench-")
        .tempdir_in(&target)
        .expect("temp dir under target/");
    let base = tmp.path().to_path_buf();
    let statfs = rustix::fs::statfs(&base).expect("statfs");
    let fs_type = statfs.f_type as u64;
    let fs_name = match fs_type {
        0xEF53 => "ext2/3/4",
        0x0102_1994 => "tmpfs (fsync is free here: numbers are meaningless)",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x794C_7630 => "overlayfs",
        _ => "other",
    };
    println!(
        "bench dir: {} (fs type 0x{fs_type:X}: {fs_name})",
        base.display()
    );

    let mem = if bench_mode && selected("memory") {
        let m = memory_check(&base);
        println!(
            "memory check: put_file of {} MiB from a generating reader: VmHWM before {} KiB, after \
             staging {} KiB, after commit_durable {} KiB (peak reset: {})",
            BIG_FILE_BYTES >> 20,
            m.hwm_before_kib,
            m.hwm_after_stage_kib,
            m.hwm_after_commit_kib,
            m.peak_reset
        );
        Some(m)
    } else {
        None
    };

    let count_root = make_engine_root(&base.join("count"), SKILLS_IN_COLLECTION);
    let syncs = count_engine_syncs(&count_root);
    let careful_root = base.join("careful-count");
    make_collection(&careful_root, SKILLS_IN_COLLECTION).expect("collection");
    let careful_syncs = careful_update(&careful_root, &update(next_version())).expect("careful");
    println!(
        "fsyncs (file+dir): skillwal staging {:?}, commit {:?}, checkpoint {:?}, clean open {:?}, \
         recovery open {:?}; careful_per_file {careful_syncs}",
        syncs.staging, syncs.commit, syncs.checkpoint, syncs.open_clean, syncs.recovery
    );

    let criterion_dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("criterion"));
    let mut c = Criterion::default()
        .output_directory(&criterion_dir)
        .without_plots()
        .configure_from_args();
    let mut fx = Fixtures::new(&base.join("criterion"));
    run_criterion(&mut c, &mut fx);
    c.final_summary();
    let interleaved = if bench_mode && selected("interleaved") {
        println!("interleaved pass: {INTERLEAVED_ROUNDS} rounds ...");
        Some(run_interleaved(&mut fx))
    } else {
        None
    };
    fx.engine.close().expect("close");

    if bench_mode {
        print_table(
            &criterion_dir,
            since,
            interleaved.as_deref(),
            &syncs,
            careful_syncs,
            mem.as_ref(),
        );
    }
}
