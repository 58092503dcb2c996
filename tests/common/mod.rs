//! The crash-enumeration harness shared by the crash tests: workloads described as data,
//! run on the simulated file system, crashed after every mutating call under every crash
//! model, recovered (and crashed again during recovery), and compared byte for byte with
//! the states before and after.
#![allow(dead_code)]

use skillwal::fs::FileSystem;
use skillwal::fs::sim::{CrashModel, SimFs, SnapNode, SplitMix64};
use skillwal::{Engine, FieldChange, OpenOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The smallest content the engine stages outside the journal (one byte past the inline
/// limit): tests of the staged path use sizes from here up.
pub const LARGE: usize = skillwal::limits::INLINE_CONTENT_MAX as usize + 1;

pub const ROOT: &str = "/c";

/// File content: literal bytes or `len` bytes generated from a seed (large files without
/// large test sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bytes {
    Lit(Vec<u8>),
    Gen { len: usize, seed: u64 },
}

impl Bytes {
    pub fn lit(s: &str) -> Bytes {
        Bytes::Lit(s.as_bytes().to_vec())
    }
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Bytes::Lit(b) => b.clone(),
            Bytes::Gen { len, seed } => {
                let mut rng = SplitMix64::new(*seed);
                (0..*len).map(|_| rng.next_u64() as u8).collect()
            }
        }
    }
}

/// One staged operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WOp {
    Put(String, Bytes),
    /// A tree: entries in order; `None` is a directory.
    Tree(String, Vec<(String, Option<Bytes>)>),
    Delete(String),
    DeleteTree(String),
    Mkdir(String),
    Rmdir(String),
    Diff,
    /// A file with these permission bits.
    PutMode(String, Bytes, u32),
    /// A tree with its own mode and entries of every kind, in order.
    TreeM(String, u32, Vec<(String, Node)>),
    /// A symbolic link and its target.
    Link(String, String),
    /// A directory's permission bits.
    Chmod(String, u32),
}

/// An entry of [`WOp::TreeM`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir(u32),
    File(Bytes, u32),
    Link(String),
}

/// A transaction to crash, and the state it starts from.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    /// Committed and made durable before the crash runs begin.
    pub setup: Vec<Vec<WOp>>,
    pub txn: Vec<WOp>,
}

pub fn opts() -> OpenOptions {
    OpenOptions {
        no_wait: true,
        salt_seed: Some(0x5A17),
    }
}

pub fn stage(t: &mut skillwal::Transaction<'_>, ops: &[WOp]) -> skillwal::Result<()> {
    for op in ops {
        match op {
            WOp::Put(p, b) => t.put_bytes(p, &b.to_vec(), 0o644)?,
            WOp::PutMode(p, b, mode) => t.put_bytes(p, &b.to_vec(), *mode)?,
            WOp::TreeM(p, mode, entries) => {
                let mut tree = t.put_tree(p, *mode)?;
                for (rel, node) in entries {
                    match node {
                        Node::Dir(m) => tree.dir(rel, *m)?,
                        Node::File(b, m) => tree.bytes(rel, &b.to_vec(), *m)?,
                        Node::Link(target) => tree.link(rel, target.as_bytes())?,
                    }
                }
                tree.finish()?;
            }
            WOp::Link(p, target) => t.put_link(p, target.as_bytes())?,
            WOp::Chmod(p, mode) => t.set_dir_mode(p, *mode)?,
            WOp::Tree(p, entries) => {
                let mut tree = t.put_tree(p, 0o755)?;
                for (rel, content) in entries {
                    match content {
                        None => tree.dir(rel, 0o755)?,
                        Some(b) => tree.bytes(rel, &b.to_vec(), 0o644)?,
                    }
                }
                tree.finish()?;
            }
            WOp::Delete(p) => t.delete_file(p)?,
            WOp::DeleteTree(p) => t.delete_tree(p)?,
            WOp::Mkdir(p) => t.create_dir(p, 0o755)?,
            WOp::Rmdir(p) => t.remove_dir(p)?,
            WOp::Diff => {
                let changes = [FieldChange {
                    item: "a::skill".into(),
                    field: "resolved_sha".into(),
                    before: Some("abc".into()),
                    after: Some("def".into()),
                }];
                t.record_diff("collection.toml", &changes)?;
                t.record_diff("collection.lock", &changes)?;
            }
        }
    }
    Ok(())
}

