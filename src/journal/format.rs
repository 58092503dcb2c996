//! The journal's bytes: header slots, record frames and payloads. Pure encode and decode,
//! no I/O. wal-spec.md §3–§4 is the normative description; this file follows it.

use crate::limits::{
    DIFF_CHANGES_PER_RECORD_MAX, DIFF_NAME_BYTES_MAX, DIFF_VALUE_BYTES_MAX, INLINE_CONTENT_MAX,
    LABEL_BYTES_MAX, PATH_BYTES_MAX, PATH_DEPTH_MAX, RECORD_HEADER_BYTES, RECORD_PAYLOAD_MAX,
    TREE_ENTRIES_MAX,
};
use std::fmt;

/// Size of one header slot; the journal has two, at offsets 0 and 512.
pub const HEADER_SLOT_BYTES: u64 = 512;
/// Where records start.
pub const RECORDS_OFFSET: u64 = 4096;
pub const HEADER_MAGIC: [u8; 8] = *b"SKILLWAL";
/// The format version this build writes (wal-spec.md §13).
pub const FORMAT_VERSION: u16 = 2;
/// The oldest format version this build still reads (and recovers), so that a transaction
/// interrupted under an older skillwal is completed by a newer one.
pub const FORMAT_VERSION_OLDEST: u16 = 1;
/// XORed into every record CRC, so that zeroed space never validates.
pub const RECORD_CRC_MASK: u32 = 0x5357_414C;
/// XORed into the header CRC.
pub const HEADER_CRC_MASK: u32 = 0x4844_5221;

/// A BLAKE3 digest.
pub type Hash = [u8; 32];

/// Lowercase hex of a hash (or any bytes).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// One header slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The format version of this slot, and of the records of the transaction it describes:
    /// [`FORMAT_VERSION`] for every header this build writes; an older supported version
    /// only as read from a journal an older skillwal left (wal-spec.md §3.1, §13).
    pub version: u16,
    /// Increases by one at every header write; the valid slot with the larger one is current.
    pub sequence: u64,
    /// Records belong to the journal's live transaction only if they carry this salt.
    pub live_salt: u64,
    /// The id the next transaction takes.
    pub next_txn_id: u64,
    /// Whether a transaction may have records in the journal. Written (unsynced) by
    /// `begin`, made durable by the commit's `fdatasync`; cleared when the salt is retired.
    /// An idle header means no record can be live, and recovery reads no further.
    pub active: bool,
}

/// Why a header slot is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    BadMagic,
    UnsupportedVersion(u16),
    BadChecksum { stored: u32, computed: u32 },
    BadField(&'static str),
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderProblem::BadMagic => write!(f, "magic is not \"SKILLWAL\""),
            HeaderProblem::UnsupportedVersion(v) => write!(
                f,
                "format version {v} (this build reads {FORMAT_VERSION_OLDEST} to {FORMAT_VERSION})"
            ),
            HeaderProblem::BadChecksum { stored, computed } => {
                write!(f, "checksum 0x{stored:08x} should be 0x{computed:08x}")
            }
            HeaderProblem::BadField(what) => write!(f, "invalid {what}"),
        }
    }
}

/// Slot offsets within a header slot (wal-spec.md §3.1).
mod slot {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const SLOT_BYTES: usize = 10;
    pub const SEQUENCE: usize = 16;
    pub const LIVE_SALT: usize = 24;
    pub const RECORDS_OFFSET: usize = 32;
    pub const NEXT_TXN_ID: usize = 40;
    pub const STATE: usize = 48;
    pub const CRC: usize = 508;
}

