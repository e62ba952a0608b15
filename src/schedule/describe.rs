//! One line of English for a cron expression: "At 02:00 every day",
//! "Every 15 minutes", "At 09:30, Monday through Friday".
//!
//! Common shapes get a natural sentence; anything else is described field by
//! field, which is clumsier but never wrong.

use super::calendar::item_bits;
use super::cron::{CronExpr, Field, FieldKind, Item};

const DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const ORDINALS: [&str; 6] = ["zeroth", "first", "second", "third", "fourth", "fifth"];

/// How a time field reads.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Any,
    /// `*/n`, or `min/n` over the whole range.
    Every(u8),
    Single(u8),
    Other,
}

fn shape(field: &Field, kind: FieldKind) -> Shape {
    match field.items.as_slice() {
        [Item::Any] => Shape::Any,
        [Item::Value(v)] => Shape::Single(*v),
        [
            Item::Step {
                start, end, step, ..
            },
        ] if *start == kind.min() && *end == kind.star_max() => match step {
            1 => Shape::Any,
            _ => Shape::Every(*step),
        },
        _ => Shape::Other,
    }
}

fn field_bits(field: &Field, kind: FieldKind) -> u64 {
    field.items.iter().fold(0, |acc, item| {
        acc | item_bits(item, kind.min(), kind.star_max())
    })
}

/// All values of a field written only as plain numbers, else `None`.
fn plain_values(field: &Field) -> Option<Vec<u8>> {
    let mut values: Vec<u8> = field
        .items
        .iter()
        .map(|item| match item {
            Item::Value(v) => Some(*v),
            _ => None,
        })
        .collect::<Option<_>>()?;
    values.sort_unstable();
    values.dedup();
    Some(values)
}

/// The description of a parsed expression.
pub(crate) fn describe(expr: &CronExpr) -> String {
    let (time, clock) = time_phrase(expr);
    let months = field_bits(&expr.month, FieldKind::Month) & ALL_MONTHS;
    let (days, said_months) = day_phrase(expr, months);
    let mut out = time;
    if days.is_empty() && clock {
        out.push_str(" every day");
    }
    out.push_str(&days);
    if months != ALL_MONTHS && !said_months {
        out.push_str(if days.is_empty() { " in " } else { ", in " });
        out.push_str(&month_names(months));
    }
    out
}

const ALL_MONTHS: u64 = 0x1ffe;

fn month_names(bits: u64) -> String {
    bits_text(bits, 1, 12, |m| MONTH_NAMES[usize::from(m) - 1].to_string())
}

fn hhmm(hour: u8, minute: u8, second: u8) -> String {
    if second == 0 {
        format!("{hour:02}:{minute:02}")
    } else {
        format!("{hour:02}:{minute:02}:{second:02}")
    }
}

