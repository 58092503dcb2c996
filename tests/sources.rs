//! `skillwal::skillmeat::source`: local and git sources, listing rules, errors. Offline: every
//! git repository is made here with `git init` in a temporary directory.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use skillwal::skillmeat::source::{
    EXCLUDE_PATTERNS, SOURCE_BYTES_MAX, SOURCE_DEPTH_MAX, SOURCE_ENTRIES_MAX, is_excluded,
    upstream_url,
};
use skillwal::skillmeat::{
    ArtifactType, Fetched, FetchedEntry, FetchedKind, Origin, SourceError, SourceSpec,
    default_name, fetch,
};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// helpers

/// Runs git in `dir` with a fixed identity and no user/system configuration; returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A repository with history:
/// - c1 (tag `v1`, annotated): skills/alpha/{SKILL.md, scripts/run.sh (0755), link.md ->
///   SKILL.md}, commands/review.md, README.md, skills/beta/{SKILL.md, readme -> ../../README.md},
///   escape -> / , alias -> skills/alpha
/// - branch `dev` from c1: + skills/alpha/dev-only.txt
/// - c2 on main (lightweight tag `light`): SKILL.md changed, + skills/alpha/NEW.txt
/// - c3 on main (untagged, HEAD): + skills/alpha/.gitignore, skills/alpha/__pycache__/x.pyc
struct Repo {
    _dir: TempDir,
    path: PathBuf,
    c1: String,
    c2: String,
    c3: String,
    dev: String,
}

fn make_repo() -> Repo {
    let dir = TempDir::new().unwrap();
    let path = fs::canonicalize(dir.path()).unwrap().join("origin-repo");
    fs::create_dir(&path).unwrap();
    git(&path, &["init", "-q"]);
    let alpha = path.join("skills/alpha");
    write(&alpha.join("SKILL.md"), "---\nname: alpha\n---\nalpha v1\n");
    write(&alpha.join("scripts/run.sh"), "#!/bin/sh\necho hi\n");
    fs::set_permissions(
        alpha.join("scripts/run.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    symlink("SKILL.md", alpha.join("link.md")).unwrap();
    write(&path.join("commands/review.md"), "Review the diff.\n");
    write(&path.join("README.md"), "readme\n");
    write(&path.join("skills/beta/SKILL.md"), "beta\n");
    symlink("../../README.md", path.join("skills/beta/readme")).unwrap();
    symlink("/", path.join("escape")).unwrap();
    symlink("skills/alpha", path.join("alias")).unwrap();
    let c1 = commit_all(&path, "c1");
    git(&path, &["tag", "-a", "v1", "-m", "version 1"]);

    git(&path, &["checkout", "-q", "-b", "dev"]);
    write(&alpha.join("dev-only.txt"), "dev\n");
    let dev = commit_all(&path, "dev");
    git(&path, &["checkout", "-q", "main"]);

    write(&alpha.join("SKILL.md"), "---\nname: alpha\n---\nalpha v2\n");
    write(&alpha.join("NEW.txt"), "new\n");
    let c2 = commit_all(&path, "c2");
    git(&path, &["tag", "light"]);

    write(&alpha.join(".gitignore"), "*.tmp\n");
    write(&alpha.join("__pycache__/x.pyc"), "bytecode");
    let c3 = commit_all(&path, "c3");
    Repo {
        _dir: dir,
        path,
        c1,
        c2,
        c3,
        dev,
    }
}

fn git_spec(url: &str, path: Option<&str>, reference: Option<&str>) -> SourceSpec {
    SourceSpec::Git {
        url: url.to_owned(),
        path: path.map(str::to_owned),
        reference: reference.map(str::to_owned),
    }
}

fn repo_url(repo: &Repo) -> String {
    repo.path.to_str().unwrap().to_owned()
}

fn dir_parts(fetched: &Fetched) -> (&Path, &[FetchedEntry]) {
    match &fetched.kind {
        FetchedKind::Dir { root, entries, .. } => (root, entries),
        other => panic!("expected a directory, got {other:?}"),
    }
}

fn rels(fetched: &Fetched) -> Vec<&str> {
    dir_parts(fetched)
        .1
        .iter()
        .map(|e| e.rel.as_str())
        .collect()
}

fn entry<'a>(fetched: &'a Fetched, rel: &str) -> &'a FetchedEntry {
    dir_parts(fetched)
        .1
        .iter()
        .find(|e| e.rel == rel)
        .unwrap_or_else(|| panic!("no entry {rel}"))
}

/// Every error message is one sentence: a single line, no trailing period, naming `needle`.
fn assert_message(err: &SourceError, needle: &str) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "multi-line message: {msg}");
    assert!(!msg.ends_with('.'), "message ends with a period: {msg}");
    assert!(
        msg.contains(needle),
        "message {msg:?} does not mention {needle:?}"
    );
}

fn skill_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    write(&dir.join("SKILL.md"), "---\nname: x\n---\nbody\n");
    dir
}

// ---------------------------------------------------------------------------------------
// git sources

