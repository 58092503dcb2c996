use super::*;

/// What went wrong with a collection operation. Every variant names the path or artifact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectionError {
    /// The engine failed (opening, a transaction, recovery); its error says whether the
    /// change may have been applied.
    #[error(transparent)]
    Engine(#[from] crate::Error),
    /// The manifest, the lock or a hash could not be read or parsed.
    #[error(transparent)]
    Format(#[from] crate::skillmeat::Error),
    /// A source could not be fetched or listed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The home directory or its `config.toml` failed.
    #[error(transparent)]
    Home(#[from] crate::skillmeat::home::HomeError),
    /// The store (snapshots, bases, objects) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// One of the Python tool's snapshots could not be listed or extracted.
    #[error(transparent)]
    PySnapshot(#[from] self::py_snapshot::PySnapshotError),
    /// A tarball of the Python tool's holds no collection.
    #[error("{} holds no {MANIFEST_FILE_NAME}: it is not a snapshot of a collection", tarball.display())]
    NotACollectionSnapshot {
        /// The tarball.
        tarball: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A change was asked of a collection opened with [`Collection::open_read_only`].
    #[error("{} was opened read-only (it cannot be written); nothing can be changed there", dir.display())]
    ReadOnly {
        /// The collection's directory.
        dir: PathBuf,
    },
    /// The directory holds no manifest (and no journal to recover one from).
    #[error("{} is not a SkillMeat collection (no {MANIFEST_FILE_NAME})", dir.display())]
    NotACollection {
        /// The directory.
        dir: PathBuf,
    },
    /// `init` of a directory that already holds a manifest.
    #[error("a collection already exists at {}", dir.display())]
    CollectionExists {
        /// The directory.
        dir: PathBuf,
    },
    /// An artifact name SkillMeat would refuse or that would leave its type directory.
    #[error("invalid artifact name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Which rule it breaks.
        reason: crate::skillmeat::NameError,
    },
    /// `add` of a name the manifest already has for that type.
    #[error("{ty} {name} is already in the collection")]
    AlreadyExists {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
    },
    /// `add` of an artifact whose storage path exists without a manifest entry.
    #[error("{} already exists but {name} is not in the manifest; move it away", path.display())]
    Occupied {
        /// The artifact's name.
        name: String,
        /// What is in the way.
        path: PathBuf,
    },
    /// An artifact's storage path is a symbolic link.
    #[error("{} is a symbolic link, not the files of {ty} {name}; skillwal never follows or removes a link in a collection: remove the link yourself", path.display())]
    LinkedStorage {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// The link.
        path: PathBuf,
    },
    /// No artifact has that name (of that type).
    #[error("no artifact named {name:?}{} in the collection", ty.map(|t| format!(" of type {t}")).unwrap_or_default())]
    NotFound {
        /// The name looked for.
        name: String,
        /// The type asked for, if any.
        ty: Option<ArtifactType>,
    },
    /// The artifact's files hold entries that a copy leaves out (ignored names such as
    /// `.git/`): copying or moving it would lose them. Nothing was changed.
    #[error(
        "the files of {ty} {name} hold entries a copy leaves out ({}): moving or copying it would lose them; move them out of {} first",
        entries.join(", "),
        path.display()
    )]
    WouldLeaveOut {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// Its files' path.
        path: PathBuf,
        /// The entries left out (ignored names such as `.git/`).
        entries: Vec<String>,
    },

    /// A name without a type matches artifacts of several types.
    #[error("{name:?} names more than one artifact ({})", types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The name.
        name: String,
        /// The types it has.
        types: Vec<ArtifactType>,
    },
    /// The manifest lists an artifact whose files are not there.
    #[error("the files of {ty} {name} are missing ({}); restore them", path.display())]
    FilesMissing {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// Where its files should be.
        path: PathBuf,
    },
    /// `update` of an artifact with no source skillwal knows.
    #[error(
        "{ty} {name} has no source skillwal can update from (origin {origin}; skillwal's source fields are not in its manifest entry, skillwal's store holds no source reference for this artifact as added at that time, and it has no GitHub upstream: the Python tool added it, or re-added it under this name); remove it and add it again from its source with skillwal"
    )]
    NoSource {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// Its manifest `origin`.
        origin: String,
    },
    /// A source file changed between its listing and its copy (size, kind, or gone);
    /// nothing was committed.
    #[error("{} changed while it was being copied; try again", path.display())]
    SourceChanged {
        /// The source file.
        path: PathBuf,
    },
    /// An artifact's front matter could not be read as SkillMeat reads it.
    #[error("{}: {source}", path.display())]
    FrontMatter {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: frontmatter::FrontMatterError,
    },
    /// [`Strategy::Prompt`] met local modifications and no terminal to ask; nothing changed.
    #[error("local modifications in {}, and no terminal to ask whether to overwrite or keep them", names.join(", "))]
    PromptWithoutTerminal {
        /// The artifacts with local modifications (`<type> <name>`).
        names: Vec<String>,
    },
    /// A snapshot id that is not a number.
    #[error("snapshot ids are numbers; {id:?} is not one")]
    BadSnapshotId {
        /// The id as given.
        id: String,
    },
    /// A three-way merge or diff failed.
    #[error(transparent)]
    ThreeWay(#[from] super::threeway::ThreeWayError),
    /// A merge was asked for an artifact with no recorded base.
    #[error(
        "{ty} {name} has local modifications and no recorded base to merge them with (it was added before skillwal kept bases, or its lock entry was changed by another tool)"
    )]
    NoBase {
        /// The artifact's name.
        name: String,
        /// Its type.
        ty: ArtifactType,
    },
    /// `gc` stopped before deleting anything: a snapshot's lock names bases it cannot read.
    #[error(
        "gc deleted nothing: the collection.lock of snapshot {id} cannot be read or parsed ({reason}); a rollback to that snapshot would need the bases it names"
    )]
    SnapshotLock {
        /// The snapshot.
        id: u64,
        /// Why its lock cannot be used.
        reason: String,
    },
    /// A project directory that cannot be deployed into (missing, a file, a profile root
    /// that is a link).
    #[error("{}: {reason}", dir.display())]
    BadProject {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// The Python tool held its lock for longer than it would wait itself.
    #[error("{} is locked by a skillmeat process (waited {}s); nothing was changed: try again when it is done", lock.display(), waited.as_secs())]
    PythonLocked {
        /// The lock file.
        lock: PathBuf,
        /// How long skillwal waited.
        waited: std::time::Duration,
    },
    /// Deploying would overwrite changes made in the project.
    #[error("local changes in the project would be overwritten, so nothing was deployed: {}; use --overwrite to replace them (they are not kept)", changed.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("; "))]
    LocalChanges {
        /// Each deployment with changes, and its files.
        changed: Vec<super::deploy::Changed>,
    },
    /// An artifact is not deployed in the project.
    #[error("{name} is not deployed in {}{}", project.display(), if deployed.is_empty() { " (nothing is)".to_string() } else { format!(" (deployed there: {})", deployed.join(", ")) })]
    NotDeployed {
        /// The name asked for.
        name: String,
        /// The project.
        project: PathBuf,
        /// What is deployed there, as `name` (`type`).
        deployed: Vec<String>,
    },
    /// A profile that does not take the artifact's type.
    #[error("the {profile} profile does not take {ty}s ({name})")]
    ProfileRefuses {
        /// The profile's id.
        profile: String,
        /// The type.
        ty: ArtifactType,
        /// The artifact.
        name: String,
    },
    /// `pull` met a collection copy changed since the deploy, as the project's was.
    #[error("{ty} {name} changed in the collection too since it was deployed to {}: pulling would lose the collection's changes, so nothing was changed; use --overwrite to replace them (the operation log's record keeps them)", path.display())]
    PullConflict {
        /// The artifact.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// The project copy.
        path: PathBuf,
    },
    /// `deploy --merge` found no base: the version deployed is not kept in the collection's
    /// store (`gc` dropped it, or it was deployed by another tool from another version).
    #[error("{ty} {name} has local changes in {}, and the version deployed there is not kept in the collection's store, so there is no base to merge with: nothing was changed; use --overwrite (they are lost) or keep them", path.display())]
    NoDeployedBase {
        /// The artifact.
        name: String,
        /// Its type.
        ty: ArtifactType,
        /// The project copy.
        path: PathBuf,
    },
    /// `show`, `undo` of a record the log does not hold.
    #[error("no record {id} in the operation log{}", match newest { Some(n) => format!(" (its newest is {n}; `skillwal log` lists them, with `--project DIR` a project's)"), None => " (it is empty)".into() })]
    NotInLog {
        /// The id asked for.
        id: u64,
        /// The newest record's id, if any.
        newest: Option<u64>,
    },
    /// `undo` with no change in effect in the log.
    #[error("nothing to undo: the operation log holds no change that is not undone already")]
    NothingToUndo,
    /// `redo` with no undo to reverse.
    #[error("nothing to redo: {}", match after { Some(id) => format!("no undo is in effect since record {id}, a change (an undo can be redone until the next change)"), None => "the operation log holds no undo in effect".into() })]
    NothingToRedo {
        /// The change found first, if any.
        after: Option<u64>,
    },
    /// `undo` of a record some of whose paths changed since.
    #[error("undo of {id} ({command}) would overwrite {} changed since: {}; nothing was changed; use --force to overwrite them (the undo's own record keeps what they hold)", if conflicts.len() == 1 { "1 path".to_string() } else { format!("{} paths", conflicts.len()) }, conflicts.iter().map(|c| format!("{} (now {}, not what {id} left)", c.path, c.found)).collect::<Vec<_>>().join(", "))]
    UndoConflict {
        /// The record.
        id: u64,
        /// Its command.
        command: String,
        /// The paths changed since.
        conflicts: Vec<crate::store::log::Conflict>,
    },
    /// An undo of a record written by a transaction across collections (a move) that cannot
    /// be done as one: the records do not name each other, or the undo was asked of one
    /// collection alone.
    #[error("record {id} of {} cannot be undone here: {reason}; nothing was changed", dir.display())]
    LinkedRecord {
        /// The record.
        id: u64,
        /// Its collection.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A profile id skillwal does not know.
    #[error("unknown profile {id:?} (known: {known})")]
    UnknownProfile {
        /// The id given.
        id: String,
        /// The known ids.
        known: String,
    },
}

impl CollectionError {
    /// Whether the failed operation may have changed anything. Only the engine's commit can
    /// (see [`crate::Error::effect`]); every other failure happens before it, or is reported
    /// by the engine as such.
    pub fn effect(&self) -> crate::error::Effect {
        match self {
            CollectionError::Engine(e) => e.effect(),
            CollectionError::Store(e) => e.effect(),
            CollectionError::ThreeWay(e) => e.effect(),
            _ => crate::error::Effect::Unchanged,
        }
    }
}

/// The result of a collection operation.
pub type Result<T, E = CollectionError> = std::result::Result<T, E>;

pub(super) fn io<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CollectionError + 'a {
    move |source| CollectionError::Io(IoError::new(op, path, source))
}
