//! The rules a job's slots pass (issue 14): calendars, blackouts, bounds,
//! jitter and the per-job DST policy, at exact instants in real zones; the
//! planner applying them; and a property test that nothing ever runs on an
//! excluded date, in a blackout minute or outside the bounds.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use cronport::config::Config;
use cronport::job::{Fate, Fire, Job};
use cronport::schedule::rules::{
    Blackout, BusinessCalendar, Exclusion, OnBlackout, OnExcluded, Rules, Weekdays,
};
use cronport::schedule::{DstGap, DstOverlap, DstSpec, Schedule, Tz, parse_timezone};
use cronport::scheduler::plan::{Effect, Planner};
use proptest::prelude::*;

const NY: &str = "America/New_York";
const LONDON: &str = "Europe/London";
const LORD_HOWE: &str = "Australia/Lord_Howe";

fn utc(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("bad instant {text}: {e}"))
}

fn zone(name: &str) -> Tz {
    parse_timezone(name).expect("zone")
}

fn z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A config holding `calendars` (TOML) and one job with `body` added.
fn job_with(calendars: &str, body: &str) -> Job {
    job_in(Path::new("."), calendars, body)
}

fn job_in(base: &Path, calendars: &str, body: &str) -> Job {
    let text = format!(
        "{calendars}\n[destinations.out]\nkind = \"local\"\nroot = \"exports\"\npath = \"{{job}}.{{ext}}\"\n\n\
         [[jobs]]\nname = \"ruled\"\nsource = {{ kind = \"command\", argv = [\"true\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n{body}"
    );
    let config = Config::parse(&text, base).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.jobs.into_iter().next().expect("one job")
}

/// (slot, at, fate) of the first `n` fires after `after`, for comparing.
fn fates(job: &Job, after: &str, n: usize) -> Vec<(String, String, String)> {
    job.fires(utc(after))
        .take(n)
        .map(|f| {
            let fate = match &f.fate {
                Fate::Runs => "runs".to_string(),
                Fate::Moved(why) => format!("moved: {why}"),
                Fate::Skipped(why) => format!("skipped: {why}"),
            };
            (z(f.slot), z(f.at), fate)
        })
        .collect()
}

fn fate_kinds(job: &Job, after: &str, n: usize) -> Vec<(String, String, &'static str)> {
    job.fires(utc(after))
        .take(n)
        .map(|f| {
            let kind = match f.fate {
                Fate::Runs => "runs",
                Fate::Moved(_) => "moved",
                Fate::Skipped(_) => "skipped",
            };
            (z(f.slot), z(f.at), kind)
        })
        .collect()
}

fn row(slot: &str, at: &str, kind: &'static str) -> (String, String, &'static str) {
    (slot.to_string(), at.to_string(), kind)
}

const HOLIDAYS: &str =
    "[calendars.holidays]\nexclude = [\"2026-12-25\"]\nbusiness_days = \"mon-fri\"\n";