/// What a run of the transaction reported before it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunResult {
    pub commit_ok: bool,
    pub close_ok: bool,
}

/// Opens the root, stages and commits `ops`, and closes (checkpoints).
pub fn run_txn(fs: Arc<dyn FileSystem>, ops: &[WOp]) -> RunResult {
    let mut r = RunResult {
        commit_ok: false,
        close_ok: false,
    };
    let Ok(mut engine) = Engine::open(fs, Path::new(ROOT), &opts()) else {
        return r;
    };
    let committed = match engine.begin("workload") {
        Ok(mut t) => match stage(&mut t, ops) {
            Ok(()) => t.commit().is_ok(),
            Err(_) => false,
        },
        Err(_) => false,
    };
    r.commit_ok = committed;
    r.close_ok = engine.close().is_ok();
    r
}

pub type Snap = BTreeMap<PathBuf, SnapNode>;

pub fn snapshot(fs: &SimFs) -> Snap {
    fs.snapshot(Path::new(ROOT), &[".skillwal"])
        .expect("root exists")
}

pub fn describe(s: &Snap) -> String {
    s.iter()
        .map(|(p, n)| match n {
            SnapNode::File { data, mode } => {
                format!("{} ({} bytes, mode {mode:o})", p.display(), data.len())
            }
            SnapNode::Dir { mode } => format!("{}/ (mode {mode:o})", p.display()),
            SnapNode::Symlink(t) => format!("{} -> {:?}", p.display(), t),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The file system with the workload's setup committed and durable, counters at zero.
pub fn base(w: &Workload) -> SimFs {
    let sim = SimFs::new();
    sim.create_dir(Path::new(ROOT), 0o755).unwrap();
    let fs = Arc::new(sim.fork());
    for ops in &w.setup {
        let r = run_txn(fs.clone(), ops);
        assert!(r.commit_ok && r.close_ok, "setup of {} failed", w.name);
    }
    fs.sync_everything();
    fs.reset_counters();
    fs.fork()
}

/// How many crash states to try.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Seeds per seeded model at the first crash.
    pub seeds: u64,
    /// Also crash during recovery, at every call, under these many seeds per seeded model.
    pub recovery_seeds: u64,
}

impl Budget {
    /// `SKILLWAL_CRASH_SEEDS=N` raises the seeds for a longer run.
    pub fn from_env() -> Budget {
        let seeds = std::env::var("SKILLWAL_CRASH_SEEDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        Budget {
            seeds,
            recovery_seeds: (seeds / 3).max(1),
        }
    }
}

/// (model, seed) pairs for a number of seeds.
pub fn models(seeds: u64) -> Vec<(CrashModel, u64)> {
    let mut v = Vec::new();
    for m in CrashModel::ALL {
        if m.is_seeded() {
            v.extend((0..seeds).map(|s| (m, s)));
        } else {
            v.push((m, 0));
        }
    }
    v
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub crash_points: u64,
    pub states: u64,
    pub recovery_states: u64,
}

/// Opens (recovers) and closes; panics with context if recovery fails; returns the tree.
fn recover(fs: &SimFs, ctx: &str) -> Snap {
    let arc: Arc<dyn FileSystem> = Arc::new(fs.handle());
    let engine = Engine::open(arc, Path::new(ROOT), &opts())
        .unwrap_or_else(|e| panic!("{ctx}: recovery failed: {e}"));
    engine
        .close()
        .unwrap_or_else(|e| panic!("{ctx}: close after recovery failed: {e}"));
    let staging = fs
        .read_dir(Path::new("/c/.skillwal/staging"))
        .unwrap_or_else(|e| panic!("{ctx}: staging: {e}"));
    assert!(
        staging.is_empty(),
        "{ctx}: staging not empty after recovery: {staging:?}"
    );
    assert!(
        !skillwal::needs_recovery(fs, &skillwal::engine::Layout::new(Path::new(ROOT))).unwrap(),
        "{ctx}: journal still live after recovery"
    );
    snapshot(fs)
}

/// Crashes `w` after every mutating call under every model; recovers; checks the oracle.
/// Then crashes every one of those recoveries at every call and checks again.
pub fn check_workload(w: &Workload, budget: Budget) -> Counts {
    let base = base(w);
    let before = snapshot(&base);
    let reference = Arc::new(base.fork());
    let r = run_txn(reference.clone(), &w.txn);
    assert!(
        r.commit_ok && r.close_ok,
        "{}: reference run failed",
        w.name
    );
    let after = snapshot(&reference);
    assert_ne!(before, after, "{}: the workload changes nothing", w.name);
    let total = reference.mutating_calls();
    let mut counts = Counts::default();
    for n in 1..=total {
        let f = Arc::new(base.fork());
        f.set_crash_after(Some(n));
        let r = run_txn(f.clone(), &w.txn);
        assert!(f.crashed(), "{}: no crash at call {n} of {total}", w.name);
        counts.crash_points += 1;
        for (model, seed) in models(budget.seeds) {
            let ctx = format!(
                "{}: crash after call {n}/{total}, {model:?} seed {seed}",
                w.name
            );
            let image = f.crash(model, seed);
            let pristine = image.fork();
            let got = recover(&image, &ctx);
            check_oracle(&got, &before, &after, r.commit_ok, &ctx);
            counts.states += 1;
            counts.recovery_states += check_recovery_crashes(&pristine, &got, budget, &ctx);
        }
    }
    counts
}

fn check_oracle(got: &Snap, before: &Snap, after: &Snap, commit_ok: bool, ctx: &str) {
    if commit_ok {
        assert!(
            got == after,
            "{ctx}: commit returned Ok but the tree is not the after-state:\n got   {}\n after {}",
            describe(got),
            describe(after)
        );
    } else {
        assert!(
            got == before || got == after,
            "{ctx}: the tree is neither before nor after:\n got    {}\n before {}\n after  {}",
            describe(got),
            describe(before),
            describe(after)
        );
    }
}

/// Crashes recovery of `image` after each of its mutating calls; the next recovery must end
/// in `expected` (the result of an uninterrupted recovery).
fn check_recovery_crashes(image: &SimFs, expected: &Snap, budget: Budget, ctx: &str) -> u64 {
    let probe = image.fork();
    let _ = recover(&probe, ctx);
    let calls = probe.mutating_calls();
    let mut states = 0;
    for m in 1..=calls {
        let g = image.fork();
        g.set_crash_after(Some(m));
        let arc: Arc<dyn FileSystem> = Arc::new(g.handle());
        if let Ok(e) = Engine::open(arc, Path::new(ROOT), &opts()) {
            let _ = e.close();
        }
        assert!(g.crashed(), "{ctx}: recovery did not reach call {m}");
        for (model, seed) in models(budget.recovery_seeds) {
            let ctx2 = format!(
                "{ctx}; then recovery crashed after call {m}/{calls}, {model:?} seed {seed}"
            );
            let img2 = g.crash(model, seed);
            let got = recover(&img2, &ctx2);
            assert!(
                &got == expected,
                "{ctx2}: result differs from an uninterrupted recovery:\n got      {}\n expected {}",
                describe(&got),
                describe(expected)
            );
            states += 1;
        }
    }
    states
}

// ---- the workloads every crash and error test runs ----

pub fn skill(version: &str) -> Vec<(String, Option<Bytes>)> {
    vec![
        (
            "SKILL.md".into(),
            Some(Bytes::lit(&format!(
                "---\nname: a\nversion: {version}\n---\n# A\n"
            ))),
        ),
        ("scripts".into(), None),
        (
            "scripts/run.sh".into(),
            Some(Bytes::lit(&format!("#!/bin/sh\necho {version}\n"))),
        ),
        (
            "notes.md".into(),
            Some(Bytes::Gen {
                len: 3000,
                seed: version.len() as u64,
            }),
        ),
    ]
}

/// A skill `skills/m` with explicit modes everywhere and two links inside it: the script has
/// `script_mode`, the `lib` directory `lib_mode`.
pub fn moded_skill(version: &str, script_mode: u32, lib_mode: u32) -> WOp {
    WOp::TreeM(
        "skills/m".into(),
        0o750,
        vec![
            (
                "SKILL.md".into(),
                Node::File(
                    Bytes::lit(&format!("---\nname: m\nversion: {version}\n---\n")),
                    0o644,
                ),
            ),
            ("bin".into(), Node::Dir(0o755)),
            (
                "bin/run.sh".into(),
                Node::File(Bytes::lit("#!/bin/sh\necho m\n"), script_mode),
            ),
            ("lib".into(), Node::Dir(lib_mode)),
            ("lib/ro".into(), Node::Dir(0o555)),
            (
                "lib/ro/data.txt".into(),
                Node::File(Bytes::lit(version), 0o444),
            ),
            ("run".into(), Node::Link("bin/run.sh".into())),
            ("docs".into(), Node::Link("lib".into())),
        ],
    )
}

pub fn initial() -> Vec<Vec<WOp>> {
    vec![vec![
        WOp::Put(
            "collection.toml".into(),
            Bytes::lit("[collection]\nname = \"c\"\n"),
        ),
        WOp::Put(
            "collection.lock".into(),
            Bytes::lit("[lock]\nversion = \"1.0.0\"\n"),
        ),
        WOp::Mkdir("skills".into()),
        WOp::Mkdir("commands".into()),
        WOp::Tree("skills/a".into(), skill("1")),
        WOp::Put("commands/c.md".into(), Bytes::lit("# command c\n")),
    ]]
}

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "first-use".into(),
            setup: vec![],
            txn: vec![
                WOp::Mkdir("skills".into()),
                WOp::Put(
                    "collection.toml".into(),
                    Bytes::lit("[collection]\nname = \"c\"\n"),
                ),
                WOp::Tree("skills/a".into(), skill("1")),
            ],
        },
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
            txn: vec![WOp::Put(
                "commands/c.md".into(),
                Bytes::lit("# command c, version 2\n"),
            )],
        },
        Workload {
            name: "delete".into(),
            setup: initial(),
            txn: vec![
                WOp::DeleteTree("skills/a".into()),
                WOp::Delete("commands/c.md".into()),
            ],
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
                WOp::Put(
                    "commands/big.md".into(),
                    Bytes::Gen {
                        len: LARGE + 40_000,
                        seed: 7,
                    },
                ),
                WOp::Tree(
                    "skills/a".into(),
                    vec![
                        ("SKILL.md".into(), Some(Bytes::lit("# A with data\n"))),
                        ("data".into(), None),
                        (
                            "data/blob.bin".into(),
                            Some(Bytes::Gen {
                                len: LARGE + 1,
                                seed: 8,
                            }),
                        ),
                    ],
                ),
            ],
        },
        Workload {
            // Past the inline limit on both sides: the old file is hashed on a second
            // thread while the new one is staged (engine/txn/stage.rs, PARALLEL_BEFORE_HASH_MIN).
            name: "large-over-large".into(),
            setup: vec![vec![WOp::Put(
                "big.bin".into(),
                Bytes::Gen {
                    len: LARGE,
                    seed: 1,
                },
            )]],
            txn: vec![WOp::Put(
                "big.bin".into(),
                Bytes::Gen {
                    len: LARGE + 3,
                    seed: 2,
                },
            )],
        },
        Workload {
            // Inline content past the preallocated journal: the records extend the file,
            // and retiring them cuts it back (wal-spec.md §6.4 step 5); a crash on either
            // side of the cut, or between, must not change the decision.
            name: "journal-grows".into(),
            setup: initial(),
            txn: vec![
                WOp::Put(
                    "commands/inline.md".into(),
                    Bytes::Gen {
                        len: 2 * skillwal::limits::JOURNAL_PREALLOC_BYTES as usize,
                        seed: 9,
                    },
                ),
                WOp::Put("commands/c.md".into(), Bytes::lit("# command c, 3\n")),
            ],
        },
        Workload {
            name: "manifest-and-lock".into(),
            setup: initial(),
            txn: vec![
                WOp::Tree("skills/a".into(), skill("3")),
                WOp::Put(
                    "collection.toml".into(),
                    Bytes::lit("[collection]\nname = \"c\"\nupdated = \"2\"\n"),
                ),
                WOp::Put(
                    "collection.lock".into(),
                    Bytes::lit("[lock]\nversion = \"1.0.0\"\n[lock.entries.\"a::skill\"]\n"),
                ),
                WOp::Diff,
            ],
        },
        Workload {
            // The rollback of issue 11's finding 1 (wal-spec.md §11, promise 1: "a mode-only
            // change beside a content change"): one file changes only its mode (same
            // bytes), another its content, in one transaction.
            name: "mode-only-and-content".into(),
            setup: initial(),
            txn: vec![
                WOp::PutMode("commands/c.md".into(), Bytes::lit("# command c\n"), 0o755),
                WOp::Put(
                    "collection.toml".into(),
                    Bytes::lit("[collection]\nname = \"d\"\n"),
                ),
            ],
        },
        Workload {
            // A tree whose contents change and whose script only changes mode, with modes on
            // every directory (a 0555 one among them) and links inside.
            name: "tree-modes-and-links".into(),
            setup: vec![initial()[0].clone(), vec![moded_skill("s", 0o644, 0o755)]],
            txn: vec![moded_skill("s2", 0o755, 0o700)],
        },
        Workload {
            // A file becomes a directory, a directory a file, a file a link and a link a
            // file, in one transaction.
            name: "kinds-change".into(),
            setup: vec![
                initial()[0].clone(),
                vec![
                    WOp::Put("commands/x.md".into(), Bytes::lit("# x\n")),
                    WOp::Link("commands/l.md".into(), "c.md".into()),
                ],
            ],
            txn: vec![
                WOp::TreeM(
                    "commands/c.md".into(),
                    0o750,
                    vec![("inner".into(), Node::File(Bytes::lit("now a dir\n"), 0o600))],
                ),
                WOp::PutMode("skills/a".into(), Bytes::lit("now a file\n"), 0o640),
                WOp::Link("commands/x.md".into(), "../skills".into()),
                WOp::PutMode("commands/l.md".into(), Bytes::lit("was a link\n"), 0o644),
            ],
        },
        Workload {
            // Directories' own modes: one set after a change inside it, one deleted link.
            name: "directory-modes".into(),
            setup: vec![
                initial()[0].clone(),
                vec![WOp::Link("commands/l.md".into(), "c.md".into())],
            ],
            txn: vec![
                WOp::Put("skills/a/notes.md".into(), Bytes::lit("new notes\n")),
                WOp::Chmod("skills/a".into(), 0o500),
                WOp::Delete("commands/l.md".into()),
                WOp::Chmod("commands".into(), 0o2770),
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

/// One crash point of `w` (after call `n`, under `model`/`seed`; `n` is clamped to the
/// run's length), optionally a second crash during recovery (after call `m`, clamped);
/// checks the oracle. For proptest.
pub fn check_point(
    w: &Workload,
    n: u64,
    first: (CrashModel, u64),
    second: Option<(u64, CrashModel, u64)>,
) {
    let base = base(w);
    let before = snapshot(&base);
    let reference = Arc::new(base.fork());
    let r = run_txn(reference.clone(), &w.txn);
    assert!(r.commit_ok && r.close_ok, "reference run failed");
    let after = snapshot(&reference);
    let n = 1 + (n - 1) % reference.mutating_calls();
    let f = Arc::new(base.fork());
    f.set_crash_after(Some(n));
    let r = run_txn(f.clone(), &w.txn);
    let ctx = format!("crash after call {n}, {:?} seed {}", first.0, first.1);
    let image = f.crash(first.0, first.1);
    let pristine = image.fork();
    let got = recover(&image, &ctx);
    check_oracle(&got, &before, &after, r.commit_ok, &ctx);
    if let Some(second) = second {
        crash_recovery_once(&pristine, &got, second, &ctx);
    }
}

/// Crashes the recovery of the crash image `pristine` after its call `m` (modulo the
/// recovery's calls) under `model`, recovers again, and checks the tree is `got`, what the
/// uninterrupted recovery left.
fn crash_recovery_once(
    pristine: &SimFs,
    got: &Snap,
    (m, model, seed): (u64, CrashModel, u64),
    ctx: &str,
) {
    let probe = pristine.fork();
    let _ = recover(&probe, ctx);
    let calls = probe.mutating_calls();
    if calls == 0 {
        return;
    }
    let m = 1 + (m - 1) % calls;
    let g = pristine.fork();
    g.set_crash_after(Some(m));
    let arc: Arc<dyn FileSystem> = Arc::new(g.handle());
    if let Ok(e) = Engine::open(arc, Path::new(ROOT), &opts()) {
        let _ = e.close();
    }
    let ctx2 = format!("{ctx}; recovery crashed after call {m}, {model:?} seed {seed}");
    let got2 = recover(&g.crash(model, seed), &ctx2);
    assert!(
        got2 == *got,
        "{ctx2}: differs from an uninterrupted recovery"
    );
}

/// The journal of the root.
pub const JOURNAL: &str = "/c/.skillwal/journal";

/// The journal's bytes as the simulator holds them.
pub fn read_journal(sim: &SimFs) -> Vec<u8> {
    use skillwal::fs::OpenMode;
    let f = sim.open(Path::new(JOURNAL), OpenMode::Read).unwrap();
    let len = f.metadata().unwrap().len as usize;
    let mut b = vec![0u8; len];
    f.read_exact_at(&mut b, 0).unwrap();
    b
}

/// Replaces the journal's bytes, durably.
pub fn write_journal(sim: &SimFs, bytes: &[u8]) {
    use skillwal::fs::OpenMode;
    let f = sim.open(Path::new(JOURNAL), OpenMode::ReadWrite).unwrap();
    f.set_len(0).unwrap();
    f.write_all_at(bytes, 0).unwrap();
    sim.sync_everything();
}

// ---- runs: several committed transactions retired by one checkpoint (wal-spec.md §6.6) ----

/// Transactions committed one after another in one open engine, without a checkpoint
/// between them (so they form a run), and the state they start from.
#[derive(Debug, Clone)]
pub struct RunWorkload {
    pub name: String,
    /// Committed and made durable before the crash runs begin.
    pub setup: Vec<Vec<WOp>>,
    pub txns: Vec<Vec<WOp>>,
}

/// Opens the root, commits each of `txns` in turn in that one engine, and closes
/// (checkpoints). Returns how many commits returned `Ok` (they stop at the first that does
/// not) and whether the close did.
pub fn run_txns(fs: Arc<dyn FileSystem>, txns: &[Vec<WOp>]) -> (usize, bool) {
    let Ok(mut engine) = Engine::open(fs, Path::new(ROOT), &opts()) else {
        return (0, false);
    };
    let mut acknowledged = 0;
    for ops in txns {
        let ok = match engine.begin("run") {
            Ok(mut t) => match stage(&mut t, ops) {
                Ok(()) => t.commit().is_ok(),
                Err(_) => false,
            },
            Err(_) => false,
        };
        if !ok {
            break;
        }
        acknowledged += 1;
    }
    (acknowledged, engine.close().is_ok())
}

/// How many committed transactions of a run the journal of `fs` holds before its last one
/// (`journal inspect`'s `run`), read while an engine is still open on it.
fn run_length(fs: &SimFs) -> usize {
    skillwal::engine::inspect::inspect(fs, Path::new(JOURNAL))
        .expect("journal readable")
        .run
        .len()
}

/// Crashes the run `w` after every mutating call under every model, recovers, and checks
/// that the tree is the state after every transaction whose commit returned `Ok` and
/// possibly the one being committed — exactly that state or the next, never anything else;
/// then crashes each recovery at every call, as [`check_workload`] does.
pub fn check_run_workload(w: &RunWorkload, budget: Budget) -> Counts {
    let base = run_base(w);
    let states = run_states(&base, w).unwrap_or_else(|| panic!("{}: a transaction failed", w.name));
    // The run itself: every transaction after the first joins it.
    let reference = base.fork();
    {
        let fs: Arc<dyn FileSystem> = Arc::new(reference.handle());
        let mut engine = Engine::open(fs, Path::new(ROOT), &opts()).unwrap();
        for ops in &w.txns {
            let mut t = engine.begin("run").unwrap();
            stage(&mut t, ops).unwrap();
            t.commit().unwrap();
        }
        assert_eq!(
            run_length(&reference),
            w.txns.len() - 1,
            "{}: the transactions did not form one run",
            w.name
        );
        engine.close().unwrap();
    }
    assert!(
        snapshot(&reference) == *states.last().unwrap(),
        "{}: the run ends elsewhere than its transactions one by one",
        w.name
    );
    let total = reference.mutating_calls();
    let mut counts = Counts::default();
    for n in 1..=total {
        let f = base.fork();
        f.set_crash_after(Some(n));
        let (acknowledged, _) = run_txns(Arc::new(f.handle()), &w.txns);
        assert!(f.crashed(), "{}: no crash at call {n} of {total}", w.name);
        counts.crash_points += 1;
        for (model, seed) in models(budget.seeds) {
            let ctx = format!(
                "{}: crash after call {n}/{total} ({acknowledged} commits acknowledged), {model:?} seed {seed}",
                w.name
            );
            let image = f.crash(model, seed);
            let pristine = image.fork();
            let got = recover(&image, &ctx);
            assert_acknowledged_or_next(&got, &states, acknowledged, &ctx);
            counts.states += 1;
            counts.recovery_states += check_recovery_crashes(&pristine, &got, budget, &ctx);
        }
    }
    counts
}

/// One random crash of the run `w` (for proptest): its transactions committed one after
/// another in one engine, crashed after call `n` (modulo the run's calls) under `first`,
/// recovered, and the tree must be the state after the commits that returned `Ok`, or
/// after the next; with `second`, that recovery is crashed too and recovered again, to the
/// same tree. Returns `false`, checking nothing, when the transactions do not all commit
/// one by one (a random mix may delete what an earlier one deleted) or do not form one run.
pub fn check_run_point(
    w: &RunWorkload,
    n: u64,
    first: (CrashModel, u64),
    second: Option<(u64, CrashModel, u64)>,
) -> bool {
    let base = run_base(w);
    let Some(states) = run_states(&base, w) else {
        return false;
    };
    let reference = base.fork();
    let (acknowledged, closed) = run_txns(Arc::new(reference.handle()), &w.txns);
    if acknowledged != w.txns.len() || !closed || snapshot(&reference) != *states.last().unwrap() {
        return false;
    }
    let total = reference.mutating_calls();
    let n = 1 + (n - 1) % total;
    let f = base.fork();
    f.set_crash_after(Some(n));
    let (acknowledged, _) = run_txns(Arc::new(f.handle()), &w.txns);
    let ctx = format!(
        "run of {}: crash after call {n}/{total} ({acknowledged} commits acknowledged), {:?} seed {}",
        w.txns.len(),
        first.0,
        first.1
    );
    let image = f.crash(first.0, first.1);
    let pristine = image.fork();
    let got = recover(&image, &ctx);
    assert_acknowledged_or_next(&got, &states, acknowledged, &ctx);
    if let Some(second) = second {
        crash_recovery_once(&pristine, &got, second, &ctx);
    }
    true
}

/// The file system with the run's setup committed and durable.
fn run_base(w: &RunWorkload) -> SimFs {
    base(&Workload {
        name: w.name.clone(),
        setup: w.setup.clone(),
        txn: Vec::new(),
    })
}

/// The state after each prefix of the run `w`, each transaction committed alone on a fork
/// of `base`; `None` when one of them fails.
fn run_states(base: &SimFs, w: &RunWorkload) -> Option<Vec<Snap>> {
    let mut states = vec![snapshot(base)];
    let alone = base.fork();
    for ops in &w.txns {
        let r = run_txn(Arc::new(alone.handle()), ops);
        if !(r.commit_ok && r.close_ok) {
            return None;
        }
        states.push(snapshot(&alone));
    }
    Some(states)
}

/// `got` must be the state after the `acknowledged` commits of a run, or after the next.
#[track_caller]
fn assert_acknowledged_or_next(got: &Snap, states: &[Snap], acknowledged: usize, ctx: &str) {
    let allowed = &states[acknowledged..states.len().min(acknowledged + 2)];
    assert!(
        allowed.contains(got),
        "{ctx}: the tree is not the state after the acknowledged commits (or the next):\n got      {}\n expected {}",
        describe(got),
        allowed
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("\n   or    ")
    );
}

/// The runs every crash test of runs uses: chains of puts on one path (the manifest, the
/// lock, a skill's tree: one artifact updated again and again), puts of every kind chained
/// (from nothing, a file, a tree, a link), large staged content chained, and transactions
/// that overlap an earlier one of the run (a directory created and then filled, a tree
/// deleted below a put, a mode set above one), which make the run durable first.
pub fn run_workloads() -> Vec<RunWorkload> {
    let manifest = |n: &str| {
        WOp::Put(
            "collection.toml".into(),
            Bytes::lit(&format!("[collection]\nname = \"c\"\nupdated = \"{n}\"\n")),
        )
    };
    let lock = |n: &str| {
        WOp::Put(
            "collection.lock".into(),
            Bytes::lit(&format!("[lock]\nversion = \"1.0.0\"\n# {n}\n")),
        )
    };
    vec![
        RunWorkload {
            name: "run-updates".into(),
            setup: initial(),
            txns: ["2", "3", "4"]
                .iter()
                .map(|v| vec![WOp::Tree("skills/a".into(), skill(v)), manifest(v), lock(v)])
                .collect(),
        },
        RunWorkload {
            name: "run-kinds".into(),
            setup: initial(),
            txns: vec![
                vec![WOp::PutMode(
                    "commands/x".into(),
                    Bytes::lit("# x\n"),
                    0o600,
                )],
                vec![WOp::TreeM(
                    "commands/x".into(),
                    0o555,
                    vec![("inner.md".into(), Node::File(Bytes::lit("in\n"), 0o644))],
                )],
                vec![WOp::Link("commands/x".into(), "c.md".into())],
                vec![WOp::PutMode(
                    "commands/x".into(),
                    Bytes::lit("# x, 2\n"),
                    0o755,
                )],
            ],
        },
        RunWorkload {
            name: "run-large".into(),
            setup: initial(),
            txns: vec![
                vec![WOp::Put(
                    "big.bin".into(),
                    Bytes::Gen {
                        len: LARGE,
                        seed: 1,
                    },
                )],
                vec![
                    WOp::Put(
                        "big.bin".into(),
                        Bytes::Gen {
                            len: LARGE + 5,
                            seed: 2,
                        },
                    ),
                    manifest("2"),
                ],
            ],
        },
        RunWorkload {
            // Inline content past the preallocated journal within a run: the run extends
            // the journal, and its retirement cuts it back (wal-spec.md §6.4 step 5, §6.6).
            name: "run-grows".into(),
            setup: initial(),
            txns: (0..2)
                .map(|i| {
                    vec![WOp::Put(
                        "commands/inline.md".into(),
                        Bytes::Gen {
                            len: skillwal::limits::JOURNAL_PREALLOC_BYTES as usize * 3 / 4,
                            seed: 20 + i,
                        },
                    )]
                })
                .collect(),
        },
        RunWorkload {
            name: "run-overlaps".into(),
            setup: initial(),
            txns: vec![
                vec![WOp::Mkdir("agents".into()), manifest("2")],
                // Below the directory the run created: the run is made durable first.
                vec![
                    WOp::Put("agents/x.md".into(), Bytes::lit("# agent\n")),
                    manifest("3"),
                ],
                vec![WOp::Put("skills/a/notes.md".into(), Bytes::lit("notes\n"))],
                // Above a put of the run, and onto a put with a delete.
                vec![WOp::DeleteTree("skills/a".into())],
                vec![
                    WOp::Tree("skills/a".into(), skill("5")),
                    WOp::Chmod("agents".into(), 0o700),
                ],
            ],
        },
    ]
}
