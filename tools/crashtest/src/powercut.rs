//! `--mode powercut`: the command runs on `tools/powercut`, a FUSE file system that keeps
//! everything in memory until it is made durable, and the power is cut
//!
//! 1. once after the command returned success (only after may survive; this run also
//!    counts the command's calls and syncs on the mount);
//! 2. at its N-th sync (`fsync`, `fdatasync` or a directory's), for N = 1, 2, … until the
//!    command no longer reaches it;
//! 3. right after a seeded sample of its other calls (writes, creates, renames, …);
//!
//! then the disk the cut left is mounted again (same inode numbers) and checked as after a
//! kill: a read command recovers, the state is exactly before or after (after, when the
//! command had returned success), the journal idle, `verify` as without a crash, the next
//! update works. A state once after at a cut that stopped the command never turns before at
//! a later cut. After some of the
//! cuts at a sync (every one with `--full`), the recovery's own power is cut at each of
//! its syncs in turn, the disk mounted a third time, recovered and checked: it must end
//! where the uninterrupted recovery of the same cut ended.

use crate::modes::{Ctx, Failure, Tally, outcome_name, splitmix64};
use crate::state::Which;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Options of the power-cut mode.
pub struct PowerCuts {
    /// The powercut binary.
    pub bin: PathBuf,
    /// What a cut keeps (`drop-all`, `subset`, `torn`) and its seed.
    pub model: String,
    pub seed: u64,
    /// Only this sync (replay).
    pub point: Option<u64>,
    /// Only the cut after this call (replay).
    pub op: Option<u64>,
    /// Only this sync of the recovery after the cut at `point` (replay).
    pub recovery_point: Option<u64>,
    /// Cuts after this many of the command's calls, drawn from the seed.
    pub op_samples: u64,
    /// Cut the recoveries too.
    pub recovery_cuts: bool,
    /// Cut the recovery after about this many of the cuts at a sync (spread evenly, plus
    /// the first one that ends after and the last); `Some(0)`: after the first that ends
    /// after alone; `None`: after every one.
    pub recovery_samples: Option<u64>,
}

/// Where the power goes.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// At the N-th sync of the command.
    AtSync(u64),
    /// Right after its N-th changing call (syncs count too).
    AfterOp(u64),
    /// Once the command returned success.
    AfterSuccess,
}

/// Whether the mount still serves.
enum Power {
    /// Mounted, after this many changing calls and syncs.
    On { calls: u64, syncs: u64 },
    /// Cut; powercut's line saying how.
    Cut(String),
}

/// What a trial saw.
struct Seen {
    which: Which,
    /// The recovery's report line.
    line: Option<String>,
    /// The command completed: it never reached the cut.
    completed: bool,
    /// The command returned success although the power was cut: the cut failed a call it
    /// does not need (a best-effort write, such as a lock file's PID, on a disk that does not
    /// hold the change), and it went on.
    survived_cut: bool,
    /// With a cut in the recovery: that recovery completed without reaching it.
    recovery_completed: bool,
    /// On the mount, before the cut: the command's changing calls and syncs.
    counters: Option<(u64, u64)>,
}

/// At most this many syncs are cut at before the command is taken to never end.
const SYNCS_MAX: u64 = 2_000;

struct Mount {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Mount {
    /// Moves the working tree `work` (everything below it) aside to be the disk, and mounts
    /// powercut over it, armed to cut as `cut` says.
    fn over(opts: &PowerCuts, work: &Path, disk: &Path, cut: Cut) -> Result<Mount, String> {
        if disk.exists() {
            std::fs::remove_dir_all(disk).map_err(|e| format!("remove {}: {e}", disk.display()))?;
        }
        std::fs::rename(work, disk).map_err(|e| format!("move {}: {e}", work.display()))?;
        std::fs::create_dir(work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
        let mut c = Command::new(&opts.bin);
        c.arg("--backing").arg(disk).arg("--mount").arg(work).args([
            "--model",
            &opts.model,
            "--seed",
            &opts.seed.to_string(),
        ]);
        match cut {
            Cut::AtSync(n) => c.args(["--cut-at-sync", &n.to_string()]),
            Cut::AfterOp(n) => c.args(["--cut-after-op", &n.to_string()]),
            Cut::AfterSuccess => &mut c,
        };
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", opts.bin.display()))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut m = Mount {
            child,
            stdin,
            stdout,
        };
        let line = m.line()?;
        if line != "mounted" {
            return Err(format!(
                "powercut did not mount (root and /dev/fuse are needed): {line:?}"
            ));
        }
        Ok(m)
    }

