//! The one rule for symbolic links inside an artifact, applied the same way by `add` and
//! `update` (to a source), and by `verify` and `status` (to the collection):
//!
//! A link is **contained** when its target is relative and, resolved from the link's
//! directory component by component (through other links as the system would), stays inside
//! the artifact at every step, never goes through a name SkillMeat does not copy
//! ([`super::is_excluded`]), ends at a file or a directory that exists, and is not a
//! directory holding the link itself (a copy loop for whoever dereferences it, as the
//! Python tool does).
//!
//! Contained links are part of the artifact: copied as links, recorded by snapshots and
//! restored by rollback. Any other link is refused by `add` and `update` (nothing changes),
//! and reported by `verify` and `status` when one is found in a collection; skillwal never
//! follows one to write, and snapshots record every link, so `remove` and `rollback` never
//! lose one.
//!
//! Everything is read through a [`FileSystem`], links never followed by the calls
//! themselves: the resolution here is explicit and bounded.

use crate::fs::{FileKind, FileSystem};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

pub use crate::limits::LINK_HOPS_MAX;
/// Longest target a contained link may have (`PATH_MAX` less its NUL).
pub const LINK_TARGET_BYTES_MAX: usize = 4095;

/// Why a link is not contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// The target is absolute.
    Absolute,
    /// The target leaves the artifact (at some step).
    Outside,
    /// The target goes through a name SkillMeat never copies.
    Excluded,
    /// The target does not exist.
    Dangling,
    /// Following it loops (more than [`LINK_HOPS_MAX`] links).
    Loop,
    /// The target is a socket, FIFO or device.
    SpecialFile,
    /// The target is empty, too long, or not UTF-8.
    BadTarget,
}

impl LinkProblem {
    /// The reason, as a phrase after "it points to `<target>`, ".
    pub fn why(self) -> &'static str {
        match self {
            LinkProblem::Absolute => "an absolute path (it would not follow the artifact)",
            LinkProblem::Outside => "outside the artifact",
            LinkProblem::Excluded => "a name that is never copied",
            LinkProblem::Dangling => "nothing (it dangles)",
            LinkProblem::Loop => "a directory holding the link itself, or a loop",
            LinkProblem::SpecialFile => "a special file (a socket, FIFO or device)",
            LinkProblem::BadTarget => "a target of a length or form skillwal does not copy",
        }
    }
}

/// Checks the link whose path below the artifact directory `root` is `at` (components) and
/// whose target is `target`. `Ok(Ok(()))`: contained; `Ok(Err(problem))`: not; `Err`: the
/// artifact could not be read.
pub fn check(
    fs: &dyn FileSystem,
    root: &Path,
    at: &[&str],
    target: &[u8],
) -> io::Result<Result<(), LinkProblem>> {
    if target.is_empty() || target.len() > LINK_TARGET_BYTES_MAX || target.contains(&0) {
        return Ok(Err(LinkProblem::BadTarget));
    }
    let Some((_, dir)) = at.split_last() else {
        return Ok(Err(LinkProblem::Outside));
    };
    let dir: Vec<String> = dir.iter().map(|c| c.to_string()).collect();
    let resolved = match resolve(fs, root, dir, target, 0)? {
        Ok(r) => r,
        Err(p) => return Ok(Err(p)),
    };
    let path = join(root, &resolved);
    let kind = match lstat_kind(fs, &path)? {
        Some(k) => k,
        None => return Ok(Err(LinkProblem::Dangling)),
    };
    match kind {
        FileKind::File => Ok(Ok(())),
        FileKind::Dir => {
            // A directory that holds the link (the artifact's own included) is a loop.
            let holds =
                at.len() > resolved.len() && resolved.iter().zip(at).all(|(a, b)| a.as_str() == *b);
            Ok(if holds {
                Err(LinkProblem::Loop)
            } else {
                Ok(())
            })
        }
        FileKind::Symlink => Ok(Err(LinkProblem::Loop)),
        FileKind::Other => Ok(Err(LinkProblem::SpecialFile)),
    }
}

fn join(root: &Path, comps: &[String]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(comps);
    p
}

