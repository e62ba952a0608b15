//! The small form that makes a new local folder destination from the job
//! form ("+ new local folder" under the destinations). It is checked on
//! every key by the config's own rules (`destinations::check_draft`), and
//! adds nothing to the store itself: the destination is written when the
//! job is saved, in the same transaction. Esc goes back to the job form and
//! makes nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use crate::destinations::{DraftProblem, LocalDraft, NewLocal, check_draft};
use crate::export::destination::local::DEFAULT_PATTERN;

/// A field of the sub-form, in the order shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DraftField {
    /// The destination's name.
    Name,
    /// Its root folder.
    Root,
    /// Its path pattern under the root.
    Path,
    /// Days its files are kept (empty: for ever).
    KeepDays,
}

impl DraftField {
    /// Every field, in order.
    pub const ALL: [DraftField; 4] = [
        DraftField::Name,
        DraftField::Root,
        DraftField::Path,
        DraftField::KeepDays,
    ];

    /// The label shown in front of it.
    pub fn label(self) -> &'static str {
        match self {
            DraftField::Name => "Name",
            DraftField::Root => "Root folder",
            DraftField::Path => "Path pattern",
            DraftField::KeepDays => "Keep days",
        }
    }

    /// The key as written under `[destinations.NAME]`, which errors name.
    pub fn key(self) -> &'static str {
        match self {
            DraftField::Name => "name",
            DraftField::Root => "root",
            DraftField::Path => "path",
            DraftField::KeepDays => "keep_days",
        }
    }

    /// The hint an empty field shows.
    pub fn placeholder(self) -> &'static str {
        match self {
            DraftField::Name => "a slug, e.g. finance-share",
            DraftField::Root => "/srv/exports (relative: from the config's folder)",
            DraftField::Path => "{job}, {date:FORMAT}, {run_id}, {ext}",
            DraftField::KeepDays => "keep files for ever (the default)",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where the focus is: a field, or the Add button.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftRow {
    /// A field.
    Field(DraftField),
    /// The Add button.
    Add,
}

/// What a key did to the sub-form.
#[derive(Clone, Debug, PartialEq)]
pub enum DraftOutcome {
    /// Still editing.
    Continue,
    /// Esc: back to the job form, nothing made.
    Cancel,
    /// Valid: add it to the job's destinations (made when the job is saved).
    Add(NewLocal),
}

/// The names a new destination must not take, and where relative roots
/// are taken from.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// The config's destinations (every kind).
    pub config: BTreeSet<String>,
    /// Those made in the console, and those this form will make.
    pub made: BTreeSet<String>,
    /// The config's folder.
    pub folder: PathBuf,
}

/// The sub-form's state.
#[derive(Clone, Debug)]
pub struct DraftForm {
    inputs: [Input; 4],
    focus: DraftRow,
    touched: BTreeSet<usize>,
    /// After a refused Add: show every field's problems.
    show_all: bool,
    checked: Result<NewLocal, Vec<DraftProblem>>,
}

impl DraftForm {
    /// A blank draft, the path pattern filled with the default.
    pub fn new(names: &Names) -> DraftForm {
        let mut form = DraftForm {
            inputs: [
                Input::default(),
                Input::default(),
                Input::new(DEFAULT_PATTERN.to_string()),
                Input::default(),
            ],
            focus: DraftRow::Field(DraftField::Name),
            touched: BTreeSet::new(),
            show_all: false,
            checked: Err(Vec::new()),
        };
        form.check(names);
        form
    }

    /// The row with the focus.
    pub fn focus(&self) -> DraftRow {
        self.focus
    }

    /// The text typed into `field`.
    pub fn input(&self, field: DraftField) -> &Input {
        &self.inputs[field.index()]
    }

    /// The problems of `field` to show now (once it was changed, or after
    /// a refused Add), each starting with its key.
    pub fn shown_problems(&self, field: DraftField) -> Vec<String> {
        if !(self.show_all || self.touched.contains(&field.index())) {
            return Vec::new();
        }
        match &self.checked {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .iter()
                .filter(|(key, _)| *key == field.key())
                .map(|(key, message)| format!("{key}: {message}"))
                .collect(),
        }
    }

    /// Every problem, shown or not.
    pub fn problem_count(&self) -> usize {
        self.checked.as_ref().map_or_else(Vec::len, |_| 0)
    }

    /// Whether Add would add it.
    pub fn is_valid(&self) -> bool {
        self.checked.is_ok()
    }

    /// Where a relative root would end up, once the root is valid.
    pub fn resolved_root(&self) -> Option<PathBuf> {
        self.checked
            .as_ref()
            .ok()
            .map(|new| new.config.root.clone())
    }

    fn draft(&self) -> LocalDraft {
        let text = |f: DraftField| self.inputs[f.index()].value().to_string();
        LocalDraft {
            name: text(DraftField::Name),
            root: text(DraftField::Root),
            path: text(DraftField::Path),
            keep_days: text(DraftField::KeepDays),
        }
    }

    fn check(&mut self, names: &Names) {
        self.checked = check_draft(&self.draft(), &names.folder, &names.config, &names.made);
    }

    /// Handle one key.
    pub fn handle(&mut self, key: KeyEvent, names: &Names) -> DraftOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (key.code, self.focus) {
            (KeyCode::Esc, _) => return DraftOutcome::Cancel,
            (KeyCode::Char('s'), _) if ctrl => return self.add(),
            (KeyCode::Enter, DraftRow::Add) => return self.add(),
            (KeyCode::Tab | KeyCode::Down | KeyCode::Enter, _) => self.step(1),
            (KeyCode::BackTab | KeyCode::Up, _) => self.step(-1),
            (_, DraftRow::Field(field)) => {
                let input = &mut self.inputs[field.index()];
                let edited = to_input_request(&Event::Key(key))
                    .and_then(|request| input.handle(request))
                    .is_some_and(|change| change.value);
                if edited {
                    self.touched.insert(field.index());
                    self.check(names);
                }
            }
            _ => {}
        }
        DraftOutcome::Continue
    }

    fn step(&mut self, by: isize) {
        let rows: Vec<DraftRow> = DraftField::ALL
            .into_iter()
            .map(DraftRow::Field)
            .chain([DraftRow::Add])
            .collect();
        let here = rows.iter().position(|r| *r == self.focus).unwrap_or(0);
        let next = (here as isize + by).clamp(0, rows.len() as isize - 1) as usize;
        self.focus = rows[next];
    }

    /// Add when valid; otherwise show every problem and go to the first.
    fn add(&mut self) -> DraftOutcome {
        match &self.checked {
            Ok(new) => DraftOutcome::Add(new.clone()),
            Err(problems) => {
                self.show_all = true;
                let first = DraftField::ALL
                    .into_iter()
                    .find(|f| problems.iter().any(|(key, _)| *key == f.key()));
                if let Some(field) = first {
                    self.focus = DraftRow::Field(field);
                }
                DraftOutcome::Continue
            }
        }
    }
}
