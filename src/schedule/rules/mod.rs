//! The rules a job's slots pass through before they run: a business
//! calendar, blackout windows, bounds (`start_at`, `end_at`) and jitter.
//!
//! A slot is the nominal instant the schedule gives; it stays the slot's
//! identity (the store keeps one run per job and slot). The rules decide
//! what becomes of it, as a pure function of the slot: it runs at its time,
//! runs at another time (moved to a business day, deferred to a blackout's
//! end, delayed by jitter), or is skipped, with the reason in words. Being a
//! function of the slot alone, every instance, every restart and every
//! preview decides the same.
//!
//! The order: the calendar judges the local date, a blackout the local
//! time; a move or a deferral is judged again (a deferral to Saturday 06:00
//! may land on a day the calendar excludes) until a time passes both or a
//! few rounds find none. Jitter comes last and is dropped when it would
//! land in a blackout or on an excluded date. The bounds judge the time the
//! fire would run, so nothing ever runs outside them.

mod blackout;
mod days;
mod ics;
pub mod jitter;
mod local;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

pub use blackout::Blackout;
pub use days::{BusinessCalendar, Excluded, Exclusion, Weekdays};
pub use ics::{IcsError, exclusions as ics_exclusions};
use local::resolve_local_keeping;
pub use local::{local_text, resolve_local};

use super::{Schedule, Tz};

/// `format!` when the reason will be read, an empty string otherwise:
/// callers that only want when a fire runs skip writing why.
macro_rules! reason {
    ($explain:expr, $($arg:tt)*) => {
        if $explain {
            format!($($arg)*)
        } else {
            String::new()
        }
    };
}

/// What becomes of a slot on a date its calendar excludes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExcluded {
    /// It does not run (recorded as skipped).
    #[default]
    Skip,
    /// It runs at the same local time on the next business day.
    NextBusinessDay,
    /// It runs at the same local time on the business day before.
    PreviousBusinessDay,
}

/// What becomes of a slot inside a blackout window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBlackout {
    /// It does not run (recorded as skipped).
    #[default]
    Skip,
    /// The window's slots run once, at its end (as the last slot in it).
    Defer,
}

impl OnExcluded {
    /// The word used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            OnExcluded::Skip => "skip",
            OnExcluded::NextBusinessDay => "next_business_day",
            OnExcluded::PreviousBusinessDay => "previous_business_day",
        }
    }
}

impl OnBlackout {
    /// The word used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            OnBlackout::Skip => "skip",
            OnBlackout::Defer => "defer",
        }
    }
}

/// One slot of a job and what the rules make of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fire {
    /// The nominal instant the schedule gives: the slot's identity.
    pub slot: DateTime<Utc>,
    /// When it runs: after jitter, deferral or a move. For a skipped slot,
    /// the slot itself.
    pub at: DateTime<Utc>,
    /// Whether it runs, and why not or why elsewhere.
    pub fate: Fate,
}

/// What the rules make of a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It runs at its slot (plus its jitter, if any).
    Runs,
    /// It runs at another time; why.
    Moved(String),
    /// It does not run; why.
    Skipped(String),
}

impl Fire {
    /// Whether it runs (at its time or moved).
    pub fn runs(&self) -> bool {
        !matches!(self.fate, Fate::Skipped(_))
    }
}

/// The next fire that runs: its slot and when it runs, without the why
/// (see [`Rules::fire`] for that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextRun {
    /// The slot: the fire's identity.
    pub slot: DateTime<Utc>,
    /// When it runs.
    pub at: DateTime<Utc>,
}

/// A job's rules, resolved: the calendar's content, not only its name, so
/// that whoever holds a checked job can decide its slots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// The business calendar, if the job names one.
    pub calendar: Option<Arc<BusinessCalendar>>,
    /// What excluded dates do.
    pub on_excluded: OnExcluded,
    /// The job's blackout windows, then the scheduler's.
    pub blackouts: Vec<Blackout>,
    /// What blackouts do.
    pub on_blackout: OnBlackout,
    /// No fire runs before this.
    pub start_at: Option<DateTime<Utc>>,
    /// No fire runs after this; once past it the job has ended.
    pub end_at: Option<DateTime<Utc>>,
    /// Fires are delayed by up to this, by the fire's identity.
    pub jitter: Duration,
}

