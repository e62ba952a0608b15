//! Writing the audit trail from wherever an operator acts: the command
//! line, the console (embedded or attached), and the config's jobs added
//! at start. The entry is written by the process the operator used, so it
//! names that process's user and host even when another instance carried
//! the action out.

use chrono::Utc;

use crate::config::Config;
use crate::control::Request;
use crate::export::{Pipeline, Preview};
use crate::store::{AuditAction, NewAuditEntry, RunId, Store, Way};

/// Who acts, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// OS user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Console, command line, or config at start.
    pub way: Way,
}

impl Actor {
    /// The user and host of this process, acting `way`.
    pub fn here(way: Way) -> Actor {
        Actor {
            user: crate::scheduler::instance::user(),
            host: crate::scheduler::instance::hostname(),
            way,
        }
    }
}

/// What to record about one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// What was done.
    pub action: AuditAction,
    /// The job it concerns.
    pub job: Option<String>,
    /// The run it concerns.
    pub run_id: Option<RunId>,
    /// The instance that carried it out; `None`: this process.
    pub instance: Option<String>,
    /// "done", or why not.
    pub outcome: String,
    /// The job's definition before.
    pub before: Option<String>,
    /// The job's definition after.
    pub after: Option<String>,
}

impl Note {
    /// `action` on `job` (if any), done by this process.
    pub fn new(action: AuditAction, job: Option<&str>) -> Note {
        Note {
            action,
            job: job.map(str::to_string),
            run_id: None,
            instance: None,
            outcome: "done".into(),
            before: None,
            after: None,
        }
    }

    /// About run `run_id`.
    pub fn run(mut self, run_id: RunId) -> Note {
        self.run_id = Some(run_id);
        self
    }

    /// The outcome: what was said of it when done, or why it was not.
    pub fn outcome(mut self, result: &Result<String, String>) -> Note {
        self.outcome = match result {
            Ok(text) => text.clone(),
            Err(e) => format!("not done: {e}"),
        };
        self
    }

    /// Carried out by `instance` rather than this process.
    pub fn by(mut self, instance: Option<String>) -> Note {
        if instance.is_some() {
            self.instance = instance;
        }
        self
    }

    /// The job's definition before and after.
    pub fn change(mut self, before: Option<String>, after: Option<String>) -> Note {
        self.before = before;
        self.after = after;
        self
    }
}

/// This process as "host:pid".
pub fn this_process() -> String {
    format!(
        "{}:{}",
        crate::scheduler::instance::hostname(),
        std::process::id()
    )
}

/// Records `note` as `actor`. A failed write is logged, not returned: the
/// action itself has happened (or been refused) by now, and saying it did
/// not would be wrong.
pub async fn record(store: &Store, actor: &Actor, note: Note) {
    let entry = NewAuditEntry {
        at: Utc::now(),
        actor_user: actor.user.clone(),
        actor_host: actor.host.clone(),
        way: actor.way,
        instance: note.instance.unwrap_or_else(this_process),
        action: note.action,
        job: note.job,
        run_id: note.run_id,
        outcome: note.outcome,
        before: note.before,
        after: note.after,
    };
    if let Err(e) = store.record_audit(&entry).await {
        tracing::error!(
            "the audit trail could not record {} of {}: {e}",
            entry.action,
            entry.job.as_deref().unwrap_or("-")
        );
    }
}

/// The audit entry of `request`: its action, job and run.
pub fn note(request: &Request) -> Note {
    match request {
        Request::Pause(job) => Note::new(AuditAction::Pause, Some(job)),
        Request::Resume(job) => Note::new(AuditAction::Resume, Some(job)),
        Request::PauseAll => Note::new(AuditAction::PauseAll, None),
        Request::ResumeAll => Note::new(AuditAction::ResumeAll, None),
        Request::RunNow(job) => Note::new(AuditAction::RunNow, Some(job)),
        Request::Cancel(run) => Note::new(AuditAction::Cancel, None).run(*run),
        Request::Retry(run) => Note::new(AuditAction::Retry, None).run(*run),
        Request::Delete(job) => Note::new(AuditAction::Delete, Some(job)),
    }
}

/// The number right after the first `marker` in `text`.
pub fn number_after(text: &str, marker: &str) -> Option<RunId> {
    let at = text.find(marker)? + marker.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// [`crate::control::dry_run`], recorded in the audit trail as `actor`'s.
pub async fn dry_run(
    store: &Store,
    config: &Config,
    pipeline: &Pipeline,
    job: &str,
    rows: usize,
    actor: &Actor,
) -> Result<Preview, String> {
    let preview = crate::control::dry_run(store, config, pipeline, job, rows).await;
    let said = match &preview {
        Ok(p) => Ok(format!(
            "rendered {} row(s), {} bytes of {}",
            p.rows_rendered, p.bytes, p.extension
        )),
        Err(e) => Err(e.clone()),
    };
    let note = Note::new(AuditAction::DryRun, Some(job)).outcome(&said);
    crate::audit::record(store, actor, note).await;
    preview
}

/// What the trail needs from the store before a console's request is
/// carried out: a deleted job's definition is gone after, and the job a
/// cancelled or retried run is of is named in its entry.
#[derive(Debug, Default)]
pub struct Prior {
    definition: Option<String>,
    job_of_run: Option<String>,
}

impl Prior {
    /// Reads it for `request` (nothing when the store cannot say).
    pub async fn read(store: &Store, request: &Request) -> Prior {
        match request {
            Request::Delete(job) => Prior {
                definition: store
                    .get_job(job)
                    .await
                    .ok()
                    .flatten()
                    .map(|j| j.definition),
                job_of_run: None,
            },
            Request::Cancel(id) | Request::Retry(id) => Prior {
                definition: None,
                job_of_run: store.get_run(*id).await.ok().flatten().map(|r| r.job_name),
            },
            _ => Prior::default(),
        }
    }

    /// Records `request`, carried out by `by` (or this process) with
    /// `result`, as the console's.
    pub async fn record(
        self,
        store: &Store,
        request: &Request,
        result: &Result<String, String>,
        by: Option<String>,
    ) {
        let mut note = note(request);
        note.job = note.job.or(self.job_of_run);
        // The run a run now started, in the answer's words ("run 12 of
        // ..."); a retry's entry names the run retried, its outcome the new.
        if let (Request::RunNow(_), Ok(text)) = (request, result)
            && let Some(run_id) = number_after(text, "run ")
        {
            note = note.run(run_id);
        }
        let note = note.outcome(result).by(by).change(self.definition, None);
        record(store, &Actor::here(Way::Console), note).await;
    }
}
