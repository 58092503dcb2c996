//! Front matter, side by side with the real Python `skillmeat` 0.74.0: every case of
//! `tests/frontmatter_cases/` and every file of `tests/fixtures/frontmatter/` is added by
//! skillwal and by the Python tool (its own `ArtifactManager.add_from_local`, the code behind
//! `skillmeat add`), and the two `collection.toml` files must hold the same
//! `[artifacts.metadata]` (less `extra`, which skillwal does not write) and the same `tags`,
//! and `list --json` must show the same `version`. Where the Python add fails, the skillwal
//! add must fail too, having changed nothing.
//!
//! Where the tool comes from, and when these tests skip: as in `tests/python_compat.rs`
//! (`SKILLWAL_SKILLMEAT`, else `tools/python-compat/setup.sh`; skipped with a loud message
//! when neither works, a failure when `SKILLWAL_REQUIRE_PYTHON_COMPAT=1`).
//!
//! `SKILLWAL_FRONTMATTER_CORPUS=DIR` adds a test over every `SKILL.md` and every `.md` file
//! under a `commands/` or `agents/` directory below DIR (for example clones of public skill
//! repositories, which are not copied into this repository); without it that test passes
//! with a note.

mod frontmatter_cases;

use assert_cmd::Command;
use frontmatter_cases::CASES;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const REQUIRE_ENV: &str = "SKILLWAL_REQUIRE_PYTHON_COMPAT";
const TOOL_ENV: &str = "SKILLWAL_SKILLMEAT";
const CORPUS_ENV: &str = "SKILLWAL_FRONTMATTER_CORPUS";
const PY_TIMEOUT: Duration = Duration::from_secs(600);
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);

// ---------------------------------------------------------------------------------------
// Finding the Python tool (as tests/python_compat.rs does)

static TOOL: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn find_tool() -> Result<PathBuf, String> {
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
                    "`bash tools/python-compat/setup.sh target/skillmeat-venv` failed:\n{}{}",
                    out.stdout, out.stderr
                ));
            }
            match out.stdout.lines().rev().find(|l| !l.trim().is_empty()) {
                Some(last) => PathBuf::from(last.trim()),
                None => return Err(format!("setup.sh printed no path:\n{}", out.stderr)),
            }
        }
    };
    if !skillmeat.is_file() || !skillmeat.with_file_name("python").is_file() {
        return Err(format!(
            "{} is not a skillmeat with a python next to it",
            skillmeat.display()
        ));
    }
    Ok(skillmeat)
}

/// The `skillmeat` executable, or `None` after a loud SKIPPED message; panics instead when
/// `SKILLWAL_REQUIRE_PYTHON_COMPAT=1`.
fn python(test: &str) -> Option<&'static Path> {
    match TOOL.get_or_init(find_tool) {
        Ok(p) => Some(p),
        Err(msg) => {
            if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_ENV}=1 but the Python skillmeat 0.74.0 tool is not available:\n{msg}"
                );
            }
            let line = format!(
                "\n**********\nSKIPPED: {test}: the Python skillmeat 0.74.0 tool is not available \
                 (set {TOOL_ENV}; {REQUIRE_ENV}=1 turns this into a failure):\n{msg}\n**********\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            None
        }
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
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
    }
}

// ---------------------------------------------------------------------------------------
// Both tools on the same sources

/// Adds the given artifacts with the Python tool's own add (`add_from_local`, what
/// `skillmeat add <type> <path>` calls) into a new collection `default`, in one process;
/// prints `{name: null | "ExceptionType: message"}`. Then, if asked, updates (refreshes)
/// the named local artifacts as `skillmeat update NAME` does.
const PY_ADD: &str = r#"
import contextlib, io, json, logging, sys
from pathlib import Path
logging.disable(logging.CRITICAL)
from skillmeat.core.collection import CollectionManager
from skillmeat.core.artifact import ArtifactManager, ArtifactType
CollectionManager().init("default")
mgr = ArtifactManager()
out = {}
for spec in json.loads(sys.argv[1]):
    ty, path = spec
    name = Path(path).stem
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            mgr.add_from_local(path=str(Path(path).resolve()), artifact_type=ArtifactType(ty), tags=None)
        out[name] = None
    except Exception as e:
        out[name] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
"#;

struct World {
    _tmp: TempDir,
    root: PathBuf,
    sw_home: PathBuf,
    py_home: PathBuf,
    skillmeat: PathBuf,
}

