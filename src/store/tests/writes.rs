//! Group-committed run writes, attempts and logs.

use super::{TestDb, at, manual_run, seed_job, slot_run, store_test};
use crate::store::{LogLine, RunId, RunStatus, RunWrite, StoreError};

store_test!(
    lifecycle_with_retry_records_attempts,
    writes_to_final_or_missing_runs_change_nothing,
    invalid_writes_are_rejected_before_anything_is_written,
    logs_come_back_in_order_and_page,
    large_mixed_batches_keep_each_runs_order,
    an_attempt_started_and_finished_in_one_batch_is_written_whole,
);

/// A log line of `run` at `at(seq)`.
pub(super) fn log(run_id: RunId, seq: i64, message: &str) -> RunWrite {
    RunWrite::Log(LogLine {
        run_id,
        seq,
        ts: at(seq),
        level: "INFO".to_owned(),
        message: message.to_owned(),
    })
}

fn started(run_id: RunId, attempt: i32, secs: i64) -> RunWrite {
    RunWrite::Started {
        run_id,
        attempt,
        instance_id: "inst-a".to_owned(),
        at: at(secs),
    }
}

fn finished(run_id: RunId, attempt: i32, status: RunStatus, secs: i64) -> RunWrite {
    RunWrite::Finished {
        run_id,
        attempt,
        status,
        at: at(secs),
        rows: Some(42),
        bytes: Some(4096),
        outputs: vec!["/srv/a.csv".to_owned(), "s3://b/a.csv".to_owned()],
        error: None,
    }
}

async fn lifecycle_with_retry_records_attempts(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let run = store
        .enqueue_slots(&[slot_run(job.id, 0)])
        .await
        .expect("claim")[0]
        .expect("won");
    let queued = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(queued.status, RunStatus::Queued);
    assert_eq!(queued.job_name, "a");
    assert_eq!(queued.slot, Some(at(0)));
    assert!(queued.outputs.is_empty());

    store
        .write_batch(&[
            started(run, 1, 10),
            log(run, 1, "connecting"),
            RunWrite::AttemptFailed {
                run_id: run,
                attempt: 1,
                at: at(20),
                error: "connection reset".to_owned(),
                retry_at: at(50),
            },
        ])
        .await
        .expect("first attempt");
    let running = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(running.status, RunStatus::Running);
    assert_eq!(running.instance_id.as_deref(), Some("inst-a"));
    // Waiting for the next attempt, which a console of another process
    // can only learn from the store.
    assert_eq!(running.retry_at, Some(at(50)));

    store
        .write_batch(&[
            started(run, 2, 50),
            finished(run, 2, RunStatus::Succeeded, 65),
        ])
        .await
        .expect("second attempt");
    let done = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(done.attempt, 2);
    assert_eq!(done.started_at, Some(at(10)), "the first attempt's start");
    assert_eq!(done.finished_at, Some(at(65)));
    assert_eq!(done.duration_ms(), Some(55_000));
    assert_eq!((done.rows, done.bytes), (Some(42), Some(4096)));
    assert_eq!(done.outputs, ["/srv/a.csv", "s3://b/a.csv"]);
    assert_eq!(done.error, None);
    assert_eq!(done.retry_at, None, "the next attempt started");

    let attempts = store.attempts(run).await.expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, RunStatus::Failed);
    assert_eq!(attempts[0].error.as_deref(), Some("connection reset"));
    assert_eq!(
        (attempts[0].started_at, attempts[0].finished_at),
        (at(10), Some(at(20)))
    );
    assert_eq!(attempts[1].status, RunStatus::Succeeded);
    assert_eq!(
        (attempts[1].started_at, attempts[1].finished_at),
        (at(50), Some(at(65)))
    );
    assert!(store.running_runs().await.expect("running").is_empty());
}

