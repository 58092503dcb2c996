//! The store read from its files as store-spec.md §1–§2.1 describes them, not through
//! skillwal's code: loose objects `objects/<2 hex>/<62 hex>` and packs `packs/<64 hex>`
//! (magic `SWPACK1\0`, `u32` count, then per object its hash, `u64` offset and `u64` size),
//! and large objects in chunks, `chunked/<64 hex>` (§2.2: magic `SWCHUNK1`, `u64` size,
//! `u32` count, then per chunk its hash and `u32` size).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Where one object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    pub offset: u64,
    pub size: u64,
}

/// Every object of a store, by hex hash (a loose copy wins over a packed one).
#[derive(Debug, Default)]
pub struct StoreFiles {
    pub objects: BTreeMap<String, Place>,
    /// Pack files.
    pub packs: Vec<PathBuf>,
    /// Loose object files.
    pub loose: Vec<PathBuf>,
    /// Objects stored in chunks: their chunks' hashes, in order.
    pub chunked: BTreeMap<String, Vec<String>>,
    /// The bytes of the chunk lists.
    pub chunk_list_bytes: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl StoreFiles {
    /// Reads the store at `store` (the `store/` directory); panics on a pack that does not
    /// follow the spec.
    pub fn read(store: &Path) -> StoreFiles {
        let mut s = StoreFiles::default();
        for e in fs::read_dir(store.join("packs")).into_iter().flatten() {
            let p = e.expect("entry").path();
            let b = fs::read(&p).expect("read pack");
            assert_eq!(&b[..8], b"SWPACK1\0", "{}", p.display());
            let n = u32::from_le_bytes(b[8..12].try_into().unwrap()) as usize;
            let table = &b[..12 + 48 * n];
            assert_eq!(
                blake3::hash(table).to_hex().as_str(),
                p.file_name().unwrap().to_str().unwrap(),
                "a pack is named by its table's hash"
            );
            for i in 0..n {
                let e = &b[12 + 48 * i..12 + 48 * (i + 1)];
                let offset = u64::from_le_bytes(e[32..40].try_into().unwrap());
                let size = u64::from_le_bytes(e[40..48].try_into().unwrap());
                s.objects.insert(
                    hex(&e[..32]),
                    Place {
                        file: p.clone(),
                        offset,
                        size,
                    },
                );
            }
            s.packs.push(p);
        }
        for fan in fs::read_dir(store.join("objects")).into_iter().flatten() {
            let fan = fan.expect("entry");
            for o in fs::read_dir(fan.path()).expect("fan-out dir") {
                let o = o.expect("entry");
                let name = format!(
                    "{}{}",
                    fan.file_name().to_string_lossy(),
                    o.file_name().to_string_lossy()
                );
                let size = o.metadata().expect("stat").len();
                s.objects.insert(
                    name,
                    Place {
                        file: o.path(),
                        offset: 0,
                        size,
                    },
                );
                s.loose.push(o.path());
            }
        }
        for e in fs::read_dir(store.join("chunked")).into_iter().flatten() {
            let e = e.expect("entry");
            let b = fs::read(e.path()).expect("read chunk list");
            assert_eq!(&b[..8], b"SWCHUNK1", "{}", e.path().display());
            let n = u32::from_le_bytes(b[16..20].try_into().unwrap()) as usize;
            assert_eq!(b.len(), 20 + 36 * n, "{}", e.path().display());
            let chunks = (0..n)
                .map(|i| hex(&b[20 + 36 * i..20 + 36 * i + 32]))
                .collect();
            s.chunk_list_bytes += b.len() as u64;
            s.chunked
                .insert(e.file_name().to_string_lossy().into_owned(), chunks);
        }
        s.packs.sort();
        s.loose.sort();
        s
    }

    /// The bytes of the object `hex`, `None` when the store has none.
    pub fn get(&self, hex: &str) -> Option<Vec<u8>> {
        if let (None, Some(chunks)) = (self.objects.get(hex), self.chunked.get(hex)) {
            let mut bytes = Vec::new();
            for c in chunks {
                bytes.extend(self.get(c)?);
            }
            return Some(bytes);
        }
        let p = self.objects.get(hex)?;
        let b = fs::read(&p.file).expect("read");
        Some(b[p.offset as usize..(p.offset + p.size) as usize].to_vec())
    }

    pub fn has(&self, hex: &str) -> bool {
        self.objects.contains_key(hex) || self.chunked.contains_key(hex)
    }

    /// The objects' hashes, sorted.
    pub fn hashes(&self) -> Vec<String> {
        self.objects.keys().cloned().collect()
    }

    /// The bytes of every object, and of the chunk lists of the chunked ones.
    pub fn object_bytes(&self) -> u64 {
        self.objects.values().map(|p| p.size).sum::<u64>() + self.chunk_list_bytes
    }

    /// Checks that the object `h` is stored and matches its hash and, for a directory's
    /// object (store-spec.md §3, §3.1: a tree, or a split index and its chunks), that every
    /// object it names is, recursively. `Err` names the first object that is not.
    pub fn check(&self, h: &str, is_tree: bool) -> Result<(), String> {
        let bytes = self
            .get(h)
            .ok_or_else(|| format!("object {h} is missing"))?;
        if blake3::hash(&bytes).to_hex().as_str() != h {
            return Err(format!("object {h} is damaged"));
        }
        if !is_tree {
            return Ok(());
        }
        let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        if &bytes[..8] == b"SWSPLIT1" {
            if bytes.len() != 12 + 32 * n {
                return Err(format!("{h} is not a split index"));
            }
            for c in bytes[12..].chunks(32) {
                self.check(&hex(c), true)?;
            }
            return Ok(());
        }
        if &bytes[..8] != b"SWTREE1\0" {
            return Err(format!("{h} is not a tree"));
        }
        let mut i = 12;
        for _ in 0..n {
            let kind = bytes[i];
            let k = u16::from_le_bytes(bytes[i + 5..i + 7].try_into().unwrap()) as usize;
            // A directory's entry has no size.
            i += 1 + 4 + 2 + k + if kind == b'd' { 0 } else { 8 };
            self.check(&hex(&bytes[i..i + 32]), kind == b'd')?;
            i += 32;
        }
        if i != bytes.len() {
            return Err(format!("{h} has trailing bytes"));
        }
        Ok(())
    }

    /// Flips one byte in the middle of the object `hex` where it is stored.
    pub fn flip_byte(&self, hex: &str) -> PathBuf {
        let p = self.objects.get(hex).expect("the object is stored");
        let mut perms = fs::metadata(&p.file).expect("stat").permissions();
        let mut b = fs::read(&p.file).expect("read");
        b[(p.offset + p.size / 2) as usize] ^= 0x55;
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&p.file, perms.clone()).expect("chmod");
        fs::write(&p.file, b).expect("write");
        perms.set_readonly(true);
        fs::set_permissions(&p.file, perms).expect("chmod");
        p.file.clone()
    }
}
