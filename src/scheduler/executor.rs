//! What carries out an attempt, and the production one: the export pipeline
//! renders and delivers, and the [`Exporter`] does the run's bookkeeping
//! around it (the delivery records, the output kept for `runs redeliver`,
//! the store's spool folder, the notifications).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::kept::{self, Kept, KeptRun, RunKey};
use super::notify::{self, RunEnd};
use super::spool::StoreSpool;
use crate::config::Config;
use crate::export::delivery::Outcome;
use crate::export::destination::fire_id;
use crate::export::{Export, ExportError, ExportOutput, Pipeline, RunContext};
use crate::job::Job;
use crate::store::{DeliveryRecord, Store};

/// Carries out one attempt of a job. The [`Exporter`] in production; the
/// seam lets benchmarks measure the scheduler alone.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Before the first attempt in this process: clean up what earlier
    /// processes left behind. Nothing by default.
    async fn prepare(&self) {}

    /// Run one attempt, recording what the run keeps of it in `book`.
    /// Dropping the future cancels it.
    async fn execute(
        &self,
        job: &Job,
        ctx: &RunContext,
        book: &RunBook,
    ) -> Result<ExportOutput, ExportError>;

    /// The run ended (after its last attempt): send the notifications it
    /// calls for. Nothing by default.
    async fn finished(&self, end: RunEnd<'_>) {
        let _ = end;
    }
}

/// Where an attempt records what it did besides its outcome (what happened
/// at each destination): with the run's other records, through the
/// scheduler's group commit, not a transaction of its own per run.
#[derive(Clone)]
pub struct RunBook {
    recorder: Option<super::recorder::Recorder>,
}

impl RunBook {
    pub(super) fn new(recorder: super::recorder::Recorder) -> RunBook {
        RunBook {
            recorder: Some(recorder),
        }
    }

    /// A book that keeps nothing: for benchmarks of the scheduler alone.
    pub fn none() -> RunBook {
        RunBook { recorder: None }
    }

    /// Record the outcome at each destination of `run_id`, in the run's
    /// next group commit. The run does not wait for it: waiting made every
    /// run as slow as the store's busiest commit (with 1,000 runs a second,
    /// over a second, so every-second jobs skipped slots), and a crash
    /// between the delivery and its record is not closed by waiting anyway,
    /// only narrowed. A retry of a run whose instance died finds what was
    /// recorded; what was delivered and not yet recorded is delivered
    /// again under the same name (see `fire_id`).
    pub async fn deliveries(&self, run_id: crate::store::RunId, records: Vec<DeliveryRecord>) {
        for record in &records {
            crate::metrics::delivered(&record.destination, &record.status);
        }
        if let Some(recorder) = &self.recorder {
            let write = crate::store::RunWrite::Delivered { run_id, records };
            let _ = recorder.send(super::recorder::Request::Write(write)).await;
        }
    }
}

/// The export pipeline with a run's bookkeeping: per-destination outcomes
/// recorded in the store, outputs kept in the store's own spool folder.
pub struct Exporter {
    pipeline: Pipeline,
    store: Store,
    spool: StoreSpool,
    kept: Arc<Kept>,
    /// When the kept outputs are pruned next (unix ms): one atomic read per
    /// run instead of a look at the folder.
    next_prune: AtomicI64,
}

impl Exporter {
    /// Exports through `pipeline`, recording in `store`, rendering into the
    /// store's folder under `spool_dir` and keeping outputs `spool_days`
    /// days (0: none).
    pub fn new(pipeline: Pipeline, store: Store, spool_dir: &Path, spool_days: u32) -> Exporter {
        let spool = StoreSpool::new(spool_dir, store.identity());
        let kept = Arc::new(Kept::new(&spool, spool_days));
        Exporter {
            pipeline: pipeline.with_spool(spool.dir().to_path_buf()),
            store,
            spool,
            kept,
            // `prepare` prunes at start if due; from then on, daily.
            next_prune: AtomicI64::new((Utc::now() + kept::PRUNE_EVERY).timestamp_millis()),
        }
    }

