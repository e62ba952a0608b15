//! Cron text -> fields of items (`field.rs` reads each field), with errors
//! that point at the offending token.
//!
//! The items are kept (not only the bitsets built from them) because the
//! description is written from what the user wrote: `*/15` reads as "every 15
//! minutes", which a bitset alone cannot tell from `0,15,30,45`.

use super::error::ScheduleError;
use super::field::Ctx;

/// Which cron field a piece of text belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl FieldKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldKind::Second => "second",
            FieldKind::Minute => "minute",
            FieldKind::Hour => "hour",
            FieldKind::DayOfMonth => "day of month",
            FieldKind::Month => "month",
            FieldKind::DayOfWeek => "day of week",
        }
    }

    pub(crate) fn min(self) -> u8 {
        match self {
            FieldKind::DayOfMonth | FieldKind::Month => 1,
            _ => 0,
        }
    }

    /// Largest value accepted when reading (7 is Sunday too in day of week).
    pub(crate) fn max(self) -> u8 {
        match self {
            FieldKind::Second | FieldKind::Minute => 59,
            FieldKind::Hour => 23,
            FieldKind::DayOfMonth => 31,
            FieldKind::Month => 12,
            FieldKind::DayOfWeek => 7,
        }
    }

    /// Largest value a `*` covers (day of week stops at Saturday so `*/2` is 0,2,4,6).
    pub(crate) fn star_max(self) -> u8 {
        match self {
            FieldKind::DayOfWeek => 6,
            other => other.max(),
        }
    }

    pub(crate) fn expected(self) -> &'static str {
        match self {
            FieldKind::Second | FieldKind::Minute => "a number 0-59",
            FieldKind::Hour => "a number 0-23",
            FieldKind::DayOfMonth => "a number 1-31, L, L-n, nW or LW",
            FieldKind::Month => "a number 1-12 or a month name (jan-dec)",
            FieldKind::DayOfWeek => "a number 0-7 or a day name (sun-sat), optionally with L or #n",
        }
    }

    pub(crate) fn is_day(self) -> bool {
        matches!(self, FieldKind::DayOfMonth | FieldKind::DayOfWeek)
    }
}

/// One comma-separated part of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// `*` or `?`.
    Any,
    Value(u8),
    Range(u8, u8),
    /// `*/n` (star), `a/n` or `a-b/n`.
    Step {
        start: u8,
        end: u8,
        step: u8,
        star: bool,
    },
    /// Day of month `L` (0) or `L-n`: n days before the last day.
    LastDay(u8),
    /// Day of month `nW`: the weekday nearest day n, within the month.
    NearestWeekday(u8),
    /// Day of month `LW`: the last weekday of the month.
    LastWeekday,
    /// Day of week `nL`: the last such weekday of the month (0 = Sunday).
    LastOf(u8),
    /// Day of week `n#k`: the k-th such weekday of the month.
    Nth(u8, u8),
}

/// A parsed field: its items and whether it was written unrestricted
/// (`*...` or `?`), which decides how day of month and day of week combine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) items: Vec<Item>,
    pub(crate) star: bool,
}

/// A parsed 5- or 6-field expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CronExpr {
    /// `None` for a 5-field expression (second 0).
    pub(crate) second: Option<Field>,
    pub(crate) minute: Field,
    pub(crate) hour: Field,
    pub(crate) day_of_month: Field,
    pub(crate) month: Field,
    pub(crate) day_of_week: Field,
}

/// Splits on whitespace, keeping each word's byte offset.
pub(crate) fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// Parses a cron expression; `base` is added to spans so they index the caller's text.
pub(crate) fn parse_cron(text: &str, base: usize) -> Result<CronExpr, ScheduleError> {
    let fields = words(text);
    let kinds: &[FieldKind] = match fields.len() {
        5 => &[
            FieldKind::Minute,
            FieldKind::Hour,
            FieldKind::DayOfMonth,
            FieldKind::Month,
            FieldKind::DayOfWeek,
        ],
        6 => &[
            FieldKind::Second,
            FieldKind::Minute,
            FieldKind::Hour,
            FieldKind::DayOfMonth,
            FieldKind::Month,
            FieldKind::DayOfWeek,
        ],
        found => {
            return Err(ScheduleError::FieldCount {
                found,
                span: base..base + text.len(),
            });
        }
    };
    let mut parsed = Vec::with_capacity(6);
    for (i, (&kind, &(at, word))) in kinds.iter().zip(&fields).enumerate() {
        let ctx = Ctx {
            kind,
            number: i + 1,
        };
        parsed.push(ctx.field(word, base + at)?);
    }
    let second = (parsed.len() == 6).then(|| parsed.remove(0));
    let count = parsed.len();
    let [minute, hour, day_of_month, month, day_of_week]: [Field; 5] =
        parsed.try_into().map_err(|_| ScheduleError::FieldCount {
            found: count,
            span: base..base + text.len(),
        })?;
    Ok(CronExpr {
        second,
        minute,
        hour,
        day_of_month,
        month,
        day_of_week,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_offsets() {
        assert_eq!(words("  0  2\t* "), vec![(2, "0"), (5, "2"), (7, "*")]);
    }

    #[test]
    fn items() {
        let e = parse_cron("*/15 1-3,5 L-2,15W 2/3 mon#2,friL", 0).unwrap();
        assert_eq!(
            e.minute.items,
            vec![Item::Step {
                start: 0,
                end: 59,
                step: 15,
                star: true
            }]
        );
        assert_eq!(e.hour.items, vec![Item::Range(1, 3), Item::Value(5)]);
        assert_eq!(
            e.day_of_month.items,
            vec![Item::LastDay(2), Item::NearestWeekday(15)]
        );
        assert_eq!(
            e.month.items,
            vec![Item::Step {
                start: 2,
                end: 12,
                step: 3,
                star: false
            }]
        );
        assert_eq!(e.day_of_week.items, vec![Item::Nth(1, 2), Item::LastOf(5)]);
        assert!(e.minute.star && !e.hour.star);
    }
}
