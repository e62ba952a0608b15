//! Drawing the "new local folder" sub-form: a small box over the job form,
//! pure, from the sub-form's state.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::new_destination::{DraftField, DraftForm, DraftRow};
use super::style::Styles;
use super::text::{visible_slice, wrap};

/// Columns for the focus marker and the label.
const LABEL: usize = 16;
/// The box's widest.
const MAX_WIDTH: u16 = 76;

pub(super) fn render(draft: &DraftForm, frame: &mut Frame, area: Rect, s: &Styles) {
    let width = area.width.saturating_sub(4).min(MAX_WIDTH);
    let value_width = (width as usize).saturating_sub(LABEL + 3).max(1);
    let mut lines = Vec::new();
    let mut cursor = None;
    for field in DraftField::ALL {
        let focused = draft.focus() == DraftRow::Field(field);
        let marker = if focused { "› " } else { "  " };
        let label_style = if focused { s.label_focused } else { s.label };
        let mut spans = vec![Span::styled(
            format!("{marker}{:<w$}", field.label(), w = LABEL - 2),
            label_style,
        )];
        let input = draft.input(field);
        if input.value().is_empty() {
            spans.push(Span::styled(field.placeholder(), s.muted));
            if focused {
                cursor = Some((lines.len(), LABEL));
            }
        } else {
            let scroll = if focused {
                input.visual_scroll(value_width.saturating_sub(1))
            } else {
                0
            };
            spans.push(Span::styled(
                visible_slice(input.value(), scroll, value_width),
                s.value,
            ));
            if focused {
                cursor = Some((
                    lines.len(),
                    LABEL + input.visual_cursor().saturating_sub(scroll),
                ));
            }
        }
        lines.push(Line::from(spans));
        let indent = " ".repeat(LABEL);
        if field == DraftField::Root
            && let Some(root) = draft.resolved_root()
            && root.as_os_str() != input.value().trim()
        {
            let text = format!("→ {}", root.display());
            for part in wrap(&text, value_width) {
                lines.push(Line::styled(format!("{indent}{part}"), s.muted));
            }
        }
        for problem in draft.shown_problems(field) {
            for (i, part) in wrap(&problem, value_width.saturating_sub(2))
                .into_iter()
                .enumerate()
            {
                let mark = if i == 0 { "✗ " } else { "  " };
                lines.push(Line::styled(format!("{indent}{mark}{part}"), s.error));
            }
        }
    }
    lines.push(Line::raw(""));
    let add_focused = draft.focus() == DraftRow::Add;
    lines.push(Line::from(vec![
        Span::raw(" ".repeat(LABEL)),
        Span::styled(
            "[ Add ]",
            if add_focused {
                s.button_focused
            } else {
                s.button
            },
        ),
        Span::styled("  made in the store when the job is saved", s.muted),
    ]));
    let status = if draft.is_valid() {
        Line::styled("✓ valid: Enter on Add (or Ctrl-S) adds and ticks it", s.ok)
    } else {
        let n = draft.problem_count();
        let plural = if n == 1 { "" } else { "s" };
        Line::styled(format!("✗ {n} problem{plural} to fix"), s.error)
    };
    lines.push(status);
    lines.push(Line::styled(
        "Tab next · Enter add · Esc back to the job form (nothing made)",
        s.muted,
    ));

    let height = (lines.len() as u16 + 2).min(area.height);
    let x = area.x + area.width.saturating_sub(width) / 2;
    let y = area.y + area.height.saturating_sub(height) / 2;
    let rect = Rect::new(x, y, width, height);
    let block = Block::bordered()
        .title(Line::styled(" New local folder ", s.label_focused))
        .border_style(s.border);
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some((line, column)) = cursor
        && line < inner.height as usize
    {
        frame.set_cursor_position((
            inner.x + (column as u16).min(inner.width.saturating_sub(1)),
            inner.y + line as u16,
        ));
    }
}
