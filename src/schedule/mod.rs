//! Schedules: cron expressions and presets in an IANA time zone, and the exact
//! UTC instants they fire at, by the rules of PRODUCT.md section 2.
//!
//! Pure code, no I/O. The engine is our own (on chrono and chrono-tz) because
//! the daylight-saving rules are ours: a fixed-time job runs once on the
//! spring-forward day and once on the fall-back day, a wildcard-hour job keeps
//! its real-time spacing.

mod calendar;
mod cron;
mod describe;
mod dst;
mod error;
mod field;
mod next;
mod preset;
pub mod rules;
mod zone;

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

pub use chrono_tz::Tz;
pub use dst::{DstGap, DstOverlap, DstSpec};
pub use error::{FieldProblem, PresetProblem, ScheduleError};
pub use zone::parse_timezone;

use calendar::Calendar;
use cron::CronExpr;
use next::Finder;

/// A parsed schedule: cron or preset, plus the zone it runs in.
///
/// Cheap to clone: the parsed data is shared.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    inner: Arc<Inner>,
}

#[derive(Debug, PartialEq)]
struct Inner {
    text: String,
    cron: String,
    tz: Tz,
    expr: CronExpr,
    calendar: Calendar,
    /// What slots do in a spring-forward gap.
    gap: DstGap,
    /// Which passes of a fall-back overlap fire.
    overlap: DstOverlap,
    /// Decided once at parse time so `next_after` on `0 0 30 2 *` is instant.
    can_fire: bool,
}

/// The `@` macros of classic cron and the expressions they stand for.
const MACROS: [(&str, &str); 7] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// Presets start with one of these words; anything else with 5 or 6 words is
/// read as cron, so `x * * * *` gets a cron error naming the minute field.
fn looks_like_preset(text: &str) -> bool {
    let words = cron::words(text);
    let first = words.first().map_or("", |(_, w)| w);
    preset::KEYWORDS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(first))
        || first.starts_with(|c: char| c.is_ascii_alphabetic()) && !(5..=6).contains(&words.len())
}

impl Schedule {
    /// Parse a preset ("daily at 02:00"), an `@` macro or a 5/6-field cron expression, in zone `tz`.
    pub fn parse(text: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        let trimmed = text.trim();
        let base = text.len() - text.trim_start().len();
        if trimmed.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let (cron, expr) = if trimmed.starts_with('@') {
            let cron = MACROS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(trimmed))
                .map(|(_, cron)| *cron)
                .ok_or_else(|| ScheduleError::UnknownMacro {
                    name: trimmed.to_string(),
                    span: base..base + trimmed.len(),
                })?;
            (cron.to_string(), cron::parse_cron(cron, 0)?)
        } else if looks_like_preset(trimmed) {
            let cron = preset::to_cron(trimmed, base)?;
            let expr = cron::parse_cron(&cron, 0)?;
            (cron, expr)
        } else {
            let expr = cron::parse_cron(trimmed, base)?;
            let words: Vec<&str> = cron::words(trimmed).into_iter().map(|(_, w)| w).collect();
            (words.join(" "), expr)
        };
        let calendar = Calendar::new(&expr);
        let (gap, overlap) = dst::defaults(!expr.hour.star);
        Ok(Schedule {
            inner: Arc::new(Inner {
                text: trimmed.to_string(),
                cron,
                tz,
                gap,
                overlap,
                can_fire: calendar.can_fire(),
                expr,
                calendar,
            }),
        })
    }

    /// The schedule as the user wrote it (trimmed).
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// Canonical cron text: presets and macros as the cron they stand for,
    /// cron input as written with single spaces between fields.
    pub fn cron(&self) -> &str {
        &self.inner.cron
    }

    /// The zone the schedule runs in.
    pub fn timezone(&self) -> Tz {
        self.inner.tz
    }

    /// The hour field does not start with `*`: such schedules fire once in a
    /// spring-forward gap and once in a fall-back overlap.
    pub fn is_fixed_time(&self) -> bool {
        !self.inner.expr.hour.star
    }

    /// The same schedule with a daylight-saving policy; keys `spec` leaves
    /// out keep the default of the schedule's kind.
    pub fn with_dst(&self, spec: DstSpec) -> Schedule {
        let (gap, overlap) = dst::defaults(self.is_fixed_time());
        let gap = spec.gap.unwrap_or(gap);
        let overlap = spec.overlap.unwrap_or(overlap);
        if gap == self.inner.gap && overlap == self.inner.overlap {
            return self.clone();
        }
        Schedule {
            inner: Arc::new(Inner {
                text: self.inner.text.clone(),
                cron: self.inner.cron.clone(),
                tz: self.inner.tz,
                expr: self.inner.expr.clone(),
                calendar: self.inner.calendar.clone(),
                gap,
                overlap,
                can_fire: self.inner.can_fire,
            }),
        }
    }

    /// The daylight-saving policy in force: for a spring-forward gap and a
    /// fall-back overlap.
    pub fn dst(&self) -> (DstGap, DstOverlap) {
        (self.inner.gap, self.inner.overlap)
    }

    /// Written with a seconds field (6 fields).
    pub fn has_seconds(&self) -> bool {
        self.inner.expr.second.is_some()
    }

    /// One line of English, without the zone: "At 02:00 every day", "Every 15 minutes".
    pub fn describe(&self) -> String {
        describe::describe(&self.inner.expr)
    }

    /// Whether a local wall-clock time matches every field (ignoring the
    /// zone's gaps and overlaps). Sub-second times never match.
    pub fn matches_local(&self, local: NaiveDateTime) -> bool {
        self.inner.calendar.matches(local)
    }

    /// [`Schedule::next_after`], with the fire's local wall time.
    pub fn next_after_local(&self, after: DateTime<Utc>) -> Option<(DateTime<Utc>, NaiveDateTime)> {
        if !self.inner.can_fire {
            return None;
        }
        Finder {
            calendar: &self.inner.calendar,
            tz: self.inner.tz,
            gap: self.inner.gap,
            overlap: self.inner.overlap,
        }
        .next_after_local(after)
    }

    /// The first fire strictly after `after`. `None` only if the expression
    /// can never fire (e.g. "0 0 30 2 *") or the date range of chrono ends first.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.inner.can_fire {
            return None;
        }
        Finder {
            calendar: &self.inner.calendar,
            tz: self.inner.tz,
            gap: self.inner.gap,
            overlap: self.inner.overlap,
        }
        .next_after(after)
    }

    /// Fires strictly after `after`, increasing, lazily.
    pub fn fires_after(&self, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let mut last = after;
        std::iter::from_fn(move || {
            let next = self.next_after(last)?;
            last = next;
            Some(next)
        })
    }
}
