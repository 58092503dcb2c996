//! The journal's bytes: header slots, record frames and payloads. Pure encode and decode,
//! no I/O. wal-spec.md §3–§4 is the normative description; the private
//! submodules follow it (header slots, frames and kinds, decoded records, encoding, decoding)
//! and everything they make public is re-exported here.

use crate::limits::{
    DIFF_CHANGES_PER_RECORD_MAX, DIFF_NAME_BYTES_MAX, DIFF_VALUE_BYTES_MAX, INLINE_CONTENT_MAX,
    LABEL_BYTES_MAX, PATH_BYTES_MAX, PATH_DEPTH_MAX, RECORD_HEADER_BYTES, RECORD_PAYLOAD_MAX,
    ROOTS_PER_TXN_MAX, TREE_ENTRIES_MAX,
};
use std::fmt;

/// Size of one header slot; the journal has two, at offsets 0 and 512.
pub const HEADER_SLOT_BYTES: u64 = 512;
/// Where records start.
pub const RECORDS_OFFSET: u64 = 4096;
/// The first 8 bytes of every header slot (wal-spec.md §3.1): `SKILLWAL` in ASCII.
pub const HEADER_MAGIC: [u8; 8] = *b"SKILLWAL";
/// The format version this build writes for a transaction in one root, and for every idle
/// header (wal-spec.md §13).
pub const FORMAT_VERSION: u16 = 2;
/// The format version of a transaction across several roots: version 2 and the prepare and
/// decision records (wal-spec.md §4.2, §14). Written only in the active header of such a
/// transaction, so a skillwal that does not know it refuses that journal instead of
/// deciding alone what only the coordinator can decide.
pub const FORMAT_VERSION_MULTI_ROOT: u16 = 3;
/// The format version of the active header of a run: several committed transactions of one
/// root in the journal at once, each made of version-2 records (wal-spec.md §6.6). Written
/// only when a second transaction joins a run, so that a skillwal that does not know runs
/// refuses that journal instead of completing the first transaction alone and retiring the
/// others.
pub const FORMAT_VERSION_RUN: u16 = 4;
/// The newest format version this build reads.
pub const FORMAT_VERSION_NEWEST: u16 = FORMAT_VERSION_RUN;
/// The oldest format version this build still reads (and recovers), so that a transaction
/// interrupted under an older skillwal is completed by a newer one.
pub const FORMAT_VERSION_OLDEST: u16 = 1;
/// What the salt of the `k`-th transaction of a run is mixed with (wal-spec.md §6.6): an odd
/// constant, so the salts of one run's transactions are all distinct.
pub const RUN_SALT_STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// The salt of the transaction numbered `k` (from 0) in the run whose header holds
/// `live_salt`: the live salt itself for the first, `live_salt XOR (k × RUN_SALT_STEP)` (wrapping)
/// for the others (wal-spec.md §6.6). Each transaction's records and staged names carry its
/// own salt, so two transactions of a run never share a staged name.
pub fn run_salt(live_salt: u64, k: u32) -> u64 {
    live_salt ^ u64::from(k).wrapping_mul(RUN_SALT_STEP)
}

/// The format version of the records under a current header of `version`: a run's
/// (version 4) are version-2 records.
pub fn record_version(header_version: u16) -> u16 {
    if header_version == FORMAT_VERSION_RUN {
        FORMAT_VERSION
    } else {
        header_version
    }
}

/// XORed into every record CRC, so that zeroed space never validates.
pub const RECORD_CRC_MASK: u32 = 0x5357_414C;
/// XORed into the header CRC.
pub const HEADER_CRC_MASK: u32 = 0x4844_5221;

/// A BLAKE3 digest.
pub type Hash = [u8; 32];

/// Lowercase hex of a hash (or any bytes).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Payload length of every commit record.
pub const COMMIT_PAYLOAD_BYTES: u32 = 4 + 4 + 32;

mod decode;
mod encode;
mod frame;
mod header;
mod record;
#[cfg(test)]
mod tests;

pub use decode::*;
pub use encode::*;
pub use frame::*;
pub use header::*;
pub use record::*;
