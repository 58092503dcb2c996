//! `--mode powercut`: the command runs on `tools/powercut`, a FUSE file system that keeps
//! everything in memory until it is made durable, and the power is cut at its N-th sync
//! (`fsync`, `fdatasync` or a directory's), for N = 1, 2, … until the command no longer
//! reaches it, and once after it returned success; then the disk the cut left is mounted
//! again (same inode numbers) and checked as after a kill: a read command recovers, the
//! state is exactly before or after (after, when the command had returned success), the
//! journal idle, `verify` as without a crash, the next update works.

use crate::modes::{Ctx, Tally, outcome_name};
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
    /// powercut over it, armed to cut at `sync`.
    fn over(
        opts: &PowerCuts,
        work: &Path,
        disk: &Path,
        sync: Option<u64>,
    ) -> Result<Mount, String> {
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
        if let Some(n) = sync {
            c.args(["--cut-at-sync", &n.to_string()]);
        }
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

pub fn power_cuts(cx: &Ctx, opts: &PowerCuts) -> Tally {
    let mut t = Tally::default();
    let mut n = opts.point.unwrap_or(1);
    let mut last: Option<(u64, Which)> = None;
    loop {
        let replay = format!(
            "--scenario {} --mode powercut --model {} --seed {} --point {n}",
            cx.scenario, opts.model, opts.seed
        );
        if n > SYNCS_MAX {
            t.fail(replay, format!("still syncing after {SYNCS_MAX} syncs"));
            break;
        }
        match trial(cx, opts, Some(n)) {
            Ok((which, line, completed)) => {
                if let Some((p, Which::After)) = last
                    && which == Which::Before
                {
                    t.fail(
                        replay,
                        format!("after at sync {p} but before at the later sync {n}"),
                    );
                } else {
                    t.pass(outcome_name(which, &line));
                }
                last = Some((n, which));
                if completed || opts.point.is_some() {
                    break;
                }
            }
            Err(e) => {
                t.fail(replay, e);
                break;
            }
        }
        n += 1;
    }
    if opts.point.is_none() {
        // The power cut once the command has returned success: only after may survive.
        let replay = format!(
            "--scenario {} --mode powercut --model {} --seed {} (after success)",
            cx.scenario, opts.model, opts.seed
        );
        match trial(cx, opts, None) {
            Ok((Which::After, line, true)) => t.pass(&format!(
                "{}, cut after success",
                outcome_name(Which::After, &line)
            )),
            Ok((which, _, _)) => t.fail(
                replay,
                format!("{which:?} after a cut that followed the command's success"),
            ),
            Err(e) => t.fail(replay, e),
        }
    }
    t
}

/// One trial: the command on the mount, the power cut at `sync` (or, `None`, after it
/// returned success), a remount, the checks. Returns the state, the recovery line, and
/// whether the command completed (it never reached the sync).
fn trial(
    cx: &Ctx,
    opts: &PowerCuts,
    sync: Option<u64>,
) -> Result<(Which, Option<String>, bool), String> {
    let work = cx.fresh("pc");
    let root = work_root(cx);
    let disk = cx.world.root.join("disk");
    let mut m = Mount::over(opts, &root, &disk, sync)?;
    let r = cx.run(&work, &[], &cx.prepared.command);
    if r.stderr.contains("panicked") {
        return Err(format!("skillwal panicked: {}", r.describe()));
    }
    // Mounted, powercut answers `status N N N`; after a cut at the sync, it printed
    // `cut: …` already and answers `status unmounted`.
    m.send("status")?;
    let first = m.line()?;
    let (completed, what) = if first.starts_with("status ") {
        // Not cut: the command never reached the sync. It must have succeeded.
        if !r.ok() {
            return Err(format!("failed without a power cut: {}", r.describe()));
        }
        m.send("cut")?;
        (true, m.cut_line()?)
    } else if first.starts_with("cut: ") {
        let unmounted = m.line()?;
        if unmounted != "status unmounted" {
            return Err(format!("powercut said {unmounted:?} after the cut"));
        }
        (false, first)
    } else {
        return Err(format!("powercut said {first:?}"));
    };
    m.send("remount")?;
    let mounted = m.line()?;
    if mounted != "mounted" {
        return Err(format!("powercut did not remount: {mounted:?} ({what})"));
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
    Ok((which, line, completed))
}
