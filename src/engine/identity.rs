//! A root's identity (wal-spec.md §2): 16 random bytes, in `root-id` in the engine's
//! directory, made on demand — by the first thing that needs to tell several roots apart —
//! and never changed. Roots are told apart, and locked in one order, by it: not by their
//! paths, which change when a root is moved or named another way.
//!
//! A root that never takes part in anything spanning several roots never gets one, so a
//! single-root transaction writes and syncs exactly what it did before identities existed.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::handle::{Engine, OpenOptions};
use super::layout::Layout;
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileSystem, OpenMode};

/// The file holding a root's identity, in the engine's directory.
pub const ROOT_ID_FILE: &str = "root-id";
/// Where it is written before it is renamed into place.
pub const ROOT_ID_TMP_FILE: &str = "root-id.tmp";
/// Bytes of the file: 32 lowercase hex digits and a newline.
const ROOT_ID_FILE_BYTES: usize = 33;

/// A root's identity: 128 random bits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RootId([u8; 16]);

impl RootId {
    /// Parses 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<RootId> {
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(RootId(bytes))
    }

    /// A new identity: from the OS's random source, or from `seed` (deterministic tests).
    fn new(seed: Option<u64>) -> Result<RootId> {
        random_16(seed.map(|s| s ^ 0x1D1D_1D1D)).map(RootId)
    }

    /// The identity as the journal stores it.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// The identity the journal stored.
    pub fn from_bytes(bytes: [u8; 16]) -> RootId {
        RootId(bytes)
    }
}

/// 16 random bytes from the OS, or drawn from `seed` (deterministic tests).
pub(super) fn random_16(seed: Option<u64>) -> Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    match seed {
        Some(s) => {
            bytes[..8].copy_from_slice(&super::salt::mix64(s).to_le_bytes());
            bytes[8..].copy_from_slice(&super::salt::mix64(!s).to_le_bytes());
        }
        None => rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty())
            .map(|_| ())
            .map_err(|e| Error::io("getrandom", "/dev/urandom", crate::fs::errno(e)))?,
    }
    Ok(bytes)
}

impl fmt::Display for RootId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for RootId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RootId({self})")
    }
}

/// The identity of the root laid out as `layout`, or `None` when it has none yet. Needs no
/// lock: the file appears whole by a rename and never changes. Fails when it cannot be read
/// or does not hold an identity (a damaged identity is reported, never replaced: whatever
/// names the root by it would lose it).
pub fn read(fs: &dyn FileSystem, layout: &Layout) -> Result<Option<RootId>> {
    let path = layout.meta.join(ROOT_ID_FILE);
    let file = match fs.open(&path, OpenMode::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", &path, e)),
    };
    let mut bytes = [0u8; ROOT_ID_FILE_BYTES + 1];
    let mut len = 0;
    while len < bytes.len() {
        match file.read_at(&mut bytes[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", &path, e)),
        }
    }
    let parsed = (len == ROOT_ID_FILE_BYTES && bytes[32] == b'\n')
        .then(|| std::str::from_utf8(&bytes[..32]).ok())
        .flatten()
        .and_then(RootId::parse);
    match parsed {
        Some(id) => Ok(Some(id)),
        None => Err(Error::Rejected {
            op: "read root identity",
            path: path.display().to_string(),
            reason: "it does not hold 32 lowercase hex digits and a newline".into(),
        }),
    }
}

/// Gives the root laid out as `layout` an identity, the caller holding its lock:
/// `root-id.tmp` written and `fsync`ed, renamed to `root-id` without replacing anything, the
/// engine's directory fsynced. Returns the identity in place (an existing one is kept).
pub(super) fn create(fs: &dyn FileSystem, layout: &Layout, seed: Option<u64>) -> Result<RootId> {
    if let Some(id) = read(fs, layout)? {
        return Ok(id);
    }
    let id = RootId::new(seed)?;
    let tmp = layout.meta.join(ROOT_ID_TMP_FILE);
    let path = layout.meta.join(ROOT_ID_FILE);
    match fs.remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", &tmp, e)),
    }
    let file = fs
        .open(&tmp, OpenMode::CreateNew { mode: 0o644 })
        .ctx("create", &tmp)?;
    file.write_all_at(format!("{id}\n").as_bytes(), 0)
        .ctx("write", &tmp)?;
    file.sync_all().ctx("fsync", &tmp)?;
    drop(file);
    match fs.rename_noreplace(&tmp, &path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs.remove_file(&tmp);
            return read(fs, layout)?.ok_or_else(|| Error::io("read", &path, e));
        }
        Err(e) => return Err(Error::io("rename", &tmp, e)),
    }
    fs.sync_dir(&layout.meta)
        .ctx("fsync directory", &layout.meta)?;
    Ok(id)
}

