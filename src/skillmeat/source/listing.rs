use super::*;

/// Lists the artifact at the canonical path `root` and checks that it fits `ty`. Also
/// returns the ignored entries the listing left out ([`is_excluded`]; relative paths, a
/// directory's with a `/`), so that the user can be told.
pub(super) fn list_artifact(
    root: &Path,
    ty: ArtifactType,
) -> Result<(FetchedKind, Vec<String>), SourceError> {
    let meta = fs::metadata(root).map_err(io_error(root))?;
    if !ty.is_directory() {
        return Ok((list_file(root, ty, &meta)?, Vec::new()));
    }
    if !meta.is_dir() {
        return Err(SourceError::WrongKind {
            path: root.to_path_buf(),
            artifact_type: ty,
            expected: "a directory containing SKILL.md",
            found: kind_name(meta.file_type()),
        });
    }
    // Checked before the walk, so that a directory that is not a skill at all is reported
    // as such rather than by the first problem found deep inside it. The walk then checks
    // that SKILL.md, if it is a link, stays inside the root.
    if !has_skill_manifest(root)? {
        return Err(SourceError::MissingSkillManifest {
            path: root.to_path_buf(),
            found_instead: misspelled_skill_manifest(root)?,
        });
    }
    let (entries, ignored) = walk(root)?;
    let kind = FetchedKind::Dir {
        root: root.to_path_buf(),
        mode: meta.mode() & 0o7777,
        entries,
    };
    Ok((kind, ignored))
}

/// A command or an agent: one `.md` file within the size limit.
fn list_file(
    root: &Path,
    ty: ArtifactType,
    meta: &fs::Metadata,
) -> Result<FetchedKind, SourceError> {
    if !meta.is_file() {
        return Err(SourceError::WrongKind {
            path: root.to_path_buf(),
            artifact_type: ty,
            expected: "a single .md file",
            found: kind_name(meta.file_type()),
        });
    }
    if !has_md_suffix(root) {
        return Err(SourceError::NotMarkdown {
            path: root.to_path_buf(),
            artifact_type: ty,
        });
    }
    if meta.len() > SOURCE_BYTES_MAX {
        return Err(SourceError::TooLarge {
            root: root.to_path_buf(),
            limit: SOURCE_BYTES_MAX,
        });
    }
    Ok(FetchedKind::File {
        path: root.to_path_buf(),
        mode: meta.mode() & 0o7777,
        size: meta.len(),
    })
}

/// Whether the skill directory `root` holds a `SKILL.md` (a file, or a link the walk will
/// judge: a dangling or looping one is reported there).
fn has_skill_manifest(root: &Path) -> Result<bool, SourceError> {
    let manifest = root.join(SKILL_MANIFEST);
    match fs::metadata(&manifest) {
        Ok(meta) => Ok(meta.is_file()),
        Err(_)
            if fs::symlink_metadata(&manifest).is_ok_and(|meta| meta.file_type().is_symlink()) =>
        {
            Ok(true)
        }
        Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(SourceError::Io(IoError::new("read", manifest, source))),
    }
}

/// A file in `root` whose name is `SKILL.md` in another case, for the error message.
fn misspelled_skill_manifest(root: &Path) -> Result<Option<String>, SourceError> {
    for item in fs::read_dir(root).map_err(io_error(root))? {
        let name = item.map_err(io_error(root))?.file_name();
        if let Some(name) = name.to_str()
            && name != SKILL_MANIFEST
            && name.eq_ignore_ascii_case(SKILL_MANIFEST)
            && root.join(name).is_file()
        {
            return Ok(Some(name.to_owned()));
        }
    }
    Ok(None)
}

/// Lists the directory at the canonical path `root` (see the module documentation), and
/// the ignored entries left out.
pub(super) fn walk(root: &Path) -> Result<(Vec<FetchedEntry>, Vec<String>), SourceError> {
    let mut walk = Walk {
        root,
        listed: Vec::new(),
        ignored: Vec::new(),
        total_bytes: 0,
    };
    // Explicit stack: the depth is bounded anyway, but this keeps the native stack flat.
    let mut pending: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, dir_components)) = pending.pop() {
        let read = fs::read_dir(&dir).map_err(io_error(&dir))?;
        for item in read {
            let item = item.map_err(io_error(&dir))?;
            if let Some(subdir) = walk.item(&item, &dir_components)? {
                pending.push(subdir);
            }
        }
    }
    let Walk {
        mut listed,
        mut ignored,
        ..
    } = walk;
    // Vec<String> compares component by component, String by bytes (= code points for
    // UTF-8): the order of SkillMeat's content hash, with every parent before its children.
    listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    ignored.sort_unstable();
    Ok((
        listed.into_iter().map(|(_, entry)| entry).collect(),
        ignored,
    ))
}

