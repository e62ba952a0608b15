//! Formats: how rows become a file. One file per kind behind the [`Encoder`] seam.

pub mod bands;
pub mod chart;
pub mod compress;
pub mod csv;
pub mod fonts;
pub mod html;
pub mod json;
pub mod markdown;
pub mod ndjson;
pub mod pdf;
pub mod picture;
pub mod png;
pub mod svg;
pub mod xlsx;

use std::io::Write;

use serde::{Deserialize, Serialize};

pub use compress::Compression;

use super::RunContext;
use super::value::{Column, Row};

/// A format as a job writes it (`format = { kind = "csv" }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FormatSpec {
    /// RFC 4180 CSV.
    Csv(csv::CsvSpec),
    /// Tab-separated values (CSV rules with a tab).
    Tsv(csv::CsvSpec),
    /// One JSON array of objects.
    Json(json::JsonSpec),
    /// One JSON object per line.
    Ndjson(json::JsonSpec),
    /// A GitHub-flavoured Markdown table.
    Markdown(markdown::MarkdownSpec),
    /// A standalone HTML page with a styled table.
    Html(html::HtmlSpec),
    /// An Excel workbook with typed cells.
    Xlsx(xlsx::XlsxSpec),
    /// A paginated table report.
    Pdf(pdf::PdfSpec),
    /// A chart drawn from the rows, or an SVG diagram source.
    Svg(svg::SvgSpec),
    /// The same, rasterised.
    Png(png::PngSpec),
}

impl FormatSpec {
    /// The kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            FormatSpec::Csv(_) => "csv",
            FormatSpec::Tsv(_) => "tsv",
            FormatSpec::Json(_) => "json",
            FormatSpec::Ndjson(_) => "ndjson",
            FormatSpec::Markdown(_) => "markdown",
            FormatSpec::Html(_) => "html",
            FormatSpec::Xlsx(_) => "xlsx",
            FormatSpec::Pdf(_) => "pdf",
            FormatSpec::Svg(_) => "svg",
            FormatSpec::Png(_) => "png",
        }
    }

    fn base_extension(&self) -> &'static str {
        match self {
            FormatSpec::Markdown(_) => "md",
            other => other.kind(),
        }
    }

    /// The compression asked for, if any.
    pub fn compression(&self) -> Option<Compression> {
        match self {
            FormatSpec::Csv(s) | FormatSpec::Tsv(s) => s.compression,
            FormatSpec::Json(s) | FormatSpec::Ndjson(s) => s.compression,
            FormatSpec::Markdown(s) => s.compression,
            FormatSpec::Html(s) => s.compression,
            FormatSpec::Xlsx(s) => s.compression,
            FormatSpec::Pdf(s) => s.compression,
            FormatSpec::Svg(s) => s.compression,
            FormatSpec::Png(s) => s.compression,
        }
    }

    /// The file extension of the output (`{ext}` in path patterns),
    /// including the compression's (`csv.gz`, `zip`).
    pub fn extension(&self) -> String {
        match self.compression() {
            None => self.base_extension().to_string(),
            Some(Compression::Gzip) => format!("{}.gz", self.base_extension()),
            Some(Compression::Zip) => "zip".to_string(),
        }
    }

    /// An encoder writing to `out` for the run `ctx` (titles, run time and
    /// the name inside a zip come from it).
    pub fn encoder(
        &self,
        out: Box<dyn Write + Send>,
        ctx: &RunContext,
    ) -> Result<Box<dyn Encoder>, FormatError> {
        match self.compression() {
            None => self.plain_encoder(out, ctx),
            Some(compression) => {
                let entry = format!("{}.{}", ctx.job, self.base_extension());
                let (sink, compressor) = compress::wrap(out, compression, &entry)?;
                let inner = self.plain_encoder(Box::new(sink), ctx)?;
                Ok(Box::new(Compressed { inner, compressor }))
            }
        }
    }

    fn plain_encoder(
        &self,
        out: Box<dyn Write + Send>,
        ctx: &RunContext,
    ) -> Result<Box<dyn Encoder>, FormatError> {
        Ok(match self {
            FormatSpec::Csv(spec) => Box::new(csv::CsvEncoder::new(spec, b',', out)),
            FormatSpec::Tsv(spec) => Box::new(csv::CsvEncoder::new(spec, b'\t', out)),
            FormatSpec::Json(spec) => Box::new(json::JsonEncoder::new(spec, out)),
            FormatSpec::Ndjson(spec) => Box::new(ndjson::NdjsonEncoder::new(spec, out)),
            FormatSpec::Markdown(_) => Box::new(markdown::MarkdownEncoder::new(out)),
            FormatSpec::Html(spec) => Box::new(html::HtmlEncoder::new(spec, ctx, out)),
            FormatSpec::Xlsx(spec) => Box::new(xlsx::XlsxEncoder::new(spec, out)),
            FormatSpec::Pdf(spec) => Box::new(pdf::PdfEncoder::new(spec, ctx, out)?),
            FormatSpec::Svg(spec) => Box::new(svg::SvgEncoder::new(spec, &ctx.job, out)),
            FormatSpec::Png(spec) => Box::new(png::PngEncoder::new(spec, &ctx.job, out)),
        })
    }

    /// Check the options that can be checked without data; the error names
    /// the key under `format`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        match self {
            FormatSpec::Csv(spec) | FormatSpec::Tsv(spec) => spec.validate(),
            FormatSpec::Pdf(spec) => spec.validate(),
            FormatSpec::Png(spec) => {
                spec.validate()?;
                spec.chart.as_ref().map_or(Ok(()), |c| c.validate())
            }
            FormatSpec::Svg(spec) => spec.chart.as_ref().map_or(Ok(()), |c| c.validate()),
            _ => Ok(()),
        }
    }
}

/// Why rows could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Writing the output failed.
    #[error("writing the output failed: {0}")]
    Io(#[from] std::io::Error),
    /// The data does not fit the format.
    #[error("{0}")]
    Data(String),
    /// One cell cannot be written by this format.
    #[error("row {row}, column {column:?}: {message}")]
    Cell {
        /// The row's number, from 1.
        row: u64,
        /// The column's name.
        column: String,
        /// Why the value does not fit.
        message: String,
    },
}

/// Streams rows into an output as they arrive.
pub trait Encoder: Send {
    /// Called once, before any row.
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError>;
    /// Called for each batch, in order.
    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError>;
    /// Called after the last batch: flush everything.
    fn finish(self: Box<Self>) -> Result<(), FormatError>;
}

/// Every row must have one cell per column: a source that breaks this is a
/// bug worth naming rather than a misaligned file.
pub fn check_width(row: &Row, width: usize) -> Result<(), FormatError> {
    if row.len() == width {
        Ok(())
    } else {
        Err(FormatError::Data(format!(
            "a row has {} fields but there are {width} columns",
            row.len()
        )))
    }
}

struct Compressed {
    inner: Box<dyn Encoder>,
    compressor: compress::Compressor,
}

impl Encoder for Compressed {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.inner.begin(columns)
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        self.inner.write_rows(rows)
    }

    fn finish(self: Box<Self>) -> Result<(), FormatError> {
        self.inner.finish()?;
        self.compressor.finish()
    }
}
