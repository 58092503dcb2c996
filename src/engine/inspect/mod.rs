//! `journal inspect`: what a journal file holds, record by record, as a value (this module
//! prints nothing). Read-only, works on a journal copied anywhere, never trusts the bytes:
//! every length is checked before it is used, and damage is reported, not fatal.
//!
//! This module holds the report's types, serialized as they are for `journal inspect
//! --json`; `read` builds the report from the file, `view` turns decoded records into
//! their views.

use crate::journal::format::FieldChange;
use serde::Serialize;

mod read;
mod view;

pub use read::inspect;

/// One header slot.
#[derive(Debug, Clone, Serialize)]
pub struct SlotView {
    /// 0 or 1.
    pub slot: usize,
    /// Byte offset of the slot in the file (0 or 512).
    pub offset: u64,
    /// Whether the slot decodes as a valid header (wal-spec.md §3.1).
    pub valid: bool,
    /// The slot's format version, when valid.
    pub version: Option<u16>,
    /// Whether this is the current header: the valid slot with the larger sequence.
    pub current: bool,
    /// The slot's sequence number, when valid.
    pub sequence: Option<u64>,
    /// The slot's live salt as 16 hex digits, when valid.
    pub live_salt: Option<String>,
    /// The id the next transaction takes, when valid.
    pub next_txn_id: Option<u64>,
    /// Why the slot is not valid (magic, checksum, version or a field), when it is not.
    pub problem: Option<String>,
}

/// A before-state.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum BeforeView {
    /// Nothing was at the path.
    Absent,
    /// A regular file.
    File {
        /// Length in bytes.
        size: u64,
        /// BLAKE3 of the contents, hex.
        hash: String,
        /// Octal permission bits; absent in format version 1, which did not record them.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
    },
    /// A directory.
    Tree {
        /// Its tree hash (wal-spec.md §5), hex.
        hash: String,
    },
    /// A symbolic link.
    Link {
        /// Its target; bytes that are not UTF-8 are shown as U+FFFD.
        target: String,
    },
}

