//! Packs: many small objects in one immutable file (store-spec.md §2.1), pure encoding and
//! the in-memory index of which pack holds which object.
//!
//! A pack is written whole by one put-file of a transaction, like a loose object, and never
//! changed: it is replaced (by `gc`, or by a merge of small packs) by writing a new pack and
//! deleting the old in the same transaction. Its name is the BLAKE3 hash of its table, so a
//! reader verifies the table against the name and every object against its own hash.

use crate::journal::format::Hash;
use std::collections::HashMap;
use std::sync::Arc;

/// The first bytes of every pack.
pub const PACK_MAGIC: &[u8; 8] = b"SWPACK1\0";
/// Bytes of the header: magic and `u32` object count.
const HEADER_BYTES: u64 = 12;
/// Bytes of one table entry: hash, `u64` offset, `u64` size.
const ENTRY_BYTES: u64 = 48;
/// Objects larger than this stay loose files (`objects/…`): a pack is for what would
/// otherwise cost an inode and a block for a few bytes.
pub const PACK_OBJECT_BYTES_MAX: u64 = 1024 * 1024;
/// A pack holds at most this many bytes of objects; a larger batch is written as several.
pub const PACK_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Most objects in one pack (a table of 48 MiB).
pub const PACK_OBJECTS_MAX: u64 = 1024 * 1024;
/// A pack smaller than this is small: it is merged into the next pack written once there are
/// [`SMALL_PACKS_MAX`] small packs.
pub const SMALL_PACK_BYTES: u64 = 4 * 1024 * 1024;
/// How many small packs the store keeps before a write merges them (store-spec.md §5).
pub const SMALL_PACKS_MAX: usize = 16;

/// How many of the small packs (their sizes in increasing order, at least
/// [`SMALL_PACKS_MAX`] of them) a write of `new_bytes` of objects merges: the two smallest,
/// then each next one while it is no larger than everything taken so far (the new objects
/// included). Packs of like size are merged together and a large one waits until smaller
/// ones add up to it, so an object is rewritten a few times (about log₁₆ of how much it
/// waits behind), not once per [`SMALL_PACKS_MAX`] writes until its pack is no longer small.
pub fn merge_count(sizes: &[u64], new_bytes: u64) -> usize {
    let mut sum = new_bytes;
    let mut n = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if i >= 2 && size > sum {
            break;
        }
        sum += size;
        n += 1;
    }
    n
}

/// Where one object is in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub hash: Hash,
    /// From the start of the pack file.
    pub offset: u64,
    pub size: u64,
}

/// A pack's table: its objects sorted by hash, stored one after the other in that order
/// right after the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub slots: Vec<Slot>,
}

impl Table {
    /// The table of a pack holding objects of these hashes and sizes (distinct hashes).
    pub fn new(mut objects: Vec<(Hash, u64)>) -> Table {
        objects.sort_by_key(|o| o.0);
        objects.dedup_by(|a, b| a.0 == b.0);
        let mut offset = HEADER_BYTES + ENTRY_BYTES * objects.len() as u64;
        let slots = objects
            .into_iter()
            .map(|(hash, size)| {
                let s = Slot { hash, offset, size };
                offset += size;
                s
            })
            .collect();
        Table { slots }
    }

    /// The bytes of the pack's header and table: magic, `u32` count, then per object its
    /// hash, `u64` offset and `u64` size. Little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.table_bytes() as usize);
        out.extend_from_slice(PACK_MAGIC);
        out.extend_from_slice(&(self.slots.len() as u32).to_le_bytes());
        for s in &self.slots {
            out.extend_from_slice(&s.hash);
            out.extend_from_slice(&s.offset.to_le_bytes());
            out.extend_from_slice(&s.size.to_le_bytes());
        }
        out
    }

    /// The pack's name: the BLAKE3 hash of [`Table::encode`].
    pub fn name(&self) -> Hash {
        *blake3::hash(&self.encode()).as_bytes()
    }

    /// Bytes of the header and table.
    pub fn table_bytes(&self) -> u64 {
        HEADER_BYTES + ENTRY_BYTES * self.slots.len() as u64
    }

    /// The length the pack file must have.
    pub fn file_bytes(&self) -> u64 {
        self.slots
            .last()
            .map_or(self.table_bytes(), |s| s.offset + s.size)
    }

    /// How many bytes [`Table::decode`] needs, from the pack's first 12: `None` unless they
    /// begin with the magic and count at least one object, at most [`PACK_OBJECTS_MAX`].
    pub fn table_bytes_from_header(header: &[u8]) -> Option<u64> {
        if header.len() < HEADER_BYTES as usize || &header[..8] != PACK_MAGIC {
            return None;
        }
        let n = u32::from_le_bytes(header[8..12].try_into().expect("4")) as u64;
        (1..=PACK_OBJECTS_MAX)
            .contains(&n)
            .then_some(HEADER_BYTES + ENTRY_BYTES * n)
    }

    /// Decodes a header and table strictly: the magic, a count of 1 to
    /// [`PACK_OBJECTS_MAX`], hashes strictly increasing, each object starting where the one
    /// before ends (the first right after the table), nothing after the table.
    pub fn decode(b: &[u8]) -> Result<Table, String> {
        let want = Table::table_bytes_from_header(b)
            .ok_or_else(|| "not a pack (bad magic or object count)".to_string())?;
        if b.len() as u64 != want {
            return Err(format!("a table of {} bytes, not {want}", b.len()));
        }
        let mut slots: Vec<Slot> =
            Vec::with_capacity(((want - HEADER_BYTES) / ENTRY_BYTES) as usize);
        let mut expect = want;
        for e in b[HEADER_BYTES as usize..].chunks_exact(ENTRY_BYTES as usize) {
            let hash: Hash = e[..32].try_into().expect("32");
            let offset = u64::from_le_bytes(e[32..40].try_into().expect("8"));
            let size = u64::from_le_bytes(e[40..48].try_into().expect("8"));
            if slots.last().is_some_and(|p| p.hash >= hash) {
                return Err("its objects are not in increasing order of hash".into());
            }
            if offset != expect {
                return Err(format!(
                    "an object at offset {offset} where {expect} was due"
                ));
            }
            expect = offset
                .checked_add(size)
                .ok_or_else(|| "an object past the end of any file".to_string())?;
            slots.push(Slot { hash, offset, size });
        }
        Ok(Table { slots })
    }
}

