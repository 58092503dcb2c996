use super::*;

/// Wraps a reader and feeds what it yields to a SHA-256.
pub(super) struct Tee<'a, R> {
    inner: R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

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
pub(super) fn stage_content(
    t: &mut Transaction<'_>,
    storage: &str,
    fetched: &Fetched,
) -> Result<String> {
    let mut sha = Sha256::new();
    match &fetched.kind {
        FetchedKind::File { path, mode, .. } => {
            let f = std::fs::File::open(path).map_err(io("open", path))?;
            let mut tee = Tee {
                inner: f,
                hasher: &mut sha,
            };
            t.put_file(storage, &mut tee, mode & 0o7777)?;
        }
        FetchedKind::Dir { entries, mode, .. } => {
            let mut tree = t.put_tree(storage, *mode)?;
            let mut buf = vec![0u8; 64 * 1024];
            for e in ordered(entries) {
                if let Some(target) = &e.link {
                    tree.link(&e.rel, target)?;
                    // SkillMeat's hash reads a link to a file as that file.
                    hash_linked_file(&mut sha, e, &mut buf)?;
                } else if e.is_dir {
                    tree.dir(&e.rel, e.mode & 0o7777)?;
                } else {
                    sha.update(e.rel.as_bytes());
                    let f = std::fs::File::open(&e.abs).map_err(io("open", &e.abs))?;
                    let mut tee = Tee {
                        inner: f,
                        hasher: &mut sha,
                    };
                    tree.file(&e.rel, &mut tee, e.mode & 0o7777)?;
                }
            }
            tree.finish()?;
        }
    }
    Ok(hex(&sha.finalize()))
}

/// SkillMeat's content hash of fetched content, read from the source.
pub fn fetched_hash(fetched: &Fetched) -> Result<String> {
    match &fetched.kind {
        FetchedKind::File { path, .. } => Ok(content_hash(path, ArtifactType::Command)?),
        FetchedKind::Dir { entries, .. } => {
            let mut sha = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            for e in ordered(entries).into_iter().filter(|e| !e.is_dir) {
                if e.link.is_some() {
                    hash_linked_file(&mut sha, e, &mut buf)?;
                    continue;
                }
                sha.update(e.rel.as_bytes());
                let mut f = std::fs::File::open(&e.abs).map_err(io("open", &e.abs))?;
                feed(&mut sha, &mut f, &e.abs, &mut buf)?;
            }
            Ok(hex(&sha.finalize()))
        }
    }
}

/// Streams `f` into `sha`.
pub(super) fn feed(
    sha: &mut Sha256,
    f: &mut std::fs::File,
    path: &Path,
    buf: &mut [u8],
) -> Result<()> {
    loop {
        let n = f.read(buf).map_err(io("read", path))?;
        if n == 0 {
            return Ok(());
        }
        sha.update(&buf[..n]);
    }
}

/// Adds the contained link `e` of a fetched source to SkillMeat's hash as SkillMeat reads it
/// (crate::skillmeat::hash): a link to a file counts as that file under the link's path; a link to a
/// directory counts nothing. A contained link stays inside the source, so following it to
/// read is safe.
pub(super) fn hash_linked_file(
    sha: &mut Sha256,
    e: &crate::skillmeat::source::FetchedEntry,
    buf: &mut [u8],
) -> Result<()> {
    let meta = std::fs::metadata(&e.abs).map_err(io("stat", &e.abs))?;
    if meta.is_file() {
        sha.update(e.rel.as_bytes());
        let mut f = std::fs::File::open(&e.abs).map_err(io("open", &e.abs))?;
        feed(sha, &mut f, &e.abs, buf)?;
    }
    Ok(())
}

/// The front matter text of the fetched artifact (its `SKILL.md`, or the file itself).
pub(super) fn front_matter_source(fetched: &Fetched) -> Option<String> {
    let path = match &fetched.kind {
        FetchedKind::File { path, .. } => path.clone(),
        FetchedKind::Dir { entries, .. } => {
            entries.iter().find(|e| e.rel == "SKILL.md")?.abs.clone()
        }
    };
    // A source file, outside the collection: read from the real file system (crate::fs).
    std::fs::File::open(&path)
        .ok()
        .and_then(frontmatter::read_source)
}

pub(super) fn source_path(f: &Fetched) -> PathBuf {
    match &f.kind {
        FetchedKind::File { path, .. } => path.clone(),
        FetchedKind::Dir { root, .. } => root.clone(),
    }
}
