//! Everything the CLI prints: human text on stdout, notes and errors on stderr, or JSON
//! (`--json`) on stdout. Exit codes for errors are decided here too.

use super::advice;
use super::commands::Target;
use super::exit;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use skillwal::engine::Discarded;
use skillwal::engine::inspect::{InspectReport, RecordView, TxnState};
use skillwal::engine::{DryRun, RecoveryOutcome, RecoveryReport};
use skillwal::error::Effect;
use skillwal::skillmeat::collection::{
    ArtifactStatus, CollectionError, FileState, RollbackOutcome, SnapshotOutcome, UpdateAction,
    UpdateOutcome, VerifyReport,
};
use skillwal::skillmeat::home::ConfigChange;
use skillwal::skillmeat::py_snapshot::{Extracted, PySnapshot};
use skillwal::skillmeat::threeway::FileDiff;
use skillwal::skillmeat::{Artifact, ArtifactType, Lock, LockEntry, Manifest, format_timestamp};
use skillwal::store::gc::GcReport;
use skillwal::store::refs::SnapshotRef;
use skillwal::store::restore::Action;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// An artifact `update --all` could not update, and why (exit code 5).
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotUpdated {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// [`NotUpdated::NO_SOURCE`] or [`NotUpdated::FETCH_FAILED`].
    pub reason: &'static str,
    /// The whole message: what is missing or what failed, and what to do.
    pub detail: String,
}

impl NotUpdated {
    /// No recorded source to update from (or its record cannot be read).
    pub const NO_SOURCE: &'static str = "no-source";
    /// The source is recorded but fetching it failed.
    pub const FETCH_FAILED: &'static str = "fetch-failed";

    pub fn new(a: &Artifact, reason: &'static str, e: &anyhow::Error) -> NotUpdated {
        NotUpdated {
            name: a.name.clone(),
            ty: a.artifact_type.as_str().to_string(),
            reason,
            detail: message(e),
        }
    }
}

/// A usage mistake found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub struct Output {
    json: bool,
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The artifact's `[artifacts.metadata] version` as `skillmeat list --json` shows it: a
/// string, a number or a boolean as is, a date or date-time as Python's `str()` of it
/// (`2024-01-05`, `2024-01-05 10:00:00+00:00`); null when there is none (and for a float that
/// JSON cannot hold, which Python prints as `NaN`).
fn metadata_version(a: &Artifact) -> Value {
    match a.metadata.get("version") {
        None => Value::Null,
        Some(toml::Value::Datetime(d)) => {
            let mut s = String::new();
            if let Some(date) = d.date {
                s.push_str(&format!(
                    "{:04}-{:02}-{:02}",
                    date.year, date.month, date.day
                ));
            }
            if let Some(t) = d.time {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(&format!(
                    "{:02}:{:02}:{:02}",
                    t.hour,
                    t.minute,
                    t.second.unwrap_or(0)
                ));
                if let Some(ns) = t.nanosecond.filter(|ns| *ns >= 1000) {
                    s.push_str(&format!(".{:06}", ns / 1000));
                }
            }
            match d.offset {
                Some(toml::value::Offset::Z) => s.push_str("+00:00"),
                Some(toml::value::Offset::Custom { minutes }) => s.push_str(&format!(
                    "{}{:02}:{:02}",
                    if minutes < 0 { '-' } else { '+' },
                    minutes.unsigned_abs() / 60,
                    minutes.unsigned_abs() % 60
                )),
                None => {}
            }
            Value::String(s)
        }
        Some(v) => serde_json::to_value(v).unwrap_or(Value::Null),
    }
}

fn print_json(v: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed pipe is not an error worth reporting.
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_default()
    );
}

fn when(ms: u64) -> String {
    format_timestamp(UNIX_EPOCH + Duration::from_millis(ms))
}

