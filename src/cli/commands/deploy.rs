//! deploy, undeploy, status --project, deployments.

use super::*;
use skillwal::skillmeat::collection::DeployRequest;
use skillwal::skillmeat::project::Project;
use skillwal::skillmeat::project::profiles::{self, Profile};

/// The profiles `ids` name (`claude_code` when none).
fn profiles_named(ids: &[String]) -> Result<Vec<&'static Profile>> {
    if ids.is_empty() {
        return Ok(vec![&profiles::PROFILES[0]]);
    }
    let mut out: Vec<&'static Profile> = Vec::new();
    for id in ids {
        let p = profiles::profile(id).ok_or_else(|| CollectionError::UnknownProfile {
            id: id.clone(),
            known: profiles::profile_ids(),
        })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Opens the collection and the project together (locked in identity order), waiting for
/// another holder unless `--no-wait`.
fn open_with_project(
    t: &Target,
    project: &Path,
    g: &Global,
    out: &Output,
) -> Result<(Collection, Project)> {
    let fs = file_system()?;
    let no_wait = OpenOptions {
        no_wait: true,
        ..Default::default()
    };
    let opened = match Collection::open_with_project(fs.clone(), &t.dir, project, &no_wait) {
        Err(CollectionError::Engine(Error::Locked { root, holder })) if !g.no_wait => {
            out.waiting(&root, holder.as_deref());
            Collection::open_with_project(fs, &t.dir, project, &OpenOptions::default())
        }
        other => other,
    };
    let ((mut c, creport), (p, preport)) = opened?;
    c.set_progress(out.reporter());
    c.set_log_retention(log_keep(t)?);
    out.recovered(&t.dir, &creport);
    out.recovered(project, &preport);
    Ok((c, p))
}

/// Opens the collection and the projects at `dirs` together (see
/// [`Collection::open_with_projects`]), waiting for another holder unless `--no-wait`.
#[allow(clippy::type_complexity)]
pub(super) fn open_with_projects(
    t: &Target,
    dirs: &[PathBuf],
    g: &Global,
    out: &Output,
) -> Result<(Collection, Vec<Project>, Vec<PathBuf>)> {
    let fs = file_system()?;
    let no_wait = OpenOptions {
        no_wait: true,
        ..Default::default()
    };
    let opened = match Collection::open_with_projects(fs.clone(), &t.dir, dirs, &no_wait) {
        Err(CollectionError::Engine(Error::Locked { root, holder })) if !g.no_wait => {
            out.waiting(&root, holder.as_deref());
            Collection::open_with_projects(fs, &t.dir, dirs, &OpenOptions::default())
        }
        other => other,
    };
    let ((mut c, creport), projects, gone) = opened?;
    c.set_progress(out.reporter());
    c.set_log_retention(log_keep(t)?);
    out.recovered(&t.dir, &creport);
    let mut all = Vec::with_capacity(projects.len());
    for (p, report) in projects {
        out.recovered(p.dir(), &report);
        all.push(p);
    }
    Ok((c, all, gone))
}

pub(super) fn project_dir(dir: &Path) -> Result<PathBuf> {
    let fs = file_system()?;
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    Project::check_dir(fs.as_ref(), &abs)?;
    canonical(&abs)
}

pub struct DeployArgs<'a> {
    pub names: &'a [String],
    pub only: Option<ArtifactType>,
    pub project: &'a Path,
    pub profiles: &'a [String],
    pub overwrite: bool,
    pub merge: bool,
    pub refresh: bool,
}

pub fn deploy(g: &Global, a: &DeployArgs<'_>, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let mut profiles = profiles_named(a.profiles)?;
    let project = project_dir(a.project)?;
    let (c, mut p) = open_with_project(&t, &project, g, out)?;
    let mut artifacts: Vec<(String, ArtifactType)> = Vec::new();
    for n in a.names {
        let found = find(&c, n, a.only)?;
        if !artifacts.contains(&(found.name.clone(), found.artifact_type)) {
            artifacts.push((found.name, found.artifact_type));
        }
    }
    if a.refresh {
        // What this collection deployed there, in every profile it is deployed in.
        let from = c.name()?;
        let named = artifacts.clone();
        artifacts.clear();
        profiles.clear();
        for tracking in p.all_tracking()? {
            for r in tracking.file.records() {
                let Ok(ty) = r.artifact_type.parse::<ArtifactType>() else {
                    continue;
                };
                let name = skillwal::skillmeat::format::deployed::record_name(&r.artifact_name);
                let key = (name.to_string(), ty);
                if r.from_collection != from
                    || (!named.is_empty() && !named.contains(&key))
                    || a.only.is_some_and(|o| o != ty)
                {
                    continue;
                }
                if c.find(name, Some(ty)).is_err() {
                    out.note(&format!(
                        "{ty} {name} is deployed in {} but no longer in the collection; left as it is",
                        tracking.root
                    ));
                    continue;
                }
                if let Some(profile) = profiles::profile(&r.profile_id)
                    && !profiles.contains(&profile)
                {
                    profiles.push(profile);
                }
                if !artifacts.contains(&key) {
                    artifacts.push(key);
                }
            }
        }
    }
    let req = DeployRequest {
        artifacts: &artifacts,
        profiles: &profiles,
        overwrite: a.overwrite,
        refresh: a.refresh,
        merge: a.merge,
    };
    let outcome = c.deploy(&mut p, &req)?;
    p.close()?;
    c.close()?;
    let code = if outcome.items.iter().any(|i| !i.conflicts.is_empty()) {
        Exit::Conflicts
    } else {
        Exit::Ok
    };
    done(out.deployed(&project, &outcome), code)
}

