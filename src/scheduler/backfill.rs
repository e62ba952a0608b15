//! Backfills: a job's slots in a past range, planned (what already ran is
//! left alone unless rerun), then queued a few at a time in the shared run
//! queue and watched to their end. Whichever instance is running takes
//! them, under the job's overlap policy (after the live schedule, one at a
//! time for exclusive jobs); with none, this process runs them itself.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::Solo;
use crate::job::{Fate, Job};
use crate::store::{JobId, RunId, RunRecord, SlotState, Store, StoreError};

/// One slot of a plan and what the store holds for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedSlot {
    /// The slot.
    pub slot: DateTime<Utc>,
    /// Its runs in the store when planned.
    pub state: SlotState,
}

impl PlannedSlot {
    /// Whether the backfill runs it: nothing runs it now, and it has not
    /// succeeded (or `rerun`).
    pub fn runs(&self, rerun: bool) -> bool {
        self.state.active.is_none() && (rerun || self.state.succeeded.is_none())
    }
}

/// The slots of a range, with the job's calendar, blackouts and bounds
/// applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slots {
    /// Slots that run (moved ones at their slot: a backfill runs them now,
    /// with their slot's window), oldest first.
    pub run: Vec<DateTime<Utc>>,
    /// Slots the rules skip, with why.
    pub skipped: Vec<(DateTime<Utc>, String)>,
    /// Slots of `run` the rules move to another time, with why: they run
    /// too (the schedule ran them, later), with their slot's window.
    pub moved: Vec<(DateTime<Utc>, String)>,
}

/// The slots of `[from, to]`; `Err(n)` when more than `limit` of them run
/// (counting stops a little past it).
pub fn slots_between(
    job: &Job,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
) -> Result<Slots, usize> {
    let start = from - chrono::Duration::milliseconds(1);
    let mut slots = Slots::default();
    for fire in job.fires(start).take_while(|f| f.slot <= to) {
        match fire.fate {
            Fate::Skipped(why) => slots.skipped.push((fire.slot, why)),
            fate => {
                if slots.run.len() == limit {
                    return Err(limit + 1);
                }
                if let Fate::Moved(why) = fate {
                    slots.moved.push((fire.slot, why));
                }
                slots.run.push(fire.slot);
            }
        }
    }
    Ok(slots)
}

/// A range's end as written: RFC 3339, or a date or local time in `zone`.
/// A date alone means the start of its day, or for an `end` its end.
pub fn parse_instant(text: &str, zone: Tz, end: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let whole_day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let naive = if let Some(date) = whole_day {
        let day = if end {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        day.and_hms_opt(0, 0, 0)
    } else {
        [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|p| NaiveDateTime::parse_from_str(text, p).ok())
    };
    let Some(naive) = naive else {
        return Err(format!(
            "{text:?} is not a time; write RFC 3339 (2026-12-01T06:00:00Z), a date \
             (2026-12-01) or a local time in the job's zone (2026-12-01T06:00)"
        ));
    };
    let Some(t) = zone.from_local_datetime(&naive).earliest() else {
        return Err(format!(
            "{text:?}: that local time does not exist in {zone} (a daylight-saving gap)"
        ));
    };
    let t = t.with_timezone(&Utc);
    // The end of a whole day is the last instant before the next one.
    Ok(if end && whole_day.is_some() {
        t - chrono::Duration::milliseconds(1)
    } else {
        t
    })
}

/// The plan: each slot with what the store holds for it.
pub async fn plan(
    store: &Store,
    job_id: JobId,
    slots: &[DateTime<Utc>],
) -> Result<Vec<PlannedSlot>, StoreError> {
    let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
        return Ok(Vec::new());
    };
    let states = store.backfill_states(job_id, *first, *last).await?;
    Ok(slots
        .iter()
        .map(|&slot| PlannedSlot {
            slot,
            state: states.get(&slot).copied().unwrap_or_default(),
        })
        .collect())
}

/// Who runs the queued runs.
pub enum Runner<'a> {
    /// A running instance takes them from the queue.
    Instances,
    /// This process takes and runs them (no instance is running).
    Here(&'a Solo, Arc<Job>),
}

