//! Power loss during deployments (wal-spec.md §15): a deploy of three artifacts into a new
//! project, a redeploy replacing a skill directory, an undeploy, `update --deploy` into
//! two projects (one transaction across three roots), a `pull` (across the collection
//! and a project), and `undo` and `redo` in a project's operation log (of a redeploy; of a
//! first deploy, which removes and makes again the profile root), run through the library on the
//! simulated file system, crashed after every mutating call under every crash model (kill,
//! drop everything unsynced, keep a random subset, tear the last write), recovered by the
//! next open of the collection and the projects, and crashed again during that recovery at
//! each of its calls (under kill and drop-everything; for `update --deploy` and `pull`,
//! whose recoveries across roots are long, at every fourth crash point unless
//! `SKILLWAL_CRASH_SEEDS` > 3).
//!
//! After each crash the collection and every project are exactly before or exactly after,
//! all of them the same way (every path's kind, bytes and mode; the tracking files'
//! timestamps masked; skillwal's own `.skillwal/` and the Python tool's empty lock files
//! left out), an operation that returned `Ok` is after, every journal is idle, every
//! staging area empty, the collection verifies clean, and the tracking files agree with
//! the files (`status --project` finds every deployment in sync or, where the operation
//! left the collection ahead, outdated — never modified).
//!
//! `SKILLWAL_CRASH_SEEDS=N` raises the seeds per seeded model (default 3).

mod common;
#[path = "cli/support.rs"]
mod support;

use common::{Budget, models};
use skillwal::OpenOptions;

/// Salts and identities from the OS: a seeded run would give every root the same identity.
fn opts() -> OpenOptions {
    OpenOptions::default()
}
use skillwal::fs::FileSystem;
use skillwal::fs::sim::{CrashModel, SimFs, SnapNode};
use skillwal::skillmeat::ArtifactType;
use skillwal::skillmeat::collection::{
    Collection, DeployRequest, DriftState, Strategy, UndoTarget, UpdateInput,
};
use skillwal::skillmeat::project::Project;
use skillwal::skillmeat::project::profiles::PROFILES;
use skillwal::skillmeat::source::{SourceSpec, fetch};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::mask_timestamps;

const COLL: &str = "/c";
const P: &str = "/p";
const Q: &str = "/q";

type Snap = BTreeMap<PathBuf, SnapNode>;

struct Sources {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Sources {
    fn new() -> Sources {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let s = Sources { _tmp: tmp, dir };
        s.skill("v1");
        s.write("review.md", b"---\ndescription: review\n---\nv1\n");
        s.write("helper.md", b"---\ndescription: helper\n---\nv1\n");
        s
    }

    fn write(&self, rel: &str, bytes: &[u8]) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, bytes).expect("write source");
    }

    fn skill(&self, tag: &str) {
        self.write(
            "alpha/SKILL.md",
            format!("---\nname: alpha\ndescription: a\n---\n{tag}\n").as_bytes(),
        );
        self.write("alpha/scripts/run.sh", b"#!/bin/sh\necho run\n");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            self.dir.join("alpha/scripts/run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        self.write("alpha/docs/notes.txt", format!("notes {tag}\n").as_bytes());
    }

    fn input(&self, name: &str, ty: ArtifactType, rel: &str) -> UpdateInput {
        UpdateInput {
            name: name.into(),
            ty,
            fetched: fetch(&SourceSpec::Local(self.dir.join(rel)), ty)
                .expect("fetch")
                .into(),
        }
    }
}

fn arc(sim: &SimFs) -> Arc<dyn FileSystem> {
    Arc::new(sim.handle())
}

fn items() -> Vec<(String, ArtifactType)> {
    vec![
        ("alpha".into(), ArtifactType::Skill),
        ("review".into(), ArtifactType::Command),
        ("helper".into(), ArtifactType::Agent),
    ]
}

fn deploy(sim: &SimFs, project: &str, what: &[(String, ArtifactType)]) -> bool {
    let opened =
        Collection::open_with_project(arc(sim), Path::new(COLL), Path::new(project), &opts());
    if std::env::var_os("CRASH_DEPLOY_DEBUG").is_some() {
        eprintln!("open: {:?}", opened.as_ref().err());
    }
    let Ok(((c, _), (mut p, _))) = opened else {
        return false;
    };
    let req = DeployRequest {
        artifacts: what,
        profiles: &[&PROFILES[0]],
        overwrite: false,
        refresh: false,
        merge: false,
    };
    let r = c.deploy(&mut p, &req);
    if std::env::var_os("CRASH_DEPLOY_DEBUG").is_some() {
        eprintln!("deploy: {:?}", r.as_ref().err());
    }
    let ok = r.is_ok();
    let _ = p.close();
    let _ = c.close();
    ok
}

