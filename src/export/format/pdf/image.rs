//! Charts and SVG diagrams on PDF pages: rasterised with resvg at twice
//! their size (printpdf draws SVG only through a second, heavier SVG stack)
//! and placed as an image scaled to fit.

use printpdf::{PdfDocument, RawImage, RawImageData, RawImageFormat};

use crate::export::format::FormatError;
use crate::export::format::picture::{self, Raster};

/// Pixels per SVG pixel: sharp on paper and on screen at 200% zoom.
const OVERSAMPLE: f32 = 2.0;

/// Where an image goes on a page: its XObject name and its box in points
/// from the lower left.
pub struct Placement {
    /// The XObject's resource name.
    pub name: String,
    /// Left edge.
    pub x: f32,
    /// Bottom edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

/// Add `svg` to the document as an image placed inside the box (x, y from
/// the lower left, w x h points), keeping its proportions.
pub fn place_svg(
    doc: &mut PdfDocument,
    svg: &str,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
) -> Result<Placement, FormatError> {
    let tree = picture::parse(svg)?;
    let size = tree.size();
    let pixmap = picture::rasterise(
        &tree,
        Raster {
            width: None,
            height: None,
            scale: OVERSAMPLE,
            background: Some([255, 255, 255, 255]),
        },
    )?;
    // On an opaque background premultiplied and straight RGB are the same.
    let mut rgb = Vec::with_capacity(pixmap.data().len() / 4 * 3);
    for px in pixmap.data().chunks_exact(4) {
        rgb.extend_from_slice(&px[..3]);
    }
    let image = RawImage {
        pixels: RawImageData::U8(rgb),
        width: pixmap.width() as usize,
        height: pixmap.height() as usize,
        data_format: RawImageFormat::RGB8,
        tag: Vec::new(),
    };
    let id = doc.add_image(&image);
    // Scale to fit the box, centred across and at the top.
    let fit = (w / size.width()).min(h / size.height());
    let (dw, dh) = (size.width() * fit, size.height() * fit);
    Ok(Placement {
        name: id.0,
        x: x + (w - dw) / 2.0,
        y: y + (h - dh),
        w: dw,
        h: dh,
    })
}
