//! Instances, the scheduler lease, and recovery of runs whose instance died.
//!
//! Every process that schedules registers itself and heartbeats. One of them
//! holds the lease and acts on commands; all of them may run slots (the
//! unique slot claim keeps that safe) and recover the runs of dead peers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{Result, StoreError};
use super::runs::SELECT_RUN;
use super::types::{NewRun, RunId, RunRecord, RunStatus, Trigger};
use super::{Store, duration_ms, ms, time};

/// A scheduler process using the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Unique per process start (e.g. a random id).
    pub id: String,
    /// Where it runs.
    pub hostname: String,
    /// Its process id, for spotting dead processes on the same host.
    pub pid: u32,
    /// The cronport version it runs.
    pub version: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// It takes a share of the run queue (a scheduler); `false` for a
    /// process that only runs one job now (`cronport jobs run`).
    pub takes_work: bool,
}

/// `SELECT` of instances, read by [`instance_from_row`].
macro_rules! instance_select {
    () => {
        "SELECT i.id, i.hostname, i.pid, i.version, i.started_at, i.takes_work FROM instances i"
    };
}

const LEASE_HOLDER: &str = concat!(
    instance_select!(),
    " JOIN scheduler_lease l ON l.instance_id = i.id WHERE l.id = 1 AND l.expires_at > $1"
);
const LIVE: &str = concat!(
    instance_select!(),
    " WHERE i.stopped_at IS NULL AND i.heartbeat_at >= $1 ORDER BY i.started_at, i.id"
);

/// Decodes a row selected with `instance_select!()`.
fn instance_from_row(row: &AnyRow) -> sqlx::Result<InstanceInfo> {
    let pid: i64 = row.try_get("pid")?;
    Ok(InstanceInfo {
        id: row.try_get("id")?,
        hostname: row.try_get("hostname")?,
        pid: u32::try_from(pid).map_err(|e| sqlx::Error::ColumnDecode {
            index: "pid".to_owned(),
            source: e.into(),
        })?,
        version: row.try_get("version")?,
        started_at: time(row, "started_at")?,
        takes_work: row.try_get::<i64, _>("takes_work")? != 0,
    })
}

// Runs of instances that are silent, stopped or unknown. An instance that
// never registered cannot heartbeat, so its runs count as orphaned.
const INTERRUPT_STALE: &str = "\
UPDATE runs SET status = 'interrupted', finished_at = $1, retry_at = NULL,
       error = 'interrupted: instance ' || instance_id || ' stopped before the run ended'
WHERE status IN ('queued', 'running') AND instance_id IS NOT NULL
  AND instance_id NOT IN (SELECT id FROM instances WHERE heartbeat_at >= $2 AND stopped_at IS NULL)
RETURNING id";

const INTERRUPT_DEAD: &str = "\
UPDATE runs SET status = 'interrupted', finished_at = $1, retry_at = NULL,
       error = 'interrupted: instance ' || instance_id || ' stopped before the run ended'
WHERE status IN ('queued', 'running') AND instance_id = $2
RETURNING id";

const CLOSE_ATTEMPTS: &str = "\
UPDATE run_attempts SET status = 'interrupted', finished_at = $2,
       error = 'interrupted: the instance running it stopped'
WHERE run_id = $1 AND finished_at IS NULL";

