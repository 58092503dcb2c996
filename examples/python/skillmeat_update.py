"""SkillMeat 0.74's update step, rewritten on skillwal, and killed at every call.

SkillMeat's ``ArtifactManager.apply_update_strategy()`` (the "overwrite" strategy) takes the
upstream copy that ``fetch_update()`` left in a temporary workspace and then, one step after
the other: tars the whole collection as a snapshot; replaces the artifact's directory
(``FilesystemManager.copy_artifact``: delete the old one, move the new one in); writes
``collection.toml`` (``save_collection``); writes ``collection.lock`` (``update_entry``). A
crash between two of those steps leaves a collection that is neither the old one nor the new
one — new files under an old lock hash, or no artifact directory at all — and nothing
repairs it on its own (docs/skillmeat-deploy-format.md has the observed sequence).

Here the same update is two phases:

1. **prepare**, all SkillMeat's own code, writing only to a scratch directory: the upstream
   copied with SkillMeat's ignore patterns (as ``copy_artifact`` does), the artifact's
   metadata extracted from it (``extract_artifact_metadata``), its content hash
   (``compute_content_hash``), the manifest written by ``ManifestManager.write`` and the lock
   by ``LockManager.update_entry`` — into the scratch directory, not the collection;
2. **apply**: ONE skillwal transaction installing the new artifact tree, the manifest and the
   lock. After any crash the next ``skillwal.open`` finds the collection exactly before or
   exactly after, and SkillMeat's lock hash always matches the files.

The collection is opened with ``collection=True``: skillwal keeps its journal beside the
collection, where its CLI does, so ``skillwal`` commands and this program share it, and
SkillMeat (which lists and tars only ``collections/<name>/``) never sees it.

Usage (in a Python environment with both ``skillmeat==0.74.0`` and ``skillwal``)::

    python skillmeat_update.py update COLLECTION_DIR TYPE NAME UPSTREAM_PATH
    python skillmeat_update.py crash-test WORK_DIR SOURCE_SKILL_DIR

``crash-test`` makes a SkillMeat home in WORK_DIR with the real ``skillmeat`` command (init,
add the skill), prepares an update of the skill to a changed upstream, then runs the apply in
a child process killed (SIGKILL, ``SKILLWAL_CRASH_AFTER=N``) right after its N-th mutating
call, for N = 1, 2, … until it finishes; after each kill another child opens the collection
(recovery), and the collection must be exactly before or exactly after — every path's kind,
bytes and permission bits — with SkillMeat's reader agreeing that the lock's hash is the
files'. It prints one line per crash point and a summary, and exits non-zero on any
mismatch.
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional, Tuple

import skillwal

# SkillMeat 0.74's own code: importing it takes seconds, so crash-test imports it once and
# forks the children that crash.
from skillmeat.core.artifact_detection import ArtifactType
from skillmeat.storage.lockfile import LockManager
from skillmeat.storage.manifest import ManifestManager
from skillmeat.utils.filesystem import FilesystemManager, compute_content_hash
from skillmeat.utils.metadata import extract_artifact_metadata


# ---- the update, in two phases ------------------------------------------------------


def prepare(collection: Path, type_name: str, name: str, upstream: Path, scratch: Path):
    """Phase 1, SkillMeat's code only, writing only under ``scratch``: what the update
    will install. Returns the artifact's path in the collection (relative)."""
    artifact_type = ArtifactType(type_name)
    manifest = ManifestManager().read(collection)
    artifact = manifest.find_artifact(name, artifact_type)
    if artifact is None:
        raise SystemExit(f"no {type_name} {name} in {collection}")
    # The upstream, copied as copy_artifact copies it (same ignore patterns).
    tree = scratch / "artifact"
    if upstream.is_dir():
        shutil.copytree(
            upstream,
            tree,
            ignore=shutil.ignore_patterns(*FilesystemManager.IGNORE_PATTERNS),
        )
    else:
        shutil.copy2(upstream, tree)
    # apply_update_strategy's metadata updates, on what will be installed.
    artifact.metadata = extract_artifact_metadata(tree, artifact_type)
    from datetime import datetime

    artifact.last_updated = datetime.utcnow()
    ManifestManager().write(scratch, manifest)
    shutil.copy2(collection / "collection.lock", scratch / "collection.lock")
    LockManager().update_entry(
        scratch,
        artifact.name,
        artifact_type,
        artifact.upstream,
        artifact.resolved_sha,
        artifact.resolved_version,
        compute_content_hash(tree),
    )
    return str(artifact.path)


