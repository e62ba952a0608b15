//! What monitoring asks of the store: whether it answers and has every
//! migration this build knows, and per-job figures for a metrics scrape.
//! Each query is an index range or an index-only scan.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::error::{Result, StoreError};
use super::types::{JobId, RunStatus};
use super::{Store, opt_time, parsed};

/// Runs per status: an index-only scan of `runs_status_id`, so it grows
/// with the history; scrapes take it at most once a minute.
const BY_STATUS: &str = "SELECT status, COUNT(*) AS n FROM runs GROUP BY status";

/// Runs queued or running: two short ranges of `runs_status_id`.
const ACTIVE: &str = "\
SELECT status, COUNT(*) AS n FROM runs WHERE status IN ('queued', 'running') GROUP BY status";

/// Per job, when its newest succeeded run finished and how many runs failed
/// or were interrupted since: a short backwards range of
/// `runs_job_status_id` and one range after it each, so the cost grows with
/// the number of jobs, not of runs.
const HEALTH: &str = "\
SELECT s.job_id, ok.finished_at AS last_success,
       (SELECT COUNT(*) FROM runs f
        WHERE f.job_id = s.job_id AND f.status IN ('failed', 'interrupted') AND f.id > s.ok_id)
           AS consecutive_failures
FROM (SELECT j.id AS job_id,
             COALESCE((SELECT MAX(x.id) FROM runs x
                       WHERE x.job_id = j.id AND x.status = 'succeeded'), 0) AS ok_id
      FROM jobs j) s
LEFT JOIN runs ok ON ok.id = s.ok_id
ORDER BY s.job_id";

/// One job as monitoring sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobHealth {
    /// The job.
    pub job_id: JobId,
    /// When its newest succeeded run finished; `None` when none did.
    pub last_success: Option<DateTime<Utc>>,
    /// Failed or interrupted runs since that success (or ever).
    pub consecutive_failures: i64,
}

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

    /// How many runs the store holds, per status. Scans the whole history
    /// (an index-only scan): not for every scrape.
    pub async fn runs_by_status(&self) -> Result<HashMap<RunStatus, i64>> {
        self.count_by_status(BY_STATUS, "counting runs").await
    }

    /// How many runs are queued and running now, per status (absent: none).
    pub async fn active_runs(&self) -> Result<HashMap<RunStatus, i64>> {
        self.count_by_status(ACTIVE, "counting active runs").await
    }

    async fn count_by_status(
        &self,
        sql: &'static str,
        op: &'static str,
    ) -> Result<HashMap<RunStatus, i64>> {
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<_> { Ok((parsed(row, "status")?, row.try_get("n")?)) })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Every job's last success and failing streak, ordered by job id.
    pub async fn job_health(&self) -> Result<Vec<JobHealth>> {
        let op = "reading the jobs' last successes";
        let rows = sqlx::query(HEALTH)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<_> {
                Ok(JobHealth {
                    job_id: row.try_get("job_id")?,
                    last_success: opt_time(row, "last_success")?,
                    consecutive_failures: row.try_get("consecutive_failures")?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}
