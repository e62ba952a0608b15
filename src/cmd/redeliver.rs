//! `cronport runs redeliver ID [--destination NAME]`: send a run's kept
//! output again, without running its source. Destinations get the run's
//! fire id, so what already arrived is not duplicated. Only a file this
//! store kept for this run, within `spool_days`, is sent (see
//! [`crate::scheduler::kept`]); anything else is refused before a
//! destination is touched.

use serde_json::json;

use super::{Context, Failure};
use crate::scheduler::RedeliverError;

pub(super) async fn run(
    ctx: &Context,
    id: i64,
    only: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    let store = ctx.store().await?;
    let run = store
        .get_run(id)
        .await?
        .ok_or_else(|| Failure::BadInput(format!("no run with id {id}")))?;
    let record = store.get_job(&run.job_name).await?.ok_or_else(|| {
        Failure::BadInput(format!(
            "run {id}: its job {:?} is no longer stored",
            run.job_name
        ))
    })?;
    let job = crate::job::checked_stored(&run.job_name, &record.definition, &ctx.config.known())
        .map_err(|e| match e {
            crate::job::StoredJobError::Unreadable { .. } => Failure::Failed(e.to_string()),
            crate::job::StoredJobError::Invalid { .. } => Failure::BadInput(e.to_string()),
        })?;
    let names: Vec<String> = match only {
        Some(name) if job.spec.destinations.iter().any(|d| d == name) => vec![name.to_string()],
        Some(name) => {
            return Err(Failure::BadInput(format!(
                "--destination: job {:?} does not deliver to {name:?} (it uses {})",
                job.name(),
                job.spec.destinations.join(", ")
            )));
        }
        None => job.spec.destinations.clone(),
    };
    let pipeline = ctx.pipeline();
    let outcome = crate::scheduler::redeliver(&store, &ctx.config, &pipeline, &job, &run, &names)
        .await
        .map_err(|e| match e {
            RedeliverError::Destination(_) => Failure::BadInput(e.to_string()),
            // Exit 1: the run is real, what is missing is its output on
            // this host (or the store failed).
            RedeliverError::Kept(_) | RedeliverError::Store(_) => Failure::Failed(e.to_string()),
        })?;
    if json_out {
        let items: Vec<_> = outcome
            .deliveries
            .iter()
            .map(|d| {
                json!({
                    "destination": d.destination,
                    "status": d.status.as_str(),
                    "location": d.location,
                    "error": d.error,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
    } else {
        for d in &outcome.deliveries {
            println!(
                "{:<10} {:<20} {}",
                d.status.as_str(),
                d.destination,
                d.location.as_deref().or(d.error.as_deref()).unwrap_or("")
            );
        }
    }
    match outcome.failure {
        Some((name, error)) => Err(Failure::Failed(format!("destination {name:?}: {error}"))),
        None => Ok(()),
    }
}
