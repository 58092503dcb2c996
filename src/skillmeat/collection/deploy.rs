//! Deploying a collection's artifacts into a project, and how each deployment stands
//! (`docs/skillmeat-deploy-format.md`; README, "Deploying to projects").
//!
//! A deploy is one transaction in the project (its root is the project directory): every
//! artifact's files in every profile root asked for, and each profile root's tracking file,
//! together; after a crash the project is exactly before or after it. The collection is only
//! read, while its lock is held (so it is read as one state): a transaction across the two
//! would buy nothing but a second barrier (wal-spec.md §15).
//!
//! The collection remembers the projects it deployed to in `deployments` in its engine
//! directory, written durably *before* the project's transaction: a crash between the two
//! leaves a project listed with nothing of the collection deployed, which `deployments`
//! shows as such; never a deployment that is not listed.

use super::*;
use crate::engine::open_several;
use crate::skillmeat::format::deployed::{DEPLOYED_FILE_NAME, Deployment, NewRecord, record_name};
use crate::skillmeat::project::profiles::Profile;
use crate::skillmeat::project::pylock::PythonLocks;
use crate::skillmeat::project::{self, Project, Tracking};
use crate::skillmeat::source;
use std::fmt;

/// The file in a collection's engine directory listing the projects it deployed to.
pub const DEPLOYMENTS_FILE: &str = "deployments";

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployRequest<'a> {
    /// The artifacts, by name and type.
    pub artifacts: &'a [(String, ArtifactType)],
    /// The profiles to deploy to (at least one).
    pub profiles: &'a [&'static Profile],
    /// Replace a project copy that has local changes (they are lost) instead of refusing.
    pub overwrite: bool,
    /// Only what is deployed already (recorded in the profile): bring it up to date.
    pub refresh: bool,
    /// Merge a project copy's local changes with the collection's version, three-way, with
    /// the version deployed as the base (conflicts are marked and reported), instead of
    /// refusing.
    pub merge: bool,
}

/// What deploy did for one artifact in one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployAction {
    /// Its files were not in the project; now they are, and recorded.
    Deployed,
    /// The project's copy was replaced (it had no local changes, or `overwrite`).
    Replaced,
    /// The project's copy was already the collection's; only the record was written (the
    /// Python tool's "auto-link").
    Recorded,
    /// The project copy's local changes merged with the collection's version (three-way,
    /// the version deployed as the base); the record names the collection's version.
    Merged,
    /// Already deployed and in sync; nothing written.
    Unchanged,
    /// The profile does not take the artifact's type (several profiles asked for).
    Skipped,
}

/// One artifact in one profile, after a deploy.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    /// The artifact's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type", serialize_with = "type_name")]
    pub ty: ArtifactType,
    /// The profile's id.
    pub profile: &'static str,
    /// Where, relative to the project (`.claude/skills/alpha`).
    pub path: String,
    /// What was done.
    pub action: DeployAction,
    /// SkillMeat's hash of what is deployed (`None` when skipped).
    pub content_hash: Option<String>,
    /// Entries of the collection's copy that are never deployed (`.git/`, `__pycache__/`…).
    pub left_out: Vec<String>,
    /// What a merge could not reconcile (marked in the files, or reported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<super::threeway::MergeConflict>,
}

/// What [`Collection::deploy`] did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    /// Per artifact and profile, in the order asked.
    pub items: Vec<Deployed>,
    /// Whether a transaction was committed (false when nothing needed writing).
    pub committed: bool,
    /// The project's operation log record of the deploy (`None` when nothing was written),
    /// which `undo --project` reverses it with.
    pub record: Option<Recorded>,
}

/// How one file of a project copy differs from the collection's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Relative to the artifact (the file's name for a command or agent).
    pub path: String,
    /// `changed`, `added` (only in the project) or `deleted` (only in the collection).
    pub change: &'static str,
}

/// A deployment whose project copy has local changes.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    /// The artifact's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Where, relative to the project.
    pub path: String,
    /// The files that differ from the collection's copy.
    pub files: Vec<FileChange>,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({}", self.ty, self.name, self.path)?;
        if !self.files.is_empty() {
            let files: Vec<String> = self
                .files
                .iter()
                .map(|c| format!("{} {}", c.path, c.change))
                .collect();
            write!(f, ": {}", files.join(", "))?;
        }
        write!(f, ")")
    }
}

