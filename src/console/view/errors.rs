//! Errors: failures per job, and a bar a day for the last 14 days.

use chrono::Days;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Paragraph, Row, Table};

use super::{Theme, block, cut, filter_note, mark, more_text, on_screen, text};
use crate::console::model::{ERROR_DAYS, Model};

pub(super) fn render(
    model: &Model,
    theme: Theme,
    frame: &mut Frame,
    area: Rect,
    focused: bool,
    tabs: Option<Line<'static>>,
) {
    let total: u64 = model.data.failures_by_day.iter().sum();
    let note = match filter_note(&model.errors.filter) {
        _ if !model.data.counted => "counting…".to_string(),
        note if note.is_empty() => format!("{total} failures in {ERROR_DAYS} days"),
        note => note,
    };
    let block = block(theme, "Errors", tabs, note, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Three columns a day (a bar two wide and a gap). Beside a table of at
    // least 34 columns when there is room, else below it; as many days as
    // fit, today always.
    let chart_width = 3 * ERROR_DAYS as u16;
    let (list, chart) = if inner.width >= 35 + chart_width {
        let [list, chart] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(chart_width)])
                .spacing(1)
                .areas(inner);
        (list, chart)
    } else {
        let [list, chart] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(inner);
        (list, chart)
    };
    let days = (chart.width / 3).min(ERROR_DAYS as u16) as usize;
    table(model, theme, frame, list, focused);
    bars(model, theme, frame, chart, days);
}

fn table(model: &Model, theme: Theme, frame: &mut Frame, area: Rect, focused: bool) {
    if model.error_jobs.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("No failed runs.", theme.muted())),
            area,
        );
        return;
    }
    // The list shares its panel with the chart, so a cut list says so on
    // its own last row rather than on the panel's border.
    let total = model.visible_errors().count();
    let mut height = area.height.saturating_sub(1) as usize;
    if total > height {
        height = height.saturating_sub(1);
        let (above, below) = cut(total, model.errors.selected, height);
        let hint = Rect {
            y: area.bottom().saturating_sub(1),
            height: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(Line::styled(more_text(above, below), theme.strong()).right_aligned()),
            hint,
        );
    }
    let rows =
        on_screen(model.visible_errors(), model.errors.selected, height).map(|(selected, job)| {
            let streak = job.stats.as_ref().map_or(0, |s| s.consecutive_failures);
            let last = job
                .stats
                .as_ref()
                .and_then(|s| s.last_run.as_ref())
                .map_or("-", |l| text::status(l.status));
            let row = Row::new([
                Cell::from(job.name.as_str()),
                Cell::from(Line::styled(job.errors().to_string(), theme.bad()).right_aligned()),
                Cell::from(Line::from(streak.to_string()).right_aligned()),
                Cell::from(last),
            ]);
            mark(row, selected, theme, focused)
        });
    let header = Row::new([
        Cell::from("JOB"),
        Cell::from(Line::from("ERRORS").right_aligned()),
        Cell::from(Line::from("STREAK").right_aligned()),
        Cell::from("LAST"),
    ])
    .style(theme.strong());
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(9),
    ];
    let table_area = Rect {
        height: (height as u16 + 1).min(area.height),
        ..area
    };
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        table_area,
    );
}

fn bars(model: &Model, theme: Theme, frame: &mut Frame, area: Rect, shown: usize) {
    let all = &model.data.failures_by_day;
    let days = &all[all.len().saturating_sub(shown)..];
    let today = model
        .data
        .taken_at
        .unwrap_or(model.now)
        .with_timezone(&model.zone)
        .date_naive();
    let bars: Vec<Bar> = days
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let back = (days.len() - 1 - i) as u64;
            let day = today - Days::new(back);
            Bar::default()
                .value(n)
                .label(Line::from(day.format("%d").to_string()))
                .text_value(if n > 0 { n.to_string() } else { String::new() })
        })
        .collect();
    let chart = BarChart::default()
        .data(BarGroup::new(bars))
        .bar_width(2)
        .bar_gap(1)
        .bar_style(theme.bars())
        .value_style(theme.strong())
        .label_style(theme.muted());
    frame.render_widget(chart, area);
}
