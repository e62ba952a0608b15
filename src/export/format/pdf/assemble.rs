//! Writing the document once the last row is in.
//!
//! printpdf builds the document's skeleton: the font subsets with their
//! widths and ToUnicode maps, the images, the catalog and info. It is given
//! one stand-in page that shows every glyph the report used, so it subsets
//! exactly those, and the stand-in's content tells how it renumbered them.
//! The stand-in is then dropped, and the real pages are copied out of the
//! spill file with their glyph ids and font names rewritten, compressed one
//! at a time, and the cross-reference table written over everything.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::io::{BufWriter, Write};

use flate2::{Compress, Compression, FlushCompress, Status};
use lopdf::{Object, ObjectId};
use printpdf::{
    Codepoint, FontId, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Pt, TextItem,
};

use super::content::{number, remap};
use super::spill::{Slot, SpillReader};
use crate::export::format::FormatError;

/// One page's content in the spill file.
pub struct PageSlots {
    /// Title band, table and pictures.
    pub body: Slot,
    /// The footer with the page number.
    pub footer: Slot,
}

fn broken(what: &str, e: impl Display) -> FormatError {
    FormatError::Data(format!("assembling the PDF: {what}: {e}"))
}

/// Write the whole document to `out`. `fonts[face]` is each face's id in
/// `doc`, `used[face]` the glyphs drawn with it and the text each stands for.
pub fn write(
    doc: &mut PdfDocument,
    fonts: &[FontId],
    used: &[BTreeMap<u16, String>],
    page_mm: (f32, f32),
    pages: &[PageSlots],
    mut spill: SpillReader,
    out: &mut dyn Write,
) -> Result<(), FormatError> {
    let (mut lo, codes) = skeleton(doc, fonts, used, page_mm)?;
    let catalog = lo
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|e| broken("no catalog", e))?;
    let info = lo.trailer.get(b"Info").and_then(Object::as_reference).ok();
    let pages_id = lo
        .get_dictionary(catalog)
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| broken("no page tree", e))?;
    let (stand_in, resources, stand_in_content) = stand_in(&lo, pages_id)?;
    lo.objects.remove(&stand_in);
    lo.objects.remove(&stand_in_content);

    // Three objects per page after printpdf's: page, body, footer.
    let base = lo.max_id + 1;
    let id = |i: usize, k: u32| base + 3 * i as u32 + k;
    let tree = lo
        .get_object_mut(pages_id)
        .and_then(Object::as_dict_mut)
        .map_err(|e| broken("no page tree", e))?;
    let kids = (0..pages.len()).map(|i| Object::Reference((id(i, 0), 0)));
    tree.set("Kids", Object::Array(kids.collect()));
    tree.set("Count", Object::Integer(pages.len() as i64));
    lo.compress();
    let mut head = Vec::new();
    lo.save_to(&mut head).map_err(|e| broken("saving", e))?;
    let (body_end, mut offsets) = xref_of(&head)?;

    let mut out = Counting {
        out: BufWriter::with_capacity(1 << 18, out),
        at: 0,
    };
    out.write_all(&head[..body_end])?;
    drop(head);
    let names: Vec<Vec<u8>> = fonts.iter().map(|f| f.0.as_bytes().to_vec()).collect();
    let mut media = b"[0 0 ".to_vec();
    number(&mut media, Mm(page_mm.0).into_pt().0);
    number(&mut media, Mm(page_mm.1).into_pt().0);
    media.push(b']');
    let mut z = Compress::new(Compression::fast(), true);
    let (mut raw, mut mapped, mut packed) = (Vec::new(), Vec::new(), Vec::new());
    for (i, page) in pages.iter().enumerate() {
        offsets.insert(id(i, 0), out.at);
        write!(
            out,
            "{} 0 obj\n<< /Type /Page /Parent {} 0 R /MediaBox ",
            id(i, 0),
            pages_id.0
        )?;
        out.write_all(&media)?;
        writeln!(
            out,
            " /Resources {} 0 R /Contents [{} 0 R {} 0 R] >>\nendobj",
            resources.0,
            id(i, 1),
            id(i, 2)
        )?;
        for (k, slot) in [(1, page.body), (2, page.footer)] {
            spill.read(slot, &mut raw)?;
            remap(&raw, &names, &codes, &mut mapped)?;
            deflate(&mut z, &mapped, &mut packed)?;
            offsets.insert(id(i, k), out.at);
            writeln!(
                out,
                "{} 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream",
                id(i, k),
                packed.len()
            )?;
            out.write_all(&packed)?;
            out.write_all(b"\nendstream\nendobj\n")?;
        }
    }
    let size = id(pages.len(), 0);
    let xref_at = out.at;
    write_xref(&mut out, &offsets)?;
    write!(out, "trailer\n<< /Size {size} /Root {} 0 R ", catalog.0)?;
    if let Some(info) = info {
        write!(out, "/Info {} 0 R ", info.0)?;
    }
    if let Ok(ids) = lo.trailer.get(b"ID").and_then(Object::as_array) {
        out.write_all(b"/ID [")?;
        for part in ids {
            if let Ok(bytes) = part.as_str() {
                out.write_all(b"<")?;
                for b in bytes {
                    write!(out, "{b:02X}")?;
                }
                out.write_all(b">")?;
            }
        }
        out.write_all(b"] ")?;
    }
    write!(out, ">>\nstartxref\n{xref_at}\n%%EOF\n")?;
    out.out.flush()?;
    Ok(())
}

