//! PDF content-stream bytes, written directly rather than through
//! printpdf's `Op`s: a report has millions of text runs, and an `Op` list
//! per page (kept until printpdf serialises the whole document) is what
//! made the report slow and large in memory.
//!
//! Text is written with each face's *original* glyph ids, four hex digits
//! per glyph, and fonts are named `/F<face>`: the embedded subsets renumber
//! glyphs only once the whole document's glyph set is known, so
//! [`super::assemble`] rewrites both when the pages are copied out.

use super::shape;
use super::text::{ARABIC, Measure, is_rtl, visual_runs};
use crate::export::format::FormatError;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Write `v` with at most two decimals (a hundredth of a point is finer
/// than any printer), followed by a space.
pub fn number(buf: &mut Vec<u8>, v: f32) {
    let hundredths = (v * 100.0).round() as i64;
    if hundredths < 0 {
        buf.push(b'-');
    }
    let h = hundredths.unsigned_abs();
    let mut digits = itoa::Buffer::new();
    buf.extend_from_slice(digits.format(h / 100).as_bytes());
    let frac = h % 100;
    if frac != 0 {
        buf.push(b'.');
        buf.push(b'0' + (frac / 10) as u8);
        if !frac.is_multiple_of(10) {
            buf.push(b'0' + (frac % 10) as u8);
        }
    }
    buf.push(b' ');
}

/// A fill colour operator for `0xRRGGBB`.
pub fn fill(buf: &mut Vec<u8>, hex: u32) {
    for shift in [16, 8, 0] {
        number(buf, ((hex >> shift) & 0xFF) as f32 / 255.0);
    }
    buf.extend_from_slice(b"rg\n");
}

/// A filled rectangle in the current fill colour.
pub fn rect(buf: &mut Vec<u8>, x: f32, y: f32, w: f32, h: f32) {
    for v in [x, y, w, h] {
        number(buf, v);
    }
    buf.extend_from_slice(b"re f\n");
}

/// An image XObject drawn into the box `w` x `h` at (`x`, `y`).
pub fn image(buf: &mut Vec<u8>, name: &str, x: f32, y: f32, w: f32, h: f32) {
    buf.extend_from_slice(b"q ");
    for v in [w, 0.0, 0.0, h, x, y] {
        number(buf, v);
    }
    buf.extend_from_slice(b"cm /");
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b" Do Q\n");
}

/// One text object (`BT` .. `ET`): line starts are moved to with `Td`
/// relative to the previous one, and the font is set only when it changes.
pub struct Text {
    /// The bytes so far.
    pub buf: Vec<u8>,
    font: Option<(u8, f32)>,
    at: (f32, f32),
    open: bool,
    shaped: Vec<(u16, String)>,
}

impl Default for Text {
    fn default() -> Self {
        Text::new()
    }
}

impl Text {
    /// An open text object.
    pub fn new() -> Self {
        Text {
            buf: b"BT\n".to_vec(),
            font: None,
            at: (0.0, 0.0),
            open: false,
            shaped: Vec::new(),
        }
    }

    /// Close the text object and return its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(b"ET\n");
        self.buf
    }

    /// Set the fill colour of the text that follows.
    pub fn fill(&mut self, hex: u32) {
        fill(&mut self.buf, hex);
    }

    /// Draw one line with its baseline starting at (`x`, `y`).
    #[allow(clippy::too_many_arguments)]
    pub fn line(&mut self, m: &mut Measure, x: f32, y: f32, text: &str, size: f32, bold: bool) {
        if text.is_empty() {
            return;
        }
        number(&mut self.buf, x - self.at.0);
        number(&mut self.buf, y - self.at.1);
        self.buf.extend_from_slice(b"Td\n");
        self.at = (x, y);
        if text.is_ascii() || !text.chars().any(is_rtl) {
            for c in text.chars() {
                let g = m.glyph(c, bold);
                self.glyph(g.face, g.gid, size);
            }
        } else {
            for (rtl, run) in visual_runs(text) {
                self.run(m, run, rtl, size, bold);
            }
        }
        self.close();
    }

    /// One directional run: split by face, each piece reversed (or, for
    /// Arabic, shaped) when the run is right to left.
    fn run(&mut self, m: &mut Measure, run: &str, rtl: bool, size: f32, bold: bool) {
        let mut pieces: Vec<(u8, &str)> = Vec::new();
        let mut start = 0;
        let mut face = None;
        for (i, c) in run.char_indices() {
            let f = m.glyph(c, bold).face;
            match face {
                Some(current) if current != f => {
                    pieces.push((current, &run[start..i]));
                    start = i;
                }
                _ => {}
            }
            face = Some(f);
        }
        if let Some(f) = face {
            pieces.push((f, &run[start..]));
        }
        if rtl {
            pieces.reverse();
        }
        for (face, piece) in pieces {
            if face == ARABIC && shape::shape(piece, rtl, &mut self.shaped) {
                let shaped = std::mem::take(&mut self.shaped);
                for (gid, text) in &shaped {
                    if !m.used[usize::from(ARABIC)].contains_key(gid) {
                        // A glyph that stands for no text of its own (a mark
                        // split from its letter) maps to its usual character.
                        let text = match text.is_empty() {
                            false => text.clone(),
                            true => (m.font(ARABIC).get_glyph_primary_char(*gid))
                                .map_or_else(|| "\u{FFFD}".to_string(), String::from),
                        };
                        m.used[usize::from(ARABIC)].insert(*gid, text);
                    }
                    self.glyph(ARABIC, *gid, size);
                }
                self.shaped = shaped;
                continue;
            }
            let mut glyphs: Vec<(u8, u16)> = piece
                .chars()
                .map(|c| {
                    let g = m.glyph(c, bold);
                    (g.face, g.gid)
                })
                .collect();
            if rtl {
                glyphs.reverse();
            }
            for (face, gid) in glyphs {
                self.glyph(face, gid, size);
            }
        }
    }

    #[inline]
    fn glyph(&mut self, face: u8, gid: u16, size: f32) {
        if self.font != Some((face, size)) {
            self.close();
            self.buf.extend_from_slice(b"/F");
            self.buf.push(b'0' + face);
            self.buf.push(b' ');
            number(&mut self.buf, size);
            self.buf.extend_from_slice(b"Tf\n");
            self.font = Some((face, size));
        }
        if !self.open {
            self.buf.push(b'<');
            self.open = true;
        }
        self.buf.extend_from_slice(&[
            HEX[usize::from(gid >> 12)],
            HEX[usize::from((gid >> 8) & 0xF)],
            HEX[usize::from((gid >> 4) & 0xF)],
            HEX[usize::from(gid & 0xF)],
        ]);
    }

    fn close(&mut self) {
        if self.open {
            self.buf.extend_from_slice(b"> Tj\n");
            self.open = false;
        }
    }
}