pub fn undeploy(
    g: &Global,
    names: &[String],
    only: Option<ArtifactType>,
    project: &Path,
    profile: Option<&str>,
    out: &Output,
) -> Result<Exit> {
    if let Some(id) = profile {
        profiles_named(&[id.to_owned()])?;
    }
    let project = project_dir(project)?;
    let mut p = open_project(g, &project, out)?;
    let removed = p.undeploy(names, only, profile)?;
    p.close()?;
    out.undeployed(&project, &removed)?;
    Ok(Exit::Ok)
}

/// Opens the project at `project` (already checked and canonical) alone, waiting for its
/// lock unless `--no-wait`.
pub(super) fn open_project(g: &Global, project: &Path, out: &Output) -> Result<Project> {
    let fs = file_system()?;
    let no_wait = OpenOptions {
        no_wait: true,
        ..Default::default()
    };
    let opened = match Project::open(fs.clone(), project, &no_wait) {
        Err(CollectionError::Engine(Error::Locked { root, holder })) if !g.no_wait => {
            out.waiting(&root, holder.as_deref());
            Project::open(fs, project, &OpenOptions::default())
        }
        other => other,
    };
    let (p, report) = opened?;
    out.recovered(project, &report);
    Ok(p)
}

/// `cleanup --project DIR [--dry-run]`. A dry run of a project skillwal never wrote only
/// reads it (creates nothing there).
pub fn cleanup(g: &Global, project: &Path, dry_run: bool, out: &Output) -> Result<Exit> {
    let project = project_dir(project)?;
    if dry_run && !present(&project.join(skillwal::skillmeat::project::STATE_DIR)) {
        let (kept, removed): (Vec<_>, Vec<_>) =
            skillwal::skillmeat::project::debris::find(file_system()?.as_ref(), &project)?
                .into_iter()
                .partition(|d| d.destination_missing);
        let cleaned = skillwal::skillmeat::project::Cleaned {
            removed,
            kept,
            committed: false,
            record: None,
        };
        out.cleaned(&project, &cleaned, dry_run)?;
        return Ok(Exit::Ok);
    }
    let mut p = open_project(g, &project, out)?;
    let cleaned = p.clean_debris(dry_run)?;
    p.close()?;
    out.cleaned(&project, &cleaned, dry_run)?;
    Ok(Exit::Ok)
}

pub fn status(g: &Global, project: &Path, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let project = project_dir(project)?;
    // A project skillwal never wrote has nothing to recover: read it without opening it,
    // so that a look leaves nothing behind (no `.skillwal/`).
    if !present(&project.join(skillwal::skillmeat::project::STATE_DIR)) {
        let c = open_for_reading(&t, g, out)?;
        let fs = file_system()?;
        let s = c.deployment_status_in(fs.clone(), &project)?;
        c.close()?;
        let debris = skillwal::skillmeat::project::debris::find(fs.as_ref(), &project)?;
        out.project_status(&project, &s, &debris)?;
        return Ok(Exit::Ok);
    }
    let (c, p) = open_with_project(&t, &project, g, out)?;
    let s = c.deployment_status(&p)?;
    let debris = p.debris()?;
    p.close()?;
    c.close()?;
    out.project_status(&project, &s, &debris)?;
    Ok(Exit::Ok)
}

pub fn deployments(g: &Global, name: Option<&str>, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let mut d = c.deployments()?;
    c.close()?;
    if let Some(n) = name {
        for e in &mut d {
            e.records.retain(|r| {
                skillwal::skillmeat::format::deployed::record_name(&r.artifact_name) == n
            });
        }
        d.retain(|e| !e.records.is_empty());
    }
    out.deployments(name, &d)?;
    Ok(Exit::Ok)
}

pub fn pull(
    g: &Global,
    name: &str,
    only: Option<ArtifactType>,
    project: &Path,
    profile: Option<&str>,
    overwrite: bool,
    out: &Output,
) -> Result<Exit> {
    if let Some(id) = profile {
        profiles_named(&[id.to_owned()])?;
    }
    let t = target(g, out)?;
    let project = project_dir(project)?;
    let (mut c, mut p) = open_with_project(&t, &project, g, out)?;
    let a = find(&c, name, only)?;
    let outcome = c.pull(&mut p, &a.name, a.artifact_type, profile, overwrite)?;
    p.close()?;
    c.close()?;
    out.pulled(&project, &outcome)?;
    Ok(Exit::Ok)
}
