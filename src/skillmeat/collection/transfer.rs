//! Copying and moving an artifact from one collection to another (wal-spec.md §14).
//!
//! A move is one transaction across the two collections: the source loses the artifact's
//! files, manifest entry, lock entry and store references (with its operation log's record,
//! as `remove` writes one), the destination gains the same files, byte for byte and mode for
//! mode, the same manifest entry and lock entry, and its source reference. The source
//! decides (it is the coordinator), so after any crash the artifact is in exactly one of
//! them. A copy changes only the destination: one transaction there, made while both
//! collections are locked, so the source is read as one state.

use super::add_remove::{Removal, stage_removal};
use super::*;
use crate::engine::begin_across;
use crate::skillmeat::source;

/// Whether the source keeps the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transfer {
    /// The source keeps it; only the destination changes.
    Copy,
    /// The source loses it, in the same transaction as the destination gains it.
    Move,
}

/// What [`Collection::transfer`] did.
#[derive(Debug, Clone)]
pub struct TransferOutcome {
    /// Copy or move.
    pub transfer: Transfer,
    /// The destination's lock entry: the source's, unchanged.
    pub entry: Option<LockEntry>,
    /// SkillMeat's content hash of the files copied.
    pub content_hash: String,
    /// Whether the destination got the source's base (what a three-way merge compares
    /// with): only when the files are unmodified since their last update, so that the
    /// files copied are the base.
    pub base_copied: bool,
    /// The operation log's record of the change in the collection that changed alone (the
    /// destination of a copy) or that lost the artifact (the source of a move).
    pub record: Option<Recorded>,
    /// The destination's record of a move.
    pub destination_record: Option<Recorded>,
    /// The identity of the transaction across the two collections (a move), hex.
    pub across: Option<String>,
}

impl Collection {
    /// Opens several collections for work that spans them, each as [`Collection::open`]
    /// does, locked in ascending identity order (wal-spec.md §2), so that two processes
    /// opening the same collections in any order never wait for each other in a cycle.
    /// Returns them in the order of `dirs`. Fails with [`crate::Error::SameRoot`] when two
    /// are one collection.
    pub fn open_several(
        fs: Arc<dyn FileSystem>,
        dirs: &[&Path],
        opts: &OpenOptions,
    ) -> Result<Vec<(Collection, RecoveryReport)>> {
        let mut locations = Vec::with_capacity(dirs.len());
        for dir in dirs {
            locations.push(Collection::locate_for_open(&fs, dir, opts)?);
        }
        let roots: Vec<_> = locations
            .iter()
            .map(|l| (fs.clone(), l.layout.clone()))
            .collect();
        let engines = crate::engine::open_several(&roots, opts)?;
        engines
            .into_iter()
            .zip(locations)
            .zip(dirs)
            .map(|((engine, location), dir)| {
                Collection::with_engine(fs.clone(), dir, location, engine)
            })
            .collect()
    }

