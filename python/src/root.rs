//! `Root` (an open root: the engine's thread and the lock it holds) and `Transaction`.
//!
//! Every call that does I/O sends its work to the engine's thread ([`crate::worker`]) and
//! waits for the answer with the GIL released. A root runs one transaction at a time, as
//! the engine does; the objects keep the state that makes a misplaced call a `StateError`
//! (a write after the commit, a second transaction while one is open, any call on a closed
//! root) rather than a message the thread drops.

use crate::content::Content;
use crate::errors;
use crate::worker::{self, End, Msg, TxnJob, Worker};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use skillwal::fs::{FileKind, FileSystem};
use skillwal::{Layout, OpenOptions, RecoveryReport};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

/// Waits for the engine thread's answer with the GIL released.
fn wait<T: Send>(py: Python<'_>, rx: Receiver<T>) -> PyResult<T> {
    py.detach(move || rx.recv()).map_err(|_| {
        errors::state(
            py,
            "the root is closed (its engine stopped before answering)",
        )
    })
}

struct RootState {
    /// `None` once closed.
    worker: Option<Worker>,
    /// A transaction is open (begun, not yet committed or aborted).
    in_transaction: bool,
}

/// An open root: its engine runs on a thread of its own and holds the root's lock until
/// `close()` (or the end of a `with` block). Made by `skillwal.open`.
#[pyclass(frozen, module = "skillwal._native")]
pub struct Root {
    path: PathBuf,
    /// The process that opened it: after a `fork`, the child has no engine thread (and
    /// shares the lock), so the root refuses every call there.
    pid: u32,
    fs: Arc<dyn FileSystem>,
    recovery: RecoveryReport,
    state: Mutex<RootState>,
}

