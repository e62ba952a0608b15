//! `Retry-After` (RFC 9110 section 10.2.3): how long a server that answered
//! 429 or 503 asks a client to wait, written as whole seconds or as an
//! HTTP-date.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};

/// The wait a `Retry-After` value asks for, counted from `now`; `None` when
/// the value is neither form, so the caller falls back to its own backoff.
/// A date in the past asks for no wait; seconds too large to count are
/// [`Duration::MAX`] (the caller caps every wait anyway).
pub fn requested_wait(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let at = SystemTime::from(http_date(value)?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An HTTP-date in any of the three forms recipients must accept (RFC 9110
/// section 5.6.7): IMF-fixdate, the obsolete RFC 850 form, and asctime's.
/// All are UTC.
fn http_date(value: &str) -> Option<DateTime<Utc>> {
    [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
    .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        SystemTime::from(http_date(text).unwrap())
    }

    #[test]
    fn seconds() {
        let now = SystemTime::now();
        assert_eq!(requested_wait("120", now), Some(Duration::from_secs(120)));
        assert_eq!(requested_wait(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            requested_wait("99999999999999999999999", now),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn dates_in_every_form_http_allows() {
        let now = at("Sun, 08 Mar 2026 02:00:00 GMT");
        for text in [
            "Sun, 08 Mar 2026 02:00:30 GMT",
            "Sunday, 08-Mar-26 02:00:30 GMT",
            "Sun Mar  8 02:00:30 2026",
        ] {
            assert_eq!(
                requested_wait(text, now),
                Some(Duration::from_secs(30)),
                "{text}"
            );
        }
        assert_eq!(
            requested_wait("Sun, 08 Mar 2026 01:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date already past asks for no wait"
        );
    }

    #[test]
    fn anything_else_is_not_a_request() {
        let now = SystemTime::now();
        for text in ["", "soon", "-5", "+5", "1.5", "5s", "Sun, 99 Mar 2026"] {
            assert_eq!(requested_wait(text, now), None, "{text:?}");
        }
    }
}
