//! The form as drawn, at the two sizes the console supports, clock pinned.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;

fn draw(form: &JobForm, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| form.render(frame, frame.area(), now()))
        .unwrap();
    terminal.backend().to_string()
}

fn with_schedule(text: &str) -> JobForm {
    let mut form = JobForm::edit(&full_spec(), ctx()).with_color(false);
    retype(&mut form, Field::Schedule, text);
    form
}

#[test]
fn valid_schedule_80x24() {
    insta::assert_snapshot!(draw(&with_schedule("daily at 02:00"), 80, 24));
}

#[test]
fn valid_schedule_120x40() {
    insta::assert_snapshot!(draw(&with_schedule("daily at 02:00"), 120, 40));
}

#[test]
fn invalid_schedule_80x24() {
    insta::assert_snapshot!(draw(&with_schedule("0 25 * * *"), 80, 24));
}

#[test]
fn invalid_schedule_120x40() {
    insta::assert_snapshot!(draw(&with_schedule("0 25 * * *"), 120, 40));
}

#[test]
fn zone_completion_80x24() {
    let mut form = JobForm::new(ctx()).with_color(false);
    retype(&mut form, Field::Timezone, "america/new");
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn new_job_after_a_refused_save_80x24() {
    let mut form = JobForm::new(ctx()).with_color(false);
    retype(&mut form, Field::Schedule, "every 15m");
    go_to(&mut form, Row::Save);
    assert_eq!(press(&mut form, KeyCode::Enter), FormOutcome::Continue);
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn discard_question_80x24() {
    let mut form = with_schedule("every 15m");
    assert_eq!(press(&mut form, KeyCode::Esc), FormOutcome::Continue);
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn the_terminal_cursor_sits_in_the_focused_field() {
    let form = with_schedule("0 25 * * *");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| form.render(frame, frame.area(), now()))
        .unwrap();
    // Border, label column, then after the 10 typed characters.
    terminal
        .backend_mut()
        .assert_cursor_position((1 + 18 + 10, 2));
}

#[test]
fn tiny_areas_draw_without_panicking() {
    let form = with_schedule("0 25 * * *");
    for (w, h) in [(0, 0), (1, 1), (10, 3), (30, 6), (80, 5)] {
        let text = draw(&form, w.max(1), h.max(1));
        assert!(!text.is_empty());
    }
}

#[test]
fn a_long_value_is_cut_with_an_ellipsis_unless_focused() {
    let mut spec = full_spec();
    if let SourceSpec::Sql(sql) = &mut spec.source {
        sql.query = format!("select {} from orders", "amount, ".repeat(12));
    }
    let form = JobForm::edit(&spec, ctx()).with_color(false);
    let text = draw(&form, 80, 24);
    let query = text.lines().find(|l| l.contains("Query")).unwrap();
    assert!(query.contains("amount, amount,"), "{query}");
    assert!(query.contains("…"), "{query}");
}

fn with_query(lines: usize) -> JobForm {
    let mut spec = full_spec();
    if let SourceSpec::Sql(sql) = &mut spec.source {
        sql.query = (1..=lines)
            .map(|i| format!("select {i} as n union all"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    JobForm::edit(&spec, ctx()).with_color(false)
}

#[test]
fn multiline_query_focused_80x24() {
    let mut form = with_query(3);
    go_to(&mut form, Row::Field(Field::Query));
    press(&mut form, KeyCode::Enter);
    type_text(&mut form, "select 4");
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn multiline_query_scrolled_120x40() {
    let mut form = with_query(9);
    go_to(&mut form, Row::Field(Field::Query));
    // The cursor is at the end: the last five lines show.
    insta::assert_snapshot!(draw(&form, 120, 40));
}

#[test]
fn multiline_query_unfocused_shows_its_start_80x24() {
    let mut form = with_query(9);
    go_to(&mut form, Row::Field(Field::Connection));
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn the_cursor_follows_the_query_onto_its_later_lines() {
    let mut form = with_query(3);
    go_to(&mut form, Row::Field(Field::Query));
    press(&mut form, KeyCode::Enter);
    type_text(&mut form, "select 4");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|frame| form.render(frame, frame.area(), now()))
        .unwrap();
    // The fourth line of the query, drawn on the terminal's row 15.
    terminal
        .backend_mut()
        .assert_cursor_position((1 + 18 + 8, 15));
}

/// `spec` in an edit form, the focus on the source kind so its fields show.
fn at_source(spec: &JobSpec) -> JobForm {
    let mut form = JobForm::edit(spec, ctx()).with_color(false);
    go_to(&mut form, Row::Field(Field::SourceKind));
    form
}

#[test]
fn command_source_80x24() {
    let mut spec = command_spec();
    spec.schedule = "every 5m".into();
    let mut form = at_source(&spec);
    go_to(&mut form, Row::Field(Field::Output));
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn file_source_80x24() {
    let mut form = at_source(&file_spec());
    go_to(&mut form, Row::Field(Field::TemplateQuery));
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn http_source_80x24() {
    let mut form = at_source(&http_spec());
    go_to(&mut form, Row::Field(Field::BodyFormat));
    insta::assert_snapshot!(draw(&form, 80, 24));
}

#[test]
fn http_source_with_a_bad_header_120x40() {
    let mut form = at_source(&http_spec());
    retype(&mut form, Field::Headers, "Accept=text/csv X-Title");
    insta::assert_snapshot!(draw(&form, 120, 40));
}

#[test]
fn every_format_kind_80x24() {
    for spec in every_format() {
        let kind = spec.format.kind();
        let mut form = JobForm::edit(&spec, ctx()).with_color(false);
        go_to(&mut form, Row::Field(Field::Compression));
        insta::assert_snapshot!(format!("format_{kind}_80x24"), draw(&form, 80, 24));
    }
}

#[test]
fn png_with_a_chart_120x40() {
    let spec = every_format().remove(9);
    let mut form = JobForm::edit(&spec, ctx()).with_color(false);
    go_to(&mut form, Row::Field(Field::ChartYLabel));
    insta::assert_snapshot!(draw(&form, 120, 40));
}

#[test]
fn calendar_and_notify_80x24() {
    let spec = JobSpec {
        calendar: Some("de-holidays".into()),
        notify: Some(crate::export::destination::notice::NotifySpec {
            on: vec![crate::export::destination::notice::NotifyOn::Failure],
            to: vec!["ops-chat".into()],
        }),
        ..full_spec()
    };
    let mut form = JobForm::edit(&spec, ctx()).with_color(false);
    go_to(&mut form, Row::Save);
    insta::assert_snapshot!(draw(&form, 80, 24));
}
