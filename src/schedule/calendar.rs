//! The fields as bitsets, and the search for the next matching local (naive)
//! date-time. Nothing here knows about time zones.
//!
//! Days are found a month at a time: one `u32` mask of the matching days of a
//! month (built from day of month, day of week and their specials) turns "which
//! day next" into a bit scan, so sparse schedules skip whole months and years.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::cron::{CronExpr, Field, Item};

/// Bits 0, 7, 14, 21, 28: one weekday's days in a month, before shifting.
const WEEKLY: u64 = 1 | 1 << 7 | 1 << 14 | 1 << 21 | 1 << 28;

/// The calendar repeats every 400 years, so a schedule that matches nothing in
/// 400 consecutive years matches nothing ever.
pub(crate) const CYCLE_YEARS: i32 = 400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Calendar {
    seconds: u64,
    minutes: u64,
    hours: u32,
    /// Bits 1-12.
    months: u16,
    /// Bits 1-31 for plain days of month.
    dom_days: u32,
    /// Bit n for `L-n`.
    dom_last: u32,
    /// Bit d for `dW`.
    dom_nearest: u32,
    dom_last_weekday: bool,
    /// Bits 0-6 (0 = Sunday) for plain weekdays.
    dow_days: u8,
    /// Bit w for `wL`.
    dow_last: u8,
    /// `dow_nth[w]` has bit k for `w#k`.
    dow_nth: [u8; 7],
    /// Both day fields restricted: a day matches when either matches (Vixie cron).
    either: bool,
    /// No specials and no restriction: every day of a matching month matches.
    every_day: bool,
}

impl Calendar {
    pub(crate) fn new(expr: &CronExpr) -> Calendar {
        let seconds = match &expr.second {
            Some(field) => bits(field, 0, 59),
            None => 1,
        };
        let mut cal = Calendar {
            seconds,
            minutes: bits(&expr.minute, 0, 59),
            hours: bits(&expr.hour, 0, 23) as u32,
            months: bits(&expr.month, 1, 12) as u16,
            dom_days: 0,
            dom_last: 0,
            dom_nearest: 0,
            dom_last_weekday: false,
            dow_days: 0,
            dow_last: 0,
            dow_nth: [0; 7],
            either: !expr.day_of_month.star && !expr.day_of_week.star,
            every_day: false,
        };
        for item in &expr.day_of_month.items {
            match *item {
                Item::LastDay(n) => cal.dom_last |= 1 << n,
                Item::NearestWeekday(d) => cal.dom_nearest |= 1 << d,
                Item::LastWeekday => cal.dom_last_weekday = true,
                _ => cal.dom_days |= item_bits(item, 1, 31) as u32,
            }
        }
        for item in &expr.day_of_week.items {
            match *item {
                Item::LastOf(w) => cal.dow_last |= 1 << w,
                Item::Nth(w, k) => cal.dow_nth[usize::from(w)] |= 1 << k,
                _ => {
                    let raw = item_bits(item, 0, 6);
                    // 7 is Sunday as well as 0.
                    cal.dow_days |= ((raw | raw >> 7) & 0x7f) as u8;
                }
            }
        }
        let all_dom = cal.dom_days == ALL_DAYS
            && cal.dom_last == 0
            && cal.dom_nearest == 0
            && !cal.dom_last_weekday;
        let all_dow = cal.dow_days == 0x7f;
        cal.every_day = all_dom && all_dow;
        cal
    }

    /// Matching days of `year-month` as bits 1-31.
    pub(crate) fn day_mask(&self, year: i32, month: u32) -> u32 {
        let dim = days_in_month(year, month);
        let valid = (((1u64 << (dim + 1)) - 2) & 0xffff_fffe) as u32;
        if self.every_day {
            return valid;
        }
        let first = weekday_of_first(year, month);
        let dom = self.dom_mask(dim, first, valid);
        let dow = self.dow_mask(dim, first, valid);
        if self.either { dom | dow } else { dom & dow }
    }

    fn dom_mask(&self, dim: u32, first: u32, valid: u32) -> u32 {
        let mut mask = self.dom_days & valid;
        let mut last = self.dom_last;
        while last != 0 {
            let n = last.trailing_zeros();
            last &= last - 1;
            if n < dim {
                mask |= 1 << (dim - n);
            }
        }
        let mut nearest = self.dom_nearest;
        while nearest != 0 {
            let d = nearest.trailing_zeros();
            nearest &= nearest - 1;
            // A day the month does not have has no nearest weekday either.
            if d <= dim {
                mask |= 1 << nearest_weekday(d, dim, first);
            }
        }
        if self.dom_last_weekday {
            mask |= 1 << nearest_weekday(dim, dim, first);
        }
        mask
    }

