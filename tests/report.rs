//! `cronport report` as a user runs it, against a real SQLite store file
//! whose runs were recorded with known times, rows and bytes: the aligned
//! table, `--json`, `--markdown`, `--since` widening the window, and bad
//! input (a `--since` that is not a time, one in the future, two formats).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::process::{Sandbox, block_on, config_header};
use cronport::store::{NewRun, RunStatus, RunWrite, Store, Trigger};
use serde_json::{Value, json};

fn config() -> String {
    let job = |name: &str| {
        format!(
            "[[jobs]]\nname = \"{name}\"\nschedule = \"0 3 * * *\"\n\
             source = {{ kind = \"command\", argv = [\"echo\", \"a\"] }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
        )
    };
    format!(
        "{}{}{}",
        config_header(),
        job("nightly-orders"),
        job("hourly-ping")
    )
}

/// Records a run of `job` that started at `start`, took `took_ms` and
/// ended `status` with `rows` and `bytes`.
async fn ended(
    store: &Store,
    job: &str,
    start: DateTime<Utc>,
    took_ms: i64,
    status: RunStatus,
    rows: Option<i64>,
    bytes: Option<i64>,
) {
    let job_id = store
        .get_job(job)
        .await
        .expect("read job")
        .expect("job stored")
        .id;
    let run_id = store
        .insert_run(&NewRun {
            job_id,
            trigger: Trigger::Manual,
            status: RunStatus::Running,
            slot: None,
            scheduled_for: start,
            queued_at: start,
            attempt: 1,
            instance_id: Some("test".into()),
            retry_of: None,
            error: None,
        })
        .await
        .expect("insert run");
    store
        .write_batch(&[RunWrite::Finished {
            run_id,
            attempt: 1,
            status,
            at: start + Duration::milliseconds(took_ms),
            rows,
            bytes,
            outputs: Vec::new(),
            error: (status == RunStatus::Failed).then(|| "exit status 1".into()),
        }])
        .await
        .expect("finish run");
}

/// Two jobs with runs in the last three days, and one run of ten days ago.
fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config(&config());
    sandbox.apply_config();
    block_on(async {
        let store = Store::open(&sandbox.store).await.expect("open store");
        let now = Utc::now();
        let day = Duration::days(1);
        let ok = RunStatus::Succeeded;
        // nightly-orders: 10, 20, 30 s succeeded (1000 rows and 10 KiB a
        // second's worth), and a failure after 5 s.
        for (i, secs) in [10_i64, 20, 30].into_iter().enumerate() {
            let start = now - day * (i as i32 + 1);
            let rows = Some(secs * 100);
            ended(
                &store,
                "nightly-orders",
                start,
                secs * 1_000,
                ok,
                rows,
                Some(10_240),
            )
            .await;
        }
        let failed = RunStatus::Failed;
        ended(
            &store,
            "nightly-orders",
            now - day * 2,
            5_000,
            failed,
            None,
            None,
        )
        .await;
        // hourly-ping: 1 s and 3 s, 10 rows and 100 bytes each; and an hour
        // long run ten days ago, outside the default window.
        ended(
            &store,
            "hourly-ping",
            now - day,
            1_000,
            ok,
            Some(10),
            Some(100),
        )
        .await;
        ended(
            &store,
            "hourly-ping",
            now - day * 2,
            3_000,
            ok,
            Some(10),
            Some(100),
        )
        .await;
        ended(
            &store,
            "hourly-ping",
            now - day * 10,
            3_600_000,
            ok,
            Some(1),
            Some(10),
        )
        .await;
        store.close().await;
    });
    sandbox
}

/// The lines after the title (which names the window's times).
fn body(stdout: &str) -> Vec<&str> {
    stdout.lines().skip(1).collect()
}

