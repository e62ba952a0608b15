//! Keys to form changes. Text fields get tui-input's editing keys; the
//! form keeps Tab/arrows for moving, ←/→/Space for selectors, Enter/Space
//! for checkboxes and the Save button, Ctrl-S and Esc everywhere.

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::to_input_request;

use super::fields::{Field, Row};
use super::multiline::Edit;
use super::new_destination::{DraftForm, DraftOutcome};
use super::{FormOutcome, JobForm};

/// The form's keys: the key, a word for the footer, and a description for
/// the console's help screen.
pub const KEYS: [(&str, &str, &str); 9] = [
    ("Tab/↓", "next", "next field"),
    ("S-Tab/↑", "back", "previous field"),
    ("PgDn/PgUp", "page", "five fields down / up"),
    (
        "←/→",
        "choose",
        "change a choice (source, connection, policies)",
    ),
    (
        "Space",
        "tick",
        "tick or untick a destination or a notify box; on \"+ new local folder\", make one (Esc there goes back)",
    ),
    (
        "Enter (query)",
        "newline",
        "in the query: a new line (↑/↓ move by line and leave it at its ends; Tab leaves it)",
    ),
    ("Tab/→", "accept", "accept the highlighted zone name"),
    (
        "Ctrl-S",
        "save",
        "save (also Enter on Save), only when all is valid",
    ),
    (
        "Esc",
        "cancel",
        "close the form, change nothing (asks y/n first if anything was changed)",
    ),
];

/// The keys shown in the footer, by their place in [`KEYS`].
pub(super) const FOOTER_KEYS: [usize; 6] = [0, 1, 3, 4, 7, 8];

/// Rows PageUp/PageDown move by.
const PAGE: isize = 5;

pub(super) fn handle(form: &mut JobForm, key: KeyEvent, _now: DateTime<Utc>) -> FormOutcome {
    if key.kind == KeyEventKind::Release {
        return FormOutcome::Continue;
    }
    form.notice = None;
    if let Some(draft) = &mut form.draft {
        match draft.handle(key, &form.names) {
            DraftOutcome::Continue => {}
            DraftOutcome::Cancel => form.draft = None,
            DraftOutcome::Add(new) => {
                form.draft = None;
                form.add_destination(new);
            }
        }
        return FormOutcome::Continue;
    }
    if form.confirm_discard {
        return confirm_discard(form, key.code);
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc if form.is_changed() => {
            form.confirm_discard = true;
            return FormOutcome::Continue;
        }
        KeyCode::Esc => return FormOutcome::Cancel,
        KeyCode::Char('s') if ctrl => return save(form),
        _ => {}
    }
    if let Row::Field(f) = form.focus
        && !matches!(
            key.code,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::PageUp | KeyCode::PageDown
        )
        && let Some(buffer) = form.values.multiline_mut(f)
    {
        match buffer.handle(key) {
            Edit::Changed => changed(form, f),
            Edit::LeaveUp => move_focus(form, -1),
            Edit::LeaveDown => move_focus(form, 1),
            Edit::Moved | Edit::Ignored => {}
        }
        return FormOutcome::Continue;
    }
    let completions = form.zone_completions();
    let at_end = |form: &JobForm| {
        let zone = &form.values.timezone;
        zone.cursor() == zone.value().chars().count()
    };
    if !completions.is_empty() {
        let accept = match key.code {
            KeyCode::Tab | KeyCode::Enter => true,
            KeyCode::Right => at_end(form),
            KeyCode::Down => {
                form.completion = (form.completion + 1).min(completions.len() - 1);
                return FormOutcome::Continue;
            }
            KeyCode::Up => {
                form.completion = form.completion.saturating_sub(1);
                return FormOutcome::Continue;
            }
            _ => false,
        };
        if accept {
            let pick = completions[form.completion.min(completions.len() - 1)];
            form.values.timezone = tui_input::Input::new(pick.to_string());
            form.completion = 0;
            form.touched.insert(Field::Timezone);
            form.revalidate();
            return FormOutcome::Continue;
        }
    }

    let focus = form.focus;
    match (key.code, focus) {
        (KeyCode::Tab | KeyCode::Down, _) => move_focus(form, 1),
        (KeyCode::BackTab | KeyCode::Up, _) => move_focus(form, -1),
        (KeyCode::PageDown, _) => move_focus(form, PAGE),
        (KeyCode::PageUp, _) => move_focus(form, -PAGE),
        (KeyCode::Enter, Row::Save) => return save(form),
        (KeyCode::Enter | KeyCode::Char(' '), Row::Destination(i)) => {
            form.values.toggle_destination(i);
            form.touched.insert(Field::Destinations);
            form.revalidate();
        }
        (KeyCode::Enter | KeyCode::Char(' '), Row::NewDestination) => {
            form.draft = Some(DraftForm::new(&form.names));
        }
        (KeyCode::Enter | KeyCode::Char(' '), Row::Check(f, i)) => {
            form.values.notify.toggle(f, i);
            changed(form, f);
        }
        (KeyCode::Enter, _) => move_focus(form, 1),
        (KeyCode::Left, Row::Field(f)) if form.values.step_choice(f, -1) => changed(form, f),
        (KeyCode::Right | KeyCode::Char(' '), Row::Field(f)) if form.values.step_choice(f, 1) => {
            changed(form, f)
        }
        (_, Row::Field(f)) => {
            let Some(input) = form.values.input_mut(f) else {
                return FormOutcome::Continue;
            };
            let edited = to_input_request(&Event::Key(key))
                .and_then(|request| input.handle(request))
                .is_some_and(|change| change.value);
            if edited {
                if f == Field::Timezone {
                    form.completion = 0;
                }
                changed(form, f);
            }
        }
        _ => {}
    }
    FormOutcome::Continue
}

/// The answer to "discard your changes?": y discards, n or Esc keeps
/// editing; other keys wait for an answer, so a stray key changes nothing.
fn confirm_discard(form: &mut JobForm, code: KeyCode) -> FormOutcome {
    match code {
        KeyCode::Char('y' | 'Y') => FormOutcome::Cancel,
        KeyCode::Char('n' | 'N') | KeyCode::Esc => {
            form.confirm_discard = false;
            FormOutcome::Continue
        }
        _ => FormOutcome::Continue,
    }
}

fn changed(form: &mut JobForm, field: Field) {
    form.touched.insert(field);
    form.revalidate();
}

fn move_focus(form: &mut JobForm, step: isize) {
    let rows = form.values.rows();
    let here = rows.iter().position(|r| *r == form.focus).unwrap_or(0);
    let next = (here as isize + step).clamp(0, rows.len() as isize - 1) as usize;
    form.focus = rows[next];
    form.completion = 0;
}

/// Save when everything is valid; otherwise say why and go to the first problem.
fn save(form: &mut JobForm) -> FormOutcome {
    if let Some(spec) = &form.checked.spec {
        return FormOutcome::Save(spec.clone());
    }
    form.show_all = true;
    let count = form.checked.problems.len();
    form.notice = Some(format!(
        "cannot save: {count} problem{} to fix (marked ✗)",
        if count == 1 { "" } else { "s" }
    ));
    let rows = form.values.rows();
    let first = form.checked.problems.iter().find_map(|p| {
        let field = p.field?;
        rows.iter().copied().find(|row| match row {
            Row::Field(f) => *f == field,
            Row::Destination(_) | Row::NewDestination => field == super::Field::Destinations,
            Row::Check(f, _) => *f == field,
            Row::Save => false,
        })
    });
    if let Some(row) = first {
        form.focus = row;
    }
    FormOutcome::Continue
}