/// The state of one [`walk`].
struct Walk<'a> {
    root: &'a Path,
    listed: Vec<(Vec<String>, FetchedEntry)>,
    ignored: Vec<String>,
    total_bytes: u64,
}

impl Walk<'_> {
    /// Lists one directory entry (in the directory whose components are `dir_components`);
    /// returns the directory to walk next when it is one.
    fn item(
        &mut self,
        item: &fs::DirEntry,
        dir_components: &[String],
    ) -> Result<Option<(PathBuf, Vec<String>)>, SourceError> {
        let path = item.path();
        let name = item
            .file_name()
            .into_string()
            .map_err(|_| SourceError::NonUtf8Name { path: path.clone() })?;
        let mut components = dir_components.to_vec();
        components.push(name);
        if is_excluded(components.last().expect("just pushed")) {
            let slash = if item.file_type().is_ok_and(|t| t.is_dir()) {
                "/"
            } else {
                ""
            };
            self.ignored
                .push(format!("{}{slash}", components.join("/")));
            return Ok(None);
        }
        self.check_bounds(&path, &components)?;
        let meta = fs::symlink_metadata(&path).map_err(io_error(&path))?;
        let file_type = meta.file_type();
        let mode = meta.mode() & 0o7777;
        let rel = components.join("/");
        if file_type.is_symlink() {
            let target = contained_link(self.root, &path, &components)?;
            let (size, link) = (target.len() as u64, Some(target));
            let entry = FetchedEntry {
                rel,
                abs: path,
                is_dir: false,
                mode,
                size,
                link,
            };
            self.listed.push((components, entry));
            return Ok(None);
        }
        if !(file_type.is_dir() || file_type.is_file()) {
            debug_assert!(
                file_type.is_fifo()
                    || file_type.is_socket()
                    || file_type.is_block_device()
                    || file_type.is_char_device()
            );
            return Err(SourceError::SpecialFile { path });
        }
        let is_dir = meta.is_dir();
        let size = if is_dir { 0 } else { meta.len() };
        self.total_bytes = self.total_bytes.saturating_add(size);
        if self.total_bytes > SOURCE_BYTES_MAX {
            return Err(SourceError::TooLarge {
                root: self.root.to_path_buf(),
                limit: SOURCE_BYTES_MAX,
            });
        }
        let next = is_dir.then(|| (path.clone(), components.clone()));
        let entry = FetchedEntry {
            rel,
            abs: path,
            is_dir,
            mode,
            size,
            link: None,
        };
        self.listed.push((components, entry));
        Ok(next)
    }

    /// The depth and entry-count limits, checked before an entry is looked at.
    fn check_bounds(&self, path: &Path, components: &[String]) -> Result<(), SourceError> {
        if components.len() > SOURCE_DEPTH_MAX {
            return Err(SourceError::TooDeep {
                path: path.to_path_buf(),
                limit: SOURCE_DEPTH_MAX,
            });
        }
        if self.listed.len() == SOURCE_ENTRIES_MAX {
            return Err(SourceError::TooManyEntries {
                root: self.root.to_path_buf(),
                limit: SOURCE_ENTRIES_MAX,
            });
        }
        Ok(())
    }
}

/// The target of the link at `link` (whose components below the canonical `root` are
/// `at`), if the link is contained ([`super::links`]); else the error saying why not.
pub(super) fn contained_link(
    root: &Path,
    link: &Path,
    at: &[String],
) -> Result<Vec<u8>, SourceError> {
    use std::os::unix::ffi::OsStrExt;
    let text = fs::read_link(link).map_err(io_error(link))?;
    let bytes = text.as_os_str().as_bytes().to_vec();
    let at: Vec<&str> = at.iter().map(String::as_str).collect();
    match super::links::check(&crate::fs::real::RealFs, root, &at, &bytes)
        .map_err(io_error(link))?
    {
        Ok(()) => Ok(bytes),
        Err(super::links::LinkProblem::SpecialFile) => Err(SourceError::SpecialFile {
            path: link.to_path_buf(),
        }),
        Err(p) => Err(SourceError::SymlinkOutside {
            link: link.to_path_buf(),
            target: text,
            why: p.why(),
        }),
    }
}

pub(super) fn kind_name(file_type: fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a file"
    } else {
        "a special file"
    }
}
