//! Store reads in the background: the panels' snapshot, a job's or run's
//! details, stored log lines, and (attached) the log lines another instance
//! writes. Requests for a snapshot arrive through a `watch`, so a burst of
//! them while one read is under way costs one more read, not one each.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, TimeZone as _, Utc};
use chrono_tz::Tz;
use tokio::sync::{mpsc, watch};

use super::model::{ERROR_DAYS, JobDetails, JobRow, LogScope, Msg, RunDetails, Snapshot, upcoming};
use super::strip::{Strip, strip};
use crate::config::Config;
use crate::events::{Level, LogEvent};
use crate::job::Known;
use crate::store::{LogLine, RunFilter, RunId, Store, StoreError};

/// Runs the history panel holds.
pub const HISTORY_ROWS: i64 = 200;
/// Runs a job view looks at for its rates and sparkline.
pub const DETAIL_RUNS: i64 = 200;
/// Stretches of the collision strip: half an hour each.
pub const STRIP_STRETCHES: usize = 48;
/// How old the strip may get before it is made again (it is also made
/// again when the jobs change).
const STRIP_EVERY: Duration = Duration::from_secs(600);

/// Fires the upcoming panel holds.
pub const UPCOMING_ROWS: usize = 500;
/// Lines a stored log shows at most.
pub const STORED_LINES: i64 = 10_000;
/// How often an attached console looks for new log lines.
pub const LOG_POLL: Duration = Duration::from_millis(250);

/// After a read, the loader rests this many times as long as it took.
const READ_SHARE: u32 = 4;

/// What the panels want read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadRequest {
    /// Bumped for every request, so an identical one still counts.
    pub seq: u64,
    /// Whose runs the history panel shows (`None`: all).
    pub history_job: Option<String>,
}

/// Reads snapshots, keeping the parsed jobs between reads: they are read
/// and parsed again only when the store's jobs version moves.
pub struct Loader {
    store: Store,
    zone: Tz,
    /// The config's names, calendars and blackouts, to check jobs with.
    known: Known,
    /// `max_concurrent_runs`, for the collision strip.
    limit: usize,
    /// The strip, made again when the jobs change or it is an hour old.
    strip: Option<Strip>,
    jobs_version: Option<i64>,
    jobs: Vec<JobRow>,
    /// The config, when the store's destinations are to be read too.
    config: Option<Arc<Config>>,
    /// The destinations made in the console, as of the last read.
    made: Vec<String>,
}

impl Loader {
    /// A loader showing times in `zone`, checking jobs against `known`,
    /// with room for `limit` runs at once.
    pub fn new(store: Store, zone: Tz, known: Known, limit: usize) -> Self {
        Loader {
            store,
            zone,
            known,
            limit,
            strip: None,
            jobs_version: None,
            jobs: Vec::new(),
            config: None,
            made: Vec::new(),
        }
    }

    /// Read the store's destinations too whenever the jobs change (a new
    /// one moves the jobs version): jobs naming them are checked against
    /// them, and the form offers them.
    pub fn with_config(mut self, config: Arc<Config>) -> Self {
        self.config = Some(config);
        self
    }

