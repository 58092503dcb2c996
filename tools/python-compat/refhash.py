#!/usr/bin/env python3
"""Independent implementation of the SkillMeat content_hash (per
docs/skillmeat-format.md), written WITHOUT importing skillmeat,
so it can be compared with what skillmeat 0.74.0 writes to collection.lock.

Usage:
    refhash.py PATH [PATH...]          print "<hash>  <path>" (reference algorithm)
    refhash.py --string-order PATH     variant: sort by the joined "a/b" string
                                       instead of component by component
                                       (to show that the two orders differ)
    refhash.py --list PATH             list the relative paths fed into the hash, in order

Reference algorithm:
  * file artifact: sha256(file bytes)
  * directory artifact: one sha256 over every regular file below the directory
    (symlinks to regular files count, see FINDINGS.md), sorted by relative path
    compared component by component; for each: utf-8 relative path
    (components joined with "/"), then the file bytes; no separators.
"""
import hashlib
import os
import sys


def _walk(root):
    """Yield relative paths (tuples of components) of every regular file under root.

    Mirrors CPython 3.11 pathlib.Path.rglob("*") + Path.is_file():
      - hidden files/dirs are included,
      - symlinks to regular files are included (content of the target),
      - symlinked directories are NOT descended into,
      - dangling symlinks are skipped.
    """
    stack = [()]
    while stack:
        rel = stack.pop()
        d = os.path.join(root, *rel) if rel else root
        for entry in os.scandir(d):
            parts = rel + (entry.name,)
            if entry.is_dir(follow_symlinks=False):
                stack.append(parts)
            elif entry.is_file(follow_symlinks=True):
                yield parts


def content_hash(path, string_order=False, listing=None):
    h = hashlib.sha256()
    if os.path.isfile(path):
        with open(path, "rb") as f:
            h.update(f.read())
        return h.hexdigest()
    files = list(_walk(path))
    if string_order:
        files.sort(key=lambda p: "/".join(p))
    else:
        files.sort()  # tuple comparison == component by component
    for parts in files:
        rel = "/".join(parts)
        if listing is not None:
            listing.append(rel)
        h.update(rel.encode("utf-8"))
        with open(os.path.join(path, *parts), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def main(argv):
    string_order = "--string-order" in argv
    do_list = "--list" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if not paths:
        print(__doc__)
        return 2
    for p in paths:
        listing = [] if do_list else None
        print(f"{content_hash(p, string_order, listing)}  {p}")
        if do_list:
            for rel in listing:
                print(f"    {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
