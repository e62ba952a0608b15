//! The checks part of the form: edited with keys, judged live with the same
//! rules and error texts as a config file, saved into the job.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::job::{ChecksSpec, Known, OnCheckFail, Written};

fn known() -> Known {
    let c = ctx();
    Known {
        default_timezone: Some(chrono_tz::Europe::Berlin),
        connections: c.connections.into_iter().collect(),
        destinations: c.destinations.into_iter().chain(c.notifiers).collect(),
        calendars: c.calendars,
        ..Known::default()
    }
}

fn saved(form: &mut JobForm) -> JobSpec {
    match ctrl(form, 's') {
        FormOutcome::Save(spec) => spec,
        other => panic!("not saved ({other:?}): {:?}", form.problems()),
    }
}

fn checked_spec() -> JobSpec {
    JobSpec {
        checks: Some(ChecksSpec {
            not_empty: Some(true),
            min_rows: Some(10),
            max_change: Some(Written::Text("50%".into())),
            schema: Some("stable".into()),
            ..ChecksSpec::default()
        }),
        on_check_fail: Some(OnCheckFail::Skip),
        hold_for: Some(HumanDuration(Duration::from_secs(7200))),
        ..full_spec()
    }
}

#[test]
fn checks_are_typed_picked_and_saved() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Field(Field::NotEmpty));
    press(&mut form, KeyCode::Right);
    retype(&mut form, Field::CheckMinRows, "100");
    retype(&mut form, Field::CheckMaxRows, "1000000");
    retype(&mut form, Field::MaxChange, "25%");
    go_to(&mut form, Row::Field(Field::SchemaCheck));
    press(&mut form, KeyCode::Right);
    go_to(&mut form, Row::Field(Field::OnCheckFail));
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Right);
    retype(&mut form, Field::HoldFor, "6h");
    let spec = saved(&mut form);
    assert_eq!(
        spec.checks,
        Some(ChecksSpec {
            not_empty: Some(true),
            min_rows: Some(100),
            max_rows: Some(1_000_000),
            max_change: Some(Written::Text("25%".into())),
            schema: Some("stable".into()),
            ..ChecksSpec::default()
        })
    );
    assert_eq!(spec.on_check_fail, Some(OnCheckFail::Fail));
    assert_eq!(
        spec.hold_for,
        Some(HumanDuration(Duration::from_secs(6 * 3600)))
    );
    let job = spec.validate(&known()).expect("valid");
    let checks = job.policy.checks.expect("checks");
    assert_eq!(checks.max_change, Some(2500));
}

#[test]
fn a_jobs_checks_come_back_as_they_were() {
    let mut form = JobForm::edit(&checked_spec(), ctx());
    assert_eq!(saved(&mut form), checked_spec());
    // Every check off again: no `checks` key at all.
    go_to(&mut form, Row::Field(Field::NotEmpty));
    press(&mut form, KeyCode::Left);
    retype(&mut form, Field::CheckMinRows, "");
    retype(&mut form, Field::MaxChange, "");
    go_to(&mut form, Row::Field(Field::SchemaCheck));
    press(&mut form, KeyCode::Left);
    let spec = saved(&mut form);
    assert_eq!(spec.checks, None);
}

#[test]
fn bad_checks_show_the_config_files_error_texts_as_typed() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    retype(&mut form, Field::MaxChange, "half");
    assert_eq!(
        messages(&form, Field::MaxChange),
        [
            "checks.max_change: \"half\" is not a percentage: write a number and a percent sign, like \"50%\""
        ]
    );
    retype(&mut form, Field::MaxChange, "50%");
    assert!(messages(&form, Field::MaxChange).is_empty());
    retype(&mut form, Field::CheckMinRows, "10");
    retype(&mut form, Field::CheckMaxRows, "5");
    assert_eq!(
        messages(&form, Field::CheckMinRows),
        ["checks.min_rows: 10 is above checks.max_rows (5): no output could pass"]
    );
    retype(&mut form, Field::CheckMaxRows, "five");
    assert_eq!(
        messages(&form, Field::CheckMaxRows),
        ["checks.max_rows: \"five\" is not a whole number of rows"]
    );
    retype(&mut form, Field::CheckMaxRows, "");
    retype(&mut form, Field::HoldFor, "10s");
    assert_eq!(
        messages(&form, Field::HoldFor),
        ["hold_for: must be at least 1m"]
    );
    retype(&mut form, Field::HoldFor, "soon");
    assert_eq!(messages(&form, Field::HoldFor).len(), 1);
    assert!(
        messages(&form, Field::HoldFor)[0].starts_with("hold_for: \"soon\" is not a duration"),
        "{:?}",
        form.problems()
    );
    assert!(!matches!(ctrl(&mut form, 's'), FormOutcome::Save(_)));
}

#[test]
fn an_unknown_on_check_fail_word_stays_and_is_named() {
    let spec = JobSpec {
        checks: Some(ChecksSpec {
            not_empty: Some(true),
            ..ChecksSpec::default()
        }),
        on_check_fail: Some(OnCheckFail::Unknown("retry".into())),
        ..full_spec()
    };
    let mut form = JobForm::edit(&spec, ctx());
    assert_eq!(
        messages(&form, Field::OnCheckFail),
        ["on_check_fail: \"retry\" is not a check outcome: use \"hold\", \"skip\" or \"fail\""]
    );
    go_to(&mut form, Row::Field(Field::OnCheckFail));
    press(&mut form, KeyCode::Right);
    assert!(messages(&form, Field::OnCheckFail).is_empty());
}

#[test]
fn checks_80x24() {
    let mut form = JobForm::edit(&checked_spec(), ctx()).with_color(false);
    retype(&mut form, Field::MaxChange, "lots");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| form.render(frame, frame.area(), now()))
        .unwrap();
    insta::assert_snapshot!(terminal.backend().to_string());
}

#[test]
fn checks_120x40() {
    let mut form = JobForm::edit(&checked_spec(), ctx()).with_color(false);
    retype(&mut form, Field::CheckMaxRows, "5");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|frame| form.render(frame, frame.area(), now()))
        .unwrap();
    insta::assert_snapshot!(terminal.backend().to_string());
}
