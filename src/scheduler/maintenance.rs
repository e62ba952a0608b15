//! The scheduler's housekeeping, in a task beside its loop: look for job
//! edits and commands and checkpoint SQLite's log every second; heartbeat, renew the lease and recover
//! dead instances' runs every five; prune history daily.
//!
//! It used to run inside the loop, and the loop waited for it: behind the
//! recorder's transactions each of its writes waited for SQLite's write lock
//! (the busy handler sleeps in steps of up to 100 ms), and a reload of
//! 100,000 jobs read for over a second, while no slot fired. Now the loop
//! only hears what changed, as [`Internal`] messages, and the heartbeat no
//! longer waits for a busy loop either.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{HEARTBEAT, Internal, POLL, STALE_AFTER, instance};
use crate::clock::{self, Clock};
use crate::store::Store;

/// What the housekeeping task needs.
pub(super) struct Maintenance {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) instance_id: String,
    pub(super) history_days: u32,
    pub(super) internal: mpsc::UnboundedSender<Internal>,
    /// Changes when the recorder commits (see `Recorder::commits`).
    pub(super) commits: watch::Receiver<u64>,
    /// The jobs version the loop has loaded.
    pub(super) jobs_version: i64,
    pub(super) holds_lease: bool,
}

impl Maintenance {
    /// Runs until `draining`; from then on it only heartbeats (so peers do
    /// not take this instance for dead while its runs finish) until `stop`.
    pub(super) async fn run(mut self, draining: CancellationToken, stop: CancellationToken) {
        let now = self.clock.now();
        let mut next_poll = now;
        let mut next_heartbeat = now;
        let mut next_prune = now;
        loop {
            let wake = next_poll.min(next_heartbeat);
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = clock::sleep_until(self.clock.as_ref(), wake) => {}
            }
            let now = self.clock.now();
            let draining = draining.is_cancelled();
            if now >= next_heartbeat {
                next_heartbeat = now + chrono::Duration::from_std(HEARTBEAT).unwrap_or_default();
                self.heartbeat(now, draining).await;
            }
            if draining {
                next_poll = next_heartbeat;
                continue;
            }
            if now >= next_poll {
                next_poll = now + chrono::Duration::from_std(POLL).unwrap_or_default();
                self.poll(now).await;
            }
            if now >= next_prune {
                next_prune = now + chrono::Duration::days(1);
                self.prune(now).await;
            }
        }
    }

    /// Job edits and commands left by consoles and the command line, in one
    /// read when there are none (idle, this is all the scheduler does); and
    /// a checkpoint when the recorder wrote.
    async fn poll(&mut self, now: DateTime<Utc>) {
        let changes = match self.store.changes().await {
            Ok(changes) => changes,
            Err(e) => {
                tracing::error!("checking for job edits and commands failed: {e}");
                return;
            }
        };
        if changes.jobs_version != self.jobs_version {
            match self.store.list_jobs().await {
                Ok(records) => {
                    let version = changes.jobs_version;
                    self.jobs_version = version;
                    let _ = self.internal.send(Internal::Jobs { version, records });
                }
                Err(e) => tracing::error!("reloading jobs failed: {e}"),
            }
        }
        if changes.commands_waiting {
            match self.store.take_commands(&self.instance_id, now).await {
                Ok(commands) if commands.is_empty() => {}
                Ok(commands) => {
                    let _ = self.internal.send(Internal::Commands(commands));
                }
                Err(e) => tracing::error!("reading commands failed: {e}"),
            }
        }
        if self.commits.has_changed().unwrap_or(false) {
            self.commits.borrow_and_update();
            if let Err(e) = self.store.checkpoint().await {
                tracing::warn!("{e}");
            }
        }
    }

    /// Say this instance is alive, renew the lease, recover dead instances'
    /// runs (not while draining: nobody would retry them).
    async fn heartbeat(&mut self, now: DateTime<Utc>, draining: bool) {
        if let Err(e) = self.store.heartbeat(&self.instance_id, now).await {
            tracing::error!("heartbeat failed: {e}");
        }
        if draining {
            return;
        }
        match self
            .store
            .try_acquire_lease(&self.instance_id, now, STALE_AFTER)
            .await
        {
            Ok(held) if held != self.holds_lease => {
                self.holds_lease = held;
                tracing::info!("{} the scheduler lease", if held { "took" } else { "lost" });
            }
            Ok(_) => {}
            Err(e) => tracing::error!("renewing the scheduler lease failed: {e}"),
        }
        let runs = recover(&self.store, &self.instance_id, now).await;
        if !runs.is_empty() {
            let _ = self.internal.send(Internal::Recovered(runs));
        }
    }

    async fn prune(&self, now: DateTime<Utc>) {
        let cutoff = now - chrono::Duration::days(i64::from(self.history_days));
        match self.store.prune_history(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} run(s) older than {} days", self.history_days),
            Err(e) => tracing::error!("pruning history failed: {e}"),
        }
    }
}

/// Marks the runs of dead instances `interrupted` and returns them, for the
/// loop to retry by their jobs' policies.
pub(super) async fn recover(
    store: &Store,
    instance_id: &str,
    now: DateTime<Utc>,
) -> Vec<crate::store::RunRecord> {
    let dead = match store.live_instances(now, STALE_AFTER).await {
        Ok(instances) => instance::dead_on_this_host(&instances, instance_id),
        Err(e) => {
            tracing::error!("listing instances failed: {e}");
            Vec::new()
        }
    };
    match store.recover_interrupted(now, STALE_AFTER, &dead).await {
        Ok(runs) => runs,
        Err(e) => {
            tracing::error!("recovering interrupted runs failed: {e}");
            Vec::new()
        }
    }
}
