//! The scenarios: a starting collection built with the binary itself, one command to
//! interrupt, and what the command must do, stated from the sources alone ([`Model`]).
//!
//! Every source is given explicit permission bits (files 0644 and 0755, directories 0755
//! and 0700), set after it is written: the modes the model expects are then those, whatever
//! the umask the harness or skillwal runs under (`--umask`).

use crate::state::{Kind, Model, Present, Tree, tree};
use crate::world::{FIRST, PARTNER, World, chmod, copy_tree, write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A scenario's part in the bounded set; `--full` runs every scenario completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// Every crash point of the command; the recovery crashed at every call after about
    /// six of them; one errno at each call in turn; 100 random kills.
    Bounded,
    /// The same, but the recovery crashed only after the first crash point past the commit
    /// point (where it has the most to roll forward) and 25 random kills: every crash point
    /// and every call's error are still tried, which is where these scenarios' defects
    /// show, and the bounded set stays within about 4 minutes.
    Sampled,
    /// Only with `--full` (or `--scenario`).
    Full,
}

pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    /// How much of it the bounded set (the default, what CI runs) runs.
    pub set: Set,
    /// Whether the partner collection lives on another file system (a tmpfs the harness
    /// mounts; the scenario is skipped, saying so, where it cannot).
    pub other_fs: bool,
    build: fn(&World) -> Result<Prepared, String>,
}

/// A scenario made real in a world.
pub struct Prepared {
    /// The starting collection; every trial works on a copy of it.
    pub start: PathBuf,
    /// The command under test (after `--collection-dir DIR`).
    pub command: Vec<String>,
    pub model: Model,
    /// A command that must succeed on the collection after any crash and recovery.
    pub follow_up: Vec<String>,
    /// Whether `verify` must be clean before and after the command (`None`: whatever it
    /// says without a crash, which every crash must then reproduce). A start the user
    /// modified is not clean.
    pub verify_clean: [Option<bool>; 2],
    /// What the command must do to the second collection, for a scenario with two: the
    /// partner of `start` (`World::partner_of`), named `{partner}` in the command.
    pub partner: Option<Model>,
    /// Whether the command is one transaction across both collections, so that opening
    /// either one recovers both (a copy changes only its destination).
    pub across: bool,
    /// Whether the second unit is a project the command deploys into (named `{partner}`
    /// too), judged by [`crate::state::check_project`] instead of `partner`'s model.
    pub partner_project: bool,
}

/// Both states are as skillwal wrote them: `verify` must be clean in each.
const CLEAN: [Option<bool>; 2] = [Some(true), Some(true)];
/// The user modified files before the command, which restores recorded ones.
const MODIFIED_THEN_CLEAN: [Option<bool>; 2] = [Some(false), Some(true)];

impl Scenario {
    pub fn prepare(&self, w: &World) -> Result<Prepared, String> {
        (self.build)(w)
    }
}

