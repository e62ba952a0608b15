//! `csv`: RFC 4180 (comma, CRLF, quotes doubled), header row, streamed.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::{Encoder, FormatError};
use crate::export::value::{Column, Row};

/// `format = { kind = "csv", header = true }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSpec {
    /// Write a header row of column names (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
}

/// Writes rows as CSV.
pub struct CsvEncoder {
    writer: csv::Writer<Box<dyn Write + Send>>,
    header: bool,
    width: usize,
}

impl CsvEncoder {
    /// An encoder for `spec` writing to `out`.
    pub fn new(spec: &CsvSpec, out: Box<dyn Write + Send>) -> Self {
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(out);
        CsvEncoder {
            writer,
            header: spec.header.unwrap_or(true),
            width: 0,
        }
    }
}

fn csv_error(e: csv::Error) -> FormatError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => FormatError::Io(io),
        other => FormatError::Data(format!("{other:?}")),
    }
}

impl Encoder for CsvEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.width = columns.len();
        if self.header && !columns.is_empty() {
            self.writer
                .write_record(columns.iter().map(|c| c.name.as_str()))
                .map_err(csv_error)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            if row.len() != self.width {
                return Err(FormatError::Data(format!(
                    "a row has {} fields but there are {} columns",
                    row.len(),
                    self.width
                )));
            }
            // NULL is an empty field: RFC 4180 has no other spelling for it.
            for value in row {
                let text = value.to_text();
                self.writer
                    .write_field(text.as_deref().unwrap_or(""))
                    .map_err(csv_error)?;
            }
            self.writer.write_record(None::<&[u8]>).map_err(csv_error)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::value::Value;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn writes_rfc4180() {
        let out = Shared::default();
        let mut enc: Box<dyn Encoder> =
            Box::new(CsvEncoder::new(&CsvSpec::default(), Box::new(out.clone())));
        enc.begin(&[Column::new("id"), Column::new("note")])
            .unwrap();
        enc.write_rows(&[
            vec![Value::Int(1), Value::Text("plain".into())],
            vec![
                Value::Int(2),
                Value::Text("comma, \"quote\"\nnewline".into()),
            ],
            vec![Value::Null, Value::Text("Zürich 東京 🚀".into())],
        ])
        .unwrap();
        enc.finish().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "id,note\r\n1,plain\r\n2,\"comma, \"\"quote\"\"\nnewline\"\r\n,Zürich 東京 🚀\r\n"
        );
    }
}
