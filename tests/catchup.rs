//! `catch_up = "ask"` through the real binary: a headless instance that
//! comes back from downtime keeps the missed slots as a plan and logs how
//! to approve it; `cronport catchup list | show | approve | decline` decide
//! it; bad input exits 2 naming the flag or id and changes nothing; two
//! instances starting at once on PostgreSQL record one plan; the console
//! (in tmux, as an operator uses it) shows the plan on start and approves
//! some of it.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::process::{PgDatabase, Sandbox, config_header, poll, runs_of, text, toml_str};
use common::tmux::{Tmux, console_command};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A job every 2 seconds in Berlin that asks before catching up.
fn asking_job(sandbox: &Sandbox) {
    let script = "printf 'slot\\n%s\\n' \"$CRONPORT_WINDOW_END\"";
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"ticker\"\nschedule = \"*/2 * * * * *\"\n\
         timezone = \"Europe/Berlin\"\ncatch_up = \"ask\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header(),
        toml_str(script)
    ));
}

fn instant(value: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value)
        .unwrap_or_else(|e| panic!("{value:?}: {e}"))
        .with_timezone(&Utc)
}

fn plans(sandbox: &Sandbox, all: bool) -> Vec<Value> {
    let mut args = vec!["catchup", "list", "--json"];
    if all {
        args.push("--all");
    }
    match sandbox.run(&args).ok("catchup list --json").json() {
        Value::Array(plans) => plans,
        other => panic!("catchup list --json is not an array: {other}"),
    }
}

/// Runs the job headless until a run succeeded, stops, stays down 11 s.
fn run_then_stay_down(sandbox: &Sandbox) {
    let mut first = sandbox.headless(&[]);
    first.wait_for_line("scheduler started", LIMIT);
    poll("a scheduled run", LIMIT, || {
        let runs = sandbox.runs();
        runs_of(&runs, "ticker")
            .iter()
            .any(|r| text(r, "status") == "succeeded")
            .then_some(())
    });
    let status = first.terminate(LIMIT);
    assert_eq!(status.code(), Some(0), "{}", first.transcript());
    std::thread::sleep(Duration::from_secs(11));
}

/// Runs once, stops, stays down 11 s, comes back: the slots more than
/// 5 s late by then (three or so; younger ones merely run late) were missed,
/// and the headless log names the plan. Returns the plan and the instance.
fn come_back_from_downtime(sandbox: &Sandbox) -> (Value, common::process::Headless) {
    asking_job(sandbox);
    run_then_stay_down(sandbox);
    let mut second = sandbox.headless(&[]);
    let line = second.wait_for_line("kept as catch-up plan", LIMIT);
    let listed = plans(sandbox, false);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let plan = listed[0].clone();
    let id = plan["id"].as_i64().expect("plan id");
    // One line: the job, how many, the span, how to approve.
    let count = plan["slots"].as_u64().expect("slots");
    assert!((2..=5).contains(&count), "{plan}");
    assert!(line.contains("ticker: "), "{line}");
    assert!(line.contains(&format!("{count} slots from ")), "{line}");
    assert!(
        line.contains(&format!("cronport catchup approve {id}")),
        "{line}"
    );
    assert!(
        line.contains(text(&plan, "first").trim_end_matches('Z')),
        "{line} / {plan}"
    );
    // None of the plan's slots ran or was recorded on its own.
    let (first, last) = (instant(text(&plan, "first")), instant(text(&plan, "last")));
    let runs = sandbox.runs();
    let inside: Vec<_> = runs_of(&runs, "ticker")
        .into_iter()
        .filter(|r| (first..=last).contains(&instant(text(r, "scheduled_for"))))
        .collect();
    assert!(inside.is_empty(), "{inside:?}");
    (plan, second)
}

