//! The scheduler's housekeeping, in a task beside its loop: look for job
//! edits and commands and checkpoint SQLite's log every second; heartbeat,
//! renew the lease, recover dead instances' runs and discard held runs
//! whose hold expired every five; prune history daily.
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

use super::{HEARTBEAT, Internal, POLL, Rules, STALE_AFTER, instance};
use crate::clock::{self, Clock};
use crate::store::{Partition, Store};

/// What the housekeeping task needs.
pub(super) struct Maintenance {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) instance_id: String,
    pub(super) history_days: u32,
    pub(super) audit_days: u32,
    pub(super) internal: mpsc::UnboundedSender<Internal>,
    /// Changes when the recorder commits (see `Recorder::commits`).
    pub(super) commits: watch::Receiver<u64>,
    /// The jobs version the loop has loaded.
    pub(super) jobs_version: i64,
    pub(super) holds_lease: bool,
    /// The loop's jobs' rules, for retrying recovered runs.
    pub(super) rules: watch::Receiver<Arc<Rules>>,
    /// The share of the queue the loop was last told of.
    pub(super) partition: Partition,
    /// The store's kept outputs on this host, to remove those of held
    /// runs whose hold expired.
    pub(super) kept: super::kept::Kept,
}

impl Maintenance {
    /// Runs until `draining`; from then on it only heartbeats (so peers do
    /// not take this instance for dead while its runs finish) until `stop`.
    pub(super) async fn run(mut self, draining: CancellationToken, stop: CancellationToken) {
        let now = self.clock.now();
        let mut next_poll = now;
        let mut next_heartbeat = now;
        let mut next_prune = now;
        let mut next_trim = now + chrono::Duration::from_std(TRIM_EVERY).unwrap_or_default();
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
            if now >= next_trim {
                next_trim = now + chrono::Duration::from_std(TRIM_EVERY).unwrap_or_default();
                give_back_free_memory();
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
        match self.store.cancel_requests(&self.instance_id).await {
            Ok(ids) if ids.is_empty() => {}
            Ok(ids) => {
                let _ = self.internal.send(Internal::CancelRequests(ids));
            }
            Err(e) => tracing::error!("{e}"),
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
        let _ = self.internal.send(Internal::Reconcile);
        // Every instance looks; the store's guarded update lets one of them
        // discard each expired hold.
        if let Err(e) = super::held::expire(&self.store, &self.kept, now).await {
            tracing::error!("discarding expired holds failed: {e}");
        }
        let rules = self.rules.borrow().clone();
        let runs = recover(&self.store, &self.instance_id, now, &rules).await;
        if !runs.is_empty() {
            let _ = self.internal.send(Internal::Recovered(runs));
        }
        let partition = partition(&self.store, &self.instance_id, now).await;
        if partition != self.partition {
            tracing::info!(
                "{} instance(s) share the run queue; this one takes share {} first",
                partition.count,
                partition.index + 1
            );
            self.partition = partition;
            let _ = self.internal.send(Internal::Peers(partition));
        }
    }

    async fn prune(&self, now: DateTime<Utc>) {
        let cutoff = now - chrono::Duration::days(i64::from(self.history_days));
        match self.store.prune_history(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} run(s) older than {} days", self.history_days),
            Err(e) => tracing::error!("pruning history failed: {e}"),
        }
        let cutoff = now - chrono::Duration::days(i64::from(self.audit_days));
        match self.store.prune_audit(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "pruned {n} audit entries older than {} days",
                self.audit_days
            ),
            Err(e) => tracing::error!("pruning the audit trail failed: {e}"),
        }
    }
}