/// Asks a yes/no question on the terminal (default: no).
pub fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes" | "Yes")
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Prints an error and returns the exit code for it.
    pub fn error(&self, e: &anyhow::Error) -> u8 {
        let locked = e.chain().any(|c| {
            matches!(
                c.downcast_ref::<skillwal::Error>(),
                Some(skillwal::Error::Locked { .. })
            ) || matches!(
                c.downcast_ref::<CollectionError>(),
                Some(CollectionError::Engine(skillwal::Error::Locked { .. }))
            )
        });
        let usage = e.chain().any(|c| c.downcast_ref::<UsageError>().is_some());
        let code = if locked {
            exit::LOCKED
        } else if usage {
            exit::USAGE
        } else {
            exit::ERROR
        };
        let msg = message(e);
        let maybe_applied = advice::effect(e) == Effect::MaybeApplied;
        let note = if maybe_applied || usage || advice::says_unchanged(e) {
            None
        } else {
            Some("Nothing was changed.")
        };
        let hint = hint(e);
        if self.json {
            let v = json!({
                "error": msg,
                "exit_code": code,
                "changed": if maybe_applied { "maybe" } else { "no" },
                "hint": hint,
            });
            eprintln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        } else {
            eprintln!("error: {msg}");
            if let Some(n) = note {
                eprintln!("{n}");
            }
            if let Some(h) = hint {
                eprintln!("{h}");
            }
        }
        code
    }

    pub fn note(&self, msg: &str) {
        eprintln!("skillwal: {msg}");
    }

    pub fn waiting(&self, dir: &Path, holder: Option<&str>) {
        eprintln!(
            "skillwal: {} is in use by another skillwal process{}; waiting for it (--no-wait fails at once instead)",
            dir.display(),
            holder.map(|h| format!(" ({h})")).unwrap_or_default()
        );
    }

    /// A warning on stderr about a stale copy of skillwal's state inside the collection
    /// (`verify` reports it as a problem too).
    pub fn stale_state(&self, stale: &skillwal::skillmeat::state::Stale) {
        eprintln!("skillwal: warning: {}", stale_text(stale));
    }

    /// One line on stderr when recovery had something to do.
    pub fn recovered(&self, dir: &Path, r: &RecoveryReport) {
        if r.did_something() {
            eprintln!("skillwal: {}", recovery_line(dir, r));
        }
    }

    /// A spinner on stderr (only on a terminal) around `f`.
    pub fn spinner<T>(&self, msg: &str, f: impl FnOnce() -> T) -> T {
        let pb = if std::io::stderr().is_terminal() {
            let pb = ProgressBar::new_spinner();
            pb.set_message(msg.to_string());
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        } else {
            ProgressBar::hidden()
        };
        let r = f();
        pb.finish_and_clear();
        r
    }

    /// A progress bar on stderr (only on a terminal, and only for more than one item).
    pub fn progress(&self, len: u64, msg: &str) -> ProgressBar {
        if len < 2 || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(msg.to_string());
        pb
    }

    pub fn initialized(&self, t: &Target, config: Option<ConfigChange>) {
        if self.json {
            print_json(&json!({"collection": t.name, "path": t.dir, "config": config}));
            return;
        }
        println!("Created collection {} at {}", t.name, t.dir.display());
        match (config, &t.home) {
            (Some(ConfigChange::Created), Some(h)) => {
                println!("Created {}", h.config_path().display())
            }
            (Some(ConfigChange::SetDefault), Some(h)) => {
                println!(
                    "Set default-collection = \"{}\" in {}",
                    t.name,
                    h.config_path().display()
                )
            }
            _ => {}
        }
    }

    pub fn added(&self, ty: ArtifactType, name: &str, e: &LockEntry, source: &str, dir: &Path) {
        if self.json {
            print_json(&json!({
                "added": {"name": name, "type": ty.as_str(), "content_hash": e.content_hash,
                          "resolved_sha": e.resolved_sha, "resolved_version": e.resolved_version,
                          "source": source, "collection": dir}
            }));
            return;
        }
        let version = e
            .resolved_version
            .as_deref()
            .or(e.resolved_sha.as_deref().map(short));
        println!(
            "Added {ty} {name} from {source}{} (content {})",
            version.map(|v| format!(" at {v}")).unwrap_or_default(),
            short(&e.content_hash)
        );
    }

    pub fn removed(&self, name: &str, ty: ArtifactType, keep_files: bool, snap: &SnapshotOutcome) {
        if self.json {
            print_json(&json!({
                "removed": {"name": name, "type": ty.as_str(), "files_kept": keep_files},
                "snapshot": snap,
            }));
            return;
        }
        if keep_files {
            println!("Removed {ty} {name} from the manifest and lock (files kept)");
        } else {
            println!("Removed {ty} {name}");
        }
        auto_snapshot_line(snap);
    }

    pub fn updated(
        &self,
        outcomes: &[UpdateOutcome],
        snap: Option<&SnapshotOutcome>,
        not_updated: &[NotUpdated],
    ) {
        if self.json {
            print_json(&json!({"updates": outcomes, "snapshot": snap, "not_updated": not_updated}));
            return;
        }
        if let Some(s) = snap {
            auto_snapshot_line(s);
        }
        for o in outcomes {
            let what = match o.action {
                UpdateAction::Updated if o.locally_modified => {
                    "updated (local modifications overwritten)"
                }
                UpdateAction::Updated => "updated",
                UpdateAction::UpToDate => "up to date",
                UpdateAction::KeptLocal => "kept local modifications (not updated)",
                UpdateAction::Merged if o.conflicts.is_empty() => {
                    "merged with the local modifications"
                }
                UpdateAction::Merged => "merged, WITH CONFLICTS",
            };
            println!(
                "{} {}: {what}{}",
                o.ty,
                o.name,
                if matches!(o.action, UpdateAction::Updated | UpdateAction::Merged) {
                    format!(" (content {})", short(&o.content_hash))
                } else {
                    String::new()
                }
            );
            for c in &o.conflicts {
                println!("  conflict ({}) {}: {}", c.kind, c.path, c.detail);
            }
        }
        let n = outcomes
            .iter()
            .filter(|o| matches!(o.action, UpdateAction::Updated | UpdateAction::Merged))
            .count();
        if n > 1 {
            println!("{n} artifacts updated in one transaction");
        }
        for n in not_updated {
            println!(
                "{} {}: NOT UPDATED ({}): {}",
                n.ty, n.name, n.reason, n.detail
            );
        }
        if !not_updated.is_empty() {
            eprintln!(
                "skillwal: {} artifact(s) could not be updated and are unchanged (listed above; exit code 5); every other artifact was updated or is up to date",
                not_updated.len()
            );
        }
        let conflicts: usize = outcomes.iter().map(|o| o.conflicts.len()).sum();
        if conflicts > 0 {
            eprintln!(
                "skillwal: the update is done, with {conflicts} merge conflict(s) to resolve by hand (exit code 4); `skillwal rollback` to the automatic snapshot above undoes it"
            );
        }
    }

    pub fn diffed(&self, name: &str, ty: ArtifactType, files: &[FileDiff]) {
        if self.json {
            print_json(&json!({"name": name, "type": ty.as_str(), "files": files}));
            return;
        }
        if files.is_empty() {
            println!("{ty} {name}: updating would change nothing");
            return;
        }
        for f in files {
            match &f.diff {
                Some(d) if !d.is_empty() => print!("{d}"),
                Some(_) => println!("{} {} (empty)", f.change, f.path),
                None => println!("Binary files differ: {} ({})", f.path, f.change),
            }
        }
        println!(
            "{ty} {name}: updating would change {} file(s) (+{} -{} lines)",
            files.len(),
            files.iter().map(|f| f.added_lines).sum::<usize>(),
            files.iter().map(|f| f.removed_lines).sum::<usize>()
        );
    }

    pub fn snapshot_taken(&self, s: &SnapshotOutcome) {
        if self.json {
            print_json(&json!({"snapshot": s}));
            return;
        }
        println!(
            "Snapshot {} taken: {} files, {} bytes; {} new objects in the store; {} files read",
            s.snapshot.id, s.snapshot.files, s.snapshot.bytes, s.new_objects, s.hashed_files
        );
        skipped_lines(&s.skipped);
    }

    pub fn snapshot_list(&self, dir: &Path, list: &[SnapshotRef], py: Option<&[PySnapshot]>) {
        if self.json {
            print_json(&json!({
                "collection_dir": dir,
                "snapshots": list,
                "skillmeat_snapshots": py,
            }));
            return;
        }
        if let Some(py) = py.filter(|p| !p.is_empty()) {
            println!(
                "SkillMeat's snapshots (tarballs of the Python tool; `skillwal rollback ID` restores one):"
            );
            println!("{:<22}  {:<26}  {:>9}  message", "id", "time", "artifacts");
            for s in py {
                println!(
                    "{:<22}  {:<26}  {:>9}  {}",
                    s.id,
                    s.timestamp,
                    s.artifact_count.map(|n| n.to_string()).unwrap_or_default(),
                    s.message
                );
            }
            println!();
        }
        if list.is_empty() {
            println!(
                "No snapshots of {} yet (`skillwal snapshot` takes one)",
                dir.display()
            );
            return;
        }
        println!(
            "{:>6}  {:<26}  {:<9}  {:>6}  message",
            "id", "time", "kind", "files"
        );
        for s in list {
            println!(
                "{:>6}  {:<26}  {:<9}  {:>6}  {}",
                s.id,
                when(s.time_unix_ms),
                if s.automatic { "automatic" } else { "manual" },
                s.files,
                s.message
            );
        }
    }

    pub fn snapshot_show(&self, s: &SnapshotRef, changes: &[Action]) {
        if self.json {
            print_json(&json!({"snapshot": s, "changes": changes}));
            return;
        }
        println!(
            "Snapshot {} ({}, {}{}): {} files, {} bytes",
            s.id,
            when(s.time_unix_ms),
            if s.automatic { "automatic" } else { "manual" },
            if s.message.is_empty() {
                String::new()
            } else {
                format!(", {:?}", s.message)
            },
            s.files,
            s.bytes
        );
        self.changes_lines(changes);
    }

    pub fn skillmeat_snapshot_show(&self, py: &PySnapshot, changes: &[Action]) {
        if self.json {
            print_json(&json!({"skillmeat_snapshot": py, "changes": changes}));
            return;
        }
        println!(
            "SkillMeat snapshot {} ({}{}): {}",
            py.id,
            py.timestamp,
            if py.message.is_empty() {
                String::new()
            } else {
                format!(", {:?}", py.message)
            },
            py.tarball_path.display()
        );
        self.changes_lines(changes);
    }

    fn changes_lines(&self, changes: &[Action]) {
        if changes.is_empty() {
            println!("The collection is the same as this snapshot.");
            return;
        }
        println!("A rollback to it would change {} paths:", changes.len());
        for c in changes {
            println!("  {}", action_line(c));
        }
    }

    pub fn snapshot_deleted(&self, s: &SnapshotRef) {
        if self.json {
            print_json(&json!({"deleted": s}));
            return;
        }
        println!(
            "Deleted snapshot {} (its store objects are removed by `skillwal gc` once nothing else uses them)",
            s.id
        );
    }

    pub fn rolled_back(&self, dir: &Path, r: &RollbackOutcome) {
        if self.json {
            print_json(&json!({"collection_dir": dir, "rollback": r}));
            return;
        }
        if r.changes.is_empty() {
            println!(
                "{} is already the same as snapshot {}; nothing was written",
                dir.display(),
                r.target.id
            );
            return;
        }
        for c in &r.changes {
            println!("  {}", action_line(c));
        }
        println!(
            "Rolled {} back to snapshot {} in one transaction ({} paths changed)",
            dir.display(),
            r.target.id,
            r.changes.len()
        );
        if let Some(b) = &r.before {
            auto_snapshot_line(b);
        }
    }

    pub fn rolled_back_skillmeat(
        &self,
        dir: &Path,
        py: &PySnapshot,
        imported: &SnapshotOutcome,
        extracted: &Extracted,
        r: &RollbackOutcome,
    ) {
        if self.json {
            print_json(&json!({
                "collection_dir": dir,
                "skillmeat_snapshot": py,
                "extracted": extracted,
                "imported": imported,
                "rollback": r,
            }));
            return;
        }
        for p in &extracted.skipped {
            eprintln!("skillwal: {p} in the tarball is a link or special file; not restored");
        }
        if extracted.skillwal_entries > 0 {
            eprintln!(
                "skillwal: the tarball's copy of .skillwal/ ({} entries) was not restored",
                extracted.skillwal_entries
            );
        }
        println!(
            "SkillMeat snapshot {} recorded as snapshot {} ({} files)",
            py.id, imported.snapshot.id, extracted.files
        );
        self.rolled_back(dir, r);
    }

    pub fn gc(&self, dir: &Path, r: &GcReport) {
        if self.json {
            print_json(&json!({"collection_dir": dir, "gc": r}));
            return;
        }
        println!(
            "Removed {} unreferenced store objects ({} bytes) and {} bases no lock needs in {} transactions; {} objects and {} bases kept",
            r.removed, r.removed_bytes, r.bases_removed, r.transactions, r.kept, r.bases_kept
        );
    }

    pub fn list(&self, t: &Target, m: &Manifest, l: &Lock) {
        let rows: Vec<Value> = m
            .artifacts
            .iter()
            .map(|a| {
                json!({
                    "name": a.name, "type": a.artifact_type.as_str(), "origin": a.origin.as_str(),
                    "version": metadata_version(a),
                    "version_spec": a.version_spec, "resolved_version": a.resolved_version,
                    "resolved_sha": a.resolved_sha, "upstream": a.upstream,
                    "content_hash": l.entry(&a.name, a.artifact_type).map(|e| e.content_hash.clone()),
                })
            })
            .collect();
        if self.json {
            print_json(&json!({"collection": m.collection.name, "path": t.dir, "artifacts": rows}));
            return;
        }
        if m.artifacts.is_empty() {
            println!(
                "Collection {} is empty ({})",
                m.collection.name,
                t.dir.display()
            );
            return;
        }
        let w = m
            .artifacts
            .iter()
            .map(|a| a.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let versions: Vec<String> = m
            .artifacts
            .iter()
            .map(|a| match metadata_version(a) {
                Value::Null => "-".to_string(),
                Value::String(s) => s,
                v => v.to_string(),
            })
            .collect();
        let vw = versions
            .iter()
            .map(|v| v.chars().count())
            .max()
            .unwrap_or(0)
            .max(7);
        println!(
            "{:<w$}  {:<7}  {:<11}  {:<vw$}  REF",
            "NAME", "TYPE", "ORIGIN", "VERSION"
        );
        for (a, version) in m.artifacts.iter().zip(&versions) {
            let reference = a
                .resolved_version
                .as_deref()
                .or(a.resolved_sha.as_deref().map(short))
                .or(a.version_spec.as_deref())
                .unwrap_or("-");
            println!(
                "{:<w$}  {:<7}  {:<11}  {version:<vw$}  {reference}",
                a.name,
                a.artifact_type.as_str(),
                a.origin.as_str()
            );
        }
    }

    pub fn show(&self, dir: &Path, a: &Artifact, e: Option<&LockEntry>, disk: Option<&str>) {
        let state = match (disk, e) {
            (None, _) => "missing",
            (_, None) => "unlocked",
            (Some(d), Some(e)) if d == e.content_hash => "ok",
            _ => "modified",
        };
        let path = dir.join(&a.path);
        if self.json {
            let metadata = serde_json::to_value(&a.metadata).unwrap_or(Value::Null);
            print_json(&json!({
                "name": a.name, "type": a.artifact_type.as_str(), "path": path, "origin": a.origin.as_str(),
                "added": a.added, "upstream": a.upstream, "version_spec": a.version_spec,
                "resolved_sha": a.resolved_sha, "resolved_version": a.resolved_version,
                "last_updated": a.last_updated, "tags": a.tags, "metadata": metadata, "skillwal": a.extra,
                "lock": e.map(|e| json!({"content_hash": e.content_hash, "fetched": e.fetched,
                    "upstream": e.upstream, "resolved_sha": e.resolved_sha, "resolved_version": e.resolved_version})),
                "files": state, "disk_hash": disk,
            }));
            return;
        }
        println!("{} {}", a.artifact_type, a.name);
        let field = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                println!("  {k:<17} {v}");
            }
        };
        field("path", Some(&path.display().to_string()));
        field("origin", Some(a.origin.as_str()));
        field("added", Some(&a.added));
        field("upstream", a.upstream.as_deref());
        field("version_spec", a.version_spec.as_deref());
        field("resolved_sha", a.resolved_sha.as_deref());
        field("resolved_version", a.resolved_version.as_deref());
        field("last_updated", a.last_updated.as_deref());
        if !a.tags.is_empty() {
            field("tags", Some(&a.tags.join(", ")));
        }
        for (k, v) in &a.metadata {
            field(&format!("metadata.{k}"), Some(&v.to_string()));
        }
        for (k, v) in &a.extra {
            field(k, Some(v));
        }
        field("lock.content_hash", e.map(|e| e.content_hash.as_str()));
        field("lock.fetched", e.map(|e| e.fetched.as_str()));
        field("files", Some(state));
    }

    pub fn status(&self, t: &Target, s: &[ArtifactStatus]) {
        if self.json {
            print_json(&json!({"collection": t.name, "path": t.dir, "artifacts": s}));
            return;
        }
        if s.is_empty() {
            println!("Collection {} is empty", t.name);
            return;
        }
        for a in s {
            let state = match a.state {
                FileState::Ok => "ok",
                FileState::Modified => "modified",
                FileState::Missing => "missing",
                FileState::Unlocked => "not in the lock",
                FileState::Unreadable => "cannot be read",
            };
            let update = match a.update_available {
                Some(true) => ", update available",
                _ => "",
            };
            println!("{:<7} {}: {state}{update}", a.ty, a.name);
            for why in &a.reasons {
                println!("          {why}");
            }
        }
    }

    pub fn verify(&self, t: &Target, r: &VerifyReport) {
        if self.json {
            print_json(
                &json!({"collection": t.name, "path": t.dir, "clean": r.is_clean(), "report": r}),
            );
            return;
        }
        let list = |label: &str, items: &[String]| {
            for i in items {
                println!("{label:<9} {i}");
            }
        };
        for key in &r.modified {
            println!("{:<9} {key}", "modified");
            for why in r.reasons.get(key).into_iter().flatten() {
                println!("          {why}");
            }
        }
        list("missing", &r.missing);
        list("unlocked", &r.unlocked);
        list("stale", &r.stale_lock_entries);
        list("extra", &r.extra);
        list("unreadable", &r.unreadable);
        if let Some(stale) = &r.stale_state {
            println!("{:<9} {}", "stale", stale_text(stale));
        }
        if r.is_clean() {
            println!("All {} artifacts match the lock", r.checked);
        } else {
            println!(
                "{} of {} artifacts match the lock; {} problem(s)",
                r.ok.len(),
                r.checked,
                r.modified.len()
                    + r.missing.len()
                    + r.unlocked.len()
                    + r.stale_lock_entries.len()
                    + r.extra.len()
                    + r.unreadable.len()
                    + usize::from(r.stale_state.is_some())
            );
        }
    }

    pub fn recovery(&self, dir: &Path, r: &RecoveryReport) {
        if self.json {
            print_json(&json!({"path": dir, "recovery": r}));
            return;
        }
        println!("{}", recovery_line(dir, r));
    }

    pub fn dry_run(&self, dir: &Path, plan: &DryRun) {
        if self.json {
            print_json(&json!({"path": dir, "dry_run": true, "plan": plan}));
            return;
        }
        print_plan(dir, plan);
    }

    pub fn discarded(&self, dir: &Path, d: &Discarded) {
        if self.json {
            print_json(&json!({"path": dir, "discarded": d}));
            return;
        }
        match (d.txn_id, d.committed, d.records) {
            (Some(id), committed, records) => println!(
                "Discarded transaction {id} ({records} records, {}) from {}; the files were left as they are",
                if committed {
                    "committed"
                } else {
                    "uncommitted"
                },
                dir.display()
            ),
            (None, true, _) | (None, _, 1..) => println!(
                "Discarded a damaged transaction ({} readable records{}) from {}; the files were left as they are",
                d.records,
                if d.committed { ", committed" } else { "" },
                dir.display()
            ),
            (None, false, 0) => println!(
                "The journal of {} held no transaction; it is reset",
                dir.display()
            ),
        }
    }

    pub fn journal_verified(
        &self,
        dir: &Path,
        report: Option<&InspectReport>,
        plan: Result<&DryRun, String>,
    ) {
        if self.json {
            print_json(&json!({
                "path": dir,
                "journal": report.map(|r| json!({"state": r.state, "txn_id": r.txn_id, "records": r.records.len()})),
                "ok": plan.is_ok(),
                "plan": plan.as_ref().ok(),
                "problem": plan.as_ref().err(),
            }));
            return;
        }
        match report {
            None => println!(
                "No journal in {} (skillwal has not written there yet)",
                dir.display()
            ),
            Some(r) => println!("Journal {}: {}", r.path, state_text(r.state)),
        }
        match plan {
            Ok(p) => print_plan(dir, p),
            Err(e) => println!("Recovery would stop: {e}"),
        }
    }

    pub fn inspect(&self, r: &InspectReport) {
        if self.json {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            name_document_diffs(&mut v);
            print_json(&v);
            return;
        }
        println!("journal {} ({} bytes)", r.path, r.file_len);
        for s in &r.slots {
            match (s.valid, &s.problem) {
                (true, _) => println!(
                    "  header slot {} @{}: sequence {}, live salt {}, next transaction {}{}",
                    s.slot,
                    s.offset,
                    s.sequence.unwrap_or(0),
                    s.live_salt.as_deref().unwrap_or("?"),
                    s.next_txn_id.unwrap_or(0),
                    if s.current { "  [current]" } else { "" }
                ),
                (false, p) => println!(
                    "  header slot {} @{}: INVALID ({})",
                    s.slot,
                    s.offset,
                    p.as_deref().unwrap_or("?")
                ),
            }
        }
        if !r.salt_from_header
            && let Some(salt) = &r.salt
        {
            println!(
                "  no valid header: records matched against salt {salt}, taken from the first record"
            );
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
        println!("{txn}: {}", state_text(r.state));
        for e in &r.records {
            println!("{}", record_line(e.index, e.offset, &e.record));
            for line in record_details(&e.record) {
                println!("{line}");
            }
        }
        if let Some(stop) = &r.stop
            && r.state != TxnState::None
        {
            let what = if r.state == TxnState::Corrupt {
                "DAMAGED"
            } else {
                "end of valid records"
            };
            println!(
                "  #{:<3} @{:<8} {what}: {}",
                stop.index, stop.offset, stop.reason
            );
        }
        if !r.beyond_damage.is_empty() {
            println!("  valid records found past the damage:");
            for e in &r.beyond_damage {
                println!("{}", record_line(e.index, e.offset, &e.record));
            }
        }
        if let Some(p) = &r.previous {
            println!(
                "last transaction {} \"{}\"{}: retired ({}); shown for history, never applied again",
                p.txn_id,
                p.label.as_deref().unwrap_or("?"),
                p.time_unix_ms
                    .map(|ms| format!(", begun {}", when(ms)))
                    .unwrap_or_default(),
                if p.committed {
                    "completed and durable"
                } else {
                    "aborted before its commit point"
                }
            );
            for e in &p.records {
                println!("{}", record_line(e.index, e.offset, &e.record));
                for line in record_details(&e.record) {
                    println!("{line}");
                }
            }
        }
        match r.state {
            TxnState::Committed => println!(
                "The next open completes this transaction (`skillwal recover --dry-run` shows how)."
            ),
            TxnState::Uncommitted => println!(
                "The next open rolls this transaction back: it never reached the collection."
            ),
            TxnState::Corrupt => println!(
                "Recovery refuses a damaged committed transaction; after looking, `skillwal recover --discard` drops it."
            ),
            TxnState::Unreadable => println!(
                "No header slot is valid; `skillwal recover --discard` replaces the journal."
            ),
            TxnState::None => {}
        }
    }
}

