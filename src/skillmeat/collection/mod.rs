//! A SkillMeat collection managed through the engine: every change — artifact files,
//! `collection.toml` and `collection.lock` together — is one transaction, so a crash leaves
//! the collection exactly before or after it. Reading uses std; writing only the engine.
//!
//! Opening a collection opens its engine, which recovers an interrupted transaction first.

pub mod py_snapshot;
pub mod shape;
pub mod state;
pub mod threeway;

use super::frontmatter;
use super::hash::content_hash_in;
use super::names::{ArtifactType, lock_key, validate_artifact_name};
use self::shape::Shape;
use super::source::{Fetched, FetchedKind, SourceError, SourceSpec};
use super::{
    Artifact, LOCK_FILE_NAME, Lock, LockEditor, LockEntry, MANIFEST_FILE_NAME, Manifest,
    ManifestEditor, Origin, content_hash, diff_locks, diff_manifests, now_timestamp,
};
use crate::engine::recovery::RecoveryReport;
use crate::error::IoError;
use crate::fs::{FileKind, FileSystem, OpenMode};
use crate::store::capture::{CacheUse, Captured, Item, capture, capture_dir};
use crate::store::gc::{BaseId, GcReport};
use crate::store::refs::{self, BaseContent, SnapshotRef, SourceRef, StagedSnapshot};
use crate::store::restore::{self, Action, Trees};
use crate::store::{Store, StoreError, Writer};
use crate::{Engine, OpenOptions, Transaction};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// skillwal's own artifact fields in `collection.toml` (SkillMeat ignores them, and drops
/// them when it rewrites the manifest).
pub const FIELD_SOURCE: &str = "skillwal_source";
pub const FIELD_PATH: &str = "skillwal_path";
pub const FIELD_REF: &str = "skillwal_ref";

/// What went wrong with a collection operation. Every variant names the path or artifact.
#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error(transparent)]
    Format(#[from] super::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Home(#[from] super::home::HomeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    PySnapshot(#[from] self::py_snapshot::PySnapshotError),
    #[error("{} holds no {MANIFEST_FILE_NAME}: it is not a snapshot of a collection", tarball.display())]
    NotACollectionSnapshot { tarball: PathBuf },
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{} was opened read-only (it cannot be written); nothing can be changed there", dir.display())]
    ReadOnly { dir: PathBuf },
    #[error("{} is not a SkillMeat collection (no {MANIFEST_FILE_NAME})", dir.display())]
    NotACollection { dir: PathBuf },
    #[error("a collection already exists at {}", dir.display())]
    CollectionExists { dir: PathBuf },
    #[error("invalid artifact name {name:?}: {reason}")]
    InvalidName {
        name: String,
        reason: super::NameError,
    },
    #[error("{ty} {name} is already in the collection")]
    AlreadyExists { name: String, ty: ArtifactType },
    #[error("{} already exists but {name} is not in the manifest; move it away", path.display())]
    Occupied { name: String, path: PathBuf },
    #[error("{} is a symbolic link, not the files of {ty} {name}; skillwal never follows or removes a link in a collection: remove the link yourself", path.display())]
    LinkedStorage {
        name: String,
        ty: ArtifactType,
        path: PathBuf,
    },
    #[error("no artifact named {name:?}{} in the collection", ty.map(|t| format!(" of type {t}")).unwrap_or_default())]
    NotFound {
        name: String,
        ty: Option<ArtifactType>,
    },
    #[error("{name:?} names more than one artifact ({})", types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        name: String,
        types: Vec<ArtifactType>,
    },
    #[error("the files of {ty} {name} are missing ({}); restore them", path.display())]
    FilesMissing {
        name: String,
        ty: ArtifactType,
        path: PathBuf,
    },
    #[error(
        "{ty} {name} has no source skillwal can update from (origin {origin}; skillwal's source fields are not in its manifest entry, skillwal's store holds no source reference for this artifact as added at that time, and it has no GitHub upstream: the Python tool added it, or re-added it under this name); remove it and add it again from its source with skillwal"
    )]
    NoSource {
        name: String,
        ty: ArtifactType,
        origin: String,
    },
    #[error("{} changed while it was being copied; try again", path.display())]
    SourceChanged { path: PathBuf },
    #[error("{}: {source}", path.display())]
    FrontMatter {
        path: PathBuf,
        source: frontmatter::FrontMatterError,
    },
    #[error("local modifications in {}, and no terminal to ask whether to overwrite or keep them", names.join(", "))]
    PromptWithoutTerminal { names: Vec<String> },
    #[error("snapshot ids are numbers; {id:?} is not one")]
    BadSnapshotId { id: String },
    #[error(transparent)]
    ThreeWay(#[from] super::threeway::ThreeWayError),
    #[error(
        "{ty} {name} has local modifications and no recorded base to merge them with (it was added before skillwal kept bases, or its lock entry was changed by another tool)"
    )]
    NoBase { name: String, ty: ArtifactType },
    #[error(
        "gc deleted nothing: the collection.lock of snapshot {id} cannot be read or parsed ({reason}); a rollback to that snapshot would need the bases it names"
    )]
    SnapshotLock { id: u64, reason: String },
}

impl CollectionError {
    /// Whether the failed operation may have changed anything. Only the engine's commit can
    /// (see [`crate::Error::effect`]); every other failure happens before it, or is reported
    /// by the engine as such.
    pub fn effect(&self) -> crate::error::Effect {
        match self {
            CollectionError::Engine(e) => e.effect(),
            CollectionError::Store(e) => e.effect(),
            CollectionError::ThreeWay(e) => e.effect(),
            _ => crate::error::Effect::Unchanged,
        }
    }
}

pub type Result<T, E = CollectionError> = std::result::Result<T, E>;

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CollectionError + 'a {
    move |source| CollectionError::Io(IoError::new(op, path, source))
}

/// How an update treats local modifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Overwrite them with the upstream content.
    Upstream,
    /// Keep them; the artifact is not updated.
    Local,
    /// Ask (through the caller's callback).
    Prompt,
    /// Three-way merge of the local files with the new upstream, against the upstream
    /// version last fetched (the base): changes on one side are taken, text changed on both
    /// sides is merged line by line, and conflicts are marked and reported.
    Merge,
}

/// The state of one artifact's files against the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    Ok,
    Modified,
    Missing,
    /// No lock entry to compare with.
    Unlocked,
    /// The files cannot be hashed as SkillMeat would (e.g. a symbolic link inside).
    Unreadable,
}

/// One artifact in a status report.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactStatus {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub state: FileState,
    /// `Some(true)` when the source differs from the lock (only checked for local sources,
    /// where it is cheap); `None` when not checked.
    pub update_available: Option<bool>,
    /// What differs, for `modified` (content, a path's kind or mode, a link) and
    /// `unreadable`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub checked: usize,
    pub ok: Vec<String>,
    pub modified: Vec<String>,
    pub missing: Vec<String>,
    /// Manifest entries without a lock entry.
    pub unlocked: Vec<String>,
    /// Lock entries without a manifest entry.
    pub stale_lock_entries: Vec<String>,
    /// Files and directories in `skills/`, `commands/`, `agents/` that no artifact owns.
    pub extra: Vec<String>,
    /// Artifacts whose files cannot be hashed, with the reason.
    pub unreadable: Vec<String>,
    /// Why each modified artifact is modified (content, a path's kind or mode, a link), by
    /// its key.
    pub reasons: BTreeMap<String, Vec<String>>,
    /// A stale copy of skillwal's state inside the collection (super::state).
    pub stale_state: Option<super::state::Stale>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.modified.is_empty()
            && self.missing.is_empty()
            && self.unlocked.is_empty()
            && self.stale_lock_entries.is_empty()
            && self.extra.is_empty()
            && self.unreadable.is_empty()
            && self.stale_state.is_none()
    }
}

/// What happened to one artifact in an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateAction {
    Updated,
    UpToDate,
    /// Local modifications kept (strategy `local`, or declined at the prompt).
    KeptLocal,
    /// Local modifications merged with the new upstream (strategy `merge`).
    Merged,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateOutcome {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub action: UpdateAction,
    pub locally_modified: bool,
    pub content_hash: String,
    pub resolved_sha: Option<String>,
    /// Conflicts a merge left (marked in the files, or reported); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<super::threeway::MergeConflict>,
}

