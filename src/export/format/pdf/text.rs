//! Text for the PDF report: which bundled face draws each character, how
//! wide a string is, line wrapping, and visual order for right-to-left text.

use std::collections::HashMap;
use std::sync::OnceLock;

use printpdf::ParsedFont;

use super::super::fonts;

/// The bundled faces, parsed once per process (the CJK face takes a while).
pub struct FontSet {
    /// Regular faces in fallback order.
    pub regular: Vec<ParsedFont>,
    /// Bold Latin.
    pub bold: ParsedFont,
}

/// The parsed faces, or which file could not be parsed.
pub fn font_set() -> Result<&'static FontSet, String> {
    static SET: OnceLock<Result<FontSet, String>> = OnceLock::new();
    SET.get_or_init(|| {
        let parse = |face: &fonts::Face| {
            ParsedFont::from_bytes(face.bytes, 0, &mut Vec::new())
                .ok_or_else(|| format!("the bundled font {} cannot be parsed", face.file))
        };
        Ok(FontSet {
            regular: fonts::REGULAR.iter().map(parse).collect::<Result<_, _>>()?,
            bold: parse(&fonts::BOLD)?,
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Which face (index into the regular set, or [`BOLD`]) draws a character.
pub const BOLD: usize = usize::MAX;

/// Measures and splits text for one size, with per-character caches (a
/// report repeats the same few hundred characters millions of times).
pub struct Measure {
    set: &'static FontSet,
    /// (face, width at 1pt) per character, regular style.
    regular: HashMap<char, (usize, f32)>,
    bold: HashMap<char, (usize, f32)>,
}

fn advance(font: &ParsedFont, gid: u16) -> f32 {
    let upem = f32::from(font.pdf_font_metrics.units_per_em.max(1));
    f32::from(font.get_horizontal_advance(gid)) / upem
}

impl Measure {
    /// Caches over the bundled faces.
    pub fn new(set: &'static FontSet) -> Self {
        Measure {
            set,
            regular: HashMap::new(),
            bold: HashMap::new(),
        }
    }

    /// The face and the width at 1pt of `c`. A character no face has is
    /// drawn by the first face (as its missing-glyph box), so text is never
    /// dropped silently.
    pub fn glyph(&mut self, c: char, bold: bool) -> (usize, f32) {
        let cache = if bold {
            &mut self.bold
        } else {
            &mut self.regular
        };
        if let Some(hit) = cache.get(&c) {
            return *hit;
        }
        let cp = c as u32;
        let found = if bold {
            self.set
                .bold
                .lookup_glyph_index(cp)
                .filter(|g| *g != 0)
                .map(|g| (BOLD, advance(&self.set.bold, g)))
        } else {
            None
        };
        let found = found.or_else(|| {
            self.set.regular.iter().enumerate().find_map(|(i, f)| {
                f.lookup_glyph_index(cp)
                    .filter(|g| *g != 0)
                    .map(|g| (i, advance(f, g)))
            })
        });
        let hit = found.unwrap_or((if bold { BOLD } else { 0 }, 0.5));
        cache.insert(c, hit);
        hit
    }

    /// Width of `text` at `size` points.
    pub fn width(&mut self, text: &str, size: f32, bold: bool) -> f32 {
        text.chars().map(|c| self.glyph(c, bold).1).sum::<f32>() * size
    }

    /// Split `text` into runs drawn by one face each.
    pub fn runs(&mut self, text: &str, bold: bool) -> Vec<(usize, String)> {
        let mut runs: Vec<(usize, String)> = Vec::new();
        for c in text.chars() {
            let face = self.glyph(c, bold).0;
            match runs.last_mut() {
                Some((f, run)) if *f == face => run.push(c),
                _ => runs.push((face, c.to_string())),
            }
        }
        runs
    }

    /// Wrap `text` into lines no wider than `max` points: at spaces where
    /// possible, inside a word (or between CJK characters) where not.
    pub fn wrap(&mut self, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let paragraph: String = paragraph
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect();
            let mut line = String::new();
            let mut line_width = 0.0;
            for word in paragraph.split_inclusive(' ') {
                let word_width = self.width(word, size, bold);
                let trimmed = self.width(word.trim_end(), size, bold);
                if line_width + trimmed <= max || line.is_empty() && word_width <= max {
                    line.push_str(word);
                    line_width += word_width;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(line.trim_end().to_string());
                    line.clear();
                    line_width = 0.0;
                }
                // A word wider than a whole line is broken between characters.
                for c in word.chars() {
                    let w = self.glyph(c, bold).1 * size;
                    if line_width + w > max && !line.is_empty() && c != ' ' {
                        lines.push(std::mem::take(&mut line));
                        line_width = 0.0;
                    }
                    line.push(c);
                    line_width += w;
                }
            }
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

fn is_strong_ltr(c: char) -> bool {
    c.is_alphanumeric() && !is_rtl(c)
}

/// Reorder one line into visual order (PDF draws left to right): runs of
/// right-to-left letters are reversed, and a line whose first strong
/// character is right-to-left has its runs laid out from the right. This is
/// the common case of the Unicode bidi algorithm, without shaping.
pub fn visual_order(line: &str) -> String {
    if !line.chars().any(is_rtl) {
        return line.to_string();
    }
    let rtl_base = line
        .chars()
        .find(|c| is_rtl(*c) || is_strong_ltr(*c))
        .is_some_and(is_rtl);
    // Group into runs: RTL letters (with neutrals between them) or the rest.
    let chars: Vec<char> = line.chars().collect();
    let mut runs: Vec<(bool, Vec<char>)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let rtl = is_rtl(chars[i]) || (!is_strong_ltr(chars[i]) && rtl_base);
        let mut j = i + 1;
        while j < chars.len() {
            let c = chars[j];
            let same = if rtl {
                is_rtl(c) || !is_strong_ltr(c)
            } else {
                !is_rtl(c)
            };
            if !same {
                break;
            }
            j += 1;
        }
        runs.push((rtl, chars[i..j].to_vec()));
        i = j;
    }
    for (rtl, run) in runs.iter_mut() {
        if *rtl {
            run.reverse();
        }
    }
    if rtl_base {
        runs.reverse();
    }
    runs.into_iter().flat_map(|(_, run)| run).collect()
}
