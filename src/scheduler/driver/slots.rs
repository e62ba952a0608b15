//! Slots: claiming them (on time or ahead), and the entries for skipped ones.

use super::*;
use crate::job::OverlapPolicy;

impl Driver {
    pub(super) async fn carry_out(&mut self, effects: Vec<Effect>, now: DateTime<Utc>) {
        let mut claims = Vec::new();
        let mut ahead = Vec::new();
        let mut skips = Vec::new();
        let mut release = Vec::new();
        let mut finish = Vec::new();
        for effect in effects {
            match effect {
                Effect::Start { job, slot, trigger } => {
                    match self.reservations.start(job, slot, trigger) {
                        OnStart::Run(run_id) => self.spawn_run(run_id, job, trigger, slot, 1),
                        OnStart::Wait => {}
                        OnStart::Claim => claims.push((job, slot, trigger)),
                    }
                }
                Effect::Reserve { job, slot } => {
                    if self.reservations.add(job, slot) {
                        ahead.push((job, slot, Trigger::Schedule));
                    }
                }
                Effect::Skip { job, slots } => {
                    let (held, entry) =
                        self.reservations
                            .skip(job, slots.first, slots.last, &slots.reason);
                    release.extend(held);
                    if let Some(run) = self.skip_entry(job, slots, now) {
                        match entry {
                            SkipEntry::Record => skips.push(run),
                            SkipEntry::Finish(run_id) => {
                                finish.push(skipped(run_id, run.error, now));
                            }
                            SkipEntry::Later => {}
                        }
                    }
                }
                Effect::CancelRunning { job } => {
                    for (run_job, control) in self.running.values() {
                        if *run_job == job {
                            control.cancel(CancelReason::Replaced);
                        }
                    }
                }
            }
        }
        // In this order: a slot given back is free for a claim after it.
        self.shared.recorder.release(release);
        self.shared.recorder.record(skips);
        self.claim(claims, now, false);
        self.claim(ahead, now, true);
        for write in finish {
            let _ = self.shared.recorder.send(Request::Write(write)).await;
        }
    }

    /// All the slots of one turn are claimed as one batch; the answer comes
    /// back as an [`Internal::Claimed`] (or, for slots claimed `ahead` of
    /// their time, [`Internal::Reserved`]) so the loop never waits on the
    /// store here. (A task and a message per slot cost more than the claim
    /// itself at 10,000 slots a second.)
    pub(super) fn claim(
        &mut self,
        slots: Vec<(JobId, DateTime<Utc>, Trigger)>,
        now: DateTime<Utc>,
        ahead: bool,
    ) {
        if slots.is_empty() {
            return;
        }
        let runs = slots
            .iter()
            .map(|&(job_id, slot, trigger)| NewRun {
                job_id,
                trigger,
                status: RunStatus::Queued,
                slot: Some(slot),
                scheduled_for: slot,
                queued_at: now,
                attempt: 0,
                instance_id: Some(self.me.id.clone()),
                retry_of: None,
                error: None,
                exclusive: self
                    .planner
                    .job(job_id)
                    .is_some_and(|job| job.policy.overlap != OverlapPolicy::Allow),
            })
            .collect();
        let internal = self.shared.internal.clone();
        self.claims_in_flight += 1;
        self.shared
            .recorder
            .claim(runs, move |result: ClaimResult| {
                let message = if ahead {
                    let slots = slots
                        .into_iter()
                        .map(|(job, slot, _)| (job, slot))
                        .collect();
                    Internal::Reserved { slots, result }
                } else {
                    Internal::Claimed { slots, result }
                };
                let _ = internal.send(message);
            });
    }

    /// The entry recording skipped slots, announced as it is made.
    pub(super) fn skip_entry(
        &self,
        job_id: JobId,
        slots: Skipped,
        now: DateTime<Utc>,
    ) -> Option<NewRun> {
        let Known { name, .. } = self.jobs.get(&job_id)?;
        tracing::info!("{name}: skipped {} slot(s): {}", slots.count, slots.reason);
        self.publish(Event::SlotsSkipped {
            job: name.clone(),
            count: slots.count,
            reason: slots.reason.clone(),
        });
        Some(self.skipped_run(job_id, slots.last, slots.reason, now))
    }

    /// A skipped entry for `slot`.
    pub(super) fn skipped_run(
        &self,
        job_id: JobId,
        slot: DateTime<Utc>,
        reason: String,
        now: DateTime<Utc>,
    ) -> NewRun {
        NewRun {
            job_id,
            trigger: Trigger::Schedule,
            status: RunStatus::Skipped,
            slot: Some(slot),
            scheduled_for: slot,
            queued_at: now,
            attempt: 0,
            instance_id: Some(self.me.id.clone()),
            retry_of: None,
            error: Some(reason),
            exclusive: false,
        }
    }

    /// The answers to slots claimed ahead of their time.
    pub(super) async fn reserved(
        &mut self,
        slots: Vec<(JobId, DateTime<Utc>)>,
        result: ClaimResult,
    ) {
        let claimed: Vec<Claimed> = match result {
            Ok(ids) => ids
                .into_iter()
                .map(|id| id.map_or(Claimed::Lost, Claimed::Won))
                .collect(),
            Err(e) => {
                tracing::warn!(
                    "could not claim {} slot(s) ahead of time, claiming them when due: {e}",
                    slots.len()
                );
                vec![Claimed::Failed; slots.len()]
            }
        };
        let now = self.shared.clock.now();
        let mut claims = Vec::new();
        let mut release = Vec::new();
        let mut skips = Vec::new();
        let mut finish = Vec::new();
        for ((job, slot), claimed) in slots.into_iter().zip(claimed) {
            match self.reservations.answered(job, slot, claimed) {
                Answered::Nothing => {}
                Answered::Release(run_id) => release.push(run_id),
                Answered::Run(run_id, trigger) => self.spawn_run(run_id, job, trigger, slot, 1),
                Answered::Claim(trigger) => claims.push((job, slot, trigger)),
                Answered::FinishSkipped(run_id, reason) => {
                    finish.push(skipped(run_id, Some(reason), now));
                }
                Answered::RecordSkipped(reason) => {
                    skips.push(self.skipped_run(job, slot, reason, now));
                }
            }
        }
        self.shared.recorder.release(release);
        self.shared.recorder.record(skips);
        self.claim(claims, now, false);
        for write in finish {
            let _ = self.shared.recorder.send(Request::Write(write)).await;
        }
    }
}

/// Finishes a run that was claimed and never started as the entry for a
/// skipped slot.
fn skipped(run_id: RunId, reason: Option<String>, now: DateTime<Utc>) -> RunWrite {
    RunWrite::Finished {
        run_id,
        attempt: 0,
        status: RunStatus::Skipped,
        at: now,
        rows: None,
        bytes: None,
        outputs: Vec::new(),
        error: reason,
    }
}
