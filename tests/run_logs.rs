//! A run's log lines are stored with it and shown while it runs, on both
//! stores: `jobs run --wait` in a process of its own (no instance
//! anywhere) prints the run's lines as they come, and `runs logs` reads
//! them back afterwards. On PostgreSQL none were stored or shown: the
//! driver's query logger, asking the subscriber about each query on the
//! thread that then opened the run's span, cost the span its tag.

mod common;

use common::process::{PgDatabase, Sandbox, config_header, toml_str};

/// A job whose program writes a row and a line on stderr, which becomes a
/// warning among the run's lines.
fn job(sandbox: &Sandbox) {
    let script = "printf 'n\\n1\\n'; echo 'a word on stderr' >&2";
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"talks\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header(),
        toml_str(script)
    ));
    sandbox.apply_config();
}

/// The lines every run of `talks` logs, in order.
const EXPECTED: [&str; 5] = [
    "INFO  attempt 1 of 1 started (manual)",
    "WARN  stderr: a word on stderr",
    "INFO  rendered 1 rows, 6 bytes of csv",
    "INFO  delivered to out: ",
    "INFO  succeeded: 1 rows, 6 bytes, 1 output(s)",
];

fn lines_are_stored_and_shown(sandbox: &Sandbox) {
    job(sandbox);
    let out = sandbox
        .run(&["jobs", "run", "talks", "--wait"])
        .ok("jobs run --wait");
    // Shown as they came, each naming its job and run.
    for expected in EXPECTED {
        let (level, text) = expected.split_once("  ").unwrap_or(("", expected));
        assert!(
            out.stdout.contains(&format!("{level}  talks#1: {text}")),
            "{expected:?} is not shown:\n{}",
            out.stdout
        );
    }
    let logs = sandbox.run(&["runs", "logs", "1"]).ok("runs logs");
    // `2026-12-07T23:44:07.297Z INFO  attempt ...`: the text after the time.
    let stored: Vec<&str> = logs
        .stdout
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect();
    assert_eq!(stored.len(), EXPECTED.len(), "{}", logs.stdout);
    for (line, expected) in stored.iter().zip(EXPECTED) {
        assert!(line.starts_with(expected), "{line:?} is not {expected:?}");
    }
}

#[test]
fn a_runs_lines_are_stored_and_shown_on_sqlite() {
    lines_are_stored_and_shown(&Sandbox::new());
}

#[test]
fn a_runs_lines_are_stored_and_shown_on_postgres() {
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    lines_are_stored_and_shown(&sandbox);
}