/// The time-of-day part, and whether it names clock times ("At 02:00").
fn time_phrase(expr: &CronExpr) -> (String, bool) {
    let second = match &expr.second {
        Some(field) => shape(field, FieldKind::Second),
        None => Shape::Single(0),
    };
    let minute = shape(&expr.minute, FieldKind::Minute);
    let hour = shape(&expr.hour, FieldKind::Hour);

    // Clock times: a few hours and minutes, one second.
    if let (Shape::Single(s), Some(hours), Some(minutes)) =
        (second, plain_values(&expr.hour), plain_values(&expr.minute))
        && hours.len() * minutes.len() <= 6
    {
        let times: Vec<String> = hours
            .iter()
            .flat_map(|&h| minutes.iter().map(move |&m| hhmm(h, m, s)))
            .collect();
        return (format!("At {}", join_and(&times)), true);
    }

    // A run of hours at one minute: "Every hour from 09:30 through 17:30".
    if let (Shape::Single(s), Shape::Single(m)) = (second, minute) {
        match expr.hour.items.as_slice() {
            [Item::Range(a, b)] => {
                let text = format!(
                    "Every hour from {} through {}",
                    hhmm(*a, m, s),
                    hhmm(*b, m, s)
                );
                return (text, false);
            }
            [
                Item::Step {
                    start,
                    end,
                    step,
                    star: false,
                },
            ] => {
                let last = start + (end - start) / step * step;
                let text = format!(
                    "Every {step} hours from {} through {}",
                    hhmm(*start, m, s),
                    hhmm(last, m, s)
                );
                return (text, false);
            }
            _ => {}
        }
    }

    let common = match (second, minute, hour) {
        (Shape::Any, Shape::Any, Shape::Any) => Some("Every second".to_string()),
        (Shape::Every(n), Shape::Any, Shape::Any) => Some(format!("Every {n} seconds")),
        (Shape::Single(0), Shape::Any, Shape::Any) => Some("Every minute".to_string()),
        (Shape::Single(0), Shape::Every(n), Shape::Any) => Some(format!("Every {n} minutes")),
        (Shape::Single(0), Shape::Single(0), Shape::Any) => Some("Every hour".to_string()),
        (Shape::Single(0), Shape::Single(0), Shape::Every(n)) => Some(format!("Every {n} hours")),
        (Shape::Single(0), Shape::Single(m), Shape::Any) => {
            Some(format!("At {} past the hour", minutes(m)))
        }
        (Shape::Single(0), Shape::Single(m), Shape::Every(n)) => {
            Some(format!("At {} past the hour, every {n} hours", minutes(m)))
        }
        _ => None,
    };
    if let Some(text) = common {
        return (text, false);
    }

    let mut parts = Vec::new();
    if let Some(field) = &expr.second {
        match second {
            Shape::Single(0) => {}
            Shape::Any => parts.push("every second".to_string()),
            Shape::Every(n) => parts.push(format!("every {n} seconds")),
            Shape::Single(s) => parts.push(format!("at second {s}")),
            Shape::Other => parts.push(format!(
                "at seconds {}",
                bits_text(field_bits(field, FieldKind::Second), 0, 59, |v| v
                    .to_string())
            )),
        }
    }
    match minute {
        // "Every 10 seconds" already says every minute.
        Shape::Any if !parts.is_empty() => {}
        Shape::Any => parts.push("every minute".to_string()),
        Shape::Every(n) => parts.push(format!("every {n} minutes")),
        Shape::Single(0) if parts.is_empty() => parts.push("every hour".to_string()),
        Shape::Single(m) => parts.push(format!("at {} past the hour", minutes(m))),
        Shape::Other => parts.push(format!(
            "at minutes {}",
            bits_text(field_bits(&expr.minute, FieldKind::Minute), 0, 59, |v| {
                v.to_string()
            })
        )),
    }
    match (hour, expr.hour.items.as_slice()) {
        (Shape::Any, _) => {}
        (Shape::Every(n), _) => parts.push(format!("every {n} hours")),
        (Shape::Single(h), _) => parts.push(format!("between {h:02}:00 and {h:02}:59")),
        (_, [Item::Range(a, b)]) => parts.push(format!("between {a:02}:00 and {b:02}:59")),
        _ => parts.push(format!(
            "during hours {}",
            bits_text(field_bits(&expr.hour, FieldKind::Hour), 0, 23, |h| {
                format!("{h:02}")
            })
        )),
    }
    (capitalize(&parts.join(", ")), false)
}

/// The days part, starting with a space or comma (empty for every day), and
/// whether it already named the months.
fn day_phrase(expr: &CronExpr, months: u64) -> (String, bool) {
    let dom = &expr.day_of_month;
    let dow = &expr.day_of_week;
    // `0-6` in day of week says "every day" as surely as `*` does.
    let all_dom = all_plain(dom, FieldKind::DayOfMonth, 0xffff_fffe);
    let all_dow = all_plain(dow, FieldKind::DayOfWeek, 0x7f);

    // Calendar dates: "on January 1", "on days 1 and 15 of January and July".
    if all_dow
        && months != ALL_MONTHS
        && let Some(days) = plain_values(dom)
    {
        let text = match (days.as_slice(), months.count_ones()) {
            ([day], 1) => format!(" on {} {day}", month_names(months)),
            _ => {
                let noun = if days.len() == 1 { "day" } else { "days" };
                let list = bits_text(field_bits(dom, FieldKind::DayOfMonth), 1, 31, |d| {
                    d.to_string()
                });
                format!(" on {noun} {list} of {}", month_names(months))
            }
        };
        return (text, true);
    }

    let dom_text = (!all_dom).then(|| dom_phrase(dom));
    let dow_text = (!all_dow).then(|| dow_phrase(dow));
    let text = match (dom_text, dow_text) {
        (None, None) => String::new(),
        (Some(d), None) => format!(" {d}"),
        // A span of weekdays reads best bare: "At 09:30, Monday through Friday".
        (None, Some((w, true))) => format!(", {w}"),
        (None, Some((w, false))) => format!(" on {w}"),
        // Vixie cron: both restricted means either may match.
        (Some(d), Some((w, _))) if !dom.star && !dow.star => format!(" {d} or on {w}"),
        (Some(d), Some((w, _))) => format!(" {d}, but only on {w}"),
    };
    (text, false)
}

