//! Per-job performance over a window: exact figures from known runs, and
//! (ignored, a measurement) the query's time on a store of 100,000 runs.

use std::time::Instant;

use chrono::Duration;

use super::{TestDb, at, manual_run, seed_job, slot_run, store_test};
use crate::store::{JobPerformance, NewRun, RunStatus, RunWrite, Store};

store_test!(figures_per_job_slowest_first, an_empty_window_has_no_jobs);

const DAY: i64 = 86_400;

/// Records a run of `job_id` that started at `at(start_secs)`, took
/// `took_ms` and ended `status` with `rows` and `bytes`.
async fn ended(
    store: &Store,
    job_id: i64,
    start_secs: i64,
    took_ms: i64,
    status: RunStatus,
    rows: Option<i64>,
    bytes: Option<i64>,
) {
    let run = NewRun {
        status: RunStatus::Running,
        attempt: 1,
        ..manual_run(job_id, start_secs)
    };
    let run_id = store.insert_run(&run).await.expect("insert run");
    store
        .write_batch(&[RunWrite::Finished {
            run_id,
            attempt: 1,
            status,
            at: at(start_secs) + Duration::milliseconds(took_ms),
            rows,
            bytes,
            outputs: Vec::new(),
            error: (status != RunStatus::Succeeded).then(|| "boom".to_string()),
        }])
        .await
        .expect("finish run");
}

async fn figures_per_job_slowest_first(db: TestDb) {
    let store = db.open().await;
    let slow = seed_job(&store, "slow").await.id;
    let fast = seed_job(&store, "fast").await.id;
    let broken = seed_job(&store, "broken").await.id;
    let stopped = seed_job(&store, "stopped").await.id;
    let idle = seed_job(&store, "idle").await.id;
    let since = at(DAY);
    let until = at(8 * DAY);

    // slow: 20 successes of 1..=20 s (i*100 rows, i*1000 bytes), a failure
    // of 60 s, an interrupted run of 500 s (counted as a failure, its
    // duration not: its end is when it was found dead) and a skipped entry.
    for i in 1..=20 {
        let start = DAY + i * 3_600;
        let ok = RunStatus::Succeeded;
        ended(
            &store,
            slow,
            start,
            i * 1_000,
            ok,
            Some(i * 100),
            Some(i * 1_000),
        )
        .await;
    }
    ended(&store, slow, 2 * DAY, 60_000, RunStatus::Failed, None, None).await;
    ended(
        &store,
        slow,
        3 * DAY,
        500_000,
        RunStatus::Interrupted,
        None,
        None,
    )
    .await;
    let skipped = NewRun {
        status: RunStatus::Skipped,
        ..slot_run(slow, 4 * DAY)
    };
    store.insert_run(&skipped).await.expect("skipped entry");
    // Outside the window: ended before it, and at its (excluded) end.
    ended(
        &store,
        slow,
        DAY - 7_200,
        3_600_000,
        RunStatus::Succeeded,
        Some(1),
        Some(1),
    )
    .await;
    ended(
        &store,
        slow,
        8 * DAY - 10,
        10_000,
        RunStatus::Succeeded,
        Some(1),
        Some(1),
    )
    .await;
    // Still running: not ended, not counted.
    let running = NewRun {
        status: RunStatus::Running,
        attempt: 1,
        ..manual_run(slow, 5 * DAY)
    };
    store.insert_run(&running).await.expect("running run");

    // fast: 2, 4 and 6 s, 10 rows and 50 bytes each.
    for (i, took) in [2_000, 4_000, 6_000].into_iter().enumerate() {
        let start = 2 * DAY + i as i64 * 60;
        ended(
            &store,
            fast,
            start,
            took,
            RunStatus::Succeeded,
            Some(10),
            Some(50),
        )
        .await;
    }
    // broken: one failure of 30 s, nothing exported.
    ended(
        &store,
        broken,
        3 * DAY,
        30_000,
        RunStatus::Failed,
        None,
        None,
    )
    .await;
    // stopped: one cancelled run; no duration counts.
    ended(
        &store,
        stopped,
        3 * DAY,
        45_000,
        RunStatus::Cancelled,
        None,
        None,
    )
    .await;
    // idle: only a run long before the window.
    ended(
        &store,
        idle,
        0,
        1_000,
        RunStatus::Succeeded,
        Some(5),
        Some(5),
    )
    .await;

    let report = store.performance(since, until).await.expect("performance");
    assert_eq!((report.since, report.until), (since, until));
    let expected = vec![
        JobPerformance {
            job_id: broken,
            job: "broken".into(),
            runs: 1,
            succeeded: 0,
            failures: 1,
            p50_ms: Some(30_000),
            p95_ms: Some(30_000),
            max_ms: Some(30_000),
            rows: 0,
            bytes: 0,
            busy_ms: 0,
        },
        // 21 durations (1..=20 s and 60 s): ranks 11 and 20.
        JobPerformance {
            job_id: slow,
            job: "slow".into(),
            runs: 22,
            succeeded: 20,
            failures: 2,
            p50_ms: Some(11_000),
            p95_ms: Some(20_000),
            max_ms: Some(60_000),
            rows: 21_000,
            bytes: 210_000,
            busy_ms: 210_000,
        },
        JobPerformance {
            job_id: fast,
            job: "fast".into(),
            runs: 3,
            succeeded: 3,
            failures: 0,
            p50_ms: Some(4_000),
            p95_ms: Some(6_000),
            max_ms: Some(6_000),
            rows: 30,
            bytes: 150,
            busy_ms: 12_000,
        },
        JobPerformance {
            job_id: stopped,
            job: "stopped".into(),
            runs: 1,
            succeeded: 0,
            failures: 0,
            p50_ms: None,
            p95_ms: None,
            max_ms: None,
            rows: 0,
            bytes: 0,
            busy_ms: 0,
        },
    ];
    assert_eq!(report.jobs, expected);
    let rate = |j: &JobPerformance| j.rows_per_sec();
    assert_eq!(rate(&report.jobs[0]), None);
    assert_eq!(rate(&report.jobs[1]), Some(100.0));
    assert_eq!(rate(&report.jobs[2]), Some(2.5));
}

