//! `Collection`: the SkillMeat collection operations the `skillwal` CLI offers, on the
//! library's [`skillwal::skillmeat::collection::Collection`] — each one journaled
//! transaction that writes its record in the collection's operation log, as the CLI's do.
//!
//! The library's collection is `Send` and each operation runs to its end in one call, so it
//! is kept behind a mutex and called with the GIL released; no thread of its own is needed
//! (unlike a transaction, which must stay open across calls: [`crate::worker`]).

use crate::errors;
use pyo3::prelude::*;
use skillwal::fs::FileSystem;
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::{
    Collection as Inner, CollectionError, Strategy, UndoTarget, UpdateInput,
};
use skillwal::skillmeat::home::Home;
use skillwal::skillmeat::source::{self, SourceSpec};
use skillwal::{OpenOptions, RecoveryReport};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The Python exception for a collection error: an engine error as the engine's; a
/// conflict as `ConflictError`; the others as a `CollectionError` (`NotFoundError` for an
/// artifact that is not there), each with `kind`, the error's name in the library.
pub fn collection_error(py: Python<'_>, e: &CollectionError) -> PyErr {
    if let CollectionError::Engine(inner) = e {
        return errors::engine(py, inner);
    }
    let message = e.to_string();
    let debug = format!("{e:?}");
    let kind = debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string();
    let maybe = e.effect() != skillwal::error::Effect::Unchanged;
    let common = |py: Python<'_>| -> Vec<(&'static str, Py<PyAny>)> {
        vec![
            ("kind", errors::obj(py, kind.as_str())),
            ("may_have_changed", errors::obj(py, maybe)),
        ]
    };
    match e {
        CollectionError::UndoConflict { conflicts, .. } => {
            let lines: Vec<String> = conflicts
                .iter()
                .map(|c| format!("{} (now {})", c.path, c.found))
                .collect();
            let mut d = common(py);
            d.push(("conflicts", errors::obj(py, lines)));
            errors::raise(py, "ConflictError", &message, &d)
        }
        CollectionError::NotFound { .. } => {
            errors::raise(py, "NotFoundError", &message, &common(py))
        }
        _ => errors::raise(py, "CollectionError", &message, &common(py)),
    }
}

fn artifact_type(py: Python<'_>, ty: Option<&str>) -> PyResult<Option<ArtifactType>> {
    ty.map(|t| {
        t.parse::<ArtifactType>().map_err(|_| {
            errors::raise(
                py,
                "InvalidArgumentError",
                &format!("unknown artifact type {t:?} (skill, command or agent)"),
                &[],
            )
        })
    })
    .transpose()
}

fn strategy(py: Python<'_>, s: &str) -> PyResult<Strategy> {
    match s {
        "upstream" => Ok(Strategy::Upstream),
        "local" => Ok(Strategy::Local),
        "merge" => Ok(Strategy::Merge),
        other => Err(errors::raise(
            py,
            "InvalidArgumentError",
            &format!("unknown strategy {other:?} (upstream, local or merge)"),
            &[],
        )),
    }
}

/// A SkillMeat collection, open: its lock held until `close()` (or the end of a `with`
/// block). Made by `skillwal.open_collection`.
#[pyclass(frozen, module = "skillwal._native")]
pub struct Collection {
    dir: PathBuf,
    /// The process that opened it (see [`crate::check_process`]).
    pid: u32,
    /// The process's file system, for fetching sources through it as the collection does.
    fs: Arc<dyn FileSystem>,
    recovery: RecoveryReport,
    inner: Mutex<Option<Inner>>,
}

impl Collection {
    /// Opens the collection at `dir` (absolute, links resolved).
    pub fn open(
        py: Python<'_>,
        fs: Arc<dyn FileSystem>,
        dir: PathBuf,
        wait: bool,
    ) -> PyResult<Collection> {
        let opts = OpenOptions {
            no_wait: !wait,
            ..OpenOptions::default()
        };
        let (d, fs2) = (dir.clone(), fs.clone());
        let (inner, recovery) = py
            .detach(move || Inner::open(fs2, &d, &opts))
            .map_err(|e| collection_error(py, &e))?;
        Ok(Collection {
            dir,
            pid: std::process::id(),
            fs,
            recovery,
            inner: Mutex::new(Some(inner)),
        })
    }

