//! Content hashes of runs and the job's last delivered one
//! (`deliver = "on_change"`).

use super::{TestDb, at, seed_job, slot_run, store_test};
use crate::store::{RunId, RunStatus, RunWrite, Store};

store_test!(
    the_last_delivered_hash_skips_failed_and_unchanged_runs,
    hashes_are_per_job_and_the_last_write_of_a_run_stands,
    a_run_and_its_hash_written_in_one_batch_finish_together,
);

/// A run of `job` for slot `slot`, started and carried to `status` with
/// `hash` (if any), each in a batch of its own as a slow run would be.
async fn run_with(
    store: &Store,
    job: i64,
    slot: i64,
    hash: Option<(&str, bool)>,
    status: RunStatus,
) -> RunId {
    let run = store
        .enqueue_slots(&[slot_run(job, slot)])
        .await
        .expect("enqueue")[0]
        .expect("won");
    store
        .write_batch(&[RunWrite::Started {
            run_id: run,
            attempt: 1,
            instance_id: "inst-a".into(),
            at: at(slot + 1),
        }])
        .await
        .expect("start");
    if let Some((hash, unchanged)) = hash {
        store
            .write_batch(&[RunWrite::Content {
                run_id: run,
                hash: hash.into(),
                unchanged,
            }])
            .await
            .expect("content");
    }
    store
        .write_batch(&[RunWrite::Finished {
            run_id: run,
            attempt: 1,
            status,
            at: at(slot + 2),
            rows: Some(1),
            bytes: Some(10),
            outputs: Vec::new(),
            error: (status != RunStatus::Succeeded).then(|| "boom".into()),
        }])
        .await
        .expect("finish");
    run
}

async fn the_last_delivered_hash_skips_failed_and_unchanged_runs(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    assert_eq!(store.last_delivered_hash(job).await.expect("read"), None);

    // A job that always delivers records no hash: nothing to compare with.
    run_with(&store, job, 0, None, RunStatus::Succeeded).await;
    assert_eq!(store.last_delivered_hash(job).await.expect("read"), None);

    let first = run_with(&store, job, 300, Some(("h1", false)), RunStatus::Succeeded).await;
    assert_eq!(
        store
            .last_delivered_hash(job)
            .await
            .expect("read")
            .as_deref(),
        Some("h1")
    );
    let record = store.get_run(first).await.expect("get").expect("run");
    assert_eq!(record.content_hash.as_deref(), Some("h1"));
    assert!(!record.unchanged);

    // Unchanged: the same content, not sent; it is recorded, but the last
    // delivered run is still the first.
    let same = run_with(&store, job, 600, Some(("h1", true)), RunStatus::Succeeded).await;
    let record = store.get_run(same).await.expect("get").expect("run");
    assert_eq!(record.status, RunStatus::Succeeded);
    assert!(record.unchanged);
    assert_eq!(record.content_hash.as_deref(), Some("h1"));

    // A failed run with new content was not delivered either.
    run_with(&store, job, 900, Some(("h2", false)), RunStatus::Failed).await;
    run_with(&store, job, 1200, Some(("h3", false)), RunStatus::Cancelled).await;
    assert_eq!(
        store
            .last_delivered_hash(job)
            .await
            .expect("read")
            .as_deref(),
        Some("h1")
    );

    run_with(&store, job, 1500, Some(("h4", false)), RunStatus::Succeeded).await;
    assert_eq!(
        store
            .last_delivered_hash(job)
            .await
            .expect("read")
            .as_deref(),
        Some("h4")
    );
    // Listings carry the marks too.
    let listed = store
        .list_runs(&crate::store::RunFilter::default())
        .await
        .expect("list");
    let unchanged: Vec<RunId> = listed
        .iter()
        .filter(|r| r.unchanged)
        .map(|r| r.id)
        .collect();
    assert_eq!(unchanged, [same]);
}

async fn hashes_are_per_job_and_the_last_write_of_a_run_stands(db: TestDb) {
    let store = db.open().await;
    let a = seed_job(&store, "a").await.id;
    let b = seed_job(&store, "b").await.id;
    run_with(&store, a, 0, Some(("ha", false)), RunStatus::Succeeded).await;
    assert_eq!(store.last_delivered_hash(b).await.expect("read"), None);

    // Two attempts of one run hash in the same batch: the later one stands.
    let run = store
        .enqueue_slots(&[slot_run(b, 0)])
        .await
        .expect("enqueue")[0]
        .expect("won");
    store
        .write_batch(&[
            RunWrite::Started {
                run_id: run,
                attempt: 1,
                instance_id: "inst-a".into(),
                at: at(1),
            },
            RunWrite::Content {
                run_id: run,
                hash: "first".into(),
                unchanged: false,
            },
            RunWrite::Content {
                run_id: run,
                hash: "second".into(),
                unchanged: false,
            },
            RunWrite::Finished {
                run_id: run,
                attempt: 1,
                status: RunStatus::Succeeded,
                at: at(2),
                rows: Some(1),
                bytes: Some(1),
                outputs: Vec::new(),
                error: None,
            },
        ])
        .await
        .expect("batch");
    assert_eq!(
        store.last_delivered_hash(b).await.expect("read").as_deref(),
        Some("second")
    );
    assert_eq!(
        store.last_delivered_hash(a).await.expect("read").as_deref(),
        Some("ha")
    );
}

async fn a_run_and_its_hash_written_in_one_batch_finish_together(db: TestDb) {
    // The common case with quick runs: start, hash and finish in one commit
    // (the start and finish are merged into one statement).
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let run = store
        .enqueue_slots(&[slot_run(job, 0)])
        .await
        .expect("enqueue")[0]
        .expect("won");
    store
        .write_batch(&[
            RunWrite::Started {
                run_id: run,
                attempt: 1,
                instance_id: "inst-a".into(),
                at: at(1),
            },
            RunWrite::Content {
                run_id: run,
                hash: "h".into(),
                unchanged: true,
            },
            RunWrite::Finished {
                run_id: run,
                attempt: 1,
                status: RunStatus::Succeeded,
                at: at(2),
                rows: Some(1),
                bytes: Some(1),
                outputs: Vec::new(),
                error: None,
            },
        ])
        .await
        .expect("batch");
    let record = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(record.status, RunStatus::Succeeded);
    assert!(record.unchanged);
    assert_eq!(record.content_hash.as_deref(), Some("h"));
    // Unchanged: not the last delivered.
    assert_eq!(store.last_delivered_hash(job).await.expect("read"), None);
}
