//! Taking the schedule over from an instance that is gone: how alive an
//! instance looks, the lease taken from a holder whose process died and
//! handed from whoever took it to the scheduler it then starts, and the
//! commands left for the dead holder closed, so that none of them runs
//! unannounced long after it was asked for.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::commands::{Command, command_columns, commands_from_rows};
use super::error::{Result, StoreError};
use super::{Store, duration_ms, ms, opt_time, time};

/// When an instance last said it was alive, and whether it stopped cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    /// Its last heartbeat.
    pub heartbeat_at: DateTime<Utc>,
    /// Its clean stop, if it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// Closes commands nobody took: `taken_by` is set (so no instance takes them
/// later), and they are completed with the reason as their error.
const EXPIRE: &str = concat!(
    "UPDATE commands SET taken_by = $1, taken_at = $2, completed = 1, error = $3 \
     WHERE taken_by IS NULL AND requested_at < $4 RETURNING ",
    command_columns!()
);
const WITHDRAW: &str = "UPDATE commands SET taken_by = $2, taken_at = $3, completed = 1, \
     error = $4 WHERE id = $1 AND taken_by IS NULL";
const ABANDON: &str = concat!(
    "UPDATE commands SET completed = 1, error = $2 WHERE taken_by = $1 AND completed = 0 RETURNING ",
    command_columns!()
);

impl Store {
    /// The last heartbeat and the clean stop of instance `id`; `None` if it
    /// is not registered.
    pub async fn instance_liveness(&self, id: &str) -> Result<Option<Liveness>> {
        let op = "reading an instance's heartbeat";
        let row = sqlx::query("SELECT heartbeat_at, stopped_at FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.map(|row| {
            Ok(Liveness {
                heartbeat_at: time(&row, "heartbeat_at")?,
                stopped_at: opt_time(&row, "stopped_at")?,
            })
        })
        .transpose()
        .map_err(StoreError::query(op))
    }

    /// Takes the lease from `dead` for `id` until `now + ttl`, whether or not
    /// it has expired, if `dead` still holds it; returns whether `id` got it.
    ///
    /// For a holder known to be dead before its lease runs out (its process
    /// on this host is gone). The UPDATE is conditional on the row still
    /// naming `dead`, so of several takers exactly one wins. Only registered
    /// instances can take it.
    pub async fn take_lease_from(
        &self,
        dead: &str,
        id: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        self.move_lease(dead, id, now, ttl, "taking the lease of a dead instance")
            .await
    }

    /// Passes the lease from `from` to `to` until `now + ttl` if `from`
    /// holds it; returns whether it moved. A console that took the lease
    /// hands it to the scheduler it started (whose id it learns only then).
    pub async fn hand_over_lease(
        &self,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool> {
        self.move_lease(from, to, now, ttl, "handing over the scheduler lease")
            .await
    }

    async fn move_lease(
        &self,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
        ttl: Duration,
        op: &'static str,
    ) -> Result<bool> {
        let moved = sqlx::query(
            "UPDATE scheduler_lease SET instance_id = $2, expires_at = $3 \
             WHERE id = 1 AND instance_id = $1 AND EXISTS (SELECT 1 FROM instances WHERE id = $2)",
        )
        .bind(from)
        .bind(to)
        .bind(ms(now).saturating_add(duration_ms(ttl)))
        .execute(&self.pool)
        .await
        .map_err(StoreError::query(op))?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Closes every command that nobody took and that was requested before
    /// `before`: recorded as taken by `by` at `now`, completed, with
    /// `reason` as its error. Returns them, oldest first.
    ///
    /// A taker running at the same time finds them taken (the statements
    /// are conditional on `taken_by IS NULL`), so each command is either
    /// run or expired, never both.
    pub async fn expire_commands(
        &self,
        before: DateTime<Utc>,
        by: &str,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<Vec<Command>> {
        let op = "expiring old commands";
        let rows = sqlx::query(EXPIRE)
            .bind(by)
            .bind(ms(now))
            .bind(reason)
            .bind(ms(before))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        commands_from_rows(&rows, op)
    }

    /// Closes command `id` like [`Store::expire_commands`] if nobody has
    /// taken it yet; returns whether it was closed (false: an instance took
    /// it first, or there is no such command).
    pub async fn withdraw_command(
        &self,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool> {
        let closed = sqlx::query(WITHDRAW)
            .bind(id)
            .bind(by)
            .bind(ms(now))
            .bind(reason)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("withdrawing a command"))?
            .rows_affected();
        Ok(closed == 1)
    }

    /// Completes, with `reason` as their error, the commands that instance
    /// `taker` took and never completed (it is gone); returns them.
    pub async fn abandon_commands(&self, taker: &str, reason: &str) -> Result<Vec<Command>> {
        let op = "closing the commands of a dead instance";
        let rows = sqlx::query(ABANDON)
            .bind(taker)
            .bind(reason)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        commands_from_rows(&rows, op)
    }
}
