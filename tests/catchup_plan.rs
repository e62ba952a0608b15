//! `catch_up = "ask"` in the planner: slots missed while down become one
//! plan awaiting approval (none run, none skipped), with the job's rules
//! applied, in real zones. The store side is in the store's own tests and
//! the command line in `catchup.rs`.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use chrono_tz::{America::New_York, Europe::London};
use cronport::job::{Job, JobSpec, Known};
use cronport::scheduler::plan::{Effect, MAX_PLAN_SLOTS, Planner, Skipped};
use cronport::store::{PlanSlot, Trigger};

fn job(body: &str) -> Arc<Job> {
    let text = format!(
        "name = \"j\"\nsource = {{ kind = \"command\", argv = [\"true\"] }}\nformat = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\ncatch_up = \"ask\"\n{body}"
    );
    let spec: JobSpec = toml::from_str(&text).expect("job toml");
    let known = Known {
        destinations: ["out".to_string()].into(),
        ..Known::default()
    };
    Arc::new(spec.validate(&known).expect("valid job"))
}

fn asked(effects: &[Effect]) -> Vec<Vec<PlanSlot>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Ask { slots, .. } => Some(slots.clone()),
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

fn starts(effects: &[Effect]) -> Vec<(DateTime<Utc>, Trigger)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Enqueue { slot, trigger, .. } => Some((*slot, *trigger)),
            _ => None,
        })
        .collect()
}

#[test]
fn missed_slots_in_the_window_become_one_plan_and_the_older_are_skipped() {
    // Hourly in London, down three days from 12:00 on a March Friday.
    let t0 = London
        .with_ymd_and_hms(2026, 3, 6, 12, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc);
    let mut planner = Planner::new();
    planner.set_job(
        7,
        job("schedule = \"0 * * * *\"\ntimezone = \"Europe/London\""),
        false,
        t0,
    );
    let now = t0 + Duration::hours(72) + Duration::minutes(10);
    let effects = planner.due(now);
    // Nothing runs until someone approves.
    assert!(starts(&effects).is_empty(), "{effects:?}");
    let plans = asked(&effects);
    assert_eq!(plans.len(), 1, "{effects:?}");
    let slots: Vec<_> = plans[0].iter().map(|s| s.slot).collect();
    let expected: Vec<_> = (49..=72).map(|h| t0 + Duration::hours(h)).collect();
    assert_eq!(slots, expected);
    assert!(plans[0].iter().all(|s| s.at == s.slot));
    // Older than the 24h window: recorded skipped, as under `all`.
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].count, 48);
    assert_eq!(skipped[0].last, t0 + Duration::hours(48));
    assert!(
        skipped[0].reason.contains("catch_up = ask"),
        "{}",
        skipped[0].reason
    );
    // The plan is not asked again; the next slot runs as scheduled.
    assert_eq!(planner.next_deadline(), Some(t0 + Duration::hours(73)));
    let next = planner.due(t0 + Duration::hours(73));
    assert_eq!(
        starts(&next),
        [(t0 + Duration::hours(73), Trigger::Schedule)]
    );
    assert!(asked(&next).is_empty());
}

#[test]
fn the_plan_leaves_out_what_a_blackout_skips() {
    // Every 30 minutes in New York, a blackout Saturday 00:00-02:00 that
    // skips; down from Friday 22:00 to Saturday 03:10 local.
    let from = New_York
        .with_ymd_and_hms(2026, 12, 4, 22, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc);
    let now = New_York
        .with_ymd_and_hms(2026, 12, 5, 3, 10, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc);
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job(
            "schedule = \"*/30 * * * *\"\ntimezone = \"America/New_York\"\nblackout = [\"sat 00:00-02:00\"]\n",
        ),
        false,
        from,
    );
    let effects = planner.due(now);
    let plans = asked(&effects);
    assert_eq!(plans.len(), 1, "{effects:?}");
    let local: Vec<String> = plans[0]
        .iter()
        .map(|s| {
            s.slot
                .with_timezone(&New_York)
                .format("%a %H:%M")
                .to_string()
        })
        .collect();
    // 22:30, 23:00, 23:30 on Friday; 02:00 to 03:00 on Saturday: the four
    // slots in the blackout are neither asked about nor recorded.
    assert_eq!(
        local,
        [
            "Fri 22:30",
            "Fri 23:00",
            "Fri 23:30",
            "Sat 02:00",
            "Sat 02:30",
            "Sat 03:00"
        ]
    );
    assert!(skips(&effects).is_empty(), "{effects:?}");
    assert!(starts(&effects).is_empty());
}

#[test]
fn each_planned_slot_keeps_when_its_jitter_made_it_due() {
    let t0 = London
        .with_ymd_and_hms(2026, 10, 24, 12, 0, 0)
        .single()
        .expect("time")
        .with_timezone(&Utc);
    let job = job("schedule = \"0 * * * *\"\ntimezone = \"Europe/London\"\njitter = \"10m\"");
    let mut planner = Planner::new();
    planner.set_job(1, job.clone(), false, t0);
    // Across the autumn change (01:00 comes twice): one slot per real hour.
    let effects = planner.due(t0 + Duration::hours(20));
    let plans = asked(&effects);
    assert_eq!(plans.len(), 1, "{effects:?}");
    assert_eq!(plans[0].len(), 19);
    for s in &plans[0] {
        assert_eq!(s.at, job.fire(s.slot).at, "slot {}", s.slot);
        assert!(s.at >= s.slot && s.at - s.slot <= Duration::minutes(10));
    }
    assert!(plans[0].iter().any(|s| s.at != s.slot));
}

#[test]
fn a_paused_job_asks_nothing() {
    let t0 = Utc
        .with_ymd_and_hms(2026, 3, 6, 12, 0, 0)
        .single()
        .expect("time");
    let mut planner = Planner::new();
    planner.set_job(1, job("schedule = \"0 * * * *\""), true, t0);
    let effects = planner.due(t0 + Duration::hours(5));
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn a_plan_keeps_the_newest_slots_when_there_are_too_many() {
    // Every minute, down two days with a 3-day window: 2,880 slots fit;
    // every second for 5 hours does not (18,000 > MAX_PLAN_SLOTS).
    let t0 = Utc
        .with_ymd_and_hms(2026, 3, 6, 12, 0, 0)
        .single()
        .expect("time");
    let mut planner = Planner::new();
    planner.set_job(
        1,
        job("schedule = \"* * * * * *\"\ncatch_up_window = \"3d\""),
        false,
        t0,
    );
    let now = t0 + Duration::hours(5) + Duration::seconds(30);
    let effects = planner.due(now);
    let plans = asked(&effects);
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].len(), MAX_PLAN_SLOTS);
    let newest = plans[0].last().expect("a slot").slot;
    assert!(now - newest <= Duration::seconds(6), "{newest}");
    let skipped = skips(&effects);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].last + Duration::seconds(1), plans[0][0].slot);
    let total = skipped[0].count + plans[0].len() as u64;
    assert_eq!(skipped[0].first, t0 + Duration::seconds(1));
    assert_eq!(
        total,
        (plans[0].last().expect("a slot").slot - t0).num_seconds() as u64
    );
}
