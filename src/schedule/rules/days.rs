//! Business calendars: which local dates a job may run on.
//!
//! Excluded dates are kept as sorted, merged ranges (a single date is a range
//! of one day), so a calendar of thousands of holidays answers with a binary
//! search; yearly dates (`12-25`) are month-day ranges checked every year.

use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};

/// Days of the week, Monday first (bit 0) to Sunday (bit 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weekdays(u8);

impl Weekdays {
    /// Every day.
    pub const ALL: Weekdays = Weekdays(0x7f);

    /// Whether `day` is among them.
    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    /// `mon-fri`, `sat,sun`, `sun-thu`, `daily`: names of three letters or
    /// more, ranges that may wrap past Sunday, commas between.
    pub fn parse(text: &str) -> Result<Weekdays, String> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("daily") || trimmed == "*" {
            return Ok(Weekdays::ALL);
        }
        let mut bits = 0u8;
        for part in trimmed.split(',') {
            let part = part.trim();
            let (from, to) = part.split_once('-').unwrap_or((part, part));
            let from = day(from)?;
            let to = day(to)?;
            let mut d = from;
            loop {
                bits |= 1 << d.num_days_from_monday();
                if d == to {
                    break;
                }
                d = d.succ();
            }
        }
        if bits == 0 {
            return Err(format!("{text:?} names no day"));
        }
        Ok(Weekdays(bits))
    }
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Weekdays::ALL {
            return f.write_str("daily");
        }
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days: Vec<&str> = (0..7)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| names[i])
            .collect();
        f.write_str(&days.join(","))
    }
}

fn day(text: &str) -> Result<Weekday, String> {
    let lower = text.trim().to_ascii_lowercase();
    let found = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ]
    .into_iter()
    .find(|(short, _)| lower.len() >= 3 && lower.starts_with(short));
    found.map(|(_, d)| d).ok_or_else(|| {
        format!("{text:?} is not a day; write mon, tue, wed, thu, fri, sat or sun, or a range such as mon-fri")
    })
}

/// One `exclude` entry: a date, a range of dates, or the same either every year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exclusion {
    /// `2026-12-24..2026-12-31` (both included) or `2026-12-25`.
    Dates(NaiveDate, NaiveDate),
    /// `12-24..12-26` or `12-25` every year, as month*100+day; a range may
    /// wrap past the new year (`12-30..01-02`).
    Yearly(u32, u32),
}

impl Exclusion {
    /// Parse one entry: `2026-12-25`, `2026-12-24..2026-12-31`, `12-25`, `12-24..12-26`.
    pub fn parse(text: &str) -> Result<Exclusion, String> {
        let trimmed = text.trim();
        let (from, to) = trimmed.split_once("..").unwrap_or((trimmed, trimmed));
        let (from, to) = (from.trim(), to.trim());
        let bad = || {
            format!(
                "{text:?} is not a date; write 2026-12-25, a range 2026-12-24..2026-12-31, or a yearly date 12-25"
            )
        };
        if from.len() == 10 && to.len() == 10 {
            let from = NaiveDate::parse_from_str(from, "%Y-%m-%d").map_err(|_| bad())?;
            let to = NaiveDate::parse_from_str(to, "%Y-%m-%d").map_err(|_| bad())?;
            if to < from {
                return Err(format!("{text:?}: the range ends before it starts"));
            }
            return Ok(Exclusion::Dates(from, to));
        }
        if from.len() == 5 && to.len() == 5 {
            return Ok(Exclusion::Yearly(
                month_day(from).ok_or_else(bad)?,
                month_day(to).ok_or_else(bad)?,
            ));
        }
        Err(bad())
    }
}

/// `12-25` as 1225, if such a day exists in some year (02-29 does).
fn month_day(text: &str) -> Option<u32> {
    let (m, d) = text.split_once('-')?;
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, m, d)?;
    Some(m * 100 + d)
}

/// A named calendar: its excluded dates and its business days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessCalendar {
    name: String,
    /// Sorted, merged, inclusive.
    ranges: Vec<(NaiveDate, NaiveDate)>,
    yearly: Vec<(u32, u32)>,
    business_days: Weekdays,
}

/// Why a date is not one a job runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Excluded {
    /// Listed under `exclude` or in the `.ics` file.
    Listed,
    /// Its weekday is not among `business_days`.
    NotABusinessDay,
}

/// Moving an excluded slot gives up after this many days of exclusions.
const MAX_SEARCH_DAYS: i64 = 3 * 366;

