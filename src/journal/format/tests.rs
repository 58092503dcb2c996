use super::*;

fn header(version: u16) -> Header {
    Header {
        version,
        sequence: 7,
        live_salt: 0xDEAD_BEEF,
        next_txn_id: 3,
        active: true,
    }
}

/// A reader keeps the writer's bounds (wal-spec.md §8): a record with one field just
/// over its bound is refused, the same record at the bound is read.
#[test]
fn every_bound_the_writer_keeps_is_enforced_when_reading() {
    let v = FORMAT_VERSION;
    let begin = |n: usize| Record::Begin {
        time_unix_ms: 1,
        label: "l".repeat(n),
    };
    let diff = |name: usize, value: usize| Record::Diff {
        document: "d".repeat(name),
        changes: vec![FieldChange {
            item: "i".into(),
            field: "f".into(),
            before: Some("v".repeat(value)),
            after: None,
        }],
    };
    let dir = |depth: usize| Record::CreateDir {
        op: 0,
        path: vec!["a"; depth].join("/"),
        mode: 0o755,
        staged_ino: Some(1),
    };
    let tree = |entries: u32| Record::PutTree {
        op: 0,
        path: "t".into(),
        mode: Some(0o755),
        before: Before::Absent,
        after_hash: [0; 32],
        staged_ino: 1,
        entry_count: entries,
    };
    let cases = [
        (begin(LABEL_BYTES_MAX), begin(LABEL_BYTES_MAX + 1)),
        (
            diff(DIFF_NAME_BYTES_MAX, 1),
            diff(DIFF_NAME_BYTES_MAX + 1, 1),
        ),
        (
            diff(1, DIFF_VALUE_BYTES_MAX),
            diff(1, DIFF_VALUE_BYTES_MAX + 1),
        ),
        (dir(PATH_DEPTH_MAX), dir(PATH_DEPTH_MAX + 1)),
        (tree(TREE_ENTRIES_MAX), tree(TREE_ENTRIES_MAX + 1)),
    ];
    for (at, over) in cases {
        let ok = encode_payload(&at, None);
        assert_eq!(decode_payload(at.kind(), &ok, v).unwrap(), at);
        let bad = encode_payload(&over, None);
        let err = decode_payload(over.kind(), &bad, v).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
    }
}

#[test]
fn a_legacy_lock_diff_reads_as_a_document_diff_and_diffs_are_written_as_kind_16() {
    let rec = Record::Diff {
        document: "collection.lock".into(),
        changes: vec![FieldChange {
            item: "x::skill".into(),
            field: "content_hash".into(),
            before: None,
            after: Some("ab".into()),
        }],
    };
    assert_eq!(rec.kind(), Kind::DocumentDiff);
    assert_eq!(Kind::DocumentDiff as u16, 16);
    let payload = encode_payload(&rec, None);
    for kind in [Kind::DocumentDiff, Kind::LegacyLockDiff] {
        assert_eq!(Kind::from_u16(kind as u16), Some(kind));
        assert_eq!(decode_payload(kind, &payload, FORMAT_VERSION).unwrap(), rec);
    }
}

#[test]
fn header_round_trips_and_rejects_damage() {
    let h = header(FORMAT_VERSION);
    let mut b = encode_header(&h);
    assert_eq!(decode_header(&b), Ok(h));
    b[30] ^= 1;
    assert!(matches!(
        decode_header(&b),
        Err(HeaderProblem::BadChecksum { .. })
    ));
    assert_eq!(decode_header(&[0u8; 512]), Err(HeaderProblem::BadMagic));
}

#[test]
fn header_versions_read_are_exactly_the_supported_ones() {
    assert_eq!(decode_header(&encode_header(&header(1))), Ok(header(1)));
    assert_eq!(decode_header(&encode_header(&header(3))), Ok(header(3)));
    // A slot of another version, with a valid checksum, is recognised as such.
    for v in [0u16, FORMAT_VERSION_NEWEST + 1, u16::MAX] {
        let mut b = encode_header(&header(FORMAT_VERSION));
        b[8..10].copy_from_slice(&v.to_le_bytes());
        let crc = crc32fast::hash(&b[..508]) ^ HEADER_CRC_MASK;
        b[508..512].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(decode_header(&b), Err(HeaderProblem::UnsupportedVersion(v)));
    }
}

