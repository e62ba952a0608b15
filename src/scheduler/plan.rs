//! The scheduler's pure core: which job fires when, and what overlap and
//! catch-up policies make of each slot. No I/O and no clock of its own:
//! callers pass `now`, and get back [`Effect`]s to carry out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::job::{CatchUpPolicy, Job, OverlapPolicy};
use crate::store::{JobId, Trigger};

/// A slot older than this when its turn comes was missed (the process was
/// down or asleep) and falls under the catch-up policy; a younger one is
/// merely late and runs as scheduled.
pub const MISSED_AFTER: Duration = Duration::from_secs(5);

/// Counting missed slots stops here (an every-second job down for weeks).
const MAX_COUNTED: u64 = 10_000_000;

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Claim `slot` for the job in the store and, if won, run it.
    Start {
        /// The job.
        job: JobId,
        /// The slot.
        slot: DateTime<Utc>,
        /// `schedule` or `catch_up`.
        trigger: Trigger,
    },
    /// Record slots that will not run.
    Skip {
        /// The job.
        job: JobId,
        /// The skipped slots.
        slots: Skipped,
    },
    /// Cancel the job's running runs (overlap = cancel_previous).
    CancelRunning {
        /// The job.
        job: JobId,
    },
    /// Claim `slot` now, ahead of its time (see [`Planner::claim_ahead`]).
    /// It comes back as a `Start` of the same job and slot, or as the last
    /// slot of a `Skip` if overlap skips it; or not at all if the job is
    /// paused, edited or removed meanwhile.
    Reserve {
        /// The job.
        job: JobId,
        /// The slot, still to come.
        slot: DateTime<Utc>,
    },
}

/// A span of slots recorded as one skipped entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// How many slots.
    pub count: u64,
    /// The first.
    pub first: DateTime<Utc>,
    /// The last.
    pub last: DateTime<Utc>,
    /// Why, for the run record.
    pub reason: String,
}

struct Entry {
    job: Arc<Job>,
    paused: bool,
    next: Option<DateTime<Utc>>,
    generation: u64,
    /// Runs claimed or running on this instance.
    active: usize,
    /// The newest slot waiting for the running one (overlap = queue_one).
    pending: Option<DateTime<Utc>>,
    /// Caught-up slots still to run, oldest first (catch_up = all).
    backlog: VecDeque<DateTime<Utc>>,
}

/// Jobs and their next fires, in one timeline.
#[derive(Default)]
pub struct Planner {
    entries: HashMap<JobId, Entry>,
    timeline: BinaryHeap<Reverse<(DateTime<Utc>, JobId, u64)>>,
    /// The same fires, to announce `ahead` of time; empty when that is off.
    horizon: BinaryHeap<Reverse<(DateTime<Utc>, JobId, u64)>>,
    ahead: Duration,
}

impl Planner {
    /// An empty planner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Announce every slot `ahead` of its time with an [`Effect::Reserve`]
    /// (from [`Planner::due`]), so that the driver can claim it before it
    /// fires; zero (the default) announces nothing.
    pub fn claim_ahead(mut self, ahead: Duration) -> Self {
        self.ahead = ahead;
        self
    }

    /// Add or replace a job. Its slots after `after` are its future (pass the
    /// last slot it ran, so slots missed since then are caught up). A job
    /// replaced while it runs keeps its run count, so overlap still holds.
    pub fn set_job(&mut self, id: JobId, job: Arc<Job>, paused: bool, after: DateTime<Utc>) {
        let next = job.schedule.next_after(after);
        let (active, generation) = self
            .entries
            .get(&id)
            .map_or((0, 0), |e| (e.active, e.generation + 1));
        self.entries.insert(
            id,
            Entry {
                job,
                paused,
                next,
                generation,
                active,
                pending: None,
                backlog: VecDeque::new(),
            },
        );
        self.push(id);
    }

    /// Forget a job. Its running runs go on; their end is ignored.
    pub fn remove_job(&mut self, id: JobId) {
        self.entries.remove(&id);
    }

    /// The job, if known.
    pub fn job(&self, id: JobId) -> Option<&Arc<Job>> {
        self.entries.get(&id).map(|e| &e.job)
    }

