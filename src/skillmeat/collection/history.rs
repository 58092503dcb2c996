//! The collection's history as an operation log (store-spec.md §4.5): every transaction
//! that changes the collection's files leaves a record, which `log` lists, `show` expands
//! file by file, and `undo` and `redo` reverse in a new transaction.

use super::*;
use crate::skillmeat::project::Project;
use crate::store::log::{self, Conflict, LogLink, LogRecord, State, UndoPlan};
use crate::store::object::{Node, Tree};
use std::collections::{HashMap, HashSet};

/// The operation log's record of a change: its safety net, which `undo` reverses it with
/// (store-spec.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The record's id.
    pub id: u64,
    /// How many paths it names.
    pub paths: usize,
}

/// Stages the log record of `t` (labelled `command`): call it after everything else `t`
/// stages in this collection. `None` when `t` changes nothing outside `.skillwal/`.
pub(super) fn stage_log(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    command: &str,
) -> Result<Option<Recorded>> {
    stage_log_with(w, t, command, &[])
}

/// [`stage_log`] for a part of a transaction across roots: the record names the records
/// the other parts stage (`with`), so that an undo of one undoes them all.
pub(super) fn stage_log_with(
    w: &mut Writer<'_>,
    t: &mut Transaction<'_>,
    command: &str,
    with: &[LogLink],
) -> Result<Option<Recorded>> {
    Ok(
        log::stage_record(w, t, command, None, with)?.map(|r| Recorded {
            id: r.id,
            paths: r.changes.len(),
        }),
    )
}

/// The link, for the collection at `from`, to the record the next transaction writes in
/// the collection at `to`, whose store is `store`.
pub(super) fn next_link(from: &Path, store: &Store, to: &Path) -> Result<LogLink> {
    Ok(LogLink::between(from, to, log::next_id(store)?))
}

/// One file-level difference a record names: a path below a changed directory, or the
/// changed path itself.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedFile {
    /// Relative to the collection.
    pub path: String,
    /// What it was (`absent` when it did not exist).
    pub before: State,
    /// What it became.
    pub after: State,
    /// The unified diff of a text file (with `--diff`); `None` when not asked for, or when
    /// a side is not text or no longer kept (see `diff_note`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why there is no diff of a changed regular file, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_note: Option<String>,
}

/// A record and what it changed, file by file.
#[derive(Debug, Clone, Serialize)]
pub struct ShownRecord {
    /// The record.
    pub record: LogRecord,
    /// Every file-level difference, in path order within each changed path.
    pub files: Vec<RecordedFile>,
}

/// What an undo or a redo did.
#[derive(Debug, Clone, Serialize)]
pub struct UndoOutcome {
    /// The record undone.
    pub undone: u64,
    /// Its command.
    pub undone_command: String,
    /// The record of this undo (`None` when nothing needed to change).
    pub record: Option<u64>,
    /// The paths written or deleted.
    pub paths: Vec<String>,
    /// Paths already as they were before the undone transaction (left alone).
    pub unchanged: Vec<String>,
    /// Paths changed since, overwritten because of `--force`.
    pub forced: Vec<Conflict>,
    /// The same undo in the other collections the undone transaction changed (a move), in
    /// one transaction across them; empty for a transaction in one collection.
    pub with: Vec<UndoneElsewhere>,
    /// The identity of the transaction across the collections (32 hex digits), when the
    /// undo changed more than one.
    pub transaction_across: Option<String>,
}

/// The part of an undo across roots done in one other root.
#[derive(Debug, Clone, Serialize)]
pub struct UndoneElsewhere {
    /// That root's directory.
    pub dir: String,
    /// Whether it is a project (wal-spec.md §15), not a collection.
    pub project: bool,
    /// The record undone there.
    pub undone: u64,
    /// Its command.
    pub undone_command: String,
    /// The undo's own record there (`None` when nothing there needed to change).
    pub record: Option<u64>,
    /// The paths written or deleted there.
    pub paths: Vec<String>,
    /// Paths there already as they were before.
    pub unchanged: Vec<String>,
    /// Paths there changed since, overwritten because of `--force`.
    pub forced: Vec<Conflict>,
}

