//! One SkillMeat `update` — the 3 files of one skill replaced, `collection.toml` and
//! `collection.lock` rewritten — against the physical floor and the peers, at N = 10, 100,
//! 1,000 and 10,000 skills, all in one run; plus open, recovery, CLI and a 1 GiB artifact.
//! benches/README.md says what each contender times; the table at the end (also printed by
//! `cargo bench -p skillwal-benches --bench summary`) is the result. The `skillwal_bin` and
//! `cli` rows run `target/release/skillwal`: `cargo build --release` first (benches/README.md).
//!
//! Everything runs under the cargo target directory (not /tmp, which may be a tmpfs where
//! fsync costs nothing). Each collection is built once per N and reused by every iteration;
//! every iteration writes a new version of the same files.

mod common;

use common::{CONTENDERS, RECOVERY_FILES, SIZES, group_of};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, measurement::WallTime};
use skillwal::fs::FileSystem;
use skillwal::fs::fault::{FaultFs, FaultPlan};
use skillwal::fs::real::RealFs;
use skillwal::{Engine, OpenOptions, RecoveryOutcome};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const FILE_BYTES: usize = 4096;
const SKILL_FILES: [(&str, u32); 3] = [
    ("SKILL.md", 0o644),
    ("reference.md", 0o644),
    ("run.sh", 0o755),
];
/// The skill every update replaces.
const SKILL0: &str = "skill-00000";
const INTERLEAVED_ROUNDS: usize = 25;
const BIG_BYTES: u64 = 1 << 30;
const BIG_RUNS: usize = 3;

// ---------------------------------------------------------------------------------------
// Content

fn skill_name(i: usize) -> String {
    format!("skill-{i:05}")
}

/// 4 KiB of text for `name` at `version`; SKILL.md starts with front matter.
fn file_text(name: &str, version: u64) -> Vec<u8> {
    const FILLER: &[u8] =
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n";
    let mut s = if name == "SKILL.md" {
        format!("---\ndescription: A benchmark skill\n---\n# {name} (version {version})\n")
    } else {
        format!("# {name} (version {version})\n")
    }
    .into_bytes();
    while s.len() < FILE_BYTES {
        let k = (FILE_BYTES - s.len()).min(FILLER.len());
        s.extend_from_slice(&FILLER[..k]);
    }
    s
}

const T0: &str = "2026-01-01T00:00:00.000000";

/// `collection.toml` and `collection.lock` of N skills, with the places an update of
/// skill 0 rewrites (its `last_updated`, the collection's `updated`, its lock hash) at
/// known offsets, so each version is a patch of fixed width.
struct Docs {
    manifest: Vec<u8>,
    lock: Vec<u8>,
    /// Offsets of 6-digit fields in `manifest`.
    manifest_patches: Vec<usize>,
    /// Offset of skill 0's 64-hex content hash in `lock`.
    lock_patch: usize,
}

impl Docs {
    fn new(n: usize, source: &Path, content_hash: &str) -> Docs {
        let mut m = format!(
            "[collection]\nname = \"bench\"\nversion = \"1.0.0\"\ncreated = \"{T0}\"\nupdated = \"{T0}\"\n"
        );
        let mut patches = vec![m.len() - 8];
        for i in 0..n {
            let name = skill_name(i);
            m.push_str(&format!(
                "\n[[artifacts]]\nname = \"{name}\"\ntype = \"skill\"\npath = \"skills/{name}\"\n\
                 origin = \"local\"\nadded = \"{T0}\"\n"
            ));
            if i == 0 {
                m.push_str(&format!("last_updated = \"{T0}\"\n"));
                patches.push(m.len() - 8);
                m.push_str(&format!("skillwal_source = \"{}\"\n", source.display()));
            }
            m.push_str("\n[artifacts.metadata]\ndescription = \"A benchmark skill\"\n");
        }
        let mut l = String::from("[lock]\nversion = \"1.0.0\"\n\n[lock.entries]\n");
        let mut lock_patch = 0;
        for i in 0..n {
            l.push_str(&format!(
                "\n[lock.entries.\"{}::skill\"]\ncontent_hash = \"",
                skill_name(i)
            ));
            if i == 0 {
                lock_patch = l.len();
            }
            l.push_str(&format!("{content_hash}\"\nfetched = \"{T0}\"\n"));
        }
        Docs {
            manifest: m.into_bytes(),
            lock: l.into_bytes(),
            manifest_patches: patches,
            lock_patch,
        }
    }

