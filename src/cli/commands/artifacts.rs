//! The commands on artifacts: add, remove, copy, move, diff (`update` has its own file).

use super::{destination, find, open, open_for_reading, open_two, target};
use crate::cli::args::Global;
use crate::cli::exit::{Exit, UsageError};
use crate::cli::output::Output;
use crate::cli::suggest;
use anyhow::{Context, Result, anyhow, bail};
use skillwal::skillmeat::collection::{Collection, CollectionError, Transfer};
use skillwal::skillmeat::source::fetch_in;
use skillwal::skillmeat::{Artifact, ArtifactType, Fetched, SourceSpec, default_name};
use std::path::{Component, Path, PathBuf};

/// What `add` was given.
pub struct AddArgs<'a> {
    pub ty: ArtifactType,
    pub source: Option<&'a str>,
    pub name: Option<&'a str>,
    pub git: Option<&'a str>,
    pub path: Option<&'a str>,
    pub reference: Option<&'a str>,
}

/// A local path if it exists, else a GitHub spec, else an error (naming the paths close
/// to `source` that do exist).
fn source_spec(source: &str) -> Result<SourceSpec> {
    let p = Path::new(source);
    if super::present(p) {
        return Ok(SourceSpec::Local(p.to_path_buf()));
    }
    let looks_like_path = source.starts_with(['.', '/', '~']) || source.ends_with(".md");
    match SourceSpec::parse_github(source) {
        Some(spec) if !looks_like_path => Ok(spec),
        _ => bail!(
            "source {source} does not exist (neither a local path nor a GitHub spec user/repo/path[@ref]); check the path, or use --git URL{}",
            near_path(source)
                .map(|s| format!("; {s}"))
                .unwrap_or_default()
        ),
    }
}

/// "did you mean …?" for a local path that does not exist: at its first component that
/// does not exist, the entries of that directory with close names (and the rest of the
/// path after them, when that exists). `None` when nothing is close.
fn near_path(text: &str) -> Option<String> {
    let comps: Vec<Component> = Path::new(text).components().collect();
    let mut base = PathBuf::new();
    for (i, c) in comps.iter().enumerate() {
        let next = base.join(c);
        if super::present(&next) {
            base = next;
            continue;
        }
        let Component::Normal(name) = c else {
            return None;
        };
        let dir = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base.as_path()
        };
        let entries: Vec<String> = super::file_system()
            .ok()?
            .read_dir(&std::path::absolute(dir).ok()?)
            .ok()?
            .into_iter()
            .filter_map(|e| e.name.into_string().ok())
            .collect();
        let rest: PathBuf = comps[i + 1..].iter().collect();
        let near: Vec<String> = suggest::near(name.to_str()?, entries.iter().map(String::as_str))
            .into_iter()
            .map(|n| base.join(n))
            .map(|p| {
                if rest.as_os_str().is_empty() {
                    p
                } else {
                    p.join(&rest)
                }
            })
            .filter(|p| super::present(p))
            .map(|p| p.display().to_string())
            .collect();
        return suggest::did_you_mean(&near);
    }
    None
}

pub(super) fn describe(spec: &SourceSpec) -> String {
    match spec {
        SourceSpec::Local(p) => p.display().to_string(),
        SourceSpec::Git {
            url,
            path,
            reference,
        } => {
            let mut s = url.clone();
            if let Some(p) = path {
                s.push_str(&format!(" ({p})"));
            }
            if let Some(r) = reference {
                s.push_str(&format!(" @{r}"));
            }
            s
        }
    }
}

