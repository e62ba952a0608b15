//! Group commit: every store write of the scheduler goes through one task
//! that gathers what is queued and commits it in one transaction, so
//! thousands of runs a second cost a handful of commits.
//!
//! Queue operations (putting slots in the run queue, taking due runs) have a
//! queue of their own and go first. A run cannot start before it is taken,
//! while starts, finishes and log lines only have to land eventually; in one
//! queue, the slots of the next second waited behind the writes of the
//! previous one. The loop puts queue operations on that queue without
//! waiting, and they are applied in order: a slot is in the store before
//! the take that looks for it. A take does wait for the writes already
//! queued: its overlap decisions read which runs are still running.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::error::SendError;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::Internal;
use super::overlap;
use crate::store::{
    MissedSlots, NewPlan, NewRun, Partition, RunId, RunWrite, Store, TakeRequest, Taken,
};

/// Queue depth. Run lines use `try_send` and are counted as dropped when it
/// is full; lifecycle writes wait for room.
pub const QUEUE: usize = 65_536;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 4_096;

/// Queue operations taken off their queue at once.
const SLOT_OPS: usize = 1_024;

/// A request to the recorder.
pub enum Request {
    /// Insert a run without a slot (manual, retry).
    Insert(NewRun, oneshot::Sender<Result<RunId, String>>),
    /// A lifecycle change or a log line.
    Write(RunWrite),
    /// Answer once everything queued before this, queue operations
    /// included, is committed.
    Flush(oneshot::Sender<()>),
}

/// A look at the run queue, on behalf of the loop.
pub struct Take {
    /// This instance.
    pub instance_id: String,
    /// The time of the look.
    pub now: chrono::DateTime<chrono::Utc>,
    /// This instance's share.
    pub partition: Partition,
    /// Other shares' rows due before this are taken too.
    pub steal_before: chrono::DateTime<chrono::Utc>,
    /// The jobs this instance knows, with their rules.
    pub rules: Arc<super::Rules>,
    /// The capacity to start runs: one permit per run that may start.
    pub permits: Option<OwnedSemaphorePermit>,
}

/// A change to the run queue.
enum SlotOp {
    /// Put slots (or entries for skipped ones) in the store.
    Enqueue(Vec<NewRun>),
    /// Record missed slots that will not run.
    Missed(Vec<MissedSlots>),
    /// Keep missed slots as plans awaiting approval.
    Ask(Vec<AskPlan>),
    /// Take due runs; the answer goes back to the loop.
    Take(Take),
}

/// Missed slots of a job to keep as a plan awaiting approval
/// (`catch_up = "ask"`).
pub struct AskPlan {
    /// The job's name, for the log line.
    pub job: String,
    /// The plan.
    pub plan: NewPlan,
}

/// The sending side of the recorder. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    writes: mpsc::Sender<Request>,
    // Unbounded so the loop never waits to queue a slot operation: there are
    // a few a turn, and each turn is bounded by the jobs it fires.
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

    /// Put slots in the run queue, or record entries for skipped slots.
    /// Idempotent, so it is retried until the store takes it.
    pub fn enqueue(&self, runs: Vec<NewRun>) {
        if !runs.is_empty() {
            let _ = self.slots.send(SlotOp::Enqueue(runs));
        }
    }

    /// Record missed slots that will not run (see [`Store::skip_missed`]).
    pub fn missed(&self, spans: Vec<MissedSlots>) {
        if !spans.is_empty() {
            let _ = self.slots.send(SlotOp::Missed(spans));
        }
    }

    /// Keep missed slots as plans awaiting approval (see
    /// [`Store::record_catchup_plan`]), and log each with how to approve it.
    pub fn ask(&self, plans: Vec<AskPlan>) {
        if !plans.is_empty() {
            let _ = self.slots.send(SlotOp::Ask(plans));
        }
    }

    /// Take due runs; the answer comes back to the loop as
    /// [`Internal::Taken`] (at once, with an error, if the recorder stopped).
    pub fn take(&self, take: Take, internal: &mpsc::UnboundedSender<Internal>) {
        if let Err(mpsc::error::SendError(SlotOp::Take(take))) = self.slots.send(SlotOp::Take(take))
        {
            let _ = internal.send(Internal::Taken {
                result: Err("the recorder stopped".to_string()),
                permits: take.permits,
            });
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
}

/// Start the recorder; it stops when every sender is dropped, after
/// committing what was queued. Answers to takes, and news that runs waiting
/// for others were woken, go to `internal`.
pub fn spawn(
    store: Store,
    internal: Option<mpsc::UnboundedSender<Internal>>,
) -> (Recorder, JoinHandle<()>) {
    let (writes, writes_rx) = mpsc::channel(QUEUE);
    let (slots, slots_rx) = mpsc::unbounded_channel();
    let (committed, commits) = watch::channel(0);
    let task = tokio::spawn(run(store, writes_rx, slots_rx, committed, internal));
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
    internal: Option<mpsc::UnboundedSender<Internal>>,
) {
    let internal = internal.as_ref();
    let mut requests = Vec::with_capacity(MAX_BATCH);
    let mut pending = Vec::new();
    let (mut writes_open, mut slots_open) = (true, true);
    loop {
        while let Ok(op) = slots.try_recv() {
            pending.push(op);
        }
        if !pending.is_empty() {
            if pending.iter().any(|op| matches!(op, SlotOp::Take(_))) {
                // A take decides overlap from the runs the store has
                // running: the ends already queued here go in first, or a
                // run over here still looks busy there and the next slot
                // of its job is skipped.
                requests.clear();
                while requests.len() < MAX_BATCH
                    && let Ok(request) = writes.try_recv()
                {
                    requests.push(request);
                }
                if !requests.is_empty() {
                    commit(&store, std::mem::take(&mut requests), internal).await;
                }
            }
            commit_slots(&store, &mut pending, internal).await;
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
                // Queue operations queued before a Flush must be committed
                // before it is answered; and they go first anyway.
                while let Ok(op) = slots.try_recv() {
                    pending.push(op);
                }
                if !pending.is_empty() {
                    commit_slots(&store, &mut pending, internal).await;
                }
                commit(&store, std::mem::take(&mut requests), internal).await;
                committed.send_modify(|n| *n += 1);
            }
            else => return,
        }
    }
}

