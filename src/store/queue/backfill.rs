//! Backfills in the run queue: runs of a job for past slots, asked for by
//! hand. Each slot's run goes in as a queued row owned by nobody (trigger
//! `backfill`, no slot of its own, `scheduled_for` the slot), so whichever
//! instance is running takes it, under the job's overlap policy.
//!
//! A slot is queued only if no run stands for it yet: one queued or
//! running, or one that succeeded (unless rerun). That is decided with the
//! job's row locked (SQLite: the write lock), so two backfills over the
//! same range at once queue each slot once, and a slot one of them ran is
//! not run again by the other.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::super::error::{Result, StoreError};
use super::super::runs::bind_run;
use super::super::types::{JobId, NewRun, RunId, RunStatus, Trigger};
use super::super::{Backend, Store, ms, time};

/// Runs that stand for a slot: its own, its retries, caught up or backfilled.
const FOR_SLOTS: &str = "SELECT id, scheduled_for, status, \"trigger\" AS run_trigger, queued_at \
     FROM runs WHERE job_id = $1 AND scheduled_for >= $2 AND scheduled_for <= $3 \
     AND \"trigger\" IN ('schedule', 'catch_up', 'retry', 'backfill') \
     AND status IN ('succeeded', 'queued', 'running')";

// A row already queued or running for the slot (the partial unique index
// runs_backfill_once) makes this insert nothing.
const INSERT_BACKFILL: &str = "\
INSERT INTO runs (job_id, \"trigger\", status, slot, scheduled_for, queued_at, started_at,
                  finished_at, attempt, instance_id, retry_of, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT DO NOTHING
RETURNING id";

/// What the store holds for one slot of a backfill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotState {
    /// The newest run of it that succeeded.
    pub succeeded: Option<RunId>,
    /// A run of it queued or running now.
    pub active: Option<RunId>,
}

/// Runs standing for slots, read once for a range.
struct SlotRun {
    id: RunId,
    slot: DateTime<Utc>,
    status: RunStatus,
    trigger: Trigger,
    queued_at: DateTime<Utc>,
}

async fn slot_runs(
    conn: &mut sqlx::AnyConnection,
    job_id: JobId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<SlotRun>> {
    let rows = sqlx::query(FOR_SLOTS)
        .bind(job_id)
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SlotRun {
                id: row.try_get("id")?,
                slot: time(row, "scheduled_for")?,
                status: super::super::parsed(row, "status")?,
                trigger: super::super::parsed(row, "run_trigger")?,
                queued_at: time(row, "queued_at")?,
            })
        })
        .collect()
}

fn states(
    runs: &[SlotRun],
    counts: impl Fn(&SlotRun) -> bool,
) -> HashMap<DateTime<Utc>, SlotState> {
    let mut states: HashMap<DateTime<Utc>, SlotState> = HashMap::new();
    for run in runs {
        let state = states.entry(run.slot).or_default();
        match run.status {
            RunStatus::Succeeded if counts(run) => {
                state.succeeded = state.succeeded.max(Some(run.id));
            }
            RunStatus::Queued | RunStatus::Running => state.active = Some(run.id),
            _ => {}
        }
    }
    states
}

impl Store {
    /// What the store holds for the slots of `job_id` in `[from, to]`, by
    /// slot; slots with nothing are absent.
    pub async fn backfill_states(
        &self,
        job_id: JobId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<DateTime<Utc>, SlotState>> {
        let op = "reading the runs of a backfill's slots";
        let mut conn = self.pool.acquire().await.map_err(StoreError::query(op))?;
        let runs = slot_runs(&mut conn, job_id, from, to)
            .await
            .map_err(StoreError::query(op))?;
        Ok(states(&runs, |_| true))
    }

    /// Queues backfill runs of `job_id` for those of `slots` that no run
    /// stands for yet, with the job's row locked; returns each slot queued
    /// with its run. With `rerun`, a slot's earlier success does not count,
    /// except a backfill's since `since` (another backfill running beside
    /// this one ran it already).
    pub async fn enqueue_backfill(
        &self,
        job_id: JobId,
        slots: &[DateTime<Utc>],
        rerun: bool,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, RunId)>> {
        let op = "queueing a backfill's runs";
        let (Some(first), Some(last)) = (slots.iter().min(), slots.iter().max()) else {
            return Ok(Vec::new());
        };
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let lock = match self.backend {
            Backend::Sqlite => "SELECT id FROM jobs WHERE id = $1",
            Backend::Postgres => "SELECT id FROM jobs WHERE id = $1 FOR UPDATE",
        };
        let found = sqlx::query(lock)
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if found.is_none() {
            return Err(StoreError::NotFound {
                what: format!("job {job_id}"),
            });
        }
        let runs = slot_runs(&mut tx, job_id, *first, *last)
            .await
            .map_err(StoreError::query(op))?;
        let states = states(&runs, |run| {
            !rerun || (run.trigger == Trigger::Backfill && run.queued_at >= since)
        });
        let mut queued = Vec::new();
        for &slot in slots {
            let state = states.get(&slot).copied().unwrap_or_default();
            if state.active.is_some() || state.succeeded.is_some() {
                continue;
            }
            let run = NewRun {
                job_id,
                trigger: Trigger::Backfill,
                status: RunStatus::Queued,
                slot: None,
                scheduled_for: slot,
                queued_at: now,
                attempt: 0,
                instance_id: None,
                retry_of: None,
                error: None,
            };
            let id: Option<RunId> = bind_run(sqlx::query(INSERT_BACKFILL), &run)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::query(op))?
                .map(|row| row.try_get(0))
                .transpose()
                .map_err(StoreError::query(op))?;
            if let Some(id) = id {
                queued.push((slot, id));
            }
        }
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(queued)
    }
}
