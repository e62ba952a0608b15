//! One cron field's text -> items, with errors that point at the offending token.

use super::cron::{Field, FieldKind, Item};
use super::error::{FieldProblem, ScheduleError};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// The field being parsed, so every error can name it.
pub(crate) struct Ctx {
    pub(crate) kind: FieldKind,
    pub(crate) number: usize,
}

impl Ctx {
    fn err(&self, problem: FieldProblem, token: &str, at: usize) -> ScheduleError {
        ScheduleError::Field {
            number: self.number,
            name: self.kind.name(),
            token: token.to_string(),
            problem,
            span: at..at + token.len(),
        }
    }

    pub(crate) fn field(&self, text: &str, at: usize) -> Result<Field, ScheduleError> {
        let star = text.starts_with('*') || text.starts_with('?');
        let mut items = Vec::new();
        let mut offset = 0;
        for part in text.split(',') {
            let part_at = at + offset;
            offset += part.len() + 1;
            if part.is_empty() {
                // Underline the comma next to the hole: an empty span shows nothing.
                let comma = if offset <= text.len() {
                    part_at
                } else {
                    part_at.saturating_sub(1)
                };
                return Err(ScheduleError::Field {
                    number: self.number,
                    name: self.kind.name(),
                    token: ",".to_string(),
                    problem: FieldProblem::Empty,
                    span: comma..comma + 1,
                });
            }
            items.push(self.item(part, part_at)?);
        }
        Ok(Field { items, star })
    }

    fn item(&self, part: &str, at: usize) -> Result<Item, ScheduleError> {
        if part == "?" {
            return if self.kind.is_day() {
                Ok(Item::Any)
            } else {
                Err(self.err(
                    FieldProblem::SpecialNotAllowed {
                        token: part.to_string(),
                    },
                    part,
                    at,
                ))
            };
        }
        match self.kind {
            FieldKind::DayOfMonth => {
                if let Some(item) = self.day_of_month_special(part, at)? {
                    return Ok(item);
                }
            }
            FieldKind::DayOfWeek => {
                if let Some(item) = self.day_of_week_special(part, at)? {
                    return Ok(item);
                }
            }
            FieldKind::Month => {
                if part.contains(['#', '?']) {
                    return Err(self.special(part, at));
                }
            }
            _ => {
                if part.contains(['L', 'l', 'W', 'w', '#', '?']) {
                    return Err(self.special(part, at));
                }
            }
        }
        self.plain(part, at)
    }

    fn special(&self, part: &str, at: usize) -> ScheduleError {
        self.err(
            FieldProblem::SpecialNotAllowed {
                token: part.to_string(),
            },
            part,
            at,
        )
    }

    fn day_of_month_special(&self, part: &str, at: usize) -> Result<Option<Item>, ScheduleError> {
        if part.eq_ignore_ascii_case("L") {
            return Ok(Some(Item::LastDay(0)));
        }
        if part.eq_ignore_ascii_case("LW") {
            return Ok(Some(Item::LastWeekday));
        }
        let bytes = part.as_bytes();
        if bytes.len() > 2 && bytes[0].eq_ignore_ascii_case(&b'L') && bytes[1] == b'-' {
            let n = self.number_in(&part[2..], at + 2, 0, 30)?;
            return Ok(Some(Item::LastDay(n)));
        }
        if bytes.len() > 1 && bytes[bytes.len() - 1].eq_ignore_ascii_case(&b'W') {
            let digits = &part[..part.len() - 1];
            let n = self.number_in(digits, at, 1, 31)?;
            return Ok(Some(Item::NearestWeekday(n)));
        }
        if part.contains(['#', 'L', 'l', 'W', 'w']) {
            return Err(self.special(part, at));
        }
        Ok(None)
    }

