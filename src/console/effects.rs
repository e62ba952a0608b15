//! What the console's effects do: each [`Effect`] the model asks for
//! becomes a task whose answer comes back to the loop as a [`Msg`], or a
//! change to a handle the loop holds (the load request, a backfill's stop,
//! a takeover to carry out).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::loader::{self, LoadRequest};
use super::model::{Effect, Msg};
use crate::config::Config;
use crate::control::Control;
use crate::export::Pipeline;
use crate::store::{InstanceInfo, Store};

/// The scheduler this console starts having taken over from `from`.
pub(super) struct Handover {
    pub(super) from: InstanceInfo,
    /// The id this console holds the lease under until the scheduler has it.
    pub(super) claim: String,
}

/// Runs effects and keeps the handles they need.
pub(super) struct Effects {
    pub(super) store: Store,
    pub(super) config: Arc<Config>,
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) control: Control,
    pub(super) to_app: mpsc::Sender<Msg>,
    pub(super) requests: watch::Sender<LoadRequest>,
    /// A takeover asked for by the model, for the loop to carry out (it
    /// swaps the handles this struct does not own).
    pub(super) take_over: std::cell::Cell<Option<Handover>>,
    /// Stops the running backfill, if one runs.
    pub(super) backfill_stop: std::cell::RefCell<Option<CancellationToken>>,
}

impl Effects {
    fn spawn(&self, work: impl Future<Output = Msg> + Send + 'static) {
        let to_app = self.to_app.clone();
        tokio::spawn(async move {
            let _ = to_app.send(work.await).await;
        });
    }

    /// Start each effect; true when one asks to quit.
    pub(super) fn run(&self, effects: Vec<Effect>) -> bool {
        let mut quit = false;
        for effect in effects {
            match effect {
                Effect::Quit => quit = true,
                Effect::PlanBackfill { job, from, to } => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    self.spawn(async move {
                        Msg::BackfillPlan(
                            super::actions::plan_backfill(&store, &config, &job, from, to).await,
                        )
                    });
                }
                Effect::RunBackfill { job, slots } => {
                    let stop = CancellationToken::new();
                    self.backfill_stop.replace(Some(stop.clone()));
                    let (store, config) = (self.store.clone(), self.config.clone());
                    let to_app = self.to_app.clone();
                    let (progress, mut steps) = mpsc::unbounded_channel();
                    // One task sends the steps and then the end, so the end
                    // never overtakes the last steps.
                    tokio::spawn(async move {
                        let run = super::actions::run_backfill(
                            &store, &config, &job, slots, &stop, progress,
                        );
                        tokio::pin!(run);
                        let result = loop {
                            tokio::select! {
                                result = &mut run => break result,
                                Some(step) = steps.recv() => {
                                    let _ = to_app.send(Msg::BackfillProgress(step)).await;
                                }
                            }
                        };
                        while let Ok(step) = steps.try_recv() {
                            let _ = to_app.send(Msg::BackfillProgress(step)).await;
                        }
                        let _ = to_app.send(Msg::BackfillEnded(result.err())).await;
                    });
                }
                Effect::StopBackfill => {
                    if let Some(stop) = self.backfill_stop.borrow().as_ref() {
                        stop.cancel();
                    }
                }
                Effect::TakeOver { from, claim } => {
                    self.take_over.set(Some(Handover { from, claim }));
                }
                Effect::Refresh { history_job } => self.requests.send_modify(|r| {
                    r.seq += 1;
                    r.history_job = history_job;
                }),
                Effect::Control(request) => {
                    let control = self.control.clone();
                    self.spawn(async move { Msg::Done(control.send(request).await) });
                }
                Effect::Save {
                    spec,
                    original,
                    destinations,
                } => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    let control = self.control.clone();
                    let made = destinations;
                    self.spawn(async move {
                        let saved =
                            super::actions::save(&store, &config, *spec, original, made).await;
                        if saved.is_ok()
                            && let Err(e) = control.jobs_changed().await
                        {
                            // Saved all the same: the scheduler's own poll
                            // loads it within a second.
                            tracing::warn!("telling the scheduler of the saved job: {e}");
                        }
                        Msg::Saved(saved)
                    });
                }
                Effect::DryRun(job) => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    let pipeline = self.pipeline.clone();
                    self.spawn(async move {
                        let actor = crate::audit::Actor::here(crate::store::Way::Console);
                        let rows = crate::control::PREVIEW_ROWS;
                        let preview =
                            crate::audit::dry_run(&store, &config, &pipeline, &job, rows, &actor);
                        Msg::DryRun(preview.await)
                    });
                }
                Effect::Redeliver(id) => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    self.spawn(async move {
                        Msg::Done(super::actions::redeliver(&store, &config, id).await)
                    });
                }
                Effect::Release(id) => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    self.spawn(async move {
                        Msg::Done(super::actions::release(&store, &config, id).await)
                    });
                }
                Effect::Discard(id) => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    self.spawn(async move {
                        Msg::Done(super::actions::discard(&store, &config, id).await)
                    });
                }
                Effect::LoadAudit(job) => {
                    let store = self.store.clone();
                    self.spawn(async move {
                        let filter = crate::store::AuditFilter {
                            job,
                            ..Default::default()
                        };
                        let entries = store.audit_entries(&filter).await;
                        Msg::Audit(entries.map_err(|e| e.to_string()))
                    });
                }
                Effect::LoadPerformance { since, until } => {
                    let store = self.store.clone();
                    self.spawn(async move { loader::performance(&store, since, until).await });
                }
                Effect::LoadJob(name) => {
                    let (store, config) = (self.store.clone(), self.config.clone());
                    self.spawn(async move {
                        let known = match crate::destinations::known(&config, &store).await {
                            Ok(known) => known,
                            Err(e) => return Msg::LoadFailed(e.to_string()),
                        };
                        loader::job_details(&store, &name, &known)
                            .await
                            .unwrap_or_else(Msg::LoadFailed)
                    });
                }
                Effect::LoadRun(id) => {
                    let store = self.store.clone();
                    self.spawn(async move {
                        loader::run_details(&store, id)
                            .await
                            .unwrap_or_else(Msg::LoadFailed)
                    });
                }
                Effect::DecideCatchUp { plan, decision } => {
                    let store = self.store.clone();
                    self.spawn(async move {
                        let by = crate::scheduler::instance::operator("console");
                        let decided = store
                            .decide_catchup_plan(plan, decision, &by, chrono::Utc::now())
                            .await;
                        Msg::Done(decided.map(|d| d.summary()).map_err(|e| e.to_string()))
                    });
                }
                Effect::LoadLog(scope) => {
                    let store = self.store.clone();
                    self.spawn(async move {
                        loader::stored_log(&store, scope)
                            .await
                            .unwrap_or_else(Msg::LoadFailed)
                    });
                }
            }
        }
        quit
    }
}
