//! One transaction across several roots (wal-spec.md §14), on the simulated file system
//! with each root on its own device: a crash after every mutating call of a two- and a
//! three-root commit, under every crash model and under models that treat the devices
//! differently (one keeps its unsynced writes, another loses them); recovery started from
//! each root in turn; a second crash at every call of a recovery. Every root is compared
//! whole (kinds, bytes, modes, link targets) and all of them must be before, or all after.
//! Also: the in-doubt participant, the vanished participant, and the barriers of a commit.
//! `SKILLWAL_CRASH_SEEDS=N` (default 2) sets the seeds per seeded model.

use skillwal::engine::multi_root::{Decision, RootState};
use skillwal::engine::{Engine, Layout, OpenOptions, begin_across, open_several};
use skillwal::fs::sim::{CrashModel, SimFs, SnapNode};
use skillwal::fs::{FileSystem, OpenMode};
use skillwal::{Error, RecoveryOutcome};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ROOTS: [&str; 3] = ["/a", "/b", "/c"];

type Snap = BTreeMap<PathBuf, SnapNode>;

fn opts() -> OpenOptions {
    OpenOptions {
        no_wait: false,
        salt_seed: Some(7),
    }
}

fn put(sim: &SimFs, path: &str, bytes: &[u8], mode: u32) {
    let f = sim
        .open(Path::new(path), OpenMode::CreateNew { mode })
        .unwrap();
    f.write_all_at(bytes, 0).unwrap();
}

/// `n` roots, `/a` on the first device and each other on a device of its own, with their
/// first contents and identities, all durable; counters at zero.
fn base(n: usize) -> SimFs {
    let sim = SimFs::new();
    for (i, r) in ROOTS[..n].iter().enumerate() {
        sim.create_dir(Path::new(r), 0o755).unwrap();
        if i > 0 {
            sim.mount_device(Path::new(r)).unwrap();
        }
        sim.create_dir(&Path::new(r).join("skills"), 0o755).unwrap();
        put(
            &sim,
            &format!("{r}/collection.toml"),
            format!("[collection]\nname = \"{r}\"\n").as_bytes(),
            0o644,
        );
    }
    sim.create_dir(Path::new("/a/skills/x"), 0o750).unwrap();
    put(
        &sim,
        "/a/skills/x/SKILL.md",
        b"---\nname: x\n---\nbody\n",
        0o644,
    );
    put(&sim, "/a/skills/x/run.sh", b"#!/bin/sh\necho x\n", 0o755);
    let fs: Arc<dyn FileSystem> = Arc::new(sim.handle());
    for (i, r) in ROOTS[..n].iter().enumerate() {
        let mut e = Engine::open(
            fs.clone(),
            Path::new(r),
            &OpenOptions {
                no_wait: false,
                salt_seed: Some(100 + i as u64),
            },
        )
        .unwrap();
        e.root_id().unwrap();
        e.close().unwrap();
    }
    sim.sync_everything();
    sim.reset_counters();
    sim
}

fn layouts(n: usize, fs: &Arc<dyn FileSystem>) -> Vec<(Arc<dyn FileSystem>, Layout)> {
    ROOTS[..n]
        .iter()
        .map(|r| (fs.clone(), Layout::new(Path::new(r))))
        .collect()
}

/// The transaction: skill `x` moves from `/a` to `/b` (its directory mode, an executable
/// file and a link kept), both manifests change, and with three roots `/c` gets a file.
/// `/a` decides. Returns whether `commit` returned `Ok`.
fn move_x(sim: &SimFs, n: usize) -> bool {
    move_x_decided_by(sim, n, 0)
}

/// [`move_x`] with `ROOTS[coordinator]` deciding.
fn move_x_decided_by(sim: &SimFs, n: usize, coordinator: usize) -> bool {
    move_x_result(sim, n, coordinator).is_ok()
}