/// Which records `log NAME` shows: those whose changes are at or below one of the
/// artifact's storage paths, or whose document changes name its lock key.
struct Touches {
    /// `None`: every record.
    of: Option<(Vec<String>, Vec<String>)>,
}

impl Touches {
    fn new(name: Option<(&str, Option<ArtifactType>)>) -> Touches {
        Touches {
            of: name.map(|(name, ty)| {
                let types = ArtifactType::ALL
                    .into_iter()
                    .filter(|t| ty.is_none_or(|ty| ty == *t));
                types
                    .filter_map(|t| Some((t.storage_path(name).ok()?, lock_key(name, t))))
                    .unzip()
            }),
        }
    }

    fn record(&self, r: &LogRecord) -> bool {
        let Some((paths, items)) = &self.of else {
            return true;
        };
        let at_or_below = |path: &str, p: &str| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        r.changes
            .iter()
            .any(|c| paths.iter().any(|p| at_or_below(&c.path, p)))
            || r.documents
                .iter()
                .any(|d| d.changes.iter().any(|c| items.contains(&c.item)))
    }
}

/// Which record to undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoTarget {
    /// The newest change still in effect (`undo`).
    Last,
    /// The newest undo still in effect, unless a change came after it (`redo`).
    Redo,
    /// This record.
    Id(u64),
}

fn state_of_entry(e: &crate::store::object::Entry) -> State {
    match e.node {
        Node::File { size, hash } => State::File {
            size,
            mode: e.mode,
            hash: crate::store::object::hex(&hash),
        },
        Node::Link { size, hash } => State::Link {
            size,
            hash: crate::store::object::hex(&hash),
        },
        Node::Dir { hash } => State::Dir {
            mode: e.mode,
            contents: None,
            tree: Some(crate::store::object::hex(&hash)),
        },
    }
}

/// An operation log read and undone in one root (a collection or a project): its store,
/// and the root's files for diffs of versions the store no longer keeps.
pub(crate) struct RootLog<'a> {
    /// The root's store, holding `log/`.
    pub store: &'a Store,
    /// The root's file system.
    pub fs: &'a dyn FileSystem,
    /// The root.
    pub dir: &'a Path,
    /// Files another tool leaves that an undo may delete with a directory it removes
    /// (see [`log::plan_undo`]).
    pub disposable: fn(&str) -> bool,
}

