//! `skillwal._native`: skillwal's engine for Python programs.
//!
//! The Python package `skillwal` (python/skillwal/) re-exports what is here and adds its
//! exceptions and types. This crate is a thin binding over the engine's public API
//! (`skillwal::Engine`, `skillwal::Transaction`): it converts arguments, runs the engine on
//! a thread of its own ([`worker`]) with the GIL released, and turns errors into the
//! exceptions of `skillwal/errors.py` ([`errors`]). It adds no behaviour of its own to the
//! engine: what a transaction promises is wal-spec.md's.

mod collection;
mod content;
mod errors;
mod root;
mod worker;

use pyo3::prelude::*;
use skillwal::fs::FileSystem;
use skillwal::fs::fault::FaultFs;
use skillwal::skillmeat::collection::state;
use skillwal::{Layout, RealFs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The process's one file system: the real one, wrapped in the crash hook when
/// `SKILLWAL_CRASH_AFTER` (or another hook of wal-spec.md §10) is set in the environment
/// when it is first used. One per process, as in the CLI: the hook counts every mutating
/// call the process makes through skillwal, across all the roots it opens.
fn file_system(py: Python<'_>) -> PyResult<Arc<dyn FileSystem>> {
    static FS: OnceLock<Result<Arc<dyn FileSystem>, String>> = OnceLock::new();
    FS.get_or_init(|| FaultFs::from_env(Arc::new(RealFs)))
        .clone()
        .map_err(|e| errors::raise(py, "SkillwalError", &e, &[]))
}

/// Refuses a call on an object opened by another process: a child made by `fork` after
/// the open inherits the object but not the engine's thread, and shares the parent's lock.
fn check_process(py: Python<'_>, opened_by: u32) -> PyResult<()> {
    if std::process::id() == opened_by {
        return Ok(());
    }
    Err(errors::state(
        py,
        &format!(
            "this object was opened by process {opened_by}, before a fork; open the root again in this process"
        ),
    ))
}

/// `path` absolute, every link on the way resolved, looked at through the process's file
/// system as everything else.
fn canonical(py: Python<'_>, fs: &Arc<dyn FileSystem>, path: &Path) -> PyResult<PathBuf> {
    let abs = absolute(py, path)?;
    skillwal::fs::canonicalize(fs.as_ref(), &abs).map_err(|e| {
        errors::engine(
            py,
            &skillwal::Error::Io(skillwal::error::IoError::new("resolve", &abs, e)),
        )
    })
}

/// `__exit__` of a root or a collection, given what closing it did: when the block raised,
/// a failure to close (an engine a failed commit stopped) does not replace the block's own
/// exception, which says more.
fn exit_result(closed: PyResult<()>, exc_type: &Bound<'_, PyAny>) -> PyResult<bool> {
    if exc_type.is_none() {
        closed?;
    }
    Ok(false)
}

/// An absolute form of `root` (not resolving links), so that a later `chdir` of the
/// program does not move it.
fn absolute(py: Python<'_>, root: &Path) -> PyResult<PathBuf> {
    std::path::absolute(root).map_err(|e| {
        errors::engine(
            py,
            &skillwal::Error::Io(skillwal::error::IoError::new("resolve", root, e)),
        )
    })
}

/// Converts a serializable report into Python objects (dicts, lists, str, int, bool, None)
/// through JSON, the same shape as the CLI's `--json` output of it.
fn to_python<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| errors::raise(py, "SkillwalError", &e.to_string(), &[]))?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// Where the engine of `root` keeps its directory. A plain root: `<root>/.skillwal/`. A
/// SkillMeat collection (`collection`): where skillwal's CLI keeps it, beside the collection
/// (`<parent>/.skillwal/<name>/`, wal-spec.md §2), so that the package and the CLI share one
/// journal; `migrate` (with the open's `no_wait`) moves an older skillwal's state from
/// inside the collection first, as the CLI does.
fn layout_of(
    py: Python<'_>,
    fs: &Arc<dyn FileSystem>,
    root: &Path,
    collection: bool,
    migrate: Option<bool>,
) -> PyResult<Layout> {
    let root = absolute(py, root)?;
    if !collection {
        return Ok(Layout::new(&root));
    }
    let engine_err = |e: skillwal::Error| errors::engine(py, &e);
    // The state's place is derived from the path: resolve links so that two spellings of
    // one collection get one state.
    let dir = canonical(py, fs, &root)?;
    let not_a_collection = || {
        errors::raise(
            py,
            "SkillwalError",
            &format!(
                "{} is not a SkillMeat collection (no collection.toml)",
                dir.display()
            ),
            &[],
        )
    };
    let located = py.detach(|| -> skillwal::Result<Option<Layout>> {
        let mut location = state::locate(fs, &dir)?;
        // Checked before anything moves: a plain root opened as a collection by mistake
        // keeps its state where it is. A journal counts only beside the collection (a
        // collection's whose manifest went missing); one inside is a plain root's.
        let present = |p: &Path| fs.metadata(p).is_ok();
        let manifest = present(&dir.join("collection.toml"));
        if !manifest && (location.legacy || !present(&location.layout.journal)) {
            return Ok(None);
        }
        if location.legacy
            && let Some(no_wait) = migrate
        {
            state::migrate(fs.as_ref(), &dir, no_wait)?;
            location = state::locate(fs, &dir)?;
        }
        Ok(Some(location.layout))
    });
    let layout = located.map_err(engine_err)?.ok_or_else(not_a_collection)?;
    Ok(layout)
}