/// Days of the month with their preposition: "on day 1 of the month",
/// "every 2 days of the month starting on day 1".
fn dom_phrase(field: &Field) -> String {
    if let [
        Item::Step {
            start, end, step, ..
        },
    ] = field.items.as_slice()
    {
        let through = if *end == 31 {
            String::new()
        } else {
            format!(" through day {end}")
        };
        return format!("every {step} days of the month starting on day {start}{through}");
    }
    let mut nouns = Vec::new();
    let mut plain = 0u64;
    for item in &field.items {
        match *item {
            Item::LastDay(0) => nouns.push("the last day".to_string()),
            Item::LastDay(1) => nouns.push("the day before the last day".to_string()),
            Item::LastDay(n) => {
                nouns.push(format!("the {} day before the last day", nth(u32::from(n))));
            }
            Item::NearestWeekday(d) => nouns.push(format!("the weekday nearest day {d}")),
            Item::LastWeekday => nouns.push("the last weekday".to_string()),
            ref other => plain |= item_bits(other, 1, 31),
        }
    }
    if plain != 0 {
        let noun = if plain.count_ones() > 1 {
            "days"
        } else {
            "day"
        };
        let list = bits_text(plain, 1, 31, |d| d.to_string());
        nouns.insert(0, format!("{noun} {list}"));
    }
    format!("on {} of the month", join_and(&nouns))
}

/// The weekdays, and whether they are one plain span such as Monday through Friday.
fn dow_phrase(field: &Field) -> (String, bool) {
    let mut phrases = Vec::new();
    let mut plain = 0u64;
    for item in &field.items {
        match *item {
            Item::LastOf(w) => {
                phrases.push(format!(
                    "the last {} of the month",
                    DAY_NAMES[usize::from(w)]
                ));
            }
            Item::Nth(w, k) => phrases.push(format!(
                "the {} {} of the month",
                ORDINALS[usize::from(k)],
                DAY_NAMES[usize::from(w)]
            )),
            ref other => {
                let bits = item_bits(other, 0, 6);
                plain |= (bits | bits >> 7) & 0x7f;
            }
        }
    }
    let span = phrases.is_empty() && is_one_run(plain) && plain.count_ones() >= 3;
    if plain != 0 {
        phrases.insert(
            0,
            bits_text(plain, 0, 6, |d| DAY_NAMES[usize::from(d)].to_string()),
        );
    }
    (join_and(&phrases), span)
}

fn is_one_run(bits: u64) -> bool {
    let shifted = bits >> bits.trailing_zeros();
    bits != 0 && shifted & (shifted + 1) == 0
}

/// Values in `bits` (within `min..=max`) as text: runs of three or more read
/// "Monday through Friday".
fn bits_text(bits: u64, min: u8, max: u8, name: impl Fn(u8) -> String) -> String {
    let mut parts = Vec::new();
    let mut v = min;
    while v <= max {
        if bits & (1 << v) == 0 {
            v += 1;
            continue;
        }
        let start = v;
        while v < max && bits & (1 << (v + 1)) != 0 {
            v += 1;
        }
        match v - start {
            0 => parts.push(name(start)),
            1 => {
                parts.push(name(start));
                parts.push(name(v));
            }
            _ => parts.push(format!("{} through {}", name(start), name(v))),
        }
        v += 1;
    }
    join_and(&parts)
}

/// Whether a field's plain items cover every value (and it has no specials).
fn all_plain(field: &Field, kind: FieldKind, all: u64) -> bool {
    let mut bits = 0u64;
    for item in &field.items {
        match item {
            Item::Any | Item::Value(_) | Item::Range(..) | Item::Step { .. } => {
                bits |= item_bits(item, kind.min(), kind.star_max());
            }
            _ => return false,
        }
    }
    if kind == FieldKind::DayOfWeek {
        bits |= bits >> 7;
    }
    bits & all == all
}

fn minutes(m: u8) -> String {
    if m == 1 {
        "1 minute".to_string()
    } else {
        format!("{m} minutes")
    }
}

/// 2nd, 3rd, 11th, 21st...
fn nth(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