pub fn encode_header(h: &Header) -> [u8; HEADER_SLOT_BYTES as usize] {
    debug_assert!(h.live_salt != 0, "salt 0 is reserved");
    debug_assert!(
        (FORMAT_VERSION_OLDEST..=FORMAT_VERSION).contains(&h.version),
        "a header of an unknown version"
    );
    let mut b = [0u8; HEADER_SLOT_BYTES as usize];
    b[slot::MAGIC..slot::MAGIC + 8].copy_from_slice(&HEADER_MAGIC);
    b[slot::VERSION..slot::VERSION + 2].copy_from_slice(&h.version.to_le_bytes());
    b[slot::SLOT_BYTES..slot::SLOT_BYTES + 2]
        .copy_from_slice(&(HEADER_SLOT_BYTES as u16).to_le_bytes());
    b[slot::SEQUENCE..slot::SEQUENCE + 8].copy_from_slice(&h.sequence.to_le_bytes());
    b[slot::LIVE_SALT..slot::LIVE_SALT + 8].copy_from_slice(&h.live_salt.to_le_bytes());
    b[slot::RECORDS_OFFSET..slot::RECORDS_OFFSET + 8]
        .copy_from_slice(&RECORDS_OFFSET.to_le_bytes());
    b[slot::NEXT_TXN_ID..slot::NEXT_TXN_ID + 8].copy_from_slice(&h.next_txn_id.to_le_bytes());
    b[slot::STATE] = u8::from(h.active);
    let crc = crc32fast::hash(&b[..slot::CRC]) ^ HEADER_CRC_MASK;
    b[slot::CRC..slot::CRC + 4].copy_from_slice(&crc.to_le_bytes());
    b
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Decodes one 512-byte slot. Valid iff the magic matches, the CRC matches, the version is
/// one this build reads ([`FORMAT_VERSION_OLDEST`]..=[`FORMAT_VERSION`]), the slot size is 512, the records offset is 4096, the salt is not 0 and the state is
/// 0 or 1.
pub fn decode_header(b: &[u8; HEADER_SLOT_BYTES as usize]) -> Result<Header, HeaderProblem> {
    if b[slot::MAGIC..slot::MAGIC + 8] != HEADER_MAGIC {
        return Err(HeaderProblem::BadMagic);
    }
    let stored = le_u32(b, slot::CRC);
    let computed = crc32fast::hash(&b[..slot::CRC]) ^ HEADER_CRC_MASK;
    if stored != computed {
        return Err(HeaderProblem::BadChecksum { stored, computed });
    }
    let version = le_u16(b, slot::VERSION);
    if !(FORMAT_VERSION_OLDEST..=FORMAT_VERSION).contains(&version) {
        return Err(HeaderProblem::UnsupportedVersion(version));
    }
    if le_u16(b, slot::SLOT_BYTES) as u64 != HEADER_SLOT_BYTES {
        return Err(HeaderProblem::BadField("slot size"));
    }
    if le_u64(b, slot::RECORDS_OFFSET) != RECORDS_OFFSET {
        return Err(HeaderProblem::BadField("records offset"));
    }
    let active = match b[slot::STATE] {
        0 => false,
        1 => true,
        _ => return Err(HeaderProblem::BadField("state")),
    };
    let h = Header {
        version,
        sequence: le_u64(b, slot::SEQUENCE),
        live_salt: le_u64(b, slot::LIVE_SALT),
        next_txn_id: le_u64(b, slot::NEXT_TXN_ID),
        active,
    };
    if h.live_salt == 0 {
        return Err(HeaderProblem::BadField("salt (0)"));
    }
    Ok(h)
}

/// Record kinds (wal-spec.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    Begin = 1,
    PutFile = 2,
    DeleteFile = 3,
    CreateDir = 4,
    RemoveDir = 5,
    PutTree = 6,
    TreeEntry = 7,
    DeleteTree = 8,
    PutLink = 9,
    SetDirMode = 10,
    /// Field-level changes to a named document, recorded for `journal inspect` (never
    /// applied): what the layer above calls a manifest or a lock diff.
    DocumentDiff = 16,
    /// Written by skillwal before the document diff was generic, for the lock; read as a
    /// [`Kind::DocumentDiff`], never written.
    LegacyLockDiff = 17,
    Commit = 255,
}

impl Kind {
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
            16 => Kind::DocumentDiff,
            17 => Kind::LegacyLockDiff,
            255 => Kind::Commit,
            _ => return None,
        })
    }
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
            Kind::DocumentDiff => "document-diff",
            Kind::LegacyLockDiff => "lock-diff",
            Kind::Commit => "commit",
        }
    }
}

/// The fixed 32 bytes in front of every record (wal-spec.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub crc: u32,
    pub payload_len: u32,
    pub salt: u64,
    pub index: u32,
    pub kind: u16,
    /// Written 0; a record whose flags are not 0 is invalid (no flag is defined).
    pub flags: u16,
    pub txn_id: u64,
}

impl FrameHeader {
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

/// What a path held before a transaction (or must hold, for removals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    Absent,
    /// A regular file: its size, BLAKE3 hash and permission bits. `mode` is `None` only in
    /// records of format version 1, which did not record permission bits.
    File {
        size: u64,
        hash: Hash,
        mode: Option<u32>,
    },
    /// A directory: its tree hash (§5) in the transaction's format version.
    Tree {
        hash: Hash,
    },
    /// A symbolic link and its target (format version 2).
    Link {
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
    Inline { at: u32, len: u32 },
    /// In the staging area, made durable before the commit record was written.
    Staged,
}

/// Kind of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symbolic link (format version 2).
    Link,
}

/// One field that a transaction changes in the manifest or the lock (engine-opaque text).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    /// What the field belongs to, e.g. `my-skill::skill` or `collection`.
    pub item: String,
    pub field: String,
    pub before: Option<String>,
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

