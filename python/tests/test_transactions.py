"""Every call of the package on real files: what each one changes, exactly."""

import io
import os
from pathlib import Path

import pytest
import skillwal
from conftest import run_python, tree_state


def test_open_reports_recovery_and_the_path(root: Path) -> None:
    with skillwal.open(root) as r:
        assert r.recovery == {"outcome": "nothing", "staging_removed": 0}
        assert Path(r.path) == root
        assert not r.closed
        assert "open" in repr(r)
    assert r.closed
    assert "closed" in repr(r)
    assert not skillwal.needs_recovery(root)


def test_a_transaction_writes_every_kind_of_thing(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"from a path\n")
    with skillwal.open(root) as r:
        with r.transaction("install") as t:
            assert t.state == "open" and t.result is None and t.label == "install"
            t.write("bytes.txt", b"bytes\n", mode=0o600)
            t.write("str.txt", "caf\u00e9\n")
            t.write("bytearray.txt", bytearray(b"ba"), mode=0o640)
            t.write("memoryview.txt", memoryview(b"mv"))
            t.write("path.txt", source, mode=0o755)
            t.write("fileobj.txt", io.BytesIO(b"streamed"))
            t.mkdir("skills", mode=0o750)
            t.write_tree(
                "skills/hello",
                {
                    "SKILL.md": b"# hello\n",
                    "scripts/run.sh": (b"#!/bin/sh\n", 0o755),
                    "empty/": 0o700,
                    "docs/": None,
                    "link": skillwal.Link("SKILL.md"),
                    "blink": skillwal.Link(b"scripts/run.sh"),
                },
                mode=0o751,
            )
            t.symlink("latest", "skills/hello")
        assert t.state == "committed"
        assert t.result is not None and t.result["operations"] == 9
        assert t.result["txn_id"] >= 1
    assert tree_state(root) == {
        "bytes.txt": ("file", 0o600, b"bytes\n"),
        "str.txt": ("file", 0o644, "caf\u00e9\n".encode()),
        "bytearray.txt": ("file", 0o640, b"ba"),
        "memoryview.txt": ("file", 0o644, b"mv"),
        "path.txt": ("file", 0o755, b"from a path\n"),
        "fileobj.txt": ("file", 0o644, b"streamed"),
        "skills": ("dir", 0o750, None),
        "skills/hello": ("dir", 0o751, None),
        "skills/hello/SKILL.md": ("file", 0o644, b"# hello\n"),
        "skills/hello/scripts": ("dir", 0o755, None),
        "skills/hello/scripts/run.sh": ("file", 0o755, b"#!/bin/sh\n"),
        "skills/hello/empty": ("dir", 0o700, None),
        "skills/hello/docs": ("dir", 0o755, None),
        "skills/hello/link": ("link", 0o777, b"SKILL.md"),
        "skills/hello/blink": ("link", 0o777, b"scripts/run.sh"),
        "latest": ("link", 0o777, b"skills/hello"),
    }


def test_replace_and_delete(root: Path) -> None:
    with skillwal.open(root) as r:
        with r.transaction("v1") as t:
            t.write("a", b"1")
            t.write_tree("tree", {"x": b"x", "sub/y": b"y"})
            t.symlink("ln", "a")
            t.write("gone", b"g")
        with r.transaction("v2") as t:
            # A file replaced by a tree, a tree by a file, a link deleted, a file deleted.
            t.write_tree("a", {"inner": b"i"})
            t.write("tree", b"now a file", mode=0o600)
            t.delete("ln")
            t.delete("gone")
    assert tree_state(root) == {
        "a": ("dir", 0o755, None),
        "a/inner": ("file", 0o644, b"i"),
        "tree": ("file", 0o600, b"now a file"),
    }
    with skillwal.open(root) as r:
        with r.transaction("v3") as t:
            t.delete("a")  # a whole tree
    assert tree_state(root) == {"tree": ("file", 0o600, b"now a file")}


def test_an_exception_in_the_block_aborts_and_goes_on(root: Path) -> None:
    with skillwal.open(root) as r:
        with r.transaction("v1") as t:
            t.write("keep", b"v1")
        before = tree_state(root)
        with pytest.raises(KeyError):
            with r.transaction("never") as t:
                t.write("keep", b"v2")
                t.write_tree("new", {"f": b"f"})
                raise KeyError("the program's own error")
        assert t.state == "aborted"
        assert tree_state(root) == before
        # The root is free again.
        with r.transaction("after") as t:
            t.write("keep", b"v3")
    assert tree_state(root) == {"keep": ("file", 0o644, b"v3")}


def test_explicit_commit_and_abort(root: Path) -> None:
    with skillwal.open(root) as r:
        t = r.transaction("explicit")
        t.write("f", b"1")
        t.commit()
        assert t.state == "committed"
        t2 = r.transaction("dropped")
        t2.write("f", b"2")
        t2.abort()
        assert t2.state == "aborted"
        # Leaving a block of a transaction ended inside it does nothing more.
        with r.transaction("inside") as t3:
            t3.write("g", b"g")
            t3.abort()
        assert t3.state == "aborted"
    assert tree_state(root) == {"f": ("file", 0o644, b"1")}


def test_a_transaction_dropped_unended_is_aborted(root: Path) -> None:
    with skillwal.open(root) as r:
        t = r.transaction("forgotten")
        t.write("f", b"never")
        del t
        with r.transaction("next") as t2:
            t2.write("g", b"g")
    assert tree_state(root) == {"g": ("file", 0o644, b"g")}


