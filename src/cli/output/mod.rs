//! Everything the CLI prints goes through here: human text on stdout, notes and errors on
//! stderr, or JSON (`--json`) on stdout. Standard output is written through [`Output::text`]
//! and [`Output::json`], which return the write's error ([`StdoutError`]) instead of
//! panicking as `println!` does; the caller decides what a closed pipe means (see
//! `exit.rs`). Nothing written to stderr can fail a command: it is the channel errors are
//! reported on.
//!
//! One file per group of commands, as in `commands/`: `collection.rs`, `artifacts.rs`,
//! `snapshots.rs`, `journal.rs`.

mod artifacts;
mod collection;
mod deploy;
mod history;
mod journal;
mod snapshots;

pub use artifacts::{CollectionUpdate, NotUpdated};

use super::advice;
use super::exit::{Exit, UsageError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use skillwal::engine::RecoveryReport;
use skillwal::error::Effect;
use skillwal::progress::{Progress, Silent};
use skillwal::skillmeat::format_timestamp;
use std::cell::RefCell;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use std::time::{Duration, UNIX_EPOCH};

/// Standard output could not be written. The command itself had done its work by then
/// (output comes last), so whatever it changed is changed.
#[derive(Debug, thiserror::Error)]
#[error("writing to standard output failed ({0}); the command itself ran to its end")]
pub struct StdoutError(#[source] pub io::Error);

/// What printing to stdout returns.
pub type Printed = Result<(), StdoutError>;

/// Where everything printed goes, and what every JSON document carries besides its own
/// fields (docs/json.md): `collection` and `collection_dir` (the collection the command
/// worked on; null when none) and `recovered` (what the automatic recovery at open did;
/// null when it had nothing to do).
pub struct Output {
    json: bool,
    /// The collection's name and directory, once the command knows them.
    collection: RefCell<Option<(String, PathBuf)>>,
    /// What recovery at open did, when it did something.
    recovered: RefCell<Option<Value>>,
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn when(ms: u64) -> String {
    format_timestamp(UNIX_EPOCH + Duration::from_millis(ms))
}

/// Writes one line on stderr. A failure to write there is ignored: stderr is where
/// failures are reported, so there is nowhere left to report it.
fn note_line(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Asks a yes/no question on the terminal (default: no).
pub fn ask(question: &str) -> bool {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut line = String::new();
    if io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes" | "Yes")
}

/// What to do with an artifact's local modifications, as answered at the update prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateAnswer {
    /// Overwrite them with the upstream version.
    Upstream,
    /// Keep them; the artifact is not updated.
    Local,
    /// Three-way merge with the upstream version.
    Merge,
    /// Show what overwriting would change, then ask again.
    Diff,
}

/// Reads one line of the terminal's answer; `None` at the end of input.
fn answer_line() -> Option<String> {
    let mut line = String::new();
    match io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_lowercase()),
    }
}

/// Asks what to do with `what`'s local modifications until the answer is one of the
/// choices (an answer that is none of them asks again); `None` at the end of input.
pub fn ask_update(what: &str) -> Option<UpdateAnswer> {
    let mut err = io::stderr().lock();
    let _ = write!(
        err,
        "{what} has local modifications. Overwrite them with the upstream version? [y/N]\n  \
         y  overwrite them with the upstream version (upstream)\n  \
         n  keep them; it is not updated (local)\n  \
         m  merge them with the upstream version, three-way (merge)\n  \
         d  show what overwriting would change, then ask again\n"
    );
    loop {
        let _ = write!(err, "{what}: [y/n/m/d] ");
        let _ = err.flush();
        match answer_line()?.as_str() {
            "y" | "yes" | "u" | "upstream" | "overwrite" => return Some(UpdateAnswer::Upstream),
            "n" | "no" | "l" | "local" | "keep" => return Some(UpdateAnswer::Local),
            "m" | "merge" => return Some(UpdateAnswer::Merge),
            "d" | "diff" => return Some(UpdateAnswer::Diff),
            other => {
                let _ = writeln!(
                    err,
                    "{other:?} is none of the answers: y (overwrite with upstream), n (keep local), m (merge), d (show the diff)"
                );
            }
        }
    }
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            collection: RefCell::new(None),
            recovered: RefCell::new(None),
        }
    }

    /// The collection the command works on (for `collection` and `collection_dir` in JSON).
    pub fn set_collection(&self, name: &str, dir: &Path) {
        *self.collection.borrow_mut() = Some((name.to_string(), dir.to_path_buf()));
    }

    pub fn set_json(&mut self, json: bool) {
        self.json = json;
    }

    /// Human text: `f` writes it to a buffered stdout, flushed at the end.
    fn text(&self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Printed {
        let mut w = io::BufWriter::new(io::stdout().lock());
        f(&mut w).and_then(|()| w.flush()).map_err(StdoutError)
    }

    /// One JSON document on stdout, with the fields every document has (a document's own
    /// `collection` wins: `list` reports the name its manifest records).
    fn json(&self, mut v: Value) -> Printed {
        if let Value::Object(m) = &mut v {
            let (name, dir) = match &*self.collection.borrow() {
                Some((n, d)) => (json!(n), json!(d)),
                None => (Value::Null, Value::Null),
            };
            m.entry("collection").or_insert(name);
            m.entry("collection_dir").or_insert(dir);
            m.insert("recovered".into(), self.recovered_value());
        }
        self.text(|w| {
            serde_json::to_writer_pretty(&mut *w, &v)?;
            writeln!(w)
        })
    }

    /// Bytes made elsewhere (a completion script, the man page), on stdout as they are.
    pub fn bytes(&self, bytes: &[u8]) -> Printed {
        self.text(|w| w.write_all(bytes))
    }

    /// A line of plain text on stdout (the demo's narration).
    pub fn line(&self, text: &str) -> Printed {
        self.text(|w| writeln!(w, "{text}"))
    }

    /// Prints the error of a failed command (`code` is what the process exits with).
    /// Nothing for a closed standard output: whoever closed it wants no more output, and
    /// the command ends quietly (exit code 0).
    pub fn error(&self, e: &anyhow::Error, code: Exit) {
        if super::exit::stdout_closed(e) {
            return;
        }
        if let Some(clap) = e.downcast_ref::<clap::Error>() {
            return self.usage_error(clap, code);
        }
        let usage = e.chain().any(|c| c.is::<UsageError>());
        let msg = advice::message(e);
        // Output is printed last: when printing failed, the command's change (if any) is
        // made.
        let printing_failed = e.chain().any(|c| c.is::<StdoutError>());
        let maybe_applied = printing_failed || advice::effect(e) == Effect::MaybeApplied;
        let note = if maybe_applied || usage || advice::says_unchanged(e) {
            None
        } else {
            Some("Nothing was changed.")
        };
        let hint = advice::hint(e);
        if self.json {
            let v = json!({
                "error": msg,
                "exit_code": code.code(),
                "changed": if maybe_applied { "maybe" } else { "no" },
                "hint": hint,
                "recovered": self.recovered_value(),
            });
            note_line(&serde_json::to_string_pretty(&v).unwrap_or_default());
            return;
        }
        note_line(&format!("error: {msg}"));
        if let Some(n) = note {
            note_line(n);
        }
        if let Some(h) = hint {
            note_line(h);
        }
    }

    /// clap's usage error: its own rendering (usage, tips, colours on a terminal), or with
    /// `--json` the error object every other error gets, the tips as its hint.
    fn usage_error(&self, e: &clap::Error, code: Exit) {
        if !self.json {
            let _ = e.print();
            return;
        }
        let text = e.render().to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or("usage error");
        let msg = first.strip_prefix("error: ").unwrap_or(first);
        // The rest of clap's text (tips, possible values, usage), without the pointer to
        // --help, which the hint gives when there is nothing else.
        let tips: Vec<&str> = lines
            .filter(|l| !l.starts_with("For more information"))
            .map(|l| l.strip_prefix("tip: ").unwrap_or(l))
            .collect();
        let hint = if tips.is_empty() {
            "`skillwal --help` shows the usage".to_string()
        } else {
            tips.join("; ")
        };
        let v = json!({
            "error": msg,
            "exit_code": code.code(),
            "changed": "no",
            "hint": hint,
            "recovered": Value::Null,
        });
        note_line(&serde_json::to_string_pretty(&v).unwrap_or_default());
    }

    pub fn note(&self, msg: &str) {
        note_line(&format!("skillwal: {msg}"));
    }

    pub fn waiting(&self, dir: &Path, holder: Option<&str>) {
        note_line(&format!(
            "skillwal: {} is in use by another skillwal process{}; waiting for it (--no-wait fails at once instead)",
            dir.display(),
            holder.map(|h| format!(" ({h})")).unwrap_or_default()
        ));
    }

    /// A warning on stderr about a stale copy of skillwal's state inside the collection
    /// (`verify` reports it as a problem too).
    pub fn stale_state(&self, stale: &skillwal::skillmeat::state::Stale) {
        note_line(&format!("skillwal: warning: {}", stale_text(stale)));
    }

    /// One line on stderr when recovery had something to do; with `--json`, the same in the
    /// document's `recovered` field too.
    pub fn recovered(&self, dir: &Path, r: &RecoveryReport) {
        if r.did_something() {
            let line = journal::recovery_line(dir, r);
            note_line(&format!("skillwal: {line}"));
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("collection_dir".into(), json!(dir));
                m.insert("message".into(), json!(line));
            }
            *self.recovered.borrow_mut() = Some(v);
        }
    }

    fn recovered_value(&self) -> Value {
        self.recovered.borrow().clone().unwrap_or(Value::Null)
    }

    /// Whether progress is drawn: on a terminal, without `--json`.
    fn shows_progress(&self) -> bool {
        !self.json && io::stderr().is_terminal()
    }

    /// Where the library reports long work ([`Collection::set_progress`]): a bar on stderr
    /// when [`Output::shows_progress`], else nothing.
    ///
    /// [`Collection::set_progress`]: skillwal::skillmeat::collection::Collection::set_progress
    pub fn reporter(&self) -> Arc<dyn Progress> {
        if self.shows_progress() {
            Arc::new(Bars::new())
        } else {
            Arc::new(Silent)
        }
    }

    /// A spinner on stderr (only on a terminal, without `--json`) around `f`.
    pub fn spinner<T>(&self, msg: &str, f: impl FnOnce() -> T) -> T {
        let pb = if self.shows_progress() {
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

    /// A progress bar on stderr (only on a terminal, without `--json`, and only for more
    /// than one item).
    pub fn progress(&self, len: u64, msg: &str) -> ProgressBar {
        if len < 2 || !self.shows_progress() {
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
}

/// The library's progress as bars on stderr. A stage's bar is drawn only once the stage has
/// lasted `quiet_for` (300 ms, or `SKILLWAL_PROGRESS_DELAY_MS`), so that quick work draws
/// nothing, and is cleared when the stage ends. Stages nest: the innermost one is drawn and
/// advanced.
struct Bars {
    quiet_for: Duration,
    stages: Mutex<Vec<(ProgressBar, Instant, bool)>>,
}

impl Bars {
    fn new() -> Bars {
        let ms = std::env::var("SKILLWAL_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        Bars {
            quiet_for: Duration::from_millis(ms),
            stages: Mutex::new(Vec::new()),
        }
    }
}

impl Progress for Bars {
    fn begin(&self, what: &str, total: Option<u64>, bytes: bool) {
        let pb = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden()),
            None => ProgressBar::hidden(),
        };
        let template = if bytes {
            "{bar:30} {bytes}/{total_bytes} {msg}"
        } else {
            "{bar:30} {pos}/{len} {msg}"
        };
        pb.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message(what.to_string());
        if let Ok(mut stages) = self.stages.lock() {
            stages.push((pb, Instant::now(), false));
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(mut stages) = self.stages.lock()
            && let Some((pb, since, shown)) = stages.last_mut()
        {
            if !*shown && since.elapsed() >= self.quiet_for {
                pb.set_draw_target(ProgressDrawTarget::stderr());
                *shown = true;
            }
            pb.inc(n);
        }
    }

    fn end(&self) {
        if let Ok(mut stages) = self.stages.lock()
            && let Some((pb, ..)) = stages.pop()
        {
            pb.finish_and_clear();
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

/// `text` as one shell word (quoted when it needs to be), for commands the user can paste.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-=:@%+,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
