//! A streaming reader that checks what it yields against an expected size and hash.

use crate::fs::{FileHandle, FileSystem, OpenMode};
use crate::journal::format::Hash;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

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

    /// A reader of the `size` bytes at `start` of `file`: a chunk of a file being recorded
    /// (`object` false) or of a pack (`object` true), verified as [`VerifyingReader::new`]
    /// verifies a whole file.
    pub fn range(
        file: Box<dyn FileHandle>,
        path: PathBuf,
        expected: Hash,
        start: u64,
        size: u64,
        object: bool,
    ) -> VerifyingReader {
        VerifyingReader {
            start,
            range: true,
            ..VerifyingReader::new(file, path, expected, size, object)
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

/// The reader of a file object: stored whole (loose or in a pack), or in chunks.
pub enum BlobReader {
    Whole(Box<VerifyingReader>),
    Chunked(Box<ChunkedReader>),
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BlobReader::Whole(r) => r.read(buf),
            BlobReader::Chunked(r) => r.read(buf),
        }
    }
}

/// One chunk to read: the pack that holds it, where, and its hash.
pub struct ChunkAt {
    pub pack: PathBuf,
    pub offset: u64,
    pub size: u64,
    pub hash: Hash,
}

/// Reads a chunked file object (store-spec.md §2.2): each chunk in turn from its pack,
/// verified on its own, and at the end the whole against the object's size and hash, so
/// that a damaged chunk or list never completes a staged file.
pub struct ChunkedReader {
    fs: Arc<dyn FileSystem>,
    /// The chunk list, naming the object in errors.
    list: PathBuf,
    expected: Hash,
    size: u64,
    chunks: VecDeque<ChunkAt>,
    current: Option<VerifyingReader>,
    hasher: blake3::Hasher,
    offset: u64,
    done: bool,
}

impl ChunkedReader {
    pub fn new(
        fs: Arc<dyn FileSystem>,
        list: PathBuf,
        expected: Hash,
        size: u64,
        chunks: Vec<ChunkAt>,
    ) -> ChunkedReader {
        ChunkedReader {
            fs,
            list,
            expected,
            size,
            chunks: chunks.into(),
            current: None,
            hasher: blake3::Hasher::new(),
            offset: 0,
            done: false,
        }
    }

    fn damaged(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "store object {} (hash {}) is damaged ({what}); it was not used",
                self.list.display(),
                super::object::hex(&self.expected)
            ),
        )
    }
}

impl Read for ChunkedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(r) = self.current.as_mut() {
                let n = r.read(buf)?;
                if n > 0 {
                    self.offset += n as u64;
                    if self.offset > self.size {
                        return Err(self.damaged(&format!("more than {} bytes", self.size)));
                    }
                    self.hasher.update(&buf[..n]);
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(c) = self.chunks.pop_front() else {
                if self.offset != self.size {
                    return Err(
                        self.damaged(&format!("{} bytes instead of {}", self.offset, self.size))
                    );
                }
                if self.hasher.finalize().as_bytes() != &self.expected {
                    return Err(self.damaged("content does not match the hash"));
                }
                self.done = true;
                return Ok(0);
            };
            let file = self.fs.open(&c.pack, OpenMode::Read)?;
            self.current = Some(VerifyingReader::range(
                file, c.pack, c.hash, c.offset, c.size, true,
            ));
        }
    }
}
