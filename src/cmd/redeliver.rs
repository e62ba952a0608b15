//! `cronport runs redeliver ID [--destination NAME]`: send a run's kept
//! output again, without running its source. Destinations get the run's
//! fire id, so what already arrived is not duplicated. Only a file this
//! store kept for this run, within `spool_days`, is sent (see
//! [`crate::scheduler::kept`]); anything else is refused before a
//! destination is touched.

use std::sync::Arc;

use serde_json::json;

use super::{Context, Failure};
use crate::export::RunContext;
use crate::export::delivery;
use crate::export::destination::{Artifact, Destination, fire_id_of};
use crate::scheduler::kept::{Kept, RunKey};
use crate::scheduler::spool::StoreSpool;

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
    let spool = StoreSpool::new(&ctx.config.scheduler.spool_dir, store.identity());
    let fire_id = fire_id_of(&run.job_name, run.scheduled_for);
    let key = RunKey {
        run: id,
        job: &run.job_name,
        fire_id: &fire_id,
    };
    // Exit 1: the run is real, what is missing is its output on this host.
    let kept = Kept::new(&spool, ctx.config.scheduler.spool_days)
        .find(&key, chrono::Utc::now())
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let pipeline = ctx.pipeline();
    let targets: Vec<(String, Arc<dyn Destination>)> = names
        .iter()
        .map(|name| {
            pipeline
                .destinations()
                .get(name)
                .map(|d| (name.clone(), d.clone()))
                .ok_or_else(|| {
                    Failure::BadInput(format!("destination {name:?} is not defined in the config"))
                })
        })
        .collect::<Result<_, _>>()?;
    let run_ctx = RunContext {
        job: job.name().to_string(),
        run_id: id,
        attempt: u32::try_from(run.attempt).unwrap_or(0).max(1),
        scheduled_for: run.scheduled_for,
        window_start: crate::scheduler::runner::previous_fire(&job, run.scheduled_for),
        window_end: run.scheduled_for,
        timezone: job.schedule.timezone(),
    };
    let mut artifact = Artifact {
        path: kept.path,
        extension: kept.extension,
        bytes: kept.bytes,
        rows: kept.rows,
        delivered: Vec::new(),
    };
    let outcome = delivery::deliver_all(&targets, &mut artifact, &run_ctx).await;
    store
        .record_deliveries(id, &crate::scheduler::delivery_records(&outcome, &run_ctx))
        .await?;
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
