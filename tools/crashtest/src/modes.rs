//! The three ways of attacking a command: a crash after each of its mutating calls (and,
//! after each such crash, a crash after each call of the recovery), SIGKILL after a random
//! delay, and an injected error at each call. Every trial ends with the same checks.

use crate::scenarios::Prepared;
use crate::state::{Expected, Which, state_dir, tree};
use crate::world::{CRASH_AFTER, FAIL_AT, Run, World};
use std::path::Path;
use std::time::{Duration, Instant};

/// No command of a scenario makes this many mutating calls; past it the harness gives up.
pub const POINTS_MAX: u64 = 5_000;

/// What one (scenario, mode) pass counted.
#[derive(Debug, Default)]
pub struct Tally {
    pub tried: u64,
    pub passed: u64,
    pub failures: Vec<Failure>,
    /// Crash points during recovery (deterministic mode only).
    pub recovery_tried: u64,
    pub recovery_passed: u64,
    /// How the passed trials ended, for the report (e.g. "rolled back" → 12).
    pub outcomes: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    pub(crate) fn pass(&mut self, outcome: &str) {
        self.tried += 1;
        self.passed += 1;
        *self.outcomes.entry(outcome.to_string()).or_default() += 1;
    }

    pub(crate) fn fail(&mut self, replay: String, why: String) {
        self.tried += 1;
        self.failures.push(Failure { replay, why });
    }
}

#[derive(Debug)]
pub struct Failure {
    /// The crashtest arguments that replay exactly this trial.
    pub replay: String,
    pub why: String,
}

/// Everything a trial needs.
pub struct Ctx<'a> {
    pub world: &'a World,
    pub scenario: &'a str,
    pub prepared: &'a Prepared,
    pub expected: &'a Expected,
}

