"""Crash tests from Python: a child Python process is killed (SIGKILL, by the crash hook
`SKILLWAL_CRASH_AFTER=N`, wal-spec.md §10) right after each mutating file-system call of a
transaction that changes many files at once; the next open finds exactly the state before
or the state after — every path's kind, bytes, permission bits and link target."""

import shutil
from pathlib import Path

import skillwal
from conftest import collection_cli, run_python, tree_state

BIG = 5 * 1024 * 1024  # over 4 MiB: staged as a file of its own, not inline in the journal


def before_state(root: Path) -> None:
    with skillwal.open(root) as r, r.transaction("v1") as t:
        t.write("collection.toml", b'[collection]\nname = "c"\n')
        t.write("collection.lock", b"[lock]\nhello = 1\n")
        t.mkdir("skills")
        t.write_tree(
            "skills/hello",
            {"SKILL.md": b"# hello v1\n", "scripts/run.sh": (b"echo 1\n", 0o755)},
        )
        t.write("old.md", b"old command\n", mode=0o600)
        t.symlink("current", "skills/hello")


#: The transaction the child runs: a skill replaced by a new tree of another shape, the
#: manifest and lock rewritten, a file deleted, a directory and a link made, a large file.
WORKLOAD = """
import sys, skillwal
root = sys.argv[1]
with skillwal.open(root) as r, r.transaction("v2") as t:
    t.write_tree("skills/hello", {
        "SKILL.md": (b"# hello v2\\n", 0o600),
        "lib/": 0o700,
        "lib/helper.py": b"def helper(): pass\\n",
        "link": skillwal.Link("SKILL.md"),
    }, mode=0o750)
    t.write("collection.toml", b'[collection]\\nname = "c"\\nversion = 2\\n')
    t.write("collection.lock", b"[lock]\\nhello = 2\\n", mode=0o640)
    t.delete("old.md")
    t.mkdir("agents", mode=0o711)
    t.write("agents/big.bin", b"B" * %d)
    t.symlink("current", "agents")
print("committed")
""" % BIG


def expected_after(before: dict) -> dict:
    after = {k: v for k, v in before.items() if not k.startswith("skills/hello/")}
    del after["old.md"]
    after.update(
        {
            "skills/hello": ("dir", 0o750, None),
            "skills/hello/SKILL.md": ("file", 0o600, b"# hello v2\n"),
            "skills/hello/lib": ("dir", 0o700, None),
            "skills/hello/lib/helper.py": ("file", 0o644, b"def helper(): pass\n"),
            "skills/hello/link": ("link", 0o777, b"SKILL.md"),
            "collection.toml": ("file", 0o644, b'[collection]\nname = "c"\nversion = 2\n'),
            "collection.lock": ("file", 0o640, b"[lock]\nhello = 2\n"),
            "agents": ("dir", 0o711, None),
            "agents/big.bin": ("file", 0o644, b"B" * BIG),
            "current": ("link", 0o777, b"agents"),
        }
    )
    return after


def run_workload(root: Path, crash_after: int = 0):
    code = "import sys; sys.argv = ['workload', %r]\n" % str(root) + WORKLOAD
    env = {skillwal.CRASH_AFTER_ENV: str(crash_after)} if crash_after else {}
    return run_python(code, env)


def test_the_workload_without_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    before_state(root)
    before = tree_state(root)
    p = run_workload(root)
    assert p.returncode == 0 and p.stdout.strip() == "committed", p.stderr
    assert tree_state(root) == expected_after(before)


