//! Keys in, effects out: every binding of the keymap, pressed in every
//! mode it applies to, does what its action says.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures;
use crate::console::keymap::{Action, BINDINGS, Key, Mode};
use crate::console::model::{
    CatchUpView, Effect, LogScope, Model, Msg, Panel, Popup, PromptKind, Question, Screen,
};
use crate::control::Request;
use crate::events::Level;
use crate::store::{PlanDecision, SlotSelection};

fn event(key: &Key) -> KeyEvent {
    KeyEvent::new(key.code, key.mods)
}

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(model: &mut Model, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| press(model, KeyCode::Char(c)))
        .collect()
}

/// Select `name` in the jobs panel.
fn select(model: &mut Model, name: &str) {
    let index = model
        .visible_jobs
        .iter()
        .position(|&i| model.data.jobs[i].name == name)
        .unwrap();
    model.jobs.selected = index;
}

/// The fixture in `mode`, with partner-feed (last run 117 failed) selected,
/// or revenue-by-country (run 120 running) for cancelling.
fn model_in(mode: Mode, action: Action) -> Model {
    let mut model = fixtures::model();
    let job = if action == Action::Cancel {
        "revenue-by-country"
    } else {
        "partner-feed"
    };
    select(&mut model, job);
    match mode {
        Mode::Dashboard => {}
        Mode::Details => {
            let details = fixtures::job_details(&model, job);
            model.screen = Screen::Job {
                name: job.into(),
                details: Some(Box::new(details)),
                scroll: 3,
            };
        }
        Mode::Help => model.popup = Some(Popup::Help { scroll: 3 }),
        Mode::Confirm => {
            model.popup = Some(Popup::Confirm(Question::Delete("partner-feed".into())));
        }
        Mode::CatchUp => {
            model.data.catchup = super::catchup::pending(&[(4, 6), (3, 1)]);
            model.popup = Some(Popup::CatchUp(CatchUpView::default()));
        }
    }
    assert_eq!(model.mode(), mode);
    model
}

fn control(request: Request) -> Vec<Effect> {
    vec![Effect::Control(request)]
}

