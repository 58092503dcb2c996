//! `crashtest`: attacks the built `skillwal` binary the way the world will — SIGKILL after
//! every mutating call (and again during the recovery), SIGKILL after random delays, and
//! ENOSPC/EIO/EACCES at every call — and checks after each attack that the collection is
//! exactly as before or exactly as after the command, that `verify` is clean, that the
//! journal is idle and that the next update works.
//!
//! The expected states are computed from the files alone (SHA-256 of every file; manifest
//! and lock parsed with `toml`; SkillMeat's content hash written out here again), never with
//! skillwal's code. A failure prints the arguments that replay it; the exit code is 1 when
//! anything failed.

mod modes;
mod powercut;
mod scenarios;
mod state;
mod world;

use clap::{Parser, ValueEnum};
use modes::{Ctx, Tally};
use scenarios::Set;
use state::Expected;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// In the bounded set, the recoveries are crashed after about this many of each command's
/// crash points (spread evenly, plus the first past the commit point and the last).
const RECOVERY_SAMPLES: u64 = 6;
/// The same for the scenarios the bounded set samples ([`Set::Sampled`]): 0, after the
/// first crash point past the commit point alone.
const RECOVERY_SAMPLES_SAMPLED: u64 = 0;
/// Random kills per scenario in the bounded set, and for the sampled scenarios there.
const ITERATIONS: u64 = 100;
const ITERATIONS_SAMPLED: u64 = 25;
/// Power cuts right after this many of the command's calls (drawn from the seed), and with
/// `--full`.
const POWERCUT_OPS: u64 = 8;
const POWERCUT_OPS_FULL: u64 = 64;
/// Without `--full`, the recovery's power is cut (at each of its syncs) after the first
/// cut that ends after alone: a trial there takes three mounts, and a recovery that rolls
/// forward makes dozens of syncs.
const POWERCUT_RECOVERY_SAMPLES: u64 = 0;

#[derive(Parser)]
#[command(
    about = "Crash, random-kill and error-injection harness for the skillwal binary",
    after_help = "Without --full: the bounded set CI runs — every crash point of each command; \
every call of the recovery after about 6 of them (spread evenly, plus the first past the commit \
point and the last); at every call one of ENOSPC, EIO, EACCES in turn; 100 random kills. The \
scenarios --list marks \"bounded, sampled\" crash the recovery only after the first crash \
point past the commit point and get 25 random kills. --full: every call of every recovery, every errno at every call, 1,000 random kills, and \
the scenarios outside the bounded set. \
--mode powercut (on tools/powercut; root and /dev/fuse): the cut after the command's success, at \
every sync, after 8 of its calls drawn from --seed, and, after the first cut that ends after, \
the recovery cut at every sync of its own; under drop-all. With --full: after 64 calls, every \
recovery cut, under drop-all, subset and torn."
)]
struct Args {
    /// The skillwal binary [default: `skillwal` beside this program]
    #[arg(long)]
    skillwal: Option<PathBuf>,
    /// Scenarios to run (repeatable) [default: the bounded set; all with --full]
    #[arg(long, value_parser = scenario_names())]
    scenario: Vec<String>,
    /// Modes to run (repeatable) [default: all]
    #[arg(long, value_enum)]
    mode: Vec<Mode>,
    /// Every scenario, and 1,000 random kills each
    #[arg(long)]
    full: bool,
    /// Deterministic/error mode: only this call; powercut mode: only this sync
    #[arg(long)]
    point: Option<u64>,
    /// Deterministic mode: only this call of the recovery after --point; powercut mode:
    /// only this sync of it
    #[arg(long, requires = "point")]
    recovery_point: Option<u64>,
    /// Deterministic and powercut modes: do not crash the recoveries
    #[arg(long)]
    no_recovery_crashes: bool,
    /// Random mode: the first iteration's seed [default: from the clock, printed]
    #[arg(long)]
    seed: Option<u64>,
    /// Random mode: kills per scenario [default: 100, 25 for the sampled ones; 1,000 with
    /// --full]
    #[arg(long)]
    iterations: Option<u64>,
    /// Random mode: stop each scenario after this many seconds
    #[arg(long)]
    seconds: Option<f64>,
    /// Error mode: only this errno (repeatable)
    #[arg(long, value_parser = ["ENOSPC", "EIO", "EACCES"])]
    errno: Vec<String>,
    /// Powercut mode: what a cut keeps of what was not durable, repeatable (the seed is
    /// --seed's) [default: drop-all; all three with --full]
    #[arg(long, value_parser = ["drop-all", "subset", "torn"])]
    model: Vec<String>,
    /// Powercut mode: only the cut right after this call (replay)
    #[arg(long, conflicts_with = "point")]
    op: Option<u64>,
    /// Powercut mode: cuts right after this many of the command's calls, drawn from --seed
    /// [default: 8; 64 with --full]
    #[arg(long)]
    ops: Option<u64>,
    /// Run every scenario's world on a file system of this kind made for it (tmpfs, or a
    /// 1 GiB sparse image on a loop device; root needed): the engine's renames, exchanges
    /// and syncs behave differently on each. `powercut` is `--mode powercut`: each trial's
    /// file system is tools/powercut
    #[arg(long, value_parser = fs_names())]
    fs: Option<String>,
    /// Powercut mode: the powercut binary [default: `powercut` beside this program]
    #[arg(long)]
    powercut: Option<PathBuf>,
    /// List the scenarios and exit
    #[arg(long)]
    list: bool,
    /// Scenarios run at once (each in its own directory tree)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=16))]
    jobs: u64,
    /// Run every skillwal child (setup included) under this umask, in octal, e.g. 077: the
    /// copies must keep their sources' permission bits whatever the umask
    #[arg(long, value_parser = parse_umask)]
    umask: Option<u32>,
    /// Print where skillwal keeps the state of the collection DIR, and exit (for the
    /// harness's own tests, which must find the journal without a second copy of the rule)
    #[arg(long, hide = true, value_name = "DIR")]
    print_state_dir: Option<PathBuf>,
}