/// What happened to one slot of a running backfill.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Its run was queued.
    Queued(DateTime<Utc>, RunId),
    /// Another backfill (or the schedule) ran or is running it by now.
    LeftAlone(DateTime<Utc>),
    /// Its run ended.
    Ended(DateTime<Utc>, Box<RunRecord>),
    /// Its run was still queued when the backfill was stopped, and was
    /// withdrawn.
    Withdrawn(DateTime<Utc>, RunId),
}

/// How fast a backfill goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// Runs queued or running at once.
    pub concurrency: usize,
    /// The job's overlap policy runs one at a time (all but `allow`).
    pub exclusive: bool,
}

impl Pace {
    /// At most `concurrency` at once, for `job`.
    pub fn of(job: &Job, concurrency: usize) -> Pace {
        Pace {
            concurrency,
            exclusive: job.policy.overlap != crate::job::OverlapPolicy::Allow,
        }
    }
}

/// How often the runs in flight are looked at.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Queues the runs of `slots` (oldest first), at most `concurrency` in the
/// queue or running at once, and waits for each to end, telling `report`
/// as it goes. `since` is when the backfill began (see
/// [`Store::enqueue_backfill`]). Stops queueing on `stop` and withdraws what
/// is still queued; runs already going finish.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: &Store,
    runner: Runner<'_>,
    job_id: JobId,
    slots: Vec<DateTime<Utc>>,
    rerun: bool,
    pace: Pace,
    since: DateTime<Utc>,
    stop: &tokio_util::sync::CancellationToken,
    mut report: impl FnMut(Progress),
) -> Result<(), StoreError> {
    // An exclusive job's runs go one at a time whatever is queued: one more
    // waits behind the running one, and its end wakes it at once instead
    // of at the instance's next look at the queue.
    let window = pace.concurrency.max(1) + usize::from(pace.exclusive);
    let mut pending: VecDeque<DateTime<Utc>> = slots.into();
    // Runs queued by this backfill and not yet ended.
    let mut flight: Vec<(DateTime<Utc>, RunId)> = Vec::new();
    let mut here = tokio::task::JoinSet::new();
    loop {
        while !stop.is_cancelled() && flight.len() < window {
            let Some(slot) = pending.pop_front() else {
                break;
            };
            let now = Utc::now();
            match store
                .enqueue_backfill(job_id, &[slot], rerun, since, now)
                .await?
                .first()
            {
                Some(&(slot, id)) => {
                    flight.push((slot, id));
                    report(Progress::Queued(slot, id));
                }
                None => report(Progress::LeftAlone(slot)),
            }
        }
        if stop.is_cancelled() {
            for &(slot, id) in &flight {
                let why = "withdrawn: the backfill was stopped before this run started";
                if store.withdraw_queued(id, Utc::now(), why).await? {
                    report(Progress::Withdrawn(slot, id));
                }
            }
        }
        if let Runner::Here(solo, job) = &runner {
            // Oldest first across the job's due rows (another backfill's
            // too): taking one row by id could start a later slot first.
            let room = pace.concurrency.max(1).saturating_sub(here.len());
            if room > 0 && !stop.is_cancelled() {
                for run in solo.take_job(job_id, job.policy.overlap, room).await? {
                    let (runner, job) = (solo.runner(), job.clone());
                    // The set is drained before this returns, so no runner
                    // outlives the caller's `Solo`.
                    here.spawn(async move { runner.run(&job, run).await });
                }
            }
        }
        let mut still = Vec::with_capacity(flight.len());
        for (slot, id) in flight.drain(..) {
            match store.get_run(id).await? {
                // A run withdrawn on stop was reported as such.
                Some(run)
                    if run.status == crate::store::RunStatus::Skipped && stop.is_cancelled() => {}
                Some(run) if run.status.is_final() => {
                    report(Progress::Ended(slot, Box::new(run)));
                }
                Some(_) => still.push((slot, id)),
                None => {}
            }
        }
        flight = still;
        if flight.is_empty() && (pending.is_empty() || stop.is_cancelled()) {
            while here.join_next().await.is_some() {}
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_EVERY) => {}
            _ = here.join_next(), if !here.is_empty() => {}
            () = stop.cancelled(), if !stop.is_cancelled() => {}
        }
    }
}
