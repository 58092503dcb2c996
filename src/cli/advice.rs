//! What the CLI adds to the library's errors: the commands and flags that get the user out
//! (the library's messages describe the situation and never name a flag), and whether the
//! failed command may have changed anything, read from the errors' typed [`Effect`].

use skillwal::error::Effect;
use skillwal::skillmeat::collection::CollectionError;
use skillwal::skillmeat::home::HomeError;
use skillwal::skillmeat::threeway::ThreeWayError;
use skillwal::store::StoreError;
use std::error::Error as StdError;

/// A CLI message that already says that nothing was changed, so the note is not repeated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SaysUnchanged(pub String);

/// An artifact that is not in the collection, and the names close to it (did you mean…?).
/// The library's [`CollectionError::NotFound`] is kept whole, not as a cause: this error's
/// message says all of it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct NotFoundNear {
    pub error: CollectionError,
    pub near: Vec<String>,
}

/// Whether the command that failed with `e` may have changed anything: [`Effect::MaybeApplied`]
/// as soon as one error in the chain says so.
pub fn effect(e: &anyhow::Error) -> Effect {
    let maybe = e.chain().any(|c| {
        let effect = if let Some(x) = c.downcast_ref::<skillwal::Error>() {
            x.effect()
        } else if let Some(x) = c.downcast_ref::<CollectionError>() {
            x.effect()
        } else if let Some(x) = c.downcast_ref::<StoreError>() {
            x.effect()
        } else if let Some(x) = c.downcast_ref::<ThreeWayError>() {
            x.effect()
        } else {
            Effect::Unchanged
        };
        effect == Effect::MaybeApplied
    });
    if maybe {
        Effect::MaybeApplied
    } else {
        Effect::Unchanged
    }
}

/// A CLI message that says what a failed command left behind, so that it is not followed
/// by "Nothing was changed.".
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LeftBehind(pub String);

/// Whether the message of `e` says on its own what was changed (nothing, or what was left
/// behind).
pub fn says_unchanged(e: &anyhow::Error) -> bool {
    // Through anyhow's downcast, which sees a context attached at any level (the causes
    // `chain()` yields are anyhow's own wrappers of it, never these types).
    e.downcast_ref::<SaysUnchanged>().is_some() || e.downcast_ref::<LeftBehind>().is_some()
}

/// `cause`'s message with what to do next in CLI terms, or `None` when the library's own
/// text is all there is to say.
pub fn text(cause: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<NotFoundNear>() {
        let suggestion = super::suggest::did_you_mean(&e.near).unwrap_or_default();
        Some(format!(
            "{}; {suggestion} (`skillwal list` shows what there is)",
            e.error
        ))
    } else if let Some(e) = cause.downcast_ref::<CollectionError>() {
        collection(e)
    } else if let Some(e) = cause.downcast_ref::<skillwal::Error>() {
        engine(e)
    } else if let Some(e) = cause.downcast_ref::<StoreError>() {
        store(e)
    } else if let Some(e) = cause.downcast_ref::<ThreeWayError>() {
        three_way(e)
    } else if let Some(e) = cause.downcast_ref::<HomeError>() {
        home(e)
    } else {
        None
    }
}

/// The command line that selects the collection this process works on (`skillwal`, or
/// `skillwal --collection-dir DIR`, ...), so that advice to run a command acts on that
/// collection and not the default one.
static COMMAND: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the command line advice names (once, when the arguments are known).
pub fn set_command(command: String) {
    let _ = COMMAND.set(command);
}

fn command() -> &'static str {
    COMMAND.get().map_or("skillwal", String::as_str)
}

fn engine(e: &skillwal::Error) -> Option<String> {
    let c = command();
    match e {
        skillwal::Error::CorruptJournal { .. } => Some(format!(
            "{e}. Run `{c} journal inspect` to see what it holds; if the collection's files are as you want them, `{c} recover --discard` drops the journal"
        )),
        skillwal::Error::RecoveryConflict { .. } => Some(format!(
            "{e}. Inspect with `{c} journal inspect`; once the files are as you want them, `{c} recover --discard` drops the journal"
        )),
        skillwal::Error::InDoubt { coordinator, .. } => Some(format!(
            "{e}. Put that root back at {} (or mount it) and run `{c} recover`; if it is gone for good, `{c} recover --discard` drops this root's part, which was never applied here",
            coordinator.display()
        )),
        _ => None,
    }
}

fn store(e: &StoreError) -> Option<String> {
    match e {
        StoreError::Engine(e) => engine(e),
        StoreError::UnknownSnapshot { .. } => {
            Some(format!("{e}; `skillwal snapshot list` shows what there is"))
        }
        _ => None,
    }
}

fn three_way(e: &ThreeWayError) -> Option<String> {
    match e {
        ThreeWayError::Store(e) => store(e),
        ThreeWayError::Engine(e) => engine(e),
        ThreeWayError::Unmergeable { .. } => {
            Some(format!("{e}; choose --strategy upstream or local"))
        }
        _ => None,
    }
}

