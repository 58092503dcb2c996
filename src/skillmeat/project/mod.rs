//! A project that artifacts are deployed into: a directory with one or more profile roots
//! (`.claude/`, `.agents/`, …), each holding the artifacts and a `.skillmeat-deployed.toml`
//! (`docs/skillmeat-deploy-format.md`). Every change to a project — artifact files and
//! tracking files together, in every profile root — is one engine transaction whose root is
//! the project directory.
//!
//! skillwal's own state for a project is `<project>/.skillwal/`: the engine's directory with
//! a small journal (`JournalBudget::SMALL`, 128 KiB) and a `.gitignore` of `*`, so that
//! `git status` never shows it; the Python tool looks only at `<project>/.*/.skillmeat-deployed.toml`
//! and skips dot-names, so it never takes it for anything (wal-spec.md §15).
//!
//! While it reads and rewrites a profile root, skillwal holds the lock files the Python tool
//! uses (`pylock`), so the two tools never interleave there.

pub mod debris;
pub mod profiles;
pub mod pylock;
mod undeploy;

pub use debris::{Cleaned, Debris};
pub use undeploy::{UndeployOutcome, Undeployed};

use crate::engine::inspect::TxnState;
use crate::engine::layout::JournalBudget;
use crate::engine::recovery::RecoveryReport;
use crate::engine::{Engine, Layout, OpenOptions, Transaction};
use crate::fs::{FileKind, FileSystem};
use crate::skillmeat::collection::{
    CollectionError, Recorded, Result, RootLog, ShownRecord, UndoOutcome, UndoPart, UndoTarget,
};
use crate::skillmeat::collection::{UndoRoot, undo_linked};
use crate::skillmeat::format::deployed::{DEFAULT_PROFILE_ROOT, DEPLOYED_FILE_NAME, DeployedFile};
use crate::store::gc::GcReport;
use crate::store::log::{LogLink, LogRecord, State, UndoPlan};
use crate::store::{Store, Writer};
use pylock::PythonLocks;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// skillwal's directory in a project.
pub const STATE_DIR: &str = ".skillwal";

/// What `<project>/.skillwal/.gitignore` holds: it ignores the whole directory, itself
/// included (as `.pytest_cache/` does).
pub const STATE_GITIGNORE: &str =
    "# skillwal's journal for deployments to this project (ignored by git)\n*\n";

/// Largest tracking file read, as for the manifest.
const TRACKING_BYTES_MAX: u64 = crate::limits::DOCUMENT_BYTES_MAX as u64;

/// The tracking file of one profile root, as read.
#[derive(Debug, Clone)]
pub struct Tracking {
    /// The profile root's directory name (`.claude`).
    pub root: String,
    /// Its records.
    pub file: DeployedFile,
    /// Whether the file exists (a root without one has no records).
    pub exists: bool,
}

/// An open project: holds its engine (and lock).
pub struct Project {
    engine: Engine,
    /// The project's store (`.skillwal/store/`): its operation log and what the log's
    /// records need to undo.
    store: Store,
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
}

impl Project {
    /// The engine layout of the project at `dir`.
    pub fn layout(dir: &Path) -> Layout {
        Layout::with_meta(dir, &dir.join(STATE_DIR)).with_budget(JournalBudget::SMALL)
    }

    /// Fails unless `dir` is an existing directory (links followed: the CLI gives the
    /// canonical path). A project is never created by skillwal.
    pub fn check_dir(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
        let reason = match crate::fs::stat(fs, dir) {
            Ok(m) if m.kind == FileKind::Dir => return Ok(()),
            Ok(_) => "is not a directory",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist",
            Err(e) => {
                return Err(CollectionError::Io(crate::error::IoError::new(
                    "stat", dir, e,
                )));
            }
        };
        Err(CollectionError::BadProject {
            dir: dir.to_path_buf(),
            reason: reason.into(),
        })
    }

