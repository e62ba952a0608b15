//! Runs that sent nothing because their content had not changed
//! (`deliver = "on_change"`): History says `unchanged` where a succeeded
//! run says `ok`, and the run view says why nothing was delivered.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw};
use crate::console::model::{Model, Msg, Screen};
use crate::store::RunStatus;

const HASH: &str = "xxh3:9f86d081884c7d659a2feaa0c55ad015";

/// The fixtures with the newest succeeded run marked unchanged; its id.
fn with_unchanged_run() -> (Model, i64) {
    let mut model = fixtures::model();
    let run = model
        .data
        .history
        .iter_mut()
        .find(|r| r.status == RunStatus::Succeeded)
        .expect("a succeeded run in the fixtures");
    run.unchanged = true;
    run.content_hash = Some(HASH.into());
    run.outputs.clear();
    let id = run.id;
    (model, id)
}

#[test]
fn history_marks_the_unchanged_run() {
    let (mut model, id) = with_unchanged_run();
    for _ in 0..2 {
        model.update(Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    }
    let screen = draw(&model, 80, 24);
    let row = screen
        .lines()
        .find(|l| l.contains("unchanged"))
        .unwrap_or_else(|| panic!("no unchanged row in History:\n{screen}"));
    assert!(row.contains("stock-levels"), "run {id}: {row}");
    insta::assert_snapshot!("history_unchanged_80x24", screen);
}

#[test]
fn the_run_view_says_why_nothing_was_sent() {
    let (mut model, id) = with_unchanged_run();
    let run = model
        .data
        .history
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .expect("the run");
    let details = crate::console::data::RunDetails {
        run,
        attempts: Vec::new(),
        lines: Vec::new(),
        deliveries: Vec::new(),
    };
    model.screen = Screen::Run {
        id,
        details: Some(Box::new(details)),
        scroll: 0,
    };
    let screen = draw(&model, 120, 40);
    assert!(
        screen.contains("same content as the last delivered run (xxh3:9f86d081884c), nothing sent"),
        "{screen}"
    );
    insta::assert_snapshot!("run_view_unchanged_120x40", screen);
}
