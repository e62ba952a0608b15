//! Sending a run's kept output again (`runs redeliver`), and recording what
//! happened at each destination with the run's other records. Destinations
//! get the run's fire id, so what already arrived is not duplicated.

use super::kept::{Kept, KeptError, RunKey};
use super::spool::StoreSpool;
use crate::config::Config;
use crate::export::delivery::{self, Outcome};
use crate::export::destination::{Artifact, fire_id_of};
use crate::export::{ExportError, Pipeline, RunContext};
use crate::job::Job;
use crate::store::{RunRecord, Store, StoreError};

/// Why a run's output could not be sent again. Nothing was delivered.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    /// This store kept no usable output for the run on this host.
    #[error(transparent)]
    Kept(#[from] KeptError),
    /// A destination the config does not define.
    #[error(transparent)]
    Destination(ExportError),
    /// The outcome could not be recorded (it was delivered).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Send the output kept for `run` of `job` to `destinations` and record the
/// outcome at each as the run's deliveries. A destination's refusal is in
/// the outcome, not an error.
pub async fn redeliver(
    store: &Store,
    config: &Config,
    pipeline: &Pipeline,
    job: &Job,
    run: &RunRecord,
    destinations: &[String],
) -> Result<Outcome, RedeliverError> {
    let spool = StoreSpool::new(&config.scheduler.spool_dir, store.identity());
    let fire_id = fire_id_of(&run.job_name, run.scheduled_for);
    let key = RunKey {
        run: run.id,
        job: &run.job_name,
        fire_id: &fire_id,
    };
    let kept = Kept::new(&spool, config.scheduler.spool_days).find(&key, chrono::Utc::now())?;
    let targets = pipeline
        .targets(destinations)
        .map_err(RedeliverError::Destination)?;
    let ctx = RunContext {
        job: job.name().to_string(),
        run_id: run.id,
        attempt: u32::try_from(run.attempt).unwrap_or(0).max(1),
        scheduled_for: run.scheduled_for,
        window_start: super::runner::previous_fire(job, run.scheduled_for),
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
    let outcome = delivery::deliver_all(&targets, &mut artifact, &ctx).await;
    store
        .record_deliveries(run.id, &super::delivery_records(&outcome, &ctx))
        .await?;
    Ok(outcome)
}
