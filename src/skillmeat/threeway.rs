//! `update --strategy merge` and `diff NAME` for one artifact, on top of the pure
//! [`crate::merge`] module: the three versions are the base (the upstream content the
//! artifact was last fetched at, kept in the store), ours (the files on disk) and theirs (the
//! new upstream, fetched).
//!
//! Planning reads everything and writes nothing; [`stage`] then writes the result into the
//! update's transaction, so a merge is all or nothing like every other change.

use super::names::ArtifactType;
use super::source::{Fetched, FetchedKind};
use crate::Transaction;
use crate::hashing::hash_file;
use crate::journal::format::Hash;
use crate::limits::MERGE_TEXT_BYTES_MAX;
use crate::merge::text::{Labels, merge};
use crate::merge::tree::{Decision, Side, plan};
use crate::merge::unified;
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
}

#[derive(Debug, Clone)]
struct FileRef {
    hash: Hash,
    size: u64,
    mode: u32,
    src: Src,
}

/// One version of an artifact: files by path relative to the artifact (a file artifact is
/// one path, its file name), and its directories.
#[derive(Debug, Default)]
struct Version {
    files: BTreeMap<String, FileRef>,
    dirs: BTreeSet<String>,
}

impl Version {
    fn ids(&self) -> BTreeMap<String, Hash> {
        self.files
            .iter()
            .map(|(k, f)| (k.clone(), f.hash))
            .collect()
    }
}

/// A conflict the merge left for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeConflict {
    /// Path relative to the collection.
    pub path: String,
    /// `content` (markers in the file), `binary` (ours kept, theirs beside it) or
    /// `modify-delete`.
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
}

/// What a merge of one artifact writes.
#[derive(Debug)]
pub struct MergePlan {
    /// A file artifact: the one output file; a directory: every file, by relative path.
    pub files: BTreeMap<String, Output>,
    pub dirs: BTreeSet<String>,
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
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{ty} {name} cannot be merged: {reason}; nothing was changed; choose --strategy upstream or local"
    )]
    Unmergeable {
        name: String,
        ty: ArtifactType,
        reason: String,
    },
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

/// The files on disk of an artifact stored at `abs`.
fn ours(store: &Store, abs: &Path, ty: ArtifactType, name: &str) -> Result<Version> {
    let mut v = Version::default();
    if ty.is_directory() {
        let (items, skipped) = walk(store, abs, false)?;
        if let Some(s) = skipped.first() {
            return Err(ThreeWayError::Unmergeable {
                name: name.into(),
                ty,
                reason: format!("{s} on disk is a symbolic link or special file"),
            });
        }
        for it in items {
            match it.file {
                Some(p) => {
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
                None => {
                    v.dirs.insert(it.rel);
                }
            }
        }
    } else {
        let (size, hash) = hash_file(store.fs_for(abs), abs)?;
        let mode = store
            .fs()
            .metadata(abs)
            .map_err(|source| ThreeWayError::Io {
                path: abs.into(),
                source,
            })?
            .mode;
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
        FetchedKind::Dir { entries, .. } => {
            for e in entries {
                if e.is_dir {
                    v.dirs.insert(e.rel.clone());
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
                Node::Dir { hash } => {
                    v.dirs.insert(rel.clone());
                    stack.push((rel, hash));
                }
            }
        }
    }
    Ok(v)
}

/// The bytes of `f`, or `None` when it is larger than a text merge reads.
fn read_small(store: &Store, f: &FileRef) -> Result<Option<Vec<u8>>> {
    if f.size > MERGE_TEXT_BYTES_MAX {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(f.size as usize);
    match &f.src {
        Src::Path(p) => {
            let io = |source| ThreeWayError::Io {
                path: p.clone(),
                source,
            };
            // Through the file system the path belongs to (the collection's, or the real
            // one for a source), reading at most one byte past the limit.
            let file = store
                .fs_for(p)
                .open(p, crate::fs::OpenMode::Read)
                .map_err(io)?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file.read_at(&mut buf, out.len() as u64).map_err(io)?;
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
                .map_err(|source| ThreeWayError::Io {
                    path: store.abs(&crate::store::object_rel(&f.hash)),
                    source,
                })?;
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
                let bytes_b = match (d, bv.files.get(&rel)) {
                    (Decision::MergeContent, Some(bf)) => read_small(store, bf)?,
                    _ => Some(Vec::new()),
                };
                let bytes_o = read_small(store, of)?;
                let bytes_t = read_small(store, tf)?;
                let merged = match (bytes_b, bytes_o, bytes_t) {
                    (Some(b), Some(o), Some(t)) => merge(&b, &o, &t, &labels).ok(),
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
                                path: shown(&rel),
                                kind: "content",
                                detail: format!(
                                    "{} conflicting region(s), marked at lines {}",
                                    m.conflicts.len(),
                                    lines.join(", ")
                                ),
                            });
                        }
                        files.insert(
                            rel,
                            Output::Bytes {
                                bytes: m.content,
                                mode: of.mode,
                            },
                        );
                    }
                    None => {
                        // Binary (or too large) and changed on both sides: keep ours, put
                        // theirs beside it.
                        let mut beside = format!("{rel}.theirs");
                        let mut n = 1;
                        while o.files.contains_key(&beside) || t.files.contains_key(&beside) {
                            beside = format!("{rel}.theirs.{n}");
                            n += 1;
                        }
                        files.insert(rel.clone(), output_of(of));
                        files.insert(beside.clone(), output_of(tf));
                        conflicts.push(MergeConflict {
                            path: shown(&rel),
                            kind: "binary",
                            detail: format!(
                                "binary or too large, changed on both sides: the local version is kept, the upstream one is at {}",
                                shown(&beside)
                            ),
                        });
                    }
                }
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
    // Directories: every parent of a file, and empty directories both sides still have.
    let mut dirs: BTreeSet<String> = o.dirs.intersection(&t.dirs).cloned().collect();
    for rel in files.keys() {
        let mut p = rel.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent.to_string());
            p = parent;
        }
    }
    Ok(MergePlan {
        files,
        dirs,
        conflicts,
        is_dir: ty.is_directory(),
    })
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
                    .map_err(|source| ThreeWayError::Io {
                        path: src.clone(),
                        source,
                    })?;
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
        })
    };
    if !plan.is_dir {
        // The artifact's file, and a `<file>.theirs` beside it after a binary conflict.
        let dir = storage.rsplit_once('/').map_or("", |(d, _)| d);
        for (key, out) in &plan.files {
            let (mut r, mode) = open(out)?;
            t.put_file(&format!("{dir}/{key}"), &mut r, mode)?;
        }
        return Ok(());
    }
    // Parents before children: component-wise order.
    let mut entries: Vec<(&str, Option<&Output>)> = plan
        .dirs
        .iter()
        .map(|d| (d.as_str(), None))
        .chain(plan.files.iter().map(|(k, o)| (k.as_str(), Some(o))))
        .collect();
    entries.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    let mut tree = t.put_tree(storage)?;
    for (rel, out) in entries {
        match out {
            None => tree.dir(rel, 0o755)?,
            Some(o) => {
                let (mut r, mode) = open(o)?;
                tree.file(rel, &mut r, mode)?;
            }
        }
    }
    tree.finish()?;
    Ok(())
}

