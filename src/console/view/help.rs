//! The help: every binding of the keymap table, by mode, and the commands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::{Theme, centered};
use crate::console::command_line::USAGE;
use crate::console::keymap::{self, Mode};

/// The help's lines; generated, so they always match the keys.
pub fn lines(theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let key_width = 14;
    for mode in Mode::ALL {
        if !lines.is_empty() {
            lines.push(Line::from(""));
        }
        lines.push(Line::styled(mode.title(), theme.strong()));
        for (keys, description) in keymap::help(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<key_width$}"), theme.strong()),
                Span::raw(description),
            ]));
        }
    }
    // The form's own table, as its footer reads it.
    lines.push(Line::from(""));
    lines.push(Line::styled("Job form (n, e)", theme.strong()));
    for (keys, _, description) in crate::console::form::KEYS {
        lines.push(Line::from(vec![
            Span::styled(format!("  {keys:<key_width$}"), theme.strong()),
            Span::raw(description),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::styled("Command line (:)", theme.strong()));
    for (usage, description) in USAGE {
        lines.push(Line::from(vec![
            Span::styled(format!("  {usage}"), theme.strong()),
            Span::raw(format!(": {description}")),
        ]));
    }
    lines
}

pub(super) fn render(theme: Theme, scroll: u16, frame: &mut Frame, body: Rect) {
    let area = centered(body, 96, body.height);
    frame.render_widget(Clear, area);
    let lines = lines(theme);
    let visible = area.height.saturating_sub(2);
    let last = (lines.len() as u16).saturating_sub(visible);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(" Keys (j/k scroll, Esc closes) ");
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(last), 0)),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_every_key_of_the_job_form() {
        let text: Vec<String> = lines(Theme::new(false))
            .iter()
            .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        let start = text
            .iter()
            .position(|l| l == "Job form (n, e)")
            .expect("a job form section");
        for (keys, _, description) in crate::console::form::KEYS {
            assert!(
                text[start..]
                    .iter()
                    .any(|l| l.contains(keys) && l.contains(description)),
                "{keys} is missing from the help"
            );
        }
    }
}
