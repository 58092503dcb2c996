//! The commands on the collection as a whole: init, list, show, status, verify.

use super::{close_then, done, file_system, find, open_for_reading, target};
use crate::cli::args::Global;
use crate::cli::exit::Exit;
use crate::cli::output::Output;
use anyhow::Result;
use skillwal::OpenOptions;
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::Collection;

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
    if let Some(h) = &t.home {
        // A broken config.toml stops init before anything is created.
        h.read_config()?.map(|c| c.config()).transpose()?;
    }
    let fs = file_system()?;
    let c = Collection::init(
        fs,
        &t.dir,
        &t.name,
        &OpenOptions {
            no_wait: g.no_wait,
            ..Default::default()
        },
    )?;
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
