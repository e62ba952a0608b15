//! Putting slots in the store, recording runs, listing history, statistics, pruning.

use std::collections::HashMap;

use super::{TestDb, at, manual_run, seed_job, slot_run, store_test};
use crate::store::{NewRun, RunFilter, RunId, RunStatus, RunWrite, StoreError, Trigger};

store_test!(
    a_slot_is_claimed_once,
    concurrent_claims_from_two_handles_win_each_slot_once,
    insert_run_checks_slot_and_job,
    list_filters_and_pages_newest_first,
    job_stats_count_runs_errors_and_streaks,
    failures_are_counted_per_window,
    prune_history_keeps_recent_and_unfinished_runs,
);

async fn a_slot_is_claimed_once(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let gone = seed_job(&store, "gone").await;
    assert_eq!(store.last_slot(job.id, false).await.expect("last"), None);
    let first = store
        .enqueue_slots(&[slot_run(job.id, 0), slot_run(job.id, 60)])
        .await
        .expect("claim");
    assert!(first.iter().all(Option::is_some));
    store.delete_job("gone").await.expect("delete");
    let second = store
        .enqueue_slots(&[
            slot_run(job.id, 60),
            slot_run(job.id, 120),
            slot_run(gone.id, 0),
        ])
        .await
        .expect("claim again");
    assert_eq!(second[0], None, "slot 60 was taken");
    assert!(second[1].is_some());
    assert_eq!(second[2], None, "the job no longer exists");
    assert_eq!(
        store.last_slot(job.id, false).await.expect("last"),
        Some(at(120))
    );

    // A run recorded as running gets its first attempt row at once.
    let running = NewRun {
        status: RunStatus::Running,
        attempt: 1,
        ..slot_run(job.id, 180)
    };
    let id = store.enqueue_slots(&[running]).await.expect("claim")[0].expect("won");
    let run = store.get_run(id).await.expect("get").expect("run");
    assert_eq!(
        (run.status, run.started_at),
        (RunStatus::Running, Some(at(180)))
    );
    assert_eq!(store.attempts(id).await.expect("attempts").len(), 1);
    let bad = NewRun {
        status: RunStatus::Succeeded,
        ..slot_run(job.id, 240)
    };
    let err = store
        .enqueue_slots(&[bad])
        .await
        .expect_err("not a new status");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

async fn concurrent_claims_from_two_handles_win_each_slot_once(db: TestDb) {
    let handles = [db.open().await, db.open().await];
    let setup = &handles[0];
    let jobs = [seed_job(setup, "a").await.id, seed_job(setup, "b").await.id];
    const SLOTS: i64 = 30;
    let mut tasks = tokio::task::JoinSet::new();
    for claimer in 0..12_usize {
        let store = handles[claimer % 2].clone();
        tasks.spawn(async move {
            // Every claimer wants every slot of both jobs, in its own order,
            // in batches of 10.
            let mut runs: Vec<NewRun> = jobs
                .iter()
                .flat_map(|&job| (0..SLOTS).map(move |s| slot_run(job, s * 60)))
                .collect();
            let shift = claimer * 7 % runs.len();
            runs.rotate_left(shift);
            if claimer % 3 == 0 {
                runs.reverse();
            }
            let mut won = Vec::new();
            for batch in runs.chunks(10) {
                let ids = store.enqueue_slots(batch).await.expect("claim");
                for (run, id) in batch.iter().zip(ids) {
                    if let Some(id) = id {
                        won.push((run.job_id, run.slot, id));
                    }
                }
            }
            won
        });
    }
    let mut winners: HashMap<(i64, Option<chrono::DateTime<chrono::Utc>>), Vec<RunId>> =
        HashMap::new();
    while let Some(won) = tasks.join_next().await {
        for (job, slot, id) in won.expect("claimer") {
            winners.entry((job, slot)).or_default().push(id);
        }
    }
    assert_eq!(winners.len() as i64, 2 * SLOTS);
    assert!(winners.values().all(|ids| ids.len() == 1), "{winners:?}");
    let all = setup
        .list_runs(&RunFilter {
            limit: 1_000,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(all.len() as i64, 2 * SLOTS);
}

async fn insert_run_checks_slot_and_job(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    store
        .enqueue_slots(&[slot_run(job.id, 0)])
        .await
        .expect("claim");
    let err = store
        .insert_run(&slot_run(job.id, 0))
        .await
        .expect_err("slot taken");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    // Manual runs have no slot and never conflict with each other.
    let m1 = store
        .insert_run(&manual_run(job.id, 5))
        .await
        .expect("manual");
    let m2 = store
        .insert_run(&manual_run(job.id, 5))
        .await
        .expect("manual again");
    assert!(m2 > m1);
    let retry = NewRun {
        trigger: Trigger::Retry,
        retry_of: Some(m1),
        ..manual_run(job.id, 9)
    };
    let r = store.insert_run(&retry).await.expect("retry");
    let rec = store.get_run(r).await.expect("get").expect("run");
    assert_eq!(
        (rec.trigger, rec.retry_of, rec.slot),
        (Trigger::Retry, Some(m1), None)
    );
    let skipped = NewRun {
        status: RunStatus::Skipped,
        error: Some("3 missed slots, 00:05 to 00:15".to_owned()),
        ..manual_run(job.id, 20)
    };
    let s = store.insert_run(&skipped).await.expect("skipped");
    let rec = store.get_run(s).await.expect("get").expect("run");
    assert_eq!(rec.finished_at, Some(at(20)));
    assert_eq!(rec.error.as_deref(), Some("3 missed slots, 00:05 to 00:15"));
    let err = store
        .insert_run(&manual_run(12_345, 0))
        .await
        .expect_err("no such job");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

/// Finishes `run` with `status` at `at(secs)` (attempt 1).
async fn finish(store: &crate::store::Store, run: RunId, status: RunStatus, secs: i64) {
    store
        .write_batch(&[
            RunWrite::Started {
                run_id: run,
                attempt: 1,
                instance_id: "inst-a".to_owned(),
                at: at(secs - 1),
            },
            RunWrite::Finished {
                run_id: run,
                attempt: 1,
                status,
                at: at(secs),
                rows: None,
                bytes: None,
                outputs: vec![],
                error: (status != RunStatus::Succeeded).then(|| "boom".to_owned()),
            },
        ])
        .await
        .expect("finish");
}

async fn list_filters_and_pages_newest_first(db: TestDb) {
    let store = db.open().await;
    let a = seed_job(&store, "a").await;
    let b = seed_job(&store, "b").await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let job = if i % 2 == 0 { a.id } else { b.id };
        let id = store
            .enqueue_slots(&[slot_run(job, i * 60)])
            .await
            .expect("claim")[0]
            .expect("won");
        let status = if i % 3 == 0 {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        };
        finish(&store, id, status, i * 60 + 30).await;
        ids.push(id);
    }
    let list = |job: Option<&str>, status: Option<RunStatus>, limit, before_id| {
        let store = store.clone();
        let filter = RunFilter {
            job: job.map(str::to_owned),
            status,
            since: None,
            limit,
            before_id,
        };
        async move {
            store
                .list_runs(&filter)
                .await
                .expect("list")
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<RunId>>()
        }
    };
    let newest_first: Vec<RunId> = ids.iter().rev().copied().collect();
    assert_eq!(list(None, None, 100, None).await, newest_first);
    let page1 = list(None, None, 4, None).await;
    let page2 = list(None, None, 4, page1.last().copied()).await;
    let page3 = list(None, None, 4, page2.last().copied()).await;
    assert_eq!([page1, page2, page3].concat(), newest_first);
    let of_a: Vec<RunId> = ids.iter().step_by(2).rev().copied().collect();
    assert_eq!(list(Some("a"), None, 100, None).await, of_a);
    // Failed: i = 0, 3, 6, 9.
    let failed = vec![ids[9], ids[6], ids[3], ids[0]];
    assert_eq!(list(None, Some(RunStatus::Failed), 100, None).await, failed);
    assert_eq!(
        list(Some("a"), Some(RunStatus::Failed), 100, None).await,
        [ids[6], ids[0]]
    );
    assert_eq!(
        list(Some("b"), Some(RunStatus::Failed), 1, Some(ids[9])).await,
        [ids[3]]
    );
    assert!(list(Some("nope"), None, 100, None).await.is_empty());
}

async fn failures_are_counted_per_window(db: TestDb) {
    let store = db.open().await;
    let a = seed_job(&store, "a").await;
    // Finished at 10, 70, 130, ... seconds: failed, interrupted, ok, failed...
    let statuses = [
        RunStatus::Failed,
        RunStatus::Interrupted,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::Failed,
    ];
    for (i, status) in statuses.into_iter().enumerate() {
        let secs = i as i64 * 60;
        let id = store
            .enqueue_slots(&[slot_run(a.id, secs)])
            .await
            .expect("claim")[0]
            .expect("won");
        finish(&store, id, status, secs + 10).await;
    }
    // One run still going counts nowhere.
    store
        .enqueue_slots(&[slot_run(a.id, 900)])
        .await
        .expect("claim");
    let windows: Vec<_> = [(0, 120), (120, 240), (240, 360), (1_000, 2_000), (0, 3_600)]
        .iter()
        .map(|&(s, e)| (at(s), at(e)))
        .collect();
    let counts = store.failures_per_window(&windows).await.expect("count");
    assert_eq!(counts, [2, 1, 1, 0, 4]);
    // More windows than one statement takes are counted all the same.
    let many: Vec<_> = (0..40).map(|i| (at(i * 60), at(i * 60 + 60))).collect();
    let counts = store.failures_per_window(&many).await.expect("count many");
    assert_eq!(counts.len(), 40);
    assert_eq!(&counts[..6], [1, 1, 0, 1, 0, 1]);
    assert_eq!(counts.iter().sum::<u64>(), 4);
}

async fn job_stats_count_runs_errors_and_streaks(db: TestDb) {
    let store = db.open().await;
    let a = seed_job(&store, "a").await;
    let b = seed_job(&store, "b").await;
    let idle = seed_job(&store, "idle").await;
    // a: ok, failed, ok, failed, interrupted, then a skipped entry.
    let statuses = [
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ];
    let mut last = 0;
    for (i, status) in statuses.into_iter().enumerate() {
        let secs = i as i64 * 60;
        last = store
            .enqueue_slots(&[slot_run(a.id, secs)])
            .await
            .expect("claim")[0]
            .expect("won");
        finish(&store, last, status, secs + 10).await;
    }
    let skipped = NewRun {
        status: RunStatus::Skipped,
        ..slot_run(a.id, 600)
    };
    store.enqueue_slots(&[skipped]).await.expect("skip");
    // b: one failure, never a success; and one still running.
    let bf = store
        .enqueue_slots(&[slot_run(b.id, 0)])
        .await
        .expect("claim")[0]
        .expect("won");
    finish(&store, bf, RunStatus::Failed, 10).await;
    store
        .enqueue_slots(&[slot_run(b.id, 60)])
        .await
        .expect("claim");

    let stats = store.job_stats().await.expect("stats");
    assert_eq!(stats.len(), 3);
    let of = |id| stats.iter().find(|s| s.job_id == id).expect("job in stats");
    let sa = of(a.id);
    assert_eq!(
        (sa.run_count, sa.error_count, sa.consecutive_failures),
        (5, 3, 2)
    );
    let la = sa.last_run.as_ref().expect("last run");
    assert_eq!((la.run_id, la.status), (last, RunStatus::Interrupted));
    assert_eq!(
        (la.started_at, la.finished_at),
        (Some(at(249)), Some(at(250)))
    );
    let sb = of(b.id);
    assert_eq!(
        (sb.run_count, sb.error_count, sb.consecutive_failures),
        (2, 1, 1)
    );
    assert_eq!(
        sb.last_run.as_ref().map(|r| r.status),
        Some(RunStatus::Queued)
    );
    let si = of(idle.id);
    assert_eq!(
        (si.run_count, si.error_count, si.consecutive_failures),
        (0, 0, 0)
    );
    assert!(si.last_run.is_none());

    // What a metrics scrape reads agrees: per job the last success and the
    // streak, the runs by status, the queued and running ones.
    let health = store.job_health().await.expect("health");
    let seen: Vec<_> = health
        .iter()
        .map(|h| (h.job_id, h.last_success, h.consecutive_failures))
        .collect();
    assert_eq!(
        seen,
        [
            (a.id, Some(at(130)), 2),
            (b.id, None, 1),
            (idle.id, None, 0)
        ]
    );
    let by_status = store.runs_by_status().await.expect("by status");
    let expected = [
        (RunStatus::Succeeded, 2),
        (RunStatus::Failed, 3),
        (RunStatus::Interrupted, 1),
        (RunStatus::Skipped, 1),
        (RunStatus::Queued, 1),
    ];
    assert_eq!(by_status, expected.into_iter().collect());
    let active = store.active_runs().await.expect("active");
    assert_eq!(active, [(RunStatus::Queued, 1)].into_iter().collect());
}

async fn prune_history_keeps_recent_and_unfinished_runs(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let ids = store
        .enqueue_slots(&[
            slot_run(job.id, 0),
            slot_run(job.id, 60),
            slot_run(job.id, 120),
        ])
        .await
        .expect("claim");
    let [old, recent, stuck] = [ids[0], ids[1], ids[2]].map(|id| id.expect("won"));
    finish(&store, old, RunStatus::Succeeded, 30).await;
    finish(&store, recent, RunStatus::Failed, 1_000).await;
    store
        .write_batch(&[
            super::writes::log(old, 1, "old line"),
            RunWrite::Started {
                run_id: stuck,
                attempt: 1,
                instance_id: "inst-a".to_owned(),
                at: at(121),
            },
        ])
        .await
        .expect("writes");
    assert_eq!(store.prune_history(at(500)).await.expect("prune"), 1);
    assert!(store.get_run(old).await.expect("get").is_none());
    assert!(store.run_logs(old, 0, 10).await.expect("logs").is_empty());
    assert!(store.get_run(recent).await.expect("get").is_some());
    assert!(
        store.get_run(stuck).await.expect("get").is_some(),
        "still running"
    );
    assert_eq!(store.prune_history(at(500)).await.expect("prune again"), 0);
    // The slot stays known through last_slot as long as a newer run exists.
    assert_eq!(
        store.last_slot(job.id, false).await.expect("last"),
        Some(at(120))
    );
}
