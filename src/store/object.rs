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
/// The first bytes of a split tree's index object (store-spec.md §3.1).
pub const SPLIT_MAGIC: &[u8; 8] = b"SWSPLIT1";
/// Largest tree object read into memory.
pub const TREE_OBJECT_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// A listing of more entries than this is stored split into chunks (store-spec.md §3.1);
/// one of at most this many is one tree object, as in version 2.
pub const SPLIT_ABOVE: usize = 256;
/// A chunk ends after an entry whose name's BLAKE3, read as a little-endian `u32`, is a
/// multiple of this: chunks of 32 entries on average, whose ends depend on the names
/// alone, so that changing, adding or removing one entry rewrites one chunk (or two).
const CHUNK_END_MODULUS: u32 = 32;
/// Most entries in one chunk: a chunk also ends after this many.
pub const CHUNK_ENTRIES_MAX: usize = 256;

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
    fn encode_hashed(&self) -> (Hash, Vec<u8>) {
        let bytes = self.encode();
        (*blake3::hash(&bytes).as_bytes(), bytes)
    }

    /// The objects that store this listing (store-spec.md §3.1) and the hash that names the
    /// directory: one tree object for at most [`SPLIT_ABOVE`] entries; more are stored as
    /// chunks (tree objects of consecutive entries, cut where [`chunk_ranges`] says) and an
    /// index object naming them, which is the directory's. The directory's object is last.
    pub fn to_objects(&self) -> (Hash, Vec<(Hash, Vec<u8>)>) {
        if self.entries.len() <= SPLIT_ABOVE {
            let (hash, bytes) = self.encode_hashed();
            return (hash, vec![(hash, bytes)]);
        }
        let mut objects: Vec<(Hash, Vec<u8>)> = chunk_ranges(&self.entries)
            .into_iter()
            .map(|r| {
                Tree {
                    entries: self.entries[r].to_vec(),
                }
                .encode_hashed()
            })
            .collect();
        let index = encode_split(objects.iter().map(|(h, _)| h));
        let hash = *blake3::hash(&index).as_bytes();
        objects.push((hash, index));
        (hash, objects)
    }
}

/// Where the chunks of a split listing end: after each entry whose name's BLAKE3 (first four
/// bytes, little-endian) is a multiple of [`CHUNK_END_MODULUS`], after
/// [`CHUNK_ENTRIES_MAX`] entries since the last end, and after the last entry.
pub fn chunk_ranges(entries: &[Entry]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(entries.len() / CHUNK_END_MODULUS as usize + 1);
    let mut start = 0;
    for (i, e) in entries.iter().enumerate() {
        let h = blake3::hash(e.name.as_bytes());
        let word = u32::from_le_bytes(h.as_bytes()[..4].try_into().expect("4"));
        if word % CHUNK_END_MODULUS == 0 || i + 1 - start == CHUNK_ENTRIES_MAX {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < entries.len() {
        out.push(start..entries.len());
    }
    out
}

/// A split tree's index object: magic, `u32` chunk count, the chunks' hashes in order.
fn encode_split<'a>(chunks: impl ExactSizeIterator<Item = &'a Hash>) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + chunks.len() * 32);
    out.extend_from_slice(SPLIT_MAGIC);
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    for h in chunks {
        out.extend_from_slice(h);
    }
    out
}

/// What a directory's object holds: the listing itself, or the chunks of a split one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeObject {
    Whole(Tree),
    /// The hashes of the chunks, in order (at least two).
    Split(Vec<Hash>),
}

impl TreeObject {
    /// Decodes a directory's object strictly: a tree object ([`Tree::decode`]) or a split
    /// index (magic, a count of at least two, that many hashes, nothing after them).
    pub fn decode(b: &[u8]) -> Result<TreeObject, String> {
        if !b.starts_with(SPLIT_MAGIC) {
            return Tree::decode(b).map(TreeObject::Whole);
        }
        let mut r = Cursor { b, at: 8 };
        let n = r.u32()? as usize;
        if n < 2 {
            return Err(format!("a split tree of {n} chunk(s)"));
        }
        let mut chunks = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            chunks.push(r.hash()?);
        }
        if r.at != b.len() {
            return Err(format!("{} bytes after the last chunk", b.len() - r.at));
        }
        Ok(TreeObject::Split(chunks))
    }
}

/// The listing a split tree's chunks hold, checked: entries strictly increasing across the
/// chunks, more than [`SPLIT_ABOVE`] of them, and each chunk ending exactly where
/// [`chunk_ranges`] ends it (so a directory has one encoding, and one hash).
pub fn join_chunks(chunks: Vec<Tree>) -> Result<Tree, String> {
    let lens: Vec<usize> = chunks.iter().map(|c| c.entries.len()).collect();
    let mut entries: Vec<Entry> = Vec::with_capacity(lens.iter().sum());
    for c in chunks {
        if let (Some(last), Some(first)) = (entries.last(), c.entries.first())
            && last.name.as_bytes() >= first.name.as_bytes()
        {
            return Err(format!("entry {:?} out of order across chunks", first.name));
        }
        entries.extend(c.entries);
    }
    if entries.len() <= SPLIT_ABOVE {
        return Err(format!("a split tree of {} entries", entries.len()));
    }
    let canonical: Vec<usize> = chunk_ranges(&entries).iter().map(|r| r.len()).collect();
    if canonical != lens {
        return Err("its chunks do not end where the names end them".into());
    }
    Ok(Tree { entries })
}

