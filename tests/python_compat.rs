//! Compatibility with the real Python `skillmeat` 0.74.0, run as a program: the Python tool
//! reads, lists and checks collections skillwal wrote, and skillwal reads, verifies and
//! changes collections the Python tool wrote (the fixtures in `tests/fixtures/python/`, made
//! by `tools/python-compat/make_fixtures.sh`), and each agrees with the other afterwards.
//!
//! Where the tool comes from: `SKILLWAL_SKILLMEAT` = the `skillmeat` executable (CI sets it;
//! the venv's `python` is next to it, for `tools/python-compat/check_drift.py`). Without it,
//! `tools/python-compat/setup.sh target/skillmeat-venv` is run once for the whole file (about
//! 35 s the first time, 4 s after). When neither works, every test here prints `SKIPPED` and
//! passes, unless `SKILLWAL_REQUIRE_PYTHON_COMPAT=1` (CI), where they fail with the output of
//! the setup.
//!
//! "Agree" means: `skillmeat list --json --no-cache` lists the same (name, type) pairs in the
//! same order as `skillwal list --json`, and `check_drift.py --hashes` (skillmeat's own
//! `_detect_local_modifications` and `compute_content_hash`) finds every artifact clean and
//! computes, for every artifact, exactly the `content_hash` in the lock and in skillwal's
//! listing. When a file is changed by hand, both tools name the same artifact as modified.
//!
//! Each Python invocation costs about 3 s (1.7 s for check_drift.py), so every test runs a
//! whole scenario with few of them. Every Python run gets a copy of the collection as HOME and
//! a cwd outside any project (FINDINGS.md, "Running it in tests").

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const REQUIRE_ENV: &str = "SKILLWAL_REQUIRE_PYTHON_COMPAT";
const TOOL_ENV: &str = "SKILLWAL_SKILLMEAT";
/// Generous: one skillmeat call takes ~3 s; setup.sh ~35 s the first time.
const PY_TIMEOUT: Duration = Duration::from_secs(180);
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);

// ---------------------------------------------------------------------------------------
// Finding the Python tool (once for the whole file)

struct Python {
    skillmeat: PathBuf,
    python: PathBuf,
}

static TOOL: OnceLock<Result<Python, String>> = OnceLock::new();

fn find_tool() -> Result<Python, String> {
    let skillmeat = match std::env::var_os(TOOL_ENV).filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let mut cmd = StdCommand::new("bash");
            cmd.arg("tools/python-compat/setup.sh")
                .arg("target/skillmeat-venv")
                .current_dir(REPO);
            let out = run(&mut cmd, SETUP_TIMEOUT);
            if out.code != Some(0) {
                return Err(format!(
                    "`bash tools/python-compat/setup.sh target/skillmeat-venv` failed ({}):\n--- stdout\n{}--- stderr\n{}",
                    out.status_text(),
                    out.stdout,
                    out.stderr
                ));
            }
            match out.stdout.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(last) => PathBuf::from(last.trim()),
                None => return Err(format!("setup.sh printed no path:\n{}", out.stderr)),
            }
        }
    };
    if !skillmeat.is_file() {
        return Err(format!(
            "{} is not a file (from {})",
            skillmeat.display(),
            if std::env::var_os(TOOL_ENV).is_some() {
                TOOL_ENV
            } else {
                "setup.sh"
            }
        ));
    }
    let python = skillmeat.with_file_name("python");
    if !python.is_file() {
        return Err(format!(
            "no python next to {} (needed for check_drift.py)",
            skillmeat.display()
        ));
    }
    Ok(Python { skillmeat, python })
}

/// The Python tool, or `None` after a loud SKIPPED message; panics instead when
/// `SKILLWAL_REQUIRE_PYTHON_COMPAT=1`.
fn python(test: &str) -> Option<&'static Python> {
    match TOOL.get_or_init(find_tool) {
        Ok(p) => Some(p),
        Err(msg) => {
            if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_ENV}=1 but the Python skillmeat 0.74.0 tool is not available:\n{msg}"
                );
            }
            // Straight to the process's stderr, which the test harness does not capture:
            // a skip must be visible without --nocapture.
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

macro_rules! python_or_skip {
    ($test:expr) => {
        match python($test) {
            Some(p) => p,
            None => return,
        }
    };
}

// ---------------------------------------------------------------------------------------
// Running programs

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    what: String,
}

impl Out {
    fn status_text(&self) -> String {
        match self.code {
            Some(c) => format!("exit {c}"),
            None => "killed or timed out".into(),
        }
    }
    fn expect(&self, code: i32) -> &Out {
        assert_eq!(
            self.code,
            Some(code),
            "{}: expected exit {code}, got {}\n--- stdout\n{}--- stderr\n{}",
            self.what,
            self.status_text(),
            self.stdout,
            self.stderr
        );
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.what, self.stdout, self.stderr
            )
        })
    }
}

/// Runs `cmd` with stdin closed, killing it after `timeout`.
fn run(cmd: &mut StdCommand, timeout: Duration) -> Out {
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
    let out_t = reader(Box::new(child.stdout.take().unwrap()));
    let err_t = reader(Box::new(child.stderr.take().unwrap()));
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
    Out {
        code: status.and_then(|s| s.code()),
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
        what,
    }
}

/// A test's world: `<root>/home` is HOME for both tools, `<root>/src` a copy of the fixture
/// sources, and `<root>` the cwd of every Python run (no `.skillmeat/manifest.toml` above it).
struct World {
    _tmp: TempDir,
    root: PathBuf,
    home: PathBuf,
    src: PathBuf,
}

impl World {
    /// An empty HOME.
    fn new() -> World {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path().to_path_buf();
        let home = root.join("home");
        let src = root.join("src");
        fs::create_dir(&home).unwrap();
        copy_tree(&fixtures().join("sources"), &src);
        World {
            _tmp: tmp,
            root,
            home,
            src,
        }
    }

    /// HOME = a copy of the Python-made fixture `name`.
    fn from_fixture(name: &str) -> World {
        let w = World::new();
        fs::remove_dir(&w.home).unwrap();
        copy_tree(&fixtures().join(name), &w.home);
        w
    }

    fn skillmeat_dir(&self) -> PathBuf {
        self.home.join(".skillmeat")
    }

    fn coll(&self, name: &str) -> PathBuf {
        self.skillmeat_dir().join("collections").join(name)
    }

    fn src(&self, rel: &str) -> String {
        self.src.join(rel).to_str().unwrap().to_string()
    }

