//! `/metrics` of a headless instance: what it counts, that `promtool check
//! metrics` accepts it, and listen addresses that cannot be used.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::common::process::{Sandbox, poll};
use super::{get, headless_with_metrics, jobs};

/// The value of the first sample line starting with `prefix`.
pub fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[test]
fn a_scrape_counts_runs_rows_and_jobs_and_promtool_accepts_it() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&jobs("tick"));
    let (mut child, address) = headless_with_metrics(&sandbox);
    // Three succeeded runs of the every-second job.
    let text = poll("three runs counted", Duration::from_secs(30), || {
        let (status, text) = get(address, "/metrics").ok()?;
        assert_eq!(status, 200, "{text}");
        let done = sample(
            &text,
            "cronport_runs_total{job=\"tick\",status=\"succeeded\",trigger=\"schedule\"}",
        )?;
        (done >= 3.0).then_some(text)
    });
    let runs = sample(
        &text,
        "cronport_runs_total{job=\"tick\",status=\"succeeded\",trigger=\"schedule\"}",
    )
    .unwrap_or_default();
    // Each run exported the 2 rows of its program.
    let rows = sample(&text, "cronport_rows_exported_total{job=\"tick\"}").unwrap_or_default();
    assert!(rows >= 2.0 * runs, "rows {rows} for {runs} runs:\n{text}");
    assert!(
        sample(
            &text,
            "cronport_deliveries_total{destination=\"out\",status=\"delivered\"}"
        )
        .is_some_and(|n| n >= runs),
        "{text}"
    );
    let next = sample(
        &text,
        "cronport_job_next_fire_timestamp_seconds{job=\"tick\"}",
    )
    .unwrap_or_else(|| panic!("no next fire:\n{text}"));
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 5.0..now + 5.0).contains(&next),
        "next fire {next}, now {now}"
    );
    assert!(
        sample(
            &text,
            "cronport_job_last_success_timestamp_seconds{job=\"tick\"}"
        )
        .is_some()
    );
    assert_eq!(
        sample(&text, "cronport_job_paused{job=\"tick\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "cronport_lease_held "), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "cronport_build_info{version=\""),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "cronport_run_duration_seconds_count{status=\"succeeded\"}"
        )
        .is_some_and(|n| n >= 1.0)
    );
    assert!(sample(&text, "cronport_run_start_latency_seconds_count ").is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "cronport_store_write_seconds_count ").is_some_and(|n| n >= 1.0));
    // The SQLite store's page caches live in this process.
    assert!(
        sample(&text, "cronport_sqlite_memory_bytes ").is_some_and(|b| b > 0.0),
        "{text}"
    );
    // No run id ever becomes a label.
    assert!(!text.contains("run_id"), "{text}");

    let mut promtool = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(promtool) => promtool,
        Err(e) => panic!("promtool is missing ({e}): run scripts/services.sh monitoring"),
    };
    {
        use std::io::Write as _;
        let mut stdin = promtool.stdin.take().expect("promtool's stdin");
        stdin.write_all(text.as_bytes()).expect("write to promtool");
    }
    let out = promtool.wait_with_output().expect("promtool ran");
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}\n--- metrics\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(child.terminate(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn a_taken_or_malformed_listen_address_is_bad_input_naming_flag_or_key() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&jobs("tick"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let address = taken.local_addr().expect("its address").to_string();

    let out = sandbox.run(&["--headless", "--metrics", &address]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("--metrics") && out.stderr.contains(&address),
        "{}",
        out.stderr
    );

    let out = sandbox.run(&["--headless", "--metrics", "localhost:notaport"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--metrics"), "{}", out.stderr);

    sandbox.write_config(&format!(
        "{}[metrics]\nlisten = \"{address}\"\n",
        jobs("tick")
    ));
    let out = sandbox.run(&["--headless"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("metrics.listen") && out.stderr.contains(&address),
        "{}",
        out.stderr
    );

    sandbox.write_config(&format!("{}[metrics]\nlisten = \"9464\"\n", jobs("tick")));
    let out = sandbox.run(&["--headless"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("metrics.listen") && out.stderr.contains("IP:PORT"),
        "{}",
        out.stderr
    );

    sandbox.write_config(&format!(
        "{}[metrics]\nlisten_on = \"127.0.0.1:1\"\n",
        jobs("tick")
    ));
    let out = sandbox.run(&["--headless"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("listen_on"), "{}", out.stderr);
    drop(taken);
}