    /// Runs `f` on the open collection with the GIL released; its result converted to
    /// Python objects through JSON.
    fn run<T: serde::Serialize + Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Inner) -> Result<T, CollectionError> + Send,
    ) -> PyResult<Py<PyAny>> {
        crate::check_process(py, self.pid)?;
        let done = py.detach(|| {
            let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            guard.as_mut().map(f)
        });
        match done {
            None => Err(errors::state(py, "the collection is closed")),
            Some(Err(e)) => Err(collection_error(py, &e)),
            Some(Ok(v)) => crate::to_python(py, &v),
        }
    }
}

/// Resolves where the collection is: `path` itself, else collection `name` (or the home's
/// active one) of the SkillMeat home `home` (or `$SKILLWAL_HOME`, else `~/.skillmeat`).
pub fn locate(
    py: Python<'_>,
    fs: &Arc<dyn FileSystem>,
    path: Option<PathBuf>,
    home: Option<PathBuf>,
    name: Option<String>,
) -> PyResult<PathBuf> {
    let dir = match path {
        Some(p) => p,
        None => {
            let err = |e: &dyn std::fmt::Display| {
                errors::raise(py, "CollectionError", &e.to_string(), &[])
            };
            let home = Home::resolve(home.as_deref())
                .map_err(|e| err(&e))?
                .with_fs(fs.clone());
            let name = match name {
                Some(n) => n,
                None => home.active_collection().map_err(|e| err(&e))?,
            };
            home.collection_dir(&name)
        }
    };
    crate::canonical(py, fs, &dir)
}

