//! Reading a journal file into an [`InspectReport`]: both header slots, the live
//! transaction's records, and the previous transaction's when none is live.

use super::view::view;
use super::{InspectReport, PreviousTxn, RunTxn, SlotView, StopView, TxnState};
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileHandle, FileSystem, OpenMode};
use crate::journal::format::{FORMAT_VERSION, HEADER_SLOT_BYTES, Header, HeaderProblem, Record};
use crate::journal::reader::{
    RecordsScan, ScanEnd, ScanError, ScannedRecord, first_frame_salt, read_header, scan_records,
    scan_run,
};
use std::path::Path;

/// Reads the journal at `path` through `fs` and describes it. Fails only when the file
/// cannot be opened or read at all; damage of any kind is part of the report.
pub fn inspect(fs: &dyn FileSystem, path: &Path) -> Result<InspectReport> {
    let file = fs.open(path, OpenMode::Read).ctx("open", path)?;
    let file_len = file.metadata().ctx("stat", path)?.len;
    let mut report = InspectReport {
        path: path.display().to_string(),
        file_len,
        slots: Vec::new(),
        state: TxnState::Unreadable,
        txn_id: None,
        label: None,
        time_unix_ms: None,
        salt: None,
        salt_from_header: false,
        run: Vec::new(),
        records: Vec::new(),
        stop: None,
        beyond_damage: Vec::new(),
        commit_offset: None,
        previous: None,
        kept_decisions: match path.parent() {
            Some(meta) => crate::engine::multi_root::decisions::kept(fs, meta)?,
            None => Vec::new(),
        },
    };
    let Some(header) = read_slots(&mut report, file.as_ref(), path)? else {
        return Ok(report);
    };
    report.salt = Some(format!("{:016x}", header.salt));
    let (run, found) =
        scan_run(file.as_ref(), file_len, header.salt, header.version).ctx("read", path)?;
    report.run = run.iter().map(|records| run_txn(records)).collect();
    describe_live(&mut report, &found);
    if report.state == TxnState::None
        && let Some((older, version)) = header.older
    {
        report.previous =
            previous_txn(file.as_ref(), file_len, older, version).ctx("read", path)?;
    }
    Ok(report)
}

/// What [`inspect`] reads records with.
struct SlotsRead {
    /// The salt whose records are the live transaction's (from the current header, or
    /// without a valid one from the first frame).
    salt: u64,
    /// The format version to decode them in: the current header's, or this build's.
    version: u16,
    /// The other slot's salt and format version when it is valid and differs: the
    /// previous transaction's (whose records are decoded in that slot's version: a part of
    /// a transaction across roots was written in format 3, and the idle header after it
    /// says 2).
    older: Option<(u64, u16)>,
}

/// Describes both header slots into `report`; `None` when no records can be read (another
/// skillwal's journal, a file too short, no salt found).
fn read_slots(
    report: &mut InspectReport,
    file: &dyn FileHandle,
    path: &Path,
) -> Result<Option<SlotsRead>> {
    type Slots = [std::result::Result<Header, HeaderProblem>; 2];
    let views = |slots: &Slots, current: Option<usize>| {
        slots
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                slot_view(
                    i,
                    slot.as_ref().ok(),
                    slot.as_ref().err().map(|p| p.to_string()),
                    Some(i) == current,
                )
            })
            .collect::<Vec<_>>()
    };
    match read_header(file) {
        Ok(h) => {
            let older = match &h.slots[1 - h.current_slot] {
                Ok(older) if older.live_salt != h.header.live_salt => {
                    Some((older.live_salt, older.version))
                }
                _ => None,
            };
            report.slots = views(&h.slots, Some(h.current_slot));
            report.salt_from_header = true;
            Ok(Some(SlotsRead {
                salt: h.header.live_salt,
                version: h.header.version,
                older,
            }))
        }
        Err(ScanError::NoValidHeader { slots }) => {
            for (i, p) in slots.iter().enumerate() {
                report
                    .slots
                    .push(slot_view(i, None, Some(p.to_string()), false));
            }
            let salt = first_frame_salt(file, report.file_len).ctx("read", path)?;
            Ok(salt.map(|salt| SlotsRead {
                salt,
                version: FORMAT_VERSION,
                older: None,
            }))
        }
        Err(ScanError::UnsupportedVersion { slots, .. }) => {
            // Another skillwal's journal: its records may not even decode here.
            report.slots = views(&slots, None);
            Ok(None)
        }
        Err(ScanError::TooShort { .. }) => Ok(None),
        Err(ScanError::Io(e)) => Err(Error::io("read", path, e)),
    }
}

