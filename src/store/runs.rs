//! Runs: recording single runs, reading history, pruning.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;
use sqlx::{AnyConnection, Row};

use super::batch::AnyQuery;
use super::error::{Result, StoreError};
use super::types::{AttemptRecord, JobId, NewRun, RunFilter, RunId, RunRecord, RunStatus};
use super::{Store, ms, opt_ms, opt_time, parsed, string_list, time};

/// A run that is not a slot waiting in the run queue for an instance to
/// take it (rows waiting for their job's run count: they were due while it
/// ran).
macro_rules! not_in_queue {
    () => {
        "NOT (status = 'queued' AND instance_id IS NULL AND waiting = 0)"
    };
}

/// `--since` of run listings (`$3`, unix ms): when the run last did
/// something (ended, started, or was queued), so "failed in the last 24h"
/// means failures of the last 24 hours, whatever slot they stood for.
macro_rules! run_since {
    () => {
        "COALESCE(r.finished_at, r.started_at, r.queued_at) >= $3"
    };
}

pub(super) const SELECT_RUN: &str = concat!(run_select!(), " WHERE r.id = $1");
// Down the partial index runs_held (0011_checks.sql).
pub(super) const SELECT_EXPIRED_HOLDS: &str = concat!(
    run_select!(),
    " WHERE r.status = 'held' AND r.held_until <= $1 ORDER BY r.held_until, r.id"
);

const INSERT: &str = "\
INSERT INTO runs (job_id, \"trigger\", status, slot, scheduled_for, queued_at, started_at,
                  finished_at, attempt, instance_id, retry_of, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id";

const INSERT_ATTEMPT: &str = "\
INSERT INTO run_attempts (run_id, attempt, started_at, status) VALUES ($1, $2, $3, 'running')";

// One statement per filter combination, so each uses its own index
// (runs_job_id, runs_status_id, runs_job_status_id) instead of a generic
// `$n IS NULL OR ...` plan.
const LIST_ALL: &str = concat!(
    run_select!(),
    " WHERE r.id < $1 AND ",
    run_since!(),
    " ORDER BY r.id DESC LIMIT $2"
);
const LIST_JOB: &str = concat!(
    run_select!(),
    " WHERE r.job_id = (SELECT id FROM jobs WHERE name = $4) AND r.id < $1 AND ",
    run_since!(),
    " ORDER BY r.id DESC LIMIT $2"
);
const LIST_STATUS: &str = concat!(
    run_select!(),
    " WHERE r.status = $4 AND r.id < $1 AND ",
    run_since!(),
    " ORDER BY r.id DESC LIMIT $2"
);
const LIST_JOB_STATUS: &str = concat!(
    run_select!(),
    " WHERE r.job_id = (SELECT id FROM jobs WHERE name = $4) AND r.status = $5 AND r.id < $1 \
     AND ",
    run_since!(),
    " ORDER BY r.id DESC LIMIT $2"
);
// Matches the partial index runs_job_delivered (0008_content_hash.sql).
const LAST_DELIVERED: &str = "\
SELECT content_hash FROM runs
WHERE job_id = $1 AND content_hash IS NOT NULL AND unchanged = 0 AND status = 'succeeded'
ORDER BY finished_at DESC, id DESC LIMIT 1";
const RUNNING: &str = concat!(run_select!(), " WHERE r.status = 'running' ORDER BY r.id");

/// Decodes a row selected with `run_select!()`.
pub(super) fn run_from_row(row: &AnyRow) -> sqlx::Result<RunRecord> {
    Ok(RunRecord {
        id: row.try_get("id")?,
        job_id: row.try_get("job_id")?,
        job_name: row.try_get("job_name")?,
        trigger: parsed(row, "run_trigger")?,
        status: parsed(row, "status")?,
        slot: opt_time(row, "slot")?,
        scheduled_for: time(row, "scheduled_for")?,
        queued_at: time(row, "queued_at")?,
        started_at: opt_time(row, "started_at")?,
        finished_at: opt_time(row, "finished_at")?,
        attempt: row.try_get("attempt")?,
        rows: row.try_get("run_rows")?,
        bytes: row.try_get("bytes")?,
        outputs: string_list(row, "outputs")?,
        error: row.try_get("error")?,
        instance_id: row.try_get("instance_id")?,
        retry_of: row.try_get("retry_of")?,
        content_hash: row.try_get("content_hash")?,
        unchanged: row.try_get::<i64, _>("unchanged")? != 0,
        schema: schema(row, "output_schema")?,
        failed_check: row.try_get("failed_check")?,
        held_until: opt_time(row, "held_until")?,
        retry_at: opt_time(row, "retry_at")?,
    })
}

