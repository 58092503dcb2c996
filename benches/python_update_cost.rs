//! What a user pays for `update` of one artifact: skillwal's binary against the Python
//! `skillmeat` 0.74.0's, on collections of 100 and 1,000 skills (3 files of 4 KiB each, as
//! `update_cost`'s), each command run as a user runs it (a process, start-up included),
//! interleaved (the order alternating each round), several rounds; medians and the ratio,
//! measured in the same run. Each tool has its own copy of the same collection; before each
//! round one skill's local source gains a line, and both tools update that skill
//! (`--strategy upstream`). skillwal fetches the source and writes the new files (checked
//! after each round, or the bench stops). The Python tool's update of an artifact added
//! from a local path does less: it does not read the source, only "refreshes" the
//! artifact's metadata and lock hash from the collection's own copy — after a tarball of
//! the whole collection, its safety net (an update from GitHub needs the network, which
//! the bench does not use). `skillmeat --version` is timed too, so that the Python tool's
//! start-up can be told from its update.
//!
//! Needs `target/release/skillwal` (`cargo build --release`; `SKILLWAL_BIN` overrides) and
//! the Python tool (`SKILLWAL_SKILLMEAT`, else `tools/python-compat/setup.sh`'s venv at
//! `target/skillmeat-venv`). Runs under `target/skillwal-bench-pyupdate` (not `/tmp`, which
//! may be a tmpfs). `SKILLWAL_BENCH_ROUNDS` sets the rounds (default 7).
//!
//! ```sh
//! cargo build --release && cargo bench -p skillwal-benches --bench python_update_cost
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SIZES: [usize; 2] = [100, 1000];

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

/// One user: a home directory holding `~/.skillmeat/` (config and collections).
struct User {
    root: PathBuf,
    home: PathBuf,
}

impl User {
    fn cmd(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            .env("SKILLWAL_HOME", self.home.join(".skillmeat"))
            .current_dir(&self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        c
    }

    /// Runs `program args`, which must succeed; its wall time.
    fn timed(&self, program: &Path, args: &[&str]) -> Duration {
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

    /// The collection's copy of `name`'s `SKILL.md`.
    fn skill_md(&self, name: &str) -> Vec<u8> {
        let p = self
            .home
            .join(".skillmeat/collections/default/skills")
            .join(name)
            .join("SKILL.md");
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -a {} {}", from.display(), to.display());
}

fn main() {
    let sw = skillwal_bin();
    let sm = skillmeat_bin();
    for (what, p) in [("skillwal", &sw), ("skillmeat", &sm)] {
        if !p.is_file() {
            eprintln!(
                "python_update_cost: no {what} at {} (see the bench's documentation); nothing measured",
                p.display()
            );
            std::process::exit(1);
        }
    }
    let rounds: usize = std::env::var("SKILLWAL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let root = target().join("skillwal-bench-pyupdate");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("mkdir");
    eprintln!("skillwal: {}\nskillmeat: {}", sw.display(), sm.display());
    let filler = "x".repeat(4000);
    let mut version = Vec::new();
    let mut results = Vec::new();
    for n in SIZES {
        let base = root.join(format!("n{n}"));
        let src = base.join("src");
        // Built once with skillwal (one `add` per skill), then copied for each tool.
        let maker = User {
            root: base.clone(),
            home: base.join("made"),
        };
        std::fs::create_dir_all(&maker.home).expect("mkdir");
        maker.timed(&sw, &["init"]);
        let names: Vec<String> = (0..n).map(|i| format!("skill-{i:04}")).collect();
        for name in &names {
            let dir = src.join(name);
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(
                dir.join("SKILL.md"),
                format!("---\nname: {name}\ndescription: {name}\n---\n{filler}\n"),
            )
            .expect("write");
            std::fs::write(dir.join("reference.md"), &filler).expect("write");
            std::fs::write(dir.join("run.sh"), format!("#!/bin/sh\n#{filler}\n")).expect("write");
            maker.timed(&sw, &["add", "skill", &dir.display().to_string()]);
        }
        let ours = User {
            root: base.clone(),
            home: base.join("skillwal-user"),
        };
        let theirs = User {
            root: base.clone(),
            home: base.join("skillmeat-user"),
        };
        copy_dir(&maker.home, &ours.home);
        copy_dir(&maker.home, &theirs.home);
        // The Python tool sets up its cache database on its first use: once, untimed, as
        // for a user who has used it before.
        theirs.timed(&sm, &["list"]);
        let _ = Command::new("sync").status();
        let (mut t_ours, mut t_theirs) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            // A different skill each round, spread over the collection.
            let name = &names[(r * 7919) % n];
            let md = src.join(name).join("SKILL.md");
            let mut text = std::fs::read_to_string(&md).expect("read source");
            text.push_str(&format!("round {r}\n"));
            std::fs::write(&md, text).expect("write source");
            let args = ["update", name.as_str(), "--strategy", "upstream"];
            if r % 2 == 0 {
                t_ours.push(ours.timed(&sw, &args));
                t_theirs.push(theirs.timed(&sm, &args));
            } else {
                t_theirs.push(theirs.timed(&sm, &args));
                t_ours.push(ours.timed(&sw, &args));
            }
            let want = std::fs::read(&md).expect("read source");
            assert_eq!(ours.skill_md(name), want, "skillwal did not update {name}");
            if n == SIZES[0] {
                version.push(theirs.timed(&sm, &["--version"]));
            }
        }
        results.push((n, median(&mut t_ours), median(&mut t_theirs)));
        let _ = std::fs::remove_dir_all(&base);
    }
    let startup = median(&mut version);
    println!(
        "\n`update` of one skill (3 files of 4 KiB), median of {rounds} interleaved rounds (wall time, process start-up included):\n"
    );
    println!("| skills | skillwal | skillmeat 0.74 | skillmeat ÷ skillwal |");
    println!("|---:|---:|---:|---:|");
    for (n, ours, theirs) in &results {
        println!(
            "| {n} | {:.1} ms | {:.0} ms | {:.0}× |",
            ms(*ours),
            ms(*theirs),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
    println!(
        "\n`skillmeat --version` (start-up alone): {:.0} ms median.",
        ms(startup)
    );
    let _ = std::fs::remove_dir_all(&root);
}
