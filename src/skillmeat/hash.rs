//! SkillMeat's `content_hash`, bit for bit.
//!
//! - A file artifact: SHA-256 of the file's bytes.
//! - A directory artifact: one SHA-256 over every regular file below the directory, in sorted
//!   order of relative paths compared component by component (so `sub/b.txt` comes before
//!   `sub.txt`, unlike a plain string sort); for each file, the UTF-8 bytes of its relative
//!   path with components joined by `/`, then its bytes. No separators, no lengths. Empty
//!   directories contribute nothing.
//!
//! The result is 64 lowercase hex digits. SkillMeat compares this hash with the lock's
//! `content_hash` to decide whether an artifact has local modifications, so any deviation
//! would make every artifact look modified.
//!
//! Symbolic links below the root are read as SkillMeat reads them: a link that resolves to a
//! regular file counts under the link's own path with the bytes it resolves to; a link to a
//! directory is not descended into and a dangling or looping link counts nothing. Reading
//! follows the link wherever it goes (outside the artifact too, as SkillMeat does; skillwal
//! never writes through one, and [`super::links`] says which links an artifact may hold).
//!
//! Where skillwal is stricter than SkillMeat (each an error, never a silently different hash):
//! - The artifact's own path may not be a symbolic link ([`Error::Symlink`]).
//! - Sockets, FIFOs and devices are rejected ([`Error::NotRegularFile`]); SkillMeat skips
//!   them. Opening a FIFO would block.
//! - File names that are not UTF-8 are rejected ([`Error::NonUtf8Name`]); SkillMeat fails
//!   on them too (its UTF-8 encode raises).
//! - Trees deeper than [`HASH_DEPTH_MAX`] or with more than [`HASH_FILES_MAX`] files are
//!   rejected ([`Error::LimitExceeded`]).
//!
//! Files are streamed through one fixed buffer of [`HASH_BUFFER_BYTES`]; no file is ever read
//! into memory whole.
//!
//! The `_in` variants read through a [`FileSystem`] (a collection's files, so that the
//! simulated file system and the fault injector see those reads); the others read the real
//! file system (sources outside any collection).

use std::io;
use std::path::{Path, PathBuf};

use crate::fs::real::RealFs;
use crate::fs::{FileKind, FileSystem, OpenMode};

use sha2::{Digest, Sha256};

use super::format::error::{Error, Result};
use super::names::ArtifactType;

/// Size of the one read buffer a hash uses.
pub const HASH_BUFFER_BYTES: usize = 64 * 1024;
/// Deepest directory nesting below an artifact root that a directory hash accepts.
pub const HASH_DEPTH_MAX: usize = 128;
/// Most files a directory hash accepts.
pub const HASH_FILES_MAX: usize = 1_000_000;

/// The content hash of an artifact of type `artifact_type` stored at `path`: the directory
/// hash for skills, the file hash for commands and agents.
pub fn content_hash(path: &Path, artifact_type: ArtifactType) -> Result<String> {
    content_hash_in(&RealFs, path, artifact_type)
}

/// [`content_hash`], reading through `fs`.
pub fn content_hash_in(
    fs: &dyn FileSystem,
    path: &Path,
    artifact_type: ArtifactType,
) -> Result<String> {
    if artifact_type.is_directory() {
        dir_hash(fs, path)
    } else {
        file_hash(fs, path)
    }
}

/// SHA-256 of the bytes of the regular file at `path`, lowercase hex.
///
/// Fails with [`Error::Symlink`] if `path` is a symbolic link, [`Error::WrongKind`] if it is a
/// directory, [`Error::NotRegularFile`] if it is anything else that is not a regular file,
/// and [`Error::Io`] when reading fails.
pub fn content_hash_file(path: &Path) -> Result<String> {
    file_hash(&RealFs, path)
}

fn file_hash(fs: &dyn FileSystem, path: &Path) -> Result<String> {
    check_kind(fs, path, Kind::File)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; HASH_BUFFER_BYTES];
    feed_file(fs, &mut hasher, path, &mut buffer)?;
    Ok(to_hex(&hasher.finalize()))
}

/// SkillMeat's directory hash of the tree at `path`, lowercase hex (see the module docs).
///
/// Fails with [`Error::Symlink`] / [`Error::NotRegularFile`] / [`Error::NonUtf8Name`] for
/// the first such entry met, [`Error::WrongKind`] if `path` is not a directory,
/// [`Error::LimitExceeded`] for trees beyond the limits, and [`Error::Io`] when listing or
/// reading fails.
pub fn content_hash_dir(path: &Path) -> Result<String> {
    dir_hash(&RealFs, path)
}

fn dir_hash(fs: &dyn FileSystem, path: &Path) -> Result<String> {
    check_kind(fs, path, Kind::Dir)?;
    let mut files = list_files(fs, path)?;
    // Vec<String> compares element by element, and String compares by bytes, which for UTF-8
    // is the code point order Python uses for `str`: exactly `sorted(Path.rglob("*"))`.
    files.sort_unstable();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; HASH_BUFFER_BYTES];
    for (components, resolved) in &files {
        hasher.update(components.join("/").as_bytes());
        let file_path = match resolved {
            Some(p) => p.clone(),
            None => {
                let mut p = path.to_path_buf();
                p.extend(components);
                p
            }
        };
        feed_file(fs, &mut hasher, &file_path, &mut buffer)?;
    }
    Ok(to_hex(&hasher.finalize()))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    File,
    Dir,
}