/// A decoded record payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Begin {
        time_unix_ms: u64,
        label: String,
    },
    PutFile {
        op: u32,
        path: String,
        mode: u32,
        before: Before,
        size: u64,
        hash: Hash,
        staged_ino: u64,
        content: Content,
    },
    /// Deletes a file or a symbolic link (a link only in version 2).
    DeleteFile {
        op: u32,
        path: String,
        before: Before,
    },
    CreateDir {
        op: u32,
        path: String,
        mode: u32,
        /// The inode of the directory staged for it (version 2; `None` in version 1, which
        /// created the directory in place).
        staged_ino: Option<u64>,
    },
    RemoveDir {
        op: u32,
        path: String,
    },
    TreeEntry {
        op: u32,
        rel_path: String,
        kind: EntryKind,
        /// Permission bits of a file or directory; 0 for a link.
        mode: u32,
        size: u64,
        hash: Hash,
        content: Content,
        /// A link's target; empty for files and directories.
        target: Vec<u8>,
    },
    PutTree {
        op: u32,
        path: String,
        /// Permission bits of the tree's own directory (version 2; `None` in version 1).
        mode: Option<u32>,
        before: Before,
        after_hash: Hash,
        staged_ino: u64,
        entry_count: u32,
    },
    DeleteTree {
        op: u32,
        path: String,
        before: Before,
    },
    /// Creates or replaces the path with a symbolic link (version 2).
    PutLink {
        op: u32,
        path: String,
        before: Before,
        target: Vec<u8>,
    },
    /// Changes a directory's permission bits, nothing else (version 2).
    SetDirMode {
        op: u32,
        path: String,
        before_mode: u32,
        mode: u32,
    },
    /// Field-level changes to `document` (kind 16; kind 17 reads as this too).
    Diff {
        document: String,
        changes: Vec<FieldChange>,
    },
    Commit {
        record_count: u32,
        op_count: u32,
        digest: Hash,
    },
}

impl Record {
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
            Record::Commit { .. } => Kind::Commit,
        }
    }
}

/// Builds a payload, little-endian.
#[derive(Default)]
pub struct PayloadWriter {
    buf: Vec<u8>,
}

impl PayloadWriter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn hash(&mut self, h: &Hash) -> &mut Self {
        self.buf.extend_from_slice(h);
        self
    }
    /// A string with a u16 length (paths, names, labels).
    pub fn str16(&mut self, s: &str) -> &mut Self {
        self.bytes16(s.as_bytes())
    }
    /// Bytes with a u16 length (a link's target).
    pub fn bytes16(&mut self, b: &[u8]) -> &mut Self {
        assert!(b.len() <= u16::MAX as usize, "string over u16 length");
        self.buf.extend_from_slice(&(b.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(b);
        self
    }
    /// An optional string with a u32 length.
    pub fn opt_str32(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1).u32(s.len() as u32);
                self.buf.extend_from_slice(s.as_bytes());
                self
            }
        }
    }
    pub fn bytes32(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.buf.extend_from_slice(b);
        self
    }
    /// A before-state in the current format (version 2). A file's mode must be known.
    pub fn before(&mut self, b: &Before) -> &mut Self {
        match b {
            Before::Absent => self.u8(0),
            Before::File { size, hash, mode } => self
                .u8(1)
                .u64(*size)
                .hash(hash)
                .u32(mode.expect("version 2 records a file's mode")),
            Before::Tree { hash } => self.u8(2).hash(hash),
            Before::Link { target } => self.u8(3).bytes16(target),
        }
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Why a payload did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset within the payload.
    pub at: usize,
    pub what: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at payload byte {}", self.what, self.at)
    }
}

struct PayloadReader<'a> {
    buf: &'a [u8],
    at: usize,
    /// The format version the payload was written in.
    version: u16,
}

