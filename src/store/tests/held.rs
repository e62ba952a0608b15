//! Checks' records and held runs: the baseline a job's checks compare
//! with, and each move out of `held` (release, its undo, discard, expiry)
//! made once however many try.

use super::{TestDb, at, seed_job, slot_run, store_test};
use crate::export::value::SchemaColumn;
use crate::store::{RunFilter, RunId, RunStatus, RunWrite, Store};

store_test!(
    the_baseline_is_the_last_succeeded_run,
    a_held_run_is_released_once,
    a_refused_release_holds_the_run_again,
    a_held_run_is_discarded_once_and_expired_holds_are_found,
    held_runs_outlive_pruning_and_discarded_ones_do_not,
    an_upgraded_store_keeps_its_runs_and_their_ids,
    every_query_that_reads_runs_reads_the_checks_columns,
);

fn schema(kinds: &[(&str, &str)]) -> String {
    let columns: Vec<SchemaColumn> = kinds
        .iter()
        .map(|(name, kind)| SchemaColumn {
            name: (*name).into(),
            kind: Some((*kind).into()),
        })
        .collect();
    serde_json::to_string(&columns).expect("encodes")
}

/// A run of `job` for slot `slot` that rendered `rows` rows with columns
/// `columns`, ending `status` (a held run is held until `slot + 3600`),
/// its start, checks and end written in one batch as a quick run's are.
async fn run_with(
    store: &Store,
    job: i64,
    slot: i64,
    rows: i64,
    columns: Option<String>,
    status: RunStatus,
) -> RunId {
    let run = store
        .enqueue_slots(&[slot_run(job, slot)])
        .await
        .expect("enqueue")[0]
        .expect("won");
    let held = status == RunStatus::Held;
    let check = matches!(status, RunStatus::Held | RunStatus::Skipped);
    store
        .write_batch(&[
            RunWrite::Started {
                run_id: run,
                attempt: 1,
                instance_id: "inst-a".into(),
                at: at(slot + 1),
            },
            RunWrite::Checked {
                run_id: run,
                schema: columns,
                failed_check: check.then(|| "min_rows".into()),
                held_until: held.then(|| at(slot + 3600)),
            },
            RunWrite::Finished {
                run_id: run,
                attempt: 1,
                status,
                at: at(slot + 2),
                rows: Some(rows),
                bytes: Some(rows * 10),
                outputs: Vec::new(),
                error: check.then(|| "min_rows: 3 rows, fewer than the minimum of 5".into()),
            },
        ])
        .await
        .expect("write");
    run
}

async fn the_baseline_is_the_last_succeeded_run(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let other = seed_job(&store, "b").await.id;
    let empty = store.check_baseline(job, true).await.expect("read");
    assert_eq!((empty.rows, empty.schema), (None, None));

    let v1 = schema(&[("id", "int")]);
    let v2 = schema(&[("id", "text")]);
    run_with(&store, job, 0, 100, Some(v1.clone()), RunStatus::Succeeded).await;
    // A succeeded run that recorded no schema still gives the rows.
    run_with(&store, job, 60, 120, None, RunStatus::Succeeded).await;
    // Held, skipped and failed runs are no measure.
    let held = run_with(&store, job, 120, 3, Some(v2.clone()), RunStatus::Held).await;
    run_with(&store, job, 180, 4, Some(v2.clone()), RunStatus::Skipped).await;
    run_with(&store, job, 240, 5, Some(v2.clone()), RunStatus::Failed).await;
    run_with(
        &store,
        other,
        300,
        7,
        Some(v2.clone()),
        RunStatus::Succeeded,
    )
    .await;
    let baseline = store.check_baseline(job, true).await.expect("read");
    assert_eq!(baseline.rows, Some(120));
    let columns = baseline.schema.expect("a schema");
    assert_eq!(columns[0].name, "id");
    assert_eq!(columns[0].kind.as_deref(), Some("int"));
    // Without the schema check it is not read.
    assert_eq!(
        store.check_baseline(job, false).await.expect("read").schema,
        None
    );

    // The held run's record: status, reason, check, hold, schema; its
    // attempt rendered, so it closed as succeeded.
    let record = store.get_run(held).await.expect("get").expect("run");
    assert_eq!(record.status, RunStatus::Held);
    assert_eq!(record.failed_check.as_deref(), Some("min_rows"));
    assert_eq!(record.held_until, Some(at(120 + 3600)));
    assert_eq!(record.rows, Some(3));
    assert_eq!(
        record.schema.expect("schema")[0].kind.as_deref(),
        Some("text")
    );
    let attempts = store.attempts(held).await.expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, RunStatus::Succeeded);
    // Listings filter on the new statuses.
    let listed = store
        .list_runs(&RunFilter {
            status: Some(RunStatus::Held),
            ..RunFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [held]);

    // Once released, the held run is the newest success and the measure.
    assert!(store.begin_release(held).await.expect("release"));
    assert_eq!(
        store.check_baseline(job, true).await.expect("read").rows,
        Some(3)
    );
}

