//! A streaming reader that checks what it yields against an expected size and hash.

use crate::fs::FileHandle;
use crate::journal::format::Hash;
use std::io::{self, Read};
use std::path::PathBuf;

/// Reads a file through the file-system layer and, at its end, fails with
/// `InvalidData` unless exactly the expected number of bytes with the expected BLAKE3 hash
/// went through. A transaction staging from it therefore never completes a file whose
/// bytes are not the ones addressed.
pub struct VerifyingReader {
    file: Box<dyn FileHandle>,
    path: PathBuf,
    expected: Hash,
    size: u64,
    offset: u64,
    /// Where the bytes begin in the file: 0 for a loose object or a captured file, the
    /// object's offset in a pack (then exactly `size` bytes are read from there).
    start: u64,
    /// Whether the bytes are a range of a larger file (a pack) rather than a whole file.
    range: bool,
    hasher: blake3::Hasher,
    /// Reading a store object (a mismatch is damage) or a file being captured (a mismatch
    /// means it changed since it was hashed).
    object: bool,
    done: bool,
}

impl VerifyingReader {
    pub fn new(
        file: Box<dyn FileHandle>,
        path: PathBuf,
        expected: Hash,
        size: u64,
        object: bool,
    ) -> VerifyingReader {
        VerifyingReader {
            file,
            path,
            expected,
            size,
            offset: 0,
            start: 0,
            range: false,
            hasher: blake3::Hasher::new(),
            object,
            done: false,
        }
    }

    /// A reader of the `size` bytes at `start` in a pack `file` (store-spec.md §2.1), which
    /// fails at their end unless they hash to `expected`, and when the file ends before them.
    pub fn in_pack(
        file: Box<dyn FileHandle>,
        path: PathBuf,
        expected: Hash,
        start: u64,
        size: u64,
    ) -> VerifyingReader {
        VerifyingReader {
            start,
            range: true,
            ..VerifyingReader::new(file, path, expected, size, true)
        }
    }

    fn mismatch(&self, what: &str) -> io::Error {
        let msg = if self.object {
            format!(
                "store object {} (hash {}) is damaged ({what}); it was not used",
                self.path.display(),
                super::object::hex(&self.expected)
            )
        } else {
            format!(
                "{} changed while it was being recorded ({what}); try again",
                self.path.display()
            )
        };
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }
}

impl Read for VerifyingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let want = if self.range {
            buf.len()
                .min((self.size - self.offset).min(usize::MAX as u64) as usize)
        } else {
            buf.len()
        };
        let n = if want == 0 {
            0
        } else {
            self.file
                .read_at(&mut buf[..want], self.start + self.offset)?
        };
        if n == 0 {
            if self.offset != self.size {
                return Err(
                    self.mismatch(&format!("{} bytes instead of {}", self.offset, self.size))
                );
            }
            if self.hasher.finalize().as_bytes() != &self.expected {
                return Err(self.mismatch("content does not match the hash"));
            }
            self.done = true;
            return Ok(0);
        }
        self.offset += n as u64;
        if self.offset > self.size {
            return Err(self.mismatch(&format!("more than {} bytes", self.size)));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