/// One artifact to update, with its source already fetched.
pub struct UpdateInput {
    pub name: String,
    pub ty: ArtifactType,
    pub fetched: Fetched,
}

/// Automatic snapshots kept when nothing else is configured.
pub const DEFAULT_SNAPSHOT_KEEP: usize = 50;

/// An open collection: holds the engine (and its lock) and the documents as read.
///
/// Every read of the collection's own files goes through `fs`, like the engine's writes (so
/// the simulated file system and the fault injector see them); sources outside the
/// collection are read from the real file system.
pub struct Collection {
    /// `None` for a collection opened read-only.
    engine: Option<Engine>,
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    docs: Documents,
    /// The content-addressed store in `.skillwal/store/` (snapshots, bases).
    store: Store,
    /// How many automatic snapshots to keep (the newest ones).
    snapshot_keep: usize,
    /// A stale copy of skillwal's state found inside the collection (ignored; reported).
    stale: Option<super::state::Stale>,
}

/// What a snapshot command did.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotOutcome {
    pub snapshot: SnapshotRef,
    /// Objects the store did not have before.
    pub new_objects: usize,
    /// Automatic snapshots deleted by retention.
    pub pruned: Vec<u64>,
    /// Paths not recorded (symbolic links, special files).
    pub skipped: Vec<String>,
    /// Files read and hashed to take it; the hashes of the others came from the stat cache
    /// (store-spec.md §8).
    pub hashed_files: u64,
    pub hashed_bytes: u64,
}

impl SnapshotOutcome {
    fn new(s: StagedSnapshot, cap: &Captured) -> SnapshotOutcome {
        SnapshotOutcome {
            snapshot: s.snapshot,
            new_objects: s.new_objects,
            pruned: s.pruned,
            skipped: cap.skipped.clone(),
            hashed_files: cap.hashed_files,
            hashed_bytes: cap.hashed_bytes,
        }
    }

    /// The new snapshot's id.
    pub fn snapshot_id(&self) -> u64 {
        self.snapshot.id
    }
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackOutcome {
    /// The snapshot restored.
    pub target: SnapshotRef,
    /// The automatic snapshot of the state before the rollback (`None` when nothing
    /// differed and nothing was written).
    pub before: Option<SnapshotOutcome>,
    /// What was written or deleted.
    pub changes: Vec<Action>,
}

/// Parses a snapshot id as the user typed it.
pub fn parse_snapshot_id(id: &str) -> Result<u64> {
    id.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && n.to_string() == id)
        .ok_or_else(|| CollectionError::BadSnapshotId { id: id.to_string() })
}

/// Captures the collection directory as it is now (`.skillwal/` excluded). Only a writer
/// (`writer`: the collection is open with its exclusive lock) records a new stat cache.
fn capture_now(store: &Store, dir: &Path, writer: bool) -> Result<Captured> {
    let cache = if writer {
        CacheUse::ReadWrite
    } else {
        CacheUse::Read
    };
    Ok(capture_dir(store, dir, cache)?)
}

/// Stages the automatic snapshot `cap` of the state before `t` and its retention.
fn stage_auto_snapshot(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    cap: &Captured,
    message: &str,
    keep: usize,
) -> Result<SnapshotOutcome> {
    let s = refs::stage_snapshot(w, t, cap, true, message, Some(keep))?;
    Ok(SnapshotOutcome::new(s, cap))
}

/// Stages recording the fetched content as the base of `name` of type `ty` (what a
/// three-way merge will compare both sides with), under its SkillMeat content hash: the
/// lock's `content_hash` then always finds the base of the version the artifact is at, also
/// after a rollback.
fn stage_base(
    store: &Store,
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    ty: ArtifactType,
    name: &str,
    content_hash: &str,
    fetched: &Fetched,
) -> Result<()> {
    let content = match &fetched.kind {
        FetchedKind::File { path, mode, .. } => {
            let (size, hash) = crate::engine::tree_hash::hash_file(store.fs_for(path), path)?;
            refs::stage_base(
                w,
                t,
                ty.as_str(),
                name,
                content_hash,
                BaseContent::File {
                    src: path.clone(),
                    size,
                    hash,
                    mode: mode & 0o7777,
                },
            )?;
            return Ok(());
        }
        FetchedKind::Dir { entries, mode, .. } => {
            let items: Vec<Item> = ordered(entries)
                .into_iter()
                .map(|e| Item {
                    rel: e.rel.clone(),
                    mode: e.mode & 0o7777,
                    file: (!e.is_dir && e.link.is_none()).then(|| e.abs.clone()),
                    link: e.link.clone(),
                    stat: None,
                })
                .collect();
            (capture(store, &items, Vec::new())?, *mode)
        }
    };
    refs::stage_base(
        w,
        t,
        ty.as_str(),
        name,
        content_hash,
        BaseContent::Tree(&content.0, content.1),
    )?;
    Ok(())
}

/// The manifest and the lock as last read or committed.
struct Documents {
    manifest: ManifestEditor,
    lock: LockEditor,
    /// Permission bits of the manifest and lock files, kept when they are rewritten.
    modes: (u32, u32),
}

impl Documents {
    /// Starts changing the documents in place for one transaction.
    fn edit(&mut self) -> Edit<'_> {
        Edit {
            docs: self,
            staged: None,
            committed: false,
        }
    }
}

/// The documents of a collection being changed in place for one transaction, each parsed
/// once (at open) and serialized once ([`Edit::stage`]). Dropped before [`Edit::commit`]
/// succeeded (an error on the way: the transaction did not commit), it discards the edits,
/// so the documents are again as last read or committed.
struct Edit<'a> {
    docs: &'a mut Documents,
    /// The texts staged, which become the documents' originals once committed.
    staged: Option<(String, String)>,
    committed: bool,
}

impl Edit<'_> {
    /// Stages both documents and their field changes ([`ManifestEditor::changes`],
    /// [`LockEditor::changes`]) in `t`.
    fn stage(&mut self, t: &mut Transaction<'_>) -> Result<()> {
        let (manifest, lock) = (self.docs.manifest.to_string(), self.docs.lock.to_string());
        t.put_bytes(MANIFEST_FILE_NAME, manifest.as_bytes(), self.docs.modes.0)?;
        t.put_bytes(LOCK_FILE_NAME, lock.as_bytes(), self.docs.modes.1)?;
        t.record_diff(true, MANIFEST_FILE_NAME, &self.docs.manifest.changes())?;
        t.record_diff(false, LOCK_FILE_NAME, &self.docs.lock.changes())?;
        self.staged = Some((manifest, lock));
        Ok(())
    }

    /// Commits `t`, whose documents [`Edit::stage`] staged, durably; the documents as staged
    /// are then the documents as committed.
    fn commit(mut self, t: Transaction<'_>) -> Result<()> {
        t.commit_durable()?;
        let (manifest, lock) = self.staged.take().expect("staged before the commit");
        self.docs.manifest.rebase(manifest);
        self.docs.lock.rebase(lock);
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for Edit<'_> {
    type Target = Documents;

    fn deref(&self) -> &Documents {
        self.docs
    }
}

impl std::ops::DerefMut for Edit<'_> {
    fn deref_mut(&mut self) -> &mut Documents {
        self.docs
    }
}

impl Drop for Edit<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.docs.manifest.discard_edits();
            self.docs.lock.discard_edits();
        }
    }
}

/// The text and permission bits of a document, `None` when it does not exist.
fn read_doc(fs: &dyn FileSystem, path: &Path) -> Result<Option<(String, u32)>> {
    let file = match fs.open(path, OpenMode::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    let meta = file.metadata().map_err(io("stat", path))?;
    if meta.len > DOCUMENT_BYTES_MAX {
        return Err(io("read", path)(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {DOCUMENT_BYTES_MAX} bytes; not a collection document"),
        )));
    }
    let mut bytes = vec![0u8; meta.len as usize];
    file.read_exact_at(&mut bytes, 0)
        .map_err(io("read", path))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        io("read", path)(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ))
    })?;
    Ok(Some((text, meta.mode)))
}

