//! Long work reports its progress (src/progress.rs): copying a source, hashing for a
//! snapshot, storing objects, `verify` and `gc` each report a stage whose units add up to
//! its total; and the CLI draws nothing when stderr is not a terminal or with `--json`.

use skillwal::OpenOptions;
use skillwal::fs::FileSystem;
use skillwal::fs::real::RealFs;
use skillwal::progress::Progress;
use skillwal::skillmeat::collection::Collection;
use skillwal::skillmeat::{ArtifactType, SourceSpec, fetch};
use std::sync::{Arc, Mutex};

/// A stage reported: its name, total, whether in bytes, and the units advanced.
type Reported = (String, Option<u64>, bool, u64);

/// Every stage reported: the ended ones, and the open ones (innermost last).
#[derive(Default)]
struct Recorder {
    done: Mutex<Vec<Reported>>,
    open: Mutex<Vec<Reported>>,
}

impl Progress for Recorder {
    fn begin(&self, what: &str, total: Option<u64>, bytes: bool) {
        self.open
            .lock()
            .unwrap()
            .push((what.to_string(), total, bytes, 0));
    }
    fn advance(&self, n: u64) {
        self.open.lock().unwrap().last_mut().expect("a stage").3 += n;
    }
    fn end(&self) {
        let s = self.open.lock().unwrap().pop().expect("a stage to end");
        self.done.lock().unwrap().push(s);
    }
}

impl Recorder {
    /// The stages ended since the last call, each checked to have advanced to its total.
    fn take(&self) -> Vec<(String, u64, bool)> {
        assert!(self.open.lock().unwrap().is_empty(), "a stage never ended");
        std::mem::take(&mut *self.done.lock().unwrap())
            .into_iter()
            .map(|(what, total, bytes, done)| {
                assert_eq!(Some(done), total, "{what}: advanced {done} of {total:?}");
                (what, done, bytes)
            })
            .collect()
    }
}

fn has(stages: &[(String, u64, bool)], what: &str, units: u64, bytes: bool) -> bool {
    stages
        .iter()
        .any(|(w, n, b)| w == what && *n == units && *b == bytes)
}

#[test]
fn long_work_reports_stages_that_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("demo");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let skill_md = "---\nname: demo\n---\n";
    std::fs::write(src.join("SKILL.md"), skill_md).unwrap();
    std::fs::write(src.join("sub/big.bin"), vec![7u8; 300_000]).unwrap();
    let source_bytes = skill_md.len() as u64 + 300_000;
    let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
    let dir = tmp.path().join("c");
    let mut c = Collection::init(fs.clone(), &dir, "c", &OpenOptions::default()).unwrap();
    let rec = Arc::new(Recorder::default());
    c.set_progress(rec.clone());

    let fetched = fetch(&SourceSpec::Local(src.clone()), ArtifactType::Skill).unwrap();
    c.add(ArtifactType::Skill, "demo", &fetched).unwrap();
    let stages = rec.take();
    assert!(has(&stages, "copying", source_bytes, true), "{stages:?}");

    c.snapshot("one").unwrap();
    let stages = rec.take();
    // The collection: the manifest, the lock, skills/, skills/demo/ with its file, its
    // sub-directory and the large file, and the three other type directories.
    assert!(
        stages
            .iter()
            .any(|(w, n, b)| w == "hashing" && *n >= 7 && !b),
        "{stages:?}"
    );
    // The large file was stored when it was added (its base); the manifest and lock are new.
    assert!(
        stages
            .iter()
            .any(|(w, n, b)| w == "storing" && *n > 0 && *b),
        "{stages:?}"
    );

    c.verify().unwrap();
    assert!(has(&rec.take(), "verifying", 1, false));

    c.close().unwrap();
}

#[test]
fn gc_reports_what_it_deletes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("demo");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("SKILL.md"), "---\nname: demo\n---\n").unwrap();
    let fs: Arc<dyn FileSystem> = Arc::new(RealFs);
    let dir = tmp.path().join("c");
    let mut c = Collection::init(fs.clone(), &dir, "c", &OpenOptions::default()).unwrap();
    let rec = Arc::new(Recorder::default());
    c.set_progress(rec.clone());
    // A file that only a deleted snapshot held (never changed through skillwal, so no
    // record of the operation log keeps it): gc deletes its object.
    let fetched = fetch(&SourceSpec::Local(src.clone()), ArtifactType::Skill).unwrap();
    c.add(ArtifactType::Skill, "demo", &fetched).unwrap();
    let by_hand = dir.join("skills/demo/big.bin");
    std::fs::write(&by_hand, vec![7u8; 300_000]).unwrap();
    let id = c.snapshot("with big.bin").unwrap().snapshot_id();
    std::fs::remove_file(&by_hand).unwrap();
    c.delete_snapshot(id).unwrap();
    rec.take();
    let report = c.gc().unwrap();
    let stages = rec.take();
    assert!(
        stages.iter().any(|(w, n, b)| w == "deleting"
            && *n > 0
            && *n == (report.removed + report.bases_removed) as u64
            && !b),
        "{report:?} {stages:?}"
    );
    c.close().unwrap();
}
