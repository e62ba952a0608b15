//! Group commit: every store write of the scheduler goes through one task
//! that gathers what is queued and commits it in one transaction, so
//! thousands of runs a second cost a handful of commits.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::store::{NewRun, RunId, RunWrite, Store};

/// Queue depth. Run lines use `try_send` and are counted as dropped when it
/// is full; lifecycle writes wait for room.
pub const QUEUE: usize = 65_536;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 4_096;

/// A request to the recorder.
pub enum Request {
    /// Claim a slot; the answer is `None` when another instance has it.
    Claim(NewRun, oneshot::Sender<Result<Option<RunId>, String>>),
    /// Insert a run without a slot (manual, retry).
    Insert(NewRun, oneshot::Sender<Result<RunId, String>>),
    /// A lifecycle change or a log line.
    Write(RunWrite),
    /// Answer once everything queued before this is committed.
    Flush(oneshot::Sender<()>),
}

/// Start the recorder; it stops when every sender is dropped, after
/// committing what was queued.
pub fn spawn(store: Store) -> (mpsc::Sender<Request>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(run(store, rx));
    (tx, task)
}

async fn run(store: Store, mut rx: mpsc::Receiver<Request>) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    loop {
        requests.clear();
        if rx.recv_many(&mut requests, MAX_BATCH).await == 0 {
            return;
        }
        commit(&store, std::mem::take(&mut requests)).await;
    }
}

async fn commit(store: &Store, requests: Vec<Request>) {
    let mut claims = Vec::new();
    let mut claim_replies = Vec::new();
    let mut writes = Vec::new();
    let mut flushes = Vec::new();
    for request in requests {
        match request {
            Request::Claim(run, reply) => {
                claims.push(run);
                claim_replies.push(reply);
            }
            Request::Insert(run, reply) => {
                let _ = reply.send(store.insert_run(&run).await.map_err(|e| e.to_string()));
            }
            Request::Write(write) => writes.push(write),
            Request::Flush(reply) => flushes.push(reply),
        }
    }
    if !claims.is_empty() {
        match store.claim_slots(&claims).await {
            Ok(ids) => {
                for (reply, id) in claim_replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(e) => {
                // One failed transaction fails every claim in it.
                let message = e.to_string();
                for reply in claim_replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
    if !writes.is_empty() {
        write_with_retry(store, &writes).await;
    }
    for flush in flushes {
        let _ = flush.send(());
    }
}

/// A run's record must not be lost to a busy database: retry with backoff,
/// saying so, until the store takes it.
async fn write_with_retry(store: &Store, writes: &[RunWrite]) {
    let mut wait = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match store.write_batch(writes).await {
            Ok(()) => return,
            Err(e) => {
                tries += 1;
                if tries == 1 || tries % 10 == 0 {
                    tracing::error!(
                        "recording {} run updates failed (try {tries}), retrying: {e}",
                        writes.len()
                    );
                }
                if tries >= 100 {
                    tracing::error!(
                        "giving up on {} run updates after {tries} tries: {e}",
                        writes.len()
                    );
                    return;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}
