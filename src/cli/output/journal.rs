//! Output of the journal commands: journal inspect, journal verify, recover.

use super::{Output, Printed, short, when};
use serde_json::{Value, json};
use skillwal::engine::Discarded;
use skillwal::engine::inspect::{BeforeView, InspectReport, RecordView, TxnState};
use skillwal::engine::multi_root::{Decision, RootState};
use skillwal::engine::{DryRun, RecoveryOutcome, RecoveryReport};
use std::io::{self, Write};
use std::path::Path;

fn state_text(s: TxnState) -> &'static str {
    match s {
        TxnState::None => "idle (nothing to recover)",
        TxnState::Uncommitted => "UNCOMMITTED (will be rolled back)",
        TxnState::Committed => "COMMITTED (will be rolled forward)",
        TxnState::Corrupt => "CORRUPT (committed, damaged inside)",
        TxnState::Unreadable => "UNREADABLE (no valid header)",
    }
}

/// The one line that says what recovery did to the collection at `dir`.
pub(super) fn recovery_line(dir: &Path, r: &RecoveryReport) -> String {
    let what = match &r.outcome {
        RecoveryOutcome::Nothing => "nothing to recover".to_string(),
        RecoveryOutcome::RolledBack { txn_id, records } => {
            format!(
                "rolled back transaction {txn_id} ({records} records, never committed; the collection is as before it)"
            )
        }
        RecoveryOutcome::RolledForward {
            txn_id,
            label,
            transactions,
            operations,
            redone,
            repaired,
            dropped,
        } => {
            let dropped = dropped
                .map(|id| format!("; dropped transaction {id}, which never committed"))
                .unwrap_or_default();
            let what = if *transactions > 1 {
                format!("{transactions} committed transactions, the last {txn_id} \"{label}\"")
            } else {
                format!("transaction {txn_id} \"{label}\"")
            };
            format!(
                "rolled forward {what} ({operations} operations: {redone} redone, {repaired} repaired, {} already in place){dropped}",
                operations - redone - repaired
            )
        }
    };
    let leftovers = if r.staging_removed > 0 {
        format!("; removed {} leftover staged item(s)", r.staging_removed)
    } else {
        String::new()
    };
    let across = r
        .across_roots
        .as_ref()
        .map(|a| {
            let roots: Vec<String> = a
                .roots
                .iter()
                .map(|root| format!("{} {}", root.root.display(), root_state_text(&root.state)))
                .collect();
            let kept = if a.decision_kept {
                "; the decision is kept until every root is reached"
            } else {
                ""
            };
            format!(
                "; part of transaction {} across {} roots, {} ({}){kept}",
                short(&a.global_id),
                a.roots.len(),
                decision_text(&a.decision),
                roots.join(", ")
            )
        })
        .unwrap_or_default();
    format!("recovered {}: {what}{leftovers}{across}", dir.display())
}

fn decision_text(d: &Decision) -> String {
    match d {
        Decision::Commit => "committed".into(),
        Decision::Abort => "not committed".into(),
        Decision::InDoubt { reason } => format!("in doubt: {reason}"),
    }
}

fn root_state_text(s: &RootState) -> String {
    match s {
        RootState::RolledForward => "rolled forward".into(),
        RootState::RolledBack => "rolled back".into(),
        RootState::Finished => "already finished".into(),
        RootState::Unreachable { reason } => format!("not reached: {reason}"),
    }
}

