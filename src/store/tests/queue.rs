//! The run queue: slots put in by every instance, taken once, shares first
//! then what others leave, overlap settled across takers, waiting runs
//! woken, missed spans skipped, cancel requests.

use std::collections::{HashMap, HashSet};

use super::{TestDb, at, seed_job, slot_run, store_test};
use crate::job::OverlapPolicy;
use crate::scheduler::overlap;
use crate::store::{
    MissedSlots, NewRun, Partition, RunFilter, RunId, RunStatus, RunWrite, Store, TakeRequest,
    Taken, Trigger,
};

store_test!(
    every_due_slot_is_taken_once_by_concurrent_takers,
    a_share_is_taken_first_and_the_rest_once_it_waited,
    an_exclusive_job_starts_once_across_concurrent_takers,
    waiting_runs_are_woken_when_the_run_ends,
    missed_spans_skip_the_slots_left_in_the_queue,
    cancel_requests_reach_the_instance_running_the_run,
    runs_an_instance_lost_track_of_are_interrupted_and_retried,
);

/// A slot in the queue, owned by nobody.
fn queued(job: i64, secs: i64) -> NewRun {
    NewRun {
        instance_id: None,
        ..slot_run(job, secs)
    }
}

fn request(instance: &str, now: i64, capacity: usize) -> TakeRequest<'_> {
    TakeRequest {
        instance_id: instance,
        now: at(now),
        capacity,
        partition: Partition::ALL,
        steal_before: at(now),
        only: None,
    }
}

async fn take(store: &Store, request: &TakeRequest<'_>, policy: OverlapPolicy) -> Taken {
    let decide = Box::new(move |due: &[_], waiting: &[_], running: &[_], capacity| {
        overlap::decide(due, waiting, running, capacity, &|_| Some(policy))
    });
    store.take_due(request, decide).await.expect("take")
}

fn finished(run_id: RunId, attempt: i32, secs: i64) -> RunWrite {
    RunWrite::Finished {
        run_id,
        attempt,
        status: RunStatus::Succeeded,
        at: at(secs),
        rows: None,
        bytes: None,
        outputs: Vec::new(),
        error: None,
    }
}

async fn every_due_slot_is_taken_once_by_concurrent_takers(db: TestDb) {
    let setup = db.open().await;
    let mut jobs = Vec::new();
    for i in 0..20 {
        jobs.push(seed_job(&setup, &format!("job-{i}")).await.id);
    }
    // Three "instances" put the same slots in, as each instance does.
    let slots: Vec<NewRun> = jobs
        .iter()
        .flat_map(|&job| (0..5).map(move |s| queued(job, s)))
        .collect();
    let mut puts = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let store = db.open().await;
        let slots = slots.clone();
        puts.spawn(async move { store.enqueue_slots(&slots).await.expect("enqueue") });
    }
    let mut inserted = 0;
    while let Some(ids) = puts.join_next().await {
        inserted += ids.expect("task").iter().flatten().count();
    }
    assert_eq!(inserted, slots.len(), "each slot is one row");
    // Six takers with room for 7 runs each take until the queue is empty.
    let mut takers = tokio::task::JoinSet::new();
    for t in 0..6 {
        let store = db.open().await;
        takers.spawn(async move {
            let me = format!("inst-{t}");
            let mut mine = Vec::new();
            loop {
                let taken = take(&store, &request(&me, 10, 7), OverlapPolicy::Allow).await;
                assert!(taken.started.len() <= 7, "took more than its capacity");
                if taken.started.is_empty() && !taken.more {
                    return mine;
                }
                mine.extend(taken.started.iter().map(|r| r.id));
            }
        });
    }
    let mut starts: HashMap<RunId, usize> = HashMap::new();
    while let Some(mine) = takers.join_next().await {
        for id in mine.expect("taker") {
            *starts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(starts.len(), slots.len());
    assert!(starts.values().all(|n| *n == 1), "a run was taken twice");
    let running = setup.running_runs().await.expect("running");
    assert_eq!(running.len(), slots.len());
    assert!(
        running
            .iter()
            .all(|r| r.attempt == 1 && r.started_at == Some(at(10)))
    );
}

async fn a_share_is_taken_first_and_the_rest_once_it_waited(db: TestDb) {
    let store = db.open().await;
    let mut jobs = Vec::new();
    for i in 0..6 {
        jobs.push(seed_job(&store, &format!("job-{i}")).await.id);
    }
    let slots: Vec<NewRun> = jobs.iter().map(|&job| queued(job, 100)).collect();
    store.enqueue_slots(&slots).await.expect("enqueue");
    let share = Partition { index: 1, count: 2 };
    // At the slot: only this instance's share.
    let own = TakeRequest {
        partition: share,
        steal_before: at(99),
        ..request("inst-b", 100, 10)
    };
    let taken = take(&store, &own, OverlapPolicy::Skip).await;
    let took: HashSet<i64> = taken.started.iter().map(|r| r.job_id).collect();
    let want: HashSet<i64> = jobs.iter().copied().filter(|j| share.owns(*j)).collect();
    assert_eq!(took, want);
    assert_eq!(took.len(), 3);
    // A moment later the other share's slots, still there, are taken too.
    let later = TakeRequest {
        partition: share,
        steal_before: at(100),
        ..request("inst-b", 101, 10)
    };
    let rest = take(&store, &later, OverlapPolicy::Skip).await;
    assert_eq!(rest.started.len(), 3);
    assert!(rest.started.iter().all(|r| !share.owns(r.job_id)));
    // Slots not yet due are not taken.
    store
        .enqueue_slots(&[queued(jobs[0], 200)])
        .await
        .expect("enqueue");
    assert!(
        take(&store, &request("inst-b", 150, 10), OverlapPolicy::Skip)
            .await
            .started
            .is_empty()
    );
}

async fn an_exclusive_job_starts_once_across_concurrent_takers(db: TestDb) {
    let setup = db.open().await;
    let job = seed_job(&setup, "a").await.id;
    // A backlog of caught-up slots: one at a time, whoever takes.
    let backlog: Vec<NewRun> = (0..8)
        .map(|s| NewRun {
            trigger: Trigger::CatchUp,
            ..queued(job, s)
        })
        .collect();
    setup.enqueue_slots(&backlog).await.expect("enqueue");
    let mut takers = tokio::task::JoinSet::new();
    for t in 0..8 {
        let store = db.open().await;
        takers.spawn(async move {
            let me = format!("inst-{t}");
            take(&store, &request(&me, 10, 4), OverlapPolicy::Skip)
                .await
                .started
                .len()
        });
    }
    let mut started = 0;
    while let Some(n) = takers.join_next().await {
        started += n.expect("taker");
    }
    assert_eq!(started, 1, "an exclusive job ran twice at once");
    let running = setup.running_runs().await.expect("running");
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].scheduled_for, at(0), "oldest first");
}

