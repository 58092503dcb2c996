//! Output of the commands on artifacts: add, remove, update, diff.

use super::{Output, Printed, note_line, short};
use serde::Serialize;
use serde_json::json;
use skillwal::skillmeat::collection::{
    Recorded, Transfer, TransferOutcome, UpdateAction, UpdateOutcome,
};
use skillwal::skillmeat::threeway::FileDiff;
use skillwal::skillmeat::{Artifact, ArtifactType, LockEntry};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An artifact `update --all` could not update, and why (exit code 5).
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotUpdated {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// [`NotUpdated::NO_SOURCE`] or [`NotUpdated::FETCH_FAILED`].
    pub reason: &'static str,
    /// The whole message: what is missing or what failed, and what to do.
    pub detail: String,
}

impl NotUpdated {
    /// No recorded source to update from (or its record cannot be read).
    pub const NO_SOURCE: &'static str = "no-source";
    /// The source is recorded but fetching it failed.
    pub const FETCH_FAILED: &'static str = "fetch-failed";

    pub fn new(a: &Artifact, reason: &'static str, e: &anyhow::Error) -> NotUpdated {
        NotUpdated {
            name: a.name.clone(),
            ty: a.artifact_type.as_str().to_string(),
            reason,
            detail: crate::cli::advice::message(e),
        }
    }
}

/// What an update across collections did in one of them.
#[derive(Debug, Serialize)]
pub struct CollectionUpdate {
    /// The collection's name (or directory) as given.
    pub collection: String,
    /// Its directory.
    #[serde(rename = "collection_dir")]
    pub dir: PathBuf,
    pub updates: Vec<UpdateOutcome>,
    /// The operation log's record of the change, when the collection changed.
    pub record: Option<Recorded>,
    pub not_updated: Vec<NotUpdated>,
}

/// The line naming the operation log's record of a change (its safety net).
pub(super) fn record_line(w: &mut dyn Write, r: &Recorded) -> io::Result<()> {
    writeln!(
        w,
        "Recorded as {} in the operation log (`skillwal undo {}` reverses it)",
        r.id, r.id
    )
}

/// A note on stderr for each special file a snapshot skipped (after what `w` holds).
pub(super) fn skipped_lines(w: &mut dyn Write, skipped: &[String]) -> io::Result<()> {
    if !skipped.is_empty() {
        w.flush()?;
    }
    for p in skipped {
        note_line(&format!(
            "skillwal: {p} is a special file (a socket, FIFO or device); not recorded in the snapshot"
        ));
    }
    Ok(())
}

fn outcome_lines(w: &mut dyn Write, outcomes: &[UpdateOutcome]) -> io::Result<()> {
    for o in outcomes {
        let what = match o.action {
            UpdateAction::Updated if o.locally_modified => {
                "updated (local modifications overwritten)"
            }
            UpdateAction::Updated => "updated",
            UpdateAction::UpToDate => "up to date",
            UpdateAction::KeptLocal => "kept local modifications (not updated)",
            UpdateAction::Merged if o.conflicts.is_empty() => "merged with the local modifications",
            UpdateAction::Merged => "merged, WITH CONFLICTS",
        };
        writeln!(
            w,
            "{} {}: {what}{}",
            o.ty,
            o.name,
            if matches!(o.action, UpdateAction::Updated | UpdateAction::Merged) {
                format!(" (content {})", short(&o.content_hash))
            } else {
                String::new()
            }
        )?;
        for c in &o.conflicts {
            writeln!(w, "  conflict ({}) {}: {}", c.kind, c.path, c.detail)?;
        }
    }
    Ok(())
}

impl Output {
    pub fn added(
        &self,
        ty: ArtifactType,
        name: &str,
        e: &LockEntry,
        source: &str,
        dir: &Path,
        ignored: &[String],
    ) -> Printed {
        if self.json {
            return self.json(json!({
                "added": {"name": name, "type": ty.as_str(), "content_hash": e.content_hash,
                          "resolved_sha": e.resolved_sha, "resolved_version": e.resolved_version,
                          "source": source, "collection": dir, "ignored": ignored}
            }));
        }
        ignored_note(ty.as_str(), name, ignored);
        let version = e
            .resolved_version
            .as_deref()
            .or(e.resolved_sha.as_deref().map(short));
        self.text(|w| {
            writeln!(
                w,
                "Added {ty} {name} from {source}{} (content {})",
                version.map(|v| format!(" at {v}")).unwrap_or_default(),
                short(&e.content_hash)
            )
        })
    }

