"""The collection operations (`skillwal.open_collection`): each a journaled transaction
with its record in the collection's log, on a collection the `skillwal` binary made and
reads back."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import skillwal
from conftest import cli as skillwal_cli
from conftest import collection_cli as cli
from conftest import tree_state


@pytest.fixture
def made(tmp_path: Path):
    """A collection made by the binary, and a skill's source directory."""
    c = tmp_path / "col"
    assert cli(c, "init").returncode == 0
    src = tmp_path / "src" / "hello"
    (src / "scripts").mkdir(parents=True)
    (src / "SKILL.md").write_text("---\nname: hello\ndescription: says hello\n---\n# hello\n")
    (src / "scripts" / "run.sh").write_text("echo hello\n")
    os.chmod(src / "scripts" / "run.sh", 0o755)
    return c, src


def test_add_update_undo_redo_remove(made) -> None:
    c, src = made
    with skillwal.open_collection(c) as col:
        assert col.recovery["outcome"] == "nothing"
        entry = col.add(src, "skill")
        assert entry["name"] == "hello" and entry["type"] == "skill"
        assert len(entry["content_hash"]) == 64
        assert (c / "skills/hello/scripts/run.sh").stat().st_mode & 0o777 == 0o755
        [status] = col.status()
        assert status["name"] == "hello"
        report = col.verify()
        assert report["ok"] == ["hello::skill"] and report["modified"] == [], report
        added = tree_state(c)

        (src / "SKILL.md").write_text("---\nname: hello\ndescription: says hello\n---\n# v2\n")
        done = col.update(["hello"], strategy="upstream")
        assert [o["action"] for o in done["outcomes"]] == ["updated"]
        assert (c / "skills/hello/SKILL.md").read_text().endswith("# v2\n")
        updated = tree_state(c)

        log = col.log()
        assert [r["command"].split()[0] for r in log[:2]] == ["update", "add"], log[:2]
        assert col.log(name="hello", limit=1)[0]["id"] == log[0]["id"]

        col.undo()
        assert tree_state(c) == added
        col.redo()
        assert tree_state(c) == updated

        col.remove("hello")
        assert not (c / "skills/hello").exists()
        log = col.log()
        ids = [r["id"] for r in log]
    assert [r["command"].split()[0] for r in log] == ["remove", "redo", "undo", "update", "add"]
    # The binary reads what the package wrote, and its log is the same log.
    p = cli(c, "log", "--json")
    assert p.returncode == 0, p.stderr
    assert [r["id"] for r in json.loads(p.stdout)["records"]] == ids


def test_snapshots_and_rollback(made) -> None:
    c, src = made
    with skillwal.open_collection(c) as col:
        col.add(src, "skill")
        before = tree_state(c)
        snap = col.snapshot("before removing")["snapshot"]
        assert [s["id"] for s in col.snapshots()] == [snap["id"]]
        col.remove("hello")
        col.rollback(snap["id"])
        assert tree_state(c) == before


def test_an_undo_never_overwrites_a_path_changed_since(made) -> None:
    c, src = made
    with skillwal.open_collection(c) as col:
        col.add(src, "skill")
        (src / "SKILL.md").write_text("---\nname: hello\ndescription: d\n---\n# v2\n")
        col.update(["hello"])
        (c / "skills/hello/SKILL.md").write_text("edited by hand\n")
        seen = tree_state(c)
        with pytest.raises(skillwal.ConflictError) as e:
            col.undo()
        assert any("skills/hello" in line for line in e.value.conflicts), e.value.conflicts
        assert e.value.may_have_changed is False
        assert tree_state(c) == seen
        col.undo(force=True)
        assert "# hello" in (c / "skills/hello/SKILL.md").read_text()


def test_collection_errors(made, tmp_path: Path) -> None:
    c, src = made
    with skillwal.open_collection(c) as col:
        with pytest.raises(skillwal.NotFoundError) as e:
            col.remove("missing")
        assert isinstance(e.value, LookupError) and e.value.kind == "NotFound"
        with pytest.raises(skillwal.InvalidArgumentError):
            col.add(src, "plugin")
        with pytest.raises(skillwal.InvalidArgumentError):
            col.update(["hello"], strategy="prompt")
        col.add(src, "skill")
        with pytest.raises(skillwal.CollectionError) as e:
            col.add(src, "skill")
        assert e.value.kind == "AlreadyExists" and e.value.may_have_changed is False
        with pytest.raises(skillwal.InvalidArgumentError):
            col.add(tmp_path / "does-not-exist", "skill")
    assert col.closed
    with pytest.raises(skillwal.StateError):
        col.status()
    with pytest.raises(skillwal.CollectionError, match="not a collection|collection"):
        skillwal.open_collection(tmp_path / "src")


def test_a_collection_of_a_home_by_name(made, tmp_path: Path) -> None:
    """`home=` and `name=` find `<home>/collections/<name>`, as the CLI's --home and -c."""
    home = tmp_path / "home"
    (home / "collections").mkdir(parents=True)
    c = home / "collections" / "work"
    assert cli(c, "init").returncode == 0
    with skillwal.open_collection(home=home, name="work") as col:
        assert Path(col.path) == c.resolve()
    with pytest.raises(skillwal.LockedError):
        with skillwal.open_collection(c), skillwal.open_collection(c, wait=False):
            pass


def added_and_a_project(made, tmp_path: Path):
    """The skill added to the collection, and an empty project directory."""
    c, src = made
    with skillwal.open_collection(c) as col:
        col.add(src, "skill")
    project = tmp_path / "project"
    project.mkdir()
    return c, project


