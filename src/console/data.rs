//! The data the panels show: jobs as rows, upcoming fires, and what one
//! read of the store gives (the runtime's loader builds these; tests build
//! them as fixtures).

use chrono::{DateTime, Utc};

use crate::job::{Job, Known};
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
    /// The definition as stored (JSON of a [`crate::job::JobSpec`]); shared, since
    /// every refresh copies the rows.
    pub definition: std::sync::Arc<str>,
    /// The parsed schedule, when it parses.
    pub parsed: Option<Schedule>,
    /// The job checked against the config, when it fits: its fires follow
    /// the calendar, blackouts, bounds and jitter.
    pub checked: Option<std::sync::Arc<Job>>,
    /// The next fire, unless paused or ended: when it runs.
    pub next_run: Option<DateTime<Utc>>,
    /// The slot of `next_run`.
    pub next_slot: Option<DateTime<Utc>>,
    /// Past its `end_at`: no fire will run any more.
    pub ended: bool,
    /// Counters.
    pub stats: Option<JobStats>,
}

impl JobRow {
    /// A stored job as a row: its schedule parsed (or the reason it does
    /// not parse), checked against `known` for its rules, and its next fire
    /// after `now`; no counters yet.
    pub fn from_record(record: JobRecord, now: DateTime<Utc>, known: &Known) -> JobRow {
        let checked = crate::job::checked_stored(&record.name, &record.definition, known)
            .ok()
            .map(std::sync::Arc::new);
        let parsed = match &checked {
            Some(job) => Ok(job.schedule.clone()),
            None => crate::schedule::parse_timezone(&record.timezone)
                .and_then(|tz| Schedule::parse(&record.schedule, tz)),
        };
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
            checked,
            next_run: None,
            next_slot: None,
            ended: false,
            stats: None,
        };
        row.advance(now);
        row
    }

    /// Recompute the next fire if it is not after `now`.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        self.ended = self.checked.as_ref().is_some_and(|job| job.ended(now));
        if self.paused || self.ended {
            self.next_run = None;
            self.next_slot = None;
        } else if self.next_run.is_none_or(|next| next <= now) {
            let next = self.fire_after(now);
            self.next_slot = next.map(|(slot, _)| slot);
            self.next_run = next.map(|(_, at)| at);
        }
    }

    /// The next fire whose slot is after `after` and that runs, as (slot,
    /// when it runs): by the job's rules when it was checked, else by its
    /// schedule alone.
    pub fn fire_after(&self, after: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.checked {
            Some(job) => job.next_run(after).map(|f| (f.slot, f.at)),
            None => self
                .parsed
                .as_ref()
                .and_then(|s| s.next_after(after))
                .map(|at| (at, at)),
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
    // Ordered by when fires run; each carries its slot, from which the
    // job's next fire is found (jitter may put a fire's run after its slot).
    let mut heap: BinaryHeap<Reverse<Due>> = jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| !j.paused && !j.ended)
        .filter_map(|(i, j)| {
            let (slot, at) = (j.next_slot?, j.next_run?);
            (at > now && at <= end).then_some(Reverse((at, slot, i)))
        })
        .collect();
    let mut fires = Vec::with_capacity(limit.min(heap.len()));
    while fires.len() < limit {
        let Some(Reverse((at, slot, i))) = heap.pop() else {
            break;
        };
        let job = &jobs[i];
        fires.push(Upcoming {
            at,
            job: job.name.clone(),
        });
        if let Some((slot, at)) = job.fire_after(slot)
            && at <= end
        {
            heap.push(Reverse((at, slot, i)));
        }
    }
    fires
}

/// A job's next fire in the upcoming merge: (runs at, slot, job index).
type Due = (DateTime<Utc>, DateTime<Utc>, usize);

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
    /// Runs due per stretch of the next 24 hours, and collisions.
    pub strip: super::strip::Strip,
    /// Catch-up plans awaiting approval (`catch_up = "ask"`), oldest first.
    pub catchup: Vec<crate::store::CatchUpPlan>,
    /// Destinations made in the console that jobs may name, by name.
    pub made_destinations: Vec<String>,
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