#[test]
fn approving_the_newest_runs_it_as_catch_up_and_declines_the_rest() {
    let sandbox = Sandbox::new();
    let (plan, mut headless) = come_back_from_downtime(&sandbox);
    let id = plan["id"].as_i64().expect("id").to_string();
    let count = plan["slots"].as_u64().expect("slots");

    // Bad input: exit 2, naming what was wrong; the plan stays pending.
    let bad = [
        (vec!["catchup", "approve", "9999"], "PLAN 9999"),
        (vec!["catchup", "approve", "nine"], "PLAN"),
        (
            vec!["catchup", "approve", &id, "--slots", "0..2"],
            "--slots",
        ),
        (
            vec!["catchup", "approve", &id, "--slots", "3..2"],
            "--slots",
        ),
        (
            vec!["catchup", "approve", &id, "--slots", "2..99"],
            "--slots",
        ),
        (
            vec!["catchup", "approve", &id, "--slots", "1", "--latest"],
            "--latest",
        ),
        (vec!["catchup", "decline", "-4"], "-4"),
    ];
    for (args, named) in &bad {
        let out = sandbox.run(args).expect_code(2, &args.join(" "));
        assert!(
            out.stderr.contains(named),
            "{args:?}: stderr does not name {named}:\n{}",
            out.stderr
        );
    }
    assert_eq!(plans(&sandbox, false).len(), 1);
    assert!(
        sandbox
            .runs()
            .iter()
            .all(|r| text(r, "trigger") != "catch_up")
    );

    // `show` numbers the slots for --slots.
    let shown = sandbox.run(&["catchup", "show", &id]).ok("catchup show");
    assert!(
        shown
            .stdout
            .contains(&format!("plan {id} · ticker · {count} slots")),
        "{}",
        shown.stdout
    );

    let out = sandbox
        .run(&["catchup", "approve", &id, "--latest"])
        .ok("approve --latest");
    assert!(
        out.stdout
            .contains(&format!("1 of {count} slot(s) approved by ")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 queued as catch_up runs"),
        "{}",
        out.stdout
    );
    // The running instance takes it from the shared queue.
    let run = poll("the approved slot to run", LIMIT, || {
        headless.assert_running();
        sandbox
            .runs()
            .into_iter()
            .find(|r| text(r, "trigger") == "catch_up" && text(r, "status") == "succeeded")
    });
    assert_eq!(
        instant(text(&run, "scheduled_for")),
        instant(text(&plan, "last"))
    );
    let runs = sandbox.runs();
    let declined: Vec<&Value> = runs_of(&runs, "ticker")
        .into_iter()
        .filter(|r| text(r, "trigger") == "catch_up" && text(r, "status") == "skipped")
        .collect();
    assert_eq!(declined.len(), 1, "{declined:?}");
    let reason = text(declined[0], "error");
    assert!(
        reason.contains("declined by ")
            && reason.contains(&format!("{} missed slot", count - 1))
            && reason.contains(&format!("catch-up plan {id}")),
        "{reason}"
    );
    // Decided once: a second decision is refused, exit 2, nothing changes.
    let again = sandbox
        .run(&["catchup", "decline", &id])
        .expect_code(2, "decline after approve");
    assert!(
        again.stderr.contains("approved already"),
        "{}",
        again.stderr
    );
    assert!(plans(&sandbox, false).is_empty());
    let all = plans(&sandbox, true);
    assert_eq!(all[0]["status"], "approved");
    assert_eq!(all[0]["approved"], 1);
    let status = headless.terminate(LIMIT);
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
}

#[test]
fn declining_records_the_slots_skipped_and_runs_none() {
    let sandbox = Sandbox::new();
    let (plan, mut headless) = come_back_from_downtime(&sandbox);
    let id = plan["id"].as_i64().expect("id").to_string();
    let count = plan["slots"].as_u64().expect("slots");
    let out = sandbox
        .run(&["catchup", "decline", &id, "--json"])
        .ok("decline");
    let decided = out.json();
    assert_eq!(decided["status"], "declined");
    assert_eq!(decided["declined"], count);
    assert_eq!(decided["queued"], 0);
    std::thread::sleep(Duration::from_secs(2));
    let runs = sandbox.runs();
    let ticker = runs_of(&runs, "ticker");
    // The only catch_up row is the declined span's entry: nothing ran.
    let skipped: Vec<_> = ticker
        .iter()
        .filter(|r| text(r, "trigger") == "catch_up")
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(text(skipped[0], "status"), "skipped");
    assert!(text(skipped[0], "error").contains("declined by "));
    headless.terminate(LIMIT);
}

#[test]
fn two_instances_starting_at_once_on_postgres_record_one_plan() {
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    asking_job(&sandbox);
    sandbox.apply_config();
    run_then_stay_down(&sandbox);
    // Both notice the same downtime as they start.
    let mut a = sandbox.headless(&[]);
    let mut b = sandbox.headless(&[]);
    a.wait_for_line("scheduler started", LIMIT);
    b.wait_for_line("scheduler started", LIMIT);
    let listed = poll("a plan", LIMIT, || {
        let listed = plans(&sandbox, true);
        (!listed.is_empty()).then_some(listed)
    });
    // Time for the slower one to have recorded its own, had it been let.
    std::thread::sleep(Duration::from_secs(3));
    let again = plans(&sandbox, true);
    assert_eq!(again, listed, "one plan per job and downtime");
    assert_eq!(again.len(), 1, "{again:?}");
    let id = again[0]["id"].as_i64().expect("id");
    let logged: Vec<bool> = [&a, &b]
        .iter()
        .map(|h| {
            h.stdout()
                .iter()
                .any(|l| l.contains(&format!("kept as catch-up plan {id}")))
        })
        .collect();
    assert_eq!(
        logged.iter().filter(|l| **l).count(),
        1,
        "exactly one instance logs the plan\n--- a\n{}\n--- b\n{}",
        a.transcript(),
        b.transcript()
    );
    for mut h in [a, b] {
        let status = h.terminate(LIMIT);
        assert_eq!(status.code(), Some(0), "{}", h.transcript());
    }
}

#[test]
fn the_console_shows_the_plan_on_start_and_approves_some_of_it() {
    let sandbox = Sandbox::new();
    asking_job(&sandbox);
    run_then_stay_down(&sandbox);

    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    let screen = tmux.wait_text("Catch-up plans awaiting approval", LIMIT);
    let listed = plans(&sandbox, false);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let plan = &listed[0];
    let count = plan["slots"].as_u64().expect("slots");
    assert!(count >= 2, "{plan}");
    assert!(screen.contains("ticker"), "{screen}");
    assert!(screen.contains(&format!("{count} slots")), "{screen}");
    assert!(
        screen.contains(&format!("Enter runs all {count} slots")),
        "{screen}"
    );

    // The newest all but one: `-`, then Enter.
    tmux.keys(&["-"]);
    tmux.wait_text(
        &format!("the newest {} of {count} slots", count - 1),
        Duration::from_secs(5),
    );
    tmux.keys(&["Enter"]);
    tmux.wait_text("slot(s) approved by", Duration::from_secs(10));
    // Decided: the window closes.
    tmux.wait_for("the window to close", Duration::from_secs(10), |s| {
        !s.contains("Catch-up plans awaiting approval")
    });

    // The approved slots run (the console's own scheduler takes them from
    // the queue) with trigger catch_up; the oldest was declined.
    let (first, last) = (instant(text(plan, "first")), instant(text(plan, "last")));
    let ran = poll("the approved slots to run", LIMIT, || {
        let runs = sandbox.runs();
        let done: Vec<DateTime<Utc>> = runs_of(&runs, "ticker")
            .into_iter()
            .filter(|r| text(r, "trigger") == "catch_up" && text(r, "status") == "succeeded")
            .map(|r| instant(text(r, "scheduled_for")))
            .collect();
        (done.len() as u64 == count - 1).then_some(done)
    });
    assert!(ran.iter().all(|at| *at > first && *at <= last), "{ran:?}");
    let runs = sandbox.runs();
    let declined: Vec<&Value> = runs_of(&runs, "ticker")
        .into_iter()
        .filter(|r| text(r, "trigger") == "catch_up" && text(r, "status") == "skipped")
        .collect();
    assert_eq!(declined.len(), 1, "{declined:?}");
    assert_eq!(instant(text(declined[0], "scheduled_for")), first);
    assert!(
        text(declined[0], "error").contains("(console)"),
        "{}",
        text(declined[0], "error")
    );
    let all = plans(&sandbox, true);
    assert_eq!(all[0]["status"], "approved", "{all:?}");
    assert_eq!(all[0]["approved"], count - 1, "{all:?}");

    // History shows them.
    tmux.wait_for("catch_up runs in History", LIMIT, |s| {
        s.lines()
            .filter(|l| l.contains("ticker") && l.contains("catch_up") && l.contains(" ok "))
            .count()
            >= 1
    });
    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", LIMIT);
}