impl BusinessCalendar {
    /// A calendar named `name` (for messages) from its exclusions.
    pub fn new(name: &str, exclusions: &[Exclusion], business_days: Weekdays) -> Self {
        let mut ranges = Vec::new();
        let mut yearly = Vec::new();
        for e in exclusions {
            match *e {
                Exclusion::Dates(a, b) => ranges.push((a, b)),
                Exclusion::Yearly(a, b) => yearly.push((a, b)),
            }
        }
        ranges.sort();
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(ranges.len());
        for (a, b) in ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1.succ_opt().unwrap_or(last.1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        yearly.sort();
        yearly.dedup();
        BusinessCalendar {
            name: name.to_string(),
            ranges: merged,
            yearly,
            business_days,
        }
    }

    /// Its name under `[calendars]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its business days.
    pub fn business_days(&self) -> Weekdays {
        self.business_days
    }

    /// Whether (and why) `date` is excluded.
    pub fn excluded(&self, date: NaiveDate) -> Option<Excluded> {
        if !self.business_days.contains(date.weekday()) {
            return Some(Excluded::NotABusinessDay);
        }
        let i = self.ranges.partition_point(|(a, _)| *a <= date);
        if i > 0 && self.ranges[i - 1].1 >= date {
            return Some(Excluded::Listed);
        }
        if !self.yearly.is_empty() {
            let md = date.month() * 100 + date.day();
            let hit = self.yearly.iter().any(|&(a, b)| {
                if a <= b {
                    (a..=b).contains(&md)
                } else {
                    md >= a || md <= b
                }
            });
            if hit {
                return Some(Excluded::Listed);
            }
        }
        None
    }

    /// The nearest date after (`forward`) or before `date` that is not
    /// excluded; `None` if none is within three years.
    pub fn business_day_from(&self, date: NaiveDate, forward: bool) -> Option<NaiveDate> {
        let mut d = date;
        for _ in 0..MAX_SEARCH_DAYS {
            d = if forward {
                d.succ_opt()?
            } else {
                d.pred_opt()?
            };
            if self.excluded(d).is_none() {
                return Some(d);
            }
        }
        None
    }

    /// Words for a slot's reason: "2026-12-25 is excluded by calendar holidays".
    pub fn why(&self, date: NaiveDate, excluded: Excluded) -> String {
        match excluded {
            Excluded::Listed => format!("{date} is excluded by calendar {}", self.name),
            Excluded::NotABusinessDay => format!(
                "{date} is a {}, not a business day of calendar {} ({})",
                date.format("%A"),
                self.name,
                self.business_days
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn weekdays_read_names_ranges_and_wraps() {
        assert_eq!(
            Weekdays::parse("mon-fri").map(|w| w.to_string()),
            Ok("mon,tue,wed,thu,fri".into())
        );
        assert_eq!(
            Weekdays::parse("Sun-Thu").map(|w| w.to_string()),
            Ok("mon,tue,wed,thu,sun".into())
        );
        assert_eq!(
            Weekdays::parse("sat, sunday").map(|w| w.to_string()),
            Ok("sat,sun".into())
        );
        assert_eq!(
            Weekdays::parse("fri-mon").map(|w| w.to_string()),
            Ok("mon,fri,sat,sun".into())
        );
        assert!(Weekdays::parse("funday").is_err());
        assert!(Weekdays::parse("").is_err());
    }

    #[test]
    fn exclusions_of_each_shape() {
        let cal = BusinessCalendar::new(
            "holidays",
            &[
                Exclusion::parse("2026-07-03").expect("date"),
                Exclusion::parse("2026-12-24..2026-12-31").expect("range"),
                Exclusion::parse("2026-12-20..2026-12-25").expect("overlapping range"),
                Exclusion::parse("01-01").expect("yearly"),
                Exclusion::parse("12-31..01-02").expect("yearly, wrapping"),
            ],
            Weekdays::parse("mon-fri").expect("days"),
        );
        assert_eq!(cal.excluded(date("2026-07-03")), Some(Excluded::Listed));
        assert_eq!(cal.excluded(date("2026-07-02")), None);
        assert_eq!(cal.excluded(date("2026-12-21")), Some(Excluded::Listed));
        assert_eq!(cal.excluded(date("2026-12-31")), Some(Excluded::Listed));
        assert_eq!(cal.excluded(date("2029-01-01")), Some(Excluded::Listed));
        assert_eq!(cal.excluded(date("2027-01-01")), Some(Excluded::Listed));
        assert_eq!(cal.excluded(date("2030-01-02")), Some(Excluded::Listed));
        assert_eq!(cal.excluded(date("2030-01-03")), None);
        // 2026-07-04 is a Saturday.
        assert_eq!(
            cal.excluded(date("2026-07-04")),
            Some(Excluded::NotABusinessDay)
        );
        assert_eq!(
            cal.business_day_from(date("2026-07-03"), true),
            Some(date("2026-07-06"))
        );
        assert_eq!(
            cal.business_day_from(date("2026-07-03"), false),
            Some(date("2026-07-02"))
        );
        assert_eq!(
            cal.business_day_from(date("2026-12-20"), true),
            Some(date("2027-01-04"))
        );
    }

    #[test]
    fn bad_entries_say_what_to_write() {
        for bad in [
            "2026-13-01",
            "12-32",
            "christmas",
            "2026-12-31..2026-12-01",
            "2026-12-01..12-03",
        ] {
            assert!(Exclusion::parse(bad).is_err(), "{bad}");
        }
        assert!(Exclusion::parse("02-29").is_ok());
    }

    #[test]
    fn a_calendar_that_excludes_everything_gives_up() {
        let cal = BusinessCalendar::new(
            "never",
            &[Exclusion::parse("01-01..12-31").expect("all year")],
            Weekdays::ALL,
        );
        assert_eq!(cal.business_day_from(date("2026-05-05"), true), None);
    }
}