/// A stored schema; an unreadable one (edited by hand) reads as none, so
/// the next schema check has nothing to compare with rather than failing
/// every read of the run.
fn schema(row: &AnyRow, column: &str) -> sqlx::Result<Option<crate::export::value::Schema>> {
    let text: Option<String> = row.try_get(column)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Checks a new run's status and attempt before anything is written.
pub(super) fn check_new_run(run: &NewRun) -> Result<()> {
    let ok = match run.status {
        RunStatus::Queued | RunStatus::Skipped => true,
        RunStatus::Running => run.attempt >= 1,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            what: format!(
                "a new run must be queued, skipped, or running with attempt >= 1 (got {} with attempt {})",
                run.status, run.attempt
            ),
        })
    }
}

/// Binds the twelve values of a new run, in the column order of `INSERT`
/// (and of the run queue's multi-row insert).
pub(super) fn bind_run(q: AnyQuery, run: &NewRun) -> AnyQuery {
    let queued_at = ms(run.queued_at);
    // A run recorded as running started when it was recorded; a skipped
    // entry ended then.
    let (started_at, finished_at) = match run.status {
        RunStatus::Running => (Some(queued_at), None),
        RunStatus::Skipped => (None, Some(queued_at)),
        _ => (None, None),
    };
    q.bind(run.job_id)
        .bind(run.trigger.as_str())
        .bind(run.status.as_str())
        .bind(opt_ms(run.slot))
        .bind(ms(run.scheduled_for))
        .bind(queued_at)
        .bind(started_at)
        .bind(finished_at)
        .bind(i64::from(run.attempt))
        .bind(run.instance_id.as_deref())
        .bind(run.retry_of)
        .bind(run.error.as_deref())
}

