//! The journal commands: journal inspect, journal verify, recover.

use super::{done, file_system, layout, target};
use crate::cli::args::Global;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use anyhow::{Result, bail};
use skillwal::OpenOptions;
use skillwal::fs::real::RealFs;
use std::path::Path;

pub fn inspect(g: &Global, path: Option<&Path>, out: &Output) -> Result<Exit> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => layout(&target(g, out)?, g, false)?.journal,
    };
    if !path.exists() {
        bail!(
            "no journal at {} (skillwal has not written to this collection yet)",
            path.display()
        );
    }
    let report = skillwal::engine::inspect::inspect(&RealFs, &path)?;
    out.inspect(&report)?;
    Ok(Exit::Ok)
}

pub fn verify(g: &Global, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let layout = layout(&t, g, false)?;
    if !layout.journal.exists() {
        out.journal_verified(&t.dir, None, Ok(&skillwal::engine::DryRun::Nothing))?;
        return Ok(Exit::Ok);
    }
    let report = skillwal::engine::inspect::inspect(&RealFs, &layout.journal)?;
    let plan = skillwal::engine::dry_run(&RealFs, &layout);
    let printed = out.journal_verified(
        &t.dir,
        Some(&report),
        plan.as_ref().map_err(|e| e.to_string()),
    );
    done(printed, if plan.is_ok() { Exit::Ok } else { Exit::Error })
}

pub fn recover(g: &Global, dry_run: bool, discard: bool, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    if !t.dir.is_dir() {
        bail!("{} does not exist", t.dir.display());
    }
    if dry_run {
        let plan = skillwal::engine::dry_run(&RealFs, &layout(&t, g, false)?)?;
        out.dry_run(&t.dir, &plan)?;
        return Ok(Exit::Ok);
    }
    let opts = OpenOptions {
        no_wait: g.no_wait,
        ..Default::default()
    };
    let layout = layout(&t, g, true)?;
    if discard {
        let d = skillwal::discard_journal(file_system()?, &layout, &opts)?;
        out.discarded(&t.dir, &d)?;
        return Ok(Exit::Ok);
    }
    let engine = skillwal::Engine::open_layout(file_system()?, &layout, &opts)?;
    let report = engine.recovery_report().clone();
    engine.close()?;
    out.recovery(&t.dir, &report)?;
    Ok(Exit::Ok)
}
