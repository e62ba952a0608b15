//! Which days: `mon,fri`, `mon-fri` for weekly; `1,15`, `last` for monthly.

use super::super::error::{PresetProblem, ScheduleError};
use super::Parser;

impl Parser<'_> {
    /// Day names up to `at`: `mon,fri`, `mon-fri`, `mon, wed and fri`.
    pub(super) fn weekdays(&mut self) -> Result<String, ScheduleError> {
        let mut days = 0u8;
        while let Some(word) = self.peek() {
            if word.text.eq_ignore_ascii_case("at") {
                break;
            }
            self.next += 1;
            if word.text.eq_ignore_ascii_case("and") {
                continue;
            }
            let mut offset = 0;
            for part in word.text.split(',') {
                let part_at = offset;
                offset += part.len() + 1;
                if part.is_empty() {
                    continue;
                }
                let bad = |p: &Self| {
                    p.error_in(
                        PresetProblem::BadWeekday {
                            token: part.to_string(),
                        },
                        word,
                        part_at,
                        part.len(),
                    )
                };
                let (a, b) = match part.split_once('-') {
                    Some((a, b)) => (weekday(a), weekday(b)),
                    None => (weekday(part), weekday(part)),
                };
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(bad(self));
                };
                // Ranges may wrap past Saturday: fri-mon is fri, sat, sun, mon.
                let mut d = a;
                loop {
                    days |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
        }
        if days == 0 {
            let found = self.peek();
            return Err(self.expected("days of the week such as mon,fri", found));
        }
        Ok(compress(days))
    }

    /// Days of the month up to `at`: `1`, `1,15`, `last`, `1st`.
    pub(super) fn month_days(&mut self) -> Result<String, ScheduleError> {
        let mut items = Vec::new();
        while let Some(word) = self.peek() {
            if word.text.eq_ignore_ascii_case("at") {
                break;
            }
            self.next += 1;
            if word.text.eq_ignore_ascii_case("and") {
                continue;
            }
            let mut offset = 0;
            for part in word.text.split(',') {
                let part_at = offset;
                offset += part.len() + 1;
                if part.is_empty() {
                    continue;
                }
                let lower = part.to_ascii_lowercase();
                if lower == "last" {
                    items.push("L".to_string());
                    continue;
                }
                let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                let suffix_ok = matches!(&lower[digits.len()..], "" | "st" | "nd" | "rd" | "th");
                match digits.parse::<u8>() {
                    Ok(d) if (1..=31).contains(&d) && suffix_ok => items.push(d.to_string()),
                    _ => {
                        return Err(self.error_in(
                            PresetProblem::BadMonthDay {
                                token: part.to_string(),
                            },
                            word,
                            part_at,
                            part.len(),
                        ));
                    }
                }
            }
        }
        if items.is_empty() {
            let found = self.peek();
            return Err(self.expected("a day of the month such as 1 or last", found));
        }
        Ok(items.join(","))
    }
}

/// A weekday name or its prefix of at least three letters: "mon", "tues", "thursday".
fn weekday(text: &str) -> Option<u8> {
    const NAMES: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    let lower = text.trim().to_ascii_lowercase();
    if lower.len() < 3 {
        return None;
    }
    NAMES
        .iter()
        .position(|name| name.starts_with(&lower))
        .map(|i| i as u8)
}

/// Weekday bits as cron text: runs of three or more become ranges; all seven is `*`.
fn compress(days: u8) -> String {
    if days == 0x7f {
        return "*".to_string();
    }
    let mut parts = Vec::new();
    let mut d = 0u8;
    while d < 7 {
        if days & (1 << d) == 0 {
            d += 1;
            continue;
        }
        let start = d;
        while d + 1 < 7 && days & (1 << (d + 1)) != 0 {
            d += 1;
        }
        match d - start {
            0 => parts.push(start.to_string()),
            1 => parts.push(format!("{start},{d}")),
            _ => parts.push(format!("{start}-{d}")),
        }
        d += 1;
    }
    parts.join(",")
}
