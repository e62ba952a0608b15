//! The audit trail and the operator's run commands, with the real binary
//! against a headless instance, on SQLite and on PostgreSQL: the config's
//! jobs added at start, `jobs pause/resume [--all]`, `jobs run`, `runs
//! retry`, `runs cancel`, `runs list --status --since`, `apply` with its
//! before/after definitions and `--prune`, and a console attached to the
//! instance, whose entry names the console's user, not the instance's.

mod common;

use std::process::Command;
use std::time::Duration;

use common::process::{Headless, Output, PgDatabase, Sandbox, block_on, config_header, poll};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// The user the headless instance runs as; nobody acts as it.
const SERVICE_USER: &str = "svc-cronport";
/// The user at the command line.
const OPERATOR: &str = "alice";

fn jobs(ok_argv: &str) -> String {
    format!(
        "{}[[jobs]]\nname = \"fails\"\nschedule = \"0 3 * * *\"\n\
         source = {{ kind = \"command\", argv = [\"false\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\nretries = 0\n\n\
         [[jobs]]\nname = \"ok\"\nschedule = \"0 3 * * *\"\n\
         source = {{ kind = \"command\", argv = {ok_argv} }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n\
         [[jobs]]\nname = \"slow\"\nschedule = \"0 3 * * *\"\n\
         source = {{ kind = \"command\", argv = [\"sleep\", \"30\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n",
        config_header()
    )
}

/// `cronport ARGS` as the operator.
fn operator(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut cmd: Command = sandbox.command(args);
    cmd.env("USER", OPERATOR);
    common::process::run_command(cmd)
}

fn json_of(out: &Output) -> Vec<Value> {
    match out.json() {
        Value::Array(items) => items,
        other => panic!("not a JSON array: {other}"),
    }
}

fn audit(sandbox: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    json_of(&sandbox.run(&all).ok("audit --json"))
}

/// The entries of `action` (on `job`, if given).
fn entries<'a>(trail: &'a [Value], action: &str, job: Option<&str>) -> Vec<&'a Value> {
    trail
        .iter()
        .filter(|e| e["action"] == action && job.is_none_or(|j| e["job"] == j))
        .collect()
}

fn one<'a>(trail: &'a [Value], action: &str, job: Option<&str>) -> &'a Value {
    let found = entries(trail, action, job);
    assert_eq!(found.len(), 1, "one {action} of {job:?} in {trail:#?}");
    found[0]
}

/// The run id in "... as run 13 ..." or "run 12 of ...".
fn number_after(text: &str, marker: &str) -> i64 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} in {text:?}"))
        + marker.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number after {marker:?} in {text:?}"))
}

fn run_status(sandbox: &Sandbox, id: i64) -> Value {
    sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("runs show")
        .json()
}

fn wait_status(sandbox: &Sandbox, id: i64, status: &str) -> Value {
    poll(&format!("run {id} {status}"), LIMIT, || {
        let run = run_status(sandbox, id);
        (run["status"] == status).then_some(run)
    })
}

