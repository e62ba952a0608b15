//! The store's jobs: loading them, applying edits, pauses and deletions,
//! and retrying the runs of dead instances.

use super::*;

/// What the driver remembers of a stored job, to tell edits from pauses.
pub(super) struct Known {
    pub(super) name: String,
    pub(super) version: i64,
    /// [`fingerprint`] of the stored definition.
    pub(super) definition: u64,
}

impl Driver {
    /// Bring the planner in line with the store's jobs. New jobs start after
    /// their last recorded slot (so missed slots are caught up); edited jobs
    /// take effect from the next slot.
    pub(super) async fn reload(&mut self) -> Result<(), StoreError> {
        let version = self.store.jobs_version().await?;
        if self.jobs.is_empty() {
            return self.load_all(version).await;
        }
        let records = self.store.list_jobs().await?;
        self.apply_jobs(version, records).await
    }

    /// The first load, page by page, so that 100,000 jobs never sit in
    /// memory as records all at once. Every job is new and starts after its
    /// last recorded slot (one query for all) or, never run, its creation.
    pub(super) async fn load_all(&mut self, version: i64) -> Result<(), StoreError> {
        let last_slots = self.store.last_slots(self.queue_taken()).await?;
        // Once, not per job: it copies the config's names.
        let names = self.destinations().await?;
        let mut after = 0;
        loop {
            let page = self.store.list_jobs_page(after, store::JOBS_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for record in page {
                let Some(job) = check(&record, &names) else {
                    continue;
                };
                let start = last_slots
                    .get(&record.id)
                    .copied()
                    .unwrap_or(record.created_at);
                self.set_rules(record.id, &job);
                let job = Arc::new(job);
                self.set_watched(record.id, Some(&job));
                self.planner.set_job(record.id, job, record.paused, start);
                self.remember(&record);
            }
        }
        self.jobs_version = version;
        self.publish_rules();
        Ok(())
    }

    /// The names jobs may use: the config's and the store's destinations,
    /// the latter added to the executor's, so that a job saved with a new
    /// destination (by this console or one attached to this instance) runs
    /// here without a restart.
    async fn destinations(&self) -> Result<crate::job::Known, StoreError> {
        let stored = crate::destinations::stored(&self.config, &self.store).await?;
        for (name, why) in &stored.broken {
            tracing::error!("destination {name:?} made in the console cannot be used: {why}");
        }
        if let Some(registry) = self.shared.executor.registry() {
            crate::destinations::register(registry, &stored);
        }
        Ok(crate::destinations::known_with(&self.config, &stored))
    }

    /// Whether slots in the run queue count as announced when a job is
    /// loaded: another live instance is there to take them. Alone, slots
    /// nobody took were missed (see `Store::last_slot`).
    fn queue_taken(&self) -> bool {
        self.queue.partition.count > 1
    }

    /// What taking and recovering need of `job` (see [`Rules`]).
    fn set_rules(&mut self, id: JobId, job: &crate::job::Job) {
        let rules = super::super::JobRules {
            overlap: job.policy.overlap,
            max_attempts: job.policy.max_attempts(),
        };
        if self.rules.get(&id) != Some(&rules) {
            Arc::make_mut(&mut self.rules).insert(id, rules);
        }
    }

    /// Whether the late-run check watches `job` (`None`: it is gone).
    fn set_watched(&mut self, id: JobId, job: Option<&Arc<Job>>) {
        let defaults = self.config.scheduler.alerts;
        match job.filter(|job| job.spec.thresholds(defaults).any()) {
            Some(job) => {
                Arc::make_mut(&mut self.watched).insert(id, job.clone());
            }
            None if self.watched.contains_key(&id) => {
                Arc::make_mut(&mut self.watched).remove(&id);
            }
            None => {}
        }
    }

    /// Hands the current rules to the housekeeping task (for recovery), and
    /// the watched jobs to the late-run check.
    fn publish_rules(&self) {
        if !Arc::ptr_eq(&self.rules, &self.rules_tx.borrow()) {
            self.rules_tx.send_replace(self.rules.clone());
        }
        if !Arc::ptr_eq(&self.watched, &self.watched_tx.borrow()) {
            self.watched_tx.send_replace(self.watched.clone());
        }
    }

    pub(super) fn remember(&mut self, record: &JobRecord) {
        self.names.insert(record.name.clone(), record.id);
        self.jobs.insert(
            record.id,
            Known {
                name: record.name.clone(),
                version: record.version,
                definition: fingerprint(&record.definition),
            },
        );
    }

    /// Bring the planner in line with `records`, the store's jobs at
    /// `version` (see [`Driver::reload`]).
    pub(super) async fn apply_jobs(
        &mut self,
        version: i64,
        records: Vec<JobRecord>,
    ) -> Result<(), StoreError> {
        let now = self.shared.clock.now();
        // Once, not per job: it copies the config's names.
        let names = self.destinations().await?;
        let fresh = self.jobs.is_empty();
        let last_slots = if fresh {
            self.store.last_slots(self.queue_taken()).await?
        } else {
            HashMap::new()
        };
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        for record in records {
            seen.insert(record.id);
            let known = self.jobs.get(&record.id);
            // Job versions only grow. An older record than the one known
            // comes from a list read before the loop's own change (a pause):
            // applying it would undo that change.
            if known.is_some_and(|k| k.version >= record.version) {
                continue;
            }
            if known.is_some_and(|k| k.definition == fingerprint(&record.definition)) {
                // Only paused/resumed: the timeline stays as it is.
                self.planner.set_paused(record.id, record.paused, now);
            } else {
                let Some(job) = check(&record, &names) else {
                    continue;
                };
                let after = match known {
                    Some(_) => now,
                    None => match last_slots.get(&record.id) {
                        Some(last) => *last,
                        None if fresh => record.created_at,
                        None => self
                            .store
                            .last_slot(record.id, self.queue_taken())
                            .await?
                            .unwrap_or(record.created_at),
                    },
                };
                self.set_rules(record.id, &job);
                let job = Arc::new(job);
                self.set_watched(record.id, Some(&job));
                self.planner.set_job(record.id, job, record.paused, after);
            }
            let edited = self.jobs.contains_key(&record.id);
            self.remember(&record);
            if edited {
                self.publish(Event::JobChanged {
                    job: record.name.clone(),
                });
            }
        }
        let gone: Vec<JobId> = self
            .jobs
            .keys()
            .copied()
            .filter(|id| !seen.contains(id))
            .collect();
        for id in gone {
            if let Some(Known { name, .. }) = self.jobs.remove(&id) {
                self.names.remove(&name);
                self.planner.remove_job(id);
                Arc::make_mut(&mut self.rules).remove(&id);
                self.set_watched(id, None);
                for (job, control) in self.running.values() {
                    if *job == id {
                        control.cancel(CancelReason::Requested);
                    }
                }
                tracing::info!("{name}: deleted");
                self.publish(Event::JobChanged { job: name });
            }
        }
        self.jobs_version = version;
        self.publish_rules();
        Ok(())
    }

    /// Runs left by dead instances, now `interrupted` (see
    /// [`maintenance::recover`]), each with the retry the store queued for
    /// it when its policy had attempts left. A process that died is not the
    /// job's failure, so the retry is due at once: look at the queue.
    pub(super) fn recovered(&mut self, runs: Vec<(RunRecord, Option<RunId>)>) {
        for (run, retry) in &runs {
            match retry {
                Some(retry) => tracing::warn!(
                    "{}: run {} was interrupted (its instance died); queued its retry as run {retry}",
                    run.job_name,
                    run.id
                ),
                None => tracing::warn!(
                    "{}: run {} was interrupted on attempt {}, the last allowed (or its job is not scheduled here)",
                    run.job_name,
                    run.id,
                    run.attempt.max(1)
                ),
            }
        }
        if !runs.is_empty() {
            self.queue.wanted = true;
        }
    }
}

/// A stored job that no longer fits the config (a destination removed,
/// say) is not scheduled, and the log says why.
fn check(record: &JobRecord, known: &crate::job::Known) -> Option<Job> {
    match crate::job::checked_stored(&record.name, &record.definition, known) {
        Ok(job) => Some(job),
        Err(e) => {
            tracing::error!("{}: not scheduling it: {}", record.name, e.problems());
            None
        }
    }
}

/// A stored definition's fingerprint. Whether an edit changed the definition
/// is all the loop needs to know of it; keeping 100,000 definitions as text
/// doubled what the loaded jobs cost in memory.
fn fingerprint(definition: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    definition.hash(&mut hasher);
    hasher.finish()
}
