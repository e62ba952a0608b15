//! What becomes of a job's due runs when an instance takes them from the
//! queue: the overlap policy, decided inside the store's take transaction
//! (see [`Store::take_due`](crate::store::Store::take_due)) from what every
//! instance is running, so it holds across instances. Pure: rows in,
//! decisions out.
//!
//! For an exclusive job (every policy but `allow`) one run at a time:
//! caught-up slots and retries of interrupted runs go first, oldest first,
//! and wait their turn rather than being skipped; a slot that comes while
//! the job is busy meets the policy: `skip` records it skipped, `queue_one`
//! keeps the newest waiting (an older waiting one is skipped), and
//! `cancel_previous` asks the running run to stop and waits for it. A run
//! asked for by hand (`t`, `jobs run`) meets the policy the same way, at
//! once: `skip` refuses it, naming the run that is going. A backfill's runs
//! go after the live schedule and wait their turn, one at a time.

use std::collections::HashMap;

use crate::job::OverlapPolicy;
use crate::store::{ActiveRun, Decisions, JobId, QueuedRun, RunId, Trigger};

/// Why a slot of a paused job does not run.
pub const PAUSED: &str = "the job was paused before this slot ran";
/// Why a slot is skipped under `overlap = skip`.
pub const SKIPPED_BUSY: &str = "the previous run was still running (overlap = skip)";
/// Why a slot is skipped under `overlap = skip` when nothing of its job was
/// running: several of its slots waited in the queue untaken (an instance
/// stopping and another taking over, or one at capacity) and came due
/// together. Saying "still running" there sent people looking for a run
/// that did not exist.
pub const SKIPPED_DUE_TOGETHER: &str = "several slots waited untaken and came due at once \
     (an instance stopping or taking over, or one at capacity): an earlier one ran, \
     this one did not (overlap = skip)";
/// Why a waiting slot is skipped under `overlap = queue_one`.
pub const REPLACED_IN_QUEUE: &str =
    "a newer slot took its place in the queue (overlap = queue_one)";
/// Why an older slot is skipped under `overlap = cancel_previous`.
pub const REPLACED_BEFORE_START: &str =
    "a newer slot replaced it before it started (overlap = cancel_previous)";

/// Decides about `due` rows (oldest first), given the `waiting` rows and
/// `running` runs of the same jobs, starting at most `capacity` runs.
/// `policy` gives each job's overlap policy; rows of a job it does not know
/// are left for an instance that does.
pub fn decide(
    due: &[QueuedRun],
    waiting: &[QueuedRun],
    running: &[ActiveRun],
    capacity: usize,
    policy: &dyn Fn(JobId) -> Option<OverlapPolicy>,
) -> Decisions {
    let mut d = Decisions::default();
    let mut capacity = capacity;
    // Grouped once: a take of 10,000 due rows must not look at every row
    // for every job.
    let mut order = Vec::new();
    let mut rows: HashMap<JobId, Vec<&QueuedRun>> = HashMap::new();
    for r in due {
        rows.entry(r.job_id)
            .or_insert_with(|| {
                order.push(r.job_id);
                Vec::new()
            })
            .push(r);
    }
    for r in waiting {
        if let Some(of_job) = rows.get_mut(&r.job_id) {
            of_job.push(r);
        }
    }
    let mut busy: HashMap<JobId, Vec<RunId>> = HashMap::new();
    for r in running {
        busy.entry(r.job_id).or_default().push(r.id);
    }
    for job in order {
        let Some(overlap) = policy(job) else { continue };
        let Some(mut of_job) = rows.remove(&job) else {
            continue;
        };
        of_job.sort_by_key(|r| (r.scheduled_for, r.id));
        let busy = busy.get(&job).map_or(&[][..], Vec::as_slice);
        decide_job(&mut d, &mut capacity, overlap, of_job, busy);
    }
    d
}

