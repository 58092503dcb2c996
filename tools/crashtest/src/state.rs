//! The state of a collection as the harness sees it, computed from the files alone: every
//! path with its kind, mode and SHA-256, and the manifest and lock parsed with `toml`. Nothing
//! here uses skillwal's code, so a bug there cannot hide itself.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "collection.toml";
pub const LOCK: &str = "collection.lock";
/// The name of skillwal's own directories.
pub const META_DIR: &str = ".skillwal";

/// skillwal's own state for the collection at `collection`: its journal, staging area, lock
/// and store, beside the collection in `<parent>/.skillwal/<name>` (wal-spec.md §2). The one
/// place that knows where it lives: every copy of a collection copies it
/// (`world::copy_collection`), and the staging check looks in it.
pub fn state_dir(collection: &Path) -> PathBuf {
    collection
        .parent()
        .expect("a collection has a parent")
        .join(META_DIR)
        .join(collection.file_name().expect("a collection has a name"))
}

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

/// Every path below a collection, skillwal's state excluded, keyed by its relative path.
pub type Tree = BTreeMap<String, Node>;

/// Reads the tree below the collection `dir`, leaving out skillwal's state when it lives
/// inside. Fails on what the harness cannot read.
pub fn tree(dir: &Path) -> Result<Tree, String> {
    let state = state_dir(dir);
    let skip = if is_project(dir) {
        // A project keeps skillwal's state inside, in `.skillwal/` (wal-spec.md §15.1).
        Some(META_DIR.to_string())
    } else {
        state
            .strip_prefix(dir)
            .ok()
            .map(|r| r.to_string_lossy().into_owned())
    };
    let mut t = Tree::new();
    walk(dir, "", skip.as_deref(), &mut t)?;
    Ok(t)
}

/// Whether `dir` is a project (skillwal deploys into it) rather than a collection: it has no
/// manifest. A collection always has one, before and after any change.
pub fn is_project(dir: &Path) -> bool {
    !dir.join(MANIFEST).exists()
}

/// The Python tool's tracking file in a project's profile root (kept as text, so that its
/// timestamps can be masked).
pub const TRACKING: &str = ".skillmeat-deployed.toml";

/// Whether `name` is one of the Python tool's empty lock files (`.<name>.skillmeat-lock`),
/// which both tools create and never delete: not part of what a command changes.
fn is_python_lock(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".skillmeat-lock")
}

/// Adds every path below `dir` to `t` under `prefix`, except the relative path `skip` and
/// the Python tool's lock files.
fn walk(dir: &Path, prefix: &str, skip: Option<&str>, t: &mut Tree) -> Result<(), String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
    for e in rd {
        let e = e.map_err(|e| format!("read {}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if skip == Some(rel.as_str()) || is_python_lock(&e.file_name().to_string_lossy()) {
            continue;
        }
        let p = e.path();
        let meta = fs::symlink_metadata(&p).map_err(|e| format!("stat {}: {e}", p.display()))?;
        let mode = meta.permissions().mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            let target = fs::read_link(&p).map_err(|e| e.to_string())?;
            Node::Link {
                target: target.display().to_string(),
            }
        } else if meta.is_dir() {
            walk(&p, &rel, skip, t)?;
            Node::Dir { mode }
        } else if rel == MANIFEST || rel == LOCK || rel.ends_with(&format!("/{TRACKING}")) {
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

/// The tree with timestamps masked in manifest and lock (and a project's tracking files).
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

/// A node in a few words, for failure reports: the kind, the permission bits in octal,
/// and a file's size and hash prefix, a link's target.
pub fn describe(n: &Node) -> String {
    match n {
        Node::Dir { mode } => format!("directory {mode:04o}"),
        Node::File { mode, len, sha256 } => {
            format!(
                "file {mode:04o} {len} bytes {}",
                &sha256[..12.min(sha256.len())]
            )
        }
        Node::Doc { mode, text } => format!("document {mode:04o} {} bytes", text.len()),
        Node::Link { target } => format!("symbolic link -> {target}"),
    }
}

/// For two documents, the first line that differs (`: "a" / "b"`); else nothing.
fn first_other_line(a: &Node, b: &Node) -> String {
    let (Node::Doc { text: x, .. }, Node::Doc { text: y, .. }) = (a, b) else {
        return String::new();
    };
    let (mut xs, mut ys) = (x.lines(), y.lines());
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return String::new(),
            (l, r) if l != r => {
                return format!(
                    "; first other line: {:?} / {:?}",
                    l.unwrap_or("<end>"),
                    r.unwrap_or("<end>")
                );
            }
            _ => {}
        }
    }
}

