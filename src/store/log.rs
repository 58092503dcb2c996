//! The operation log (store-spec.md §4.5): one record per transaction that changes the root
//! outside `.skillwal/`, written by that transaction, naming every path it changed with its
//! state before and after; and what undoing a record takes.
//!
//! A record's before-states are kept in the store (the same transaction writes the objects
//! they need), so that an undo can restore them. Its after-states are hashes, which tell
//! whether a path is still as the transaction left it; a tree's after-state also names tree
//! objects (listings, not contents), so that `show` can say what changed file by file.
//!
//! What a record costs is in proportion to what its transaction changed: it reads only the
//! paths the transaction replaces or deletes, never the rest of the root.

use super::capture::{capture, walk};
use super::object::{Entry, Node, Tree, hex, parse_hex};
use super::restore::{self, Action, Trees};
use super::{NewObject, Result, Store, StoreError, Writer, io_err, now_unix_ms, store_rel};
use crate::Transaction;
use crate::engine::ops::{Op, PutTree};
use crate::engine::path::META_DIR;
use crate::engine::tree_hash;
use crate::fs::{FileKind, FsPath, OpenMode};
use crate::journal::format::{Before, EntryKind, FORMAT_VERSION, FieldChange, Hash};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The `format` of every record.
pub const LOG_FORMAT: &str = "skillwal-log";
/// How many records the log keeps unless told otherwise ([`Store::set_log_keep`]): the
/// transaction that writes record *n* deletes every record up to *n* − 1,000.
pub const LOG_KEEP: u64 = 1000;
/// A record larger than this is refused when read (a rollback of a large collection names
/// every path it changed).
pub const LOG_RECORD_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// What a path held, before or after a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum State {
    /// Nothing.
    Absent,
    /// A regular file: its size, permission bits and BLAKE3 (its object's name).
    File {
        /// Length in bytes.
        size: u64,
        /// Permission bits.
        mode: u32,
        /// BLAKE3 of the bytes, 64 lowercase hex digits.
        hash: String,
    },
    /// A directory.
    Dir {
        /// Its own permission bits.
        mode: u32,
        /// The tree hash (wal-spec.md §5) of the directory and everything below it; absent
        /// when only the directory's own mode is meant (a directory created, emptied or
        /// given a mode: what is inside is other paths' business).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contents: Option<String>,
        /// The tree object listing it: every object below it is in the store for a
        /// before-state; only the tree objects for an after-state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tree: Option<String>,
    },
    /// A symbolic link: its target's length and the BLAKE3 of the target (a file object).
    Link {
        /// The target's length in bytes.
        size: u64,
        /// BLAKE3 of the target, 64 lowercase hex digits.
        hash: String,
    },
}

impl State {
    /// What it is, for messages: "nothing", "a file of 12 bytes (mode 644)", ….
    pub fn describe(&self) -> String {
        match self {
            State::Absent => "nothing".into(),
            State::File { size, mode, .. } => format!("a file of {size} bytes (mode {mode:o})"),
            State::Dir { mode, .. } => format!("a directory (mode {mode:o})"),
            State::Link { .. } => "a symbolic link".into(),
        }
    }

    /// The file object of a file's bytes or a link's target.
    fn object_hash(&self) -> Option<Hash> {
        match self {
            State::File { hash, .. } | State::Link { hash, .. } => parse_hex(hash),
            _ => None,
        }
    }

    /// A directory's tree hash (wal-spec.md §5), when recorded.
    fn contents_hash(&self) -> Option<Hash> {
        match self {
            State::Dir { contents, .. } => parse_hex(contents.as_ref()?),
            _ => None,
        }
    }

    /// The tree object of a directory state, when recorded.
    pub fn tree_hash(&self) -> Option<Hash> {
        match self {
            State::Dir { tree, .. } => parse_hex(tree.as_ref()?),
            _ => None,
        }
    }

