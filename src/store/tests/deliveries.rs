//! Per-destination outcomes: recorded, replaced per destination, read for
//! many runs at once, gone with their run.

use super::{TestDb, at, seed_job, slot_run, store_test};
use crate::store::{DeliveryRecord, StoreError};

store_test!(deliveries_are_replaced_per_destination_and_go_with_their_run);

fn record(destination: &str, status: &str, attempt: i64) -> DeliveryRecord {
    DeliveryRecord {
        destination: destination.into(),
        status: status.into(),
        location: (status == "delivered").then(|| format!("s3://b/{destination}")),
        error: (status != "delivered").then(|| "HTTP 500".to_string()),
        fire_id: "job@20260308T020000.000Z".into(),
        attempt,
        at: at(100 + attempt),
    }
}

async fn deliveries_are_replaced_per_destination_and_go_with_their_run(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "job").await;
    let first = store.insert_run(&slot_run(job.id, 60)).await.expect("run");
    let second = store.insert_run(&slot_run(job.id, 120)).await.expect("run");
    store
        .record_deliveries(
            first,
            &[
                record("archive", "delivered", 1),
                record("hook", "failed", 1),
            ],
        )
        .await
        .expect("record");
    // A second attempt (or a redelivery) replaces only what it names.
    store
        .record_deliveries(first, &[record("hook", "delivered", 2)])
        .await
        .expect("record again");
    store
        .record_deliveries(second, &[record("hook", "skipped", 1)])
        .await
        .expect("record");
    let all = store.deliveries(&[first, second, 999]).await.expect("read");
    let of_first = &all[&first];
    assert_eq!(of_first.len(), 2);
    assert_eq!(of_first[0].destination, "archive");
    assert_eq!(of_first[1].status, "delivered");
    assert_eq!(of_first[1].attempt, 2);
    assert_eq!(of_first[1].location.as_deref(), Some("s3://b/hook"));
    assert_eq!(of_first[1].at, at(102));
    assert_eq!(all[&second][0].error.as_deref(), Some("HTTP 500"));
    assert!(!all.contains_key(&999));

    let err = store
        .record_deliveries(first, &[record("hook", "lost", 3)])
        .await
        .expect_err("unknown status");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    // Deleting the job deletes its runs and their deliveries.
    store.delete_job("job").await.expect("delete");
    assert!(store.deliveries(&[first]).await.expect("read").is_empty());
    // Recording for a run that is gone records nothing.
    store
        .record_deliveries(first, &[record("hook", "delivered", 4)])
        .await
        .expect("no error for a gone run");
    assert!(store.deliveries(&[first]).await.expect("read").is_empty());
}
