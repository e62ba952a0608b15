//! What `svg`, `png` and a diagram `pdf` draw: a chart built from the rows,
//! or an SVG diagram handed over by the source (a column named `svg`, as
//! the file source yields for `.svg` files). Also SVG rasterising.

use resvg::{tiny_skia, usvg};

use super::FormatError;
use super::chart::{ChartData, ChartSpec};
use super::fonts;
use crate::export::value::{Column, Row, Value};

/// The column a diagram source puts the SVG text in.
pub const SVG_COLUMN: &str = "svg";

/// Rows gathered into a picture.
pub enum Picture {
    /// A chart's sums.
    Chart(Box<ChartData>),
    /// One SVG diagram per row (most formats take only one).
    Diagrams {
        /// Index of the `svg` column.
        column: usize,
        /// The diagrams so far.
        svgs: Vec<String>,
        /// Most diagrams the format takes.
        limit: usize,
    },
}

impl Picture {
    /// Decide from the spec and the columns what is being drawn.
    pub fn begin(
        kind: &str,
        chart: Option<&ChartSpec>,
        columns: &[Column],
        limit: usize,
    ) -> Result<Picture, FormatError> {
        if let Some(chart) = chart {
            return Ok(Picture::Chart(Box::new(ChartData::new(chart, columns)?)));
        }
        match columns.iter().position(|c| c.name == SVG_COLUMN) {
            Some(column) => Ok(Picture::Diagrams {
                column,
                svgs: Vec::new(),
                limit,
            }),
            None => Err(FormatError::Data(format!(
                "{kind} needs format.chart = {{ kind = \"bar\", x = \"...\", y = [\"...\"] }} for tabular data, or an SVG diagram source (a file source of .svg files)"
            ))),
        }
    }

    /// Take rows in.
    pub fn add(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        match self {
            Picture::Chart(data) => data.add(rows),
            Picture::Diagrams {
                column,
                svgs,
                limit,
            } => {
                for row in rows {
                    let text = match &row[*column] {
                        Value::Text(t) => t.clone(),
                        Value::Bytes(b) => String::from_utf8(b.clone()).map_err(|_| {
                            FormatError::Data("the SVG diagram is not UTF-8 text".into())
                        })?,
                        other => {
                            return Err(FormatError::Data(format!(
                                "the svg column holds {other:?}, not an SVG document"
                            )));
                        }
                    };
                    if svgs.len() == *limit {
                        return Err(FormatError::Data(format!(
                            "the source gave more than {limit} diagram(s) for one file; narrow the path or glob"
                        )));
                    }
                    svgs.push(text);
                }
                Ok(())
            }
        }
    }

    /// The SVG documents to draw: the chart at `width` x `height`, or the
    /// diagrams as given (the caller parses them).
    pub fn into_svgs(
        self,
        width: u32,
        height: u32,
        title: &str,
    ) -> Result<Vec<String>, FormatError> {
        match self {
            Picture::Chart(data) => Ok(vec![data.to_svg(width as f32, height as f32, title)]),
            Picture::Diagrams { svgs, .. } => {
                if svgs.is_empty() {
                    return Err(FormatError::Data("the source gave no SVG diagram".into()));
                }
                Ok(svgs)
            }
        }
    }
}

/// Add `rows` to an encoder's picture, which `begin` has made by now unless
/// the source broke the columns-first order.
pub fn add_rows(picture: Option<&mut Picture>, rows: &[Row]) -> Result<(), FormatError> {
    match picture {
        Some(p) => p.add(rows),
        None => Err(FormatError::Data("rows before columns".into())),
    }
}

/// An encoder's gathered picture at `finish`; none means the source never
/// sent its columns.
pub fn take(picture: &mut Option<Picture>) -> Result<Picture, FormatError> {
    picture
        .take()
        .ok_or_else(|| FormatError::Data("the source gave no columns".into()))
}

/// Parse SVG text with the bundled fonts; the error says what is wrong.
pub fn parse(svg: &str) -> Result<usvg::Tree, FormatError> {
    let options = usvg::Options {
        font_family: fonts::DEFAULT_FAMILY.to_string(),
        fontdb: fonts::svg_fontdb(),
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options)
        .map_err(|e| FormatError::Data(format!("the SVG does not parse: {e}")))
}

/// How to rasterise.
#[derive(Clone, Copy, Debug)]
pub struct Raster {
    /// Output width in pixels before scaling (default: the SVG's own).
    pub width: Option<u32>,
    /// Output height in pixels before scaling (default: the SVG's own).
    pub height: Option<u32>,
    /// Multiplier for both (default 1).
    pub scale: f32,
    /// Background (RGBA); `None` keeps transparency.
    pub background: Option<[u8; 4]>,
}

