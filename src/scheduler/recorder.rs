//! Group commit: every store write of the scheduler goes through one task
//! that gathers what is queued and commits it in one transaction, so
//! thousands of runs a second cost a handful of commits.
//!
//! Claims (and releases of claimed slots) have a queue of their own and go
//! first. A run cannot start before its slot is claimed, while starts,
//! finishes and log lines only have to land eventually; in one queue, the
//! slots of the next second waited behind the writes of the previous one.
//! The loop puts slot operations on that queue without waiting, in order,
//! and they are applied in that order: a slot released and then claimed
//! again is free when the claim comes.

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

/// Slot operations taken off the queue at once. Each is a batch already
/// (all the slots of one turn of the loop).
const SLOT_OPS: usize = 1_024;

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

/// Gets the answer to a claim.
type Answer = Box<dyn FnOnce(ClaimResult) + Send>;

/// A change to who holds which slots.
enum SlotOp {
    /// Insert runs under the unique (job, slot) constraint: claims, or
    /// skipped entries when nobody waits for the answer.
    Claim(Vec<NewRun>, Option<Answer>),
    /// Give back claimed runs that never started.
    Release(Vec<RunId>),
}

/// The sending side of the recorder. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    writes: mpsc::Sender<Request>,
    // Unbounded so the loop never waits to queue a slot operation: there is
    // about one a turn, and each turn is bounded by the jobs it fires.
    slots: mpsc::UnboundedSender<SlotOp>,
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

    /// Claim slots, all in one transaction; `answer` gets the result, in
    /// the order of `runs` (at once, with an error, if the recorder stopped).
    pub fn claim(&self, runs: Vec<NewRun>, answer: impl FnOnce(ClaimResult) + Send + 'static) {
        if let Err(mpsc::error::SendError(SlotOp::Claim(_, Some(answer)))) =
            self.slots.send(SlotOp::Claim(runs, Some(Box::new(answer))))
        {
            answer(Err("the recorder stopped".to_string()));
        }
    }

    /// Give back claimed runs that never started (see
    /// [`Store::release_slots`]).
    pub fn release(&self, run_ids: Vec<RunId>) {
        if !run_ids.is_empty() {
            let _ = self.slots.send(SlotOp::Release(run_ids));
        }
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
    pub fn record(&self, runs: Vec<NewRun>) {
        if !runs.is_empty() {
            let _ = self.slots.send(SlotOp::Claim(runs, None));
        }
    }
}

/// Start the recorder; it stops when every sender is dropped, after
/// committing what was queued.
pub fn spawn(store: Store) -> (Recorder, JoinHandle<()>) {
    let (writes, writes_rx) = mpsc::channel(QUEUE);
    let (slots, slots_rx) = mpsc::unbounded_channel();
    let (committed, commits) = watch::channel(0);
    let task = tokio::spawn(run(store, writes_rx, slots_rx, committed));
    let recorder = Recorder {
        writes,
        slots,
        commits,
    };
    (recorder, task)
}

async fn run(
    store: Store,
    mut writes: mpsc::Receiver<Request>,
    mut slots: mpsc::UnboundedReceiver<SlotOp>,
    committed: watch::Sender<u64>,
) {
    let mut requests = Vec::with_capacity(MAX_BATCH);
    let mut pending = Vec::new();
    let (mut writes_open, mut slots_open) = (true, true);
    loop {
        while let Ok(op) = slots.try_recv() {
            pending.push(op);
        }
        if !pending.is_empty() {
            commit_slots(&store, &mut pending).await;
            committed.send_modify(|n| *n += 1);
            continue;
        }
        requests.clear();
        tokio::select! {
            biased;
            n = slots.recv_many(&mut pending, SLOT_OPS), if slots_open => {
                slots_open = n > 0;
            }
            n = writes.recv_many(&mut requests, MAX_BATCH), if writes_open => {
                if n == 0 {
                    writes_open = false;
                    continue;
                }
                // Slot operations queued before a Flush must be committed
                // before it is answered; and they go first anyway.
                while let Ok(op) = slots.try_recv() {
                    pending.push(op);
                }
                if !pending.is_empty() {
                    commit_slots(&store, &mut pending).await;
                }
                commit(&store, std::mem::take(&mut requests)).await;
                committed.send_modify(|n| *n += 1);
            }
            else => return,
        }
    }
}

/// Applies the pending slot operations in order: consecutive claims
/// together, at most [`MAX_BATCH`] runs per transaction.
async fn commit_slots(store: &Store, pending: &mut Vec<SlotOp>) {
    let mut ops = std::mem::take(pending).into_iter().peekable();
    while let Some(op) = ops.next() {
        let (first, answer) = match op {
            SlotOp::Release(ids) => {
                if let Err(e) = store.release_slots(&ids).await {
                    // The runs stay queued; recovery interrupts them once
                    // this instance is gone, which is all that is lost.
                    tracing::error!("giving back {} claimed slot(s) failed: {e}", ids.len());
                }
                continue;
            }
            SlotOp::Claim(runs, answer) => (runs, answer),
        };
        let mut runs = first;
        let mut answers = vec![(runs.len(), answer)];
        while let Some(SlotOp::Claim(more, _)) = ops.peek() {
            if runs.len() + more.len() > MAX_BATCH {
                break;
            }
            if let Some(SlotOp::Claim(more, answer)) = ops.next() {
                answers.push((more.len(), answer));
                runs.extend(more);
            }
        }
        let result = store.claim_slots(&runs).await.map_err(|e| e.to_string());
        let mut ids = result.as_ref().map(|ids| ids.iter().copied());
        for (count, answer) in answers {
            let part = match &mut ids {
                Ok(ids) => Ok(ids.by_ref().take(count).collect()),
                // One failed transaction fails every claim in it.
                Err(e) => Err(e.to_string()),
            };
            if let Some(answer) = answer {
                answer(part);
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
