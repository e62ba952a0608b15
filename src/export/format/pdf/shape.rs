//! Arabic shaping with harfrust: Arabic letters take a different form at
//! the start, middle and end of a word (and lam + alef join into one
//! glyph), which drawing one glyph per character cannot give.

use std::sync::OnceLock;

use harfrust::{
    BufferClusterLevel, Direction, FontRef, ShapeOptions, ShapePlan, ShaperData, UnicodeBuffer,
    script,
};

use super::super::fonts;
use super::text::ARABIC;

struct Face {
    font: FontRef<'static>,
    data: ShaperData,
    /// Plans for right-to-left and left-to-right runs: compiling one took
    /// longer than shaping a cell with it.
    rtl: ShapePlan,
    ltr: ShapePlan,
}

/// The Arabic face's shaping tables and plans, made once per process;
/// `None` if the bundled font cannot be read (the text is then drawn
/// unshaped).
fn face() -> Option<&'static Face> {
    static FACE: OnceLock<Option<Face>> = OnceLock::new();
    FACE.get_or_init(|| {
        let font = FontRef::new(fonts::REGULAR[usize::from(ARABIC)].bytes).ok()?;
        let data = ShaperData::new(&font);
        let shaper = data.shaper(&font).build();
        let plan = |direction| ShapePlan::new(&shaper, direction, Some(script::ARABIC), None, &[]);
        let (rtl, ltr) = (plan(Direction::RightToLeft), plan(Direction::LeftToRight));
        Some(Face {
            font,
            data,
            rtl,
            ltr,
        })
    })
    .as_ref()
}

/// Shape `text` (logical order, all in the Arabic face) into `out` as
/// (glyph id, the text it stands for), in visual order when `rtl`. Returns
/// false if the face cannot shape, so the caller draws the text unshaped.
pub fn shape(text: &str, rtl: bool, out: &mut Vec<(u16, String)>) -> bool {
    out.clear();
    let Some(face) = face() else {
        return false;
    };
    let shaper = face.data.shaper(&face.font).build();
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.set_direction(if rtl {
        Direction::RightToLeft
    } else {
        Direction::LeftToRight
    });
    buffer.set_script(script::ARABIC);
    // One cluster per character where the font allows: a ligature still
    // covers the characters it joins, so text extraction gets them all.
    buffer.set_cluster_level(BufferClusterLevel::Characters);
    let plan = if rtl { &face.rtl } else { &face.ltr };
    let glyphs = shaper.shape(buffer, ShapeOptions::new().plan(Some(plan)));
    let infos = glyphs.glyph_infos();
    let mut starts: Vec<usize> = infos.iter().map(|g| g.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut seen: Vec<usize> = Vec::new();
    for info in infos {
        let Ok(gid) = u16::try_from(info.glyph_id) else {
            continue;
        };
        let start = info.cluster as usize;
        let end = starts
            .iter()
            .find(|s| **s > start)
            .copied()
            .unwrap_or(text.len());
        // The first glyph of a cluster carries its text; a second glyph of
        // the same cluster (a mark the font keeps apart) carries none.
        let part = if seen.contains(&start) {
            String::new()
        } else {
            seen.push(start);
            let part = text.get(start..end).unwrap_or_default();
            // Extractors read a right-to-left line's characters back to
            // front, a ligature's too: store its text reversed so "لا"
            // comes back as "لا" rather than "ال".
            match rtl {
                true => part.chars().rev().collect(),
                false => part.to_string(),
            }
        };
        out.push((gid, part));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::format::pdf::text::font_set;

    #[test]
    fn arabic_letters_take_their_joined_forms() {
        let set = font_set().unwrap();
        let font = &set.regular[usize::from(ARABIC)];
        let mut out = Vec::new();
        assert!(shape("سلام", true, &mut out));
        // Visual order: the word's last letter comes first.
        let isolated: Vec<u16> = "سلام"
            .chars()
            .rev()
            .map(|c| font.lookup_glyph_index(c as u32).unwrap())
            .collect();
        let shaped: Vec<u16> = out.iter().map(|(g, _)| *g).collect();
        assert_ne!(shaped, isolated, "no contextual forms");
        // Read back to front, as an extractor reads a right-to-left line.
        let text: String = out
            .iter()
            .rev()
            .flat_map(|(_, t)| t.chars().rev())
            .collect();
        assert_eq!(text, "سلام");
    }
}