pub const ALL: &[Scenario] = &[
    Scenario {
        name: "add",
        about: "add a skill (files 0644/0755, directories 0755/0700) to a collection of two artifacts",
        set: Set::Bounded,
        other_fs: false,
        build: add,
    },
    Scenario {
        name: "update-one",
        about: "update one skill (a file changed, one added, one removed)",
        set: Set::Bounded,
        other_fs: false,
        build: update_one,
    },
    Scenario {
        name: "update-many",
        about: "update a skill, a command and an agent in one transaction",
        set: Set::Bounded,
        other_fs: false,
        build: update_many,
    },
    Scenario {
        name: "remove",
        about: "remove a skill",
        set: Set::Bounded,
        other_fs: false,
        build: remove,
    },
    Scenario {
        name: "rollback",
        about: "roll a three-artifact update back to the snapshot taken before it",
        set: Set::Bounded,
        other_fs: false,
        build: rollback,
    },
    Scenario {
        name: "undo",
        about: "undo a three-artifact update (its record in the operation log)",
        set: Set::Bounded,
        other_fs: false,
        build: undo,
    },
    Scenario {
        name: "update-large",
        about: "update a skill holding a 4.1 MiB file (past the 4 MiB inline limit: staged outside the journal)",
        set: Set::Full,
        other_fs: false,
        build: update_large,
    },
    Scenario {
        name: "rollback-modes",
        about: "roll back to a snapshot in which a script was 0755, after the user made it 0644 and edited SKILL.md and a command",
        set: Set::Sampled,
        other_fs: false,
        build: rollback_modes,
    },
    Scenario {
        name: "rollback-dir-modes",
        about: "roll back to a snapshot after the user changed the modes of the skill's directory and of two below it, and edited a file",
        set: Set::Sampled,
        other_fs: false,
        build: rollback_dir_modes,
    },
    Scenario {
        name: "update-mode-only",
        about: "update a skill whose source changed only permission bits (chmod +x on a script, chmod 0700 on a directory)",
        set: Set::Sampled,
        other_fs: false,
        build: update_mode_only,
    },
    Scenario {
        name: "type-change",
        about: "roll back to a snapshot after the user replaced a file by a directory and a directory by a file",
        set: Set::Sampled,
        other_fs: false,
        build: type_change,
    },
    Scenario {
        name: "links",
        about: "add a skill holding contained symbolic links (to SKILL.md and to docs/): copied as links",
        set: Set::Sampled,
        other_fs: false,
        build: links,
    },
    Scenario {
        name: "links-undo",
        about: "undo the `remove` of a skill holding contained symbolic links: they come back with it",
        set: Set::Sampled,
        other_fs: false,
        build: links_undo,
    },
    Scenario {
        name: "move",
        about: "move a skill (files 0644/0755, directories 0755/0700) to a second collection: one transaction across both",
        set: Set::Sampled,
        other_fs: false,
        build: move_skill,
    },
    Scenario {
        name: "copy",
        about: "copy a skill to a second collection (only the second changes)",
        set: Set::Full,
        other_fs: false,
        build: copy_skill,
    },
    Scenario {
        name: "update-across",
        about: "update a skill held by two collections with --collections: one transaction across both",
        set: Set::Full,
        other_fs: false,
        build: update_across,
    },
    Scenario {
        name: "move-other-fs",
        about: "move a skill to a second collection on another file system (a tmpfs; skipped where none can be mounted)",
        set: Set::Full,
        other_fs: true,
        build: move_skill,
    },
    Scenario {
        name: "deploy",
        about: "deploy a skill, a command and an agent into a project: files and .skillmeat-deployed.toml together",
        set: Set::Full,
        other_fs: false,
        build: deploy,
    },
    Scenario {
        name: "redeploy",
        about: "redeploy a skill and a command the collection updated into a project holding them: the skill's directory replaced whole",
        set: Set::Full,
        other_fs: false,
        build: redeploy,
    },
    Scenario {
        name: "undeploy",
        about: "undeploy a skill and a command from a project: files and records together",
        set: Set::Full,
        other_fs: false,
        build: undeploy,
    },
    Scenario {
        name: "update-deploy",
        about: "update a skill and a command and refresh their deployment in a project: one transaction across the collection and the project",
        set: Set::Full,
        other_fs: false,
        build: update_deploy,
    },
    Scenario {
        name: "pull",
        about: "pull a project's changed copy of a skill into the collection, with the project's record: one transaction across both",
        set: Set::Full,
        other_fs: false,
        build: pull,
    },
];

