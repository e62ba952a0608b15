//! Tests of the form: model tests drive it with keys as an operator would;
//! snapshot tests draw it at 80x24 and 120x40 with a pinned clock.

mod checks;
mod formats;
mod model;
mod new_destination;
mod notify;
mod snapshots;
mod sources;
mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Field, FormContext, FormOutcome, JobForm, Row};
use crate::config::duration::HumanDuration;
use crate::export::format::FormatSpec;
use crate::export::format::csv::CsvSpec;
use crate::export::source::SourceSpec;
use crate::export::source::command::CommandSpec;
use crate::export::source::sql::SqlSpec;
use crate::job::{CatchUpPolicy, JobSpec, OverlapPolicy};

/// Two days before Berlin springs forward (2026-03-29), so the preview
/// shows the zone's offset change.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 27, 9, 30, 0).unwrap()
}

fn ctx() -> FormContext {
    FormContext {
        destinations: vec!["reports".into(), "archive".into(), "ops-mail".into()],
        connections: vec!["sales".into(), "warehouse".into()],
        default_timezone: "Europe/Berlin".into(),
        existing_names: vec!["daily-sales".into(), "hourly-stock".into()],
        notifiers: vec!["ops-hook".into(), "ops-chat".into()],
        calendars: BTreeMap::from([(
            "de-holidays".to_string(),
            std::sync::Arc::new(crate::schedule::rules::BusinessCalendar::new(
                "de-holidays",
                &[crate::schedule::rules::Exclusion::parse("12-25").expect("a yearly date")],
                crate::schedule::rules::Weekdays::parse("mon-fri").expect("weekdays"),
            )),
        )]),
        ..FormContext::default()
    }
}

/// A job using every field the form edits, and some it only carries.
fn full_spec() -> JobSpec {
    JobSpec {
        name: "daily-sales".into(),
        schedule: "daily at 02:00".into(),
        timezone: Some("Europe/Berlin".into()),
        source: SourceSpec::Sql(SqlSpec {
            connection: "sales".into(),
            query: "select * from orders where created_at >= :window_start".into(),
        }),
        format: FormatSpec::Csv(CsvSpec {
            header: Some(false),
            ..CsvSpec::default()
        }),
        destinations: vec!["archive".into(), "reports".into()],
        retries: Some(5),
        timeout: Some(HumanDuration(Duration::from_secs(600))),
        overlap: Some(OverlapPolicy::QueueOne),
        catch_up: Some(CatchUpPolicy::All),
        catch_up_window: Some(HumanDuration(Duration::from_secs(2 * 86_400))),
        notify: None,
        // Rule keys the form does not edit: carried over.
        calendar: None,
        on_excluded: None,
        blackout: vec!["sat 00:00-06:00".into()],
        on_blackout: Some(crate::job::OnBlackout::Defer),
        start_at: Some("2026-01-01".into()),
        end_at: None,
        jitter: Some(HumanDuration(Duration::from_secs(300))),
        dst: Some(crate::schedule::DstSpec {
            gap: Some(crate::schedule::DstGap::Skip),
            overlap: None,
        }),
        alert_if_late: None,
        alert_if_running_over: None,
        // Kept by the form, which does not edit it.
        ping: Some("https://hc-ping.com/5f0c".into()),
        ping_env: None,
        deliver: None,
        checks: None,
        on_check_fail: None,
        hold_for: None,
    }
}

