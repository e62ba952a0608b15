//! The run queue that instances share: due slots go in as `queued` runs that
//! nobody owns, and an instance takes what it has room to start.
//!
//! Putting a slot in ([`Store::enqueue_slots`]) is idempotent: every instance
//! may do it, and the database's UNIQUE (job_id, slot) keeps one row. Taking
//! ([`Store::take_due`]) marks rows running as the taker in one transaction
//! that also settles each job's overlap policy, so a slot is started once and
//! two instances never start an exclusive job's runs side by side. On
//! PostgreSQL the rows and their jobs are locked with `SKIP LOCKED`, as in
//! Oban, pg-boss and Quartz: takers pass over each other's rows instead of
//! queueing behind them. SQLite serialises writers, which is enough there.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::batch::{AnyQuery, MultiRow, chunks};
use super::error::{Result, StoreError};
use super::runs::check_new_run;
use super::types::{JobId, NewRun, RunId, RunStatus, Trigger};
use super::writes::{START_ATTEMPTS, StartRow, bind_start, execute_all};
use super::{Backend, Store, ms, opt_ms};

mod backfill;
mod take;
mod wake;

pub use backfill::SlotState;

pub use take::{ActiveRun, Decide, Decisions, Only, QueuedRun, TakeRequest, Taken};
pub(super) use wake::wake_waiting;

// Rows: the twelve values of a new run. No row is inserted when the job and
// slot already have a run or the job has been deleted. The WHERE clause also
// settles SQLite's INSERT-SELECT-ON CONFLICT parsing ambiguity; the ORDER BY
// keeps the insert order (and so PostgreSQL's lock order) by (job, slot)
// whatever join the planner picks for EXISTS, so instances inserting the
// same slots at once never deadlock.
static ENQUEUE: MultiRow = MultiRow::new(
    "INSERT INTO runs (job_id, \"trigger\", status, slot, scheduled_for, queued_at, started_at, \
                       finished_at, attempt, instance_id, retry_of, error) \
     SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
            v.column8, v.column9, v.column10, v.column11, v.column12 FROM ",
    12,
    "WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = v.column1 \
                   AND (j.paused = 0 OR v.column3 <> 'queued')) \
     ORDER BY v.column1, v.column4 \
     ON CONFLICT (job_id, slot) DO NOTHING \
     RETURNING id, job_id, slot",
);

/// A span of a job's slots that were missed and will not run (the catch-up
/// policy's decision), recorded as one skipped entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissedSlots {
    /// The job.
    pub job_id: JobId,
    /// The first missed slot.
    pub first: DateTime<Utc>,
    /// The last; the entry is recorded at this slot.
    pub last: DateTime<Utc>,
    /// Why, naming how many and the policy.
    pub reason: String,
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// The instance deciding.
    pub instance_id: String,
}

// Slots of the span still in the queue were put there by instances that
// stopped before they came due; they are part of what was missed, unless
// another live instance is there to take them (they wait for its room).
// Rows waiting for a run are left alone: they were due while an instance
// was running their job.
const SKIP_QUEUED_SPAN: &str = "\
UPDATE runs SET status = 'skipped', finished_at = $4, error = $5
WHERE job_id = $1 AND status = 'queued' AND instance_id IS NULL AND waiting = 0
  AND \"trigger\" = 'schedule' AND slot >= $2 AND slot <= $3
  AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id <> $6 AND i.takes_work = 1
                  AND i.stopped_at IS NULL AND i.heartbeat_at >= $7)";

/// Which share of the queue an instance takes first: the jobs whose id
/// modulo `count` is `index`. The others' due rows it takes only once they
/// have waited a moment (see [`TakeRequest::steal_before`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// This instance's place among the live instances, from 0.
    pub index: u32,
    /// How many instances share the queue (at least 1).
    pub count: u32,
}

impl Partition {
    /// The whole queue: one instance alone.
    pub const ALL: Partition = Partition { index: 0, count: 1 };

    /// Whether `job`'s rows are this instance's to take first.
    pub fn owns(self, job: JobId) -> bool {
        self.count <= 1 || job.rem_euclid(i64::from(self.count)) == i64::from(self.index)
    }
}

/// Inserts one chunk of slots and records which got a run id. A slot of a
/// job paused meanwhile (an instance that has not heard yet) is not put in.
pub(in crate::store) async fn enqueue_chunk(
    conn: &mut AnyConnection,
    backend: Backend,
    chunk: &[(usize, &NewRun)],
    ids: &mut [Option<RunId>],
) -> sqlx::Result<()> {
    let rows = ENQUEUE
        .query(backend, chunk, bind_new_run)
        .fetch_all(&mut *conn)
        .await?;
    let mut won: HashMap<(JobId, Option<i64>), RunId> = HashMap::with_capacity(rows.len());
    for row in &rows {
        won.insert(
            (row.try_get("job_id")?, row.try_get("slot")?),
            row.try_get("id")?,
        );
    }
    // Duplicates within the chunk: the first one got the row.
    for (index, run) in chunk {
        ids[*index] = won.remove(&(run.job_id, opt_ms(run.slot)));
    }
    Ok(())
}

