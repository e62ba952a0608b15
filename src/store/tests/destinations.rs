//! Stored destinations: made, listed and read; a taken name refused; made
//! with a job in one transaction, so a refused job writes neither; an
//! upgraded store gains the table with its jobs untouched.

use super::{TestDb, job_def, store_test};
use crate::store::{NewDestination, StoreError};

store_test!(
    destinations_are_made_listed_and_read,
    a_taken_destination_name_is_refused,
    a_job_and_its_new_destination_are_written_together_or_not_at_all,
    an_edit_that_loses_a_race_writes_no_destination,
    an_upgraded_store_gets_the_destinations_table,
);

fn local(name: &str, root: &str) -> NewDestination {
    NewDestination {
        name: name.into(),
        kind: "local".into(),
        definition: format!(r#"{{"kind":"local","root":"{root}","path":"{{job}}.{{ext}}"}}"#),
    }
}

async fn destinations_are_made_listed_and_read(db: TestDb) {
    let store = db.open().await;
    assert!(store.list_destinations().await.expect("list").is_empty());
    let version = store.jobs_version().await.expect("version");
    let made = store
        .create_destination(&local("reports", "/srv/reports"))
        .await
        .expect("create");
    assert_eq!(made.name, "reports");
    assert_eq!(made.kind, "local");
    assert!(made.definition.contains("/srv/reports"));
    assert!(
        store.jobs_version().await.expect("version") > version,
        "instances reload on the jobs version: a new destination moves it"
    );
    store
        .create_destination(&local("archive", "/srv/archive"))
        .await
        .expect("create");
    let names: Vec<String> = store
        .list_destinations()
        .await
        .expect("list")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["archive", "reports"]);
    let read = store
        .get_destination("reports")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(read, made);
    assert!(store.get_destination("nope").await.expect("get").is_none());
}

async fn a_taken_destination_name_is_refused(db: TestDb) {
    let store = db.open().await;
    store
        .create_destination(&local("reports", "/srv/a"))
        .await
        .expect("create");
    let e = store
        .create_destination(&local("reports", "/srv/b"))
        .await
        .expect_err("taken");
    assert!(
        matches!(&e, StoreError::Conflict { what } if what.contains("'reports' already exists")),
        "{e}"
    );
    let kept = store.list_destinations().await.expect("list");
    assert_eq!(kept.len(), 1);
    assert!(kept[0].definition.contains("/srv/a"), "the first one stays");
}

async fn a_job_and_its_new_destination_are_written_together_or_not_at_all(db: TestDb) {
    let store = db.open().await;
    store
        .create_job_with(&job_def("a", 1), &[local("out-a", "/srv/a")])
        .await
        .expect("create both");
    assert!(store.get_job("a").await.expect("get").is_some());
    assert!(store.get_destination("out-a").await.expect("get").is_some());

    // The job's name is taken: its destination is not written either.
    let e = store
        .create_job_with(&job_def("a", 2), &[local("out-b", "/srv/b")])
        .await
        .expect_err("taken");
    assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
    assert!(store.get_destination("out-b").await.expect("get").is_none());

    // The destination's name is taken: the job is not written.
    let e = store
        .create_job_with(&job_def("b", 1), &[local("out-a", "/srv/c")])
        .await
        .expect_err("taken");
    assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
    assert!(store.get_job("b").await.expect("get").is_none());
    let kept = store
        .get_destination("out-a")
        .await
        .expect("get")
        .expect("a");
    assert!(kept.definition.contains("/srv/a"));

    // An edit with a new destination writes both.
    let version = store.get_job("a").await.expect("get").expect("a").version;
    store
        .update_job_with(&job_def("a", 3), Some(version), &[local("out-c", "/srv/c")])
        .await
        .expect("update both");
    assert!(store.get_destination("out-c").await.expect("get").is_some());
}

async fn an_edit_that_loses_a_race_writes_no_destination(db: TestDb) {
    let store = db.open().await;
    let job = store.create_job(&job_def("a", 1)).await.expect("create");
    store
        .update_job(&job_def("a", 2), Some(job.version))
        .await
        .expect("someone else's edit");
    let e = store
        .update_job_with(
            &job_def("a", 3),
            Some(job.version),
            &[local("late", "/srv")],
        )
        .await
        .expect_err("stale");
    assert!(matches!(e, StoreError::Conflict { .. }), "{e}");
    assert!(store.get_destination("late").await.expect("get").is_none());
}

/// A store from before migration 0012 gains the table; its jobs stay.
async fn an_upgraded_store_gets_the_destinations_table(db: TestDb) {
    let pool = db.migrated_before(12).await;
    sqlx::query(
        "INSERT INTO jobs (name, schedule, cron, timezone, definition, created_at, updated_at) \
         VALUES ('a', 'every 5m', '*/5 * * * *', 'UTC', '{}', 0, 0)",
    )
    .execute(&pool)
    .await
    .expect("a job");
    pool.close().await;

    let store = db.open().await;
    assert!(store.get_job("a").await.expect("get").is_some());
    assert!(store.list_destinations().await.expect("list").is_empty());
    store
        .create_destination(&local("reports", "/srv/reports"))
        .await
        .expect("create after the upgrade");
}
