//! Per-job counters for the jobs panel: two grouped queries for all jobs,
//! both answered from the `runs (job_id, status, id)` index.

use std::collections::HashMap;

use sqlx::Row;

use super::error::{Result, StoreError};
use super::types::{JobId, JobStats, LastRun};
use super::{Store, opt_time, parsed, time};

/// Counts per job. Sums are cast because PostgreSQL's SUM of BIGINT is
/// NUMERIC, which the Any driver cannot read. "Consecutive failures" are the
/// failed/interrupted runs newer than the job's last success.
const COUNTS: &str = "\
SELECT j.id AS job_id,
       CAST(COALESCE(SUM(CASE WHEN r.status <> 'skipped' THEN 1 ELSE 0 END), 0) AS BIGINT)
           AS run_count,
       CAST(COALESCE(SUM(CASE WHEN r.status IN ('failed', 'interrupted') THEN 1 ELSE 0 END), 0)
           AS BIGINT) AS error_count,
       CAST(COALESCE(SUM(CASE WHEN r.status IN ('failed', 'interrupted')
                               AND r.id > COALESCE(ok.last_ok, 0) THEN 1 ELSE 0 END), 0)
           AS BIGINT) AS consecutive_failures
FROM jobs j
LEFT JOIN runs r ON r.job_id = j.id
LEFT JOIN (SELECT job_id, MAX(id) AS last_ok FROM runs WHERE status = 'succeeded'
           GROUP BY job_id) ok ON ok.job_id = j.id
GROUP BY j.id
ORDER BY j.id";

/// The newest run of each job that is not a `skipped` entry.
const LAST_RUNS: &str = "\
SELECT r.id, r.job_id, r.status, r.scheduled_for, r.started_at, r.finished_at
FROM runs r
JOIN (SELECT job_id, MAX(id) AS id FROM runs WHERE status <> 'skipped' GROUP BY job_id) latest
  ON latest.id = r.id";

impl Store {
    /// Run count, error count, last run and consecutive failures of every
    /// job, ordered by job id.
    pub async fn job_stats(&self) -> Result<Vec<JobStats>> {
        let op = "computing job statistics";
        let mut last: HashMap<JobId, LastRun> = HashMap::new();
        for row in sqlx::query(LAST_RUNS)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?
        {
            let decode = || -> sqlx::Result<(JobId, LastRun)> {
                Ok((
                    row.try_get("job_id")?,
                    LastRun {
                        run_id: row.try_get("id")?,
                        status: parsed(&row, "status")?,
                        scheduled_for: time(&row, "scheduled_for")?,
                        started_at: opt_time(&row, "started_at")?,
                        finished_at: opt_time(&row, "finished_at")?,
                    },
                ))
            };
            let (job_id, run) = decode().map_err(StoreError::query(op))?;
            last.insert(job_id, run);
        }
        let rows = sqlx::query(COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<JobStats> {
                let job_id: JobId = row.try_get("job_id")?;
                Ok(JobStats {
                    job_id,
                    run_count: row.try_get("run_count")?,
                    error_count: row.try_get("error_count")?,
                    last_run: last.remove(&job_id),
                    consecutive_failures: row.try_get("consecutive_failures")?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}
