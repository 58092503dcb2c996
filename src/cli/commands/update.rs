//! `update`: in the selected collection, or with `--collections A,B` / `--all-collections`
//! in several at once, in one transaction across them (wal-spec.md §14).

use super::artifacts::{fetch, no_source};
use super::{Target, destination, done, find, open, open_many, target};
use crate::cli::advice::SaysUnchanged;
use crate::cli::args::{Global, StrategyArg};
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::{CollectionUpdate, NotUpdated, Output};
use anyhow::{Result, anyhow};
use skillwal::skillmeat::collection::{Collection, Strategy, UpdateInput};
use skillwal::skillmeat::home::Home;
use skillwal::skillmeat::{Artifact, ArtifactType, Fetched, SourceSpec};
use std::sync::Arc;

/// What `update` was given.
pub struct UpdateArgs<'a> {
    pub names: &'a [String],
    pub all: bool,
    pub only: Option<ArtifactType>,
    pub strategy: Option<StrategyArg>,
    pub collections: &'a [String],
    pub all_collections: bool,
    pub deploy: bool,
}

impl UpdateArgs<'_> {
    fn across(&self) -> bool {
        !self.collections.is_empty() || self.all_collections
    }
}

fn strategy(arg: Option<StrategyArg>, home: Option<&Home>) -> Result<Strategy> {
    let from_config = match (arg, home) {
        (None, Some(h)) => h
            .read_config()?
            .map(|c| c.config())
            .transpose()?
            .and_then(|c| c.update_strategy),
        _ => None,
    };
    Ok(match (arg, from_config.as_deref()) {
        (Some(StrategyArg::Upstream), _) | (None, Some("upstream")) => Strategy::Upstream,
        (Some(StrategyArg::Local), _) | (None, Some("local")) => Strategy::Local,
        (Some(StrategyArg::Merge), _) | (None, Some("merge")) => Strategy::Merge,
        _ => Strategy::Prompt,
    })
}

/// The artifacts `update` works on in `c`: every one (of type `only`) with `all`, else the
/// named.
fn chosen(
    c: &Collection,
    names: &[String],
    all: bool,
    only: Option<ArtifactType>,
) -> Result<Vec<Artifact>> {
    if all {
        return Ok(c
            .manifest()?
            .artifacts
            .iter()
            .filter(|a| only.is_none_or(|ty| a.artifact_type == ty))
            .cloned()
            .collect());
    }
    names.iter().map(|n| find(c, n, only)).collect()
}

/// The exit code of an update: conflicts first (they leave marked files to fix; what was
/// not updated is intact), then artifacts that could not be updated.
fn exit_code(conflicts: bool, not_updated: bool) -> Exit {
    if conflicts {
        Exit::Conflicts
    } else if not_updated {
        Exit::NotAllUpdated
    } else {
        Exit::Ok
    }
}

pub fn update(g: &Global, a: &UpdateArgs, out: &Output) -> Result<Exit> {
    if a.names.is_empty() && !a.all {
        return Err(UsageError("name the artifacts to update, or pass --all".into()).into());
    }
    if a.across() {
        return update_across(g, a, out);
    }
    if a.deploy {
        return update_deploying(g, a, out);
    }
    let t = target(g, out)?;
    let strategy = strategy(a.strategy, t.home.as_ref())?;
    let mut c = open(&t, g, out)?;
    let artifacts = chosen(&c, a.names, a.all, a.only)?;
    let mut fetches = Fetches::default();
    let (inputs, not_updated) = fetches.fetch_all(&c, &artifacts, a.all, out)?;
    let mut parts = [(&mut c, inputs.as_slice())];
    let mut updated = super::prompt::update(&mut parts, strategy, out)?;
    c.close()?;
    let (outcomes, snapshot) = updated.collections.pop().expect("one collection");
    let code = exit_code(
        outcomes.iter().any(|o| !o.conflicts.is_empty()),
        !not_updated.is_empty(),
    );
    done(
        out.updated(&outcomes, snapshot.as_ref(), &not_updated),
        code,
    )
}

