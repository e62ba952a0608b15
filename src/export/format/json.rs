//! `json`: one array of objects, one object per row keyed by column name,
//! streamed (the array is opened at the start and closed at the end).

use std::io::Write;

use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::ser::{CompactFormatter, Formatter as _};

use super::{Compression, Encoder, FormatError, check_width};
use crate::export::value::{Column, Row, Value};

/// `format = { kind = "json" }` (and `ndjson`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSpec {
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// A cell as JSON through serde: numbers and booleans stay typed; decimals
/// are strings so no reader rounds them; bytes are base64; dates and times
/// ISO 8601; JSON documents are embedded as they are. NaN and infinity have
/// no JSON form. [`JsonRows`] writes the same by hand; the round-trip tests
/// compare the two.
pub struct JsonCell<'a>(pub &'a Value);

impl Serialize for JsonCell<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(f) => Err(S::Error::custom(format!(
                "{f} cannot be written as JSON (it has no NaN or infinity)"
            ))),
            Value::Json(j) => j.serialize(s),
            Value::Text(t) => s.serialize_str(t),
            Value::Decimal(d) => s.serialize_str(d),
            other => match other.to_text() {
                Some(text) => s.serialize_str(&text),
                None => s.serialize_unit(),
            },
        }
    }
}

/// Rows as JSON objects written straight into a byte buffer: the keys are
/// escaped once, numbers and dates are written without a temporary string,
/// and only text goes through serde_json's escaper. Numbers and booleans
/// stay typed; decimals are strings so no reader rounds them; bytes are
/// base64; dates and times ISO 8601; JSON documents are embedded as they
/// are. NaN and infinity have no JSON form and fail the row.
pub struct JsonRows {
    /// `{"a":`, then `,"b":` and so on: what goes before each cell.
    keys: Vec<Vec<u8>>,
    names: Vec<String>,
    rows: u64,
}

impl JsonRows {
    /// Object keys must be unique, or a reader keeps only one of the values.
    pub fn new(columns: &[Column]) -> Result<Self, FormatError> {
        let mut seen = std::collections::HashSet::new();
        for c in columns {
            if !seen.insert(c.name.as_str()) {
                return Err(FormatError::Data(format!(
                    "column name {:?} appears twice; JSON objects need unique names (alias one in the query)",
                    c.name
                )));
            }
        }
        let keys = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut key = vec![if i == 0 { b'{' } else { b',' }];
                json_str(&c.name, &mut key);
                key.push(b':');
                key
            })
            .collect();
        Ok(JsonRows {
            keys,
            names: columns.iter().map(|c| c.name.clone()).collect(),
            rows: 0,
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Append `row` as one object to `out`.
    pub fn write(&mut self, row: &Row, out: &mut Vec<u8>) -> Result<(), FormatError> {
        check_width(row, self.keys.len())?;
        self.rows += 1;
        if row.is_empty() {
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        for ((key, value), name) in self.keys.iter().zip(row).zip(&self.names) {
            out.extend_from_slice(key);
            match value {
                Value::Null => out.extend_from_slice(b"null"),
                Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
                Value::Float(f) if f.is_finite() => {
                    // serde_json's own float form, as before: writing to a
                    // Vec cannot fail.
                    let _ = CompactFormatter.write_f64(out, *f);
                }
                Value::Float(f) => {
                    return Err(FormatError::Cell {
                        row: self.rows,
                        column: name.clone(),
                        message: format!(
                            "{f} cannot be written as JSON (it has no NaN or infinity)"
                        ),
                    });
                }
                Value::Text(t) | Value::Decimal(t) => json_str(t, out),
                Value::Json(j) => {
                    // A `serde_json::Value` always serialises.
                    let _ = serde_json::to_writer(&mut *out, j);
                }
                Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::Bytes(_) => {
                    // ISO dates and base64 need no escaping.
                    out.push(b'"');
                    value.write_text(out);
                    out.push(b'"');
                }
                other => {
                    let text = other.to_text().unwrap_or_default();
                    json_str(&text, out);
                }
            }
        }
        out.push(b'}');
        Ok(())
    }
}

/// `text` as a JSON string, escaped by serde_json.
fn json_str(text: &str, out: &mut Vec<u8>) {
    // Serialising a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Hand the buffer to `out` once it holds this much.
pub const FLUSH_AT: usize = 64 * 1024;

/// Writes rows as a JSON array.
pub struct JsonEncoder {
    out: Box<dyn Write + Send>,
    buffer: Vec<u8>,
    rows: Option<JsonRows>,
}

impl JsonEncoder {
    /// An encoder writing to `out`.
    pub fn new(_spec: &JsonSpec, out: Box<dyn Write + Send>) -> Self {
        JsonEncoder {
            out,
            buffer: Vec::with_capacity(FLUSH_AT + 4096),
            rows: None,
        }
    }
}

impl Encoder for JsonEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.rows = Some(JsonRows::new(columns)?);
        self.buffer.push(b'[');
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        let writer = self
            .rows
            .as_mut()
            .ok_or_else(|| FormatError::Data("rows before the columns".into()))?;
        for row in rows {
            let first = writer.rows() == 0;
            self.buffer
                .extend_from_slice(if first { b"\n" } else { b",\n" });
            writer.write(row, &mut self.buffer)?;
            if self.buffer.len() >= FLUSH_AT {
                self.out.write_all(&self.buffer)?;
                self.buffer.clear();
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.buffer.extend_from_slice(b"\n]\n");
        self.out.write_all(&self.buffer)?;
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate};

    /// The hand-written rows must be exactly what serde writes for the
    /// same cells, for every kind of value.
    #[test]
    fn rows_match_serdes_form_of_each_cell() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let cells = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-42),
            Value::Float(0.1),
            Value::Float(2.5e300),
            Value::Float(1e-7),
            Value::Decimal("1.50".into()),
            Value::Text("Zoë \"q\"\n\u{1}".into()),
            Value::Bytes(vec![0, 255]),
            Value::Date(date),
            Value::Time(date.and_hms_micro_opt(1, 2, 3, 4).unwrap().time()),
            Value::DateTime(date.and_hms_opt(23, 59, 59).unwrap()),
            Value::Timestamp(DateTime::parse_from_rfc3339("2026-03-08T03:00:00-04:00").unwrap()),
            Value::Json(serde_json::json!({"b": [1, 2.5, null], "a": "x"})),
        ];
        let columns: Vec<Column> = (0..cells.len())
            .map(|i| Column::new(format!("c\"{i}")))
            .collect();
        let mut rows = JsonRows::new(&columns).unwrap();
        let mut got = Vec::new();
        rows.write(&cells, &mut got).unwrap();
        let mut want = serde_json::Map::new();
        for (c, v) in columns.iter().zip(&cells) {
            want.insert(c.name.clone(), serde_json::to_value(JsonCell(v)).unwrap());
        }
        assert_eq!(
            String::from_utf8(got).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
        let err = rows.write(&vec![Value::Float(f64::NAN); cells.len()], &mut Vec::new());
        assert!(err.unwrap_err().to_string().contains("c\\\"0"));
    }
}
