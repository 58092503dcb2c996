//! The commands on the collection as a whole: init, list, show, status, verify.

use super::{Target, close_then, done, file_system, find, open_for_reading, target};
use crate::cli::advice::LeftBehind;
use crate::cli::args::Global;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use anyhow::{Result, bail};
use skillwal::OpenOptions;
use skillwal::fs::{FileSystem, LockKind};
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::{Collection, CollectionError};
use skillwal::skillmeat::home::HomeError;
use skillwal::skillmeat::names::validate_collection_name;
use std::path::{Path, PathBuf};

/// Everything `init` can refuse, checked before it creates anything: the name (from
/// --name, -c, config.toml or the directory's name), what is at the collection's path, and
/// config.toml. A refusal leaves the file system exactly as it was.
fn check_init(t: &Target) -> Result<()> {
    validate_collection_name(&t.name).map_err(|reason| HomeError::InvalidName {
        name: t.name.clone(),
        reason,
    })?;
    if super::present(&t.dir) && super::kind_at(&t.dir) != Some(skillwal::fs::FileKind::Dir) {
        bail!(
            "{} exists and is not a directory; a collection is a directory: choose another place or name",
            t.dir.display()
        );
    }
    if let Some(h) = &t.home {
        h.read_config()?.map(|c| c.config()).transpose()?;
    }
    Ok(())
}

/// The directories `init` of a collection at `dir` may create: the collection's directory
/// and its missing parents, and skillwal's state beside it (`<parent>/.skillwal/<name>`),
/// those that do not exist yet.
fn missing_dirs(fs: &dyn FileSystem, dir: &Path) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = dir.ancestors().map(Path::to_path_buf).collect();
    if let Some(state) = skillwal::skillmeat::state::beside(dir) {
        candidates.extend(state.parent().map(Path::to_path_buf));
        candidates.push(state);
    }
    candidates
        .into_iter()
        .filter(|p| fs.metadata(p).is_err())
        .collect()
}

/// Removes what a failed `init` created: the directories of `missing` that exist now. The
/// state directory beside the collection is removed whole, under its lock (taken without
/// waiting: a process that took it meanwhile keeps it); every other directory only when
/// empty. Through the command's one file system, as everything else. Returns what is left.
fn undo_init(fs: &dyn FileSystem, dir: &Path, missing: &[PathBuf]) -> Vec<PathBuf> {
    let state = skillwal::skillmeat::state::beside(dir);
    let mut made: Vec<&PathBuf> = missing.iter().filter(|p| fs.metadata(p).is_ok()).collect();
    made.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    let mut left = Vec::new();
    for p in made {
        let removed = if Some(p.as_path()) == state.as_deref() {
            let lock = p.join(skillwal::engine::layout::LOCK_FILE);
            match fs.lock(&lock, LockKind::Exclusive, false) {
                Ok(_held) => skillwal::fs::remove_tree(fs, p).is_ok(),
                Err(_) => false,
            }
        } else {
            fs.remove_dir(p).is_ok()
        };
        if !removed {
            left.push(p.clone());
        }
    }
    left
}

/// A failed `Collection::init` that changed nothing in a collection may still have created
/// directories on its way (an I/O error after the first ones): they are removed, so that
/// "Nothing was changed." is true; what cannot be removed is named instead.
fn left_behind(
    fs: &dyn FileSystem,
    e: CollectionError,
    dir: &Path,
    missing: &[PathBuf],
) -> anyhow::Error {
    let locked = matches!(&e, CollectionError::Engine(skillwal::Error::Locked { .. }));
    if locked || e.effect() == skillwal::error::Effect::MaybeApplied {
        return e.into();
    }
    let left = undo_init(fs, dir, missing);
    if left.is_empty() {
        return e.into();
    }
    let left: Vec<String> = left.iter().map(|p| p.display().to_string()).collect();
    anyhow::Error::new(e).context(LeftBehind(format!(
        "init did not create the collection; it left {} behind (no collection in them): run `skillwal init` again, or remove them",
        left.join(", ")
    )))
}

pub fn init(g: &Global, name: Option<&str>, out: &Output) -> Result<Exit> {
    let mut t = target(g, out)?;
    if let Some(n) = name {
        if g.collection_dir.is_none() {
            let home = t.home.clone().expect("home without --collection-dir");
            t.dir = home.collection_dir(n);
        }
        t.name = n.to_string();
        out.set_collection(&t.name, &t.dir);
    }
    check_init(&t)?;
    let fs = file_system()?;
    let missing = missing_dirs(fs.as_ref(), &t.dir);
    let opts = OpenOptions {
        no_wait: g.no_wait,
        ..Default::default()
    };
    let c = Collection::init(fs.clone(), &t.dir, &t.name, &opts)
        .map_err(|e| left_behind(fs.as_ref(), e, &t.dir, &missing))?;
    c.close()?;
    let config = match &t.home {
        Some(h) => Some(h.ensure_config(&t.name)?),
        None => None,
    };
    out.initialized(&t, config)?;
    Ok(Exit::Ok)
}

pub fn list(g: &Global, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let printed = out.list(&t, &*c.manifest()?, &*c.lock()?);
    close_then(c, printed)
}

pub fn show(g: &Global, name: &str, ty: Option<ArtifactType>, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let a = find(&c, name, ty)?;
    let lock = c.lock()?;
    let disk = c.disk_hash(&a.name, a.artifact_type)?;
    let printed = out.show(
        &t.dir,
        &a,
        lock.entry(&a.name, a.artifact_type),
        disk.as_deref(),
    );
    drop(lock);
    close_then(c, printed)
}

pub fn status(g: &Global, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let s = c.status()?;
    c.close()?;
    out.status(&t, &s)?;
    Ok(Exit::Ok)
}

pub fn verify(g: &Global, out: &Output) -> Result<Exit> {
    let t = target(g, out)?;
    let c = open_for_reading(&t, g, out)?;
    let r = c.verify()?;
    c.close()?;
    let code = if r.is_clean() { Exit::Ok } else { Exit::Error };
    done(out.verify(&r), code)
}
