//! The messages that change the console's state (keys, the clock, what
//! the store and the scheduler answered) and the effects that come out of
//! it for the runtime to carry out.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::KeyEvent;

use super::backfill::PlanSummary;
use super::data::{JobDetails, RunDetails, Snapshot};
use super::model::{Engine, LogScope};
use super::takeover::LeaseNews;
use crate::control::Request;
use crate::events::{Event, LogEvent};
use crate::export::Preview;
use crate::job::JobSpec;
use crate::scheduler::backfill::Progress;
use crate::store::{InstanceInfo, RunId};

/// Something that happened, for [`Model::update`](super::update).
pub enum Msg {
    /// A key.
    Key(KeyEvent),
    /// The clock moved (once a second).
    Tick(DateTime<Utc>),
    /// The terminal changed size.
    Resize,
    /// Fresh data from the store.
    Snapshot(Box<Snapshot>),
    /// Reading the store failed.
    LoadFailed(String),
    /// Something the embedded scheduler did.
    Event(Event),
    /// Log lines (an attached console reads them from the store).
    Logs(Vec<LogEvent>),
    /// The console fell behind the bus and missed lines.
    LogLost(u64),
    /// A job view's data.
    JobDetails(Box<JobDetails>),
    /// A run view's data.
    RunDetails(Box<RunDetails>),
    /// Stored lines for the log panel.
    StoredLog {
        /// What they are.
        title: String,
        /// The lines.
        lines: Vec<LogEvent>,
    },
    /// A request was carried out, or not.
    Done(Result<String, String>),
    /// A save ended.
    Saved(Result<String, String>),
    /// A dry run ended.
    DryRun(Result<Preview, String>),
    /// The audit trail, read.
    Audit(Result<Vec<crate::store::AuditEntry>, String>),
    /// The jobs' performance, summarised.
    Performance(Result<crate::store::Performance, String>),
    /// The scheduler's state changed.
    Engine(Engine),
    /// News about the scheduler lease (attached only).
    Lease(LeaseNews),
    /// Requests in the store closed unrun as the scheduler started here
    /// (too old, or taken by the instance that is gone).
    CommandsClosed(Vec<crate::store::Command>),
    /// A backfill's plan, or why there is none.
    BackfillPlan(Result<PlanSummary, String>),
    /// A slot of the running backfill moved on.
    BackfillProgress(Progress),
    /// The backfill ended; why early, if it failed.
    BackfillEnded(Option<String>),
}

/// What the runtime should do.
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Ask the scheduler.
    Control(Request),
    /// Store a job: create it, or update `original` (name, version),
    /// with the new destinations it names, in one transaction.
    Save {
        /// The job.
        spec: Box<JobSpec>,
        /// For an edit: name and version it started from.
        original: Option<(String, i64)>,
        /// Destinations made from the form, written with the job.
        destinations: Vec<crate::destinations::NewLocal>,
    },
    /// Render a job without delivering it.
    DryRun(String),
    /// Send a run's kept output again (as `cronport runs redeliver`).
    Redeliver(RunId),
    /// Deliver a held run (as `cronport runs release`).
    Release(RunId),
    /// Drop a held run (as `cronport runs discard`).
    Discard(RunId),
    /// Read the audit trail (of one job, or all).
    LoadAudit(Option<String>),
    /// Summarise the jobs' runs that ended in `[since, until)`.
    LoadPerformance {
        /// Start of the window.
        since: DateTime<Utc>,
        /// Its end (excluded).
        until: DateTime<Utc>,
    },
    /// Read the store again (history of `history_job`, or of all).
    Refresh {
        /// Whose runs the history panel wants.
        history_job: Option<String>,
    },
    /// Load a job view.
    LoadJob(String),
    /// Load a run view.
    LoadRun(RunId),
    /// Load stored lines for the log panel.
    LoadLog(LogScope),
    /// Start the scheduler here, taking over from `from`; this console
    /// holds the lease as `claim` until the scheduler has it.
    TakeOver {
        /// The instance that is gone.
        from: InstanceInfo,
        /// The id the lease is held under.
        claim: String,
    },
    /// Decide a catch-up plan (approve all or some, or decline).
    DecideCatchUp {
        /// The plan.
        plan: crate::store::PlanId,
        /// What was decided.
        decision: crate::store::PlanDecision,
    },
    /// Plan a backfill of `job` over `[from, to]`.
    PlanBackfill {
        /// The job.
        job: String,
        /// From.
        from: DateTime<Utc>,
        /// To (included).
        to: DateTime<Utc>,
    },
    /// Queue these slots of `job` for the scheduler, and follow them.
    RunBackfill {
        /// The job.
        job: String,
        /// The slots, oldest first.
        slots: Vec<DateTime<Utc>>,
    },
    /// Stop the running backfill: withdraw what still waits.
    StopBackfill,
    /// Leave.
    Quit,
}
