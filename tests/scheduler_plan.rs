//! The planner in virtual time: catch-up after days of downtime, slots a
//! little late, pause and resume, the timeline of many jobs. Pure: no
//! store, no clock, so days pass in microseconds. (Overlap is settled when
//! runs are taken from the queue: see `scheduler::overlap` and the store's
//! queue tests.)

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
            Effect::Enqueue { slot, trigger, .. } => Some((*slot, *trigger)),
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
    let (_, effects, t0) = three_days_down("all");
    // The default window is 24h: slots older than now - 24h are skipped.
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].count, 48);
    assert_eq!(skipped[0].last, t0 + Duration::hours(48));
    // All of them go in the queue at once, oldest first; taking them runs
    // one at a time (an exclusive job).
    let expected: Vec<_> = (49..=72)
        .map(|h| (t0 + Duration::hours(h), Trigger::CatchUp))
        .collect();
    assert_eq!(starts(&effects), expected);
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
    assert_eq!(
        starts(&effects).iter().map(|r| r.0).collect::<Vec<_>>(),
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
