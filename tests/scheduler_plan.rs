//! The planner in virtual time: catch-up after days of downtime, every
//! overlap policy against a slow run, pause and resume. Pure: no store, no
//! clock, so days pass in microseconds.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use cronport::job::{Job, JobSpec, Known};
use cronport::scheduler::plan::{Effect, Planner, Skipped};
use cronport::store::Trigger;

fn job(body: &str) -> Arc<Job> {
    let text = format!(
        "name = \"j\"\nsource = {{ kind = \"command\", argv = [\"true\"] }}\nformat = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n{body}"
    );
    let spec: JobSpec = toml::from_str(&text).unwrap();
    let known = Known {
        destinations: ["out".to_string()].into(),
        ..Known::default()
    };
    Arc::new(spec.validate(&known).unwrap())
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn starts(effects: &[Effect]) -> Vec<(DateTime<Utc>, Trigger)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Start { slot, trigger, .. } => Some((*slot, *trigger)),
            _ => None,
        })
        .collect()
}

fn skips(effects: &[Effect]) -> Vec<Skipped> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Skip { slots, .. } => Some(slots.clone()),
            _ => None,
        })
        .collect()
}

/// Down for three days after the slot at `t0`; back at t0 + 72h + 10m.
fn three_days_down(policy: &str) -> (Planner, Vec<Effect>, DateTime<Utc>) {
    let t0 = utc(2026, 3, 6, 12, 0);
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job(&format!(
            "schedule = \"0 * * * *\"\ncatch_up = \"{policy}\""
        )),
        false,
        t0,
    );
    let now = t0 + Duration::hours(72) + Duration::minutes(10);
    let effects = planner.due(now);
    (planner, effects, t0)
}

#[test]
fn catch_up_skip_records_every_missed_slot_as_one_entry() {
    let (mut planner, effects, t0) = three_days_down("skip");
    assert!(starts(&effects).is_empty());
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].count, 72);
    assert_eq!(skipped[0].first, t0 + Duration::hours(1));
    assert_eq!(skipped[0].last, t0 + Duration::hours(72));
    assert!(
        skipped[0].reason.contains("missed 72 slots"),
        "{}",
        skipped[0].reason
    );
    assert!(skipped[0].reason.contains("catch_up = skip"));
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::hours(73)));
}

#[test]
fn catch_up_latest_runs_the_newest_and_records_the_rest() {
    let (mut planner, effects, t0) = three_days_down("latest");
    assert_eq!(
        starts(&effects),
        vec![(t0 + Duration::hours(72), Trigger::CatchUp)]
    );
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].count, 71);
    assert_eq!(skipped[0].first, t0 + Duration::hours(1));
    assert_eq!(skipped[0].last, t0 + Duration::hours(71));
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::hours(73)));
}

#[test]
fn catch_up_all_runs_each_slot_in_the_window_oldest_first() {
    let (mut planner, effects, t0) = three_days_down("all");
    // The default window is 24h: slots older than now - 24h are skipped.
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].count, 48);
    assert_eq!(skipped[0].last, t0 + Duration::hours(48));
    let mut ran = starts(&effects);
    assert_eq!(ran, vec![(t0 + Duration::hours(49), Trigger::CatchUp)]);
    // One at a time: the next starts when the previous ends.
    loop {
        let next = starts(&planner.run_ended(1));
        if next.is_empty() {
            break;
        }
        ran.extend(next);
    }
    let expected: Vec<_> = (49..=72)
        .map(|h| (t0 + Duration::hours(h), Trigger::CatchUp))
        .collect();
    assert_eq!(ran, expected);
}

#[test]
fn catch_up_window_limits_what_counts() {
    let t0 = utc(2026, 3, 6, 12, 0);
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job("schedule = \"0 * * * *\"\ncatch_up = \"all\"\ncatch_up_window = \"3h\""),
        false,
        t0,
    );
    let effects = planner.due(t0 + Duration::hours(72) + Duration::minutes(10));
    assert_eq!(skips(&effects)[0].count, 69);
    let mut ran = starts(&effects);
    ran.extend(starts(&planner.run_ended(1)));
    ran.extend(starts(&planner.run_ended(1)));
    assert!(starts(&planner.run_ended(1)).is_empty());
    assert_eq!(
        ran.iter().map(|r| r.0).collect::<Vec<_>>(),
        (70..=72)
            .map(|h| t0 + Duration::hours(h))
            .collect::<Vec<_>>()
    );
}

#[test]
fn catch_up_across_a_dst_change_counts_real_slots() {
    // Daily at 02:30 New York, down from Mar 6 to Mar 10: the Mar 8 slot
    // falls in the spring-forward gap and runs at 03:00 EDT, still one slot.
    let tz = chrono_tz::America::New_York;
    let last = tz
        .with_ymd_and_hms(2026, 3, 6, 2, 30, 0)
        .unwrap()
        .with_timezone(&Utc);
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job("schedule = \"daily at 02:30\"\ntimezone = \"America/New_York\"\ncatch_up = \"skip\""),
        false,
        last,
    );
    let now = tz
        .with_ymd_and_hms(2026, 3, 10, 12, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let skipped = skips(&planner.due(now));
    assert_eq!(skipped[0].count, 4);
    assert_eq!(skipped[0].first, utc(2026, 3, 7, 7, 30));
    assert_eq!(skipped[0].last, utc(2026, 3, 10, 6, 30));
}

