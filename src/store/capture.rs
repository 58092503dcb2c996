//! Capturing a directory tree as tree objects, without writing anything: the result says
//! which objects the store lacks, for the store's writer to stage.

use super::object::{Entry, LINK_TARGET_BYTES_MAX, Node, Tree, name_problem};
use super::stat_cache::{Recording, StatCache};
use super::{NewObject, Result, Store, StoreError, io_err};
use crate::engine::path::META_DIR;
use crate::engine::tree_hash::hash_file;
use crate::fs::{FileKind, FsPath, Metadata};
use crate::journal::format::Hash;
use crate::progress::Stage;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One node to capture: `rel` is `/`-separated below the captured root.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub rel: String,
    pub mode: u32,
    /// `Some(where to read it)` for a file; `None` for a directory or a link.
    pub file: Option<FsPath>,
    /// A symbolic link's target (never followed); `None` for a file or a directory.
    pub link: Option<Vec<u8>>,
    /// What `lstat` said of the file when it was listed: the key of the stat cache. `None`
    /// where no cache applies (files outside the root).
    pub stat: Option<Metadata>,
}

/// How a capture of a root uses the stat cache (store-spec.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Hash every file (a directory that is not the root of the store, such as an
    /// extracted archive).
    Off,
    /// Take hashes from the cache; write nothing (readers: no lock against each other).
    Read,
    /// Take hashes from the cache and record a new one, for
    /// [`Captured::save_stat_cache`] (the caller holds the root's exclusive lock).
    ReadWrite,
}

/// A captured tree.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Hash of the root's tree object.
    pub root: Hash,
    /// Every tree object of the capture, by hash (also those already in the store), so a
    /// restore can read the current side without the store.
    pub(crate) trees: HashMap<Hash, Tree>,
    /// Objects the store does not have yet, children before parents.
    pub(crate) new_objects: Vec<NewObject>,
    /// Regular files captured (links and directories not counted).
    pub files: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Paths not captured: special files (sockets, FIFOs, devices).
    pub skipped: Vec<String>,
    /// Files whose content was read and hashed (the others' hashes came from the stat
    /// cache), and their bytes.
    pub hashed_files: u64,
    /// The bytes of those files.
    pub hashed_bytes: u64,
    /// The new stat cache, for [`Captured::save_stat_cache`] (with [`CacheUse::ReadWrite`]).
    pub(crate) recording: Option<Recording>,
}

impl Captured {
    /// Writes the stat cache this capture recorded (nothing without one). Call it after the
    /// transaction the capture was for has committed, `committed` = true (every captured
    /// file's object is then in the store), or with `false` when no transaction followed.
    /// Never fails: the cache is a hint (store-spec.md §8).
    pub fn save_stat_cache(&self, store: &Store, committed: bool) {
        if let Some(r) = &self.recording {
            r.save(store.fs(), store.meta(), committed);
        }
    }
}

/// Every directory, regular file and symbolic link below `root` (except the top-level
/// `.skillwal/` when `exclude_meta`); links are recorded by their target, never followed.
/// Special files are listed in the second vector.
pub(crate) fn walk(
    store: &Store,
    root: &Path,
    exclude_meta: bool,
) -> Result<(Vec<Item>, Vec<String>)> {
    let fs = store.fs();
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        for e in fs.read_dir(&dir).map_err(io_err("read directory", &dir))? {
            let name = utf8_name(&dir, &e.name)?;
            if exclude_meta && rel.is_empty() && name == META_DIR {
                continue;
            }
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let path = dir.join(name);
            if e.kind == FileKind::Other {
                skipped.push(child);
                continue;
            }
            // Kind re-read with the mode: it may have changed since the listing.
            let m = fs.metadata(&path).map_err(io_err("stat", &path))?;
            let is_dir = m.kind == FileKind::Dir;
            match node_item(store, path, child.clone(), m)? {
                Some(item) => items.push(item),
                None => {
                    skipped.push(child);
                    continue;
                }
            }
            if is_dir {
                stack.push(child);
            }
        }
    }
    Ok((items, skipped))
}

/// An entry's name as UTF-8, or the refusal to capture it.
fn utf8_name<'n>(dir: &Path, name: &'n std::ffi::OsStr) -> Result<&'n str> {
    name.to_str().ok_or_else(|| StoreError::Uncapturable {
        path: dir.join(name).display().to_string(),
        reason: format!(
            "its name is not UTF-8 ({:?})",
            String::from_utf8_lossy(name.as_bytes())
        ),
    })
}

