//! Checks before delivery: `checks = { not_empty, min_rows, max_rows,
//! max_change, schema }`, `on_check_fail` and `hold_for`, as written and
//! resolved, and the one function that judges a rendered output by them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::JobSpec;
use crate::export::value::{Schema, SchemaColumn};

/// How long a held run waits for a release before it is discarded.
pub const DEFAULT_HOLD_FOR: Duration = Duration::from_secs(24 * 3600);

/// The check keys, in the order they are judged.
pub const CHECK_KEYS: &[&str] = &["not_empty", "min_rows", "max_rows", "max_change", "schema"];

/// A value written as text or as a number: `max_change = "50%"` is right,
/// `max_change = 50` is kept so validation can say what to write instead
/// (a decode error would only give a line and column).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Written {
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Written::Text(text) => write!(f, "{text:?}"),
            Written::Number(n) => write!(f, "{n}"),
        }
    }
}

/// `checks = { ... }` as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecksSpec {
    /// The output must have at least one row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_empty: Option<bool>,
    /// The output must have at least this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<i64>,
    /// The output must have at most this many rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<i64>,
    /// The row count may differ from the last succeeded run's by at most
    /// this share of it (`"50%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_change: Option<Written>,
    /// `"stable"`: column names and types as in the last succeeded run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Keys that are no check, kept so validation can name each.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

/// What a failed check does to the run (`on_check_fail`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum OnCheckFail {
    /// Keep the output and wait for `runs release` or `runs discard`.
    #[default]
    Hold,
    /// Record the run as skipped by the check; deliver nothing.
    Skip,
    /// Fail the run with the check's message (not retried).
    Fail,
    /// A word that is none of these, kept so validation can name it.
    Unknown(String),
}

impl OnCheckFail {
    /// The word as written in a config.
    pub fn as_str(&self) -> &str {
        match self {
            OnCheckFail::Hold => "hold",
            OnCheckFail::Skip => "skip",
            OnCheckFail::Fail => "fail",
            OnCheckFail::Unknown(word) => word,
        }
    }
}

impl From<String> for OnCheckFail {
    fn from(word: String) -> OnCheckFail {
        match word.as_str() {
            "hold" => OnCheckFail::Hold,
            "skip" => OnCheckFail::Skip,
            "fail" => OnCheckFail::Fail,
            _ => OnCheckFail::Unknown(word),
        }
    }
}

impl From<OnCheckFail> for String {
    fn from(on: OnCheckFail) -> String {
        on.as_str().to_string()
    }
}

/// What a failed check does, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckAction {
    /// Keep the output for a release.
    Hold,
    /// Skip the run.
    Skip,
    /// Fail the run.
    Fail,
}

/// A job's checks, resolved: what the runner judges each output by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checks {
    /// At least one row.
    pub not_empty: bool,
    /// At least this many rows.
    pub min_rows: Option<u64>,
    /// At most this many rows.
    pub max_rows: Option<u64>,
    /// The largest change of the row count against the last succeeded
    /// run, in hundredths of a percent (5000 is 50%).
    pub max_change: Option<u32>,
    /// Column names and types as in the last succeeded run.
    pub schema_stable: bool,
    /// What a failed check does.
    pub action: CheckAction,
    /// How long a held run waits.
    pub hold_for: Duration,
}

impl Checks {
    /// Whether a check needs the last succeeded run's figures.
    pub fn needs_baseline(&self) -> bool {
        self.max_change.is_some() || self.schema_stable
    }
}

/// What the last succeeded run of the job recorded, to compare with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Its row count.
    pub rows: Option<u64>,
    /// Its columns, from the newest succeeded run that recorded them.
    pub schema: Option<Schema>,
}

/// A check that failed, and why, in words for the run record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// The check's key (`max_change`).
    pub check: &'static str,
    /// The whole message, starting with the key.
    pub message: String,
}