#[test]
fn git_default_head_fetches_tip_of_default_branch() {
    let repo = make_repo();
    let url = repo_url(&repo);
    let fetched = fetch(
        &git_spec(&url, Some("skills/alpha"), None),
        ArtifactType::Skill,
    )
    .unwrap();
    assert_eq!(fetched.origin, Origin::Github);
    assert_eq!(fetched.resolved_sha.as_deref(), Some(repo.c3.as_str()));
    assert_eq!(fetched.version_spec.as_deref(), Some("latest"));
    assert_eq!(fetched.resolved_version, None);
    assert_eq!(fetched.upstream, Some(format!("{url}#skills/alpha")));
    assert_eq!(fetched.skillwal_source, url);
    assert_eq!(fetched.skillwal_path.as_deref(), Some("skills/alpha"));
    assert_eq!(fetched.skillwal_ref, None);
    assert!(fetched.is_dir());
    // .gitignore and __pycache__/ are excluded; the link is listed as a link.
    assert_eq!(
        rels(&fetched),
        [
            "NEW.txt",
            "SKILL.md",
            "link.md",
            "scripts",
            "scripts/run.sh"
        ]
    );
    let (root, _) = dir_parts(&fetched);
    assert!(root.ends_with("skills/alpha"));
    let skill_md = entry(&fetched, "SKILL.md");
    assert_eq!(
        fs::read_to_string(&skill_md.abs).unwrap(),
        "---\nname: alpha\n---\nalpha v2\n"
    );
    let link = entry(&fetched, "link.md");
    assert!(!link.is_dir);
    assert_eq!(link.link.as_deref(), Some(b"SKILL.md".as_slice()));
    assert!(fs::symlink_metadata(&link.abs).unwrap().is_symlink());
    // Modes as git records them, whatever the umask of the checkout.
    assert_eq!(entry(&fetched, "scripts/run.sh").mode, 0o755);
    assert_eq!(skill_md.mode, 0o644);
    assert_eq!(entry(&fetched, "scripts").mode, 0o755);
    assert!(entry(&fetched, "scripts").is_dir);

    // The checkout lives exactly as long as the Fetched value.
    let root = root.to_path_buf();
    assert!(root.exists());
    drop(fetched);
    assert!(!root.exists());
}

#[test]
fn git_by_branch() {
    let repo = make_repo();
    let fetched = fetch(
        &git_spec(&repo_url(&repo), Some("skills/alpha"), Some("dev")),
        ArtifactType::Skill,
    )
    .unwrap();
    assert_eq!(fetched.resolved_sha.as_deref(), Some(repo.dev.as_str()));
    assert_eq!(fetched.version_spec.as_deref(), Some("dev"));
    assert_eq!(fetched.skillwal_ref.as_deref(), Some("dev"));
    assert_eq!(fetched.resolved_version, None);
    assert_eq!(
        rels(&fetched),
        [
            "SKILL.md",
            "dev-only.txt",
            "link.md",
            "scripts",
            "scripts/run.sh"
        ]
    );
    assert_eq!(
        fs::read_to_string(&entry(&fetched, "SKILL.md").abs).unwrap(),
        "---\nname: alpha\n---\nalpha v1\n"
    );
}

#[test]
fn git_by_annotated_and_lightweight_tag() {
    let repo = make_repo();
    let url = repo_url(&repo);
    let v1 = fetch(
        &git_spec(&url, Some("skills/alpha"), Some("v1")),
        ArtifactType::Skill,
    )
    .unwrap();
    // The commit, not the annotated tag object.
    assert_eq!(v1.resolved_sha.as_deref(), Some(repo.c1.as_str()));
    assert_eq!(v1.resolved_version.as_deref(), Some("v1"));
    assert_eq!(v1.version_spec.as_deref(), Some("v1"));
    assert_eq!(
        rels(&v1),
        ["SKILL.md", "link.md", "scripts", "scripts/run.sh"]
    );

    let light = fetch(
        &git_spec(&url, Some("skills/alpha"), Some("light")),
        ArtifactType::Skill,
    )
    .unwrap();
    assert_eq!(light.resolved_sha.as_deref(), Some(repo.c2.as_str()));
    assert_eq!(light.resolved_version.as_deref(), Some("light"));
}

#[test]
fn git_by_sha_full_and_short() {
    let repo = make_repo();
    let url = repo_url(&repo);
    let full = fetch(
        &git_spec(&url, Some("skills/alpha"), Some(&repo.c1)),
        ArtifactType::Skill,
    )
    .unwrap();
    assert_eq!(full.resolved_sha.as_deref(), Some(repo.c1.as_str()));
    // The commit is exactly a tag: git describe --tags --exact-match names it.
    assert_eq!(full.resolved_version.as_deref(), Some("v1"));
    assert_eq!(full.version_spec.as_deref(), Some(repo.c1.as_str()));

    let short = &repo.c3[..12];
    let fetched = fetch(
        &git_spec(&url, Some("skills/alpha"), Some(short)),
        ArtifactType::Skill,
    )
    .unwrap();
    assert_eq!(fetched.resolved_sha.as_deref(), Some(repo.c3.as_str()));
    assert_eq!(fetched.resolved_version, None);
    assert_eq!(fetched.skillwal_ref.as_deref(), Some(short));
}

#[test]
fn git_subpath_file_for_command_and_agent() {
    let repo = make_repo();
    let spec = git_spec(&repo_url(&repo), Some("commands/review.md"), None);
    assert_eq!(
        default_name(&spec, ArtifactType::Command).as_deref(),
        Some("review")
    );
    for ty in [ArtifactType::Command, ArtifactType::Agent] {
        let fetched = fetch(&spec, ty).unwrap();
        assert!(!fetched.is_dir());
        match &fetched.kind {
            FetchedKind::File { path, size, mode } => {
                assert!(path.ends_with("commands/review.md"));
                assert_eq!(*size, "Review the diff.\n".len() as u64);
                assert_eq!(*mode & 0o600, 0o600);
                assert_eq!(fs::read_to_string(path).unwrap(), "Review the diff.\n");
            }
            other => panic!("expected a file, got {other:?}"),
        }
    }
}

#[test]
fn git_file_url() {
    let repo = make_repo();
    let url = format!("file://{}", repo_url(&repo));
    let fetched = fetch(
        &git_spec(&url, Some("./skills//alpha/"), Some("v1")),
        ArtifactType::Skill,
    )
    .unwrap();
    assert_eq!(fetched.resolved_sha.as_deref(), Some(repo.c1.as_str()));
    assert_eq!(fetched.skillwal_source, url);
    // The path is normalized before it is recorded.
    assert_eq!(fetched.skillwal_path.as_deref(), Some("skills/alpha"));
    assert_eq!(fetched.upstream, Some(format!("{url}#skills/alpha")));
}

