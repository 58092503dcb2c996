use super::*;

/// How an update treats local modifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Overwrite them with the upstream content.
    Upstream,
    /// Keep them; the artifact is not updated.
    Local,
    /// Ask (through the caller's callback).
    Prompt,
    /// Three-way merge of the local files with the new upstream, against the upstream
    /// version last fetched (the base): changes on one side are taken, text changed on both
    /// sides is merged line by line, and conflicts are marked and reported.
    Merge,
}

/// What happened to one artifact in an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateAction {
    Updated,
    UpToDate,
    /// Local modifications kept (strategy `local`, or declined at the prompt).
    KeptLocal,
    /// Local modifications merged with the new upstream (strategy `merge`).
    Merged,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateOutcome {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub action: UpdateAction,
    pub locally_modified: bool,
    pub content_hash: String,
    pub resolved_sha: Option<String>,
    /// Conflicts a merge left (marked in the files, or reported); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<super::threeway::MergeConflict>,
}

/// One artifact to update, with its source already fetched.
pub struct UpdateInput {
    pub name: String,
    pub ty: ArtifactType,
    pub fetched: Fetched,
}

impl Collection {
    /// Updates artifacts from their fetched sources, all in ONE transaction: every one of
    /// them or none. `ask(name, ty)` decides for an artifact with local modifications under
    /// [`Strategy::Prompt`] (`None`: no terminal to ask; the update fails before any change).
    ///
    /// When anything changes, the same transaction takes an automatic snapshot of the
    /// collection before the update (returned) and records every updated artifact's fetched
    /// content as its base.
    pub fn update(
        &mut self,
        inputs: &[UpdateInput],
        strategy: Strategy,
        ask: &mut dyn FnMut(&str, ArtifactType) -> Option<bool>,
    ) -> Result<(Vec<UpdateOutcome>, Option<SnapshotOutcome>)> {
        // Decide everything before the transaction starts.
        let mut plans = Vec::new();
        let mut no_terminal = Vec::new();
        for input in inputs {
            let (name, ty) = (input.name.as_str(), input.ty);
            let artifact = self.find(name, Some(ty))?;
            let (_, abs) = self.storage(name, ty)?;
            let Some(disk) = self.disk_hash(name, ty)? else {
                // Missing files are not a local modification to keep or overwrite: the user
                // must decide (restore them, or remove the artifact).
                return Err(CollectionError::FilesMissing {
                    name: name.to_string(),
                    ty,
                    path: abs,
                });
            };
            let locked = self.lock_hash(name, ty)?;
            let upstream = fetched_hash(&input.fetched)?;
            // The lock's hash sees contents only; the base (what was last fetched) also
            // records kinds, modes and links, so a change of those alone is a change.
            let base = match &locked {
                Some(key) => refs::get_base(&self.store, ty.as_str(), name, key)?,
                None => None,
            };
            let base_shape = base
                .as_ref()
                .map(|b| Shape::of_base(&self.store, b))
                .transpose()?;
            let disk_shape = self.disk_shape(name, ty)?;
            let up_shape = Shape::of_fetched(&input.fetched);
            let modified = Some(&disk) != locked.as_ref()
                || base_shape.as_ref().is_some_and(|b| !b.same(&disk_shape));
            let upstream_changed = Some(&upstream) != locked.as_ref()
                || match &base_shape {
                    Some(b) => !b.same(&up_shape),
                    // No record of what was fetched: whatever differs from upstream is taken
                    // from upstream (a local change of modes alone cannot be told apart).
                    None => !modified && !disk_shape.same(&up_shape),
                };
            let action = if !modified && !upstream_changed {
                UpdateAction::UpToDate
            } else if !modified {
                UpdateAction::Updated
            } else {
                match strategy {
                    Strategy::Upstream => UpdateAction::Updated,
                    Strategy::Local => UpdateAction::KeptLocal,
                    // Upstream unchanged: nothing to merge, the local files stay.
                    Strategy::Merge if !upstream_changed => UpdateAction::UpToDate,
                    Strategy::Merge => UpdateAction::Merged,
                    Strategy::Prompt => match ask(name, ty) {
                        Some(true) => UpdateAction::Updated,
                        Some(false) => UpdateAction::KeptLocal,
                        None => {
                            no_terminal.push(format!("{ty} {name}"));
                            UpdateAction::KeptLocal
                        }
                    },
                }
            };
            let merge_plan = if action == UpdateAction::Merged {
                let Some(base) = &base else {
                    return Err(CollectionError::NoBase {
                        name: name.to_string(),
                        ty,
                    });
                };
                let (rel, abs) = self.storage(name, ty)?;
                Some(super::threeway::plan_merge(
                    &self.store,
                    ty,
                    name,
                    &rel,
                    &abs,
                    base,
                    &input.fetched,
                )?)
            } else {
                None
            };
            plans.push((input, artifact, action, modified, upstream, merge_plan));
        }
        if !no_terminal.is_empty() {
            return Err(CollectionError::PromptWithoutTerminal { names: no_terminal });
        }
        let now = now_timestamp();
        let mut outcomes = Vec::new();
        let writes = |a: UpdateAction| matches!(a, UpdateAction::Updated | UpdateAction::Merged);
        let changing = plans.iter().any(|p| writes(p.2));
        let names: Vec<String> = plans
            .iter()
            .filter(|p| writes(p.2))
            .map(|p| p.0.name.clone())
            .collect();
        let cap = if changing {
            Some(capture_now(&self.store, &self.dir, self.engine.is_some())?)
        } else {
            None
        };
        let mut txn = if changing {
            let label = format!("update {}", names.join(", "));
            Some(writable(&mut self.engine, &self.dir)?.begin(&label)?)
        } else {
            None
        };
        let mut docs = self.docs.edit();
        for (input, _artifact, action, modified, upstream, merge_plan) in &plans {
            let (name, ty) = (input.name.as_str(), input.ty);
            let f = &input.fetched;
            if writes(*action) {
                let t = txn.as_mut().expect("a transaction for changes");
                // The artifact's files exist (checked above), so its type directory does.
                let rel = ty.storage_path(name)?;
                // The artifact's files exist (checked above), so its type directory does.
                match merge_plan {
                    // The merged files; the lock records the upstream content (the local
                    // changes on top of it show as local modifications, as they are).
                    Some(p) => super::threeway::stage(&self.store, t, &rel, p)?,
                    None => {
                        let staged = stage_content(t, &rel, f)?;
                        if &staged != upstream {
                            return Err(CollectionError::SourceChanged {
                                path: source_path(f),
                            });
                        }
                    }
                }
                // SkillMeat re-extracts the metadata on update; the tags stay as they are.
                if let Some(text) = front_matter_source(f) {
                    docs.manifest
                        .set_metadata(name, ty, &frontmatter::metadata(&text))?;
                }
                let mut a = docs.manifest.artifact_mut(name, ty)?;
                a.set_upstream(f.upstream.as_deref());
                a.set_version_spec(f.version_spec.as_deref());
                a.set_resolved_sha(f.resolved_sha.as_deref());
                a.set_resolved_version(f.resolved_version.as_deref());
                a.set_last_updated(Some(&now));
                a.set_string(FIELD_SOURCE, &f.skillwal_source)?;
                match &f.skillwal_path {
                    Some(p) => a.set_string(FIELD_PATH, p)?,
                    None => drop(a.remove_string(FIELD_PATH)?),
                }
                match &f.skillwal_ref {
                    Some(r) => a.set_string(FIELD_REF, r)?,
                    None => drop(a.remove_string(FIELD_REF)?),
                }
                let mut entry = LockEntry::new(name, ty, upstream, &now)?;
                entry.upstream = f.upstream.clone();
                entry.resolved_sha = f.resolved_sha.clone();
                entry.resolved_version = f.resolved_version.clone();
                docs.lock.set_entry(&entry)?;
            }
            outcomes.push(UpdateOutcome {
                name: name.to_string(),
                ty: ty.as_str().to_string(),
                action: *action,
                locally_modified: *modified,
                content_hash: upstream.clone(),
                resolved_sha: f.resolved_sha.clone(),
                conflicts: merge_plan
                    .as_ref()
                    .map(|p| p.conflicts.clone())
                    .unwrap_or_default(),
            });
        }
        let mut snapshot = None;
        if let (Some(mut t), Some(cap)) = (txn, cap) {
            docs.manifest.set_updated(&now);
            docs.stage(&mut t)?;
            let mut w = Writer::new(&self.store);
            snapshot = Some(stage_auto_snapshot(
                &mut w,
                &mut t,
                &cap,
                &format!("before update {}", names.join(", ")),
                self.snapshot_keep,
            )?);
            for (input, artifact, action, _, upstream, _) in &plans {
                if writes(*action) {
                    let (ty, name, f) = (input.ty, input.name.as_str(), &input.fetched);
                    stage_base(&self.store, &mut w, &mut t, ty, name, upstream, f)?;
                    let source = source_ref(artifact, f);
                    stage_source(&self.store, &mut w, &mut t, ty, name, &source)?;
                }
            }
            docs.commit(t)?;
            cap.save_stat_cache(&self.store, true);
        }
        Ok((outcomes, snapshot))
    }
}
