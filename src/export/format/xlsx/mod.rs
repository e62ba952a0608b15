//! `xlsx`: one worksheet streamed into a zip as rows arrive (see
//! [`package`]), with typed cells (see [`cell`]), a styled and frozen header
//! row and column widths fitted to the header and the first batch of rows.
//!
//! The sheet's XML is written here rather than through a workbook library:
//! a general-purpose writer spends most of a large export on per-cell
//! bookkeeping and on a temporary-file round trip that a one-pass,
//! append-only sheet does not need.

mod cell;
mod package;

use chrono::Datelike as _;
use serde::{Deserialize, Serialize};

use super::{Compression, Encoder, FormatError, check_width};
use crate::export::value::{Column, Row, Value};
use cell::{CellWriter, Style};
use package::{Out, Package};

/// Excel's grid: 1,048,576 rows (one is the header) by 16,384 columns.
const MAX_ROWS: u64 = 1_048_575;
const MAX_COLUMNS: usize = 16_384;
/// Excel keeps integers exactly only up to 2^53.
const EXACT_INT: i64 = 1 << 53;
/// Longest text a cell holds, in UTF-16 units.
const MAX_TEXT: usize = 32_767;
/// Widest fitted column, in characters.
const MAX_WIDTH: usize = 60;
/// Sheet XML gathered before it is handed to the compressor.
const CHUNK: usize = 256 * 1024;

/// `format = { kind = "xlsx", sheet = "Sales" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XlsxSpec {
    /// The worksheet's name (default `Sheet1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Compress the output (an xlsx is already a zip: rarely useful).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// Writes rows into the worksheet as they arrive.
pub struct XlsxEncoder {
    sheet: String,
    stage: Stage,
    columns: Vec<String>,
    cells: CellWriter,
    /// Sheet XML not yet handed to the package.
    buf: Vec<u8>,
    rows: u64,
}

/// Where the workbook is: widths need the first batch, so the sheet's data
/// starts with it (or at the end, when there are no rows).
enum Stage {
    /// Nothing written yet.
    New(Out),
    /// The fixed parts are written; the widths wait for rows.
    Begun(Package),
    /// Rows are being written.
    Rows(Package),
    /// A step failed part-way; nothing more can be written.
    Broken,
}

impl XlsxEncoder {
    /// An encoder for `spec` writing to `out`.
    pub fn new(spec: &XlsxSpec, out: Box<dyn std::io::Write + Send>) -> Self {
        XlsxEncoder {
            sheet: spec.sheet.clone().unwrap_or_else(|| "Sheet1".into()),
            stage: Stage::New(out),
            columns: Vec::new(),
            cells: CellWriter::new(0),
            buf: Vec::with_capacity(CHUNK + 64 * 1024),
            rows: 0,
        }
    }

