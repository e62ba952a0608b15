//! Plain data exchanged with the store: jobs, runs, attempts and log lines.
//!
//! Times are `DateTime<Utc>` here and unix milliseconds in the database.

use chrono::{DateTime, Utc};

/// Primary key of a job.
pub type JobId = i64;
/// Primary key of a run.
pub type RunId = i64;

/// A job as written by the operator (config file, console form, CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDefinition {
    /// Unique slug, e.g. `daily-sales`.
    pub name: String,
    /// The schedule as written (`daily at 02:00` or a cron expression).
    pub schedule: String,
    /// The schedule translated to cron.
    pub cron: String,
    /// IANA timezone the schedule is computed in.
    pub timezone: String,
    /// The rest of the job (source, format, destinations, policies) as JSON;
    /// the store keeps it verbatim and never looks inside.
    pub definition: String,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Primary key; stable across edits, never reused.
    pub id: JobId,
    /// Unique slug.
    pub name: String,
    /// The schedule as written.
    pub schedule: String,
    /// The schedule as cron.
    pub cron: String,
    /// IANA timezone.
    pub timezone: String,
    /// Opaque JSON with the rest of the job.
    pub definition: String,
    /// Paused jobs are not scheduled.
    pub paused: bool,
    /// When the job was first stored.
    pub created_at: DateTime<Utc>,
    /// When the job last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; the console's edit form sends it back so a
    /// concurrent edit is detected instead of silently overwritten.
    pub version: i64,
}

impl JobRecord {
    /// True when `def` would change nothing in this record.
    pub fn matches(&self, def: &JobDefinition) -> bool {
        self.schedule == def.schedule
            && self.cron == def.cron
            && self.timezone == def.timezone
            && self.definition == def.definition
    }
}

/// What `apply_jobs` did, job names sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Jobs that did not exist before.
    pub created: Vec<String>,
    /// Jobs whose stored definition changed.
    pub updated: Vec<String>,
    /// Jobs given identically.
    pub unchanged: Vec<String>,
    /// Jobs deleted because they were missing from the input (prune only).
    pub pruned: Vec<String>,
}

/// The newest run of a job, for the jobs panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    /// The run.
    pub run_id: RunId,
    /// Its status.
    pub status: RunStatus,
    /// The slot or time it was meant for.
    pub scheduled_for: DateTime<Utc>,
    /// When its first attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Counters shown next to every job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStats {
    /// The job.
    pub job_id: JobId,
    /// Runs recorded, not counting `skipped` entries (they mark gaps).
    pub run_count: i64,
    /// Runs that ended `failed` or `interrupted`.
    pub error_count: i64,
    /// The newest run that is not a `skipped` entry.
    pub last_run: Option<LastRun>,
    /// `failed`/`interrupted` runs since the last `succeeded` one.
    pub consecutive_failures: i64,
}

/// The text stored for a value of one of the store's enums was not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}'")]
pub struct ParseEnumError {
    /// Which enum, e.g. "run status".
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

/// Declares a string-backed enum with `as_str`, `FromStr` and `Display`, so
/// the spelling in the database is written down exactly once.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The spelling stored in the database and shown to people.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::store::ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::store::ParseEnumError { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// Why a run exists.
    Trigger, "run trigger" {
        /// Its slot came due.
        Schedule = "schedule",
        /// An operator asked for it (test-run).
        Manual = "manual",
        /// A slot missed while no instance was running.
        CatchUp = "catch_up",
        /// A new run of a failed or interrupted one.
        Retry = "retry",
        /// A past slot run on request (`jobs backfill`).
        Backfill = "backfill",
    }
}

text_enum! {
    /// Where a run is in its life.
    RunStatus, "run status" {
        /// Waiting for a free worker.
        Queued = "queued",
        /// An attempt is in progress (or a retry is pending).
        Running = "running",
        /// Delivered.
        Succeeded = "succeeded",
        /// Gave up after its retries.
        Failed = "failed",
        /// Stopped by an operator or by shutdown.
        Cancelled = "cancelled",
        /// Its instance died while it ran.
        Interrupted = "interrupted",
        /// Not run (overlap or missed slots), or run and not delivered
        /// because a check failed (`on_check_fail = "skip"`); `error` says why.
        Skipped = "skipped",
        /// Rendered, and kept undelivered because a check failed
        /// (`on_check_fail = "hold"`): waits for `runs release` or `runs
        /// discard`, or for its hold to expire.
        Held = "held",
        /// A held run that was dropped, by hand or when its hold expired.
        Discarded = "discarded",
    }
}

impl RunStatus {
    /// True for states a run never leaves.
    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// A run to record: a due slot, a manual run, a retry or a skipped entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// The job.
    pub job_id: JobId,
    /// Why it runs.
    pub trigger: Trigger,
    /// `Queued`, `Running` (started at `queued_at`, attempt row created) or
    /// `Skipped` (finished at `queued_at`).
    pub status: RunStatus,
    /// The scheduled slot for schedule/catch-up runs and skipped entries;
    /// `None` for manual runs and retries. At most one run per job and slot.
    pub slot: Option<DateTime<Utc>>,
    /// The time the run stands for (its slot, or now for manual runs).
    pub scheduled_for: DateTime<Utc>,
    /// When it was recorded.
    pub queued_at: DateTime<Utc>,
    /// Attempt number; 0 until started.
    pub attempt: i32,
    /// The instance that owns it; `None` for a due slot in the run queue,
    /// which the instance that takes it will own.
    pub instance_id: Option<String>,
    /// The run this one retries.
    pub retry_of: Option<RunId>,
    /// Reason for a skipped entry.
    pub error: Option<String>,
}