/// A record's contents, for people and scripts: the fields of
/// [`Record`](crate::journal::format::Record) with hashes in hex, modes in octal and link
/// targets as (lossy) text. `op` is the operation's number, `path` its target relative to
/// the root.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RecordView {
    /// The transaction's first record.
    Begin {
        /// What the transaction is for, as its caller named it.
        label: String,
        /// When it began, in milliseconds since the Unix epoch.
        time_unix_ms: u64,
    },
    /// Puts a file at `path`.
    PutFile {
        /// The operation's number.
        op: u32,
        /// The target.
        path: String,
        /// Permission bits of the new file, octal.
        mode: String,
        /// What the target held when the operation was staged.
        before: BeforeView,
        /// Length of the new content in bytes.
        size: u64,
        /// BLAKE3 of the new content, hex.
        hash: String,
        /// `inline` (in the record) or `staged` (only in the staging area).
        content: &'static str,
    },
    /// Deletes a file or a link.
    DeleteFile {
        /// The operation's number.
        op: u32,
        /// The target.
        path: String,
        /// The file or link the target must hold.
        before: BeforeView,
    },
    /// Creates a directory.
    CreateDir {
        /// The operation's number.
        op: u32,
        /// The directory to create.
        path: String,
        /// Its permission bits, octal.
        mode: String,
    },
    /// Puts a symbolic link at `path`.
    PutLink {
        /// The operation's number.
        op: u32,
        /// The target.
        path: String,
        /// What the target held when the operation was staged.
        before: BeforeView,
        /// The new link's target.
        target: String,
    },
    /// Changes a directory's permission bits.
    SetDirMode {
        /// The operation's number.
        op: u32,
        /// The directory.
        path: String,
        /// Its permission bits when the operation was staged, octal.
        before_mode: String,
        /// Its permission bits after, octal.
        mode: String,
    },
    /// Removes an empty directory.
    RemoveDir {
        /// The operation's number.
        op: u32,
        /// The directory.
        path: String,
    },
    /// One node of the put-tree that follows it.
    TreeEntry {
        /// The op number of its put-tree.
        op: u32,
        /// Its path relative to the tree's own directory.
        path: String,
        /// `file`, `dir` or `link`.
        entry: &'static str,
        /// Permission bits, octal; absent for a link.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        /// A file's length in bytes; 0 for the others.
        size: u64,
        /// A file's BLAKE3, hex; `None` for the others.
        hash: Option<String>,
        /// A file's `inline` or `staged`; `None` for the others.
        content: Option<&'static str>,
        /// A link's target; absent for the others.
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// Puts a whole tree at `path`.
    PutTree {
        /// The operation's number.
        op: u32,
        /// The target.
        path: String,
        /// Octal permission bits of the tree's directory; absent in format version 1.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        /// What the target held when the operation was staged.
        before: BeforeView,
        /// The tree hash the target has once the tree is in place, hex.
        after_tree_hash: String,
        /// How many tree-entry records the tree has.
        entries: u32,
    },
    /// Deletes a directory and everything below it.
    DeleteTree {
        /// The operation's number.
        op: u32,
        /// The directory.
        path: String,
        /// The tree the target must hold.
        before: BeforeView,
    },
    /// Field-level changes to a named document (informational; recovery never applies
    /// them).
    DocumentDiff {
        /// The document's name, as the layer that recorded it gave it.
        document: String,
        /// The changes, in record order.
        changes: Vec<FieldChange>,
    },
    /// A participant's part of a transaction across several roots, waiting for the
    /// coordinator's decision.
    Prepare(ParticipationView),
    /// The coordinator's decision: the whole transaction commits with this record's commit
    /// record.
    Decision(ParticipationView),
    /// The transaction's last record.
    Commit {
        /// How many records come before it.
        records: u32,
        /// How many operations the transaction has.
        operations: u32,
        /// BLAKE3 of every frame before it, hex.
        digest: String,
    },
}

impl RecordView {
    /// The path, relative to the root, that the record's operation changes; `None` for a
    /// record that changes no path of its own (begin, commit, a tree's entry — inside its
    /// put-tree's path —, a document diff, a prepare or decision record).
    pub fn root_path(&self) -> Option<&str> {
        match self {
            RecordView::PutFile { path, .. }
            | RecordView::DeleteFile { path, .. }
            | RecordView::CreateDir { path, .. }
            | RecordView::PutLink { path, .. }
            | RecordView::SetDirMode { path, .. }
            | RecordView::RemoveDir { path, .. }
            | RecordView::PutTree { path, .. }
            | RecordView::DeleteTree { path, .. } => Some(path),
            RecordView::Begin { .. }
            | RecordView::TreeEntry { .. }
            | RecordView::DocumentDiff { .. }
            | RecordView::Prepare(_)
            | RecordView::Decision(_)
            | RecordView::Commit { .. } => None,
        }
    }
}

/// A prepare or decision record (wal-spec.md §14).
#[derive(Debug, Clone, Serialize)]
pub struct ParticipationView {
    /// The transaction's identity across its roots, hex.
    pub global_id: String,
    /// Index in `roots` of the coordinator.
    pub coordinator: u16,
    /// Index in `roots` of the root whose journal this is.
    pub this: u16,
    /// Every root of the transaction.
    pub roots: Vec<RootView>,
}

/// One root of a transaction across several roots.
#[derive(Debug, Clone, Serialize)]
pub struct RootView {
    /// Its identity, hex.
    pub id: String,
    /// Its path when the transaction began (lossy text).
    pub root: String,
    /// Its engine directory's path then (lossy text).
    pub meta: String,
}

/// One valid record.
#[derive(Debug, Clone, Serialize)]
pub struct RecordEntry {
    /// The record's index in its transaction (0 for the begin record).
    pub index: u32,
    /// Byte offset of its frame in the file.
    pub offset: u64,
    /// Its payload's length in bytes (frame header and padding not counted).
    pub payload_len: u32,
    /// The id of the transaction it belongs to.
    pub txn_id: u64,
    /// What it holds (its fields appear flattened into the entry's JSON).
    #[serde(flatten)]
    pub record: RecordView,
}

