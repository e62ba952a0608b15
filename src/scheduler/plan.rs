//! The scheduler's pure core: which job fires when, and what the catch-up
//! policy makes of slots that were missed. No I/O and no clock of its own:
//! callers pass `now`, and get back [`Effect`]s to carry out.
//!
//! What happens to a slot once it is in the store's run queue (overlap,
//! capacity, which instance runs it) is decided when it is taken, from what
//! every instance is running: see [`super::overlap`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::job::{CatchUpPolicy, Job};
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
    /// Put `slot` in the store's run queue (if no instance has yet); it is
    /// taken from there once due.
    Enqueue {
        /// The job.
        job: JobId,
        /// The slot; up to [`Planner::enqueue_ahead`] in the future.
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
}

/// Jobs and their next fires, in one timeline.
#[derive(Default)]
pub struct Planner {
    entries: HashMap<JobId, Entry>,
    timeline: BinaryHeap<Reverse<(DateTime<Utc>, JobId, u64)>>,
    ahead: Duration,
}

impl Planner {
    /// An empty planner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Announce each slot `ahead` of its time (zero, the default: when it
    /// is due), so that it is in the queue when it comes: putting a busy
    /// second's slots in the store takes longer than taking them.
    pub fn enqueue_ahead(mut self, ahead: Duration) -> Self {
        self.ahead = ahead;
        self
    }

    fn ahead(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.ahead).unwrap_or(chrono::Duration::MAX)
    }

    /// Add or replace a job. Its slots after `after` are its future (pass the
    /// last slot it ran, so slots missed since then are caught up).
    pub fn set_job(&mut self, id: JobId, job: Arc<Job>, paused: bool, after: DateTime<Utc>) {
        let next = job.schedule.next_after(after);
        let generation = self.entries.get(&id).map_or(0, |e| e.generation + 1);
        self.entries.insert(
            id,
            Entry {
                job,
                paused,
                next,
                generation,
            },
        );
        self.push(id);
    }

    /// Forget a job.
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

    /// The job's next slot not yet announced, if any.
    pub fn next_fire(&self, id: JobId) -> Option<DateTime<Utc>> {
        self.entries.get(&id).and_then(|e| e.next)
    }

    fn push(&mut self, id: JobId) {
        if let Some(entry) = self.entries.get(&id)
            && let Some(next) = entry.next
        {
            self.timeline.push(Reverse((next, id, entry.generation)));
        }
    }

    /// When the driver must next call [`Planner::due`].
    pub fn next_deadline(&mut self) -> Option<DateTime<Utc>> {
        let ahead = self.ahead();
        while let Some(Reverse((at, id, generation))) = self.timeline.peek().copied() {
            match self.entries.get(&id) {
                Some(e) if e.generation == generation && e.next == Some(at) => {
                    return Some(at.checked_sub_signed(ahead).unwrap_or(at));
                }
                _ => {
                    self.timeline.pop();
                }
            }
        }
        None
    }

    /// Everything to announce at `now`: slots due within `ahead`, and the
    /// catch-up policy applied to slots that were missed.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut effects = Vec::new();
        let until = now
            .checked_add_signed(self.ahead())
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let missed_before = now - MISSED_AFTER;
        while let Some(Reverse((at, id, generation))) = self.timeline.peek().copied() {
            if at > until {
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
            let mut missed = Missed::default();
            let mut on_time = Vec::new();
            let mut fire = Some(at);
            while let Some(f) = fire.filter(|f| *f <= until) {
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
                effects.extend(on_time.into_iter().map(|slot| Effect::Enqueue {
                    job: id,
                    slot,
                    trigger: Trigger::Schedule,
                }));
            }
            self.push(id);
        }
        effects
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
        effects.extend(run.into_iter().map(|slot| Effect::Enqueue {
            job: id,
            slot,
            trigger: Trigger::CatchUp,
        }));
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

    fn enqueued(effects: &[Effect]) -> Vec<(JobId, DateTime<Utc>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Enqueue { job, slot, .. } => Some((*job, *slot)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn without_ahead_slots_are_announced_when_due() {
        let mut planner = Planner::new();
        planner.set_job(1, job("* * * * * *"), false, t(0));
        assert_eq!(planner.next_deadline(), Some(t(1)));
        assert!(enqueued(&planner.due(t(0))).is_empty());
        assert_eq!(enqueued(&planner.due(t(1))), [(1, t(1))]);
    }

    #[test]
    fn each_slot_is_announced_once_ahead_of_its_time() {
        let mut planner = Planner::new().enqueue_ahead(Duration::from_secs(1));
        planner.set_job(1, job("* * * * * *"), false, t(0));
        planner.set_job(2, job("*/10 * * * * *"), false, t(0));
        // Job 1's first slot is within a second: announce it at once.
        assert_eq!(planner.next_deadline(), Some(t(0)));
        assert_eq!(enqueued(&planner.due(t(0))), [(1, t(1))]);
        assert_eq!(planner.next_deadline(), Some(t(1)));
        assert_eq!(enqueued(&planner.due(t(1))), [(1, t(2))]);
        // Job 2 fires at t(10): the planner wakes at t(9) to announce it.
        for secs in 2..9 {
            planner.due(t(secs));
        }
        assert_eq!(enqueued(&planner.due(t(9))), [(1, t(10)), (2, t(10))]);
        // A second look at the same moment announces nothing again.
        assert!(enqueued(&planner.due(t(9))).is_empty());
    }

    #[test]
    fn paused_jobs_are_not_announced_until_resumed() {
        let mut planner = Planner::new().enqueue_ahead(Duration::from_secs(1));
        planner.set_job(1, job("*/5 * * * * *"), false, t(0));
        planner.set_paused(1, true, t(0));
        assert!(enqueued(&planner.due(t(4))).is_empty());
        assert!(enqueued(&planner.due(t(5))).is_empty());
        planner.set_paused(1, false, t(6));
        assert_eq!(planner.next_deadline(), Some(t(9)));
        assert_eq!(enqueued(&planner.due(t(9))), [(1, t(10))]);
    }
}