    /// The documents after an update to `version`.
    fn version(&self, version: u64) -> (Vec<u8>, Vec<u8>) {
        let mut m = self.manifest.clone();
        let digits = format!("{:06}", version % 1_000_000);
        for &p in &self.manifest_patches {
            m[p..p + 6].copy_from_slice(digits.as_bytes());
        }
        let mut l = self.lock.clone();
        let hash = format!("{version:064x}");
        l[self.lock_patch..self.lock_patch + 64].copy_from_slice(hash.as_bytes());
        (m, l)
    }
}

/// The new bytes of one update: (path relative to the collection, bytes, mode).
struct Update {
    files: Vec<(String, Vec<u8>, u32)>,
}

impl Update {
    fn new(docs: &Docs, version: u64) -> Update {
        let mut files: Vec<(String, Vec<u8>, u32)> = SKILL_FILES
            .iter()
            .map(|&(f, mode)| (format!("skills/{SKILL0}/{f}"), file_text(f, version), mode))
            .collect();
        let (m, l) = docs.version(version);
        files.push(("collection.toml".into(), m, 0o644));
        files.push(("collection.lock".into(), l, 0o644));
        Update { files }
    }

    fn bytes(&self) -> usize {
        self.files.iter().map(|f| f.1.len()).sum()
    }
}

fn next_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
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
    f.write_all(bytes)?;
    // `mode` is masked by the umask on create; set it exactly (run.sh must be executable).
    f.set_permissions(fs::Permissions::from_mode(mode))
}

fn write_skill(dir: &Path, version: u64) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (f, mode) in SKILL_FILES {
        write_file(&dir.join(f), &file_text(f, version), mode)?;
    }
    Ok(())
}

/// The base collection of `n` skills at `root` (all skills with the same content, so one
/// content hash serves every lock entry).
fn make_base(root: &Path, n: usize, docs: &Docs) -> io::Result<()> {
    for i in 0..n {
        write_skill(&root.join("skills").join(skill_name(i)), 0)?;
    }
    for d in ["commands", "agents", "workflows"] {
        fs::create_dir_all(root.join(d))?;
    }
    write_file(&root.join("collection.toml"), &docs.manifest, 0o644)?;
    write_file(&root.join("collection.lock"), &docs.lock, 0o644)
}

