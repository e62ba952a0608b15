//! Group commit of run changes: the scheduler's recorder collects starts,
//! failed attempts, finishes and log lines and writes them here, many per
//! transaction, as multi-row statements (see `batch`).
//!
//! Every write is tolerant of a run that is gone (its job deleted) or already
//! final (recovered by another instance): it then changes nothing, so one
//! stale entry never fails the whole batch.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::batch::{AnyQuery, MultiRow, chunks};
use super::deliveries::{DELIVERY_STATUSES, DeliveryRecord};
use super::error::{Result, StoreError};
use super::types::{LogLine, RunId, RunStatus, RunWrite};
use super::{Backend, Store, ms};

mod marks;

// Rows: (run_id, attempt, at, instance_id). The attempt row is inserted
// before the run is updated, guarded by the same condition; ON CONFLICT
// because a run recorded as running at claim time already has it.
pub(super) static START_ATTEMPTS: MultiRow = MultiRow::new(
    "INSERT INTO run_attempts (run_id, attempt, started_at, status) \
     SELECT v.column1, v.column2, v.column3, 'running' FROM ",
    4,
    "WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = v.column1 \
                   AND r.status IN ('queued', 'running')) \
     ON CONFLICT (run_id, attempt) DO NOTHING",
);
static START_RUNS: MultiRow = MultiRow::new(
    "UPDATE runs SET status = 'running', started_at = COALESCE(runs.started_at, v.column3), \
     attempt = v.column2, instance_id = v.column4, retry_at = NULL FROM ",
    4,
    "WHERE runs.id = v.column1 AND runs.status IN ('queued', 'running')",
);
// Rows: (run_id, attempt, status, at, error). Runs in the same level are
// distinct, so closing attempts before finishing their runs is safe.
static CLOSE_ATTEMPTS: MultiRow = MultiRow::new(
    "UPDATE run_attempts SET status = v.column3, finished_at = v.column4, error = v.column5 FROM ",
    5,
    "WHERE run_attempts.run_id = v.column1 AND run_attempts.attempt = v.column2 \
     AND run_attempts.finished_at IS NULL \
     AND EXISTS (SELECT 1 FROM runs r WHERE r.id = v.column1 \
                 AND r.status IN ('queued', 'running'))",
);
// Rows: (run_id, status, at, rows, bytes, outputs, error).
static FINISH_RUNS: MultiRow = MultiRow::new(
    "UPDATE runs SET status = v.column2, finished_at = v.column3, \"rows\" = v.column4, \
     bytes = v.column5, outputs = v.column6, error = v.column7, retry_at = NULL FROM ",
    7,
    "WHERE runs.id = v.column1 AND runs.status IN ('queued', 'running')",
);
// An attempt that starts and ends within one batch (most do when runs are
// quick) is written whole: one attempt row and one update of the run,
// instead of an insert and three updates that move the run through the
// status indexes twice. Same guards as the separate statements.
// Rows: (run_id, attempt, started_at, finished_at, status, error).
static COMPLETE_ATTEMPTS: MultiRow = MultiRow::new(
    "INSERT INTO run_attempts (run_id, attempt, started_at, finished_at, status, error) \
     SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM ",
    6,
    "WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = v.column1 \
                   AND r.status IN ('queued', 'running')) \
     ON CONFLICT (run_id, attempt) DO UPDATE SET status = excluded.status, \
        finished_at = excluded.finished_at, error = excluded.error \
     WHERE run_attempts.finished_at IS NULL",
);
// Rows: (run_id, status, started_at, attempt, instance_id, finished_at, rows,
// bytes, outputs, error).
static COMPLETE_RUNS: MultiRow = MultiRow::new(
    "UPDATE runs SET status = v.column2, started_at = COALESCE(runs.started_at, v.column3), \
     attempt = v.column4, instance_id = v.column5, finished_at = v.column6, \
     \"rows\" = v.column7, bytes = v.column8, outputs = v.column9, error = v.column10, \
     retry_at = NULL FROM ",
    10,
    "WHERE runs.id = v.column1 AND runs.status IN ('queued', 'running')",
);
// Rows: (run_id, destination, status, location, error, fire_id, attempt,
// at). A run that is gone records nothing.
static DELIVERIES: MultiRow = MultiRow::new(
    "INSERT INTO run_deliveries (run_id, destination, status, location, error, fire_id, \
     attempt, at) \
     SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, \
            v.column8 FROM ",
    8,
    "WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = v.column1) \
     ON CONFLICT (run_id, destination) DO UPDATE SET status = excluded.status, \
        location = excluded.location, error = excluded.error, fire_id = excluded.fire_id, \
        attempt = excluded.attempt, at = excluded.at",
);

