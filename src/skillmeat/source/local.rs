use super::*;

/// Lists the local file or directory at `path` on `fs` (canonicalized first: what is
/// recorded is the real path).
pub(super) fn fetch_local(
    fs: Arc<dyn FileSystem>,
    path: &Path,
    ty: ArtifactType,
) -> Result<Fetched, SourceError> {
    let root = crate::fs::canonicalize(&*fs, path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            SourceError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            SourceError::Io(IoError::new("read", path, source))
        }
    })?;
    let skillwal_source = utf8_path(&root)?;
    let (kind, ignored) = list_artifact(&*fs, &root, ty)?;
    Ok(Fetched {
        kind,
        ignored,
        origin: Origin::Local,
        upstream: None,
        version_spec: None,
        resolved_sha: None,
        resolved_version: None,
        skillwal_source,
        skillwal_path: None,
        skillwal_ref: None,
        fs: SourceFs(fs),
        _checkout: None,
    })
}