/// How a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftState {
    /// The project's copy is what was deployed, and the collection has not changed it.
    InSync,
    /// Changed in the project since it was deployed; the collection has not changed it.
    Modified,
    /// The collection has a newer version; the project's copy is as deployed.
    Outdated,
    /// Changed in the project and in the collection.
    Conflict,
    /// The deployed files are gone from the project.
    Missing,
    /// The collection no longer holds the artifact (or its files).
    NotInCollection,
    /// Deployed from another collection than the one asked about; only the project side is
    /// judged (`project_modified`).
    OtherCollection,
    /// A type skillwal does not deploy (hooks, MCP servers…); not judged.
    UnknownType,
}

/// One record of a project, judged.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentStatus {
    /// The profile root (`.claude`).
    pub root: String,
    /// The record as read.
    pub record: Deployment,
    /// How it stands.
    pub state: DriftState,
    /// Whether the project's copy differs from what was deployed (`None` when missing or not
    /// judged).
    pub project_modified: Option<bool>,
    /// The files of the project's copy that differ from the collection's copy (when the
    /// project's copy changed and the collection holds the artifact).
    pub files: Vec<FileChange>,
    /// SkillMeat's hash of the project's copy.
    pub project_hash: Option<String>,
    /// SkillMeat's hash of what a deploy would write now.
    pub collection_hash: Option<String>,
}

/// A project the collection deployed to, and what of the collection is deployed there.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectDeployments {
    /// The project's directory.
    pub project: PathBuf,
    /// Whether it is still there.
    pub present: bool,
    /// The records there that came from this collection.
    pub records: Vec<Deployment>,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// One deployment planned.
struct Planned {
    fetched: usize,
    profile: &'static Profile,
    artifact_path: String,
    dest_rel: String,
    action: DeployAction,
    merge: Option<super::threeway::MergePlan>,
}

impl Collection {
    /// Opens the collection at `dir` and the project at `project` together, locked in
    /// their identities' order (wal-spec.md §2, promise 14), each recovered.
    pub fn open_with_project(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        project_dir: &Path,
        opts: &OpenOptions,
    ) -> Result<((Collection, RecoveryReport), (Project, RecoveryReport))> {
        Project::check_dir(fs.as_ref(), project_dir)?;
        if project_dir.starts_with(dir) || dir.starts_with(project_dir) {
            return Err(CollectionError::BadProject {
                dir: project_dir.to_path_buf(),
                reason: format!(
                    "is the collection {} or holds it or is inside it; deploy into a project of its own",
                    dir.display()
                ),
            });
        }
        let location = Collection::locate_for_open(&fs, dir, opts)?;
        let roots = vec![
            (fs.clone(), location.layout.clone()),
            (fs.clone(), Project::layout(project_dir)),
        ];
        // Recovery in the project holds the Python tool's locks of what it changes.
        let locks = project::recovery_locks(fs.as_ref(), project_dir)?;
        let mut engines = open_several(&roots, opts)?;
        let project_engine = engines.pop().expect("two opened");
        let engine = engines.pop().expect("two opened");
        let collection = Collection::with_engine(fs.clone(), dir, location, engine)?;
        let project = Project::with_engine(fs, project_dir, project_engine)?;
        drop(locks);
        Ok((collection, project))
    }

    /// The collection's name as records name it (`from_collection`): the manifest's.
    pub fn name(&self) -> Result<String> {
        Ok(self.manifest()?.collection.name.clone())
    }

