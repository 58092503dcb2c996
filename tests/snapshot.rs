//! Snapshots, rollback and `gc` through the real binary (store-spec.md): the commands in
//! text and JSON, deduplication, retention, damaged objects, and real processes killed by
//! the crash hook (`SKILLWAL_CRASH_AFTER`) or failed by it (`SKILLWAL_FAIL_AT`) at every
//! mutating call of a rollback and of a `gc`, plus kills at random moments.
//!
//! Run the figures for the README with
//! `cargo test --release --test snapshot -- --ignored --nocapture figures`.

#[path = "common/store_files.rs"]
mod store_files;
#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store_files::StoreFiles;
use support::*;

const ROLLBACK_1: [&str; 3] = ["rollback", "1", "--yes"];

/// The store of the collection at `coll`, read from its files (store-spec.md §2.1).
fn store_files(coll: &Path) -> StoreFiles {
    StoreFiles::read(&state_dir(coll).join("store"))
}

/// The hash of every object in the store, loose or packed, sorted.
fn objects(coll: &Path) -> Vec<String> {
    store_files(coll).hashes()
}

/// The snapshots of the collection at `coll`, as `snapshot list --json` gives them.
fn snapshot_list(sb: &Sandbox, coll: &Path) -> Vec<serde_json::Value> {
    let v = sb
        .run_in(coll, &[], &["--json", "snapshot", "list"])
        .ok()
        .json();
    v["snapshots"].as_array().expect("snapshots array").clone()
}

fn snapshot_ids(sb: &Sandbox, coll: &Path) -> Vec<(u64, bool)> {
    snapshot_list(sb, coll)
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().expect("id"),
                s["automatic"].as_bool().expect("automatic"),
            )
        })
        .collect()
}

/// The command of the newest record of the operation log of the collection at `coll`.
fn newest_record(sb: &Sandbox, coll: &Path) -> String {
    let v = sb
        .run_in(coll, &[], &["--json", "log", "-n", "1"])
        .ok()
        .json();
    v["records"][0]["command"]
        .as_str()
        .expect("a record")
        .to_string()
}

/// A collection with snapshot 1 taken, then changed in every way a rollback must undo: an
/// update of all three artifacts (files changed and added), a local edit, an artifact
/// removed, a new file. Returns the sandbox, the collection, the tree at snapshot 1 and the
/// tree now.
struct RollbackFixture {
    sb: Sandbox,
    coll: PathBuf,
    at_snapshot: Tree,
    now: Tree,
}

fn rollback_fixture() -> RollbackFixture {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.run(&["snapshot", "-m", "known good"])
        .ok()
        .stdout_has("Snapshot 1 taken");
    let at_snapshot = tree(&coll);
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"])
        .ok()
        .stdout_has("Recorded as 4 in the operation log");
    append(&coll.join("skills/my-skill/docs/notes.txt"), "local edit\n");
    sb.run(&["remove", "helper"])
        .ok()
        .stdout_has("Recorded as 5 in the operation log");
    write(
        &coll.join("skills/my-skill/extra.txt"),
        "not in the snapshot\n",
    );
    let now = tree(&coll);
    assert_ne!(now, at_snapshot);
    RollbackFixture {
        sb,
        coll,
        at_snapshot,
        now,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Before,
    After,
}

impl RollbackFixture {
    fn copy(&self, name: &str) -> PathBuf {
        let w = self.sb.root.join(name);
        if w.exists() {
            fs::remove_dir_all(&w).expect("remove old copy");
        }
        copy_collection(&self.coll, &w);
        w
    }

    #[track_caller]
    fn state(&self, dir: &Path, what: &str) -> State {
        let t = tree(dir);
        if t == self.now {
            State::Before
        } else if t == self.at_snapshot {
            State::After
        } else {
            panic!(
                "{what}: neither the state before the rollback nor the snapshot's\nagainst before:\n{}against the snapshot:\n{}",
                tree_diff(&self.now, &t),
                tree_diff(&self.at_snapshot, &t)
            )
        }
    }
}

#[test]
fn snapshot_list_show_delete_in_text_and_json() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.run(&["snapshot", "list"])
        .ok()
        .stdout_has("No snapshots of");
    let r = sb.run(&["--json", "snapshot", "-m", "first"]).ok().json();
    assert_eq!(r["snapshot"]["snapshot"]["id"], 1);
    assert_eq!(r["snapshot"]["snapshot"]["message"], "first");
    assert_eq!(r["snapshot"]["snapshot"]["automatic"], false);
    // manifest, lock, SKILL.md, run.sh, notes.txt, review.md, helper.md
    assert_eq!(r["snapshot"]["snapshot"]["files"], 7);
    sb.run(&["snapshot"]).ok().stdout_has("Snapshot 2 taken");
    let list = sb.run(&["snapshot", "list"]).ok().stdout.clone();
    assert!(list.contains("manual") && list.contains("first"), "{list}");

    // `show` says what a rollback would change, from the current state's side.
    sb.run(&["snapshot", "show", "1"])
        .ok()
        .stdout_has("The collection is the same as this snapshot.");
    append(&coll.join("commands/review.md"), "edited\n");
    write(&coll.join("skills/my-skill/new.txt"), "new\n");
    fs::remove_file(coll.join("agents/helper.md")).expect("rm");
    let show = sb.run(&["snapshot", "show", "1"]).ok().stdout.clone();
    for line in [
        "M commands/review.md",
        "D skills/my-skill/new.txt",
        "A agents/helper.md",
    ] {
        assert!(show.contains(line), "{line} missing from\n{show}");
    }
    let j = sb.run(&["--json", "snapshot", "show", "1"]).ok().json();
    let changes = j["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 3, "{j}");
    assert!(
        changes
            .iter()
            .any(|c| c["action"] == "delete-file" && c["path"] == "skills/my-skill/new.txt")
    );

    // Delete: the id is gone, and ids are never reused.
    sb.run(&["snapshot", "delete", "2"])
        .ok()
        .stdout_has("Deleted snapshot 2");
    assert_eq!(snapshot_ids(&sb, &coll), [(1, false)]);
    sb.run(&["snapshot"]).ok().stdout_has("Snapshot 3 taken");

    // Bad ids: one clear message each, nothing changed.
    let before = tree_all(&coll);
    sb.run(&["snapshot", "show", "9"])
        .code(1)
        .stderr_has("no snapshot 9");
    sb.run(&["snapshot", "delete", "2"])
        .code(1)
        .stderr_has("no snapshot 2");
    sb.run(&["rollback", "abc", "--yes"])
        .code(1)
        .stderr_has("\"abc\" is not one");
    sb.run(&["snapshot", "-m", "x", "list"]).code(2);
    let e = sb
        .run(&["--json", "snapshot", "show", "0"])
        .code(1)
        .json_err();
    assert!(e["error"].as_str().unwrap_or("").contains("not one"), "{e}");
    assert_eq!(tree_all(&coll), before);
}

#[test]
fn rollback_restores_exactly_and_undo_reverses_it() {
    let fx = rollback_fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    // `update` and `remove` took no snapshot: their safety net is the operation log.
    assert_eq!(snapshot_ids(sb, coll), [(1, false)]);
    // Files the rollback does not need to write keep their inode (not rewritten).
    let untouched = coll.join("skills/my-skill/scripts/run.sh");
    let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).expect("stat"));
    let ino_before = ino(&untouched);
    let changed = coll.join("commands/review.md");
    let changed_before = ino(&changed);

    let out = sb.run(&["rollback", "1", "--yes"]).ok().stdout.clone();
    assert!(
        out.contains("Rolled") && out.contains("back to snapshot 1"),
        "{out}"
    );
    assert!(out.contains("Recorded as 6 in the operation log"), "{out}");
    assert_same_tree(&fx.at_snapshot, &tree(coll), "after rollback 1");
    assert_eq!(
        ino(&untouched),
        ino_before,
        "an unchanged file was rewritten"
    );
    assert_ne!(ino(&changed), changed_before);
    sb.run(&["verify"]).ok();

    // Undoing the rollback (its record, 6) gives the state before it.
    sb.run(&["undo", "--yes"])
        .ok()
        .stdout_has("Undid record 6 (rollback to snapshot 1)");
    assert_same_tree(&fx.now, &tree(coll), "after undoing the rollback");
    // A rollback to the state the collection is in writes nothing (no record either).
    sb.run(&["rollback", "1", "--yes"]).ok();
    let again = sb.run(&["--json", "rollback", "1", "--yes"]).ok().json();
    assert_eq!(
        again["rollback"]["changes"].as_array().map(Vec::len),
        Some(0)
    );
    assert!(again["rollback"]["record"].is_null());
    assert_eq!(snapshot_ids(sb, coll), [(1, false)]);
}

