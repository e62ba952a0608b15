//! `pdf`: a paginated table report drawn with printpdf: title and run time
//! on every page, the header row repeated, page numbers, column widths
//! fitted to the content, long cells wrapped, bundled fonts embedded
//! (subset) so any script renders.
//!
//! printpdf writes a document in one piece, so the pages' drawing
//! operations stay in memory until the end; `max_rows` bounds that.

mod image;
mod page;
pub mod text;

use std::io::Write;

use printpdf::{FontId, Mm, PdfDocument, PdfPage, PdfSaveOptions};
use serde::{Deserialize, Serialize};

use super::chart::{ChartData, ChartSpec};
use super::picture::{Picture, SVG_COLUMN};
use super::{Compression, Encoder, FormatError, check_width};
use crate::export::RunContext;
use crate::export::value::{Column, Row, Value};
use page::{CellLines, Geometry, PageOps};
use text::{Measure, font_set};

/// Rows whose content sets the column widths.
const FIT_SAMPLE: usize = 1000;

/// Rows a report holds unless `max_rows` says otherwise.
pub const DEFAULT_MAX_ROWS: u64 = 100_000;

/// `format = { kind = "pdf", title = "Daily sales", page = "a4", orientation = "landscape" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfSpec {
    /// Title on every page (default: the job's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `a4` (default) or `letter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageSize>,
    /// `landscape` (default) or `portrait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<Orientation>,
    /// Body text size in points (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_size: Option<f32>,
    /// Most rows the report may hold (default 100,000): the document is
    /// built in memory, and a run over the limit fails rather than
    /// exhausting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
    /// A chart of the rows on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartSpec>,
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// Paper sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageSize {
    /// 210 x 297 mm.
    A4,
    /// 8.5 x 11 in.
    Letter,
}

/// Page orientation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    /// Wide pages, for tables.
    Landscape,
    /// Tall pages.
    Portrait,
}

impl PdfSpec {
    /// Check sizes; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(size) = self.font_size
            && !(4.0..=24.0).contains(&size)
        {
            return Err((
                "format.font_size".into(),
                format!("{size} must be between 4 and 24"),
            ));
        }
        if self.max_rows == Some(0) {
            return Err(("format.max_rows".into(), "must be at least 1".into()));
        }
        self.chart.as_ref().map_or(Ok(()), ChartSpec::validate)
    }
}

/// Writes rows into a paginated PDF table.
pub struct PdfEncoder {
    out: Box<dyn Write + Send>,
    doc: PdfDocument,
    fonts: Vec<FontId>,
    bold: FontId,
    measure: Measure,
    title: String,
    subtitle: String,
    page_mm: (f32, f32),
    size: f32,
    max_rows: u64,
    columns: Vec<String>,
    geometry: Option<Geometry>,
    header: Vec<CellLines>,
    pages: Vec<PageOps>,
    y: f32,
    rows: u64,
    sample: Vec<Row>,
    chart_spec: Option<ChartSpec>,
    chart: Option<ChartData>,
    diagrams: Option<Picture>,
}

impl PdfEncoder {
    /// An encoder for `spec` writing to `out`; fails only if the bundled
    /// fonts cannot be parsed.
    pub fn new(
        spec: &PdfSpec,
        ctx: &RunContext,
        out: Box<dyn Write + Send>,
    ) -> Result<Self, FormatError> {
        let set = font_set().map_err(FormatError::Data)?;
        let title = spec.title.clone().unwrap_or_else(|| ctx.job.clone());
        let mut doc = PdfDocument::new(&title);
        let fonts = set.regular.iter().map(|f| doc.add_font(f)).collect();
        let bold = doc.add_font(&set.bold);
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
            bold,
            measure: Measure::new(set),
            title,
            subtitle,
            page_mm,
            size: spec.font_size.unwrap_or(8.0),
            max_rows: spec.max_rows.unwrap_or(DEFAULT_MAX_ROWS),
            columns: Vec::new(),
            geometry: None,
            header: Vec::new(),
            pages: Vec::new(),
            y: 0.0,
            rows: 0,
            sample: Vec::new(),
            chart_spec: spec.chart.clone(),
            chart: None,
            diagrams: None,
        })
    }

    /// Natural widths from the header and a first batch, shrunk to the page
    /// by giving narrow columns what they need and sharing the rest.
    fn fit(&mut self, sample: &[Row]) {
        let size = self.size;
        let (w_mm, h_mm) = self.page_mm;
        let width = Mm(w_mm).into_pt().0;
        let height = Mm(h_mm).into_pt().0;
        let margin = 28.0;
        let pad = size * 0.4;
        let columns = self.columns.clone();
        let m = &mut self.measure;
        let mut natural: Vec<f32> = columns
            .iter()
            .map(|c| m.width(c, size, true) + 2.0 * pad + 1.0)
            .collect();
        for row in sample {
            for (w, value) in natural.iter_mut().zip(row) {
                if let Some(text) = value.to_text() {
                    for line in text.split('\n') {
                        *w = w.max(m.width(line, size, false) + 2.0 * pad + 1.0);
                    }
                }
            }
        }
        let available = width - 2.0 * margin;
        let widths = share(&natural, available, size * 3.0 + 2.0 * pad);
        let mut xs = Vec::with_capacity(widths.len());
        let mut x = margin;
        for w in &widths {
            xs.push(x);
            x += w;
        }
        let g = Geometry {
            width,
            height,
            margin,
            size,
            xs,
            widths,
        };
        let header: Vec<CellLines> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| CellLines {
                lines: m.wrap(c, size, true, g.widths[i] - 2.0 * pad),
                right: false,
            })
            .collect();
        self.header = header;
        self.geometry = Some(g);
        self.new_page();
    }

    fn new_page(&mut self) {
        let Some(g) = self.geometry.clone() else {
            return;
        };
        let m = &mut self.measure;
        let mut page = PageOps::new(&g, &self.title, &self.subtitle, &self.fonts, &self.bold, m);
        self.y = page.header(&g, &self.header, &self.fonts, &self.bold, m);
        self.pages.push(page);
    }

    fn add_row(&mut self, row: &Row) {
        let Some(g) = self.geometry.clone() else {
            return;
        };
        let pad = g.pad();
        let body = self.y - g.table_bottom();
        let max_lines = (((g.table_top() - g.table_bottom()) * 0.8 - 2.0 * pad) / g.line_height())
            .max(1.0) as usize;
        let m = &mut self.measure;
        let cells: Vec<CellLines> = row
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let text = value.to_text().unwrap_or_default();
                let mut lines = m.wrap(&text, g.size, false, g.widths[i] - 2.0 * pad);
                // A cell taller than a page is cut, visibly, rather than
                // running off the page.
                if lines.len() > max_lines {
                    lines.truncate(max_lines);
                    if let Some(last) = lines.last_mut() {
                        last.push_str(" …");
                    }
                }
                CellLines {
                    lines,
                    right: matches!(value, Value::Int(_) | Value::Float(_) | Value::Decimal(_)),
                }
            })
            .collect();
        if page::row_height(&g, &cells) > body {
            self.new_page();
        }
        let zebra = self.rows.is_multiple_of(2);
        if let Some(page) = self.pages.last_mut() {
            self.y = page.row(
                &g,
                self.y,
                &cells,
                zebra,
                &self.fonts,
                &self.bold,
                &mut self.measure,
            );
        }
    }
}