    /// Ids of all known jobs.
    pub fn job_ids(&self) -> impl Iterator<Item = JobId> + '_ {
        self.entries.keys().copied()
    }

    /// Pause or resume one job. Slots that pass while paused are not caught
    /// up: pausing is deliberate. Resuming starts from the next slot after `now`.
    pub fn set_paused(&mut self, id: JobId, paused: bool, now: DateTime<Utc>) {
        if let Some(entry) = self.entries.get_mut(&id)
            && entry.paused != paused
        {
            entry.paused = paused;
            if !paused {
                entry.next = entry.job.schedule.next_after(now);
                entry.generation += 1;
                self.push(id);
            }
        }
    }

    /// Whether a job is paused.
    pub fn is_paused(&self, id: JobId) -> bool {
        self.entries.get(&id).is_some_and(|e| e.paused)
    }

    /// The job's next fire, if any.
    pub fn next_fire(&self, id: JobId) -> Option<DateTime<Utc>> {
        self.entries.get(&id).and_then(|e| e.next)
    }

    fn push(&mut self, id: JobId) {
        if let Some(entry) = self.entries.get(&id)
            && let Some(next) = entry.next
        {
            self.timeline.push(Reverse((next, id, entry.generation)));
            if !self.ahead.is_zero() && !entry.paused {
                self.horizon.push(Reverse((next, id, entry.generation)));
            }
        }
    }

    /// When the driver must next call [`Planner::due`].
    pub fn next_deadline(&mut self) -> Option<DateTime<Utc>> {
        let fire = loop {
            let Some(Reverse((at, id, generation))) = self.timeline.peek().copied() else {
                break None;
            };
            match self.entries.get(&id) {
                Some(e) if e.generation == generation && e.next == Some(at) => break Some(at),
                _ => {
                    self.timeline.pop();
                }
            }
        };
        let ahead = chrono::Duration::from_std(self.ahead).unwrap_or(chrono::Duration::MAX);
        let reserve = loop {
            let Some(Reverse((at, id, generation))) = self.horizon.peek().copied() else {
                break None;
            };
            match self.entries.get(&id) {
                Some(e) if e.generation == generation && e.next == Some(at) && !e.paused => {
                    break at.checked_sub_signed(ahead);
                }
                // Stale, or paused: resuming pushes the job again.
                _ => {
                    self.horizon.pop();
                }
            }
        };
        [fire, reserve].into_iter().flatten().min()
    }

    /// Everything due at `now`: fires slots on time, applies catch-up to
    /// slots that were missed and overlap to slots that meet a running run.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        while let Some(Reverse((at, id, generation))) = self.timeline.peek().copied() {
            if at > now {
                break;
            }
            self.timeline.pop();
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.generation != generation || entry.next != Some(at) {
                continue;
            }
            let schedule = entry.job.schedule.clone();
            let missed_before = now - MISSED_AFTER;
            let mut missed = Missed::default();
            let mut on_time = Vec::new();
            let mut fire = Some(at);
            while let Some(f) = fire.filter(|f| *f <= now) {
                if f < missed_before {
                    missed.add(f, now, &entry.job);
                } else {
                    on_time.push(f);
                }
                if missed.count >= MAX_COUNTED {
                    fire = schedule.next_after(now);
                    missed.capped = true;
                    break;
                }
                fire = schedule.next_after(f);
            }
            entry.next = fire;
            entry.generation += 1;
            if !entry.paused {
                missed.apply(id, entry, &mut effects);
                for slot in on_time {
                    on_slot(id, entry, slot, &mut effects);
                }
                pump(id, entry, &mut effects);
            }
            self.push(id);
        }
        self.announce(now, &mut effects);
        effects
    }

    /// Slots due within `ahead` of `now` become [`Effect::Reserve`]s, each
    /// once (its horizon entry is consumed).
    fn announce(&mut self, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        if self.ahead.is_zero() {
            return;
        }
        let ahead = chrono::Duration::from_std(self.ahead).unwrap_or(chrono::Duration::MAX);
        let until = now
            .checked_add_signed(ahead)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        while let Some(Reverse((at, id, generation))) = self.horizon.peek().copied() {
            if at > until {
                break;
            }
            self.horizon.pop();
            if let Some(e) = self.entries.get(&id)
                && e.generation == generation
                && e.next == Some(at)
                && !e.paused
                && at > now
            {
                effects.push(Effect::Reserve { job: id, slot: at });
            }
        }
    }

    /// A run of the job began on this instance (a manual run, or a claimed slot).
    pub fn run_began(&mut self, id: JobId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.active += 1;
        }
    }

    /// A run of the job ended (or its slot went to another instance): start
    /// whatever waited for it.
    pub fn run_ended(&mut self, id: JobId) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.active = entry.active.saturating_sub(1);
            if !entry.paused {
                pump(id, entry, &mut effects);
            }
        }
        effects
    }
}