impl<'a> PayloadReader<'a> {
    fn err<T>(&self, what: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            at: self.at,
            what: what.into(),
        })
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() - self.at < n {
            return self.err(format!("payload ends early (needs {n} more bytes)"));
        }
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(le_u32(b, 0))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        Ok(le_u64(b, 0))
    }
    fn hash(&mut self) -> Result<Hash, DecodeError> {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.take(32)?);
        Ok(h)
    }
    fn bytes16(&mut self) -> Result<&'a [u8], DecodeError> {
        let b = self.take(2)?;
        let n = le_u16(b, 0) as usize;
        self.take(n)
    }
    fn str16(&mut self) -> Result<String, DecodeError> {
        let bytes = self.bytes16()?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err("string is not UTF-8"),
        }
    }
    /// A string of at most `max` bytes: the bound the writer keeps (wal-spec.md §8), so
    /// that a reader never takes in more than a writer would have written.
    fn str16_max(&mut self, max: usize, what: &str) -> Result<String, DecodeError> {
        let s = self.str16()?;
        if s.len() > max {
            return self.err(format!("{what} of {} bytes, over the limit {max}", s.len()));
        }
        Ok(s)
    }
    fn path(&mut self) -> Result<String, DecodeError> {
        let p = self.str16()?;
        if p.is_empty() || p.len() > PATH_BYTES_MAX {
            return self.err(format!("path length {} out of range", p.len()));
        }
        let depth = p.split('/').count();
        if depth > PATH_DEPTH_MAX {
            return self.err(format!(
                "path of {depth} components, over the limit {PATH_DEPTH_MAX}"
            ));
        }
        Ok(p)
    }
    /// A link's target: 1 to [`PATH_BYTES_MAX`] bytes, no NUL.
    fn target(&mut self) -> Result<Vec<u8>, DecodeError> {
        let t = self.bytes16()?;
        if t.is_empty() || t.len() > PATH_BYTES_MAX || t.contains(&0) {
            return self.err(format!(
                "link target of {} bytes (empty, too long or holding NUL)",
                t.len()
            ));
        }
        Ok(t.to_vec())
    }
    fn mode(&mut self) -> Result<u32, DecodeError> {
        let m = self.u32()?;
        if m > 0o7777 {
            return self.err(format!("permission bits 0o{m:o} out of range"));
        }
        Ok(m)
    }
    /// An optional string of at most `max` bytes.
    fn opt_str32(&mut self, max: usize) -> Result<Option<String>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => {
                let n = self.u32()? as usize;
                if n > max {
                    return self.err(format!("value of {n} bytes, over the limit {max}"));
                }
                let bytes = self.take(n)?;
                match std::str::from_utf8(bytes) {
                    Ok(s) => Ok(Some(s.to_string())),
                    Err(_) => self.err("string is not UTF-8"),
                }
            }
            t => self.err(format!("option tag {t}")),
        }
    }
    fn before(&mut self) -> Result<Before, DecodeError> {
        let v1 = self.version == 1;
        match self.u8()? {
            0 => Ok(Before::Absent),
            1 => Ok(Before::File {
                size: self.u64()?,
                hash: self.hash()?,
                mode: if v1 { None } else { Some(self.mode()?) },
            }),
            2 => Ok(Before::Tree { hash: self.hash()? }),
            3 if !v1 => Ok(Before::Link {
                target: self.target()?,
            }),
            t => self.err(format!("before-state tag {t}")),
        }
    }
    /// Content tag, then for inline content its length and bytes (left in place).
    fn content(&mut self, size: u64) -> Result<Content, DecodeError> {
        match self.u8()? {
            0 => {
                let len = self.u32()?;
                if u64::from(len) > INLINE_CONTENT_MAX {
                    return self.err(format!(
                        "inline content of {len} bytes, over the limit {INLINE_CONTENT_MAX}"
                    ));
                }
                if len as u64 != size {
                    return self.err(format!("inline length {len} differs from size {size}"));
                }
                let at = self.at as u32;
                self.take(len as usize)?;
                Ok(Content::Inline { at, len })
            }
            1 => Ok(Content::Staged),
            t => self.err(format!("content tag {t}")),
        }
    }
    fn end(&self) -> Result<(), DecodeError> {
        if self.at != self.buf.len() {
            return self.err(format!("{} bytes left over", self.buf.len() - self.at));
        }
        Ok(())
    }
}

/// Decodes a payload of the given kind, written in format `version` (1 or 2: the version of
/// the header that made the transaction active). Inline contents are not copied:
/// [`Content::Inline`] says where they are in `payload`.
pub fn decode_payload(kind: Kind, payload: &[u8], version: u16) -> Result<Record, DecodeError> {
    let mut r = PayloadReader {
        buf: payload,
        at: 0,
        version,
    };
    let v1 = version == 1;
    if v1 && matches!(kind, Kind::PutLink | Kind::SetDirMode) {
        return r.err(format!(
            "{} records do not exist in format version 1",
            kind.name()
        ));
    }
    let rec = match kind {
        Kind::Begin => Record::Begin {
            time_unix_ms: r.u64()?,
            label: r.str16_max(LABEL_BYTES_MAX, "label")?,
        },
        Kind::PutFile => r.put_file()?,
        Kind::DeleteFile => r.delete_file()?,
        Kind::CreateDir => Record::CreateDir {
            op: r.u32()?,
            path: r.path()?,
            mode: r.mode()?,
            staged_ino: if v1 { None } else { Some(r.u64()?) },
        },
        Kind::RemoveDir => Record::RemoveDir {
            op: r.u32()?,
            path: r.path()?,
        },
        Kind::TreeEntry => r.tree_entry()?,
        Kind::PutTree => r.put_tree()?,
        Kind::DeleteTree => r.delete_tree()?,
        Kind::PutLink => Record::PutLink {
            op: r.u32()?,
            path: r.path()?,
            before: r.before()?,
            target: r.target()?,
        },
        Kind::SetDirMode => Record::SetDirMode {
            op: r.u32()?,
            path: r.path()?,
            before_mode: r.mode()?,
            mode: r.mode()?,
        },
        Kind::DocumentDiff | Kind::LegacyLockDiff => r.diff()?,
        Kind::Commit => Record::Commit {
            record_count: r.u32()?,
            op_count: r.u32()?,
            digest: r.hash()?,
        },
    };
    r.end()?;
    Ok(rec)
}