/// Opens `root`, recovering first whatever a crash interrupted there, and holds its lock
/// until the returned root is closed.
///
/// `root.recovery` says what recovery did. With `wait=False`, raises `LockedError` at once
/// when another process holds the root, instead of waiting for it. With `collection=True`
/// the root is a SkillMeat collection whose engine directory is where skillwal's CLI keeps
/// it (beside the collection), so both share one journal.
#[pyfunction]
#[pyo3(signature = (root, *, wait = true, collection = false))]
fn open(py: Python<'_>, root: PathBuf, wait: bool, collection: bool) -> PyResult<root::Root> {
    let fs = file_system(py)?;
    let layout = layout_of(py, &fs, &root, collection, Some(!wait))?;
    root::Root::open(py, fs, layout, wait)
}

/// Opens a SkillMeat collection for its operations (add, update, remove, snapshots, log
/// and undo, status, verify), each one journaled transaction with its record in the
/// collection's log, as the `skillwal` CLI's: the directory `path`, or else collection
/// `name` (default: the home's active one) of the SkillMeat home `home` (default:
/// `$SKILLWAL_HOME`, else `~/.skillmeat`). Recovers first; holds the lock until closed.
#[pyfunction]
#[pyo3(signature = (path = None, *, home = None, name = None, wait = true))]
fn open_collection(
    py: Python<'_>,
    path: Option<PathBuf>,
    home: Option<PathBuf>,
    name: Option<String>,
    wait: bool,
) -> PyResult<collection::Collection> {
    let fs = file_system(py)?;
    let dir = collection::locate(py, &fs, path, home, name)?;
    collection::Collection::open(py, fs, dir, wait)
}

/// Deploys the artifacts `names` into the project directory `project` (`skillwal deploy`):
/// one transaction in the project, recorded in the project's log; a project copy changed
/// there is refused unless `overwrite` (lost) or `merge` (three-way). The collection as for
/// `open_collection`; `profiles`: profile ids (default: Claude Code's). Returns what was
/// done, as `skillwal deploy --json` says it. (`collection_name` is the collection's
/// name in the home, `open_collection`'s `name`.)
#[pyfunction]
#[pyo3(signature = (project, names, *, collection = None, home = None, collection_name = None, r#type = None, profiles = None, overwrite = false, merge = false, wait = true))]
#[allow(clippy::too_many_arguments)]
fn deploy(
    py: Python<'_>,
    project: PathBuf,
    names: Vec<String>,
    collection: Option<PathBuf>,
    home: Option<PathBuf>,
    collection_name: Option<String>,
    r#type: Option<&str>,
    profiles: Option<Vec<String>>,
    overwrite: bool,
    merge: bool,
    wait: bool,
) -> PyResult<Py<PyAny>> {
    let profiles = profiles.unwrap_or_default();
    let fs = file_system(py)?;
    let dir = collection::locate(py, &fs, collection, home, collection_name)?;
    collection::deploy(
        py, fs, dir, project, names, r#type, profiles, overwrite, merge, wait,
    )
}