fn hex_value(b: u8) -> u16 {
    match b {
        b'0'..=b'9' => u16::from(b - b'0'),
        b'A'..=b'F' => u16::from(b - b'A' + 10),
        _ => 0,
    }
}

/// Rewrite interim content for the finished document: `/F<face>`
/// becomes the face's resource name and each glyph id its subset code.
pub fn remap(
    input: &[u8],
    names: &[Vec<u8>],
    codes: &[Vec<u16>],
    out: &mut Vec<u8>,
) -> Result<(), FormatError> {
    out.clear();
    let mut face = 0usize;
    let mut i = 0;
    while i < input.len() {
        let Some(skip) = input[i..].iter().position(|b| matches!(b, b'<' | b'/')) else {
            out.extend_from_slice(&input[i..]);
            break;
        };
        out.extend_from_slice(&input[i..i + skip]);
        i += skip;
        if input[i] == b'<' {
            let end = input[i..]
                .iter()
                .position(|b| *b == b'>')
                .map(|p| i + p)
                .ok_or_else(|| {
                    FormatError::Data("assembling the PDF: unclosed string in page content".into())
                })?;
            out.push(b'<');
            let map = codes.get(face).map_or(&[][..], Vec::as_slice);
            for hex in input[i + 1..end].chunks_exact(4) {
                let gid = hex.iter().fold(0u16, |v, b| v << 4 | hex_value(*b));
                let code = map.get(usize::from(gid)).copied().unwrap_or(0);
                out.extend_from_slice(&[
                    HEX[usize::from(code >> 12)],
                    HEX[usize::from((code >> 8) & 0xF)],
                    HEX[usize::from((code >> 4) & 0xF)],
                    HEX[usize::from(code & 0xF)],
                ]);
            }
            out.push(b'>');
            i = end + 1;
        } else if let (Some(b'F'), Some(d @ b'0'..=b'9'), Some(b' ')) =
            (input.get(i + 1), input.get(i + 2), input.get(i + 3))
        {
            face = usize::from(d - b'0');
            out.push(b'/');
            out.extend_from_slice(names.get(face).map_or(&[][..], Vec::as_slice));
            i += 3;
        } else {
            out.push(b'/');
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{number, remap};

    #[test]
    fn remap_renames_fonts_and_renumbers_glyphs() {
        let names = vec![b"Regular".to_vec(), b"Hebrew".to_vec()];
        let mut hebrew = vec![0u16; 1 << 16];
        hebrew[3] = 1;
        hebrew[0x1A2] = 2;
        let codes = vec![Vec::new(), hebrew];
        let mut out = Vec::new();
        remap(
            b"/F1 8 Tf\n<000301A2> Tj\nq /XImage Do Q\n",
            &names,
            &codes,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/Hebrew 8 Tf\n<00010002> Tj\nq /XImage Do Q\n"
        );
    }

    #[test]
    fn numbers_are_short() {
        let mut buf = Vec::new();
        for v in [0.0, 12.5, -3.25, 100.0, 0.004, -0.5] {
            number(&mut buf, v);
        }
        assert_eq!(String::from_utf8(buf).unwrap(), "0 12.5 -3.25 100 0 -0.5 ");
    }
}