async fn writes_to_final_or_missing_runs_change_nothing(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let run = store
        .enqueue_slots(&[slot_run(job.id, 0)])
        .await
        .expect("claim")[0]
        .expect("won");
    // Cancelled while queued: no attempt exists.
    store
        .write_batch(&[RunWrite::Finished {
            run_id: run,
            attempt: 0,
            status: RunStatus::Cancelled,
            at: at(5),
            rows: None,
            bytes: None,
            outputs: vec![],
            error: Some("cancelled by operator".to_owned()),
        }])
        .await
        .expect("cancel");
    let before = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(before.status, RunStatus::Cancelled);
    // A late start and finish for the cancelled run, and writes for a run
    // that does not exist, in one batch with a valid log line.
    store
        .write_batch(&[
            started(run, 1, 6),
            finished(run, 1, RunStatus::Succeeded, 7),
            started(9_999, 1, 6),
            finished(9_999, 1, RunStatus::Failed, 7),
            log(9_999, 1, "lost"),
            log(run, 1, "kept"),
        ])
        .await
        .expect("batch with stale entries");
    assert_eq!(store.get_run(run).await.expect("get").expect("run"), before);
    assert!(store.attempts(run).await.expect("attempts").is_empty());
    assert_eq!(store.run_logs(run, 0, 10).await.expect("logs").len(), 1);
    assert!(store.get_run(9_999).await.expect("get").is_none());
}

async fn invalid_writes_are_rejected_before_anything_is_written(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let run = store
        .enqueue_slots(&[slot_run(job.id, 0)])
        .await
        .expect("claim")[0]
        .expect("won");
    let err = store
        .write_batch(&[started(run, 1, 1), finished(run, 1, RunStatus::Running, 2)])
        .await
        .expect_err("running is not final");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let err = store
        .write_batch(&[started(run, 0, 1)])
        .await
        .expect_err("attempt 0");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let unchanged = store.get_run(run).await.expect("get").expect("run");
    assert_eq!(unchanged.status, RunStatus::Queued);
    store.write_batch(&[]).await.expect("empty batch");
}

async fn logs_come_back_in_order_and_page(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let ids = store
        .enqueue_slots(&[slot_run(job.id, 0), slot_run(job.id, 300)])
        .await
        .expect("claim");
    let (run, other) = (ids[0].expect("won"), ids[1].expect("won"));
    // Written out of order and interleaved with another run's lines.
    let mut writes: Vec<RunWrite> = (1..=25)
        .rev()
        .map(|seq| log(run, seq, &format!("line {seq}")))
        .collect();
    writes.push(log(other, 1, "other"));
    writes.push(log(run, 3, "duplicate seq is dropped"));
    store.write_batch(&writes).await.expect("logs");

    let first = store.run_logs(run, 0, 10).await.expect("page 1");
    let seqs: Vec<i64> = first.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    assert_eq!(first[2].message, "line 3");
    assert_eq!(first[0].ts, at(1));
    assert_eq!(first[0].level, "INFO");
    let next = store.run_logs(run, 10, 100).await.expect("page 2");
    assert_eq!(next.len(), 15);
    assert_eq!(next.last().map(|l| l.seq), Some(25));
    assert!(store.run_logs(run, 25, 10).await.expect("end").is_empty());
    assert_eq!(store.run_logs(other, 0, 10).await.expect("other").len(), 1);
}

