//! A transaction's operations as the engine applies them, built while staging or read back
//! from the journal's records (one representation for commit and for recovery).

use super::path::RelPath;
use super::tree_hash::TreeNode;
use crate::journal::format::{Before, Content, EntryKind, FieldChange, Hash, Record};
use crate::journal::reader::ScannedRecord;

/// Where a file's new bytes can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    /// In the journal at this absolute offset.
    Journal { offset: u64, len: u32 },
    /// Only in the staging area (made durable before the commit point).
    Staged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutFile {
    pub path: RelPath,
    pub mode: u32,
    pub before: Before,
    pub size: u64,
    pub hash: Hash,
    /// Inode number of the staged file: a target with this inode is the engine's own file.
    pub staged_ino: u64,
    pub content: Located,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub rel: RelPath,
    pub kind: EntryKind,
    /// A file's or directory's permission bits (0 for a link).
    pub mode: u32,
    pub size: u64,
    pub hash: Hash,
    pub content: Located,
    /// A link's target (empty otherwise).
    pub target: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutTree {
    pub path: RelPath,
    /// The tree's own directory's permission bits (`None`: format version 1, not recorded).
    pub mode: Option<u32>,
    pub before: Before,
    pub after_hash: Hash,
    /// Inode number of the staged tree's root directory.
    pub staged_ino: u64,
    /// Parents before children.
    pub entries: Vec<TreeEntry>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    PutFile(PutFile),
    /// Deletes a file or a symbolic link.
    DeleteFile {
        path: RelPath,
        before: Before,
    },
    CreateDir {
        path: RelPath,
        mode: u32,
        /// The directory staged for it (`None`: format version 1, created in place).
        staged_ino: Option<u64>,
    },
    RemoveDir {
        path: RelPath,
    },
    PutTree(PutTree),
    DeleteTree {
        path: RelPath,
        before: Before,
    },
    PutLink {
        path: RelPath,
        before: Before,
        target: Vec<u8>,
    },
    SetDirMode {
        path: RelPath,
        before_mode: u32,
        mode: u32,
    },
}

impl Op {
    pub fn path(&self) -> &RelPath {
        match self {
            Op::PutFile(p) => &p.path,
            Op::PutTree(t) => &t.path,
            Op::DeleteFile { path, .. }
            | Op::CreateDir { path, .. }
            | Op::RemoveDir { path }
            | Op::DeleteTree { path, .. }
            | Op::PutLink { path, .. }
            | Op::SetDirMode { path, .. } => path,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::PutFile(_) => "put-file",
            Op::DeleteFile { .. } => "delete-file",
            Op::CreateDir { .. } => "create-dir",
            Op::RemoveDir { .. } => "remove-dir",
            Op::PutTree(_) => "put-tree",
            Op::DeleteTree { .. } => "delete-tree",
            Op::PutLink { .. } => "put-link",
            Op::SetDirMode { .. } => "set-dir-mode",
        }
    }
}

/// The nodes of a tree's entries, for its tree hash ([`super::tree_hash::tree_hash_of`]).
pub fn tree_nodes(entries: &[TreeEntry]) -> Vec<(Vec<u8>, TreeNode)> {
    entries
        .iter()
        .map(|e| {
            let node = match e.kind {
                EntryKind::Dir => TreeNode::Dir { mode: e.mode },
                EntryKind::File => TreeNode::File {
                    size: e.size,
                    hash: e.hash,
                    mode: e.mode,
                },
                EntryKind::Link => TreeNode::Link(e.target.clone()),
            };
            (e.rel.as_str().as_bytes().to_vec(), node)
        })
        .collect()
}

/// A manifest or lock diff carried by the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub manifest: bool,
    pub document: String,
    pub changes: Vec<FieldChange>,
}

