//! Notifications when a run ends: on the first failure after a success (not
//! on every failure after it), on the recovery that ends a streak of
//! failures (saying how many failed), and optionally on every success.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::export::RunContext;
use crate::export::destination::notice::{Notice, NoticeKind, NotifyOn};
use crate::export::destination::{Destination, DestinationError, fire_id};
use crate::job::Job;
use crate::store::{RunFilter, RunStatus, Store};

/// How far back a streak of failures is counted.
const STREAK_LIMIT: i64 = 1_000;

/// A run that just ended.
pub struct RunEnd<'a> {
    /// Its job.
    pub job: &'a Job,
    /// The run.
    pub run_id: i64,
    /// Its slot.
    pub scheduled_for: DateTime<Utc>,
    /// `true` if it succeeded, `false` if it failed or was held.
    pub succeeded: bool,
    /// A check failed and the run is held: a "held" notice goes out
    /// whatever `notify.on` lists, since someone has to act on it.
    pub held: bool,
    /// Rows exported.
    pub rows: Option<u64>,
    /// Bytes exported.
    pub bytes: Option<u64>,
    /// Where it went.
    pub outputs: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Which notices a run's end calls for, given how many runs in a row
/// failed before it; a recovery carries that number.
pub fn decide(
    on: &[NotifyOn],
    succeeded: bool,
    failed_before: u32,
) -> Vec<(NoticeKind, Option<u32>)> {
    let mut out = Vec::new();
    if succeeded {
        if failed_before > 0 && on.contains(&NotifyOn::Recovery) {
            out.push((NoticeKind::Recovery, Some(failed_before)));
        }
        if on.contains(&NotifyOn::Success) {
            out.push((NoticeKind::Success, None));
        }
    } else if failed_before == 0 && on.contains(&NotifyOn::Failure) {
        out.push((NoticeKind::Failure, None));
    }
    out
}

/// How many runs of `job` before `run_id` failed in a row (runs that were
/// skipped, cancelled or are still going do not break or extend a streak).
pub async fn failures_before(store: &Store, job: &str, run_id: i64) -> crate::store::Result<u32> {
    let filter = RunFilter {
        job: Some(job.to_string()),
        before_id: Some(run_id),
        limit: STREAK_LIMIT,
        ..RunFilter::default()
    };
    let mut failed = 0u32;
    for run in store.list_runs(&filter).await? {
        match run.status {
            RunStatus::Failed => failed += 1,
            RunStatus::Succeeded => break,
            _ => {}
        }
    }
    Ok(failed)
}

/// Send the notices `end` calls for through the job's `notify.to`. Failures
/// to notify are logged; they do not change the run.
pub async fn after_run(
    store: &Store,
    destinations: &HashMap<String, Arc<dyn Destination>>,
    end: RunEnd<'_>,
) {
    let Some(spec) = &end.job.spec.notify else {
        return;
    };
    if end.held {
        let notice = held_notice(&end);
        send(destinations, &spec.to, &notice).await;
        return;
    }
    let failed_before = match failures_before(store, end.job.name(), end.run_id).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(
                "notifications of {}: cannot read earlier runs: {e}",
                end.job.name()
            );
            return;
        }
    };
    for (event, failed_runs) in decide(&spec.on, end.succeeded, failed_before) {
        let ctx = RunContext {
            job: end.job.name().to_string(),
            run_id: end.run_id,
            attempt: 1,
            scheduled_for: end.scheduled_for,
            window_start: end.scheduled_for,
            window_end: end.scheduled_for,
            timezone: end.job.schedule.timezone(),
        };
        let notice = Notice {
            event,
            job: ctx.job.clone(),
            run_id: end.run_id,
            fire_id: fire_id(&ctx),
            status: if end.succeeded { "succeeded" } else { "failed" }.into(),
            scheduled_for: end.scheduled_for,
            rows: end.rows,
            bytes: end.bytes,
            file: None,
            outputs: end.outputs.clone(),
            error: end.error.clone(),
            failed_runs,
        };
        send(destinations, &spec.to, &notice).await;
    }
}

