//! Taking due runs from the queue: one transaction that reads the due rows,
//! what their jobs are doing on every instance, and carries out what the
//! overlap policy decides.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::super::batch::{MultiRow, chunks};
use super::super::error::{Result, StoreError};
use super::super::types::{JobId, RunId, Trigger};
use super::super::writes::{START_ATTEMPTS, StartRow, bind_start, execute_all};
use super::super::{Backend, Store, ms, opt_time, parsed, time};
use super::Partition;

/// Due rows in the order they are taken. `waiting` rows are left out: they
/// wait for their job's run to end, which wakes them.
macro_rules! due_select {
    ($which:literal) => {
        concat!(
            "SELECT r.id, r.job_id, r.\"trigger\" AS run_trigger, r.scheduled_for, r.slot, \
             r.attempt, r.retry_of, j.paused \
             FROM runs r JOIN jobs j ON j.id = r.job_id \
             WHERE r.status = 'queued' AND r.instance_id IS NULL AND r.waiting = 0 \
             AND r.scheduled_for <= $1 AND ",
            $which,
            " ORDER BY r.scheduled_for, r.id LIMIT $5"
        )
    };
}
/// Rows of the taker's share, and others' that waited long enough.
macro_rules! due_shared {
    () => {
        due_select!("(r.job_id % $2 = $3 OR r.scheduled_for <= $4)")
    };
}
/// One row, by id (a run asked for by hand); `$2`-`$4` bind as for the
/// shared select and go unused but for the id in `$2`.
macro_rules! due_one {
    () => {
        due_select!("r.id = $2 AND $3 = $3 AND $4 = $4")
    };
}
/// One job's rows (a backfill run by the process that asked for it), as
/// above with the job's id in `$2`.
macro_rules! due_job {
    () => {
        due_select!("r.job_id = $2 AND $3 = $3 AND $4 = $4")
    };
}
const DUE_SQLITE: &str = due_shared!();
// A job's row is locked with its runs, so two takers never decide about the
// same job at once; NO KEY UPDATE does not block the key-share locks that
// inserting runs of the job takes.
const DUE_POSTGRES: &str = concat!(due_shared!(), " FOR NO KEY UPDATE OF r, j SKIP LOCKED");
const DUE_ONE_SQLITE: &str = due_one!();
const DUE_ONE_POSTGRES: &str = concat!(due_one!(), " FOR NO KEY UPDATE OF r, j SKIP LOCKED");
const DUE_JOB_SQLITE: &str = due_job!();
const DUE_JOB_POSTGRES: &str = concat!(due_job!(), " FOR NO KEY UPDATE OF r, j SKIP LOCKED");

// Rows: (job_id). What else of these jobs is going on: runs running (or
// started by hand and about to run) on any instance, and the slot waiting
// for them. Two statements, each on its own index: a job's history may be
// long.
//
// The job ids drive (CROSS JOIN keeps them the outer loop on SQLite; it is
// a plain join to PostgreSQL): left to itself SQLite walked the status index
// instead, every queued row per chunk, and once runs piled up in the queue
// each take read hundreds of thousands of rows and fell further behind.
static BUSY_OF: MultiRow = MultiRow::new(
    "SELECT r.id, r.job_id, r.instance_id FROM ",
    1,
    "CROSS JOIN runs r WHERE r.job_id = v.column1 AND r.status IN ('running', 'queued') \
     AND r.instance_id IS NOT NULL",
);
// Caught-up slots and retries that wait are not read: they are woken one at
// a time, oldest first, and stay as they are until then.
static WAITING_OF: MultiRow = MultiRow::new(
    "SELECT r.id, r.job_id, r.\"trigger\" AS run_trigger, r.scheduled_for, r.slot, \
     r.attempt, r.retry_of FROM ",
    1,
    "CROSS JOIN runs r WHERE r.job_id = v.column1 AND r.waiting = 1 AND r.status = 'queued' \
     AND r.\"trigger\" = 'schedule'",
);
// Rows: (run_id). On PostgreSQL the busy runs are locked too, passing over
// any another transaction is changing (its instance finishing it, say): a
// job whose run could not be locked is decided at the next look. Holding
// the lock means that run cannot end before this take commits, so a slot
// set waiting here is seen by the end's wake (see `wake_waiting`).
static LOCK_BUSY: MultiRow = MultiRow::new(
    "SELECT r.id FROM ",
    1,
    "CROSS JOIN runs r WHERE r.id = v.column1 AND r.status IN ('running', 'queued') \
     AND r.instance_id IS NOT NULL FOR NO KEY UPDATE OF r SKIP LOCKED",
);