/// The payloads of [`decode_payload`] that take more than reading their fields in order.
impl PayloadReader<'_> {
    fn put_file(&mut self) -> Result<Record, DecodeError> {
        let op = self.u32()?;
        let path = self.path()?;
        let mode = self.mode()?;
        let before = self.before()?;
        let size = self.u64()?;
        let hash = self.hash()?;
        let staged_ino = self.u64()?;
        let content = self.content(size)?;
        if self.version == 1 && matches!(before, Before::Tree { .. }) {
            return self.err("put-file with a tree before-state");
        }
        Ok(Record::PutFile {
            op,
            path,
            mode,
            before,
            size,
            hash,
            staged_ino,
            content,
        })
    }

    fn delete_file(&mut self) -> Result<Record, DecodeError> {
        let op = self.u32()?;
        let path = self.path()?;
        let before = self.before()?;
        if !matches!(before, Before::File { .. } | Before::Link { .. }) {
            return self.err("delete-file without a file or link before-state");
        }
        Ok(Record::DeleteFile { op, path, before })
    }

    fn tree_entry(&mut self) -> Result<Record, DecodeError> {
        let op = self.u32()?;
        let rel_path = self.path()?;
        let kind = match self.u8()? {
            1 => EntryKind::File,
            2 => EntryKind::Dir,
            3 if self.version != 1 => EntryKind::Link,
            t => return self.err(format!("tree entry kind {t}")),
        };
        let (mut mode, mut size, mut hash) = (0, 0, [0u8; 32]);
        let (mut content, mut target) = (Content::Staged, Vec::new());
        match kind {
            EntryKind::File => {
                mode = self.mode()?;
                size = self.u64()?;
                hash = self.hash()?;
                content = self.content(size)?;
            }
            EntryKind::Dir => mode = self.mode()?,
            EntryKind::Link => target = self.target()?,
        }
        Ok(Record::TreeEntry {
            op,
            rel_path,
            kind,
            mode,
            size,
            hash,
            content,
            target,
        })
    }

    fn put_tree(&mut self) -> Result<Record, DecodeError> {
        let v1 = self.version == 1;
        let op = self.u32()?;
        let path = self.path()?;
        let mode = if v1 { None } else { Some(self.mode()?) };
        let before = self.before()?;
        if v1 && matches!(before, Before::File { .. }) {
            return self.err("put-tree with a file before-state");
        }
        Ok(Record::PutTree {
            op,
            path,
            mode,
            before,
            after_hash: self.hash()?,
            staged_ino: self.u64()?,
            entry_count: {
                let n = self.u32()?;
                if n > TREE_ENTRIES_MAX {
                    return self.err(format!(
                        "{n} tree entries, over the limit {TREE_ENTRIES_MAX}"
                    ));
                }
                n
            },
        })
    }

    fn delete_tree(&mut self) -> Result<Record, DecodeError> {
        let op = self.u32()?;
        let path = self.path()?;
        let before = self.before()?;
        if !matches!(before, Before::Tree { .. }) {
            return self.err("delete-tree without a tree before-state");
        }
        Ok(Record::DeleteTree { op, path, before })
    }

    /// A document-diff payload (kind 16, or the legacy lock-diff 17).
    fn diff(&mut self) -> Result<Record, DecodeError> {
        let document = self.str16_max(DIFF_NAME_BYTES_MAX, "document name")?;
        let count = self.u32()? as usize;
        if count > DIFF_CHANGES_PER_RECORD_MAX {
            return self.err(format!("{count} changes in one record"));
        }
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            changes.push(FieldChange {
                item: self.str16_max(DIFF_NAME_BYTES_MAX, "item")?,
                field: self.str16_max(DIFF_NAME_BYTES_MAX, "field")?,
                before: self.opt_str32(DIFF_VALUE_BYTES_MAX)?,
                after: self.opt_str32(DIFF_VALUE_BYTES_MAX)?,
            });
        }
        Ok(Record::Diff { document, changes })
    }
}