/// A copy of `base` at `dst` that shares the inodes of the files no update writes (hard
/// links: cheap at N = 10,000) and has its own copies of those an update writes.
fn clone_collection(base: &Path, dst: &Path) -> io::Result<()> {
    fn walk(src: &Path, dst: &Path, private: bool) -> io::Result<()> {
        fs::create_dir(dst)?;
        for e in fs::read_dir(src)? {
            let e = e?;
            let (s, d) = (e.path(), dst.join(e.file_name()));
            if e.file_type()?.is_dir() {
                walk(&s, &d, private || e.file_name() == SKILL0)?;
            } else if private {
                fs::copy(&s, &d)?;
            } else {
                fs::hard_link(&s, &d)?;
            }
        }
        Ok(())
    }
    // The documents, directly in the root, are always copied.
    fs::create_dir(dst)?;
    for e in fs::read_dir(base)? {
        let e = e?;
        let (s, d) = (e.path(), dst.join(e.file_name()));
        if e.file_type()?.is_dir() {
            walk(&s, &d, false)?;
        } else {
            fs::copy(&s, &d)?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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

/// Flushes what the setup wrote, so its writeback does not land in a sample.
fn settle() {
    rustix::fs::sync();
}

// ---------------------------------------------------------------------------------------
// The contenders

/// Per file: temp file, fsync, rename over, fsync of the directory. Safe per file, not
/// atomic as a set.
fn naive(root: &Path, u: &Update) -> io::Result<()> {
    for (rel, bytes, mode) in &u.files {
        let target = root.join(rel);
        let dir = target.parent().expect("a parent");
        let tmp = dir.join(format!(
            ".{}.tmp",
            target.file_name().expect("a name").to_string_lossy()
        ));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(*mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &target)?;
        sync_dir(dir)?;
    }
    Ok(())
}

fn fstx_update(root: &Path, u: &Update) -> fstx::Result<()> {
    let mut tx = fstx::Transaction::begin(root)?;
    for (rel, bytes, mode) in &u.files {
        tx.write_with_mode(rel, bytes, *mode)?;
    }
    tx.commit()
}

fn fs_transaction_update(root: &Path, u: &Update) -> fs_transaction::Result<()> {
    let mut cs = fs_transaction::ChangeSet::new();
    for (rel, bytes, _) in &u.files {
        cs.write(rel.as_str(), bytes.clone());
    }
    fs_transaction::exec::block_on(cs.apply(&fs_transaction::StdFs, root))
}

fn sqlite_open(path: &Path, base: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let mut conn = rusqlite::Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    assert_eq!(mode.to_lowercase(), "wal");
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute(
        "CREATE TABLE files (path TEXT PRIMARY KEY, mode INTEGER NOT NULL, content BLOB NOT NULL)",
        [],
    )?;
    let tx = conn.transaction()?;
    {
        let mut ins = tx.prepare("INSERT INTO files (path, mode, content) VALUES (?1, ?2, ?3)")?;
        let mut stack = vec![base.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("read base") {
                let e = e.expect("entry");
                if e.file_type().expect("type").is_dir() {
                    stack.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(base).expect("inside").to_owned();
                    let mode = e.metadata().expect("meta").permissions().mode();
                    let bytes = fs::read(e.path()).expect("read");
                    ins.execute(rusqlite::params![rel.to_string_lossy(), mode, bytes])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(conn)
}

fn sqlite_update(conn: &mut rusqlite::Connection, u: &Update) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut up = tx.prepare_cached(
            "INSERT OR REPLACE INTO files (path, mode, content) VALUES (?1, ?2, ?3)",
        )?;
        for (rel, bytes, mode) in &u.files {
            up.execute(rusqlite::params![rel, mode, bytes])?;
        }
    }
    tx.commit()
}

/// SkillMeat's approach: a gzip tarball of the whole collection (Python's tarfile "w:gz"
/// compresses at level 9; GNU tar + gzip here), then the naive writes.
fn tarball_update(root: &Path, snapshot: &Path, u: &Update) -> io::Result<()> {
    let status = Command::new("tar")
        .arg("-cf")
        .arg(snapshot)
        .arg("-I")
        .arg("gzip -9")
        .arg("-C")
        .arg(root.parent().expect("a parent"))
        .arg(root.file_name().expect("a name"))
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("tar failed: {status}")));
    }
    naive(root, u)
}

fn skillwal_stage(t: &mut skillwal::Transaction<'_>, u: &Update) -> skillwal::Result<()> {
    let mut tree = t.put_tree(&format!("skills/{SKILL0}"), 0o755)?;
    for (rel, bytes, mode) in &u.files[..3] {
        tree.bytes(rel.rsplit('/').next().expect("a name"), bytes, *mode)?;
    }
    tree.finish()?;
    for (rel, bytes, mode) in &u.files[3..] {
        t.put_bytes(rel, bytes, *mode)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// One collection size: every contender's files, built once

struct Sized {
    n: usize,
    docs: Docs,
    floor: File,
    naive: PathBuf,
    fstx: PathBuf,
    fs_transaction: PathBuf,
    sqlite: rusqlite::Connection,
    tarball: PathBuf,
    snapshot: PathBuf,
    engine: Engine,
    /// `skillwal_loop`'s own engine: its checkpoints are paid by its own next `begin`,
    /// never by another contender's.
    loop_engine: Engine,
    bin_root: PathBuf,
    bin_source: PathBuf,
    home: PathBuf,
    count_root: PathBuf,
}

fn content_hash_of_base_skill(dir: &Path) -> String {
    skillwal::skillmeat::content_hash_dir(dir).expect("hash")
}

impl Sized {
    fn new(dir: &Path, n: usize) -> Sized {
        let t = Instant::now();
        fs::create_dir_all(dir).expect("dir");
        let bin_source = dir.join("source").join(SKILL0);
        write_skill(&bin_source, 0).expect("source");
        let hash = content_hash_of_base_skill(&bin_source);
        let docs = Docs::new(n, &bin_source, &hash);
        let base = dir.join("base");
        make_base(&base, n, &docs).expect("base");
        let clone = |name: &str| {
            let p = dir.join(name);
            clone_collection(&base, &p).expect("clone");
            p
        };
        let u0 = Update::new(&docs, 0);
        let floor = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.join("floor.bin"))
            .expect("floor file");
        floor
            .write_all_at(&vec![0u8; u0.bytes()], 0)
            .expect("preallocate");
        floor.sync_all().expect("sync");
        let naive = clone("naive");
        let fstx = clone("fstx");
        let fs_transaction = clone("fs_transaction");
        let sqlite = sqlite_open(&dir.join("sqlite.db"), &base).expect("sqlite");
        fs::create_dir(dir.join("tarball")).expect("dir");
        let tarball = dir.join("tarball").join("collection");
        clone_collection(&base, &tarball).expect("clone");
        let snapshot = dir.join("tarball").join("snapshot.tar.gz");
        let lib = clone("skillwal");
        let engine = Engine::open(fs_real(), &lib, &opts()).expect("open");
        let loop_engine = Engine::open(fs_real(), &clone("skillwal_loop"), &opts()).expect("open");
        let bin_root = clone("skillwal_bin");
        let home = dir.join("home");
        fs::create_dir(&home).expect("home");
        let count_root = clone("count");
        settle();
        eprintln!(
            "N={n}: collections built in {:.1} s (manifest {} B, lock {} B)",
            t.elapsed().as_secs_f64(),
            docs.manifest.len(),
            docs.lock.len()
        );
        Sized {
            n,
            docs,
            floor,
            naive,
            fstx,
            fs_transaction,
            sqlite,
            tarball,
            snapshot,
            engine,
            loop_engine,
            bin_root,
            bin_source,
            home,
            count_root,
        }
    }

    fn skillwal_bin(&self) -> Command {
        let mut c = Command::new(common::skillwal_bin());
        c.env("SKILLWAL_HOME", &self.home)
            .arg("--collection-dir")
            .arg(&self.bin_root)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        c
    }

    /// One iteration of contender `id`; returns the time of its timed part.
    fn once(&mut self, id: &str) -> Duration {
        let version = next_version();
        let u = Update::new(&self.docs, version);
        match id {
            "floor" => {
                let buf: Vec<u8> = u.files.iter().flat_map(|f| f.1.iter().copied()).collect();
                let start = Instant::now();
                self.floor.write_all_at(&buf, 0).expect("write");
                self.floor.sync_data().expect("fdatasync");
                start.elapsed()
            }
            "naive" => {
                let start = Instant::now();
                naive(&self.naive, &u).expect("naive");
                start.elapsed()
            }
            "fstx" => {
                let start = Instant::now();
                fstx_update(&self.fstx, &u).expect("fstx");
                start.elapsed()
            }
            "fs_transaction" => {
                let start = Instant::now();
                fs_transaction_update(&self.fs_transaction, &u).expect("fs-transaction");
                start.elapsed()
            }
            "sqlite" => {
                let start = Instant::now();
                sqlite_update(&mut self.sqlite, &u).expect("sqlite");
                start.elapsed()
            }
            "tarball" => {
                let start = Instant::now();
                tarball_update(&self.tarball, &self.snapshot, &u).expect("tarball");
                let d = start.elapsed();
                fs::remove_file(&self.snapshot).expect("remove snapshot");
                d
            }
            "skillwal_commit" => {
                let mut t = self.engine.begin("update").expect("begin");
                skillwal_stage(&mut t, &u).expect("stage");
                let start = Instant::now();
                black_box(t.commit().expect("commit"));
                let d = start.elapsed();
                self.engine.checkpoint().expect("checkpoint");
                d
            }
            "skillwal_txn" => {
                let start = Instant::now();
                let mut t = self.engine.begin("update").expect("begin");
                skillwal_stage(&mut t, &u).expect("stage");
                black_box(t.commit().expect("commit"));
                let d = start.elapsed();
                self.engine.checkpoint().expect("checkpoint");
                d
            }
            "skillwal_loop" => {
                // What a program running one update after another pays per update: `begin`
                // joins the run of committed transactions, or first runs its checkpoint
                // (wal-spec.md §6.6: the files of every transaction of the run, the
                // directories, the header) when the run is full; then staging, then
                // `commit()`. The checkpoint lands on one update in a run's length, so only
                // a mean over whole runs is its cost: the loop pass (`loop_pass`) times
                // that, its last checkpoint included.
                let start = Instant::now();
                let mut t = self.loop_engine.begin("update").expect("begin");
                skillwal_stage(&mut t, &u).expect("stage");
                black_box(t.commit().expect("commit"));
                start.elapsed()
            }
            "skillwal_durable" => {
                let start = Instant::now();
                let mut t = self.engine.begin("update").expect("begin");
                skillwal_stage(&mut t, &u).expect("stage");
                black_box(t.commit_durable().expect("commit_durable"));
                start.elapsed()
            }
            "skillwal_bin" => {
                // The new upstream version, written plainly (not timed).
                for (f, mode) in SKILL_FILES {
                    write_file(&self.bin_source.join(f), &file_text(f, version), mode)
                        .expect("source");
                }
                let mut c = self.skillwal_bin();
                c.args(["update", SKILL0, "--strategy", "upstream"]);
                let start = Instant::now();
                let status = c.status().expect("spawn skillwal");
                let d = start.elapsed();
                assert!(status.success(), "skillwal update failed: {status}");
                d
            }
            other => panic!("unknown contender {other}"),
        }
    }

    /// fsyncs (file, directory) of skillwal's commit and of commit + checkpoint, counted
    /// through the engine's FaultFs (an empty plan injects nothing).
    fn count_syncs(&self) -> serde_json::Value {
        let counting = FaultFs::new(Arc::new(RealFs), FaultPlan::new(None, None));
        let counts = counting.plan();
        let fs: Arc<dyn FileSystem> = Arc::new(counting);
        let mut engine = Engine::open(fs, &self.count_root, &opts()).expect("open");
        // A first update, not counted: the root's first `begin` creates the journal (its
        // own syncs), which no later update pays.
        let mut t = engine.begin("first").expect("begin");
        skillwal_stage(&mut t, &Update::new(&self.docs, next_version())).expect("stage");
        t.commit().expect("commit");
        engine.checkpoint().expect("checkpoint");
        let u = Update::new(&self.docs, next_version());
        counts.take_syncs();
        let mut t = engine.begin("count").expect("begin");
        skillwal_stage(&mut t, &u).expect("stage");
        let staging = counts.take_syncs();
        t.commit().expect("commit");
        let commit = counts.take_syncs();
        engine.checkpoint().expect("checkpoint");
        let checkpoint = counts.take_syncs();
        // A loop of updates as `skillwal_loop` runs them, its last checkpoint included.
        for _ in 0..LOOP_BLOCK {
            let u = Update::new(&self.docs, next_version());
            let mut t = engine.begin("loop").expect("begin");
            skillwal_stage(&mut t, &u).expect("stage");
            t.commit().expect("commit");
        }
        engine.checkpoint().expect("checkpoint");
        let in_loop = counts.take_syncs();
        engine.close().expect("close");
        serde_json::json!({
            "staging": [staging.0, staging.1],
            "commit": [commit.0, commit.1],
            "txn": [staging.0 + commit.0, staging.1 + commit.1],
            "durable": [staging.0 + commit.0 + checkpoint.0, staging.1 + commit.1 + checkpoint.1],
            "loop_updates": LOOP_BLOCK,
            "loop": [in_loop.0, in_loop.1],
            "manifest_bytes": self.docs.manifest.len(),
            "lock_bytes": self.docs.lock.len(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Criterion

fn configure(g: &mut BenchmarkGroup<'_, WallTime>, slow: bool) {
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(if slow { 10 } else { 20 })
        .warm_up_time(Duration::from_millis(if slow { 100 } else { 500 }))
        .measurement_time(Duration::from_secs(2));
}

fn bench_updates(c: &mut Criterion, s: &mut Sized, selected: &dyn Fn(&str) -> bool) {
    let group = group_of(s.n);
    let mut g = c.benchmark_group(&group);
    for (id, _) in CONTENDERS {
        if !selected(&format!("{group}/{id}")) {
            continue;
        }
        let slow = (id == "tarball" && s.n >= 1_000) || (id == "skillwal_bin" && s.n >= 10_000);
        configure(&mut g, slow);
        g.bench_function(id, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| s.once(id)).sum())
        });
    }
    g.finish();
}

/// Engine::open on a clean journal, per N (the count root, whose engine is closed).
fn bench_open(g: &mut BenchmarkGroup<'_, WallTime>, s: &Sized) {
    configure(g, false);
    g.bench_function(format!("clean_N{}", s.n), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let start = Instant::now();
                    let e = Engine::open(fs_real(), &s.count_root, &opts()).expect("open");
                    let d = start.elapsed();
                    assert!(!e.recovery_report().did_something());
                    drop(e);
                    d
                })
                .sum()
        })
    });
}

