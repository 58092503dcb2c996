//! `update --strategy merge` and `diff NAME` for one artifact, on top of the pure
//! [`crate::merge`] module: the three versions are the base (the upstream content the
//! artifact was last fetched at, kept in the store), ours (the files on disk) and theirs (the
//! new upstream, fetched).
//!
//! Everything a user can see is merged: a file's content and its permission bits, a
//! symbolic link's target, a directory's permission bits (the artifact's own included).
//! A path's identity for the tree merge is its kind, mode and content together, so a change
//! of any of them on one side is taken from that side. Where both sides changed a file's
//! content the contents are merged and the mode is merged on its own (one side's change is
//! taken; two different changes keep ours and are reported); a link changed differently on
//! both sides keeps ours and is reported.
//!
//! Planning reads everything and writes nothing; [`stage`] then writes the result into the
//! update's transaction, so a merge is all or nothing like every other change.

use crate::Transaction;
use crate::engine::tree_hash::hash_file;
use crate::journal::format::Hash;
use crate::limits::MERGE_TEXT_BYTES_MAX;
use crate::merge::text::{Labels, merge};
use crate::merge::tree::{Decision, Side, plan};
use crate::merge::unified;
use crate::skillmeat::names::ArtifactType;
use crate::skillmeat::source::{Fetched, FetchedKind};
use crate::store::capture::walk;
use crate::store::object::Node;
use crate::store::refs::BaseRef;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where one version of a file is.
#[derive(Debug, Clone)]
enum Src {
    /// A file (on disk, or in the fetched source).
    Path(PathBuf),
    /// A file object in the store.
    Object,
    /// A symbolic link, whose content is its target.
    Link(Vec<u8>),
}

#[derive(Debug, Clone)]
struct FileRef {
    /// BLAKE3 of the file's bytes, or of a link's target.
    hash: Hash,
    size: u64,
    mode: u32,
    src: Src,
}

impl FileRef {
    fn link(target: Vec<u8>, mode: u32) -> FileRef {
        FileRef {
            hash: *blake3::hash(&target).as_bytes(),
            size: target.len() as u64,
            mode,
            src: Src::Link(target),
        }
    }

    fn is_link(&self) -> bool {
        matches!(self.src, Src::Link(_))
    }

    /// What the tree merge compares: kind, mode and content together.
    fn id(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(if self.is_link() { b"l" } else { b"f" });
        // A link's mode means nothing (and differs between systems).
        let mode = if self.is_link() { 0 } else { self.mode };
        h.update(&mode.to_le_bytes());
        h.update(&self.hash);
        *h.finalize().as_bytes()
    }
}

/// One version of an artifact: files and links by path relative to the artifact (a file
/// artifact is one path, its file name), its directories with their modes, and the mode of
/// its own directory (`None` when not known: a base recorded before skillwal kept it, or
/// a file artifact).
#[derive(Debug, Default)]
struct Version {
    files: BTreeMap<String, FileRef>,
    dirs: BTreeMap<String, u32>,
    root_mode: Option<u32>,
}

impl Version {
    fn ids(&self) -> BTreeMap<String, Hash> {
        self.files
            .iter()
            .map(|(k, f)| (k.clone(), f.id()))
            .collect()
    }
}

/// A conflict the merge left for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeConflict {
    /// Path relative to the collection.
    pub path: String,
    /// `content` (markers in the file), `binary` (ours kept, theirs beside it),
    /// `modify-delete`, `mode` (permission bits changed differently on both sides: ours
    /// kept) or `link` (a link changed differently on both sides: ours kept).
    pub kind: &'static str,
    pub detail: String,
}

/// The content of one file of the merge result.
#[derive(Debug, Clone)]
pub enum Output {
    /// A file on disk or in the fetched source, with the size and hash it was planned with.
    Copy {
        src: PathBuf,
        hash: Hash,
        size: u64,
        mode: u32,
    },
    Object {
        hash: Hash,
        size: u64,
        mode: u32,
    },
    Bytes {
        bytes: Vec<u8>,
        mode: u32,
    },
    Link {
        target: Vec<u8>,
    },
}