/// The error and its causes, each cause once: library errors already name their cause in
/// their own text, so a cause whose text is already there is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = advice::text(cause).unwrap_or_else(|| cause.to_string());
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}

/// What to do next, for the errors whose own text does not say it.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    use skillwal::skillmeat::Error as FormatError;
    for cause in e.chain() {
        if let Some(CollectionError::Format(
            FormatError::Syntax { .. } | FormatError::Schema { .. },
        )) = cause.downcast_ref::<CollectionError>()
        {
            return Some(
                "Fix the file at that line and column (or restore it), then run the command again.",
            );
        }
        if let Some(skillwal::skillmeat::home::HomeError::Format(
            FormatError::Syntax { .. } | FormatError::Schema { .. },
        )) = cause.downcast_ref::<skillwal::skillmeat::home::HomeError>()
        {
            return Some(
                "Fix the file at that line and column (or restore it), then run the command again.",
            );
        }
        if let Some(FormatError::Syntax { .. } | FormatError::Schema { .. }) =
            cause.downcast_ref::<FormatError>()
        {
            return Some(
                "Fix the file at that line and column (or restore it), then run the command again.",
            );
        }
        if let Some(CollectionError::InvalidName { .. }) = cause.downcast_ref::<CollectionError>() {
            return Some("Choose another name with --name.");
        }
        let locked = matches!(
            cause.downcast_ref::<skillwal::Error>(),
            Some(skillwal::Error::Locked { .. })
        ) || matches!(
            cause.downcast_ref::<CollectionError>(),
            Some(CollectionError::Engine(skillwal::Error::Locked { .. }))
        );
        if locked {
            return Some(
                "Wait for that process to finish, or run the command again without --no-wait to wait for it.",
            );
        }
        let errno = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.raw_os_error())
            .or_else(|| {
                cause
                    .downcast_ref::<skillwal::error::IoError>()
                    .and_then(|e| e.raw_os_error())
            })
            .or_else(|| {
                cause
                    .downcast_ref::<skillwal::Error>()
                    .and_then(|e| e.raw_os_error())
            })
            .or_else(|| match cause.downcast_ref::<CollectionError>() {
                Some(CollectionError::Engine(e)) => e.raw_os_error(),
                Some(CollectionError::Io(e)) => e.raw_os_error(),
                _ => None,
            });
        match errno.map(rustix::io::Errno::from_raw_os_error) {
            Some(rustix::io::Errno::NOSPC | rustix::io::Errno::DQUOT) => {
                return Some("Free some space on that file system, then run the command again.");
            }
            Some(rustix::io::Errno::ROFS | rustix::io::Errno::ACCESS | rustix::io::Errno::PERM) => {
                return Some(
                    "Make the collection writable for this user, then run the command again.",
                );
            }
            _ => {}
        }
    }
    None
}