    fn valid(&self) -> bool {
        match self {
            State::Absent => true,
            State::File { hash, .. } | State::Link { hash, .. } => parse_hex(hash).is_some(),
            State::Dir { contents, tree, .. } => [contents, tree]
                .iter()
                .all(|h| h.as_ref().is_none_or(|h| parse_hex(h).is_some())),
        }
    }
}

/// One path a transaction changed: what it held before the transaction and after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Relative to the root, `/`-separated.
    pub path: String,
    /// What it held before the transaction.
    pub before: State,
    /// What the transaction left there.
    pub after: State,
}

/// The field changes a transaction recorded for one document (the manifest, the lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentChanges {
    /// `collection.toml` or `collection.lock`.
    pub document: String,
    /// The fields changed, as the journal's diff records name them.
    pub changes: Vec<FieldChange>,
}

/// One record of the log (`log/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// `"skillwal-log"`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// The record's number: one more than the record before it.
    pub id: u64,
    /// When the transaction was staged, in milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// What the user asked for, e.g. `update my-skill`.
    pub command: String,
    /// The record this transaction undid (an undo; a redo undoes an undo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<u64>,
    /// The paths changed, in the order the transaction first changed them.
    pub changes: Vec<Change>,
    /// The documents' field changes.
    #[serde(default)]
    pub documents: Vec<DocumentChanges>,
    /// The records the same transaction wrote in other roots (a move: the other
    /// collection's), which an undo of this one undoes with it, in one transaction across
    /// the roots. Empty for a transaction in one root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<LogLink>,
}

/// A record of another root's log written by the same transaction across roots.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogLink {
    /// The other root's directory, relative to this root's directory (`../work`), so that
    /// moving or copying a home with both collections keeps the link.
    pub root: String,
    /// Its record's id there.
    pub id: u64,
    /// Whether the other root is a project (wal-spec.md §15), not a collection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub project: bool,
}

impl LogLink {
    /// The link from the root at `from` to record `id` of the collection at `to` (both
    /// absolute and canonical).
    pub fn between(from: &Path, to: &Path, id: u64) -> LogLink {
        let f: Vec<_> = from.components().collect();
        let t: Vec<_> = to.components().collect();
        let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
        let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
        parts.extend(
            t[common..]
                .iter()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        );
        LogLink {
            root: parts.join("/"),
            id,
            project: false,
        }
    }

    /// [`LogLink::between`] a root and a project.
    pub fn to_project(from: &Path, to: &Path, id: u64) -> LogLink {
        LogLink {
            project: true,
            ..LogLink::between(from, to, id)
        }
    }

    /// The other root's directory, for the root at `from`.
    pub fn resolve(&self, from: &Path) -> PathBuf {
        let mut out = from.to_path_buf();
        for part in self.root.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    out.pop();
                }
                name => out.push(name),
            }
        }
        out
    }
}

/// The log's directory, relative to the root.
pub(crate) fn log_rel() -> String {
    format!("{}/log", store_rel())
}

fn record_rel(id: u64) -> String {
    format!("{}/{id}", log_rel())
}

fn counter_rel() -> String {
    format!("{}/next-id", log_rel())
}

fn is_meta(path: &str) -> bool {
    path == META_DIR || path.starts_with(&format!("{META_DIR}/"))
}

fn bad(store: &Store, rel: &str, reason: impl Into<String>) -> StoreError {
    StoreError::BadRef {
        path: store.abs(rel),
        reason: reason.into(),
    }
}

/// Every record's id, newest first. Names in `log/` that are not a number are ignored.
pub(crate) fn list_ids(store: &Store) -> Result<Vec<u64>> {
    let mut ids: Vec<u64> = store
        .list(&log_rel())?
        .into_iter()
        .filter(|(name, kind)| *kind == FileKind::File && !name.starts_with('0'))
        .filter_map(|(name, _)| name.parse::<u64>().ok())
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    Ok(ids)
}

