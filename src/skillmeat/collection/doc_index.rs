//! The document index: where each artifact is in `collection.toml` and each entry in
//! `collection.lock`, for texts known by their BLAKE3 (store-spec.md §8.1).
//!
//! It lets an update of one artifact in a collection of 10,000 edit a window of the two
//! documents instead of parsing and serializing them whole. Like the stat cache it is a hint
//! outside every transaction, never synced: missing, damaged, or written for other texts, it
//! is ignored, and the documents are parsed whole (which writes it again).

use std::path::Path;

use crate::fs::FileSystem;
use crate::fs::hint::{Cursor, read_hint, write_hint};
use crate::skillmeat::format::outline::{Outline, OutlineItem};

const MAGIC: &[u8; 8] = b"SWDOCIX1";
const FILE_NAME: &str = "doc-index";
const TMP_NAME: &str = "doc-index.tmp";
/// An index file larger than this is ignored (two documents of at most
/// `DOCUMENT_BYTES_MAX` cannot need more).
const INDEX_BYTES_MAX: u64 = 256 << 20;

/// The outlines of both documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DocIndex {
    pub manifest: Outline,
    pub lock: Outline,
}

/// The BLAKE3 of a document's text.
pub(super) fn text_hash(text: &str) -> [u8; 32] {
    *blake3::hash(text.as_bytes()).as_bytes()
}

/// The index kept in the engine's directory `meta`, if it is whole and was written for the
/// texts whose hashes are `hashes` (manifest, lock) and lengths `lens`; `None` otherwise
/// (never an error: see the module docs).
pub(super) fn load(
    fs: &dyn FileSystem,
    meta: &Path,
    hashes: &([u8; 32], [u8; 32]),
    lens: (usize, usize),
) -> Option<DocIndex> {
    let bytes = read_hint(fs, &meta.join(FILE_NAME), INDEX_BYTES_MAX)?;
    let index = decode(&bytes, hashes)?;
    (index.manifest.fits(lens.0) && index.lock.fits(lens.1)).then_some(index)
}

/// Writes `index` for the texts whose hashes are `hashes` into the engine's directory
/// `meta`: a temporary file renamed over the old one, nothing synced. Only the holder of the
/// collection's lock may call it. Failures are ignored (the temporary file removed): the
/// index is a hint.
pub(super) fn save(
    fs: &dyn FileSystem,
    meta: &Path,
    hashes: &([u8; 32], [u8; 32]),
    index: &DocIndex,
) {
    let bytes = encode(hashes, index);
    write_hint(fs, &meta.join(TMP_NAME), &meta.join(FILE_NAME), &bytes);
}

/// The byte layout of store-spec.md §8.1.
fn encode(hashes: &([u8; 32], [u8; 32]), index: &DocIndex) -> Vec<u8> {
    let items = index.manifest.items.len() + index.lock.items.len();
    let mut out = Vec::with_capacity(128 + items * 48);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&hashes.0);
    out.extend_from_slice(&hashes.1);
    for outline in [&index.manifest, &index.lock] {
        out.extend_from_slice(&(outline.head.start as u64).to_le_bytes());
        out.extend_from_slice(&(outline.head.end as u64).to_le_bytes());
        out.extend_from_slice(&(outline.items.len() as u32).to_le_bytes());
        for item in &outline.items {
            out.extend_from_slice(&(item.key.len() as u16).to_le_bytes());
            out.extend_from_slice(item.key.as_bytes());
            out.extend_from_slice(&item.ordinal.to_le_bytes());
            out.extend_from_slice(&(item.range.start as u64).to_le_bytes());
            out.extend_from_slice(&(item.range.end as u64).to_le_bytes());
        }
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn decode(bytes: &[u8], hashes: &([u8; 32], [u8; 32])) -> Option<DocIndex> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut r = Cursor(body);
    if r.take(8)? != MAGIC || r.take(32)? != hashes.0 || r.take(32)? != hashes.1 {
        return None;
    }
    let mut outline = || -> Option<Outline> {
        let head = r.u64()? as usize..r.u64()? as usize;
        let count = r.u32()? as usize;
        // Each item takes at least 22 bytes: a count larger than the rest is damage.
        if count > r.0.len() / 22 {
            return None;
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let key_len = r.u16()? as usize;
            let key = std::str::from_utf8(r.take(key_len)?).ok()?.to_owned();
            let ordinal = r.u32()?;
            let range = r.u64()? as usize..r.u64()? as usize;
            items.push(OutlineItem {
                key,
                ordinal,
                range,
            });
        }
        Some(Outline { head, items })
    };
    let manifest = outline()?;
    let lock = outline()?;
    r.0.is_empty().then_some(DocIndex { manifest, lock })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DocIndex {
        let item = |key: &str, ordinal, range| OutlineItem {
            key: key.into(),
            ordinal,
            range,
        };
        DocIndex {
            manifest: Outline {
                head: 0..10,
                items: vec![item("a::skill", 0, 10..20), item("b::agent", 1, 20..35)],
            },
            lock: Outline {
                head: 0..5,
                items: vec![item("a::skill", 0, 5..9)],
            },
        }
    }

    #[test]
    fn round_trip_and_any_damage_or_other_texts_are_ignored() {
        let hashes = (text_hash("m"), text_hash("l"));
        let bytes = encode(&hashes, &sample());
        assert_eq!(decode(&bytes, &hashes), Some(sample()));
        assert_eq!(decode(&bytes, &(text_hash("m2"), hashes.1)), None);
        assert_eq!(decode(&bytes, &(hashes.0, text_hash("l2"))), None);
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1;
            assert_eq!(decode(&damaged, &hashes), None, "byte {i}");
        }
        assert_eq!(decode(&bytes[..bytes.len() - 1], &hashes), None);
    }
}