/// What `action` must have done to `model` (pressed in `mode`) and which
/// effects it must have returned. Exhaustive: a new action fails to
/// compile here until it has a check.
fn check(mode: Mode, action: Action, model: &Model, effects: &[Effect]) {
    let job = |name: &str| name.to_string();
    let catchup = || match &model.popup {
        Some(Popup::CatchUp(view)) => view.clone(),
        _ => panic!("{mode:?}: the catch-up window is not open"),
    };
    let decide = |decision| vec![Effect::DecideCatchUp { plan: 4, decision }];
    let scroll = || match (&model.screen, &model.popup) {
        (_, Some(Popup::Help { scroll })) => *scroll,
        (Screen::Job { scroll, .. }, _) => *scroll,
        _ => panic!("{mode:?}: nothing scrolls"),
    };
    match (mode, action) {
        (_, Action::Quit) => {
            assert_eq!(effects, [Effect::Quit]);
            assert!(model.quitting);
        }
        (_, Action::Help) => assert!(matches!(model.popup, Some(Popup::Help { scroll: 0 }))),
        (_, Action::NextPanel) => assert_eq!(model.focus, Panel::Upcoming),
        (_, Action::PrevPanel) => assert_eq!(model.focus, Panel::Errors),
        (Mode::Dashboard, Action::Up) => assert_eq!(model.jobs.selected, 1),
        (Mode::Dashboard, Action::Down) => assert_eq!(model.jobs.selected, 3),
        (Mode::Dashboard, Action::PageUp | Action::Top) => assert_eq!(model.jobs.selected, 0),
        (Mode::Dashboard, Action::PageDown | Action::Bottom) => {
            assert_eq!(model.jobs.selected, 5)
        }
        (Mode::CatchUp, Action::Up) => assert_eq!(catchup().selected, 0),
        (Mode::CatchUp, Action::Down) => assert_eq!(catchup().selected, 1),
        (_, Action::Up) => assert_eq!(scroll(), 2),
        (_, Action::Down) => assert_eq!(scroll(), 4),
        (_, Action::PageUp | Action::Top) => assert_eq!(scroll(), 0),
        (_, Action::PageDown) => assert_eq!(scroll(), 13),
        (_, Action::Bottom) => assert!(scroll() > 1_000),
        (_, Action::Details) => {
            assert_eq!(effects, [Effect::LoadJob(job("partner-feed"))]);
            assert!(matches!(&model.screen, Screen::Job { name, .. } if name == "partner-feed"));
        }
        (Mode::Dashboard, Action::Back) => assert!(model.jobs.filter.is_empty()),
        (Mode::Details, Action::Back) => assert!(matches!(model.screen, Screen::Dashboard)),
        (_, Action::Back) => assert!(model.popup.is_none()),
        (_, Action::New) => {
            assert!(matches!(
                model.popup,
                Some(Popup::Form { original: None, .. })
            ))
        }
        (_, Action::Edit) => assert!(matches!(
            &model.popup,
            Some(Popup::Form { original: Some((name, 3)), .. }) if name == "partner-feed"
        )),
        (_, Action::Delete) => assert!(matches!(
            &model.popup,
            Some(Popup::Confirm(Question::Delete(name))) if name == "partner-feed"
        )),
        (_, Action::TogglePause) => {
            assert_eq!(effects, control(Request::Pause(job("partner-feed"))))
        }
        (_, Action::TogglePauseAll) => assert_eq!(effects, control(Request::PauseAll)),
        (_, Action::TestRun) => assert_eq!(effects, control(Request::RunNow(job("partner-feed")))),
        (_, Action::DryRun) => {
            assert_eq!(effects, [Effect::DryRun(job("partner-feed"))]);
            assert!(matches!(model.popup, Some(Popup::DryRun(_))));
        }
        (_, Action::Backfill) => {
            assert!(effects.is_empty());
            assert!(
                matches!(&model.popup, Some(Popup::Backfill(view)) if view.job == "partner-feed")
            );
        }
        (_, Action::Retry) => assert_eq!(effects, control(Request::Retry(117))),
        // In a job view: the job's last run (friction.rs has the run view).
        (_, Action::Redeliver) => {
            assert!(effects.is_empty());
            assert!(matches!(
                model.popup,
                Some(Popup::Confirm(Question::Redeliver(117)))
            ));
        }
        (_, Action::Cancel) => assert_eq!(effects, control(Request::Cancel(120))),
        // partner-feed's last run (117) failed: not held, so refused, and
        // the footer says why (held.rs has a held run).
        (_, Action::Release | Action::Discard) => {
            assert!(effects.is_empty());
            assert!(model.popup.is_none());
            assert!(model.status.as_ref().is_some_and(|s| s.error
                && s.text
                    == "run 117 is failed: only a held run (a check failed) is released or discarded"));
        }
        (_, Action::Filter) => assert_eq!(
            model.prompt.as_ref().map(|p| p.kind),
            Some(PromptKind::Filter(Panel::Jobs))
        ),
        (_, Action::CommandLine) => {
            assert_eq!(
                model.prompt.as_ref().map(|p| p.kind),
                Some(PromptKind::Command)
            )
        }
        (_, Action::ToggleFollow) => assert!(!model.log.follow),
        (_, Action::ToggleHistoryScope) => {
            assert!(!model.history_all);
            assert_eq!(
                effects,
                [Effect::Refresh {
                    history_job: Some(job("partner-feed"))
                }]
            );
        }
        (_, Action::CycleLogLevel) => assert_eq!(model.log.filter.min_level, Level::Warn),
        (_, Action::ShowLog) => {
            assert_eq!(
                effects,
                [Effect::LoadLog(LogScope::Job(job("partner-feed")))]
            )
        }
        (_, Action::Yes) => {
            assert_eq!(effects, control(Request::Delete(job("partner-feed"))));
            assert!(model.popup.is_none());
        }
        (_, Action::No) => {
            assert!(effects.is_empty());
            assert!(model.popup.is_none());
        }
        (_, Action::CatchUpPlans) => {
            // The fixture has no plans pending.
            assert!(model.popup.is_none());
            assert!(
                model
                    .status
                    .as_ref()
                    .is_some_and(|s| s.text.contains("no catch-up plans"))
            );
        }
        (_, Action::ApproveChosen | Action::ApproveAll) => {
            assert_eq!(effects, decide(PlanDecision::Approve(SlotSelection::All)))
        }
        (_, Action::ApproveLatest) => {
            assert_eq!(
                effects,
                decide(PlanDecision::Approve(SlotSelection::Latest))
            )
        }
        (_, Action::DeclinePlan) => assert_eq!(effects, decide(PlanDecision::Decline)),
        (_, Action::FewerSlots) => assert_eq!(catchup().newest, Some(5)),
        (_, Action::MoreSlots) => assert_eq!(catchup().newest, None),
    }
}

