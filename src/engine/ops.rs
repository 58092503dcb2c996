//! A transaction's operations as the engine applies them, built while staging or read back
//! from the journal's records (one representation for commit and for recovery).

use super::path::RelPath;
use super::tree_hash::TreeNode;
use crate::journal::format::{
    Before, Content, EntryKind, FieldChange, Hash, Participation, Record,
};
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

/// The nodes of a tree's entries, for its tree hash ([`crate::engine::tree_hash::tree_hash_of`]).
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

/// Field-level changes to a named document carried by the journal (informational).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
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
    /// Where each operation's record is in the journal (a put-tree's own record, after its
    /// entries): its offset and index, for errors that concern the operation.
    pub op_records: Vec<(u64, u32)>,
    pub diffs: Vec<Diff>,
    /// The prepare or decision record of a transaction across several roots (wal-spec.md
    /// §14); `None` for a transaction in one root.
    pub participation: Option<Participation>,
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
pub fn from_records(records: &[ScannedRecord]) -> Result<TxnContents, BadRecord> {
    let mut reader = RecordsReader::new(records);
    for rec in records {
        reader.take(rec)?;
    }
    reader.finish()
}

fn blame(rec: &ScannedRecord, reason: String) -> BadRecord {
    BadRecord {
        offset: rec.offset,
        record: rec.frame.index,
        reason,
    }
}

fn rel_path(p: &str) -> Result<RelPath, String> {
    RelPath::new(p).map_err(|e| e.to_string())
}

/// [`from_records`]' state between two records.
struct RecordsReader<'a> {
    out: TxnContents,
    /// The entries of the tree being read, until its put-tree record.
    pending_entries: Vec<TreeEntry>,
    /// The first tree-entry record of that tree.
    pending_tree: Option<&'a ScannedRecord>,
}

impl<'a> RecordsReader<'a> {
    fn new(records: &[ScannedRecord]) -> Self {
        RecordsReader {
            out: TxnContents {
                txn_id: records.first().map(|r| r.frame.txn_id).unwrap_or(0),
                label: String::new(),
                time_unix_ms: 0,
                ops: Vec::new(),
                op_records: Vec::new(),
                diffs: Vec::new(),
                participation: None,
            },
            pending_entries: Vec::new(),
            pending_tree: None,
        }
    }

    /// Checks that an operation's number is the next one.
    fn expect_op(&self, rec: &ScannedRecord, op: u32) -> Result<(), BadRecord> {
        let next = self.out.ops.len() as u32;
        if op != next {
            return Err(blame(
                rec,
                format!("operation number {op}, expected {next}"),
            ));
        }
        Ok(())
    }

    /// Reads the next record.
    fn take(&mut self, rec: &'a ScannedRecord) -> Result<(), BadRecord> {
        if self.out.participation.is_some() && !matches!(rec.record, Record::Commit { .. }) {
            return Err(blame(
                rec,
                "a record after the prepare or decision record, which comes last".into(),
            ));
        }
        if self.pending_tree.is_some()
            && !matches!(
                rec.record,
                Record::TreeEntry { .. } | Record::PutTree { .. }
            )
        {
            return Err(blame(rec, "tree entries not followed by their tree".into()));
        }
        match &rec.record {
            Record::Begin {
                time_unix_ms,
                label,
            } => {
                self.out.time_unix_ms = *time_unix_ms;
                self.out.label = label.clone();
            }
            Record::TreeEntry { .. } => self.tree_entry(rec)?,
            Record::PutTree { .. } => self.put_tree(rec)?,
            Record::Diff { document, changes } => self.out.diffs.push(Diff {
                document: document.clone(),
                changes: changes.clone(),
            }),
            Record::Prepare(p) | Record::Decision(p) => {
                if self.out.participation.is_some() {
                    return Err(blame(rec, "a second prepare or decision record".into()));
                }
                self.out.participation = Some(p.clone());
            }
            Record::Commit { op_count, .. } => {
                let ops = self.out.ops.len();
                if *op_count as usize != ops {
                    return Err(blame(
                        rec,
                        format!("commit counts {op_count} operations, {ops} precede it"),
                    ));
                }
            }
            _ => {
                let Some((number, op)) = file_op(rec).or_else(|| dir_op(rec)) else {
                    unreachable!("every other kind is an operation of one record")
                };
                self.expect_op(rec, number)?;
                self.out.ops.push(op.map_err(|why| blame(rec, why))?);
            }
        }
        if self.out.ops.len() > self.out.op_records.len() {
            self.out.op_records.push((rec.offset, rec.frame.index));
        }
        Ok(())
    }

