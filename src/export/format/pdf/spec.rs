//! The pdf format's settings.

use serde::{Deserialize, Serialize};

use crate::export::format::Compression;
use crate::export::format::chart::ChartSpec;

/// `format = { kind = "pdf", title = "Daily sales", page = "a4", orientation = "landscape" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfSpec {
    /// Title on every page (default: the job's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `a4` (default) or `letter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageSize>,
    /// `landscape` (default) or `portrait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<Orientation>,
    /// Body text size in points (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_size: Option<f32>,
    /// Most rows the report may hold (default: no limit). Memory does not
    /// grow with the rows: finished pages wait in a temporary file (about
    /// 400 bytes a row, uncompressed); memory holds one page, the glyph
    /// caches, the glyphs used (bounded by the fonts) and 16 bytes a page.
    /// The limit only keeps a runaway query from writing a huge report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
    /// A chart of the rows on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// Paper sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageSize {
    /// 210 x 297 mm.
    A4,
    /// 8.5 x 11 in.
    Letter,
}

/// Page orientation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    /// Wide pages, for tables.
    Landscape,
    /// Tall pages.
    Portrait,
}

impl PdfSpec {
    /// Check sizes; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(size) = self.font_size
            && !(4.0..=24.0).contains(&size)
        {
            return Err((
                "format.font_size".into(),
                format!("{size} must be between 4 and 24"),
            ));
        }
        if self.max_rows == Some(0) {
            return Err(("format.max_rows".into(), "must be at least 1".into()));
        }
        self.chart.as_ref().map_or(Ok(()), ChartSpec::validate)
    }
}
