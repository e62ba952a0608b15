//! The collision strip: how many runs are due in each stretch of the next
//! 24 hours, and the instants at which more runs are due at once than
//! `max_concurrent_runs` lets start, with the jobs involved.
//!
//! Fires are listed job by job, with each job's rules (a skipped fire is
//! not due). A job firing more often than [`FREQUENT`] allows in the
//! horizon is left out of the stretches and the collisions and counted by
//! its rate: it is due beside everything anyway (a constant floor that
//! would flatten the strip), and listing an every-second job's 86,400 fires
//! a day for every refresh would cost more than the strip is worth.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::data::JobRow;

/// A job with more fires than this in the horizon counts as frequent.
pub const FREQUENT: usize = 288;

/// At most this many jobs are named for one collision.
const NAMED: usize = 6;

/// The strip's data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strip {
    /// Start of the first stretch.
    pub from: Option<DateTime<Utc>>,
    /// Length of each stretch.
    pub stretch: chrono::Duration,
    /// Runs due in each stretch, frequent jobs' aside.
    pub counts: Vec<u32>,
    /// Runs of the frequent jobs in the whole horizon, by their rate.
    pub frequent_runs: u64,
    /// Instants with more runs due than the limit, soonest first.
    pub collisions: Vec<Collision>,
    /// The limit: `max_concurrent_runs`.
    pub limit: usize,
    /// Jobs counted by their rate (more than [`FREQUENT`] fires).
    pub frequent: Vec<String>,
}

/// One instant with more runs due than the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collision {
    /// When.
    pub at: DateTime<Utc>,
    /// How many runs are due then.
    pub runs: usize,
    /// The jobs, at most a few, by name.
    pub jobs: Vec<String>,
}

impl Strip {
    /// The stretch `at` falls in, if within the strip.
    pub fn stretch_of(&self, at: DateTime<Utc>) -> Option<usize> {
        let from = self.from?;
        let ms = self.stretch.num_milliseconds().max(1);
        let index = usize::try_from((at - from).num_milliseconds() / ms).ok()?;
        (index < self.counts.len()).then_some(index)
    }

    /// The collisions `job` is part of.
    pub fn collisions_of<'a>(&'a self, job: &'a str) -> impl Iterator<Item = &'a Collision> + 'a {
        self.collisions
            .iter()
            .filter(move |c| c.jobs.iter().any(|j| j == job))
    }
}

/// The strip for `jobs` over `[now, now + horizon)` in `stretches` equal
/// parts, with collisions over `limit` runs at once.
pub fn strip(
    jobs: &[JobRow],
    now: DateTime<Utc>,
    horizon: chrono::Duration,
    stretches: usize,
    limit: usize,
) -> Strip {
    let stretches = stretches.max(1);
    let stretch = horizon / i32::try_from(stretches).unwrap_or(i32::MAX);
    let end = now + horizon;
    let mut strip = Strip {
        from: Some(now),
        stretch,
        counts: vec![0; stretches],
        collisions: Vec::new(),
        limit,
        frequent: Vec::new(),
        frequent_runs: 0,
    };
    // Every job due at each instant, for the collisions.
    let mut at_once: BTreeMap<DateTime<Utc>, Vec<usize>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if job.paused || job.ended {
            continue;
        }
        let mut fires = Vec::new();
        let mut after = now;
        while let Some((slot, at)) = job.fire_after(after) {
            if at >= end || fires.len() > FREQUENT {
                break;
            }
            fires.push(at);
            after = slot;
        }
        if fires.len() > FREQUENT {
            // Counted by its rate: the gap between its first fires.
            strip.frequent.push(job.name.clone());
            let span = fires[fires.len() - 1] - fires[0];
            let per_fire = span.num_milliseconds() as f64 / (fires.len() - 1) as f64;
            let runs = horizon.num_milliseconds() as f64 / per_fire.max(1.0);
            strip.frequent_runs = strip.frequent_runs.saturating_add(runs.round() as u64);
            continue;
        }
        for at in fires {
            if let Some(index) = strip.stretch_of(at) {
                strip.counts[index] += 1;
            }
            at_once.entry(at).or_default().push(i);
        }
    }
    for (at, due) in at_once {
        if due.len() > limit {
            let mut names: Vec<String> = due.iter().map(|&i| jobs[i].name.clone()).collect();
            names.sort();
            names.truncate(NAMED.max(limit + 1).min(names.len()));
            strip.collisions.push(Collision {
                at,
                runs: due.len(),
                jobs: names,
            });
        }
    }
    strip
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::store::JobRecord;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    fn job(id: i64, name: &str, schedule: &str, zone: &str) -> JobRow {
        let record = JobRecord {
            id,
            name: name.into(),
            schedule: schedule.into(),
            cron: schedule.into(),
            timezone: zone.into(),
            definition: "{}".into(),
            paused: false,
            created_at: now(),
            updated_at: now(),
            version: 1,
        };
        JobRow::from_record(record, now(), &crate::job::Known::default())
    }

    #[test]
    fn counts_stretches_and_names_the_jobs_that_collide() {
        // Five jobs at 02:00 in New York (07:00 UTC) with room for three;
        // one at 02:30; an every-second job counted by its rate.
        let mut jobs: Vec<JobRow> = (0..5)
            .map(|i| job(i, &format!("nightly-{i}"), "0 2 * * *", "America/New_York"))
            .collect();
        jobs.push(job(9, "half-past", "30 2 * * *", "America/New_York"));
        jobs.push(job(10, "ticker", "* * * * * *", "UTC"));
        let strip = strip(&jobs, now(), chrono::Duration::hours(24), 48, 3);
        assert_eq!(strip.counts.len(), 48);
        assert_eq!(strip.frequent, ["ticker"]);
        // 30-minute stretches from 12:00 UTC: 02:00 EDT (06:00 UTC) the
        // next day is stretch 36, 02:30 is 37; the ticker, by its rate,
        // is a day's seconds beside them.
        assert_eq!(strip.counts[36], 5);
        assert_eq!(strip.counts[37], 1);
        assert_eq!(strip.counts.iter().sum::<u32>(), 6);
        assert_eq!(strip.frequent_runs, 86_400);
        assert_eq!(strip.collisions.len(), 1);
        let c = &strip.collisions[0];
        assert_eq!(c.at, Utc.with_ymd_and_hms(2026, 3, 11, 6, 0, 0).unwrap());
        assert_eq!(c.runs, 5);
        assert_eq!(c.jobs.len(), 5);
        assert_eq!(strip.collisions_of("nightly-3").count(), 1);
        assert_eq!(strip.collisions_of("half-past").count(), 0);
        // With room for five, nothing collides.
        let roomy = super::strip(&jobs, now(), chrono::Duration::hours(24), 48, 5);
        assert!(roomy.collisions.is_empty());
    }

    #[test]
    fn paused_jobs_are_not_due() {
        let mut jobs: Vec<JobRow> = (0..3)
            .map(|i| job(i, &format!("j{i}"), "0 3 * * *", "UTC"))
            .collect();
        jobs[0].paused = true;
        let strip = strip(&jobs, now(), chrono::Duration::hours(24), 24, 1);
        assert_eq!(strip.collisions[0].runs, 2);
        assert_eq!(strip.counts.iter().sum::<u32>(), 2);
    }
}
