//! Large file objects in chunks (store-spec.md §2.2): where a file's bytes are cut, and the
//! list that names the chunks.
//!
//! A file object of more than [`CHUNKED_ABOVE`] bytes and at most [`CHUNKED_MAX`] is stored
//! as chunks — ordinary objects, packed — and a chunk list at `chunked/<hash>`. The cuts are
//! content-defined (a gear hash over the bytes, as in FastCDC), so a change in the middle of
//! a 2 MB `collection.toml` changes the one or two chunks around it: the store keeps the
//! old version of a large document for the cost of those chunks and a list, not of the
//! whole file again.

use std::io::{self, Read};
use std::sync::OnceLock;

use crate::journal::format::Hash;

/// Objects larger than this are chunked (the largest packed object, store-spec.md §2.1).
pub const CHUNKED_ABOVE: u64 = super::pack::PACK_OBJECT_BYTES_MAX;
/// Objects larger than this stay one loose file (chunking a GiB costs more time than its
/// sharing saves; the documents, at most 16 MiB, are well inside).
pub const CHUNKED_MAX: u64 = 64 << 20;
/// No cut before this many bytes of a chunk …
pub const CHUNK_MIN: usize = 4 << 10;
/// … a cut after this many whatever the bytes …
pub const CHUNK_MAX: usize = 64 << 10;
/// … and in between, a cut after a byte where the top 14 bits of the gear hash are zero
/// (one in 16,384 positions: chunks of about 20 KiB).
const CUT_BITS: u32 = 14;

const MAGIC: &[u8; 8] = b"SWCHUNK1";

/// The gear table: entry *i* is the first 8 bytes, little-endian, of BLAKE3 of
/// `"skillwal chunk gear"` followed by the byte *i*.
fn gear() -> &'static [u64; 256] {
    static GEAR: OnceLock<[u64; 256]> = OnceLock::new();
    GEAR.get_or_init(|| {
        let mut table = [0u64; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut h = blake3::Hasher::new();
            h.update(b"skillwal chunk gear");
            h.update(&[i as u8]);
            let bytes: [u8; 8] = h.finalize().as_bytes()[..8].try_into().expect("8 bytes");
            *entry = u64::from_le_bytes(bytes);
        }
        table
    })
}

/// One chunk of a file: its hash, and where it is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub hash: Hash,
    pub offset: u64,
    pub size: u64,
}

/// A file's chunks and the BLAKE3 and size of the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunked {
    pub chunks: Vec<Chunk>,
    pub hash: Hash,
    pub size: u64,
}

/// Cuts the bytes `r` yields into chunks (read once, streamed: at most one chunk is held).
pub fn cut(mut r: impl Read) -> io::Result<Chunked> {
    let gear = gear();
    let mut whole = blake3::Hasher::new();
    let mut chunks = Vec::new();
    let mut chunk = blake3::Hasher::new();
    let (mut len, mut offset, mut g) = (0usize, 0u64, 0u64);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        whole.update(&buf[..n]);
        let mut from = 0;
        for (i, &b) in buf[..n].iter().enumerate() {
            g = (g << 1).wrapping_add(gear[b as usize]);
            len += 1;
            if len >= CHUNK_MAX || (len >= CHUNK_MIN && g >> (64 - CUT_BITS) == 0) {
                chunk.update(&buf[from..=i]);
                chunks.push(Chunk {
                    hash: *chunk.finalize().as_bytes(),
                    offset,
                    size: len as u64,
                });
                offset += len as u64;
                chunk = blake3::Hasher::new();
                (len, g, from) = (0, 0, i + 1);
            }
        }
        chunk.update(&buf[from..n]);
    }
    if len > 0 {
        chunks.push(Chunk {
            hash: *chunk.finalize().as_bytes(),
            offset,
            size: len as u64,
        });
        offset += len as u64;
    }
    Ok(Chunked {
        chunks,
        hash: *whole.finalize().as_bytes(),
        size: offset,
    })
}

/// The chunk list file of `c` (store-spec.md §2.2): magic, total size, count, then each
/// chunk's hash and size.
pub fn encode_list(c: &Chunked) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + c.chunks.len() * 36);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&c.size.to_le_bytes());
    out.extend_from_slice(&(c.chunks.len() as u32).to_le_bytes());
    for ch in &c.chunks {
        out.extend_from_slice(&ch.hash);
        out.extend_from_slice(&(ch.size as u32).to_le_bytes());
    }
    out
}