async fn large_mixed_batches_keep_each_runs_order(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    // 85 slots (64 + 16 + 4 + 1 rows per statement), one slot twice in the
    // same batch, and two runs without a slot.
    let mut claims: Vec<_> = (0..85).map(|i| slot_run(job.id, i * 60)).collect();
    claims.push(slot_run(job.id, 17 * 60));
    let ids = store.enqueue_slots(&claims).await.expect("claim");
    assert!(ids[..85].iter().all(Option::is_some));
    assert_eq!(ids[85], None, "the duplicate lost to its first occurrence");
    let mut runs: Vec<RunId> = ids.iter().flatten().copied().collect();
    for secs in [1, 2] {
        runs.push(
            store
                .insert_run(&manual_run(job.id, secs))
                .await
                .expect("manual"),
        );
    }
    let unique: std::collections::HashSet<_> = runs.iter().collect();
    assert_eq!(unique.len(), runs.len());

    // Per run, in one batch: start, log, fail, start again, log, finish;
    // interleaved across runs the way a recorder sees them.
    let mut batch = Vec::new();
    for &run in &runs {
        batch.push(started(run, 1, 10));
        batch.push(log(run, 1, "first try"));
    }
    for &run in &runs {
        batch.push(RunWrite::AttemptFailed {
            run_id: run,
            attempt: 1,
            at: at(20),
            error: format!("run {run} failed once"),
            retry_at: at(30),
        });
        batch.push(started(run, 2, 30));
    }
    for (i, &run) in runs.iter().enumerate() {
        batch.push(log(run, 2, "second try"));
        let status = if i % 2 == 0 {
            RunStatus::Succeeded
        } else {
            RunStatus::Failed
        };
        batch.push(RunWrite::Finished {
            run_id: run,
            attempt: 2,
            status,
            at: at(40),
            rows: (i % 3 == 0).then_some(i as i64),
            bytes: None,
            outputs: vec![format!("/out/{run}.csv")],
            error: (status == RunStatus::Failed).then(|| "gave up".to_owned()),
        });
    }
    store.write_batch(&batch).await.expect("batch");

    for (i, &run) in runs.iter().enumerate() {
        let rec = store.get_run(run).await.expect("get").expect("run");
        let want = if i % 2 == 0 {
            RunStatus::Succeeded
        } else {
            RunStatus::Failed
        };
        assert_eq!(rec.status, want, "run {run}");
        assert_eq!(
            (rec.attempt, rec.started_at, rec.finished_at),
            (2, Some(at(10)), Some(at(40)))
        );
        assert_eq!(rec.retry_at, None, "run {run}: its retry started");
        assert_eq!(rec.rows, (i % 3 == 0).then_some(i as i64));
        assert_eq!(rec.outputs, [format!("/out/{run}.csv")]);
        let attempts = store.attempts(run).await.expect("attempts");
        assert_eq!(attempts.len(), 2, "run {run}");
        assert_eq!(attempts[0].status, RunStatus::Failed);
        assert_eq!(attempts[0].error, Some(format!("run {run} failed once")));
        assert_eq!(attempts[1].status, want);
        assert_eq!(attempts[1].finished_at, Some(at(40)));
        let logs = store.run_logs(run, 0, 10).await.expect("logs");
        assert_eq!(logs.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2]);
    }
}

/// A start and its finish in one batch are written together; an attempt
/// row that exists already (a run recorded as running when claimed) is
/// closed, not duplicated, and a finished attempt is never reopened.
async fn an_attempt_started_and_finished_in_one_batch_is_written_whole(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "a").await;
    let running = crate::store::NewRun {
        status: RunStatus::Running,
        attempt: 1,
        ..slot_run(job.id, 0)
    };
    let ids = store
        .enqueue_slots(&[running, slot_run(job.id, 60)])
        .await
        .expect("claim");
    let (a, b) = (ids[0].expect("won"), ids[1].expect("won"));
    store
        .write_batch(&[
            started(a, 1, 1),
            started(b, 1, 61),
            log(b, 0, "working"),
            finished(b, 1, RunStatus::Succeeded, 62),
            finished(a, 1, RunStatus::Failed, 2),
            // Late duplicates change nothing.
            started(b, 1, 70),
            finished(b, 1, RunStatus::Failed, 71),
        ])
        .await
        .expect("batch");
    let run_a = store.get_run(a).await.expect("get").expect("a");
    assert_eq!(run_a.status, RunStatus::Failed);
    assert_eq!(
        (run_a.started_at, run_a.finished_at),
        (Some(at(0)), Some(at(2)))
    );
    let attempts_a = store.attempts(a).await.expect("attempts");
    assert_eq!(attempts_a.len(), 1);
    assert_eq!(
        (
            attempts_a[0].status,
            attempts_a[0].started_at,
            attempts_a[0].finished_at
        ),
        (RunStatus::Failed, at(0), Some(at(2)))
    );
    let run_b = store.get_run(b).await.expect("get").expect("b");
    assert_eq!(run_b.status, RunStatus::Succeeded);
    assert_eq!(run_b.instance_id.as_deref(), Some("inst-a"));
    assert_eq!(
        (run_b.started_at, run_b.finished_at),
        (Some(at(61)), Some(at(62)))
    );
    assert_eq!((run_b.rows, run_b.bytes), (Some(42), Some(4096)));
    assert_eq!(run_b.outputs, ["/srv/a.csv", "s3://b/a.csv"]);
    let attempts_b = store.attempts(b).await.expect("attempts");
    assert_eq!(attempts_b.len(), 1);
    assert_eq!(
        (
            attempts_b[0].status,
            attempts_b[0].started_at,
            attempts_b[0].finished_at
        ),
        (RunStatus::Succeeded, at(61), Some(at(62)))
    );
    assert_eq!(store.run_logs(b, -1, 10).await.expect("logs").len(), 1);
}
