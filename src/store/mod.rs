//! The content-addressed store in `.skillwal/store/` (store-spec.md is the byte-level
//! description): file contents and directory listings kept once each by BLAKE3 hash,
//! snapshots of a whole root, and bases (a named tree or file kept for a later three-way
//! merge).
//!
//! Every write into the store is an operation of a transaction of the engine — the same
//! transaction as the change that needs it — so the store is exactly as crash-safe as the
//! rest of the root: an object exists complete or not at all, and a snapshot reference never
//! exists without its objects. Reading verifies every object against its hash; a damaged
//! object is reported by path and hash and never used.
//!
//! The store knows nothing of SkillMeat: it captures and restores directory trees.

pub mod capture;
pub mod gc;
pub mod log;
pub(crate) mod object;
pub(crate) mod reader;
pub mod refs;
pub mod restore;
pub(crate) mod stat_cache;

use crate::Transaction;
use crate::engine::Layout;
use crate::engine::path::{META_DIR, STORE_DIR};
use crate::fs::{FileKind, FileSystem, FsPath, OpenMode};
use crate::journal::format::Hash;
use crate::progress::{Progress, Stage};
use object::{TREE_OBJECT_BYTES_MAX, Tree, TreeObject, hex};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Permission bits of object and reference files (they are never written in place).
pub(crate) const OBJECT_MODE: u32 = 0o444;

/// What went wrong in the store. Every variant names the path (and the hash, for objects).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine failed: opening the root, staging or committing the store's transaction.
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error("store object {} (hash {hash}) is damaged: {reason}; it was not used; the snapshots that need it cannot be restored", path.display())]
    /// An object's bytes do not hash to its name, or do not decode.
    Damaged {
        /// The object's file.
        path: PathBuf,
        /// The hash it should have, hex.
        hash: String,
        /// What is wrong with it.
        reason: String,
    },
    #[error("store object {} (hash {hash}) is missing; the snapshots that need it cannot be restored", path.display())]
    /// An object a snapshot or base refers to is not in the store.
    Missing {
        /// Where the object should be.
        path: PathBuf,
        /// Its hash, hex.
        hash: String,
    },
    #[error("{} is damaged: {reason}; delete that file (the snapshot or base it describes is lost) and try again", path.display())]
    /// A reference file (a snapshot's or a base's) does not parse.
    BadRef {
        /// The reference file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    #[error("no snapshot {id}")]
    /// No snapshot has the id asked for.
    UnknownSnapshot {
        /// The id as given.
        id: String,
    },
    #[error("{path} cannot be captured: {reason}; rename or remove it and try again")]
    /// Something in the tree being captured cannot be stored (e.g. a special file or a name
    /// that is not UTF-8).
    Uncapturable {
        /// The offending entry: its full path, or its path relative to the captured
        /// directory.
        path: String,
        /// Why it cannot be captured.
        reason: String,
    },
    /// Reading or writing a file of the store failed.
    #[error(transparent)]
    Io(#[from] crate::error::IoError),
}

impl StoreError {
    /// Whether the failed operation may have changed anything: only an engine error can.
    pub fn effect(&self) -> crate::error::Effect {
        match self {
            StoreError::Engine(e) => e.effect(),
            _ => crate::error::Effect::Unchanged,
        }
    }
}

/// The store's result: [`StoreError`] unless said otherwise.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io(crate::error::IoError::new(op, path.to_path_buf(), source))
}

/// The store of one root. It lives in the engine's directory, wherever the root's
/// [`Layout`] puts it; its paths are named `.skillwal/store/...` relative to the root, as
/// the journal names them ([`Layout::resolve`]).
#[derive(Clone)]
pub struct Store {
    fs: Arc<dyn FileSystem>,
    layout: Layout,
    /// Where long work (a capture's hashing, `gc`) reports its progress.
    progress: Arc<dyn Progress>,
    /// How many records the operation log keeps ([`log::LOG_KEEP`] unless set).
    log_keep: u64,
}

/// Milliseconds since the Unix epoch now (0 on a clock before it): the time a snapshot
/// or a log record is stamped with.
pub(crate) fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Relative path of the store directory.
pub(crate) fn store_rel() -> String {
    format!("{META_DIR}/{STORE_DIR}")
}

/// Relative path of the object `hash`: `.skillwal/store/objects/<2 hex>/<62 hex>`.
pub(crate) fn object_rel(hash: &Hash) -> String {
    let h = hex(hash);
    format!("{}/objects/{}/{}", store_rel(), &h[..2], &h[2..])
}