    /// `skillwal --home $HOME/.skillmeat ARGS`.
    fn sw(&self, args: &[&str]) -> Out {
        let mut cmd = Command::cargo_bin("skillwal").unwrap();
        cmd.arg("--home")
            .arg(self.skillmeat_dir())
            .args(args)
            .env("HOME", &self.home)
            .env("SKILLWAL_HOME", self.skillmeat_dir())
            .env_remove("SKILLWAL_CRASH_AFTER")
            .env_remove("SKILLWAL_FAIL_AT")
            .current_dir(&self.root)
            .write_stdin(Vec::new())
            .timeout(Duration::from_secs(120));
        let out = cmd.output().unwrap();
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            what: format!("skillwal {}", args.join(" ")),
        }
    }

    /// `skillwal --json ARGS`, which must succeed; its JSON.
    fn sw_json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.sw(&a).expect(0).json()
    }

    /// `HOME=$HOME skillmeat ARGS` with stdin closed and plain output.
    fn skillmeat(&self, py: &Python, args: &[&str]) -> Out {
        let mut cmd = StdCommand::new(&py.skillmeat);
        cmd.args(args);
        let mut out = run(self.py_env(&mut cmd), PY_TIMEOUT);
        out.what = format!("skillmeat {}", args.join(" "));
        out
    }

    /// `skillmeat list --json --no-cache` (writes nothing), which must succeed; its
    /// (name, type) pairs and the objects by name.
    fn py_list(&self, py: &Python) -> (Vec<(String, String)>, BTreeMap<String, Value>) {
        let v = self
            .skillmeat(py, &["list", "--json", "--no-cache"])
            .expect(0)
            .json();
        python_list(&v)
    }

    /// `check_drift.py --hashes [-c COLLECTION]`.
    fn drift(&self, py: &Python, collection: Option<&str>) -> Drift {
        let mut cmd = StdCommand::new(&py.python);
        cmd.arg(Path::new(REPO).join("tools/python-compat/check_drift.py"))
            .arg("--hashes");
        if let Some(c) = collection {
            cmd.args(["-c", c]);
        }
        let mut out = run(self.py_env(&mut cmd), PY_TIMEOUT);
        out.what = "check_drift.py --hashes".into();
        Drift::parse(out)
    }

    fn py_env<'a>(&self, cmd: &'a mut StdCommand) -> &'a mut StdCommand {
        cmd.env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("COLUMNS", "200")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("SKILLWAL_HOME")
            .current_dir(&self.root)
    }
}

// ---------------------------------------------------------------------------------------
// Reading outputs and files

fn fixtures() -> PathBuf {
    Path::new(REPO).join("tests/fixtures/python")
}

/// `cp -a`: directories, files (with their modes, by `fs::copy`) and symbolic links.
fn copy_tree(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from).unwrap();
    if meta.file_type().is_symlink() {
        symlink(fs::read_link(from).unwrap(), to).unwrap();
    } else if meta.is_dir() {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap();
    }
}

/// What a path holds, as a user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    Dir { mode: u32 },
    File { mode: u32, bytes: Vec<u8> },
    Link(PathBuf),
}

