//! Large file objects stored in chunks (store-spec.md §2.2), through the real binary: a
//! 3 MiB file changed in the middle costs the store the chunks around the change, comes
//! back whole and exact by `undo`, survives `gc`, is refused when a chunk is damaged, and an
//! update that stores one, killed at every call, leaves either no record or a record whose
//! undo restores the file.

#[path = "common/store_files.rs"]
mod store_files;
#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use store_files::StoreFiles;
use support::*;

const BIG_LINES: usize = 50_000;

/// About 3 MiB of distinct lines (`version` changes line `changed` only).
fn big_text(changed: usize, version: u32) -> Vec<u8> {
    let mut s = String::with_capacity(BIG_LINES * 64);
    for i in 0..BIG_LINES {
        if i == changed {
            s.push_str(&format!("line {i:06}: changed in version {version}\n"));
        } else {
            s.push_str(&format!(
                "line {i:06}: the same text in every version of it\n"
            ));
        }
    }
    s.into_bytes()
}

fn store_files(coll: &Path) -> StoreFiles {
    StoreFiles::read(&state_dir(coll).join("store"))
}

/// A collection holding the skill `big` (SKILL.md and a 3 MiB `data/big.txt` of mode
/// 0640) from the source returned.
fn big_skill(sb: &Sandbox) -> (PathBuf, PathBuf) {
    sb.run(&["init"]).ok();
    let src = sb.src.join("big");
    write(
        &src.join("SKILL.md"),
        "---\nname: big\ndescription: A large skill\n---\nbody\n",
    );
    let big = src.join("data/big.txt");
    write(&big, "");
    fs::write(&big, big_text(BIG_LINES / 2, 1)).unwrap();
    fs::set_permissions(&big, fs::Permissions::from_mode(0o640)).unwrap();
    sb.run(&["add", "skill", s(&src)]).ok();
    (sb.coll(), src)
}

/// The new upstream version: one line in the middle of `big.txt` changed.
fn change_upstream(src: &Path, version: u32) {
    fs::write(src.join("data/big.txt"), big_text(BIG_LINES / 2, version)).unwrap();
}

#[test]
fn a_large_file_changed_in_the_middle_costs_its_chunks_and_comes_back_whole() {
    let sb = Sandbox::new();
    let (coll, src) = big_skill(&sb);
    let v1 = big_text(BIG_LINES / 2, 1);
    assert!(v1.len() > 2 << 20, "{}", v1.len());
    let h1 = blake3::hash(&v1).to_hex().to_string();
    let at_v1 = tree(&coll);
    let bytes_before = store_files(&coll).object_bytes();

    change_upstream(&src, 2);
    sb.run(&["update", "big", "--strategy", "upstream"]).ok();
    let at_v2 = tree(&coll);
    let store = store_files(&coll);
    // The record keeps v1's bytes, as chunks and a list.
    assert!(
        store.chunked.contains_key(&h1),
        "{:?}",
        store.chunked.keys()
    );
    store
        .check(&h1, false)
        .expect("v1 readable from its chunks");
    let added = store.object_bytes() - bytes_before;
    eprintln!(
        "FIGURES a {} B file changed in one line: the update added {added} B of objects ({} chunks in its list)",
        v1.len(),
        store.chunked[&h1].len()
    );
    assert!(
        added < v1.len() as u64 / 8,
        "the update stored {added} B for a one-line change of a {} B file",
        v1.len()
    );

    // Back whole and exact, bytes and mode; and forward again.
    sb.run(&["undo", "--yes"]).ok();
    assert_same_tree(&at_v1, &tree(&coll), "undo of the update");
    sb.run(&["redo", "--yes"]).ok();
    assert_same_tree(&at_v2, &tree(&coll), "redo of the update");
    // gc keeps what the log needs: the list and its chunks.
    sb.run(&["gc"]).ok();
    let store = store_files(&coll);
    store.check(&h1, false).expect("v1 after gc");

    // A list damaged into naming the right chunks in the wrong order (each chunk still
    // verifies): the undo refuses, naming the list, and changes nothing.
    let list = state_dir(&coll).join("store/chunked").join(&h1);
    let good = fs::read(&list).unwrap();
    let mut swapped = good.clone();
    swapped[20..20 + 72].copy_from_slice(&[&good[20 + 36..20 + 72], &good[20..20 + 36]].concat());
    assert_ne!(swapped, good, "two different chunks");
    let mut perms = fs::metadata(&list).unwrap().permissions();
    perms.set_mode(0o644);
    fs::set_permissions(&list, perms.clone()).unwrap();
    fs::write(&list, &swapped).unwrap();
    let r = sb.run(&["undo", "--yes"]);
    r.code(1);
    assert!(
        r.stderr.contains(&list.display().to_string()),
        "{}",
        r.stderr
    );
    assert_same_tree(&at_v2, &tree(&coll), "an undo refused");
    fs::write(&list, &good).unwrap();

    // A damaged chunk: the undo that needs it refuses, naming the pack, and changes nothing.
    let chunk = store.chunked[&h1][store.chunked[&h1].len() / 2].clone();
    let pack = store.flip_byte(&chunk);
    let r = sb.run(&["undo", "--yes"]);
    r.code(1);
    assert!(
        r.stderr.contains(&pack.display().to_string()),
        "{}",
        r.stderr
    );
    assert_same_tree(&at_v2, &tree(&coll), "an undo refused");
}

#[test]
fn sigkill_at_every_call_of_an_update_that_stores_a_chunked_object() {
    let sb = Sandbox::new();
    let (coll, src) = big_skill(&sb);
    let at_v1 = tree(&coll);
    change_upstream(&src, 2);
    let base = sb.root.join("base");
    copy_collection(&coll, &base);
    let (mut before, mut after) = (0, 0);
    let mut n = 1;
    loop {
        assert!(n < 2000, "the update was always killed");
        let w = sb.root.join("work");
        copy_collection(&base, &w);
        let spec = n.to_string();
        let r = sb.run_in(
            &w,
            &[("SKILLWAL_CRASH_AFTER", &spec)],
            &["update", "big", "--strategy", "upstream"],
        );
        let done = r.code == Some(0);
        if !done {
            r.killed();
        }
        sb.run_in(&w, &[], &["verify"]).ok();
        let big = fs::read(w.join("skills/big/data/big.txt")).unwrap();
        if big == big_text(BIG_LINES / 2, 1) {
            before += 1;
            assert_same_tree(&at_v1, &tree(&w), &format!("kill at {n}, before"));
        } else {
            assert_eq!(
                big,
                big_text(BIG_LINES / 2, 2),
                "kill at {n}: neither version"
            );
            after += 1;
            // Committed: the record keeps v1 in chunks that are all there.
            sb.run_in(&w, &[], &["undo", "--yes"]).ok();
            assert_same_tree(&at_v1, &tree(&w), &format!("kill at {n}, then undo"));
        }
        if done {
            break;
        }
        n += 1;
    }
    assert!(before > 0 && after > 0);
    eprintln!(
        "chunked update: {} kills; {before} before, {after} after",
        n - 1
    );
}