// Rows: (run_id, retry_at). Only a run still open waits for a retry.
static RETRY_AT: MultiRow = MultiRow::new(
    "UPDATE runs SET retry_at = v.column2 FROM ",
    2,
    "WHERE runs.id = v.column1 AND runs.status IN ('queued', 'running')",
);

// Rows: (run_id, seq, ts, level, message). A line of a deleted run, or a
// repeated seq, is dropped rather than failing the batch.
static INSERT_LOGS: MultiRow = MultiRow::new(
    "INSERT INTO run_logs (run_id, seq, ts, level, message) \
     SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM ",
    5,
    "WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = v.column1) \
     ON CONFLICT (run_id, seq) DO NOTHING",
);

pub(super) struct StartRow<'a> {
    pub(super) run_id: RunId,
    pub(super) attempt: i64,
    pub(super) at: i64,
    pub(super) instance_id: &'a str,
}

struct CloseRow<'a> {
    run_id: RunId,
    attempt: i64,
    status: RunStatus,
    at: i64,
    error: Option<&'a str>,
}

struct FinishRow<'a> {
    run_id: RunId,
    status: RunStatus,
    at: i64,
    rows: Option<i64>,
    bytes: Option<i64>,
    outputs: String,
    error: Option<&'a str>,
}

/// A start and the finish of the same attempt, next to each other for
/// their run in one batch.
struct CompleteRow<'a> {
    start: StartRow<'a>,
    finish: FinishRow<'a>,
}

/// The state changes that are the n-th change of their run in the batch.
/// Within a level every run appears once, so its statements commute;
/// applying level after level keeps each run's changes in order.
#[derive(Default)]
struct Level<'a> {
    starts: Vec<StartRow<'a>>,
    closes: Vec<CloseRow<'a>>,
    /// (run_id, unix ms of the next attempt), from failed attempts.
    retries: Vec<(RunId, i64)>,
    finishes: Vec<FinishRow<'a>>,
    completes: Vec<CompleteRow<'a>>,
}

/// Pairs of a `Started` and the `Finished` of the same attempt with no
/// other change to their run between them: start index to finish index.
fn completed_attempts(writes: &[RunWrite]) -> HashMap<usize, usize> {
    let mut pairs = HashMap::new();
    // A run's latest change, if it is a start: its index and attempt.
    let mut open: HashMap<RunId, (usize, i32)> = HashMap::new();
    for (index, write) in writes.iter().enumerate() {
        match write {
            RunWrite::Started {
                run_id, attempt, ..
            } => {
                open.insert(*run_id, (index, *attempt));
            }
            RunWrite::Finished {
                run_id,
                attempt,
                status,
                ..
            } => {
                // A skipped entry never started; a run skipped by a check
                // did, and its attempt is written whole like any other.
                if let Some((start, started)) = open.remove(run_id)
                    && started == *attempt
                    && (*status != RunStatus::Skipped || *attempt >= 1)
                {
                    pairs.insert(start, index);
                }
            }
            RunWrite::AttemptFailed { run_id, .. } => {
                open.remove(run_id);
            }
            RunWrite::Log(_)
            | RunWrite::Delivered { .. }
            | RunWrite::Content { .. }
            | RunWrite::Checked { .. } => {}
        }
    }
    pairs
}

fn finish_row<'a>(
    run_id: RunId,
    status: RunStatus,
    at: &chrono::DateTime<chrono::Utc>,
    rows: Option<i64>,
    bytes: Option<i64>,
    outputs: &[String],
    error: Option<&'a str>,
) -> FinishRow<'a> {
    FinishRow {
        run_id,
        status,
        at: ms(*at),
        rows,
        bytes,
        // A Vec<String> always serialises; the fallback only keeps this path
        // free of panics.
        outputs: serde_json::to_string(outputs).unwrap_or_else(|_| "[]".to_owned()),
        error,
    }
}

