//! References into the store: snapshots (`snapshots/<id>`), the snapshot counter, bases
//! (`bases/<group>/<name>/<key>`) and sources (`sources/<group>/<name>`), all below the
//! store directory. Each is a small JSON file written as an operation of a transaction
//! (store-spec.md §4).

use super::capture::Captured;
use super::object::{hex, parse_hex};
use super::{NewObject, Result, Store, StoreError, Writer, store_rel};
use crate::Transaction;
use crate::fs::{FileKind, FsPath};
use crate::journal::format::Hash;
use serde::{Deserialize, Serialize};

/// A snapshot: the root tree of a whole captured directory, and why it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// `"skillwal-snapshot"`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// The snapshot's number: 1 for the first, then one more than any taken before.
    pub id: u64,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub time_unix_ms: u64,
    /// Taken by `update`, `remove` or `rollback` (subject to retention), not by the user.
    pub automatic: bool,
    /// The message it was taken with (empty when none was given).
    pub message: String,
    /// Hex of the root tree object.
    pub root: String,
    /// How many regular files the captured tree holds.
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// A base: the content an item was last fetched at (a tree, or a single file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRef {
    /// `"skillwal-base"`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// `"tree"` or `"file"`.
    pub kind: String,
    /// Hex of the tree object or of the file's object.
    pub hash: String,
    /// The file's size (0 for a tree).
    pub size: u64,
    /// The file's permission bits (0 for a tree).
    pub mode: u32,
}

/// Where an item came from, so that it can be fetched again (store-spec.md §4.4). The store
/// gives the strings no meaning; `added` lets the caller tell its item from another one
/// recorded under the same name later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourceRef {
    /// `"skillwal-source"`.
    pub format: String,
    /// 1.
    pub version: u32,
    /// What kind of source (the collection layer: the manifest's `origin`).
    pub origin: String,
    /// The source itself (a path or a URL).
    pub source: String,
    /// Where in the source, if anywhere.
    pub path: Option<String>,
    /// Which version of the source, if one was asked for.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// When the item was added (the collection layer: the manifest's `added`).
    pub added: String,
}

impl SourceRef {
    pub fn new(
        origin: &str,
        source: &str,
        path: Option<&str>,
        reference: Option<&str>,
        added: &str,
    ) -> SourceRef {
        SourceRef {
            format: SOURCE_FORMAT.into(),
            version: 1,
            origin: origin.into(),
            source: source.into(),
            path: path.map(str::to_owned),
            reference: reference.map(str::to_owned),
            added: added.into(),
        }
    }
}

const SNAPSHOT_FORMAT: &str = "skillwal-snapshot";
const BASE_FORMAT: &str = "skillwal-base";
const SOURCE_FORMAT: &str = "skillwal-source";

pub(crate) fn snapshots_rel() -> String {
    format!("{}/snapshots", store_rel())
}

pub(crate) fn snapshot_rel(id: u64) -> String {
    format!("{}/{id}", snapshots_rel())
}

pub(crate) fn counter_rel() -> String {
    format!("{}/next-snapshot-id", store_rel())
}

pub(crate) fn bases_rel() -> String {
    format!("{}/bases", store_rel())
}

/// The directory of every base of `group/name`.
pub(crate) fn base_dir_rel(group: &str, name: &str) -> String {
    format!("{}/{group}/{name}", bases_rel())
}

/// The base of `group/name` recorded under `key` (the caller's version identifier, e.g. a
/// content hash, so that a rolled-back item finds the base of the version it is at).
pub(crate) fn base_rel(group: &str, name: &str, key: &str) -> String {
    format!("{}/{key}", base_dir_rel(group, name))
}

pub(crate) fn sources_rel() -> String {
    format!("{}/sources", store_rel())
}

/// The source reference of `group/name`.
pub(crate) fn source_rel(group: &str, name: &str) -> String {
    format!("{}/{group}/{name}", sources_rel())
}

fn bad(store: &Store, rel: &str, reason: impl Into<String>) -> StoreError {
    StoreError::BadRef {
        path: store.abs(rel),
        reason: reason.into(),
    }
}

impl SnapshotRef {
    /// The root tree's hash.
    pub fn root_hash(&self) -> Option<Hash> {
        parse_hex(&self.root)
    }
}

impl BaseRef {
    /// The hash of the tree object or the file's object; `None` if `hash` is not 64 hex
    /// digits.
    pub fn hash(&self) -> Option<Hash> {
        parse_hex(&self.hash)
    }