def apply(collection: Path, artifact_path: str, scratch: Path) -> None:
    """Phase 2: the artifact's tree, the manifest and the lock, in one transaction."""
    with skillwal.open(collection, collection=True) as root:
        with root.transaction(f"update {artifact_path} (skillmeat_update.py)") as t:
            tree = scratch / "artifact"
            if tree.is_dir():
                t.write_tree(artifact_path, tree_of(tree), mode=mode_of(tree))
            else:
                t.write(artifact_path, tree, mode=mode_of(tree))
            for doc in ("collection.toml", "collection.lock"):
                # The document keeps the permission bits it has in the collection.
                t.write(doc, scratch / doc, mode=mode_of(collection / doc))


def tree_of(top: Path) -> Dict[str, object]:
    """``write_tree``'s description of the directory ``top``: every file as a path to
    stream from, with its permission bits; every directory with its own."""
    files: Dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        for d in dirnames:
            rel = os.path.normpath(os.path.join(rel_dir, d))
            files[rel + "/"] = mode_of(Path(dirpath) / d)
        for f in filenames:
            full = Path(dirpath) / f
            files[os.path.normpath(os.path.join(rel_dir, f))] = (full, mode_of(full))
    return files


def mode_of(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def update(collection: Path, type_name: str, name: str, upstream: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="skillmeat-update-") as scratch:
        artifact_path = prepare(collection, type_name, name, upstream, Path(scratch))
        apply(collection, artifact_path, Path(scratch))


# ---- the crash test -----------------------------------------------------------------

#: Per path under the collection: its kind, its permission bits, its bytes or link target.
TreeState = Dict[str, Tuple[str, int, Optional[bytes]]]


def tree_state(root: Path) -> TreeState:
    out: TreeState = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", stat.S_IMODE(st.st_mode), os.fsencode(os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), None)
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), Path(full).read_bytes())
    return out


def skillmeat_agrees(collection: Path, type_name: str, name: str) -> bool:
    """SkillMeat's own reader: the manifest parses, the artifact is in it, and the lock's
    content hash is the hash of the artifact's files."""
    artifact_type = ArtifactType(type_name)
    artifact = ManifestManager().read(collection).find_artifact(name, artifact_type)
    if artifact is None:
        return False
    entry = LockManager().get_entry(collection, artifact.name, artifact_type)
    path = collection / artifact.path
    return entry is not None and path.exists() and entry.content_hash == compute_content_hash(path)


