//! Helpers for `tests/cli.rs`: a sandbox per test (home, `HOME`, sources, git repositories,
//! all in one temporary directory), a hygienic command runner, directory-tree snapshots
//! (excluding `.skillwal/`), timestamp masking for comparing after-states of different runs,
//! and SkillMeat's content hash computed independently of skillwal.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

/// The binary under test (built by cargo for this integration test).
pub const BIN: &str = env!("CARGO_BIN_EXE_skillwal");

/// One test's world. Everything lives under `root` and disappears with the sandbox.
pub struct Sandbox {
    _tmp: assert_fs::TempDir,
    /// Canonical temporary root; also the working directory of every command.
    pub root: PathBuf,
    /// `SKILLWAL_HOME`.
    pub home: PathBuf,
    /// `HOME` (holds `.gitconfig`, which maps `https://github.com/` to `github/` below root).
    pub user_home: PathBuf,
    /// Where tests put local sources.
    pub src: PathBuf,
    /// Stand-in for github.com: `github/<user>/<repo>` repositories.
    pub github: PathBuf,
}

/// Environment every child gets: nothing inherited but `PATH`.
fn hygienic_env(root: &Path, user_home: &Path) -> Vec<(String, String)> {
    let mut env = vec![
        ("HOME".to_string(), user_home.display().to_string()),
        ("TMPDIR".to_string(), root.join("tmp").display().to_string()),
        ("LC_ALL".to_string(), "C".to_string()),
        ("GIT_CONFIG_NOSYSTEM".to_string(), "1".to_string()),
        ("GIT_TERMINAL_PROMPT".to_string(), "0".to_string()),
    ];
    if let Ok(path) = std::env::var("PATH") {
        env.push(("PATH".to_string(), path));
    }
    env
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = assert_fs::TempDir::new().expect("temp dir");
        let root = fs::canonicalize(tmp.path()).expect("canonical temp dir");
        let home = root.join("home");
        let user_home = root.join("user");
        let src = root.join("src");
        let github = root.join("github");
        for d in [&user_home, &src, &github, &root.join("tmp")] {
            fs::create_dir_all(d).expect("sandbox dirs");
        }
        // Offline GitHub: git rewrites https://github.com/<user>/<repo> to a local repository.
        fs::write(
            user_home.join(".gitconfig"),
            format!(
                "[url \"file://{}/\"]\n\tinsteadOf = https://github.com/\n[init]\n\tdefaultBranch = main\n[user]\n\tname = Test\n\temail = test@example.com\n[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n",
                github.display()
            ),
        )
        .expect("gitconfig");
        Sandbox {
            _tmp: tmp,
            root,
            home,
            user_home,
            src,
            github,
        }
    }

    /// The default collection's directory.
    pub fn coll(&self) -> PathBuf {
        self.home.join("collections").join("default")
    }

    /// `skillwal` with a clean environment: `HOME` and `SKILLWAL_HOME` in the sandbox, no
    /// crash hooks, no `GIT_*` variables, stdin empty (never a terminal).
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear();
        for (k, v) in hygienic_env(&self.root, &self.user_home) {
            c.env(k, v);
        }
        c.env("SKILLWAL_HOME", &self.home);
        c.current_dir(&self.root);
        c.write_stdin("");
        c
    }

    /// A `std::process::Command` for `program` with the same environment as [`Sandbox::cmd`]
    /// (for children the test drives itself).
    pub fn std_cmd(&self, program: &str) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env_clear();
        for (k, v) in hygienic_env(&self.root, &self.user_home) {
            c.env(k, v);
        }
        c.env("SKILLWAL_HOME", &self.home);
        c.current_dir(&self.root);
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(&[], args)
    }

    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = self.cmd();
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args);
        Run::from(args, env, c.output().expect("run skillwal"))
    }

    /// Runs under the process umask `umask` (octal text, e.g. `"077"`): through `sh`, which
    /// sets it and then `exec`s the binary, so skillwal itself runs with it.
    pub fn run_umask(&self, umask: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = Command::new("sh");
        c.env_clear();
        for (k, v) in hygienic_env(&self.root, &self.user_home) {
            c.env(k, v);
        }
        c.env("SKILLWAL_HOME", &self.home);
        for (k, v) in env {
            c.env(k, v);
        }
        c.current_dir(&self.root);
        c.write_stdin("");
        c.args(["-c", &format!("umask {umask}; exec \"$0\" \"$@\""), BIN]);
        c.args(args);
        let mut env: Vec<(&str, &str)> = env.to_vec();
        env.push(("umask", umask));
        Run::from(args, &env, c.output().expect("run skillwal under sh"))
    }

    /// Runs as the unprivileged user `nobody` (uid and gid 65534) through `setpriv`, for
    /// what only a process that is not root meets (a directory of mode 0555 refuses its
    /// owner too). The sandbox must be theirs: see [`Sandbox::give_to_nobody`].
    pub fn run_as_nobody(&self, args: &[&str]) -> Run {
        let mut c = Command::new("setpriv");
        c.env_clear();
        for (k, v) in hygienic_env(&self.root, &self.user_home) {
            c.env(k, v);
        }
        c.env("SKILLWAL_HOME", &self.home);
        c.current_dir(&self.root);
        c.write_stdin("");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c.args(args);
        Run::from(
            args,
            &[("user", "nobody")],
            c.output().expect("run setpriv"),
        )
    }

    /// Makes everything in the sandbox belong to `nobody` (see [`Sandbox::run_as_nobody`]).
    pub fn give_to_nobody(&self) {
        let st = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&self.root)
            .status()
            .expect("chown");
        assert!(st.success(), "chown -R nobody {}", self.root.display());
    }

    /// Runs on a collection directory directly (`--collection-dir DIR ARGS...`).
    pub fn run_in(&self, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
        let d = dir.display().to_string();
        let mut all = vec!["--collection-dir", d.as_str()];
        all.extend_from_slice(args);
        self.run_env(env, &all)
    }

    /// `git` in `dir` with the sandbox's environment.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut c = std::process::Command::new("git");
        c.env_clear();
        for (k, v) in hygienic_env(&self.root, &self.user_home) {
            c.env(k, v);
        }
        let out = c.arg("-C").arg(dir).args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new repository at `dir` (created) on branch `main`.
    pub fn git_init(&self, dir: &Path) {
        fs::create_dir_all(dir).expect("repo dir");
        self.git(dir, &["init", "-q", "-b", "main"]);
    }

    /// `git add -A && git commit`; returns the new commit's sha.
    pub fn git_commit(&self, dir: &Path, msg: &str) -> String {
        self.git(dir, &["add", "-A"]);
        self.git(dir, &["commit", "-q", "-m", msg]);
        self.git(dir, &["rev-parse", "HEAD"])
    }

    /// Creates `src/<name>/` with `SKILL.md` (front matter), an executable script and a
    /// nested file. Returns its path.
    pub fn skill_source(&self, name: &str, body: &str) -> PathBuf {
        let dir = self.src.join(name);
        write(
            &dir.join("SKILL.md"),
            &format!(
                "---\nname: {name}\ndescription: The {name} skill\ntags: [testing, cli]\n---\n{body}\n"
            ),
        );
        write(&dir.join("scripts/run.sh"), "#!/bin/sh\necho run\n");
        chmod(&dir.join("scripts/run.sh"), 0o755);
        write(&dir.join("docs/notes.txt"), &format!("notes for {name}\n"));
        dir
    }

    /// Creates `src/<file>` (a command or agent). Returns its path.
    pub fn file_source(&self, file: &str, body: &str) -> PathBuf {
        let p = self.src.join(file);
        write(&p, &format!("---\ndescription: {file}\n---\n{body}\n"));
        p
    }

    /// `init`, then a skill `my-skill`, a command `review` and an agent `helper` from local
    /// sources, on the default collection. Returns the collection's directory.
    pub fn three_artifacts(&self) -> PathBuf {
        self.run(&["init"]).ok();
        self.three_artifacts_added()
    }

    /// The three artifacts of [`Sandbox::three_artifacts`], added to an existing default
    /// collection.
    pub fn three_artifacts_added(&self) -> PathBuf {
        let skill = self.skill_source("my-skill", "v1");
        let cmd = self.file_source("review.md", "review v1");
        let agent = self.file_source("helper.md", "helper v1");
        self.run(&["add", "skill", s(&skill)]).ok();
        self.run(&["add", "command", s(&cmd)]).ok();
        self.run(&["add", "agent", s(&agent)]).ok();
        self.coll()
    }

    /// Changes every source made by [`three_artifacts`] (one more line in each file the
    /// update will touch, plus a new file in the skill).
    pub fn change_sources(&self, tag: &str) {
        append(&self.src.join("my-skill/SKILL.md"), &format!("{tag}\n"));
        append(
            &self.src.join("my-skill/docs/notes.txt"),
            &format!("{tag}\n"),
        );
        write(&self.src.join("my-skill/docs/new.txt"), &format!("{tag}\n"));
        append(&self.src.join("review.md"), &format!("{tag}\n"));
        append(&self.src.join("helper.md"), &format!("{tag}\n"));
    }
}

