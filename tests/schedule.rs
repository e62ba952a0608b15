//! The schedule module against PRODUCT.md section 2: exact UTC instants across
//! real 2026 DST transitions, the parser's errors, presets, descriptions, and
//! property tests against a brute-force reference.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use cronport::schedule::{Schedule, ScheduleError, Tz, parse_timezone};
use proptest::prelude::*;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("bad instant {text}: {e}"))
}

fn zone(name: &str) -> Tz {
    parse_timezone(name).unwrap()
}

fn schedule(text: &str, tz: &str) -> Schedule {
    Schedule::parse(text, zone(tz)).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn fires(text: &str, tz: &str, after: &str, count: usize) -> Vec<String> {
    schedule(text, tz)
        .fires_after(utc(after))
        .take(count)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect()
}

/// (zone, expression, after, the next fires in UTC)
type FireCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

fn check_fires(cases: &[FireCase]) {
    for (tz, text, after, expected) in cases {
        let got = fires(text, tz, after, expected.len());
        assert_eq!(&got, expected, "{text:?} in {tz} after {after}");
    }
}

const NY: &str = "America/New_York";
const LONDON: &str = "Europe/London";
const SYDNEY: &str = "Australia/Sydney";
const LORD_HOWE: &str = "Australia/Lord_Howe";

#[test]
#[rustfmt::skip]
fn new_york_spring_forward_2026_03_08() {
    check_fires(&[
        // Fixed time in the gap runs once, at 03:00 EDT = 07:00Z.
        (NY, "30 2 * * *", "2026-03-07T00:00:00Z", &["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        (NY, "daily at 02:30", "2026-03-07T00:00:00Z", &["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        (NY, "0 2 * * *", "2026-03-07T12:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"]),
        // Several slots in one gap are one fire.
        (NY, "*/15 2 * * *", "2026-03-08T06:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:15:00Z"]),
        // Gap slots and 03:00 land on the same instant: one fire.
        (NY, "0,30 2,3 * * *", "2026-03-08T05:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:00:00Z"]),
        (NY, "0 1,2 * * *", "2026-03-08T00:00:00Z", &["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-09T05:00:00Z"]),
        // Wildcard hour: nothing in the gap, 15 real minutes from 01:45 EST to 03:00 EDT.
        (NY, "*/15 * * * *", "2026-03-08T06:30:00Z", &["2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"]),
        (NY, "every 15m", "2026-03-08T06:30:00Z", &["2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"]),
        (NY, "0 * * * *", "2026-03-08T05:30:00Z", &["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"]),
        (NY, "0 */2 * * *", "2026-03-08T04:30:00Z", &["2026-03-08T05:00:00Z", "2026-03-08T08:00:00Z", "2026-03-08T10:00:00Z"]),
        // Seconds across the gap.
        (NY, "*/20 * * * * *", "2026-03-08T06:59:20Z", &["2026-03-08T06:59:40Z", "2026-03-08T07:00:00Z", "2026-03-08T07:00:20Z"]),
        (NY, "30 30 2 * * *", "2026-03-08T06:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:30:30Z"]),
        (NY, "* * 2 * * *", "2026-03-08T06:59:58Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:00:01Z"]),
        (NY, "daily at 02:30:15", "2026-03-08T06:00:00Z", &["2026-03-08T07:00:00Z", "2026-03-09T06:30:15Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn new_york_fall_back_2026_11_01() {
    check_fires(&[
        // Fixed time in the overlap: once, at the first (EDT) occurrence.
        (NY, "30 1 * * *", "2026-10-31T00:00:00Z", &["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
        (NY, "30 1 * * *", "2026-11-01T05:30:00Z", &["2026-11-02T06:30:00Z"]),
        (NY, "30 1 * * *", "2026-11-01T06:10:00Z", &["2026-11-02T06:30:00Z"]),
        (NY, "0 1 * * *", "2026-10-31T12:00:00Z", &["2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z"]),
        (NY, "0 2 * * *", "2026-10-31T12:00:00Z", &["2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z"]),
        (NY, "*/30 1-3 * * *", "2026-11-01T04:00:00Z", &["2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z", "2026-11-01T08:00:00Z"]),
        // Wildcard hour: both occurrences, evenly spaced in real time.
        (NY, "*/15 * * * *", "2026-11-01T05:30:00Z", &["2026-11-01T05:45:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z", "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:15:00Z"]),
        (NY, "0 * * * *", "2026-11-01T03:30:00Z", &["2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]),
        // Starting inside the overlap, on either pass.
        (NY, "*/15 * * * *", "2026-11-01T05:50:00Z", &["2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z"]),
        (NY, "*/15 * * * *", "2026-11-01T06:20:00Z", &["2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", "2026-11-01T07:00:00Z"]),
        (NY, "45 * * * *", "2026-11-01T05:50:00Z", &["2026-11-01T06:45:00Z", "2026-11-01T07:45:00Z"]),
        (NY, "45 * * * *", "2026-11-01T05:40:00Z", &["2026-11-01T05:45:00Z", "2026-11-01T06:45:00Z"]),
        // Seconds across the overlap.
        (NY, "*/20 * * * * *", "2026-11-01T05:59:20Z", &["2026-11-01T05:59:40Z", "2026-11-01T06:00:00Z", "2026-11-01T06:00:20Z"]),
        (NY, "* * * * * *", "2026-11-01T05:59:59Z", &["2026-11-01T06:00:00Z", "2026-11-01T06:00:01Z"]),
        (NY, "0 0 * * * *", "2026-11-01T05:30:00Z", &["2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]),
        (NY, "15 30 1 * * *", "2026-11-01T05:00:00Z", &["2026-11-01T05:30:15Z", "2026-11-02T06:30:15Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn london_both_transitions_2026() {
    check_fires(&[
        // 2026-03-29: 01:00 GMT jumps to 02:00 BST at 01:00Z.
        (LONDON, "30 1 * * *", "2026-03-28T00:00:00Z", &["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]),
        (LONDON, "*/30 * * * *", "2026-03-29T00:00:00Z", &["2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"]),
        (LONDON, "0 1 * * *", "2026-03-28T12:00:00Z", &["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"]),
        // 2026-10-25: 02:00 BST falls back to 01:00 GMT at 01:00Z.
        (LONDON, "30 1 * * *", "2026-10-24T12:00:00Z", &["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        (LONDON, "*/30 * * * *", "2026-10-24T23:45:00Z", &["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"]),
        (LONDON, "every 30m", "2026-10-24T23:45:00Z", &["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z"]),
        (LONDON, "0 */6 * * *", "2026-10-24T20:00:00Z", &["2026-10-24T23:00:00Z", "2026-10-25T06:00:00Z"]),
        (LONDON, "*/30 * * * * *", "2026-10-25T00:59:00Z", &["2026-10-25T00:59:30Z", "2026-10-25T01:00:00Z", "2026-10-25T01:00:30Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn sydney_both_transitions_2026() {
    check_fires(&[
        // 2026-04-05: 03:00 AEDT falls back to 02:00 AEST at 16:00Z on the 4th.
        (SYDNEY, "30 2 * * *", "2026-04-03T12:00:00Z", &["2026-04-03T15:30:00Z", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"]),
        (SYDNEY, "*/30 * * * *", "2026-04-04T14:50:00Z", &["2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z", "2026-04-04T16:00:00Z", "2026-04-04T16:30:00Z", "2026-04-04T17:00:00Z"]),
        // 2026-10-04: 02:00 AEST springs to 03:00 AEDT at 16:00Z on the 3rd.
        (SYDNEY, "30 2 * * *", "2026-10-02T12:00:00Z", &["2026-10-02T16:30:00Z", "2026-10-03T16:00:00Z", "2026-10-04T15:30:00Z"]),
        (SYDNEY, "*/30 * * * *", "2026-10-03T14:50:00Z", &["2026-10-03T15:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z", "2026-10-03T16:30:00Z"]),
        (SYDNEY, "weekly on sun at 02:30", "2026-09-30T00:00:00Z", &["2026-10-03T16:00:00Z", "2026-10-10T15:30:00Z"]),
        (SYDNEY, "weekly on sun at 02:30", "2026-03-30T00:00:00Z", &["2026-04-04T15:30:00Z", "2026-04-11T16:30:00Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn lord_howe_half_hour_shift_2026() {
    check_fires(&[
        // 2026-04-05: 02:00 (+11) falls back to 01:30 (+10:30) at 15:00Z on the 4th.
        (LORD_HOWE, "45 1 * * *", "2026-04-03T12:00:00Z", &["2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]),
        (LORD_HOWE, "*/15 * * * *", "2026-04-04T14:20:00Z", &["2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z", "2026-04-04T15:30:00Z", "2026-04-04T15:45:00Z"]),
        // 2026-10-04: 02:00 (+10:30) springs to 02:30 (+11) at 15:30Z on the 3rd.
        (LORD_HOWE, "15 2 * * *", "2026-10-02T12:00:00Z", &["2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]),
        (LORD_HOWE, "*/15 * * * *", "2026-10-03T15:00:00Z", &["2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z"]),
        // 02:00 and 02:15 are in the gap, 02:30 is the gap's end: one fire.
        (LORD_HOWE, "*/15 2 * * *", "2026-10-03T15:00:00Z", &["2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z", "2026-10-04T15:00:00Z"]),
        (LORD_HOWE, "0 2 * * *", "2026-10-02T12:00:00Z", &["2026-10-02T15:30:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:00:00Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn zones_without_dst() {
    check_fires(&[
        ("Asia/Tokyo", "30 2 * * *", "2026-03-07T00:00:00Z", &["2026-03-07T17:30:00Z", "2026-03-08T17:30:00Z"]),
        ("Asia/Tokyo", "*/15 * * * *", "2026-11-01T05:50:00Z", &["2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z"]),
        ("UTC", "0 2 * * *", "2026-03-08T02:00:00Z", &["2026-03-09T02:00:00Z"]),
        ("UTC", "@hourly", "2026-03-08T02:00:00.5Z", &["2026-03-08T03:00:00Z"]),
        ("UTC", "* * * * * *", "2026-03-08T02:00:00.999Z", &["2026-03-08T02:00:01Z", "2026-03-08T02:00:02Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn day_rules() {
    check_fires(&[
        // Both restricted: either matches (Vixie). Jun 1 2026 is a Monday.
        ("UTC", "0 0 1 * mon", "2026-06-20T00:00:00Z", &["2026-06-22T00:00:00Z", "2026-06-29T00:00:00Z", "2026-07-01T00:00:00Z", "2026-07-06T00:00:00Z"]),
        // One unrestricted: both must match.
        ("UTC", "0 0 * * mon", "2026-06-20T00:00:00Z", &["2026-06-22T00:00:00Z", "2026-06-29T00:00:00Z", "2026-07-06T00:00:00Z"]),
        ("UTC", "0 0 ? * MON", "2026-06-20T00:00:00Z", &["2026-06-22T00:00:00Z", "2026-06-29T00:00:00Z"]),
        ("UTC", "0 0 */10 * mon", "2026-01-01T00:00:00Z", &["2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z", "2026-08-31T00:00:00Z", "2026-09-21T00:00:00Z"]),
        ("UTC", "0 0 1 * *", "2026-01-15T00:00:00Z", &["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]),
        ("UTC", "0 0 * * 7", "2026-06-01T00:00:00Z", &["2026-06-07T00:00:00Z", "2026-06-14T00:00:00Z"]),
        ("UTC", "0 0 * * 5-7", "2026-06-01T00:00:00Z", &["2026-06-05T00:00:00Z", "2026-06-06T00:00:00Z", "2026-06-07T00:00:00Z", "2026-06-12T00:00:00Z"]),
        // Last day, n days before it, nearest weekday, last weekday.
        ("UTC", "0 0 L * *", "2026-01-15T00:00:00Z", &["2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z"]),
        ("UTC", "0 0 L * *", "2028-02-01T00:00:00Z", &["2028-02-29T00:00:00Z"]),
        ("UTC", "0 0 L-3 * *", "2026-01-15T00:00:00Z", &["2026-01-28T00:00:00Z", "2026-02-25T00:00:00Z", "2026-03-28T00:00:00Z"]),
        ("UTC", "0 0 15W * *", "2026-08-01T00:00:00Z", &["2026-08-14T00:00:00Z", "2026-09-15T00:00:00Z", "2026-10-15T00:00:00Z", "2026-11-16T00:00:00Z"]),
        ("UTC", "0 0 1W * *", "2026-07-15T00:00:00Z", &["2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"]),
        ("UTC", "0 0 LW * *", "2026-01-01T00:00:00Z", &["2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"]),
        ("UTC", "0 0 LW * *", "2026-05-01T00:00:00Z", &["2026-05-29T00:00:00Z"]),
        // Last Friday, second Monday.
        ("UTC", "0 0 * * 5L", "2026-01-01T00:00:00Z", &["2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-27T00:00:00Z", "2026-04-24T00:00:00Z"]),
        ("UTC", "0 0 * * friL", "2026-01-01T00:00:00Z", &["2026-01-30T00:00:00Z"]),
        ("UTC", "0 0 ? * 1#2", "2026-01-01T00:00:00Z", &["2026-01-12T00:00:00Z", "2026-02-09T00:00:00Z", "2026-03-09T00:00:00Z"]),
        ("UTC", "0 0 ? * mon#2", "2026-01-01T00:00:00Z", &["2026-01-12T00:00:00Z"]),
        // Non-existent dates never fire.
        ("UTC", "0 0 31 * *", "2026-01-31T00:00:00Z", &["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z"]),
        ("UTC", "0 0 29 2 *", "2026-01-01T00:00:00Z", &["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        ("UTC", "0 0 29 2 *", "2096-03-01T00:00:00Z", &["2104-02-29T00:00:00Z"]),
        ("UTC", "0 0 ? 2 mon#5", "2017-01-01T00:00:00Z", &["2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"]),
        // Month names and steps.
        ("UTC", "0 0 1 jan,jul *", "2026-02-01T00:00:00Z", &["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"]),
        ("UTC", "0 0 1 */3 *", "2026-02-01T00:00:00Z", &["2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"]),
        ("UTC", "0 12 * * MON-FRI", "2026-06-05T13:00:00Z", &["2026-06-08T12:00:00Z"]),
        // "monthly on last" is the last day of each month, in local time.
        (NY, "monthly on last at 23:00", "2026-01-15T00:00:00Z", &["2026-02-01T04:00:00Z", "2026-03-01T04:00:00Z", "2026-04-01T03:00:00Z"]),
        (NY, "monthly on 1 at 06:00", "2026-01-15T00:00:00Z", &["2026-02-01T11:00:00Z", "2026-03-01T11:00:00Z", "2026-04-01T10:00:00Z"]),
    ]);
}

#[test]
#[rustfmt::skip]
fn samoa_skipped_a_whole_day_in_2011() {
    // 2011-12-29 23:59:59 (-10:00) was followed by 2011-12-31 00:00:00 (+14:00) at 10:00Z.
    check_fires(&[
        // Fixed time: the missing day's slot runs once, when the day after begins.
        ("Pacific/Apia", "0 12 * * *", "2011-12-29T12:00:00Z", &["2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"]),
        // Wildcard hour: nothing on the missing day.
        ("Pacific/Apia", "0 */6 * * *", "2011-12-29T18:00:00Z", &["2011-12-29T22:00:00Z", "2011-12-30T04:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T16:00:00Z"]),
    ]);
}

#[test]
fn matches_local_checks_every_field() {
    let s = schedule("30 9 * * mon-fri", NY);
    let at = |text: &str| text.parse::<NaiveDateTime>().unwrap();
    assert!(s.matches_local(at("2026-06-01T09:30:00")));
    assert!(!s.matches_local(at("2026-06-01T09:30:01")));
    assert!(!s.matches_local(at("2026-06-06T09:30:00")));
    assert!(!s.matches_local(at("2026-06-01T10:30:00")));
}

#[test]
fn never_firing_expressions_return_none_quickly() {
    for text in [
        "0 0 30 2 *",
        "0 0 31 4,6,9,11 *",
        "0 0 L-30 2 *",
        "0 0 31W 4 *",
    ] {
        let s = schedule(text, NY);
        let start = std::time::Instant::now();
        assert_eq!(s.next_after(utc("2026-01-01T00:00:00Z")), None, "{text}");
        assert_eq!(s.fires_after(utc("2026-01-01T00:00:00Z")).next(), None);
        assert!(start.elapsed() < std::time::Duration::from_millis(50));
    }
}

#[test]
#[rustfmt::skip]
fn preset_cron_text() {
    for (preset, cron) in [
        ("hourly at :15", "15 * * * *"),
        ("hourly at 15", "15 * * * *"),
        ("hourly", "0 * * * *"),
        ("daily at 02:00", "0 2 * * *"),
        ("daily", "0 0 * * *"),
        ("daily at 9:05", "5 9 * * *"),
        ("daily at 02:00:30", "30 0 2 * * *"),
        ("weekly on mon,fri at 02:00", "0 2 * * 1,5"),
        ("Weekly  On MON-FRI  at 9:30", "30 9 * * 1-5"),
        ("weekly on mon, wed and friday at 07:00", "0 7 * * 1,3,5"),
        ("weekly on sat,sun", "0 0 * * 0,6"),
        ("weekly on fri-mon at 01:00", "0 1 * * 0,1,5,6"),
        ("weekly", "0 0 * * 0"),
        ("monthly on 1 at 06:00", "0 6 1 * *"),
        ("monthly on last at 23:00", "0 23 L * *"),
        ("monthly on 1st,15th", "0 0 1,15 * *"),
        ("monthly", "0 0 1 * *"),
        ("every 5m", "*/5 * * * *"),
        ("every 30s", "*/30 * * * * *"),
        ("every 2h", "0 */2 * * *"),
        ("every 1m", "* * * * *"),
        ("every minute", "* * * * *"),
        ("every 15 minutes", "*/15 * * * *"),
        ("every 1s", "* * * * * *"),
        ("every second", "* * * * * *"),
        ("every hour", "0 * * * *"),
        ("every 60m", "0 * * * *"),
        ("every 24h", "0 0 * * *"),
        ("  EVERY   5M  ", "*/5 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@ANNUALLY", "0 0 1 1 *"),
        ("  0   2 *  * *  ", "0 2 * * *"),
        ("*/5\t* * * MON-fri", "*/5 * * * MON-fri"),
    ] {
        let s = schedule(preset, "UTC");
        assert_eq!(s.cron(), cron, "{preset}");
        assert_eq!(s.text(), preset.trim());
        // The stored cron means the same as the preset.
        let again = schedule(cron, "UTC");
        let t = utc("2026-05-17T13:14:15Z");
        assert_eq!(
            s.fires_after(t).take(5).collect::<Vec<_>>(),
            again.fires_after(t).take(5).collect::<Vec<_>>(),
            "{preset}"
        );
    }
}

#[test]
#[rustfmt::skip]
fn flags() {
    for (text, fixed, seconds) in [
        ("0 2 * * *", true, false),
        ("*/15 * * * *", false, false),
        ("0 */2 * * *", false, false),
        ("0 1,13 * * *", true, false),
        ("0 1-3 * * *", true, false),
        ("*/30 * * * * *", false, true),
        ("0 0 2 * * *", true, true),
        ("every 2h", false, false),
        ("daily at 02:00", true, false),
        ("hourly at :15", false, false),
    ] {
        let s = schedule(text, "UTC");
        assert_eq!(s.is_fixed_time(), fixed, "{text}");
        assert_eq!(s.has_seconds(), seconds, "{text}");
    }
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Schedule>();
    let s = schedule("0 2 * * *", NY);
    assert_eq!(s.timezone(), zone(NY));
    assert_eq!(s.clone(), s);
    assert_ne!(s, schedule("0 2 * * *", LONDON));
}

#[test]
#[rustfmt::skip]
fn descriptions() {
    for (text, description) in [
        ("0 2 * * *", "At 02:00 every day"),
        ("daily at 02:00", "At 02:00 every day"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("0 23 L * *", "At 23:00 on the last day of the month"),
        ("monthly on last at 23:00", "At 23:00 on the last day of the month"),
        ("*/30 * * * * *", "Every 30 seconds"),
        ("every 30s", "Every 30 seconds"),
        ("30 9 * * 1-5", "At 09:30, Monday through Friday"),
        ("30 9 * * mon-fri", "At 09:30, Monday through Friday"),
        ("0 2 * * 1,5", "At 02:00 on Monday and Friday"),
        ("* * * * *", "Every minute"),
        ("* * * * * *", "Every second"),
        ("0 * * * *", "Every hour"),
        ("0 */2 * * *", "Every 2 hours"),
        ("15 * * * *", "At 15 minutes past the hour"),
        ("hourly at :15", "At 15 minutes past the hour"),
        ("30 */3 * * *", "At 30 minutes past the hour, every 3 hours"),
        ("0 6 1 * *", "At 06:00 on day 1 of the month"),
        ("0 0 1,15 * *", "At 00:00 on days 1 and 15 of the month"),
        ("0 0 1 1 *", "At 00:00 on January 1"),
        ("@yearly", "At 00:00 on January 1"),
        ("59 23 31 12 *", "At 23:59 on December 31"),
        ("0 0 1,15 1,7 *", "At 00:00 on days 1 and 15 of January and July"),
        ("0 0 1,L * *", "At 00:00 on day 1 and the last day of the month"),
        ("0 0 */2 * mon", "At 00:00 every 2 days of the month starting on day 1, but only on Monday"),
        ("0 8-18/2 * * *", "Every 2 hours from 08:00 through 18:00"),
        ("*/10 * 9-17 * * *", "Every 10 seconds, between 09:00 and 17:59"),
        ("0 0 * 1,4,7,10 1", "At 00:00 on Monday, in January, April, July and October"),
        ("0 0 0 1 * 1", "At 00:00 on day 1 of the month or on Monday"),
        ("1 * * * *", "At 1 minute past the hour"),
        ("*/1 * * * *", "Every minute"),
        ("30 1 1,5-7 * * *", "At second 30, at 1 minute past the hour, during hours 01 and 05 through 07"),
        ("0 0 * * 5L", "At 00:00 on the last Friday of the month"),
        ("0 9 ? * mon#2", "At 09:00 on the second Monday of the month"),
        ("0 0 15W * *", "At 00:00 on the weekday nearest day 15 of the month"),
        ("0 0 LW * *", "At 00:00 on the last weekday of the month"),
        ("0 0 L-3 * *", "At 00:00 on the 3rd day before the last day of the month"),
        ("0 0 1 * mon", "At 00:00 on day 1 of the month or on Monday"),
        ("*/10 9-17 * * *", "Every 10 minutes, between 09:00 and 17:59"),
        ("*/10 9-17 * * 1-5", "Every 10 minutes, between 09:00 and 17:59, Monday through Friday"),
        ("0 2 * 3 *", "At 02:00 every day in March"),
        ("0 2 * 3-5 *", "At 02:00 every day in March through May"),
        ("0 0,12 * * *", "At 00:00 and 12:00 every day"),
        ("30 0 2 * * *", "At 02:00:30 every day"),
        ("@weekly", "At 00:00 on Sunday"),
        ("0 0 * * 0-6", "At 00:00 every day"),
        ("5/15 * * * *", "At minutes 5, 20, 35 and 50"),
        ("0 9-17 * * *", "Every hour from 09:00 through 17:00"),
        ("30 9-17 * * 1-5", "Every hour from 09:30 through 17:30, Monday through Friday"),
    ] {
        assert_eq!(schedule(text, "UTC").describe(), description, "{text}");
    }
}

/// (input, Display, span)
fn check_errors(cases: &[(&str, &str, Option<std::ops::Range<usize>>)]) {
    for (input, message, span) in cases {
        let err = Schedule::parse(input, Tz::UTC).expect_err(input);
        assert_eq!(err.to_string(), *message, "{input:?}");
        assert_eq!(err.span(), *span, "{input:?}");
        if let Some(span) = span {
            assert!(span.end <= input.len() + 1, "{input:?}");
        }
    }
}

#[test]
#[rustfmt::skip]
fn cron_errors_name_field_token_and_span() {
    check_errors(&[
        ("0 25 * * *", "cron field 2 (hour): 25 is out of range 0-23", Some(2..4)),
        ("  0 25 * * *", "cron field 2 (hour): 25 is out of range 0-23", Some(4..6)),
        ("* * * *", "expected 5 or 6 fields, found 4", Some(0..7)),
        ("* * * * * * *", "expected 5 or 6 fields, found 7", Some(0..13)),
        ("60 * * * *", "cron field 1 (minute): 60 is out of range 0-59", Some(0..2)),
        ("60 * * * * *", "cron field 1 (second): 60 is out of range 0-59", Some(0..2)),
        ("0 0 32 * *", "cron field 3 (day of month): 32 is out of range 1-31", Some(4..6)),
        ("0 0 0 * *", "cron field 3 (day of month): 0 is out of range 1-31", Some(4..5)),
        ("0 0 * 13 *", "cron field 4 (month): 13 is out of range 1-12", Some(6..8)),
        ("0 0 * * 8", "cron field 5 (day of week): 8 is out of range 0-7", Some(8..9)),
        ("0 1-99 * * *", "cron field 2 (hour): 99 is out of range 0-23", Some(4..6)),
        ("0 0 * foo *", "cron field 4 (month): \"foo\" is not valid here; expected a number 1-12 or a month name (jan-dec)", Some(6..9)),
        ("0 0 * * mondy", "cron field 5 (day of week): \"mondy\" is not valid here; expected a number 0-7 or a day name (sun-sat), optionally with L or #n", Some(8..13)),
        ("x * * * *", "cron field 1 (minute): \"x\" is not valid here; expected a number 0-59", Some(0..1)),
        ("0 mon * * *", "cron field 2 (hour): \"mon\" is not valid here; expected a number 0-23", Some(2..5)),
        ("*/0 * * * *", "cron field 1 (minute): step \"0\" must be a number 1-59", Some(2..3)),
        ("*/60 * * * *", "cron field 1 (minute): step \"60\" must be a number 1-59", Some(2..4)),
        ("0 */x * * *", "cron field 2 (hour): step \"x\" must be a number 1-23", Some(4..5)),
        ("*/ * * * *", "cron field 1 (minute): empty value (a stray comma, dash or slash?)", Some(1..2)),
        ("5-1 * * * *", "cron field 1 (minute): range 5-1 runs backwards; write it as 5-59,0-1", Some(0..3)),
        ("0 22-2 * * *", "cron field 2 (hour): range 22-2 runs backwards; write it as 22-23,0-2", Some(2..6)),
        ("1,,2 * * * *", "cron field 1 (minute): empty value (a stray comma, dash or slash?)", Some(2..3)),
        ("1, * * * *", "cron field 1 (minute): empty value (a stray comma, dash or slash?)", Some(1..2)),
        ("0 0 L * * *", "cron field 3 (hour): \"L\": L and W are only allowed in day of month, L and # only in day of week, ? only in those two", Some(4..5)),
        ("0 ? * * *", "cron field 2 (hour): \"?\": L and W are only allowed in day of month, L and # only in day of week, ? only in those two", Some(2..3)),
        ("0 0 1#2 * *", "cron field 3 (day of month): \"1#2\": L and W are only allowed in day of month, L and # only in day of week, ? only in those two", Some(4..7)),
        ("0 0 * * 1#6", "cron field 5 (day of week): \"#6\": the occurrence after # must be 1-5", Some(10..11)),
        ("0 0 * * L", "cron field 5 (day of week): a bare \"L\" is not allowed; write e.g. \"5L\" for the last Friday of the month", Some(8..9)),
        ("0 0 L-31 * *", "cron field 3 (day of month): 31 is out of range 0-30", Some(6..8)),
        ("0 0 0W * *", "cron field 3 (day of month): 0 is out of range 1-31", Some(4..5)),
        ("0 0 1-2-3 * *", "cron field 3 (day of month): \"2-3\" is not valid here; expected a number 1-31, L, L-n, nW or LW", Some(6..9)),
        ("0 0 * * 9L", "cron field 5 (day of week): 9 is out of range 0-7", Some(8..9)),
        ("@reboot", "unknown macro \"@reboot\"; expected one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually", Some(0..7)),
        ("@daily 5", "unknown macro \"@daily 5\"; expected one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually", Some(0..8)),
    ]);
    assert_eq!(Schedule::parse("   ", Tz::UTC), Err(ScheduleError::Empty));
}

#[test]
#[rustfmt::skip]
fn preset_errors() {
    check_errors(&[
        ("every 7m", "preset \"every 7m\": 7 does not divide 60; use a cron expression", Some(6..7)),
        ("every 7 minutes", "preset \"every 7 minutes\": 7 does not divide 60; use a cron expression", Some(6..7)),
        ("every 5h", "preset \"every 5h\": 5 does not divide 24; use a cron expression", Some(6..7)),
        ("every 120m", "preset \"every 120m\": 120 does not divide 60; write \"every 2h\" or use a cron expression", Some(6..9)),
        ("every 120s", "preset \"every 120s\": 120 does not divide 60; write \"every 2m\" or use a cron expression", Some(6..9)),
        ("every 0s", "preset \"every 0s\": the interval must be at least 1", Some(6..7)),
        ("every 5x", "preset \"every 5x\": unknown unit \"x\"; use s, m or h (e.g. every 5m)", Some(7..8)),
        ("every 5", "preset \"every 5\": expected a unit (s, m or h) at the end", Some(7..8)),
        ("every", "preset \"every\": expected an interval such as 5m at the end", Some(5..6)),
        ("daily at 25:00", "preset \"daily at 25:00\": hour 25 is out of range 0-23", Some(9..11)),
        ("daily at 02:60", "preset \"daily at 02:60\": minute 60 is out of range 0-59", Some(12..14)),
        ("daily at 2pm", "preset \"daily at 2pm\": \"2pm\" is not a time; write HH:MM or HH:MM:SS", Some(9..12)),
        ("daily at", "preset \"daily at\": expected a time such as 02:00 at the end", Some(8..9)),
        ("daily at 02:00 please", "preset \"daily at 02:00 please\": expected the end of the preset, found \"please\"", Some(15..21)),
        ("hourly at :75", "preset \"hourly at :75\": minute 75 is out of range 0-59", Some(11..13)),
        ("weekly on funday at 02:00", "preset \"weekly on funday at 02:00\": \"funday\" is not a day of the week; write mon, tue, ... (lists like mon,fri and ranges like mon-fri work)", Some(10..16)),
        ("weekly on mon,xx at 02:00", "preset \"weekly on mon,xx at 02:00\": \"xx\" is not a day of the week; write mon, tue, ... (lists like mon,fri and ranges like mon-fri work)", Some(14..16)),
        ("weekly on at 02:00", "preset \"weekly on at 02:00\": expected days of the week such as mon,fri, found \"at\"", Some(10..12)),
        ("monthly on 32", "preset \"monthly on 32\": \"32\" is not a day of the month; write 1-31 or last", Some(11..13)),
        ("fortnightly", "preset \"fortnightly\": unknown word \"fortnightly\"; presets start with hourly, daily, weekly, monthly or every", Some(0..11)),
        ("  daily at 24:00", "preset \"daily at 24:00\": hour 24 is out of range 0-23", Some(11..13)),
    ]);
}

#[test]
fn time_zone_names() {
    assert_eq!(
        parse_timezone("Europe/Berlin"),
        Ok(chrono_tz::Europe::Berlin)
    );
    assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
    assert_eq!(
        parse_timezone(" europe/berlin "),
        Ok(chrono_tz::Europe::Berlin)
    );
    assert_eq!(
        parse_timezone("america/new_york"),
        Ok(chrono_tz::America::New_York)
    );
    let err = parse_timezone("Europe/Berln").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown time zone \"Europe/Berln\"; did you mean \"Europe/Berlin\"?"
    );
    assert_eq!(err.span(), Some(0..12));
    let err = parse_timezone("Berlin").unwrap_err();
    assert!(err.to_string().contains("\"Europe/Berlin\""), "{err}");
    let err = parse_timezone("new york").unwrap_err();
    assert!(err.to_string().contains("\"America/New_York\""), "{err}");
    let err = parse_timezone("Mars/Olympus_Mons").unwrap_err();
    assert_eq!(err.to_string(), "unknown time zone \"Mars/Olympus_Mons\"");
    assert!(parse_timezone("").is_err());
}

#[test]
fn fires_after_is_lazy_and_matches_next_after() {
    let s = schedule("*/15 * * * *", NY);
    let start = utc("2026-11-01T04:00:00Z");
    let mut t = start;
    for fire in s.fires_after(start).take(40) {
        assert_eq!(s.next_after(t), Some(fire));
        assert_eq!(fire - t, Duration::minutes(15));
        t = fire;
    }
}

// ---------------------------------------------------------------------------
// Property tests against a brute-force reference.
// ---------------------------------------------------------------------------

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Asia/Tokyo",
    "UTC",
    "America/Santiago",
    "Europe/Dublin",
    "Pacific/Chatham",
    "Antarctica/Troll",
    "America/St_Johns",
];

fn offset_at(tz: Tz, t: DateTime<Utc>) -> i64 {
    i64::from(
        tz.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

fn local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + Duration::seconds(offset_at(tz, t))
}

/// Offset changes between 2019 and 2036, found by stepping through time.
fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = utc("2019-06-01T00:00:00Z");
    let mut prev = offset_at(tz, t);
    while t < utc("2036-01-01T00:00:00Z") {
        let next = t + Duration::hours(6);
        let off = offset_at(tz, next);
        if off != prev {
            // Narrow down to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == prev {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            out.push(hi);
            prev = off;
        }
        t = next;
    }
    out
}

/// Fires in `(from, to]` by the rules, checking every second of real time.
fn reference(s: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let tz = s.timezone();
    let mut out = Vec::new();
    let mut t = from + Duration::seconds(1)
        - Duration::nanoseconds(i64::from(from.timestamp_subsec_nanos()));
    let mut prev_offset = offset_at(tz, t - Duration::seconds(1));
    while t <= to {
        let offset = offset_at(tz, t);
        let wall = t.naive_utc() + Duration::seconds(offset);
        let mut fire = false;
        if s.matches_local(wall) {
            // Is this wall time also shown at an earlier instant (first pass of an overlap)?
            let earlier = (1..=4 * 3600 / 900).any(|k| {
                let other = t - Duration::seconds(900 * k);
                let o = offset_at(tz, other);
                o != offset && {
                    let cand = wall - Duration::seconds(o);
                    let cand = cand.and_utc();
                    cand < t && offset_at(tz, cand) == o
                }
            });
            fire = !earlier || !s.is_fixed_time();
        }
        if s.is_fixed_time() && offset > prev_offset {
            // A spring-forward instant: fixed-time slots in the skipped wall times fire now.
            let first_missing = t.naive_utc() + Duration::seconds(prev_offset);
            let mut n = first_missing;
            while n < wall {
                if s.matches_local(n) {
                    fire = true;
                    break;
                }
                n += Duration::seconds(1);
            }
        }
        if fire {
            out.push(t);
        }
        prev_offset = offset;
        t += Duration::seconds(1);
    }
    out
}

fn field(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(options)
}

fn expression() -> impl Strategy<Value = String> {
    (
        proptest::option::of(field(&["0", "*", "*/20", "30", "0,45", "10-12"])),
        field(&["*", "0", "*/15", "30", "0-10/5", "45", "*/7"]),
        field(&[
            "*", "*/2", "1", "2", "1,2", "1-3", "0-23/3", "0", "23", "*/5",
        ]),
        field(&["*", "?", "1", "L", "15W", "1,15", "L-2", "*/10", "25-31"]),
        field(&["*", "*", "3,4", "10-11", "*/2", "9-12"]),
        field(&["*", "?", "0", "1-5", "5L", "0#1", "sun", "6"]),
    )
        .prop_map(|(s, m, h, dom, mon, dow)| match s {
            Some(s) => format!("{s} {m} {h} {dom} {mon} {dow}"),
            None => format!("{m} {h} {dom} {mon} {dow}"),
        })
}

/// A window start: near a real transition of the zone, or anywhere in 2020-2035.
fn window_start(tz: Tz, pick: usize, shift: i64, anywhere: i64) -> DateTime<Utc> {
    let list = transitions(tz);
    if list.is_empty() || pick.is_multiple_of(4) {
        utc("2020-01-01T00:00:00Z") + Duration::seconds(anywhere)
    } else {
        list[pick % list.len()] + Duration::seconds(shift)
    }
}

fn check_window(s: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) {
    let expected = reference(s, from, to);
    let got: Vec<_> = s.fires_after(from).take_while(|&t| t <= to).collect();
    assert_eq!(
        got,
        expected,
        "{} in {} from {from}",
        s.cron(),
        s.timezone().name()
    );
    // next_after from arbitrary points in the window: the first reference fire after them.
    for step in [1, 7, 59, 449, 900, 3599] {
        let mut t = from;
        while t < to {
            if let Some(next) = s.next_after(t) {
                assert!(next > t);
                if let Some(&want) = expected.iter().find(|&&f| f > t) {
                    assert_eq!(next, want, "{} after {t}", s.cron());
                }
            }
            t += Duration::seconds(step * 13);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_brute_force_near_transitions(
        text in expression(),
        zone_index in 0..ZONES.len(),
        pick in 0usize..1000,
        shift in -4 * 3600i64..2 * 3600,
        anywhere in 0i64..16 * 365 * 86400,
    ) {
        let tz = zone(ZONES[zone_index]);
        let s = Schedule::parse(&text, tz).unwrap();
        let from = window_start(tz, pick, shift, anywhere);
        check_window(&s, from, from + Duration::hours(3));
    }

    #[test]
    fn fires_increase_and_chain(
        text in expression(),
        zone_index in 0..ZONES.len(),
        pick in 0usize..1000,
        shift in -30 * 3600i64..6 * 3600,
        anywhere in 0i64..16 * 365 * 86400,
    ) {
        let tz = zone(ZONES[zone_index]);
        let s = Schedule::parse(&text, tz).unwrap();
        let from = window_start(tz, pick, shift, anywhere);
        let list: Vec<_> = s.fires_after(from).take(30).collect();
        let mut prev = from;
        for (i, &fire) in list.iter().enumerate() {
            prop_assert!(fire > prev, "{} not after {}", fire, prev);
            if i > 0 {
                prop_assert_eq!(s.next_after(list[i - 1]), Some(fire));
            }
            let wall = local(tz, fire);
            if !s.matches_local(wall) {
                // Only a fixed-time gap fire may have a wall time that does not match:
                // the instant right after a spring-forward jump.
                prop_assert!(s.is_fixed_time(), "{} fired at {} ({})", text, fire, wall);
                let before = offset_at(tz, fire - Duration::seconds(1));
                prop_assert!(offset_at(tz, fire) > before, "{} fired at {} ({}), not a gap", text, fire, wall);
            }
            prev = fire;
        }
    }
}
