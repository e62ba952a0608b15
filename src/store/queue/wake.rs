//! Waking the queued runs that wait for their job's run to end.

use sqlx::{AnyConnection, Row};

use super::super::Backend;
use super::super::batch::{MultiRow, chunks};
use super::super::types::{JobId, RunId};

// Rows: (run_id). The jobs of runs that just ended.
static JOBS_OF: MultiRow = MultiRow::new(
    "SELECT DISTINCT r.job_id FROM ",
    1,
    "CROSS JOIN runs r WHERE r.id = v.column1",
);

// Rows: (job_id). Wakes the oldest row waiting for each job: one at a
// time, so a backlog of caught-up slots is not woken whole at every end.
static WAKE: MultiRow = MultiRow::new(
    "UPDATE runs SET waiting = 0 FROM ",
    1,
    "WHERE runs.id = (SELECT w.id FROM runs w WHERE w.job_id = v.column1 AND w.waiting = 1 \
                      ORDER BY w.scheduled_for, w.id LIMIT 1)",
);

/// Wakes, for each job of `ended` (runs that just ended), the oldest row
/// waiting for it; returns how many. A take that set a row waiting held the
/// lock of the run it waited for (see `LOCK_BUSY`), so the end that frees
/// it comes after that take's commit and sees the row.
pub(in crate::store) async fn wake_waiting(
    conn: &mut AnyConnection,
    backend: Backend,
    ended: &[RunId],
) -> sqlx::Result<u64> {
    if ended.is_empty() {
        return Ok(0);
    }
    if backend == Backend::Sqlite {
        // Writers are serialised here: no waiting row at all is the common
        // case, and nothing can set one while this transaction runs.
        let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM runs WHERE waiting = 1 LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
        if any.is_none() {
            return Ok(0);
        }
    }
    let mut jobs: Vec<JobId> = Vec::new();
    for chunk in chunks(ended) {
        let rows: Vec<JobId> = JOBS_OF
            .query(backend, chunk, |q, id| q.bind(*id))
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<sqlx::Result<_>>()?;
        jobs.extend(rows);
    }
    jobs.sort_unstable();
    jobs.dedup();
    let mut woken = 0;
    for chunk in chunks(&jobs) {
        woken += WAKE
            .query(backend, chunk, |q, job| q.bind(*job))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(woken)
}