#[test]
fn rollback_without_a_terminal_and_without_yes_refuses() {
    let fx = rollback_fixture();
    let before = tree_all(&fx.coll);
    fx.sb
        .run(&["rollback", "1"])
        .code(2)
        .stderr_has("pass --yes")
        .stderr_has("nothing was changed");
    assert_eq!(tree_all(&fx.coll), before);
}

#[test]
fn snapshots_are_deduplicated_and_cost_what_changed() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let first = sb.run(&["--json", "snapshot"]).ok().json();
    let n1 = objects(&coll).len();
    // Nothing changed: only the reference is new.
    let second = sb.run(&["--json", "snapshot"]).ok().json();
    assert_eq!(second["snapshot"]["new_objects"], 0, "{second}");
    assert_eq!(objects(&coll).len(), n1);
    assert_eq!(
        first["snapshot"]["snapshot"]["root"],
        second["snapshot"]["snapshot"]["root"]
    );
    // One file of the skill changed: its object, and the trees of my-skill/docs,
    // my-skill, skills and the root.
    let packs = store_files(&coll).packs.len();
    append(&coll.join("skills/my-skill/docs/notes.txt"), "more\n");
    let third = sb.run(&["--json", "snapshot"]).ok().json();
    assert_eq!(third["snapshot"]["new_objects"], 5, "{third}");
    assert_eq!(objects(&coll).len(), n1 + 5);
    // Every object is named by the BLAKE3 of its bytes; small ones are in packs: the five
    // new objects in one (store-spec.md §2.1).
    let store = store_files(&coll);
    for h in store.hashes() {
        let bytes = store.get(&h).expect("read object");
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), h);
    }
    assert!(store.loose.is_empty(), "{:?}", store.loose);
    assert_eq!(store.packs.len(), packs + 1, "{:?}", store.packs);
}

/// Sizes of the objects of the store at `coll` that are not in `before`.
fn new_object_bytes(before: &[String], coll: &Path) -> Vec<u64> {
    let store = store_files(coll);
    store
        .objects
        .iter()
        .filter(|(h, _)| before.binary_search(h).is_err())
        .map(|(_, p)| p.size)
        .collect()
}

#[test]
fn a_large_directory_is_stored_in_chunks_that_gc_keeps_and_rollback_reads() {
    // store-spec.md §3.1: `skills/` with 300 entries is split; changing one skill rewrites
    // one chunk and the index, not the 300-entry listing (~15 KB).
    let sb = Sandbox::new();
    let coll = generated_collection(&sb, 300);
    sb.run_in(&coll, &[], &["snapshot"]).ok();
    let at_snapshot = tree(&coll);
    let before = objects(&coll);
    write(&coll.join("skills/s7/notes.txt"), "changed\n");
    let v = sb.run_in(&coll, &[], &["--json", "snapshot"]).ok().json();
    // The file, the skill's tree, one chunk of skills/, its index, the root's tree.
    assert_eq!(v["snapshot"]["new_objects"], 5, "{v}");
    let mut sizes = new_object_bytes(&before, &coll);
    sizes.sort();
    let file_object = sizes.remove(0);
    assert_eq!(file_object, "changed\n".len() as u64);
    assert!(
        sizes.iter().all(|b| *b < 4096),
        "every new tree object is small: {sizes:?}"
    );
    // gc keeps every chunk a snapshot reaches: both snapshots still restore.
    sb.run_in(&coll, &[], &["snapshot", "delete", "2"]).ok();
    write(&coll.join("skills/s200/notes.txt"), "changed again\n");
    sb.run_in(&coll, &[], &["--json", "gc"]).ok();
    sb.run_in(&coll, &[], &ROLLBACK_1).ok();
    assert_same_tree(&at_snapshot, &tree(&coll), "rollback after gc");
}

