//! The scheduler's loop: sleep until the next slot to announce, the next
//! look at the run queue, a command, a finished run or news from the
//! housekeeping task, whichever comes first. The loop never waits for the
//! store on the firing path: queue operations, run records and housekeeping
//! go through tasks that answer with [`Internal`] messages.
//!
//! The loop and the life of runs are here; what it does with slots and the
//! run queue (`queue`), with commands (`control`) and with the store's jobs
//! (`jobs`) is in the submodules.

mod control;
mod jobs;
mod queue;
mod reconcile;

use jobs::Known;
use queue::QueueState;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::alerts::{Alerts, Watched};
use super::maintenance::{self, Maintenance};
use super::manual::{self, Asked};
use super::plan::{Effect, Planner};
use super::recorder::{self, Request};
use super::runner::{self, CancelReason, RunControl, RunOrder, Shared};
use super::{Internal, Parts, Rules, STALE_AFTER, instance};
use crate::config::Config;
use crate::events::{Command, Event, SchedulerState};
use crate::job::Job;
use crate::store::{
    self, CommandKind, InstanceInfo, JobId, JobRecord, NewRun, RunId, RunRecord, RunStatus,
    RunWrite, Store, StoreError, Trigger,
};

/// Internal messages handled in one turn of the loop before it looks at the
/// clock again: a burst of finished runs costs one wake-up, not one each,
/// and slots still fire on time under a steady stream of them.
const MESSAGES_PER_TURN: usize = 1_024;

pub(super) struct Driver {
    shared: Arc<Shared>,
    store: Store,
    config: Arc<Config>,
    grace: std::time::Duration,
    me: InstanceInfo,
    planner: Planner,
    /// Name, version and stored definition of each scheduled job.
    jobs: HashMap<JobId, Known>,
    names: HashMap<String, JobId>,
    /// What taking and recovering need of each job; published to the
    /// housekeeping task whenever it changes.
    rules: Arc<Rules>,
    rules_tx: watch::Sender<Arc<Rules>>,
    /// The jobs the late-run check watches; published to it like `rules`.
    watched: Arc<Watched>,
    watched_tx: watch::Sender<Arc<Watched>>,
    running: HashMap<RunId, (JobId, RunControl)>,
    tasks: JoinSet<()>,
    /// Which run each task carries, to clean up after a task that panicked.
    task_runs: HashMap<tokio::task::Id, RunId>,
    internal: mpsc::UnboundedReceiver<Internal>,
    commands: mpsc::Receiver<Command>,
    shutdown: CancellationToken,
    recorder_task: tokio::task::JoinHandle<()>,
    /// When to look at the run queue, and what is in flight.
    queue: QueueState,
    /// Stops the housekeeping task once the drain is over.
    maintenance_stop: CancellationToken,
    maintenance_task: Option<tokio::task::JoinHandle<()>>,
    jobs_version: i64,
    holds_lease: bool,
}

impl Driver {
    pub(super) async fn start(
        parts: Parts,
        commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) -> Result<Driver, StoreError> {
        let Parts {
            store,
            config,
            clock,
            executor,
            bus,
            grace,
        } = parts;
        let now = clock.now();
        let me = instance::this_process(now);
        store.register_instance(&me).await?;
        let holds_lease = store.try_acquire_lease(&me.id, now, STALE_AFTER).await?;
        let (internal_tx, internal) = mpsc::unbounded_channel();
        let (recorder, recorder_task) = recorder::spawn(store.clone(), Some(internal_tx.clone()));
        let shared = Arc::new(Shared {
            clock,
            executor,
            bus,
            recorder,
            permits: Arc::new(Semaphore::new(config.scheduler.max_concurrent_runs)),
            instance_id: me.id.clone(),
            store: store.clone(),
            internal: internal_tx,
        });
        let partition = maintenance::partition(&store, &me.id, now).await;
        let rules = Arc::new(Rules::new());
        let (rules_tx, _) = watch::channel(rules.clone());
        let watched = Arc::new(Watched::new());
        let (watched_tx, _) = watch::channel(watched.clone());
        let mut driver = Driver {
            shared,
            store,
            config,
            grace,
            me,
            planner: Planner::new().enqueue_ahead(queue::ENQUEUE_AHEAD),
            jobs: HashMap::new(),
            names: HashMap::new(),
            rules,
            rules_tx,
            watched,
            watched_tx,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            task_runs: HashMap::new(),
            internal,
            commands,
            shutdown,
            recorder_task,
            queue: QueueState::new(partition, now),
            maintenance_stop: CancellationToken::new(),
            maintenance_task: None,
            jobs_version: -1,
            holds_lease,
        };
        // Jobs first: recovery retries a dead instance's runs by their job's
        // policy, so the jobs must be known.
        driver.reload().await?;
        let recovered =
            maintenance::recover(&driver.store, &driver.me.id, now, &driver.rules).await;
        driver.recovered(recovered);
        // Recovery may have found the lease holder dead and freed the lease.
        if !driver.holds_lease {
            driver.holds_lease = driver
                .store
                .try_acquire_lease(&driver.me.id, now, STALE_AFTER)
                .await?;
        }
        Ok(driver)
    }