    /// Everything the panels show, as of `now`.
    pub async fn snapshot(
        &mut self,
        history_job: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, StoreError> {
        self.read(history_job, now, true).await
    }

    /// The jobs, their next fires and the history, without the counters
    /// (the slowest read with many jobs): what the first frame shows.
    pub async fn first_look(
        &mut self,
        history_job: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, StoreError> {
        self.read(history_job, now, false).await
    }

    async fn read(
        &mut self,
        history_job: Option<String>,
        now: DateTime<Utc>,
        counted: bool,
    ) -> Result<Snapshot, StoreError> {
        let store = &self.store;
        let version = store.jobs_version().await?;
        let stale = self.jobs_version != Some(version);
        let mut windows = day_windows(now, self.zone);
        windows.push((
            now - chrono::Duration::hours(24),
            now + chrono::Duration::days(1),
        ));
        let filter = RunFilter {
            job: history_job.clone(),
            limit: HISTORY_ROWS,
            ..RunFilter::default()
        };
        // The reads are independent: side by side they cost the slowest of
        // them (the per-job counters, with many jobs), not their sum.
        let (records, stats, history, running, mut counts, holder, catchup) = tokio::try_join!(
            async {
                if stale {
                    store.list_jobs().await.map(Some)
                } else {
                    Ok(None)
                }
            },
            async {
                if counted {
                    store.job_stats().await
                } else {
                    Ok(Vec::new())
                }
            },
            store.list_runs(&filter),
            store.running_runs(),
            async {
                if counted {
                    store.failures_per_window(&windows).await
                } else {
                    Ok(Vec::new())
                }
            },
            store.lease_holder(now),
            store.catchup_plans(false),
        )?;
        if let Some(records) = records {
            if let Some(config) = &self.config {
                let stored = crate::destinations::stored(config, store).await?;
                self.known = crate::destinations::known_with(config, &stored);
                self.made = stored.names().map(str::to_string).collect();
            }
            self.jobs = records
                .into_iter()
                .map(|r| JobRow::from_record(r, now, &self.known))
                .collect();
            self.jobs_version = Some(version);
            self.strip = None;
        }
        let mut stats: HashMap<_, _> = stats.into_iter().map(|s| (s.job_id, s)).collect();
        for job in &mut self.jobs {
            job.advance(now);
            job.stats = stats.remove(&job.id);
        }
        let failures_24h = counts.pop().unwrap_or(0);
        // Not on the first look, which must be quick: listing a day of
        // fires of 10,000 jobs takes a while.
        let strip_stale = counted
            && self.strip.as_ref().and_then(|s| s.from).is_none_or(|from| {
                now - from >= chrono::Duration::from_std(STRIP_EVERY).unwrap_or_default()
            });
        if strip_stale {
            self.strip = Some(strip(
                &self.jobs,
                now,
                chrono::Duration::hours(24),
                STRIP_STRETCHES,
                self.limit,
            ));
        }
        Ok(Snapshot {
            taken_at: Some(now),
            upcoming: upcoming(&self.jobs, now, chrono::Duration::hours(24), UPCOMING_ROWS),
            strip: self.strip.clone().unwrap_or_default(),
            jobs: self.jobs.clone(),
            history,
            history_job,
            running,
            failures_by_day: counts,
            failures_24h,
            holder,
            counted,
            catchup,
            made_destinations: self.made.clone(),
        })
    }
}

/// The last [`ERROR_DAYS`] days in `zone` up to `now`'s, oldest first, as
/// UTC windows (a day with a clock change is 23 or 25 hours long).
pub fn day_windows(now: DateTime<Utc>, zone: Tz) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let today = now.with_timezone(&zone).date_naive();
    let start_of = |day: chrono::NaiveDate| -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        // Midnight may fall in a gap (some zones change at 00:00): take
        // the first instant of the day that exists.
        zone.from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    };
    (0..ERROR_DAYS as u64)
        .rev()
        .map(|back| {
            let day = today - Days::new(back);
            (start_of(day), start_of(day + Days::new(1)))
        })
        .collect()
}

/// Read snapshots whenever `requests` changes, until it closes or the
/// console stops listening.
pub fn spawn(
    mut loader: Loader,
    mut requests: watch::Receiver<LoadRequest>,
    to_app: mpsc::Sender<Msg>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut first = true;
        while requests.changed().await.is_ok() {
            let request = requests.borrow_and_update().clone();
            if std::mem::take(&mut first)
                && let Ok(snapshot) = loader
                    .first_look(request.history_job.clone(), Utc::now())
                    .await
                && to_app
                    .send(Msg::Snapshot(Box::new(snapshot)))
                    .await
                    .is_err()
            {
                return;
            }
            let started = tokio::time::Instant::now();
            let msg = match loader.snapshot(request.history_job, Utc::now()).await {
                Ok(snapshot) => Msg::Snapshot(Box::new(snapshot)),
                Err(e) => Msg::LoadFailed(e.to_string()),
            };
            if to_app.send(msg).await.is_err() {
                return;
            }
            // A read of a large store (10,000 jobs: a third of a second)
            // is not repeated back to back: at most a fifth of the time
            // goes to reading, and requests meanwhile become one.
            tokio::time::sleep(started.elapsed() * READ_SHARE).await;
        }
    })
}

