//! Group-commit throughput on SQLite: claim + start + finish of batches of
//! 1,000 runs. Ignored by default (it measures, it does not check much);
//! run with `cargo test --release --lib store::tests::throughput -- --ignored --nocapture`.

use std::time::Instant;

use super::{at, job_def, slot_run};
use crate::store::{RunFilter, RunStatus, RunWrite, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run explicitly"]
async fn sqlite_group_commit_throughput() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Store::open(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .expect("open");
    let jobs: Vec<i64> = {
        let mut ids = Vec::new();
        for i in 0..100 {
            ids.push(
                store
                    .create_job(&job_def(&format!("job-{i}"), 0))
                    .await
                    .expect("job")
                    .id,
            );
        }
        ids
    };
    const BATCH: usize = 1_000;
    const BATCHES: i64 = 100;
    let started = Instant::now();
    let mut phases = [std::time::Duration::ZERO; 3];
    for b in 0..BATCHES {
        let t = Instant::now();
        let runs: Vec<_> = (0..BATCH)
            .map(|i| slot_run(jobs[i % jobs.len()], b * 100 + (i / jobs.len()) as i64))
            .collect();
        let ids = store.enqueue_slots(&runs).await.expect("claim");
        phases[0] += t.elapsed();
        let t = Instant::now();
        let mut writes = Vec::with_capacity(BATCH * 2);
        for id in ids.iter().flatten() {
            writes.push(RunWrite::Started {
                run_id: *id,
                attempt: 1,
                instance_id: "bench".to_owned(),
                at: at(b),
            });
        }
        store.write_batch(&writes).await.expect("start");
        phases[1] += t.elapsed();
        let t = Instant::now();
        writes.clear();
        for id in ids.iter().flatten() {
            writes.push(RunWrite::Finished {
                run_id: *id,
                attempt: 1,
                status: RunStatus::Succeeded,
                at: at(b + 1),
                rows: Some(10),
                bytes: Some(1_000),
                outputs: vec!["/tmp/out.csv".to_owned()],
                error: None,
            });
        }
        store.write_batch(&writes).await.expect("finish");
        phases[2] += t.elapsed();
        if (b + 1) % 20 == 0 {
            println!(
                "after {:>6} runs: {:.0} runs/s so far",
                (b + 1) * BATCH as i64,
                ((b + 1) * BATCH as i64) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed();
    let total = BATCHES * BATCH as i64;
    println!(
        "recorded {total} runs (claim + start + finish) in {:.2?}: {:.0} runs/s",
        elapsed,
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "claim {:.2?}, start {:.2?}, finish {:.2?}",
        phases[0], phases[1], phases[2]
    );
    let t = Instant::now();
    let stats = store.job_stats().await.expect("stats");
    println!(
        "job_stats over {total} runs and {} jobs: {:.2?}",
        stats.len(),
        t.elapsed()
    );
    let t = Instant::now();
    let page = store
        .list_runs(&RunFilter {
            job: Some("job-7".into()),
            limit: 50,
            ..RunFilter::default()
        })
        .await
        .expect("list");
    println!(
        "list_runs(job, 50): {} rows in {:.2?}",
        page.len(),
        t.elapsed()
    );
    assert_eq!(stats.iter().map(|s| s.run_count).sum::<i64>(), total);
}