async fn waiting_runs_are_woken_when_the_run_ends(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    store
        .enqueue_slots(&[queued(job, 0)])
        .await
        .expect("enqueue");
    let first = take(&store, &request("inst-a", 0, 4), OverlapPolicy::QueueOne).await;
    let running = first.started[0].id;
    // Two slots come while it runs: the newer waits, the older is replaced.
    store
        .enqueue_slots(&[queued(job, 60), queued(job, 120)])
        .await
        .expect("enqueue");
    let busy = take(&store, &request("inst-b", 120, 4), OverlapPolicy::QueueOne).await;
    assert!(busy.started.is_empty());
    assert_eq!(busy.skipped.len(), 1);
    assert_eq!(busy.skipped[0].0.scheduled_for, at(60));
    assert!(
        busy.skipped[0].1.contains("queue_one"),
        "{:?}",
        busy.skipped
    );
    // A waiting run is not looked at again until the job's run ends.
    let again = take(&store, &request("inst-b", 130, 4), OverlapPolicy::QueueOne).await;
    assert_eq!(again, Taken::default());
    let woken = store
        .write_batch(&[finished(running, 1, 140)])
        .await
        .expect("finish");
    assert_eq!(woken, 1);
    let next = take(&store, &request("inst-b", 141, 4), OverlapPolicy::QueueOne).await;
    assert_eq!(next.started.len(), 1);
    assert_eq!(next.started[0].scheduled_for, at(120));
    let run = store
        .get_run(next.started[0].id)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(
        (run.status, run.instance_id.as_deref()),
        (RunStatus::Running, Some("inst-b"))
    );
    // A finish that wakes nothing says so.
    let woken = store
        .write_batch(&[finished(next.started[0].id, 1, 150)])
        .await
        .expect("finish");
    assert_eq!(woken, 0);
}

