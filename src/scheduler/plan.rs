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
}

impl Planner {
    /// An empty planner.
    pub fn new() -> Self {
        Self::default()
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
        }
    }

    /// When the driver must next call [`Planner::due`].
    pub fn next_deadline(&mut self) -> Option<DateTime<Utc>> {
        while let Some(Reverse((at, id, generation))) = self.timeline.peek().copied() {
            match self.entries.get(&id) {
                Some(e) if e.generation == generation && e.next == Some(at) => return Some(at),
                _ => {
                    self.timeline.pop();
                }
            }
        }
        None
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
        effects
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
