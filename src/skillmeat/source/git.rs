use super::*;

/// The git program run for git sources (looked up on `PATH`).
pub(super) const GIT: &str = "git";

/// Environment variables that would make git act on another repository than the one named
/// by `-C` or the clone destination.
pub(super) const GIT_REPO_ENV: [&str; 8] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

pub(super) fn run_git(
    dir: Option<&Path>,
    args: &[&OsStr],
    step: &'static str,
) -> Result<Output, SourceError> {
    let mut command = Command::new(GIT);
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    command
        .args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in GIT_REPO_ENV {
        command.env_remove(var);
    }
    command
        .output()
        .map_err(|source| SourceError::GitUnavailable { step, source })
}

pub(super) fn git_failure(url: &str, step: impl Into<String>, output: &Output) -> SourceError {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    SourceError::Git {
        url: url.to_owned(),
        step: step.into(),
        stderr: if stderr.is_empty() {
            format!("git exited with {}", output.status)
        } else {
            stderr
        },
    }
}

/// `git rev-parse` of `candidate^{commit}`: `Some(sha)`, or `None` when it names no commit.
pub(super) fn rev_parse_commit(
    checkout: &Path,
    url: &str,
    candidate: &str,
) -> Result<Option<String>, SourceError> {
    let rev = format!("{candidate}^{{commit}}");
    let output = run_git(
        Some(checkout),
        &[
            OsStr::new("rev-parse"),
            OsStr::new("--verify"),
            OsStr::new("--quiet"),
            OsStr::new("--end-of-options"),
            OsStr::new(&rev),
        ],
        "resolve the reference",
    )?;
    match output.status.code() {
        Some(0) => {
            let sha = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            Ok((!sha.is_empty()).then_some(sha))
        }
        // --verify --quiet: exit 1 and no message when the revision does not exist; git
        // also answers 128 for revisions it cannot parse.
        Some(1) | Some(128) if output.stderr.iter().all(u8::is_ascii_whitespace) => Ok(None),
        _ => Err(git_failure(url, format!("resolve {candidate:?}"), &output)),
    }
}

pub(super) fn fetch_git(
    url: &str,
    path: Option<&str>,
    reference: Option<&str>,
    ty: ArtifactType,
) -> Result<Fetched, SourceError> {
    let repo_path = normalize_repo_path(path)?;
    let source_url = recorded_url(url)?;
    let temp = tempfile::Builder::new()
        .prefix("skillwal-git-")
        .tempdir()
        .map_err(io_error(&std::env::temp_dir()))?;
    let checkout = temp.path().join("checkout");
    clone(url, &source_url, &checkout)?;
    let (sha, tag) = resolve_reference(&checkout, url, reference)?;
    check_out(&checkout, url, &sha)?;
    let resolved_version = match tag {
        Some(tag) => Some(tag),
        None => describe_exact_tag(&checkout, &sha)?,
    };
    // git made the checkout on the real file system; it is read from there.
    let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
    let root = artifact_root(&*fs, &checkout, url, repo_path.as_deref(), &sha)?;
    let (mut kind, ignored) = list_artifact(&*fs, &root, ty)?;
    git_modes(&mut kind);
    Ok(Fetched {
        kind,
        ignored,
        origin: Origin::Github,
        upstream: Some(upstream_url(&source_url, &sha, repo_path.as_deref())),
        version_spec: Some(reference.unwrap_or(LATEST).to_owned()),
        resolved_sha: Some(sha),
        resolved_version,
        skillwal_source: source_url,
        skillwal_path: repo_path,
        skillwal_ref: reference.map(str::to_owned),
        fs: SourceFs(fs),
        _checkout: Some(temp),
    })
}

/// The URL to record for `url`: a relative local repository is relative to the current
/// directory, so it is recorded absolute, and a later update from another directory finds
/// it.
fn recorded_url(url: &str) -> Result<String, SourceError> {
    if is_local_path_url(url) && Path::new(url).is_relative() {
        match crate::fs::canonicalize(&RealFs, Path::new(url)) {
            Ok(abs) => utf8_path(&abs),
            Err(_) => Ok(url.to_owned()),
        }
    } else {
        Ok(url.to_owned())
    }
}

/// Clones `source_url` into `checkout` without checking anything out.
fn clone(url: &str, source_url: &str, checkout: &Path) -> Result<(), SourceError> {
    let output = run_git(
        None,
        &[
            OsStr::new("clone"),
            OsStr::new("--quiet"),
            OsStr::new("--no-checkout"),
            OsStr::new("--origin"),
            OsStr::new("origin"),
            OsStr::new("--"),
            OsStr::new(source_url),
            checkout.as_os_str(),
        ],
        "clone the repository",
    )?;
    if !output.status.success() {
        return Err(git_failure(url, "clone the repository", &output));
    }
    Ok(())
}