/// Engine::open that rolls forward one committed transaction of `k` 4-KiB files (its
/// journal holds about k × 4 KiB); the commit, then a drop without checkpoint, untimed.
fn bench_recovery(g: &mut BenchmarkGroup<'_, WallTime>, root: &Path) {
    configure(g, false);
    for k in RECOVERY_FILES {
        g.bench_function(format!("recover_{k}x4KiB"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let v = next_version();
                        let mut e = Engine::open(fs_real(), root, &opts()).expect("open");
                        let mut t = e.begin("recovery bench").expect("begin");
                        for i in 0..k {
                            t.put_bytes(&format!("extra/f-{i:03}"), &file_text("x", v), 0o644)
                                .expect("stage");
                        }
                        t.commit().expect("commit");
                        drop(e);
                        let start = Instant::now();
                        let e = Engine::open(fs_real(), root, &opts()).expect("recover");
                        let d = start.elapsed();
                        assert!(matches!(
                            e.recovery_report().outcome,
                            RecoveryOutcome::RolledForward { .. }
                        ));
                        drop(e);
                        d
                    })
                    .sum()
            })
        });
    }
}

fn bench_cli(c: &mut Criterion, s: &Sized, selected: &dyn Fn(&str) -> bool) {
    let mut g = c.benchmark_group("cli");
    for (id, args) in [
        ("startup", vec!["--version"]),
        ("list_N10000", vec!["list"]),
        ("status_N10000", vec!["status"]),
    ] {
        if !selected(&format!("cli/{id}")) || (id != "startup" && s.n != 10_000) {
            continue;
        }
        configure(&mut g, id == "status_N10000");
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let mut c = s.skillwal_bin();
                        c.args(&args);
                        let start = Instant::now();
                        let st = c.status().expect("spawn");
                        let d = start.elapsed();
                        assert!(st.success(), "skillwal {args:?}: {st}");
                        d
                    })
                    .sum()
            })
        });
    }
    g.finish();
}

