//! Comparing two captured trees, and staging the operations that turn the first into the
//! second: only what differs is written.

use super::object::{Entry, Node, Tree};
use super::{Result, Store, StoreError};
use crate::Transaction;
use crate::TreeStager;
use crate::engine::path::META_DIR;
use crate::journal::format::Hash;
use serde::Serialize;
use std::collections::HashMap;

/// Reads trees from a capture held in memory, else from the store (verified).
pub(crate) struct Trees<'a> {
    pub store: &'a Store,
    pub mem: Option<&'a HashMap<Hash, Tree>>,
}

impl Trees<'_> {
    pub fn get(&self, hash: &Hash) -> Result<Tree> {
        if let Some(t) = self.mem.and_then(|m| m.get(hash)) {
            return Ok(t.clone());
        }
        self.store.read_tree(hash)
    }
}

/// One difference, from the current state's point of view: what a restore does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Write the file (missing now, or different content or permission bits, or something
    /// else than a file there now).
    PutFile {
        /// The path, relative to the restored root.
        path: String,
        /// The file's size in bytes.
        size: u64,
        /// BLAKE3 of its content: the object it is restored from.
        #[serde(skip)]
        hash: Hash,
        /// Its permission bits.
        mode: u32,
        /// Whether something is there now.
        replaces: bool,
    },
    /// Create the directory and everything in it (replacing what is there now, if anything:
    /// a file or a link).
    PutTree {
        /// The path, relative to the restored root.
        path: String,
        /// The tree object it is restored from.
        #[serde(skip)]
        hash: Hash,
        /// The directory's own permission bits.
        mode: u32,
    },
    /// Make the path a symbolic link (its target is a file object of `size` bytes).
    PutLink {
        /// The path, relative to the restored root.
        path: String,
        /// The target's length in bytes.
        #[serde(skip)]
        size: u64,
        /// The file object holding the target.
        #[serde(skip)]
        hash: Hash,
        /// Whether something is there now.
        replaces: bool,
    },
    /// Delete the file or link.
    DeleteFile {
        /// The path, relative to the restored root.
        path: String,
    },
    /// Delete the directory and everything in it.
    DeleteTree {
        /// The path, relative to the restored root.
        path: String,
    },
    /// Give the directory these permission bits (after the changes inside it).
    SetDirMode {
        /// The path, relative to the restored root.
        path: String,
        /// The permission bits.
        mode: u32,
    },
}

