//! Bad input that is not a command-line mistake, through the real binary: crafted journals
//! whose records point outside the collection, links in the collection pointing outside it,
//! and file names that are not UTF-8. Each gets a clear error, and nothing is written
//! outside the collection or lost inside it. (Invalid TOML, bad names and sources, a
//! read-only collection and a full disk are in tests/cli.rs.)

#[path = "cli/support.rs"]
mod support;

use skillwal::journal::format::{self, Before, Content, Record};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use support::*;

#[path = "common/crafted.rs"]
mod crafted;

use crafted::crafted;

/// A committed journal whose transaction is `records`, with its commit record.
fn crafted_journal(records: &[(Record, Option<&[u8]>)], ops: u32) -> Vec<u8> {
    crafted(records, ops).0
}

/// A put-file record of operation 0.
fn put_file(path: &str, content: &[u8]) -> (Record, Option<&'static [u8]>) {
    crafted::put_file(0, path, content)
}

#[test]
fn a_crafted_journal_never_writes_outside_the_collection() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let outside = sb.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let victim = outside.join("victim.txt");
    fs::write(&victim, "keep me\n").unwrap();
    let evil_paths = [
        "../../../outside/victim.txt".to_string(),
        "../evil.txt".to_string(),
        victim.display().to_string(),
        "skills/../../evil.txt".to_string(),
        "skills/./x".to_string(),
        ".skillwal/journal".to_string(),
        ".skillwal/lock".to_string(),
        "skills//x".to_string(),
        "nul\0byte".to_string(),
        String::new(),
    ];
    for path in &evil_paths {
        let before = tree(&coll);
        let journal = crafted_journal(&[put_file(path, b"pwned\n")], 1);
        fs::write(state_dir(&coll).join("journal"), &journal).unwrap();
        let r = sb.run_in(&coll, &[], &["list"]);
        r.code(1);
        assert!(
            r.stderr.contains("journal") && r.stderr.contains("recover --discard"),
            "{path:?}: the error must name the journal and the way out:\n{}",
            r.stderr
        );
        assert_eq!(read(&victim), "keep me\n", "{path:?}");
        assert!(!sb.root.join("evil.txt").exists(), "{path:?}");
        assert!(!sb.home.join("evil.txt").exists(), "{path:?}");
        assert_same_tree(&before, &tree(&coll), &format!("{path:?}"));
        // Inspecting it is safe, says what recovery refuses, and exits 1.
        sb.run_in(&coll, &[], &["journal", "inspect"])
            .code(1)
            .stdout_has("CORRUPT")
            .stdout_lacks("rolled forward");
        sb.run_in(&coll, &[], &["recover", "--discard"]).ok();
        sb.run_in(&coll, &[], &["verify"]).ok();
    }
}

#[test]
fn a_crafted_link_is_never_written_through() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let outside = sb.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let before = tree(&coll);
    // Op 0 makes skills/evil a link to a directory outside; op 1 writes through it. Staging
    // never lets a path go through a link, but a crafted journal is not staged.
    let link = Record::PutLink {
        op: 0,
        path: "skills/evil".into(),
        before: Before::Absent,
        target: outside.as_os_str().as_encoded_bytes().to_vec(),
    };
    let (mut through, content) = put_file("skills/evil/x.txt", b"pwned\n");
    if let Record::PutFile { op, .. } = &mut through {
        *op = 1;
    }
    let journal = crafted_journal(&[(link, None), (through.clone(), content)], 2);
    fs::write(state_dir(&coll).join("journal"), &journal).unwrap();
    let r = sb.run_in(&coll, &[], &["list"]);
    r.code(1);
    // Staging never lets an operation lie below another's path (but a created directory's):
    // the journal is refused as not written by skillwal.
    assert!(r.stderr.contains("lies below skills/evil"), "{}", r.stderr);
    assert!(!outside.join("x.txt").exists(), "written through a link");
    assert_same_tree(&before, &tree(&coll), "crafted link");

    // A link already in the collection, and a journal writing through it.
    symlink(&outside, coll.join("skills/evil")).unwrap();
    let before = tree(&coll);
    if let Record::PutFile { op, .. } = &mut through {
        *op = 0;
    }
    let journal = crafted_journal(&[(through, content)], 1);
    fs::write(state_dir(&coll).join("journal"), &journal).unwrap();
    let r = sb.run_in(&coll, &[], &["list"]);
    r.code(1);
    assert!(
        r.stderr
            .contains("skills/evil on the way is a symbolic link"),
        "{}",
        r.stderr
    );
    assert!(!outside.join("x.txt").exists(), "written through a link");
    assert_same_tree(&before, &tree(&coll), "link in the collection");
}

