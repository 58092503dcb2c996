//! Hint files: caches kept outside every transaction (the stat cache, the document index),
//! whose loss or damage costs only time. They are written to a temporary file renamed over
//! the old one and never synced; readers verify them (their formats carry a checksum), so
//! whatever a crash leaves is at worst ignored.

use std::io;
use std::path::Path;

use super::{FileSystem, OpenMode};

/// The bytes of the hint file at `path`; `None` when it is missing, unreadable, or larger
/// than `max` (never an error: a hint that cannot be read is ignored).
pub fn read_hint(fs: &dyn FileSystem, path: &Path, max: u64) -> Option<Vec<u8>> {
    let f = fs.open(path, OpenMode::Read).ok()?;
    let len = f.metadata().ok()?.len;
    if len > max {
        return None;
    }
    let mut bytes = vec![0u8; len as usize];
    f.read_exact_at(&mut bytes, 0).ok()?;
    Some(bytes)
}

/// Writes `bytes` to `tmp` (removing a leftover of an interrupted write first) and renames
/// it over `path`; nothing is synced. Returns whether it was written: on any failure the
/// temporary file is removed and the old hint, if any, stays.
pub fn write_hint(fs: &dyn FileSystem, tmp: &Path, path: &Path, bytes: &[u8]) -> bool {
    let create = || fs.open(tmp, OpenMode::CreateNew { mode: 0o644 });
    let file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs.remove_file(tmp).is_err() {
                return false;
            }
            create()
        }
        other => other,
    };
    let Ok(file) = file else { return false };
    let written = file
        .write_all_at(bytes, 0)
        .and_then(|()| fs.rename(tmp, path));
    if written.is_err() {
        let _ = fs.remove_file(tmp);
    }
    written.is_ok()
}

/// Reads the little-endian fields of a hint file in order; every read is `None` past the
/// end.
pub(crate) struct Cursor<'a>(pub(crate) &'a [u8]);

impl<'a> Cursor<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}
