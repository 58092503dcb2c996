//! Output of deploy, undeploy, status --project and deployments.

use super::{Output, Printed, note_line, short};
use serde_json::json;
use skillwal::skillmeat::collection::{
    DeployAction, DeployOutcome, DeploymentStatus, DriftState, ProjectDeployments, PullOutcome,
};
use skillwal::skillmeat::project::{Cleaned, Debris, UndeployOutcome};
use std::path::Path;

fn action_text(a: DeployAction) -> &'static str {
    match a {
        DeployAction::Deployed => "deployed",
        DeployAction::Replaced => "replaced",
        DeployAction::Recorded => "recorded (files already identical)",
        DeployAction::Merged => "merged with the local changes (three-way)",
        DeployAction::Unchanged => "already in sync",
        DeployAction::Skipped => "skipped (the profile does not take this type)",
    }
}

fn state_text(s: DriftState) -> &'static str {
    match s {
        DriftState::InSync => "in sync",
        DriftState::Modified => "modified",
        DriftState::Outdated => "outdated",
        DriftState::Conflict => "conflict",
        DriftState::Missing => "missing",
        DriftState::NotInCollection => "not in collection",
        DriftState::OtherCollection => "other collection",
        DriftState::UnknownType => "not judged",
    }
}

impl Output {
    pub fn deployed(&self, project: &Path, o: &DeployOutcome) -> Printed {
        if self.json {
            return self.json(json!({
                "project": project,
                "committed": o.committed,
                "deployed": o.items,
                "record": o.record,
            }));
        }
        self.text(|w| {
            for i in &o.items {
                writeln!(
                    w,
                    "{} {} {}: {}",
                    i.ty,
                    i.name,
                    i.path,
                    action_text(i.action)
                )?;
                if !i.left_out.is_empty() {
                    writeln!(w, "  left out (never deployed): {}", i.left_out.join(", "))?;
                }
                for c in &i.conflicts {
                    writeln!(w, "  CONFLICT ({}) {}: {}", c.kind, c.path, c.detail)?;
                }
            }
            if o.committed {
                writeln!(
                    w,
                    "Deployed into {} in one transaction (files and .skillmeat-deployed.toml together).",
                    project.display()
                )?;
                if let Some(r) = &o.record {
                    project_record_line(w, project, r)?;
                }
            } else {
                writeln!(w, "Nothing to write in {}.", project.display())?;
            }
            Ok(())
        })
    }

    pub fn undeployed(&self, project: &Path, o: &UndeployOutcome) -> Printed {
        if self.json {
            return self
                .json(json!({"project": project, "undeployed": o.undeployed, "record": o.record}));
        }
        self.text(|w| {
            for u in &o.undeployed {
                let how = if u.files_removed {
                    "removed"
                } else {
                    "record dropped (its files were already gone)"
                };
                writeln!(w, "{} {} {}: {how}", u.ty, u.name, u.path)?;
            }
            writeln!(
                w,
                "Undeployed from {} in one transaction (files and records together).",
                project.display()
            )?;
            if let Some(r) = &o.record {
                project_record_line(w, project, r)?;
            }
            Ok(())
        })
    }

    pub fn cleaned(&self, project: &Path, c: &Cleaned, dry_run: bool) -> Printed {
        if self.json {
            return self.json(json!({
                "project": project,
                "dry_run": dry_run,
                "removed": c.removed,
                "kept": c.kept,
                "committed": c.committed,
                "record": c.record,
            }));
        }
        self.text(|w| {
            let verb = if dry_run { "would remove" } else { "removed" };
            for d in &c.removed {
                writeln!(w, "{verb} {} ({} of {})", d.path, d.kind, d.of)?;
            }
            for d in &c.kept {
                writeln!(
                    w,
                    "kept {} ({} of {}, which is missing: it may hold its only copy; move it back to {} yourself, or deploy again)",
                    d.path, d.kind, d.of, d.of
                )?;
            }
            if c.removed.is_empty() && c.kept.is_empty() {
                writeln!(
                    w,
                    "Nothing the Python tool left behind in {}.",
                    project.display()
                )?;
            } else if c.committed {
                writeln!(
                    w,
                    "Removed {} leftover(s) of the Python tool from {} in one transaction.",
                    c.removed.len(),
                    project.display()
                )?;
                if let Some(r) = &c.record {
                    project_record_line(w, project, r)?;
                }
            }
            Ok(())
        })
    }