/// Largest manifest or lock read (they are read whole, to be parsed).
pub const DOCUMENT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Whether anything is at `path` (links not followed).
fn exists(fs: &dyn FileSystem, path: &Path) -> Result<bool> {
    fs.exists(path).map_err(io("stat", path))
}

/// Reads manifest and lock from `dir` (a missing lock reads as empty).
fn read_docs(fs: &dyn FileSystem, dir: &Path) -> Result<Documents> {
    let mpath = dir.join(MANIFEST_FILE_NAME);
    let Some((mtext, mmode)) = read_doc(fs, &mpath)? else {
        return Err(CollectionError::NotACollection {
            dir: dir.to_path_buf(),
        });
    };
    let manifest = ManifestEditor::parse(&mtext, &mpath.display().to_string())?;
    let lpath = dir.join(LOCK_FILE_NAME);
    let (lock, lmode) = match read_doc(fs, &lpath)? {
        Some((t, m)) => (LockEditor::parse(&t, &lpath.display().to_string())?, m),
        None => (LockEditor::new_empty(&lpath.display().to_string()), 0o644),
    };
    Ok(Documents {
        manifest,
        lock,
        modes: (mmode, lmode),
    })
}

/// Wraps a reader and feeds what it yields to a SHA-256.
struct Tee<'a, R> {
    inner: R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    crate::journal::format::hex(bytes)
}

/// Entries of a fetched directory in SkillMeat's hash order (relative paths compared
/// component by component), which also puts every directory before its contents.
fn ordered(entries: &[super::source::FetchedEntry]) -> Vec<&super::source::FetchedEntry> {
    let mut v: Vec<_> = entries.iter().collect();
    v.sort_by(|a, b| a.rel.split('/').cmp(b.rel.split('/')));
    v
}

/// Stages the fetched content at `storage` and returns SkillMeat's content hash of exactly
/// the bytes staged (computed while they stream through).
fn stage_content(t: &mut Transaction<'_>, storage: &str, fetched: &Fetched) -> Result<String> {
    let mut sha = Sha256::new();
    match &fetched.kind {
        FetchedKind::File { path, mode, .. } => {
            let f = std::fs::File::open(path).map_err(io("open", path))?;
            let mut tee = Tee {
                inner: f,
                hasher: &mut sha,
            };
            t.put_file(storage, &mut tee, mode & 0o7777)?;
        }
        FetchedKind::Dir { entries, mode, .. } => {
            let mut tree = t.put_tree(storage, *mode)?;
            let mut buf = vec![0u8; 64 * 1024];
            for e in ordered(entries) {
                if let Some(target) = &e.link {
                    tree.link(&e.rel, target)?;
                    // SkillMeat's hash reads a link to a file as that file.
                    hash_linked_file(&mut sha, e, &mut buf)?;
                } else if e.is_dir {
                    tree.dir(&e.rel, e.mode & 0o7777)?;
                } else {
                    sha.update(e.rel.as_bytes());
                    let f = std::fs::File::open(&e.abs).map_err(io("open", &e.abs))?;
                    let mut tee = Tee {
                        inner: f,
                        hasher: &mut sha,
                    };
                    tree.file(&e.rel, &mut tee, e.mode & 0o7777)?;
                }
            }
            tree.finish()?;
        }
    }
    Ok(hex(&sha.finalize()))
}

/// SkillMeat's content hash of fetched content, read from the source.
pub fn fetched_hash(fetched: &Fetched) -> Result<String> {
    match &fetched.kind {
        FetchedKind::File { path, .. } => Ok(content_hash(path, ArtifactType::Command)?),
        FetchedKind::Dir { entries, .. } => {
            let mut sha = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            for e in ordered(entries).into_iter().filter(|e| !e.is_dir) {
                if e.link.is_some() {
                    hash_linked_file(&mut sha, e, &mut buf)?;
                    continue;
                }
                sha.update(e.rel.as_bytes());
                let mut f = std::fs::File::open(&e.abs).map_err(io("open", &e.abs))?;
                feed(&mut sha, &mut f, &e.abs, &mut buf)?;
            }
            Ok(hex(&sha.finalize()))
        }
    }
}

/// Streams `f` into `sha`.
fn feed(sha: &mut Sha256, f: &mut std::fs::File, path: &Path, buf: &mut [u8]) -> Result<()> {
    loop {
        let n = f.read(buf).map_err(io("read", path))?;
        if n == 0 {
            return Ok(());
        }
        sha.update(&buf[..n]);
    }
}

/// Adds the contained link `e` of a fetched source to SkillMeat's hash as SkillMeat reads it
/// (super::hash): a link to a file counts as that file under the link's path; a link to a
/// directory counts nothing. A contained link stays inside the source, so following it to
/// read is safe.
fn hash_linked_file(
    sha: &mut Sha256,
    e: &super::source::FetchedEntry,
    buf: &mut [u8],
) -> Result<()> {
    let meta = std::fs::metadata(&e.abs).map_err(io("stat", &e.abs))?;
    if meta.is_file() {
        sha.update(e.rel.as_bytes());
        let mut f = std::fs::File::open(&e.abs).map_err(io("open", &e.abs))?;
        feed(sha, &mut f, &e.abs, buf)?;
    }
    Ok(())
}

/// The front matter text of the fetched artifact (its `SKILL.md`, or the file itself).
fn front_matter_source(fetched: &Fetched) -> Option<String> {
    let path = match &fetched.kind {
        FetchedKind::File { path, .. } => path.clone(),
        FetchedKind::Dir { entries, .. } => {
            entries.iter().find(|e| e.rel == "SKILL.md")?.abs.clone()
        }
    };
    frontmatter::read_source(&path)
}

/// The source recorded as skillwal records it (in the manifest's `skillwal_*` fields, or in
/// a source reference): a local path for a local artifact, a git URL with path and
/// reference otherwise.
fn recorded_source(
    origin: Origin,
    src: &str,
    path: Option<&String>,
    reference: Option<&String>,
) -> SourceSpec {
    match origin {
        Origin::Local => SourceSpec::Local(PathBuf::from(src)),
        _ => SourceSpec::Git {
            url: src.to_string(),
            path: path.cloned(),
            reference: reference.cloned(),
        },
    }
}

/// The source skillwal recorded in the artifact's manifest entry (`None` when the fields
/// are gone, e.g. after the Python tool rewrote the manifest).
fn source_in_manifest(a: &Artifact) -> Option<SourceSpec> {
    let src = a.extra.get(FIELD_SOURCE)?;
    Some(recorded_source(
        a.origin,
        src,
        a.extra.get(FIELD_PATH),
        a.extra.get(FIELD_REF),
    ))
}

/// The source reference skillwal writes with every add and update of `a`: where `fetched`
/// came from, and `a`'s manifest `added` and origin (what [`Collection::source_of`] compares
/// it with), which tell it from another artifact added under the same name later.
fn source_ref(a: &Artifact, fetched: &Fetched) -> SourceRef {
    SourceRef::new(
        a.origin.as_str(),
        &fetched.skillwal_source,
        fetched.skillwal_path.as_deref(),
        fetched.skillwal_ref.as_deref(),
        &a.added,
    )
}

/// Stages writing `source` as the source reference of `name` of type `ty`, unless the store
/// holds exactly that already (an update from the same source rewrites nothing; a damaged
/// reference is replaced).
fn stage_source(
    store: &Store,
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    ty: ArtifactType,
    name: &str,
    source: &SourceRef,
) -> Result<()> {
    if refs::get_source(store, ty.as_str(), name)
        .ok()
        .flatten()
        .as_ref()
        != Some(source)
    {
        refs::stage_source(w, t, ty.as_str(), name, source)?;
    }
    Ok(())
}

