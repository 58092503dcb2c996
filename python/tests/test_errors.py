"""Every exception the package raises, each from a real failure, and what each says of
whether anything changed."""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import skillwal
from conftest import run_python, tree_state


def committed_v1(root: Path) -> None:
    with skillwal.open(root) as r:
        with r.transaction("v1") as t:
            t.write("manifest", b"v1")
            t.write_tree("skill", {"SKILL.md": b"v1"})


def left_committed(root: Path) -> None:
    """A process commits a transaction (in place, not checkpointed) and is killed."""
    code = f"""
import os, skillwal
r = skillwal.open({str(root)!r})
with r.transaction("v2", durable=False) as t:
    t.write("manifest", b"v2")
    t.write_tree("skill", {{"SKILL.md": b"v2"}})
os.kill(os.getpid(), 9)
"""
    p = run_python(code)
    assert p.returncode == -9, p.stderr


def test_every_exception_is_a_skillwal_error_saying_whether_anything_changed() -> None:
    for name in skillwal.errors.__all__:
        cls = getattr(skillwal, name)
        assert issubclass(cls, skillwal.SkillwalError), name
        assert cls.may_have_changed is (name == "CommitUncertainError"), name


def test_invalid_paths(root: Path) -> None:
    with skillwal.open(root) as r:
        for bad in ["../escape", "/absolute", "a//b", ""]:
            with pytest.raises(skillwal.InvalidPathError) as e:
                with r.transaction("bad") as t:
                    t.write(bad, b"x")
            assert isinstance(e.value, ValueError)
            assert e.value.path == bad and e.value.reason
            assert e.value.may_have_changed is False
    assert tree_state(root) == {}


def test_rejected_operations_leave_the_transaction_usable(root: Path) -> None:
    """A refusal (a path that does not fit the tree) is checked before anything is
    staged: the transaction goes on without the refused operation."""
    committed_v1(root)
    with skillwal.open(root) as r:
        cases = [
            (lambda t: t.delete("missing"), "delete-file"),
            (lambda t: t.mkdir("skill"), "create-dir"),
            (lambda t: t.write("no/parent/file", b"x"), "put-file"),
        ]
        for i, (stage, op) in enumerate(cases):
            with r.transaction("rejected") as t:
                t.write("manifest", b"changed %d" % i)
                with pytest.raises(skillwal.RejectedError) as e:
                    stage(t)
                assert e.value.op == op and e.value.reason
                assert e.value.may_have_changed is False
            assert t.state == "committed"
            assert (root / "manifest").read_bytes() == b"changed %d" % i
    assert set(tree_state(root)) == {"manifest", "skill", "skill/SKILL.md"}


def test_a_failure_while_staging_breaks_the_transaction(root: Path) -> None:
    """A failure that may have left something staged (here the program's file object
    raising half-way) leaves only abort: a commit refuses, and nothing changes."""
    committed_v1(root)
    before = tree_state(root)

    class Failing:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise ConnectionError("the source went away")
            return b"x" * n

    with skillwal.open(root) as r:
        t = r.transaction("broken")
        t.write("manifest", b"changed")
        with pytest.raises(skillwal.FileSystemError, match="the source went away"):
            t.write("skill/SKILL.md", Failing())
        with pytest.raises(skillwal.SkillwalError, match="earlier staging step failed"):
            t.commit()
        assert t.state == "failed"
    assert tree_state(root) == before


def test_state_errors(root: Path) -> None:
    r = skillwal.open(root)
    t = r.transaction("one")
    with pytest.raises(skillwal.StateError, match="already open"):
        r.transaction("two")
    with pytest.raises(skillwal.StateError, match="transaction is open"):
        r.checkpoint()
    t.write("f", b"f")
    t.commit()
    with pytest.raises(skillwal.StateError, match="committed"):
        t.write("g", b"g")
    with pytest.raises(skillwal.StateError, match="committed"):
        t.commit()
    t2 = r.transaction("two")
    t2.abort()
    with pytest.raises(skillwal.StateError, match="aborted"):
        t2.abort()
    r.close()
    with pytest.raises(skillwal.StateError, match="closed"):
        r.transaction("closed")
    with pytest.raises(skillwal.StateError, match="closed"):
        r.checkpoint()
    assert isinstance(skillwal.StateError("x"), RuntimeError)


def test_locked_by_another_process_names_its_pid(root: Path) -> None:
    code = f"""
import sys, skillwal
r = skillwal.open({str(root)!r})
print("ready", flush=True)
sys.stdin.readline()
r.close()
"""
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(skillwal.LockedError) as e:
            skillwal.open(root, wait=False)
        assert e.value.pid == child.pid
        assert Path(e.value.root) == root
        assert f"pid {child.pid}" in str(e.value)
        assert e.value.may_have_changed is False
    finally:
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(timeout=30) == 0
    skillwal.open(root, wait=False).close()


def test_file_system_errors_are_os_errors(tmp_path: Path) -> None:
    file = tmp_path / "a-file"
    file.write_bytes(b"")
    with pytest.raises(skillwal.FileSystemError) as e:
        skillwal.open(file / "root")
    assert isinstance(e.value, OSError)
    assert e.value.errno == 20  # ENOTDIR
    assert e.value.op and e.value.path
    assert e.value.may_have_changed is False


def test_a_damaged_journal_is_refused_and_kept(root: Path) -> None:
    committed_v1(root)
    left_committed(root)
    report = skillwal.inspect_journal(root)
    journal = Path(report["path"])
    records = report["records"]
    assert len(records) >= 3
    # Damage the payload of a record before the commit record.
    offset = records[1]["offset"] + 40
    data = bytearray(journal.read_bytes())
    data[offset] ^= 0xFF
    journal.write_bytes(bytes(data))
    seen = tree_state(root)
    with pytest.raises(skillwal.JournalDamagedError) as e:
        skillwal.open(root)
    assert Path(e.value.journal) == journal
    assert e.value.offset > 0
    assert e.value.may_have_changed is False
    assert tree_state(root) == seen
    assert journal.read_bytes() == bytes(data)