/// A run as stored, with its job's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Primary key; grows with time, so newer runs have larger ids.
    pub id: RunId,
    /// The job.
    pub job_id: JobId,
    /// The job's name.
    pub job_name: String,
    /// Why it ran.
    pub trigger: Trigger,
    /// Current state.
    pub status: RunStatus,
    /// Its slot, when it has one.
    pub slot: Option<DateTime<Utc>>,
    /// The time it stands for.
    pub scheduled_for: DateTime<Utc>,
    /// When it was recorded.
    pub queued_at: DateTime<Utc>,
    /// When its first attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
    /// The latest attempt number.
    pub attempt: i32,
    /// Rows exported.
    pub rows: Option<i64>,
    /// Bytes written.
    pub bytes: Option<i64>,
    /// Where the export was delivered.
    pub outputs: Vec<String>,
    /// Why it failed, was cancelled or skipped.
    pub error: Option<String>,
    /// The instance that ran it.
    pub instance_id: Option<String>,
    /// The run this one retries.
    pub retry_of: Option<RunId>,
    /// The SHA-256 of its output, for jobs with `deliver = "on_change"`.
    pub content_hash: Option<String>,
    /// Succeeded without sending anything: its output was the same as the
    /// last delivered run's (`deliver = "on_change"`).
    pub unchanged: bool,
    /// Its output's columns and their types, when a check asked for them.
    pub schema: Option<crate::export::value::Schema>,
    /// The check its output failed (`max_change`); `error` says why.
    pub failed_check: Option<String>,
    /// For a held run: when it is discarded unless released first.
    pub held_until: Option<DateTime<Utc>>,
    /// While the run waits between attempts: when the next one starts.
    pub retry_at: Option<DateTime<Utc>>,
}

impl RunRecord {
    /// Wall time from the first start to the end, when both are known.
    pub fn duration_ms(&self) -> Option<i64> {
        match (self.started_at, self.finished_at) {
            (Some(start), Some(end)) => Some((end - start).num_milliseconds()),
            _ => None,
        }
    }
}

/// One attempt of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The run.
    pub run_id: RunId,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// `Running` while in progress, then how it ended.
    pub status: RunStatus,
    /// Why it failed.
    pub error: Option<String>,
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The run.
    pub run_id: RunId,
    /// Position in the run's log, increasing; the writer numbers the lines.
    pub seq: i64,
    /// When it was logged.
    pub ts: DateTime<Utc>,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// A change to a run, recorded in batches by the scheduler (group commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunWrite {
    /// An attempt began: the run becomes `running`, an attempt row is added.
    Started {
        /// The run.
        run_id: RunId,
        /// The attempt number, 1 for the first.
        attempt: i32,
        /// The instance running it.
        instance_id: String,
        /// When it started.
        at: DateTime<Utc>,
    },
    /// An attempt failed and a retry follows: the attempt row is closed, the
    /// run stays `running` with the next attempt's time.
    AttemptFailed {
        /// The run.
        run_id: RunId,
        /// The attempt that failed.
        attempt: i32,
        /// When it failed.
        at: DateTime<Utc>,
        /// Why.
        error: String,
        /// When the next attempt starts.
        retry_at: DateTime<Utc>,
    },
    /// The run ended: its attempt row and the run itself are closed.
    Finished {
        /// The run.
        run_id: RunId,
        /// The last attempt (0 if it never started).
        attempt: i32,
        /// A final status.
        status: RunStatus,
        /// When it ended.
        at: DateTime<Utc>,
        /// Rows exported.
        rows: Option<i64>,
        /// Bytes written.
        bytes: Option<i64>,
        /// Where the export went.
        outputs: Vec<String>,
        /// Why it failed or was cancelled.
        error: Option<String>,
    },
    /// What happened at each destination in an attempt (replacing what an
    /// earlier attempt recorded for the same destinations).
    Delivered {
        /// The run.
        run_id: RunId,
        /// One record per destination.
        records: Vec<super::DeliveryRecord>,
    },
    /// The content hash of the run's output, and whether it was the same
    /// as the last delivered run's (so nothing was sent). The last one
    /// written for a run stands.
    Content {
        /// The run.
        run_id: RunId,
        /// SHA-256, lowercase hex.
        hash: String,
        /// Nothing was sent because the content had not changed.
        unchanged: bool,
    },
    /// What the checks made of the run's output: its columns (for the
    /// next run's schema check), the check that failed, and for a held run
    /// when its hold expires. No status guard, like `Content`.
    Checked {
        /// The run.
        run_id: RunId,
        /// Its columns, JSON, when a check asked for them.
        schema: Option<String>,
        /// The check that failed.
        failed_check: Option<String>,
        /// When a held run's hold expires.
        held_until: Option<DateTime<Utc>>,
    },
    /// A log line of the run.
    Log(LogLine),
}

/// Which runs `list_runs` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this job's runs.
    pub job: Option<String>,
    /// Only runs in this state.
    pub status: Option<RunStatus>,
    /// Only runs that ended, started or were queued at or after this.
    pub since: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: i64,
    /// Only runs older than this one (the last id of the previous page).
    pub before_id: Option<RunId>,
}

impl Default for RunFilter {
    fn default() -> Self {
        RunFilter {
            job: None,
            status: None,
            since: None,
            limit: 100,
            before_id: None,
        }
    }
}