/// What a merge of one artifact writes.
#[derive(Debug)]
pub struct MergePlan {
    /// A file artifact: the one output file; a directory: every file and link, by relative
    /// path.
    pub files: BTreeMap<String, Output>,
    /// Every directory with its mode.
    pub dirs: BTreeMap<String, u32>,
    /// The artifact's own directory's mode (a skill).
    pub root_mode: u32,
    pub conflicts: Vec<MergeConflict>,
    pub is_dir: bool,
}

/// Why a merge cannot be planned. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ThreeWayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error(transparent)]
    Io(#[from] crate::error::IoError),
    #[error("{ty} {name} cannot be merged: {reason}")]
    Unmergeable {
        name: String,
        ty: ArtifactType,
        reason: String,
    },
}

impl ThreeWayError {
    /// Whether the failed operation may have changed anything: only an engine error can.
    pub fn effect(&self) -> crate::error::Effect {
        match self {
            ThreeWayError::Store(e) => e.effect(),
            ThreeWayError::Engine(e) => e.effect(),
            _ => crate::error::Effect::Unchanged,
        }
    }
}

pub type Result<T, E = ThreeWayError> = std::result::Result<T, E>;

/// A file artifact's file `name` (its own, or one written beside it) relative to the
/// collection: in the directory of `storage`.
fn beside_storage(storage: &str, name: &str) -> String {
    match storage.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ThreeWayError + '_ {
    move |source| ThreeWayError::Io(crate::error::IoError::new("read", path, source))
}

/// The files on disk of an artifact stored at `abs`.
fn ours(store: &Store, abs: &Path, ty: ArtifactType, name: &str) -> Result<Version> {
    let mut v = Version::default();
    let fs = store.fs_for(abs);
    if ty.is_directory() {
        v.root_mode = Some(fs.metadata(abs).map_err(io_error(abs))?.mode);
        let (items, skipped) = walk(store, abs, false)?;
        if let Some(s) = skipped.first() {
            return Err(ThreeWayError::Unmergeable {
                name: name.into(),
                ty,
                reason: format!("{s} on disk is a special file (a socket, FIFO or device)"),
            });
        }
        for it in items {
            match (it.file, it.link) {
                (Some(p), _) => {
                    let (size, hash) = hash_file(store.fs_for(&p), &p)?;
                    v.files.insert(
                        it.rel,
                        FileRef {
                            hash,
                            size,
                            mode: it.mode,
                            src: Src::Path(p),
                        },
                    );
                }
                (None, Some(target)) => {
                    v.files.insert(it.rel, FileRef::link(target, it.mode));
                }
                (None, None) => {
                    v.dirs.insert(it.rel, it.mode);
                }
            }
        }
    } else {
        let (size, hash) = hash_file(fs, abs)?;
        let mode = fs.metadata(abs).map_err(io_error(abs))?.mode;
        v.files.insert(
            file_key(abs),
            FileRef {
                hash,
                size,
                mode,
                src: Src::Path(abs.into()),
            },
        );
    }
    Ok(v)
}

