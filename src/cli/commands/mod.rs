//! One function per command: turn arguments into library calls, hand results to `output`.
//! One file per group of commands; here the dispatch and what they share: which collection
//! a command works on, and opening it.

mod artifacts;
mod collection;
mod deploy;
mod history;
mod journal;
mod prompt;
mod reference;
mod snapshots;
mod update;

use super::advice::NotFoundNear;
use super::args::{Cli, Command, Global, JournalCommand, LogCommand, TypeArg};
use super::exit::{Exit, UsageError};
use super::output::{self, Output};
use anyhow::{Context, Result, anyhow};
use skillwal::fs::fault::FaultFs;
use skillwal::fs::real::RealFs;
use skillwal::fs::{FileKind, FileSystem};
use skillwal::skillmeat::collection::{Collection, CollectionError, Transfer};
use skillwal::skillmeat::home::Home;
use skillwal::skillmeat::{Artifact, ArtifactType};
use skillwal::{Error, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The collection a command works on.
pub struct Target {
    pub dir: PathBuf,
    pub name: String,
    pub home: Option<Home>,
}

fn ty(t: TypeArg) -> ArtifactType {
    match t {
        TypeArg::Skill => ArtifactType::Skill,
        TypeArg::Command => ArtifactType::Command,
        TypeArg::Agent => ArtifactType::Agent,
    }
}

/// The real file system, wrapped in the crash hook when the environment asks for it. One
/// per process: the collection, its state and the home directory's `config.toml` all go
/// through it, so the hook counts every mutating call of the command.
pub fn file_system() -> Result<Arc<dyn FileSystem>> {
    static FS: std::sync::OnceLock<Result<Arc<dyn FileSystem>, String>> =
        std::sync::OnceLock::new();
    FS.get_or_init(|| {
        if std::env::var_os(skillwal::fs::fault::SKIP_SYNC_ENV).is_some() {
            // A harness's mutant: say so on every run, so that nobody leaves it set.
            eprintln!(
                "skillwal: warning: {} is set: syncs are left out, changes are NOT durable (a test hook)",
                skillwal::fs::fault::SKIP_SYNC_ENV
            );
        }
        FaultFs::from_env(Arc::new(RealFs))
    })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// What is at `p`, links followed (`stat`), through the command's one file system; `None`
/// when nothing is there or it cannot be looked at. The CLI looks at the paths it is given
/// through the same file system as everything else (src/fs/mod.rs, "The rule").
fn kind_at(p: &Path) -> Option<FileKind> {
    let fs = file_system().ok()?;
    let abs = std::path::absolute(p).ok()?;
    skillwal::fs::stat(fs.as_ref(), &abs).ok().map(|m| m.kind)
}

/// Whether anything is at `p` itself (a link counts, followed or not: `lstat`).
fn present(p: &Path) -> bool {
    let Ok(fs) = file_system() else { return false };
    std::path::absolute(p).is_ok_and(|abs| fs.metadata(&abs).is_ok())
}

/// `dir` absolute, without `.`, `..` or links on the way (the parent's, when `dir` does not
/// exist yet): skillwal's state for a collection is found from its path, so one collection
/// must have one path whatever way it is named.
fn canonical(dir: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    match skillwal::fs::canonicalize(file_system()?.as_ref(), &abs) {
        Ok(c) => Ok(c),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match (abs.parent(), abs.file_name()) {
                (Some(parent), Some(name)) if name != ".." => Ok(canonical(parent)?.join(name)),
                _ => Ok(abs),
            }
        }
        Err(e) => Err(e).with_context(|| format!("resolving {}", dir.display())),
    }
}

/// Where skillwal's state for the collection of `t` is (wal-spec.md §2), moved there first
/// when an older skillwal kept it in the collection and `write` (so this process may).
fn layout(t: &Target, g: &Global, write: bool) -> Result<skillwal::engine::Layout> {
    let fs = file_system()?;
    let mut location = skillwal::skillmeat::state::locate(&fs, &t.dir)?;
    if write && location.legacy {
        skillwal::skillmeat::state::migrate(fs.as_ref(), &t.dir, g.no_wait)?;
        location = skillwal::skillmeat::state::locate(&fs, &t.dir)?;
    }
    Ok(location.layout)
}

/// The collection the global options name, also told to `out` (every JSON document names
/// it).
fn target(g: &Global, out: &Output) -> Result<Target> {
    let t = resolve_target(g)?;
    out.set_collection(&t.name, &t.dir);
    Ok(t)
}

fn resolve_target(g: &Global) -> Result<Target> {
    if let Some(dir) = &g.collection_dir {
        let dir = &canonical(dir)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "default".into());
        return Ok(Target {
            dir: dir.clone(),
            name,
            home: None,
        });
    }
    let home = Home::resolve(g.home.as_deref())?.with_fs(file_system()?);
    let name = match &g.collection {
        Some(n) => n.clone(),
        None => home.active_collection()?,
    };
    Ok(Target {
        dir: canonical(&home.collection_dir(&name))?,
        name,
        home: Some(home),
    })
}

