//! `skillwal._native`: skillwal's engine for Python programs.
//!
//! The Python package `skillwal` (python/skillwal/) re-exports what is here and adds its
//! exceptions and types. This crate is a thin binding over the engine's public API
//! (`skillwal::Engine`, `skillwal::Transaction`): it converts arguments, runs the engine on
//! a thread of its own ([`worker`]) with the GIL released, and turns errors into the
//! exceptions of `skillwal/errors.py` ([`errors`]). It adds no behaviour of its own to the
//! engine: what a transaction promises is wal-spec.md's.

mod content;
mod errors;
mod root;
mod worker;

use pyo3::prelude::*;
use skillwal::fs::FileSystem;
use skillwal::fs::fault::FaultFs;
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

/// Opens `root`, recovering first whatever a crash interrupted there, and holds its lock
/// until the returned root is closed.
///
/// `root.recovery` says what recovery did. With `wait=False`, raises `LockedError` at once
/// when another process holds the root, instead of waiting for it.
#[pyfunction]
#[pyo3(signature = (root, *, wait = true))]
fn open(py: Python<'_>, root: PathBuf, wait: bool) -> PyResult<root::Root> {
    let fs = file_system(py)?;
    let root = absolute(py, &root)?;
    root::Root::open(py, fs, root, wait)
}

/// The journal of `root` decoded, as `skillwal journal inspect --json` prints it: read
/// only, without taking the lock or recovering.
#[pyfunction]
fn inspect_journal(py: Python<'_>, root: PathBuf) -> PyResult<Py<PyAny>> {
    let fs = file_system(py)?;
    let root = absolute(py, &root)?;
    let layout = Layout::new(&root);
    let report = py
        .detach(|| skillwal::engine::inspect::inspect(fs.as_ref(), &layout.journal))
        .map_err(|e| errors::engine(py, &e))?;
    to_python(py, &report)
}

/// Whether `root`'s journal holds a transaction that the next `open` will roll forward or
/// back (read only, no lock taken).
#[pyfunction]
fn needs_recovery(py: Python<'_>, root: PathBuf) -> PyResult<bool> {
    let fs = file_system(py)?;
    let root = absolute(py, &root)?;
    let layout = Layout::new(&root);
    py.detach(|| skillwal::needs_recovery(fs.as_ref(), &layout))
        .map_err(|e| errors::engine(py, &e))
}

/// The compiled half of the `skillwal` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_journal, m)?)?;
    m.add_function(wrap_pyfunction!(needs_recovery, m)?)?;
    m.add_class::<root::Root>()?;
    m.add_class::<root::Transaction>()?;
    m.add("CRASH_AFTER_ENV", skillwal::fs::fault::CRASH_AFTER_ENV)?;
    Ok(())
}
