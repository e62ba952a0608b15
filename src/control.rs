//! Asking the scheduler to act, wherever it runs: in this process (the
//! console's embedded scheduler, over its command channel) or in another one
//! (a headless instance holding the scheduler lease, through the store's
//! commands table, which that instance polls every second). The console and
//! `cronport jobs pause/resume/run` send the same [`Request`]s.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::events::{Command, Reply};
use crate::export::{Pipeline, Preview, RunContext};
use crate::job::JobSpec;
use crate::store::{CommandKind, NewCommand, RunId, Store};

/// Rows a dry run shows unless asked for another number.
pub const PREVIEW_ROWS: usize = 20;

/// How long a request through the store may wait for the instance to act.
pub const STORE_REPLY_DEADLINE: Duration = Duration::from_secs(10);

/// Something an operator asks of the scheduler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Stop scheduling a job.
    Pause(String),
    /// Schedule a paused job again.
    Resume(String),
    /// Pause every job.
    PauseAll,
    /// Resume every job.
    ResumeAll,
    /// Run a job now (trigger `manual`), even if it is paused.
    RunNow(String),
    /// Cancel a running run.
    Cancel(RunId),
    /// Run a failed, interrupted or cancelled run again (trigger `retry`).
    Retry(RunId),
    /// Delete a job with its history.
    Delete(String),
}

impl Request {
    /// What it asks, for status lines: "pause daily-sales".
    pub fn describe(&self) -> String {
        match self {
            Request::Pause(job) => format!("pause {job}"),
            Request::Resume(job) => format!("resume {job}"),
            Request::PauseAll => "pause all jobs".into(),
            Request::ResumeAll => "resume all jobs".into(),
            Request::RunNow(job) => format!("run {job} now"),
            Request::Cancel(run) => format!("cancel run {run}"),
            Request::Retry(run_id) => format!("retry run {run_id}"),
            Request::Delete(job) => format!("delete {job}"),
        }
    }
}

/// Where requests go.
#[derive(Clone, Debug)]
pub enum Control {
    /// The scheduler runs in this process.
    Embedded {
        /// The store (deletes are written directly).
        store: Store,
        /// The scheduler's command channel.
        commands: mpsc::Sender<Command>,
    },
    /// Another instance holds the lease: requests go through the store.
    Attached {
        /// The shared store.
        store: Store,
    },
}

impl Control {
    /// Carry out `request`; on success, a line saying what happened.
    pub async fn send(&self, request: Request) -> Result<String, String> {
        match self {
            Control::Embedded { store, commands } => embedded(store, commands, request).await,
            Control::Attached { store } => attached(store, request).await,
        }
    }
}

async fn embedded(
    store: &Store,
    commands: &mpsc::Sender<Command>,
    request: Request,
) -> Result<String, String> {
    fn stopped<E>(_: E) -> String {
        "the scheduler has stopped".to_string()
    }
    // Sends a command that answers with only Ok or why not, and waits for
    // that answer, so the console shows the scheduler's own error.
    async fn ask(
        commands: &mpsc::Sender<Command>,
        command: impl FnOnce(Reply) -> Command,
    ) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        commands.send(command(reply)).await.map_err(stopped)?;
        answer.await.map_err(stopped)?
    }
    match request {
        Request::Pause(job) => {
            ask(commands, |reply| Command::Pause {
                job: job.clone(),
                reply: Some(reply),
            })
            .await?;
            Ok(format!("{job} paused"))
        }
        Request::Resume(job) => {
            ask(commands, |reply| Command::Resume {
                job: job.clone(),
                reply: Some(reply),
            })
            .await?;
            Ok(format!("{job} resumed"))
        }
        Request::PauseAll => {
            ask(commands, |reply| Command::PauseAll { reply: Some(reply) }).await?;
            Ok("all jobs paused".into())
        }
        Request::ResumeAll => {
            ask(commands, |reply| Command::ResumeAll { reply: Some(reply) }).await?;
            Ok("all jobs resumed".into())
        }
        Request::RunNow(job) => {
            let (reply, answer) = oneshot::channel();
            commands
                .send(Command::RunNow {
                    job: job.clone(),
                    reply: Some(reply),
                })
                .await
                .map_err(stopped)?;
            let run_id = answer.await.map_err(stopped)??;
            Ok(format!("run {run_id} of {job} started"))
        }
        Request::Cancel(run_id) => {
            ask(commands, |reply| Command::Cancel {
                run_id,
                reply: Some(reply),
            })
            .await?;
            Ok(format!("cancelling run {run_id}"))
        }
        Request::Retry(run_id) => {
            let (reply, answer) = oneshot::channel();
            commands
                .send(Command::Retry {
                    run_id,
                    reply: Some(reply),
                })
                .await
                .map_err(stopped)?;
            let new_id = answer.await.map_err(stopped)??;
            Ok(format!("run {run_id} retried as run {new_id}"))
        }
        Request::Delete(job) => {
            delete(store, &job).await?;
            // The scheduler would notice within a second; told, it stops
            // firing the job (and cancels its runs) at once.
            let _ = commands.send(Command::Reload { reply: None }).await;
            Ok(format!("{job} deleted with its history"))
        }
    }
}

