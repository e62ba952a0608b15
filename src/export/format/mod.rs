//! Formats: how rows become a file. One file per kind behind the [`Encoder`] seam.

pub mod csv;

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::value::{Column, Row};

/// A format as a job writes it (`format = { kind = "csv" }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FormatSpec {
    /// RFC 4180 CSV.
    Csv(csv::CsvSpec),
}

impl FormatSpec {
    /// The kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            FormatSpec::Csv(_) => "csv",
        }
    }

    /// The file extension of the output (`{ext}` in path patterns).
    pub fn extension(&self) -> &'static str {
        match self {
            FormatSpec::Csv(_) => "csv",
        }
    }

    /// An encoder writing to `out`.
    pub fn encoder(&self, out: Box<dyn Write + Send>) -> Box<dyn Encoder> {
        match self {
            FormatSpec::Csv(spec) => Box::new(csv::CsvEncoder::new(spec, out)),
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
