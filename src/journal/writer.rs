//! Writing the journal file: creating it, rewriting a header slot, appending frames.

use super::format::{
    self, HEADER_SLOT_BYTES, Header, Kind, RECORDS_OFFSET, encode_frame, encode_header,
};
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileHandle, FileSystem, OpenMode};
use std::path::{Path, PathBuf};

/// The open journal file and its current header.
pub struct JournalFile {
    pub path: PathBuf,
    pub file: Box<dyn FileHandle>,
    pub header: Header,
    /// Which slot holds `header`; the next header write goes to the other one.
    pub slot: usize,
}

impl JournalFile {
    /// Creates the journal at `path` durably (wal-spec.md §6.1): writes `tmp` (both header
    /// slots, zeros up to the preallocated size), syncs it, renames it to `path` and syncs
    /// the directory. `salt` becomes the first live salt; `prealloc` is the size made (at least
    /// the header area).
    pub fn create(
        fs: &dyn FileSystem,
        path: &Path,
        tmp: &Path,
        salt: u64,
        prealloc: u64,
    ) -> Result<JournalFile> {
        let dir = path.parent().expect("journal path has a parent");
        match fs.remove_file(tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", tmp, e)),
        }
        let file = fs
            .open(tmp, OpenMode::CreateNew { mode: 0o644 })
            .ctx("create", tmp)?;
        let header = Header {
            version: format::FORMAT_VERSION,
            sequence: 1,
            live_salt: salt,
            next_txn_id: 1,
            active: false,
        };
        let mut area = vec![0u8; prealloc.max(format::RECORDS_OFFSET) as usize];
        area[..HEADER_SLOT_BYTES as usize].copy_from_slice(&encode_header(&header));
        // Slot 1 holds the same header with sequence 0, so both slots are valid from the start.
        let older = Header {
            sequence: 0,
            ..header
        };
        area[HEADER_SLOT_BYTES as usize..2 * HEADER_SLOT_BYTES as usize]
            .copy_from_slice(&encode_header(&older));
        file.write_all_at(&area, 0).ctx("write", tmp)?;
        file.sync_all().ctx("fsync", tmp)?;
        fs.rename(tmp, path).ctx("rename", path)?;
        fs.sync_dir(dir).ctx("fsync directory", dir)?;
        Ok(JournalFile {
            path: path.to_path_buf(),
            file,
            header,
            slot: 0,
        })
    }

    /// Writes `header` into the slot not holding the current one. Does not sync.
    pub fn write_header(&mut self, header: Header) -> Result<()> {
        debug_assert!(header.sequence > self.header.sequence);
        let slot = 1 - self.slot;
        self.file
            .write_all_at(&encode_header(&header), slot as u64 * HEADER_SLOT_BYTES)
            .ctx("write journal header", &self.path)?;
        self.header = header;
        self.slot = slot;
        Ok(())
    }

    /// `fdatasync` of the journal. A failure is final (never retried).
    pub fn sync(&self) -> Result<()> {
        Ok(self.file.sync_data().ctx("fsync", &self.path)?)
    }
}

/// Appends one transaction's frames: numbers them, salts them, and keeps the running
/// digest the commit record carries.
pub struct TxnWriter {
    pub salt: u64,
    pub txn_id: u64,
    /// Where its first frame goes: [`RECORDS_OFFSET`], or in a run past the transaction
    /// before it.
    pub start_offset: u64,
    pub next_offset: u64,
    pub next_index: u32,
    digest: blake3::Hasher,
}

impl TxnWriter {
    pub fn new(salt: u64, txn_id: u64) -> TxnWriter {
        TxnWriter {
            salt,
            txn_id,
            start_offset: RECORDS_OFFSET,
            next_offset: RECORDS_OFFSET,
            next_index: 0,
            digest: blake3::Hasher::new(),
        }
    }

    /// A writer whose first frame goes at `offset`: the next transaction of a run
    /// (wal-spec.md §6.6).
    pub fn at(salt: u64, txn_id: u64, offset: u64) -> TxnWriter {
        TxnWriter {
            start_offset: offset,
            next_offset: offset,
            ..TxnWriter::new(salt, txn_id)
        }
    }

    /// Writes a frame for `payload` at the end; returns its offset. Does not sync.
    pub fn append(&mut self, journal: &JournalFile, kind: Kind, payload: &[u8]) -> Result<u64> {
        let frame = encode_frame(self.salt, self.txn_id, self.next_index, kind, payload);
        let offset = self.next_offset;
        journal
            .file
            .write_all_at(&frame, offset)
            .ctx("write journal", &journal.path)?;
        self.digest.update(&frame);
        self.next_offset += frame.len() as u64;
        self.next_index += 1;
        Ok(offset)
    }

    /// The digest of every frame appended so far.
    pub fn digest(&self) -> format::Hash {
        *self.digest.finalize().as_bytes()
    }
}