/// The record `id`, `None` when the log does not hold it. A record that does not parse, or
/// says it is another, is an error naming its file.
pub(crate) fn get(store: &Store, id: u64) -> Result<Option<LogRecord>> {
    let rel = record_rel(id);
    let path = store.abs(&rel);
    let file = match store.fs().open(&path, OpenMode::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", &path)(e)),
    };
    let len = file.metadata().map_err(io_err("stat", &path))?.len;
    if len > LOG_RECORD_BYTES_MAX {
        return Err(bad(
            store,
            &rel,
            format!("{len} bytes, larger than any record"),
        ));
    }
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, 0)
        .map_err(io_err("read", &path))?;
    let r: LogRecord = serde_json::from_slice(&bytes)
        .map_err(|e| bad(store, &rel, format!("not a log record: {e}")))?;
    if r.format != LOG_FORMAT || r.version != 1 {
        return Err(bad(
            store,
            &rel,
            format!("format {:?} version {} unknown", r.format, r.version),
        ));
    }
    if r.id != id {
        return Err(bad(store, &rel, format!("says it is record {}", r.id)));
    }
    let broken = r
        .changes
        .iter()
        .find(|c| !c.before.valid() || !c.after.valid());
    if let Some(c) = broken {
        return Err(bad(
            store,
            &rel,
            format!("{}: a hash is not 64 hex digits", c.path),
        ));
    }
    Ok(Some(r))
}

/// The id the next record takes: the counter, or one more than the newest record when the
/// counter is missing or behind.
pub(crate) fn next_id(store: &Store) -> Result<u64> {
    let counted = store.read_counter(&counter_rel())?.unwrap_or(0);
    // The counter and the newest record are written by one transaction, so the record
    // `counted` never exists unless the counter was damaged or removed by hand: list then.
    if counted == 0 || store.stat(&record_rel(counted))?.is_some() {
        let newest = list_ids(store)?.first().copied().unwrap_or(0);
        return Ok(counted.max(newest + 1));
    }
    Ok(counted)
}

/// Stages the record of `t` (every operation staged so far on a path outside `.skillwal/`,
/// and the field changes recorded), the objects its before-states need, the counter, and
/// the deletion of the record that falls out of the log. Stage it last, after everything
/// else `t` changes. Returns `None`, staging nothing, when `t` changes nothing outside
/// `.skillwal/`.
///
/// Fails as staging fails, and when a path changes while it is being recorded.
///
/// `with` names the records the same transaction stages in other roots (see
/// [`LogRecord::with`]); their ids come from [`next_id`] of each root's store, read before
/// staging.
pub(crate) fn stage_record(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    command: &str,
    undoes: Option<u64>,
    with: &[LogLink],
) -> Result<Option<LogRecord>> {
    let store = w.store;
    let ops: Vec<Op> = t
        .staged_ops()
        .iter()
        .filter(|o| !is_meta(o.path().as_str()))
        .cloned()
        .collect();
    if ops.is_empty() {
        return Ok(None);
    }
    let mut objects = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for op in &ops {
        let path = op.path().as_str().to_string();
        let after = after_state(op, &mut objects);
        if let Some(&i) = at.get(&path) {
            // Changed again by the same transaction: the first before, the last after.
            changes[i].after = after;
            continue;
        }
        let before = before_state(store, t, op, &mut objects)?;
        at.insert(path.clone(), changes.len());
        changes.push(Change {
            path,
            before,
            after,
        });
    }
    w.objects(t, &objects)?;
    let id = next_id(store)?;
    let record = LogRecord {
        format: LOG_FORMAT.into(),
        version: 1,
        id,
        time_unix_ms: now_unix_ms(),
        command: command.to_string(),
        undoes,
        changes,
        documents: t
            .staged_diffs()
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .map(|(d, c)| DocumentChanges {
                document: d.clone(),
                changes: c.clone(),
            })
            .collect(),
        with: with.to_vec(),
    };
    let json = serde_json::to_vec(&record).expect("a record serializes");
    w.put_ref(t, &record_rel(id), &json)?;
    w.put_ref(t, &counter_rel(), format!("{}\n", id + 1).as_bytes())?;
    // Retention: the log's listing is as long as the log (at most `keep` + 1 records),
    // never the collection.
    if let Some(last_out) = id.checked_sub(store.log_keep()) {
        for old in list_ids(store)?.into_iter().filter(|o| *o <= last_out) {
            t.delete_file(&record_rel(old))?;
        }
    }
    Ok(Some(record))
}

