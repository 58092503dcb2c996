//! Where an artifact comes from: resolving a source (a local path or a git repository) and
//! producing a validated, read-only listing of its files for the engine to copy.
//!
//! Nothing here writes inside a collection, and nothing here reads file contents: sources are
//! listed and `stat`ed only, and the engine streams each file from [`FetchedEntry::abs`]
//! later. Git sources are cloned into a private [`TempDir`] that lives as long as the
//! [`Fetched`] value.
//!
//! # What is listed
//!
//! Exactly what SkillMeat 0.74's `add` copies (`FilesystemManager.copy_artifact`:
//! `shutil.copytree(..., symlinks=False, ignore=shutil.ignore_patterns(*IGNORE_PATTERNS))`),
//! or an error where SkillMeat would do something unsafe or surprising:
//!
//! - Names matching [`EXCLUDE_PATTERNS`] are dropped at any depth below the root, files and
//!   directories alike (fnmatch semantics, case-sensitive as on POSIX; see [`is_excluded`]).
//!   An excluded name is dropped before it is even examined, so a dangling link called
//!   `.DS_Store` or anything inside `node_modules/` never causes an error.
//! - Regular files and directories are listed with their permission bits (`st_mode & 0o7777`)
//!   and sizes (0 for directories). Empty directories are listed too (SkillMeat copies them).
//! - Symbolic links are listed as links, with their targets, and copied as links (SkillMeat
//!   dereferences them when copying; skillwal keeps what the source holds). One rule decides
//!   which links an artifact may hold, the same everywhere in skillwal: a link is
//!   *contained* when its target is relative, and, resolved from the link's directory, stays
//!   inside the artifact at every step, does not go through an excluded name, exists (a
//!   file or a directory), and is not a directory holding the link itself (a copy loop).
//!   Any other link (absolute, leaving the artifact, dangling, looping) is an error naming the
//!   link and its target, [`SourceError::SymlinkOutside`]: an artifact must not pull in or
//!   point at files elsewhere on the machine (or elsewhere in a cloned repository).
//!
//!   The source root itself may be a link (for local sources and for a git `path`); it is
//!   canonicalized, and the canonical path is what [`Fetched`] reports. For git sources the
//!   root must resolve inside the checkout.
//! - Permission bits: a local source's exactly (`st_mode & 0o7777`, the root's included); a
//!   git source's as git records them, whatever the umask its checkout was made under: a
//!   file is 0644, or 0755 when git marks it executable, and every directory 0755.
//! - Sockets, FIFOs and devices are errors ([`SourceError::SpecialFile`]); copying a FIFO
//!   would block.
//! - Names that are not UTF-8 are errors ([`SourceError::NonUtf8Name`]); SkillMeat's content
//!   hash fails on them.
//! - Limits: [`SOURCE_ENTRIES_MAX`] entries (files and directories), [`SOURCE_DEPTH_MAX`]
//!   path components below the root, [`SOURCE_BYTES_MAX`] bytes of file content in total.
//!
//! Entries are sorted by relative path compared component by component (the order of
//! SkillMeat's content hash), so a parent always comes before its children.
//!
//! # Kinds
//!
//! A skill must be a directory with a regular file (or a link to one, see above) named
//! exactly `SKILL.md` at its top level. SkillMeat 0.74 matches that name case-insensitively
//! (`skill.md` passes there); skillwal requires the canonical spelling and says so in the
//! error when it finds another one. A command or an agent must be a single regular file whose
//! name ends in `.md` (any case, as SkillMeat checks; the name checked is the canonical one,
//! after following a link, as SkillMeat checks the resolved path); a directory is refused
//! (SkillMeat's "directory holding a .md file" form is deprecated there).
//!
//! # A snapshot, not a lock
//!
//! The listing describes the source at the time of the call. A local source can change
//! before the engine copies it: the engine must open each [`FetchedEntry::abs`] without
//! following links and check that type and size still match (a git checkout is private to
//! the [`Fetched`] value and does not change).
//!
//! # Git
//!
//! Every git invocation runs as `git -c core.hooksPath=/dev/null -c core.fsmonitor=false ...`
//! (no hook or file-system monitor of the user's configuration runs in the checkout), with
//! stdin closed, `GIT_TERMINAL_PROMPT=0` (a missing credential fails instead of prompting) and
//! the variables that redirect git to another repository (`GIT_DIR`, `GIT_WORK_TREE`, ...)
//! removed. The user's other git configuration (proxies, credentials, `insteadOf`) applies.
//! No `protocol.*.allow` override is used: plain clones of local paths and `file://` URLs are
//! allowed by git's defaults, and submodules are not fetched (a submodule appears as an empty
//! directory).
//!
//! Steps: `git clone --quiet --no-checkout --origin origin -- <url> <tmp>/checkout` (a full
//! clone; `git clone` fetches every tag by default, even tags on no branch, so `--no-tags` is
//! deliberately not used: any sha resolves and tags can be reported); resolve the
//! reference with `git rev-parse --verify --quiet --end-of-options <candidate>^{commit}`
//! trying `refs/tags/<ref>`, then `refs/remotes/origin/<ref>`, then `<ref>` itself (a sha, or
//! any revision git understands), or `HEAD` (the remote's default branch) when no reference
//! is given; `git checkout --quiet --detach <sha>`; `git describe --tags --exact-match <sha>`
//! for [`Fetched::resolved_version`] (the requested tag itself when the reference was a tag).
//!
//! **No timeout**: `std::process` cannot time out a child, and none is implemented here, so a
//! git command stuck on the network blocks `fetch` until git itself gives up. Because
//! prompts are disabled and stdin is closed, git never waits for the user.