#[test]
fn a_calendar_skips_or_moves_slots_in_new_york() {
    // 09:00 in New York is 14:00Z in December. 2026-12-25 is a Friday.
    let skip = job_with(
        HOLIDAYS,
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\ncalendar = \"holidays\"\n",
    );
    assert_eq!(
        fate_kinds(&skip, "2026-12-24T00:00:00Z", 5),
        [
            row("2026-12-24T14:00:00Z", "2026-12-24T14:00:00Z", "runs"),
            row("2026-12-25T14:00:00Z", "2026-12-25T14:00:00Z", "skipped"),
            row("2026-12-26T14:00:00Z", "2026-12-26T14:00:00Z", "skipped"),
            row("2026-12-27T14:00:00Z", "2026-12-27T14:00:00Z", "skipped"),
            row("2026-12-28T14:00:00Z", "2026-12-28T14:00:00Z", "runs"),
        ]
    );
    let reasons = fates(&skip, "2026-12-24T20:00:00Z", 2);
    assert_eq!(
        reasons[0].2,
        "skipped: 2026-12-25 is excluded by calendar holidays (on_excluded = skip)"
    );
    assert_eq!(
        reasons[1].2,
        "skipped: 2026-12-26 is a Saturday, not a business day of calendar holidays (mon,tue,wed,thu,fri) (on_excluded = skip)"
    );

    let next = job_with(
        HOLIDAYS,
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\ncalendar = \"holidays\"\non_excluded = \"next_business_day\"\n",
    );
    assert_eq!(
        fate_kinds(&next, "2026-12-24T20:00:00Z", 4),
        [
            row("2026-12-25T14:00:00Z", "2026-12-28T14:00:00Z", "moved"),
            row("2026-12-26T14:00:00Z", "2026-12-28T14:00:00Z", "moved"),
            row("2026-12-27T14:00:00Z", "2026-12-28T14:00:00Z", "moved"),
            row("2026-12-28T14:00:00Z", "2026-12-28T14:00:00Z", "runs"),
        ]
    );
    assert_eq!(
        fates(&next, "2026-12-24T20:00:00Z", 1)[0].2,
        "moved: 2026-12-25 is excluded by calendar holidays: moved to the next business day, 2026-12-28"
    );

    let previous = job_with(
        HOLIDAYS,
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\ncalendar = \"holidays\"\non_excluded = \"previous_business_day\"\n",
    );
    assert_eq!(
        fate_kinds(&previous, "2026-12-24T20:00:00Z", 2),
        [
            row("2026-12-25T14:00:00Z", "2026-12-24T14:00:00Z", "moved"),
            row("2026-12-26T14:00:00Z", "2026-12-24T14:00:00Z", "moved"),
        ]
    );
}

#[test]
fn a_move_onto_a_spring_forward_day_runs_after_the_gap_in_london() {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST at 01:00Z, so 01:30 does not exist.
    let job = job_with(
        "[calendars.c]\nexclude = [\"2026-03-28\"]\n",
        "schedule = \"daily at 01:30\"\ntimezone = \"Europe/London\"\ncalendar = \"c\"\non_excluded = \"next_business_day\"\n",
    );
    assert_eq!(
        fate_kinds(&job, "2026-03-27T12:00:00Z", 3),
        [
            row("2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "moved"),
            // The slot of the 29th is in the gap itself: 02:00 BST by the DST policy.
            row("2026-03-29T01:00:00Z", "2026-03-29T01:00:00Z", "runs"),
            row("2026-03-30T00:30:00Z", "2026-03-30T00:30:00Z", "runs"),
        ]
    );
}

#[test]
fn an_ics_file_beside_the_config_excludes_its_all_day_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("holidays.ics"),
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\n\
         DTSTART;VALUE=DATE:20261126\r\nDTEND;VALUE=DATE:20261128\r\nSUMMARY:Thanksgiving\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .expect("write ics");
    let job = job_in(
        dir.path(),
        "[calendars.us]\nics = \"holidays.ics\"\n",
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\ncalendar = \"us\"\n",
    );
    let kinds: Vec<_> = fate_kinds(&job, "2026-11-25T00:00:00Z", 4)
        .into_iter()
        .map(|(_, _, k)| k)
        .collect();
    assert_eq!(kinds, ["runs", "skipped", "skipped", "runs"]);
}