fn decide_job(
    d: &mut Decisions,
    capacity: &mut usize,
    overlap: OverlapPolicy,
    rows: Vec<&QueuedRun>,
    busy: &[RunId],
) {
    // Slots of a paused job do not run (pausing is deliberate); retries and
    // manual runs were asked for and do.
    let (paused, rows): (Vec<&QueuedRun>, Vec<&QueuedRun>) = rows
        .into_iter()
        .partition(|r| r.paused && matches!(r.trigger, Trigger::Schedule | Trigger::CatchUp));
    d.skip
        .extend(paused.iter().map(|r| (r.id, PAUSED.to_string())));
    if overlap == OverlapPolicy::Allow {
        for r in rows {
            start(d, capacity, r.id);
        }
        return;
    }
    let (mut slots, others): (Vec<&QueuedRun>, Vec<&QueuedRun>) = rows
        .into_iter()
        .partition(|r| r.trigger == Trigger::Schedule);
    // A backfill's runs go after everything else, the live schedule first,
    // and never meet the policy: they wait their turn, oldest first.
    let (mut backfills, mut others): (Vec<&QueuedRun>, Vec<&QueuedRun>) = others
        .into_iter()
        .partition(|r| r.trigger == Trigger::Backfill);
    let mut started_slot = false;
    let mut started = None;
    if busy.is_empty() {
        // Caught-up slots and retries were due before any slot now waiting.
        let next = if !others.is_empty() {
            Some(others.remove(0))
        } else if slots.is_empty() {
            (!backfills.is_empty()).then(|| backfills.remove(0))
        } else if overlap == OverlapPolicy::CancelPrevious {
            started_slot = true;
            slots.pop()
        } else {
            started_slot = true;
            Some(slots.remove(0))
        };
        let Some(next) = next else { return };
        if *capacity == 0 {
            // Nothing of the job can start here now: all of it stays as it
            // is, for this instance later or another one.
            d.left += 1;
            return;
        }
        start(d, capacity, next.id);
        started = Some(next.id);
    }
    for r in others {
        // A run asked for by hand meets the policy as it comes, like a
        // slot, so the one who asked hears at once what became of it.
        if r.trigger == Trigger::Manual && !r.waiting {
            match overlap {
                OverlapPolicy::Skip => {
                    let going = busy.first().copied().or(started);
                    d.skip.push((r.id, refused_busy(going)));
                    continue;
                }
                OverlapPolicy::CancelPrevious => d.cancel.extend_from_slice(busy),
                OverlapPolicy::QueueOne | OverlapPolicy::Allow => {}
            }
        }
        d.wait.push(r.id);
    }
    d.wait.extend(backfills.iter().map(|r| r.id));
    match overlap {
        OverlapPolicy::Allow => {}
        OverlapPolicy::Skip => {
            let why = if busy.is_empty() {
                SKIPPED_DUE_TOGETHER
            } else {
                SKIPPED_BUSY
            };
            d.skip.extend(slots.iter().map(|r| (r.id, why.to_string())));
        }
        OverlapPolicy::QueueOne => {
            if let Some(newest) = slots.pop() {
                d.wait.push(newest.id);
            }
            d.skip
                .extend(slots.iter().map(|r| (r.id, REPLACED_IN_QUEUE.to_string())));
        }
        OverlapPolicy::CancelPrevious => {
            // The slot that just started is the newest: the rest are older.
            let newest = if started_slot { None } else { slots.pop() };
            d.skip.extend(
                slots
                    .iter()
                    .map(|r| (r.id, REPLACED_BEFORE_START.to_string())),
            );
            if let Some(newest) = newest {
                d.wait.push(newest.id);
                // Asked once, when the slot first comes; it then waits.
                if !newest.waiting {
                    d.cancel.extend_from_slice(busy);
                }
            }
        }
    }
}

/// Why a run asked for by hand did not start under `overlap = skip`.
pub fn refused_busy(going: Option<RunId>) -> String {
    match going {
        Some(id) => format!("not started: run {id} is still running (overlap = skip)"),
        None => "not started: a run is still running (overlap = skip)".to_string(),
    }
}