impl Action {
    /// The path the action is on, relative to the restored root.
    pub fn path(&self) -> &str {
        match self {
            Action::PutFile { path, .. }
            | Action::PutTree { path, .. }
            | Action::PutLink { path, .. }
            | Action::DeleteFile { path }
            | Action::DeleteTree { path }
            | Action::SetDirMode { path, .. } => path,
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// What turns the tree `from` into the tree `to`, in path order, a directory's mode after
/// the changes inside it. Every difference a user can see is one: kind, content, permission
/// bits, link target; a path whose kind changes is replaced whole. Trees are compared by
/// hash first, so identical subtrees cost nothing.
///
/// A directory whose owner may not write it (mode 0555, say) cannot have anything changed
/// inside it, and cannot be moved, by a process that is not root (renaming a directory
/// rewrites its `..`). So wherever one would have to change or move, the nearest directory
/// above it is replaced whole instead (it is writable, as it is entered); a collection whose
/// own top level would have to be is refused.
pub(crate) fn plan(trees: &Trees<'_>, from: &Hash, to: &Hash) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    if from != to && plan_dir(trees, "", &trees.get(from)?, &trees.get(to)?, &mut out)? {
        return Err(StoreError::Uncapturable {
            path: "the collection's top level".into(),
            reason: "a directory in it whose owner may not write it would have to change or move"
                .into(),
        });
    }
    Ok(out)
}

/// Owner write permission: what changing inside a directory, or moving it, needs.
fn owner_writable(mode: u32) -> bool {
    mode & 0o200 != 0
}

/// The action that makes `path` hold `b` (an entry of the target tree) whatever is there.
fn put(path: String, b: &Entry, replaces: bool) -> Action {
    match b.node {
        Node::File { size, hash } => Action::PutFile {
            path,
            size,
            hash,
            mode: b.mode,
            replaces,
        },
        Node::Dir { hash } => Action::PutTree {
            path,
            hash,
            mode: b.mode,
        },
        Node::Link { size, hash } => Action::PutLink {
            path,
            size,
            hash,
            replaces,
        },
    }
}

/// The actions turning `from` into `to` below `prefix`, appended to `out`. Returns `true`
/// when the directory itself must be replaced whole instead (something in it that cannot be
/// written or moved must change); `out` then holds nothing of it.
fn plan_dir(
    trees: &Trees<'_>,
    prefix: &str,
    from: &Tree,
    to: &Tree,
    out: &mut Vec<Action>,
) -> Result<bool> {
    let start = out.len();
    let mut names: Vec<&str> = from
        .entries
        .iter()
        .chain(&to.entries)
        .map(|e| e.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        if prefix.is_empty() && name == META_DIR {
            return Err(StoreError::Uncapturable {
                path: name.into(),
                reason: "a snapshot may not hold skillwal's own directory".into(),
            });
        }
        let path = join(prefix, name);
        let (a, b) = (from.get(name), to.get(name));
        // A directory that is here now and must go, or change inside, must be writable.
        let stuck = |a: &Entry| matches!(a.node, Node::Dir { .. }) && !owner_writable(a.mode);
        match (a, b) {
            (None, None) => {}
            (Some(a), None) if stuck(a) => {
                out.truncate(start);
                return Ok(true);
            }
            (Some(a), None) => out.push(match a.node {
                Node::File { .. } | Node::Link { .. } => Action::DeleteFile { path },
                Node::Dir { .. } => Action::DeleteTree { path },
            }),
            (None, Some(b)) => out.push(put(path, b, false)),
            (Some(a), Some(b)) if a.node == b.node && a.mode == b.mode => {}
            (Some(a), Some(_)) if stuck(a) && a.node != b.unwrap().node => {
                out.truncate(start);
                return Ok(true);
            }
            (Some(a), Some(b)) => match (a.node, b.node) {
                (Node::Dir { hash: h0 }, Node::Dir { hash: h1 }) => {
                    let mark = out.len();
                    let whole = h0 != h1
                        && plan_dir(trees, &path, &trees.get(&h0)?, &trees.get(&h1)?, out)?;
                    if whole {
                        out.truncate(mark);
                        out.push(put(path, b, true));
                    } else if a.mode != b.mode {
                        out.push(Action::SetDirMode { path, mode: b.mode });
                    }
                }
                (Node::Link { .. }, Node::Link { .. }) | (Node::File { .. }, Node::File { .. }) => {
                    out.push(put(path, b, true))
                }
                // Another kind: replaced whole, in one step.
                _ => out.push(put(path, b, true)),
            },
        }
    }
    Ok(false)
}

/// Stages `actions` into `t`, reading file contents from the store (verified as they
/// stream: a damaged object fails the staging, and the transaction changes nothing).
pub(crate) fn stage(
    store: &Store,
    trees: &Trees<'_>,
    t: &mut Transaction<'_>,
    actions: &[Action],
) -> Result<()> {
    for a in actions {
        match a {
            Action::PutFile {
                path,
                size,
                hash,
                mode,
                ..
            } => {
                let mut r = store.open_blob(hash, *size)?;
                t.put_file(path, &mut r, *mode)?;
            }
            Action::PutTree { path, hash, mode } => {
                let mut stager = t.put_tree(path, *mode)?;
                stage_tree(store, trees, &mut stager, "", hash)?;
                stager.finish()?;
            }
            Action::PutLink {
                path, size, hash, ..
            } => {
                let target = store.read_target(hash, *size)?;
                t.put_link(path, &target)?;
            }
            Action::DeleteFile { path } => t.delete_file(path)?,
            Action::DeleteTree { path } => t.delete_tree(path)?,
            Action::SetDirMode { path, mode } => t.set_dir_mode(path, *mode)?,
        }
    }
    Ok(())
}

fn stage_tree(
    store: &Store,
    trees: &Trees<'_>,
    stager: &mut TreeStager<'_, '_>,
    prefix: &str,
    hash: &Hash,
) -> Result<()> {
    let tree = trees.get(hash)?;
    for e in &tree.entries {
        let rel = join(prefix, &e.name);
        match e.node {
            Node::File { size, hash } => {
                let mut r = store.open_blob(&hash, size)?;
                stager.file(&rel, &mut r, e.mode)?;
            }
            Node::Dir { hash } => {
                stager.dir(&rel, e.mode)?;
                stage_tree(store, trees, stager, &rel, &hash)?;
            }
            Node::Link { size, hash } => {
                let target = store.read_target(&hash, size)?;
                stager.link(&rel, &target)?;
            }
        }
    }
    Ok(())
}
