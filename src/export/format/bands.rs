//! Drawing a large picture in horizontal bands, one per core. tiny-skia
//! draws on one thread, and rasterising a big diagram is most of a png
//! export's time; each band is its own slice of the one pixmap, so nothing
//! is copied or stitched afterwards.

use resvg::{tiny_skia, usvg};

/// Every band prepares every path again (transform, edges), so a band pays
/// only where filling pixels dominates: a 800x480 chart drawn in two bands
/// took more time than in one (5.2 ms against 4 ms), a 1600x1000 diagram less.
const MIN_PIXELS: u64 = 1_000_000;

/// Most bands, however many cores there are.
const MAX_BANDS: usize = 8;

/// Cores this process may use, asked once: on Linux the answer comes from
/// reading cgroup files, which is not worth repeating per picture.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Draw `tree` with `transform` into `pixmap`, in bands when that is both
/// worth it and exact.
pub fn render(tree: &usvg::Tree, transform: tiny_skia::Transform, pixmap: &mut tiny_skia::Pixmap) {
    let (width, height) = (pixmap.width(), pixmap.height());
    let bands = cores().min(MAX_BANDS).min(height as usize);
    // A filter reads the pixels around what it draws, and resvg clips its
    // region to the canvas: at a band's edge it would miss its neighbours.
    // Everything else is drawn per pixel, so a shifted band is the same
    // picture (up to float rounding of an anti-aliased edge pixel).
    if bands < 2 || u64::from(width) * u64::from(height) < MIN_PIXELS || !tree.filters().is_empty()
    {
        resvg::render(tree, transform, &mut pixmap.as_mut());
        return;
    }
    let band_rows = height.div_ceil(bands as u32);
    let stride = width as usize * 4;
    std::thread::scope(|scope| {
        for (i, band) in pixmap
            .data_mut()
            .chunks_mut(band_rows as usize * stride)
            .enumerate()
        {
            let top = i as u32 * band_rows;
            let rows = (band.len() / stride) as u32;
            scope.spawn(move || {
                // The view cannot fail: the slice is exactly rows x width.
                if let Some(mut view) = tiny_skia::PixmapMut::from_bytes(band, width, rows) {
                    let shifted = transform.post_translate(0.0, -(top as f32));
                    resvg::render(tree, shifted, &mut view);
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::format::picture;

    fn whole(tree: &usvg::Tree, transform: tiny_skia::Transform, w: u32, h: u32) -> Vec<u8> {
        let mut pixmap = tiny_skia::Pixmap::new(w, h).expect("pixmap");
        resvg::render(tree, transform, &mut pixmap.as_mut());
        pixmap.data().to_vec()
    }

    /// Bands give the same picture as one pass, with gradients, opacity
    /// groups, clip paths, masks, rotated text and strokes crossing the
    /// band edges, at a scale that puts the edges on fractional SVG units.
    #[test]
    fn banded_pixels_equal_one_pass() {
        let mut svg = String::from(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="700" height="613">
            <defs>
              <linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#36c"/><stop offset="1" stop-color="#c63"/></linearGradient>
              <clipPath id="c"><circle cx="350" cy="300" r="220"/></clipPath>
              <mask id="m"><rect width="700" height="613" fill="white"/><circle cx="200" cy="310" r="60" fill="black"/></mask>
            </defs>
            <rect width="700" height="613" fill="url(#g)"/>
            <g clip-path="url(#c)" opacity="0.7"><path d="M0 0 L700 613 M700 0 L0 613" stroke="#000" stroke-width="9"/></g>
            <g mask="url(#m)"><rect x="100" y="200" width="300" height="220" rx="30" fill="#3a9b5b"/></g>"##,
        );
        for i in 0..60 {
            let (x, y) = ((i % 10) * 70, (i / 10) * 100 + 40);
            svg.push_str(&format!(
                r#"<text x="{x}" y="{y}" font-size="13" transform="rotate(-20 {x} {y})">Zoë 東京 {i}</text>"#
            ));
        }
        svg.push_str("</svg>");
        let tree = picture::parse(&svg).expect("parses");
        // Large enough to be drawn in bands.
        let (w, h) = (1400, 1100);
        assert!(u64::from(w) * u64::from(h) >= MIN_PIXELS);
        let transform = tiny_skia::Transform::from_scale(2.0, 1100.0 / 613.0);
        let mut banded = tiny_skia::Pixmap::new(w, h).expect("pixmap");
        render(&tree, transform, &mut banded);
        let one = whole(&tree, transform, w, h);
        // Shifting a band is a float translation, so an anti-aliased edge
        // pixel may round differently: a handful of pixels, by a few levels,
        // and never a seam along the band edges.
        let differing: Vec<usize> = one
            .chunks(4)
            .zip(banded.data().chunks(4))
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i)
            .collect();
        let most = one
            .iter()
            .zip(banded.data())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(
            differing.len() * 10_000 < (w * h) as usize,
            "{} of {} pixels differ",
            differing.len(),
            w * h
        );
        assert!(most.unwrap_or(0) <= 32, "a pixel differs by {most:?}");
        assert!(one.chunks(4).any(|p| p[3] != 0), "nothing was drawn");
    }
}
