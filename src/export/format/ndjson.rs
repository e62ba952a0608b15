//! `ndjson`: one JSON object per line, the lines written as rows arrive.

use std::io::{BufWriter, Write};

use super::json::{JsonRow, JsonSpec, cell_error, object_keys};
use super::{Encoder, FormatError, check_width};
use crate::export::value::{Column, Row};

/// Writes rows as newline-delimited JSON.
pub struct NdjsonEncoder {
    out: BufWriter<Box<dyn Write + Send>>,
    columns: Vec<String>,
    rows: u64,
}

impl NdjsonEncoder {
    /// An encoder writing to `out`.
    pub fn new(_spec: &JsonSpec, out: Box<dyn Write + Send>) -> Self {
        NdjsonEncoder {
            out: BufWriter::with_capacity(64 * 1024, out),
            columns: Vec::new(),
            rows: 0,
        }
    }
}

impl Encoder for NdjsonEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.columns = object_keys(columns)?;
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            check_width(row, self.columns.len())?;
            self.rows += 1;
            let item = JsonRow {
                columns: &self.columns,
                row,
            };
            serde_json::to_writer(&mut self.out, &item)
                .map_err(|e| cell_error(self.rows, &self.columns, row, e))?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.flush()?;
        Ok(())
    }
}