    /// Deploys `req.artifacts` into `project` for each of `req.profiles`, as one transaction
    /// in the project (see the module documentation), durably. Holds the Python tool's
    /// lock files of every profile root and destination while it reads and writes them.
    ///
    /// Refuses, changing nothing: an artifact not in the collection, or whose files are
    /// missing or a link; a profile that does not take a type (one profile asked for); a
    /// destination that is a link; and a project copy with local changes unless
    /// `req.overwrite` ([`CollectionError::LocalChanges`], naming every file).
    pub fn deploy(&self, project: &mut Project, req: &DeployRequest<'_>) -> Result<DeployOutcome> {
        let from = self.name()?;
        let pfs = project.file_system().clone();
        let pdir = project.dir().to_path_buf();
        let mut locks = PythonLocks::default();
        for p in req.profiles {
            project.root_kind(p.root)?;
            locks.take(pfs.as_ref(), &pdir.join(p.root).join(DEPLOYED_FILE_NAME))?;
        }
        let mut trackings: BTreeMap<&'static str, Tracking> = BTreeMap::new();
        for p in req.profiles {
            trackings.insert(p.root, project.tracking(p.root)?);
        }
        let mut fetched: Vec<(String, ArtifactType, Fetched, String)> = Vec::new();
        let mut planned: Vec<Planned> = Vec::new();
        let mut items: Vec<Deployed> = Vec::new();
        let mut changed: Vec<Changed> = Vec::new();
        for (name, ty) in req.artifacts {
            let (name, ty) = (name.as_str(), *ty);
            self.find(name, Some(ty))?;
            let (artifact_path, src_abs) = self.storage(name, ty)?;
            self.check_storage(name, ty, &src_abs)?;
            let f = source::fetch_in(self.fs.clone(), &SourceSpec::Local(src_abs), ty)?;
            let hash = fetched_hash(&f)?;
            let index = fetched.len();
            for p in req.profiles {
                let dest_rel = format!("{}/{artifact_path}", p.root);
                if !p.takes(ty) {
                    if req.refresh {
                        continue;
                    }
                    if req.profiles.len() == 1 {
                        return Err(CollectionError::ProfileRefuses {
                            profile: p.id.into(),
                            ty,
                            name: name.into(),
                        });
                    }
                    items.push(Deployed {
                        name: name.into(),
                        ty,
                        profile: p.id,
                        path: dest_rel,
                        action: DeployAction::Skipped,
                        content_hash: None,
                        left_out: Vec::new(),
                        conflicts: Vec::new(),
                    });
                    continue;
                }
                let dest_abs = pdir.join(&dest_rel);
                let tracking = &trackings[p.root];
                let recorded = tracking
                    .file
                    .position(name, ty.as_str(), p.id)
                    .map(|i| tracking.file.records()[i].content_hash.clone());
                if req.refresh && recorded.is_none() {
                    continue;
                }
                locks.take(pfs.as_ref(), &dest_abs)?;
                let on_disk = project_hash(pfs.as_ref(), &dest_abs, ty)?;
                let mut merge = None;
                let action = match on_disk {
                    OnDisk::Absent => DeployAction::Deployed,
                    OnDisk::Link => {
                        return Err(CollectionError::BadProject {
                            dir: dest_abs,
                            reason: "is a symbolic link where the artifact goes; skillwal never replaces a link in a project: remove it yourself".into(),
                        });
                    }
                    OnDisk::Hashed(h) if h == hash => {
                        if recorded.as_deref() == Some(hash.as_str()) {
                            DeployAction::Unchanged
                        } else {
                            DeployAction::Recorded
                        }
                    }
                    OnDisk::Hashed(h) if recorded.as_deref() == Some(h.as_str()) => {
                        DeployAction::Replaced
                    }
                    _ if req.overwrite => DeployAction::Replaced,
                    OnDisk::Hashed(_) if req.merge => {
                        let base = match &recorded {
                            Some(h) => refs::get_base(&self.store, ty.as_str(), name, h)?,
                            None => None,
                        };
                        let Some(base) = base else {
                            return Err(CollectionError::NoDeployedBase {
                                name: name.into(),
                                ty,
                                path: dest_abs,
                            });
                        };
                        merge = Some(super::threeway::plan_merge(
                            &self.store,
                            ty,
                            name,
                            &dest_rel,
                            &dest_abs,
                            &base,
                            &f,
                        )?);
                        DeployAction::Merged
                    }
                    _ => {
                        changed.push(Changed {
                            name: name.into(),
                            ty: ty.as_str().into(),
                            path: dest_rel.clone(),
                            files: file_changes(pfs.clone(), &dest_abs, ty, &f)?,
                        });
                        continue;
                    }
                };
                planned.push(Planned {
                    fetched: index,
                    profile: p,
                    artifact_path: artifact_path.clone(),
                    dest_rel,
                    action,
                    merge,
                });
            }
            fetched.push((name.to_owned(), ty, f, hash));
        }
        if !changed.is_empty() {
            return Err(CollectionError::LocalChanges { changed });
        }
        let writes = planned.iter().any(|p| p.action != DeployAction::Unchanged);
        if writes {
            self.register_project(&pdir)?;
        }
        let mut hashes: Vec<Option<String>> = vec![None; planned.len()];
        let mut record = None;
        if writes {
            let names: Vec<&str> = fetched.iter().map(|f| f.0.as_str()).collect();
            let label = format!("deploy {} from {from}", names.join(", "));
            let writes: Vec<ProjectWrite<'_>> = planned
                .iter()
                .map(|p| {
                    let (name, ty, f, hash) = &fetched[p.fetched];
                    ProjectWrite {
                        profile: p.profile,
                        name,
                        ty: *ty,
                        artifact_path: &p.artifact_path,
                        dest_rel: &p.dest_rel,
                        content: match p.action {
                            DeployAction::Deployed | DeployAction::Replaced => Some(f),
                            _ => None,
                        },
                        merged: p.merge.as_ref(),
                        record: p.action != DeployAction::Unchanged,
                        hash,
                    }
                })
                .collect();
            let pstore = project.store().clone();
            let mut t = project.engine().begin(&label)?;
            hashes = stage_project(
                &mut t,
                pfs.as_ref(),
                &pdir,
                &from,
                &writes,
                &mut trackings,
                &self.store,
            )?;
            record = project::stage_log(&pstore, &mut t, &label, &[])?;
            t.commit_durable()?;
        }
        drop(locks);
        for (i, p) in planned.iter().enumerate() {
            let (name, ty, f, hash) = &fetched[p.fetched];
            items.push(Deployed {
                name: name.clone(),
                ty: *ty,
                profile: p.profile.id,
                path: p.dest_rel.clone(),
                action: p.action,
                content_hash: Some(hashes[i].clone().unwrap_or_else(|| hash.clone())),
                left_out: f.ignored.clone(),
                conflicts: p
                    .merge
                    .as_ref()
                    .map(|m| m.conflicts.clone())
                    .unwrap_or_default(),
            });
        }
        Ok(DeployOutcome {
            items,
            committed: writes,
            record,
        })
    }