#[pymethods]
impl Collection {
    /// The collection's directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.dir.clone()
    }

    /// What the open's recovery did (as `Root.recovery`).
    #[getter]
    fn recovery(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::to_python(py, &self.recovery)
    }

    /// Every artifact with the state of its files against the lock (`skillwal status
    /// --json`'s list).
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.run(py, |c| c.status())
    }

    /// Checks the manifest, the lock and every artifact's files (`skillwal verify --json`).
    fn verify(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.run(py, |c| c.verify())
    }

    /// Adds the artifact at `source` (a local path; otherwise a GitHub spec
    /// `user/repo/path[@ref]`) as a `type` (`"skill"`, `"command"`, `"agent"`) named `name`
    /// (by default derived from the source). Returns its lock entry as a dict.
    #[pyo3(signature = (source, r#type, *, name = None))]
    fn add(
        &self,
        py: Python<'_>,
        source: PathBuf,
        r#type: &str,
        name: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let ty = artifact_type(py, Some(r#type))?.expect("given");
        let text = source.to_string_lossy().into_owned();
        let spec = if source.exists() {
            SourceSpec::Local(std::path::absolute(&source).unwrap_or(source))
        } else {
            SourceSpec::parse_github(&text).ok_or_else(|| {
                errors::raise(
                    py,
                    "InvalidArgumentError",
                    &format!(
                        "source {text} does not exist (neither a local path nor a GitHub spec user/repo/path[@ref])"
                    ),
                    &[],
                )
            })?
        };
        let name = match name.or_else(|| source::default_name(&spec, ty)) {
            Some(n) => n,
            None => {
                return Err(errors::raise(
                    py,
                    "InvalidArgumentError",
                    "cannot derive a name from the source; pass name=",
                    &[],
                ));
            }
        };
        let fs = self.fs.clone();
        self.run(py, move |c| {
            let fetched = source::fetch_in(fs, &spec, ty)?;
            let e = c.add(ty, &name, &fetched)?;
            Ok(serde_json::json!({
                "name": e.name,
                "type": e.artifact_type.to_string(),
                "content_hash": e.content_hash,
                "fetched": e.fetched,
                "upstream": e.upstream,
                "resolved_sha": e.resolved_sha,
                "resolved_version": e.resolved_version,
            }))
        })
    }

    /// Updates the artifacts `names` from their sources (fetched first: a failure changes
    /// nothing), all in one transaction; `strategy` says what to do with local changes:
    /// `"upstream"` (overwrite), `"local"` (keep; not updated) or `"merge"` (three-way).
    /// Returns `{"outcomes": [...], "record": ...}` as `skillwal update --json` says them.
    #[pyo3(signature = (names, *, strategy = "upstream", r#type = None))]
    fn update(
        &self,
        py: Python<'_>,
        names: Vec<String>,
        strategy: &str,
        r#type: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let strategy = self::strategy(py, strategy)?;
        let ty = artifact_type(py, r#type)?;
        let fs = self.fs.clone();
        self.run(py, move |c| {
            let mut inputs = Vec::new();
            for n in &names {
                let a = c.find(n, ty)?;
                let spec = c.source_of(&a)?.ok_or_else(|| CollectionError::NoSource {
                    name: a.name.clone(),
                    ty: a.artifact_type,
                    origin: a.origin.to_string(),
                })?;
                inputs.push(UpdateInput {
                    name: a.name.clone(),
                    ty: a.artifact_type,
                    fetched: Arc::new(source::fetch_in(fs.clone(), &spec, a.artifact_type)?),
                });
            }
            // No prompt from a library: the strategy decides.
            let (outcomes, record) = c.update(&inputs, strategy, &mut |_, _| None)?;
            Ok(serde_json::json!({ "outcomes": outcomes, "record": record }))
        })
    }

    /// Removes the artifact `name` (of `type` when several types have that name) from the
    /// manifest and the lock, and its files unless `keep_files`. Returns its log record.
    #[pyo3(signature = (name, *, r#type = None, keep_files = false))]
    fn remove(
        &self,
        py: Python<'_>,
        name: String,
        r#type: Option<&str>,
        keep_files: bool,
    ) -> PyResult<Py<PyAny>> {
        let ty = artifact_type(py, r#type)?;
        self.run(py, move |c| {
            let a = c.find(&name, ty)?;
            c.remove(&a.name, a.artifact_type, keep_files)
        })
    }

    /// Takes a snapshot of the whole collection labelled `message`.
    fn snapshot(&self, py: Python<'_>, message: String) -> PyResult<Py<PyAny>> {
        self.run(py, move |c| c.snapshot(&message))
    }

    /// The snapshots, oldest first.
    fn snapshots(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.run(py, |c| c.snapshots())
    }

    /// Rolls the collection back to snapshot `id` (one transaction).
    fn rollback(&self, py: Python<'_>, id: u64) -> PyResult<Py<PyAny>> {
        self.run(py, move |c| c.rollback(id))
    }

    /// The operation log, newest first: at most `limit` records, only those that touched
    /// the artifact `name` when given.
    #[pyo3(signature = (*, limit = None, name = None, r#type = None))]
    fn log(
        &self,
        py: Python<'_>,
        limit: Option<usize>,
        name: Option<String>,
        r#type: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let ty = artifact_type(py, r#type)?;
        self.run(py, move |c| c.log(limit, name.as_deref().map(|n| (n, ty))))
    }

    /// Undoes record `txn` (the newest change still in effect by default) as a new
    /// transaction. A path changed since is a `ConflictError` and nothing changes, unless
    /// `force`.
    #[pyo3(signature = (txn = None, *, force = false))]
    fn undo(&self, py: Python<'_>, txn: Option<u64>, force: bool) -> PyResult<Py<PyAny>> {
        let target = txn.map_or(UndoTarget::Last, UndoTarget::Id);
        self.run(py, move |c| c.undo(target, force))
    }

    /// Undoes the newest undo still in effect.
    #[pyo3(signature = (*, force = false))]
    fn redo(&self, py: Python<'_>, force: bool) -> PyResult<Py<PyAny>> {
        self.run(py, move |c| c.undo(UndoTarget::Redo, force))
    }

    /// Releases the collection's lock. Closing a closed collection does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        match inner {
            None => Ok(()),
            Some(c) => py
                .detach(move || c.close())
                .map_err(|e| collection_error(py, &e)),
        }
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    fn __enter__(slf: Py<Collection>) -> Py<Collection> {
        slf
    }

    /// Closes the collection; as `Root.__exit__`, a failure to close does not replace the
    /// block's own exception.
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        crate::exit_result(self.close(py), exc_type)
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "open" };
        format!("<skillwal.Collection {} ({state})>", self.dir.display())
    }
}

/// Runs `f` with the GIL released and converts what it returns (through JSON) or its
/// error: the body of each module-level project operation.
fn detached<T: serde::Serialize + Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, CollectionError> + Send,
) -> PyResult<Py<PyAny>> {
    match py.detach(f) {
        Ok(outcome) => crate::to_python(py, &outcome),
        Err(e) => Err(collection_error(py, &e)),
    }
}

/// The profile ids `ids` (none: the first, Claude Code's), each once.
fn profiles_named(
    py: Python<'_>,
    ids: &[String],
) -> PyResult<Vec<&'static skillwal::skillmeat::project::profiles::Profile>> {
    use skillwal::skillmeat::project::profiles;
    let mut chosen = Vec::new();
    for id in ids {
        let p = profiles::profile(id).ok_or_else(|| {
            collection_error(
                py,
                &CollectionError::UnknownProfile {
                    id: id.clone(),
                    known: profiles::profile_ids(),
                },
            )
        })?;
        if !chosen.contains(&p) {
            chosen.push(p);
        }
    }
    if chosen.is_empty() {
        chosen.push(&profiles::PROFILES[0]);
    }
    Ok(chosen)
}