#[test]
fn blackouts_skip_or_defer_once_to_the_end_in_lord_howe() {
    // 2026-12-05 is a Saturday; Lord Howe is at +11 in December, so local
    // 00:00 is 13:00Z on the 4th.
    let body = "schedule = \"*/15 * * * *\"\ntimezone = \"Australia/Lord_Howe\"\nblackout = [\"sat 00:00-01:00\"]\n";
    let skip = job_with("", body);
    assert_eq!(
        fate_kinds(&skip, "2026-12-04T12:50:00Z", 6),
        [
            row("2026-12-04T13:00:00Z", "2026-12-04T13:00:00Z", "skipped"),
            row("2026-12-04T13:15:00Z", "2026-12-04T13:15:00Z", "skipped"),
            row("2026-12-04T13:30:00Z", "2026-12-04T13:30:00Z", "skipped"),
            row("2026-12-04T13:45:00Z", "2026-12-04T13:45:00Z", "skipped"),
            row("2026-12-04T14:00:00Z", "2026-12-04T14:00:00Z", "runs"),
            row("2026-12-04T14:15:00Z", "2026-12-04T14:15:00Z", "runs"),
        ]
    );
    assert!(
        fates(&skip, "2026-12-04T12:50:00Z", 1)[0]
            .2
            .contains("in blackout sat 00:00-01:00 (on_blackout = skip)")
    );

    let defer = job_with("", &format!("{body}on_blackout = \"defer\"\n"));
    assert_eq!(
        fate_kinds(&defer, "2026-12-04T12:50:00Z", 5),
        [
            row("2026-12-04T13:00:00Z", "2026-12-04T13:00:00Z", "skipped"),
            row("2026-12-04T13:15:00Z", "2026-12-04T13:15:00Z", "skipped"),
            row("2026-12-04T13:30:00Z", "2026-12-04T13:30:00Z", "skipped"),
            // The window's last slot runs once, at its end.
            row("2026-12-04T13:45:00Z", "2026-12-04T14:00:00Z", "moved"),
            row("2026-12-04T14:00:00Z", "2026-12-04T14:00:00Z", "runs"),
        ]
    );
    let reasons = fates(&defer, "2026-12-04T12:50:00Z", 4);
    assert!(
        reasons[0]
            .2
            .contains("runs once at its end (2026-12-05 01:00 +11)"),
        "{}",
        reasons[0].2
    );
    assert_eq!(
        reasons[3].2,
        "moved: in blackout sat 00:00-01:00: deferred to its end, 2026-12-05 01:00 +11"
    );
}

#[test]
fn a_one_off_blackout_in_new_york_defers_an_hourly_job_to_its_end() {
    let job = job_with(
        "",
        "schedule = \"0 * * * *\"\ntimezone = \"America/New_York\"\nblackout = [\"2026-12-24T18:00/2026-12-27T00:00\"]\non_blackout = \"defer\"\n",
    );
    let runs: Vec<Fire> = job
        .fires(utc("2026-12-24T22:30:00Z"))
        .take_while(|f| f.slot <= utc("2026-12-27T06:00:00Z"))
        .filter(Fire::runs)
        .collect();
    // 17:00 EST (22:00Z) ran before; 18:00 .. 23:00 on the 26th are one run
    // at 00:00 EST on the 27th (05:00Z), as the 23:00 slot; then 00:00 and
    // 01:00 on the 27th as usual.
    let got: Vec<(String, String)> = runs.iter().map(|f| (z(f.slot), z(f.at))).collect();
    assert_eq!(
        got,
        [
            (
                "2026-12-27T04:00:00Z".to_string(),
                "2026-12-27T05:00:00Z".to_string()
            ),
            (
                "2026-12-27T05:00:00Z".to_string(),
                "2026-12-27T05:00:00Z".to_string()
            ),
            (
                "2026-12-27T06:00:00Z".to_string(),
                "2026-12-27T06:00:00Z".to_string()
            ),
        ]
    );
}

#[test]
fn bounds_start_and_end_the_job() {
    let job = job_with(
        "",
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\nstart_at = \"2026-12-01\"\nend_at = \"2026-12-03T12:00\"\n",
    );
    let all: Vec<String> = job
        .fires(utc("2026-11-01T00:00:00Z"))
        .map(|f| z(f.at))
        .collect();
    assert_eq!(
        all,
        [
            "2026-12-01T14:00:00Z",
            "2026-12-02T14:00:00Z",
            "2026-12-03T14:00:00Z"
        ]
    );
    assert!(!job.ended(utc("2026-12-03T16:59:59Z")));
    assert!(job.ended(utc("2026-12-03T17:00:01Z")));
    assert_eq!(job.next_run(utc("2026-12-03T15:00:00Z")), None);
}

