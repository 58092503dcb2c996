//! BLAKE3 hashes of files and trees, read through the file-system layer, streaming.
//!
//! A tree hash (wal-spec.md §5) is BLAKE3 over `"skillwal-tree-v1\0"` followed by one entry
//! per node below the root, in order of their relative paths compared component by
//! component: a kind byte (`f` file, `d` directory, `l` link, `o` other), the path's length
//! (u32 LE) and bytes, then for a file its size (u64 LE) and BLAKE3 hash, for a link its
//! target's length (u32 LE) and bytes. Permission bits are not part of it.

use crate::error::{IoContext, Result};
use crate::fs::{FileKind, FileSystem, OpenMode};
use crate::journal::format::Hash;
use crate::limits::STREAM_BUFFER_BYTES;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const TREE_DOMAIN: &[u8] = b"skillwal-tree-v1\0";

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
pub enum TreeNode {
    File { size: u64, hash: Hash },
    Dir,
    Link(Vec<u8>),
    Other,
}

/// Compares two `/`-separated paths component by component.
pub fn cmp_components(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.split(|c| *c == b'/').cmp(b.split(|c| *c == b'/'))
}

/// The tree hash of `entries` (relative path bytes → node); sorts them first.
pub fn tree_hash_of(mut entries: Vec<(Vec<u8>, TreeNode)>) -> Hash {
    entries.sort_by(|a, b| cmp_components(&a.0, &b.0));
    let mut h = blake3::Hasher::new();
    h.update(TREE_DOMAIN);
    for (rel, node) in &entries {
        let kind = match node {
            TreeNode::File { .. } => b'f',
            TreeNode::Dir => b'd',
            TreeNode::Link(_) => b'l',
            TreeNode::Other => b'o',
        };
        h.update(&[kind]);
        h.update(&(rel.len() as u32).to_le_bytes());
        h.update(rel);
        match node {
            TreeNode::File { size, hash } => {
                h.update(&size.to_le_bytes());
                h.update(hash);
            }
            TreeNode::Link(target) => {
                h.update(&(target.len() as u32).to_le_bytes());
                h.update(target);
            }
            TreeNode::Dir | TreeNode::Other => {}
        }
    }
    *h.finalize().as_bytes()
}

/// Every node below the directory `root` (not `root` itself), with file hashes.
pub fn walk_tree(fs: &dyn FileSystem, root: &Path) -> Result<Vec<(Vec<u8>, TreeNode)>> {
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
            let node = match entry.kind {
                FileKind::File => {
                    let (size, hash) = hash_file(fs, &path)?;
                    TreeNode::File { size, hash }
                }
                FileKind::Dir => {
                    stack.push(child_rel.clone());
                    TreeNode::Dir
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

/// The tree hash of the directory at `root`.
pub fn tree_hash(fs: &dyn FileSystem, root: &Path) -> Result<Hash> {
    Ok(tree_hash_of(walk_tree(fs, root)?))
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

    #[test]
    fn tree_hash_ignores_input_order_and_sees_kinds() {
        let f = TreeNode::File {
            size: 1,
            hash: [7; 32],
        };
        let a = tree_hash_of(vec![
            (b"x".to_vec(), f.clone()),
            (b"d".to_vec(), TreeNode::Dir),
        ]);
        let b = tree_hash_of(vec![(b"d".to_vec(), TreeNode::Dir), (b"x".to_vec(), f)]);
        assert_eq!(a, b);
        let c = tree_hash_of(vec![
            (b"d".to_vec(), TreeNode::Dir),
            (b"x".to_vec(), TreeNode::Dir),
        ]);
        assert_ne!(a, c);
    }
}
