//! The live log, or the stored lines of a run or job: only the lines on
//! screen are looked at, however many the buffer holds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Theme, block, border_hint, text};
use crate::console::model::Model;
use crate::events::LogEvent;

pub(super) fn render(
    model: &Model,
    theme: Theme,
    frame: &mut Frame,
    area: Rect,
    focused: bool,
    tabs: Option<Line<'static>>,
) {
    let view = &model.log;
    let buffer = view.buffer();
    let bottom = if view.follow { None } else { view.bottom };
    let mut notes = Vec::new();
    if let Some((title, _)) = &view.stored {
        notes.push(title.clone());
    }
    if view.follow {
        notes.push("following".into());
    } else {
        let below = buffer.below(&view.filter, bottom);
        notes.push(if below > 0 {
            format!("{below} newer below (f follows)")
        } else {
            "not following (f)".into()
        });
    }
    notes.push(format!("{}+", view.filter.min_level.as_str()));
    if let Some(job) = &view.filter.job {
        notes.push(format!("job {job}"));
    }
    if !view.filter.text.is_empty() {
        notes.push(format!("filter: {}", view.filter.text));
    }
    let title = if view.stored.is_some() {
        "Log"
    } else {
        "Live log"
    };
    let block = block(theme, title, tabs, notes.join(" · "), focused);
    let height = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = buffer
        .window(&view.filter, bottom, height)
        .into_iter()
        .map(|line| render_line(model, theme, line))
        .collect();
    if lines.is_empty() {
        let empty = if buffer.is_empty() {
            "No log lines yet: they appear here as jobs run."
        } else {
            "No lines pass the filter (Esc clears it; L changes the level)."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(empty, theme.muted())).block(block),
            area,
        );
        return;
    }
    let full = lines.len() >= height;
    frame.render_widget(Paragraph::new(lines).block(block), area);
    // One line more than fits, to learn whether older lines are cut off
    // above, without counting them all.
    let above = full && buffer.window(&view.filter, bottom, height + 1).len() > height;
    let below = buffer.below(&view.filter, bottom);
    let mut hint = Vec::new();
    if above {
        hint.push("↑ more above".to_string());
    }
    if below > 0 {
        hint.push(format!("↓ {below} more below"));
    }
    border_hint(frame, theme, area, &hint.join(" · "));
}

fn render_line<'a>(model: &Model, theme: Theme, line: &'a LogEvent) -> Line<'a> {
    let mut spans = vec![
        Span::styled(text::clock(model.now, line.ts, model.zone), theme.muted()),
        Span::raw(" "),
        Span::styled(
            format!("{:5}", line.level.as_str().to_ascii_uppercase()),
            theme.level(line.level),
        ),
        Span::raw(" "),
    ];
    match (&line.job, line.run_id) {
        (Some(job), Some(run)) => {
            spans.push(Span::styled(format!("{job}#{run}"), theme.strong()));
            spans.push(Span::raw(" "));
        }
        (Some(job), None) => {
            spans.push(Span::styled(job.as_str(), theme.strong()));
            spans.push(Span::raw(" "));
        }
        _ => {}
    }
    spans.push(Span::raw(line.message.as_str()));
    Line::from(spans)
}
