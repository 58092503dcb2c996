"""The exceptions skillwal raises.

Every one is a :class:`SkillwalError` and says, in :attr:`SkillwalError.may_have_changed`,
whether the failed call may have changed anything a user can see. Only
:class:`CommitUncertainError` may have: the change passed its commit point, or may have,
and the next :func:`skillwal.open` of the root completes it or rolls it back. After any other
error, nothing outside the root's ``.skillwal/`` directory was changed.
"""

from typing import List, Optional

__all__ = [
    "SkillwalError",
    "LockedError",
    "JournalDamagedError",
    "JournalVersionError",
    "CommitUncertainError",
    "ConflictError",
    "InDoubtError",
    "RejectedError",
    "InvalidPathError",
    "LimitError",
    "EngineStoppedError",
    "StateError",
    "FileSystemError",
    "CollectionError",
    "NotFoundError",
    "InvalidArgumentError",
]


class SkillwalError(Exception):
    """A skillwal call failed. The message says what failed, on which path, and why."""

    #: Whether the failed call may have changed what a user sees (only a commit can).
    may_have_changed: bool = False

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        for name, value in details.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return self.message


class LockedError(SkillwalError):
    """Another process holds the root (``wait=False`` was given). Nothing was changed."""

    #: The locked root.
    root: str
    #: The process id of the holder, when its lock file says it.
    pid: Optional[int]
    #: What the lock file says of its holder, as written (``"pid 1234"``), if anything.
    holder: Optional[str]


class JournalDamagedError(SkillwalError):
    """The root's journal cannot be trusted. Nothing was changed; the journal is kept."""

    #: The journal file.
    journal: str
    #: Where the damage is: the start of the record that does not read (0 for the header).
    offset: int
    #: That record's index in its transaction, when one record is to blame.
    record: Optional[int]


class JournalVersionError(JournalDamagedError):
    """The journal was written in a format this build does not read. It is kept."""

    #: The format version found.
    found: int
    #: The newest version this build reads.
    supported: int


class CommitUncertainError(SkillwalError):
    """The commit failed at or after its commit point: the change may have been applied.

    The next :func:`skillwal.open` of the root completes it or rolls it back from the
    journal. The open root is unusable until then (:class:`EngineStoppedError`).
    """

    may_have_changed = True
    #: The root.
    root: str


class ConflictError(SkillwalError):
    """Paths changed in a way the operation cannot explain; nothing was overwritten.

    Raised by :func:`skillwal.open` when recovery of an interrupted transaction finds its
    targets changed since it committed, and by collection operations that refuse to
    overwrite changes (an undo whose paths changed since).
    """

    #: One line per path that changed.
    conflicts: List[str]


class InDoubtError(SkillwalError):
    """The root holds its part of a transaction across several roots whose deciding root
    cannot be found, so whether it committed is not known here. Nothing was changed."""


class RejectedError(SkillwalError, ValueError):
    """A staged operation does not fit the tree as it is, or another operation of the same
    transaction. It was refused before anything was staged: the transaction goes on
    without it (leaving the ``with`` block by this exception aborts it all)."""

    #: The operation (``"put-file"``, ``"delete-tree"``, …).
    op: str
    #: Its path, relative to the root.
    path: str
    #: Why it was refused.
    reason: str


class InvalidPathError(SkillwalError, ValueError):
    """A path is not a valid relative, ``/``-separated path inside the root."""

    #: The path as given.
    path: str
    #: Which rule it breaks.
    reason: str


class LimitError(SkillwalError):
    """A bound on sizes or counts (``src/limits.rs``) was reached."""

    #: The bound.
    what: str
    #: Its value.
    limit: int


class EngineStoppedError(SkillwalError):
    """An earlier durability failure made this open root unusable; open it again to
    recover."""


class StateError(SkillwalError, RuntimeError):
    """The object is not in a state that allows the call: a transaction that has ended, a
    root that is closed, a second transaction while one is open."""


class FileSystemError(SkillwalError, OSError):
    """A file-system call failed: :attr:`op` on :attr:`path`, with the OS's :attr:`errno`."""

    #: The operation, in words (``"open"``, ``"fsync directory"``, …).
    op: str
    #: The path it was done to.
    path: str

    def __init__(self, message: str, **details: object) -> None:
        errno = details.get("errno")
        OSError.__init__(self, errno, message, details.get("path"))
        self.message = message
        for name, value in details.items():
            setattr(self, name, value)


class CollectionError(SkillwalError):
    """A collection operation refused or failed (an artifact that already exists, a source
    that cannot be fetched, nothing to undo, ...); the message says which and why."""

    #: The error's name in the library (``"AlreadyExists"``, ``"Source"``, ...).
    kind: str


class NotFoundError(CollectionError, LookupError):
    """No artifact of that name (and type) is in the collection."""


class InvalidArgumentError(SkillwalError, ValueError):
    """An argument that is not one of those allowed (an artifact type, a strategy)."""