#[test]
fn git_plain_path_repo_root_is_the_skill() {
    let dir = TempDir::new().unwrap();
    let repo = skill_dir(&fs::canonicalize(dir.path()).unwrap(), "root-skill");
    write(&repo.join(".github/workflows/ci.yml"), "on: push\n");
    write(&repo.join("docs/guide.md"), "guide\n");
    git(&repo, &["init", "-q"]);
    let sha = commit_all(&repo, "only");
    let url = repo.to_str().unwrap().to_owned();
    let spec = git_spec(&url, None, None);
    assert_eq!(
        default_name(&spec, ArtifactType::Skill).as_deref(),
        Some("root-skill")
    );
    let fetched = fetch(&spec, ArtifactType::Skill).unwrap();
    // .git and .github are not listed.
    assert_eq!(rels(&fetched), ["SKILL.md", "docs", "docs/guide.md"]);
    // ... and are reported as ignored, directories with a slash.
    assert_eq!(fetched.ignored, [".git/", ".github/"]);
    assert_eq!(fetched.resolved_sha.as_deref(), Some(sha.as_str()));
    assert_eq!(fetched.skillwal_path, None);
    assert_eq!(fetched.upstream.as_deref(), Some(url.as_str()));
}

#[test]
fn git_root_path_may_be_a_link_inside_the_repository() {
    let repo = make_repo();
    let fetched = fetch(
        &git_spec(&repo_url(&repo), Some("alias"), Some("v1")),
        ArtifactType::Skill,
    )
    .unwrap();
    let (root, _) = dir_parts(&fetched);
    assert!(
        root.ends_with("checkout/skills/alpha"),
        "{}",
        root.display()
    );
    assert_eq!(fetched.skillwal_path.as_deref(), Some("alias"));
}

#[test]
fn git_reference_that_does_not_resolve() {
    let repo = make_repo();
    let url = repo_url(&repo);
    for reference in [
        "no-such-branch",
        "v9",
        "0000000000000000000000000000000000000000",
    ] {
        let err = fetch(
            &git_spec(&url, Some("skills/alpha"), Some(reference)),
            ArtifactType::Skill,
        )
        .unwrap_err();
        match &err {
            SourceError::RefNotFound {
                url: u,
                reference: r,
            } => {
                assert_eq!(u, &url);
                assert_eq!(r, reference);
            }
            other => panic!("expected RefNotFound, got {other:?}"),
        }
        assert_message(&err, reference);
        assert_message(&err, &url);
    }
    // A reference that looks like an option is never passed to git as one.
    let err = fetch(
        &git_spec(&url, None, Some("--output=/tmp/x")),
        ArtifactType::Skill,
    )
    .unwrap_err();
    assert!(matches!(err, SourceError::RefNotFound { .. }), "{err:?}");
}

#[test]
fn git_path_that_does_not_exist() {
    let repo = make_repo();
    let url = repo_url(&repo);
    let err = fetch(
        &git_spec(&url, Some("skills/ghost"), None),
        ArtifactType::Skill,
    )
    .unwrap_err();
    match &err {
        SourceError::PathNotFound { path, sha, .. } => {
            assert_eq!(path, "skills/ghost");
            assert_eq!(sha, &repo.c3);
        }
        other => panic!("expected PathNotFound, got {other:?}"),
    }
    assert_message(&err, "skills/ghost");
    // Exists on main but not at v1.
    let err = fetch(
        &git_spec(&url, Some("skills/alpha/NEW.txt"), Some("v1")),
        ArtifactType::Command,
    )
    .unwrap_err();
    assert!(matches!(err, SourceError::PathNotFound { .. }), "{err:?}");
}

#[test]
fn git_invalid_paths_are_rejected_before_cloning() {
    // The URL does not exist: the path check must fire first.
    for path in [
        "../x",
        "skills/../../x",
        "/etc",
        "a\\b",
        ".git",
        "a/.git/config",
    ] {
        let err = fetch(
            &git_spec("/nonexistent/repo", Some(path), None),
            ArtifactType::Skill,
        )
        .unwrap_err();
        assert!(
            matches!(&err, SourceError::InvalidPath { path: p, .. } if p == path),
            "{path}: {err:?}"
        );
        assert_message(&err, path.split('\\').next().unwrap());
    }
}

#[test]
fn git_clone_failure_reports_stderr() {
    let dir = TempDir::new().unwrap();
    let url = dir.path().join("not-a-repo").to_str().unwrap().to_owned();
    let err = fetch(&git_spec(&url, None, None), ArtifactType::Skill).unwrap_err();
    match &err {
        SourceError::Git {
            url: u,
            step,
            stderr,
        } => {
            assert_eq!(u, &url);
            assert!(step.contains("clone"), "{step}");
            assert!(!stderr.is_empty());
            assert_eq!(stderr.trim(), stderr);
        }
        other => panic!("expected Git, got {other:?}"),
    }
    assert_message(&err, &url);
    // Multi-line stderr still gives a one-line message.
    let multi = SourceError::Git {
        url: "u".to_owned(),
        step: "clone the repository".to_owned(),
        stderr: "warning: a\n\nfatal: b".to_owned(),
    };
    assert_message(&multi, "warning: a; fatal: b");
}

#[test]
fn git_empty_repository_has_no_head() {
    let dir = TempDir::new().unwrap();
    let repo = dir.path().join("empty");
    fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    let err = fetch(
        &git_spec(repo.to_str().unwrap(), None, None),
        ArtifactType::Skill,
    )
    .unwrap_err();
    assert!(
        matches!(&err, SourceError::RefNotFound { reference, .. } if reference == "HEAD"),
        "{err:?}"
    );
}

