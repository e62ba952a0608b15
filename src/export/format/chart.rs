//! Bar and line charts from rows: `chart = { kind = "bar", x = "category",
//! y = ["amount"] }`. Rows with the same x are summed; the chart is drawn
//! as SVG (axes, labels, legend, title), which `png` rasterises.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::FormatError;
use super::html::escape;
use crate::export::value::{Column, Row, Value};

/// Most distinct x values a chart takes: beyond that nothing is readable,
/// and the sums are held in memory.
pub const MAX_CATEGORIES: usize = 10_000;

const PALETTE: [&str; 8] = [
    "#2f6db5", "#e4812f", "#3a9b5b", "#c9453f", "#7d5ba6", "#8c6d31", "#d16ba5", "#5f8d9c",
];

/// How the chart is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Grouped vertical bars.
    Bar,
    /// One line per series.
    Line,
}

/// `chart = { kind = "bar", x = "category", y = ["amount"], title = "..." }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSpec {
    /// Bar or line.
    pub kind: ChartKind,
    /// The column along the x axis.
    pub x: String,
    /// One or more numeric columns, one series each.
    pub y: Vec<String>,
    /// Title above the chart (default: the job's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Label under the x axis (default: the x column's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    /// Label beside the y axis (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
}

impl ChartSpec {
    /// Static checks; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.y.is_empty() {
            return Err(("format.chart.y".into(), "name at least one column".into()));
        }
        Ok(())
    }
}

/// Sums per x value and series, in the order x values first appear.
pub struct ChartData {
    spec: ChartSpec,
    x_index: usize,
    y_index: Vec<usize>,
    columns: Vec<String>,
    positions: HashMap<String, usize>,
    /// (x label, one sum per series).
    pub points: Vec<(String, Vec<f64>)>,
    rows: u64,
}

impl ChartData {
    /// Find the chart's columns in the result; the error names the key.
    pub fn new(spec: &ChartSpec, columns: &[Column]) -> Result<Self, FormatError> {
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let find = |key: &str, name: &str| {
            names.iter().position(|c| c == name).ok_or_else(|| {
                FormatError::Data(format!(
                    "format.chart.{key}: column {name:?} is not in the result (it has {})",
                    names.join(", ")
                ))
            })
        };
        Ok(ChartData {
            x_index: find("x", &spec.x)?,
            y_index: spec
                .y
                .iter()
                .map(|y| find("y", y))
                .collect::<Result<_, _>>()?,
            spec: spec.clone(),
            columns: names,
            positions: HashMap::new(),
            points: Vec::new(),
            rows: 0,
        })
    }