async fn a_held_run_is_released_once(db: TestDb) {
    let store = db.open().await;
    let second = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let run = run_with(&store, job, 0, 3, None, RunStatus::Held).await;
    let (a, b) = tokio::join!(store.begin_release(run), second.begin_release(run));
    let won = [a.expect("a"), b.expect("b")];
    assert_eq!(
        won.iter().filter(|w| **w).count(),
        1,
        "exactly one release takes it: {won:?}"
    );
    // Nor can it be discarded or expire once taken.
    assert!(
        !store
            .discard_held(run, "discarded by hand")
            .await
            .expect("d")
    );
    assert!(store.expired_holds(at(10_000)).await.expect("x").is_empty());
    store
        .finish_release(run, &["/out/a/1.csv".to_string()])
        .await
        .expect("finish");
    let record = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(record.status, RunStatus::Succeeded);
    assert_eq!(record.error, None);
    assert_eq!(record.held_until, None);
    assert_eq!(record.outputs, ["/out/a/1.csv"]);
    // The check that held it stays on the record.
    assert_eq!(record.failed_check.as_deref(), Some("min_rows"));
}

async fn a_refused_release_holds_the_run_again(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let run = run_with(&store, job, 0, 3, None, RunStatus::Held).await;
    let before = store.get_run(run).await.expect("get").expect("run");
    assert!(store.begin_release(run).await.expect("release"));
    store
        .undo_release(run, before.error.as_deref(), before.held_until)
        .await
        .expect("undo");
    let again = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(again.status, RunStatus::Held);
    assert_eq!(again.error, before.error);
    assert_eq!(again.held_until, before.held_until);
    assert!(store.begin_release(run).await.expect("release again"));
}

async fn a_held_run_is_discarded_once_and_expired_holds_are_found(db: TestDb) {
    let store = db.open().await;
    let second = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let early = run_with(&store, job, 0, 3, None, RunStatus::Held).await;
    let late = run_with(&store, job, 600, 3, None, RunStatus::Held).await;
    run_with(&store, job, 1200, 100, None, RunStatus::Succeeded).await;
    // Held until 3600 and 4200.
    assert!(store.expired_holds(at(3599)).await.expect("x").is_empty());
    let due: Vec<RunId> = store
        .expired_holds(at(3600))
        .await
        .expect("x")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(due, [early]);
    // Two instances expire it at once: one discards it.
    let (a, b) = tokio::join!(
        store.discard_held(early, "hold expired"),
        second.discard_held(early, "hold expired")
    );
    assert_eq!(
        [a.expect("a"), b.expect("b")]
            .iter()
            .filter(|w| **w)
            .count(),
        1
    );
    let record = store.get_run(early).await.expect("get").expect("run");
    assert_eq!(record.status, RunStatus::Discarded);
    assert_eq!(
        record.error.as_deref(),
        Some("hold expired (held: min_rows: 3 rows, fewer than the minimum of 5)")
    );
    assert_eq!(record.held_until, None);
    assert!(!store.begin_release(early).await.expect("release"));
    // Discarded runs are no measure either.
    assert_eq!(
        store.check_baseline(job, false).await.expect("read").rows,
        Some(100)
    );
    let due: Vec<RunId> = store
        .expired_holds(at(10_000))
        .await
        .expect("x")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(due, [late]);
}

async fn held_runs_outlive_pruning_and_discarded_ones_do_not(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let held = run_with(&store, job, 0, 3, None, RunStatus::Held).await;
    let dropped = run_with(&store, job, 60, 3, None, RunStatus::Held).await;
    assert!(
        store
            .discard_held(dropped, "discarded by hand")
            .await
            .expect("d")
    );
    store.prune_history(at(100_000)).await.expect("prune");
    assert!(store.get_run(held).await.expect("get").is_some());
    assert!(store.get_run(dropped).await.expect("get").is_none());
}

