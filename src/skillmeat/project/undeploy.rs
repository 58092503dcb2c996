//! Undeploying: an artifact's files and its record go together, in one transaction in the
//! project (the Python tool removes the files, then rewrites the record: a crash between
//! leaves a record of files that are gone, `docs/skillmeat-deploy-format.md` §5.7).

use super::pylock::PythonLocks;
use super::{Project, Tracking};
use crate::fs::FileKind;
use crate::skillmeat::collection::deploy::deployed_path;
use crate::skillmeat::collection::{CollectionError, Recorded, Result};
use crate::skillmeat::format::deployed::{DEPLOYED_FILE_NAME, record_name};
use crate::skillmeat::names::ArtifactType;
use serde::Serialize;
use std::collections::BTreeSet;

/// One record removed by [`Project::undeploy`].
#[derive(Debug, Clone, Serialize)]
pub struct Undeployed {
    /// The artifact's name as recorded.
    pub name: String,
    /// Its type as recorded.
    #[serde(rename = "type")]
    pub ty: String,
    /// The profile's id.
    pub profile: String,
    /// Where it was, relative to the project.
    pub path: String,
    /// Whether its files were there to remove (a record of missing files is only dropped).
    pub files_removed: bool,
}

/// What [`Project::undeploy`] did.
#[derive(Debug, Clone, Serialize)]
pub struct UndeployOutcome {
    /// Per record removed.
    pub undeployed: Vec<Undeployed>,
    /// The project's operation log record of the undeploy, which `undo --project` reverses
    /// it with.
    pub record: Option<Recorded>,
}

impl Project {
    /// Removes every deployment of each of `names` (of type `ty` when given; in the profile
    /// `profile` when given): files and records, in one transaction, durably. Holds the
    /// Python tool's lock files while it reads and writes.
    ///
    /// Fails, changing nothing, when a name is not deployed
    /// ([`CollectionError::NotDeployed`], naming what is) or names deployments of two types
    /// and `ty` is not given ([`CollectionError::Ambiguous`]).
    pub fn undeploy(
        &mut self,
        names: &[String],
        ty: Option<ArtifactType>,
        profile: Option<&str>,
    ) -> Result<UndeployOutcome> {
        let fs = self.fs.clone();
        let mut locks = PythonLocks::default();
        for t in self.all_tracking()? {
            locks.take(
                fs.as_ref(),
                &self.dir.join(&t.root).join(DEPLOYED_FILE_NAME),
            )?;
        }
        // Read again under the locks.
        let mut trackings: Vec<Tracking> = self.all_tracking()?;
        let mut chosen: Vec<(usize, usize)> = Vec::new();
        for name in names {
            let want = record_name(name);
            let mut found: Vec<(usize, usize)> = Vec::new();
            for (ti, t) in trackings.iter().enumerate() {
                for (ri, r) in t.file.records().iter().enumerate() {
                    if record_name(&r.artifact_name) == want
                        && ty.is_none_or(|ty| r.artifact_type == ty.as_str())
                        && profile.is_none_or(|p| r.profile_id == p)
                    {
                        found.push((ti, ri));
                    }
                }
            }
            if found.is_empty() {
                let deployed = trackings
                    .iter()
                    .flat_map(|t| t.file.records())
                    .map(|r| format!("{} ({})", r.artifact_name, r.artifact_type))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                return Err(CollectionError::NotDeployed {
                    name: name.clone(),
                    project: self.dir.clone(),
                    deployed,
                });
            }
            let types: BTreeSet<&str> = found
                .iter()
                .map(|&(ti, ri)| trackings[ti].file.records()[ri].artifact_type.as_str())
                .collect();
            if types.len() > 1 {
                return Err(CollectionError::Ambiguous {
                    name: name.clone(),
                    types: types
                        .iter()
                        .filter_map(|t| t.parse::<ArtifactType>().ok())
                        .collect(),
                });
            }
            for f in found {
                if !chosen.contains(&f) {
                    chosen.push(f);
                }
            }
        }
        let mut out = Vec::new();
        let label = format!("undeploy {}", names.join(", "));
        let mut t = self.engine.begin(&label)?;
        for &(ti, ri) in &chosen {
            let root = trackings[ti].root.clone();
            let r = trackings[ti].file.records()[ri].clone();
            let abs = deployed_path(&self.dir, &root, &r.artifact_path)?;
            locks.take(fs.as_ref(), &abs)?;
            let rel = format!("{root}/{}", r.artifact_path);
            let kind = match fs.metadata(&abs) {
                Ok(m) => Some(m.kind),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(CollectionError::Io(crate::error::IoError::new(
                        "stat", &abs, e,
                    )));
                }
            };
            match kind {
                Some(FileKind::Dir) => t.delete_tree(&rel)?,
                Some(_) => t.delete_file(&rel)?,
                None => {}
            }
            out.push(Undeployed {
                name: r.artifact_name.clone(),
                ty: r.artifact_type.clone(),
                profile: r.profile_id.clone(),
                path: rel,
                files_removed: kind.is_some(),
            });
        }
        // Remove records from the end, so indices stay valid.
        let mut by_file: Vec<(usize, usize)> = chosen.clone();
        by_file.sort_unstable_by(|a, b| b.cmp(a));
        for (ti, ri) in by_file {
            trackings[ti].file.remove(ri);
        }
        let touched: BTreeSet<usize> = chosen.iter().map(|&(ti, _)| ti).collect();
        for ti in touched {
            let path = format!("{}/{DEPLOYED_FILE_NAME}", trackings[ti].root);
            t.put_bytes(&path, trackings[ti].file.render().as_bytes(), 0o600)?;
        }
        let record = super::stage_log(&self.store, &mut t, &label, &[])?;
        t.commit_durable()?;
        drop(locks);
        Ok(UndeployOutcome {
            undeployed: out,
            record,
        })
    }
}
