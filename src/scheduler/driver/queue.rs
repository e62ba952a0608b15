//! Slots and the run queue: putting announced slots in the store, recording
//! missed ones, and deciding when to look at the queue for runs to take.
//!
//! Every instance puts every slot in the queue (it is one row whatever
//! happens), a moment before it is due. It looks at the queue when its own
//! share's slots come due, a moment later for other shares' slots (their
//! instance may be busy or gone), when runs end and leave room or wake
//! waiting runs, and once a second whatever happens, for runs put there by
//! others (retries of a dead instance's runs, say).

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::store::{MissedSlots, NewPlan, Partition, Taken};

/// How long before its time a slot is put in the queue: long enough for the
/// store to take a busy second's slots, short enough that few are put there
/// for jobs paused or edited in between (those are skipped when taken).
pub(super) const ENQUEUE_AHEAD: Duration = Duration::from_secs(1);

/// How long another share's due slot waits for its own instance before this
/// one takes it: that instance is busy or gone. Short, so a dead instance's
/// share moves at once, not after its heartbeat goes stale; long enough
/// that live instances take their own share first.
pub(super) const STEAL_AFTER: Duration = Duration::from_millis(250);

/// How soon to look again at jobs a look left undecided.
const UNSETTLED_AGAIN: Duration = Duration::from_millis(50);

/// How often the queue is looked at when nothing else says to.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// When to look at the run queue, and the state of the look in flight.
pub(super) struct QueueState {
    /// This instance's share.
    pub(super) partition: Partition,
    /// Moments at which slots come due for this instance.
    wakes: BTreeSet<DateTime<Utc>>,
    /// The next look whatever happens.
    pub(super) next_look: DateTime<Utc>,
    /// A look has been asked for.
    pub(super) wanted: bool,
    /// A take is on its way to the store.
    pub(super) in_flight: bool,
    /// The last take left due runs for lack of capacity.
    pub(super) more: bool,
}

impl QueueState {
    pub(super) fn new(partition: Partition, now: DateTime<Utc>) -> QueueState {
        QueueState {
            partition,
            wakes: BTreeSet::new(),
            next_look: now,
            wanted: true,
            in_flight: false,
            more: false,
        }
    }

    /// The slot of `job` at `slot` is in the queue: look when it is due, or
    /// a moment later if it is another share's.
    fn slot_due(&mut self, job: JobId, slot: DateTime<Utc>) {
        let at = if self.partition.owns(job) {
            slot
        } else {
            slot + chrono::Duration::from_std(STEAL_AFTER).unwrap_or_default()
        };
        self.wakes.insert(at);
    }

    /// When the loop must wake for the queue.
    pub(super) fn next_wake(&self) -> Option<DateTime<Utc>> {
        if self.in_flight {
            // The answer wakes the loop.
            return None;
        }
        let first = self.wakes.first().copied();
        Some(first.map_or(self.next_look, |w| w.min(self.next_look)))
    }

    /// Whether it is time to look at `now`: a slot came due, the periodic
    /// look is due, or something asked.
    fn time_to_look(&mut self, now: DateTime<Utc>) -> bool {
        while self.wakes.first().is_some_and(|w| *w <= now) {
            self.wakes.pop_first();
            self.wanted = true;
        }
        if now >= self.next_look {
            self.wanted = true;
        }
        self.wanted && !self.in_flight
    }
}