fn is_read_only(e: &CollectionError) -> bool {
    let code = match e {
        CollectionError::Engine(e) => e.raw_os_error(),
        CollectionError::Io(e) => e.raw_os_error(),
        _ => None,
    };
    matches!(code, Some(c) if c == rustix::io::Errno::ROFS.raw_os_error() || c == rustix::io::Errno::ACCESS.raw_os_error() || c == rustix::io::Errno::PERM.raw_os_error())
}

/// How many records the operation log keeps: `[settings] skillwal-log-keep` in
/// `config.toml`, else the default.
fn log_keep(t: &Target) -> Result<u64> {
    let configured = match &t.home {
        Some(h) => match h.read_config()? {
            Some(c) => c.config()?.log_keep,
            None => None,
        },
        None => None,
    };
    Ok(configured.unwrap_or(skillwal::store::log::LOG_KEEP))
}

/// Opens the collection for writing, recovering first; waits for another holder unless
/// `--no-wait`, telling the user it waits.
fn open(t: &Target, g: &Global, out: &Output) -> Result<Collection> {
    let fs = file_system()?;
    let no_wait = OpenOptions {
        no_wait: true,
        ..Default::default()
    };
    let opened = match Collection::open(fs.clone(), &t.dir, &no_wait) {
        Err(CollectionError::Engine(Error::Locked { holder, .. })) if !g.no_wait => {
            out.waiting(&t.dir, holder.as_deref());
            Collection::open(fs, &t.dir, &OpenOptions::default())
        }
        other => other,
    };
    let (mut c, report) = opened?;
    c.set_progress(out.reporter());
    c.set_log_retention(log_keep(t)?);
    out.recovered(&t.dir, &report);
    if let Some(stale) = c.stale_state() {
        out.stale_state(stale);
    }
    Ok(c)
}

/// Opens two collections for a command that changes both: see [`open_many`].
fn open_two(
    first: &Target,
    second: &Path,
    g: &Global,
    out: &Output,
) -> Result<(Collection, Collection)> {
    if first.dir == second {
        return Err(UsageError(format!(
            "{} is both the source and the destination",
            second.display()
        ))
        .into());
    }
    let keep = log_keep(first)?;
    let mut both = open_many(&[first.dir.as_path(), second], keep, g, out)?;
    let second = both.pop().expect("two opened");
    let first = both.pop().expect("two opened");
    Ok((first, second))
}

/// Opens collections for a command that changes several, locked in their identities'
/// order (never in the order named, so two commands naming them in opposite orders never
/// wait for each other); waits for another process unless `--no-wait`, saying so, as
/// [`open`] does. Returns them in the order of `dirs`, each keeping `keep` records in its
/// operation log. Naming one collection twice is a usage error.
fn open_many(dirs: &[&Path], keep: u64, g: &Global, out: &Output) -> Result<Vec<Collection>> {
    for (i, d) in dirs.iter().enumerate() {
        if dirs[..i].contains(d) {
            return Err(UsageError(format!("{} is named twice", d.display())).into());
        }
    }
    let fs = file_system()?;
    let no_wait = OpenOptions {
        no_wait: true,
        ..Default::default()
    };
    let opened = match Collection::open_several(fs.clone(), dirs, &no_wait) {
        Err(CollectionError::Engine(Error::Locked { root, holder })) if !g.no_wait => {
            out.waiting(&root, holder.as_deref());
            Collection::open_several(fs, dirs, &OpenOptions::default())
        }
        other => other,
    }?;
    let mut all = Vec::with_capacity(dirs.len());
    for ((mut c, report), dir) in opened.into_iter().zip(dirs) {
        c.set_progress(out.reporter());
        c.set_log_retention(keep);
        out.recovered(dir, &report);
        if let Some(stale) = c.stale_state() {
            out.stale_state(stale);
        }
        all.push(c);
    }
    Ok(all)
}