fn file_key(abs: &Path) -> String {
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The fetched new upstream.
fn theirs(store: &Store, fetched: &Fetched, key: &str) -> Result<Version> {
    let mut v = Version::default();
    match &fetched.kind {
        FetchedKind::File { path, mode, .. } => {
            let (size, hash) = hash_file(store.fs_for(path), path)?;
            v.files.insert(
                key.to_string(),
                FileRef {
                    hash,
                    size,
                    mode: mode & 0o7777,
                    src: Src::Path(path.clone()),
                },
            );
        }
        FetchedKind::Dir { entries, mode, .. } => {
            v.root_mode = Some(*mode);
            for e in entries {
                if let Some(target) = &e.link {
                    v.files
                        .insert(e.rel.clone(), FileRef::link(target.clone(), e.mode));
                } else if e.is_dir {
                    v.dirs.insert(e.rel.clone(), e.mode & 0o7777);
                } else {
                    let (size, hash) = hash_file(store.fs_for(&e.abs), &e.abs)?;
                    v.files.insert(
                        e.rel.clone(),
                        FileRef {
                            hash,
                            size,
                            mode: e.mode & 0o7777,
                            src: Src::Path(e.abs.clone()),
                        },
                    );
                }
            }
        }
    }
    Ok(v)
}

/// The base from the store (trees read and verified).
fn base(store: &Store, b: &BaseRef, key: &str) -> Result<Version> {
    let mut v = Version::default();
    let hash = b.hash().expect("validated when read");
    if !b.is_tree() {
        v.files.insert(
            key.to_string(),
            FileRef {
                hash,
                size: b.size,
                mode: b.mode,
                src: Src::Object,
            },
        );
        return Ok(v);
    }
    v.root_mode = b.root_mode();
    let mut stack = vec![(String::new(), hash)];
    while let Some((prefix, h)) = stack.pop() {
        for e in store.read_tree(&h)?.entries {
            let rel = if prefix.is_empty() {
                e.name.clone()
            } else {
                format!("{prefix}/{}", e.name)
            };
            match e.node {
                Node::File { size, hash } => {
                    v.files.insert(
                        rel,
                        FileRef {
                            hash,
                            size,
                            mode: e.mode,
                            src: Src::Object,
                        },
                    );
                }
                Node::Link { size, hash } => {
                    let target = store.read_target(&hash, size)?;
                    v.files.insert(rel, FileRef::link(target, e.mode));
                }
                Node::Dir { hash } => {
                    v.dirs.insert(rel.clone(), e.mode);
                    stack.push((rel, hash));
                }
            }
        }
    }
    Ok(v)
}

/// The bytes of `f`, or `None` when it is larger than a text merge reads (a link's bytes
/// are its target).
fn read_small(store: &Store, f: &FileRef) -> Result<Option<Vec<u8>>> {
    if f.size > MERGE_TEXT_BYTES_MAX {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(f.size as usize);
    match &f.src {
        Src::Link(target) => out.extend_from_slice(target),
        Src::Path(p) => {
            let io = io_error(p);
            // Through the file system the path belongs to (the collection's, or the real
            // one for a source), reading at most one byte past the limit.
            let file = store
                .fs_for(p)
                .open(p, crate::fs::OpenMode::Read)
                .map_err(io)?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file
                    .read_at(&mut buf, out.len() as u64)
                    .map_err(io_error(p))?;
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                if out.len() as u64 > MERGE_TEXT_BYTES_MAX {
                    return Ok(None);
                }
            }
        }
        Src::Object => {
            let mut r = store.open_blob(&f.hash, f.size)?;
            r.read_to_end(&mut out)
                .map_err(io_error(&store.abs(&crate::store::object_rel(&f.hash))))?;
        }
    }
    Ok(Some(out))
}

fn output_of(f: &FileRef) -> Output {
    match &f.src {
        Src::Path(p) => Output::Copy {
            src: p.clone(),
            hash: f.hash,
            size: f.size,
            mode: f.mode,
        },
        Src::Object => Output::Object {
            hash: f.hash,
            size: f.size,
            mode: f.mode,
        },
        Src::Link(target) => Output::Link {
            target: target.clone(),
        },
    }
}

/// A three-way merge of one value: one side's change is taken; two different changes keep
/// ours and say so (`false`: a conflict). Without a base (`None`) there is no telling which
/// side changed: sides that differ keep ours, as a conflict.
fn merge3<T: PartialEq + Copy>(base: Option<T>, ours: T, theirs: T) -> (T, bool) {
    match base {
        _ if ours == theirs => (ours, true),
        Some(b) if ours == b => (theirs, true),
        Some(b) if theirs == b => (ours, true),
        // No base to tell which side changed, or both changed differently.
        _ => (ours, false),
    }
}

/// Plans the three-way merge of the artifact `name` (stored at `storage`, relative to the
/// collection, and `abs`) with base `b` and the fetched `fetched`. Reads, writes nothing.
pub fn plan_merge(
    store: &Store,
    ty: ArtifactType,
    name: &str,
    storage: &str,
    abs: &Path,
    b: &BaseRef,
    fetched: &Fetched,
) -> Result<MergePlan> {
    let key = file_key(abs);
    let o = ours(store, abs, ty, name)?;
    let t = theirs(store, fetched, &key)?;
    let bv = base(store, b, &key)?;
    let decisions = plan(&bv.ids(), &o.ids(), &t.ids());
    let mut files = BTreeMap::new();
    let mut conflicts = Vec::new();
    let shown = |rel: &str| {
        if ty.is_directory() {
            format!("{storage}/{rel}")
        } else {
            beside_storage(storage, rel)
        }
    };
    let base_label = format!("base (upstream as last fetched, {})", &b.hash[..12]);
    let theirs_label = format!(
        "upstream ({})",
        fetched.resolved_sha.as_deref().unwrap_or("new")
    );
    let labels = Labels {
        ours: "local (on disk)",
        base: &base_label,
        theirs: &theirs_label,
    };
    for (rel, d) in decisions {
        let (of, tf) = (o.files.get(&rel), t.files.get(&rel));
        match d {
            Decision::Unchanged | Decision::TakeOurs | Decision::Same => {
                if let Some(f) = of {
                    files.insert(rel, output_of(f));
                }
            }
            Decision::TakeTheirs => {
                files.insert(rel, output_of(tf.expect("theirs has it")));
            }
            Decision::Delete { .. } => {}
            Decision::ModifyDelete { deleted_by } => {
                let (kept, detail) = match deleted_by {
                    Side::Ours => (
                        tf.expect("theirs modified it"),
                        "deleted locally, changed upstream: the upstream version is restored",
                    ),
                    Side::Theirs => (
                        of.expect("ours modified it"),
                        "changed locally, deleted upstream: the local version is kept",
                    ),
                };
                files.insert(rel.clone(), output_of(kept));
                conflicts.push(MergeConflict {
                    path: shown(&rel),
                    kind: "modify-delete",
                    detail: detail.into(),
                });
            }
            Decision::MergeContent | Decision::AddAdd => {
                let of = of.expect("ours has it");
                let tf = tf.expect("theirs has it");
                let bf = match d {
                    Decision::MergeContent => bv.files.get(&rel),
                    _ => None,
                };
                merge_both(
                    store,
                    (&rel, &shown),
                    (bf, of, tf),
                    (&o, &t),
                    &labels,
                    &mut files,
                    &mut conflicts,
                )?;
            }
        }
    }
    if !ty.is_directory() && !files.contains_key(&key) {
        return Err(ThreeWayError::Unmergeable {
            name: name.into(),
            ty,
            reason: "the merge leaves no file".into(),
        });
    }
    let dirs = merge_dirs(&bv, &o, &t, &files, &shown, &mut conflicts);
    let (root_mode, agreed) = merge3(
        bv.root_mode,
        o.root_mode.unwrap_or(0o755),
        t.root_mode.unwrap_or(0o755),
    );
    if !agreed && ty.is_directory() {
        conflicts.push(MergeConflict {
            path: storage.to_string(),
            kind: "mode",
            detail: format!(
                "the directory's permission bits changed on both sides: the local {root_mode:o} is kept"
            ),
        });
    }
    Ok(MergePlan {
        files,
        dirs,
        root_mode,
        conflicts,
        is_dir: ty.is_directory(),
    })
}

/// The result for a path both sides changed (`bf` base's version, when there is one).
fn merge_both(
    store: &Store,
    (rel, shown_of): (&str, &dyn Fn(&str) -> String),
    (bf, of, tf): (Option<&FileRef>, &FileRef, &FileRef),
    (o, t): (&Version, &Version),
    labels: &Labels<'_>,
    files: &mut BTreeMap<String, Output>,
    conflicts: &mut Vec<MergeConflict>,
) -> Result<()> {
    let shown = shown_of(rel);
    if of.is_link() || tf.is_link() {
        // A link is never merged line by line: ours stays.
        files.insert(rel.to_string(), output_of(of));
        conflicts.push(MergeConflict {
            path: shown,
            kind: "link",
            detail: "a symbolic link changed on both sides (or a file became a link on one): the local version is kept".into(),
        });
        return Ok(());
    }
    let (mode, mode_agreed) = merge3(bf.map(|b| b.mode), of.mode, tf.mode);
    if !mode_agreed {
        conflicts.push(MergeConflict {
            path: shown.clone(),
            kind: "mode",
            detail: format!(
                "permission bits changed on both sides ({:o} locally, {:o} upstream): the local ones are kept",
                of.mode, tf.mode
            ),
        });
    }
    if of.hash == tf.hash {
        // Only the modes differed.
        let mut out = output_of(of);
        set_mode(&mut out, mode);
        files.insert(rel.to_string(), out);
        return Ok(());
    }
    let bytes_b = match bf {
        Some(bf) if !bf.is_link() => read_small(store, bf)?,
        Some(_) => None,
        None => Some(Vec::new()),
    };
    let bytes_o = read_small(store, of)?;
    let bytes_t = read_small(store, tf)?;
    let merged = match (bytes_b, bytes_o, bytes_t) {
        (Some(b), Some(o), Some(t)) => merge(&b, &o, &t, labels).ok(),
        _ => None,
    };
    match merged {
        Some(m) => {
            if !m.is_clean() {
                let lines: Vec<String> = m
                    .conflicts
                    .iter()
                    .map(|c| format!("{}-{}", c.output.start + 1, c.output.end))
                    .collect();
                conflicts.push(MergeConflict {
                    path: shown,
                    kind: "content",
                    detail: format!(
                        "{} conflicting region(s), marked at lines {}",
                        m.conflicts.len(),
                        lines.join(", ")
                    ),
                });
            }
            files.insert(
                rel.to_string(),
                Output::Bytes {
                    bytes: m.content,
                    mode,
                },
            );
        }
        None => {
            // Binary (or too large) and changed on both sides: keep ours, put theirs beside
            // it.
            let mut beside = format!("{rel}.theirs");
            let mut n = 1;
            while o.files.contains_key(&beside) || t.files.contains_key(&beside) {
                beside = format!("{rel}.theirs.{n}");
                n += 1;
            }
            files.insert(rel.to_string(), output_of(of));
            files.insert(beside.clone(), output_of(tf));
            conflicts.push(MergeConflict {
                path: shown,
                kind: "binary",
                detail: format!(
                    "binary or too large, changed on both sides: the local version is kept, the upstream one is at {}",
                    shown_of(&beside)
                ),
            });
        }
    }
    Ok(())
}

fn set_mode(o: &mut Output, mode: u32) {
    match o {
        Output::Copy { mode: m, .. }
        | Output::Object { mode: m, .. }
        | Output::Bytes { mode: m, .. } => *m = mode,
        Output::Link { .. } => {}
    }
}

/// The result's directories with their modes: every parent of a file, and the empty
/// directories both sides still have; each directory's mode merged three-way (a directory
/// one side does not have takes the other's mode).
fn merge_dirs(
    bv: &Version,
    o: &Version,
    t: &Version,
    files: &BTreeMap<String, Output>,
    shown: &dyn Fn(&str) -> String,
    conflicts: &mut Vec<MergeConflict>,
) -> BTreeMap<String, u32> {
    let mut names: BTreeSet<String> = o
        .dirs
        .keys()
        .filter(|d| t.dirs.contains_key(*d))
        .cloned()
        .collect();
    for rel in files.keys() {
        let mut p = rel.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            names.insert(parent.to_string());
            p = parent;
        }
    }
    names
        .into_iter()
        .map(|d| {
            let mode = match (o.dirs.get(&d), t.dirs.get(&d)) {
                (Some(om), Some(tm)) => {
                    let (m, agreed) = merge3(bv.dirs.get(&d).copied(), *om, *tm);
                    if !agreed {
                        conflicts.push(MergeConflict {
                            path: shown(&d),
                            kind: "mode",
                            detail: format!(
                                "the directory's permission bits changed on both sides: the local {m:o} is kept"
                            ),
                        });
                    }
                    m
                }
                (Some(m), None) | (None, Some(m)) => *m,
                (None, None) => 0o755,
            };
            (d, mode)
        })
        .collect()
}

