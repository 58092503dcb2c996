//! Decoding record payloads of every supported format version, keeping the bounds of
//! wal-spec.md §4.3 and §8.

use super::*;

/// Why a payload did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset within the payload.
    pub at: usize,
    /// What is wrong there, for messages (e.g. `content tag 7`).
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
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(le_u16(b, 0))
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

/// Decodes a payload of the given kind, written in format `version` (1 to 3: the version of
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
    if version < FORMAT_VERSION_MULTI_ROOT && matches!(kind, Kind::Prepare | Kind::Decision) {
        return r.err(format!(
            "{} records do not exist before format version {FORMAT_VERSION_MULTI_ROOT}",
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
        Kind::Prepare => Record::Prepare(r.participation(false)?),
        Kind::Decision => Record::Decision(r.participation(true)?),
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

    /// A prepare (`coordinator` false) or decision (true) payload: the coordinator's index
    /// is this root's exactly in a decision.
    fn participation(&mut self, coordinator: bool) -> Result<Participation, DecodeError> {
        let mut global_id = [0u8; 16];
        global_id.copy_from_slice(self.take(16)?);
        let (c, this, n) = (self.u16()?, self.u16()?, self.u16()? as usize);
        if !(2..=ROOTS_PER_TXN_MAX).contains(&n) {
            return self.err(format!("{n} roots (2 to {ROOTS_PER_TXN_MAX} are allowed)"));
        }
        if c as usize >= n || this as usize >= n || (c == this) != coordinator {
            return self.err(format!(
                "coordinator {c} and this root {this} do not fit a {} of {n} roots",
                if coordinator { "decision" } else { "prepare" }
            ));
        }
        let mut roots: Vec<RootEntry> = Vec::with_capacity(n);
        for _ in 0..n {
            let mut id = [0u8; 16];
            id.copy_from_slice(self.take(16)?);
            if roots.iter().any(|r| r.id == id) {
                return self.err("two roots with one identity");
            }
            roots.push(RootEntry {
                id,
                root: self.absolute_path()?,
                meta: self.absolute_path()?,
            });
        }
        Ok(Participation {
            global_id,
            coordinator: c,
            this,
            roots,
        })
    }

    /// An absolute path of a root or an engine directory: 1 to [`PATH_BYTES_MAX`] bytes
    /// starting with `/`, no NUL.
    fn absolute_path(&mut self) -> Result<Vec<u8>, DecodeError> {
        let p = self.bytes16()?;
        if p.len() > PATH_BYTES_MAX || p.first() != Some(&b'/') || p.contains(&0) {
            return self.err(format!(
                "root path of {} bytes (not absolute, too long or holding NUL)",
                p.len()
            ));
        }
        Ok(p.to_vec())
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
