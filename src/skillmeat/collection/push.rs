//! `update NAME --deploy`: the collection's update and the refresh of every deployment of
//! the updated artifacts, in ONE transaction across the collection and the projects
//! (wal-spec.md §14, §15.4). After any crash, the collection and every project are all
//! before or all after.
//!
//! A deployment is refreshed when the collection's copy after the update is the fetched
//! content (the artifact was updated, or was up to date and unmodified) and the project's
//! copy is not that already. A project copy with local changes follows the update's
//! strategy: `upstream` replaces it, `local` keeps it (and its record), `prompt` asks, per
//! project copy, and `merge` merges the copy's local changes with the new version, three-way,
//! with the version deployed (the store's base under the record's hash) as the base, as
//! `deploy --merge` does.

use super::deploy::{DeployAction, ProjectWrite, deployed_path, stage_project};
use super::threeway::{MergeConflict, MergePlan};
use super::update::{Planned, UpdatedAcross};
use super::*;
use crate::engine::begin_across;
use crate::skillmeat::format::deployed::{DEPLOYED_FILE_NAME, record_name};
use crate::skillmeat::project::profiles::{self, Profile};
use crate::skillmeat::project::pylock::PythonLocks;
use crate::skillmeat::project::{self, Project, Tracking};

/// What happened to one deployment in an `update --deploy`.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    /// The project.
    pub project: PathBuf,
    /// The artifact's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The profile's id.
    pub profile: String,
    /// Relative to the project.
    pub path: String,
    /// `replaced`, `recorded` (the files were already the new ones), `unchanged`, or
    /// `kept-local` (local changes kept, not refreshed), `merged` (local changes merged
    /// with the new version), or `not-refreshed` (the collection's copy is not the fetched
    /// one: kept local or merged there).
    pub action: &'static str,
    /// Whether the project's copy had local changes.
    pub locally_modified: bool,
    /// What a merge into the project copy could not reconcile (marked in the files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<MergeConflict>,
}

/// What [`Collection::update_deploying`] did.
#[derive(Debug)]
pub struct UpdatedDeploying {
    /// The collection's update, as [`Collection::update`] returns it.
    pub updated: UpdatedAcross,
    /// Every deployment of the updated artifacts found in the projects.
    pub pushed: Vec<Pushed>,
}

/// One deployment to refresh, planned.
struct Refresh {
    project: usize,
    input: usize,
    profile: &'static Profile,
    artifact_path: String,
    dest_rel: String,
    action: DeployAction,
    merge: Option<MergePlan>,
}

impl Collection {
    /// Opens the collection at `dir` and the projects at `projects` together, locked in
    /// their identities' order (promise 14), each recovered. A project that is not a
    /// directory any more is left out (returned in the second list).
    #[allow(clippy::type_complexity)]
    pub fn open_with_projects(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        projects: &[PathBuf],
        opts: &OpenOptions,
    ) -> Result<(
        (Collection, RecoveryReport),
        Vec<(Project, RecoveryReport)>,
        Vec<PathBuf>,
    )> {
        let (present, gone): (Vec<&PathBuf>, Vec<&PathBuf>) = projects
            .iter()
            .partition(|p| Project::check_dir(fs.as_ref(), p).is_ok());
        let location = Collection::locate_for_open(&fs, dir, opts)?;
        let mut roots = vec![(fs.clone(), location.layout.clone())];
        // Recovery in each project holds the Python tool's locks of what it changes.
        let mut locks = Vec::with_capacity(present.len());
        for p in &present {
            roots.push((fs.clone(), Project::layout(p)));
            locks.push(crate::skillmeat::project::recovery_locks(fs.as_ref(), p)?);
        }
        let mut engines = crate::engine::open_several(&roots, opts)?.into_iter();
        let engine = engines.next().expect("the collection opened");
        let collection = Collection::with_engine(fs.clone(), dir, location, engine)?;
        let mut opened = Vec::with_capacity(present.len());
        for (e, p) in engines.zip(present) {
            opened.push(Project::with_engine(fs.clone(), p, e)?);
        }
        drop(locks);
        Ok((collection, opened, gone.into_iter().cloned().collect()))
    }

