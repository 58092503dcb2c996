//! The journal commands: journal inspect, journal verify, recover.

use super::{canonical, done, file_system, kind_at, layout, present, target};
use crate::cli::args::Global;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use anyhow::{Result, bail};
use skillwal::OpenOptions;
use skillwal::engine::inspect::{InspectReport, TxnState};
use skillwal::engine::path::META_DIR;
use skillwal::fs::FileKind;
use skillwal::skillmeat::MANIFEST_FILE_NAME;
use std::path::{Path, PathBuf};

pub use crate::cli::output::shell_word;

/// The global options that select the collection, as the user gave them: what to put
/// after `skillwal` for a command on the same collection.
pub(super) fn selection(g: &Global) -> String {
    let mut s = String::new();
    if let Some(h) = &g.home {
        s.push_str(&format!(" --home {}", shell_word(&h.display().to_string())));
    }
    if let Some(c) = &g.collection {
        s.push_str(&format!(" -c {}", shell_word(c)));
    }
    if let Some(d) = &g.collection_dir {
        let d = canonical(d).unwrap_or_else(|_| d.clone());
        s.push_str(&format!(
            " --collection-dir {}",
            shell_word(&d.display().to_string())
        ));
    }
    s
}

/// The journal of the collection at `dir`, where skillwal keeps it (wal-spec.md §2).
fn journal_of(dir: &Path) -> Result<PathBuf> {
    let fs = file_system()?;
    Ok(skillwal::skillmeat::state::locate(&fs, &canonical(dir)?)?
        .layout
        .journal)
}

/// The collection whose journal is the file `journal`, when there is one: the journal is
/// in `<parent>/.skillwal/<name>/` beside the collection `<parent>/<name>`, or in the
/// collection's own `.skillwal/` (older skillwal, or a mount point).
fn collection_of(journal: &Path) -> Option<PathBuf> {
    let journal = canonical(journal).ok()?;
    let state = journal.parent()?;
    let beside = state
        .parent()
        .filter(|p| p.file_name().is_some_and(|n| n == META_DIR))
        .and_then(|meta| Some(meta.parent()?.join(state.file_name()?)));
    let inside = state
        .file_name()
        .filter(|n| *n == META_DIR)
        .and_then(|_| state.parent().map(Path::to_path_buf));
    [beside, inside]
        .into_iter()
        .flatten()
        .find(|c| is_file(&c.join(MANIFEST_FILE_NAME)) && journal_of(c).is_ok_and(|j| j == journal))
}

/// The journal file PATH names, and the collection it belongs to (when there is one). PATH
/// is a journal file, a collection's directory, or skillwal's state directory of a
/// collection; anything else is an error about PATH.
fn journal_at(path: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    let Some(kind) = kind_at(path) else {
        if present(path) {
            bail!(
                "no journal at {}: it is a symbolic link to nothing",
                path.display()
            );
        }
        bail!("no journal at {}: nothing exists there", path.display());
    };
    if kind != FileKind::Dir {
        return Ok((path.to_path_buf(), collection_of(path)));
    }
    if is_file(&path.join(MANIFEST_FILE_NAME)) {
        let dir = canonical(path)?;
        let journal = journal_of(&dir)?;
        if kind_at(&journal).is_none() {
            bail!(
                "no journal for the collection at {}: skillwal has not written to it yet (its journal would be {})",
                dir.display(),
                journal.display()
            );
        }
        return Ok((journal, Some(dir)));
    }
    let journal = path.join(skillwal::engine::layout::JOURNAL_FILE);
    if is_file(&journal) {
        let collection = collection_of(&journal);
        return Ok((journal, collection));
    }
    bail!(
        "{} is a directory, but neither a collection (no {MANIFEST_FILE_NAME}) nor skillwal's state of one (no journal file): give a journal file or a collection's directory",
        path.display()
    )
}

/// Whether `r` describes something that is not a journal at all: no valid header slot and
/// no record.
fn not_a_journal(r: &InspectReport) -> bool {
    r.state == TxnState::Unreadable && r.slots.iter().all(|s| !s.valid) && r.records.is_empty()
}

pub fn inspect(g: &Global, path: Option<&Path>, out: &Output) -> Result<Exit> {
    let (journal, command) = match path {
        Some(p) => {
            let (journal, collection) = journal_at(p)?;
            let command = collection.map(|dir| {
                let name = dir.file_name().map(|n| n.to_string_lossy().to_string());
                out.set_collection(&name.unwrap_or_default(), &dir);
                format!(
                    "skillwal --collection-dir {}",
                    shell_word(&dir.display().to_string())
                )
            });
            (journal, command)
        }
        None => {
            let t = target(g, out)?;
            let journal = layout(&t, g, false)?.journal;
            if kind_at(&journal).is_none() {
                bail!(
                    "no journal at {} (skillwal has not written to this collection yet)",
                    journal.display()
                );
            }
            (journal, Some(format!("skillwal{}", selection(g))))
        }
    };
    let report = skillwal::engine::inspect::inspect(file_system()?.as_ref(), &journal)?;
    if not_a_journal(&report) {
        bail!(
            "{} is not a skillwal journal: neither header slot is valid and no record can be read ({} bytes)",
            journal.display(),
            report.file_len
        );
    }
    // A damaged or unreadable journal exits 1 after the report, whichever way it was named,
    // so that a script can tell.
    let damaged = matches!(report.state, TxnState::Corrupt | TxnState::Unreadable);
    let code = if damaged { Exit::Error } else { Exit::Ok };
    done(out.inspect(&report, command.as_deref()), code)
}

pub fn verify(g: &Global, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let layout = layout(&t, g, false)?;
    if kind_at(&layout.journal).is_none() {
        out.journal_verified(&t.dir, None, Ok(&skillwal::engine::DryRun::Nothing))?;
        return Ok(Exit::Ok);
    }
    let fs = file_system()?;
    let report = skillwal::engine::inspect::inspect(fs.as_ref(), &layout.journal)?;
    let plan = skillwal::engine::dry_run(fs.as_ref(), &layout);
    let printed = out.journal_verified(
        &t.dir,
        Some(&report),
        plan.as_ref().map_err(|e| e.to_string()),
    );
    done(printed, if plan.is_ok() { Exit::Ok } else { Exit::Error })
}

pub fn recover(
    g: &Global,
    dry_run: bool,
    discard: bool,
    forget_decision: Option<&str>,
    out: &Output,
) -> Result<Exit> {
    let t = target(g, out)?;
    if kind_at(&t.dir) != Some(FileKind::Dir) {
        bail!("{} does not exist", t.dir.display());
    }
    if dry_run {
        let plan = skillwal::engine::dry_run(file_system()?.as_ref(), &layout(&t, g, false)?)?;
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
    let mut engine = skillwal::Engine::open_layout(file_system()?, &layout, &opts)?;
    let report = engine.recovery_report().clone();
    if let Some(id) = forget_decision {
        out.recovered(&t.dir, &report);
        let kept = engine.forget_decision(id)?;
        engine.close()?;
        out.forgotten(&t.dir, id, kept)?;
        return Ok(Exit::Ok);
    }
    engine.close()?;
    out.recovery(&t.dir, &report)?;
    Ok(Exit::Ok)
}

/// Whether `p` is a regular file, links followed.
fn is_file(p: &Path) -> bool {
    kind_at(p) == Some(FileKind::File)
}