    fn day_of_week_special(&self, part: &str, at: usize) -> Result<Option<Item>, ScheduleError> {
        if part.eq_ignore_ascii_case("L") {
            return Err(self.err(FieldProblem::AmbiguousLast, part, at));
        }
        if let Some((day, nth)) = part.split_once('#') {
            let weekday = self.value(day, at)? % 7;
            let nth_at = at + day.len() + 1;
            return match nth.parse::<u8>() {
                Ok(k) if (1..=5).contains(&k) && nth.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Some(Item::Nth(weekday, k)))
                }
                _ => Err(self.err(
                    FieldProblem::BadNth {
                        token: nth.to_string(),
                    },
                    nth,
                    nth_at,
                )),
            };
        }
        let bytes = part.as_bytes();
        // "sat"-style names never end in L, so a trailing L is always "last".
        if bytes.len() > 1
            && bytes[bytes.len() - 1].eq_ignore_ascii_case(&b'L')
            && !part.contains(['-', '/', '*'])
        {
            let weekday = self.value(&part[..part.len() - 1], at)? % 7;
            return Ok(Some(Item::LastOf(weekday)));
        }
        Ok(None)
    }

    /// `*`, `a`, `a-b`, each optionally with `/step`.
    fn plain(&self, part: &str, at: usize) -> Result<Item, ScheduleError> {
        let (base, step) = match part.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (part, None),
        };
        let step = match step {
            None => None,
            Some(token) => {
                let max_step = self.kind.star_max() - self.kind.min();
                let step_at = at + base.len() + 1;
                match token.parse::<u8>() {
                    Ok(n)
                        if n >= 1 && n <= max_step && token.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        Some(n)
                    }
                    _ if token.is_empty() => {
                        return Err(self.err(FieldProblem::Empty, "/", step_at - 1));
                    }
                    _ => {
                        return Err(self.err(
                            FieldProblem::BadStep {
                                token: token.to_string(),
                                max: max_step,
                            },
                            token,
                            step_at,
                        ));
                    }
                }
            }
        };
        if base == "*" {
            return Ok(match step {
                None => Item::Any,
                Some(step) => Item::Step {
                    start: self.kind.min(),
                    end: self.kind.star_max(),
                    step,
                    star: true,
                },
            });
        }
        let (start, end) = match base.split_once('-') {
            Some((a, b)) => {
                let start = self.value(a, at)?;
                let end = self.value(b, at + a.len() + 1)?;
                if start > end {
                    return Err(self.err(
                        FieldProblem::Backwards {
                            start,
                            end,
                            min: self.kind.min(),
                            max: self.kind.star_max(),
                        },
                        base,
                        at,
                    ));
                }
                (start, Some(end))
            }
            None => (self.value(base, at)?, None),
        };
        Ok(match (end, step) {
            (None, None) => Item::Value(start),
            (Some(end), None) => Item::Range(start, end),
            (end, Some(step)) => Item::Step {
                start,
                end: end.unwrap_or(self.kind.star_max()),
                step,
                star: false,
            },
        })
    }

    /// A number or a name, checked against the field's range.
    fn value(&self, token: &str, at: usize) -> Result<u8, ScheduleError> {
        if token.is_empty() {
            return Err(self.err(FieldProblem::Empty, token, at));
        }
        if token.bytes().all(|b| b.is_ascii_digit()) {
            return self.number_in(token, at, self.kind.min(), self.kind.max());
        }
        let names: &[&str] = match self.kind {
            FieldKind::Month => &MONTHS,
            FieldKind::DayOfWeek => &DAYS,
            _ => &[],
        };
        let base = if self.kind == FieldKind::Month { 1 } else { 0 };
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(token))
            .map(|i| i as u8 + base)
            .ok_or_else(|| {
                self.err(
                    FieldProblem::NotAValue {
                        token: token.to_string(),
                        expected: self.kind.expected(),
                    },
                    token,
                    at,
                )
            })
    }

    fn number_in(&self, token: &str, at: usize, min: u8, max: u8) -> Result<u8, ScheduleError> {
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(
                FieldProblem::NotAValue {
                    token: token.to_string(),
                    expected: self.kind.expected(),
                },
                token,
                at,
            ));
        }
        // Absurdly long digit strings are simply "out of range", not a separate error.
        let value = token.parse::<u64>().unwrap_or(u64::MAX);
        if value < u64::from(min) || value > u64::from(max) {
            return Err(self.err(FieldProblem::OutOfRange { value, min, max }, token, at));
        }
        Ok(value as u8)
    }
}