/// The transaction's state as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnState {
    /// No record of the live transaction.
    None,
    /// Records without a valid commit record: never happened (recovery rolls it back).
    Uncommitted,
    /// Committed: recovery completes it.
    Committed,
    /// A committed transaction with damage inside: recovery refuses it.
    Corrupt,
    /// No valid header: the live transaction cannot be known.
    Unreadable,
}

/// Where and why the valid records end.
#[derive(Debug, Clone, Serialize)]
pub struct StopView {
    /// Byte offset of the first record that is not valid.
    pub offset: u64,
    /// The index that record should have had.
    pub index: u32,
    /// Why it is not valid (or `end of file`), for people.
    pub reason: String,
}

/// Everything `journal inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The journal file read, as given.
    pub path: String,
    /// Its length in bytes.
    pub file_len: u64,
    /// Both header slots, in file order; empty when the file is too short to hold them.
    pub slots: Vec<SlotView>,
    /// What recovery would make of the live transaction.
    pub state: TxnState,
    /// The live transaction's id, when it has a valid record.
    pub txn_id: Option<u64>,
    /// The live transaction's label, from its begin record.
    pub label: Option<String>,
    /// When the live transaction began (Unix milliseconds), from its begin record.
    pub time_unix_ms: Option<u64>,
    /// The salt records were matched against, 16 hex digits: the current header's, or
    /// without a valid header the first frame's (then `salt_from_header` is false).
    pub salt: Option<String>,
    /// Whether `salt` is the current header's live salt.
    pub salt_from_header: bool,
    /// The committed transactions of a run before the live one (wal-spec.md §6.6: several
    /// committed transactions that one checkpoint retires together), in order; empty
    /// without a run. Recovery completes them whatever the live one's state.
    pub run: Vec<RunTxn>,
    /// The live transaction's valid records, from offset 4096 on (in a run, from the end of
    /// the transaction before it).
    pub records: Vec<RecordEntry>,
    /// Where the valid records end (absent when they end with a commit record).
    pub stop: Option<StopView>,
    /// Valid records past damage, when a commit record lies beyond it.
    pub beyond_damage: Vec<RecordEntry>,
    /// Byte offset of the valid commit record, when one was found (also past damage).
    pub commit_offset: Option<u64>,
    /// When no transaction is live: the last one, whose salt the older header slot still
    /// holds (retired: completed and durable, or aborted). History only; never applied.
    pub previous: Option<PreviousTxn>,
    /// Decisions of transactions across roots kept beside the journal for roots that could
    /// not be reached (wal-spec.md §14.5).
    pub kept_decisions: Vec<crate::engine::multi_root::decisions::KeptDecision>,
}

/// A committed transaction of a run before the live one (wal-spec.md §6.6).
#[derive(Debug, Clone, Serialize)]
pub struct RunTxn {
    /// Its id.
    pub txn_id: u64,
    /// Its label, from its begin record.
    pub label: Option<String>,
    /// When it began (Unix milliseconds), from its begin record.
    pub time_unix_ms: Option<u64>,
    /// Byte offset of its commit record.
    pub commit_offset: u64,
    /// Its records, begin to commit.
    pub records: Vec<RecordEntry>,
}

/// The last retired transaction, read with the older header slot's salt.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousTxn {
    /// Its id.
    pub txn_id: u64,
    /// Its label, when its first record left is its begin record.
    pub label: Option<String>,
    /// When it began (Unix milliseconds), likewise.
    pub time_unix_ms: Option<u64>,
    /// Whether it had a valid commit record (it completed) or not (it was aborted).
    pub committed: bool,
    /// Its records still valid under its salt (later transactions may have overwritten
    /// the rest).
    pub records: Vec<RecordEntry>,
}