/// [`move_x_decided_by`], with the error that stopped it.
fn move_x_result(sim: &SimFs, n: usize, coordinator: usize) -> skillwal::Result<()> {
    let fs: Arc<dyn FileSystem> = Arc::new(sim.handle());
    let mut engines = open_several(&layouts(n, &fs), &opts())?;
    let mut t = begin_across(engines.iter_mut().collect(), coordinator, "move x")?;
    let staged = (|| -> skillwal::Result<()> {
        let a = t.part(0);
        a.delete_tree("skills/x")?;
        a.put_bytes(
            "collection.toml",
            b"[collection]\nname = \"/a\"\nartifacts = []\n",
            0o644,
        )?;
        let b = t.part(1);
        let mut tree = b.put_tree("skills/x", 0o750)?;
        tree.bytes("SKILL.md", b"---\nname: x\n---\nbody\n", 0o644)?;
        tree.bytes("run.sh", b"#!/bin/sh\necho x\n", 0o755)?;
        tree.link("README", b"SKILL.md")?;
        tree.finish()?;
        b.put_bytes(
            "collection.toml",
            b"[collection]\nname = \"/b\"\nartifacts = [\"x\"]\n",
            0o644,
        )?;
        if n > 2 {
            t.part(2).put_bytes("notes.md", b"x moved\n", 0o600)?;
        }
        Ok(())
    })();
    staged?;
    t.commit().map(drop)
}

fn snap(sim: &SimFs, n: usize) -> Snap {
    let mut all = Snap::new();
    for r in &ROOTS[..n] {
        for (p, node) in sim
            .snapshot(Path::new(r), &[".skillwal"])
            .expect("root exists")
        {
            all.insert(Path::new(r).join(p), node);
        }
    }
    all
}

