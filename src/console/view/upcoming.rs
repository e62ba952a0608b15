//! Upcoming: the next fires of all jobs, merged, for the next 24 hours,
//! under a strip of how many runs are due when (see [`crate::console::strip`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use super::{Theme, block, cut, filter_note, mark, more_hint, on_screen, text, widest};
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
    // The strip takes two rows when the panel can spare them.
    let strip_rows: u16 = if area.height >= 8 && model.data.strip.from.is_some() {
        2
    } else {
        0
    };
    let panel = area;
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [strip_area, area] =
        Layout::vertical([Constraint::Length(strip_rows), Constraint::Fill(1)]).areas(inner);
    if strip_rows > 0 {
        strip(model, theme, frame, strip_area);
    }
    let height = area.height.saturating_sub(1) as usize;
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
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, area);
    let total = model.visible_upcoming().count();
    let (above, below) = cut(total, model.upcoming.selected, height);
    more_hint(frame, theme, panel, above, below);
}

/// Bars from low to high.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Runs due per stretch of the next 24 hours as bars, a `!` where more are
/// due at once than start at once, and the first such instant with its
/// jobs.
fn strip(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    let strip = &model.data.strip;
    let width = usize::from(area.width).clamp(1, strip.counts.len().max(1));
    // Each column sums the stretches it covers.
    let per = strip.counts.len().div_ceil(width).max(1);
    let columns: Vec<(u32, bool)> = strip
        .counts
        .chunks(per)
        .enumerate()
        .map(|(c, counts)| {
            let start = c * per;
            let marked = strip.collisions.iter().any(|k| {
                strip
                    .stretch_of(k.at)
                    .is_some_and(|s| (start..start + counts.len()).contains(&s))
            });
            (counts.iter().sum(), marked)
        })
        .collect();
    let max = columns.iter().map(|c| c.0).max().unwrap_or(0).max(1);
    let bars: Vec<Span> = columns
        .iter()
        .map(|&(count, marked)| {
            if marked {
                Span::styled("!", theme.bad())
            } else if count == 0 {
                Span::styled(" ", theme.muted())
            } else {
                let level = (count as usize * (BARS.len() - 1)).div_ceil(max as usize);
                Span::styled(BARS[level.min(BARS.len() - 1)].to_string(), theme.muted())
            }
        })
        .collect();
    let note = match strip.collisions.first() {
        Some(first) => {
            let more = strip.collisions.len() - 1;
            let more = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            Line::styled(
                format!(
                    "! {} {} due at once (room {}): {}{more}",
                    text::clock(model.now, first.at, model.zone),
                    first.runs,
                    strip.limit,
                    first.jobs.join(", ")
                ),
                theme.bad(),
            )
        }
        None => {
            let runs: u64 = strip.counts.iter().map(|&c| u64::from(c)).sum();
            let frequent = match strip.frequent.len() {
                0 => String::new(),
                n => format!(
                    " (+{} of {n} frequent job(s), not drawn)",
                    strip.frequent_runs
                ),
            };
            Line::styled(
                format!(
                    "{runs} runs in 24h{frequent}; never more at once than {} start",
                    strip.limit
                ),
                theme.muted(),
            )
        }
    };
    frame.render_widget(
        ratatui::widgets::Paragraph::new(vec![Line::from(bars), note]),
        area,
    );
}