    /// Copies or moves `name` of type `ty` from `src` to `dst` (see the module's
    /// documentation), durably. Both must be open for writing (a copy writes only `dst`).
    ///
    /// Fails, changing nothing, when the artifact is not in `src`, is in `dst` already, or
    /// its place in `dst` is taken; when its files are missing, are a link, or hold entries
    /// a copy leaves out (`.git/` and the like); and as a transaction fails.
    pub fn transfer(
        src: &mut Collection,
        dst: &mut Collection,
        name: &str,
        ty: ArtifactType,
        how: Transfer,
    ) -> Result<TransferOutcome> {
        let Some(artifact) = src.docs.manifest()?.manifest()?.artifact(name, ty).cloned() else {
            return Err(CollectionError::NotFound {
                name: name.to_string(),
                ty: Some(ty),
            });
        };
        let entry = src.docs.lock()?.lock()?.entry(name, ty).cloned();
        if dst.docs.manifest()?.contains_artifact(name, ty) {
            return Err(CollectionError::AlreadyExists {
                name: name.to_string(),
                ty,
            });
        }
        let (rel, src_abs) = src.storage(name, ty)?;
        let (_, dst_abs) = dst.storage(name, ty)?;
        if dst.kind(&dst_abs)?.is_some() {
            return Err(CollectionError::Occupied {
                name: name.to_string(),
                path: dst_abs,
            });
        }
        let src_kind = src.kind(&src_abs)?;
        match src_kind {
            None => {
                return Err(CollectionError::FilesMissing {
                    name: name.to_string(),
                    ty,
                    path: src_abs,
                });
            }
            Some(FileKind::Symlink) => {
                return Err(CollectionError::LinkedStorage {
                    name: name.to_string(),
                    ty,
                    path: src_abs,
                });
            }
            Some(_) => {}
        }
        let fetched = source::fetch_in(src.fs.clone(), &SourceSpec::Local(src_abs.clone()), ty)?;
        if !fetched.ignored.is_empty() {
            return Err(CollectionError::WouldLeaveOut {
                name: name.to_string(),
                ty,
                path: src_abs,
                entries: fetched.ignored.clone(),
            });
        }
        let source_ref = refs::get_source(&src.store, ty.as_str(), name)
            .ok()
            .flatten();
        let label = match how {
            Transfer::Copy => format!("copy {ty} {name} from {}", src.dir.display()),
            Transfer::Move => format!(
                "move {ty} {name} from {} to {}",
                src.dir.display(),
                dst.dir.display()
            ),
        };
        let now = now_timestamp();
        let type_dir_missing = dst.kind(&dst.dir.join(ty.dir_name()))? != Some(FileKind::Dir);
        // The destination's part, the same for a copy and a move. The merge base goes along
        // when the files copied are the locked ones (hashed as they are copied).
        let stage_dst = |dst_docs: &mut Edit<'_>,
                         store: &Store,
                         t: &mut Transaction<'_>,
                         with: &[LogLink]|
         -> Result<(String, bool, Option<Recorded>)> {
            if type_dir_missing {
                t.create_dir(ty.dir_name(), 0o755)?;
            }
            let hash = stage_content(t, &rel, &fetched, store.progress())?;
            dst_docs.manifest().add_artifact(&artifact)?;
            dst_docs.manifest().set_updated(&now);
            if let Some(e) = &entry {
                dst_docs.lock().set_entry(e)?;
            }
            dst_docs.stage(t)?;
            let mut w = Writer::new(store);
            let base = entry.as_ref().is_some_and(|e| e.content_hash == hash);
            if base {
                stage_base(store, &mut w, t, ty, name, &hash, &fetched)?;
            }
            if let Some(s) = &source_ref {
                refs::stage_source(&mut w, t, ty.as_str(), name, s)?;
            }
            let record = history::stage_log_with(&mut w, t, &label, with)?;
            Ok((hash, base, record))
        };
        match how {
            Transfer::Copy => {
                let mut t = writable(&mut dst.engine, &dst.dir)?.begin(&label)?;
                let mut docs = dst.docs.edit()?;
                let (hash, base_copied, record) = stage_dst(&mut docs, &dst.store, &mut t, &[])?;
                docs.commit(t)?;
                Ok(TransferOutcome {
                    transfer: how,
                    entry,
                    content_hash: hash,
                    base_copied,
                    record,
                    destination_record: None,
                    across: None,
                })
            }
            Transfer::Move => {
                // Each collection's record names the other's, so that an undo of either
                // undoes the move in both (store-spec.md §4.5).
                let src_link = history::next_link(&dst.dir, &src.store, &src.dir)?;
                let dst_link = history::next_link(&src.dir, &dst.store, &dst.dir)?;
                let src_engine = writable(&mut src.engine, &src.dir)?;
                let dst_engine = writable(&mut dst.engine, &dst.dir)?;
                let mut t = begin_across(vec![src_engine, dst_engine], 0, &label)?;
                let mut src_docs = src.docs.edit()?;
                let removal = Removal {
                    name,
                    ty,
                    rel: &rel,
                    on_disk: src_kind,
                    command: format!("move {ty} {name} to {}", dst.dir.display()),
                    with: vec![dst_link.clone()],
                };
                let record = stage_removal(&src.store, &mut src_docs, t.part(0), &removal, &now)?;
                let mut dst_docs = dst.docs.edit()?;
                let part = t.part(1);
                let (hash, base_copied, destination_record) = stage_dst(
                    &mut dst_docs,
                    &dst.store,
                    part,
                    std::slice::from_ref(&src_link),
                )?;
                // The ids read before staging are the ones the records took.
                if record.map(|r| r.id) != Some(src_link.id)
                    || destination_record.map(|r| r.id) != Some(dst_link.id)
                {
                    return Err(CollectionError::LinkedRecord {
                        id: src_link.id,
                        dir: src.dir.clone(),
                        reason: "a record of the move took an unexpected id".into(),
                    });
                }
                let across = t.global_id();
                t.commit()?;
                src_docs.committed_elsewhere();
                dst_docs.committed_elsewhere();
                Ok(TransferOutcome {
                    transfer: how,
                    entry,
                    content_hash: hash,
                    base_copied,
                    record,
                    destination_record,
                    across: Some(across),
                })
            }
        }
    }
}
