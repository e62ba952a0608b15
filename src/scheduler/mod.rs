//! The scheduler: a pure planner (when) driven by a tokio loop that claims
//! slots in the store, runs them with bounded concurrency, and publishes
//! every change as an [`Event`](crate::events::Event).

pub mod alerts;
mod attempt;
pub mod backfill;
mod driver;
mod executor;
pub mod held;
pub mod instance;
pub mod kept;
mod maintenance;
pub mod manual;
pub mod notify;
mod once;
pub mod overlap;
pub mod ping;
pub mod plan;
mod recorder;
pub mod redeliver;
pub mod runner;
pub mod spool;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::events::{Command, EventBus};
use crate::job::OverlapPolicy;
use crate::store::{JobId, Partition, RunId, RunRecord, Store, Taken};

pub use executor::{Executor, Exporter, delivery_records};
pub use once::{RunOnceError, Solo, SoloRunner, checked_job, run_once};
pub use redeliver::{RedeliverError, redeliver};

/// Default grace period for runs to finish at shutdown.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
/// How often an instance says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// An instance silent for this long is dead; its runs are interrupted.
pub const STALE_AFTER: Duration = Duration::from_secs(15);
/// How often the store is checked for edits and commands from consoles and
/// the command line.
pub const POLL: Duration = Duration::from_secs(1);

/// What an instance needs to know of a job to take its runs from the queue
/// and to retry them after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobRules {
    /// Its overlap policy.
    pub overlap: OverlapPolicy,
    /// How many attempts a run gets.
    pub max_attempts: u32,
}

/// The rules of every job this instance schedules, shared with the tasks
/// that take runs and recover crashed ones.
pub type Rules = HashMap<JobId, JobRules>;

/// Messages from the scheduler's own tasks back to its loop.
pub enum Internal {
    /// A take from the run queue came back.
    Taken {
        /// What was taken, or why the take failed.
        result: Result<Taken, String>,
        /// The capacity reserved for it: one permit per run started is
        /// split off for that run, the rest is given back.
        permits: Option<tokio::sync::OwnedSemaphorePermit>,
    },
    /// Runs ended and woke queued runs that waited for them.
    Woken,
    /// A run ended.
    RunEnded {
        /// The job.
        job_id: JobId,
        /// The run.
        run_id: RunId,
    },
    /// The store's jobs changed; here they all are.
    Jobs {
        /// The jobs version they were read at.
        version: i64,
        /// Every job.
        records: Vec<crate::store::JobRecord>,
    },
    /// Commands consoles and the command line left in the store.
    Commands(Vec<crate::store::Command>),
    /// Runs of dead instances, just marked interrupted, each with the retry
    /// queued for it (if its policy had attempts left).
    Recovered(Vec<(RunRecord, Option<RunId>)>),
    /// The live instances changed: this instance's share of the queue.
    Peers(Partition),
    /// Other instances asked for these runs of this instance to be cancelled.
    CancelRequests(Vec<RunId>),
    /// Time to compare what the store says this instance runs with what
    /// it runs.
    Reconcile,
    /// The store's view, for [`Internal::Reconcile`].
    Reconciled {
        /// When the comparison began.
        at: chrono::DateTime<chrono::Utc>,
        /// The runs that ran here then.
        known: std::collections::HashSet<RunId>,
        /// The runs the store has as this instance's and not over, with
        /// when they started.
        own: Vec<(RunId, Option<chrono::DateTime<chrono::Utc>>)>,
    },
}

/// What the scheduler is built from.
pub struct Parts {
    /// The store.
    pub store: Store,
    /// The config (connections, destinations, limits).
    pub config: Arc<Config>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Does the exports.
    pub executor: Arc<dyn Executor>,
    /// Where events go.
    pub bus: EventBus,
    /// Grace period at shutdown.
    pub grace: Duration,
}

/// A running scheduler.
pub struct Scheduler {
    commands: mpsc::Sender<Command>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), crate::store::StoreError>>,
    instance_id: String,
}

impl Scheduler {
    /// Register this instance, recover what dead instances left, load the
    /// jobs and start firing.
    pub async fn start(parts: Parts) -> Result<Scheduler, crate::store::StoreError> {
        let (commands, commands_rx) = mpsc::channel(256);
        let shutdown = CancellationToken::new();
        parts.executor.prepare().await;
        let driver = driver::Driver::start(parts, commands_rx, shutdown.clone()).await?;
        let instance_id = driver.instance_id().to_string();
        let task = tokio::spawn(driver.run());
        Ok(Scheduler {
            commands,
            shutdown,
            task,
            instance_id,
        })
    }

    /// Where to send commands.
    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// This instance's id in the store.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Stop claiming, let runs finish within the grace period, cancel the
    /// rest, and return when everything is recorded.
    pub async fn shutdown(self) -> Result<(), crate::store::StoreError> {
        self.shutdown.cancel();
        let result = match self.task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Ok(()),
        };
        // The last runs' pings are on their way; the process may exit next.
        ping::settle(ping::PING_TIMEOUT).await;
        result
    }
}