    /// Updates `inputs` in this collection as [`Collection::update`] does and refreshes
    /// every deployment of them in `projects` (see the module documentation), all in one
    /// transaction across the roots that change (an ordinary transaction when only one
    /// does). `ask(dir, name, ty)` decides for a copy with local modifications under
    /// [`Strategy::Prompt`]: in the collection (`dir` the collection's) or in a project.
    ///
    /// Fails, changing nothing anywhere, as [`Collection::update`] fails; when a tracking
    /// file cannot be read or a deployed path is a link; under `merge` when a project copy
    /// with local changes has no base kept for its record's hash
    /// ([`CollectionError::NoDeployedBase`]); and when more than 16 roots would change.
    pub fn update_deploying(
        &mut self,
        inputs: &[UpdateInput],
        strategy: Strategy,
        ask: &mut dyn FnMut(&Path, &str, ArtifactType) -> Option<Answer>,
        projects: &mut [Project],
    ) -> Result<UpdatedDeploying> {
        let from = self.name()?;
        let plans = self.plan_all(inputs, strategy, ask)?;
        // What each artifact's copy in the collection will be after the update.
        let pushable: Vec<Option<String>> = plans
            .iter()
            .map(|p| match p.action {
                UpdateAction::Updated => Some(p.upstream.clone()),
                UpdateAction::UpToDate if !p.modified => Some(p.upstream.clone()),
                _ => None,
            })
            .collect();
        let mut locks = PythonLocks::default();
        let mut trackings: Vec<BTreeMap<&'static str, Tracking>> = Vec::new();
        let mut refreshes: Vec<Refresh> = Vec::new();
        let mut pushed: Vec<Pushed> = Vec::new();
        let mut no_terminal = Vec::new();
        for (pi, project) in projects.iter().enumerate() {
            let pfs = project.file_system().clone();
            let pdir = project.dir().to_path_buf();
            let mut here: BTreeMap<&'static str, Tracking> = BTreeMap::new();
            for t in project.all_tracking()? {
                let Some(profile) = profiles::PROFILES.iter().find(|p| p.root == t.root) else {
                    continue;
                };
                locks.take(pfs.as_ref(), &pdir.join(&t.root).join(DEPLOYED_FILE_NAME))?;
                // Read again under the lock.
                here.insert(profile.root, project.tracking(profile.root)?);
            }
            for (root, t) in &here {
                for r in t.file.records() {
                    let Some(ii) = inputs.iter().position(|i| {
                        r.from_collection == from
                            && record_name(&r.artifact_name) == i.name
                            && r.artifact_type == i.ty.as_str()
                    }) else {
                        continue;
                    };
                    let Some(profile) = profiles::profile(&r.profile_id) else {
                        continue;
                    };
                    let ty = inputs[ii].ty;
                    let dest_abs = deployed_path(&pdir, root, &r.artifact_path)?;
                    let dest_rel = format!("{root}/{}", r.artifact_path);
                    let mut report = Pushed {
                        project: pdir.clone(),
                        name: inputs[ii].name.clone(),
                        ty: ty.as_str().into(),
                        profile: profile.id.into(),
                        path: dest_rel.clone(),
                        action: "not-refreshed",
                        locally_modified: false,
                        conflicts: Vec::new(),
                    };
                    let Some(new_hash) = &pushable[ii] else {
                        pushed.push(report);
                        continue;
                    };
                    locks.take(pfs.as_ref(), &dest_abs)?;
                    let on_disk = match pfs.metadata(&dest_abs) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                        Err(e) => return Err(io("stat", &dest_abs)(e)),
                        Ok(m) if m.kind == FileKind::Symlink => {
                            return Err(CollectionError::BadProject {
                                dir: dest_abs,
                                reason: "is a symbolic link where the artifact is deployed; skillwal never replaces a link in a project: remove it yourself".into(),
                            });
                        }
                        Ok(m) if (m.kind == FileKind::Dir) == ty.is_directory() => {
                            Some(content_hash_in(pfs.as_ref(), &dest_abs, ty)?)
                        }
                        Ok(_) => Some(String::new()),
                    };
                    let modified = on_disk.as_deref() != Some(r.content_hash.as_str());
                    report.locally_modified = modified && on_disk.is_some();
                    let mut merge = None;
                    let action = if on_disk.as_deref() == Some(new_hash.as_str()) {
                        if r.content_hash == *new_hash {
                            DeployAction::Unchanged
                        } else {
                            DeployAction::Recorded
                        }
                    } else if !modified || on_disk.is_none() {
                        DeployAction::Replaced
                    } else {
                        let choice = match strategy {
                            Strategy::Prompt => {
                                ask(&pdir, &inputs[ii].name, ty).map(Strategy::from)
                            }
                            other => Some(other),
                        };
                        match choice {
                            None => {
                                no_terminal.push(format!(
                                    "{ty} {} in {}",
                                    inputs[ii].name,
                                    pdir.display()
                                ));
                                continue;
                            }
                            Some(Strategy::Upstream) => DeployAction::Replaced,
                            Some(Strategy::Local) => {
                                report.action = "kept-local";
                                pushed.push(report);
                                continue;
                            }
                            Some(_) => {
                                let name = &inputs[ii].name;
                                let Some(base) = refs::get_base(
                                    &self.store,
                                    ty.as_str(),
                                    name,
                                    &r.content_hash,
                                )?
                                else {
                                    return Err(CollectionError::NoDeployedBase {
                                        name: name.clone(),
                                        ty,
                                        path: dest_abs,
                                    });
                                };
                                let plan = super::threeway::plan_merge(
                                    &self.store,
                                    ty,
                                    name,
                                    &dest_rel,
                                    &dest_abs,
                                    &base,
                                    &inputs[ii].fetched,
                                )?;
                                report.conflicts = plan.conflicts.clone();
                                merge = Some(plan);
                                DeployAction::Merged
                            }
                        }
                    };
                    report.action = match action {
                        DeployAction::Unchanged => "unchanged",
                        DeployAction::Recorded => "recorded",
                        DeployAction::Merged => "merged",
                        _ => "replaced",
                    };
                    pushed.push(report);
                    refreshes.push(Refresh {
                        project: pi,
                        input: ii,
                        profile,
                        artifact_path: r.artifact_path.clone(),
                        dest_rel,
                        action,
                        merge,
                    });
                }
            }
            trackings.push(here);
        }
        if !no_terminal.is_empty() {
            return Err(CollectionError::PromptWithoutTerminal { names: no_terminal });
        }
        let collection_writes = plans.iter().any(Planned::writes);
        let project_writes: Vec<usize> = (0..projects.len())
            .filter(|&pi| {
                refreshes
                    .iter()
                    .any(|r| r.project == pi && r.action != DeployAction::Unchanged)
            })
            .collect();
        let mut updated = UpdatedAcross {
            collections: vec![(plans.iter().map(Planned::outcome).collect(), None)],
            across: None,
        };
        let roots = usize::from(collection_writes) + project_writes.len();
        if roots > crate::limits::ROOTS_PER_TXN_MAX {
            return Err(CollectionError::Engine(crate::Error::Rejected {
                op: "update --deploy",
                path: self.dir.display().to_string(),
                reason: format!(
                    "{roots} roots would change together; at most {} can (update fewer artifacts at once)",
                    crate::limits::ROOTS_PER_TXN_MAX
                ),
            }));
        }
        if roots == 0 {
            return Ok(UpdatedDeploying { updated, pushed });
        }
        if roots == 1 && collection_writes {
            updated.collections[0].1 = self.commit_update(&plans)?;
            return Ok(UpdatedDeploying { updated, pushed });
        }
        // Everything a project's part writes, per project that changes.
        let writes_of = |pi: usize| -> Vec<ProjectWrite<'_>> {
            refreshes
                .iter()
                .filter(|r| r.project == pi && r.action != DeployAction::Unchanged)
                .map(|r| ProjectWrite {
                    profile: r.profile,
                    name: &inputs[r.input].name,
                    ty: inputs[r.input].ty,
                    artifact_path: &r.artifact_path,
                    dest_rel: &r.dest_rel,
                    content: (r.action == DeployAction::Replaced)
                        .then(|| &*inputs[r.input].fetched),
                    merged: r.merge.as_ref(),
                    record: true,
                    hash: pushable[r.input]
                        .as_deref()
                        .expect("only pushable ones refresh"),
                })
                .collect()
        };
        let label = format!(
            "update {} and its deployments",
            inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let now = now_timestamp();
        let Collection {
            engine,
            dir,
            docs,
            store,
            ..
        } = self;
        let mut engines: Vec<&mut Engine> = Vec::new();
        let mut edit = None;
        if collection_writes {
            engines.push(writable(engine, dir)?);
            let keys = super::update::written_keys(&plans);
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            edit = Some(docs.edit_items(&keys)?);
        }
        let mut pfs_dirs = Vec::new();
        for (pi, p) in projects.iter_mut().enumerate() {
            if project_writes.contains(&pi) {
                pfs_dirs.push((
                    pi,
                    p.file_system().clone(),
                    p.dir().to_path_buf(),
                    p.store().clone(),
                ));
                engines.push(p.engine());
            }
        }
        let mut record = None;
        if engines.len() == 1 {
            // Only one project changes: an ordinary transaction there (promise 15).
            let (pi, pfs, pdir, pstore) = &pfs_dirs[0];
            let mut t = engines.pop().expect("one").begin(&label)?;
            stage_project(
                &mut t,
                pfs.as_ref(),
                pdir,
                &from,
                &writes_of(*pi),
                &mut trackings[*pi],
                store,
            )?;
            project::stage_log(pstore, &mut t, &label, &[])?;
            t.commit_durable()?;
        } else {
            // Every root's record names the others' (store-spec.md §4.5), so that an undo of
            // any undoes the update and the refresh everywhere; the ids are read first.
            let mut roots: Vec<(PathBuf, u64, bool)> = Vec::new();
            if edit.is_some() {
                roots.push((dir.clone(), crate::store::log::next_id(store)?, false));
            }
            for (_, _, pdir, pstore) in &pfs_dirs {
                roots.push((pdir.clone(), crate::store::log::next_id(pstore)?, true));
            }
            let links = |k: usize| -> Vec<LogLink> {
                roots
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k)
                    .map(|(_, (to, id, project))| {
                        if *project {
                            LogLink::to_project(&roots[k].0, to, *id)
                        } else {
                            LogLink::between(&roots[k].0, to, *id)
                        }
                    })
                    .collect()
            };
            let mut t = begin_across(engines, 0, &label)?;
            let mut next = 0;
            if let Some(docs) = edit.as_mut() {
                record =
                    super::update::stage_update(store, docs, t.part(0), &plans, &now, &links(0))?;
                next = 1;
            }
            let mut ids = vec![record.map(|r| r.id)];
            ids.truncate(next);
            for (k, (pi, pfs, pdir, pstore)) in pfs_dirs.iter().enumerate() {
                stage_project(
                    t.part(next + k),
                    pfs.as_ref(),
                    pdir,
                    &from,
                    &writes_of(*pi),
                    &mut trackings[*pi],
                    store,
                )?;
                let r = project::stage_log(pstore, t.part(next + k), &label, &links(next + k))?;
                ids.push(r.map(|r| r.id));
            }
            for (k, id) in ids.iter().enumerate() {
                if *id != Some(roots[k].1) {
                    return Err(CollectionError::LinkedRecord {
                        id: roots[k].1,
                        dir: roots[k].0.clone(),
                        reason: "its record took an unexpected id".into(),
                    });
                }
            }
            updated.across = Some(t.global_id());
            t.commit()?;
            if let Some(docs) = edit {
                docs.committed_elsewhere();
            }
        }
        drop(locks);
        updated.collections[0].1 = record;
        Ok(UpdatedDeploying { updated, pushed })
    }
}