#[test]
fn slots_a_little_late_run_as_scheduled() {
    let t0 = utc(2026, 3, 6, 12, 0);
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job("schedule = \"0 * * * *\"\ncatch_up = \"skip\""),
        false,
        t0,
    );
    let effects = planner.due(t0 + Duration::hours(1) + Duration::seconds(3));
    assert_eq!(
        starts(&effects),
        vec![(t0 + Duration::hours(1), Trigger::Schedule)]
    );
    assert!(skips(&effects).is_empty());
}

/// A slow job: every minute, the first run still going when the next slots come.
fn slow(policy: &str) -> (Planner, DateTime<Utc>) {
    let t0 = utc(2026, 11, 1, 5, 0);
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job(&format!("schedule = \"* * * * *\"\noverlap = \"{policy}\"")),
        false,
        t0,
    );
    let first = planner.due(t0 + Duration::minutes(1));
    assert_eq!(
        starts(&first),
        vec![(t0 + Duration::minutes(1), Trigger::Schedule)]
    );
    (planner, t0)
}

#[test]
fn overlap_skip_records_the_slot() {
    let (mut planner, t0) = slow("skip");
    let effects = planner.due(t0 + Duration::minutes(2));
    assert!(starts(&effects).is_empty());
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].first, t0 + Duration::minutes(2));
    assert!(skipped[0].reason.contains("overlap = skip"));
    // Once the run ends nothing is owed.
    assert!(planner.run_ended(1).is_empty());
    assert_eq!(
        starts(&planner.due(t0 + Duration::minutes(3))),
        vec![(t0 + Duration::minutes(3), Trigger::Schedule)]
    );
}

#[test]
fn overlap_queue_one_keeps_only_the_newest() {
    let (mut planner, t0) = slow("queue_one");
    assert!(planner.due(t0 + Duration::minutes(2)).is_empty());
    let effects = planner.due(t0 + Duration::minutes(3));
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].first, t0 + Duration::minutes(2));
    assert!(skipped[0].reason.contains("queue_one"));
    assert_eq!(
        starts(&planner.run_ended(1)),
        vec![(t0 + Duration::minutes(3), Trigger::Schedule)]
    );
    assert!(planner.run_ended(1).is_empty());
}

#[test]
fn overlap_allow_starts_alongside() {
    let (mut planner, t0) = slow("allow");
    assert_eq!(
        starts(&planner.due(t0 + Duration::minutes(2))),
        vec![(t0 + Duration::minutes(2), Trigger::Schedule)]
    );
    assert_eq!(
        starts(&planner.due(t0 + Duration::minutes(3))),
        vec![(t0 + Duration::minutes(3), Trigger::Schedule)]
    );
}

#[test]
fn overlap_cancel_previous_cancels_then_starts() {
    let (mut planner, t0) = slow("cancel_previous");
    let effects = planner.due(t0 + Duration::minutes(2));
    assert_eq!(
        effects,
        vec![
            Effect::CancelRunning { job: 1 },
            Effect::Start {
                job: 1,
                slot: t0 + Duration::minutes(2),
                trigger: Trigger::Schedule
            }
        ]
    );
}

#[test]
fn paused_jobs_do_not_fire_and_resume_from_now() {
    let t0 = utc(2026, 3, 6, 12, 0);
    let mut planner = Planner::new();
    planner.set_job(1, job("schedule = \"0 * * * *\""), true, t0);
    assert!(planner.due(t0 + Duration::hours(5)).is_empty());
    // Resuming does not catch up what passed while paused.
    planner.set_paused(1, false, t0 + Duration::hours(5) + Duration::minutes(1));
    assert!(
        planner
            .due(t0 + Duration::hours(5) + Duration::minutes(30))
            .is_empty()
    );
    assert_eq!(
        starts(&planner.due(t0 + Duration::hours(6))),
        vec![(t0 + Duration::hours(6), Trigger::Schedule)]
    );
    planner.set_paused(1, true, t0 + Duration::hours(6));
    planner.run_ended(1);
    assert!(planner.due(t0 + Duration::hours(9)).is_empty());
}

#[test]
fn the_timeline_orders_many_jobs_and_wakes_for_the_earliest() {
    let t0 = utc(2026, 3, 6, 12, 0);
    let mut planner = Planner::new();
    planner.set_job(1, job("schedule = \"0 * * * *\""), false, t0);
    planner.set_job(2, job("schedule = \"*/15 * * * *\""), false, t0);
    planner.set_job(
        3,
        job("schedule = \"daily at 13:05\"\ntimezone = \"UTC\""),
        false,
        t0,
    );
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::minutes(15)));
    assert_eq!(
        starts(&planner.due(t0 + Duration::minutes(15))),
        vec![(t0 + Duration::minutes(15), Trigger::Schedule)]
    );
    planner.run_ended(2);
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::minutes(30)));
    // Replacing a job drops its old timeline entries; removing one drops all.
    planner.set_job(
        2,
        job("schedule = \"daily at 18:00\"\ntimezone = \"UTC\""),
        false,
        t0,
    );
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::hours(1)));
    planner.remove_job(1);
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::minutes(65)));
    planner.remove_job(3);
    assert_eq!(planner.next_deadline(), Some(utc(2026, 3, 6, 18, 0)));
}