    pub fn removed(
        &self,
        name: &str,
        ty: ArtifactType,
        keep_files: bool,
        record: Option<&Recorded>,
    ) -> Printed {
        if self.json {
            return self.json(json!({
                "removed": {"name": name, "type": ty.as_str(), "files_kept": keep_files},
                "record": record,
            }));
        }
        self.text(|w| {
            if keep_files {
                writeln!(
                    w,
                    "Removed {ty} {name} from the manifest and lock (files kept)"
                )?;
            } else {
                writeln!(w, "Removed {ty} {name}")?;
            }
            record.map_or(Ok(()), |r| record_line(w, r))
        })
    }

    pub fn transferred(
        &self,
        name: &str,
        ty: ArtifactType,
        from: &Path,
        to: &Path,
        o: &TransferOutcome,
    ) -> Printed {
        let verb = match o.transfer {
            Transfer::Copy => "copied",
            Transfer::Move => "moved",
        };
        if self.json {
            return self.json(json!({
                verb: {"name": name, "type": ty.as_str(), "from": from, "to": to},
                "content_hash": o.content_hash,
                "base_copied": o.base_copied,
                "transaction_across": o.across,
                "record": o.record,
                "destination_record": o.destination_record,
            }));
        }
        self.text(|w| {
            let how = match o.transfer {
                Transfer::Copy => "Copied",
                Transfer::Move => "Moved",
            };
            writeln!(w, "{how} {ty} {name} from {} to {}", from.display(), to.display())?;
            if let Some(id) = &o.across {
                writeln!(
                    w,
                    "  one transaction across both collections ({}): after any crash it is in exactly one of them",
                    &id[..12.min(id.len())]
                )?;
            }
            if !o.base_copied {
                writeln!(
                    w,
                    "  its files differ from its last update, so no merge base was copied: a later `update --strategy merge` there cannot merge"
                )?;
            }
            o.record.as_ref().map_or(Ok(()), |r| record_line(w, r))
        })
    }

    pub fn updated(
        &self,
        outcomes: &[UpdateOutcome],
        record: Option<&Recorded>,
        not_updated: &[NotUpdated],
    ) -> Printed {
        if self.json {
            return self
                .json(json!({"updates": outcomes, "record": record, "not_updated": not_updated}));
        }
        for o in outcomes {
            ignored_note(&o.ty, &o.name, &o.ignored);
        }
        self.text(|w| {
            if let Some(r) = record {
                record_line(w, r)?;
            }
            outcome_lines(w, outcomes)?;
            let n = outcomes
                .iter()
                .filter(|o| matches!(o.action, UpdateAction::Updated | UpdateAction::Merged))
                .count();
            if n > 1 {
                writeln!(w, "{n} artifacts updated in one transaction")?;
            }
            for n in not_updated {
                writeln!(
                    w,
                    "{} {}: NOT UPDATED ({}): {}",
                    n.ty, n.name, n.reason, n.detail
                )?;
            }
            Ok(())
        })?;
        if !not_updated.is_empty() {
            note_line(&format!(
                "skillwal: {} artifact(s) could not be updated and are unchanged (listed above; exit code 5); every other artifact was updated or is up to date",
                not_updated.len()
            ));
        }
        let conflicts: usize = outcomes.iter().map(|o| o.conflicts.len()).sum();
        if conflicts > 0 {
            note_line(&format!(
                "skillwal: the update is done, with {conflicts} merge conflict(s) to resolve by hand (exit code 4); `skillwal undo` undoes it"
            ));
        }
        Ok(())
    }