/// The item for the node at `path` (`rel` below the root) that `lstat` described as `m`:
/// a file with its stat, a directory, or a link with its target. `None` for a special file.
fn node_item(store: &Store, path: PathBuf, rel: String, m: Metadata) -> Result<Option<Item>> {
    let (file, link, stat) = match m.kind {
        FileKind::File => (Some(FsPath::new(store.fs_arc(), path)), None, Some(m)),
        FileKind::Dir => (None, None, None),
        FileKind::Symlink => {
            let target = store
                .fs()
                .read_link(&path)
                .map_err(io_err("read link", &path))?;
            (None, Some(target.as_bytes().to_vec()), None)
        }
        FileKind::Other => return Ok(None),
    };
    Ok(Some(Item {
        rel,
        mode: m.mode,
        file,
        link,
        stat,
    }))
}

fn parent_and_name(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Builds the tree objects of `items` (files hashed by reading them, streaming), and
/// notes the objects `store` lacks. Fails on a name a tree cannot hold.
pub(crate) fn capture(store: &Store, items: &[Item], skipped: Vec<String>) -> Result<Captured> {
    capture_with(store, items, skipped, &StatCache::default(), None)
}

/// [`capture`], taking the hash of every file whose `stat` the cache knows from `cache`,
/// and noting every file hashed (or found) in `recorder`.
fn capture_with(
    store: &Store,
    items: &[Item],
    skipped: Vec<String>,
    cache: &StatCache,
    mut recorder: Option<&mut Recording>,
) -> Result<Captured> {
    // Which objects are stored is read from the packs as they are now (a transaction of
    // this process may have written one since they were loaded).
    store.refresh_packs()?;
    let mut c = Capturing::new(store, cache);
    let stage = Stage::begin(store.progress(), "hashing", Some(items.len() as u64), false);
    for it in items {
        c.item(it, recorder.as_deref_mut())?;
        stage.advance(1);
    }
    drop(stage);
    c.finish(skipped)
}

/// What [`capture_with`] has gathered so far.
struct Capturing<'a> {
    store: &'a Store,
    cache: &'a StatCache,
    /// The entries of every directory listed so far, by relative path (`""`: the root).
    children: BTreeMap<String, Vec<Entry>>,
    /// Every directory listed, with its mode.
    dirs: Vec<(&'a str, u32)>,
    new_objects: Vec<NewObject>,
    /// The objects already in `new_objects`.
    scheduled: HashSet<Hash>,
    trees: HashMap<Hash, Tree>,
    files: u64,
    bytes: u64,
    hashed_files: u64,
    hashed_bytes: u64,
}

impl<'a> Capturing<'a> {
    fn new(store: &'a Store, cache: &'a StatCache) -> Self {
        let mut children = BTreeMap::new();
        children.insert(String::new(), Vec::new());
        Capturing {
            store,
            cache,
            children,
            dirs: Vec::new(),
            new_objects: Vec::new(),
            scheduled: HashSet::new(),
            trees: HashMap::new(),
            files: 0,
            bytes: 0,
            hashed_files: 0,
            hashed_bytes: 0,
        }
    }

    /// Adds one listed file, directory or link.
    fn item(&mut self, it: &'a Item, recorder: Option<&mut Recording>) -> Result<()> {
        let (parent, name) = parent_and_name(&it.rel);
        if let Some(p) = name_problem(name) {
            return Err(StoreError::Uncapturable {
                path: it.rel.clone(),
                reason: p.to_string(),
            });
        }
        let node = match (&it.file, &it.link) {
            (None, Some(target)) => self.link(it, target)?,
            (None, None) => {
                self.children.entry(it.rel.clone()).or_default();
                self.dirs.push((&it.rel, it.mode));
                return Ok(());
            }
            (Some(src), _) => self.file(it, src, recorder)?,
        };
        self.children
            .entry(parent.to_string())
            .or_default()
            .push(Entry {
                name: name.to_string(),
                mode: it.mode,
                node,
            });
        Ok(())
    }

    /// Notes `make()` as a new object unless it is noted already or in the store.
    fn schedule_unless_stored(
        &mut self,
        hash: Hash,
        size: Option<u64>,
        make: impl FnOnce() -> NewObject,
    ) -> Result<()> {
        if !self.scheduled.contains(&hash) && !self.store.has_object(&hash, size)? {
            self.scheduled.insert(hash);
            self.new_objects.push(make());
        }
        Ok(())
    }

    fn link(&mut self, it: &Item, target: &[u8]) -> Result<Node> {
        let size = target.len() as u64;
        if size == 0 || size > LINK_TARGET_BYTES_MAX {
            return Err(StoreError::Uncapturable {
                path: it.rel.clone(),
                reason: format!("a symbolic link whose target is {size} bytes long"),
            });
        }
        let hash = *blake3::hash(target).as_bytes();
        self.schedule_unless_stored(hash, Some(size), || NewObject::Target {
            hash,
            bytes: target.to_vec(),
        })?;
        Ok(Node::Link { size, hash })
    }

    fn file(&mut self, it: &Item, src: &FsPath, recorder: Option<&mut Recording>) -> Result<Node> {
        let known = it
            .stat
            .as_ref()
            .and_then(|m| Some((m.len, self.cache.lookup(&it.rel, m)?)));
        let (size, hash) = match known {
            Some((len, k)) => (len, k.hash),
            None => {
                let (size, hash) = hash_file(src.fs.as_ref(), &src.path)?;
                self.hashed_files += 1;
                self.hashed_bytes += size;
                (size, hash)
            }
        };
        // Whether the object was in the store before this capture; the `lstat` of the
        // object is skipped when the cache says so (only `gc` deletes objects, and it
        // deletes the cache first).
        let in_store = if known.is_some_and(|(_, k)| k.in_store) {
            true
        } else if self.scheduled.contains(&hash) {
            false
        } else {
            self.store.has_object(&hash, Some(size))?
        };
        if !in_store && !self.scheduled.contains(&hash) {
            self.scheduled.insert(hash);
            self.new_objects.push(NewObject::Blob {
                hash,
                size,
                src: src.clone(),
            });
        }
        // If the file changed between its `lstat` and its hashing, this entry (old stat,
        // new hash) never matches again: the change gave the file a ctime at or after the
        // recording's start, and no noted stat has one.
        if let (Some(r), Some(m)) = (recorder, &it.stat)
            && m.len == size
        {
            r.note(&it.rel, m, &hash, in_store);
        }
        self.files += 1;
        self.bytes += size;
        Ok(Node::File { size, hash })
    }

    /// The tree object of `entries`, noted as a new object unless stored already.
    fn add_tree(&mut self, entries: Vec<Entry>) -> Result<Hash> {
        let tree = Tree::new(entries);
        // A split listing's chunks are checked one by one like any object: an index present
        // says nothing of its chunks (gc may have deleted them first).
        let (hash, objects) = tree.to_objects();
        for (h, bytes) in objects {
            self.schedule_unless_stored(h, None, || NewObject::Tree { hash: h, bytes })?;
        }
        self.trees.insert(hash, tree);
        Ok(hash)
    }

    /// Builds every directory's tree object, deepest first (so that every child tree exists
    /// before its parent's), then the root's.
    fn finish(mut self, skipped: Vec<String>) -> Result<Captured> {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|(rel, _)| std::cmp::Reverse(rel.matches('/').count()));
        for (rel, mode) in dirs {
            let entries = self.children.remove(rel).unwrap_or_default();
            let hash = self.add_tree(entries)?;
            let (parent, name) = parent_and_name(rel);
            self.children
                .get_mut(parent)
                .ok_or_else(|| StoreError::Uncapturable {
                    path: rel.to_string(),
                    reason: "its parent directory was not listed".into(),
                })?
                .push(Entry {
                    name: name.to_string(),
                    mode,
                    node: Node::Dir { hash },
                });
        }
        let root_entries = self.children.remove("").unwrap_or_default();
        if let Some(orphan) = self.children.keys().next() {
            return Err(StoreError::Uncapturable {
                path: orphan.clone(),
                reason: "files listed in a directory that was not listed".into(),
            });
        }
        let root = self.add_tree(root_entries)?;
        Ok(Captured {
            root,
            trees: self.trees,
            new_objects: self.new_objects,
            files: self.files,
            bytes: self.bytes,
            skipped,
            hashed_files: self.hashed_files,
            hashed_bytes: self.hashed_bytes,
            recording: None,
        })
    }
}

/// Captures the directory `root` (a whole root, `.skillwal/` excluded), using the stat cache
/// as `cache` says. The stat cache is keyed by paths relative to the store's root, so it is
/// used only when `root` is that root.
pub fn capture_dir(store: &Store, root: &Path, cache: CacheUse) -> Result<Captured> {
    let cache = if root == store.root() {
        cache
    } else {
        CacheUse::Off
    };
    let fs = store.fs();
    // The recording begins before anything is listed: its start bounds what it keeps.
    let mut recording = match cache {
        CacheUse::ReadWrite => Recording::begin(fs, store.meta()),
        _ => None,
    };
    let known = match cache {
        CacheUse::Off => StatCache::default(),
        _ => StatCache::load(fs, store.meta()),
    };
    let (items, skipped) = walk(store, root, true)?;
    let mut captured = capture_with(store, &items, skipped, &known, recording.as_mut())?;
    captured.recording = recording;
    Ok(captured)
}
