//! `skillwal demo`: a walkthrough on a throw-away collection, built from the example
//! artifacts in `examples/artifacts/` (embedded in the binary, so it runs anywhere, offline).
//! Each step runs this same binary as a child process, the way a person would; one of them
//! is killed for real by the crash hook in the middle of an update, and the next command
//! recovers.

use super::exit::Exit;
use super::output::Output;
use anyhow::{Context, Result, bail};
use skillwal::engine::inspect::TxnState;
use skillwal::fs::fault::CRASH_AFTER_ENV;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (relative path, contents, executable)
type Example = (&'static str, &'static str, bool);

macro_rules! example {
    ($rel:literal, $exec:literal) => {
        (
            $rel,
            include_str!(concat!("../../examples/artifacts/", $rel)),
            $exec,
        )
    };
}

const SOURCES: [Example; 5] = [
    example!("pdf-tools/SKILL.md", false),
    example!("pdf-tools/reference.md", false),
    example!("pdf-tools/scripts/extract.sh", true),
    example!("review.md", false),
    example!("helper.md", false),
];

const V2: [Example; 3] = [
    example!("updates/pdf-tools-v2/SKILL.md", false),
    example!("updates/pdf-tools-v2/reference.md", false),
    example!("updates/pdf-tools-v2/scripts/extract.sh", true),
];

const V3: [Example; 3] = [
    example!("updates/pdf-tools-v3/SKILL.md", false),
    example!("updates/pdf-tools-v3/reference.md", false),
    example!("updates/pdf-tools-v3/scripts/extract.sh", true),
];

fn write_examples(dir: &Path, files: &[Example], strip: &str) -> Result<()> {
    for (rel, text, exec) in files {
        let rel = rel.strip_prefix(strip).unwrap_or(rel);
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(&path, text)?;
        if *exec {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// A line of narration on stdout, through [`Output`].
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        $out.line(&format!($($arg)*))?
    };
}

struct Demo<'a> {
    out: &'a Output,
    exe: PathBuf,
    home: PathBuf,
    step: u32,
}

impl Demo<'_> {
    fn command(&self, home: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("--home").arg(home).args(args);
        // The demo's children run as shipped: none of the test hooks (wal-spec.md §10).
        c.env_remove(CRASH_AFTER_ENV)
            .env_remove("SKILLWAL_FAIL_AT")
            .env_remove(skillwal::fs::fault::SKIP_SYNC_ENV);
        c
    }

    fn heading(&mut self, text: &str) -> Result<()> {
        self.step += 1;
        say!(self.out, "\n{}. {text}", self.step);
        Ok(())
    }

    /// Runs `skillwal ARGS` on the demo home and shows what it printed.
    fn run(
        &mut self,
        args: &[&str],
        env: Option<(&str, String)>,
    ) -> Result<std::process::ExitStatus> {
        let mut c = self.command(&self.home, args);
        let shown_env = env
            .as_ref()
            .map(|(k, v)| format!("{k}={v} "))
            .unwrap_or_default();
        if let Some((k, v)) = &env {
            c.env(k, v);
        }
        say!(self.out, "   $ {shown_env}skillwal {}", args.join(" "));
        let out = c.output().context("running skillwal")?;
        // Recovery notes go to stderr before a command's own output: show them first.
        for line in String::from_utf8_lossy(&out.stderr)
            .lines()
            .chain(String::from_utf8_lossy(&out.stdout).lines())
        {
            say!(self.out, "     {line}");
        }
        if out.status.signal() == Some(9) {
            say!(self.out, "     [killed by SIGKILL]");
        } else if !out.status.success() {
            say!(
                self.out,
                "     [exit code {}]",
                out.status.code().unwrap_or(-1)
            );
        }
        Ok(out.status)
    }

    /// The first mutating call after which a killed update leaves a committed, unapplied
    /// transaction: found by trying each on a copy of the demo home.
    fn find_crash_point(&self, scratch: &Path) -> Result<u64> {
        for n in 1..500u64 {
            let _ = std::fs::remove_dir_all(scratch);
            copy_tree(&self.home, scratch)?;
            let out = self
                .command(scratch, &["update", "pdf-tools"])
                .env(CRASH_AFTER_ENV, n.to_string())
                .output()?;
            if out.status.signal() != Some(9) {
                break;
            }
            let coll = std::fs::canonicalize(scratch.join("collections/default"))?;
            let fs: std::sync::Arc<dyn skillwal::fs::FileSystem> =
                std::sync::Arc::new(skillwal::fs::real::RealFs);
            let journal = skillwal::skillmeat::state::locate(&fs, &coll)?
                .layout
                .journal;
            let report = skillwal::engine::inspect::inspect(&skillwal::fs::real::RealFs, &journal)?;
            if report.state == TxnState::Committed {
                return Ok(n);
            }
        }
        bail!("no crash point left a committed transaction behind")
    }
}

