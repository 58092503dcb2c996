//! Staging new bytes: streamed into a staged file, kept for the journal when small, synced
//! when large; and appending the records that describe them.

use super::Transaction;
use crate::engine::ops::Located;
use crate::engine::path::RelPath;
use crate::error::{Error, IoContext, IoError, Result};
use crate::fs::{FileHandle, OpenMode};
use crate::journal::format::{Hash, Record, encode_payload};
use crate::limits::{INLINE_CONTENT_MAX, RECORD_HEADER_BYTES, STREAM_BUFFER_BYTES};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
fn read_fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Appends to `buf` what `r` yields until `limit` bytes or its end, reading straight into
/// the buffer as it grows; returns how many bytes were read.
fn read_up_to(r: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    r.take(limit as u64).read_to_end(buf)
}

/// Staged content of one file.
pub(super) struct Staged {
    pub size: u64,
    pub hash: Hash,
    pub ino: u64,
    /// The bytes, when small enough to go inline in the journal.
    pub inline: Option<Vec<u8>>,
}

impl Transaction<'_> {
    /// Appends a record; returns where its inline bytes (the last field of put-file and
    /// tree-entry payloads, when present) are in the journal.
    pub(super) fn append(&mut self, rec: &Record, inline: Option<&[u8]>) -> Result<Located> {
        let payload = encode_payload(rec, inline);
        let offset = self
            .writer
            .append(self.session.journal(), rec.kind(), &payload)?;
        Ok(match inline {
            Some(b) => Located::Journal {
                offset: offset + RECORD_HEADER_BYTES + (payload.len() - b.len()) as u64,
                len: b.len() as u32,
            },
            None => Located::Staged,
        })
    }

    /// Streams `content` into a new file at `dest`. Up to `INLINE_CONTENT_MAX` (while the
    /// transaction's inline budget lasts) it is kept for the journal; larger content is synced, and its
    /// directories up to the staging directory are noted for a sync before commit.
    pub(super) fn stage_content(
        &mut self,
        dest: &Path,
        content: &mut dyn Read,
        mode: u32,
        target: &RelPath,
    ) -> Result<Staged> {
        let fs = self.session.fs.clone();
        let file = fs
            .open(dest, OpenMode::CreateNew { mode })
            .ctx("create", dest)?;
        let ino = file.metadata().ctx("stat", dest)?.ino;
        let read_err = |e: io::Error| {
            Error::from(IoError::new(
                "read new content for",
                PathBuf::from(target.as_str()),
                e,
            ))
        };
        // Read up to one byte past the inline limit, into a buffer that grows with what the
        // reader yields (not one of the limit's size: most contents are a few KiB).
        let mut buf = Vec::with_capacity(STREAM_BUFFER_BYTES);
        let n = read_up_to(content, &mut buf, INLINE_CONTENT_MAX as usize + 1).map_err(read_err)?;
        let room = self
            .session
            .layout
            .budget
            .inline_per_txn
            .saturating_sub(self.inline_bytes);
        let mut hasher = blake3::Hasher::new();
        hasher.update(&buf[..n]);
        file.write_all_at(&buf[..n], 0).ctx("write", dest)?;
        if n as u64 <= INLINE_CONTENT_MAX && n as u64 <= room {
            buf.truncate(n);
            self.inline_bytes += n as u64;
            return Ok(Staged {
                size: n as u64,
                hash: *hasher.finalize().as_bytes(),
                ino,
                inline: Some(buf),
            });
        }
        buf.clear();
        buf.resize(STREAM_BUFFER_BYTES, 0);
        buf.shrink_to(STREAM_BUFFER_BYTES);
        let size = stream_rest(
            content,
            file.as_ref(),
            dest,
            &mut buf,
            n as u64,
            &mut hasher,
            &read_err,
        )?;
        // fsync, not fdatasync: the file's permission bits are part of what it must hold.
        if let Err(e) = file.sync_all().ctx("fsync", dest).map_err(Error::from) {
            self.session.poison(&e);
            return Err(e);
        }
        self.note_dirs_for_sync(dest);
        Ok(Staged {
            size,
            hash: *hasher.finalize().as_bytes(),
            ino,
            inline: None,
        })
    }

    /// Notes every directory from `dest`'s parent up to the staging directory for a sync
    /// before the commit: the entries of a large staged file must be durable by then.
    fn note_dirs_for_sync(&mut self, dest: &Path) {
        let staging = self.staging().to_path_buf();
        let mut dir = dest.parent();
        while let Some(d) = dir {
            self.sync_before_commit.insert(d.to_path_buf());
            if d == staging {
                break;
            }
            dir = d.parent();
        }
    }
}

/// Copies the rest of `content` into `file` (the staged file `dest`) from offset `size` on,
/// through `buf`, hashing it into `hasher`; returns the file's final size. A read failure
/// becomes an error by `read_err`.
fn stream_rest(
    content: &mut dyn Read,
    file: &dyn FileHandle,
    dest: &Path,
    buf: &mut [u8],
    mut size: u64,
    hasher: &mut blake3::Hasher,
    read_err: &dyn Fn(io::Error) -> Error,
) -> Result<u64> {
    loop {
        let k = read_fill(content, buf).map_err(read_err)?;
        if k == 0 {
            return Ok(size);
        }
        hasher.update(&buf[..k]);
        file.write_all_at(&buf[..k], size).ctx("write", dest)?;
        size += k as u64;
    }
}