#[test]
fn the_table_is_aligned_and_slowest_first() {
    let sandbox = seeded();
    let out = sandbox.run(&["report"]).ok("report");
    let title = out.stdout.lines().next().unwrap_or_default();
    assert!(
        title.starts_with("Runs ended ") && title.ends_with(" UTC, slowest (p95) first"),
        "{title}"
    );
    assert_eq!(
        body(&out.stdout),
        [
            "JOB             RUNS  FAILURES    P50    P95  ROWS    BYTES  ROWS/S",
            "nightly-orders     4         1  10.0s  30.0s  6000  30.0 KB     100",
            "hourly-ping        2         0   1.0s   3.0s    20    200 B     5.0",
        ]
    );

    // A wider window takes in the hour-long run: hourly-ping is now slowest.
    let out = sandbox
        .run(&["report", "--since", "30d"])
        .ok("report --since 30d");
    assert_eq!(
        body(&out.stdout),
        [
            "JOB             RUNS  FAILURES    P50    P95  ROWS    BYTES  ROWS/S",
            "hourly-ping        3         0   3.0s  1h00m    21    210 B    0.01",
            "nightly-orders     4         1  10.0s  30.0s  6000  30.0 KB     100",
        ]
    );

    // A window with nothing in it says so.
    let out = sandbox
        .run(&["report", "--since", "1h"])
        .ok("report --since 1h");
    assert_eq!(body(&out.stdout), ["no runs ended in this window"]);
}

#[test]
fn json_has_the_documented_fields() {
    let sandbox = seeded();
    let before = Utc::now();
    let out = sandbox.run(&["report", "--json"]).ok("report --json");
    let report = out.json();
    let instant = |key: &str| -> DateTime<Utc> {
        report[key]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .unwrap_or_else(|| panic!("{key} is not an RFC 3339 instant: {report}"))
            .with_timezone(&Utc)
    };
    let (since, until) = (instant("since"), instant("until"));
    // Whole seconds: the window is 7 days to within a second.
    assert!((until - since - Duration::days(7)).num_seconds().abs() <= 1);
    assert!(until >= before - Duration::seconds(1) && until <= Utc::now() + Duration::seconds(1));
    assert_eq!(
        report["jobs"],
        json!([
            {
                "job": "nightly-orders", "runs": 4, "succeeded": 3, "failures": 1,
                "p50_ms": 10_000, "p95_ms": 30_000, "max_ms": 30_000,
                "rows": 6_000, "bytes": 30_720, "busy_ms": 60_000, "rows_per_sec": 100.0
            },
            {
                "job": "hourly-ping", "runs": 2, "succeeded": 2, "failures": 0,
                "p50_ms": 1_000, "p95_ms": 3_000, "max_ms": 3_000,
                "rows": 20, "bytes": 200, "busy_ms": 4_000, "rows_per_sec": 5.0
            }
        ])
    );
    let out = sandbox
        .run(&["report", "--json", "--since", "1h"])
        .ok("report --json --since 1h");
    assert_eq!(out.json()["jobs"], Value::Array(Vec::new()));
}

#[test]
fn markdown_is_a_table() {
    let sandbox = seeded();
    let out = sandbox
        .run(&["report", "--markdown"])
        .ok("report --markdown");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("## cronport performance, ") && lines[0].ends_with(" UTC"),
        "{}",
        lines[0]
    );
    assert_eq!(
        &lines[1..],
        [
            "",
            "| Job | Runs | Failures | p50 | p95 | Rows | Bytes | Rows/s |",
            "|:---|---:|---:|---:|---:|---:|---:|---:|",
            "| `nightly-orders` | 4 | 1 | 10.0s | 30.0s | 6000 | 30.0 KB | 100 |",
            "| `hourly-ping` | 2 | 0 | 1.0s | 3.0s | 20 | 200 B | 5.0 |",
        ]
    );
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let sandbox = seeded();
    let out = sandbox
        .run(&["report", "--since", "last tuesday"])
        .expect_code(2, "report --since 'last tuesday'");
    assert!(out.stderr.contains("--since"), "{}", out.stderr);
    assert!(out.stderr.contains("last tuesday"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    let out = sandbox
        .run(&["report", "--since", "2999-01-01T00:00:00Z"])
        .expect_code(2, "report --since in the future");
    assert!(out.stderr.contains("--since"), "{}", out.stderr);
    assert!(out.stderr.contains("not in the past"), "{}", out.stderr);

    let out = sandbox
        .run(&["report", "--json", "--markdown"])
        .expect_code(2, "report --json --markdown");
    assert!(out.stderr.contains("--markdown"), "{}", out.stderr);
}
