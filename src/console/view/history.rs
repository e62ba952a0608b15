//! History: runs of all jobs or of the selected one, newest first.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::{Theme, block, cut, filter_note, mark, more_hint, on_screen, text, widest};
use crate::console::model::Model;
use crate::store::RunRecord;

pub(super) fn render(
    model: &Model,
    theme: Theme,
    frame: &mut Frame,
    area: Rect,
    focused: bool,
    tabs: Option<Line<'static>>,
) {
    let scope = match &model.data.history_job {
        Some(job) => format!("runs of {job}"),
        None => "all jobs".to_string(),
    };
    let note = match filter_note(&model.history.filter) {
        note if note.is_empty() => scope,
        note => format!("{scope} · {note}"),
    };
    let block = block(theme, "History", tabs, note, focused);
    let height = area.height.saturating_sub(3) as usize;
    let shown: Vec<(bool, &RunRecord)> =
        on_screen(model.visible_history(), model.history.selected, height).collect();
    let times: Vec<String> = shown
        .iter()
        .map(|(_, run)| {
            let at = run.started_at.unwrap_or(run.scheduled_for);
            text::clock(model.now, at, model.zone)
        })
        .collect();
    let time_width = widest(times.iter().map(String::as_str)).max(4);
    // As wide as the names shown (up to 24); the error takes the rest.
    let job_width = widest(shown.iter().map(|(_, r)| r.job_name.as_str())).clamp(3, 24);
    // "retry at 14:05:09" needs more room than a status word.
    let status_width = if shown.iter().any(|(_, r)| model.retry_due(r).is_some()) {
        17
    } else {
        9
    };
    let rows = shown.iter().zip(times).map(|((selected, run), time)| {
        mark(row(model, theme, run, time), *selected, theme, focused)
    });
    let widths = [
        Constraint::Length(time_width),
        Constraint::Length(job_width),
        Constraint::Length(8),
        Constraint::Length(status_width),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Fill(1),
    ];
    let right = |s: &'static str| Cell::from(Line::from(s).right_aligned());
    let header = Row::new([
        Cell::from("TIME"),
        Cell::from("JOB"),
        Cell::from("TRIGGER"),
        Cell::from("STATUS"),
        right("DUR"),
        right("ROWS"),
        right("BYTES"),
        Cell::from("ERROR"),
    ])
    .style(theme.strong());
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
    let total = model.visible_history().count();
    let (above, below) = cut(total, model.history.selected, height);
    more_hint(frame, theme, area, above, below);
}

fn row<'a>(model: &Model, theme: Theme, run: &'a RunRecord, time: String) -> Row<'a> {
    let duration = match (run.duration_ms(), run.started_at) {
        (Some(ms), _) => text::duration_ms(ms),
        (None, Some(start)) => text::duration_ms((model.now - start).num_milliseconds()),
        (None, None) => "-".into(),
    };
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    Row::new([
        Cell::from(time),
        Cell::from(run.job_name.as_str()),
        Cell::from(run.trigger.as_str()),
        Cell::from(match model.retry_due(run) {
            Some(at) => Span::styled(text::retry_at(at, model.zone), theme.warn()),
            None if run.unchanged => Span::styled("unchanged", theme.status(run.status)),
            None => Span::styled(text::status(run.status), theme.status(run.status)),
        }),
        right(duration),
        right(run.rows.map_or("-".into(), |r| r.to_string())),
        right(run.bytes.map_or("-".into(), text::bytes)),
        Cell::from(Span::styled(
            run.error.as_deref().unwrap_or(""),
            theme.muted(),
        )),
    ])
}