/// The line saying which automatic snapshot a command took (and what retention dropped).
fn auto_snapshot_line(s: &SnapshotOutcome) {
    let pruned = if s.pruned.is_empty() {
        String::new()
    } else {
        format!(
            "; older automatic snapshots deleted by retention: {}",
            s.pruned
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    println!(
        "Snapshot {} holds the state before (`skillwal rollback {}` restores it){pruned}",
        s.snapshot.id, s.snapshot.id
    );
    skipped_lines(&s.skipped);
}

fn skipped_lines(skipped: &[String]) {
    for p in skipped {
        eprintln!(
            "skillwal: {p} is a special file (a socket, FIFO or device); not recorded in the snapshot"
        );
    }
}

fn action_line(a: &Action) -> String {
    match a {
        Action::PutFile {
            path,
            replaces: true,
            ..
        } => format!("M {path}"),
        Action::PutFile { path, .. } => format!("A {path}"),
        Action::PutTree { path, .. } => format!("A {path}/"),
        Action::PutLink {
            path,
            replaces: true,
            ..
        } => format!("M {path}@"),
        Action::PutLink { path, .. } => format!("A {path}@"),
        Action::DeleteFile { path } => format!("D {path}"),
        Action::DeleteTree { path } => format!("D {path}/"),
        Action::SetDirMode { path, mode } => format!("m {path}/ (mode {mode:o})"),
    }
}

fn state_text(s: TxnState) -> &'static str {
    match s {
        TxnState::None => "idle (nothing to recover)",
        TxnState::Uncommitted => "UNCOMMITTED (will be rolled back)",
        TxnState::Committed => "COMMITTED (will be rolled forward)",
        TxnState::Corrupt => "CORRUPT (committed, damaged inside)",
        TxnState::Unreadable => "UNREADABLE (no valid header)",
    }
}

fn recovery_line(dir: &Path, r: &RecoveryReport) -> String {
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
            operations,
            redone,
            repaired,
        } => format!(
            "rolled forward transaction {txn_id} \"{label}\" ({operations} operations: {redone} redone, {repaired} repaired, {} already in place)",
            operations - redone - repaired
        ),
    };
    let leftovers = if r.staging_removed > 0 {
        format!("; removed {} leftover staged item(s)", r.staging_removed)
    } else {
        String::new()
    };
    format!("recovered {}: {what}{leftovers}", dir.display())
}