/// The chunks a list names, with their offsets; `Err(reason)` unless the list is well
/// formed: the magic, chunk sizes from 1 to [`CHUNK_MAX`] summing to the total, the total
/// above [`CHUNKED_ABOVE`] and at most [`CHUNKED_MAX`], nothing after the last chunk. (That
/// the chunks' bytes hash to the object's hash is checked as they are read.)
pub fn decode_list(bytes: &[u8]) -> Result<(u64, Vec<Chunk>), String> {
    let bad = |why: &str| Err(format!("a chunk list with {why}"));
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return bad("a bad magic");
    }
    let total = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes")) as usize;
    if bytes.len() - 20 != count * 36 {
        return bad("a length that is not its count's");
    }
    if total <= CHUNKED_ABOVE || total > CHUNKED_MAX {
        return bad(&format!("a total of {total} bytes"));
    }
    let mut chunks = Vec::with_capacity(count);
    let mut offset = 0u64;
    for entry in bytes[20..].chunks_exact(36) {
        let size = u32::from_le_bytes(entry[32..].try_into().expect("4 bytes")) as u64;
        if size == 0 || size > CHUNK_MAX as u64 {
            return bad(&format!("a chunk of {size} bytes"));
        }
        chunks.push(Chunk {
            hash: entry[..32].try_into().expect("32 bytes"),
            offset,
            size,
        });
        offset += size;
    }
    if offset != total {
        return bad("chunks that do not add up to its total");
    }
    Ok((total, chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text like a large manifest: many similar lines, each different.
    fn text(n: usize) -> Vec<u8> {
        let mut s = String::new();
        for i in 0..n {
            s.push_str(&format!(
                "\n[[artifacts]]\nname = \"skill-{i:05}\"\ntype = \"skill\"\npath = \"skills/skill-{i:05}\"\n"
            ));
        }
        s.into_bytes()
    }

    #[test]
    fn chunks_cover_the_bytes_within_bounds_and_hash_them() {
        let bytes = text(40_000);
        let c = cut(&bytes[..]).unwrap();
        assert_eq!(c.size, bytes.len() as u64);
        assert_eq!(c.hash, *blake3::hash(&bytes).as_bytes());
        let mut at = 0u64;
        for (i, ch) in c.chunks.iter().enumerate() {
            assert_eq!(ch.offset, at);
            let part = &bytes[at as usize..(at + ch.size) as usize];
            assert_eq!(ch.hash, *blake3::hash(part).as_bytes());
            assert!(ch.size as usize <= CHUNK_MAX);
            assert!(ch.size as usize >= CHUNK_MIN || i + 1 == c.chunks.len());
            at += ch.size;
        }
        // About 20 KiB on average: content-defined, not all cut at the maximum.
        let mean = c.size / c.chunks.len() as u64;
        assert!((8 << 10..40 << 10).contains(&mean), "mean chunk {mean}");
        let list = encode_list(&c);
        assert_eq!(decode_list(&list), Ok((c.size, c.chunks.clone())));
    }

    #[test]
    fn a_change_in_the_middle_changes_the_chunks_around_it_only() {
        let before = text(40_000);
        let mut after = before.clone();
        let mid = after.len() / 2;
        after.splice(mid..mid + 10, b"a longer replacement text".iter().copied());
        let (a, b) = (cut(&before[..]).unwrap(), cut(&after[..]).unwrap());
        let old: std::collections::HashSet<Hash> = a.chunks.iter().map(|c| c.hash).collect();
        let new: Vec<&Chunk> = b.chunks.iter().filter(|c| !old.contains(&c.hash)).collect();
        assert!(
            (1..=3).contains(&new.len()),
            "{} new chunks of {}",
            new.len(),
            b.chunks.len()
        );
    }

    #[test]
    fn damaged_lists_are_refused() {
        let c = cut(&text(40_000)[..]).unwrap();
        let list = encode_list(&c);
        assert!(decode_list(&list[..list.len() - 1]).is_err());
        let mut wrong_total = list.clone();
        wrong_total[8] ^= 1;
        assert!(decode_list(&wrong_total).is_err());
        let mut zero = list.clone();
        zero[20 + 32..20 + 36].copy_from_slice(&0u32.to_le_bytes());
        assert!(decode_list(&zero).is_err());
        assert!(decode_list(b"SWCHUNK0").is_err());
    }
}