/// Sorts `writes` into levels and log lines.
fn plan(writes: &[RunWrite]) -> (Vec<Level<'_>>, Vec<&LogLine>) {
    let completed = completed_attempts(writes);
    let merged: std::collections::HashSet<usize> = completed.values().copied().collect();
    let mut levels: Vec<Level<'_>> = Vec::new();
    let mut logs = Vec::new();
    let mut seen: HashMap<RunId, usize> = HashMap::new();
    let mut level_of = |run_id: RunId, levels: &mut Vec<Level<'_>>| {
        let n = seen.entry(run_id).or_insert(0);
        let level = *n;
        *n += 1;
        if levels.len() <= level {
            levels.push(Level::default());
        }
        level
    };
    for (index, write) in writes.iter().enumerate() {
        match write {
            RunWrite::Started {
                run_id,
                attempt,
                instance_id,
                at,
            } => {
                let l = level_of(*run_id, &mut levels);
                let start = StartRow {
                    run_id: *run_id,
                    attempt: i64::from(*attempt),
                    at: ms(*at),
                    instance_id,
                };
                match completed.get(&index).map(|&finish| &writes[finish]) {
                    Some(RunWrite::Finished {
                        status,
                        at,
                        rows,
                        bytes,
                        outputs,
                        error,
                        ..
                    }) => {
                        let finish = finish_row(
                            *run_id,
                            *status,
                            at,
                            *rows,
                            *bytes,
                            outputs,
                            error.as_deref(),
                        );
                        levels[l].completes.push(CompleteRow { start, finish });
                    }
                    _ => levels[l].starts.push(start),
                }
            }
            RunWrite::AttemptFailed {
                run_id,
                attempt,
                at,
                error,
                retry_at,
            } => {
                let l = level_of(*run_id, &mut levels);
                levels[l].closes.push(CloseRow {
                    run_id: *run_id,
                    attempt: i64::from(*attempt),
                    status: RunStatus::Failed,
                    at: ms(*at),
                    error: Some(error),
                });
                levels[l].retries.push((*run_id, ms(*retry_at)));
            }
            // Written with its start.
            RunWrite::Finished { .. } if merged.contains(&index) => {}
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
                let l = level_of(*run_id, &mut levels);
                // A run skipped or cancelled before it started has no attempt.
                if *attempt >= 1 {
                    levels[l].closes.push(CloseRow {
                        run_id: *run_id,
                        attempt: i64::from(*attempt),
                        status: *status,
                        at: ms(*at),
                        error: error.as_deref(),
                    });
                }
                levels[l].finishes.push(finish_row(
                    *run_id,
                    *status,
                    at,
                    *rows,
                    *bytes,
                    outputs,
                    error.as_deref(),
                ));
            }
            RunWrite::Log(line) => logs.push(line),
            RunWrite::Delivered { .. } | RunWrite::Content { .. } | RunWrite::Checked { .. } => {}
        }
    }
    (levels, logs)
}

/// The delivery records of a batch, the last one per run and destination
/// (one statement may not change a row twice).
fn deliveries(writes: &[RunWrite]) -> Vec<(RunId, &DeliveryRecord)> {
    let mut last: HashMap<(RunId, &str), usize> = HashMap::new();
    let mut rows = Vec::new();
    for write in writes {
        if let RunWrite::Delivered { run_id, records } = write {
            for record in records {
                match last.get(&(*run_id, record.destination.as_str())) {
                    Some(&at) => rows[at] = (*run_id, record),
                    None => {
                        last.insert((*run_id, record.destination.as_str()), rows.len());
                        rows.push((*run_id, record));
                    }
                }
            }
        }
    }
    rows
}

/// The status an attempt ends with when its run ends with `status`: the
/// attempt of a run that a check held or skipped rendered its output, so
/// it succeeded (attempt rows know only how attempts end).
fn attempt_status(status: RunStatus) -> RunStatus {
    match status {
        RunStatus::Held | RunStatus::Skipped | RunStatus::Discarded => RunStatus::Succeeded,
        other => other,
    }
}

fn bind_delivery(q: AnyQuery, d: &(RunId, &DeliveryRecord)) -> AnyQuery {
    let (run_id, d) = d;
    q.bind(*run_id)
        .bind(d.destination.as_str())
        .bind(d.status.as_str())
        .bind(d.location.as_deref())
        .bind(d.error.as_deref())
        .bind(d.fire_id.as_str())
        .bind(d.attempt)
        .bind(ms(d.at))
}

pub(super) fn bind_start(q: AnyQuery, r: &StartRow<'_>) -> AnyQuery {
    q.bind(r.run_id)
        .bind(r.attempt)
        .bind(r.at)
        .bind(r.instance_id)
}

fn bind_close(q: AnyQuery, r: &CloseRow<'_>) -> AnyQuery {
    q.bind(r.run_id)
        .bind(r.attempt)
        .bind(attempt_status(r.status).as_str())
        .bind(r.at)
        .bind(r.error)
}

fn bind_retry(q: AnyQuery, r: &(RunId, i64)) -> AnyQuery {
    q.bind(r.0).bind(r.1)
}

fn bind_finish(q: AnyQuery, r: &FinishRow<'_>) -> AnyQuery {
    q.bind(r.run_id)
        .bind(r.status.as_str())
        .bind(r.at)
        .bind(r.rows)
        .bind(r.bytes)
        .bind(r.outputs.as_str())
        .bind(r.error)
}

