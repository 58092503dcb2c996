//! What the Python tool leaves behind when it is interrupted (`docs/skillmeat-deploy-format.md`
//! §5): beside every destination `<dir>/<n>` it writes, SkillMeat 0.74 makes siblings named
//!
//! - `.<n>.skillmeat-txn-XXXXXXXX`: a copy of the destination before the write (*backup*);
//! - `.<n>.txn-XXXXXXXX`: the new content, staged (*staged*);
//! - `.<n>.XXXXXXXX.txn.tmp`: new bytes of a file, before their rename (*temporary*);
//! - `.<n>.skillmeat-swap-aside-XXXXXXXX`: the old destination, renamed aside during the swap
//!   (*set aside*);
//! - `.<n>.verbatim-stage-XXXXXXXX`, `.<n>.member-stage-XXXXXXXX`,
//!   `.<n>.merge-theirs-XXXXXXXX`: the deploy's own copies of the source (*stage*);
//!
//! (`X` a hexadecimal digit; for the temporary file, `mkstemp`'s letters, digits and `_`) and
//! removes none of them after a crash. skillwal never takes them for artifacts (they are
//! dot-names, which the Python tool skips too) and removes them only when asked
//! (`cleanup --project`), in one transaction in the project, while it holds the Python
//! tool's lock of each destination, so a Python write in progress is never cut short.
//!
//! When the destination itself is missing — the Python tool was killed between the two
//! renames of its swap, the old copy set aside and the new one staged — its siblings may
//! hold the only copy of it: they are kept, and reported, never removed.
//!
//! The lock files (`.<n>.skillmeat-lock`) are not debris: the Python tool creates them once
//! and never deletes them, by design.

use super::Project;
use super::profiles::PROFILES;
use super::pylock::PythonLocks;
use crate::fs::{FileKind, FileSystem};
use crate::skillmeat::collection::{Recorded, Result};
use serde::Serialize;
use std::path::Path;

/// The suffixes (before `-XXXXXXXX`) of the Python tool's siblings, with what each is.
const SUFFIXES: &[(&str, &str)] = &[
    (".skillmeat-swap-aside", "set aside"),
    (".skillmeat-txn", "backup"),
    (".verbatim-stage", "stage"),
    (".member-stage", "stage"),
    (".merge-theirs", "stage"),
    (".txn", "staged"),
];

/// One leftover of the Python tool in a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Debris {
    /// Relative to the project (`.claude/skills/.alpha.txn-a3c4d637`).
    pub path: String,
    /// `backup`, `staged`, `temporary`, `set aside` or `stage` (see the module
    /// documentation).
    pub kind: &'static str,
    /// The destination the Python tool was writing, relative to the project
    /// (`.claude/skills/alpha`).
    pub of: String,
    /// Whether it is a directory.
    pub dir: bool,
    /// Whether that destination is missing (then this is kept: it may be the only copy).
    pub destination_missing: bool,
}

/// What [`Project::clean_debris`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Cleaned {
    /// Removed (or, with `dry_run`, to be removed).
    pub removed: Vec<Debris>,
    /// Kept: their destination is missing.
    pub kept: Vec<Debris>,
    /// Whether a transaction was committed.
    pub committed: bool,
    /// The project's operation log record of the removal (`None` when nothing was
    /// removed), which `undo --project` reverses it with.
    pub record: Option<Recorded>,
}

/// The destination's name and the kind of leftover `name` is, if it is one of the Python
/// tool's.
pub fn parse_name(name: &str) -> Option<(&str, &'static str)> {
    let rest = name.strip_prefix('.')?;
    if let Some(stem) = rest.strip_suffix(".txn.tmp") {
        // `<n>.` + 8 of mkstemp's letters.
        let (dest, random) = stem.rsplit_once('.')?;
        let ok = random.len() == 8
            && random
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        return (ok && !dest.is_empty()).then_some((dest, "temporary"));
    }
    let (stem, hex) = rest.rsplit_once('-')?;
    if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    SUFFIXES.iter().find_map(|(suffix, kind)| {
        let dest = stem.strip_suffix(suffix)?;
        (!dest.is_empty()).then_some((dest, *kind))
    })
}

