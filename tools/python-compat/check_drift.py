#!/usr/bin/env python3
"""Ask skillmeat 0.74.0 itself whether a collection has local modifications.

skillmeat's CLI has no command that compares a collection's files with
collection.lock for local-origin artifacts (`skillmeat status` only checks
GitHub updates and project deployments; `skillmeat update` re-baselines local
artifacts silently). This script calls skillmeat's OWN code for it:
CollectionManager.load_collection (manifest parsing + validation),
LockManager.read, and ArtifactManager._detect_local_modifications (the exact
check `skillmeat update` uses before overwriting a GitHub artifact:
compute_content_hash(files) != lock content_hash).

It must be run with the Python interpreter of the venv where skillmeat is
installed, e.g.:

    HOME=/path/to/home  target/skillmeat-venv/bin/python tools/python-compat/check_drift.py [-c COLLECTION]

It reads only; it writes nothing (it does not construct the DB cache).

Output (stdout), one line per artifact in manifest order:
    clean <type>/<name>
    modified <type>/<name>
    missing <type>/<name>        (files listed in collection.toml are absent)
    unlocked <type>/<name>       (no collection.lock entry for it)
then a summary line:
    skillmeat-drift: <n> clean, <n> modified, <n> missing, <n> unlocked
With --hashes, before the summary, one line per artifact whose files exist:
    hash <type>/<name> <computed> <locked>
where <computed> is skillmeat's own compute_content_hash of the files (the
function _detect_local_modifications uses) and <locked> the lock's
content_hash ("-" when there is no lock entry). Without --hashes the output is
exactly as above (tests/fixtures/python/expected/*.drift.txt).
Exit code: 0 if every artifact is clean, 1 if any is modified/missing/unlocked,
2 if skillmeat could not load the collection (message on stderr).
"""
import argparse
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-c", "--collection", default=None,
                    help="collection name (default: active collection)")
    ap.add_argument("--hashes", action="store_true",
                    help="also print skillmeat's computed content_hash and the lock's, per artifact")
    args = ap.parse_args()

    try:
        import skillmeat
        from skillmeat.core.artifact import ArtifactManager
        from skillmeat.core.collection import CollectionManager
    except ImportError as e:  # pragma: no cover
        print(f"skillmeat-drift: error: cannot import skillmeat: {e}", file=sys.stderr)
        return 2

    try:
        coll_mgr = CollectionManager()
        art_mgr = ArtifactManager(coll_mgr)
        collection = coll_mgr.load_collection(args.collection)
        cpath = coll_mgr.config.get_collection_path(collection.name)
        lock = coll_mgr.lock_mgr.read(cpath)
    except Exception as e:
        print(f"skillmeat-drift: error: {e}", file=sys.stderr)
        return 2

    counts = {"clean": 0, "modified": 0, "missing": 0, "unlocked": 0}
    hashes = []
    for a in collection.artifacts:
        path = cpath / a.path
        if not path.exists():
            state = "missing"
        elif (a.name, a.type.value) not in lock:
            state = "unlocked"
        elif art_mgr._detect_local_modifications(cpath, a, path):
            state = "modified"
        else:
            state = "clean"
        counts[state] += 1
        print(f"{state} {a.type.value}/{a.name}")
        if args.hashes and state != "missing":
            entry = lock.get((a.name, a.type.value))
            locked = entry.content_hash if entry is not None else "-"
            computed = art_mgr.compute_content_hash(path)
            hashes.append(f"hash {a.type.value}/{a.name} {computed} {locked}")

    for line in hashes:
        print(line)

    print("skillmeat-drift: {clean} clean, {modified} modified, {missing} missing, "
          "{unlocked} unlocked".format(**counts))
    print(f"skillmeat-version: {skillmeat.__version__}", file=sys.stderr)
    return 0 if counts["clean"] == len(collection.artifacts) else 1


if __name__ == "__main__":
    sys.exit(main())
