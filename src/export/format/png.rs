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

/// PNG bytes of a pixmap, which is un-premultiplied in place (no second
/// image-sized buffer). tiny-skia's own encoder uses the balanced deflate
/// level and tries five filters per row, which takes longer than drawing
/// a chart; the `Up` filter with fdeflate's fast mode suits flat-coloured
/// charts and diagrams and costs a few percent in size.
fn encode(mut pixmap: resvg::tiny_skia::Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    let (width, height) = (pixmap.width(), pixmap.height());
    let rgba = pixmap.data_mut();
    demultiply(rgba);
    let mut data = Vec::with_capacity(rgba.len() / 8);
    let mut encoder = png::Encoder::new(&mut data, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fastest);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(data)
}

/// Premultiplied RGBA to straight RGBA. Opaque and fully transparent
/// pixels (nearly all of a chart or diagram) are the same either way.
fn demultiply(rgba: &mut [u8]) {
    for pixel in rgba.chunks_exact_mut(4) {
        let a = u16::from(pixel[3]);
        if a == 255 || a == 0 {
            continue;
        }
        // tiny-skia's own formula, so output is the same as its encoder's.
        let a = f64::from(a) / 255.0;
        for c in &mut pixel[..3] {
            *c = (f64::from(*c) / a + 0.5) as u8;
        }
    }
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
        // Freeing a large diagram's tree (every path and glyph outline)
        // takes a few percent of a render; another core does it while this
        // one encodes.
        let png = std::thread::scope(|scope| {
            scope.spawn(move || drop(tree));
            encode(pixmap)
        })
        .map_err(|e| FormatError::Data(format!("cannot encode the PNG: {e}")))?;
        self.out.write_all(&png)?;
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::demultiply;
    use resvg::tiny_skia::PremultipliedColorU8;

    /// The in-place conversion agrees with tiny-skia's own, pixel for pixel,
    /// over every valid premultiplied value.
    #[test]
    fn demultiply_matches_tiny_skia() {
        for a in 0..=255u8 {
            for c in 0..=a {
                let mut mine = [c, c / 2, 0, a];
                demultiply(&mut mine);
                let theirs = PremultipliedColorU8::from_rgba(c, c / 2, 0, a)
                    .map(|p| p.demultiply())
                    .map(|p| [p.red(), p.green(), p.blue(), p.alpha()]);
                assert_eq!(Some(mine), theirs, "c={c} a={a}");
            }
        }
    }
}
