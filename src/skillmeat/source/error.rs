use super::*;

/// Why a source cannot be used. Every message names the path or URL and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A local source path does not exist (or is a dangling link).
    #[error("source {path} does not exist; check the path")]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// Reading the file system failed.
    #[error("cannot {} {} ({}); check that it exists and is readable", .0.op, .0.path.display(), .0.source)]
    Io(#[source] IoError),
    /// The source is a file where the type needs a directory, or the reverse.
    #[error("{} {artifact_type} must be {expected}, but {path} is {found}; point to {expected}", article(*artifact_type))]
    WrongKind {
        /// The (canonical) source path.
        path: PathBuf,
        /// The type asked for.
        artifact_type: ArtifactType,
        /// What that type needs.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A command or agent source file does not end in `.md`.
    #[error("{} {artifact_type} must be a .md file, but {path} is not; point to the .md file", article(*artifact_type))]
    NotMarkdown {
        /// The (canonical) source path.
        path: PathBuf,
        /// The type asked for.
        artifact_type: ArtifactType,
    },
    /// A skill directory has no `SKILL.md` at its top level.
    #[error(
        "skill directory {path} has no SKILL.md file at its top level{}; add SKILL.md or point to the skill's own directory",
        .found_instead.as_ref().map(|n| format!(" (found {n:?}: rename it to SKILL.md)")).unwrap_or_default()
    )]
    MissingSkillManifest {
        /// The (canonical) skill directory.
        path: PathBuf,
        /// A differently capitalised name found instead (`skill.md`), if any.
        found_instead: Option<String>,
    },
    /// A symbolic link that is not contained (see the module documentation).
    #[error(
        "symbolic link {link} points to {target}, {why}; an artifact may only hold links with a relative target inside it: replace the link with the file it should contain, make it relative, or remove it"
    )]
    SymlinkOutside {
        /// The link.
        link: PathBuf,
        /// Its target as written (or, for the root of a git path, where it resolves).
        target: PathBuf,
        /// Why it is not contained.
        why: &'static str,
    },
    /// A socket, FIFO or device (or a link to one).
    #[error("{path} is neither a regular file nor a directory; remove it from the source")]
    SpecialFile {
        /// The path.
        path: PathBuf,
    },
    /// A name that is not valid UTF-8.
    #[error("the name of {} is not valid UTF-8; rename it", .path.display())]
    NonUtf8Name {
        /// The path (displayed lossily).
        path: PathBuf,
    },
    /// More than [`SOURCE_ENTRIES_MAX`] entries.
    #[error(
        "source {root} holds more than {limit} files and directories; point to a smaller directory"
    )]
    TooManyEntries {
        /// The source root.
        root: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// An entry deeper than [`SOURCE_DEPTH_MAX`] components.
    #[error(
        "{path} is nested more than {limit} directories deep in the source; flatten the source"
    )]
    TooDeep {
        /// The first entry found too deep.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// More than [`SOURCE_BYTES_MAX`] bytes of files.
    #[error("source {root} holds more than {limit} bytes of files; point to a smaller source")]
    TooLarge {
        /// The source root.
        root: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The `git` program could not be started.
    #[error("cannot run git ({source}) to {step}; install git or put it on PATH")]
    GitUnavailable {
        /// What was being done.
        step: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A git command failed.
    #[error(
        "git could not {step} for {url}: {}; check the URL, your network and your credentials",
        one_line(.stderr)
    )]
    Git {
        /// The repository URL.
        url: String,
        /// What was being done (`clone the repository`, `check out ...`).
        step: String,
        /// git's stderr, trimmed (or the exit status when it printed nothing). The message
        /// shows its lines joined with `; `.
        stderr: String,
    },
    /// The reference names no commit in the repository.
    #[error(
        "reference {reference:?} does not name a commit in {url}; use an existing branch, tag or commit (`git ls-remote {url}` lists them)"
    )]
    RefNotFound {
        /// The repository URL.
        url: String,
        /// The reference as given (`HEAD` when none was given and the repository is empty).
        reference: String,
    },
    /// The path does not exist in the checked-out commit.
    #[error(
        "path {path:?} does not exist in {url} at commit {sha}; check the path and the reference"
    )]
    PathNotFound {
        /// The repository URL.
        url: String,
        /// The normalized path.
        path: String,
        /// The commit checked out.
        sha: String,
    },
    /// The path inside a repository is not acceptable.
    #[error(
        "path {path:?} inside the repository is invalid: {reason}; give a relative path such as skills/my-skill"
    )]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why.
        reason: &'static str,
    },
}

/// `text`'s non-blank lines, trimmed and joined with `; `, so that a message stays on one line.
pub(super) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether SkillMeat's `add` drops an entry with this name (see [`EXCLUDE_PATTERNS`]).
/// "a" or "an" before an artifact type's name.
pub(super) fn article(ty: ArtifactType) -> &'static str {
    if ty.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

pub(super) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SourceError + '_ {
    move |source| SourceError::Io(IoError::new("read", path, source))
}

pub(super) fn utf8_path(path: &Path) -> Result<String, SourceError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| SourceError::NonUtf8Name {
            path: path.to_path_buf(),
        })
}