/// Stages the merge result at `storage` (a put-tree for a skill, a put-file otherwise).
pub fn stage(
    store: &Store,
    t: &mut Transaction<'_>,
    storage: &str,
    plan: &MergePlan,
) -> Result<()> {
    let open = |o: &Output| -> Result<(Box<dyn Read>, u32)> {
        Ok(match o {
            // Verified as it streams: a file that changed since the merge was planned fails
            // the staging ("changed while it was being recorded"), and nothing changes.
            Output::Copy {
                src,
                hash,
                size,
                mode,
            } => {
                let f = store
                    .fs_for(src)
                    .open(src, crate::fs::OpenMode::Read)
                    .map_err(io_error(src))?;
                (
                    Box::new(crate::store::reader::VerifyingReader::new(
                        f,
                        src.clone(),
                        *hash,
                        *size,
                        false,
                    )),
                    *mode,
                )
            }
            Output::Object { hash, size, mode } => (Box::new(store.open_blob(hash, *size)?), *mode),
            Output::Bytes { bytes, mode } => (Box::new(std::io::Cursor::new(bytes.clone())), *mode),
            Output::Link { .. } => unreachable!("links are staged as links"),
        })
    };
    if !plan.is_dir {
        // The artifact's file, and a `<file>.theirs` beside it after a binary conflict.
        let dir = storage.rsplit_once('/').map_or("", |(d, _)| d);
        for (key, out) in &plan.files {
            let path = format!("{dir}/{key}");
            match out {
                Output::Link { target } => t.put_link(&path, target)?,
                _ => {
                    let (mut r, mode) = open(out)?;
                    t.put_file(&path, &mut r, mode)?;
                }
            }
        }
        return Ok(());
    }
    // Parents before children: component-wise order.
    let mut entries: Vec<(&str, Option<&Output>)> = plan
        .dirs
        .keys()
        .map(|d| (d.as_str(), None))
        .chain(plan.files.iter().map(|(k, o)| (k.as_str(), Some(o))))
        .collect();
    entries.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    let mut tree = t.put_tree(storage, plan.root_mode)?;
    for (rel, out) in entries {
        match out {
            None => tree.dir(rel, plan.dirs[rel])?,
            Some(Output::Link { target }) => tree.link(rel, target)?,
            Some(o) => {
                let (mut r, mode) = open(o)?;
                tree.file(rel, &mut r, mode)?;
            }
        }
    }
    tree.finish()?;
    Ok(())
}

