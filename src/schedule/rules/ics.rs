//! All-day events of an RFC 5545 (iCalendar) file as excluded dates.
//!
//! Holiday feeds list each holiday as an all-day event (`DTSTART;VALUE=DATE`),
//! often once per year, sometimes with `RRULE:FREQ=YEARLY`. Timed events are
//! not days off and are left out. Other recurrence rules are refused rather
//! than half-read: a holiday silently missed would run a job on it.

use chrono::{Datelike, NaiveDate};
use icalendar::{CalendarComponent, Component, DatePerhapsTime};

use super::days::Exclusion;

/// Why an `.ics` text could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    /// Not iCalendar at all.
    #[error("does not parse as iCalendar (RFC 5545): {0}")]
    Parse(String),
    /// Parsed, but not a calendar of events.
    #[error("has no VCALENDAR with events")]
    NoEvents,
    /// An all-day event with a recurrence this reader does not expand.
    #[error(
        "event {summary:?}: RRULE {rule:?} is not supported; list the dates, or use FREQ=YEARLY alone"
    )]
    Recurrence {
        /// The event's SUMMARY.
        summary: String,
        /// The rule as written.
        rule: String,
    },
    /// An all-day event that ends before it starts.
    #[error("event {0:?}: DTEND is before DTSTART")]
    EndsBeforeStart(String),
}

/// The all-day events of `text` as exclusions: each event's days
/// (DTEND is exclusive, as RFC 5545 says), or its month-days every year.
pub fn exclusions(text: &str) -> Result<Vec<Exclusion>, IcsError> {
    if !text.trim_start().starts_with("BEGIN:VCALENDAR") {
        return Err(IcsError::Parse(
            "it does not start with BEGIN:VCALENDAR".into(),
        ));
    }
    let calendar: icalendar::Calendar = text.parse().map_err(IcsError::Parse)?;
    let mut out = Vec::new();
    let mut events = 0usize;
    for component in &calendar.components {
        let CalendarComponent::Event(event) = component else {
            continue;
        };
        events += 1;
        let Some(DatePerhapsTime::Date(start)) = event.get_start() else {
            continue;
        };
        let summary = event.get_summary().unwrap_or("").to_string();
        let last = match event.get_end() {
            Some(DatePerhapsTime::Date(end)) => {
                if end < start {
                    return Err(IcsError::EndsBeforeStart(summary));
                }
                // DTEND names the first day after the event.
                end.pred_opt().filter(|d| *d >= start).unwrap_or(start)
            }
            _ => start,
        };
        match event.property_value("RRULE") {
            None => out.push(Exclusion::Dates(start, last)),
            Some(rule) if is_plain_yearly(rule) => {
                out.push(Exclusion::Yearly(month_day(start), month_day(last)));
            }
            Some(rule) => {
                return Err(IcsError::Recurrence {
                    summary,
                    rule: rule.to_string(),
                });
            }
        }
    }
    if events == 0 {
        return Err(IcsError::NoEvents);
    }
    Ok(out)
}

fn month_day(date: NaiveDate) -> u32 {
    date.month() * 100 + date.day()
}

/// `FREQ=YEARLY`, optionally with `INTERVAL=1`, and nothing else.
fn is_plain_yearly(rule: &str) -> bool {
    let mut yearly = false;
    for part in rule.split(';') {
        match part.trim().to_ascii_uppercase().as_str() {
            "FREQ=YEARLY" => yearly = true,
            "INTERVAL=1" | "" => {}
            _ => return false,
        }
    }
    yearly
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    const HOLIDAYS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20260101\r\nSUMMARY:New Year\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:3\r\nDTSTART:20260704T090000Z\r\nDTEND:20260704T100000Z\r\nSUMMARY:A meeting\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:4\r\nDTSTART;VALUE=DATE:20260525\r\nSUMMARY:Memorial Day\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn all_day_events_become_dates_and_yearly_dates() {
        let got = exclusions(HOLIDAYS).expect("parses");
        assert_eq!(
            got,
            vec![
                Exclusion::Dates(date("2026-12-25"), date("2026-12-26")),
                Exclusion::Yearly(101, 101),
                Exclusion::Dates(date("2026-05-25"), date("2026-05-25")),
            ]
        );
    }

    #[test]
    fn what_is_not_a_usable_calendar_is_refused() {
        assert!(matches!(exclusions("hello"), Err(IcsError::Parse(_))));
        assert!(matches!(
            exclusions("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
            Err(IcsError::NoEvents)
        ));
        let monthly = HOLIDAYS.replace("RRULE:FREQ=YEARLY", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1");
        assert!(matches!(
            exclusions(&monthly),
            Err(IcsError::Recurrence { .. })
        ));
    }
}