/// `update NAME --deploy`: the collection and every project it deployed to, opened
/// together (in identity order; the list of projects read again under the collection's
/// lock, and the opening repeated if it changed meanwhile), updated in one transaction.
fn update_deploying(g: &Global, a: &UpdateArgs, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let strategy = strategy(a.strategy, t.home.as_ref())?;
    let fs = super::file_system()?;
    let mut attempts = 0;
    let (mut c, mut projects, gone) = loop {
        let listed = Collection::registered_projects_of(&fs, &t.dir)?;
        let (c, projects, gone) = super::deploy::open_with_projects(&t, &listed, g, out)?;
        if c.registered_projects()? == listed || attempts == 3 {
            break (c, projects, gone);
        }
        attempts += 1;
        for p in projects {
            p.close()?;
        }
        c.close()?;
    };
    for p in &gone {
        out.note(&format!(
            "{} (a project this collection deployed to) is not there any more; left out",
            p.display()
        ));
    }
    let artifacts = chosen(&c, a.names, a.all, a.only)?;
    let mut fetches = Fetches::default();
    let (inputs, not_updated) = fetches.fetch_all(&c, &artifacts, a.all, out)?;
    let mut done_ = super::prompt::update_deploying(&mut c, &inputs, strategy, &mut projects, out)?;
    for p in projects {
        p.close()?;
    }
    c.close()?;
    let (outcomes, snapshot) = done_.updated.collections.pop().expect("one collection");
    let code = exit_code(
        outcomes.iter().any(|o| !o.conflicts.is_empty())
            || done_.pushed.iter().any(|p| !p.conflicts.is_empty()),
        !not_updated.is_empty(),
    );
    done(
        out.updated_deploying(
            &outcomes,
            snapshot.as_ref(),
            &not_updated,
            &done_.pushed,
            done_.updated.across.as_deref(),
        ),
        code,
    )
}

/// The collections `--collections` or `--all-collections` name, as targets.
fn collections(g: &Global, a: &UpdateArgs) -> Result<(Home, Vec<Target>)> {
    if g.collection.is_some() || g.collection_dir.is_some() {
        return Err(UsageError(
            "--collections and --all-collections choose the collections; leave out -c and --collection-dir"
                .into(),
        )
        .into());
    }
    let home = Home::resolve(g.home.as_deref())?.with_fs(super::file_system()?);
    let names = if a.all_collections {
        home.collections()?
    } else {
        a.collections.to_vec()
    };
    if names.is_empty() {
        return Err(anyhow!(
            "{} holds no collections",
            home.dir.join("collections").display()
        ));
    }
    let mut targets = Vec::with_capacity(names.len());
    for n in names {
        targets.push(Target {
            dir: destination(g, &n)?,
            name: n,
            home: Some(home.clone()),
        });
    }
    Ok((home, targets))
}

/// `update --collections A,B` and `update --all-collections`: the artifacts in each
/// collection, fetched once per source, updated in one transaction across the collections.
/// With `--collections`, a named artifact must be in every collection; with
/// `--all-collections`, in at least one (the collections without any are left alone).
fn update_across(g: &Global, a: &UpdateArgs, out: &Output) -> Result<Exit> {
    let (home, mut targets) = collections(g, a)?;
    let strategy = strategy(a.strategy, Some(&home))?;
    let dirs: Vec<&std::path::Path> = targets.iter().map(|t| t.dir.as_path()).collect();
    let keep = super::log_keep(&targets[0])?;
    let mut opened = open_many(&dirs, keep, g, out)?;
    // What to update in each collection; with --all-collections, the collections holding
    // none of the named artifacts drop out.
    let mut chosen_in = Vec::with_capacity(opened.len());
    for (c, t) in opened.iter().zip(&targets) {
        let artifacts = if a.all_collections && !a.all {
            holding(c, a.names, a.only)?
        } else {
            chosen(c, a.names, a.all, a.only).map_err(|e| e.context(format!("in {}", t.name)))?
        };
        chosen_in.push(artifacts);
    }
    if a.all_collections && !a.all {
        for n in a.names {
            if !chosen_in.iter().flatten().any(|x| &x.name == n) {
                return Err(anyhow!(
                    "no collection of {} holds an artifact named {n:?}; nothing was changed",
                    home.dir.display()
                ));
            }
        }
    }
    let mut fetches = Fetches::default();
    let mut inputs = Vec::with_capacity(opened.len());
    for (c, artifacts) in opened.iter().zip(&chosen_in) {
        inputs.push(fetches.fetch_all(c, artifacts, a.all, out)?);
    }
    // The collections with something to update, in the order named.
    let mut parts = Vec::new();
    let mut shown = Vec::new();
    for (i, c) in opened.iter_mut().enumerate() {
        if !chosen_in[i].is_empty() {
            parts.push((c, inputs[i].0.as_slice()));
            shown.push(i);
        }
    }
    let updated = super::prompt::update(&mut parts, strategy, out)?;
    drop(parts);
    for c in opened {
        c.close()?;
    }
    let mut rows = Vec::with_capacity(shown.len());
    for (i, (outcomes, record)) in shown.iter().zip(updated.collections) {
        let t = &mut targets[*i];
        rows.push(CollectionUpdate {
            collection: std::mem::take(&mut t.name),
            dir: std::mem::take(&mut t.dir),
            updates: outcomes,
            record,
            not_updated: std::mem::take(&mut inputs[*i].1),
        });
    }
    let conflicts = rows
        .iter()
        .any(|r| r.updates.iter().any(|o| !o.conflicts.is_empty()));
    let not_updated = rows.iter().any(|r| !r.not_updated.is_empty());
    done(
        out.updated_across(&rows, updated.across.as_deref()),
        exit_code(conflicts, not_updated),
    )
}

