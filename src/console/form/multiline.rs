//! A small multi-line text buffer for the query fields: tui-input is one
//! line only and no multi-line editor crate is in the tree, and a query
//! needs little more than typing, newlines and moving by line.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_width::UnicodeWidthChar;

/// What a key did to the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor moved (or nothing happened).
    Moved,
    /// ↑ on the first line: the focus goes to the field above.
    LeaveUp,
    /// ↓ on the last line: the focus goes to the field below.
    LeaveDown,
    /// Not a key the buffer edits with.
    Ignored,
}

/// Text with newlines and a cursor, counted in characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiLine {
    text: String,
    /// Characters before the cursor.
    cursor: usize,
}

impl MultiLine {
    /// `text` with the cursor at its end.
    pub fn new(text: &str) -> Self {
        MultiLine {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    /// The text as typed.
    pub fn value(&self) -> &str {
        &self.text
    }

    /// The lines of the text (one, empty, for an empty text).
    pub fn lines(&self) -> Vec<&str> {
        self.text.split('\n').collect()
    }

    /// The cursor's line and its column in terminal cells.
    pub fn cursor_line_column(&self) -> (usize, usize) {
        let before: String = self.text.chars().take(self.cursor).collect();
        let line = before.matches('\n').count();
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[start..].chars().map(cell_width).sum();
        (line, column)
    }

    /// Apply one key: typing, Enter for a newline, Backspace/Delete,
    /// ←/→/↑/↓, Home/End (Ctrl-A/Ctrl-E), Ctrl-U to empty the line.
    pub fn handle(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('a') if ctrl => self.move_to_line_edge(false),
            KeyCode::Char('e') if ctrl => self.move_to_line_edge(true),
            KeyCode::Char('u') if ctrl => self.clear_line(),
            KeyCode::Char(c) if !ctrl && !alt => self.insert(c),
            KeyCode::Enter => self.insert('\n'),
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.remove_at(self.cursor);
                Edit::Changed
            }
            KeyCode::Delete if self.cursor < self.len() => {
                self.remove_at(self.cursor);
                Edit::Changed
            }
            KeyCode::Backspace | KeyCode::Delete => Edit::Moved,
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                Edit::Moved
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(self.len());
                Edit::Moved
            }
            KeyCode::Home => self.move_to_line_edge(false),
            KeyCode::End => self.move_to_line_edge(true),
            KeyCode::Up => self.vertical(-1),
            KeyCode::Down => self.vertical(1),
            _ => Edit::Ignored,
        }
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn insert(&mut self, c: char) -> Edit {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        Edit::Changed
    }

    fn remove_at(&mut self, chars: usize) {
        let at = self.byte_at(chars);
        self.text.remove(at);
    }

    /// Character offsets where each line starts.
    fn line_starts(&self) -> Vec<usize> {
        let mut starts = vec![0];
        for (i, c) in self.text.chars().enumerate() {
            if c == '\n' {
                starts.push(i + 1);
            }
        }
        starts
    }

    /// The cursor's line and the bounds (start, end) of that line, in chars.
    fn current_line(&self) -> (usize, usize, usize) {
        let starts = self.line_starts();
        let line = starts.iter().rposition(|&s| s <= self.cursor).unwrap_or(0);
        let end = starts.get(line + 1).map_or(self.len(), |next| next - 1);
        (line, starts[line], end)
    }

    fn move_to_line_edge(&mut self, end: bool) -> Edit {
        let (_, start, stop) = self.current_line();
        self.cursor = if end { stop } else { start };
        Edit::Moved
    }

    fn clear_line(&mut self) -> Edit {
        let (_, start, stop) = self.current_line();
        if start == stop {
            return Edit::Moved;
        }
        let (from, to) = (self.byte_at(start), self.byte_at(stop));
        self.text.replace_range(from..to, "");
        self.cursor = start;
        Edit::Changed
    }

    /// Move a line up or down, keeping the column where the line allows.
    fn vertical(&mut self, step: isize) -> Edit {
        let starts = self.line_starts();
        let (line, start, _) = self.current_line();
        let target = line as isize + step;
        if target < 0 {
            return Edit::LeaveUp;
        }
        let target = target as usize;
        let Some(&target_start) = starts.get(target) else {
            return Edit::LeaveDown;
        };
        let target_end = starts.get(target + 1).map_or(self.len(), |next| next - 1);
        let column = self.cursor - start;
        self.cursor = (target_start + column).min(target_end);
        Edit::Moved
    }
}

fn cell_width(c: char) -> usize {
    match c {
        '\t' | '\r' => 1,
        c => c.width().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(text: &str) -> MultiLine {
        let mut buffer = MultiLine::new("");
        for c in text.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            assert_eq!(buffer.handle(key(code)), Edit::Changed);
        }
        buffer
    }

    #[test]
    fn enter_starts_a_new_line_and_the_cursor_follows() {
        let buffer = typed("select *\nfrom t");
        assert_eq!(buffer.value(), "select *\nfrom t");
        assert_eq!(buffer.lines(), vec!["select *", "from t"]);
        assert_eq!(buffer.cursor_line_column(), (1, 6));
    }

    #[test]
    fn up_and_down_keep_the_column_and_leave_at_the_ends() {
        let mut buffer = typed("select a, b\nfrom t\nwhere x > 1");
        assert_eq!(buffer.handle(key(KeyCode::Down)), Edit::LeaveDown);
        assert_eq!(buffer.handle(key(KeyCode::Up)), Edit::Moved);
        // "where x > 1" has 11 columns; "from t" only 6.
        assert_eq!(buffer.cursor_line_column(), (1, 6));
        assert_eq!(buffer.handle(key(KeyCode::Up)), Edit::Moved);
        assert_eq!(buffer.cursor_line_column(), (0, 6));
        assert_eq!(buffer.handle(key(KeyCode::Up)), Edit::LeaveUp);
        buffer.handle(key(KeyCode::Char('!')));
        assert_eq!(buffer.value(), "select! a, b\nfrom t\nwhere x > 1");
    }

    #[test]
    fn backspace_joins_lines_and_ctrl_u_empties_one() {
        let mut buffer = typed("a\nb");
        buffer.handle(key(KeyCode::Left));
        assert_eq!(buffer.handle(key(KeyCode::Backspace)), Edit::Changed);
        assert_eq!(buffer.value(), "ab");
        let mut buffer = typed("keep\ndrop me");
        buffer.handle(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(buffer.value(), "keep\n");
        buffer.handle(key(KeyCode::Home));
        assert_eq!(buffer.handle(key(KeyCode::Backspace)), Edit::Changed);
        assert_eq!(buffer.value(), "keep");
        assert_eq!(buffer.handle(key(KeyCode::Delete)), Edit::Moved);
    }

    #[test]
    fn wide_characters_count_their_cells() {
        let buffer = typed("wert = 'größe'\n'日本'");
        assert_eq!(buffer.cursor_line_column(), (1, 6));
    }
}
