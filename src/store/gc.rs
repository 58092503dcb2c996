//! Garbage collection (store-spec.md §7): deletes the base references the caller does not
//! need, then the objects that no snapshot and no kept base reaches.
//!
//! The store does not know which bases a later merge may need; the caller names them
//! (the collection layer: those its lock and its snapshots' locks name).
//!
//! Crash safety: the deletions are operations of transactions like any other (at most
//! [`GC_DELETES_PER_TXN`] each), so a crash leaves each batch done or not done. Base
//! references are deleted in batches before (or with) the objects: an object is deleted only
//! once nothing kept reaches it, and the reachable set is computed under the collection's
//! lock, from references that only transactions change. If any kept reference or reachable
//! tree cannot be read, nothing is deleted. Before the first object deletion the stat cache
//! is deleted: its entries may say an object is in the store (store-spec.md §8).

use super::chunk::decode_list;
use super::object::{Node, parse_hex};
use super::pack::Slot;
use super::refs::{base_dir_rel, bases_rel, get_base, list_snapshots};
use super::stat_cache::{CACHE_NAME, forget};
use super::{Result, Store, StoreError, chunk_list_rel, chunked_rel, io_err, store_rel};
use crate::Engine;
use crate::fs::FileKind;
use crate::journal::format::Hash;
use crate::progress::Stage;
use serde::Serialize;
use std::collections::HashSet;

/// Deletions per transaction (well below the engine's operation limit).
pub const GC_DELETES_PER_TXN: usize = 10_000;

/// A base reference by its place, `bases/<group>/<name>/<key>`: `(group, name, key)`.
pub type BaseId = (String, String, String);

/// What a garbage collection of the store removed and kept.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcReport {
    /// Objects kept (reachable).
    pub kept: usize,
    /// Objects deleted.
    pub removed: usize,
    /// Total size in bytes of the objects deleted.
    pub removed_bytes: u64,
    /// Base references kept (the caller needs them).
    pub bases_kept: usize,
    /// Base references deleted (the caller does not need them).
    pub bases_removed: usize,
    /// Engine transactions the deletions took (at most 10,000 deletions each).
    pub transactions: usize,
}

/// Files of one directory to delete: unneeded base references or unreachable objects.
struct Doomed {
    dir: String,
    /// Names and sizes.
    files: Vec<(String, u64)>,
    /// Whether every entry of the directory goes (it is removed too).
    empties: bool,
    /// A parent directory that this unit and the earlier ones empty, removed after `dir`.
    parent: Option<String>,
    /// Base references (counted as such), not objects.
    bases: bool,
}

/// Every object reachable from a snapshot or from one of the bases `bases` (trees read and
/// verified). Fails when a snapshot reference, one of those base references or a reachable
/// tree cannot be read.
pub(crate) fn reachable(store: &Store, bases: &[BaseId]) -> Result<HashSet<Hash>> {
    let mut roots = Vec::new();
    for s in list_snapshots(store)? {
        roots.push((s.root_hash().expect("validated"), true));
    }
    for id in super::log::list_ids(store)? {
        let rel = format!("{}/{id}", super::log::log_rel());
        let Some(r) = super::log::get(store, id)? else {
            return Err(StoreError::BadRef {
                path: store.abs(&rel),
                reason: "it went while gc was reading the log".into(),
            });
        };
        roots.extend(super::log::roots(&r));
    }
    for (group, name, key) in bases {
        if let Some(b) = get_base(store, group, name, key)? {
            roots.push((b.hash().expect("validated"), b.is_tree()));
        }
    }
    let mut seen = HashSet::new();
    let mut stack = roots;
    while let Some((h, is_tree)) = stack.pop() {
        if !seen.insert(h) || !is_tree {
            continue;
        }
        let (tree, chunks) = store.read_tree_parts(&h)?;
        seen.extend(chunks);
        for e in tree.entries {
            match e.node {
                Node::File { hash, .. } | Node::Link { hash, .. } => {
                    seen.insert(hash);
                }
                Node::Dir { hash } => stack.push((hash, true)),
            }
        }
    }
    // A large object stored in chunks (§2.2) keeps its chunks.
    for (name, kind) in store.list(&chunked_rel())? {
        let Some(h) = parse_hex(&name) else {
            continue;
        };
        if kind != FileKind::File || !seen.contains(&h) {
            continue;
        }
        let rel = chunk_list_rel(&h);
        let path = store.abs(&rel);
        let damaged = |reason: String| StoreError::Damaged {
            path: path.clone(),
            hash: name.clone(),
            reason,
        };
        let list = store
            .read_small(&rel)?
            .ok_or_else(|| damaged("it went while gc was reading it".into()))?;
        let (_, chunks) = decode_list(&list).map_err(damaged)?;
        seen.extend(chunks.iter().map(|c| c.hash));
    }
    Ok(seen)
}

