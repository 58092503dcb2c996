//! Record kinds and the 32-byte frame around every payload (wal-spec.md §4.1–§4.2).

use super::*;

/// Record kinds (wal-spec.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    /// Opens a transaction: its time and label. Always the record at index 0.
    Begin = 1,
    /// Puts a file (staged, or inline in the record) at a path, replacing whatever is there.
    PutFile = 2,
    /// Deletes a file or a symbolic link.
    DeleteFile = 3,
    /// Creates a directory where nothing is.
    CreateDir = 4,
    /// Removes a directory that is empty by then.
    RemoveDir = 5,
    /// Puts a whole directory tree, staged, at a path; its tree-entry records come right
    /// before it.
    PutTree = 6,
    /// One file, directory or link of the put-tree record that follows.
    TreeEntry = 7,
    /// Deletes a directory and everything below it.
    DeleteTree = 8,
    /// Puts a symbolic link at a path, replacing whatever is there (version 2).
    PutLink = 9,
    /// Changes a directory's permission bits (version 2).
    SetDirMode = 10,
    /// In a participant of a transaction across several roots: this root's part is staged
    /// and waits for the coordinator's decision (version 3).
    Prepare = 11,
    /// In the coordinator of a transaction across several roots: the transaction commits
    /// when this record's commit record is durable (version 3).
    Decision = 12,
    /// Field-level changes to a named document, recorded for `journal inspect` (never
    /// applied): what the layer above calls a manifest or a lock diff.
    DocumentDiff = 16,
    /// Written by skillwal before the document diff was generic, for the lock; read as a
    /// [`Kind::DocumentDiff`], never written.
    LegacyLockDiff = 17,
    /// Ends a transaction: the commit point once it is durable.
    Commit = 255,
}

impl Kind {
    /// The kind whose number a frame's `kind` field holds; `None` for a number no kind has.
    pub fn from_u16(v: u16) -> Option<Kind> {
        Some(match v {
            1 => Kind::Begin,
            2 => Kind::PutFile,
            3 => Kind::DeleteFile,
            4 => Kind::CreateDir,
            5 => Kind::RemoveDir,
            6 => Kind::PutTree,
            7 => Kind::TreeEntry,
            8 => Kind::DeleteTree,
            9 => Kind::PutLink,
            10 => Kind::SetDirMode,
            11 => Kind::Prepare,
            12 => Kind::Decision,
            16 => Kind::DocumentDiff,
            17 => Kind::LegacyLockDiff,
            255 => Kind::Commit,
            _ => return None,
        })
    }
    /// The kind's name in wal-spec.md §4.2 (`put-file`, …), as `journal inspect` shows it;
    /// kind 17 is `lock-diff`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Begin => "begin",
            Kind::PutFile => "put-file",
            Kind::DeleteFile => "delete-file",
            Kind::CreateDir => "create-dir",
            Kind::RemoveDir => "remove-dir",
            Kind::PutTree => "put-tree",
            Kind::TreeEntry => "tree-entry",
            Kind::DeleteTree => "delete-tree",
            Kind::PutLink => "put-link",
            Kind::SetDirMode => "set-dir-mode",
            Kind::Prepare => "prepare",
            Kind::Decision => "decision",
            Kind::DocumentDiff => "document-diff",
            Kind::LegacyLockDiff => "lock-diff",
            Kind::Commit => "commit",
        }
    }
}

/// The fixed 32 bytes in front of every record (wal-spec.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// CRC-32 of the rest of the header and the payload, XOR [`RECORD_CRC_MASK`].
    pub crc: u32,
    /// Bytes of payload after the header (padding not counted).
    pub payload_len: u32,
    /// The salt of the transaction that wrote the record.
    pub salt: u64,
    /// Position in the transaction: 0 for the begin record, then +1 per record.
    pub index: u32,
    /// The record's [`Kind`] as a number; not checked against the known kinds here.
    pub kind: u16,
    /// Written 0; a record whose flags are not 0 is invalid (no flag is defined).
    pub flags: u16,
    /// The id of the transaction the record belongs to.
    pub txn_id: u64,
}

impl FrameHeader {
    /// Reads the fields of a frame header; checks nothing (the reader validates).
    pub fn decode(b: &[u8; RECORD_HEADER_BYTES as usize]) -> FrameHeader {
        FrameHeader {
            crc: le_u32(b, 0),
            payload_len: le_u32(b, 4),
            salt: le_u64(b, 8),
            index: le_u32(b, 16),
            kind: le_u16(b, 20),
            flags: le_u16(b, 22),
            txn_id: le_u64(b, 24),
        }
    }
}

/// Total bytes a record with this payload takes: header, payload, zero padding to 8.
pub fn frame_len(payload_len: u32) -> u64 {
    (RECORD_HEADER_BYTES + payload_len as u64).next_multiple_of(8)
}

/// The CRC a frame must carry: CRC-32 of bytes 4.. of the header and the payload (padding
/// excluded), XOR the mask.
pub fn frame_crc(header_after_crc: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header_after_crc);
    h.update(payload);
    h.finalize() ^ RECORD_CRC_MASK
}

/// Encodes a full frame (header + payload + padding).
pub fn encode_frame(salt: u64, txn_id: u64, index: u32, kind: Kind, payload: &[u8]) -> Vec<u8> {
    assert!(
        payload.len() <= RECORD_PAYLOAD_MAX as usize,
        "payload over limit"
    );
    let payload_len = payload.len() as u32;
    let mut out = Vec::with_capacity(frame_len(payload_len) as usize);
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&payload_len.to_le_bytes());
    out.extend_from_slice(&salt.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&(kind as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&txn_id.to_le_bytes());
    let crc = frame_crc(&out[4..], payload);
    out[..4].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    out.resize(frame_len(payload_len) as usize, 0);
    out
}