#[test]
fn git_links_leaving_the_artifact_or_the_checkout() {
    let repo = make_repo();
    let url = repo_url(&repo);
    // The path itself is a link to "/".
    let err = fetch(&git_spec(&url, Some("escape"), None), ArtifactType::Skill).unwrap_err();
    match &err {
        SourceError::SymlinkOutside { link, target, .. } => {
            assert!(link.ends_with("escape"));
            assert_eq!(target, Path::new("/"));
        }
        other => panic!("expected SymlinkOutside, got {other:?}"),
    }
    // A link inside the skill to a file elsewhere in the repository: outside the artifact.
    let err = fetch(
        &git_spec(&url, Some("skills/beta"), None),
        ArtifactType::Skill,
    )
    .unwrap_err();
    match &err {
        SourceError::SymlinkOutside { link, target, why } => {
            assert!(link.ends_with("skills/beta/readme"));
            assert_eq!(target, Path::new("../../README.md"));
            assert_eq!(*why, "outside the artifact");
        }
        other => panic!("expected SymlinkOutside, got {other:?}"),
    }
    assert_message(&err, "readme");
}

#[test]
fn git_wrong_kind() {
    let repo = make_repo();
    let url = repo_url(&repo);
    let err = fetch(
        &git_spec(&url, Some("skills/alpha"), None),
        ArtifactType::Command,
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            SourceError::WrongKind {
                found: "a directory",
                ..
            }
        ),
        "{err:?}"
    );
    let err = fetch(
        &git_spec(&url, Some("commands/review.md"), None),
        ArtifactType::Skill,
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            SourceError::WrongKind {
                found: "a file",
                ..
            }
        ),
        "{err:?}"
    );
    // The repository root is not a skill (no SKILL.md at the top).
    let err = fetch(&git_spec(&url, None, None), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::MissingSkillManifest { .. }),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------
// local sources

#[test]
fn local_skill_directory_is_listed_sorted_component_wise() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "my-skill");
    for rel in [
        ".hidden",
        "A.txt",
        "a/b.txt",
        "a b.txt",
        "a-b.txt",
        "a.txt",
        "ä.txt",
        "docs/deep/notes.txt",
    ] {
        write(&skill.join(rel), rel);
    }
    fs::create_dir(skill.join("empty")).unwrap();
    fs::set_permissions(skill.join("A.txt"), fs::Permissions::from_mode(0o640)).unwrap();

    let spec = SourceSpec::Local(skill.clone());
    assert_eq!(
        default_name(&spec, ArtifactType::Skill).as_deref(),
        Some("my-skill")
    );
    let fetched = fetch(&spec, ArtifactType::Skill).unwrap();
    assert_eq!(fetched.origin, Origin::Local);
    assert_eq!(fetched.upstream, None);
    assert_eq!(fetched.version_spec, None);
    assert_eq!(fetched.resolved_sha, None);
    assert_eq!(fetched.resolved_version, None);
    assert_eq!(fetched.skillwal_path, None);
    assert_eq!(fetched.skillwal_ref, None);
    let canonical = fs::canonicalize(&skill).unwrap();
    assert_eq!(fetched.skillwal_source, canonical.to_str().unwrap());
    assert_eq!(dir_parts(&fetched).0, canonical);
    assert_eq!(
        rels(&fetched),
        [
            ".hidden",
            "A.txt",
            "SKILL.md",
            "a",
            "a/b.txt",
            "a b.txt",
            "a-b.txt",
            "a.txt",
            "docs",
            "docs/deep",
            "docs/deep/notes.txt",
            "empty",
            "ä.txt",
        ]
    );
    let a = entry(&fetched, "A.txt");
    assert_eq!(a.mode, 0o640);
    assert_eq!(a.size, 5);
    assert_eq!(a.abs, canonical.join("A.txt"));
    let empty = entry(&fetched, "empty");
    assert!(empty.is_dir);
    assert_eq!(empty.size, 0);
    // Every parent comes before its children.
    let all = rels(&fetched);
    for (i, rel) in all.iter().enumerate() {
        if let Some((parent, _)) = rel.rsplit_once('/') {
            let p = all.iter().position(|r| *r == parent).unwrap();
            assert!(p < i, "{parent} after {rel}");
        }
    }
}

#[test]
fn local_root_may_be_a_link_and_is_reported_canonical() {
    let dir = TempDir::new().unwrap();
    let real = skill_dir(dir.path(), "store-1234");
    let link = dir.path().join("nice-name");
    symlink(&real, &link).unwrap();
    let spec = SourceSpec::Local(link.clone());
    // The default name is the name the user gave, as SkillMeat does (`Path(path).stem`).
    assert_eq!(
        default_name(&spec, ArtifactType::Skill).as_deref(),
        Some("nice-name")
    );
    let fetched = fetch(&spec, ArtifactType::Skill).unwrap();
    let canonical = fs::canonicalize(&real).unwrap();
    assert_eq!(fetched.skillwal_source, canonical.to_str().unwrap());
    assert_eq!(dir_parts(&fetched).0, canonical);
    assert_eq!(rels(&fetched), ["SKILL.md"]);
}

