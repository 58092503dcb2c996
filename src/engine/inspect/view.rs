//! Decoded records, before-states and stops as the report shows them (hex hashes, octal
//! modes, lossy link targets).

use super::{BeforeView, ParticipationView, RecordEntry, RecordView, RootView, StopView};
use crate::journal::format::{Before, Content, EntryKind, Hash, Participation, Record, hex};
use crate::journal::reader::{ScannedRecord, Stop};

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

impl From<&Participation> for ParticipationView {
    fn from(p: &Participation) -> Self {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        ParticipationView {
            global_id: hex(&p.global_id),
            coordinator: p.coordinator,
            this: p.this,
            roots: p
                .roots
                .iter()
                .map(|r| RootView {
                    id: hex(&r.id),
                    root: text(&r.root),
                    meta: text(&r.meta),
                })
                .collect(),
        }
    }
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

/// The report's entry for one scanned record.
pub(super) fn view(rec: &ScannedRecord) -> RecordEntry {
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
        Record::Prepare(p) => RecordView::Prepare(p.into()),
        Record::Decision(p) => RecordView::Decision(p.into()),
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