/// One artifact's outcome in one tool.
#[derive(Debug, Clone, PartialEq)]
enum Added {
    /// `[artifacts.metadata]` less `extra`, and `tags`.
    Ok {
        metadata: toml::Table,
        tags: Option<toml::Value>,
    },
    Failed(String),
}

impl World {
    fn new(skillmeat: &Path) -> World {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path().to_path_buf();
        let (sw_home, py_home) = (root.join("sw-home"), root.join("py-home"));
        fs::create_dir_all(&sw_home).unwrap();
        fs::create_dir_all(&py_home).unwrap();
        World {
            _tmp: tmp,
            root,
            sw_home,
            py_home,
            skillmeat: skillmeat.to_path_buf(),
        }
    }

    /// Writes a source for each (name, type, bytes): `src/<name>/SKILL.md` for a skill,
    /// `src/<name>.md` otherwise.
    fn stage(&self, cases: &[(String, String, Vec<u8>)]) -> Vec<(String, String, PathBuf)> {
        let src = self.root.join("src");
        cases
            .iter()
            .map(|(name, ty, bytes)| {
                let path = if ty == "skill" {
                    let dir = src.join(name);
                    fs::create_dir_all(&dir).unwrap();
                    fs::write(dir.join("SKILL.md"), bytes).unwrap();
                    dir
                } else {
                    let dir = src.join(format!("{ty}s"));
                    fs::create_dir_all(&dir).unwrap();
                    let p = dir.join(format!("{name}.md"));
                    fs::write(&p, bytes).unwrap();
                    p
                };
                (name.clone(), ty.clone(), path)
            })
            .collect()
    }

    fn sw(&self, args: &[&str]) -> Out {
        let out = Command::cargo_bin("skillwal")
            .unwrap()
            .arg("--home")
            .arg(self.sw_home.join(".skillmeat"))
            .args(args)
            .env("HOME", &self.sw_home)
            .env("SKILLWAL_HOME", self.sw_home.join(".skillmeat"))
            .env_remove("SKILLWAL_CRASH_AFTER")
            .env_remove("SKILLWAL_FAIL_AT")
            .current_dir(&self.root)
            .write_stdin(Vec::new())
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        Out {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn py_cmd(&self, program: &Path) -> StdCommand {
        let mut cmd = StdCommand::new(program);
        cmd.env("HOME", &self.py_home)
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("COLUMNS", "200")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("SKILLWAL_HOME")
            .current_dir(&self.root);
        cmd
    }

    /// skillwal adds every source; the outcome of each.
    fn sw_add_all(&self, staged: &[(String, String, PathBuf)]) -> BTreeMap<String, Added> {
        let init = self.sw(&["init"]);
        assert_eq!(init.code, Some(0), "skillwal init: {}", init.stderr);
        let mut failed = BTreeMap::new();
        for (name, ty, path) in staged {
            let out = self.sw(&["add", ty, path.to_str().unwrap()]);
            if out.code != Some(0) {
                failed.insert(name.clone(), out.stderr);
            }
        }
        read_outcomes(
            &self
                .sw_home
                .join(".skillmeat/collections/default/collection.toml"),
            staged,
            failed,
        )
    }

    /// The Python tool adds every source; the outcome of each.
    fn py_add_all(&self, staged: &[(String, String, PathBuf)]) -> BTreeMap<String, Added> {
        let specs: Vec<(&str, &str)> = staged
            .iter()
            .map(|(_, ty, p)| (ty.as_str(), p.to_str().unwrap()))
            .collect();
        let mut cmd = self.py_cmd(&self.skillmeat.with_file_name("python"));
        cmd.arg("-c")
            .arg(PY_ADD)
            .arg(serde_json::to_string(&specs).unwrap());
        let out = run(&mut cmd, PY_TIMEOUT);
        assert_eq!(
            out.code,
            Some(0),
            "the Python add script failed:\n{}{}",
            out.stdout,
            out.stderr
        );
        let results: BTreeMap<String, Option<String>> =
            serde_json::from_str(out.stdout.lines().last().unwrap_or_default())
                .unwrap_or_else(|e| panic!("Python output is not JSON ({e}):\n{}", out.stdout));
        let failed = results
            .into_iter()
            .filter_map(|(n, e)| e.map(|e| (n, e)))
            .collect();
        read_outcomes(
            &self
                .py_home
                .join(".skillmeat/collections/default/collection.toml"),
            staged,
            failed,
        )
    }

    /// `version` of each artifact in `skillwal --json list` and in `skillmeat list --json`.
    fn versions(&self) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
        let sw = self.sw(&["--json", "list"]);
        assert_eq!(sw.code, Some(0), "skillwal list: {}", sw.stderr);
        let sw: Value = serde_json::from_str(&sw.stdout).unwrap();
        let sw = sw["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["version"].clone(),
                )
            })
            .collect();
        let mut cmd = self.py_cmd(&self.skillmeat);
        cmd.args(["list", "--json", "--no-cache"]);
        let py = run(&mut cmd, PY_TIMEOUT);
        assert_eq!(
            py.code,
            Some(0),
            "skillmeat list: {}{}",
            py.stdout,
            py.stderr
        );
        let py: Value = serde_json::from_str(&py.stdout)
            .unwrap_or_else(|e| panic!("skillmeat list --json ({e}):\n{}", py.stdout));
        let py = py
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["version"].clone(),
                )
            })
            .collect();
        (sw, py)
    }
}