    fn line(&mut self) -> Result<String, String> {
        let mut l = String::new();
        self.stdout
            .read_line(&mut l)
            .map_err(|e| format!("read powercut's output: {e}"))?;
        Ok(l.trim_end().to_string())
    }

    fn send(&mut self, cmd: &str) -> Result<(), String> {
        let w = self.stdin.as_mut().ok_or("powercut's input is closed")?;
        writeln!(w, "{cmd}")
            .and_then(|()| w.flush())
            .map_err(|e| format!("tell powercut {cmd:?}: {e}"))
    }

    /// Mounts the disk again (after a cut), armed to cut at the `sync`-th sync of the new
    /// mount, if any.
    fn remount(&mut self, sync: Option<u64>, what: &str) -> Result<(), String> {
        if let Some(m) = sync {
            self.send(&format!("arm sync {m}"))?;
        }
        self.send("remount")?;
        let mounted = self.line()?;
        if mounted != "mounted" {
            return Err(format!("powercut did not remount: {mounted:?} ({what})"));
        }
        Ok(())
    }

    /// Asks whether the power is still on: the counters while mounted, the `cut: …` line
    /// once it was cut.
    fn status(&mut self) -> Result<Power, String> {
        self.send("status")?;
        let first = self.line()?;
        if let Some(rest) = first.strip_prefix("status ") {
            let n: Vec<u64> = rest
                .split_whitespace()
                .map(|x| {
                    x.parse()
                        .map_err(|e| format!("powercut said {first:?}: {e}"))
                })
                .collect::<Result<_, _>>()?;
            return match n[..] {
                [calls, syncs, _pending] => Ok(Power::On { calls, syncs }),
                _ => Err(format!("powercut said {first:?}")),
            };
        }
        if first.starts_with("cut: ") {
            let unmounted = self.line()?;
            if unmounted != "status unmounted" {
                return Err(format!("powercut said {unmounted:?} after the cut"));
            }
            return Ok(Power::Cut(first));
        }
        Err(format!("powercut said {first:?}"))
    }

    /// Waits for the `cut: …` line (a cut that happened, or the one just asked for).
    fn cut_line(&mut self) -> Result<String, String> {
        let l = self.line()?;
        if l.starts_with("cut: ") {
            Ok(l)
        } else {
            Err(format!("powercut said {l:?} where a cut was expected"))
        }
    }