#[test]
fn local_command_and_agent_files() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("review.md");
    write(&file, "Review it.\n");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o604)).unwrap();
    for ty in [ArtifactType::Command, ArtifactType::Agent] {
        let spec = SourceSpec::Local(file.clone());
        assert_eq!(default_name(&spec, ty).as_deref(), Some("review"));
        let fetched = fetch(&spec, ty).unwrap();
        assert_eq!(fetched.origin, Origin::Local);
        assert_eq!(
            fetched.kind,
            FetchedKind::File {
                path: fs::canonicalize(&file).unwrap(),
                mode: 0o604,
                size: 11,
            }
        );
    }
    // Upper-case suffix accepted, as SkillMeat does (suffix.lower() == ".md").
    let upper = dir.path().join("Helper.MD");
    write(&upper, "x\n");
    let spec = SourceSpec::Local(upper);
    assert_eq!(
        default_name(&spec, ArtifactType::Agent).as_deref(),
        Some("Helper")
    );
    fetch(&spec, ArtifactType::Agent).unwrap();
}

#[test]
fn local_missing_source() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    let err = fetch(&SourceSpec::Local(missing.clone()), ArtifactType::Skill).unwrap_err();
    assert!(matches!(&err, SourceError::NotFound { path } if *path == missing));
    assert_message(&err, missing.to_str().unwrap());
    // A dangling link as the root is the same thing.
    let dangling = dir.path().join("dangling");
    symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let err = fetch(&SourceSpec::Local(dangling), ArtifactType::Command).unwrap_err();
    assert!(matches!(err, SourceError::NotFound { .. }), "{err:?}");
}

#[test]
fn local_wrong_kind() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("review.md");
    write(&file, "x\n");
    let err = fetch(&SourceSpec::Local(file.clone()), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(
            &err,
            SourceError::WrongKind {
                artifact_type: ArtifactType::Skill,
                found: "a file",
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "review.md");
    assert_message(&err, "a skill must be a directory containing SKILL.md");

    let skill = skill_dir(dir.path(), "s");
    for ty in [ArtifactType::Command, ArtifactType::Agent] {
        let err = fetch(&SourceSpec::Local(skill.clone()), ty).unwrap_err();
        assert!(
            matches!(
                &err,
                SourceError::WrongKind {
                    found: "a directory",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_message(&err, "must be a single .md file");
    }

    let txt = dir.path().join("notes.txt");
    write(&txt, "x\n");
    let err = fetch(&SourceSpec::Local(txt), ArtifactType::Command).unwrap_err();
    assert!(matches!(&err, SourceError::NotMarkdown { .. }), "{err:?}");
    assert_message(&err, "notes.txt");
}

#[test]
fn local_missing_skill_manifest() {
    let dir = TempDir::new().unwrap();
    let skill = dir.path().join("s");
    write(&skill.join("README.md"), "x\n");
    write(&skill.join("sub/SKILL.md"), "not at the top\n");
    let err = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(
            &err,
            SourceError::MissingSkillManifest {
                found_instead: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "has no SKILL.md");

    // A differently capitalised name is pointed out (SkillMeat would accept it).
    write(&skill.join("skill.md"), "x\n");
    let err = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::MissingSkillManifest { found_instead: Some(n), .. } if n == "skill.md"),
        "{err:?}"
    );
    assert_message(&err, "rename it to SKILL.md");

    // A directory called SKILL.md does not count.
    let other = dir.path().join("t");
    fs::create_dir_all(other.join("SKILL.md")).unwrap();
    let err = fetch(&SourceSpec::Local(other), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::MissingSkillManifest { .. }),
        "{err:?}"
    );
}

#[test]
fn excluded_names_are_not_listed_at_any_depth() {
    assert_eq!(EXCLUDE_PATTERNS.len(), 12);
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    let excluded = [
        ".git/config",
        ".github/workflows/ci.yml",
        ".gitignore",
        "__pycache__/m.cpython-311.pyc",
        "m.pyc",
        "m.pyo",
        "node_modules/pkg/index.js",
        ".venv/bin/python",
        "venv/bin/python",
        "pkg.egg-info/PKG-INFO",
        ".DS_Store",
        "Thumbs.db",
    ];
    for rel in excluded {
        write(&skill.join(rel), "x");
        write(&skill.join("nested/deeper").join(rel), "x");
    }
    // Not excluded: near misses (SkillMeat's fnmatch is case-sensitive on POSIX).
    for rel in [
        ".gitattributes",
        "venv2",
        "pyc",
        "M.PYC",
        "thumbs.db",
        "git/x",
    ] {
        write(&skill.join(rel), "x");
    }
    // An excluded name is never examined: a dangling link named .DS_Store is no error.
    fs::remove_file(skill.join("nested/deeper/.DS_Store")).unwrap();
    symlink("/nowhere/at/all", skill.join("nested/deeper/.DS_Store")).unwrap();
    fs::remove_dir_all(skill.join("nested/deeper/node_modules")).unwrap();
    fs::create_dir(skill.join("nested/deeper/node_modules")).unwrap();
    symlink("/etc/passwd", skill.join("nested/deeper/node_modules/evil")).unwrap();

    let fetched = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap();
    assert_eq!(
        rels(&fetched),
        [
            ".gitattributes",
            "M.PYC",
            "SKILL.md",
            "git",
            "git/x",
            "nested",
            "nested/deeper",
            "pyc",
            "thumbs.db",
            "venv2",
        ]
    );
    for e in dir_parts(&fetched).1 {
        let last = e.rel.rsplit('/').next().unwrap();
        assert!(!is_excluded(last), "{}", e.rel);
    }
}

#[test]
fn contained_links_are_listed_as_links() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    write(&skill.join("docs/reference.md"), "reference text\n");
    symlink("docs/reference.md", skill.join("ref.md")).unwrap();
    symlink("../SKILL.md", skill.join("docs/up.md")).unwrap();
    // A chain of links, and links to directories (a sibling, and one through a link).
    symlink("ref.md", skill.join("chain.md")).unwrap();
    symlink("docs", skill.join("docs-link")).unwrap();
    symlink("docs-link/reference.md", skill.join("through.md")).unwrap();
    let fetched = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap();
    assert_eq!(
        rels(&fetched),
        [
            "SKILL.md",
            "chain.md",
            "docs",
            "docs/reference.md",
            "docs/up.md",
            "docs-link",
            "ref.md",
            "through.md",
        ]
    );
    let canonical = fs::canonicalize(&skill).unwrap();
    for (rel, target) in [
        ("ref.md", "docs/reference.md"),
        ("chain.md", "ref.md"),
        ("docs/up.md", "../SKILL.md"),
        ("docs-link", "docs"),
        ("through.md", "docs-link/reference.md"),
    ] {
        let e = entry(&fetched, rel);
        assert!(!e.is_dir, "{rel}: a link is not listed as a directory");
        assert_eq!(e.link.as_deref(), Some(target.as_bytes()), "{rel}");
        assert_eq!(
            e.abs,
            canonical.join(rel),
            "{rel}: the link itself, not followed"
        );
        assert_eq!(e.size, target.len() as u64);
    }
    // Nothing is listed below a link to a directory: it is copied as the link it is.
    assert!(!rels(&fetched).contains(&"docs-link/reference.md"));
    // SKILL.md itself may be such a link.
    let other = dir.path().join("t");
    write(&other.join("real.md"), "x\n");
    symlink("real.md", other.join("SKILL.md")).unwrap();
    let fetched = fetch(&SourceSpec::Local(other), ArtifactType::Skill).unwrap();
    assert_eq!(rels(&fetched), ["SKILL.md", "real.md"]);
    assert!(entry(&fetched, "SKILL.md").link.is_some());
}

fn link_refused(skill: &Path, at: &str, why: &str) {
    let err = fetch(&SourceSpec::Local(skill.to_path_buf()), ArtifactType::Skill).unwrap_err();
    match &err {
        SourceError::SymlinkOutside { link, why: w, .. } => {
            assert!(link.ends_with(at), "{at}: {err:?}");
            assert_eq!(*w, why, "{at}");
        }
        other => panic!("{at}: expected SymlinkOutside, got {other:?}"),
    }
    assert_message(&err, at.rsplit('/').next().unwrap());
}

#[test]
fn links_to_a_directory_holding_them_are_loops() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    fs::create_dir(skill.join("docs")).unwrap();
    symlink("..", skill.join("docs/loop")).unwrap();
    link_refused(
        &skill,
        "docs/loop",
        "a directory holding the link itself, or a loop",
    );
    fs::remove_file(skill.join("docs/loop")).unwrap();
    symlink(".", skill.join("docs/self")).unwrap();
    link_refused(
        &skill,
        "docs/self",
        "a directory holding the link itself, or a loop",
    );
}