fn read_outcomes(
    manifest: &Path,
    staged: &[(String, String, PathBuf)],
    mut failed: BTreeMap<String, String>,
) -> BTreeMap<String, Added> {
    let doc: toml::Table = fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()))
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let artifacts = doc
        .get("artifacts")
        .and_then(|a| a.as_array())
        .cloned()
        .unwrap_or_default();
    staged
        .iter()
        .map(|(name, ty, _)| {
            if let Some(e) = failed.remove(name) {
                return (name.clone(), Added::Failed(e));
            }
            let a = artifacts
                .iter()
                .find(|a| a["name"].as_str() == Some(name) && a["type"].as_str() == Some(ty))
                .unwrap_or_else(|| panic!("{name} ({ty}) is not in {}", manifest.display()));
            let mut metadata = a
                .get("metadata")
                .and_then(|m| m.as_table())
                .cloned()
                .unwrap_or_default();
            metadata.remove("extra");
            (
                name.clone(),
                Added::Ok {
                    metadata,
                    tags: a.get("tags").cloned(),
                },
            )
        })
        .collect()
}

/// TOML values compared as values (`nan` equal to `nan`).
fn same(a: &Added, b: &Added) -> bool {
    match (a, b) {
        (Added::Failed(_), Added::Failed(_)) => true,
        (Added::Ok { .. }, Added::Ok { .. }) => {
            format!("{a:?}").replace("NaN", "nan") == format!("{b:?}").replace("NaN", "nan")
        }
        _ => false,
    }
}

/// Adds every case with both tools and compares; returns a description of each difference.
fn compare(skillmeat: &Path, cases: &[(String, String, Vec<u8>)], versions: bool) -> Vec<String> {
    let w = World::new(skillmeat);
    let staged = w.stage(cases);
    let sw = w.sw_add_all(&staged);
    let py = w.py_add_all(&staged);
    let mut diffs = Vec::new();
    for (name, ty, _) in &staged {
        let (s, p) = (&sw[name], &py[name]);
        if !same(s, p) {
            diffs.push(format!(
                "{ty} {name}:\n  skillwal: {s:?}\n  skillmeat: {p:?}"
            ));
        }
        if let (Added::Failed(_), Added::Failed(_)) = (s, p) {
            // skillwal's add changed nothing: no files were left behind.
            let left = w
                .sw_home
                .join(".skillmeat/collections/default")
                .join(format!("{ty}s"))
                .join(if ty == "skill" {
                    name.clone()
                } else {
                    format!("{name}.md")
                });
            if left.exists() {
                diffs.push(format!(
                    "{ty} {name}: skillwal's failed add left {}",
                    left.display()
                ));
            }
        }
    }
    if versions {
        let (sw_v, py_v) = w.versions();
        for (name, v) in &py_v {
            let s = sw_v.get(name).cloned().unwrap_or(Value::Null);
            if s.to_string().replace("NaN", "nan") != v.to_string().replace("NaN", "nan") {
                diffs.push(format!(
                    "list --json version of {name}: skillwal {s}, skillmeat {v}"
                ));
            }
        }
        if sw_v.len() != py_v.len() {
            diffs.push(format!(
                "list --json: skillwal lists {} artifacts, skillmeat {}",
                sw_v.len(),
                py_v.len()
            ));
        }
    }
    diffs
}

