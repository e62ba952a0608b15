//! Slots claimed a moment before their time.
//!
//! A run cannot start before its slot is claimed in the store, and claiming
//! is the slow part of firing: 10,000 slots took 200-400 ms in SQLite, so
//! the last runs of a busy second started that late. The planner therefore
//! announces each slot [`CLAIM_AHEAD`] before it fires ([`Effect::Reserve`]),
//! the loop claims it then, and when the slot comes its run starts at once.
//!
//! This module is the loop's bookkeeping of those claims, without I/O: it
//! says what to do when a reserved slot fires, is skipped, passes unfired
//! (its job was paused, edited or deleted), or when the store answers. A
//! reservation is only a head start: whenever one is lost or failed, the
//! slot is claimed again when it fires, as it would have been without it.
//!
//! [`Effect::Reserve`]: super::plan::Effect::Reserve

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{JobId, RunId, Trigger};

/// How long before its time a slot is claimed: long enough for the store to
/// claim a busy second's slots, short enough that few claims are wasted on
/// jobs paused or edited in between.
pub const CLAIM_AHEAD: Duration = Duration::from_secs(1);

/// Slots claimed ahead. Every operation looks at the slots it concerns
/// only: when the store falls behind, 10,000 claims are out at once, and
/// a scan of all of them per skipped slot or per turn made the loop
/// quadratic and it never caught up again.
#[derive(Default)]
pub struct Reservations {
    /// By job, then slot.
    slots: BTreeMap<(JobId, DateTime<Utc>), State>,
    /// Slots still to sweep, by time. A key whose slot was used meanwhile
    /// is passed over.
    due: BTreeSet<(DateTime<Utc>, JobId)>,
}

enum State {
    /// The claim is on its way to the store; then this.
    Claiming(Then),
    /// This instance holds the slot, as this (queued) run.
    Won(RunId),
}

/// What a claim still on its way turns into when it comes back.
enum Then {
    /// Hold the slot until it fires.
    Keep,
    /// The slot fired meanwhile: start its run.
    Start(Trigger),
    /// Nobody wants it any more: give it back.
    Release,
    /// Overlap skipped it: the run becomes the skipped entry, for this reason.
    Skip(String),
}

/// What to do when a slot fires.
#[derive(Debug, PartialEq, Eq)]
pub enum OnStart {
    /// It is held: start this run now.
    Run(RunId),
    /// Its claim is still on its way: the answer starts it.
    Wait,
    /// Not held: claim it now.
    Claim,
}

/// Who records the entry for skipped slots.
#[derive(Debug, PartialEq, Eq)]
pub enum SkipEntry {
    /// Nobody held the last slot: record the entry as usual.
    Record,
    /// The last slot is held as this run: finish it as the skipped entry.
    Finish(RunId),
    /// The claim of the last slot is on its way: its answer says.
    Later,
}

/// How the store answered a claim made ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The slot is ours, as this run.
    Won(RunId),
    /// Another instance has it (or the job is gone).
    Lost,
    /// The claim failed.
    Failed,
}

/// What to do about an answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Answered {
    /// Nothing.
    Nothing,
    /// Give the run back.
    Release(RunId),
    /// The slot has fired: start this run.
    Run(RunId, Trigger),
    /// The slot has fired and is not ours: claim it now.
    Claim(Trigger),
    /// Finish this run as the entry for skipped slots, for this reason.
    FinishSkipped(RunId, String),
    /// Record the entry for the skipped slot as usual, for this reason.
    RecordSkipped(String),
}

impl Reservations {
    /// A claim of `slot` is about to be sent; `false` if the slot is
    /// reserved already (announced again after an edit that kept it), or
    /// its time has passed: it is claimed when it fires.
    pub fn add(&mut self, job: JobId, slot: DateTime<Utc>) -> bool {
        if self.slots.contains_key(&(job, slot)) {
            return false;
        }
        self.slots.insert((job, slot), State::Claiming(Then::Keep));
        self.due.insert((slot, job));
        true
    }

    /// The slot fires.
    pub fn start(&mut self, job: JobId, slot: DateTime<Utc>, trigger: Trigger) -> OnStart {
        let key = (job, slot);
        match self.slots.remove(&key) {
            Some(State::Won(run_id)) => OnStart::Run(run_id),
            Some(State::Claiming(Then::Keep | Then::Release)) => {
                self.slots
                    .insert(key, State::Claiming(Then::Start(trigger)));
                OnStart::Wait
            }
            // Fired twice, or fired after a skip: the first wins, and this
            // one is claimed as if nothing were reserved.
            Some(state @ State::Claiming(Then::Start(_) | Then::Skip(_))) => {
                self.slots.insert(key, state);
                OnStart::Claim
            }
            None => OnStart::Claim,
        }
    }

