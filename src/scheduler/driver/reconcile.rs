//! What the store says this instance runs, against what it runs. They part
//! when something failed for good: a store write given up on (a run the
//! store keeps `running` that nothing here runs: it would hold its job's
//! overlap forever), a take whose answer was lost, or another instance
//! taking this one for dead (no heartbeat for a while) and retrying its
//! runs, which must then stop here before they deliver a second time.

use std::collections::HashSet;

use super::*;

/// A run the store has as this instance's, and nothing here runs, is only
/// an orphan after this long: a take's answer may be on its way.
const ORPHAN_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl Driver {
    /// Compare, in a task: first every write queued so far is committed (a
    /// run that ended here is no longer running there), then the store's
    /// view is read and sent back with what ran here when this began.
    pub(super) fn reconcile(&mut self) {
        let known: HashSet<RunId> = self.running.keys().copied().collect();
        let at = self.shared.clock.now();
        let recorder = self.shared.recorder.clone();
        let store = self.store.clone();
        let me = self.me.id.clone();
        let internal = self.shared.internal.clone();
        tokio::spawn(async move {
            recorder.flush().await;
            match store.own_runs(&me).await {
                Ok(own) => {
                    let _ = internal.send(Internal::Reconciled { at, known, own });
                }
                Err(e) => tracing::warn!("{e}"),
            }
        });
    }

    pub(super) fn reconciled(
        &mut self,
        at: DateTime<Utc>,
        known: HashSet<RunId>,
        own: Vec<(RunId, Option<DateTime<Utc>>)>,
    ) {
        let in_store: HashSet<RunId> = own.iter().map(|(id, _)| *id).collect();
        for id in known.difference(&in_store) {
            if let Some((_, control)) = self.running.get(id) {
                tracing::error!(
                    "run {id} is over in the store but still runs here: another instance took \
                     this one for dead and retried it; stopping it here"
                );
                control.cancel(CancelReason::Fenced);
            }
        }
        let orphans: Vec<RunId> = own
            .iter()
            .filter(|(id, started)| {
                !known.contains(id)
                    && !self.running.contains_key(id)
                    && started.is_some_and(|s| s < at - ORPHAN_AFTER)
            })
            .map(|(id, _)| *id)
            .collect();
        if orphans.is_empty() {
            return;
        }
        tracing::error!(
            "{} run(s) are running as this instance in the store but not here: interrupting them \
             so that their retries run: {orphans:?}",
            orphans.len()
        );
        let store = self.store.clone();
        let me = self.me.id.clone();
        let rules = self.rules.clone();
        let internal = self.shared.internal.clone();
        tokio::spawn(async move {
            let retry = |run: &RunRecord| maintenance::retries(&rules, run);
            match store
                .interrupt_orphans(&me, &orphans, Utc::now(), &retry)
                .await
            {
                Ok(runs) => {
                    let _ = internal.send(Internal::Recovered(runs));
                }
                Err(e) => tracing::error!("{e}"),
            }
        });
    }
}
