//! Path patterns such as `{job}/{date:%Y/%m/%d}/{job}_{date:%H%M}.{ext}`:
//! checked when the config is loaded, rendered per run, never able to leave
//! the destination's root.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::format::{Item, Numeric, Pad, StrftimeItems};

use crate::export::RunContext;

/// A parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Job,
    RunId,
    Ext,
    Date(String),
}

/// Why a pattern was refused; the message names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `{` without `}` or the reverse.
    #[error("unbalanced braces at byte {0}")]
    Unbalanced(usize),
    /// A placeholder we don't know.
    #[error("unknown placeholder {{{0}}}; use {{job}}, {{date:FORMAT}}, {{run_id}} or {{ext}}")]
    Unknown(String),
    /// A strftime format chrono cannot render.
    #[error("invalid date format {0:?} in {{date:...}}")]
    BadDate(String),
    /// Absolute, or has `..` or empty components.
    #[error("the pattern could leave the destination root ({0}); use a relative path without '..'")]
    Escapes(String),
    /// Nothing to write to.
    #[error("the pattern is empty")]
    Empty,
}

/// The pattern a destination parsed when it was built; a parse error is
/// reported on each delivery, as the destination's own error.
pub fn parsed(pattern: &Result<PathPattern, PatternError>) -> Result<&PathPattern, PatternError> {
    pattern.as_ref().map_err(Clone::clone)
}

impl PathPattern {
    /// Parse and check a pattern.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.trim().is_empty() {
            return Err(PatternError::Empty);
        }
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_string()));
                    break;
                }
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(PatternError::Unbalanced(offset + i));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_string()));
                    }
                    let close = rest[i..]
                        .find('}')
                        .ok_or(PatternError::Unbalanced(offset + i))?
                        + i;
                    let inner = &rest[i + 1..close];
                    if inner.contains('{') {
                        return Err(PatternError::Unbalanced(offset + i));
                    }
                    parts.push(match inner {
                        "job" => Part::Job,
                        "run_id" => Part::RunId,
                        "ext" => Part::Ext,
                        _ => match inner.strip_prefix("date:") {
                            Some(format) => {
                                if format.is_empty()
                                    || StrftimeItems::new(format)
                                        .any(|item| matches!(item, Item::Error))
                                {
                                    return Err(PatternError::BadDate(format.to_string()));
                                }
                                Part::Date(format.to_string())
                            }
                            None => return Err(PatternError::Unknown(inner.to_string())),
                        },
                    });
                    offset += close + 1;
                    rest = &rest[close + 1..];
                }
            }
        }
        let pattern = PathPattern { parts };
        // Literal text (including a date format's literal characters) decides
        // the directory structure, so check a sample rendering now.
        pattern.render_with(
            "job",
            1,
            "ext",
            &chrono::Utc::now().with_timezone(&chrono_tz::UTC),
        )?;
        if text.starts_with('/') || text.starts_with('\\') {
            return Err(PatternError::Escapes(text.to_string()));
        }
        Ok(pattern)
    }

    /// The relative path for one run.
    pub fn render(&self, ctx: &RunContext, ext: &str) -> Result<PathBuf, PatternError> {
        let when = ctx.scheduled_for.with_timezone(&ctx.timezone);
        self.render_with(&ctx.job, ctx.run_id, ext, &when)
    }

    /// [`PathPattern::render`] with `/` between the parts whatever the local
    /// separator, as remote paths and object keys want.
    pub fn render_slashed(&self, ctx: &RunContext, ext: &str) -> Result<String, PatternError> {
        Ok(self
            .render(ctx, ext)?
            .iter()
            .map(|c| c.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"))
    }

    fn render_with(
        &self,
        job: &str,
        run_id: i64,
        ext: &str,
        when: &chrono::DateTime<chrono_tz::Tz>,
    ) -> Result<PathBuf, PatternError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Job => out.push_str(&sanitize(job)),
                Part::RunId => out.push_str(&run_id.to_string()),
                Part::Ext => out.push_str(&sanitize(ext)),
                Part::Date(format) => {
                    let mut rendered = String::new();
                    write!(rendered, "{}", when.format(format))
                        .map_err(|_| PatternError::BadDate(format.clone()))?;
                    out.push_str(&rendered);
                }
            }
        }
        let mut path = PathBuf::new();
        for component in out.split('/') {
            if component.is_empty()
                || component == "."
                || component == ".."
                || component.contains(['\\', '\0'])
            {
                return Err(PatternError::Escapes(out.clone()));
            }
            path.push(component);
        }
        Ok(path)
    }
}

/// One piece of a rendered path, for recognising a job's files.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// One or more ASCII digits.
    Digits,
    /// Exactly this many ASCII digits (a zero-padded date field).
    Width(usize),
    /// One or more characters other than `/`.
    Any,
}

impl PathPattern {
    /// Whether the pattern names the job: only then can a job's files be
    /// told apart from other jobs' files under the same root.
    pub fn mentions_job(&self) -> bool {
        self.parts.contains(&Part::Job)
    }