/// The notice of a held run: the check that failed, and how to release or
/// discard it.
pub fn held_notice(end: &RunEnd<'_>) -> Notice {
    let ctx = RunContext {
        job: end.job.name().to_string(),
        run_id: end.run_id,
        attempt: 1,
        scheduled_for: end.scheduled_for,
        window_start: end.scheduled_for,
        window_end: end.scheduled_for,
        timezone: end.job.schedule.timezone(),
    };
    let hold_for = end
        .job
        .policy
        .checks
        .map_or(crate::job::DEFAULT_HOLD_FOR, |c| c.hold_for);
    let id = end.run_id;
    let error = format!(
        "{}. Nothing was delivered. Release it with `cronport runs release {id}`, or drop it \
         with `cronport runs discard {id}`; unreleased, it is discarded after {}.",
        end.error.as_deref().unwrap_or("a check failed"),
        crate::config::duration::HumanDuration(hold_for)
    );
    Notice {
        event: NoticeKind::Held,
        job: ctx.job.clone(),
        run_id: id,
        fire_id: fire_id(&ctx),
        status: "held".into(),
        scheduled_for: end.scheduled_for,
        rows: end.rows,
        bytes: end.bytes,
        file: None,
        outputs: Vec::new(),
        error: Some(error),
        failed_runs: None,
    }
}

/// What became of a notice sent through one destination.
#[derive(Debug)]
pub struct Sent {
    /// The destination's name under `[destinations]`.
    pub to: String,
    /// Why it was sent.
    pub event: NoticeKind,
    /// The job.
    pub job: String,
    /// The run.
    pub run_id: i64,
    /// Where it went, or why it did not.
    pub result: Result<String, DestinationError>,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (event, job, run) = (self.event.as_str(), &self.job, self.run_id);
        match &self.result {
            Ok(location) => write!(
                f,
                "notified {} of the {event} of {job} (run {run}): {location}",
                self.to
            ),
            Err(e) => write!(
                f,
                "could not notify {} of the {event} of {job} (run {run}): {e}",
                self.to
            ),
        }
    }
}

/// Send `notice` through each of the destinations named in `to`. Failures
/// are logged (and returned, naming the destination); they change nothing
/// else.
pub async fn send(
    destinations: &HashMap<String, Arc<dyn Destination>>,
    to: &[String],
    notice: &Notice,
) -> Vec<Sent> {
    let mut sent = Vec::with_capacity(to.len());
    for name in to {
        let result = match destinations.get(name) {
            Some(dest) => dest.notify(notice).await,
            None => Err(DestinationError::Setting {
                key: "notify.to",
                message: format!("{name} is not defined under [destinations]"),
            }),
        };
        let outcome = Sent {
            to: name.clone(),
            event: notice.event,
            job: notice.job.clone(),
            run_id: notice.run_id,
            result,
        };
        if outcome.result.is_ok() {
            tracing::info!("{outcome}");
        } else {
            tracing::warn!("{outcome}");
        }
        sent.push(outcome);
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_and_recovery_only() {
        let on = [NotifyOn::Failure, NotifyOn::Recovery];
        assert_eq!(decide(&on, false, 0), [(NoticeKind::Failure, None)]);
        assert!(
            decide(&on, false, 1).is_empty(),
            "no notice on the second failure"
        );
        assert!(decide(&on, false, 7).is_empty());
        assert_eq!(decide(&on, true, 3), [(NoticeKind::Recovery, Some(3))]);
        assert!(decide(&on, true, 0).is_empty());
        let all = [NotifyOn::Success, NotifyOn::Recovery];
        assert_eq!(
            decide(&all, true, 2),
            [(NoticeKind::Recovery, Some(2)), (NoticeKind::Success, None)]
        );
        assert!(decide(&[NotifyOn::Success], false, 0).is_empty());
    }
}
