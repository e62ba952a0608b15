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

/// A column's name and the type of its values, as `schema = "stable"`
/// compares them; `kind` is `None` while every value seen was NULL.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchemaColumn {
    /// The column's name.
    pub name: String,
    /// The type of its first non-NULL value (`int`, `text`, ...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The columns of a rendered output, in order.
pub type Schema = Vec<SchemaColumn>;

/// Works out a result's schema from its rows: each column takes the type
/// of its first non-NULL value. Once every column has one, rows are no
/// longer looked at, so a large export pays for a few rows, not all.
#[derive(Clone, Debug, Default)]
pub struct SchemaProbe {
    names: Vec<String>,
    kinds: Vec<Option<&'static str>>,
    untyped: usize,
}

impl SchemaProbe {
    /// A probe for these columns.
    pub fn new(columns: &[Column]) -> SchemaProbe {
        SchemaProbe {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            kinds: vec![None; columns.len()],
            untyped: columns.len(),
        }
    }

    /// Look at a batch of rows, while a column still has no type.
    pub fn observe(&mut self, rows: &[Row]) {
        for row in rows {
            if self.untyped == 0 {
                return;
            }
            for (slot, value) in self.kinds.iter_mut().zip(row) {
                if slot.is_none()
                    && let Some(kind) = value.kind()
                {
                    *slot = Some(kind);
                    self.untyped -= 1;
                }
            }
        }
    }

    /// The schema seen.
    pub fn schema(&self) -> Schema {
        self.names
            .iter()
            .zip(&self.kinds)
            .map(|(name, kind)| SchemaColumn {
                name: name.clone(),
                kind: kind.map(str::to_string),
            })
            .collect()
    }
}

impl Value {
    /// The name of this value's type, as schemas record it; `None` for NULL.
    pub fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::DateTime(_) => "datetime",
            Value::Timestamp(_) => "timestamp",
            Value::Json(_) => "json",
        })
    }
}

impl Value {
    /// The cell as text for text formats; `None` for NULL so formats can
    /// choose how to write a missing value.
    pub fn to_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Decimal(d) => Cow::Borrowed(d.as_str()),
            Value::Text(t) => Cow::Borrowed(t.as_str()),
            other => {
                let mut bytes = Vec::new();
                other.write_text(&mut bytes);
                // The writers emit ASCII, base64 or serde_json's UTF-8.
                Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
            }
        })
    }

    /// Append the text [`Value::to_text`] gives to `out`, without building
    /// a `String` for numbers, dates and times: text formats call this for
    /// every cell. Returns false (and writes nothing) for NULL.
    pub fn write_text(&self, out: &mut Vec<u8>) -> bool {
        use base64::Engine as _;
        match self {
            Value::Null => return false,
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Value::Float(f) => write_float(*f, out),
            Value::Decimal(t) | Value::Text(t) => out.extend_from_slice(t.as_bytes()),
            Value::Bytes(b) => out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(b)
                    .as_bytes(),
            ),
            Value::Date(d) => write_date(*d, out),
            Value::Time(t) => write_time(*t, out),
            Value::DateTime(dt) => {
                write_date(dt.date(), out);
                out.push(b'T');
                write_time(dt.time(), out);
            }
            Value::Timestamp(ts) => out.extend_from_slice(ts.to_rfc3339().as_bytes()),
            Value::Json(j) => {
                // Serialising a `serde_json::Value` into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, j);
            }
        }
        true
    }
}

/// `n` as exactly `width` digits (`width` <= 9; `n` fits).
fn push_digits(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut digits = [b'0'; 9];
    let mut rest = n;
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// `YYYY-MM-DD`, written directly: chrono's strftime parses its pattern on
/// every call, which dominates a large export of dates.
fn write_date(d: NaiveDate, out: &mut Vec<u8>) {
    use chrono::Datelike as _;
    use std::io::Write as _;
    match u32::try_from(d.year()) {
        Ok(year) if year <= 9999 => {
            push_digits(out, year, 4);
            out.push(b'-');
            push_digits(out, d.month(), 2);
            out.push(b'-');
            push_digits(out, d.day(), 2);
        }
        // Writing into a Vec cannot fail.
        _ => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
    }
}

/// `HH:MM:SS` with as many fraction digits (3, 6 or 9) as the value needs,
/// as chrono's `%.f` writes it.
fn write_time(t: NaiveTime, out: &mut Vec<u8>) {
    use chrono::Timelike as _;
    use std::io::Write as _;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        // A leap second; writing into a Vec cannot fail.
        let _ = write!(out, "{}", t.format("%H:%M:%S%.f"));
        return;
    }
    push_digits(out, t.hour(), 2);
    out.push(b':');
    push_digits(out, t.minute(), 2);
    out.push(b':');
    push_digits(out, t.second(), 2);
    if nanos == 0 {
        return;
    }
    out.push(b'.');
    if nanos.is_multiple_of(1_000_000) {
        push_digits(out, nanos / 1_000_000, 3);
    } else if nanos.is_multiple_of(1_000) {
        push_digits(out, nanos / 1_000, 6);
    } else {
        push_digits(out, nanos, 9);
    }
}

