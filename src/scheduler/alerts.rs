//! Late and stuck runs: a task beside the scheduler's loop looks every
//! second at the run queue and at the runs going, and tells a job's
//! `notify.to` once when a scheduled slot has not started within
//! `alert_if_late` of its time ("late") or a run is still running after
//! `alert_if_running_over` ("stuck"), and once more when that is over ("on
//! time again").
//!
//! Every instance runs the task, but only the one holding the scheduler
//! lease looks, so several instances send one notice, not one each. What
//! was sent is remembered by that instance only: when the lease moves while
//! a job is late, the new holder says so again, under the same
//! idempotency key (receivers that keep keys drop the repeat).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::notify;
use crate::clock::{self, Clock};
use crate::config::Config;
use crate::config::duration::HumanDuration;
use crate::export::destination::notice::{Notice, NoticeKind};
use crate::export::destination::{Destination, fire_id_of};
use crate::job::{Job, Thresholds};
use crate::store::{JobId, RunRecord, Store};

/// How often the lease holder looks.
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Queued slots read per look at most: enough to find every late job's
/// oldest slot unless thousands are late at once.
const LIMIT: i64 = 10_000;

/// The jobs with an alert threshold (their own or `[scheduler]`'s) and
/// somewhere to send it, by id.
pub type Watched = HashMap<JobId, Arc<Job>>;

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A scheduled slot that has not started.
    Late,
    /// A run that runs too long.
    Stuck,
}

/// One job's alert of one kind.
pub type Key = (JobId, Kind);

/// The oldest late slot and the oldest stuck run of each watched job at
/// `now`, from the queued slots due by then and the runs going.
pub fn overdue(
    jobs: &Watched,
    defaults: Thresholds,
    unstarted: Vec<RunRecord>,
    running: Vec<RunRecord>,
    now: DateTime<Utc>,
) -> HashMap<Key, RunRecord> {
    let mut found = HashMap::new();
    let past = |since: DateTime<Utc>, limit: Option<std::time::Duration>| {
        limit.is_some_and(|limit| {
            chrono::Duration::from_std(limit).is_ok_and(|limit| since + limit <= now)
        })
    };
    for run in unstarted {
        let Some(job) = jobs.get(&run.job_id) else {
            continue;
        };
        if past(run.scheduled_for, job.spec.thresholds(defaults).late) {
            found.entry((run.job_id, Kind::Late)).or_insert(run);
        }
    }
    for run in running {
        let (Some(job), Some(started)) = (jobs.get(&run.job_id), run.started_at) else {
            continue;
        };
        if past(started, job.spec.thresholds(defaults).running_over) {
            found.entry((run.job_id, Kind::Stuck)).or_insert(run);
        }
    }
    found
}

/// What changed since the last look: alerts to send (a key found that was
/// not open) and alerts that are over (open, and not found any more).
pub fn changes(
    open: &HashMap<Key, RunRecord>,
    found: &HashMap<Key, RunRecord>,
) -> (Vec<Key>, Vec<Key>) {
    let mut new: Vec<Key> = found
        .keys()
        .filter(|k| !open.contains_key(k))
        .copied()
        .collect();
    let mut over: Vec<Key> = open
        .keys()
        .filter(|k| !found.contains_key(k))
        .copied()
        .collect();
    new.sort_unstable_by_key(|(id, kind)| (*id, *kind == Kind::Stuck));
    over.sort_unstable_by_key(|(id, kind)| (*id, *kind == Kind::Stuck));
    (new, over)
}

/// The task.
pub(super) struct Alerts {
    store: Store,
    clock: Arc<dyn Clock>,
    instance_id: String,
    defaults: Thresholds,
    destinations: HashMap<String, Arc<dyn Destination>>,
    jobs: watch::Receiver<Arc<Watched>>,
    /// Alerts sent and not yet over, with the run they were about.
    open: HashMap<Key, RunRecord>,
}