/// Files written in the same file-system tick as a snapshot starts are read again by the
/// next one (store-spec.md §8); waiting past any common granularity makes the counts exact.
fn past_the_tick() {
    std::thread::sleep(Duration::from_millis(1100));
}

fn hashed_files(v: &serde_json::Value) -> u64 {
    v["snapshot"]["hashed_files"]
        .as_u64()
        .expect("hashed_files")
}

#[test]
fn a_snapshot_reads_only_the_files_that_changed_since_the_last() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    past_the_tick();
    let first = sb.run(&["--json", "snapshot"]).ok().json();
    let files = first["snapshot"]["snapshot"]["files"]
        .as_u64()
        .expect("files");
    assert_eq!(hashed_files(&first), files, "no cache yet: {first}");
    let second = sb.run(&["--json", "snapshot"]).ok().json();
    assert_eq!(hashed_files(&second), 0, "{second}");
    sb.run(&["snapshot"])
        .ok()
        .stdout_has("0 new objects in the store; 0 files read");

    // Rewritten with the same size and its old mtime put back: the ctime still tells, the
    // file is read, and the snapshot holds the new content.
    let notes = coll.join("skills/my-skill/docs/notes.txt");
    let old = read(&notes);
    let mtime = fs::metadata(&notes)
        .expect("stat")
        .modified()
        .expect("mtime");
    let new: String = old.chars().map(|c| c.to_ascii_uppercase()).collect();
    assert_ne!(new, old);
    assert_eq!(new.len(), old.len());
    fs::write(&notes, &new).expect("rewrite");
    fs::File::options()
        .write(true)
        .open(&notes)
        .and_then(|f| f.set_modified(mtime))
        .expect("set the mtime back");
    assert_eq!(fs::metadata(&notes).unwrap().modified().unwrap(), mtime);
    past_the_tick();
    let fourth = sb.run(&["--json", "snapshot"]).ok().json();
    assert_eq!(hashed_files(&fourth), 1, "{fourth}");
    assert_ne!(
        fourth["snapshot"]["snapshot"]["root"], first["snapshot"]["snapshot"]["root"],
        "the new content is recorded"
    );
    sb.run(&["rollback", "1", "--yes"]).ok();
    assert_eq!(read(&notes), old);
    sb.run(&["rollback", "4", "--yes"]).ok();
    assert_eq!(read(&notes), new);

    // A damaged cache is ignored whole: every file is read, the same state recorded.
    past_the_tick();
    let cache = state_dir(&coll).join("stat-cache");
    let mut bytes = fs::read(&cache).expect("the cache exists");
    let i = bytes.len() / 2;
    bytes[i] ^= 0x10;
    fs::write(&cache, bytes).expect("damage the cache");
    let again = sb.run(&["--json", "snapshot"]).ok().json();
    assert_eq!(hashed_files(&again), files, "{again}");
    assert_eq!(
        again["snapshot"]["snapshot"]["root"],
        fourth["snapshot"]["snapshot"]["root"]
    );
}

#[test]
fn updates_take_no_automatic_snapshot_and_the_log_keeps_each_change() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.run(&["snapshot", "-m", "manual"]).ok();
    let mut states = vec![tree(&coll)];
    for tag in ["v2", "v3", "v4"] {
        sb.change_sources(tag);
        sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
        states.push(tree(&coll));
    }
    assert_eq!(snapshot_ids(&sb, &coll), [(1, false)]);
    // Each update is one record; undoing them walks back through every state exactly.
    for expected in states.iter().rev().skip(1) {
        sb.run(&["undo", "--yes"]).ok();
        assert_same_tree(expected, &tree(&coll), "undo of an update");
    }
}

/// Stores objects that nothing keeps: a file written by hand (never changed through
/// skillwal, so no record of the operation log names it) recorded by a snapshot, then the
/// file and the snapshot deleted.
fn leave_unreachable_objects(sb: &Sandbox, coll: &Path) {
    let by_hand = coll.join("skills/my-skill/by-hand.bin");
    fs::write(&by_hand, vec![7u8; 20_000]).expect("write");
    let v = sb.run(&["--json", "snapshot", "-m", "tmp"]).ok().json();
    let id = v["snapshot"]["snapshot"]["id"].as_u64().expect("id");
    fs::remove_file(&by_hand).expect("rm");
    sb.run(&["snapshot", "delete", &id.to_string()]).ok();
}

#[test]
fn gc_removes_only_unreachable_objects() {
    let fx = rollback_fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    let r = sb.run(&["--json", "gc"]).ok().json();
    assert_eq!(r["gc"]["removed"], 0, "every object is reachable: {r}");
    leave_unreachable_objects(sb, coll);
    let all = objects(coll).len();
    let r = sb.run(&["--json", "gc"]).ok().json();
    let removed = r["gc"]["removed"].as_u64().expect("removed") as usize;
    assert!(removed > 0, "{r}");
    assert_eq!(objects(coll).len(), all - removed);
    // The stat cache may say an object is in the store: gc deleted it before any object.
    assert!(!state_dir(coll).join("stat-cache").exists());
    // What is left still restores.
    sb.run(&ROLLBACK_1).ok();
    assert_same_tree(&fx.at_snapshot, &tree(coll), "rollback after gc");
    sb.run(&["gc"]).ok().stdout_has("Removed 0 unreferenced");
}

