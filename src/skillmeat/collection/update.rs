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

/// The answer to the question [`Strategy::Prompt`] asks about one artifact with local
/// modifications: what to do with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Overwrite them with the upstream content.
    Upstream,
    /// Keep them; the artifact is not updated.
    Local,
    /// Merge them with the upstream content, three-way, as [`Strategy::Merge`] does.
    Merge,
}

impl From<Answer> for Strategy {
    fn from(a: Answer) -> Strategy {
        match a {
            Answer::Upstream => Strategy::Upstream,
            Answer::Local => Strategy::Local,
            Answer::Merge => Strategy::Merge,
        }
    }
}

/// What happened to one artifact in an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateAction {
    /// Its files were replaced with the upstream content.
    Updated,
    /// Nothing to do: no upstream change (or nothing to merge).
    UpToDate,
    /// Local modifications kept (strategy `local`, or declined at the prompt).
    KeptLocal,
    /// Local modifications merged with the new upstream (strategy `merge`).
    Merged,
}

/// What an update did to one artifact.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateOutcome {
    /// The artifact's name.
    pub name: String,
    /// Its type (`skill`, `command`, `agent`).
    #[serde(rename = "type")]
    pub ty: String,
    /// What was done.
    pub action: UpdateAction,
    /// Whether its files had local modifications.
    pub locally_modified: bool,
    /// Its `content_hash` after the update (the lock's).
    pub content_hash: String,
    /// The commit of a git source, when there is one.
    pub resolved_sha: Option<String>,
    /// Conflicts a merge left (marked in the files, or reported); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<super::threeway::MergeConflict>,
    /// Entries of the source left out because their names are ignored
    /// ([`crate::skillmeat::source::Fetched::ignored`]).
    pub ignored: Vec<String>,
}

/// One artifact to update, with its source already fetched.
pub struct UpdateInput {
    /// The artifact's name.
    pub name: String,
    /// Its type.
    pub ty: ArtifactType,
    /// Its source, fetched (shared: one fetch serves every collection of an update across
    /// collections whose artifact has the same source).
    pub fetched: Arc<Fetched>,
}

/// What an update will do to one artifact, decided before its transaction starts.
pub(super) struct Planned<'a> {
    input: &'a UpdateInput,
    artifact: Artifact,
    pub(super) action: UpdateAction,
    /// The files differ from what the lock (or the base's shape) records.
    pub(super) modified: bool,
    /// The fetched content's SkillMeat hash, which the lock will record.
    pub(super) upstream: String,
    /// The merged files, for [`UpdateAction::Merged`].
    merge: Option<super::threeway::MergePlan>,
}

impl Planned<'_> {
    /// Whether the artifact's files and documents change.
    pub(super) fn writes(&self) -> bool {
        matches!(self.action, UpdateAction::Updated | UpdateAction::Merged)
    }

    pub(super) fn outcome(&self) -> UpdateOutcome {
        UpdateOutcome {
            name: self.input.name.clone(),
            ty: self.input.ty.as_str().to_string(),
            action: self.action,
            locally_modified: self.modified,
            content_hash: self.upstream.clone(),
            resolved_sha: self.input.fetched.resolved_sha.clone(),
            conflicts: self
                .merge
                .as_ref()
                .map(|p| p.conflicts.clone())
                .unwrap_or_default(),
            ignored: self.input.fetched.ignored.clone(),
        }
    }
}

/// How the files on disk and the fetched upstream compare with what was last fetched.
struct Comparison {
    modified: bool,
    upstream_changed: bool,
    upstream: String,
    base: Option<refs::BaseRef>,
}