/// Removes the deployed artifacts `names` from the project `project` (`skillwal
/// undeploy`): one transaction in the project, recorded in its log.
#[pyfunction]
#[pyo3(signature = (project, names, *, r#type = None, profile = None, wait = true))]
fn undeploy(
    py: Python<'_>,
    project: PathBuf,
    names: Vec<String>,
    r#type: Option<&str>,
    profile: Option<String>,
    wait: bool,
) -> PyResult<Py<PyAny>> {
    let fs = file_system(py)?;
    collection::undeploy(py, fs, project, names, r#type, profile, wait)
}

/// Brings the project copy of the artifact `name` back into the collection (`skillwal
/// pull`): one transaction across both, each recording it in its log. The collection as
/// for `open_collection`.
#[pyfunction]
#[pyo3(signature = (project, name, *, collection = None, home = None, collection_name = None, r#type = None, profile = None, overwrite = false, wait = true))]
#[allow(clippy::too_many_arguments)]
fn pull(
    py: Python<'_>,
    project: PathBuf,
    name: String,
    collection: Option<PathBuf>,
    home: Option<PathBuf>,
    collection_name: Option<String>,
    r#type: Option<&str>,
    profile: Option<String>,
    overwrite: bool,
    wait: bool,
) -> PyResult<Py<PyAny>> {
    let fs = file_system(py)?;
    let dir = collection::locate(py, &fs, collection, home, collection_name)?;
    collection::pull(py, fs, dir, project, name, r#type, profile, overwrite, wait)
}

/// The journal of `root` decoded, as `skillwal journal inspect --json` prints it: read
/// only, without taking the lock or recovering.
#[pyfunction]
#[pyo3(signature = (root, *, collection = false))]
fn inspect_journal(py: Python<'_>, root: PathBuf, collection: bool) -> PyResult<Py<PyAny>> {
    let fs = file_system(py)?;
    let layout = layout_of(py, &fs, &root, collection, None)?;
    let report = py
        .detach(|| skillwal::engine::inspect::inspect(fs.as_ref(), &layout.journal))
        .map_err(|e| errors::engine(py, &e))?;
    to_python(py, &report)
}

/// Whether `root`'s journal holds a transaction that the next `open` will roll forward or
/// back (read only, no lock taken).
#[pyfunction]
#[pyo3(signature = (root, *, collection = false))]
fn needs_recovery(py: Python<'_>, root: PathBuf, collection: bool) -> PyResult<bool> {
    let fs = file_system(py)?;
    let layout = layout_of(py, &fs, &root, collection, None)?;
    py.detach(|| skillwal::needs_recovery(fs.as_ref(), &layout))
        .map_err(|e| errors::engine(py, &e))
}

/// The compiled half of the `skillwal` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(open_collection, m)?)?;
    m.add_function(wrap_pyfunction!(deploy, m)?)?;
    m.add_function(wrap_pyfunction!(undeploy, m)?)?;
    m.add_function(wrap_pyfunction!(pull, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_journal, m)?)?;
    m.add_function(wrap_pyfunction!(needs_recovery, m)?)?;
    m.add_class::<root::Root>()?;
    m.add_class::<root::Transaction>()?;
    m.add_class::<collection::Collection>()?;
    m.add("CRASH_AFTER_ENV", skillwal::fs::fault::CRASH_AFTER_ENV)?;
    Ok(())
}
