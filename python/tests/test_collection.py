"""`open(..., collection=True)`: a SkillMeat collection's engine directory where
skillwal's CLI keeps it (beside the collection, wal-spec.md §2), so that the package and
the `skillwal` binary share one journal. Runs the real binary (`SKILLWAL_BIN`, which
check.sh sets to the release build)."""

import json
from pathlib import Path

import pytest
import skillwal
from conftest import collection_cli as cli
from conftest import run_python, tree_state


def test_the_package_and_the_cli_share_one_journal(tmp_path: Path) -> None:
    c = tmp_path / "col"
    assert cli(c, "init").returncode == 0
    beside = tmp_path / ".skillwal" / "col"
    assert (beside / "journal").exists()
    # A Python process commits a transaction in the collection and is killed before the
    # checkpoint: the journal beside the collection holds it.
    code = f"""
import os, skillwal
r = skillwal.open({str(c)!r}, collection=True)
with r.transaction("made in Python", durable=False) as t:
    t.write_tree("skills/from-python", {{"SKILL.md": b"# from python\\n"}})
os.kill(os.getpid(), 9)
"""
    assert run_python(code).returncode == -9
    assert not (c / ".skillwal").exists()
    assert skillwal.needs_recovery(c, collection=True)
    report = skillwal.inspect_journal(c, collection=True)
    assert report["label"] == "made in Python" and report["state"] == "committed"
    # The CLI finds it there and completes it.
    p = cli(c, "recover", "--json")
    assert p.returncode == 0, p.stderr
    recovered = json.loads(p.stdout)
    assert "rolled-forward" in json.dumps(recovered), recovered
    assert not skillwal.needs_recovery(c, collection=True)
    assert tree_state(c)["skills/from-python/SKILL.md"] == (
        "file",
        0o644,
        b"# from python\n",
    )


def test_an_older_state_inside_the_collection_is_moved_beside_it(tmp_path: Path) -> None:
    c = tmp_path / "col"
    assert cli(c, "init").returncode == 0
    # An older skillwal kept it inside: put it there, as the CLI's own migration expects.
    (tmp_path / ".skillwal" / "col").rename(c / ".skillwal")
    assert not (tmp_path / ".skillwal" / "col").exists()
    assert (c / ".skillwal" / "journal").exists()
    with skillwal.open(c, collection=True) as r:
        with r.transaction("after the move") as t:
            t.write("notes.txt", b"n")
    assert not (c / ".skillwal").exists()
    assert (tmp_path / ".skillwal" / "col" / "journal").exists()
    assert cli(c, "verify").returncode == 0


def test_a_directory_that_is_not_a_collection_is_refused_and_left_alone(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with skillwal.open(plain) as r, r.transaction("plain") as t:
        t.write("f", b"f")
    with pytest.raises(skillwal.SkillwalError, match="not a SkillMeat collection"):
        skillwal.open(plain, collection=True)
    # Its state stayed inside it.
    assert (plain / ".skillwal" / "journal").exists()
    assert not (tmp_path / ".skillwal").exists()
