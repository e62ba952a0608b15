//! The format part of the form: the kind, each kind's options (csv/tsv
//! header, delimiter, quoting, line ending, NULL; html and pdf title; xlsx
//! sheet; pdf page; svg/png size, png scale and background; a chart for
//! svg, png and pdf) and compression. Options shared by several kinds (a
//! title, a size, the chart) keep their value when the kind changes; only
//! the options of the chosen kind are saved.

use std::ops::Range;
use std::str::FromStr;

use tui_input::Input;

use super::choice::Choice;
use super::fields::{Field, Row};
use crate::export::format::chart::{ChartKind, ChartSpec};
use crate::export::format::csv::{CsvSpec, LineEnding, QuoteStyle};
use crate::export::format::html::HtmlSpec;
use crate::export::format::json::JsonSpec;
use crate::export::format::markdown::MarkdownSpec;
use crate::export::format::pdf::{Orientation, PageSize, PdfSpec};
use crate::export::format::png::PngSpec;
use crate::export::format::svg::SvgSpec;
use crate::export::format::xlsx::XlsxSpec;
use crate::export::format::{Compression, FormatSpec};

/// Every format kind, in the order offered.
const KINDS: [&str; 10] = [
    "csv", "tsv", "json", "ndjson", "markdown", "html", "xlsx", "pdf", "svg", "png",
];

/// The values of every format option, as typed or picked.
#[derive(Clone, Debug)]
pub struct FormatValues {
    pub(crate) kind: Choice<&'static str>,
    pub(crate) compression: Choice<Option<Compression>>,
    pub(crate) header: Choice<Option<bool>>,
    pub(crate) delimiter: Input,
    pub(crate) quote: Choice<Option<QuoteStyle>>,
    pub(crate) line_ending: Choice<Option<LineEnding>>,
    pub(crate) null: Input,
    pub(crate) title: Input,
    pub(crate) sheet: Input,
    pub(crate) page: Choice<Option<PageSize>>,
    pub(crate) orientation: Choice<Option<Orientation>>,
    pub(crate) font_size: Input,
    pub(crate) max_rows: Input,
    pub(crate) width: Input,
    pub(crate) height: Input,
    pub(crate) scale: Input,
    pub(crate) background: Input,
    /// `None`: no chart (svg and png then take an SVG diagram from the source).
    pub(crate) chart: Choice<Option<ChartKind>>,
    pub(crate) chart_x: Input,
    pub(crate) chart_y: Input,
    pub(crate) chart_title: Input,
    pub(crate) chart_x_label: Input,
    pub(crate) chart_y_label: Input,
}

fn options<T: Copy>(labels: &[(&str, Option<T>)]) -> Vec<(String, Option<T>)> {
    labels.iter().map(|(l, v)| (l.to_string(), *v)).collect()
}

fn text(value: Option<impl ToString>) -> Input {
    Input::new(value.map_or(String::new(), |v| v.to_string()))
}

impl FormatValues {
    /// The values of `format`; options of other kinds start at their defaults.
    pub fn from_spec(format: &FormatSpec) -> Self {
        let csv = match format {
            FormatSpec::Csv(s) | FormatSpec::Tsv(s) => s.clone(),
            _ => CsvSpec::default(),
        };
        let (title, sheet) = match format {
            FormatSpec::Html(s) => (s.title.clone(), None),
            FormatSpec::Pdf(s) => (s.title.clone(), None),
            FormatSpec::Xlsx(s) => (None, s.sheet.clone()),
            _ => (None, None),
        };
        let pdf = match format {
            FormatSpec::Pdf(s) => s.clone(),
            _ => PdfSpec::default(),
        };
        let png = match format {
            FormatSpec::Png(s) => s.clone(),
            FormatSpec::Svg(s) => PngSpec {
                chart: s.chart.clone(),
                width: s.width,
                height: s.height,
                ..PngSpec::default()
            },
            FormatSpec::Pdf(s) => PngSpec {
                chart: s.chart.clone(),
                ..PngSpec::default()
            },
            _ => PngSpec::default(),
        };
        let chart = png.chart.as_ref();
        FormatValues {
            kind: Choice::new(
                KINDS.iter().map(|k| (k.to_string(), *k)).collect(),
                &format.kind(),
            ),
            compression: Choice::new(
                options(&[
                    ("none", None),
                    ("gzip", Some(Compression::Gzip)),
                    ("zip", Some(Compression::Zip)),
                ]),
                &format.compression(),
            ),
            header: Choice::new(
                options(&[
                    ("default: yes", None),
                    ("yes", Some(true)),
                    ("no", Some(false)),
                ]),
                &csv.header,
            ),
            delimiter: text(csv.delimiter.as_ref()),
            quote: Choice::new(
                options(&[
                    ("default", None),
                    ("necessary", Some(QuoteStyle::Necessary)),
                    ("always", Some(QuoteStyle::Always)),
                    ("non_numeric", Some(QuoteStyle::NonNumeric)),
                    ("never", Some(QuoteStyle::Never)),
                ]),
                &csv.quote,
            ),
            line_ending: Choice::new(
                options(&[
                    ("default: crlf", None),
                    ("crlf", Some(LineEnding::Crlf)),
                    ("lf", Some(LineEnding::Lf)),
                ]),
                &csv.line_ending,
            ),
            null: text(csv.null.as_ref()),
            title: text(title.as_ref()),
            sheet: text(sheet.as_ref()),
            page: Choice::new(
                options(&[
                    ("default: a4", None),
                    ("a4", Some(PageSize::A4)),
                    ("letter", Some(PageSize::Letter)),
                ]),
                &pdf.page,
            ),
            orientation: Choice::new(
                options(&[
                    ("default: landscape", None),
                    ("landscape", Some(Orientation::Landscape)),
                    ("portrait", Some(Orientation::Portrait)),
                ]),
                &pdf.orientation,
            ),
            font_size: text(pdf.font_size),
            max_rows: text(pdf.max_rows),
            width: text(png.width),
            height: text(png.height),
            scale: text(png.scale),
            background: text(png.background.as_ref()),
            chart: Choice::new(
                options(&[
                    ("none", None),
                    ("bar", Some(ChartKind::Bar)),
                    ("line", Some(ChartKind::Line)),
                ]),
                &chart.map(|c| c.kind),
            ),
            chart_x: text(chart.map(|c| &c.x)),
            chart_y: text(chart.map(|c| c.y.join(", "))),
            chart_title: text(chart.and_then(|c| c.title.as_ref())),
            chart_x_label: text(chart.and_then(|c| c.x_label.as_ref())),
            chart_y_label: text(chart.and_then(|c| c.y_label.as_ref())),
        }
    }

