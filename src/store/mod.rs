//! The store: jobs, run history, logs, instances and commands, in SQLite (the
//! default, one file) or PostgreSQL (several instances sharing the work).
//!
//! Both databases go through sqlx's `Any` driver with one set of SQL: `$n`
//! placeholders (SQLite accepts them), times as unix milliseconds, booleans as
//! integers, lists as JSON text. Where a statement must differ, the code
//! branches on [`Backend`] in that one place.

// Deletes the slots still to come that instances put in the run queue
// ahead of their time (`$1`: now): a pause takes them back (slots that pass
// while a job is paused do not run, and are not recorded either), and so
// does the last instance to stop (see `Store::withdraw_announced`).
macro_rules! withdraw_announced {
    () => {
        "DELETE FROM runs WHERE status = 'queued' AND instance_id IS NULL AND waiting = 0 \
         AND \"trigger\" = 'schedule' AND scheduled_for > $1"
    };
}

/// `SELECT` of a run with its job's name, read by `runs::run_from_row`; every
/// query that decodes runs with it selects these columns.
/// `trigger` and `rows` are SQL keywords, hence quoted and renamed.
macro_rules! run_select {
    () => {
        "SELECT r.id, r.job_id, j.name AS job_name, r.\"trigger\" AS run_trigger, r.status, \
         r.slot, r.scheduled_for, r.queued_at, r.started_at, r.finished_at, r.attempt, \
         r.\"rows\" AS run_rows, r.bytes, r.outputs, r.error, r.instance_id, r.retry_of, \
         r.content_hash, r.unchanged, r.retry_at, r.output_schema, r.failed_check, r.held_until \
         FROM runs r JOIN jobs j ON j.id = r.job_id"
    };
}

mod alerts;
mod audit;
mod batch;
mod catchup;
mod commands;
mod connect;
mod deliveries;
mod destinations;
mod error;
mod held;
mod identity;
mod instances;
mod jobs;
mod logs;
mod observe;
mod performance;
mod queue;
mod retry;
mod runs;
mod stats;
mod takeover;
mod types;
mod writes;

#[cfg(test)]
pub(crate) mod tests;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

pub use audit::{AuditAction, AuditEntry, AuditFilter, NewAuditEntry, Way};
pub use catchup::{
    CatchUpPlan, Decided, NewPlan, PlanDecision, PlanId, PlanSlot, PlanStatus, SlotSelection,
};
pub use commands::{Changes, Command, CommandKind, NewCommand};
pub use deliveries::{DELIVERY_STATUSES, DeliveryRecord};
pub use destinations::{NewDestination, StoredDestination};
pub use error::{Result, StoreError};
pub use held::CheckBaseline;
pub use instances::InstanceInfo;
pub use jobs::JOBS_PAGE;
pub use observe::{JobHealth, SchemaState};
pub use performance::{JobPerformance, Performance};
pub use queue::{
    ActiveRun, Decide, Decisions, MissedSlots, Only, Partition, QueuedRun, SlotState, TakeRequest,
    Taken,
};
pub use retry::RetryQueued;
pub use takeover::Liveness;
pub use types::{
    ApplyReport, AttemptRecord, JobDefinition, JobId, JobRecord, JobStats, LastRun, LogLine,
    NewRun, ParseEnumError, RunFilter, RunId, RunRecord, RunStatus, RunWrite, Trigger,
};

use connect::Location;

/// Which database holds the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// One file on this machine.
    Sqlite,
    /// A server shared by several instances.
    Postgres,
}

impl Backend {
    /// Lower-case name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A handle on the store. Cloning is cheap and clones share one pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    display_url: std::sync::Arc<str>,
    identity: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &self.display_url)
            .field("identity", &self.identity)
            .finish()
    }
}

impl Store {
    /// Opens the store at `url`, creating and migrating it as needed.
    ///
    /// `url` is `sqlite://PATH`, `sqlite:PATH`, a plain file path,
    /// `sqlite::memory:` (a private database, for tests and demos),
    /// or `postgres://...`/`postgresql://...`. A new SQLite file is created
    /// with mode 0600 (its folders 0700) and put in WAL mode.
    pub async fn open(url: &str) -> Result<Store> {
        let location = Location::parse(url).map_err(|cause| StoreError::Open {
            url: connect::redact(url),
            cause,
        })?;
        let pool = connect::connect(&location).await?;
        let identity = match identity::read(&pool, &location.display()).await {
            Ok(identity) => identity,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        Ok(Store {
            pool,
            backend: location.backend(),
            display_url: location.display().into(),
            identity,
        })
    }

    /// The store's own id: 32 hex digits written once when the store was
    /// created (or upgraded to have one), the same for every process and
    /// host that opens it, and different for every other store. What a
    /// store keeps on a host's disk is filed under it.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Which database this store is in.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store's URL, safe to show: passwords replaced by `***`.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Closes every connection of this handle and its clones, waiting for
    /// queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that will write. SQLite gets `BEGIN IMMEDIATE` so
    /// the write lock is taken (and waited for) up front: a deferred
    /// transaction that reads first and then writes fails at once with
    /// SQLITE_BUSY when another connection wrote in between.
    pub(crate) async fn write_tx(&self) -> sqlx::Result<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

impl Store {
    /// Copies committed pages from SQLite's write-ahead log into the database
    /// file, without waiting for or blocking anyone; nothing on PostgreSQL.
    ///
    /// The scheduler calls this every second from its housekeeping task. Left
    /// to SQLite, the checkpoint runs inside the commit that pushes the log
    /// past its limit, fsync included: under I/O load that commit (as often
    /// as not the claim of the next second's slots) took up to a second.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await
                .map_err(StoreError::query("checkpointing the write-ahead log"))?;
        }
        Ok(())
    }
}

/// Unix milliseconds, the store's time format.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Like [`ms`] for optional times.
pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

/// A `std::time::Duration` as milliseconds for SQL arithmetic, saturating rather
/// than overflowing on absurd values.
pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The error for a column whose content cannot be used.
fn column_error(col: &str, detail: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: detail.into(),
    }
}

/// Reads a millisecond column as a time.
pub(crate) fn time(row: &AnyRow, col: &str) -> sqlx::Result<DateTime<Utc>> {
    let v: i64 = row.try_get(col)?;
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| column_error(col, format!("time {v} ms out of range")))
}

/// Reads a nullable millisecond column as a time.
pub(crate) fn opt_time(row: &AnyRow, col: &str) -> sqlx::Result<Option<DateTime<Utc>>> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| {
        DateTime::from_timestamp_millis(v)
            .ok_or_else(|| column_error(col, format!("time {v} ms out of range")))
    })
    .transpose()
}

/// Reads a 0/1 column as a boolean.
pub(crate) fn flag(row: &AnyRow, col: &str) -> sqlx::Result<bool> {
    let v: i64 = row.try_get(col)?;
    Ok(v != 0)
}

/// Reads a text column holding one of the store's enums.
pub(crate) fn parsed<T>(row: &AnyRow, col: &str) -> sqlx::Result<T>
where
    T: std::str::FromStr<Err = ParseEnumError>,
{
    let v: String = row.try_get(col)?;
    v.parse()
        .map_err(|e: ParseEnumError| column_error(col, e.to_string()))
}

/// Reads a text column holding a JSON array of strings.
pub(crate) fn string_list(row: &AnyRow, col: &str) -> sqlx::Result<Vec<String>> {
    let v: String = row.try_get(col)?;
    serde_json::from_str(&v).map_err(|e| column_error(col, format!("not a JSON list: {e}")))
}