/// A project's directory, checked and with links resolved, as the CLI takes it.
fn project_dir(
    fs: &Arc<dyn FileSystem>,
    project: &std::path::Path,
) -> Result<PathBuf, CollectionError> {
    let project = std::path::absolute(project).unwrap_or_else(|_| project.to_path_buf());
    skillwal::skillmeat::project::Project::check_dir(fs.as_ref(), &project)?;
    Ok(skillwal::fs::canonicalize(fs.as_ref(), &project)
        .map_err(|e| skillwal::error::IoError::new("resolve", &project, e))?)
}

fn open_options(wait: bool) -> OpenOptions {
    OpenOptions {
        no_wait: !wait,
        ..OpenOptions::default()
    }
}

/// Deploys the artifacts `names` of the collection at `dir` into the project `project` for
/// `profile_ids`, as `skillwal deploy` does: the collection and the project opened together
/// (locked in their identities' order, each recovered), one transaction in the project,
/// recorded in its own log.
#[allow(clippy::too_many_arguments)]
pub fn deploy(
    py: Python<'_>,
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    project: PathBuf,
    names: Vec<String>,
    ty: Option<&str>,
    profile_ids: Vec<String>,
    overwrite: bool,
    merge: bool,
    wait: bool,
) -> PyResult<Py<PyAny>> {
    use skillwal::skillmeat::collection::DeployRequest;

    let ty = artifact_type(py, ty)?;
    let chosen = profiles_named(py, &profile_ids)?;
    detached(py, move || {
        let project = project_dir(&fs, &project)?;
        let ((c, _), (mut p, _)) =
            Inner::open_with_project(fs, &dir, &project, &open_options(wait))?;
        let mut artifacts: Vec<(String, ArtifactType)> = Vec::new();
        for n in &names {
            let a = c.find(n, ty)?;
            if !artifacts.contains(&(a.name.clone(), a.artifact_type)) {
                artifacts.push((a.name, a.artifact_type));
            }
        }
        let req = DeployRequest {
            artifacts: &artifacts,
            profiles: &chosen,
            overwrite,
            refresh: false,
            merge,
        };
        let outcome = c.deploy(&mut p, &req)?;
        p.close()?;
        c.close()?;
        Ok(outcome)
    })
}

/// Removes the deployed artifacts `names` from the project `project` (`skillwal
/// undeploy`): one transaction in the project, recorded in its log. The project alone is
/// opened; no collection is needed.
pub fn undeploy(
    py: Python<'_>,
    fs: Arc<dyn FileSystem>,
    project: PathBuf,
    names: Vec<String>,
    ty: Option<&str>,
    profile: Option<String>,
    wait: bool,
) -> PyResult<Py<PyAny>> {
    let ty = artifact_type(py, ty)?;
    if let Some(id) = &profile {
        profiles_named(py, std::slice::from_ref(id))?;
    }
    detached(py, move || {
        let project = project_dir(&fs, &project)?;
        let (mut p, _) =
            skillwal::skillmeat::project::Project::open(fs, &project, &open_options(wait))?;
        let outcome = p.undeploy(&names, ty, profile.as_deref())?;
        p.close()?;
        Ok(outcome)
    })
}

/// Brings a project copy's changes of the artifact `name` back into the collection at
/// `dir` (`skillwal pull`): one transaction across the collection and the project, each
/// recording it in its log. A collection copy changed since the deploy is refused unless
/// `overwrite`.
#[allow(clippy::too_many_arguments)]
pub fn pull(
    py: Python<'_>,
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    project: PathBuf,
    name: String,
    ty: Option<&str>,
    profile: Option<String>,
    overwrite: bool,
    wait: bool,
) -> PyResult<Py<PyAny>> {
    let ty = artifact_type(py, ty)?;
    if let Some(id) = &profile {
        profiles_named(py, std::slice::from_ref(id))?;
    }
    detached(py, move || {
        let project = project_dir(&fs, &project)?;
        let ((mut c, _), (mut p, _)) =
            Inner::open_with_project(fs, &dir, &project, &open_options(wait))?;
        let a = c.find(&name, ty)?;
        let outcome = c.pull(
            &mut p,
            &a.name,
            a.artifact_type,
            profile.as_deref(),
            overwrite,
        )?;
        p.close()?;
        c.close()?;
        Ok(outcome)
    })
}