    fn tree_entry(&mut self, rec: &'a ScannedRecord) -> Result<(), BadRecord> {
        let Record::TreeEntry {
            op,
            rel_path,
            kind,
            mode,
            size,
            hash,
            content,
            target,
        } = &rec.record
        else {
            unreachable!("called for tree-entry records")
        };
        self.expect_op(rec, *op)?;
        self.pending_tree.get_or_insert(rec);
        self.pending_entries.push(TreeEntry {
            rel: RelPath::new_in_tree(rel_path).map_err(|e| blame(rec, e.to_string()))?,
            kind: *kind,
            mode: *mode,
            size: *size,
            hash: *hash,
            content: located(rec, *content),
            target: target.clone(),
        });
        Ok(())
    }

    fn put_tree(&mut self, rec: &ScannedRecord) -> Result<(), BadRecord> {
        let Record::PutTree {
            op,
            path,
            mode,
            before,
            after_hash,
            staged_ino,
            entry_count,
        } = &rec.record
        else {
            unreachable!("called for put-tree records")
        };
        self.expect_op(rec, *op)?;
        let entries = self.pending_entries.len();
        if entries != *entry_count as usize {
            return Err(blame(
                rec,
                format!("tree has {entries} entries, its record says {entry_count}"),
            ));
        }
        self.pending_tree = None;
        self.out.ops.push(Op::PutTree(PutTree {
            path: rel_path(path).map_err(|why| blame(rec, why))?,
            mode: *mode,
            before: before.clone(),
            after_hash: *after_hash,
            staged_ino: *staged_ino,
            entries: std::mem::take(&mut self.pending_entries),
        }));
        Ok(())
    }

    /// The transaction, once every record was read: no tree may be left without its
    /// put-tree record, and the operations must nest as staging makes them.
    fn finish(self) -> Result<TxnContents, BadRecord> {
        if let Some(first_entry) = self.pending_tree {
            return Err(blame(
                first_entry,
                "tree entries without their tree at the end".into(),
            ));
        }
        let out = self.out;
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
}

/// The number of the operation a put-file, delete-file or put-link record describes, and
/// the operation (an error when its path is not valid); `None` for other kinds.
fn file_op(rec: &ScannedRecord) -> Option<(u32, Result<Op, String>)> {
    Some(match &rec.record {
        Record::PutFile {
            op,
            path,
            mode,
            before,
            size,
            hash,
            staged_ino,
            content,
        } => (
            *op,
            rel_path(path).map(|path| {
                Op::PutFile(PutFile {
                    path,
                    mode: *mode,
                    before: before.clone(),
                    size: *size,
                    hash: *hash,
                    staged_ino: *staged_ino,
                    content: located(rec, *content),
                })
            }),
        ),
        Record::DeleteFile { op, path, before } => (
            *op,
            rel_path(path).map(|path| Op::DeleteFile {
                path,
                before: before.clone(),
            }),
        ),
        Record::PutLink {
            op,
            path,
            before,
            target,
        } => (
            *op,
            rel_path(path).map(|path| Op::PutLink {
                path,
                before: before.clone(),
                target: target.clone(),
            }),
        ),
        _ => return None,
    })
}

/// The number of the operation a create-dir, remove-dir, set-dir-mode or delete-tree record
/// describes, and the operation (an error when its path is not valid); `None` for other
/// kinds.
fn dir_op(rec: &ScannedRecord) -> Option<(u32, Result<Op, String>)> {
    Some(match &rec.record {
        Record::CreateDir {
            op,
            path,
            mode,
            staged_ino,
        } => (
            *op,
            rel_path(path).map(|path| Op::CreateDir {
                path,
                mode: *mode,
                staged_ino: *staged_ino,
            }),
        ),
        Record::RemoveDir { op, path } => (*op, rel_path(path).map(|path| Op::RemoveDir { path })),
        Record::SetDirMode {
            op,
            path,
            before_mode,
            mode,
        } => (
            *op,
            rel_path(path).map(|path| Op::SetDirMode {
                path,
                before_mode: *before_mode,
                mode: *mode,
            }),
        ),
        Record::DeleteTree { op, path, before } => (
            *op,
            rel_path(path).map(|path| Op::DeleteTree {
                path,
                before: before.clone(),
            }),
        ),
        _ => return None,
    })
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
