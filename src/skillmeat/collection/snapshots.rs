use super::*;

/// What a snapshot command did.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotOutcome {
    /// The snapshot taken.
    pub snapshot: SnapshotRef,
    /// Objects the store did not have before.
    pub new_objects: usize,
    /// Automatic snapshots deleted by retention: always empty since the operation log
    /// replaced automatic snapshots (kept in the JSON for scripts that read it).
    pub pruned: Vec<u64>,
    /// Paths not recorded (symbolic links, special files).
    pub skipped: Vec<String>,
    /// Files read and hashed to take it; the hashes of the others came from the stat cache
    /// (store-spec.md §8).
    pub hashed_files: u64,
    /// Bytes read to hash those files.
    pub hashed_bytes: u64,
}

impl SnapshotOutcome {
    fn new(s: StagedSnapshot, cap: &Captured) -> SnapshotOutcome {
        SnapshotOutcome {
            snapshot: s.snapshot,
            new_objects: s.new_objects,
            pruned: Vec::new(),
            skipped: cap.skipped.clone(),
            hashed_files: cap.hashed_files,
            hashed_bytes: cap.hashed_bytes,
        }
    }

    /// The new snapshot's id.
    pub fn snapshot_id(&self) -> u64 {
        self.snapshot.id
    }
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackOutcome {
    /// The snapshot restored.
    pub target: SnapshotRef,
    /// The operation log's record of the rollback, which `undo` reverses it with (`None`
    /// when nothing differed and nothing was written).
    pub record: Option<Recorded>,
    /// What was written or deleted.
    pub changes: Vec<Action>,
}

/// Parses a snapshot id as the user typed it.
pub fn parse_snapshot_id(id: &str) -> Result<u64> {
    id.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && n.to_string() == id)
        .ok_or_else(|| CollectionError::BadSnapshotId { id: id.to_string() })
}

/// Captures the collection directory as it is now (`.skillwal/` excluded). Only a writer
/// (`writer`: the collection is open with its exclusive lock) records a new stat cache.
pub(super) fn capture_now(store: &Store, dir: &Path, writer: bool) -> Result<Captured> {
    let cache = if writer {
        CacheUse::ReadWrite
    } else {
        CacheUse::Read
    };
    Ok(capture_dir(store, dir, cache)?)
}

/// Stages recording the fetched content as the base of `name` of type `ty` (what a
/// three-way merge will compare both sides with), under its SkillMeat content hash: the
/// lock's `content_hash` then always finds the base of the version the artifact is at, also
/// after a rollback.
pub(super) fn stage_base(
    store: &Store,
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    ty: ArtifactType,
    name: &str,
    content_hash: &str,
    fetched: &Fetched,
) -> Result<()> {
    let content = match &fetched.kind {
        FetchedKind::File { path, mode, .. } => {
            let src = FsPath::new(fetched.file_system().clone(), path);
            let (size, hash) = crate::engine::tree_hash::hash_file(src.fs.as_ref(), path)?;
            refs::stage_base(
                w,
                t,
                ty.as_str(),
                name,
                content_hash,
                BaseContent::File {
                    src,
                    size,
                    hash,
                    mode: mode & 0o7777,
                },
            )?;
            return Ok(());
        }
        FetchedKind::Dir { entries, mode, .. } => {
            let items: Vec<Item> = ordered(entries)
                .into_iter()
                .map(|e| Item {
                    rel: e.rel.clone(),
                    mode: e.mode & 0o7777,
                    file: (!e.is_dir && e.link.is_none())
                        .then(|| FsPath::new(fetched.file_system().clone(), &e.abs)),
                    link: e.link.clone(),
                    stat: None,
                })
                .collect();
            (capture(store, &items, Vec::new())?, *mode)
        }
    };
    refs::stage_base(
        w,
        t,
        ty.as_str(),
        name,
        content_hash,
        BaseContent::Tree(&content.0, content.1),
    )?;
    Ok(())
}

