//! Drawing a large picture in horizontal bands, one per core. tiny-skia
//! draws on one thread, and rasterising a big diagram is most of a png
//! export's time; each band is its own slice of the one pixmap, so nothing
//! is copied or stitched afterwards. Each band draws only the shapes that
//! reach it: the vendored resvg skips the rest (vendor/README.md), where
//! tiny-skia alone would prepare every path for every band.

use resvg::{tiny_skia, usvg};

/// Below this, threads do not pay: a 800x480 chart took 2.5-2.9 ms in two
/// bands and 2.5 ms in one (its parsing and encoding dominate); the
/// 1600x1000 benchmark diagram draws in 9-11 ms instead of 16.
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

    /// tiny-skia anti-aliases with four sub-rows per pixel. A path cut at
    /// a band edge is split into slightly different segments, and a shifted
    /// band rounds its coordinates differently, so an edge pixel can gain
    /// or lose one sub-row of coverage: a quarter of 255.
    const ONE_SUB_ROW: u8 = 64;

    /// Draw `svg` (700 x 613) in bands and in one pass, at a scale that
    /// puts the band edges on fractional SVG units, and compare: a few
    /// pixels may differ, by at most one sub-row; a shape left out of a
    /// band would differ by far more, over many pixels.
    fn same_picture(svg: &str) {
        let tree = picture::parse(svg).expect("parses");
        // Large enough to be drawn in bands.
        let (w, h) = (1400, 1100);
        assert!(u64::from(w) * u64::from(h) >= MIN_PIXELS);
        let transform = tiny_skia::Transform::from_scale(2.0, 1100.0 / 613.0);
        let mut banded = tiny_skia::Pixmap::new(w, h).expect("pixmap");
        render(&tree, transform, &mut banded);
        let mut one = tiny_skia::Pixmap::new(w, h).expect("pixmap");
        resvg::render(&tree, transform, &mut one.as_mut());
        let pairs = || one.data().chunks(4).zip(banded.data().chunks(4));
        let differing = pairs().filter(|(a, b)| a != b).count();
        let most = pairs()
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)))
            .max()
            .unwrap_or(0);
        assert!(
            differing * 2_000 < (w * h) as usize,
            "{differing} of {} pixels differ",
            w * h
        );
        assert!(most <= ONE_SUB_ROW, "a pixel differs by {most}");
        assert!(
            one.data().chunks(4).filter(|p| p[3] != 0).count() > (w * h / 10) as usize,
            "too little was drawn to compare"
        );
    }

    /// Bands give the one pass's picture: gradients, opacity groups, clip
    /// paths, masks, rotated text, nested transformed groups and strokes
    /// crossing the band edges.
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
            <g mask="url(#m)"><rect x="100" y="200" width="300" height="220" rx="30" fill="#3a9b5b"/></g>
            <g transform="translate(40 250) rotate(15)"><g transform="scale(1.5)">
              <rect width="90" height="60" fill="none" stroke="#c00" stroke-width="7" stroke-linejoin="miter"/>
              <text x="5" y="35" font-size="14" stroke="#fff" stroke-width="0.5">Naïve 😀</text>
            </g></g>"##,
        );
        for i in 0..60 {
            let (x, y) = ((i % 10) * 70, (i / 10) * 100 + 40);
            svg.push_str(&format!(
                r#"<text x="{x}" y="{y}" font-size="13" transform="rotate(-20 {x} {y})">Zoë 東京 {i}</text>"#
            ));
        }
        svg.push_str("</svg>");
        same_picture(&svg);
    }

    /// Each band skips what cannot reach it (resvg's patched `render_nodes`,
    /// see vendor/README.md), by bounds that include strokes: horizontal
    /// and vertical lines, whose fill area is zero, and thick strokes just
    /// outside a band are still drawn.
    #[test]
    fn shapes_beside_a_band_edge_are_drawn() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="700" height="613">
            <rect width="700" height="613" fill="#fff"/>
            <line x1="0" y1="306" x2="700" y2="306" stroke="#c00" stroke-width="2"/>
            <g transform="translate(0 3)">
              <line x1="0" y1="300" x2="700" y2="300" stroke="#123" stroke-width="3"/>
              <line x1="350" y1="0" x2="350" y2="613" stroke="#123"/>
              <circle cx="350" cy="300" r="40" fill="#e4812f"/>
            </g>
            <rect x="100" y="290" width="80" height="12" fill="none" stroke="#06c" stroke-width="14"/>
            <rect x="300" y="310" width="80" height="12" fill="none" stroke="#06c" stroke-width="14"/>
            </svg>"##;
        same_picture(svg);
    }
}