/// Every leftover of the Python tool in the project at `dir`: in each profile root (the
/// known ones, and any other holding a tracking file) and in each directory directly below
/// it (`skills/`, `commands/`, …), where the Python tool writes. Sorted by path.
pub fn find(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<Debris>> {
    let mut roots: Vec<String> = PROFILES.iter().map(|p| p.root.to_owned()).collect();
    for t in super::all_tracking(fs, dir)? {
        if !roots.contains(&t.root) {
            roots.push(t.root);
        }
    }
    let mut out = Vec::new();
    for root in roots {
        if super::root_kind(fs, dir, &root)?.is_none() {
            continue;
        }
        let mut dirs = vec![root.clone()];
        for e in list(fs, &dir.join(&root))? {
            if !e.0.starts_with('.') && e.1 == FileKind::Dir {
                dirs.push(format!("{root}/{}", e.0));
            }
        }
        for d in dirs {
            for (name, kind) in list(fs, &dir.join(&d))? {
                let Some((dest, what)) = parse_name(&name) else {
                    continue;
                };
                let missing = match fs.metadata(&dir.join(&d).join(dest)) {
                    Ok(_) => false,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                    Err(e) => {
                        return Err(
                            crate::error::IoError::new("stat", dir.join(&d).join(dest), e).into(),
                        );
                    }
                };
                out.push(Debris {
                    path: format!("{d}/{name}"),
                    kind: what,
                    of: format!("{d}/{dest}"),
                    dir: kind == FileKind::Dir,
                    destination_missing: missing,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The entries of `dir` with their kinds (links not followed); none when it is not there.
fn list(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<(String, FileKind)>> {
    let entries = match fs.read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(crate::error::IoError::new("list", dir, e).into()),
    };
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let Some(name) = e.name.to_str() else {
            continue;
        };
        let path = dir.join(name);
        let m = fs
            .metadata(&path)
            .map_err(|err| crate::error::IoError::new("stat", &path, err))?;
        out.push((name.to_owned(), m.kind));
    }
    Ok(out)
}

impl Project {
    /// The Python tool's leftovers in this project; see [`find`].
    pub fn debris(&self) -> Result<Vec<Debris>> {
        find(self.fs.as_ref(), &self.dir)
    }

    /// Removes the Python tool's leftovers whose destination is there, in one transaction,
    /// durably, holding the Python tool's lock of each destination (found again under the
    /// locks); keeps those whose destination is missing. With `dry_run`, only says what it
    /// would do.
    pub fn clean_debris(&mut self, dry_run: bool) -> Result<Cleaned> {
        let fs = self.fs.clone();
        let mut locks = PythonLocks::default();
        for d in self.debris()? {
            locks.take(fs.as_ref(), &self.dir.join(&d.of))?;
        }
        let (kept, removed): (Vec<Debris>, Vec<Debris>) = self
            .debris()?
            .into_iter()
            .partition(|d| d.destination_missing);
        let committed = !dry_run && !removed.is_empty();
        let mut record = None;
        if committed {
            let label = format!("clean up {} leftovers of the Python tool", removed.len());
            let mut t = self.engine.begin(&label)?;
            for d in &removed {
                if d.dir {
                    t.delete_tree(&d.path)?;
                } else {
                    t.delete_file(&d.path)?;
                }
            }
            record = super::stage_log(&self.store, &mut t, &label, &[])?;
            t.commit_durable()?;
        }
        drop(locks);
        Ok(Cleaned {
            removed,
            kept,
            committed,
            record,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn names_of_the_python_tools_leftovers() {
        for (name, want) in [
            (".alpha.txn-a3c4d637", Some(("alpha", "staged"))),
            (".alpha.skillmeat-txn-9ff2536a", Some(("alpha", "backup"))),
            (
                ".alpha.skillmeat-swap-aside-c2ca2259",
                Some(("alpha", "set aside")),
            ),
            (".alpha.verbatim-stage-a379655a", Some(("alpha", "stage"))),
            (
                ".my.cmd.md.member-stage-0123abcd",
                Some(("my.cmd.md", "stage")),
            ),
            (".x.md.merge-theirs-00000000", Some(("x.md", "stage"))),
            (
                "..skillmeat-deployed.toml.k2_x9ab.txn.tmp",
                None, // 7 letters
            ),
            (
                "..skillmeat-deployed.toml.k2_x9abz.txn.tmp",
                Some((".skillmeat-deployed.toml", "temporary")),
            ),
            (".SKILL.md.K2_x9abz.txn.tmp", None), // an upper-case letter
            // Not leftovers: a lock file, upper-case hex, a short id, no name, no dot.
            (".alpha.skillmeat-lock", None),
            (".alpha.txn-A3C4D637", None),
            (".alpha.txn-a3c4d63", None),
            (".txn-a3c4d637", None),
            ("alpha.txn-a3c4d637", None),
            (".alpha.other-a3c4d637", None),
        ] {
            assert_eq!(parse_name(name), want, "{name}");
        }
    }
}
