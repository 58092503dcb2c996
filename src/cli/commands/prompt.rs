//! The update's question, when an artifact has local modifications and there is a terminal
//! (`--strategy prompt`): overwrite with upstream, keep local, merge, or show the diff and
//! ask again.
//!
//! The library asks through a callback that answers, for each artifact on its own,
//! overwrite, keep or merge ([`Answer`]), or "no terminal" (`None`, which fails the update
//! before its transaction starts). All the answers of one update are carried out in its one
//! transaction.

use super::{Target, interactive};
use crate::cli::output::{self, Output, UpdateAnswer};
use anyhow::{Result, anyhow};
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::{
    Answer, Collection, SnapshotOutcome, Strategy, UpdateInput, UpdateOutcome,
};

type Updated = (Vec<UpdateOutcome>, Option<SnapshotOutcome>);

/// Prints what overwriting `name`'s local modifications with its fetched content would
/// change (read through a second, read-only handle: `c` is busy with the update).
fn show_diff(t: &Target, inputs: &[UpdateInput], name: &str, ty: ArtifactType, out: &Output) {
    let shown = (|| -> Result<()> {
        let input = inputs
            .iter()
            .find(|i| i.name == name && i.ty == ty)
            .ok_or_else(|| anyhow!("{ty} {name} is not being updated"))?;
        let reader = Collection::open_read_only(super::file_system()?, &t.dir)?;
        let files = reader.diff(name, ty, &input.fetched)?;
        out.diffed(name, ty, &files)?;
        Ok(())
    })();
    if let Err(e) = shown {
        out.note(&format!("cannot show the diff of {ty} {name}: {e:#}"));
    }
}

/// Runs the update of `inputs` with `strategy`, asking on the terminal under
/// [`Strategy::Prompt`].
pub fn update(
    c: &mut Collection,
    t: &Target,
    inputs: &[UpdateInput],
    strategy: Strategy,
    out: &Output,
) -> Result<Updated> {
    let interactive = interactive();
    let mut ask = |name: &str, ty: ArtifactType| -> Option<Answer> {
        if !interactive {
            return None;
        }
        loop {
            // The end of input answers as the old prompt's default did: keep them.
            let Some(answer) = output::ask_update(&format!("{ty} {name}")) else {
                return Some(Answer::Local);
            };
            match answer {
                UpdateAnswer::Upstream => return Some(Answer::Upstream),
                UpdateAnswer::Local => return Some(Answer::Local),
                UpdateAnswer::Merge => return Some(Answer::Merge),
                UpdateAnswer::Diff => show_diff(t, inputs, name, ty, out),
            }
        }
    };
    Ok(c.update(inputs, strategy, &mut ask)?)
}