/// A store from before migration 0011 (SQLite rebuilds its runs table to
/// allow the new statuses): its runs, their content marks, retry times,
/// deliveries and log lines and the id sequence survive, and the new
/// statuses and columns work after.
async fn an_upgraded_store_keeps_its_runs_and_their_ids(db: TestDb) {
    let pool = db.migrated_before(11).await;
    sqlx::query(
        "INSERT INTO jobs (name, schedule, cron, timezone, definition, created_at, updated_at) \
         VALUES ('a', 'every 5m', '*/5 * * * *', 'UTC', '{}', 0, 0)",
    )
    .execute(&pool)
    .await
    .expect("a job");
    for (slot, hash) in [(0_i64, "h1"), (300_000, "h2"), (600_000, "h3")] {
        sqlx::query(
            "INSERT INTO runs (job_id, \"trigger\", status, slot, scheduled_for, queued_at, \
             finished_at, \"rows\", content_hash, unchanged, retry_at) \
             VALUES (1, 'schedule', 'succeeded', $1, $1, $1, $1, 7, $2, 0, $1)",
        )
        .bind(slot)
        .bind(hash)
        .execute(&pool)
        .await
        .expect("a run");
    }
    // A run's delivery and log line: dropping the old table must not take
    // them with it.
    sqlx::query(
        "INSERT INTO run_deliveries (run_id, destination, status, location, fire_id, attempt, at) \
         VALUES (1, 'out', 'delivered', '/out/1.csv', 'a@0', 1, 0)",
    )
    .execute(&pool)
    .await
    .expect("a delivery");
    sqlx::query(
        "INSERT INTO run_logs (run_id, seq, ts, level, message) VALUES (1, 0, 0, 'info', 'hello')",
    )
    .execute(&pool)
    .await
    .expect("a log line");
    // The newest run pruned: its id must not be handed out again.
    sqlx::query("DELETE FROM runs WHERE slot = 600000")
        .execute(&pool)
        .await
        .expect("prune");
    pool.close().await;

    let store = db.open().await;
    let kept = store.list_runs(&RunFilter::default()).await.expect("list");
    let ids: Vec<RunId> = kept.iter().map(|r| r.id).collect();
    assert_eq!(ids, [2, 1]);
    assert_eq!(kept[0].content_hash.as_deref(), Some("h2"));
    assert_eq!(kept[0].rows, Some(7));
    assert_eq!(kept[0].failed_check, None);
    assert_eq!(
        kept[0].retry_at,
        chrono::DateTime::from_timestamp_millis(300_000),
        "0010's column is kept"
    );
    assert_eq!(
        store.last_delivered_hash(1).await.expect("hash").as_deref(),
        Some("h2")
    );
    let delivered = store.deliveries(&[1]).await.expect("deliveries");
    assert_eq!(delivered[&1][0].location.as_deref(), Some("/out/1.csv"));
    let lines = store.run_logs(1, -1, 10).await.expect("logs");
    assert_eq!(lines.len(), 1);
    let held = run_with(&store, 1, 900, 3, None, RunStatus::Held).await;
    assert_eq!(held, 4, "the id sequence carried over");
    assert_eq!(
        store.get_run(held).await.expect("get").expect("run").status,
        RunStatus::Held
    );
}

/// Every query decoded by `run_from_row` selects the columns it reads (the
/// late-slot check's had its own list, and missed the new ones once).
async fn every_query_that_reads_runs_reads_the_checks_columns(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let queued = store
        .enqueue_slots(&[slot_run(job, 0)])
        .await
        .expect("enqueue")[0]
        .expect("won");
    let late = store.unstarted_slots(at(60), 10).await.expect("late slots");
    assert_eq!(late.iter().map(|r| r.id).collect::<Vec<_>>(), [queued]);
    assert_eq!(late[0].held_until, None);
    let held = run_with(
        &store,
        job,
        300,
        3,
        Some(schema(&[("id", "int")])),
        RunStatus::Held,
    )
    .await;
    for run in [
        store.get_run(held).await.expect("get").expect("run"),
        store.list_runs(&RunFilter::default()).await.expect("list")[0].clone(),
        store.expired_holds(at(300 + 3600)).await.expect("expired")[0].clone(),
    ] {
        assert_eq!(run.id, held);
        assert_eq!(run.failed_check.as_deref(), Some("min_rows"));
        assert_eq!(run.schema.map(|s| s.len()), Some(1));
    }
}
