//! The snapshot commands: snapshot (take, list, show, delete), rollback, gc.

use super::{Target, confirm, interactive, open, open_for_reading, target};
use crate::cli::args::{Global, SnapshotCommand};
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use anyhow::{Context, Result, anyhow, bail};
use skillwal::skillmeat::collection::parse_snapshot_id;
use skillwal::skillmeat::py_snapshot;

pub fn snapshot(
    g: &Global,
    message: Option<&str>,
    command: &Option<SnapshotCommand>,
    out: &Output,
) -> Result<Exit> {
    let t = target(g, out)?;
    match command {
        None => {
            let mut c = open(&t, g, out)?;
            let s = c.snapshot(message.unwrap_or(""))?;
            c.close()?;
            out.snapshot_taken(&s)?;
        }
        Some(SnapshotCommand::List) => {
            let c = open_for_reading(&t, g, out)?;
            let list = c.snapshots()?;
            c.close()?;
            let py = match &t.home {
                Some(h) => Some(py_snapshot::list(h.fs(), &h.dir, &t.name)?),
                None => None,
            };
            out.snapshot_list(&t.dir, &list, py.as_deref())?;
        }
        Some(SnapshotCommand::Show { id }) if py_snapshot::is_py_id(id) => {
            let py = find_py_snapshot(&t, id)?;
            let c = open_for_reading(&t, g, out)?;
            let tmp = tempfile::TempDir::new().context("creating a temporary directory")?;
            let changes = c.skillmeat_snapshot_changes(&py, tmp.path())?;
            c.close()?;
            out.skillmeat_snapshot_show(&py, &changes)?;
        }
        Some(SnapshotCommand::Show { id }) => {
            let id = parse_snapshot_id(id)?;
            let c = open_for_reading(&t, g, out)?;
            let (snap, changes) = c.snapshot_changes(id)?;
            c.close()?;
            out.snapshot_show(&snap, &changes)?;
        }
        Some(SnapshotCommand::Delete { id }) => {
            let id = parse_snapshot_id(id)?;
            let mut c = open(&t, g, out)?;
            let snap = c.delete_snapshot(id)?;
            c.close()?;
            out.snapshot_deleted(&snap)?;
        }
    }
    Ok(Exit::Ok)
}

/// The Python tool's snapshot `id` of the target collection.
fn find_py_snapshot(t: &Target, id: &str) -> Result<py_snapshot::PySnapshot> {
    let Some(home) = &t.home else {
        bail!(
            "{id} is a SkillMeat snapshot id, and SkillMeat's snapshots are found through the home directory; use --home/-c instead of --collection-dir"
        );
    };
    let all = py_snapshot::list(home.fs(), &home.dir, &t.name)?;
    all.into_iter().find(|s| s.id == id).ok_or_else(|| {
        anyhow!(
            "no SkillMeat snapshot {id} in {}; `skillwal snapshot list` shows them",
            py_snapshot::snapshots_dir(&home.dir, &t.name)
                .join("snapshots.toml")
                .display()
        )
    })
}

fn rollback_skillmeat(t: &Target, g: &Global, id: &str, yes: bool, out: &Output) -> Result<Exit> {
    let py = find_py_snapshot(t, id)?;
    let mut c = open(t, g, out)?;
    if !yes
        && !confirm(
            &format!(
                "Replace the files of {} with SkillMeat snapshot {id} (the operation log keeps the current state: `undo` brings it back)?",
                t.dir.display()
            ),
            &format!(
                "rollback replaces the collection's files with SkillMeat snapshot {id}; without a terminal to confirm, pass --yes (nothing was changed)"
            ),
        )?
    {
        c.close()?;
        out.note("rollback declined; nothing was changed");
        return Ok(Exit::Ok);
    }
    let tmp = tempfile::TempDir::new().context("creating a temporary directory")?;
    let (imported, extracted, r) = c.rollback_skillmeat(&py, tmp.path())?;
    c.close()?;
    out.rolled_back_skillmeat(&t.dir, &py, &imported, &extracted, &r)?;
    Ok(Exit::Ok)
}

pub fn rollback(g: &Global, id: &str, yes: bool, out: &Output) -> Result<Exit> {
    if py_snapshot::is_py_id(id) {
        return rollback_skillmeat(&target(g, out)?, g, id, yes, out);
    }
    let id = parse_snapshot_id(id)?;
    let t = target(g, out)?;
    let mut c = open(&t, g, out)?;
    if !yes {
        let refusal = format!(
            "rollback replaces the collection's files with snapshot {id}; without a terminal to confirm, pass --yes (nothing was changed)"
        );
        if !interactive() {
            return Err(UsageError(refusal).into());
        }
        let (_, changes) = c.snapshot_changes(id)?;
        let question = format!(
            "Roll {} back to snapshot {id} ({} paths change; the operation log keeps the current state: `undo` brings it back)?",
            t.dir.display(),
            changes.len()
        );
        if !confirm(&question, &refusal)? {
            c.close()?;
            out.note("rollback declined; nothing was changed");
            return Ok(Exit::Ok);
        }
    }
    let r = c.rollback(id)?;
    c.close()?;
    out.rolled_back(&t.dir, &r)?;
    Ok(Exit::Ok)
}

pub fn gc(g: &Global, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let mut c = open(&t, g, out)?;
    let r = c.gc()?;
    c.close()?;
    out.gc(&r)?;
    Ok(Exit::Ok)
}