/// `undo --project P` (or `redo`) through the library.
fn project_undo(sim: &SimFs, target: UndoTarget) -> bool {
    let Ok((mut p, _)) = Project::open(arc(sim), Path::new(P), &opts()) else {
        return false;
    };
    let ok = p.undo(target, false).is_ok();
    let _ = p.close();
    ok
}

fn update_deploying(sim: &SimFs, src: &Sources) -> bool {
    let projects = [PathBuf::from(P), PathBuf::from(Q)];
    let Ok(((mut c, _), opened, _)) =
        Collection::open_with_projects(arc(sim), Path::new(COLL), &projects, &opts())
    else {
        return false;
    };
    let mut ps: Vec<Project> = opened.into_iter().map(|(p, _)| p).collect();
    let inputs = [
        src.input("alpha", ArtifactType::Skill, "alpha"),
        src.input("review", ArtifactType::Command, "review.md"),
    ];
    let ok = c
        .update_deploying(&inputs, Strategy::Upstream, &mut |_, _, _| None, &mut ps)
        .is_ok();
    for p in ps {
        let _ = p.close();
    }
    let _ = c.close();
    ok
}

struct Scenario {
    name: &'static str,
    /// The drift states a deployment may be in before or after (a record agrees with its
    /// files: in sync, or outdated where the collection is ahead; modified only where the
    /// scenario starts from a project copy the user changed).
    drift_ok: &'static [DriftState],
    /// Whether the collection's `verify` must be clean before and after.
    verify_clean: bool,
    /// Crash the recoveries of every fourth crash point only (unless
    /// `SKILLWAL_CRASH_SEEDS` > 3): the recoveries across roots are long.
    sample_second: bool,
    setup: fn(&SimFs, &Sources),
    op: fn(&SimFs, &Sources) -> bool,
}

fn update_collection(sim: &SimFs, src: &Sources) {
    let (mut c, _) = Collection::open(arc(sim), Path::new(COLL), &opts()).expect("open");
    src.skill("v2");
    src.write("review.md", b"---\ndescription: review\n---\nv2\n");
    let inputs = [
        src.input("alpha", ArtifactType::Skill, "alpha"),
        src.input("review", ArtifactType::Command, "review.md"),
    ];
    c.update(&inputs, Strategy::Upstream, &mut |_, _| None)
        .expect("update");
    c.close().expect("close");
}

const SYNCED: &[DriftState] = &[DriftState::InSync, DriftState::Outdated];

fn pull(sim: &SimFs) -> bool {
    let Ok(((mut c, _), (mut p, _))) =
        Collection::open_with_project(arc(sim), Path::new(COLL), Path::new(P), &opts())
    else {
        return false;
    };
    let ok = c
        .pull(&mut p, "alpha", ArtifactType::Skill, None, false)
        .is_ok();
    let _ = p.close();
    let _ = c.close();
    ok
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "pull",
        sample_second: true,
        drift_ok: &[DriftState::InSync, DriftState::Modified],
        // After, the collection holds the pulled changes on top of its lock (by design).
        verify_clean: false,
        setup: |sim, _| {
            assert!(deploy(sim, P, &items()[..1]));
            let fs: &dyn FileSystem = sim;
            skillwal::fs::write_atomically(
                fs,
                Path::new("/p/.claude/skills/alpha/SKILL.md"),
                b"---\nname: alpha\ndescription: a\n---\nimproved in the project\n",
            )
            .expect("edit the project copy");
        },
        op: |sim, _| pull(sim),
    },
    Scenario {
        name: "deploy",
        sample_second: false,
        drift_ok: SYNCED,
        verify_clean: true,
        setup: |_, _| {},
        op: |sim, _| deploy(sim, P, &items()),
    },
    Scenario {
        name: "redeploy",
        sample_second: false,
        drift_ok: SYNCED,
        verify_clean: true,
        setup: |sim, src| {
            assert!(deploy(sim, P, &items()));
            update_collection(sim, src);
        },
        op: |sim, _| deploy(sim, P, &items()[..2]),
    },
    Scenario {
        name: "undeploy",
        sample_second: false,
        drift_ok: SYNCED,
        verify_clean: true,
        setup: |sim, _| assert!(deploy(sim, P, &items())),
        op: |sim, _| {
            let Ok((mut p, _)) = Project::open(arc(sim), Path::new(P), &opts()) else {
                return false;
            };
            let ok = p
                .undeploy(&["alpha".into(), "helper".into()], None, None)
                .is_ok();
            let _ = p.close();
            ok
        },
    },
    Scenario {
        // The undo of a redeploy: the project's older copies come back from its store.
        name: "undo-redeploy",
        sample_second: false,
        drift_ok: &[DriftState::InSync, DriftState::Outdated],
        verify_clean: true,
        setup: |sim, src| {
            assert!(deploy(sim, P, &items()));
            update_collection(sim, src);
            assert!(deploy(sim, P, &items()[..2]));
        },
        op: |sim, _| project_undo(sim, UndoTarget::Last),
    },
    Scenario {
        // The undo of a first deploy, then its redo: the profile root made again, and the
        // artifacts and tracking file with it.
        name: "redo-deploy",
        sample_second: false,
        drift_ok: SYNCED,
        verify_clean: true,
        setup: |sim, _| {
            assert!(deploy(sim, P, &items()));
            assert!(project_undo(sim, UndoTarget::Last));
        },
        op: |sim, _| project_undo(sim, UndoTarget::Redo),
    },
    Scenario {
        name: "update-deploy",
        sample_second: true,
        drift_ok: SYNCED,
        verify_clean: true,
        setup: |sim, src| {
            assert!(deploy(sim, P, &items()[..2]));
            assert!(deploy(sim, Q, &items()[..2]));
            src.skill("v2");
            src.write("review.md", b"---\ndescription: review\n---\nv2\n");
        },
        op: update_deploying,
    },
];