/// Whether two SkillMeat timestamps are the same instant: Python's `isoformat()` drops a
/// fraction that is exactly zero, so a manifest it rewrote may say `…:48` for our `…:48.000000`.
fn same_timestamp(a: &str, b: &str) -> bool {
    let full = |t: &str| {
        if t.contains('.') {
            t.to_string()
        } else {
            format!("{t}.000000")
        }
    };
    full(a) == full(b)
}

/// The source of an artifact the Python tool added from GitHub, from its `upstream`
/// (`https://github.com/<user>/<repo>/tree/<sha>/<path>`).
fn github_source(a: &Artifact) -> Option<SourceSpec> {
    if a.origin == Origin::Github {
        let up = a.upstream.as_deref()?;
        let rest = up.strip_prefix("https://github.com/")?;
        let mut parts = rest.splitn(5, '/');
        let (user, repo) = (parts.next()?, parts.next()?);
        let path = match (parts.next(), parts.next(), parts.next()) {
            (Some("tree"), Some(_sha), p) => p.map(str::to_string),
            (None, ..) => None,
            _ => return None,
        };
        let reference = a.version_spec.clone().filter(|v| v != "latest");
        return Some(SourceSpec::Git {
            url: format!("https://github.com/{user}/{repo}"),
            path,
            reference,
        });
    }
    None
}