impl Collection {
    /// The collection's log, to read.
    fn root_log(&self) -> RootLog<'_> {
        RootLog {
            store: &self.store,
            fs: self.fs.as_ref(),
            dir: &self.dir,
            disposable: |_| false,
        }
    }

    /// Keeps the newest `keep` records of the operation log (at least 1) from now on
    /// (`[settings] skillwal-log-keep`; 1,000 unless set). What only the dropped records
    /// kept is freed by the next `gc`.
    pub fn set_log_retention(&mut self, keep: u64) {
        self.store.set_log_keep(keep);
    }

    /// The log's records, newest first: at most `limit`, and only those that changed the
    /// artifact `name` (of any type, or of type `ty`) when given. Reads records until it
    /// has enough; a damaged record is an error naming its file.
    pub fn log(
        &self,
        limit: Option<usize>,
        name: Option<(&str, Option<ArtifactType>)>,
    ) -> Result<Vec<LogRecord>> {
        let touches = Touches::new(name);
        self.root_log().records(limit, |r| touches.record(r))
    }

    /// [`Collection::log`], and which records of the whole log a later undo in effect has
    /// undone (record id → the undo's id), from one reading of the log.
    pub fn log_with_undone(
        &self,
        limit: Option<usize>,
        name: Option<(&str, Option<ArtifactType>)>,
    ) -> Result<(Vec<LogRecord>, HashMap<u64, u64>)> {
        let touches = Touches::new(name);
        self.root_log()
            .records_with_undone(limit, |r| touches.record(r))
    }

    /// The record `id`.
    pub fn log_record(&self, id: u64) -> Result<LogRecord> {
        self.root_log().record(id)
    }

    /// The record `id` and what it changed, file by file (a changed directory expanded
    /// through its before and after listings); with `diffs`, the unified diff of each text
    /// file whose two versions are still to be found (in the store, or on disk unchanged).
    pub fn show_record(&self, id: u64, diffs: bool) -> Result<ShownRecord> {
        self.root_log().show(id, diffs)
    }

    /// What undoing `target` would do now (nothing written): the record, the conflicts,
    /// the paths it would write.
    pub fn plan_undo(&self, target: UndoTarget) -> Result<UndoPlan> {
        self.root_log().plan(target)
    }

    /// The record `target` names: the one `undo` (or `redo`) would undo. When it names
    /// records of other collections (`with`: a move), it is undone with them by
    /// [`Collection::undo_across`], and [`Collection::undo`] refuses it.
    pub fn undo_record(&self, target: UndoTarget) -> Result<LogRecord> {
        let log = self.root_log();
        log.record(log.target(target)?)
    }

    /// Undoes the records `ids[i]` of `parts[i]` — the records one transaction across
    /// these collections wrote (a move), each naming all the others in `with` — in one new
    /// transaction across the collections that change, so that after any crash all of them
    /// are before the undo or all after. Each collection's undo has its own record, naming
    /// the others' (so the undo is undone, a redo, across them too). A path changed since in
    /// any of them is a conflict: without `force` nothing changes anywhere
    /// ([`CollectionError::UndoConflict`], the paths prefixed with their collection's
    /// directory).
    ///
    /// Fails, changing nothing, when the records do not name each other exactly
    /// ([`CollectionError::LinkedRecord`]). Returns `parts[0]`'s outcome, with the others in
    /// `with`.
    pub fn undo_across(
        parts: &mut [&mut Collection],
        ids: &[u64],
        force: bool,
    ) -> Result<UndoOutcome> {
        let mut roots: Vec<UndoRoot<'_>> =
            parts.iter_mut().map(|c| UndoRoot::Collection(c)).collect();
        undo_linked(&mut roots, ids, force)
    }

    /// Undoes `target` in one new transaction, which has its own record (so it can be
    /// undone in turn: a redo): every path the record's transaction changed gets its
    /// before-state back. A path changed since (by a later transaction or by hand) is a
    /// conflict: without `force`, nothing is changed and the conflicts are the error
    /// ([`CollectionError::UndoConflict`]); with it, those paths are overwritten too (what
    /// they held is kept by the undo's own record).
    ///
    /// A record written with records of other collections (`with`) is refused
    /// ([`CollectionError::LinkedRecord`]): it is undone with them
    /// ([`Collection::undo_across`]).
    pub fn undo(&mut self, target: UndoTarget, force: bool) -> Result<UndoOutcome> {
        let id = self.root_log().target(target)?;
        undo_linked(&mut [UndoRoot::Collection(self)], &[id], force)
    }

    /// This collection as one root of an undo, undoing its record `id`.
    fn undo_part(&mut self, id: u64) -> Result<UndoPart<'_>> {
        Ok(UndoPart {
            log: RootLog {
                store: &self.store,
                fs: self.fs.as_ref(),
                dir: &self.dir,
                disposable: |_| false,
            },
            engine: writable(&mut self.engine, &self.dir)?,
            id,
            project: false,
        })
    }
}

