//! The decisions a coordinator keeps outside its journal (wal-spec.md §14.5): when a
//! participant cannot be reached as the coordinator retires its own part, the decision is
//! written to `decisions/<global id>` first, so the coordinator's journal can move on while
//! the unreachable root can still learn the outcome. Only "committed" is ever kept: an
//! absent decision means the transaction did not commit (presumed abort).

use crate::engine::layout::Layout;
use crate::error::{Error, IoContext, Result};
use crate::fs::FileSystem;
use crate::journal::format::{Participation, hex};
use serde::Serialize;
use std::io;
use std::path::{Path, PathBuf};

/// The directory of kept decisions, in the engine's directory.
pub const DECISIONS_DIR: &str = "decisions";

/// Where the decision of transaction `global_id` is kept.
pub fn path(layout: &Layout, global_id: &[u8; 16]) -> PathBuf {
    layout.meta.join(DECISIONS_DIR).join(hex(global_id))
}

/// Whether the coordinator laid out as `layout` keeps a decision for `global_id`.
pub fn exists(fs: &dyn FileSystem, layout: &Layout, global_id: &[u8; 16]) -> Result<bool> {
    let p = path(layout, global_id);
    Ok(fs.exists(&p).ctx("stat", &p)?)
}

/// Keeps the decision that `p`'s transaction committed, durably
/// ([`crate::fs::write_atomically`]: the directory made if missing, a temporary file written
/// and `fsync`ed, renamed into place, the directory synced): a text naming the transaction
/// and every root. Writing it again writes the same.
pub fn keep(fs: &dyn FileSystem, layout: &Layout, p: &Participation) -> Result<()> {
    let mut text = format!(
        "skillwal decision: committed\ntransaction {}\n",
        hex(&p.global_id)
    );
    for (i, r) in p.roots.iter().enumerate() {
        let role = if i == p.coordinator as usize {
            "coordinator"
        } else {
            "participant"
        };
        text.push_str(&format!(
            "{role} {} {}\n",
            hex(&r.id),
            String::from_utf8_lossy(&r.root)
        ));
    }
    Ok(crate::fs::write_atomically(
        fs,
        &path(layout, &p.global_id),
        text.as_bytes(),
    )?)
}

/// Drops a kept decision (once every participant has retired its part, or by hand):
/// unlinked, the directory synced. Returns whether one was kept.
pub fn forget(fs: &dyn FileSystem, layout: &Layout, global_id: &[u8; 16]) -> Result<bool> {
    let p = path(layout, global_id);
    match fs.remove_file(&p) {
        Ok(()) => {
            let dir = layout.meta.join(DECISIONS_DIR);
            fs.sync_dir(&dir).ctx("fsync directory", &dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", &p, e)),
    }
}

/// A decision a coordinator keeps (wal-spec.md §14.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptDecision {
    /// The transaction's identity across its roots, 32 hex digits.
    pub global_id: String,
    /// The file's text: the transaction and every root, by identity and path.
    pub text: String,
}

/// The decisions kept in the engine directory `meta`, by global id; none when it keeps none.
/// Read without a lock (each appears whole by a rename).
pub fn kept(fs: &dyn FileSystem, meta: &Path) -> Result<Vec<KeptDecision>> {
    let dir = meta.join(DECISIONS_DIR);
    let entries = match fs.read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    let mut out = Vec::new();
    for e in entries {
        let Some(name) = e.name.to_str() else {
            continue;
        };
        if name.len() != 32 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let path = dir.join(name);
        let text = crate::fs::read_small_text(fs, &path, 64 * 1024)?
            .map(|(t, _)| t)
            .unwrap_or_default();
        out.push(KeptDecision {
            global_id: name.to_string(),
            text,
        });
    }
    out.sort_by(|a, b| a.global_id.cmp(&b.global_id));
    Ok(out)
}

/// The global id `hex` names, when it is 32 hex digits.
pub fn parse_global_id(hex: &str) -> Option<[u8; 16]> {
    crate::engine::identity::RootId::parse(&hex.to_ascii_lowercase()).map(|id| id.to_bytes())
}
