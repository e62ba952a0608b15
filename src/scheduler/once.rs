//! Runs in this process, for the command line when no instance holds the
//! scheduler lease (`jobs run`, `jobs backfill`): the same run queue,
//! runner, recorder and events as the scheduler, without the timeline. The
//! process registers as an instance that takes no share of the queue and
//! takes only the runs it queued itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::manual::{self, Asked};
use super::recorder::{self, Recorder};
use super::runner::{self, CancelReason, RunControl, RunOrder, Shared};
use super::{HEARTBEAT, Parts, instance};
use crate::config::Config;
use crate::job::Job;
use crate::store::{InstanceInfo, JobRecord, QueuedRun, RunId, Store, StoreError};

/// Why a one-off run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunOnceError {
    /// No such job.
    #[error("no job named {0:?} in the store")]
    UnknownJob(String),
    /// The stored job does not fit the config.
    #[error("job {name:?} cannot run: {problems}")]
    Invalid {
        /// The job.
        name: String,
        /// What is wrong, each naming its key.
        problems: String,
    },
    /// The job's overlap policy (`skip`) refused it: a run is going.
    #[error("job {name:?}: {why}")]
    Refused {
        /// The job.
        name: String,
        /// Why, naming the run that is going.
        why: String,
    },
    /// Ctrl-C while the run waited for its turn: it was withdrawn.
    #[error("run {0} was withdrawn before it started")]
    Withdrawn(RunId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored job, checked against the config: what every run, dry run,
/// backfill and plan of a job starts from.
pub async fn checked_job(
    store: &Store,
    config: &Config,
    job: &str,
) -> Result<(JobRecord, Job), RunOnceError> {
    let record = store
        .get_job(job)
        .await?
        .ok_or_else(|| RunOnceError::UnknownJob(job.to_string()))?;
    let known = crate::destinations::known(config, store).await?;
    let checked = crate::job::checked_stored(job, &record.definition, &known).map_err(|e| {
        RunOnceError::Invalid {
            name: job.to_string(),
            problems: e.problems(),
        }
    })?;
    Ok((record, checked))
}

/// Run `job` now (trigger `manual`) under its overlap policy, as the
/// scheduler would: refused under `skip` while a run of it is going, after
/// that run under `queue_one` and `cancel_previous` (which asks it to stop
/// first). Waits for the run and returns its id.
pub async fn run_once(parts: Parts, job: &str) -> Result<RunId, RunOnceError> {
    let (record, checked) = checked_job(&parts.store, &parts.config, job).await?;
    let solo = Solo::start(parts).await?;
    let run_id = manual::enqueue(&solo.store, record.id, solo.now()).await?;
    let overlap = checked.policy.overlap;
    let checked = Arc::new(checked);
    let mut told = false;
    let run = loop {
        match solo.take(run_id, overlap).await? {
            Asked::Started(run) => break run,
            Asked::Refused(why) => {
                solo.leave().await?;
                return Err(RunOnceError::Refused {
                    name: job.to_string(),
                    why,
                });
            }
            Asked::Queued => {
                if !told {
                    tracing::info!(
                        "{job}: run {run_id} waits for the job's running run to end \
                         (overlap = {overlap}); Ctrl-C withdraws it"
                    );
                    told = true;
                }
                if solo.pause_or_interrupted().await {
                    let why = "withdrawn: jobs run was interrupted while the run waited";
                    solo.store.withdraw_queued(run_id, solo.now(), why).await?;
                    solo.leave().await?;
                    return Err(RunOnceError::Withdrawn(run_id));
                }
            }
        }
    };
    solo.run(&checked, run).await;
    solo.leave().await?;
    Ok(run_id)
}

/// This process as an instance that runs what it takes itself.
pub struct Solo {
    /// The store.
    pub store: Store,
    runner: SoloRunner,
    recorder_task: tokio::task::JoinHandle<()>,
    id: String,
    /// Ctrl-C was pressed.
    pub interrupted: CancellationToken,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

/// Runs runs that a [`Solo`] took; cheap to clone into tasks.
#[derive(Clone)]
pub struct SoloRunner {
    shared: Arc<Shared>,
    recorder: Recorder,
    interrupted: CancellationToken,
    /// Runs going here, so a request from elsewhere (or Ctrl-C) stops them.
    controls: Arc<Mutex<HashMap<RunId, RunControl>>>,
}

/// How often a waiting run looks whether its turn has come.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(250);

impl Solo {
    /// Registers this process as an instance (it heartbeats, looks for
    /// cancel requests, and cancels its runs on Ctrl-C).
    pub async fn start(parts: Parts) -> Result<Solo, StoreError> {
        let Parts {
            store,
            config,
            clock,
            executor,
            bus,
            ..
        } = parts;
        executor.prepare().await;
        // Runs here may deliver to destinations made in the console.
        if let Some(registry) = executor.registry() {
            crate::destinations::register(
                registry,
                &crate::destinations::stored(&config, &store).await?,
            );
        }
        let me = InstanceInfo {
            takes_work: false,
            ..instance::this_process(clock.now())
        };
        store.register_instance(&me).await?;
        let controls: Arc<Mutex<HashMap<RunId, RunControl>>> = Arc::default();
        let interrupted = CancellationToken::new();
        // Ctrl-C: what waits is withdrawn (by the caller), what runs is
        // cancelled and recorded so, rather than left for another instance
        // to find interrupted.
        let on_interrupt = {
            let interrupted = interrupted.clone();
            let controls = controls.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    interrupted.cancel();
                    for control in lock(&controls).values() {
                        control.cancel(CancelReason::Requested);
                    }
                }
            })
        };
        // Schedulers take an instance that stops heartbeating for dead and
        // retry its runs: a long export must keep saying it is alive. Other
        // processes may ask for a run here to stop (a console, a newer run
        // under cancel_previous): the heartbeat looks for that too.
        let heartbeat = {
            let store = store.clone();
            let clock = clock.clone();
            let id = me.id.clone();
            let controls = controls.clone();
            tokio::spawn(async move {
                loop {
                    crate::clock::sleep_until(
                        clock.as_ref(),
                        clock.now() + chrono::Duration::from_std(HEARTBEAT).unwrap_or_default(),
                    )
                    .await;
                    if let Err(e) = store.heartbeat(&id, clock.now()).await {
                        tracing::warn!("heartbeat failed: {e}");
                    }
                    if let Ok(asked) = store.cancel_requests(&id).await {
                        let controls = lock(&controls);
                        for run_id in asked {
                            if let Some(control) = controls.get(&run_id) {
                                control.cancel(CancelReason::Remote);
                            }
                        }
                    }
                }
            })
        };
        let (recorder, recorder_task) = recorder::spawn(store.clone(), None);
        let (internal, _ended) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            clock,
            executor,
            bus,
            recorder: recorder.clone(),
            // Each run here is started by hand, one permit each.
            permits: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            instance_id: me.id.clone(),
            store: store.clone(),
            internal,
        });
        Ok(Solo {
            store,
            runner: SoloRunner {
                shared,
                recorder,
                interrupted: interrupted.clone(),
                controls,
            },
            recorder_task,
            id: me.id,
            interrupted,
            tasks: [heartbeat, on_interrupt],
        })
    }

    /// Now, by the parts' clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.runner.shared.clock.now()
    }

    /// A handle that runs taken runs, for tasks of their own. Drop every
    /// one before [`Solo::leave`], which waits for the last records.
    pub fn runner(&self) -> SoloRunner {
        self.runner.clone()
    }

    /// Runs `run` (taken by [`Solo::take`]) of `job` to its end.
    pub async fn run(&self, job: &Arc<Job>, run: QueuedRun) {
        self.runner.run(job, run).await;
    }

    /// Decides about the queued run `run_id` as this process, with room for
    /// it: started (the caller then runs it), still queued, or refused.
    pub async fn take(
        &self,
        run_id: RunId,
        overlap: crate::job::OverlapPolicy,
    ) -> Result<Asked, StoreError> {
        let (asked, _) =
            manual::take(&self.store, &self.id, run_id, overlap, 1, self.now()).await?;
        Ok(asked)
    }

    /// Takes due rows of `job_id`, oldest first, as many as `capacity`
    /// and its overlap policy allow: the runs to start here.
    pub async fn take_job(
        &self,
        job_id: crate::store::JobId,
        overlap: crate::job::OverlapPolicy,
        capacity: usize,
    ) -> Result<Vec<QueuedRun>, StoreError> {
        manual::take_job(&self.store, &self.id, job_id, overlap, capacity, self.now()).await
    }

    /// Waits a moment before the next look; `true` if Ctrl-C came instead.
    pub async fn pause_or_interrupted(&self) -> bool {
        tokio::select! {
            () = tokio::time::sleep(LOOK_AGAIN) => false,
            () = self.interrupted.cancelled() => true,
        }
    }

    /// Records this process stopped, after its last writes.
    pub async fn leave(self) -> Result<(), StoreError> {
        for task in &self.tasks {
            task.abort();
        }
        self.runner.recorder.flush().await;
        let finished = self.now();
        let Solo {
            store,
            runner,
            recorder_task,
            id,
            ..
        } = self;
        drop(runner);
        let _ = recorder_task.await;
        // The runs' last pings are on their way; the process exits next.
        super::ping::settle(super::ping::PING_TIMEOUT).await;
        store.mark_stopped(&id, finished).await
    }
}

impl SoloRunner {
    /// Runs `run` (taken by [`Solo::take`]) of `job` to its end.
    pub async fn run(&self, job: &Arc<Job>, run: QueuedRun) {
        let control = RunControl::default();
        if self.interrupted.is_cancelled() {
            control.cancel(CancelReason::Requested);
        }
        lock(&self.controls).insert(run.id, control.clone());
        let order = RunOrder {
            run_id: run.id,
            job_id: run.job_id,
            job: job.clone(),
            trigger: run.trigger,
            scheduled_for: run.scheduled_for,
            first_attempt: u32::try_from(run.attempt.max(0)).unwrap_or(0) + 1,
            control,
            permit: None,
            recorded: true,
            retry_of: run.retry_of,
        };
        runner::run(self.shared.clone(), order).await;
        lock(&self.controls).remove(&run.id);
        // The caller reads the run's end from the store next.
        self.recorder.flush().await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