fn parse_umask(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!("{s:?} is not an octal umask (000 to 777)")),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Deterministic,
    Random,
    Error,
    /// On tools/powercut, the power cut at every sync (not in the default modes)
    Powercut,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Deterministic => "deterministic",
            Mode::Random => "random",
            Mode::Error => "error",
            Mode::Powercut => "powercut",
        }
    }
}

/// `--fs`: the kinds a world can be made on, and `powercut`.
fn fs_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(world::FS_KINDS.iter().chain(&["powercut"]))
}

fn scenario_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(scenarios::ALL.iter().map(|s| s.name))
}

/// `--list`: one line per scenario, written through `w` so that a closed pipe is an error
/// to handle (println! would panic).
fn list_scenarios(w: &mut dyn std::io::Write) -> std::io::Result<()> {
    for s in scenarios::ALL {
        let set = match s.set {
            Set::Bounded => "bounded set",
            Set::Sampled => "bounded, sampled",
            Set::Full => "--full only",
        };
        writeln!(w, "{:<18} {:<16} {}", s.name, set, s.about)?;
    }
    w.flush()
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.fs.as_deref() == Some("powercut") {
        // Not a file system the world is made on: the mode that mounts one per trial.
        args.fs = None;
        if args.mode.iter().any(|m| *m != Mode::Powercut) {
            eprintln!("crashtest: --fs powercut is --mode powercut; it takes no other mode");
            return ExitCode::from(2);
        }
        args.mode = vec![Mode::Powercut];
    }
    if let Some(dir) = &args.print_state_dir {
        println!("{}", state::state_dir(dir).display());
        return ExitCode::SUCCESS;
    }
    if args.list {
        return match list_scenarios(&mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            // The reader went away (`crashtest --list | head -1`): nothing more to say.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("crashtest: writing the list failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let bin = match args.skillwal.clone().or_else(|| {
        let me = std::env::current_exe().ok()?;
        Some(me.parent()?.join("skillwal"))
    }) {
        // Absolute: the children run in the world's root, where a relative path means
        // something else.
        Some(b) if b.is_file() => std::path::absolute(&b).unwrap_or(b),
        other => {
            eprintln!(
                "crashtest: the skillwal binary {} does not exist; build it first (`cargo build --release --workspace`) or pass --skillwal PATH",
                other.map(|p| p.display().to_string()).unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    let chosen: Vec<&scenarios::Scenario> = if args.scenario.is_empty() {
        scenarios::ALL
            .iter()
            .filter(|s| args.full || s.set != Set::Full)
            .collect()
    } else {
        args.scenario
            .iter()
            .map(|n| scenarios::by_name(n).expect("clap checked the name"))
            .collect()
    };
    let modes = if args.mode.is_empty() {
        vec![Mode::Deterministic, Mode::Random, Mode::Error]
    } else {
        args.mode.clone()
    };
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let umask = args
        .umask
        .map(|m| format!(" --umask {m:03o}"))
        .unwrap_or_default();
    if let Ok(v) = std::env::var(world::SKIP_SYNC_ENV) {
        println!(
            "crashtest: a mutant: skillwal runs with {}={v} (those syncs left out)",
            world::SKIP_SYNC_ENV
        );
    }
    println!(
        "crashtest: {}{umask} (random seed {seed}, {} scenarios at a time{})",
        bin.display(),
        args.jobs,
        args.fs
            .as_deref()
            .map(|k| format!(", each on a new {k} file system"))
            .unwrap_or_default()
    );

    let started = Instant::now();
    let mut total = Tally::default();
    let mut all_failures = Vec::new();
    let run = Run {
        args: &args,
        bin: &bin,
        umask: &umask,
        modes: &modes,
        seed,
    };
    // Scenarios are independent (each has its own world: home, sources, working copies),
    // and a trial spends most of its time waiting for skillwal's syncs, so `--jobs`
    // scenarios run at once; each one's lines are printed together, in the listed order.
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    let outcome = std::thread::scope(|scope| {
        for _ in 0..(args.jobs as usize).min(chosen.len()) {
            let (tx, next, chosen, run) = (tx.clone(), &next, &chosen, &run);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(sc) = chosen.get(i) else { break };
                    if tx.send((i, run.scenario(sc))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut done: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut printed = 0;
        for (i, o) in rx {
            done.insert(i, o);
            while let Some(o) = done.remove(&printed) {
                printed += 1;
                print!("{}", o.lines);
                match o.result {
                    Err(code) => return Err(code),
                    Ok(t) => {
                        total.tried += t.tried;
                        total.passed += t.passed;
                        total.recovery_tried += t.recovery_tried;
                        total.recovery_passed += t.recovery_passed;
                    }
                }
                all_failures.extend(o.failures);
            }
        }
        Ok(())
    });
    if let Err(code) = outcome {
        return code;
    }
    let failed = (total.tried - total.passed) + (total.recovery_tried - total.recovery_passed);
    println!(
        "total: {} trials, {} passed; {} crash points during recovery, {} passed; {} failed ({:.0} s)",
        total.tried,
        total.passed,
        total.recovery_tried,
        total.recovery_passed,
        failed.max(all_failures.len() as u64),
        started.elapsed().as_secs_f64()
    );
    if all_failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("\nfailures (each line replays one):");
    for f in all_failures.iter().take(50) {
        println!("  {f}");
    }
    if all_failures.len() > 50 {
        println!("  … and {} more", all_failures.len() - 50);
    }
    ExitCode::from(1)
}

/// What every scenario's run shares.
struct Run<'a> {
    args: &'a Args,
    bin: &'a PathBuf,
    /// ` --umask 077`, or nothing: part of every replay line.
    umask: &'a str,
    modes: &'a [Mode],
    seed: u64,
}

/// One scenario's report: its lines, its failures (each with the line that replays it), and
/// its counts; `Err` when the harness itself could not run.
struct Outcome {
    lines: String,
    failures: Vec<String>,
    result: Result<Tally, ExitCode>,
}

impl Run<'_> {
    fn scenario(&self, sc: &scenarios::Scenario) -> Outcome {
        let (args, bin, umask) = (self.args, self.bin, self.umask);
        let mut out = Outcome {
            lines: String::new(),
            failures: Vec::new(),
            result: Ok(Tally::default()),
        };
        let world = match world::World::new(bin, args.umask, sc.other_fs, args.fs.as_deref()) {
            Ok(w) => w,
            Err(e) if sc.other_fs || args.fs.is_some() => {
                out.lines = format!("{:<18} skipped: {e}\n", sc.name);
                return out;
            }
            Err(e) => {
                out.lines = format!("crashtest: {e}\n");
                out.result = Err(ExitCode::from(2));
                return out;
            }
        };
        let (prepared, expected) = match prepare(&world, sc) {
            Ok(p) => p,
            Err(e) => {
                out.lines = format!("{:<18} setup FAILED\n", sc.name);
                out.failures.push(format!(
                    "crashtest --skillwal {}{umask} --scenario {}\n    setup: {}",
                    bin.display(),
                    sc.name,
                    e.replace('\n', "\n    ")
                ));
                return out;
            }
        };
        let sampled = !args.full && sc.set == Set::Sampled;
        let iterations = args.iterations.unwrap_or(match (args.full, sampled) {
            (true, _) => 1_000,
            (false, true) => ITERATIONS_SAMPLED,
            (false, false) => ITERATIONS,
        });
        let cx = Ctx {
            world: &world,
            scenario: sc.name,
            prepared: &prepared,
            expected: &expected,
        };
        let mut total = Tally::default();
        let powercut_bin = args.powercut.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|me| Some(me.parent()?.join("powercut")))
                .unwrap_or_else(|| PathBuf::from("powercut"))
        });
        for mode in self.modes {
            let t0 = Instant::now();
            let tally = match mode {
                Mode::Deterministic => modes::deterministic(
                    &cx,
                    &modes::Deterministic {
                        point: args.point,
                        recovery_point: args.recovery_point,
                        recovery_crashes: !args.no_recovery_crashes,
                        recovery_samples: (!args.full && args.point.is_none()).then_some(
                            if sampled {
                                RECOVERY_SAMPLES_SAMPLED
                            } else {
                                RECOVERY_SAMPLES
                            },
                        ),
                    },
                ),
                Mode::Random => modes::random(
                    &cx,
                    &modes::Random {
                        seed: self.seed,
                        iterations,
                        seconds: args.seconds,
                    },
                ),
                Mode::Error => modes::errors(
                    &cx,
                    &modes::Errors {
                        errnos: if args.errno.is_empty() {
                            modes::ERRNOS.iter().map(|(n, _)| *n).collect()
                        } else {
                            modes::ERRNOS
                                .iter()
                                .map(|(n, _)| *n)
                                .filter(|n| args.errno.iter().any(|e| e == n))
                                .collect()
                        },
                        point: args.point,
                        every_errno_at_every_call: args.full || !args.errno.is_empty(),
                    },
                ),
                Mode::Powercut => {
                    // One line per model, each a tally of its own.
                    let models: Vec<&str> = match (&args.model[..], args.full) {
                        ([], false) => vec!["drop-all"],
                        ([], true) => vec!["drop-all", "subset", "torn"],
                        (m, _) => m.iter().map(String::as_str).collect(),
                    };
                    for model in models {
                        let t0 = Instant::now();
                        let tally = powercut::power_cuts(
                            &cx,
                            &powercut::PowerCuts {
                                bin: powercut_bin.clone(),
                                model: model.to_string(),
                                seed: self.seed,
                                point: args.point,
                                op: args.op,
                                recovery_point: args.recovery_point,
                                op_samples: args.ops.unwrap_or(if args.full {
                                    POWERCUT_OPS_FULL
                                } else {
                                    POWERCUT_OPS
                                }),
                                recovery_cuts: !args.no_recovery_crashes,
                                recovery_samples: (!args.full).then_some(POWERCUT_RECOVERY_SAMPLES),
                            },
                        );
                        self.record(
                            &mut out,
                            &mut total,
                            sc.name,
                            &format!("powercut:{model}"),
                            tally,
                            t0.elapsed().as_secs_f64(),
                        );
                    }
                    continue;
                }
            };
            self.record(
                &mut out,
                &mut total,
                sc.name,
                mode.name(),
                tally,
                t0.elapsed().as_secs_f64(),
            );
        }
        out.result = Ok(total);
        out
    }

    /// Adds one mode's tally to the scenario's report and total.
    fn record(
        &self,
        out: &mut Outcome,
        total: &mut Tally,
        scenario: &str,
        mode: &str,
        tally: Tally,
        secs: f64,
    ) {
        out.lines.push_str(&report(scenario, mode, &tally, secs));
        for f in &tally.failures {
            out.failures.push(format!(
                "crashtest --skillwal {}{} {}\n    {}",
                self.bin.display(),
                self.umask,
                f.replay,
                f.why.replace('\n', "\n    ")
            ));
        }
        total.tried += tally.tried;
        total.passed += tally.passed;
        total.recovery_tried += tally.recovery_tried;
        total.recovery_passed += tally.recovery_passed;
    }
}