fn scenario(sandbox: &Sandbox) {
    sandbox.write_config(&jobs("[\"echo\", \"a\"]"));
    let mut cmd = sandbox.command(&["--headless"]);
    cmd.env("USER", SERVICE_USER);
    let mut headless = Headless::spawn(cmd);
    headless.wait_for_line("scheduler started", LIMIT);
    let instance = format!(":{}:", headless.pid());

    // Pause and resume, one and all, through the instance.
    operator(sandbox, &["jobs", "pause", "fails"]).ok("jobs pause");
    operator(sandbox, &["jobs", "pause", "--all"]).ok("jobs pause --all");
    assert!(sandbox.jobs().iter().all(|j| j["state"] == "paused"));
    operator(sandbox, &["jobs", "resume", "--all"]).ok("jobs resume --all");
    assert!(sandbox.jobs().iter().all(|j| j["state"] == "active"));

    // A failed run, found by status and time, retried for the same slot.
    operator(sandbox, &["jobs", "run", "fails", "--wait"]).expect_code(1, "a failing run");
    let failed = json_of(
        &sandbox
            .run(&[
                "runs", "list", "--status", "failed", "--since", "10m", "--json",
            ])
            .ok("runs list --status failed --since 10m"),
    );
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["job"], "fails");
    let failed_id = failed[0]["id"].as_i64().expect("run id");
    let later = sandbox
        .run(&["runs", "list", "--since", "2999-01-01T00:00:00Z", "--json"])
        .ok("runs list --since the future");
    assert!(json_of(&later).is_empty());
    let out = operator(sandbox, &["runs", "retry", &failed_id.to_string()]).ok("runs retry");
    let retry_id = number_after(&out.stdout, "as run ");
    let retry = wait_status(sandbox, retry_id, "failed");
    assert_eq!(retry["trigger"], "retry");
    assert_eq!(retry["retry_of"], failed_id);
    assert_eq!(retry["scheduled_for"], failed[0]["scheduled_for"]);

    // A succeeded run is not retried; a running one is cancelled.
    operator(sandbox, &["jobs", "run", "ok", "--wait"]).ok("jobs run ok");
    let ok_id = sandbox.runs()[0]["id"].as_i64().expect("run id");
    let out = operator(sandbox, &["runs", "retry", &ok_id.to_string()])
        .expect_code(2, "retry of a succeeded run");
    assert!(out.stderr.contains("succeeded"), "{}", out.stderr);
    let out = operator(sandbox, &["jobs", "run", "slow"]).ok("jobs run slow");
    let slow_id = number_after(&out.stdout, "run ");
    wait_status(sandbox, slow_id, "running");
    operator(sandbox, &["runs", "cancel", &slow_id.to_string()]).ok("runs cancel");
    wait_status(sandbox, slow_id, "cancelled");
    let out = operator(sandbox, &["runs", "cancel", &slow_id.to_string()])
        .expect_code(2, "cancel of a cancelled run");
    assert!(out.stderr.contains("cancelled"), "{}", out.stderr);

    // A console attached to the instance pauses a job through the store.
    let said = block_on(async {
        let store = cronport::store::Store::open(&sandbox.store)
            .await
            .expect("open the store");
        let control = cronport::control::Control::Attached {
            store: store.clone(),
        };
        let said = control
            .send(cronport::control::Request::Pause("ok".into()))
            .await;
        store.close().await;
        said
    });
    assert!(said.is_ok(), "{said:?}");

    // Apply a changed job, then prune one the file no longer lists.
    sandbox.write_config(&jobs("[\"echo\", \"b\"]"));
    sandbox.apply_config();
    let without_slow = jobs("[\"echo\", \"b\"]");
    let without_slow = &without_slow[..without_slow
        .find("[[jobs]]\nname = \"slow\"")
        .expect("slow")];
    let file = sandbox.write("fewer.toml", without_slow);
    operator(sandbox, &["apply", file.to_str().expect("path"), "--prune"]).ok("apply --prune");

    let trail = audit(sandbox, &[]);
    // The config's jobs, added when the instance started.
    for job in ["fails", "ok", "slow"] {
        let created = one(&trail, "create", Some(job));
        assert_eq!(created["way"], "config");
        assert_eq!(created["user"], SERVICE_USER);
        assert_eq!(created["after"]["name"], job, "{created}");
        assert!(created["before"].is_null());
    }
    // The command line's actions: the operator's, carried out by the instance.
    for (action, job) in [
        ("pause", Some("fails")),
        ("pause_all", None),
        ("resume_all", None),
        ("retry", Some("fails")),
        ("cancel", Some("slow")),
    ] {
        let found = entries(&trail, action, job);
        assert!(!found.is_empty(), "no {action} of {job:?} in {trail:#?}");
        let entry = found[found.len() - 1];
        assert_eq!(entry["way"], "cli", "{entry}");
        assert_eq!(entry["user"], OPERATOR, "{entry}");
        assert!(!entry["host"].as_str().unwrap_or("").is_empty());
        assert!(entry["at"].is_string());
        if action != "retry" {
            let by = entry["instance"].as_str().unwrap_or("");
            assert!(
                by.contains(&instance),
                "{action}: {by} is not the instance {instance}"
            );
        }
    }
    let retried = entries(&trail, "retry", Some("fails"));
    assert_eq!(retried.last().expect("retry")["run_id"], failed_id);
    let refused = entries(&trail, "retry", Some("ok"));
    assert!(
        refused[0]["outcome"]
            .as_str()
            .unwrap_or("")
            .starts_with("not done"),
        "{refused:#?}"
    );
    assert_eq!(entries(&trail, "run_now", None).len(), 3);
    // The attached console's entry: its own user, the instance's id.
    let paused = entries(&trail, "pause", Some("ok"));
    assert_eq!(paused.len(), 1, "{trail:#?}");
    assert_eq!(paused[0]["way"], "console");
    assert_eq!(paused[0]["user"], cronport::scheduler::instance::user());
    assert_ne!(paused[0]["user"], SERVICE_USER);
    assert!(
        paused[0]["instance"]
            .as_str()
            .unwrap_or("")
            .contains(&instance),
        "{}",
        paused[0]
    );
    // Apply: before and after; prune: before only.
    let updated = one(&trail, "update", Some("ok"));
    assert_eq!(updated["way"], "cli");
    assert_eq!(updated["before"]["source"]["argv"][1], "a", "{updated}");
    assert_eq!(updated["after"]["source"]["argv"][1], "b", "{updated}");
    let pruned = one(&trail, "prune", Some("slow"));
    assert_eq!(pruned["user"], OPERATOR);
    assert_eq!(pruned["before"]["name"], "slow");
    assert!(pruned["after"].is_null());

    // Filters: one job's entries, and a window that holds none.
    let of_fails = audit(sandbox, &["--job", "fails"]);
    assert!(!of_fails.is_empty());
    assert!(of_fails.iter().all(|e| e["job"] == "fails"));
    assert!(audit(sandbox, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    let text = sandbox.run(&["audit", "--since", "1h"]).ok("audit as text");
    assert!(text.stdout.contains("prune"), "{}", text.stdout);
    assert!(
        text.stdout.contains(&format!("{OPERATOR}@")),
        "{}",
        text.stdout
    );

    headless.terminate(LIMIT);
}

#[test]
fn audit_trail_and_run_commands_on_sqlite() {
    scenario(&Sandbox::new());
}

#[test]
fn audit_trail_and_run_commands_on_postgres() {
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    scenario(&sandbox);
}

/// The scheduler's daily housekeeping prunes entries older than
/// `audit_days` (365 by default) and keeps younger ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_pass_prunes_entries_older_than_audit_days() {
    use cronport::store::{AuditAction, AuditFilter, NewAuditEntry, Way};
    let world = common::World::new("").await;
    let now = chrono::Utc::now();
    assert_eq!(world.config.scheduler.audit_days, 365);
    for days in [366, 364] {
        let entry = NewAuditEntry {
            at: now - chrono::Duration::days(days),
            actor_user: OPERATOR.into(),
            actor_host: "desk".into(),
            way: Way::Cli,
            instance: "desk:1".into(),
            action: AuditAction::PauseAll,
            job: None,
            run_id: None,
            outcome: format!("{days} days ago"),
            before: None,
            after: None,
        };
        world.store.record_audit(&entry).await.expect("record");
    }
    let clock = cronport::clock::VirtualClock::new(now);
    let (bus, _rx) = common::bus();
    let scheduler = common::start_scheduler(&world, &clock, bus, Duration::from_secs(1)).await;
    let deadline = tokio::time::Instant::now() + LIMIT;
    let left = loop {
        let left = world
            .store
            .audit_entries(&AuditFilter::default())
            .await
            .expect("list");
        if left.len() < 2 || tokio::time::Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    scheduler.shutdown().await.expect("shutdown");
    let outcomes: Vec<&str> = left.iter().map(|e| e.entry.outcome.as_str()).collect();
    assert_eq!(outcomes, ["364 days ago"]);
}