/// The state `op` leaves its path in; for a tree, the tree objects of its listing are added
/// to `objects`.
fn after_state(op: &Op, objects: &mut Vec<NewObject>) -> State {
    match op {
        Op::PutFile(p) => State::File {
            size: p.size,
            mode: p.mode,
            hash: hex(&p.hash),
        },
        Op::PutLink { target, .. } => State::Link {
            size: target.len() as u64,
            hash: hex(blake3::hash(target).as_bytes()),
        },
        Op::PutTree(t) => State::Dir {
            mode: t.mode.unwrap_or(0),
            contents: Some(hex(&t.after_hash)),
            tree: Some(hex(&listing(t, objects))),
        },
        Op::CreateDir { mode, .. } => State::Dir {
            mode: *mode,
            contents: None,
            tree: None,
        },
        Op::SetDirMode { mode, .. } => State::Dir {
            mode: *mode,
            contents: None,
            tree: None,
        },
        Op::DeleteFile { .. } | Op::DeleteTree { .. } | Op::RemoveDir { .. } => State::Absent,
    }
}

/// The tree objects listing the staged tree `t` (its entries' own objects are not
/// written); returns the root's. Parents come before children in `t.entries`.
fn listing(t: &PutTree, objects: &mut Vec<NewObject>) -> Hash {
    let mut dirs: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    dirs.insert(String::new(), Vec::new());
    let mut depth_order = Vec::new();
    for e in &t.entries {
        let rel = e.rel.as_str().to_string();
        if e.kind == EntryKind::Dir {
            dirs.insert(rel.clone(), Vec::new());
            depth_order.push((rel.matches('/').count(), rel));
        }
    }
    // Files and links first; each directory once its own listing is complete, deepest
    // first.
    for e in &t.entries {
        let rel = e.rel.as_str();
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let (mode, node) = match e.kind {
            EntryKind::Dir => continue,
            EntryKind::File => (
                e.mode,
                Node::File {
                    size: e.size,
                    hash: e.hash,
                },
            ),
            EntryKind::Link => (
                0o777,
                Node::Link {
                    size: e.target.len() as u64,
                    hash: *blake3::hash(&e.target).as_bytes(),
                },
            ),
        };
        dirs.get_mut(parent)
            .expect("a parent is an entry of the tree")
            .push(Entry {
                name: name.to_string(),
                mode,
                node,
            });
    }
    depth_order.sort_by_key(|d| std::cmp::Reverse(d.0));
    let modes: HashMap<&str, u32> = t
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| (e.rel.as_str(), e.mode))
        .collect();
    for (_, rel) in depth_order {
        let (hash, parts) = Tree::new(dirs.remove(&rel).expect("listed")).to_objects();
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
        dirs.get_mut(parent)
            .expect("a parent is an entry of the tree")
            .push(Entry {
                name: name.to_string(),
                mode: modes[rel.as_str()],
                node: Node::Dir { hash },
            });
        objects.extend(NewObject::tree_parts(parts));
    }
    let (hash, parts) = Tree::new(dirs.remove("").expect("the root")).to_objects();
    objects.extend(NewObject::tree_parts(parts));
    hash
}

