//! The engine: a root directory, its lock, its journal and its staging area.
//!
//! Invariants of the commit protocol (wal-spec.md §6 and §7 are the long form, and cite
//! them by these names; the promises of its §1 are numbered 1-9, apart from these):
//!
//! (E1) Nothing outside `.skillwal/` changes before the commit record is durable: staging
//!      writes only into `.skillwal/staging/` and the journal.
//! (E2) Every byte a committed transaction needs is durable at its commit point: inline
//!      contents in the journal (synced by the commit's one `fdatasync`), larger contents in
//!      staged files synced, with their directories, before the commit record is written.
//! (E3) A transaction's operations touch disjoint paths (except a directory it creates and
//!      what it puts inside), so applying them in record order is well defined and each
//!      target's state can be classified on its own.
//! (E4) The live transaction's records stay in the journal until everything it changed is
//!      durable; only then does a header write with a fresh salt (synced) retire them, so a
//!      retired transaction can never be replayed. Only after that (or after an abort) is a
//!      journal the records extended cut back to its preallocated size: a truncation
//!      removes records, never makes one.
//! (E5) Recovery writes nothing to the journal until the transaction is fully applied and
//!      durable, so a crash during recovery leaves the same decision for the next open.
//! (E6) After any failed sync the engine refuses all further work (`Error::Poisoned`); the
//!      next open recovers from what is on disk. Syncs are never retried.
//! (E7) Several committed transactions may share the journal and one checkpoint (a run,
//!      wal-spec.md §6.6). When one commits, every earlier transaction of the run that it
//!      overlaps (a path in common other than a put after a put, or one below the other) is
//!      already durable; so recovery may skip an operation a later one supersedes, and a
//!      put chained onto puts of the same path accepts any state of the chain as "not
//!      applied". E4 holds for the run as a whole: its records stay until all of it is
//!      durable, and one header write retires them together.
//!
//! The files of this folder, each using only those listed before it:
//!
//! - `path.rs`: relative paths as journal records name them, validated;
//! - `layout.rs`: where a root's engine files are;
//! - `tree_hash.rs`: the tree hash of wal-spec.md §5 and the walks it needs;
//! - `ops.rs`: a transaction's operations, built while staging or read back from records;
//! - `staging.rs`: the staging directory's names and its clearing;
//! - `ctx.rs`: what applying one transaction needs to reach;
//! - `classify.rs`: the state of an operation's target (wal-spec.md §7.2), reading only;
//! - `apply.rs`: applying operations, at the commit and at recovery, and syncing them;
//! - `run.rs`: how an operation meets the operations of other transactions of a run;
//! - `recovery.rs`: deciding what recovery does and rolling forward;
//! - `salt.rs`, `session.rs`: the salts, and the state an open root's transactions share;
//! - `txn/`: staging and committing a transaction;
//! - `handle.rs`: [`Engine`], opening a root, recovering, checkpointing;
//! - `multi_root/`: one transaction across several roots, and its recovery;
//! - `inspect/`: a read-only report of what a journal holds.

mod apply;
mod classify;
mod ctx;
mod handle;
pub mod identity;
pub mod inspect;
pub mod layout;
pub mod multi_root;
pub(crate) mod ops;
pub mod path;
pub(crate) mod recovery;
mod run;
mod salt;
mod session;
pub(crate) mod staging;
pub mod tree_hash;
mod txn;

pub use handle::{Discarded, Engine, OpenOptions, discard_journal, needs_recovery};
pub use identity::{RootId, open_several};
pub use layout::Layout;
pub use multi_root::{MultiRootTransaction, begin_across};
pub use recovery::{DryRun, PlannedOp, RecoveryOutcome, RecoveryReport, dry_run};
pub use txn::{CommitReport, Transaction, TreeStager};
