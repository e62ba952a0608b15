//! Every style the form draws with, in one place, so `NO_COLOR` switches
//! colour off everywhere at once (emphasis such as bold and reverse stays:
//! NO_COLOR is about colour only).

use ratatui::style::{Color, Modifier, Style};

/// Whether colour is allowed: `NO_COLOR` set to anything non-empty turns it
/// off (<https://no-color.org>).
pub fn color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The form's palette.
#[derive(Clone, Copy, Debug)]
pub struct Styles {
    /// The frame around the form.
    pub border: Style,
    /// A field's label.
    pub label: Style,
    /// The label of the field that has the focus.
    pub label_focused: Style,
    /// A field's value.
    pub value: Style,
    /// Greyed text: placeholders, defaults, hints.
    pub muted: Style,
    /// An error message and the marker under the offending characters.
    pub error: Style,
    /// A good outcome: the schedule's description.
    pub ok: Style,
    /// The chosen item of a selector, a ticked box, the picked completion.
    pub selected: Style,
    /// The Save button.
    pub button: Style,
    /// The Save button with the focus.
    pub button_focused: Style,
}

impl Styles {
    /// The palette, with or without colour.
    pub fn new(color: bool) -> Self {
        let fg = |c: Color| {
            if color {
                Style::new().fg(c)
            } else {
                Style::new()
            }
        };
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Styles {
            border: fg(Color::Blue),
            label: Style::new(),
            label_focused: fg(Color::Yellow).add_modifier(Modifier::BOLD),
            value: Style::new(),
            muted: if color {
                Style::new().fg(Color::DarkGray)
            } else {
                Style::new().add_modifier(Modifier::DIM)
            },
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            ok: fg(Color::Green),
            selected: fg(Color::Cyan).add_modifier(Modifier::BOLD),
            button: bold,
            button_focused: bold.add_modifier(Modifier::REVERSED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_no_style_sets_a_colour() {
        let s = Styles::new(false);
        for style in [
            s.border,
            s.label,
            s.label_focused,
            s.value,
            s.muted,
            s.error,
            s.ok,
            s.selected,
            s.button,
            s.button_focused,
        ] {
            assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
        }
        assert!(Styles::new(true).error.fg.is_some());
    }
}