/// The packs loaded: which pack holds which object, as far as they say.
#[derive(Debug, Default)]
pub struct PackIndex {
    /// Whether `packs/` was read once.
    pub loaded: bool,
    /// The packs loaded, by file name.
    pub packs: HashMap<String, Loaded>,
}

/// One loaded pack.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The pack file's length in bytes.
    pub bytes: u64,
    /// Its table (shared, not copied, by whoever looks at it); `Err` with what is wrong when
    /// it could not be read or verified.
    pub table: Result<Arc<Table>, String>,
}

impl Table {
    /// The slot of the object `hash`, if this pack holds it (binary search).
    pub fn find(&self, hash: &Hash) -> Option<Slot> {
        self.slots
            .binary_search_by(|s| s.hash.cmp(hash))
            .ok()
            .map(|i| self.slots[i])
    }
}

impl PackIndex {
    /// The pack holding the object `hash` and its slot, if a good pack loaded holds it.
    pub fn find(&self, hash: &Hash) -> Option<(String, Slot)> {
        self.packs.iter().find_map(|(name, l)| {
            let slot = l.table.as_ref().ok()?.find(hash)?;
            Some((name.clone(), slot))
        })
    }

    /// Forgets every pack not in `present`.
    pub fn retain(&mut self, present: &std::collections::HashSet<String>) {
        self.packs.retain(|n, _| present.contains(n));
    }

    /// The packs whose table could not be read, with why.
    pub fn damaged(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .packs
            .iter()
            .filter_map(|(n, l)| l.table.as_ref().err().map(|e| (n.clone(), e.clone())))
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trip_and_layout() {
        let t = Table::new(vec![([9; 32], 5), ([1; 32], 3), ([9; 32], 5)]);
        assert_eq!(t.slots.len(), 2);
        assert_eq!(t.slots[0].hash, [1; 32]);
        assert_eq!(t.slots[0].offset, 12 + 2 * 48);
        assert_eq!(t.slots[1].offset, 12 + 2 * 48 + 3);
        assert_eq!(t.file_bytes(), 12 + 2 * 48 + 8);
        let b = t.encode();
        assert_eq!(b.len() as u64, t.table_bytes());
        assert_eq!(
            Table::table_bytes_from_header(&b[..12]),
            Some(b.len() as u64)
        );
        assert_eq!(Table::decode(&b).unwrap(), t);
    }

    /// Packs written one by one (each `write` bytes) under the merge rule: the bytes written
    /// in all, merges included, for every byte of objects.
    fn amplification(count: impl Fn(&[u64], u64) -> usize, write: u64, writes: usize) -> f64 {
        let (mut small, mut written) = (Vec::<u64>::new(), 0u64);
        for _ in 0..writes {
            let mut new = write;
            small.sort();
            if small.len() >= SMALL_PACKS_MAX {
                let n = count(&small, write);
                new += small.drain(..n).sum::<u64>();
            }
            written += new;
            if new < SMALL_PACK_BYTES {
                small.push(new);
            }
            assert!(small.len() <= SMALL_PACKS_MAX);
        }
        written as f64 / (write as f64 * writes as f64)
    }

    #[test]
    fn merging_rewrites_an_object_a_few_times_not_once_per_sixteen_writes() {
        assert_eq!(merge_count(&[5; 16], 5), 16);
        assert_eq!(merge_count(&[1, 1, 100, 100], 1), 2);
        assert_eq!(merge_count(&[1, 2, 3, 100], 1), 3);
        // 10 KiB per write (an update's record): merging every small pack each time would
        // rewrite each byte about 14 times before its pack reaches 4 MiB.
        let all = amplification(|s, _| s.len(), 10 * 1024, 5_000);
        let tiered = amplification(merge_count, 10 * 1024, 5_000);
        eprintln!("bytes written per byte of objects: merge all {all:.2}, tiered {tiered:.2}");
        assert!(all > 10.0, "{all}");
        assert!(tiered < 4.0, "{tiered}");
    }

    #[test]
    fn decode_rejects_damage() {
        let t = Table::new(vec![([1; 32], 3), ([2; 32], 4)]);
        let b = t.encode();
        for cut in 0..b.len() {
            assert!(Table::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(Table::decode(&extra).is_err());
        // Out of order.
        let mut swapped = t.clone();
        swapped.slots.swap(0, 1);
        assert!(Table::decode(&swapped.encode()).is_err());
        // A gap between objects.
        let mut gap = t.clone();
        gap.slots[1].offset += 1;
        assert!(Table::decode(&gap.encode()).unwrap_err().contains("offset"));
        // No object.
        assert!(Table::decode(&Table::new(vec![]).encode()).is_err());
    }
}