/// Every path below `dir` (relative) with what it holds: kind, permission bits, bytes, a
/// link's target. `.skillwal/` is left out (skillwal's own journal and lock).
fn snapshot(dir: &Path) -> BTreeMap<String, Held> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Held>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if rel == ".skillwal" {
                continue;
            }
            let meta = fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.insert(rel, Held::Link(fs::read_link(&p).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel, Held::Dir { mode });
                walk(root, &p, out);
            } else {
                let bytes = fs::read(&p).unwrap();
                out.insert(rel, Held::File { mode, bytes });
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn pairs(v: &[Value]) -> Vec<(String, String)> {
    v.iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["type"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn python_list(v: &Value) -> (Vec<(String, String)>, BTreeMap<String, Value>) {
    let arr = v.as_array().expect("skillmeat list --json is an array");
    let by_name = arr
        .iter()
        .map(|o| (o["name"].as_str().unwrap().to_string(), o.clone()))
        .collect();
    (pairs(arr), by_name)
}

/// The (name, type) pairs of `skillwal list --json`, and content_hash by "type/name".
fn skillwal_list(w: &World) -> (Vec<(String, String)>, BTreeMap<String, String>) {
    skillwal_list_of(w, "default")
}

fn skillwal_list_of(w: &World, coll: &str) -> (Vec<(String, String)>, BTreeMap<String, String>) {
    let v = w.sw_json(&["-c", coll, "list"]);
    let arr = v["artifacts"].as_array().unwrap();
    let hashes = arr
        .iter()
        .map(|o| {
            (
                format!(
                    "{}/{}",
                    o["type"].as_str().unwrap(),
                    o["name"].as_str().unwrap()
                ),
                o["content_hash"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    (pairs(arr), hashes)
}

fn expected_list(fixture: &str) -> (Vec<(String, String)>, BTreeMap<String, Value>) {
    let text =
        fs::read_to_string(fixtures().join(format!("expected/{fixture}.list.json"))).unwrap();
    python_list(&serde_json::from_str(&text).unwrap())
}

fn strs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// content_hash by "type/name", read from a collection.lock with the toml crate.
fn lock_hashes(coll: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(coll.join("collection.lock")).unwrap();
    let t: toml::Table = text.parse().unwrap();
    let entries = t["lock"]["entries"].as_table().unwrap();
    entries
        .iter()
        .map(|(k, v)| {
            let (name, ty) = k.split_once("::").unwrap();
            (
                format!("{ty}/{name}"),
                v["content_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The `[[artifacts]]` entries of a collection.toml by artifact name: the text from the
/// entry's header to the next one (its metadata tables included), trailing blank lines
/// trimmed; and the text before the first entry.
fn manifest_chunks(text: &str) -> (String, BTreeMap<String, String>) {
    let mut parts = text.split("\n[[artifacts]]\n");
    let head = parts.next().unwrap().to_string();
    let mut out = BTreeMap::new();
    for p in parts {
        let body = p.trim_end_matches('\n').to_string();
        let name_line = body
            .lines()
            .find(|l| l.starts_with("name = "))
            .expect("artifact has a name");
        let name = name_line["name = ".len()..].trim_matches('"').to_string();
        assert!(
            !body.contains("\n[[") && !body.contains("\n[collection]"),
            "unexpected table after artifact {name}"
        );
        out.insert(name, body);
    }
    (head, out)
}

/// The `[lock.entries."<name>::<type>"]` sections of a collection.lock by key.
fn lock_chunks(text: &str) -> BTreeMap<String, String> {
    text.split("\n[lock.entries.")
        .skip(1)
        .map(|p| {
            let key = p[1..p.find("\"]").unwrap()].to_string();
            (key, p.trim_end_matches('\n').to_string())
        })
        .collect()
}

/// The output of `check_drift.py --hashes`.
struct Drift {
    out: Out,
    /// "type/name" -> clean | modified | missing | unlocked
    states: BTreeMap<String, String>,
    /// "type/name" -> (skillmeat's compute_content_hash, lock content_hash)
    hashes: BTreeMap<String, (String, String)>,
    summary: String,
}

impl Drift {
    fn parse(out: Out) -> Drift {
        assert!(
            out.code == Some(0) || out.code == Some(1),
            "check_drift.py could not load the collection ({}):\n{}{}",
            out.status_text(),
            out.stdout,
            out.stderr
        );
        assert!(
            out.stderr.contains("skillmeat-version: 0.74.0"),
            "check_drift.py must run skillmeat 0.74.0; stderr: {}",
            out.stderr
        );
        let mut states = BTreeMap::new();
        let mut hashes = BTreeMap::new();
        let mut summary = String::new();
        for line in out.stdout.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["hash", art, computed, locked] => {
                    hashes.insert(art.to_string(), (computed.to_string(), locked.to_string()));
                }
                ["skillmeat-drift:", ..] => summary = line.to_string(),
                [state, art] => {
                    states.insert(art.to_string(), state.to_string());
                }
                _ => panic!("unexpected check_drift.py line {line:?}"),
            }
        }
        Drift {
            out,
            states,
            hashes,
            summary,
        }
    }

    fn context(&self) -> String {
        format!("check_drift.py:\n{}{}", self.out.stdout, self.out.stderr)
    }

    /// Exit 0, every artifact clean, and skillmeat's own content_hash of every artifact equals
    /// the lock's and skillwal's (`skillwal list --json`).
    fn assert_clean_and_agrees(&self, w: &World, coll: &str, n: usize) {
        let summary = format!("skillmeat-drift: {n} clean, 0 modified, 0 missing, 0 unlocked");
        assert_eq!(self.summary, summary, "{}", self.context());
        assert_eq!(self.out.code, Some(0), "{}", self.context());
        let (_, sw_hashes) = skillwal_list_of(w, coll);
        let locked = lock_hashes(&w.coll(coll));
        assert_eq!(
            self.hashes.len(),
            n,
            "one hash line per artifact\n{}",
            self.context()
        );
        assert_eq!(sw_hashes.len(), n);
        for (art, (computed, in_lock)) in &self.hashes {
            assert_eq!(
                computed,
                in_lock,
                "{art}: skillmeat's compute_content_hash vs the lock\n{}",
                self.context()
            );
            assert_eq!(
                Some(computed),
                sw_hashes.get(art),
                "{art}: vs skillwal list"
            );
            assert_eq!(Some(computed), locked.get(art), "{art}: vs collection.lock");
        }
    }
}

/// A copy of `sources/edge-skill` as SkillMeat's fixture generator prepared it (hidden files,
/// `ä.txt`, sort traps, an empty file and directory, `.git/`, `.gitignore`, `__pycache__/`,
/// `node_modules/` that `add` must drop), and its two links, `link-dir -> docs` and
/// `link-to-file`. skillwal copies those as links (`src/skillmeat/links.rs`); SkillMeat's
/// `copytree(symlinks=False)` dereferences them.
fn prepare_edge_source(w: &World) -> PathBuf {
    let e = w.src.join("edge-skill");
    for d in [".git", "__pycache__", "empty-dir", "node_modules/pkg"] {
        fs::create_dir_all(e.join(d)).unwrap();
    }
    fs::write(e.join(".git/config"), "[core]\n").unwrap();
    fs::write(e.join(".gitignore"), "*.log\n").unwrap();
    fs::write(e.join("__pycache__/x.pyc"), "x").unwrap();
    fs::write(e.join("node_modules/pkg/package.json"), "{}\n").unwrap();
    e
}

fn materialize_link_dir(edge: &Path) {
    let link = edge.join("link-dir");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    fs::remove_file(&link).unwrap();
    fs::create_dir(&link).unwrap();
    fs::copy(edge.join("docs/d.md"), link.join("d.md")).unwrap();
}

/// The tree of one artifact as `expected/<fixture>.tree.txt` lists it (kinds and sha256, not
/// modes), relative to `prefix`.
fn expected_tree(fixture: &str, prefix: &str) -> Vec<String> {
    let text = fs::read_to_string(fixtures().join(format!("expected/{fixture}.tree.txt"))).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let (kind, rest) = line.split_at(4);
        let rest = rest.trim_start();
        match kind {
            "dir " => {
                let (_mode, path) = rest.split_once(' ').unwrap();
                if let Some(rel) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
                    out.push(format!("dir {rel}"));
                }
            }
            "file" => {
                let mut f = rest.splitn(3, ' ');
                let (_mode, sha, path) = (f.next(), f.next().unwrap(), f.next().unwrap());
                if let Some(rel) = path.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
                    out.push(format!("file {sha} {rel}"));
                }
            }
            other => panic!("unexpected tree line kind {other:?}"),
        }
    }
    out.sort();
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn actual_tree(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = snapshot(dir)
        .into_iter()
        .map(|(rel, held)| match held {
            Held::Dir { .. } => format!("dir {rel}"),
            Held::File { bytes, .. } => format!("file {} {rel}", sha256_hex(&bytes)),
            Held::Link(t) => format!("link {} {rel}", t.display()),
        })
        .collect();
    out.sort();
    out
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ---------------------------------------------------------------------------------------
// 1. skillwal writes, the Python tool reads

/// skillwal builds a collection (a nested skill, the edge-case skill, a command, an agent),
/// updates the command after its source changed and removes another command. The Python tool
/// lists exactly those artifacts with the same metadata it shows for its own copies of the
/// same sources, finds nothing modified, and computes the lock's hashes. Then one file is
/// changed by hand: both tools name that artifact, and only it, as modified.
#[test]
fn skillwal_collection_is_read_by_python() {
    let py = python_or_skip!("skillwal_collection_is_read_by_python");
    let w = World::new();
    w.sw(&["init"]).expect(0);
    let c = w.coll("default");

    let edge = prepare_edge_source(&w);
    w.sw(&["add", "skill", &w.src("my-skill")]).expect(0);
    w.sw(&["add", "skill", edge.to_str().unwrap()]).expect(0);
    w.sw(&["add", "command", &w.src("review.md")]).expect(0);
    w.sw(&["add", "agent", &w.src("helper.md")]).expect(0);
    w.sw(&["add", "command", &w.src("plain.md")]).expect(0);

    // skillwal copied exactly what SkillMeat copies (the `.git`, `__pycache__`, ... dropped,
    // the empty directory kept), except that the two links stay links.
    let skill = c.join("skills/edge-skill");
    for (link, target) in [("link-dir", "docs"), ("link-to-file", "SKILL.md")] {
        let found = fs::read_link(skill.join(link));
        assert!(found.is_ok(), "{link} is not a link");
        assert_eq!(
            found.unwrap(),
            Path::new(target),
            "{link}: the target as in the source"
        );
    }
    let dereferenced = |line: &String| {
        !line.ends_with(" link-dir")
            && !line.contains(" link-dir/")
            && !line.ends_with(" link-to-file")
    };
    let expected: Vec<String> =
        expected_tree("edge", "./.skillmeat/collections/default/skills/edge-skill")
            .into_iter()
            .filter(dereferenced)
            .collect();
    assert_eq!(
        actual_tree(&skill)
            .into_iter()
            .filter(dereferenced)
            .collect::<Vec<_>>(),
        expected
    );
    let ours = lock_hashes(&c);
    let basic = lock_hashes(&fixtures().join("basic/.skillmeat/collections/default"));
    let edge_fx = lock_hashes(&fixtures().join("edge/.skillmeat/collections/default"));
    for art in ["skill/my-skill", "command/review", "agent/helper"] {
        assert_eq!(ours[art], basic[art], "{art}: skillwal vs skillmeat's hash");
    }
    assert_eq!(
        ours["command/plain"], edge_fx["command/plain"],
        "skillwal vs skillmeat's hash"
    );
    // The skill's hash is SkillMeat's hash of skillwal's copy (the link to a file read as
    // that file, the link to a directory not descended into): the drift check below has the
    // Python tool compute it. With `link-dir` a real directory, as SkillMeat's own copy has
    // it, it is the fixture's.
    let real = w.src.join("edge-real");
    copy_tree(&edge, &real);
    materialize_link_dir(&real);
    w.sw(&["add", "skill", real.to_str().unwrap()]).expect(0);
    assert_eq!(
        lock_hashes(&c)["skill/edge-real"],
        edge_fx["skill/edge-skill"]
    );
    w.sw(&["remove", "edge-real"]).expect(0);

    // Update one after its source changed; remove another.
    let mut review = read(&w.src.join("review.md"));
    review.push_str("Also check the tests.\n");
    fs::write(w.src.join("review.md"), review).unwrap();
    w.sw(&["update", "review"]).expect(0);
    assert_ne!(lock_hashes(&c)["command/review"], basic["command/review"]);
    w.sw(&["remove", "plain"]).expect(0);
    assert!(!c.join("commands/plain.md").exists());

    let expected = strs(&[
        ("my-skill", "skill"),
        ("edge-skill", "skill"),
        ("review", "command"),
        ("helper", "agent"),
    ]);
    let (sw_pairs, _) = skillwal_list(&w);
    assert_eq!(sw_pairs, expected);
    w.sw(&["verify"]).expect(0);

    // The Python tool lists the same artifacts, in the same order, and shows for each what
    // it shows for the copy it made itself of the same source.
    let (py_pairs, py_objs) = w.py_list(py);
    assert_eq!(py_pairs, sw_pairs, "skillmeat list vs skillwal list");
    let (_, basic_objs) = expected_list("basic");
    let (_, edge_objs) = expected_list("edge");
    for name in ["my-skill", "review", "helper"] {
        assert_eq!(py_objs[name], basic_objs[name], "skillmeat list: {name}");
    }
    assert_eq!(py_objs["edge-skill"], edge_objs["edge-skill"]);

    // No local modifications that aren't there; the same hashes everywhere.
    w.drift(py, None).assert_clean_and_agrees(&w, "default", 4);

    // A hand edit (in the file with a non-ASCII name): both tools report that artifact.
    let f = c.join("skills/edge-skill/ä.txt");
    let mut text = read(&f);
    text.push_str("edited by hand\n");
    fs::write(&f, text).unwrap();

    let status = w.sw_json(&["status"]);
    let states: Vec<(String, String)> = status["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        strs(&[
            ("my-skill", "ok"),
            ("edge-skill", "modified"),
            ("review", "ok"),
            ("helper", "ok"),
        ])
    );
    let verify = w.sw(&["--json", "verify"]);
    verify.expect(1);
    let report = verify.json();
    assert_eq!(report["clean"], false);
    assert_eq!(
        report["report"]["modified"],
        serde_json::json!(["edge-skill::skill"])
    );

    let drift = w.drift(py, None);
    assert_eq!(drift.out.code, Some(1), "{}", drift.context());
    assert_eq!(
        drift.summary,
        "skillmeat-drift: 3 clean, 1 modified, 0 missing, 0 unlocked",
        "{}",
        drift.context()
    );
    assert_eq!(drift.states["skill/edge-skill"], "modified");
    let (computed, locked) = &drift.hashes["skill/edge-skill"];
    assert_ne!(computed, locked);
}

// ---------------------------------------------------------------------------------------
// 2. The Python tool writes, skillwal reads and changes, the Python tool reads again

struct Plan {
    fixture: &'static str,
    /// skillwal adds these: (type, source under sources/)
    add: &'static [(&'static str, &'static str)],
    /// then removes these
    remove: &'static [&'static str],
    /// the artifacts afterwards, in order
    after: &'static [(&'static str, &'static str)],
    /// other collections in the fixture, which must stay byte for byte as they were
    others: &'static [&'static str],
}

fn python_collection_roundtrip(py: &Python, plan: &Plan) {
    let w = World::from_fixture(plan.fixture);
    let c = w.coll("default");
    let (fx_pairs, fx_objs) = expected_list(plan.fixture);
    let n = fx_pairs.len();

    // skillwal opens it: same artifacts as skillmeat lists, hashes read from the lock,
    // nothing modified, nothing extra.
    let (sw_pairs, sw_hashes) = skillwal_list(&w);
    assert_eq!(
        sw_pairs, fx_pairs,
        "skillwal list vs skillmeat's own listing"
    );
    assert_eq!(sw_hashes, lock_hashes(&c));
    let v = w.sw_json(&["verify"]);
    assert_eq!(v["clean"], true, "{v:#}");
    assert_eq!(v["report"]["ok"].as_array().unwrap().len(), n, "{v:#}");
    let st = w.sw_json(&["status"]);
    for a in st["artifacts"].as_array().unwrap() {
        assert_eq!(a["state"], "ok", "{st:#}");
    }
    for other in plan.others {
        let v = w.sw_json(&["-c", other, "verify"]);
        assert_eq!(v["clean"], true, "{other}: {v:#}");
    }

    let toml_before = read(&c.join("collection.toml"));
    let lock_before = read(&c.join("collection.lock"));
    let config_before = read(&w.skillmeat_dir().join("config.toml"));
    let others_before: Vec<_> = plan.others.iter().map(|o| snapshot(&w.coll(o))).collect();

    // skillwal changes it.
    let edge = prepare_edge_source(&w);
    materialize_link_dir(&edge);
    for (ty, src) in plan.add {
        w.sw(&["add", ty, &w.src(src)]).expect(0);
    }
    for name in plan.remove {
        w.sw(&["remove", name]).expect(0);
    }
    let (sw_pairs, _) = skillwal_list(&w);
    assert_eq!(sw_pairs, strs(plan.after));
    w.sw(&["verify"]).expect(0);

    // What skillwal did not touch kept its exact text: the untouched [[artifacts]] entries
    // (with the [artifacts.metadata.extra...] tables Python wrote, uuid, last_updated), their
    // lock entries, the [collection] table apart from `updated`, config.toml, other collections.
    let toml_after = read(&c.join("collection.toml"));
    let (head_before, arts_before) = manifest_chunks(&toml_before);
    let (head_after, arts_after) = manifest_chunks(&toml_after);
    let untouched: Vec<&String> = arts_before
        .keys()
        .filter(|k| !plan.remove.contains(&k.as_str()))
        .collect();
    assert!(!untouched.is_empty());
    for name in &untouched {
        assert_eq!(
            arts_after.get(*name),
            Some(&arts_before[*name]),
            "entry {name} changed:\n--- before\n{toml_before}\n--- after\n{toml_after}"
        );
    }
    for name in plan.remove {
        assert!(
            !arts_after.contains_key(*name),
            "{name} still in the manifest"
        );
    }
    assert!(
        toml_before.contains("[artifacts.metadata.extra"),
        "the fixture has Python's extra tables"
    );
    let strip_updated = |h: &str| -> String {
        h.lines()
            .filter(|l| !l.starts_with("updated = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_updated(&head_after), strip_updated(&head_before));
    let locks_before = lock_chunks(&lock_before);
    let locks_after = lock_chunks(&read(&c.join("collection.lock")));
    for (key, text) in &locks_before {
        let name = key.split("::").next().unwrap();
        if plan.remove.contains(&name) {
            assert!(!locks_after.contains_key(key), "{key} still in the lock");
        } else {
            assert_eq!(locks_after.get(key), Some(text), "lock entry {key} changed");
        }
    }
    assert_eq!(read(&w.skillmeat_dir().join("config.toml")), config_before);
    for (o, before) in plan.others.iter().zip(&others_before) {
        assert!(
            snapshot(&w.coll(o)) == *before,
            "collection {o} changed though skillwal only read it"
        );
    }

    // The Python tool reads and lists it, shows the untouched artifacts as before, and finds
    // no local modifications; its hashes are the lock's and skillwal's.
    let (py_pairs, py_objs) = w.py_list(py);
    assert_eq!(
        py_pairs,
        strs(plan.after),
        "skillmeat list after skillwal's changes"
    );
    for name in &untouched {
        assert_eq!(py_objs[*name], fx_objs[*name], "skillmeat list: {name}");
    }
    w.drift(py, None)
        .assert_clean_and_agrees(&w, "default", plan.after.len());
    for o in plan.others {
        let n = skillwal_list_of(&w, o).0.len();
        w.drift(py, Some(o)).assert_clean_and_agrees(&w, o, n);
    }
}

#[test]
fn python_basic_collection_changed_by_skillwal() {
    let py = python_or_skip!("python_basic_collection_changed_by_skillwal");
    python_collection_roundtrip(
        py,
        &Plan {
            fixture: "basic",
            add: &[("skill", "edge-skill")],
            remove: &["review"],
            after: &[
                ("my-skill", "skill"),
                ("helper", "agent"),
                ("edge-skill", "skill"),
            ],
            others: &[],
        },
    );
}

/// `updated`: `my-skill` re-added by Python (a `uuid`), `helper` refreshed (`last_updated`),
/// and no `commands/` directory (git keeps no empty directory): skillwal must create it.
#[test]
fn python_updated_collection_changed_by_skillwal() {
    let py = python_or_skip!("python_updated_collection_changed_by_skillwal");
    python_collection_roundtrip(
        py,
        &Plan {
            fixture: "updated",
            add: &[("command", "review.md")],
            remove: &["helper"],
            after: &[("my-skill", "skill"), ("review", "command")],
            others: &[],
        },
    );
}

/// `edge`: the edge-case skill, a command without front matter, and a second collection
/// `work` that must stay untouched; no `agents/` directory in `default`.
#[test]
fn python_edge_collection_changed_by_skillwal() {
    let py = python_or_skip!("python_edge_collection_changed_by_skillwal");
    python_collection_roundtrip(
        py,
        &Plan {
            fixture: "edge",
            add: &[("agent", "helper.md"), ("skill", "my-skill")],
            remove: &["plain"],
            after: &[
                ("edge-skill", "skill"),
                ("helper", "agent"),
                ("my-skill", "skill"),
            ],
            others: &["work"],
        },
    );
}

// ---------------------------------------------------------------------------------------
// 3. Round trip: the Python tool adds to a skillwal collection, skillwal carries on

/// The Python tool adds a command to a collection skillwal made; skillwal verifies it clean,
/// and can remove it.
///
/// What skillwal can and cannot update afterwards: the Python tool records no source for a
/// local artifact, and every Python write rewrites the whole manifest, dropping skillwal's
/// `skillwal_source` fields from *every* artifact (FINDINGS.md (b)). skillwal's own artifacts
/// are still found through the source references in its store (tests/python_sources.rs);
/// `skillwal update` of the Python-added local one fails with a "no source" message and
/// changes nothing, and `update --all` lists it (exit 5); `remove` and then `add` from the
/// source again restores updates. (GitHub artifacts would still be found through `upstream`;
/// that needs the network and is not tested here.)
#[test]
fn python_adds_to_skillwal_collection() {
    let py = python_or_skip!("python_adds_to_skillwal_collection");
    let w = World::new();
    let c = w.coll("default");
    w.sw(&["init"]).expect(0);
    w.sw(&["add", "skill", &w.src("my-skill")]).expect(0);
    w.sw(&["add", "agent", &w.src("helper.md")]).expect(0);
    assert!(read(&c.join("collection.toml")).contains("skillwal_source"));

    // The Python tool adds a command (prompts are skipped by --yes; stdin is closed).
    w.skillmeat(py, &["add", "command", &w.src("review.md"), "--yes"])
        .expect(0);
    let manifest = read(&c.join("collection.toml"));
    assert!(
        !manifest.contains("skillwal_source"),
        "skillmeat 0.74.0 drops unknown artifact fields on every write (FINDINGS.md (b)); \
         the checks below rely on it:\n{manifest}"
    );

    // skillwal reads it: everything matches the lock, nothing modified.
    let expected = strs(&[
        ("my-skill", "skill"),
        ("helper", "agent"),
        ("review", "command"),
    ]);
    assert_eq!(skillwal_list(&w).0, expected);
    let v = w.sw_json(&["verify"]);
    assert_eq!(v["clean"], true, "{v:#}");
    assert_eq!(v["report"]["ok"].as_array().unwrap().len(), 3);
    for a in w.sw_json(&["status"])["artifacts"].as_array().unwrap() {
        assert_eq!(a["state"], "ok");
    }

    // The command has no source to update from: a clear error, exit 1, nothing changed.
    let before = snapshot(&c);
    for args in [
        &["update", "review"][..],
        &["update", "review", "my-skill", "--strategy", "upstream"][..],
    ] {
        let out = w.sw(args);
        out.expect(1);
        assert!(
            out.stderr
                .contains("has no source skillwal can update from")
                && out.stderr.contains("Nothing was changed"),
            "{}: {}",
            out.what,
            out.stderr
        );
        assert!(
            snapshot(&c) == before,
            "{} changed the collection",
            out.what
        );
    }
    // `update --all` updates what it can (here: nothing is new) and lists the command.
    let out = w.sw(&["update", "--all"]);
    out.expect(5);
    assert!(
        out.stdout
            .contains("command review: NOT UPDATED (no-source)")
            && out.stdout.contains("skill my-skill: up to date"),
        "{}",
        out.stdout
    );
    assert!(
        snapshot(&c) == before,
        "update --all changed the collection"
    );
    let out = w.sw(&["--json", "update", "review"]);
    out.expect(1);
    let err: Value = serde_json::from_str(&out.stderr).expect("JSON error on stderr");
    assert_eq!(err["changed"], "no", "{err:#}");
    assert!(err["error"].as_str().unwrap().contains("no source"));
    assert!(snapshot(&c) == before);

    // skillwal can remove the Python-added command, and add it again with a source, which it
    // can then update.
    w.sw(&["remove", "review"]).expect(0);
    assert!(!c.join("commands/review.md").exists());
    w.sw(&["add", "command", &w.src("review.md")]).expect(0);
    let old = lock_hashes(&c)["command/review"].clone();
    let mut text = read(&w.src.join("review.md"));
    text.push_str("Also check the tests.\n");
    fs::write(w.src.join("review.md"), &text).unwrap();
    w.sw(&["update", "review"]).expect(0);
    assert_eq!(read(&c.join("commands/review.md")), text);
    assert_ne!(lock_hashes(&c)["command/review"], old);
    w.sw(&["verify"]).expect(0);

    // And the Python tool reads the result: same list, nothing modified, same hashes.
    let (py_pairs, _) = w.py_list(py);
    assert_eq!(py_pairs, expected);
    w.drift(py, None).assert_clean_and_agrees(&w, "default", 3);
}

/// Empty collections, which are written differently: SkillMeat puts `artifacts = []` first
/// (and `init` by skillwal does the same), skillwal writes no `artifacts` key at all after
/// removing the last artifact. skillwal adds to an empty collection the Python tool made (the
/// `artifacts = []` must give way to `[[artifacts]]`), and each tool reads the other's.
#[test]
fn empty_collections_both_ways() {
    let py = python_or_skip!("empty_collections_both_ways");

    // skillwal's empty collection, read by the Python tool.
    let w = World::new();
    w.sw(&["init"]).expect(0);
    assert!(w.py_list(py).0.is_empty());

    // The Python tool's empty collection, read and changed by skillwal.
    let w = World::new();
    let c = w.coll("default");
    w.skillmeat(py, &["init", "--name", "default", "--no-input"])
        .expect(0);
    assert!(read(&c.join("collection.toml")).starts_with("artifacts = []\n"));
    assert!(skillwal_list(&w).0.is_empty());
    let v = w.sw_json(&["verify"]);
    assert_eq!(v["clean"], true, "{v:#}");
    w.sw(&["add", "command", &w.src("review.md")]).expect(0);
    let manifest = read(&c.join("collection.toml"));
    assert!(!manifest.contains("artifacts = []"), "{manifest}");
    let expected = strs(&[("review", "command")]);
    assert_eq!(w.py_list(py).0, expected);
    w.drift(py, None).assert_clean_and_agrees(&w, "default", 1);

    // skillwal removes the last artifact; the Python tool still reads the collection.
    w.sw(&["remove", "review"]).expect(0);
    assert!(skillwal_list(&w).0.is_empty());
    w.sw(&["verify"]).expect(0);
    assert!(w.py_list(py).0.is_empty());
}

// ---------------------------------------------------------------------------------------
// Bugs found (ignored until fixed in src/)

/// SkillMeat turns an agent's `tools: Read, Grep` front matter into the list
/// `tools = ["Read", "Grep"]` in `[artifacts.metadata]`; skillwal writes the string
/// `tools = "Read, Grep"`. skillmeat's `ArtifactMetadata.from_dict` iterates that string
/// character by character, finds no valid tool, and the field is gone after the next Python
/// write (of any artifact).
#[test]
fn agent_tools_survive_python_write() {
    let py = python_or_skip!("agent_tools_survive_python_write");
    let w = World::new();
    let c = w.coll("default");
    w.sw(&["init"]).expect(0);
    w.sw(&["add", "agent", &w.src("helper.md")]).expect(0);
    let tools = |path: &Path| -> Option<toml::Value> {
        let t: toml::Table = read(path).parse().unwrap();
        t["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"].as_str() == Some("helper"))
            .and_then(|a| a.get("metadata"))
            .and_then(|m| m.get("tools"))
            .cloned()
    };
    let python_wrote =
        tools(&fixtures().join("basic/.skillmeat/collections/default/collection.toml"));
    assert_eq!(
        python_wrote,
        Some(toml::Value::Array(vec!["Read".into(), "Grep".into()]))
    );
    assert_eq!(
        tools(&c.join("collection.toml")),
        python_wrote,
        "skillwal's metadata.tools vs skillmeat's"
    );
    w.skillmeat(py, &["add", "command", &w.src("review.md"), "--yes"])
        .expect(0);
    assert_eq!(
        tools(&c.join("collection.toml")),
        python_wrote,
        "metadata.tools after a Python write"
    );
}

/// SkillMeat gives an artifact without a front-matter description the first line of its body
/// as `description` (`plain.md`, "Just do it." — fixture `edge`, FINDINGS.md (a)); skillwal
/// writes no description, so `skillmeat list` shows `description: null` for it.
#[test]
fn command_without_front_matter_gets_description() {
    let py = python_or_skip!("command_without_front_matter_gets_description");
    let w = World::new();
    w.sw(&["init"]).expect(0);
    w.sw(&["add", "command", &w.src("plain.md")]).expect(0);
    let (_, py_objs) = w.py_list(py);
    let (_, edge_objs) = expected_list("edge");
    assert_eq!(py_objs["plain"], edge_objs["plain"]);
}

// ---------------------------------------------------------------------------------------
// 5. The Python tool's snapshots, restored by skillwal

/// The Python tool takes a snapshot (its tar.gz) of a collection skillwal built: skillwal's
/// state lives beside the collection, so the tarball holds none of it. The collection then
/// changes (an update, a removal, a hand edit, a new file). `skillwal snapshot list` shows
/// the Python snapshot, and `skillwal rollback ID --yes` restores exactly the files of the
/// tarball through the journal; both tools then agree.
#[test]
fn python_snapshot_is_listed_and_restored_by_skillwal() {
    let py = python_or_skip!("python_snapshot_is_listed_and_restored_by_skillwal");
    let w = World::new();
    w.sw(&["init"]).expect(0);
    let c = w.coll("default");
    w.sw(&["add", "skill", &w.src("my-skill")]).expect(0);
    w.sw(&["add", "command", &w.src("review.md")]).expect(0);
    w.sw(&["add", "agent", &w.src("helper.md")]).expect(0);
    // A skillwal snapshot exists before the Python one: its store goes into the tarball.
    w.sw(&["snapshot", "-m", "skillwal's"]).expect(0);
    let out = w.skillmeat(py, &["snapshot", "-m", "python snap"]);
    out.expect(0);
    let at_snapshot = snapshot(&c);
    let list = w.sw_json(&["snapshot", "list"]);
    let py_snaps = list["skillmeat_snapshots"].as_array().unwrap();
    assert_eq!(py_snaps.len(), 1, "{list}");
    assert_eq!(py_snaps[0]["message"], "python snap");
    let id = py_snaps[0]["id"].as_str().unwrap().to_string();
    let tarball = PathBuf::from(py_snaps[0]["tarball_path"].as_str().unwrap());
    assert!(tarball.is_file(), "{}", tarball.display());

    // Change everything a rollback must undo.
    fs::write(
        w.src.join("review.md"),
        "---\ndescription: changed\n---\nv2\n",
    )
    .unwrap();
    w.sw(&["update", "review", "--strategy", "upstream"])
        .expect(0);
    w.sw(&["remove", "helper"]).expect(0);
    fs::write(c.join("skills/my-skill/extra.txt"), "new\n").unwrap();
    assert_ne!(snapshot(&c), at_snapshot);
    let snapshots_before = w.sw_json(&["snapshot", "list"])["snapshots"]
        .as_array()
        .unwrap()
        .len();

    let gz = flate2::read::GzDecoder::new(fs::File::open(&tarball).unwrap());
    let mut archive = tar::Archive::new(gz);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("collection.toml")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains(".skillwal")),
        "the Python tool's tarball holds skillwal's state: {names:?}"
    );

    let out = w.sw(&["rollback", &id, "--yes"]);
    out.expect(0);
    assert!(!out.stderr.contains("copy of .skillwal/"), "{}", out.stderr);
    assert_eq!(snapshot(&c), at_snapshot, "the tarball's files, exactly");
    // skillwal's own directory is its own, not the tarball's: its snapshots grew by the
    // imported one, and its operation log by the rollback's record.
    let after = w.sw_json(&["snapshot", "list"]);
    assert_eq!(
        after["snapshots"].as_array().unwrap().len(),
        snapshots_before + 1,
        "{after}"
    );
    let newest = w.sw_json(&["log", "-n", "1"]);
    assert!(
        newest["records"][0]["command"]
            .as_str()
            .unwrap()
            .starts_with("rollback to snapshot"),
        "{newest}"
    );
    w.sw(&["verify"]).expect(0);
    w.sw(&["journal", "verify"]).expect(0);
    let (py_pairs, _) = w.py_list(py);
    let (sw_pairs, _) = skillwal_list(&w);
    assert_eq!(py_pairs, sw_pairs);
}

// ---------------------------------------------------------------------------------------
// 6. skillwal's history beside the collection: what the Python tool does to the collection
//    directory never reaches it (issue 11, finding 5)

impl World {
    /// `skillmeat ARGS` answering `y` to its confirmation prompt (its `-y` still asks).
    fn skillmeat_yes(&self, py: &Python, args: &[&str]) -> Out {
        let mut cmd = StdCommand::new("sh");
        cmd.arg("-c")
            .arg("printf 'y\\ny\\n' | \"$0\" \"$@\"")
            .arg(&py.skillmeat)
            .args(args);
        let mut out = run(self.py_env(&mut cmd), PY_TIMEOUT);
        out.what = format!("skillmeat {} (answering y)", args.join(" "));
        out
    }

    /// skillwal's snapshots: (id, automatic).
    fn sw_snapshots(&self) -> Vec<(u64, bool)> {
        self.sw_json(&["snapshot", "list"])["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_u64().unwrap(), s["automatic"].as_bool().unwrap()))
            .collect()
    }

    /// The Python tool's newest snapshot id.
    fn py_newest_snapshot(&self) -> String {
        let list = self.sw_json(&["snapshot", "list"]);
        let py = list["skillmeat_snapshots"].as_array().unwrap();
        py.iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .max()
            .expect("a Python snapshot")
    }
}

/// skillwal's state of the collection `c`: beside it (wal-spec.md §2).
fn state_of(c: &Path) -> PathBuf {
    c.parent()
        .unwrap()
        .join(".skillwal")
        .join(c.file_name().unwrap())
}

/// A Python snapshot and rollback in the middle of skillwal's history: skillwal's snapshots
/// and its operation log all stay, new snapshots get new ids, and nothing of skillwal's is in the
/// collection directory or in the Python tool's tarballs. A read-only skillwal command on a
/// Python collection writes nothing into it and creates no journal.
#[test]
fn python_rollback_neither_erases_nor_rewinds_skillwal_history() {
    let py = python_or_skip!("python_rollback_neither_erases_nor_rewinds_skillwal_history");
    let w = World::new();
    w.skillmeat(py, &["init", "--name", "default", "--no-input"])
        .expect(0);
    let c = w.coll("default");
    let fresh = snapshot(&c);
    w.sw(&["list"]).expect(0);
    assert_eq!(snapshot(&c), fresh, "a read wrote into the collection");
    assert!(
        !state_of(&c).join("journal").exists(),
        "a read created a journal"
    );

    w.sw(&["add", "skill", &w.src("my-skill")]).expect(0);
    w.sw(&["add", "command", &w.src("review.md")]).expect(0);
    w.sw(&["snapshot", "-m", "one"]).expect(0);
    assert!(
        !c.join(".skillwal").exists(),
        "skillwal's state inside the collection"
    );
    assert!(state_of(&c).join("journal").is_file());
    w.skillmeat(py, &["snapshot", "-m", "python"]).expect(0);
    let py_id = w.py_newest_snapshot();
    fs::write(
        w.src.join("review.md"),
        "---\ndescription: changed\n---\nv2\n",
    )
    .unwrap();
    w.sw(&["update", "review", "--strategy", "upstream"])
        .expect(0);
    w.sw(&["snapshot", "-m", "two"]).expect(0);
    let before_rollback = w.sw_snapshots();
    assert_eq!(before_rollback, [(1, false), (2, false)]);
    let log_before = w.sw_json(&["log"]);

    let out = w.skillmeat_yes(py, &["rollback", &py_id, "-y"]);
    out.expect(0);
    // The collection is back at the Python snapshot; skillwal's history is all there.
    assert!(!c.join(".skillwal").exists());
    assert_eq!(
        w.sw_snapshots(),
        before_rollback,
        "snapshots erased or rewound"
    );
    assert_eq!(
        w.sw_json(&["log"])["records"],
        log_before["records"],
        "the operation log erased or rewound"
    );
    w.sw(&["snapshot", "-m", "three"]).expect(0);
    assert_eq!(
        w.sw_snapshots().last(),
        Some(&(3, false)),
        "an id was reused"
    );
    // And skillwal rolls back to its own snapshot from before the Python rollback.
    w.sw(&["rollback", "2", "--yes"]).expect(0);
    assert!(read(&c.join("commands/review.md")).contains("v2"));
    w.sw(&["verify"]).expect(0);
}

/// A `.skillwal/` inside the collection while the state lives beside it went back in time
/// (here: the Python tool's rollback to a tarball taken while an older skillwal kept its
/// state inside): it is reported by every command and by `verify`, never used, and skillwal's
/// snapshots and ids go on from the state in use.
#[test]
fn a_stale_copy_of_skillwal_state_is_reported_and_ignored() {
    let py = python_or_skip!("a_stale_copy_of_skillwal_state_is_reported_and_ignored");
    let w = World::new();
    w.sw(&["init"]).expect(0);
    let c = w.coll("default");
    w.sw(&["add", "skill", &w.src("my-skill")]).expect(0);
    w.sw(&["snapshot", "-m", "one"]).expect(0);
    // What an older skillwal left: its state inside the collection, in the tarball.
    copy_tree(&state_of(&c), &c.join(".skillwal"));
    w.skillmeat(py, &["snapshot", "-m", "with state inside"])
        .expect(0);
    let py_id = w.py_newest_snapshot();
    fs::remove_dir_all(c.join(".skillwal")).unwrap();
    w.sw(&["snapshot", "-m", "two"]).expect(0);
    w.sw(&["snapshot", "-m", "three"]).expect(0);
    w.skillmeat_yes(py, &["rollback", &py_id, "-y"]).expect(0);
    assert!(
        c.join(".skillwal").is_dir(),
        "the rollback brought the copy back"
    );

    let out = w.sw(&["list"]);
    out.expect(0);
    assert!(
        out.stderr.contains("is an old copy of skillwal's state")
            && out
                .stderr
                .contains("went back in time: its next snapshot would be 2")
            && out.stderr.contains("at 4"),
        "{}",
        out.stderr
    );
    let v = w.sw(&["--json", "verify"]);
    v.expect(1);
    assert_eq!(
        v.json()["report"]["stale_state"]["copy_next_snapshot"],
        2,
        "{}",
        v.stdout
    );
    assert_eq!(
        w.sw_snapshots().iter().map(|s| s.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    w.sw(&["snapshot", "-m", "four"]).expect(0);
    assert_eq!(w.sw_snapshots().last(), Some(&(4, false)));
    // Never captured, never touched.
    assert!(c.join(".skillwal/journal").is_file());
}

/// A collection whose state an older skillwal kept inside it: the first command moves the
/// state beside it (one rename), with its snapshots, and an interrupted version-1
/// transaction left in that journal is recovered after the move.
#[test]
fn an_older_skillwal_state_inside_the_collection_is_moved_beside_it() {
    let _py = python_or_skip!("an_older_skillwal_state_inside_the_collection_is_moved_beside_it");
    let w = World::new();
    w.sw(&["init"]).expect(0);
    let c = w.coll("default");
    w.sw(&["add", "skill", &w.src("my-skill")]).expect(0);
    w.sw(&["snapshot", "-m", "one"]).expect(0);
    fs::rename(state_of(&c), c.join(".skillwal")).unwrap();
    // A committed version-1 transaction in the old journal: put-file commands/late.md.
    let journal = c.join(".skillwal/journal");
    let mut bytes = fs::read(&journal).unwrap();
    v1_committed_put(&mut bytes, "commands/late.md", b"# late\n");
    fs::write(&journal, &bytes).unwrap();

    let out = w.sw(&["list"]);
    out.expect(0);
    assert!(out.stderr.contains("rolled forward"), "{}", out.stderr);
    assert!(!c.join(".skillwal").exists(), "not moved");
    assert!(state_of(&c).join("journal").is_file());
    assert_eq!(read(&c.join("commands/late.md")), "# late\n");
    assert_eq!(w.sw_snapshots(), [(1, false)]);
    w.sw(&["snapshot", "-m", "two"]).expect(0);
    assert_eq!(w.sw_snapshots(), [(1, false), (2, false)]);
}

/// Writes into the journal `bytes` a committed transaction of format version 1 (as an
/// older skillwal wrote it) that puts `content` at `path`: both header slots of version 1,
/// the live one active.
fn v1_committed_put(bytes: &mut [u8], path: &str, content: &[u8]) {
    use skillwal::journal::format::{self, Before, Content, Header, Kind, Record};
    let salt = 0x1234_5678_9abc_def0;
    for (slot, sequence, active) in [(0usize, 11u64, true), (512, 10, false)] {
        let h = Header {
            version: 1,
            sequence,
            live_salt: if active { salt } else { salt ^ 1 },
            next_txn_id: 5,
            active,
        };
        bytes[slot..slot + 512].copy_from_slice(&format::encode_header(&h));
    }
    // A version-1 put-file with an absent before-state is byte for byte a version-2 one.
    let records = [
        (
            Record::Begin {
                time_unix_ms: 1,
                label: "an older skillwal".into(),
            },
            None,
        ),
        (
            Record::PutFile {
                op: 0,
                path: path.into(),
                mode: 0o644,
                before: Before::Absent,
                size: content.len() as u64,
                hash: *blake3::hash(content).as_bytes(),
                staged_ino: 0,
                content: Content::Inline {
                    at: 0,
                    len: content.len() as u32,
                },
            },
            Some(content),
        ),
    ];
    let mut at = format::RECORDS_OFFSET as usize;
    let mut digest = blake3::Hasher::new();
    for (i, (rec, inline)) in records.iter().enumerate() {
        let frame = format::encode_frame(
            salt,
            5,
            i as u32,
            rec.kind(),
            &format::encode_payload(rec, *inline),
        );
        digest.update(&frame);
        bytes[at..at + frame.len()].copy_from_slice(&frame);
        at += frame.len();
    }
    let commit = Record::Commit {
        record_count: 2,
        op_count: 1,
        digest: *digest.finalize().as_bytes(),
    };
    let frame = format::encode_frame(
        salt,
        5,
        2,
        Kind::Commit,
        &format::encode_payload(&commit, None),
    );
    bytes[at..at + frame.len()].copy_from_slice(&frame);
}

// ---------------------------------------------------------------------------------------
// 7. Permission bits whatever the umask (issue 11, finding 3)

impl World {
    /// `skillwal` under `umask 077` (through `sh`, which then `exec`s it).
    fn sw_umask_077(&self, args: &[&str]) -> Out {
        let mut cmd = StdCommand::new("sh");
        cmd.arg("-c")
            .arg("umask 077; exec \"$0\" \"$@\"")
            .arg(assert_cmd::cargo::cargo_bin("skillwal"))
            .arg("--home")
            .arg(self.skillmeat_dir())
            .args(args)
            .env("HOME", &self.home)
            .env("SKILLWAL_HOME", self.skillmeat_dir())
            .env_remove("SKILLWAL_CRASH_AFTER")
            .env_remove("SKILLWAL_FAIL_AT")
            .current_dir(&self.root);
        let mut out = run(&mut cmd, PY_TIMEOUT);
        out.what = format!("umask 077; skillwal {}", args.join(" "));
        out
    }

    /// `skillmeat ARGS` under `umask 077`.
    fn skillmeat_umask_077(&self, py: &Python, args: &[&str]) -> Out {
        let mut cmd = StdCommand::new("sh");
        cmd.arg("-c")
            .arg("umask 077; exec \"$0\" \"$@\"")
            .arg(&py.skillmeat)
            .args(args);
        let mut out = run(self.py_env(&mut cmd), PY_TIMEOUT);
        out.what = format!("umask 077; skillmeat {}", args.join(" "));
        out
    }
}

/// Both tools add the same local skill under `umask 077`: the Python tool's copy keeps the
/// source's permission bits (`copy2`), and so does skillwal's (the umask does not apply to
/// what it writes); both copies are alike path for path, mode for mode, and both tools agree
/// on every hash. A skillwal rollback under `umask 077` restores the modes too.
#[test]
fn under_umask_077_both_tools_keep_the_source_modes() {
    use std::os::unix::fs::PermissionsExt;
    let py = python_or_skip!("under_umask_077_both_tools_keep_the_source_modes");
    let w = World::new();
    w.sw_umask_077(&["init"]).expect(0);
    let c = w.coll("default");
    let src = w.src.join("moded");
    for (rel, text) in [
        (
            "SKILL.md",
            "---\nname: moded\ndescription: modes\n---\nbody\n",
        ),
        ("scripts/run.sh", "#!/bin/sh\necho run\n"),
        ("private/key.txt", "secret\n"),
    ] {
        fs::create_dir_all(src.join(rel).parent().unwrap()).unwrap();
        fs::write(src.join(rel), text).unwrap();
    }
    let set = |rel: &str, mode: u32| {
        fs::set_permissions(src.join(rel), fs::Permissions::from_mode(mode)).unwrap()
    };
    set("scripts/run.sh", 0o755);
    set("SKILL.md", 0o644);
    set("private/key.txt", 0o600);
    set("private", 0o700);
    set("scripts", 0o755);
    set("", 0o750);
    w.sw_umask_077(&["add", "skill", src.to_str().unwrap()])
        .expect(0);
    let theirs = w.root.join("theirs");
    copy_tree(&src, &theirs);
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o750)).unwrap();
    for rel in [
        "scripts/run.sh",
        "SKILL.md",
        "private/key.txt",
        "private",
        "scripts",
    ] {
        let m = fs::metadata(src.join(rel)).unwrap().permissions().mode();
        fs::set_permissions(theirs.join(rel), fs::Permissions::from_mode(m)).unwrap();
    }
    w.skillmeat_umask_077(py, &["add", "skill", theirs.to_str().unwrap(), "--yes"])
        .expect(0);
    let ours = snapshot(&c.join("skills/moded"));
    let python = snapshot(&c.join("skills/theirs"));
    assert_eq!(ours, python, "skillwal's copy and the Python tool's");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&c.join("skills/moded/scripts/run.sh")), 0o755);
    assert_eq!(mode(&c.join("skills/moded/private")), 0o700);
    assert_eq!(mode(&c.join("skills/moded")), 0o750);
    w.drift(py, None).assert_clean_and_agrees(&w, "default", 2);

    w.sw_umask_077(&["snapshot", "-m", "modes"]).expect(0);
    let at_snapshot = snapshot(&c);
    fs::set_permissions(
        c.join("skills/moded/scripts/run.sh"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::set_permissions(
        c.join("skills/moded/private"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    w.sw_umask_077(&["rollback", "1", "--yes"]).expect(0);
    assert_eq!(snapshot(&c), at_snapshot, "modes restored under umask 077");
}

// ---------------------------------------------------------------------------------------
// 4. A move between two collections the Python tool made (wal-spec.md §14.7)

/// skillwal moves the Python-made `edge-skill` (links, modes, an empty directory) from
/// `default` to `work`, both made by the Python tool: the Python tool then lists it in
/// `work` only, and finds both collections clean, its own content hash of the moved skill
/// equal to the lock's; moving it back leaves the Python tool seeing the start again.
#[test]
fn python_collections_after_a_skillwal_move() {
    let py = python_or_skip!("python_collections_after_a_skillwal_move");
    let w = World::from_fixture("edge");
    let start_default = w.py_list(py).0;
    w.sw(&["move", "edge-skill", "--to", "work"]).expect(0);
    let names = |coll: &str| -> Vec<(String, String)> {
        let v = w
            .skillmeat(py, &["list", "--json", "--no-cache", "--collection", coll])
            .expect(0)
            .json();
        python_list(&v).0
    };
    let default_after = names("default");
    let work_after = names("work");
    assert!(
        !default_after.iter().any(|(n, _)| n == "edge-skill"),
        "{default_after:?}"
    );
    assert!(
        work_after
            .iter()
            .any(|(n, t)| n == "edge-skill" && t == "skill"),
        "{work_after:?}"
    );
    w.drift(py, Some("work"))
        .assert_clean_and_agrees(&w, "work", work_after.len());
    w.drift(py, Some("default"))
        .assert_clean_and_agrees(&w, "default", default_after.len());
    w.sw(&["-c", "work", "move", "edge-skill", "--to", "default"])
        .expect(0);
    // The same artifacts; a moved one is appended to the manifest, as an added one is.
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(names("default")), sorted(start_default));
}
