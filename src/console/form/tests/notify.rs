//! The calendar and notify parts of the form: picked, checked and saved.

use super::*;
use crate::export::destination::notice::{NotifyOn, NotifySpec};
use crate::job::Known;
use crate::schedule::rules::OnExcluded;

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

#[test]
fn a_calendar_and_its_excluded_day_policy_are_picked_and_saved() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    assert!(!form.values.rows().contains(&Row::Field(Field::OnExcluded)));
    go_to(&mut form, Row::Field(Field::Calendar));
    press(&mut form, KeyCode::Right);
    assert!(form.values.rows().contains(&Row::Field(Field::OnExcluded)));
    go_to(&mut form, Row::Field(Field::OnExcluded));
    press(&mut form, KeyCode::Right);
    press(&mut form, KeyCode::Right);
    let spec = saved(&mut form);
    assert_eq!(spec.calendar.as_deref(), Some("de-holidays"));
    assert_eq!(spec.on_excluded, Some(OnExcluded::NextBusinessDay));
    // The other rule keys are carried over as they were.
    assert_eq!(spec.blackout, full_spec().blackout);
    assert_eq!(spec.jitter, full_spec().jitter);
    assert!(spec.validate(&known()).is_ok());
    // Back to none: the policy goes with it.
    go_to(&mut form, Row::Field(Field::Calendar));
    press(&mut form, KeyCode::Left);
    let spec = saved(&mut form);
    assert_eq!((spec.calendar, spec.on_excluded), (None, None));
}

#[test]
fn a_calendar_the_config_lacks_is_shown_and_named() {
    let spec = JobSpec {
        calendar: Some("us-holidays".into()),
        ..full_spec()
    };
    let form = JobForm::edit(&spec, ctx());
    let problems = messages(&form, Field::Calendar);
    assert_eq!(problems.len(), 1, "{:?}", form.problems());
    assert!(problems[0].starts_with("calendar: "), "{problems:?}");
    assert!(problems[0].contains("us-holidays"), "{problems:?}");
}

#[test]
fn notify_outcomes_and_destinations_are_ticked_and_checked() {
    let mut form = JobForm::edit(&full_spec(), ctx());
    go_to(&mut form, Row::Check(Field::NotifyOn, 0));
    press(&mut form, KeyCode::Char(' '));
    // An outcome without a destination says what is missing.
    assert_eq!(
        messages(&form, Field::NotifyTo),
        vec!["notify.to: list at least one webhook, email, slack or teams destination"]
    );
    go_to(&mut form, Row::Check(Field::NotifyOn, 1));
    press(&mut form, KeyCode::Enter);
    go_to(&mut form, Row::Check(Field::NotifyTo, 1));
    press(&mut form, KeyCode::Char(' '));
    let spec = saved(&mut form);
    assert_eq!(
        spec.notify,
        Some(NotifySpec {
            on: vec![NotifyOn::Failure, NotifyOn::Recovery],
            to: vec!["ops-chat".into()],
        })
    );
    assert!(spec.validate(&known()).is_ok());
    // Unticking everything removes notify altogether.
    for row in [
        Row::Check(Field::NotifyOn, 0),
        Row::Check(Field::NotifyOn, 1),
        Row::Check(Field::NotifyTo, 1),
    ] {
        go_to(&mut form, row);
        press(&mut form, KeyCode::Char(' '));
    }
    assert_eq!(saved(&mut form).notify, None);
}

#[test]
fn a_job_notifying_through_a_destination_the_config_lacks_is_flagged() {
    let spec = JobSpec {
        notify: Some(NotifySpec {
            on: vec![NotifyOn::Failure],
            to: vec!["ops-hook".into(), "old-pager".into()],
        }),
        ..full_spec()
    };
    let mut form = JobForm::edit(&spec, ctx());
    assert_eq!(
        messages(&form, Field::NotifyTo),
        vec!["notify.to[1]: \"old-pager\" is not defined under [destinations] in the config"]
    );
    go_to(&mut form, Row::Check(Field::NotifyTo, 2));
    press(&mut form, KeyCode::Char(' '));
    assert_eq!(
        saved(&mut form).notify,
        Some(NotifySpec {
            on: vec![NotifyOn::Failure],
            to: vec!["ops-hook".into()],
        })
    );
}