// Rows: (run_id, attempt, at, instance_id), as `START_ATTEMPTS`. Only a row
// still queued and unowned is taken.
static TAKE: MultiRow = MultiRow::new(
    "UPDATE runs SET status = 'running', started_at = v.column3, attempt = v.column2, \
     instance_id = v.column4, waiting = 0 FROM ",
    4,
    "WHERE runs.id = v.column1 AND runs.status = 'queued' AND runs.instance_id IS NULL",
);

// Rows: (run_id, at, reason).
static SKIP: MultiRow = MultiRow::new(
    "UPDATE runs SET status = 'skipped', finished_at = v.column2, error = v.column3, \
     waiting = 0 FROM ",
    3,
    "WHERE runs.id = v.column1 AND runs.status = 'queued'",
);

// Rows: (run_id).
static WAIT: MultiRow = MultiRow::new(
    "UPDATE runs SET waiting = 1 FROM ",
    1,
    "WHERE runs.id = v.column1 AND runs.status = 'queued'",
);

// Rows: (run_id, at).
static REQUEST_CANCEL: MultiRow = MultiRow::new(
    "UPDATE runs SET cancel_requested = v.column2 FROM ",
    2,
    "WHERE runs.id = v.column1 AND runs.status = 'running' AND runs.cancel_requested IS NULL",
);

/// One look at the queue.
#[derive(Clone, Debug)]
pub struct TakeRequest<'a> {
    /// The taker.
    pub instance_id: &'a str,
    /// Rows due by now are looked at.
    pub now: DateTime<Utc>,
    /// Most runs to start: the taker's free capacity.
    pub capacity: usize,
    /// The taker's share.
    pub partition: Partition,
    /// Other shares' rows due by this time are taken too: their instance is
    /// busy or gone.
    pub steal_before: DateTime<Utc>,
    /// Look at these rows only, whatever their share.
    pub only: Option<Only>,
}

/// Rows a take looks at instead of its share of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// One run asked for by hand, decided at once by the process asked.
    Run(RunId),
    /// One job's due rows, oldest first (a backfill that this process runs
    /// itself: it must not start a later slot before an earlier one).
    Job(JobId),
}

/// Rows looked at beyond the capacity: overlap skips and waits are settled
/// for them even when nothing more can start.
const LOOK_BEYOND: usize = 256;

/// A queued run, as the taker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRun {
    /// The run.
    pub id: RunId,
    /// Its job.
    pub job_id: JobId,
    /// Why it runs.
    pub trigger: Trigger,
    /// The slot it stands for.
    pub scheduled_for: DateTime<Utc>,
    /// Its slot, for slot runs.
    pub slot: Option<DateTime<Utc>>,
    /// Attempts made before (a retry of an interrupted run continues the count).
    pub attempt: i32,
    /// The run it retries.
    pub retry_of: Option<RunId>,
    /// Waiting for its job's run to end.
    pub waiting: bool,
    /// Its job is paused.
    pub paused: bool,
}

/// A run of a job with due rows that is running now, on any instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveRun {
    /// The run.
    pub id: RunId,
    /// Its job.
    pub job_id: JobId,
    /// The instance running it.
    pub instance_id: Option<String>,
}

/// What the taker decided about the rows it was shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decisions {
    /// Start these now, as the taker.
    pub start: Vec<RunId>,
    /// These wait for their job's running run.
    pub wait: Vec<RunId>,
    /// These will not run, for the reason given.
    pub skip: Vec<(RunId, String)>,
    /// Ask these running runs to stop (overlap = cancel_previous).
    pub cancel: Vec<RunId>,
    /// Rows that could start but found no capacity: they stay queued.
    pub left: usize,
}

/// What a take did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Taken {
    /// Runs now running as the taker, with the attempt to start.
    pub started: Vec<QueuedRun>,
    /// Rows recorded as skipped, with why.
    pub skipped: Vec<(QueuedRun, String)>,
    /// Running runs asked to stop.
    pub cancelled: Vec<ActiveRun>,
    /// Due rows remain that this instance could take with more capacity.
    pub more: bool,
    /// Some jobs were left undecided: a run of theirs was being changed by
    /// another transaction (ending, say). Look again in a moment.
    pub unsettled: bool,
}

/// Decides about due rows: `(due, waiting, running, capacity)`; due rows
/// oldest first, then the waiting rows and running runs of the same jobs.
pub type Decide<'d> =
    dyn FnOnce(&[QueuedRun], &[QueuedRun], &[ActiveRun], usize) -> Decisions + Send + 'd;