#[test]
fn link_leading_outside_is_an_error() {
    let dir = TempDir::new().unwrap();
    let outside = dir.path().join("secret.txt");
    write(&outside, "secret\n");
    for (name, target, why) in [
        (
            "abs",
            outside.clone(),
            "an absolute path (it would not follow the artifact)",
        ),
        (
            "rel",
            PathBuf::from("../../secret.txt"),
            "outside the artifact",
        ),
    ] {
        let skill = skill_dir(dir.path(), &format!("skill-{name}"));
        fs::create_dir(skill.join("sub")).unwrap();
        symlink(&target, skill.join("sub/leak")).unwrap();
        link_refused(&skill, "sub/leak", why);
        let err = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap_err();
        assert_message(&err, "a relative target inside it");
    }
    // Even an absolute link to a file inside: it would point at the source after the copy.
    let skill = skill_dir(dir.path(), "inside-abs");
    symlink(skill.join("SKILL.md"), skill.join("abs.md")).unwrap();
    link_refused(
        &skill,
        "abs.md",
        "an absolute path (it would not follow the artifact)",
    );
    // A link to a sibling directory whose name starts like the root's is outside too.
    let skill = skill_dir(dir.path(), "ab");
    write(&dir.path().join("abc/file.md"), "x\n");
    symlink("../abc/file.md", skill.join("sneaky")).unwrap();
    link_refused(&skill, "sneaky", "outside the artifact");
    // Into a name that is never copied.
    let skill = skill_dir(dir.path(), "ex");
    write(&skill.join("node_modules/x.js"), "x\n");
    symlink("node_modules/x.js", skill.join("x.js")).unwrap();
    link_refused(&skill, "x.js", "a name that is never copied");
}

#[test]
fn dangling_and_looping_links_are_errors() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    symlink("nowhere.md", skill.join("dangling")).unwrap();
    link_refused(&skill, "dangling", "nothing (it dangles)");
    let err = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap_err();
    assert_message(&err, "nowhere.md");

    fs::remove_file(skill.join("dangling")).unwrap();
    symlink("loop-b", skill.join("loop-a")).unwrap();
    symlink("loop-a", skill.join("loop-b")).unwrap();
    // Whichever of the two is listed first is reported.
    let err = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::SymlinkOutside { link, why, .. }
            if (link.ends_with("loop-a") || link.ends_with("loop-b"))
                && *why == "a directory holding the link itself, or a loop"),
        "{err:?}"
    );

    // SKILL.md itself dangling, or a loop: reported as the link it is, not as "missing".
    for target in ["gone.md", "SKILL.md"] {
        let other = dir.path().join(format!("t-{}", target.len()));
        fs::create_dir(&other).unwrap();
        symlink(target, other.join("SKILL.md")).unwrap();
        let err = fetch(&SourceSpec::Local(other), ArtifactType::Skill).unwrap_err();
        assert!(
            matches!(&err, SourceError::SymlinkOutside { link, .. } if link.ends_with("SKILL.md")),
            "{target}: {err:?}"
        );
    }
}