def test_close_aborts_an_open_transaction(root: Path) -> None:
    r = skillwal.open(root)
    t = r.transaction("open at close")
    t.write("f", b"never")
    r.close()
    r.close()  # idempotent
    assert tree_state(root) == {}
    with pytest.raises(skillwal.StateError):
        t.write("g", b"g")


def test_not_durable_commits_are_in_place_and_checkpointed_later(root: Path) -> None:
    with skillwal.open(root) as r:
        for i in range(3):
            with r.transaction(f"quick {i}", durable=False) as t:
                t.write("counter", str(i))
            # In place at once; the journal still holds the run until the checkpoint.
            assert (root / "counter").read_text() == str(i)
            assert skillwal.needs_recovery(root)
        r.checkpoint()
        assert not skillwal.needs_recovery(root)
    assert tree_state(root) == {"counter": ("file", 0o644, b"2")}


def test_a_file_object_is_streamed_not_read_whole(root: Path) -> None:
    """128 MiB from a file object that makes its bytes as it is read: the process's peak
    memory stays far below the content's size (the engine keeps up to 4 MiB to decide
    whether the content goes inline into the journal, then streams through 64 KiB)."""
    size = 128 * 1024 * 1024
    code = f"""
import io, resource, skillwal

class Generated(io.RawIOBase):
    def __init__(self, size):
        self.left, self.largest, self.calls = size, 0, 0
    def read(self, n=-1):
        self.calls += 1
        self.largest = max(self.largest, n)
        k = self.left if n < 0 else min(n, self.left)
        self.left -= k
        return b"s" * k

src = Generated({size})
with skillwal.open({str(root)!r}) as r, r.transaction("big") as t:
    t.write("big.bin", src)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, src.largest, src.calls)
"""
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    peak_kib, largest, calls = map(int, p.stdout.split())
    print(f"peak RSS {peak_kib} KiB; {calls} reads, the largest {largest} bytes")
    assert peak_kib < 64 * 1024, f"peak RSS {peak_kib} KiB for a {size >> 20} MiB content"
    assert 0 < largest <= 4 * 1024 * 1024 + 1
    assert calls > size // (4 * 1024 * 1024)
    assert (root / "big.bin").stat().st_size == size
    with open(root / "big.bin", "rb") as f:
        while chunk := f.read(1 << 20):
            assert chunk == b"s" * len(chunk)


def test_content_of_the_wrong_type_is_a_type_error(root: Path) -> None:
    with skillwal.open(root) as r:
        with pytest.raises(TypeError, match="content must be"):
            with r.transaction("bad") as t:
                t.write("f", 42)
        with pytest.raises(skillwal.FileSystemError, match="read"):
            with r.transaction("text mode") as t:
                t.write("f", io.StringIO("text"))
    assert tree_state(root) == {}


def test_the_gil_is_released_while_the_engine_waits(root: Path) -> None:
    """A second open of a locked root waits for the lock in the engine; other Python
    threads (here the one that will release the lock) must run meanwhile. Run in a child
    with a time limit: a build that kept the GIL would wait forever."""
    code = f"""
import threading, time, skillwal
first = skillwal.open({str(root)!r})
opened = []
def second():
    with skillwal.open({str(root)!r}) as r:  # waits for `first`
        opened.append(r.recovery["outcome"])
th = threading.Thread(target=second)
th.start()
ticks = 0
deadline = time.monotonic() + 0.3
while time.monotonic() < deadline:  # this thread runs while the other waits
    ticks += 1
    time.sleep(0.01)
print(ticks, len(opened))
first.close()
th.join()
print(opened)
"""
    p = run_python(code, timeout=60)
    assert p.returncode == 0, p.stderr
    first_line, second_line = p.stdout.splitlines()[:2]
    ticks, opened_early = map(int, first_line.split())
    assert ticks >= 10 and opened_early == 0
    assert second_line == "['nothing']"


def test_inspect_journal(root: Path) -> None:
    with skillwal.open(root) as r:
        with r.transaction("kept", durable=False) as t:
            t.write("f", b"f")
        report = skillwal.inspect_journal(root)
        assert report["label"] == "kept"
        assert report["state"] == "committed"
        assert isinstance(report["records"], list) and report["records"]
    report = skillwal.inspect_journal(root)
    assert report["state"] != "committed"


def test_another_process_recovers_what_a_killed_one_left(root: Path) -> None:
    """A transaction committed but not checkpointed by a process killed right after is
    rolled forward by the next open, in another process."""
    code = f"""
import os, skillwal
r = skillwal.open({str(root)!r})
with r.transaction("left committed", durable=False) as t:
    t.write("f", b"committed")
os.kill(os.getpid(), 9)
"""
    p = run_python(code)
    assert p.returncode == -9, p.stderr
    assert skillwal.needs_recovery(root)
    with skillwal.open(root) as r:
        assert r.recovery["outcome"] == "rolled-forward"
        assert r.recovery["label"] == "left committed"
    assert tree_state(root) == {"f": ("file", 0o644, b"committed")}
    assert not skillwal.needs_recovery(root)


def test_a_root_is_refused_in_a_forked_child(root: Path) -> None:
    """After fork the child has no engine thread: every call is a StateError there (it
    would otherwise wait forever), and the parent's root goes on."""
    r = skillwal.open(root)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            r.transaction("in the child")
        except skillwal.StateError as e:
            code = 0 if "before a fork" in str(e) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    with r.transaction("in the parent") as t:
        t.write("f", b"parent")
    r.close()
    assert (root / "f").read_bytes() == b"parent"
