//! From local matches to UTC fires, by the rules of PRODUCT.md section 2.
//!
//! Candidates are walked in local (naive) order, which is real-time order
//! everywhere except in a fall-back overlap: there the first pass of the
//! repeated hour comes before its second pass, and both come before anything
//! after the overlap. So when a candidate lands in an overlap, the overlap is
//! settled as a whole: first the earliest first-pass fire after `after`
//! (unless the DST policy is `overlap = "last"`), then the earliest
//! second-pass fire (unless it is `"first"`, a fixed-time schedule's
//! default), then on past it.
//!
//! The walk starts at `after`'s own local time. That misses second-pass fires
//! whose local time is *earlier* than `after`'s (`after` = 01:50 EDT, fire at
//! 01:00 EST): the offset dropped between `after` and the fire. So when the fire
//! found has a smaller offset than `after`, the walk is redone once from
//! `after`'s local time under that smaller offset.

use chrono::{DateTime, Datelike, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::calendar::{CYCLE_YEARS, Calendar};
use super::dst::{DstGap, DstOverlap};

/// Offsets never reach 16 hours, so local time and UTC are within that of each other.
const MAX_OFFSET_SECS: i64 = 16 * 3600;

/// The engine for one schedule: its calendar, its zone and its DST policy.
pub(crate) struct Finder<'a> {
    pub(crate) calendar: &'a Calendar,
    pub(crate) tz: Tz,
    /// Whether slots in a spring-forward gap fire at the gap's end.
    pub(crate) gap: DstGap,
    /// Which passes of a fall-back overlap fire.
    pub(crate) overlap: DstOverlap,
}

/// A fire: the UTC instant (as naive UTC) and the zone's offset there.
type Fire = (NaiveDateTime, i32);

impl Finder<'_> {
    /// The first fire strictly after `after`.
    pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_fire(after).map(|(fire, _)| fire.and_utc())
    }

    /// The first fire strictly after `after`, with its local wall time
    /// (known here for free; a caller that needs it saves a zone lookup).
    pub(crate) fn next_after_local(
        &self,
        after: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, NaiveDateTime)> {
        let (fire, offset) = self.next_fire(after)?;
        Some((fire.and_utc(), to_local(fire, offset)?))
    }

    fn next_fire(&self, after: DateTime<Utc>) -> Option<Fire> {
        let after = after.naive_utc();
        let after_offset = self.offset_at(after);
        // A calendar that matches at all matches within one 400-year cycle.
        let limit = after.year().saturating_add(CYCLE_YEARS + 1);
        let (fire, offset) = self.scan(after, ceil_local(after, after_offset)?, limit)?;
        if offset >= after_offset {
            return Some((fire, offset));
        }
        self.scan(after, ceil_local(after, offset)?, limit)
    }

    /// The first fire after `after` among candidates whose local time is at or after `from`.
    fn scan(&self, after: NaiveDateTime, from: NaiveDateTime, limit: i32) -> Option<Fire> {
        let mut candidate = self.calendar.next_match(from, limit)?;
        loop {
            let resume = match self.tz.offset_from_local_datetime(&candidate) {
                LocalResult::Single(offset) => {
                    let offset = offset.fix().local_minus_utc();
                    let fire = to_utc(candidate, offset)?;
                    if fire > after {
                        return Some((fire, offset));
                    }
                    candidate.checked_add_signed(TimeDelta::seconds(1))?
                }
                LocalResult::None => {
                    let (end, offset) = self.gap_end(candidate)?;
                    if self.gap == DstGap::After && end > after {
                        return Some((end, offset));
                    }
                    // Every other slot in this gap maps to the same `end` or to nothing.
                    to_local(end, offset)?
                }
                LocalResult::Ambiguous(first, second) => {
                    let first = first.fix().local_minus_utc();
                    let second = second.fix().local_minus_utc();
                    match self.overlap(after, candidate, first, second, limit)? {
                        Ok(fire) => return Some(fire),
                        Err(overlap_end) => overlap_end,
                    }
                }
            };
            candidate = self.calendar.next_match(resume, limit)?;
        }
    }

    /// Settles an overlap containing `candidate` (offset `first` on the first
    /// pass, `second` on the second): `Ok(fire)`, or `Err(local end of overlap)`
    /// to continue from. `None` only on arithmetic overflow.
    fn overlap(
        &self,
        after: NaiveDateTime,
        candidate: NaiveDateTime,
        first: i32,
        second: i32,
        limit: i32,
    ) -> Option<Result<Fire, NaiveDateTime>> {
        let early = to_utc(candidate, first)?.and_utc().timestamp();
        let late = to_utc(candidate, second)?.and_utc().timestamp();
        // The fall-back instant: the first second whose offset is no longer `first`.
        let transition = first_true(early, late, |t| {
            DateTime::from_timestamp(t, 0).is_some_and(|t| self.offset_at(t.naive_utc()) != first)
        });
        let transition = DateTime::from_timestamp(transition, 0)?.naive_utc();
        let start = to_local(transition, second)?;
        let end = to_local(transition, first)?;

        if self.overlap != DstOverlap::Last {
            let first_pass = self
                .calendar
                .next_match(start.max(ceil_local(after, first)?), limit);
            if let Some(local) = first_pass.filter(|&local| local < end) {
                return Some(Ok((to_utc(local, first)?, first)));
            }
        }
        if self.overlap != DstOverlap::First {
            let second_pass = self
                .calendar
                .next_match(start.max(ceil_local(after, second)?), limit);
            if let Some(local) = second_pass.filter(|&local| local < end) {
                return Some(Ok((to_utc(local, second)?, second)));
            }
        }
        Some(Err(end))
    }

    /// The first instant after the spring-forward gap that swallows `local`,
    /// with the offset from then on: the first instant whose local time is past `local`.
    fn gap_end(&self, local: NaiveDateTime) -> Option<Fire> {
        let pivot = local.and_utc().timestamp();
        let passed = |t: i64| {
            DateTime::from_timestamp(t, 0).is_some_and(|t| {
                let t = t.naive_utc();
                t + TimeDelta::seconds(i64::from(self.offset_at(t))) > local
            })
        };
        let end = first_true(pivot - MAX_OFFSET_SECS, pivot + MAX_OFFSET_SECS, passed);
        let end = DateTime::from_timestamp(end, 0)?.naive_utc();
        Some((end, self.offset_at(end)))
    }

    fn offset_at(&self, utc: NaiveDateTime) -> i32 {
        self.tz
            .offset_from_utc_datetime(&utc)
            .fix()
            .local_minus_utc()
    }
}

/// The smallest `t` in `(lo, hi]` with `pred(t)`, given `!pred(lo)` and `pred(hi)`
/// and a predicate that flips once in between.
fn first_true(mut lo: i64, mut hi: i64, pred: impl Fn(i64) -> bool) -> i64 {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The first whole local second strictly after `after` (UTC) seen with `offset`.
fn ceil_local(after: NaiveDateTime, offset: i32) -> Option<NaiveDateTime> {
    let local = to_local(after, offset)?;
    let whole = local.checked_sub_signed(TimeDelta::nanoseconds(i64::from(
        local.and_utc().timestamp_subsec_nanos(),
    )))?;
    whole.checked_add_signed(TimeDelta::seconds(1))
}

fn to_local(utc: NaiveDateTime, offset: i32) -> Option<NaiveDateTime> {
    utc.checked_add_signed(TimeDelta::seconds(i64::from(offset)))
}

fn to_utc(local: NaiveDateTime, offset: i32) -> Option<NaiveDateTime> {
    local.checked_sub_signed(TimeDelta::seconds(i64::from(offset)))
}
