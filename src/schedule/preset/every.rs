//! `every N{s,m,h}`: clock-aligned intervals, so N must divide the next unit.

use super::super::error::{PresetProblem, ScheduleError};
use super::{Parser, Word};

impl Parser<'_> {
    pub(super) fn every(&mut self) -> Result<String, ScheduleError> {
        let Some(word) = self.take() else {
            return Err(self.expected("an interval such as 5m", None));
        };
        let lower = word.text.to_ascii_lowercase();
        let digits_len = lower.bytes().take_while(u8::is_ascii_digit).count();
        let (n, unit_word) = if digits_len == 0 {
            (1, word)
        } else {
            let n = lower[..digits_len].parse::<u64>().unwrap_or(u64::MAX);
            if digits_len < lower.len() {
                let unit = Word {
                    at: word.at + digits_len,
                    text: &word.text[digits_len..],
                };
                (n, unit)
            } else {
                match self.take() {
                    Some(unit) => (n, unit),
                    None => return Err(self.expected("a unit (s, m or h)", None)),
                }
            }
        };
        let unit = match unit_word.text.to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 's',
            "m" | "min" | "mins" | "minute" | "minutes" => 'm',
            "h" | "hr" | "hrs" | "hour" | "hours" => 'h',
            _ => {
                return Err(self.error(
                    PresetProblem::BadUnit {
                        token: unit_word.text.to_string(),
                    },
                    Some(unit_word),
                ));
            }
        };
        let number_span = Word {
            at: word.at,
            text: if digits_len == 0 {
                word.text
            } else {
                &word.text[..digits_len]
            },
        };
        if n == 0 {
            return Err(self.error(PresetProblem::ZeroInterval, Some(number_span)));
        }
        let of: u64 = if unit == 'h' { 24 } else { 60 };
        if !of.is_multiple_of(n) {
            let instead = match unit {
                's' if n.is_multiple_of(60) && 60u64.is_multiple_of(n / 60) => {
                    Some(format!("every {}m", n / 60))
                }
                'm' if n.is_multiple_of(60) && 24u64.is_multiple_of(n / 60) => {
                    Some(format!("every {}h", n / 60))
                }
                _ => None,
            };
            return Err(self.error(
                PresetProblem::NotADivisor {
                    n,
                    of: of as u32,
                    instead,
                },
                Some(number_span),
            ));
        }
        Ok(match (unit, n) {
            ('s', 60) | ('m', 1) => "* * * * *".to_string(),
            ('s', 1) => "* * * * * *".to_string(),
            ('s', n) => format!("*/{n} * * * * *"),
            ('m', 60) | ('h', 1) => "0 * * * *".to_string(),
            ('m', n) => format!("*/{n} * * * *"),
            ('h', 24) => "0 0 * * *".to_string(),
            (_, n) => format!("0 */{n} * * *"),
        })
    }
}