/// One path of `diff NAME`.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    /// Path relative to the collection.
    pub path: String,
    /// What `update` would do to it on disk: `added`, `deleted`, `modified` (content, kind
    /// or link target) or `mode` (only the permission bits).
    pub change: &'static str,
    /// The permission bits before and after, octal, when they differ (`None` for a path
    /// added or deleted, or whose bits stay).
    pub mode: Option<(String, String)>,
    /// The unified diff (lossy UTF-8), or `None` for a binary or too large file. For a
    /// link, a line saying where it points before and after.
    pub diff: Option<String>,
    pub added_lines: usize,
    pub removed_lines: usize,
}

/// What updating the artifact to `fetched` would change on disk, per path: files, links,
/// and directories whose permission bits change.
pub fn diff(
    store: &Store,
    ty: ArtifactType,
    name: &str,
    storage: &str,
    abs: &Path,
    fetched: &Fetched,
) -> Result<Vec<FileDiff>> {
    let key = file_key(abs);
    let present = store.fs_for(abs).exists(abs).map_err(io_error(abs))?;
    let o = if present {
        ours(store, abs, ty, name)?
    } else {
        Version::default()
    };
    let t = theirs(store, fetched, &key)?;
    let shown = |rel: &str| {
        if ty.is_directory() {
            format!("{storage}/{rel}")
        } else {
            beside_storage(storage, rel)
        }
    };
    let octal = |m: u32| format!("{m:o}");
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (o.root_mode, t.root_mode)
        && a != b
    {
        out.push(mode_only(storage.to_string(), octal(a), octal(b)));
    }
    let mut dirs: BTreeSet<&String> = o.dirs.keys().collect();
    dirs.extend(t.dirs.keys());
    for rel in dirs {
        if let (Some(a), Some(b)) = (o.dirs.get(rel), t.dirs.get(rel))
            && a != b
        {
            out.push(mode_only(shown(rel), octal(*a), octal(*b)));
        }
    }
    let mut paths: BTreeSet<&String> = o.files.keys().collect();
    paths.extend(t.files.keys());
    for rel in paths {
        let (of, tf) = (o.files.get(rel), t.files.get(rel));
        if let (Some(a), Some(b)) = (of, tf)
            && a.id() == b.id()
        {
            continue;
        }
        let change = match (of, tf) {
            (None, _) => "added",
            (_, None) => "deleted",
            (Some(a), Some(b)) if a.hash == b.hash && a.is_link() == b.is_link() => "mode",
            _ => "modified",
        };
        let mode = match (of, tf) {
            (Some(a), Some(b)) if a.mode != b.mode && !a.is_link() && !b.is_link() => {
                Some((octal(a.mode), octal(b.mode)))
            }
            _ => None,
        };
        if change == "mode" {
            let (a, b) = mode.clone().expect("a mode-only change");
            out.push(mode_only(shown(rel), a, b));
            continue;
        }
        let describe_link = |f: Option<&FileRef>| match f.map(|f| &f.src) {
            Some(Src::Link(t)) => Some(format!("-> {}", String::from_utf8_lossy(t))),
            _ => None,
        };
        if of.is_some_and(FileRef::is_link) || tf.is_some_and(FileRef::is_link) {
            let was = describe_link(of).unwrap_or_else(|| "(a file or nothing)".into());
            let now = describe_link(tf).unwrap_or_else(|| "(a file or nothing)".into());
            out.push(FileDiff {
                path: shown(rel),
                change,
                mode,
                diff: Some(format!("link {}: {was} becomes {now}\n", shown(rel))),
                added_lines: 0,
                removed_lines: 0,
            });
            continue;
        }
        let old = of.map(|f| read_small(store, f)).transpose()?;
        let new = tf.map(|f| read_small(store, f)).transpose()?;
        let rendered = match (&old, &new) {
            (Some(None), _) | (_, Some(None)) => None,
            _ => unified::diff(
                &shown(rel),
                old.as_ref().and_then(|o| o.as_deref()),
                new.as_ref().and_then(|n| n.as_deref()),
            )
            .ok(),
        };
        out.push(FileDiff {
            path: shown(rel),
            change,
            mode,
            added_lines: rendered.as_ref().map_or(0, |d| d.added),
            removed_lines: rendered.as_ref().map_or(0, |d| d.removed),
            diff: rendered.map(|d| String::from_utf8_lossy(&d.text).into_owned()),
        });
    }
    Ok(out)
}

fn mode_only(path: String, from: String, to: String) -> FileDiff {
    FileDiff {
        path,
        change: "mode",
        mode: Some((from, to)),
        diff: None,
        added_lines: 0,
        removed_lines: 0,
    }
}
