//! Approving a replay plan from the console, as an operator does: a job
//! with `catch_up = "ask"` runs headless, the instance stops, slots pass,
//! the console opens on the plan, the operator approves the newest slots
//! but one with `-` and Enter, and those run with trigger `catch_up`.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::process::{Sandbox, config_header, poll, runs_of, text, toml_str};
use common::tmux::{Tmux, console_command};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

fn instant(value: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value)
        .unwrap_or_else(|e| panic!("{value:?}: {e}"))
        .with_timezone(&Utc)
}

#[test]
fn the_console_shows_the_plan_on_start_and_approves_some_of_it() {
    let sandbox = Sandbox::new();
    // Every 2 seconds in New York; the console shows UTC (the config's
    // default zone).
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"ticker\"\nschedule = \"*/2 * * * * *\"\n\
         timezone = \"America/New_York\"\ncatch_up = \"ask\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header(),
        toml_str("printf 'n\\n1\\n'")
    ));

    // Headless once: the job is stored and runs.
    let mut headless = sandbox.headless(&[]);
    headless.wait_for_line("scheduler started", LIMIT);
    poll("a scheduled run", LIMIT, || {
        let runs = sandbox.runs();
        runs_of(&runs, "ticker")
            .iter()
            .any(|r| text(r, "status") == "succeeded")
            .then_some(())
    });
    let status = headless.terminate(LIMIT);
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
    // Down long enough that a few slots are more than 5 s late (missed).
    std::thread::sleep(Duration::from_secs(13));

    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    let screen = tmux.wait_text("Catch-up plans awaiting approval", LIMIT);
    let plans = match sandbox
        .run(&["catchup", "list", "--json"])
        .ok("catchup list")
        .json()
    {
        Value::Array(plans) => plans,
        other => panic!("not a list: {other}"),
    };
    assert_eq!(plans.len(), 1, "{plans:?}");
    let plan = &plans[0];
    let count = plan["slots"].as_u64().expect("slots");
    assert!(count >= 3, "{plan}");
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
    let all = sandbox
        .run(&["catchup", "list", "--all", "--json"])
        .ok("catchup list --all")
        .json();
    assert_eq!(all[0]["status"], "approved", "{all}");
    assert_eq!(all[0]["approved"], count - 1, "{all}");

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