#[test]
fn zeroed_frame_never_validates() {
    let zero = [0u8; 32];
    let fh = FrameHeader::decode(&zero);
    assert_ne!(fh.crc, frame_crc(&zero[4..], &[]));
}

/// One record of every kind, and of every before-state, content and entry kind.
fn every_record() -> Vec<Record> {
    let mut all = vec![Record::Begin {
        time_unix_ms: 1,
        label: "add x".into(),
    }];
    all.extend(file_records());
    all.extend(dir_records());
    all.extend([
        Record::Diff {
            document: "collection.toml".into(),
            changes: vec![FieldChange {
                item: "x::skill".into(),
                field: "resolved_sha".into(),
                before: Some("abc".into()),
                after: None,
            }],
        },
        Record::Commit {
            record_count: 4,
            op_count: 2,
            digest: [4; 32],
        },
    ]);
    all
}

/// Put-file and delete-file records.
fn file_records() -> Vec<Record> {
    vec![
        Record::PutFile {
            op: 0,
            path: "a/b".into(),
            mode: 0o644,
            before: Before::File {
                size: 3,
                hash: [1; 32],
                mode: Some(0o755),
            },
            size: 5,
            hash: [2; 32],
            staged_ino: 9,
            content: Content::Inline { at: 0, len: 5 },
        },
        Record::PutFile {
            op: 1,
            path: "a/c".into(),
            mode: 0o600,
            before: Before::Tree { hash: [5; 32] },
            size: 0,
            hash: [6; 32],
            staged_ino: 10,
            content: Content::Staged,
        },
        Record::DeleteFile {
            op: 2,
            path: "a/l".into(),
            before: Before::Link {
                target: b"../x".to_vec(),
            },
        },
    ]
}

/// Create-dir, tree-entry, put-tree, delete-tree, put-link and set-dir-mode records.
fn dir_records() -> Vec<Record> {
    vec![
        Record::CreateDir {
            op: 3,
            path: "d".into(),
            mode: 0o750,
            staged_ino: Some(11),
        },
        Record::TreeEntry {
            op: 4,
            rel_path: "l".into(),
            kind: EntryKind::Link,
            mode: 0,
            size: 0,
            hash: [0; 32],
            content: Content::Staged,
            target: b"SKILL.md".to_vec(),
        },
        Record::TreeEntry {
            op: 4,
            rel_path: "sub".into(),
            kind: EntryKind::Dir,
            mode: 0o555,
            size: 0,
            hash: [0; 32],
            content: Content::Staged,
            target: Vec::new(),
        },
        Record::PutTree {
            op: 4,
            path: "skills/x".into(),
            mode: Some(0o700),
            before: Before::File {
                size: 1,
                hash: [7; 32],
                mode: Some(0o644),
            },
            after_hash: [8; 32],
            staged_ino: 12,
            entry_count: 2,
        },
        Record::DeleteTree {
            op: 5,
            path: "skills/y".into(),
            before: Before::Tree { hash: [3; 32] },
        },
        Record::PutLink {
            op: 6,
            path: "skills/z/link".into(),
            before: Before::Absent,
            target: b"../a".to_vec(),
        },
        Record::SetDirMode {
            op: 7,
            path: "skills/z".into(),
            before_mode: 0o755,
            mode: 0o700,
        },
    ]
}

#[test]
fn records_round_trip() {
    for rec in every_record() {
        let inline: &[u8] = b"hello";
        let payload = encode_payload(&rec, Some(inline));
        let back = decode_payload(rec.kind(), &payload, FORMAT_VERSION).expect("decodes");
        match (&rec, &back) {
            (
                Record::PutFile {
                    content: Content::Inline { .. },
                    ..
                },
                Record::PutFile {
                    content: Content::Inline { at, len },
                    ..
                },
            ) => {
                assert_eq!(&payload[*at as usize..(*at + *len) as usize], inline);
            }
            _ => assert_eq!(rec, back),
        }
    }
}

