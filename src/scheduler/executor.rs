//! What carries out an attempt's steps, and the production one: the export
//! pipeline renders and delivers, and the [`Exporter`] adds the store's
//! spool folder, the outputs kept for `runs redeliver` and the
//! notifications. What becomes of a rendered file (delivered or not) and
//! what is recorded of it is the runner's decision, not the executor's.

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
use crate::export::pipeline::{Measure, Rendered};
use crate::export::{ExportError, Pipeline, Registry, RunContext};
use crate::job::Job;
use crate::store::{DeliveryRecord, Store};

/// Carries out the steps of one attempt of a job: render, deliver, keep.
/// The [`Exporter`] in production; the seam lets benchmarks measure the
/// scheduler alone.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Before the first attempt in this process: clean up what earlier
    /// processes left behind. Nothing by default.
    async fn prepare(&self) {}

    /// Render the attempt's output, delivering nothing; with `measure`,
    /// also its content hash and columns' types. Dropping the future
    /// cancels it and removes the file.
    async fn render(
        &self,
        job: &Job,
        ctx: &RunContext,
        measure: Measure,
    ) -> Result<Rendered, ExportError>;

    /// Deliver `rendered` to the job's destinations and report what
    /// happened at each. Dropping the future takes back what was delivered.
    async fn deliver(
        &self,
        job: &Job,
        rendered: &Rendered,
        ctx: &RunContext,
    ) -> Result<Outcome, ExportError>;

    /// The attempt is done with its file: keep it for `runs redeliver`,
    /// and for a held run (`held_until`) for `runs release` until its hold
    /// expires. By default it is dropped, which removes it.
    async fn keep(&self, rendered: Rendered, ctx: &RunContext, held_until: Option<DateTime<Utc>>) {
        let _ = (rendered, ctx, held_until);
    }

    /// The run ended (after its last attempt): send the notifications it
    /// calls for. Nothing by default.
    async fn finished(&self, end: RunEnd<'_>) {
        let _ = end;
    }

    /// The named destinations it delivers to, which the scheduler adds
    /// the store's to when it reloads its jobs; `None` when it delivers
    /// nowhere.
    fn registry(&self) -> Option<&Registry> {
        None
    }
}

/// The export pipeline in a store's own spool folder, with the outputs kept
/// there for `runs redeliver` and the notifications sent after a run. It
/// records nothing of a run: that is the runner's (see `attempt`).
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
    /// Exports through `pipeline`, rendering into `store`'s folder under
    /// `spool_dir` and keeping outputs `spool_days` days (0: none); the
    /// store is read for notifications (a failure streak).
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

    async fn render(
        &self,
        job: &Job,
        ctx: &RunContext,
        measure: Measure,
    ) -> Result<Rendered, ExportError> {
        // A destination the config lacks fails the attempt before anything
        // is rendered.
        self.pipeline.targets(&job.spec.destinations)?;
        self.pipeline
            .render_file(&job.spec.source, &job.spec.format, ctx, measure)
            .await
    }

    async fn deliver(
        &self,
        job: &Job,
        rendered: &Rendered,
        ctx: &RunContext,
    ) -> Result<Outcome, ExportError> {
        self.pipeline
            .deliver(rendered, &job.spec.destinations, ctx)
            .await
    }

    /// A file that cannot be kept costs the redelivery (or the release),
    /// not the run. A held run's file is kept even with `spool_days = 0`:
    /// without it there is nothing to release.
    ///
    /// The keeping (a look for an earlier attempt's file, a rename, the
    /// record's write) is done on the file-work pool: in a folder of a few
    /// hundred thousand files, under a disk busy writing back, one lookup
    /// took 90 ms (traced), and on one of the runtime's two workers such a
    /// wait holds up the firing of every slot.
    async fn keep(&self, rendered: Rendered, ctx: &RunContext, held_until: Option<DateTime<Utc>>) {
        let Rendered {
            file,
            extension,
            rows,
            bytes,
            ..
        } = rendered;
        let Some(file) = file else {
            self.prune_when_due(Utc::now());
            return;
        };
        let kept = self.kept.clone();
        let (run_id, job, fire, attempt) = (ctx.run_id, ctx.job.clone(), fire_id(ctx), ctx.attempt);
        let keeping = crate::export::blocking::run(move || {
            if kept.days() == 0 && held_until.is_none() {
                // Dropped here, so that its removal waits on the disk here.
                drop(file);
                return Ok(());
            }
            let run = KeptRun {
                key: RunKey {
                    run: run_id,
                    job: &job,
                    fire_id: &fire,
                },
                attempt,
                extension: &extension,
                rows,
                bytes,
                held_until,
            };
            kept.keep(file, &run, Utc::now()).map(drop)
        })
        .await;
        let failed = match keeping {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(e) = failed {
            match held_until {
                Some(_) => {
                    tracing::error!("could not keep the held output, so it cannot be released: {e}")
                }
                None => tracing::warn!("could not keep the output for redelivery: {e}"),
            }
        }
        self.prune_when_due(Utc::now());
    }

    async fn finished(&self, end: RunEnd<'_>) {
        notify::after_run(&self.store, &self.pipeline.destinations(), end).await;
    }

    fn registry(&self) -> Option<&Registry> {
        Some(self.pipeline.registry())
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