/// Every `SKILL.md` below `dir` (as a skill named after its directory) and every `.md` file
/// in a `commands/` or `agents/` directory, named `<prefix>-<n>` to keep names unique.
fn corpus(dir: &Path, prefix: &str) -> Vec<(String, String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files
        .into_iter()
        .filter_map(|p| {
            let parent = p.parent()?.file_name()?.to_str()?;
            let ty = if p.file_name()? == "SKILL.md" {
                "skill"
            } else if p.extension()? == "md" && parent == "commands" {
                "command"
            } else if p.extension()? == "md" && parent == "agents" {
                "agent"
            } else {
                return None;
            };
            Some((ty.to_string(), fs::read(&p).ok()?))
        })
        .enumerate()
        .map(|(i, (ty, bytes))| (format!("{prefix}-{i}"), ty, bytes))
        .collect()
}

fn report(diffs: &[String], total: usize) {
    assert!(
        diffs.is_empty(),
        "{} of {total} front matter cases differ between skillwal and skillmeat 0.74.0:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

#[test]
fn front_matter_cases_match_python() {
    let Some(skillmeat) = python("front_matter_cases_match_python") else {
        return;
    };
    let mut cases: Vec<(String, String, Vec<u8>)> = CASES
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.ty.to_string(),
                c.text.as_bytes().to_vec(),
            )
        })
        .collect();
    // The realistic files written for this repository, and a file over skillwal's read limit.
    cases.extend(corpus(
        &Path::new(REPO).join("tests/fixtures/frontmatter"),
        "fixture",
    ));
    let mut big = b"---\ndescription: big\nversion: 2\n---\n".to_vec();
    big.resize(1500 * 1024, b'x');
    big.extend_from_slice("é\n".as_bytes());
    cases.push(("larger-than-read-limit".into(), "skill".into(), big));
    let diffs = compare(skillmeat, &cases, true);
    report(&diffs, cases.len());
}

#[test]
fn corpus_matches_python() {
    let Some(dir) = std::env::var_os(CORPUS_ENV).filter(|d| !d.is_empty()) else {
        eprintln!("corpus_matches_python: {CORPUS_ENV} is not set; nothing to compare");
        return;
    };
    let Some(skillmeat) = python("corpus_matches_python") else {
        return;
    };
    let cases = corpus(Path::new(&dir), "corpus");
    assert!(!cases.is_empty(), "no metadata files under {dir:?}");
    let diffs = compare(skillmeat, &cases, true);
    report(&diffs, cases.len());
}

/// An update re-extracts the metadata and leaves the artifact's tags alone, in both tools.
/// (SkillMeat refreshes a local artifact from the collection's copy, skillwal from the
/// source: each is given the same new text there.)
#[test]
fn update_refreshes_metadata_and_keeps_tags_like_python() {
    let Some(skillmeat) = python("update_refreshes_metadata_and_keeps_tags_like_python") else {
        return;
    };
    let w = World::new(skillmeat);
    let first = "---\ndescription: old\nversion: 1.0\ntags: [a]\n---\n";
    let second =
        "---\ndescription: >\n  new\n  text\nversion: 0.10\nauthor: ~\ntags: [b, c]\n---\n";
    let staged = w.stage(&[("upd".into(), "skill".into(), first.as_bytes().to_vec())]);
    w.sw_add_all(&staged);
    w.py_add_all(&staged);
    fs::write(staged[0].2.join("SKILL.md"), second).unwrap();
    let out = w.sw(&["update", "upd"]);
    assert_eq!(
        out.code,
        Some(0),
        "skillwal update: {}{}",
        out.stdout,
        out.stderr
    );
    fs::write(
        w.py_home
            .join(".skillmeat/collections/default/skills/upd/SKILL.md"),
        second,
    )
    .unwrap();
    let mut cmd = w.py_cmd(&w.skillmeat);
    cmd.args(["update", "upd"]);
    let out = run(&mut cmd, PY_TIMEOUT);
    assert_eq!(
        out.code,
        Some(0),
        "skillmeat update: {}{}",
        out.stdout,
        out.stderr
    );
    let sw = read_outcomes(
        &w.sw_home
            .join(".skillmeat/collections/default/collection.toml"),
        &staged,
        BTreeMap::new(),
    );
    let py = read_outcomes(
        &w.py_home
            .join(".skillmeat/collections/default/collection.toml"),
        &staged,
        BTreeMap::new(),
    );
    assert_eq!(sw["upd"], py["upd"]);
    let Added::Ok { metadata, tags } = &py["upd"] else {
        unreachable!()
    };
    assert_eq!(metadata["version"].as_str(), Some("0.1"), "{metadata:?}");
    assert_eq!(metadata["author"].as_str(), Some("None"), "{metadata:?}");
    assert_eq!(tags, &Some(toml::Value::Array(vec!["a".into()])));
}
