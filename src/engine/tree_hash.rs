//! BLAKE3 hashes of files and trees, read through the file-system layer, streaming.
//!
//! A tree hash (wal-spec.md §5) covers everything a user can see of a directory tree: every
//! node's kind and relative path, a file's bytes and permission bits, a directory's
//! permission bits (the tree's own directory included), a link's target. Format version 1
//! journals used a hash without permission bits; this module still computes it for them.

use crate::error::{IoContext, Result};
use crate::fs::{FileKind, FileSystem, OpenMode};
use crate::journal::format::Hash;
use crate::limits::STREAM_BUFFER_BYTES;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const TREE_DOMAIN_V1: &[u8] = b"skillwal-tree-v1\0";
const TREE_DOMAIN_V2: &[u8] = b"skillwal-tree-v2\0";

/// Size and BLAKE3 hash of the file at `path`, read in fixed-size pieces.
pub fn hash_file(fs: &dyn FileSystem, path: &Path) -> Result<(u64, Hash)> {
    let file = fs.open(path, OpenMode::Read).ctx("open", path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; STREAM_BUFFER_BYTES];
    let mut offset = 0u64;
    loop {
        let n = file.read_at(&mut buf, offset).ctx("read", path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    Ok((offset, *hasher.finalize().as_bytes()))
}

/// One node of a tree, for hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TreeNode {
    File { size: u64, hash: Hash, mode: u32 },
    Dir { mode: u32 },
    Link(Vec<u8>),
    Other,
}

/// Compares two `/`-separated paths component by component.
pub(crate) fn cmp_components(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.split(|c| *c == b'/').cmp(b.split(|c| *c == b'/'))
}

/// The tree hash, in journal format `version` (1 or 2), of a directory with permission bits
/// `root_mode` holding `entries` (relative path bytes → node); sorts them first. Version 1
/// leaves every permission bit out.
pub(crate) fn tree_hash_of(
    version: u16,
    root_mode: u32,
    mut entries: Vec<(Vec<u8>, TreeNode)>,
) -> Hash {
    let v2 = version >= 2;
    entries.sort_by(|a, b| cmp_components(&a.0, &b.0));
    let mut h = blake3::Hasher::new();
    if v2 {
        h.update(TREE_DOMAIN_V2);
        h.update(&root_mode.to_le_bytes());
    } else {
        h.update(TREE_DOMAIN_V1);
    }
    for (rel, node) in &entries {
        let kind = match node {
            TreeNode::File { .. } => b'f',
            TreeNode::Dir { .. } => b'd',
            TreeNode::Link(_) => b'l',
            TreeNode::Other => b'o',
        };
        h.update(&[kind]);
        h.update(&(rel.len() as u32).to_le_bytes());
        h.update(rel);
        match node {
            TreeNode::File { size, hash, mode } => {
                if v2 {
                    h.update(&mode.to_le_bytes());
                }
                h.update(&size.to_le_bytes());
                h.update(hash);
            }
            TreeNode::Dir { mode } => {
                if v2 {
                    h.update(&mode.to_le_bytes());
                }
            }
            TreeNode::Link(target) => {
                h.update(&(target.len() as u32).to_le_bytes());
                h.update(target);
            }
            TreeNode::Other => {}
        }
    }
    *h.finalize().as_bytes()
}

/// Every node below the directory `root` (not `root` itself), with file hashes and
/// permission bits.
pub(crate) fn walk_tree(fs: &dyn FileSystem, root: &Path) -> Result<Vec<(Vec<u8>, TreeNode)>> {
    let mut out = Vec::new();
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(std::ffi::OsStr::from_bytes(&rel))
        };
        for entry in fs.read_dir(&dir).ctx("read directory", &dir)? {
            let mut child_rel = rel.clone();
            if !child_rel.is_empty() {
                child_rel.push(b'/');
            }
            child_rel.extend_from_slice(entry.name.as_bytes());
            let path = dir.join(&entry.name);
            // The kind is read again with the mode: it may have changed since the listing.
            let meta = fs.metadata(&path).ctx("stat", &path)?;
            let node = match meta.kind {
                FileKind::File => {
                    let (size, hash) = hash_file(fs, &path)?;
                    TreeNode::File {
                        size,
                        hash,
                        mode: meta.mode,
                    }
                }
                FileKind::Dir => {
                    stack.push(child_rel.clone());
                    TreeNode::Dir { mode: meta.mode }
                }
                FileKind::Symlink => TreeNode::Link(
                    fs.read_link(&path)
                        .ctx("read link", &path)?
                        .as_bytes()
                        .to_vec(),
                ),
                FileKind::Other => TreeNode::Other,
            };
            out.push((child_rel, node));
        }
    }
    Ok(out)
}