/// Encodes a record payload in the current format ([`FORMAT_VERSION`]). Inline contents are
/// passed separately (`inline`), in record order, because [`Content::Inline`] only says
/// where they are once encoded.
pub fn encode_payload(rec: &Record, inline: Option<&[u8]>) -> Vec<u8> {
    let mut w = PayloadWriter::new();
    match rec {
        Record::Begin {
            time_unix_ms,
            label,
        } => {
            w.u64(*time_unix_ms).str16(label);
        }
        Record::PutFile { .. }
        | Record::DeleteFile { .. }
        | Record::PutLink { .. }
        | Record::TreeEntry { .. } => encode_file_payload(&mut w, rec, inline),
        Record::CreateDir { .. }
        | Record::RemoveDir { .. }
        | Record::PutTree { .. }
        | Record::DeleteTree { .. }
        | Record::SetDirMode { .. } => encode_dir_payload(&mut w, rec),
        Record::Diff {
            document, changes, ..
        } => {
            w.str16(document).u32(changes.len() as u32);
            for c in changes {
                w.str16(&c.item)
                    .str16(&c.field)
                    .opt_str32(c.before.as_deref())
                    .opt_str32(c.after.as_deref());
            }
        }
        Record::Commit {
            record_count,
            op_count,
            digest,
        } => {
            w.u32(*record_count).u32(*op_count).hash(digest);
        }
    }
    w.finish()
}

/// A content tag, and for inline content its length and bytes (`inline`).
fn encode_content(w: &mut PayloadWriter, c: &Content, inline: Option<&[u8]>) {
    match c {
        Content::Inline { .. } => {
            w.u8(0).bytes32(inline.expect("inline content given"));
        }
        Content::Staged => {
            w.u8(1);
        }
    }
}

/// The payload of a put-file, delete-file, put-link or tree-entry record.
fn encode_file_payload(w: &mut PayloadWriter, rec: &Record, inline: Option<&[u8]>) {
    match rec {
        Record::PutFile {
            op,
            path,
            mode,
            before,
            size,
            hash,
            staged_ino,
            content,
        } => {
            w.u32(*op)
                .str16(path)
                .u32(*mode)
                .before(before)
                .u64(*size)
                .hash(hash)
                .u64(*staged_ino);
            encode_content(w, content, inline);
        }
        Record::DeleteFile { op, path, before } => {
            w.u32(*op).str16(path).before(before);
        }
        Record::PutLink {
            op,
            path,
            before,
            target,
        } => {
            w.u32(*op).str16(path).before(before).bytes16(target);
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
            w.u32(*op).str16(rel_path);
            match kind {
                EntryKind::File => {
                    w.u8(1).u32(*mode).u64(*size).hash(hash);
                    encode_content(w, content, inline);
                }
                EntryKind::Dir => {
                    w.u8(2).u32(*mode);
                }
                EntryKind::Link => {
                    w.u8(3).bytes16(target);
                }
            }
        }
        other => unreachable!("{} is not a file record", other.kind().name()),
    }
}

/// The payload of a create-dir, remove-dir, put-tree, delete-tree or set-dir-mode record.
fn encode_dir_payload(w: &mut PayloadWriter, rec: &Record) {
    match rec {
        Record::CreateDir {
            op,
            path,
            mode,
            staged_ino,
        } => {
            w.u32(*op)
                .str16(path)
                .u32(*mode)
                .u64(staged_ino.expect("version 2 stages a created directory"));
        }
        Record::RemoveDir { op, path } => {
            w.u32(*op).str16(path);
        }
        Record::PutTree {
            op,
            path,
            mode,
            before,
            after_hash,
            staged_ino,
            entry_count,
        } => {
            w.u32(*op)
                .str16(path)
                .u32(mode.expect("version 2 records a tree's mode"))
                .before(before)
                .hash(after_hash)
                .u64(*staged_ino)
                .u32(*entry_count);
        }
        Record::DeleteTree { op, path, before } => {
            w.u32(*op).str16(path).before(before);
        }
        Record::SetDirMode {
            op,
            path,
            before_mode,
            mode,
        } => {
            w.u32(*op).str16(path).u32(*before_mode).u32(*mode);
        }
        other => unreachable!("{} is not a directory record", other.kind().name()),
    }
}

