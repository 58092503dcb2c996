//! `gc` keeps exactly the bases a merge can need (store-spec.md §4.3, §7): those the current
//! lock or a snapshot's lock records as an artifact's `content_hash`. Superseded bases and
//! the bases of artifacts the Python tool removed go once no snapshot's lock names them;
//! SIGKILL at every call of such a gc leaves every snapshot restorable and every needed base
//! whole; a snapshot whose lock cannot be read or parsed stops gc before any deletion.
//!
//! The store is read here from its files, as store-spec.md describes them (base references
//! are JSON; tree objects are decoded by the spec's §3 layout), not through skillwal's code.
//! The test with the Python tool follows the skip/require rules of `tests/python_compat.rs`.

#[path = "common/store_files.rs"]
mod store_files;
#[path = "cli/support.rs"]
mod support;
#[path = "python/tool.rs"]
mod tool;

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use store_files::StoreFiles;
use support::*;

fn store(coll: &Path) -> PathBuf {
    state_dir(coll).join("store")
}

/// The store's objects, loose and packed, read from its files (store-spec.md §2.1).
fn store_files(coll: &Path) -> StoreFiles {
    StoreFiles::read(&store(coll))
}

/// Whether the store holds the object `hex`.
fn has_object(coll: &Path, hex: &str) -> bool {
    store_files(coll).has(hex)
}

fn base(coll: &Path, ty: &str, name: &str, key: &str) -> PathBuf {
    store(coll).join("bases").join(ty).join(name).join(key)
}

/// Bytes of every object in the store.
fn object_bytes(coll: &Path) -> u64 {
    store_files(coll).object_bytes()
}

/// Bytes of every file below `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in fs::read_dir(dir).into_iter().flatten() {
        let e = e.unwrap();
        let m = fs::symlink_metadata(e.path()).unwrap();
        total += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    total
}