    /// Write the widths fitted to the header and `rows` and the header row.
    fn start_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        let Stage::Begun(mut package) = std::mem::replace(&mut self.stage, Stage::Broken) else {
            return Err(FormatError::Data("xlsx: rows before the columns".into()));
        };
        package.columns(&self.fit_widths(rows))?;
        if !self.columns.is_empty() {
            self.cells.start_row(&mut self.buf, 1);
            for (c, name) in self.columns.iter().enumerate() {
                self.cells.text(&mut self.buf, c, Style::Header, name);
            }
            CellWriter::end_row(&mut self.buf);
        }
        self.stage = Stage::Rows(package);
        Ok(())
    }

    /// Widths fitted to the header and the first batch: rows after it are
    /// already compressed, and a first batch is a fair sample.
    fn fit_widths(&self, rows: &[Row]) -> Vec<usize> {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count() + 2).collect();
        for row in rows {
            for (w, value) in widths.iter_mut().zip(row) {
                let len = match value {
                    Value::Date(_) => 10,
                    Value::Time(_) => 12,
                    Value::DateTime(_) | Value::Timestamp(_) => 23,
                    other => other.to_text().map_or(0, |t| display_width(&t)),
                };
                *w = (*w).max(len + 1);
            }
        }
        widths.into_iter().map(|w| w.min(MAX_WIDTH)).collect()
    }

    /// Hand the gathered XML to the package.
    fn flush_buf(&mut self) -> Result<(), FormatError> {
        if let Stage::Rows(package) = &mut self.stage {
            package.write(&self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }

    fn write_row(&mut self, row: &Row) -> Result<(), FormatError> {
        check_width(row, self.columns.len())?;
        self.rows += 1;
        if self.rows > MAX_ROWS {
            return Err(FormatError::Data(format!(
                "more than {MAX_ROWS} rows do not fit in an Excel sheet; use csv or filter the query"
            )));
        }
        // The header is row 1, so data row n is sheet row n + 1.
        self.cells.start_row(&mut self.buf, self.rows as u32 + 1);
        for (c, value) in row.iter().enumerate() {
            if let Err(message) = self.write_cell(c, value) {
                return Err(FormatError::Cell {
                    row: self.rows,
                    column: self.columns[c].clone(),
                    message,
                });
            }
        }
        CellWriter::end_row(&mut self.buf);
        Ok(())
    }

    /// One cell, or why Excel cannot hold it.
    fn write_cell(&mut self, c: usize, value: &Value) -> Result<(), String> {
        let (cells, buf) = (&self.cells, &mut self.buf);
        match value {
            Value::Null => {}
            Value::Bool(b) => cells.bool(buf, c, *b),
            Value::Int(i) if i.unsigned_abs() <= EXACT_INT as u64 => {
                cells.int(buf, c, Style::Plain, *i)
            }
            // Larger integers would be rounded by Excel: kept as exact text.
            Value::Int(i) => cells.text(buf, c, Style::Plain, &i.to_string()),
            Value::Float(f) if f.is_finite() => cells.float(buf, c, Style::Plain, *f),
            Value::Float(f) => return Err(format!("{f} cannot be held by an Excel cell")),
            // A decimal that a double holds exactly is a number; one with more
            // digits stays exact as text rather than being rounded.
            Value::Decimal(d) => match d.parse::<f64>() {
                Ok(f) if f.is_finite() && same_decimal(d, f) => {
                    cells.float(buf, c, Style::Plain, f)
                }
                _ => cells.text(buf, c, Style::Plain, d),
            },
            Value::Date(d) => {
                excel_year(d.year())?;
                cells.int(buf, c, Style::Date, cell::date_serial(*d));
            }
            Value::Time(t) => cells.float(buf, c, Style::Time, cell::time_fraction(*t)),
            Value::DateTime(dt) => {
                excel_year(dt.year())?;
                cells.float(buf, c, Style::DateTime, cell::datetime_serial(*dt));
            }
            // Excel has no zones: instants are written in UTC.
            Value::Timestamp(ts) => {
                let utc = ts.naive_utc();
                excel_year(utc.year())?;
                cells.float(buf, c, Style::DateTime, cell::datetime_serial(utc));
            }
            Value::Text(t) => text_cell(cells, buf, c, t)?,
            Value::Bytes(_) | Value::Json(_) => {
                let text = value.to_text().unwrap_or_default();
                text_cell(cells, buf, c, &text)?;
            }
        }
        Ok(())
    }
}

/// Text within Excel's length limit.
fn text_cell(cells: &CellWriter, buf: &mut Vec<u8>, c: usize, text: &str) -> Result<(), String> {
    // UTF-16 never has more units than UTF-8 has bytes: count only when long.
    if text.len() > MAX_TEXT && text.encode_utf16().count() > MAX_TEXT {
        return Err(format!(
            "{} characters is more than the {MAX_TEXT} an Excel cell holds",
            text.chars().count()
        ));
    }
    cells.text(buf, c, Style::Plain, text);
    Ok(())
}

/// Excel's calendar runs from 1900 to 9999.
fn excel_year(year: i32) -> Result<(), String> {
    match year {
        ..1900 => Err("dates before 1900 cannot be held by an Excel cell".into()),
        10_000.. => Err("dates after 9999 cannot be held by an Excel cell".into()),
        _ => Ok(()),
    }
}

/// Whether the double prints back as the same decimal (ignoring a trailing
/// `.0` and zeros), so writing it as a number loses nothing.
fn same_decimal(text: &str, f: f64) -> bool {
    let normal = |s: &str| -> String {
        let s = s.trim_start_matches('+');
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    let printed = format!("{f}");
    normal(text) == normal(&printed) && !printed.contains('e')
}

/// Rough display width: wide (CJK, emoji) characters take two columns.
fn display_width(text: &str) -> usize {
    text.lines()
        .map(|line| {
            line.chars()
                .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
                .sum()
        })
        .max()
        .unwrap_or(0)
}

/// Excel's rules for a sheet name, checked before anything is written.
fn check_sheet_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a sheet name cannot be empty".into());
    }
    if name.chars().count() > 31 {
        return Err(format!(
            "{name:?} is longer than the 31 characters Excel allows"
        ));
    }
    if let Some(c) = name.chars().find(|c| "[]:*?/\\".contains(*c)) {
        return Err(format!(
            "{name:?} contains {c:?}, which Excel does not allow in a sheet name"
        ));
    }
    if name.starts_with('\'') || name.ends_with('\'') {
        return Err(format!("{name:?} cannot start or end with an apostrophe"));
    }
    if name.eq_ignore_ascii_case("History") {
        return Err("\"History\" is a name Excel reserves".into());
    }
    Ok(())
}

impl Encoder for XlsxEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if columns.len() > MAX_COLUMNS {
            return Err(FormatError::Data(format!(
                "{} columns is more than the {MAX_COLUMNS} an Excel sheet holds",
                columns.len()
            )));
        }
        if let Some(long) = columns
            .iter()
            .find(|c| c.name.encode_utf16().count() > MAX_TEXT)
        {
            return Err(FormatError::Data(format!(
                "a column name of {} characters is more than the {MAX_TEXT} an Excel cell holds",
                long.name.chars().count()
            )));
        }
        check_sheet_name(&self.sheet)
            .map_err(|e| FormatError::Data(format!("format.sheet: {e}")))?;
        let Stage::New(out) = std::mem::replace(&mut self.stage, Stage::Broken) else {
            return Err(FormatError::Data("xlsx: columns given twice".into()));
        };
        self.stage = Stage::Begun(Package::start(out, &self.sheet)?);
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        self.cells = CellWriter::new(columns.len());
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        if matches!(self.stage, Stage::Begun(_)) {
            self.start_rows(rows)?;
        }
        for row in rows {
            self.write_row(row)?;
            if self.buf.len() >= CHUNK {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        if matches!(self.stage, Stage::New(_)) {
            self.begin(&[])?;
        }
        if matches!(self.stage, Stage::Begun(_)) {
            self.start_rows(&[])?;
        }
        self.flush_buf()?;
        match std::mem::replace(&mut self.stage, Stage::Broken) {
            Stage::Rows(package) => package.finish(),
            _ => Err(FormatError::Data("xlsx: an earlier step failed".into())),
        }
    }
}