/// A committed transaction of a run, from its records (begin to commit).
fn run_txn(records: &[ScannedRecord]) -> RunTxn {
    let (label, time_unix_ms) = match records.first().map(|r| &r.record) {
        Some(Record::Begin {
            label,
            time_unix_ms,
        }) => (Some(label.clone()), Some(*time_unix_ms)),
        _ => (None, None),
    };
    RunTxn {
        txn_id: records.first().map_or(0, |r| r.frame.txn_id),
        label,
        time_unix_ms,
        commit_offset: records.last().map_or(0, |r| r.offset),
        records: records.iter().map(view).collect(),
    }
}

/// Puts the live transaction's records, where they end and its state into `report`.
fn describe_live(report: &mut InspectReport, found: &RecordsScan) {
    report.records = found.records.iter().map(view).collect();
    report.beyond_damage = found.beyond_damage.iter().map(view).collect();
    if let Some(first) = found.records.first() {
        report.txn_id = Some(first.frame.txn_id);
        if let Record::Begin {
            label,
            time_unix_ms,
        } = &first.record
        {
            report.label = Some(label.clone());
            report.time_unix_ms = Some(*time_unix_ms);
        }
    }
    let state = match &found.end {
        ScanEnd::Empty { stop } => {
            report.stop = Some(stop.into());
            TxnState::None
        }
        ScanEnd::Uncommitted { stop } => {
            report.stop = Some(stop.into());
            TxnState::Uncommitted
        }
        ScanEnd::Committed { commit_offset } => {
            report.commit_offset = Some(*commit_offset);
            // Whole records that recovery still refuses (a path leaving the root, an
            // operation on a path twice, ...): as damaged as a broken frame, and reported
            // the same way, so that inspect never says recovery completes what it refuses.
            match crate::engine::ops::from_records(&found.records) {
                Ok(_) => TxnState::Committed,
                Err(bad) => {
                    report.stop = Some(StopView {
                        offset: bad.offset,
                        index: bad.record,
                        reason: bad.reason,
                    });
                    TxnState::Corrupt
                }
            }
        }
        ScanEnd::Damaged {
            stop,
            commit_offset,
        } => {
            report.stop = Some(stop.into());
            report.commit_offset = Some(*commit_offset);
            TxnState::Corrupt
        }
    };
    report.state = if report.salt_from_header {
        state
    } else {
        TxnState::Unreadable
    };
}

/// The records of the transaction salted `older` (the previous one), when any are left.
fn previous_txn(
    file: &dyn FileHandle,
    file_len: u64,
    older: u64,
    version: u16,
) -> std::io::Result<Option<PreviousTxn>> {
    let past = scan_records(
        file,
        file_len,
        older,
        crate::journal::format::record_version(version),
    )?;
    let Some(first) = past.records.first() else {
        return Ok(None);
    };
    let (label, time_unix_ms) = match &first.record {
        Record::Begin {
            label,
            time_unix_ms,
        } => (Some(label.clone()), Some(*time_unix_ms)),
        _ => (None, None),
    };
    Ok(Some(PreviousTxn {
        txn_id: first.frame.txn_id,
        label,
        time_unix_ms,
        committed: matches!(past.end, ScanEnd::Committed { .. }),
        records: past.records.iter().map(view).collect(),
    }))
}

fn slot_view(
    i: usize,
    h: Option<&crate::journal::format::Header>,
    problem: Option<String>,
    current: bool,
) -> SlotView {
    SlotView {
        slot: i,
        offset: i as u64 * HEADER_SLOT_BYTES,
        valid: h.is_some(),
        version: h.map(|h| h.version),
        current,
        sequence: h.map(|h| h.sequence),
        live_salt: h.map(|h| format!("{:016x}", h.live_salt)),
        next_txn_id: h.map(|h| h.next_txn_id),
        problem,
    }
}