impl Driver {
    /// Puts announced slots in the queue and records missed ones.
    pub(super) fn carry_out(&mut self, effects: Vec<Effect>, now: DateTime<Utc>) {
        let mut enqueue = Vec::new();
        let mut missed = Vec::new();
        let mut asked = Vec::new();
        for effect in effects {
            match effect {
                Effect::Enqueue {
                    job,
                    slot,
                    at,
                    trigger,
                } => {
                    // Due at `at` (jitter, a deferral or a move may put it
                    // after its slot); the slot stays the run's identity.
                    self.queue.slot_due(job, at);
                    enqueue.push(NewRun {
                        job_id: job,
                        trigger,
                        status: RunStatus::Queued,
                        slot: Some(slot),
                        scheduled_for: at,
                        queued_at: now,
                        attempt: 0,
                        instance_id: None,
                        retry_of: None,
                        error: None,
                    });
                }
                Effect::Ask { job, slots } => {
                    let Some(Known { name, .. }) = self.jobs.get(&job) else {
                        continue;
                    };
                    asked.push(recorder::AskPlan {
                        job: name.clone(),
                        plan: NewPlan {
                            job_id: job,
                            slots,
                            created_at: now,
                            instance_id: self.me.id.clone(),
                        },
                    });
                }
                Effect::Skip { job, slots } => {
                    let Some(Known { name, .. }) = self.jobs.get(&job) else {
                        continue;
                    };
                    tracing::info!("{name}: skipped {} slot(s): {}", slots.count, slots.reason);
                    self.publish(Event::SlotsSkipped {
                        job: name.clone(),
                        count: slots.count,
                        reason: slots.reason.clone(),
                    });
                    missed.push(MissedSlots {
                        job_id: job,
                        first: slots.first,
                        last: slots.last,
                        reason: slots.reason,
                        at: now,
                        instance_id: self.me.id.clone(),
                    });
                }
            }
        }
        // In this order: a span skipped is recorded before a later slot of
        // the same job is put in the queue.
        self.shared.recorder.missed(missed);
        self.shared.recorder.ask(asked);
        self.shared.recorder.enqueue(enqueue);
    }

    /// Looks at the queue if it is time: takes as many due runs as this
    /// instance has room to start (at least a look, to settle overlap, when
    /// a slot came due with no room).
    pub(super) fn look_at_queue(&mut self, now: DateTime<Utc>) {
        if !self.queue.time_to_look(now) {
            return;
        }
        self.queue.wanted = false;
        self.queue.in_flight = true;
        self.queue.next_look = now + chrono::Duration::from_std(LOOK_EVERY).unwrap_or_default();
        let free = u32::try_from(self.shared.permits.available_permits()).unwrap_or(u32::MAX);
        let permits = match free {
            0 => None,
            n => self.shared.permits.clone().try_acquire_many_owned(n).ok(),
        };
        let take = recorder::Take {
            instance_id: self.me.id.clone(),
            now,
            partition: self.queue.partition,
            steal_before: now - chrono::Duration::from_std(STEAL_AFTER).unwrap_or_default(),
            rules: self.rules.clone(),
            permits,
        };
        self.shared.recorder.take(take, &self.shared.internal);
    }

    /// The answer to a take: start what was taken, each with its share of
    /// the capacity reserved for the take; say what was skipped; stop the
    /// runs here that a newer slot replaces.
    pub(super) fn taken(
        &mut self,
        result: Result<Taken, String>,
        mut permits: Option<OwnedSemaphorePermit>,
    ) {
        self.queue.in_flight = false;
        let taken = match result {
            Ok(taken) => taken,
            Err(e) => {
                tracing::error!("taking due runs from the queue failed: {e}");
                self.queue.more = true;
                return;
            }
        };
        for run in taken.started {
            let permit = permits.as_mut().and_then(|p| p.split(1));
            let first_attempt = u32::try_from(run.attempt.max(0)).unwrap_or(0) + 1;
            self.spawn_run(
                run.id,
                run.job_id,
                run.trigger,
                // The run stands for its slot (its data window ends there)
                // even when jitter or a deferral made it due later.
                run.slot.unwrap_or(run.scheduled_for),
                first_attempt,
                permit,
                true,
                run.retry_of,
            );
        }
        drop(permits);
        for (run, reason) in taken.skipped {
            let Some(Known { name, .. }) = self.jobs.get(&run.job_id) else {
                continue;
            };
            tracing::info!(
                "{name}: skipped the slot of {}: {reason}",
                run.scheduled_for.to_rfc3339()
            );
            self.publish(Event::SlotsSkipped {
                job: name.clone(),
                count: 1,
                reason,
            });
        }
        for run in taken.cancelled {
            if run.instance_id.as_deref() == Some(self.me.id.as_str())
                && let Some((_, control)) = self.running.get(&run.id)
            {
                control.cancel(CancelReason::Replaced);
            }
        }
        self.queue.more = taken.more;
        if taken.more && self.shared.permits.available_permits() > 0 {
            self.queue.wanted = true;
        }
        if taken.unsettled {
            // A run of some due job was ending as this look ran: its end
            // commits within moments.
            let soon = self.shared.clock.now()
                + chrono::Duration::from_std(UNSETTLED_AGAIN).unwrap_or_default();
            self.queue.next_look = self.queue.next_look.min(soon);
        }
    }
}
