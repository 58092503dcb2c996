//! One function per command: turn arguments into library calls, hand results to `output`.

use super::advice::SaysUnchanged;
use super::args::{Cli, Command, Global, JournalCommand, SnapshotCommand, StrategyArg, TypeArg};
use super::exit;
use super::output::{self, NotUpdated, Output, UsageError};
use anyhow::{Context, Result, anyhow, bail};
use skillwal::fs::FileSystem;
use skillwal::fs::fault::FaultFs;
use skillwal::fs::real::RealFs;
use skillwal::skillmeat::collection::{
    Collection, CollectionError, Strategy, UpdateInput, parse_snapshot_id,
};
use skillwal::skillmeat::home::Home;
use skillwal::skillmeat::py_snapshot;
use skillwal::skillmeat::{Artifact, ArtifactType, Fetched, SourceSpec, default_name, fetch};
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

/// The real file system, wrapped in the crash hook when the environment asks for it.
pub fn file_system() -> Result<Arc<dyn FileSystem>> {
    FaultFs::from_env(Arc::new(RealFs)).map_err(|e| anyhow!(e))
}

/// `dir` absolute, without `.`, `..` or links on the way (the parent's, when `dir` does not
/// exist yet): skillwal's state for a collection is found from its path, so one collection
/// must have one path whatever way it is named.
fn canonical(dir: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
    match std::fs::canonicalize(&abs) {
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

fn target(g: &Global) -> Result<Target> {
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
    let home = Home::resolve(g.home.as_deref())?;
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
    let (c, report) = opened?;
    out.recovered(&t.dir, &report);
    if let Some(stale) = c.stale_state() {
        out.stale_state(stale);
    }
    Ok(c)
}

/// Opens for reading: like [`open`], but a collection that cannot be written is read
/// without the engine when it has nothing to recover.
fn open_for_reading(t: &Target, g: &Global, out: &Output) -> Result<Collection> {
    match open(t, g, out) {
        Ok(c) => Ok(c),
        Err(e) => match e.downcast::<CollectionError>() {
            Ok(ce) if is_read_only(&ce) => {
                let c = Collection::open_read_only(Arc::new(RealFs), &t.dir)?;
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

/// How many automatic snapshots to keep: `[settings] skillwal-snapshot-keep` in
/// `config.toml`, else the default.
fn snapshot_keep(t: &Target) -> Result<usize> {
    let configured = match &t.home {
        Some(h) => match h.read_config()? {
            Some(c) => c.config()?.snapshot_keep,
            None => None,
        },
        None => None,
    };
    Ok(configured.map_or(
        skillwal::skillmeat::collection::DEFAULT_SNAPSHOT_KEEP,
        |n| n.min(usize::MAX as u64) as usize,
    ))
}

/// [`open`] for a command that may take an automatic snapshot: applies the retention.
fn open_writable(t: &Target, g: &Global, out: &Output) -> Result<Collection> {
    let keep = snapshot_keep(t)?;
    let mut c = open(t, g, out)?;
    c.set_snapshot_retention(keep);
    Ok(c)
}

fn snapshot(
    g: &Global,
    message: Option<&str>,
    command: &Option<SnapshotCommand>,
    out: &Output,
) -> Result<u8> {
    let t = target(g)?;
    match command {
        None => {
            let mut c = open(&t, g, out)?;
            let s = c.snapshot(message.unwrap_or(""))?;
            c.close()?;
            out.snapshot_taken(&s);
        }
        Some(SnapshotCommand::List) => {
            let c = open_for_reading(&t, g, out)?;
            let list = c.snapshots()?;
            c.close()?;
            let py = match &t.home {
                Some(h) => Some(py_snapshot::list(&h.dir, &t.name)?),
                None => None,
            };
            out.snapshot_list(&t.dir, &list, py.as_deref());
        }
        Some(SnapshotCommand::Show { id }) if py_snapshot::is_py_id(id) => {
            let py = find_py_snapshot(&t, id)?;
            let c = open_for_reading(&t, g, out)?;
            let tmp = tempfile::TempDir::new().context("creating a temporary directory")?;
            let changes = c.skillmeat_snapshot_changes(&py, tmp.path())?;
            c.close()?;
            out.skillmeat_snapshot_show(&py, &changes);
        }
        Some(SnapshotCommand::Show { id }) => {
            let id = parse_snapshot_id(id)?;
            let c = open_for_reading(&t, g, out)?;
            let (snap, changes) = c.snapshot_changes(id)?;
            c.close()?;
            out.snapshot_show(&snap, &changes);
        }
        Some(SnapshotCommand::Delete { id }) => {
            let id = parse_snapshot_id(id)?;
            let mut c = open(&t, g, out)?;
            let snap = c.delete_snapshot(id)?;
            c.close()?;
            out.snapshot_deleted(&snap);
        }
    }
    Ok(exit::OK)
}

/// The Python tool's snapshot `id` of the target collection.
fn find_py_snapshot(t: &Target, id: &str) -> Result<py_snapshot::PySnapshot> {
    let Some(home) = &t.home else {
        bail!(
            "{id} is a SkillMeat snapshot id, and SkillMeat's snapshots are found through the home directory; use --home/-c instead of --collection-dir"
        );
    };
    let all = py_snapshot::list(&home.dir, &t.name)?;
    all.into_iter().find(|s| s.id == id).ok_or_else(|| {
        anyhow!(
            "no SkillMeat snapshot {id} in {}; `skillwal snapshot list` shows them",
            py_snapshot::snapshots_dir(&home.dir, &t.name)
                .join("snapshots.toml")
                .display()
        )
    })
}

fn confirm(question: &str, refusal: &str) -> Result<bool> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(UsageError(refusal.to_string()).into());
    }
    Ok(output::ask(question))
}

fn rollback_skillmeat(t: &Target, g: &Global, id: &str, yes: bool, out: &Output) -> Result<u8> {
    let py = find_py_snapshot(t, id)?;
    let mut c = open_writable(t, g, out)?;
    if !yes
        && !confirm(
            &format!(
                "Replace the files of {} with SkillMeat snapshot {id} (the current state is kept as a snapshot)?",
                t.dir.display()
            ),
            &format!(
                "rollback replaces the collection's files with SkillMeat snapshot {id}; without a terminal to confirm, pass --yes (nothing was changed)"
            ),
        )?
    {
        c.close()?;
        out.note("rollback declined; nothing was changed");
        return Ok(exit::OK);
    }
    let tmp = tempfile::TempDir::new().context("creating a temporary directory")?;
    let (imported, extracted, r) = c.rollback_skillmeat(&py, tmp.path())?;
    c.close()?;
    out.rolled_back_skillmeat(&t.dir, &py, &imported, &extracted, &r);
    Ok(exit::OK)
}

fn rollback(g: &Global, id: &str, yes: bool, out: &Output) -> Result<u8> {
    if py_snapshot::is_py_id(id) {
        return rollback_skillmeat(&target(g)?, g, id, yes, out);
    }
    let id = parse_snapshot_id(id)?;
    let t = target(g)?;
    let mut c = open_writable(&t, g, out)?;
    if !yes {
        let refusal = format!(
            "rollback replaces the collection's files with snapshot {id}; without a terminal to confirm, pass --yes (nothing was changed)"
        );
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive {
            return Err(UsageError(refusal).into());
        }
        let (_, changes) = c.snapshot_changes(id)?;
        let question = format!(
            "Roll {} back to snapshot {id} ({} paths change; the current state is kept as a snapshot)?",
            t.dir.display(),
            changes.len()
        );
        if !confirm(&question, &refusal)? {
            c.close()?;
            out.note("rollback declined; nothing was changed");
            return Ok(exit::OK);
        }
    }
    let r = c.rollback(id)?;
    c.close()?;
    out.rolled_back(&t.dir, &r);
    Ok(exit::OK)
}

pub fn dispatch(cli: &Cli, out: &Output) -> Result<u8> {
    let g = &cli.global;
    match &cli.command {
        Command::Init { name } => init(g, name.as_deref(), out),
        Command::Add {
            r#type,
            source,
            name,
            git,
            path,
            reference,
        } => {
            if git.is_none() && (path.is_some() || reference.is_some()) {
                return Err(UsageError(
                    "--path and --ref go with --git URL; a local source is copied as it is".into(),
                )
                .into());
            }
            let (spec, shorthand) = match git {
                Some(url) => {
                    let spec = SourceSpec::Git {
                        url: url.clone(),
                        path: path.clone(),
                        reference: reference.clone(),
                    };
                    (spec, None)
                }
                None => {
                    let text = source
                        .as_deref()
                        .expect("clap requires a source without --git");
                    let spec = source_spec(text)?;
                    let shorthand = matches!(spec, SourceSpec::Git { .. }).then_some(text);
                    (spec, shorthand)
                }
            };
            add(g, ty(*r#type), spec, shorthand, name.as_deref(), out)
        }
        Command::Update {
            names,
            all,
            r#type,
            strategy,
        } => update(g, names, *all, r#type.map(ty), *strategy, out),
        Command::Remove {
            name,
            r#type,
            keep_files,
        } => {
            let t = target(g)?;
            let mut c = open_writable(&t, g, out)?;
            let a = c.find(name, r#type.map(ty))?;
            let snap = c.remove(&a.name, a.artifact_type, *keep_files)?;
            c.close()?;
            out.removed(&a.name, a.artifact_type, *keep_files, &snap);
            Ok(exit::OK)
        }
        Command::Diff { name, r#type } => {
            let t = target(g)?;
            let c = open_for_reading(&t, g, out)?;
            let a = c.find(name, r#type.map(ty))?;
            let spec = c.source_of(&a)?.ok_or_else(|| no_source(&a))?;
            let fetched = out.spinner(&format!("fetching {}", describe(&spec)), || {
                fetch(&spec, a.artifact_type)
            })?;
            let files = c.diff(&a.name, a.artifact_type, &fetched)?;
            c.close()?;
            out.diffed(&a.name, a.artifact_type, &files);
            Ok(exit::OK)
        }
        Command::List => {
            let t = target(g)?;
            let c = open_for_reading(&t, g, out)?;
            out.list(&t, &*c.manifest()?, &*c.lock()?);
            c.close()?;
            Ok(exit::OK)
        }
        Command::Show { name, r#type } => {
            let t = target(g)?;
            let c = open_for_reading(&t, g, out)?;
            let a = c.find(name, r#type.map(ty))?;
            let lock = c.lock()?;
            let disk = c.disk_hash(&a.name, a.artifact_type)?;
            out.show(
                &t.dir,
                &a,
                lock.entry(&a.name, a.artifact_type),
                disk.as_deref(),
            );
            c.close()?;
            Ok(exit::OK)
        }
        Command::Status => {
            let t = target(g)?;
            let c = open_for_reading(&t, g, out)?;
            let s = c.status()?;
            c.close()?;
            out.status(&t, &s);
            Ok(exit::OK)
        }
        Command::Verify => {
            let t = target(g)?;
            let c = open_for_reading(&t, g, out)?;
            let r = c.verify()?;
            c.close()?;
            out.verify(&t, &r);
            Ok(if r.is_clean() { exit::OK } else { exit::ERROR })
        }
        Command::Journal {
            command: JournalCommand::Inspect { path },
        } => {
            let path = match path {
                Some(p) => p.clone(),
                None => layout(&target(g)?, g, false)?.journal,
            };
            if !path.exists() {
                bail!(
                    "no journal at {} (skillwal has not written to this collection yet)",
                    path.display()
                );
            }
            let report = skillwal::engine::inspect::inspect(&RealFs, &path)?;
            out.inspect(&report);
            Ok(exit::OK)
        }
        Command::Journal {
            command: JournalCommand::Verify,
        } => journal_verify(g, out),
        Command::Recover { dry_run, discard } => recover(g, *dry_run, *discard, out),
        Command::Snapshot { message, command } => snapshot(g, message.as_deref(), command, out),
        Command::Rollback { id, yes } => rollback(g, id, *yes, out),
        Command::Gc => {
            let t = target(g)?;
            let mut c = open(&t, g, out)?;
            let r = c.gc()?;
            c.close()?;
            out.gc(&t.dir, &r);
            Ok(exit::OK)
        }
        Command::Demo { keep } => super::demo::run(*keep, out),
    }
}

/// A local path if it exists, else a GitHub spec, else an error.
fn source_spec(source: &str) -> Result<SourceSpec> {
    let p = Path::new(source);
    if std::fs::symlink_metadata(p).is_ok() {
        return Ok(SourceSpec::Local(p.to_path_buf()));
    }
    let looks_like_path = source.starts_with(['.', '/', '~']) || source.ends_with(".md");
    match SourceSpec::parse_github(source) {
        Some(spec) if !looks_like_path => Ok(spec),
        _ => bail!(
            "source {source} does not exist (neither a local path nor a GitHub spec user/repo/path[@ref]); check the path, or use --git URL"
        ),
    }
}

fn init(g: &Global, name: Option<&str>, out: &Output) -> Result<u8> {
    let mut t = target(g)?;
    if let Some(n) = name {
        if g.collection_dir.is_none() {
            let home = t.home.clone().expect("home without --collection-dir");
            t.dir = home.collection_dir(n);
        }
        t.name = n.to_string();
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
    out.initialized(&t, config);
    Ok(exit::OK)
}

/// `shorthand` is the command-line text when `spec` came from a GitHub shorthand.
fn add(
    g: &Global,
    ty: ArtifactType,
    spec: SourceSpec,
    shorthand: Option<&str>,
    name: Option<&str>,
    out: &Output,
) -> Result<u8> {
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            default_name(&spec, ty).context("cannot derive a name from the source; pass --name")?
        }
    };
    let t = target(g)?;
    let mut c = open(&t, g, out)?;
    let fetched = out.spinner(&format!("fetching {}", describe(&spec)), || {
        fetch(&spec, ty)
    });
    let fetched = match (fetched, shorthand) {
        (Ok(f), _) => f,
        (Err(e), Some(text)) => {
            return Err(anyhow!(e).context(format!(
                "source {text} does not exist as a local path, and fetching it as the GitHub spec {text} ({}) failed",
                describe(&spec)
            )));
        }
        (Err(e), None) => return Err(e.into()),
    };
    let entry = c.add(ty, &name, &fetched)?;
    c.close()?;
    out.added(ty, &name, &entry, &describe(&spec), &t.dir);
    Ok(exit::OK)
}

fn describe(spec: &SourceSpec) -> String {
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

fn strategy(arg: Option<StrategyArg>, home: Option<&Home>) -> Result<Strategy> {
    let from_config = match (arg, home) {
        (None, Some(h)) => h
            .read_config()?
            .and_then(|c| c.config().ok())
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

fn update(
    g: &Global,
    names: &[String],
    all: bool,
    only: Option<ArtifactType>,
    strat: Option<StrategyArg>,
    out: &Output,
) -> Result<u8> {
    if names.is_empty() && !all {
        return Err(super::output::UsageError(
            "name the artifacts to update, or pass --all".into(),
        )
        .into());
    }
    let t = target(g)?;
    let strategy = strategy(strat, t.home.as_ref())?;
    let mut c = open_writable(&t, g, out)?;
    let artifacts = if all {
        c.manifest()?
            .artifacts
            .iter()
            .filter(|a| only.is_none_or(|ty| a.artifact_type == ty))
            .cloned()
            .collect()
    } else {
        names
            .iter()
            .map(|n| c.find(n, only))
            .collect::<Result<Vec<_>, _>>()?
    };
    let (inputs, not_updated) = fetch_all(&c, &artifacts, all, out)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut ask = |name: &str, ty: ArtifactType| {
        interactive.then(|| {
            output::ask(&format!(
                "{ty} {name} has local modifications. Overwrite them with the upstream version?"
            ))
        })
    };
    let (outcomes, snapshot) = c.update(&inputs, strategy, &mut ask)?;
    c.close()?;
    out.updated(&outcomes, snapshot.as_ref(), &not_updated);
    if outcomes.iter().any(|o| !o.conflicts.is_empty()) {
        // Conflicts first: they leave marked files to fix; what was not updated is intact.
        return Ok(exit::CONFLICTS);
    }
    if !not_updated.is_empty() {
        return Ok(exit::NOT_ALL_UPDATED);
    }
    Ok(exit::OK)
}

fn no_source(a: &Artifact) -> CollectionError {
    CollectionError::NoSource {
        name: a.name.clone(),
        ty: a.artifact_type,
        origin: a.origin.to_string(),
    }
}

/// Fetches every artifact's source before the transaction starts (a failure here changes
/// nothing). With `all`, an artifact that has no recorded source, or whose fetch fails, is
/// set aside with why and the others go on; without it (artifacts named by the user), that
/// fails the whole update.
fn fetch_all(
    c: &Collection,
    artifacts: &[Artifact],
    all: bool,
    out: &Output,
) -> Result<(Vec<UpdateInput>, Vec<NotUpdated>)> {
    let (mut inputs, mut not_updated) = (Vec::new(), Vec::new());
    let progress = out.progress(artifacts.len() as u64, "fetching");
    for a in artifacts {
        progress.set_message(format!("fetching {} {}", a.artifact_type, a.name));
        match fetch_one(c, a) {
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

/// Fetches `a` from the source [`Collection::source_of`] finds; on failure, why
/// ([`NotUpdated::NO_SOURCE`] or [`NotUpdated::FETCH_FAILED`]) and the error.
fn fetch_one(c: &Collection, a: &Artifact) -> Result<Fetched, (&'static str, anyhow::Error)> {
    let spec = match c.source_of(a) {
        Ok(Some(spec)) => spec,
        Ok(None) => return Err((NotUpdated::NO_SOURCE, no_source(a).into())),
        Err(e) => return Err((NotUpdated::NO_SOURCE, e.into())),
    };
    fetch(&spec, a.artifact_type).map_err(|e| (NotUpdated::FETCH_FAILED, e.into()))
}

fn journal_verify(g: &Global, out: &Output) -> Result<u8> {
    let t = target(g)?;
    let layout = layout(&t, g, false)?;
    if !layout.journal.exists() {
        out.journal_verified(&t.dir, None, Ok(&skillwal::engine::DryRun::Nothing));
        return Ok(exit::OK);
    }
    let report = skillwal::engine::inspect::inspect(&RealFs, &layout.journal)?;
    let plan = skillwal::engine::dry_run(&RealFs, &layout);
    out.journal_verified(
        &t.dir,
        Some(&report),
        plan.as_ref().map_err(|e| e.to_string()),
    );
    Ok(if plan.is_ok() { exit::OK } else { exit::ERROR })
}

fn recover(g: &Global, dry_run: bool, discard: bool, out: &Output) -> Result<u8> {
    let t = target(g)?;
    if !t.dir.is_dir() {
        bail!("{} does not exist", t.dir.display());
    }
    if dry_run {
        let plan = skillwal::engine::dry_run(&RealFs, &layout(&t, g, false)?)?;
        out.dry_run(&t.dir, &plan);
        return Ok(exit::OK);
    }
    let opts = OpenOptions {
        no_wait: g.no_wait,
        ..Default::default()
    };
    let layout = layout(&t, g, true)?;
    if discard {
        let d = skillwal::discard_journal(file_system()?, &layout, &opts)?;
        out.discarded(&t.dir, &d);
        return Ok(exit::OK);
    }
    let engine = skillwal::Engine::open_layout(file_system()?, &layout, &opts)?;
    let report = engine.recovery_report().clone();
    engine.close()?;
    out.recovery(&t.dir, &report);
    Ok(exit::OK)
}
