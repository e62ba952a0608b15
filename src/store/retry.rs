//! An operator's retry of a run that ended badly (`cronport runs retry`):
//! a new run for the same slot goes into the shared run queue, as the
//! engine queues the retry of a run a dead instance left, and whichever
//! instance runs the job takes it.

use chrono::{DateTime, Utc};

use super::Store;
use super::error::{Result, StoreError};
use super::runs::{SELECT_RUN, insert_one, run_from_row};
use super::types::{NewRun, RunId, RunStatus, Trigger};

/// What became of a retry asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryQueued {
    /// Queued as this run.
    Queued(RunId),
    /// Not queued: no such run, or it is not one that can be retried (the
    /// reason says which).
    Refused(String),
}

/// Runs that an operator may run again.
const RETRYABLE: [RunStatus; 3] = [
    RunStatus::Failed,
    RunStatus::Cancelled,
    RunStatus::Interrupted,
];

/// A retry of the run (queued or running) that already stands for it.
const PENDING_RETRY: &str =
    "SELECT id FROM runs WHERE retry_of = $1 AND status IN ('queued', 'running') LIMIT 1";

impl Store {
    /// Queues a retry (trigger `retry`, owned by no instance yet) of
    /// `run_id` when it failed, was cancelled or interrupted, and no retry
    /// of it is queued or running already.
    pub async fn queue_retry(&self, run_id: RunId, now: DateTime<Utc>) -> Result<RetryQueued> {
        let op = "queueing a retry";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let Some(row) = sqlx::query(SELECT_RUN)
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(op))?
        else {
            return Ok(RetryQueued::Refused(format!("no run with id {run_id}")));
        };
        let run = run_from_row(&row).map_err(StoreError::query(op))?;
        if !RETRYABLE.contains(&run.status) {
            return Ok(RetryQueued::Refused(format!(
                "run {run_id} of {} is {}: only failed, cancelled or interrupted runs are retried",
                run.job_name, run.status
            )));
        }
        let pending: Option<RunId> = sqlx::query_scalar(PENDING_RETRY)
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if let Some(pending) = pending {
            return Ok(RetryQueued::Refused(format!(
                "run {run_id} of {} is being retried already, as run {pending}",
                run.job_name
            )));
        }
        let retry = NewRun {
            job_id: run.job_id,
            trigger: Trigger::Retry,
            status: RunStatus::Queued,
            slot: None,
            // It stands for its run's slot, so its data window is that slot's.
            scheduled_for: run.slot.unwrap_or(run.scheduled_for),
            queued_at: now,
            attempt: 0,
            instance_id: None,
            retry_of: Some(run_id),
            error: None,
        };
        let id = insert_one(&mut tx, &retry)
            .await
            .map_err(StoreError::query(op))?
            .ok_or_else(|| StoreError::decode(op, "the insert returned no id"))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(RetryQueued::Queued(id))
    }
}
