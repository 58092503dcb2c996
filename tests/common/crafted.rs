//! Crafted journals: committed transactions the engine would never write (paths leaving the
//! root, flags set, wrong counts), with valid checksums and digests, for the tests that
//! check recovery and `journal inspect` refuse them (tests/bad_input.rs through the binary,
//! tests/corrupt_report.rs through the library).

#![allow(dead_code)]

use skillwal::journal::format::{self, Before, Content, Header, Kind, Record};

/// The live salt of every crafted journal.
pub const SALT: u64 = 0x0DD_BA11_0000_0001;
/// The id of the crafted transaction.
pub const TXN: u64 = 7;

/// A committed journal (the live header slot active) whose transaction is a begin record,
/// then `records`, then a commit record counting `ops` operations with the right digest.
/// Returns the bytes and the offset of every record's frame, by index.
pub fn crafted(records: &[(Record, Option<&[u8]>)], ops: u32) -> (Vec<u8>, Vec<u64>) {
    crafted_with_flags(records, ops, None)
}

/// [`crafted`], with the frame of record `flagged` (the commit record's index included)
/// carrying flags 0x0001 under a checksum that matches, and the commit digest over the
/// frames as written.
pub fn crafted_with_flags(
    records: &[(Record, Option<&[u8]>)],
    ops: u32,
    flagged: Option<u32>,
) -> (Vec<u8>, Vec<u64>) {
    let mut bytes = vec![0u8; format::RECORDS_OFFSET as usize];
    let live = Header {
        version: format::FORMAT_VERSION,
        sequence: 100,
        live_salt: SALT,
        next_txn_id: TXN + 1,
        active: true,
    };
    let old = Header {
        sequence: 99,
        live_salt: SALT ^ 0xFF,
        next_txn_id: TXN,
        active: false,
        ..live
    };
    bytes[..512].copy_from_slice(&format::encode_header(&live));
    bytes[512..1024].copy_from_slice(&format::encode_header(&old));
    let begin = Record::Begin {
        time_unix_ms: 1,
        label: "crafted".into(),
    };
    let mut all = vec![(begin, None)];
    all.extend(records.iter().cloned());
    let mut digest = blake3::Hasher::new();
    let mut offsets = Vec::new();
    for (index, (rec, inline)) in all.iter().enumerate() {
        let payload = format::encode_payload(rec, *inline);
        let mut frame = format::encode_frame(SALT, TXN, index as u32, rec.kind(), &payload);
        if flagged == Some(index as u32) {
            set_flags(&mut frame, &payload);
        }
        offsets.push(bytes.len() as u64);
        digest.update(&frame);
        bytes.extend_from_slice(&frame);
    }
    let commit = Record::Commit {
        record_count: all.len() as u32,
        op_count: ops,
        digest: *digest.finalize().as_bytes(),
    };
    offsets.push(bytes.len() as u64);
    let payload = format::encode_payload(&commit, None);
    let mut frame = format::encode_frame(SALT, TXN, all.len() as u32, Kind::Commit, &payload);
    if flagged == Some(all.len() as u32) {
        set_flags(&mut frame, &payload);
    }
    bytes.extend_from_slice(&frame);
    bytes.resize(1024 * 1024, 0);
    (bytes, offsets)
}

/// Sets the frame's flags (bytes 22..24) to 1 and its checksum to match.
fn set_flags(frame: &mut [u8], payload: &[u8]) {
    frame[22..24].copy_from_slice(&1u16.to_le_bytes());
    let crc = format::frame_crc(&frame[4..32], payload);
    frame[..4].copy_from_slice(&crc.to_le_bytes());
}

/// A put-file record of operation `op` writing `content` (inline) at `path`, whatever
/// `path` is (nothing is checked: that is the point).
pub fn put_file(op: u32, path: &str, content: &[u8]) -> (Record, Option<&'static [u8]>) {
    let content: &'static [u8] = Box::leak(content.to_vec().into_boxed_slice());
    (
        Record::PutFile {
            op,
            path: path.into(),
            mode: 0o644,
            before: Before::Absent,
            size: content.len() as u64,
            hash: *blake3::hash(content).as_bytes(),
            staged_ino: 0,
            content: Content::Inline {
                at: 0,
                len: content.len() as u32,
            },
        },
        Some(content),
    )
}
