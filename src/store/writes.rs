//! Group commit of run changes: the scheduler's recorder collects starts,
//! failed attempts, finishes and log lines and writes them here, many per
//! transaction.
//!
//! Every write is tolerant of a run that is gone (its job deleted) or already
//! final (recovered by another instance): it then changes nothing, so one
//! stale entry never fails the whole batch.

use sqlx::AnyConnection;

use super::error::{Result, StoreError};
use super::types::{LogLine, RunStatus, RunWrite};
use super::{Store, ms};

const START_RUN: &str = "\
UPDATE runs SET status = 'running', started_at = COALESCE(started_at, $3), attempt = $2,
                instance_id = $4
WHERE id = $1 AND status IN ('queued', 'running')";

// ON CONFLICT: the attempt row may exist already (a run recorded as running
// at claim time, or a batch written twice).
const START_ATTEMPT: &str = "\
INSERT INTO run_attempts (run_id, attempt, started_at, status) VALUES ($1, $2, $3, 'running')
ON CONFLICT (run_id, attempt) DO NOTHING";

const CLOSE_ATTEMPT: &str = "\
UPDATE run_attempts SET status = $3, finished_at = $4, error = $5
WHERE run_id = $1 AND attempt = $2 AND finished_at IS NULL";

const FINISH_RUN: &str = "\
UPDATE runs SET status = $2, finished_at = $3, \"rows\" = $4, bytes = $5, outputs = $6,
                error = $7
WHERE id = $1 AND status IN ('queued', 'running')";

// The EXISTS guard turns a line of a deleted run into a no-op instead of a
// foreign-key error; a repeated seq is dropped the same way.
const INSERT_LOG: &str = "\
INSERT INTO run_logs (run_id, seq, ts, level, message)
SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM runs WHERE id = $1)
ON CONFLICT (run_id, seq) DO NOTHING";

/// Rejects writes that would leave a run in an impossible state.
fn check(write: &RunWrite) -> Result<()> {
    match write {
        RunWrite::Finished { run_id, status, .. } if !status.is_final() => {
            Err(StoreError::Invalid {
                what: format!(
                    "run {run_id} cannot finish as '{status}', which is not a final status"
                ),
            })
        }
        RunWrite::Started {
            run_id, attempt, ..
        }
        | RunWrite::AttemptFailed {
            run_id, attempt, ..
        } if *attempt < 1 => Err(StoreError::Invalid {
            what: format!("run {run_id}: attempt numbers start at 1 (got {attempt})"),
        }),
        _ => Ok(()),
    }
}

/// Applies one write on `conn` (inside the batch's transaction).
async fn apply(conn: &mut AnyConnection, write: &RunWrite) -> sqlx::Result<()> {
    match write {
        RunWrite::Started {
            run_id,
            attempt,
            instance_id,
            at,
        } => {
            let started = sqlx::query(START_RUN)
                .bind(*run_id)
                .bind(i64::from(*attempt))
                .bind(ms(*at))
                .bind(instance_id.as_str())
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if started > 0 {
                sqlx::query(START_ATTEMPT)
                    .bind(*run_id)
                    .bind(i64::from(*attempt))
                    .bind(ms(*at))
                    .execute(&mut *conn)
                    .await?;
            }
        }
        RunWrite::AttemptFailed {
            run_id,
            attempt,
            at,
            error,
        } => {
            sqlx::query(CLOSE_ATTEMPT)
                .bind(*run_id)
                .bind(i64::from(*attempt))
                .bind(RunStatus::Failed.as_str())
                .bind(ms(*at))
                .bind(error.as_str())
                .execute(&mut *conn)
                .await?;
        }
        RunWrite::Finished {
            run_id,
            attempt,
            status,
            at,
            rows,
            bytes,
            outputs,
            error,
        } => {
            // A Vec<String> always serialises; the fallback only keeps this
            // path free of panics.
            let outputs = serde_json::to_string(outputs).unwrap_or_else(|_| "[]".to_owned());
            let finished = sqlx::query(FINISH_RUN)
                .bind(*run_id)
                .bind(status.as_str())
                .bind(ms(*at))
                .bind(*rows)
                .bind(*bytes)
                .bind(outputs)
                .bind(error.as_deref())
                .execute(&mut *conn)
                .await?
                .rows_affected();
            // A run skipped or cancelled before it started has no attempt.
            if finished > 0 && *attempt >= 1 && *status != RunStatus::Skipped {
                sqlx::query(CLOSE_ATTEMPT)
                    .bind(*run_id)
                    .bind(i64::from(*attempt))
                    .bind(status.as_str())
                    .bind(ms(*at))
                    .bind(error.as_deref())
                    .execute(&mut *conn)
                    .await?;
            }
        }
        RunWrite::Log(line) => insert_log(conn, line).await?,
    }
    Ok(())
}

/// Stores one log line.
async fn insert_log(conn: &mut AnyConnection, line: &LogLine) -> sqlx::Result<()> {
    sqlx::query(INSERT_LOG)
        .bind(line.run_id)
        .bind(line.seq)
        .bind(ms(line.ts))
        .bind(line.level.as_str())
        .bind(line.message.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// Applies `writes` in order, in one transaction: all or nothing.
    ///
    /// Writes about runs that no longer exist or are already final change
    /// nothing (the run was deleted, or recovered by another instance).
    pub async fn write_batch(&self, writes: &[RunWrite]) -> Result<()> {
        for write in writes {
            check(write)?;
        }
        if writes.is_empty() {
            return Ok(());
        }
        let op = "recording run progress";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for write in writes {
            apply(&mut tx, write).await.map_err(StoreError::query(op))?;
        }
        tx.commit().await.map_err(StoreError::query(op))
    }
}