fn bind_new_run(q: AnyQuery, item: &(usize, &NewRun)) -> AnyQuery {
    super::runs::bind_run(q, item.1)
}

impl Store {
    /// Puts slots in the store in one transaction: due slots as queued runs
    /// nobody owns yet, or entries for skipped slots. Each entry gets the new
    /// run's id, or `None` when that job and slot already have a run (another
    /// instance put it there first) or the job no longer exists.
    pub async fn enqueue_slots(&self, runs: &[NewRun]) -> Result<Vec<Option<RunId>>> {
        for run in runs {
            check_new_run(run)?;
            if run.slot.is_none() {
                return Err(StoreError::Invalid {
                    what: format!("job {}: a slot run needs a slot", run.job_id),
                });
            }
        }
        let op = "putting slots in the run queue";
        let mut sorted: Vec<(usize, &NewRun)> = runs.iter().enumerate().collect();
        sorted.sort_by_key(|(_, run)| (run.job_id, run.slot));
        let mut ids = vec![None; runs.len()];
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for chunk in chunks(&sorted) {
            enqueue_chunk(&mut tx, self.backend, chunk, &mut ids)
                .await
                .map_err(StoreError::query(op))?;
        }
        let attempts: Vec<StartRow<'_>> = runs
            .iter()
            .zip(&ids)
            .filter(|(run, _)| run.status == RunStatus::Running)
            .filter_map(|(run, id)| {
                Some(StartRow {
                    run_id: (*id)?,
                    attempt: i64::from(run.attempt),
                    at: ms(run.queued_at),
                    instance_id: run.instance_id.as_deref().unwrap_or(""),
                })
            })
            .collect();
        execute_all(
            &mut tx,
            self.backend,
            &START_ATTEMPTS,
            &attempts,
            bind_start,
        )
        .await
        .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(ids)
    }

    /// Records missed slots that will not run: one skipped entry per span
    /// (unless the span's last slot has a run already), and the span's slots
    /// still waiting in the queue marked skipped too.
    pub async fn skip_missed(
        &self,
        spans: &[MissedSlots],
        stale_after: std::time::Duration,
    ) -> Result<()> {
        let op = "recording missed slots";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for span in spans {
            sqlx::query(SKIP_QUEUED_SPAN)
                .bind(span.job_id)
                .bind(ms(span.first))
                .bind(ms(span.last))
                .bind(ms(span.at))
                .bind(span.reason.as_str())
                .bind(span.instance_id.as_str())
                .bind(ms(span.at).saturating_sub(super::duration_ms(stale_after)))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
        }
        let entries: Vec<NewRun> = spans
            .iter()
            .map(|span| NewRun {
                job_id: span.job_id,
                trigger: Trigger::Schedule,
                status: RunStatus::Skipped,
                slot: Some(span.last),
                scheduled_for: span.last,
                queued_at: span.at,
                attempt: 0,
                instance_id: Some(span.instance_id.clone()),
                retry_of: None,
                error: Some(span.reason.clone()),
            })
            .collect();
        let mut sorted: Vec<(usize, &NewRun)> = entries.iter().enumerate().collect();
        sorted.sort_by_key(|(_, run)| (run.job_id, run.slot));
        let mut ids = vec![None; entries.len()];
        for chunk in chunks(&sorted) {
            enqueue_chunk(&mut tx, self.backend, chunk, &mut ids)
                .await
                .map_err(StoreError::query(op))?;
        }
        tx.commit().await.map_err(StoreError::query(op))
    }

    /// Takes back the slots still to come that were put in the queue ahead
    /// of their time, when `instance_id` stops and no other live instance
    /// (heartbeat within `stale_after`) would take them. They were never
    /// due, so nothing is lost: the instance that starts next finds them
    /// missed and applies the catch-up policy, as if they had never been
    /// announced. One statement, so an instance registering meanwhile
    /// either stops it or puts its slots in after it. Returns how many.
    pub async fn withdraw_announced(
        &self,
        instance_id: &str,
        now: DateTime<Utc>,
        stale_after: std::time::Duration,
    ) -> Result<u64> {
        let removed = sqlx::query(concat!(
            withdraw_announced!(),
            " AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id <> $2 AND i.takes_work = 1 \
             AND i.stopped_at IS NULL AND i.heartbeat_at >= $3)"
        ))
        .bind(ms(now))
        .bind(instance_id)
        .bind(ms(now).saturating_sub(super::duration_ms(stale_after)))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("taking back slots announced ahead"))?
        .rows_affected();
        Ok(removed)
    }
}

impl Store {
    /// Withdraws `run_id` if it is still queued and nobody took it (the one
    /// who asked for it gave up waiting): it is recorded skipped, with why,
    /// so it never runs later unannounced. `false` if it was taken already.
    pub async fn withdraw_queued(
        &self,
        run_id: RunId,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE runs SET status = 'skipped', finished_at = $2, error = $3, waiting = 0 \
             WHERE id = $1 AND status = 'queued' AND instance_id IS NULL",
        )
        .bind(run_id)
        .bind(ms(now))
        .bind(reason)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("withdrawing a queued run"))?
        .rows_affected();
        Ok(changed > 0)
    }
}