/// The artifacts of `c` among `names` (of type `only`).
fn holding(c: &Collection, names: &[String], only: Option<ArtifactType>) -> Result<Vec<Artifact>> {
    let manifest = c.manifest()?;
    Ok(manifest
        .artifacts
        .iter()
        .filter(|x| names.contains(&x.name) && only.is_none_or(|ty| x.artifact_type == ty))
        .cloned()
        .collect())
}

/// The sources fetched so far in one command, so that an artifact whose source several
/// collections record is fetched once, and every collection gets the same content.
#[derive(Default)]
struct Fetches {
    done: Vec<((SourceSpec, ArtifactType), Arc<Fetched>)>,
}

impl Fetches {
    /// Fetches every artifact's source before the transaction starts (a failure here
    /// changes nothing). With `all`, an artifact that has no recorded source, or whose fetch
    /// fails, is set aside with why and the others go on; without it (artifacts named by
    /// the user), that fails the whole update.
    fn fetch_all(
        &mut self,
        c: &Collection,
        artifacts: &[Artifact],
        all: bool,
        out: &Output,
    ) -> Result<(Vec<UpdateInput>, Vec<NotUpdated>)> {
        let (mut inputs, mut not_updated) = (Vec::new(), Vec::new());
        let progress = out.progress(artifacts.len() as u64, "fetching");
        for a in artifacts {
            progress.set_message(format!("fetching {} {}", a.artifact_type, a.name));
            match self.fetch_one(c, a) {
                Ok(fetched) => inputs.push(UpdateInput {
                    name: a.name.clone(),
                    ty: a.artifact_type,
                    fetched,
                }),
                Err((reason, e)) if all => not_updated.push(NotUpdated::new(a, reason, &e)),
                Err((NotUpdated::FETCH_FAILED, e)) => {
                    return Err(e.context(SaysUnchanged(format!(
                        "fetching {} {} failed; nothing was changed",
                        a.artifact_type, a.name
                    ))));
                }
                Err((_, e)) => return Err(e),
            }
            progress.inc(1);
        }
        progress.finish_and_clear();
        Ok((inputs, not_updated))
    }

    /// Fetches `a` from the source [`Collection::source_of`] finds (once per source); on
    /// failure, why ([`NotUpdated::NO_SOURCE`] or [`NotUpdated::FETCH_FAILED`]) and the
    /// error.
    fn fetch_one(
        &mut self,
        c: &Collection,
        a: &Artifact,
    ) -> Result<Arc<Fetched>, (&'static str, anyhow::Error)> {
        let spec = match c.source_of(a) {
            Ok(Some(spec)) => spec,
            Ok(None) => return Err((NotUpdated::NO_SOURCE, no_source(a).into())),
            Err(e) => return Err((NotUpdated::NO_SOURCE, anyhow::Error::from(e))),
        };
        let key = (spec, a.artifact_type);
        if let Some((_, f)) = self.done.iter().find(|(k, _)| *k == key) {
            return Ok(f.clone());
        }
        let fetched = Arc::new(fetch(&key.0, key.1).map_err(|e| (NotUpdated::FETCH_FAILED, e))?);
        self.done.push((key, fetched.clone()));
        Ok(fetched)
    }
}