pub fn by_name(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Writes a skill source with explicit permission bits: the skill's directory 0755,
/// `SKILL.md` 0644, `scripts/` 0755 holding `run.sh` 0755, `docs/` 0755 holding `notes.txt`
/// 0644, and `private/` 0700 holding `config.txt` 0644.
fn skill(w: &World, name: &str, tag: &str) -> Result<PathBuf, String> {
    let dir = w.src.join(name);
    put(
        &dir.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: The {name} skill\n---\n{tag}\n").as_bytes(),
        0o644,
    )?;
    put(&dir.join("scripts/run.sh"), b"#!/bin/sh\necho run\n", 0o755)?;
    put(
        &dir.join("docs/notes.txt"),
        format!("notes for {name} {tag}\n").as_bytes(),
        0o644,
    )?;
    put(&dir.join("private/config.txt"), b"level = 1\n", 0o644)?;
    for (d, mode) in [
        ("", 0o755),
        ("scripts", 0o755),
        ("docs", 0o755),
        ("private", 0o700),
    ] {
        chmod(&dir.join(d), mode)?;
    }
    Ok(dir)
}

/// Writes `bytes` to `p` with exactly the permission bits `mode`.
fn put(p: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    write(p, bytes)?;
    chmod(p, mode)
}

/// Appends a line to a file, keeping its mode (what an editor saving in place does).
fn append(p: &Path, line: &str) -> Result<(), String> {
    let mut text = std::fs::read(p).map_err(|e| format!("read {}: {e}", p.display()))?;
    text.extend_from_slice(line.as_bytes());
    text.push(b'\n');
    std::fs::write(p, text).map_err(|e| format!("write {}: {e}", p.display()))
}

fn file(w: &World, file: &str, tag: &str) -> Result<PathBuf, String> {
    let p = w.src.join(file);
    put(
        &p,
        format!("---\ndescription: {file}\n---\n{tag}\n").as_bytes(),
        0o644,
    )?;
    Ok(p)
}

/// `init`, then a skill `alpha`, a command `review` and an agent `helper`.
fn three(w: &World) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    w.must(&["init"])?;
    let a = skill(w, "alpha", "v1")?;
    let r = file(w, "review.md", "review v1")?;
    let h = file(w, "helper.md", "helper v1")?;
    w.must(&["add", "skill", &s(&a)])?;
    w.must(&["add", "command", &s(&r)])?;
    w.must(&["add", "agent", &s(&h)])?;
    Ok((a, r, h))
}

/// Copies of the three sources as they are now, to judge a later rollback by.
fn keep_three(w: &World, a: &Path, r: &Path, h: &Path) -> Result<[Present; 3], String> {
    let kept = w.root.join("src-at-snapshot");
    copy_tree(a, &kept.join("alpha"))?;
    for (from, to) in [(r, "review.md"), (h, "helper.md")] {
        std::fs::copy(from, kept.join(to)).map_err(|e| format!("copy {}: {e}", from.display()))?;
    }
    Ok([
        Present::new(Kind::Skill, "alpha", kept.join("alpha")),
        Present::new(Kind::Command, "review", kept.join("review.md")),
        Present::new(Kind::Agent, "helper", kept.join("helper.md")),
    ])
}

/// The snapshot id in the JSON `snapshot --json` prints.
fn snapshot_id(stdout: &str) -> Result<u64, String> {
    let v: serde_json::Value = serde_json::from_str(stdout)
        .map_err(|e| format!("skillwal printed no JSON ({e}): {stdout}"))?;
    v["snapshot"]["snapshot"]["id"]
        .as_u64()
        .ok_or_else(|| format!("no snapshot id in {stdout}"))
}

/// Takes a snapshot of the home's collection; returns its id and the collection as the
/// harness read it just before (what a rollback to it must bring back).
fn snapshot(w: &World, message: &str) -> Result<(u64, Tree), String> {
    let at = tree(&w.coll())?;
    let r = w.must(&["--json", "snapshot", "-m", message])?;
    Ok((snapshot_id(&r.stdout)?, at))
}

fn rollback_to(id: u64) -> Vec<String> {
    vec!["rollback".into(), id.to_string(), "--yes".into()]
}

fn follow_up(w: &World) -> Result<Vec<String>, String> {
    let p = file(w, "followup.md", "follow-up")?;
    Ok(vec!["add".into(), "command".into(), s(&p)])
}

/// Changes a skill source: one file edited, one added, one removed.
fn change_skill(dir: &Path, tag: &str) -> Result<(), String> {
    append(&dir.join("SKILL.md"), tag)?;
    put(
        &dir.join("docs/new.txt"),
        format!("{tag}\n").as_bytes(),
        0o644,
    )?;
    std::fs::remove_file(dir.join("docs/notes.txt")).map_err(|e| e.to_string())
}

/// An update must write what an update writes: a new `last_updated` in the artifact's
/// manifest entry, a new `fetched` in its lock entry.
fn updated(kind: Kind, name: &str, source: PathBuf) -> Present {
    Present {
        updated: true,
        ..Present::new(kind, name, source)
    }
}

