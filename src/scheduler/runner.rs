//! One run, start to end: wait for a concurrency permit, then attempts with
//! a timeout each, jittered backoff between them, cancellation at any point,
//! every step recorded and published.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::recorder::{Recorder, Request};
use super::{Executor, Internal};
use crate::clock::{self, Clock};
use crate::events::{Event, EventBus};
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
}

impl CancelReason {
    fn message(&self) -> &'static str {
        match self {
            CancelReason::Requested => "cancelled on request",
            CancelReason::Replaced => {
                "cancelled: the next slot replaced it (overlap = cancel_previous)"
            }
            CancelReason::Shutdown => "cancelled: cronport shut down before the run finished",
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
}

enum Outcome {
    Succeeded(ExportOutput),
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
            Failure::Export(e) => !matches!(
                e,
                ExportError::UnknownDestination(_)
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
pub async fn run(shared: Arc<Shared>, order: RunOrder) {
    let recorder = shared.recorder.clone();
    let capture = logging::capture_run(
        order.run_id,
        order.job.name(),
        Box::new(move |line| recorder.try_send(Request::Write(RunWrite::Log(line)))),
        shared.bus.clone(),
    );
    let (outcome, attempt) = attempts(&shared, &order).instrument(capture.span()).await;
    drop(capture);
    let at = shared.clock.now();
    let (status, output, error) = match outcome {
        Outcome::Succeeded(output) => (RunStatus::Succeeded, Some(output), None),
        Outcome::Failed(error) => (RunStatus::Failed, None, Some(error)),
        Outcome::Cancelled(error) => (RunStatus::Cancelled, None, Some(error)),
    };
    let rows = output.as_ref().map(|o| o.rows);
    let bytes = output.as_ref().map(|o| o.bytes);
    let outputs = output.map(|o| o.outputs).unwrap_or_default();
    let end = super::notify::RunEnd {
        job: &order.job,
        run_id: order.run_id,
        scheduled_for: order.scheduled_for,
        succeeded: status == RunStatus::Succeeded,
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
    if matches!(status, RunStatus::Succeeded | RunStatus::Failed) {
        // After the run's own record is queued: the streak of failures is
        // read from the runs before it.
        shared.executor.finished(end).await;
    }
    let _ = shared.internal.send(Internal::RunEnded {
        job_id: order.job_id,
        run_id: order.run_id,
    });
}

async fn attempts(shared: &Shared, order: &RunOrder) -> (Outcome, u32) {
    let token = &order.control.token;
    let policy = order.job.policy;
    let max = policy.max_attempts().max(order.first_attempt);
    let window_start = previous_fire(&order.job, order.scheduled_for);
    let mut attempt = order.first_attempt;
    loop {
        let Some(permit) = acquire(shared, token).await else {
            return (
                Outcome::Cancelled(order.control.reason().message().to_string()),
                attempt,
            );
        };
        let started = shared.clock.now();
        let _ = shared
            .recorder
            .send(Request::Write(RunWrite::Started {
                run_id: order.run_id,
                attempt: attempt as i32,
                instance_id: shared.instance_id.clone(),
                at: started,
            }))
            .await;
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
            r = shared.executor.execute(&order.job, &ctx) => r.map_err(Failure::Export),
        };
        drop(permit);
        let failure = match result {
            Ok(output) => {
                tracing::info!(
                    "succeeded: {} rows, {} bytes, {} output(s)",
                    output.rows,
                    output.bytes,
                    output.outputs.len()
                );
                return (Outcome::Succeeded(output), attempt);
            }
            Err(Failure::Cancelled) => {
                let reason = order.control.reason().message().to_string();
                tracing::warn!("{reason}");
                return (Outcome::Cancelled(reason), attempt);
            }
            Err(failure) => failure,
        };
        if !failure.retryable() || attempt >= max {
            tracing::error!("attempt {attempt} of {max} failed: {failure}");
            return (Outcome::Failed(failure.to_string()), attempt);
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
                return (Outcome::Cancelled(order.control.reason().message().to_string()), attempt);
            }
            _ = clock::sleep_until(shared.clock.as_ref(), at) => {}
        }
        attempt += 1;
    }
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
