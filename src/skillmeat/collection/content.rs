use super::*;
use crate::fs::FileReader;
use crate::limits::STREAM_BUFFER_BYTES;
use crate::progress::{Progress, Stage};

pub(super) fn hex(bytes: &[u8]) -> String {
    crate::journal::format::hex(bytes)
}

/// Entries of a fetched directory in SkillMeat's hash order (relative paths compared
/// component by component), which also puts every directory before its contents.
pub(super) fn ordered(
    entries: &[crate::skillmeat::source::FetchedEntry],
) -> Vec<&crate::skillmeat::source::FetchedEntry> {
    let mut v: Vec<_> = entries.iter().collect();
    v.sort_by(|a, b| a.rel.split('/').cmp(b.rel.split('/')));
    v
}

/// Stages the fetched content at `storage` and returns SkillMeat's content hash of exactly
/// the bytes staged (computed while they stream through).
///
/// Every file is read through the source's file system ([`Fetched::file_system`]) as the
/// listing saw it: opened without following a link, still a regular file, and exactly the
/// size listed, from open to end of file; otherwise [`CollectionError::SourceChanged`] and
/// the transaction is not committed.
pub(super) fn stage_content(
    t: &mut Transaction<'_>,
    storage: &str,
    fetched: &Fetched,
    progress: &dyn Progress,
) -> Result<String> {
    let fs = fetched.file_system().as_ref();
    let stage = Stage::begin(progress, "copying", Some(fetched_bytes(fetched)), true);
    let mut sha = Sha256::new();
    match &fetched.kind {
        FetchedKind::File { path, mode, size } => {
            let mut file = SourceFile::open(fs, path, *size, &mut sha)?.counting(&stage);
            t.put_file(storage, &mut file, mode & 0o7777)?;
            file.finish()?;
        }
        FetchedKind::Dir { entries, mode, .. } => {
            let mut tree = t.put_tree(storage, *mode)?;
            let mut buf = vec![0u8; STREAM_BUFFER_BYTES];
            for e in ordered(entries) {
                if let Some(target) = &e.link {
                    tree.link(&e.rel, target)?;
                    // SkillMeat's hash reads a link to a file as that file.
                    hash_linked_file(fs, &mut sha, e, &mut buf)?;
                } else if e.is_dir {
                    tree.dir(&e.rel, e.mode & 0o7777)?;
                } else {
                    sha.update(e.rel.as_bytes());
                    let mut file = SourceFile::open(fs, &e.abs, e.size, &mut sha)?.counting(&stage);
                    tree.file(&e.rel, &mut file, e.mode & 0o7777)?;
                    file.finish()?;
                }
            }
            tree.finish()?;
        }
    }
    Ok(hex(&sha.finalize()))
}

/// The bytes of the files a fetched source lists (links and directories count nothing).
fn fetched_bytes(fetched: &Fetched) -> u64 {
    match &fetched.kind {
        FetchedKind::File { size, .. } => *size,
        FetchedKind::Dir { entries, .. } => entries
            .iter()
            .filter(|e| !e.is_dir && e.link.is_none())
            .map(|e| e.size)
            .sum(),
    }
}

/// SkillMeat's content hash of fetched content, read from the source (through
/// [`Fetched::file_system`]), each file checked as the copy checks it:
/// [`CollectionError::SourceChanged`] when it is not what was listed.
pub fn fetched_hash(fetched: &Fetched) -> Result<String> {
    let fs = fetched.file_system().as_ref();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; STREAM_BUFFER_BYTES];
    match &fetched.kind {
        FetchedKind::File { path, size, .. } => {
            SourceFile::open(fs, path, *size, &mut sha)?.drain(&mut buf)?;
        }
        FetchedKind::Dir { entries, .. } => {
            for e in ordered(entries).into_iter().filter(|e| !e.is_dir) {
                if e.link.is_some() {
                    hash_linked_file(fs, &mut sha, e, &mut buf)?;
                    continue;
                }
                sha.update(e.rel.as_bytes());
                SourceFile::open(fs, &e.abs, e.size, &mut sha)?.drain(&mut buf)?;
            }
        }
    }
    Ok(hex(&sha.finalize()))
}

