//! The audit trail: one row per change to jobs and per operator action,
//! with who did it, how, through which instance, and what came of it.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{Result, StoreError};
use super::types::{RunId, text_enum};
use super::{Store, ms, parsed, time};

text_enum! {
    /// How an action reached the store.
    Way, "audit way" {
        /// The console (embedded scheduler or attached to an instance).
        Console = "console",
        /// A `cronport` subcommand.
        Cli = "cli",
        /// A job of the config file, added when a scheduler started.
        Config = "config",
    }
}

text_enum! {
    /// What was done.
    AuditAction, "audit action" {
        /// A job created (apply, console, config at start).
        Create = "create",
        /// A job's definition changed (apply, console edit).
        Update = "update",
        /// A job deleted (console, `jobs delete`).
        Delete = "delete",
        /// A job deleted by `apply --prune` because the file no longer lists it.
        Prune = "prune",
        /// One job paused.
        Pause = "pause",
        /// One job resumed.
        Resume = "resume",
        /// Every job paused.
        PauseAll = "pause_all",
        /// Every job resumed.
        ResumeAll = "resume_all",
        /// A run asked for by hand (trigger `manual`).
        RunNow = "run_now",
        /// A render without delivery.
        DryRun = "dry_run",
        /// A failed run run again (trigger `retry`).
        Retry = "retry",
        /// A running run asked to stop.
        Cancel = "cancel",
        /// A run's kept output sent again.
        Redeliver = "redeliver",
        /// A held run released: delivered.
        Release = "release",
        /// A held run discarded by hand.
        Discard = "discard",
        /// A destination made (from the console's job form).
        CreateDestination = "create_destination",
    }
}

/// An entry to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The OS user of the process the operator used.
    pub actor_user: String,
    /// That process's host.
    pub actor_host: String,
    /// How the action came in.
    pub way: Way,
    /// The instance that carried it out (`host:pid`, or an instance id).
    pub instance: String,
    /// What was done.
    pub action: AuditAction,
    /// The job concerned, if one.
    pub job: Option<String>,
    /// The run concerned, if one.
    pub run_id: Option<RunId>,
    /// What came of it: "done", or why not.
    pub outcome: String,
    /// The job's stored definition before a change.
    pub before: Option<String>,
    /// The job's stored definition after a change.
    pub after: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Primary key, in recording order.
    pub id: i64,
    /// What was recorded.
    pub entry: NewAuditEntry,
}

/// Which entries to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this job's.
    pub job: Option<String>,
    /// Only those at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: i64,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            job: None,
            since: None,
            limit: 1000,
        }
    }
}

macro_rules! audit_select {
    () => {
        "SELECT id, at, actor_user, actor_host, way, instance, action, job, run_id, outcome, \
         before, after FROM audit"
    };
}
const LIST_ALL: &str = concat!(audit_select!(), " WHERE at >= $1 ORDER BY id DESC LIMIT $2");
const LIST_JOB: &str = concat!(
    audit_select!(),
    " WHERE job = $3 AND at >= $1 ORDER BY id DESC LIMIT $2"
);

fn entry_from_row(row: &AnyRow) -> sqlx::Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        entry: NewAuditEntry {
            at: time(row, "at")?,
            actor_user: row.try_get("actor_user")?,
            actor_host: row.try_get("actor_host")?,
            way: parsed(row, "way")?,
            instance: row.try_get("instance")?,
            action: parsed(row, "action")?,
            job: row.try_get("job")?,
            run_id: row.try_get("run_id")?,
            outcome: row.try_get("outcome")?,
            before: row.try_get("before")?,
            after: row.try_get("after")?,
        },
    })
}

impl Store {
    /// Records `entry`; returns its id.
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64> {
        let op = "recording an audit entry";
        sqlx::query_scalar(
            "INSERT INTO audit (at, actor_user, actor_host, way, instance, action, job, run_id, \
             outcome, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING id",
        )
        .bind(ms(entry.at))
        .bind(&entry.actor_user)
        .bind(&entry.actor_host)
        .bind(entry.way.as_str())
        .bind(&entry.instance)
        .bind(entry.action.as_str())
        .bind(entry.job.as_deref())
        .bind(entry.run_id)
        .bind(&entry.outcome)
        .bind(entry.before.as_deref())
        .bind(entry.after.as_deref())
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query(op))
    }

    /// Entries matching `filter`, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let op = "listing the audit trail";
        let since = filter.since.map_or(i64::MIN, ms);
        let limit = filter.limit.max(0);
        let rows = match &filter.job {
            None => {
                sqlx::query(LIST_ALL)
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
            }
            Some(job) => {
                sqlx::query(LIST_JOB)
                    .bind(since)
                    .bind(limit)
                    .bind(job)
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(StoreError::query(op))?;
        rows.iter()
            .map(entry_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// Deletes entries older than `older_than`; returns how many.
    pub async fn prune_audit(&self, older_than: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM audit WHERE at < $1")
            .bind(ms(older_than))
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("pruning the audit trail"))?
            .rows_affected())
    }
}