impl Collection {
    /// Opens the collection at `dir` (absolute and normal: see [`super::state::locate`]):
    /// moves skillwal's state beside the collection if an older skillwal kept it inside,
    /// opens its engine (taking the lock, recovering an interrupted transaction), then reads
    /// the manifest and the lock.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        opts: &OpenOptions,
    ) -> Result<(Collection, RecoveryReport)> {
        let mut location = super::state::locate(&fs, dir)?;
        if !exists(fs.as_ref(), &dir.join(MANIFEST_FILE_NAME))?
            && !exists(fs.as_ref(), &location.layout.journal)?
        {
            return Err(CollectionError::NotACollection {
                dir: dir.to_path_buf(),
            });
        }
        if location.legacy {
            super::state::migrate(fs.as_ref(), dir, opts.no_wait)?;
            location = super::state::locate(&fs, dir)?;
        }
        let store = Store::new(fs.clone(), &location.layout);
        let mut engine = Engine::open_layout(fs.clone(), &location.layout, opts)?;
        engine.checkpoint()?;
        let report = engine.recovery_report().clone();
        let docs = read_docs(fs.as_ref(), dir)?;
        Ok((
            Collection {
                engine: Some(engine),
                fs,
                dir: dir.to_path_buf(),
                docs,
                store,
                snapshot_keep: DEFAULT_SNAPSHOT_KEEP,
                stale: location.stale,
            },
            report,
        ))
    }

    /// Creates an empty collection named `name` at `dir` (absolute and normal) in
    /// SkillMeat's layout (one transaction). Fails if `dir` already holds a collection.
    pub fn init(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        name: &str,
        opts: &OpenOptions,
    ) -> Result<Collection> {
        if exists(fs.as_ref(), &dir.join(MANIFEST_FILE_NAME))? {
            return Err(CollectionError::CollectionExists {
                dir: dir.to_path_buf(),
            });
        }
        if !exists(fs.as_ref(), dir)? {
            super::home::create_dir_durably(dir)?;
        }
        let location = super::state::locate(&fs, dir)?;
        if location.legacy {
            super::state::migrate(fs.as_ref(), dir, opts.no_wait)?;
        }
        let location = super::state::locate(&fs, dir)?;
        let store = Store::new(fs.clone(), &location.layout);
        let mut engine = Engine::open_layout(fs.clone(), &location.layout, opts)?;
        let mpath = dir.join(MANIFEST_FILE_NAME).display().to_string();
        let lpath = dir.join(LOCK_FILE_NAME).display().to_string();
        let manifest = ManifestEditor::new_collection(name, &now_timestamp(), &mpath)?;
        let lock = LockEditor::new_empty(&lpath);
        {
            let mut t = engine.begin(&format!("init collection {name}"))?;
            for d in super::COLLECTION_DIRS {
                if !exists(fs.as_ref(), &dir.join(d))? {
                    t.create_dir(d, 0o755)?;
                }
            }
            t.put_bytes(MANIFEST_FILE_NAME, manifest.to_string().as_bytes(), 0o644)?;
            t.put_bytes(LOCK_FILE_NAME, lock.to_string().as_bytes(), 0o644)?;
            t.record_diff(
                true,
                MANIFEST_FILE_NAME,
                &diff_manifests(None, Some(&manifest)),
            )?;
            t.record_diff(false, LOCK_FILE_NAME, &diff_locks(None, Some(&lock)))?;
            t.commit_durable()?;
        }
        Ok(Collection {
            engine: Some(engine),
            fs,
            dir: dir.to_path_buf(),
            docs: Documents {
                manifest,
                lock,
                modes: (0o644, 0o644),
            },
            store,
            snapshot_keep: DEFAULT_SNAPSHOT_KEEP,
            stale: location.stale,
        })
    }

    /// Opens a collection that cannot be written (read-only file system or permissions):
    /// no lock, no engine. Fails if an interrupted transaction needs recovery.
    pub fn open_read_only(fs: Arc<dyn FileSystem>, dir: &Path) -> Result<Collection> {
        let location = super::state::locate(&fs, dir)?;
        if crate::needs_recovery(fs.as_ref(), &location.layout)? {
            return Err(CollectionError::Engine(crate::Error::Rejected {
                op: "open",
                path: dir.display().to_string(),
                reason: "an interrupted transaction needs recovery, and the collection cannot be written".into(),
            }));
        }
        Ok(Collection {
            engine: None,
            dir: dir.to_path_buf(),
            docs: read_docs(fs.as_ref(), dir)?,
            store: Store::new(fs.clone(), &location.layout),
            fs,
            snapshot_keep: DEFAULT_SNAPSHOT_KEEP,
            stale: location.stale,
        })
    }

    /// A stale copy of skillwal's state found inside the collection, if any (see
    /// [`super::state`]): skillwal ignores it; callers report it.
    pub fn stale_state(&self) -> Option<&super::state::Stale> {
        self.stale.as_ref()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The typed view of the manifest as read at open or written by the last change (see
    /// [`ManifestEditor::manifest`]: kept from the parse, not read again).
    pub fn manifest(&self) -> Result<Cow<'_, Manifest>> {
        Ok(self.docs.manifest.manifest()?)
    }

    /// The typed view of the lock; see [`Collection::manifest`].
    pub fn lock(&self) -> Result<Cow<'_, Lock>> {
        Ok(self.docs.lock.lock()?)
    }

    /// Releases the collection after a final checkpoint.
    pub fn close(self) -> Result<()> {
        match self.engine {
            Some(e) => Ok(e.close()?),
            None => Ok(()),
        }
    }

    /// The one artifact called `name` (of type `ty`, when given).
    pub fn find(&self, name: &str, ty: Option<ArtifactType>) -> Result<Artifact> {
        let m = self.manifest()?;
        let matches: Vec<&Artifact> = m
            .artifacts
            .iter()
            .filter(|a| a.name == name && ty.is_none_or(|t| a.artifact_type == t))
            .collect();
        match matches.len() {
            0 => Err(CollectionError::NotFound {
                name: name.to_string(),
                ty,
            }),
            1 => Ok(matches[0].clone()),
            _ => Err(CollectionError::Ambiguous {
                name: name.to_string(),
                types: matches.iter().map(|a| a.artifact_type).collect(),
            }),
        }
    }

    /// Where `a` can be updated from: skillwal's fields in its manifest entry; else the
    /// source reference skillwal wrote with its last add or update, when that reference's
    /// `added` and origin are the artifact's (the Python tool drops skillwal's fields when it
    /// rewrites the manifest; an artifact it removed and added again under the same name is
    /// another one, with another `added`); else the GitHub upstream the Python tool recorded.
    /// `None` when there is none of these.
    ///
    /// Fails when the artifact's source reference is damaged (the error names the file).
    pub fn source_of(&self, a: &Artifact) -> Result<Option<SourceSpec>> {
        if let Some(spec) = source_in_manifest(a) {
            return Ok(Some(spec));
        }
        let ty = a.artifact_type.as_str();
        if let Some(r) = refs::get_source(&self.store, ty, &a.name)?
            && r.origin == a.origin.as_str()
            && same_timestamp(&r.added, &a.added)
        {
            let (path, reference) = (r.path.as_ref(), r.reference.as_ref());
            return Ok(Some(recorded_source(a.origin, &r.source, path, reference)));
        }
        Ok(github_source(a))
    }

    /// What is at `path` in the collection (links not followed); `None` when nothing is.
    fn kind(&self, path: &Path) -> Result<Option<FileKind>> {
        match self.fs.metadata(path) {
            Ok(m) => Ok(Some(m.kind)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("stat", path)(e)),
        }
    }

    fn storage(&self, name: &str, ty: ArtifactType) -> Result<(String, PathBuf)> {
        let rel = ty.storage_path(name)?;
        let abs = self.dir.join(&rel);
        Ok((rel, abs))
    }

    /// SkillMeat's hash of the artifact's files on disk; `None` when they are missing.
    pub fn disk_hash(&self, name: &str, ty: ArtifactType) -> Result<Option<String>> {
        let (_, abs) = self.storage(name, ty)?;
        if self.kind(&abs)?.is_none() {
            return Ok(None);
        }
        Ok(Some(content_hash_in(self.fs.as_ref(), &abs, ty)?))
    }

    /// The shape of the artifact's files on disk (kinds, modes, links: what SkillMeat's hash
    /// does not see).
    fn disk_shape(&self, name: &str, ty: ArtifactType) -> Result<Shape> {
        let (_, abs) = self.storage(name, ty)?;
        Shape::of_disk(self.fs.as_ref(), &abs, ty).map_err(io("read", &abs))
    }

    /// The shape of what was last fetched for the artifact whose lock records `locked`, when
    /// a base of it is kept.
    fn base_shape(&self, name: &str, ty: ArtifactType, locked: &str) -> Result<Option<Shape>> {
        Ok(refs::get_base(&self.store, ty.as_str(), name, locked)?
            .map(|b| Shape::of_base(&self.store, &b))
            .transpose()?)
    }

    fn lock_hash(&self, name: &str, ty: ArtifactType) -> Result<Option<String>> {
        Ok(self.lock()?.entry(name, ty).map(|e| e.content_hash.clone()))
    }

    /// Adds the fetched artifact as `name`: its files, its manifest entry and its lock
    /// entry, in one transaction made durable before this returns.
    pub fn add(&mut self, ty: ArtifactType, name: &str, fetched: &Fetched) -> Result<LockEntry> {
        validate_artifact_name(name).map_err(|reason| CollectionError::InvalidName {
            name: name.to_string(),
            reason,
        })?;
        if self.docs.manifest.contains_artifact(name, ty) {
            return Err(CollectionError::AlreadyExists {
                name: name.to_string(),
                ty,
            });
        }
        let (rel, abs) = self.storage(name, ty)?;
        if self.kind(&abs)?.is_some() {
            return Err(CollectionError::Occupied {
                name: name.to_string(),
                path: abs,
            });
        }
        let type_dir_exists = self.kind(&self.dir.join(ty.dir_name()))? == Some(FileKind::Dir);
        let now = now_timestamp();
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&format!("add {ty} {name}"))?;
        let mut docs = self.docs.edit();
        if !type_dir_exists {
            t.create_dir(ty.dir_name(), 0o755)?;
        }
        let hash = stage_content(&mut t, &rel, fetched)?;
        let mut artifact = Artifact::new(name, ty, fetched.origin, &now)?;
        artifact.upstream = fetched.upstream.clone();
        artifact.version_spec = fetched.version_spec.clone();
        artifact.resolved_sha = fetched.resolved_sha.clone();
        artifact.resolved_version = fetched.resolved_version.clone();
        if let Some(text) = front_matter_source(fetched) {
            let (metadata, tags) = frontmatter::metadata_and_tags(&text).map_err(|source| {
                CollectionError::FrontMatter {
                    path: source_path(fetched),
                    source,
                }
            })?;
            artifact.metadata = metadata;
            artifact.tags = tags;
        }
        artifact
            .extra
            .insert(FIELD_SOURCE.into(), fetched.skillwal_source.clone());
        if let Some(p) = &fetched.skillwal_path {
            artifact.extra.insert(FIELD_PATH.into(), p.clone());
        }
        if let Some(r) = &fetched.skillwal_ref {
            artifact.extra.insert(FIELD_REF.into(), r.clone());
        }
        docs.manifest.add_artifact(&artifact)?;
        docs.manifest.set_updated(&now);
        let mut entry = LockEntry::new(name, ty, &hash, &now)?;
        entry.upstream = fetched.upstream.clone();
        entry.resolved_sha = fetched.resolved_sha.clone();
        entry.resolved_version = fetched.resolved_version.clone();
        docs.lock.set_entry(&entry)?;
        docs.stage(&mut t)?;
        let mut w = Writer::new(&self.store);
        stage_base(&self.store, &mut w, &mut t, ty, name, &hash, fetched)?;
        let source = source_ref(&artifact, fetched);
        stage_source(&self.store, &mut w, &mut t, ty, name, &source)?;
        docs.commit(t)?;
        Ok(entry)
    }

    /// Removes an artifact: its files (unless `keep_files`), its manifest entry and its
    /// lock entry, in one transaction. Missing files are fine.
    ///
    /// An automatic snapshot of the collection before the removal is part of the same
    /// transaction; it is returned.
    pub fn remove(
        &mut self,
        name: &str,
        ty: ArtifactType,
        keep_files: bool,
    ) -> Result<SnapshotOutcome> {
        if !self.docs.manifest.contains_artifact(name, ty) {
            return Err(CollectionError::NotFound {
                name: name.to_string(),
                ty: Some(ty),
            });
        }
        let (rel, abs) = self.storage(name, ty)?;
        let now = now_timestamp();
        let on_disk = if keep_files { None } else { self.kind(&abs)? };
        if on_disk == Some(FileKind::Symlink) {
            return Err(CollectionError::LinkedStorage {
                name: name.to_string(),
                ty,
                path: abs,
            });
        }
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&format!("remove {ty} {name}"))?;
        let mut docs = self.docs.edit();
        docs.manifest.remove_artifact(name, ty)?;
        docs.manifest.set_updated(&now);
        if docs.lock.contains_entry(name, ty) {
            docs.lock.remove_entry(name, ty)?;
        }
        if let Some(kind) = on_disk {
            if kind == FileKind::Dir {
                t.delete_tree(&rel)?;
            } else {
                t.delete_file(&rel)?;
            }
        }
        docs.stage(&mut t)?;
        let mut w = Writer::new(&self.store);
        let snap = stage_auto_snapshot(
            &mut w,
            &mut t,
            &cap,
            &format!("before remove {ty} {name}"),
            self.snapshot_keep,
        )?;
        refs::stage_delete_bases(&self.store, &mut t, ty.as_str(), name)?;
        refs::stage_delete_source(&self.store, &mut t, ty.as_str(), name)?;
        docs.commit(t)?;
        cap.save_stat_cache(&self.store, true);
        Ok(snap)
    }

    /// Updates artifacts from their fetched sources, all in ONE transaction: every one of
    /// them or none. `ask(name, ty)` decides for an artifact with local modifications under
    /// [`Strategy::Prompt`] (`None`: no terminal to ask; the update fails before any change).
    ///
    /// When anything changes, the same transaction takes an automatic snapshot of the
    /// collection before the update (returned) and records every updated artifact's fetched
    /// content as its base.
    pub fn update(
        &mut self,
        inputs: &[UpdateInput],
        strategy: Strategy,
        ask: &mut dyn FnMut(&str, ArtifactType) -> Option<bool>,
    ) -> Result<(Vec<UpdateOutcome>, Option<SnapshotOutcome>)> {
        // Decide everything before the transaction starts.
        let mut plans = Vec::new();
        let mut no_terminal = Vec::new();
        for input in inputs {
            let (name, ty) = (input.name.as_str(), input.ty);
            let artifact = self.find(name, Some(ty))?;
            let (_, abs) = self.storage(name, ty)?;
            let Some(disk) = self.disk_hash(name, ty)? else {
                // Missing files are not a local modification to keep or overwrite: the user
                // must decide (restore them, or remove the artifact).
                return Err(CollectionError::FilesMissing {
                    name: name.to_string(),
                    ty,
                    path: abs,
                });
            };
            let locked = self.lock_hash(name, ty)?;
            let upstream = fetched_hash(&input.fetched)?;
            // The lock's hash sees contents only; the base (what was last fetched) also
            // records kinds, modes and links, so a change of those alone is a change.
            let base = match &locked {
                Some(key) => refs::get_base(&self.store, ty.as_str(), name, key)?,
                None => None,
            };
            let base_shape = base
                .as_ref()
                .map(|b| Shape::of_base(&self.store, b))
                .transpose()?;
            let disk_shape = self.disk_shape(name, ty)?;
            let up_shape = Shape::of_fetched(&input.fetched);
            let modified = Some(&disk) != locked.as_ref()
                || base_shape.as_ref().is_some_and(|b| !b.same(&disk_shape));
            let upstream_changed = Some(&upstream) != locked.as_ref()
                || match &base_shape {
                    Some(b) => !b.same(&up_shape),
                    // No record of what was fetched: whatever differs from upstream is taken
                    // from upstream (a local change of modes alone cannot be told apart).
                    None => !modified && !disk_shape.same(&up_shape),
                };
            let action = if !modified && !upstream_changed {
                UpdateAction::UpToDate
            } else if !modified {
                UpdateAction::Updated
            } else {
                match strategy {
                    Strategy::Upstream => UpdateAction::Updated,
                    Strategy::Local => UpdateAction::KeptLocal,
                    // Upstream unchanged: nothing to merge, the local files stay.
                    Strategy::Merge if !upstream_changed => UpdateAction::UpToDate,
                    Strategy::Merge => UpdateAction::Merged,
                    Strategy::Prompt => match ask(name, ty) {
                        Some(true) => UpdateAction::Updated,
                        Some(false) => UpdateAction::KeptLocal,
                        None => {
                            no_terminal.push(format!("{ty} {name}"));
                            UpdateAction::KeptLocal
                        }
                    },
                }
            };
            let merge_plan = if action == UpdateAction::Merged {
                let Some(base) = &base else {
                    return Err(CollectionError::NoBase {
                        name: name.to_string(),
                        ty,
                    });
                };
                let (rel, abs) = self.storage(name, ty)?;
                Some(super::threeway::plan_merge(
                    &self.store,
                    ty,
                    name,
                    &rel,
                    &abs,
                    base,
                    &input.fetched,
                )?)
            } else {
                None
            };
            plans.push((input, artifact, action, modified, upstream, merge_plan));
        }
        if !no_terminal.is_empty() {
            return Err(CollectionError::PromptWithoutTerminal { names: no_terminal });
        }
        let now = now_timestamp();
        let mut outcomes = Vec::new();
        let writes = |a: UpdateAction| matches!(a, UpdateAction::Updated | UpdateAction::Merged);
        let changing = plans.iter().any(|p| writes(p.2));
        let names: Vec<String> = plans
            .iter()
            .filter(|p| writes(p.2))
            .map(|p| p.0.name.clone())
            .collect();
        let cap = if changing {
            Some(capture_now(&self.store, &self.dir, self.engine.is_some())?)
        } else {
            None
        };
        let mut txn = if changing {
            let label = format!("update {}", names.join(", "));
            Some(writable(&mut self.engine, &self.dir)?.begin(&label)?)
        } else {
            None
        };
        let mut docs = self.docs.edit();
        for (input, _artifact, action, modified, upstream, merge_plan) in &plans {
            let (name, ty) = (input.name.as_str(), input.ty);
            let f = &input.fetched;
            if writes(*action) {
                let t = txn.as_mut().expect("a transaction for changes");
                // The artifact's files exist (checked above), so its type directory does.
                let rel = ty.storage_path(name)?;
                // The artifact's files exist (checked above), so its type directory does.
                match merge_plan {
                    // The merged files; the lock records the upstream content (the local
                    // changes on top of it show as local modifications, as they are).
                    Some(p) => super::threeway::stage(&self.store, t, &rel, p)?,
                    None => {
                        let staged = stage_content(t, &rel, f)?;
                        if &staged != upstream {
                            return Err(CollectionError::SourceChanged {
                                path: source_path(f),
                            });
                        }
                    }
                }
                // SkillMeat re-extracts the metadata on update; the tags stay as they are.
                if let Some(text) = front_matter_source(f) {
                    docs.manifest
                        .set_metadata(name, ty, &frontmatter::metadata(&text))?;
                }
                let mut a = docs.manifest.artifact_mut(name, ty)?;
                a.set_upstream(f.upstream.as_deref());
                a.set_version_spec(f.version_spec.as_deref());
                a.set_resolved_sha(f.resolved_sha.as_deref());
                a.set_resolved_version(f.resolved_version.as_deref());
                a.set_last_updated(Some(&now));
                a.set_string(FIELD_SOURCE, &f.skillwal_source)?;
                match &f.skillwal_path {
                    Some(p) => a.set_string(FIELD_PATH, p)?,
                    None => drop(a.remove_string(FIELD_PATH)?),
                }
                match &f.skillwal_ref {
                    Some(r) => a.set_string(FIELD_REF, r)?,
                    None => drop(a.remove_string(FIELD_REF)?),
                }
                let mut entry = LockEntry::new(name, ty, upstream, &now)?;
                entry.upstream = f.upstream.clone();
                entry.resolved_sha = f.resolved_sha.clone();
                entry.resolved_version = f.resolved_version.clone();
                docs.lock.set_entry(&entry)?;
            }
            outcomes.push(UpdateOutcome {
                name: name.to_string(),
                ty: ty.as_str().to_string(),
                action: *action,
                locally_modified: *modified,
                content_hash: upstream.clone(),
                resolved_sha: f.resolved_sha.clone(),
                conflicts: merge_plan
                    .as_ref()
                    .map(|p| p.conflicts.clone())
                    .unwrap_or_default(),
            });
        }
        let mut snapshot = None;
        if let (Some(mut t), Some(cap)) = (txn, cap) {
            docs.manifest.set_updated(&now);
            docs.stage(&mut t)?;
            let mut w = Writer::new(&self.store);
            snapshot = Some(stage_auto_snapshot(
                &mut w,
                &mut t,
                &cap,
                &format!("before update {}", names.join(", ")),
                self.snapshot_keep,
            )?);
            for (input, artifact, action, _, upstream, _) in &plans {
                if writes(*action) {
                    let (ty, name, f) = (input.ty, input.name.as_str(), &input.fetched);
                    stage_base(&self.store, &mut w, &mut t, ty, name, upstream, f)?;
                    let source = source_ref(artifact, f);
                    stage_source(&self.store, &mut w, &mut t, ty, name, &source)?;
                }
            }
            docs.commit(t)?;
            cap.save_stat_cache(&self.store, true);
        }
        Ok((outcomes, snapshot))
    }

    /// Keeps the newest `keep` automatic snapshots (at least 1) from now on.
    pub fn set_snapshot_retention(&mut self, keep: usize) {
        self.snapshot_keep = keep.max(1);
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records the whole collection (manifest, lock, every file; `.skillwal/` excluded) as
    /// a snapshot, in one transaction that writes only the objects the store lacks.
    pub fn snapshot(&mut self, message: &str) -> Result<SnapshotOutcome> {
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let mut t = writable(&mut self.engine, &self.dir)?.begin("snapshot")?;
        let mut w = Writer::new(&self.store);
        let s = refs::stage_snapshot(&mut w, &mut t, &cap, false, message, None)?;
        t.commit_durable()?;
        cap.save_stat_cache(&self.store, true);
        Ok(SnapshotOutcome::new(s, &cap))
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRef>> {
        Ok(refs::list_snapshots(&self.store)?)
    }

    /// The snapshot `id` and what a rollback to it would change now (nothing written).
    pub fn snapshot_changes(&self, id: u64) -> Result<(SnapshotRef, Vec<Action>)> {
        let snap = refs::get_snapshot(&self.store, id)?;
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let trees = Trees {
            store: &self.store,
            mem: Some(&cap.trees),
        };
        let to = snap.root_hash().expect("validated when read");
        let plan = restore::plan(&trees, &cap.root, &to)?;
        Ok((snap, plan))
    }

    /// Deletes the snapshot `id` (one transaction); its objects stay until [`Collection::gc`].
    pub fn delete_snapshot(&mut self, id: u64) -> Result<SnapshotRef> {
        let snap = refs::get_snapshot(&self.store, id)?;
        let mut t =
            writable(&mut self.engine, &self.dir)?.begin(&format!("delete snapshot {id}"))?;
        refs::stage_delete_snapshot(&self.store, &mut t, id)?;
        t.commit_durable()?;
        Ok(snap)
    }

    /// Restores the collection to the snapshot `id` in ONE transaction that writes only
    /// the files that differ, together with an automatic snapshot of the state before. A
    /// crash leaves the collection as it was or as the snapshot; a damaged object stops
    /// the rollback before anything changes.
    pub fn rollback(&mut self, id: u64) -> Result<RollbackOutcome> {
        let target = refs::get_snapshot(&self.store, id)?;
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let to = target.root_hash().expect("validated when read");
        let trees = Trees {
            store: &self.store,
            mem: Some(&cap.trees),
        };
        let changes = restore::plan(&trees, &cap.root, &to)?;
        if changes.is_empty() {
            cap.save_stat_cache(&self.store, false);
            return Ok(RollbackOutcome {
                target,
                before: None,
                changes,
            });
        }
        let mut t =
            writable(&mut self.engine, &self.dir)?.begin(&format!("rollback to snapshot {id}"))?;
        restore::stage(&self.store, &trees, &mut t, &changes)?;
        let mut w = Writer::new(&self.store);
        let before = stage_auto_snapshot(
            &mut w,
            &mut t,
            &cap,
            &format!("before rollback to {id}"),
            self.snapshot_keep,
        )?;
        t.commit_durable()?;
        cap.save_stat_cache(&self.store, true);
        self.docs = read_docs(self.fs.as_ref(), &self.dir)?;
        Ok(RollbackOutcome {
            target,
            before: Some(before),
            changes,
        })
    }

    /// What a rollback to the Python tool's snapshot `py` would change now (nothing
    /// written): its tarball is extracted into `tmp` as [`Collection::rollback_skillmeat`]
    /// does, then compared with the collection.
    pub fn skillmeat_snapshot_changes(
        &self,
        py: &self::py_snapshot::PySnapshot,
        tmp: &Path,
    ) -> Result<Vec<Action>> {
        let (then, _) = self.extract_skillmeat(py, tmp)?;
        let now = capture_now(&self.store, &self.dir, false)?;
        let mut trees = now.trees.clone();
        trees.extend(then.trees);
        let trees = Trees {
            store: &self.store,
            mem: Some(&trees),
        };
        Ok(restore::plan(&trees, &now.root, &then.root)?)
    }

    /// Extracts the Python tool's snapshot `py` into `tmp` (safely, within limits) and
    /// captures it.
    fn extract_skillmeat(
        &self,
        py: &self::py_snapshot::PySnapshot,
        tmp: &Path,
    ) -> Result<(Captured, self::py_snapshot::Extracted)> {
        use self::py_snapshot::{EXTRACT_BYTES_MAX, EXTRACT_ENTRIES_MAX, extract};
        let extracted = extract(
            &py.tarball_path,
            tmp,
            EXTRACT_BYTES_MAX,
            EXTRACT_ENTRIES_MAX,
        )?;
        if !tmp.join(MANIFEST_FILE_NAME).is_file() {
            return Err(CollectionError::NotACollectionSnapshot {
                tarball: py.tarball_path.clone(),
            });
        }
        Ok((capture_dir(&self.store, tmp, CacheUse::Off)?, extracted))
    }

    /// Restores the collection to the Python tool's snapshot `py`: extracts its tarball
    /// safely into a temporary directory (`tmp`), records that state as a skillwal
    /// snapshot (one transaction that changes nothing in the collection), then rolls back to
    /// it ([`Collection::rollback`], ONE transaction). The copy of `.skillwal/` inside the
    /// tarball is never restored.
    pub fn rollback_skillmeat(
        &mut self,
        py: &self::py_snapshot::PySnapshot,
        tmp: &Path,
    ) -> Result<(
        SnapshotOutcome,
        self::py_snapshot::Extracted,
        RollbackOutcome,
    )> {
        let (cap, extracted) = self.extract_skillmeat(py, tmp)?;
        let mut t = writable(&mut self.engine, &self.dir)?
            .begin(&format!("import SkillMeat snapshot {}", py.id))?;
        let mut w = Writer::new(&self.store);
        let message = format!("SkillMeat snapshot {}: {}", py.id, py.message);
        let s = refs::stage_snapshot(&mut w, &mut t, &cap, false, &message, None)?;
        t.commit_durable()?;
        let imported = SnapshotOutcome::new(s, &cap);
        let r = self.rollback(imported.snapshot.id)?;
        Ok((imported, extracted, r))
    }

    /// Deletes the bases no merge can need and then the store objects that no snapshot and
    /// no kept base reaches (store-spec.md §4.3, §7), in journaled batches. A base is needed
    /// when the current lock or the lock of a snapshot (which a rollback makes current again)
    /// records its key as an artifact's `content_hash`.
    ///
    /// Fails before deleting anything when a snapshot's lock cannot be read or parsed (the
    /// error names the snapshot) or the store cannot be read; see [`crate::store::gc::gc`].
    pub fn gc(&mut self) -> Result<GcReport> {
        let needed = self.needed_bases()?;
        let engine = writable(&mut self.engine, &self.dir)?;
        Ok(crate::store::gc::gc(&self.store, engine, &needed)?)
    }

    /// The bases named by the current lock and by every snapshot's lock, as
    /// `(type, name, content_hash)`. Each distinct lock of the snapshots is parsed once.
    fn needed_bases(&self) -> Result<HashSet<BaseId>> {
        let mut needed = HashSet::new();
        let mut note = |lock: &Lock| {
            for e in &lock.entries {
                let ty = e.artifact_type.as_str().to_string();
                needed.insert((ty, e.name.clone(), e.content_hash.clone()));
            }
        };
        note(&*self.lock()?);
        let mut parsed = HashSet::new();
        for snap in refs::list_snapshots(&self.store)? {
            let failed = |reason: String| CollectionError::SnapshotLock {
                id: snap.id,
                reason,
            };
            let object = snapshot_lock_object(&self.store, &snap).map_err(failed)?;
            if let Some((hash, size)) = object
                && parsed.insert(hash)
            {
                note(&read_snapshot_lock(&self.store, &snap, &hash, size).map_err(failed)?);
            }
        }
        Ok(needed)
    }

    /// What updating `name` to `fetched` would change in its files on disk, per file.
    pub fn diff(
        &self,
        name: &str,
        ty: ArtifactType,
        fetched: &Fetched,
    ) -> Result<Vec<super::threeway::FileDiff>> {
        let (rel, abs) = self.storage(name, ty)?;
        Ok(super::threeway::diff(
            &self.store,
            ty,
            name,
            &rel,
            &abs,
            fetched,
        )?)
    }

    /// The artifact `a`'s files against the lock entry `locked` and what was last fetched
    /// (its base, when kept): the state, why, and the shape on disk. An error is the reason
    /// it cannot be read.
    fn local_state(
        &self,
        a: &Artifact,
        locked: Option<&str>,
    ) -> Result<(FileState, Vec<String>, Option<Shape>), String> {
        let (name, ty) = (a.name.as_str(), a.artifact_type);
        let disk = self.disk_hash(name, ty).map_err(|e| e.to_string())?;
        let Some(disk) = disk else {
            return Ok((FileState::Missing, Vec::new(), None));
        };
        let Some(locked) = locked else {
            return Ok((FileState::Unlocked, Vec::new(), None));
        };
        let shape = self.disk_shape(name, ty).map_err(|e| e.to_string())?;
        let mut reasons = Vec::new();
        if disk != locked {
            reasons.push("the files' content differs from the lock".to_string());
        }
        if let Some(base) = self
            .base_shape(name, ty, locked)
            .map_err(|e| e.to_string())?
        {
            reasons.extend(
                base.differences(&shape)
                    .into_iter()
                    .map(|d| format!("{d} (as fetched / on disk)")),
            );
        }
        let (_, abs) = self.storage(name, ty).map_err(|e| e.to_string())?;
        for (rel, target, why) in
            outside_links(self.fs.as_ref(), &abs, &shape).map_err(|e| e.to_string())?
        {
            reasons.push(format!("{rel} is a symbolic link to {target}, {why}",));
        }
        let state = if reasons.is_empty() {
            FileState::Ok
        } else {
            FileState::Modified
        };
        Ok((state, reasons, Some(shape)))
    }

    /// Every artifact's files against the lock and what was last fetched (and, for local
    /// sources, the source).
    pub fn status(&self) -> Result<Vec<ArtifactStatus>> {
        let m = self.manifest()?;
        // Parsed once: a lookup per artifact through `lock_hash` would parse the whole lock
        // again each time (quadratic: minutes at 10,000 artifacts).
        let lock = self.lock()?;
        let mut out = Vec::new();
        for a in &m.artifacts {
            let locked = lock
                .entry(&a.name, a.artifact_type)
                .map(|e| e.content_hash.clone());
            let (state, reasons, shape) = match self.local_state(a, locked.as_deref()) {
                Ok(s) => s,
                Err(why) => (FileState::Unreadable, vec![why], None),
            };
            // A damaged source reference only means the update check is not made here.
            let source = self.source_of(a).ok().flatten();
            let update_available = match (source, &locked) {
                (Some(spec @ SourceSpec::Local(_)), Some(l)) => {
                    match super::source::fetch(&spec, a.artifact_type) {
                        Ok(f) => {
                            let up = Shape::of_fetched(&f);
                            let known = match self.base_shape(&a.name, a.artifact_type, l)? {
                                Some(b) => b.same(&up),
                                None => shape.as_ref().is_none_or(|s| s.same(&up)),
                            };
                            Some(&fetched_hash(&f)? != l || !known)
                        }
                        Err(_) => None,
                    }
                }
                _ => None,
            };
            out.push(ArtifactStatus {
                name: a.name.clone(),
                ty: a.artifact_type.as_str().to_string(),
                state,
                update_available,
                reasons,
            });
        }
        Ok(out)
    }

    /// Checks every artifact against the lock and what was last fetched, and looks for files
    /// no artifact owns.
    pub fn verify(&self) -> Result<VerifyReport> {
        let m = self.manifest()?;
        let l = self.lock()?;
        let mut r = VerifyReport {
            stale_state: self.stale.clone(),
            ..VerifyReport::default()
        };
        for a in &m.artifacts {
            let key = lock_key(&a.name, a.artifact_type);
            r.checked += 1;
            let locked = l
                .entry(&a.name, a.artifact_type)
                .map(|e| e.content_hash.as_str());
            match self.local_state(a, locked) {
                Err(why) => r.unreadable.push(format!("{key}: {why}")),
                Ok((FileState::Missing, ..)) => r.missing.push(key),
                Ok((FileState::Unlocked, ..)) => r.unlocked.push(key),
                Ok((FileState::Ok, ..)) => r.ok.push(key),
                Ok((_, reasons, _)) => {
                    r.reasons.insert(key.clone(), reasons);
                    r.modified.push(key);
                }
            }
        }
        for e in &l.entries {
            if m.artifact(&e.name, e.artifact_type).is_none() {
                r.stale_lock_entries
                    .push(lock_key(&e.name, e.artifact_type));
            }
        }
        for ty in ArtifactType::ALL {
            let dir = self.dir.join(ty.dir_name());
            let entries = match self.fs.read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("read directory", &dir)(e)),
            };
            for entry in entries {
                let file_name = entry.name.to_string_lossy().to_string();
                if file_name.starts_with('.') {
                    continue;
                }
                let owned = m.artifacts.iter().any(|a| {
                    a.artifact_type == ty
                        && ty.storage_path(&a.name).ok().as_deref()
                            == Some(&format!("{}/{file_name}", ty.dir_name()))
                });
                if !owned {
                    r.extra.push(format!("{}/{file_name}", ty.dir_name()));
                }
            }
        }
        Ok(r)
    }
}