fn print_plan(dir: &Path, plan: &DryRun) {
    match plan {
        DryRun::Nothing => println!("Nothing to recover in {}", dir.display()),
        DryRun::RollBack { txn_id, records } => println!(
            "Would roll back transaction {txn_id} ({records} records, never committed); the collection's files are untouched"
        ),
        DryRun::RollForward {
            txn_id,
            label,
            operations,
        } => {
            println!("Would roll forward transaction {txn_id} \"{label}\":");
            for o in operations {
                let action = match o.action {
                    "done" => "already done",
                    "redo" => "apply",
                    other => other,
                };
                println!("  {:<12} {:<12} {}", action, o.op, o.path);
            }
        }
    }
}

/// What a stale copy of skillwal's state is and what to do with it.
pub fn stale_text(s: &skillwal::skillmeat::state::Stale) -> String {
    let ids = match (s.copy_next_snapshot, s.state_next_snapshot) {
        (Some(c), Some(n)) if c < n => format!(
            " (it went back in time: its next snapshot would be {c}, the state in use is at {n})"
        ),
        _ => String::new(),
    };
    format!(
        "{} is an old copy of skillwal's state{ids}, probably brought back by the Python tool's rollback of a snapshot taken before skillwal kept its state in {}; skillwal ignores it. Remove it (`rm -r {}`) once you have looked",
        s.path.display(),
        s.state.display(),
        s.path.display()
    )
}