#[test]
fn a_damaged_object_is_reported_by_path_and_hash_and_never_used() {
    let fx = rollback_fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    // The object of review.md as it was at snapshot 1: a file the rollback must write.
    let review = fx.at_snapshot.get("commands/review.md").expect("review");
    let Node::File { bytes, .. } = review else {
        panic!("not a file")
    };
    let hash = blake3::hash(bytes).to_hex().to_string();
    let obj = store_files(coll).flip_byte(&hash);
    let before = tree(coll);
    sb.run(&ROLLBACK_1)
        .code(1)
        .stderr_has(&obj.display().to_string())
        .stderr_has(&hash)
        .stderr_has("damaged")
        .nothing_changed();
    assert_eq!(tree(coll), before);
    sb.run(&["status"]).ok();
    assert_eq!(tree(coll), before);

    // A damaged tree object: `show` and `gc` refuse, naming it.
    let root = sb.run(&["--json", "snapshot", "list"]).ok().json()["snapshots"][0]["root"]
        .as_str()
        .expect("root")
        .to_string();
    store_files(coll).flip_byte(&root);
    sb.run(&["snapshot", "show", "1"])
        .code(1)
        .stderr_has(&root)
        .stderr_has("damaged");
    let n = objects(coll).len();
    sb.run(&["gc"]).code(1).stderr_has(&root);
    assert_eq!(
        objects(coll).len(),
        n,
        "gc deleted something despite the damage"
    );
}

