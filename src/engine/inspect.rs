//! `journal inspect`: what a journal file holds, record by record, as a value (this module
//! prints nothing). Read-only, works on a journal copied anywhere, never trusts the bytes:
//! every length is checked before it is used, and damage is reported, not fatal.

use crate::error::{Error, IoContext, Result};
use crate::fs::{FileHandle, FileSystem, OpenMode};
use crate::journal::format::{
    Before, Content, EntryKind, FORMAT_VERSION, FieldChange, HEADER_SLOT_BYTES, Hash, Header,
    HeaderProblem, Record, hex,
};
use crate::journal::reader::{
    RecordsScan, ScanEnd, ScanError, ScannedRecord, Stop, first_frame_salt, read_header,
    scan_records,
};
use serde::Serialize;
use std::path::Path;

/// One header slot.
#[derive(Debug, Clone, Serialize)]
pub struct SlotView {
    pub slot: usize,
    pub offset: u64,
    pub valid: bool,
    /// The slot's format version, when valid.
    pub version: Option<u16>,
    pub current: bool,
    pub sequence: Option<u64>,
    pub live_salt: Option<String>,
    pub next_txn_id: Option<u64>,
    pub problem: Option<String>,
}

/// A before-state.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum BeforeView {
    Absent,
    File {
        size: u64,
        hash: String,
        /// Octal permission bits; absent in format version 1, which did not record them.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
    },
    Tree {
        hash: String,
    },
    Link {
        target: String,
    },
}

impl From<&Before> for BeforeView {
    fn from(b: &Before) -> Self {
        match b {
            Before::Absent => BeforeView::Absent,
            Before::File {
                size,
                hash,
                mode: m,
            } => BeforeView::File {
                size: *size,
                hash: hex(hash),
                mode: m.map(mode),
            },
            Before::Tree { hash } => BeforeView::Tree { hash: hex(hash) },
            Before::Link { target } => BeforeView::Link {
                target: String::from_utf8_lossy(target).into_owned(),
            },
        }
    }
}

/// A record's contents, for people and scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RecordView {
    Begin {
        label: String,
        time_unix_ms: u64,
    },
    PutFile {
        op: u32,
        path: String,
        mode: String,
        before: BeforeView,
        size: u64,
        hash: String,
        content: &'static str,
    },
    DeleteFile {
        op: u32,
        path: String,
        before: BeforeView,
    },
    CreateDir {
        op: u32,
        path: String,
        mode: String,
    },
    PutLink {
        op: u32,
        path: String,
        before: BeforeView,
        target: String,
    },
    SetDirMode {
        op: u32,
        path: String,
        before_mode: String,
        mode: String,
    },
    RemoveDir {
        op: u32,
        path: String,
    },
    TreeEntry {
        op: u32,
        path: String,
        entry: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        size: u64,
        hash: Option<String>,
        content: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    PutTree {
        op: u32,
        path: String,
        /// Octal permission bits of the tree's directory; absent in format version 1.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        before: BeforeView,
        after_tree_hash: String,
        entries: u32,
    },
    DeleteTree {
        op: u32,
        path: String,
        before: BeforeView,
    },
    /// Field-level changes to a named document (informational; recovery never applies
    /// them).
    DocumentDiff {
        document: String,
        changes: Vec<FieldChange>,
    },
    Commit {
        records: u32,
        operations: u32,
        digest: String,
    },
}

/// One valid record.
#[derive(Debug, Clone, Serialize)]
pub struct RecordEntry {
    pub index: u32,
    pub offset: u64,
    pub payload_len: u32,
    pub txn_id: u64,
    #[serde(flatten)]
    pub record: RecordView,
}

/// The transaction's state as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnState {
    /// No record of the live transaction.
    None,
    /// Records without a valid commit record: never happened (recovery rolls it back).
    Uncommitted,
    /// Committed: recovery completes it.
    Committed,
    /// A committed transaction with damage inside: recovery refuses it.
    Corrupt,
    /// No valid header: the live transaction cannot be known.
    Unreadable,
}

/// Where and why the valid records end.
#[derive(Debug, Clone, Serialize)]
pub struct StopView {
    pub offset: u64,
    pub index: u32,
    pub reason: String,
}

impl From<&Stop> for StopView {
    fn from(s: &Stop) -> Self {
        StopView {
            offset: s.offset,
            index: s.index,
            reason: s.reason.to_string(),
        }
    }
}

/// Everything `journal inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    pub path: String,
    pub file_len: u64,
    pub slots: Vec<SlotView>,
    pub state: TxnState,
    pub txn_id: Option<u64>,
    pub label: Option<String>,
    pub time_unix_ms: Option<u64>,
    /// The salt records were matched against, and whether it came from the header.
    pub salt: Option<String>,
    pub salt_from_header: bool,
    pub records: Vec<RecordEntry>,
    /// Where the valid records end (absent when they end with a commit record).
    pub stop: Option<StopView>,
    /// Valid records past damage, when a commit record lies beyond it.
    pub beyond_damage: Vec<RecordEntry>,
    pub commit_offset: Option<u64>,
    /// When no transaction is live: the last one, whose salt the older header slot still
    /// holds (retired: completed and durable, or aborted). History only; never applied.
    pub previous: Option<PreviousTxn>,
}

/// The last retired transaction, read with the older header slot's salt.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousTxn {
    pub txn_id: u64,
    pub label: Option<String>,
    pub time_unix_ms: Option<u64>,
    /// Whether it had a valid commit record (it completed) or not (it was aborted).
    pub committed: bool,
    pub records: Vec<RecordEntry>,
}

