//! `json`: one array of objects, one object per row keyed by column name,
//! streamed (the array is opened at the start and closed at the end).

use std::io::{BufWriter, Write};

use serde::ser::{Error as _, SerializeMap as _};
use serde::{Deserialize, Serialize, Serializer};

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

/// A cell as JSON: numbers and booleans stay typed; decimals are strings so
/// no reader rounds them; bytes are base64; dates and times ISO 8601; JSON
/// documents are embedded as they are. NaN and infinity have no JSON form.
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

/// A row as one JSON object.
pub struct JsonRow<'a> {
    /// Column names, unique.
    pub columns: &'a [String],
    /// The cells, one per column.
    pub row: &'a Row,
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for (name, value) in self.columns.iter().zip(self.row) {
            map.serialize_entry(name, &JsonCell(value))?;
        }
        map.end()
    }
}

/// Object keys must be unique, or a reader keeps only one of the values.
pub fn object_keys(columns: &[Column]) -> Result<Vec<String>, FormatError> {
    let mut seen = std::collections::HashSet::new();
    for c in columns {
        if !seen.insert(c.name.as_str()) {
            return Err(FormatError::Data(format!(
                "column name {:?} appears twice; JSON objects need unique names (alias one in the query)",
                c.name
            )));
        }
    }
    Ok(columns.iter().map(|c| c.name.clone()).collect())
}

/// Find which cell a serialisation error came from, for the message.
pub fn cell_error(
    row_number: u64,
    columns: &[String],
    row: &Row,
    e: serde_json::Error,
) -> FormatError {
    if e.is_io() {
        return FormatError::Io(e.into());
    }
    for (name, value) in columns.iter().zip(row) {
        if let Err(cell) = serde_json::to_vec(&JsonCell(value)) {
            return FormatError::Cell {
                row: row_number,
                column: name.clone(),
                message: cell.to_string(),
            };
        }
    }
    FormatError::Data(e.to_string())
}

/// Writes rows as a JSON array.
pub struct JsonEncoder {
    out: BufWriter<Box<dyn Write + Send>>,
    columns: Vec<String>,
    rows: u64,
}

impl JsonEncoder {
    /// An encoder writing to `out`.
    pub fn new(_spec: &JsonSpec, out: Box<dyn Write + Send>) -> Self {
        JsonEncoder {
            out: BufWriter::with_capacity(64 * 1024, out),
            columns: Vec::new(),
            rows: 0,
        }
    }
}

impl Encoder for JsonEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.columns = object_keys(columns)?;
        self.out.write_all(b"[")?;
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            check_width(row, self.columns.len())?;
            self.rows += 1;
            self.out
                .write_all(if self.rows == 1 { b"\n" } else { b",\n" })?;
            let item = JsonRow {
                columns: &self.columns,
                row,
            };
            serde_json::to_writer(&mut self.out, &item)
                .map_err(|e| cell_error(self.rows, &self.columns, row, e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.write_all(b"\n]\n")?;
        self.out.flush()?;
        Ok(())
    }
}