/// The directory `--to` names: a path when it holds a `/`, else a collection of the home.
fn destination(g: &Global, to: &str) -> Result<PathBuf> {
    if to.contains('/') {
        return canonical(Path::new(to));
    }
    let home = Home::resolve(g.home.as_deref())?.with_fs(file_system()?);
    canonical(&home.collection_dir(to))
}

/// Opens for reading: like [`open`], but a collection that cannot be written is read
/// without the engine when it has nothing to recover.
fn open_for_reading(t: &Target, g: &Global, out: &Output) -> Result<Collection> {
    match open(t, g, out) {
        Ok(c) => Ok(c),
        Err(e) => match e.downcast::<CollectionError>() {
            Ok(ce) if is_read_only(&ce) => {
                let mut c = Collection::open_read_only(file_system()?, &t.dir)?;
                c.set_progress(out.reporter());
                out.note(&format!(
                    "{} cannot be written; reading it without taking its lock",
                    t.dir.display()
                ));
                Ok(c)
            }
            Ok(ce) => Err(ce.into()),
            Err(e) => Err(e),
        },
    }
}

/// The one artifact called `name` (of type `ty`), like [`Collection::find`]; when there is
/// none, the error names the artifacts with close names.
fn find(c: &Collection, name: &str, ty: Option<ArtifactType>) -> Result<Artifact> {
    match c.find(name, ty) {
        Err(error @ CollectionError::NotFound { .. }) => {
            let manifest = c.manifest()?;
            let names = manifest
                .artifacts
                .iter()
                .filter(|a| ty.is_none_or(|t| a.artifact_type == t))
                .map(|a| a.name.as_str());
            let near = super::suggest::near(name, names);
            if near.is_empty() {
                return Err(error.into());
            }
            Err(NotFoundNear { error, near }.into())
        }
        other => Ok(other?),
    }
}

/// Whether there is a user at a terminal to ask.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks `question` on the terminal; without one, fails with the usage error `refusal`.
fn confirm(question: &str, refusal: &str) -> Result<bool> {
    if !interactive() {
        return Err(UsageError(refusal.to_string()).into());
    }
    Ok(output::ask(question))
}

/// `code` once the command's output is `printed`. A closed standard output (the reader of
/// the pipe went away) does not change what the command decided: it ends quietly with the
/// code it would have had (see [`Exit::of_error`] for the other commands, all ending with
/// success).
fn done(printed: output::Printed, code: Exit) -> Result<Exit> {
    match printed {
        Err(e) if e.0.kind() == std::io::ErrorKind::BrokenPipe => Ok(code),
        other => Ok(other.map(|()| code)?),
    }
}

/// `printed`, after closing `c` (so that a failure to print, a closed pipe included, still
/// releases the collection properly).
fn close_then(c: Collection, printed: output::Printed) -> Result<Exit> {
    c.close()?;
    printed?;
    Ok(Exit::Ok)
}