fn before_text(b: &skillwal::engine::inspect::BeforeView) -> String {
    use skillwal::engine::inspect::BeforeView;
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

fn record_line(index: u32, offset: u64, r: &RecordView) -> String {
    let body = match r {
        RecordView::Begin {
            label,
            time_unix_ms,
        } => format!("begin          \"{label}\" at {}", when(*time_unix_ms)),
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
        RecordView::TreeEntry {
            op,
            path,
            entry,
            mode,
            size,
            hash,
            content,
            target,
        } => {
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
        RecordView::DocumentDiff { document, changes } => {
            format!(
                "{:<14} {document} ({} fields)",
                diff_kind(document),
                changes.len()
            )
        }
        RecordView::Commit {
            records,
            operations,
            digest,
        } => {
            format!(
                "commit         {records} records, {operations} operations, digest {}",
                short(digest)
            )
        }
    };
    format!("  #{index:<3} @{offset:<8} {body}")
}

fn record_details(r: &RecordView) -> Vec<String> {
    match r {
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
}

fn name_in(records: Option<&mut Value>) {
    for r in records.and_then(Value::as_array_mut).into_iter().flatten() {
        if r["kind"] == "document-diff" {
            let kind = diff_kind(r["document"].as_str().unwrap_or(""));
            r["kind"] = Value::from(kind);
        }
    }
}
