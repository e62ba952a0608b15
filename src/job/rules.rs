//! A job's calendar, blackouts, bounds and jitter: checked against what the
//! config defines and resolved into [`Rules`], each problem naming its key.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::{JobSpec, Known};
use crate::schedule::Tz;
use crate::schedule::rules::{Blackout, Rules, resolve_local};

/// Jitter longer than this is refused: it would be a second schedule.
const MAX_JITTER: Duration = Duration::from_secs(24 * 3600);

/// The rules of `spec` in zone `tz`; problems go to `fail` (key, message).
pub(super) fn resolve(
    spec: &JobSpec,
    tz: Tz,
    known: &Known,
    fail: &mut impl FnMut(&str, String),
) -> Rules {
    let calendar = spec.calendar.as_ref().and_then(|name| {
        let found = known.calendars.get(name).cloned();
        if found.is_none() {
            let defined: Vec<&str> = known.calendars.keys().map(String::as_str).collect();
            let hint = if defined.is_empty() {
                "no [calendars] are defined in the config".to_string()
            } else {
                format!("defined: {}", defined.join(", "))
            };
            fail(
                "calendar",
                format!("{name:?} is not defined under [calendars] in the config ({hint})"),
            );
        }
        found
    });
    if spec.on_excluded.is_some() && spec.calendar.is_none() {
        fail(
            "on_excluded",
            "needs a calendar: set calendar = \"NAME\"".into(),
        );
    }
    let mut blackouts = Vec::with_capacity(spec.blackout.len() + known.blackout.len());
    for (i, text) in spec.blackout.iter().enumerate() {
        match Blackout::parse(text) {
            Ok(window) => blackouts.push(window),
            Err(message) => fail(&format!("blackout[{i}]"), message),
        }
    }
    blackouts.extend(known.blackout.iter().cloned());
    let start_at = bound(spec.start_at.as_deref(), tz, "start_at", fail);
    let end_at = bound(spec.end_at.as_deref(), tz, "end_at", fail);
    if let (Some(start), Some(end)) = (start_at, end_at)
        && end <= start
    {
        fail("end_at", format!("is not after start_at ({start})"));
    }
    let jitter = spec.jitter.map_or(Duration::ZERO, |d| d.0);
    if jitter > MAX_JITTER {
        fail("jitter", "must be at most 1d".into());
    }
    Rules {
        calendar,
        on_excluded: spec.on_excluded.unwrap_or_default(),
        blackouts,
        on_blackout: spec.on_blackout.unwrap_or_default(),
        start_at,
        end_at,
        jitter,
    }
}

/// An RFC 3339 instant, or a local `2026-01-01T09:00` / `2026-01-01` in the job's zone.
fn bound(
    text: Option<&str>,
    tz: Tz,
    key: &str,
    fail: &mut impl FnMut(&str, String),
) -> Option<DateTime<Utc>> {
    let text = text?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        });
    match local.and_then(|local| resolve_local(tz, local)) {
        Some(t) => Some(t),
        None => {
            fail(
                key,
                format!(
                    "{text:?} is not a time; write 2026-01-01, 2026-01-01T09:00 (in the job's zone) or an RFC 3339 instant"
                ),
            );
            None
        }
    }
}