pub mod links;

use crate::error::IoError;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use super::names::ArtifactType;
use crate::skillmeat::format::manifest::Origin;

/// Most entries (files plus directories) a source directory may hold.
pub const SOURCE_ENTRIES_MAX: usize = 10_000;
/// Most path components an entry may have below the source root (`a/b/c` has 3).
pub const SOURCE_DEPTH_MAX: usize = crate::limits::PATH_DEPTH_MAX - 2;
// The engine counts depth from the collection root; an artifact lives two components
// below it (`skills/<name>/...`), so the deepest source entry the engine can stage is
// PATH_DEPTH_MAX - 2 below the artifact.
/// Most bytes of file content a source may hold in total (1 GiB).
pub const SOURCE_BYTES_MAX: u64 = 1 << 30;
/// The file that makes a directory a skill.
pub const SKILL_MANIFEST: &str = "SKILL.md";
/// SkillMeat 0.74's `FilesystemManager.IGNORE_PATTERNS`, verbatim. A pattern starting with
/// `*` matches every name ending with the rest; any other pattern matches only itself.
pub const EXCLUDE_PATTERNS: [&str; 12] = [
    ".git",
    ".github",
    ".gitignore",
    "__pycache__",
    "*.pyc",
    "*.pyo",
    "node_modules",
    ".venv",
    "venv",
    "*.egg-info",
    ".DS_Store",
    "Thumbs.db",
];
/// The `version_spec` recorded for a git source fetched without a reference, and the word
/// [`SourceSpec::parse_github`] treats as "no reference" (as SkillMeat does).
pub const LATEST: &str = "latest";

/// The git program run for git sources (looked up on `PATH`).
const GIT: &str = "git";
/// Environment variables that would make git act on another repository than the one named
/// by `-C` or the clone destination.
const GIT_REPO_ENV: [&str; 8] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
];

/// Where an artifact comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A directory (skill) or a file (command, agent) on this machine.
    Local(PathBuf),
    /// A git repository: any URL git understands, local paths and `file://` included.
    Git {
        /// The repository.
        url: String,
        /// The artifact's path inside the repository, `/`-separated; `None` for the root.
        path: Option<String>,
        /// A branch, tag or commit; `None` for the remote's default branch.
        reference: Option<String>,
    },
}

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

