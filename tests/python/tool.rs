//! The real Python `skillmeat` 0.74.0 for tests that drive both tools on one collection
//! inside a [`Sandbox`](super::support::Sandbox), with the rules of `tests/python_compat.rs`:
//! `SKILLWAL_SKILLMEAT` names the executable; without it,
//! `tools/python-compat/setup.sh target/skillmeat-venv` is run once per test binary. When
//! neither works the test prints `SKIPPED` and passes, unless
//! `SKILLWAL_REQUIRE_PYTHON_COMPAT=1` (CI), where it fails with the output of the setup.
//!
//! The Python tool runs with the sandbox's `HOME` (never the real one), so its collection is
//! `<sandbox user home>/.skillmeat/collections/default`; skillwal is pointed at the same home
//! with `--home` ([`Both::sw`]).
#![allow(dead_code)]

use super::support::{Run, Sandbox};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const REQUIRE_ENV: &str = "SKILLWAL_REQUIRE_PYTHON_COMPAT";
const TOOL_ENV: &str = "SKILLWAL_SKILLMEAT";
/// One skillmeat call takes ~3 s; setup.sh ~35 s the first time.
const PY_TIMEOUT: Duration = Duration::from_secs(180);
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);

static TOOL: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Runs `cmd` with stdin closed, killing it after `timeout`: (exit code, stdout, stderr).
fn run(cmd: &mut std::process::Command, timeout: Duration) -> (Option<i32>, String, String) {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let code = status.and_then(|s| s.code());
    (
        code,
        out.join().expect("stdout"),
        err.join().expect("stderr"),
    )
}

fn find_tool() -> Result<PathBuf, String> {
    let exe = match std::env::var_os(TOOL_ENV).filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let mut cmd = std::process::Command::new("bash");
            cmd.args(["tools/python-compat/setup.sh", "target/skillmeat-venv"])
                .current_dir(REPO);
            let (code, out, err) = run(&mut cmd, SETUP_TIMEOUT);
            if code != Some(0) {
                return Err(format!(
                    "`bash tools/python-compat/setup.sh target/skillmeat-venv` failed ({code:?}):\n--- stdout\n{out}--- stderr\n{err}"
                ));
            }
            match out.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(last) => PathBuf::from(last.trim()),
                None => return Err(format!("setup.sh printed no path:\n{err}")),
            }
        }
    };
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!("{} is not a file", exe.display()))
    }
}

/// The `skillmeat` executable, or `None` after a loud SKIPPED message; panics instead when
/// `SKILLWAL_REQUIRE_PYTHON_COMPAT=1`.
pub fn skillmeat_or_skip(test: &str) -> Option<PathBuf> {
    match TOOL.get_or_init(find_tool) {
        Ok(p) => Some(p.clone()),
        Err(msg) => {
            if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_ENV}=1 but the Python skillmeat 0.74.0 tool is not available:\n{msg}"
                );
            }
            // Straight to stderr, which the harness does not capture: a skip must be seen.
            let line = format!(
                "\n**********\nSKIPPED: {test}: the Python skillmeat 0.74.0 tool is not available \
                 (set {TOOL_ENV}, or make python3 >= 3.9 and PyPI reachable; \
                 {REQUIRE_ENV}=1 turns this into a failure):\n{msg}\n**********\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

/// Both tools on the default collection of the sandbox's `HOME`.
pub struct Both<'a> {
    pub sb: &'a Sandbox,
    pub skillmeat: PathBuf,
}

impl Both<'_> {
    /// `~/.skillmeat` of the sandbox's `HOME`: the Python tool's home, and skillwal's.
    pub fn home(&self) -> PathBuf {
        self.sb.user_home.join(".skillmeat")
    }

    /// The default collection.
    pub fn coll(&self) -> PathBuf {
        self.home().join("collections/default")
    }

    /// `skillwal --home ~/.skillmeat ARGS`.
    pub fn sw(&self, args: &[&str]) -> Run {
        let home = self.home().display().to_string();
        let mut all = vec!["--home", home.as_str()];
        all.extend_from_slice(args);
        self.sb.run(&all)
    }

    /// `skillmeat ARGS` with the sandbox's `HOME`, stdin closed, plain output; asserts exit 0
    /// and returns stdout.
    #[track_caller]
    pub fn py(&self, args: &[&str]) -> String {
        let mut cmd = self
            .sb
            .std_cmd(self.skillmeat.to_str().expect("utf-8 path"));
        cmd.args(args)
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("COLUMNS", "200")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("SKILLWAL_HOME");
        let (code, out, err) = run(&mut cmd, PY_TIMEOUT);
        assert_eq!(
            code,
            Some(0),
            "skillmeat {args:?} failed\n--- stdout\n{out}--- stderr\n{err}"
        );
        out
    }

    /// Whether the manifest holds any of skillwal's own artifact fields.
    pub fn manifest_has_skillwal_fields(&self) -> bool {
        std::fs::read_to_string(self.coll().join("collection.toml"))
            .expect("manifest")
            .contains("skillwal_")
    }
}

/// Whether `p` exists (links not followed).
pub fn exists(p: &Path) -> bool {
    p.symlink_metadata().is_ok()
}