def test_a_journal_of_an_unknown_version_is_refused_and_kept(root: Path) -> None:
    committed_v1(root)
    journal = root / ".skillwal" / "journal"
    data = bytearray(journal.read_bytes())
    # Both header slots say version 99, with a valid CRC (wal-spec.md §3.1).
    for slot in (0, 512):
        struct.pack_into("<H", data, slot + 8, 99)
        crc = zlib.crc32(bytes(data[slot : slot + 508])) ^ 0x48445221
        struct.pack_into("<I", data, slot + 508, crc)
    journal.write_bytes(bytes(data))
    with pytest.raises(skillwal.JournalVersionError) as e:
        skillwal.open(root)
    assert isinstance(e.value, skillwal.JournalDamagedError)
    assert e.value.found == 99 and e.value.supported >= 2
    assert journal.read_bytes() == bytes(data)


def test_recovery_does_not_overwrite_a_path_changed_since(root: Path) -> None:
    committed_v1(root)
    left_committed(root)
    # Saved by an editor the way most do: a new file renamed over the old one.
    (root / "manifest.new").write_bytes(b"edited by hand")
    (root / "manifest.new").replace(root / "manifest")
    seen = tree_state(root)
    with pytest.raises(skillwal.ConflictError) as e:
        skillwal.open(root)
    assert any("manifest" in c for c in e.value.conflicts), e.value.conflicts
    assert e.value.may_have_changed is False
    assert tree_state(root) == seen


def test_a_failed_sync_is_uncertain_and_stops_the_root(root: Path) -> None:
    """SKILLWAL_FAIL_AT=N:EIO fails the N-th mutating call. Every failure before the
    commit point says nothing changed and leaves the tree as it was; the failure of the
    commit's journal sync (or later) is CommitUncertainError, and the open root then
    refuses everything (EngineStoppedError) until reopened. Either way the next open finds
    exactly the state before or after."""
    committed_v1(root)
    before = tree_state(root)
    code = f"""
import skillwal
try:
    r = skillwal.open({str(root)!r})
except skillwal.SkillwalError as e:
    print("open", type(e).__name__, e.may_have_changed); raise SystemExit(0)
try:
    with r.transaction("v2") as t:
        t.write("manifest", b"v2")
        t.write_tree("skill", {{"SKILL.md": b"v2"}})
    print("ok")
except skillwal.SkillwalError as e:
    print("commit", type(e).__name__, e.may_have_changed)
    try:
        r.transaction("after")
        print("after ok")
    except skillwal.SkillwalError as e2:
        print("after", type(e2).__name__)
"""
    after = dict(before)
    after["manifest"] = ("file", 0o644, b"v2")
    after["skill/SKILL.md"] = ("file", 0o644, b"v2")

    def put_back() -> None:
        with skillwal.open(root) as r, r.transaction("back") as t:
            t.write("manifest", b"v1")
            t.write_tree("skill", {"SKILL.md": b"v1"})
        assert tree_state(root) == before

    # How many mutating calls the child makes: the crash hook kills it at call N exactly
    # when N is at most that number (a bisection; each probe's change is put back).
    low, high = 0, 1024  # killed at `low` (or 0), not killed at `high`
    while high - low > 1:
        mid = (low + high) // 2
        killed = run_python(code, {skillwal.CRASH_AFTER_ENV: str(mid)}).returncode == -9
        with skillwal.open(root):
            pass
        if tree_state(root) != before:
            put_back()
        low, high = (mid, high) if killed else (low, mid)
    calls = low
    assert 10 < calls < 1024
    seen = set()
    uncertain_at = calls + 1
    for n in range(1, calls + 1):
        p = run_python(code, {"SKILLWAL_FAIL_AT": f"{n}:EIO"})
        assert p.returncode == 0, p.stderr
        out = p.stdout.split()
        if out == ["ok"]:
            # A failure the engine may ignore (removing what staging left after the
            # retirement): the change is made all the same.
            seen.add("ok")
            assert tree_state(root) == after, n
            put_back()
            continue
        seen.add(out[1])
        if out[0] == "commit" and out[1] == "CommitUncertainError":
            uncertain_at = min(n, uncertain_at)
            assert out[2] == "True"
            assert out[3:] == ["after", "EngineStoppedError"], out
            with skillwal.open(root):
                pass
            state = tree_state(root)
            assert state in (before, after), n
            if state == after:
                put_back()
        else:
            assert out[2] == "False", out
            with skillwal.open(root):
                pass
            assert tree_state(root) == before, (n, out)
    print(f"calls: {calls}, each failed in turn; outcomes seen: {sorted(seen)}")
    # Inside `with skillwal.open(...)`, the closing of the stopped root does not replace
    # the commit's own exception.
    with_blocks = f"""
import skillwal
try:
    with skillwal.open({str(root)!r}) as r, r.transaction("v2") as t:
        t.write("manifest", b"v2")
        t.write_tree("skill", {{"SKILL.md": b"v2"}})
except skillwal.SkillwalError as e:
    print(type(e).__name__)
"""
    p = run_python(with_blocks, {"SKILLWAL_FAIL_AT": f"{uncertain_at}:EIO"})
    assert p.stdout.split() == ["CommitUncertainError"], (p.stdout, p.stderr)
    assert {"FileSystemError", "CommitUncertainError"} <= seen, seen