    fn dow_mask(&self, dim: u32, first: u32, valid: u32) -> u32 {
        let mut mask = 0u64;
        for w in 0..7u32 {
            let plain = self.dow_days & (1 << w) != 0;
            let last = self.dow_last & (1 << w) != 0;
            let nth = self.dow_nth[w as usize];
            if !plain && !last && nth == 0 {
                continue;
            }
            // Day of month of this weekday's first occurrence.
            let f = 1 + (w + 7 - first) % 7;
            if plain {
                mask |= WEEKLY << f;
            }
            if last {
                mask |= 1 << (f + 7 * ((dim - f) / 7));
            }
            let mut nth = nth;
            while nth != 0 {
                let k = nth.trailing_zeros();
                nth &= nth - 1;
                mask |= 1 << (f + 7 * (k - 1));
            }
        }
        (mask as u32) & valid
    }

    /// The first matching time of day at or after `h:m:s`.
    fn next_time(&self, h: u32, m: u32, s: u32) -> Option<(u32, u32, u32)> {
        if self.hours & (1 << h) != 0 {
            if self.minutes & (1 << m) != 0
                && let Some(s) = next_bit(self.seconds, s)
            {
                return Some((h, m, s));
            }
            if let Some(m) = next_bit(self.minutes, m + 1) {
                return Some((h, m, self.seconds.trailing_zeros()));
            }
        }
        let h = next_bit(u64::from(self.hours), h + 1)?;
        Some((
            h,
            self.minutes.trailing_zeros(),
            self.seconds.trailing_zeros(),
        ))
    }

    /// The first matching local date-time at or after `from` (whole seconds),
    /// searching no further than the end of `limit_year`.
    pub(crate) fn next_match(&self, from: NaiveDateTime, limit_year: i32) -> Option<NaiveDateTime> {
        let mut year = from.year();
        let mut month = from.month();
        let mut day = from.day();
        let (mut h, mut m, mut s) = (from.hour(), from.minute(), from.second());
        loop {
            if year > limit_year {
                return None;
            }
            match next_bit(u64::from(self.months), month) {
                Some(next) if next == month => {}
                Some(next) => {
                    month = next;
                    (day, h, m, s) = (1, 0, 0, 0);
                }
                None => {
                    year += 1;
                    month = self.months.trailing_zeros();
                    (day, h, m, s) = (1, 0, 0, 0);
                    continue;
                }
            }
            let mut days = u64::from(self.day_mask(year, month)) >> day << day;
            while days != 0 {
                let d = days.trailing_zeros();
                let time = if d == day {
                    self.next_time(h, m, s)
                } else {
                    self.next_time(0, 0, 0)
                };
                if let Some((h, m, s)) = time {
                    let date = NaiveDate::from_ymd_opt(year, month, d)?;
                    return Some(date.and_time(NaiveTime::from_hms_opt(h, m, s)?));
                }
                days &= days - 1;
            }
            month += 1;
            (day, h, m, s) = (1, 0, 0, 0);
            if month > 12 {
                month = 1;
                year += 1;
            }
        }
    }

    /// Whether a local date-time (whole seconds) matches every field.
    pub(crate) fn matches(&self, t: NaiveDateTime) -> bool {
        self.months & (1 << t.month()) != 0
            && self.day_mask(t.year(), t.month()) & (1 << t.day()) != 0
            && self.hours & (1 << t.hour()) != 0
            && self.minutes & (1 << t.minute()) != 0
            && self.seconds & (1 << t.second()) != 0
            && t.nanosecond() == 0
    }

    /// Whether any date ever matches (e.g. not `30 2`, February 30th).
    pub(crate) fn can_fire(&self) -> bool {
        (2000..2000 + CYCLE_YEARS).any(|year| {
            (1..=12).any(|month| self.months & (1 << month) != 0 && self.day_mask(year, month) != 0)
        })
    }
}

const ALL_DAYS: u32 = 0xffff_fffe;

/// The bits an unrestricted field sets, or the union of its items.
fn bits(field: &Field, min: u8, max: u8) -> u64 {
    field
        .items
        .iter()
        .fold(0, |acc, item| acc | item_bits(item, min, max))
}

pub(crate) fn item_bits(item: &Item, min: u8, max: u8) -> u64 {
    let range = |a: u8, b: u8, step: u8| {
        (a..=b)
            .step_by(usize::from(step.max(1)))
            .fold(0u64, |acc, v| acc | 1 << v)
    };
    match *item {
        Item::Any => range(min, max, 1),
        Item::Value(v) => 1 << v,
        Item::Range(a, b) => range(a, b, 1),
        Item::Step {
            start, end, step, ..
        } => range(start, end, step),
        // Specials are handled by the day masks.
        _ => 0,
    }
}

fn next_bit(mask: u64, from: u32) -> Option<u32> {
    if from >= 64 {
        return None;
    }
    let rest = mask >> from << from;
    (rest != 0).then(|| rest.trailing_zeros())
}

pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// 0 = Sunday; Sakamoto's method, valid for the proleptic Gregorian calendar.
fn weekday_of_first(year: i32, month: u32) -> u32 {
    const T: [i64; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = i64::from(if month < 3 { year - 1 } else { year });
    let w = y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) + T[month as usize - 1] + 1;
    w.rem_euclid(7) as u32
}

/// The weekday nearest day `d` without leaving the month (Quartz `W`).
fn nearest_weekday(d: u32, dim: u32, first: u32) -> u32 {
    match (first + d - 1) % 7 {
        6 if d == 1 => 3,
        6 => d - 1,
        0 if d == dim => d - 2,
        0 => d + 1,
        _ => d,
    }
}

#[cfg(test)]
mod tests {
    use super::super::cron::parse_cron;
    use super::*;
    use chrono::Weekday;

    #[test]
    fn weekday_formula_matches_chrono() {
        for year in [1900, 1999, 2000, 2024, 2026, 2100, 2400, -5] {
            for month in 1..=12 {
                let d = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
                assert_eq!(
                    weekday_of_first(year, month),
                    d.weekday().num_days_from_sunday()
                );
                let next = d.checked_add_months(chrono::Months::new(1)).unwrap();
                assert_eq!(days_in_month(year, month) as i64, (next - d).num_days());
            }
        }
    }

    /// Day matching by the definitions, one day at a time, to check the masks.
    fn slow_day_match(expr: &CronExpr, date: NaiveDate) -> bool {
        let dim = days_in_month(date.year(), date.month());
        let d = date.day();
        let wd = date.weekday();
        let is_weekday = |day: u32| {
            let w = NaiveDate::from_ymd_opt(date.year(), date.month(), day)
                .unwrap()
                .weekday();
            w != Weekday::Sat && w != Weekday::Sun
        };
        let nearest = |target: u32| {
            if target > dim {
                return None;
            }
            // Search outward from the target, staying in the month, preferring earlier.
            for delta in 0..3i64 {
                for cand in [target as i64 - delta, target as i64 + delta] {
                    if cand >= 1 && cand <= dim as i64 && is_weekday(cand as u32) {
                        return Some(cand as u32);
                    }
                }
            }
            None
        };
        let dom = expr.day_of_month.items.iter().any(|item| match *item {
            Item::Any => true,
            Item::LastDay(n) => dim > u32::from(n) && d == dim - u32::from(n),
            Item::NearestWeekday(t) => nearest(u32::from(t)) == Some(d),
            Item::LastWeekday => (1..=dim).rev().find(|&x| is_weekday(x)) == Some(d),
            other => item_bits(&other, 1, 31) & (1 << d) != 0,
        });
        let w = wd.num_days_from_sunday();
        let dow = expr.day_of_week.items.iter().any(|item| match *item {
            Item::Any => true,
            Item::LastOf(x) => x as u32 == w && d + 7 > dim,
            Item::Nth(x, k) => x as u32 == w && (d - 1) / 7 + 1 == k as u32,
            other => {
                let b = item_bits(&other, 0, 6);
                (b | b >> 7) & (1 << w) != 0
            }
        });
        if !expr.day_of_month.star && !expr.day_of_week.star {
            dom || dow
        } else {
            dom && dow
        }
    }

    #[test]
    fn day_masks_match_definitions() {
        let exprs = [
            "0 0 * * *",
            "0 0 L * *",
            "0 0 L-3 * *",
            "0 0 L-30 * *",
            "0 0 15W * *",
            "0 0 1W * *",
            "0 0 31W * *",
            "0 0 LW * *",
            "0 0 * * 5L",
            "0 0 ? * mon#2",
            "0 0 ? * 1#5",
            "0 0 1,15 * mon",
            "0 0 */2 * mon",
            "0 0 13 * fri",
            "0 0 * * 0-7/2",
            "0 0 L,1W * 5-7",
            "0 0 ? * sun#1,satL,wed",
        ];
        for text in exprs {
            let expr = parse_cron(text, 0).unwrap();
            let cal = Calendar::new(&expr);
            let mut date = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
            while date.year() < 2030 {
                let mask = cal.day_mask(date.year(), date.month());
                assert_eq!(
                    mask & (1 << date.day()) != 0,
                    slow_day_match(&expr, date),
                    "{text} on {date}"
                );
                date = date.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn never_firing() {
        for (text, fires) in [
            ("0 0 30 2 *", false),
            ("0 0 31 4,6,9,11 *", false),
            ("0 0 29 2 *", true),
            ("0 0 ? 2 1#5", true),
            ("0 0 ? 2 1#5", true),
            ("0 0 L-30 2 *", false),
            ("0 0 31W 2 *", false),
        ] {
            let cal = Calendar::new(&parse_cron(text, 0).unwrap());
            assert_eq!(cal.can_fire(), fires, "{text}");
        }
    }
}
