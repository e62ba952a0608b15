//! Catch-up plans (`catch_up = "ask"`): recorded once per job and downtime
//! even by instances racing, decided once even by people racing, approved
//! slots queued once as `catch_up` runs, declined ones recorded skipped.

use super::{TestDb, at, seed_job, slot_run, store_test};
use crate::store::{
    NewPlan, NewRun, PlanDecision, PlanSlot, PlanStatus, RunFilter, RunStatus, SlotSelection,
    Store, StoreError, Trigger,
};

store_test!(
    a_downtime_is_kept_as_one_plan,
    instances_noticing_one_downtime_at_once_record_one_plan,
    approving_some_queues_them_and_declines_the_rest,
    two_people_approving_at_once_queue_each_slot_once,
    declining_records_the_slots_skipped_naming_who,
    a_bad_selection_changes_nothing,
    decided_plans_are_pruned_with_the_history_and_pending_ones_kept,
);

/// A plan of `job`'s slots at `at(s)` for each `s`, due 30 s after each.
fn plan(job: i64, secs: &[i64], instance: &str) -> NewPlan {
    NewPlan {
        job_id: job,
        slots: secs
            .iter()
            .map(|s| PlanSlot {
                slot: at(*s),
                at: at(*s + 30),
            })
            .collect(),
        created_at: at(10_000),
        instance_id: instance.to_owned(),
    }
}

async fn runs_of(store: &Store, job: &str) -> Vec<(i64, Trigger, RunStatus, Option<String>)> {
    let mut runs: Vec<_> = store
        .list_runs(&RunFilter {
            job: Some(job.into()),
            limit: 1_000,
            ..RunFilter::default()
        })
        .await
        .expect("list runs")
        .into_iter()
        .map(|r| {
            (
                r.slot.map_or(-1, |s| s.timestamp() - at(0).timestamp()),
                r.trigger,
                r.status,
                r.error,
            )
        })
        .collect();
    runs.sort_by_key(|r| r.0);
    runs
}

async fn a_downtime_is_kept_as_one_plan(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    store
        .enqueue_slots(&[NewRun {
            status: RunStatus::Skipped,
            ..slot_run(job, 0)
        }])
        .await
        .expect("a slot before the downtime");
    let id = store
        .record_catchup_plan(&plan(job, &[300, 600, 900], "inst-a"))
        .await
        .expect("record")
        .expect("a new plan");
    // Noticed again, from a later restart or another instance: the same
    // downtime, even seen a slot longer or shorter.
    for again in [&[300, 600, 900][..], &[300, 600, 900, 1200], &[600, 900]] {
        let second = store
            .record_catchup_plan(&plan(job, again, "inst-b"))
            .await
            .expect("record again");
        assert_eq!(second, None, "{again:?}");
    }
    let plans = store.catchup_plans(false).await.expect("list");
    assert_eq!(plans.len(), 1);
    let p = &plans[0];
    assert_eq!((p.id, p.job_name.as_str(), p.count), (id, "a", 3));
    assert_eq!((p.first, p.last), (at(300), at(900)));
    assert_eq!(p.status, PlanStatus::Pending);
    assert_eq!(p.instance_id, "inst-a");
    // Missed-slot detection resumes after the plan, so a restart does not
    // notice it again; alone or not.
    for queue_taken in [false, true] {
        assert_eq!(
            store.last_slot(job, queue_taken).await.expect("last"),
            Some(at(900))
        );
        let all = store.last_slots(queue_taken).await.expect("last slots");
        assert_eq!(all.get(&job), Some(&at(900)));
    }
    // A later downtime is a plan of its own.
    let later = store
        .record_catchup_plan(&plan(job, &[3_600, 3_900], "inst-a"))
        .await
        .expect("record later");
    assert!(later.is_some_and(|later| later != id));
    let (read, slots) = store.catchup_plan_slots(id).await.expect("slots");
    assert_eq!(read, *p);
    assert_eq!(
        slots.iter().map(|s| (s.slot, s.at)).collect::<Vec<_>>(),
        [(at(300), at(330)), (at(600), at(630)), (at(900), at(930))]
    );
    let gone = store
        .record_catchup_plan(&plan(9_999, &[60], "inst-a"))
        .await
        .expect("a deleted job's plan");
    assert_eq!(gone, None);
    let missing = store.catchup_plan_slots(9_999).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

async fn instances_noticing_one_downtime_at_once_record_one_plan(db: TestDb) {
    let setup = db.open().await;
    let job = seed_job(&setup, "a").await.id;
    // Eight instances starting at once, each with a pool of its own; some
    // see the downtime a slot longer (they started a moment later), some
    // a slot shorter at its start (they read the last slot after an
    // on-time run of another went in): overlapping plans, not equal ones.
    let mut tasks = tokio::task::JoinSet::new();
    // Each connects first, then all record together.
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    for i in 0..8 {
        let db = db.clone();
        let start = start.clone();
        tasks.spawn(async move {
            let store = db.open().await;
            start.wait().await;
            let secs: Vec<i64> = (1 + i % 3..=10 + i % 2).map(|s| s * 60).collect();
            let id = store
                .record_catchup_plan(&plan(job, &secs, &format!("inst-{i}")))
                .await
                .expect("record");
            store.close().await;
            id
        });
    }
    let mut won = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Some(id) = result.expect("task") {
            won.push(id);
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let plans = setup.catchup_plans(true).await.expect("list");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].id, won[0]);
}