    /// `update --deploy`: the collection's update as [`Output::updated`] says it, then every
    /// deployment of the artifacts.
    pub fn updated_deploying(
        &self,
        outcomes: &[UpdateOutcome],
        record: Option<&Recorded>,
        not_updated: &[NotUpdated],
        pushed: &[skillwal::skillmeat::collection::Pushed],
        across: Option<&str>,
    ) -> Printed {
        if self.json {
            return self.json(json!({
                "updates": outcomes,
                "record": record,
                "not_updated": not_updated,
                "deployments": pushed,
                "transaction_across": across,
            }));
        }
        self.updated(outcomes, record, not_updated)?;
        self.text(|w| {
            for p in pushed {
                let what = match p.action {
                    "replaced" => "refreshed",
                    "recorded" => "recorded (its files were already the new ones)",
                    "unchanged" => "up to date",
                    "kept-local" => "local changes kept, not refreshed",
                    "merged" if p.conflicts.is_empty() => "local changes merged with the new version",
                    "merged" => "local changes merged with the new version, with conflicts",
                    _ => "not refreshed (the collection's copy is not the fetched one)",
                };
                writeln!(w, "  {} {} in {}/{}: {what}", p.ty, p.name, p.project.display(), p.path)?;
                for c in &p.conflicts {
                    writeln!(w, "    conflict ({}): {}: {}", c.kind, c.path, c.detail)?;
                }
            }
            if let Some(id) = across {
                writeln!(
                    w,
                    "The collection and the projects changed in one transaction across them ({}): after any crash, all before or all after",
                    &id[..12.min(id.len())]
                )?;
            }
            Ok(())
        })?;
        let conflicts: usize = pushed.iter().map(|p| p.conflicts.len()).sum();
        if conflicts > 0 {
            note_line(&format!(
                "skillwal: {conflicts} merge conflict(s) in project copies to resolve by hand (exit code 4), listed above; every other deployment was refreshed or left as said"
            ));
        }
        Ok(())
    }

    /// An update across several collections: per collection as [`Output::updated`] says
    /// it, then the transaction that spanned them.
    pub fn updated_across(&self, rows: &[CollectionUpdate], across: Option<&str>) -> Printed {
        if self.json {
            return self.json(json!({"collections": rows, "transaction_across": across}));
        }
        for r in rows {
            for o in &r.updates {
                ignored_note(&o.ty, &o.name, &o.ignored);
            }
        }
        self.text(|w| {
            for r in rows {
                writeln!(w, "{} ({}):", r.collection, r.dir.display())?;
                let mut lines = Vec::new();
                if let Some(rec) = &r.record {
                    record_line(&mut lines, rec)?;
                }
                outcome_lines(&mut lines, &r.updates)?;
                for n in &r.not_updated {
                    writeln!(
                        lines,
                        "{} {}: NOT UPDATED ({}): {}",
                        n.ty, n.name, n.reason, n.detail
                    )?;
                }
                for line in String::from_utf8_lossy(&lines).lines() {
                    writeln!(w, "  {line}")?;
                }
            }
            let changed = rows.iter().filter(|r| r.record.is_some()).count();
            match across {
                Some(id) => writeln!(
                    w,
                    "{changed} collections updated in one transaction across them ({}): after any crash, all of them before or all after",
                    &id[..12.min(id.len())]
                ),
                None if changed == 1 => writeln!(w, "1 collection changed"),
                None => writeln!(w, "nothing changed"),
            }
        })?;
        let not_updated: usize = rows.iter().map(|r| r.not_updated.len()).sum();
        if not_updated > 0 {
            note_line(&format!(
                "skillwal: {not_updated} artifact(s) could not be updated and are unchanged (listed above; exit code 5); every other artifact was updated or is up to date"
            ));
        }
        let conflicts: usize = rows
            .iter()
            .flat_map(|r| &r.updates)
            .map(|o| o.conflicts.len())
            .sum();
        if conflicts > 0 {
            note_line(&format!(
                "skillwal: the update is done, with {conflicts} merge conflict(s) to resolve by hand (exit code 4); `skillwal undo` in each collection undoes it"
            ));
        }
        Ok(())
    }

    pub fn diffed(&self, name: &str, ty: ArtifactType, files: &[FileDiff]) -> Printed {
        if self.json {
            return self.json(json!({"name": name, "type": ty.as_str(), "files": files}));
        }
        self.text(|w| {
            if files.is_empty() {
                return writeln!(w, "{ty} {name}: updating would change nothing");
            }
            for f in files {
                match &f.diff {
                    Some(d) if !d.is_empty() => write!(w, "{d}")?,
                    Some(_) => writeln!(w, "{} {} (empty)", f.change, f.path)?,
                    None => writeln!(w, "Binary files differ: {} ({})", f.path, f.change)?,
                }
            }
            writeln!(
                w,
                "{ty} {name}: updating would change {} file(s) (+{} -{} lines)",
                files.len(),
                files.iter().map(|f| f.added_lines).sum::<usize>(),
                files.iter().map(|f| f.removed_lines).sum::<usize>()
            )
        })
    }
}

/// Says on stderr which entries of a source were left out because their names are ignored
/// (README, "What is kept exactly"), so that nothing is dropped silently.
fn ignored_note(ty: &str, name: &str, ignored: &[String]) {
    if !ignored.is_empty() {
        note_line(&format!(
            "skillwal: {ty} {name}: left out of the source (ignored names): {}",
            ignored.join(", ")
        ));
    }
}