    /// Ends it: a clean unmount, the disk written back into the backing directory.
    fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) if s.success() => return Ok(()),
                Ok(Some(s)) => return Err(format!("powercut ended with {s}")),
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    return Err("powercut did not end within 60 s".into());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// The working copy's whole tree (`<root>/work`), which the mount covers.
fn work_root(cx: &Ctx) -> PathBuf {
    cx.world.root.join("work")
}

/// The crashtest arguments that replay a trial.
fn replay(cx: &Ctx, opts: &PowerCuts, what: &str) -> String {
    format!(
        "--scenario {} --mode powercut --model {} --seed {} {what}",
        cx.scenario, opts.model, opts.seed
    )
}

pub fn power_cuts(cx: &Ctx, opts: &PowerCuts) -> Tally {
    let mut t = Tally::default();
    if let Some(n) = opts.op {
        let r = replay(cx, opts, &format!("--op {n}"));
        match trial(cx, opts, Cut::AfterOp(n), None) {
            Ok(seen) if seen.survived_cut => t.pass(&format!(
                "{}, the command went on past the cut",
                outcome_name(seen.which, &seen.line)
            )),
            Ok(seen) => t.pass(outcome_name(seen.which, &seen.line)),
            Err(e) => t.fail(r, e),
        }
        return t;
    }
    if let Some(n) = opts.point {
        let r = replay(cx, opts, &format!("--point {n}"));
        match trial(cx, opts, Cut::AtSync(n), None) {
            Ok(seen) => {
                t.pass(outcome_name(seen.which, &seen.line));
                if opts.recovery_point.is_some() && !seen.completed {
                    recovery_cuts(cx, opts, n, seen.which, &mut t);
                }
            }
            Err(e) => t.fail(r, e),
        }
        return t;
    }

    // 1. The cut once the command has returned success: only after may survive. The run
    //    also counts the command's calls and syncs on the mount.
    let r = replay(cx, opts, "(after success)");
    let (calls, syncs) = match trial(cx, opts, Cut::AfterSuccess, None) {
        Ok(seen) if seen.which == Which::After => {
            t.pass(&format!(
                "{}, cut after success",
                outcome_name(Which::After, &seen.line)
            ));
            seen.counters.unwrap_or((0, 0))
        }
        // A failure here is reported and the cuts go on (without the counts: no calls
        // sampled, the recoveries cut after each sync), to say what else fails.
        Ok(seen) => {
            let which = seen.which;
            t.fail(
                r,
                format!("{which:?} after a cut that followed the command's success"),
            );
            seen.counters.unwrap_or((0, 0))
        }
        Err(e) => {
            t.fail(r, e);
            (0, 0)
        }
    };

    // 2. At every sync, until the command no longer reaches it.
    // Without the count of syncs (the first trial failed), the first that ends after alone.
    let samples = opts
        .recovery_samples
        .map(|k| if syncs == 0 { 0 } else { k });
    let stride = match samples {
        Some(k) if k > 0 => syncs.div_ceil(k).max(1),
        _ => 1,
    };
    let mut last: Option<(u64, Which)> = None;
    let mut n = 1;
    loop {
        let r = replay(cx, opts, &format!("--point {n}"));
        if n > SYNCS_MAX {
            t.fail(r, format!("still syncing after {SYNCS_MAX} syncs"));
            break;
        }
        let seen = match trial(cx, opts, Cut::AtSync(n), None) {
            Ok(seen) => seen,
            Err(e) => {
                t.fail(r, e);
                break;
            }
        };
        pass_in_order(&mut t, r, last, n, &seen, "sync", "");
        let first_after =
            seen.which == Which::After && last.is_none_or(|(_, w)| w == Which::Before);
        let sampled = match samples {
            None => true,
            Some(0) => first_after,
            Some(_) => n.is_multiple_of(stride) || n == syncs || first_after,
        };
        last = Some((n, seen.which));
        if seen.completed {
            break;
        }
        if opts.recovery_cuts && sampled {
            recovery_cuts(cx, opts, n, seen.which, &mut t);
        }
        n += 1;
    }

    // 3. Right after a seeded sample of the command's calls, in order.
    let mut ops: Vec<u64> = (0..opts.op_samples.min(calls))
        .map(|i| splitmix64(opts.seed.wrapping_add(i.wrapping_mul(0x9e37_79b9))) % calls + 1)
        .collect();
    ops.sort_unstable();
    ops.dedup();
    let mut last: Option<(u64, Which)> = None;
    for n in ops {
        let r = replay(cx, opts, &format!("--op {n}"));
        match trial(cx, opts, Cut::AfterOp(n), None) {
            Ok(seen) => {
                pass_in_order(&mut t, r, last, n, &seen, "call", ", cut after a call");
                // Only a cut that stopped the command says what a later cut must keep. A
                // run that never reached call n (the number of calls a command makes on
                // the mount varies from run to run: the kernel splits and merges writes as
                // it pleases) or went on past the cut and succeeded is after by its own
                // success.
                if !seen.completed && !seen.survived_cut {
                    last = Some((n, seen.which));
                }
            }
            Err(e) => t.fail(r, e),
        }
    }
    t
}

/// Counts the cut at the `n`-th `unit` (sync or call) as passed, its outcome named with
/// `suffix`, unless it left before where the earlier cut `last` left after: a later cut
/// keeps at least what an earlier one kept durable.
fn pass_in_order(
    t: &mut Tally,
    replay: String,
    last: Option<(u64, Which)>,
    n: u64,
    seen: &Seen,
    unit: &str,
    suffix: &str,
) {
    match last {
        Some((p, Which::After)) if seen.which == Which::Before => t.fail(
            replay,
            format!("after at {unit} {p} but before at the later {unit} {n}"),
        ),
        _ => t.pass(&format!("{}{suffix}", outcome_name(seen.which, &seen.line))),
    }
}

/// After the cut at sync `n`, whose uninterrupted recovery ends in `want`: the recovery's
/// power is cut at its first sync, then its second, … until it completes without reaching
/// the cut; each time the disk is mounted again and checked, and must end in `want`.
fn recovery_cuts(cx: &Ctx, opts: &PowerCuts, n: u64, want: Which, t: &mut Tally) {
    let mut m = opts.recovery_point.unwrap_or(1);
    loop {
        let replay = replay(cx, opts, &format!("--point {n} --recovery-point {m}"));
        if m > SYNCS_MAX {
            t.failures.push(Failure {
                replay,
                why: "the recovery never completed".into(),
            });
            return;
        }
        let seen = match trial(cx, opts, Cut::AtSync(n), Some(m)) {
            Ok(seen) => seen,
            Err(e) => {
                t.recovery_tried += 1;
                t.failures.push(Failure { replay, why: e });
                return;
            }
        };
        if seen.recovery_completed {
            // It never reached sync m: the check ran on an uninterrupted recovery.
            if seen.which != want {
                t.failures.push(Failure {
                    replay,
                    why: format!("the same cut recovered {want:?} once, {:?} now", seen.which),
                });
            }
            return;
        }
        t.recovery_tried += 1;
        if seen.which == want {
            t.recovery_passed += 1;
        } else {
            t.failures.push(Failure {
                replay,
                why: format!(
                    "an uninterrupted recovery ends {want:?}, one cut at its sync {m} {:?}",
                    seen.which
                ),
            });
        }
        if opts.recovery_point.is_some() {
            return;
        }
        m += 1;
    }
}

/// One trial: the command on the mount, the power cut as `cut` says (at the end, when the
/// command never reached it), a remount, the checks. With `recovery_cut`, the read command
/// that recovers first runs on a mount cut at its `recovery_cut`-th sync, and the disk is
/// mounted a third time for the checks.
fn trial(cx: &Ctx, opts: &PowerCuts, cut: Cut, recovery_cut: Option<u64>) -> Result<Seen, String> {
    let work = cx.fresh("pc");
    let root = work_root(cx);
    let disk = cx.world.root.join("disk");
    let mut m = Mount::over(opts, &root, &disk, cut)?;
    let r = cx.run(&work, &[], &cx.prepared.command);
    if r.stderr.contains("panicked") {
        return Err(format!("skillwal panicked: {}", r.describe()));
    }
    let (completed, mut what, counters) = match m.status()? {
        Power::On { calls, syncs } => {
            // Not cut: the command never reached the cut. It must have succeeded.
            if !r.ok() {
                return Err(format!("failed without a power cut: {}", r.describe()));
            }
            m.send("cut")?;
            (true, m.cut_line()?, Some((calls, syncs)))
        }
        Power::Cut(line) => (false, line, None),
    };
    let armed = recovery_cut.filter(|_| !completed);
    m.remount(armed, &what)?;
    let mut recovery_completed = armed.is_none();
    if armed.is_some() {
        let (at, open) = cx.recovering_cmd(&work, armed.unwrap_or(1));
        let rr = cx.run(&at, &[], &open);
        if rr.stderr.contains("panicked") {
            return Err(format!("the recovery panicked: {} ({what})", rr.describe()));
        }
        match m.status()? {
            Power::On { .. } => {
                if !rr.ok() {
                    return Err(format!(
                        "the recovery failed without a power cut: {} ({what})",
                        rr.describe()
                    ));
                }
                // Disarmed by a cut that keeps everything (as a kill does), so that the
                // checks run on a mount that no longer cuts.
                recovery_completed = true;
                m.send("cut kill 0")?;
                m.cut_line()?;
            }
            Power::Cut(line) => what = format!("{what}; in the recovery, {line}"),
        }
        m.remount(None, &what)?;
    }
    let checked = cx.check_recovered_from(&work, false);
    let done = m.finish();
    let (which, line) = checked.map_err(|e| format!("{e} ({what})"))?;
    done?;
    if completed && which != Which::After {
        return Err(format!(
            "the command had returned success, but {which:?} it after the cut ({what})"
        ));
    }
    Ok(Seen {
        which,
        line,
        completed,
        survived_cut: !completed && r.ok(),
        recovery_completed,
        counters,
    })
}