/// What a source resolved to: a read-only view of its files, and what to record about it.
///
/// For git sources it owns the temporary checkout the paths point into; dropping it deletes
/// the checkout.
#[derive(Debug)]
pub struct Fetched {
    /// The files.
    pub kind: FetchedKind,
    /// [`Origin::Local`] for local sources, [`Origin::Github`] for every git source (SkillMeat
    /// accepts only `local`, `github` and `marketplace`).
    pub origin: Origin,
    /// The manifest's `upstream`: for github.com repositories exactly what SkillMeat writes,
    /// `https://github.com/<user>/<repo>/tree/<sha>[/<path>]`; for other git URLs the URL
    /// (absolute path for local repositories) plus `#<path>` when a path is given; `None` for
    /// local sources. See [`upstream_url`].
    pub upstream: Option<String>,
    /// The reference the user asked for, or [`LATEST`] for git without one; `None` for local
    /// sources (SkillMeat records none for them).
    pub version_spec: Option<String>,
    /// The full commit sha checked out (git only).
    pub resolved_sha: Option<String>,
    /// The tag naming exactly the resolved commit, if any (git only).
    pub resolved_version: Option<String>,
    /// What skillwal stores to update the artifact later: the canonical absolute path for
    /// local sources; the URL for git sources (a relative local repository path is made
    /// absolute).
    pub skillwal_source: String,
    /// The normalized path inside the repository (git only; `None` for the root).
    pub skillwal_path: Option<String>,
    /// The reference as the user gave it (git only; `None` for the default branch).
    pub skillwal_ref: Option<String>,
    /// The checkout of a git source, deleted when this value is dropped.
    _checkout: Option<TempDir>,
}

impl Fetched {
    /// Whether the source is a directory (a skill).
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, FetchedKind::Dir { .. })
    }
}

/// The files of a fetched source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchedKind {
    /// A directory (skill).
    Dir {
        /// Canonical path of the directory.
        root: PathBuf,
        /// Permission bits of the directory itself (`st_mode & 0o7777`).
        mode: u32,
        /// Everything below it that is copied, sorted (see the module documentation).
        entries: Vec<FetchedEntry>,
    },
    /// A single file (command, agent).
    File {
        /// Canonical path of the file.
        path: PathBuf,
        /// Permission bits (`st_mode & 0o7777`).
        mode: u32,
        /// Size in bytes.
        size: u64,
    },
}

/// One file, directory or symbolic link below a fetched directory's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedEntry {
    /// Path relative to the root, components joined with `/`, UTF-8.
    pub rel: String,
    /// Where it is (a link: the link itself, never followed).
    pub abs: PathBuf,
    /// A directory (listed so that empty directories are copied too).
    pub is_dir: bool,
    /// Permission bits (`st_mode & 0o7777`; 0o777 for a link).
    pub mode: u32,
    /// Size in bytes (0 for directories; a link's target's length).
    pub size: u64,
    /// A contained symbolic link's target (see the module documentation); `None` otherwise.
    pub link: Option<Vec<u8>>,
}

/// Why a source cannot be used. Every message names the path or URL and says what to do.
#[derive(Debug, thiserror::Error)]
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
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether SkillMeat's `add` drops an entry with this name (see [`EXCLUDE_PATTERNS`]).
/// "a" or "an" before an artifact type's name.
fn article(ty: ArtifactType) -> &'static str {
    if ty.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

pub fn is_excluded(name: &str) -> bool {
    EXCLUDE_PATTERNS
        .iter()
        .any(|pattern| match pattern.strip_prefix('*') {
            Some(suffix) => name.ends_with(suffix),
            None => name == *pattern,
        })
}

