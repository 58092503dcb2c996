//! The state of a collection as the harness sees it, computed from the files alone: every
//! path with its kind, mode and SHA-256, and the manifest and lock parsed with `toml`. Nothing
//! here uses skillwal's code, so a bug there cannot hide itself.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub const MANIFEST: &str = "collection.toml";
pub const LOCK: &str = "collection.lock";
/// skillwal's own directory inside a collection: its journal, staging area and lock.
pub const META_DIR: &str = ".skillwal";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        len: u64,
        sha256: String,
    },
    /// The manifest and the lock, kept as text so that timestamps can be masked.
    Doc {
        mode: u32,
        text: String,
    },
    Link {
        target: String,
    },
}

/// Every path below a collection, `.skillwal/` excluded, keyed by its relative path.
pub type Tree = BTreeMap<String, Node>;

/// Reads the tree below `dir`. Fails on what the harness cannot read.
pub fn tree(dir: &Path) -> Result<Tree, String> {
    let mut t = Tree::new();
    walk(dir, "", &mut t)?;
    Ok(t)
}

fn walk(dir: &Path, prefix: &str, t: &mut Tree) -> Result<(), String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
    for e in rd {
        let e = e.map_err(|e| format!("read {}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if prefix.is_empty() && name == META_DIR {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let p = e.path();
        let meta = fs::symlink_metadata(&p).map_err(|e| format!("stat {}: {e}", p.display()))?;
        let mode = meta.permissions().mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            let target = fs::read_link(&p).map_err(|e| e.to_string())?;
            Node::Link {
                target: target.display().to_string(),
            }
        } else if meta.is_dir() {
            walk(&p, &rel, t)?;
            Node::Dir { mode }
        } else if rel == MANIFEST || rel == LOCK {
            let text = fs::read_to_string(&p).map_err(|e| format!("read {}: {e}", p.display()))?;
            Node::Doc { mode, text }
        } else {
            let (len, sha256) = sha256_file(&p)?;
            Node::File { mode, len, sha256 }
        };
        t.insert(rel, node);
    }
    Ok(())
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(p: &Path) -> Result<(u64, String), String> {
    let mut f = fs::File::open(p).map_err(|e| format!("open {}: {e}", p.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("read {}: {e}", p.display()))?;
        if n == 0 {
            break;
        }
        len += n as u64;
        h.update(&buf[..n]);
    }
    Ok((len, hex(&h.finalize())))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Replaces every quoted ISO-8601 timestamp (`"2026-01-02T03:04:05[.ffffff]"`) with
/// `"<TS>"`: two successful runs of the same command differ only there.
pub fn mask_timestamps(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let shape = |s: &[u8]| {
        // YYYY-MM-DDTHH:MM:SS
        s.len() >= 19
            && s[..19].iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            })
    };
    while i < b.len() {
        if b[i] == b'"' && shape(&b[i + 1..]) {
            let mut j = i + 20;
            if j < b.len() && b[j] == b'.' {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if j < b.len() && b[j] == b'"' {
                out.push_str("\"<TS>\"");
                i = j + 1;
                continue;
            }
        }
        let c = text[i..].chars().next().expect("char boundary");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The tree with timestamps masked in manifest and lock.
pub fn masked(t: &Tree) -> Tree {
    t.iter()
        .map(|(k, v)| {
            let v = match v {
                Node::Doc { mode, text } => Node::Doc {
                    mode: *mode,
                    text: mask_timestamps(text),
                },
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// What differs between two trees, one line per path (empty when they are equal).
pub fn diff(a: &Tree, b: &Tree) -> String {
    let mut out = String::new();
    for (k, v) in a {
        match b.get(k) {
            None => out.push_str(&format!("    only in the first: {k}\n")),
            Some(w) if w != v => out.push_str(&format!("    differs: {k}\n")),
            _ => {}
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            out.push_str(&format!("    only in the second: {k}\n"));
        }
    }
    out
}

/// Which of the two expected states a tree is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Before,
    After,
}

/// The state before the command (exact) and after it (manifest and lock timestamps masked).
pub struct Expected {
    pub before: Tree,
    pub after_masked: Tree,
}

impl Expected {
    /// Classifies `dir`; an error describes how it differs from both states.
    pub fn classify(&self, dir: &Path) -> Result<Which, String> {
        let now = tree(dir)?;
        if now == self.before {
            return Ok(Which::Before);
        }
        let m = masked(&now);
        if m == self.after_masked {
            return Ok(Which::After);
        }
        Err(format!(
            "the collection is neither before nor after the command\n  against before:\n{}  against after (timestamps masked):\n{}",
            diff(&self.before, &now),
            diff(&self.after_masked, &m)
        ))
    }
}

/// SkillMeat's content hash (reference/skillmeat-format.md): a file's SHA-256; for a
/// directory, one SHA-256 over every regular file in component-wise sorted order of the
/// relative paths, each as its path's UTF-8 bytes then its bytes.
pub fn skillmeat_hash(p: &Path) -> Result<String, String> {
    let meta = fs::metadata(p).map_err(|e| format!("stat {}: {e}", p.display()))?;
    if meta.is_file() {
        return Ok(sha256_file(p)?.1);
    }
    let mut files = Vec::new();
    list_files(p, "", &mut files)?;
    files.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    for rel in files {
        h.update(rel.as_bytes());
        let fp = p.join(&rel);
        let mut f = fs::File::open(&fp).map_err(|e| format!("open {}: {e}", fp.display()))?;
        loop {
            let n = f.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(hex(&h.finalize()))
}

fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), String> {
    for e in fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ft = e.file_type().map_err(|e| e.to_string())?;
        if ft.is_dir() {
            list_files(&e.path(), &rel, out)?;
        } else if ft.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

/// An artifact's kind, as SkillMeat names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Skill,
    Command,
    Agent,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Skill => "skill",
            Kind::Command => "command",
            Kind::Agent => "agent",
        }
    }

    /// Where SkillMeat stores an artifact of this kind.
    pub fn storage(self, name: &str) -> String {
        match self {
            Kind::Skill => format!("skills/{name}"),
            Kind::Command => format!("commands/{name}.md"),
            Kind::Agent => format!("agents/{name}.md"),
        }
    }
}

/// What a command must do to the collection, stated from the sources alone.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Artifacts that must exist afterwards with exactly the content of their source.
    pub present: Vec<(Kind, String, std::path::PathBuf)>,
    /// Artifacts that must be gone afterwards (files, manifest entry, lock entry).
    pub absent: Vec<(Kind, String)>,
}

fn parse(dir: &Path, file: &str) -> Result<toml::Table, String> {
    let p = dir.join(file);
    let text = fs::read_to_string(&p).map_err(|e| format!("read {}: {e}", p.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{} does not parse: {e}", p.display()))
}

/// The manifest's `[[artifacts]]` keyed by `name::type`, timestamps masked.
fn manifest_entries(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let m = parse(dir, MANIFEST)?;
    let mut out = BTreeMap::new();
    if let Some(arts) = m.get("artifacts").and_then(|a| a.as_array()) {
        for a in arts {
            let t = a
                .as_table()
                .ok_or("an [[artifacts]] entry is not a table")?;
            let get = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("");
            let key = format!("{}::{}", get("name"), get("type"));
            if out
                .insert(key.clone(), mask_timestamps(&a.to_string()))
                .is_some()
            {
                return Err(format!("the manifest lists {key} twice"));
            }
        }
    }
    Ok(out)
}

/// The lock's entries keyed by `name::type`, timestamps masked.
fn lock_entries(dir: &Path) -> Result<BTreeMap<String, toml::Table>, String> {
    let l = parse(dir, LOCK)?;
    let entries = l
        .get("lock")
        .and_then(|v| v.get("entries"))
        .and_then(|v| v.as_table())
        .cloned()
        .unwrap_or_default();
    entries
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::Table(t) => Ok((k, t)),
            _ => Err(format!("lock entry {k} is not a table")),
        })
        .collect()
}

/// Checks that `after_dir` is what `model` says `before_dir` must become: the named artifacts
/// hold exactly their sources' files (bytes and executable bit), with a manifest entry and a
/// lock entry whose `content_hash` is SkillMeat's hash of the source; removed artifacts are
/// gone everywhere; and every other file and every other manifest and lock entry is as it was.
pub fn check_model(before_dir: &Path, after_dir: &Path, model: &Model) -> Result<(), String> {
    let (before, after) = (tree(before_dir)?, tree(after_dir)?);
    let mut touched: Vec<String> = Vec::new();
    let (mb, ma) = (manifest_entries(before_dir)?, manifest_entries(after_dir)?);
    let (lb, la) = (lock_entries(before_dir)?, lock_entries(after_dir)?);
    for (kind, name, source) in &model.present {
        let storage = kind.storage(name);
        let key = format!("{name}::{}", kind.name());
        let want = tree_of(source)?;
        let got: Tree = after
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&storage)?;
                if rest.is_empty() {
                    return Some((String::new(), v.clone()));
                }
                Some((rest.strip_prefix('/')?.to_string(), v.clone()))
            })
            .collect();
        let shape = |t: &Tree| -> Tree {
            t.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Node::File { mode, len, sha256 } => Node::File {
                            mode: mode & 0o100,
                            len: *len,
                            sha256: sha256.clone(),
                        },
                        Node::Dir { .. } => Node::Dir { mode: 0 },
                        o => o.clone(),
                    };
                    (k.clone(), v)
                })
                .collect()
        };
        if !got.contains_key("") {
            return Err(format!("{storage} is missing"));
        }
        if shape(&got) != shape(&want) {
            return Err(format!(
                "{storage} does not hold exactly its source {}:\n{}",
                source.display(),
                diff(&shape(&want), &shape(&got))
            ));
        }
        if !ma.contains_key(&key) {
            return Err(format!("the manifest has no entry for {key}"));
        }
        let hash = skillmeat_hash(source)?;
        match la.get(&key).and_then(|e| e.get("content_hash")) {
            Some(toml::Value::String(h)) if *h == hash => {}
            other => {
                return Err(format!(
                    "the lock's content_hash of {key} is {other:?}, SkillMeat's hash of the source is {hash}"
                ));
            }
        }
        touched.push(key);
        touched.push(storage);
    }
    for (kind, name) in &model.absent {
        let storage = kind.storage(name);
        let key = format!("{name}::{}", kind.name());
        if after.contains_key(&storage) {
            return Err(format!("{storage} must be gone"));
        }
        if ma.contains_key(&key) || la.contains_key(&key) {
            return Err(format!("{key} must be gone from manifest and lock"));
        }
        touched.push(key);
        touched.push(storage);
    }
    let untouched = |k: &String| {
        !touched
            .iter()
            .any(|t| k == t || k.starts_with(&format!("{t}/")))
    };
    for (k, v) in before.iter().filter(|(k, _)| untouched(k)) {
        if k == MANIFEST || k == LOCK {
            continue;
        }
        if after.get(k) != Some(v) {
            return Err(format!("{k} changed, but the command must not touch it"));
        }
    }
    for k in after.keys().filter(|k| untouched(k)) {
        if !before.contains_key(k) {
            return Err(format!("{k} appeared, but the command must not create it"));
        }
    }
    for (k, v) in mb.iter().filter(|(k, _)| untouched(k)) {
        if ma.get(k) != Some(v) {
            return Err(format!("the manifest entry {k} changed"));
        }
    }
    for (k, v) in lb.iter().filter(|(k, _)| untouched(k)) {
        let masked_v = mask_timestamps(&v.to_string());
        if la.get(k).map(|t| mask_timestamps(&t.to_string())) != Some(masked_v) {
            return Err(format!("the lock entry {k} changed"));
        }
    }
    Ok(())
}

/// A source as a tree: a directory's contents, or a single file under the empty path.
fn tree_of(source: &Path) -> Result<Tree, String> {
    let meta = fs::metadata(source).map_err(|e| format!("stat {}: {e}", source.display()))?;
    let mut t = Tree::new();
    if meta.is_dir() {
        walk(source, "", &mut t)?;
        t.insert(String::new(), Node::Dir { mode: 0 });
    } else {
        let (len, sha256) = sha256_file(source)?;
        let mode = meta.permissions().mode() & 0o7777;
        t.insert(String::new(), Node::File { mode, len, sha256 });
    }
    Ok(t)
}