/// What a user sees: the collection, and each project without skillwal's state and the
/// Python tool's empty lock files; timestamps masked.
fn state(sim: &SimFs) -> Vec<Snap> {
    [COLL, P, Q]
        .iter()
        .map(|root| {
            sim.snapshot(Path::new(root), &[".skillwal"])
                .unwrap_or_default()
                .into_iter()
                .filter(|(p, _)| {
                    let name = p.file_name().map(|n| n.to_string_lossy().to_string());
                    !name.is_some_and(|n| n.starts_with('.') && n.ends_with(".skillmeat-lock"))
                })
                .map(|(p, n)| {
                    let n = match n {
                        SnapNode::File { data, mode }
                            if p.extension().is_some_and(|e| e == "toml" || e == "lock") =>
                        {
                            SnapNode::File {
                                data: mask_timestamps(&String::from_utf8_lossy(&data)).into_bytes(),
                                mode,
                            }
                        }
                        other => other,
                    };
                    (p, n)
                })
                .collect()
        })
        .collect()
}

/// Opens the collection and both projects (recovering), checks journals, staging, verify
/// and drift, and returns what a user sees.
fn recover_and_check(sim: &SimFs, s: &Scenario, ctx: &str) -> Vec<Snap> {
    let projects = [PathBuf::from(P), PathBuf::from(Q)];
    let ((c, _), opened, _) =
        Collection::open_with_projects(arc(sim), Path::new(COLL), &projects, &opts())
            .unwrap_or_else(|e| panic!("{ctx}: the open that recovers failed: {e}"));
    let report = c.verify().unwrap_or_else(|e| panic!("{ctx}: verify: {e}"));
    assert!(
        !s.verify_clean || report.is_clean(),
        "{ctx}: verify is not clean"
    );
    for (p, _) in &opened {
        for d in c.deployment_status(p).expect("status") {
            assert!(
                s.drift_ok.contains(&d.state),
                "{ctx}: {} in {} is {:?} after recovery",
                d.record.artifact_name,
                p.dir().display(),
                d.state
            );
        }
    }
    for (p, _) in opened {
        p.close().expect("close project");
    }
    c.close().expect("close");
    for (root, meta) in [
        (COLL, "/.skillwal/c"),
        (P, "/p/.skillwal"),
        (Q, "/q/.skillwal"),
    ] {
        let layout = skillwal::engine::Layout::with_meta(Path::new(root), Path::new(meta));
        assert!(
            !skillwal::needs_recovery(sim, &layout).expect("journal readable"),
            "{ctx}: {root}'s journal is still live after recovery"
        );
        let staging = sim.read_dir(&layout.staging).unwrap_or_default();
        assert!(staging.is_empty(), "{ctx}: {root}'s staging: {staging:?}");
    }
    state(sim)
}

