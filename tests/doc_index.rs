//! The document index (store-spec.md §8.1), through the binary: an update edits windows of
//! `collection.toml` and `collection.lock` located by the index, and the index is trusted
//! only for the very texts it was written for. Every result is compared, byte for byte, with
//! the same command run on a copy without the index (which parses the documents whole):
//! every path, its kind, bytes and mode, with only the timestamps in the documents masked.

#[path = "cli/support.rs"]
mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::*;

fn index_of(coll: &Path) -> PathBuf {
    state_dir(coll).join("doc-index")
}

/// The manifest and lock of `coll`, with SkillMeat's timestamps (which differ from run to
/// run) masked.
fn documents(coll: &Path) -> (String, String) {
    let read = |f: &str| mask_times(&fs::read_to_string(coll.join(f)).expect("document"));
    (read("collection.toml"), read("collection.lock"))
}

/// Everything a user sees in `coll` (kinds, bytes, modes, link targets), with the
/// timestamps in its manifest and lock masked.
fn masked_tree(coll: &Path) -> Tree {
    let mut t = tree(coll);
    let (m, l) = documents(coll);
    for (name, text) in [("collection.toml", m), ("collection.lock", l)] {
        match t.get_mut(name) {
            Some(Node::File { bytes, .. }) => *bytes = text.into_bytes(),
            other => panic!("{name}: {other:?}"),
        }
    }
    t
}

/// `"2026-12-03T21:30:00.123456"` → `"T"`.
fn mask_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('"') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let end = rest.find('"').unwrap_or(rest.len());
        let value = &rest[..end];
        let is_time = value.len() >= 19
            && value.as_bytes()[4] == b'-'
            && value.as_bytes()[10] == b'T'
            && value
                .chars()
                .all(|c| c.is_ascii_digit() || "-T:.".contains(c));
        out.push_str(if is_time { "T" } else { value });
        rest = &rest[end..];
        if let Some(stripped) = rest.strip_prefix('"') {
            out.push('"');
            rest = stripped;
        }
    }
    out.push_str(rest);
    out
}

/// Runs `args` on two copies of `coll`, both first changed by `tamper`; the second copy's
/// index is then deleted. Asserts both succeed with the same documents, and returns the
/// first copy.
fn same_as_without_index(
    sb: &Sandbox,
    coll: &Path,
    name: &str,
    tamper: &dyn Fn(&Path),
    args: &[&str],
) -> PathBuf {
    // New upstream content for every artifact, so that the update writes.
    sb.change_sources(name);
    let with = sb.root.join(format!("{name}-with"));
    let without = sb.root.join(format!("{name}-without"));
    for copy in [&with, &without] {
        copy_collection(coll, copy);
        tamper(copy);
    }
    let _ = fs::remove_file(index_of(&without));
    let before = documents(&with);
    sb.run_in(&with, &[], args).ok();
    sb.run_in(&without, &[], args).ok();
    assert_ne!(
        documents(&with),
        before,
        "{name}: the update changed the documents"
    );
    assert_same_tree(&masked_tree(&without), &masked_tree(&with), name);
    assert!(
        index_of(&without).exists(),
        "{name}: an update writes the index"
    );
    with
}

/// The manifest with the blocks of its first two artifacts swapped: the same bytes in
/// another order, so the same length and every offset after the two unchanged.
fn swap_first_two_artifacts(coll: &Path) {
    let path = coll.join("collection.toml");
    let text = fs::read_to_string(&path).expect("manifest");
    let starts: Vec<usize> = text
        .match_indices("[[artifacts]]")
        .map(|(i, _)| i)
        .collect();
    assert!(starts.len() >= 3, "{text}");
    let (a, b, c) = (starts[0], starts[1], starts[2]);
    let swapped = format!("{}{}{}{}", &text[..a], &text[b..c], &text[a..b], &text[c..]);
    assert_eq!(swapped.len(), text.len());
    assert_ne!(swapped, text);
    fs::write(&path, swapped).expect("write manifest");
}

#[test]
fn updates_edit_windows_and_an_index_is_trusted_only_for_its_own_texts() {
    let sb = Sandbox::new();
    let coll = sb.three_artifacts();
    // A manifest a user has touched: comments, an unknown table between artifacts.
    let manifest = coll.join("collection.toml");
    let text = fs::read_to_string(&manifest).expect("manifest");
    let second = text
        .match_indices("[[artifacts]]")
        .nth(1)
        .expect("3 artifacts")
        .0;
    let text = format!(
        "# my collection\n{}# the next one\n[[mcp_servers]]\nname = \"m\"\n\n{}# end\n",
        &text[..second],
        &text[second..]
    );
    fs::write(&manifest, text).expect("write manifest");
    let update = |name: &'static str| -> Vec<&'static str> {
        vec!["update", name, "--strategy", "upstream"]
    };

    // One update, then another in a new process, each in windows located by the index the
    // one before wrote (shifted past the first one's growth).
    let none: &dyn Fn(&Path) = &|_| {};
    let first = same_as_without_index(&sb, &coll, "first", none, &update("my-skill"));
    assert!(index_of(&first).exists());
    let (m, _) = documents(&first);
    assert!(
        m.contains("# my collection\n") && m.contains("[[mcp_servers]]") && m.ends_with("# end\n")
    );
    let second = same_as_without_index(&sb, &first, "second", none, &update("review"));
    let third = same_as_without_index(&sb, &second, "third", none, &update("helper"));

    // The documents changed by hand since the index was written: the index is not used.
    same_as_without_index(
        &sb,
        &third,
        "swapped",
        &swap_first_two_artifacts,
        &update("my-skill"),
    );
    // A damaged index, a cut-short one, an empty one: not used. The damage moves the first
    // artifact's start one byte on (store-spec.md §8.1: magic, two hashes, the manifest's
    // head range and count, then the first item: key length, key, ordinal, start), so an
    // index trusted without its checksum would edit the wrong bytes.
    let damage = |how: &'static str| -> Box<dyn Fn(&Path)> {
        Box::new(move |copy: &Path| {
            let path = index_of(copy);
            let mut bytes = fs::read(&path).expect("index");
            match how {
                "flip" => {
                    let key_len = u16::from_le_bytes([bytes[92], bytes[93]]) as usize;
                    let at = 94 + key_len + 4;
                    let start = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
                    bytes[at..at + 8].copy_from_slice(&(start + 1).to_le_bytes());
                }
                "cut" => bytes.truncate(bytes.len() - 1),
                _ => bytes.clear(),
            }
            fs::write(&path, bytes).expect("write index");
        })
    };
    for how in ["flip", "cut", "empty"] {
        same_as_without_index(&sb, &third, how, &*damage(how), &update("my-skill"));
    }

    // A change that adds or removes an artifact (the documents parsed whole) leaves the
    // index behind; the next update does not use it.
    let extra = sb.file_source("extra.md", "x");
    sb.run_in(
        &third,
        &[],
        &["add", "command", extra.to_str().expect("utf-8")],
    )
    .ok();
    same_as_without_index(&sb, &third, "after-add", none, &update("helper"));
    sb.run_in(&third, &[], &["remove", "review"]).ok();
    same_as_without_index(&sb, &third, "after-remove", none, &update("my-skill"));
}
