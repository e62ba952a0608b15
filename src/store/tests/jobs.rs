//! Jobs: apply, optimistic edits, pause, delete.

use sqlx::{AssertSqlSafe, Executor};

use super::{TestDb, job_def, seed_job, slot_run, store_test};
use crate::store::{Backend, RunWrite, StoreError};

store_test!(
    apply_creates_updates_and_bumps_versions_only_on_change,
    apply_prunes_only_when_asked,
    apply_is_all_or_nothing,
    apply_rejects_duplicate_names,
    create_rejects_taken_names,
    update_detects_concurrent_edits,
    pause_and_resume,
    delete_cascades_to_history,
    pages_list_every_job_once_with_awkward_text,
);

async fn apply_creates_updates_and_bumps_versions_only_on_change(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.jobs_version().await.expect("version"), 0);
    let report = store
        .apply_jobs(&[job_def("b", 1), job_def("a", 1)], false)
        .await
        .expect("apply");
    assert_eq!(report.created, ["a", "b"]);
    assert_eq!(store.jobs_version().await.expect("version"), 1);
    let a1 = store.get_job("a").await.expect("get").expect("exists");
    assert_eq!((a1.version, a1.paused), (1, false));

    // Same input: nothing changes, no version moves.
    let report = store
        .apply_jobs(&[job_def("a", 1), job_def("b", 1)], false)
        .await
        .expect("apply");
    assert_eq!(report.unchanged, ["a", "b"]);
    assert!(report.created.is_empty() && report.updated.is_empty());
    assert_eq!(store.jobs_version().await.expect("version"), 1);
    assert_eq!(
        store.get_job("a").await.expect("get").expect("a").version,
        1
    );

    // A paused job stays paused when its definition is updated.
    assert!(store.set_paused("a", true).await.expect("pause"));
    let paused_version = store.get_job("a").await.expect("get").expect("a").version;
    let report = store
        .apply_jobs(&[job_def("a", 2), job_def("b", 1)], false)
        .await
        .expect("apply");
    assert_eq!(report.updated, ["a"]);
    assert_eq!(report.unchanged, ["b"]);
    let a2 = store.get_job("a").await.expect("get").expect("a");
    assert!(a2.paused);
    assert_eq!(a2.version, paused_version + 1);
    assert_eq!(a2.definition, job_def("a", 2).definition);
    assert_eq!(a2.id, a1.id);
    assert_eq!(store.jobs_version().await.expect("version"), 3);
    let by_id = store
        .get_job_by_id(a2.id)
        .await
        .expect("get")
        .expect("by id");
    assert_eq!(by_id, a2);
    let names: Vec<String> = store
        .list_jobs()
        .await
        .expect("list")
        .into_iter()
        .map(|j| j.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}

async fn apply_prunes_only_when_asked(db: TestDb) {
    let store = db.open().await;
    store
        .apply_jobs(&[job_def("a", 1), job_def("b", 1), job_def("c", 1)], false)
        .await
        .expect("apply");
    let report = store
        .apply_jobs(&[job_def("b", 1)], false)
        .await
        .expect("apply");
    assert!(report.pruned.is_empty());
    assert_eq!(store.list_jobs().await.expect("list").len(), 3);
    let report = store
        .apply_jobs(&[job_def("b", 1)], true)
        .await
        .expect("apply");
    assert_eq!(report.pruned, ["a", "c"]);
    assert_eq!(report.unchanged, ["b"]);
    assert!(store.get_job("a").await.expect("get").is_none());
    assert_eq!(store.list_jobs().await.expect("list").len(), 1);
}

/// Makes inserting a job named `boom` fail inside the database.
async fn install_failing_trigger(db: &TestDb) {
    let store = db.open().await;
    let sql = match db.backend {
        Backend::Sqlite => {
            "CREATE TRIGGER boom BEFORE INSERT ON jobs WHEN NEW.name = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
        }
        Backend::Postgres => {
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.name = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; \
             END $$; \
             CREATE TRIGGER boom BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION boom()"
        }
    };
    store
        .pool
        .execute(AssertSqlSafe(sql))
        .await
        .expect("install trigger");
    store.close().await;
}

async fn apply_is_all_or_nothing(db: TestDb) {
    install_failing_trigger(&db).await;
    let store = db.open().await;
    store
        .apply_jobs(&[job_def("a", 1), job_def("z", 1)], false)
        .await
        .expect("apply");
    let before = store.list_jobs().await.expect("list");
    let version = store.jobs_version().await.expect("version");

    // An update, a create, the failing create, another create; with prune.
    let err = store
        .apply_jobs(
            &[
                job_def("a", 2),
                job_def("b", 1),
                job_def("boom", 1),
                job_def("c", 1),
            ],
            true,
        )
        .await
        .expect_err("the trigger refuses 'boom'");
    assert!(err.to_string().contains("boom refused"), "{err}");
    assert_eq!(store.list_jobs().await.expect("list"), before);
    assert_eq!(store.jobs_version().await.expect("version"), version);
}

async fn apply_rejects_duplicate_names(db: TestDb) {
    let store = db.open().await;
    let err = store
        .apply_jobs(&[job_def("a", 1), job_def("a", 2)], false)
        .await
        .expect_err("duplicate");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(store.list_jobs().await.expect("list").is_empty());
}

async fn create_rejects_taken_names(db: TestDb) {
    let store = db.open().await;
    seed_job(&store, "a").await;
    let err = store.create_job(&job_def("a", 5)).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("'a' already exists"), "{err}");
    assert_eq!(store.jobs_version().await.expect("version"), 1);
}

