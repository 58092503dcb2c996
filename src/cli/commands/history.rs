//! The history commands: log (list, show), undo, redo.

use super::{confirm, interactive, open, open_for_reading, target, ty};
use crate::cli::args::{Global, TypeArg};
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use anyhow::{Result, anyhow};
use skillwal::skillmeat::collection::UndoTarget;

/// Parses a record id as the user typed it.
fn record_id(id: &str) -> Result<u64> {
    id.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && n.to_string() == id)
        .ok_or_else(|| {
            anyhow!("{id:?} is not a record id (a number `skillwal log` lists, such as 12)")
        })
}

pub fn log(
    g: &Global,
    name: Option<&str>,
    r#type: Option<TypeArg>,
    limit: Option<usize>,
    out: &Output,
) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let (records, undone) = c.log_with_undone(limit, name.map(|n| (n, r#type.map(ty))))?;
    c.close()?;
    out.log(&records, &undone, name)?;
    Ok(Exit::Ok)
}

pub fn show(g: &Global, id: &str, diff: bool, out: &Output) -> Result<Exit> {
    let id = record_id(id)?;
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let shown = c.show_record(id, diff)?;
    c.close()?;
    out.log_show(&shown)?;
    Ok(Exit::Ok)
}

/// `undo [ID]` (`redo` = false) and `redo`.
pub fn undo(
    g: &Global,
    id: Option<&str>,
    redo: bool,
    force: bool,
    yes: bool,
    out: &Output,
) -> Result<Exit> {
    let which = match (redo, id) {
        (true, _) => UndoTarget::Redo,
        (false, None) => UndoTarget::Last,
        (false, Some(id)) => UndoTarget::Id(record_id(id)?),
    };
    let verb = if redo { "redo" } else { "undo" };
    let t = target(g, out)?;
    let mut c = open(&t, g, out)?;
    if !yes {
        let refusal = format!(
            "{verb} rewrites the collection's files; without a terminal to confirm, pass --yes (nothing was changed)"
        );
        if !interactive() {
            return Err(UsageError(refusal).into());
        }
        let plan = c.plan_undo(which)?;
        let question = format!(
            "{} record {} ({}): {} paths change{}?",
            if redo { "Redo by undoing" } else { "Undo" },
            plan.record.id,
            plan.record.command,
            plan.paths().len(),
            if plan.conflicts.is_empty() {
                String::new()
            } else if force {
                format!(
                    ", {} of them changed since and overwritten (--force)",
                    plan.conflicts.len()
                )
            } else {
                format!(", {} changed since (a conflict)", plan.conflicts.len())
            }
        );
        if !confirm(&question, &refusal)? {
            c.close()?;
            out.note(&format!("{verb} declined; nothing was changed"));
            return Ok(Exit::Ok);
        }
    }
    let r = c.undo(which, force)?;
    c.close()?;
    out.undone(&r, redo)?;
    Ok(Exit::Ok)
}