/// Moves and deferrals are judged again this many times before the slot is
/// given up as having no time clear of calendar and blackouts.
const MAX_ROUNDS: usize = 8;

/// Looking for the window's last slot, before deciding that this one is it.
const MAX_LOOKAHEAD: usize = 10_000;

/// A fire as evaluated, with the blackout end it was deferred to (if any),
/// which tells whether a later slot takes the window's one run.
struct Evaluated {
    fire: Fire,
    deferred_to: Option<DateTime<Utc>>,
}

impl Rules {
    /// No rule at all: every slot runs at its time.
    pub fn is_plain(&self) -> bool {
        self.calendar.is_none()
            && self.blackouts.is_empty()
            && self.start_at.is_none()
            && self.end_at.is_none()
            && self.jitter.is_zero()
    }

    /// Whether the job has ended at `now`: past its `end_at`.
    pub fn ended(&self, now: DateTime<Utc>) -> bool {
        self.end_at.is_some_and(|end| now > end)
    }

    /// Every slot of `schedule` strictly after `after` (and not before
    /// `start_at`), in order, each with its fate; ends after `end_at`.
    pub fn fires<'a>(
        &'a self,
        schedule: &'a Schedule,
        job: &'a str,
        after: DateTime<Utc>,
    ) -> impl Iterator<Item = Fire> + 'a {
        let from = match self.start_at {
            Some(start) if start > after => start - TimeDelta::nanoseconds(1),
            _ => after,
        };
        let end = self.end_at;
        schedule
            .fires_after(from)
            .take_while(move |slot| end.is_none_or(|end| *slot <= end))
            .map(move |slot| self.fire(schedule, job, slot))
    }

    /// The next fire after `after` that runs, looking through at most
    /// `limit` slots. Whole days a calendar skips are stepped over at once
    /// (an every-5-minutes job skips 288 slots a holiday), which is what
    /// [`Rules::fire`] would say of each of their slots.
    pub fn next_run(
        &self,
        schedule: &Schedule,
        job: &str,
        after: DateTime<Utc>,
        limit: usize,
    ) -> Option<NextRun> {
        let tz = schedule.timezone();
        let mut from = match self.start_at {
            Some(start) if start > after => start - TimeDelta::nanoseconds(1),
            _ => after,
        };
        let skip_days = self
            .calendar
            .as_ref()
            .filter(|_| self.on_excluded == OnExcluded::Skip);
        for _ in 0..limit {
            let (slot, local) = schedule.next_after_local(from)?;
            if self.end_at.is_some_and(|end| slot > end) {
                return None;
            }
            if let Some(calendar) = skip_days {
                let date = local.date();
                if calendar.excluded(date).is_some() {
                    // On to the start of the next business day at once
                    // (a weekend and a holiday are one step, not three).
                    let day = calendar.business_day_from(date, true)?;
                    let midnight = day.and_time(chrono::NaiveTime::MIN);
                    from = resolve_local(tz, midnight)? - TimeDelta::nanoseconds(1);
                    continue;
                }
            }
            let fire = self.fire_at(schedule, job, slot, local, false);
            if fire.runs() {
                return Some(NextRun {
                    slot: fire.slot,
                    at: fire.at,
                });
            }
            from = slot;
        }
        None
    }

    /// What becomes of the slot `slot` of `schedule` for job `job`.
    pub fn fire(&self, schedule: &Schedule, job: &str, slot: DateTime<Utc>) -> Fire {
        if self.is_plain() {
            return Fire {
                slot,
                at: slot,
                fate: Fate::Runs,
            };
        }
        let local = slot.with_timezone(&schedule.timezone()).naive_local();
        self.fire_at(schedule, job, slot, local, true)
    }

    /// [`Rules::fire`] of a slot whose local wall time is known. Without
    /// `explain` the reasons are left empty: for callers that only want
    /// when a fire runs (writing them was a third of a moved fire's cost).
    fn fire_at(
        &self,
        schedule: &Schedule,
        job: &str,
        slot: DateTime<Utc>,
        local: NaiveDateTime,
        explain: bool,
    ) -> Fire {
        if self.is_plain() {
            return Fire {
                slot,
                at: slot,
                fate: Fate::Runs,
            };
        }
        let evaluated = self.evaluate(schedule.timezone(), job, slot, local, explain);
        let Some(deferred_to) = evaluated.deferred_to else {
            return evaluated.fire;
        };
        // The window runs once, as its last slot: a later slot deferred to
        // the same end takes the run.
        let tz = schedule.timezone();
        let mut next = slot;
        for _ in 0..MAX_LOOKAHEAD {
            let Some(later) = schedule.next_after(next) else {
                break;
            };
            if later >= deferred_to || self.end_at.is_some_and(|end| later > end) {
                break;
            }
            next = later;
            let local = later.with_timezone(&tz).naive_local();
            let other = self.evaluate(tz, job, later, local, false);
            if !other.fire.runs() {
                continue;
            }
            if other.deferred_to == Some(deferred_to) {
                return skipped(
                    slot,
                    reason!(
                        explain,
                        "in a blackout that runs once at its end ({}), as the slot of {}",
                        local_text(tz, deferred_to),
                        local_text(tz, later)
                    ),
                );
            }
            break;
        }
        evaluated.fire
    }

    /// The earliest time any slot at or after `slot` can run: `slot`
    /// itself, unless slots may move back to the business day before.
    pub fn earliest_at(&self, tz: Tz, slot: DateTime<Utc>) -> DateTime<Utc> {
        let Some(calendar) = self
            .calendar
            .as_ref()
            .filter(|_| self.on_excluded == OnExcluded::PreviousBusinessDay)
        else {
            return slot;
        };
        let date = slot.with_timezone(&tz).date_naive();
        let day = match calendar.excluded(date) {
            None => date,
            Some(_) => match calendar.business_day_from(date, false) {
                Some(day) => day,
                None => return slot,
            },
        };
        // Local midnight of that day, less more than any zone's offset.
        let midnight = day.and_time(chrono::NaiveTime::MIN).and_utc();
        (midnight - TimeDelta::hours(16)).min(slot)
    }

    /// What the rules make of `slot`, whose local wall time is `local`.
    fn evaluate(
        &self,
        tz: Tz,
        job: &str,
        slot: DateTime<Utc>,
        local: NaiveDateTime,
        explain: bool,
    ) -> Evaluated {
        let mut at = slot;
        let mut notes: Vec<String> = Vec::new();
        let mut deferred_to = None;
        let mut settled = false;
        let mut local = local;
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            if let Some(calendar) = &self.calendar
                && let Some(excluded) = calendar.excluded(local.date())
            {
                let why = if explain {
                    calendar.why(local.date(), excluded)
                } else {
                    String::new()
                };
                let forward = match self.on_excluded {
                    OnExcluded::Skip => {
                        return Evaluated {
                            fire: skipped(slot, reason!(explain, "{why} (on_excluded = skip)")),
                            deferred_to: None,
                        };
                    }
                    OnExcluded::NextBusinessDay => true,
                    OnExcluded::PreviousBusinessDay => false,
                };
                let Some(day) = calendar.business_day_from(local.date(), forward) else {
                    return Evaluated {
                        fire: skipped(slot, reason!(explain, "{why}, and no business day is near")),
                        deferred_to: None,
                    };
                };
                let target = day.and_time(local.time());
                let Some((moved, moved_local)) = resolve_local_keeping(tz, target) else {
                    return Evaluated {
                        fire: skipped(slot, reason!(explain, "{why}, and {day} has no such time")),
                        deferred_to: None,
                    };
                };
                let which = if forward { "next" } else { "previous" };
                notes.push(reason!(
                    explain,
                    "{why}: moved to the {which} business day, {day}"
                ));
                at = moved;
                local = moved_local;
                changed = true;
            }
            if let Some((window, end)) = self.blackout_at(local) {
                match self.on_blackout {
                    OnBlackout::Skip => {
                        return Evaluated {
                            fire: skipped(
                                slot,
                                reason!(explain, "in blackout {window} (on_blackout = skip)"),
                            ),
                            deferred_to: None,
                        };
                    }
                    OnBlackout::Defer => {
                        let Some(end_at) = resolve_local(tz, end) else {
                            return Evaluated {
                                fire: skipped(
                                    slot,
                                    reason!(
                                        explain,
                                        "in blackout {window}, whose end never happens"
                                    ),
                                ),
                                deferred_to: None,
                            };
                        };
                        notes.push(reason!(
                            explain,
                            "in blackout {window}: deferred to its end, {}",
                            local_text(tz, end_at)
                        ));
                        at = end_at;
                        local = at.with_timezone(&tz).naive_local();
                        deferred_to = Some(end_at);
                        changed = true;
                    }
                }
            }
            if !changed {
                settled = true;
                break;
            }
        }
        if !settled {
            return Evaluated {
                fire: skipped(
                    slot,
                    reason!(
                        explain,
                        "no time clear of the calendar and the blackouts was found ({})",
                        notes.join("; ")
                    ),
                ),
                deferred_to: None,
            };
        }
        if !self.jitter.is_zero() {
            let delay = jitter::delay(job, slot, self.jitter);
            let delayed = TimeDelta::from_std(delay)
                .ok()
                .and_then(|d| at.checked_add_signed(d))
                .unwrap_or(at);
            if delayed != at {
                if self.clear(tz, delayed) {
                    at = delayed;
                } else {
                    notes.push(reason!(explain,
                        "jitter of {} would land on an excluded date or in a blackout: runs without it",
                        crate::config::duration::HumanDuration(delay)
                    ));
                }
            }
        }
        if let Some(start) = self.start_at
            && at < start
        {
            return Evaluated {
                fire: skipped(
                    slot,
                    reason!(
                        explain,
                        "would run at {}, before start_at ({})",
                        local_text(tz, at),
                        local_text(tz, start)
                    ),
                ),
                deferred_to: None,
            };
        }
        if let Some(end) = self.end_at
            && at > end
        {
            return Evaluated {
                fire: skipped(
                    slot,
                    reason!(
                        explain,
                        "would run at {}, after end_at ({})",
                        local_text(tz, at),
                        local_text(tz, end)
                    ),
                ),
                deferred_to: None,
            };
        }
        let fate = if notes.is_empty() {
            Fate::Runs
        } else {
            Fate::Moved(if explain {
                notes.join("; ")
            } else {
                String::new()
            })
        };
        Evaluated {
            fire: Fire { slot, at, fate },
            deferred_to,
        }
    }

    /// The first blackout window holding local time `local`, and where
    /// that occurrence of it ends.
    pub fn blackout_at(&self, local: NaiveDateTime) -> Option<(&Blackout, NaiveDateTime)> {
        self.blackouts
            .iter()
            .find_map(|w| w.end_if_inside(local).map(|end| (w, end)))
    }

    /// Whether `at` is on a date the calendar allows and outside every blackout.
    pub fn clear(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&tz).naive_local();
        self.calendar
            .as_ref()
            .is_none_or(|c| c.excluded(local.date()).is_none())
            && self.blackout_at(local).is_none()
    }

    /// The rules in a few words each, for previews: `calendar holidays
    /// (skip)`, `blackout sat 00:00-06:00 (defer)`, `jitter up to 5m`.
    pub fn summary(&self, tz: Tz) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(calendar) = &self.calendar {
            out.push(format!(
                "calendar {} (business days {}; excluded dates: {})",
                calendar.name(),
                calendar.business_days(),
                self.on_excluded.as_str()
            ));
        }
        if !self.blackouts.is_empty() {
            let windows: Vec<String> = self.blackouts.iter().map(ToString::to_string).collect();
            out.push(format!(
                "blackout {} ({})",
                windows.join(", "),
                self.on_blackout.as_str()
            ));
        }
        if let Some(start) = self.start_at {
            out.push(format!("from {}", local_text(tz, start)));
        }
        if let Some(end) = self.end_at {
            out.push(format!("until {}", local_text(tz, end)));
        }
        if !self.jitter.is_zero() {
            out.push(format!(
                "jitter up to {}",
                crate::config::duration::HumanDuration(self.jitter)
            ));
        }
        out
    }
}

fn skipped(slot: DateTime<Utc>, why: String) -> Fire {
    Fire {
        slot,
        at: slot,
        fate: Fate::Skipped(why),
    }
}