/// Payload length of every commit record.
pub const COMMIT_PAYLOAD_BYTES: u32 = 4 + 4 + 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u16) -> Header {
        Header {
            version,
            sequence: 7,
            live_salt: 0xDEAD_BEEF,
            next_txn_id: 3,
            active: true,
        }
    }

    /// A reader keeps the writer's bounds (wal-spec.md §8): a record with one field just
    /// over its bound is refused, the same record at the bound is read.
    #[test]
    fn every_bound_the_writer_keeps_is_enforced_when_reading() {
        let v = FORMAT_VERSION;
        let begin = |n: usize| Record::Begin {
            time_unix_ms: 1,
            label: "l".repeat(n),
        };
        let diff = |name: usize, value: usize| Record::Diff {
            document: "d".repeat(name),
            changes: vec![FieldChange {
                item: "i".into(),
                field: "f".into(),
                before: Some("v".repeat(value)),
                after: None,
            }],
        };
        let dir = |depth: usize| Record::CreateDir {
            op: 0,
            path: vec!["a"; depth].join("/"),
            mode: 0o755,
            staged_ino: Some(1),
        };
        let tree = |entries: u32| Record::PutTree {
            op: 0,
            path: "t".into(),
            mode: Some(0o755),
            before: Before::Absent,
            after_hash: [0; 32],
            staged_ino: 1,
            entry_count: entries,
        };
        let cases = [
            (begin(LABEL_BYTES_MAX), begin(LABEL_BYTES_MAX + 1)),
            (
                diff(DIFF_NAME_BYTES_MAX, 1),
                diff(DIFF_NAME_BYTES_MAX + 1, 1),
            ),
            (
                diff(1, DIFF_VALUE_BYTES_MAX),
                diff(1, DIFF_VALUE_BYTES_MAX + 1),
            ),
            (dir(PATH_DEPTH_MAX), dir(PATH_DEPTH_MAX + 1)),
            (tree(TREE_ENTRIES_MAX), tree(TREE_ENTRIES_MAX + 1)),
        ];
        for (at, over) in cases {
            let ok = encode_payload(&at, None);
            assert_eq!(decode_payload(at.kind(), &ok, v).unwrap(), at);
            let bad = encode_payload(&over, None);
            let err = decode_payload(over.kind(), &bad, v).unwrap_err();
            assert!(err.to_string().contains("over the limit"), "{err}");
        }
    }

    #[test]
    fn a_legacy_lock_diff_reads_as_a_document_diff_and_diffs_are_written_as_kind_16() {
        let rec = Record::Diff {
            document: "collection.lock".into(),
            changes: vec![FieldChange {
                item: "x::skill".into(),
                field: "content_hash".into(),
                before: None,
                after: Some("ab".into()),
            }],
        };
        assert_eq!(rec.kind(), Kind::DocumentDiff);
        assert_eq!(Kind::DocumentDiff as u16, 16);
        let payload = encode_payload(&rec, None);
        for kind in [Kind::DocumentDiff, Kind::LegacyLockDiff] {
            assert_eq!(Kind::from_u16(kind as u16), Some(kind));
            assert_eq!(decode_payload(kind, &payload, FORMAT_VERSION).unwrap(), rec);
        }
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = header(FORMAT_VERSION);
        let mut b = encode_header(&h);
        assert_eq!(decode_header(&b), Ok(h));
        b[30] ^= 1;
        assert!(matches!(
            decode_header(&b),
            Err(HeaderProblem::BadChecksum { .. })
        ));
        assert_eq!(decode_header(&[0u8; 512]), Err(HeaderProblem::BadMagic));
    }

    #[test]
    fn header_versions_read_are_exactly_the_supported_ones() {
        assert_eq!(decode_header(&encode_header(&header(1))), Ok(header(1)));
        // A slot of another version, with a valid checksum, is recognised as such.
        for v in [0u16, FORMAT_VERSION + 1, u16::MAX] {
            let mut b = encode_header(&header(FORMAT_VERSION));
            b[8..10].copy_from_slice(&v.to_le_bytes());
            let crc = crc32fast::hash(&b[..508]) ^ HEADER_CRC_MASK;
            b[508..512].copy_from_slice(&crc.to_le_bytes());
            assert_eq!(decode_header(&b), Err(HeaderProblem::UnsupportedVersion(v)));
        }
    }

    #[test]
    fn zeroed_frame_never_validates() {
        let zero = [0u8; 32];
        let fh = FrameHeader::decode(&zero);
        assert_ne!(fh.crc, frame_crc(&zero[4..], &[]));
    }

    fn every_record() -> Vec<Record> {
        vec![
            Record::Begin {
                time_unix_ms: 1,
                label: "add x".into(),
            },
            Record::PutFile {
                op: 0,
                path: "a/b".into(),
                mode: 0o644,
                before: Before::File {
                    size: 3,
                    hash: [1; 32],
                    mode: Some(0o755),
                },
                size: 5,
                hash: [2; 32],
                staged_ino: 9,
                content: Content::Inline { at: 0, len: 5 },
            },
            Record::PutFile {
                op: 1,
                path: "a/c".into(),
                mode: 0o600,
                before: Before::Tree { hash: [5; 32] },
                size: 0,
                hash: [6; 32],
                staged_ino: 10,
                content: Content::Staged,
            },
            Record::DeleteFile {
                op: 2,
                path: "a/l".into(),
                before: Before::Link {
                    target: b"../x".to_vec(),
                },
            },
            Record::CreateDir {
                op: 3,
                path: "d".into(),
                mode: 0o750,
                staged_ino: Some(11),
            },
            Record::TreeEntry {
                op: 4,
                rel_path: "l".into(),
                kind: EntryKind::Link,
                mode: 0,
                size: 0,
                hash: [0; 32],
                content: Content::Staged,
                target: b"SKILL.md".to_vec(),
            },
            Record::TreeEntry {
                op: 4,
                rel_path: "sub".into(),
                kind: EntryKind::Dir,
                mode: 0o555,
                size: 0,
                hash: [0; 32],
                content: Content::Staged,
                target: Vec::new(),
            },
            Record::PutTree {
                op: 4,
                path: "skills/x".into(),
                mode: Some(0o700),
                before: Before::File {
                    size: 1,
                    hash: [7; 32],
                    mode: Some(0o644),
                },
                after_hash: [8; 32],
                staged_ino: 12,
                entry_count: 2,
            },
            Record::DeleteTree {
                op: 5,
                path: "skills/y".into(),
                before: Before::Tree { hash: [3; 32] },
            },
            Record::PutLink {
                op: 6,
                path: "skills/z/link".into(),
                before: Before::Absent,
                target: b"../a".to_vec(),
            },
            Record::SetDirMode {
                op: 7,
                path: "skills/z".into(),
                before_mode: 0o755,
                mode: 0o700,
            },
            Record::Diff {
                document: "collection.toml".into(),
                changes: vec![FieldChange {
                    item: "x::skill".into(),
                    field: "resolved_sha".into(),
                    before: Some("abc".into()),
                    after: None,
                }],
            },
            Record::Commit {
                record_count: 4,
                op_count: 2,
                digest: [4; 32],
            },
        ]
    }

    #[test]
    fn records_round_trip() {
        for rec in every_record() {
            let inline: &[u8] = b"hello";
            let payload = encode_payload(&rec, Some(inline));
            let back = decode_payload(rec.kind(), &payload, FORMAT_VERSION).expect("decodes");
            match (&rec, &back) {
                (
                    Record::PutFile {
                        content: Content::Inline { .. },
                        ..
                    },
                    Record::PutFile {
                        content: Content::Inline { at, len },
                        ..
                    },
                ) => {
                    assert_eq!(&payload[*at as usize..(*at + *len) as usize], inline);
                }
                _ => assert_eq!(rec, back),
            }
        }
    }

    #[test]
    fn version_1_payloads_decode_without_modes_and_refuse_what_it_had_not() {
        // A version-1 put-file: op, path, mode, before (a file without mode), size, hash,
        // staged inode, content (staged).
        let mut w = PayloadWriter::new();
        w.u32(0).str16("a").u32(0o644).u8(1).u64(3).hash(&[1; 32]);
        w.u64(5).hash(&[2; 32]).u64(9).u8(1);
        let p = w.finish();
        let rec = decode_payload(Kind::PutFile, &p, 1).expect("a version-1 put-file");
        assert!(matches!(
            rec,
            Record::PutFile {
                before: Before::File { mode: None, .. },
                ..
            }
        ));
        assert!(
            decode_payload(Kind::PutFile, &p, 2).is_err(),
            "not a version-2 payload"
        );
        // Version 1 had no links, no set-dir-mode, no tree mode, no staged directories.
        let mut w = PayloadWriter::new();
        w.u32(0).str16("d").u32(0o755);
        let created = decode_payload(Kind::CreateDir, &w.finish(), 1).expect("create-dir");
        assert!(matches!(
            created,
            Record::CreateDir {
                staged_ino: None,
                ..
            }
        ));
        for rec in every_record() {
            if matches!(rec, Record::PutLink { .. } | Record::SetDirMode { .. }) {
                let payload = encode_payload(&rec, None);
                assert!(decode_payload(rec.kind(), &payload, 1).is_err());
            }
        }
    }

    #[test]
    fn truncated_payloads_are_errors_not_panics() {
        for rec in every_record() {
            let payload = encode_payload(&rec, Some(b"hello"));
            for cut in 0..payload.len() {
                assert!(decode_payload(rec.kind(), &payload[..cut], FORMAT_VERSION).is_err());
                // Read as version 1 a prefix may even decode (a version-2 create-dir less its
                // staged inode is a version-1 one); it must not panic.
                let _ = decode_payload(rec.kind(), &payload[..cut], 1);
            }
        }
    }

    #[test]
    fn modes_and_targets_out_of_range_are_refused() {
        let rec = Record::SetDirMode {
            op: 0,
            path: "d".into(),
            before_mode: 0o755,
            mode: 0o10000,
        };
        assert!(decode_payload(Kind::SetDirMode, &encode_payload(&rec, None), 2).is_err());
        let rec = Record::PutLink {
            op: 0,
            path: "l".into(),
            before: Before::Absent,
            target: b"a\0b".to_vec(),
        };
        assert!(decode_payload(Kind::PutLink, &encode_payload(&rec, None), 2).is_err());
    }
}
