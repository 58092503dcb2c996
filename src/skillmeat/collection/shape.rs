//! What SkillMeat's `content_hash` does not see of an artifact, so that skillwal can see it:
//! which paths are directories, files or links, every permission bit (the artifact's own
//! directory included), every link's target. The content hash and a [`Shape`] together are
//! everything a user can see of an artifact's files: a mode-only change is a change.
//!
//! Shapes are compared, never stored: the base of an artifact (store-spec.md §4.3) already
//! records all of it, and a shape is read from the base, from the files on disk (`lstat`
//! only: no content is read) or from a fetched source's listing.

use crate::fs::{FileKind, FileSystem};
use crate::skillmeat::names::ArtifactType;
use crate::skillmeat::source::{Fetched, FetchedKind};
use crate::store::object::Node;
use crate::store::refs::BaseRef;
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One path's kind and permission bits, or a link's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeEntry {
    /// A directory, with its permission bits.
    Dir(u32),
    /// A regular file, with its permission bits.
    File(u32),
    /// A symbolic link, with its target.
    Link(Vec<u8>),
}

/// An artifact's shape: its own directory's mode (`None` for a command or agent, or when not
/// known), and every path below it (a command or agent: one entry, `""`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shape {
    /// The artifact's own directory's permission bits.
    pub root_mode: Option<u32>,
    /// Every path below it, relative, `/`-separated.
    pub entries: BTreeMap<String, ShapeEntry>,
}

impl Shape {
    /// The shape of the artifact of type `ty` at `abs`, read through `fs` without following
    /// a link. A special file inside is an error.
    pub fn of_disk(fs: &dyn FileSystem, abs: &Path, ty: ArtifactType) -> io::Result<Shape> {
        let meta = fs.metadata(abs)?;
        let mut shape = Shape::default();
        if !ty.is_directory() {
            shape
                .entries
                .insert(String::new(), ShapeEntry::File(meta.mode));
            return Ok(shape);
        }
        shape.root_mode = Some(meta.mode);
        let mut stack = vec![String::new()];
        while let Some(rel) = stack.pop() {
            let dir = if rel.is_empty() {
                abs.to_path_buf()
            } else {
                abs.join(&rel)
            };
            for e in fs.read_dir(&dir)? {
                let name = String::from_utf8_lossy(e.name.as_bytes()).into_owned();
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let path = dir.join(&e.name);
                let m = fs.metadata(&path)?;
                let entry = match m.kind {
                    FileKind::Dir => {
                        stack.push(child.clone());
                        ShapeEntry::Dir(m.mode)
                    }
                    FileKind::File => ShapeEntry::File(m.mode),
                    FileKind::Symlink => ShapeEntry::Link(fs.read_link(&path)?.as_bytes().to_vec()),
                    FileKind::Other => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{} is a special file", path.display()),
                        ));
                    }
                };
                shape.entries.insert(child, entry);
            }
        }
        Ok(shape)
    }

    /// The shape of fetched content.
    pub fn of_fetched(fetched: &Fetched) -> Shape {
        let mut shape = Shape::default();
        match &fetched.kind {
            FetchedKind::File { mode, .. } => {
                shape.entries.insert(String::new(), ShapeEntry::File(*mode));
            }
            FetchedKind::Dir { mode, entries, .. } => {
                shape.root_mode = Some(*mode);
                for e in entries {
                    let entry = match (&e.link, e.is_dir) {
                        (Some(t), _) => ShapeEntry::Link(t.clone()),
                        (None, true) => ShapeEntry::Dir(e.mode),
                        (None, false) => ShapeEntry::File(e.mode),
                    };
                    shape.entries.insert(e.rel.clone(), entry);
                }
            }
        }
        shape
    }

    /// The shape of a base, from its tree objects (read and verified).
    pub fn of_base(store: &Store, b: &BaseRef) -> Result<Shape, StoreError> {
        let mut shape = Shape::default();
        let hash = b.hash().expect("validated when read");
        if !b.is_tree() {
            shape
                .entries
                .insert(String::new(), ShapeEntry::File(b.mode));
            return Ok(shape);
        }
        shape.root_mode = b.root_mode();
        for (rel, e) in store.tree_entries(&hash)? {
            let entry = match e.node {
                Node::File { .. } => ShapeEntry::File(e.mode),
                Node::Dir { .. } => ShapeEntry::Dir(e.mode),
                Node::Link { size, hash } => ShapeEntry::Link(store.read_target(&hash, size)?),
            };
            shape.entries.insert(rel, entry);
        }
        Ok(shape)
    }

    /// Where two shapes differ, one phrase per path (empty: the same). The artifact's own
    /// mode is compared only when both sides know it.
    pub fn differences(&self, other: &Shape) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(a), Some(b)) = (self.root_mode, other.root_mode)
            && a != b
        {
            out.push(format!("the directory's mode {a:o} / {b:o}"));
        }
        let show = |rel: &str| {
            if rel.is_empty() {
                "the file".to_string()
            } else {
                rel.to_string()
            }
        };
        for (rel, a) in &self.entries {
            match other.entries.get(rel) {
                None => out.push(format!("{}: only on one side", show(rel))),
                Some(b) if a == b => {}
                Some(b) => out.push(format!("{}: {} / {}", show(rel), describe(a), describe(b))),
            }
        }
        for rel in other.entries.keys() {
            if !self.entries.contains_key(rel) {
                out.push(format!("{}: only on one side", show(rel)));
            }
        }
        out
    }

    /// Whether two shapes are the same (see [`Shape::differences`]).
    pub fn same(&self, other: &Shape) -> bool {
        self.differences(other).is_empty()
    }

    /// The links in it, by path, with their targets.
    pub fn links(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().filter_map(|(rel, e)| match e {
            ShapeEntry::Link(t) => Some((rel.as_str(), t.as_slice())),
            _ => None,
        })
    }
}

fn describe(e: &ShapeEntry) -> String {
    match e {
        ShapeEntry::Dir(m) => format!("directory {m:o}"),
        ShapeEntry::File(m) => format!("file {m:o}"),
        ShapeEntry::Link(t) => format!("link to {}", String::from_utf8_lossy(t)),
    }
}