fn print_plan(w: &mut dyn Write, dir: &Path, plan: &DryRun) -> io::Result<()> {
    match plan {
        DryRun::Nothing => writeln!(w, "Nothing to recover in {}", dir.display()),
        DryRun::RollBack { txn_id, records } => writeln!(
            w,
            "Would roll back transaction {txn_id} ({records} records, never committed); the collection's files are untouched"
        ),
        DryRun::AcrossRoots {
            txn_id,
            label,
            operations,
            across,
        } => {
            let would = match &across.decision {
                Decision::Commit => "roll forward",
                Decision::Abort => "roll back",
                Decision::InDoubt { .. } => "leave (in doubt)",
            };
            writeln!(
                w,
                "Would {would} transaction {txn_id} \"{label}\" ({operations} operations here), part of transaction {} across {} roots; the coordinator's decision: {}",
                short(&across.global_id),
                across.roots.len(),
                decision_text(&across.decision)
            )?;
            for r in &across.roots {
                let role = if r.coordinator {
                    "coordinator"
                } else {
                    "participant"
                };
                let found = match &r.unreachable {
                    None => "found".to_string(),
                    Some(why) => format!("not found: {why}"),
                };
                writeln!(w, "  {role:<12} {} {} ({found})", r.id, r.root.display())?;
            }
            Ok(())
        }
        DryRun::RollForward {
            txn_id,
            label,
            transactions,
            dropped,
            operations,
        } => {
            if *transactions > 1 {
                writeln!(
                    w,
                    "Would roll forward {transactions} committed transactions, the last {txn_id} \"{label}\":"
                )?;
            } else {
                writeln!(w, "Would roll forward transaction {txn_id} \"{label}\":")?;
            }
            for o in operations {
                let action = match o.action {
                    "done" => "already done",
                    "redo" => "apply",
                    other => other,
                };
                writeln!(w, "  {:<12} {:<12} {}", action, o.op, o.path)?;
            }
            if let Some(id) = dropped {
                writeln!(
                    w,
                    "and drop transaction {id}, which never committed (nothing of it reached the files)"
                )?;
            }
            Ok(())
        }
    }
}

fn before_text(b: &BeforeView) -> String {
    match b {
        BeforeView::Absent => "absent".into(),
        BeforeView::File { size, hash, mode } => match mode {
            Some(m) => format!("file {size} B {} mode {m}", short(hash)),
            None => format!("file {size} B {}", short(hash)),
        },
        BeforeView::Tree { hash } => format!("tree {}", short(hash)),
        BeforeView::Link { target } => format!("link -> {target}"),
    }
}

fn tree_entry_text(r: &RecordView) -> String {
    let RecordView::TreeEntry {
        op,
        path,
        entry,
        mode,
        size,
        hash,
        content,
        target,
    } = r
    else {
        unreachable!("called for tree entries only")
    };
    let mode = mode.as_deref().unwrap_or("");
    match (hash, target) {
        (Some(h), _) => format!(
            "tree-entry     op {op}   {path}  {entry} {size} B blake3 {} mode {mode} ({})",
            short(h),
            content.unwrap_or("")
        ),
        (None, Some(t)) => format!("tree-entry     op {op}   {path} -> {t}  {entry}"),
        (None, None) => format!("tree-entry     op {op}   {path}/  {entry} mode {mode}"),
    }
}

fn record_line(index: u32, offset: u64, r: &RecordView) -> String {
    let body = match r {
        RecordView::Begin {
            label,
            time_unix_ms,
        } => format!("begin          \"{label}\" at {}", when(*time_unix_ms)),
        RecordView::TreeEntry { .. } => tree_entry_text(r),
        RecordView::DocumentDiff { document, changes } => {
            format!(
                "{:<14} {document} ({} fields)",
                diff_kind(document),
                changes.len()
            )
        }
        RecordView::Prepare(p) => format!(
            "prepare        txn {} across {} roots, coordinator {}",
            short(&p.global_id),
            p.roots.len(),
            p.roots[p.coordinator as usize].root
        ),
        RecordView::Decision(p) => format!(
            "decision       txn {} across {} roots (this root decides)",
            short(&p.global_id),
            p.roots.len()
        ),
        RecordView::Commit {
            records,
            operations,
            digest,
        } => format!(
            "commit         {records} records, {operations} operations, digest {}",
            short(digest)
        ),
        _ => operation_text(r),
    };
    format!("  #{index:<3} @{offset:<8} {body}")
}

