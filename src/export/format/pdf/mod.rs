//! `pdf`: a paginated table report: title and run time on every page, the
//! header row repeated, page numbers, column widths fitted to the content,
//! long cells wrapped, an optional chart on the first page, bundled fonts
//! embedded (subset) so any script renders, Arabic shaped.
//!
//! Pages are streamed: each page's content is written as soon as the page
//! is full, to a temporary file ([`spill`]). At the end printpdf builds the
//! document around them: font subsets of exactly the glyphs used, images,
//! catalog ([`assemble`]). Memory holds one page, the glyph caches and the
//! set of glyphs used, whatever the number of rows.

mod assemble;
mod content;
mod image;
mod page;
mod shape;
mod spec;
mod spill;
pub mod text;

use std::io::Write;

use printpdf::{FontId, Mm, PdfDocument};

use super::chart::{ChartData, ChartSpec};
use super::picture::{Picture, SVG_COLUMN};
use super::{Encoder, FormatError, check_width};
use crate::export::RunContext;
use crate::export::value::{Column, Row, Value};
use assemble::PageSlots;
use page::{CellLines, Geometry, Page};
pub use spec::{Orientation, PageSize, PdfSpec};
use spill::{Slot, Spill};
use text::{Measure, font_set};

/// Rows whose content sets the column widths.
const FIT_SAMPLE: usize = 1000;

/// Margin on every side, in points.
const MARGIN: f32 = 28.0;

/// Writes rows into a paginated PDF table.
pub struct PdfEncoder {
    out: Box<dyn Write + Send>,
    doc: PdfDocument,
    fonts: Vec<FontId>,
    measure: Measure,
    title: String,
    subtitle: String,
    page_mm: (f32, f32),
    size: f32,
    max_rows: Option<u64>,
    columns: Vec<String>,
    geometry: Option<Geometry>,
    header: Vec<CellLines>,
    page: Option<Page>,
    spill: Spill,
    bodies: Vec<Slot>,
    y: f32,
    rows: u64,
    drawn: u64,
    cells: Vec<CellLines>,
    sample: Vec<Row>,
    chart_spec: Option<ChartSpec>,
    chart: Option<ChartData>,
    diagrams: Option<Picture>,
}

impl PdfEncoder {
    /// An encoder for `spec` writing to `out`; fails if the bundled fonts
    /// cannot be parsed or no temporary file can be made.
    pub fn new(
        spec: &PdfSpec,
        ctx: &RunContext,
        out: Box<dyn Write + Send>,
    ) -> Result<Self, FormatError> {
        let set = font_set().map_err(FormatError::Data)?;
        let title = spec.title.clone().unwrap_or_else(|| ctx.job.clone());
        let mut doc = PdfDocument::new(&title);
        // Faces in `text::BOLD` numbering: the regular ones, then bold.
        let fonts = set
            .regular
            .iter()
            .chain(std::iter::once(&set.bold))
            .map(|f| doc.add_font(f))
            .collect();
        let (w, h) = match spec.page.unwrap_or(PageSize::A4) {
            PageSize::A4 => (210.0, 297.0),
            PageSize::Letter => (215.9, 279.4),
        };
        let page_mm = match spec.orientation.unwrap_or(Orientation::Landscape) {
            Orientation::Landscape => (h, w),
            Orientation::Portrait => (w, h),
        };
        let local = ctx.scheduled_for.with_timezone(&ctx.timezone);
        let subtitle = format!(
            "Run of {} ({} UTC) · run {}",
            local.format("%Y-%m-%d %H:%M %Z"),
            ctx.scheduled_for.format("%Y-%m-%d %H:%M"),
            ctx.run_id
        );
        Ok(PdfEncoder {
            out,
            doc,
            fonts,
            measure: Measure::new(set),
            title,
            subtitle,
            page_mm,
            size: spec.font_size.unwrap_or(8.0),
            max_rows: spec.max_rows,
            columns: Vec::new(),
            geometry: None,
            header: Vec::new(),
            page: None,
            spill: Spill::new()?,
            bodies: Vec::new(),
            y: 0.0,
            rows: 0,
            drawn: 0,
            cells: Vec::new(),
            sample: Vec::new(),
            chart_spec: spec.chart.clone(),
            chart: None,
            diagrams: None,
        })
    }

