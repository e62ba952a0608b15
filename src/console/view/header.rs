//! Two lines: the store, who runs the scheduler and the clock; then counts.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Theme, text};
use crate::console::model::{Engine, Model};
use crate::console::takeover::SILENT_AFTER;
use crate::control::host_pid;

/// "cronport" and the gap after it.
const NAME: usize = "cronport  ".len();
/// The store's URL is left out when fewer columns than this are left for it.
const MIN_URL: usize = 8;

pub(super) fn render(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    let [first, second] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let (state, style) = state(model, theme);
    let state = format!("● {state}");
    let width = first.width as usize;
    let used = state.chars().count() + 2;
    // The state keeps its words on a narrow terminal (a takeover names an
    // instance): the date goes first, then the program's name; the store's
    // URL takes what is left.
    let full = text::full(model.now, model.zone);
    let (clock, name) = if NAME + used + full.chars().count() <= width {
        (full, true)
    } else {
        let short = text::short(model.now, model.zone);
        let name = NAME + used + short.chars().count() <= width;
        (short, name)
    };
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(clock.chars().count() as u16 + 2),
    ])
    .areas(first);

    let mut spans = Vec::new();
    let mut room = left.width as usize;
    if name {
        spans.push(Span::styled("cronport", theme.strong()));
        spans.push(Span::raw("  "));
        room = room.saturating_sub(NAME);
    }
    let room = room.saturating_sub(state.chars().count() + 2);
    if room >= MIN_URL {
        spans.push(Span::styled(
            text::keep_end(&model.store_url, room),
            theme.muted(),
        ));
        spans.push(Span::raw("  "));
    }
    spans.push(Span::styled(state, style));
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
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

/// Who runs the scheduler, in words, and how it is coloured.
fn state(model: &Model, theme: Theme) -> (String, Style) {
    let took_over = model.took_over_from.as_ref().map(host_pid);
    match (&model.engine, took_over) {
        (Engine::Starting, Some(from)) => (
            format!("starting here; taking over from {from}"),
            theme.busy(),
        ),
        (Engine::Starting, None) => ("starting".to_string(), theme.busy()),
        (Engine::Running, Some(from)) if model.all_paused() => (
            format!("all paused here; took over from {from}"),
            theme.warn(),
        ),
        (Engine::Running, Some(from)) => {
            (format!("running here; took over from {from}"), theme.good())
        }
        (Engine::Running, None) if model.all_paused() => ("all paused".to_string(), theme.warn()),
        (Engine::Running, None) => ("running".to_string(), theme.good()),
        (Engine::Draining, _) => (
            format!("stopping: {} run(s) finishing", model.data.running.len()),
            theme.warn(),
        ),
        (Engine::Stopped, _) => ("stopped".to_string(), theme.warn()),
        (Engine::Failed(e), _) => (format!("scheduler failed: {e}"), theme.bad()),
        (Engine::TakingOver { from, why }, _) => (
            format!("{} {}; taking over", host_pid(from), why.words()),
            theme.warn(),
        ),
        (Engine::Attached(holder), _) if model.loaded && model.data.holder.is_none() => (
            format!("attached to {}, which lost the lease", host_pid(holder)),
            theme.bad(),
        ),
        (Engine::Attached(holder), _) => match model.holder_heartbeat {
            Some(heard) if silent(model.now, heard) => (
                format!(
                    "attached to {}, last heard {}",
                    host_pid(holder),
                    text::ago(model.now, heard)
                ),
                theme.bad(),
            ),
            _ => (format!("attached to {}", host_pid(holder)), theme.busy()),
        },
    }
}

/// Whether a heartbeat at `heard` is overdue at `now`.
fn silent(now: DateTime<Utc>, heard: DateTime<Utc>) -> bool {
    (now - heard)
        .to_std()
        .is_ok_and(|quiet| quiet > SILENT_AFTER)
}