    /// The job's slots from `first` to `last` are skipped. Returns runs to
    /// give back (held slots before `last`) and who records the entry.
    pub fn skip(
        &mut self,
        job: JobId,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        reason: &str,
    ) -> (Vec<RunId>, SkipEntry) {
        let mut release = Vec::new();
        let mut entry = SkipEntry::Record;
        let held: Vec<_> = self
            .slots
            .range((job, first)..=(job, last))
            .map(|(key, _)| *key)
            .collect();
        for key in held {
            let is_last = key.1 == last;
            match self.slots.remove(&key) {
                Some(State::Won(run_id)) if is_last => entry = SkipEntry::Finish(run_id),
                Some(State::Won(run_id)) => release.push(run_id),
                Some(State::Claiming(_)) if is_last => {
                    self.slots
                        .insert(key, State::Claiming(Then::Skip(reason.to_string())));
                    entry = SkipEntry::Later;
                }
                Some(State::Claiming(_)) => {
                    self.slots.insert(key, State::Claiming(Then::Release));
                }
                None => {}
            }
        }
        (release, entry)
    }

    /// Slots whose time has come by `now` without firing (their job was
    /// paused, edited or deleted, or overlap queued the slot for later,
    /// when it is claimed again): runs to give back now; claims on their
    /// way are given back when they are answered.
    pub fn sweep(&mut self, now: DateTime<Utc>) -> Vec<RunId> {
        let passed: Vec<_> = self.due.range(..=(now, JobId::MAX)).copied().collect();
        let mut release = Vec::new();
        for (slot, job) in passed {
            self.due.remove(&(slot, job));
            let key = (job, slot);
            match self.slots.get_mut(&key) {
                Some(State::Won(run_id)) => {
                    release.push(*run_id);
                    self.slots.remove(&key);
                }
                Some(State::Claiming(then @ Then::Keep)) => *then = Then::Release,
                // Fired, skipped or given back already.
                Some(State::Claiming(_)) | None => {}
            }
        }
        release
    }

    /// The store answered the claim of `slot`.
    pub fn answered(&mut self, job: JobId, slot: DateTime<Utc>, claimed: Claimed) -> Answered {
        let state = self.slots.remove(&(job, slot));
        let Some(State::Claiming(then)) = state else {
            // Not waiting for this answer: keep whatever is recorded, and
            // give back a run nobody expects.
            if let Some(state) = state {
                self.slots.insert((job, slot), state);
            }
            return match claimed {
                Claimed::Won(run_id) => Answered::Release(run_id),
                _ => Answered::Nothing,
            };
        };
        match (then, claimed) {
            (Then::Keep, Claimed::Won(run_id)) => {
                self.slots.insert((job, slot), State::Won(run_id));
                Answered::Nothing
            }
            // Claimed again when it fires: the winner may give it back.
            (Then::Keep, _) => Answered::Nothing,
            (Then::Start(trigger), Claimed::Won(run_id)) => Answered::Run(run_id, trigger),
            (Then::Start(trigger), _) => Answered::Claim(trigger),
            (Then::Release, Claimed::Won(run_id)) => Answered::Release(run_id),
            (Then::Release, _) => Answered::Nothing,
            (Then::Skip(reason), Claimed::Won(run_id)) => Answered::FinishSkipped(run_id, reason),
            (Then::Skip(reason), Claimed::Failed) => Answered::RecordSkipped(reason),
            // The instance holding the slot records it.
            (Then::Skip(_), Claimed::Lost) => Answered::Nothing,
        }
    }

    /// Stopping: runs to give back now; claims still on their way are
    /// given back as they are answered.
    pub fn release_all(&mut self) -> Vec<RunId> {
        let mut release = Vec::new();
        for state in self.slots.values_mut() {
            match state {
                State::Won(run_id) => release.push(*run_id),
                State::Claiming(then) => *then = Then::Release,
            }
        }
        self.slots
            .retain(|_, state| matches!(state, State::Claiming(_)));
        self.due.clear();
        release
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::seconds(secs)
    }

    const S: Trigger = Trigger::Schedule;