    /// The page in points, with one full-width column.
    fn plain_geometry(&self) -> Geometry {
        let (w, h) = self.page_mm;
        let (width, height) = (Mm(w).into_pt().0, Mm(h).into_pt().0);
        Geometry {
            width,
            height,
            margin: MARGIN,
            size: self.size,
            xs: vec![MARGIN],
            widths: vec![width - 2.0 * MARGIN],
        }
    }

    /// Natural widths from the header and a first batch, shrunk to the page
    /// by giving narrow columns what they need and sharing the rest.
    fn fit(&mut self, sample: &[Row]) -> Result<(), FormatError> {
        let mut g = self.plain_geometry();
        let size = g.size;
        let pad = g.pad();
        let m = &mut self.measure;
        let mut natural: Vec<f32> = (self.columns.iter())
            .map(|c| m.width(c, size, true) + 2.0 * pad + 1.0)
            .collect();
        let mut numeric = vec![true; natural.len()];
        for row in sample {
            for ((w, value), numeric) in natural.iter_mut().zip(row).zip(&mut numeric) {
                *numeric &= matches!(
                    value,
                    Value::Null | Value::Int(_) | Value::Float(_) | Value::Decimal(_)
                );
                if let Some(text) = value.to_text() {
                    for line in text.split('\n') {
                        *w = w.max(m.width(line, size, false) + 2.0 * pad + 1.0);
                    }
                }
            }
        }
        // Numbers after the sample tend to be longer (ids and totals grow):
        // room for three more digits keeps a millionth row's id on one line
        // rather than broken across two.
        let headroom = m.width("000", size, false);
        for (w, numeric) in natural.iter_mut().zip(&numeric) {
            if *numeric && !sample.is_empty() {
                *w += headroom;
            }
        }
        let available = g.width - 2.0 * g.margin;
        g.widths = page::share(&natural, available, size * 3.0 + 2.0 * pad);
        g.xs = g
            .widths
            .iter()
            .scan(g.margin, |x, w| {
                let left = *x;
                *x += w;
                Some(left)
            })
            .collect();
        self.header = (self.columns.iter().enumerate())
            .map(|(i, c)| {
                let mut lines = Vec::new();
                m.wrap(c, size, true, g.widths[i] - 2.0 * pad, &mut lines);
                CellLines {
                    lines,
                    right: false,
                }
            })
            .collect();
        self.geometry = Some(g);
        self.new_page()
    }

    /// Close the current page (to the spill file) and start the next.
    fn new_page(&mut self) -> Result<(), FormatError> {
        self.close_page()?;
        let Some(g) = self.geometry.as_ref() else {
            return Ok(());
        };
        let m = &mut self.measure;
        let mut page = Page::new(g, &self.title, &self.subtitle, m);
        self.y = page.header(g, &self.header, m);
        self.page = Some(page);
        Ok(())
    }

    fn close_page(&mut self) -> Result<(), FormatError> {
        if let Some(page) = self.page.take() {
            let slot = self.spill.push(&page.finish())?;
            self.bodies.push(slot);
        }
        Ok(())
    }

    fn add_row(&mut self, row: &Row) -> Result<(), FormatError> {
        let Some(g) = self.geometry.as_ref() else {
            return Ok(());
        };
        let pad = g.pad();
        let max_lines = (((g.table_top() - g.table_bottom()) * 0.8 - 2.0 * pad) / g.line_height())
            .max(1.0) as usize;
        self.cells.resize_with(row.len(), CellLines::default);
        for ((value, cell), width) in row.iter().zip(&mut self.cells).zip(&g.widths) {
            cell.lines.clear();
            let text = value.to_text().unwrap_or_default();
            self.measure
                .wrap(&text, g.size, false, width - 2.0 * pad, &mut cell.lines);
            // A cell taller than a page is cut, visibly, rather than
            // running off the page.
            if cell.lines.len() > max_lines {
                cell.lines.truncate(max_lines);
                if let Some((last, w)) = cell.lines.last_mut() {
                    last.push_str(" …");
                    *w = self.measure.width(last, g.size, false);
                }
            }
            cell.right = matches!(value, Value::Int(_) | Value::Float(_) | Value::Decimal(_));
        }
        if page::row_height(g, &self.cells) > self.y - g.table_bottom() {
            self.new_page()?;
        }
        let zebra = self.drawn.is_multiple_of(2);
        self.drawn += 1;
        if let (Some(page), Some(g)) = (self.page.as_mut(), self.geometry.as_ref()) {
            self.y = page.row(g, self.y, &self.cells, zebra, &mut self.measure);
        }
        Ok(())
    }

