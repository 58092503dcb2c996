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
pub(crate) mod chunk;
pub mod gc;
pub mod log;
pub(crate) mod object;
pub(crate) mod pack;
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
use object::{TREE_OBJECT_BYTES_MAX, Tree, TreeObject, hex, parse_hex};
use pack::{Loaded, PACK_BYTES_MAX, PACK_OBJECT_BYTES_MAX, PACK_OBJECTS_MAX, PackIndex, Table};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    /// A pack's table cannot be read or does not verify: the objects in it cannot be found.
    #[error("store pack {} is damaged: {reason}; the objects in it cannot be read (snapshots and records that need them cannot be restored); gc deletes nothing while it is there: move it away to go on", path.display())]
    DamagedPack {
        /// The pack file.
        path: PathBuf,
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
    /// Which pack holds which object, shared by clones; brought up to date with `packs/`
    /// by [`Store::refresh_packs`].
    packs: Arc<Mutex<PackIndex>>,
}

/// An object opened for reading: a loose object's file, or the pack holding it.
struct ObjectFile {
    file: Box<dyn crate::fs::FileHandle>,
    path: PathBuf,
    /// Where its bytes start in `file`, and how many there are (a loose file's length).
    start: u64,
    len: u64,
    packed: bool,
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

/// Relative path of the packs' directory.
pub(crate) fn packs_rel() -> String {
    format!("{}/packs", store_rel())
}

/// Relative path of the pack named `name` (64 hex).
pub(crate) fn pack_rel(name: &str) -> String {
    format!("{}/{name}", packs_rel())
}

/// Relative path of the object `hash` when loose: `.skillwal/store/objects/<2 hex>/<62 hex>`.
/// `chunked/`, where the chunk lists of large objects are (store-spec.md §2.2).
pub(crate) fn chunked_rel() -> String {
    format!("{}/chunked", store_rel())
}

/// The chunk list of the object `hash`, when it is stored in chunks.
pub(crate) fn chunk_list_rel(hash: &Hash) -> String {
    format!("{}/{}", chunked_rel(), hex(hash))
}

/// Whether a file object of `size` bytes is stored in chunks (store-spec.md §2.2).
pub(crate) fn is_chunked_size(size: u64) -> bool {
    size > chunk::CHUNKED_ABOVE && size <= chunk::CHUNKED_MAX
}

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
            packs: Arc::default(),
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

    /// Whether the object `hash` is present, in a pack or loose; for a file's object (`size`
    /// given), present with that size. (A loose object of another size is damaged and will be
    /// replaced.) Packs are as the last [`Store::refresh_packs`] found them.
    pub(crate) fn has_object(&self, hash: &Hash, size: Option<u64>) -> Result<bool> {
        self.ensure_packs()?;
        if let Some((_, slot)) = self.locate(hash)
            && size.is_none_or(|s| s == slot.size)
        {
            return Ok(true);
        }
        if let Some(m) = self.stat(&object_rel(hash))?
            && m.kind == FileKind::File
            && size.is_none_or(|s| s == m.len)
        {
            return Ok(true);
        }
        // A list that does not decode, is of another size, or names a chunk no pack holds
        // (with its size) is damaged or incomplete, and will be replaced.
        let Some(s) = size.filter(|s| is_chunked_size(*s)) else {
            return Ok(false);
        };
        let Some(list) = self.read_small(&chunk_list_rel(hash))? else {
            return Ok(false);
        };
        Ok(match chunk::decode_list(&list) {
            Ok((total, chunks)) => {
                total == s
                    && chunks.iter().all(|c| {
                        self.locate(&c.hash)
                            .is_some_and(|(_, slot)| slot.size == c.size)
                    })
            }
            Err(_) => false,
        })
    }