/// One file of `diff NAME`.
#[derive(Debug, Clone, Serialize)]
pub struct FileDiff {
    /// Path relative to the collection.
    pub path: String,
    /// `added`, `deleted` or `modified` (what `update` would do to the file on disk).
    pub change: &'static str,
    /// The unified diff (lossy UTF-8), or `None` for a binary or too large file.
    pub diff: Option<String>,
    pub added_lines: usize,
    pub removed_lines: usize,
}

/// What updating the artifact to `fetched` would change in its files on disk, per file.
pub fn diff(
    store: &Store,
    ty: ArtifactType,
    name: &str,
    storage: &str,
    abs: &Path,
    fetched: &Fetched,
) -> Result<Vec<FileDiff>> {
    let key = file_key(abs);
    let present = store
        .fs_for(abs)
        .exists(abs)
        .map_err(|source| ThreeWayError::Io {
            path: abs.to_path_buf(),
            source,
        })?;
    let o = if present {
        ours(store, abs, ty, name)?
    } else {
        Version::default()
    };
    let t = theirs(store, fetched, &key)?;
    let mut paths: BTreeSet<&String> = o.files.keys().collect();
    paths.extend(t.files.keys());
    let mut out = Vec::new();
    for rel in paths {
        let (of, tf) = (o.files.get(rel), t.files.get(rel));
        if let (Some(a), Some(b)) = (of, tf)
            && a.hash == b.hash
        {
            continue;
        }
        let shown = if ty.is_directory() {
            format!("{storage}/{rel}")
        } else {
            beside_storage(storage, rel)
        };
        let old = of.map(|f| read_small(store, f)).transpose()?;
        let new = tf.map(|f| read_small(store, f)).transpose()?;
        let change = match (of, tf) {
            (None, _) => "added",
            (_, None) => "deleted",
            _ => "modified",
        };
        let rendered = match (&old, &new) {
            (Some(None), _) | (_, Some(None)) => None,
            _ => unified::diff(
                &shown,
                old.as_ref().and_then(|o| o.as_deref()),
                new.as_ref().and_then(|n| n.as_deref()),
            )
            .ok(),
        };
        out.push(FileDiff {
            path: shown,
            change,
            added_lines: rendered.as_ref().map_or(0, |d| d.added),
            removed_lines: rendered.as_ref().map_or(0, |d| d.removed),
            diff: rendered.map(|d| String::from_utf8_lossy(&d.text).into_owned()),
        });
    }
    Ok(out)
}
