//! `pull NAME --project DIR`: a project copy's changes taken into the collection, and the
//! project's record brought along, in ONE transaction across the collection and the project
//! (wal-spec.md §15.4). The Python `sync-pull` replaces the collection's files, then
//! rewrites the lock, and forgets the project's record, which then reports a conflict
//! between identical copies; a crash between its steps leaves a stale lock hash.
//!
//! The collection's part: the artifact's files replaced with the project's copy (bytes,
//! modes, links), the manifest's `updated`, and the operation log's record of the change.
//! Its lock entry is left as it is: the lock records what was fetched from the artifact's
//! source, and the pulled files are changes on top of it — so `status` shows them as local
//! modifications and the next `update` asks, merges or keeps them (its strategy) instead of
//! overwriting them silently. The project's part: the record's hash set to its copy's, so
//! both tools see it in sync.

use super::deploy::{ProjectWrite, deployed_path, project_hash_of, stage_project};
use super::*;
use crate::engine::begin_across;
use crate::skillmeat::format::deployed::{DEPLOYED_FILE_NAME, record_name};
use crate::skillmeat::project::profiles;
use crate::skillmeat::project::pylock::PythonLocks;
use crate::skillmeat::project::{self, Project, Tracking};
use crate::skillmeat::source;

/// What [`Collection::pull`] did.
#[derive(Debug, Clone, Serialize)]
pub struct PullOutcome {
    /// The artifact's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The profile its copy was taken from.
    pub profile: String,
    /// The copy, relative to the project.
    pub path: String,
    /// `pulled` (the collection took the project's copy), `recorded` (the two were the same
    /// already; only the record was brought up to date) or `unchanged`.
    pub action: &'static str,
    /// SkillMeat's hash of the copy, as the record now says.
    pub content_hash: String,
    /// The collection's operation log record of the pull (`undo` reverses it there).
    pub record: Option<Recorded>,
    /// The identity of the transaction across the collection and the project.
    pub transaction_across: Option<String>,
}