/// The action for an artifact in `cmp`'s situation under `strategy`; `None` when the
/// strategy is to ask and there is no terminal to ask.
fn choose(
    cmp: &Comparison,
    strategy: Strategy,
    ask: &mut dyn FnMut() -> Option<Answer>,
) -> Option<UpdateAction> {
    Some(if !cmp.modified && !cmp.upstream_changed {
        UpdateAction::UpToDate
    } else if !cmp.modified {
        UpdateAction::Updated
    } else {
        match strategy {
            Strategy::Upstream => UpdateAction::Updated,
            Strategy::Local => UpdateAction::KeptLocal,
            // Upstream unchanged: nothing to merge, the local files stay.
            Strategy::Merge if !cmp.upstream_changed => UpdateAction::UpToDate,
            Strategy::Merge => UpdateAction::Merged,
            // The answer is a strategy for this artifact alone.
            Strategy::Prompt => return choose(cmp, ask()?.into(), &mut || None),
        }
    })
}

/// What [`Collection::update_across`] did: per collection (in the order given), what
/// happened to each artifact and the operation log's record of the change, if anything
/// changed.
#[derive(Debug)]
pub struct UpdatedAcross {
    /// Per collection, as [`Collection::update`] returns it.
    pub collections: Vec<(Vec<UpdateOutcome>, Option<Recorded>)>,
    /// The identity of the transaction across the collections (hex, as `journal inspect`
    /// shows it), when more than one collection changed.
    pub across: Option<String>,
}

impl Collection {
    /// Updates artifacts from their fetched sources, all in ONE transaction: every one of
    /// them or none. `ask(name, ty)` decides for an artifact with local modifications under
    /// [`Strategy::Prompt`], each artifact on its own ([`Answer`]; `None`: no terminal to
    /// ask, and the update fails before any change).
    ///
    /// When anything changes, the same transaction writes the operation log's record of it
    /// (returned: `undo` reverses the update with it) and records every updated artifact's
    /// fetched content as its base. Nothing reads or lists the rest of the collection.
    pub fn update(
        &mut self,
        inputs: &[UpdateInput],
        strategy: Strategy,
        ask: &mut dyn FnMut(&str, ArtifactType) -> Option<Answer>,
    ) -> Result<(Vec<UpdateOutcome>, Option<Recorded>)> {
        let mut ask = |_: &Path, name: &str, ty: ArtifactType| ask(name, ty);
        let mut done = Collection::update_across(&mut [(self, inputs)], strategy, &mut ask)?;
        Ok(done.collections.pop().expect("one collection"))
    }

    /// Updates artifacts in several collections, each from its fetched sources, all in ONE
    /// transaction across the collections (wal-spec.md §14): every artifact in every
    /// collection, or nothing anywhere. Each collection is planned and recorded as
    /// [`Collection::update`] does; `ask(dir, name, ty)` decides for an artifact with
    /// local modifications in the collection at `dir`. When only one collection changes,
    /// its transaction is an ordinary one; the first collection that changes coordinates.
    ///
    /// Every collection must be open for writing, and they must be distinct (as
    /// [`Collection::open_several`] opens them). Fails, changing nothing, as planning fails
    /// in any collection (an artifact not there, its files missing, no terminal to ask);
    /// when more than [`crate::limits::ROOTS_PER_TXN_MAX`] collections change; and as a
    /// transaction fails.
    pub fn update_across(
        parts: &mut [(&mut Collection, &[UpdateInput])],
        strategy: Strategy,
        ask: &mut dyn FnMut(&Path, &str, ArtifactType) -> Option<Answer>,
    ) -> Result<UpdatedAcross> {
        // Decide everything, in every collection, before any transaction starts.
        let mut plans: Vec<Vec<Planned<'_>>> = Vec::with_capacity(parts.len());
        let mut no_terminal = Vec::new();
        for (c, inputs) in parts.iter() {
            let mut planned = Vec::with_capacity(inputs.len());
            for input in inputs.iter() {
                let mut ask_here = |name: &str, ty: ArtifactType| ask(&c.dir, name, ty);
                match c.plan_update(input, strategy, &mut ask_here)? {
                    Some(p) => planned.push(p),
                    None if parts.len() == 1 => {
                        no_terminal.push(format!("{} {}", input.ty, input.name));
                    }
                    None => no_terminal.push(format!(
                        "{} {} in {}",
                        input.ty,
                        input.name,
                        c.dir.display()
                    )),
                }
            }
            plans.push(planned);
        }
        if !no_terminal.is_empty() {
            return Err(CollectionError::PromptWithoutTerminal { names: no_terminal });
        }
        let mut done = UpdatedAcross {
            collections: plans
                .iter()
                .map(|p| (p.iter().map(Planned::outcome).collect(), None))
                .collect(),
            across: None,
        };
        let writing: Vec<usize> = (0..plans.len())
            .filter(|&i| plans[i].iter().any(Planned::writes))
            .collect();
        match writing.as_slice() {
            [] => {}
            [only] => {
                let record = parts[*only].0.commit_update(&plans[*only])?;
                done.collections[*only].1 = record;
            }
            _ => {
                let mut changing: Vec<&mut Collection> = parts
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| writing.contains(i))
                    .map(|(_, (c, _))| &mut **c)
                    .collect();
                let plans: Vec<&[Planned<'_>]> =
                    writing.iter().map(|&i| plans[i].as_slice()).collect();
                let (records, across) = commit_update_across(&mut changing, &plans)?;
                for (i, r) in writing.iter().zip(records) {
                    done.collections[*i].1 = r;
                }
                done.across = Some(across);
            }
        }
        Ok(done)
    }

