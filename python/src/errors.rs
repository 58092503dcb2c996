//! The engine's errors as the Python exceptions of `skillwal/errors.py`.
//!
//! The classes are Python's (so that they can be both a `SkillwalError` and a `ValueError`
//! or an `OSError`, and carry documented attributes); this file only picks the class and its
//! attributes for each error.

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use skillwal::Error;

/// The exception of class `class` (a name in `skillwal.errors`) with `message` and the
/// attributes `details`.
pub fn raise(py: Python<'_>, class: &str, message: &str, details: &[(&str, Py<PyAny>)]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("skillwal.errors")?.getattr(class)?;
        let kwargs = PyDict::new(py);
        for (name, value) in details {
            kwargs.set_item(name, value)?;
        }
        let exc = cls.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    // The package's own module is missing or broken: say so rather than lose the error.
    build().unwrap_or_else(|e| {
        PyRuntimeError::new_err(format!("{message} (and skillwal.errors failed: {e})"))
    })
}

/// A state error: the call does not fit the object's state.
pub fn state(py: Python<'_>, message: &str) -> PyErr {
    raise(py, "StateError", message, &[])
}

pub fn obj<'py>(py: Python<'py>, v: impl IntoPyObject<'py>) -> Py<PyAny> {
    v.into_py_any(py).unwrap_or_else(|_| py.None())
}

/// The Python exception for an engine error.
pub fn engine(py: Python<'_>, e: &Error) -> PyErr {
    let message = e.to_string();
    let path = |p: &std::path::Path| obj(py, p.display().to_string());
    match e {
        Error::Io(io) => raise(
            py,
            "FileSystemError",
            &message,
            &[
                ("op", obj(py, io.op)),
                ("path", path(&io.path)),
                ("errno", obj(py, io.raw_os_error())),
            ],
        ),
        Error::Locked { root, holder } => {
            let pid = holder
                .as_deref()
                .and_then(|h| h.trim().strip_prefix("pid "))
                .and_then(|p| p.trim().parse::<u32>().ok());
            raise(
                py,
                "LockedError",
                &message,
                &[
                    ("root", path(root)),
                    ("pid", obj(py, pid)),
                    ("holder", obj(py, holder.as_deref())),
                ],
            )
        }
        Error::CorruptJournal {
            path: journal,
            offset,
            record,
            ..
        } => raise(
            py,
            "JournalDamagedError",
            &message,
            &[
                ("journal", path(journal)),
                ("offset", obj(py, *offset)),
                ("record", obj(py, *record)),
            ],
        ),
        Error::UnsupportedVersion {
            path: journal,
            found,
            supported,
        } => raise(
            py,
            "JournalVersionError",
            &message,
            &[
                ("journal", path(journal)),
                ("offset", obj(py, 0u64)),
                ("record", py.None()),
                ("found", obj(py, *found)),
                ("supported", obj(py, *supported)),
            ],
        ),
        Error::CommitUncertain { root, .. } => raise(
            py,
            "CommitUncertainError",
            &message,
            &[("root", path(root))],
        ),
        Error::RecoveryConflict { conflicts, txn_id } => raise(
            py,
            "ConflictError",
            &message,
            &[
                ("conflicts", obj(py, conflicts.clone())),
                ("txn_id", obj(py, *txn_id)),
            ],
        ),
        Error::InDoubt { .. } => raise(py, "InDoubtError", &message, &[]),
        Error::Rejected {
            op,
            path: p,
            reason,
        } => raise(
            py,
            "RejectedError",
            &message,
            &[
                ("op", obj(py, *op)),
                ("path", obj(py, p.as_str())),
                ("reason", obj(py, reason.as_str())),
            ],
        ),
        Error::InvalidPath { path: p, reason } => raise(
            py,
            "InvalidPathError",
            &message,
            &[
                ("path", obj(py, p.as_str())),
                ("reason", obj(py, reason.as_str())),
            ],
        ),
        Error::Limit { what, limit } => raise(
            py,
            "LimitError",
            &message,
            &[("what", obj(py, *what)), ("limit", obj(py, *limit))],
        ),
        Error::Poisoned { .. } => raise(py, "EngineStoppedError", &message, &[]),
        // `Error` is non-exhaustive: a kind added later is still a SkillwalError, and says
        // whether it may have changed anything.
        _ => raise(
            py,
            "SkillwalError",
            &message,
            &[(
                "may_have_changed",
                obj(py, e.effect() != skillwal::error::Effect::Unchanged),
            )],
        ),
    }
}