fn add(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let a = skill(w, "alpha", "v1")?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&a)])?;
    w.must(&["add", "command", &s(&r)])?;
    let beta = skill(w, "beta", "v1")?;
    Ok(Prepared {
        start: w.coll(),
        command: vec!["add".into(), "skill".into(), s(&beta)],
        model: Model {
            present: vec![Present::new(Kind::Skill, "beta", beta)],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

fn update_one(w: &World) -> Result<Prepared, String> {
    let (a, _, _) = three(w)?;
    change_skill(&a, "v2")?;
    Ok(Prepared {
        start: w.coll(),
        command: ["update", "alpha", "--strategy", "upstream"]
            .map(String::from)
            .to_vec(),
        model: Model {
            present: vec![updated(Kind::Skill, "alpha", a)],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

fn update_many(w: &World) -> Result<Prepared, String> {
    let (a, r, h) = three(w)?;
    change_skill(&a, "v2")?;
    file(w, "review.md", "review v2")?;
    file(w, "helper.md", "helper v2")?;
    Ok(Prepared {
        start: w.coll(),
        command: ["update", "--all", "--strategy", "upstream"]
            .map(String::from)
            .to_vec(),
        model: Model {
            present: vec![
                updated(Kind::Skill, "alpha", a),
                updated(Kind::Command, "review", r),
                updated(Kind::Agent, "helper", h),
            ],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

fn remove(w: &World) -> Result<Prepared, String> {
    three(w)?;
    Ok(Prepared {
        start: w.coll(),
        command: ["remove", "alpha"].map(String::from).to_vec(),
        model: Model {
            absent: vec![(Kind::Skill, "alpha".into())],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// Deterministic bytes that do not compress to nothing (xorshift).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Past skillwal's inline limit (4 MiB, wal-spec.md §8): staged in a file of its own.
const BIG: usize = 4 * 1024 * 1024 + 64 * 1024;

fn update_large(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let big = skill(w, "big", "v1")?;
    put(&big.join("data.bin"), &noise(BIG, 1), 0o644)?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&big)])?;
    w.must(&["add", "command", &s(&r)])?;
    change_skill(&big, "v2")?;
    put(&big.join("data.bin"), &noise(BIG, 2), 0o644)?;
    Ok(Prepared {
        start: w.coll(),
        command: ["update", "big", "--strategy", "upstream"]
            .map(String::from)
            .to_vec(),
        model: Model {
            present: vec![updated(Kind::Skill, "big", big)],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

fn undo(w: &World) -> Result<Prepared, String> {
    back_from_an_update(w, |w| {
        let at = tree(&w.coll())?;
        Ok((vec!["undo".into(), "--yes".into()], at))
    })
}

fn rollback(w: &World) -> Result<Prepared, String> {
    back_from_an_update(w, |w| {
        let (id, at) = snapshot(w, "before the update")?;
        Ok((rollback_to(id), at))
    })
}

/// Three artifacts, then `mark` (which returns the command that brings the collection back,
/// and the collection as it is then), then an update of all three: the command must leave
/// the collection exactly as it was at the mark.
fn back_from_an_update(
    w: &World,
    mark: impl FnOnce(&World) -> Result<(Vec<String>, Tree), String>,
) -> Result<Prepared, String> {
    let (a, r, h) = three(w)?;
    let kept = keep_three(w, &a, &r, &h)?;
    let (command, at) = mark(w)?;
    change_skill(&a, "v2")?;
    file(w, "review.md", "review v2")?;
    file(w, "helper.md", "helper v2")?;
    w.must(&["update", "--all", "--strategy", "upstream"])?;
    Ok(Prepared {
        start: w.coll(),
        command,
        model: Model {
            present: kept.to_vec(),
            whole: Some(at),
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// Finding 1 exactly: the snapshot has `scripts/run.sh` 0755; then the user makes it 0644
/// and edits `SKILL.md` of the same skill and the command. The rollback changes three paths;
/// the script's change is of its permission bits only, and it comes last (path order), so a
/// crash past the commit point finds its content already right while the other two may
/// still be to do. A recovery that judges the script by its bytes alone leaves it 0644.
fn rollback_modes(w: &World) -> Result<Prepared, String> {
    let (a, r, h) = three(w)?;
    let kept = keep_three(w, &a, &r, &h)?;
    let (id, at) = snapshot(w, "before the user's changes")?;
    let c = w.coll();
    chmod(&c.join("skills/alpha/scripts/run.sh"), 0o644)?;
    append(&c.join("skills/alpha/SKILL.md"), "edited by the user")?;
    append(&c.join("commands/review.md"), "edited by the user")?;
    Ok(Prepared {
        start: c,
        command: rollback_to(id),
        model: Model {
            present: kept.to_vec(),
            whole: Some(at),
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: MODIFIED_THEN_CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// Directories' permission bits are part of a snapshot: the user makes the skill's own
/// directory 0700, `private/` 0755 and `scripts/` 0700 (and edits a file, so that the
/// rollback has content to restore too); the rollback must bring back 0755, 0700 and 0755.
fn rollback_dir_modes(w: &World) -> Result<Prepared, String> {
    let (a, r, h) = three(w)?;
    let kept = keep_three(w, &a, &r, &h)?;
    let (id, at) = snapshot(w, "before the user's changes")?;
    let c = w.coll();
    append(&c.join("skills/alpha/docs/notes.txt"), "edited by the user")?;
    chmod(&c.join("skills/alpha"), 0o700)?;
    chmod(&c.join("skills/alpha/private"), 0o755)?;
    chmod(&c.join("skills/alpha/scripts"), 0o700)?;
    Ok(Prepared {
        start: c,
        command: rollback_to(id),
        model: Model {
            present: kept.to_vec(),
            whole: Some(at),
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: MODIFIED_THEN_CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// Finding 2: upstream changes nothing but permission bits — `chmod +x` on a script and
/// `chmod 0700` on a directory. That is a change; the update must carry it over.
fn update_mode_only(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let a = skill(w, "alpha", "v1")?;
    put(
        &a.join("scripts/check.sh"),
        b"#!/bin/sh\necho check\n",
        0o644,
    )?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&a)])?;
    w.must(&["add", "command", &s(&r)])?;
    chmod(&a.join("scripts/check.sh"), 0o755)?;
    chmod(&a.join("docs"), 0o700)?;
    Ok(Prepared {
        start: w.coll(),
        command: ["update", "alpha", "--strategy", "upstream"]
            .map(String::from)
            .to_vec(),
        model: Model {
            present: vec![updated(Kind::Skill, "alpha", a)],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// Finding 5: the snapshot has `skills/x/thing` a file and `skills/x/stuff/` a directory of
/// two files; the user turns `thing` into a directory of two files and `stuff` into a file.
/// The rollback must restore both kinds (and every mode).
fn type_change(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let x = skill(w, "x", "v1")?;
    put(&x.join("thing"), b"a file at the snapshot\n", 0o644)?;
    put(&x.join("stuff/a.txt"), b"a\n", 0o644)?;
    put(&x.join("stuff/b.sh"), b"#!/bin/sh\necho b\n", 0o755)?;
    chmod(&x.join("stuff"), 0o755)?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&x)])?;
    w.must(&["add", "command", &s(&r)])?;
    let kept = w.root.join("src-at-snapshot").join("x");
    copy_tree(&x, &kept)?;
    let (id, at) = snapshot(w, "before the user's changes")?;
    let c = w.coll().join("skills/x");
    std::fs::remove_file(c.join("thing")).map_err(|e| e.to_string())?;
    put(&c.join("thing/one.txt"), b"one\n", 0o644)?;
    put(&c.join("thing/two.txt"), b"two\n", 0o644)?;
    chmod(&c.join("thing"), 0o755)?;
    std::fs::remove_dir_all(c.join("stuff")).map_err(|e| e.to_string())?;
    put(&c.join("stuff"), b"a file now\n", 0o644)?;
    Ok(Prepared {
        start: w.coll(),
        command: rollback_to(id),
        model: Model {
            present: vec![Present::new(Kind::Skill, "x", kept)],
            whole: Some(at),
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: MODIFIED_THEN_CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// The contained links of [`links`] and [`links_undo`]: relative, resolved from the
/// link's directory they stay inside the skill and exist.
const LINKS: [(&str, &str); 2] = [("link-to-file", "SKILL.md"), ("docs-link", "docs")];

fn put_links(dir: &Path) -> Result<(), String> {
    for (link, target) in LINKS {
        let p = dir.join(link);
        symlink(target, &p).map_err(|e| format!("symlink {}: {e}", p.display()))?;
    }
    Ok(())
}

/// Finding 4, add: a skill whose source holds two contained links is copied with them AS
/// LINKS (same targets), not dereferenced and not refused. The lock's hash is SkillMeat's
/// of the source, which counts `link-to-file` with its target's bytes ([`skillmeat_hash`]).
///
/// [`skillmeat_hash`]: crate::state::skillmeat_hash
fn links(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let a = skill(w, "alpha", "v1")?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&a)])?;
    w.must(&["add", "command", &s(&r)])?;
    let beta = skill(w, "beta", "v1")?;
    put_links(&beta)?;
    Ok(Prepared {
        start: w.coll(),
        command: vec!["add".into(), "skill".into(), s(&beta)],
        model: Model {
            present: vec![Present::new(Kind::Skill, "beta", beta)],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// Finding 4, remove then rollback: contained links found in a skill of the collection are
/// recorded by the snapshot `remove` takes, and the rollback to it brings them back as
/// links with their targets. The links are put into the collection by hand (not through
/// `add`, which is what [`links`] tests), so that this scenario judges snapshots and
/// rollback alone; the lock then still holds the hash `add` recorded without them, and
/// [`Model::whole`] says it must come back as it was.
fn links_undo(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let a = skill(w, "alpha", "v1")?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&a)])?;
    w.must(&["add", "command", &s(&r)])?;
    put_links(&w.coll().join("skills/alpha"))?;
    let kept = w.root.join("src-at-snapshot").join("alpha");
    copy_tree(&a, &kept)?;
    put_links(&kept)?;
    let at = tree(&w.coll())?;
    w.must(&["remove", "alpha"])?;
    Ok(Prepared {
        start: w.coll(),
        command: vec!["undo".into(), "--yes".into()],
        model: Model {
            present: vec![Present {
                lock_hash: false,
                ..Present::new(Kind::Skill, "alpha", kept)
            }],
            whole: Some(at),
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        // After: `verify` judges links against a lock written without them; what it must
        // say there is not the point here, only that every crash gets the same verdict.
        verify_clean: [Some(true), None],
        partner: None,
        across: false,
        partner_project: false,
    })
}

/// The second collection of a scenario with two, holding a command `note`: the partner of
/// the home's default collection (`World::partner_of`).
fn partner_start(w: &World) -> Result<PathBuf, String> {
    let partner = w.partner_of(&w.coll());
    w.must_in(&partner, &["init"])?;
    let note = file(w, "note.md", "note v1")?;
    w.must_in(&partner, &["add", "command", &s(&note)])?;
    Ok(partner)
}

fn move_skill(w: &World) -> Result<Prepared, String> {
    let (a, _, _) = three(w)?;
    partner_start(w)?;
    Ok(Prepared {
        start: w.coll(),
        command: ["move", "alpha", "--to", PARTNER]
            .map(String::from)
            .to_vec(),
        model: Model {
            absent: vec![(Kind::Skill, "alpha".into())],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: Some(Model {
            present: vec![Present::new(Kind::Skill, "alpha", a)],
            ..Model::default()
        }),
        across: true,
        partner_project: false,
    })
}

fn copy_skill(w: &World) -> Result<Prepared, String> {
    let (a, _, _) = three(w)?;
    partner_start(w)?;
    Ok(Prepared {
        start: w.coll(),
        command: ["copy", "alpha", "--to", PARTNER]
            .map(String::from)
            .to_vec(),
        model: Model::default(),
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: Some(Model {
            present: vec![Present::new(Kind::Skill, "alpha", a)],
            ..Model::default()
        }),
        across: false,
        partner_project: false,
    })
}

fn update_across(w: &World) -> Result<Prepared, String> {
    let (a, _, _) = three(w)?;
    let partner = partner_start(w)?;
    w.must_in(&partner, &["add", "skill", &s(&a)])?;
    change_skill(&a, "v2")?;
    let collections = format!("{FIRST},{PARTNER}");
    Ok(Prepared {
        start: w.coll(),
        command: [
            "update",
            "alpha",
            "--collections",
            &collections,
            "--strategy",
            "upstream",
        ]
        .map(String::from)
        .to_vec(),
        model: Model {
            present: vec![updated(Kind::Skill, "alpha", a.clone())],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: Some(Model {
            present: vec![updated(Kind::Skill, "alpha", a)],
            ..Model::default()
        }),
        across: true,
        partner_project: false,
    })
}

/// The project a deploy scenario deploys into: the partner of the home's default
/// collection (`World::partner_of`), an empty directory.
fn project_start(w: &World) -> Result<PathBuf, String> {
    let p = w.partner_of(&w.coll());
    std::fs::create_dir_all(&p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
    Ok(p)
}

/// A command that changes only the project (the partner, named [`PARTNER`] in it) and only
/// reads the collection: the project is judged by `check_project`, the collection must be
/// as it was.
fn in_project_only(w: &World, command: &[&str]) -> Result<Prepared, String> {
    Ok(Prepared {
        start: w.coll(),
        command: command.iter().map(|a| a.to_string()).collect(),
        model: Model::default(),
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        partner: Some(Model::default()),
        across: false,
        partner_project: true,
    })
}

fn deploy(w: &World) -> Result<Prepared, String> {
    three(w)?;
    project_start(w)?;
    in_project_only(
        w,
        &["deploy", "alpha", "review", "helper", "--project", PARTNER],
    )
}

/// A project with alpha, review and helper deployed from the collection `three` made.
fn deployed_three(w: &World) -> Result<(PathBuf, PathBuf, PathBuf, PathBuf), String> {
    let (a, r, h) = three(w)?;
    let p = project_start(w)?;
    w.must(&["deploy", "alpha", "review", "helper", "--project", &s(&p)])?;
    Ok((a, r, h, p))
}

fn redeploy(w: &World) -> Result<Prepared, String> {
    let (a, _, _, _) = deployed_three(w)?;
    change_skill(&a, "v2")?;
    file(w, "review.md", "review v2")?;
    w.must(&["update", "alpha", "review", "--strategy", "upstream"])?;
    // The project's copies become the collection's new ones.
    in_project_only(w, &["deploy", "alpha", "review", "--project", PARTNER])
}

fn undeploy(w: &World) -> Result<Prepared, String> {
    deployed_three(w)?;
    // After, helper's record is left, agreeing with its files (`check_project`).
    in_project_only(w, &["undeploy", "alpha", "review", "--project", PARTNER])
}

fn update_deploy(w: &World) -> Result<Prepared, String> {
    let (a, r, _) = three(w)?;
    let p = project_start(w)?;
    w.must(&["deploy", "alpha", "review", "--project", &s(&p)])?;
    change_skill(&a, "v2")?;
    file(w, "review.md", "review v2")?;
    Ok(Prepared {
        start: w.coll(),
        command: [
            "update",
            "alpha",
            "review",
            "--deploy",
            "--strategy",
            "upstream",
        ]
        .map(String::from)
        .to_vec(),
        model: Model {
            present: vec![
                updated(Kind::Skill, "alpha", a),
                updated(Kind::Command, "review", r),
            ],
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        verify_clean: CLEAN,
        // After, the project's copies are the collection's new ones (`check_project`).
        partner: Some(Model::default()),
        across: true,
        partner_project: true,
    })
}

fn pull(w: &World) -> Result<Prepared, String> {
    three(w)?;
    let p = project_start(w)?;
    w.must(&["deploy", "alpha", "--project", &s(&p)])?;
    let copy = p.join(".claude/skills/alpha");
    append(&copy.join("SKILL.md"), "improved in the project")?;
    put(&copy.join("docs/more.md"), b"more\n", 0o600)?;
    // Afterwards the collection is as before with the project's copy in place of alpha's
    // files (its lock is not changed: the pulled changes are local modifications).
    let before = tree(&w.coll())?;
    let mut whole: Tree = before
        .into_iter()
        .filter(|(k, _)| k != "skills/alpha" && !k.starts_with("skills/alpha/"))
        .collect();
    for (k, v) in crate::state::tree_of(&copy)? {
        let key = if k.is_empty() {
            "skills/alpha".to_string()
        } else {
            format!("skills/alpha/{k}")
        };
        whole.insert(key, v);
    }
    Ok(Prepared {
        start: w.coll(),
        command: ["pull", "alpha", "--project", PARTNER]
            .map(String::from)
            .to_vec(),
        model: Model {
            whole: Some(whole),
            ..Model::default()
        },
        follow_up: follow_up(w)?,
        // After, the collection holds the pulled changes on top of its lock.
        verify_clean: [Some(true), Some(false)],
        partner: Some(Model::default()),
        across: true,
        partner_project: true,
    })
}
