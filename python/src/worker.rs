//! The thread that owns an open root's engine.
//!
//! A [`skillwal::Transaction`] borrows its engine until it commits, but a Python object
//! cannot hold a borrow: its life is the garbage collector's. So each open root gets one
//! thread that opens the engine, owns it and every transaction begun on it, and runs what
//! the Python objects send it, one message at a time, in order. The caller waits for the
//! answer with the GIL released (`Python::detach`), so other Python threads run during the
//! engine's I/O and the thread itself may take the GIL to read from a Python file object.
//!
//! This module knows nothing of Python: it is a message loop over the engine's own API.

use skillwal::fs::FileSystem;
use skillwal::{CommitReport, Engine, Layout, OpenOptions, RecoveryReport, Transaction};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

/// Work on the open engine, outside a transaction.
pub type EngineJob = Box<dyn FnOnce(&mut Engine) + Send>;
/// Work on the open transaction (staging).
pub type TxnJob = Box<dyn for<'a, 'e> FnOnce(&'a mut Transaction<'e>) + Send>;

/// How a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `commit`: durable on return through the journal; applied.
    Commit,
    /// `commit_durable`: also checkpointed (every change durable in place, journal retired).
    CommitDurable,
    /// Abort: nothing changes.
    Abort,
}

/// A message to the engine's thread. Each carries its own reply channel; a message that
/// does not fit the thread's state (a staging job with no transaction open) is dropped
/// unrun, which the sender sees as a closed reply channel.
pub enum Msg {
    /// Run a job on the engine (no transaction open).
    Engine(EngineJob),
    /// Begin a transaction.
    Begin {
        label: String,
        reply: SyncSender<skillwal::Result<()>>,
    },
    /// Run a staging job on the open transaction.
    Stage(TxnJob),
    /// End the open transaction.
    End {
        how: End,
        reply: SyncSender<skillwal::Result<Option<CommitReport>>>,
    },
    /// Close the engine (checkpoint, unlock) and stop the thread.
    Close(SyncSender<skillwal::Result<()>>),
}

/// The engine's thread, as its owner sees it.
pub struct Worker {
    pub tx: Sender<Msg>,
    pub thread: JoinHandle<()>,
}

/// Starts a thread that opens the root of `layout` on `fs` and then serves messages. Returns once the
/// open (and its recovery) is done: the worker and the recovery report, or the open's error
/// (the thread has then ended).
pub fn start(
    fs: Arc<dyn FileSystem>,
    layout: Layout,
    opts: OpenOptions,
) -> skillwal::Result<(Worker, RecoveryReport)> {
    let (tx, rx) = channel::<Msg>();
    let (opened_tx, opened_rx) = sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("skillwal-engine".into())
        .spawn(move || match Engine::open_layout(fs, &layout, &opts) {
            Ok(engine) => {
                let _ = opened_tx.send(Ok(engine.recovery_report().clone()));
                serve(engine, rx);
            }
            Err(e) => {
                let _ = opened_tx.send(Err(e));
            }
        })
        .map_err(|e| skillwal::Error::Io(skillwal::error::IoError::new("spawn thread", "", e)))?;
    let report = opened_rx
        .recv()
        .expect("the engine's thread answers the open before anything else")?;
    Ok((Worker { tx, thread }, report))
}

/// The message loop: until `Close`, or until every sender is gone (the Python root object
/// was collected), when the engine is dropped (no I/O; the next open checkpoints).
fn serve(mut engine: Engine, rx: Receiver<Msg>) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Engine(job) => job(&mut engine),
            Msg::Begin { label, reply } => match engine.begin(&label) {
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
                Ok(txn) => {
                    let _ = reply.send(Ok(()));
                    if !serve_transaction(txn, &rx) {
                        return;
                    }
                }
            },
            Msg::Close(reply) => {
                let _ = reply.send(engine.close());
                return;
            }
            // No transaction is open: dropped unrun (the sender sees its reply channel
            // closed).
            Msg::Stage(_) | Msg::End { .. } => {}
        }
    }
}

/// Serves one transaction until it ends. Returns whether the loop should go on: `false`
/// when the senders are gone (the transaction is dropped, which aborts it).
fn serve_transaction(mut txn: Transaction<'_>, rx: &Receiver<Msg>) -> bool {
    loop {
        let Ok(msg) = rx.recv() else { return false };
        match msg {
            Msg::Stage(job) => job(&mut txn),
            Msg::End { how, reply } => {
                let r = match how {
                    End::Commit => txn.commit().map(Some),
                    End::CommitDurable => txn.commit_durable().map(Some),
                    End::Abort => txn.abort().map(|()| None),
                };
                let _ = reply.send(r);
                return true;
            }
            // The Python side never sends these while a transaction is open; dropped unrun.
            Msg::Engine(_) | Msg::Begin { .. } | Msg::Close(_) => {}
        }
    }
}
