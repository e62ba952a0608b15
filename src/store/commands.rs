//! Commands: how a console or the CLI asks the instance holding the lease to
//! act (run now, pause, cancel...). The holder polls about once a second,
//! takes what is pending, and completes each command with its outcome.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{Result, StoreError};
use super::types::{RunId, text_enum};
use super::{Store, flag, ms, opt_time, parsed, time};

text_enum! {
    /// What a command asks for.
    CommandKind, "command kind" {
        /// Run a job now (test-run); needs `job_name`. With a `run_id`
        /// instead, run that failed run again (trigger `retry`): a retry is
        /// a run all the same, and the schema's list of kinds stays as it is.
        Run = "run",
        /// Pause a job; needs `job_name`.
        Pause = "pause",
        /// Resume a job; needs `job_name`.
        Resume = "resume",
        /// Pause every job.
        PauseAll = "pause_all",
        /// Resume every job.
        ResumeAll = "resume_all",
        /// Cancel a run; needs `run_id`.
        Cancel = "cancel",
        /// Reload jobs from the store.
        Reload = "reload",
    }
}

/// A command to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommand {
    /// What to do.
    pub kind: CommandKind,
    /// The job it is about, for run/pause/resume.
    pub job_name: Option<String>,
    /// The run it is about, for cancel.
    pub run_id: Option<RunId>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
}

/// A command as stored, with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Primary key, in request order.
    pub id: i64,
    /// What to do.
    pub kind: CommandKind,
    /// The job it is about.
    pub job_name: Option<String>,
    /// The run it is about.
    pub run_id: Option<RunId>,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// The instance that took it.
    pub taken_by: Option<String>,
    /// When it was taken.
    pub taken_at: Option<DateTime<Utc>>,
    /// Whether the taker has finished with it.
    pub completed: bool,
    /// The run it started, for `run`.
    pub result_run_id: Option<RunId>,
    /// Why it could not be carried out.
    pub error: Option<String>,
}

macro_rules! command_columns {
    () => {
        "id, kind, job_name, run_id, requested_at, taken_by, taken_at, completed, result_run_id, error"
    };
}
// The takeover statements (`takeover.rs`) return whole commands too.
pub(super) use command_columns;

/// Takes every pending command in one statement. A second taker running at
/// the same time finds `taken_by` set (PostgreSQL re-checks the condition
/// after waiting for the row lock), so each command is taken once.
const TAKE: &str = concat!(
    "UPDATE commands SET taken_by = $1, taken_at = $2 WHERE taken_by IS NULL RETURNING ",
    command_columns!()
);
const SELECT_ONE: &str = concat!(
    "SELECT ",
    command_columns!(),
    " FROM commands WHERE id = $1"
);

/// Decodes rows with `command_columns!()` that a statement RETURNING them
/// gave back, oldest first (RETURNING promises no order).
pub(super) fn commands_from_rows(rows: &[AnyRow], op: &'static str) -> Result<Vec<Command>> {
    let mut commands = rows
        .iter()
        .map(command_from_row)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(StoreError::query(op))?;
    commands.sort_by_key(|c| c.id);
    Ok(commands)
}

/// Decodes a row with `command_columns!()`.
pub(super) fn command_from_row(row: &AnyRow) -> sqlx::Result<Command> {
    Ok(Command {
        id: row.try_get("id")?,
        kind: parsed(row, "kind")?,
        job_name: row.try_get("job_name")?,
        run_id: row.try_get("run_id")?,
        requested_at: time(row, "requested_at")?,
        taken_by: row.try_get("taken_by")?,
        taken_at: opt_time(row, "taken_at")?,
        completed: flag(row, "completed")?,
        result_run_id: row.try_get("result_run_id")?,
        error: row.try_get("error")?,
    })
}

/// Checks that a command names what its kind needs.
fn check(cmd: &NewCommand) -> Result<()> {
    let missing = match cmd.kind {
        CommandKind::Run if cmd.job_name.is_none() && cmd.run_id.is_none() => {
            Some("a job name (or, to retry, a run id)")
        }
        CommandKind::Pause | CommandKind::Resume if cmd.job_name.is_none() => Some("a job name"),
        CommandKind::Cancel if cmd.run_id.is_none() => Some("a run id"),
        _ => None,
    };
    match missing {
        Some(what) => Err(StoreError::Invalid {
            what: format!("a '{}' command needs {what}", cmd.kind),
        }),
        None => Ok(()),
    }
}

/// What a running instance looks at every second, read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    /// The counter of [`Store::jobs_version`].
    pub jobs_version: i64,
    /// Whether commands wait to be taken with [`Store::take_commands`].
    pub commands_waiting: bool,
}

impl Store {
    /// The jobs version and whether commands wait, in one read. Idle, a
    /// scheduler does little but poll this every second; taking commands
    /// (a write) every second instead was a third of its CPU.
    pub async fn changes(&self) -> Result<Changes> {
        let (jobs_version, waiting): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT value FROM store_meta WHERE key = 'jobs_version'), \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM commands WHERE taken_by IS NULL) \
                  THEN 1 ELSE 0 END AS BIGINT)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("looking for job edits and commands"))?;
        Ok(Changes {
            jobs_version,
            commands_waiting: waiting != 0,
        })
    }

    /// Queues a command for the lease holder; returns its id.
    pub async fn push_command(&self, cmd: &NewCommand) -> Result<i64> {
        check(cmd)?;
        sqlx::query_scalar(
            "INSERT INTO commands (kind, job_name, run_id, requested_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(cmd.kind.as_str())
        .bind(cmd.job_name.as_deref())
        .bind(cmd.run_id)
        .bind(ms(cmd.requested_at))
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::query("queueing a command"))
    }

    /// Takes every pending command for `instance_id`, oldest first. Each
    /// command is handed to exactly one caller.
    pub async fn take_commands(
        &self,
        instance_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Command>> {
        let op = "taking commands";
        let rows = sqlx::query(TAKE)
            .bind(instance_id)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        commands_from_rows(&rows, op)
    }

    /// Records the outcome of a taken command.
    pub async fn complete_command(
        &self,
        id: i64,
        result_run_id: Option<RunId>,
        error: Option<String>,
    ) -> Result<()> {
        let updated = sqlx::query(
            "UPDATE commands SET completed = 1, result_run_id = $2, error = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(result_run_id)
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("completing a command"))?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound {
                what: format!("command {id}"),
            });
        }
        Ok(())
    }

    /// One command, to follow its progress.
    pub async fn get_command(&self, id: i64) -> Result<Option<Command>> {
        let op = "reading a command";
        let row = sqlx::query(SELECT_ONE)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.as_ref()
            .map(command_from_row)
            .transpose()
            .map_err(StoreError::query(op))
    }
}