impl Store {
    /// The store of the root `layout` describes, read and written through `fs`. Touches
    /// nothing: the store's directories are made by its first transaction.
    pub fn new(fs: Arc<dyn FileSystem>, layout: &Layout) -> Store {
        Store {
            fs,
            layout: layout.clone(),
            progress: Arc::new(crate::progress::Silent),
            log_keep: log::LOG_KEEP,
        }
    }

    /// Keeps the newest `keep` records of the operation log (at least 1) from now on: the
    /// transaction that writes a record deletes those that fall out (store-spec.md §4.5).
    pub fn set_log_keep(&mut self, keep: u64) {
        self.log_keep = keep.max(1);
    }

    /// How many records the operation log keeps.
    pub fn log_keep(&self) -> u64 {
        self.log_keep
    }

    /// Reports the progress of long work to `progress` from now on.
    pub fn set_progress(&mut self, progress: Arc<dyn Progress>) {
        self.progress = progress;
    }

    /// Where long work reports its progress.
    pub fn progress(&self) -> &dyn Progress {
        self.progress.as_ref()
    }

    pub(crate) fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// The same file system, shared: for an [`FsPath`] of a file in the collection.
    pub(crate) fn fs_arc(&self) -> Arc<dyn FileSystem> {
        self.fs.clone()
    }

    pub(crate) fn root(&self) -> &Path {
        &self.layout.root
    }

    /// The engine's directory (where the store, the stat cache and the lock are).
    pub(crate) fn meta(&self) -> &Path {
        &self.layout.meta
    }

    /// Absolute path of a path relative to the root (`.skillwal/...` in the engine's
    /// directory, wherever it is).
    pub(crate) fn abs(&self, rel: &str) -> PathBuf {
        self.layout.resolve(rel)
    }