fn queued_from_row(row: &AnyRow, waiting: bool, paused: bool) -> sqlx::Result<QueuedRun> {
    Ok(QueuedRun {
        id: row.try_get("id")?,
        job_id: row.try_get("job_id")?,
        trigger: parsed(row, "run_trigger")?,
        scheduled_for: time(row, "scheduled_for")?,
        slot: opt_time(row, "slot")?,
        attempt: i32::try_from(row.try_get::<i64, _>("attempt")?).unwrap_or(i32::MAX),
        retry_of: row.try_get("retry_of")?,
        waiting,
        paused,
    })
}

fn active_from_row(row: &AnyRow) -> sqlx::Result<ActiveRun> {
    Ok(ActiveRun {
        id: row.try_get("id")?,
        job_id: row.try_get("job_id")?,
        instance_id: row.try_get("instance_id")?,
    })
}

impl Store {
    /// Takes due runs from the queue: shows `decide` the due rows (this
    /// instance's share first, see [`TakeRequest`]) with what else their jobs
    /// are doing, and carries out its decisions in the same transaction.
    pub async fn take_due(
        &self,
        request: &TakeRequest<'_>,
        decide: Box<Decide<'_>>,
    ) -> Result<Taken> {
        let op = "taking due runs";
        let now = ms(request.now);
        let limit = request.capacity.saturating_add(LOOK_BEYOND);
        let shares = i64::from(request.partition.count.max(1));
        let (sql, second) = match (self.backend, request.only) {
            (Backend::Sqlite, None) => (DUE_SQLITE, shares),
            (Backend::Postgres, None) => (DUE_POSTGRES, shares),
            (Backend::Sqlite, Some(Only::Run(id))) => (DUE_ONE_SQLITE, id),
            (Backend::Postgres, Some(Only::Run(id))) => (DUE_ONE_POSTGRES, id),
            (Backend::Sqlite, Some(Only::Job(id))) => (DUE_JOB_SQLITE, id),
            (Backend::Postgres, Some(Only::Job(id))) => (DUE_JOB_POSTGRES, id),
        };
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let rows = sqlx::query(sql)
            .bind(now)
            .bind(second)
            .bind(i64::from(request.partition.index))
            .bind(ms(request.steal_before))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if rows.is_empty() {
            tx.commit().await.map_err(StoreError::query(op))?;
            return Ok(Taken::default());
        }
        let due = rows
            .iter()
            .map(|row| {
                let paused = row.try_get::<i64, _>("paused")? != 0;
                queued_from_row(row, false, paused)
            })
            .collect::<sqlx::Result<Vec<_>>>()
            .map_err(StoreError::query(op))?;
        let mut jobs: Vec<JobId> = due.iter().map(|r| r.job_id).collect();
        jobs.sort_unstable();
        jobs.dedup();
        let paused: HashMap<JobId, bool> = due.iter().map(|r| (r.job_id, r.paused)).collect();
        let mut waiting = Vec::new();
        let mut running = Vec::new();
        for chunk in chunks(&jobs) {
            let rows = BUSY_OF
                .query(self.backend, chunk, |q, job| q.bind(*job))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
            for row in &rows {
                running.push(active_from_row(row).map_err(StoreError::query(op))?);
            }
            let rows = WAITING_OF
                .query(self.backend, chunk, |q, job| q.bind(*job))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
            for row in &rows {
                let job: JobId = row.try_get("job_id").map_err(StoreError::query(op))?;
                let paused = paused.get(&job).copied().unwrap_or(false);
                waiting.push(queued_from_row(row, true, paused).map_err(StoreError::query(op))?);
            }
        }
        waiting.sort_by_key(|r| (r.scheduled_for, r.id));
        let unsettled = match self.backend {
            Backend::Sqlite => HashSet::new(),
            Backend::Postgres => lock_busy(&mut tx, &running)
                .await
                .map_err(StoreError::query(op))?,
        };
        let (due, waiting, running) = if unsettled.is_empty() {
            (due, waiting, running)
        } else {
            let settled = |job: &JobId| !unsettled.contains(job);
            (
                due.into_iter().filter(|r| settled(&r.job_id)).collect(),
                waiting.into_iter().filter(|r| settled(&r.job_id)).collect(),
                running.into_iter().filter(|r| settled(&r.job_id)).collect(),
            )
        };
        let decisions = decide(&due, &waiting, &running, request.capacity);
        let taken = apply(
            &mut tx,
            self.backend,
            request,
            now,
            &due,
            &waiting,
            &running,
            decisions,
        )
        .await
        .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        // A full page means more may be due; worth another look only if
        // this one got somewhere (rows of jobs unknown here stay for others).
        let more = taken.more || (rows.len() >= limit && !taken.started.is_empty());
        Ok(Taken {
            more,
            unsettled: !unsettled.is_empty(),
            ..taken
        })
    }

