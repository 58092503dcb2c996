"""Type stubs of the compiled half of the package (python/src/)."""

__all__ = [
    "CRASH_AFTER_ENV",
    "Collection",
    "Root",
    "Transaction",
    "deploy",
    "inspect_journal",
    "needs_recovery",
    "open",
    "open_collection",
    "pull",
    "undeploy",
]

import os
from types import TracebackType
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Protocol, Tuple, Type, Union, final

from . import Link

#: What a file's content may be: the bytes (``str`` as UTF-8), a path to copy from, or a
#: binary file object, streamed (never read whole into memory).
class _Reader(Protocol):
    """A binary file object: ``read(n)`` returns at most ``n`` bytes, ``b""`` at the end."""

    def read(self, n: int, /) -> bytes: ...

_Content = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", _Reader]
#: A value of ``write_tree``'s ``files``: a content, a ``(content, mode)`` pair, a
#: ``Link``; or, for a key ending in ``/`` (a directory), its mode or ``None``.
_TreeValue = Union[_Content, Tuple[_Content, int], Link, int, None]

#: The environment variable that makes the process kill itself (SIGKILL) right after its
#: N-th mutating file-system call through skillwal: crash tests of programs built on it.
CRASH_AFTER_ENV: str

def open(
    root: Union[str, "os.PathLike[str]"], *, wait: bool = True, collection: bool = False
) -> Root:
    """Opens ``root``, recovering first whatever a crash interrupted there, and holds its
    lock until the root is closed. ``wait=False``: ``LockedError`` at once when another
    process holds it. ``collection=True``: ``root`` is a SkillMeat collection, its engine
    directory where skillwal's CLI keeps it (beside the collection), one journal for both."""

def inspect_journal(
    root: Union[str, "os.PathLike[str]"], *, collection: bool = False
) -> Dict[str, Any]:
    """The root's journal decoded (``skillwal journal inspect --json``); read only."""

def needs_recovery(
    root: Union[str, "os.PathLike[str]"], *, collection: bool = False
) -> bool:
    """Whether the next ``open`` of ``root`` will roll a transaction forward or back."""

def open_collection(
    path: Union[str, "os.PathLike[str]", None] = None,
    *,
    home: Union[str, "os.PathLike[str]", None] = None,
    name: Optional[str] = None,
    wait: bool = True,
) -> Collection:
    """Opens a SkillMeat collection for its operations (each one journaled transaction with
    a record in its log, as the CLI's): ``path``, or collection ``name`` (default: the
    active one) of the home ``home`` (default: ``$SKILLWAL_HOME``, else ``~/.skillmeat``)."""

def deploy(
    project: Union[str, "os.PathLike[str]"],
    names: Sequence[str],
    *,
    collection: Union[str, "os.PathLike[str]", None] = None,
    home: Union[str, "os.PathLike[str]", None] = None,
    collection_name: Optional[str] = None,
    type: Optional[str] = None,
    profiles: Optional[Sequence[str]] = None,
    overwrite: bool = False,
    merge: bool = False,
    wait: bool = True,
) -> Dict[str, Any]:
    """Deploys ``names`` into ``project`` (``skillwal deploy``): one transaction in the
    project, recorded in its log. A project copy changed there is refused
    (``CollectionError``, kind ``LocalChanges``) unless ``overwrite`` or ``merge``."""

def undeploy(
    project: Union[str, "os.PathLike[str]"],
    names: Sequence[str],
    *,
    type: Optional[str] = None,
    profile: Optional[str] = None,
    wait: bool = True,
) -> Dict[str, Any]:
    """Removes deployed artifacts from ``project`` (``skillwal undeploy``): one transaction
    in the project, recorded in its log."""

def pull(
    project: Union[str, "os.PathLike[str]"],
    name: str,
    *,
    collection: Union[str, "os.PathLike[str]", None] = None,
    home: Union[str, "os.PathLike[str]", None] = None,
    collection_name: Optional[str] = None,
    type: Optional[str] = None,
    profile: Optional[str] = None,
    overwrite: bool = False,
    wait: bool = True,
) -> Dict[str, Any]:
    """Brings the project copy of ``name`` back into the collection (``skillwal pull``):
    one transaction across both, recorded in both logs."""

