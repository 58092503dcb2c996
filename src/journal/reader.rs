//! Reading a journal without side effects: the header slots, the live transaction's valid
//! records, and where and why the valid part ends (wal-spec.md §4.4). Never panics on any
//! input and never reads more than one record's bounded frame at a time.

use super::format::{
    self, DecodeError, FrameHeader, HEADER_SLOT_BYTES, Hash, Header, HeaderProblem, Kind,
    RECORDS_OFFSET, Record, decode_header, frame_crc, frame_len,
};
use crate::fs::FileHandle;
use crate::limits::{RECORD_HEADER_BYTES, RECORD_PAYLOAD_MAX, RUN_TXNS_MAX};
use std::fmt;
use std::io;

/// A record that validated.
#[derive(Debug, Clone)]
pub struct ScannedRecord {
    /// Byte offset of its frame in the journal.
    pub offset: u64,
    /// Its frame header, as read.
    pub frame: FrameHeader,
    /// Its decoded payload.
    pub record: Record,
}

impl ScannedRecord {
    /// Absolute journal offset of a payload position.
    pub fn payload_offset(&self, at: u32) -> u64 {
        self.offset + RECORD_HEADER_BYTES + at as u64
    }
}

/// Why the valid part of the live transaction ends where it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The file ends before a whole record.
    EndOfFile,
    /// The bytes there carry another salt: a previous transaction's records, or never
    /// written.
    OtherSalt {
        /// The salt the frame carries.
        found: u64,
    },
    /// The header says no transaction is active; no record was read.
    HeaderIdle,
    /// The frame's payload length is over [`RECORD_PAYLOAD_MAX`]; nothing more was read.
    PayloadTooLong {
        /// The length the frame claims.
        len: u32,
    },
    /// The frame's CRC does not match its bytes: torn or damaged.
    BadChecksum {
        /// The CRC stored in the frame.
        stored: u32,
        /// The CRC of the frame's bytes, mask applied.
        computed: u32,
    },
    /// The frame's index is not the next one.
    BadIndex {
        /// The index the frame carries.
        found: u32,
        /// The index the next record must have.
        expected: u32,
    },
    /// The frame's transaction id is not the first record's.
    OtherTransaction {
        /// The id the frame carries.
        found: u64,
        /// The first record's id.
        expected: u64,
    },
    /// The frame's kind (held) is not one of wal-spec.md §4.2.
    UnknownKind(u16),
    /// The frame's flags are not 0: no flag is defined (wal-spec.md §4.1).
    UnknownFlags(u16),
    /// The first record is not a begin record; holds its kind.
    FirstNotBegin(u16),
    /// The payload does not decode exactly (wal-spec.md §4.3).
    Malformed(DecodeError),
    /// The commit record's count or digest does not match the records before it.
    CommitMismatch(String),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::EndOfFile => write!(f, "end of file"),
            StopReason::HeaderIdle => write!(f, "the header says no transaction is active"),
            StopReason::OtherSalt { found } => {
                write!(
                    f,
                    "salt 0x{found:016x} is not the live salt (stale or never written)"
                )
            }
            StopReason::PayloadTooLong { len } => {
                write!(
                    f,
                    "payload length {len} over the limit {RECORD_PAYLOAD_MAX}"
                )
            }
            StopReason::BadChecksum { stored, computed } => {
                write!(f, "checksum 0x{stored:08x} should be 0x{computed:08x}")
            }
            StopReason::BadIndex { found, expected } => {
                write!(f, "record number {found}, expected {expected}")
            }
            StopReason::OtherTransaction { found, expected } => {
                write!(f, "transaction id {found}, expected {expected}")
            }
            StopReason::UnknownKind(k) => write!(f, "unknown record kind {k}"),
            StopReason::UnknownFlags(x) => write!(f, "unknown record flags 0x{x:04x}"),
            StopReason::FirstNotBegin(k) => write!(f, "first record has kind {k}, not begin"),
            StopReason::Malformed(e) => write!(f, "malformed payload: {e}"),
            StopReason::CommitMismatch(why) => write!(f, "commit record does not match: {why}"),
        }
    }
}

/// Where the valid part ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// Byte offset in the journal of the first record that is not valid.
    pub offset: u64,
    /// The record number that was expected there.
    pub index: u32,
    /// Why the record there is not valid.
    pub reason: StopReason,
}

