//! The backfill window, keys in and effects out: `B` opens it on the
//! selected job, the range is checked as it is typed, Enter asks for the
//! plan and then runs it, progress fills the bar, `c` stops the rest, and
//! Esc hides a running backfill that `B` brings back.

use chrono::{TimeZone as _, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw};
use crate::console::backfill::{PlanSummary, Stage};
use crate::console::model::{Effect, Model, Msg, Popup};
use crate::scheduler::backfill::Progress;

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(model: &mut Model, text: &str) {
    for c in text.chars() {
        press(model, KeyCode::Char(c));
    }
}

fn clear(model: &mut Model) {
    for _ in 0..40 {
        press(model, KeyCode::Backspace);
    }
}

fn stage(model: &Model) -> Stage {
    match &model.popup {
        Some(Popup::Backfill(view)) => view.stage.clone(),
        _ => panic!("no backfill window"),
    }
}

fn select(model: &mut Model, name: &str) {
    let index = model
        .visible_jobs
        .iter()
        .position(|&i| model.data.jobs[i].name == name)
        .unwrap();
    model.jobs.selected = index;
}

fn ended(model: &Model, id: i64, status: crate::store::RunStatus) -> Msg {
    let run = fixtures::run(
        id,
        1,
        "partner-feed",
        status,
        crate::store::Trigger::Backfill,
        model.now,
        Some(10),
    );
    Msg::BackfillProgress(Progress::Ended(run.scheduled_for, Box::new(run)))
}

#[test]
fn a_backfill_is_planned_run_followed_and_stopped_from_the_keyboard() {
    let mut model = fixtures::model();
    select(&mut model, "partner-feed");
    assert!(press(&mut model, KeyCode::Char('B')).is_empty());
    assert_eq!(stage(&model), Stage::Editing);

    // A bad time is named as it is typed; Enter then plans nothing.
    clear(&mut model);
    typed(&mut model, "yesterday");
    let screen = draw(&model, 120, 40);
    assert!(
        screen.contains("from: \"yesterday\" is not a time"),
        "{screen}"
    );
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert_eq!(stage(&model), Stage::Editing);

    // A good range, in the job's zone (Asia/Tokyo): Enter asks for the plan.
    clear(&mut model);
    typed(&mut model, "2026-03-01");
    press(&mut model, KeyCode::Tab);
    clear(&mut model);
    typed(&mut model, "2026-03-01T02:00");
    let effects = press(&mut model, KeyCode::Enter);
    let from = Utc.with_ymd_and_hms(2026, 2, 28, 15, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 2, 28, 17, 0, 0).unwrap();
    assert_eq!(
        effects,
        [Effect::PlanBackfill {
            job: "partner-feed".into(),
            from,
            to
        }]
    );
    assert_eq!(stage(&model), Stage::Planning);

    // The plan shows; Enter runs its slots.
    let slots = vec![from, from + chrono::Duration::hours(1), to];
    let plan = PlanSummary {
        to_run: slots.clone(),
        slots: 4,
        succeeded: 1,
        active: 0,
        skipped_by_rules: 2,
    };
    model.update(Msg::BackfillPlan(Ok(plan)));
    let screen = draw(&model, 120, 40);
    assert!(
        screen.contains("3 to run of 4 slot(s); 1 already succeeded"),
        "{screen}"
    );
    assert!(
        screen.contains("2 more slot(s) the job's calendar"),
        "{screen}"
    );
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::RunBackfill {
            job: "partner-feed".into(),
            slots
        }]
    );

    // Progress fills the bar; Esc hides it while it runs, B brings it back.
    model.update(ended(&model, 301, crate::store::RunStatus::Succeeded));
    model.update(ended(&model, 302, crate::store::RunStatus::Failed));
    let screen = draw(&model, 120, 40);
    assert!(screen.contains("2/3: 1 succeeded, 1 failed"), "{screen}");
    press(&mut model, KeyCode::Esc);
    assert!(model.popup.is_none());
    assert!(model.parked_backfill.is_some());
    model.update(ended(&model, 303, crate::store::RunStatus::Succeeded));
    press(&mut model, KeyCode::Char('B'));
    match stage(&model) {
        Stage::Running { counts, .. } => assert_eq!((counts.succeeded, counts.failed), (2, 1)),
        other => panic!("{other:?}"),
    }

    // c stops the rest; the end says so in the window and the footer.
    assert_eq!(
        press(&mut model, KeyCode::Char('c')),
        [Effect::StopBackfill]
    );
    model.update(Msg::BackfillEnded(None));
    assert!(matches!(stage(&model), Stage::Done { stopped: true, .. }));
    let screen = draw(&model, 120, 40);
    assert!(
        screen.contains("backfill of partner-feed stopped"),
        "{screen}"
    );
    press(&mut model, KeyCode::Enter);
    assert!(model.popup.is_none());
}

#[test]
fn a_plan_that_cannot_be_made_returns_to_the_range_saying_why() {
    let mut model = fixtures::model();
    select(&mut model, "partner-feed");
    press(&mut model, KeyCode::Char('B'));
    press(&mut model, KeyCode::Enter);
    assert_eq!(stage(&model), Stage::Planning);
    model.update(Msg::BackfillPlan(Err(
        "the range holds more than 10000 slots ([scheduler] max_backfill_slots)".into(),
    )));
    assert_eq!(stage(&model), Stage::Editing);
    let screen = draw(&model, 120, 40);
    assert!(screen.contains("max_backfill_slots"), "{screen}");
}