/// Every file below the store's `objects/` and `packs/`.
fn store_object_files(coll: &Path) -> Vec<PathBuf> {
    let store = state_dir(coll).join("store");
    let mut out = Vec::new();
    let mut stack = vec![store.join("objects"), store.join("packs")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten() {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_version_2_store_of_loose_objects_is_read_as_it_is() {
    // store-spec.md §10: a store written before packs holds every object as a loose file;
    // it is read as it is, and new objects go into packs beside them.
    let fx = rollback_fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    let store = store_files(coll);
    let objects_dir = state_dir(coll).join("store/objects");
    for h in store.hashes() {
        let p = objects_dir.join(&h[..2]).join(&h[2..]);
        if !p.exists() {
            fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
            fs::write(&p, store.get(&h).expect("object")).expect("write");
            chmod(&p, 0o444);
        }
    }
    for p in &store.packs {
        fs::remove_file(p).expect("rm pack");
    }
    let loose = store_files(coll);
    assert!(loose.packs.is_empty());
    assert_eq!(loose.hashes(), store.hashes());
    sb.run(&ROLLBACK_1).ok();
    assert_eq!(fx.state(coll, "rollback from loose objects"), State::After);
    sb.run(&["undo", "--yes"]).ok();
    assert_eq!(fx.state(coll, "undo from loose objects"), State::Before);
    let packs = store_files(coll).packs.len();
    leave_unreachable_objects(sb, coll);
    assert_eq!(
        store_files(coll).packs.len(),
        packs + 1,
        "new objects go into a pack"
    );
    let r = sb.run(&["--json", "gc"]).ok().json();
    assert!(r["gc"]["removed"].as_u64().expect("removed") > 0, "{r}");
    sb.run(&ROLLBACK_1).ok();
    assert_eq!(fx.state(coll, "rollback after gc"), State::After);
}

/// Flips the 21st byte of `pack` (in its table's first hash).
fn flip_table_byte(pack: &Path) {
    chmod(pack, 0o644);
    let mut b = fs::read(pack).expect("read");
    b[20] ^= 0x55;
    fs::write(pack, b).expect("write");
    chmod(pack, 0o444);
}

#[test]
fn a_damaged_pack_is_named_and_gc_deletes_nothing() {
    // store-spec.md §2.1: a pack whose table does not match its name is damaged; what only
    // it holds is reported with its path, and gc deletes nothing while it is there.
    let fx = rollback_fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    let root = snapshot_roots(sb, coll).remove(0);
    let pack = store_files(coll).objects[&root].file.clone();
    assert!(
        pack.starts_with(state_dir(coll).join("store/packs")),
        "{}",
        pack.display()
    );
    flip_table_byte(&pack);
    let before = tree(coll);
    let name = pack.file_name().unwrap().to_string_lossy().to_string();
    sb.run(&ROLLBACK_1)
        .code(1)
        .stderr_has(&name)
        .stderr_has("damaged")
        .nothing_changed();
    assert_eq!(tree(coll), before);
    flip_table_byte(&pack);
    sb.run(&ROLLBACK_1).ok();
    assert_eq!(
        fx.state(coll, "rollback with the pack whole again"),
        State::After
    );

    // A damaged pack that nothing reachable needs, beside a pack gc would rewrite: gc
    // deletes nothing, and says why.
    let packs = store_files(coll).packs;
    leave_unreachable_objects(sb, coll);
    let unreachable = store_files(coll).packs;
    let damaged: Vec<_> = unreachable.iter().filter(|p| !packs.contains(p)).collect();
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    flip_table_byte(damaged[0]);
    let other = coll.join("skills/my-skill/other.bin");
    fs::write(&other, vec![9u8; 30_000]).expect("write");
    let v = sb.run(&["--json", "snapshot", "-m", "tmp"]).ok().json();
    let id = v["snapshot"]["snapshot"]["id"].as_u64().expect("id");
    fs::remove_file(&other).expect("rm");
    sb.run(&["snapshot", "delete", &id.to_string()]).ok();
    let files = store_object_files(coll);
    let name = damaged[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    sb.run(&["gc"])
        .code(1)
        .stderr_has(&name)
        .stderr_has("gc deletes nothing");
    assert_eq!(store_object_files(coll), files, "gc deleted something");
    // Storing the same objects again writes the pack of that name whole again: gc goes on.
    leave_unreachable_objects(sb, coll);
    sb.run(&["gc"]).ok();
    let store = store_files(coll);
    for root in snapshot_roots(sb, coll) {
        store.check(&root, true).expect("every snapshot whole");
    }
}

#[test]
fn a_type_change_is_restored_in_one_step() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.run(&["snapshot"]).ok();
    let at_snapshot = tree(&coll);
    fs::remove_file(coll.join("skills/my-skill/docs/notes.txt")).expect("rm");
    fs::create_dir(coll.join("skills/my-skill/docs/notes.txt")).expect("mkdir");
    sb.run(&["snapshot", "show", "1"])
        .ok()
        .stdout_has("M skills/my-skill/docs/notes.txt");
    sb.run(&ROLLBACK_1).ok();
    assert_eq!(tree(&coll), at_snapshot);
}

#[test]
fn sigkill_at_every_call_of_a_rollback_leaves_before_or_the_snapshot() {
    let fx = rollback_fixture();
    let sb = &fx.sb;
    let (mut before, mut after) = (0, 0);
    let mut n = 1;
    loop {
        assert!(n < 2000, "the rollback was always killed");
        let w = fx.copy("work");
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &ROLLBACK_1);
        if r.code == Some(0) {
            assert_eq!(fx.state(&w, &r.what), State::After);
            break;
        }
        r.killed();
        // The next command recovers; the collection is then exactly one of the two.
        // (`status`, not `verify`: the state before has local modifications.)
        let next = sb.run_in(&w, &[], &["status"]);
        next.ok();
        let state = fx.state(&w, &format!("{} then status", r.what));
        match state {
            State::Before => before += 1,
            State::After => {
                after += 1;
                // Committed: the operation log's record of it exists with it.
                assert_eq!(
                    newest_record(sb, &w),
                    "rollback to snapshot 1",
                    "kill at {n}"
                );
            }
        }
        if state == State::Before {
            assert_eq!(newest_record(sb, &w), "remove agent helper", "kill at {n}");
        }
        assert_eq!(snapshot_ids(sb, &w), [(1, false)], "kill at {n}");
        // And the interrupted rollback can be run again to the end.
        if n % 7 == 0 {
            sb.run_in(&w, &[], &ROLLBACK_1).ok();
            assert_eq!(fx.state(&w, "rollback again"), State::After);
        }
        n += 1;
    }
    assert!(before > 0 && after > 0, "before {before}, after {after}");
    eprintln!(
        "rollback: {} kills; {before} ended before, {after} after",
        n - 1
    );
}

#[test]
fn eio_at_every_call_of_a_rollback_is_all_or_nothing() {
    let fx = rollback_fixture();
    let sb = &fx.sb;
    let mut maybe = 0;
    let mut n = 1;
    loop {
        assert!(n < 2000, "the rollback never succeeded");
        let w = fx.copy("work");
        let spec = format!("{n}:EIO");
        let r = sb.run_in(&w, &[("SKILLWAL_FAIL_AT", &spec)], &ROLLBACK_1);
        if r.code == Some(0) {
            assert_eq!(fx.state(&w, &r.what), State::After);
            break;
        }
        r.code(1).stderr_has("Input/output error");
        if r.stderr.contains("may have been applied") {
            maybe += 1;
            sb.run_in(&w, &[], &["status"]).ok();
            assert_eq!(fx.state(&w, &r.what), State::After);
        } else {
            r.nothing_changed();
            assert_eq!(fx.state(&w, &r.what), State::Before);
            sb.run_in(&w, &[], &["status"]).ok();
            assert_eq!(fx.state(&w, "status after the error"), State::Before);
        }
        n += 1;
    }
    assert!(maybe > 0);
    eprintln!(
        "rollback EIO: {} failed calls, {maybe} after the commit point",
        n - 1
    );
}

/// Kills a real rollback of a larger collection at random moments (SIGKILL from outside,
/// no hook), then recovers: always before or after. The seed is printed.
#[test]
fn sigkill_at_random_moments_of_a_rollback() {
    let sb = Sandbox::new();
    let coll = sb.root.join("big");
    sb.run_in(&coll, &[], &["init"]).ok();
    for i in 0..20 {
        let src = sb.skill_source(&format!("s{i}"), &"line\n".repeat(2000));
        sb.run_in(&coll, &[], &["add", "skill", s(&src)]).ok();
    }
    sb.run_in(&coll, &[], &["snapshot"]).ok();
    let at_snapshot = tree(&coll);
    for i in 0..20 {
        append(&sb.src.join(format!("s{i}/SKILL.md")), "v2\n");
        write(
            &sb.src.join(format!("s{i}/docs/more.txt")),
            &"x".repeat(100_000),
        );
    }
    sb.run_in(&coll, &[], &["update", "--all", "--strategy", "upstream"])
        .ok();
    let now = tree(&coll);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    eprintln!("random kills: seed {seed}");
    let mut rng = seed | 1;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // How long an uninterrupted rollback takes on this machine bounds the delays.
    let w = sb.root.join("timing");
    copy_collection(&coll, &w);
    let t0 = Instant::now();
    sb.run_in(&w, &[], &ROLLBACK_1).ok();
    let full = t0.elapsed().as_micros().max(1000) as u64;
    let (mut before, mut after) = (0, 0);
    for round in 0..12 {
        let w = sb.root.join("work");
        if w.exists() {
            fs::remove_dir_all(&w).expect("rm");
        }
        copy_collection(&coll, &w);
        let mut child = sb
            .std_cmd(BIN)
            .arg("--collection-dir")
            .arg(&w)
            .args(ROLLBACK_1)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_micros(next() % full));
        let _ = child.kill();
        let _ = child.wait();
        sb.run_in(&w, &[], &["status"]).ok();
        let t = tree(&w);
        if t == now {
            before += 1;
        } else if t == at_snapshot {
            after += 1;
        } else {
            panic!(
                "seed {seed} round {round}: neither state\nagainst before:\n{}against the snapshot:\n{}",
                tree_diff(&now, &t),
                tree_diff(&at_snapshot, &t)
            );
        }
    }
    eprintln!("random kills: {before} before, {after} after");
}

/// A kill at every call of `snapshot`: afterwards the snapshot either does not exist or
/// is complete — rolling back to it after more changes restores exactly the state it took.
#[test]
fn sigkill_at_every_call_of_a_snapshot_leaves_none_or_a_complete_one() {
    let fx = rollback_fixture();
    let sb = &fx.sb;
    let (mut none, mut complete) = (0, 0);
    let mut n = 1;
    loop {
        assert!(n < 2000, "the snapshot was always killed");
        let w = fx.copy("work");
        let spec = n.to_string();
        let r = sb.run_in(
            &w,
            &[("SKILLWAL_CRASH_AFTER", &spec)],
            &["snapshot", "-m", "k"],
        );
        let done = r.code == Some(0);
        if !done {
            r.killed();
        }
        sb.run_in(&w, &[], &["status"]).ok();
        assert_eq!(
            fx.state(&w, &r.what),
            State::Before,
            "a snapshot changed files"
        );
        let ids = snapshot_ids(sb, &w);
        if ids.len() == 1 {
            none += 1;
        } else {
            assert_eq!(ids.last(), Some(&(2, false)), "kill at {n}");
            complete += 1;
            sb.run_in(&w, &[], &ROLLBACK_1).ok();
            sb.run_in(&w, &[], &["rollback", "2", "--yes"]).ok();
            assert_eq!(fx.state(&w, "rollback to the new snapshot"), State::Before);
        }
        if done {
            break;
        }
        n += 1;
    }
    assert!(none > 0 && complete > 0);
    eprintln!(
        "snapshot: {} kills; {none} without it, {complete} with it",
        n - 1
    );
}

/// The root tree of every snapshot of the collection at `coll`.
fn snapshot_roots(sb: &Sandbox, coll: &Path) -> Vec<String> {
    snapshot_list(sb, coll)
        .iter()
        .map(|s| s["root"].as_str().expect("root").to_string())
        .collect()
}

#[test]
fn sigkill_at_every_call_of_a_snapshot_that_merges_small_packs() {
    // store-spec.md §2.1, §5: with 16 small packs in the store, the next pack written takes
    // their objects and the same transaction deletes them. Killed at every call, the store
    // keeps every object of every snapshot, whether the merge happened or not.
    let fx = rollback_fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    let notes = coll.join("skills/my-skill/docs/notes.txt");
    let mut i = 0;
    while store_files(coll).packs.len() < 16 {
        append(&notes, &format!("line {i}\n"));
        sb.run(&["snapshot"]).ok();
        i += 1;
        assert!(i < 40, "a snapshot of a change writes a pack");
    }
    append(&notes, "the merging snapshot\n");
    let now = tree(coll);
    let before = snapshot_roots(sb, coll).len();
    let (mut none, mut merged) = (0, 0);
    let mut n = 1;
    loop {
        assert!(n < 2000, "the snapshot was always killed");
        let w = fx.copy("work");
        let r = sb.run_in(
            &w,
            &[("SKILLWAL_CRASH_AFTER", &n.to_string())],
            &["snapshot"],
        );
        let done = r.code == Some(0);
        if !done {
            r.killed();
        }
        sb.run_in(&w, &[], &["status"]).ok();
        assert_same_tree(
            &now,
            &tree(&w),
            "a snapshot changes no file of the collection",
        );
        let roots = snapshot_roots(sb, &w);
        let store = store_files(&w);
        for root in &roots {
            if let Err(e) = store.check(root, true) {
                panic!("kill at {n}: {e}");
            }
        }
        if roots.len() == before {
            none += 1;
            assert_eq!(
                store.packs.len(),
                16,
                "kill at {n}: merged without the snapshot"
            );
        } else {
            assert_eq!(roots.len(), before + 1, "kill at {n}");
            assert!(
                store.packs.len() < 16,
                "kill at {n}: not merged: {:?}",
                store.packs
            );
            merged += 1;
        }
        if done {
            sb.run_in(&w, &[], &ROLLBACK_1).ok();
            assert_eq!(fx.state(&w, "rollback after the merge"), State::After);
            break;
        }
        n += 1;
    }
    assert!(none > 0 && merged > 0);
    eprintln!(
        "merging snapshot: {} kills; {none} before it, {merged} after",
        n - 1
    );
}

#[test]
fn sigkill_at_every_call_of_gc_keeps_every_remaining_snapshot_restorable() {
    let fx = rollback_fixture();
    let sb = &fx.sb;
    // A pack gc must rewrite, not delete: snapshot 2's, whose kept.bin snapshot 3 still
    // needs once snapshot 2 is deleted (its trees are not needed any more).
    let kept = fx.coll.join("skills/my-skill/kept.bin");
    fs::write(&kept, vec![5u8; 10_000]).expect("write");
    let packs = store_files(&fx.coll).packs;
    sb.run(&["snapshot"]).ok().stdout_has("Snapshot 2 taken");
    let partly = store_files(&fx.coll).packs;
    let partly: Vec<_> = partly.iter().filter(|p| !packs.contains(p)).collect();
    assert_eq!(partly.len(), 1);
    let partly = partly[0].clone();
    let notes = fx.coll.join("skills/my-skill/docs/notes.txt");
    let notes_now = fs::read(&notes).expect("read");
    append(&notes, "for snapshot 3\n");
    sb.run(&["snapshot"]).ok().stdout_has("Snapshot 3 taken");
    sb.run(&["snapshot", "delete", "2"]).ok();
    fs::remove_file(&kept).expect("rm");
    fs::write(&notes, notes_now).expect("write");
    assert_eq!(fx.state(&fx.coll, "the fixture again"), State::Before);
    leave_unreachable_objects(sb, &fx.coll);
    let mut n = 1;
    loop {
        assert!(n < 2000, "gc was always killed");
        let w = fx.copy("work");
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &["gc"]);
        let done = r.code == Some(0);
        if !done {
            r.killed();
        }
        sb.run_in(&w, &[], &["status"]).ok();
        let store = store_files(&w);
        for root in snapshot_roots(sb, &w) {
            if let Err(e) = store.check(&root, true) {
                panic!("{}: {e}", r.what);
            }
        }
        sb.run_in(&w, &[], &ROLLBACK_1).ok();
        assert_eq!(
            fx.state(&w, &format!("{} then rollback", r.what)),
            State::After
        );
        if done {
            let name = partly.file_name().expect("name");
            assert!(
                !state_dir(&w).join("store/packs").join(name).exists(),
                "gc replaced the pack snapshot 2 wrote"
            );
            assert!(
                store.has(&blake3::hash(&[5u8; 10_000]).to_hex()),
                "kept.bin kept"
            );
            break;
        }
        n += 1;
    }
    eprintln!("gc: {} kills", n - 1);
}