/// Updates per contender per block of the loop pass.
const LOOP_BLOCK: usize = 64;

/// The loop pass: `blocks` blocks of [`LOOP_BLOCK`] back-to-back updates of each of the
/// floor, SQLite and `skillwal_loop`, the blocks in a rotating order, every update's timed
/// part summed — then each contender's deferred work, timed too: skillwal's last checkpoint
/// (the run in progress), SQLite's checkpoint of its WAL (`PRAGMA wal_checkpoint`). What is
/// reported is the total divided by the updates: the cost per update of a program running
/// them one after another, every checkpoint included wherever it fell, which neither a
/// median of single updates (most of which pay no checkpoint) nor a sample of a few can give.
fn loop_pass(s: &mut Sized, blocks: usize) -> serde_json::Value {
    let ids = ["floor", "sqlite", "skillwal_loop"];
    let mut total = [Duration::ZERO; 3];
    for block in 0..blocks {
        for k in 0..ids.len() {
            let i = (block + k) % ids.len();
            for _ in 0..LOOP_BLOCK {
                total[i] += s.once(ids[i]);
            }
        }
    }
    let start = Instant::now();
    let _: (i64, i64, i64) = s
        .sqlite
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("sqlite checkpoint");
    total[1] += start.elapsed();
    let start = Instant::now();
    s.loop_engine.checkpoint().expect("checkpoint");
    total[2] += start.elapsed();
    let updates = (blocks * LOOP_BLOCK) as f64;
    let per_update: BTreeMap<String, f64> = ids
        .iter()
        .zip(total)
        .map(|(id, t)| (id.to_string(), t.as_nanos() as f64 / updates))
        .collect();
    serde_json::json!({"updates": blocks * LOOP_BLOCK, "per_update_ns": per_update})
}

