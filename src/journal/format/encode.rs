//! Encoding record payloads in the current format version.

use super::*;

/// Builds a payload, little-endian.
#[derive(Default)]
pub(crate) struct PayloadWriter {
    buf: Vec<u8>,
}

impl PayloadWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn hash(&mut self, h: &Hash) -> &mut Self {
        self.buf.extend_from_slice(h);
        self
    }
    /// A string with a u16 length (paths, names, labels).
    pub(crate) fn str16(&mut self, s: &str) -> &mut Self {
        self.bytes16(s.as_bytes())
    }
    /// Bytes with a u16 length (a link's target).
    pub(crate) fn bytes16(&mut self, b: &[u8]) -> &mut Self {
        assert!(b.len() <= u16::MAX as usize, "string over u16 length");
        self.buf.extend_from_slice(&(b.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(b);
        self
    }
    /// An optional string with a u32 length.
    pub(crate) fn opt_str32(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1).u32(s.len() as u32);
                self.buf.extend_from_slice(s.as_bytes());
                self
            }
        }
    }
    pub(crate) fn bytes32(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.buf.extend_from_slice(b);
        self
    }
    /// A before-state in the current format (version 2). A file's mode must be known.
    pub(crate) fn before(&mut self, b: &Before) -> &mut Self {
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
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Encodes a record payload in the current format ([`FORMAT_VERSION`]; prepare and decision
/// records in [`FORMAT_VERSION_MULTI_ROOT`], which is version 2 and those two). Inline contents are
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
        Record::Prepare(p) | Record::Decision(p) => {
            w.buf.extend_from_slice(&p.global_id);
            w.u16(p.coordinator).u16(p.this).u16(p.roots.len() as u16);
            for r in &p.roots {
                w.buf.extend_from_slice(&r.id);
                w.bytes16(&r.root).bytes16(&r.meta);
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
