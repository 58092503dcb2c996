//! The stat cache (store-spec.md §8): the hash of every file a capture read, keyed by what
//! `lstat` said about the file, so the next capture re-hashes only the files that changed —
//! git's index, with its rule for "racily clean" files.
//!
//! The cache is a hint. It lives in `.skillwal/stat-cache`, outside the store and outside
//! every transaction; it is written with a rename and never synced. Whatever state a crash
//! leaves it in — missing, old, torn, from before a power loss — the worst outcome is that
//! files are hashed again:
//!
//! - a file that does not end in the BLAKE3 of everything before it is ignored whole;
//! - a cache written during another boot is ignored whole ([`FileSystem::boot_id`]): after a
//!   power loss a file's time stamps may have survived while its new data did not;
//! - an entry is used only when size, inode, mtime and ctime all match; ctime cannot be set
//!   back by a user, so a file changed in any way misses;
//! - an entry is recorded only when the file's mtime and ctime are strictly older than a
//!   moment before the capture started, read from the same file system's clock: the mtime
//!   of `.skillwal/lock`, which the exclusive holder writes its PID into when it takes the
//!   lock. A file changed after that moment therefore gets time stamps no entry can carry,
//!   even on a file system whose time stamps are coarse (one second, two on FAT); a file
//!   changed in the same tick is not cached, and simply hashed again next time. (Any older
//!   moment would be as safe, only less useful.)
//!
//! An entry also says whether the file's object is in the store. A capture then skips the
//! `lstat` of that object. Only `gc` deletes objects, and it deletes the cache first
//! ([`forget`]).
//!
//! The cache is written after the transaction the capture was for has committed (so a
//! crash or an error while writing it comes after everything that matters), or not at all.

use crate::engine::layout::LOCK_FILE;
use crate::fs::hint::{Cursor, read_hint, write_hint};
use crate::fs::{FileSystem, FileTime, Metadata};
use crate::journal::format::Hash;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// File name of the cache in the root's `.skillwal/`.
pub const CACHE_NAME: &str = "stat-cache";
/// Its temporary file, while a new cache is written.
pub const CACHE_TMP_NAME: &str = "stat-cache.tmp";
/// Magic at offset 0.
pub const MAGIC: &[u8; 8] = b"SWSTAT1\0";
/// A larger cache is ignored (and replaced): 2 million files of 64-byte paths fit.
pub const CACHE_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Most bytes of a boot id.
const BOOT_ID_BYTES_MAX: usize = 64;

/// What an entry remembers about a file besides its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Stamp {
    size: u64,
    ino: u64,
    mtime: FileTime,
    ctime: FileTime,
}

impl Stamp {
    fn of(m: &Metadata) -> Stamp {
        Stamp {
            size: m.len,
            ino: m.ino,
            mtime: m.mtime,
            ctime: m.ctime,
        }
    }
}

/// The entries loaded from the cache file; empty when there is none that can be trusted.
#[derive(Debug, Default)]
pub struct StatCache {
    entries: HashMap<String, Known>,
}

/// What the cache knows of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    stamp: Stamp,
    pub hash: Hash,
    /// The file's object was in the store when the entry was recorded.
    pub in_store: bool,
}

fn cache_path(meta: &Path) -> PathBuf {
    meta.join(CACHE_NAME)
}

impl StatCache {
    /// Loads the cache kept in the engine's directory `meta`. Never fails: a cache that is
    /// missing, unreadable, too large, damaged or from another boot loads as empty.
    pub fn load(fs: &dyn FileSystem, meta: &Path) -> StatCache {
        let Some(boot) = fs.boot_id() else {
            return StatCache::default();
        };
        read_hint(fs, &cache_path(meta), CACHE_BYTES_MAX)
            .and_then(|bytes| decode(&bytes, &boot))
            .map(|entries| StatCache { entries })
            .unwrap_or_default()
    }

