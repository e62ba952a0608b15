//! Charts and SVG diagrams on PDF pages: rasterised with resvg at twice
//! their size (printpdf draws SVG only through a second, heavier SVG stack)
//! and placed as an image scaled to fit.

use printpdf::{Op, PdfDocument, Pt, RawImage, RawImageData, RawImageFormat, XObjectTransform};

use crate::export::format::FormatError;
use crate::export::format::picture::{self, Raster};

/// Pixels per SVG pixel: sharp on paper and on screen at 200% zoom.
const OVERSAMPLE: f32 = 2.0;

/// Place `svg` inside the box (x, y from the lower left, w x h points),
/// keeping its proportions; returns the drawing operation.
pub fn place_svg(
    doc: &mut PdfDocument,
    svg: &str,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
) -> Result<Op, FormatError> {
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
    // At 72 * OVERSAMPLE dpi the image is as many points wide as the SVG is
    // pixels; then scale it into the box.
    let fit = (w / size.width()).min(h / size.height());
    let (dw, dh) = (size.width() * fit, size.height() * fit);
    Ok(Op::UseXobject {
        id,
        transform: XObjectTransform {
            translate_x: Some(Pt(x + (w - dw) / 2.0)),
            translate_y: Some(Pt(y + (h - dh))),
            scale_x: Some(fit),
            scale_y: Some(fit),
            dpi: Some(72.0 * OVERSAMPLE),
            ..XObjectTransform::default()
        },
    })
}