fn describe(s: &Snap) -> String {
    s.iter()
        .map(|(p, n)| match n {
            SnapNode::File { data, mode } => {
                format!("{} ({} B, {mode:o})", p.display(), data.len())
            }
            SnapNode::Dir { mode } => format!("{}/ ({mode:o})", p.display()),
            SnapNode::Symlink(t) => format!("{} -> {t:?}", p.display()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens every root, the one at `start` first (its recovery settles the transaction in
/// every root it reaches), and returns the trees.
fn recover(img: &SimFs, n: usize, start: usize, ctx: &str) -> Snap {
    let fs: Arc<dyn FileSystem> = Arc::new(img.handle());
    for k in 0..n {
        let r = ROOTS[(start + k) % n];
        match Engine::open(fs.clone(), Path::new(r), &opts()) {
            Ok(e) => e
                .close()
                .unwrap_or_else(|e| panic!("{ctx}: closing {r}: {e}")),
            Err(e) => panic!("{ctx}: opening {r}: {e}"),
        }
    }
    snap(img, n)
}

/// Per-device crash models: every model on every device alike, and mixes where one
/// device keeps all its unsynced writes while another loses them.
fn models(n: usize, seeds: u64) -> Vec<(Vec<CrashModel>, u64)> {
    use CrashModel::*;
    let mut out = vec![(vec![DropAll; n], 0), (vec![Kill; n], 0)];
    for seed in 0..seeds {
        out.push((vec![Subset; n], seed));
        out.push((vec![Torn; n], seed));
    }
    for keeper in 0..n {
        let mut m = vec![DropAll; n];
        m[keeper] = Kill;
        out.push((m.clone(), 0));
        out.push((
            m.iter()
                .map(|x| if *x == Kill { DropAll } else { Kill })
                .collect(),
            0,
        ));
    }
    out
}

/// The file system after a crash: `Kill` on every device is a process kill (what was not
/// synced stays in the page cache, and a later power cut can still lose it); any other
/// combination is a power cut in which a device under `Kill` had written its whole cache
/// back. Devices are numbered in the order the roots were mounted: `/` (holding `/a`) is 1.
fn cut(sim: &SimFs, models: &[CrashModel], seed: u64) -> SimFs {
    if models.iter().all(|m| *m == CrashModel::Kill) {
        return sim.crash(CrashModel::Kill, seed);
    }
    sim.crash_per_device(|dev| models[(dev - 1) as usize], seed)
}

fn seeds() -> u64 {
    std::env::var("SKILLWAL_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
}

fn check_every_crash_point(n: usize) {
    let base = base(n);
    let before = snap(&base, n);
    let reference = base.fork();
    assert!(move_x(&reference, n), "the reference run commits");
    let after = snap(&reference, n);
    assert_ne!(before, after);
    let total = reference.mutating_calls();
    let (mut states, mut recovery_states) = (0u64, 0u64);
    for call in 1..=total {
        let f = base.fork();
        f.set_crash_after(Some(call));
        let ok = move_x(&f, n);
        assert!(f.crashed(), "no crash at call {call} of {total}");
        for (models, seed) in models(n, seeds()) {
            let image = cut(&f, &models, seed);
            let mut expected = None;
            for (start, root) in ROOTS[..n].iter().enumerate() {
                let ctx = format!(
                    "{n} roots, crash after call {call}/{total}, {models:?} seed {seed}, recovery from {}",
                    root
                );
                let got = recover(&image.fork(), n, start, &ctx);
                assert!(
                    got == after || (!ok && got == before),
                    "{ctx}: the roots are neither all before nor all after (commit returned {ok}):\n got    {}\n before {}\n after  {}",
                    describe(&got),
                    describe(&before),
                    describe(&after)
                );
                // Each root decides alone, and all reach the same decision.
                match &expected {
                    None => expected = Some(got),
                    Some(e) => assert_eq!(&got, e, "{ctx}: another start, another result"),
                }
                states += 1;
            }
            // A second crash at every call of a recovery started from one root — a kill,
            // a power cut, or a cut that keeps one device's unsynced writes — then recovery
            // from the next root: the same result as recovery without the crash. Done for
            // the first cut by a kill, by a power cut, and by one mixed cut.
            let uniform = models.iter().all(|m| *m == models[0]);
            if uniform && !matches!(models[0], CrashModel::Kill | CrashModel::DropAll) {
                continue;
            }
            if !uniform && models[0] != CrashModel::Kill {
                continue;
            }
            let start = call as usize % n;
            let probe = image.fork();
            let _ = recover(&probe, n, start, "probe");
            for m in 1..=probe.mutating_calls() {
                let g = image.fork();
                g.set_crash_after(Some(m));
                let fs: Arc<dyn FileSystem> = Arc::new(g.handle());
                for k in 0..n {
                    if let Ok(e) =
                        Engine::open(fs.clone(), Path::new(ROOTS[(start + k) % n]), &opts())
                    {
                        let _ = e.close();
                    }
                }
                assert!(g.crashed(), "recovery did not reach call {m}");
                let mut second = vec![vec![CrashModel::DropAll; n], vec![CrashModel::Kill; n]];
                if !uniform {
                    second.push(models.clone());
                }
                for models2 in second {
                    let ctx = format!(
                        "{n} roots, crash after call {call}/{total}, {models:?}; recovery from {} cut after call {m}, {models2:?}",
                        ROOTS[start]
                    );
                    let again = recover(&cut(&g, &models2, seed), n, (start + 1) % n, &ctx);
                    assert_eq!(
                        Some(&again),
                        expected.as_ref(),
                        "{ctx}: differs from an uninterrupted recovery"
                    );
                    recovery_states += 1;
                }
            }
        }
    }
    eprintln!(
        "{n} roots: {total} crash points, {states} crash states (every start root), {recovery_states} with a second crash during recovery"
    );
    assert!(states > 0 && recovery_states > 0);
}

#[test]
fn two_roots_every_crash_point_is_all_before_or_all_after() {
    check_every_crash_point(2);
}

#[test]
fn three_roots_every_crash_point_is_all_before_or_all_after() {
    check_every_crash_point(3);
}

/// The move, crashed after mutating call `call` and cut with every device losing what was
/// not synced.
fn crashed_at(base: &SimFs, call: u64) -> SimFs {
    let f = base.fork();
    f.set_crash_after(Some(call));
    move_x(&f, 2);
    cut(&f, &[CrashModel::DropAll; 2], 0)
}

/// The first crash point whose power cut leaves the participant `/b` holding its part and
/// the coordinator `/a` deciding `decided` (true: the decision is durable).
fn first_point(base: &SimFs, decided: bool) -> SimFs {
    let total = {
        let r = base.fork();
        move_x(&r, 2);
        r.mutating_calls()
    };
    for call in 1..=total {
        let img = crashed_at(base, call);
        let b = skillwal::engine::dry_run(&img, &Layout::new(Path::new("/b"))).unwrap();
        if let skillwal::engine::DryRun::AcrossRoots { across, .. } = b
            && (across.decision == Decision::Commit) == decided
        {
            return img;
        }
    }
    panic!("no crash point leaves /b prepared with the decision {decided}");
}

fn open(img: &SimFs, root: &str) -> skillwal::Result<Engine> {
    Engine::open(Arc::new(img.handle()), Path::new(root), &opts())
}

fn tree(img: &SimFs, root: &str) -> Snap {
    img.snapshot(Path::new(root), &[".skillwal"]).unwrap()
}

/// A participant whose coordinator is gone, moved, or replaced by another root at its path
/// is in doubt: the open fails naming the transaction and the coordinator, changes
/// nothing, and fails again the same way; it is never presumed committed or aborted. When
/// the coordinator is back, the participant follows its decision.
#[test]
fn a_participant_without_its_coordinator_is_in_doubt_and_changes_nothing() {
    let base = base(2);
    let (b_before, b_after) = {
        let r = base.fork();
        assert!(move_x(&r, 2));
        (tree(&base, "/b"), tree(&r, "/b"))
    };
    for decided in [false, true] {
        let img = first_point(&base, decided);
        img.rename(Path::new("/a"), Path::new("/a-moved")).unwrap();
        for attempt in 0..2 {
            match open(&img, "/b") {
                Err(Error::InDoubt {
                    root,
                    coordinator,
                    global_id,
                    ..
                }) => {
                    assert_eq!(root, Path::new("/b"));
                    assert_eq!(coordinator, Path::new("/a"));
                    assert_eq!(global_id.len(), 32);
                }
                Err(e) => panic!("decided {decided}, attempt {attempt}: {e}"),
                Ok(_) => {
                    panic!("decided {decided}: a participant without its coordinator decided alone")
                }
            }
            assert_eq!(tree(&img, "/b"), b_before, "in doubt, nothing is written");
        }
        // Another root at the coordinator's path is not the coordinator.
        img.create_dir(Path::new("/a"), 0o755).unwrap();
        Engine::open(
            Arc::new(img.handle()),
            Path::new("/a"),
            &OpenOptions::default(),
        )
        .unwrap()
        .root_id()
        .unwrap();
        assert!(
            matches!(open(&img, "/b"), Err(Error::InDoubt { ref reason, .. }) if reason.contains("another root")),
            "decided {decided}: a root with another identity at the path"
        );
        // The coordinator back in its place: its decision is followed.
        let fs = img.handle();
        remove_tree(&fs, Path::new("/a"));
        img.rename(Path::new("/a-moved"), Path::new("/a")).unwrap();
        let e = open(&img, "/b").unwrap();
        let report = e.recovery_report().clone();
        e.close().unwrap();
        let across = report.across_roots.expect("recovered across roots");
        let want = if decided { &b_after } else { &b_before };
        assert_eq!(&tree(&img, "/b"), want, "decided {decided}");
        assert_eq!(
            across.decision,
            if decided {
                Decision::Commit
            } else {
                Decision::Abort
            }
        );
        assert!(matches!(
            report.outcome,
            RecoveryOutcome::RolledForward { .. } | RecoveryOutcome::RolledBack { .. }
        ));
    }
}

/// In doubt, the user can drop the participant's part: it was never applied there, so the
/// root is exactly as before.
#[test]
fn an_in_doubt_part_can_be_discarded_leaving_the_root_as_before() {
    let base = base(2);
    let img = first_point(&base, true);
    img.rename(Path::new("/a"), Path::new("/a-moved")).unwrap();
    assert!(matches!(open(&img, "/b"), Err(Error::InDoubt { .. })));
    let d = skillwal::engine::discard_journal(
        Arc::new(img.handle()),
        &Layout::new(Path::new("/b")),
        &opts(),
    )
    .unwrap();
    assert!(d.committed);
    open(&img, "/b").unwrap().close().unwrap();
    assert_eq!(tree(&img, "/b"), tree(&base, "/b"));
}

fn remove_tree(fs: &SimFs, p: &Path) {
    for e in fs.read_dir(p).unwrap() {
        let child = p.join(&e.name);
        match e.kind {
            skillwal::fs::FileKind::Dir => remove_tree(fs, &child),
            _ => fs.remove_file(&child).unwrap(),
        }
    }
    fs.remove_dir(p).unwrap();
}

/// A participant that cannot be reached when the coordinator recovers blocks nothing: the
/// coordinator completes its own part, keeps the decision in `decisions/`, and goes on
/// working; when the participant is back, it learns the decision from there and the kept
/// decision is dropped.
#[test]
fn a_vanished_participant_blocks_nothing_and_learns_the_decision_later() {
    let base = base(2);
    let after = {
        let r = base.fork();
        assert!(move_x(&r, 2));
        snap(&r, 2)
    };
    let img = first_point(&base, true);
    // The participant's engine directory goes away (an unmounted disk, a moved project).
    img.rename(Path::new("/b/.skillwal"), Path::new("/b/.skillwal-away"))
        .unwrap();
    let e = open(&img, "/a").unwrap();
    let report = e.recovery_report().clone();
    let across = report.across_roots.clone().expect("recovered across roots");
    assert_eq!(across.decision, Decision::Commit);
    assert!(across.decision_kept);
    assert!(matches!(
        across.roots[1].state,
        RootState::Unreachable { .. }
    ));
    assert!(matches!(
        report.outcome,
        RecoveryOutcome::RolledForward { .. }
    ));
    let kept = Path::new("/a/.skillwal/decisions").join(&across.global_id);
    assert!(img.exists(&kept).unwrap(), "the decision is kept");
    // The coordinator works on.
    let mut e = e;
    let mut t = e.begin("later").unwrap();
    t.put_bytes("later.md", b"later\n", 0o644).unwrap();
    t.commit_durable().unwrap();
    e.close().unwrap();
    assert_eq!(
        tree(&img, "/a").len(),
        after.keys().filter(|p| p.starts_with("/a")).count() + 1
    );
    // The participant comes back and completes its part from the kept decision.
    img.rename(Path::new("/b/.skillwal-away"), Path::new("/b/.skillwal"))
        .unwrap();
    let e = open(&img, "/b").unwrap();
    let across = e
        .recovery_report()
        .across_roots
        .clone()
        .expect("across roots");
    e.close().unwrap();
    assert_eq!(across.decision, Decision::Commit);
    assert!(!across.decision_kept);
    assert_eq!(tree(&img, "/b"), {
        let r = base.fork();
        move_x(&r, 2);
        tree(&r, "/b")
    });
    assert!(!img.exists(&kept).unwrap(), "the kept decision is dropped");
}

/// The barriers of a two-root commit (wal-spec.md §14.3): before `commit` passes its commit
/// point, exactly two — the participant's journal `fdatasync`, then the coordinator's —
/// and nothing else when every content is inline; then each root's checkpoint as a
/// transaction in one root has it.
#[test]
fn a_two_root_commit_has_two_barriers_to_its_commit_point_participant_first() {
    let sim = base(2);
    // Journals made first (a transaction begun and dropped), so that only the move counts.
    for r in ["/a", "/b"] {
        let mut e = open(&sim, r).unwrap();
        drop(e.begin("make the journal").unwrap());
        e.close().unwrap();
    }
    sim.sync_everything();
    sim.reset_counters();
    let journal_ino = |root: &str| {
        sim.metadata(&Path::new(root).join(".skillwal/journal"))
            .unwrap()
            .ino
    };
    let (a, b) = (
        format!("ino {}", journal_ino("/a")),
        format!("ino {}", journal_ino("/b")),
    );
    assert!(move_x(&sim, 2));
    let log = sim.sync_stats().log;
    let commit_point = log
        .iter()
        .position(|(what, on)| what == "sync_data" && *on == a)
        .expect("the coordinator's journal is synced");
    let to_commit: Vec<_> = log[..=commit_point]
        .iter()
        .map(|(w, on)| (w.as_str(), on.as_str()))
        .collect();
    assert_eq!(
        to_commit,
        vec![("sync_data", b.as_str()), ("sync_data", a.as_str())],
        "the barriers up to the commit point"
    );
    let after = log.len() - to_commit.len();
    eprintln!(
        "two-root move: {} barriers to the commit point, {after} in the checkpoints, {} in all",
        to_commit.len(),
        log.len()
    );
    // Each root's checkpoint ends with its journal's header sync, the coordinator's last.
    assert_eq!(
        log.last().map(|(w, on)| (w.as_str(), on.as_str())),
        Some(("sync_data", a.as_str()))
    );
    let b_retired = log
        .iter()
        .rposition(|(w, on)| w == "sync_data" && *on == b)
        .unwrap();
    assert!(b_retired > commit_point && b_retired < log.len() - 1);
}

/// Opening the roots together after a crash — as the next `move` does — recovers whatever
/// is left to before or after, also when a root locked first has already retired its part
/// and a root locked later still holds its own, whose recovery needs the first. Every crash
/// point, with each root deciding in turn, so that the coordinator is locked first in one
/// run and last in the other. (That the open never waits for a lock its own process holds
/// is checked through the binary, tests/move_copy.rs: the simulator's locks are one
/// process's, always free.)
#[test]
fn opening_the_roots_together_after_any_crash_recovers_and_never_waits_for_itself() {
    let base = base(2);
    let before = snap(&base, 2);
    for coordinator in 0..2 {
        let reference = base.fork();
        assert!(move_x_decided_by(&reference, 2, coordinator));
        let after = snap(&reference, 2);
        for call in 1..=reference.mutating_calls() {
            let f = base.fork();
            f.set_crash_after(Some(call));
            let ok = move_x_decided_by(&f, 2, coordinator);
            for image in [
                f.crash(CrashModel::Kill, 0),
                cut(&f, &[CrashModel::DropAll; 2], 0),
            ] {
                let fs: Arc<dyn FileSystem> = Arc::new(image.handle());
                let no_wait = OpenOptions {
                    no_wait: true,
                    salt_seed: Some(7),
                };
                let engines = open_several(&layouts(2, &fs), &no_wait).unwrap_or_else(|e| {
                    panic!("coordinator {coordinator}, crash after call {call}: {e}")
                });
                for e in engines {
                    e.close().unwrap();
                }
                let got = snap(&image, 2);
                assert!(
                    got == after || (!ok && got == before),
                    "coordinator {coordinator}, crash after call {call}: neither before nor after"
                );
            }
        }
    }
}

/// Every call of a two-root commit failing with EIO in turn. A commit that fails before its
/// commit point changes no root and leaves no staged content behind (a participant whose
/// journal sync failed too: its part is retired by a header write that is not synced, the
/// failed sync never retried); a power cut right after, losing every unsynced write on
/// both devices (that header write too), still leaves both roots before, whichever is
/// opened first. One that fails at or after it says so, and ends both before or both after.
#[test]
fn a_commit_failing_at_any_call_is_all_or_nothing_even_after_a_power_cut() {
    let base = base(2);
    let before = snap(&base, 2);
    let reference = base.fork();
    assert!(move_x(&reference, 2));
    let after = snap(&reference, 2);
    let total = reference.mutating_calls();
    let (mut aborted, mut uncertain) = (0, 0);
    for n in 1..=total {
        let f = base.fork();
        f.set_fail_at(Some((n, rustix::io::Errno::IO)));
        let result = move_x_result(&f, 2, 0);
        f.set_fail_at(None);
        let ctx = format!("call {n}/{total} fails");
        let Err(e) = result else {
            assert_eq!(snap(&f, 2), after, "{ctx}: committed");
            continue;
        };
        let is_uncertain = matches!(e, Error::CommitUncertain { .. });
        if is_uncertain {
            uncertain += 1;
        } else {
            aborted += 1;
            assert_eq!(snap(&f, 2), before, "{ctx}: aborted ({e}), yet changed");
            for r in &ROOTS[..2] {
                let staging = Path::new(r).join(".skillwal/staging");
                let left = f.snapshot(&staging, &[]).map(|s| s.len()).unwrap_or(0);
                assert_eq!(left, 0, "{ctx}: aborted ({e}), staging left in {r}");
            }
        }
        for start in 0..2 {
            let img = cut(&f, &[CrashModel::DropAll, CrashModel::DropAll], 0);
            let got = recover(&img, 2, start, &ctx);
            if is_uncertain {
                assert!(got == before || got == after, "{ctx}: {}", describe(&got));
            } else {
                assert_eq!(got, before, "{ctx}: aborted ({e}), then a power cut");
            }
        }
    }
    eprintln!("{total} calls: {aborted} aborted, {uncertain} uncertain");
    assert!(
        aborted > 5 && uncertain > 5,
        "{aborted} aborted, {uncertain} uncertain"
    );
}
