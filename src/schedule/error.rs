//! Errors written for the person who typed the schedule: each names the field or
//! preset word that is wrong, says why, and carries the byte span to underline.

use std::fmt;
use std::ops::Range;

/// Why a schedule or time zone could not be parsed.
///
/// Spans are byte ranges into the text that was passed to the parser (the
/// schedule text for [`Schedule::parse`](super::Schedule::parse), the zone
/// name for [`parse_timezone`](super::parse_timezone)), so a console can
/// underline exactly the offending characters.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ScheduleError {
    /// Nothing but whitespace was given.
    #[error(
        "schedule is empty; write a cron expression such as \"0 2 * * *\" or a preset such as \"daily at 02:00\""
    )]
    Empty,
    /// A cron expression with the wrong number of fields.
    #[error("expected 5 or 6 fields, found {found}")]
    FieldCount {
        /// How many whitespace-separated fields there were.
        found: usize,
        /// The whole expression.
        span: Range<usize>,
    },
    /// One cron field is wrong.
    #[error("cron field {number} ({name}): {problem}")]
    Field {
        /// 1-based position of the field as written (seconds are field 1 in a 6-field expression).
        number: usize,
        /// The field's name, e.g. "hour".
        name: &'static str,
        /// The offending part of the field as written.
        token: String,
        /// What is wrong with it.
        problem: FieldProblem,
        /// Where `token` is in the input.
        span: Range<usize>,
    },
    /// An `@word` that is not one of the supported macros.
    #[error(
        "unknown macro \"{name}\"; expected one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually"
    )]
    UnknownMacro {
        /// The macro as written.
        name: String,
        /// Where it is in the input.
        span: Range<usize>,
    },
    /// A preset written in words could not be understood.
    #[error("preset \"{preset}\": {problem}")]
    Preset {
        /// The whole preset as written (trimmed).
        preset: String,
        /// What is wrong with it.
        problem: PresetProblem,
        /// The word that is wrong.
        span: Range<usize>,
    },
    /// Not an IANA time zone name.
    #[error("unknown time zone \"{name}\"{}", Suggestions(suggestions))]
    UnknownZone {
        /// The name as written.
        name: String,
        /// Close names, best first (may be empty).
        suggestions: Vec<String>,
        /// The name within the zone text.
        span: Range<usize>,
    },
}

impl ScheduleError {
    /// Byte range in the parsed text where the problem is, when known.
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            ScheduleError::Empty => None,
            ScheduleError::FieldCount { span, .. }
            | ScheduleError::Field { span, .. }
            | ScheduleError::UnknownMacro { span, .. }
            | ScheduleError::Preset { span, .. }
            | ScheduleError::UnknownZone { span, .. } => Some(span.clone()),
        }
    }
}

struct Suggestions<'a>(&'a [String]);

impl fmt::Display for Suggestions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => Ok(()),
            [one] => write!(f, "; did you mean \"{one}\"?"),
            many => {
                f.write_str("; did you mean ")?;
                for (i, name) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(if i + 1 == many.len() { " or " } else { ", " })?;
                    }
                    write!(f, "\"{name}\"")?;
                }
                f.write_str("?")
            }
        }
    }
}