/// The source `add` was given, and the command-line text when it is a GitHub shorthand.
fn add_source<'a>(a: &AddArgs<'a>) -> Result<(SourceSpec, Option<&'a str>)> {
    if a.git.is_none() && (a.path.is_some() || a.reference.is_some()) {
        return Err(UsageError(
            "--path and --ref go with --git URL; a local source is copied as it is".into(),
        )
        .into());
    }
    if let Some(url) = a.git {
        let spec = SourceSpec::Git {
            url: url.to_string(),
            path: a.path.map(str::to_string),
            reference: a.reference.map(str::to_string),
        };
        return Ok((spec, None));
    }
    let text = a.source.expect("clap requires a source without --git");
    let spec = source_spec(text)?;
    let shorthand = matches!(spec, SourceSpec::Git { .. }).then_some(text);
    Ok((spec, shorthand))
}

pub fn add(g: &Global, a: &AddArgs, out: &Output) -> Result<Exit> {
    let (spec, shorthand) = add_source(a)?;
    let ty = a.ty;
    let name = match a.name {
        Some(n) => n.to_string(),
        None => {
            default_name(&spec, ty).context("cannot derive a name from the source; pass --name")?
        }
    };
    let t = target(g, out)?;
    let mut c = open(&t, g, out)?;
    let fetched = out.spinner(&format!("fetching {}", describe(&spec)), || {
        fetch(&spec, ty)
    });
    let fetched = match (fetched, shorthand) {
        (Ok(f), _) => f,
        (Err(e), Some(text)) => {
            return Err(anyhow!(e).context(format!(
                "source {text} does not exist as a local path{}, and fetching it as the GitHub spec {text} ({}) failed",
                near_path(text)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default(),
                describe(&spec)
            )));
        }
        (Err(e), None) => return Err(e),
    };
    let entry = c.add(ty, &name, &fetched)?;
    c.close()?;
    out.added(
        ty,
        &name,
        &entry,
        &describe(&spec),
        &t.dir,
        &fetched.ignored,
    )?;
    Ok(Exit::Ok)
}

pub fn remove(
    g: &Global,
    name: &str,
    ty: Option<ArtifactType>,
    keep_files: bool,
    out: &Output,
) -> Result<Exit> {
    let t = target(g, out)?;
    let mut c = open(&t, g, out)?;
    let a = find(&c, name, ty)?;
    let record = c.remove(&a.name, a.artifact_type, keep_files)?;
    c.close()?;
    out.removed(&a.name, a.artifact_type, keep_files, record.as_ref())?;
    Ok(Exit::Ok)
}

/// `copy` and `move`: the artifact from the selected collection to `to`.
pub fn transfer(
    g: &Global,
    name: &str,
    ty: Option<ArtifactType>,
    to: &str,
    how: Transfer,
    out: &Output,
) -> Result<Exit> {
    let t = target(g, out)?;
    let to = destination(g, to)?;
    let (mut src, mut dst) = open_two(&t, &to, g, out)?;
    let a = find(&src, name, ty)?;
    let outcome = Collection::transfer(&mut src, &mut dst, &a.name, a.artifact_type, how)?;
    src.close()?;
    dst.close()?;
    out.transferred(&a.name, a.artifact_type, &t.dir, &to, &outcome)?;
    Ok(Exit::Ok)
}

pub fn diff(g: &Global, name: &str, ty: Option<ArtifactType>, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let a = find(&c, name, ty)?;
    let spec = c.source_of(&a)?.ok_or_else(|| no_source(&a))?;
    let fetched = out.spinner(&format!("fetching {}", describe(&spec)), || {
        fetch(&spec, a.artifact_type)
    })?;
    let files = c.diff(&a.name, a.artifact_type, &fetched)?;
    c.close()?;
    out.diffed(&a.name, a.artifact_type, &files)?;
    Ok(Exit::Ok)
}

pub(super) fn no_source(a: &Artifact) -> CollectionError {
    CollectionError::NoSource {
        name: a.name.clone(),
        ty: a.artifact_type,
        origin: a.origin.to_string(),
    }
}

/// Fetches `spec`, its files read through the command's one file system.
pub(super) fn fetch(spec: &SourceSpec, ty: ArtifactType) -> Result<Fetched> {
    Ok(fetch_in(super::file_system()?, spec, ty)?)
}
