//! Which jobs are checked and how they are reported: the store's (those
//! only the store holds too), and a healthy config with `--json`.

use serde_json::Value;

use crate::common::process::{Sandbox, config_header, sqlite_script};
use crate::common::servers::{Webhook, free_port};
use crate::{WINDOWED, assert_fails, assert_ok, job, job_line, sql};

#[test]
fn jobs_only_in_the_store_are_checked_too() {
    let sandbox = Sandbox::new();
    let data = sandbox.path().join("data.db");
    sqlite_script(
        &data,
        "create table t (id integer); create table legacy (id integer);",
    );
    let header = format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n",
        config_header()
    );
    sandbox.write_config(&format!(
        "{header}{}{}",
        job("kept", &sql("db", "select id from t")),
        job("legacy", &sql("db", "select id from legacy")),
    ));
    sandbox.apply_config();
    // `legacy` leaves the config file and its table goes away; the store
    // still runs it. `kept` is edited in the file but not applied: the
    // stored query is what runs, so it is what is checked.
    sandbox.write_config(&format!(
        "{header}{}",
        job("kept", &sql("db", "select id from nope"))
    ));
    sqlite_script(&data, "drop table legacy;");
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a broken job that only the store has");
    assert!(out.stdout.contains("ok   config"), "{}", out.stdout);
    let line = assert_ok(&out, "kept");
    assert!(
        line.contains("[store]") && line.contains("definition differs"),
        "{line}"
    );
    let line = job_line(&out, "legacy");
    assert!(line.contains("[store only]"), "{line}");
    assert_fails(&out, "legacy", "no such table: legacy");

    // A stored job that no longer fits the config (its destination is gone)
    // is named with the key that broke.
    sandbox.write_config(
        "[sources.db]\nurl = \"sqlite://data.db\"\n\n[destinations.other]\nkind = \"local\"\n\
         root = \"exports\"\npath = \"{job}.{ext}\"\n",
    );
    let out = sandbox
        .run(&["check", "--json"])
        .expect_code(1, "check of stored jobs whose destination is gone");
    let report = out.json();
    assert_eq!(report["ok"], false);
    let jobs: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks is an array")
        .iter()
        .filter(|c| c["kind"] == "job")
        .collect();
    assert_eq!(jobs.len(), 2, "{report}");
    for job in jobs {
        assert_eq!(job["ok"], false, "{job}");
        assert_eq!(job["origin"], "store only", "{job}");
        let detail = job["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("out"), "{detail}");
    }
}

#[test]
fn a_healthy_config_passes_with_one_line_per_check() {
    let sandbox = Sandbox::new();
    sqlite_script(
        &sandbox.path().join("data.db"),
        "create table t (id integer, name text); insert into t values (1, 'a');",
    );
    let live = Webhook::start(&[]);
    sandbox.write("data.csv", "id\n1\n");
    sandbox.write_config(&format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n{}{}{}{}",
        config_header(),
        job("query", &sql("db", WINDOWED)),
        job(
            "program",
            "{ kind = \"command\", argv = [\"sh\", \"-c\", \"echo id\"] }"
        ),
        job("file", "{ kind = \"file\", path = \"data.csv\" }"),
        job(
            "api",
            &format!("{{ kind = \"http\", url = \"{}\" }}", live.url("/x"))
        ),
    ));
    sandbox.apply_config();
    let out = sandbox.run(&["check"]).ok("check of a healthy config");
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);
    for name in ["query", "program", "file", "api"] {
        let line = assert_ok(&out, name);
        assert!(line.contains("[store]"), "{line}");
        assert!(line.contains("destinations out"), "{line}");
    }
    assert!(out.stdout.contains("ok   source db"), "{}", out.stdout);
    assert!(
        out.stdout.contains("ok   destination out:"),
        "{}",
        out.stdout
    );

    let report = sandbox.run(&["check", "--json"]).ok("check --json").json();
    assert_eq!(report["ok"], true, "{report}");
    let checks = report["checks"].as_array().expect("checks is an array");
    let kinds: Vec<&str> = checks.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "config",
            "store",
            "source",
            "destination",
            "job",
            "job",
            "job",
            "job"
        ],
        "{report}"
    );
    for check in checks {
        assert_eq!(check["ok"], true, "{check}");
    }
    let query = checks
        .iter()
        .find(|c| c["name"] == "query")
        .expect("the query job is reported");
    // Checked with the parameters of the next 03:00 UTC slot.
    let slot = query["slot"].as_str().expect("a slot");
    assert!(slot.ends_with("T03:00:00Z"), "{slot}");
}

#[test]
fn a_job_fails_when_a_destination_it_delivers_or_notifies_through_fails() {
    let sandbox = Sandbox::new();
    sandbox.write("blocker", "a file where a folder should be");
    let closed = free_port();
    sandbox.write_config(&format!(
        "{}[destinations.blocked]\nkind = \"local\"\nroot = \"blocker/exports\"\npath = \"{{job}}.{{ext}}\"\n\n\
         [destinations.alerts]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{closed}/hook\"\nmode = \"notice\"\n\n\
         {}{}{}",
        config_header(),
        job("fine", PROGRAM),
        job("notifies", PROGRAM).replace(
            "destinations = [\"out\"]",
            "destinations = [\"out\"]\nnotify = { on = [\"failure\"], to = [\"alerts\"] }",
        ),
        job("delivers", PROGRAM).replace("[\"out\"]", "[\"out\", \"blocked\"]"),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with failing destinations");
    assert!(
        out.stdout.contains("FAIL destination alerts"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("FAIL destination blocked"),
        "{}",
        out.stdout
    );
    assert_ok(&out, "fine");
    assert_fails(&out, "notifies", "destination alerts: ");
    assert_fails(&out, "delivers", "destination blocked: ");
    assert!(out.stderr.contains("4 check(s) failed"), "{}", out.stderr);
}

/// A command source that is always there.
const PROGRAM: &str = "{ kind = \"command\", argv = [\"sh\", \"-c\", \"echo id\"] }";