/// Inserts `run` and, for a run recorded as already running, its first
/// attempt row.
pub(super) async fn insert_one(
    conn: &mut AnyConnection,
    run: &NewRun,
) -> sqlx::Result<Option<RunId>> {
    let queued_at = ms(run.queued_at);
    let id: Option<RunId> = bind_run(sqlx::query(INSERT), run)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    if let (Some(id), RunStatus::Running) = (id, run.status) {
        sqlx::query(INSERT_ATTEMPT)
            .bind(id)
            .bind(i64::from(run.attempt))
            .bind(queued_at)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

impl Store {
    /// Records one run (manual, retry, or a skipped entry). `Conflict` when
    /// its slot is taken, `NotFound` when the job does not exist.
    pub async fn insert_run(&self, run: &NewRun) -> Result<RunId> {
        check_new_run(run)?;
        let op = "recording a run";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let id = match insert_one(&mut tx, run).await {
            Ok(Some(id)) => id,
            Ok(None) => return Err(StoreError::decode(op, "the insert returned no id")),
            Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => {
                return Err(StoreError::Conflict {
                    what: format!("job {} already has a run for that slot", run.job_id),
                });
            }
            Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::ForeignKeyViolation => {
                return Err(StoreError::NotFound {
                    what: format!("job {}", run.job_id),
                });
            }
            Err(e) => return Err(StoreError::query(op)(e)),
        };
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(id)
    }

    /// The newest slot recorded for a job (run or skipped), where missed-slot
    /// detection resumes after a restart. Slots still in the run queue
    /// count only when `queue_taken` (another live instance is there to
    /// take them); for an instance alone, nobody took them and they were
    /// missed too (see [`Store::skip_missed`]).
    pub async fn last_slot(
        &self,
        job_id: JobId,
        queue_taken: bool,
    ) -> Result<Option<DateTime<Utc>>> {
        let op = "reading the last slot";
        // Newest first down the (job_id, slot) index, stopping at the first
        // that counts: MAX() with the extra condition read the whole history.
        let sql = if queue_taken {
            "SELECT MAX(slot) FROM runs WHERE job_id = $1"
        } else {
            concat!(
                "SELECT slot FROM runs WHERE job_id = $1 AND slot IS NOT NULL AND ",
                not_in_queue!(),
                " ORDER BY slot DESC LIMIT 1"
            )
        };
        let v: Option<Option<i64>> = sqlx::query_scalar(sql)
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        let last = v
            .flatten()
            .map(|v| {
                DateTime::from_timestamp_millis(v)
                    .ok_or_else(|| StoreError::decode(op, format!("slot {v} ms out of range")))
            })
            .transpose()?;
        // Slots kept in a catch-up plan were noticed already.
        let planned = self.plan_last_slots(Some(job_id)).await?.remove(&job_id);
        Ok(last.max(planned))
    }

    /// The newest slot of every job that has one (see [`Store::last_slot`]),
    /// in one query: loading many jobs must not cost a query each.
    pub async fn last_slots(
        &self,
        queue_taken: bool,
    ) -> Result<std::collections::HashMap<JobId, DateTime<Utc>>> {
        let op = "reading the last slots";
        // MAX over the (job_id, slot) index is quick; the slots still in
        // the queue (few, and kept apart by an index of their own) are
        // looked at per job only where they would be the maximum.
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT job_id, MAX(slot) FROM runs WHERE slot IS NOT NULL GROUP BY job_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        let queued: Vec<(i64, Option<i64>)> = if queue_taken {
            Vec::new()
        } else {
            sqlx::query_as(
                "SELECT job_id, MIN(slot) FROM runs \
             WHERE status = 'queued' AND instance_id IS NULL AND waiting = 0 \
             AND slot IS NOT NULL GROUP BY job_id",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?
        };
        let queued: std::collections::HashMap<i64, i64> = queued
            .into_iter()
            .filter_map(|(job, slot)| Some((job, slot?)))
            .collect();
        let mut last = std::collections::HashMap::with_capacity(rows.len());
        for (job, max) in rows {
            let Some(max) = max else { continue };
            let slot = match queued.get(&job) {
                Some(first_queued) if *first_queued <= max => self.last_slot(job, false).await?,
                _ => Some(DateTime::from_timestamp_millis(max).ok_or_else(|| {
                    StoreError::decode(op, format!("slot {max} ms out of range"))
                })?),
            };
            if let Some(slot) = slot {
                last.insert(job, slot);
            }
        }
        // Slots kept in a catch-up plan were noticed already.
        for (job, planned) in self.plan_last_slots(None).await? {
            let slot = last.entry(job).or_insert(planned);
            *slot = (*slot).max(planned);
        }
        Ok(last)
    }

    /// One run.
    pub async fn get_run(&self, id: RunId) -> Result<Option<RunRecord>> {
        let op = "reading a run";
        let row = sqlx::query(SELECT_RUN)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.as_ref()
            .map(run_from_row)
            .transpose()
            .map_err(StoreError::query(op))
    }

    /// The content hash of `job`'s last delivered run: the newest to
    /// succeed with a hash and without being unchanged. Failed and
    /// unchanged runs never count.
    pub async fn last_delivered_hash(&self, job: JobId) -> Result<Option<String>> {
        let op = "reading the last delivered run's content hash";
        let row = sqlx::query(LAST_DELIVERED)
            .bind(job)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.map(|row| row.try_get("content_hash"))
            .transpose()
            .map_err(StoreError::query(op))
    }

    /// A run's attempts, first to last.
    pub async fn attempts(&self, run_id: RunId) -> Result<Vec<AttemptRecord>> {
        let op = "reading run attempts";
        let rows = sqlx::query(
            "SELECT run_id, attempt, started_at, finished_at, status, error \
             FROM run_attempts WHERE run_id = $1 ORDER BY attempt",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<AttemptRecord> {
                Ok(AttemptRecord {
                    run_id: row.try_get("run_id")?,
                    attempt: row.try_get("attempt")?,
                    started_at: time(row, "started_at")?,
                    finished_at: opt_time(row, "finished_at")?,
                    status: parsed(row, "status")?,
                    error: row.try_get("error")?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Runs matching `filter`, newest first. Page by passing the last id of
    /// one page as `before_id` of the next.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let op = "listing runs";
        let before = filter.before_id.unwrap_or(i64::MAX);
        let limit = filter.limit.max(0);
        let since = filter.since.map_or(i64::MIN, ms);
        let query = match (&filter.job, filter.status) {
            (None, None) => sqlx::query(LIST_ALL).bind(before).bind(limit).bind(since),
            (Some(job), None) => sqlx::query(LIST_JOB)
                .bind(before)
                .bind(limit)
                .bind(since)
                .bind(job),
            (None, Some(status)) => sqlx::query(LIST_STATUS)
                .bind(before)
                .bind(limit)
                .bind(since)
                .bind(status.as_str()),
            (Some(job), Some(status)) => sqlx::query(LIST_JOB_STATUS)
                .bind(before)
                .bind(limit)
                .bind(since)
                .bind(job)
                .bind(status.as_str()),
        };
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(run_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Runs in progress (`running`), oldest first.
    pub async fn running_runs(&self) -> Result<Vec<RunRecord>> {
        let op = "listing running runs";
        let rows = sqlx::query(RUNNING)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(run_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Deletes finished runs (with their attempts and logs) that ended before
    /// `older_than`, and commands, decided catch-up plans and stopped or
    /// silent instances older than that. Returns how many runs were deleted. Runs still queued or running
    /// are kept whatever their age.
    pub async fn prune_history(&self, older_than: DateTime<Utc>) -> Result<u64> {
        let op = "pruning history";
        let cutoff = ms(older_than);
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let runs = sqlx::query(
            "DELETE FROM runs \
             WHERE status IN ('succeeded', 'failed', 'cancelled', 'interrupted', 'skipped', \
                              'discarded') \
             AND COALESCE(finished_at, queued_at) < $1",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?
        .rows_affected();
        // Decided catch-up plans go with the history; pending ones wait
        // for someone, whatever their age.
        sqlx::query("DELETE FROM catchup_plans WHERE status <> 'pending' AND decided_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        sqlx::query("DELETE FROM commands WHERE requested_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        sqlx::query(
            "DELETE FROM instances WHERE heartbeat_at < $1 \
             AND id NOT IN (SELECT instance_id FROM scheduler_lease WHERE instance_id IS NOT NULL)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(runs)
    }
}
