//! A transaction's operations as the engine applies them, built while staging or read back
//! from the journal's records (one representation for commit and for recovery).

use crate::journal::format::{Before, Content, EntryKind, FieldChange, Hash, Record};
use crate::journal::reader::ScannedRecord;
use crate::path::RelPath;

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
    pub mode: u32,
    pub size: u64,
    pub hash: Hash,
    pub content: Located,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutTree {
    pub path: RelPath,
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
    DeleteFile { path: RelPath, before: Before },
    CreateDir { path: RelPath, mode: u32 },
    RemoveDir { path: RelPath },
    PutTree(PutTree),
    DeleteTree { path: RelPath, before: Before },
}

impl Op {
    pub fn path(&self) -> &RelPath {
        match self {
            Op::PutFile(p) => &p.path,
            Op::PutTree(t) => &t.path,
            Op::DeleteFile { path, .. }
            | Op::CreateDir { path, .. }
            | Op::RemoveDir { path }
            | Op::DeleteTree { path, .. } => path,
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
        }
    }
}

/// Name of the staged file or tree of operation `op` inside the staging directory.
pub fn staged_name(salt: u64, op: u32) -> String {
    format!("{salt:016x}-{op}")
}

/// Name under which a deleted tree waits in the staging directory for removal.
pub fn trash_name(salt: u64, op: u32) -> String {
    format!("{salt:016x}-{op}.old")
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
    pub txn_id: u64,
    pub label: String,
    pub time_unix_ms: u64,
    pub ops: Vec<Op>,
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

/// Rebuilds the operations from a committed transaction's records, checking that they are
/// numbered in order, that tree entries belong to the tree that follows them, and that every
/// path is valid (a journal is never trusted to stay inside the root).
pub fn from_records(records: &[ScannedRecord]) -> Result<TxnContents, String> {
    let mut out = TxnContents {
        txn_id: records.first().map(|r| r.frame.txn_id).unwrap_or(0),
        label: String::new(),
        time_unix_ms: 0,
        ops: Vec::new(),
        diffs: Vec::new(),
    };
    let mut pending_entries: Vec<TreeEntry> = Vec::new();
    let mut pending_op: Option<u32> = None;
    let path = |p: &str| RelPath::new(p).map_err(|e| e.to_string());
    for rec in records {
        let at =
            |what: String| format!("record {} at byte {}: {what}", rec.frame.index, rec.offset);
        let next_op = out.ops.len() as u32;
        let expect_op = |op: u32| -> Result<(), String> {
            if op != next_op {
                return Err(at(format!("operation number {op}, expected {next_op}")));
            }
            Ok(())
        };
        if pending_op.is_some()
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
                    before: *before,
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
                    before: *before,
                });
            }
            Record::CreateDir { op, path: p, mode } => {
                expect_op(*op)?;
                out.ops.push(Op::CreateDir {
                    path: path(p).map_err(at)?,
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
            } => {
                expect_op(*op)?;
                pending_op = Some(*op);
                pending_entries.push(TreeEntry {
                    rel: RelPath::new_in_tree(rel_path).map_err(|e| at(e.to_string()))?,
                    kind: *kind,
                    mode: *mode,
                    size: *size,
                    hash: *hash,
                    content: located(rec, *content),
                });
            }
            Record::PutTree {
                op,
                path: p,
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
                pending_op = None;
                out.ops.push(Op::PutTree(PutTree {
                    path: path(p).map_err(at)?,
                    before: *before,
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
                    before: *before,
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
    }
    if pending_op.is_some() {
        return Err("tree entries without their tree at the end".into());
    }
    Ok(out)
}