/// One iteration of each contender per round, in a rotating order, so background load hits
/// every one alike: a check on criterion's ratios, whose benchmarks run one after another.
fn interleaved(s: &mut Sized, rounds: usize) -> serde_json::Value {
    let ids: Vec<&str> = CONTENDERS
        .iter()
        .map(|c| c.0)
        .filter(|id| *id != "tarball")
        .collect();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); ids.len()];
    for round in 0..rounds {
        for k in 0..ids.len() {
            let i = (round + k) % ids.len();
            times[i].push(s.once(ids[i]));
        }
    }
    let medians: BTreeMap<String, f64> = ids
        .iter()
        .zip(times)
        .map(|(id, mut t)| {
            t.sort();
            (id.to_string(), t[t.len() / 2].as_nanos() as f64)
        })
        .collect();
    serde_json::json!({"rounds": rounds, "medians_ns": medians})
}

// ---------------------------------------------------------------------------------------
// The 1 GiB artifact, in child processes under /usr/bin/time -v

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

/// The child's work; prints the seconds of its timed part.
fn big_child(kind: &str, dir: &Path, seed: u64) {
    let mut reader = GenReader {
        left: BIG_BYTES,
        state: seed,
    };
    let secs = match kind {
        // The same number of new bytes, generated the same way, written sequentially over
        // a preallocated file, one fdatasync.
        "floor" => {
            let f = fs::OpenOptions::new()
                .write(true)
                .open(dir.join("floor.bin"))
                .expect("floor file");
            let mut buf = vec![0u8; 1 << 16];
            let start = Instant::now();
            let mut at = 0;
            loop {
                let n = reader.read(&mut buf).expect("gen");
                if n == 0 {
                    break;
                }
                f.write_all_at(&buf[..n], at).expect("write");
                at += n as u64;
            }
            f.sync_data().expect("fdatasync");
            start.elapsed()
        }
        // An update of the 1 GiB artifact: the old one is there; put_file streams the new
        // one (and hashes the old one for its before-state), commit_durable.
        "skillwal" => {
            let start = Instant::now();
            let mut e = Engine::open(fs_real(), dir, &opts()).expect("open");
            let mut t = e.begin("big").expect("begin");
            t.put_file("commands/big.md", &mut reader, 0o644)
                .expect("put_file");
            t.commit_durable().expect("commit");
            let d = start.elapsed();
            e.close().expect("close");
            d
        }
        // What the update spends on the old file alone: hashing it for its before-state.
        "hash" => {
            let start = Instant::now();
            let (size, _) =
                skillwal::engine::tree_hash::hash_file(&RealFs, &dir.join("commands/big.md"))
                    .expect("hash");
            assert_eq!(size, BIG_BYTES);
            start.elapsed()
        }
        other => panic!("unknown child {other}"),
    };
    println!("{}", secs.as_secs_f64());
}

