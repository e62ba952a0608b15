//! Durations as operators write them: `"90s"`, `"10m"`, `"2h"`, `"7d"`, `"1h30m"`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration parsed from text; it remembers nothing but the length and
/// prints itself back in the largest units that are exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("empty duration; write e.g. \"90s\", \"10m\", \"2h\" or \"7d\"")]
    Empty,
    /// A number without a unit, or an unknown unit.
    #[error("{0:?} is not a duration; write a number and a unit: ms, s, m, h or d (e.g. \"10m\")")]
    Malformed(String),
    /// So long that it overflows.
    #[error("{0:?} is too long")]
    TooLong(String),
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DurationError::Empty);
        }
        let malformed = || DurationError::Malformed(text.to_string());
        let mut total_ms: u64 = 0;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(malformed());
            }
            let number: u64 = rest[..digits].parse().map_err(|_| malformed())?;
            rest = rest[digits..].trim_start();
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit_ms: u64 = match &rest[..unit_len] {
                "ms" => 1,
                "s" | "sec" | "secs" => 1_000,
                "m" | "min" | "mins" => 60_000,
                "h" | "hr" | "hrs" => 3_600_000,
                "d" | "day" | "days" => 86_400_000,
                _ => return Err(malformed()),
            };
            rest = rest[unit_len..].trim_start();
            let part = number
                .checked_mul(unit_ms)
                .ok_or_else(|| DurationError::TooLong(text.to_string()))?;
            total_ms = total_ms
                .checked_add(part)
                .ok_or_else(|| DurationError::TooLong(text.to_string()))?;
        }
        Ok(HumanDuration(Duration::from_millis(total_ms)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An optional duration key of the config, at least a second long; the
/// error names `key`.
pub fn parse_key(key: &str, text: Option<&str>) -> Result<Option<Duration>, String> {
    let Some(text) = text else { return Ok(None) };
    let d: HumanDuration = text.parse().map_err(|e| format!("{key}: {e}"))?;
    if d.0 < Duration::from_secs(1) {
        return Err(format!("{key}: {d} is too short: at least 1s"));
    }
    Ok(Some(d.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Duration, DurationError> {
        text.parse::<HumanDuration>().map(|d| d.0)
    }

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert!(matches!(parse("10"), Err(DurationError::Malformed(_))));
        assert!(matches!(
            parse("10 minutes please"),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(parse("m10"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse("-5s"), Err(DurationError::Malformed(_))));
        assert!(matches!(
            parse("99999999999999999999d"),
            Err(DurationError::Malformed(_) | DurationError::TooLong(_))
        ));
    }

    #[test]
    fn prints_back_exactly() {
        for text in ["90s", "10m", "2h", "7d", "1h30m", "250ms", "0s"] {
            let d: HumanDuration = text.parse().unwrap();
            let again: HumanDuration = d.to_string().parse().unwrap();
            assert_eq!(d, again);
        }
        assert_eq!(HumanDuration(Duration::from_secs(90)).to_string(), "1m30s");
    }
}