async fn approving_some_queues_them_and_declines_the_rest(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let id = store
        .record_catchup_plan(&plan(job, &[60, 120, 180, 240, 300], "inst-a"))
        .await
        .expect("record")
        .expect("new");
    let decided = store
        .decide_catchup_plan(
            id,
            PlanDecision::Approve(SlotSelection::Range { first: 2, last: 3 }),
            "ana@ops",
            at(20_000),
        )
        .await
        .expect("approve");
    assert_eq!(
        (decided.queued, decided.not_queued, decided.declined),
        (2, 0, 3)
    );
    assert_eq!(decided.plan.status, PlanStatus::Approved);
    assert_eq!(decided.plan.decided_by.as_deref(), Some("ana@ops"));
    assert_eq!(decided.plan.decided_at, Some(at(20_000)));
    assert_eq!(decided.plan.approved, Some(2));
    let runs = runs_of(&store, "a").await;
    let shape: Vec<_> = runs.iter().map(|r| (r.0, r.1, r.2)).collect();
    use RunStatus::{Queued, Skipped};
    assert_eq!(
        shape,
        [
            (60, Trigger::CatchUp, Skipped),
            (120, Trigger::CatchUp, Queued),
            (180, Trigger::CatchUp, Queued),
            (300, Trigger::CatchUp, Skipped),
        ]
    );
    // The declined spans: one before the approved slots, one after.
    let first = runs[0].3.as_deref().unwrap_or_default();
    assert!(
        first.contains("declined by ana@ops: 1 missed slot from"),
        "{first}"
    );
    let last = runs[3].3.as_deref().unwrap_or_default();
    assert!(
        last.contains("declined by ana@ops: 2 missed slots from"),
        "{last}"
    );
    assert!(last.contains(&format!("catch-up plan {id}")), "{last}");
    // Approved runs are due when their slots were, in the shared queue.
    let queued = store
        .list_runs(&RunFilter {
            job: Some("a".into()),
            limit: 10,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    let mut due: Vec<_> = queued
        .iter()
        .filter(|r| r.status == Queued)
        .map(|r| (r.scheduled_for, r.instance_id.clone()))
        .collect();
    due.sort();
    assert_eq!(due, [(at(150), None), (at(210), None)]);
    // Decided: no longer listed as pending, and not decided twice.
    assert!(store.catchup_plans(false).await.expect("list").is_empty());
    let again = store
        .decide_catchup_plan(id, PlanDecision::Decline, "bo@ops", at(20_001))
        .await;
    match again {
        Err(StoreError::Conflict { what }) => {
            assert!(what.contains("approved already by ana@ops"), "{what}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn two_people_approving_at_once_queue_each_slot_once(db: TestDb) {
    let setup = db.open().await;
    let job = seed_job(&setup, "a").await.id;
    let secs: Vec<i64> = (1..=40).map(|s| s * 60).collect();
    // One slot already ran (an instance's on-time run): it is not queued again.
    setup
        .enqueue_slots(&[slot_run(job, 40 * 60)])
        .await
        .expect("a run");
    let id = setup
        .record_catchup_plan(&plan(job, &secs, "inst-a"))
        .await
        .expect("record")
        .expect("new");
    let mut tasks = tokio::task::JoinSet::new();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(3));
    for who in ["ana@ops", "bo@ops", "cy@ops"] {
        let db = db.clone();
        let start = start.clone();
        tasks.spawn(async move {
            let store = db.open().await;
            start.wait().await;
            let outcome = store
                .decide_catchup_plan(
                    id,
                    PlanDecision::Approve(SlotSelection::All),
                    who,
                    at(50_000),
                )
                .await;
            store.close().await;
            outcome
        });
    }
    let mut ok = Vec::new();
    let mut refused = 0;
    while let Some(result) = tasks.join_next().await {
        match result.expect("task") {
            Ok(decided) => ok.push(decided),
            Err(StoreError::Conflict { .. }) => refused += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((ok.len(), refused), (1, 2));
    assert_eq!((ok[0].queued, ok[0].not_queued), (39, 1));
    let runs = runs_of(&setup, "a").await;
    assert_eq!(runs.len(), 40);
    let catch_up = runs.iter().filter(|r| r.1 == Trigger::CatchUp).count();
    assert_eq!(catch_up, 39);
}

async fn declining_records_the_slots_skipped_naming_who(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let id = store
        .record_catchup_plan(&plan(job, &[60, 120, 180], "inst-a"))
        .await
        .expect("record")
        .expect("new");
    let decided = store
        .decide_catchup_plan(id, PlanDecision::Decline, "ana@ops", at(20_000))
        .await
        .expect("decline");
    assert_eq!((decided.queued, decided.declined), (0, 3));
    assert_eq!(decided.plan.status, PlanStatus::Declined);
    assert_eq!(decided.plan.approved, Some(0));
    let runs = runs_of(&store, "a").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0].0, runs[0].2), (180, RunStatus::Skipped));
    let reason = runs[0].3.as_deref().unwrap_or_default();
    assert!(
        reason.contains("declined by ana@ops: 3 missed slots from 2025-03-01T00:01:00+00:00 to 2025-03-01T00:03:00+00:00"),
        "{reason}"
    );
    let all = store.catchup_plans(true).await.expect("list all");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].decided_by.as_deref(), Some("ana@ops"));
}

async fn a_bad_selection_changes_nothing(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let id = store
        .record_catchup_plan(&plan(job, &[60, 120, 180], "inst-a"))
        .await
        .expect("record")
        .expect("new");
    for selection in [
        SlotSelection::Range { first: 2, last: 4 },
        SlotSelection::Range { first: 0, last: 1 },
        SlotSelection::Range { first: 3, last: 2 },
    ] {
        let outcome = store
            .decide_catchup_plan(id, PlanDecision::Approve(selection), "ana@ops", at(1))
            .await;
        assert!(
            matches!(outcome, Err(StoreError::Invalid { .. })),
            "{selection:?}: {outcome:?}"
        );
    }
    assert!(runs_of(&store, "a").await.is_empty());
    let plans = store.catchup_plans(false).await.expect("list");
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].status, PlanStatus::Pending);
    let latest = store
        .decide_catchup_plan(
            id,
            PlanDecision::Approve(SlotSelection::Latest),
            "ana@ops",
            at(2),
        )
        .await
        .expect("approve the newest");
    assert_eq!((latest.queued, latest.declined), (1, 2));
}

async fn decided_plans_are_pruned_with_the_history_and_pending_ones_kept(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    let decided = store
        .record_catchup_plan(&plan(job, &[60, 120], "inst-a"))
        .await
        .expect("record")
        .expect("new");
    let pending = store
        .record_catchup_plan(&plan(job, &[600, 660], "inst-a"))
        .await
        .expect("record")
        .expect("new");
    store
        .decide_catchup_plan(decided, PlanDecision::Decline, "ana@ops", at(1_000))
        .await
        .expect("decline");
    // Before the decision: both stay.
    store.prune_history(at(999)).await.expect("prune");
    assert_eq!(store.catchup_plans(true).await.expect("list").len(), 2);
    store.prune_history(at(100_000)).await.expect("prune");
    let left: Vec<_> = store
        .catchup_plans(true)
        .await
        .expect("list")
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(left, [pending]);
}