/// One file of a fetched source, read as a stream that feeds a SHA-256 and counts, so that
/// [`SourceFile::finish`] can tell whether the file is still what was listed.
pub(super) struct SourceFile<'a> {
    reader: FileReader,
    path: PathBuf,
    expected: u64,
    read: u64,
    hasher: &'a mut Sha256,
    /// The progress stage the bytes read count toward.
    stage: Option<&'a Stage<'a>>,
}

impl<'a> SourceFile<'a> {
    /// Opens `path` on `fs` without following a link; it must be a regular file of
    /// `expected` bytes.
    pub(super) fn open(
        fs: &dyn FileSystem,
        path: &Path,
        expected: u64,
        hasher: &'a mut Sha256,
    ) -> Result<SourceFile<'a>> {
        let changed = || CollectionError::SourceChanged {
            path: path.to_path_buf(),
        };
        let reader = match FileReader::open(fs, path) {
            Ok(r) => r,
            // ELOOP: it became a link; ENOENT: it went away.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) =>
            {
                return Err(changed());
            }
            Err(e) => return Err(io("open", path)(e)),
        };
        let meta = reader.metadata().map_err(io("stat", path))?;
        if meta.kind != FileKind::File || meta.len != expected {
            return Err(changed());
        }
        Ok(SourceFile {
            reader,
            path: path.to_path_buf(),
            expected,
            read: 0,
            hasher,
            stage: None,
        })
    }

    /// The same file, its bytes counted toward `stage` as they are read.
    pub(super) fn counting(self, stage: &'a Stage<'a>) -> SourceFile<'a> {
        SourceFile {
            stage: Some(stage),
            ..self
        }
    }

    /// Reads the rest (to hash it, when nothing stages it), then [`SourceFile::finish`].
    pub(super) fn drain(mut self, buf: &mut [u8]) -> Result<()> {
        loop {
            match self.read(buf) {
                Ok(0) => return self.finish(),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io("read", &self.path)(e)),
            }
        }
    }

    /// Checks, once the file was read to its end, that exactly the listed size was read.
    pub(super) fn finish(self) -> Result<()> {
        if self.read == self.expected {
            Ok(())
        } else {
            Err(CollectionError::SourceChanged { path: self.path })
        }
    }
}

impl Read for SourceFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        if let Some(stage) = self.stage {
            stage.advance(n as u64);
        }
        Ok(n)
    }
}

/// Adds the contained link `e` of a fetched source to SkillMeat's hash as SkillMeat reads it
/// (crate::skillmeat::hash): a link to a file counts as that file under the link's path; a
/// link to a directory counts nothing. A contained link stays inside the source (checked
/// when listing), so following it to read is safe.
pub(super) fn hash_linked_file(
    fs: &dyn FileSystem,
    sha: &mut Sha256,
    e: &crate::skillmeat::source::FetchedEntry,
    buf: &mut [u8],
) -> Result<()> {
    let Some((target, kind)) = crate::fs::resolve(fs, &e.abs).map_err(io("stat", &e.abs))? else {
        return Err(CollectionError::SourceChanged {
            path: e.abs.clone(),
        });
    };
    if kind == FileKind::File {
        sha.update(e.rel.as_bytes());
        let len = fs.metadata(&target).map_err(io("stat", &target))?.len;
        SourceFile::open(fs, &target, len, sha)?.drain(buf)?;
    }
    Ok(())
}

/// The front matter text of the fetched artifact (its `SKILL.md`, or the file itself,
/// a link followed), read through the source's file system.
pub(super) fn front_matter_source(fetched: &Fetched) -> Option<String> {
    let fs = fetched.file_system().as_ref();
    let path = match &fetched.kind {
        FetchedKind::File { path, .. } => path.clone(),
        FetchedKind::Dir { entries, .. } => {
            entries.iter().find(|e| e.rel == "SKILL.md")?.abs.clone()
        }
    };
    let (resolved, _) = crate::fs::resolve(fs, &path).ok()??;
    FileReader::open(fs, &resolved)
        .ok()
        .and_then(frontmatter::read_source)
}

pub(super) fn source_path(f: &Fetched) -> PathBuf {
    match &f.kind {
        FetchedKind::File { path, .. } => path.clone(),
        FetchedKind::Dir { root, .. } => root.clone(),
    }
}
