//! Relative paths inside a transaction's root, validated once.

use crate::error::Error;
use crate::limits::{PATH_BYTES_MAX, PATH_DEPTH_MAX};
use std::fmt;
use std::path::{Path, PathBuf};

/// The engine's own directory inside every root. No operation may touch it, except
/// [`STORE_DIR`] below it.
pub const META_DIR: &str = ".skillwal";

/// The content-addressed store (`src/store/`), the one subtree of [`META_DIR`] that
/// transactions may write: its objects and references must change together with the
/// collection they describe (wal-spec.md §2). The journal, the lock file and the staging
/// area stay unreachable.
pub const STORE_DIR: &str = "store";

/// A path relative to the root: UTF-8, `/`-separated, at least one component, no empty,
/// `.` or `..` component, no NUL, not inside [`META_DIR`] unless inside its [`STORE_DIR`], at most
/// [`PATH_BYTES_MAX`] bytes and [`PATH_DEPTH_MAX`] components.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(String);

impl RelPath {
    /// Validates `s`. Fails with [`Error::InvalidPath`] saying why.
    pub fn new(s: &str) -> Result<RelPath, Error> {
        validate(s, true).map_err(|reason| Error::InvalidPath {
            path: s.to_string(),
            reason,
        })?;
        Ok(RelPath(s.to_string()))
    }

    /// Like [`RelPath::new`] but for a path inside a staged tree, where the meta directory
    /// name has no special meaning.
    pub fn new_in_tree(s: &str) -> Result<RelPath, Error> {
        validate(s, false).map_err(|reason| Error::InvalidPath {
            path: s.to_string(),
            reason,
        })?;
        Ok(RelPath(s.to_string()))
    }

    /// The path as text: `/`-separated components.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path below `root` (`root` joined with every component).
    pub fn join_to(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }

    /// The parent, or `None` for a single component.
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rsplit_once('/').map(|(p, _)| RelPath(p.to_string()))
    }

    /// Whether `self` is `other` or lies below it.
    pub fn is_within(&self, other: &RelPath) -> bool {
        self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// Its components, outermost first (never empty, `.` or `..`).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn validate(s: &str, top_level: bool) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty path".into());
    }
    if s.len() > PATH_BYTES_MAX {
        return Err(format!("longer than {PATH_BYTES_MAX} bytes"));
    }
    if s.starts_with('/') {
        return Err("absolute path".into());
    }
    if s.contains('\0') {
        return Err("contains NUL".into());
    }
    let mut depth = 0;
    let mut in_meta = false;
    for (i, c) in s.split('/').enumerate() {
        depth += 1;
        match c {
            "" => return Err("empty component".into()),
            "." | ".." => return Err(format!("component {c:?}")),
            _ if top_level && i == 0 && c == META_DIR => in_meta = true,
            // The one deliberate exception: `.skillwal/store` and below (wal-spec.md §2).
            _ if in_meta && i == 1 && c == STORE_DIR => in_meta = false,
            _ => {}
        }
    }
    if in_meta {
        return Err(format!(
            "inside the engine's own {META_DIR}/ (only {META_DIR}/{STORE_DIR}/ may be written)"
        ));
    }
    if depth > PATH_DEPTH_MAX {
        return Err(format!("deeper than {PATH_DEPTH_MAX} components"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        for ok in [
            "a",
            "a/b",
            "skills/x/SKILL.md",
            ".hidden",
            "a/.skillwal",
            ".skillwal/store",
            ".skillwal/store/objects/ab/cd",
        ] {
            assert!(RelPath::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a//b",
            "a/./b",
            "../a",
            "a/..",
            ".skillwal",
            ".skillwal/x",
            ".skillwal/journal",
            ".skillwal/staging/x",
            ".skillwal/lock",
            ".skillwal/stores",
            "a\0",
        ] {
            assert!(RelPath::new(bad).is_err(), "{bad:?}");
        }
        assert!(RelPath::new_in_tree(".skillwal").is_ok());
    }

    #[test]
    fn within() {
        let a = RelPath::new("skills/a").unwrap();
        assert!(RelPath::new("skills/a/x").unwrap().is_within(&a));
        assert!(a.is_within(&a));
        assert!(!RelPath::new("skills/ab").unwrap().is_within(&a));
    }
}
