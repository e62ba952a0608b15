//! Presets written in words, turned into the cron text they are stored as.
//!
//! ```text
//! hourly [at :MM]                  -> M * * * *
//! daily [at HH:MM[:SS]]            -> M H * * *
//! weekly [on DAYS] [at HH:MM]      -> M H * * DAYS      (DAYS: mon,fri  mon-fri)
//! monthly [on DAYS] [at HH:MM]     -> M H DAYS * *      (DAYS: 1,15  last)
//! every N{s,m,h} | every minute    -> */N ...           (N must divide 60 or 24)
//! ```

mod days;
mod every;

use super::cron::words;
use super::error::{PresetProblem, ScheduleError};

/// The words a preset can start with.
pub(crate) const KEYWORDS: [&str; 5] = ["hourly", "daily", "weekly", "monthly", "every"];

/// A word of the preset and where it starts in the caller's text.
#[derive(Clone, Copy)]
struct Word<'a> {
    at: usize,
    text: &'a str,
}

struct Parser<'a> {
    preset: &'a str,
    base: usize,
    words: Vec<Word<'a>>,
    next: usize,
}

/// Turns a preset into cron text. `base` is where `text` starts in the caller's text.
pub(crate) fn to_cron(text: &str, base: usize) -> Result<String, ScheduleError> {
    let mut p = Parser {
        preset: text,
        base,
        words: words(text)
            .into_iter()
            .map(|(at, text)| Word { at, text })
            .collect(),
        next: 0,
    };
    let Some(first) = p.take() else {
        return Err(p.expected("a preset", None));
    };
    let word = first.text.to_ascii_lowercase();
    let cron = match word.as_str() {
        "hourly" => p.hourly()?,
        "daily" => {
            let time = p.at_time()?;
            time.cron("*", "*")
        }
        "weekly" => {
            let days = if p.eat("on") {
                p.weekdays()?
            } else {
                "0".to_string()
            };
            p.at_time()?.cron("*", &days)
        }
        "monthly" => {
            let days = if p.eat("on") {
                p.month_days()?
            } else {
                "1".to_string()
            };
            p.at_time()?.cron(&days, "*")
        }
        "every" => p.every()?,
        _ => {
            return Err(p.error(
                PresetProblem::UnknownPreset {
                    word: first.text.to_string(),
                },
                Some(first),
            ));
        }
    };
    match p.take() {
        None => Ok(cron),
        Some(extra) => Err(p.expected("the end of the preset", Some(extra))),
    }
}

/// A time of day; seconds only when written, so "02:00" stays a 5-field cron.
struct Time {
    hour: u8,
    minute: u8,
    second: Option<u8>,
}

impl Time {
    fn cron(&self, day_of_month: &str, day_of_week: &str) -> String {
        let five = format!(
            "{} {} {day_of_month} * {day_of_week}",
            self.minute, self.hour
        );
        match self.second {
            Some(second) => format!("{second} {five}"),
            None => five,
        }
    }
}

impl<'a> Parser<'a> {
    fn take(&mut self) -> Option<Word<'a>> {
        let word = self.words.get(self.next).copied();
        self.next += usize::from(word.is_some());
        word
    }

    fn peek(&self) -> Option<Word<'a>> {
        self.words.get(self.next).copied()
    }

    /// Consumes `keyword` (any case) if it is next.
    fn eat(&mut self, keyword: &str) -> bool {
        let found = self
            .peek()
            .is_some_and(|w| w.text.eq_ignore_ascii_case(keyword));
        self.next += usize::from(found);
        found
    }

    fn error(&self, problem: PresetProblem, word: Option<Word<'_>>) -> ScheduleError {
        let span = match word {
            Some(w) => self.base + w.at..self.base + w.at + w.text.len(),
            // Missing word: point just past the end of what was written.
            None => {
                let end = self.base + self.preset.len();
                end..end + 1
            }
        };
        ScheduleError::Preset {
            preset: self.preset.to_string(),
            problem,
            span,
        }
    }

    fn expected(&self, expected: &'static str, found: Option<Word<'_>>) -> ScheduleError {
        self.error(
            PresetProblem::Expected {
                expected,
                found: found.map(|w| w.text.to_string()).unwrap_or_default(),
            },
            found,
        )
    }

    /// An error about part of a word: `offset..offset+len` within it.
    fn error_in(
        &self,
        problem: PresetProblem,
        word: Word<'_>,
        offset: usize,
        len: usize,
    ) -> ScheduleError {
        let start = self.base + word.at + offset;
        ScheduleError::Preset {
            preset: self.preset.to_string(),
            problem,
            span: start..start + len.max(1),
        }
    }

    fn hourly(&mut self) -> Result<String, ScheduleError> {
        if !self.eat("at") {
            return Ok("0 * * * *".to_string());
        }
        let Some(word) = self.take() else {
            return Err(self.expected("a minute such as :15", None));
        };
        let text = word.text.strip_prefix(':').unwrap_or(word.text);
        let skip = word.text.len() - text.len();
        let mut parts = text.split(':');
        let minute = self.number(word, parts.next(), skip, "minute", 59)?;
        let second = match parts.next() {
            None => None,
            Some(s) => Some(self.number(word, Some(s), skip + minute.1 + 1, "second", 59)?),
        };
        if parts.next().is_some() {
            return Err(self.error(
                PresetProblem::BadTime {
                    token: word.text.to_string(),
                },
                Some(word),
            ));
        }
        Ok(match second {
            Some((second, _)) => format!("{second} {} * * * *", minute.0),
            None => format!("{} * * * *", minute.0),
        })
    }

    /// `at HH:MM[:SS]` if present, else midnight.
    fn at_time(&mut self) -> Result<Time, ScheduleError> {
        if !self.eat("at") {
            return Ok(Time {
                hour: 0,
                minute: 0,
                second: None,
            });
        }
        let Some(word) = self.take() else {
            return Err(self.expected("a time such as 02:00", None));
        };
        let bad = || PresetProblem::BadTime {
            token: word.text.to_string(),
        };
        let parts: Vec<&str> = word.text.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(self.error(bad(), Some(word)));
        }
        let mut offset = 0;
        let mut values = [0u8; 3];
        for (i, (part, (name, max))) in parts
            .iter()
            .zip([("hour", 23), ("minute", 59), ("second", 59)])
            .enumerate()
        {
            values[i] = self.number(word, Some(part), offset, name, max)?.0;
            offset += part.len() + 1;
        }
        Ok(Time {
            hour: values[0],
            minute: values[1],
            second: (parts.len() == 3).then_some(values[2]),
        })
    }

    /// A number within `word` (at byte `offset`), 0..=max. Returns it and its length.
    fn number(
        &self,
        word: Word<'_>,
        part: Option<&str>,
        offset: usize,
        name: &'static str,
        max: u8,
    ) -> Result<(u8, usize), ScheduleError> {
        let part = part.unwrap_or("");
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(
                PresetProblem::BadTime {
                    token: word.text.to_string(),
                },
                Some(word),
            ));
        }
        let value = part.parse::<u64>().unwrap_or(u64::MAX);
        if value > u64::from(max) {
            return Err(self.error_in(
                PresetProblem::TimeOutOfRange {
                    part: name,
                    value,
                    max,
                },
                word,
                offset,
                part.len(),
            ));
        }
        Ok((value as u8, part.len()))
    }
}