/// The text of an operation record (a file, link, directory or tree operation).
fn operation_text(r: &RecordView) -> String {
    match r {
        RecordView::PutFile {
            op,
            path,
            mode,
            before,
            size,
            hash,
            content,
        } => format!(
            "put-file       op {op} {path}  {size} B blake3 {} mode {mode} ({content})  before: {}",
            short(hash),
            before_text(before)
        ),
        RecordView::DeleteFile { op, path, before } => format!(
            "delete-file    op {op} {path}  before: {}",
            before_text(before)
        ),
        RecordView::CreateDir { op, path, mode } => {
            format!("create-dir     op {op} {path} mode {mode}")
        }
        RecordView::RemoveDir { op, path } => format!("remove-dir     op {op} {path}"),
        RecordView::PutLink {
            op,
            path,
            before,
            target,
        } => format!(
            "put-link       op {op} {path} -> {target}  before: {}",
            before_text(before)
        ),
        RecordView::SetDirMode {
            op,
            path,
            before_mode,
            mode,
        } => format!("set-dir-mode   op {op} {path}  mode {before_mode} -> {mode}"),
        RecordView::PutTree {
            op,
            path,
            mode,
            before,
            after_tree_hash,
            entries,
        } => format!(
            "put-tree       op {op} {path}{}  {entries} entries, tree {}  before: {}",
            mode.as_deref()
                .map(|m| format!(" mode {m}"))
                .unwrap_or_default(),
            short(after_tree_hash),
            before_text(before)
        ),
        RecordView::DeleteTree { op, path, before } => format!(
            "delete-tree    op {op} {path}  before: {}",
            before_text(before)
        ),
        _ => unreachable!("not an operation record: {r:?}"),
    }
}