/// Opens several roots for work that spans them: each root without an identity gets one
/// first (under its own lock alone, released at once), then the roots are locked in
/// ascending identity order, so that two processes opening overlapping sets, in any order,
/// never wait for each other in a cycle (nor for a lock this call holds: a root whose
/// recovery spans several roots is recovered with every lock let go first). With
/// `opts.no_wait`, the first root locked by another process fails the whole call at once
/// ([`Error::Locked`], naming the holder) and the locks already taken are released. Every
/// root is recovered as [`Engine::open`] does.
///
/// Returns the engines in the order of `roots`. Fails with [`Error::SameRoot`] when two of
/// them have one identity (the same root twice, or a copy of one's engine directory).
pub fn open_several(
    roots: &[(Arc<dyn FileSystem>, Layout)],
    opts: &OpenOptions,
) -> Result<Vec<Engine>> {
    let mut ids = Vec::with_capacity(roots.len());
    for (fs, layout) in roots {
        let id = match read(fs.as_ref(), layout)? {
            Some(id) => id,
            None => Engine::open_layout(fs.clone(), layout, opts)?.root_id()?,
        };
        ids.push(id);
    }
    let mut order: Vec<usize> = (0..roots.len()).collect();
    order.sort_by_key(|&i| ids[i]);
    for pair in order.windows(2) {
        if ids[pair[0]] == ids[pair[1]] {
            return Err(Error::SameRoot {
                id: ids[pair[0]].to_string(),
                first: roots[pair[0]].1.root.clone(),
                second: roots[pair[1]].1.root.clone(),
            });
        }
    }
    // A root whose recovery spans roots needs their locks, some of which this loop may
    // hold already (a root locked first may have retired its part while one locked later
    // still holds its own): then every lock is let go, that root recovered alone, and the
    // roots locked again. Each pass settles one transaction for good, so a few suffice
    // unless other processes keep leaving new ones.
    let mut passes = 0;
    loop {
        let mut opened: Vec<Option<Engine>> = (0..roots.len()).map(|_| None).collect();
        let mut blocked = None;
        for &i in &order {
            let (fs, layout) = &roots[i];
            match Engine::open_unless_across(fs.clone(), layout, opts, true)? {
                Some(e) => opened[i] = Some(e),
                None => {
                    blocked = Some(i);
                    break;
                }
            }
        }
        let Some(i) = blocked else {
            return Ok(opened
                .into_iter()
                .map(|e| e.expect("every root opened"))
                .collect());
        };
        drop(opened);
        passes += 1;
        if passes > OPEN_PASSES_MAX {
            return Err(Error::Rejected {
                op: "open",
                path: roots[i].1.root.display().to_string(),
                reason: format!(
                    "after {OPEN_PASSES_MAX} recoveries, a transaction across roots was still left to recover here"
                ),
            });
        }
        let (fs, layout) = &roots[i];
        drop(Engine::open_layout(fs.clone(), layout, opts)?);
    }
}

/// How many times [`open_several`] lets its locks go to recover a transaction across roots
/// before it gives up.
const OPEN_PASSES_MAX: usize = 2 * crate::limits::ROOTS_PER_TXN_MAX;

/// Where a root's identity file is (for messages and tests).
pub fn path(layout: &Layout) -> PathBuf {
    layout.meta.join(ROOT_ID_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_print_and_parse_back() {
        let id = RootId::new(Some(7)).unwrap();
        assert_eq!(RootId::parse(&id.to_string()), Some(id));
        assert_ne!(RootId::new(Some(8)).unwrap(), id);
        for bad in [
            "",
            "0123",
            &"g".repeat(32),
            &"A".repeat(32),
            &"0".repeat(33),
        ] {
            assert_eq!(RootId::parse(bad), None, "{bad}");
        }
    }
}