/// Checks that `path` itself (not following links) is of the `wanted` kind.
fn check_kind(fs: &dyn FileSystem, path: &Path, wanted: Kind) -> Result<()> {
    let kind = fs
        .metadata(path)
        .map_err(|source| io_error(path, source))?
        .kind;
    match (wanted, kind) {
        (_, FileKind::Symlink) => Err(Error::Symlink {
            path: path.to_path_buf(),
        }),
        (Kind::File, FileKind::File) | (Kind::Dir, FileKind::Dir) => Ok(()),
        (Kind::File, FileKind::Dir) => Err(Error::WrongKind {
            path: path.to_path_buf(),
            expected: "a regular file",
        }),
        (Kind::Dir, FileKind::File) => Err(Error::WrongKind {
            path: path.to_path_buf(),
            expected: "a directory",
        }),
        _ => Err(Error::NotRegularFile {
            path: path.to_path_buf(),
        }),
    }
}

/// Every regular file below `root`, and every link that resolves to one (with the link-free
/// path it resolves to), as relative path components, in no particular order.
type Listed = (Vec<String>, Option<PathBuf>);

fn list_files(fs: &dyn FileSystem, root: &Path) -> Result<Vec<Listed>> {
    let mut files = Vec::new();
    // Explicit stack instead of recursion: depth is bounded by HASH_DEPTH_MAX either way, but
    // this keeps the native stack flat.
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(dir_components) = pending.pop() {
        let mut dir = root.to_path_buf();
        dir.extend(&dir_components);
        let entries = fs.read_dir(&dir).map_err(|source| io_error(&dir, source))?;
        for entry in entries {
            let entry_path = dir.join(&entry.name);
            let name = entry.name.into_string().map_err(|_| Error::NonUtf8Name {
                path: entry_path.clone(),
            })?;
            let mut components = dir_components.clone();
            components.push(name);
            match entry.kind {
                FileKind::Symlink => {
                    let to = crate::fs::resolve(fs, &entry_path)
                        .map_err(|e| io_error(&entry_path, e))?;
                    if let Some((resolved, FileKind::File)) = to {
                        if files.len() == HASH_FILES_MAX {
                            return Err(limit(entry_path, "file count", HASH_FILES_MAX));
                        }
                        files.push((components, Some(resolved)));
                    }
                }
                FileKind::Dir => {
                    if components.len() > HASH_DEPTH_MAX {
                        return Err(limit(entry_path, "directory depth", HASH_DEPTH_MAX));
                    }
                    pending.push(components);
                }
                FileKind::File => {
                    if files.len() == HASH_FILES_MAX {
                        return Err(limit(entry_path, "file count", HASH_FILES_MAX));
                    }
                    files.push((components, None));
                }
                FileKind::Other => return Err(Error::NotRegularFile { path: entry_path }),
            }
        }
    }
    Ok(files)
}

/// Streams the bytes of the file at `path` into `hasher` through `buffer`.
fn feed_file(
    fs: &dyn FileSystem,
    hasher: &mut Sha256,
    path: &Path,
    buffer: &mut [u8],
) -> Result<()> {
    let file = fs
        .open(path, OpenMode::Read)
        .map_err(|source| io_error(path, source))?;
    let mut offset = 0u64;
    loop {
        match file.read_at(buffer, offset) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                hasher.update(&buffer[..n]);
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(io_error(path, source)),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

/// Whether `s` looks like a content hash: exactly 64 lowercase hex digits.
pub fn is_content_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io(crate::error::IoError::new("read", path, source))
}

fn limit(path: PathBuf, what: &'static str, limit: usize) -> Error {
    Error::LimitExceeded { path, what, limit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn empty_file_and_empty_dir_hash_to_the_empty_digest() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"").unwrap();
        assert_eq!(content_hash_file(&file).unwrap(), empty);
        let sub = dir.path().join("d");
        fs::create_dir_all(sub.join("empty/nested")).unwrap();
        assert_eq!(content_hash_dir(&sub).unwrap(), empty);
    }

    #[test]
    fn file_larger_than_the_buffer_streams() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big");
        let bytes: Vec<u8> = (0..HASH_BUFFER_BYTES * 3 + 17)
            .map(|i| (i % 251) as u8)
            .collect();
        fs::write(&file, &bytes).unwrap();
        assert_eq!(
            content_hash_file(&file).unwrap(),
            to_hex(&Sha256::digest(&bytes))
        );
    }

    #[test]
    fn wrong_kinds_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(
            content_hash_dir(&file),
            Err(Error::WrongKind { .. })
        ));
        assert!(matches!(
            content_hash_file(dir.path()),
            Err(Error::WrongKind { .. })
        ));
        assert!(matches!(
            content_hash_file(&dir.path().join("missing")),
            Err(Error::Io(_))
        ));
    }

    #[test]
    fn content_hash_hex_shape() {
        assert!(is_content_hash(&"a".repeat(64)));
        assert!(!is_content_hash(&"A".repeat(64)));
        assert!(!is_content_hash(&"a".repeat(63)));
        assert!(!is_content_hash(&"g".repeat(64)));
    }
}
