//! Two lines: the store, who runs the scheduler and the clock; then counts.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Theme, text};
use crate::console::model::{Engine, Model};

pub(super) fn render(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    let [first, second] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let clock = text::full(model.now, model.zone);
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(clock.chars().count() as u16 + 2),
    ])
    .areas(first);

    let (state, style) = match &model.engine {
        Engine::Starting => ("starting".to_string(), theme.busy()),
        Engine::Running if model.all_paused() => ("all paused".to_string(), theme.warn()),
        Engine::Running => ("running".to_string(), theme.good()),
        Engine::Draining => (
            format!("stopping: {} run(s) finishing", model.data.running.len()),
            theme.warn(),
        ),
        Engine::Stopped => ("stopped".to_string(), theme.warn()),
        Engine::Failed(e) => (format!("scheduler failed: {e}"), theme.bad()),
        Engine::Attached(holder) if model.loaded && model.data.holder.is_none() => (
            format!(
                "attached to {}:{}, which no longer holds the lease",
                holder.hostname, holder.pid
            ),
            theme.bad(),
        ),
        Engine::Attached(holder) => (
            format!("attached to {}:{}", holder.hostname, holder.pid),
            theme.busy(),
        ),
    };
    let fixed = "cronport  ".len() + 4 + state.chars().count();
    let room = (left.width as usize).saturating_sub(fixed);
    let line = Line::from(vec![
        Span::styled("cronport", theme.strong()),
        Span::raw("  "),
        Span::styled(text::keep_end(&model.store_url, room), theme.muted()),
        Span::raw("  "),
        Span::styled(format!("● {state}"), style),
    ]);
    frame.render_widget(Paragraph::new(line), left);
    frame.render_widget(Paragraph::new(clock).right_aligned(), right);

    let counts = if model.loaded {
        let total = model.data.jobs.len();
        let active = model.active_count();
        let failures = model.data.failures_24h;
        let mut spans = vec![
            Span::styled(format!("{total} jobs"), theme.strong()),
            Span::raw(format!(": {active} active · {} paused · ", total - active)),
            Span::styled(
                format!("{} running now", model.data.running.len()),
                if model.data.running.is_empty() {
                    Default::default()
                } else {
                    theme.busy()
                },
            ),
            Span::raw(" · "),
            Span::styled(
                if model.data.counted {
                    format!("{failures} failed in 24h")
                } else {
                    "counting failures…".to_string()
                },
                if failures > 0 {
                    theme.bad()
                } else {
                    Default::default()
                },
            ),
        ];
        if model.log.lost > 0 {
            spans.push(Span::styled(
                format!(" · {} log lines missed", model.log.lost),
                theme.warn(),
            ));
        }
        Line::from(spans)
    } else {
        Line::styled("reading the store…", theme.muted())
    };
    frame.render_widget(Paragraph::new(counts), second);
}
