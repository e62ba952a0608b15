//! A run's log lines are stored with it and shown while it runs, on both
//! stores: `jobs run --wait` in a process of its own (no instance
//! anywhere) prints the run's lines as they come, `runs logs` reads them
//! back afterwards, and so do the runs of a scheduler. On PostgreSQL none
//! were stored or shown: the driver's query logger, asking the subscriber
//! about each query on the thread that then opened the run's span, cost the
//! span its tag.

mod common;

use std::time::Duration;

use common::process::{PgDatabase, Sandbox, config_header, poll, toml_str};

/// A job whose program writes a row and a line on stderr, which becomes a
/// warning among the run's lines.
fn job(sandbox: &Sandbox, schedule: &str) {
    let script = "printf 'n\\n1\\n'; echo 'a word on stderr' >&2";
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"talks\"\nschedule = \"{schedule}\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header(),
        toml_str(script)
    ));
    sandbox.apply_config();
}

/// The lines every run of `talks` logs, in order, for the trigger's word
/// (`manual`, `schedule`).
fn expected(trigger: &str) -> [String; 5] {
    [
        format!("INFO  attempt 1 of 1 started ({trigger})"),
        "WARN  stderr: a word on stderr".into(),
        "INFO  rendered 1 rows, 6 bytes of csv".into(),
        "INFO  delivered to out: ".into(),
        "INFO  succeeded: 1 rows, 6 bytes, 1 output(s)".into(),
    ]
}

/// Run `id`'s stored lines, each without its time.
fn stored_lines(sandbox: &Sandbox, id: i64) -> Vec<String> {
    let logs = sandbox
        .run(&["runs", "logs", &id.to_string()])
        .ok("runs logs");
    // `2026-12-07T23:44:07.297Z INFO  attempt ...`: the text after the time.
    logs.stdout
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest).to_string())
        .collect()
}

fn assert_lines(stored: &[String], expected: &[String], run: i64) {
    assert_eq!(stored.len(), expected.len(), "run {run}: {stored:#?}");
    for (line, expected) in stored.iter().zip(expected) {
        assert!(
            line.starts_with(expected.as_str()),
            "run {run}: {line:?} is not {expected:?}"
        );
    }
}

fn lines_of_a_run_now(sandbox: &Sandbox) {
    job(sandbox, "0 0 1 1 *");
    let out = sandbox
        .run(&["jobs", "run", "talks", "--wait"])
        .ok("jobs run --wait");
    let expected = expected("manual");
    // Shown as they came, each naming its job and run.
    for line in &expected {
        let (level, text) = line.split_once("  ").unwrap_or(("", line));
        assert!(
            out.stdout.contains(&format!("{level}  talks#1: {text}")),
            "{line:?} is not shown:\n{}",
            out.stdout
        );
    }
    assert_lines(&stored_lines(sandbox, 1), &expected, 1);
}

/// A scheduler's runs, one a second: each one's lines are stored.
fn lines_of_scheduled_runs(sandbox: &Sandbox) {
    job(sandbox, "* * * * * *");
    let mut instance = sandbox.headless(&[]);
    let done = poll("five scheduled runs", Duration::from_secs(30), || {
        let done: Vec<i64> = sandbox
            .runs()
            .iter()
            .filter(|r| r["status"] == "succeeded")
            .filter_map(|r| r["id"].as_i64())
            .collect();
        (done.len() >= 5).then_some(done)
    });
    instance.terminate(Duration::from_secs(20));
    let expected = expected("schedule");
    for id in done {
        assert_lines(&stored_lines(sandbox, id), &expected, id);
    }
}

#[test]
fn a_runs_lines_are_stored_and_shown_on_sqlite() {
    lines_of_a_run_now(&Sandbox::new());
    lines_of_scheduled_runs(&Sandbox::new());
}

#[test]
fn a_runs_lines_are_stored_and_shown_on_postgres() {
    for case in [lines_of_a_run_now, lines_of_scheduled_runs] {
        let db = PgDatabase::create();
        let mut sandbox = Sandbox::new();
        sandbox.store = db.url.clone();
        case(&sandbox);
    }
}
