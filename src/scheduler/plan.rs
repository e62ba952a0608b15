//! The scheduler's pure core: which job fires when, and what the catch-up
//! policy makes of slots that were missed. No I/O and no clock of its own:
//! callers pass `now`, and get back [`Effect`]s to carry out.
//!
//! Each slot passes the job's rules (calendar, blackouts, bounds, jitter:
//! see [`crate::schedule::rules`]) when it is planned: a slot the rules skip
//! is recorded as skipped with the reason; one they move is put in the
//! queue under its own slot with the time it runs (`at`), which the queue
//! waits for. The timeline is kept by the time each slot must be acted on,
//! which is not the slot's order once slots move: a slot may move back to
//! the business day before, so slots are looked at ahead by as far as the
//! rules can move them back ([`crate::schedule::rules::Rules::earliest_at`]).
//!
//! What happens to a slot once it is in the store's run queue (overlap,
//! capacity, which instance runs it) is decided when it is taken, from what
//! every instance is running: see [`super::overlap`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::job::{CatchUpPolicy, Fire, Job};
use crate::store::{JobId, PlanSlot, Trigger};

/// A slot older than this when its turn comes was missed (the process was
/// down or asleep) and falls under the catch-up policy; a younger one is
/// merely late and runs as scheduled.
pub const MISSED_AFTER: Duration = Duration::from_secs(5);

/// Counting missed slots stops here (an every-second job down for weeks).
const MAX_COUNTED: u64 = 10_000_000;

/// A plan awaiting approval (`catch_up = "ask"`) keeps at most this many
/// slots, the newest: a person reads and approves it, and the store keeps
/// its slots in one row. Older missed slots are recorded skipped.
pub const MAX_PLAN_SLOTS: usize = 10_000;

/// Something the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put `slot` in the store's run queue (if no instance has yet); it is
    /// taken from there once due.
    Enqueue {
        /// The job.
        job: JobId,
        /// The slot: the run's identity.
        slot: DateTime<Utc>,
        /// When it is due to run (the run's `scheduled_for`): the slot, or
        /// later by jitter or a blackout's deferral, or another day by the
        /// calendar. Up to [`Planner::enqueue_ahead`] in the future.
        at: DateTime<Utc>,
        /// `schedule` or `catch_up`.
        trigger: Trigger,
    },
    /// Keep missed slots as a plan awaiting approval (`catch_up = "ask"`):
    /// they run only once someone approves them.
    Ask {
        /// The job.
        job: JobId,
        /// The missed slots inside the catch-up window, oldest first, each
        /// with when it was due.
        slots: Vec<PlanSlot>,
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
    /// The next slot not yet looked at by the rules.
    next: Option<DateTime<Utc>>,
    /// Slots looked at but not yet acted on, by (time to act, slot).
    pending: BTreeMap<(DateTime<Utc>, DateTime<Utc>), Fire>,
    /// When the timeline must come back to this job.
    key: Option<DateTime<Utc>>,
    generation: u64,
}

/// When a fire is acted on: a skipped slot when it comes, a run when due.
fn act_at(fire: &Fire) -> DateTime<Utc> {
    if fire.runs() { fire.at } else { fire.slot }
}

impl Entry {
    /// The first slot after `after` within the job's bounds.
    fn first_slot(job: &Job, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = match job.rules.start_at {
            Some(start) if start > after => start - chrono::Duration::nanoseconds(1),
            _ => after,
        };
        job.schedule
            .next_after(from)
            .filter(|slot| job.rules.end_at.is_none_or(|end| *slot <= end))
    }

    /// The slot after `slot`, within the job's bounds.
    fn slot_after(&self, slot: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.job
            .schedule
            .next_after(slot)
            .filter(|next| self.job.rules.end_at.is_none_or(|end| *next <= end))
    }

