//! Where a root's engine files are.

use super::path::{META_DIR, RelPath};
use std::path::{Path, PathBuf};

/// The journal's file name in the engine's directory.
pub const JOURNAL_FILE: &str = "journal";
/// The name a new journal is written under before it is renamed into place (wal-spec.md §6.1).
pub const JOURNAL_TMP_FILE: &str = "journal.tmp";
/// The lock file's name in the engine's directory.
pub const LOCK_FILE: &str = "lock";
/// The staging directory's name in the engine's directory.
pub const STAGING_DIR: &str = "staging";

/// The paths of a root's engine files.
///
/// The engine's own directory (`meta`) is `<root>/.skillwal` by default; it may be anywhere
/// on the root's file system instead ([`Layout::with_meta`]; a SkillMeat collection keeps it
/// beside itself, so that the Python tool never sees it). Journal paths name it as
/// `.skillwal/...` whatever its place: [`Layout::resolve`] maps them (wal-spec.md §2).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The root: the directory whose tree the transactions change.
    pub root: PathBuf,
    /// The engine's own directory (`<root>/.skillwal` unless placed elsewhere).
    pub meta: PathBuf,
    /// The journal file, `<meta>/journal`.
    pub journal: PathBuf,
    /// Where a new journal is written before it is renamed to `journal` (wal-spec.md §6.1).
    pub journal_tmp: PathBuf,
    /// The advisory lock file every open of the root takes (wal-spec.md §6.1).
    pub lock: PathBuf,
    /// The staging directory: new contents wait here until they are applied.
    pub staging: PathBuf,
    /// How large the journal is made, and how much content goes inline.
    pub budget: JournalBudget,
}

/// How large a root's journal is created, and how many bytes of content a transaction may
/// put inline in it (wal-spec.md §6.1, §6.2, §15). Content past the inline budget is staged
/// and synced in `staging/` instead, as content over `INLINE_CONTENT_MAX` always is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalBudget {
    /// The journal file's size when created (zeros, made durable once).
    pub prealloc: u64,
    /// The most content bytes one transaction puts inline.
    pub inline_per_txn: u64,
}

impl JournalBudget {
    /// A collection's: 1 MiB, and 64 MiB inline.
    pub const DEFAULT: JournalBudget = JournalBudget {
        prealloc: crate::limits::JOURNAL_PREALLOC_BYTES,
        inline_per_txn: crate::limits::INLINE_BYTES_PER_TXN_MAX,
    };
    /// A project's: 128 KiB, and 64 KiB inline.
    pub const SMALL: JournalBudget = JournalBudget {
        prealloc: crate::limits::SMALL_JOURNAL_PREALLOC_BYTES,
        inline_per_txn: crate::limits::SMALL_INLINE_BYTES_PER_TXN_MAX,
    };
}

impl Layout {
    /// The engine's directory inside the root: `<root>/.skillwal`.
    pub fn new(root: &Path) -> Layout {
        Layout::with_meta(root, &root.join(META_DIR))
    }

    /// The engine's directory at `meta`, which must be on the root's file system (renames
    /// between the two must be atomic: checked at open).
    pub fn with_meta(root: &Path, meta: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            journal: meta.join(JOURNAL_FILE),
            journal_tmp: meta.join(JOURNAL_TMP_FILE),
            lock: meta.join(LOCK_FILE),
            staging: meta.join(STAGING_DIR),
            meta: meta.to_path_buf(),
            budget: JournalBudget::DEFAULT,
        }
    }

    /// This layout with the journal budget `budget`.
    pub fn with_budget(mut self, budget: JournalBudget) -> Layout {
        self.budget = budget;
        self
    }

    /// The absolute path of `rel`, a path relative to the root as journal records name
    /// them: `.skillwal` and what lies below it are in the engine's directory, wherever it
    /// is; anything else is below the root.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        match rel.strip_prefix(META_DIR) {
            Some("") => self.meta.clone(),
            Some(rest) if rest.starts_with('/') => self.meta.join(&rest[1..]),
            _ => self.root.join(rel),
        }
    }

    /// The directory holding `rel` (the root for a top-level path).
    pub fn parent_of(&self, rel: &RelPath) -> PathBuf {
        match rel.parent() {
            Some(p) => self.resolve(p.as_str()),
            None => self.root.clone(),
        }
    }
}
