//! The scenarios: a starting collection built with the binary itself, one command to
//! interrupt, and what the command must do, stated from the sources alone ([`Model`]).

use crate::state::{Kind, Model};
use crate::world::{World, chmod, copy_tree, write};
use std::path::{Path, PathBuf};

pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    /// Part of the bounded set CI runs (all deterministic points and the random kills).
    pub small: bool,
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
}

impl Scenario {
    pub fn prepare(&self, w: &World) -> Result<Prepared, String> {
        (self.build)(w)
    }
}

pub const ALL: &[Scenario] = &[
    Scenario {
        name: "add",
        about: "add a three-file skill to a collection of two artifacts",
        small: true,
        build: add,
    },
    Scenario {
        name: "update-one",
        about: "update one skill (a file changed, one added, one removed)",
        small: true,
        build: update_one,
    },
    Scenario {
        name: "update-many",
        about: "update a skill, a command and an agent in one transaction",
        small: true,
        build: update_many,
    },
    Scenario {
        name: "remove",
        about: "remove a skill",
        small: true,
        build: remove,
    },
    Scenario {
        name: "rollback",
        about: "roll a three-artifact update back to the snapshot taken before it",
        small: true,
        build: rollback,
    },
    Scenario {
        name: "update-large",
        about: "update a skill holding a 4.1 MiB file (past the 4 MiB inline limit: staged outside the journal)",
        small: false,
        build: update_large,
    },
];

pub fn by_name(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn skill(w: &World, name: &str, tag: &str) -> Result<PathBuf, String> {
    let dir = w.src.join(name);
    write(
        &dir.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: The {name} skill\n---\n{tag}\n").as_bytes(),
    )?;
    write(&dir.join("scripts/run.sh"), b"#!/bin/sh\necho run\n")?;
    chmod(&dir.join("scripts/run.sh"), 0o755)?;
    write(
        &dir.join("docs/notes.txt"),
        format!("notes for {name} {tag}\n").as_bytes(),
    )?;
    Ok(dir)
}

fn file(w: &World, file: &str, tag: &str) -> Result<PathBuf, String> {
    let p = w.src.join(file);
    write(
        &p,
        format!("---\ndescription: {file}\n---\n{tag}\n").as_bytes(),
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

fn follow_up(w: &World) -> Result<Vec<String>, String> {
    let p = file(w, "followup.md", "follow-up")?;
    Ok(vec!["add".into(), "command".into(), s(&p)])
}

/// Changes a skill source: one file edited, one added, one removed.
fn change_skill(dir: &Path, tag: &str) -> Result<(), String> {
    let md = dir.join("SKILL.md");
    let mut text = std::fs::read_to_string(&md).map_err(|e| e.to_string())?;
    text.push_str(&format!("{tag}\n"));
    write(&md, text.as_bytes())?;
    write(&dir.join("docs/new.txt"), format!("{tag}\n").as_bytes())?;
    std::fs::remove_file(dir.join("docs/notes.txt")).map_err(|e| e.to_string())
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
            present: vec![(Kind::Skill, "beta".into(), beta)],
            absent: vec![],
        },
        follow_up: follow_up(w)?,
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
            present: vec![(Kind::Skill, "alpha".into(), a)],
            absent: vec![],
        },
        follow_up: follow_up(w)?,
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
                (Kind::Skill, "alpha".into(), a),
                (Kind::Command, "review".into(), r),
                (Kind::Agent, "helper".into(), h),
            ],
            absent: vec![],
        },
        follow_up: follow_up(w)?,
    })
}

fn remove(w: &World) -> Result<Prepared, String> {
    three(w)?;
    Ok(Prepared {
        start: w.coll(),
        command: ["remove", "alpha"].map(String::from).to_vec(),
        model: Model {
            present: vec![],
            absent: vec![(Kind::Skill, "alpha".into())],
        },
        follow_up: follow_up(w)?,
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

/// Past skillwal's inline limit (4 MiB, wal-spec §8): staged in a file of its own.
const BIG: usize = 4 * 1024 * 1024 + 64 * 1024;

fn update_large(w: &World) -> Result<Prepared, String> {
    w.must(&["init"])?;
    let big = skill(w, "big", "v1")?;
    write(&big.join("data.bin"), &noise(BIG, 1))?;
    let r = file(w, "review.md", "review v1")?;
    w.must(&["add", "skill", &s(&big)])?;
    w.must(&["add", "command", &s(&r)])?;
    change_skill(&big, "v2")?;
    write(&big.join("data.bin"), &noise(BIG, 2))?;
    Ok(Prepared {
        start: w.coll(),
        command: ["update", "big", "--strategy", "upstream"]
            .map(String::from)
            .to_vec(),
        model: Model {
            present: vec![(Kind::Skill, "big".into(), big)],
            absent: vec![],
        },
        follow_up: follow_up(w)?,
    })
}

fn rollback(w: &World) -> Result<Prepared, String> {
    let (a, r, h) = three(w)?;
    // The sources as they are at the snapshot, kept to judge the rollback by.
    let kept = w.root.join("src-at-snapshot");
    copy_tree(&a, &kept.join("alpha"))?;
    std::fs::copy(&r, kept.join("review.md")).map_err(|e| e.to_string())?;
    std::fs::copy(&h, kept.join("helper.md")).map_err(|e| e.to_string())?;
    let snap = w.must(&["--json", "snapshot", "-m", "before the update"])?;
    let v: serde_json::Value = serde_json::from_str(&snap.stdout)
        .map_err(|e| format!("snapshot --json printed no JSON ({e}): {}", snap.stdout))?;
    let id = v["snapshot"]["snapshot"]["id"]
        .as_u64()
        .ok_or_else(|| format!("no snapshot id in {}", snap.stdout))?;
    change_skill(&a, "v2")?;
    file(w, "review.md", "review v2")?;
    file(w, "helper.md", "helper v2")?;
    w.must(&["update", "--all", "--strategy", "upstream"])?;
    Ok(Prepared {
        start: w.coll(),
        command: vec!["rollback".into(), id.to_string(), "--yes".into()],
        model: Model {
            present: vec![
                (Kind::Skill, "alpha".into(), kept.join("alpha")),
                (Kind::Command, "review".into(), kept.join("review.md")),
                (Kind::Agent, "helper".into(), kept.join("helper.md")),
            ],
            absent: vec![],
        },
        follow_up: follow_up(w)?,
    })
}
