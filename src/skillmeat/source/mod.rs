//! Where an artifact comes from: resolving a source (a local path or a git repository) and
//! producing a validated, read-only listing of its files for the engine to copy.
//!
//! Nothing here writes inside a collection, and nothing here reads file contents: sources are
//! listed and `stat`ed only, through a [`FileSystem`] ([`fetch_in`]; [`fetch`] uses the real
//! one), and the engine streams each file from [`FetchedEntry::abs`] later, through the same
//! one ([`Fetched::file_system`]). Git sources are cloned into a private [`TempDir`] that
//! lives as long as the [`Fetched`] value, and read through [`RealFs`].
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
//! before the engine copies it: the collection opens each [`FetchedEntry::abs`] without
//! following links and checks that it is still a regular file of the listed size, and that
//! exactly that many bytes were read; otherwise the change is refused with
//! `CollectionError::SourceChanged` before anything is committed (a git checkout is private
//! to the [`Fetched`] value and does not change).
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

mod error;
mod git;
mod listing;
mod local;
mod shorthand;

pub use error::SourceError;
pub use shorthand::upstream_url;

use error::*;
use git::*;
use listing::*;
use local::*;
use shorthand::*;

use crate::error::IoError;
use crate::fs::real::RealFs;
use crate::fs::{DirEntry, FileKind, FileSystem, Metadata};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

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

/// What a source resolved to: a read-only view of its files, and what to record about it.
///
/// For git sources it owns the temporary checkout the paths point into; dropping it deletes
/// the checkout.
#[derive(Debug)]
pub struct Fetched {
    /// The files.
    pub kind: FetchedKind,
    /// The entries of the source left out because their names are ignored (`.git/`,
    /// `node_modules/`, `__pycache__/`, …: [`EXCLUDE_PATTERNS`]), as relative paths (a
    /// directory's with a trailing `/`; nothing below it is looked at), sorted.
    pub ignored: Vec<String>,
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
    /// The file system the listing was made on, and the files are read from.
    fs: SourceFs,
    /// The checkout of a git source, deleted when this value is dropped.
    _checkout: Option<TempDir>,
}

impl Fetched {
    /// Whether the source is a directory (a skill).
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, FetchedKind::Dir { .. })
    }

    /// The file system the listing was made on: read the source's files through it.
    pub fn file_system(&self) -> &Arc<dyn FileSystem> {
        &self.fs.0
    }
}

/// The file system of a [`Fetched`] (a newtype, so that `Fetched` stays `Debug`).
struct SourceFs(Arc<dyn FileSystem>);

impl std::fmt::Debug for SourceFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceFs")
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

/// Whether `name` (one path component) is one SkillMeat never copies: it matches one of
/// [`EXCLUDE_PATTERNS`].
pub fn is_excluded(name: &str) -> bool {
    EXCLUDE_PATTERNS
        .iter()
        .any(|pattern| match pattern.strip_prefix('*') {
            Some(suffix) => name.ends_with(suffix),
            None => name == *pattern,
        })
}

/// Resolves `spec` and lists its files, checking that they fit `ty` (see the module
/// documentation for the rules), on the real file system: [`fetch_in`] with [`RealFs`].
pub fn fetch(spec: &SourceSpec, ty: ArtifactType) -> Result<Fetched, SourceError> {
    fetch_in(Arc::new(RealFs), spec, ty)
}

/// [`fetch`] reading a local source through `fs` (the listing, and later the engine's copy
/// through [`Fetched::file_system`]), so that a fault injector or the simulator sees those
/// reads too. A git checkout is made by `git` on the real file system and is always read
/// from there.
pub fn fetch_in(
    fs: Arc<dyn FileSystem>,
    spec: &SourceSpec,
    ty: ArtifactType,
) -> Result<Fetched, SourceError> {
    match spec {
        SourceSpec::Local(path) => fetch_local(fs, path, ty),
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
            None => crate::fs::canonicalize(&RealFs, path)
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
