//! Claiming scheduled slots: the one place that decides which instance runs
//! a slot. The database's UNIQUE (job_id, slot) settles races; the loser's
//! insert does nothing and it gets no id back.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::batch::{AnyQuery, MultiRow, chunks};
use super::error::{Result, StoreError};
use super::runs::check_new_run;
use super::types::{JobId, NewRun, RunId, RunStatus};
use super::writes::{START_ATTEMPTS, StartRow, bind_start, execute_all};
use super::{Backend, Store, ms, opt_ms};

// Rows: the twelve values of `Claim` and whether it is exclusive. No row is
// inserted when the job and slot already have a run, the job has been
// deleted, or, for an exclusive claim, another instance has a run of the
// job queued or running (see `NewRun::exclusive`). The WHERE clause
// also settles SQLite's INSERT-SELECT-ON CONFLICT parsing ambiguity; the
// ORDER BY keeps the insert order (and so PostgreSQL's lock order) by
// (job, slot) whatever join the planner picks for EXISTS.
static CLAIM: MultiRow = MultiRow::new(
    "INSERT INTO runs (job_id, \"trigger\", status, slot, scheduled_for, queued_at, started_at, \
                       finished_at, attempt, instance_id, retry_of, error) \
     SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
            v.column8, v.column9, v.column10, v.column11, v.column12 FROM ",
    13,
    "WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = v.column1) \
     AND (v.column13 = 0 OR NOT EXISTS (SELECT 1 FROM runs r WHERE r.job_id = v.column1 \
          AND r.status IN ('queued', 'running') AND r.instance_id <> v.column10)) \
     ORDER BY v.column1, v.column4 \
     ON CONFLICT (job_id, slot) DO NOTHING \
     RETURNING id, job_id, slot",
);

// Rows: (run_id). Only a run still queued (never started) is given back.
static RELEASE: MultiRow = MultiRow::new(
    "DELETE FROM runs WHERE status = 'queued' AND started_at IS NULL \
     AND id IN (SELECT v.column1 FROM ",
    1,
    ")",
);

/// A new run's values as stored.
struct Claim<'a> {
    run: &'a NewRun,
    slot: Option<i64>,
    queued_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl<'a> Claim<'a> {
    fn new(run: &'a NewRun) -> Claim<'a> {
        let queued_at = ms(run.queued_at);
        // A run recorded as running started when it was recorded; a skipped
        // entry ended then.
        let (started_at, finished_at) = match run.status {
            RunStatus::Running => (Some(queued_at), None),
            RunStatus::Skipped => (None, Some(queued_at)),
            _ => (None, None),
        };
        Claim {
            run,
            slot: opt_ms(run.slot),
            queued_at,
            started_at,
            finished_at,
        }
    }
}

fn bind_claim(q: AnyQuery, c: &(usize, Claim<'_>)) -> AnyQuery {
    let (_, c) = c;
    q.bind(c.run.job_id)
        .bind(c.run.trigger.as_str())
        .bind(c.run.status.as_str())
        .bind(c.slot)
        .bind(ms(c.run.scheduled_for))
        .bind(c.queued_at)
        .bind(c.started_at)
        .bind(c.finished_at)
        .bind(i64::from(c.run.attempt))
        .bind(c.run.instance_id.as_deref())
        .bind(c.run.retry_of)
        .bind(c.run.error.as_deref())
        .bind(i64::from(c.run.exclusive))
}

/// Inserts one chunk of claims and records which got a run id.
async fn claim_chunk(
    conn: &mut AnyConnection,
    backend: Backend,
    chunk: &[(usize, Claim<'_>)],
    ids: &mut [Option<RunId>],
) -> sqlx::Result<()> {
    let rows = CLAIM
        .query(backend, chunk, bind_claim)
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
    for (index, claim) in chunk {
        ids[*index] = won.remove(&(claim.run.job_id, claim.slot));
    }
    Ok(())
}

impl Store {
    /// Claims scheduled slots in one transaction. Each entry gets the new
    /// run's id, or `None` when that job and slot already have a run (another
    /// instance got there first) or the job no longer exists.
    pub async fn claim_slots(&self, runs: &[NewRun]) -> Result<Vec<Option<RunId>>> {
        for run in runs {
            check_new_run(run)?;
        }
        let op = "claiming run slots";
        // Inserting in one global order keeps two PostgreSQL instances
        // claiming overlapping slots from deadlocking on each other's rows.
        let mut slotted: Vec<(usize, Claim<'_>)> = Vec::with_capacity(runs.len());
        let mut slotless: Vec<(usize, Claim<'_>)> = Vec::new();
        for (index, run) in runs.iter().enumerate() {
            let claim = (index, Claim::new(run));
            if run.slot.is_some() {
                slotted.push(claim);
            } else {
                slotless.push(claim);
            }
        }
        slotted.sort_by_key(|(_, c)| (c.run.job_id, c.slot));

        let mut ids = vec![None; runs.len()];
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for chunk in chunks(&slotted) {
            claim_chunk(&mut tx, self.backend, chunk, &mut ids)
                .await
                .map_err(StoreError::query(op))?;
        }
        // Without a slot, rows cannot be told apart in RETURNING: one each.
        for claim in &slotless {
            claim_chunk(&mut tx, self.backend, std::slice::from_ref(claim), &mut ids)
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

    /// Gives back claimed slots that will not run after all: deletes the
    /// runs, if they are still queued (never started), so the slots are free
    /// again. The scheduler claims slots a moment before their time and
    /// releases those whose job was paused, edited or deleted meanwhile, or
    /// that were still to come when it stopped. Returns how many were freed.
    pub async fn release_slots(&self, run_ids: &[RunId]) -> Result<u64> {
        let op = "releasing claimed slots";
        if run_ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let mut released = 0;
        for chunk in chunks(run_ids) {
            released += RELEASE
                .query(self.backend, chunk, |q, id| q.bind(*id))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(op))?
                .rows_affected();
        }
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(released)
    }
}