pub fn dispatch(cli: &Cli, out: &Output) -> Result<Exit> {
    let g = &cli.global;
    super::advice::set_command(format!("skillwal{}", journal::selection(g)));
    match &cli.command {
        Command::Init { name } => collection::init(g, name.as_deref(), out),
        Command::Add {
            r#type,
            source,
            name,
            git,
            path,
            reference,
        } => {
            let add = artifacts::AddArgs {
                ty: ty(*r#type),
                source: source.as_deref(),
                name: name.as_deref(),
                git: git.as_deref(),
                path: path.as_deref(),
                reference: reference.as_deref(),
            };
            artifacts::add(g, &add, out)
        }
        Command::Update {
            names,
            all,
            r#type,
            strategy,
            collections,
            all_collections,
            deploy,
        } => {
            let args = update::UpdateArgs {
                names,
                all: *all,
                only: r#type.map(ty),
                strategy: *strategy,
                collections,
                all_collections: *all_collections,
                deploy: *deploy,
            };
            update::update(g, &args, out)
        }
        Command::Remove {
            name,
            r#type,
            keep_files,
        } => artifacts::remove(g, name, r#type.map(ty), *keep_files, out),
        Command::Copy { name, r#type, to } => {
            artifacts::transfer(g, name, r#type.map(ty), to, Transfer::Copy, out)
        }
        Command::Move { name, r#type, to } => {
            artifacts::transfer(g, name, r#type.map(ty), to, Transfer::Move, out)
        }
        Command::Diff { name, r#type } => artifacts::diff(g, name, r#type.map(ty), out),
        Command::List => collection::list(g, out),
        Command::Show { name, r#type } => collection::show(g, name, r#type.map(ty), out),
        Command::Status { project: None } => collection::status(g, out),
        Command::Status {
            project: Some(project),
        } => deploy::status(g, project, out),
        Command::Deploy {
            names,
            r#type,
            project,
            profiles,
            overwrite,
            merge,
            refresh,
        } => {
            let args = deploy::DeployArgs {
                names,
                only: r#type.map(ty),
                project,
                profiles,
                overwrite: *overwrite,
                merge: *merge,
                refresh: *refresh,
            };
            deploy::deploy(g, &args, out)
        }
        Command::Undeploy {
            names,
            r#type,
            project,
            profile,
        } => deploy::undeploy(g, names, r#type.map(ty), project, profile.as_deref(), out),
        Command::Deployments { name } => deploy::deployments(g, name.as_deref(), out),
        Command::Cleanup { project, dry_run } => deploy::cleanup(g, project, *dry_run, out),
        Command::Pull {
            name,
            r#type,
            project,
            profile,
            overwrite,
        } => deploy::pull(
            g,
            name,
            r#type.map(ty),
            project,
            profile.as_deref(),
            *overwrite,
            out,
        ),
        Command::Verify => collection::verify(g, out),
        Command::Journal {
            command: JournalCommand::Inspect { path },
        } => journal::inspect(g, path.as_deref(), out),
        Command::Journal {
            command: JournalCommand::Verify,
        } => journal::verify(g, out),
        Command::Recover {
            dry_run,
            discard,
            forget_decision,
        } => journal::recover(g, *dry_run, *discard, forget_decision.as_deref(), out),
        Command::Snapshot { message, command } => {
            snapshots::snapshot(g, message.as_deref(), command, out)
        }
        Command::Rollback { id, yes } => snapshots::rollback(g, id, *yes, out),
        Command::Gc { project: None } => snapshots::gc(g, out),
        Command::Gc {
            project: Some(project),
        } => history::project_gc(g, project, out),
        Command::Log {
            name,
            r#type,
            limit,
            project,
            command,
        } => match command {
            None => history::log(g, name.as_deref(), *r#type, *limit, project.as_deref(), out),
            Some(LogCommand::Show { id, diff, project }) => {
                history::show(g, id, *diff, project.as_deref(), out)
            }
        },
        Command::Undo {
            id,
            project,
            force,
            yes,
        } => history::undo(
            g,
            id.as_deref(),
            false,
            project.as_deref(),
            *force,
            *yes,
            out,
        ),
        Command::Redo {
            project,
            force,
            yes,
        } => history::undo(g, None, true, project.as_deref(), *force, *yes, out),
        Command::Demo { keep } => super::demo::run(*keep, out),
        Command::Completions { shell } => {
            out.bytes(&reference::completions(*shell))?;
            Ok(Exit::Ok)
        }
        Command::Man => {
            out.bytes(&reference::man()?)?;
            Ok(Exit::Ok)
        }
    }
}
