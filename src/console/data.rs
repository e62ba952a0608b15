//! The data the panels show: jobs as rows, upcoming fires, and what one
//! read of the store gives (the runtime's loader builds these; tests build
//! them as fixtures).

use chrono::{DateTime, Utc};

use crate::schedule::Schedule;
use crate::store::{
    AttemptRecord, DeliveryRecord, InstanceInfo, JobId, JobRecord, JobStats, LogLine, RunRecord,
};

/// Days in the errors panel's chart.
pub const ERROR_DAYS: usize = 14;

/// A job as the panels show it.
#[derive(Clone, Debug)]
pub struct JobRow {
    /// Store id.
    pub id: JobId,
    /// Name.
    pub name: String,
    /// Schedule as written.
    pub schedule: String,
    /// Schedule as cron.
    pub cron: String,
    /// IANA zone.
    pub timezone: String,
    /// The schedule in words, or why it cannot be read.
    pub description: String,
    /// Not scheduled.
    pub paused: bool,
    /// Store version, sent back with an edit to catch concurrent ones.
    pub version: i64,
    /// The definition as stored (JSON of a [`JobSpec`]); shared, since
    /// every refresh copies the rows.
    pub definition: std::sync::Arc<str>,
    /// The parsed schedule, when it parses.
    pub parsed: Option<Schedule>,
    /// The next fire, unless paused.
    pub next_run: Option<DateTime<Utc>>,
    /// Counters.
    pub stats: Option<JobStats>,
}

impl JobRow {
    /// A stored job as a row: its schedule parsed (or the reason it does
    /// not parse) and its next fire after `now`; no counters yet.
    pub fn from_record(record: JobRecord, now: DateTime<Utc>) -> JobRow {
        let parsed = crate::schedule::parse_timezone(&record.timezone)
            .and_then(|tz| Schedule::parse(&record.schedule, tz));
        let (parsed, description) = match parsed {
            Ok(schedule) => {
                let words = schedule.describe();
                (Some(schedule), words)
            }
            Err(e) => (None, e.to_string()),
        };
        let mut row = JobRow {
            id: record.id,
            name: record.name,
            schedule: record.schedule,
            cron: record.cron,
            timezone: record.timezone,
            description,
            paused: record.paused,
            version: record.version,
            definition: record.definition.into(),
            parsed,
            next_run: None,
            stats: None,
        };
        row.advance(now);
        row
    }

    /// Recompute the next fire if it is not after `now`.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        if self.paused {
            self.next_run = None;
        } else if self.next_run.is_none_or(|next| next <= now) {
            self.next_run = self.parsed.as_ref().and_then(|s| s.next_after(now));
        }
    }

    /// Runs recorded.
    pub fn runs(&self) -> i64 {
        self.stats.as_ref().map_or(0, |s| s.run_count)
    }

    /// Failed and interrupted runs.
    pub fn errors(&self) -> i64 {
        self.stats.as_ref().map_or(0, |s| s.error_count)
    }
}

/// The fires of all active `jobs` after `now` and within `horizon`,
/// merged, soonest first, at most `limit`. Costs a heap entry a job plus one
/// next-fire computation per fire listed.
pub fn upcoming(
    jobs: &[JobRow],
    now: DateTime<Utc>,
    horizon: chrono::Duration,
    limit: usize,
) -> Vec<Upcoming> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let end = now + horizon;
    let mut heap: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| !j.paused)
        .filter_map(|(i, j)| {
            j.next_run
                .filter(|at| *at > now && *at <= end)
                .map(|at| Reverse((at, i)))
        })
        .collect();
    let mut fires = Vec::with_capacity(limit.min(heap.len()));
    while fires.len() < limit {
        let Some(Reverse((at, i))) = heap.pop() else {
            break;
        };
        let job = &jobs[i];
        fires.push(Upcoming {
            at,
            job: job.name.clone(),
        });
        if let Some(next) = job.parsed.as_ref().and_then(|s| s.next_after(at))
            && next <= end
        {
            heap.push(Reverse((next, i)));
        }
    }
    fires
}

/// One fire in the upcoming panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upcoming {
    /// When.
    pub at: DateTime<Utc>,
    /// Which job.
    pub job: String,
}

/// What the store held at one moment, read in the background.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// When it was read.
    pub taken_at: Option<DateTime<Utc>>,
    /// Every job, by name.
    pub jobs: Vec<JobRow>,
    /// Recent runs, newest first: of `history_job`, or of all jobs.
    pub history: Vec<RunRecord>,
    /// Whose runs `history` holds.
    pub history_job: Option<String>,
    /// Runs in progress.
    pub running: Vec<RunRecord>,
    /// Failed or interrupted runs per day, oldest first, the last being
    /// the day of `taken_at` in the console's zone.
    pub failures_by_day: Vec<u64>,
    /// Failed or interrupted runs in the 24 hours before `taken_at`.
    pub failures_24h: u64,
    /// The instance holding the scheduler lease.
    pub holder: Option<InstanceInfo>,
    /// Whether the counters (per-job runs and errors, failures) were read:
    /// the console's first read leaves them out to show the jobs sooner.
    pub counted: bool,
    /// Fires of all jobs in the next 24 hours, merged, soonest first.
    pub upcoming: Vec<Upcoming>,
    /// Catch-up plans awaiting approval (`catch_up = "ask"`), oldest first.
    pub catchup: Vec<crate::store::CatchUpPlan>,
}

/// A job view's data.
#[derive(Clone, Debug)]
pub struct JobDetails {
    /// The job.
    pub job: JobRow,
    /// Its recent runs, newest first.
    pub runs: Vec<RunRecord>,
}

/// A run view's data.
#[derive(Clone, Debug)]
pub struct RunDetails {
    /// The run.
    pub run: RunRecord,
    /// Its attempts.
    pub attempts: Vec<AttemptRecord>,
    /// Its stored log lines.
    pub lines: Vec<LogLine>,
    /// What happened at each destination (runs recorded before deliveries
    /// were kept have none; their outputs still show).
    pub deliveries: Vec<DeliveryRecord>,
}