impl Collection {
    /// Takes the project's copy of `name` (of type `ty`; from the profile `profile`, needed
    /// when it is deployed in several) into the collection, with the project's record, in
    /// one transaction across the two (see the module documentation), durably.
    ///
    /// Refuses, changing nothing: an artifact not deployed from this collection there, or
    /// not in the collection; a copy that is missing, a link, or holds names a collection
    /// never keeps (`.git/` …); and a collection copy that changed since the deploy too
    /// (both changed: pulling would lose the collection's changes) unless `overwrite`.
    pub fn pull(
        &mut self,
        project: &mut Project,
        name: &str,
        ty: ArtifactType,
        profile: Option<&str>,
        overwrite: bool,
    ) -> Result<PullOutcome> {
        let from = self.name()?;
        let pfs = project.file_system().clone();
        let pdir = project.dir().to_path_buf();
        let mut locks = PythonLocks::default();
        let mut trackings: BTreeMap<&'static str, Tracking> = BTreeMap::new();
        for t in project.all_tracking()? {
            if let Some(p) = profiles::PROFILES.iter().find(|p| p.root == t.root) {
                locks.take(pfs.as_ref(), &pdir.join(p.root).join(DEPLOYED_FILE_NAME))?;
                trackings.insert(p.root, project.tracking(p.root)?);
            }
        }
        let mut found = Vec::new();
        for (root, t) in &trackings {
            for r in t.file.records() {
                if r.from_collection == from
                    && record_name(&r.artifact_name) == name
                    && r.artifact_type == ty.as_str()
                    && profile.is_none_or(|p| r.profile_id == p)
                {
                    found.push((*root, r.clone()));
                }
            }
        }
        let (root, record) = match found.as_slice() {
            [] => {
                return Err(CollectionError::NotDeployed {
                    name: name.into(),
                    project: pdir,
                    deployed: trackings
                        .values()
                        .flat_map(|t| t.file.records())
                        .filter(|r| r.from_collection == from)
                        .map(|r| {
                            format!(
                                "{} ({}, {})",
                                r.artifact_name, r.artifact_type, r.profile_id
                            )
                        })
                        .collect(),
                });
            }
            [one] => one.clone(),
            several => {
                return Err(CollectionError::BadProject {
                    dir: pdir,
                    reason: format!(
                        "{ty} {name} is deployed in several profiles ({}); name one with --profile",
                        several
                            .iter()
                            .map(|(_, r)| r.profile_id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        };
        let Some(prof) = profiles::profile(&record.profile_id) else {
            return Err(CollectionError::UnknownProfile {
                id: record.profile_id.clone(),
                known: profiles::profile_ids(),
            });
        };
        let dest_abs = deployed_path(&pdir, root, &record.artifact_path)?;
        let dest_rel = format!("{root}/{}", record.artifact_path);
        locks.take(pfs.as_ref(), &dest_abs)?;
        let project_hash = project_hash_of(pfs.as_ref(), &dest_abs, ty)?.ok_or_else(|| {
            CollectionError::BadProject {
                dir: dest_abs.clone(),
                reason: "is missing, a symbolic link or not the artifact's kind: nothing to pull"
                    .into(),
            }
        })?;
        self.find(name, Some(ty))?;
        let (rel, src_abs) = self.storage(name, ty)?;
        self.check_storage(name, ty, &src_abs)?;
        let ours = source::fetch_in(self.fs.clone(), &SourceSpec::Local(src_abs), ty)?;
        let collection_hash = fetched_hash(&ours)?;
        let mut outcome = PullOutcome {
            name: name.into(),
            ty: ty.as_str().into(),
            profile: prof.id.into(),
            path: dest_rel.clone(),
            action: "unchanged",
            content_hash: project_hash.clone(),
            record: None,
            transaction_across: None,
        };
        let record_write = ProjectWrite {
            profile: prof,
            name,
            ty,
            artifact_path: &record.artifact_path,
            dest_rel: &dest_rel,
            content: None,
            merged: None,
            record: true,
            hash: &project_hash,
        };
        if project_hash == collection_hash {
            if record.content_hash != project_hash {
                // Only the record is behind: the project's part alone.
                let label = format!("record {ty} {name}");
                let pstore = project.store().clone();
                let mut t = project.engine().begin(&label)?;
                stage_project(
                    &mut t,
                    pfs.as_ref(),
                    &pdir,
                    &from,
                    &[record_write],
                    &mut trackings,
                    &self.store,
                )?;
                project::stage_log(&pstore, &mut t, &label, &[])?;
                t.commit_durable()?;
                outcome.action = "recorded";
            }
            return Ok(outcome);
        }
        if collection_hash != record.content_hash && !overwrite {
            return Err(CollectionError::PullConflict {
                name: name.into(),
                ty,
                path: dest_abs,
            });
        }
        let theirs = source::fetch_in(pfs.clone(), &SourceSpec::Local(dest_abs.clone()), ty)?;
        if !theirs.ignored.is_empty() {
            return Err(CollectionError::WouldLeaveOut {
                name: name.into(),
                ty,
                path: dest_abs,
                entries: theirs.ignored.clone(),
            });
        }
        let now = now_timestamp();
        let label = format!("pull {ty} {name} from {}", pdir.display());
        let Collection {
            engine,
            dir,
            docs,
            store,
            ..
        } = self;
        // The collection's record and the project's name each other (store-spec.md §4.5):
        // an undo of either undoes the pull in both. The ids are read first.
        let pstore = project.store().clone();
        let coll_id = crate::store::log::next_id(store)?;
        let project_id = crate::store::log::next_id(&pstore)?;
        let to_project = LogLink::to_project(dir, &pdir, project_id);
        let to_collection = LogLink::between(&pdir, dir, coll_id);
        let engines = vec![writable(engine, dir)?, project.engine()];
        // Only `[collection] updated` changes in the documents: a window of the head.
        let mut edit = docs.edit_items(&[])?;
        let mut t = begin_across(engines, 0, &label)?;
        let pulled = stage_content(t.part(0), &rel, &theirs, store.progress())?;
        edit.manifest().set_updated(&now);
        edit.stage(t.part(0))?;
        if pulled != fetched_hash(&theirs)? {
            // The copy changed while it was staged: not what was judged.
            return Err(CollectionError::SourceChanged {
                path: dest_abs.clone(),
            });
        }
        stage_project(
            t.part(1),
            pfs.as_ref(),
            &pdir,
            &from,
            &[record_write],
            &mut trackings,
            store,
        )?;
        let mut w = Writer::new(store);
        let record = history::stage_log_with(&mut w, t.part(0), &label, &[to_project])?;
        let precord = project::stage_log(&pstore, t.part(1), &label, &[to_collection])?;
        if record.map(|r| r.id) != Some(coll_id) || precord.map(|r| r.id) != Some(project_id) {
            return Err(CollectionError::LinkedRecord {
                id: coll_id,
                dir: dir.clone(),
                reason: "a record of the pull took an unexpected id".into(),
            });
        }
        outcome.transaction_across = Some(t.global_id());
        t.commit()?;
        edit.committed_elsewhere();
        drop(locks);
        outcome.action = "pulled";
        outcome.record = record;
        Ok(outcome)
    }
}