    /// What the cache knows of the file at `rel` (relative to the root), if it has an
    /// entry for a file exactly like `meta` (size, inode, mtime, ctime).
    pub fn lookup(&self, rel: &str, meta: &Metadata) -> Option<Known> {
        self.entries
            .get(rel)
            .filter(|k| k.stamp == Stamp::of(meta))
            .copied()
    }
}

/// The entries of a new cache, collected during one capture; written by [`Recording::save`]
/// once the transaction the capture was for has committed.
#[derive(Debug, Clone)]
pub struct Recording {
    boot: String,
    /// The file system's time before the capture started (see the module documentation).
    start: FileTime,
    entries: Vec<(String, Known)>,
}

impl Recording {
    /// Starts recording for a capture of a root by the holder of its exclusive lock (whose
    /// engine directory is `meta`), before it lists anything. `None` (no cache is recorded)
    /// without a boot id or when the lock file cannot be read.
    pub fn begin(fs: &dyn FileSystem, meta: &Path) -> Option<Recording> {
        let boot = fs.boot_id()?;
        let start = fs.metadata(&meta.join(LOCK_FILE)).ok()?.mtime;
        Some(Recording {
            boot,
            start,
            entries: Vec::new(),
        })
    }

    /// Notes that the file at `rel`, as `meta` describes it, has `hash`, and whether its
    /// object was in the store before this capture — kept only when both the file's time
    /// stamps are older than the start.
    pub fn note(&mut self, rel: &str, meta: &Metadata, hash: &Hash, in_store: bool) {
        if cacheable(meta, self.start) {
            let known = Known {
                stamp: Stamp::of(meta),
                hash: *hash,
                in_store,
            };
            self.entries.push((rel.to_string(), known));
        }
    }

    /// Writes the cache into the engine's directory `meta`: a temporary file, renamed over the old cache; nothing is
    /// synced (a lost cache costs only time). `committed`: the capture's objects were all
    /// committed to the store with its transaction, so every entry says `in_store`.
    /// Failures are ignored after removing the temporary file, for the same reason.
    /// Returns the entries written.
    pub fn save(&self, fs: &dyn FileSystem, meta: &Path, committed: bool) -> Option<usize> {
        let tmp = meta.join(CACHE_TMP_NAME);
        let bytes = encode(&self.boot, &self.entries, committed);
        if bytes.len() as u64 > CACHE_BYTES_MAX {
            return None;
        }
        write_hint(fs, &tmp, &cache_path(meta), &bytes).then_some(self.entries.len())
    }
}

