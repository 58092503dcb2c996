//! The journal's bytes: header slots, record frames and payloads. Pure encode and decode,
//! no I/O. wal-spec.md §3–§4 is the normative description; this file follows it.

use crate::limits::{
    DIFF_CHANGES_PER_RECORD_MAX, PATH_BYTES_MAX, RECORD_HEADER_BYTES, RECORD_PAYLOAD_MAX,
};
use std::fmt;

/// Size of one header slot; the journal has two, at offsets 0 and 512.
pub const HEADER_SLOT_BYTES: u64 = 512;
/// Where records start.
pub const RECORDS_OFFSET: u64 = 4096;
pub const HEADER_MAGIC: [u8; 8] = *b"SKILLWAL";
pub const FORMAT_VERSION: u16 = 1;
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
            HeaderProblem::UnsupportedVersion(v) => {
                write!(f, "format version {v} (this build reads {FORMAT_VERSION})")
            }
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
    let mut b = [0u8; HEADER_SLOT_BYTES as usize];
    b[slot::MAGIC..slot::MAGIC + 8].copy_from_slice(&HEADER_MAGIC);
    b[slot::VERSION..slot::VERSION + 2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
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
/// 1, the slot size is 512, the records offset is 4096, the salt is not 0 and the state is
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
    if version != FORMAT_VERSION {
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
    ManifestDiff = 16,
    LockDiff = 17,
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
            16 => Kind::ManifestDiff,
            17 => Kind::LockDiff,
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
            Kind::ManifestDiff => "manifest-diff",
            Kind::LockDiff => "lock-diff",
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    Absent,
    File { size: u64, hash: Hash },
    Tree { hash: Hash },
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
    DeleteFile {
        op: u32,
        path: String,
        before: Before,
    },
    CreateDir {
        op: u32,
        path: String,
        mode: u32,
    },
    RemoveDir {
        op: u32,
        path: String,
    },
    TreeEntry {
        op: u32,
        rel_path: String,
        kind: EntryKind,
        mode: u32,
        size: u64,
        hash: Hash,
        content: Content,
    },
    PutTree {
        op: u32,
        path: String,
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
    Diff {
        manifest: bool,
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
            Record::Diff { manifest: true, .. } => Kind::ManifestDiff,
            Record::Diff {
                manifest: false, ..
            } => Kind::LockDiff,
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
        assert!(s.len() <= u16::MAX as usize, "string over u16 length");
        self.buf.extend_from_slice(&(s.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
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
    pub fn before(&mut self, b: &Before) -> &mut Self {
        match b {
            Before::Absent => self.u8(0),
            Before::File { size, hash } => self.u8(1).u64(*size).hash(hash),
            Before::Tree { hash } => self.u8(2).hash(hash),
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
    fn str16(&mut self) -> Result<String, DecodeError> {
        let b = self.take(2)?;
        let n = le_u16(b, 0) as usize;
        let bytes = self.take(n)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err("string is not UTF-8"),
        }
    }
    fn path(&mut self) -> Result<String, DecodeError> {
        let p = self.str16()?;
        if p.is_empty() || p.len() > PATH_BYTES_MAX {
            return self.err(format!("path length {} out of range", p.len()));
        }
        Ok(p)
    }
    fn opt_str32(&mut self) -> Result<Option<String>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => {
                let n = self.u32()? as usize;
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
        match self.u8()? {
            0 => Ok(Before::Absent),
            1 => Ok(Before::File {
                size: self.u64()?,
                hash: self.hash()?,
            }),
            2 => Ok(Before::Tree { hash: self.hash()? }),
            t => self.err(format!("before-state tag {t}")),
        }
    }
    /// Content tag, then for inline content its length and bytes (left in place).
    fn content(&mut self, size: u64) -> Result<Content, DecodeError> {
        match self.u8()? {
            0 => {
                let len = self.u32()?;
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

/// Decodes a payload of the given kind. Inline contents are not copied: [`Content::Inline`]
/// says where they are in `payload`.
pub fn decode_payload(kind: Kind, payload: &[u8]) -> Result<Record, DecodeError> {
    let mut r = PayloadReader {
        buf: payload,
        at: 0,
    };
    let rec = match kind {
        Kind::Begin => Record::Begin {
            time_unix_ms: r.u64()?,
            label: r.str16()?,
        },
        Kind::PutFile => {
            let op = r.u32()?;
            let path = r.path()?;
            let mode = r.u32()?;
            let before = r.before()?;
            let size = r.u64()?;
            let hash = r.hash()?;
            let staged_ino = r.u64()?;
            let content = r.content(size)?;
            if matches!(before, Before::Tree { .. }) {
                return r.err("put-file with a tree before-state");
            }
            Record::PutFile {
                op,
                path,
                mode,
                before,
                size,
                hash,
                staged_ino,
                content,
            }
        }
        Kind::DeleteFile => {
            let op = r.u32()?;
            let path = r.path()?;
            let before = r.before()?;
            if !matches!(before, Before::File { .. }) {
                return r.err("delete-file without a file before-state");
            }
            Record::DeleteFile { op, path, before }
        }
        Kind::CreateDir => Record::CreateDir {
            op: r.u32()?,
            path: r.path()?,
            mode: r.u32()?,
        },
        Kind::RemoveDir => Record::RemoveDir {
            op: r.u32()?,
            path: r.path()?,
        },
        Kind::TreeEntry => {
            let op = r.u32()?;
            let rel_path = r.path()?;
            let kind = match r.u8()? {
                1 => EntryKind::File,
                2 => EntryKind::Dir,
                t => return r.err(format!("tree entry kind {t}")),
            };
            let mode = r.u32()?;
            let (size, hash, content) = match kind {
                EntryKind::File => {
                    let size = r.u64()?;
                    let hash = r.hash()?;
                    (size, hash, r.content(size)?)
                }
                EntryKind::Dir => (0, [0u8; 32], Content::Staged),
            };
            Record::TreeEntry {
                op,
                rel_path,
                kind,
                mode,
                size,
                hash,
                content,
            }
        }
        Kind::PutTree => {
            let op = r.u32()?;
            let path = r.path()?;
            let before = r.before()?;
            if matches!(before, Before::File { .. }) {
                return r.err("put-tree with a file before-state");
            }
            Record::PutTree {
                op,
                path,
                before,
                after_hash: r.hash()?,
                staged_ino: r.u64()?,
                entry_count: r.u32()?,
            }
        }
        Kind::DeleteTree => {
            let op = r.u32()?;
            let path = r.path()?;
            let before = r.before()?;
            if !matches!(before, Before::Tree { .. }) {
                return r.err("delete-tree without a tree before-state");
            }
            Record::DeleteTree { op, path, before }
        }
        Kind::ManifestDiff | Kind::LockDiff => {
            let document = r.str16()?;
            let count = r.u32()? as usize;
            if count > DIFF_CHANGES_PER_RECORD_MAX {
                return r.err(format!("{count} changes in one record"));
            }
            let mut changes = Vec::with_capacity(count);
            for _ in 0..count {
                changes.push(FieldChange {
                    item: r.str16()?,
                    field: r.str16()?,
                    before: r.opt_str32()?,
                    after: r.opt_str32()?,
                });
            }
            Record::Diff {
                manifest: kind == Kind::ManifestDiff,
                document,
                changes,
            }
        }
        Kind::Commit => Record::Commit {
            record_count: r.u32()?,
            op_count: r.u32()?,
            digest: r.hash()?,
        },
    };
    r.end()?;
    Ok(rec)
}

/// Encodes a record payload. Inline contents are passed separately (`inline`), in record
/// order, because [`Content::Inline`] only says where they are once encoded.
pub fn encode_payload(rec: &Record, inline: Option<&[u8]>) -> Vec<u8> {
    let mut w = PayloadWriter::new();
    let content = |w: &mut PayloadWriter, c: &Content| match c {
        Content::Inline { .. } => {
            w.u8(0).bytes32(inline.expect("inline content given"));
        }
        Content::Staged => {
            w.u8(1);
        }
    };
    match rec {
        Record::Begin {
            time_unix_ms,
            label,
        } => {
            w.u64(*time_unix_ms).str16(label);
        }
        Record::PutFile {
            op,
            path,
            mode,
            before,
            size,
            hash,
            staged_ino,
            content: c,
        } => {
            w.u32(*op)
                .str16(path)
                .u32(*mode)
                .before(before)
                .u64(*size)
                .hash(hash)
                .u64(*staged_ino);
            content(&mut w, c);
        }
        Record::DeleteFile { op, path, before } | Record::DeleteTree { op, path, before } => {
            w.u32(*op).str16(path).before(before);
        }
        Record::CreateDir { op, path, mode } => {
            w.u32(*op).str16(path).u32(*mode);
        }
        Record::RemoveDir { op, path } => {
            w.u32(*op).str16(path);
        }
        Record::TreeEntry {
            op,
            rel_path,
            kind,
            mode,
            size,
            hash,
            content: c,
        } => {
            w.u32(*op).str16(rel_path);
            match kind {
                EntryKind::File => {
                    w.u8(1).u32(*mode).u64(*size).hash(hash);
                    content(&mut w, c);
                }
                EntryKind::Dir => {
                    w.u8(2).u32(*mode);
                }
            }
        }
        Record::PutTree {
            op,
            path,
            before,
            after_hash,
            staged_ino,
            entry_count,
        } => {
            w.u32(*op)
                .str16(path)
                .before(before)
                .hash(after_hash)
                .u64(*staged_ino)
                .u32(*entry_count);
        }
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

/// Payload length of every commit record.
pub const COMMIT_PAYLOAD_BYTES: u32 = 4 + 4 + 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = Header {
            sequence: 7,
            live_salt: 0xDEAD_BEEF,
            next_txn_id: 3,
            active: true,
        };
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
    fn zeroed_frame_never_validates() {
        let zero = [0u8; 32];
        let fh = FrameHeader::decode(&zero);
        assert_ne!(fh.crc, frame_crc(&zero[4..], &[]));
    }

    #[test]
    fn records_round_trip() {
        let recs = vec![
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
                },
                size: 5,
                hash: [2; 32],
                staged_ino: 9,
                content: Content::Inline { at: 0, len: 5 },
            },
            Record::DeleteTree {
                op: 1,
                path: "skills/x".into(),
                before: Before::Tree { hash: [3; 32] },
            },
            Record::Diff {
                manifest: true,
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
        ];
        for rec in recs {
            let inline: &[u8] = b"hello";
            let payload = encode_payload(&rec, Some(inline));
            let back = decode_payload(rec.kind(), &payload).expect("decodes");
            match (&rec, &back) {
                (
                    Record::PutFile { .. },
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
    fn truncated_payloads_are_errors_not_panics() {
        let rec = Record::PutTree {
            op: 0,
            path: "skills/x".into(),
            before: Before::Absent,
            after_hash: [0; 32],
            staged_ino: 1,
            entry_count: 2,
        };
        let payload = encode_payload(&rec, None);
        for cut in 0..payload.len() {
            assert!(decode_payload(Kind::PutTree, &payload[..cut]).is_err());
        }
    }
}