    fn kind(&self) -> &'static str {
        self.kind.value().copied().unwrap_or("csv")
    }

    /// The option rows of the chosen kind, below the kind selector.
    pub fn rows(&self) -> Vec<Row> {
        let mut fields = match self.kind() {
            "csv" | "tsv" => vec![
                Field::CsvHeader,
                Field::Delimiter,
                Field::Quote,
                Field::LineEnding,
                Field::Null,
            ],
            "html" => vec![Field::Title],
            "xlsx" => vec![Field::Sheet],
            "pdf" => vec![
                Field::Title,
                Field::Page,
                Field::Orientation,
                Field::FontSize,
                Field::MaxRows,
            ],
            "svg" => vec![Field::Width, Field::Height],
            "png" => vec![Field::Width, Field::Height, Field::Scale, Field::Background],
            _ => Vec::new(),
        };
        if matches!(self.kind(), "pdf" | "svg" | "png") {
            fields.push(Field::Chart);
            if self.chart.value().is_some_and(Option::is_some) {
                fields.extend([
                    Field::ChartX,
                    Field::ChartY,
                    Field::ChartTitle,
                    Field::ChartXLabel,
                    Field::ChartYLabel,
                ]);
            }
        }
        fields.push(Field::Compression);
        fields.into_iter().map(Row::Field).collect()
    }

    /// The one-line input behind `field`, if it is a format option typed.
    pub fn input(&self, field: Field) -> Option<&Input> {
        Some(match field {
            Field::Delimiter => &self.delimiter,
            Field::Null => &self.null,
            Field::Title => &self.title,
            Field::Sheet => &self.sheet,
            Field::FontSize => &self.font_size,
            Field::MaxRows => &self.max_rows,
            Field::Width => &self.width,
            Field::Height => &self.height,
            Field::Scale => &self.scale,
            Field::Background => &self.background,
            Field::ChartX => &self.chart_x,
            Field::ChartY => &self.chart_y,
            Field::ChartTitle => &self.chart_title,
            Field::ChartXLabel => &self.chart_x_label,
            Field::ChartYLabel => &self.chart_y_label,
            _ => return None,
        })
    }

    /// The one-line input behind `field`, to type into.
    pub fn input_mut(&mut self, field: Field) -> Option<&mut Input> {
        Some(match field {
            Field::Delimiter => &mut self.delimiter,
            Field::Null => &mut self.null,
            Field::Title => &mut self.title,
            Field::Sheet => &mut self.sheet,
            Field::FontSize => &mut self.font_size,
            Field::MaxRows => &mut self.max_rows,
            Field::Width => &mut self.width,
            Field::Height => &mut self.height,
            Field::Scale => &mut self.scale,
            Field::Background => &mut self.background,
            Field::ChartX => &mut self.chart_x,
            Field::ChartY => &mut self.chart_y,
            Field::ChartTitle => &mut self.chart_title,
            Field::ChartXLabel => &mut self.chart_x_label,
            Field::ChartYLabel => &mut self.chart_y_label,
            _ => return None,
        })
    }

    /// Step the selector behind `field`; false if it is not a format selector.
    pub fn step_choice(&mut self, field: Field, step: isize) -> bool {
        match field {
            Field::Format => self.kind.step(step),
            Field::Compression => self.compression.step(step),
            Field::CsvHeader => self.header.step(step),
            Field::Quote => self.quote.step(step),
            Field::LineEnding => self.line_ending.step(step),
            Field::Page => self.page.step(step),
            Field::Orientation => self.orientation.step(step),
            Field::Chart => self.chart.step(step),
            _ => return false,
        }
        true
    }

    /// Labels of the selector behind `field` and which one is chosen.
    pub fn choice(&self, field: Field) -> Option<(Vec<&str>, usize)> {
        Some(match field {
            Field::Format => self.kind.labels(),
            Field::Compression => self.compression.labels(),
            Field::CsvHeader => self.header.labels(),
            Field::Quote => self.quote.labels(),
            Field::LineEnding => self.line_ending.labels(),
            Field::Page => self.page.labels(),
            Field::Orientation => self.orientation.labels(),
            Field::Chart => self.chart.labels(),
            _ => return None,
        })
    }

    /// The format of the chosen kind from its options only; what cannot be
    /// read is reported through `problem`.
    pub fn spec(&self, problem: &mut dyn FnMut(Field, String, Option<Range<usize>>)) -> FormatSpec {
        let compression = self.compression.value().copied().flatten();
        let words =
            |input: &Input| Some(input.value().trim().to_string()).filter(|t| !t.is_empty());
        match self.kind() {
            kind @ ("csv" | "tsv") => {
                let spec = CsvSpec {
                    header: self.header.value().copied().flatten(),
                    // Not trimmed: a space or a tab may be the delimiter.
                    delimiter: Some(self.delimiter.value().to_string()).filter(|d| !d.is_empty()),
                    quote: self.quote.value().copied().flatten(),
                    line_ending: self.line_ending.value().copied().flatten(),
                    null: Some(self.null.value().to_string()).filter(|n| !n.is_empty()),
                    compression,
                };
                if kind == "csv" {
                    FormatSpec::Csv(spec)
                } else {
                    FormatSpec::Tsv(spec)
                }
            }
            "json" => FormatSpec::Json(JsonSpec { compression }),
            "ndjson" => FormatSpec::Ndjson(JsonSpec { compression }),
            "markdown" => FormatSpec::Markdown(MarkdownSpec { compression }),
            "html" => FormatSpec::Html(HtmlSpec {
                title: words(&self.title),
                compression,
            }),
            "xlsx" => FormatSpec::Xlsx(XlsxSpec {
                sheet: words(&self.sheet),
                compression,
            }),
            "pdf" => FormatSpec::Pdf(PdfSpec {
                title: words(&self.title),
                page: self.page.value().copied().flatten(),
                orientation: self.orientation.value().copied().flatten(),
                font_size: parse(Field::FontSize, &self.font_size, "a number", problem),
                max_rows: parse(Field::MaxRows, &self.max_rows, "a whole number", problem),
                chart: self.chart_spec(problem),
                compression,
            }),
            "svg" => FormatSpec::Svg(SvgSpec {
                chart: self.chart_spec(problem),
                width: parse(Field::Width, &self.width, "a whole number", problem),
                height: parse(Field::Height, &self.height, "a whole number", problem),
                compression,
            }),
            _ => FormatSpec::Png(PngSpec {
                chart: self.chart_spec(problem),
                width: parse(Field::Width, &self.width, "a whole number", problem),
                height: parse(Field::Height, &self.height, "a whole number", problem),
                scale: parse(Field::Scale, &self.scale, "a number", problem),
                background: words(&self.background),
                compression,
            }),
        }
    }

    /// The chart as typed; its checks (a y column at least) are the format's own.
    fn chart_spec(
        &self,
        problem: &mut dyn FnMut(Field, String, Option<Range<usize>>),
    ) -> Option<ChartSpec> {
        let kind = self.chart.value().copied().flatten()?;
        if self.chart_x.value().trim().is_empty() {
            // Only a run would find out otherwise, by failing.
            problem(
                Field::ChartX,
                "name the column along the x axis".into(),
                None,
            );
        }
        let words =
            |input: &Input| Some(input.value().trim().to_string()).filter(|t| !t.is_empty());
        Some(ChartSpec {
            kind,
            x: self.chart_x.value().trim().to_string(),
            y: self
                .chart_y
                .value()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            title: words(&self.chart_title),
            x_label: words(&self.chart_x_label),
            y_label: words(&self.chart_y_label),
        })
    }
}

/// An optional number: empty is the default; anything else must parse.
fn parse<T: FromStr>(
    field: Field,
    input: &Input,
    what: &str,
    problem: &mut dyn FnMut(Field, String, Option<Range<usize>>),
) -> Option<T> {
    let text = input.value().trim();
    if text.is_empty() {
        return None;
    }
    text.parse().ok().or_else(|| {
        problem(field, format!("{text:?} is not {what}"), None);
        None
    })
}