/// What is wrong with one cron field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// A number outside the field's range.
    OutOfRange {
        /// The number as read.
        value: u64,
        /// Smallest allowed.
        min: u8,
        /// Largest allowed.
        max: u8,
    },
    /// Something that is neither a number nor a name this field knows.
    NotAValue {
        /// The text.
        token: String,
        /// What the field accepts, e.g. "a number 0-59" or "a day name (sun-sat) or a number 0-7".
        expected: &'static str,
    },
    /// An empty item, e.g. two commas in a row or a dangling `-`.
    Empty,
    /// A step that is zero, too large or not a number.
    BadStep {
        /// The step as written.
        token: String,
        /// The largest useful step for this field.
        max: u8,
    },
    /// `a-b` with `a` after `b`.
    Backwards {
        /// Start of the range.
        start: u8,
        /// End of the range.
        end: u8,
        /// The field's smallest value, for the suggested rewrite.
        min: u8,
        /// The field's largest value, for the suggested rewrite.
        max: u8,
    },
    /// `L`, `W`, `#` or `?` where they mean nothing.
    SpecialNotAllowed {
        /// The token that uses the special character.
        token: String,
    },
    /// `n#k` with `k` outside 1-5.
    BadNth {
        /// The occurrence as written.
        token: String,
    },
    /// A bare `L` in day of week, which other cron dialects read differently.
    AmbiguousLast,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::OutOfRange { value, min, max } => {
                write!(f, "{value} is out of range {min}-{max}")
            }
            FieldProblem::NotAValue { token, expected } => {
                write!(f, "\"{token}\" is not valid here; expected {expected}")
            }
            FieldProblem::Empty => f.write_str("empty value (a stray comma, dash or slash?)"),
            FieldProblem::BadStep { token, max } => {
                write!(f, "step \"{token}\" must be a number 1-{max}")
            }
            FieldProblem::Backwards {
                start,
                end,
                min,
                max,
            } => write!(
                f,
                "range {start}-{end} runs backwards; write it as {start}-{max},{min}-{end}"
            ),
            FieldProblem::SpecialNotAllowed { token } => write!(
                f,
                "\"{token}\": L and W are only allowed in day of month, L and # only in day of week, ? only in those two"
            ),
            FieldProblem::BadNth { token } => {
                write!(f, "\"#{token}\": the occurrence after # must be 1-5")
            }
            FieldProblem::AmbiguousLast => f.write_str(
                "a bare \"L\" is not allowed; write e.g. \"5L\" for the last Friday of the month",
            ),
        }
    }
}

/// What is wrong with a preset written in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresetProblem {
    /// The first word is not a preset.
    UnknownPreset {
        /// The word.
        word: String,
    },
    /// A word was expected and something else (or nothing) was found.
    Expected {
        /// What would have fitted.
        expected: &'static str,
        /// What was there (empty at the end of the text).
        found: String,
    },
    /// `every N` with N not dividing the next larger unit, so it cannot be clock-aligned.
    NotADivisor {
        /// The interval.
        n: u64,
        /// 60 for seconds and minutes, 24 for hours.
        of: u32,
        /// A preset that does say the same thing, when there is one (e.g. "every 2h" for "every 120m").
        instead: Option<String>,
    },
    /// `every 0m`.
    ZeroInterval,
    /// A time part out of range.
    TimeOutOfRange {
        /// "hour", "minute" or "second".
        part: &'static str,
        /// The value.
        value: u64,
        /// Largest allowed.
        max: u8,
    },
    /// A time that is not `HH:MM` or `HH:MM:SS`.
    BadTime {
        /// The text.
        token: String,
    },
    /// A weekday that is not a day name.
    BadWeekday {
        /// The text.
        token: String,
    },
    /// A day of the month that is not 1-31 or `last`.
    BadMonthDay {
        /// The text.
        token: String,
    },
    /// An `every` unit that is not s, m or h.
    BadUnit {
        /// The text.
        token: String,
    },
}

impl fmt::Display for PresetProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresetProblem::UnknownPreset { word } => write!(
                f,
                "unknown word \"{word}\"; presets start with hourly, daily, weekly, monthly or every"
            ),
            PresetProblem::Expected { expected, found } if found.is_empty() => {
                write!(f, "expected {expected} at the end")
            }
            PresetProblem::Expected { expected, found } => {
                write!(f, "expected {expected}, found \"{found}\"")
            }
            PresetProblem::NotADivisor { n, of, instead } => {
                write!(f, "{n} does not divide {of}; ")?;
                match instead {
                    Some(preset) => write!(f, "write \"{preset}\" or use a cron expression"),
                    None => f.write_str("use a cron expression"),
                }
            }
            PresetProblem::ZeroInterval => f.write_str("the interval must be at least 1"),
            PresetProblem::TimeOutOfRange { part, value, max } => {
                write!(f, "{part} {value} is out of range 0-{max}")
            }
            PresetProblem::BadTime { token } => {
                write!(f, "\"{token}\" is not a time; write HH:MM or HH:MM:SS")
            }
            PresetProblem::BadWeekday { token } => write!(
                f,
                "\"{token}\" is not a day of the week; write mon, tue, ... (lists like mon,fri and ranges like mon-fri work)"
            ),
            PresetProblem::BadMonthDay { token } => {
                write!(
                    f,
                    "\"{token}\" is not a day of the month; write 1-31 or last"
                )
            }
            PresetProblem::BadUnit { token } => {
                write!(f, "unknown unit \"{token}\"; use s, m or h (e.g. every 5m)")
            }
        }
    }
}