    /// Whether the base is a tree (`kind` is `"tree"`) rather than one file.
    pub fn is_tree(&self) -> bool {
        self.kind == "tree"
    }

    /// A tree's own directory's permission bits; `None` for a file, and for a base recorded
    /// before skillwal kept them (its `mode` is 0).
    pub fn root_mode(&self) -> Option<u32> {
        (self.is_tree() && self.mode != 0).then_some(self.mode)
    }
}

fn parse_snapshot(store: &Store, rel: &str, bytes: &[u8], id: u64) -> Result<SnapshotRef> {
    let s: SnapshotRef =
        serde_json::from_slice(bytes).map_err(|e| bad(store, rel, format!("not JSON: {e}")))?;
    if s.format != SNAPSHOT_FORMAT || s.version != 1 {
        return Err(bad(
            store,
            rel,
            format!("format {:?} version {} unknown", s.format, s.version),
        ));
    }
    if s.id != id {
        return Err(bad(store, rel, format!("says it is snapshot {}", s.id)));
    }
    if s.root_hash().is_none() {
        return Err(bad(store, rel, "root is not a 64-digit hex hash"));
    }
    Ok(s)
}

/// Every snapshot, oldest first. Files in `snapshots/` whose name is not a number are
/// ignored; a damaged snapshot file is an error naming it.
pub(crate) fn list_snapshots(store: &Store) -> Result<Vec<SnapshotRef>> {
    let mut out = Vec::new();
    for (name, kind) in store.list(&snapshots_rel())? {
        let Ok(id) = name.parse::<u64>() else {
            continue;
        };
        if kind != FileKind::File || name != id.to_string() {
            continue;
        }
        let rel = snapshot_rel(id);
        let Some(bytes) = store.read_small(&rel)? else {
            continue;
        };
        out.push(parse_snapshot(store, &rel, &bytes, id)?);
    }
    out.sort_by_key(|s| s.id);
    Ok(out)
}

/// The snapshot `id`.
pub(crate) fn get_snapshot(store: &Store, id: u64) -> Result<SnapshotRef> {
    let rel = snapshot_rel(id);
    match store.read_small(&rel)? {
        Some(bytes) => parse_snapshot(store, &rel, &bytes, id),
        None => Err(StoreError::UnknownSnapshot { id: id.to_string() }),
    }
}

/// The id the next snapshot takes: ids are never reused, even after a deletion.
pub(crate) fn next_id(store: &Store, existing: &[SnapshotRef]) -> Result<u64> {
    let counted = store.read_counter(&counter_rel())?.unwrap_or(1);
    Ok(counted.max(existing.iter().map(|s| s.id + 1).max().unwrap_or(1)))
}

/// What [`stage_snapshot`] staged.
#[derive(Debug, Clone)]
pub(crate) struct StagedSnapshot {
    pub snapshot: SnapshotRef,
    pub new_objects: usize,
}

/// Stages the snapshot of `cap` (taken by hand, `automatic` false: no skillwal takes
/// automatic ones any more, store-spec.md §4.1): its missing objects, its reference and the
/// counter.
pub(crate) fn stage_snapshot(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    cap: &Captured,
    message: &str,
) -> Result<StagedSnapshot> {
    let store = w.store;
    let existing = list_snapshots(store)?;
    let id = next_id(store, &existing)?;
    let new_objects = w.objects(t, &cap.new_objects)?;
    let snapshot = SnapshotRef {
        format: SNAPSHOT_FORMAT.into(),
        version: 1,
        id,
        time_unix_ms: super::now_unix_ms(),
        automatic: false,
        message: message.to_string(),
        root: hex(&cap.root),
        files: cap.files,
        bytes: cap.bytes,
    };
    let json = serde_json::to_vec_pretty(&snapshot).expect("a snapshot serializes");
    w.put_ref(t, &snapshot_rel(id), &json)?;
    w.put_ref(t, &counter_rel(), format!("{}\n", id + 1).as_bytes())?;
    Ok(StagedSnapshot {
        snapshot,
        new_objects,
    })
}

/// Stages deleting the snapshot `id` (its objects stay until `gc`).
pub(crate) fn stage_delete_snapshot(store: &Store, t: &mut Transaction<'_>, id: u64) -> Result<()> {
    get_snapshot(store, id)?;
    t.delete_file(&snapshot_rel(id))?;
    Ok(())
}

