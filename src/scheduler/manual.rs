//! A run asked for by hand (`t` in the console, `jobs run`, `:run`): it goes
//! into the run queue like a slot and is decided at once, by the process
//! asked, in the same take transaction as slots, so the job's overlap
//! policy holds for it across instances (see [`super::overlap`]).

use chrono::{DateTime, Utc};

use super::overlap;
use crate::job::OverlapPolicy;
use crate::store::{
    ActiveRun, JobId, NewRun, Only, Partition, QueuedRun, RunId, RunStatus, Store, StoreError,
    TakeRequest, Trigger,
};

/// What became of a run asked for by hand when it was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asked {
    /// Taken by the asker: start it now (the store has it running).
    Started(QueuedRun),
    /// In the queue: it waits for the job's running run to end
    /// (`queue_one`, `cancel_previous`) or for room to start.
    Queued,
    /// Not started, and recorded skipped with this reason (`skip`).
    Refused(String),
}

/// Puts a manual run of `job_id` in the run queue, owned by nobody yet.
pub async fn enqueue(
    store: &Store,
    job_id: JobId,
    now: DateTime<Utc>,
) -> Result<RunId, StoreError> {
    store
        .insert_run(&NewRun {
            job_id,
            trigger: Trigger::Manual,
            status: RunStatus::Queued,
            slot: None,
            scheduled_for: now,
            queued_at: now,
            attempt: 0,
            instance_id: None,
            retry_of: None,
            error: None,
        })
        .await
}

/// Decides about the queued manual run `run_id` now, as `instance_id` with
/// room for `capacity` runs: started, left queued, or refused. Also returns
/// the running runs that `cancel_previous` asked to stop.
pub async fn take(
    store: &Store,
    instance_id: &str,
    run_id: RunId,
    policy: OverlapPolicy,
    capacity: usize,
    now: DateTime<Utc>,
) -> Result<(Asked, Vec<ActiveRun>), StoreError> {
    let request = TakeRequest {
        instance_id,
        now,
        capacity,
        partition: Partition::ALL,
        steal_before: now,
        only: Some(Only::Run(run_id)),
    };
    let mut cancelled = Vec::new();
    for _ in 0..UNSETTLED_TRIES {
        let decide = Box::new(move |due: &[_], waiting: &[_], running: &[_], capacity| {
            overlap::decide(due, waiting, running, capacity, &|_| Some(policy))
        });
        let taken = store.take_due(&request, decide).await?;
        cancelled.extend(taken.cancelled);
        if let Some(run) = taken.started.into_iter().find(|r| r.id == run_id) {
            return Ok((Asked::Started(run), cancelled));
        }
        if let Some((_, why)) = taken.skipped.into_iter().find(|(r, _)| r.id == run_id) {
            return Ok((Asked::Refused(why), cancelled));
        }
        if !taken.unsettled {
            break;
        }
        // The job's running run was ending as we looked (PostgreSQL passed
        // over its lock): its end commits within moments.
        tokio::time::sleep(UNSETTLED_AGAIN).await;
    }
    Ok((Asked::Queued, cancelled))
}

/// Looks again this often, this many times, when the job's running run was
/// being changed by another transaction: the asker should hear the real
/// answer, not "queued" for a run that `skip` would refuse.
const UNSETTLED_AGAIN: std::time::Duration = std::time::Duration::from_millis(50);
const UNSETTLED_TRIES: usize = 20;

/// Takes due rows of `job_id` as `instance_id`, oldest first, starting at
/// most `capacity` of them under the job's overlap policy: for a process
/// that runs a backfill of the job itself. Returns the runs to start.
pub async fn take_job(
    store: &Store,
    instance_id: &str,
    job_id: JobId,
    policy: OverlapPolicy,
    capacity: usize,
    now: DateTime<Utc>,
) -> Result<Vec<QueuedRun>, StoreError> {
    let request = TakeRequest {
        instance_id,
        now,
        capacity,
        partition: Partition::ALL,
        steal_before: now,
        only: Some(Only::Job(job_id)),
    };
    let decide = Box::new(move |due: &[_], waiting: &[_], running: &[_], capacity| {
        overlap::decide(due, waiting, running, capacity, &|_| Some(policy))
    });
    Ok(store.take_due(&request, decide).await?.started)
}
