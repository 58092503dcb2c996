//! Output of the snapshot commands: snapshot (take, list, show, delete), rollback, gc.

use super::artifacts::{record_line, skipped_lines};
use super::{Output, Printed, note_line, when};
use serde_json::json;
use skillwal::skillmeat::collection::{RollbackOutcome, SnapshotOutcome};
use skillwal::skillmeat::py_snapshot::{Extracted, PySnapshot};
use skillwal::store::gc::GcReport;
use skillwal::store::refs::SnapshotRef;
use skillwal::store::restore::Action;
use std::io::{self, Write};
use std::path::Path;

fn action_line(a: &Action) -> String {
    match a {
        Action::PutFile {
            path,
            replaces: true,
            ..
        } => format!("M {path}"),
        Action::PutFile { path, .. } => format!("A {path}"),
        Action::PutTree { path, .. } => format!("A {path}/"),
        Action::PutLink {
            path,
            replaces: true,
            ..
        } => format!("M {path}@"),
        Action::PutLink { path, .. } => format!("A {path}@"),
        Action::DeleteFile { path } => format!("D {path}"),
        Action::DeleteTree { path } => format!("D {path}/"),
        Action::SetDirMode { path, mode } => format!("m {path}/ (mode {mode:o})"),
    }
}

fn changes_lines(w: &mut dyn Write, changes: &[Action]) -> io::Result<()> {
    if changes.is_empty() {
        return writeln!(w, "The collection is the same as this snapshot.");
    }
    writeln!(w, "A rollback to it would change {} paths:", changes.len())?;
    for c in changes {
        writeln!(w, "  {}", action_line(c))?;
    }
    Ok(())
}

fn snapshot_table(
    w: &mut dyn Write,
    dir: &Path,
    list: &[SnapshotRef],
    py: Option<&[PySnapshot]>,
) -> io::Result<()> {
    if let Some(py) = py.filter(|p| !p.is_empty()) {
        writeln!(
            w,
            "SkillMeat's snapshots (tarballs of the Python tool; `skillwal rollback ID` restores one):"
        )?;
        writeln!(
            w,
            "{:<22}  {:<26}  {:>9}  message",
            "id", "time", "artifacts"
        )?;
        for s in py {
            writeln!(
                w,
                "{:<22}  {:<26}  {:>9}  {}",
                s.id,
                s.timestamp,
                s.artifact_count.map(|n| n.to_string()).unwrap_or_default(),
                s.message
            )?;
        }
        writeln!(w)?;
    }
    if list.is_empty() {
        return writeln!(
            w,
            "No snapshots of {} yet (`skillwal snapshot` takes one)",
            dir.display()
        );
    }
    writeln!(
        w,
        "{:>6}  {:<26}  {:<9}  {:>6}  message",
        "id", "time", "kind", "files"
    )?;
    for s in list {
        writeln!(
            w,
            "{:>6}  {:<26}  {:<9}  {:>6}  {}",
            s.id,
            when(s.time_unix_ms),
            if s.automatic { "automatic" } else { "manual" },
            s.files,
            s.message
        )?;
    }
    Ok(())
}

fn rolled_back_text(w: &mut dyn Write, dir: &Path, r: &RollbackOutcome) -> io::Result<()> {
    if r.changes.is_empty() {
        return writeln!(
            w,
            "{} is already the same as snapshot {}; nothing was written",
            dir.display(),
            r.target.id
        );
    }
    for c in &r.changes {
        writeln!(w, "  {}", action_line(c))?;
    }
    writeln!(
        w,
        "Rolled {} back to snapshot {} in one transaction ({} paths changed)",
        dir.display(),
        r.target.id,
        r.changes.len()
    )?;
    r.record.as_ref().map_or(Ok(()), |rec| record_line(w, rec))
}

impl Output {
    pub fn snapshot_taken(&self, s: &SnapshotOutcome) -> Printed {
        if self.json {
            return self.json(json!({"snapshot": s}));
        }
        self.text(|w| {
            writeln!(
                w,
                "Snapshot {} taken: {} files, {} bytes; {} new objects in the store; {} files read",
                s.snapshot.id, s.snapshot.files, s.snapshot.bytes, s.new_objects, s.hashed_files
            )?;
            skipped_lines(w, &s.skipped)
        })
    }

