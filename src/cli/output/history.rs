//! Output of the history commands: log (list, show), undo, redo.

use super::{Output, Printed, when};
use serde_json::json;
use skillwal::skillmeat::collection::{ShownRecord, UndoOutcome};
use skillwal::store::log::{LogRecord, State};
use std::collections::HashMap;
use std::path::Path;

/// ` --project DIR` for a project's log, nothing for the collection's: what a command
/// naming a record of it needs.
pub(super) fn project_flag(project: Option<&Path>) -> String {
    project
        .map(|p| format!(" --project {}", super::shell_word(&p.display().to_string())))
        .unwrap_or_default()
}

/// How a path changed, in one word.
fn change_word(before: &State, after: &State) -> &'static str {
    match (before, after) {
        (State::Absent, _) => "added",
        (_, State::Absent) => "deleted",
        (State::File { hash: a, .. }, State::File { hash: b, .. }) if a == b => "mode",
        (State::Dir { .. }, State::Dir { .. }) => "mode",
        _ if std::mem::discriminant(before) != std::mem::discriminant(after) => "replaced",
        _ => "changed",
    }
}

fn mode_of(s: &State) -> Option<u32> {
    match s {
        State::File { mode, .. } | State::Dir { mode, .. } => Some(*mode),
        _ => None,
    }
}

fn change_detail(before: &State, after: &State) -> String {
    match (mode_of(before), mode_of(after)) {
        (Some(a), Some(b)) if a != b => format!("  (mode {a:o} -> {b:o})"),
        _ => String::new(),
    }
}

impl Output {
    pub fn log(
        &self,
        records: &[LogRecord],
        undone: &HashMap<u64, u64>,
        name: Option<&str>,
    ) -> Printed {
        if self.json {
            let records: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(r).expect("a record serializes");
                    v["undone_by"] = json!(undone.get(&r.id));
                    v
                })
                .collect();
            return self.json(json!({ "records": records }));
        }
        self.text(|w| {
            if records.is_empty() {
                return match name {
                    Some(n) => writeln!(w, "No record in the operation log changed {n}."),
                    None => writeln!(w, "The operation log is empty."),
                };
            }
            for r in records {
                let paths = r.changes.len();
                let state = match undone.get(&r.id) {
                    Some(by) => format!(", undone by {by}"),
                    None => String::new(),
                };
                writeln!(
                    w,
                    "{:>5}  {}  {}  ({} path{}{state})",
                    r.id,
                    when(r.time_unix_ms),
                    r.command,
                    paths,
                    if paths == 1 { "" } else { "s" }
                )?;
            }
            Ok(())
        })
    }

    pub fn log_show(&self, s: &ShownRecord) -> Printed {
        if self.json {
            return self.json(json!({ "record": s.record, "files": s.files }));
        }
        self.text(|w| {
            let r = &s.record;
            writeln!(
                w,
                "Record {}, {}: {}",
                r.id,
                when(r.time_unix_ms),
                r.command
            )?;
            for l in &r.with {
                writeln!(
                    w,
                    "  written with record {} of {} (one transaction; undone together)",
                    l.id, l.root
                )?;
            }
            for f in &s.files {
                writeln!(
                    w,
                    "  {:<8} {}{}",
                    change_word(&f.before, &f.after),
                    f.path,
                    change_detail(&f.before, &f.after)
                )?;
            }
            for d in &r.documents {
                writeln!(w, "{}:", d.document)?;
                for c in &d.changes {
                    writeln!(w, "  {c}")?;
                }
            }
            for f in &s.files {
                if let Some(d) = &f.diff {
                    write!(w, "{d}")?;
                } else if let Some(note) = &f.diff_note {
                    writeln!(w, "{}: no diff: {note}", f.path)?;
                }
            }
            Ok(())
        })
    }

    /// `project`: the project whose log was undone in, `None` for the collection's.
    pub fn undone(&self, r: &UndoOutcome, redo: bool, project: Option<&Path>) -> Printed {
        if self.json {
            return self.json(json!({ "undo": r }));
        }
        self.text(|w| {
            let verb = if redo { "Redid, by undoing" } else { "Undid" };
            match r.record {
                None => writeln!(
                    w,
                    "Nothing to change: every path of record {} ({}) is already as it was before it.",
                    r.undone, r.undone_command
                ),
                Some(id) => writeln!(
                    w,
                    "{verb} record {} ({}): {} path{} restored; recorded as {id} (`skillwal undo{} {id}` reverses it).",
                    r.undone,
                    r.undone_command,
                    r.paths.len(),
                    if r.paths.len() == 1 { "" } else { "s" },
                    project_flag(project)
                ),
            }?;
            for o in &r.with {
                match o.record {
                    None => writeln!(
                        w,
                        "  and in {}: nothing to change for record {} ({})",
                        o.dir, o.undone, o.undone_command
                    ),
                    Some(id) => writeln!(
                        w,
                        "  and in {}: record {} ({}): {} path{} restored; recorded as {id} there",
                        o.dir,
                        o.undone,
                        o.undone_command,
                        o.paths.len(),
                        if o.paths.len() == 1 { "" } else { "s" }
                    ),
                }?;
                for c in &o.forced {
                    writeln!(
                        w,
                        "  overwritten (--force) in {}: {}, which held {}",
                        o.dir, c.path, c.found
                    )?;
                }
            }
            if let Some(id) = &r.transaction_across {
                writeln!(w, "  one transaction across them: {id}")?;
            }
            for c in &r.forced {
                writeln!(
                    w,
                    "  overwritten (--force): {}, which held {} (kept by record {})",
                    c.path,
                    c.found,
                    r.record.map(|i| i.to_string()).unwrap_or_default()
                )?;
            }
            Ok(())
        })
    }
}
