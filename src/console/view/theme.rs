//! Styles. With `NO_COLOR` set only bold, dim and reverse are used, so
//! every state still reads (selection is reverse video either way).

use ratatui::style::{Color, Modifier, Style};

use crate::events::Level;
use crate::store::RunStatus;

/// Picks styles, with or without colour.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours when `color`.
    pub fn new(color: bool) -> Self {
        Theme { color }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }

    /// Headings and keys.
    pub fn strong(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    /// Secondary text.
    pub fn muted(self) -> Style {
        if self.color {
            self.fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }

    /// The selected row.
    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// The selected row: reversed in the focused panel, bold elsewhere.
    pub fn highlight(self, focused: bool) -> Style {
        if focused {
            self.selected()
        } else {
            self.strong()
        }
    }

    /// A panel's border: bold (and cyan) when focused.
    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.muted()
        }
    }

    /// Something wrong.
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Something fine.
    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    /// Something to look at.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    /// In progress.
    pub fn busy(self) -> Style {
        self.fg(Color::Cyan)
    }

    /// A run's state.
    pub fn status(self, status: RunStatus) -> Style {
        match status {
            RunStatus::Succeeded => self.good(),
            RunStatus::Failed | RunStatus::Interrupted => self.bad(),
            RunStatus::Running | RunStatus::Queued => self.busy(),
            RunStatus::Cancelled | RunStatus::Held => self.warn(),
            RunStatus::Skipped | RunStatus::Discarded => self.muted(),
        }
    }

    /// A log line's level.
    pub fn level(self, level: Level) -> Style {
        match level {
            Level::Error => self.bad(),
            Level::Warn => self.warn(),
            Level::Info => self.good(),
            Level::Debug => self.muted(),
        }
    }

    /// Bars of the failure chart.
    pub fn bars(self) -> Style {
        self.fg(Color::Red)
    }
}