#[test]
fn non_utf8_name_is_an_error() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    let bad = skill.join("docs").join(OsStr::from_bytes(b"bad-\xff.md"));
    fs::create_dir(skill.join("docs")).unwrap();
    if fs::write(&bad, "x").is_err() {
        // A file system that insists on UTF-8 names: nothing to test.
        return;
    }
    let err = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::NonUtf8Name { path } if *path == bad || path.ends_with(OsStr::from_bytes(b"bad-\xff.md"))),
        "{err:?}"
    );
    assert_message(&err, "not valid UTF-8");
}

#[test]
fn special_files_are_errors() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    let fifo = skill.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo unavailable; skipping");
        return;
    }
    let err = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::SpecialFile { path } if path.ends_with("pipe")),
        "{err:?}"
    );
    // A link to it, and a FIFO as a command, too.
    fs::rename(&fifo, dir.path().join("pipe.md")).unwrap();
    let err = fetch(
        &SourceSpec::Local(dir.path().join("pipe.md")),
        ArtifactType::Command,
    )
    .unwrap_err();
    assert!(
        matches!(
            &err,
            SourceError::WrongKind {
                found: "a special file",
                ..
            }
        ),
        "{err:?}"
    );
    fs::rename(dir.path().join("pipe.md"), skill.join("pipe")).unwrap();
    fs::rename(&fifo, skill.join("real-pipe")).unwrap();
    symlink("real-pipe", skill.join("a-link")).unwrap();
    let err = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap_err();
    assert!(matches!(&err, SourceError::SpecialFile { .. }), "{err:?}");
}

#[test]
fn depth_limit() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    let mut ok = skill.clone();
    for _ in 0..SOURCE_DEPTH_MAX {
        ok.push("d");
    }
    fs::create_dir_all(&ok).unwrap();
    let fetched = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap();
    assert_eq!(rels(&fetched).len(), 1 + SOURCE_DEPTH_MAX);
    let too_deep = ok.join("x");
    write(&too_deep, "x");
    let err = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::TooDeep { limit, .. } if *limit == SOURCE_DEPTH_MAX),
        "{err:?}"
    );
    assert_message(&err, &format!("{SOURCE_DEPTH_MAX} directories deep"));
}

#[test]
fn entry_count_limit() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    // SKILL.md + 9_999 files = exactly the limit.
    fs::create_dir(skill.join("f")).unwrap();
    for i in 0..SOURCE_ENTRIES_MAX - 2 {
        fs::write(skill.join("f").join(i.to_string()), "").unwrap();
    }
    let fetched = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap();
    assert_eq!(rels(&fetched).len(), SOURCE_ENTRIES_MAX);
    fs::write(skill.join("one-more"), "").unwrap();
    let err = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap_err();
    assert!(
        matches!(&err, SourceError::TooManyEntries { limit, .. } if *limit == SOURCE_ENTRIES_MAX),
        "{err:?}"
    );
    assert_message(&err, "10000");
}

#[test]
fn total_size_limit_uses_stat_only() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(dir.path(), "s");
    // Sparse files: nothing is written or read.
    let half = fs::File::create(skill.join("half-1")).unwrap();
    half.set_len(SOURCE_BYTES_MAX / 2).unwrap();
    let fetched = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap();
    assert_eq!(entry(&fetched, "half-1").size, SOURCE_BYTES_MAX / 2);
    let other = fs::File::create(skill.join("half-2")).unwrap();
    other.set_len(SOURCE_BYTES_MAX / 2).unwrap();
    let err = fetch(&SourceSpec::Local(skill), ArtifactType::Skill).unwrap_err();
    assert!(matches!(&err, SourceError::TooLarge { .. }), "{err:?}");

    let big = dir.path().join("big.md");
    fs::File::create(&big)
        .unwrap()
        .set_len(SOURCE_BYTES_MAX + 1)
        .unwrap();
    let err = fetch(&SourceSpec::Local(big), ArtifactType::Command).unwrap_err();
    assert!(matches!(&err, SourceError::TooLarge { .. }), "{err:?}");
    assert_message(&err, "big.md");
}

// ---------------------------------------------------------------------------------------
// parse_github, default_name, upstream_url

#[test]
fn parse_github_shapes() {
    let gh = |path: Option<&str>, reference: Option<&str>| SourceSpec::Git {
        url: "https://github.com/user/repo".to_owned(),
        path: path.map(str::to_owned),
        reference: reference.map(str::to_owned),
    };
    assert_eq!(
        SourceSpec::parse_github("user/repo/path@v1"),
        Some(gh(Some("path"), Some("v1")))
    );
    assert_eq!(
        SourceSpec::parse_github("user/repo/path/to/thing@v1.2.0"),
        Some(gh(Some("path/to/thing"), Some("v1.2.0")))
    );
    assert_eq!(SourceSpec::parse_github("user/repo"), Some(gh(None, None)));
    assert_eq!(
        SourceSpec::parse_github("user/repo@main"),
        Some(gh(None, Some("main")))
    );
    assert_eq!(
        SourceSpec::parse_github("user/repo/skills/x@feature/new"),
        Some(gh(Some("skills/x"), Some("feature/new")))
    );
    // "latest" is SkillMeat's word for the default branch.
    assert_eq!(
        SourceSpec::parse_github("user/repo/path@latest"),
        Some(gh(Some("path"), None))
    );
    assert_eq!(
        SourceSpec::parse_github("anthropics/skills.v2/python"),
        Some(SourceSpec::Git {
            url: "https://github.com/anthropics/skills.v2".to_owned(),
            path: Some("python".to_owned()),
            reference: None,
        })
    );
    for bad in [
        "",
        "user",
        "user/",
        "/repo",
        "user//path",
        "user/repo/",
        "user/repo//x",
        "user/repo/../x",
        "user/repo/./x",
        "./local/dir",
        "../up/dir",
        "/abs/path",
        "~/skills/x",
        "https://github.com/user/repo",
        "git@github.com:user/repo",
        "user/repo@",
        "user/repo@-rf",
        "user/repo@a b",
        "user/repo@a..b",
        "user/repo@a:b",
        "us er/repo",
        "-user/repo",
        "user/..",
        "user/re po",
        "user/repo/a\\b",
        "user/repo/a\nb",
    ] {
        assert_eq!(SourceSpec::parse_github(bad), None, "{bad:?}");
    }
}

