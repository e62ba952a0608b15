//! Instances, the scheduler lease, and recovery of interrupted runs.

use std::collections::HashSet;
use std::time::Duration;

use super::{TestDb, at, seed_job, slot_run, store_test};
use crate::store::{
    InstanceInfo, NewRun, RunFilter, RunId, RunStatus, RunWrite, Store, StoreError, Trigger,
};

store_test!(
    lease_is_acquired_renewed_expires_and_is_stolen,
    live_instances_and_heartbeats,
    recovery_touches_only_stale_or_dead_instances,
    concurrent_recovery_returns_each_run_once,
    a_retry_stands_for_its_runs_slot,
);

fn instance(id: &str, started: i64) -> InstanceInfo {
    InstanceInfo {
        id: id.to_owned(),
        hostname: "host-1".to_owned(),
        pid: 4242,
        version: "0.1.0".to_owned(),
        started_at: at(started),
        takes_work: true,
    }
}

const TTL: Duration = Duration::from_secs(30);

async fn lease_is_acquired_renewed_expires_and_is_stolen(db: TestDb) {
    let store = db.open().await;
    let other = db.open().await;
    assert!(
        !store
            .try_acquire_lease("a", at(0), TTL)
            .await
            .expect("lease"),
        "unregistered"
    );
    store
        .register_instance(&instance("a", 0))
        .await
        .expect("register");
    other
        .register_instance(&instance("b", 0))
        .await
        .expect("register");
    assert_eq!(store.lease_holder(at(0)).await.expect("holder"), None);

    assert!(
        store
            .try_acquire_lease("a", at(0), TTL)
            .await
            .expect("take")
    );
    assert!(
        !other
            .try_acquire_lease("b", at(10), TTL)
            .await
            .expect("held by a")
    );
    assert_eq!(
        other.lease_holder(at(10)).await.expect("holder"),
        Some(instance("a", 0))
    );
    // Renewal moves the expiry: at 40 the first lease (0+30) would be over.
    assert!(
        store
            .try_acquire_lease("a", at(20), TTL)
            .await
            .expect("renew")
    );
    assert!(
        !other
            .try_acquire_lease("b", at(40), TTL)
            .await
            .expect("renewed until 50")
    );
    // a stops renewing: b takes over once it expires.
    assert_eq!(other.lease_holder(at(50)).await.expect("holder"), None);
    assert!(
        other
            .try_acquire_lease("b", at(50), TTL)
            .await
            .expect("steal after expiry")
    );
    assert!(
        !store
            .try_acquire_lease("a", at(55), TTL)
            .await
            .expect("b holds it")
    );
    assert_eq!(
        store
            .lease_holder(at(55))
            .await
            .expect("holder")
            .map(|i| i.id),
        Some("b".into())
    );
    // Release by a non-holder does nothing; by the holder frees it.
    store.release_lease("a").await.expect("release");
    assert!(store.lease_holder(at(56)).await.expect("holder").is_some());
    other.mark_stopped("b", at(57)).await.expect("stop");
    assert_eq!(store.lease_holder(at(57)).await.expect("holder"), None);
    assert!(
        store
            .try_acquire_lease("a", at(58), TTL)
            .await
            .expect("free again")
    );
}