#[test]
fn jitter_is_the_same_everywhere_and_never_crosses_the_end() {
    let body = "schedule = \"0 * * * *\"\ntimezone = \"Europe/London\"\njitter = \"5m\"\n";
    let a = job_with("", body);
    let b = job_with("", body);
    let fa: Vec<Fire> = a.fires(utc("2026-06-01T00:00:00Z")).take(200).collect();
    let fb: Vec<Fire> = b.fires(utc("2026-06-01T00:00:00Z")).take(200).collect();
    assert_eq!(fa, fb, "two instances compute the same delays");
    for f in &fa {
        let delay = f.at - f.slot;
        assert!(
            delay >= Duration::zero() && delay <= Duration::minutes(5),
            "{delay}"
        );
        assert_eq!(f.at.nanosecond(), 0);
        assert_eq!(f.fate, Fate::Runs);
    }
    assert!(
        fa.iter().filter(|f| f.at != f.slot).count() > 150,
        "delays spread"
    );

    // A slot whose delay would run past end_at does not run.
    let ending = job_with(
        "",
        &format!("{body}end_at = \"2026-06-01T10:00:30+01:00\"\n"),
    );
    let last = ending
        .fires(utc("2026-06-01T08:30:00Z"))
        .last()
        .expect("the 10:00 slot");
    assert_eq!(z(last.slot), "2026-06-01T09:00:00Z");
    match &last.fate {
        Fate::Runs => assert!(last.at <= utc("2026-06-01T09:00:30Z")),
        Fate::Skipped(why) => assert!(why.contains("after end_at"), "{why}"),
        Fate::Moved(why) => panic!("moved: {why}"),
    }
}

// ------------------------------------------------------------------ DST

fn dst_fires(
    text: &str,
    tz: &str,
    gap: Option<DstGap>,
    overlap: Option<DstOverlap>,
    after: &str,
    n: usize,
) -> Vec<String> {
    let s = Schedule::parse(text, zone(tz))
        .expect("schedule")
        .with_dst(DstSpec { gap, overlap });
    s.fires_after(utc(after)).take(n).map(z).collect()
}

/// (expression, gap, overlap, after, expected fires)
type DstCase = (
    &'static str,
    Option<DstGap>,
    Option<DstOverlap>,
    &'static str,
    &'static [&'static str],
);

fn check_dst(tz: &str, cases: &[DstCase]) {
    for (text, gap, overlap, after, expected) in cases {
        let got = dst_fires(text, tz, *gap, *overlap, after, expected.len());
        assert_eq!(
            &got, expected,
            "{text:?} in {tz}, gap {gap:?}, overlap {overlap:?}, after {after}"
        );
    }
}

use DstGap::{After, Skip};
use DstOverlap::{Both, First, Last};