    /// An exporter over `config`'s connections, destinations and spool.
    pub fn from_config(config: &Config, store: Store) -> Exporter {
        Exporter::new(
            config.pipeline(),
            store,
            &config.scheduler.spool_dir,
            config.scheduler.spool_days,
        )
    }

    /// Keep the attempt's file for `runs redeliver`. A file that cannot be
    /// kept costs the redelivery, not the run.
    fn keep(&self, export: Export, ctx: &RunContext) -> Result<ExportOutput, ExportError> {
        let Export {
            file,
            extension,
            rows,
            bytes,
            outcome,
        } = export;
        if self.kept.days() > 0 {
            let fire = fire_id(ctx);
            let run = KeptRun {
                key: RunKey {
                    run: ctx.run_id,
                    job: &ctx.job,
                    fire_id: &fire,
                },
                attempt: ctx.attempt,
                extension: &extension,
                rows,
                bytes,
            };
            if let Err(e) = self.kept.keep(file, &run, Utc::now()) {
                tracing::warn!("could not keep the output for redelivery: {e}");
            }
        }
        outcome.into_output(rows, bytes)
    }

    /// Start the daily pass over the kept outputs on a blocking thread if a
    /// day has passed; the run does not wait for it.
    fn prune_when_due(&self, now: DateTime<Utc>) {
        let due = self.next_prune.load(Ordering::Relaxed);
        let next = (now + kept::PRUNE_EVERY).timestamp_millis();
        // Whoever moves the time on does the pass: one per day, not one per
        // run that ends at the moment it falls due.
        if now.timestamp_millis() < due
            || self
                .next_prune
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let kept = self.kept.clone();
        tokio::task::spawn_blocking(move || prune(&kept, now));
    }
}

/// The daily pass, logged.
fn prune(kept: &Kept, now: DateTime<Utc>) {
    let removed = kept.prune(now);
    if removed > 0 {
        tracing::info!(
            "removed {removed} kept output file(s) older than {} day(s) from {}",
            kept.days(),
            kept.dir().display()
        );
    }
}

#[async_trait]
impl Executor for Exporter {
    async fn prepare(&self) {
        let spool = self.spool.clone();
        let kept = self.kept.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            if kept.prune_due(now) {
                prune(&kept, now);
            }
            spool.sweep_abandoned()
        })
        .await;
        match swept {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "removed {n} spool file(s) left by processes that are gone, from {}",
                self.spool.dir().display()
            ),
            Err(e) => tracing::warn!("cleaning the spool folder failed: {e}"),
        }
    }

    async fn execute(
        &self,
        job: &Job,
        ctx: &RunContext,
        book: &RunBook,
    ) -> Result<ExportOutput, ExportError> {
        let export = self
            .pipeline
            .export(
                &job.spec.source,
                &job.spec.format,
                &job.spec.destinations,
                ctx,
            )
            .await?;
        book.deliveries(ctx.run_id, delivery_records(&export.outcome, ctx))
            .await;
        let output = self.keep(export, ctx);
        self.prune_when_due(Utc::now());
        output
    }

    async fn finished(&self, end: RunEnd<'_>) {
        notify::after_run(&self.store, self.pipeline.destinations(), end).await;
    }
}

/// The store's records of `outcome`, for attempt `ctx.attempt` of the run
/// (also used by `runs redeliver`).
pub fn delivery_records(outcome: &Outcome, ctx: &RunContext) -> Vec<DeliveryRecord> {
    let fire = fire_id(ctx);
    let at = Utc::now();
    outcome
        .deliveries
        .iter()
        .map(|d| DeliveryRecord {
            destination: d.destination.clone(),
            status: d.status.as_str().to_string(),
            location: d.location.clone(),
            error: d.error.clone(),
            fire_id: fire.clone(),
            attempt: i64::from(ctx.attempt),
            at,
        })
        .collect()
}
