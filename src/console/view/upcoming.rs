//! Upcoming: the next fires of all jobs, merged, for the next 24 hours.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table};

use super::{Theme, block, filter_note, mark, on_screen, text, widest};
use crate::console::model::{Model, Upcoming};

pub(super) fn render(
    model: &Model,
    theme: Theme,
    frame: &mut Frame,
    area: Rect,
    focused: bool,
    tabs: Option<Line<'static>>,
) {
    let note = match filter_note(&model.upcoming.filter) {
        note if note.is_empty() => "next 24h".to_string(),
        note => note,
    };
    let block = block(theme, "Upcoming", tabs, note, focused);
    let height = area.height.saturating_sub(3) as usize;
    let shown: Vec<(bool, &Upcoming)> =
        on_screen(model.visible_upcoming(), model.upcoming.selected, height).collect();
    let times: Vec<String> = shown
        .iter()
        .map(|(_, fire)| text::clock(model.now, fire.at, model.zone))
        .collect();
    let time_width = widest(times.iter().map(String::as_str)).max(4);
    let rows = shown.iter().zip(times).map(|((selected, fire), time)| {
        let row = Row::new([
            Cell::from(time),
            Cell::from(Line::from(text::until(model.now, fire.at)).right_aligned()),
            Cell::from(fire.job.as_str()),
        ]);
        mark(row, *selected, theme, focused)
    });
    let widths = [
        Constraint::Length(time_width),
        Constraint::Length(6),
        Constraint::Fill(1),
    ];
    let header = Row::new([
        Cell::from("WHEN"),
        Cell::from(Line::from("IN").right_aligned()),
        Cell::from("JOB"),
    ])
    .style(theme.strong());
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