    /// Fails unless the artifact's files are there and not a link.
    pub(super) fn check_storage(&self, name: &str, ty: ArtifactType, abs: &Path) -> Result<()> {
        match self.kind(abs)? {
            None => Err(CollectionError::FilesMissing {
                name: name.into(),
                ty,
                path: abs.to_path_buf(),
            }),
            Some(FileKind::Symlink) => Err(CollectionError::LinkedStorage {
                name: name.into(),
                ty,
                path: abs.to_path_buf(),
            }),
            Some(_) => Ok(()),
        }
    }

    /// Every record of `project`, judged against this collection (see [`DriftState`]).
    pub fn deployment_status(&self, project: &Project) -> Result<Vec<DeploymentStatus>> {
        self.deployment_status_in(project.file_system().clone(), project.dir())
    }

    /// [`Collection::deployment_status`] of the project at `pdir`, read through `pfs`
    /// without opening it: for a project that has no skillwal state to recover (one
    /// skillwal never wrote), so that a look creates nothing there.
    pub fn deployment_status_in(
        &self,
        pfs: Arc<dyn FileSystem>,
        pdir: &Path,
    ) -> Result<Vec<DeploymentStatus>> {
        let from = self.name()?;
        let mut out = Vec::new();
        for tracking in project::all_tracking(pfs.as_ref(), pdir)? {
            for record in tracking.file.records() {
                out.push(self.judge(pfs.clone(), pdir, &tracking.root, record, &from)?);
            }
        }
        Ok(out)
    }

