//! Progress of long work, reported to whoever shows it: the library never prints, so a long
//! operation (hashing a large collection for its first snapshot, copying a large source,
//! `gc`, `verify`) tells a [`Progress`] what it is doing, and the CLI draws a bar on a
//! terminal. Reporting is best effort and never changes what the operation does.

/// Receives the progress of long work: stages, each of a known or unknown number of units.
pub trait Progress: Send + Sync {
    /// A stage named `what` ("hashing files", "copying", ...) of `total` units begins
    /// (`None`: not known); `bytes`: the units are bytes, not items.
    fn begin(&self, what: &str, total: Option<u64>, bytes: bool);
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is over (done or failed).
    fn end(&self);
}

/// Reports nothing: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _what: &str, _total: Option<u64>, _bytes: bool) {}
    fn advance(&self, _n: u64) {}
    fn end(&self) {}
}

/// A stage of `progress` that ends when dropped, also on an early return with an error.
pub struct Stage<'a> {
    progress: &'a dyn Progress,
}

impl<'a> Stage<'a> {
    /// Begins the stage `what` of `total` units on `progress`.
    pub fn begin(progress: &'a dyn Progress, what: &str, total: Option<u64>, bytes: bool) -> Self {
        progress.begin(what, total, bytes);
        Stage { progress }
    }

    /// `n` more units done.
    pub fn advance(&self, n: u64) {
        self.progress.advance(n);
    }
}

impl Drop for Stage<'_> {
    fn drop(&mut self) {
        self.progress.end();
    }
}