#[test]
fn default_names() {
    let local = |p: &str| SourceSpec::Local(PathBuf::from(p));
    assert_eq!(
        default_name(&local("/x/my-skill"), ArtifactType::Skill).as_deref(),
        Some("my-skill")
    );
    assert_eq!(
        default_name(&local("/x/my-skill/"), ArtifactType::Skill).as_deref(),
        Some("my-skill")
    );
    // A skill keeps its whole directory name (SkillMeat's `stem` would cut at the dot).
    assert_eq!(
        default_name(&local("/x/my.skill"), ArtifactType::Skill).as_deref(),
        Some("my.skill")
    );
    assert_eq!(
        default_name(&local("/x/review.md"), ArtifactType::Command).as_deref(),
        Some("review")
    );
    assert_eq!(
        default_name(&local("/x/helper.md"), ArtifactType::Agent).as_deref(),
        Some("helper")
    );
    assert_eq!(
        default_name(&local("/x/notes.txt"), ArtifactType::Command).as_deref(),
        Some("notes.txt")
    );
    assert_eq!(
        default_name(&local("/x/a.b.md"), ArtifactType::Command).as_deref(),
        Some("a.b")
    );
    assert_eq!(default_name(&local("/"), ArtifactType::Skill), None);
    // "." names the current directory: its canonical name.
    let cwd = std::env::current_dir().unwrap();
    let cwd_name = cwd.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        default_name(&local("."), ArtifactType::Skill).as_deref(),
        Some(cwd_name)
    );

    let git = |url: &str, path: Option<&str>| git_spec(url, path, Some("v1"));
    assert_eq!(
        default_name(
            &git("https://github.com/u/r", Some("skills/python")),
            ArtifactType::Skill
        )
        .as_deref(),
        Some("python")
    );
    assert_eq!(
        default_name(
            &git("https://github.com/u/r", Some("commands/review.md")),
            ArtifactType::Command
        )
        .as_deref(),
        Some("review")
    );
    assert_eq!(
        default_name(
            &git("https://github.com/u/my-skill", None),
            ArtifactType::Skill
        )
        .as_deref(),
        Some("my-skill")
    );
    assert_eq!(
        default_name(
            &git("https://example.com/x/tool.git/", None),
            ArtifactType::Skill
        )
        .as_deref(),
        Some("tool")
    );
    assert_eq!(
        default_name(&git("git@host:tool.git", None), ArtifactType::Skill).as_deref(),
        Some("tool")
    );
    assert_eq!(
        default_name(&git("/srv/repos/thing", Some("a/b/")), ArtifactType::Skill).as_deref(),
        Some("b")
    );
    let parsed = SourceSpec::parse_github("anthropics/skills/python@v1").unwrap();
    assert_eq!(
        default_name(&parsed, ArtifactType::Skill).as_deref(),
        Some("python")
    );
}

#[test]
fn upstream_urls_match_skillmeat() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        upstream_url("https://github.com/user/repo", sha, Some("path/to/skill")),
        format!("https://github.com/user/repo/tree/{sha}/path/to/skill")
    );
    assert_eq!(
        upstream_url("https://github.com/user/repo", sha, None),
        format!("https://github.com/user/repo/tree/{sha}")
    );
    for url in [
        "https://github.com/user/repo.git",
        "https://github.com/user/repo/",
        "git@github.com:user/repo.git",
        "ssh://git@github.com/user/repo",
    ] {
        assert_eq!(
            upstream_url(url, sha, Some("x")),
            format!("https://github.com/user/repo/tree/{sha}/x"),
            "{url}"
        );
    }
    assert_eq!(
        upstream_url("https://gitlab.com/user/repo", sha, Some("x")),
        "https://gitlab.com/user/repo#x"
    );
    assert_eq!(upstream_url("/srv/repo", sha, None), "/srv/repo");
    // What parse_github produces round-trips into SkillMeat's upstream form.
    let Some(SourceSpec::Git { url, path, .. }) =
        SourceSpec::parse_github("anthropics/skills/python@v1")
    else {
        panic!("parse failed")
    };
    assert_eq!(
        upstream_url(&url, sha, path.as_deref()),
        format!("https://github.com/anthropics/skills/tree/{sha}/python")
    );
}

#[test]
fn ignored_entries_are_reported_at_any_depth_and_nothing_below_them() {
    let dir = TempDir::new().unwrap();
    let skill = skill_dir(&fs::canonicalize(dir.path()).unwrap(), "ig");
    write(&skill.join("node_modules/left-pad/index.js"), "x\n");
    write(&skill.join("lib/__pycache__/m.cpython-312.pyc"), "x\n");
    write(&skill.join("lib/m.py"), "x\n");
    write(&skill.join("lib/old.pyc"), "x\n");
    write(&skill.join(".DS_Store"), "x\n");
    let fetched = fetch(&SourceSpec::Local(skill.clone()), ArtifactType::Skill).unwrap();
    assert_eq!(rels(&fetched), ["SKILL.md", "lib", "lib/m.py"]);
    assert_eq!(
        fetched.ignored,
        [
            ".DS_Store",
            "lib/__pycache__/",
            "lib/old.pyc",
            "node_modules/"
        ]
    );
}