fn command_spec() -> JobSpec {
    JobSpec {
        name: "hourly-stock".into(),
        schedule: "15 * * * *".into(),
        timezone: None,
        source: SourceSpec::Command(CommandSpec {
            argv: vec!["stock-report".into(), "--since".into(), "one hour".into()],
            cwd: Some("/srv/reports".into()),
            env: BTreeMap::from([("LANG".into(), "C".into())]),
            output: None,
        }),
        format: FormatSpec::Csv(CsvSpec::default()),
        destinations: vec!["reports".into()],
        retries: None,
        timeout: None,
        overlap: None,
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
}

fn press(form: &mut JobForm, code: KeyCode) -> FormOutcome {
    form.handle_key(KeyEvent::new(code, KeyModifiers::NONE), now())
}

fn ctrl(form: &mut JobForm, c: char) -> FormOutcome {
    form.handle_key(
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
        now(),
    )
}

fn type_text(form: &mut JobForm, text: &str) {
    for c in text.chars() {
        assert_eq!(press(form, KeyCode::Char(c)), FormOutcome::Continue);
    }
}

/// Move the focus to `row` with Tab / BackTab, as an operator would.
fn go_to(form: &mut JobForm, row: Row) {
    for _ in 0..40 {
        if form.focus() == row {
            return;
        }
        press(form, KeyCode::Tab);
    }
    for _ in 0..40 {
        if form.focus() == row {
            return;
        }
        press(form, KeyCode::BackTab);
    }
    panic!("cannot reach {row:?}; focus is {:?}", form.focus());
}

/// Replace a text field's value by typing.
fn retype(form: &mut JobForm, field: Field, text: &str) {
    go_to(form, Row::Field(field));
    ctrl(form, 'u');
    type_text(form, text);
}

fn messages(form: &JobForm, field: Field) -> Vec<String> {
    form.problems_of(field).map(|p| p.message.clone()).collect()
}

/// `full_spec` with `source` as its source.
fn with_source(source: serde_json::Value) -> JobSpec {
    JobSpec {
        source: serde_json::from_value(source).expect("a valid source"),
        ..full_spec()
    }
}

/// A file source using every field: glob, format, template and its query.
fn file_spec() -> JobSpec {
    with_source(serde_json::json!({
        "kind": "file",
        "path": "diagrams/*.svg",
        "format": "svg",
        "template": true,
        "template_query": { "connection": "warehouse", "query": "select count(*) as n\nfrom stock" },
    }))
}

/// An http source using every field.
fn http_spec() -> JobSpec {
    with_source(serde_json::json!({
        "kind": "http",
        "url": "http://127.0.0.1:8080/status.json",
        "timeout": "45s",
        "headers": { "Accept": "application/json", "X-Title": "daily status" },
        "headers_env": { "Authorization": "STATUS_TOKEN" },
        "format": "json",
    }))
}

/// `full_spec` with `format` as its format.
fn with_format(format: serde_json::Value) -> JobSpec {
    JobSpec {
        format: serde_json::from_value(format).expect("a valid format"),
        ..full_spec()
    }
}

/// One format of each kind, each with every option it has set.
fn every_format() -> Vec<JobSpec> {
    let chart = serde_json::json!({
        "kind": "bar", "x": "category", "y": ["amount", "cost"],
        "title": "Sales", "x_label": "Category", "y_label": "EUR",
    });
    [
        serde_json::json!({ "kind": "csv", "header": false, "delimiter": ";", "quote": "always",
            "line_ending": "lf", "null": "NULL", "compression": "gzip" }),
        serde_json::json!({ "kind": "tsv", "quote": "never" }),
        serde_json::json!({ "kind": "json", "compression": "zip" }),
        serde_json::json!({ "kind": "ndjson" }),
        serde_json::json!({ "kind": "markdown" }),
        serde_json::json!({ "kind": "html", "title": "Daily sales" }),
        serde_json::json!({ "kind": "xlsx", "sheet": "Sales" }),
        serde_json::json!({ "kind": "pdf", "title": "Daily sales", "page": "letter",
            "orientation": "portrait", "font_size": 9.5, "max_rows": 5000, "chart": chart }),
        serde_json::json!({ "kind": "svg", "width": 1024, "height": 600, "chart": chart }),
        serde_json::json!({ "kind": "png", "width": 640, "height": 400, "scale": 2.0,
            "background": "#ffffff", "chart": chart }),
    ]
    .into_iter()
    .map(with_format)
    .collect()
}
