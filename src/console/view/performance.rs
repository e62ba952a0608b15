//! The Performance window (`:perf`): the jobs whose runs ended in the last
//! days, slowest (p95 duration) first, with run and failure counts, p50 and
//! p95 durations, rows/s and bytes.

use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Clear, Paragraph, Row, Table};

use super::{Theme, centered, text, widest};
use crate::console::performance::{PerformanceView, WINDOW_DAYS};
use crate::store::{JobPerformance, Performance};

/// Columns after the job's: (header, width).
const COLUMNS: [(&str, u16); 6] = [
    ("RUNS", 5),
    ("FAILED", 6),
    ("P50", 7),
    ("P95", 7),
    ("ROWS/S", 7),
    ("BYTES", 9),
];

pub(super) fn render(
    view: &PerformanceView,
    zone: Tz,
    theme: Theme,
    frame: &mut Frame,
    body: Rect,
) {
    let area = centered(body, 110, body.height);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(Span::styled(
            format!(" Performance: last {WINDOW_DAYS} days, slowest first "),
            theme.strong(),
        ))
        .title(Line::styled(" j/k scroll · r reload · Esc close ", theme.muted()).right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let report = match &view.report {
        None => {
            let reading = format!("summarising the runs of the last {WINDOW_DAYS} days…");
            let line = Line::styled(reading, theme.muted());
            return frame.render_widget(Paragraph::new(line), inner);
        }
        Some(Err(error)) => {
            let line = Line::styled(error.as_str(), theme.bad());
            return frame.render_widget(Paragraph::new(line), inner);
        }
        Some(Ok(report)) => report,
    };
    let [note, table] = Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(summary(report, zone, theme)), note);
    if report.jobs.is_empty() {
        return;
    }
    let job_width = widest(report.jobs.iter().map(|j| j.job.as_str())).clamp(3, 40);
    let mut widths = vec![Constraint::Length(job_width)];
    widths.extend(COLUMNS.iter().map(|(_, w)| Constraint::Length(*w)));
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let mut header = vec![Cell::from("JOB")];
    header.extend(COLUMNS.iter().map(|(h, _)| right((*h).to_string())));
    let rows = report
        .jobs
        .iter()
        .skip(usize::from(view.scroll))
        .map(|j| row(j, theme));
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(header).style(theme.strong()))
            .column_spacing(1),
        table,
    );
}

/// The window's span in `zone`, and what it holds.
fn summary(report: &Performance, zone: Tz, theme: Theme) -> Line<'static> {
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).format("%m-%d %H:%M").to_string();
    let runs: i64 = report.jobs.iter().map(|j| j.runs).sum();
    let failures: i64 = report.jobs.iter().map(|j| j.failures).sum();
    let text = if report.jobs.is_empty() {
        format!(
            "no runs ended {} → {} {}",
            at(report.since),
            at(report.until),
            text::zone_short(zone.name())
        )
    } else {
        format!(
            "runs ended {} → {} {}: {runs} runs of {} jobs, {failures} failed",
            at(report.since),
            at(report.until),
            text::zone_short(zone.name()),
            report.jobs.len()
        )
    };
    Line::styled(text, theme.muted())
}

fn row(job: &JobPerformance, theme: Theme) -> Row<'_> {
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let took = |ms: Option<i64>| ms.map_or("-".to_string(), text::duration_ms);
    let failed = if job.failures > 0 {
        Cell::from(Line::styled(job.failures.to_string(), theme.bad()).right_aligned())
    } else {
        right("0".into())
    };
    Row::new([
        Cell::from(job.job.as_str()),
        right(job.runs.to_string()),
        failed,
        right(took(job.p50_ms)),
        right(took(job.p95_ms)),
        right(job.rows_per_sec().map_or("-".to_string(), text::rate)),
        right(text::bytes(job.bytes)),
    ])
}
