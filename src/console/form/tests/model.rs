//! The form driven by keys: live validation, completion, save and cancel.

use super::*;
use crate::console::form::SchedulePreview;
use crate::job::Known;

fn known() -> Known {
    let c = ctx();
    Known {
        default_timezone: Some(chrono_tz::Europe::Berlin),
        connections: c.connections.into_iter().collect(),
        destinations: c.destinations.into_iter().collect(),
        ..Known::default()
    }
}

#[test]
fn a_valid_schedule_shows_its_description_and_five_fires_as_it_is_typed() {
    let mut form = JobForm::new(ctx());
    go_to(&mut form, Row::Field(Field::Schedule));
    type_text(&mut form, "daily at 0");
    assert!(matches!(
        form.schedule_preview(now()),
        SchedulePreview::Invalid { .. }
    ));
    type_text(&mut form, "2:00");
    assert_eq!(messages(&form, Field::Schedule), Vec::<String>::new());
    let SchedulePreview::Valid {
        description,
        cron,
        zone,
        fires,
    } = form.schedule_preview(now())
    else {
        panic!("expected a valid preview");
    };
    assert_eq!(description, "At 02:00 every day");
    assert_eq!(cron, "0 2 * * *");
    assert_eq!(zone, "Europe/Berlin");
    assert_eq!(fires.len(), 5);
    let utc = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
    assert_eq!(fires[0], (utc(28, 1), "Sat 2026-03-28 02:00 CET".into()));
    // 02:00 does not exist on the spring-forward day: it runs at 03:00.
    assert_eq!(fires[1], (utc(29, 1), "Sun 2026-03-29 03:00 CEST".into()));
    assert_eq!(fires[2], (utc(30, 0), "Mon 2026-03-30 02:00 CEST".into()));
}

#[test]
fn an_invalid_schedule_names_the_field_and_the_position() {
    let mut form = JobForm::new(ctx());
    retype(&mut form, Field::Schedule, "0 25 * * *");
    let problems: Vec<_> = form.problems_of(Field::Schedule).collect();
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        "schedule: cron field 2 (hour): 25 is out of range 0-23 (at column 3)"
    );
    assert_eq!(problems[0].span, Some(2..4));
    assert_eq!(
        form.schedule_preview(now()),
        SchedulePreview::Invalid {
            message: problems[0].message.clone(),
            span: Some(2..4)
        }
    );
    assert!(form.valid_spec().is_none());

    retype(&mut form, Field::Schedule, "weekly on mon at 2pm");
    let message = &messages(&form, Field::Schedule)[0];
    assert!(message.starts_with("schedule: preset"), "{message}");
    assert!(message.ends_with("(at column 18)"), "{message}");
}

#[test]
fn a_schedule_that_can_never_fire_is_refused() {
    let mut form = JobForm::new(ctx());
    retype(&mut form, Field::Schedule, "0 0 30 2 *");
    assert_eq!(
        messages(&form, Field::Schedule),
        vec!["schedule: this schedule never fires (no date matches it)"]
    );
}

#[test]
fn a_bad_zone_is_named_with_suggestions_and_completion_fixes_it() {
    let mut form = JobForm::new(ctx());
    retype(&mut form, Field::Schedule, "every 5m");
    retype(&mut form, Field::Timezone, "Europe/Berln");
    assert_eq!(
        messages(&form, Field::Timezone),
        vec!["timezone: unknown time zone \"Europe/Berln\"; did you mean \"Europe/Berlin\"?"]
    );
    // The schedule itself is fine; only its fires wait for a zone.
    assert_eq!(messages(&form, Field::Schedule), Vec::<String>::new());
    assert_eq!(
        form.schedule_preview(now()),
        SchedulePreview::NeedsZone {
            description: "Every 5 minutes".into()
        }
    );

    ctrl(&mut form, 'u');
    type_text(&mut form, "new y");
    assert_eq!(form.zone_completions()[0], "America/New_York");
    press(&mut form, KeyCode::Tab);
    assert_eq!(form.values.timezone.value(), "America/New_York");
    assert_eq!(form.focus(), Row::Field(Field::Timezone));
    assert!(form.zone_completions().is_empty());
    assert_eq!(messages(&form, Field::Timezone), Vec::<String>::new());

    // ↓ picks the second candidate, → at the end of the text accepts it.
    ctrl(&mut form, 'u');
    type_text(&mut form, "Europe/Be");
    let offered = form.zone_completions();
    assert!(offered.len() > 1);
    press(&mut form, KeyCode::Down);
    press(&mut form, KeyCode::Right);
    assert_eq!(form.values.timezone.value(), offered[1]);
}