def test_deploy_into_a_project(made, tmp_path: Path) -> None:
    c, project = added_and_a_project(made, tmp_path)
    done = skillwal.deploy(project, ["hello"], collection=c)
    [item] = done["items"]
    assert (item["name"], item["action"], item["path"]) == ("hello", "deployed", ".claude/skills/hello")
    assert done["committed"] and done["record"] is not None
    deployed = project / ".claude/skills/hello"
    assert tree_state(deployed) == {
        k.removeprefix("skills/hello/"): v
        for k, v in tree_state(c).items()
        if k.startswith("skills/hello/")
    }
    # A change made in the project is refused, then overwritten on request.
    (deployed / "SKILL.md").write_text("changed in the project\n")
    seen = tree_state(project)
    with pytest.raises(skillwal.CollectionError) as e:
        skillwal.deploy(project, ["hello"], collection=c)
    assert e.value.kind == "LocalChanges" and "SKILL.md" in str(e.value)
    # Unchanged, but for the Python tool's empty lock files, which skillwal takes as that
    # tool does and, like it, never deletes (wal-spec.md §15.5).
    left = {k: v for k, v in tree_state(project).items() if not k.endswith(".skillmeat-lock")}
    assert left == seen
    done = skillwal.deploy(project, ["hello"], collection=c, overwrite=True)
    assert (deployed / "SKILL.md").read_bytes() == (c / "skills/hello/SKILL.md").read_bytes()
    # Both deploys are in the project's own log, which the binary reads.
    p = skillwal_cli("log", "--project", str(project), "--json")
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["records"]) == 2
    with pytest.raises(skillwal.CollectionError) as e:
        skillwal.deploy(project, ["hello"], collection=c, profiles=["nope"])
    assert e.value.kind == "UnknownProfile"


def test_a_part_whose_deciding_collection_is_gone_is_in_doubt(tmp_path: Path) -> None:
    """A move between two collections, killed once the destination's part is prepared and
    the source has decided to commit; then the source's engine state is moved away. The
    destination cannot know whether the move committed: InDoubtError, nothing changed."""

    def sw(home: Path, *args: str, env=None) -> subprocess.CompletedProcess:
        return skillwal_cli("--home", str(home), *args, env=env)

    src = tmp_path / "src" / "hello"
    src.mkdir(parents=True)
    (src / "SKILL.md").write_text("---\nname: hello\ndescription: hi\n---\nbody\n")
    template = tmp_path / "template"
    for args in (["init"], ["-c", "work", "init"], ["add", "skill", str(src)]):
        assert sw(template, *args).returncode == 0
    for n in range(1, 400):
        home = tmp_path / f"home{n}"
        subprocess.run(["cp", "-a", str(template), str(home)], check=True)
        killed = sw(home, "move", "hello", "--to", "work", env={skillwal.CRASH_AFTER_ENV: str(n)})
        assert killed.returncode != 0, "the move never reached a prepared, committed state"
        dry = json.loads(sw(home, "-c", "work", "recover", "--dry-run", "--json").stdout)
        plan = dry["plan"]
        if plan["outcome"] == "across-roots" and plan["across"]["decision"] == "commit":
            break
        subprocess.run(["rm", "-rf", str(home)], check=True)
    work = home / "collections" / "work"
    state = home / "collections" / ".skillwal"
    (state / "default").rename(home / "away")
    before = tree_state(work)
    with pytest.raises(skillwal.InDoubtError) as e:
        skillwal.open_collection(home=home, name="work")
    assert "not known" in str(e.value) and e.value.may_have_changed is False
    with pytest.raises(skillwal.InDoubtError):
        skillwal.open(work, collection=True)
    assert tree_state(work) == before
    # The deciding collection back: the move completes in both.
    (home / "away").rename(state / "default")
    with skillwal.open_collection(home=home, name="work") as col:
        assert col.recovery["outcome"] == "rolled-forward", col.recovery
        assert [s["name"] for s in col.status()] == ["hello"]
    assert (work / "skills/hello/SKILL.md").is_file()
    assert not (home / "collections/default/skills/hello").exists()


def test_pull_and_undeploy(made, tmp_path: Path) -> None:
    c, project = added_and_a_project(made, tmp_path)
    skillwal.deploy(project, ["hello"], collection=c)
    deployed = project / ".claude/skills/hello"
    # A change made in the project, brought back into the collection.
    (deployed / "SKILL.md").write_text("---\nname: hello\ndescription: d\n---\nedited in the project\n")
    pulled = skillwal.pull(project, "hello", collection=c)
    assert (pulled["action"], pulled["path"]) == ("pulled", ".claude/skills/hello")
    assert pulled["transaction_across"]
    assert (c / "skills/hello/SKILL.md").read_bytes() == (deployed / "SKILL.md").read_bytes()
    with skillwal.open_collection(c) as col:
        assert col.log(limit=1)[0]["command"].split()[0] == "pull"
        # The lock keeps the hash of what was fetched from the source, so the pulled
        # change shows as a local modification (README, `pull`).
        assert col.verify()["modified"] == ["hello::skill"]
    skillwal.undeploy(project, ["hello"])
    assert not deployed.exists()
    p = skillwal_cli("log", "--project", str(project), "--json")
    assert p.returncode == 0, p.stderr
    commands = [r["command"].split()[0] for r in json.loads(p.stdout)["records"]]
    assert commands == ["undeploy", "pull", "deploy"], commands
    with pytest.raises(skillwal.CollectionError) as e:
        skillwal.undeploy(project, ["hello"], profile="nope")
    assert e.value.kind == "UnknownProfile"
