//! `svg`: a bar or line chart drawn from the rows, or an SVG diagram source
//! passed through after checking that it parses.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::chart::ChartSpec;
use super::picture::{self, Picture};
use super::{Compression, Encoder, FormatError};
use crate::export::value::{Column, Row};

/// `format = { kind = "svg", chart = { kind = "bar", x = "day", y = ["amount"] } }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SvgSpec {
    /// The chart to draw; without it the source must be an SVG diagram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// Chart width in pixels (default 800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Chart height in pixels (default 480).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// Gathers the chart's sums (or the diagram) and writes the SVG at the end.
pub struct SvgEncoder {
    out: Box<dyn Write + Send>,
    spec: SvgSpec,
    title: String,
    picture: Option<Picture>,
}

impl SvgEncoder {
    /// An encoder for `spec`; `title` is the chart's default title.
    pub fn new(spec: &SvgSpec, title: &str, out: Box<dyn Write + Send>) -> Self {
        SvgEncoder {
            out,
            spec: spec.clone(),
            title: title.to_string(),
            picture: None,
        }
    }
}

impl Encoder for SvgEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.picture = Some(Picture::begin("svg", self.spec.chart.as_ref(), columns, 1)?);
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        picture::add_rows(self.picture.as_mut(), rows)
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        let picture = picture::take(&mut self.picture)?;
        let width = self.spec.width.unwrap_or(800);
        let height = self.spec.height.unwrap_or(480);
        let diagram = matches!(picture, Picture::Diagrams { .. });
        for svg in picture.into_svgs(width, height, &self.title)? {
            if diagram {
                // Passed through unchanged, but only if it is SVG at all.
                picture::parse(&svg)?;
            }
            self.out.write_all(svg.as_bytes())?;
        }
        self.out.flush()?;
        Ok(())
    }
}