/// Every base reference, as `type/name/key`.
fn bases(coll: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let root = store(coll).join("bases");
    for ty in fs::read_dir(&root).into_iter().flatten() {
        let ty = ty.unwrap();
        for name in fs::read_dir(ty.path()).unwrap() {
            let name = name.unwrap();
            for key in fs::read_dir(name.path()).unwrap() {
                let parts = [ty.file_name(), name.file_name(), key.unwrap().file_name()];
                out.insert(parts.map(|p| p.into_string().unwrap()).join("/"));
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The base `ty/name/key` exists and every object it needs is there and whole.
#[track_caller]
fn check_base(coll: &Path, ty: &str, name: &str, key: &str, what: &str) {
    let p = base(coll, ty, name, key);
    let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{what}: {}: {e}", p.display()));
    let b: Value = serde_json::from_str(&text).expect("base JSON");
    let h = b["hash"].as_str().expect("hash");
    if let Err(e) = store_files(coll).check(h, b["kind"] == "tree") {
        panic!("{what}: {e}");
    }
}

/// `(type, name, content_hash)` of every entry of the collection's lock now.
fn lock_keys(coll: &Path) -> BTreeSet<(String, String, String)> {
    let doc = toml_doc(&coll.join("collection.lock"));
    let mut out = BTreeSet::new();
    for (k, v) in doc["lock"]["entries"].as_table().unwrap() {
        let (name, ty) = k.split_once("::").unwrap();
        let hash = v["content_hash"].as_str().unwrap();
        out.insert((ty.to_string(), name.to_string(), hash.to_string()));
    }
    out
}

/// `n` bytes of a xorshift stream seeded with `seed` (incompressible, reproducible).
fn generated(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// `[settings] skillwal-log-keep = 1`: the operation log keeps its newest record only, so
/// that what an older record kept can be freed.
fn keep_one_log_record(home: &Path) {
    let config = home.join("config.toml");
    let text = read(&config).replace("[settings]\n", "[settings]\nskillwal-log-keep = 1\n");
    assert!(text.contains("skillwal-log-keep = 1"), "{text}");
    fs::write(&config, text).unwrap();
}

/// A change that pushes the newest record out of a log keeping one: a command `filler-N`
/// added.
fn push_out_the_log(sb: &Sandbox, home: &Path, n: u32) {
    let f = sb.file_source(&format!("filler-{n}.md"), "filler");
    let home = s(home);
    sb.run(&["--home", home, "add", "command", s(&f)]).ok();
}

const BIG: usize = 2 * 1024 * 1024;
const SKILL_MD: &str =
    "---\nname: big\ndescription: A large skill\n---\nline 1\nline 2\nline 3\nline 4\nline 5\n";

/// A ~2 MiB skill updated once, the update's record out of the operation log: gc keeps one
/// copy (the current base), frees the superseded one, and the kept base still serves a
/// merge.
#[test]
fn gc_keeps_one_copy_of_a_large_skill_updated_once() {
    let sb = Sandbox::new();
    sb.run(&["init"]).ok();
    keep_one_log_record(&sb.home);
    let coll = sb.coll();
    let src = sb.src.join("big");
    write(&src.join("SKILL.md"), SKILL_MD);
    let (v1, v2) = (generated(BIG, 1), generated(BIG, 2));
    fs::write(src.join("data.bin"), &v1).unwrap();
    sb.run(&["add", "skill", s(&src)]).ok();
    let key1 = lock_keys(&coll).into_iter().next().unwrap().2;
    fs::write(src.join("data.bin"), &v2).unwrap();
    sb.run(&["update", "big", "--strategy", "upstream"])
        .ok()
        .stdout_has("Recorded as 2 in the operation log");
    let key2 = lock_keys(&coll).into_iter().next().unwrap().2;
    let (h1, h2) = (blake3::hash(&v1).to_hex(), blake3::hash(&v2).to_hex());
    let before = object_bytes(&coll);
    assert!(before > 2 * BIG as u64, "two copies before gc: {before}");
    // While the update's record is in the log, it keeps the version before it (gc frees
    // only what the add's record, pushed out by the update's, kept).
    sb.run(&["gc"]).ok();
    assert!(has_object(&coll, &h1));
    push_out_the_log(&sb, &sb.home, 1);
    let (before, store_before) = (object_bytes(&coll), dir_bytes(&store(&coll)));

    let r = sb.run(&["--json", "gc"]).ok().json();
    let (after, store_after) = (object_bytes(&coll), dir_bytes(&store(&coll)));
    eprintln!(
        "FIGURES gc of a {BIG}-byte skill updated once, its record out of the log: objects {before} B before, {after} B after; whole store {store_before} B before, {store_after} B after; {r}"
    );
    assert!(
        after > BIG as u64 && after < BIG as u64 + 64 * 1024,
        "one copy after gc: {after}"
    );
    assert_eq!(
        r["gc"]["removed_bytes"].as_u64(),
        Some(before - after),
        "{r}"
    );
    assert_eq!(r["gc"]["bases_removed"], 1, "{r}");
    assert_eq!(
        r["gc"]["bases_kept"], 2,
        "big's current base and filler-1's: {r}"
    );
    assert!(!has_object(&coll, &h1), "the superseded copy is freed");
    assert!(!base(&coll, "skill", "big", &key1).exists());
    check_base(&coll, "skill", "big", &key2, "current base");
    assert!(has_object(&coll, &h2));
    sb.run(&["gc"])
        .ok()
        .stdout_has("Removed 0 unreferenced store objects (0 bytes) and 0 bases no lock needs");

    // The kept base is what a merge compares both sides with.
    let skill_md = coll.join("skills/big/SKILL.md");
    fs::write(&skill_md, SKILL_MD.replace("line 5", "line 5, edited here")).unwrap();
    write(
        &src.join("SKILL.md"),
        &SKILL_MD.replace("line 1", "line 1, edited upstream"),
    );
    sb.run(&["update", "big", "--strategy", "merge"])
        .ok()
        .stdout_has("merged with the local modifications");
    let merged = read(&skill_md);
    assert!(
        merged.contains("edited here") && merged.contains("edited upstream"),
        "{merged}"
    );
}

/// Three artifacts at v1, with an operation log that keeps one record, updated to v2
/// (snapshot 1 taken by hand), then to v3 (snapshot 2): the v1 bases are needed by nothing
/// (the only record left is the update to v3, whose lock changes name v2 and v3). Returns
/// the sandbox, the collection, the trees at snapshots 1 and 2, and the bases that must
/// stay.
struct Fixture {
    sb: Sandbox,
    coll: PathBuf,
    at: [(u64, Tree); 2],
    needed: BTreeSet<(String, String, String)>,
    unneeded: BTreeSet<(String, String, String)>,
}

fn fixture() -> Fixture {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    keep_one_log_record(&sb.home);
    let v1 = lock_keys(&coll);
    sb.change_sources("v2");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    sb.run(&["snapshot", "-m", "v2"])
        .ok()
        .stdout_has("Snapshot 1 taken");
    let (at2, v2) = (tree(&coll), lock_keys(&coll));
    sb.change_sources("v3");
    sb.run(&["update", "--all", "--strategy", "upstream"]).ok();
    sb.run(&["snapshot", "-m", "v3"])
        .ok()
        .stdout_has("Snapshot 2 taken");
    let (at3, v3) = (tree(&coll), lock_keys(&coll));
    let needed: BTreeSet<_> = v2.union(&v3).cloned().collect();
    assert_eq!(bases(&coll).len(), 9);
    Fixture {
        sb,
        coll,
        at: [(1, at2), (2, at3)],
        needed,
        unneeded: v1,
    }
}

impl Fixture {
    /// Every needed base is whole, and every remaining snapshot restores exactly (in the
    /// copy `w`, which the rollbacks change).
    #[track_caller]
    fn check(&self, w: &Path, what: &str) {
        for (ty, name, key) in &self.needed {
            check_base(w, ty, name, key, what);
        }
        for (id, at) in &self.at {
            self.sb
                .run_in(w, &[], &["rollback", &id.to_string(), "--yes"])
                .ok();
            assert_same_tree(at, &tree(w), &format!("{what}, then rollback {id}"));
            self.sb.run_in(w, &[], &["verify"]).ok();
        }
    }
}

#[test]
fn sigkill_at_every_call_of_a_gc_that_frees_bases_keeps_snapshots_and_needed_bases() {
    let fx = fixture();
    let sb = &fx.sb;
    let mut n = 1;
    loop {
        assert!(n < 2000, "gc was always killed");
        let w = sb.root.join("work");
        if w.exists() {
            fs::remove_dir_all(&w).unwrap();
        }
        copy_collection(&fx.coll, &w);
        let spec = n.to_string();
        let r = sb.run_in(&w, &[("SKILLWAL_CRASH_AFTER", &spec)], &["--json", "gc"]);
        let done = r.code == Some(0);
        if !done {
            r.killed();
        }
        sb.run_in(&w, &[], &["status"]).ok();
        if done {
            assert_eq!(r.json()["gc"]["bases_removed"], 3, "{}", r.stdout);
            let left: BTreeSet<String> = bases(&w);
            for (ty, name, key) in &fx.unneeded {
                assert!(!left.contains(&format!("{ty}/{name}/{key}")), "{left:?}");
            }
            assert_eq!(left.len(), fx.needed.len(), "{left:?}");
        }
        fx.check(&w, &r.what);
        if done {
            break;
        }
        n += 1;
    }
    assert!(n > 3, "gc made too few calls to test anything: {n}");
    eprintln!("gc freeing bases: {} kills", n - 1);
}

/// A snapshot whose lock cannot be read (its object damaged) or parsed stops gc before any
/// deletion, and the error names the snapshot.
#[test]
fn gc_deletes_nothing_when_a_snapshot_lock_cannot_be_read_or_parsed() {
    let fx = fixture();
    let (sb, coll) = (&fx.sb, &fx.coll);
    // Damaged: the lock object of snapshot 1 (the v2 lock, in no other snapshot).
    let lock2 = lock_object(sb, coll, 1);
    let obj = store_files(coll).flip_byte(&lock2);
    let before = tree_all(coll);
    sb.run(&["gc"])
        .code(1)
        .stderr_has("collection.lock of snapshot 1 cannot be read or parsed")
        .stderr_has("gc deleted nothing")
        .stderr_has(s(&obj));
    assert_same_tree(&before, &tree_all(coll), "gc with a damaged snapshot lock");

    // Not TOML, recorded as such: restored from a SkillMeat tarball that holds such a lock.
    // Flipped back.
    store_files(coll).flip_byte(&lock2);
    let good_lock = read(&coll.join("collection.lock"));
    let tarball = sb.root.join("py.tar.gz");
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        fs::File::create(&tarball).unwrap(),
        flate2::Compression::default(),
    ));
    for (name, data) in [
        (
            "default/collection.toml",
            read(&coll.join("collection.toml")),
        ),
        ("default/collection.lock", "[lock\nbroken".to_string()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
    let dir = sb.home.join("snapshots/default");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("snapshots.toml"),
        format!(
            "[[snapshots]]\nid = \"20261125-230953-565434\"\ntimestamp = \"2026-11-25T23:09:53.565434\"\nmessage = \"bad lock\"\nartifact_count = 0\ntarball_path = \"{}\"\n",
            tarball.display()
        ),
    )
    .unwrap();
    // The import is a manual snapshot; reading the restored lock back fails, so the lock
    // is put back by hand.
    let _ = sb.run(&["rollback", "20261125-230953-565434", "--yes"]);
    fs::write(coll.join("collection.lock"), good_lock).unwrap();
    let ids = sb.run(&["--json", "snapshot", "list"]).ok().json();
    let imported = ids["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["message"].as_str().unwrap().contains("bad lock"))
        .expect("the imported snapshot")["id"]
        .as_u64()
        .unwrap();
    let before = tree_all(coll);
    sb.run(&["gc"])
        .code(1)
        .stderr_has(&format!(
            "collection.lock of snapshot {imported} cannot be read or parsed"
        ))
        .stderr_has("TOML syntax error");
    assert_same_tree(
        &before,
        &tree_all(coll),
        "gc with an unparsable snapshot lock",
    );
}

/// The hash of `collection.lock` in snapshot `id`'s root tree (store-spec.md §3).
fn lock_object(sb: &Sandbox, coll: &Path, id: u64) -> String {
    let list = sb.run(&["--json", "snapshot", "list"]).ok().json();
    let snap = list["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .expect("snapshot");
    let root = store_files(coll)
        .get(snap["root"].as_str().unwrap())
        .expect("the snapshot's root");
    let n = u32::from_le_bytes(root[8..12].try_into().unwrap());
    let mut i = 12;
    for _ in 0..n {
        let k = u16::from_le_bytes(root[i + 5..i + 7].try_into().unwrap()) as usize;
        let name = std::str::from_utf8(&root[i + 7..i + 7 + k]).unwrap();
        i += 7 + k + if root[i] == b'd' { 0 } else { 8 };
        if name == "collection.lock" {
            return hex(&root[i..i + 32]);
        }
        i += 32;
    }
    panic!("snapshot {id} has no collection.lock");
}

/// The Python tool removes an artifact (its lock entry goes; skillwal's bases stay): gc
/// keeps the bases a snapshot's lock or a record of the operation log names — a rollback
/// to that snapshot and a merge then work — and frees each once nothing retained names it.
#[test]
fn bases_of_an_artifact_the_python_tool_removed() {
    let Some(skillmeat) = tool::skillmeat_or_skip("gc_bases") else {
        return;
    };
    let sb = Sandbox::new();
    let both = tool::Both { sb: &sb, skillmeat };
    let coll = both.coll();
    both.sw(&["init"]).ok();
    keep_one_log_record(&both.home());
    let src = sb.src.join("doomed");
    write(&src.join("SKILL.md"), &SKILL_MD.replace("big", "doomed"));
    fs::write(src.join("data.bin"), generated(64 * 1024, 7)).unwrap();
    both.sw(&["add", "skill", s(&src)]).ok();
    let key = |c: &Path| lock_keys(c).into_iter().next().expect("a lock entry").2;
    let h1 = key(&coll);
    append(&src.join("SKILL.md"), "v2\n");
    both.sw(&["update", "doomed", "--strategy", "upstream"])
        .ok(); // record 2: h1 -> h2
    let h2 = key(&coll);
    both.sw(&["snapshot", "-m", "doomed at v2"]).ok(); // snapshot 1: h2
    let at2 = tree(&coll);
    both.py(&["remove", "doomed", "--force"]);
    assert!(lock_keys(&coll).is_empty());

    let kept = |keys: &[&str], what: &str| {
        let want: BTreeSet<String> = keys.iter().map(|k| format!("skill/doomed/{k}")).collect();
        let doomed: BTreeSet<String> = bases(&coll)
            .into_iter()
            .filter(|b| b.starts_with("skill/doomed/"))
            .collect();
        assert_eq!(doomed, want, "{what}");
        for k in keys {
            check_base(&coll, "skill", "doomed", k, what);
        }
    };
    both.sw(&["gc"]).ok();
    kept(&[&h1, &h2], "h1 named by record 2, h2 by it and snapshot 1");
    push_out_the_log(&sb, &both.home(), 1);
    both.sw(&["gc"])
        .ok()
        .stdout_has("and 1 bases no lock needs");
    kept(&[&h2], "v2 named by snapshot 1");

    // Back to snapshot 1, then a merge against the kept base.
    both.sw(&["rollback", "1", "--yes"]).ok();
    assert_same_tree(&at2, &tree(&coll), "rollback 1");
    let md = coll.join("skills/doomed/SKILL.md");
    fs::write(&md, read(&md).replace("line 5", "line 5, edited here")).unwrap();
    write(
        &src.join("SKILL.md"),
        &read(&src.join("SKILL.md")).replace("line 1", "line 1, upstream"),
    );
    both.sw(&["update", "doomed", "--strategy", "merge"])
        .ok()
        .stdout_has("merged with the local modifications"); // its record: h2 -> h3
    let merged = read(&md);
    assert!(
        merged.contains("edited here") && merged.contains("line 1, upstream"),
        "{merged}"
    );
    let h3 = key(&coll);

    both.py(&["remove", "doomed", "--force"]);
    both.sw(&["gc"]).ok();
    kept(
        &[&h2, &h3],
        "both named by the merge's record, v2 by snapshot 1 too",
    );
    both.sw(&["snapshot", "delete", "1"]).ok();
    push_out_the_log(&sb, &both.home(), 2);
    let r = both.sw(&["--json", "gc"]).ok().json();
    assert_eq!(r["gc"]["bases_removed"], 2, "{r}");
    kept(&[], "nothing names doomed any more");
    assert!(
        !store(&coll).join("bases/skill/doomed").exists(),
        "its directory goes too"
    );
    assert!(
        !store(&coll).join("bases/skill").exists(),
        "and the emptied type directory"
    );
    assert_ne!(h3, h2);
    // Nothing of it is left in the store.
    let data = blake3::hash(&generated(64 * 1024, 7)).to_hex();
    assert!(!has_object(&coll, &data));
}