impl Alerts {
    pub(super) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        instance_id: String,
        config: &Config,
        jobs: watch::Receiver<Arc<Watched>>,
    ) -> Alerts {
        // Only these kinds can carry a notice (the config refuses others
        // in `notify.to`).
        let destinations = config
            .destinations
            .iter()
            .filter(|(_, d)| d.can_notify())
            .map(|(name, d)| (name.clone(), Arc::from(d.build())))
            .collect();
        Alerts {
            store,
            clock,
            instance_id,
            defaults: config.scheduler.alerts,
            destinations,
            jobs,
            open: HashMap::new(),
        }
    }

    /// Looks every [`CHECK_EVERY`] until `stop`.
    pub(super) async fn run(mut self, stop: CancellationToken) {
        loop {
            let wake =
                self.clock.now() + chrono::Duration::from_std(CHECK_EVERY).unwrap_or_default();
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = clock::sleep_until(self.clock.as_ref(), wake) => {}
            }
            self.check(self.clock.now()).await;
        }
    }

    async fn check(&mut self, now: DateTime<Utc>) {
        let jobs = self.jobs.borrow().clone();
        self.open.retain(|(id, _), _| jobs.contains_key(id));
        if jobs.is_empty() {
            return;
        }
        match self.store.lease_holder(now).await {
            Ok(Some(holder)) if holder.id == self.instance_id => {}
            Ok(_) => {
                // Another instance looks (or will, once it holds the lease).
                self.open.clear();
                return;
            }
            Err(e) => {
                tracing::warn!("late-run check: {e}");
                return;
            }
        }
        // The shortest `late` bounds the queue read; the runs going are
        // read only if some job watches for stuck ones.
        let mut earliest: Option<std::time::Duration> = None;
        let mut any_running_over = false;
        for job in jobs.values() {
            let t = job.spec.thresholds(self.defaults);
            if let Some(late) = t.late {
                earliest = Some(earliest.map_or(late, |e| e.min(late)));
            }
            any_running_over |= t.running_over.is_some();
        }
        let unstarted = match earliest {
            Some(late) => {
                let due_by = now - chrono::Duration::from_std(late).unwrap_or_default();
                match self.store.unstarted_slots(due_by, LIMIT).await {
                    Ok(runs) => runs,
                    Err(e) => return tracing::warn!("late-run check: {e}"),
                }
            }
            None => Vec::new(),
        };
        let running = if any_running_over {
            match self.store.running_runs().await {
                Ok(runs) => runs,
                Err(e) => return tracing::warn!("late-run check: {e}"),
            }
        } else {
            Vec::new()
        };
        let found = overdue(&jobs, self.defaults, unstarted, running, now);
        let (new, over) = changes(&self.open, &found);
        for key in over {
            let Some(run) = self.open.remove(&key) else {
                continue;
            };
            let Some(job) = jobs.get(&key.0) else {
                continue;
            };
            let status = match self.store.get_run(run.id).await {
                Ok(Some(now)) => now.status.as_str().to_string(),
                Ok(None) => "deleted".to_string(),
                Err(e) => {
                    tracing::warn!("late-run check: {e}");
                    "unknown".to_string()
                }
            };
            let notice = notice(NoticeKind::OnTime, job, &run, status, None);
            self.send(job, notice).await;
        }
        for key in new {
            let Some(run) = found.get(&key) else { continue };
            let Some(job) = jobs.get(&key.0) else {
                continue;
            };
            let thresholds = job.spec.thresholds(self.defaults);
            let (kind, since, limit, key_name, verb) = match key.1 {
                Kind::Late => (
                    NoticeKind::Late,
                    run.scheduled_for,
                    thresholds.late,
                    "alert_if_late",
                    "has not started",
                ),
                Kind::Stuck => (
                    NoticeKind::Stuck,
                    run.started_at.unwrap_or(run.scheduled_for),
                    thresholds.running_over,
                    "alert_if_running_over",
                    "has been running for",
                ),
            };
            // Whole seconds: "3s", not "3s412ms".
            let seconds = u64::try_from((now - since).num_seconds()).unwrap_or(0);
            let for_how_long = HumanDuration(std::time::Duration::from_secs(seconds));
            let limit = HumanDuration(limit.unwrap_or_default());
            let detail = match key.1 {
                Kind::Late => {
                    format!("{verb} {for_how_long} after its time ({key_name} = {limit})")
                }
                Kind::Stuck => format!("{verb} {for_how_long} ({key_name} = {limit})"),
            };
            tracing::warn!("{}: run {} {detail}", job.name(), run.id);
            let notice = notice(
                kind,
                job,
                run,
                run.status.as_str().to_string(),
                Some(detail),
            );
            self.send(job, notice).await;
            self.open.insert(key, run.clone());
        }
    }

    async fn send(&self, job: &Job, notice: Notice) {
        if let Some(spec) = &job.spec.notify {
            notify::send(&self.destinations, &spec.to, &notice).await;
        }
    }
}