/// Deletes the cache of `root` (before `gc` deletes objects an entry may say are in the
/// store). Missing is fine; any other failure is returned, and `gc` must not go on.
pub fn forget(fs: &dyn FileSystem, meta: &Path) -> std::io::Result<()> {
    match fs.remove_file(&cache_path(meta)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// git's racy-clean rule: a file may be cached only if it has not changed since (and also
/// not in the same tick as) the capture's start.
pub fn cacheable(meta: &Metadata, start: FileTime) -> bool {
    meta.mtime < start && meta.ctime < start
}

/// The byte layout of store-spec.md §8.
/// `all_in_store` sets every entry's `in_store`.
fn encode(boot: &str, entries: &[(String, Known)], all_in_store: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + entries.len() * 128);
    out.extend_from_slice(MAGIC);
    let boot = &boot.as_bytes()[..boot.len().min(BOOT_ID_BYTES_MAX)];
    out.extend_from_slice(&(boot.len() as u16).to_le_bytes());
    out.extend_from_slice(boot);
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (rel, k) in entries {
        let s = &k.stamp;
        out.extend_from_slice(&(rel.len() as u16).to_le_bytes());
        out.extend_from_slice(rel.as_bytes());
        out.extend_from_slice(&s.size.to_le_bytes());
        out.extend_from_slice(&s.ino.to_le_bytes());
        for t in [s.mtime, s.ctime] {
            out.extend_from_slice(&t.sec.to_le_bytes());
            out.extend_from_slice(&t.nsec.to_le_bytes());
        }
        out.extend_from_slice(&k.hash);
        out.push(u8::from(k.in_store || all_in_store));
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// Decodes a cache written during `boot`; `None` for anything else.
fn decode(bytes: &[u8], boot: &str) -> Option<HashMap<String, Known>> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut r = Cursor(body);
    if r.take(8)? != MAGIC {
        return None;
    }
    let boot_len = r.u16()? as usize;
    let expected = &boot.as_bytes()[..boot.len().min(BOOT_ID_BYTES_MAX)];
    if r.take(boot_len)? != expected {
        return None;
    }
    let count = r.u64()?;
    // Every entry takes at least 75 bytes: a count beyond that is damage.
    if count > (body.len() / 75) as u64 {
        return None;
    }
    let mut entries = HashMap::with_capacity(count as usize);
    for _ in 0..count {
        let len = r.u16()? as usize;
        let rel = std::str::from_utf8(r.take(len)?).ok()?.to_string();
        let size = r.u64()?;
        let ino = r.u64()?;
        let mut times = [FileTime::default(); 2];
        for t in &mut times {
            t.sec = r.u64()? as i64;
            t.nsec = r.u32()?;
        }
        let hash: Hash = r.take(32)?.try_into().ok()?;
        let in_store = match r.take(1)?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let stamp = Stamp {
            size,
            ino,
            mtime: times[0],
            ctime: times[1],
        };
        entries.insert(
            rel,
            Known {
                stamp,
                hash,
                in_store,
            },
        );
    }
    r.0.is_empty().then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::FileKind;

    fn meta(size: u64, ino: u64, m: i64, c: i64) -> Metadata {
        Metadata {
            kind: FileKind::File,
            len: size,
            ino,
            dev: 1,
            mode: 0o644,
            mtime: FileTime { sec: m, nsec: 5 },
            ctime: FileTime { sec: c, nsec: 7 },
        }
    }

    fn known(m: &Metadata, fill: u8, in_store: bool) -> Known {
        Known {
            stamp: Stamp::of(m),
            hash: [fill; 32],
            in_store,
        }
    }

    #[test]
    fn round_trip_and_exact_match() {
        let e = meta(10, 3, 100, 101);
        let bytes = encode("boot-a", &[("a/b".into(), known(&e, 9, true))], false);
        let entries = decode(&bytes, "boot-a").expect("decodes");
        let cache = StatCache { entries };
        assert_eq!(cache.lookup("a/b", &e), Some(known(&e, 9, true)));
        for other in [
            meta(11, 3, 100, 101),
            meta(10, 4, 100, 101),
            meta(10, 3, 99, 101),
            meta(10, 3, 100, 102),
        ] {
            assert_eq!(cache.lookup("a/b", &other), None, "{other:?}");
        }
        assert_eq!(cache.lookup("a/c", &e), None);
    }

    #[test]
    fn another_boot_or_any_damage_is_ignored() {
        let e = meta(10, 3, 100, 101);
        let bytes = encode("boot-a", &[("x".into(), known(&e, 1, false))], false);
        assert!(decode(&bytes, "boot-b").is_none());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(decode(&b, "boot-a").is_none(), "flip at {i}");
        }
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], "boot-a").is_none(), "cut at {n}");
        }
    }

    #[test]
    fn racy_files_are_not_cacheable() {
        let start = FileTime { sec: 100, nsec: 5 };
        assert!(cacheable(&meta(1, 1, 99, 99), start));
        // The same tick as the start (meta's stamps have 5 and 7 ns): not cacheable.
        assert!(!cacheable(
            &meta(1, 1, 100, 99),
            FileTime { sec: 100, nsec: 5 }
        ));
        assert!(!cacheable(
            &meta(1, 1, 99, 100),
            FileTime { sec: 100, nsec: 7 }
        ));
        // Changed in the tick the capture started, or later: hashed again next time.
        assert!(!cacheable(&meta(1, 1, 100, 99), start));
        assert!(!cacheable(&meta(1, 1, 99, 100), start));
        assert!(!cacheable(&meta(1, 1, 99, 120), start));
    }
}
