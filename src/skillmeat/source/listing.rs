use super::*;

/// Lists the artifact at the canonical path `root` and checks that it fits `ty`.
pub(super) fn list_artifact(root: &Path, ty: ArtifactType) -> Result<FetchedKind, SourceError> {
    let meta = fs::metadata(root).map_err(io_error(root))?;
    if ty.is_directory() {
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
        let manifest = root.join(SKILL_MANIFEST);
        let has_manifest = match fs::metadata(&manifest) {
            Ok(meta) => meta.is_file(),
            // A dangling or looping SKILL.md link: the walk reports it.
            Err(_)
                if fs::symlink_metadata(&manifest)
                    .is_ok_and(|meta| meta.file_type().is_symlink()) =>
            {
                true
            }
            Err(source) if source.kind() == io::ErrorKind::NotFound => false,
            Err(source) => {
                return Err(SourceError::Io(IoError::new("read", manifest, source)));
            }
        };
        if !has_manifest {
            let mut found_instead = None;
            for item in fs::read_dir(root).map_err(io_error(root))? {
                let name = item.map_err(io_error(root))?.file_name();
                if let Some(name) = name.to_str()
                    && name != SKILL_MANIFEST
                    && name.eq_ignore_ascii_case(SKILL_MANIFEST)
                    && root.join(name).is_file()
                {
                    found_instead = Some(name.to_owned());
                    break;
                }
            }
            return Err(SourceError::MissingSkillManifest {
                path: root.to_path_buf(),
                found_instead,
            });
        }
        let entries = walk(root)?;
        Ok(FetchedKind::Dir {
            root: root.to_path_buf(),
            mode: meta.mode() & 0o7777,
            entries,
        })
    } else {
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
}

/// Lists the directory at the canonical path `root` (see the module documentation).
pub(super) fn walk(root: &Path) -> Result<Vec<FetchedEntry>, SourceError> {
    let mut listed: Vec<(Vec<String>, FetchedEntry)> = Vec::new();
    let mut total_bytes: u64 = 0;
    // Explicit stack: the depth is bounded anyway, but this keeps the native stack flat.
    let mut pending: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, dir_components)) = pending.pop() {
        let read = fs::read_dir(&dir).map_err(io_error(&dir))?;
        for item in read {
            let item = item.map_err(io_error(&dir))?;
            let path = item.path();
            let name = item
                .file_name()
                .into_string()
                .map_err(|_| SourceError::NonUtf8Name { path: path.clone() })?;
            if is_excluded(&name) {
                continue;
            }
            let mut components = dir_components.clone();
            components.push(name);
            if components.len() > SOURCE_DEPTH_MAX {
                return Err(SourceError::TooDeep {
                    path,
                    limit: SOURCE_DEPTH_MAX,
                });
            }
            if listed.len() == SOURCE_ENTRIES_MAX {
                return Err(SourceError::TooManyEntries {
                    root: root.to_path_buf(),
                    limit: SOURCE_ENTRIES_MAX,
                });
            }
            let meta = fs::symlink_metadata(&path).map_err(io_error(&path))?;
            let file_type = meta.file_type();
            if file_type.is_symlink() {
                let target = contained_link(root, &path, &components)?;
                listed.push((
                    components.clone(),
                    FetchedEntry {
                        rel: components.join("/"),
                        abs: path,
                        is_dir: false,
                        mode: meta.mode() & 0o7777,
                        size: target.len() as u64,
                        link: Some(target),
                    },
                ));
                continue;
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
            total_bytes = total_bytes.saturating_add(size);
            if total_bytes > SOURCE_BYTES_MAX {
                return Err(SourceError::TooLarge {
                    root: root.to_path_buf(),
                    limit: SOURCE_BYTES_MAX,
                });
            }
            if is_dir {
                pending.push((path.clone(), components.clone()));
            }
            let entry = FetchedEntry {
                rel: components.join("/"),
                abs: path,
                is_dir,
                mode: meta.mode() & 0o7777,
                size,
                link: None,
            };
            listed.push((components, entry));
        }
    }
    // Vec<String> compares component by component, String by bytes (= code points for
    // UTF-8): the order of SkillMeat's content hash, with every parent before its children.
    listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(listed.into_iter().map(|(_, entry)| entry).collect())
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