async fn update_detects_concurrent_edits(db: TestDb) {
    let store = db.open().await;
    let other = db.open().await;
    let job = seed_job(&store, "a").await;

    // Two editors start from the same version; the second to save loses.
    let saved = other
        .update_job(&job_def("a", 1), Some(job.version))
        .await
        .expect("first save");
    assert_eq!(saved.version, job.version + 1);
    let err = store
        .update_job(&job_def("a", 2), Some(job.version))
        .await
        .expect_err("stale version");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let stored = store.get_job("a").await.expect("get").expect("a");
    assert_eq!(stored.definition, job_def("a", 1).definition);

    // Saving an identical definition changes nothing.
    let same = store
        .update_job(&job_def("a", 1), Some(saved.version))
        .await
        .expect("no-op save");
    assert_eq!(same.version, saved.version);
    // Without an expected version the last writer wins.
    let forced = store
        .update_job(&job_def("a", 3), None)
        .await
        .expect("save");
    assert_eq!(forced.version, saved.version + 1);
    let missing = store.update_job(&job_def("nope", 1), None).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
}

async fn pause_and_resume(db: TestDb) {
    let store = db.open().await;
    seed_job(&store, "a").await;
    seed_job(&store, "b").await;
    let v0 = store.jobs_version().await.expect("version");
    assert!(store.set_paused("a", true).await.expect("pause"));
    assert!(store.set_paused("a", true).await.expect("pause again"));
    assert!(!store.set_paused("nope", true).await.expect("missing"));
    assert_eq!(store.jobs_version().await.expect("version"), v0 + 1);
    assert_eq!(store.set_all_paused(true).await.expect("pause all"), 1);
    assert!(
        store
            .list_jobs()
            .await
            .expect("list")
            .iter()
            .all(|j| j.paused)
    );
    assert_eq!(store.set_all_paused(false).await.expect("resume all"), 2);
    assert!(
        store
            .list_jobs()
            .await
            .expect("list")
            .iter()
            .all(|j| !j.paused)
    );
    assert_eq!(store.set_all_paused(false).await.expect("again"), 0);
    assert_eq!(store.jobs_version().await.expect("version"), v0 + 3);
    // pause_job says which version the change made.
    let version = store.get_job("a").await.expect("get").expect("a").version;
    assert_eq!(
        store.pause_job("a", true).await.expect("pause"),
        Some(version + 1)
    );
    assert_eq!(
        store.pause_job("a", true).await.expect("pause again"),
        Some(version + 1)
    );
    assert_eq!(store.pause_job("nope", false).await.expect("missing"), None);
}

async fn delete_cascades_to_history(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let keep = seed_job(&store, "keep").await;
    let ids = store
        .enqueue_slots(&[slot_run(job.id, 0), slot_run(keep.id, 0)])
        .await
        .expect("claim");
    let (run, kept) = (ids[0].expect("claimed"), ids[1].expect("claimed"));
    store
        .write_batch(&[RunWrite::Started {
            run_id: run,
            attempt: 1,
            instance_id: "inst-a".into(),
            at: super::at(1),
        }])
        .await
        .expect("start");
    store
        .write_batch(&[super::writes::log(run, 1, "hello")])
        .await
        .expect("log");
    assert!(store.delete_job("a").await.expect("delete"));
    assert!(!store.delete_job("a").await.expect("delete again"));
    assert!(store.get_run(run).await.expect("get").is_none());
    assert!(store.attempts(run).await.expect("attempts").is_empty());
    assert!(store.run_logs(run, 0, 10).await.expect("logs").is_empty());
    for table in ["run_attempts", "run_logs"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE run_id = $1");
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(run)
            .fetch_one(&store.pool)
            .await
            .expect("count");
        assert_eq!(n, 0, "{table}");
    }
    assert!(store.get_run(kept).await.expect("get").is_some());
}

/// Pages come back as JSON from the database: names and definitions with
/// quotes, backslashes, newlines and non-ASCII text must survive, and the
/// pages together list every job once, by id; `list_jobs` sorts by name.
async fn pages_list_every_job_once_with_awkward_text(db: TestDb) {
    let store = db.open().await;
    let mut defs = Vec::new();
    for i in 0..7 {
        let mut def = job_def(&format!("job-{}", 7 - i), i);
        def.definition = format!(r#"{{"q":"say \"hi\"\\n","u":"Zoë 東京 {i}","n":{i}}}"#);
        def.schedule = format!("every {i}m \"x\"\n");
        defs.push(def);
    }
    store.apply_jobs(&defs, false).await.expect("apply");
    store.set_paused("job-3", true).await.expect("pause");
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = store.list_jobs_page(after, 3).await.expect("page");
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = last.id;
        paged.extend(page);
    }
    assert_eq!(paged.len(), 7);
    assert!(paged.windows(2).all(|w| w[0].id < w[1].id));
    let listed = store.list_jobs().await.expect("list");
    let names: Vec<&str> = listed.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "job-1", "job-2", "job-3", "job-4", "job-5", "job-6", "job-7"
        ]
    );
    for job in &listed {
        let by_name = store
            .get_job(&job.name)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(job, &by_name);
        assert!(paged.contains(&by_name));
    }
    let three = listed.iter().find(|j| j.name == "job-3").expect("job-3");
    assert!(three.paused);
    assert!(three.definition.contains(r#"say \"hi\"\\n"#));
}
