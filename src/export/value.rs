//! The cells that flow from a source to a format.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// One cell. Sources keep the type they read; formats decide how to write it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL or an empty optional.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// An exact decimal, kept as its canonical text so no digit is lost.
    Decimal(String),
    /// Text.
    Text(String),
    /// Raw bytes (written as base64 by text formats).
    Bytes(Vec<u8>),
    /// A calendar date.
    Date(NaiveDate),
    /// A time of day.
    Time(NaiveTime),
    /// A date and time without a zone.
    DateTime(NaiveDateTime),
    /// An instant with its offset.
    Timestamp(DateTime<FixedOffset>),
    /// A JSON document.
    Json(serde_json::Value),
}

/// One row of cells, in column order.
pub type Row = Vec<Value>;

/// A column of a result set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The name the source gave the column.
    pub name: String,
}

impl Column {
    /// A column with this name.
    pub fn new(name: impl Into<String>) -> Self {
        Column { name: name.into() }
    }
}

impl Value {
    /// The cell as text for text formats; `None` for NULL so formats can
    /// choose how to write a missing value.
    pub fn to_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use base64::Engine as _;
        use std::borrow::Cow;
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Float(f) => Cow::Owned(format_float(*f)),
            Value::Decimal(d) => Cow::Borrowed(d.as_str()),
            Value::Text(t) => Cow::Borrowed(t.as_str()),
            Value::Bytes(b) => Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Date(d) => Cow::Owned(date_text(*d)),
            Value::Time(t) => Cow::Owned(time_text(*t)),
            Value::DateTime(dt) => {
                Cow::Owned(format!("{}T{}", date_text(dt.date()), time_text(dt.time())))
            }
            Value::Timestamp(ts) => Cow::Owned(ts.to_rfc3339()),
            Value::Json(j) => Cow::Owned(j.to_string()),
        })
    }
}

/// `YYYY-MM-DD`, written directly: chrono's strftime parses its pattern on
/// every call, which dominates a large export of dates.
fn date_text(d: NaiveDate) -> String {
    use chrono::Datelike as _;
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

/// `HH:MM:SS` with as many fraction digits (3, 6 or 9) as the value needs,
/// as chrono's `%.f` writes it.
fn time_text(t: NaiveTime) -> String {
    use chrono::Timelike as _;
    let nanos = t.nanosecond();
    let (h, m, s) = (t.hour(), t.minute(), t.second());
    if nanos >= 1_000_000_000 {
        t.format("%H:%M:%S%.f").to_string() // a leap second
    } else if nanos == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{h:02}:{m:02}:{s:02}.{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{h:02}:{m:02}:{s:02}.{:06}", nanos / 1_000)
    } else {
        format!("{h:02}:{m:02}:{s:02}.{nanos:09}")
    }
}

/// Floats print as the shortest text that reads back to the same value,
/// switching to exponent form for very large or small magnitudes (Rust's
/// `Debug` form: `0.1`, `3.0`, `2.5e300`); non-finite values are spelled out.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else {
        format!("{f:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_are_faithful() {
        assert_eq!(Value::Null.to_text(), None);
        assert_eq!(Value::Int(-42).to_text().as_deref(), Some("-42"));
        assert_eq!(Value::Float(0.1).to_text().as_deref(), Some("0.1"));
        assert_eq!(Value::Float(3.0).to_text().as_deref(), Some("3.0"));
        assert_eq!(Value::Float(1e-7).to_text().as_deref(), Some("1e-7"));
        assert_eq!(Value::Float(2.5e300).to_text().as_deref(), Some("2.5e300"));
        assert_eq!(
            Value::Bytes(vec![0, 255, 1]).to_text().as_deref(),
            Some("AP8B")
        );
        assert_eq!(
            Value::Decimal("12345678901234567890.0001".into())
                .to_text()
                .as_deref(),
            Some("12345678901234567890.0001")
        );
        // The hand-written date and time forms match chrono's strftime.
        for nanos in [0, 250_000_000, 250_000, 7, 1_500_000_000] {
            let t = NaiveTime::from_hms_nano_opt(23, 59, 59, nanos).unwrap();
            let dt = NaiveDate::from_ymd_opt(1999, 1, 2).unwrap().and_time(t);
            assert_eq!(time_text(t), t.format("%H:%M:%S%.f").to_string());
            assert_eq!(
                Value::DateTime(dt).to_text().unwrap(),
                dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
            );
        }
        for d in [
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(-5, 3, 9).unwrap(),
            NaiveDate::from_ymd_opt(12345, 12, 31).unwrap(),
        ] {
            assert_eq!(date_text(d), d.format("%Y-%m-%d").to_string());
        }
        let ts = DateTime::parse_from_rfc3339("2026-03-08T03:00:00-04:00").unwrap();
        assert_eq!(
            Value::Timestamp(ts).to_text().as_deref(),
            Some("2026-03-08T03:00:00-04:00")
        );
    }
}