/// A late, stuck or on-time notice about `run`.
fn notice(
    event: NoticeKind,
    job: &Job,
    run: &RunRecord,
    status: String,
    detail: Option<String>,
) -> Notice {
    Notice {
        event,
        job: job.name().to_string(),
        run_id: run.id,
        fire_id: fire_id_of(job.name(), run.scheduled_for),
        status,
        scheduled_for: run.scheduled_for,
        rows: None,
        bytes: None,
        file: None,
        outputs: Vec::new(),
        error: detail,
        failed_runs: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunStatus, Trigger};
    use chrono::TimeZone as _;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    /// Jobs 1 (late after 10s, its own), 2 (the scheduler's defaults:
    /// late after 60s, stuck after 30s) and 3 (no notify: never watched).
    fn jobs() -> (Watched, Thresholds) {
        let config = Config::parse(
            r#"
            [scheduler]
            alert_if_late = "60s"
            alert_if_running_over = "30s"
            [destinations.hook]
            kind = "webhook"
            url = "http://127.0.0.1:9/h"
            [[jobs]]
            name = "own"
            schedule = "* * * * *"
            source = { kind = "command", argv = ["true"] }
            format = { kind = "csv" }
            destinations = ["hook"]
            notify = { on = ["failure"], to = ["hook"] }
            alert_if_late = "10s"
            [[jobs]]
            name = "defaults"
            schedule = "* * * * *"
            source = { kind = "command", argv = ["true"] }
            format = { kind = "csv" }
            destinations = ["hook"]
            notify = { on = ["failure"], to = ["hook"] }
            [[jobs]]
            name = "silent"
            schedule = "* * * * *"
            source = { kind = "command", argv = ["true"] }
            format = { kind = "csv" }
            destinations = ["hook"]
            "#,
            std::path::Path::new("/tmp"),
        )
        .unwrap();
        let watched = config
            .jobs
            .iter()
            .enumerate()
            .map(|(i, job)| (i as JobId + 1, Arc::new(job.clone())))
            .collect();
        (watched, config.scheduler.alerts)
    }

    fn run(id: i64, job_id: JobId, slot: i64, started: Option<i64>) -> RunRecord {
        RunRecord {
            id,
            job_id,
            job_name: String::new(),
            trigger: Trigger::Schedule,
            status: if started.is_some() {
                RunStatus::Running
            } else {
                RunStatus::Queued
            },
            slot: Some(at(slot)),
            scheduled_for: at(slot),
            queued_at: at(slot - 1),
            started_at: started.map(at),
            finished_at: None,
            attempt: 0,
            rows: None,
            bytes: None,
            outputs: Vec::new(),
            error: None,
            instance_id: None,
            retry_of: None,
            content_hash: None,
            unchanged: false,
            schema: None,
            failed_check: None,
            held_until: None,
            retry_at: None,
        }
    }

    #[test]
    fn each_job_is_late_or_stuck_by_its_own_threshold_or_the_default() {
        let (jobs, defaults) = jobs();
        let queued = vec![
            run(1, 1, 0, None),
            run(2, 1, 5, None),
            run(3, 2, 0, None),
            run(4, 3, 0, None),
        ];
        let running = vec![run(5, 2, -100, Some(-40)), run(6, 3, -100, Some(-99))];
        // At 12s: job 1's oldest slot is late (10s); job 2's slot is not yet
        // (60s), but its run is stuck (30s); job 3 has no notify.
        let found = overdue(&jobs, defaults, queued.clone(), running.clone(), at(12));
        let mut keys: Vec<(Key, i64)> = found.iter().map(|(k, r)| (*k, r.id)).collect();
        keys.sort_unstable_by_key(|((id, kind), _)| (*id, *kind == Kind::Stuck));
        assert_eq!(keys, [((1, Kind::Late), 1), ((2, Kind::Stuck), 5)]);
        let found = overdue(&jobs, defaults, queued, running, at(60));
        assert_eq!(found.get(&(2, Kind::Late)).map(|r| r.id), Some(3));
    }

    #[test]
    fn an_alert_is_sent_once_and_its_end_once() {
        let (jobs, defaults) = jobs();
        let open = HashMap::new();
        let found = overdue(&jobs, defaults, vec![run(1, 1, 0, None)], vec![], at(11));
        let (new, over) = changes(&open, &found);
        assert_eq!((new, over), (vec![(1, Kind::Late)], vec![]));
        // Still late, with a newer slot late too: nothing new.
        let open = found;
        let later = vec![run(1, 1, 0, None), run(2, 1, 5, None)];
        let found = overdue(&jobs, defaults, later, vec![], at(20));
        assert_eq!(changes(&open, &found), (vec![], vec![]));
        // The slots started: on time again.
        let found = overdue(&jobs, defaults, vec![], vec![], at(21));
        assert_eq!(changes(&open, &found), (vec![], vec![(1, Kind::Late)]));
    }
}
