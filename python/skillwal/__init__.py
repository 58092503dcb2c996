"""skillwal: crash-safe transactions over a directory tree, for Python programs.

A transaction stages writes, deletions and whole directory trees under a *root* directory,
then commits them with one journal sync: after any crash — a killed process or a power
cut — the next :func:`open` of the root finds every change made or none of them. The
engine is skillwal's own (the Rust crate), and so is its journal: the ``skillwal`` command
line tool and this package open the same roots. ``wal-spec.md`` is the long form.

    import skillwal

    with skillwal.open("collection") as root:      # recovers, then holds the lock
        with root.transaction("update hello") as t:
            t.write_tree("skills/hello", {"SKILL.md": b"# hello\\n"})
            t.write("collection.toml", manifest_bytes)
        # committed here: both changes, durable, or (on an exception) neither
"""

from dataclasses import dataclass
from typing import Union

from . import errors
from ._native import (
    CRASH_AFTER_ENV,
    Collection,
    Root,
    Transaction,
    deploy,
    inspect_journal,
    needs_recovery,
    open,
    open_collection,
    pull,
    undeploy,
)
from .errors import *  # noqa: F403 (the exceptions are part of the package's API)

__version__ = "0.1.0"


@dataclass(frozen=True)
class Link:
    """A symbolic link to ``target`` (never followed), as a value of
    :meth:`Transaction.write_tree`'s ``files``."""

    target: Union[str, bytes]


__all__ = [
    "open",
    "open_collection",
    "Collection",
    "deploy",
    "undeploy",
    "pull",
    "Root",
    "Transaction",
    "Link",
    "inspect_journal",
    "needs_recovery",
    "CRASH_AFTER_ENV",
    *errors.__all__,
]
