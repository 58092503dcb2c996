use super::*;

impl Collection {
    /// Adds the fetched artifact as `name`: its files, its manifest entry and its lock
    /// entry, in one transaction made durable before this returns.
    pub fn add(&mut self, ty: ArtifactType, name: &str, fetched: &Fetched) -> Result<LockEntry> {
        validate_artifact_name(name).map_err(|reason| CollectionError::InvalidName {
            name: name.to_string(),
            reason,
        })?;
        if self.docs.manifest()?.contains_artifact(name, ty) {
            return Err(CollectionError::AlreadyExists {
                name: name.to_string(),
                ty,
            });
        }
        let (rel, abs) = self.storage(name, ty)?;
        if self.kind(&abs)?.is_some() {
            return Err(CollectionError::Occupied {
                name: name.to_string(),
                path: abs,
            });
        }
        let type_dir_exists = self.kind(&self.dir.join(ty.dir_name()))? == Some(FileKind::Dir);
        let now = now_timestamp();
        let label = format!("add {ty} {name}");
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&label)?;
        let mut docs = self.docs.edit()?;
        if !type_dir_exists {
            t.create_dir(ty.dir_name(), 0o755)?;
        }
        let hash = stage_content(&mut t, &rel, fetched, self.store.progress())?;
        let mut artifact = Artifact::new(name, ty, fetched.origin, &now)?;
        artifact.upstream = fetched.upstream.clone();
        artifact.version_spec = fetched.version_spec.clone();
        artifact.resolved_sha = fetched.resolved_sha.clone();
        artifact.resolved_version = fetched.resolved_version.clone();
        if let Some(text) = front_matter_source(fetched) {
            let (metadata, tags) = frontmatter::metadata_and_tags(&text).map_err(|source| {
                CollectionError::FrontMatter {
                    path: source_path(fetched),
                    source,
                }
            })?;
            artifact.metadata = metadata;
            artifact.tags = tags;
        }
        artifact
            .extra
            .insert(FIELD_SOURCE.into(), fetched.skillwal_source.clone());
        if let Some(p) = &fetched.skillwal_path {
            artifact.extra.insert(FIELD_PATH.into(), p.clone());
        }
        if let Some(r) = &fetched.skillwal_ref {
            artifact.extra.insert(FIELD_REF.into(), r.clone());
        }
        docs.manifest().add_artifact(&artifact)?;
        docs.manifest().set_updated(&now);
        let mut entry = LockEntry::new(name, ty, &hash, &now)?;
        entry.upstream = fetched.upstream.clone();
        entry.resolved_sha = fetched.resolved_sha.clone();
        entry.resolved_version = fetched.resolved_version.clone();
        docs.lock().set_entry(&entry)?;
        docs.stage(&mut t)?;
        let mut w = Writer::new(&self.store);
        stage_base(&self.store, &mut w, &mut t, ty, name, &hash, fetched)?;
        let source = source_ref(&artifact, fetched);
        stage_source(&self.store, &mut w, &mut t, ty, name, &source)?;
        stage_log(&mut w, &mut t, &label)?;
        docs.commit(t)?;
        Ok(entry)
    }

    /// Removes an artifact: its files (unless `keep_files`), its manifest entry and its
    /// lock entry, in one transaction. Missing files are fine.
    ///
    /// The operation log's record of the removal is part of the same transaction; it is
    /// returned (`undo` brings the artifact back with it).
    pub fn remove(
        &mut self,
        name: &str,
        ty: ArtifactType,
        keep_files: bool,
    ) -> Result<Option<Recorded>> {
        if !self.docs.manifest()?.contains_artifact(name, ty) {
            return Err(CollectionError::NotFound {
                name: name.to_string(),
                ty: Some(ty),
            });
        }
        let (rel, abs) = self.storage(name, ty)?;
        let now = now_timestamp();
        let on_disk = if keep_files { None } else { self.kind(&abs)? };
        if on_disk == Some(FileKind::Symlink) {
            return Err(CollectionError::LinkedStorage {
                name: name.to_string(),
                ty,
                path: abs,
            });
        }
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&format!("remove {ty} {name}"))?;
        let mut docs = self.docs.edit()?;
        let removal = Removal {
            name,
            ty,
            rel: &rel,
            on_disk,
            command: format!("remove {ty} {name}"),
            with: Vec::new(),
        };
        let record = stage_removal(&self.store, &mut docs, &mut t, &removal, &now)?;
        docs.commit(t)?;
        Ok(record)
    }
}

/// An artifact leaving a collection (`remove`, or the source's part of a `move`).
pub(super) struct Removal<'a> {
    pub name: &'a str,
    pub ty: ArtifactType,
    /// Its storage path, relative to the collection.
    pub rel: &'a str,
    /// What is at `rel` and goes; `None` when the files stay (or are missing).
    pub on_disk: Option<FileKind>,
    /// What the user asked for (the log record's command).
    pub command: String,
    /// The records the same transaction writes in other collections (a move).
    pub with: Vec<LogLink>,
}

/// Stages `r` in `t`: its manifest and lock entries removed, its files deleted, its bases
/// and source reference dropped, and last the operation log's record (returned).
pub(super) fn stage_removal(
    store: &Store,
    docs: &mut Edit<'_>,
    t: &mut Transaction<'_>,
    r: &Removal<'_>,
    now: &str,
) -> Result<Option<Recorded>> {
    docs.manifest().remove_artifact(r.name, r.ty)?;
    docs.manifest().set_updated(now);
    if docs.lock().contains_entry(r.name, r.ty) {
        docs.lock().remove_entry(r.name, r.ty)?;
    }
    match r.on_disk {
        Some(FileKind::Dir) => t.delete_tree(r.rel)?,
        Some(_) => t.delete_file(r.rel)?,
        None => {}
    }
    docs.stage(t)?;
    let mut w = Writer::new(store);
    refs::stage_delete_bases(store, t, r.ty.as_str(), r.name)?;
    refs::stage_delete_source(store, t, r.ty.as_str(), r.name)?;
    history::stage_log_with(&mut w, t, &r.command, &r.with)
}