/// The links of an artifact at `abs` (whose shape on disk is `shape`) that are not
/// contained (crate::skillmeat::links): (path, target, why).
pub(super) fn outside_links(
    fs: &dyn FileSystem,
    abs: &Path,
    shape: &Shape,
) -> std::io::Result<Vec<(String, String, &'static str)>> {
    let mut out = Vec::new();
    for (rel, target) in shape.links() {
        let at: Vec<&str> = rel.split('/').collect();
        if let Err(p) = crate::skillmeat::links::check(fs, abs, &at, target)? {
            out.push((
                rel.to_string(),
                String::from_utf8_lossy(target).into_owned(),
                p.why(),
            ));
        }
    }
    Ok(out)
}

/// The file object of `collection.lock` in the snapshot `snap` (hash and size), `None`
/// when the snapshot has none (a collection without a lock, read as empty). Fails with the
/// reason when the root tree cannot be read or the entry is not a file.
pub(super) fn snapshot_lock_object(
    store: &Store,
    snap: &SnapshotRef,
) -> Result<Option<(crate::journal::format::Hash, u64)>, String> {
    use crate::store::object::Node;
    let root = snap.root_hash().expect("validated when read");
    let tree = store.read_tree(&root).map_err(|e| e.to_string())?;
    match tree.entries.into_iter().find(|e| e.name == LOCK_FILE_NAME) {
        None => Ok(None),
        Some(e) => match e.node {
            Node::File { size, hash } => Ok(Some((hash, size))),
            _ => Err(format!("its {LOCK_FILE_NAME} is not a regular file")),
        },
    }
}

/// Reads (verified against its hash) and parses the lock file object `hash` of `size`
/// bytes of the snapshot `snap`; fails with the reason.
pub(super) fn read_snapshot_lock(
    store: &Store,
    snap: &SnapshotRef,
    hash: &crate::journal::format::Hash,
    size: u64,
) -> Result<Lock, String> {
    if size > DOCUMENT_BYTES_MAX as u64 {
        return Err(format!("{size} bytes, larger than any lock"));
    }
    let mut reader = store.open_blob(hash, size).map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(size as usize);
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading it: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_string())?;
    let name = format!("{LOCK_FILE_NAME} of snapshot {}", snap.id);
    Lock::parse(&text, &name).map_err(|e| e.to_string())
}

impl Collection {
    /// Reports the progress of long work (hashing for a snapshot, copying a source,
    /// storing objects, `gc`, `verify`) to `progress` from now on.
    pub fn set_progress(&mut self, progress: Arc<dyn crate::progress::Progress>) {
        self.store.set_progress(progress);
    }