    /// Opens the project at `dir` (absolute, canonical): takes its lock, recovers an
    /// interrupted transaction (holding the Python tool's locks of what it touches, see
    /// [`recovery_locks`]), and makes sure its state directory ignores itself.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        opts: &OpenOptions,
    ) -> Result<(Project, RecoveryReport)> {
        Project::check_dir(fs.as_ref(), dir)?;
        let locks = recovery_locks(fs.as_ref(), dir)?;
        let engine = Engine::open_layout(fs.clone(), &Project::layout(dir), opts)?;
        let opened = Project::with_engine(fs, dir, engine);
        drop(locks);
        opened
    }

    /// The project at `dir` around its opened (and recovered) engine.
    pub(crate) fn with_engine(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        mut engine: Engine,
    ) -> Result<(Project, RecoveryReport)> {
        engine.checkpoint()?;
        let report = engine.recovery_report().clone();
        let ignore = engine.layout().meta.join(".gitignore");
        if !fs
            .exists(&ignore)
            .map_err(|e| crate::error::IoError::new("stat", &ignore, e))?
        {
            crate::fs::write_atomically(fs.as_ref(), &ignore, STATE_GITIGNORE.as_bytes())?;
        }
        let store = Store::new(fs.clone(), engine.layout());
        Ok((
            Project {
                engine,
                store,
                fs,
                dir: dir.to_path_buf(),
            },
            report,
        ))
    }

    /// The project's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file system it is read and written through.
    pub fn file_system(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    /// The engine, to change the project in a transaction.
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The project's store: its operation log (store-spec.md §4.5).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    fn root_log(&self) -> RootLog<'_> {
        RootLog {
            store: &self.store,
            fs: self.fs.as_ref(),
            dir: &self.dir,
            disposable: pylock::is_lock_file,
        }
    }

    /// The project's operation log, newest first (at most `limit` records), and which
    /// records a later undo in effect has undone (record id → the undo's id). Every
    /// transaction skillwal makes in the project (deploy, undeploy, cleanup, an update's
    /// refresh, a pull's record, undo, redo) leaves a record there.
    pub fn log_with_undone(
        &self,
        limit: Option<usize>,
    ) -> Result<(Vec<LogRecord>, HashMap<u64, u64>)> {
        self.root_log().records_with_undone(limit, |_| true)
    }

    /// The record `id` and what it changed, file by file; see
    /// [`crate::skillmeat::collection::Collection::show_record`].
    pub fn show_record(&self, id: u64, diffs: bool) -> Result<ShownRecord> {
        self.root_log().show(id, diffs)
    }

    /// What undoing `target` would do now (nothing written).
    pub fn plan_undo(&self, target: UndoTarget) -> Result<UndoPlan> {
        self.root_log().plan(target)
    }

    /// Undoes `target` in one new transaction of the project, with its own record: every
    /// path the record's transaction changed gets its before-state back, unless it changed
    /// since (a conflict: nothing is changed without `force`). Holds the Python tool's lock
    /// of every artifact and tracking file the record names while it writes, as deploy
    /// does.
    ///
    /// A record written with records of other roots (`with`) is refused
    /// ([`CollectionError::LinkedRecord`]): it is undone with them
    /// ([`crate::skillmeat::collection::undo_linked`]).
    pub fn undo(&mut self, target: UndoTarget, force: bool) -> Result<UndoOutcome> {
        let id = self.root_log().target(target)?;
        undo_linked(&mut [UndoRoot::Project(self)], &[id], force)
    }

    /// The record `target` names: the one `undo --project` (or `redo`) would undo.
    pub fn undo_record(&self, target: UndoTarget) -> Result<LogRecord> {
        let log = self.root_log();
        log.record(log.target(target)?)
    }

    /// The record `id` of the project's log.
    pub fn log_record(&self, id: u64) -> Result<LogRecord> {
        self.root_log().record(id)
    }

    /// This project as one root of an undo across roots, undoing its record `id`.
    pub(crate) fn undo_part(&mut self, id: u64) -> UndoPart<'_> {
        UndoPart {
            log: RootLog {
                store: &self.store,
                fs: self.fs.as_ref(),
                dir: &self.dir,
                disposable: pylock::is_lock_file,
            },
            engine: &mut self.engine,
            id,
            project: true,
        }
    }

    /// The Python tool's locks an undo of `record` holds: of every artifact and tracking
    /// file it names, as deploy does.
    pub(crate) fn undo_locks(&self, record: &LogRecord) -> Result<PythonLocks> {
        // No lock is taken in a directory the record created: the undo removes it (a lock
        // file made there would be in its way), and a deployment of the Python tool in it
        // since would be a conflict.
        let created: HashSet<&str> = record
            .changes
            .iter()
            .filter(|c| c.before == State::Absent && matches!(c.after, State::Dir { .. }))
            .map(|c| c.path.as_str())
            .collect();
        let mut locks = PythonLocks::default();
        let mut taken = HashSet::new();
        for c in &record.changes {
            if let Some(destination) = destination_of(&c.path)
                && !destination
                    .rsplit_once('/')
                    .is_some_and(|(parent, _)| created.contains(parent))
                && taken.insert(destination.clone())
            {
                locks.take(self.fs.as_ref(), &self.dir.join(destination))?;
            }
        }
        Ok(locks)
    }

    /// Deletes the store objects that no record of the project's log reaches (store-spec.md
    /// §7), in journaled batches.
    pub fn gc(&mut self) -> Result<GcReport> {
        Ok(crate::store::gc::gc(
            &self.store,
            &mut self.engine,
            &HashSet::new(),
        )?)
    }

    /// Releases the project after a final checkpoint.
    pub fn close(self) -> Result<()> {
        Ok(self.engine.close()?)
    }

    /// What is at the profile root `root` (`.claude`); see [`root_kind`].
    pub fn root_kind(&self, root: &str) -> Result<Option<FileKind>> {
        root_kind(self.fs.as_ref(), &self.dir, root)
    }

    /// The tracking file of the profile root `root`; see [`tracking`].
    pub fn tracking(&self, root: &str) -> Result<Tracking> {
        tracking(self.fs.as_ref(), &self.dir, root)
    }

    /// Every tracking file of the project; see [`all_tracking`].
    pub fn all_tracking(&self) -> Result<Vec<Tracking>> {
        all_tracking(self.fs.as_ref(), &self.dir)
    }
}