/// What the journal holds (wal-spec.md §7, the recovery decision table's inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// No record of the live transaction: nothing in progress.
    Empty {
        /// Where reading stopped, and why.
        stop: Stop,
    },
    /// Records of a transaction without a valid commit record: it never happened.
    Uncommitted {
        /// Where the valid records end, and why.
        stop: Stop,
    },
    /// A complete, committed transaction.
    Committed {
        /// Byte offset of the commit record.
        commit_offset: u64,
    },
    /// A valid commit record lies past a damaged record: committed, but not all of it can
    /// be read. Never applied.
    Damaged {
        /// Where the valid records end, and why.
        stop: Stop,
        /// Byte offset of the commit record found past the damage.
        commit_offset: u64,
    },
}

/// The result of [`scan`].
#[derive(Debug, Clone)]
pub struct Scan {
    /// The journal's length in bytes.
    pub file_len: u64,
    /// Both header slots, decoded or why not, in file order.
    pub slots: [Result<Header, HeaderProblem>; 2],
    /// The current header: the valid slot with the larger sequence.
    pub header: Header,
    /// Which slot (0 or 1) `header` is.
    pub current_slot: usize,
    /// A run's committed transactions before its last one (wal-spec.md §6.6), in order,
    /// each its records from begin to commit; empty unless the header's version is 4.
    pub run_before: Vec<Vec<ScannedRecord>>,
    /// The live transaction's valid records, in order (the commit record last, if any). In
    /// a run, its last transaction's: the one after the last commit record that has any
    /// valid record (or damage), else the last committed one.
    pub records: Vec<ScannedRecord>,
    /// Valid records of the live transaction found past a damaged one (only for `Damaged`).
    pub beyond_damage: Vec<ScannedRecord>,
    /// How the live transaction's records end: the input of the recovery decision.
    pub end: ScanEnd,
}

impl Scan {
    /// The format version of the records: the current header's, but version 2 in a run.
    pub fn record_version(&self) -> u16 {
        format::record_version(self.header.version)
    }

    /// Every transaction the journal holds records of, in order: the run's committed ones
    /// before the last, then the last (whatever its end).
    pub fn transactions(&self) -> impl Iterator<Item = &[ScannedRecord]> {
        self.run_before
            .iter()
            .map(|r| r.as_slice())
            .chain(std::iter::once(self.records.as_slice()))
    }
}

/// Why a journal could not be scanned at all.
#[derive(Debug)]
pub enum ScanError {
    /// Reading the file failed.
    Io(io::Error),
    /// The file is shorter than the header area ([`RECORDS_OFFSET`] bytes).
    TooShort {
        /// The file's length in bytes.
        len: u64,
    },
    /// Neither header slot is valid.
    NoValidHeader {
        /// What is wrong with each slot, in file order.
        slots: [HeaderProblem; 2],
    },
    /// A header slot is intact but of a format version this build does not read: the
    /// journal belongs to another skillwal and is neither used nor replaced.
    UnsupportedVersion {
        /// The version the slot holds.
        found: u16,
        /// Both slots as decoded, in file order.
        slots: [Result<Header, HeaderProblem>; 2],
    },
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Io(e) => write!(f, "{e}"),
            ScanError::TooShort { len } => {
                write!(
                    f,
                    "{len} bytes is shorter than the {RECORDS_OFFSET}-byte header area"
                )
            }
            ScanError::NoValidHeader { slots } => {
                write!(
                    f,
                    "no valid header (slot 0: {}; slot 1: {})",
                    slots[0], slots[1]
                )
            }
            ScanError::UnsupportedVersion { found, .. } => {
                write!(f, "{}", HeaderProblem::UnsupportedVersion(*found))
            }
        }
    }
}

/// Both header slots, decoded, and which one is current.
#[derive(Debug, Clone)]
pub(crate) struct HeaderRead {
    /// Both slots, decoded or why not, in file order.
    pub slots: [Result<Header, HeaderProblem>; 2],
    /// Which slot (0 or 1) is current.
    pub current_slot: usize,
    /// The current header.
    pub header: Header,
    /// The journal's length in bytes.
    pub file_len: u64,
}

