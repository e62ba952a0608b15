//! "+ new local folder": the sub-form opened from the destinations, its
//! live checks (the config's rules, naming the field), Esc making nothing,
//! and Add ticking the new destination so the job saves with it.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::console::form::{DraftField, DraftRow};

fn ctx_with_folder() -> FormContext {
    FormContext {
        made: vec!["finance-share".into()],
        folder: "/etc/cronport".into(),
        ..ctx()
    }
}

fn draw(form: &JobForm, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| form.render(frame, frame.area(), now()))
        .expect("draw");
    terminal.backend().to_string()
}

/// The job form with the sub-form opened from its destinations.
fn opened() -> JobForm {
    let mut form = JobForm::edit(&full_spec(), ctx_with_folder()).with_color(false);
    go_to(&mut form, Row::NewDestination);
    assert_eq!(press(&mut form, KeyCode::Enter), FormOutcome::Continue);
    assert!(form.draft().is_some(), "Enter opens the sub-form");
    form
}

/// Type into one of the sub-form's fields, moving there with Tab.
fn draft_type(form: &mut JobForm, field: DraftField, text: &str) {
    for _ in 0..10 {
        if form.draft().expect("open").focus() == DraftRow::Field(field) {
            break;
        }
        press(form, KeyCode::Tab);
    }
    assert_eq!(form.draft().expect("open").focus(), DraftRow::Field(field));
    ctrl(form, 'u');
    type_text(form, text);
}

fn shown(form: &JobForm, field: DraftField) -> Vec<String> {
    form.draft().expect("open").shown_problems(field)
}

#[test]
fn the_sub_form_80x24() {
    let mut form = opened();
    draft_type(&mut form, DraftField::Name, "ops-drop");
    draft_type(&mut form, DraftField::Root, "../exports/ops");
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn the_sub_form_with_problems_120x40() {
    let mut form = opened();
    draft_type(&mut form, DraftField::Name, "Ops Drop");
    draft_type(&mut form, DraftField::Root, "/srv/ops");
    draft_type(&mut form, DraftField::Path, "../{job}.{ext}");
    insta::assert_snapshot!(draw(&form, 120, 40));
}

#[test]
fn live_checks_name_the_field() {
    let mut form = opened();
    assert!(
        shown(&form, DraftField::Name).is_empty(),
        "nothing typed yet"
    );
    draft_type(&mut form, DraftField::Name, "Bad Name");
    let name = shown(&form, DraftField::Name);
    assert_eq!(name.len(), 1);
    assert!(
        name[0].starts_with("name: \"Bad Name\" is not a valid name"),
        "{name:?}"
    );

    draft_type(&mut form, DraftField::Name, "reports");
    let name = shown(&form, DraftField::Name);
    assert!(
        name[0].contains("defined under [destinations] in the config"),
        "{name:?}"
    );
    draft_type(&mut form, DraftField::Name, "finance-share");
    let name = shown(&form, DraftField::Name);
    assert!(name[0].contains("already made in the console"), "{name:?}");

    draft_type(&mut form, DraftField::Name, "ops-drop");
    assert!(shown(&form, DraftField::Name).is_empty());
    draft_type(&mut form, DraftField::Root, "/srv/ops");
    draft_type(&mut form, DraftField::Path, "{job}/../../{job}.{ext}");
    let path = shown(&form, DraftField::Path);
    assert!(
        path[0].starts_with("path: ") && path[0].contains("could leave the destination root"),
        "{path:?}"
    );
    draft_type(&mut form, DraftField::Path, "/etc/{job}.{ext}");
    assert!(shown(&form, DraftField::Path)[0].contains("could leave"));
    draft_type(&mut form, DraftField::Path, "{job}/{nope}.{ext}");
    assert!(shown(&form, DraftField::Path)[0].contains("unknown placeholder {nope}"));
    draft_type(&mut form, DraftField::Path, "{job}/{job}.{ext}");
    assert!(shown(&form, DraftField::Path).is_empty());
    draft_type(&mut form, DraftField::KeepDays, "0");
    assert!(shown(&form, DraftField::KeepDays)[0].starts_with("keep_days: must be at least 1"));
    draft_type(&mut form, DraftField::KeepDays, "14");
    assert!(form.draft().expect("open").is_valid());
}

#[test]
fn a_refused_add_shows_every_problem_and_keeps_the_sub_form() {
    let mut form = opened();
    assert_eq!(ctrl(&mut form, 's'), FormOutcome::Continue);
    let draft = form.draft().expect("still open");
    assert_eq!(draft.focus(), DraftRow::Field(DraftField::Name));
    assert_eq!(shown(&form, DraftField::Name), ["name: is empty"]);
    assert_eq!(shown(&form, DraftField::Root), ["root: is empty"]);
}

#[test]
fn esc_goes_back_to_the_job_form_and_makes_nothing() {
    let mut form = opened();
    let options_before = form.values.destination_options.clone();
    let ticked_before = form.values.destinations.clone();
    draft_type(&mut form, DraftField::Name, "ops-drop");
    draft_type(&mut form, DraftField::Root, "/srv/ops");
    assert!(form.draft().expect("open").is_valid());
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Continue);
    assert!(form.draft().is_none(), "Esc closes the sub-form only");
    assert_eq!(
        form.focus(),
        Row::NewDestination,
        "back where it was opened"
    );
    assert_eq!(form.values.destination_options, options_before);
    assert_eq!(form.values.destinations, ticked_before);
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("the job form saves as before");
    };
    assert!(form.new_destinations(&spec).is_empty(), "nothing to make");
}

