//! Group commit: every store write of the scheduler goes through one task
//! that gathers what is queued and commits it in one transaction, so
//! thousands of runs a second cost a handful of commits.
//!
//! Claims have a queue of their own and go first. A run cannot start before
//! its slot is claimed, so the wait for the claim is most of a run's start
//! latency; starts, finishes and log lines only have to land eventually. In
//! one queue, the slots of the next second waited behind the writes of the
//! previous one.

use std::time::Duration;

use tokio::sync::mpsc::error::SendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::store::{NewRun, RunId, RunWrite, Store};

/// Queue depth. Run lines use `try_send` and are counted as dropped when it
/// is full; lifecycle writes wait for room.
pub const QUEUE: usize = 65_536;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 4_096;

/// Claim requests are batches already (all the slots of one wake-up of the
/// scheduler); a few hundred of them is more than a second's worth.
const CLAIM_QUEUE: usize = 1_024;

/// The answer to a claim: per run, its id, or `None` when another instance
/// has the slot or the job is gone.
pub type ClaimResult = Result<Vec<Option<RunId>>, String>;

/// A request to the recorder.
pub enum Request {
    /// Insert a run without a slot (manual, retry).
    Insert(NewRun, oneshot::Sender<Result<RunId, String>>),
    /// A lifecycle change or a log line.
    Write(RunWrite),
    /// Answer once everything queued before this, claims included, is
    /// committed.
    Flush(oneshot::Sender<()>),
}

/// Slots to claim (or skipped entries to record) in one go.
struct Claims {
    runs: Vec<NewRun>,
    reply: Option<oneshot::Sender<ClaimResult>>,
}

/// The sending side of the recorder. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    writes: mpsc::Sender<Request>,
    claims: mpsc::Sender<Claims>,
    commits: watch::Receiver<u64>,
}

impl Recorder {
    /// Queue a request, waiting for room.
    pub async fn send(&self, request: Request) -> Result<(), SendError<Request>> {
        self.writes.send(request).await
    }

    /// Queue a request if there is room; `false` if there was none.
    pub fn try_send(&self, request: Request) -> bool {
        self.writes.try_send(request).is_ok()
    }

    /// Claim slots, all in one transaction; the answer comes in the order
    /// of `runs`.
    pub async fn claim(&self, runs: Vec<NewRun>) -> ClaimResult {
        let stopped = || "the recorder stopped".to_string();
        let (reply, answer) = oneshot::channel();
        self.claims
            .send(Claims {
                runs,
                reply: Some(reply),
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Wait until everything queued so far is committed (at once if the
    /// recorder has stopped).
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.send(Request::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Counts the recorder's commits: housekeeping checkpoints SQLite's log
    /// only when something was written since it last did.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.clone()
    }

    /// Record entries (skipped slots) whose ids nobody waits for.
    pub async fn record(&self, runs: Vec<NewRun>) {
        let _ = self.claims.send(Claims { runs, reply: None }).await;
    }
}

/// Start the recorder; it stops when every sender is dropped, after
/// committing what was queued.
pub fn spawn(store: Store) -> (Recorder, JoinHandle<()>) {
    let (writes, writes_rx) = mpsc::channel(QUEUE);
    let (claims, claims_rx) = mpsc::channel(CLAIM_QUEUE);
    let (committed, commits) = watch::channel(0);
    let task = tokio::spawn(run(store, writes_rx, claims_rx, committed));
    let recorder = Recorder {
        writes,
        claims,
        commits,
    };
    (recorder, task)
}

async fn run(
    store: Store,
    mut writes: mpsc::Receiver<Request>,
    mut claims: mpsc::Receiver<Claims>,
    committed: watch::Sender<u64>,
) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    let mut pending = Vec::new();
    let (mut writes_open, mut claims_open) = (true, true);
    loop {
        while let Ok(batch) = claims.try_recv() {
            pending.push(batch);
        }
        if !pending.is_empty() {
            commit_claims(&store, &mut pending).await;
            committed.send_modify(|n| *n += 1);
            continue;
        }
        requests.clear();
        tokio::select! {
            biased;
            n = claims.recv_many(&mut pending, CLAIM_QUEUE), if claims_open => {
                claims_open = n > 0;
            }
            n = writes.recv_many(&mut requests, MAX_BATCH), if writes_open => {
                if n == 0 {
                    writes_open = false;
                    continue;
                }
                // Claims queued before a Flush must be committed before it
                // is answered; and they go first anyway.
                while let Ok(batch) = claims.try_recv() {
                    pending.push(batch);
                }
                if !pending.is_empty() {
                    commit_claims(&store, &mut pending).await;
                }
                commit(&store, std::mem::take(&mut requests)).await;
                committed.send_modify(|n| *n += 1);
            }
            else => return,
        }
    }
}

/// Claims every pending batch, at most [`MAX_BATCH`] runs per transaction.
async fn commit_claims(store: &Store, pending: &mut Vec<Claims>) {
    let mut batches = std::mem::take(pending).into_iter().peekable();
    while batches.peek().is_some() {
        let mut runs = Vec::new();
        let mut replies = Vec::new();
        while let Some(batch) =
            batches.next_if(|b| runs.is_empty() || runs.len() + b.runs.len() <= MAX_BATCH)
        {
            replies.push((batch.runs.len(), batch.reply));
            runs.extend(batch.runs);
        }
        let result = store.claim_slots(&runs).await.map_err(|e| e.to_string());
        let mut ids = result.as_ref().map(|ids| ids.iter().copied());
        for (count, reply) in replies {
            let answer = match &mut ids {
                Ok(ids) => Ok(ids.by_ref().take(count).collect()),
                // One failed transaction fails every claim in it.
                Err(e) => Err(e.to_string()),
            };
            if let Some(reply) = reply {
                let _ = reply.send(answer);
            }
        }
    }
}

async fn commit(store: &Store, requests: Vec<Request>) {
    let mut writes = Vec::new();
    let mut flushes = Vec::new();
    for request in requests {
        match request {
            Request::Insert(run, reply) => {
                let _ = reply.send(store.insert_run(&run).await.map_err(|e| e.to_string()));
            }
            Request::Write(write) => writes.push(write),
            Request::Flush(reply) => flushes.push(reply),
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