/// Figures for the README's "Snapshots" section: store size of 100 snapshots of a
/// 1,000-artifact collection with one artifact changed between each, and the time of
/// `snapshot` and `rollback` for 100 and 1,000 artifacts. Ignored: it takes a while.
#[test]
#[ignore = "figures; run with --ignored --nocapture"]
fn figures() {
    for n in [100usize, 1000] {
        let sb = Sandbox::new();
        let coll = generated_collection(&sb, n);
        let t0 = Instant::now();
        sb.run_in(&coll, &[], &["snapshot"]).ok();
        let first = t0.elapsed();
        let store_first = du(&state_dir(&coll).join("store"));
        let t0 = Instant::now();
        sb.run_in(&coll, &[], &["snapshot"]).ok();
        let unchanged = t0.elapsed();
        let mut rounds = if n == 1000 { 100 } else { 10 };
        let mut one_change = Duration::ZERO;
        for i in 0..rounds {
            append(
                &coll.join(format!("skills/s{}/SKILL.md", i % n)),
                &format!("change {i}\n"),
            );
            let t0 = Instant::now();
            sb.run_in(&coll, &[], &["snapshot"]).ok();
            one_change += t0.elapsed();
        }
        let store = du(&state_dir(&coll).join("store"));
        let artifacts = du(&coll);
        // Rollback to snapshot 1: every changed skill goes back.
        let t0 = Instant::now();
        sb.run_in(&coll, &[], &ROLLBACK_1).ok();
        let rollback_all = t0.elapsed();
        // Rollback of one artifact's change.
        append(&coll.join("skills/s0/SKILL.md"), "one more\n");
        let t0 = Instant::now();
        let last = snapshot_ids(&sb, &coll).last().expect("a snapshot").0;
        sb.run_in(&coll, &[], &["rollback", &last.to_string(), "--yes"])
            .ok();
        let rollback_one = t0.elapsed();
        rounds = rounds.max(1);
        eprintln!(
            "FIGURES n={n}: collection {artifacts} B on disk; first snapshot {first:?} (store {store_first} B); unchanged snapshot {unchanged:?}; snapshot after one change {:?} (mean of {rounds}); store after {} snapshots {store} B ({} B per snapshot after the first); rollback of {rounds} changed artifacts {rollback_all:?}; rollback of one {rollback_one:?}",
            one_change / rounds as u32,
            rounds + 2,
            (store - store_first) / (rounds as u64 + 1)
        );
    }
}