impl Ctx<'_> {
    /// Whether the scenario works on two collections (the second is each one's partner,
    /// `World::partner_of`).
    fn pair(&self) -> bool {
        self.expected.partner.is_some()
    }

    /// A fresh copy of the starting collection (and its partner). A scenario with two
    /// collections always works at one path: a transaction across collections records
    /// where each of them is, so a copy of a crashed pair recovers only there.
    pub(crate) fn fresh(&self, name: &str) -> std::path::PathBuf {
        self.copy_to(&self.prepared.start, name)
    }

    /// A copy of the collection `from` (and its partner) at a fresh working path.
    fn copy_to(&self, from: &Path, name: &str) -> std::path::PathBuf {
        let w = self.world.scratch(if self.pair() { "pair" } else { name });
        self.world
            .copy_unit(from, &w, self.pair())
            .expect("copy the collection");
        w
    }

    /// Keeps the state of `dir` (and its partner) under `name`, never to be run on.
    fn keep(&self, dir: &Path, name: &str) -> std::path::PathBuf {
        let k = self.world.scratch(name);
        self.world
            .copy_unit(dir, &k, self.pair())
            .expect("keep the state");
        k
    }

    /// Open handles on every file and directory of the working copy `dir` (its
    /// collections and their state), so that no inode number in it is given to another
    /// file while they are held. A journal names what the engine moved into place by its
    /// inode number (wal-spec.md §7.2), which is exact on a disk a crash left as it was; a
    /// copy of the crashed state has other inodes, and one made after the recovery of the
    /// original freed a staged inode could be given that number for a directory the
    /// engine never wrote, and be taken for the engine's own.
    fn hold_inodes(&self, dir: &Path) -> Vec<std::fs::File> {
        let mut held = Vec::new();
        for (d, _) in self.units(dir) {
            hold_below(&d, &mut held);
            hold_below(&state_dir(&d), &mut held);
        }
        held
    }

    /// The collections of a working copy: `dir`, and its partner.
    fn units<'a>(&'a self, dir: &Path) -> Vec<(std::path::PathBuf, &'a Expected)> {
        let mut v = vec![(dir.to_path_buf(), self.expected)];
        if let Some(p) = &self.expected.partner {
            v.push((self.world.partner_of(dir), p));
        }
        v
    }

    /// Whether `d`, a unit of a working copy, is the project of a deploy scenario.
    fn is_project(&self, d: &Path) -> bool {
        self.prepared.partner_project && crate::state::is_project(d)
    }

    /// The command that opens the unit `d` of the working copy `dir`, recovering it: `list`
    /// in a collection; `status --project` (with the first collection) for a project.
    fn open_cmd(&self, dir: &Path, d: &Path, json: bool) -> (std::path::PathBuf, Vec<String>) {
        if self.is_project(d) {
            let mut c = vec![
                "status".to_string(),
                "--project".into(),
                d.display().to_string(),
            ];
            if json {
                c.insert(0, "--json".into());
            }
            return (dir.to_path_buf(), c);
        }
        let c = if json {
            vec!["list", "--json"]
        } else {
            vec!["list"]
        };
        (d.to_path_buf(), self.cmd(&c))
    }

    /// The read command that recovers the working copy `dir`, and where to run it, for the
    /// `m`-th crash of a recovery: with two collections, a transaction across both is
    /// recovered from each in turn; otherwise from the one the command changes (a copy's
    /// source, or a deploy's collection, has nothing to recover).
    pub(crate) fn recovering_cmd(&self, dir: &Path, m: u64) -> (std::path::PathBuf, Vec<String>) {
        let in_partner = match &self.expected.partner {
            None => false,
            Some(_) if self.prepared.across => m.is_multiple_of(2),
            Some(_) => !self.expected.changes(),
        };
        let from = if in_partner {
            self.world.partner_of(dir)
        } else {
            dir.to_path_buf()
        };
        self.open_cmd(dir, &from, false)
    }

    /// Which state the working copy `dir` is in: every collection the command changes must
    /// be in the same one (a collection it leaves alone is in both).
    pub fn classify(&self, dir: &Path) -> Result<Which, String> {
        let mut seen: Option<(Which, std::path::PathBuf)> = None;
        for (d, e) in self.units(dir) {
            let which = e
                .classify(&d)
                .map_err(|err| format!("{}: {err}", d.display()))?;
            if !e.changes() {
                continue;
            }
            match &seen {
                Some((w, other)) if *w != which => {
                    return Err(format!(
                        "{} is {w:?} the command but {} is {which:?} it: not all of them the same way",
                        other.display(),
                        d.display()
                    ));
                }
                _ => seen = Some((which, d)),
            }
        }
        Ok(seen.map_or(Which::Before, |(w, _)| w))
    }

    pub(crate) fn run(&self, dir: &Path, env: &[(&str, &str)], args: &[String]) -> Run {
        self.world.run_in(dir, env, args)
    }

    fn cmd(&self, args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    /// The checks after a crash or a failure, on `dir` (which they change): a read command
    /// recovers; the tree is exactly before or after; the journal is idle and staging empty;
    /// `verify` gives the verdict it gives in that state without a crash (clean, unless the
    /// scenario starts from files the user modified); a following update succeeds and
    /// `verify` still gives that verdict.
    /// Returns the state and the recovery line the read command printed, if any.
    pub fn check_recovered(&self, dir: &Path) -> Result<(Which, Option<String>), String> {
        self.check_recovered_from(dir, false)
    }

    /// [`Ctx::check_recovered`], the recovery started from the partner when `from_partner`
    /// (in a scenario with two collections). For a transaction across both, the collection
    /// opened first recovers it in both, so both are classified right after, and again
    /// once the other has been opened too; otherwise both once both are opened.
    pub fn check_recovered_from(
        &self,
        dir: &Path,
        from_partner: bool,
    ) -> Result<(Which, Option<String>), String> {
        let mut units = self.units(dir);
        if from_partner && units.len() > 1 {
            units.swap(0, 1);
        }
        let mut line = None;
        let mut which = None;
        for (d, _) in &units {
            let (at, open) = self.open_cmd(dir, d, true);
            let list = self.run(&at, &[], &open);
            if !list.ok() {
                return Err(format!("the read command failed: {}", list.describe()));
            }
            line = line.or(list.recovered_line().map(str::to_string));
            if !self.prepared.across && d != &units[units.len() - 1].0 {
                continue;
            }
            let now = self.classify(dir)?;
            if which.is_some_and(|w| w != now) {
                return Err(format!(
                    "{:?} once {} recovered, {now:?} once {} did too",
                    which.unwrap_or(now),
                    units[0].0.display(),
                    d.display()
                ));
            }
            which = Some(now);
        }
        let which = which.expect("at least one collection");
        for (d, e) in &units {
            if self.is_project(d) {
                self.check_project_idle(d)?;
                // Before is exactly the start (classified above); after, every record
                // agrees with its files and they are the collection's.
                if which == Which::After {
                    crate::state::check_project(dir, d)?;
                }
                continue;
            }
            self.check_idle(d)?;
            self.check_verify(d, e.clean(which), "")?;
        }
        let next = self.run(dir, &[], &self.prepared.follow_up);
        if !next.ok() {
            return Err(format!("the following update failed: {}", next.describe()));
        }
        for (d, e) in units.iter().filter(|(d, _)| !self.is_project(d)) {
            self.check_verify(d, e.clean(which), " after the following update")?;
        }
        Ok((which, line))
    }

    /// `verify` exits 0 when `clean`, else 1 (it found problems; anything else is a failure
    /// of its own).
    fn check_verify(&self, dir: &Path, clean: bool, when: &str) -> Result<(), String> {
        let verify = self.run(dir, &[], &self.cmd(&["verify"]));
        match (clean, verify.code) {
            (true, Some(0)) | (false, Some(1)) => Ok(()),
            (true, _) => Err(format!("verify{when} is not clean: {}", verify.describe())),
            (false, _) => Err(format!(
                "verify{when} must report the user's modifications (exit 1), as it does without a crash: {}",
                verify.describe()
            )),
        }
    }

    /// A project's journal (in `<project>/.skillwal/`, read with `journal inspect`) holds no
    /// transaction, and nothing is left in its staging area.
    fn check_project_idle(&self, project: &Path) -> Result<(), String> {
        let meta = project.join(crate::state::META_DIR);
        let journal = meta.join("journal");
        if journal.exists() {
            let r = self.world.run(&[
                "--json",
                "journal",
                "inspect",
                &journal.display().to_string(),
            ]);
            if !r.ok() {
                return Err(format!("journal inspect: {}", r.describe()));
            }
            let v: serde_json::Value = serde_json::from_str(&r.stdout)
                .map_err(|e| format!("journal inspect --json printed no JSON ({e})"))?;
            if v["state"] != "none" {
                return Err(format!(
                    "the project's journal is not idle after recovery: state {}",
                    v["state"]
                ));
            }
        }
        match std::fs::read_dir(meta.join("staging")) {
            Ok(mut rd) => match rd.next() {
                None => Ok(()),
                Some(e) => Err(format!(
                    "the project's staging is not empty: {}",
                    e.map(|e| e.path().display().to_string())
                        .unwrap_or_else(|e| e.to_string())
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("read the project's staging: {e}")),
        }
    }

    /// The journal holds no transaction and nothing is left in staging.
    fn check_idle(&self, dir: &Path) -> Result<(), String> {
        let r = self.run(dir, &[], &self.cmd(&["journal", "verify", "--json"]));
        if !r.ok() {
            return Err(format!("journal verify: {}", r.describe()));
        }
        let v: serde_json::Value = serde_json::from_str(&r.stdout)
            .map_err(|e| format!("journal verify --json printed no JSON ({e}): {}", r.stdout))?;
        // No journal at all (never written, or lost) holds nothing live either: skillwal
        // creates it with the first transaction.
        let state = &v["journal"]["state"];
        let outcome = &v["plan"]["outcome"];
        if !(state.is_null() || state == "none") || outcome != "nothing" {
            return Err(format!(
                "the journal is not idle after recovery: state {state}, plan {outcome}"
            ));
        }
        staging_empty(dir)
    }
}

/// Opens `p` and everything below it (links are not followed, nor held), adding the
/// handles to `held`; what cannot be opened is skipped.
fn hold_below(p: &Path, held: &mut Vec<std::fs::File>) {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return;
    };
    if meta.file_type().is_symlink() {
        return;
    }
    if let Ok(f) = std::fs::File::open(p) {
        held.push(f);
    }
    if meta.is_dir()
        && let Ok(entries) = std::fs::read_dir(p)
    {
        for e in entries.flatten() {
            hold_below(&e.path(), held);
        }
    }
}

fn staging_empty(dir: &Path) -> Result<(), String> {
    let staging = state_dir(dir).join("staging");
    match std::fs::read_dir(&staging) {
        Ok(mut rd) => match rd.next() {
            None => Ok(()),
            Some(e) => Err(format!(
                "staging is not empty: {}",
                e.map(|e| e.path().display().to_string())
                    .unwrap_or_else(|e| e.to_string())
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("read {}: {e}", staging.display())),
    }
}

pub(crate) fn outcome_name(which: Which, line: &Option<String>) -> &'static str {
    match (which, line.as_deref()) {
        (Which::Before, None) => "before, nothing to recover",
        (Which::Before, Some(_)) => "rolled back",
        (Which::After, Some(_)) => "rolled forward",
        (Which::After, None) => "after, nothing to recover",
    }
}

/// Options of the deterministic mode.
pub struct Deterministic {
    /// Only this crash point (replay).
    pub point: Option<u64>,
    /// Only this crash point of the recovery (replay; needs `point`).
    pub recovery_point: Option<u64>,
    /// Also crash the recovery after each crash, at each of its calls.
    pub recovery_crashes: bool,
    /// Crash the recoveries after about this many of the command's crash points (spread
    /// evenly, plus the first one past the commit point and the last one) instead of after
    /// every one; `Some(0)`: after the first one past the commit point alone (where the
    /// recovery has the most to roll forward). `None`: after every one.
    pub recovery_samples: Option<u64>,
}

/// `SKILLWAL_CRASH_AFTER=N` for N = 1, 2, … until the command completes.
pub fn deterministic(cx: &Ctx, opts: &Deterministic) -> Tally {
    let mut t = Tally::default();
    let mut last: Option<(u64, Which)> = None;
    let (stride, calls) = match (opts.recovery_samples, opts.point) {
        (Some(k), None) if k > 0 => match calls_of(cx) {
            Ok(c) => (c.div_ceil(k).max(1), c),
            Err(e) => {
                t.fail(
                    format!("--scenario {} --mode deterministic", cx.scenario),
                    e,
                );
                return t;
            }
        },
        _ => (1, 0),
    };
    let mut n = opts.point.unwrap_or(1);
    loop {
        let replay = format!(
            "--scenario {} --mode deterministic --point {n}",
            cx.scenario
        );
        if n > POINTS_MAX {
            t.fail(replay, format!("still crashing after {POINTS_MAX} calls"));
            break;
        }
        let work = cx.fresh("det");
        let r = cx.run(
            &work,
            &[(CRASH_AFTER, &n.to_string())],
            &cx.prepared.command,
        );
        if r.ok() {
            // The command made fewer than n calls: it completed. It must be after.
            match cx.classify(&work) {
                Ok(Which::After) => {}
                Ok(Which::Before) => t.fail(replay, "completed but changed nothing".into()),
                Err(e) => t.fail(replay, e),
            }
            break;
        }
        if !r.killed() {
            t.fail(
                replay,
                format!("neither killed nor successful: {}", r.describe()),
            );
            break;
        }
        // Held until the recoveries of copies of this crashed state are done.
        let _held = cx.hold_inodes(&work);
        let crashed = cx.keep(&work, "crashed");
        // With two collections, the recovery starts from each in turn.
        match cx.check_recovered_from(&work, n.is_multiple_of(2)) {
            Ok((which, line)) => {
                if let Some((p, Which::After)) = last
                    && which == Which::Before
                {
                    t.fail(
                        replay.clone(),
                        format!("after at crash point {p} but before at the later point {n}"),
                    );
                } else {
                    t.pass(outcome_name(which, &line));
                }
                let first_after =
                    which == Which::After && last.is_none_or(|(_, w)| w == Which::Before);
                let sampled = match (opts.recovery_samples, opts.point) {
                    (Some(0), None) => first_after,
                    _ => stride == 1 || n.is_multiple_of(stride) || n == calls || first_after,
                };
                last = Some((n, which));
                if opts.recovery_crashes && sampled {
                    recovery_crashes(cx, &crashed, n, which, opts.recovery_point, &mut t);
                }
            }
            Err(e) => t.fail(replay, e),
        }
        if opts.point.is_some() {
            break;
        }
        n += 1;
    }
    t
}

/// After the crash at `n`, whose uninterrupted recovery ends in `want`: the read command
/// that recovers is itself crashed after each of its calls, then checked like any crash.
fn recovery_crashes(
    cx: &Ctx,
    crashed: &Path,
    n: u64,
    want: Which,
    only: Option<u64>,
    t: &mut Tally,
) {
    let mut m = only.unwrap_or(1);
    loop {
        let replay = format!(
            "--scenario {} --mode deterministic --point {n} --recovery-point {m}",
            cx.scenario
        );
        if m > POINTS_MAX {
            t.failures.push(Failure {
                replay,
                why: "the recovery never completed".into(),
            });
            return;
        }
        let w = cx.copy_to(crashed, "recovering");
        // A recovery that completes ends the loop.
        let (at, open) = cx.recovering_cmd(&w, m);
        let r = cx.run(&at, &[(CRASH_AFTER, &m.to_string())], &open);
        if r.ok() {
            return; // the recovery made fewer than m calls
        }
        t.recovery_tried += 1;
        if !r.killed() {
            t.failures.push(Failure {
                replay,
                why: format!("recovery neither killed nor successful: {}", r.describe()),
            });
            return;
        }
        match cx.check_recovered(&w) {
            Ok((which, _)) if which == want => t.recovery_passed += 1,
            Ok((which, _)) => t.failures.push(Failure {
                replay,
                why: format!("an uninterrupted recovery ends {want:?}, this one {which:?}"),
            }),
            Err(e) => t.failures.push(Failure { replay, why: e }),
        }
        if only.is_some() {
            return;
        }
        m += 1;
    }
}

/// SplitMix64: the delay of iteration `seed` (and nothing else) comes from it.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Options of the random mode.
pub struct Random {
    pub seed: u64,
    pub iterations: u64,
    /// Stop after this long even if iterations remain.
    pub seconds: Option<f64>,
}

/// Starts the command and SIGKILLs it after a delay drawn from the seed, uniformly up to
/// the shortest of five uninterrupted runs (longer delays mostly find it finished).
pub fn random(cx: &Ctx, opts: &Random) -> Tally {
    let mut t = Tally::default();
    let mut span = Duration::MAX;
    for _ in 0..5 {
        let w = cx.fresh("timing");
        let r = cx.run(&w, &[], &cx.prepared.command);
        if !r.ok() {
            t.fail(
                format!("--scenario {} --mode random", cx.scenario),
                format!("the uninterrupted command failed: {}", r.describe()),
            );
            return t;
        }
        span = span.min(r.elapsed);
    }
    let span_us = (span.as_micros() as u64).max(1);
    let start = Instant::now();
    for i in 0..opts.iterations {
        if let Some(s) = opts.seconds
            && start.elapsed().as_secs_f64() > s
        {
            break;
        }
        let seed = opts.seed.wrapping_add(i);
        let delay = Duration::from_micros(splitmix64(seed) % span_us);
        let replay = format!(
            "--scenario {} --mode random --seed {seed} --iterations 1",
            cx.scenario
        );
        let work = cx.fresh("random");
        let r = cx
            .world
            .run_killed_after(&work, &cx.prepared.command, delay);
        if r.ok() {
            match cx.classify(&work) {
                Ok(Which::After) => t.pass("completed before the kill"),
                Ok(Which::Before) => t.fail(replay, "completed but changed nothing".into()),
                Err(e) => t.fail(replay, e),
            }
            continue;
        }
        if !r.killed() {
            t.fail(
                replay,
                format!("neither killed nor successful: {}", r.describe()),
            );
            continue;
        }
        match cx.check_recovered_from(&work, seed % 2 == 1) {
            Ok((which, line)) => t.pass(outcome_name(which, &line)),
            Err(e) => t.fail(replay, format!("killed after {delay:?}: {e}")),
        }
    }
    t
}

/// An errno the error mode injects, with the text its message must carry.
pub const ERRNOS: &[(&str, &str)] = &[
    ("ENOSPC", "No space left on device"),
    ("EIO", "Input/output error"),
    ("EACCES", "Permission denied"),
];

/// Options of the error mode.
pub struct Errors {
    pub errnos: Vec<&'static str>,
    pub point: Option<u64>,
    /// Every errno at every call; otherwise each call gets one of `errnos` in turn.
    pub every_errno_at_every_call: bool,
}

/// The number of mutating calls the command makes when nothing goes wrong: the last crash
/// point before it completes (found by bisection; completion is monotone in the point).
fn calls_of(cx: &Ctx) -> Result<u64, String> {
    let completes = |n: u64| {
        let w = cx.fresh("probe");
        cx.run(&w, &[(CRASH_AFTER, &n.to_string())], &cx.prepared.command)
            .ok()
    };
    // Invariant: the command does not complete when killed after call `lo` (0: no call).
    let (mut lo, mut hi) = (0u64, 1u64);
    while !completes(hi) {
        lo = hi;
        hi *= 2;
        if hi > POINTS_MAX {
            return Err(format!("still crashing after {POINTS_MAX} calls"));
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if completes(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // Killed right after call `lo`, completed with the kill set after call `lo + 1`, which
    // never comes: the command makes exactly `lo` calls.
    Ok(lo)
}

/// `SKILLWAL_FAIL_AT=N:ERRNO` for every call N of the command and each errno: it fails with
/// a clear message and exit code 1 and the collection is exactly as before with nothing left
/// in staging — or, past the commit point, it says the change may have been applied and the
/// next command completes it — and the next command works.
pub fn errors(cx: &Ctx, opts: &Errors) -> Tally {
    let mut t = Tally::default();
    let calls = match calls_of(cx) {
        Ok(c) => c,
        Err(e) => {
            t.fail(format!("--scenario {} --mode error", cx.scenario), e);
            return t;
        }
    };
    for (k, errno) in opts.errnos.iter().enumerate() {
        let text = ERRNOS
            .iter()
            .find(|(n, _)| n == errno)
            .map(|(_, t)| *t)
            .expect("a known errno");
        let points: Vec<u64> = match opts.point {
            Some(p) => vec![p],
            None if opts.every_errno_at_every_call => (1..=calls).collect(),
            None => (1..=calls)
                .filter(|n| *n as usize % opts.errnos.len() == k)
                .collect(),
        };
        for n in points {
            let replay = format!(
                "--scenario {} --mode error --errno {errno} --point {n}",
                cx.scenario
            );
            match error_trial(cx, n, errno, text) {
                Ok(outcome) => t.pass(outcome),
                Err(e) => t.fail(replay, e),
            }
        }
    }
    t
}

fn error_trial(cx: &Ctx, n: u64, errno: &str, text: &str) -> Result<&'static str, String> {
    let work = cx.fresh("error");
    let spec = format!("{n}:{errno}");
    let r = cx.run(&work, &[(FAIL_AT, &spec)], &cx.prepared.command);
    if r.ok() {
        // The engine survives errors only once the transaction is durable and retired: in
        // removing what is left in staging, which the next open removes (wal-spec.md §6.4
        // step 4, §7.1).
        // Then the command must have done all of its work, and the checks must pass.
        return match cx.check_recovered(&work)? {
            (Which::After, _) => Ok("error in the cleanup after the checkpoint, survived"),
            (Which::Before, _) => Err("succeeded but changed nothing".into()),
        };
    }
    if r.code != Some(1) {
        return Err(format!("expected exit code 1: {}", r.describe()));
    }
    if !r.stderr.contains(text) {
        return Err(format!(
            "the message does not name the error: {}",
            r.describe()
        ));
    }
    if r.stderr.contains("may have been applied") {
        // Past the commit point: the next command completes the change.
        let (which, _) = cx.check_recovered(&work)?;
        return match which {
            Which::After => Ok("failed past the commit point, completed by the next command"),
            Which::Before => Err(format!(
                "said the change may have been applied, but the next command left it before: {}",
                r.describe()
            )),
        };
    }
    if !r.stderr.to_lowercase().contains("nothing was changed") {
        return Err(format!(
            "the message does not say whether anything changed: {}",
            r.describe()
        ));
    }
    for (d, e) in cx.units(&work) {
        let before = tree(&d)?;
        if before != e.before {
            return Err(format!(
                "said nothing changed, but {} differs from before:\n{}",
                d.display(),
                crate::state::diff(&e.before, &before)
            ));
        }
        staging_empty(&d)
            .map_err(|e| format!("right after the failed command: {e}; {}", r.describe()))?;
    }
    match cx.check_recovered(&work)? {
        (Which::Before, None) => Ok("failed, nothing changed"),
        (Which::Before, Some(line)) => Err(format!(
            "said nothing changed, yet the next command recovered: {line}"
        )),
        (Which::After, _) => Err("said nothing changed, but the next command completed it".into()),
    }
}