/// Stages the project's operation log record of `t` (labelled `command`; store-spec.md
/// §4.5), the objects its before-states need included: call it after everything else `t`
/// stages in the project. `None` when `t` changes nothing there.
///
/// `with` names the records the same transaction writes in other roots (store-spec.md
/// §4.5).
pub(crate) fn stage_log(
    store: &Store,
    t: &mut Transaction<'_>,
    command: &str,
    with: &[LogLink],
) -> Result<Option<Recorded>> {
    let mut w = Writer::new(store);
    Ok(
        crate::store::log::stage_record(&mut w, t, command, None, with)?.map(|r| Recorded {
            id: r.id,
            paths: r.changes.len(),
        }),
    )
}

/// The Python tool's locks (`pylock`) of every destination that the live transaction in
/// the journal of the project at `dir` changes, if there is one: held while the project is
/// opened, so that its recovery (rolling that transaction forward or back) never
/// interleaves with a write of the Python tool there. A destination is a profile root's
/// tracking file or an artifact (`<root>/<type dir>/<name>`, whatever below it a record
/// changes); a record of anything else (a profile root or type directory made) needs none.
/// The journal is read without the project's lock: at worst the locks of a transaction
/// another skillwal process is running are taken too, which the shared locks allow.
pub fn recovery_locks(fs: &dyn FileSystem, dir: &Path) -> Result<PythonLocks> {
    let mut locks = PythonLocks::default();
    let journal = Project::layout(dir).journal;
    if !fs
        .exists(&journal)
        .map_err(|e| crate::error::IoError::new("stat", &journal, e))?
    {
        return Ok(locks);
    }
    let report = crate::engine::inspect::inspect(fs, &journal)?;
    if report.state == TxnState::None {
        return Ok(locks);
    }
    for r in report.records.iter().chain(&report.beyond_damage) {
        let Some(path) = r.record.root_path() else {
            continue;
        };
        if let Some(destination) = destination_of(path) {
            locks.take(fs, &dir.join(destination))?;
        }
    }
    Ok(locks)
}