/// skillwal's own state of the collection at `coll` (journal, lock, staging, store, stat
/// cache): beside it, `<parent>/.skillwal/<name>` (wal-spec.md §2). Tests reach it through
/// here only.
pub fn state_dir(coll: &Path) -> PathBuf {
    coll.parent()
        .expect("a collection has a parent")
        .join(".skillwal")
        .join(coll.file_name().expect("a collection has a name"))
}

/// Copies the collection at `from` to `to`, with skillwal's state beside it: a copy a
/// command can run on as on the original (replacing what was at `to` and beside it).
pub fn copy_collection(from: &Path, to: &Path) {
    for d in [to.to_path_buf(), state_dir(to)] {
        if fs::symlink_metadata(&d).is_ok() {
            fs::remove_dir_all(&d).expect("remove the old copy");
        }
    }
    copy_tree(from, to);
    let state = state_dir(from);
    if state.exists() {
        fs::create_dir_all(state_dir(to).parent().expect("parent")).expect("mkdir");
        copy_tree(&state, &state_dir(to));
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub fn write(p: &Path, text: &str) {
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).expect("parent dir");
    }
    fs::write(p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

pub fn append(p: &Path, text: &str) {
    let mut old = fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    old.push_str(text);
    fs::write(p, old).expect("append");
}

pub fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).expect("stat").permissions().mode() & 0o7777
}

