//! A SkillMeat collection managed through the engine: every change — artifact files,
//! `collection.toml` and `collection.lock` together — is one transaction, so a crash leaves
//! the collection exactly before or after it. Reading uses std; writing only the engine.
//!
//! Opening a collection opens its engine, which recovers an interrupted transaction first.

//!
//! One file per group of operations: [`documents`](self) (reading and staging the manifest
//! and lock), `add_remove`, `update`, `snapshots` (snapshot, rollback, gc), `queries`
//! (find, status, diff, verify); `content` stages fetched files and hashes them as SkillMeat
//! does; `sources` records where an artifact came from. `shape`, `threeway`, `state` and
//! `py_snapshot` are the pieces the operations stand on.

pub mod py_snapshot;
pub mod shape;
pub mod state;
pub mod threeway;

mod add_remove;
mod content;
pub mod deploy;
mod doc_index;
mod documents;
mod error;
mod history;
mod pull;
mod push;
mod queries;
mod snapshots;
mod sources;
mod transfer;
mod update;

pub use content::fetched_hash;
pub use deploy::{
    Changed, DeployAction, DeployOutcome, DeployRequest, Deployed, DeploymentStatus, DriftState,
    FileChange, ProjectDeployments,
};
pub use documents::DOCUMENT_BYTES_MAX;
pub use error::{CollectionError, Result};
pub use history::{
    Recorded, RecordedFile, ShownRecord, UndoOutcome, UndoRoot, UndoTarget, UndoneElsewhere,
    undo_linked,
};
pub use pull::PullOutcome;
pub use push::{Pushed, UpdatedDeploying};
pub use queries::{ArtifactStatus, FileState, VerifyReport};
pub use snapshots::{RollbackOutcome, SnapshotOutcome, parse_snapshot_id};
pub use transfer::{Transfer, TransferOutcome};
pub use update::{Answer, Strategy, UpdateAction, UpdateInput, UpdateOutcome, UpdatedAcross};

use crate::store::log::LogLink;
use content::*;
use documents::*;
use error::io;
use history::stage_log;
pub(crate) use history::{RootLog, UndoPart};
use snapshots::*;
use sources::*;

use self::shape::Shape;
use super::frontmatter;
use super::hash::content_hash_in;
use super::names::{ArtifactType, lock_key, validate_artifact_name};
use super::source::{Fetched, FetchedKind, SourceError, SourceSpec};
use super::{
    Artifact, LOCK_FILE_NAME, Lock, LockEditor, LockEntry, MANIFEST_FILE_NAME, Manifest,
    ManifestEditor, Origin, diff_locks, diff_manifests, now_timestamp,
};
use crate::engine::recovery::RecoveryReport;
use crate::error::IoError;
use crate::fs::{FileKind, FileSystem, FsPath};
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
/// The repository path inside a git source (skillwal's field; see [`FIELD_SOURCE`]).
pub const FIELD_PATH: &str = "skillwal_path";
/// The reference asked for of a git source (skillwal's field; see [`FIELD_SOURCE`]).
pub const FIELD_REF: &str = "skillwal_ref";

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
    /// A stale copy of skillwal's state found inside the collection (ignored; reported).
    stale: Option<super::state::Stale>,
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
        let location = Collection::locate_for_open(&fs, dir, opts)?;
        let engine = Engine::open_layout(fs.clone(), &location.layout, opts)?;
        Collection::with_engine(fs, dir, location, engine)
    }

    /// Where the state of the collection at `dir` is, moved beside the collection first if
    /// an older skillwal kept it inside. Fails when `dir` is not a collection.
    fn locate_for_open(
        fs: &Arc<dyn FileSystem>,
        dir: &Path,
        opts: &OpenOptions,
    ) -> Result<super::state::Location> {
        let location = super::state::locate(fs, dir)?;
        if !exists(fs.as_ref(), &dir.join(MANIFEST_FILE_NAME))?
            && !exists(fs.as_ref(), &location.layout.journal)?
        {
            return Err(CollectionError::NotACollection {
                dir: dir.to_path_buf(),
            });
        }
        if !location.legacy {
            return Ok(location);
        }
        super::state::migrate(fs.as_ref(), dir, opts.no_wait)?;
        Ok(super::state::locate(fs, dir)?)
    }

    /// The collection at `dir` around its opened (and recovered) engine: checkpointed, its
    /// documents read.
    fn with_engine(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        location: super::state::Location,
        mut engine: Engine,
    ) -> Result<(Collection, RecoveryReport)> {
        let store = Store::new(fs.clone(), &location.layout);
        engine.checkpoint()?;
        let report = engine.recovery_report().clone();
        let index_file = IndexFile {
            fs: fs.clone(),
            meta: location.layout.meta.clone(),
            writable: true,
        };
        let docs = read_docs(fs.as_ref(), dir, Some(index_file))?;
        Ok((
            Collection {
                engine: Some(engine),
                fs,
                dir: dir.to_path_buf(),
                docs,
                store,
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
        crate::fs::create_dir_all_durably(fs.as_ref(), dir)?;
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
            t.record_diff(MANIFEST_FILE_NAME, &diff_manifests(None, Some(&manifest)))?;
            t.record_diff(LOCK_FILE_NAME, &diff_locks(None, Some(&lock)))?;
            t.commit_durable()?;
        }
        Ok(Collection {
            engine: Some(engine),
            fs,
            dir: dir.to_path_buf(),
            docs: Documents::created(manifest, lock, (0o644, 0o644)),
            store,
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
        let index_file = IndexFile {
            fs: fs.clone(),
            meta: location.layout.meta.clone(),
            writable: false,
        };
        Ok(Collection {
            engine: None,
            dir: dir.to_path_buf(),
            docs: read_docs(fs.as_ref(), dir, Some(index_file))?,
            store: Store::new(fs.clone(), &location.layout),
            fs,
            stale: location.stale,
        })
    }

    /// A stale copy of skillwal's state found inside the collection, if any (see
    /// [`super::state`]): skillwal ignores it; callers report it.
    pub fn stale_state(&self) -> Option<&super::state::Stale> {
        self.stale.as_ref()
    }

    /// The collection's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The typed view of the manifest as read at open or written by the last change (see
    /// [`ManifestEditor::manifest`]: kept from the parse, not read again).
    pub fn manifest(&self) -> Result<Cow<'_, Manifest>> {
        Ok(self.docs.manifest()?.manifest()?)
    }

    /// The typed view of the lock; see [`Collection::manifest`].
    pub fn lock(&self) -> Result<Cow<'_, Lock>> {
        Ok(self.docs.lock()?.lock()?)
    }

    /// Releases the collection after a final checkpoint.
    pub fn close(self) -> Result<()> {
        match self.engine {
            Some(e) => Ok(e.close()?),
            None => Ok(()),
        }
    }
}
