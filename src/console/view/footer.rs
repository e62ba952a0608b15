//! One line: the prompt being typed, a fresh message, or the main keys
//! (from the keymap table).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use crate::console::keymap;
use crate::console::model::{Model, Popup, PromptKind};

/// How long a message stays in the footer (errors stay longer).
const MESSAGE_SECS: i64 = 6;

pub(super) fn render(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    if let Some(prompt) = &model.prompt {
        let lead = match prompt.kind {
            PromptKind::Filter(panel) => format!("filter {}: /", panel.title().to_lowercase()),
            PromptKind::Command => ":".to_string(),
        };
        let lead_width = lead.chars().count() as u16;
        let room = area.width.saturating_sub(lead_width + 1) as usize;
        let scroll = prompt.input.visual_scroll(room);
        let shown: String = prompt.input.value().chars().skip(scroll).collect();
        let line = Line::from(vec![Span::styled(lead, theme.strong()), Span::raw(shown)]);
        frame.render_widget(Paragraph::new(line), area);
        let cursor = prompt.input.visual_cursor().saturating_sub(scroll) as u16;
        frame.set_cursor_position(Position::new(area.x + lead_width + cursor, area.y));
        return;
    }
    if let Some(status) = &model.status {
        let age = (model.now - status.at).num_seconds();
        let keep = if status.error {
            MESSAGE_SECS * 2
        } else {
            MESSAGE_SECS
        };
        if age < keep {
            let style = if status.error {
                theme.bad()
            } else {
                theme.strong()
            };
            frame.render_widget(
                Paragraph::new(Span::styled(status.text.as_str(), style)),
                area,
            );
            return;
        }
    }
    if matches!(model.popup, Some(Popup::Form { .. } | Popup::DryRun(_))) {
        frame.render_widget(
            Paragraph::new(Span::styled("Esc back", theme.muted())),
            area,
        );
        return;
    }
    let mut spans = Vec::new();
    for (key, label) in keymap::footer(model.mode()) {
        if !spans.is_empty() {
            // One space: the bold key already sets entries apart, and the
            // main keys fit 80 columns.
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(key, theme.strong()));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(label, theme.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