pub fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A finished command: exit code or signal, and its output as text.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(args: &[&str], env: &[(&str, &str)], out: std::process::Output) -> Run {
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Run {
            what: format!("{} skillwal {}", env.join(" "), args.join(" "))
                .trim()
                .to_string(),
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn context(&self) -> String {
        format!(
            "`{}` exited with {:?} (signal {:?})\n--- stdout\n{}--- stderr\n{}",
            self.what, self.code, self.signal, self.stdout, self.stderr
        )
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "{}", self.context());
        self.no_panic()
    }

    /// No Rust panic (exit 101 or a "panicked" message) whatever the outcome.
    #[track_caller]
    pub fn no_panic(&self) -> &Run {
        assert_ne!(self.code, Some(101), "{}", self.context());
        assert!(!self.stderr.contains("panicked"), "{}", self.context());
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Run {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Run {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}\n{}",
            self.context()
        );
        self
    }

    /// The one-line error of a failed command says that nothing was changed.
    #[track_caller]
    pub fn nothing_changed(&self) -> &Run {
        assert!(
            self.stderr.to_lowercase().contains("nothing was changed"),
            "stderr does not say nothing was changed\n{}",
            self.context()
        );
        assert!(
            !self.stderr.contains("may have been applied"),
            "{}",
            self.context()
        );
        self
    }

    /// Killed by SIGKILL (the crash hook).
    #[track_caller]
    pub fn killed(&self) -> &Run {
        assert_eq!(self.signal, Some(9), "{}", self.context());
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.context()))
    }

    /// stderr parsed as JSON (errors under `--json`).
    #[track_caller]
    pub fn json_err(&self) -> Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e})\n{}", self.context()))
    }

    /// The `skillwal: recovered ...` lines on stderr.
    pub fn recovered_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("skillwal: recovered"))
            .collect()
    }
}

/// One node of a directory tree.
#[derive(Clone, PartialEq, Eq)]
pub enum Node {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
    Link { target: PathBuf },
    Other,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Node::Dir { mode } => write!(f, "dir {mode:o}"),
            Node::File { mode, bytes } => {
                // Enough to see the difference, not a megabyte of journal.
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
                let more = if bytes.len() > 200 { "..." } else { "" };
                write!(f, "file {mode:o} {} B {text:?}{more}", bytes.len())
            }
            Node::Link { target } => write!(f, "link -> {}", target.display()),
            Node::Other => write!(f, "other"),
        }
    }
}

/// A directory tree: relative path (`/`-separated) to node.
pub type Tree = BTreeMap<String, Node>;

/// Everything below `dir` (a top-level `.skillwal/`, an older skillwal's state, left out).
pub fn tree(dir: &Path) -> Tree {
    let mut t = Tree::new();
    walk(dir, "", &mut t, true);
    t
}

/// Everything below the collection `dir`, and skillwal's state beside it under the prefix
/// `[state]/` (but not its `lock`, which holds the PID of the last process that opened the
/// collection).
pub fn tree_all(dir: &Path) -> Tree {
    let mut t = Tree::new();
    walk(dir, "", &mut t, false);
    let mut state = Tree::new();
    walk(&state_dir(dir), "", &mut state, false);
    for (k, v) in state {
        if k != "lock" {
            t.insert(format!("[state]/{k}"), v);
        }
    }
    t
}

