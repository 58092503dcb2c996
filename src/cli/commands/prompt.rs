//! The update's question, when an artifact has local modifications and there is a terminal
//! (`--strategy prompt`): overwrite with upstream, keep local, merge, or show the diff and
//! ask again.
//!
//! The library asks through a callback that answers, for each artifact on its own,
//! overwrite, keep or merge ([`Answer`]), or "no terminal" (`None`, which fails the update
//! before its transaction starts). All the answers of one update are carried out in its one
//! transaction.

use super::interactive;
use crate::cli::output::{self, Output, UpdateAnswer};
use anyhow::{Result, anyhow};
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::{Answer, Collection, Strategy, UpdateInput, UpdatedAcross};
use std::path::{Path, PathBuf};

/// Prints what overwriting `name`'s local modifications in the collection at `dir` with
/// its fetched content would change (read through a second, read-only handle: the
/// collection is busy with the update).
fn show_diff(dir: &Path, inputs: &[UpdateInput], name: &str, ty: ArtifactType, out: &Output) {
    let shown = (|| -> Result<()> {
        let input = inputs
            .iter()
            .find(|i| i.name == name && i.ty == ty)
            .ok_or_else(|| anyhow!("{ty} {name} is not being updated"))?;
        let reader = Collection::open_read_only(super::file_system()?, dir)?;
        let files = reader.diff(name, ty, &input.fetched)?;
        out.diffed(name, ty, &files)?;
        Ok(())
    })();
    if let Err(e) = shown {
        out.note(&format!("cannot show the diff of {ty} {name}: {e:#}"));
    }
}

/// Runs the update of each collection's inputs with `strategy`, in one transaction
/// ([`Collection::update_across`]), asking on the terminal under [`Strategy::Prompt`]
/// (naming the collection when there are several).
pub fn update(
    parts: &mut [(&mut Collection, &[UpdateInput])],
    strategy: Strategy,
    out: &Output,
) -> Result<UpdatedAcross> {
    let interactive = interactive();
    let inputs_of: Vec<(PathBuf, &[UpdateInput])> = parts
        .iter()
        .map(|(c, inputs)| (c.dir().to_path_buf(), *inputs))
        .collect();
    let several = inputs_of.len() > 1;
    let mut ask = |dir: &Path, name: &str, ty: ArtifactType| -> Option<Answer> {
        if !interactive {
            return None;
        }
        let what = if several {
            format!("{ty} {name} in {}", dir.display())
        } else {
            format!("{ty} {name}")
        };
        loop {
            // The end of input answers as the old prompt's default did: keep them.
            let Some(answer) = output::ask_update(&what) else {
                return Some(Answer::Local);
            };
            match answer {
                UpdateAnswer::Upstream => return Some(Answer::Upstream),
                UpdateAnswer::Local => return Some(Answer::Local),
                UpdateAnswer::Merge => return Some(Answer::Merge),
                UpdateAnswer::Diff => {
                    let inputs = inputs_of.iter().find(|(d, _)| d == dir).map(|(_, i)| *i);
                    show_diff(dir, inputs.unwrap_or(&[]), name, ty, out);
                }
            }
        }
    };
    Ok(Collection::update_across(parts, strategy, &mut ask)?)
}

/// [`Collection::update_deploying`] with the same prompt as [`update`] (for a project copy,
/// `d` shows nothing more: ask again).
pub fn update_deploying(
    c: &mut Collection,
    inputs: &[UpdateInput],
    strategy: Strategy,
    projects: &mut [skillwal::skillmeat::project::Project],
    out: &Output,
) -> Result<skillwal::skillmeat::collection::UpdatedDeploying> {
    let interactive = interactive();
    let dir = c.dir().to_path_buf();
    let mut ask = |at: &Path, name: &str, ty: ArtifactType| -> Option<Answer> {
        if !interactive {
            return None;
        }
        let what = if at == dir {
            format!("{ty} {name}")
        } else {
            format!("{ty} {name} deployed in {}", at.display())
        };
        loop {
            let Some(answer) = output::ask_update(&what) else {
                return Some(Answer::Local);
            };
            match answer {
                UpdateAnswer::Upstream => return Some(Answer::Upstream),
                UpdateAnswer::Local => return Some(Answer::Local),
                UpdateAnswer::Merge => return Some(Answer::Merge),
                UpdateAnswer::Diff if at == dir => show_diff(&dir, inputs, name, ty, out),
                UpdateAnswer::Diff => {}
            }
        }
    };
    Ok(c.update_deploying(inputs, strategy, &mut ask, projects)?)
}