    fn judge(
        &self,
        pfs: Arc<dyn FileSystem>,
        pdir: &Path,
        root: &str,
        record: &Deployment,
        from: &str,
    ) -> Result<DeploymentStatus> {
        let mut status = DeploymentStatus {
            root: root.to_owned(),
            record: record.clone(),
            state: DriftState::UnknownType,
            project_modified: None,
            files: Vec::new(),
            project_hash: None,
            collection_hash: None,
        };
        let Ok(ty) = record.artifact_type.parse::<ArtifactType>() else {
            return Ok(status);
        };
        let dest_abs = deployed_path(pdir, root, &record.artifact_path)?;
        let on_disk = project_hash(pfs.as_ref(), &dest_abs, ty)?;
        let project_hash = match on_disk {
            OnDisk::Absent => {
                status.state = DriftState::Missing;
                return Ok(status);
            }
            OnDisk::Hashed(h) => Some(h),
            OnDisk::Link | OnDisk::OtherKind => None,
        };
        let p_changed = project_hash.as_deref() != Some(record.content_hash.as_str());
        status.project_modified = Some(p_changed);
        status.project_hash = project_hash;
        if record.from_collection != from {
            status.state = DriftState::OtherCollection;
            return Ok(status);
        }
        let name = record_name(&record.artifact_name);
        let here = self
            .docs
            .manifest()?
            .manifest()?
            .artifact(name, ty)
            .is_some();
        let (_, src_abs) = self.storage(name, ty)?;
        if !here || self.check_storage(name, ty, &src_abs).is_err() {
            status.state = DriftState::NotInCollection;
            return Ok(status);
        }
        let f = source::fetch_in(self.fs.clone(), &SourceSpec::Local(src_abs), ty)?;
        let c_hash = fetched_hash(&f)?;
        let c_changed = c_hash != record.content_hash;
        status.collection_hash = Some(c_hash);
        status.state = match (p_changed, c_changed) {
            (false, false) => DriftState::InSync,
            (true, false) => DriftState::Modified,
            (false, true) => DriftState::Outdated,
            (true, true) => DriftState::Conflict,
        };
        if p_changed {
            status.files = file_changes(pfs, &dest_abs, ty, &f)?;
        }
        Ok(status)
    }

    /// Adds `project` to the projects this collection deployed to, durably, if it is not
    /// listed (see the module documentation).
    fn register_project(&self, project: &Path) -> Result<()> {
        let Some(path) = self.deployments_file() else {
            return Ok(());
        };
        let mut listed = self.registered_projects()?;
        if listed.iter().any(|p| p == project) {
            return Ok(());
        }
        listed.push(project.to_path_buf());
        let mut text = String::from(
            "# Projects this collection deployed to (skillwal; one absolute path per line)\n",
        );
        for p in &listed {
            text.push_str(&p.to_string_lossy());
            text.push('\n');
        }
        Ok(crate::fs::write_atomically(
            self.fs.as_ref(),
            &path,
            text.as_bytes(),
        )?)
    }

    fn deployments_file(&self) -> Option<PathBuf> {
        self.engine
            .as_ref()
            .map(|e| e.layout().meta.join(DEPLOYMENTS_FILE))
    }

    /// The projects this collection deployed to, as listed.
    pub fn registered_projects(&self) -> Result<Vec<PathBuf>> {
        Collection::registered_projects_of(&self.fs, &self.dir)
    }

