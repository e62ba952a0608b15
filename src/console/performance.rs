//! The Performance window's state (`:perf`): the slowest jobs over the last
//! days, as the store summarised them, and how the window answers keys.
//! The summary is read by the loader ([`super::loader::performance`]);
//! the drawing is `view/performance.rs`.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::store::Performance;

/// Days the window looks back.
pub const WINDOW_DAYS: i64 = 7;

/// The Performance window.
#[derive(Clone, Debug, Default)]
pub struct PerformanceView {
    /// The summary once read (or why it could not be); `None` while the
    /// read is under way.
    pub report: Option<Result<Performance, String>>,
    /// Rows scrolled down.
    pub scroll: u16,
}

/// What a key in the window asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ask {
    /// Nothing beyond the window itself (a scroll, or an unbound key).
    Nothing,
    /// Close the window.
    Close,
    /// Read the summary again, as of now.
    Reload,
}

impl PerformanceView {
    /// The window as of `now`, read from `now - WINDOW_DAYS` to `now`.
    pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (now - chrono::Duration::days(WINDOW_DAYS), now)
    }

    /// Answer `key`.
    pub fn key(&mut self, key: KeyEvent) -> Ask {
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => return Ask::Close,
            KeyCode::Char('r') => {
                self.report = None;
                self.scroll = 0;
                return Ask::Reload;
            }
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
            _ => {}
        }
        // Never past the last job: a scroll the view cannot show would make
        // the next keys seem dead.
        let jobs = match &self.report {
            Some(Ok(report)) => report.jobs.len(),
            _ => 0,
        };
        let last = u16::try_from(jobs.saturating_sub(1)).unwrap_or(u16::MAX);
        self.scroll = self.scroll.min(last);
        Ask::Nothing
    }
}
