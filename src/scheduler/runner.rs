//! One run, start to end: wait for a concurrency permit, then attempts with
//! a timeout each (see `attempt` for what one does), jittered backoff
//! between them, cancellation at any point, every step recorded and
//! published.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::ping::{PingEnd, RunPings};
use super::recorder::{Recorder, Request};
use super::{Executor, Internal};
use crate::clock::{self, Clock};
use crate::events::{Event, EventBus};
use crate::export::pipeline::CheckStop;
use crate::export::{ExportError, ExportOutput, RunContext};
use crate::job::{Job, Policy};
use crate::logging;
use crate::store::{JobId, RunId, RunStatus, RunWrite, Trigger};

/// Why a run was cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// Someone asked (console, command line).
    Requested,
    /// The next slot replaced it (overlap = cancel_previous).
    Replaced,
    /// cronport shut down and the grace period ran out.
    Shutdown,
    /// Another instance asked: a console or the command line attached to
    /// it, or a newer slot it took (overlap = cancel_previous).
    Remote,
    /// Another instance took this one for dead and retried the run.
    Fenced,
}

impl CancelReason {
    fn message(&self) -> &'static str {
        match self {
            CancelReason::Requested => "cancelled on request",
            CancelReason::Replaced => {
                "cancelled: the next slot replaced it (overlap = cancel_previous)"
            }
            CancelReason::Shutdown => "cancelled: cronport shut down before the run finished",
            CancelReason::Fenced => {
                "cancelled: another instance took this one for dead (its heartbeat was late) \
                 and retried the run"
            }
            CancelReason::Remote => {
                "cancelled at another instance's request (a cancel from a console or the \
                 command line, or a newer slot under overlap = cancel_previous)"
            }
        }
    }
}

/// Cancels one run, remembering why.
#[derive(Clone, Default)]
pub struct RunControl {
    token: CancellationToken,
    reason: Arc<OnceLock<CancelReason>>,
}

