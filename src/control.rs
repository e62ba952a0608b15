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
use crate::store::{CommandKind, InstanceInfo, NewCommand, RunId, RunStatus, Store};

/// Rows a dry run shows unless asked for another number.
pub const PREVIEW_ROWS: usize = 20;

/// How long a request through the store may wait for the instance to act.
pub const STORE_REPLY_DEADLINE: Duration = Duration::from_secs(10);

/// After [`STORE_REPLY_DEADLINE`], how much longer a waiter gives an
/// instance that took the request (and is carrying it out) to finish it.
pub const TAKEN_GRACE: Duration = Duration::from_secs(5);

/// The age past which a request nobody took is closed unrun ("expired")
/// by whoever starts a scheduler, instead of being carried out.
///
/// The same as [`STORE_REPLY_DEADLINE`]: by then whoever asked has been
/// told the request failed (or was killed while waiting), so carrying it
/// out would be the silent late run this bound exists to prevent. Younger
/// requests may still have someone waiting, and a scheduler that takes over
/// takes them within a second of starting, so they run at once.
pub const COMMAND_TTL: Duration = STORE_REPLY_DEADLINE;

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
    /// Carry out `request`; on success, a line saying what happened. The
    /// audit trail records it as the console's, whoever carried it out.
    pub async fn send(&self, request: Request) -> Result<String, String> {
        let store = match self {
            Control::Embedded { store, .. } | Control::Attached { store } => store,
        };
        let prior = crate::audit::Prior::read(store, &request).await;
        let (result, by) = match self {
            Control::Embedded { store, commands } => {
                (embedded(store, commands, request.clone()).await, None)
            }
            Control::Attached { store } => attached(store, request.clone()).await,
        };
        prior.record(store, &request, &result, by).await;
        result
    }

    /// Tell the scheduler that jobs changed in the store (one was saved),
    /// and wait until it has loaded them, so that a test run asked for next
    /// finds the job. A scheduler in another process reads the store every
    /// second and loads a job it is asked to run that it does not know yet.
    pub async fn jobs_changed(&self) -> Result<(), String> {
        let Control::Embedded { commands, .. } = self else {
            return Ok(());
        };
        let (reply, answer) = oneshot::channel();
        let stopped = |_| "the scheduler has stopped".to_string();
        commands
            .send(Command::Reload { reply: Some(reply) })
            .await
            .map_err(stopped)?;
        answer
            .await
            .map_err(|_| "the scheduler has stopped".to_string())?
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
            Ok(manual_run(store, run_id, &job, None).await)
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

/// Through the store; with the instance that carried the request out.
async fn attached(store: &Store, request: Request) -> (Result<String, String>, Option<String>) {
    if let Request::Delete(job) = &request {
        // Jobs live in the store; the instance sees the change within a
        // second, like an edit.
        let deleted = delete(store, job)
            .await
            .map(|()| format!("{job} deleted with its history"));
        return (deleted, None);
    }
    let done = match ask_instance(store, &request).await {
        Ok(done) => done,
        Err(e) => return (Err(e), None),
    };
    let by = done.taken_by.unwrap_or_default();
    let text = match (&request, done.result_run_id) {
        (Request::RunNow(job), Some(run)) => manual_run(store, run, job, Some(&by)).await,
        (Request::Retry(run_id), Some(run)) => {
            format!("run {run_id} retried as run {run} on {by}")
        }
        (request, _) => format!("{} done by {by}", request.describe()),
    };
    (Ok(text), Some(by))
}

/// What became of a run asked for by hand, for the one who asked: started
/// (on `by`), or queued behind the job's running run (its overlap policy
/// said so). A refusal comes back as the request's error instead.
pub async fn manual_run(store: &Store, run_id: RunId, job: &str, by: Option<&str>) -> String {
    let on = by.map(|by| format!(" on {by}")).unwrap_or_default();
    match store.get_run(run_id).await {
        Ok(Some(run)) if run.status == RunStatus::Queued => {
            format!("run {run_id} of {job} queued: it starts when the job's running run ends")
        }
        _ => format!("run {run_id} of {job} started{on}"),
    }
}

/// Leave `request` in the store's commands table for the instance holding
/// the lease, and wait until it has carried it out: the completed command
/// says which instance took it and, for runs, the run it started. `Delete`
/// is not a command (write the store instead).
///
/// The answer comes within [`STORE_REPLY_DEADLINE`] (plus
/// [`TAKEN_GRACE`] when an instance took it and is still at it): a request
/// nobody took by then is withdrawn, so it never runs later unannounced,
/// and the error says why (the instance is gone, or seems stuck).
pub async fn ask_instance(
    store: &Store,
    request: &Request,
) -> Result<crate::store::Command, String> {
    ask_instance_within(store, request, STORE_REPLY_DEADLINE).await
}

/// [`ask_instance`] with another deadline (tests use a short one).
pub async fn ask_instance_within(
    store: &Store,
    request: &Request,
    deadline: Duration,
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
    let now = Utc::now();
    // Whom the request is for, to name it if it never answers.
    let asked = store.lease_holder(now).await.map_err(|e| e.to_string())?;
    let id = store
        .push_command(&NewCommand {
            kind,
            job_name,
            run_id,
            requested_at: now,
        })
        .await
        .map_err(|e| e.to_string())?;
    let waiting = Waiting {
        id,
        what: request.describe(),
        asked,
        deadline,
    };
    waiting.wait(store).await
}

/// A request left in the store, being waited for.
struct Waiting {
    id: i64,
    what: String,
    /// The lease holder when it was asked.
    asked: Option<InstanceInfo>,
    deadline: Duration,
}

impl Waiting {
    /// Until the instance that took it has completed it; its error, if it
    /// gave one, is the `Err`. Untaken at the deadline: withdrawn.
    async fn wait(&self, store: &Store) -> Result<crate::store::Command, String> {
        let id = self.id;
        let give_up = tokio::time::Instant::now() + self.deadline;
        let mut taken_by: Option<String> = None;
        loop {
            let command = store
                .get_command(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("request {id} ({}) vanished from the store", self.what))?;
            if command.completed {
                return match command.error {
                    Some(error) => Err(error),
                    None => Ok(command),
                };
            }
            if command.taken_by.is_some() {
                taken_by = command.taken_by;
            }
            let now = tokio::time::Instant::now();
            match &taken_by {
                None if now > give_up => {
                    let reason = self.unanswered(store).await;
                    match store
                        .withdraw_command(id, &this_process(), Utc::now(), &reason)
                        .await
                    {
                        Ok(true) => return Err(reason),
                        // Taken just now: give its taker the grace period.
                        Ok(false) => continue,
                        Err(e) => {
                            return Err(format!(
                                "{reason}; withdrawing it failed ({e}), so it may still run later"
                            ));
                        }
                    }
                }
                Some(by) if now > give_up + TAKEN_GRACE => {
                    return Err(format!(
                        "{by} took '{}' but has not finished it after {}s; see `cronport runs list`",
                        self.what,
                        (self.deadline + TAKEN_GRACE).as_secs()
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Why nobody took the request: the instance asked is gone, or alive
    /// but not taking commands.
    async fn unanswered(&self, store: &Store) -> String {
        let secs = self.deadline.as_secs();
        let what = &self.what;
        // Either way the request is withdrawn next: say that it will not
        // run later, so nobody waits for it.
        let withdrawn = "was withdrawn and will not run later";
        let holder = store.lease_holder(Utc::now()).await.ok().flatten();
        let alive = holder.as_ref().filter(|h| {
            crate::scheduler::instance::dead_on_this_host(std::slice::from_ref(*h), "").is_empty()
        });
        match (&self.asked, alive) {
            (Some(asked), Some(now)) if asked.id == now.id => format!(
                "instance {} did not take '{what}' within {secs}s (is it stuck?); the request {withdrawn}",
                host_pid(asked)
            ),
            (Some(asked), _) => {
                format!("instance {} is gone; '{what}' {withdrawn}", host_pid(asked))
            }
            (None, Some(now)) => format!(
                "instance {} did not take '{what}' within {secs}s; the request {withdrawn}",
                host_pid(now)
            ),
            (None, None) => format!("no instance runs the schedule; '{what}' {withdrawn}"),
        }
    }
}

/// "host:pid", how the console and messages name an instance.
pub fn host_pid(instance: &InstanceInfo) -> String {
    format!("{}:{}", instance.hostname, instance.pid)
}

/// This process as "host:pid", recorded as the closer of the commands it
/// withdraws or expires.
fn this_process() -> String {
    format!(
        "{}:{}",
        crate::scheduler::instance::hostname(),
        std::process::id()
    )
}

/// A stored command in words: "run daily-sales now", "retry run 12".
pub fn describe_command(command: &crate::store::Command) -> String {
    let job = command.job_name.as_deref().unwrap_or("?");
    let run = command
        .run_id
        .map_or_else(|| "?".to_string(), |r| r.to_string());
    match command.kind {
        CommandKind::Run if command.job_name.is_none() => format!("retry run {run}"),
        CommandKind::Run => format!("run {job} now"),
        CommandKind::Pause => format!("pause {job}"),
        CommandKind::Resume => format!("resume {job}"),
        CommandKind::PauseAll => "pause all jobs".into(),
        CommandKind::ResumeAll => "resume all jobs".into(),
        CommandKind::Cancel => format!("cancel run {run}"),
        CommandKind::Reload => "reload jobs".into(),
    }
}

/// Close what a new scheduler must not carry out, just before it starts:
/// requests nobody took within [`COMMAND_TTL`] (whoever asked has been
/// told they failed) and, when it takes over from `gone`, the requests
/// `gone` took and never completed. Each is logged, and keeps its reason as
/// its recorded error; they are returned for the console to show.
pub async fn close_orphaned_commands(
    store: &Store,
    gone: Option<&InstanceInfo>,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<crate::store::Command>, crate::store::StoreError> {
    let ttl = COMMAND_TTL.as_secs();
    let reason = format!(
        "expired: no scheduler took it within {ttl}s of the request, so it was not carried out"
    );
    let before = now - chrono::Duration::from_std(COMMAND_TTL).unwrap_or_default();
    let mut closed = store
        .expire_commands(before, &this_process(), now, &reason)
        .await?;
    for command in &closed {
        tracing::warn!(
            "request {} ({}), asked at {}, expired unrun: no scheduler took it within {ttl}s",
            command.id,
            describe_command(command),
            command.requested_at.format("%H:%M:%S UTC"),
        );
    }
    if let Some(gone) = gone {
        let reason = format!(
            "instance {} stopped before it finished this request; check whether it took effect",
            host_pid(gone)
        );
        let abandoned = store.abandon_commands(&gone.id, &reason).await?;
        for command in &abandoned {
            tracing::warn!(
                "request {} ({}) was taken by {}, which stopped before finishing it",
                command.id,
                describe_command(command),
                host_pid(gone),
            );
        }
        closed.extend(abandoned);
    }
    Ok(closed)
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
    let (_, checked) = crate::scheduler::checked_job(store, config, job)
        .await
        .map_err(|e| e.to_string())?;
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