/// Resolves `spec` and lists its files, checking that they fit `ty` (see the module
/// documentation for the rules).
pub fn fetch(spec: &SourceSpec, ty: ArtifactType) -> Result<Fetched, SourceError> {
    match spec {
        SourceSpec::Local(path) => fetch_local(path, ty),
        SourceSpec::Git {
            url,
            path,
            reference,
        } => fetch_git(url, path.as_deref(), reference.as_deref(), ty),
    }
}

/// The name an artifact gets when the user gives none: the directory's name for skills, the
/// file name without its `.md` suffix (any case) for commands and agents. For a git source
/// the last component of the path, or the repository's name (without `.git`) when there is
/// no path. For a local path with no final name (`.`, `..`) the canonical path's name.
///
/// `None` when no non-empty UTF-8 name can be derived. The result is not validated: check it
/// with [`super::validate_artifact_name`].
pub fn default_name(spec: &SourceSpec, ty: ArtifactType) -> Option<String> {
    let base = match spec {
        SourceSpec::Local(path) => match path.file_name() {
            Some(name) => name.to_str()?.to_owned(),
            None => fs::canonicalize(path)
                .ok()?
                .file_name()?
                .to_str()?
                .to_owned(),
        },
        SourceSpec::Git { url, path, .. } => {
            let from_path = path
                .as_deref()
                .and_then(|p| p.split('/').rfind(|c| !c.is_empty() && *c != "."));
            match from_path {
                Some(last) => last.to_owned(),
                None => {
                    let trimmed = url.trim_end_matches('/');
                    let last = trimmed.rsplit(['/', ':']).next()?;
                    last.strip_suffix(".git").unwrap_or(last).to_owned()
                }
            }
        }
    };
    let name = if ty.is_directory() {
        base
    } else {
        strip_md(&base).to_owned()
    };
    (!name.is_empty()).then_some(name)
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

fn github_repo(url: &str) -> Option<(&str, &str)> {
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

fn strip_md(name: &str) -> &str {
    let cut = name.len().saturating_sub(3);
    match name.get(cut..) {
        Some(suffix) if cut > 0 && suffix.eq_ignore_ascii_case(".md") => &name[..cut],
        _ => name,
    }
}

fn has_md_suffix(path: &Path) -> bool {
    path.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|name| strip_md(name).len() != name.len())
}

/// A reference acceptable after `@` in the GitHub shorthand: a subset of
/// `git check-ref-format` that also admits shas.
fn valid_reference(reference: &str) -> bool {
    !reference.is_empty()
        && !reference.starts_with(['-', '/'])
        && !reference.ends_with(['/', '.'])
        && !reference.contains("..")
        && !reference.contains("//")
        && !reference
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SourceError + '_ {
    move |source| SourceError::Io(IoError::new("read", path, source))
}

fn utf8_path(path: &Path) -> Result<String, SourceError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| SourceError::NonUtf8Name {
            path: path.to_path_buf(),
        })
}

fn fetch_local(path: &Path, ty: ArtifactType) -> Result<Fetched, SourceError> {
    let root = fs::canonicalize(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            SourceError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            SourceError::Io(IoError::new("read", path, source))
        }
    })?;
    let skillwal_source = utf8_path(&root)?;
    let kind = list_artifact(&root, ty)?;
    Ok(Fetched {
        kind,
        origin: Origin::Local,
        upstream: None,
        version_spec: None,
        resolved_sha: None,
        resolved_version: None,
        skillwal_source,
        skillwal_path: None,
        skillwal_ref: None,
        _checkout: None,
    })
}