    fn lay_out_sample(&mut self) -> Result<(), FormatError> {
        let sample = std::mem::take(&mut self.sample);
        self.fit(&sample)?;
        for row in &sample {
            self.add_row(row)?;
        }
        Ok(())
    }
}

impl PdfEncoder {
    /// The box under the title band where pictures go: (x, y, w, h).
    fn picture_box(&self) -> (f32, f32, f32, f32) {
        let g = self.plain_geometry();
        let top = g.table_top();
        let bottom = g.table_bottom();
        (g.margin, bottom, g.width - 2.0 * g.margin, top - bottom)
    }

    /// A page with the title band and one picture; returns its slot.
    fn picture_page(&mut self, svg: &str) -> Result<Slot, FormatError> {
        let (x, y, w, h) = self.picture_box();
        let placed = image::place_svg(&mut self.doc, svg, x, y, w, h)?;
        let g = self.plain_geometry();
        let mut page = Page::new(&g, &self.title, &self.subtitle, &mut self.measure);
        page.image(&placed.name, placed.x, placed.y, placed.w, placed.h);
        if self.geometry.is_none() {
            self.geometry = Some(g);
        }
        Ok(self.spill.push(&page.finish())?)
    }

    fn diagram_pages(&mut self, diagrams: Picture) -> Result<(), FormatError> {
        for svg in diagrams.into_svgs(0, 0, &self.title)? {
            let slot = self.picture_page(&svg)?;
            self.bodies.push(slot);
            self.rows += 1;
        }
        Ok(())
    }

    fn chart_page(&mut self, chart: ChartData) -> Result<(), FormatError> {
        let (_, _, w, h) = self.picture_box();
        let svg = chart.to_svg(w, h, &self.title);
        let slot = self.picture_page(&svg)?;
        self.bodies.insert(0, slot);
        Ok(())
    }
}

impl Encoder for PdfEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if columns.is_empty() {
            return Err(FormatError::Data(
                "a pdf table needs at least one column".into(),
            ));
        }
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        match &self.chart_spec {
            Some(chart) => self.chart = Some(ChartData::new(chart, columns)?),
            // A diagram source: one diagram per page instead of a table.
            None if columns.iter().any(|c| c.name == SVG_COLUMN) => {
                self.diagrams = Some(Picture::begin("pdf", None, columns, usize::MAX)?);
            }
            None => {}
        }
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        if let Some(diagrams) = self.diagrams.as_mut() {
            return diagrams.add(rows);
        }
        if let Some(chart) = self.chart.as_mut() {
            chart.add(rows)?;
        }
        for row in rows {
            check_width(row, self.columns.len())?;
            self.rows += 1;
            if let Some(max) = self.max_rows
                && self.rows > max
            {
                return Err(FormatError::Data(format!(
                    "more than {max} rows for a pdf report (format.max_rows); raise it or use csv or xlsx"
                )));
            }
        }
        if self.geometry.is_none() {
            // Widths come from a sample of the first rows, whatever the
            // batch size; the sample waits until it is complete.
            self.sample.extend_from_slice(rows);
            if self.sample.len() >= FIT_SAMPLE {
                self.lay_out_sample()?;
            }
            return Ok(());
        }
        for row in rows {
            self.add_row(row)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        if let Some(diagrams) = self.diagrams.take() {
            self.diagram_pages(diagrams)?;
        } else {
            if self.geometry.is_none() {
                self.lay_out_sample()?;
            }
            self.close_page()?;
            if let Some(chart) = self.chart.take() {
                self.chart_page(chart)?;
            }
        }
        // Footers go through the spill file too, so their glyphs are in
        // the set the fonts are subset to before the document is built.
        let total = self.bodies.len();
        let left = format!("{} · {} rows", self.title, self.rows);
        let g = self
            .geometry
            .clone()
            .unwrap_or_else(|| self.plain_geometry());
        let mut pages = Vec::with_capacity(total);
        for (i, body) in std::mem::take(&mut self.bodies).into_iter().enumerate() {
            let right = format!("Page {} of {total}", i + 1);
            let footer = page::footer(&g, &left, &right, &mut self.measure);
            let footer = self.spill.push(&footer)?;
            pages.push(PageSlots { body, footer });
        }
        let this = *self;
        let mut out = this.out;
        let mut doc = this.doc;
        assemble::write(
            &mut doc,
            &this.fonts,
            &this.measure.used,
            this.page_mm,
            &pages,
            this.spill.into_reader()?,
            &mut out,
        )?;
        out.flush()?;
        Ok(())
    }
}