/// The state `op`'s path held before `t` (as `t` recorded it), with the objects that keep
/// it added to `objects`.
fn before_state(
    store: &Store,
    t: &Transaction<'_>,
    op: &Op,
    objects: &mut Vec<NewObject>,
) -> Result<State> {
    let path = op.path().as_str();
    let recorded = match op {
        Op::PutFile(p) => &p.before,
        Op::PutTree(p) => &p.before,
        Op::DeleteFile { before, .. }
        | Op::DeleteTree { before, .. }
        | Op::PutLink { before, .. } => before,
        Op::CreateDir { .. } => return Ok(State::Absent),
        Op::SetDirMode { before_mode, .. } => {
            return Ok(State::Dir {
                mode: *before_mode,
                contents: None,
                tree: None,
            });
        }
        Op::RemoveDir { .. } => {
            let mode = t.dir_mode_now(path)?.unwrap_or(0o755);
            return Ok(State::Dir {
                mode,
                contents: None,
                tree: None,
            });
        }
    };
    let abs = store.abs(path);
    Ok(match recorded {
        Before::Absent => State::Absent,
        Before::File { size, hash, mode } => {
            objects.push(NewObject::Blob {
                hash: *hash,
                size: *size,
                src: FsPath::new(store.fs_arc(), &abs),
            });
            State::File {
                size: *size,
                mode: mode.expect("staged in the current format: mode recorded"),
                hash: hex(hash),
            }
        }
        Before::Link { target } => {
            let hash = *blake3::hash(target).as_bytes();
            objects.push(NewObject::Target {
                hash,
                bytes: target.clone(),
            });
            State::Link {
                size: target.len() as u64,
                hash: hex(&hash),
            }
        }
        Before::Tree { hash } => {
            let mode = t.dir_mode_now(path)?.unwrap_or(0o755);
            let (items, skipped) = walk(store, &abs, false)?;
            let cap = capture(store, &items, skipped)?;
            objects.extend(cap.new_objects.iter().cloned());
            State::Dir {
                mode,
                contents: Some(hex(hash)),
                tree: Some(hex(&cap.root)),
            }
        }
    })
}

/// Whether `path` holds `want` now (every byte, mode and link target; for a directory
/// state without `contents`, its own mode only).
pub(crate) fn holds(store: &Store, path: &str, want: &State) -> Result<bool> {
    let abs = store.abs(path);
    let fs = store.fs();
    let Some(m) = store.stat(path)? else {
        return Ok(*want == State::Absent);
    };
    Ok(match (want, m.kind) {
        (State::File { size, mode, .. }, FileKind::File) => {
            m.mode == *mode
                && m.len == *size
                && Some(tree_hash::hash_file(fs, &abs)?.1) == want.object_hash()
        }
        (State::Dir { mode, contents, .. }, FileKind::Dir) => match contents {
            None => m.mode == *mode,
            Some(_) => {
                Some(tree_hash::tree_hash(fs, &abs, FORMAT_VERSION)?) == want.contents_hash()
            }
        },
        (State::Link { .. }, FileKind::Symlink) => {
            let target = fs.read_link(&abs).map_err(io_err("read link", &abs))?;
            Some(*blake3::hash(target.as_bytes()).as_bytes()) == want.object_hash()
        }
        _ => false,
    })
}

/// A path an undo would overwrite although it no longer holds what the record's
/// transaction left there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Relative to the root.
    pub path: String,
    /// What the transaction left there.
    pub expected: State,
    /// What is there now, in words.
    pub found: String,
}

/// One step of an undo.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Restore(Action),
    /// A directory the transaction created, empty once the steps before it are done.
    RemoveDir(String),
    /// A directory the transaction removed (it was empty), created again with `mode`; the
    /// flag says whether something else is in its place now (replaced, with `force`).
    EmptyDir(String, u32, bool),
}

/// What undoing a record takes.
#[derive(Debug, Clone)]
pub struct UndoPlan {
    /// The record undone.
    pub record: LogRecord,
    /// Paths changed since the record's transaction (by a later one or by hand).
    pub conflicts: Vec<Conflict>,
    /// Paths that already hold their before-state (nothing to do).
    pub unchanged: Vec<String>,
    steps: Vec<Step>,
}

impl UndoPlan {
    /// The paths the undo writes or deletes, in the order it does.
    pub fn paths(&self) -> Vec<&str> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Restore(a) => a.path(),
                Step::RemoveDir(p) | Step::EmptyDir(p, _, _) => p.as_str(),
            })
            .collect()
    }
}