impl RootLog<'_> {
    /// The records `keep` accepts, newest first, at most `limit`. Reads records until it
    /// has enough; a damaged record is an error naming its file.
    pub fn records(
        &self,
        limit: Option<usize>,
        keep: impl Fn(&LogRecord) -> bool,
    ) -> Result<Vec<LogRecord>> {
        let mut out = Vec::new();
        for id in log::list_ids(self.store)? {
            if limit.is_some_and(|n| out.len() >= n) {
                break;
            }
            if let Some(r) = log::get(self.store, id)?
                && keep(&r)
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// [`RootLog::records`], and which records of the whole log a later undo in effect has
    /// undone (record id → the undo's id), from one reading of the log.
    pub fn records_with_undone(
        &self,
        limit: Option<usize>,
        keep: impl Fn(&LogRecord) -> bool,
    ) -> Result<(Vec<LogRecord>, HashMap<u64, u64>)> {
        let all = self.records(None, |_| true)?;
        let undone = log::undone_by(&all);
        let shown = all
            .into_iter()
            .filter(|r| keep(r))
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        Ok((shown, undone))
    }

    /// The record `id`.
    pub fn record(&self, id: u64) -> Result<LogRecord> {
        log::get(self.store, id)?.ok_or_else(|| self.not_in_log(id))
    }

    fn not_in_log(&self, id: u64) -> CollectionError {
        let newest = log::list_ids(self.store)
            .ok()
            .and_then(|ids| ids.first().copied());
        CollectionError::NotInLog { id, newest }
    }

    /// The record `id` and what it changed, file by file (a changed directory expanded
    /// through its before and after listings); with `diffs`, the unified diff of each text
    /// file whose two versions are still to be found (in the store, or on disk unchanged).
    pub fn show(&self, id: u64, diffs: bool) -> Result<ShownRecord> {
        let record = self.record(id)?;
        let mut files = Vec::new();
        for c in &record.changes {
            let (b, a) = (self.listing(&c.before), self.listing(&c.after));
            match (b, a) {
                (Some(b), Some(a)) if b.is_some() || a.is_some() => {
                    self.expand(&c.path, b.as_ref(), a.as_ref(), &mut files)?;
                }
                _ => files.push(RecordedFile {
                    path: c.path.clone(),
                    before: c.before.clone(),
                    after: c.after.clone(),
                    diff: None,
                    diff_note: None,
                }),
            }
        }
        if diffs {
            for f in &mut files {
                self.add_diff(f);
            }
        }
        Ok(ShownRecord { record, files })
    }

    /// A state's listing for [`RootLog::show`]: `Some(None)` for a state that
    /// holds no entries (nothing, a file, a link), `Some(Some(tree))` for a directory whose
    /// tree object can be read, `None` for one whose cannot (or was not recorded).
    fn listing(&self, s: &State) -> Option<Option<Tree>> {
        match s {
            State::Dir { .. } => s
                .tree_hash()
                .and_then(|h| self.store.read_tree(&h).ok())
                .map(Some),
            _ => Some(None),
        }
    }

    /// Every difference between the listings `before` and `after` of `path` (`None`: not a
    /// directory on that side, then the path itself is one of the differences).
    fn expand(
        &self,
        path: &str,
        before: Option<&Tree>,
        after: Option<&Tree>,
        out: &mut Vec<RecordedFile>,
    ) -> Result<()> {
        let names: std::collections::BTreeSet<&str> = before
            .iter()
            .chain(after.iter())
            .flat_map(|t| t.entries.iter().map(|e| e.name.as_str()))
            .collect();
        for name in names {
            let rel = format!("{path}/{name}");
            let b = before.and_then(|t| t.get(name));
            let a = after.and_then(|t| t.get(name));
            if b == a {
                continue;
            }
            let sub = |e: Option<&crate::store::object::Entry>| -> Option<Option<Tree>> {
                match e.map(|e| e.node) {
                    Some(Node::Dir { hash }) => self.store.read_tree(&hash).ok().map(Some),
                    _ => Some(None),
                }
            };
            let (bs, as_) = (sub(b), sub(a));
            match (bs, as_) {
                (Some(bt), Some(at)) if bt.is_some() || at.is_some() => {
                    if let (Some(b), Some(a)) = (b, a)
                        && b.mode != a.mode
                    {
                        out.push(RecordedFile {
                            path: rel.clone(),
                            before: state_of_entry(b),
                            after: state_of_entry(a),
                            diff: None,
                            diff_note: None,
                        });
                    }
                    self.expand(&rel, bt.as_ref(), at.as_ref(), out)?;
                }
                _ => out.push(RecordedFile {
                    path: rel,
                    before: b.map(state_of_entry).unwrap_or(State::Absent),
                    after: a.map(state_of_entry).unwrap_or(State::Absent),
                    diff: None,
                    diff_note: None,
                }),
            }
        }
        Ok(())
    }

    /// The bytes of a file state, when they can still be found: its object in the store, or
    /// the file at `path` if it still holds them. At most 8 MiB (a diff's limit).
    fn bytes_of(&self, path: &str, s: &State) -> Option<Vec<u8>> {
        const DIFF_FILE_BYTES_MAX: u64 = 8 << 20;
        let State::File { size, hash, .. } = s else {
            return None;
        };
        if *size > DIFF_FILE_BYTES_MAX {
            return None;
        }
        let hash = crate::store::object::parse_hex(hash)?;
        let mut bytes = Vec::new();
        if let Ok(mut r) = self.store.open_blob(&hash, *size)
            && r.read_to_end(&mut bytes).is_ok()
        {
            return Some(bytes);
        }
        // Not in the store: the file itself, if it still holds exactly these bytes.
        let abs = self.dir.join(path);
        let file = self.fs.open(&abs, crate::fs::OpenMode::Read).ok()?;
        let mut bytes = vec![0u8; *size as usize];
        file.read_exact_at(&mut bytes, 0).ok()?;
        let whole = file.metadata().ok()?.len == *size;
        (whole && blake3::hash(&bytes).as_bytes() == &hash).then_some(bytes)
    }

    fn add_diff(&self, f: &mut RecordedFile) {
        let is_file = |s: &State| matches!(s, State::File { .. });
        if !is_file(&f.before) && !is_file(&f.after) {
            return;
        }
        if let (State::File { hash: a, .. }, State::File { hash: b, .. }) = (&f.before, &f.after)
            && a == b
        {
            return; // the mode alone changed
        }
        let side = |s: &State| -> Result<Option<Vec<u8>>, ()> {
            match s {
                State::File { .. } => self.bytes_of(&f.path, s).map(Some).ok_or(()),
                _ => Ok(None),
            }
        };
        match (side(&f.before), side(&f.after)) {
            (Ok(old), Ok(new)) => {
                match crate::merge::unified::diff(&f.path, old.as_deref(), new.as_deref()) {
                    Ok(d) => f.diff = Some(String::from_utf8_lossy(&d.text).into_owned()),
                    Err(e) => f.diff_note = Some(e.to_string()),
                }
            }
            _ => {
                f.diff_note = Some(
                    "a version of it is no longer kept (the store keeps what an undo needs)".into(),
                )
            }
        }
    }

    /// Which record `target` names, or why there is none.
    pub fn target(&self, target: UndoTarget) -> Result<u64> {
        if let UndoTarget::Id(id) = target {
            return Ok(id);
        }
        let records = self.records(None, |_| true)?;
        match target {
            UndoTarget::Last => log::default_undo(&records).ok_or(CollectionError::NothingToUndo),
            UndoTarget::Redo => log::default_redo(&records)
                .map_err(|after| CollectionError::NothingToRedo { after }),
            UndoTarget::Id(_) => unreachable!(),
        }
    }

    /// The label (and the record's command) of the undo `plan`: a redo is labelled by the
    /// change it brings back, not by the undo it undoes.
    pub fn label(&self, plan: &UndoPlan) -> String {
        let (id, command) = (plan.record.id, &plan.record.command);
        match plan.record.undoes.map(|x| self.record(x)) {
            Some(Ok(x)) if x.undoes.is_none() => {
                format!("redo {} ({}), undoing {id}", x.id, x.command)
            }
            _ => format!("undo {id} ({command})"),
        }
    }

    /// What undoing `target` would do now (nothing written): the record, the conflicts,
    /// the paths it would write.
    pub fn plan(&self, target: UndoTarget) -> Result<UndoPlan> {
        let record = self.record(self.target(target)?)?;
        Ok(log::plan_undo(self.store, record, false, self.disposable)?)
    }
}

/// `record 7 of /path/to/other` for each link, joined.
fn describe_links(links: &[LogLink]) -> String {
    if links.is_empty() {
        return "no other record".into();
    }
    links
        .iter()
        .map(|l| format!("record {} of {}", l.id, l.root))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A root of an undo across roots: a collection, or a project.
pub enum UndoRoot<'r> {
    /// A collection.
    Collection(&'r mut Collection),
    /// A project.
    Project(&'r mut Project),
}

/// One root of an undo across roots, as [`undo_parts`] works on it.
pub(crate) struct UndoPart<'a> {
    /// Its log.
    pub log: RootLog<'a>,
    /// Its engine.
    pub engine: &'a mut Engine,
    /// The record undone there.
    pub id: u64,
    /// Whether it is a project.
    pub project: bool,
}

impl UndoPart<'_> {
    /// The link, from the root at `from`, to this part's record.
    fn link_from(&self, from: &Path) -> LogLink {
        if self.project {
            LogLink::to_project(from, self.log.dir, self.id)
        } else {
            LogLink::between(from, self.log.dir, self.id)
        }
    }
}

/// Undoes the records `ids[i]` of `roots[i]` — the records one transaction across these
/// roots wrote (a move, an update across collections, an update that refreshed
/// deployments), each naming all the others in `with` — in one new transaction across the
/// roots that change, so that after any crash all of them are before the undo or all after.
/// Each root's undo has its own record, naming the others' (so the undo is undone, a redo,
/// across them too). A path changed since in any of them is a conflict: without `force`
/// nothing changes anywhere ([`CollectionError::UndoConflict`], the paths prefixed with
/// their root's directory). A project's part holds the Python tool's locks as
/// [`Project::undo`] does.
///
/// Fails, changing nothing, when the records do not name each other exactly
/// ([`CollectionError::LinkedRecord`]). Returns `roots[0]`'s outcome, with the others in
/// `with`.
pub fn undo_linked(roots: &mut [UndoRoot<'_>], ids: &[u64], force: bool) -> Result<UndoOutcome> {
    assert_eq!(roots.len(), ids.len(), "one record per root");
    let mut locks = Vec::new();
    for (r, &id) in roots.iter().zip(ids) {
        if let UndoRoot::Project(p) = r {
            locks.push(p.undo_locks(&p.log_record(id)?)?);
        }
    }
    let mut parts: Vec<UndoPart<'_>> = Vec::with_capacity(roots.len());
    for (r, &id) in roots.iter_mut().zip(ids) {
        parts.push(match r {
            UndoRoot::Collection(c) => c.undo_part(id)?,
            UndoRoot::Project(p) => p.undo_part(id),
        });
    }
    let (mut done, across) = undo_parts(&mut parts, force)?;
    drop(parts);
    drop(locks);
    for (r, d) in roots.iter_mut().zip(&done) {
        if let (UndoRoot::Collection(c), Some(_)) = (r, d.record) {
            c.docs = c.docs.read_again(c.fs.as_ref(), &c.dir)?;
        }
    }
    let first = done.remove(0);
    Ok(UndoOutcome {
        undone: first.undone,
        undone_command: first.undone_command,
        record: first.record,
        paths: first.paths,
        unchanged: first.unchanged,
        forced: first.forced,
        with: done,
        transaction_across: across,
    })
}

/// [`undo_linked`] on the roots' logs and engines: what it did in each root, and the
/// transaction across them, if there was one.
pub(crate) fn undo_parts(
    parts: &mut [UndoPart<'_>],
    force: bool,
) -> Result<(Vec<UndoneElsewhere>, Option<String>)> {
    let mut plans = Vec::with_capacity(parts.len());
    let mut labels = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let record = p.log.record(p.id)?;
        let want: HashSet<LogLink> = parts
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i)
            .map(|(_, o)| o.link_from(p.log.dir))
            .collect();
        let named: HashSet<LogLink> = record.with.iter().cloned().collect();
        if want != named {
            let reason = if want.is_empty() {
                format!(
                    "it was written with {} by one transaction, and is undone only with them",
                    describe_links(&record.with)
                )
            } else {
                format!(
                    "it names {} as written by the same transaction, not {}",
                    describe_links(&record.with),
                    describe_links(&want.into_iter().collect::<Vec<_>>())
                )
            };
            return Err(CollectionError::LinkedRecord {
                id: p.id,
                dir: p.log.dir.to_path_buf(),
                reason,
            });
        }
        let plan = log::plan_undo(p.log.store, record, force, p.log.disposable)?;
        labels.push(p.log.label(&plan));
        plans.push(plan);
    }
    let conflicts: Vec<Conflict> = plans
        .iter()
        .zip(parts.iter())
        .flat_map(|(plan, p)| {
            // Across roots, each path says which root it is in.
            let across = parts.len() > 1;
            plan.conflicts.iter().map(move |x| Conflict {
                path: if across {
                    format!("{}/{}", p.log.dir.display(), x.path)
                } else {
                    x.path.clone()
                },
                ..x.clone()
            })
        })
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(CollectionError::UndoConflict {
            id: parts[0].id,
            command: plans[0].record.command.clone(),
            conflicts,
        });
    }
    let changing: Vec<usize> = (0..parts.len())
        .filter(|&i| !plans[i].paths().is_empty())
        .collect();
    let mut records: Vec<Option<u64>> = vec![None; parts.len()];
    let mut across = None;
    if changing.len() == 1 {
        // One root changes: an ordinary transaction there (wal-spec.md promise 15).
        let i = changing[0];
        let p = &mut parts[i];
        let mut t = p.engine.begin(&labels[i])?;
        let mut w = Writer::new(p.log.store);
        let staged = log::stage_undo(&mut w, &mut t, &plans[i], &labels[i], &[])?;
        t.commit_durable()?;
        records[i] = staged.map(|r| r.id);
    } else if changing.len() > 1 {
        // The ids the undo's records will take, read before staging.
        let mut next_ids = Vec::with_capacity(changing.len());
        for &i in &changing {
            next_ids.push(log::next_id(parts[i].log.store)?);
        }
        let stores: Vec<&Store> = changing.iter().map(|&i| parts[i].log.store).collect();
        let dirs: Vec<PathBuf> = changing
            .iter()
            .map(|&i| parts[i].log.dir.to_path_buf())
            .collect();
        let kinds: Vec<bool> = changing.iter().map(|&i| parts[i].project).collect();
        let engines: Vec<&mut Engine> = parts
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| changing.contains(i))
            .map(|(_, p)| &mut *p.engine)
            .collect();
        let mut t = crate::engine::begin_across(engines, 0, &labels[changing[0]])?;
        for (k, &i) in changing.iter().enumerate() {
            let with: Vec<LogLink> = (0..changing.len())
                .filter(|j| *j != k)
                .map(|j| {
                    if kinds[j] {
                        LogLink::to_project(&dirs[k], &dirs[j], next_ids[j])
                    } else {
                        LogLink::between(&dirs[k], &dirs[j], next_ids[j])
                    }
                })
                .collect();
            let mut w = Writer::new(stores[k]);
            let staged = log::stage_undo(&mut w, t.part(k), &plans[i], &labels[i], &with)?;
            let id = staged.map(|r| r.id);
            if id != Some(next_ids[k]) {
                return Err(CollectionError::LinkedRecord {
                    id: parts_id(&plans[i]),
                    dir: dirs[k].clone(),
                    reason: "the undo's record took an unexpected id".into(),
                });
            }
            records[i] = id;
        }
        across = Some(t.global_id());
        t.commit()?;
    }
    let done = (0..parts.len())
        .map(|i| UndoneElsewhere {
            dir: parts[i].log.dir.display().to_string(),
            project: parts[i].project,
            undone: parts[i].id,
            undone_command: plans[i].record.command.clone(),
            record: records[i],
            paths: plans[i].paths().iter().map(|p| p.to_string()).collect(),
            unchanged: plans[i].unchanged.clone(),
            forced: plans[i].conflicts.clone(),
        })
        .collect();
    Ok((done, across))
}

/// The id of the record `plan` undoes.
fn parts_id(plan: &UndoPlan) -> u64 {
    plan.record.id
}