#[test]
fn add_ticks_the_new_folder_and_the_job_saves_with_it() {
    let mut form = opened();
    draft_type(&mut form, DraftField::Name, "ops-drop");
    draft_type(&mut form, DraftField::Root, "exports/ops");
    draft_type(&mut form, DraftField::KeepDays, "30");
    press(&mut form, KeyCode::Tab);
    assert_eq!(form.draft().expect("open").focus(), DraftRow::Add);
    assert_eq!(press(&mut form, KeyCode::Enter), FormOutcome::Continue);
    assert!(form.draft().is_none(), "Add closes the sub-form");
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("valid with the new destination: {:?}", form.problems());
    };
    assert_eq!(spec.destinations, ["archive", "reports", "ops-drop"]);
    let made = form.new_destinations(&spec);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].name, "ops-drop");
    assert_eq!(
        made[0].config.root,
        std::path::PathBuf::from("/etc/cronport/exports/ops"),
        "a relative root is taken from the config's folder"
    );
    assert_eq!(made[0].config.keep_days, Some(30));

    // Unticked again, it is not made.
    let index = form
        .values
        .destination_options
        .iter()
        .position(|n| n == "ops-drop")
        .expect("offered");
    go_to(&mut form, Row::Destination(index));
    press(&mut form, KeyCode::Char(' '));
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("still valid");
    };
    assert!(form.new_destinations(&spec).is_empty());

    // Its name is now taken for a second one.
    go_to(&mut form, Row::NewDestination);
    press(&mut form, KeyCode::Enter);
    draft_type(&mut form, DraftField::Name, "ops-drop");
    assert!(shown(&form, DraftField::Name)[0].contains("already made"));
}

#[test]
fn a_job_may_tick_a_destination_made_in_the_console() {
    let mut form = JobForm::edit(&full_spec(), ctx_with_folder()).with_color(false);
    let index = form
        .values
        .destination_options
        .iter()
        .position(|n| n == "finance-share")
        .expect("offered after the config's");
    go_to(&mut form, Row::Destination(index));
    press(&mut form, KeyCode::Char(' '));
    let FormOutcome::Save(spec) = ctrl(&mut form, 's') else {
        panic!("valid: {:?}", form.problems());
    };
    assert!(spec.destinations.contains(&"finance-share".to_string()));
    assert!(form.new_destinations(&spec).is_empty(), "it exists already");
}