async fn missed_spans_skip_the_slots_left_in_the_queue(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let other = seed_job(&store, "b").await.id;
    let slots: Vec<NewRun> = (0..6).map(|s| queued(job, s * 60)).collect();
    store.enqueue_slots(&slots).await.expect("enqueue");
    store
        .enqueue_slots(&[queued(other, 60)])
        .await
        .expect("enqueue");
    // Nobody took them: they do not count as the last slot run.
    assert_eq!(store.last_slot(job, false).await.expect("last"), None);
    // With another instance there to take them, they count.
    assert_eq!(
        store.last_slot(job, true).await.expect("last"),
        Some(at(300))
    );
    let span = MissedSlots {
        job_id: job,
        first: at(0),
        last: at(180),
        reason: "missed 4 slots while cronport was not running".into(),
        at: at(1_000),
        instance_id: "inst-a".into(),
    };
    store
        .skip_missed(&[span], std::time::Duration::from_secs(15))
        .await
        .expect("skip");
    let runs = store
        .list_runs(&RunFilter {
            job: Some("a".into()),
            limit: 100,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    let status: Vec<(i64, RunStatus)> = runs
        .iter()
        .rev()
        .map(|r| (r.scheduled_for.timestamp() - at(0).timestamp(), r.status))
        .collect();
    use RunStatus::{Queued, Skipped};
    assert_eq!(
        status,
        [
            (0, Skipped),
            (60, Skipped),
            (120, Skipped),
            (180, Skipped),
            (240, Queued),
            (300, Queued)
        ]
    );
    assert!(runs.iter().filter(|r| r.status == Skipped).all(|r| {
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("missed 4 slots"))
    }));
    assert_eq!(
        store.last_slot(job, false).await.expect("last"),
        Some(at(180))
    );
    let b = store
        .list_runs(&RunFilter {
            job: Some("b".into()),
            limit: 10,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].status, Queued, "another job's slot is left alone");
    // A span whose last slot was never queued gets its entry.
    let span = MissedSlots {
        job_id: other,
        first: at(600),
        last: at(660),
        reason: "missed 2 slots".into(),
        at: at(1_000),
        instance_id: "inst-a".into(),
    };
    store
        .skip_missed(&[span], std::time::Duration::from_secs(15))
        .await
        .expect("skip");
    assert_eq!(
        store.last_slot(other, false).await.expect("last"),
        Some(at(660))
    );
}

async fn cancel_requests_reach_the_instance_running_the_run(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    store
        .enqueue_slots(&[queued(job, 0)])
        .await
        .expect("enqueue");
    let taken = take(
        &store,
        &request("inst-a", 0, 1),
        OverlapPolicy::CancelPrevious,
    )
    .await;
    let run = taken.started[0].id;
    assert!(
        store
            .cancel_requests("inst-a")
            .await
            .expect("read")
            .is_empty()
    );
    // Another instance takes the next slot: it asks inst-a to stop the run,
    // and the slot waits for it.
    store
        .enqueue_slots(&[queued(job, 60)])
        .await
        .expect("enqueue");
    let next = take(
        &store,
        &request("inst-b", 60, 1),
        OverlapPolicy::CancelPrevious,
    )
    .await;
    assert!(next.started.is_empty());
    assert_eq!(next.cancelled.len(), 1);
    assert_eq!(next.cancelled[0].instance_id.as_deref(), Some("inst-a"));
    assert_eq!(store.cancel_requests("inst-a").await.expect("read"), [run]);
    assert!(
        store
            .cancel_requests("inst-b")
            .await
            .expect("read")
            .is_empty()
    );
    // Asked directly too (a console's cancel); a run not running is refused.
    assert!(store.request_cancel(run, at(61)).await.expect("ask"));
    store
        .write_batch(&[finished(run, 1, 62)])
        .await
        .expect("finish");
    assert!(!store.request_cancel(run, at(63)).await.expect("ask"));
    assert!(
        store
            .cancel_requests("inst-a")
            .await
            .expect("read")
            .is_empty()
    );
}

async fn runs_an_instance_lost_track_of_are_interrupted_and_retried(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    store
        .enqueue_slots(&[queued(job, 0), queued(job, 60)])
        .await
        .expect("enqueue");
    let taken = take(&store, &request("inst-a", 60, 4), OverlapPolicy::Allow).await;
    let ids: Vec<RunId> = taken.started.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 2);
    let mut own = store.own_runs("inst-a").await.expect("own");
    own.sort();
    assert_eq!(own, vec![(ids[0], Some(at(60))), (ids[1], Some(at(60)))]);
    // Only the instance's own runs, only those still running.
    let recovered = store
        .interrupt_orphans("inst-b", &ids, at(200), &|_| true)
        .await
        .expect("not b's");
    assert!(recovered.is_empty());
    let recovered = store
        .interrupt_orphans("inst-a", &ids[..1], at(200), &|_| true)
        .await
        .expect("interrupt");
    assert_eq!(recovered.len(), 1);
    let (run, retry) = &recovered[0];
    assert_eq!((run.id, run.status), (ids[0], RunStatus::Interrupted));
    let retry = store
        .get_run(retry.expect("a retry"))
        .await
        .expect("get")
        .expect("retry");
    assert_eq!(
        (
            retry.trigger,
            retry.status,
            retry.retry_of,
            retry.instance_id
        ),
        (Trigger::Retry, RunStatus::Queued, Some(ids[0]), None)
    );
    assert_eq!(store.own_runs("inst-a").await.expect("own").len(), 1);
}