impl RunControl {
    /// Cancel the run; the first reason given wins.
    pub fn cancel(&self, reason: CancelReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    fn reason(&self) -> CancelReason {
        self.reason
            .get()
            .cloned()
            .unwrap_or(CancelReason::Requested)
    }
}

/// What the runner needs from the scheduler.
pub struct Shared {
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Does the export.
    pub executor: Arc<dyn Executor>,
    /// Where events go.
    pub bus: EventBus,
    /// Where store writes go.
    pub recorder: Recorder,
    /// The concurrency limit.
    pub permits: Arc<tokio::sync::Semaphore>,
    /// This instance, for the run record.
    pub instance_id: String,
    /// The store, to look up what an interrupted run already delivered.
    pub store: crate::store::Store,
    /// Back to the driver.
    pub internal: mpsc::UnboundedSender<Internal>,
}

/// A run to carry out.
pub struct RunOrder {
    /// Its id.
    pub run_id: RunId,
    /// Its job's id.
    pub job_id: JobId,
    /// The job as it was when the run was created: edits apply from the next run.
    pub job: Arc<Job>,
    /// Why it runs.
    pub trigger: Trigger,
    /// The slot.
    pub scheduled_for: DateTime<Utc>,
    /// The first attempt's number (above 1 when retrying an interrupted run).
    pub first_attempt: u32,
    /// Cancels it.
    pub control: RunControl,
    /// Its room in the concurrency limit for the first attempt, when it was
    /// taken from the queue with one; otherwise it waits for one.
    pub permit: Option<OwnedSemaphorePermit>,
    /// The store already has the first attempt running (taking it from the
    /// queue recorded that).
    pub recorded: bool,
    /// The run this one retries.
    pub retry_of: Option<RunId>,
}

enum Outcome {
    Succeeded(ExportOutput),
    /// A check failed: held or skipped, nothing delivered.
    Checked(ExportOutput, CheckStop),
    Failed(String),
    Cancelled(String),
}

enum Failure {
    Export(ExportError),
    Timeout(std::time::Duration),
    Cancelled,
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            // A failed check is not retried: another attempt would render
            // the same data and fail it again.
            Failure::Export(e) => !matches!(
                e,
                ExportError::UnknownDestination(_)
                    | ExportError::Check(_)
                    | ExportError::Source(crate::export::source::SourceError::UnknownConnection(_))
            ),
            Failure::Timeout(_) => true,
            Failure::Cancelled => false,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Export(e) => write!(f, "{e}"),
            Failure::Timeout(limit) => write!(
                f,
                "timeout: the attempt ran longer than {} and was cancelled",
                crate::config::duration::HumanDuration(*limit)
            ),
            Failure::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// Carry out `order` to its end.
pub async fn run(shared: Arc<Shared>, mut order: RunOrder) {
    let recorder = shared.recorder.clone();
    let mut pings = RunPings::new(&order.job, order.run_id);
    let tail = pings.as_ref().map(RunPings::tail);
    let capture = logging::capture_run(
        order.run_id,
        order.job.name(),
        Box::new(move |line| {
            if let Some(tail) = &tail {
                tail.push(&line);
            }
            recorder.try_send(Request::Write(RunWrite::Log(line)))
        }),
        shared.bus.clone(),
    );
    let (outcome, attempt, first_start) = async {
        match delivered_before(&shared, &order).await {
            Some(output) => (Outcome::Succeeded(output), order.first_attempt, None),
            None => attempts(&shared, &mut order, &mut pings).await,
        }
    }
    .instrument(capture.span())
    .await;
    drop(capture);
    let at = shared.clock.now();
    let (status, output, error) = match outcome {
        Outcome::Succeeded(output) => (RunStatus::Succeeded, Some(output), None),
        Outcome::Checked(output, stop) if stop.held => {
            (RunStatus::Held, Some(output), Some(stop.message))
        }
        Outcome::Checked(output, stop) => (RunStatus::Skipped, Some(output), Some(stop.message)),
        Outcome::Failed(error) => (RunStatus::Failed, None, Some(error)),
        Outcome::Cancelled(error) => (RunStatus::Cancelled, None, Some(error)),
    };
    if let Some(pings) = pings {
        // A hold waits for someone, so the monitor hears of it as a
        // failure; a skip by a check is what the job asked for.
        let held = error
            .as_ref()
            .filter(|_| status == RunStatus::Held)
            .map(|e| format!("held: {e}"));
        pings.end(match (&error, status) {
            (None, _) | (Some(_), RunStatus::Skipped) => PingEnd::Succeeded,
            (Some(error), _) => PingEnd::Failed(held.as_deref().unwrap_or(error)),
        });
    }
    let rows = output.as_ref().map(|o| o.rows);
    let bytes = output.as_ref().map(|o| o.bytes);
    let outputs = output.map(|o| o.outputs).unwrap_or_default();
    let end = super::notify::RunEnd {
        job: &order.job,
        run_id: order.run_id,
        scheduled_for: order.scheduled_for,
        succeeded: status == RunStatus::Succeeded,
        held: status == RunStatus::Held,
        rows,
        bytes,
        outputs: outputs.clone(),
        error: error.clone(),
    };
    let write = RunWrite::Finished {
        run_id: order.run_id,
        attempt: attempt as i32,
        status,
        at,
        rows: rows.map(|r| r as i64),
        bytes: bytes.map(|b| b as i64),
        outputs: outputs.clone(),
        error: error.clone(),
    };
    let _ = shared.recorder.send(Request::Write(write)).await;
    crate::metrics::run_ended(&crate::metrics::RunEnded {
        job: order.job.name(),
        status,
        trigger: order.trigger,
        rows,
        bytes,
        took: first_start.and_then(|start| (at - start).to_std().ok()),
    });
    let _ = shared.bus.send(Event::RunFinished {
        run_id: order.run_id,
        job: order.job.name().to_string(),
        status,
        at,
        rows,
        bytes,
        outputs,
        error,
    });
    if matches!(
        status,
        RunStatus::Succeeded | RunStatus::Failed | RunStatus::Held
    ) {
        // After the run's own record is queued: the streak of failures is
        // read from the runs before it.
        shared.executor.finished(end).await;
    }
    let _ = shared.internal.send(Internal::RunEnded {
        job_id: order.job_id,
        run_id: order.run_id,
    });
}

/// The outcome, the last attempt's number, and when the first attempt
/// started (`None` when none did).
async fn attempts(
    shared: &Shared,
    order: &mut RunOrder,
    pings: &mut Option<RunPings>,
) -> (Outcome, u32, Option<DateTime<Utc>>) {
    let token = order.control.token.clone();
    let policy = order.job.policy;
    let max = policy.max_attempts().max(order.first_attempt);
    let window_start = previous_fire(&order.job, order.scheduled_for);
    let mut attempt = order.first_attempt;
    let mut first_start = None;
    loop {
        let given = order.permit.take();
        let Some(permit) = (match given {
            Some(permit) => Some(permit),
            None => acquire(shared, &token).await,
        }) else {
            return (
                Outcome::Cancelled(order.control.reason().message().to_string()),
                attempt,
                first_start,
            );
        };
        let started = shared.clock.now();
        if first_start.is_none() {
            first_start = Some(started);
            // Slots that are old by design (catch-up, backfill) and retries
            // of old runs would only blur how late slots start.
            if matches!(order.trigger, Trigger::Schedule | Trigger::Manual) {
                crate::metrics::run_started(
                    (started - order.scheduled_for).to_std().unwrap_or_default(),
                );
            }
        }
        if !(order.recorded && attempt == order.first_attempt) {
            let _ = shared
                .recorder
                .send(Request::Write(RunWrite::Started {
                    run_id: order.run_id,
                    attempt: attempt as i32,
                    instance_id: shared.instance_id.clone(),
                    at: started,
                }))
                .await;
        }
        let _ = shared.bus.send(Event::RunStarted {
            run_id: order.run_id,
            job: order.job.name().to_string(),
            attempt,
            at: started,
        });
        tracing::info!(
            "attempt {attempt} of {max} started ({})",
            order.trigger.as_str()
        );
        if let Some(pings) = pings.as_mut() {
            pings.start();
        }
        let ctx = RunContext {
            job: order.job.name().to_string(),
            run_id: order.run_id,
            attempt,
            scheduled_for: order.scheduled_for,
            window_start,
            window_end: order.scheduled_for,
            timezone: order.job.schedule.timezone(),
        };
        let deadline =
            started + chrono::Duration::from_std(policy.timeout).unwrap_or(chrono::Duration::MAX);
        let result = tokio::select! {
            biased;
            _ = token.cancelled() => Err(Failure::Cancelled),
            _ = clock::sleep_until(shared.clock.as_ref(), deadline) => Err(Failure::Timeout(policy.timeout)),
            r = super::attempt::attempt(shared, &order.job, order.job_id, &ctx) => r.map_err(Failure::Export),
        };
        drop(permit);
        let failure = match result {
            Ok(mut output) if output.checked.is_some() => {
                let stop = output.checked.take();
                if let Some(stop) = stop {
                    return (Outcome::Checked(output, stop), attempt, first_start);
                }
                return (Outcome::Succeeded(output), attempt, first_start);
            }
            Ok(output) if output.unchanged => {
                tracing::info!(
                    "succeeded, unchanged: {} rows, {} bytes, nothing delivered",
                    output.rows,
                    output.bytes,
                );
                return (Outcome::Succeeded(output), attempt, first_start);
            }
            Ok(output) => {
                tracing::info!(
                    "succeeded: {} rows, {} bytes, {} output(s)",
                    output.rows,
                    output.bytes,
                    output.outputs.len()
                );
                return (Outcome::Succeeded(output), attempt, first_start);
            }
            Err(Failure::Cancelled) => {
                let reason = order.control.reason().message().to_string();
                tracing::warn!("{reason}");
                return (Outcome::Cancelled(reason), attempt, first_start);
            }
            Err(failure) => failure,
        };
        if !failure.retryable() || attempt >= max {
            tracing::error!("attempt {attempt} of {max} failed: {failure}");
            return (Outcome::Failed(failure.to_string()), attempt, first_start);
        }
        let wait = Policy::backoff(attempt, &mut rand::rng());
        let at = shared.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
        tracing::warn!(
            "attempt {attempt} of {max} failed: {failure}; next attempt at {}",
            at.to_rfc3339()
        );
        let _ = shared
            .recorder
            .send(Request::Write(RunWrite::AttemptFailed {
                run_id: order.run_id,
                attempt: attempt as i32,
                at: shared.clock.now(),
                error: failure.to_string(),
                retry_at: at,
            }))
            .await;
        let _ = shared.bus.send(Event::RetryScheduled {
            run_id: order.run_id,
            job: order.job.name().to_string(),
            attempt,
            at,
            error: failure.to_string(),
        });
        tokio::select! {
            _ = token.cancelled() => {
                return (
                    Outcome::Cancelled(order.control.reason().message().to_string()),
                    attempt,
                    first_start,
                );
            }
            _ = clock::sleep_until(shared.clock.as_ref(), at) => {}
        }
        attempt += 1;
    }
}

/// A retry of a run whose instance died may find that run delivered to
/// every destination before it died (only its end was not recorded): the
/// slot is done, and delivering it again would send it twice.
async fn delivered_before(shared: &Shared, order: &RunOrder) -> Option<ExportOutput> {
    let previous = order.retry_of.filter(|_| order.trigger == Trigger::Retry)?;
    let run = match shared.store.get_run(previous).await {
        Ok(Some(run)) if run.status == RunStatus::Interrupted => run,
        Ok(_) => return None,
        Err(e) => {
            tracing::warn!("could not read run {previous}, which this run retries: {e}");
            return None;
        }
    };
    let records = match shared.store.deliveries(&[previous]).await {
        Ok(mut all) => all.remove(&previous).unwrap_or_default(),
        Err(e) => {
            tracing::warn!("could not read what run {previous} delivered: {e}");
            return None;
        }
    };
    let mut outputs = Vec::new();
    for destination in &order.job.spec.destinations {
        let done = records
            .iter()
            .find(|d| &d.destination == destination && d.status == "delivered")?;
        outputs.extend(done.location.clone());
    }
    tracing::info!(
        "run {previous} delivered to every destination before its instance died; not delivering again"
    );
    Some(ExportOutput {
        rows: run.rows.and_then(|r| u64::try_from(r).ok()).unwrap_or(0),
        bytes: run.bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
        outputs,
        unchanged: false,
        checked: None,
    })
}

async fn acquire(shared: &Shared, token: &CancellationToken) -> Option<OwnedSemaphorePermit> {
    tokio::select! {
        biased;
        _ = token.cancelled() => None,
        permit = shared.permits.clone().acquire_owned() => permit.ok(),
    }
}

/// The slot before `slot` (`:window_start`). Searched backwards in growing
/// steps, because schedules only step forwards; a schedule with no earlier
/// fire within ten years gives `slot` itself.
///
/// The first step is short because every run pays for it: from two minutes
/// back, an every-second job walked 120 fires per run, about 30 µs, a third
/// of a core at 10,000 runs a second.
pub fn previous_fire(job: &Job, slot: DateTime<Utc>) -> DateTime<Utc> {
    let mut step = chrono::Duration::seconds(2);
    while step < chrono::Duration::days(3700) {
        let from = slot - step;
        let mut last = None;
        for fire in job.schedule.fires_after(from) {
            if fire >= slot {
                break;
            }
            last = Some(fire);
        }
        if let Some(last) = last {
            return last;
        }
        step = step * 8;
    }
    slot
}