fn big_run(dir: &Path, kind: &str, seed: u64) -> (f64, u64) {
    let exe = std::env::current_exe().expect("exe");
    let has_time = Path::new("/usr/bin/time").exists();
    let mut c = if has_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = c
        .env("SKILLWAL_BENCH_CHILD", kind)
        .env("SKILLWAL_BENCH_CHILD_DIR", dir)
        .env("SKILLWAL_BENCH_CHILD_SEED", seed.to_string())
        .output()
        .expect("spawn child");
    assert!(out.status.success(), "child {kind}: {out:?}");
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("child prints seconds");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (secs, rss)
}

fn big_check(base: &Path) -> serde_json::Value {
    let dir = base.join("big");
    fs::create_dir_all(dir.join("commands")).expect("dir");
    // The floor's file and the artifact's old version, written once (not timed).
    let mut buf = vec![0u8; 1 << 20];
    for p in [dir.join("floor.bin"), dir.join("commands/big.md")] {
        let mut f = File::create(&p).expect("create");
        let mut r = GenReader {
            left: BIG_BYTES,
            state: 7,
        };
        loop {
            let n = r.read(&mut buf).expect("gen");
            if n == 0 {
                break;
            }
            f.write_all(&buf[..n]).expect("write");
        }
        f.sync_all().expect("sync");
    }
    let (mut floor, mut sw, mut hash) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..BIG_RUNS {
        floor.push(big_run(&dir, "floor", 100 + run as u64));
        sw.push(big_run(&dir, "skillwal", 200 + run as u64));
        hash.push(big_run(&dir, "hash", 0));
    }
    let med = |v: &mut Vec<(f64, u64)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2].0
    };
    let max_rss = |v: &[(f64, u64)]| v.iter().map(|x| x.1).max().unwrap_or(0);
    let out = serde_json::json!({
        "runs": BIG_RUNS,
        "floor_s": med(&mut floor),
        "skillwal_s": med(&mut sw),
        "hash_old_s": med(&mut hash),
        "floor_rss_kib": max_rss(&floor),
        "skillwal_rss_kib": max_rss(&sw),
        "rss_from": if Path::new("/usr/bin/time").exists() { "/usr/bin/time -v" } else { "unavailable" },
    });
    fs::remove_dir_all(&dir).expect("remove");
    eprintln!("1 GiB: {out}");
    out
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

fn machine(base: &Path) -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let fs_type = rustix::fs::statfs(base).map_or(0, |s| s.f_type as u64);
    let fs_name = match fs_type {
        0xEF53 => "ext4",
        0x0102_1994 => "tmpfs (fsync is free here: the numbers are meaningless)",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x794C_7630 => "overlayfs",
        _ => "other",
    };
    format!("{cores} cores ({cpu}), Linux {kernel}, bench dir on {fs_name} (0x{fs_type:X})")
}