fn bind_complete_attempt(q: AnyQuery, r: &CompleteRow<'_>) -> AnyQuery {
    q.bind(r.start.run_id)
        .bind(r.start.attempt)
        .bind(r.start.at)
        .bind(r.finish.at)
        .bind(attempt_status(r.finish.status).as_str())
        .bind(r.finish.error)
}

fn bind_complete_run(q: AnyQuery, r: &CompleteRow<'_>) -> AnyQuery {
    q.bind(r.start.run_id)
        .bind(r.finish.status.as_str())
        .bind(r.start.at)
        .bind(r.start.attempt)
        .bind(r.start.instance_id)
        .bind(r.finish.at)
        .bind(r.finish.rows)
        .bind(r.finish.bytes)
        .bind(r.finish.outputs.as_str())
        .bind(r.finish.error)
}

fn bind_log(q: AnyQuery, l: &&LogLine) -> AnyQuery {
    q.bind(l.run_id)
        .bind(l.seq)
        .bind(ms(l.ts))
        .bind(l.level.as_str())
        .bind(l.message.as_str())
}

/// Runs `template` over `rows` in chunks.
pub(super) async fn execute_all<T>(
    conn: &mut AnyConnection,
    backend: Backend,
    template: &MultiRow,
    rows: &[T],
    bind: fn(AnyQuery, &T) -> AnyQuery,
) -> sqlx::Result<()> {
    for chunk in chunks(rows) {
        template
            .query(backend, chunk, bind)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Rejects writes that would leave a run in an impossible state.
fn check(write: &RunWrite) -> Result<()> {
    match write {
        RunWrite::Delivered { records, .. } => match records
            .iter()
            .find(|d| !DELIVERY_STATUSES.contains(&d.status.as_str()))
        {
            Some(bad) => Err(StoreError::Invalid {
                what: format!(
                    "delivery status {:?} is not one of {DELIVERY_STATUSES:?}",
                    bad.status
                ),
            }),
            None => Ok(()),
        },
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

impl Store {
    /// Applies `writes` in one transaction: all or nothing. Changes to the
    /// same run take effect in the order given; log lines are ordered by
    /// their `seq`, not their position.
    ///
    /// Writes about runs that no longer exist or are already final change
    /// nothing (the run was deleted, or recovered by another instance).
    ///
    /// Returns how many queued runs that waited for the runs that ended here
    /// were woken (see [`Store::take_due`]): the queue has work again.
    pub async fn write_batch(&self, writes: &[RunWrite]) -> Result<u64> {
        for write in writes {
            check(write)?;
        }
        if writes.is_empty() {
            return Ok(0);
        }
        let op = "recording run progress";
        let (levels, logs) = plan(writes);
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for level in &levels {
            execute_all(
                &mut tx,
                self.backend,
                &START_ATTEMPTS,
                &level.starts,
                bind_start,
            )
            .await
            .map_err(StoreError::query(op))?;
            execute_all(
                &mut tx,
                self.backend,
                &START_RUNS,
                &level.starts,
                bind_start,
            )
            .await
            .map_err(StoreError::query(op))?;
            execute_all(
                &mut tx,
                self.backend,
                &CLOSE_ATTEMPTS,
                &level.closes,
                bind_close,
            )
            .await
            .map_err(StoreError::query(op))?;
            execute_all(&mut tx, self.backend, &RETRY_AT, &level.retries, bind_retry)
                .await
                .map_err(StoreError::query(op))?;
            execute_all(
                &mut tx,
                self.backend,
                &FINISH_RUNS,
                &level.finishes,
                bind_finish,
            )
            .await
            .map_err(StoreError::query(op))?;
            // Attempt rows first: their guard needs the run still open.
            execute_all(
                &mut tx,
                self.backend,
                &COMPLETE_ATTEMPTS,
                &level.completes,
                bind_complete_attempt,
            )
            .await
            .map_err(StoreError::query(op))?;
            execute_all(
                &mut tx,
                self.backend,
                &COMPLETE_RUNS,
                &level.completes,
                bind_complete_run,
            )
            .await
            .map_err(StoreError::query(op))?;
        }
        execute_all(
            &mut tx,
            self.backend,
            &DELIVERIES,
            &deliveries(writes),
            bind_delivery,
        )
        .await
        .map_err(StoreError::query(op))?;
        marks::write(&mut tx, self.backend, writes)
            .await
            .map_err(StoreError::query(op))?;
        execute_all(&mut tx, self.backend, &INSERT_LOGS, &logs, bind_log)
            .await
            .map_err(StoreError::query(op))?;
        let ended: Vec<RunId> = writes
            .iter()
            .filter_map(|w| match w {
                RunWrite::Finished { run_id, .. } => Some(*run_id),
                _ => None,
            })
            .collect();
        let woken = super::queue::wake_waiting(&mut tx, self.backend, &ended)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(woken)
    }
}