/// What differs between the expected tree `want` and the tree found, `got`: one line per
/// path, saying what each side holds there (empty when they are equal).
pub fn diff(want: &Tree, got: &Tree) -> String {
    let mut out = String::new();
    for (k, v) in want {
        match got.get(k) {
            None => out.push_str(&format!("    missing: {k} (expected {})\n", describe(v))),
            Some(w) if w != v => out.push_str(&format!(
                "    differs: {k}: expected {}, found {}{}\n",
                describe(v),
                describe(w),
                first_other_line(v, w)
            )),
            _ => {}
        }
    }
    for (k, v) in got {
        if !want.contains_key(k) {
            out.push_str(&format!("    unexpected: {k} ({})\n", describe(v)));
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

/// The state before the command (exact) and after it (manifest and lock timestamps masked),
/// and whether `verify` is clean in each: a start the user modified is not, and a state
/// reached through a crash must get the same verdict as the one reached without.
pub struct Expected {
    pub before: Tree,
    pub after_masked: Tree,
    pub clean_before: bool,
    pub clean_after: bool,
    /// The same for the second collection of a scenario with two (`World::partner_of`).
    pub partner: Option<Box<Expected>>,
}

impl Expected {
    /// Whether the command changes this collection at all (a copy leaves its source as it
    /// was, so that collection is both before and after).
    pub fn changes(&self) -> bool {
        masked(&self.before) != self.after_masked
    }

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

    /// Whether `verify` must be clean in the state `which`.
    pub fn clean(&self, which: Which) -> bool {
        match which {
            Which::Before => self.clean_before,
            Which::After => self.clean_after,
        }
    }
}

/// SkillMeat's content hash (docs/skillmeat-format.md), written out the way SkillMeat
/// 0.74 computes it (`skillmeat/utils/filesystem.py`, `compute_content_hash`): a file's
/// SHA-256; for a directory, one SHA-256 over every path `rglob("*")` yields for which
/// `is_file()` holds, in component-wise sorted order, each as its relative path's UTF-8 bytes
/// then its bytes. `is_file()` follows symbolic links and `rglob` does not descend into a
/// linked directory, so a link to a file counts under the link's name with its target's
/// bytes, and a link to a directory or a dangling one adds nothing.
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
        } else if ft.is_file()
            || (ft.is_symlink() && fs::metadata(e.path()).is_ok_and(|m| m.is_file()))
        {
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

/// An artifact that must exist after the command with exactly the content of `source`.
#[derive(Debug, Clone)]
pub struct Present {
    pub kind: Kind,
    pub name: String,
    /// What the artifact must hold: every path's kind, a file's bytes and permission bits,
    /// a directory's permission bits (the artifact's own too), a link's target.
    pub source: PathBuf,
    /// Whether the lock's `content_hash` must be SkillMeat's hash of `source`. False where
    /// the command restores a lock recorded before links were put into the collection by
    /// hand ([`Model::whole`] then says what the lock must be).
    pub lock_hash: bool,
    /// Whether the command is an update of it, which writes a new `last_updated` into its
    /// manifest entry and a new `fetched` into its lock entry (as `update` always has).
    pub updated: bool,
}

impl Present {
    pub fn new(kind: Kind, name: &str, source: PathBuf) -> Present {
        Present {
            kind,
            name: name.to_string(),
            source,
            lock_hash: true,
            updated: false,
        }
    }
}

/// What a command must do to the collection, stated from the sources alone.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Artifacts that must exist afterwards with exactly the content of their source.
    pub present: Vec<Present>,
    /// Artifacts that must be gone afterwards (files, manifest entry, lock entry).
    pub absent: Vec<(Kind, String)>,
    /// For a rollback: the whole collection as it was when the snapshot was taken (read by
    /// the harness then); afterwards it must be exactly that, manifest and lock timestamps
    /// masked.
    pub whole: Option<Tree>,
}

fn parse(dir: &Path, file: &str) -> Result<toml::Table, String> {
    let p = dir.join(file);
    let text = fs::read_to_string(&p).map_err(|e| format!("read {}: {e}", p.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{} does not parse: {e}", p.display()))
}

/// The manifest's `[[artifacts]]` keyed by `name::type`.
fn manifest_entries(dir: &Path) -> Result<BTreeMap<String, toml::Table>, String> {
    let m = parse(dir, MANIFEST)?;
    let mut out = BTreeMap::new();
    if let Some(arts) = m.get("artifacts").and_then(|a| a.as_array()) {
        for a in arts {
            let t = a
                .as_table()
                .ok_or("an [[artifacts]] entry is not a table")?;
            let get = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("");
            let key = format!("{}::{}", get("name"), get("type"));
            if out.insert(key.clone(), t.clone()).is_some() {
                return Err(format!("the manifest lists {key} twice"));
            }
        }
    }
    Ok(out)
}

/// An entry as text with its timestamps masked, to compare entries across runs.
fn masked_entry(t: Option<&toml::Table>) -> Option<String> {
    t.map(|t| mask_timestamps(&t.to_string()))
}

/// Checks that `field` of the entry `key` is a timestamp other than the one before (an
/// update writes the time it ran).
fn fresh_timestamp(
    what: &str,
    key: &str,
    field: &str,
    before: Option<&toml::Table>,
    after: Option<&toml::Table>,
) -> Result<(), String> {
    fn get<'a>(t: Option<&'a toml::Table>, field: &str) -> Option<&'a str> {
        t.and_then(|t| t.get(field)).and_then(|v| v.as_str())
    }
    let get = |t| get(t, field);
    match get(after) {
        Some(now) if mask_timestamps(&format!("\"{now}\"")) == "\"<TS>\"" => {
            if get(before) == Some(now) {
                Err(format!(
                    "the {what} entry {key} keeps {field} = {now:?}: an update writes the time it ran"
                ))
            } else {
                Ok(())
            }
        }
        other => Err(format!(
            "the {what} entry {key} has {field} = {other:?}, an update writes the time it ran there"
        )),
    }
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
/// hold exactly their sources (every path's kind; files' bytes and permission bits;
/// directories' permission bits; links as links with their targets), with a manifest entry
/// and a lock entry whose `content_hash` is SkillMeat's hash of the source; removed
/// artifacts are gone everywhere; every other file and every other manifest and lock entry
/// is as it was; and, for a rollback, the whole collection is as it was at the snapshot.
///
/// The permission bits are compared exactly: skillwal keeps a local source's bits
/// (`st_mode & 0o7777`) whatever its umask, so a copy that differs in any bit is wrong.
pub fn check_model(before_dir: &Path, after_dir: &Path, model: &Model) -> Result<(), String> {
    let (before, after) = (tree(before_dir)?, tree(after_dir)?);
    if let Some(whole) = &model.whole {
        let (want, got) = (masked(whole), masked(&after));
        if want != got {
            return Err(format!(
                "the collection is not as it was at the snapshot (timestamps masked):\n{}",
                diff(&want, &got)
            ));
        }
    }
    let mut touched: Vec<String> = Vec::new();
    let (mb, ma) = (manifest_entries(before_dir)?, manifest_entries(after_dir)?);
    let (lb, la) = (lock_entries(before_dir)?, lock_entries(after_dir)?);
    for p in &model.present {
        let storage = p.kind.storage(&p.name);
        let key = format!("{}::{}", p.name, p.kind.name());
        let want = tree_of(&p.source)?;
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
        if !got.contains_key("") {
            return Err(format!("{storage} is missing"));
        }
        if got != want {
            return Err(format!(
                "{storage} does not hold exactly its source {} (\"\" is the artifact itself):\n{}",
                p.source.display(),
                diff(&want, &got)
            ));
        }
        if !ma.contains_key(&key) {
            return Err(format!("the manifest has no entry for {key}"));
        }
        if p.updated {
            fresh_timestamp("manifest", &key, "last_updated", mb.get(&key), ma.get(&key))?;
            fresh_timestamp("lock", &key, "fetched", lb.get(&key), la.get(&key))?;
        }
        if p.lock_hash {
            let hash = skillmeat_hash(&p.source)?;
            match la.get(&key).and_then(|e| e.get("content_hash")) {
                Some(toml::Value::String(h)) if *h == hash => {}
                other => {
                    return Err(format!(
                        "the lock's content_hash of {key} is {other:?}, SkillMeat's hash of the source is {hash}"
                    ));
                }
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
    if model.whole.is_some() {
        // A rollback may change any path and any entry; `whole` said what each must be.
        return Ok(());
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
            return Err(format!(
                "{k} changed ({} before, {} after), but the command must not touch it",
                describe(v),
                after
                    .get(k)
                    .map(describe)
                    .unwrap_or_else(|| "nothing".into())
            ));
        }
    }
    for k in after.keys().filter(|k| untouched(k)) {
        if !before.contains_key(k) {
            return Err(format!("{k} appeared, but the command must not create it"));
        }
    }
    for (k, v) in mb.iter().filter(|(k, _)| untouched(k)) {
        if masked_entry(ma.get(k)) != masked_entry(Some(v)) {
            return Err(format!("the manifest entry {k} changed"));
        }
    }
    for (k, v) in lb.iter().filter(|(k, _)| untouched(k)) {
        if masked_entry(la.get(k)) != masked_entry(Some(v)) {
            return Err(format!("the lock entry {k} changed"));
        }
    }
    Ok(())
}

/// A source as a tree: a directory's contents and the directory itself under the empty
/// path, or a single file under the empty path. Links inside are kept as links.
pub fn tree_of(source: &Path) -> Result<Tree, String> {
    let meta = fs::metadata(source).map_err(|e| format!("stat {}: {e}", source.display()))?;
    let mut t = Tree::new();
    let mode = meta.permissions().mode() & 0o7777;
    if meta.is_dir() {
        walk(source, "", None, &mut t)?;
        t.insert(String::new(), Node::Dir { mode });
    } else {
        let (len, sha256) = sha256_file(source)?;
        t.insert(String::new(), Node::File { mode, len, sha256 });
    }
    Ok(t)
}

/// What a deploy-like command must leave in a project, stated from the files alone: every
/// record of every profile root's tracking file names files that exist, whose SkillMeat
/// hash is the record's `content_hash` (= `collection_sha`), and — for an artifact the
/// collection `collection` holds — that are the collection's files, byte for byte and mode
/// for mode.
pub fn check_project(collection: &Path, project: &Path) -> Result<(), String> {
    let root = project.join(".claude");
    let path = root.join(TRACKING);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        // Nothing deployed (the state before a first deploy): nothing to agree with.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("read {}: {e}", path.display())),
    };
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: not TOML: {e}", path.display()))?;
    let records = match doc.get("deployed") {
        Some(toml::Value::Array(a)) => a.clone(),
        _ => return Err(format!("{}: no `deployed` list", path.display())),
    };
    for r in records {
        let get = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let (rel, hash, sha) = (
            get("artifact_path"),
            get("content_hash"),
            get("collection_sha"),
        );
        if hash != sha {
            return Err(format!(
                "{rel}: content_hash {hash} but collection_sha {sha}"
            ));
        }
        let deployed = root.join(&rel);
        let got = skillmeat_hash(&deployed)?;
        if got != hash {
            return Err(format!(
                "{}: SkillMeat's hash is {got}, the record says {hash}",
                deployed.display()
            ));
        }
        let source = collection.join(&rel);
        if source.exists() {
            let (want, have) = (tree_of(&source)?, tree_of(&deployed)?);
            if want != have {
                return Err(format!(
                    "{} is not the collection's {}:\n{}",
                    deployed.display(),
                    source.display(),
                    diff(&want, &have)
                ));
            }
        }
    }
    Ok(())
}