    /// Add rows to the sums. NULL adds nothing; text is refused.
    pub fn add(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            self.rows += 1;
            let x = row[self.x_index]
                .to_text()
                .map_or_else(|| "(null)".to_string(), |t| t.into_owned());
            let slot = match self.positions.get(&x) {
                Some(i) => *i,
                None => {
                    if self.points.len() == MAX_CATEGORIES {
                        return Err(FormatError::Data(format!(
                            "more than {MAX_CATEGORIES} distinct values of {:?} for a chart; group the query",
                            self.spec.x
                        )));
                    }
                    self.positions.insert(x.clone(), self.points.len());
                    self.points.push((x, vec![0.0; self.y_index.len()]));
                    self.points.len() - 1
                }
            };
            for (series, &col) in self.y_index.iter().enumerate() {
                let n = match &row[col] {
                    Value::Null => 0.0,
                    Value::Int(i) => *i as f64,
                    Value::Float(f) if f.is_finite() => *f,
                    Value::Decimal(d) => d.parse().unwrap_or(f64::NAN),
                    Value::Bool(b) => f64::from(u8::from(*b)),
                    _ => f64::NAN,
                };
                if !n.is_finite() {
                    return Err(FormatError::Cell {
                        row: self.rows,
                        column: self.columns[col].clone(),
                        message: "a chart's y values must be finite numbers".into(),
                    });
                }
                self.points[slot].1[series] += n;
            }
        }
        Ok(())
    }

    /// The chart as an SVG document of `width` x `height` pixels.
    pub fn to_svg(&self, width: f32, height: f32, default_title: &str) -> String {
        let title = self.spec.title.as_deref().unwrap_or(default_title);
        let x_label = self.spec.x_label.as_deref().unwrap_or(&self.spec.x);
        let (left, right, top, bottom) = (70.0, 20.0, 56.0, 80.0);
        let plot_w = (width - left - right).max(10.0);
        let plot_h = (height - top - bottom).max(10.0);
        let (lo, hi) = self.range();
        let ticks = nice_ticks(lo, hi);
        let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
        let y_of = |v: f64| top + plot_h - ((v - lo) / (hi - lo)) as f32 * plot_h;
        let mut s = String::with_capacity(4096);
        // Bars, grid and axes sit on whole pixels anyway: drawn without
        // anti-aliasing they look the same and render several times faster.
        // Lines and text keep it.
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Noto Sans" font-size="12"><g shape-rendering="crispEdges">"#
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="28" text-anchor="middle" font-size="18" font-weight="bold">"#,
            width / 2.0
        );
        escape(title, &mut s);
        s.push_str("</text>");
        for t in &ticks {
            let y = y_of(*t);
            let _ = write!(
                s,
                r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#dddddd"/><text x="{}" y="{}" text-anchor="end" fill="#444444">{}</text>"##,
                left + plot_w,
                left - 6.0,
                y + 4.0,
                format_tick(*t)
            );
        }
        let n = self.points.len().max(1);
        let band = plot_w / n as f32;
        let series = self.y_index.len();
        match self.spec.kind {
            ChartKind::Bar => {
                let bar = band * 0.8 / series as f32;
                for (i, (_, sums)) in self.points.iter().enumerate() {
                    for (k, v) in sums.iter().enumerate() {
                        let x = left + i as f32 * band + band * 0.1 + k as f32 * bar;
                        let (y0, y1) = (y_of(0.0_f64.clamp(lo, hi)), y_of(*v));
                        let _ = write!(
                            s,
                            r#"<rect x="{x:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"/>"#,
                            y0.min(y1),
                            bar.max(0.5),
                            (y0 - y1).abs(),
                            PALETTE[k % PALETTE.len()]
                        );
                    }
                }
            }
            ChartKind::Line => {
                for k in 0..series {
                    let pts: Vec<String> = self
                        .points
                        .iter()
                        .enumerate()
                        .map(|(i, (_, sums))| {
                            format!("{:.2},{:.2}", left + (i as f32 + 0.5) * band, y_of(sums[k]))
                        })
                        .collect();
                    let _ = write!(
                        s,
                        r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" shape-rendering="geometricPrecision"/>"#,
                        pts.join(" "),
                        PALETTE[k % PALETTE.len()]
                    );
                }
            }
        }
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#333333"/><line x1="{left}" y1="{top}" x2="{left}" y2="{0}" stroke="#333333"/>"##,
            top + plot_h,
            left + plot_w
        );
        // Label every category when they fit, else every k-th.
        let step = ((n as f32 * 14.0 / plot_w).ceil() as usize).max(1);
        let rotate = band < 60.0;
        for (i, (label, _)) in self.points.iter().enumerate().step_by(step) {
            let x = left + (i as f32 + 0.5) * band;
            let y = top + plot_h + 16.0;
            let _ = if rotate {
                write!(
                    s,
                    r#"<text x="{x:.2}" y="{y}" text-anchor="end" transform="rotate(-45 {x:.2} {y})">"#
                )
            } else {
                write!(s, r#"<text x="{x:.2}" y="{y}" text-anchor="middle">"#)
            };
            escape(&truncate(label, 24), &mut s);
            s.push_str("</text>");
        }
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#333333">"##,
            left + plot_w / 2.0,
            height - 8.0
        );
        escape(x_label, &mut s);
        s.push_str("</text>");
        if let Some(y_label) = &self.spec.y_label {
            let _ = write!(
                s,
                r##"<text x="16" y="{0}" text-anchor="middle" transform="rotate(-90 16 {0})" fill="#333333">"##,
                top + plot_h / 2.0
            );
            escape(y_label, &mut s);
            s.push_str("</text>");
        }
        // Legend, top right.
        let mut lx = width - right;
        for (k, name) in self.spec.y.iter().enumerate().rev() {
            lx -= 20.0 + name.chars().count() as f32 * 7.0;
            let _ = write!(
                s,
                r#"<rect x="{lx}" y="38" width="10" height="10" fill="{}"/><text x="{}" y="47">"#,
                PALETTE[k % PALETTE.len()],
                lx + 14.0
            );
            escape(name, &mut s);
            s.push_str("</text>");
        }
        s.push_str("</g></svg>\n");
        s
    }

    fn range(&self) -> (f64, f64) {
        let values = self.points.iter().flat_map(|(_, v)| v.iter().copied());
        let (lo, hi) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if (hi - lo).abs() < f64::EPSILON {
            (lo, lo + 1.0)
        } else {
            (lo, hi)
        }
    }
}

fn truncate(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        label
            .chars()
            .take(max - 1)
            .chain(std::iter::once('…'))
            .collect()
    }
}

/// Round tick values (1, 2 or 5 times a power of ten) covering lo..hi.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| raw <= *s)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut ticks = Vec::new();
    let mut t = start;
    while t < hi + step * 0.999 && ticks.len() < 50 {
        ticks.push(t);
        t += step;
    }
    if ticks.len() < 2 {
        ticks.push(start + step);
    }
    ticks
}

fn format_tick(t: f64) -> String {
    if t.abs() >= 1e6 || (t != 0.0 && t.abs() < 1e-3) {
        format!("{t:e}")
    } else {
        let s = format!("{t:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