/// Builds the scenario's starting collection, runs the command once uninterrupted on a copy
/// and checks that copy against the model; returns the before and after states.
fn prepare(
    world: &world::World,
    sc: &scenarios::Scenario,
) -> Result<(scenarios::Prepared, Expected), String> {
    let prepared = sc.prepare(world)?;
    let pair = prepared.partner.is_some();
    let reference = world.scratch("reference");
    // Before the command runs: the reference copy is the uninterrupted run.
    let mut units = vec![(
        prepared.start.clone(),
        reference.clone(),
        &prepared.model,
        0,
    )];
    if let Some(m) = &prepared.partner {
        units.push((
            world.partner_of(&prepared.start),
            world.partner_of(&reference),
            m,
            1,
        ));
    }
    let project = |i: usize| i == 1 && prepared.partner_project;
    let mut befores = Vec::new();
    for (start, _, _, i) in &units {
        // A project has no `verify`; what it must hold is checked by `check_project`.
        let clean = if project(*i) {
            true
        } else {
            verify_clean(world, start)?
        };
        befores.push((state::tree(start)?, clean));
    }
    world.copy_unit(&prepared.start, &reference, pair)?;
    let r = world.run_in(&reference, &[], &prepared.command);
    if !r.ok() {
        return Err(format!(
            "the uninterrupted command failed: {}",
            r.describe()
        ));
    }
    let mut expected: Vec<Expected> = Vec::new();
    for ((start, after, model, i), (before, clean_before)) in units.iter().zip(befores) {
        let which = if *i == 0 {
            ""
        } else {
            " in the second collection"
        };
        if project(*i) {
            state::check_project(&reference, after).map_err(|e| {
                format!("the uninterrupted command did not do what it must in the project: {e}")
            })?;
            expected.push(Expected {
                before,
                after_masked: state::masked(&state::tree(after)?),
                clean_before: true,
                clean_after: true,
                partner: None,
            });
            continue;
        }
        state::check_model(start, after, model).map_err(|e| {
            format!("the uninterrupted command did not do what it must{which}: {e}")
        })?;
        let clean_after = verify_clean(world, after)?;
        for (state, want, got) in [
            ("before", prepared.verify_clean[0], clean_before),
            ("after", prepared.verify_clean[1], clean_after),
        ] {
            if want.is_some_and(|w| w != got) {
                let word = |clean: bool| if clean { "clean" } else { "not clean" };
                return Err(format!(
                    "`verify` finds the collection{which} {state} the command {}; it must be {}",
                    word(got),
                    word(!got)
                ));
            }
        }
        expected.push(Expected {
            before,
            after_masked: state::masked(&state::tree(after)?),
            clean_before,
            clean_after,
            partner: None,
        });
    }
    if !expected.iter().any(Expected::changes) {
        return Err("the command changes nothing".into());
    }
    let mut first = expected.remove(0);
    first.partner = expected.pop().map(Box::new);
    Ok((prepared, first))
}

/// Whether `verify` finds the collection `dir` clean (exit 0) or reports problems (exit 1),
/// run on a copy.
fn verify_clean(world: &world::World, dir: &std::path::Path) -> Result<bool, String> {
    let copy = world.scratch("verify");
    world::copy_collection(dir, &copy)?;
    let r = world.run_in(&copy, &[], &["verify".to_string()]);
    match r.code {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!("verify failed: {}", r.describe())),
    }
}

/// One line per scenario and mode, and one with how the passed trials ended.
fn report(scenario: &str, mode: &str, t: &Tally, secs: f64) -> String {
    let failed = t.failures.len();
    let mut line = format!(
        "{scenario:<18} {mode:<17} tried {:>5}  passed {:>5}  failed {failed:>3}",
        t.tried, t.passed
    );
    if t.recovery_tried > 0 {
        line.push_str(&format!(
            "  | recovery crash points {:>5} passed {:>5}",
            t.recovery_tried, t.recovery_passed
        ));
    }
    line.push_str(&format!("  ({secs:.1} s)\n"));
    let outcomes: Vec<String> = t
        .outcomes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if !outcomes.is_empty() {
        line.push_str(&format!("{:<32} {}\n", "", outcomes.join("; ")));
    }
    line
}
