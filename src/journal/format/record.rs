//! Decoded record payloads and the values they hold (wal-spec.md §4.2).

use super::*;

/// What a path held before a transaction (or must hold, for removals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    /// Nothing at the path.
    Absent,
    /// A regular file: its size, BLAKE3 hash and permission bits. `mode` is `None` only in
    /// records of format version 1, which did not record permission bits.
    File {
        /// Length in bytes.
        size: u64,
        /// BLAKE3 of the contents.
        hash: Hash,
        /// Permission bits (≤ `0o7777`); `None` in version 1.
        mode: Option<u32>,
    },
    /// A directory: its tree hash (§5) in the transaction's format version.
    Tree {
        /// The tree hash of the directory and everything below it.
        hash: Hash,
    },
    /// A symbolic link and its target (format version 2).
    Link {
        /// The link's target as stored: 1 to 4,096 bytes, no NUL, not necessarily UTF-8.
        target: Vec<u8>,
    },
}

impl Before {
    /// What kind of thing it is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Before::Absent => "nothing",
            Before::File { .. } => "a file",
            Before::Tree { .. } => "a directory",
            Before::Link { .. } => "a symbolic link",
        }
    }
}

/// Where a file's new content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// In this record's payload: `len` bytes at `at` (offset within the payload).
    Inline {
        /// Offset of the first content byte within the payload.
        at: u32,
        /// Length of the content in bytes (equal to the file's size).
        len: u32,
    },
    /// In the staging area, made durable before the commit record was written.
    Staged,
}

/// Kind of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file: mode, size, hash and content.
    File,
    /// A directory: its mode only (its contents are entries of their own).
    Dir,
    /// A symbolic link (format version 2).
    Link,
}

/// One field that a transaction changes in the manifest or the lock (engine-opaque text).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// What the field belongs to, e.g. `my-skill::skill` or `collection`.
    pub item: String,
    /// The field's name within the item, e.g. `resolved_sha`.
    pub field: String,
    /// The value before the transaction (at most 512 bytes, cut at a character boundary);
    /// `None` when the field did not exist.
    pub before: Option<String>,
    /// The value after the transaction (cut likewise); `None` when the field is removed.
    pub after: Option<String>,
}

impl fmt::Display for FieldChange {
    /// `my-skill::skill resolved_sha: "abc" -> "def"`, with `(absent)` for `None`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_owned());
        write!(
            f,
            "{} {}: {} -> {}",
            self.item,
            self.field,
            show(&self.before),
            show(&self.after)
        )
    }
}

/// One root of a transaction across several roots, as its prepare and decision records
/// name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootEntry {
    /// The root's identity (wal-spec.md §2): what it is known by.
    pub id: [u8; 16],
    /// Its path when the transaction began (absolute; where recovery looks first).
    pub root: Vec<u8>,
    /// Its engine directory's path then (absolute).
    pub meta: Vec<u8>,
}

/// What a prepare or a decision record says: which transaction across roots this root's
/// transaction is part of, which roots take part, and which of them decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participation {
    /// The transaction's identity across its roots: random, never a root's own txn id.
    pub global_id: [u8; 16],
    /// Index in `roots` of the coordinator, whose journal holds the decision.
    pub coordinator: u16,
    /// Index in `roots` of the root whose journal holds this record.
    pub this: u16,
    /// Every root of the transaction (2 to 16), identities distinct.
    pub roots: Vec<RootEntry>,
}