#[test]
#[rustfmt::skip]
fn dst_policies_in_new_york() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z). 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00Z).
    check_dst(NY, &[
        ("30 2 * * *", None, None, "2026-03-07T12:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        ("30 2 * * *", Some(After), None, "2026-03-07T12:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        ("30 2 * * *", Some(Skip), None, "2026-03-07T12:00:00Z", &["2026-03-09T06:30:00Z"]),
        ("30 * * * *", Some(After), None, "2026-03-08T06:15:00Z", &["2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"]),
        ("30 * * * *", None, None, "2026-03-08T06:15:00Z", &["2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"]),
        ("30 1 * * *", None, None, "2026-10-31T12:00:00Z", &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        ("30 1 * * *", None, Some(First), "2026-10-31T12:00:00Z", &["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        ("30 1 * * *", None, Some(Both), "2026-10-31T12:00:00Z", &["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
        ("30 1 * * *", None, Some(Last), "2026-10-31T12:00:00Z", &["2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"]),
        ("0 * * * *", None, Some(First), "2026-11-01T04:30:00Z", &["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]),
        ("0 * * * *", None, Some(Last), "2026-11-01T04:30:00Z", &["2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]),
        ("0 * * * *", None, None, "2026-11-01T04:30:00Z", &["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]),
        ("30 1 * * *", Some(Skip), Some(Last), "2026-03-07T12:00:00Z", &["2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn dst_policies_in_london() {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST at 01:00Z. 2026-10-25: 02:00 BST falls back to 01:00 GMT at 01:00Z.
    check_dst(LONDON, &[
        ("30 1 * * *", Some(After), None, "2026-03-28T12:00:00Z", &["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
        ("30 1 * * *", Some(Skip), None, "2026-03-28T12:00:00Z", &["2026-03-30T00:30:00Z"]),
        ("30 * * * *", Some(After), None, "2026-03-29T00:00:00Z", &["2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"]),
        ("30 * * * *", Some(Skip), None, "2026-03-29T00:00:00Z", &["2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"]),
        ("30 1 * * *", None, Some(First), "2026-10-24T12:00:00Z", &["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        ("30 1 * * *", None, Some(Both), "2026-10-24T12:00:00Z", &["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"]),
        ("30 1 * * *", None, Some(Last), "2026-10-24T12:00:00Z", &["2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"]),
        ("30 * * * *", None, Some(First), "2026-10-24T23:45:00Z", &["2026-10-25T00:30:00Z", "2026-10-25T02:30:00Z"]),
        ("30 * * * *", None, Some(Both), "2026-10-24T23:45:00Z", &["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z"]),
        ("30 * * * *", None, Some(Last), "2026-10-24T23:45:00Z", &["2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn dst_policies_in_lord_howe_with_its_half_hour_shift() {
    // 2026-04-05: 02:00 (+11) falls back to 01:30 (+10:30) at 15:00Z on the 4th.
    // 2026-10-04: 02:00 (+10:30) springs to 02:30 (+11) at 15:30Z on the 3rd.
    check_dst(LORD_HOWE, &[
        ("15 2 * * *", Some(After), None, "2026-10-02T12:00:00Z", &["2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]),
        ("15 2 * * *", Some(Skip), None, "2026-10-02T12:00:00Z", &["2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z"]),
        ("*/15 2 * * *", Some(Skip), None, "2026-10-03T15:00:00Z", &["2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:00:00Z"]),
        ("45 1 * * *", None, Some(First), "2026-04-03T12:00:00Z", &["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]),
        ("45 1 * * *", None, Some(Both), "2026-04-03T12:00:00Z", &["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z", "2026-04-05T15:15:00Z"]),
        ("45 1 * * *", None, Some(Last), "2026-04-03T12:00:00Z", &["2026-04-03T14:45:00Z", "2026-04-04T15:15:00Z", "2026-04-05T15:15:00Z"]),
        ("*/15 * * * *", None, Some(First), "2026-04-04T14:20:00Z", &["2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:30:00Z", "2026-04-04T15:45:00Z"]),
        ("*/15 * * * *", None, Some(Last), "2026-04-04T14:20:00Z", &["2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z", "2026-04-04T15:30:00Z"]),
    ]);
}

#[test]
fn a_jobs_dst_key_reaches_its_schedule() {
    let job = job_with(
        "",
        "schedule = \"30 1 * * *\"\ntimezone = \"America/New_York\"\ndst = { overlap = \"both\" }\n",
    );
    assert_eq!(job.schedule.dst(), (DstGap::After, DstOverlap::Both));
    let got: Vec<String> = job
        .fires(utc("2026-10-31T12:00:00Z"))
        .take(2)
        .map(|f| z(f.at))
        .collect();
    assert_eq!(got, ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"]);
}

// -------------------------------------------------------------- planner

fn enqueued(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Enqueue { slot, at, .. } => Some((z(*slot), z(*at))),
            _ => None,
        })
        .collect()
}

fn skipped(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Skip { slots, .. } => Some((z(slots.first), slots.reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_planner_queues_a_jittered_slot_for_when_it_runs() {
    let job = Arc::new(job_with(
        "",
        "schedule = \"0 * * * *\"\ntimezone = \"UTC\"\njitter = \"10m\"\n",
    ));
    let fire = job.fire(utc("2026-06-01T01:00:00Z"));
    assert!(fire.at > fire.slot, "this slot has a delay");
    let mut planner = Planner::new();
    planner.set_job(1, job.clone(), false, utc("2026-06-01T00:30:00Z"));
    // The planner looks at the slot when it comes, and queues it for later.
    assert_eq!(planner.next_deadline(), Some(fire.slot));
    assert!(planner.due(fire.slot).is_empty(), "not at its slot");
    assert_eq!(planner.next_deadline(), Some(fire.at));
    assert_eq!(
        enqueued(&planner.due(fire.at)),
        [(z(fire.slot), z(fire.at))]
    );
}

#[test]
fn the_planner_records_slots_the_rules_skip_with_the_reason() {
    let job = Arc::new(job_with(
        HOLIDAYS,
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\ncalendar = \"holidays\"\n",
    ));
    let mut planner = Planner::new();
    planner.set_job(7, job, false, utc("2026-12-24T20:00:00Z"));
    let effects = planner.due(utc("2026-12-25T14:00:00Z"));
    assert_eq!(
        skipped(&effects),
        [(
            "2026-12-25T14:00:00Z".to_string(),
            "2026-12-25 is excluded by calendar holidays (on_excluded = skip)".to_string()
        )]
    );
    assert!(enqueued(&effects).is_empty());
}

#[test]
fn the_planner_queues_a_slot_moved_back_on_the_day_it_moves_to() {
    let job = Arc::new(job_with(
        HOLIDAYS,
        "schedule = \"daily at 09:00\"\ntimezone = \"America/New_York\"\ncalendar = \"holidays\"\non_excluded = \"previous_business_day\"\n",
    ));
    let mut planner = Planner::new();
    planner.set_job(7, job, false, utc("2026-12-23T20:00:00Z"));
    // On Thursday the 24th at 09:00 run Thursday's own slot and the
    // Friday-to-Sunday slots moved back to it.
    let effects = planner.due(utc("2026-12-24T14:00:00Z"));
    let slots: Vec<String> = enqueued(&effects)
        .into_iter()
        .map(|(slot, _)| slot)
        .collect();
    assert_eq!(
        slots,
        [
            "2026-12-24T14:00:00Z",
            "2026-12-25T14:00:00Z",
            "2026-12-26T14:00:00Z",
            "2026-12-27T14:00:00Z"
        ]
    );
    assert!(
        enqueued(&effects)
            .iter()
            .all(|(_, at)| at == "2026-12-24T14:00:00Z")
    );
    // Nothing of them is queued again on the days they came from.
    assert!(enqueued(&planner.due(utc("2026-12-27T14:00:00Z"))).is_empty());
    assert_eq!(
        enqueued(&planner.due(utc("2026-12-28T14:00:00Z"))),
        [(
            "2026-12-28T14:00:00Z".to_string(),
            "2026-12-28T14:00:00Z".to_string()
        )]
    );
}

#[test]
fn an_ended_job_is_not_planned() {
    let job = Arc::new(job_with(
        "",
        "schedule = \"0 * * * *\"\ntimezone = \"UTC\"\nend_at = \"2026-06-01T02:00:00Z\"\n",
    ));
    let mut planner = Planner::new();
    planner.set_job(1, job, false, utc("2026-06-01T00:30:00Z"));
    assert_eq!(enqueued(&planner.due(utc("2026-06-01T02:00:00Z"))).len(), 2);
    assert_eq!(planner.next_deadline(), None);
}

// ------------------------------------------------------------- property

/// Excluded dates and business days, kept here apart from the code under
/// test so the check does not trust it.
struct Expect {
    excluded: HashSet<NaiveDate>,
    business: [bool; 7],
    /// (weekday from Monday, start minute, length in minutes)
    weekly: (u32, u32, u32),
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Expect {
    fn date_ok(&self, date: NaiveDate) -> bool {
        self.business[date.weekday().num_days_from_monday() as usize]
            && !self.excluded.contains(&date)
    }

    fn in_blackout(&self, local: chrono::NaiveDateTime) -> bool {
        let (day, start, len) = self.weekly;
        // Minutes since the start of the week the local time is in, and
        // the window's, compared on a circle of a week.
        let week = 7 * 24 * 60;
        let minute =
            local.weekday().num_days_from_monday() * 24 * 60 + local.hour() * 60 + local.minute();
        let from = day * 24 * 60 + start;
        (minute + week - from) % week < len
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn nothing_runs_on_an_excluded_date_in_a_blackout_or_outside_the_bounds(
        expr in proptest::sample::select(vec!["*/20 * * * *", "0 * * * *", "30 2 * * *", "0 9 * * 1-5", "15 1,13 * * *", "45 23 * * *", "0 0 * * 0"]),
        zone_name in proptest::sample::select(vec![NY, LONDON, LORD_HOWE]),
        offsets in proptest::collection::vec(0i64..400, 0..60),
        business in proptest::array::uniform7(proptest::bool::weighted(0.8)),
        weekly in (0u32..7, 0u32..(24 * 60), 1u32..(24 * 60)),
        on_excluded in 0usize..3,
        defer in any::<bool>(),
        jitter_secs in proptest::sample::select(vec![0u64, 59, 300, 3600]),
        start_day in 0i64..300,
        span_days in 1i64..120,
    ) {
        let tz = zone(zone_name);
        let first = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let mut business = business;
        business[2] = true; // at least one business day
        let excluded: HashSet<NaiveDate> = offsets.iter().map(|d| first + Duration::days(*d)).collect();
        let exclusions: Vec<Exclusion> = excluded.iter().map(|d| Exclusion::Dates(*d, *d)).collect();
        let days: Vec<&str> = (0..7).filter(|i| business[*i]).map(|i| DAYS[i]).collect();
        let calendar = BusinessCalendar::new("c", &exclusions, Weekdays::parse(&days.join(",")).expect("days"));
        let (day, start_minute, len) = weekly;
        let end_minute = (start_minute + len) % (24 * 60);
        let window = format!("{} {:02}:{:02}-{:02}:{:02}", DAYS[day as usize], start_minute / 60, start_minute % 60, end_minute / 60, end_minute % 60);
        let blackout = Blackout::parse(&window).expect("window");
        let start = utc("2026-01-01T00:00:00Z") + Duration::days(start_day) + Duration::minutes(17);
        let end = start + Duration::days(span_days);
        let rules = Rules {
            calendar: Some(Arc::new(calendar)),
            on_excluded: [OnExcluded::Skip, OnExcluded::NextBusinessDay, OnExcluded::PreviousBusinessDay][on_excluded],
            blackouts: vec![blackout],
            on_blackout: if defer { OnBlackout::Defer } else { OnBlackout::Skip },
            start_at: Some(start),
            end_at: Some(end),
            jitter: StdDuration::from_secs(jitter_secs),
        };
        let expect = Expect { excluded, business, weekly: (day, start_minute, len), start, end };
        let schedule = Schedule::parse(expr, tz).expect("schedule");
        // The fast path over skipped days agrees with looking at every slot.
        let from = start - Duration::days(3);
        prop_assert_eq!(
            rules.next_run(&schedule, "prop", from, 100_000).map(|n| (n.slot, n.at)),
            rules.fires(&schedule, "prop", from).find(Fire::runs).map(|f| (f.slot, f.at))
        );
        let mut last_slot = None;
        for fire in rules.fires(&schedule, "prop", start - Duration::days(3)).take(400) {
            prop_assert!(last_slot.is_none_or(|l| fire.slot > l), "slots increase");
            last_slot = Some(fire.slot);
            prop_assert!(fire.slot >= expect.start && fire.slot <= expect.end, "slot {} outside the bounds", fire.slot);
            if !fire.runs() {
                continue;
            }
            let local = fire.at.with_timezone(&tz).naive_local();
            prop_assert!(fire.at >= expect.start && fire.at <= expect.end, "{:?} runs outside the bounds", fire);
            prop_assert!(expect.date_ok(local.date()), "{:?} runs on an excluded date ({})", fire, local);
            prop_assert!(!expect.in_blackout(local), "{:?} runs in blackout {} ({})", fire, window, local);
        }
    }
}
