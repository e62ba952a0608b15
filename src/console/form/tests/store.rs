//! The form's saves through the console's own save path into a real store
//! (a SQLite file and a PostgreSQL database, as the store suite does), read
//! back and opened in the form again: every source and format kind, notify
//! and the calendar survive unchanged.

use std::path::Path;

use super::*;
use crate::config::Config;
use crate::store::tests::{TestDb, store_test};

const CONFIG: &str = r#"
[sources.sales]
url = "sqlite:///srv/sales.db"

[sources.warehouse]
url = "sqlite:///srv/warehouse.db"

[destinations.reports]
kind = "local"
root = "/srv/exports"
path = "{job}/{job}.{ext}"

[destinations.archive]
kind = "local"
root = "/srv/archive"
path = "{job}/{job}.{ext}"

[destinations.ops-mail]
kind = "local"
root = "/srv/mail-outbox"
path = "{job}.{ext}"

[destinations.ops-hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"

[destinations.ops-chat]
kind = "slack"
url_env = "OPS_SLACK_WEBHOOK_URL"

[calendars.de-holidays]
exclude = ["12-25"]
business_days = "mon-fri"

[scheduler]
default_timezone = "Europe/Berlin"
"#;

/// Every kind of job the form edits, made by the form: each source kind,
/// each format kind, notify and a calendar.
fn specs() -> Vec<JobSpec> {
    let mut specs = vec![full_spec(), command_spec(), file_spec(), http_spec()];
    specs.extend(every_format());
    specs.push(JobSpec {
        calendar: Some("de-holidays".into()),
        on_excluded: Some(crate::schedule::rules::OnExcluded::PreviousBusinessDay),
        notify: Some(crate::export::destination::notice::NotifySpec {
            on: vec![crate::export::destination::notice::NotifyOn::Failure],
            to: vec!["ops-hook".into(), "ops-chat".into()],
        }),
        ..full_spec()
    });
    for (i, spec) in specs.iter_mut().enumerate() {
        spec.name = format!("form-job-{i}");
    }
    specs
}

async fn saved_jobs_read_back_into_the_form_unchanged(db: TestDb) {
    let config = Config::parse(CONFIG, Path::new("/srv")).expect("the test config");
    let store = db.open().await;
    let ctx = crate::console::runtime::form_context(&config);
    for spec in specs() {
        // As the operator saves it: through the form, then the console's save.
        let mut form = JobForm::edit(&spec, ctx.clone());
        let FormOutcome::Save(from_form) = ctrl(&mut form, 's') else {
            panic!("{}: not saved: {:?}", spec.name, form.problems());
        };
        let said =
            crate::console::actions::save(&store, &config, from_form.clone(), None, Vec::new())
                .await
                .unwrap_or_else(|e| panic!("{}: the console's save failed: {e}", spec.name));
        assert_eq!(said, format!("{} created", spec.name));

        let record = store
            .get_job(&spec.name)
            .await
            .expect("read the job")
            .expect("the job is stored");
        let stored: JobSpec =
            serde_json::from_str(&record.definition).expect("the stored definition");
        // The store keeps the zone a job without one runs in.
        let expected = JobSpec {
            timezone: from_form.timezone.clone().or(Some("Europe/Berlin".into())),
            ..from_form
        };
        assert_eq!(
            stored, expected,
            "{} changed on the way through the store",
            spec.name
        );
        // Opened again, it saves unchanged.
        let mut again = JobForm::edit(&stored, ctx.clone());
        assert_eq!(ctrl(&mut again, 's'), FormOutcome::Save(stored.clone()));
    }
}

store_test!(saved_jobs_read_back_into_the_form_unchanged);
