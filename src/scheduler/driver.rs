//! The scheduler's loop: sleep until the next fire, a command, a finished
//! run or news from the housekeeping task, whichever comes first. The loop
//! never waits for the store on the firing path: claims, run records and
//! housekeeping go through tasks that answer with [`Internal`] messages.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::maintenance::{self, Maintenance};
use super::plan::{Effect, Planner, Skipped};
use super::recorder::{self, Request};
use super::runner::{self, CancelReason, RunControl, RunOrder, Shared};
use super::{Internal, Parts, STALE_AFTER, instance};
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

/// What the driver remembers of a stored job, to tell edits from pauses.
struct Known {
    name: String,
    version: i64,
    /// [`fingerprint`] of the stored definition.
    definition: u64,
}

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
    running: HashMap<RunId, (JobId, RunControl)>,
    tasks: JoinSet<()>,
    /// Which run each task carries, to clean up after a task that panicked.
    task_runs: HashMap<tokio::task::Id, (JobId, RunId)>,
    internal: mpsc::UnboundedReceiver<Internal>,
    commands: mpsc::Receiver<Command>,
    shutdown: CancellationToken,
    recorder_task: tokio::task::JoinHandle<()>,
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
        let (recorder, recorder_task) = recorder::spawn(store.clone());
        let (internal_tx, internal) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            clock,
            executor,
            bus,
            recorder,
            permits: Arc::new(Semaphore::new(config.scheduler.max_concurrent_runs)),
            instance_id: me.id.clone(),
            internal: internal_tx,
        });
        let mut driver = Driver {
            shared,
            store,
            config,
            grace,
            me,
            planner: Planner::new(),
            jobs: HashMap::new(),
            names: HashMap::new(),
            running: HashMap::new(),
            tasks: JoinSet::new(),
            task_runs: HashMap::new(),
            internal,
            commands,
            shutdown,
            recorder_task,
            maintenance_stop: CancellationToken::new(),
            maintenance_task: None,
            jobs_version: -1,
            holds_lease,
        };
        // Jobs first: recovery retries a dead instance's runs by their job's
        // policy, so the jobs must be known.
        driver.reload().await?;
        let recovered = maintenance::recover(&driver.store, &driver.me.id, now).await;
        driver.retry_recovered(recovered).await;
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
            internal: self.shared.internal.clone(),
            commits: self.shared.recorder.commits(),
            jobs_version: self.jobs_version,
            holds_lease: self.holds_lease,
        };
        self.maintenance_task = Some(tokio::spawn(
            housekeeping.run(self.shutdown.clone(), self.maintenance_stop.clone()),
        ));
        loop {
            // Slots due now are fired before edits are applied, so an edit
            // that arrives at the moment of a slot never swallows it.
            let now = self.shared.clock.now();
            let effects = self.planner.due(now);
            self.carry_out(effects, now).await;
            let wake = self.planner.next_deadline();
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
            }
        }
        self.drain().await
    }

    async fn carry_out(&mut self, effects: Vec<Effect>, now: DateTime<Utc>) {
        let mut claims = Vec::new();
        let mut skips = Vec::new();
        for effect in effects {
            match effect {
                Effect::Start { job, slot, trigger } => claims.push((job, slot, trigger)),
                Effect::Skip { job, slots } => skips.extend(self.skip_entry(job, slots, now)),
                Effect::CancelRunning { job } => {
                    for (run_job, control) in self.running.values() {
                        if *run_job == job {
                            control.cancel(CancelReason::Replaced);
                        }
                    }
                }
            }
        }
        self.claim(claims, now);
        if !skips.is_empty() {
            let recorder = self.shared.recorder.clone();
            tokio::spawn(async move { recorder.record(skips).await });
        }
    }

    /// All the slots of one turn are claimed as one batch, by one task; the
    /// answer comes back as an [`Internal::Claimed`] so the loop never waits
    /// on the store here. (A task and a message per slot cost more than the
    /// claim itself at 10,000 slots a second.)
    fn claim(&self, slots: Vec<(JobId, DateTime<Utc>, Trigger)>, now: DateTime<Utc>) {
        if slots.is_empty() {
            return;
        }
        let runs = slots
            .iter()
            .map(|&(job_id, slot, trigger)| NewRun {
                job_id,
                trigger,
                status: RunStatus::Queued,
                slot: Some(slot),
                scheduled_for: slot,
                queued_at: now,
                attempt: 0,
                instance_id: Some(self.me.id.clone()),
                retry_of: None,
                error: None,
            })
            .collect();
        let recorder = self.shared.recorder.clone();
        let internal = self.shared.internal.clone();
        tokio::spawn(async move {
            let result = recorder.claim(runs).await;
            let _ = internal.send(Internal::Claimed { slots, result });
        });
    }

    /// The entry recording skipped slots, announced as it is made.
    fn skip_entry(&self, job_id: JobId, slots: Skipped, now: DateTime<Utc>) -> Option<NewRun> {
        let Known { name, .. } = self.jobs.get(&job_id)?;
        tracing::info!("{name}: skipped {} slot(s): {}", slots.count, slots.reason);
        self.publish(Event::SlotsSkipped {
            job: name.clone(),
            count: slots.count,
            reason: slots.reason.clone(),
        });
        let run = NewRun {
            job_id,
            trigger: Trigger::Schedule,
            status: RunStatus::Skipped,
            slot: Some(slots.last),
            scheduled_for: slots.last,
            queued_at: now,
            attempt: 0,
            instance_id: Some(self.me.id.clone()),
            retry_of: None,
            error: Some(slots.reason),
        };
        Some(run)
    }

    async fn internal(&mut self, message: Internal) {
        match message {
            Internal::Claimed { slots, result } => {
                let mut effects = Vec::new();
                match result {
                    Ok(ids) => {
                        for ((job_id, slot, trigger), id) in slots.into_iter().zip(ids) {
                            match id {
                                Some(run_id) => self.spawn_run(run_id, job_id, trigger, slot, 1),
                                // Another instance has this slot.
                                None => effects.extend(self.planner.run_ended(job_id)),
                            }
                        }
                    }
                    Err(e) => {
                        if let Some((job_id, slot, _)) = slots.first() {
                            tracing::error!(
                                "could not claim {} slot(s), the first {} of job {job_id}: {e}",
                                slots.len(),
                                slot.to_rfc3339()
                            );
                        }
                        for (job_id, _, _) in slots {
                            effects.extend(self.planner.run_ended(job_id));
                        }
                    }
                }
                self.carry_out(effects, self.shared.clock.now()).await;
            }
            Internal::RunEnded { job_id, run_id } => {
                self.running.remove(&run_id);
                let effects = self.planner.run_ended(job_id);
                self.carry_out(effects, self.shared.clock.now()).await;
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
            Internal::Recovered(runs) => self.retry_recovered(runs).await,
        }
    }

    /// A run's task ended. Normally the run said so itself (RunEnded); a
    /// task that panicked could not, so its run is recorded as failed and
    /// its job freed, instead of blocking the job's overlap forever.
    async fn task_ended(&mut self, joined: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match &joined {
            Ok((id, ())) => *id,
            Err(e) => e.id(),
        };
        let Some((job_id, run_id)) = self.task_runs.remove(&id) else {
            return;
        };
        let Err(error) = joined else { return };
        if !error.is_panic() || self.running.remove(&run_id).is_none() {
            return;
        }
        let message = format!("internal error: the run's task panicked: {error}");
        tracing::error!("run {run_id}: {message}");
        let now = self.shared.clock.now();
        let write = RunWrite::Finished {
            run_id,
            attempt: 0,
            status: RunStatus::Failed,
            at: now,
            rows: None,
            bytes: None,
            outputs: Vec::new(),
            error: Some(message),
        };
        let _ = self.shared.recorder.send(Request::Write(write)).await;
        let effects = self.planner.run_ended(job_id);
        self.carry_out(effects, now).await;
    }

    fn spawn_run(
        &mut self,
        run_id: RunId,
        job_id: JobId,
        trigger: Trigger,
        scheduled_for: DateTime<Utc>,
        first_attempt: u32,
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
        };
        let task = self.tasks.spawn(runner::run(self.shared.clone(), order));
        self.task_runs.insert(task.id(), (job_id, run_id));
    }

    /// Insert a run with no slot (manual or retry) and start it.
    async fn start_unslotted(
        &mut self,
        job_id: JobId,
        trigger: Trigger,
        scheduled_for: DateTime<Utc>,
        attempt: u32,
        retry_of: Option<RunId>,
    ) -> Result<RunId, String> {
        let now = self.shared.clock.now();
        let run = NewRun {
            job_id,
            trigger,
            status: RunStatus::Queued,
            slot: None,
            scheduled_for,
            queued_at: now,
            attempt: 0,
            instance_id: Some(self.me.id.clone()),
            retry_of,
            error: None,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.shared
            .recorder
            .send(Request::Insert(run, reply))
            .await
            .map_err(|_| "the recorder stopped".to_string())?;
        let run_id = answer
            .await
            .map_err(|_| "the recorder stopped".to_string())??;
        self.planner.run_began(job_id);
        self.spawn_run(run_id, job_id, trigger, scheduled_for, attempt);
        Ok(run_id)
    }

    async fn command(&mut self, command: Command) {
        let now = self.shared.clock.now();
        match command {
            Command::RunNow { job, reply } => {
                let result = match self.names.get(&job).copied() {
                    Some(id) => {
                        self.start_unslotted(id, Trigger::Manual, now, 1, None)
                            .await
                    }
                    None => Err(format!("no job named {job:?}")),
                };
                match &result {
                    Ok(run_id) => tracing::info!("{job}: manual run {run_id} requested"),
                    Err(e) => tracing::warn!("run now {job}: {e}"),
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Command::Pause { job } => self.set_paused(&job, true).await,
            Command::Resume { job } => self.set_paused(&job, false).await,
            Command::PauseAll => self.set_all_paused(true).await,
            Command::ResumeAll => self.set_all_paused(false).await,
            Command::Cancel { run_id } => match self.running.get(&run_id) {
                Some((_, control)) => control.cancel(CancelReason::Requested),
                None => tracing::warn!("cancel: run {run_id} is not running here"),
            },
            Command::Retry { run_id, reply } => {
                let result = self.retry(run_id).await;
                if let Err(e) = &result {
                    tracing::warn!("retry run {run_id}: {e}");
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Command::Reload => {
                if let Err(e) = self.reload().await {
                    tracing::error!("reloading jobs failed: {e}");
                }
            }
        }
    }

    async fn set_paused(&mut self, job: &str, paused: bool) {
        match self.store.set_paused(job, paused).await {
            Ok(true) => {
                if let Some(id) = self.names.get(job).copied() {
                    self.planner.set_paused(id, paused, self.shared.clock.now());
                }
                tracing::info!("{job}: {}", if paused { "paused" } else { "resumed" });
                self.publish(Event::JobChanged {
                    job: job.to_string(),
                });
            }
            Ok(false) => tracing::warn!("no job named {job:?}"),
            Err(e) => tracing::error!("{job}: could not change its state: {e}"),
        }
    }

    async fn set_all_paused(&mut self, paused: bool) {
        match self.store.set_all_paused(paused).await {
            Ok(count) => {
                tracing::info!(
                    "{} {count} job(s)",
                    if paused { "paused" } else { "resumed" }
                );
                if let Err(e) = self.reload().await {
                    tracing::error!("reloading jobs failed: {e}");
                }
                self.publish(Event::Scheduler(if paused {
                    SchedulerState::AllPaused
                } else {
                    SchedulerState::Running
                }));
            }
            Err(e) => tracing::error!("could not pause or resume all jobs: {e}"),
        }
    }

    /// A command another process (console, command line) left in the store.
    async fn store_command(&mut self, command: store::Command) {
        let job = command.job_name.clone().unwrap_or_default();
        let (run_id, error) = match command.kind {
            CommandKind::Run if command.run_id.is_some() => {
                let run_id = command.run_id.unwrap_or_default();
                match self.retry(run_id).await {
                    Ok(new_id) => (Some(new_id), None),
                    Err(e) => (None, Some(e)),
                }
            }
            CommandKind::Run => match self.names.get(&job).copied() {
                Some(id) => match self
                    .start_unslotted(id, Trigger::Manual, self.shared.clock.now(), 1, None)
                    .await
                {
                    Ok(run_id) => (Some(run_id), None),
                    Err(e) => (None, Some(e)),
                },
                None => (None, Some(format!("no job named {job:?}"))),
            },
            CommandKind::Pause => {
                self.set_paused(&job, true).await;
                (None, None)
            }
            CommandKind::Resume => {
                self.set_paused(&job, false).await;
                (None, None)
            }
            CommandKind::PauseAll => {
                self.set_all_paused(true).await;
                (None, None)
            }
            CommandKind::ResumeAll => {
                self.set_all_paused(false).await;
                (None, None)
            }
            CommandKind::Cancel => match command.run_id.and_then(|id| self.running.get(&id)) {
                Some((_, control)) => {
                    control.cancel(CancelReason::Requested);
                    (command.run_id, None)
                }
                None => (
                    None,
                    Some("that run is not running on this instance".to_string()),
                ),
            },
            CommandKind::Reload => (None, self.reload().await.err().map(|e| e.to_string())),
        };
        if let Err(e) = self.store.complete_command(command.id, run_id, error).await {
            tracing::error!("recording the result of command {} failed: {e}", command.id);
        }
    }

    /// Start a new run (trigger `retry`) of a run that ended badly.
    async fn retry(&mut self, run_id: RunId) -> Result<RunId, String> {
        // The recorder may still hold this instance's last writes of the
        // run: its end is announced as soon as it is queued for the store.
        self.shared.recorder.flush().await;
        let run = self
            .store
            .get_run(run_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no run {run_id} in the store"))?;
        if !matches!(
            run.status,
            RunStatus::Failed | RunStatus::Interrupted | RunStatus::Cancelled
        ) {
            return Err(format!(
                "run {run_id} is {}: only failed, interrupted or cancelled runs are retried",
                run.status
            ));
        }
        if !self.jobs.contains_key(&run.job_id) {
            return Err(format!("job {} is not scheduled here", run.job_name));
        }
        let new_id = self
            .start_unslotted(
                run.job_id,
                Trigger::Retry,
                run.scheduled_for,
                1,
                Some(run_id),
            )
            .await?;
        tracing::info!("{}: run {run_id} retried as run {new_id}", run.job_name);
        Ok(new_id)
    }

    /// Bring the planner in line with the store's jobs. New jobs start after
    /// their last recorded slot (so missed slots are caught up); edited jobs
    /// take effect from the next slot.
    async fn reload(&mut self) -> Result<(), StoreError> {
        let version = self.store.jobs_version().await?;
        if self.jobs.is_empty() {
            return self.load_all(version).await;
        }
        let records = self.store.list_jobs().await?;
        self.apply_jobs(version, records).await
    }

    /// The first load, page by page, so that 100,000 jobs never sit in
    /// memory as records all at once. Every job is new and starts after its
    /// last recorded slot (one query for all) or, never run, its creation.
    async fn load_all(&mut self, version: i64) -> Result<(), StoreError> {
        let last_slots = self.store.last_slots().await?;
        // Once, not per job: it copies the config's names.
        let names = self.config.known();
        let mut after = 0;
        loop {
            let page = self.store.list_jobs_page(after, store::JOBS_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for record in page {
                let Some(job) = check(&record, &names) else {
                    continue;
                };
                let start = last_slots
                    .get(&record.id)
                    .copied()
                    .unwrap_or(record.created_at);
                self.planner
                    .set_job(record.id, Arc::new(job), record.paused, start);
                self.remember(&record);
            }
        }
        self.jobs_version = version;
        Ok(())
    }

    fn remember(&mut self, record: &JobRecord) {
        self.names.insert(record.name.clone(), record.id);
        self.jobs.insert(
            record.id,
            Known {
                name: record.name.clone(),
                version: record.version,
                definition: fingerprint(&record.definition),
            },
        );
    }

    /// Bring the planner in line with `records`, the store's jobs at
    /// `version` (see [`Driver::reload`]).
    async fn apply_jobs(
        &mut self,
        version: i64,
        records: Vec<JobRecord>,
    ) -> Result<(), StoreError> {
        let now = self.shared.clock.now();
        // Once, not per job: it copies the config's names.
        let names = self.config.known();
        let fresh = self.jobs.is_empty();
        let last_slots = if fresh {
            self.store.last_slots().await?
        } else {
            HashMap::new()
        };
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        for record in records {
            seen.insert(record.id);
            let known = self.jobs.get(&record.id);
            if known.is_some_and(|k| k.version == record.version) {
                continue;
            }
            if known.is_some_and(|k| k.definition == fingerprint(&record.definition)) {
                // Only paused/resumed: the timeline stays as it is.
                self.planner.set_paused(record.id, record.paused, now);
            } else {
                let Some(job) = check(&record, &names) else {
                    continue;
                };
                let after = match known {
                    Some(_) => now,
                    None => match last_slots.get(&record.id) {
                        Some(last) => *last,
                        None if fresh => record.created_at,
                        None => self
                            .store
                            .last_slot(record.id)
                            .await?
                            .unwrap_or(record.created_at),
                    },
                };
                self.planner
                    .set_job(record.id, Arc::new(job), record.paused, after);
            }
            let edited = self.jobs.contains_key(&record.id);
            self.remember(&record);
            if edited {
                self.publish(Event::JobChanged {
                    job: record.name.clone(),
                });
            }
        }
        let gone: Vec<JobId> = self
            .jobs
            .keys()
            .copied()
            .filter(|id| !seen.contains(id))
            .collect();
        for id in gone {
            if let Some(Known { name, .. }) = self.jobs.remove(&id) {
                self.names.remove(&name);
                self.planner.remove_job(id);
                for (job, control) in self.running.values() {
                    if *job == id {
                        control.cancel(CancelReason::Requested);
                    }
                }
                tracing::info!("{name}: deleted");
                self.publish(Event::JobChanged { job: name });
            }
        }
        self.jobs_version = version;
        Ok(())
    }

    /// Runs left by dead instances, now `interrupted` (see
    /// [`maintenance::recover`]), are each retried as a new run (trigger
    /// `retry`) if the policy has attempts left. A process that died is not
    /// the job's failure, so the retry starts at once.
    async fn retry_recovered(&mut self, recovered: Vec<RunRecord>) {
        for run in recovered {
            let Some(job) = self.planner.job(run.job_id).cloned() else {
                continue;
            };
            let attempt = u32::try_from(run.attempt.max(1)).unwrap_or(1);
            if attempt >= job.policy.max_attempts() {
                tracing::warn!(
                    "{}: run {} was interrupted on attempt {attempt}, the last allowed",
                    run.job_name,
                    run.id
                );
                continue;
            }
            match self
                .start_unslotted(
                    run.job_id,
                    Trigger::Retry,
                    run.scheduled_for,
                    attempt + 1,
                    Some(run.id),
                )
                .await
            {
                Ok(new_id) => tracing::warn!(
                    "{}: run {} was interrupted (its instance died); retrying as run {new_id}",
                    run.job_name,
                    run.id
                ),
                Err(e) => tracing::error!(
                    "{}: could not retry interrupted run {}: {e}",
                    run.job_name,
                    run.id
                ),
            }
        }
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
        while !self.tasks.is_empty() {
            tokio::select! {
                _ = &mut grace, if !cancelled => {
                    tracing::warn!("grace period over: cancelling {} run(s)", self.running.len());
                    for (_, control) in self.running.values() {
                        control.cancel(CancelReason::Shutdown);
                    }
                    cancelled = true;
                }
                Some(message) = self.internal.recv() => {
                    if let Internal::RunEnded { run_id, .. } = message {
                        self.running.remove(&run_id);
                    }
                }
                Some(joined) = self.tasks.join_next_with_id() => self.task_ended(joined).await,
            }
        }
        self.shared.recorder.flush().await;
        let now = self.shared.clock.now();
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

/// A stored job that no longer fits the config (a destination removed,
/// say) is not scheduled, and the log says why.
fn check(record: &JobRecord, known: &crate::job::Known) -> Option<Job> {
    let spec = match serde_json::from_str::<crate::job::JobSpec>(&record.definition) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!(
                "{}: stored definition is unreadable, not scheduling it: {e}",
                record.name
            );
            return None;
        }
    };
    match spec.validate(known) {
        Ok(job) => Some(job),
        Err(errors) => {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            tracing::error!("{}: not scheduling it: {}", record.name, list.join("; "));
            None
        }
    }
}

/// A stored definition's fingerprint. Whether an edit changed the definition
/// is all the loop needs to know of it; keeping 100,000 definitions as text
/// doubled what the loaded jobs cost in memory.
fn fingerprint(definition: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    definition.hash(&mut hasher);
    hasher.finish()
}
