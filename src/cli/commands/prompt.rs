//! The update's question, when an artifact has local modifications and there is a terminal
//! (`--strategy prompt`): overwrite with upstream, keep local, merge, or show the diff and
//! ask again.
//!
//! The library asks through a callback that answers overwrite (`Some(true)`), keep
//! (`Some(false)`) or "no terminal" (`None`, which fails the update before its transaction
//! starts). Merge is not one of its answers; so an answer "merge" is recorded and the
//! planning is stopped with `None` (nothing has changed then), and when every artifact
//! asked about was answered "merge", the update is run again with
//! [`Strategy::Merge`] — which treats the artifacts without local modifications exactly as
//! the prompt does. Mixing "merge" with other answers in one update needs a per-artifact
//! strategy from the library's callback; until then it is refused, naming the commands
//! that do it in two steps.

use super::{Target, interactive};
use crate::cli::advice::SaysUnchanged;
use crate::cli::output::{self, Output, UpdateAnswer};
use anyhow::{Result, anyhow};
use skillwal::fs::real::RealFs;
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::{
    Collection, CollectionError, SnapshotOutcome, Strategy, UpdateInput, UpdateOutcome,
};
use std::sync::Arc;

type Updated = (Vec<UpdateOutcome>, Option<SnapshotOutcome>);

/// Prints what overwriting `name`'s local modifications with its fetched content would
/// change (read through a second, read-only handle: `c` is busy with the update).
fn show_diff(t: &Target, inputs: &[UpdateInput], name: &str, ty: ArtifactType, out: &Output) {
    let shown = (|| -> Result<()> {
        let input = inputs
            .iter()
            .find(|i| i.name == name && i.ty == ty)
            .ok_or_else(|| anyhow!("{ty} {name} is not being updated"))?;
        let reader = Collection::open_read_only(Arc::new(RealFs), &t.dir)?;
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
    let (mut asked, mut merges) = (Vec::new(), Vec::new());
    let mut ask = |name: &str, ty: ArtifactType| -> Option<bool> {
        if !interactive {
            return None;
        }
        asked.push(format!("{ty} {name}"));
        loop {
            // The end of input answers as the old prompt's default did: keep them.
            let Some(answer) = output::ask_update(&format!("{ty} {name}")) else {
                return Some(false);
            };
            match answer {
                UpdateAnswer::Upstream => return Some(true),
                UpdateAnswer::Local => return Some(false),
                UpdateAnswer::Merge => {
                    merges.push(format!("{ty} {name}"));
                    return None;
                }
                UpdateAnswer::Diff => show_diff(t, inputs, name, ty, out),
            }
        }
    };
    let result = c.update(inputs, strategy, &mut ask);
    match result {
        Err(CollectionError::PromptWithoutTerminal { .. }) if !merges.is_empty() => {
            if merges.len() < asked.len() {
                return Err(mixed(&asked, &merges));
            }
            Ok(c.update(inputs, Strategy::Merge, &mut |_, _| None)?)
        }
        other => Ok(other?),
    }
}

/// The refusal of "merge" for some artifacts and another answer for others.
fn mixed(asked: &[String], merges: &[String]) -> anyhow::Error {
    let others: Vec<&String> = asked.iter().filter(|a| !merges.contains(a)).collect();
    anyhow::Error::new(SaysUnchanged(format!(
        "merge was chosen for {} and another answer for {}; one update merges all the artifacts it asks about or none, so nothing was changed: update those to merge with `--strategy merge`, then the others",
        merges.join(", "),
        others
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}