impl Demo<'_> {
    /// Version 3 arrives; its update is killed past the commit point; the journal is
    /// inspected, the recovery planned, and the next command recovers. Returns how that
    /// command (`verify`) ended.
    fn crash_and_recover(
        &mut self,
        root: &Path,
        sources: &Path,
    ) -> Result<std::process::ExitStatus> {
        self.heading("Version 3.0.0 arrives; this update is killed with SIGKILL in the middle")?;
        std::fs::remove_dir_all(sources.join("pdf-tools"))?;
        write_examples(&sources.join("pdf-tools"), &V3, "updates/pdf-tools-v3/")?;
        let n = self.find_crash_point(&root.join("scratch"))?;
        let _ = std::fs::remove_dir_all(root.join("scratch"));
        say!(
            self.out,
            "   (the crash hook kills the process right after its {n}th file-system call: the"
        );
        say!(
            self.out,
            "    commit record is durable, the files are not all in place yet)"
        );
        self.run(
            &["update", "pdf-tools"],
            Some((CRASH_AFTER_ENV, n.to_string())),
        )?;
        say!(
            self.out,
            "   skills/pdf-tools/SKILL.md now says version {}",
            skill_version(&self.home)
        );

        self.heading("What the killed process left in the journal")?;
        self.run(&["journal", "inspect"], None)?;
        self.heading("What recovery will do (nothing is changed by a dry run)")?;
        self.run(&["recover", "--dry-run"], None)?;

        self.heading("The next command recovers first, then does its work: verify every artifact")?;
        let status = self.run(&["verify"], None)?;
        say!(
            self.out,
            "   skills/pdf-tools/SKILL.md now says version {}",
            skill_version(&self.home)
        );
        self.run(&["status"], None)?;
        Ok(status)
    }
}

fn skill_version(home: &Path) -> String {
    let text = std::fs::read_to_string(home.join("collections/default/skills/pdf-tools/SKILL.md"))
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("version: "))
        .unwrap_or("?")
        .to_string()
}

pub fn run(keep: bool, out: &Output) -> Result<Exit> {
    let tmp = tempfile::Builder::new()
        .prefix("skillwal-demo-")
        .tempdir()?;
    let root = tmp.path().to_path_buf();
    let sources = root.join("sources");
    let mut demo = Demo {
        out,
        exe: std::env::current_exe().context("finding the skillwal binary")?,
        home: root.join("home"),
        step: 0,
    };
    write_examples(&sources, &SOURCES, "")?;
    let pdf = sources.join("pdf-tools").display().to_string();
    let review = sources.join("review.md").display().to_string();
    let helper = sources.join("helper.md").display().to_string();
    say!(out, "skillwal demo in {}", root.display());
    say!(
        out,
        "Example artifacts (a skill, a command, an agent) are in {}",
        sources.display()
    );

    demo.heading("Create a collection in SkillMeat's layout")?;
    demo.run(&["init"], None)?;
    demo.heading("Add a skill, a command and an agent (each one transaction)")?;
    demo.run(&["add", "skill", &pdf], None)?;
    demo.run(&["add", "command", &review], None)?;
    demo.run(&["add", "agent", &helper], None)?;
    demo.run(&["list"], None)?;

    demo.heading("The skill's source changes (version 2.0.0); update it")?;
    std::fs::remove_dir_all(sources.join("pdf-tools"))?;
    write_examples(&sources.join("pdf-tools"), &V2, "updates/pdf-tools-v2/")?;
    demo.run(&["update", "pdf-tools"], None)?;

    let status = demo.crash_and_recover(&root, &sources)?;
    say!(out, "");
    if status.success() && skill_version(&demo.home) == "3.0.0" {
        say!(
            out,
            "The interrupted update was completed from the journal: files, manifest and lock agree."
        );
    } else {
        bail!("the demo did not end as expected");
    }
    if keep {
        let kept = tmp.keep();
        say!(out, "Kept {}", kept.display());
    }
    Ok(Exit::Ok)
}
