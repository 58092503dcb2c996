//! Following symbolic links, reading a file as a stream, and naming a file together with
//! the file system it is on — on any [`FileSystem`].
//!
//! A `FileSystem`'s own calls never follow a link in the last component. Code that must
//! follow links — SkillMeat's content hash reads a link to a file as that file; a local source
//! given by the user may itself be a link — does it here, one component at a time, through
//! the same trait, so the simulator and the fault injector see every step.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::{FileHandle, FileKind, FileSystem, Metadata, OpenMode};
use crate::limits::LINK_HOPS_MAX;

/// Where `path` resolves with every symbolic link in it followed (at most
/// [`LINK_HOPS_MAX`] links), and what is there; `None` when it dangles, loops or goes
/// through something that is not a directory. A relative `path` is taken from the current
/// directory. Only reads: `metadata` (which does not follow) and `read_link`.
///
/// Fails with the first error of those calls other than "not found" and "not a directory".
pub fn resolve(fs: &dyn FileSystem, path: &Path) -> io::Result<Option<(PathBuf, FileKind)>> {
    let path = std::path::absolute(path)?;
    let mut resolved = PathBuf::from("/");
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, &path);
    let mut hops = 0;
    let mut kind = FileKind::Dir;
    while let Some(name) = pending.pop() {
        if name == ".." {
            resolved.pop();
            kind = FileKind::Dir;
            continue;
        }
        let candidate = resolved.join(&name);
        match fs.metadata(&candidate) {
            Ok(m) if m.kind == FileKind::Symlink => {
                hops += 1;
                if hops > LINK_HOPS_MAX {
                    return Ok(None);
                }
                let target = fs.read_link(&candidate)?;
                let target = Path::new(OsStr::from_bytes(target.as_bytes()));
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                push_components(&mut pending, target);
            }
            Ok(m) => {
                if m.kind != FileKind::Dir && !pending.is_empty() {
                    return Ok(None);
                }
                kind = m.kind;
                resolved = candidate;
            }
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some((resolved, kind)))
}

/// Pushes `path`'s names and `..`s onto `pending` so that the first is popped first.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    for c in path.components().rev() {
        match c {
            Component::Normal(n) => pending.push(n.to_os_string()),
            Component::ParentDir => pending.push("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error())
}

/// `realpath(3)` on `fs`: the absolute path `path` resolves to, with no link, `.` or `..` in
/// it. Fails with [`io::ErrorKind::NotFound`] when it dangles, loops or does not exist, and
/// with the error of any other failing call.
pub fn canonicalize(fs: &dyn FileSystem, path: &Path) -> io::Result<PathBuf> {
    match resolve(fs, path)? {
        Some((resolved, _)) => Ok(resolved),
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no such file or directory (or a dangling or looping link on the way)",
        )),
    }
}

/// `stat(2)` on `fs`: the metadata of what `path` resolves to, links followed. Fails as
/// [`canonicalize`] does.
pub fn stat(fs: &dyn FileSystem, path: &Path) -> io::Result<Metadata> {
    fs.metadata(&canonicalize(fs, path)?)
}

/// A file opened for reading through a [`FileSystem`], read from the start as a stream
/// ([`io::Read`]). Opening does not follow a link in the last component (the call fails).
pub struct FileReader {
    handle: Box<dyn FileHandle>,
    offset: u64,
}

impl FileReader {
    /// Opens `path` on `fs` for reading.
    pub fn open(fs: &dyn FileSystem, path: &Path) -> io::Result<FileReader> {
        Ok(FileReader {
            handle: fs.open(path, OpenMode::Read)?,
            offset: 0,
        })
    }

    /// The metadata of the open file (`fstat`): of what was opened, whatever happened to
    /// the path since.
    pub fn metadata(&self) -> io::Result<Metadata> {
        self.handle.metadata()
    }
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.handle.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// A path and the file system it is read through: a collection's file (its own file
/// system) or a source's (the one it was fetched with), kept together so that nothing ever
/// guesses the file system from the path.
#[derive(Clone)]
pub struct FsPath {
    /// The file system the path is on.
    pub fs: Arc<dyn FileSystem>,
    /// The absolute path.
    pub path: PathBuf,
}

impl FsPath {
    /// `path` on `fs`.
    pub fn new(fs: Arc<dyn FileSystem>, path: impl Into<PathBuf>) -> FsPath {
        FsPath {
            fs,
            path: path.into(),
        }
    }

    /// Opens the file for reading (not following a link in the last component).
    pub fn open(&self) -> io::Result<Box<dyn FileHandle>> {
        self.fs.open(&self.path, OpenMode::Read)
    }
}

impl std::fmt::Debug for FsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::sim::SimFs;

    fn world() -> SimFs {
        let fs = SimFs::new();
        for d in ["/r", "/r/d"] {
            fs.create_dir(Path::new(d), 0o755).unwrap();
        }
        let f = fs
            .open(Path::new("/r/d/f"), OpenMode::CreateNew { mode: 0o644 })
            .unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        for (target, link) in [
            ("d/f", "/r/to_f"),
            ("/r/d", "/r/abs_d"),
            ("abs_d/../to_f", "/r/dotdot"),
            ("loop", "/r/loop"),
            ("missing", "/r/dangling"),
            ("to_f/x", "/r/through_file"),
        ] {
            fs.symlink(OsStr::new(target), Path::new(link)).unwrap();
        }
        fs
    }

    #[test]
    fn follows_links_as_realpath_does() {
        let fs = world();
        let got = |p: &str| resolve(&fs, Path::new(p)).unwrap();
        assert_eq!(
            got("/r/to_f"),
            Some((PathBuf::from("/r/d/f"), FileKind::File))
        );
        assert_eq!(
            got("/r/abs_d"),
            Some((PathBuf::from("/r/d"), FileKind::Dir))
        );
        // `..` after a link is taken from where the link led, as the kernel does.
        assert_eq!(
            got("/r/dotdot"),
            Some((PathBuf::from("/r/d/f"), FileKind::File))
        );
        assert_eq!(
            got("/r/abs_d/../d/./f"),
            Some((PathBuf::from("/r/d/f"), FileKind::File))
        );
        for absent in [
            "/r/loop",
            "/r/dangling",
            "/r/through_file",
            "/r/none",
            "/r/d/f/x",
        ] {
            assert_eq!(got(absent), None, "{absent}");
            let e = canonicalize(&fs, Path::new(absent)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::NotFound, "{absent}");
        }
        assert_eq!(stat(&fs, Path::new("/r/to_f")).unwrap().len, 5);
    }

    #[test]
    fn reader_streams_the_file_and_refuses_a_link() {
        let fs = world();
        let mut r = FileReader::open(&fs, Path::new("/r/d/f")).unwrap();
        let mut one = [0u8; 2];
        r.read_exact(&mut one).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!((&one[..], &rest[..]), (&b"he"[..], &b"llo"[..]));
        assert_eq!(r.metadata().unwrap().kind, FileKind::File);
        assert!(FileReader::open(&fs, Path::new("/r/to_f")).is_err());
    }
}
