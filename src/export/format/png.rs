//! `png`: the chart of `svg`, or an SVG diagram source, rasterised with
//! resvg using the bundled fonts (loaded once per process).

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::chart::ChartSpec;
use super::picture::{self, Picture, Raster};
use super::{Compression, Encoder, FormatError};
use crate::export::value::{Column, Row};

/// `format = { kind = "png", width = 1200, scale = 2, background = "#ffffff", chart = {...} }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PngSpec {
    /// The chart to draw; without it the source must be an SVG diagram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// Width in pixels before scaling (charts: default 800; diagrams: their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels before scaling (charts: default 480; diagrams: their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Pixel density multiplier (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f32>,
    /// `#rrggbb`, `#rrggbbaa` or `transparent` (default white for charts,
    /// transparent for diagrams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

impl PngSpec {
    /// Check sizes and colour; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(scale) = self.scale
            && !(0.1..=10.0).contains(&scale)
        {
            return Err((
                "format.scale".into(),
                format!("{scale} must be between 0.1 and 10"),
            ));
        }
        for (key, v) in [("format.width", self.width), ("format.height", self.height)] {
            if let Some(v) = v
                && !(1..=20_000).contains(&v)
            {
                return Err((key.into(), format!("{v} must be between 1 and 20000")));
            }
        }
        if let Some(bg) = &self.background {
            picture::parse_color(bg)?;
        }
        Ok(())
    }
}

/// PNG bytes of a pixmap. tiny-skia's own encoder uses the balanced
/// deflate level, which takes longer than drawing a chart; the fast level
/// costs a few percent in size.
fn encode(pixmap: &resvg::tiny_skia::Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    // Opaque pixels are the same premultiplied or not: a chart on its
    // background needs no conversion.
    let converted;
    let rgba: &[u8] = if pixmap.pixels().iter().all(|p| p.alpha() == 255) {
        pixmap.data()
    } else {
        converted = pixmap
            .pixels()
            .iter()
            .flat_map(|p| {
                let c = p.demultiply();
                [c.red(), c.green(), c.blue(), c.alpha()]
            })
            .collect::<Vec<u8>>();
        &converted
    };
    let mut data = Vec::new();
    let mut encoder = png::Encoder::new(&mut data, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(data)
}

/// Gathers the picture and rasterises it at the end.
pub struct PngEncoder {
    out: Box<dyn Write + Send>,
    spec: PngSpec,
    title: String,
    picture: Option<Picture>,
}

impl PngEncoder {
    /// An encoder for `spec`; `title` is the chart's default title.
    pub fn new(spec: &PngSpec, title: &str, out: Box<dyn Write + Send>) -> Self {
        PngEncoder {
            out,
            spec: spec.clone(),
            title: title.to_string(),
            picture: None,
        }
    }
}

impl Encoder for PngEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.picture = Some(Picture::begin("png", self.spec.chart.as_ref(), columns, 1)?);
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        picture::add_rows(self.picture.as_mut(), rows)
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        let picture = picture::take(&mut self.picture)?;
        let chart = matches!(picture, Picture::Chart(_));
        let (width, height) = if chart {
            (
                self.spec.width.unwrap_or(800),
                self.spec.height.unwrap_or(480),
            )
        } else {
            (0, 0)
        };
        let background = match &self.spec.background {
            Some(text) => picture::parse_color(text)
                .map_err(|(k, m)| FormatError::Data(format!("{k}: {m}")))?,
            None if chart => Some([255, 255, 255, 255]),
            None => None,
        };
        let svgs = picture.into_svgs(width, height, &self.title)?;
        let tree = picture::parse(&svgs[0])?;
        let raster = Raster {
            width: if chart { None } else { self.spec.width },
            height: if chart { None } else { self.spec.height },
            scale: self.spec.scale.unwrap_or(1.0),
            background,
        };
        let pixmap = picture::rasterise(&tree, raster)?;
        let png = encode(&pixmap)
            .map_err(|e| FormatError::Data(format!("cannot encode the PNG: {e}")))?;
        self.out.write_all(&png)?;
        self.out.flush()?;
        Ok(())
    }
}
