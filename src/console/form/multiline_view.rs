//! Drawing a multi-line field (the queries): a few lines in view, scrolled
//! to the cursor while focused.

use ratatui::text::{Line, Span};

use super::JobForm;
use super::fields::Field;
use super::multiline::MultiLine;
use super::placeholder::placeholder;
use super::style::Styles;
use super::text::visible_slice;
use super::view::{LABEL_WIDTH, MULTILINE_ROWS};

/// A multi-line field as drawn: its first line beside the label, the
/// others below, and where the cursor is (line from the first, column).
pub(super) struct Shown<'a> {
    pub first: Vec<Span<'a>>,
    pub more: Vec<Line<'a>>,
    pub cursor: (usize, usize),
}

/// Up to [`MULTILINE_ROWS`] lines of `buffer`: the focused field scrolls to
/// its cursor (down and sideways) and says how to add a line; the others
/// show their start and cut long lines with "…".
pub(super) fn multiline_value<'a>(
    form: &JobForm,
    field: Field,
    buffer: &MultiLine,
    focused: bool,
    width: usize,
    s: &Styles,
) -> Shown<'a> {
    let indent = " ".repeat(LABEL_WIDTH);
    let hint = Line::styled(
        format!("{indent}Enter: new line · ↑/↓: lines · Tab: next field"),
        s.muted,
    );
    if buffer.value().is_empty() {
        return Shown {
            first: vec![Span::styled(placeholder(form, field), s.muted)],
            more: if focused { vec![hint] } else { Vec::new() },
            cursor: (0, 0),
        };
    }
    let lines = buffer.lines();
    let (cursor_line, cursor_column) = buffer.cursor_line_column();
    let height = lines.len().min(MULTILINE_ROWS);
    let top = if focused {
        cursor_line.saturating_sub(height - 1)
    } else {
        0
    };
    let sideways = if focused {
        cursor_column.saturating_sub(width.saturating_sub(1))
    } else {
        0
    };
    let mut texts = lines.iter().skip(top).take(height).map(|line| {
        let shown = visible_slice(line, sideways, width);
        if !focused && shown.chars().count() < line.chars().count() {
            visible_slice(line, 0, width.saturating_sub(1)) + "…"
        } else {
            shown
        }
    });
    let first = vec![Span::styled(texts.next().unwrap_or_default(), s.value)];
    let mut more: Vec<Line<'a>> = texts
        .map(|text| Line::from(vec![Span::raw(indent.clone()), Span::styled(text, s.value)]))
        .collect();
    if lines.len() > height {
        more.push(Line::styled(
            format!(
                "{indent}lines {}-{} of {}",
                top + 1,
                top + height,
                lines.len()
            ),
            s.muted,
        ));
    }
    if focused {
        more.push(hint);
    }
    Shown {
        first,
        more,
        cursor: (cursor_line - top, cursor_column - sideways),
    }
}
