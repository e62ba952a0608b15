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

/// Writes rows as CSV or TSV, into a byte buffer handed to the output in
/// large pieces. The quoting rules are the csv crate's (which the tests read
/// the files back with), written here so a cell costs a table lookup per
/// byte and a copy rather than a pass through a streaming state machine.
pub struct CsvEncoder {
    out: Box<dyn Write + Send>,
    buffer: Vec<u8>,
    header: bool,
    quote: QuoteStyle,
    delimiter: u8,
    terminator: &'static [u8],
    /// Bytes that force quotes under `necessary`: the delimiter, the quote
    /// and line breaks.
    special: [bool; 256],
    null: String,
    columns: Vec<String>,
    rows: u64,
    /// Reused for each cell that is not already text.
    scratch: Vec<u8>,
}

/// Hand the buffer to the output once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

impl CsvEncoder {
    /// An encoder for `spec` writing to `out`; `default_delimiter` is the
    /// kind's own (comma or tab) when the spec names none.
    pub fn new(spec: &CsvSpec, default_delimiter: u8, out: Box<dyn Write + Send>) -> Self {
        let delimiter = spec
            .delimiter
            .as_deref()
            .and_then(|d| d.bytes().next())
            .unwrap_or(default_delimiter);
        let mut special = [false; 256];
        for b in [delimiter, b'"', b'\r', b'\n'] {
            special[usize::from(b)] = true;
        }
        CsvEncoder {
            out,
            buffer: Vec::with_capacity(FLUSH_AT + 4096),
            header: spec.header.unwrap_or(true),
            quote: spec.quote.unwrap_or(QuoteStyle::Necessary),
            delimiter,
            terminator: match spec.line_ending.unwrap_or(LineEnding::Crlf) {
                LineEnding::Crlf => b"\r\n",
                LineEnding::Lf => b"\n",
            },
            special,
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
    special: &[bool; 256],
    columns: &[String],
    row: u64,
    column: usize,
    text: &[u8],
) -> Result<(), FormatError> {
    if text.iter().any(|&b| special[usize::from(b)]) {
        return Err(FormatError::Cell {
            row,
            column: columns[column].clone(),
            message: "holds a delimiter, quote or line break, which quote = \"never\" cannot write"
                .into(),
        });
    }
    Ok(())
}

/// The csv crate's test for `non_numeric`: what parses as a float or an
/// integer is a number.
fn is_numeric(field: &[u8]) -> bool {
    std::str::from_utf8(field).is_ok_and(|s| s.parse::<f64>().is_ok() || s.parse::<i128>().is_ok())
}

/// Append one field (after its delimiter, if not the first) to `out`.
fn push_field(out: &mut Vec<u8>, field: &[u8], quote: QuoteStyle, special: &[bool; 256]) {
    let quoted = match quote {
        QuoteStyle::Necessary => field.iter().any(|&b| special[usize::from(b)]),
        QuoteStyle::Always => true,
        QuoteStyle::NonNumeric => !is_numeric(field),
        QuoteStyle::Never => false,
    };
    if !quoted {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    // Quotes inside are doubled (RFC 4180).
    for (i, part) in field.split(|&b| b == b'"').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(part);
    }
    out.push(b'"');
}

impl CsvEncoder {
    /// End a record that started at `start` in the buffer. A record with no
    /// bytes at all would read back as no record: like the csv crate, write
    /// it as one quoted empty field, whatever the quoting style.
    fn end_record(&mut self, start: usize) -> Result<(), FormatError> {
        if self.buffer.len() == start {
            self.buffer.extend_from_slice(b"\"\"");
        }
        self.buffer.extend_from_slice(self.terminator);
        if self.buffer.len() >= FLUSH_AT {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl Encoder for CsvEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        if self.header && !columns.is_empty() {
            let start = self.buffer.len();
            for (i, c) in columns.iter().enumerate() {
                if self.quote == QuoteStyle::Never {
                    check_unquoted(&self.special, &self.columns, 0, i, c.name.as_bytes())?;
                }
                if i > 0 {
                    self.buffer.push(self.delimiter);
                }
                push_field(
                    &mut self.buffer,
                    c.name.as_bytes(),
                    self.quote,
                    &self.special,
                );
            }
            self.end_record(start)?;
        }
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            check_width(row, self.columns.len())?;
            self.rows += 1;
            let start = self.buffer.len();
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
                if self.quote == QuoteStyle::Never {
                    check_unquoted(&self.special, &self.columns, self.rows, i, field)?;
                }
                if i > 0 {
                    self.buffer.push(self.delimiter);
                }
                push_field(&mut self.buffer, field, self.quote, &self.special);
            }
            self.end_record(start)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.write_all(&self.buffer)?;
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every quoting style writes what the csv crate writes for the same
    /// fields, the awkward ones included.
    #[test]
    fn quoting_matches_the_csv_crate() {
        let fields = [
            "a",
            "",
            "x,y",
            "say \"hi\"",
            "two\nlines",
            "cr\r",
            "-1.5e3",
            "12",
            " 7",
            "a\tb",
        ];
        let records: Vec<Vec<&str>> = vec![fields.to_vec(), vec![""], vec!["", ""], vec!["only"]];
        for quote in [
            QuoteStyle::Necessary,
            QuoteStyle::Always,
            QuoteStyle::NonNumeric,
            QuoteStyle::Never,
        ] {
            for (delimiter, line_ending) in [(b',', LineEnding::Crlf), (b'\t', LineEnding::Lf)] {
                let records: Vec<&Vec<&str>> = records
                    .iter()
                    .filter(|r| {
                        quote != QuoteStyle::Never
                            || r.iter()
                                .all(|f| !f.contains([delimiter as char, '"', '\n', '\r']))
                    })
                    .collect();
                let mut want = csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .terminator(match line_ending {
                        LineEnding::Crlf => csv::Terminator::CRLF,
                        LineEnding::Lf => csv::Terminator::Any(b'\n'),
                    })
                    .quote_style(match quote {
                        QuoteStyle::Necessary => csv::QuoteStyle::Necessary,
                        QuoteStyle::Always => csv::QuoteStyle::Always,
                        QuoteStyle::NonNumeric => csv::QuoteStyle::NonNumeric,
                        QuoteStyle::Never => csv::QuoteStyle::Never,
                    })
                    .from_writer(Vec::new());
                for r in &records {
                    want.write_record(r.iter()).unwrap();
                }
                let want = want.into_inner().unwrap();

                let spec = CsvSpec {
                    quote: Some(quote),
                    line_ending: Some(line_ending),
                    header: Some(false),
                    ..CsvSpec::default()
                };
                let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
                impl Write for Shared {
                    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                        self.0.lock().unwrap().extend_from_slice(buf);
                        Ok(buf.len())
                    }
                    fn flush(&mut self) -> std::io::Result<()> {
                        Ok(())
                    }
                }
                for r in &records {
                    let mut encoder = Box::new(CsvEncoder::new(
                        &spec,
                        delimiter,
                        Box::new(Shared(got.clone())),
                    ));
                    let columns: Vec<Column> = r.iter().map(|_| Column::new("c")).collect();
                    encoder.begin(&columns).unwrap();
                    let row: Row = r.iter().map(|f| Value::Text(f.to_string())).collect();
                    encoder.write_rows(&[row]).unwrap();
                    encoder.finish().unwrap();
                }
                let got = got.lock().unwrap().clone();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "{quote:?} {delimiter}"
                );
            }
        }
    }
}