/// Parse `"50%"` or `"12.5%"` into hundredths of a percent.
pub fn parse_percent(text: &str) -> Result<u32, String> {
    let bad =
        || format!("{text:?} is not a percentage: write a number and a percent sign, like \"50%\"");
    let number = text.trim().strip_suffix('%').ok_or_else(bad)?.trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let hundredths: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let value = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(hundredths))
        .ok_or_else(bad)?;
    if value == 0 {
        return Err(format!(
            "{text:?} allows no change at all; use schema or min_rows/max_rows for exact limits, \
             or a percentage above 0%"
        ));
    }
    Ok(value)
}

/// Hundredths of a percent as written: `50%`, `12.5%`.
pub fn percent_text(hundredths: u64) -> String {
    let (whole, rest) = (hundredths / 100, hundredths % 100);
    match rest {
        0 => format!("{whole}%"),
        r if r.is_multiple_of(10) => format!("{whole}.{}%", r / 10),
        r => format!("{whole}.{r:02}%"),
    }
}

/// A count with thousands separators: `10,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A row count in words: `1 row`, `10,000 rows`.
fn rows_text(n: u64) -> String {
    match n {
        1 => "1 row".into(),
        n => format!("{} rows", grouped(n)),
    }
}

/// The checks of `spec`, resolved; each problem goes to `fail` naming its
/// key, and leaves that check out.
pub fn resolve(spec: &JobSpec, fail: &mut dyn FnMut(&str, String)) -> Option<Checks> {
    let action = match spec.on_check_fail.clone().unwrap_or_default() {
        OnCheckFail::Hold => CheckAction::Hold,
        OnCheckFail::Skip => CheckAction::Skip,
        OnCheckFail::Fail => CheckAction::Fail,
        OnCheckFail::Unknown(word) => {
            fail(
                "on_check_fail",
                format!("{word:?} is not a check outcome: use \"hold\", \"skip\" or \"fail\""),
            );
            CheckAction::Hold
        }
    };
    let hold_for = spec.hold_for.map_or(DEFAULT_HOLD_FOR, |d| d.0);
    if hold_for < Duration::from_secs(60) {
        fail("hold_for", "must be at least 1m".into());
    }
    let written = spec.checks.as_ref()?;
    for key in written.unknown.keys() {
        fail(
            &format!("checks.{key}"),
            format!("{key:?} is not a check: use {}", CHECK_KEYS.join(", ")),
        );
    }
    let mut count = |key: &str, value: Option<i64>| match value {
        Some(n) if n < 0 => {
            fail(&format!("checks.{key}"), format!("{n} is negative"));
            None
        }
        Some(n) => u64::try_from(n).ok(),
        None => None,
    };
    let min_rows = count("min_rows", written.min_rows);
    let max_rows = count("max_rows", written.max_rows);
    if let (Some(min), Some(max)) = (min_rows, max_rows)
        && min > max
    {
        fail(
            "checks.min_rows",
            format!("{min} is above checks.max_rows ({max}): no output could pass"),
        );
    }
    let max_change = match &written.max_change {
        None => None,
        Some(Written::Text(text)) => match parse_percent(text) {
            Ok(p) => Some(p),
            Err(message) => {
                fail("checks.max_change", message);
                None
            }
        },
        Some(number @ Written::Number(_)) => {
            fail(
                "checks.max_change",
                format!(
                    "{number} is not a percentage: write it as text with a percent sign, \
                     like \"50%\""
                ),
            );
            None
        }
    };
    let schema_stable = match written.schema.as_deref() {
        None => false,
        Some("stable") => true,
        Some(other) => {
            fail(
                "checks.schema",
                format!("{other:?} is not a schema check: the only one is \"stable\""),
            );
            false
        }
    };
    let checks = Checks {
        not_empty: written.not_empty.unwrap_or(false),
        min_rows,
        max_rows,
        max_change,
        schema_stable,
        action,
        hold_for,
    };
    let any = checks.not_empty
        || checks.min_rows.is_some()
        || checks.max_rows.is_some()
        || checks.max_change.is_some()
        || checks.schema_stable;
    any.then_some(checks)
}