/// Reads both header slots and picks the current one: the valid slot with the larger
/// sequence.
pub(crate) fn read_header(file: &dyn FileHandle) -> Result<HeaderRead, ScanError> {
    let file_len = file.metadata().map_err(ScanError::Io)?.len;
    if file_len < RECORDS_OFFSET {
        return Err(ScanError::TooShort { len: file_len });
    }
    let mut raw = [[0u8; HEADER_SLOT_BYTES as usize]; 2];
    for (i, slot) in raw.iter_mut().enumerate() {
        file.read_exact_at(slot, i as u64 * HEADER_SLOT_BYTES)
            .map_err(ScanError::Io)?;
    }
    let slots = [decode_header(&raw[0]), decode_header(&raw[1])];
    // A slot of a version this build does not read means another skillwal wrote this
    // journal: nothing here is used, whatever the other slot holds (its older slot may be a
    // valid slot of a version this build reads, left behind by the newer one).
    if let Some(found) = slots.iter().find_map(|s| match s {
        Err(HeaderProblem::UnsupportedVersion(v)) => Some(*v),
        _ => None,
    }) {
        return Err(ScanError::UnsupportedVersion { found, slots });
    }
    let current = match (&slots[0], &slots[1]) {
        (Ok(a), Ok(b)) => {
            if a.sequence >= b.sequence {
                (0, *a)
            } else {
                (1, *b)
            }
        }
        (Ok(a), Err(_)) => (0, *a),
        (Err(_), Ok(b)) => (1, *b),
        (Err(a), Err(b)) => {
            return Err(ScanError::NoValidHeader {
                slots: [a.clone(), b.clone()],
            });
        }
    };
    Ok(HeaderRead {
        slots,
        current_slot: current.0,
        header: current.1,
        file_len,
    })
}

/// Outcome of reading one frame at an offset.
enum FrameRead {
    Valid(ScannedRecord, Vec<u8>),
    Invalid(StopReason),
}

/// Reads and checks the frame at `offset`: length, salt, checksum, kind, flags and payload.
fn read_frame(
    file: &dyn FileHandle,
    file_len: u64,
    offset: u64,
    salt: u64,
    version: u16,
) -> io::Result<FrameRead> {
    if offset + RECORD_HEADER_BYTES > file_len {
        return Ok(FrameRead::Invalid(StopReason::EndOfFile));
    }
    let mut hb = [0u8; RECORD_HEADER_BYTES as usize];
    file.read_exact_at(&mut hb, offset)?;
    let fh = FrameHeader::decode(&hb);
    if fh.salt != salt {
        return Ok(FrameRead::Invalid(StopReason::OtherSalt { found: fh.salt }));
    }
    if fh.payload_len > RECORD_PAYLOAD_MAX {
        return Ok(FrameRead::Invalid(StopReason::PayloadTooLong {
            len: fh.payload_len,
        }));
    }
    let len = frame_len(fh.payload_len);
    if offset + len > file_len {
        return Ok(FrameRead::Invalid(StopReason::EndOfFile));
    }
    let mut frame = vec![0u8; len as usize];
    file.read_exact_at(&mut frame, offset)?;
    let payload = &frame[RECORD_HEADER_BYTES as usize..][..fh.payload_len as usize];
    let computed = frame_crc(&frame[4..RECORD_HEADER_BYTES as usize], payload);
    if computed != fh.crc {
        return Ok(FrameRead::Invalid(StopReason::BadChecksum {
            stored: fh.crc,
            computed,
        }));
    }
    let Some(kind) = Kind::from_u16(fh.kind) else {
        return Ok(FrameRead::Invalid(StopReason::UnknownKind(fh.kind)));
    };
    // No flag is defined: a record that sets one was not written by this format, and what
    // it would change about the record is unknown, so it is not read as if it were clear.
    if fh.flags != 0 {
        return Ok(FrameRead::Invalid(StopReason::UnknownFlags(fh.flags)));
    }
    let record = match format::decode_payload(kind, payload, version) {
        Ok(r) => r,
        Err(e) => return Ok(FrameRead::Invalid(StopReason::Malformed(e))),
    };
    Ok(FrameRead::Valid(
        ScannedRecord {
            offset,
            frame: fh,
            record,
        },
        frame,
    ))
}

/// Scans the journal: the header, then the live transaction's records from
/// [`RECORDS_OFFSET`] until a commit record or the first record that does not validate, and
/// past such a record the rest of the file for a valid commit record (wal-spec.md §4.4).
pub fn scan(file: &dyn FileHandle) -> Result<Scan, ScanError> {
    let HeaderRead {
        slots,
        current_slot,
        header,
        file_len,
    } = read_header(file)?;
    // Trust "idle" only when both slots are valid: if the newer slot was lost (torn or
    // damaged), the older one may be the idle slot of the transaction it made active.
    if !header.active && slots.iter().all(|s| s.is_ok()) {
        return Ok(Scan {
            file_len,
            slots,
            header,
            current_slot,
            run_before: Vec::new(),
            records: Vec::new(),
            beyond_damage: Vec::new(),
            end: ScanEnd::Empty {
                stop: Stop {
                    offset: RECORDS_OFFSET,
                    index: 0,
                    reason: StopReason::HeaderIdle,
                },
            },
        });
    }
    let (run_before, found) =
        scan_run(file, file_len, header.live_salt, header.version).map_err(ScanError::Io)?;
    Ok(Scan {
        file_len,
        slots,
        header,
        current_slot,
        run_before,
        records: found.records,
        beyond_damage: found.beyond_damage,
        end: found.end,
    })
}

