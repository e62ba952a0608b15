//! Redelivery: send a run's kept output again, without running its source,
//! and record what happened at each destination with the run's other
//! records. Destinations get the run's fire id, so what already arrived is
//! not duplicated. Only a file this store kept for this run, within
//! `spool_days`, is sent (see [`super::kept`]); anything else is refused
//! before a destination is touched. `cronport runs redeliver` and the
//! console's run view both come here.

use super::kept::{Kept, KeptError, KeptOutput, RunKey};
use super::spool::StoreSpool;
use crate::config::Config;
use crate::export::delivery::{self, Outcome, Target};
use crate::export::destination::{Artifact, fire_id_of};
use crate::export::{ExportError, RunContext};
use crate::job::{Job, StoredJobError};
use crate::store::{RunRecord, Store, StoreError};

/// Why a run's output could not be sent again. Nothing was delivered,
/// except for `Store` (the outcome could not be recorded).
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    /// The store holds no run with this id.
    #[error("no run with id {0}")]
    UnknownRun(i64),
    /// The run is held by a check: `runs release` delivers it (and ends
    /// the hold); a redelivery would send it and leave it held.
    #[error(
        "run {0} is held (a check failed): deliver it with `cronport runs release {0}`, \
         which also ends the hold"
    )]
    Held(i64),
    /// The run's job was deleted since.
    #[error("run {run}: its job {job:?} is no longer stored")]
    JobGone {
        /// The run.
        run: i64,
        /// Its job's name.
        job: String,
    },
    /// The stored job cannot be read, or no longer fits the config.
    #[error(transparent)]
    Job(#[from] StoredJobError),
    /// `--destination` names one the job does not deliver to.
    #[error("--destination: job {job:?} does not deliver to {name:?} (it uses {uses})")]
    NotItsDestination {
        /// The job.
        job: String,
        /// The destination asked for.
        name: String,
        /// The job's destinations, comma-separated.
        uses: String,
    },
    /// This store kept no usable output for the run on this host.
    #[error(transparent)]
    Kept(#[from] KeptError),
    /// A destination the config does not define.
    #[error(transparent)]
    Destination(ExportError),
    /// The store failed (reading the run, or recording the outcome).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RedeliverError {
    /// Whether the request itself is wrong (exit 2 on the command line),
    /// rather than the run being real but its output gone or the store
    /// failing (exit 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            RedeliverError::UnknownRun(_)
            | RedeliverError::Held(_)
            | RedeliverError::JobGone { .. }
            | RedeliverError::NotItsDestination { .. }
            | RedeliverError::Destination(_) => true,
            RedeliverError::Job(e) => matches!(e, StoredJobError::Invalid { .. }),
            RedeliverError::Kept(_) | RedeliverError::Store(_) => false,
        }
    }
}

/// Send run `id`'s kept output to its job's destinations (or only to
/// `only`), and record the outcome at each as the run's deliveries. A
/// destination's refusal is in the outcome (its `failure`), not an error.
pub async fn redeliver(
    store: &Store,
    config: &Config,
    id: i64,
    only: Option<&str>,
) -> Result<Outcome, RedeliverError> {
    let run = store
        .get_run(id)
        .await?
        .ok_or(RedeliverError::UnknownRun(id))?;
    if run.status == crate::store::RunStatus::Held {
        return Err(RedeliverError::Held(id));
    }
    let record = store
        .get_job(&run.job_name)
        .await?
        .ok_or_else(|| RedeliverError::JobGone {
            run: id,
            job: run.job_name.clone(),
        })?;
    let known = crate::destinations::known(config, store).await?;
    let job = crate::job::checked_stored(&run.job_name, &record.definition, &known)?;
    let names: Vec<String> = match only {
        Some(name) if job.spec.destinations.iter().any(|d| d == name) => vec![name.to_string()],
        Some(name) => {
            return Err(RedeliverError::NotItsDestination {
                job: job.name().to_string(),
                name: name.to_string(),
                uses: job.spec.destinations.join(", "),
            });
        }
        None => job.spec.destinations.clone(),
    };
    let spool = StoreSpool::new(&config.scheduler.spool_dir, store.identity());
    let fire_id = fire_id_of(&run.job_name, run.scheduled_for);
    let key = RunKey {
        run: run.id,
        job: &run.job_name,
        fire_id: &fire_id,
    };
    let kept = Kept::new(&spool, config.scheduler.spool_days).find(&key, chrono::Utc::now())?;
    let targets = crate::destinations::pipeline(config, store)
        .await?
        .targets(&names)
        .map_err(RedeliverError::Destination)?;
    Ok(deliver_kept(store, &job, &run, kept, &targets).await?)
}

/// Deliver `kept`, the output kept for `run` of `job`, to `targets` as that
/// run (its fire id and time window), and record what each did: a
/// redelivery and a release of a held run both end here.
pub(super) async fn deliver_kept(
    store: &Store,
    job: &Job,
    run: &RunRecord,
    kept: KeptOutput,
    targets: &[Target],
) -> Result<Outcome, StoreError> {
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
    let outcome = delivery::deliver_all(targets, &mut artifact, &ctx).await;
    store
        .record_deliveries(run.id, &super::delivery_records(&outcome, &ctx))
        .await?;
    Ok(outcome)
}
