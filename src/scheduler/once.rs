//! One manual run in this process, for `cronport jobs run` when no instance
//! holds the scheduler lease: the same runner, recorder and events as the
//! scheduler, without the timeline.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use super::recorder;
use super::runner::{self, RunControl, RunOrder, Shared};
use super::{HEARTBEAT, Parts, instance};
use crate::job::JobSpec;
use crate::store::{InstanceInfo, NewRun, RunId, RunStatus, Trigger};

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
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Run `job` now (trigger `manual`), wait for it, and return its run id.
pub async fn run_once(parts: Parts, job: &str) -> Result<RunId, RunOnceError> {
    let Parts {
        store,
        config,
        clock,
        executor,
        bus,
        ..
    } = parts;
    let record = store
        .get_job(job)
        .await?
        .ok_or_else(|| RunOnceError::UnknownJob(job.to_string()))?;
    let spec: JobSpec =
        serde_json::from_str(&record.definition).map_err(|e| RunOnceError::Invalid {
            name: job.to_string(),
            problems: format!("stored definition is unreadable: {e}"),
        })?;
    let checked = spec
        .validate(&config.known())
        .map_err(|errors| RunOnceError::Invalid {
            name: job.to_string(),
            problems: crate::job::one_line(&errors),
        })?;
    executor.prepare().await;
    let now = clock.now();
    let me = InstanceInfo {
        takes_work: false,
        ..instance::this_process(now)
    };
    store.register_instance(&me).await?;
    let run_id = store
        .insert_run(&NewRun {
            job_id: record.id,
            trigger: Trigger::Manual,
            status: RunStatus::Queued,
            slot: None,
            scheduled_for: now,
            queued_at: now,
            attempt: 0,
            instance_id: Some(me.id.clone()),
            retry_of: None,
            error: None,
        })
        .await?;
    let (recorder, recorder_task) = recorder::spawn(store.clone(), None);
    let (internal, _ended) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        clock,
        executor,
        bus,
        recorder: recorder.clone(),
        permits: Arc::new(Semaphore::new(1)),
        instance_id: me.id.clone(),
        store: store.clone(),
        internal,
    });
    let order = RunOrder {
        run_id,
        job_id: record.id,
        job: Arc::new(checked),
        trigger: Trigger::Manual,
        scheduled_for: now,
        first_attempt: 1,
        control: RunControl::default(),
        permit: None,
        recorded: false,
        retry_of: None,
    };
    // Schedulers take an instance that stops heartbeating for dead and
    // retry its runs: a long export must keep saying it is alive.
    let heartbeat = {
        let store = store.clone();
        let clock = shared.clock.clone();
        let id = me.id.clone();
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
            }
        })
    };
    runner::run(shared.clone(), order).await;
    heartbeat.abort();
    recorder.flush().await;
    let finished = shared.clock.now();
    drop((shared, recorder));
    let _ = recorder_task.await;
    store.mark_stopped(&me.id, finished).await?;
    Ok(run_id)
}
