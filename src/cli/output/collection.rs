//! Output of the commands on the collection as a whole: init, list, show, status, verify.

use super::{Output, Printed, short, stale_text};
use crate::cli::commands::Target;
use serde_json::{Value, json};
use skillwal::skillmeat::collection::{ArtifactStatus, FileState, VerifyReport};
use skillwal::skillmeat::home::ConfigChange;
use skillwal::skillmeat::{Artifact, Lock, LockEntry, Manifest};
use std::io::{self, Write};
use std::path::Path;

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

/// The `list` table: NAME, TYPE, ORIGIN, VERSION, REF.
fn list_table(w: &mut dyn Write, m: &Manifest) -> io::Result<()> {
    let nw = m
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
    writeln!(
        w,
        "{:<nw$}  {:<7}  {:<11}  {:<vw$}  REF",
        "NAME", "TYPE", "ORIGIN", "VERSION"
    )?;
    for (a, version) in m.artifacts.iter().zip(&versions) {
        let reference = a
            .resolved_version
            .as_deref()
            .or(a.resolved_sha.as_deref().map(short))
            .or(a.version_spec.as_deref())
            .unwrap_or("-");
        writeln!(
            w,
            "{:<nw$}  {:<7}  {:<11}  {version:<vw$}  {reference}",
            a.name,
            a.artifact_type.as_str(),
            a.origin.as_str()
        )?;
    }
    Ok(())
}

/// The state `show` gives an artifact's files.
fn files_state(disk: Option<&str>, e: Option<&LockEntry>) -> &'static str {
    match (disk, e) {
        (None, _) => "missing",
        (_, None) => "unlocked",
        (Some(d), Some(e)) if d == e.content_hash => "ok",
        _ => "modified",
    }
}

impl Output {
    pub fn initialized(&self, t: &Target, config: Option<ConfigChange>) -> Printed {
        if self.json {
            return self.json(json!({"path": t.dir, "config": config}));
        }
        self.text(|w| {
            writeln!(w, "Created collection {} at {}", t.name, t.dir.display())?;
            match (config, &t.home) {
                (Some(ConfigChange::Created), Some(h)) => {
                    writeln!(w, "Created {}", h.config_path().display())
                }
                (Some(ConfigChange::SetDefault), Some(h)) => writeln!(
                    w,
                    "Set default-collection = \"{}\" in {}",
                    t.name,
                    h.config_path().display()
                ),
                _ => Ok(()),
            }
        })
    }

    pub fn list(&self, t: &Target, m: &Manifest, l: &Lock) -> Printed {
        if self.json {
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
            return self
                .json(json!({"collection": m.collection.name, "path": t.dir, "artifacts": rows}));
        }
        self.text(|w| {
            if m.artifacts.is_empty() {
                return writeln!(
                    w,
                    "Collection {} is empty ({})",
                    m.collection.name,
                    t.dir.display()
                );
            }
            list_table(w, m)
        })
    }

    pub fn show(
        &self,
        dir: &Path,
        a: &Artifact,
        e: Option<&LockEntry>,
        disk: Option<&str>,
    ) -> Printed {
        let state = files_state(disk, e);
        let path = dir.join(&a.path);
        if self.json {
            let metadata = serde_json::to_value(&a.metadata).unwrap_or(Value::Null);
            return self.json(json!({
                "name": a.name, "type": a.artifact_type.as_str(), "path": path, "origin": a.origin.as_str(),
                "added": a.added, "upstream": a.upstream, "version_spec": a.version_spec,
                "resolved_sha": a.resolved_sha, "resolved_version": a.resolved_version,
                "last_updated": a.last_updated, "tags": a.tags, "metadata": metadata, "skillwal": a.extra,
                "lock": e.map(|e| json!({"content_hash": e.content_hash, "fetched": e.fetched,
                    "upstream": e.upstream, "resolved_sha": e.resolved_sha, "resolved_version": e.resolved_version})),
                "files": state, "disk_hash": disk,
            }));
        }
        self.text(|w| {
            writeln!(w, "{} {}", a.artifact_type, a.name)?;
            let mut field = |k: &str, v: Option<&str>| match v {
                Some(v) => writeln!(w, "  {k:<17} {v}"),
                None => Ok(()),
            };
            field("path", Some(&path.display().to_string()))?;
            field("origin", Some(a.origin.as_str()))?;
            field("added", Some(&a.added))?;
            field("upstream", a.upstream.as_deref())?;
            field("version_spec", a.version_spec.as_deref())?;
            field("resolved_sha", a.resolved_sha.as_deref())?;
            field("resolved_version", a.resolved_version.as_deref())?;
            field("last_updated", a.last_updated.as_deref())?;
            if !a.tags.is_empty() {
                field("tags", Some(&a.tags.join(", ")))?;
            }
            for (k, v) in &a.metadata {
                field(&format!("metadata.{k}"), Some(&v.to_string()))?;
            }
            for (k, v) in &a.extra {
                field(k, Some(v))?;
            }
            field("lock.content_hash", e.map(|e| e.content_hash.as_str()))?;
            field("lock.fetched", e.map(|e| e.fetched.as_str()))?;
            field("files", Some(state))
        })
    }

    pub fn status(&self, t: &Target, s: &[ArtifactStatus]) -> Printed {
        if self.json {
            return self.json(json!({"artifacts": s}));
        }
        self.text(|w| {
            if s.is_empty() {
                return writeln!(w, "Collection {} is empty", t.name);
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
                writeln!(w, "{:<7} {}: {state}{update}", a.ty, a.name)?;
                for why in &a.reasons {
                    writeln!(w, "          {why}")?;
                }
            }
            Ok(())
        })
    }

    pub fn verify(&self, r: &VerifyReport) -> Printed {
        if self.json {
            return self.json(json!({"clean": r.is_clean(), "report": r}));
        }
        self.text(|w| verify_text(w, r))
    }
}

fn verify_text(w: &mut dyn Write, r: &VerifyReport) -> io::Result<()> {
    for key in &r.modified {
        writeln!(w, "{:<9} {key}", "modified")?;
        for why in r.reasons.get(key).into_iter().flatten() {
            writeln!(w, "          {why}")?;
        }
    }
    for (label, items) in [
        ("missing", &r.missing),
        ("unlocked", &r.unlocked),
        ("stale", &r.stale_lock_entries),
        ("extra", &r.extra),
        ("unreadable", &r.unreadable),
    ] {
        for i in items {
            writeln!(w, "{label:<9} {i}")?;
        }
    }
    if let Some(stale) = &r.stale_state {
        writeln!(w, "{:<9} {}", "stale", stale_text(stale))?;
    }
    if r.is_clean() {
        return writeln!(w, "All {} artifacts match the lock", r.checked);
    }
    writeln!(
        w,
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
    )
}
