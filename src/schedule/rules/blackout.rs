//! Blackout windows, in the job's local (wall-clock) time: weekly ones
//! (`sat 00:00-06:00`, `mon-fri 12:00-13:00`, `22:00-02:00` every day) and
//! one-off ones (`2026-12-24T18:00/2026-12-27T00:00`). A window holds its
//! start and not its end, so a deferred run at the end is outside it.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

use super::days::Weekdays;

const DAY_MINUTES: u32 = 24 * 60;

/// One blackout window as written, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blackout {
    text: String,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Starts on each of `days` at `start` minutes after midnight and lasts
    /// `minutes` (it may run past midnight into the next day).
    Weekly {
        days: Weekdays,
        start: u32,
        minutes: u32,
    },
    /// From `start` up to `end`, local time.
    Once {
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
}

impl fmt::Display for Blackout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Blackout {
    /// Parse `[days] HH:MM-HH:MM` or `YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM`.
    pub fn parse(text: &str) -> Result<Blackout, String> {
        let trimmed = text.trim();
        let kind = if let Some((start, end)) = trimmed.split_once('/') {
            let start = local_datetime(start.trim()).ok_or_else(|| once_help(text))?;
            let end = local_datetime(end.trim()).ok_or_else(|| once_help(text))?;
            if end <= start {
                return Err(format!("{text:?}: the window ends before it starts"));
            }
            Kind::Once { start, end }
        } else {
            let (days, times) = match trimmed.rsplit_once(char::is_whitespace) {
                Some((days, times)) => (Weekdays::parse(days)?, times),
                None => (Weekdays::ALL, trimmed),
            };
            let (from, to) = times.split_once('-').ok_or_else(|| weekly_help(text))?;
            let start = minute_of_day(from).filter(|m| *m < DAY_MINUTES);
            let end = minute_of_day(to);
            let (Some(start), Some(end)) = (start, end) else {
                return Err(weekly_help(text));
            };
            if end == start {
                return Err(format!("{text:?}: the window is empty"));
            }
            let minutes = if end > start {
                end - start
            } else {
                end + DAY_MINUTES - start
            };
            if minutes == 0 || minutes > DAY_MINUTES {
                return Err(format!("{text:?}: the window is empty"));
            }
            Kind::Weekly {
                days,
                start,
                minutes,
            }
        };
        Ok(Blackout {
            text: trimmed.to_string(),
            kind,
        })
    }

    /// If local time `local` is inside this window, the local time the
    /// window (this occurrence of it) ends.
    pub fn end_if_inside(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        match &self.kind {
            Kind::Once { start, end } => (*start <= local && local < *end).then_some(*end),
            Kind::Weekly {
                days,
                start,
                minutes,
            } => {
                let minute = local.hour() * 60 + local.minute();
                let date = local.date();
                // The occurrence that started today, or the one that started
                // yesterday and runs past midnight.
                let today = minute >= *start && minute - start < *minutes;
                let from_yesterday =
                    start + minutes > DAY_MINUTES && minute < start + minutes - DAY_MINUTES;
                let began = if today && days.contains(date.weekday()) {
                    date
                } else if from_yesterday {
                    let yesterday = date.pred_opt()?;
                    if !days.contains(yesterday.weekday()) {
                        return None;
                    }
                    yesterday
                } else {
                    return None;
                };
                Some(at_minute(began, start + minutes))
            }
        }
    }
}

fn at_minute(date: NaiveDate, minutes: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + TimeDelta::minutes(i64::from(minutes))
}

/// `06:00` as 360; `24:00` is the end of the day.
fn minute_of_day(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || h == 24 && m == 0)).then_some(h * 60 + m)
}

fn local_datetime(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })
}

fn weekly_help(text: &str) -> String {
    format!(
        "{text:?} is not a blackout window; write days and local times such as \"sat 00:00-06:00\" or \"mon-fri 12:00-13:00\", or two local times such as \"2026-12-24T18:00/2026-12-27T00:00\""
    )
}

fn once_help(text: &str) -> String {
    format!(
        "{text:?} is not a blackout window; write two local times such as \"2026-12-24T18:00/2026-12-27T00:00\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> NaiveDateTime {
        local_datetime(text).expect("local time")
    }

    fn end(window: &str, at: &str) -> Option<NaiveDateTime> {
        Blackout::parse(window)
            .expect(window)
            .end_if_inside(local(at))
    }

    #[test]
    fn weekly_windows_hold_their_start_not_their_end() {
        // 2026-12-05 is a Saturday.
        assert_eq!(
            end("sat 00:00-06:00", "2026-12-05T00:00"),
            Some(local("2026-12-05T06:00"))
        );
        assert_eq!(
            end("sat 00:00-06:00", "2026-12-05T05:59"),
            Some(local("2026-12-05T06:00"))
        );
        assert_eq!(end("sat 00:00-06:00", "2026-12-05T06:00"), None);
        assert_eq!(end("sat 00:00-06:00", "2026-12-04T23:59"), None);
        assert_eq!(end("sat 00:00-06:00", "2026-12-06T01:00"), None);
    }

    #[test]
    fn windows_past_midnight_belong_to_the_day_they_start() {
        // Friday 22:00 to Saturday 02:00.
        assert_eq!(
            end("fri 22:00-02:00", "2026-12-04T23:00"),
            Some(local("2026-12-05T02:00"))
        );
        assert_eq!(
            end("fri 22:00-02:00", "2026-12-05T01:30"),
            Some(local("2026-12-05T02:00"))
        );
        assert_eq!(end("fri 22:00-02:00", "2026-12-06T01:30"), None);
        assert_eq!(
            end("fri 22:00-24:00", "2026-12-04T23:59"),
            Some(local("2026-12-05T00:00"))
        );
        assert_eq!(
            end("22:00-02:00", "2026-12-06T01:30"),
            Some(local("2026-12-06T02:00"))
        );
        assert_eq!(
            end("mon-fri 12:00-13:00", "2026-12-07T12:30"),
            Some(local("2026-12-07T13:00"))
        );
        assert_eq!(end("mon-fri 12:00-13:00", "2026-12-06T12:30"), None);
    }

    #[test]
    fn one_off_windows() {
        let w = "2026-12-24T18:00/2026-12-27T00:00";
        assert_eq!(end(w, "2026-12-24T18:00"), Some(local("2026-12-27T00:00")));
        assert_eq!(end(w, "2026-12-26T23:59"), Some(local("2026-12-27T00:00")));
        assert_eq!(end(w, "2026-12-24T17:59"), None);
        assert_eq!(end(w, "2026-12-27T00:00"), None);
    }

    #[test]
    fn bad_windows_say_what_to_write() {
        for bad in [
            "sat",
            "sat 25:00-26:00",
            "sat 06:00",
            "caturday 00:00-06:00",
            "sat 06:00-06:00",
            "2026-12-27T00:00/2026-12-24T18:00",
            "2026-12-24T18:00/tomorrow",
            "",
        ] {
            assert!(Blackout::parse(bad).is_err(), "{bad}");
        }
    }
}