/// A decoded record payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The first record of every transaction.
    Begin {
        /// When the transaction began, in milliseconds since the Unix epoch.
        time_unix_ms: u64,
        /// What the transaction is for, as its caller named it (at most 1,024 bytes).
        label: String,
    },
    /// Puts a file at `path`, replacing whatever is there.
    PutFile {
        /// The operation's number (0-based, in record order).
        op: u32,
        /// The target, relative to the root, `/`-separated.
        path: String,
        /// Permission bits of the new file (≤ `0o7777`).
        mode: u32,
        /// What the target held when the operation was staged.
        before: Before,
        /// Length of the new content in bytes.
        size: u64,
        /// BLAKE3 of the new content.
        hash: Hash,
        /// Inode number of the staged file, which recovery recognizes as the engine's own.
        staged_ino: u64,
        /// Where the new content is: inline in this payload, or only in the staging area.
        content: Content,
    },
    /// Deletes a file or a symbolic link (a link only in version 2).
    DeleteFile {
        /// The operation's number.
        op: u32,
        /// The target, relative to the root.
        path: String,
        /// The file or link the target must hold.
        before: Before,
    },
    /// Creates a directory where nothing is (version 2: staged, then renamed into place).
    CreateDir {
        /// The operation's number.
        op: u32,
        /// The directory to create, relative to the root.
        path: String,
        /// Its permission bits; they give the owner read, write and search.
        mode: u32,
        /// The inode of the directory staged for it (version 2; `None` in version 1, which
        /// created the directory in place).
        staged_ino: Option<u64>,
    },
    /// Removes a directory, empty once the transaction's earlier deletions are done.
    RemoveDir {
        /// The operation's number.
        op: u32,
        /// The directory, relative to the root.
        path: String,
    },
    /// One node of the put-tree that follows (parents before children).
    TreeEntry {
        /// The op number of the put-tree it belongs to.
        op: u32,
        /// Its path relative to the tree's own directory.
        rel_path: String,
        /// File, directory or link: which of the fields below are meaningful.
        kind: EntryKind,
        /// Permission bits of a file or directory; 0 for a link.
        mode: u32,
        /// A file's length in bytes; 0 otherwise.
        size: u64,
        /// A file's BLAKE3; zeros otherwise.
        hash: Hash,
        /// Where a file's content is; [`Content::Staged`] for directories and links.
        content: Content,
        /// A link's target; empty for files and directories.
        target: Vec<u8>,
    },
    /// Puts a whole tree, staged as one directory, at `path`, replacing whatever is there.
    PutTree {
        /// The operation's number (its tree entries carry it too).
        op: u32,
        /// The target, relative to the root.
        path: String,
        /// Permission bits of the tree's own directory (version 2; `None` in version 1).
        mode: Option<u32>,
        /// What the target held when the operation was staged.
        before: Before,
        /// The tree hash (wal-spec.md §5) the target has once the tree is in place.
        after_hash: Hash,
        /// Inode number of the staged tree's own directory.
        staged_ino: u64,
        /// How many tree-entry records come right before this one.
        entry_count: u32,
    },
    /// Deletes a directory and everything below it.
    DeleteTree {
        /// The operation's number.
        op: u32,
        /// The directory, relative to the root.
        path: String,
        /// The tree the target must hold ([`Before::Tree`]).
        before: Before,
    },
    /// Creates or replaces the path with a symbolic link (version 2).
    PutLink {
        /// The operation's number.
        op: u32,
        /// The target, relative to the root.
        path: String,
        /// What the target held when the operation was staged.
        before: Before,
        /// The new link's target (1 to 4,096 bytes, no NUL).
        target: Vec<u8>,
    },
    /// Changes a directory's permission bits, nothing else (version 2).
    SetDirMode {
        /// The operation's number.
        op: u32,
        /// The directory, relative to the root.
        path: String,
        /// Its permission bits when the operation was staged.
        before_mode: u32,
        /// Its permission bits after.
        mode: u32,
    },
    /// Field-level changes to `document` (kind 16; kind 17 reads as this too). Not an
    /// operation: never applied, only shown by `journal inspect`.
    Diff {
        /// The document's name, opaque to the engine (at most 255 bytes).
        document: String,
        /// The changes, at most 32 per record.
        changes: Vec<FieldChange>,
    },
    /// A participant's part of a transaction across several roots (version 3): right
    /// before its commit record, which makes the part durable but not committed.
    Prepare(Participation),
    /// The coordinator's decision (version 3): right before its commit record, which is the
    /// commit point of the whole transaction.
    Decision(Participation),
    /// Ends the transaction; once durable, the commit point.
    Commit {
        /// How many records come before it (equal to its own index).
        record_count: u32,
        /// How many operations the transaction has.
        op_count: u32,
        /// BLAKE3 of every frame before it, padding included.
        digest: Hash,
    },
}

impl Record {
    /// The kind a frame of this record carries ([`Kind::DocumentDiff`] for every diff).
    pub fn kind(&self) -> Kind {
        match self {
            Record::Begin { .. } => Kind::Begin,
            Record::PutFile { .. } => Kind::PutFile,
            Record::DeleteFile { .. } => Kind::DeleteFile,
            Record::CreateDir { .. } => Kind::CreateDir,
            Record::RemoveDir { .. } => Kind::RemoveDir,
            Record::TreeEntry { .. } => Kind::TreeEntry,
            Record::PutTree { .. } => Kind::PutTree,
            Record::DeleteTree { .. } => Kind::DeleteTree,
            Record::PutLink { .. } => Kind::PutLink,
            Record::SetDirMode { .. } => Kind::SetDirMode,
            Record::Diff { .. } => Kind::DocumentDiff,
            Record::Prepare(_) => Kind::Prepare,
            Record::Decision(_) => Kind::Decision,
            Record::Commit { .. } => Kind::Commit,
        }
    }
}