/// Sorted names in the directory `rel`.
fn sorted(store: &Store, rel: &str) -> Result<Vec<(String, FileKind)>> {
    let mut v = store.list(rel)?;
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(v)
}

/// The base references not in `needed`, one unit per `bases/<group>/<name>/` directory
/// (with the directories they leave empty), and the ones in it (kept). Unneeded references
/// are not read: a damaged one is deleted like any other.
fn doomed_bases(store: &Store, needed: &HashSet<BaseId>) -> Result<(Vec<Doomed>, Vec<BaseId>)> {
    let (mut doomed, mut kept) = (Vec::new(), Vec::new());
    for (group, kind) in sorted(store, &bases_rel())? {
        if kind != FileKind::Dir {
            continue;
        }
        let group_dir = format!("{}/{group}", bases_rel());
        let names = sorted(store, &group_dir)?;
        let (first, mut emptied) = (doomed.len(), 0);
        for (name, kind) in &names {
            if *kind != FileKind::Dir {
                continue;
            }
            let dir = base_dir_rel(&group, name);
            let keys = sorted(store, &dir)?;
            let mut gone = Vec::new();
            for (key, kind) in &keys {
                if *kind != FileKind::File {
                    continue;
                }
                let id = (group.clone(), name.clone(), key.clone());
                if needed.contains(&id) {
                    kept.push(id);
                } else {
                    gone.push((key.clone(), 0));
                }
            }
            if gone.is_empty() {
                continue;
            }
            let empties = gone.len() == keys.len();
            emptied += usize::from(empties);
            doomed.push(Doomed {
                dir,
                files: gone,
                empties,
                parent: None,
                bases: true,
            });
        }
        if emptied == names.len() && doomed.len() > first {
            doomed.last_mut().expect("a unit").parent = Some(group_dir);
        }
    }
    Ok((doomed, kept))
}

/// The objects not in `keep`, one unit per fan-out directory and one for the chunk lists;
/// counts the kept ones.
fn doomed_objects(
    store: &Store,
    keep: &HashSet<Hash>,
    report: &mut GcReport,
) -> Result<Vec<Doomed>> {
    let objects = format!("{}/objects", store_rel());
    let mut doomed = Vec::new();
    for (fan, kind) in sorted(store, &objects)? {
        if kind != FileKind::Dir || fan.len() != 2 {
            continue;
        }
        let dir = format!("{objects}/{fan}");
        doomed.extend(doomed_in(
            store,
            dir,
            &|name| parse_hex(&format!("{fan}{name}")),
            keep,
            report,
        )?);
    }
    // The chunk lists of objects no longer reachable (§2.2); their chunks go with the packs.
    doomed.extend(doomed_in(store, chunked_rel(), &parse_hex, keep, report)?);
    Ok(doomed)
}

/// The files of `dir` named for a hash (`hash_of` a file name) that is not in `keep`, as one
/// unit (`None` when there are none); counts the kept ones.
fn doomed_in(
    store: &Store,
    dir: String,
    hash_of: &dyn Fn(&str) -> Option<Hash>,
    keep: &HashSet<Hash>,
    report: &mut GcReport,
) -> Result<Option<Doomed>> {
    let names = sorted(store, &dir)?;
    let total = names.len();
    let mut gone = Vec::new();
    for (name, kind) in names {
        let Some(h) = hash_of(&name).filter(|_| kind == FileKind::File) else {
            continue;
        };
        if keep.contains(&h) {
            report.kept += 1;
        } else {
            let size = store.stat(&format!("{dir}/{name}"))?.map_or(0, |m| m.len);
            gone.push((name, size));
        }
    }
    Ok((!gone.is_empty()).then_some(Doomed {
        empties: gone.len() == total,
        dir,
        files: gone,
        parent: None,
        bases: false,
    }))
}