/// Applies the pending queue operations in order: consecutive enqueues
/// together, at most [`MAX_BATCH`] runs per transaction.
async fn commit_slots(
    store: &Store,
    pending: &mut Vec<SlotOp>,
    internal: Option<&mpsc::UnboundedSender<Internal>>,
) {
    let mut ops = std::mem::take(pending).into_iter().peekable();
    while let Some(op) = ops.next() {
        match op {
            SlotOp::Enqueue(first) => {
                let mut runs = first;
                while let Some(SlotOp::Enqueue(more)) = ops.peek() {
                    if runs.len() + more.len() > MAX_BATCH {
                        break;
                    }
                    if let Some(SlotOp::Enqueue(more)) = ops.next() {
                        runs.extend(more);
                    }
                }
                let what = format!("putting {} slot(s) in the run queue", runs.len());
                with_retry(&what, || store.enqueue_slots(&runs)).await;
            }
            SlotOp::Missed(spans) => {
                let what = format!("recording {} span(s) of missed slots", spans.len());
                with_retry(&what, || store.skip_missed(&spans, super::STALE_AFTER)).await;
            }
            SlotOp::Ask(plans) => {
                for AskPlan { job, plan } in plans {
                    let what = format!("recording a catch-up plan of {job}");
                    match with_retry(&what, || store.record_catchup_plan(&plan)).await {
                        Some(Some(id)) => log_plan(&job, id, &plan),
                        // Another instance noticed the same downtime first
                        // and logged its plan.
                        Some(None) => tracing::debug!(
                            "{job}: its missed slots are in a catch-up plan already"
                        ),
                        None => {}
                    }
                }
            }
            SlotOp::Take(take) => {
                let result = take_due(store, &take).await;
                match internal {
                    Some(internal) => {
                        let _ = internal.send(Internal::Taken {
                            result,
                            permits: take.permits,
                        });
                    }
                    None => drop(take.permits),
                }
            }
        }
    }
}

async fn take_due(store: &Store, take: &Take) -> Result<Taken, String> {
    let capacity = take.permits.as_ref().map_or(0, |p| p.num_permits());
    let request = TakeRequest {
        instance_id: &take.instance_id,
        now: take.now,
        capacity,
        partition: take.partition,
        steal_before: take.steal_before,
        only: None,
    };
    let rules = take.rules.clone();
    let decide = Box::new(move |due: &[_], waiting: &[_], running: &[_], capacity| {
        overlap::decide(due, waiting, running, capacity, &|job| {
            rules.get(&job).map(|r| r.overlap)
        })
    });
    store
        .take_due(&request, decide)
        .await
        .map_err(|e| e.to_string())
}

async fn commit(
    store: &Store,
    requests: Vec<Request>,
    internal: Option<&mpsc::UnboundedSender<Internal>>,
) {
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
        let woken = with_retry(&format!("recording {} run update(s)", writes.len()), || {
            store.write_batch(&writes)
        })
        .await;
        if woken.is_some_and(|n| n > 0)
            && let Some(internal) = internal
        {
            let _ = internal.send(Internal::Woken);
        }
    }
    for flush in flushes {
        let _ = flush.send(());
    }
}

/// A run's record, or a slot put in the queue, must not be lost to a busy
/// database: retry with backoff, saying so, until the store takes it.
/// Every operation retried here is idempotent or all-or-nothing.
/// One line per plan: the job, how many slots, their span, how to decide.
fn log_plan(job: &str, id: crate::store::PlanId, plan: &NewPlan) {
    let (Some(first), Some(last)) = (plan.slots.first(), plan.slots.last()) else {
        return;
    };
    let n = plan.slots.len();
    let plural = if n == 1 { "" } else { "s" };
    tracing::warn!(
        "{job}: {n} slot{plural} from {} to {} were missed while cronport was not running; \
         kept as catch-up plan {id} (catch_up = ask). Run them: cronport catchup approve {id} \
         [--latest | --slots N..M]; or: cronport catchup decline {id}",
        first.slot.to_rfc3339(),
        last.slot.to_rfc3339(),
    );
}

async fn with_retry<T, F, Fut>(what: &str, mut op: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::store::Result<T>>,
{
    let mut wait = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        let began = std::time::Instant::now();
        let result = op().await;
        crate::metrics::store_write(began.elapsed());
        match result {
            Ok(value) => return Some(value),
            Err(e) => {
                tries += 1;
                if tries == 1 || tries % 10 == 0 {
                    tracing::error!("{what} failed (try {tries}), retrying: {e}");
                }
                if tries >= 100 {
                    tracing::error!("giving up {what} after {tries} tries: {e}");
                    return None;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}
