//! Per-job counters for the jobs panel, for all jobs in two queries that
//! stay fast with a large history.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use sqlx::Row;

use super::error::{Result, StoreError};
use super::types::{JobId, JobStats, LastRun, RunId, RunStatus};
use super::{Store, opt_time, parsed, time};

/// Runs per job and status: an index-only scan of `runs_job_status_id`.
const COUNTS: &str = "SELECT job_id, status, COUNT(*) AS n FROM runs GROUP BY job_id, status";

/// Per job: the newest run that is not a `skipped` entry, and the number of
/// failed/interrupted runs newer than the last success. Every subquery is a
/// short index range (`runs_job_id` backwards, `runs_job_status_id`), so the
/// cost grows with the number of jobs, not of runs.
const LAST_AND_STREAK: &str = "\
SELECT s.job_id, lr.id AS last_id, lr.status, lr.scheduled_for, lr.started_at, lr.finished_at,
       (SELECT COUNT(*) FROM runs f
        WHERE f.job_id = s.job_id AND f.status IN ('failed', 'interrupted') AND f.id > s.last_ok)
           AS consecutive_failures
FROM (SELECT j.id AS job_id,
             (SELECT r.id FROM runs r WHERE r.job_id = j.id AND r.status <> 'skipped'
              ORDER BY r.id DESC LIMIT 1) AS last_id,
             COALESCE((SELECT MAX(r.id) FROM runs r
                       WHERE r.job_id = j.id AND r.status = 'succeeded'), 0) AS last_ok
      FROM jobs j) s
LEFT JOIN runs lr ON lr.id = s.last_id
ORDER BY s.job_id";

/// Windows counted by one statement of [`Store::failures_per_window`].
const WINDOWS_PER_STATEMENT: usize = 16;

/// Per window `k` (from 1): failed or interrupted runs that finished in
/// [`$2k-1`, `$2k`). `$33` is the earliest start, so the scan stays on runs
/// that can count. Built once from constants.
static FAILURES: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = (1..=WINDOWS_PER_STATEMENT)
        .map(|k| {
            format!(
                "CAST(COALESCE(SUM(CASE WHEN finished_at >= ${} AND finished_at < ${} \
                 THEN 1 ELSE 0 END), 0) AS BIGINT) AS w{k}",
                2 * k - 1,
                2 * k
            )
        })
        .collect();
    format!(
        "SELECT {} FROM runs WHERE status IN ('failed', 'interrupted') AND finished_at >= ${}",
        columns.join(", "),
        2 * WINDOWS_PER_STATEMENT + 1
    )
});

impl Store {
    /// How many runs ended `failed` or `interrupted` within each window
    /// `[start, end)`, in the order given: the console's failures per day
    /// and in the last 24 hours, without reading the runs one by one.
    pub async fn failures_per_window(
        &self,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<u64>> {
        let op = "counting failures";
        let mut counts = Vec::with_capacity(windows.len());
        for chunk in windows.chunks(WINDOWS_PER_STATEMENT) {
            let earliest = chunk.iter().map(|(start, _)| *start).min();
            let mut query = sqlx::query(FAILURES.as_str());
            for k in 0..WINDOWS_PER_STATEMENT {
                // Unused windows are empty: [0, 0).
                let (start, end) = chunk
                    .get(k)
                    .map_or((0, 0), |(s, e)| (super::ms(*s), super::ms(*e)));
                query = query.bind(start).bind(end);
            }
            let row = query
                .bind(earliest.map_or(0, super::ms))
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::query(op))?;
            for k in 0..chunk.len() {
                let n: i64 = row.try_get(k).map_err(StoreError::query(op))?;
                counts.push(n.max(0) as u64);
            }
        }
        Ok(counts)
    }

    /// Run count, error count, last run and consecutive failures of every
    /// job, ordered by job id.
    pub async fn job_stats(&self) -> Result<Vec<JobStats>> {
        let op = "computing job statistics";
        // (runs, errors) per job.
        let mut counts: HashMap<JobId, (i64, i64)> = HashMap::new();
        for row in sqlx::query(COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?
        {
            let decode = || -> sqlx::Result<(JobId, RunStatus, i64)> {
                Ok((
                    row.try_get("job_id")?,
                    parsed(&row, "status")?,
                    row.try_get("n")?,
                ))
            };
            let (job_id, status, n) = decode().map_err(StoreError::query(op))?;
            let entry = counts.entry(job_id).or_default();
            if status != RunStatus::Skipped {
                entry.0 += n;
            }
            if matches!(status, RunStatus::Failed | RunStatus::Interrupted) {
                entry.1 += n;
            }
        }
        let rows = sqlx::query(LAST_AND_STREAK)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<JobStats> {
                let job_id: JobId = row.try_get("job_id")?;
                let last_id: Option<RunId> = row.try_get("last_id")?;
                let last_run = match last_id {
                    Some(run_id) => Some(LastRun {
                        run_id,
                        status: parsed(row, "status")?,
                        scheduled_for: time(row, "scheduled_for")?,
                        started_at: opt_time(row, "started_at")?,
                        finished_at: opt_time(row, "finished_at")?,
                    }),
                    None => None,
                };
                let (run_count, error_count) = counts.get(&job_id).copied().unwrap_or_default();
                Ok(JobStats {
                    job_id,
                    run_count,
                    error_count,
                    last_run,
                    consecutive_failures: row.try_get("consecutive_failures")?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}