/// What a kind of file-system entry is, in words.
fn found_words(store: &Store, path: &str) -> Result<String> {
    Ok(match store.stat(path)? {
        None => "nothing".into(),
        Some(m) => match m.kind {
            FileKind::File => format!("a file of {} bytes (mode {:o})", m.len, m.mode),
            FileKind::Dir => format!("a directory (mode {:o}) with other contents", m.mode),
            FileKind::Symlink => "a symbolic link".into(),
            FileKind::Other => "a special file".into(),
        },
    })
}

/// Plans undoing `record`: restoring the before-state of every path it changed, last
/// change first. A path that no longer holds its after-state is a conflict, and is
/// restored all the same only with `force`; a path that already holds its before-state is
/// left alone. Reads only the record's paths. Writes nothing.
///
/// `disposable` names files that another tool leaves in directories and that are no one's
/// content (the Python tool's lock files, in a project): such a regular file in a directory
/// the record created is deleted with it rather than being a conflict.
pub(crate) fn plan_undo(
    store: &Store,
    record: LogRecord,
    force: bool,
    disposable: fn(&str) -> bool,
) -> Result<UndoPlan> {
    let undone: HashSet<&str> = record
        .changes
        .iter()
        .filter(|c| c.before == State::Absent)
        .map(|c| c.path.as_str())
        .collect();
    let mut steps = Vec::new();
    let mut modes = Vec::new();
    let mut conflicts = Vec::new();
    let mut unchanged = Vec::new();
    for c in record.changes.iter().rev() {
        let created_dir =
            matches!(c.after, State::Dir { contents: None, .. }) && c.before == State::Absent;
        let mut conflict = !holds(store, &c.path, &c.after)?;
        let mut disposed = Vec::new();
        if !conflict && created_dir {
            // Created empty: whatever is in it now must be something the undo removes.
            let abs = store.abs(&c.path);
            let entries = store
                .fs()
                .read_dir(&abs)
                .map_err(io_err("read directory", &abs))?;
            for e in &entries {
                let name = e.name.to_string_lossy();
                let child = format!("{}/{name}", c.path);
                if undone.contains(child.as_str()) {
                    continue;
                }
                if disposable(&name)
                    && store
                        .stat(&child)?
                        .is_some_and(|m| m.kind == FileKind::File)
                {
                    disposed.push(child);
                } else {
                    conflict = true;
                }
            }
        }
        if conflict {
            if holds(store, &c.path, &c.before)? {
                unchanged.push(c.path.clone());
                continue;
            }
            conflicts.push(Conflict {
                path: c.path.clone(),
                expected: c.after.clone(),
                found: found_words(store, &c.path)?,
            });
            if !force {
                continue;
            }
        }
        let now = store.stat(&c.path)?;
        let replaces = now.is_some();
        let step = match &c.before {
            State::Absent => match now.map(|m| m.kind) {
                None => continue,
                Some(FileKind::Dir) if created_dir && !conflict => {
                    disposed.sort();
                    steps.extend(
                        disposed
                            .into_iter()
                            .map(|path| Step::Restore(Action::DeleteFile { path })),
                    );
                    Step::RemoveDir(c.path.clone())
                }
                Some(FileKind::Dir) => Step::Restore(Action::DeleteTree {
                    path: c.path.clone(),
                }),
                Some(_) => Step::Restore(Action::DeleteFile {
                    path: c.path.clone(),
                }),
            },
            State::File { size, mode, .. } => Step::Restore(Action::PutFile {
                path: c.path.clone(),
                size: *size,
                hash: c.before.object_hash().expect("validated"),
                mode: *mode,
                replaces,
            }),
            State::Link { size, .. } => Step::Restore(Action::PutLink {
                path: c.path.clone(),
                size: *size,
                hash: c.before.object_hash().expect("validated"),
                replaces,
            }),
            State::Dir {
                mode,
                tree: Some(_),
                ..
            } => Step::Restore(Action::PutTree {
                path: c.path.clone(),
                hash: c.before.tree_hash().expect("validated"),
                mode: *mode,
            }),
            State::Dir {
                mode, tree: None, ..
            } => match now.map(|m| m.kind) {
                Some(FileKind::Dir) => {
                    // A mode is given after every change inside its directory.
                    modes.push((c.path.clone(), *mode));
                    continue;
                }
                _ => Step::EmptyDir(c.path.clone(), *mode, replaces),
            },
        };
        steps.push(step);
    }
    modes.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
    steps.extend(
        modes
            .into_iter()
            .map(|(path, mode)| Step::Restore(Action::SetDirMode { path, mode })),
    );
    Ok(UndoPlan {
        record,
        conflicts,
        unchanged,
        steps,
    })
}

