//! The metrics read from the store when Prometheus scrapes: per job the
//! next fire, the last success, the failing streak and whether it is
//! paused; the runs the store holds; the lease.
//!
//! A scrape's queries cost in proportion to the jobs, not to the history:
//! the jobs, per job its last success and failing streak (index ranges),
//! the runs queued and running, the lease and the instances. The count of
//! every run the store holds is the one query that reads the whole history
//! (an index-only scan); it is taken at most once per [`COUNT_EVERY`], so a
//! store of millions of runs scraped every 15 s does not pay for it each
//! time. Jobs are parsed once per stored version, not once per scrape.

use std::collections::HashMap;
use std::sync::Arc;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{FloatGauge, JobLabel, StatusLabel};
use crate::job::{Job, Known};
use crate::schedule::{Schedule, parse_timezone};
use crate::store::{JobId, JobRecord, RunStatus, Store, StoreError};

/// How old the store-wide run counts may be.
pub const COUNT_EVERY: Duration = Duration::from_secs(60);

/// The gauges a scrape sets.
pub(crate) struct Gauges {
    next_fire: Family<JobLabel, FloatGauge>,
    last_success: Family<JobLabel, FloatGauge>,
    failures: Family<JobLabel, Gauge>,
    paused: Family<JobLabel, Gauge>,
    stored: Family<StatusLabel, Gauge>,
    running: Gauge,
    queued: Gauge,
    lease: Gauge,
    instances: Gauge,
    sqlite_memory: Gauge,
}

impl Gauges {
    pub(super) fn register(registry: &mut Registry) -> Gauges {
        let gauges = Gauges {
            next_fire: Family::default(),
            last_success: Family::default(),
            failures: Family::default(),
            paused: Family::default(),
            stored: Family::default(),
            running: Gauge::default(),
            queued: Gauge::default(),
            lease: Gauge::default(),
            instances: Gauge::default(),
            sqlite_memory: Gauge::default(),
        };
        registry.register(
            "cronport_job_next_fire_timestamp_seconds",
            "When the job fires next (unix time); absent for paused and ended jobs",
            gauges.next_fire.clone(),
        );
        registry.register(
            "cronport_job_last_success_timestamp_seconds",
            "When the job's newest succeeded run finished (unix time)",
            gauges.last_success.clone(),
        );
        registry.register(
            "cronport_job_consecutive_failures",
            "Failed or interrupted runs of the job since its last success",
            gauges.failures.clone(),
        );
        registry.register(
            "cronport_job_paused",
            "1 when the job is paused",
            gauges.paused.clone(),
        );
        registry.register(
            "cronport_store_runs",
            "Runs the store holds, by status (all jobs, all instances; counted at most once a minute)",
            gauges.stored.clone(),
        );
        registry.register(
            "cronport_runs_running",
            "Runs running now, on any instance of the store",
            gauges.running.clone(),
        );
        registry.register(
            "cronport_runs_queued",
            "Runs queued in the store: due or announced, not yet started",
            gauges.queued.clone(),
        );
        registry.register(
            "cronport_lease_held",
            "1 when this instance holds the scheduler lease",
            gauges.lease.clone(),
        );
        registry.register(
            "cronport_instances_live",
            "Instances of the store that heartbeat",
            gauges.instances.clone(),
        );
        registry.register(
            "cronport_sqlite_memory_bytes",
            "Memory SQLite's allocator holds in this process (page caches of a SQLite store and of sql sources reading SQLite files)",
            gauges.sqlite_memory.clone(),
        );
        gauges
    }
}

/// Where a scrape reads from, with what it keeps between scrapes.
pub struct Source {
    store: Store,
    config: Arc<crate::config::Config>,
    kept: tokio::sync::Mutex<Kept>,
}

/// What one scrape leaves to the next.
#[derive(Default)]
struct Kept {
    /// Per job: the stored version parsed, and the job (`None`: it does not
    /// fit the config; its bare schedule is used).
    parsed: HashMap<JobId, (i64, Parsed)>,
    /// The destination names the jobs were parsed against: when one is
    /// made in the console, jobs that did not fit may fit now.
    destinations: Option<std::collections::BTreeSet<String>>,
    /// The store-wide run counts and when they were taken.
    counted: Option<(Instant, HashMap<RunStatus, i64>)>,
}

#[derive(Clone)]
enum Parsed {
    Job(Arc<Job>),
    Schedule(Arc<Schedule>),
    Nothing,
}

impl Source {
    /// Scrapes read `store`; jobs are checked against the names `config`
    /// and the store define, for their rules.
    pub fn new(store: Store, config: Arc<crate::config::Config>) -> Source {
        Source {
            store,
            config,
            kept: tokio::sync::Mutex::new(Kept::default()),
        }
    }