impl PdfEncoder {
    fn lay_out_sample(&mut self) {
        let sample = std::mem::take(&mut self.sample);
        self.fit(&sample);
        for row in &sample {
            self.add_row(row);
        }
    }

    /// A page with the title band and an empty body, for pictures.
    fn picture_page(&mut self) -> PageOps {
        let (w, h) = self.page_mm;
        let g = Geometry {
            width: Mm(w).into_pt().0,
            height: Mm(h).into_pt().0,
            margin: 28.0,
            size: self.size,
            xs: vec![28.0],
            widths: vec![Mm(w).into_pt().0 - 56.0],
        };
        if self.geometry.is_none() {
            self.geometry = Some(g.clone());
        }
        PageOps::new(
            &g,
            &self.title,
            &self.subtitle,
            &self.fonts,
            &self.bold,
            &mut self.measure,
        )
    }

    fn picture_box(&self) -> (f32, f32, f32, f32) {
        let (w, h) = self.page_mm;
        let (w, h) = (Mm(w).into_pt().0, Mm(h).into_pt().0);
        let margin = 28.0;
        let top = h - margin - self.size * 3.6;
        (
            margin,
            margin + self.size * 2.0,
            w - 2.0 * margin,
            top - margin - self.size * 2.0,
        )
    }

    fn diagram_pages(&mut self, diagrams: Picture) -> Result<(), FormatError> {
        let (x, y, w, h) = self.picture_box();
        for svg in diagrams.into_svgs(0, 0, &self.title)? {
            let op = image::place_svg(&mut self.doc, &svg, x, y, w, h)?;
            let mut page = self.picture_page();
            page.ops.push(op);
            self.pages.push(page);
            self.rows += 1;
        }
        Ok(())
    }

    fn chart_page(&mut self, chart: ChartData) -> Result<(), FormatError> {
        let (x, y, w, h) = self.picture_box();
        let svg = chart.to_svg(w, h, &self.title);
        let op = image::place_svg(&mut self.doc, &svg, x, y, w, h)?;
        let mut page = self.picture_page();
        page.ops.push(op);
        self.pages.insert(0, page);
        Ok(())
    }
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
            if self.rows > self.max_rows {
                return Err(FormatError::Data(format!(
                    "more than {} rows for a pdf report (format.max_rows); raise it or use csv or xlsx",
                    self.max_rows
                )));
            }
        }
        if self.geometry.is_none() {
            // Widths come from a sample of the first rows, whatever the
            // batch size; the sample waits until it is complete.
            self.sample.extend_from_slice(rows);
            if self.sample.len() >= FIT_SAMPLE {
                self.lay_out_sample();
            }
            return Ok(());
        }
        for row in rows {
            self.add_row(row);
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        if let Some(diagrams) = self.diagrams.take() {
            self.diagram_pages(diagrams)?;
        } else {
            if self.geometry.is_none() {
                self.lay_out_sample();
            }
            if let Some(chart) = self.chart.take() {
                self.chart_page(chart)?;
            }
        }
        let total = self.pages.len();
        let g = self.geometry.clone();
        let (w, h) = self.page_mm;
        let mut pages = Vec::with_capacity(total);
        for (i, mut page) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            if let Some(g) = g.as_ref() {
                let left = format!("{} · {} rows", self.title, self.rows);
                let right = format!("Page {} of {}", i + 1, total);
                page.footer(g, &left, &right, &self.fonts, &self.bold, &mut self.measure);
            }
            pages.push(PdfPage::new(Mm(w), Mm(h), page.ops));
        }
        let mut warnings = Vec::new();
        let bytes = self
            .doc
            .with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut warnings);
        self.out.write_all(&bytes)?;
        self.out.flush()?;
        Ok(())
    }
}
