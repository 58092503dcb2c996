"""What the tests share: the oracle of a tree's state, and running a child Python."""

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

#: Per path (relative, `/`-separated, the engine's `.skillwal/` left out): its kind, its
#: permission bits, and its bytes (a file) or its target (a link). Everything a user sees.
TreeState = Dict[str, Tuple[str, int, Optional[bytes]]]


def tree_state(root: Path) -> TreeState:
    out: TreeState = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".skillwal"]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            st = os.lstat(full)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", mode, os.fsencode(os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, None)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    out[rel] = ("file", mode, f.read())
            else:
                out[rel] = ("other", mode, None)
        # os.walk does not descend into links to directories: nothing to do for them.
    return out


def run_python(code: str, env_extra: Optional[Dict[str, str]] = None, timeout: float = 60):
    """Runs `code` in a child of this interpreter (so it imports the same skillwal)."""
    env = dict(os.environ)
    for k in ("SKILLWAL_CRASH_AFTER", "SKILLWAL_FAIL_AT", "SKILLWAL_SKIP_SYNC"):
        env.pop(k, None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Runs the `skillwal` binary (`SKILLWAL_BIN`, which check.sh sets to the release
    build) with `args`, `env` added to the environment."""
    exe = os.environ.get("SKILLWAL_BIN")
    if not exe or not Path(exe).exists():
        pytest.fail("SKILLWAL_BIN must name the skillwal binary (check.sh sets it)")
    return subprocess.run(
        [exe, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def collection_cli(collection: Path, *args: str) -> subprocess.CompletedProcess:
    """`skillwal --collection-dir COLLECTION ARGS...`."""
    return cli("--collection-dir", str(collection), *args)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r
