//! The history commands: log (list, show), undo, redo.

use super::deploy::{open_project, project_dir};
use super::{confirm, interactive, open, open_for_reading, present, target, ty};
use crate::cli::args::{Global, TypeArg};
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use anyhow::{Result, anyhow};
use skillwal::skillmeat::collection::UndoTarget;
use skillwal::skillmeat::project::STATE_DIR;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The canonical directory of `project`, and whether skillwal ever wrote there (without
/// `.skillwal/`, its log is empty and a look at it creates nothing).
fn project_state(project: &Path) -> Result<(PathBuf, bool)> {
    let dir = project_dir(project)?;
    let written = present(&dir.join(STATE_DIR));
    Ok((dir, written))
}

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
    project: Option<&Path>,
    out: &Output,
) -> Result<Exit> {
    if let Some(project) = project {
        let (dir, written) = project_state(project)?;
        let (records, undone) = if written {
            let p = open_project(g, &dir, out)?;
            let read = p.log_with_undone(limit)?;
            p.close()?;
            read
        } else {
            (Vec::new(), HashMap::new())
        };
        out.log(&records, &undone, None)?;
        return Ok(Exit::Ok);
    }
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let (records, undone) = c.log_with_undone(limit, name.map(|n| (n, r#type.map(ty))))?;
    c.close()?;
    out.log(&records, &undone, name)?;
    Ok(Exit::Ok)
}

pub fn show(
    g: &Global,
    id: &str,
    diff: bool,
    project: Option<&Path>,
    out: &Output,
) -> Result<Exit> {
    let id = record_id(id)?;
    if let Some(project) = project {
        let (dir, _) = project_state(project)?;
        let p = open_project(g, &dir, out)?;
        let shown = p.show_record(id, diff)?;
        p.close()?;
        out.log_show(&shown)?;
        return Ok(Exit::Ok);
    }
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
    project: Option<&Path>,
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
    let whose = if project.is_some() {
        "the project's"
    } else {
        "the collection's"
    };
    let refusal = format!(
        "{verb} rewrites {whose} files; without a terminal to confirm, pass --yes (nothing was changed)"
    );
    if !yes && !interactive() {
        return Err(UsageError(refusal).into());
    }
    let mut root = match project {
        Some(project) => {
            let (dir, _) = project_state(project)?;
            Root::Project(Box::new(open_project(g, &dir, out)?), dir)
        }
        None => {
            let t = target(g, out)?;
            Root::Collection(Box::new(open(&t, g, out)?))
        }
    };
    if !yes {
        let plan = match &root {
            Root::Project(p, _) => p.plan_undo(which)?,
            Root::Collection(c) => c.plan_undo(which)?,
        };
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
            root.close()?;
            out.note(&format!("{verb} declined; nothing was changed"));
            return Ok(Exit::Ok);
        }
    }
    let r = match &mut root {
        Root::Project(p, _) => p.undo(which, force)?,
        Root::Collection(c) => c.undo(which, force)?,
    };
    let dir = match &root {
        Root::Project(_, dir) => Some(dir.clone()),
        Root::Collection(_) => None,
    };
    root.close()?;
    out.undone(&r, redo, dir.as_deref())?;
    Ok(Exit::Ok)
}

/// Where an undo happens.
enum Root {
    Collection(Box<skillwal::skillmeat::collection::Collection>),
    Project(Box<skillwal::skillmeat::project::Project>, PathBuf),
}

impl Root {
    fn close(self) -> Result<()> {
        match self {
            Root::Collection(c) => c.close()?,
            Root::Project(p, _) => p.close()?,
        }
        Ok(())
    }
}

/// `gc --project DIR`: frees what the project's log no longer keeps.
pub fn project_gc(g: &Global, project: &Path, out: &Output) -> Result<Exit> {
    let (dir, written) = project_state(project)?;
    if !written {
        out.gc(&Default::default())?;
        return Ok(Exit::Ok);
    }
    let mut p = open_project(g, &dir, out)?;
    let r = p.gc()?;
    p.close()?;
    out.gc(&r)?;
    Ok(Exit::Ok)
}