/// The links of an artifact at `abs` (whose shape on disk is `shape`) that are not
/// contained (super::links): (path, target, why).
fn outside_links(
    fs: &dyn FileSystem,
    abs: &Path,
    shape: &Shape,
) -> std::io::Result<Vec<(String, String, &'static str)>> {
    let mut out = Vec::new();
    for (rel, target) in shape.links() {
        let at: Vec<&str> = rel.split('/').collect();
        if let Err(p) = super::links::check(fs, abs, &at, target)? {
            out.push((
                rel.to_string(),
                String::from_utf8_lossy(target).into_owned(),
                p.why(),
            ));
        }
    }
    Ok(out)
}

/// The file object of `collection.lock` in the snapshot `snap` (hash and size), `None`
/// when the snapshot has none (a collection without a lock, read as empty). Fails with the
/// reason when the root tree cannot be read or the entry is not a file.
fn snapshot_lock_object(
    store: &Store,
    snap: &SnapshotRef,
) -> Result<Option<(crate::journal::format::Hash, u64)>, String> {
    use crate::store::object::Node;
    let root = snap.root_hash().expect("validated when read");
    let tree = store.read_tree(&root).map_err(|e| e.to_string())?;
    match tree.entries.into_iter().find(|e| e.name == LOCK_FILE_NAME) {
        None => Ok(None),
        Some(e) => match e.node {
            Node::File { size, hash } => Ok(Some((hash, size))),
            _ => Err(format!("its {LOCK_FILE_NAME} is not a regular file")),
        },
    }
}