    #[test]
    fn a_won_slot_starts_at_once() {
        let mut r = Reservations::default();
        assert!(r.add(1, t(1)));
        assert!(!r.add(1, t(1)), "reserved once");
        assert_eq!(r.answered(1, t(1), Claimed::Won(7)), Answered::Nothing);
        assert_eq!(r.start(1, t(1), S), OnStart::Run(7));
        assert_eq!(r.start(1, t(1), S), OnStart::Claim, "used up");
    }

    #[test]
    fn a_slot_that_fires_before_its_answer_starts_with_the_answer() {
        let mut r = Reservations::default();
        r.add(1, t(1));
        r.add(2, t(1));
        assert_eq!(r.start(1, t(1), S), OnStart::Wait);
        assert_eq!(r.start(2, t(1), Trigger::CatchUp), OnStart::Wait);
        assert_eq!(r.answered(1, t(1), Claimed::Won(7)), Answered::Run(7, S));
        assert_eq!(
            r.answered(2, t(1), Claimed::Lost),
            Answered::Claim(Trigger::CatchUp)
        );
    }

    #[test]
    fn lost_or_failed_reservations_are_claimed_again_when_they_fire() {
        let mut r = Reservations::default();
        r.add(1, t(1));
        r.add(2, t(1));
        assert_eq!(r.answered(1, t(1), Claimed::Lost), Answered::Nothing);
        assert_eq!(r.answered(2, t(1), Claimed::Failed), Answered::Nothing);
        assert_eq!(r.start(1, t(1), S), OnStart::Claim);
        assert_eq!(r.start(2, t(1), S), OnStart::Claim);
    }

    #[test]
    fn slots_that_pass_unfired_are_given_back() {
        let mut r = Reservations::default();
        r.add(1, t(1));
        r.add(2, t(1));
        r.add(3, t(2));
        r.answered(1, t(1), Claimed::Won(7));
        assert!(r.sweep(t(0)).is_empty(), "not yet their time");
        assert_eq!(r.sweep(t(1)), [7]);
        assert_eq!(r.answered(2, t(1), Claimed::Won(8)), Answered::Release(8));
        // A slot given back and then fired (queued by overlap) starts with
        // the answer.
        r.add(4, t(2));
        assert!(r.sweep(t(2)).is_empty());
        assert_eq!(r.start(4, t(2), S), OnStart::Wait);
        assert_eq!(r.answered(4, t(2), Claimed::Won(9)), Answered::Run(9, S));
        assert_eq!(r.start(3, t(2), S), OnStart::Wait);
    }

    #[test]
    fn a_skipped_reserved_slot_becomes_the_skipped_entry() {
        let mut r = Reservations::default();
        r.add(1, t(1));
        r.answered(1, t(1), Claimed::Won(7));
        assert_eq!(
            r.skip(1, t(1), t(1), "busy"),
            (vec![], SkipEntry::Finish(7))
        );
        r.add(1, t(2));
        assert_eq!(r.skip(1, t(2), t(2), "busy"), (vec![], SkipEntry::Later));
        assert_eq!(
            r.answered(1, t(2), Claimed::Won(8)),
            Answered::FinishSkipped(8, "busy".into())
        );
        r.add(1, t(3));
        r.skip(1, t(3), t(3), "busy");
        assert_eq!(
            r.answered(1, t(3), Claimed::Failed),
            Answered::RecordSkipped("busy".into())
        );
        r.add(1, t(4));
        r.skip(1, t(4), t(4), "busy");
        assert_eq!(r.answered(1, t(4), Claimed::Lost), Answered::Nothing);
        // Held slots inside a skipped range are given back; other jobs'
        // are left alone.
        r.add(1, t(5));
        r.add(2, t(5));
        r.answered(1, t(5), Claimed::Won(9));
        r.answered(2, t(5), Claimed::Won(10));
        assert_eq!(
            r.skip(1, t(5), t(6), "missed"),
            (vec![9], SkipEntry::Record)
        );
        assert_eq!(r.start(2, t(5), S), OnStart::Run(10));
    }

    #[test]
    fn stopping_gives_everything_back() {
        let mut r = Reservations::default();
        r.add(1, t(1));
        r.add(2, t(1));
        r.add(3, t(2));
        r.answered(1, t(1), Claimed::Won(7));
        r.start(3, t(2), S);
        assert_eq!(r.release_all(), [7]);
        assert_eq!(r.answered(2, t(1), Claimed::Won(8)), Answered::Release(8));
        assert_eq!(r.answered(3, t(2), Claimed::Won(9)), Answered::Release(9));
        assert!(r.sweep(t(10)).is_empty());
    }
}
