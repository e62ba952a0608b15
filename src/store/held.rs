//! Checks and held runs: what a job's checks compare with, and the moves of
//! a held run (released, discarded, expired). Every move out of `held` is
//! one guarded update (`WHERE status = 'held'`), so of two instances, or an
//! operator and the maintenance pass, racing for the same run exactly one
//! moves it and the other is told it was not held any more.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::error::{Result, StoreError};
use super::runs::{SELECT_EXPIRED_HOLDS, run_from_row};
use super::types::{JobId, RunId, RunRecord};
use super::{Store, ms};
use crate::export::value::Schema;

// Both down the (job_id, status, id) index, newest first.
const LAST_SUCCEEDED_ROWS: &str = "\
SELECT \"rows\" AS run_rows FROM runs
WHERE job_id = $1 AND status = 'succeeded' AND \"rows\" IS NOT NULL
ORDER BY id DESC LIMIT 1";
const LAST_SUCCEEDED_SCHEMA: &str = "\
SELECT output_schema FROM runs
WHERE job_id = $1 AND status = 'succeeded' AND output_schema IS NOT NULL
ORDER BY id DESC LIMIT 1";

/// What the checks of a job's next run compare with: its last succeeded
/// run's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckBaseline {
    /// Rows of the newest succeeded run.
    pub rows: Option<i64>,
    /// Columns of the newest succeeded run that recorded them.
    pub schema: Option<Schema>,
}

impl Store {
    /// What `job`'s checks compare with. Only succeeded runs count: a held
    /// run that was then discarded must not become the measure, or a
    /// discarded bad load would let the next bad one through.
    pub async fn check_baseline(&self, job: JobId, schema: bool) -> Result<CheckBaseline> {
        let op = "reading the last succeeded run for the checks";
        let rows: Option<i64> = sqlx::query(LAST_SUCCEEDED_ROWS)
            .bind(job)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?
            .map(|row| row.try_get("run_rows"))
            .transpose()
            .map_err(StoreError::query(op))?;
        let schema = if schema {
            let text: Option<String> = sqlx::query(LAST_SUCCEEDED_SCHEMA)
                .bind(job)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::query(op))?
                .map(|row| row.try_get("output_schema"))
                .transpose()
                .map_err(StoreError::query(op))?;
            // Unreadable (edited by hand): nothing to compare with.
            text.and_then(|t| serde_json::from_str(&t).ok())
        } else {
            None
        };
        Ok(CheckBaseline { rows, schema })
    }

    /// Take held run `run` for a release: it becomes `succeeded` before
    /// anything is delivered, so nobody else releases, discards or expires
    /// it meanwhile. False when it was not held.
    pub async fn begin_release(&self, run: RunId) -> Result<bool> {
        let op = "releasing a held run";
        let done = sqlx::query(
            "UPDATE runs SET status = 'succeeded', error = NULL, held_until = NULL \
             WHERE id = $1 AND status = 'held'",
        )
        .bind(run)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(op))?
        .rows_affected();
        Ok(done == 1)
    }

    /// A released run was delivered: where it went.
    pub async fn finish_release(&self, run: RunId, outputs: &[String]) -> Result<()> {
        let op = "recording a released run's outputs";
        let outputs =
            serde_json::to_string(outputs).map_err(|e| StoreError::decode(op, e.to_string()))?;
        sqlx::query("UPDATE runs SET outputs = $2 WHERE id = $1 AND status = 'succeeded'")
            .bind(run)
            .bind(outputs)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        Ok(())
    }

    /// A release that a destination refused: the run is held again as it
    /// was (`error`, `held_until`), so the release can be tried again.
    pub async fn undo_release(
        &self,
        run: RunId,
        error: Option<&str>,
        held_until: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let op = "holding a run again after a failed release";
        sqlx::query(
            "UPDATE runs SET status = 'held', error = $2, held_until = $3 \
             WHERE id = $1 AND status = 'succeeded'",
        )
        .bind(run)
        .bind(error)
        .bind(held_until.map(ms))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        Ok(())
    }

    /// Discard held run `run` because of `reason` (the check's message is
    /// kept after it). False when it was not held.
    pub async fn discard_held(&self, run: RunId, reason: &str) -> Result<bool> {
        let op = "discarding a held run";
        let done = sqlx::query(
            "UPDATE runs SET status = 'discarded', held_until = NULL, \
             error = $2 || COALESCE(' (held: ' || error || ')', '') \
             WHERE id = $1 AND status = 'held'",
        )
        .bind(run)
        .bind(reason)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(op))?
        .rows_affected();
        Ok(done == 1)
    }

    /// Held runs whose hold ended at or before `now`, oldest first.
    pub async fn expired_holds(&self, now: DateTime<Utc>) -> Result<Vec<RunRecord>> {
        let op = "listing expired holds";
        let rows = sqlx::query(SELECT_EXPIRED_HOLDS)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(run_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}