/// Rasterise a parsed SVG into RGBA pixels: (width, height, premultiplied pixmap).
pub fn rasterise(tree: &usvg::Tree, raster: Raster) -> Result<tiny_skia::Pixmap, FormatError> {
    let size = tree.size();
    let (sw, sh) = (size.width(), size.height());
    let (w, h) = match (raster.width, raster.height) {
        (Some(w), Some(h)) => (w as f32, h as f32),
        (Some(w), None) => (w as f32, sh * w as f32 / sw),
        (None, Some(h)) => (sw * h as f32 / sh, h as f32),
        (None, None) => (sw, sh),
    };
    let (pw, ph) = (
        (w * raster.scale).round().max(1.0),
        (h * raster.scale).round().max(1.0),
    );
    if pw * ph > 100_000_000.0 {
        return Err(FormatError::Data(format!(
            "{pw} x {ph} pixels is too large to render; lower width, height or scale"
        )));
    }
    let mut pixmap = tiny_skia::Pixmap::new(pw as u32, ph as u32)
        .ok_or_else(|| FormatError::Data(format!("cannot make a {pw} x {ph} image")))?;
    if let Some([r, g, b, a]) = raster.background {
        pixmap.fill(tiny_skia::Color::from_rgba8(r, g, b, a));
    }
    let transform = tiny_skia::Transform::from_scale(pw / sw, ph / sh);
    super::bands::render(tree, transform, &mut pixmap);
    Ok(pixmap)
}

/// `#rrggbb`, `#rrggbbaa` or `transparent` to RGBA; the error names the key.
pub fn parse_color(text: &str) -> Result<Option<[u8; 4]>, (String, String)> {
    if text == "transparent" {
        return Ok(None);
    }
    let hex = text.strip_prefix('#').unwrap_or("");
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16);
    let parsed = match hex.len() {
        6 => byte(0).and_then(|r| Ok([r, byte(2)?, byte(4)?, 255])),
        8 => byte(0).and_then(|r| Ok([r, byte(2)?, byte(4)?, byte(6)?])),
        _ => u8::from_str_radix("zz", 16).map(|_| [0; 4]),
    };
    parsed.map(Some).map_err(|_| {
        (
            "format.background".into(),
            format!("{text:?} is not a colour: use #rrggbb, #rrggbbaa or transparent"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyph ids and placements of every text in `tree`, in document order.
    fn glyphs(tree: &usvg::Tree) -> Vec<Vec<(u32, String)>> {
        fn walk(group: &usvg::Group, out: &mut Vec<Vec<(u32, String)>>) {
            for node in group.children() {
                match node {
                    usvg::Node::Group(g) => walk(g, out),
                    usvg::Node::Text(t) => out.push(
                        t.layouted()
                            .iter()
                            .flat_map(|span| &span.positioned_glyphs)
                            .map(|g| (g.id.0, format!("{:?}", g.transform())))
                            .collect(),
                    ),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(tree.root(), &mut out);
        out
    }

    /// The vendored usvg keeps shaping data and plans for a whole document
    /// (vendor/README.md). A text shaped after others of other scripts,
    /// directions and features gets exactly the glyphs it gets alone.
    #[test]
    fn shaping_in_one_document_equals_shaping_alone() {
        let texts = [
            ("", "AVAV Toyota n123"),
            ("", "2026-11-22 12:00"),
            ("", "שלום עולם 42"),
            ("", "مرحبا بالعالم"),
            ("font-variant:small-caps", "Small Caps"),
            ("font-kerning:none", "AVAV Toyota"),
            ("", "東京 Zoë 😀"),
            ("", "AVAV Toyota n123"),
            ("font-kerning:none", "مرحبا AVAV"),
            ("", "שלום"),
        ];
        let doc = |items: &[(usize, (&str, &str))]| {
            let mut svg = String::from(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400">"#,
            );
            for (i, (style, text)) in items {
                svg.push_str(&format!(
                    r#"<text x="10" y="{}" font-size="14" style="{style}">{text}</text>"#,
                    20 + i * 30
                ));
            }
            svg.push_str("</svg>");
            parse(&svg).expect("parses")
        };
        let all: Vec<(usize, (&str, &str))> = texts.iter().copied().enumerate().collect();
        let together = glyphs(&doc(&all));
        // The features change the glyphs, so a plan kept for one must
        // not serve the other.
        let alone = |style, text| glyphs(&doc(&[(0, (style, text))]));
        assert_ne!(alone("", "AVAV"), alone("font-kerning:none", "AVAV"));
        assert_ne!(alone("", "Caps"), alone("font-variant:small-caps", "Caps"));
        assert_eq!(together.len(), texts.len());
        for (i, item) in all.iter().enumerate() {
            let alone = glyphs(&doc(std::slice::from_ref(item)));
            assert!(!alone[0].is_empty(), "{:?} has glyphs", item.1);
            assert_eq!(together[i], alone[0], "{:?}", item.1);
        }
    }
}
