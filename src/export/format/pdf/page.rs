//! Drawing one page of the report: header band, table header, rows, footer.

use printpdf::{Color, FontId, Op, PaintMode, PdfFontHandle, Pt, Rect, Rgb, TextItem, TextMatrix};

use super::text::{BOLD, Measure, visual_order};

/// Colours of the report.
fn rgb(hex: u32) -> Color {
    let channel = |shift: u32| ((hex >> shift) & 0xFF) as f32 / 255.0;
    Color::Rgb(Rgb::new(channel(16), channel(8), channel(0), None))
}

/// Geometry of a page and the table on it, all in points from the lower left.
#[derive(Clone, Debug)]
pub struct Geometry {
    /// Page width.
    pub width: f32,
    /// Page height.
    pub height: f32,
    /// Margin on every side.
    pub margin: f32,
    /// Body text size.
    pub size: f32,
    /// Left edge of each column.
    pub xs: Vec<f32>,
    /// Width of each column.
    pub widths: Vec<f32>,
}

impl Geometry {
    /// Distance between two text lines.
    pub fn line_height(&self) -> f32 {
        self.size * 1.3
    }

    /// Padding inside a cell.
    pub fn pad(&self) -> f32 {
        self.size * 0.4
    }

    /// Top of the table area (below the title band).
    pub fn table_top(&self) -> f32 {
        self.height - self.margin - self.size * 3.6
    }

    /// Lowest y a row may reach (above the footer).
    pub fn table_bottom(&self) -> f32 {
        self.margin + self.size * 2.0
    }

    /// Width of the table.
    pub fn table_width(&self) -> f32 {
        self.widths.iter().sum()
    }
}

/// A cell laid out into lines, with its alignment.
pub struct CellLines {
    /// Lines in logical order.
    pub lines: Vec<String>,
    /// Right-aligned (numbers).
    pub right: bool,
}

/// Builds the operations of one page.
pub struct PageOps {
    /// The operations so far.
    pub ops: Vec<Op>,
    /// Face and size last set in the open text section.
    current_font: Option<(usize, f32)>,
}

impl PageOps {
    /// A page with the title band drawn.
    pub fn new(
        g: &Geometry,
        title: &str,
        subtitle: &str,
        fonts: &[FontId],
        bold: &FontId,
        m: &mut Measure,
    ) -> Self {
        let mut page = PageOps {
            ops: Vec::new(),
            current_font: None,
        };
        let top = g.height - g.margin;
        page.text(
            g.margin,
            top - g.size * 1.6,
            title,
            g.size * 1.6,
            true,
            fonts,
            bold,
            m,
        );
        page.color(0x555555);
        page.text(
            g.margin,
            top - g.size * 2.8,
            subtitle,
            g.size * 0.9,
            false,
            fonts,
            bold,
            m,
        );
        page.color(0x000000);
        page
    }

    fn color(&mut self, hex: u32) {
        self.ops.push(Op::SetFillColor { col: rgb(hex) });
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, hex: u32) {
        self.color(hex);
        let mut rectangle = Rect::from_xywh(Pt(x), Pt(y), Pt(w), Pt(h));
        // Without a mode printpdf ends the path without painting it.
        rectangle.mode = Some(PaintMode::Fill);
        self.ops.push(Op::DrawRectangle { rectangle });
    }

    /// Text at a baseline position, split into runs by face.
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        size: f32,
        bold: bool,
        fonts: &[FontId],
        bold_font: &FontId,
        m: &mut Measure,
    ) {
        self.ops.push(Op::StartTextSection);
        self.current_font = None;
        self.text_in_section(x, y, text, size, bold, fonts, bold_font, m);
        self.ops.push(Op::EndTextSection);
    }

    /// Text inside an open text section; the font is set only when it
    /// changes, since a report's ops all stay in memory until the end.
    #[allow(clippy::too_many_arguments)]
    fn text_in_section(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        size: f32,
        bold: bool,
        fonts: &[FontId],
        bold_font: &FontId,
        m: &mut Measure,
    ) {
        let visual = visual_order(text);
        if visual.is_empty() {
            return;
        }
        self.ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(Pt(x), Pt(y)),
        });
        for (face, run) in m.runs(&visual, bold) {
            if self.current_font != Some((face, size)) {
                let font = if face == BOLD {
                    bold_font
                } else {
                    &fonts[face]
                };
                self.ops.push(Op::SetFont {
                    font: PdfFontHandle::External(font.clone()),
                    size: Pt(size),
                });
                self.current_font = Some((face, size));
            }
            self.ops.push(Op::ShowText {
                items: vec![TextItem::Text(run)],
            });
        }
    }

    /// The table's header row; returns the y below it.
    pub fn header(
        &mut self,
        g: &Geometry,
        names: &[CellLines],
        fonts: &[FontId],
        bold: &FontId,
        m: &mut Measure,
    ) -> f32 {
        let lines = names
            .iter()
            .map(|c| c.lines.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let h = lines as f32 * g.line_height() + g.pad() * 2.0;
        let top = g.table_top();
        self.rect(g.xs[0], top - h, g.table_width(), h, 0x2F4858);
        self.color(0xFFFFFF);
        self.cells(g, top, names, true, fonts, bold, m);
        self.color(0x000000);
        top - h
    }

    /// One body row whose top is at `top`; `zebra` shades it.
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        g: &Geometry,
        top: f32,
        cells: &[CellLines],
        zebra: bool,
        fonts: &[FontId],
        bold: &FontId,
        m: &mut Measure,
    ) -> f32 {
        let h = row_height(g, cells);
        if zebra {
            self.rect(g.xs[0], top - h, g.table_width(), h, 0xF1F4F6);
            self.color(0x000000);
        }
        self.cells(g, top, cells, false, fonts, bold, m);
        top - h
    }

    #[allow(clippy::too_many_arguments)]
    fn cells(
        &mut self,
        g: &Geometry,
        top: f32,
        cells: &[CellLines],
        bold: bool,
        fonts: &[FontId],
        bold_font: &FontId,
        m: &mut Measure,
    ) {
        let size = g.size;
        // One text section per row, not per cell.
        self.ops.push(Op::StartTextSection);
        self.current_font = None;
        for (i, cell) in cells.iter().enumerate() {
            for (n, line) in cell.lines.iter().enumerate() {
                let baseline = top - g.pad() - size * 0.95 - n as f32 * g.line_height();
                let x = if cell.right {
                    g.xs[i] + g.widths[i] - g.pad() - m.width(line, size, bold)
                } else {
                    g.xs[i] + g.pad()
                };
                self.text_in_section(x, baseline, line, size, bold, fonts, bold_font, m);
            }
        }
        self.ops.push(Op::EndTextSection);
    }

    /// The footer: page number and run time.
    pub fn footer(
        &mut self,
        g: &Geometry,
        left: &str,
        right: &str,
        fonts: &[FontId],
        bold: &FontId,
        m: &mut Measure,
    ) {
        let size = g.size * 0.85;
        let y = g.margin;
        self.color(0x555555);
        self.text(g.margin, y, left, size, false, fonts, bold, m);
        let w = m.width(right, size, false);
        self.text(
            g.width - g.margin - w,
            y,
            right,
            size,
            false,
            fonts,
            bold,
            m,
        );
        self.color(0x000000);
    }
}

/// Height of a row of laid-out cells.
pub fn row_height(g: &Geometry, cells: &[CellLines]) -> f32 {
    let lines = cells
        .iter()
        .map(|c| c.lines.len())
        .max()
        .unwrap_or(1)
        .max(1);
    lines as f32 * g.line_height() + g.pad() * 2.0
}