    /// Whether `relative` (with `/` separators) is a path this pattern
    /// renders for `job`, on any date, run and extension.
    pub fn renders_for(&self, job: &str, relative: &str) -> bool {
        let mut tokens = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => tokens.push(Token::Literal(text.clone())),
                Part::Job => tokens.push(Token::Literal(sanitize(job))),
                Part::RunId => tokens.push(Token::Digits),
                Part::Ext => tokens.push(Token::Any),
                Part::Date(format) => {
                    for item in StrftimeItems::new(format) {
                        tokens.push(match item {
                            Item::Literal(text) | Item::Space(text) => {
                                Token::Literal(text.to_string())
                            }
                            Item::OwnedLiteral(text) | Item::OwnedSpace(text) => {
                                Token::Literal(text.to_string())
                            }
                            Item::Numeric(field, Pad::Zero) => match numeric_width(&field) {
                                Some(width) => Token::Width(width),
                                None => Token::Digits,
                            },
                            Item::Numeric(..) => Token::Digits,
                            _ => Token::Any,
                        });
                    }
                }
            }
        }
        matches(&tokens, relative.as_bytes())
    }
}

/// The width of a zero-padded date field, where it is fixed.
fn numeric_width(field: &Numeric) -> Option<usize> {
    Some(match field {
        Numeric::Year | Numeric::IsoYear => 4,
        Numeric::Ordinal => 3,
        Numeric::Nanosecond => 9,
        Numeric::Timestamp | Numeric::Internal(_) => return None,
        _ => 2,
    })
}

/// Backtracking match of `tokens` against all of `text`.
fn matches(tokens: &[Token], text: &[u8]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Literal(lit) => text
            .strip_prefix(lit.as_bytes())
            .is_some_and(|tail| matches(rest, tail)),
        Token::Width(width) => {
            text.len() >= *width
                && text[..*width].iter().all(u8::is_ascii_digit)
                && matches(rest, &text[*width..])
        }
        Token::Digits | Token::Any => {
            let fits = |b: &u8| match first {
                Token::Digits => b.is_ascii_digit(),
                _ => *b != b'/',
            };
            let longest = text.iter().take_while(|b| fits(b)).count();
            (1..=longest).rev().any(|n| matches(rest, &text[n..]))
        }
    }
}

/// Placeholder values may not add directories or climb out: anything but
/// letters, digits, `-`, `_` and `.` becomes `_`, and dot-only names too.
pub(super) fn sanitize(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".repeat(cleaned.len().max(1))
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn ctx(job: &str) -> RunContext {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap();
        RunContext {
            job: job.into(),
            run_id: 42,
            attempt: 1,
            scheduled_for: at,
            window_start: at,
            window_end: at,
            timezone: chrono_tz::America::New_York,
        }
    }

    #[test]
    fn renders_in_the_jobs_zone() {
        let p = PathPattern::parse("{job}/{date:%Y/%m/%d}/{job}_{date:%Y%m%d_%H%M}_{run_id}.{ext}")
            .unwrap();
        assert_eq!(
            p.render(&ctx("daily-sales"), "csv").unwrap(),
            PathBuf::from("daily-sales/2026/03/08/daily-sales_20260308_0300_42.csv")
        );
    }

    #[test]
    fn values_cannot_climb_out() {
        let p = PathPattern::parse("{job}.{ext}").unwrap();
        assert_eq!(
            p.render(&ctx("../../etc/passwd"), "csv").unwrap(),
            PathBuf::from(".._.._etc_passwd.csv")
        );
        let p = PathPattern::parse("{job}/x.{ext}").unwrap();
        assert_eq!(
            p.render(&ctx(".."), "csv").unwrap(),
            PathBuf::from("__/x.csv")
        );
    }

    #[test]
    fn recognises_the_paths_it_renders_for_a_job_only() {
        let p = PathPattern::parse("{job}/{date:%Y/%m/%d}/{job}_{date:%Y%m%d_%H%M}_{run_id}.{ext}")
            .unwrap();
        let path = p.render(&ctx("daily-sales"), "csv.gz").unwrap();
        let path = path.to_string_lossy();
        assert!(p.renders_for("daily-sales", &path));
        assert!(!p.renders_for("daily", &path));
        assert!(!p.renders_for("daily-sales", "daily-sales/2026/03/08/notes.txt"));
        assert!(!p.renders_for(
            "daily-sales",
            "daily-sales/2026/03/08/daily-sales_2026_0300_42.csv"
        ));
        assert!(!p.renders_for("daily-sales", &format!("{path}/x")));
        assert!(p.mentions_job());
        assert!(
            !PathPattern::parse("{date:%Y}/{run_id}.{ext}")
                .unwrap()
                .mentions_job()
        );
    }

    #[test]
    fn patterns_that_escape_or_are_malformed_are_refused() {
        for (text, expected) in [
            ("/etc/{job}.csv", "leave the destination root"),
            ("../{job}.csv", "leave the destination root"),
            ("a/../../{job}", "leave the destination root"),
            ("{date:%Y/../..}/x", "leave the destination root"),
            ("a//b", "leave the destination root"),
            ("{job", "unbalanced"),
            ("job}", "unbalanced"),
            ("{name}.csv", "unknown placeholder {name}"),
            ("{date:%Q}.csv", "invalid date format"),
            ("", "empty"),
        ] {
            let err = PathPattern::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }
}
