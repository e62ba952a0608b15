//! `ndjson`: one JSON object per line, the lines written as rows arrive.

use std::io::Write;

use super::json::{FLUSH_AT, JsonRows, JsonSpec};
use super::{Encoder, FormatError};
use crate::export::value::{Column, Row};

/// Writes rows as newline-delimited JSON.
pub struct NdjsonEncoder {
    out: Box<dyn Write + Send>,
    buffer: Vec<u8>,
    rows: Option<JsonRows>,
}

impl NdjsonEncoder {
    /// An encoder writing to `out`.
    pub fn new(_spec: &JsonSpec, out: Box<dyn Write + Send>) -> Self {
        NdjsonEncoder {
            out,
            buffer: Vec::with_capacity(FLUSH_AT + 4096),
            rows: None,
        }
    }
}

impl Encoder for NdjsonEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.rows = Some(JsonRows::new(columns)?);
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        let writer = self
            .rows
            .as_mut()
            .ok_or_else(|| FormatError::Data("rows before the columns".into()))?;
        for row in rows {
            writer.write(row, &mut self.buffer)?;
            self.buffer.push(b'\n');
            if self.buffer.len() >= FLUSH_AT {
                self.out.write_all(&self.buffer)?;
                self.buffer.clear();
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.write_all(&self.buffer)?;
        self.out.flush()?;
        Ok(())
    }
}