/// The records under a current header salted `live_salt` of format `header_version`: the
/// committed transactions of a run before its last one (none unless the version is 4,
/// wal-spec.md §6.6), and the last one's records (its first is at [`RECORDS_OFFSET`] when
/// there is no run). Each transaction of a run follows the previous one's commit record, with
/// the next salt and the next id; the run ends at the first that has no valid record, or
/// after [`RUN_TXNS_MAX`].
pub(crate) fn scan_run(
    file: &dyn FileHandle,
    file_len: u64,
    live_salt: u64,
    header_version: u16,
) -> io::Result<(Vec<Vec<ScannedRecord>>, RecordsScan)> {
    let version = format::record_version(header_version);
    let mut run_before = Vec::new();
    let mut found = scan_txn_at(file, file_len, RECORDS_OFFSET, live_salt, version, None)?;
    if header_version != format::FORMAT_VERSION_RUN {
        return Ok((run_before, found));
    }
    let mut k = 1;
    while let ScanEnd::Committed { commit_offset } = found.end
        && k < RUN_TXNS_MAX
    {
        let commit = found.records.last().expect("a committed run has records");
        let next = scan_txn_at(
            file,
            file_len,
            commit_offset + frame_len(commit.frame.payload_len),
            format::run_salt(live_salt, k),
            version,
            Some(commit.frame.txn_id + 1),
        )?;
        if matches!(next.end, ScanEnd::Empty { .. }) {
            break;
        }
        run_before.push(std::mem::replace(&mut found, next).records);
        k += 1;
    }
    Ok((run_before, found))
}

/// The records of the transaction salted `salt`.
#[derive(Debug, Clone)]
pub(crate) struct RecordsScan {
    /// Its valid records from [`RECORDS_OFFSET`] on, in order.
    pub records: Vec<ScannedRecord>,
    /// Valid records found past a damaged one (only when the end is `Damaged`).
    pub beyond_damage: Vec<ScannedRecord>,
    /// How they end.
    pub end: ScanEnd,
}

/// Reads the records salted `salt` from [`RECORDS_OFFSET`] until a commit record or the
/// first record that does not validate. Past such a record it searches the rest of the file
/// for a valid commit record, to tell a torn tail (never happened) from damage inside a
/// committed transaction.
pub(crate) fn scan_records(
    file: &dyn FileHandle,
    file_len: u64,
    salt: u64,
    version: u16,
) -> io::Result<RecordsScan> {
    scan_txn_at(file, file_len, RECORDS_OFFSET, salt, version, None)
}

/// [`scan_records`] from `from` on, for a transaction whose id must be `txn_id` when given
/// (the transactions of a run after its first: wal-spec.md §6.6).
fn scan_txn_at(
    file: &dyn FileHandle,
    file_len: u64,
    from: u64,
    salt: u64,
    version: u16,
    txn_id: Option<u64>,
) -> io::Result<RecordsScan> {
    let mut records: Vec<ScannedRecord> = Vec::new();
    let mut digest = blake3::Hasher::new();
    let mut offset = from;
    let stop = loop {
        let index = records.len() as u32;
        let fail = |reason| Stop {
            offset,
            index,
            reason,
        };
        let (rec, frame) = match read_frame(file, file_len, offset, salt, version)? {
            FrameRead::Valid(rec, frame) => (rec, frame),
            FrameRead::Invalid(reason) => break fail(reason),
        };
        if let Err(reason) = check_place_in_run(&rec, index, records.first()) {
            break fail(reason);
        }
        if let Some(expected) = txn_id
            && rec.frame.txn_id != expected
        {
            break fail(StopReason::OtherTransaction {
                found: rec.frame.txn_id,
                expected,
            });
        }
        if let Record::Commit {
            record_count,
            digest: stored,
            ..
        } = &rec.record
        {
            if let Err(why) = check_commit(*record_count, stored, index, &digest) {
                break fail(StopReason::CommitMismatch(why));
            }
            let commit_offset = rec.offset;
            records.push(rec);
            return Ok(RecordsScan {
                records,
                beyond_damage: Vec::new(),
                end: ScanEnd::Committed { commit_offset },
            });
        }
        digest.update(&frame);
        offset += frame.len() as u64;
        records.push(rec);
    };
    end_of_run(file, file_len, salt, version, records, stop)
}