    /// The earliest time anything of this job must be acted on.
    fn compute_key(&self) -> Option<DateTime<Utc>> {
        let pending = self.pending.keys().next().map(|(at, _)| *at);
        let upcoming = self.next.map(|slot| {
            self.job
                .rules
                .earliest_at(self.job.schedule.timezone(), slot)
        });
        match (pending, upcoming) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
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
        let next = Entry::first_slot(&job, after);
        let generation = self.entries.get(&id).map_or(0, |e| e.generation + 1);
        self.entries.insert(
            id,
            Entry {
                job,
                paused,
                next,
                pending: BTreeMap::new(),
                key: None,
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
                entry.next = Entry::first_slot(&entry.job, now);
                entry.pending.clear();
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
        self.entries.get(&id).and_then(|e| {
            let pending = e.pending.values().map(|f| f.slot).min();
            match (pending, e.next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        })
    }

    fn push(&mut self, id: JobId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.key = entry.compute_key();
            if let Some(key) = entry.key {
                self.timeline.push(Reverse((key, id, entry.generation)));
            }
        }
    }

    /// When the driver must next call [`Planner::due`].
    pub fn next_deadline(&mut self) -> Option<DateTime<Utc>> {
        let ahead = self.ahead();
        while let Some(Reverse((at, id, generation))) = self.timeline.peek().copied() {
            match self.entries.get(&id) {
                Some(e) if e.generation == generation && e.key == Some(at) => {
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
            if entry.generation != generation || entry.key != Some(at) {
                continue;
            }
            let job = entry.job.clone();
            let tz = job.schedule.timezone();
            let mut ready: Vec<Fire> = Vec::new();
            while let Some(first) = entry.pending.first_key_value().map(|(k, _)| *k) {
                if first.0 > until {
                    break;
                }
                if let Some((_, fire)) = entry.pending.pop_first() {
                    ready.push(fire);
                }
            }
            let mut missed = Missed::default();
            while let Some(slot) = entry
                .next
                .filter(|s| job.rules.earliest_at(tz, *s) <= until)
            {
                let fire = job.fire(slot);
                entry.next = entry.slot_after(slot);
                if act_at(&fire) <= until {
                    if fire.runs() && fire.at < missed_before {
                        missed.add(&fire, now, &job);
                    } else {
                        ready.push(fire);
                    }
                } else {
                    entry.pending.insert((act_at(&fire), slot), fire);
                }
                if missed.count >= MAX_COUNTED {
                    entry.next = Entry::first_slot(&job, now);
                    missed.capped = true;
                    break;
                }
            }
            ready.sort_by_key(|f| f.slot);
            let mut on_time = Vec::new();
            let mut skipped = Vec::new();
            for fire in ready {
                match &fire.fate {
                    // Slots the rules skip while cronport was down would
                    // not have run anyway: neither missed nor recorded.
                    crate::job::Fate::Skipped(_) if fire.slot < missed_before => {}
                    crate::job::Fate::Skipped(reason) => skipped.push(Effect::Skip {
                        job: id,
                        slots: Skipped {
                            count: 1,
                            first: fire.slot,
                            last: fire.slot,
                            reason: reason.clone(),
                        },
                    }),
                    _ if fire.at < missed_before => missed.add(&fire, now, &job),
                    _ => on_time.push(fire),
                }
            }
            entry.generation += 1;
            if !entry.paused {
                missed.apply(id, entry, &mut effects);
                effects.extend(skipped);
                effects.extend(on_time.into_iter().map(|fire| Effect::Enqueue {
                    job: id,
                    slot: fire.slot,
                    at: fire.at,
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
    /// The newest slot inside the window, and when it was due.
    newest_inside: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Slots inside the window and when they were due, kept only when the
    /// policy runs them all or asks about them (the newest
    /// [`MAX_PLAN_SLOTS`] then).
    inside: VecDeque<(DateTime<Utc>, DateTime<Utc>)>,
    /// The newest slot inside the window dropped from a plan that was full:
    /// recorded skipped with the ones outside.
    dropped: Option<DateTime<Utc>>,
}

impl Missed {
    fn add(&mut self, fire: &Fire, now: DateTime<Utc>, job: &Job) {
        let slot = fire.slot;
        self.count += 1;
        self.first.get_or_insert(slot);
        self.before_last = self.last.replace(slot);
        let window =
            chrono::Duration::from_std(job.policy.catch_up_window).unwrap_or(chrono::Duration::MAX);
        if now.signed_duration_since(fire.at) <= window {
            self.newest_inside = Some((slot, fire.at));
            match job.policy.catch_up {
                CatchUpPolicy::All => self.inside.push_back((slot, fire.at)),
                CatchUpPolicy::Ask => {
                    self.inside.push_back((slot, fire.at));
                    if self.inside.len() > MAX_PLAN_SLOTS {
                        self.dropped = self.inside.pop_front().map(|(slot, _)| slot);
                    }
                }
                CatchUpPolicy::Skip | CatchUpPolicy::Latest => {}
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
        let (run, last_skipped) = match policy {
            CatchUpPolicy::Skip => (Vec::new(), Some(last)),
            CatchUpPolicy::Latest => match self.newest_inside {
                Some(newest) => (vec![newest], self.before_last),
                None => (Vec::new(), Some(last)),
            },
            CatchUpPolicy::All => (Vec::from(self.inside), self.newest_outside),
            // Asked about, not run: whatever the window holds waits for a
            // person; what is too old (or beyond a full plan) is skipped.
            CatchUpPolicy::Ask => {
                let asked = Vec::from(self.inside);
                let span = SkippedSpan {
                    count: self.count - asked.len() as u64,
                    capped: self.capped,
                    first,
                    last: self.dropped.or(self.newest_outside),
                };
                push_skipped(id, &entry.job, span, effects);
                if !asked.is_empty() {
                    let slots = asked
                        .into_iter()
                        .map(|(slot, at)| PlanSlot { slot, at })
                        .collect();
                    effects.push(Effect::Ask { job: id, slots });
                }
                return;
            }
        };
        let span = SkippedSpan {
            count: self.count - run.len() as u64,
            capped: self.capped,
            first,
            last: last_skipped,
        };
        push_skipped(id, &entry.job, span, effects);
        effects.extend(run.into_iter().map(|(slot, at)| Effect::Enqueue {
            job: id,
            slot,
            at,
            trigger: Trigger::CatchUp,
        }));
    }
}

/// The missed slots of one job that will not run: how many, the span.
struct SkippedSpan {
    count: u64,
    capped: bool,
    first: DateTime<Utc>,
    last: Option<DateTime<Utc>>,
}

/// Records the missed slots that will not run as one entry.
fn push_skipped(id: JobId, job: &Job, span: SkippedSpan, effects: &mut Vec<Effect>) {
    let SkippedSpan {
        count: skipped,
        capped,
        first,
        last: last_skipped,
    } = span;
    let name = job.policy.catch_up.as_str();
    if let (true, Some(last_skipped)) = (skipped > 0, last_skipped) {
        let at_least = if capped { "at least " } else { "" };
        let plural = if skipped == 1 { "" } else { "s" };
        let reason = format!(
            "missed {at_least}{skipped} slot{plural} from {} to {} while cronport was not running (catch_up = {name}, window {})",
            first.to_rfc3339(),
            last_skipped.to_rfc3339(),
            crate::config::duration::HumanDuration(job.policy.catch_up_window),
        );
        let slots = Skipped {
            count: skipped,
            first,
            last: last_skipped,
            reason,
        };
        effects.push(Effect::Skip { job: id, slots });
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