    /// The projects the collection at `dir` deployed to, as listed, read without its lock
    /// (the file is replaced whole): to know which projects to open with it, then checked
    /// again under the lock.
    pub fn registered_projects_of(fs: &Arc<dyn FileSystem>, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = super::state::locate(fs, dir)?
            .layout
            .meta
            .join(DEPLOYMENTS_FILE);
        let text = crate::fs::read_small_text(fs.as_ref(), &path, DOCUMENT_BYTES_MAX as u64)?;
        Ok(text
            .map(|(t, _)| {
                t.lines()
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Where this collection's artifacts are deployed: every listed project, with the
    /// records there that came from this collection (read from the project's tracking files,
    /// without its lock: each file is replaced whole). Only projects skillwal deployed to
    /// are listed.
    pub fn deployments(&self) -> Result<Vec<ProjectDeployments>> {
        let from = self.name()?;
        let mut out = Vec::new();
        for dir in self.registered_projects()? {
            let present = self
                .fs
                .metadata(&dir)
                .is_ok_and(|m| m.kind == FileKind::Dir);
            let mut entry = ProjectDeployments {
                project: dir.clone(),
                present,
                records: Vec::new(),
                error: None,
            };
            if present {
                match project::all_tracking(self.fs.as_ref(), &dir) {
                    Ok(all) => {
                        for t in all {
                            entry.records.extend(
                                t.file
                                    .records()
                                    .iter()
                                    .filter(|r| r.from_collection == from)
                                    .cloned(),
                            );
                        }
                    }
                    Err(e) => entry.error = Some(e.to_string()),
                }
            }
            out.push(entry);
        }
        Ok(out)
    }
}

/// One deployment to write in a project's transaction.
pub(super) struct ProjectWrite<'a> {
    pub profile: &'static Profile,
    pub name: &'a str,
    pub ty: ArtifactType,
    /// Relative to the profile root (`skills/alpha`).
    pub artifact_path: &'a str,
    /// Relative to the project (`.claude/skills/alpha`).
    pub dest_rel: &'a str,
    /// The files to put there; `None`: they are there already (or `merged`).
    pub content: Option<&'a Fetched>,
    /// A merge's result to put there instead.
    pub merged: Option<&'a super::threeway::MergePlan>,
    /// Whether its record is written.
    pub record: bool,
    /// SkillMeat's hash of the content (used for a record without content).
    pub hash: &'a str,
}

/// Stages `writes` in `t`, a transaction in the project at `pdir`: a missing profile root
/// or type directory created, each content put (bytes and modes), each record written into
/// its profile root's tracking file (`trackings`, as read under the Python locks), and each
/// tracking file that changed put whole (mode 0600). Returns, per write, the hash recorded
/// (`None` for a write with neither content nor record).
pub(super) fn stage_project(
    t: &mut Transaction<'_>,
    pfs: &dyn FileSystem,
    pdir: &Path,
    from: &str,
    writes: &[ProjectWrite<'_>],
    trackings: &mut BTreeMap<&'static str, Tracking>,
    store: &Store,
) -> Result<Vec<Option<String>>> {
    let now = now_timestamp();
    let mut made: HashSet<String> = HashSet::new();
    let mut touched: HashSet<&'static str> = HashSet::new();
    let mut hashes = Vec::with_capacity(writes.len());
    for w in writes {
        let hash = match w.content {
            Some(f) => {
                for d in [
                    w.profile.root.to_owned(),
                    format!("{}/{}", w.profile.root, w.ty.dir_name()),
                ] {
                    if !made.contains(&d) && !is_dir(pfs, &pdir.join(&d)) {
                        t.create_dir(&d, 0o755)?;
                        made.insert(d);
                    }
                }
                Some(stage_content(t, w.dest_rel, f, store.progress())?)
            }
            // The record names the collection's version merged in: the copy's local changes
            // on top of it show as such, and it is the base of the next merge.
            None if w.merged.is_some() => {
                let m = w.merged.expect("checked");
                super::threeway::stage(store, t, w.dest_rel, m)?;
                Some(w.hash.to_owned())
            }
            None if w.record => Some(w.hash.to_owned()),
            None => None,
        };
        if w.record {
            let tracking = trackings
                .get_mut(w.profile.root)
                .expect("every profile root written is read first");
            tracking.file.upsert(&NewRecord {
                artifact_name: w.name,
                artifact_type: w.ty.as_str(),
                from_collection: from,
                deployed_at: &now,
                artifact_path: w.artifact_path,
                content_hash: hash.as_deref().expect("set above"),
                profile_id: w.profile.id,
                platform: w.profile.platform,
                profile_root_dir: w.profile.root,
            });
            touched.insert(w.profile.root);
        }
        hashes.push(hash);
    }
    for (root, tracking) in trackings.iter() {
        if touched.contains(root) {
            let path = format!("{root}/{DEPLOYED_FILE_NAME}");
            t.put_bytes(&path, tracking.file.render().as_bytes(), 0o600)?;
        }
    }
    Ok(hashes)
}

/// `<project>/<root>/<artifact_path>`, refusing a recorded path that is absolute or leaves
/// the profile root.
pub(crate) fn deployed_path(pdir: &Path, root: &str, artifact_path: &str) -> Result<PathBuf> {
    let rel = Path::new(artifact_path);
    let ok = !artifact_path.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !ok {
        return Err(CollectionError::BadProject {
            dir: pdir.join(root).join(DEPLOYED_FILE_NAME),
            reason: format!(
                "a record's artifact_path {artifact_path:?} is not a path inside the profile root"
            ),
        });
    }
    Ok(pdir.join(root).join(rel))
}

fn type_name<S: serde::Serializer>(
    ty: &ArtifactType,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(ty.as_str())
}

fn is_dir(fs: &dyn FileSystem, p: &Path) -> bool {
    fs.metadata(p).is_ok_and(|m| m.kind == FileKind::Dir)
}

/// What a project holds where an artifact is deployed.
enum OnDisk {
    Absent,
    Link,
    /// A file where a skill's directory goes, or the reverse.
    OtherKind,
    /// SkillMeat's hash of it (as the Python `status` computes it: every file).
    Hashed(String),
}

/// SkillMeat's hash of what is at `path` in a project when it is the artifact's kind (not a
/// link); `None` otherwise.
pub(super) fn project_hash_of(
    fs: &dyn FileSystem,
    path: &Path,
    ty: ArtifactType,
) -> Result<Option<String>> {
    Ok(match project_hash(fs, path, ty)? {
        OnDisk::Hashed(h) => Some(h),
        _ => None,
    })
}

fn project_hash(fs: &dyn FileSystem, path: &Path, ty: ArtifactType) -> Result<OnDisk> {
    let kind = match fs.metadata(path) {
        Ok(m) => m.kind,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OnDisk::Absent),
        Err(e) => return Err(io("stat", path)(e)),
    };
    Ok(match (kind, ty.is_directory()) {
        (FileKind::Symlink, _) => OnDisk::Link,
        (FileKind::Dir, true) | (FileKind::File, false) => {
            OnDisk::Hashed(content_hash_in(fs, path, ty)?)
        }
        _ => OnDisk::OtherKind,
    })
}

/// The files of the project's copy at `dest` that differ from `collection`'s (what a
/// deploy would write), by path: changed, added in the project, deleted there.
fn file_changes(
    pfs: Arc<dyn FileSystem>,
    dest: &Path,
    ty: ArtifactType,
    collection: &Fetched,
) -> Result<Vec<FileChange>> {
    let ours = digests(collection)?;
    let theirs = match source::fetch_in(pfs, &SourceSpec::Local(dest.to_path_buf()), ty) {
        Ok(f) => digests(&f)?,
        // Not a copy that can be listed (a link, the wrong kind): all of it differs.
        Err(_) => BTreeMap::new(),
    };
    let mut out = Vec::new();
    for (path, d) in &theirs {
        match ours.get(path) {
            Some(o) if o == d => {}
            Some(_) => out.push(FileChange {
                path: path.clone(),
                change: "changed",
            }),
            None => out.push(FileChange {
                path: path.clone(),
                change: "added",
            }),
        }
    }
    for path in ours.keys() {
        if !theirs.contains_key(path) {
            out.push(FileChange {
                path: path.clone(),
                change: "deleted",
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// SHA-256 of every file (a link: of its target's text, marked) of a fetched copy, by
/// relative path (a command's or agent's file by its name).
fn digests(f: &Fetched) -> Result<BTreeMap<String, [u8; 32]>> {
    let fs = f.file_system().as_ref();
    let mut out = BTreeMap::new();
    let mut buf = vec![0u8; crate::limits::STREAM_BUFFER_BYTES];
    match &f.kind {
        FetchedKind::File { path, size, .. } => {
            let mut sha = Sha256::new();
            SourceFile::open(fs, path, *size, &mut sha)?.drain(&mut buf)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            out.insert(name, sha.finalize().into());
        }
        FetchedKind::Dir { entries, .. } => {
            for e in entries.iter().filter(|e| !e.is_dir) {
                let mut sha = Sha256::new();
                match &e.link {
                    Some(target) => {
                        sha.update(b"link\0");
                        sha.update(target);
                    }
                    None => {
                        SourceFile::open(fs, &e.abs, e.size, &mut sha)?.drain(&mut buf)?;
                    }
                }
                out.insert(e.rel.clone(), sha.finalize().into());
            }
        }
    }
    Ok(out)
}