/// The base `group/name/key`, if recorded.
pub(crate) fn get_base(
    store: &Store,
    group: &str,
    name: &str,
    key: &str,
) -> Result<Option<BaseRef>> {
    let rel = base_rel(group, name, key);
    let Some(bytes) = store.read_small(&rel)? else {
        return Ok(None);
    };
    let b: BaseRef =
        serde_json::from_slice(&bytes).map_err(|e| bad(store, &rel, format!("not JSON: {e}")))?;
    if b.format != BASE_FORMAT || b.version != 1 || b.hash().is_none() {
        return Err(bad(store, &rel, "not a base reference of version 1"));
    }
    if b.kind != "tree" && b.kind != "file" {
        return Err(bad(store, &rel, format!("unknown kind {:?}", b.kind)));
    }
    Ok(Some(b))
}

/// Every base, as `(group, name, key)` (for the unit tests of gc).
#[cfg(test)]
pub(crate) fn list_bases(store: &Store) -> Result<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for (group, kind) in store.list(&bases_rel())? {
        if kind != FileKind::Dir {
            continue;
        }
        for (name, kind) in store.list(&format!("{}/{group}", bases_rel()))? {
            if kind != FileKind::Dir {
                continue;
            }
            for (key, kind) in store.list(&base_dir_rel(&group, &name))? {
                if kind == FileKind::File {
                    out.push((group.clone(), name.clone(), key));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What a base records: a captured tree, or one file.
pub(crate) enum BaseContent<'a> {
    /// A captured tree and the permission bits of its own directory.
    Tree(&'a Captured, u32),
    File {
        src: FsPath,
        size: u64,
        hash: Hash,
        mode: u32,
    },
}

/// Stages recording `content` as the base `group/name/key` (replacing one with the same
/// key; the bases under other keys stay).
pub(crate) fn stage_base(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    group: &str,
    name: &str,
    key: &str,
    content: BaseContent<'_>,
) -> Result<()> {
    let b = match content {
        BaseContent::Tree(cap, mode) => {
            w.objects(t, &cap.new_objects)?;
            BaseRef {
                format: BASE_FORMAT.into(),
                version: 1,
                kind: "tree".into(),
                hash: hex(&cap.root),
                size: 0,
                mode,
            }
        }
        BaseContent::File {
            src,
            size,
            hash,
            mode,
        } => {
            w.objects(t, &[NewObject::Blob { hash, size, src }])?;
            BaseRef {
                format: BASE_FORMAT.into(),
                version: 1,
                kind: "file".into(),
                hash: hex(&hash),
                size,
                mode,
            }
        }
    };
    let json = serde_json::to_vec_pretty(&b).expect("a base serializes");
    w.put_ref(t, &base_rel(group, name, key), &json)
}

/// Stages deleting every base of `group/name` (and its directory).
pub(crate) fn stage_delete_bases(
    store: &Store,
    t: &mut Transaction<'_>,
    group: &str,
    name: &str,
) -> Result<()> {
    let dir = base_dir_rel(group, name);
    if store.stat(&dir)?.is_none() {
        return Ok(());
    }
    t.delete_tree(&dir)?;
    Ok(())
}

/// The source reference of `group/name`, if recorded. Fails, naming the file, when it cannot
/// be read or is not a source reference of version 1.
pub(crate) fn get_source(store: &Store, group: &str, name: &str) -> Result<Option<SourceRef>> {
    let rel = source_rel(group, name);
    let Some(bytes) = store.read_small(&rel)? else {
        return Ok(None);
    };
    let s: SourceRef =
        serde_json::from_slice(&bytes).map_err(|e| bad(store, &rel, format!("not JSON: {e}")))?;
    if s.format != SOURCE_FORMAT || s.version != 1 {
        return Err(bad(store, &rel, "not a source reference of version 1"));
    }
    Ok(Some(s))
}

/// Stages writing `source` as the source reference of `group/name` (created or replaced).
pub(crate) fn stage_source(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    group: &str,
    name: &str,
    source: &SourceRef,
) -> Result<()> {
    let json = serde_json::to_vec_pretty(source).expect("a source serializes");
    w.put_ref(t, &source_rel(group, name), &json)
}

/// Stages deleting the source reference of `group/name`, when there is one.
pub(crate) fn stage_delete_source(
    store: &Store,
    t: &mut Transaction<'_>,
    group: &str,
    name: &str,
) -> Result<()> {
    let rel = source_rel(group, name);
    if store.stat(&rel)?.is_some() {
        t.delete_file(&rel)?;
    }
    Ok(())
}
