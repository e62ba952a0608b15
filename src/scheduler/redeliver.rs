//! Redelivery: send a run's kept output again, without running its source.
//! Destinations get the run's fire id, so what already arrived is not
//! duplicated. Only a file this store kept for this run, within
//! `spool_days`, is sent (see [`super::kept`]); anything else is refused
//! before a destination is touched. `cronport runs redeliver` and the
//! console's run view both come here.

use std::sync::Arc;

use crate::config::Config;
use crate::export::RunContext;
use crate::export::delivery::{self, Outcome};
use crate::export::destination::{Artifact, Destination, fire_id_of};
use crate::job::JobSpec;
use crate::scheduler::kept::{Kept, RunKey};
use crate::scheduler::spool::StoreSpool;
use crate::store::Store;

/// Why a redelivery did not start, or what it met.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    /// The request names something that is not there (exit 2 on the CLI).
    #[error("{0}")]
    BadInput(String),
    /// The run is real but cannot be redelivered (its output is gone, the
    /// store failed).
    #[error("{0}")]
    Failed(String),
}

impl From<crate::store::StoreError> for RedeliverError {
    fn from(e: crate::store::StoreError) -> Self {
        RedeliverError::Failed(e.to_string())
    }
}

/// Send run `id`'s kept output to its job's destinations (or only to
/// `only`), and record the deliveries with the run. The outcome says what
/// each destination did; a destination that refused is its `failure`.
pub async fn redeliver(
    store: &Store,
    config: &Config,
    id: i64,
    only: Option<&str>,
) -> Result<Outcome, RedeliverError> {
    let run = store
        .get_run(id)
        .await?
        .ok_or_else(|| RedeliverError::BadInput(format!("no run with id {id}")))?;
    let record = store.get_job(&run.job_name).await?.ok_or_else(|| {
        RedeliverError::BadInput(format!(
            "run {id}: its job {:?} is no longer stored",
            run.job_name
        ))
    })?;
    let spec: JobSpec = serde_json::from_str(&record.definition).map_err(|e| {
        RedeliverError::Failed(format!(
            "job {:?}: stored definition is unreadable: {e}",
            run.job_name
        ))
    })?;
    let job = spec.validate(&config.known()).map_err(|errors| {
        RedeliverError::BadInput(format!(
            "job {:?} does not fit the config: {}",
            run.job_name,
            crate::job::one_line(&errors)
        ))
    })?;
    let names: Vec<String> = match only {
        Some(name) if job.spec.destinations.iter().any(|d| d == name) => vec![name.to_string()],
        Some(name) => {
            return Err(RedeliverError::BadInput(format!(
                "--destination: job {:?} does not deliver to {name:?} (it uses {})",
                job.name(),
                job.spec.destinations.join(", ")
            )));
        }
        None => job.spec.destinations.clone(),
    };
    let spool = StoreSpool::new(&config.scheduler.spool_dir, store.identity());
    let fire_id = fire_id_of(&run.job_name, run.scheduled_for);
    let key = RunKey {
        run: id,
        job: &run.job_name,
        fire_id: &fire_id,
    };
    // Failed, not bad input: the run is real, what is missing is its
    // output on this host.
    let kept = Kept::new(&spool, config.scheduler.spool_days)
        .find(&key, chrono::Utc::now())
        .map_err(|e| RedeliverError::Failed(e.to_string()))?;
    let pipeline = config.pipeline();
    let targets: Vec<(String, Arc<dyn Destination>)> = names
        .iter()
        .map(|name| {
            pipeline
                .destinations()
                .get(name)
                .map(|d| (name.clone(), d.clone()))
                .ok_or_else(|| {
                    RedeliverError::BadInput(format!(
                        "destination {name:?} is not defined in the config"
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let run_ctx = RunContext {
        job: job.name().to_string(),
        run_id: id,
        attempt: u32::try_from(run.attempt).unwrap_or(0).max(1),
        scheduled_for: run.scheduled_for,
        window_start: super::runner::previous_fire(&job, run.scheduled_for),
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
        .record_deliveries(id, &super::delivery_records(&outcome, &run_ctx))
        .await?;
    Ok(outcome)
}