/// The commit `reference` names in the clone (a tag first, then a branch, then anything git
/// resolves, such as a commit id; `None`: the default branch's HEAD), and the tag's name
/// when it was a tag.
fn resolve_reference(
    checkout: &Path,
    url: &str,
    reference: Option<&str>,
) -> Result<(String, Option<String>), SourceError> {
    let not_found = |reference: &str| SourceError::RefNotFound {
        url: url.to_owned(),
        reference: reference.to_owned(),
    };
    let Some(reference) = reference else {
        let sha = rev_parse_commit(checkout, url, "HEAD")?;
        return sha.map(|sha| (sha, None)).ok_or_else(|| not_found("HEAD"));
    };
    if reference.is_empty() || reference.starts_with('-') || reference.chars().any(char::is_control)
    {
        return Err(not_found(reference));
    }
    let candidates = [
        (format!("refs/tags/{reference}"), true),
        (format!("refs/remotes/origin/{reference}"), false),
        (reference.to_owned(), false),
    ];
    for (candidate, is_tag) in &candidates {
        if let Some(sha) = rev_parse_commit(checkout, url, candidate)? {
            return Ok((sha, is_tag.then(|| reference.to_owned())));
        }
    }
    Err(not_found(reference))
}

/// Checks out commit `sha` (detached) in the clone.
fn check_out(checkout: &Path, url: &str, sha: &str) -> Result<(), SourceError> {
    let output = run_git(
        Some(checkout),
        &[
            OsStr::new("checkout"),
            OsStr::new("--quiet"),
            OsStr::new("--detach"),
            OsStr::new(sha),
        ],
        "check out the commit",
    )?;
    if !output.status.success() {
        return Err(git_failure(url, format!("check out commit {sha}"), &output));
    }
    Ok(())
}

/// The artifact's directory or file in the checkout: `repo_path` inside it, which must exist
/// and (through links) stay inside the repository and out of git's own directory.
fn artifact_root(
    fs: &dyn FileSystem,
    checkout: &Path,
    url: &str,
    repo_path: Option<&str>,
    sha: &str,
) -> Result<PathBuf, SourceError> {
    let checkout_canonical = crate::fs::canonicalize(fs, checkout).map_err(io_error(checkout))?;
    let Some(repo_path) = repo_path else {
        return Ok(checkout_canonical);
    };
    let target = checkout_canonical.join(repo_path);
    if let Err(source) = fs.metadata(&target) {
        return Err(
            if source.kind() == io::ErrorKind::NotFound
                || source.kind() == io::ErrorKind::NotADirectory
            {
                SourceError::PathNotFound {
                    url: url.to_owned(),
                    path: repo_path.to_owned(),
                    sha: sha.to_owned(),
                }
            } else {
                SourceError::Io(IoError::new("read", target, source))
            },
        );
    }
    let outside = |target: PathBuf, to: PathBuf, why| SourceError::SymlinkOutside {
        link: target,
        target: to,
        why,
    };
    match crate::fs::canonicalize(fs, &target) {
        Ok(root) if root.starts_with(checkout_canonical.join(".git")) => {
            Err(outside(target, root, "git's own directory"))
        }
        Ok(root) if root.starts_with(&checkout_canonical) => Ok(root),
        Ok(root) => Err(outside(target, root, "outside the repository")),
        Err(_) => {
            let text = fs.read_link(&target).unwrap_or_default();
            Err(outside(
                target,
                PathBuf::from(text),
                "nothing (it dangles or loops)",
            ))
        }
    }
}

/// Sets the permission bits of a checkout's listing to what git records, whatever the umask
/// the checkout was made under: git keeps only whether a file is executable (0755 or 0644);
/// directories are 0755.
pub(super) fn git_modes(kind: &mut FetchedKind) {
    let file = |mode: u32| if mode & 0o111 != 0 { 0o755 } else { 0o644 };
    match kind {
        FetchedKind::File { mode, .. } => *mode = file(*mode),
        FetchedKind::Dir { mode, entries, .. } => {
            *mode = 0o755;
            for e in entries {
                if e.link.is_some() {
                    continue;
                }
                e.mode = if e.is_dir { 0o755 } else { file(e.mode) };
            }
        }
    }
}

/// `git describe --tags --exact-match <sha>`: the tag naming exactly that commit, if any.
pub(super) fn describe_exact_tag(
    checkout: &Path,
    sha: &str,
) -> Result<Option<String>, SourceError> {
    let output = run_git(
        Some(checkout),
        &[
            OsStr::new("describe"),
            OsStr::new("--tags"),
            OsStr::new("--exact-match"),
            OsStr::new(sha),
        ],
        "describe the commit",
    )?;
    // Failure means "no tag points here"; the tag is informational only.
    let tag = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok((output.status.success() && !tag.is_empty()).then_some(tag))
}