/// Reads (verified against its hash) and parses the lock file object `hash` of `size`
/// bytes of the snapshot `snap`; fails with the reason.
fn read_snapshot_lock(
    store: &Store,
    snap: &SnapshotRef,
    hash: &crate::journal::format::Hash,
    size: u64,
) -> Result<Lock, String> {
    if size > DOCUMENT_BYTES_MAX {
        return Err(format!("{size} bytes, larger than any lock"));
    }
    let mut reader = store.open_blob(hash, size).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(size as usize);
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading it: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_string())?;
    let name = format!("{LOCK_FILE_NAME} of snapshot {}", snap.id);
    Lock::parse(&text, &name).map_err(|e| e.to_string())
}

/// The engine of a collection opened for writing.
fn writable<'a>(engine: &'a mut Option<Engine>, dir: &Path) -> Result<&'a mut Engine> {
    engine.as_mut().ok_or_else(|| CollectionError::ReadOnly {
        dir: dir.to_path_buf(),
    })
}

fn source_path(f: &Fetched) -> PathBuf {
    match &f.kind {
        FetchedKind::File { path, .. } => path.clone(),
        FetchedKind::Dir { root, .. } => root.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::same_timestamp;

    #[test]
    fn timestamps_compare_as_instants() {
        // Python's isoformat() writes no fraction when it is zero; skillwal always writes six
        // digits.
        assert!(same_timestamp(
            "2026-11-25T21:23:48",
            "2026-11-25T21:23:48.000000"
        ));
        assert!(same_timestamp(
            "2026-11-25T21:23:48.000000",
            "2026-11-25T21:23:48"
        ));
        assert!(same_timestamp(
            "2026-11-25T21:23:48.120000",
            "2026-11-25T21:23:48.120000"
        ));
        assert!(!same_timestamp(
            "2026-11-25T21:23:48",
            "2026-11-25T21:23:48.000001"
        ));
        assert!(!same_timestamp(
            "2026-11-25T21:23:48.5",
            "2026-11-25T21:23:49.500000"
        ));
    }
}