impl Tree {
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

    fn files(names: impl IntoIterator<Item = String>) -> Vec<Entry> {
        names
            .into_iter()
            .map(|name| Entry {
                node: Node::File {
                    size: name.len() as u64,
                    hash: *blake3::hash(name.as_bytes()).as_bytes(),
                },
                name,
                mode: 0o644,
            })
            .collect()
    }

    /// Reads `hash`'s listing back from `objects` as the store does.
    fn read_back(hash: &Hash, objects: &[(Hash, Vec<u8>)]) -> Result<Tree, String> {
        let get = |h: &Hash| {
            let (_, b) = objects.iter().find(|(k, _)| k == h).expect("written");
            assert_eq!(blake3::hash(b).as_bytes(), h);
            b.clone()
        };
        match TreeObject::decode(&get(hash))? {
            TreeObject::Whole(t) => Ok(t),
            TreeObject::Split(chunks) => join_chunks(
                chunks
                    .iter()
                    .map(|h| Tree::decode(&get(h)))
                    .collect::<Result<_, _>>()?,
            ),
        }
    }

    #[test]
    fn a_large_listing_stored_whole_by_version_2_is_read_as_it_is() {
        let t = Tree::new(files((0..1000).map(|i| format!("skill-{i:05}"))));
        assert_eq!(TreeObject::decode(&t.encode()), Ok(TreeObject::Whole(t)));
    }

    #[test]
    fn small_listings_stay_whole_as_in_version_2() {
        let t = Tree::new(files((0..SPLIT_ABOVE).map(|i| format!("s{i:05}"))));
        let (hash, objects) = t.to_objects();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].1, t.encode());
        assert_eq!(&hash, blake3::hash(&t.encode()).as_bytes());
    }

    #[test]
    fn a_large_listing_splits_and_one_change_rewrites_one_chunk() {
        let t = Tree::new(files((0..1000).map(|i| format!("skill-{i:05}"))));
        let (hash, objects) = t.to_objects();
        assert!(objects.len() > 10, "{} objects", objects.len());
        assert!(
            objects[..objects.len() - 1]
                .iter()
                .all(|(_, b)| b.len() < 64 * 300)
        );
        assert_eq!(read_back(&hash, &objects).unwrap(), t);

        let mut changed = t.clone();
        changed.entries[500].mode = 0o755;
        let (hash2, objects2) = changed.to_objects();
        let new: Vec<_> = objects2.iter().filter(|o| !objects.contains(o)).collect();
        // One chunk and the index.
        assert_eq!(new.len(), 2);
        assert_eq!(new[1].0, hash2);
        assert_eq!(read_back(&hash2, &objects2).unwrap(), changed);

        let mut added = t.clone();
        added.entries.extend(files(["zzz".to_string()]));
        let (_, objects3) = added.to_objects();
        assert!(objects3.iter().filter(|o| !objects.contains(o)).count() <= 3);
    }

    #[test]
    fn split_trees_are_read_strictly() {
        let t = Tree::new(files((0..600).map(|i| format!("n{i}"))));
        let (_, objects) = t.to_objects();
        let chunks: Vec<Tree> = objects[..objects.len() - 1]
            .iter()
            .map(|(_, b)| Tree::decode(b).unwrap())
            .collect();
        assert_eq!(join_chunks(chunks.clone()).unwrap(), t);
        // Out of order across chunks.
        let mut swapped = chunks.clone();
        swapped.swap(0, 1);
        assert!(join_chunks(swapped).unwrap_err().contains("out of order"));
        // A chunk ended elsewhere than the names say: the same entries, cut differently.
        let mut moved = chunks.clone();
        let e = moved[1].entries.remove(0);
        moved[0].entries.push(e);
        assert!(join_chunks(moved).unwrap_err().contains("do not end where"));
        // Too few entries to be split.
        let small = vec![
            Tree::new(files(["a".into()])),
            Tree::new(files(["b".into()])),
        ];
        assert!(join_chunks(small).is_err());
        // The index: truncated, extended, one chunk.
        let index = &objects.last().unwrap().1;
        for cut in 0..index.len() {
            assert!(TreeObject::decode(&index[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = index.clone();
        extra.push(0);
        assert!(TreeObject::decode(&extra).is_err());
        assert!(TreeObject::decode(&encode_split([[0u8; 32]].iter())).is_err());
    }

    #[test]
    fn hex_round_trip() {
        let h = [0xab; 32];
        assert_eq!(parse_hex(&hex(&h)), Some(h));
        assert_eq!(parse_hex("AB"), None);
    }
}