/// How often memory the allocator holds free is handed back.
///
/// Runs allocate and free on many threads (each export's reader and
/// encoder, the file-work pool, tokio's workers), so glibc spreads them over
/// its arenas (two a core, `main` sets it) and keeps what they free there,
/// resident: at
/// 300 runs a second a minute's worth was 14 MB (`malloc_info` in the soak:
/// 37 MB free of 53 MB held; a `malloc_trim` gave back 14 MB, and 7 MB came
/// back within two seconds). Trimmed every 5 s, what is held free between
/// trims is a few seconds' worth instead of a minute's (the soak's resident
/// memory: 36-63 MB through ten minutes, against 60-81 MB).
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Hands memory that glibc's allocator holds free back to the system.
fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it is
    // safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Marks the runs of dead instances `interrupted`, queues a retry of each
/// whose job's policy has attempts left, and returns them.
pub(super) async fn recover(
    store: &Store,
    instance_id: &str,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Vec<(crate::store::RunRecord, Option<crate::store::RunId>)> {
    let dead = stop_the_dead(store, instance_id, now).await;
    let retry = |run: &crate::store::RunRecord| retries(rules, run);
    match store
        .recover_interrupted(now, STALE_AFTER, &dead, &retry)
        .await
    {
        Ok(runs) => runs,
        Err(e) => {
            tracing::error!("recovering interrupted runs failed: {e}");
            Vec::new()
        }
    }
}

/// Whether an interrupted `run` gets a retry: its job's policy has attempts
/// left. A job this instance does not schedule (its config lacks something
/// the job needs, or it was added a moment ago) gets one too: an instance
/// that knows it runs it, and a slot is not lost to this one.
pub(super) fn retries(rules: &Rules, run: &crate::store::RunRecord) -> bool {
    rules
        .get(&run.job_id)
        .is_none_or(|r| u32::try_from(run.attempt.max(1)).unwrap_or(u32::MAX) < r.max_attempts)
}

/// Instances on this host whose process is gone are recorded as stopped
/// (and lose the lease if they held it) at once, not after their heartbeat
/// goes stale: their runs are recovered, their share of the queue and the
/// lease move, and a console attached to one sees it gone. Returns their ids.
pub(super) async fn stop_the_dead(
    store: &Store,
    instance_id: &str,
    now: DateTime<Utc>,
) -> Vec<String> {
    let dead = match store.live_instances(now, STALE_AFTER).await {
        Ok(instances) => instance::dead_on_this_host(&instances, instance_id),
        Err(e) => {
            tracing::error!("listing instances failed: {e}");
            return Vec::new();
        }
    };
    for id in &dead {
        match store.mark_stopped(id, now).await {
            Ok(()) => tracing::warn!("instance {id} is gone (its process no longer exists)"),
            Err(e) => tracing::error!("recording that instance {id} is gone failed: {e}"),
        }
    }
    dead
}

/// This instance's share of the run queue among the live instances that
/// take work, ordered by id so that every instance computes the same
/// shares. Views differ for a moment when instances come and go: a share
/// two instances both take is settled by the store, and one nobody takes
/// is taken a moment later by anyone (see `STEAL_AFTER`).
pub(super) async fn partition(store: &Store, instance_id: &str, now: DateTime<Utc>) -> Partition {
    let live = match store.live_instances(now, STALE_AFTER).await {
        Ok(live) => live,
        Err(e) => {
            tracing::error!("listing instances failed: {e}");
            return Partition::ALL;
        }
    };
    let dead = instance::dead_on_this_host(&live, instance_id);
    let mut ids: Vec<&str> = live
        .iter()
        .filter(|i| i.takes_work && !dead.contains(&i.id))
        .map(|i| i.id.as_str())
        .collect();
    // Its own heartbeat may be late (a busy machine): it still counts.
    if !ids.contains(&instance_id) {
        ids.push(instance_id);
    }
    ids.sort_unstable();
    let index = ids.iter().position(|id| *id == instance_id).unwrap_or(0);
    Partition {
        index: u32::try_from(index).unwrap_or(0),
        count: u32::try_from(ids.len()).unwrap_or(1).max(1),
    }
}
