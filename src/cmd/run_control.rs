//! `cronport runs retry ID` and `cronport runs cancel ID`: what the
//! console's `r` and `c` do, from the command line, on whichever instance
//! runs the job.

use chrono::Utc;

use super::{Failure, live_holder};
use crate::audit::{Actor, Note};
use crate::control::{Request, ask_instance};
use crate::store::{AuditAction, RetryQueued, RunId, RunStatus, Store, Way};

fn no_such_run(id: RunId) -> Failure {
    Failure::BadInput(format!("no run with id {id}"))
}

/// Queues a retry of a failed, cancelled or interrupted run in the shared
/// run queue (the way the engine queues the retry of a run a dead instance
/// left); refuses any other run, naming its state.
pub(super) async fn retry(store: &Store, id: RunId) -> Result<(), Failure> {
    let run = store.get_run(id).await?.ok_or_else(|| no_such_run(id))?;
    let queued = store.queue_retry(id, Utc::now()).await?;
    let said = match &queued {
        RetryQueued::Queued(new) => Ok(format!("run {id} queued for a retry as run {new}")),
        RetryQueued::Refused(why) => Err(why.clone()),
    };
    let note = Note::new(AuditAction::Retry, Some(&run.job_name))
        .run(id)
        .outcome(&said);
    crate::audit::record(store, &Actor::here(Way::Cli), note).await;
    let said = said.map_err(Failure::BadInput)?;
    match live_holder(store).await? {
        Some(holder) => println!(
            "{said}; {} takes it within a second",
            crate::control::host_pid(&holder)
        ),
        None => println!("{said}; no instance runs the schedule now: the next to start takes it"),
    }
    Ok(())
}

/// Asks for a running run to stop: through the instance holding the lease,
/// as the console's `c` does (it stops the run if it has it, else marks it
/// for the instance that does); with none, marks it in the store for the
/// instance running it.
pub(super) async fn cancel(store: &Store, id: RunId) -> Result<(), Failure> {
    let run = store.get_run(id).await?.ok_or_else(|| no_such_run(id))?;
    if run.status != RunStatus::Running {
        return Err(Failure::BadInput(format!(
            "run {id} of {} is {}: only a running run can be cancelled",
            run.job_name, run.status
        )));
    }
    let (result, by) = match live_holder(store).await? {
        Some(_) => match ask_instance(store, &Request::Cancel(id)).await {
            Ok(command) => {
                let by = command.taken_by.unwrap_or_default();
                (Ok(format!("cancel of run {id} asked by {by}")), Some(by))
            }
            Err(e) => (Err(e), None),
        },
        None => match store.request_cancel(id, Utc::now()).await {
            Ok(true) => (
                Ok(format!(
                    "cancel of run {id} asked of the instance running it"
                )),
                None,
            ),
            Ok(false) => (Err(format!("run {id} is no longer running")), None),
            Err(e) => (Err(e.to_string()), None),
        },
    };
    let note = Note::new(AuditAction::Cancel, Some(&run.job_name))
        .run(id)
        .outcome(&result)
        .by(by);
    crate::audit::record(store, &Actor::here(Way::Cli), note).await;
    println!("{}", result.map_err(Failure::Failed)?);
    Ok(())
}