fn check(s: &Scenario, budget: Budget) -> (u64, u64, u64) {
    let src = Sources::new();
    let base = SimFs::new();
    for d in [COLL, P, Q] {
        base.create_dir(Path::new(d), 0o755).expect("mkdir");
    }
    base.sync_dir(Path::new("/")).expect("sync /");
    {
        let mut c =
            Collection::init(arc(&base), Path::new(COLL), "default", &opts()).expect("init");
        for (name, ty, rel) in [
            ("alpha", ArtifactType::Skill, "alpha"),
            ("review", ArtifactType::Command, "review.md"),
            ("helper", ArtifactType::Agent, "helper.md"),
        ] {
            let f = fetch(&SourceSpec::Local(src.dir.join(rel)), ty).expect("fetch");
            c.add(ty, name, &f).expect("add");
        }
        c.close().expect("close");
    }
    (s.setup)(&base, &src);
    base.sync_everything();
    base.reset_counters();
    let before = state(&base);
    let reference = base.fork();
    assert!(
        (s.op)(&reference, &src),
        "{}: the reference run failed",
        s.name
    );
    let after = state(&reference);
    assert_ne!(before, after, "{}: changes nothing", s.name);
    let total = reference.mutating_calls();
    let (mut points, mut states, mut second) = (0, 0, 0);
    for n in 1..=total {
        let f = base.fork();
        f.set_crash_after(Some(n));
        let ok = (s.op)(&f, &src);
        assert!(f.crashed(), "{}: no crash at call {n} of {total}", s.name);
        points += 1;
        for (model, seed) in models(budget.seeds) {
            let ctx = format!(
                "{}: crash after call {n}/{total}, {model:?} seed {seed}",
                s.name
            );
            let image = f.crash(model, seed);
            let pristine = image.fork();
            let got = recover_and_check(&image, s, &ctx);
            let which = if got == before {
                "before"
            } else if got == after {
                "after"
            } else {
                panic!("{ctx}: neither before nor after:\n got {got:#?}\n after {after:#?}")
            };
            assert!(!ok || which == "after", "{ctx}: returned Ok but is {which}");
            states += 1;
            if model.is_seeded() || (s.sample_second && n % 4 != 0 && budget.seeds <= 3) {
                continue;
            }
            // A second crash at every call of the recovery.
            let probe = pristine.fork();
            let _ = recover_quietly(&probe);
            let calls = probe.mutating_calls();
            for m in 1..=calls {
                let g = pristine.fork();
                g.set_crash_after(Some(m));
                let _ = recover_quietly(&g);
                for model2 in [CrashModel::Kill, CrashModel::DropAll] {
                    let ctx2 =
                        format!("{ctx}; then recovery crashed after call {m}/{calls}, {model2:?}");
                    let again = recover_and_check(&g.crash(model2, 0), s, &ctx2);
                    // Before or after, as any crash; after when the operation had
                    // returned Ok. (Not necessarily what the uninterrupted recovery gave:
                    // a kill can leave a commit record in the page cache only, which the
                    // recovery makes durable first — or a power cut drops, if it comes
                    // before that sync. Either is a state the operation may end in.)
                    assert!(
                        again == after || (!ok && again == before),
                        "{ctx2}: neither before nor after (or before after an Ok)"
                    );
                    second += 1;
                }
            }
        }
    }
    (points, states, second)
}

fn recover_quietly(sim: &SimFs) -> bool {
    let projects = [PathBuf::from(P), PathBuf::from(Q)];
    match Collection::open_with_projects(arc(sim), Path::new(COLL), &projects, &opts()) {
        Ok(((c, _), opened, _)) => {
            for (p, _) in opened {
                let _ = p.close();
            }
            let _ = c.close();
            true
        }
        Err(_) => false,
    }
}

fn run(name: &str) {
    let budget = Budget::from_env();
    let s = SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .expect("a scenario");
    let (points, states, second) = check(s, budget);
    eprintln!(
        "power loss, {name} ({} seeds): {points} crash points, {states} crash states, {second} more with a second crash in recovery",
        budget.seeds
    );
    assert!(points > 10 && second > states);
}

#[test]
fn pull_survives_power_loss_at_every_call() {
    run("pull");
}

#[test]
fn deploy_survives_power_loss_at_every_call() {
    run("deploy");
}

#[test]
fn redeploy_survives_power_loss_at_every_call() {
    run("redeploy");
}

#[test]
fn undeploy_survives_power_loss_at_every_call() {
    run("undeploy");
}

#[test]
fn undo_of_a_redeploy_survives_power_loss_at_every_call() {
    run("undo-redeploy");
}

#[test]
fn redo_of_a_first_deploy_survives_power_loss_at_every_call() {
    run("redo-deploy");
}

#[test]
fn update_deploy_survives_power_loss_at_every_call() {
    run("update-deploy");
}
