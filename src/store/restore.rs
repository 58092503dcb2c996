//! Comparing two captured trees, and staging the operations that turn the first into the
//! second: only what differs is written.

use super::object::{Node, Tree};
use super::{Result, Store, StoreError};
use crate::Transaction;
use crate::TreeStager;
use crate::journal::format::Hash;
use crate::path::META_DIR;
use serde::Serialize;
use std::collections::HashMap;

/// Reads trees from a capture held in memory, else from the store (verified).
pub struct Trees<'a> {
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
    /// Write the file (missing now, or different content or permission bits).
    PutFile {
        path: String,
        size: u64,
        #[serde(skip)]
        hash: Hash,
        mode: u32,
        /// Whether something is there now.
        replaces: bool,
    },
    /// Create the directory and everything in it.
    PutTree {
        path: String,
        #[serde(skip)]
        hash: Hash,
        mode: u32,
    },
    DeleteFile {
        path: String,
    },
    DeleteTree {
        path: String,
    },
}

impl Action {
    pub fn path(&self) -> &str {
        match self {
            Action::PutFile { path, .. }
            | Action::PutTree { path, .. }
            | Action::DeleteFile { path }
            | Action::DeleteTree { path } => path,
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

/// What turns the tree `from` into the tree `to`, in path order. A path that is a file on
/// one side and a directory on the other is an error (it cannot be replaced in one
/// transaction). Trees are compared by hash first, so identical subtrees cost nothing.
pub fn plan(trees: &Trees<'_>, from: &Hash, to: &Hash) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    if from != to {
        plan_dir(trees, "", &trees.get(from)?, &trees.get(to)?, &mut out)?;
    }
    Ok(out)
}

fn plan_dir(
    trees: &Trees<'_>,
    prefix: &str,
    from: &Tree,
    to: &Tree,
    out: &mut Vec<Action>,
) -> Result<()> {
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
        match (from.get(name), to.get(name)) {
            (None, None) => {}
            (Some(a), None) => out.push(match a.node {
                Node::File { .. } => Action::DeleteFile { path },
                Node::Dir { .. } => Action::DeleteTree { path },
            }),
            (a, Some(b)) => match (a.map(|a| (a.node, a.mode)), b.node) {
                (None, Node::File { size, hash }) => out.push(Action::PutFile {
                    path,
                    size,
                    hash,
                    mode: b.mode,
                    replaces: false,
                }),
                (None, Node::Dir { hash }) => out.push(Action::PutTree {
                    path,
                    hash,
                    mode: b.mode,
                }),
                (Some((Node::File { size: s0, hash: h0 }, m0)), Node::File { size, hash }) => {
                    if s0 != size || h0 != hash || m0 != b.mode {
                        out.push(Action::PutFile {
                            path,
                            size,
                            hash,
                            mode: b.mode,
                            replaces: true,
                        });
                    }
                }
                (Some((Node::Dir { hash: h0 }, _)), Node::Dir { hash }) => {
                    if h0 != hash {
                        plan_dir(trees, &path, &trees.get(&h0)?, &trees.get(&hash)?, out)?;
                    }
                }
                (Some((Node::File { .. }, _)), Node::Dir { .. }) => {
                    return Err(StoreError::TypeChanged {
                        path,
                        now: "file",
                        then: "directory",
                    });
                }
                (Some((Node::Dir { .. }, _)), Node::File { .. }) => {
                    return Err(StoreError::TypeChanged {
                        path,
                        now: "directory",
                        then: "file",
                    });
                }
            },
        }
    }
    Ok(())
}

/// Stages `actions` into `t`, reading file contents from the store (verified as they
/// stream: a damaged object fails the staging, and the transaction changes nothing).
pub fn stage(
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
            Action::PutTree { path, hash, .. } => {
                let mut stager = t.put_tree(path)?;
                stage_tree(store, trees, &mut stager, "", hash)?;
                stager.finish()?;
            }
            Action::DeleteFile { path } => t.delete_file(path)?,
            Action::DeleteTree { path } => t.delete_tree(path)?,
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
        }
    }
    Ok(())
}
