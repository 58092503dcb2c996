use super::*;

impl Collection {
    /// Adds the fetched artifact as `name`: its files, its manifest entry and its lock
    /// entry, in one transaction made durable before this returns.
    pub fn add(&mut self, ty: ArtifactType, name: &str, fetched: &Fetched) -> Result<LockEntry> {
        validate_artifact_name(name).map_err(|reason| CollectionError::InvalidName {
            name: name.to_string(),
            reason,
        })?;
        if self.docs.manifest.contains_artifact(name, ty) {
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
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&format!("add {ty} {name}"))?;
        let mut docs = self.docs.edit();
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
        docs.manifest.add_artifact(&artifact)?;
        docs.manifest.set_updated(&now);
        let mut entry = LockEntry::new(name, ty, &hash, &now)?;
        entry.upstream = fetched.upstream.clone();
        entry.resolved_sha = fetched.resolved_sha.clone();
        entry.resolved_version = fetched.resolved_version.clone();
        docs.lock.set_entry(&entry)?;
        docs.stage(&mut t)?;
        let mut w = Writer::new(&self.store);
        stage_base(&self.store, &mut w, &mut t, ty, name, &hash, fetched)?;
        let source = source_ref(&artifact, fetched);
        stage_source(&self.store, &mut w, &mut t, ty, name, &source)?;
        docs.commit(t)?;
        Ok(entry)
    }

    /// Removes an artifact: its files (unless `keep_files`), its manifest entry and its
    /// lock entry, in one transaction. Missing files are fine.
    ///
    /// An automatic snapshot of the collection before the removal is part of the same
    /// transaction; it is returned.
    pub fn remove(
        &mut self,
        name: &str,
        ty: ArtifactType,
        keep_files: bool,
    ) -> Result<SnapshotOutcome> {
        if !self.docs.manifest.contains_artifact(name, ty) {
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
        let cap = capture_now(&self.store, &self.dir, self.engine.is_some())?;
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&format!("remove {ty} {name}"))?;
        let mut docs = self.docs.edit();
        docs.manifest.remove_artifact(name, ty)?;
        docs.manifest.set_updated(&now);
        if docs.lock.contains_entry(name, ty) {
            docs.lock.remove_entry(name, ty)?;
        }
        if let Some(kind) = on_disk {
            if kind == FileKind::Dir {
                t.delete_tree(&rel)?;
            } else {
                t.delete_file(&rel)?;
            }
        }
        docs.stage(&mut t)?;
        let mut w = Writer::new(&self.store);
        let snap = stage_auto_snapshot(
            &mut w,
            &mut t,
            &cap,
            &format!("before remove {ty} {name}"),
            self.snapshot_keep,
        )?;
        refs::stage_delete_bases(&self.store, &mut t, ty.as_str(), name)?;
        refs::stage_delete_source(&self.store, &mut t, ty.as_str(), name)?;
        docs.commit(t)?;
        cap.save_stat_cache(&self.store, true);
        Ok(snap)
    }
}