    /// Asks the instance running `run_id` to cancel it (it looks about once
    /// a second). `false` if the run is not running.
    pub async fn request_cancel(&self, run_id: RunId, now: DateTime<Utc>) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE runs SET cancel_requested = $2 WHERE id = $1 AND status = 'running'",
        )
        .bind(run_id)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("asking for a run to be cancelled"))?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Runs of `instance_id` that another instance asked to stop.
    pub async fn cancel_requests(&self, instance_id: &str) -> Result<Vec<RunId>> {
        sqlx::query_scalar(
            "SELECT id FROM runs WHERE instance_id = $1 AND cancel_requested IS NOT NULL \
             AND status = 'running' ORDER BY id",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query("reading cancel requests"))
    }
}

/// Locks the busy runs (PostgreSQL); returns the jobs with a busy run that
/// another transaction holds: they are left as they are this time.
async fn lock_busy(tx: &mut AnyConnection, running: &[ActiveRun]) -> sqlx::Result<HashSet<JobId>> {
    let ids: Vec<RunId> = running.iter().map(|r| r.id).collect();
    let mut locked = HashSet::with_capacity(ids.len());
    for chunk in chunks(&ids) {
        let rows = LOCK_BUSY
            .query(Backend::Postgres, chunk, |q, id| q.bind(*id))
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            locked.insert(row.try_get::<RunId, _>(0)?);
        }
    }
    Ok(running
        .iter()
        .filter(|r| !locked.contains(&r.id))
        .map(|r| r.job_id)
        .collect())
}

/// Carries out `decisions` about the rows shown; ids the decisions name that
/// were not shown are ignored.
#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut AnyConnection,
    backend: Backend,
    request: &TakeRequest<'_>,
    now: i64,
    due: &[QueuedRun],
    waiting: &[QueuedRun],
    running: &[ActiveRun],
    decisions: Decisions,
) -> sqlx::Result<Taken> {
    let shown: HashMap<RunId, &QueuedRun> = due.iter().chain(waiting).map(|r| (r.id, r)).collect();
    let started: Vec<QueuedRun> = decisions
        .start
        .iter()
        .filter_map(|id| shown.get(id).map(|r| (*r).clone()))
        .collect();
    let starts: Vec<StartRow<'_>> = started
        .iter()
        .map(|r| StartRow {
            run_id: r.id,
            attempt: i64::from(r.attempt.max(0)) + 1,
            at: now,
            instance_id: request.instance_id,
        })
        .collect();
    // Attempt rows first: their guard needs the run still queued.
    execute_all(tx, backend, &START_ATTEMPTS, &starts, bind_start).await?;
    execute_all(tx, backend, &TAKE, &starts, bind_start).await?;
    let skipped: Vec<(QueuedRun, String)> = decisions
        .skip
        .into_iter()
        .filter_map(|(id, why)| shown.get(&id).map(|r| ((*r).clone(), why)))
        .collect();
    let skips: Vec<(RunId, i64, &str)> = skipped
        .iter()
        .map(|(r, why)| (r.id, now, why.as_str()))
        .collect();
    execute_all(tx, backend, &SKIP, &skips, |q, (id, at, why)| {
        q.bind(*id).bind(*at).bind(*why)
    })
    .await?;
    let waits: Vec<RunId> = decisions
        .wait
        .into_iter()
        .filter(|id| shown.get(id).is_some_and(|r| !r.waiting))
        .collect();
    execute_all(tx, backend, &WAIT, &waits, |q, id| q.bind(*id)).await?;
    let cancelled: Vec<ActiveRun> = running
        .iter()
        .filter(|r| decisions.cancel.contains(&r.id))
        .cloned()
        .collect();
    let cancels: Vec<(RunId, i64)> = cancelled.iter().map(|r| (r.id, now)).collect();
    execute_all(tx, backend, &REQUEST_CANCEL, &cancels, |q, (id, at)| {
        q.bind(*id).bind(*at)
    })
    .await?;
    Ok(Taken {
        started,
        skipped,
        cancelled,
        more: decisions.left > 0,
        unsettled: false,
    })
}
