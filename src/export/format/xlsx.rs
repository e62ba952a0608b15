//! `xlsx`: one worksheet written in rust_xlsxwriter's constant-memory mode
//! (each row goes to a temporary file as soon as the next one starts), with
//! typed cells, a styled and frozen header row and column widths fitted to
//! the header and the first batch of rows.

use std::io::Write;

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};

use super::{Compression, Encoder, FormatError, check_width};
use crate::export::value::{Column, Row, Value};

/// Excel's grid: 1,048,576 rows (one is the header) by 16,384 columns.
const MAX_ROWS: u64 = 1_048_575;
const MAX_COLUMNS: usize = 16_384;
/// Excel keeps integers exactly only up to 2^53.
const EXACT_INT: i64 = 1 << 53;
/// Longest text a cell holds.
const MAX_TEXT: usize = 32_767;
/// Widest fitted column, in characters.
const MAX_WIDTH: usize = 60;

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

/// Writes rows into a workbook, then the workbook to the output.
pub struct XlsxEncoder {
    out: Box<dyn Write + Send>,
    workbook: Workbook,
    sheet: Option<String>,
    header: Format,
    date: Format,
    time: Format,
    datetime: Format,
    columns: Vec<String>,
    rows: u64,
    widths_set: bool,
}

fn xlsx_error(e: XlsxError) -> FormatError {
    match e {
        XlsxError::IoError(io) => FormatError::Io(io),
        other => FormatError::Data(other.to_string()),
    }
}

impl XlsxEncoder {
    /// An encoder for `spec` writing to `out`.
    pub fn new(spec: &XlsxSpec, out: Box<dyn Write + Send>) -> Self {
        let header = Format::new()
            .set_bold()
            .set_font_color(Color::White)
            .set_background_color(Color::RGB(0x2F4858))
            .set_border_bottom(FormatBorder::Medium);
        XlsxEncoder {
            out,
            workbook: Workbook::new(),
            sheet: spec.sheet.clone(),
            header,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            time: Format::new().set_num_format("hh:mm:ss.000"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
            columns: Vec::new(),
            rows: 0,
            widths_set: false,
        }
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, FormatError> {
        self.workbook.worksheet_from_index(0).map_err(xlsx_error)
    }

    /// Fit widths to the header and the first batch: later rows are already
    /// on disk in constant-memory mode, and a first batch is a fair sample.
    fn fit_widths(&mut self, rows: &[Row]) -> Result<(), FormatError> {
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
        let sheet = self.sheet()?;
        for (i, w) in widths.into_iter().enumerate() {
            sheet
                .set_column_width(i as u16, w.min(MAX_WIDTH) as f64)
                .map_err(xlsx_error)?;
        }
        Ok(())
    }

    fn write_cell(&mut self, row: u32, col: u16, value: &Value) -> Result<(), FormatError> {
        let (date, time, datetime) = (self.date.clone(), self.time.clone(), self.datetime.clone());
        let refuse = |message: String| FormatError::Cell {
            row: u64::from(row),
            column: self.columns[usize::from(col)].clone(),
            message,
        };
        let text_too_long = |text: &str| text.encode_utf16().count() > MAX_TEXT;
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        let result = match value {
            Value::Null => return Ok(()),
            Value::Bool(b) => sheet.write_boolean(row, col, *b),
            Value::Int(i) if i.unsigned_abs() <= EXACT_INT as u64 => {
                sheet.write_number(row, col, *i as f64)
            }
            // Larger integers would be rounded by Excel: kept as exact text.
            Value::Int(i) => sheet.write_string(row, col, i.to_string()),
            Value::Float(f) if f.is_finite() => sheet.write_number(row, col, *f),
            Value::Float(f) => {
                return Err(refuse(format!("{f} cannot be held by an Excel cell")));
            }
            // A decimal that a double holds exactly is a number; one with more
            // digits stays exact as text rather than being rounded.
            Value::Decimal(d) => match d.parse::<f64>() {
                Ok(f) if f.is_finite() && same_decimal(d, f) => sheet.write_number(row, col, f),
                _ => sheet.write_string(row, col, d),
            },
            Value::Date(d) if d.year_ce().1 >= 1900 => {
                sheet.write_datetime_with_format(row, col, d, &date)
            }
            Value::Time(t) => sheet.write_datetime_with_format(row, col, t, &time),
            Value::DateTime(dt) if dt.date().year_ce().1 >= 1900 => {
                sheet.write_datetime_with_format(row, col, dt, &datetime)
            }
            // Excel has no zones: instants are written in UTC.
            Value::Timestamp(ts) if ts.naive_utc().date().year_ce().1 >= 1900 => {
                sheet.write_datetime_with_format(row, col, ts.naive_utc(), &datetime)
            }
            Value::Date(_) | Value::DateTime(_) | Value::Timestamp(_) => {
                return Err(refuse(
                    "dates before 1900 cannot be held by an Excel cell".into(),
                ));
            }
            Value::Text(_) | Value::Bytes(_) | Value::Json(_) => {
                let text = value.to_text().unwrap_or_default();
                if text_too_long(&text) {
                    return Err(refuse(format!(
                        "{} characters is more than the {MAX_TEXT} an Excel cell holds",
                        text.chars().count()
                    )));
                }
                sheet.write_string(row, col, text.as_ref())
            }
        };
        result.map(|_| ()).map_err(xlsx_error)
    }
}

use chrono::Datelike as _;

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

impl Encoder for XlsxEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if columns.len() > MAX_COLUMNS {
            return Err(FormatError::Data(format!(
                "{} columns is more than the {MAX_COLUMNS} an Excel sheet holds",
                columns.len()
            )));
        }
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        let header = self.header.clone();
        let name = self.sheet.clone();
        let sheet = self
            .workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        if let Some(name) = name {
            sheet
                .set_name(&name)
                .map_err(|e| FormatError::Data(format!("format.sheet: {e}")))?;
        }
        for (i, c) in columns.iter().enumerate() {
            sheet
                .write_string_with_format(0, i as u16, &c.name, &header)
                .map_err(xlsx_error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        if !self.widths_set {
            self.fit_widths(rows)?;
            self.widths_set = true;
        }
        for row in rows {
            check_width(row, self.columns.len())?;
            self.rows += 1;
            if self.rows > MAX_ROWS {
                return Err(FormatError::Data(format!(
                    "more than {MAX_ROWS} rows do not fit in an Excel sheet; use csv or filter the query"
                )));
            }
            let r = self.rows as u32;
            for (c, value) in row.iter().enumerate() {
                self.write_cell(r, c as u16, value)?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        if self.workbook.worksheets().is_empty() {
            self.begin(&[])?;
        }
        let mut out = self.out;
        self.workbook.save_to_writer(&mut out).map_err(xlsx_error)?;
        out.flush()?;
        Ok(())
    }
}