async fn delete(store: &Store, job: &str) -> Result<(), String> {
    match store.delete_job(job).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("no job named {job:?}")),
        Err(e) => Err(e.to_string()),
    }
}

async fn attached(store: &Store, request: Request) -> Result<String, String> {
    if let Request::Delete(job) = &request {
        // Jobs live in the store; the instance sees the change within a
        // second, like an edit.
        delete(store, job).await?;
        return Ok(format!("{job} deleted with its history"));
    }
    let done = ask_instance(store, &request).await?;
    let by = done.taken_by.unwrap_or_default();
    Ok(match (request, done.result_run_id) {
        (Request::RunNow(job), Some(run)) => format!("run {run} of {job} started on {by}"),
        (Request::Retry(run_id), Some(run)) => {
            format!("run {run_id} retried as run {run} on {by}")
        }
        (request, _) => format!("{} done by {by}", request.describe()),
    })
}

/// Leave `request` in the store's commands table for the instance holding
/// the lease, and wait until it has carried it out: the completed command
/// says which instance took it and, for runs, the run it started. `Delete`
/// is not a command (write the store instead).
pub async fn ask_instance(
    store: &Store,
    request: &Request,
) -> Result<crate::store::Command, String> {
    let (kind, job_name, run_id) = match request {
        Request::Pause(job) => (CommandKind::Pause, Some(job.clone()), None),
        Request::Resume(job) => (CommandKind::Resume, Some(job.clone()), None),
        Request::PauseAll => (CommandKind::PauseAll, None, None),
        Request::ResumeAll => (CommandKind::ResumeAll, None, None),
        Request::RunNow(job) => (CommandKind::Run, Some(job.clone()), None),
        Request::Cancel(run) => (CommandKind::Cancel, None, Some(*run)),
        Request::Retry(run) => (CommandKind::Run, None, Some(*run)),
        Request::Delete(_) => return Err("deleting a job is not a command".into()),
    };
    let id = store
        .push_command(&NewCommand {
            kind,
            job_name,
            run_id,
            requested_at: Utc::now(),
        })
        .await
        .map_err(|e| e.to_string())?;
    wait_for_command(store, id, STORE_REPLY_DEADLINE).await
}

/// Wait until the instance that took command `id` has completed it; its
/// error, if it gave one, is the `Err`.
async fn wait_for_command(
    store: &Store,
    id: i64,
    deadline: Duration,
) -> Result<crate::store::Command, String> {
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        let command = store.get_command(id).await.map_err(|e| e.to_string())?;
        if let Some(command) = command
            && command.completed
        {
            return match command.error {
                Some(error) => Err(error),
                None => Ok(command),
            };
        }
        if tokio::time::Instant::now() > give_up {
            return Err(format!(
                "the running instance did not act within {}s; is it stuck? (see `cronport runs list`)",
                deadline.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Render `job` as a run would now, with its stored definition, and show the
/// first `rows` rows and what they came to in its format; deliver nothing.
/// Bounded by the job's timeout. The console's `D` and `cronport jobs run
/// NAME --dry-run` both come here.
pub async fn dry_run(
    store: &Store,
    config: &Config,
    pipeline: &Pipeline,
    job: &str,
    rows: usize,
) -> Result<Preview, String> {
    let record = store
        .get_job(job)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no job named {job:?}"))?;
    let spec: JobSpec = serde_json::from_str(&record.definition)
        .map_err(|e| format!("{job}: the stored definition is unreadable: {e}"))?;
    let checked = spec
        .validate(&config.known())
        .map_err(|errors| format!("{job}: {}", crate::job::one_line(&errors)))?;
    let now = Utc::now();
    let ctx = RunContext {
        job: job.to_string(),
        run_id: 0,
        attempt: 1,
        scheduled_for: now,
        window_start: crate::scheduler::runner::previous_fire(&checked, now),
        window_end: now,
        timezone: checked.schedule.timezone(),
    };
    let render = pipeline.preview(&checked.spec.source, &checked.spec.format, &ctx, rows);
    match tokio::time::timeout(checked.policy.timeout, render).await {
        Ok(result) => result.map_err(|e| format!("{job}: {e}")),
        Err(_) => Err(format!(
            "{job}: the dry run took longer than the job's timeout ({}s)",
            checked.policy.timeout.as_secs()
        )),
    }
}