impl Root {
    /// Opens the root of `layout` (recovering it) on a new engine thread.
    pub fn open(
        py: Python<'_>,
        fs: Arc<dyn FileSystem>,
        layout: Layout,
        wait: bool,
    ) -> PyResult<Root> {
        let opts = OpenOptions {
            no_wait: !wait,
            ..OpenOptions::default()
        };
        let root = layout.root.clone();
        let fs2 = fs.clone();
        let (worker, recovery) = py
            .detach(move || worker::start(fs2, layout, opts))
            .map_err(|e| errors::engine(py, &e))?;
        Ok(Root {
            path: root,
            pid: std::process::id(),
            fs,
            recovery,
            state: Mutex::new(RootState {
                worker: Some(worker),
                in_transaction: false,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RootState> {
        // A panic while holding this lock cannot leave the state half-changed (each holder
        // sets one field), so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends `msg` to the engine's thread; a `StateError` when the root is closed.
    fn send(&self, py: Python<'_>, msg: Msg) -> PyResult<()> {
        crate::check_process(py, self.pid)?;
        let state = self.lock();
        let worker = state
            .worker
            .as_ref()
            .ok_or_else(|| errors::state(py, "the root is closed"))?;
        worker
            .tx
            .send(msg)
            .map_err(|_| errors::state(py, "the root is closed (its engine stopped)"))
    }

    /// Runs `job` on the engine (no transaction open) and returns its result.
    fn on_engine<T: Send + 'static>(
        &self,
        py: Python<'_>,
        job: impl FnOnce(&mut skillwal::Engine) -> T + Send + 'static,
    ) -> PyResult<T> {
        if self.lock().in_transaction {
            return Err(errors::state(
                py,
                "a transaction is open on this root: commit or abort it first",
            ));
        }
        let (tx, rx) = sync_channel(1);
        self.send(
            py,
            Msg::Engine(Box::new(move |e| {
                let _ = tx.send(job(e));
            })),
        )?;
        wait(py, rx)
    }

    /// Ends the open transaction `how`; the root is free for another one afterwards,
    /// whatever the outcome.
    fn end(
        &self,
        py: Python<'_>,
        how: End,
    ) -> PyResult<skillwal::Result<Option<skillwal::CommitReport>>> {
        let (tx, rx) = sync_channel(1);
        self.send(py, Msg::End { how, reply: tx })?;
        let r = wait(py, rx);
        self.lock().in_transaction = false;
        r
    }
}

#[pymethods]
impl Root {
    /// The root's directory, absolute.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// What the open's recovery did, as a dict: `outcome` is `"nothing"`, `"rolled-back"`
    /// (an uncommitted transaction discarded) or `"rolled-forward"` (a committed one
    /// completed); the other keys are those of `skillwal journal inspect --json`'s recovery.
    #[getter]
    fn recovery(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::to_python(py, &self.recovery)
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.lock().worker.is_none()
    }

    /// Begins a transaction labelled `label` (kept in the journal; `journal inspect` and
    /// recovery reports show it). Use it as a context manager: leaving the block commits,
    /// an exception aborts.
    ///
    /// `durable=True` (the default): `commit()` returns once every change is durable in
    /// place (the commit's journal sync, then the checkpoint's syncs of every changed file
    /// and directory). `durable=False`: `commit()` returns after the commit point (one
    /// journal sync): the changes are in place and a crash is rolled forward from the
    /// journal by the next `open`; the checkpoint is shared with the transactions after it
    /// (by the next transaction, `checkpoint()` or `close()`).
    #[pyo3(signature = (label, *, durable = true))]
    fn transaction(slf: &Bound<'_, Root>, label: &str, durable: bool) -> PyResult<Transaction> {
        let py = slf.py();
        let this = slf.get();
        {
            let mut state = this.lock();
            if state.worker.is_none() {
                return Err(errors::state(py, "the root is closed"));
            }
            if state.in_transaction {
                return Err(errors::state(
                    py,
                    "a transaction is already open on this root: commit or abort it first",
                ));
            }
            state.in_transaction = true;
        }
        let (tx, rx) = sync_channel(1);
        let begun = this
            .send(
                py,
                Msg::Begin {
                    label: label.to_string(),
                    reply: tx,
                },
            )
            .and_then(|()| wait(py, rx));
        match begun {
            Ok(Ok(())) => Ok(Transaction {
                root: slf.clone().unbind(),
                label: label.to_string(),
                durable,
                state: Mutex::new(TxnState::Open),
            }),
            Ok(Err(e)) => {
                this.lock().in_transaction = false;
                Err(errors::engine(py, &e))
            }
            Err(e) => {
                this.lock().in_transaction = false;
                Err(e)
            }
        }
    }

    /// Makes every committed transaction durable in place and retires the journal's
    /// records (nothing to do after a `durable=True` commit).
    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        self.on_engine(py, |e| e.checkpoint())?
            .map_err(|e| errors::engine(py, &e))
    }

    /// Aborts an open transaction, checkpoints, and releases the root's lock. Closing a
    /// closed root does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.lock().worker.is_none() {
            return Ok(());
        }
        if self.lock().in_transaction {
            // Its Python object still says open; its next call finds the root closed.
            self.end(py, End::Abort)?
                .map_err(|e| errors::engine(py, &e))?;
        }
        let (tx, rx) = sync_channel(1);
        self.send(py, Msg::Close(tx))?;
        let closed = wait(py, rx);
        let worker = self.lock().worker.take();
        if let Some(w) = worker {
            // The thread has answered its last message and is ending.
            let _ = py.detach(|| w.thread.join());
        }
        closed?.map_err(|e| errors::engine(py, &e))
    }

    fn __enter__(slf: Py<Root>) -> Py<Root> {
        slf
    }

    /// Closes the root. When the block raised, a failure to close (an engine a failed
    /// commit stopped) does not replace the block's exception, which says more.
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
        format!("<skillwal.Root {} ({state})>", self.path.display())
    }
}

enum TxnState {
    Open,
    Committed(skillwal::CommitReport),
    Aborted,
    /// The commit failed (before its commit point: aborted; after it: uncertain).
    Failed,
}

/// A transaction being staged on a root: nothing outside the root's `.skillwal/` changes
/// until `commit()`. Made by `Root.transaction`.
///
/// Paths are relative to the root, `/`-separated; every permission bit is exactly the
/// `mode` given (the umask does not apply). A call refused by the checks (`RejectedError`,
/// `InvalidPathError`, `LimitError`) staged nothing and the transaction goes on; any other
/// failure while staging leaves only abort (a commit refuses).
#[pyclass(frozen, module = "skillwal._native")]
pub struct Transaction {
    root: Py<Root>,
    label: String,
    durable: bool,
    state: Mutex<TxnState>,
}

/// One entry of `write_tree`, converted on the caller's thread.
enum TreeEntry {
    File(Content, u32),
    Dir(u32),
    Link(Vec<u8>),
}

impl Transaction {
    fn lock(&self) -> std::sync::MutexGuard<'_, TxnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        match &*self.lock() {
            TxnState::Open => Ok(()),
            TxnState::Committed(_) => Err(errors::state(py, "the transaction was committed")),
            TxnState::Aborted => Err(errors::state(py, "the transaction was aborted")),
            TxnState::Failed => Err(errors::state(py, "the transaction's commit failed")),
        }
    }

    /// Runs a staging job on the engine's thread.
    fn stage<F>(&self, py: Python<'_>, f: F) -> PyResult<()>
    where
        F: for<'a, 'e> FnOnce(&'a mut skillwal::Transaction<'e>) -> skillwal::Result<()>
            + Send
            + 'static,
    {
        self.check_open(py)?;
        let (tx, rx) = sync_channel(1);
        let job: TxnJob = Box::new(move |t| {
            let _ = tx.send(f(t));
        });
        self.root.get().send(py, Msg::Stage(job))?;
        wait(py, rx)?.map_err(|e| errors::engine(py, &e))
    }

    fn finish(&self, py: Python<'_>, how: End) -> PyResult<()> {
        self.check_open(py)?;
        let r = self.root.get().end(py, how);
        let mut state = self.lock();
        match r {
            Ok(Ok(Some(report))) => {
                *state = TxnState::Committed(report);
                Ok(())
            }
            Ok(Ok(None)) => {
                *state = TxnState::Aborted;
                Ok(())
            }
            Ok(Err(e)) => {
                *state = if how == End::Abort {
                    TxnState::Aborted
                } else {
                    TxnState::Failed
                };
                Err(errors::engine(py, &e))
            }
            Err(e) => {
                *state = TxnState::Failed;
                Err(e)
            }
        }
    }

    /// The tree's entries, parents first, with every missing parent directory added
    /// (mode 0o755).
    fn tree_entries(entries: &Bound<'_, PyAny>) -> PyResult<Vec<(String, TreeEntry)>> {
        let py = entries.py();
        let link_class = py.import("skillwal")?.getattr("Link")?;
        let mut out: std::collections::BTreeMap<String, TreeEntry> = Default::default();
        for item in entries.call_method0("items")?.try_iter()? {
            let (key, value): (String, Bound<'_, PyAny>) = item?.extract()?;
            if let Some(dir) = key.strip_suffix('/') {
                let mode: u32 = if value.is_none() {
                    0o755
                } else {
                    value.extract()?
                };
                out.insert(dir.to_string(), TreeEntry::Dir(mode));
            } else if value.is_instance(&link_class)? {
                let target = value.getattr("target")?;
                let target = match target.extract::<Vec<u8>>() {
                    Ok(b) if target.cast::<pyo3::types::PyBytes>().is_ok() => b,
                    _ => target
                        .extract::<PathBuf>()?
                        .into_os_string()
                        .into_encoded_bytes(),
                };
                out.insert(key, TreeEntry::Link(target));
            } else if let Ok(tuple) = value.cast::<PyTuple>() {
                let (content, mode): (Bound<'_, PyAny>, u32) = tuple.extract()?;
                out.insert(key, TreeEntry::File(Content::from_py(&content)?, mode));
            } else {
                out.insert(key, TreeEntry::File(Content::from_py(&value)?, 0o644));
            }
        }
        let parents: Vec<String> = out
            .keys()
            .flat_map(|k| {
                let parts: Vec<&str> = k.split('/').collect();
                (1..parts.len())
                    .map(|n| parts[..n].join("/"))
                    .collect::<Vec<_>>()
            })
            .collect();
        for p in parents {
            out.entry(p).or_insert(TreeEntry::Dir(0o755));
        }
        // In byte order a path sorts before every path it is a prefix of: each directory
        // comes before what it holds, as the tree stager needs.
        Ok(out.into_iter().collect())
    }
}

#[pymethods]
impl Transaction {
    /// The transaction's label.
    #[getter]
    fn label(&self) -> String {
        self.label.clone()
    }

    /// `"open"`, `"committed"`, `"aborted"` or `"failed"` (a commit that raised).
    #[getter]
    fn state(&self) -> &'static str {
        match &*self.lock() {
            TxnState::Open => "open",
            TxnState::Committed(_) => "committed",
            TxnState::Aborted => "aborted",
            TxnState::Failed => "failed",
        }
    }

    /// After a commit: `{"txn_id", "operations", "journal_bytes"}`; `None` before.
    #[getter]
    fn result(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &*self.lock() {
            TxnState::Committed(report) => Ok(Some(crate::to_python(py, report)?)),
            _ => Ok(None),
        }
    }

    /// Stages writing the file `path` (created, or replacing whatever is there, atomically)
    /// with `content` — bytes, str (UTF-8), a path to copy from, or a binary file object,
    /// streamed — and exactly the permission bits `mode`. Its parent directory must exist
    /// or be made by this transaction.
    #[pyo3(signature = (path, content, *, mode = 0o644))]
    fn write(
        &self,
        py: Python<'_>,
        path: String,
        content: &Bound<'_, PyAny>,
        mode: u32,
    ) -> PyResult<()> {
        let content = Content::from_py(content)?;
        self.stage(py, move |t| {
            content.with_reader(|r| t.put_file(&path, r, mode))
        })
    }

    /// Stages installing the directory tree `files` at `path` (created, or replacing
    /// whatever is there — a whole old tree with it — in one atomic step), the tree's own
    /// directory with permission bits `mode`.
    ///
    /// `files` maps relative paths to a content as `write` takes it, or to `(content,
    /// mode)`, or to a `skillwal.Link(target)`; a key ending in `/` is a directory, its
    /// value its mode (or `None`: 0o755). Directories not named are made with 0o755.
    #[pyo3(signature = (path, files, *, mode = 0o755))]
    fn write_tree(
        &self,
        py: Python<'_>,
        path: String,
        files: &Bound<'_, PyAny>,
        mode: u32,
    ) -> PyResult<()> {
        let entries = Transaction::tree_entries(files)?;
        self.stage(py, move |t| {
            let mut tree = t.put_tree(&path, mode)?;
            for (rel, entry) in entries {
                match entry {
                    TreeEntry::Dir(m) => tree.dir(&rel, m)?,
                    TreeEntry::Link(target) => tree.link(&rel, &target)?,
                    TreeEntry::File(content, m) => {
                        content.with_reader(|r| tree.file(&rel, r, m))?
                    }
                }
            }
            tree.finish()
        })
    }

    /// Stages deleting what is at `path`: a file or a link, or a directory with everything
    /// in it.
    fn delete(&self, py: Python<'_>, path: String) -> PyResult<()> {
        let root = self.root.get();
        let (fs, abs) = (root.fs.clone(), root.path.join(&path));
        self.stage(py, move |t| {
            match fs.metadata(&abs) {
                Ok(m) if m.kind == FileKind::Dir => t.delete_tree(&path),
                // Missing, or anything else: the engine's own checks say what is wrong.
                _ => t.delete_file(&path),
            }
        })
    }

    /// Stages making the directory `path` (which must not exist) with exactly the
    /// permission bits `mode`. Later calls may write inside it.
    #[pyo3(signature = (path, *, mode = 0o755))]
    fn mkdir(&self, py: Python<'_>, path: String, mode: u32) -> PyResult<()> {
        self.stage(py, move |t| t.create_dir(&path, mode))
    }

    /// Stages a symbolic link at `path` (created, or replacing whatever is there) pointing
    /// to `target` (never followed).
    fn symlink(&self, py: Python<'_>, path: String, target: PathBuf) -> PyResult<()> {
        let target = target.into_os_string().into_encoded_bytes();
        self.stage(py, move |t| t.put_link(&path, &target))
    }

    /// Commits: after it returns, the changes are in place and survive any crash (see
    /// `Root.transaction` for `durable`). Raises `CommitUncertainError` when it failed at or
    /// after its commit point (the next `open` settles it); any other error means nothing
    /// changed.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        let how = if self.durable {
            End::CommitDurable
        } else {
            End::Commit
        };
        self.finish(py, how)
    }

    /// Aborts: nothing staged is applied; the root is free for another transaction.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, End::Abort)
    }

    fn __enter__(slf: Py<Transaction>) -> Py<Transaction> {
        slf
    }

    /// Commits when the block ended normally, aborts when it raised (the exception goes
    /// on). Does nothing when the transaction was already ended inside the block.
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        if !matches!(&*self.lock(), TxnState::Open) {
            return Ok(false);
        }
        if exc_type.is_none() {
            self.commit(py)?;
        } else {
            // A failed abort replaces the block's exception, which Python keeps as its
            // `__context__`.
            self.abort(py)?;
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("<skillwal.Transaction {:?} ({})>", self.label, self.state())
    }
}

impl Drop for Transaction {
    /// A transaction dropped while open is aborted (without waiting for the answer), as
    /// the engine does with a dropped transaction.
    fn drop(&mut self) {
        if matches!(&*self.lock(), TxnState::Open) {
            let root = self.root.get();
            let (tx, _rx) = sync_channel(1);
            let sent = root.lock().worker.as_ref().is_some_and(|w| {
                w.tx.send(Msg::End {
                    how: End::Abort,
                    reply: tx,
                })
                .is_ok()
            });
            if sent {
                root.lock().in_transaction = false;
            }
        }
    }
}
