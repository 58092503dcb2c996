use super::*;

/// Lists the artifact at the canonical path `root` and checks that it fits `ty`. Also
/// returns the ignored entries the listing left out ([`is_excluded`]; relative paths, a
/// directory's with a `/`), so that the user can be told.
pub(super) fn list_artifact(
    fs: &dyn FileSystem,
    root: &Path,
    ty: ArtifactType,
) -> Result<(FetchedKind, Vec<String>), SourceError> {
    let meta = fs.metadata(root).map_err(io_error(root))?;
    if !ty.is_directory() {
        return Ok((list_file(root, ty, &meta)?, Vec::new()));
    }
    if meta.kind != FileKind::Dir {
        return Err(SourceError::WrongKind {
            path: root.to_path_buf(),
            artifact_type: ty,
            expected: "a directory containing SKILL.md",
            found: kind_name(meta.kind),
        });
    }
    // Checked before the walk, so that a directory that is not a skill at all is reported
    // as such rather than by the first problem found deep inside it. The walk then checks
    // that SKILL.md, if it is a link, stays inside the root.
    if !has_skill_manifest(fs, root)? {
        return Err(SourceError::MissingSkillManifest {
            path: root.to_path_buf(),
            found_instead: misspelled_skill_manifest(fs, root)?,
        });
    }
    let (entries, ignored) = walk(fs, root)?;
    let kind = FetchedKind::Dir {
        root: root.to_path_buf(),
        mode: meta.mode,
        entries,
    };
    Ok((kind, ignored))
}

/// A command or an agent: one `.md` file within the size limit.
fn list_file(root: &Path, ty: ArtifactType, meta: &Metadata) -> Result<FetchedKind, SourceError> {
    if meta.kind != FileKind::File {
        return Err(SourceError::WrongKind {
            path: root.to_path_buf(),
            artifact_type: ty,
            expected: "a single .md file",
            found: kind_name(meta.kind),
        });
    }
    if !has_md_suffix(root) {
        return Err(SourceError::NotMarkdown {
            path: root.to_path_buf(),
            artifact_type: ty,
        });
    }
    if meta.len > SOURCE_BYTES_MAX {
        return Err(SourceError::TooLarge {
            root: root.to_path_buf(),
            limit: SOURCE_BYTES_MAX,
        });
    }
    Ok(FetchedKind::File {
        path: root.to_path_buf(),
        mode: meta.mode,
        size: meta.len,
    })
}

/// Whether the skill directory `root` holds a `SKILL.md` (a file, or a link the walk will
/// judge: a dangling or looping one is reported there).
fn has_skill_manifest(fs: &dyn FileSystem, root: &Path) -> Result<bool, SourceError> {
    let manifest = root.join(SKILL_MANIFEST);
    match fs.metadata(&manifest) {
        Ok(meta) if meta.kind == FileKind::Symlink => match crate::fs::resolve(fs, &manifest) {
            Ok(Some((_, kind))) => Ok(kind == FileKind::File),
            // Dangling or looping: the walk reports it, naming the link.
            Ok(None) => Ok(true),
            Err(source) => Err(SourceError::Io(IoError::new("read", manifest, source))),
        },
        Ok(meta) => Ok(meta.kind == FileKind::File),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(SourceError::Io(IoError::new("read", manifest, source))),
    }
}

/// A file in `root` whose name is `SKILL.md` in another case, for the error message.
fn misspelled_skill_manifest(
    fs: &dyn FileSystem,
    root: &Path,
) -> Result<Option<String>, SourceError> {
    for item in fs.read_dir(root).map_err(io_error(root))? {
        if let Some(name) = item.name.to_str()
            && name != SKILL_MANIFEST
            && name.eq_ignore_ascii_case(SKILL_MANIFEST)
            && crate::fs::stat(fs, &root.join(name)).is_ok_and(|m| m.kind == FileKind::File)
        {
            return Ok(Some(name.to_owned()));
        }
    }
    Ok(None)
}

/// Lists the directory at the canonical path `root` (see the module documentation), and
/// the ignored entries left out.
pub(super) fn walk(
    fs: &dyn FileSystem,
    root: &Path,
) -> Result<(Vec<FetchedEntry>, Vec<String>), SourceError> {
    let mut walk = Walk {
        fs,
        root,
        listed: Vec::new(),
        ignored: Vec::new(),
        total_bytes: 0,
    };
    // Explicit stack: the depth is bounded anyway, but this keeps the native stack flat.
    let mut pending: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, dir_components)) = pending.pop() {
        let read = fs.read_dir(&dir).map_err(io_error(&dir))?;
        for item in read {
            if let Some(subdir) = walk.item(&dir, item, &dir_components)? {
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
    fs: &'a dyn FileSystem,
    root: &'a Path,
    listed: Vec<(Vec<String>, FetchedEntry)>,
    ignored: Vec<String>,
    total_bytes: u64,
}

impl Walk<'_> {
    /// Lists one entry of the directory `dir` (whose components are `dir_components`);
    /// returns the directory to walk next when it is one.
    fn item(
        &mut self,
        dir: &Path,
        item: DirEntry,
        dir_components: &[String],
    ) -> Result<Option<(PathBuf, Vec<String>)>, SourceError> {
        let path = dir.join(&item.name);
        let name = item
            .name
            .into_string()
            .map_err(|_| SourceError::NonUtf8Name { path: path.clone() })?;
        let mut components = dir_components.to_vec();
        components.push(name);
        if is_excluded(components.last().expect("just pushed")) {
            let slash = if item.kind == FileKind::Dir { "/" } else { "" };
            self.ignored
                .push(format!("{}{slash}", components.join("/")));
            return Ok(None);
        }
        self.check_bounds(&path, &components)?;
        let meta = self.fs.metadata(&path).map_err(io_error(&path))?;
        let mode = meta.mode;
        let rel = components.join("/");
        if meta.kind == FileKind::Symlink {
            let target = contained_link(self.fs, self.root, &path, &components)?;
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
        if meta.kind == FileKind::Other {
            return Err(SourceError::SpecialFile { path });
        }
        let is_dir = meta.kind == FileKind::Dir;
        let size = if is_dir { 0 } else { meta.len };
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
    fs: &dyn FileSystem,
    root: &Path,
    link: &Path,
    at: &[String],
) -> Result<Vec<u8>, SourceError> {
    use std::os::unix::ffi::OsStrExt;
    let text = fs.read_link(link).map_err(io_error(link))?;
    let bytes = text.as_bytes().to_vec();
    let at: Vec<&str> = at.iter().map(String::as_str).collect();
    match super::links::check(fs, root, &at, &bytes).map_err(io_error(link))? {
        Ok(()) => Ok(bytes),
        Err(super::links::LinkProblem::SpecialFile) => Err(SourceError::SpecialFile {
            path: link.to_path_buf(),
        }),
        Err(p) => Err(SourceError::SymlinkOutside {
            link: link.to_path_buf(),
            target: PathBuf::from(text),
            why: p.why(),
        }),
    }
}

pub(super) fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Dir => "a directory",
        FileKind::File => "a file",
        FileKind::Symlink => "a symbolic link",
        FileKind::Other => "a special file",
    }
}
