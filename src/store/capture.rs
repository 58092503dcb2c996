//! Capturing a directory tree as tree objects, without writing anything: the result says
//! which objects the store lacks, for a [`super::Writer`] to stage.

use super::object::{Entry, Node, Tree, name_problem};
use super::{NewObject, Result, Store, StoreError, io_err};
use crate::fs::FileKind;
use crate::hashing::hash_file;
use crate::journal::format::Hash;
use crate::path::META_DIR;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One node to capture: `rel` is `/`-separated below the captured root.
#[derive(Debug, Clone)]
pub struct Item {
    pub rel: String,
    pub mode: u32,
    /// `Some(path to read)` for a file, `None` for a directory.
    pub file: Option<PathBuf>,
}

/// A captured tree.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Hash of the root's tree object.
    pub root: Hash,
    /// Every tree object of the capture, by hash (also those already in the store), so a
    /// restore can read the current side without the store.
    pub trees: HashMap<Hash, Tree>,
    /// Objects the store does not have yet, children before parents.
    pub new_objects: Vec<NewObject>,
    pub files: u64,
    pub bytes: u64,
    /// Paths not captured: symbolic links and special files.
    pub skipped: Vec<String>,
}

/// Every directory and regular file below `root` (except the top-level `.skillwal/` when
/// `exclude_meta`); symbolic links and special files are listed in the second vector (never
/// followed).
pub fn walk(store: &Store, root: &Path, exclude_meta: bool) -> Result<(Vec<Item>, Vec<String>)> {
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
            let Some(name) = e.name.to_str() else {
                return Err(StoreError::Uncapturable {
                    path: dir.join(&e.name).display().to_string(),
                    reason: format!(
                        "its name is not UTF-8 ({:?})",
                        String::from_utf8_lossy(e.name.as_bytes())
                    ),
                });
            };
            if exclude_meta && rel.is_empty() && name == META_DIR {
                continue;
            }
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let path = dir.join(name);
            match e.kind {
                FileKind::File | FileKind::Dir => {
                    let m = fs.metadata(&path).map_err(io_err("stat", &path))?;
                    // Kind re-read: it may have changed since the listing.
                    match m.kind {
                        FileKind::File => items.push(Item {
                            rel: child,
                            mode: m.mode,
                            file: Some(path),
                        }),
                        FileKind::Dir => {
                            items.push(Item {
                                rel: child.clone(),
                                mode: m.mode,
                                file: None,
                            });
                            stack.push(child);
                        }
                        _ => skipped.push(child),
                    }
                }
                FileKind::Symlink | FileKind::Other => skipped.push(child),
            }
        }
    }
    Ok((items, skipped))
}

fn parent_and_name(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// Builds the tree objects of `items` (files hashed by reading them, streaming), and
/// notes the objects `store` lacks. Fails on a name a tree cannot hold.
pub fn capture(store: &Store, items: &[Item], skipped: Vec<String>) -> Result<Captured> {
    let mut children: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    children.insert(String::new(), Vec::new());
    let mut dirs: Vec<(&str, u32)> = Vec::new();
    let mut new_objects = Vec::new();
    let mut scheduled: HashSet<Hash> = HashSet::new();
    let (mut files, mut bytes) = (0u64, 0u64);
    for it in items {
        let (parent, name) = parent_and_name(&it.rel);
        if let Some(p) = name_problem(name) {
            return Err(StoreError::Uncapturable {
                path: it.rel.clone(),
                reason: p.to_string(),
            });
        }
        match &it.file {
            None => {
                children.entry(it.rel.clone()).or_default();
                dirs.push((&it.rel, it.mode));
            }
            Some(src) => {
                let (size, hash) = hash_file(store.fs_for(src), src)?;
                files += 1;
                bytes += size;
                if !scheduled.contains(&hash) && !store.has_object(&hash, Some(size))? {
                    scheduled.insert(hash);
                    new_objects.push(NewObject::Blob {
                        hash,
                        size,
                        src: src.clone(),
                    });
                }
                children.entry(parent.to_string()).or_default().push(Entry {
                    name: name.to_string(),
                    mode: it.mode,
                    node: Node::File { size, hash },
                });
            }
        }
    }
    // Deepest directories first, so every child tree exists before its parent's.
    dirs.sort_by_key(|(rel, _)| std::cmp::Reverse(rel.matches('/').count()));
    let mut trees = HashMap::new();
    let mut add_tree =
        |entries: Vec<Entry>, new_objects: &mut Vec<NewObject>| -> Result<(Hash, Tree)> {
            let tree = Tree::new(entries);
            let (hash, enc) = tree.encode_hashed();
            if !scheduled.contains(&hash) && !store.has_object(&hash, None)? {
                scheduled.insert(hash);
                new_objects.push(NewObject::Tree { hash, bytes: enc });
            }
            trees.insert(hash, tree.clone());
            Ok((hash, tree))
        };
    for (rel, mode) in dirs {
        let entries = children.remove(rel).unwrap_or_default();
        let (hash, _) = add_tree(entries, &mut new_objects)?;
        let (parent, name) = parent_and_name(rel);
        children
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
    let root_entries = children.remove("").unwrap_or_default();
    if let Some(orphan) = children.keys().next() {
        return Err(StoreError::Uncapturable {
            path: orphan.clone(),
            reason: "files listed in a directory that was not listed".into(),
        });
    }
    let (root, _) = add_tree(root_entries, &mut new_objects)?;
    Ok(Captured {
        root,
        trees,
        new_objects,
        files,
        bytes,
        skipped,
    })
}

/// Captures the directory `root` (the whole root of a collection, `.skillwal/` excluded).
pub fn capture_dir(store: &Store, root: &Path) -> Result<Captured> {
    let (items, skipped) = walk(store, root, true)?;
    capture(store, &items, skipped)
}
