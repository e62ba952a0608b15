//! Jobs: name, schedule in words, zone, next run, last status, counters,
//! and a marker for paused or running jobs. Only the rows on screen are
//! built, so 10,000 jobs cost what 20 do.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{Theme, block, cut, filter_note, mark, more_hint, on_screen, text};
use crate::console::model::{JobRow, Model};

pub(super) fn render(model: &Model, theme: Theme, frame: &mut Frame, area: Rect, focused: bool) {
    let shown = model.visible_jobs.len();
    let mut note = filter_note(&model.jobs.filter);
    if !model.jobs.filter.is_empty() {
        note = format!("{note} ({shown} of {})", model.data.jobs.len());
    }
    let block = block(theme, "Jobs", None, note, focused);
    if model.loaded && model.data.jobs.is_empty() {
        let hint = Paragraph::new(vec![
            "No jobs yet.".into(),
            "n creates one; `cronport apply FILE` adds the [[jobs]] of a file.".into(),
        ])
        .style(theme.muted())
        .block(block);
        frame.render_widget(hint, area);
        return;
    }
    let wide = area.width >= 100;
    let height = area.height.saturating_sub(3) as usize;
    let rows = on_screen(model.visible_jobs.iter(), model.jobs.selected, height).map(
        |(selected, &index)| {
            let job = &model.data.jobs[index];
            mark(row(model, theme, job, wide), selected, theme, focused)
        },
    );
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(if wide { 16 } else { 9 }),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Length(4),
    ];
    let header = Row::new([
        "", "NAME", "SCHEDULE", "ZONE", "NEXT", "LAST", "RUNS", "ERR",
    ])
    .style(theme.strong());
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
    let (above, below) = cut(shown, model.jobs.selected, height);
    more_hint(frame, theme, area, above, below);
}

fn row<'a>(model: &Model, theme: Theme, job: &'a JobRow, wide: bool) -> Row<'a> {
    let running = model.running_run_of(&job.name).is_some();
    let marker = if running {
        Span::styled("▶", theme.busy())
    } else if job.paused {
        Span::styled("‖", theme.warn())
    } else {
        Span::raw(" ")
    };
    let next = match (job.paused, job.next_run) {
        (true, _) => Span::styled("paused", theme.warn()),
        (false, _) if job.ended => Span::styled("ended", theme.muted()),
        (false, Some(at)) => Span::raw(text::until(model.now, at)),
        (false, None) if job.parsed.is_some() => Span::styled("never", theme.muted()),
        (false, None) => Span::styled("invalid", theme.bad()),
    };
    let last = match job.stats.as_ref().and_then(|s| s.last_run.as_ref()) {
        Some(last) => Span::styled(text::status(last.status), theme.status(last.status)),
        None if !model.data.counted => Span::styled("…", theme.muted()),
        None => Span::styled("-", theme.muted()),
    };
    let zone = if wide {
        job.timezone.clone()
    } else {
        text::zone_short(&job.timezone)
    };
    let description = if job.parsed.is_some() {
        Span::raw(job.description.as_str())
    } else {
        Span::styled(job.description.as_str(), theme.bad())
    };
    let errors = job.errors();
    // Before the first count, "…" rather than a zero that is not one.
    let count = |n: i64| {
        if model.data.counted {
            n.to_string()
        } else {
            "…".into()
        }
    };
    Row::new([
        Cell::from(marker),
        Cell::from(job.name.as_str()),
        Cell::from(description),
        Cell::from(zone),
        Cell::from(next),
        Cell::from(last),
        Cell::from(Line::from(count(job.runs())).right_aligned()),
        Cell::from(
            Line::styled(
                count(errors),
                if errors > 0 {
                    theme.bad()
                } else {
                    Default::default()
                },
            )
            .right_aligned(),
        ),
    ])
}
