//! The catch-up plans' window: it opens by itself when plans appear (on
//! start or later), shows per job how many slots and their span, and its
//! keys approve all, the newest N, only the newest, or decline.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw};
use crate::console::keymap::Mode;
use crate::console::model::{Effect, Model, Msg, Popup};
use crate::store::{CatchUpPlan, PlanDecision, PlanStatus, SlotSelection};

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// A pending plan of `job`: `count` hourly slots up to `last`.
fn plan(id: i64, job: &str, count: u64, last: DateTime<Utc>) -> CatchUpPlan {
    CatchUpPlan {
        id,
        job_id: id * 10,
        job_name: job.into(),
        first: last - Duration::hours(count as i64 - 1),
        last,
        count,
        created_at: fixtures::now(),
        instance_id: "ops-1:4242:0badf00d".into(),
        status: PlanStatus::Pending,
        decided_by: None,
        decided_at: None,
        approved: None,
    }
}

/// Pending plans of fixture jobs, (id, slots) each, ending at noon.
pub(super) fn pending(plans: &[(i64, u64)]) -> Vec<CatchUpPlan> {
    let noon = Utc
        .with_ymd_and_hms(2026, 3, 8, 12, 0, 0)
        .single()
        .expect("time");
    plans
        .iter()
        .map(|(id, count)| plan(*id, "partner-feed", *count, noon))
        .collect()
}

/// The fixture console after a read of the store that found `plans`.
fn with_plans(model: &mut Model, plans: Vec<CatchUpPlan>) {
    let mut snapshot = model.data.clone();
    snapshot.catchup = plans;
    model.update(Msg::Snapshot(Box::new(snapshot)));
}

fn two_plans() -> Vec<CatchUpPlan> {
    // London is on GMT on 8 March 2026: the window shows these times.
    let at = |h| {
        Utc.with_ymd_and_hms(2026, 3, 8, h, 0, 0)
            .single()
            .expect("time")
    };
    vec![
        plan(3, "daily-orders", 1, at(2)),
        plan(4, "revenue-by-country", 6, at(13)),
    ]
}

#[test]
fn plans_found_on_start_open_the_window() {
    let mut model = fixtures::model();
    assert!(model.popup.is_none());
    with_plans(&mut model, two_plans());
    assert_eq!(model.mode(), Mode::CatchUp);
    insta::assert_snapshot!("catchup_80x24", draw(&model, 80, 24));
    insta::assert_snapshot!("catchup_120x40", draw(&model, 120, 40));
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("daily-orders"), "{screen}");
    assert!(screen.contains("6 slots  08:00:00 to 13:00:00"), "{screen}");
    assert!(screen.contains("Enter runs its slot of plan 3"), "{screen}");
}

#[test]
fn enter_approves_the_newest_n_chosen_with_minus_and_plus() {
    let mut model = fixtures::model();
    with_plans(&mut model, two_plans());
    press(&mut model, KeyCode::Char('j'));
    for _ in 0..3 {
        press(&mut model, KeyCode::Char('-'));
    }
    press(&mut model, KeyCode::Char('+'));
    let screen = draw(&model, 80, 24);
    assert!(
        screen.contains("Enter runs the newest 4 of 6 slots of plan 4"),
        "{screen}"
    );
    let effects = press(&mut model, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::DecideCatchUp {
            plan: 4,
            decision: PlanDecision::Approve(SlotSelection::Range { first: 3, last: 6 }),
        }]
    );
    // Asked once: a second Enter while the store answers asks nothing.
    assert!(press(&mut model, KeyCode::Enter).is_empty());
    assert!(draw(&model, 80, 24).contains("deciding"));
    // The answer comes, the plan is gone from the store: the other stays.
    model.update(Msg::Done(Ok(
        "plan 4 (revenue-by-country): 4 of 6 slot(s) approved".into(),
    )));
    with_plans(&mut model, two_plans()[..1].to_vec());
    assert_eq!(model.mode(), Mode::CatchUp);
    // The last one decided: the window closes.
    with_plans(&mut model, Vec::new());
    assert!(model.popup.is_none());
}

#[test]
fn all_newest_only_and_decline_keys() {
    let cases = [
        ('a', PlanDecision::Approve(SlotSelection::All)),
        ('l', PlanDecision::Approve(SlotSelection::Latest)),
        ('d', PlanDecision::Decline),
    ];
    for (key, decision) in cases {
        let mut model = fixtures::model();
        with_plans(&mut model, two_plans());
        press(&mut model, KeyCode::Down);
        let effects = press(&mut model, KeyCode::Char(key));
        assert_eq!(
            effects,
            [Effect::DecideCatchUp { plan: 4, decision }],
            "key {key}"
        );
    }
    // Fewer than one is not a choice; more than all is all.
    let mut model = fixtures::model();
    with_plans(&mut model, two_plans());
    press(&mut model, KeyCode::Char('-'));
    press(&mut model, KeyCode::Char('+'));
    press(&mut model, KeyCode::Char('+'));
    assert_eq!(
        press(&mut model, KeyCode::Enter),
        [Effect::DecideCatchUp {
            plan: 3,
            decision: PlanDecision::Approve(SlotSelection::All),
        }]
    );
}

#[test]
fn later_closes_it_until_a_new_plan_appears_or_c_is_pressed() {
    let mut model = fixtures::model();
    with_plans(&mut model, two_plans());
    assert!(press(&mut model, KeyCode::Esc).is_empty());
    assert!(model.popup.is_none());
    // The same plans read again: not asked again.
    with_plans(&mut model, two_plans());
    assert!(model.popup.is_none());
    assert_eq!(model.mode(), Mode::Dashboard);
    // `C` shows them.
    press(&mut model, KeyCode::Char('C'));
    assert!(matches!(model.popup, Some(Popup::CatchUp(_))));
    press(&mut model, KeyCode::Char('q'));
    assert!(
        model.popup.is_none(),
        "q closes the window, not the console"
    );
    assert!(!model.quitting);
    // A new plan, noticed while the console runs: it opens on that one.
    let mut plans = two_plans();
    let newest = Utc
        .with_ymd_and_hms(2026, 3, 8, 14, 0, 0)
        .single()
        .expect("time");
    plans.push(plan(5, "partner-feed", 2, newest));
    with_plans(&mut model, plans);
    match &model.popup {
        Some(Popup::CatchUp(view)) => assert_eq!(view.selected, 2),
        _ => panic!("the window did not open for the new plan"),
    }
}

#[test]
fn c_with_nothing_pending_says_so() {
    let mut model = fixtures::model();
    press(&mut model, KeyCode::Char('C'));
    assert!(model.popup.is_none());
    let status = model
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        status.contains("no catch-up plans await approval"),
        "{status}"
    );
}