    pub(super) fn instance_id(&self) -> &str {
        &self.me.id
    }

    fn publish(&self, event: Event) {
        let _ = self.shared.bus.send(event);
    }

    pub(super) async fn run(mut self) -> Result<(), StoreError> {
        tracing::info!(
            "scheduler started as {} with {} job(s), at most {} run(s) at once{}",
            self.me.id,
            self.jobs.len(),
            self.config.scheduler.max_concurrent_runs,
            if self.holds_lease {
                ""
            } else {
                " (another instance holds the scheduler lease; sharing the work)"
            }
        );
        self.publish(Event::Scheduler(SchedulerState::Running));
        let housekeeping = Maintenance {
            store: self.store.clone(),
            clock: self.shared.clock.clone(),
            instance_id: self.me.id.clone(),
            history_days: self.config.scheduler.history_days,
            audit_days: self.config.scheduler.audit_days,
            internal: self.shared.internal.clone(),
            commits: self.shared.recorder.commits(),
            jobs_version: self.jobs_version,
            holds_lease: self.holds_lease,
            rules: self.rules_tx.subscribe(),
            partition: self.queue.partition,
            kept: super::held::kept_of(&self.store, &self.config),
        };
        self.maintenance_task = Some(tokio::spawn(
            housekeeping.run(self.shutdown.clone(), self.maintenance_stop.clone()),
        ));
        let alerts = Alerts::new(
            self.store.clone(),
            self.shared.clock.clone(),
            self.me.id.clone(),
            &self.config,
            self.watched_tx.subscribe(),
        );
        tokio::spawn(alerts.run(self.shutdown.clone()));
        // Each turn is recorded for /healthz and feeds systemd's watchdog;
        // under a watchdog the loop turns at least every `beat`.
        let mut pulse = crate::health::Pulse::start(&self.me.id);
        let mut beat = pulse.beat().map(|every| {
            let mut beat = tokio::time::interval(every);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            beat
        });
        loop {
            pulse.turn();
            // Slots due now are announced before edits are applied, so an
            // edit that arrives at the moment of a slot never swallows it.
            // The look at the queue goes to the store first: the slots due
            // now are there already (announced a second ago), and putting
            // the next second's in may wait for other instances doing the
            // same.
            let now = self.shared.clock.now();
            let effects = self.planner.due(now);
            self.look_at_queue(now);
            self.carry_out(effects, now);
            let wake = [self.planner.next_deadline(), self.queue.next_wake()]
                .into_iter()
                .flatten()
                .min();
            let clock = self.shared.clock.clone();
            let sleep = async move {
                match wake {
                    Some(wake) => clock.sleep_until(wake).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = sleep => {}
                Some(command) = self.commands.recv() => self.command(command).await,
                Some(message) = self.internal.recv() => {
                    self.internal(message).await;
                    for _ in 1..MESSAGES_PER_TURN {
                        match self.internal.try_recv() {
                            Ok(message) => self.internal(message).await,
                            Err(_) => break,
                        }
                    }
                }
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.task_ended(joined).await;
                }
                _ = async {
                    match beat.as_mut() {
                        Some(beat) => {
                            beat.tick().await;
                        }
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
        pulse.stop();
        self.drain().await
    }

    async fn internal(&mut self, message: Internal) {
        match message {
            Internal::Taken { result, permits } => self.taken(result, permits),
            Internal::Woken => self.queue.wanted = true,
            Internal::RunEnded { run_id, .. } => {
                self.running.remove(&run_id);
                // Room for a run: the queue may hold some for it.
                if self.queue.more {
                    self.queue.wanted = true;
                }
            }
            Internal::Jobs { version, records } => {
                // Versions only grow; an older list than the one loaded
                // (the loop reloaded by itself meanwhile) changes nothing.
                if version > self.jobs_version
                    && let Err(e) = self.apply_jobs(version, records).await
                {
                    tracing::error!("reloading jobs failed: {e}");
                }
            }
            Internal::Commands(commands) => {
                for command in commands {
                    self.store_command(command).await;
                }
            }
            Internal::Recovered(runs) => self.recovered(runs),
            Internal::Peers(partition) => self.queue.partition = partition,
            Internal::Reconcile => self.reconcile(),
            Internal::Reconciled { at, known, own } => self.reconciled(at, known, own),
            Internal::CancelRequests(ids) => {
                for id in ids {
                    if let Some((_, control)) = self.running.get(&id) {
                        control.cancel(CancelReason::Remote);
                    }
                }
            }
        }
    }

    /// A run's task ended. Normally the run said so itself (RunEnded); a
    /// task that panicked could not, so its run is recorded as failed,
    /// instead of blocking the job's overlap forever.
    async fn task_ended(&mut self, joined: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match &joined {
            Ok((id, ())) => *id,
            Err(e) => e.id(),
        };
        let Some(run_id) = self.task_runs.remove(&id) else {
            return;
        };
        let Err(error) = joined else { return };
        if !error.is_panic() || self.running.remove(&run_id).is_none() {
            return;
        }
        let message = format!("internal error: the run's task panicked: {error}");
        tracing::error!("run {run_id}: {message}");
        let write = RunWrite::Finished {
            run_id,
            attempt: 0,
            status: RunStatus::Failed,
            at: self.shared.clock.now(),
            rows: None,
            bytes: None,
            outputs: Vec::new(),
            error: Some(message),
        };
        let _ = self.shared.recorder.send(Request::Write(write)).await;
        // The run's job is free again for whatever waits for it.
        self.queue.wanted = true;
    }

    /// Start carrying out a run: `permit` is its room in the concurrency
    /// limit when it was taken with one (the runner waits for one
    /// otherwise), and `recorded` says the store has it running already.
    #[allow(clippy::too_many_arguments)]
    fn spawn_run(
        &mut self,
        run_id: RunId,
        job_id: JobId,
        trigger: Trigger,
        scheduled_for: DateTime<Utc>,
        first_attempt: u32,
        permit: Option<OwnedSemaphorePermit>,
        recorded: bool,
        retry_of: Option<RunId>,
    ) {
        let Some(job) = self.planner.job(job_id).cloned() else {
            tracing::warn!("run {run_id}: its job {job_id} is gone");
            return;
        };
        let control = RunControl::default();
        self.running.insert(run_id, (job_id, control.clone()));
        self.publish(Event::RunQueued {
            run_id,
            job: job.name().to_string(),
            trigger,
            scheduled_for,
        });
        let order = RunOrder {
            run_id,
            job_id,
            job,
            trigger,
            scheduled_for,
            first_attempt,
            control,
            permit,
            recorded,
            retry_of,
        };
        let task = self.tasks.spawn(runner::run(self.shared.clone(), order));
        self.task_runs.insert(task.id(), run_id);
    }

    /// Stop firing; give runs the grace period; cancel what remains; flush
    /// every record; leave the store.
    async fn drain(mut self) -> Result<(), StoreError> {
        self.publish(Event::Scheduler(SchedulerState::Draining));
        let running = self.running.len();
        if running > 0 {
            tracing::info!(
                "shutting down: waiting up to {}s for {running} run(s)",
                self.grace.as_secs()
            );
        }
        let grace = tokio::time::sleep(self.grace);
        tokio::pin!(grace);
        let mut cancelled = false;
        while !self.tasks.is_empty() || self.queue.in_flight {
            tokio::select! {
                _ = &mut grace, if !cancelled => {
                    tracing::warn!("grace period over: cancelling {} run(s)", self.running.len());
                    for (_, control) in self.running.values() {
                        control.cancel(CancelReason::Shutdown);
                    }
                    cancelled = true;
                }
                Some(message) = self.internal.recv() => match message {
                    Internal::RunEnded { run_id, .. } => {
                        self.running.remove(&run_id);
                    }
                    // Runs taken now are started all the same: the store
                    // has them running as this instance, and the grace
                    // period (or its end) decides how they end.
                    Internal::Taken { result, permits } => {
                        self.taken(result, permits);
                        if cancelled {
                            for (_, control) in self.running.values() {
                                control.cancel(CancelReason::Shutdown);
                            }
                        }
                    }
                    _ => {}
                },
                Some(joined) = self.tasks.join_next_with_id() => self.task_ended(joined).await,
            }
        }
        let (reply, done) = tokio::sync::oneshot::channel();
        if self
            .shared
            .recorder
            .send(Request::Flush(reply))
            .await
            .is_ok()
        {
            let _ = done.await;
        }
        let now = self.shared.clock.now();
        // A dead instance on this host must not count as one that takes
        // over the slots below.
        maintenance::stop_the_dead(&self.store, &self.me.id, now).await;
        // Slots put in the queue ahead of their time stay for another
        // instance to take; with none left, they are taken back (see
        // `Store::withdraw_announced`).
        match self
            .store
            .withdraw_announced(&self.me.id, now, STALE_AFTER)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "took back {n} slot(s) announced ahead: no other instance is running"
            ),
            Err(e) => tracing::warn!("{e}"),
        }
        if let Err(e) = self.store.release_lease(&self.me.id).await {
            tracing::warn!("releasing the lease failed: {e}");
        }
        // Heartbeats went on through the drain; they stop before the store
        // is told this instance stopped.
        self.maintenance_stop.cancel();
        if let Some(task) = self.maintenance_task.take() {
            let _ = task.await;
        }
        self.store.mark_stopped(&self.me.id, now).await?;
        self.publish(Event::Scheduler(SchedulerState::Stopped));
        tracing::info!("scheduler stopped");
        drop(self.shared);
        let _ = self.recorder_task.await;
        Ok(())
    }
}
