//! What monitoring asks of the store: whether it answers and has every
//! migration this build knows, and per-job figures for a metrics scrape.
//! Each query is an index range or an index-only scan.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::error::{Result, StoreError};
use super::types::{JobId, RunStatus};
use super::{Store, parsed, time};

/// Runs per job and status: an index-only scan of `runs_job_status_id`.
const COUNTS: &str = "SELECT job_id, status, COUNT(*) AS n FROM runs GROUP BY job_id, status";

/// Per job, when its newest succeeded run finished: one short backwards
/// range of `runs_job_status_id` each.
const LAST_SUCCESS: &str = "\
SELECT s.job_id, r.finished_at FROM
  (SELECT j.id AS job_id,
          (SELECT MAX(x.id) FROM runs x WHERE x.job_id = j.id AND x.status = 'succeeded') AS ok_id
   FROM jobs j) s
JOIN runs r ON r.id = s.ok_id
WHERE r.finished_at IS NOT NULL";

/// The newest migration applied (successfully) to the store.
const APPLIED: &str = "SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success";

/// How the store's schema compares with this build's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaState {
    /// The newest migration the store has.
    pub applied: i64,
    /// The newest migration this build embeds.
    pub embedded: i64,
}

impl SchemaState {
    /// Every migration of this build is applied.
    pub fn current(&self) -> bool {
        self.applied >= self.embedded
    }
}

impl Store {
    /// Reads the schema's version: fails when the store does not answer.
    pub async fn schema_state(&self) -> Result<SchemaState> {
        let row = sqlx::query(APPLIED)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("reading the applied migrations"))?;
        let applied: Option<i64> = row
            .try_get("v")
            .map_err(StoreError::query("reading the applied migrations"))?;
        let embedded = super::connect::migrator(self.backend)
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        Ok(SchemaState {
            applied: applied.unwrap_or(0),
            embedded,
        })
    }

    /// How many runs the store holds, per job and status.
    pub async fn run_counts(&self) -> Result<Vec<(JobId, RunStatus, i64)>> {
        let op = "counting runs";
        let rows = sqlx::query(COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<_> {
                Ok((
                    row.try_get("job_id")?,
                    parsed(row, "status")?,
                    row.try_get("n")?,
                ))
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// When each job's newest succeeded run finished (jobs that never
    /// succeeded are absent).
    pub async fn last_successes(&self) -> Result<HashMap<JobId, DateTime<Utc>>> {
        let op = "reading the last successes";
        let rows = sqlx::query(LAST_SUCCESS)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<_> {
                Ok((row.try_get("job_id")?, time(row, "finished_at")?))
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}
