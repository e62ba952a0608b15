//! Local wall times and the instants they stand for, in a job's zone: for
//! moves, deferrals and the text of reasons.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};

use super::super::Tz;

/// `2026-12-05 06:00 EST`, for reasons and previews.
pub fn local_text(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// [`resolve_local`], with the local wall time of the instant found: the
/// one given, but for a time in a gap (then that gap's end).
pub(super) fn resolve_local_keeping(
    tz: Tz,
    local: NaiveDateTime,
) -> Option<(DateTime<Utc>, NaiveDateTime)> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
            Some((t.with_timezone(&Utc), local))
        }
        LocalResult::None => {
            let at = resolve_local(tz, local)?;
            Some((at, at.with_timezone(&tz).naive_local()))
        }
    }
}

/// The instant a local wall time stands for: the first of two in a
/// fall-back overlap, the end of the gap for one a spring-forward skips.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // Gaps are whole minutes (at most a few hours): the first minute
            // after `local` that exists is the gap's end.
            let minute = local - TimeDelta::seconds(i64::from(chrono::Timelike::second(&local)));
            (1..=24 * 60).find_map(|k| {
                match tz.from_local_datetime(&(minute + TimeDelta::minutes(k))) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        Some(t.with_timezone(&Utc))
                    }
                    LocalResult::None => None,
                }
            })
        }
    }
}
