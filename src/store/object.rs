//! Tree objects: the encoding of one directory's listing (store-spec.md §3), pure.
//!
//! A file's object is its bytes, addressed by their BLAKE3 hash (the same hash the journal
//! records for a put-file). A directory's object is a [`Tree`] encoded here and addressed by
//! the BLAKE3 hash of the encoding, so an unchanged directory (an unchanged skill) always
//! encodes to the same object and is stored once.

use crate::journal::format::Hash;

/// The first bytes of every tree object.
pub const TREE_MAGIC: &[u8; 8] = b"SWTREE1\0";
/// Longest entry name, in bytes (the usual file-system limit).
pub const NAME_BYTES_MAX: usize = 255;
/// Largest tree object read into memory.
pub const TREE_OBJECT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// What an entry of a tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// A regular file: its size and the BLAKE3 hash of its bytes (its object).
    File { size: u64, hash: Hash },
    /// A directory: the hash of its tree object.
    Dir { hash: Hash },
    /// A symbolic link: its target's length and the BLAKE3 hash of the target's bytes, which
    /// are kept as a file object like any file's.
    Link { size: u64, hash: Hash },
}

/// Longest link target a tree may name, in bytes (`PATH_MAX` less its NUL).
pub const LINK_TARGET_BYTES_MAX: u64 = 4095;

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// One path component: UTF-8, not empty, `.` or `..`, no `/` or NUL.
    pub name: String,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub node: Node,
}

/// A directory listing, entries in increasing byte order of their names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    pub entries: Vec<Entry>,
}

/// Why a name cannot be an entry name, if it cannot.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty name")
    } else if name == "." || name == ".." {
        Some("name . or ..")
    } else if name.contains('/') || name.contains('\0') {
        Some("name contains / or NUL")
    } else if name.len() > NAME_BYTES_MAX {
        Some("name longer than 255 bytes")
    } else {
        None
    }
}

impl Tree {
    /// A tree of `entries` (sorted here).
    pub fn new(mut entries: Vec<Entry>) -> Tree {
        entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        Tree { entries }
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.name.as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The object bytes: magic, `u32` entry count, then per entry a kind byte (`f`/`d`/`l`),
    /// `u32` mode, `u16` name length and the name, for a file or a link `u64` size, then the
    /// 32-byte hash. Little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.entries.len() * 64);
        out.extend_from_slice(TREE_MAGIC);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            let (kind, hash) = match &e.node {
                Node::File { hash, .. } => (b'f', hash),
                Node::Dir { hash } => (b'd', hash),
                Node::Link { hash, .. } => (b'l', hash),
            };
            out.push(kind);
            out.extend_from_slice(&e.mode.to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(e.name.as_bytes());
            if let Node::File { size, .. } | Node::Link { size, .. } = e.node {
                out.extend_from_slice(&size.to_le_bytes());
            }
            out.extend_from_slice(hash);
        }
        out
    }

    /// The encoding and its hash (the object's address).
    pub fn encode_hashed(&self) -> (Hash, Vec<u8>) {
        let bytes = self.encode();
        (*blake3::hash(&bytes).as_bytes(), bytes)
    }

    /// Decodes a tree object strictly: known kinds, valid names in strictly increasing
    /// order, no byte left over. Fails with what is wrong.
    pub fn decode(b: &[u8]) -> Result<Tree, String> {
        let mut r = Cursor { b, at: 0 };
        if r.take(8)? != TREE_MAGIC {
            return Err("not a tree object (bad magic)".into());
        }
        let n = r.u32()?;
        let mut entries: Vec<Entry> = Vec::with_capacity((n as usize).min(100_000));
        for _ in 0..n {
            let kind = r.take(1)?[0];
            let mode = r.u32()?;
            let len = r.u16()? as usize;
            let name = std::str::from_utf8(r.take(len)?)
                .map_err(|_| "entry name is not UTF-8".to_string())?
                .to_string();
            if let Some(p) = name_problem(&name) {
                return Err(format!("entry {name:?}: {p}"));
            }
            if let Some(prev) = entries.last()
                && prev.name.as_bytes() >= name.as_bytes()
            {
                return Err(format!("entry {name:?} out of order"));
            }
            let node = match kind {
                b'f' => {
                    let size = r.u64()?;
                    Node::File {
                        size,
                        hash: r.hash()?,
                    }
                }
                b'd' => Node::Dir { hash: r.hash()? },
                b'l' => {
                    let size = r.u64()?;
                    if size == 0 || size > LINK_TARGET_BYTES_MAX {
                        return Err(format!("entry {name:?}: link target of {size} bytes"));
                    }
                    Node::Link {
                        size,
                        hash: r.hash()?,
                    }
                }
                k => return Err(format!("entry {name:?}: unknown kind byte {k}")),
            };
            entries.push(Entry { name, mode, node });
        }
        if r.at != b.len() {
            return Err(format!("{} bytes after the last entry", b.len() - r.at));
        }
        Ok(Tree { entries })
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| "truncated".to_string())?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn hash(&mut self) -> Result<Hash, String> {
        Ok(self.take(32)?.try_into().expect("32"))
    }
}

/// Lowercase hex of a hash.
pub fn hex(h: &Hash) -> String {
    crate::journal::format::hex(h)
}

/// Parses 64 lowercase hex digits.
pub fn parse_hex(s: &str) -> Option<Hash> {
    if s.len() != 64 || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut h = [0u8; 32];
    for (i, out) in h.iter_mut().enumerate() {
        *out = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        Tree::new(vec![
            Entry {
                name: "l".into(),
                mode: 0o777,
                node: Node::Link {
                    size: 2,
                    hash: [3; 32],
                },
            },
            Entry {
                name: "b".into(),
                mode: 0o644,
                node: Node::File {
                    size: 3,
                    hash: [1; 32],
                },
            },
            Entry {
                name: "a".into(),
                mode: 0o755,
                node: Node::Dir { hash: [2; 32] },
            },
        ])
    }

    #[test]
    fn round_trip_and_order() {
        let t = sample();
        assert_eq!(t.entries[0].name, "a");
        assert!(matches!(
            t.get("l").unwrap().node,
            Node::Link { size: 2, .. }
        ));
        let b = t.encode();
        assert_eq!(Tree::decode(&b).unwrap(), t);
        assert_eq!(t.get("b").unwrap().mode, 0o644);
        assert!(t.get("c").is_none());
    }

    #[test]
    fn decode_rejects_damage() {
        let b = sample().encode();
        for cut in 0..b.len() {
            assert!(Tree::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(Tree::decode(&extra).is_err());
        // Swap the names' first bytes so that the order breaks.
        let mut swapped = sample();
        swapped.entries.swap(0, 1);
        assert!(Tree::decode(&swapped.encode()).is_err());
        let mut bad = sample();
        bad.entries[0].name = "..".into();
        assert!(Tree::decode(&bad.encode()).is_err());
    }

    #[test]
    fn hex_round_trip() {
        let h = [0xab; 32];
        assert_eq!(parse_hex(&hex(&h)), Some(h));
        assert_eq!(parse_hex("AB"), None);
    }
}
