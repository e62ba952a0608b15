//! A run asked for by hand (`jobs run`, `t`, `:run`) follows the job's
//! overlap policy like a slot does: `skip` refuses it while a run is going,
//! `queue_one` queues it behind that run, `cancel_previous` stops that run
//! first, `allow` starts it beside it. Shown with the real binary, in one
//! process (no scheduler anywhere) and through a running headless instance.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::process::{Headless, Sandbox, config_header, poll, text, toml_str, wait_with_deadline};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A never-scheduled job whose runs wait for the file `RELEASE`.
fn gated(sandbox: &Sandbox, overlap: &str) {
    let gate = sandbox.path().join("RELEASE");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; printf 'n\\n1\\n'",
        gate.display()
    );
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"gated\"\nschedule = \"0 0 1 1 *\"\noverlap = \"{overlap}\"\n\
         retries = 0\nsource = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header(),
        toml_str(&script)
    ));
    sandbox.apply_config();
}

fn release(sandbox: &Sandbox) {
    std::fs::write(sandbox.path().join("RELEASE"), "").unwrap();
}

/// `jobs run gated --wait` in the background.
fn run_in_background(sandbox: &Sandbox) -> Headless {
    Headless::spawn(sandbox.command(&["jobs", "run", "gated", "--wait"]))
}

/// The runs of `gated` with this status, once there are `count` of them.
fn wait_for(sandbox: &Sandbox, status: &str, count: usize) -> Vec<Value> {
    poll(&format!("{count} {status} run(s)"), LIMIT, || {
        let runs: Vec<Value> = sandbox
            .runs()
            .into_iter()
            .filter(|r| r["job"] == "gated" && r["status"] == status)
            .collect();
        (runs.len() >= count).then_some(runs)
    })
}

fn finish(mut process: Headless, code: i32) -> String {
    let status = wait_with_deadline(&mut process.child, LIMIT)
        .unwrap_or_else(|| panic!("jobs run did not end\n{}", process.transcript()));
    assert_eq!(status.code(), Some(code), "{}", process.transcript());
    process.transcript()
}

fn id(run: &Value) -> i64 {
    run["id"].as_i64().expect("run id")
}

fn instant(run: &Value, key: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text(run, key))
        .unwrap_or_else(|e| panic!("{key} of {run}: {e}"))
        .with_timezone(&Utc)
}

fn by_id(sandbox: &Sandbox, id: i64) -> Value {
    sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("runs show")
        .json()
}

#[test]
fn skip_refuses_a_second_run_naming_the_one_going() {
    let sandbox = Sandbox::new();
    gated(&sandbox, "skip");
    let first = run_in_background(&sandbox);
    let going = id(&wait_for(&sandbox, "running", 1)[0]);

    let out = sandbox
        .run(&["jobs", "run", "gated"])
        .expect_code(1, "a second run under overlap = skip");
    assert!(
        out.stderr.contains(&format!(
            "not started: run {going} is still running (overlap = skip)"
        )),
        "{}",
        out.stderr
    );
    // The refusal is on record, and nothing else started.
    let refused = wait_for(&sandbox, "skipped", 1);
    assert_eq!(refused[0]["trigger"], "manual");
    assert!(text(&refused[0], "error").contains("overlap = skip"));
    assert_eq!(wait_for(&sandbox, "running", 1).len(), 1);

    release(&sandbox);
    finish(first, 0);
    assert_eq!(by_id(&sandbox, going)["status"], "succeeded");
}

#[test]
fn queue_one_runs_the_second_after_the_first() {
    let sandbox = Sandbox::new();
    gated(&sandbox, "queue_one");
    let first = run_in_background(&sandbox);
    let going = id(&wait_for(&sandbox, "running", 1)[0]);

    let second = run_in_background(&sandbox);
    let queued = id(&wait_for(&sandbox, "queued", 1)[0]);
    // It stays queued while the first runs.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(by_id(&sandbox, queued)["status"], "queued");

    release(&sandbox);
    finish(first, 0);
    finish(second, 0);
    let (a, b) = (by_id(&sandbox, going), by_id(&sandbox, queued));
    assert_eq!(
        (&a["status"], &b["status"]),
        (&"succeeded".into(), &"succeeded".into())
    );
    assert!(
        instant(&b, "started_at") >= instant(&a, "finished_at"),
        "the queued run started before the first ended: {a} {b}"
    );
}

#[test]
fn cancel_previous_stops_the_running_run_then_starts() {
    let sandbox = Sandbox::new();
    gated(&sandbox, "cancel_previous");
    let first = run_in_background(&sandbox);
    let going = id(&wait_for(&sandbox, "running", 1)[0]);

    let second = run_in_background(&sandbox);
    // The first is cancelled (its process sees the request at its next
    // heartbeat) and the second then starts.
    let transcript = finish(first, 1);
    assert!(transcript.contains("cancelled"), "{transcript}");
    let newer = poll("the second run to start", LIMIT, || {
        sandbox
            .runs()
            .into_iter()
            .find(|r| r["job"] == "gated" && r["status"] == "running" && id(r) != going)
    });
    release(&sandbox);
    finish(second, 0);
    assert_eq!(by_id(&sandbox, going)["status"], "cancelled");
    assert_eq!(by_id(&sandbox, id(&newer))["status"], "succeeded");
}

#[test]
fn allow_starts_the_second_beside_the_first() {
    let sandbox = Sandbox::new();
    gated(&sandbox, "allow");
    let first = run_in_background(&sandbox);
    wait_for(&sandbox, "running", 1);
    let second = run_in_background(&sandbox);
    assert_eq!(wait_for(&sandbox, "running", 2).len(), 2);
    release(&sandbox);
    finish(first, 0);
    finish(second, 0);
}

/// Through a running instance: the instance decides, the command line
/// hears the refusal or that the run is queued.
#[test]
fn a_running_instance_applies_the_policy_too() {
    for overlap in ["skip", "queue_one"] {
        let sandbox = Sandbox::new();
        gated(&sandbox, overlap);
        let mut headless = sandbox.headless(&[]);
        headless.wait_for_line("scheduler started", LIMIT);
        let out = sandbox.run(&["jobs", "run", "gated"]).ok("first run");
        assert!(out.stdout.contains("started on"), "{}", out.stdout);
        let going = id(&wait_for(&sandbox, "running", 1)[0]);

        let out = sandbox.run(&["jobs", "run", "gated"]);
        if overlap == "skip" {
            let out = out.expect_code(1, "a second run under skip");
            assert!(
                out.stderr
                    .contains(&format!("not started: run {going} is still running")),
                "{}",
                out.stderr
            );
        } else {
            let out = out.ok("a second run under queue_one");
            assert!(out.stdout.contains("queued"), "{}", out.stdout);
        }
        release(&sandbox);
        let done = if overlap == "skip" { 1 } else { 2 };
        wait_for(&sandbox, "succeeded", done);
        let status = headless.terminate(LIMIT);
        assert_eq!(status.code(), Some(0), "{}", headless.transcript());
    }
}