/// printpdf's document for a stand-in page showing every used glyph, and
/// per face the code printpdf gave each original glyph id (dense, by id).
fn skeleton(
    doc: &mut PdfDocument,
    fonts: &[FontId],
    used: &[BTreeMap<u16, String>],
    page_mm: (f32, f32),
) -> Result<(lopdf::Document, Vec<Vec<u16>>), FormatError> {
    let mut ops = vec![Op::StartTextSection];
    for (font, glyphs) in fonts.iter().zip(used) {
        if glyphs.is_empty() {
            continue;
        }
        ops.push(Op::SetFont {
            font: PdfFontHandle::External(font.clone()),
            size: Pt(10.0),
        });
        let items = glyphs.iter().map(|(gid, text)| Codepoint {
            gid: *gid,
            offset: 0.0,
            cid: Some(text.clone()),
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::GlyphIds(items.collect())],
        });
    }
    ops.push(Op::EndTextSection);
    doc.with_pages(vec![PdfPage::new(Mm(page_mm.0), Mm(page_mm.1), ops)]);
    let mut warnings = Vec::new();
    let lo = doc.to_lopdf_document(&PdfSaveOptions::default(), &mut warnings);

    // Read the codes back from the stand-in's content, in the order shown.
    let catalog = lo.trailer.get(b"Root").and_then(Object::as_reference);
    let pages = catalog
        .and_then(|c| lo.get_dictionary(c))
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| broken("no page tree", e))?;
    let (_, _, content) = stand_in(&lo, pages)?;
    let stream = lo
        .get_object(content)
        .and_then(Object::as_stream)
        .map_err(|e| broken("no stand-in content", e))?;
    let bytes = match stream.dict.has(b"Filter") {
        true => stream
            .decompressed_content()
            .map_err(|e| broken("stand-in content", e))?,
        false => stream.content.clone(),
    };
    let operations = lopdf::content::Content::decode(&bytes)
        .map_err(|e| broken("stand-in content", e))?
        .operations;
    let by_name: HashMap<&[u8], usize> = fonts
        .iter()
        .enumerate()
        .map(|(face, f)| (f.0.as_bytes(), face))
        .collect();
    let mut shown: Vec<Vec<u16>> = vec![Vec::new(); fonts.len()];
    let mut face = None;
    for op in &operations {
        match op.operator.as_str() {
            "Tf" => {
                let name = op.operands.first().and_then(|n| n.as_name().ok());
                face = name.and_then(|n| by_name.get(n).copied());
            }
            "Tj" | "TJ" => {
                let Some(face) = face else { continue };
                let strings = op.operands.iter().flat_map(|o| match o {
                    Object::Array(items) => items.iter().collect(),
                    other => vec![other],
                });
                for s in strings {
                    if let Object::String(b, _) = s {
                        for pair in b.chunks_exact(2) {
                            shown[face].push(u16::from_be_bytes([pair[0], pair[1]]));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut codes = vec![Vec::new(); fonts.len()];
    for (face, glyphs) in used.iter().enumerate() {
        if glyphs.is_empty() {
            continue;
        }
        if shown[face].len() != glyphs.len() {
            return Err(broken(
                "glyph numbering",
                format!(
                    "{} codes for {} glyphs of {}",
                    shown[face].len(),
                    glyphs.len(),
                    fonts[face].0
                ),
            ));
        }
        let mut map = vec![0u16; 1 << 16];
        for (gid, code) in glyphs.keys().zip(&shown[face]) {
            map[usize::from(*gid)] = *code;
        }
        codes[face] = map;
    }
    Ok((lo, codes))
}

/// The stand-in page, its resources and its content stream.
fn stand_in(
    lo: &lopdf::Document,
    pages: ObjectId,
) -> Result<(ObjectId, ObjectId, ObjectId), FormatError> {
    let page = lo
        .get_dictionary(pages)
        .and_then(|d| d.get(b"Kids"))
        .and_then(Object::as_array)
        .map_err(|e| broken("no pages", e))?
        .first()
        .ok_or_else(|| broken("no pages", "empty"))?
        .as_reference()
        .map_err(|e| broken("no pages", e))?;
    let dict = lo
        .get_dictionary(page)
        .map_err(|e| broken("stand-in page", e))?;
    let get = |key: &[u8]| {
        dict.get(key)
            .and_then(Object::as_reference)
            .map_err(|e| broken("stand-in page", e))
    };
    Ok((page, get(b"Resources")?, get(b"Contents")?))
}

/// Where lopdf's cross-reference table starts (its objects end there), and
/// the offset of each object it lists.
fn xref_of(head: &[u8]) -> Result<(usize, BTreeMap<u32, u64>), FormatError> {
    let tail = &head[head.len().saturating_sub(64)..];
    let at = String::from_utf8_lossy(tail)
        .split("startxref")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse::<usize>().ok())
        .ok_or_else(|| broken("lopdf's output", "no startxref"))?;
    let table = head
        .get(at..)
        .ok_or_else(|| broken("lopdf's output", "startxref out of range"))?;
    let text = String::from_utf8_lossy(table);
    let mut tokens = text.split_whitespace();
    if tokens.next() != Some("xref") {
        return Err(broken("lopdf's output", "no xref table"));
    }
    let mut offsets = BTreeMap::new();
    let bad = || broken("lopdf's output", "unreadable xref table");
    loop {
        let first = tokens.next().ok_or_else(bad)?;
        if first == "trailer" {
            break;
        }
        let start: u32 = first.parse().map_err(|_| bad())?;
        let count: u32 = tokens.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        for n in 0..count {
            let offset: u64 = tokens.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
            let _generation = tokens.next().ok_or_else(bad)?;
            if tokens.next() == Some("n") {
                offsets.insert(start + n, offset);
            }
        }
    }
    Ok((at, offsets))
}

/// A classic cross-reference table: one subsection per run of ids.
fn write_xref(out: &mut impl Write, offsets: &BTreeMap<u32, u64>) -> std::io::Result<()> {
    out.write_all(b"xref\n0 1\n0000000000 65535 f\r\n")?;
    let ids: Vec<u32> = offsets.keys().copied().collect();
    for run in ids.chunk_by(|a, b| b == &(a + 1)) {
        writeln!(out, "{} {}", run[0], run.len())?;
        for id in run {
            write!(out, "{:010} 00000 n\r\n", offsets[id])?;
        }
    }
    Ok(())
}

/// Compress `input` into `out` (zlib, as FlateDecode wants), reusing the
/// compressor's state between pages.
fn deflate(z: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> Result<(), FormatError> {
    z.reset();
    out.clear();
    out.reserve(input.len() / 2 + 64);
    loop {
        let done = z.total_in() as usize;
        let status = z
            .compress_vec(&input[done..], out, FlushCompress::Finish)
            .map_err(|e| broken("compressing a page", e))?;
        if status == Status::StreamEnd {
            return Ok(());
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// A writer that knows how far it has written (for the xref table).
struct Counting<W: Write> {
    out: W,
    at: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.at += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
