//! Per-job performance over a window of time: how often each job ran and
//! failed, how long it took (median and 95th percentile), what it exported
//! and how fast. The console's Performance view and `cronport report` read
//! it.
//!
//! Both databases compute everything, percentiles included, in one
//! statement with window functions: only one row per job comes back, however
//! many runs the window holds.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{Result, StoreError};
use super::types::JobId;
use super::{Store, ms};

/// The runs that count (`$1` <= finished_at < `$2`): those that ended, not
/// `skipped` entries (nothing ran) nor `queued`/`running` ones (not ended).
///
/// - durations (`d`) are those of runs that ran to a verdict, succeeded or
///   failed: an interrupted run's end is when its death was noticed and a
///   cancelled one's when the operator stopped it, neither says how long the
///   export takes;
/// - percentiles are nearest-rank (`ceil(q * n)`, written with integer
///   division so both databases agree: `(n + 1) / 2`, `(95 * n + 99) / 100`),
///   the rule of the job view's figures;
/// - rows, bytes and run time are those of succeeded runs, so rows/s is the
///   speed of the exports that delivered.
///
/// `SUM` is cast because PostgreSQL sums `BIGINT`s into `NUMERIC`, which the
/// `Any` driver cannot read.
const SUMMARY: &str = "\
WITH w AS (
    SELECT job_id, status, started_at, finished_at, \"rows\" AS run_rows, bytes
    FROM runs
    WHERE finished_at >= $1 AND finished_at < $2
      AND status IN ('succeeded', 'failed', 'interrupted', 'cancelled')
),
d AS (
    SELECT job_id, finished_at - started_at AS took,
           ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY finished_at - started_at) AS rn,
           COUNT(*) OVER (PARTITION BY job_id) AS n
    FROM w
    WHERE status IN ('succeeded', 'failed') AND started_at IS NOT NULL
),
p AS (
    SELECT job_id,
           MAX(CASE WHEN rn = (n + 1) / 2 THEN took END) AS p50,
           MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN took END) AS p95,
           MAX(took) AS slowest
    FROM d
    GROUP BY job_id
),
a AS (
    SELECT job_id,
           COUNT(*) AS runs,
           CAST(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS BIGINT) AS succeeded,
           CAST(SUM(CASE WHEN status IN ('failed', 'interrupted') THEN 1 ELSE 0 END) AS BIGINT)
               AS failures,
           CAST(SUM(CASE WHEN status = 'succeeded' THEN COALESCE(run_rows, 0) ELSE 0 END)
               AS BIGINT) AS total_rows,
           CAST(SUM(CASE WHEN status = 'succeeded' THEN COALESCE(bytes, 0) ELSE 0 END)
               AS BIGINT) AS total_bytes,
           CAST(SUM(CASE WHEN status = 'succeeded' AND started_at IS NOT NULL
                         THEN finished_at - started_at ELSE 0 END) AS BIGINT) AS busy_ms
    FROM w
    GROUP BY job_id
)
SELECT a.job_id, j.name, a.runs, a.succeeded, a.failures, a.total_rows, a.total_bytes,
       a.busy_ms, p.p50, p.p95, p.slowest
FROM a
JOIN jobs j ON j.id = a.job_id
LEFT JOIN p ON p.job_id = a.job_id";

/// One job's figures over the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPerformance {
    /// The job.
    pub job_id: JobId,
    /// Its name.
    pub job: String,
    /// Runs that ended in the window (succeeded, failed, interrupted or
    /// cancelled; skipped entries do not count).
    pub runs: i64,
    /// Of those, succeeded.
    pub succeeded: i64,
    /// Of those, failed or interrupted (the error count of the panels).
    pub failures: i64,
    /// Median duration in ms of the runs that succeeded or failed; `None`
    /// when there were none.
    pub p50_ms: Option<i64>,
    /// 95th percentile duration in ms, nearest rank.
    pub p95_ms: Option<i64>,
    /// The longest duration in ms.
    pub max_ms: Option<i64>,
    /// Rows exported by succeeded runs.
    pub rows: i64,
    /// Bytes written by succeeded runs.
    pub bytes: i64,
    /// Time succeeded runs took, in ms, summed.
    pub busy_ms: i64,
}

impl JobPerformance {
    /// Rows per second of the succeeded runs (their rows over their summed
    /// run time); `None` when they took no measurable time.
    pub fn rows_per_sec(&self) -> Option<f64> {
        (self.busy_ms > 0).then(|| self.rows as f64 * 1000.0 / self.busy_ms as f64)
    }
}

/// The jobs' figures over `[since, until)`, slowest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Performance {
    /// Start of the window.
    pub since: DateTime<Utc>,
    /// End of the window (excluded).
    pub until: DateTime<Utc>,
    /// One entry per job that had a run end in the window, by p95 duration
    /// descending (jobs with no duration last), then by name.
    pub jobs: Vec<JobPerformance>,
}

fn from_row(row: &AnyRow) -> sqlx::Result<JobPerformance> {
    Ok(JobPerformance {
        job_id: row.try_get("job_id")?,
        job: row.try_get("name")?,
        runs: row.try_get("runs")?,
        succeeded: row.try_get("succeeded")?,
        failures: row.try_get("failures")?,
        p50_ms: row.try_get("p50")?,
        p95_ms: row.try_get("p95")?,
        max_ms: row.try_get("slowest")?,
        rows: row.try_get("total_rows")?,
        bytes: row.try_get("total_bytes")?,
        busy_ms: row.try_get("busy_ms")?,
    })
}

impl Store {
    /// Per job, the runs that ended in `[since, until)`: counts, failures,
    /// p50/p95 durations, rows, bytes and rows/s, slowest (by p95) first.
    pub async fn performance(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Performance> {
        let op = "summarising job performance";
        let rows = sqlx::query(SUMMARY)
            .bind(ms(since))
            .bind(ms(until))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        let mut jobs = rows
            .iter()
            .map(from_row)
            .collect::<sqlx::Result<Vec<_>>>()
            .map_err(StoreError::query(op))?;
        // Sorted here, not in SQL: the databases disagree on where NULLs go.
        jobs.sort_by(|a, b| {
            b.p95_ms
                .cmp(&a.p95_ms)
                .then_with(|| b.p50_ms.cmp(&a.p50_ms))
                .then_with(|| a.job.cmp(&b.job))
        });
        Ok(Performance { since, until, jobs })
    }
}