    /// Brings the pack index up to date with `packs/`: loads the table of every pack not
    /// loaded yet, and again of every pack found damaged (a writer may have written it whole
    /// again since), and forgets the packs that are gone. A pack whose table cannot be
    /// verified is kept as damaged ([`StoreError::DamagedPack`] when it may hold what is
    /// looked for). A good pack is never loaded twice: its name is its table's hash.
    pub(crate) fn refresh_packs(&self) -> Result<()> {
        let names: HashSet<String> = self
            .list(&packs_rel())?
            .into_iter()
            .filter(|(n, k)| *k == FileKind::File && parse_hex(n).is_some())
            .map(|(n, _)| n)
            .collect();
        let mut index = self.packs.lock().expect("pack index");
        index.retain(&names);
        for name in names {
            if index.packs.get(&name).is_none_or(|l| l.table.is_err())
                && let Some(loaded) = self.load_pack(&name)?
            {
                index.packs.insert(name, loaded);
            }
        }
        index.loaded = true;
        Ok(())
    }

    /// [`Store::refresh_packs`] unless the packs were loaded once already.
    fn ensure_packs(&self) -> Result<()> {
        if self.packs.lock().expect("pack index").loaded {
            return Ok(());
        }
        self.refresh_packs()
    }

    /// The packs loaded, by name: their length and table (or why it is damaged).
    pub(crate) fn packs(&self) -> Vec<(String, Loaded)> {
        let index = self.packs.lock().expect("pack index");
        let mut v: Vec<_> = index
            .packs
            .iter()
            .map(|(n, l)| (n.clone(), l.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Whether the pack `name` was loaded and its table verified.
    fn pack_is_good(&self, name: &str) -> bool {
        let index = self.packs.lock().expect("pack index");
        index.packs.get(name).is_some_and(|l| l.table.is_ok())
    }

    /// The first damaged pack, as an error.
    pub(crate) fn damaged_pack(&self) -> Option<StoreError> {
        let index = self.packs.lock().expect("pack index");
        index
            .damaged()
            .into_iter()
            .next()
            .map(|(name, reason)| StoreError::DamagedPack {
                path: self.abs(&pack_rel(&name)),
                reason,
            })
    }

    /// Reads and verifies the table of the pack `name`; `None` when it is gone.
    fn load_pack(&self, name: &str) -> Result<Option<Loaded>> {
        let path = self.abs(&pack_rel(name));
        let file = match self.fs.open(&path, OpenMode::Read) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let bytes = file.metadata().map_err(io_err("stat", &path))?.len;
        let table = Self::verified_table(file.as_ref(), name, bytes)
            .map_err(io_err("read", &path))?
            .map(Arc::new);
        Ok(Some(Loaded { bytes, table }))
    }

    /// The table of the pack `name` of `bytes` bytes open as `file`, or what is wrong with
    /// it (store-spec.md §2.1: magic and count, the name, the order and offsets, the length).
    fn verified_table(
        file: &dyn crate::fs::FileHandle,
        name: &str,
        bytes: u64,
    ) -> io::Result<std::result::Result<Table, String>> {
        let mut header = [0u8; 12];
        if bytes < header.len() as u64 {
            return Ok(Err(format!("{bytes} bytes, shorter than a pack's header")));
        }
        file.read_exact_at(&mut header, 0)?;
        let Some(n) = Table::table_bytes_from_header(&header) else {
            return Ok(Err("not a pack (bad magic or object count)".into()));
        };
        if n > bytes {
            return Ok(Err(format!("{bytes} bytes, shorter than its table")));
        }
        let mut b = vec![0u8; n as usize];
        file.read_exact_at(&mut b, 0)?;
        if hex(blake3::hash(&b).as_bytes()) != name {
            return Ok(Err("its table does not match its name".into()));
        }
        Ok(Table::decode(&b).and_then(|t| match t.file_bytes() {
            want if want == bytes => Ok(t),
            want => Err(format!("{bytes} bytes where its table says {want}")),
        }))
    }

    /// The pack and slot of the object `hash`, if a loaded pack holds it.
    fn locate(&self, hash: &Hash) -> Option<(String, pack::Slot)> {
        self.packs.lock().expect("pack index").find(hash)
    }

    /// Opens the object `hash` where it is: a pack, else its loose file. When neither has
    /// it, the packs are looked at again once (one may have been written or replaced since
    /// they were loaded); then it is missing, or a damaged pack may hold it.
    fn open_object(&self, hash: &Hash) -> Result<ObjectFile> {
        self.ensure_packs()?;
        for attempt in 0..2 {
            if let Some((name, slot)) = self.locate(hash) {
                let path = self.abs(&pack_rel(&name));
                match self.fs.open(&path, OpenMode::Read) {
                    Ok(file) => {
                        return Ok(ObjectFile {
                            file,
                            path,
                            start: slot.offset,
                            len: slot.size,
                            packed: true,
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("open", &path)(e)),
                }
            }
            let path = self.abs(&object_rel(hash));
            match self.fs.open(&path, OpenMode::Read) {
                Ok(file) => {
                    let len = file.metadata().map_err(io_err("stat", &path))?.len;
                    return Ok(ObjectFile {
                        file,
                        path,
                        start: 0,
                        len,
                        packed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("open", &path)(e)),
            }
            if attempt == 0 {
                self.refresh_packs()?;
            }
        }
        Err(self.damaged_pack().unwrap_or_else(|| StoreError::Missing {
            path: self.abs(&object_rel(hash)),
            hash: hex(hash),
        }))
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
        let damaged = |path: &Path, h: &Hash, reason: String| StoreError::Damaged {
            path: path.to_path_buf(),
            hash: hex(h),
            reason,
        };
        let (bytes, path) = self.read_tree_object(hash)?;
        match TreeObject::decode(&bytes).map_err(|r| damaged(&path, hash, r))? {
            TreeObject::Whole(tree) => Ok((tree, Vec::new())),
            TreeObject::Split(chunks) => {
                let mut parts = Vec::with_capacity(chunks.len());
                for h in &chunks {
                    let (bytes, chunk_path) = self.read_tree_object(h)?;
                    parts.push(Tree::decode(&bytes).map_err(|r| {
                        damaged(&chunk_path, h, format!("a chunk of a split tree: {r}"))
                    })?);
                }
                let tree = object::join_chunks(parts).map_err(|r| damaged(&path, hash, r))?;
                Ok((tree, chunks))
            }
        }
    }

    /// The bytes of the object `hash`, read whole (at most [`TREE_OBJECT_BYTES_MAX`]) and
    /// verified against their hash, and the file they were read from (a pack or the loose
    /// object), for what reports them.
    fn read_tree_object(&self, hash: &Hash) -> Result<(Vec<u8>, PathBuf)> {
        let o = self.open_object(hash)?;
        let damaged = |reason: String| StoreError::Damaged {
            path: o.path.clone(),
            hash: hex(hash),
            reason,
        };
        if o.len > TREE_OBJECT_BYTES_MAX {
            return Err(damaged(format!(
                "{} bytes, more than a tree object may have",
                o.len
            )));
        }
        let mut bytes = vec![0u8; o.len as usize];
        o.file
            .read_exact_at(&mut bytes, o.start)
            .map_err(io_err("read", &o.path))?;
        if blake3::hash(&bytes).as_bytes() != hash {
            return Err(damaged("its content does not match its hash".into()));
        }
        Ok((bytes, o.path))
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
    pub(crate) fn open_blob(&self, hash: &Hash, size: u64) -> Result<reader::BlobReader> {
        let o = match self.open_object(hash) {
            Ok(o) => o,
            Err(e) if is_chunked_size(size) => {
                return match self.open_chunked(hash, size)? {
                    Some(r) => Ok(reader::BlobReader::Chunked(Box::new(r))),
                    None => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        Ok(reader::BlobReader::Whole(Box::new(if o.packed {
            if o.len != size {
                return Err(StoreError::Damaged {
                    path: o.path,
                    hash: hex(hash),
                    reason: format!("{} bytes in its pack where {size} are recorded", o.len),
                });
            }
            reader::VerifyingReader::in_pack(o.file, o.path, *hash, o.start, size)
        } else {
            reader::VerifyingReader::new(o.file, o.path, *hash, size, true)
        })))
    }

    /// A reader of the object `hash` of `size` bytes stored in chunks (store-spec.md §2.2),
    /// `None` when it has no chunk list. Fails when the list is damaged or of another size,
    /// or a chunk is in no pack (the packs listed again once first).
    fn open_chunked(&self, hash: &Hash, size: u64) -> Result<Option<reader::ChunkedReader>> {
        let rel = chunk_list_rel(hash);
        let Some(list) = self.read_small(&rel)? else {
            return Ok(None);
        };
        let path = self.abs(&rel);
        let damaged = |reason: String| StoreError::Damaged {
            path: path.clone(),
            hash: hex(hash),
            reason,
        };
        let (total, chunks) = chunk::decode_list(&list).map_err(damaged)?;
        if total != size {
            return Err(damaged(format!("{total} bytes where {size} are recorded")));
        }
        let mut at = Vec::with_capacity(chunks.len());
        let mut refreshed = false;
        for c in chunks {
            let slot = match self.locate(&c.hash) {
                Some(found) => Some(found),
                None if !refreshed => {
                    refreshed = true;
                    self.refresh_packs()?;
                    self.locate(&c.hash)
                }
                None => None,
            };
            let Some((pack, slot)) = slot.filter(|(_, slot)| slot.size == c.size) else {
                return Err(self.damaged_pack().unwrap_or_else(|| StoreError::Missing {
                    path: path.clone(),
                    hash: hex(&c.hash),
                }));
            };
            at.push(reader::ChunkAt {
                pack: self.abs(&pack_rel(&pack)),
                offset: slot.offset,
                size: c.size,
                hash: c.hash,
            });
        }
        Ok(Some(reader::ChunkedReader::new(
            self.fs.clone(),
            path,
            *hash,
            size,
            at,
        )))
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

/// Stages objects and references into one transaction, creating the store's directories
/// on the way (once each) and skipping objects already present or already staged. Objects
/// of at most [`PACK_OBJECT_BYTES_MAX`] go into a pack per call of [`Writer::objects`];
/// larger ones are loose files (store-spec.md §2.1, §5). One writer per store per
/// transaction: the packs a merge deletes are known to that writer only.
pub(crate) struct Writer<'s> {
    store: &'s Store,
    created: HashSet<String>,
    staged: HashSet<Hash>,
    /// Whether the packs were read again since this writer began.
    refreshed: bool,
    /// Packs this writer's transaction deletes (merged into a pack it writes).
    deleted: HashSet<String>,
}

/// Where the bytes of an object going into a pack come from.
enum Source<'a> {
    Bytes(&'a [u8]),
    /// A file being recorded, streamed and verified against the hash it was captured with.
    File(&'a FsPath),
    /// A chunk of a file being recorded (at this offset), verified against its hash.
    FileRange(&'a FsPath, u64),
    /// An object of an existing pack, streamed and verified.
    Packed {
        pack: String,
        offset: u64,
    },
}

/// One object going into a pack.
struct Part<'a> {
    hash: Hash,
    size: u64,
    source: Source<'a>,
}

/// The bytes of a pack as a stream: its table, then every part in the table's order, each
/// source opened when its turn comes (never all at once) and verified as it is read.
struct PackStream<'a> {
    store: &'a Store,
    table: Vec<u8>,
    table_at: usize,
    parts: std::vec::IntoIter<Part<'a>>,
    current: Option<Box<dyn io::Read + 'a>>,
    /// Where the bytes of files being recorded are reported as they go into the pack.
    stage: Option<&'a Stage<'a>>,
}

/// A reader that reports the bytes it yields to a progress stage.
struct Reporting<'s, R> {
    inner: R,
    stage: &'s Stage<'s>,
}

impl<R: io::Read> io::Read for Reporting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.stage.advance(n as u64);
        Ok(n)
    }
}

impl io::Read for PackStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.table_at < self.table.len() {
            let n = (&self.table[self.table_at..]).read(buf)?;
            self.table_at += n;
            return Ok(n);
        }
        loop {
            if let Some(r) = self.current.as_mut() {
                let n = r.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(part) = self.parts.next() else {
                return Ok(0);
            };
            self.current = Some(match part.source {
                Source::Bytes(b) => Box::new(b),
                Source::File(src) => {
                    let f = src.open()?;
                    let r = reader::VerifyingReader::new(
                        f,
                        src.path.clone(),
                        part.hash,
                        part.size,
                        false,
                    );
                    match self.stage {
                        Some(stage) => Box::new(Reporting { inner: r, stage }),
                        None => Box::new(r),
                    }
                }
                Source::FileRange(src, offset) => {
                    let f = src.open()?;
                    let r = reader::VerifyingReader::range(
                        f,
                        src.path.clone(),
                        part.hash,
                        offset,
                        part.size,
                        false,
                    );
                    match self.stage {
                        Some(stage) => Box::new(Reporting { inner: r, stage }),
                        None => Box::new(r),
                    }
                }
                Source::Packed { pack, offset } => {
                    let path = self.store.abs(&pack_rel(&pack));
                    let f = self.store.fs.open(&path, OpenMode::Read)?;
                    Box::new(reader::VerifyingReader::in_pack(
                        f, path, part.hash, offset, part.size,
                    ))
                }
            });
        }
    }
}

impl<'s> Writer<'s> {
    pub fn new(store: &'s Store) -> Writer<'s> {
        Writer {
            store,
            created: HashSet::new(),
            staged: HashSet::new(),
            refreshed: false,
            deleted: HashSet::new(),
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

    /// Stages `objects` (present or already staged ones are skipped): the small ones in one
    /// new pack (with the small packs it merges, when there are enough of them), the large
    /// ones as loose files. Returns how many objects were new.
    pub fn objects(&mut self, t: &mut Transaction<'_>, objects: &[NewObject]) -> Result<usize> {
        if !self.refreshed {
            self.store.refresh_packs()?;
            self.refreshed = true;
        }
        let mut n = 0;
        let blob_bytes = |o: &NewObject| match o {
            NewObject::Blob { size, .. } => *size,
            _ => 0,
        };
        let total = objects.iter().map(blob_bytes).sum();
        let stage = Stage::begin(self.store.progress(), "storing", Some(total), true);
        let mut packed = Vec::new();
        for o in objects {
            let hash = *o.hash();
            if self.staged.contains(&hash) {
                stage.advance(blob_bytes(o));
                continue;
            }
            let size = match o {
                NewObject::Blob { size, .. } => Some(*size),
                NewObject::Target { bytes, .. } => Some(bytes.len() as u64),
                NewObject::Tree { .. } => None,
            };
            if self.store.has_object(&hash, size)? {
                stage.advance(blob_bytes(o));
                continue;
            }
            match o {
                NewObject::Blob { src, size, .. } if is_chunked_size(*size) => {
                    // The bytes are read twice: once here to cut them, then the new chunks
                    // again as the pack is written (each chunk verified on its own).
                    let f = src.open().map_err(io_err("open", &src.path))?;
                    let r = reader::VerifyingReader::new(f, src.path.clone(), hash, *size, false);
                    let chunked = chunk::cut(r).map_err(io_err("read", &src.path))?;
                    self.staged.insert(hash);
                    n += 1;
                    for c in &chunked.chunks {
                        if self.staged.contains(&c.hash)
                            || self.store.has_object(&c.hash, Some(c.size))?
                        {
                            stage.advance(c.size);
                            continue;
                        }
                        self.staged.insert(c.hash);
                        packed.push(Part {
                            hash: c.hash,
                            size: c.size,
                            source: Source::FileRange(src, c.offset),
                        });
                    }
                    self.ensure_dir(t, &chunked_rel())?;
                    t.put_bytes(
                        &chunk_list_rel(&hash),
                        &chunk::encode_list(&chunked),
                        OBJECT_MODE,
                    )?;
                    continue;
                }
                NewObject::Blob { src, size, .. } if *size > PACK_OBJECT_BYTES_MAX => {
                    stage.advance(*size);
                    let rel = object_rel(&hash);
                    self.ensure_dir(t, rel.rsplit_once('/').expect("fan-out dir").0)?;
                    let f = src.open().map_err(io_err("open", &src.path))?;
                    let mut r =
                        reader::VerifyingReader::new(f, src.path.clone(), hash, *size, false);
                    t.put_file(&rel, &mut r, OBJECT_MODE)?;
                }
                NewObject::Blob { src, size, .. } => packed.push(Part {
                    hash,
                    size: *size,
                    source: Source::File(src),
                }),
                NewObject::Tree { bytes, .. } | NewObject::Target { bytes, .. } => {
                    packed.push(Part {
                        hash,
                        size: bytes.len() as u64,
                        source: Source::Bytes(bytes),
                    })
                }
            }
            self.staged.insert(hash);
            n += 1;
        }
        if !packed.is_empty() {
            let merged = self.merge_small_packs(&mut packed)?;
            let holding = self.put_packs(t, packed, Some(&stage))?;
            for name in merged {
                self.delete_pack(t, name, &holding)?;
            }
        }
        Ok(n)
    }

    /// When the store holds [`pack::SMALL_PACKS_MAX`] small packs or more (not counting the
    /// one about to be written), adds the objects of the small packs [`pack::merge_count`]
    /// picks, smallest first, whose objects all verify, to `parts` (those not in it already)
    /// and returns their names: the caller deletes them in the same transaction. A pack that
    /// does not verify is left as it is.
    fn merge_small_packs<'a>(&mut self, parts: &mut Vec<Part<'a>>) -> Result<Vec<String>> {
        let mut small: Vec<(String, u64, Arc<Table>)> = self
            .store
            .packs()
            .into_iter()
            .filter(|(name, l)| l.bytes < pack::SMALL_PACK_BYTES && !self.deleted.contains(name))
            .filter_map(|(name, l)| l.table.ok().map(|t| (name, l.bytes, t)))
            .collect();
        if small.len() < pack::SMALL_PACKS_MAX {
            return Ok(Vec::new());
        }
        small.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let sizes: Vec<u64> = small.iter().map(|s| s.1).collect();
        let take = pack::merge_count(&sizes, parts.iter().map(|p| p.size).sum());
        let mut have: HashSet<Hash> = parts.iter().map(|p| p.hash).collect();
        let mut merged = Vec::new();
        for (name, _, table) in small.into_iter().take(take) {
            if !self.pack_verifies(&name, &table)? {
                continue;
            }
            for slot in &table.slots {
                if have.insert(slot.hash) {
                    parts.push(Part {
                        hash: slot.hash,
                        size: slot.size,
                        source: Source::Packed {
                            pack: name.clone(),
                            offset: slot.offset,
                        },
                    });
                }
            }
            merged.push(name);
        }
        Ok(merged)
    }

    /// Whether every object of the pack `name` (a small one, read whole) matches its hash.
    /// A pack cut short since its table was read does not verify either.
    fn pack_verifies(&self, name: &str, table: &Table) -> Result<bool> {
        let path = self.store.abs(&pack_rel(name));
        let f = self
            .store
            .fs
            .open(&path, OpenMode::Read)
            .map_err(io_err("open", &path))?;
        let mut bytes = vec![0u8; table.file_bytes() as usize];
        match f.read_exact_at(&mut bytes, 0) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(io_err("read", &path)(e)),
        }
        Ok(table.slots.iter().all(|s| {
            let b = &bytes[s.offset as usize..(s.offset + s.size) as usize];
            blake3::hash(b).as_bytes() == &s.hash
        }))
    }

    /// Stages `parts` as packs of at most [`PACK_BYTES_MAX`] bytes and
    /// [`PACK_OBJECTS_MAX`] objects each (a pack already there, the same objects, is kept).
    /// Returns the names of the packs that hold them.
    fn put_packs(
        &mut self,
        t: &mut Transaction<'_>,
        mut parts: Vec<Part<'_>>,
        stage: Option<&Stage<'_>>,
    ) -> Result<HashSet<String>> {
        parts.sort_by_key(|p| p.hash);
        let mut groups: Vec<Vec<Part<'_>>> = vec![Vec::new()];
        let mut bytes = 0;
        for p in parts {
            let g = groups.last_mut().expect("a group");
            if !g.is_empty()
                && (bytes + p.size > PACK_BYTES_MAX || g.len() as u64 >= PACK_OBJECTS_MAX)
            {
                groups.push(Vec::new());
                bytes = 0;
            }
            bytes += p.size;
            groups.last_mut().expect("a group").push(p);
        }
        let mut holding = HashSet::new();
        for group in groups {
            let table = Table::new(group.iter().map(|p| (p.hash, p.size)).collect());
            let name = hex(&table.name());
            let rel = pack_rel(&name);
            if !holding.insert(name.clone()) || self.store.pack_is_good(&name) {
                // The same objects are in that pack already: it stays. (A damaged pack of
                // that name is replaced: its name says what it should hold.)
                continue;
            }
            self.ensure_dir(t, &packs_rel())?;
            let mut stream = PackStream {
                store: self.store,
                table: table.encode(),
                table_at: 0,
                parts: group.into_iter(),
                current: None,
                stage,
            };
            t.put_file(&rel, &mut stream, OBJECT_MODE)?;
        }
        Ok(holding)
    }

    /// Stages deleting the pack `name`, unless it is one of `holding` (written or kept to
    /// hold the objects it had).
    fn delete_pack(
        &mut self,
        t: &mut Transaction<'_>,
        name: String,
        holding: &HashSet<String>,
    ) -> Result<()> {
        if !holding.contains(&name) {
            t.delete_file(&pack_rel(&name))?;
            self.deleted.insert(name);
        }
        Ok(())
    }

    /// Stages replacing the pack `name` by one holding only `keep` of its objects (none:
    /// the pack is deleted), for `gc`.
    pub fn rewrite_pack(
        &mut self,
        t: &mut Transaction<'_>,
        name: &str,
        keep: &[pack::Slot],
    ) -> Result<()> {
        let parts = keep
            .iter()
            .map(|s| Part {
                hash: s.hash,
                size: s.size,
                source: Source::Packed {
                    pack: name.to_string(),
                    offset: s.offset,
                },
            })
            .collect::<Vec<_>>();
        let holding = if parts.is_empty() {
            HashSet::new()
        } else {
            self.put_packs(t, parts, None)?
        };
        self.delete_pack(t, name.to_string(), &holding)
    }

    /// Stages writing the small file `rel` in the store (created or replaced).
    pub fn put_ref(&mut self, t: &mut Transaction<'_>, rel: &str, bytes: &[u8]) -> Result<()> {
        self.ensure_dir(t, rel.rsplit_once('/').expect("a directory").0)?;
        t.put_bytes(rel, bytes, OBJECT_MODE)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::real::RealFs;
    use crate::{Engine, OpenOptions};

    #[test]
    fn a_pack_written_whole_again_is_found_again_by_the_same_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("c");
        std::fs::create_dir(&root).expect("mkdir");
        let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
        let mut engine = Engine::open(fs.clone(), &root, &OpenOptions::default()).expect("open");
        let store = Store::new(fs, &Layout::new(&root));
        let bytes = b"a link target".to_vec();
        let hash = *blake3::hash(&bytes).as_bytes();
        let object = [NewObject::Target {
            hash,
            bytes: bytes.clone(),
        }];
        let write = |engine: &mut Engine| {
            let mut t = engine.begin("write").expect("begin");
            Writer::new(&store).objects(&mut t, &object).expect("stage");
            t.commit_durable().expect("commit");
        };
        write(&mut engine);
        let packs = store.list(&packs_rel()).expect("list");
        assert_eq!(packs.len(), 1);
        let pack = store.abs(&pack_rel(&packs[0].0));
        let good = std::fs::read(&pack).expect("read");
        let mut damaged = good.clone();
        damaged[20] ^= 0x55;
        std::fs::set_permissions(&pack, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .expect("chmod");
        std::fs::write(&pack, damaged).expect("damage");
        // Seen damaged: the object is not found, and the pack is named.
        assert!(matches!(
            store.read_target(&hash, bytes.len() as u64),
            Err(StoreError::DamagedPack { .. })
        ));
        // A writer of the same process writes the same objects again: the pack of that name,
        // whole; the store finds the object in it from then on.
        write(&mut engine);
        assert_eq!(std::fs::read(&pack).expect("read"), good);
        assert_eq!(
            store.read_target(&hash, bytes.len() as u64).expect("found"),
            bytes
        );
    }

    #[test]
    fn a_chunked_object_whose_chunks_are_gone_is_written_again() {
        // store-spec.md §5: a chunk list naming a chunk no pack holds (a version-3 gc
        // deletes chunks it does not know are needed) does not count as the object.
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("c");
        std::fs::create_dir(&root).expect("mkdir");
        let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
        let mut engine = Engine::open(fs.clone(), &root, &OpenOptions::default()).expect("open");
        let store = Store::new(fs.clone(), &Layout::new(&root));
        let bytes: Vec<u8> = (0..80_000u32)
            .flat_map(|i| format!("line {i}: some text\n").into_bytes())
            .collect();
        assert!(is_chunked_size(bytes.len() as u64));
        let src = dir.path().join("big.txt");
        std::fs::write(&src, &bytes).expect("write");
        let hash = *blake3::hash(&bytes).as_bytes();
        let size = bytes.len() as u64;
        let object = [NewObject::Blob {
            hash,
            size,
            src: FsPath::new(fs.clone(), &src),
        }];
        let write = |engine: &mut Engine| {
            let mut t = engine.begin("write").expect("begin");
            Writer::new(&store).objects(&mut t, &object).expect("stage");
            t.commit_durable().expect("commit");
        };
        let read = || -> Vec<u8> {
            let mut out = Vec::new();
            io::Read::read_to_end(&mut store.open_blob(&hash, size).expect("open"), &mut out)
                .expect("read");
            out
        };
        write(&mut engine);
        // As every writer and capture does before it asks (has_object's packs are as the
        // last listing found them).
        store.refresh_packs().expect("refresh");
        assert!(store.has_object(&hash, Some(size)).expect("has"));
        assert_eq!(read(), bytes);
        for (name, _) in store.list(&packs_rel()).expect("list") {
            std::fs::remove_file(store.abs(&pack_rel(&name))).expect("remove pack");
        }
        store.refresh_packs().expect("refresh");
        assert!(!store.has_object(&hash, Some(size)).expect("has"));
        assert!(matches!(
            store.open_blob(&hash, size),
            Err(StoreError::Missing { .. })
        ));
        write(&mut engine);
        store.refresh_packs().expect("refresh");
        assert!(store.has_object(&hash, Some(size)).expect("has"));
        assert_eq!(read(), bytes);
    }
}
