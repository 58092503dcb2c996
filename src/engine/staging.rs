//! The staging directory: where a transaction's new files and trees wait for the commit, and
//! where replaced trees wait for removal (wal-spec.md §2, §6.2).

use crate::error::{IoContext, Result};
use crate::fs::{FileSystem, remove_tree};
use std::path::Path;

/// Name of the staged file or tree of operation `op` inside the staging directory.
pub fn staged_name(salt: u64, op: u32) -> String {
    format!("{salt:016x}-{op}")
}

/// Name under which a deleted tree waits in the staging directory for removal.
pub fn trash_name(salt: u64, op: u32) -> String {
    format!("{salt:016x}-{op}.old")
}

/// Removes every entry of the staging directory. Returns how many there were.
pub(crate) fn clear_staging(fs: &dyn FileSystem, staging: &Path) -> Result<u32> {
    let entries = fs.read_dir(staging).ctx("read directory", staging)?;
    for e in &entries {
        let p = staging.join(&e.name);
        remove_tree(fs, &p).ctx("remove", &p)?;
    }
    Ok(entries.len() as u32)
}