/// Stages `plan` into `t` (contents read from the store, verified as they stream: a
/// damaged or missing object fails the staging, and nothing changes), then the undo's own
/// record, labelled `command`, which names the record undone.
pub(crate) fn stage_undo(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    plan: &UndoPlan,
    command: &str,
    with: &[LogLink],
) -> Result<Option<LogRecord>> {
    let store = w.store;
    let trees = Trees { store, mem: None };
    for s in &plan.steps {
        match s {
            Step::Restore(a) => restore::stage(store, &trees, t, std::slice::from_ref(a))?,
            Step::RemoveDir(p) => t.remove_dir(p)?,
            // A create-dir, not a put-tree: a put-tree claims everything below it, and a
            // directory removed with its parent is made again inside the parent made again.
            Step::EmptyDir(p, mode, false) => t.create_dir(p, *mode)?,
            Step::EmptyDir(p, mode, true) => t.put_tree(p, *mode)?.finish()?,
        }
    }
    stage_record(w, t, command, Some(plan.record.id), with)
}

/// Which record `undo` undoes by default: the newest one still in effect that puts a change
/// in place — a change, or a redo (an undo of an undo) — rather than taking one out.
/// `records` are newest first.
pub fn default_undo(records: &[LogRecord]) -> Option<u64> {
    walk_effective(records, |r| !takes_out(records, r))
}

/// Which record `redo` undoes by default: the newest undo still in effect, found before any
/// change that is not an undo or a redo (a new change ends what can be redone). `Err` names
/// that change, if there is one. `records` are newest first.
pub fn default_redo(records: &[LogRecord]) -> std::result::Result<u64, Option<u64>> {
    let mut cancelled = HashSet::new();
    for r in records {
        if cancelled.contains(&r.id) {
            continue;
        }
        match r.undoes {
            None => return Err(Some(r.id)),
            Some(x) => {
                if takes_out(records, r) {
                    return Ok(r.id);
                }
                cancelled.insert(x);
            }
        }
    }
    Err(None)
}

/// Which records a later record in effect undoes, and by which: record id → the undo's id.
/// A record not in the map is in effect. `records` are newest first (the whole log: a
/// part of it may miss the undo of a record it holds).
pub fn undone_by(records: &[LogRecord]) -> HashMap<u64, u64> {
    let mut cancelled: HashMap<u64, u64> = HashMap::new();
    for r in records {
        if cancelled.contains_key(&r.id) {
            continue;
        }
        if let Some(x) = r.undoes {
            cancelled.insert(x, r.id);
        }
    }
    cancelled
}

/// Whether `r` takes a change out (an undo of a change, an undo of a redo, …) rather than
/// putting one in: an odd number of `undoes` links lead from it to a change. A record whose
/// chain leaves the log counts what it can see (a pruned target was a change).
fn takes_out(records: &[LogRecord], r: &LogRecord) -> bool {
    let mut out = false;
    let mut cur = r;
    while let Some(x) = cur.undoes {
        out = !out;
        // An undo names an earlier record; anything else is not followed.
        match records.iter().find(|o| o.id == x).filter(|_| x < cur.id) {
            Some(o) => cur = o,
            None => break,
        }
    }
    out
}