async fn an_empty_window_has_no_jobs(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await.id;
    ended(
        &store,
        job,
        0,
        1_000,
        RunStatus::Succeeded,
        Some(1),
        Some(1),
    )
    .await;
    let report = store
        .performance(at(DAY), at(2 * DAY))
        .await
        .expect("performance");
    assert!(report.jobs.is_empty(), "{report:?}");
}

/// The summary's time on a SQLite store of 100,000 ended runs of 100 jobs,
/// all in a 7-day window (the worst case: nothing to skip). A measurement:
/// `cargo test --lib store::tests::performance::sqlite_summary_of_100k_runs
/// -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run explicitly"]
async fn sqlite_summary_of_100k_runs() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Store::open(&format!("sqlite://{}/perf.db", dir.path().display()))
        .await
        .expect("open");
    let mut jobs = Vec::new();
    for i in 0..100 {
        jobs.push(seed_job(&store, &format!("job-{i:03}")).await.id);
    }
    const BATCH: i64 = 1_000;
    for b in 0..100 {
        let runs: Vec<_> = (0..BATCH)
            .map(|i| slot_run(jobs[(i % 100) as usize], b * 6_000 + i * 6))
            .collect();
        let ids = store.enqueue_slots(&runs).await.expect("claim");
        let mut writes = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let Some(id) = *id else { continue };
            let start = at(b * 6_000 + i as i64 * 6);
            writes.push(RunWrite::Started {
                run_id: id,
                attempt: 1,
                instance_id: "bench".into(),
                at: start,
            });
            writes.push(RunWrite::Finished {
                run_id: id,
                attempt: 1,
                status: RunStatus::Succeeded,
                at: start + Duration::milliseconds(100 + (i as i64 * 37) % 5_000),
                rows: Some(100),
                bytes: Some(1_000),
                outputs: Vec::new(),
                error: None,
            });
        }
        store.write_batch(&writes).await.expect("write");
    }
    for round in 0..3 {
        let started = Instant::now();
        let report = store
            .performance(at(0), at(7 * DAY))
            .await
            .expect("performance");
        let took = started.elapsed();
        let runs: i64 = report.jobs.iter().map(|j| j.runs).sum();
        assert_eq!(runs, 100_000);
        eprintln!(
            "round {round}: {} jobs, {runs} runs in {took:?}",
            report.jobs.len()
        );
    }
    let started = Instant::now();
    let report = store
        .performance(at(8 * DAY), at(15 * DAY))
        .await
        .expect("performance");
    eprintln!(
        "a later, empty window: {} jobs in {:?}",
        report.jobs.len(),
        started.elapsed()
    );
}