    /// What is at `rel` (links not followed), `None` when nothing is.
    pub(crate) fn stat(&self, rel: &str) -> Result<Option<crate::fs::Metadata>> {
        let p = self.abs(rel);
        match self.fs.metadata(&p) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io(crate::error::IoError::new("stat", p, e))),
        }
    }

    /// Whether the object `hash` is present; for a file's object (`size` given), present
    /// with that size. (A present object of another size is damaged and will be replaced.)
    pub(crate) fn has_object(&self, hash: &Hash, size: Option<u64>) -> Result<bool> {
        Ok(match self.stat(&object_rel(hash))? {
            Some(m) if m.kind == FileKind::File => size.is_none_or(|s| s == m.len),
            _ => false,
        })
    }

    /// Every entry below the tree object `root`, each with its path relative to `root`
    /// (components joined with `/`), every directory before what it holds; each tree read
    /// and verified. Fails as [`Store::read_tree`] does, naming the tree.
    pub(crate) fn tree_entries(&self, root: &Hash) -> Result<Vec<(String, object::Entry)>> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), *root)];
        while let Some((prefix, h)) = stack.pop() {
            for e in self.read_tree(&h)?.entries {
                let rel = if prefix.is_empty() {
                    e.name.clone()
                } else {
                    format!("{prefix}/{}", e.name)
                };
                if let object::Node::Dir { hash } = e.node {
                    stack.push((rel.clone(), hash));
                }
                out.push((rel, e));
            }
        }
        Ok(out)
    }

    /// Reads and verifies the directory listing whose object is `hash`: one tree object, or
    /// a split tree's index and every chunk it names (store-spec.md §3.1), each verified.
    pub(crate) fn read_tree(&self, hash: &Hash) -> Result<Tree> {
        Ok(self.read_tree_parts(hash)?.0)
    }

    /// [`Store::read_tree`], and the hashes of the chunks it read (none for a tree stored
    /// whole): every object the listing's own object needs, for `gc`.
    pub(crate) fn read_tree_parts(&self, hash: &Hash) -> Result<(Tree, Vec<Hash>)> {
        let damaged = |h: &Hash, reason: String| StoreError::Damaged {
            path: self.abs(&object_rel(h)),
            hash: hex(h),
            reason,
        };
        match TreeObject::decode(&self.read_tree_object(hash)?).map_err(|r| damaged(hash, r))? {
            TreeObject::Whole(tree) => Ok((tree, Vec::new())),
            TreeObject::Split(chunks) => {
                let mut parts = Vec::with_capacity(chunks.len());
                for h in &chunks {
                    parts.push(
                        Tree::decode(&self.read_tree_object(h)?)
                            .map_err(|r| damaged(h, format!("a chunk of a split tree: {r}")))?,
                    );
                }
                let tree = object::join_chunks(parts).map_err(|r| damaged(hash, r))?;
                Ok((tree, chunks))
            }
        }
    }

    /// The bytes of the object `hash`, read whole (at most [`TREE_OBJECT_BYTES_MAX`]) and
    /// verified against their hash.
    fn read_tree_object(&self, hash: &Hash) -> Result<Vec<u8>> {
        let path = self.abs(&object_rel(hash));
        let damaged = |reason: String| StoreError::Damaged {
            path: path.clone(),
            hash: hex(hash),
            reason,
        };
        let file = match self.fs.open(&path, OpenMode::Read) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    path: path.clone(),
                    hash: hex(hash),
                });
            }
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let len = file.metadata().map_err(io_err("stat", &path))?.len;
        if len > TREE_OBJECT_BYTES_MAX {
            return Err(damaged(format!(
                "{len} bytes, more than a tree object may have"
            )));
        }
        let mut bytes = vec![0u8; len as usize];
        file.read_exact_at(&mut bytes, 0)
            .map_err(io_err("read", &path))?;
        if blake3::hash(&bytes).as_bytes() != hash {
            return Err(damaged("its content does not match its hash".into()));
        }
        Ok(bytes)
    }

    /// The target of a link recorded as the file object `hash` of `size` bytes, read whole
    /// (at most [`object::LINK_TARGET_BYTES_MAX`]) and verified.
    pub(crate) fn read_target(&self, hash: &Hash, size: u64) -> Result<Vec<u8>> {
        let path = self.abs(&object_rel(hash));
        if size == 0 || size > object::LINK_TARGET_BYTES_MAX {
            return Err(StoreError::Damaged {
                path,
                hash: hex(hash),
                reason: format!("a link target of {size} bytes"),
            });
        }
        let mut r = self.open_blob(hash, size)?;
        let mut bytes = Vec::with_capacity(size as usize);
        std::io::Read::read_to_end(&mut r, &mut bytes).map_err(|e| StoreError::Damaged {
            path: path.clone(),
            hash: hex(hash),
            reason: e.to_string(),
        })?;
        Ok(bytes)
    }

    /// A reader of the file object `hash` of `size` bytes that fails at its end when the
    /// bytes read do not match (so a damaged object never completes a staged file).
    pub(crate) fn open_blob(&self, hash: &Hash, size: u64) -> Result<reader::VerifyingReader> {
        let path = self.abs(&object_rel(hash));
        match self.fs.open(&path, OpenMode::Read) {
            Ok(f) => Ok(reader::VerifyingReader::new(f, path, *hash, size, true)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::Missing {
                path,
                hash: hex(hash),
            }),
            Err(e) => Err(io_err("open", &path)(e)),
        }
    }

    /// Reads a small reference file (`None` when missing), at most 1 MiB.
    pub(crate) fn read_small(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let path = self.abs(rel);
        let file = match self.fs.open(&path, OpenMode::Read) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let len = file.metadata().map_err(io_err("stat", &path))?.len;
        if len > 1024 * 1024 {
            return Err(StoreError::BadRef {
                path,
                reason: format!("{len} bytes, larger than any reference"),
            });
        }
        let mut bytes = vec![0u8; len as usize];
        file.read_exact_at(&mut bytes, 0)
            .map_err(io_err("read", &path))?;
        Ok(Some(bytes))
    }

    /// The decimal counter in the small file `rel` (`next-snapshot-id`, `log/next-id`),
    /// `None` when the file is missing; a file that is not a decimal number is a damaged
    /// reference ([`StoreError::BadRef`]).
    pub(crate) fn read_counter(&self, rel: &str) -> Result<Option<u64>> {
        let Some(b) = self.read_small(rel)? else {
            return Ok(None);
        };
        std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| StoreError::BadRef {
                path: self.abs(rel),
                reason: "not a decimal number".into(),
            })
    }

    /// Names in the directory `rel` (empty when it does not exist).
    pub(crate) fn list(&self, rel: &str) -> Result<Vec<(String, FileKind)>> {
        let path = self.abs(rel);
        match self.fs.read_dir(&path) {
            Ok(v) => Ok(v
                .into_iter()
                .filter_map(|e| e.name.into_string().ok().map(|n| (n, e.kind)))
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err("read directory", &path)(e)),
        }
    }
}