fn walk(dir: &Path, prefix: &str, t: &mut Tree, skip_meta: bool) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let e = e.expect("dir entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if skip_meta && prefix.is_empty() && name == ".skillwal" {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // Every open writes its PID into the lock file (wal-spec.md §2): not content.
        if rel == ".skillwal/lock" || rel.ends_with("/.skillwal/lock") {
            continue;
        }
        let p = e.path();
        let meta = fs::symlink_metadata(&p).expect("stat");
        let m = meta.permissions().mode() & 0o7777;
        let ft = meta.file_type();
        if ft.is_symlink() {
            t.insert(
                rel,
                Node::Link {
                    target: fs::read_link(&p).expect("readlink"),
                },
            );
        } else if ft.is_dir() {
            t.insert(rel.clone(), Node::Dir { mode: m });
            walk(&p, &rel, t, skip_meta);
        } else if ft.is_file() {
            t.insert(
                rel,
                Node::File {
                    mode: m,
                    bytes: fs::read(&p).expect("read"),
                },
            );
        } else {
            t.insert(rel, Node::Other);
        }
    }
}

/// The differences between two trees, one line per path (empty when equal).
pub fn tree_diff(a: &Tree, b: &Tree) -> String {
    let mut out = String::new();
    for (k, v) in a {
        match b.get(k) {
            None => out.push_str(&format!("  only before: {k} {v:?}\n")),
            Some(w) if w != v => out.push_str(&format!("  changed: {k}\n    {v:?}\n    {w:?}\n")),
            _ => {}
        }
    }
    for (k, w) in b {
        if !a.contains_key(k) {
            out.push_str(&format!("  only after: {k} {w:?}\n"));
        }
    }
    out
}

#[track_caller]
pub fn assert_same_tree(before: &Tree, after: &Tree, what: &str) {
    let d = tree_diff(before, after);
    assert!(d.is_empty(), "{what}: the tree changed:\n{d}");
}

/// Replaces every quoted ISO timestamp (`"2026-01-02T03:04:05.123456"`) in `text` with
/// `"<TS>"`: two successful runs of the same command differ only there.
pub fn mask_timestamps(text: &str) -> String {
    let parts: Vec<&str> = text.split('"').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('"');
        }
        if i % 2 == 1 && is_timestamp(p) {
            out.push_str("<TS>");
        } else {
            out.push_str(p);
        }
    }
    out
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[11..]
            .iter()
            .all(|c| c.is_ascii_digit() || *c == b':' || *c == b'.')
}

/// `t` with timestamps masked in `collection.toml` and `collection.lock`.
pub fn masked(t: &Tree) -> Tree {
    t.iter()
        .map(|(k, v)| {
            let v = match v {
                Node::File { mode, bytes } if k == "collection.toml" || k == "collection.lock" => {
                    Node::File {
                        mode: *mode,
                        bytes: mask_timestamps(&String::from_utf8_lossy(bytes)).into_bytes(),
                    }
                }
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Copies a directory tree (files with their modes; no links expected).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            copy_tree(&src, &dst);
            chmod(&dst, mode(&src));
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).expect("readlink"), &dst)
                .expect("symlink");
        } else {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// SkillMeat's content hash, computed here without skillwal: for a file, SHA-256 of its
/// bytes; for a directory, one SHA-256 over every regular file in component-wise sorted
/// relative-path order, each contributing its UTF-8 relative path and then its bytes.
pub fn skillmeat_hash(path: &Path) -> String {
    let mut sha = Sha256::new();
    if path.is_file() {
        sha.update(fs::read(path).expect("read"));
    } else {
        let mut files: Vec<Vec<String>> = tree(path)
            .into_iter()
            .filter(|(_, n)| matches!(n, Node::File { .. }))
            .map(|(k, _)| k.split('/').map(str::to_string).collect())
            .collect();
        files.sort();
        for f in files {
            let rel = f.join("/");
            sha.update(rel.as_bytes());
            sha.update(fs::read(path.join(&rel)).expect("read"));
        }
    }
    sha.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// A parsed TOML document.
pub fn toml_doc(p: &Path) -> toml::Table {
    read(p)
        .parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", p.display()))
}

/// The `[[artifacts]]` entry `name` of `type` in a collection's manifest.
pub fn manifest_entry(coll: &Path, name: &str, ty: &str) -> toml::Table {
    let doc = toml_doc(&coll.join("collection.toml"));
    doc.get("artifacts")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_table())
        .find(|a| {
            a.get("name").and_then(|v| v.as_str()) == Some(name)
                && a.get("type").and_then(|v| v.as_str()) == Some(ty)
        })
        .cloned()
        .unwrap_or_else(|| panic!("no {ty} {name} in the manifest"))
}

/// The lock entry `name::type`, if any.
pub fn lock_entry(coll: &Path, name: &str, ty: &str) -> Option<toml::Table> {
    let doc = toml_doc(&coll.join("collection.lock"));
    doc.get("lock")?
        .get("entries")?
        .get(format!("{name}::{ty}"))?
        .as_table()
        .cloned()
}

pub fn str_field<'a>(t: &'a toml::Table, k: &str) -> Option<&'a str> {
    t.get(k).and_then(|v| v.as_str())
}

/// Whether this process runs as root (chmod cannot make anything read-only for root).
pub fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