#[test]
fn bad_durations_and_retries_name_their_field() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    assert!(form.problems().is_empty(), "{:?}", form.problems());
    retype(&mut form, Field::Timeout, "10 minutes");
    assert_eq!(
        messages(&form, Field::Timeout),
        vec![
            "timeout: \"10 minutes\" is not a duration; write a number and a unit: ms, s, m, h or d (e.g. \"10m\")"
        ]
    );
    retype(&mut form, Field::Timeout, "0s");
    assert_eq!(
        messages(&form, Field::Timeout),
        vec!["timeout: must be at least 1s"]
    );
    retype(&mut form, Field::Timeout, "");
    assert_eq!(messages(&form, Field::Timeout), Vec::<String>::new());
    retype(&mut form, Field::CatchUpWindow, "2 weeks");
    assert_eq!(messages(&form, Field::CatchUpWindow).len(), 1);
    assert!(messages(&form, Field::CatchUpWindow)[0].starts_with("catch_up_window: "));
    retype(&mut form, Field::Retries, "-1");
    assert_eq!(
        messages(&form, Field::Retries),
        vec!["retries: \"-1\" is not a whole number (0 or more)"]
    );
    assert!(form.valid_spec().is_none());
}

#[test]
fn a_name_may_not_clash_with_another_job() {
    let mut form = JobForm::new(ctx());
    type_text(&mut form, "daily-sales");
    assert_eq!(
        messages(&form, Field::Name),
        vec!["name: a job named \"daily-sales\" already exists"]
    );
    retype(&mut form, Field::Name, "Daily Sales");
    assert!(messages(&form, Field::Name)[0].contains("not a valid name"));

    // Editing a job may keep its own name, but not take another's.
    let mut edit = JobForm::edit(&full_spec(), ctx());
    assert_eq!(messages(&edit, Field::Name), Vec::<String>::new());
    retype(&mut edit, Field::Name, "hourly-stock");
    assert_eq!(
        messages(&edit, Field::Name),
        vec!["name: a job named \"hourly-stock\" already exists"]
    );
    retype(&mut edit, Field::Name, "daily-sales-eu");
    assert!(edit.problems().is_empty());
}

#[test]
fn esc_cancels_and_leaves_the_spec_untouched() {
    let spec = full_spec();
    let before = spec.clone();
    let mut form = JobForm::edit(&spec, ctx());
    retype(&mut form, Field::Name, "renamed");
    retype(&mut form, Field::Schedule, "every 5m");
    go_to(&mut form, Row::Destination(0));
    press(&mut form, KeyCode::Char(' '));
    // Changed: Esc asks first, and y discards.
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Continue);
    assert!(form.is_confirming_discard());
    assert_eq!(press(&mut form, KeyCode::Char('y')), FormOutcome::Cancel);
    assert_eq!(spec, before);
}

#[test]
fn esc_on_an_unchanged_form_closes_at_once() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    // Moving around changes nothing.
    go_to(&mut form, Row::Save);
    assert!(!form.is_changed());
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Cancel);
    let mut blank = JobForm::new(ctx());
    assert_eq!(press(&mut blank, KeyCode::Esc), FormOutcome::Cancel);
}

