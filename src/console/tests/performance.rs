//! The Performance window (`:perf`) and rows/s in the run view, at 80x24
//! and 120x40: `:perf` asks the loader for the last 7 days, shows what it
//! reads slowest first, `r` reads again, Esc closes.

use chrono::Duration;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::{self, draw};
use crate::console::model::{Effect, Model, Msg, Popup, RunDetails, Screen};
use crate::store::{
    AttemptRecord, DeliveryRecord, JobPerformance, LogLine, Performance, RunStatus, Trigger,
};

fn press(model: &mut Model, code: KeyCode) -> Vec<Effect> {
    model.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn command(model: &mut Model, line: &str) -> Vec<Effect> {
    press(model, KeyCode::Char(':'));
    for c in line.chars() {
        press(model, KeyCode::Char(c));
    }
    press(model, KeyCode::Enter)
}

fn both(name: &str, model: &Model) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(model, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), draw(model, 120, 40));
}

/// A job's figures; rows and run time make its rows/s.
#[allow(clippy::too_many_arguments)]
fn job(
    job_id: i64,
    name: &str,
    (runs, failures): (i64, i64),
    p50_ms: Option<i64>,
    p95_ms: Option<i64>,
    rows: i64,
    bytes: i64,
    busy_ms: i64,
) -> JobPerformance {
    JobPerformance {
        job_id,
        job: name.into(),
        runs,
        succeeded: runs - failures,
        failures,
        p50_ms,
        p95_ms,
        max_ms: p95_ms,
        rows,
        bytes,
        busy_ms,
    }
}

/// A week of the fixture's jobs, slowest first as the store sorts them.
fn week() -> Performance {
    let now = fixtures::now();
    Performance {
        since: now - Duration::days(7),
        until: now,
        jobs: vec![
            job(
                1,
                "daily-orders",
                (7, 0),
                Some(125_000),
                Some(161_000),
                1_204_000,
                48_300_000,
                900_000,
            ),
            job(
                3,
                "partner-feed",
                (30, 6),
                Some(58_000),
                Some(92_000),
                31_200,
                1_200_000,
                1_392_000,
            ),
            job(
                4,
                "revenue-by-country",
                (2_016, 0),
                Some(4_000),
                Some(4_100),
                2_665_152,
                99_571_200,
                8_064_000,
            ),
            job(
                5,
                "stock-levels",
                (10_080, 2),
                Some(640),
                Some(710),
                0,
                0,
                0,
            ),
            job(2, "weekly-summary", (1, 0), None, None, 0, 0, 0),
        ],
    }
}

#[test]
fn perf_window_loads_the_last_week_slowest_first() {
    let mut model = fixtures::model();
    let now = fixtures::now();
    let effects = command(&mut model, "perf");
    let load = || Effect::LoadPerformance {
        since: now - Duration::days(7),
        until: now,
    };
    assert_eq!(effects, [load()]);
    insta::assert_snapshot!("perf_loading_80x24", draw(&model, 80, 24));

    model.update(Msg::Performance(Ok(week())));
    both("perf", &model);

    // Scrolling stops at the last job.
    for _ in 0..10 {
        press(&mut model, KeyCode::Char('j'));
    }
    let Some(Popup::Performance(view)) = &model.popup else {
        panic!("the window is open");
    };
    assert_eq!(view.scroll, 4);

    // r reads again, as of now; what was shown goes until it comes.
    assert_eq!(press(&mut model, KeyCode::Char('r')), [load()]);
    let Some(Popup::Performance(view)) = &model.popup else {
        panic!("the window is open");
    };
    assert!(view.report.is_none());
    assert_eq!(view.scroll, 0);

    model.update(Msg::Performance(Err(
        "store query failed while summarising job performance: disk I/O error".into(),
    )));
    let screen = draw(&model, 80, 24);
    assert!(screen.contains("disk I/O error"), "{screen}");

    press(&mut model, KeyCode::Esc);
    assert!(model.popup.is_none(), "Esc closes the window");
    // An answer after closing opens nothing.
    model.update(Msg::Performance(Ok(week())));
    assert!(model.popup.is_none());
}

#[test]
fn perf_window_with_no_runs() {
    let mut model = fixtures::model();
    command(&mut model, "performance");
    let now = fixtures::now();
    model.update(Msg::Performance(Ok(Performance {
        since: now - Duration::days(7),
        until: now,
        jobs: Vec::new(),
    })));
    let screen = draw(&model, 80, 24);
    assert!(
        screen.contains("no runs ended 03-01 14:03 → 03-08 14:03"),
        "{screen}"
    );
}

/// A run that succeeded: 1,322 rows in 4.1 s are 322 rows/s.
fn succeeded_run() -> RunDetails {
    let started = fixtures::now() - Duration::seconds(37);
    let run = fixtures::run(
        118,
        4,
        "revenue-by-country",
        RunStatus::Succeeded,
        Trigger::Schedule,
        started,
        Some(4_100),
    );
    let ended = started + Duration::milliseconds(4_100);
    let line = |seq: i64, ts, level: &str, message: &str| LogLine {
        run_id: 118,
        seq,
        ts,
        level: level.into(),
        message: message.into(),
    };
    RunDetails {
        attempts: vec![AttemptRecord {
            run_id: 118,
            attempt: 1,
            started_at: started,
            finished_at: Some(ended),
            status: RunStatus::Succeeded,
            error: None,
        }],
        lines: vec![
            line(0, started, "info", "attempt 1 of 4 started (schedule)"),
            line(1, ended, "info", "succeeded: 1322 rows, 48.2 KB"),
        ],
        deliveries: vec![DeliveryRecord {
            destination: "exports".into(),
            status: "delivered".into(),
            location: run.outputs.first().cloned(),
            error: None,
            fire_id: "revenue-by-country@20260308T140230.000Z".into(),
            attempt: 1,
            at: ended,
        }],
        run,
    }
}

#[test]
fn run_view_shows_rows_per_second() {
    let mut model = fixtures::model();
    model.screen = Screen::Run {
        id: 118,
        details: Some(Box::new(succeeded_run())),
        scroll: 0,
    };
    both("run_view_rate", &model);
    assert!(draw(&model, 80, 24).contains("1322 rows · 48.2 KB · 322 rows/s"));
}