/// Checks that a valid record is the `index`-th of the run that `first` began: its index,
/// its transaction id, and a begin record first.
fn check_place_in_run(
    rec: &ScannedRecord,
    index: u32,
    first: Option<&ScannedRecord>,
) -> Result<(), StopReason> {
    if rec.frame.index != index {
        return Err(StopReason::BadIndex {
            found: rec.frame.index,
            expected: index,
        });
    }
    if let Some(first) = first
        && rec.frame.txn_id != first.frame.txn_id
    {
        return Err(StopReason::OtherTransaction {
            found: rec.frame.txn_id,
            expected: first.frame.txn_id,
        });
    }
    if index == 0 && rec.record.kind() != Kind::Begin {
        return Err(StopReason::FirstNotBegin(rec.frame.kind));
    }
    Ok(())
}

/// What a run of valid `records` that ended at `stop` without a valid commit record means:
/// damage inside a committed transaction if a commit record lies beyond, else a torn tail
/// (uncommitted) or nothing.
fn end_of_run(
    file: &dyn FileHandle,
    file_len: u64,
    salt: u64,
    version: u16,
    records: Vec<ScannedRecord>,
    stop: Stop,
) -> io::Result<RecordsScan> {
    // A commit record valid on its own whose count or digest disagrees with the records
    // before it: committed, with damage inside (e.g. in padding, which only the digest
    // covers).
    if matches!(stop.reason, StopReason::CommitMismatch(_)) {
        let commit_offset = stop.offset;
        return Ok(RecordsScan {
            records,
            beyond_damage: Vec::new(),
            end: ScanEnd::Damaged {
                stop,
                commit_offset,
            },
        });
    }
    let beyond = search_beyond(file, file_len, stop.offset, salt, version)?;
    let commit = beyond
        .iter()
        .find(|r| r.record.kind() == Kind::Commit)
        .map(|r| r.offset);
    let end = match commit {
        Some(commit_offset) => ScanEnd::Damaged {
            stop,
            commit_offset,
        },
        None if records.is_empty() => ScanEnd::Empty { stop },
        None => ScanEnd::Uncommitted { stop },
    };
    Ok(RecordsScan {
        records,
        beyond_damage: if commit.is_some() { beyond } else { Vec::new() },
        end,
    })
}

/// The salt of whatever frame starts at [`RECORDS_OFFSET`], for inspecting a journal whose
/// header is unreadable.
pub(crate) fn first_frame_salt(file: &dyn FileHandle, file_len: u64) -> io::Result<Option<u64>> {
    if file_len < RECORDS_OFFSET + RECORD_HEADER_BYTES {
        return Ok(None);
    }
    let mut hb = [0u8; RECORD_HEADER_BYTES as usize];
    file.read_exact_at(&mut hb, RECORDS_OFFSET)?;
    let salt = FrameHeader::decode(&hb).salt;
    Ok((salt != 0).then_some(salt))
}

fn check_commit(
    record_count: u32,
    stored: &Hash,
    index: u32,
    digest: &blake3::Hasher,
) -> Result<(), String> {
    if record_count != index {
        return Err(format!(
            "it counts {record_count} records, {index} precede it"
        ));
    }
    let computed = *digest.finalize().as_bytes();
    if &computed != stored {
        return Err(format!(
            "digest {} should be {}",
            format::hex(&stored[..8]),
            format::hex(&computed[..8])
        ));
    }
    Ok(())
}

/// Valid records with the live salt at 8-byte-aligned offsets from `from` to the end of the
/// file. Reads the file in windows so memory stays bounded.
fn search_beyond(
    file: &dyn FileHandle,
    file_len: u64,
    from: u64,
    salt: u64,
    version: u16,
) -> io::Result<Vec<ScannedRecord>> {
    const WINDOW: u64 = 1 << 20;
    let salt_bytes = salt.to_le_bytes();
    let mut found = Vec::new();
    let mut offset = from.next_multiple_of(8) + 8;
    let mut window = Vec::new();
    let mut window_start = u64::MAX;
    while offset + RECORD_HEADER_BYTES <= file_len {
        if offset < window_start || offset + 16 > window_start + window.len() as u64 {
            window_start = offset;
            let len = WINDOW.min(file_len - offset) as usize;
            window.resize(len, 0);
            file.read_exact_at(&mut window, offset)?;
        }
        let at = (offset - window_start) as usize;
        if window[at + 8..at + 16] == salt_bytes
            && let FrameRead::Valid(rec, frame) = read_frame(file, file_len, offset, salt, version)?
        {
            offset += frame.len() as u64;
            found.push(rec);
            continue;
        }
        offset += 8;
    }
    Ok(found)
}