fn lstat_kind(fs: &dyn FileSystem, path: &Path) -> io::Result<Option<FileKind>> {
    match fs.metadata(path) {
        Ok(m) => Ok(Some(m.kind)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // A component that is a file, not a directory: nothing there.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Resolves `target` from the directory `dir` (components below `root`), following links
/// inside the artifact; the components of where it ends, or why it cannot stay inside.
fn resolve(
    fs: &dyn FileSystem,
    root: &Path,
    mut dir: Vec<String>,
    target: &[u8],
    hops: usize,
) -> io::Result<Result<Vec<String>, LinkProblem>> {
    if hops > LINK_HOPS_MAX {
        return Ok(Err(LinkProblem::Loop));
    }
    let target = Path::new(OsStr::from_bytes(target));
    if target.is_absolute() {
        return Ok(Err(LinkProblem::Absolute));
    }
    let comps: Vec<Component> = target.components().collect();
    for (i, c) in comps.iter().enumerate() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if dir.pop().is_none() {
                    return Ok(Err(LinkProblem::Outside));
                }
            }
            Component::Normal(n) => {
                let Some(n) = n.to_str() else {
                    return Ok(Err(LinkProblem::BadTarget));
                };
                if super::is_excluded(n) {
                    return Ok(Err(LinkProblem::Excluded));
                }
                dir.push(n.to_string());
                let last = i + 1 == comps.len();
                let path = join(root, &dir);
                match lstat_kind(fs, &path)? {
                    None => return Ok(Err(LinkProblem::Dangling)),
                    Some(FileKind::Symlink) => {
                        let next = fs.read_link(&path)?;
                        dir.pop();
                        dir = match resolve(fs, root, dir, next.as_bytes(), hops + 1)? {
                            Ok(d) => d,
                            Err(p) => return Ok(Err(p)),
                        };
                    }
                    Some(FileKind::Dir) => {}
                    Some(_) if last => {}
                    // A file in the middle of a path.
                    Some(_) => return Ok(Err(LinkProblem::Dangling)),
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Ok(Err(LinkProblem::Absolute));
            }
        }
    }
    Ok(Ok(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::sim::SimFs;

    fn world() -> SimFs {
        let fs = SimFs::new();
        for d in ["/a", "/a/s", "/a/s/docs", "/a/s/node_modules", "/a/other"] {
            fs.create_dir(Path::new(d), 0o755).unwrap();
        }
        for f in [
            "/a/s/SKILL.md",
            "/a/s/docs/r.md",
            "/a/s/node_modules/x",
            "/a/other/f",
        ] {
            fs.open(Path::new(f), crate::fs::OpenMode::CreateNew { mode: 0o644 })
                .unwrap();
        }
        fs.symlink_durable("docs", Path::new("/a/s/d")).unwrap();
        fs.symlink_durable("../other", Path::new("/a/s/out"))
            .unwrap();
        fs.symlink_durable("d/r.md", Path::new("/a/s/via")).unwrap();
        fs.symlink_durable("loop2", Path::new("/a/s/loop1"))
            .unwrap();
        fs.symlink_durable("loop1", Path::new("/a/s/loop2"))
            .unwrap();
        fs
    }

    fn check_at(fs: &SimFs, at: &str, target: &str) -> Result<(), LinkProblem> {
        let at: Vec<&str> = at.split('/').collect();
        check(fs, Path::new("/a/s"), &at, target.as_bytes()).unwrap()
    }

    #[test]
    fn the_rule() {
        let fs = world();
        assert_eq!(check_at(&fs, "l", "SKILL.md"), Ok(()));
        assert_eq!(check_at(&fs, "docs/up", "../SKILL.md"), Ok(()));
        assert_eq!(check_at(&fs, "l", "docs"), Ok(()), "a directory beside it");
        assert_eq!(
            check_at(&fs, "l", "via"),
            Ok(()),
            "through other links inside"
        );
        assert_eq!(check_at(&fs, "l", "d/r.md"), Ok(()));
        assert_eq!(
            check_at(&fs, "l", "/a/s/SKILL.md"),
            Err(LinkProblem::Absolute)
        );
        assert_eq!(check_at(&fs, "l", "../other/f"), Err(LinkProblem::Outside));
        assert_eq!(
            check_at(&fs, "l", "out/f"),
            Err(LinkProblem::Outside),
            "via a link out"
        );
        assert_eq!(
            check_at(&fs, "l", "node_modules/x"),
            Err(LinkProblem::Excluded)
        );
        assert_eq!(check_at(&fs, "l", "nothing"), Err(LinkProblem::Dangling));
        assert_eq!(check_at(&fs, "l", "SKILL.md/x"), Err(LinkProblem::Dangling));
        assert_eq!(check_at(&fs, "l", "loop1"), Err(LinkProblem::Loop));
        assert_eq!(
            check_at(&fs, "docs/l", ".."),
            Err(LinkProblem::Loop),
            "the root"
        );
        assert_eq!(
            check_at(&fs, "docs/l", "."),
            Err(LinkProblem::Loop),
            "its own dir"
        );
        assert_eq!(check_at(&fs, "l", ""), Err(LinkProblem::BadTarget));
    }
}
