//! skillwal: crash-safe transactions over a directory tree, and SkillMeat collections on top.
//!
//! The engine ([`Engine`], [`Transaction`]) stages changes to files and directory trees,
//! commits them with one durable journal append, applies them, and on the next open rolls
//! an interrupted transaction forward or back. `wal-spec.md` at the repository root is the
//! normative description of the journal format and the protocol.
//!
//! Layers, each knowing only those before it: [`fs`] (the only way to the disk) →
//! [`journal`] (bytes) → [`engine`] (transactions, recovery, `journal inspect`'s report) →
//! [`store`] (content-addressed snapshots and bases) → [`skillmeat`] (SkillMeat's format,
//! collections, sources) → the `skillwal` binary's CLI, the only layer that prints.
//! [`merge`] (three-way merge and diff of file contents) is pure and knows none of them but
//! [`limits`]; [`error`] holds what every layer shares ([`error::IoError`],
//! [`error::Effect`]).
//!
//! To embed the engine: [`Engine::open`] a root on a [`RealFs`], [`Engine::begin`] a
//! [`Transaction`], stage files and trees, commit, [`Engine::checkpoint`]; the next open of
//! a root a crash interrupted recovers it (`examples/embed.rs`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