/// A job view: the job and its recent runs.
pub async fn job_details(store: &Store, name: &str, known: &Known) -> Result<Msg, String> {
    let record = store
        .get_job(name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no job named {name:?}"))?;
    let runs = store
        .list_runs(&RunFilter {
            job: Some(name.to_string()),
            limit: DETAIL_RUNS,
            ..RunFilter::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(Msg::JobDetails(Box::new(JobDetails {
        job: JobRow::from_record(record, Utc::now(), known),
        runs,
    })))
}

/// A run view: the run, its attempts and its stored lines.
pub async fn run_details(store: &Store, id: RunId) -> Result<Msg, String> {
    let run = store
        .get_run(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no run {id}"))?;
    let attempts = store.attempts(id).await.map_err(|e| e.to_string())?;
    let lines = store
        .run_logs(id, -1, STORED_LINES)
        .await
        .map_err(|e| e.to_string())?;
    let deliveries = store
        .deliveries(&[id])
        .await
        .map_err(|e| e.to_string())?
        .remove(&id)
        .unwrap_or_default();
    Ok(Msg::RunDetails(Box::new(RunDetails {
        run,
        attempts,
        lines,
        deliveries,
    })))
}

/// The Performance window: the jobs' runs that ended in `[since, until)`.
pub async fn performance(store: &Store, since: DateTime<Utc>, until: DateTime<Utc>) -> Msg {
    let report = store.performance(since, until).await;
    Msg::Performance(report.map_err(|e| e.to_string()))
}

/// Stored lines of a run, or of a job's recent runs (oldest first), for
/// the log panel.
pub async fn stored_log(store: &Store, scope: LogScope) -> Result<Msg, String> {
    let err = |e: StoreError| e.to_string();
    let (title, runs) = match scope {
        LogScope::Run(id) => {
            let run = store
                .get_run(id)
                .await
                .map_err(err)?
                .ok_or_else(|| format!("no run {id}"))?;
            (format!("run {id} of {}", run.job_name), vec![run])
        }
        LogScope::Job(name) => {
            let mut runs = store
                .list_runs(&RunFilter {
                    job: Some(name.clone()),
                    limit: 20,
                    ..RunFilter::default()
                })
                .await
                .map_err(err)?;
            runs.reverse();
            (format!("last {} runs of {name}", runs.len()), runs)
        }
    };
    let mut lines = Vec::new();
    for run in runs {
        let stored = store
            .run_logs(run.id, -1, STORED_LINES)
            .await
            .map_err(err)?;
        lines.extend(stored.into_iter().map(|l| log_event(l, &run.job_name)));
    }
    let keep = lines.len().saturating_sub(STORED_LINES as usize);
    lines.drain(..keep);
    Ok(Msg::StoredLog { title, lines })
}

/// A stored line as a live one.
pub fn log_event(line: LogLine, job: &str) -> LogEvent {
    let level = match line.level.to_ascii_lowercase().as_str() {
        "error" => Level::Error,
        "warn" | "warning" => Level::Warn,
        "info" => Level::Info,
        _ => Level::Debug,
    };
    LogEvent {
        ts: line.ts,
        level,
        job: Some(job.to_string()),
        run_id: Some(line.run_id),
        message: line.message,
    }
}

/// Runs an attached console looks at for new lines: the newest ones.
const FOLLOWED_RUNS: i64 = 100;

/// Attached: follow the lines the running instance stores. The newest runs
/// are read from where the last read stopped; a run that has ended is read
/// one last time and then left alone. Runs that had ended before the
/// console opened are history (the run view shows their lines).
pub fn follow_logs(store: Store, to_app: mpsc::Sender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut cursors: HashMap<RunId, i64> = HashMap::new();
        let mut done: HashSet<RunId> = HashSet::new();
        let mut first = true;
        let mut tick = tokio::time::interval(LOG_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let recent = match store
                .list_runs(&RunFilter {
                    limit: FOLLOWED_RUNS,
                    ..RunFilter::default()
                })
                .await
            {
                Ok(runs) => runs,
                Err(_) => continue,
            };
            let mut batch = Vec::new();
            for run in recent.iter().rev() {
                if done.contains(&run.id) {
                    continue;
                }
                let finished = run.status.is_final();
                if first && finished {
                    done.insert(run.id);
                    continue;
                }
                let seq = cursors.entry(run.id).or_insert(-1);
                if let Ok(lines) = store.run_logs(run.id, *seq, 2_000).await {
                    if let Some(last) = lines.last() {
                        *seq = last.seq;
                    }
                    batch.extend(lines.into_iter().map(|l| log_event(l, &run.job_name)));
                }
                if finished {
                    cursors.remove(&run.id);
                    done.insert(run.id);
                }
            }
            first = false;
            let listed: HashSet<RunId> = recent.iter().map(|r| r.id).collect();
            done.retain(|id| listed.contains(id));
            cursors.retain(|id, _| listed.contains(id));
            if !batch.is_empty() && to_app.send(Msg::Logs(batch)).await.is_err() {
                return;
            }
        }
    })
}