/// Bytes on disk (allocated blocks) below `p`.
fn du(p: &Path) -> u64 {
    let out = std::process::Command::new("du")
        .args(["-s", "-B1"])
        .arg(p)
        .output()
        .expect("du");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("du output")
}

/// A collection of `n` skills (SKILL.md + one script + one note each) written directly in
/// SkillMeat's format (adding them one by one would take minutes), then verified by
/// `skillwal verify`.
fn generated_collection(sb: &Sandbox, n: usize) -> PathBuf {
    let coll = sb.root.join(format!("c{n}"));
    sb.run_in(&coll, &[], &["init"]).ok();
    // `init` writes an empty `artifacts = []`; the generated entries are `[[artifacts]]`.
    let mut manifest = read(&coll.join("collection.toml")).replace("artifacts = []\n", "");
    let mut lock = read(&coll.join("collection.lock"));
    for i in 0..n {
        let dir = coll.join(format!("skills/s{i}"));
        write(
            &dir.join("SKILL.md"),
            &format!(
                "---\nname: s{i}\ndescription: skill {i}\n---\n{}",
                "body line\n".repeat(40)
            ),
        );
        write(&dir.join("scripts/run.sh"), "#!/bin/sh\necho run\n");
        write(&dir.join("notes.txt"), &format!("notes {i}\n"));
        manifest.push_str(&format!(
            "\n[[artifacts]]\nname = \"s{i}\"\ntype = \"skill\"\npath = \"skills/s{i}\"\norigin = \"local\"\nadded = \"2026-01-01T00:00:00.000000\"\n"
        ));
        lock.push_str(&format!(
            "\n[lock.entries.\"s{i}::skill\"]\ncontent_hash = \"{}\"\nfetched = \"2026-01-01T00:00:00.000000\"\n",
            skillmeat_hash(&dir)
        ));
    }
    fs::write(coll.join("collection.toml"), manifest).expect("manifest");
    fs::write(coll.join("collection.lock"), lock).expect("lock");
    sb.run_in(&coll, &[], &["verify"]).ok();
    coll
}

// ---------------------------------------------------------------------------------------
// SkillMeat's tar.gz snapshots (the real Python tool's are in tests/python_compat.rs)

/// One entry of a hand-made tarball: a path written raw into the header (no sanitizing,
/// so hostile paths can be made), and its content.
enum TarEntry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Link(&'a str, &'a str),
}

/// Writes a gzip tarball of `entries` at `path`.
fn make_tarball(path: &Path, entries: &[TarEntry<'_>]) {
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(path).expect("create tarball"),
        flate2::Compression::default(),
    );
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_old();
        let (name, data, kind, mode): (&str, &[u8], tar::EntryType, u32) = match e {
            TarEntry::Dir(n) => (n, b"", tar::EntryType::Directory, 0o755),
            TarEntry::File(n, d, m) => (n, d, tar::EntryType::Regular, *m),
            TarEntry::Link(n, _) => (n, b"", tar::EntryType::Symlink, 0o777),
        };
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        if let TarEntry::Link(_, target) = e {
            h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).expect("append");
    }
    b.into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
}

/// Registers a SkillMeat snapshot of the default collection with `id` and a tarball.
fn register_py_snapshot(sb: &Sandbox, id: &str, entries: &[TarEntry<'_>]) -> PathBuf {
    let dir = sb.home.join("snapshots/default");
    fs::create_dir_all(&dir).expect("snapshots dir");
    let tarball = dir.join(format!("{id}.tar.gz"));
    make_tarball(&tarball, entries);
    let mut list = fs::read_to_string(dir.join("snapshots.toml")).unwrap_or_default();
    list.push_str(&format!(
        "[[snapshots]]\nid = \"{id}\"\ntimestamp = \"2026-11-25T23:09:53.565434\"\nmessage = \"test {id}\"\nartifact_count = 1\ntarball_path = \"{}\"\n\n",
        tarball.display()
    ));
    fs::write(dir.join("snapshots.toml"), list).expect("snapshots.toml");
    tarball
}

/// A tarball entry's content: `None` for a directory, else bytes and permission bits.
type Content = Option<(Vec<u8>, u32)>;

/// The files of the default collection as tarball entries (arcname `default/`), plus a
/// `.skillwal/` the restore must ignore.
fn collection_entries(coll: &Path) -> Vec<(String, Content)> {
    let mut v = vec![("default".to_string(), None)];
    for (rel, node) in tree(coll) {
        match node {
            Node::Dir { .. } => v.push((format!("default/{rel}"), None)),
            Node::File { bytes, mode } => v.push((format!("default/{rel}"), Some((bytes, mode)))),
            _ => {}
        }
    }
    v.push(("default/.skillwal".into(), None));
    v.push((
        "default/.skillwal/journal".into(),
        Some((b"not a journal".to_vec(), 0o644)),
    ));
    v
}

fn as_entries(v: &[(String, Content)]) -> Vec<TarEntry<'_>> {
    v.iter()
        .map(|(p, c)| match c {
            None => TarEntry::Dir(p),
            Some((b, m)) => TarEntry::File(p, b, *m),
        })
        .collect()
}

