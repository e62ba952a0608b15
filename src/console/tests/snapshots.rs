//! Every panel, the help, the views and the popups, at 80x24 (the smallest
//! supported) and 120x40. To accept a changed screen after looking at it:
//! `INSTA_UPDATE=always cargo test console` and review the diff.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw};
use crate::console::model::{DryRunView, Model, Msg, Popup, Screen, Snapshot};
use crate::export::Preview;

fn press(model: &mut Model, code: KeyCode) {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn chars(model: &mut Model, text: &str) {
    for c in text.chars() {
        press(model, KeyCode::Char(c));
    }
}

fn both(name: &str, model: &Model) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(model, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), draw(model, 120, 40));
}

fn small(name: &str, model: &Model) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(model, 80, 24));
}

#[test]
fn dashboard() {
    both("dashboard", &fixtures::model());
}

#[test]
fn each_panel_at_80x24() {
    let mut model = fixtures::model();
    for name in ["upcoming", "history", "log", "errors"] {
        press(&mut model, KeyCode::Tab);
        small(&format!("panel_{name}"), &model);
    }
}

#[test]
fn help() {
    let mut model = fixtures::model();
    press(&mut model, KeyCode::Char('?'));
    both("help", &model);
}

#[test]
fn job_view() {
    let mut model = fixtures::model();
    let details = fixtures::job_details(&model, "revenue-by-country");
    model.screen = Screen::Job {
        name: "revenue-by-country".into(),
        details: Some(Box::new(details)),
        scroll: 0,
    };
    both("job_view", &model);
}

#[test]
fn run_view() {
    let mut model = fixtures::model();
    model.screen = Screen::Run {
        id: 117,
        details: Some(Box::new(fixtures::run_details())),
        scroll: 0,
    };
    both("run_view", &model);
}

#[test]
fn attached_header() {
    both("attached", &fixtures::attached());
}

#[test]
fn delete_asks_first() {
    let mut model = fixtures::model();
    press(&mut model, KeyCode::Char('d'));
    small("confirm_delete", &model);
}

#[test]
fn dry_run_result() {
    let mut model = fixtures::model();
    model.popup = Some(Popup::DryRun(DryRunView {
        job: "daily-orders".into(),
        result: Some(Ok(Preview {
            columns: ["id", "created_at", "customer", "country", "amount"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                ["1", "2026-03-07 08:12:00", "Ada", "GB", "12.50"]
                    .map(|v| Some(v.to_string()))
                    .to_vec(),
                vec![
                    Some("2".into()),
                    Some("2026-03-07 09:40:00".into()),
                    Some("Grace".into()),
                    None,
                    Some("99.00".into()),
                ],
            ],
            rows_rendered: 2,
            bytes: 118,
            complete: false,
            extension: "csv".into(),
        })),
    }));
    small("dry_run", &model);
}

#[test]
fn filter_prompt_filters_as_typed() {
    let mut model = fixtures::model();
    chars(&mut model, "/re");
    small("filter_jobs", &model);
}

#[test]
fn failed_filter_from_the_command_line() {
    let mut model = fixtures::model();
    press(&mut model, KeyCode::Tab);
    press(&mut model, KeyCode::Tab);
    chars(&mut model, ":filter failed");
    press(&mut model, KeyCode::Enter);
    small("history_failed", &model);
}

#[test]
fn log_scrolled_back() {
    let mut model = fixtures::model();
    for _ in 0..3 {
        press(&mut model, KeyCode::Tab);
    }
    chars(&mut model, "kk");
    small("log_scrolled", &model);
}

#[test]
fn empty_store() {
    let mut model = Model::new(
        fixtures::now(),
        chrono_tz::UTC,
        "sqlite:///tmp/new.db".into(),
        crate::console::model::Engine::Starting,
        Default::default(),
    );
    model.update(Msg::Snapshot(Box::new(Snapshot {
        counted: true,
        ..Snapshot::default()
    })));
    small("empty", &model);
}

#[test]
fn first_look_before_the_counters() {
    let mut model = fixtures::model();
    let mut snapshot = model.data.clone();
    snapshot.counted = false;
    snapshot.failures_by_day.clear();
    for job in &mut snapshot.jobs {
        job.stats = None;
    }
    model.update(Msg::Snapshot(Box::new(snapshot)));
    small("first_look", &model);
}

#[test]
fn tiny_and_odd_sizes_draw_without_panicking() {
    let mut model = fixtures::model();
    for (w, h) in [(1, 1), (10, 5), (40, 10), (79, 23), (200, 60)] {
        for _ in 0..5 {
            draw(&model, w, h);
            press(&mut model, KeyCode::Tab);
        }
        press(&mut model, KeyCode::Char('?'));
        draw(&model, w, h);
        press(&mut model, KeyCode::Esc);
        press(&mut model, KeyCode::Enter);
        draw(&model, w, h);
        press(&mut model, KeyCode::Esc);
    }
}

/// `:audit` asks for the trail and shows what comes back, newest first: a
/// refused request reads as such, and Esc closes the window.
#[test]
fn audit_trail() {
    use crate::console::model::{AuditView, Effect};
    use crate::store::{AuditAction, AuditEntry, NewAuditEntry, Way};
    let mut model = fixtures::model();
    chars(&mut model, ":audit");
    let effects = model.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert_eq!(effects, [Effect::LoadAudit(None)]);
    let entry =
        |id, minutes_ago, action, job: Option<&str>, run_id, outcome: &str, way| AuditEntry {
            id,
            entry: NewAuditEntry {
                at: fixtures::now() - chrono::Duration::minutes(minutes_ago),
                actor_user: "alice".into(),
                actor_host: "laptop".into(),
                way,
                instance: "srv1:4242".into(),
                action,
                job: job.map(String::from),
                run_id,
                outcome: outcome.into(),
                before: None,
                after: None,
            },
        };
    let entries = vec![
        entry(
            4,
            2,
            AuditAction::Cancel,
            Some("daily-orders"),
            Some(117),
            "not done: run 117 is not running",
            Way::Cli,
        ),
        entry(
            3,
            5,
            AuditAction::Pause,
            Some("partner-feed"),
            None,
            "pause partner-feed done by srv1:4242",
            Way::Console,
        ),
        entry(
            2,
            60,
            AuditAction::RunNow,
            Some("daily-orders"),
            Some(116),
            "done",
            Way::Console,
        ),
        entry(
            1,
            1440,
            AuditAction::Create,
            Some("daily-orders"),
            None,
            "created",
            Way::Config,
        ),
    ];
    model.update(Msg::Audit(Ok(entries)));
    assert!(matches!(
        &model.popup,
        Some(Popup::Audit(AuditView { entries: Some(Ok(e)), .. })) if e.len() == 4
    ));
    both("audit", &model);
    press(&mut model, KeyCode::Esc);
    assert!(model.popup.is_none(), "Esc closes the audit window");
}