/// The destination a change of `path` (relative to the project) falls under, whose
/// Python lock covers it: a profile root's tracking file, or an artifact
/// (`<root>/<type dir>/<name>`, whatever below it is changed). `None` for anything else (a
/// profile root or type directory made).
fn destination_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [_, tracking] if *tracking == DEPLOYED_FILE_NAME => Some(path.to_owned()),
        [root, ty, name, ..] => Some(format!("{root}/{ty}/{name}")),
        _ => None,
    }
}

/// What is at the profile root `root` (`.claude`): `None` when absent. A root that is a
/// symbolic link (it may lead out of the project) or not a directory is refused.
pub fn root_kind(fs: &dyn FileSystem, dir: &Path, root: &str) -> Result<Option<FileKind>> {
    let path = dir.join(root);
    match fs.metadata(&path) {
        Ok(m) if m.kind == FileKind::Dir => Ok(Some(FileKind::Dir)),
        Ok(m) => Err(CollectionError::BadProject {
            dir: path,
            reason: if m.kind == FileKind::Symlink {
                "is a symbolic link; skillwal deploys only into a real directory of the project (a link may lead out of it)".into()
            } else {
                "is not a directory".into()
            },
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectionError::Io(crate::error::IoError::new(
            "stat", &path, e,
        ))),
    }
}

/// The tracking file of the profile root `root`; empty when the root or the file is
/// missing. A file the Python tool would refuse is refused, naming the line.
pub fn tracking(fs: &dyn FileSystem, dir: &Path, root: &str) -> Result<Tracking> {
    let path = dir.join(root).join(DEPLOYED_FILE_NAME);
    let name = path.display().to_string();
    if root_kind(fs, dir, root)?.is_none() {
        return Ok(Tracking {
            root: root.to_owned(),
            file: DeployedFile::empty(),
            exists: false,
        });
    }
    let text = crate::fs::read_small_text(fs, &path, TRACKING_BYTES_MAX)?;
    Ok(match text {
        Some((text, _mode)) => Tracking {
            root: root.to_owned(),
            file: DeployedFile::parse(&text, &name)?,
            exists: true,
        },
        None => Tracking {
            root: root.to_owned(),
            file: DeployedFile::empty(),
            exists: false,
        },
    })
}

/// Every profile root holding a tracking file, as the Python tool reads them: `.claude`
/// first, then every other `<project>/.*` directory with one, in name order.
pub fn all_tracking(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<Tracking>> {
    let mut roots = vec![DEFAULT_PROFILE_ROOT.to_owned()];
    let entries = fs
        .read_dir(dir)
        .map_err(|e| crate::error::IoError::new("list", dir, e))?;
    let mut others: Vec<String> = entries
        .into_iter()
        .filter_map(|e| e.name.to_str().map(str::to_owned))
        .filter(|n| n.starts_with('.') && n != DEFAULT_PROFILE_ROOT && n != STATE_DIR)
        .filter(|n| n != "." && n != "..")
        .collect();
    others.sort();
    for n in others {
        let p = dir.join(&n);
        if fs.metadata(&p).is_ok_and(|m| m.kind == FileKind::Dir)
            && fs.exists(&p.join(DEPLOYED_FILE_NAME)).unwrap_or(false)
        {
            roots.push(n);
        }
    }
    let mut out = Vec::new();
    for r in roots {
        let t = tracking(fs, dir, &r)?;
        if t.exists {
            out.push(t);
        }
    }
    Ok(out)
}