fn mode(m: u32) -> String {
    format!("{m:o}")
}

fn content(c: &Content) -> &'static str {
    match c {
        Content::Inline { .. } => "inline",
        Content::Staged => "staged",
    }
}

fn hash_hex(h: &Hash) -> String {
    hex(h)
}

fn view(rec: &ScannedRecord) -> RecordEntry {
    let record = match &rec.record {
        Record::Begin {
            time_unix_ms,
            label,
        } => RecordView::Begin {
            label: label.clone(),
            time_unix_ms: *time_unix_ms,
        },
        Record::Diff { document, changes } => RecordView::DocumentDiff {
            document: document.clone(),
            changes: changes.clone(),
        },
        Record::Commit {
            record_count,
            op_count,
            digest,
        } => RecordView::Commit {
            records: *record_count,
            operations: *op_count,
            digest: hash_hex(digest),
        },
        other => file_view(other)
            .or_else(|| dir_view(other))
            .expect("every other kind is an operation on a file or a directory"),
    };
    RecordEntry {
        index: rec.frame.index,
        offset: rec.offset,
        payload_len: rec.frame.payload_len,
        txn_id: rec.frame.txn_id,
        record,
    }
}

/// The view of a put-file, delete-file, put-link or tree-entry record; `None` for others.
fn file_view(rec: &Record) -> Option<RecordView> {
    Some(match rec {
        Record::PutFile {
            op,
            path,
            mode: m,
            before,
            size,
            hash,
            content: c,
            ..
        } => RecordView::PutFile {
            op: *op,
            path: path.clone(),
            mode: mode(*m),
            before: before.into(),
            size: *size,
            hash: hash_hex(hash),
            content: content(c),
        },
        Record::DeleteFile { op, path, before } => RecordView::DeleteFile {
            op: *op,
            path: path.clone(),
            before: before.into(),
        },
        Record::PutLink {
            op,
            path,
            before,
            target,
        } => RecordView::PutLink {
            op: *op,
            path: path.clone(),
            before: before.into(),
            target: String::from_utf8_lossy(target).into_owned(),
        },
        Record::TreeEntry {
            op,
            rel_path,
            kind,
            mode: m,
            size,
            hash,
            content: c,
            target,
        } => {
            let file = *kind == EntryKind::File;
            let link = *kind == EntryKind::Link;
            RecordView::TreeEntry {
                op: *op,
                path: rel_path.clone(),
                entry: match kind {
                    EntryKind::File => "file",
                    EntryKind::Dir => "dir",
                    EntryKind::Link => "link",
                },
                mode: (!link).then(|| mode(*m)),
                size: *size,
                hash: file.then(|| hash_hex(hash)),
                content: file.then(|| content(c)),
                target: link.then(|| String::from_utf8_lossy(target).into_owned()),
            }
        }
        _ => return None,
    })
}

/// The view of a create-dir, remove-dir, set-dir-mode, put-tree or delete-tree record;
/// `None` for others.
fn dir_view(rec: &Record) -> Option<RecordView> {
    Some(match rec {
        Record::CreateDir {
            op, path, mode: m, ..
        } => RecordView::CreateDir {
            op: *op,
            path: path.clone(),
            mode: mode(*m),
        },
        Record::RemoveDir { op, path } => RecordView::RemoveDir {
            op: *op,
            path: path.clone(),
        },
        Record::SetDirMode {
            op,
            path,
            before_mode,
            mode: m,
        } => RecordView::SetDirMode {
            op: *op,
            path: path.clone(),
            before_mode: mode(*before_mode),
            mode: mode(*m),
        },
        Record::PutTree {
            op,
            path,
            mode: m,
            before,
            after_hash,
            entry_count,
            ..
        } => RecordView::PutTree {
            op: *op,
            path: path.clone(),
            mode: m.map(mode),
            before: before.into(),
            after_tree_hash: hash_hex(after_hash),
            entries: *entry_count,
        },
        Record::DeleteTree { op, path, before } => RecordView::DeleteTree {
            op: *op,
            path: path.clone(),
            before: before.into(),
        },
        _ => return None,
    })
}

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
        records: Vec::new(),
        stop: None,
        beyond_damage: Vec::new(),
        commit_offset: None,
        previous: None,
    };
    let Some(header) = read_slots(&mut report, file.as_ref(), path)? else {
        return Ok(report);
    };
    report.salt = Some(format!("{:016x}", header.salt));
    let found =
        scan_records(file.as_ref(), file_len, header.salt, header.version).ctx("read", path)?;
    describe_live(&mut report, &found, header.version);
    if report.state == TxnState::None
        && let Some(older) = header.older_salt
    {
        report.previous =
            previous_txn(file.as_ref(), file_len, older, header.version).ctx("read", path)?;
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
    /// The other slot's salt when it is valid and differs: the previous transaction's.
    older_salt: Option<u64>,
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
            let older_salt = match &h.slots[1 - h.current_slot] {
                Ok(older) if older.live_salt != h.header.live_salt => Some(older.live_salt),
                _ => None,
            };
            report.slots = views(&h.slots, Some(h.current_slot));
            report.salt_from_header = true;
            Ok(Some(SlotsRead {
                salt: h.header.live_salt,
                version: h.header.version,
                older_salt,
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
                older_salt: None,
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

/// Puts the live transaction's records, where they end and its state into `report`.
fn describe_live(report: &mut InspectReport, found: &RecordsScan, version: u16) {
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
            match super::ops::from_records(&found.records, version) {
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
    let past = scan_records(file, file_len, older, version)?;
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
