//! skillwal: crash-safe transactions over a directory tree, and SkillMeat collections on top.
//!
//! The engine ([`Engine`], [`Transaction`]) stages changes to files and directory trees,
//! commits them with one durable journal append, applies them, and on the next open rolls
//! an interrupted transaction forward or back. `wal-spec.md` at the repository root is the
//! normative description of the journal format and the protocol.
//!
//! Layers, each knowing only those before it: [`fs`] (the only I/O) → [`journal`] (bytes)
//! → the engine ([`engine`]: staging and commit, apply, [`engine::recovery`],
//! [`engine::inspect`]) → [`store`] (content-addressed snapshots and bases) →
//! [`skillmeat`] (the collection model) → the `skillwal` binary's CLI. [`merge`] (three-way merge and diff of file contents) is
//! pure and knows none of them but [`limits`].

#![forbid(unsafe_code)]

pub mod engine;
pub mod error;
pub mod fs;
pub mod journal;
pub mod limits;
pub mod merge;
pub mod skillmeat;
pub mod store;

pub use engine::{
    CommitReport, Engine, Layout, OpenOptions, RecoveryOutcome, RecoveryReport, Transaction,
    TreeStager, discard_journal, needs_recovery,
};
pub use error::{Error, Result};
pub use fs::real::RealFs;
pub use journal::format::FieldChange;