#[test]
fn a_crafted_tree_entry_never_writes_outside_the_collection() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let before = tree(&coll);
    let content = b"pwned\n";
    let leaked: &'static [u8] = content;
    let entry = Record::TreeEntry {
        op: 0,
        rel_path: "../../../evil.txt".into(),
        kind: format::EntryKind::File,
        mode: 0o644,
        size: content.len() as u64,
        hash: *blake3::hash(content).as_bytes(),
        content: Content::Inline {
            at: 0,
            len: content.len() as u32,
        },
        target: Vec::new(),
    };
    let tree_rec = Record::PutTree {
        op: 0,
        path: "skills/x".into(),
        mode: Some(0o755),
        before: Before::Absent,
        after_hash: [0; 32],
        staged_ino: 0,
        entry_count: 1,
    };
    let journal = crafted_journal(&[(entry, Some(leaked)), (tree_rec, None)], 1);
    fs::write(state_dir(&coll).join("journal"), &journal).unwrap();
    sb.run_in(&coll, &[], &["list"]).code(1);
    assert!(!sb.root.join("evil.txt").exists());
    assert!(!sb.home.join("evil.txt").exists());
    assert!(!coll.join("skills/x").exists());
    assert_same_tree(&before, &tree(&coll), "crafted tree entry");
}

#[test]
fn links_in_the_collection_pointing_outside_are_never_written_through() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    sb.change_sources("v2");
    // The skill's directory and the command's file replaced by links to copies outside.
    let outside = sb.root.join("outside");
    copy_tree(&coll.join("skills/my-skill"), &outside.join("my-skill"));
    fs::copy(coll.join("commands/review.md"), outside.join("review.md")).unwrap();
    let outside_before = tree(&outside);
    fs::remove_dir_all(coll.join("skills/my-skill")).unwrap();
    symlink(outside.join("my-skill"), coll.join("skills/my-skill")).unwrap();
    fs::remove_file(coll.join("commands/review.md")).unwrap();
    symlink(outside.join("review.md"), coll.join("commands/review.md")).unwrap();
    let before = tree(&coll);

    let v = sb.run_in(&coll, &[], &["verify"]);
    v.code(1);
    assert!(
        v.stdout.contains("symbolic link") || v.stderr.contains("symbolic link"),
        "{}",
        v.stdout
    );
    for args in [
        &["update", "my-skill", "--strategy", "upstream"][..],
        &["update", "review", "--strategy", "upstream"],
        &["update", "--all", "--strategy", "upstream"],
    ] {
        let r = sb.run_in(&coll, &[], args);
        r.code(1);
        assert!(r.stderr.contains("symbolic link"), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("Nothing was changed"),
            "{args:?}: {}",
            r.stderr
        );
        assert_same_tree(&before, &tree(&coll), &format!("{args:?}"));
        assert_same_tree(
            &outside_before,
            &tree(&outside),
            &format!("{args:?} outside"),
        );
    }
    // Removing the artifact neither follows nor removes the link: it says what to do.
    for name in ["review", "my-skill"] {
        let before = tree(&coll);
        let r = sb.run_in(&coll, &[], &["remove", name]);
        r.code(1);
        assert!(
            r.stderr.contains("is a symbolic link") && r.stderr.contains("--keep-files"),
            "{}",
            r.stderr
        );
        assert_same_tree(&before, &tree(&coll), "refused remove");
        sb.run_in(&coll, &[], &["remove", name, "--keep-files"])
            .ok();
    }
    assert!(fs::symlink_metadata(coll.join("commands/review.md")).is_ok());
    assert_same_tree(&outside_before, &tree(&outside), "remove followed a link");
}

