//! Messages between the core and whoever watches it: [`Event`]s flow out of
//! the scheduler (to the console, the headless log, tests), [`Command`]s flow in.

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, oneshot};

use crate::store::{RunId, RunStatus, Trigger};

/// How many events a slow subscriber may fall behind before it misses some
/// (it is told how many it missed).
pub const EVENT_BUFFER: usize = 16_384;

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something to look at.
    Warn,
    /// A failure.
    Error,
}

impl Level {
    /// Lowercase name, as in JSON logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// From a tracing level (trace counts as debug).
    pub fn from_tracing(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::ERROR => Level::Error,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            _ => Level::Debug,
        }
    }
}

/// One log line, from a run or from the scheduler itself.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEvent {
    /// When it was written.
    pub ts: DateTime<Utc>,
    /// Severity.
    pub level: Level,
    /// The job, when the line belongs to a run.
    pub job: Option<String>,
    /// The run, when the line belongs to one.
    pub run_id: Option<RunId>,
    /// The text.
    pub message: String,
}

/// Something that happened in the core.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A slot was claimed (or a manual run asked for) and waits for a slot
    /// in the concurrency limit.
    RunQueued {
        /// The run.
        run_id: RunId,
        /// Its job.
        job: String,
        /// Why it runs.
        trigger: Trigger,
        /// The slot it is for.
        scheduled_for: DateTime<Utc>,
    },
    /// An attempt started.
    RunStarted {
        /// The run.
        run_id: RunId,
        /// Its job.
        job: String,
        /// Attempt number, from 1.
        attempt: u32,
        /// When.
        at: DateTime<Utc>,
    },
    /// An attempt failed and another will follow.
    RetryScheduled {
        /// The run.
        run_id: RunId,
        /// Its job.
        job: String,
        /// The attempt that failed.
        attempt: u32,
        /// When the next attempt starts.
        at: DateTime<Utc>,
        /// Why the attempt failed.
        error: String,
    },
    /// A run ended (any final status).
    RunFinished {
        /// The run.
        run_id: RunId,
        /// Its job.
        job: String,
        /// Final status.
        status: RunStatus,
        /// When.
        at: DateTime<Utc>,
        /// Rows exported.
        rows: Option<u64>,
        /// Bytes exported.
        bytes: Option<u64>,
        /// Where it went.
        outputs: Vec<String>,
        /// Why it failed, if it did.
        error: Option<String>,
    },
    /// Slots were recorded as skipped (overlap or missed while down).
    SlotsSkipped {
        /// The job.
        job: String,
        /// How many slots.
        count: u64,
        /// Why.
        reason: String,
    },
    /// A log line.
    Log(LogEvent),
    /// A job was created, changed, paused, resumed or deleted.
    JobChanged {
        /// The job.
        job: String,
    },
    /// The scheduler's own state changed.
    Scheduler(SchedulerState),
}

/// The scheduler's state, for headers and status lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedulerState {
    /// Firing jobs.
    Running,
    /// Every job paused.
    AllPaused,
    /// Stopping: no new runs; waiting for running ones.
    Draining,
    /// Stopped.
    Stopped,
}

/// Gets whether a command worked, or why not (for the console's status line
/// and the command line's exit code).
pub type Reply = oneshot::Sender<Result<(), String>>;

/// Something asked of the scheduler.
#[derive(Debug)]
pub enum Command {
    /// Run a job now (trigger `manual`), even if it is paused.
    RunNow {
        /// The job.
        job: String,
        /// Gets the new run's id, or why not.
        reply: Option<oneshot::Sender<Result<RunId, String>>>,
    },
    /// Pause a job.
    Pause {
        /// The job.
        job: String,
        /// Gets the outcome.
        reply: Option<Reply>,
    },
    /// Resume a job.
    Resume {
        /// The job.
        job: String,
        /// Gets the outcome.
        reply: Option<Reply>,
    },
    /// Pause every job.
    PauseAll {
        /// Gets the outcome.
        reply: Option<Reply>,
    },
    /// Resume every job.
    ResumeAll {
        /// Gets the outcome.
        reply: Option<Reply>,
    },
    /// Cancel a running run.
    Cancel {
        /// The run.
        run_id: RunId,
        /// Gets the outcome.
        reply: Option<Reply>,
    },
    /// Run a failed, interrupted or cancelled run again, as a new run
    /// (trigger `retry`) with the job's full retry budget.
    Retry {
        /// The run to retry.
        run_id: RunId,
        /// Gets the new run's id, or why not.
        reply: Option<oneshot::Sender<Result<RunId, String>>>,
    },
    /// Jobs changed in the store: reload them.
    Reload {
        /// Gets the outcome.
        reply: Option<Reply>,
    },
}

/// The sending side of the event bus.
pub type EventBus = broadcast::Sender<Event>;

/// A new event bus.
pub fn bus() -> EventBus {
    broadcast::channel(EVENT_BUFFER).0
}