async fn live_instances_and_heartbeats(db: TestDb) {
    let store = db.open().await;
    store
        .register_instance(&instance("a", 0))
        .await
        .expect("register");
    store
        .register_instance(&instance("b", 5))
        .await
        .expect("register");
    store
        .register_instance(&instance("c", 6))
        .await
        .expect("register");
    store.heartbeat("a", at(100)).await.expect("beat");
    store.heartbeat("c", at(100)).await.expect("beat");
    store.mark_stopped("c", at(101)).await.expect("stop");
    let live = store.live_instances(at(110), TTL).await.expect("live");
    assert_eq!(live, [instance("a", 0)]);
    let err = store.heartbeat("ghost", at(1)).await.expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    // Registering again revives a stopped id.
    store
        .register_instance(&instance("c", 200))
        .await
        .expect("register");
    let live = store.live_instances(at(200), TTL).await.expect("live");
    assert_eq!(
        live.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
}

/// Creates `n` runs of `job` owned by `instance`, started (attempt 1) at
/// `at(0)`; returns their ids.
async fn running_runs(
    store: &Store,
    job: i64,
    instance: &str,
    first_slot: i64,
    n: i64,
) -> Vec<RunId> {
    let runs: Vec<NewRun> = (0..n)
        .map(|i| NewRun {
            instance_id: Some(instance.to_owned()),
            ..slot_run(job, (first_slot + i) * 60)
        })
        .collect();
    let ids: Vec<RunId> = store
        .enqueue_slots(&runs)
        .await
        .expect("claim")
        .into_iter()
        .map(|id| id.expect("won"))
        .collect();
    let starts: Vec<RunWrite> = ids
        .iter()
        .map(|&run_id| RunWrite::Started {
            run_id,
            attempt: 1,
            instance_id: instance.to_owned(),
            at: at(0),
        })
        .collect();
    store.write_batch(&starts).await.expect("start");
    ids
}

async fn recovery_touches_only_stale_or_dead_instances(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    for id in ["alive", "silent", "dead-pid"] {
        store
            .register_instance(&instance(id, 0))
            .await
            .expect("register");
    }
    let alive = running_runs(&store, job, "alive", 0, 2).await;
    let silent = running_runs(&store, job, "silent", 10, 2).await;
    let dead = running_runs(&store, job, "dead-pid", 20, 1).await;
    // One of the silent instance's runs waits for its next attempt.
    store
        .write_batch(&[RunWrite::AttemptFailed {
            run_id: silent[1],
            attempt: 1,
            at: at(15),
            error: "connection reset".to_owned(),
            retry_at: at(300),
        }])
        .await
        .expect("fail an attempt");
    let waiting = store.get_run(silent[1]).await.expect("get").expect("run");
    assert_eq!(waiting.retry_at, Some(at(300)));
    let queued_of_silent = store
        .enqueue_slots(&[NewRun {
            instance_id: Some("silent".to_owned()),
            ..slot_run(job, 30 * 60)
        }])
        .await
        .expect("claim")[0]
        .expect("won");
    store.heartbeat("alive", at(100)).await.expect("beat");
    store.heartbeat("dead-pid", at(100)).await.expect("beat");
    store.heartbeat("silent", at(20)).await.expect("beat");

    // At 110 with a 60 s limit, "silent" (last seen at 20) is stale.
    let recovered = store
        .recover_interrupted(at(110), Duration::from_secs(60), &[], &|_| false)
        .await
        .expect("recover");
    let got: Vec<RunId> = recovered.iter().map(|(r, _)| r.id).collect();
    let mut want = silent.clone();
    want.push(queued_of_silent);
    assert_eq!(got, want);
    for (run, retry) in &recovered {
        assert_eq!(*retry, None, "no retry was asked for");
        assert_eq!(run.status, RunStatus::Interrupted);
        assert_eq!(run.finished_at, Some(at(110)));
        assert_eq!(run.retry_at, None, "an interrupted run waits for nothing");
        assert!(
            run.error.as_deref().is_some_and(|e| e.contains("silent")),
            "{run:?}"
        );
    }
    let attempts = store.attempts(silent[0]).await.expect("attempts");
    assert_eq!(attempts[0].status, RunStatus::Interrupted);
    assert_eq!(attempts[0].finished_at, Some(at(110)));

    // "dead-pid" heartbeats but the caller knows its process is gone.
    let recovered = store
        .recover_interrupted(
            at(111),
            Duration::from_secs(60),
            &["dead-pid".to_owned()],
            &|_| false,
        )
        .await
        .expect("recover");
    assert_eq!(
        recovered.iter().map(|(r, _)| r.id).collect::<Vec<_>>(),
        dead
    );
    // Nothing left to do; the live instance's runs are untouched.
    assert!(
        store
            .recover_interrupted(
                at(112),
                Duration::from_secs(60),
                &["dead-pid".to_owned()],
                &|_| false,
            )
            .await
            .expect("recover")
            .is_empty()
    );
    for id in alive {
        let run = store.get_run(id).await.expect("get").expect("run");
        assert_eq!(run.status, RunStatus::Running);
    }
}

async fn concurrent_recovery_returns_each_run_once(db: TestDb) {
    let store = db.open().await;
    let other = db.open().await;
    let job = seed_job(&store, "a").await.id;
    store
        .register_instance(&instance("gone", 0))
        .await
        .expect("register");
    let ids: HashSet<RunId> = running_runs(&store, job, "gone", 0, 40)
        .await
        .into_iter()
        .collect();
    for round in 0..3 {
        let (x, y) = tokio::join!(
            store.recover_interrupted(at(1_000 + round), Duration::from_secs(60), &[], &|_| true),
            other.recover_interrupted(at(1_000 + round), Duration::from_secs(60), &[], &|_| true),
        );
        let x: HashSet<RunId> = x.expect("recover").into_iter().map(|(r, _)| r.id).collect();
        let y: HashSet<RunId> = y.expect("recover").into_iter().map(|(r, _)| r.id).collect();
        assert!(x.is_disjoint(&y), "a run went to both callers");
        if round == 0 {
            assert_eq!(&x | &y, ids);
        } else {
            assert!(x.is_empty() && y.is_empty());
        }
    }
    // Each interrupted run got exactly one retry, in the queue for anyone.
    let queued = store
        .list_runs(&RunFilter {
            status: Some(RunStatus::Queued),
            limit: 1_000,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    let retried: HashSet<RunId> = queued.iter().filter_map(|r| r.retry_of).collect();
    assert_eq!((queued.len(), retried), (ids.len(), ids));
    assert!(
        queued
            .iter()
            .all(|r| r.instance_id.is_none() && r.trigger == Trigger::Retry)
    );
}

/// A run whose slot ran late (jitter, a deferral) is retried for its slot:
/// the retry's window ends there, and a backfill counts the slot done.
async fn a_retry_stands_for_its_runs_slot(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    store
        .register_instance(&instance("gone", 0))
        .await
        .expect("register");
    let late = NewRun {
        instance_id: Some("gone".to_owned()),
        scheduled_for: at(600 + 180),
        ..slot_run(job, 600)
    };
    let id = store.enqueue_slots(&[late]).await.expect("claim")[0].expect("won");
    store
        .write_batch(&[RunWrite::Started {
            run_id: id,
            attempt: 1,
            instance_id: "gone".to_owned(),
            at: at(780),
        }])
        .await
        .expect("start");
    let recovered = store
        .recover_interrupted(
            at(900),
            Duration::from_secs(60),
            &["gone".to_owned()],
            &|_| true,
        )
        .await
        .expect("recover");
    let retry = recovered[0].1.expect("a retry");
    let retry = store.get_run(retry).await.expect("get").expect("run");
    assert_eq!(retry.trigger, Trigger::Retry);
    assert_eq!(retry.scheduled_for, at(600), "the slot, not when it ran");
}