fn record_details(r: &RecordView) -> Vec<String> {
    match r {
        RecordView::Prepare(p) | RecordView::Decision(p) => p
            .roots
            .iter()
            .enumerate()
            .map(|(i, root)| {
                let role = if i == p.coordinator as usize {
                    "coordinator"
                } else {
                    "participant"
                };
                let this = if i == p.this as usize {
                    ", this root"
                } else {
                    ""
                };
                format!("                   {role} {} {}{this}", root.id, root.root)
            })
            .collect(),
        RecordView::DocumentDiff { changes, .. } => changes
            .iter()
            .map(|c| {
                format!(
                    "                   {} {}: {} -> {}",
                    c.item,
                    c.field,
                    c.before.as_deref().unwrap_or("(absent)"),
                    c.after.as_deref().unwrap_or("(absent)")
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn records_text(
    w: &mut dyn Write,
    records: &[skillwal::engine::inspect::RecordEntry],
    details: bool,
) -> io::Result<()> {
    for e in records {
        writeln!(w, "{}", record_line(e.index, e.offset, &e.record))?;
        if details {
            for line in record_details(&e.record) {
                writeln!(w, "{line}")?;
            }
        }
    }
    Ok(())
}

/// The header slots, and the transaction the journal holds.
fn inspect_header(w: &mut dyn Write, r: &InspectReport) -> io::Result<()> {
    writeln!(w, "journal {} ({} bytes)", r.path, r.file_len)?;
    for s in &r.slots {
        match (s.valid, &s.problem) {
            (true, _) => writeln!(
                w,
                "  header slot {} @{}: sequence {}, live salt {}, next transaction {}{}",
                s.slot,
                s.offset,
                s.sequence.unwrap_or(0),
                s.live_salt.as_deref().unwrap_or("?"),
                s.next_txn_id.unwrap_or(0),
                if s.current { "  [current]" } else { "" }
            )?,
            (false, p) => writeln!(
                w,
                "  header slot {} @{}: INVALID ({})",
                s.slot,
                s.offset,
                p.as_deref().unwrap_or("?")
            )?,
        }
    }
    if !r.salt_from_header
        && let Some(salt) = &r.salt
    {
        writeln!(
            w,
            "  no valid header: records matched against salt {salt}, taken from the first record"
        )?;
    }
    let txn = match (r.txn_id, &r.label) {
        (Some(id), Some(label)) => format!(
            "transaction {id} \"{label}\"{}",
            r.time_unix_ms
                .map(|ms| format!(", begun {}", when(ms)))
                .unwrap_or_default()
        ),
        _ => "no live transaction".to_string(),
    };
    writeln!(w, "{txn}: {}", state_text(r.state))
}

/// What happens next to the transaction `r` holds, with the command that acts on it:
/// `command` is `skillwal` with the options that select the journal's collection, or
/// `None` when the journal belongs to no collection skillwal can find (a copy): then no
/// command is given, since it would act on another collection's journal.
fn next_step(state: TxnState, command: Option<&str>) -> Option<String> {
    let elsewhere = "(this file is not the journal of a collection skillwal can find: run `recover` on the collection it came from)";
    Some(match (state, command) {
        (TxnState::Committed, Some(c)) => {
            format!("The next open completes this transaction (`{c} recover --dry-run` shows how).")
        }
        (TxnState::Committed, None) => {
            "The next open of its collection completes this transaction.".to_string()
        }
        (TxnState::Uncommitted, _) => {
            "The next open rolls this transaction back: it never reached the collection."
                .to_string()
        }
        (TxnState::Corrupt, Some(c)) => format!(
            "Recovery refuses a damaged committed transaction; after looking, `{c} recover --discard` drops it."
        ),
        (TxnState::Corrupt, None) => {
            format!("Recovery refuses a damaged committed transaction {elsewhere}.")
        }
        (TxnState::Unreadable, Some(c)) => {
            format!("No header slot is valid; `{c} recover --discard` replaces the journal.")
        }
        (TxnState::Unreadable, None) => format!("No header slot is valid {elsewhere}."),
        (TxnState::None, _) => return None,
    })
}

/// `12 "update my-skill", begun <time>`: a transaction as `journal inspect` names it.
fn txn_heading(id: u64, label: Option<&str>, time_unix_ms: Option<u64>) -> String {
    let begun = time_unix_ms
        .map(|ms| format!(", begun {}", when(ms)))
        .unwrap_or_default();
    format!("{id} \"{}\"{begun}", label.unwrap_or("?"))
}

fn inspect_text(w: &mut dyn Write, r: &InspectReport, command: Option<&str>) -> io::Result<()> {
    inspect_header(w, r)?;
    if !r.run.is_empty() {
        writeln!(
            w,
            "  after {} committed transaction(s) of the same run, which the next open completes whatever the last one's state:",
            r.run.len()
        )?;
        for t in &r.run {
            writeln!(
                w,
                "  transaction {}: committed",
                txn_heading(t.txn_id, t.label.as_deref(), t.time_unix_ms)
            )?;
            records_text(w, &t.records, true)?;
        }
        writeln!(w, "  the last transaction:")?;
    }
    records_text(w, &r.records, true)?;
    if let Some(stop) = &r.stop
        && r.state != TxnState::None
    {
        let what = if r.state == TxnState::Corrupt {
            "DAMAGED"
        } else {
            "end of valid records"
        };
        writeln!(
            w,
            "  #{:<3} @{:<8} {what}: {}",
            stop.index, stop.offset, stop.reason
        )?;
    }
    if !r.beyond_damage.is_empty() {
        writeln!(w, "  valid records found past the damage:")?;
        records_text(w, &r.beyond_damage, false)?;
    }
    if let Some(p) = &r.previous {
        writeln!(
            w,
            "last transaction {}: retired ({}); shown for history, never applied again",
            txn_heading(p.txn_id, p.label.as_deref(), p.time_unix_ms),
            if p.committed {
                "completed and durable"
            } else {
                "aborted before its commit point"
            }
        )?;
        records_text(w, &p.records, true)?;
    }
    for d in &r.kept_decisions {
        let c = command.unwrap_or("skillwal");
        writeln!(
            w,
            "kept decision: transaction {} committed; kept for a root that could not be reached (it learns the decision when opened again; `{c} recover --forget-decision {}` once it is gone for good):",
            d.global_id, d.global_id
        )?;
        for line in d.text.lines().skip(2) {
            writeln!(w, "  {line}")?;
        }
    }
    match next_step(r.state, command) {
        Some(line) => writeln!(w, "{line}"),
        None => Ok(()),
    }
}

impl Output {
    pub fn recovery(&self, dir: &Path, r: &RecoveryReport) -> Printed {
        if self.json {
            return self
                .json(json!({"recovery": r, "dry_run": false, "plan": null, "discarded": null, "forgotten": null}));
        }
        self.text(|w| writeln!(w, "{}", recovery_line(dir, r)))
    }

    pub fn dry_run(&self, dir: &Path, plan: &DryRun) -> Printed {
        if self.json {
            return self
                .json(json!({"recovery": null, "dry_run": true, "plan": plan, "discarded": null, "forgotten": null}));
        }
        self.text(|w| print_plan(w, dir, plan))
    }

    pub fn forgotten(&self, dir: &Path, id: &str, kept: bool) -> Printed {
        if self.json {
            return self.json(
                json!({"recovery": null, "dry_run": false, "plan": null, "discarded": null,
                "forgotten": {"transaction": id, "was_kept": kept}}),
            );
        }
        self.text(|w| {
            if kept {
                writeln!(
                    w,
                    "Forgot the kept decision of transaction {id} in {}; a root that still holds its part would now roll it back",
                    dir.display()
                )
            } else {
                writeln!(w, "{} keeps no decision of transaction {id}; nothing to forget", dir.display())
            }
        })
    }

    pub fn discarded(&self, dir: &Path, d: &Discarded) -> Printed {
        if self.json {
            return self
                .json(json!({"recovery": null, "dry_run": false, "plan": null, "discarded": d, "forgotten": null}));
        }
        self.text(|w| match (d.txn_id, d.committed, d.records) {
            (Some(id), committed, records) => writeln!(
                w,
                "Discarded transaction {id} ({records} records, {}) from {}; the files were left as they are",
                if committed {
                    "committed"
                } else {
                    "uncommitted"
                },
                dir.display()
            ),
            (None, true, _) | (None, _, 1..) => writeln!(
                w,
                "Discarded a damaged transaction ({} readable records{}) from {}; the files were left as they are",
                d.records,
                if d.committed { ", committed" } else { "" },
                dir.display()
            ),
            (None, false, 0) => writeln!(
                w,
                "The journal of {} held no transaction; it is reset",
                dir.display()
            ),
        })
    }

    pub fn journal_verified(
        &self,
        dir: &Path,
        report: Option<&InspectReport>,
        plan: Result<&DryRun, String>,
    ) -> Printed {
        if self.json {
            return self.json(json!({
                "journal": report.map(|r| json!({"state": r.state, "txn_id": r.txn_id, "records": r.records.len()})),
                "ok": plan.is_ok(),
                "plan": plan.as_ref().ok(),
                "problem": plan.as_ref().err(),
            }));
        }
        self.text(|w| {
            match report {
                None => writeln!(
                    w,
                    "No journal in {} (skillwal has not written there yet)",
                    dir.display()
                )?,
                Some(r) => writeln!(w, "Journal {}: {}", r.path, state_text(r.state))?,
            }
            match plan {
                Ok(p) => print_plan(w, dir, p),
                Err(e) => writeln!(w, "Recovery would stop: {e}"),
            }
        })
    }

    /// `command`: `skillwal` and the options that select the journal's collection, for the
    /// advice (see [`next_step`]).
    pub fn inspect(&self, r: &InspectReport, command: Option<&str>) -> Printed {
        if self.json {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            name_document_diffs(&mut v);
            return self.json(v);
        }
        self.text(|w| inspect_text(w, r, command))
    }
}

/// What a document diff is called for a SkillMeat collection: the journal records a diff of
/// any named document; `journal inspect` names the manifest's and the lock's as such, in
/// text and in JSON (`kind`), so scripts see `manifest-diff` and `lock-diff`.
fn diff_kind(document: &str) -> &'static str {
    match document {
        skillwal::skillmeat::MANIFEST_FILE_NAME => "manifest-diff",
        skillwal::skillmeat::LOCK_FILE_NAME => "lock-diff",
        _ => "document-diff",
    }
}

/// `kind` of every document diff in a `journal inspect --json` report, as [`diff_kind`].
fn name_document_diffs(v: &mut Value) {
    for key in ["records", "beyond_damage"] {
        name_in(v.get_mut(key));
    }
    name_in(v.get_mut("previous").and_then(|p| p.get_mut("records")));
    if let Some(run) = v.get_mut("run").and_then(Value::as_array_mut) {
        for t in run {
            name_in(t.get_mut("records"));
        }
    }
}

fn name_in(records: Option<&mut Value>) {
    for r in records.and_then(Value::as_array_mut).into_iter().flatten() {
        if r["kind"] == "document-diff" {
            let kind = diff_kind(r["document"].as_str().unwrap_or(""));
            r["kind"] = Value::from(kind);
        }
    }
}
