//! The journal fuzz check, shared by the fuzz target (`fuzz/fuzz_targets/journal.rs`) and the
//! normal test suite (`tests/fuzz_corpus.rs` replays the committed corpus through it).
//!
//! The input is either a whole journal file (raw mode) or a list of records that the check
//! frames with valid checksums, salt and numbering, and optionally ends with a commit record
//! whose digest is right (framed mode), so that mutations reach the payload decoder, the
//! recovery decision and the redo instead of dying at the first CRC.
//!
//! For every input: `inspect` (the `journal inspect` command) and `Engine::open` (recovery)
//! on a small collection in the simulated file system must not panic, and nothing outside
//! the collection may change. Bounded allocation is checked by libFuzzer's `-rss_limit_mb`
//! and `-malloc_limit_mb` (see fuzz/README.md).
//!
//! Input layout. Byte 0: bit 0 clear = raw (the rest is the journal file), set = framed.
//! Framed: byte 1 flags (bit 0: end with a commit record; bit 1: header idle instead of
//! active; bit 2: format version 1 instead of the current one), bytes 2..6 the commit's op count (u32 LE), then records, each
//! `[kind: u8][len: u16 LE][payload: len bytes]`, until the input ends.

use skillwal::fs::sim::SimFs;
use skillwal::fs::{FileSystem, OpenMode};
use skillwal::journal::format::{self, Header, Kind};
use std::path::Path;
use std::sync::Arc;

const SALT: u64 = 0x5EED_F00D_CAFE_0001;
/// The record kind byte in framed inputs, mapped onto the known kinds (and unknown ones).
const KINDS: [u16; 14] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 255, 11];

/// The journal bytes an input stands for.
pub fn journal_bytes(data: &[u8]) -> Vec<u8> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    if mode & 1 == 0 {
        return rest.to_vec();
    }
    let flags = rest.first().copied().unwrap_or(0);
    let op_count = rest
        .get(1..5)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .unwrap_or(0);
    let mut body = rest.get(5..).unwrap_or(&[]);
    let header = Header {
        version: if flags & 4 != 0 {
            1
        } else {
            format::FORMAT_VERSION
        },
        sequence: 3,
        live_salt: SALT,
        next_txn_id: 2,
        active: flags & 2 == 0,
    };
    let mut bytes = vec![0u8; format::RECORDS_OFFSET as usize];
    bytes[..512].copy_from_slice(&format::encode_header(&header));
    let mut digest = blake3::Hasher::new();
    let mut index = 0u32;
    while body.len() >= 3 {
        let kind = KINDS[body[0] as usize % KINDS.len()];
        let len = u16::from_le_bytes([body[1], body[2]]) as usize;
        let payload = &body[3..(3 + len).min(body.len())];
        body = &body[(3 + len).min(body.len())..];
        // Unknown kinds get a frame the CRC accepts but the kind check refuses.
        let frame = match Kind::from_u16(kind) {
            Some(k) => format::encode_frame(SALT, 1, index, k, payload),
            None => {
                let mut f = format::encode_frame(SALT, 1, index, Kind::Begin, payload);
                f[20..22].copy_from_slice(&kind.to_le_bytes());
                let crc = format::frame_crc(&f[4..32], payload);
                f[..4].copy_from_slice(&crc.to_le_bytes());
                f
            }
        };
        digest.update(&frame);
        bytes.extend_from_slice(&frame);
        index += 1;
    }
    if flags & 1 == 1 {
        let commit = format::encode_payload(
            &format::Record::Commit {
                record_count: index,
                op_count,
                digest: *digest.finalize().as_bytes(),
            },
            None,
        );
        bytes.extend_from_slice(&format::encode_frame(SALT, 1, index, Kind::Commit, &commit));
    }
    bytes
}

/// A small collection in `/c`, a file outside it in `/outside`, and the journal.
fn world(journal: &[u8]) -> SimFs {
    let sim = SimFs::new();
    let mk = |p: &str| sim.create_dir(Path::new(p), 0o755).expect("mkdir");
    let put = |p: &str, b: &[u8]| {
        let f = sim
            .open(Path::new(p), OpenMode::CreateNew { mode: 0o644 })
            .expect("create");
        f.write_all_at(b, 0).expect("write");
    };
    for d in [
        "/c",
        "/c/.skillwal",
        "/c/.skillwal/staging",
        "/c/skills",
        "/c/skills/a",
        "/outside",
    ] {
        mk(d);
    }
    put("/c/collection.toml", b"[collection]\nname = \"c\"\n");
    put("/c/skills/a/SKILL.md", b"# a\n");
    put("/outside/secret", b"do not touch\n");
    put("/c/.skillwal/journal", journal);
    sim.sync_everything();
    sim
}

/// Runs one input. Panics (a finding) if anything panics or a write escapes the collection.
pub fn check(data: &[u8]) {
    let journal = journal_bytes(data);
    let sim = world(&journal);
    let outside = sim.snapshot(Path::new("/"), &["c"]).expect("snapshot");
    let _ = skillwal::engine::inspect::inspect(&sim, Path::new("/c/.skillwal/journal"));
    let _ = skillwal::needs_recovery(&sim, &skillwal::engine::Layout::new(Path::new("/c")));
    let opts = skillwal::OpenOptions {
        no_wait: true,
        salt_seed: Some(1),
    };
    let fs: Arc<dyn FileSystem> = Arc::new(sim.handle());
    if let Ok(engine) = skillwal::Engine::open(fs, Path::new("/c"), &opts) {
        let _ = engine.close();
    }
    assert_eq!(
        sim.snapshot(Path::new("/"), &["c"]).expect("snapshot"),
        outside,
        "recovery changed something outside the collection"
    );
}