/// The operations and diffs of a committed transaction, read back from its records.
#[derive(Debug, Clone)]
pub struct TxnContents {
    /// The journal format version the records were written in (it decides how tree hashes
    /// and before-states are compared: wal-spec.md §5, §7.2).
    pub version: u16,
    pub txn_id: u64,
    pub label: String,
    pub time_unix_ms: u64,
    pub ops: Vec<Op>,
    /// Where each operation's record is in the journal (a put-tree's own record, after its
    /// entries): its offset and index, for errors that concern the operation.
    pub op_records: Vec<(u64, u32)>,
    pub diffs: Vec<Diff>,
}

fn located(rec: &ScannedRecord, c: Content) -> Located {
    match c {
        Content::Inline { at, len } => Located::Journal {
            offset: rec.payload_offset(at),
            len,
        },
        Content::Staged => Located::Staged,
    }
}

/// Why a committed transaction's records do not make a transaction the engine could have
/// written, and the record to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// The journal offset of that record's frame.
    pub offset: u64,
    /// Its index in the transaction (0 for the begin record).
    pub record: u32,
    pub reason: String,
}

/// Rebuilds the operations from a committed transaction's records, checking that they are
/// numbered in order, that tree entries belong to the tree that follows them, and that every
/// path is valid (a journal is never trusted to stay inside the root). An error names the
/// record at fault: its offset and index as the reader found them.
pub fn from_records(records: &[ScannedRecord], version: u16) -> Result<TxnContents, BadRecord> {
    let blame = |rec: &ScannedRecord, reason: String| BadRecord {
        offset: rec.offset,
        record: rec.frame.index,
        reason,
    };
    let mut out = TxnContents {
        version,
        txn_id: records.first().map(|r| r.frame.txn_id).unwrap_or(0),
        label: String::new(),
        time_unix_ms: 0,
        ops: Vec::new(),
        op_records: Vec::new(),
        diffs: Vec::new(),
    };
    let mut pending_entries: Vec<TreeEntry> = Vec::new();
    // The first tree-entry record of the tree being read, until its put-tree record.
    let mut pending_tree: Option<&ScannedRecord> = None;
    let path = |p: &str| RelPath::new(p).map_err(|e| e.to_string());
    for rec in records {
        let at = |what: String| blame(rec, what);
        let next_op = out.ops.len() as u32;
        let expect_op = |op: u32| -> Result<(), BadRecord> {
            if op != next_op {
                return Err(at(format!("operation number {op}, expected {next_op}")));
            }
            Ok(())
        };
        if pending_tree.is_some()
            && !matches!(
                rec.record,
                Record::TreeEntry { .. } | Record::PutTree { .. }
            )
        {
            return Err(at("tree entries not followed by their tree".into()));
        }
        match &rec.record {
            Record::Begin {
                time_unix_ms,
                label,
            } => {
                out.time_unix_ms = *time_unix_ms;
                out.label = label.clone();
            }
            Record::PutFile {
                op,
                path: p,
                mode,
                before,
                size,
                hash,
                staged_ino,
                content,
            } => {
                expect_op(*op)?;
                out.ops.push(Op::PutFile(PutFile {
                    path: path(p).map_err(at)?,
                    mode: *mode,
                    before: before.clone(),
                    size: *size,
                    hash: *hash,
                    staged_ino: *staged_ino,
                    content: located(rec, *content),
                }));
            }
            Record::DeleteFile {
                op,
                path: p,
                before,
            } => {
                expect_op(*op)?;
                out.ops.push(Op::DeleteFile {
                    path: path(p).map_err(at)?,
                    before: before.clone(),
                });
            }
            Record::CreateDir {
                op,
                path: p,
                mode,
                staged_ino,
            } => {
                expect_op(*op)?;
                out.ops.push(Op::CreateDir {
                    path: path(p).map_err(at)?,
                    mode: *mode,
                    staged_ino: *staged_ino,
                });
            }
            Record::PutLink {
                op,
                path: p,
                before,
                target,
            } => {
                expect_op(*op)?;
                out.ops.push(Op::PutLink {
                    path: path(p).map_err(at)?,
                    before: before.clone(),
                    target: target.clone(),
                });
            }
            Record::SetDirMode {
                op,
                path: p,
                before_mode,
                mode,
            } => {
                expect_op(*op)?;
                out.ops.push(Op::SetDirMode {
                    path: path(p).map_err(at)?,
                    before_mode: *before_mode,
                    mode: *mode,
                });
            }
            Record::RemoveDir { op, path: p } => {
                expect_op(*op)?;
                out.ops.push(Op::RemoveDir {
                    path: path(p).map_err(at)?,
                });
            }
            Record::TreeEntry {
                op,
                rel_path,
                kind,
                mode,
                size,
                hash,
                content,
                target,
            } => {
                expect_op(*op)?;
                pending_tree.get_or_insert(rec);
                pending_entries.push(TreeEntry {
                    rel: RelPath::new_in_tree(rel_path).map_err(|e| at(e.to_string()))?,
                    kind: *kind,
                    mode: *mode,
                    size: *size,
                    hash: *hash,
                    content: located(rec, *content),
                    target: target.clone(),
                });
            }
            Record::PutTree {
                op,
                path: p,
                mode,
                before,
                after_hash,
                staged_ino,
                entry_count,
            } => {
                expect_op(*op)?;
                if pending_entries.len() != *entry_count as usize {
                    return Err(at(format!(
                        "tree has {} entries, its record says {entry_count}",
                        pending_entries.len()
                    )));
                }
                pending_tree = None;
                out.ops.push(Op::PutTree(PutTree {
                    path: path(p).map_err(at)?,
                    mode: *mode,
                    before: before.clone(),
                    after_hash: *after_hash,
                    staged_ino: *staged_ino,
                    entries: std::mem::take(&mut pending_entries),
                }));
            }
            Record::DeleteTree {
                op,
                path: p,
                before,
            } => {
                expect_op(*op)?;
                out.ops.push(Op::DeleteTree {
                    path: path(p).map_err(at)?,
                    before: before.clone(),
                });
            }
            Record::Diff {
                manifest,
                document,
                changes,
            } => out.diffs.push(Diff {
                manifest: *manifest,
                document: document.clone(),
                changes: changes.clone(),
            }),
            Record::Commit { op_count, .. } => {
                if *op_count as usize != out.ops.len() {
                    return Err(at(format!(
                        "commit counts {op_count} operations, {} precede it",
                        out.ops.len()
                    )));
                }
            }
        }
        if out.ops.len() > out.op_records.len() {
            out.op_records.push((rec.offset, rec.frame.index));
        }
    }
    if let Some(first_entry) = pending_tree {
        return Err(blame(
            first_entry,
            "tree entries without their tree at the end".into(),
        ));
    }
    check_nesting(&out.ops).map_err(|(i, reason)| {
        let (offset, record) = out.op_records[i];
        BadRecord {
            offset,
            record,
            reason,
        }
    })?;
    Ok(out)
}

/// Checks what staging guarantees (wal-spec.md §6.2): an operation's path lies below an
/// earlier operation's path only when that one creates a directory. A journal that breaks
/// it was not written by the engine, and applying it could go through a link it makes.
/// An error is the number of the operation at fault and why.
fn check_nesting(ops: &[Op]) -> Result<(), (usize, String)> {
    let mut earlier: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (i, op) in ops.iter().enumerate() {
        let mut p = op.path().parent();
        while let Some(q) = p {
            if earlier.contains(q.as_str()) {
                return Err((
                    i,
                    format!(
                        "operation {i} ({} {}) lies below {q}, which an earlier operation replaces",
                        op.name(),
                        op.path()
                    ),
                ));
            }
            p = q.parent();
        }
        if !matches!(op, Op::CreateDir { .. }) {
            earlier.insert(op.path().as_str());
        }
    }
    Ok(())
}