/// Deletes every base reference not in `needed` (and the directories that leaves empty),
/// then every object that no snapshot and no kept base reaches (and fan-out directories
/// left empty), in transactions of at most [`GC_DELETES_PER_TXN`] deletions, references
/// first.
///
/// Fails before deleting anything when a snapshot reference, a kept base reference or a
/// reachable tree cannot be read (the error names it); fails with the engine's error when a
/// batch cannot be committed (the earlier batches stay done).
pub fn gc(store: &Store, engine: &mut Engine, needed: &HashSet<BaseId>) -> Result<GcReport> {
    gc_in_batches(store, engine, needed, GC_DELETES_PER_TXN)
}

/// [`gc`] with batches of about `per_txn` deletions.
fn gc_in_batches(
    store: &Store,
    engine: &mut Engine,
    needed: &HashSet<BaseId>,
    per_txn: usize,
) -> Result<GcReport> {
    // Nothing on doubt: a pack whose table cannot be read may hold what is reachable.
    store.refresh_packs()?;
    if let Some(e) = store.damaged_pack() {
        return Err(e);
    }
    let (mut doomed, kept_bases) = doomed_bases(store, needed)?;
    let keep = reachable(store, &kept_bases)?;
    let mut report = GcReport {
        bases_kept: kept_bases.len(),
        ..GcReport::default()
    };
    let objects = doomed_objects(store, &keep, &mut report)?;
    let packs = doomed_packs(store, &keep, &mut report);
    if !objects.is_empty() || !packs.is_empty() {
        // The stat cache may say an object is in the store; it goes before any object.
        let cache = store.meta().join(CACHE_NAME);
        forget(store.fs(), store.meta()).map_err(io_err("remove", &cache))?;
    }
    // References before objects: a crash between two batches never leaves a reference
    // without its objects.
    doomed.extend(objects);
    let total = doomed.iter().map(|d| d.files.len() as u64).sum::<u64>()
        + packs.iter().map(|p| p.gone as u64).sum::<u64>();
    let stage = Stage::begin(store.progress(), "deleting", Some(total), false);
    let mut batch: Vec<Doomed> = Vec::new();
    let mut in_batch = 0;
    for d in doomed {
        stage.advance(d.files.len() as u64);
        in_batch += d.files.len() + 2;
        batch.push(d);
        if in_batch >= per_txn {
            run_batch(engine, &std::mem::take(&mut batch), &mut report)?;
            in_batch = 0;
        }
    }
    if !batch.is_empty() {
        run_batch(engine, &batch, &mut report)?;
    }
    // Packs last, each in its own transaction: rewritten with the objects still reachable,
    // or deleted when none is.
    for p in packs {
        stage.advance(p.gone as u64);
        let mut t = engine.begin("gc: rewrite a store pack without its unreachable objects")?;
        super::Writer::new(store).rewrite_pack(&mut t, &p.name, &p.keep)?;
        t.commit_durable().map_err(StoreError::Engine)?;
        report.removed += p.gone;
        report.removed_bytes += p.gone_bytes;
        report.transactions += 1;
    }
    Ok(report)
}

/// A pack holding unreachable objects.
struct DoomedPack {
    name: String,
    /// Its reachable objects.
    keep: Vec<Slot>,
    /// How many objects go, and their bytes.
    gone: usize,
    gone_bytes: u64,
}

/// The packs holding objects not in `keep`; counts the kept objects of every pack.
fn doomed_packs(store: &Store, keep: &HashSet<Hash>, report: &mut GcReport) -> Vec<DoomedPack> {
    let mut out = Vec::new();
    for (name, loaded) in store.packs() {
        let Ok(table) = loaded.table else {
            continue;
        };
        let (kept, gone): (Vec<Slot>, Vec<Slot>) =
            table.slots.iter().partition(|s| keep.contains(&s.hash));
        report.kept += kept.len();
        if !gone.is_empty() {
            out.push(DoomedPack {
                name,
                keep: kept,
                gone: gone.len(),
                gone_bytes: gone.iter().map(|s| s.size).sum(),
            });
        }
    }
    out
}