    pub fn project_status(
        &self,
        project: &Path,
        s: &[DeploymentStatus],
        debris: &[Debris],
    ) -> Printed {
        if self.json {
            let items: Vec<_> = s
                .iter()
                .map(|d| {
                    json!({
                        "name": d.record.artifact_name,
                        "type": d.record.artifact_type,
                        "profile": d.record.profile_id,
                        "path": format!("{}/{}", d.root, d.record.artifact_path),
                        "from_collection": d.record.from_collection,
                        "deployed_at": d.record.deployed_at,
                        "state": d.state,
                        "project_modified": d.project_modified,
                        "files": d.files,
                        "deployed_hash": d.record.content_hash,
                        "project_hash": d.project_hash,
                        "collection_hash": d.collection_hash,
                    })
                })
                .collect();
            return self.json(json!({"project": project, "deployments": items, "debris": debris}));
        }
        if !debris.is_empty() {
            note_line(&format!(
                "skillwal: {} leftover(s) of interrupted runs of the Python tool in {} (first: {}); `skillwal cleanup --project {}` removes them (--dry-run lists them)",
                debris.len(),
                project.display(),
                debris[0].path,
                project.display()
            ));
        }
        self.text(|w| {
            if s.is_empty() {
                return writeln!(w, "Nothing is deployed in {}.", project.display());
            }
            writeln!(w, "Deployments in {}:", project.display())?;
            let width = s
                .iter()
                .map(|d| d.record.artifact_name.len() + d.record.artifact_type.len() + 1)
                .max()
                .unwrap_or(0);
            for d in s {
                let what = format!("{} {}", d.record.artifact_type, d.record.artifact_name);
                let mut line = format!(
                    "  {:<17} {what:<width$}  {}/{}",
                    state_text(d.state),
                    d.root,
                    d.record.artifact_path
                );
                if d.state == DriftState::OtherCollection {
                    line.push_str(&format!(
                        " (from {}; {})",
                        d.record.from_collection,
                        if d.project_modified == Some(true) {
                            "modified in the project"
                        } else {
                            "unchanged in the project"
                        }
                    ));
                }
                writeln!(w, "{line}")?;
                for f in &d.files {
                    writeln!(w, "      {} {}", f.change, f.path)?;
                }
                if matches!(d.state, DriftState::Outdated | DriftState::Conflict)
                    && let Some(h) = &d.collection_hash
                {
                    writeln!(
                        w,
                        "      deployed {}, collection now {}",
                        short(&d.record.content_hash),
                        short(h)
                    )?;
                }
            }
            Ok(())
        })
    }

    pub fn pulled(&self, project: &Path, o: &PullOutcome) -> Printed {
        if self.json {
            return self.json(json!({"project": project, "pulled": o}));
        }
        self.text(|w| {
            match o.action {
                "pulled" => {
                    if let Some(r) = &o.record {
                        super::artifacts::record_line(w, r)?;
                    }
                    writeln!(
                        w,
                        "Pulled {} {} from {}/{} into the collection, with the project's record, in one transaction across the two",
                        o.ty,
                        o.name,
                        project.display(),
                        o.path
                    )?;
                    writeln!(
                        w,
                        "  the lock still records the source's version: `status` shows the pulled changes as local modifications, and `update` merges or asks"
                    )
                }
                "recorded" => writeln!(
                    w,
                    "{} {}: the collection already has the project's copy; the record in {} is brought up to date",
                    o.ty,
                    o.name,
                    project.display()
                ),
                _ => writeln!(
                    w,
                    "{} {}: the collection already has the project's copy; nothing to pull",
                    o.ty, o.name
                ),
            }
        })
    }

    pub fn deployments(&self, name: Option<&str>, d: &[ProjectDeployments]) -> Printed {
        if self.json {
            return self.json(json!({"artifact": name, "projects": d}));
        }
        self.text(|w| {
            if d.iter().all(|p| p.records.is_empty()) {
                return writeln!(
                    w,
                    "Nothing of the collection is deployed (in the projects skillwal deployed to)."
                );
            }
            for p in d {
                if !p.present {
                    writeln!(w, "{} (gone)", p.project.display())?;
                    continue;
                }
                if let Some(e) = &p.error {
                    writeln!(w, "{}: cannot be read: {e}", p.project.display())?;
                    continue;
                }
                if p.records.is_empty() {
                    continue;
                }
                writeln!(w, "{}", p.project.display())?;
                for r in &p.records {
                    writeln!(
                        w,
                        "  {} {}  {}/{}  ({}, deployed {})",
                        r.artifact_type,
                        r.artifact_name,
                        r.profile_root_dir,
                        r.artifact_path,
                        r.profile_id,
                        r.deployed_at
                    )?;
                }
            }
            Ok(())
        })
    }
}

/// The line naming a project's operation log record of a change (its safety net).
fn project_record_line(
    w: &mut dyn std::io::Write,
    project: &Path,
    r: &skillwal::skillmeat::collection::Recorded,
) -> std::io::Result<()> {
    writeln!(
        w,
        "Recorded as {} in the project's operation log (`skillwal undo{} {}` reverses it)",
        r.id,
        super::history::project_flag(Some(project)),
        r.id
    )
}