#[test]
fn version_1_payloads_decode_without_modes_and_refuse_what_it_had_not() {
    // A version-1 put-file: op, path, mode, before (a file without mode), size, hash,
    // staged inode, content (staged).
    let mut w = PayloadWriter::new();
    w.u32(0).str16("a").u32(0o644).u8(1).u64(3).hash(&[1; 32]);
    w.u64(5).hash(&[2; 32]).u64(9).u8(1);
    let p = w.finish();
    let rec = decode_payload(Kind::PutFile, &p, 1).expect("a version-1 put-file");
    assert!(matches!(
        rec,
        Record::PutFile {
            before: Before::File { mode: None, .. },
            ..
        }
    ));
    assert!(
        decode_payload(Kind::PutFile, &p, 2).is_err(),
        "not a version-2 payload"
    );
    // Version 1 had no links, no set-dir-mode, no tree mode, no staged directories.
    let mut w = PayloadWriter::new();
    w.u32(0).str16("d").u32(0o755);
    let created = decode_payload(Kind::CreateDir, &w.finish(), 1).expect("create-dir");
    assert!(matches!(
        created,
        Record::CreateDir {
            staged_ino: None,
            ..
        }
    ));
    for rec in every_record() {
        if matches!(rec, Record::PutLink { .. } | Record::SetDirMode { .. }) {
            let payload = encode_payload(&rec, None);
            assert!(decode_payload(rec.kind(), &payload, 1).is_err());
        }
    }
}

#[test]
fn truncated_payloads_are_errors_not_panics() {
    for rec in every_record() {
        let payload = encode_payload(&rec, Some(b"hello"));
        for cut in 0..payload.len() {
            assert!(decode_payload(rec.kind(), &payload[..cut], FORMAT_VERSION).is_err());
            // Read as version 1 a prefix may even decode (a version-2 create-dir less its
            // staged inode is a version-1 one); it must not panic.
            let _ = decode_payload(rec.kind(), &payload[..cut], 1);
        }
    }
}

#[test]
fn modes_and_targets_out_of_range_are_refused() {
    let rec = Record::SetDirMode {
        op: 0,
        path: "d".into(),
        before_mode: 0o755,
        mode: 0o10000,
    };
    assert!(decode_payload(Kind::SetDirMode, &encode_payload(&rec, None), 2).is_err());
    let rec = Record::PutLink {
        op: 0,
        path: "l".into(),
        before: Before::Absent,
        target: b"a\0b".to_vec(),
    };
    assert!(decode_payload(Kind::PutLink, &encode_payload(&rec, None), 2).is_err());
}

fn participation(n: usize, coordinator: u16, this: u16) -> Participation {
    Participation {
        global_id: [9; 16],
        coordinator,
        this,
        roots: (0..n)
            .map(|i| RootEntry {
                id: [i as u8 + 1; 16],
                root: format!("/c/{i}").into_bytes(),
                meta: format!("/c/.skillwal/{i}").into_bytes(),
            })
            .collect(),
    }
}

/// Prepare and decision records exist from version 3 on, round-trip there, and keep their
/// bounds: 2 to 16 roots, distinct identities, absolute paths, the coordinator's index equal
/// to this root's exactly in a decision.
#[test]
fn prepare_and_decision_records_round_trip_in_version_3_only() {
    let v3 = FORMAT_VERSION_MULTI_ROOT;
    let ok = [
        Record::Prepare(participation(2, 0, 1)),
        Record::Decision(participation(2, 1, 1)),
        Record::Decision(participation(ROOTS_PER_TXN_MAX, 3, 3)),
    ];
    for rec in ok {
        let payload = encode_payload(&rec, None);
        assert_eq!(decode_payload(rec.kind(), &payload, v3).unwrap(), rec);
        assert!(decode_payload(rec.kind(), &payload, FORMAT_VERSION).is_err());
        for cut in 0..payload.len() {
            assert!(decode_payload(rec.kind(), &payload[..cut], v3).is_err());
        }
    }
    let mut same_ids = participation(3, 0, 1);
    same_ids.roots[2].id = same_ids.roots[0].id;
    let mut relative = participation(2, 0, 1);
    relative.roots[1].meta = b"c/.skillwal".to_vec();
    let bad = [
        Record::Prepare(participation(1, 0, 0)),
        Record::Prepare(participation(ROOTS_PER_TXN_MAX + 1, 0, 1)),
        Record::Prepare(participation(2, 1, 1)),
        Record::Decision(participation(2, 0, 1)),
        Record::Prepare(participation(2, 2, 1)),
        Record::Prepare(same_ids),
        Record::Prepare(relative),
    ];
    for rec in bad {
        let payload = encode_payload(&rec, None);
        assert!(
            decode_payload(rec.kind(), &payload, v3).is_err(),
            "{rec:?} is refused"
        );
    }
}