fn run_batch(engine: &mut Engine, batch: &[Doomed], report: &mut GcReport) -> Result<()> {
    let mut t = engine.begin("gc: delete unneeded bases and unreachable store objects")?;
    let (mut objects, mut bases, mut bytes) = (0, 0, 0);
    for d in batch {
        for (name, size) in &d.files {
            t.delete_file(&format!("{}/{name}", d.dir))?;
            if d.bases {
                bases += 1;
            } else {
                objects += 1;
                bytes += size;
            }
        }
        if d.empties {
            t.remove_dir(&d.dir)?;
        }
        if let Some(parent) = &d.parent {
            t.remove_dir(parent)?;
        }
    }
    t.commit_durable().map_err(StoreError::Engine)?;
    report.removed += objects;
    report.removed_bytes += bytes;
    report.bases_removed += bases;
    report.transactions += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;
    use crate::fs::FileSystem;
    use crate::fs::sim::{CrashModel, SimFs};
    use crate::store::object::hex;
    use crate::store::refs::{base_rel, list_bases};
    use crate::store::{NewObject, Writer};
    use std::path::Path;
    use std::sync::Arc;

    const ROOT: &str = "/c";

    fn open(fs: &SimFs) -> (Store, Engine) {
        let fs: Arc<dyn FileSystem> = Arc::new(fs.handle());
        let engine = Engine::open(fs.clone(), Path::new(ROOT), &OpenOptions::default());
        (
            Store::new(fs, &crate::engine::Layout::new(Path::new(ROOT))),
            engine.expect("open"),
        )
    }

    /// A durable store with `n` file bases `g/n<i>/k`, each of its own object.
    fn setup(n: usize) -> SimFs {
        let fs = SimFs::new();
        fs.create_dir(Path::new(ROOT), 0o755).expect("mkdir");
        let (store, mut engine) = open(&fs);
        let mut t = engine.begin("setup").expect("begin");
        let mut w = Writer::new(&store);
        for i in 0..n {
            let bytes = format!("object {i}").into_bytes();
            let hash = *blake3::hash(&bytes).as_bytes();
            let size = bytes.len();
            w.objects(&mut t, &[NewObject::Target { hash, bytes }])
                .expect("object");
            let json = format!(
                r#"{{"format":"skillwal-base","version":1,"kind":"file","hash":"{}","size":{size},"mode":420}}"#,
                hex(&hash)
            );
            let rel = base_rel("g", &format!("n{i}"), "k");
            w.put_ref(&mut t, &rel, json.as_bytes()).expect("ref");
        }
        t.commit_durable().expect("commit");
        engine.close().expect("close");
        fs.sync_everything();
        fs
    }

    /// Every base reference present names an object that is present, whole.
    fn assert_no_base_without_its_object(store: &Store, what: &str) {
        for (g, name, key) in list_bases(store).expect("list") {
            let b = get_base(store, &g, &name, &key)
                .expect("read")
                .expect("base");
            let hash = b.hash().expect("hash");
            let mut r = store.open_blob(&hash, b.size).unwrap_or_else(|e| {
                panic!("{what}: base {g}/{name}/{key} without its object: {e}")
            });
            std::io::copy(&mut r, &mut std::io::sink())
                .unwrap_or_else(|e| panic!("{what}: base {g}/{name}/{key}: {e}"));
        }
    }

    /// Batches of one unit each (references, then objects): a crash at any call, killed or
    /// with power lost, never leaves a base reference without its object, and never loses
    /// the needed base.
    #[test]
    fn a_crash_between_batches_never_leaves_a_base_without_its_object() {
        let base = setup(5);
        let needed: HashSet<BaseId> = [("g".into(), "n0".into(), "k".into())].into();
        for model in [CrashModel::Kill, CrashModel::DropAll] {
            let mut n = 1;
            loop {
                let fs = base.fork();
                let (store, mut engine) = open(&fs);
                fs.reset_counters();
                fs.set_crash_after(Some(n));
                let r = gc_in_batches(&store, &mut engine, &needed, 1);
                let done = r.is_ok() && !fs.crashed();
                drop(engine);
                let after = if done { fs } else { fs.crash(model, n) };
                let (store, engine) = open(&after);
                engine.close().expect("close after recovery");
                let what = format!("{model:?} after call {n}");
                assert_no_base_without_its_object(&store, &what);
                let left = list_bases(&store).expect("list");
                assert!(
                    left.contains(&("g".into(), "n0".into(), "k".into())),
                    "{what}"
                );
                if done {
                    let report = r.expect("done");
                    // One transaction per reference, then the objects' own.
                    assert!(report.transactions > 4, "{report:?}");
                    assert_eq!((report.bases_removed, report.removed), (4, 4), "{report:?}");
                    assert_eq!(left.len(), 1, "{what}: {left:?}");
                    break;
                }
                n += 1;
            }
        }
    }
}