#[test]
fn every_binding_does_what_its_action_says() {
    let mut checked = 0;
    for binding in BINDINGS {
        for &mode in binding.modes {
            for key in binding.keys {
                let mut model = model_in(mode, binding.action);
                if binding.action == Action::Back && mode == Mode::Dashboard {
                    model.jobs.filter = "x".into();
                }
                let effects = model.update(Msg::Key(event(key)));
                check(mode, binding.action, &model, &effects);
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} bindings checked");
}

#[test]
fn pause_resumes_a_paused_job() {
    let mut model = fixtures::model();
    select(&mut model, "inventory-sync");
    let effects = press(&mut model, KeyCode::Char('p'));
    assert_eq!(effects, control(Request::Resume("inventory-sync".into())));
}

#[test]
fn actions_on_the_history_panel_apply_to_the_selected_run() {
    let mut model = fixtures::model();
    model.update(Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    model.update(Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    assert_eq!(model.focus, Panel::History);
    // Newest first: 120 running, 119 ok, 118 ok, 117 failed.
    assert_eq!(
        press(&mut model, KeyCode::Char('c')),
        control(Request::Cancel(120))
    );
    assert!(press(&mut model, KeyCode::Char('r')).is_empty());
    assert!(model.status.as_ref().unwrap().error);
    type_text(&mut model, "jjj");
    assert_eq!(model.selected_run().unwrap().id, 117);
    assert_eq!(
        press(&mut model, KeyCode::Char('r')),
        control(Request::Retry(117))
    );
    assert_eq!(press(&mut model, KeyCode::Enter), [Effect::LoadRun(117)]);
    assert!(matches!(model.screen, Screen::Run { id: 117, .. }));
}

#[test]
fn the_command_line_sends_what_it_names() {
    let mut model = fixtures::model();
    let mut run = |line: &str| {
        type_text(&mut model, &format!(":{line}"));
        press(&mut model, KeyCode::Enter)
    };
    assert_eq!(
        run("pause stock-levels"),
        control(Request::Pause("stock-levels".into()))
    );
    assert_eq!(
        run("run daily-orders"),
        control(Request::RunNow("daily-orders".into()))
    );
    assert_eq!(run("retry 117"), control(Request::Retry(117)));
    assert_eq!(run("resume-all"), control(Request::ResumeAll));
    assert!(run("pause no-such-job").is_empty());
    assert_eq!(
        model.status.as_ref().map(|s| s.text.as_str()),
        Some("no job named \"no-such-job\"")
    );
    let mut run = |line: &str| {
        type_text(&mut model, &format!(":{line}"));
        press(&mut model, KeyCode::Enter)
    };
    assert_eq!(
        run("history stock-levels"),
        [Effect::Refresh {
            history_job: Some("stock-levels".into())
        }]
    );
    assert_eq!(model.focus, Panel::History);
}

#[test]
fn the_filter_applies_as_it_is_typed_and_esc_clears_it() {
    let mut model = fixtures::model();
    type_text(&mut model, "/stock");
    assert_eq!(model.visible_jobs.len(), 1);
    press(&mut model, KeyCode::Esc);
    assert_eq!(model.visible_jobs.len(), 6);
    type_text(&mut model, "/failed");
    press(&mut model, KeyCode::Enter);
    assert_eq!(model.selected_job().unwrap().name, "partner-feed");
    assert!(model.prompt.is_none());
}

#[test]
fn history_of_the_selected_job_follows_the_selection() {
    let mut model = fixtures::model();
    press(&mut model, KeyCode::Char('a'));
    let effects = press(&mut model, KeyCode::Char('j'));
    assert_eq!(
        effects,
        [Effect::Refresh {
            history_job: Some("inventory-sync".into())
        }]
    );
}

#[test]
fn a_failed_save_keeps_the_form_and_says_why() {
    let mut model = fixtures::model();
    press(&mut model, KeyCode::Char('n'));
    if let Some(Popup::Form { saving, .. }) = &mut model.popup {
        *saving = true;
    }
    model.update(Msg::Saved(Err("a job named 'x' already exists".into())));
    assert!(matches!(
        model.popup,
        Some(Popup::Form { saving: false, .. })
    ));
    assert!(model.status.as_ref().unwrap().error);
    model.update(Msg::Saved(Ok("x created".into())));
    assert!(model.popup.is_none());
}

#[test]
fn scheduler_events_refresh_and_reload_the_open_view() {
    let mut model = fixtures::model();
    model.screen = Screen::Run {
        id: 120,
        details: None,
        scroll: 0,
    };
    let effects = model.update(Msg::Event(crate::events::Event::RunFinished {
        run_id: 120,
        job: "revenue-by-country".into(),
        status: crate::store::RunStatus::Succeeded,
        at: fixtures::now(),
        rows: Some(1),
        bytes: Some(1),
        outputs: Vec::new(),
        error: None,
    }));
    assert_eq!(
        effects,
        [Effect::Refresh { history_job: None }, Effect::LoadRun(120)]
    );
}

#[test]
fn the_log_stops_following_when_scrolled_and_follows_again_at_the_bottom() {
    let mut model = fixtures::model();
    model.focus = Panel::Log;
    press(&mut model, KeyCode::Char('k'));
    assert!(!model.log.follow);
    assert_eq!(model.log.bottom, Some(8));
    press(&mut model, KeyCode::Char('j'));
    assert!(model.log.follow);
    press(&mut model, KeyCode::Char('f'));
    assert!(!model.log.follow);
    press(&mut model, KeyCode::Char('f'));
    assert!(model.log.follow);
}
