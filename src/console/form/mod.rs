//! The job edit form: a placeholder with the agreed interface until the form
//! itself lands (branch `form`). It edits nothing: it says so, and Esc
//! leaves. When the real form merges, this file is replaced whole.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::job::JobSpec;

/// What the form may offer: the config's names and the jobs that exist.
#[derive(Clone, Debug, Default)]
pub struct FormContext {
    /// `[destinations]` names.
    pub destinations: Vec<String>,
    /// `[sources]` names, for sql sources.
    pub connections: Vec<String>,
    /// The zone of jobs that name none.
    pub default_timezone: String,
    /// Job names already taken.
    pub existing_names: Vec<String>,
}

/// What a key did to the form.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // the agreed interface; a save comes once per form
pub enum FormOutcome {
    /// Keep editing.
    Continue,
    /// Leave, changing nothing.
    Cancel,
    /// Save this job.
    Save(JobSpec),
}

/// The form's state.
pub struct JobForm {
    title: String,
}

impl JobForm {
    /// A form for a new job (`n`).
    pub fn new(_ctx: FormContext) -> Self {
        JobForm {
            title: "New job".into(),
        }
    }

    /// A form filled with an existing job (`e`).
    pub fn edit(spec: &JobSpec, _ctx: FormContext) -> Self {
        JobForm {
            title: format!("Edit {}", spec.name),
        }
    }

    /// One key; what the console should do next.
    pub fn handle_key(&mut self, key: KeyEvent, _now: DateTime<Utc>) -> FormOutcome {
        match key.code {
            KeyCode::Esc => FormOutcome::Cancel,
            _ => FormOutcome::Continue,
        }
    }

    /// Draw the form into `area`.
    pub fn render(&self, frame: &mut Frame, area: Rect, _now: DateTime<Utc>) {
        let text = vec![
            Line::from("The edit form is not part of this build yet."),
            Line::from("Use `cronport apply FILE` to add or change jobs."),
            Line::from(""),
            Line::from("Esc goes back."),
        ];
        let block = Block::default()
            .borders(Borders::ALL)
            .title(self.title.as_str());
        frame.render_widget(
            Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
            area,
        );
    }
}