    /// The collection's store (snapshots, bases, objects).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records the whole collection (manifest, lock, every file; `.skillwal/` excluded) as
    /// a snapshot, in one transaction that writes only the objects the store lacks.
    pub fn snapshot(&mut self, message: &str) -> Result<SnapshotOutcome> {
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let mut t = writable(&mut self.engine, &self.dir)?.begin("snapshot")?;
        let mut w = Writer::new(&self.store);
        let s = refs::stage_snapshot(&mut w, &mut t, &cap, message)?;
        t.commit_durable()?;
        cap.save_stat_cache(&self.store, true);
        Ok(SnapshotOutcome::new(s, &cap))
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRef>> {
        Ok(refs::list_snapshots(&self.store)?)
    }

    /// The snapshot `id` and what a rollback to it would change now (nothing written).
    pub fn snapshot_changes(&self, id: u64) -> Result<(SnapshotRef, Vec<Action>)> {
        let snap = refs::get_snapshot(&self.store, id)?;
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let trees = Trees {
            store: &self.store,
            mem: Some(&cap.trees),
        };
        let to = snap.root_hash().expect("validated when read");
        let plan = restore::plan(&trees, &cap.root, &to)?;
        Ok((snap, plan))
    }

    /// Deletes the snapshot `id` (one transaction); its objects stay until [`Collection::gc`].
    pub fn delete_snapshot(&mut self, id: u64) -> Result<SnapshotRef> {
        let snap = refs::get_snapshot(&self.store, id)?;
        let mut t =
            writable(&mut self.engine, &self.dir)?.begin(&format!("delete snapshot {id}"))?;
        refs::stage_delete_snapshot(&self.store, &mut t, id)?;
        t.commit_durable()?;
        Ok(snap)
    }

    /// Restores the collection to the snapshot `id` in ONE transaction that writes only
    /// the files that differ, together with the operation log's record of it. A
    /// crash leaves the collection as it was or as the snapshot; a damaged object stops
    /// the rollback before anything changes.
    pub fn rollback(&mut self, id: u64) -> Result<RollbackOutcome> {
        let target = refs::get_snapshot(&self.store, id)?;
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let to = target.root_hash().expect("validated when read");
        let trees = Trees {
            store: &self.store,
            mem: Some(&cap.trees),
        };
        let changes = restore::plan(&trees, &cap.root, &to)?;
        if changes.is_empty() {
            cap.save_stat_cache(&self.store, false);
            return Ok(RollbackOutcome {
                target,
                record: None,
                changes,
            });
        }
        let mut t =
            writable(&mut self.engine, &self.dir)?.begin(&format!("rollback to snapshot {id}"))?;
        restore::stage(&self.store, &trees, &mut t, &changes)?;
        let mut w = Writer::new(&self.store);
        let record = stage_log(&mut w, &mut t, &format!("rollback to snapshot {id}"))?;
        t.commit_durable()?;
        cap.save_stat_cache(&self.store, true);
        self.docs = self.docs.read_again(self.fs.as_ref(), &self.dir)?;
        Ok(RollbackOutcome {
            target,
            record,
            changes,
        })
    }

    /// What a rollback to the Python tool's snapshot `py` would change now (nothing
    /// written): its tarball is extracted into `tmp` as [`Collection::rollback_skillmeat`]
    /// does, then compared with the collection.
    pub fn skillmeat_snapshot_changes(
        &self,
        py: &self::py_snapshot::PySnapshot,
        tmp: &Path,
    ) -> Result<Vec<Action>> {
        let (then, _) = self.extract_skillmeat(py, tmp)?;
        let now = capture_now(&self.store, &self.dir, false)?;
        let mut trees = now.trees.clone();
        trees.extend(then.trees);
        let trees = Trees {
            store: &self.store,
            mem: Some(&trees),
        };
        Ok(restore::plan(&trees, &now.root, &then.root)?)
    }

    /// Extracts the Python tool's snapshot `py` into `tmp` (safely, within limits) and
    /// captures it.
    pub(super) fn extract_skillmeat(
        &self,
        py: &self::py_snapshot::PySnapshot,
        tmp: &Path,
    ) -> Result<(Captured, self::py_snapshot::Extracted)> {
        use self::py_snapshot::{EXTRACT_BYTES_MAX, EXTRACT_ENTRIES_MAX, extract};
        let extracted = extract(
            self.store.fs(),
            &py.tarball_path,
            tmp,
            EXTRACT_BYTES_MAX,
            EXTRACT_ENTRIES_MAX,
        )?;
        let manifest = self.store.fs().metadata(&tmp.join(MANIFEST_FILE_NAME));
        if !manifest.is_ok_and(|m| m.kind == FileKind::File) {
            return Err(CollectionError::NotACollectionSnapshot {
                tarball: py.tarball_path.clone(),
            });
        }
        Ok((capture_dir(&self.store, tmp, CacheUse::Off)?, extracted))
    }

    /// Restores the collection to the Python tool's snapshot `py`: extracts its tarball
    /// safely into a temporary directory (`tmp`), records that state as a skillwal
    /// snapshot (one transaction that changes nothing in the collection), then rolls back to
    /// it ([`Collection::rollback`], ONE transaction). The copy of `.skillwal/` inside the
    /// tarball is never restored.
    pub fn rollback_skillmeat(
        &mut self,
        py: &self::py_snapshot::PySnapshot,
        tmp: &Path,
    ) -> Result<(
        SnapshotOutcome,
        self::py_snapshot::Extracted,
        RollbackOutcome,
    )> {
        let (cap, extracted) = self.extract_skillmeat(py, tmp)?;
        let mut t = writable(&mut self.engine, &self.dir)?
            .begin(&format!("import SkillMeat snapshot {}", py.id))?;
        let mut w = Writer::new(&self.store);
        let message = format!("SkillMeat snapshot {}: {}", py.id, py.message);
        let s = refs::stage_snapshot(&mut w, &mut t, &cap, &message)?;
        t.commit_durable()?;
        let imported = SnapshotOutcome::new(s, &cap);
        let r = self.rollback(imported.snapshot.id)?;
        Ok((imported, extracted, r))
    }

    /// Deletes the bases no merge can need and then the store objects that no snapshot and
    /// no kept base reaches (store-spec.md §4.3, §7), in journaled batches. A base is needed
    /// when the current lock or the lock of a snapshot (which a rollback makes current again)
    /// records its key as an artifact's `content_hash`.
    ///
    /// Fails before deleting anything when a snapshot's lock cannot be read or parsed (the
    /// error names the snapshot) or the store cannot be read; see [`crate::store::gc::gc`].
    pub fn gc(&mut self) -> Result<GcReport> {
        let needed = self.needed_bases()?;
        let engine = writable(&mut self.engine, &self.dir)?;
        Ok(crate::store::gc::gc(&self.store, engine, &needed)?)
    }

    /// The bases named by the current lock, by every snapshot's lock, and by every lock an
    /// undo or a redo of a record of the operation log would bring back (the `content_hash`
    /// values, before and after, its lock changes name), as `(type, name, content_hash)`.
    /// Each distinct lock of the snapshots is parsed once; the log's records are not
    /// parsed as locks, only their recorded field changes are read.
    pub(super) fn needed_bases(&self) -> Result<HashSet<BaseId>> {
        let mut needed = HashSet::new();
        let mut note = |lock: &Lock| {
            for e in &lock.entries {
                let ty = e.artifact_type.as_str().to_string();
                needed.insert((ty, e.name.clone(), e.content_hash.clone()));
            }
        };
        note(&*self.lock()?);
        let mut parsed = HashSet::new();
        for snap in refs::list_snapshots(&self.store)? {
            let failed = |reason: String| CollectionError::SnapshotLock {
                id: snap.id,
                reason,
            };
            let object = snapshot_lock_object(&self.store, &snap).map_err(failed)?;
            if let Some((hash, size)) = object
                && parsed.insert(hash)
            {
                note(&read_snapshot_lock(&self.store, &snap, &hash, size).map_err(failed)?);
            }
        }
        for id in crate::store::log::list_ids(&self.store)? {
            let Some(r) = crate::store::log::get(&self.store, id)? else {
                continue;
            };
            let lock_changes = r.documents.iter().filter(|d| d.document == LOCK_FILE_NAME);
            for c in lock_changes.flat_map(|d| &d.changes) {
                let Some((name, ty)) = c.item.rsplit_once("::") else {
                    continue;
                };
                if c.field != "content_hash" {
                    continue;
                }
                // The values are as the lock writes them: TOML strings, quoted.
                for key in [&c.before, &c.after].into_iter().flatten() {
                    let key = key.trim_matches('"').to_string();
                    needed.insert((ty.to_string(), name.to_string(), key));
                }
            }
        }
        Ok(needed)
    }
}
