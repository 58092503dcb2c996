use super::*;

/// What went wrong with a collection operation. Every variant names the path or artifact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectionError {
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error(transparent)]
    Format(#[from] crate::skillmeat::Error),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Home(#[from] crate::skillmeat::home::HomeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    PySnapshot(#[from] self::py_snapshot::PySnapshotError),
    #[error("{} holds no {MANIFEST_FILE_NAME}: it is not a snapshot of a collection", tarball.display())]
    NotACollectionSnapshot { tarball: PathBuf },
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{} was opened read-only (it cannot be written); nothing can be changed there", dir.display())]
    ReadOnly { dir: PathBuf },
    #[error("{} is not a SkillMeat collection (no {MANIFEST_FILE_NAME})", dir.display())]
    NotACollection { dir: PathBuf },
    #[error("a collection already exists at {}", dir.display())]
    CollectionExists { dir: PathBuf },
    #[error("invalid artifact name {name:?}: {reason}")]
    InvalidName {
        name: String,
        reason: crate::skillmeat::NameError,
    },
    #[error("{ty} {name} is already in the collection")]
    AlreadyExists { name: String, ty: ArtifactType },
    #[error("{} already exists but {name} is not in the manifest; move it away", path.display())]
    Occupied { name: String, path: PathBuf },
    #[error("{} is a symbolic link, not the files of {ty} {name}; skillwal never follows or removes a link in a collection: remove the link yourself", path.display())]
    LinkedStorage {
        name: String,
        ty: ArtifactType,
        path: PathBuf,
    },
    #[error("no artifact named {name:?}{} in the collection", ty.map(|t| format!(" of type {t}")).unwrap_or_default())]
    NotFound {
        name: String,
        ty: Option<ArtifactType>,
    },
    #[error("{name:?} names more than one artifact ({})", types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        name: String,
        types: Vec<ArtifactType>,
    },
    #[error("the files of {ty} {name} are missing ({}); restore them", path.display())]
    FilesMissing {
        name: String,
        ty: ArtifactType,
        path: PathBuf,
    },
    #[error(
        "{ty} {name} has no source skillwal can update from (origin {origin}; skillwal's source fields are not in its manifest entry, skillwal's store holds no source reference for this artifact as added at that time, and it has no GitHub upstream: the Python tool added it, or re-added it under this name); remove it and add it again from its source with skillwal"
    )]
    NoSource {
        name: String,
        ty: ArtifactType,
        origin: String,
    },
    #[error("{} changed while it was being copied; try again", path.display())]
    SourceChanged { path: PathBuf },
    #[error("{}: {source}", path.display())]
    FrontMatter {
        path: PathBuf,
        source: frontmatter::FrontMatterError,
    },
    #[error("local modifications in {}, and no terminal to ask whether to overwrite or keep them", names.join(", "))]
    PromptWithoutTerminal { names: Vec<String> },
    #[error("snapshot ids are numbers; {id:?} is not one")]
    BadSnapshotId { id: String },
    #[error(transparent)]
    ThreeWay(#[from] super::threeway::ThreeWayError),
    #[error(
        "{ty} {name} has local modifications and no recorded base to merge them with (it was added before skillwal kept bases, or its lock entry was changed by another tool)"
    )]
    NoBase { name: String, ty: ArtifactType },
    #[error(
        "gc deleted nothing: the collection.lock of snapshot {id} cannot be read or parsed ({reason}); a rollback to that snapshot would need the bases it names"
    )]
    SnapshotLock { id: u64, reason: String },
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

pub type Result<T, E = CollectionError> = std::result::Result<T, E>;

pub(super) fn io<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CollectionError + 'a {
    move |source| CollectionError::Io(IoError::new(op, path, source))
}