impl Checks {
    /// The first check an output of `rows` rows and columns `schema` fails,
    /// against the last succeeded run's `baseline`; `None` when it passes.
    /// Checks without a baseline (the job's first run) pass.
    pub fn judge(
        &self,
        rows: u64,
        schema: &[SchemaColumn],
        baseline: &Baseline,
    ) -> Option<CheckFailure> {
        if self.not_empty && rows == 0 {
            return Some(CheckFailure {
                check: "not_empty",
                message: "not_empty: the output has no rows".into(),
            });
        }
        if let Some(min) = self.min_rows
            && rows < min
        {
            return Some(CheckFailure {
                check: "min_rows",
                message: format!(
                    "min_rows: {}, fewer than the minimum of {}",
                    rows_text(rows),
                    grouped(min)
                ),
            });
        }
        if let Some(max) = self.max_rows
            && rows > max
        {
            return Some(CheckFailure {
                check: "max_rows",
                message: format!(
                    "max_rows: {}, more than the maximum of {}",
                    rows_text(rows),
                    grouped(max)
                ),
            });
        }
        if let (Some(limit), Some(before)) = (self.max_change, baseline.rows)
            && let Some(message) = change_beyond(rows, before, limit)
        {
            return Some(CheckFailure {
                check: "max_change",
                message,
            });
        }
        if self.schema_stable
            && let Some(before) = &baseline.schema
            && let Some(what) = schema_change(before, schema)
        {
            return Some(CheckFailure {
                check: "schema",
                message: format!("schema: the columns changed since the last success: {what}"),
            });
        }
        None
    }
}

/// The message when `rows` differs from `before` by more than `limit`
/// hundredths of a percent of `before`.
fn change_beyond(rows: u64, before: u64, limit: u32) -> Option<String> {
    let limit_text = percent_text(u64::from(limit));
    if before == 0 {
        // Any rows after none is an unbounded change; none after none is none.
        return (rows > 0).then(|| {
            format!(
                "max_change: {}, last success had 0 (no share of 0 is within {limit_text})",
                rows_text(rows)
            )
        });
    }
    let diff = rows.abs_diff(before);
    // In hundredths of a percent, in u128 so no count overflows.
    let change = u128::from(diff) * 10_000 / u128::from(before);
    if change <= u128::from(limit) {
        return None;
    }
    let sign = if rows < before { "-" } else { "+" };
    let rounded = (u128::from(diff) * 100 + u128::from(before) / 2) / u128::from(before);
    Some(format!(
        "max_change: {}, last success had {} ({sign}{rounded}%, limit {limit_text})",
        rows_text(rows),
        grouped(before)
    ))
}

/// What differs between two schemas, in words; `None` when the names and
/// order are the same and no column's type differs (a column that was all
/// NULL in one of them has no type to compare).
pub fn schema_change(before: &[SchemaColumn], now: &[SchemaColumn]) -> Option<String> {
    let mut parts = Vec::new();
    let old: BTreeMap<&str, &SchemaColumn> = before.iter().map(|c| (c.name.as_str(), c)).collect();
    let new: BTreeMap<&str, &SchemaColumn> = now.iter().map(|c| (c.name.as_str(), c)).collect();
    let kind = |c: &SchemaColumn| c.kind.clone().unwrap_or_else(|| "null".into());
    for c in now.iter().filter(|c| !old.contains_key(c.name.as_str())) {
        parts.push(format!("added {} ({})", c.name, kind(c)));
    }
    for c in before.iter().filter(|c| !new.contains_key(c.name.as_str())) {
        parts.push(format!("removed {} ({})", c.name, kind(c)));
    }
    for c in now {
        if let Some(was) = old.get(c.name.as_str())
            && let (Some(a), Some(b)) = (&was.kind, &c.kind)
            && a != b
        {
            parts.push(format!("{} {a} -> {b}", c.name));
        }
    }
    if parts.is_empty() {
        let same_order = before
            .iter()
            .map(|c| &c.name)
            .eq(now.iter().map(|c| &c.name));
        if !same_order {
            parts.push(format!(
                "column order {} -> {}",
                names(before).join(", "),
                names(now).join(", ")
            ));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn names(schema: &[SchemaColumn]) -> Vec<&str> {
    schema.iter().map(|c| c.name.as_str()).collect()
}

#[cfg(test)]
mod tests;
