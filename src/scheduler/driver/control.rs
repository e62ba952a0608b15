//! Commands: from this process (console, tests) and from the store (other
//! processes: the console attached, the command line).

use super::*;
use crate::events::Reply;

impl Driver {
    /// Insert a run with no slot (manual or retry) and start it.
    pub(super) async fn start_unslotted(
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
        self.spawn_run(
            run_id,
            job_id,
            trigger,
            scheduled_for,
            attempt,
            None,
            false,
            retry_of,
        );
        Ok(run_id)
    }

    /// A command from this process; the reply, if any, gets the outcome.
    pub(super) async fn command(&mut self, command: Command) {
        match command {
            Command::RunNow { job, reply } => {
                let result = self.run_now(&job).await;
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Command::Pause { job, reply } => {
                let result = self.set_paused(&job, true).await;
                answer(reply, result);
            }
            Command::Resume { job, reply } => {
                let result = self.set_paused(&job, false).await;
                answer(reply, result);
            }
            Command::PauseAll { reply } => {
                let result = self.set_all_paused(true).await;
                answer(reply, result);
            }
            Command::ResumeAll { reply } => {
                let result = self.set_all_paused(false).await;
                answer(reply, result);
            }
            Command::Cancel { run_id, reply } => answer(reply, self.cancel(run_id).await),
            Command::Retry { run_id, reply } => {
                let result = self.retry(run_id).await;
                if let Err(e) = &result {
                    tracing::warn!("retry run {run_id}: {e}");
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
            Command::Reload { reply } => {
                let result = self.reload().await.map_err(|e| {
                    tracing::error!("reloading jobs failed: {e}");
                    format!("reloading jobs failed: {e}")
                });
                answer(reply, result);
            }
        }
    }

    /// A command another process (console, command line) left in the store;
    /// its outcome is written back to the store for that process to read.
    pub(super) async fn store_command(&mut self, command: store::Command) {
        let job = command.job_name.clone().unwrap_or_default();
        let result = match command.kind {
            // A run id instead of a job: retry that run.
            CommandKind::Run if let Some(run_id) = command.run_id => {
                self.retry(run_id).await.map(Some)
            }
            CommandKind::Run => self.run_now(&job).await.map(Some),
            CommandKind::Pause => self.set_paused(&job, true).await.map(|()| None),
            CommandKind::Resume => self.set_paused(&job, false).await.map(|()| None),
            CommandKind::PauseAll => self.set_all_paused(true).await.map(|()| None),
            CommandKind::ResumeAll => self.set_all_paused(false).await.map(|()| None),
            CommandKind::Cancel => match command.run_id {
                Some(run_id) => self.cancel(run_id).await.map(|()| Some(run_id)),
                None => Err("cancel names no run".to_string()),
            },
            CommandKind::Reload => self
                .reload()
                .await
                .map(|()| None)
                .map_err(|e| e.to_string()),
        };
        let (run_id, error) = match result {
            Ok(run_id) => (run_id, None),
            Err(e) => (None, Some(e)),
        };
        if let Err(e) = self.store.complete_command(command.id, run_id, error).await {
            tracing::error!("recording the result of command {} failed: {e}", command.id);
        }
    }

    /// A manual run of `job`, allowed while it is paused. It goes through
    /// the run queue and meets the job's overlap policy at once: started
    /// here, queued behind the running run, or refused (`skip`).
    async fn run_now(&mut self, job: &str) -> Result<RunId, String> {
        let result = self.ask_for_run(job).await;
        if let Err(e) = &result {
            tracing::warn!("run now {job}: {e}");
        }
        result
    }

    async fn ask_for_run(&mut self, job: &str) -> Result<RunId, String> {
        let id = match self.names.get(job).copied() {
            Some(id) => id,
            None => self.newly_stored(job).await?,
        };
        let Some(overlap) = self.rules.get(&id).map(|r| r.overlap) else {
            return Err(format!("job {job} is not scheduled here"));
        };
        // A run of the job that just ended here may have its end still in
        // the recorder: the store must know it ended before deciding.
        self.shared.recorder.flush().await;
        let now = self.shared.clock.now();
        let run_id = manual::enqueue(&self.store, id, now)
            .await
            .map_err(|e| e.to_string())?;
        // Asked for by hand, it is decided now whatever the capacity: a
        // look at the queue in flight holds every free permit for a moment,
        // and a run started without one waits for one before it runs.
        let permit = self.shared.permits.clone().try_acquire_owned().ok();
        let (asked, cancelled) = manual::take(&self.store, &self.me.id, run_id, overlap, 1, now)
            .await
            .map_err(|e| e.to_string())?;
        for run in cancelled {
            if let Some((_, control)) = self.running.get(&run.id) {
                control.cancel(CancelReason::Replaced);
            }
        }
        match asked {
            Asked::Started(run) => {
                tracing::info!("{job}: manual run {run_id} started");
                self.spawn_run(
                    run.id,
                    id,
                    Trigger::Manual,
                    run.scheduled_for,
                    1,
                    permit,
                    true,
                    None,
                );
                Ok(run_id)
            }
            Asked::Queued => {
                tracing::info!(
                    "{job}: manual run {run_id} queued; it starts when the job's running run \
                     ends (overlap = {overlap})"
                );
                Ok(run_id)
            }
            Asked::Refused(why) => Err(format!("{job}: {why}")),
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
                // The slot it stands for (see `requeue` in the store).
                run.slot.unwrap_or(run.scheduled_for),
                1,
                Some(run_id),
            )
            .await?;
        tracing::info!("{}: run {run_id} retried as run {new_id}", run.job_name);
        Ok(new_id)
    }

    /// Cancels a run here, or asks the instance running it (it looks
    /// about once a second): with a shared queue a run may be anywhere.
    async fn cancel(&self, run_id: RunId) -> Result<(), String> {
        if let Some((_, control)) = self.running.get(&run_id) {
            control.cancel(CancelReason::Requested);
            return Ok(());
        }
        match self
            .store
            .request_cancel(run_id, self.shared.clock.now())
            .await
        {
            Ok(true) => {
                tracing::info!("run {run_id}: asked the instance running it to cancel it");
                Ok(())
            }
            Ok(false) => Err(format!("run {run_id} is not running")),
            Err(e) => Err(format!(
                "run {run_id}: could not ask for it to be cancelled: {e}"
            )),
        }
    }

    /// The id of `job`, which this loop has not loaded: a job just saved
    /// (a console's form, `jobs apply`) is in the store a moment before the
    /// housekeeping poll brings it here, and a test run asked for in that
    /// moment must not be refused.
    async fn newly_stored(&mut self, job: &str) -> Result<JobId, String> {
        if let Err(e) = self.reload().await {
            tracing::error!("reloading jobs failed: {e}");
            return Err(format!("{job}: reloading jobs failed: {e}"));
        }
        self.names
            .get(job)
            .copied()
            .ok_or_else(|| format!("no job named {job:?}"))
    }

    /// Pauses or resumes one job, in the store and then in the planner, so
    /// that when the caller hears back the change holds.
    async fn set_paused(&mut self, job: &str, paused: bool) -> Result<(), String> {
        let verb = if paused { "paused" } else { "resumed" };
        match self.store.pause_job(job, paused).await {
            Ok(Some(version)) => {
                if let Some(id) = self.names.get(job).copied() {
                    self.planner.set_paused(id, paused, self.shared.clock.now());
                    // A list of jobs the housekeeping task read before this
                    // change must not undo it (see `apply_jobs`).
                    if let Some(known) = self.jobs.get_mut(&id) {
                        known.version = known.version.max(version);
                    }
                }
                tracing::info!("{job}: {verb}");
                self.publish(Event::JobChanged {
                    job: job.to_string(),
                });
                Ok(())
            }
            Ok(None) => {
                tracing::warn!("no job named {job:?}");
                Err(format!("no job named {job:?}"))
            }
            Err(e) => {
                tracing::error!("{job}: could not change its state: {e}");
                Err(format!("{job}: could not be {verb}: {e}"))
            }
        }
    }

    async fn set_all_paused(&mut self, paused: bool) -> Result<(), String> {
        let verb = if paused { "paused" } else { "resumed" };
        let count = self.store.set_all_paused(paused).await.map_err(|e| {
            tracing::error!("could not pause or resume all jobs: {e}");
            format!("jobs could not be {verb}: {e}")
        })?;
        tracing::info!("{verb} {count} job(s)");
        let reloaded = self.reload().await.map_err(|e| {
            tracing::error!("reloading jobs failed: {e}");
            format!("{verb} {count} job(s) in the store, but reloading them failed: {e}")
        });
        self.publish(Event::Scheduler(if paused {
            SchedulerState::AllPaused
        } else {
            SchedulerState::Running
        }));
        reloaded
    }
}

/// Sends the outcome to whoever asked, if anyone did.
fn answer(reply: Option<Reply>, result: Result<(), String>) {
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}