    /// The store, for the readiness check.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Set the scrape-time gauges from the store at `now`. Scrapes take
    /// turns: each clears and refills the per-job families.
    pub(crate) async fn refresh(
        &self,
        gauges: &Gauges,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut guard = self.kept.lock().await;
        let kept = &mut *guard;
        let jobs = self.store.list_jobs().await?;
        let known = crate::destinations::known(&self.config, &self.store).await?;
        if kept.destinations.as_ref() != Some(&known.destinations) {
            kept.parsed.clear();
            kept.destinations = Some(known.destinations.clone());
        }
        let health = self.store.job_health().await?;
        let active = self.store.active_runs().await?;
        let holder = self.store.lease_holder(now).await?;
        let live = self
            .store
            .live_instances(now, crate::scheduler::STALE_AFTER)
            .await?;
        let stale = kept
            .counted
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() >= COUNT_EVERY);
        if stale {
            kept.counted = Some((Instant::now(), self.store.runs_by_status().await?));
        }
        let health: HashMap<JobId, _> = health.into_iter().map(|h| (h.job_id, h)).collect();
        let parsed = &mut kept.parsed;
        let present: std::collections::HashSet<JobId> = jobs.iter().map(|j| j.id).collect();
        parsed.retain(|id, _| present.contains(id));
        gauges.next_fire.clear();
        gauges.last_success.clear();
        gauges.failures.clear();
        gauges.paused.clear();
        for record in &jobs {
            let label = JobLabel {
                job: record.name.clone(),
            };
            let entry = parsed
                .entry(record.id)
                .and_modify(|(version, job)| {
                    if *version != record.version {
                        *version = record.version;
                        *job = parse(record, &known);
                    }
                })
                .or_insert_with(|| (record.version, parse(record, &known)));
            if let Some(next) = next_fire(record, &entry.1, now) {
                gauges
                    .next_fire
                    .get_or_create(&label)
                    .set(next.timestamp_millis() as f64 / 1000.0);
            }
            let job = health.get(&record.id);
            if let Some(at) = job.and_then(|h| h.last_success) {
                gauges
                    .last_success
                    .get_or_create(&label)
                    .set(at.timestamp_millis() as f64 / 1000.0);
            }
            gauges
                .failures
                .get_or_create(&label)
                .set(job.map_or(0, |h| h.consecutive_failures));
            gauges
                .paused
                .get_or_create(&label)
                .set(i64::from(record.paused));
        }
        gauges.stored.clear();
        if let Some((_, by_status)) = &kept.counted {
            for (status, n) in by_status {
                gauges
                    .stored
                    .get_or_create(&StatusLabel {
                        status: status.as_str(),
                    })
                    .set(*n);
            }
        }
        let count = |status| active.get(&status).copied().unwrap_or(0);
        gauges.running.set(count(RunStatus::Running));
        gauges.queued.set(count(RunStatus::Queued));
        let mine = crate::health::instance_id();
        let held = matches!((&holder, &mine), (Some(h), Some(me)) if h.id == *me);
        gauges.lease.set(i64::from(held));
        gauges
            .instances
            .set(i64::try_from(live.len()).unwrap_or(i64::MAX));
        // SAFETY: sqlite3_memory_used reads SQLite's own counter and may be
        // called from any thread at any time.
        gauges
            .sqlite_memory
            .set(unsafe { rusqlite::ffi::sqlite3_memory_used() });
        Ok(())
    }
}

fn parse(record: &JobRecord, known: &Known) -> Parsed {
    let checked = crate::job::checked_stored(&record.name, &record.definition, known).ok();
    if let Some(job) = checked {
        return Parsed::Job(Arc::new(job));
    }
    parse_timezone(&record.timezone)
        .ok()
        .and_then(|tz| Schedule::parse(&record.schedule, tz).ok())
        .map_or(Parsed::Nothing, |s| Parsed::Schedule(Arc::new(s)))
}

/// As `cronport jobs list` shows it: by the job's rules when it fits the
/// config, else by its bare schedule; none when paused or ended.
fn next_fire(record: &JobRecord, parsed: &Parsed, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if record.paused {
        return None;
    }
    match parsed {
        Parsed::Job(job) if job.ended(now) => None,
        Parsed::Job(job) => job.next_run(now).map(|fire| fire.at),
        Parsed::Schedule(schedule) => schedule.next_after(now),
        Parsed::Nothing => None,
    }
}

/// When `record` fires next at `now` (see [`next_fire`]), parsing it anew.
pub fn next_fire_of(
    record: &JobRecord,
    known: &Known,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    next_fire(record, &parse(record, known), now)
}