fn start(d: &mut Decisions, capacity: &mut usize, id: RunId) {
    if *capacity == 0 {
        d.left += 1;
    } else {
        *capacity -= 1;
        d.start.push(id);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone as _, Utc};

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::seconds(secs)
    }

    fn row(id: RunId, job: JobId, secs: i64, trigger: Trigger) -> QueuedRun {
        QueuedRun {
            id,
            job_id: job,
            trigger,
            scheduled_for: t(secs),
            slot: (trigger == Trigger::Schedule || trigger == Trigger::CatchUp).then(|| t(secs)),
            attempt: 0,
            retry_of: None,
            waiting: false,
            paused: false,
        }
    }

    fn slot(id: RunId, job: JobId, secs: i64) -> QueuedRun {
        row(id, job, secs, Trigger::Schedule)
    }

    fn waiting(mut r: QueuedRun) -> QueuedRun {
        r.waiting = true;
        r
    }

    fn active(id: RunId, job: JobId) -> ActiveRun {
        ActiveRun {
            id,
            job_id: job,
            instance_id: Some("other".into()),
        }
    }

    fn all(policy: OverlapPolicy) -> impl Fn(JobId) -> Option<OverlapPolicy> {
        move |_| Some(policy)
    }

    fn skipped(d: &Decisions) -> Vec<RunId> {
        d.skip.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn an_idle_job_starts_its_slot() {
        let d = decide(&[slot(1, 7, 0)], &[], &[], 4, &all(OverlapPolicy::Skip));
        assert_eq!(d.start, [1]);
        assert!(d.skip.is_empty() && d.wait.is_empty() && d.cancel.is_empty());
    }

    #[test]
    fn skip_records_a_slot_that_meets_a_run_on_any_instance() {
        let d = decide(
            &[slot(2, 7, 1)],
            &[],
            &[active(1, 7)],
            4,
            &all(OverlapPolicy::Skip),
        );
        assert!(d.start.is_empty());
        assert_eq!(d.skip, [(2, SKIPPED_BUSY.to_string())]);
        // Two slots due at once (the instance was full): the older runs.
        let d = decide(
            &[slot(2, 7, 1), slot(3, 7, 2)],
            &[],
            &[],
            4,
            &all(OverlapPolicy::Skip),
        );
        assert_eq!((d.start.clone(), skipped(&d)), (vec![2], vec![3]));
    }

    /// After a handover (SIGTERM to one instance, another taking over) the
    /// every-second slots announced by the stopped instance wait untaken
    /// for a second or two; the new holder's first take finds them due
    /// together with nothing of the job running. The ones not run were not
    /// skipped because a previous run was still going, and must not say so.
    #[test]
    fn slots_piled_up_untaken_are_not_blamed_on_a_running_run() {
        let piled = [slot(2, 7, 1), slot(3, 7, 2), slot(4, 7, 3)];
        let d = decide(&piled, &[], &[], 4, &all(OverlapPolicy::Skip));
        assert_eq!(d.start, [2]);
        assert_eq!(
            d.skip,
            [
                (3, SKIPPED_DUE_TOGETHER.to_string()),
                (4, SKIPPED_DUE_TOGETHER.to_string())
            ]
        );
        // With a run of the job really going (on any instance), it is that.
        let d = decide(&piled, &[], &[active(1, 7)], 4, &all(OverlapPolicy::Skip));
        assert!(d.start.is_empty());
        assert!(d.skip.iter().all(|(_, why)| why == SKIPPED_BUSY), "{d:?}");
        // A retry of an interrupted run (a kill -9 before the handover) goes
        // first; the slots due with it were still not behind a running run.
        let d = decide(
            &[row(1, 7, 0, Trigger::Retry), slot(2, 7, 1)],
            &[],
            &[],
            4,
            &all(OverlapPolicy::Skip),
        );
        assert_eq!(d.start, [1]);
        assert_eq!(d.skip, [(2, SKIPPED_DUE_TOGETHER.to_string())]);
    }

    #[test]
    fn queue_one_keeps_the_newest_waiting_and_skips_the_one_it_replaces() {
        let policy = all(OverlapPolicy::QueueOne);
        let d = decide(&[slot(2, 7, 1)], &[], &[active(1, 7)], 4, &policy);
        assert_eq!(d.wait, [2]);
        assert!(d.skip.is_empty());
        let d = decide(
            &[slot(3, 7, 2)],
            &[waiting(slot(2, 7, 1))],
            &[active(1, 7)],
            4,
            &policy,
        );
        assert_eq!(d.wait, [3]);
        assert_eq!(d.skip, [(2, REPLACED_IN_QUEUE.to_string())]);
        // The run ended and woke the waiting slot: it starts.
        let d = decide(&[slot(3, 7, 2)], &[], &[], 4, &policy);
        assert_eq!(d.start, [3]);
    }

    #[test]
    fn cancel_previous_asks_the_running_run_to_stop_once_and_waits() {
        let policy = all(OverlapPolicy::CancelPrevious);
        let d = decide(&[slot(2, 7, 1)], &[], &[active(1, 7)], 4, &policy);
        assert_eq!((d.wait.clone(), d.cancel.clone()), (vec![2], vec![1]));
        // Seen again while it still waits: not asked again.
        let d = decide(
            &[slot(3, 9, 1)],
            &[waiting(slot(2, 7, 1))],
            &[active(1, 7)],
            4,
            &policy,
        );
        assert!(d.cancel.is_empty());
        // Several slots due at once and nothing running: the newest runs.
        let d = decide(&[slot(2, 7, 1), slot(3, 7, 2)], &[], &[], 4, &policy);
        assert_eq!((d.start.clone(), skipped(&d)), (vec![3], vec![2]));
        assert!(d.wait.is_empty());
    }

    #[test]
    fn caught_up_slots_and_retries_run_one_at_a_time_oldest_first() {
        let policy = all(OverlapPolicy::Skip);
        let due = [
            row(1, 7, 0, Trigger::CatchUp),
            row(2, 7, 1, Trigger::CatchUp),
            row(3, 7, 2, Trigger::Retry),
            slot(4, 7, 3),
        ];
        let d = decide(&due, &[], &[], 4, &policy);
        assert_eq!(d.start, [1]);
        assert_eq!(d.wait, [2, 3]);
        // The slot that comes meanwhile meets the policy.
        assert_eq!(skipped(&d), [4]);
    }

    #[test]
    fn a_run_asked_for_by_hand_meets_the_overlap_policy() {
        let manual = |id| row(id, 7, 5, Trigger::Manual);
        let busy = [active(1, 7)];
        // skip: refused at once, naming the run that is going.
        let d = decide(&[manual(2)], &[], &busy, 4, &all(OverlapPolicy::Skip));
        assert_eq!(d.skip, [(2, refused_busy(Some(1)))]);
        assert!(d.start.is_empty() && d.wait.is_empty() && d.cancel.is_empty());
        // queue_one: waits for the running run.
        let d = decide(&[manual(2)], &[], &busy, 4, &all(OverlapPolicy::QueueOne));
        assert_eq!(d.wait, [2]);
        assert!(d.skip.is_empty() && d.cancel.is_empty());
        // cancel_previous: the running run is asked to stop; this one waits.
        let d = decide(
            &[manual(2)],
            &[],
            &busy,
            4,
            &all(OverlapPolicy::CancelPrevious),
        );
        assert_eq!((d.wait.clone(), d.cancel.clone()), (vec![2], vec![1]));
        // allow: starts beside it.
        let d = decide(&[manual(2)], &[], &busy, 4, &all(OverlapPolicy::Allow));
        assert_eq!(d.start, [2]);
        // An idle job starts it under every policy; a slot due with it then
        // meets the policy against it.
        for policy in [
            OverlapPolicy::Skip,
            OverlapPolicy::QueueOne,
            OverlapPolicy::CancelPrevious,
            OverlapPolicy::Allow,
        ] {
            let d = decide(&[manual(2)], &[], &[], 4, &all(policy));
            assert_eq!(d.start, [2], "{policy:?}");
        }
        let d = decide(
            &[slot(3, 7, 4), manual(2)],
            &[],
            &[],
            4,
            &all(OverlapPolicy::Skip),
        );
        assert_eq!((d.start.clone(), skipped(&d)), (vec![2], vec![3]));
        // Two asked for at once under skip: the first starts, the second is
        // refused naming it.
        let d = decide(
            &[manual(2), manual(3)],
            &[],
            &[],
            4,
            &all(OverlapPolicy::Skip),
        );
        assert_eq!(d.start, [2]);
        assert_eq!(d.skip, [(3, refused_busy(Some(2)))]);
    }

    #[test]
    fn backfills_go_after_the_live_schedule_one_at_a_time_and_are_never_skipped() {
        let backfill = |id, secs| row(id, 7, secs, Trigger::Backfill);
        for policy in [
            OverlapPolicy::Skip,
            OverlapPolicy::QueueOne,
            OverlapPolicy::CancelPrevious,
        ] {
            // Idle: the oldest starts, the rest wait.
            let d = decide(
                &[backfill(1, -90), backfill(2, -80)],
                &[],
                &[],
                4,
                &all(policy),
            );
            assert_eq!(
                (d.start.clone(), d.wait.clone()),
                (vec![1], vec![2]),
                "{policy:?}"
            );
            // A live slot due with them goes first; they wait, not skipped.
            let d = decide(
                &[backfill(1, -90), backfill(2, -80), slot(3, 7, 0)],
                &[],
                &[],
                4,
                &all(policy),
            );
            assert_eq!(d.start, [3], "{policy:?}");
            assert_eq!(d.wait, [1, 2], "{policy:?}");
            assert!(d.skip.is_empty() && d.cancel.is_empty(), "{policy:?}");
            // Busy: they wait and ask nobody to stop.
            let d = decide(&[backfill(1, -90)], &[], &[active(9, 7)], 4, &all(policy));
            assert_eq!(d.wait, [1], "{policy:?}");
            assert!(d.skip.is_empty() && d.cancel.is_empty(), "{policy:?}");
        }
        // allow: as many as capacity permits.
        let d = decide(
            &[backfill(1, -90), backfill(2, -80), backfill(3, -70)],
            &[],
            &[],
            2,
            &all(OverlapPolicy::Allow),
        );
        assert_eq!((d.start.clone(), d.left), (vec![1, 2], 1));
    }

    #[test]
    fn allow_starts_everything_capacity_permits() {
        let due = [slot(1, 7, 0), slot(2, 7, 1), slot(3, 8, 1)];
        let d = decide(&due, &[], &[active(9, 7)], 2, &all(OverlapPolicy::Allow));
        assert_eq!(d.start, [1, 2]);
        assert_eq!(d.left, 1);
    }

    #[test]
    fn without_capacity_a_job_stays_as_it_is_but_overlap_is_still_settled() {
        let policy = all(OverlapPolicy::Skip);
        let d = decide(
            &[slot(1, 7, 0), slot(2, 8, 0)],
            &[],
            &[active(5, 8)],
            0,
            &policy,
        );
        assert!(d.start.is_empty());
        assert_eq!(d.left, 1);
        assert_eq!(skipped(&d), [2], "job 8 is busy: its slot is skipped");
    }

    #[test]
    fn slots_of_a_paused_job_are_skipped_but_retries_still_run() {
        let mut s = slot(1, 7, 0);
        s.paused = true;
        let mut r = row(2, 7, 0, Trigger::Retry);
        r.paused = true;
        let d = decide(&[s, r], &[], &[], 4, &all(OverlapPolicy::Skip));
        assert_eq!(d.skip, [(1, PAUSED.to_string())]);
        assert_eq!(d.start, [2]);
    }

    #[test]
    fn rows_of_jobs_this_instance_does_not_know_are_left_alone() {
        let d = decide(&[slot(1, 7, 0), slot(2, 8, 0)], &[], &[], 4, &|job| {
            (job == 8).then_some(OverlapPolicy::Skip)
        });
        assert_eq!(d.start, [2]);
        assert_eq!(d.left, 0);
    }
}
