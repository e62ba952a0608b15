//! Held runs in the console: History and the run view show `held` with the
//! failed check; A releases the selected held run, X discards it after a
//! question; both refuse a run that is not held, saying why.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw};
use crate::console::model::{Effect, Model, Msg, Panel, Popup, Question, Screen};
use crate::store::RunStatus;

const REASON: &str = "max_change: 1,000 rows, last success had 10,000 (-90%, limit 50%)";

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// The fixtures with the newest succeeded run held by a check; its id.
fn with_held_run() -> (Model, i64) {
    let mut model = fixtures::model();
    let run = model
        .data
        .history
        .iter_mut()
        .find(|r| r.status == RunStatus::Succeeded)
        .expect("a succeeded run in the fixtures");
    run.status = RunStatus::Held;
    run.error = Some(REASON.into());
    run.failed_check = Some("max_change".into());
    run.held_until = run.finished_at.map(|t| t + chrono::Duration::hours(24));
    run.outputs.clear();
    let id = run.id;
    (model, id)
}

/// Focus History and select run `id`.
fn select_in_history(model: &mut Model, id: i64) {
    while model.focus != Panel::History {
        press(model, KeyCode::Tab);
    }
    for _ in 0..20 {
        if model.selected_run().map(|r| r.id) == Some(id) {
            return;
        }
        press(model, KeyCode::Char('j'));
    }
    panic!("run {id} is not in History");
}

#[test]
fn history_shows_the_held_run_with_its_check() {
    let (mut model, id) = with_held_run();
    select_in_history(&mut model, id);
    // At 120 columns the error column has room for the check.
    let wide = draw(&model, 120, 40);
    let row = wide
        .lines()
        .find(|l| l.contains(" held "))
        .unwrap_or_else(|| panic!("no held row in History:\n{wide}"));
    assert!(row.contains("max_change: 1,000 rows"), "run {id}: {row}");
    let screen = draw(&model, 80, 24);
    assert!(
        screen.lines().any(|l| l.contains(" held ")),
        "no held row in History:\n{screen}"
    );
    insta::assert_snapshot!("history_held_80x24", screen);
}

#[test]
fn a_releases_and_x_discards_the_held_run_selected_in_history() {
    let (mut model, id) = with_held_run();
    select_in_history(&mut model, id);
    assert_eq!(press(&mut model, KeyCode::Char('A')), [Effect::Release(id)]);
    let said = model.status.as_ref().expect("a footer message");
    assert_eq!(said.text, format!("releasing run {id}…"));
    assert!(!said.error);

    // X asks first; n keeps it, y discards it.
    assert!(press(&mut model, KeyCode::Char('X')).is_empty());
    assert!(matches!(
        model.popup,
        Some(Popup::Confirm(Question::Discard(q))) if q == id
    ));
    let asked = draw(&model, 80, 24);
    assert!(
        asked.contains(&format!("Discard held run {id}?")),
        "{asked}"
    );
    assert!(press(&mut model, KeyCode::Char('n')).is_empty());
    assert!(model.popup.is_none());
    press(&mut model, KeyCode::Char('X'));
    assert_eq!(press(&mut model, KeyCode::Char('y')), [Effect::Discard(id)]);
    assert!(model.popup.is_none());

    // What the effect reported lands in the footer.
    model.update(Msg::Done(Ok(format!(
        "run {id} released: delivered to reports"
    ))));
    assert!(
        draw(&model, 80, 24).contains(&format!("run {id} released: delivered to reports")),
        "{}",
        draw(&model, 80, 24)
    );
}

#[test]
fn a_run_that_is_not_held_is_neither_released_nor_discarded() {
    let (mut model, _) = with_held_run();
    while model.focus != Panel::History {
        press(&mut model, KeyCode::Tab);
    }
    let (id, status) = model
        .selected_run()
        .map(|r| (r.id, r.status))
        .expect("a selected run");
    assert_ne!(status, RunStatus::Held);
    for key in ['A', 'X'] {
        assert!(press(&mut model, KeyCode::Char(key)).is_empty(), "{key}");
        assert!(model.popup.is_none(), "{key}");
        let said = model.status.as_ref().expect("a footer message");
        assert!(said.error, "{key}");
        assert_eq!(
            said.text,
            format!(
                "run {id} is {status}: only a held run (a check failed) is released or discarded"
            )
        );
    }
}

#[test]
fn the_run_view_shows_the_hold_and_releases_it() {
    let (mut model, id) = with_held_run();
    let run = model
        .data
        .history
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .expect("the run");
    model.screen = Screen::Run {
        id,
        details: Some(Box::new(crate::console::data::RunDetails {
            run,
            attempts: Vec::new(),
            lines: Vec::new(),
            deliveries: Vec::new(),
        })),
        scroll: 0,
    };
    let screen = draw(&model, 120, 40);
    assert!(screen.contains(REASON), "{screen}");
    assert!(
        screen.contains("A releases it (delivers), X discards it"),
        "{screen}"
    );
    insta::assert_snapshot!("run_view_held_120x40", screen);
    assert_eq!(press(&mut model, KeyCode::Char('A')), [Effect::Release(id)]);
    press(&mut model, KeyCode::Char('X'));
    assert_eq!(press(&mut model, KeyCode::Char('y')), [Effect::Discard(id)]);
}