#[test]
fn file_names_that_are_not_utf8_get_a_clear_error() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let before = tree(&coll);
    // In a source: refused, naming the file.
    let src = sb.skill_source("odd", "v1");
    let bad = std::ffi::OsStr::from_bytes(b"bad-\xff.txt");
    fs::write(src.join(bad), "x").unwrap();
    let r = sb.run_in(&coll, &[], &["add", "skill", s(&src)]);
    r.code(1);
    assert!(r.stderr.contains("UTF-8"), "{}", r.stderr);
    assert!(r.stderr.contains("bad-"), "{}", r.stderr);
    assert_same_tree(
        &before,
        &tree(&coll),
        "add of a source with a non-UTF-8 name",
    );
    // In the collection: verify names it; an update refuses and changes nothing.
    fs::write(coll.join("skills/my-skill").join(bad), "x").unwrap();
    let before = tree(&coll);
    let v = sb.run_in(&coll, &[], &["verify"]);
    v.code(1);
    assert!(
        format!("{}{}", v.stdout, v.stderr).contains("UTF-8"),
        "{}",
        v.stdout
    );
    sb.change_sources("v2");
    let r = sb.run_in(
        &coll,
        &[],
        &["update", "my-skill", "--strategy", "upstream"],
    );
    r.code(1);
    assert!(r.stderr.contains("UTF-8"), "{}", r.stderr);
    assert_same_tree(&before, &tree(&coll), "update over a non-UTF-8 name");
}

#[test]
fn a_journal_of_another_format_version_is_refused_and_nothing_changes() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let before = tree(&coll);
    let path = state_dir(&coll).join("journal");
    let mut bytes = fs::read(&path).unwrap();
    // Both slots say a version after this build's, with a valid CRC (CRC-32 of 0..508 XOR
    // the mask).
    let newer = format::FORMAT_VERSION_NEWEST + 1;
    for slot in [0usize, 512] {
        let s = &mut bytes[slot..slot + 512];
        s[8..10].copy_from_slice(&newer.to_le_bytes());
        let crc = crc32fast::hash(&s[..508]) ^ format::HEADER_CRC_MASK;
        s[508..512].copy_from_slice(&crc.to_le_bytes());
    }
    fs::write(&path, &bytes).unwrap();
    for cmd in ["list", "verify", "recover"] {
        let r = sb.run_in(&coll, &[], &[cmd]);
        r.code(1);
        assert!(
            r.stderr.contains(&format!("version {newer}")),
            "{cmd}: {}",
            r.stderr
        );
        assert_same_tree(&before, &tree(&coll), cmd);
    }
    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "the journal itself is kept"
    );
}

#[test]
fn one_header_slot_of_another_version_is_refused_whatever_the_other_holds() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    let before = tree(&coll);
    let path = state_dir(&coll).join("journal");
    let bytes = fs::read(&path).unwrap();
    let newer = format::FORMAT_VERSION_NEWEST + 1;
    // Each slot in turn: the other one stays a valid slot of this build's version, and may
    // even be the current one (larger sequence). A newer skillwal's journal is never read or
    // replaced by this one.
    for slot in [0usize, 512] {
        let mut b = bytes.clone();
        let s = &mut b[slot..slot + 512];
        s[8..10].copy_from_slice(&newer.to_le_bytes());
        s[16..24].copy_from_slice(&0u64.to_le_bytes());
        let crc = crc32fast::hash(&s[..508]) ^ format::HEADER_CRC_MASK;
        s[508..512].copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, &b).unwrap();
        for args in [&["list"][..], &["snapshot"], &["recover", "--discard"]] {
            let r = sb.run_in(&coll, &[], args);
            r.code(1);
            assert!(
                r.stderr.contains(&format!("format version {newer}")),
                "{args:?} slot {slot}: {}",
                r.stderr
            );
            assert_same_tree(&before, &tree(&coll), &format!("{args:?}"));
            assert_eq!(fs::read(&path).unwrap(), b, "{args:?}: the journal is kept");
        }
    }
}