def test_killed_at_every_mutating_call(tmp_path: Path) -> None:
    """Every crash point N of the workload, then a recovery that is itself killed at
    call M (cycling through the first calls a recovery makes), then a clean open."""
    seen = {"before": 0, "after": 0}
    outcomes = set()
    n = 0
    while True:
        n += 1
        root = tmp_path / f"n{n}"
        root.mkdir()
        before_state(root)
        before = tree_state(root)
        after = expected_after(before)
        p = run_workload(root, crash_after=n)
        if p.returncode == 0:
            # Past the last mutating call: the workload ran to its end.
            assert p.stdout.strip() == "committed"
            assert tree_state(root) == after
            break
        assert p.returncode == -9, (n, p.returncode, p.stderr)
        # What a user sees right after the kill is before, after, or (between the
        # commit point and the end of the apply) neither: recovery settles it.
        m = 1 + n % 5
        assert _open_killed_at(root, m) in (0, -9)
        with skillwal.open(root) as r:
            outcomes.add(r.recovery["outcome"])
        state = tree_state(root)
        assert state in (before, after), f"crash at call {n} (recovery killed at {m})"
        seen["before" if state == before else "after"] += 1
        assert not skillwal.needs_recovery(root)
        shutil.rmtree(root)  # each round's root is done with: keep the disk use small
    print(f"crash points: {n - 1}; states: {seen}; recovery outcomes: {sorted(outcomes)}")
    # The workload has a commit point inside it: crashes on both sides of it.
    assert n > 30
    assert seen["before"] > 0 and seen["after"] > 0, seen


def _open_killed_at(root: Path, m: int) -> int:
    code = "import sys, skillwal\nskillwal.open(sys.argv[1]).close()"
    p = run_python(
        "import sys; sys.argv = ['recover', %r]\n" % str(root) + code,
        {skillwal.CRASH_AFTER_ENV: str(m)},
    )
    return p.returncode



def _masked(state: dict) -> dict:
    """The tree with the documents' timestamps masked (each run writes its own)."""
    import re

    out = dict(state)
    for doc in ("collection.toml", "collection.lock"):
        kind, mode, data = out[doc]
        out[doc] = (kind, mode, re.sub(rb'"\d{4}-\d\d-\d\dT[^"]*"', b'"<TS>"', data))
    return out


def test_a_collection_update_killed_at_every_call(tmp_path: Path) -> None:
    """`open_collection(...).update(...)` in a child Python killed after each of its
    mutating calls: the collection (files, manifest, lock) is before or after, and its log
    holds the update's record exactly when the files are after."""
    import os

    src = tmp_path / "src" / "hello"
    (src / "scripts").mkdir(parents=True)
    (src / "SKILL.md").write_text("---\nname: hello\ndescription: hi\n---\nv1\n")
    (src / "scripts" / "run.sh").write_text("echo 1\n")
    pristine = tmp_path / "pristine"
    c = pristine / "col"
    assert collection_cli(c, "init").returncode == 0
    with skillwal.open_collection(c) as col:
        col.add(src, "skill")
    # The upstream's new version: a file changed, one added, a mode changed.
    (src / "SKILL.md").write_text("---\nname: hello\ndescription: hi\n---\nv2\n")
    (src / "NEW.md").write_text("new\n")
    os.chmod(src / "scripts" / "run.sh", 0o755)
    code = (
        "import sys, skillwal\n"
        "with skillwal.open_collection(sys.argv[1]) as col:\n"
        "    col.update(['hello'])\n"
    )

    def child(root: Path, n: int) -> int:
        env = {skillwal.CRASH_AFTER_ENV: str(n)} if n else {}
        script = f"import sys; sys.argv = ['update', {str(root)!r}]\n" + code
        return run_python(script, env).returncode

    def fresh(name: str) -> Path:
        shutil.copytree(pristine, tmp_path / name, symlinks=True)
        return tmp_path / name / "col"

    def log_head(root: Path) -> str:
        with skillwal.open_collection(root) as col:
            return col.log(limit=1)[0]["command"].split()[0]

    before = _masked(tree_state(c))
    reference = fresh("reference")
    assert child(reference, 0) == 0
    after = _masked(tree_state(reference))
    assert after != before and log_head(reference) == "update"
    seen = {"before": 0, "after": 0}
    n = 0
    while True:
        n += 1
        root = fresh(f"n{n}")
        status = child(root, n)
        if status == 0:
            assert _masked(tree_state(root)) == after
            break
        assert status == -9, (n, status)
        head = log_head(root)  # the open recovers
        state = _masked(tree_state(root))
        assert state in (before, after), f"crash at call {n}"
        which = "before" if state == before else "after"
        assert head == ("add" if which == "before" else "update"), (n, which, head)
        seen[which] += 1
        shutil.rmtree(tmp_path / f"n{n}")
    print(f"collection update: {n - 1} crash points, {seen}")
    assert seen["before"] > 0 and seen["after"] > 0