/// Floats print as the shortest text that reads back to the same value,
/// switching to exponent form for very large or small magnitudes (Rust's
/// `Debug` form: `0.1`, `3.0`, `2.5e300`); non-finite values are spelled out.
fn write_float(f: f64, out: &mut Vec<u8>) {
    use std::io::Write as _;
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"inf" } else { b"-inf" });
    } else if (1e-5..1e-4).contains(&f.abs()) {
        // The one range where ryu writes plain decimals and Rust's `{:?}`
        // (what earlier files held) switches to an exponent: keep Rust's.
        // Formatting into a Vec cannot fail and allocates nothing new.
        let _ = write!(out, "{f:?}");
    } else {
        // ryu gives the same shortest digits as `{:?}` at a fraction of the
        // cost; floats were a tenth of a large export's time.
        out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ryu stands in for `{:?}`, which earlier files were written with: the
    /// text must read back as the same number, in the same notation (plain
    /// or with an exponent), with as few digits. When the shortest digits
    /// end in a tie the two may round the last one differently (ryu to
    /// even): -1453250876767013.2 against -1453250876767013.3, both exact.
    fn same_as_debug(f: f64) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut out = Vec::new();
        write_float(f, &mut out);
        let ours = String::from_utf8(out).unwrap();
        let debug = format!("{f:?}");
        if f.is_nan() {
            proptest::prop_assert_eq!(ours, debug);
            return Ok(());
        }
        let back: f64 = ours.parse().unwrap();
        proptest::prop_assert_eq!(
            back.to_bits(),
            f.to_bits(),
            "{} reads back as {}",
            ours,
            back
        );
        proptest::prop_assert_eq!(
            ours.contains('e'),
            debug.contains('e'),
            "{} vs {}",
            ours,
            debug
        );
        proptest::prop_assert_eq!(ours.len(), debug.len(), "{} vs {}", ours, debug);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn floats_are_written_as_debug_writes_them(bits: u64) {
            same_as_debug(f64::from_bits(bits))?;
        }

        #[test]
        fn ordinary_floats_are_written_as_debug_writes_them(f in -1e20f64..1e20) {
            same_as_debug(f)?;
        }
    }

    #[test]
    fn a_tie_in_the_last_digit_is_the_one_difference() {
        let f = f64::from_bits(14_057_043_840_903_015_573);
        let mut out = Vec::new();
        write_float(f, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "-1453250876767013.2");
        assert_eq!(format!("{f:?}"), "-1453250876767013.3");
        same_as_debug(f).unwrap();
    }

    #[test]
    fn floats_at_the_edges_of_the_plain_range() {
        for f in [
            1e-5,
            9.99e-5,
            1e-4,
            1e-6,
            1e15,
            1e16,
            1.5e16,
            -0.0,
            0.0,
            123.456,
            -1e-5,
            5e-324,
            f64::MAX,
        ] {
            let mut out = Vec::new();
            write_float(f, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{f:?}"), "{f:e}");
        }
    }

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
            assert_eq!(
                Value::Time(t).to_text().unwrap(),
                t.format("%H:%M:%S%.f").to_string()
            );
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
            assert_eq!(
                Value::Date(d).to_text().unwrap(),
                d.format("%Y-%m-%d").to_string()
            );
        }
        let ts = DateTime::parse_from_rfc3339("2026-03-08T03:00:00-04:00").unwrap();
        assert_eq!(
            Value::Timestamp(ts).to_text().as_deref(),
            Some("2026-03-08T03:00:00-04:00")
        );
    }
}