/// The tree hash, in journal format `version`, of the directory at `root`.
pub(crate) fn tree_hash(fs: &dyn FileSystem, root: &Path, version: u16) -> Result<Hash> {
    let mode = fs.metadata(root).ctx("stat", root)?.mode;
    Ok(tree_hash_of(version, mode, walk_tree(fs, root)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_order_differs_from_byte_order() {
        // '-' (0x2d) sorts before '/' (0x2f) bytewise, after the end of a component here.
        assert_eq!(cmp_components(b"a/b", b"a-b"), std::cmp::Ordering::Less);
        assert_eq!(
            b"a/b".as_slice().cmp(b"a-b".as_slice()),
            std::cmp::Ordering::Greater
        );
    }

    fn file(mode: u32) -> TreeNode {
        TreeNode::File {
            size: 1,
            hash: [7; 32],
            mode,
        }
    }

    #[test]
    fn tree_hash_ignores_input_order_and_sees_kinds() {
        let a = tree_hash_of(
            2,
            0o755,
            vec![
                (b"x".to_vec(), file(0o644)),
                (b"d".to_vec(), TreeNode::Dir { mode: 0o755 }),
            ],
        );
        let b = tree_hash_of(
            2,
            0o755,
            vec![
                (b"d".to_vec(), TreeNode::Dir { mode: 0o755 }),
                (b"x".to_vec(), file(0o644)),
            ],
        );
        assert_eq!(a, b);
        let c = tree_hash_of(
            2,
            0o755,
            vec![
                (b"d".to_vec(), TreeNode::Dir { mode: 0o755 }),
                (b"x".to_vec(), TreeNode::Dir { mode: 0o755 }),
            ],
        );
        assert_ne!(a, c);
    }

    #[test]
    fn version_2_sees_every_permission_bit_and_version_1_none() {
        let base = vec![
            (b"s.sh".to_vec(), file(0o644)),
            (b"d".to_vec(), TreeNode::Dir { mode: 0o755 }),
        ];
        let h = |v: u16, root: u32, e: &Vec<(Vec<u8>, TreeNode)>| tree_hash_of(v, root, e.clone());
        let mut exec = base.clone();
        exec[0].1 = file(0o755);
        let mut closed = base.clone();
        closed[1].1 = TreeNode::Dir { mode: 0o700 };
        assert_ne!(h(2, 0o755, &base), h(2, 0o755, &exec), "a file's mode");
        assert_ne!(
            h(2, 0o755, &base),
            h(2, 0o755, &closed),
            "a directory's mode"
        );
        assert_ne!(
            h(2, 0o755, &base),
            h(2, 0o700, &base),
            "the tree's own mode"
        );
        assert_eq!(
            h(1, 0o755, &base),
            h(1, 0o700, &exec),
            "version 1 ignores modes"
        );
        assert_eq!(h(1, 0o755, &base), h(1, 0o755, &closed));
        assert_ne!(
            h(1, 0o755, &base),
            h(2, 0o755, &base),
            "the versions differ"
        );
        let mut linked = base.clone();
        linked[0].1 = TreeNode::Link(b"d".to_vec());
        assert_ne!(
            h(2, 0o755, &base),
            h(2, 0o755, &linked),
            "a link is not a file"
        );
    }
}
