//! Text measured in terminal columns: slicing a scrolled field, marking a
//! span under it, wrapping messages.

use std::ops::Range;

use unicode_width::UnicodeWidthChar;

/// How a character of a field's value is shown: a newline as `↵`, a tab as a
/// space, so a one-line field stays one line.
fn shown(c: char) -> char {
    match c {
        '\n' => '↵',
        '\t' | '\r' => ' ',
        c => c,
    }
}

fn width_of(c: char) -> usize {
    shown(c).width().unwrap_or(0)
}

/// The part of `text` that shows after skipping `skip` columns, at most
/// `width` columns wide.
pub(super) fn visible_slice(text: &str, skip: usize, width: usize) -> String {
    let mut column = 0;
    let mut out = String::new();
    for c in text.chars() {
        let w = width_of(c);
        if column >= skip {
            if column + w - skip > width {
                break;
            }
            out.push(shown(c));
        }
        column += w;
    }
    out
}

/// A line of `^` under the bytes `span` of `text` as shown scrolled by
/// `scroll` columns; `None` when the span is out of view. An empty span (or
/// one at the very end: "expected a time at the end") gets one caret.
pub(super) fn caret_line(
    text: &str,
    span: Range<usize>,
    scroll: usize,
    width: usize,
) -> Option<String> {
    let columns = |s: &str| s.chars().map(width_of).sum::<usize>();
    let start = columns(text.get(..span.start)?);
    let len = columns(text.get(span.start..span.end.min(text.len()))?).max(1);
    let start = start.checked_sub(scroll)?;
    if start >= width {
        return None;
    }
    let len = len.min(width - start);
    Some(format!("{}{}", " ".repeat(start), "^".repeat(len)))
}

/// Greedy word wrap to `width` columns; words longer than a line are cut.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let w: usize = word.chars().map(width_of).sum();
        if used > 0 && used + 1 + w > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        for c in word.chars() {
            let cw = width_of(c);
            if used + cw > width && used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(shown(c));
            used += cw;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_by_columns() {
        assert_eq!(visible_slice("hello world", 6, 3), "wor");
        assert_eq!(visible_slice("a\nb", 0, 10), "a↵b");
    }

    #[test]
    fn carets_follow_the_scroll() {
        assert_eq!(
            caret_line("0 25 * * *", 2..4, 0, 20).as_deref(),
            Some("  ^^")
        );
        assert_eq!(caret_line("0 25 * * *", 2..4, 2, 20).as_deref(), Some("^^"));
        assert_eq!(caret_line("0 25 * * *", 2..4, 3, 20), None);
        assert_eq!(
            caret_line("daily at", 8..8, 0, 20).as_deref(),
            Some("        ^")
        );
    }

    #[test]
    fn wraps_words_and_cuts_long_ones() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefg", 3), vec!["abc", "def", "g"]);
        assert_eq!(wrap("", 3), vec![""]);
    }
}
