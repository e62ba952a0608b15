//! `csv` and `tsv`: RFC 4180 rules (CRLF, quotes doubled), header row,
//! streamed. TSV is the same with a tab, as Excel and Python's `excel-tab`
//! dialect read it.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::{Compression, Encoder, FormatError, check_width};
use crate::export::value::{Column, Row, Value};

/// `format = { kind = "csv", header = true, delimiter = ";", quote = "always" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSpec {
    /// Write a header row of column names (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// One ASCII character between fields (default `,` for csv, tab for tsv).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// When fields are quoted (default `necessary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<QuoteStyle>,
    /// Line ending (default `crlf`, as RFC 4180 says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ending: Option<LineEnding>,
    /// How NULL is spelled (default: an empty field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null: Option<String>,
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// `quote = "necessary" | "always" | "non_numeric" | "never"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuoteStyle {
    /// Only fields holding the delimiter, a quote or a line break.
    Necessary,
    /// Every field.
    Always,
    /// Every field that is not a number.
    NonNumeric,
    /// Never (fields must then hold no delimiter, quote or line break).
    Never,
}

/// `line_ending = "crlf" | "lf"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineEnding {
    /// `\r\n`.
    Crlf,
    /// `\n`.
    Lf,
}

impl CsvSpec {
    /// The delimiter must be a single ASCII character that cannot be
    /// confused with a quote or a line break.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(d) = &self.delimiter {
            let ok = d.len() == 1 && d.is_ascii() && !matches!(d.as_str(), "\"" | "\r" | "\n");
            if !ok {
                return Err((
                    "format.delimiter".into(),
                    format!("{d:?} must be one ASCII character other than a quote or line break"),
                ));
            }
        }
        Ok(())
    }
}

/// Writes rows as CSV or TSV.
pub struct CsvEncoder {
    writer: csv::Writer<Box<dyn Write + Send>>,
    header: bool,
    never_quote: bool,
    delimiter: u8,
    null: String,
    columns: Vec<String>,
    rows: u64,
    /// Reused for each cell that is not already text.
    scratch: Vec<u8>,
}

impl CsvEncoder {
    /// An encoder for `spec` writing to `out`; `default_delimiter` is the
    /// kind's own (comma or tab) when the spec names none.
    pub fn new(spec: &CsvSpec, default_delimiter: u8, out: Box<dyn Write + Send>) -> Self {
        let delimiter = spec
            .delimiter
            .as_deref()
            .and_then(|d| d.bytes().next())
            .unwrap_or(default_delimiter);
        let quote = spec.quote.unwrap_or(QuoteStyle::Necessary);
        let writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(match spec.line_ending.unwrap_or(LineEnding::Crlf) {
                LineEnding::Crlf => csv::Terminator::CRLF,
                LineEnding::Lf => csv::Terminator::Any(b'\n'),
            })
            .quote_style(match quote {
                QuoteStyle::Necessary => csv::QuoteStyle::Necessary,
                QuoteStyle::Always => csv::QuoteStyle::Always,
                QuoteStyle::NonNumeric => csv::QuoteStyle::NonNumeric,
                QuoteStyle::Never => csv::QuoteStyle::Never,
            })
            .buffer_capacity(64 * 1024)
            .from_writer(out);
        CsvEncoder {
            writer,
            header: spec.header.unwrap_or(true),
            never_quote: quote == QuoteStyle::Never,
            delimiter,
            null: spec.null.clone().unwrap_or_default(),
            columns: Vec::new(),
            rows: 0,
            scratch: Vec::with_capacity(64),
        }
    }
}

/// With quoting off, a field holding the delimiter, a quote or a line
/// break would silently shift columns: refuse it instead.
fn check_unquoted(
    delimiter: u8,
    columns: &[String],
    row: u64,
    column: usize,
    text: &[u8],
) -> Result<(), FormatError> {
    let bad = text
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r');
    if bad {
        return Err(FormatError::Cell {
            row,
            column: columns[column].clone(),
            message: "holds a delimiter, quote or line break, which quote = \"never\" cannot write"
                .into(),
        });
    }
    Ok(())
}

fn csv_error(e: csv::Error) -> FormatError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => FormatError::Io(io),
        other => FormatError::Data(format!("{other:?}")),
    }
}

impl Encoder for CsvEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        if self.header && !columns.is_empty() {
            if self.never_quote {
                for (i, c) in columns.iter().enumerate() {
                    check_unquoted(self.delimiter, &self.columns, 0, i, c.name.as_bytes())?;
                }
            }
            self.writer
                .write_record(columns.iter().map(|c| c.name.as_str()))
                .map_err(csv_error)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            check_width(row, self.columns.len())?;
            self.rows += 1;
            for (i, value) in row.iter().enumerate() {
                // Text is written as it is and other values through one
                // reused buffer: this loop runs for every cell of every row.
                let field: &[u8] = match value {
                    Value::Text(t) | Value::Decimal(t) => t.as_bytes(),
                    Value::Null => self.null.as_bytes(),
                    other => {
                        self.scratch.clear();
                        other.write_text(&mut self.scratch);
                        &self.scratch
                    }
                };
                if self.never_quote {
                    check_unquoted(self.delimiter, &self.columns, self.rows, i, field)?;
                }
                self.writer.write_field(field).map_err(csv_error)?;
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
