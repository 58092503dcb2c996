//! What a user pays for `deploy`: skillwal's against the Python `skillmeat` 0.74.0's, for 1
//! and for 50 skills into a fresh project, each command run as a user runs it (a process,
//! start-up included), interleaved, several rounds; medians and the ratio, measured in the
//! same run. `skillmeat --version` is timed too, so the Python tool's start-up can be told
//! from its deploy (which also writes a tarball of the whole collection after each deploy).
//!
//! Needs `target/release/skillwal` (`cargo build --release`; `SKILLWAL_BIN` overrides) and
//! the Python tool (`SKILLWAL_SKILLMEAT`, else `tools/python-compat/setup.sh`'s venv at
//! `target/skillmeat-venv`). Runs under `target/skillwal-bench-deploy` (not `/tmp`, which
//! may be a tmpfs). `SKILLWAL_BENCH_ROUNDS` sets the rounds (default 7).
//!
//! ```sh
//! cargo build --release && cargo bench -p skillwal-benches --bench deploy_cost
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SKILLS: usize = 50;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is in the repository")
        .to_path_buf()
}

fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
}

fn skillwal_bin() -> PathBuf {
    std::env::var_os("SKILLWAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target().join("release/skillwal"))
}

fn skillmeat_bin() -> PathBuf {
    std::env::var_os("SKILLWAL_SKILLMEAT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/skillmeat-venv/bin/skillmeat"))
}

struct World {
    root: PathBuf,
    user: PathBuf,
}

impl World {
    fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("HOME", &self.user)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            .env("SKILLWAL_HOME", self.user.join(".skillmeat"))
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        c
    }

    /// Runs `program args`, which must succeed; its wall time.
    fn timed(&self, program: &Path, args: &[String]) -> Duration {
        let start = Instant::now();
        let out = self
            .cmd(program)
            .args(args)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("runs");
        let t = start.elapsed();
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; a filter or `--test` is not supported here.
    let sw = skillwal_bin();
    let sm = skillmeat_bin();
    for (what, p) in [("skillwal", &sw), ("skillmeat", &sm)] {
        if !p.is_file() {
            eprintln!(
                "deploy_cost: no {what} at {} (see the bench's documentation); nothing measured",
                p.display()
            );
            std::process::exit(1);
        }
    }
    let rounds: usize = std::env::var("SKILLWAL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let root = target().join("skillwal-bench-deploy");
    let _ = std::fs::remove_dir_all(&root);
    let user = root.join("user");
    std::fs::create_dir_all(&user).expect("mkdir");
    let w = World {
        root: root.clone(),
        user: user.clone(),
    };
    eprintln!("skillwal: {}\nskillmeat: {}", sw.display(), sm.display());
    // One collection both tools use: 50 skills of 3 files of 4 KiB (as update_cost's).
    w.timed(&sw, &["init".into()]);
    let names: Vec<String> = (0..SKILLS).map(|i| format!("skill-{i:02}")).collect();
    for n in &names {
        let src = root.join("src").join(n);
        std::fs::create_dir_all(&src).expect("mkdir");
        let filler = "x".repeat(4000);
        std::fs::write(
            src.join("SKILL.md"),
            format!("---\nname: {n}\ndescription: {n}\n---\n{filler}\n"),
        )
        .expect("write");
        std::fs::write(src.join("reference.md"), &filler).expect("write");
        std::fs::write(src.join("run.sh"), format!("#!/bin/sh\n#{filler}\n")).expect("write");
        w.timed(
            &sw,
            &["add".into(), "skill".into(), src.display().to_string()],
        );
    }
    // The Python tool sets up its cache database on its first use: once, untimed, as for a
    // user who has used it before.
    let warm = root.join("p-warm-up");
    std::fs::create_dir_all(&warm).expect("mkdir");
    w.timed(&sm, &["list".into()]);
    w.timed(
        &sm,
        &[
            "deploy".into(),
            names[0].clone(),
            "--project".into(),
            warm.display().to_string(),
            "--overwrite".into(),
        ],
    );
    let _ = Command::new("sync").status();
    let mut version = Vec::new();
    let mut results = Vec::new();
    for count in [1, SKILLS] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            for (tool, times) in [("sw", &mut ours), ("py", &mut theirs)] {
                let project = root.join(format!("p-{tool}-{count}-{r}"));
                std::fs::create_dir_all(&project).expect("mkdir");
                let mut args: Vec<String> = vec!["deploy".into()];
                args.extend(names[..count].iter().cloned());
                args.push("--project".into());
                args.push(project.display().to_string());
                if tool == "py" {
                    args.push("--overwrite".into());
                    times.push(w.timed(&sm, &args));
                } else {
                    times.push(w.timed(&sw, &args));
                }
            }
            if count == 1 {
                version.push(w.timed(&sm, &["--version".into()]));
            }
        }
        results.push((count, median(&mut ours), median(&mut theirs)));
    }
    let startup = median(&mut version);
    println!(
        "\ndeploy into a fresh project, median of {rounds} interleaved rounds (wall time, process start-up included):\n"
    );
    println!("| skills | skillwal | skillmeat 0.74 | ratio (skillwal / skillmeat) |");
    println!("|---:|---:|---:|---:|");
    for (count, ours, theirs) in &results {
        println!(
            "| {count} | {:.1} ms | {:.0} ms | {:.3} |",
            ms(*ours),
            ms(*theirs),
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
    println!(
        "\n`skillmeat --version` (start-up alone): {:.0} ms median.",
        ms(startup)
    );
    let _ = std::fs::remove_dir_all(&root);
}
