//! The history commands: log (list, show), undo, redo.

use super::Target;
use super::deploy::{open_project, open_with_projects, project_dir};
use super::{
    confirm, interactive, log_keep, open, open_for_reading, open_many, present, target, ty,
};
use crate::cli::args::{Global, TypeArg};
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use anyhow::{Context, Result, anyhow};
use skillwal::skillmeat::collection::{Collection, UndoRoot, UndoTarget, undo_linked};
use skillwal::skillmeat::project::Project;
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
            let p = open_project(g, &dir, out)?;
            let record = p.undo_record(which)?;
            if record.with.is_empty() {
                Root::Project(Box::new(p), dir)
            } else {
                // Written with the collection's record (and other projects'): an update
                // that refreshed deployments, undone everywhere at once.
                p.close()?;
                let collections: Vec<_> = record.with.iter().filter(|l| !l.project).collect();
                let [coll] = collections.as_slice() else {
                    return Err(anyhow!(
                        "record {} names {} collections; skillwal undoes a project's record together with exactly one (nothing was changed)",
                        record.id,
                        collections.len()
                    ));
                };
                let coll_dir = coll.resolve(&dir);
                let t = Target {
                    name: coll_dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    dir: coll_dir,
                    home: None,
                };
                let mut dirs = vec![dir.clone()];
                let mut ids = vec![coll.id, record.id];
                for l in record.with.iter().filter(|l| l.project) {
                    dirs.push(l.resolve(&dir));
                    ids.push(l.id);
                }
                let linked = open_linked(&t, &dirs, &record, &dir, g, out)?;
                if linked.1[0].undo_record(which)?.id != record.id {
                    return Err(changed_meanwhile(&dir));
                }
                Root::Linked(Box::new(linked.0), linked.1, ids, 1)
            }
        }
        None => {
            let t = target(g, out)?;
            let c = open(&t, g, out)?;
            let record = c.undo_record(which)?;
            if record.with.iter().any(|l| l.project) {
                // An update that refreshed deployments: the collection and its projects.
                c.close()?;
                if record.with.iter().any(|l| !l.project) {
                    return Err(anyhow!(
                        "record {} names other collections and projects; skillwal undoes a collection's record together with projects only (nothing was changed)",
                        record.id
                    ));
                }
                let mut dirs = Vec::new();
                let mut ids = vec![record.id];
                for l in &record.with {
                    dirs.push(l.resolve(&t.dir));
                    ids.push(l.id);
                }
                let linked = open_linked(&t, &dirs, &record, &t.dir, g, out)?;
                if linked.0.undo_record(which)?.id != record.id {
                    return Err(changed_meanwhile(&t.dir));
                }
                Root::Linked(Box::new(linked.0), linked.1, ids, 0)
            } else if record.with.is_empty() {
                Root::Collection(Box::new(c))
            } else {
                // Written by one transaction across collections (a move): undone in all of
                // them together, in one transaction across them.
                c.close()?;
                let mut dirs = vec![t.dir.clone()];
                let mut ids = vec![record.id];
                for l in &record.with {
                    dirs.push(l.resolve(&t.dir));
                    ids.push(l.id);
                }
                let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
                let opened = open_many(&refs, log_keep(&t)?, g, out).with_context(|| {
                    format!(
                        "record {} was written by one transaction with {}; undoing it needs them all (nothing was changed)",
                        record.id,
                        record
                            .with
                            .iter()
                            .map(|l| format!("record {} of {}", l.id, l.resolve(&t.dir).display()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
                // The log may have changed while nothing was locked.
                if opened[0].undo_record(which)?.id != record.id {
                    return Err(changed_meanwhile(&t.dir));
                }
                Root::Across(opened, ids)
            }
        }
    };
    if !yes {
        let plans = match &root {
            Root::Project(p, _) => vec![p.plan_undo(which)?],
            Root::Collection(c) => vec![c.plan_undo(which)?],
            Root::Across(cs, ids) => cs
                .iter()
                .zip(ids)
                .map(|(c, id)| c.plan_undo(UndoTarget::Id(*id)))
                .collect::<Result<_, _>>()?,
            Root::Linked(c, ps, ids, start) => {
                let mut plans = vec![c.plan_undo(UndoTarget::Id(ids[0]))?];
                for (p, id) in ps.iter().zip(&ids[1..]) {
                    plans.push(p.plan_undo(UndoTarget::Id(*id))?);
                }
                plans.swap(0, *start);
                plans
            }
        };
        let plan = &plans[0];
        let paths: usize = plans.iter().map(|p| p.paths().len()).sum();
        let conflicts: usize = plans.iter().map(|p| p.conflicts.len()).sum();
        let question = format!(
            "{} record {} ({}): {} paths change{}{}?",
            if redo { "Redo by undoing" } else { "Undo" },
            plan.record.id,
            plan.record.command,
            paths,
            if plans.len() > 1 {
                format!(" in {} collections, together", plans.len())
            } else {
                String::new()
            },
            if conflicts == 0 {
                String::new()
            } else if force {
                format!(", {conflicts} of them changed since and overwritten (--force)")
            } else {
                format!(", {conflicts} changed since (a conflict)")
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
        Root::Across(cs, ids) => {
            let mut parts: Vec<&mut Collection> = cs.iter_mut().collect();
            Collection::undo_across(&mut parts, ids, force)?
        }
        Root::Linked(c, ps, ids, start) => {
            let mut roots = vec![UndoRoot::Collection(c)];
            roots.extend(ps.iter_mut().map(UndoRoot::Project));
            let mut ids = ids.clone();
            // The root the undo was asked in comes first in the outcome.
            roots.swap(0, *start);
            ids.swap(0, *start);
            undo_linked(&mut roots, &ids, force)?
        }
    };
    let dir = match &root {
        Root::Project(_, dir) => Some(dir.clone()),
        Root::Linked(_, ps, _, 1) => Some(ps[0].dir().to_path_buf()),
        Root::Collection(_) | Root::Across(..) | Root::Linked(..) => None,
    };
    root.close()?;
    out.undone(&r, redo, dir.as_deref())?;
    Ok(Exit::Ok)
}

/// Where an undo happens.
enum Root {
    Collection(Box<Collection>),
    Project(Box<skillwal::skillmeat::project::Project>, PathBuf),
    /// Collections whose records one transaction wrote (a move), with those records' ids.
    Across(Vec<Collection>, Vec<u64>),
    /// A collection and projects whose records one transaction wrote (an update that
    /// refreshed deployments): the ids, the collection's first, and which of them the undo
    /// was asked in (0: the collection; 1: the first project).
    Linked(Box<Collection>, Vec<Project>, Vec<u64>, usize),
}

impl Root {
    fn close(self) -> Result<()> {
        match self {
            Root::Collection(c) => c.close()?,
            Root::Project(p, _) => p.close()?,
            Root::Across(cs, _) => {
                for c in cs {
                    c.close()?;
                }
            }
            Root::Linked(c, ps, _, _) => {
                for p in ps {
                    p.close()?;
                }
                c.close()?;
            }
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

/// The error when the log changed between reading the record and locking every root.
fn changed_meanwhile(dir: &Path) -> anyhow::Error {
    anyhow!(
        "the operation log of {} changed while the roots were opened; nothing was changed (run it again)",
        dir.display()
    )
}

/// Opens the collection `t` with the projects `dirs` for the undo of `record` (read in
/// `from`): all of them, or an error naming what is missing.
fn open_linked(
    t: &Target,
    dirs: &[PathBuf],
    record: &skillwal::store::log::LogRecord,
    from: &Path,
    g: &Global,
    out: &Output,
) -> Result<(Collection, Vec<Project>)> {
    let names = || {
        record
            .with
            .iter()
            .map(|l| format!("record {} of {}", l.id, l.resolve(from).display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (c, ps, gone) = open_with_projects(t, dirs, g, out).with_context(|| {
        format!(
            "record {} was written by one transaction with {}; undoing it needs them all (nothing was changed)",
            record.id,
            names()
        )
    })?;
    if !gone.is_empty() {
        return Err(anyhow!(
            "record {} was written by one transaction with {}; {} cannot be opened, and undoing it needs them all (nothing was changed)",
            record.id,
            names(),
            gone.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((c, ps))
}
