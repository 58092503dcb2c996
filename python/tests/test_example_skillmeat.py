"""examples/python/skillmeat_update.py against the real SkillMeat 0.74: its crash test
makes a collection with the `skillmeat` command, prepares an update with SkillMeat's own
code, and kills the skillwal transaction that applies it at every mutating call.

It runs in the Python environment that holds `skillmeat==0.74.0`
(tools/python-compat/setup.sh; `SKILLWAL_SKILLMEAT` names its `skillmeat`), into which
check.sh installs the wheel. Without it the test is skipped, unless
`SKILLWAL_REQUIRE_PYTHON_COMPAT=1` (CI), when it fails."""

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def skillmeat_python() -> Path:
    exe = os.environ.get("SKILLWAL_SKILLMEAT")
    python = Path(exe).parent / "python" if exe else None
    if python is None or not python.exists():
        if os.environ.get("SKILLWAL_REQUIRE_PYTHON_COMPAT") == "1":
            pytest.fail("SKILLWAL_SKILLMEAT does not name the skillmeat of a virtualenv")
        pytest.skip("SKILLWAL_SKILLMEAT is not set (tools/python-compat/setup.sh)")
    return python


def test_the_update_recovers_at_every_crash_point(tmp_path: Path) -> None:
    p = subprocess.run(
        [
            str(skillmeat_python()),
            str(REPO / "examples/python/skillmeat_update.py"),
            "crash-test",
            str(tmp_path / "work"),
            str(REPO / "tests/fixtures/python/sources/my-skill"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    m = re.search(
        r"^(\d+) crash points: (\d+) recovered to before, (\d+) to after, (\d+) otherwise$",
        p.stdout,
        re.M,
    )
    assert m, p.stdout[-2000:]
    points, before, after, otherwise = map(int, m.groups())
    assert points > 30 and before > 0 and after > 0 and otherwise == 0
    assert before + after == points
    # Some kills left the collection mid-update (between the apply's renames): the
    # recovery, not luck, made those whole.
    assert "killed mid-update" in p.stdout