    pub fn snapshot_list(
        &self,
        dir: &Path,
        list: &[SnapshotRef],
        py: Option<&[PySnapshot]>,
    ) -> Printed {
        if self.json {
            return self.json(json!({
                "snapshots": list,
                "skillmeat_snapshots": py,
            }));
        }
        self.text(|w| snapshot_table(w, dir, list, py))
    }

    pub fn snapshot_show(&self, s: &SnapshotRef, changes: &[Action]) -> Printed {
        if self.json {
            return self
                .json(json!({"snapshot": s, "skillmeat_snapshot": null, "changes": changes}));
        }
        self.text(|w| {
            writeln!(
                w,
                "Snapshot {} ({}, {}{}): {} files, {} bytes",
                s.id,
                when(s.time_unix_ms),
                if s.automatic { "automatic" } else { "manual" },
                if s.message.is_empty() {
                    String::new()
                } else {
                    format!(", {:?}", s.message)
                },
                s.files,
                s.bytes
            )?;
            changes_lines(w, changes)
        })
    }

    pub fn skillmeat_snapshot_show(&self, py: &PySnapshot, changes: &[Action]) -> Printed {
        if self.json {
            return self
                .json(json!({"snapshot": null, "skillmeat_snapshot": py, "changes": changes}));
        }
        self.text(|w| {
            writeln!(
                w,
                "SkillMeat snapshot {} ({}{}): {}",
                py.id,
                py.timestamp,
                if py.message.is_empty() {
                    String::new()
                } else {
                    format!(", {:?}", py.message)
                },
                py.tarball_path.display()
            )?;
            changes_lines(w, changes)
        })
    }

    pub fn snapshot_deleted(&self, s: &SnapshotRef) -> Printed {
        if self.json {
            return self.json(json!({"deleted": s}));
        }
        self.text(|w| {
            writeln!(
                w,
                "Deleted snapshot {} (its store objects are removed by `skillwal gc` once nothing else uses them)",
                s.id
            )
        })
    }

    pub fn rolled_back(&self, dir: &Path, r: &RollbackOutcome) -> Printed {
        if self.json {
            return self.json(json!({
                "skillmeat_snapshot": null,
                "extracted": null,
                "imported": null,
                "rollback": r,
            }));
        }
        self.text(|w| rolled_back_text(w, dir, r))
    }

    pub fn rolled_back_skillmeat(
        &self,
        dir: &Path,
        py: &PySnapshot,
        imported: &SnapshotOutcome,
        extracted: &Extracted,
        r: &RollbackOutcome,
    ) -> Printed {
        if self.json {
            return self.json(json!({
                "skillmeat_snapshot": py,
                "extracted": extracted,
                "imported": imported,
                "rollback": r,
            }));
        }
        for p in &extracted.skipped {
            note_line(&format!(
                "skillwal: {p} in the tarball is a link or special file; not restored"
            ));
        }
        if extracted.skillwal_entries > 0 {
            note_line(&format!(
                "skillwal: the tarball's copy of .skillwal/ ({} entries) was not restored",
                extracted.skillwal_entries
            ));
        }
        self.text(|w| {
            writeln!(
                w,
                "SkillMeat snapshot {} recorded as snapshot {} ({} files)",
                py.id, imported.snapshot.id, extracted.files
            )?;
            rolled_back_text(w, dir, r)
        })
    }

    pub fn gc(&self, r: &GcReport) -> Printed {
        if self.json {
            return self.json(json!({"gc": r}));
        }
        self.text(|w| {
            writeln!(
                w,
                "Removed {} unreferenced store objects ({} bytes) and {} bases no lock needs in {} transactions; {} objects and {} bases kept",
                r.removed, r.removed_bytes, r.bases_removed, r.transactions, r.kept, r.bases_kept
            )
        })
    }
}
