//! The fonts bundled in `assets/fonts/`, compiled into the binary so PDF and
//! PNG output look the same on every machine, whatever it has installed.

use std::sync::{Arc, OnceLock};

/// One bundled face.
pub struct Face {
    /// Family name as the font declares it.
    pub family: &'static str,
    /// File name under `assets/fonts/`, for messages.
    pub file: &'static str,
    /// The font file.
    pub bytes: &'static [u8],
}

macro_rules! face {
    ($family:literal, $file:literal) => {
        Face {
            family: $family,
            file: $file,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fonts/", $file)),
        }
    };
}

/// Regular faces in fallback order: each character is drawn with the first
/// face that has a glyph for it.
pub static REGULAR: [Face; 5] = [
    face!("Noto Sans", "NotoSans-Regular.ttf"),
    face!("Noto Sans Hebrew", "NotoSansHebrew-Regular.ttf"),
    face!("Noto Sans Arabic", "NotoSansArabic-Regular.ttf"),
    face!("Noto Sans CJK SC", "NotoSansCJKsc-Subset.otf"),
    face!("Noto Emoji", "NotoEmoji-Regular.ttf"),
];

/// The bold Latin face for headers and titles (other scripts fall back to
/// their regular face).
pub static BOLD: Face = face!("Noto Sans", "NotoSans-Bold.ttf");

/// The family charts and diagrams use when they name none.
pub const DEFAULT_FAMILY: &str = "Noto Sans";

/// The font database for SVG rendering, loaded once per process: loading
/// dominates a small render, so it must not happen per run.
pub fn svg_fontdb() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        for face in REGULAR.iter().chain(std::iter::once(&BOLD)) {
            db.load_font_source(resvg::usvg::fontdb::Source::Binary(Arc::new(face.bytes)));
        }
        db.set_sans_serif_family(DEFAULT_FAMILY);
        db.set_serif_family(DEFAULT_FAMILY);
        db.set_monospace_family(DEFAULT_FAMILY);
        Arc::new(db)
    })
    .clone()
}
