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

mod diff;
mod merge;
mod stage;
mod versions;

pub use diff::{FileDiff, diff};
pub use stage::stage;

use merge::*;
use versions::*;

use crate::Transaction;
use crate::engine::tree_hash::hash_file;
use crate::fs::FsPath;
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
use std::path::Path;

/// A conflict the merge left for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeConflict {
    /// Path relative to the collection.
    pub path: String,
    /// `content` (markers in the file), `binary` (ours kept, theirs beside it),
    /// `modify-delete`, `mode` (permission bits changed differently on both sides: ours
    /// kept) or `link` (a link changed differently on both sides: ours kept).
    pub kind: &'static str,
    /// What the conflict is, in words.
    pub detail: String,
}

/// The content of one file of the merge result.
#[derive(Debug, Clone)]
pub enum Output {
    /// A file on disk or in the fetched source, with the size and hash it was planned with.
    Copy {
        /// Where it is read (through the file system it is on).
        src: FsPath,
        /// The BLAKE3 hash its bytes had when the merge was planned.
        hash: Hash,
        /// Its size then, in bytes.
        size: u64,
        /// The permission bits to give the result.
        mode: u32,
    },
    /// A file object in the store (the base's version).
    Object {
        /// The object's hash.
        hash: Hash,
        /// Its size in bytes.
        size: u64,
        /// The permission bits to give the result.
        mode: u32,
    },
    /// Bytes the merge produced (a text merge, with or without conflict markers).
    Bytes {
        /// The bytes.
        bytes: Vec<u8>,
        /// The permission bits to give the result.
        mode: u32,
    },
    /// A symbolic link.
    Link {
        /// Its target.
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
    /// What the merge could not reconcile (marked in the files, or reported).
    pub conflicts: Vec<MergeConflict>,
    /// Whether the artifact is a directory (a skill).
    pub is_dir: bool,
}

/// Why a merge cannot be planned. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThreeWayError {
    /// The store (the base) could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] crate::Error),
    /// A file could not be read.
    #[error(transparent)]
    Io(#[from] crate::error::IoError),
    /// The artifact cannot be merged as it is (a special file, a path that is a file on one
    /// side and a directory on the other, ...).
    #[error("{ty} {name} cannot be merged: {reason}")]
    Unmergeable {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// Why not.
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

/// The result of planning a merge.
pub type Result<T, E = ThreeWayError> = std::result::Result<T, E>;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ThreeWayError + '_ {
    move |source| ThreeWayError::Io(crate::error::IoError::new("read", path, source))
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
    let t = theirs(fetched, &key)?;
    let bv = base(store, b, &key)?;
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
    let files = merge_files(store, (&bv, &o, &t), &shown, &labels, &mut conflicts)?;
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

/// Every file and link of the merge, by relative path, from the tree merge's decisions;
/// what both sides changed is merged ([`merge_both`]). Conflicts are added to `conflicts`.
fn merge_files(
    store: &Store,
    (bv, o, t): (&Version, &Version, &Version),
    shown: &dyn Fn(&str) -> String,
    labels: &Labels<'_>,
    conflicts: &mut Vec<MergeConflict>,
) -> Result<BTreeMap<String, Output>> {
    let mut files = BTreeMap::new();
    for (rel, d) in plan(&bv.ids(), &o.ids(), &t.ids()) {
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
                let (kept, conflict) = modify_delete(deleted_by, of, tf, shown(&rel));
                files.insert(rel, output_of(kept));
                conflicts.push(conflict);
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
                    (&rel, shown),
                    (bf, of, tf),
                    (o, t),
                    labels,
                    &mut files,
                    conflicts,
                )?;
            }
        }
    }
    Ok(files)
}

/// A path changed on one side and deleted on the other: the changed version is kept, and
/// that is reported.
fn modify_delete<'a>(
    deleted_by: Side,
    of: Option<&'a FileRef>,
    tf: Option<&'a FileRef>,
    shown: String,
) -> (&'a FileRef, MergeConflict) {
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
    let conflict = MergeConflict {
        path: shown,
        kind: "modify-delete",
        detail: detail.into(),
    };
    (kept, conflict)
}