/// Start the next waiting slot if nothing of the job is running: caught-up
/// slots first (oldest first), then the one queued by overlap = queue_one.
fn pump(id: JobId, entry: &mut Entry, effects: &mut Vec<Effect>) {
    if entry.active > 0 {
        return;
    }
    if let Some(slot) = entry.backlog.pop_front() {
        entry.active += 1;
        effects.push(Effect::Start {
            job: id,
            slot,
            trigger: Trigger::CatchUp,
        });
    } else if let Some(slot) = entry.pending.take() {
        entry.active += 1;
        effects.push(Effect::Start {
            job: id,
            slot,
            trigger: Trigger::Schedule,
        });
    }
}

fn on_slot(id: JobId, entry: &mut Entry, slot: DateTime<Utc>, effects: &mut Vec<Effect>) {
    let busy = entry.active > 0 || !entry.backlog.is_empty();
    if !busy {
        entry.active += 1;
        effects.push(Effect::Start {
            job: id,
            slot,
            trigger: Trigger::Schedule,
        });
        return;
    }
    let skip = |slot, reason: &str| Effect::Skip {
        job: id,
        slots: Skipped {
            count: 1,
            first: slot,
            last: slot,
            reason: reason.to_string(),
        },
    };
    match entry.job.policy.overlap {
        OverlapPolicy::Skip => effects.push(skip(
            slot,
            "the previous run was still running (overlap = skip)",
        )),
        OverlapPolicy::QueueOne => {
            if let Some(older) = entry.pending.replace(slot) {
                effects.push(skip(
                    older,
                    "a newer slot took its place in the queue (overlap = queue_one)",
                ));
            }
        }
        OverlapPolicy::Allow => {
            entry.active += 1;
            effects.push(Effect::Start {
                job: id,
                slot,
                trigger: Trigger::Schedule,
            });
        }
        OverlapPolicy::CancelPrevious => {
            effects.push(Effect::CancelRunning { job: id });
            entry.active += 1;
            effects.push(Effect::Start {
                job: id,
                slot,
                trigger: Trigger::Schedule,
            });
        }
    }
}

/// Slots missed while down, sorted into "run" and "skip" by the job's
/// catch-up policy and window.
#[derive(Default)]
struct Missed {
    count: u64,
    capped: bool,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    /// The slot before `last`: the last skipped one when `latest` runs `last`.
    before_last: Option<DateTime<Utc>>,
    /// The newest slot too old to catch up: the last skipped one under `all`.
    newest_outside: Option<DateTime<Utc>>,
    /// The newest slot inside the window.
    newest_inside: Option<DateTime<Utc>>,
    /// Slots inside the window, kept only when the policy runs them all.
    inside: Vec<DateTime<Utc>>,
}

impl Missed {
    fn add(&mut self, slot: DateTime<Utc>, now: DateTime<Utc>, job: &Job) {
        self.count += 1;
        self.first.get_or_insert(slot);
        self.before_last = self.last.replace(slot);
        let window =
            chrono::Duration::from_std(job.policy.catch_up_window).unwrap_or(chrono::Duration::MAX);
        if now.signed_duration_since(slot) <= window {
            self.newest_inside = Some(slot);
            if job.policy.catch_up == CatchUpPolicy::All {
                self.inside.push(slot);
            }
        } else {
            self.newest_outside = Some(slot);
        }
    }