fn home(e: &HomeError) -> Option<String> {
    match e {
        HomeError::NoHome => Some(format!(
            "no home directory: pass --home, or set {} or HOME",
            skillwal::skillmeat::home::HOME_ENV
        )),
        _ => None,
    }
}

fn collection(e: &CollectionError) -> Option<String> {
    use CollectionError as C;
    Some(match e {
        C::Engine(e) => return engine(e),
        C::Store(e) => return store(e),
        C::ThreeWay(e) => return three_way(e),
        C::Home(e) => return home(e),
        C::NotACollection { .. } => format!("{e}; create one with `skillwal init`"),
        C::AlreadyExists { name, .. } => format!(
            "{e}; `skillwal update {name}` refreshes it, `skillwal remove {name}` removes it"
        ),
        C::Occupied { .. } => format!("{e} or choose another --name"),
        C::LinkedStorage { .. } => {
            format!("{e}, or use --keep-files to only forget the artifact")
        }
        C::NotFound { .. } => format!("{e}; `skillwal list` shows what there is"),
        C::Ambiguous { .. } => format!("{e}; add --type"),
        C::FilesMissing { name, .. } => format!("{e}, or `skillwal remove {name}`"),
        C::PromptWithoutTerminal { names } => format!(
            "local modifications in {}; choose --strategy upstream (overwrite them) or --strategy local (keep them): there is no terminal to ask",
            names.join(", ")
        ),
        C::BadSnapshotId { .. } => format!("{e} (`skillwal snapshot list` shows them)"),
        C::NoBase { .. } => format!("{e}; choose --strategy upstream or --strategy local"),
        C::SnapshotLock { id, .. } => format!(
            "{e}. If that snapshot is not needed, `skillwal snapshot delete {id}` and run gc again"
        ),
        _ => return None,
    })
}

/// The error and its causes, each cause once: library errors already name their cause in
/// their own text, so a cause whose text is already there is not repeated.
pub fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = text(cause).unwrap_or_else(|| cause.to_string());
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

/// Whether `cause` is a TOML document that does not parse or does not fit the schema.
fn is_format_error(cause: &(dyn StdError + 'static)) -> bool {
    use skillwal::skillmeat::Error as FormatError;
    let format =
        |e: &FormatError| matches!(e, FormatError::Syntax { .. } | FormatError::Schema { .. });
    match (
        cause.downcast_ref::<CollectionError>(),
        cause.downcast_ref::<HomeError>(),
        cause.downcast_ref::<FormatError>(),
    ) {
        (Some(CollectionError::Format(e)), _, _) | (_, Some(HomeError::Format(e)), _) => format(e),
        (_, _, Some(e)) => format(e),
        _ => false,
    }
}

/// The OS error number of `cause`, when it is an I/O error.
fn errno_of(cause: &(dyn StdError + 'static)) -> Option<i32> {
    cause
        .downcast_ref::<std::io::Error>()
        .and_then(|e| e.raw_os_error())
        .or_else(|| {
            cause
                .downcast_ref::<skillwal::error::IoError>()
                .and_then(|e| e.raw_os_error())
        })
        .or_else(|| {
            cause
                .downcast_ref::<skillwal::Error>()
                .and_then(|e| e.raw_os_error())
        })
        .or_else(|| match cause.downcast_ref::<CollectionError>() {
            Some(CollectionError::Engine(e)) => e.raw_os_error(),
            Some(CollectionError::Io(e)) => e.raw_os_error(),
            _ => None,
        })
}

/// What to do next, for the errors whose own text does not say it.
pub fn hint(e: &anyhow::Error) -> Option<&'static str> {
    use rustix::io::Errno;
    if super::exit::is_locked(e) {
        return Some(
            "Wait for that process to finish, or run the command again without --no-wait to wait for it.",
        );
    }
    for cause in e.chain() {
        if is_format_error(cause) {
            return Some(
                "Fix the file at that line and column (or restore it), then run the command again.",
            );
        }
        if let Some(CollectionError::InvalidName { .. }) = cause.downcast_ref::<CollectionError>() {
            return Some("Choose another name with --name.");
        }
        if let Some(HomeError::InvalidName { .. }) = cause.downcast_ref::<HomeError>() {
            return Some(
                "Choose another collection name (-c or --name; with --collection-dir, --name or another directory).",
            );
        }
        match errno_of(cause).map(Errno::from_raw_os_error) {
            Some(Errno::NOSPC | Errno::DQUOT) => {
                return Some("Free some space on that file system, then run the command again.");
            }
            Some(Errno::ROFS | Errno::ACCESS | Errno::PERM) => {
                return Some(
                    "Make the collection writable for this user, then run the command again.",
                );
            }
            _ => {}
        }
    }
    None
}
