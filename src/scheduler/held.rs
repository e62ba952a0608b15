//! Held runs: a run whose output failed a check waits, its file kept, for
//! someone to release it (deliver it to the job's destinations; the run
//! then succeeded) or discard it (the file removed; the run discarded), or
//! for its hold to expire (discarded by the maintenance pass, "hold
//! expired"). `cronport runs release|discard` and the console come here.
//!
//! Each move out of `held` is one guarded update in the store (see
//! `store::held`): with several instances, or an operator racing the
//! maintenance pass, one makes the move and the others are told the run is
//! no longer held. A release takes the run first and delivers after, so
//! nothing is delivered twice; if a destination refuses, the run is held
//! again as it was (deliveries that went through are recorded, and a new
//! release delivers under the same fire id, so they are not duplicated).

use chrono::{DateTime, Utc};

use super::kept::{Kept, KeptError, RunKey};
use super::spool::StoreSpool;
use crate::config::Config;
use crate::export::ExportError;
use crate::export::delivery::Outcome;
use crate::export::destination::fire_id_of;
use crate::job::StoredJobError;
use crate::store::{RunStatus, Store, StoreError};

/// What a discard by the maintenance pass records.
pub const EXPIRED: &str = "hold expired";

/// Why a held run could not be released or discarded. Nothing was
/// delivered, except for `Store` after a release began.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// The store holds no run with this id.
    #[error("no run with id {0}")]
    UnknownRun(i64),
    /// The run is not held (never was, or someone released or discarded
    /// it first, or its hold expired).
    #[error("run {run} is not held (its status is {status}): only a held run can be {verb}")]
    NotHeld {
        /// The run.
        run: i64,
        /// What it is.
        status: RunStatus,
        /// `released` or `discarded`.
        verb: &'static str,
    },
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
    /// This store kept no usable output for the run on this host.
    #[error(transparent)]
    Kept(#[from] KeptError),
    /// A destination the config does not define.
    #[error(transparent)]
    Destination(ExportError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HoldError {
    /// Whether the request itself is wrong (exit 2 on the command line).
    pub fn is_bad_input(&self) -> bool {
        match self {
            HoldError::UnknownRun(_)
            | HoldError::NotHeld { .. }
            | HoldError::JobGone { .. }
            | HoldError::Destination(_) => true,
            HoldError::Job(e) => matches!(e, StoredJobError::Invalid { .. }),
            HoldError::Kept(_) | HoldError::Store(_) => false,
        }
    }
}

/// The kept outputs of `store` on this host, per `config`.
pub fn kept_of(store: &Store, config: &Config) -> Kept {
    let spool = StoreSpool::new(&config.scheduler.spool_dir, store.identity());
    Kept::new(&spool, config.scheduler.spool_days)
}

/// Why `run` is refused, read again after a guarded update changed nothing.
async fn not_held(store: &Store, run: i64, verb: &'static str) -> HoldError {
    match store.get_run(run).await {
        Ok(Some(found)) => HoldError::NotHeld {
            run,
            status: found.status,
            verb,
        },
        Ok(None) => HoldError::UnknownRun(run),
        Err(e) => HoldError::Store(e),
    }
}

/// Deliver held run `id`'s kept output to its job's destinations and
/// record the deliveries; the run becomes `succeeded`. A destination's
/// refusal is in the outcome (its `failure`) and leaves the run held.
pub async fn release(store: &Store, config: &Config, id: i64) -> Result<Outcome, HoldError> {
    let run = store.get_run(id).await?.ok_or(HoldError::UnknownRun(id))?;
    if run.status != RunStatus::Held {
        return Err(HoldError::NotHeld {
            run: id,
            status: run.status,
            verb: "released",
        });
    }
    let record = store
        .get_job(&run.job_name)
        .await?
        .ok_or_else(|| HoldError::JobGone {
            run: id,
            job: run.job_name.clone(),
        })?;
    let known = crate::destinations::known(config, store).await?;
    let job = crate::job::checked_stored(&run.job_name, &record.definition, &known)?;
    let fire_id = fire_id_of(&run.job_name, run.scheduled_for);
    let key = RunKey {
        run: run.id,
        job: &run.job_name,
        fire_id: &fire_id,
    };
    // Everything that can refuse is asked before the run is taken.
    let kept = kept_of(store, config).find(&key, Utc::now())?;
    let targets = crate::destinations::pipeline(config, store)
        .await?
        .targets(&job.spec.destinations)
        .map_err(HoldError::Destination)?;
    if !store.begin_release(id).await? {
        return Err(not_held(store, id, "released").await);
    }
    let outcome = super::redeliver::deliver_kept(store, &job, &run, kept, &targets).await?;
    match &outcome.failure {
        Some((name, error)) => {
            tracing::warn!(
                "run {id}: destination {name:?} refused the released output ({error}); \
                 the run is held again"
            );
            store
                .undo_release(id, run.error.as_deref(), run.held_until)
                .await?;
        }
        None => store.finish_release(id, &outcome.locations()).await?,
    }
    Ok(outcome)
}

/// Discard held run `id` (`reason` is recorded, the check's message kept
/// after it) and remove its kept output.
pub async fn discard(
    store: &Store,
    config: &Config,
    id: i64,
    reason: &str,
) -> Result<(), HoldError> {
    let run = store.get_run(id).await?.ok_or(HoldError::UnknownRun(id))?;
    if run.status != RunStatus::Held {
        return Err(HoldError::NotHeld {
            run: id,
            status: run.status,
            verb: "discarded",
        });
    }
    if !store.discard_held(id, reason).await? {
        return Err(not_held(store, id, "discarded").await);
    }
    kept_of(store, config).remove(id);
    Ok(())
}

/// Discard every held run whose hold ended by `now`, removing the outputs
/// `kept` holds for them; returns how many this call discarded (another
/// instance racing it discards the rest, each run once).
pub async fn expire(store: &Store, kept: &Kept, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut discarded = 0;
    for run in store.expired_holds(now).await? {
        if store.discard_held(run.id, EXPIRED).await? {
            kept.remove(run.id);
            discarded += 1;
            tracing::info!(
                "run {} of {}: its hold expired; discarded without delivering",
                run.id,
                run.job_name
            );
        }
    }
    Ok(discarded)
}