fn main() {
    if let Ok(kind) = std::env::var("SKILLWAL_BENCH_CHILD") {
        let dir = PathBuf::from(std::env::var_os("SKILLWAL_BENCH_CHILD_DIR").expect("dir"));
        let seed = std::env::var("SKILLWAL_BENCH_CHILD_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        big_child(&kind, &dir, seed);
        return;
    }
    let since = SystemTime::now();
    // `cargo bench` passes --bench; `--test` (or `cargo test --benches`) runs each once.
    let bench_mode = std::env::args().any(|a| a == "--bench")
        && !std::env::args().any(|a| a == "--test" || a == "--list");
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let filters = filters();
    // Criterion takes one filter, a regular expression; for the parts outside criterion it
    // is read as alternatives (`a|b`) of substrings.
    let selected = |name: &str| {
        filters.is_empty()
            || filters
                .iter()
                .flat_map(|f| f.split('|'))
                .any(|f| name.contains(f))
    };
    // SKILLWAL_BENCH_SIZES=10,1000 limits the collection sizes (for quick runs).
    let sizes: Vec<usize> = match std::env::var("SKILLWAL_BENCH_SIZES") {
        Ok(s) => s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => SIZES.to_vec(),
    };
    // The binary the `skillwal_bin` and `cli` rows run, checked before minutes of setup.
    let bin = common::skillwal_bin();
    eprintln!("skillwal binary: {}", bin.display());
    let target = common::target_dir();
    fs::create_dir_all(&target).expect("target dir");
    let target = target.canonicalize().expect("target dir");
    let tmp = tempfile::Builder::new()
        .prefix("skillwal-bench-")
        .tempdir_in(&target)
        .expect("temp dir under target/");
    let base = tmp.path().to_path_buf();
    let machine = machine(&base);
    eprintln!("bench dir: {} — {machine}", base.display());

    // What criterion does not keep is saved as soon as it is measured, so that an
    // interrupted run keeps it, and merged with what earlier (filtered) runs saved.
    let save = |key: &str, sub: Option<&str>, value: serde_json::Value| {
        if !bench_mode {
            return;
        }
        let path = common::extras_path();
        let mut merged: serde_json::Value = fs::read_to_string(&path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::json!({}));
        match sub {
            Some(sub) => merged[key][sub] = value,
            None => merged[key] = value,
        }
        fs::create_dir_all(common::criterion_dir()).expect("criterion dir");
        fs::write(&path, serde_json::to_string_pretty(&merged).expect("json"))
            .expect("write extras");
    };
    save("machine", None, serde_json::json!(machine));
    let mut c = Criterion::default()
        .output_directory(&common::criterion_dir())
        .without_plots()
        .configure_from_args();
    let recovery_root = base.join("recovery");
    for &n in &sizes {
        let wanted = selected(&group_of(n))
            || selected("engine_open")
            || (n == 10_000 && selected("cli"))
            || selected("interleaved")
            || selected("loop");
        let wanted = wanted
            || CONTENDERS
                .iter()
                .any(|(id, _)| selected(&format!("{}/{id}", group_of(n))));
        if !wanted {
            continue;
        }
        let mut s = Sized::new(&base.join(format!("N{n}")), n);
        let syncs = s.count_syncs();
        eprintln!("N={n}: syncs {syncs}");
        save("fsyncs", Some(&n.to_string()), syncs);
        bench_updates(&mut c, &mut s, &selected);
        if bench_mode && selected("interleaved") {
            // SKILLWAL_BENCH_ROUNDS overrides the number of rounds (more for a sharper check).
            let rounds = std::env::var("SKILLWAL_BENCH_ROUNDS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(if n >= 10_000 { 11 } else { INTERLEAVED_ROUNDS });
            eprintln!("interleaved pass at N={n}: {rounds} rounds ...");
            save(
                "interleaved",
                Some(&n.to_string()),
                interleaved(&mut s, rounds),
            );
        }
        if bench_mode && selected("loop") {
            // SKILLWAL_BENCH_LOOP_BLOCKS overrides the blocks per contender.
            let blocks = std::env::var("SKILLWAL_BENCH_LOOP_BLOCKS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(if n >= 10_000 { 2 } else { 6 });
            eprintln!("loop pass at N={n}: {blocks} blocks of {LOOP_BLOCK} updates ...");
            let out = loop_pass(&mut s, blocks);
            eprintln!("loop pass at N={n}: {out}");
            save("loop", Some(&n.to_string()), out);
        }
        if selected("engine_open") {
            let mut g = c.benchmark_group("engine_open");
            bench_open(&mut g, &s);
            g.finish();
        }
        if n == 10 && selected("engine_open") {
            clone_collection(&base.join("N10").join("base"), &recovery_root).expect("clone");
            fs::create_dir(recovery_root.join("extra")).expect("extra");
            for i in 0..RECOVERY_FILES[RECOVERY_FILES.len() - 1] {
                write_file(
                    &recovery_root.join(format!("extra/f-{i:03}")),
                    &file_text("x", 0),
                    0o644,
                )
                .expect("extra file");
            }
            Engine::open(fs_real(), &recovery_root, &opts())
                .and_then(|e| e.close())
                .expect("first open");
            let mut g = c.benchmark_group("engine_open");
            bench_recovery(&mut g, &recovery_root);
            g.finish();
        }
        if n == 10_000 || (n == *sizes.last().expect("a size") && selected("cli/startup")) {
            bench_cli(&mut c, &s, &selected);
        }
        // This N's collections are no longer needed: free the disk before the next one.
        let dir = base.join(format!("N{n}"));
        drop(s);
        fs::remove_dir_all(&dir).expect("remove collections");
    }
    if bench_mode && selected("big") {
        save("big", None, big_check(&base));
    }
    c.final_summary();
    if bench_mode {
        common::print_summary(Some(since));
    }
}
