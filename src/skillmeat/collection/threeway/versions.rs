use super::*;

/// Where one version of a file is.
#[derive(Debug, Clone)]
pub(super) enum Src {
    /// A file (on disk, or in the fetched source).
    Path(FsPath),
    /// A file object in the store.
    Object,
    /// A symbolic link, whose content is its target.
    Link(Vec<u8>),
}

#[derive(Debug, Clone)]
pub(super) struct FileRef {
    /// BLAKE3 of the file's bytes, or of a link's target.
    pub(super) hash: Hash,
    pub(super) size: u64,
    pub(super) mode: u32,
    pub(super) src: Src,
}

impl FileRef {
    pub(super) fn link(target: Vec<u8>, mode: u32) -> FileRef {
        FileRef {
            hash: *blake3::hash(&target).as_bytes(),
            size: target.len() as u64,
            mode,
            src: Src::Link(target),
        }
    }

    pub(super) fn is_link(&self) -> bool {
        matches!(self.src, Src::Link(_))
    }

    /// What the tree merge compares: kind, mode and content together.
    pub(super) fn id(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(if self.is_link() { b"l" } else { b"f" });
        // A link's mode means nothing (and differs between systems).
        let mode = if self.is_link() { 0 } else { self.mode };
        h.update(&mode.to_le_bytes());
        h.update(&self.hash);
        *h.finalize().as_bytes()
    }
}

/// One version of an artifact: files and links by path relative to the artifact (a file
/// artifact is one path, its file name), its directories with their modes, and the mode of
/// its own directory (`None` when not known: a base recorded before skillwal kept it, or
/// a file artifact).
#[derive(Debug, Default)]
pub(super) struct Version {
    pub(super) files: BTreeMap<String, FileRef>,
    pub(super) dirs: BTreeMap<String, u32>,
    pub(super) root_mode: Option<u32>,
}

impl Version {
    pub(super) fn ids(&self) -> BTreeMap<String, Hash> {
        self.files
            .iter()
            .map(|(k, f)| (k.clone(), f.id()))
            .collect()
    }
}

/// A file artifact's file `name` (its own, or one written beside it) relative to the
/// collection: in the directory of `storage`.
pub(super) fn beside_storage(storage: &str, name: &str) -> String {
    match storage.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

/// The files on disk of an artifact stored at `abs`.
pub(super) fn ours(store: &Store, abs: &Path, ty: ArtifactType, name: &str) -> Result<Version> {
    let mut v = Version::default();
    let fs = store.fs();
    if ty.is_directory() {
        v.root_mode = Some(fs.metadata(abs).map_err(io_error(abs))?.mode);
        let (items, skipped) = walk(store, abs, false)?;
        if let Some(s) = skipped.first() {
            return Err(ThreeWayError::Unmergeable {
                name: name.into(),
                ty,
                reason: format!("{s} on disk is a special file (a socket, FIFO or device)"),
            });
        }
        for it in items {
            match (it.file, it.link) {
                (Some(p), _) => {
                    let (size, hash) = hash_file(p.fs.as_ref(), &p.path)?;
                    v.files.insert(
                        it.rel,
                        FileRef {
                            hash,
                            size,
                            mode: it.mode,
                            src: Src::Path(p),
                        },
                    );
                }
                (None, Some(target)) => {
                    v.files.insert(it.rel, FileRef::link(target, it.mode));
                }
                (None, None) => {
                    v.dirs.insert(it.rel, it.mode);
                }
            }
        }
    } else {
        let (size, hash) = hash_file(fs, abs)?;
        let mode = fs.metadata(abs).map_err(io_error(abs))?.mode;
        v.files.insert(
            file_key(abs),
            FileRef {
                hash,
                size,
                mode,
                src: Src::Path(FsPath::new(store.fs_arc(), abs)),
            },
        );
    }
    Ok(v)
}

pub(super) fn file_key(abs: &Path) -> String {
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The fetched new upstream.
pub(super) fn theirs(fetched: &Fetched, key: &str) -> Result<Version> {
    let mut v = Version::default();
    match &fetched.kind {
        FetchedKind::File { path, mode, .. } => {
            let (size, hash) = hash_file(fetched.file_system().as_ref(), path)?;
            v.files.insert(
                key.to_string(),
                FileRef {
                    hash,
                    size,
                    mode: mode & 0o7777,
                    src: Src::Path(FsPath::new(fetched.file_system().clone(), path)),
                },
            );
        }
        FetchedKind::Dir { entries, mode, .. } => {
            v.root_mode = Some(*mode);
            for e in entries {
                if let Some(target) = &e.link {
                    v.files
                        .insert(e.rel.clone(), FileRef::link(target.clone(), e.mode));
                } else if e.is_dir {
                    v.dirs.insert(e.rel.clone(), e.mode & 0o7777);
                } else {
                    let (size, hash) = hash_file(fetched.file_system().as_ref(), &e.abs)?;
                    v.files.insert(
                        e.rel.clone(),
                        FileRef {
                            hash,
                            size,
                            mode: e.mode & 0o7777,
                            src: Src::Path(FsPath::new(fetched.file_system().clone(), &e.abs)),
                        },
                    );
                }
            }
        }
    }
    Ok(v)
}

/// The base from the store (trees read and verified).
pub(super) fn base(store: &Store, b: &BaseRef, key: &str) -> Result<Version> {
    let mut v = Version::default();
    let hash = b.hash().expect("validated when read");
    if !b.is_tree() {
        v.files.insert(
            key.to_string(),
            FileRef {
                hash,
                size: b.size,
                mode: b.mode,
                src: Src::Object,
            },
        );
        return Ok(v);
    }
    v.root_mode = b.root_mode();
    for (rel, e) in store.tree_entries(&hash)? {
        match e.node {
            Node::File { size, hash } => {
                v.files.insert(
                    rel,
                    FileRef {
                        hash,
                        size,
                        mode: e.mode,
                        src: Src::Object,
                    },
                );
            }
            Node::Link { size, hash } => {
                let target = store.read_target(&hash, size)?;
                v.files.insert(rel, FileRef::link(target, e.mode));
            }
            Node::Dir { .. } => {
                v.dirs.insert(rel, e.mode);
            }
        }
    }
    Ok(v)
}

/// The bytes of `f`, or `None` when it is larger than a text merge reads (a link's bytes
/// are its target).
pub(super) fn read_small(store: &Store, f: &FileRef) -> Result<Option<Vec<u8>>> {
    if f.size > MERGE_TEXT_BYTES_MAX {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(f.size as usize);
    match &f.src {
        Src::Link(target) => out.extend_from_slice(target),
        Src::Path(p) => {
            // Through the file system the path is on (the collection's, or the one the
            // source was fetched with), reading at most one byte past the limit.
            let file = p.open().map_err(io_error(&p.path))?;
            let p = &p.path;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file
                    .read_at(&mut buf, out.len() as u64)
                    .map_err(io_error(p))?;
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                if out.len() as u64 > MERGE_TEXT_BYTES_MAX {
                    return Ok(None);
                }
            }
        }
        Src::Object => {
            let mut r = store.open_blob(&f.hash, f.size)?;
            r.read_to_end(&mut out)
                .map_err(io_error(&store.abs(&crate::store::object_rel(&f.hash))))?;
        }
    }
    Ok(Some(out))
}