#[test]
fn esc_on_a_changed_form_asks_and_n_or_esc_keeps_editing() {
    let spec = full_spec();
    let mut form = JobForm::edit(&spec, ctx());
    retype(&mut form, Field::Retries, "7");
    assert!(form.is_changed());
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Continue);
    assert!(form.is_confirming_discard());
    // A stray key neither answers nor edits.
    assert_eq!(press(&mut form, KeyCode::Char('x')), FormOutcome::Continue);
    assert!(form.is_confirming_discard());
    assert_eq!(form.values.retries.value(), "7");
    assert_eq!(press(&mut form, KeyCode::Char('n')), FormOutcome::Continue);
    assert!(!form.is_confirming_discard());
    // Still editing, the change still there: typing goes on where it was.
    type_text(&mut form, "0");
    assert_eq!(form.values.retries.value(), "70");
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Continue);
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Continue);
    assert!(!form.is_confirming_discard());
    let FormOutcome::Save(saved) = ctrl(&mut form, 's') else {
        panic!("not saved: {:?}", form.problems());
    };
    assert_eq!(saved.retries, Some(70));
}

#[test]
fn editing_and_saving_unchanged_gives_back_an_equal_spec() {
    for spec in [full_spec(), command_spec()] {
        let mut form = JobForm::edit(&spec, ctx());
        assert!(form.problems().is_empty(), "{:?}", form.problems());
        go_to(&mut form, Row::Field(Field::CatchUp));
        assert_eq!(ctrl(&mut form, 's'), FormOutcome::Save(spec.clone()));
        go_to(&mut form, Row::Save);
        assert_eq!(press(&mut form, KeyCode::Enter), FormOutcome::Save(spec));
    }
}

#[test]
fn a_new_job_typed_field_by_field_is_saved_and_valid() {
    let mut form = JobForm::new(ctx());
    // Nothing typed yet: Save is refused and the focus goes to the first problem.
    go_to(&mut form, Row::Save);
    assert_eq!(press(&mut form, KeyCode::Enter), FormOutcome::Continue);
    assert_eq!(form.focus(), Row::Field(Field::Name));
    assert!(
        form.notice
            .as_deref()
            .unwrap_or("")
            .starts_with("cannot save")
    );

    type_text(&mut form, "weekly-stock");
    press(&mut form, KeyCode::Enter);
    type_text(&mut form, "weekly on mon,fri at 06:30");
    go_to(&mut form, Row::Field(Field::Connection));
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Tab);
    type_text(&mut form, "select * from stock");
    go_to(&mut form, Row::Destination(2));
    press(&mut form, KeyCode::Char(' '));
    go_to(&mut form, Row::Destination(0));
    press(&mut form, KeyCode::Enter);
    retype(&mut form, Field::Retries, "1");
    go_to(&mut form, Row::Field(Field::Overlap));
    press(&mut form, KeyCode::Left);
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("not saved: {:?}", form.problems());
    };
    assert_eq!(
        spec,
        JobSpec {
            name: "weekly-stock".into(),
            schedule: "weekly on mon,fri at 06:30".into(),
            timezone: Some("Europe/Berlin".into()),
            source: SourceSpec::Sql(SqlSpec {
                connection: "warehouse".into(),
                query: "select * from stock".into(),
            }),
            format: FormatSpec::Csv(CsvSpec::default()),
            destinations: vec!["ops-mail".into(), "reports".into()],
            retries: Some(1),
            timeout: None,
            overlap: Some(OverlapPolicy::CancelPrevious),
            catch_up: None,
            catch_up_window: None,
            notify: None,
            calendar: None,
            on_excluded: None,
            blackout: Vec::new(),
            on_blackout: None,
            start_at: None,
            end_at: None,
            jitter: None,
            dst: None,
            alert_if_late: None,
            alert_if_running_over: None,
            ping: None,
            ping_env: None,
            deliver: None,
            checks: None,
            on_check_fail: None,
            hold_for: None,
        }
    );
    assert!(spec.validate(&known()).is_ok());
}