/// Stages objects and references into one transaction, creating the store's directories
/// on the way (once each) and skipping objects already present or already staged.
pub(crate) struct Writer<'s> {
    store: &'s Store,
    created: HashSet<String>,
    staged: HashSet<Hash>,
}

/// An object to write: a file's bytes read from `src`, an encoded tree, or a link's target
/// (a file object whose bytes are known).
#[derive(Debug, Clone)]
pub(crate) enum NewObject {
    Blob { hash: Hash, size: u64, src: FsPath },
    Tree { hash: Hash, bytes: Vec<u8> },
    Target { hash: Hash, bytes: Vec<u8> },
}

impl NewObject {
    /// A listing's objects ([`Tree::to_objects`]) as objects to write.
    pub fn tree_parts(parts: Vec<(Hash, Vec<u8>)>) -> impl Iterator<Item = NewObject> {
        parts
            .into_iter()
            .map(|(hash, bytes)| NewObject::Tree { hash, bytes })
    }

    pub fn hash(&self) -> &Hash {
        match self {
            NewObject::Blob { hash, .. }
            | NewObject::Tree { hash, .. }
            | NewObject::Target { hash, .. } => hash,
        }
    }
}

impl<'s> Writer<'s> {
    pub fn new(store: &'s Store) -> Writer<'s> {
        Writer {
            store,
            created: HashSet::new(),
            staged: HashSet::new(),
        }
    }

    /// Makes sure the directory `rel` (below the store) exists or is created by `t`,
    /// creating its parents inside the store first.
    pub fn ensure_dir(&mut self, t: &mut Transaction<'_>, rel: &str) -> Result<()> {
        if self.created.contains(rel) {
            return Ok(());
        }
        if let Some((parent, _)) = rel.rsplit_once('/')
            && parent.len() > META_DIR.len()
        {
            self.ensure_dir(t, parent)?;
        }
        match self.store.stat(rel)? {
            Some(m) if m.kind == FileKind::Dir => {}
            // Anything else in the way is an error the engine reports with the path.
            _ => t.create_dir(rel, 0o755)?,
        }
        self.created.insert(rel.to_string());
        Ok(())
    }

    /// Stages `objects` (present or already staged ones are skipped).
    pub fn objects(&mut self, t: &mut Transaction<'_>, objects: &[NewObject]) -> Result<usize> {
        let mut n = 0;
        let blob_bytes = |o: &NewObject| match o {
            NewObject::Blob { size, .. } => *size,
            _ => 0,
        };
        let total = objects.iter().map(blob_bytes).sum();
        let stage = Stage::begin(self.store.progress(), "storing", Some(total), true);
        for o in objects {
            stage.advance(blob_bytes(o));
            let hash = *o.hash();
            if self.staged.contains(&hash) {
                continue;
            }
            let size = match o {
                NewObject::Blob { size, .. } => Some(*size),
                NewObject::Target { bytes, .. } => Some(bytes.len() as u64),
                NewObject::Tree { .. } => None,
            };
            if self.store.has_object(&hash, size)? {
                continue;
            }
            let rel = object_rel(&hash);
            self.ensure_dir(t, rel.rsplit_once('/').expect("fan-out dir").0)?;
            match o {
                NewObject::Blob { src, size, .. } => {
                    let f = src.open().map_err(io_err("open", &src.path))?;
                    let mut r =
                        reader::VerifyingReader::new(f, src.path.clone(), hash, *size, false);
                    t.put_file(&rel, &mut r, OBJECT_MODE)?;
                }
                NewObject::Tree { bytes, .. } | NewObject::Target { bytes, .. } => {
                    t.put_bytes(&rel, bytes, OBJECT_MODE)?
                }
            }
            self.staged.insert(hash);
            n += 1;
        }
        Ok(n)
    }

    /// Stages writing the small file `rel` in the store (created or replaced).
    pub fn put_ref(&mut self, t: &mut Transaction<'_>, rel: &str, bytes: &[u8]) -> Result<()> {
        self.ensure_dir(t, rel.rsplit_once('/').expect("a directory").0)?;
        t.put_bytes(rel, bytes, OBJECT_MODE)?;
        Ok(())
    }
}