@final
class Collection:
    """An open SkillMeat collection, holding its lock. A context manager. Results are the
    dicts and lists ``skillwal ... --json`` prints (docs/json.md)."""

    @property
    def path(self) -> "os.PathLike[str]": ...
    @property
    def recovery(self) -> Dict[str, Any]: ...
    @property
    def closed(self) -> bool: ...
    def status(self) -> List[Dict[str, Any]]: ...
    def verify(self) -> Dict[str, Any]: ...
    def add(
        self,
        source: Union[str, "os.PathLike[str]"],
        type: Literal["skill", "command", "agent"],
        *,
        name: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Adds the artifact at ``source`` (a local path, or a GitHub spec); returns its
        lock entry."""
    def update(
        self,
        names: Sequence[str],
        *,
        strategy: Literal["upstream", "local", "merge"] = "upstream",
        type: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Updates ``names`` from their sources in one transaction: ``{"outcomes",
        "record"}``."""
    def remove(
        self, name: str, *, type: Optional[str] = None, keep_files: bool = False
    ) -> Optional[Dict[str, Any]]: ...
    def snapshot(self, message: str) -> Dict[str, Any]: ...
    def snapshots(self) -> List[Dict[str, Any]]: ...
    def rollback(self, id: int) -> Dict[str, Any]: ...
    def log(
        self, *, limit: Optional[int] = None, name: Optional[str] = None, type: Optional[str] = None
    ) -> List[Dict[str, Any]]: ...
    def undo(self, txn: Optional[int] = None, *, force: bool = False) -> Dict[str, Any]:
        """Undoes record ``txn`` (default: the last change in effect); ``ConflictError``
        when a path changed since, unless ``force``."""
    def redo(self, *, force: bool = False) -> Dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Collection: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

@final
class Root:
    """An open root, holding its lock. A context manager: leaving the block closes it."""

    @property
    def path(self) -> "os.PathLike[str]":
        """The root's directory, absolute."""
    @property
    def recovery(self) -> Dict[str, Any]:
        """What the open's recovery did: ``{"outcome": "nothing" | "rolled-back" |
        "rolled-forward", ...}``."""
    @property
    def closed(self) -> bool: ...
    def transaction(self, label: str, *, durable: bool = True) -> Transaction:
        """Begins a transaction (one at a time per root). ``durable=True``: ``commit``
        returns once every change is durable in place; ``False``: once it is durable in
        the journal (a crash is rolled forward), the checkpoint shared with later ones."""
    def checkpoint(self) -> None:
        """Makes every committed transaction durable in place; retires the journal."""
    def close(self) -> None:
        """Aborts an open transaction, checkpoints, releases the lock. Idempotent."""
    def __enter__(self) -> Root: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

@final
class Transaction:
    """Changes staged on a root; nothing outside ``.skillwal/`` changes until ``commit``.
    A context manager: leaving the block commits, an exception aborts."""

    @property
    def label(self) -> str: ...
    @property
    def state(self) -> Literal["open", "committed", "aborted", "failed"]: ...
    @property
    def result(self) -> Optional[Dict[str, int]]:
        """After a commit: ``{"txn_id", "operations", "journal_bytes"}``."""
    def write(self, path: str, content: _Content, *, mode: int = 0o644) -> None:
        """Stages the file ``path`` (created or replaced atomically) with ``content`` and
        exactly the permission bits ``mode``."""
    def write_tree(
        self, path: str, files: Mapping[str, _TreeValue], *, mode: int = 0o755
    ) -> None:
        """Stages the directory tree ``files`` at ``path``, replacing whatever is there in
        one atomic step."""
    def delete(self, path: str) -> None:
        """Stages deleting a file, a link, or a directory with everything in it."""
    def mkdir(self, path: str, *, mode: int = 0o755) -> None:
        """Stages making the directory ``path``, which must not exist."""
    def symlink(self, path: str, target: Union[str, "os.PathLike[str]"]) -> None:
        """Stages a symbolic link at ``path`` pointing to ``target``."""
    def commit(self) -> None:
        """Commits. ``CommitUncertainError``: failed at or after the commit point (the
        next ``open`` settles it); any other error: nothing changed."""
    def abort(self) -> None:
        """Aborts: nothing staged is applied."""
    def __enter__(self) -> Transaction: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
