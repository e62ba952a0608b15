//! Drawing one page of the report: title band, table header, rows, footer.

use super::content::{self, Text};
use super::text::Measure;

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
#[derive(Default)]
pub struct CellLines {
    /// Lines in logical order, with their widths in points.
    pub lines: Vec<(String, f32)>,
    /// Right-aligned (numbers).
    pub right: bool,
}

/// The header band's colour.
const HEADER: u32 = 0x2F4858;
/// Every other row's shading.
const ZEBRA: u32 = 0xF1F4F6;
const GREY: u32 = 0x555555;

/// Builds the content of one page: shapes (drawn first, under the text)
/// and one text object.
pub struct Page {
    shapes: Vec<u8>,
    text: Text,
}

impl Page {
    /// A page with the title band drawn.
    pub fn new(g: &Geometry, title: &str, subtitle: &str, m: &mut Measure) -> Self {
        let mut page = Page {
            shapes: Vec::new(),
            text: Text::new(),
        };
        let top = g.height - g.margin;
        let t = &mut page.text;
        // The shapes, drawn first, leave their fill colour set.
        t.fill(0x000000);
        t.line(m, g.margin, top - g.size * 1.6, title, g.size * 1.6, true);
        t.fill(GREY);
        t.line(
            m,
            g.margin,
            top - g.size * 2.8,
            subtitle,
            g.size * 0.9,
            false,
        );
        t.fill(0x000000);
        page
    }

    /// Draw an image XObject into a box.
    pub fn image(&mut self, name: &str, x: f32, y: f32, w: f32, h: f32) {
        content::image(&mut self.shapes, name, x, y, w, h);
    }

    /// The table's header row; returns the y below it.
    pub fn header(&mut self, g: &Geometry, names: &[CellLines], m: &mut Measure) -> f32 {
        let h = row_height(g, names);
        let top = g.table_top();
        content::fill(&mut self.shapes, HEADER);
        content::rect(&mut self.shapes, g.xs[0], top - h, g.table_width(), h);
        // Every shape after the header is a zebra stripe.
        content::fill(&mut self.shapes, ZEBRA);
        self.text.fill(0xFFFFFF);
        self.cells(g, top, names, true, m);
        self.text.fill(0x000000);
        top - h
    }

    /// One body row whose top is at `top`; `zebra` shades it.
    pub fn row(
        &mut self,
        g: &Geometry,
        top: f32,
        cells: &[CellLines],
        zebra: bool,
        m: &mut Measure,
    ) -> f32 {
        let h = row_height(g, cells);
        if zebra {
            content::rect(&mut self.shapes, g.xs[0], top - h, g.table_width(), h);
        }
        self.cells(g, top, cells, false, m);
        top - h
    }

    fn cells(&mut self, g: &Geometry, top: f32, cells: &[CellLines], bold: bool, m: &mut Measure) {
        let size = g.size;
        let pad = g.pad();
        for (i, cell) in cells.iter().enumerate() {
            for (n, (line, width)) in cell.lines.iter().enumerate() {
                let baseline = top - pad - size * 0.95 - n as f32 * g.line_height();
                let x = if cell.right {
                    g.xs[i] + g.widths[i] - pad - width
                } else {
                    g.xs[i] + pad
                };
                self.text.line(m, x, baseline, line, size, bold);
            }
        }
    }

    /// The page's content stream.
    pub fn finish(self) -> Vec<u8> {
        let mut bytes = self.shapes;
        bytes.extend_from_slice(&self.text.finish());
        bytes
    }
}

/// The footer's content stream (its own, since the page count is known
/// only at the end): run summary on the left, page number on the right.
pub fn footer(g: &Geometry, left: &str, right: &str, m: &mut Measure) -> Vec<u8> {
    let size = g.size * 0.85;
    let mut text = Text::new();
    text.fill(GREY);
    text.line(m, g.margin, g.margin, left, size, false);
    let w = m.width(right, size, false);
    text.line(m, g.width - g.margin - w, g.margin, right, size, false);
    text.finish()
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

/// Widths that fit `available`: columns needing less than an equal share
/// keep their natural width; the rest split what remains (never below `min`).
pub fn share(natural: &[f32], available: f32, min: f32) -> Vec<f32> {
    if natural.iter().sum::<f32>() <= available || natural.is_empty() {
        return natural.to_vec();
    }
    let mut widths = vec![0.0; natural.len()];
    let mut open: Vec<usize> = (0..natural.len()).collect();
    let mut left = available;
    loop {
        let fair = left / open.len() as f32;
        let (small, big): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&i| natural[i] <= fair);
        if small.is_empty() {
            for &i in &big {
                widths[i] = fair.max(min);
            }
            return widths;
        }
        for &i in &small {
            widths[i] = natural[i];
            left -= natural[i];
        }
        if big.is_empty() {
            return widths;
        }
        open = big;
    }
}