/// The newest record in effect (not cancelled by a later undo in effect) that `pick`
/// accepts.
fn walk_effective(records: &[LogRecord], pick: impl Fn(&LogRecord) -> bool) -> Option<u64> {
    let mut cancelled = HashSet::new();
    for r in records {
        if cancelled.contains(&r.id) {
            continue;
        }
        if pick(r) {
            return Some(r.id);
        }
        if let Some(x) = r.undoes {
            cancelled.insert(x);
        }
    }
    None
}

/// Every object a record's states name that must stay in the store: the objects of its
/// before-states, the tree objects of its after-states. For `gc` (store-spec.md §7).
pub(crate) fn roots(record: &LogRecord) -> Vec<(Hash, bool)> {
    let mut out = Vec::new();
    for c in &record.changes {
        if let State::File { .. } | State::Link { .. } = c.before {
            out.push((c.before.object_hash().expect("validated"), false));
        }
        for s in [&c.before, &c.after] {
            if let Some(h) = s.tree_hash() {
                out.push((h, true));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records from `(id, undoes)`, returned newest first as the log lists them.
    fn log(entries: &[(u64, Option<u64>)]) -> Vec<LogRecord> {
        let mut v: Vec<LogRecord> = entries
            .iter()
            .map(|&(id, undoes)| LogRecord {
                format: LOG_FORMAT.into(),
                version: 1,
                id,
                time_unix_ms: 0,
                command: String::new(),
                undoes,
                changes: Vec::new(),
                documents: Vec::new(),
                with: Vec::new(),
            })
            .collect();
        v.reverse();
        v
    }

    #[test]
    fn undo_walks_back_and_redo_walks_forward() {
        // 1, 2, 3 changes.
        let mut e = vec![(1, None), (2, None), (3, None)];
        assert_eq!(default_undo(&log(&e)), Some(3));
        assert_eq!(default_redo(&log(&e)), Err(Some(3)));
        e.push((4, Some(3))); // undo 3
        assert_eq!(default_undo(&log(&e)), Some(2));
        assert_eq!(default_redo(&log(&e)), Ok(4));
        e.push((5, Some(2))); // undo 2
        assert_eq!(default_undo(&log(&e)), Some(1));
        assert_eq!(default_redo(&log(&e)), Ok(5));
        e.push((6, Some(5))); // redo: 2 is back
        assert_eq!(default_undo(&log(&e)), Some(6));
        assert_eq!(default_redo(&log(&e)), Ok(4));
        e.push((7, Some(4))); // redo: 3 is back, the newest change in effect
        assert_eq!(default_redo(&log(&e)), Err(Some(3)));
        assert_eq!(default_undo(&log(&e)), Some(7));
        e.push((8, Some(7))); // undo the redo of 3
        assert_eq!(default_undo(&log(&e)), Some(6));
        assert_eq!(default_redo(&log(&e)), Ok(8));
        e.push((9, None)); // a change ends what can be redone
        assert_eq!(default_redo(&log(&e)), Err(Some(9)));
        assert_eq!(default_undo(&log(&e)), Some(9));
    }

    #[test]
    fn undone_by_names_the_undo_in_effect() {
        // 1, 2 changes; 3 undoes 2; 4 redoes (undoes 3): 2 is in effect again.
        let e = [(1, None), (2, None), (3, Some(2)), (4, Some(3))];
        let by = undone_by(&log(&e));
        assert_eq!(by.get(&3), Some(&4));
        assert_eq!(by.get(&2), None, "its undo is itself undone");
        assert_eq!(by.len(), 1);
        let by = undone_by(&log(&e[..3]));
        assert_eq!(by.get(&2), Some(&3));
    }

    #[test]
    fn an_empty_or_all_undone_log_has_nothing_to_undo() {
        assert_eq!(default_undo(&log(&[])), None);
        assert_eq!(default_redo(&log(&[])), Err(None));
        assert_eq!(default_undo(&log(&[(1, None), (2, Some(1))])), None);
    }
}