    /// What updating each of `inputs` will do, in their order; fails as planning fails, and
    /// with [`CollectionError::PromptWithoutTerminal`] when one has local modifications, the
    /// strategy is to ask, and there is no terminal to ask.
    pub(super) fn plan_all<'a>(
        &self,
        inputs: &'a [UpdateInput],
        strategy: Strategy,
        ask: &mut dyn FnMut(&Path, &str, ArtifactType) -> Option<Answer>,
    ) -> Result<Vec<Planned<'a>>> {
        let mut planned = Vec::with_capacity(inputs.len());
        let mut no_terminal = Vec::new();
        for input in inputs {
            let mut ask_here = |name: &str, ty: ArtifactType| ask(&self.dir, name, ty);
            match self.plan_update(input, strategy, &mut ask_here)? {
                Some(p) => planned.push(p),
                None => no_terminal.push(format!("{} {}", input.ty, input.name)),
            }
        }
        if !no_terminal.is_empty() {
            return Err(CollectionError::PromptWithoutTerminal { names: no_terminal });
        }
        Ok(planned)
    }

    /// What updating `input` will do. `None`: it has local modifications, the strategy is to
    /// ask, and there is no terminal to ask.
    fn plan_update<'a>(
        &self,
        input: &'a UpdateInput,
        strategy: Strategy,
        ask: &mut dyn FnMut(&str, ArtifactType) -> Option<Answer>,
    ) -> Result<Option<Planned<'a>>> {
        let (name, ty) = (input.name.as_str(), input.ty);
        let artifact = self.find(name, Some(ty))?;
        let cmp = self.compare(input)?;
        let Some(action) = choose(&cmp, strategy, &mut || ask(name, ty)) else {
            return Ok(None);
        };
        let merge = if action == UpdateAction::Merged {
            let Some(base) = &cmp.base else {
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
        Ok(Some(Planned {
            input,
            artifact,
            action,
            modified: cmp.modified,
            upstream: cmp.upstream,
            merge,
        }))
    }

    /// Compares the files on disk and the fetched upstream with the lock and the base.
    fn compare(&self, input: &UpdateInput) -> Result<Comparison> {
        let (name, ty) = (input.name.as_str(), input.ty);
        let Some(disk) = self.disk_hash(name, ty)? else {
            // Missing files are not a local modification to keep or overwrite: the user
            // must decide (restore them, or remove the artifact).
            return Err(CollectionError::FilesMissing {
                name: name.to_string(),
                ty,
                path: self.storage(name, ty)?.1,
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
        Ok(Comparison {
            modified,
            upstream_changed,
            upstream,
            base,
        })
    }

    /// The one transaction of an update that changes something in this collection only:
    /// see [`stage_update`].
    pub(super) fn commit_update(&mut self, plans: &[Planned<'_>]) -> Result<Option<Recorded>> {
        let now = now_timestamp();
        let mut t = writable(&mut self.engine, &self.dir)?.begin(&update_label(plans))?;
        let keys = written_keys(plans);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut docs = self.docs.edit_items(&keys)?;
        let record = stage_update(&self.store, &mut docs, &mut t, plans, &now, &[])?;
        docs.commit(t)?;
        Ok(record)
    }
}

/// The artifacts (`<name>::<type>`) whose documents an update planned as `plans` changes:
/// what [`Documents::edit_items`] needs.
pub(super) fn written_keys(plans: &[Planned<'_>]) -> Vec<String> {
    plans
        .iter()
        .filter(|p| p.writes())
        .map(|p| lock_key(&p.input.name, p.input.ty))
        .collect()
}

/// `update <names>`: the label of an update's transaction.
fn update_label(plans: &[Planned<'_>]) -> String {
    let names: Vec<&str> = plans
        .iter()
        .filter(|p| p.writes())
        .map(|p| p.input.name.as_str())
        .collect();
    format!("update {}", names.join(", "))
}

/// Stages in `t` one collection's part of an update: the files and documents of every
/// artifact `plans` writes, the new bases and source references, and last the operation
/// log's record of it all (returned).
pub(super) fn stage_update(
    store: &Store,
    docs: &mut Edit<'_>,
    t: &mut Transaction<'_>,
    plans: &[Planned<'_>],
    now: &str,
    with: &[LogLink],
) -> Result<Option<Recorded>> {
    for p in plans.iter().filter(|p| p.writes()) {
        stage_updated_files(store, t, p)?;
        record_update(docs, p, now)?;
    }
    docs.manifest().set_updated(now);
    docs.stage(t)?;
    let mut w = Writer::new(store);
    let label = update_label(plans);
    for p in plans.iter().filter(|p| p.writes()) {
        let (ty, name, f) = (p.input.ty, p.input.name.as_str(), &p.input.fetched);
        stage_base(store, &mut w, t, ty, name, &p.upstream, f)?;
        let source = source_ref(&p.artifact, f);
        stage_source(store, &mut w, t, ty, name, &source)?;
    }
    history::stage_log_with(&mut w, t, &label, with)
}

/// The one transaction across `changing` (two or more collections, the first the
/// coordinator) of an update that changes each of them by its `plans`: each collection's
/// part staged as [`stage_update`] stages it. Returns the log records, in order, and the
/// transaction's identity.
fn commit_update_across(
    changing: &mut [&mut Collection],
    plans: &[&[Planned<'_>]],
) -> Result<(Vec<Option<Recorded>>, String)> {
    let now = now_timestamp();
    let names: Vec<String> = plans.iter().map(|p| update_label(p)).collect();
    let dirs: Vec<String> = changing
        .iter()
        .map(|c| c.dir.display().to_string())
        .collect();
    let label = format!("{} in {}", names[0], dirs.join(", "));
    // Each collection's record names the others', so that an undo of any undoes the
    // update in all of them (store-spec.md §4.5); the ids are read before staging.
    let mut next_ids = Vec::with_capacity(changing.len());
    for c in changing.iter() {
        next_ids.push(crate::store::log::next_id(&c.store)?);
    }
    let paths: Vec<PathBuf> = changing.iter().map(|c| c.dir.clone()).collect();
    let links = |i: usize| -> Vec<LogLink> {
        (0..paths.len())
            .filter(|j| *j != i)
            .map(|j| LogLink::between(&paths[i], &paths[j], next_ids[j]))
            .collect()
    };
    // Each collection split into its fields: the engines go to the transaction, the rest
    // stays for staging.
    let mut engines = Vec::with_capacity(changing.len());
    let mut rest = Vec::with_capacity(changing.len());
    for c in changing.iter_mut() {
        let Collection {
            engine,
            dir,
            docs,
            store,
            ..
        } = &mut **c;
        engines.push(writable(engine, dir)?);
        let keys = written_keys(plans[rest.len()]);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        rest.push((&*store, docs.edit_items(&keys)?));
    }
    let mut t = crate::engine::begin_across(engines, 0, &label)?;
    let mut records = Vec::with_capacity(rest.len());
    for (i, (store, docs)) in rest.iter_mut().enumerate() {
        let part = t.part(i);
        let record = stage_update(store, docs, part, plans[i], &now, &links(i))?;
        if record.map(|r| r.id) != Some(next_ids[i]) {
            return Err(CollectionError::LinkedRecord {
                id: next_ids[i],
                dir: paths[i].clone(),
                reason: "its record took an unexpected id".into(),
            });
        }
        records.push(record);
    }
    let across = t.global_id();
    t.commit()?;
    for (_, docs) in rest {
        docs.committed_elsewhere();
    }
    Ok((records, across))
}

/// Stages the new files of `p`'s artifact: the fetched content, or the merged files.
fn stage_updated_files(store: &Store, t: &mut Transaction<'_>, p: &Planned<'_>) -> Result<()> {
    let (name, ty, f) = (p.input.name.as_str(), p.input.ty, &p.input.fetched);
    // The artifact's files exist (checked when planning), so its type directory does.
    let rel = ty.storage_path(name)?;
    match &p.merge {
        // The merged files; the lock records the upstream content (the local changes on top
        // of it show as local modifications, as they are).
        Some(m) => super::threeway::stage(store, t, &rel, m)?,
        None => {
            let staged = stage_content(t, &rel, f, store.progress())?;
            if staged != p.upstream {
                return Err(CollectionError::SourceChanged {
                    path: source_path(f),
                });
            }
        }
    }
    Ok(())
}

/// Records `p`'s update in the manifest and the lock, as SkillMeat does: the metadata
/// re-extracted from the front matter (the tags stay), the upstream fields, the new hash.
fn record_update(docs: &mut Edit<'_>, p: &Planned<'_>, now: &str) -> Result<()> {
    let (name, ty, f) = (p.input.name.as_str(), p.input.ty, &p.input.fetched);
    if let Some(text) = front_matter_source(f) {
        docs.manifest()
            .set_metadata(name, ty, &frontmatter::metadata(&text))?;
    }
    let mut a = docs.manifest().artifact_mut(name, ty)?;
    a.set_upstream(f.upstream.as_deref());
    a.set_version_spec(f.version_spec.as_deref());
    a.set_resolved_sha(f.resolved_sha.as_deref());
    a.set_resolved_version(f.resolved_version.as_deref());
    a.set_last_updated(Some(now));
    a.set_string(FIELD_SOURCE, &f.skillwal_source)?;
    match &f.skillwal_path {
        Some(path) => a.set_string(FIELD_PATH, path)?,
        None => drop(a.remove_string(FIELD_PATH)?),
    }
    match &f.skillwal_ref {
        Some(r) => a.set_string(FIELD_REF, r)?,
        None => drop(a.remove_string(FIELD_REF)?),
    }
    let mut entry = LockEntry::new(name, ty, &p.upstream, now)?;
    entry.upstream = f.upstream.clone();
    entry.resolved_sha = f.resolved_sha.clone();
    entry.resolved_version = f.resolved_version.clone();
    docs.lock().set_entry(&entry)?;
    Ok(())
}
