//! Garbage collection: deletes the objects that no snapshot and no base reaches.
//!
//! Crash safety: the deletions are operations of transactions like any other (at most
//! [`GC_DELETES_PER_TXN`] each), so a crash leaves each batch done or not done, and an
//! object still reachable is never deleted — the reachable set is computed under the
//! collection's lock, from references that only transactions change. If any reference or
//! reachable tree cannot be read, nothing is deleted. Before the first deletion the stat
//! cache is deleted: its entries may say an object is in the store (store-spec.md §8).

use super::object::{Node, parse_hex};
use super::refs::{get_base, list_bases, list_snapshots};
use super::stat_cache::{CACHE_NAME, forget};
use super::{Result, Store, StoreError, io_err, store_rel};
use crate::Engine;
use crate::fs::FileKind;
use crate::journal::format::Hash;
use serde::Serialize;
use std::collections::HashSet;

/// Deletions per transaction (well below the engine's operation limit).
pub const GC_DELETES_PER_TXN: usize = 10_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Objects kept (reachable).
    pub kept: usize,
    pub removed: usize,
    pub removed_bytes: u64,
    pub transactions: usize,
}

/// The unreachable objects of one fan-out directory.
struct Doomed {
    dir: String,
    /// Names and sizes.
    files: Vec<(String, u64)>,
    /// Whether every object of the directory goes (it is removed too).
    empties: bool,
}

/// Every object reachable from a snapshot or a base (trees read and verified).
pub fn reachable(store: &Store) -> Result<HashSet<Hash>> {
    let mut roots = Vec::new();
    for s in list_snapshots(store)? {
        roots.push((s.root_hash().expect("validated"), true));
    }
    for (group, name, key) in list_bases(store)? {
        if let Some(b) = get_base(store, &group, &name, &key)? {
            roots.push((b.hash().expect("validated"), b.is_tree()));
        }
    }
    let mut seen = HashSet::new();
    let mut stack = roots;
    while let Some((h, is_tree)) = stack.pop() {
        if !seen.insert(h) || !is_tree {
            continue;
        }
        for e in store.read_tree(&h)?.entries {
            match e.node {
                Node::File { hash, .. } | Node::Link { hash, .. } => {
                    seen.insert(hash);
                }
                Node::Dir { hash } => stack.push((hash, true)),
            }
        }
    }
    Ok(seen)
}

/// Deletes every unreachable object (and fan-out directories left empty).
pub fn gc(store: &Store, engine: &mut Engine) -> Result<GcReport> {
    let keep = reachable(store)?;
    let objects = format!("{}/objects", store_rel());
    let mut report = GcReport::default();
    let mut doomed: Vec<Doomed> = Vec::new();
    let mut fanouts = store.list(&objects)?;
    fanouts.sort_by(|a, b| a.0.cmp(&b.0));
    for (fan, kind) in fanouts {
        if kind != FileKind::Dir || fan.len() != 2 {
            continue;
        }
        let dir = format!("{objects}/{fan}");
        let mut names = store.list(&dir)?;
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let total = names.len();
        let mut gone = Vec::new();
        for (name, kind) in names {
            let Some(h) = parse_hex(&format!("{fan}{name}")) else {
                continue;
            };
            if kind != FileKind::File {
                continue;
            }
            if keep.contains(&h) {
                report.kept += 1;
            } else {
                let size = store.stat(&format!("{dir}/{name}"))?.map_or(0, |m| m.len);
                gone.push((name, size));
            }
        }
        if !gone.is_empty() {
            let empties = gone.len() == total;
            doomed.push(Doomed {
                dir,
                files: gone,
                empties,
            });
        }
    }
    if !doomed.is_empty() {
        // The stat cache may say an object is in the store; it goes before any object.
        let cache = store.meta().join(CACHE_NAME);
        forget(store.fs(), store.meta()).map_err(io_err("remove", &cache))?;
    }
    let mut batch: Vec<Doomed> = Vec::new();
    let mut in_batch = 0;
    for d in doomed {
        in_batch += d.files.len() + 1;
        batch.push(d);
        if in_batch >= GC_DELETES_PER_TXN {
            run_batch(engine, &std::mem::take(&mut batch), &mut report)?;
            in_batch = 0;
        }
    }
    if !batch.is_empty() {
        run_batch(engine, &batch, &mut report)?;
    }
    Ok(report)
}

fn run_batch(engine: &mut Engine, batch: &[Doomed], report: &mut GcReport) -> Result<()> {
    let mut t = engine.begin("gc: delete unreachable store objects")?;
    let (mut n, mut bytes) = (0, 0);
    for Doomed {
        dir,
        files,
        empties,
    } in batch
    {
        for (name, size) in files {
            t.delete_file(&format!("{dir}/{name}"))?;
            n += 1;
            bytes += size;
        }
        if *empties {
            t.remove_dir(dir)?;
        }
    }
    t.commit_durable().map_err(StoreError::Engine)?;
    report.removed += n;
    report.removed_bytes += bytes;
    report.transactions += 1;
    Ok(())
}
