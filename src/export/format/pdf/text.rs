//! Text for the PDF report: which bundled face draws each character, its
//! glyph and width, line wrapping, and the glyphs a document uses (so the
//! embedded subsets hold exactly those).

use std::collections::{BTreeMap, HashMap};
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

/// Index of the bold face: faces are numbered 0.. in [`fonts::REGULAR`]
/// order, then bold.
pub const BOLD: u8 = fonts::REGULAR.len() as u8;

/// Number of faces a report can use.
pub const FACES: usize = BOLD as usize + 1;

/// Index of the Arabic face, whose text is shaped.
pub const ARABIC: u8 = 2;

/// How one character is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Glyph {
    /// Face index (see [`BOLD`]).
    pub face: u8,
    /// Glyph id in that face (the original font's numbering).
    pub gid: u16,
    /// Advance at 1pt.
    pub width: f32,
}

/// Characters below this have a slot in a flat table instead of a hash
/// lookup: Latin, Greek, Cyrillic, Hebrew and Arabic, the bulk of reports.
const FLAT: usize = 0x800;

/// Per-character glyph caches for both styles, and the glyphs used so far
/// per face with the text each stands for (what the subsets and their
/// ToUnicode maps are built from). A report repeats the same few hundred
/// characters millions of times, so each is looked up in the fonts once.
pub struct Measure {
    set: &'static FontSet,
    flat: [Vec<Option<Glyph>>; 2],
    other: [HashMap<char, Glyph>; 2],
    /// Glyph id -> text, per face.
    pub used: Vec<BTreeMap<u16, String>>,
}

fn advance(font: &ParsedFont, gid: u16) -> f32 {
    let upem = f32::from(font.pdf_font_metrics.units_per_em.max(1));
    f32::from(font.get_horizontal_advance(gid)) / upem
}

impl Measure {
    /// Empty caches over the bundled faces.
    pub fn new(set: &'static FontSet) -> Self {
        Measure {
            set,
            flat: [vec![None; FLAT], vec![None; FLAT]],
            other: [HashMap::new(), HashMap::new()],
            used: vec![BTreeMap::new(); FACES],
        }
    }

    /// The parsed font of a face.
    pub fn font(&self, face: u8) -> &'static ParsedFont {
        if face == BOLD {
            &self.set.bold
        } else {
            &self.set.regular[usize::from(face)]
        }
    }

    /// How `c` is drawn. A character no face has is drawn by the first face
    /// (as its missing-glyph box), so text is never dropped silently.
    #[inline]
    pub fn glyph(&mut self, c: char, bold: bool) -> Glyph {
        let style = usize::from(bold);
        let hit = if (c as usize) < FLAT {
            self.flat[style][c as usize]
        } else {
            self.other[style].get(&c).copied()
        };
        hit.unwrap_or_else(|| self.look_up(c, bold))
    }

    #[cold]
    fn look_up(&mut self, c: char, bold: bool) -> Glyph {
        let cp = c as u32;
        let find = |face: u8, font: &ParsedFont| {
            font.lookup_glyph_index(cp)
                .filter(|g| *g != 0)
                .map(|gid| Glyph {
                    face,
                    gid,
                    width: advance(font, gid),
                })
        };
        let found = if bold {
            find(BOLD, &self.set.bold)
        } else {
            None
        };
        let glyph = found
            .or_else(|| {
                (0u8..)
                    .zip(&self.set.regular)
                    .find_map(|(face, font)| find(face, font))
            })
            .unwrap_or(Glyph {
                face: if bold { BOLD } else { 0 },
                gid: 0,
                width: 0.5,
            });
        self.used[usize::from(glyph.face)]
            .entry(glyph.gid)
            .or_insert_with(|| c.to_string());
        let style = usize::from(bold);
        if (c as usize) < FLAT {
            self.flat[style][c as usize] = Some(glyph);
        } else {
            self.other[style].insert(c, glyph);
        }
        glyph
    }

    /// Width of `text` at `size` points.
    pub fn width(&mut self, text: &str, size: f32, bold: bool) -> f32 {
        text.chars().map(|c| self.glyph(c, bold).width).sum::<f32>() * size
    }

    /// Wrap `text` into lines no wider than `max` points, appended to
    /// `lines` with their widths: at spaces where possible, inside a word
    /// (or between CJK characters) where not.
    pub fn wrap(
        &mut self,
        text: &str,
        size: f32,
        bold: bool,
        max: f32,
        lines: &mut Vec<(String, f32)>,
    ) {
        // Most cells are one short line: measure once and keep it whole.
        if !text.contains(['\n', '\t']) && !text.chars().any(char::is_control) {
            let w = self.width(text, size, bold);
            if w <= max {
                lines.push((text.to_string(), w));
                return;
            }
        }
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
                    self.push_trimmed(lines, std::mem::take(&mut line), size, bold);
                    line_width = 0.0;
                }
                // A word wider than a whole line is broken between characters.
                for c in word.chars() {
                    let w = self.glyph(c, bold).width * size;
                    if line_width + w > max && !line.is_empty() && c != ' ' {
                        lines.push((std::mem::take(&mut line), line_width));
                        line_width = 0.0;
                    }
                    line.push(c);
                    line_width += w;
                }
            }
            self.push_trimmed(lines, line, size, bold);
        }
    }

    fn push_trimmed(
        &mut self,
        lines: &mut Vec<(String, f32)>,
        line: String,
        size: f32,
        bold: bool,
    ) {
        let line = match line.trim_end().len() {
            n if n == line.len() => line,
            n => line[..n].to_string(),
        };
        let w = self.width(&line, size, bold);
        lines.push((line, w));
    }
}

/// Whether `c` is written right to left (Hebrew, Arabic and their
/// presentation forms).
pub fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

fn is_strong_ltr(c: char) -> bool {
    c.is_alphanumeric() && !is_rtl(c)
}

/// Split one line into directional runs in visual order (PDF draws left to
/// right): right-to-left letters with the neutrals between them, and the
/// rest; a line whose first strong character is right-to-left has its runs
/// laid out from the right. Each run keeps its characters in logical order;
/// the caller reverses (or shapes) right-to-left runs. This is the common
/// case of the Unicode bidi algorithm.
pub fn visual_runs(line: &str) -> Vec<(bool, &str)> {
    let rtl_base = line
        .chars()
        .find(|c| is_rtl(*c) || is_strong_ltr(*c))
        .is_some_and(is_rtl);
    let mut runs: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    let mut current: Option<bool> = None;
    let open = |c: char| is_rtl(c) || (!is_strong_ltr(c) && rtl_base);
    for (i, c) in line.char_indices() {
        match current {
            None => current = Some(open(c)),
            Some(run) => {
                // Neutrals stay with the run they are in.
                let same = if run {
                    is_rtl(c) || !is_strong_ltr(c)
                } else {
                    !is_rtl(c)
                };
                if !same {
                    runs.push((run, &line[start..i]));
                    start = i;
                    current = Some(open(c));
                }
            }
        }
    }
    if let Some(run) = current {
        runs.push((run, &line[start..]));
    }
    if rtl_base {
        runs.reverse();
    }
    runs
}
