use super::*;

impl SourceSpec {
    /// Parses SkillMeat's GitHub shorthand `user/repo/path/to/thing[@ref]` (also
    /// `user/repo[@ref]` with no path) into
    /// `Git { url: "https://github.com/user/repo", path: Some("path/to/thing"), reference }`.
    ///
    /// As in SkillMeat, the reference is whatever follows the last `@`, and `@latest` means
    /// no reference (the default branch). Returns `None` when the text is not of that shape:
    /// fewer than two components, an empty, `.` or `..` component, a user name that is not
    /// GitHub's (letters, digits, `-`, not first), a repository name outside
    /// `[A-Za-z0-9._-]`, a backslash or control character, or an empty or malformed reference.
    ///
    /// A relative local path such as `skills/my-skill` has the same shape: callers should
    /// check whether the text names an existing local path before trying this.
    pub fn parse_github(s: &str) -> Option<SourceSpec> {
        let (body, reference) = match s.rsplit_once('@') {
            Some((body, reference)) => {
                if !valid_reference(reference) {
                    return None;
                }
                (body, (reference != LATEST).then(|| reference.to_owned()))
            }
            None => (s, None),
        };
        let mut parts = body.split('/');
        let user = parts.next()?;
        let repo = parts.next()?;
        let valid_user = !user.is_empty()
            && !user.starts_with('-')
            && user.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let valid_repo = !repo.is_empty()
            && repo != "."
            && repo != ".."
            && !repo.starts_with('-')
            && repo
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid_user || !valid_repo {
            return None;
        }
        let rest: Vec<&str> = parts.collect();
        let valid_component = |c: &&str| {
            !c.is_empty()
                && *c != "."
                && *c != ".."
                && !c.contains('\\')
                && !c.chars().any(char::is_control)
        };
        if !rest.iter().all(valid_component) {
            return None;
        }
        Some(SourceSpec::Git {
            url: format!("https://github.com/{user}/{repo}"),
            path: (!rest.is_empty()).then(|| rest.join("/")),
            reference,
        })
    }
}

/// What SkillMeat records as `upstream` for a commit `sha` of repository `url` and an
/// optional `path` inside it: `https://github.com/<user>/<repo>/tree/<sha>[/<path>]` when
/// `url` is a github.com repository (`https://github.com/u/r`, with or without `.git` or a
/// trailing `/`, or `git@github.com:u/r`, or `ssh://git@github.com/u/r`); otherwise `url`,
/// followed by `#<path>` when a path is given.
pub fn upstream_url(url: &str, sha: &str, path: Option<&str>) -> String {
    match github_repo(url) {
        Some((user, repo)) => match path {
            Some(p) => format!("https://github.com/{user}/{repo}/tree/{sha}/{p}"),
            None => format!("https://github.com/{user}/{repo}/tree/{sha}"),
        },
        None => match path {
            Some(p) => format!("{url}#{p}"),
            None => url.to_owned(),
        },
    }
}

pub(super) fn github_repo(url: &str) -> Option<(&str, &str)> {
    let rest = [
        "https://github.com/",
        "git@github.com:",
        "ssh://git@github.com/",
    ]
    .iter()
    .find_map(|prefix| url.strip_prefix(prefix))?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let (user, repo) = rest.split_once('/')?;
    let ok = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
    (ok(user) && ok(repo)).then_some((user, repo))
}

pub(super) fn strip_md(name: &str) -> &str {
    let cut = name.len().saturating_sub(3);
    match name.get(cut..) {
        Some(suffix) if cut > 0 && suffix.eq_ignore_ascii_case(".md") => &name[..cut],
        _ => name,
    }
}

pub(super) fn has_md_suffix(path: &Path) -> bool {
    path.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| strip_md(name).len() != name.len())
}

/// A reference acceptable after `@` in the GitHub shorthand: a subset of
/// `git check-ref-format` that also admits shas.
pub(super) fn valid_reference(reference: &str) -> bool {
    !reference.is_empty()
        && !reference.starts_with(['-', '/'])
        && !reference.ends_with(['/', '.'])
        && !reference.contains("..")
        && !reference.contains("//")
        && !reference
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
}

/// Normalizes a path inside a repository: `/`-separated, `.` and empty components dropped;
/// absolute paths, `..`, backslashes and `.git` rejected. `None` for the repository root.
pub(super) fn normalize_repo_path(path: Option<&str>) -> Result<Option<String>, SourceError> {
    let Some(raw) = path else { return Ok(None) };
    let invalid = |reason| SourceError::InvalidPath {
        path: raw.to_owned(),
        reason,
    };
    if raw.starts_with('/') {
        return Err(invalid("it is absolute"));
    }
    if raw.contains('\\') {
        return Err(invalid("it contains a backslash"));
    }
    if raw.chars().any(char::is_control) {
        return Err(invalid("it contains a control character"));
    }
    let mut parts = Vec::new();
    for component in raw.split('/') {
        match component {
            "" | "." => {}
            ".." => return Err(invalid("it contains '..'")),
            ".git" => return Err(invalid("it points into git's own data")),
            other => parts.push(other),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Whether git treats `url` as a local path (no `scheme://`, and no `host:` before the first
/// `/`, the scp-like syntax).
pub(super) fn is_local_path_url(url: &str) -> bool {
    if url.contains("://") {
        return false;
    }
    match url.find(':') {
        None => true,
        Some(colon) => url.find('/').is_some_and(|slash| slash < colon),
    }
}