fn kind_name(file_type: fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

/// Lists the artifact at the canonical path `root` and checks that it fits `ty`.
fn list_artifact(root: &Path, ty: ArtifactType) -> Result<FetchedKind, SourceError> {
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
fn walk(root: &Path) -> Result<Vec<FetchedEntry>, SourceError> {
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
fn contained_link(root: &Path, link: &Path, at: &[String]) -> Result<Vec<u8>, SourceError> {
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

/// Normalizes a path inside a repository: `/`-separated, `.` and empty components dropped;
/// absolute paths, `..`, backslashes and `.git` rejected. `None` for the repository root.
fn normalize_repo_path(path: Option<&str>) -> Result<Option<String>, SourceError> {
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
fn is_local_path_url(url: &str) -> bool {
    if url.contains("://") {
        return false;
    }
    match url.find(':') {
        None => true,
        Some(colon) => url.find('/').is_some_and(|slash| slash < colon),
    }
}

fn run_git(dir: Option<&Path>, args: &[&OsStr], step: &'static str) -> Result<Output, SourceError> {
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

fn git_failure(url: &str, step: impl Into<String>, output: &Output) -> SourceError {
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
fn rev_parse_commit(
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

fn fetch_git(
    url: &str,
    path: Option<&str>,
    reference: Option<&str>,
    ty: ArtifactType,
) -> Result<Fetched, SourceError> {
    let repo_path = normalize_repo_path(path)?;
    // A relative local repository is relative to the current directory: record it absolute
    // so that a later update from another directory finds it.
    let source_url = if is_local_path_url(url) && Path::new(url).is_relative() {
        match fs::canonicalize(url) {
            Ok(abs) => utf8_path(&abs)?,
            Err(_) => url.to_owned(),
        }
    } else {
        url.to_owned()
    };
    let temp = tempfile::Builder::new()
        .prefix("skillwal-git-")
        .tempdir()
        .map_err(io_error(&std::env::temp_dir()))?;
    let checkout = temp.path().join("checkout");

    let output = run_git(
        None,
        &[
            OsStr::new("clone"),
            OsStr::new("--quiet"),
            OsStr::new("--no-checkout"),
            OsStr::new("--origin"),
            OsStr::new("origin"),
            OsStr::new("--"),
            OsStr::new(&source_url),
            checkout.as_os_str(),
        ],
        "clone the repository",
    )?;
    if !output.status.success() {
        return Err(git_failure(url, "clone the repository", &output));
    }

    let (sha, tag) = match reference {
        None => match rev_parse_commit(&checkout, url, "HEAD")? {
            Some(sha) => (sha, None),
            None => {
                return Err(SourceError::RefNotFound {
                    url: url.to_owned(),
                    reference: "HEAD".to_owned(),
                });
            }
        },
        Some(reference) => {
            let not_found = || SourceError::RefNotFound {
                url: url.to_owned(),
                reference: reference.to_owned(),
            };
            if reference.is_empty()
                || reference.starts_with('-')
                || reference.chars().any(char::is_control)
            {
                return Err(not_found());
            }
            let candidates = [
                (format!("refs/tags/{reference}"), true),
                (format!("refs/remotes/origin/{reference}"), false),
                (reference.to_owned(), false),
            ];
            let mut found = None;
            for (candidate, is_tag) in &candidates {
                if let Some(sha) = rev_parse_commit(&checkout, url, candidate)? {
                    found = Some((sha, is_tag.then(|| reference.to_owned())));
                    break;
                }
            }
            found.ok_or_else(not_found)?
        }
    };

    let output = run_git(
        Some(&checkout),
        &[
            OsStr::new("checkout"),
            OsStr::new("--quiet"),
            OsStr::new("--detach"),
            OsStr::new(&sha),
        ],
        "check out the commit",
    )?;
    if !output.status.success() {
        return Err(git_failure(url, format!("check out commit {sha}"), &output));
    }

    let resolved_version = match tag {
        Some(tag) => Some(tag),
        None => describe_exact_tag(&checkout, &sha)?,
    };

    let checkout_canonical = fs::canonicalize(&checkout).map_err(io_error(&checkout))?;
    let target = match &repo_path {
        Some(p) => checkout_canonical.join(p),
        None => checkout_canonical.clone(),
    };
    if let Err(source) = fs::symlink_metadata(&target) {
        return Err(
            if source.kind() == io::ErrorKind::NotFound
                || source.kind() == io::ErrorKind::NotADirectory
            {
                SourceError::PathNotFound {
                    url: url.to_owned(),
                    path: repo_path.clone().unwrap_or_default(),
                    sha,
                }
            } else {
                SourceError::Io(IoError::new("read", target, source))
            },
        );
    }
    let root = if repo_path.is_some() {
        match fs::canonicalize(&target) {
            Ok(root) if root.starts_with(&checkout_canonical) => {
                if root.starts_with(checkout_canonical.join(".git")) {
                    return Err(SourceError::SymlinkOutside {
                        link: target,
                        target: root,
                        why: "git's own directory",
                    });
                }
                root
            }
            Ok(root) => {
                return Err(SourceError::SymlinkOutside {
                    link: target,
                    target: root,
                    why: "outside the repository",
                });
            }
            Err(_) => {
                let text = fs::read_link(&target).unwrap_or_default();
                return Err(SourceError::SymlinkOutside {
                    link: target,
                    target: text,
                    why: "nothing (it dangles or loops)",
                });
            }
        }
    } else {
        checkout_canonical
    };

    let mut kind = list_artifact(&root, ty)?;
    git_modes(&mut kind);
    Ok(Fetched {
        kind,
        origin: Origin::Github,
        upstream: Some(upstream_url(&source_url, &sha, repo_path.as_deref())),
        version_spec: Some(reference.unwrap_or(LATEST).to_owned()),
        resolved_sha: Some(sha),
        resolved_version,
        skillwal_source: source_url,
        skillwal_path: repo_path,
        skillwal_ref: reference.map(str::to_owned),
        _checkout: Some(temp),
    })
}

/// Sets the permission bits of a checkout's listing to what git records, whatever the umask
/// the checkout was made under: git keeps only whether a file is executable (0755 or 0644);
/// directories are 0755.
fn git_modes(kind: &mut FetchedKind) {
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
fn describe_exact_tag(checkout: &Path, sha: &str) -> Result<Option<String>, SourceError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_matches_skillmeat_patterns() {
        for name in [
            ".git",
            ".github",
            ".gitignore",
            "__pycache__",
            "a.pyc",
            ".pyc",
            "b.pyo",
            "node_modules",
            ".venv",
            "venv",
            "x.egg-info",
            ".DS_Store",
            "Thumbs.db",
        ] {
            assert!(is_excluded(name), "{name}");
        }
        for name in [
            ".gitattributes",
            "venv2",
            "pyc",
            "a.PYC",
            "thumbs.db",
            "git",
            ".hidden",
            "a.pyc.txt",
        ] {
            assert!(!is_excluded(name), "{name}");
        }
    }

    #[test]
    fn repo_paths_are_normalized() {
        assert_eq!(normalize_repo_path(None).unwrap(), None);
        assert_eq!(normalize_repo_path(Some("")).unwrap(), None);
        assert_eq!(normalize_repo_path(Some("./")).unwrap(), None);
        assert_eq!(
            normalize_repo_path(Some("a//./b/")).unwrap().as_deref(),
            Some("a/b")
        );
        for bad in ["/abs", "a/../b", "..", "a\\b", ".git/config", "a\nb"] {
            assert!(
                matches!(
                    normalize_repo_path(Some(bad)),
                    Err(SourceError::InvalidPath { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn local_path_urls() {
        assert!(is_local_path_url("/srv/repo"));
        assert!(is_local_path_url("repo"));
        assert!(is_local_path_url("./a:b"));
        assert!(!is_local_path_url("file:///srv/repo"));
        assert!(!is_local_path_url("git@github.com:u/r.git"));
        assert!(!is_local_path_url("host:repo"));
    }

    #[test]
    fn md_suffix() {
        assert_eq!(strip_md("review.md"), "review");
        assert_eq!(strip_md("review.MD"), "review");
        assert_eq!(strip_md(".md"), ".md");
        assert_eq!(strip_md("review"), "review");
        assert_eq!(strip_md("é.md"), "é");
        assert_eq!(strip_md("éé"), "éé");
    }
}