const PY_ID: &str = "20261125-230953-565434";

#[test]
fn a_skillmeat_tarball_is_listed_and_restored_through_the_journal() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let at_snapshot = tree(&coll);
    let entries = collection_entries(&coll);
    register_py_snapshot(&sb, PY_ID, &as_entries(&entries));
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    write(&coll.join("skills/my-skill/extra.txt"), "extra\n");
    let list = sb.run(&["snapshot", "list"]).ok().stdout.clone();
    assert!(
        list.contains(PY_ID) && list.contains(&format!("test {PY_ID}")),
        "{list}"
    );
    let j = sb.run(&["--json", "snapshot", "list"]).ok().json();
    assert_eq!(j["skillmeat_snapshots"][0]["id"], PY_ID);
    // `snapshot show` takes its id too: what a rollback to it would change, nothing written.
    let before_show = tree_all(&coll);
    let show = sb.run(&["snapshot", "show", PY_ID]).ok().stdout.clone();
    assert!(
        show.contains(&format!("SkillMeat snapshot {PY_ID}")),
        "{show}"
    );
    assert!(show.contains("skills/my-skill/extra.txt"), "{show}");
    let j = sb.run(&["--json", "snapshot", "show", PY_ID]).ok().json();
    let changes = j["changes"].as_array().expect("changes");
    assert!(!changes.is_empty(), "{j}");
    assert_eq!(tree_all(&coll), before_show);

    let journal_before = fs::read(state_dir(&coll).join("journal")).expect("journal");
    let r = sb.run(&["rollback", PY_ID]);
    r.code(2).stderr_has("pass --yes");
    let r = sb.run(&["--json", "rollback", PY_ID, "--yes"]);
    let v = r.ok().json();
    assert_eq!(v["extracted"]["skillwal_entries"], 2, "{v}");
    assert_same_tree(&at_snapshot, &tree(&coll), "after restoring the tarball");
    assert_ne!(
        fs::read(state_dir(&coll).join("journal")).expect("journal"),
        b"not a journal"
    );
    assert_ne!(journal_before.len(), 0);
    sb.run(&["verify"]).ok();
    // The restore went through the journal as one transaction with its log record.
    let ids = snapshot_ids(&sb, &coll);
    let imported = ids.last().expect("the imported snapshot").0;
    assert_eq!(
        newest_record(&sb, &coll),
        format!("rollback to snapshot {imported}")
    );
    // Unknown ids and --collection-dir are refused, nothing changed.
    let before = tree_all(&coll);
    sb.run(&["rollback", "20991231-000000-000000", "--yes"])
        .code(1)
        .stderr_has("no SkillMeat snapshot 20991231-000000-000000");
    sb.run_in(&coll, &[], &["rollback", PY_ID, "--yes"])
        .code(1)
        .stderr_has("use --home/-c instead of --collection-dir");
    assert_eq!(tree_all(&coll), before);
}

#[test]
fn hostile_skillmeat_tarballs_are_refused_and_change_nothing() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let base = collection_entries(&coll);
    let outside = sb.root.join("outside.txt");
    let x = || Some((b"x".to_vec(), 0o644));
    type Case<'a> = (&'a str, Vec<(String, Content)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "20260101-000000-000001",
            vec![("default/../../outside.txt".into(), x())],
            "would leave the collection",
        ),
        (
            "20260101-000000-000002",
            vec![(format!("{}", outside.display()), x())],
            "absolute path",
        ),
        (
            "20260101-000000-000003",
            vec![("other/evil.txt".into(), x())],
            "outside the archive's collection directory",
        ),
        (
            "20260101-000000-000004",
            vec![
                ("default/commands/review.md".into(), x()),
                ("default/commands/review.md".into(), x()),
            ],
            "appears twice",
        ),
        (
            "20260101-000000-000005",
            vec![("default/skills/x/SKILL.md".into(), x())],
            "it is not a snapshot of a collection",
        ),
    ];
    let before = tree_all(&coll);
    for (id, extra, message) in &cases {
        let mut entries = base.clone();
        entries.extend(extra.iter().cloned());
        if *id == "20260101-000000-000005" {
            entries = extra.clone();
        }
        register_py_snapshot(&sb, id, &as_entries(&entries));
        sb.run(&["rollback", id, "--yes"])
            .code(1)
            .stderr_has(message)
            .nothing_changed();
        assert_eq!(tree_all(&coll), before, "{id}");
        assert!(!outside.exists(), "{id} wrote outside the collection");
    }
    // A link (here pointing out of the collection) is never created; the rest is restored.
    let mut entries = as_entries(&base);
    entries.push(TarEntry::Link("default/skills/my-skill/out", "/etc/passwd"));
    register_py_snapshot(&sb, "20260101-000000-000006", &entries);
    let at_base = tree(&coll);
    append(&coll.join("commands/review.md"), "changed\n");
    sb.run(&["rollback", "20260101-000000-000006", "--yes"])
        .ok()
        .stderr_has("skills/my-skill/out in the tarball is a link or special file; not restored");
    assert!(fs::symlink_metadata(coll.join("skills/my-skill/out")).is_err());
    assert_same_tree(&at_base, &tree(&coll), "restored without the link");
}