    fn apply(self, id: JobId, entry: &mut Entry, effects: &mut Vec<Effect>) {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return;
        };
        let policy = entry.job.policy.catch_up;
        let (run, last_skipped, name) = match policy {
            CatchUpPolicy::Skip => (Vec::new(), Some(last), "skip"),
            CatchUpPolicy::Latest => match self.newest_inside {
                Some(newest) => (vec![newest], self.before_last, "latest"),
                None => (Vec::new(), Some(last), "latest"),
            },
            CatchUpPolicy::All => (self.inside, self.newest_outside, "all"),
        };
        let skipped = self.count - run.len() as u64;
        if let (true, Some(last_skipped)) = (skipped > 0, last_skipped) {
            let at_least = if self.capped { "at least " } else { "" };
            let plural = if skipped == 1 { "" } else { "s" };
            let reason = format!(
                "missed {at_least}{skipped} slot{plural} from {} to {} while cronport was not running (catch_up = {name}, window {})",
                first.to_rfc3339(),
                last_skipped.to_rfc3339(),
                crate::config::duration::HumanDuration(entry.job.policy.catch_up_window),
            );
            let slots = Skipped {
                count: skipped,
                first,
                last: last_skipped,
                reason,
            };
            effects.push(Effect::Skip { job: id, slots });
        }
        entry.backlog.extend(run);
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::job::{JobSpec, Known};

    fn job(schedule: &str) -> Arc<Job> {
        let text = format!(
            "name = \"j\"\nschedule = \"{schedule}\"\nsource = {{ kind = \"command\", argv = [\"true\"] }}\nformat = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n"
        );
        let spec: JobSpec = toml::from_str(&text).expect("job toml");
        let known = Known {
            destinations: ["out".to_string()].into(),
            ..Known::default()
        };
        Arc::new(spec.validate(&known).expect("valid job"))
    }

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::seconds(secs)
    }

    fn reserves(effects: &[Effect]) -> Vec<(JobId, DateTime<Utc>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Reserve { job, slot } => Some((*job, *slot)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn without_claim_ahead_nothing_is_reserved() {
        let mut planner = Planner::new();
        planner.set_job(1, job("* * * * * *"), false, t(0));
        assert_eq!(planner.next_deadline(), Some(t(1)));
        for secs in 0..5 {
            assert!(reserves(&planner.due(t(secs))).is_empty());
        }
    }

    #[test]
    fn each_slot_is_reserved_once_ahead_of_its_start() {
        let mut planner = Planner::new().claim_ahead(Duration::from_secs(1));
        planner.set_job(1, job("* * * * * *"), false, t(0));
        planner.set_job(2, job("*/10 * * * * *"), false, t(0));
        // Job 1's first slot is within a second: reserve it at once.
        assert_eq!(planner.next_deadline(), Some(t(0)));
        assert_eq!(reserves(&planner.due(t(0))), [(1, t(1))]);
        assert_eq!(planner.next_deadline(), Some(t(1)));
        // At its slot it starts, and the next one is reserved in the same turn.
        let effects = planner.due(t(1));
        assert!(effects.contains(&Effect::Start {
            job: 1,
            slot: t(1),
            trigger: Trigger::Schedule
        }));
        assert_eq!(reserves(&effects), [(1, t(2))]);
        planner.run_ended(1);
        // Job 2 fires at t(10): the planner wakes at t(9) to reserve it.
        for secs in 2..9 {
            planner.due(t(secs));
            planner.run_ended(1);
        }
        let effects = planner.due(t(9));
        assert_eq!(reserves(&effects), [(1, t(10)), (2, t(10))]);
        // A second look at the same moment announces nothing again.
        assert!(reserves(&planner.due(t(9))).is_empty());
    }

    #[test]
    fn paused_jobs_are_not_reserved_until_resumed() {
        let mut planner = Planner::new().claim_ahead(Duration::from_secs(1));
        planner.set_job(1, job("*/5 * * * * *"), false, t(0));
        planner.set_paused(1, true, t(0));
        assert!(reserves(&planner.due(t(4))).is_empty());
        assert!(reserves(&planner.due(t(5))).is_empty());
        planner.set_paused(1, false, t(6));
        assert_eq!(planner.next_deadline(), Some(t(9)));
        assert_eq!(reserves(&planner.due(t(9))), [(1, t(10))]);
    }
}