#[test]
fn a_command_source_is_typed_as_one_quoted_line() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Field(Field::SourceKind));
    press(&mut form, KeyCode::Right);
    assert!(form.values.rows().contains(&Row::Field(Field::Argv)));
    assert!(!form.values.rows().contains(&Row::Field(Field::Query)));
    assert_eq!(
        messages(&form, Field::Argv),
        vec!["source.argv: must name a program to run"]
    );
    retype(&mut form, Field::Argv, "report --title 'Stock");
    assert_eq!(
        messages(&form, Field::Argv),
        vec!["source.argv: the quote ' at column 16 is never closed"]
    );
    type_text(&mut form, " levels'");
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("not saved: {:?}", form.problems());
    };
    let SourceSpec::Command(cmd) = &spec.source else {
        panic!("not a command source");
    };
    assert_eq!(cmd.argv, vec!["report", "--title", "Stock levels"]);
    assert!(spec.validate(&known()).is_ok());
}

#[test]
fn destinations_the_config_no_longer_has_are_shown_and_refused() {
    let mut spec = full_spec();
    spec.destinations = vec!["reports".into(), "old-bucket".into()];
    let mut form = JobForm::edit(&spec, ctx());
    assert_eq!(
        messages(&form, Field::Destinations),
        vec![
            "destinations[1]: \"old-bucket\" is not defined under [destinations] in the config (nor made in the console)"
        ]
    );
    go_to(&mut form, Row::Destination(3));
    press(&mut form, KeyCode::Char(' '));
    assert!(form.problems().is_empty());
    let FormOutcome::Save(saved) = ctrl(&mut form, 's') else {
        panic!("not saved");
    };
    assert_eq!(saved.destinations, vec!["reports"]);
}

#[test]
fn page_keys_move_by_five_rows_and_stop_at_the_ends() {
    let mut form = JobForm::new(ctx());
    press(&mut form, KeyCode::PageDown);
    assert_eq!(form.focus(), Row::Field(Field::Query));
    for _ in 0..10 {
        press(&mut form, KeyCode::PageDown);
    }
    assert_eq!(form.focus(), Row::Save);
    for _ in 0..10 {
        press(&mut form, KeyCode::PageUp);
    }
    assert_eq!(form.focus(), Row::Field(Field::Name));
}

#[test]
fn the_query_takes_several_lines_and_tab_or_arrows_leave_it() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Field(Field::Query));
    ctrl(&mut form, 'u');
    type_text(&mut form, "select *");
    // Enter is a newline here, not "next field".
    assert_eq!(press(&mut form, KeyCode::Enter), FormOutcome::Continue);
    assert_eq!(form.focus(), Row::Field(Field::Query));
    type_text(&mut form, "from orders");
    press(&mut form, KeyCode::Enter);
    type_text(&mut form, "where created_at >= :window_start");
    // ↑ moves a line up inside the query; a fix there lands on that line.
    press(&mut form, KeyCode::Up);
    press(&mut form, KeyCode::End);
    type_text(&mut form, " o");
    assert_eq!(
        form.values.source.query.value(),
        "select *\nfrom orders o\nwhere created_at >= :window_start"
    );
    // ↓ past the last line goes on to the next field, as Tab does.
    press(&mut form, KeyCode::Down);
    press(&mut form, KeyCode::Down);
    assert_eq!(form.focus(), Row::Field(Field::Format));
    press(&mut form, KeyCode::BackTab);
    assert_eq!(form.focus(), Row::Field(Field::Query));
    press(&mut form, KeyCode::Tab);
    assert_eq!(form.focus(), Row::Field(Field::Format));
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("not saved: {:?}", form.problems());
    };
    let SourceSpec::Sql(sql) = &spec.source else {
        panic!("not an sql source");
    };
    assert_eq!(
        sql.query,
        "select *\nfrom orders o\nwhere created_at >= :window_start"
    );
    assert!(spec.validate(&known()).is_ok());
}

#[test]
fn an_emptied_query_is_refused_naming_the_field() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Field(Field::Query));
    ctrl(&mut form, 'u');
    let problems = messages(&form, Field::Query);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("source.query: "), "{problems:?}");
    assert!(form.valid_spec().is_none());
}