impl Store {
    /// Records a starting instance (or re-registers one), with its start as
    /// its first heartbeat.
    pub async fn register_instance(&self, info: &InstanceInfo) -> Result<()> {
        sqlx::query(
            "INSERT INTO instances (id, hostname, pid, version, started_at, heartbeat_at, \
             stopped_at, takes_work) \
             VALUES ($1, $2, $3, $4, $5, $5, NULL, $6) \
             ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid, \
             version = excluded.version, started_at = excluded.started_at, \
             heartbeat_at = excluded.heartbeat_at, stopped_at = NULL, \
             takes_work = excluded.takes_work",
        )
        .bind(info.id.as_str())
        .bind(info.hostname.as_str())
        .bind(i64::from(info.pid))
        .bind(info.version.as_str())
        .bind(ms(info.started_at))
        .bind(i64::from(info.takes_work))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("registering this instance"))?;
        Ok(())
    }

    /// Says the instance is alive at `now`. `NotFound` if it is not
    /// registered (or was pruned): register again.
    pub async fn heartbeat(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        let updated = sqlx::query("UPDATE instances SET heartbeat_at = $2 WHERE id = $1")
            .bind(id)
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("recording a heartbeat"))?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound {
                what: format!("instance '{id}'"),
            });
        }
        Ok(())
    }

    /// Records a clean stop and gives up the lease if this instance held it.
    pub async fn mark_stopped(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        let op = "recording a stop";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        sqlx::query("UPDATE instances SET stopped_at = $2 WHERE id = $1")
            .bind(id)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        sqlx::query(RELEASE_LEASE)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))
    }

    /// Takes the scheduler lease until `now + ttl` if it is free, expired or
    /// already ours (then it is renewed); returns whether we hold it.
    ///
    /// One conditional UPDATE of the single lease row: on SQLite writes are
    /// serialised, on PostgreSQL a concurrent taker waits for the row lock
    /// and re-checks the condition, so two instances never both win. Only
    /// registered instances can take it.
    pub async fn try_acquire_lease(
        &self,
        id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        let now_ms = ms(now);
        let taken = sqlx::query(
            "UPDATE scheduler_lease SET instance_id = $1, expires_at = $3 \
             WHERE id = 1 AND (instance_id = $1 OR instance_id IS NULL OR expires_at <= $2) \
             AND EXISTS (SELECT 1 FROM instances WHERE id = $1)",
        )
        .bind(id)
        .bind(now_ms)
        .bind(now_ms.saturating_add(duration_ms(ttl)))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("taking the scheduler lease"))?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Gives up the lease if `id` holds it.
    pub async fn release_lease(&self, id: &str) -> Result<()> {
        sqlx::query(RELEASE_LEASE)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("releasing the scheduler lease"))?;
        Ok(())
    }

    /// The instance holding an unexpired lease at `now`, if any.
    pub async fn lease_holder(&self, now: DateTime<Utc>) -> Result<Option<InstanceInfo>> {
        let op = "reading the scheduler lease";
        let row = sqlx::query(LEASE_HOLDER)
            .bind(ms(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.as_ref()
            .map(instance_from_row)
            .transpose()
            .map_err(StoreError::query(op))
    }

    /// Instances that heartbeat within `stale_after` of `now` and have not
    /// stopped, oldest first.
    pub async fn live_instances(
        &self,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Vec<InstanceInfo>> {
        let op = "listing instances";
        let rows = sqlx::query(LIVE)
            .bind(ms(now).saturating_sub(duration_ms(stale_after)))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(instance_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Marks `interrupted` the queued and running runs of instances that are
    /// gone: no heartbeat within `stale_after` of `now`, stopped, unknown, or
    /// listed in `dead_ids` (e.g. a pid on this host that no longer exists).
    /// Their open attempts are closed too.
    ///
    /// Each run `retry` accepts (its job's policy has attempts left) gets a
    /// retry in the run queue in the same transaction, for any instance to
    /// take: an instance that dies right after recovering cannot lose it.
    ///
    /// Returns only the runs this call changed, each with its retry: with
    /// several instances recovering at once, each run is returned to exactly
    /// one of them.
    pub async fn recover_interrupted(
        &self,
        now: DateTime<Utc>,
        stale_after: Duration,
        dead_ids: &[String],
        retry: &(dyn Fn(&RunRecord) -> bool + Sync),
    ) -> Result<Vec<(RunRecord, Option<RunId>)>> {
        let op = "recovering interrupted runs";
        let now_ms = ms(now);
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let mut ids: Vec<RunId> = sqlx::query_scalar(INTERRUPT_STALE)
            .bind(now_ms)
            .bind(now_ms.saturating_sub(duration_ms(stale_after)))
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        for dead in dead_ids {
            let more: Vec<RunId> = sqlx::query_scalar(INTERRUPT_DEAD)
                .bind(now_ms)
                .bind(dead.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
            ids.extend(more);
        }
        let runs = requeue(&mut tx, self.backend, ids, now, retry)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(runs)
    }
}

// A run its own instance lost track of (see `Store::interrupt_orphans`).
const INTERRUPT_ORPHAN: &str = "\
UPDATE runs SET status = 'interrupted', finished_at = $1, retry_at = NULL,
       error = 'interrupted: its instance lost track of it (a store write failed)'
WHERE id = $2 AND instance_id = $3 AND status IN ('queued', 'running')
RETURNING id";

impl Store {
    /// Runs `instance_id` owns in the store that are not over: what it
    /// compares with what it is running.
    pub async fn own_runs(&self, instance_id: &str) -> Result<Vec<(RunId, Option<DateTime<Utc>>)>> {
        let op = "listing this instance's runs";
        let rows = sqlx::query(
            "SELECT id, started_at FROM runs WHERE status IN ('queued', 'running') \
             AND instance_id = $1",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, super::opt_time(row, "started_at")?)))
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Marks `interrupted` runs of `instance_id` that it has no task for
    /// (a store write that failed for good, a take whose answer was lost),
    /// and queues each one's retry as [`Store::recover_interrupted`] does.
    pub async fn interrupt_orphans(
        &self,
        instance_id: &str,
        ids: &[RunId],
        now: DateTime<Utc>,
        retry: &(dyn Fn(&RunRecord) -> bool + Sync),
    ) -> Result<Vec<(RunRecord, Option<RunId>)>> {
        let op = "interrupting runs nobody runs";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let mut changed = Vec::with_capacity(ids.len());
        for id in ids {
            let more: Vec<RunId> = sqlx::query_scalar(INTERRUPT_ORPHAN)
                .bind(ms(now))
                .bind(*id)
                .bind(instance_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::query(op))?;
            changed.extend(more);
        }
        let runs = requeue(&mut tx, self.backend, changed, now, retry)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(runs)
    }
}

/// For runs just marked interrupted: closes their open attempts, queues a
/// retry of each that `retry` accepts, and wakes what waited for them.
async fn requeue(
    tx: &mut sqlx::AnyConnection,
    backend: super::Backend,
    mut ids: Vec<RunId>,
    now: DateTime<Utc>,
    retry: &(dyn Fn(&RunRecord) -> bool + Sync),
) -> sqlx::Result<Vec<(RunRecord, Option<RunId>)>> {
    let now_ms = ms(now);
    ids.sort_unstable();
    let mut runs = Vec::with_capacity(ids.len());
    for id in ids {
        sqlx::query(CLOSE_ATTEMPTS)
            .bind(id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(SELECT_RUN).bind(id).fetch_one(&mut *tx).await?;
        let run = super::runs::run_from_row(&row)?;
        let retried = if retry(&run) {
            let queued = NewRun {
                job_id: run.job_id,
                trigger: Trigger::Retry,
                status: RunStatus::Queued,
                slot: None,
                // A retry stands for its run's slot, not the time a
                // jittered or deferred slot ran: its window ends at the
                // slot, and a backfill sees the slot done once it succeeds.
                scheduled_for: run.slot.unwrap_or(run.scheduled_for),
                queued_at: now,
                attempt: run.attempt,
                instance_id: None,
                retry_of: Some(run.id),
                error: None,
            };
            super::runs::insert_one(&mut *tx, &queued).await?
        } else {
            None
        };
        runs.push((run, retried));
    }
    let ended: Vec<RunId> = runs.iter().map(|(run, _)| run.id).collect();
    super::queue::wake_waiting(&mut *tx, backend, &ended).await?;
    Ok(runs)
}

const RELEASE_LEASE: &str = "UPDATE scheduler_lease SET instance_id = NULL, expires_at = 0 WHERE id = 1 AND instance_id = $1";