def in_child(fn, env: Dict[str, str]) -> int:
    """Runs ``fn`` in a forked child with ``env`` added; returns its wait status as
    ``subprocess`` does (negative: killed by that signal). The parent itself never calls
    skillwal, so each child reads the crash hook's variable afresh."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.environ.update(env)
            fn()
        except BaseException as e:  # noqa: BLE001 - reported, then the child's exit code
            print(f"child: {type(e).__name__}: {e}", file=sys.stderr)
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def skillmeat_cli(home: Path, *args: str) -> None:
    exe = Path(sys.executable).parent / "skillmeat"
    subprocess.run(
        [str(exe), *args],
        env={**os.environ, "HOME": str(home), "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        check=True,
    )


def crash_test(work: Path, source_skill: Path) -> int:
    home = work / "home"
    home.mkdir(parents=True)
    # The collection, made by the real SkillMeat.
    skill_v1 = work / "src" / source_skill.name
    shutil.copytree(source_skill, skill_v1)
    skillmeat_cli(home, "init", "--name", "default", "--no-input")
    skillmeat_cli(home, "add", "skill", str(skill_v1), "--yes")
    collections = home / ".skillmeat" / "collections"
    collection = collections / "default"
    name = source_skill.name
    # The upstream's new version: a file changed, one added, one removed, a mode changed.
    upstream = work / "upstream" / name
    shutil.copytree(skill_v1, upstream)
    skill_md = upstream / "SKILL.md"
    skill_md.write_text(skill_md.read_text() + "\nUpdated upstream.\n")
    (upstream / "CHANGELOG.md").write_text("v2\n")
    removed = sorted(p for p in upstream.rglob("*") if p.is_file() and p.name != "SKILL.md")[0]
    removed.unlink()
    os.chmod(upstream, 0o750)
    scratch = work / "prepared"
    scratch.mkdir()
    artifact_path = prepare(collection, "skill", name, upstream, scratch)

    pristine = work / "pristine"
    shutil.copytree(collection, pristine, symlinks=True)
    state_dir = collections / ".skillwal"  # where skillwal keeps the collection's journal

    def reset() -> None:
        shutil.rmtree(collection)
        shutil.rmtree(state_dir, ignore_errors=True)
        shutil.copytree(pristine, collection, symlinks=True)

    def recover() -> int:
        return in_child(lambda: skillwal.open(collection, collection=True).close(), {})

    before = tree_state(collection)
    # The state after: the update run to its end.
    if in_child(lambda: apply(collection, artifact_path, scratch), {}) != 0:
        print("the update without a crash failed", file=sys.stderr)
        return 1
    after = tree_state(collection)
    assert after != before and skillmeat_agrees(collection, "skill", name)
    assert after[artifact_path + "/SKILL.md"][2] == (scratch / "artifact" / "SKILL.md").read_bytes()
    assert after["collection.lock"][2] == (scratch / "collection.lock").read_bytes()

    counts = {"before": 0, "after": 0}
    failures = 0
    n = 0
    while True:
        n += 1
        reset()
        status = in_child(
            lambda: apply(collection, artifact_path, scratch),
            {skillwal.CRASH_AFTER_ENV: str(n)},
        )
        if status == 0:
            break  # past the last mutating call: the update ran to its end
        if status != -signal.SIGKILL:
            print(f"crash point {n}: the child exited with {status}", file=sys.stderr)
            return 1
        seen = tree_state(collection)
        mixed = seen not in (before, after)
        if recover() != 0:
            print(f"crash point {n}: recovery failed", file=sys.stderr)
            return 1
        state = tree_state(collection)
        which = "before" if state == before else "after" if state == after else None
        agrees = skillmeat_agrees(collection, "skill", name)
        print(
            f"crash point {n:3}: killed {'mid-update (neither state)' if mixed else 'between states'}"
            f"; after recovery: {which or 'NEITHER'}; skillmeat's lock hash "
            f"{'matches' if agrees else 'DOES NOT MATCH'}"
        )
        if which is None or not agrees:
            failures += 1
        else:
            counts[which] += 1
    print(
        f"{n - 1} crash points: {counts['before']} recovered to before, {counts['after']} to "
        f"after, {failures} otherwise"
    )
    return 1 if failures or n <= 1 else 0


def main(argv) -> int:
    if len(argv) == 6 and argv[1] == "update":
        update(Path(argv[2]).resolve(), argv[3], argv[4], Path(argv[5]).resolve())
        return 0
    if len(argv) == 4 and argv[1] == "crash-test":
        return crash_test(Path(argv[2]).resolve(), Path(argv[3]).resolve())
    print(__doc__.split("Usage")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
