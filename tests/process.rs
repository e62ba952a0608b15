//! Process-level tests of the real binary in headless mode, on a SQLite
//! store: every-second exports equal to the source table, SIGTERM drains and
//! exits 0, JSON log lines, crash recovery after `kill -9`, the store file's
//! mode, and the command line reaching a running instance (run --wait,
//! pause/resume).

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::process::{
    Sandbox, config_header, poll, runs_of, sqlite_script, text, toml_str, try_poll,
};
use serde_json::Value;

/// A cell of the source table, as the test wrote it.
#[derive(Clone, Debug)]
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(&'static str),
}

impl Cell {
    fn sql(&self) -> String {
        match self {
            Cell::Null => "NULL".into(),
            Cell::Int(i) => i.to_string(),
            Cell::Real(r) => format!("{r:e}"),
            Cell::Text(t) => format!("'{}'", t.replace('\'', "''")),
        }
    }

    /// Whether a CSV field holds this cell (NULL is an empty field; reals
    /// must read back to exactly the same number).
    fn matches(&self, field: &str) -> bool {
        match self {
            Cell::Null => field.is_empty(),
            Cell::Int(i) => field == i.to_string(),
            Cell::Real(r) => field.parse::<f64>().is_ok_and(|f| f == *r),
            Cell::Text(t) => field == *t,
        }
    }
}

const COLUMNS: [&str; 5] = ["id", "name", "note", "qty", "price"];

fn table() -> Vec<[Cell; 5]> {
    use Cell::*;
    vec![
        [
            Int(1),
            Text("plain"),
            Text("simple text"),
            Int(42),
            Real(0.1),
        ],
        [
            Int(2),
            Text("comma, inside"),
            Text("say \"hello\""),
            Int(-7),
            Real(3.0),
        ],
        [
            Int(3),
            Text("multi\nline"),
            Text("crlf\r\nline"),
            Int(0),
            Real(-2.5e-7),
        ],
        [Int(4), Text("Zürich 東京 🚀"), Null, Null, Null],
        [Int(5), Null, Text("  padded  "), Int(i64::MAX), Real(1e300)],
        [
            Int(6),
            Text("quote\" and, comma\n"),
            Text("ümlaut — ‘typographic’ 'single'"),
            Int(-9_223_372_036_854_775_807),
            Real(12345.678),
        ],
    ]
}

fn create_table(path: &Path) {
    let mut script = String::from(
        "create table items (id integer primary key, name text, note text, qty integer, price real);\n",
    );
    for row in table() {
        let values: Vec<String> = row.iter().map(Cell::sql).collect();
        script.push_str(&format!(
            "insert into items values ({});\n",
            values.join(", ")
        ));
    }
    sqlite_script(path, &script);
}

/// Parse an export and compare it with [`table`] cell by cell.
fn assert_export_equals_table(file: &Path) {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{} is not CSV: {e}", file.display()));
    let header: Vec<&str> = records[0].iter().collect();
    assert_eq!(header, COLUMNS, "header of {}", file.display());
    let rows = &records[1..];
    let expected = table();
    assert_eq!(rows.len(), expected.len(), "rows in {}", file.display());
    for (i, (got, want)) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(
            got.len(),
            want.len(),
            "width of row {i} in {}",
            file.display()
        );
        for (j, (field, cell)) in got.iter().zip(want).enumerate() {
            assert!(
                cell.matches(field),
                "{} row {i} column {}: CSV has {field:?}, the table has {cell:?}",
                file.display(),
                COLUMNS[j]
            );
        }
    }
    // RFC 4180: CRLF between records.
    assert!(
        bytes.ends_with(b"\r\n"),
        "{} does not end in CRLF",
        file.display()
    );
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn count_status(runs: &[&Value], status: &str) -> usize {
    runs.iter().filter(|r| r["status"] == status).count()
}

fn assert_nothing_left_running(runs: &[Value]) {
    let stuck: Vec<&Value> = runs
        .iter()
        .filter(|r| r["status"] == "running" || r["status"] == "queued")
        .collect();
    assert!(stuck.is_empty(), "runs left running/queued: {stuck:#?}");
}

const STARTED: &str = "scheduler started";

#[test]
fn headless_every_second_exports_equal_the_table_and_sigterm_drains() {
    let sandbox = Sandbox::new();
    create_table(&sandbox.path().join("data.db"));
    sandbox.write_config(&format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n\
         [[jobs]]\nname = \"table-dump\"\nschedule = \"* * * * * *\"\ntimezone = \"UTC\"\n\
         source = {{ kind = \"sql\", connection = \"db\", query = \"select id, name, note, qty, price from items order by id\" }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    let mut headless = sandbox.headless(&[]);
    headless.wait_for_line(STARTED, Duration::from_secs(20));
    // The config's job was added to the fresh store.
    assert_eq!(sandbox.job("table-dump")["cron"], "* * * * * *");

    let succeeded = poll("3 succeeded runs", Duration::from_secs(20), || {
        headless.assert_running();
        let runs = sandbox.runs();
        let done = count_status(&runs_of(&runs, "table-dump"), "succeeded");
        (done >= 3).then_some(done)
    });
    assert!(succeeded >= 3);

    // While it runs, the store and its WAL companions are private.
    let store = sandbox.path().join("store.db");
    assert_eq!(mode(&store), 0o600, "store file mode");
    for companion in ["store.db-wal", "store.db-shm"] {
        let path = sandbox.path().join(companion);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{companion} mode");
        }
    }

    let status = headless.terminate(Duration::from_secs(20));
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM\n{}",
        headless.transcript()
    );
    let log = headless.stdout().join("\n");
    assert!(
        log.contains("SIGTERM: draining"),
        "no drain in the log:\n{log}"
    );
    assert!(
        log.contains("scheduler stopped"),
        "no stop in the log:\n{log}"
    );

    let runs = sandbox.runs();
    assert_nothing_left_running(&runs);
    let mine = runs_of(&runs, "table-dump");
    let bad: Vec<_> = mine
        .iter()
        .filter(|r| r["status"] != "succeeded" && r["status"] != "skipped")
        .collect();
    assert!(
        bad.is_empty(),
        "runs that neither succeeded nor were skipped: {bad:#?}"
    );
    let ok: Vec<&&Value> = mine.iter().filter(|r| r["status"] == "succeeded").collect();
    assert!(ok.len() >= 3, "{ok:#?}");
    // Several distinct slots ran, a second apart.
    let slots: BTreeSet<DateTime<Utc>> = ok
        .iter()
        .filter(|r| r["trigger"] == "schedule")
        .map(|r| instant(text(r, "scheduled_for")))
        .collect();
    assert!(slots.len() >= 3, "{slots:?}");
    assert!(slots.iter().all(|s| s.timestamp_subsec_millis() == 0));

    // Every succeeded run delivered one file equal to the table; nothing
    // else (no temporary or partial file) is in the exports folder.
    let mut expected_files = BTreeSet::new();
    for run in &ok {
        let id = run["id"].as_i64().unwrap();
        assert_eq!(run["rows"], 6, "{run}");
        let outputs = run["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 1, "{run}");
        let file = sandbox
            .exports()
            .join("table-dump")
            .join(format!("{id}.csv"));
        assert!(
            outputs[0]
                .as_str()
                .unwrap()
                .ends_with(&format!("table-dump/{id}.csv")),
            "{run}"
        );
        assert_eq!(
            run["bytes"].as_u64(),
            Some(std::fs::metadata(&file).unwrap().len()),
            "{run}"
        );
        assert_export_equals_table(&file);
        expected_files.insert(Path::new("table-dump").join(format!("{id}.csv")));
    }
    let found: BTreeSet<_> = common::files_under(&sandbox.exports())
        .into_iter()
        .collect();
    assert_eq!(found, expected_files, "files in the exports folder");
}

#[test]
fn json_log_lines_have_the_five_keys() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"ticker\"\nschedule = \"* * * * * *\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"echo 'a note on stderr' >&2; printf 'n\\\\n1\\\\n'\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    let mut headless = sandbox.headless(&["--log-format", "json"]);
    headless.wait_for_line(STARTED, Duration::from_secs(20));
    poll("2 succeeded runs", Duration::from_secs(20), || {
        headless.assert_running();
        let runs = sandbox.runs();
        (count_status(&runs_of(&runs, "ticker"), "succeeded") >= 2).then_some(())
    });
    let status = headless.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());

    let lines = headless.stdout();
    assert!(lines.len() >= 5, "too few lines: {lines:?}");
    let expected: BTreeSet<&str> = ["ts", "level", "job", "run_id", "msg"].into();
    let run_ids: BTreeSet<i64> = sandbox
        .runs()
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    let mut run_lines = 0;
    let mut messages = Vec::new();
    for line in &lines {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        let object = value
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {line}"));
        let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, expected, "keys of {line}");
        instant(value["ts"].as_str().expect("ts is a string"));
        assert!(
            ["trace", "debug", "info", "warn", "error"]
                .contains(&value["level"].as_str().unwrap_or("")),
            "level of {line}"
        );
        assert!(value["job"].is_null() || value["job"].is_string(), "{line}");
        assert!(
            value["run_id"].is_null() || value["run_id"].is_i64(),
            "{line}"
        );
        let msg = value["msg"].as_str().expect("msg is a string");
        messages.push(msg.to_string());
        if let Some(id) = value["run_id"].as_i64() {
            assert_eq!(value["job"], "ticker", "{line}");
            assert!(
                run_ids.contains(&id),
                "run_id {id} is not a stored run: {line}"
            );
            run_lines += 1;
        }
    }
    assert!(run_lines >= 2, "no lines of runs:\n{}", lines.join("\n"));
    assert!(
        messages.iter().any(|m| m.contains("a note on stderr")),
        "the program's stderr is not in the log:\n{}",
        lines.join("\n")
    );
    assert!(messages.iter().any(|m| m.contains("SIGTERM: draining")));
}

/// A job whose runs wait for a file the test creates when it chooses.
fn gated_config(sandbox: &Sandbox, retries: Option<u32>) -> String {
    let gate = sandbox.path().join("RELEASE");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; printf 'n\\n1\\n'",
        gate.display()
    );
    let retries = retries.map_or(String::new(), |n| format!("retries = {n}\n"));
    format!(
        "{}[[jobs]]\nname = \"gated\"\nschedule = \"* * * * * *\"\n{retries}\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header(),
        toml_str(&script)
    )
}

/// Start headless, wait for a run of `gated` to be running, `kill -9` the
/// process, open the gate and start a new instance. Returns the killed
/// run, the new instance and when it started.
fn kill_during_a_run(sandbox: &Sandbox) -> (Value, common::process::Headless, DateTime<Utc>) {
    let mut first = sandbox.headless(&[]);
    first.wait_for_line(STARTED, Duration::from_secs(20));
    let running = poll("a running run", Duration::from_secs(20), || {
        first.assert_running();
        sandbox
            .runs()
            .into_iter()
            .find(|r| r["job"] == "gated" && r["status"] == "running")
    });
    first.kill9();
    // The crash left it running in the store.
    let id = running["id"].as_i64().unwrap();
    let left = sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("show")
        .json();
    assert_eq!(left["status"], "running", "{left}");
    std::fs::write(sandbox.path().join("RELEASE"), "").unwrap();

    let restarted_at = Utc::now();
    let mut second = sandbox.headless(&["--grace", "5s"]);
    second.wait_for_line(STARTED, Duration::from_secs(20));
    (running, second, restarted_at)
}

fn run_by_id(sandbox: &Sandbox, id: i64) -> Value {
    sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("runs show --json")
        .json()
}

#[test]
fn kill_9_during_a_run_then_restart_interrupts_and_retries_it() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&gated_config(&sandbox, None));
    let (killed, mut second, _) = kill_during_a_run(&sandbox);
    let killed_id = killed["id"].as_i64().unwrap();

    // Same host, dead pid: recovered at once (15 s at most by heartbeat).
    poll(
        "the killed run to become interrupted",
        Duration::from_secs(20),
        || {
            second.assert_running();
            (run_by_id(&sandbox, killed_id)["status"] == "interrupted").then_some(())
        },
    );
    let retry = try_poll(Duration::from_secs(20), || {
        second.assert_running();
        sandbox
            .runs()
            .into_iter()
            .find(|r| r["retry_of"].as_i64() == Some(killed_id))
    })
    .unwrap_or_else(|| {
        panic!(
            "run {killed_id} was interrupted but no run with retry_of = {killed_id} appeared \
             within 20 s of the restart (policy: retries = 3 by default)\n--- runs\n{:#?}\n{}",
            sandbox.runs(),
            second.transcript()
        )
    });
    assert_eq!(retry["trigger"], "retry", "{retry}");
    assert_eq!(retry["job"], "gated");
    assert_eq!(retry["scheduled_for"], killed["scheduled_for"], "{retry}");
    assert_eq!(
        retry["attempt"].as_i64(),
        killed["attempt"].as_i64().map(|a| a + 1),
        "the retry is the next attempt: {retry}"
    );
    let retry_id = retry["id"].as_i64().unwrap();
    poll("the retry to succeed", Duration::from_secs(20), || {
        second.assert_running();
        let status = run_by_id(&sandbox, retry_id)["status"].clone();
        assert_ne!(status, "failed");
        (status == "succeeded").then_some(())
    });

    let status = second.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", second.transcript());
    let runs = sandbox.runs();
    assert_nothing_left_running(&runs);
    let retries: Vec<_> = runs
        .iter()
        .filter(|r| r["retry_of"].as_i64() == Some(killed_id))
        .collect();
    assert_eq!(retries.len(), 1, "one retry, not more: {retries:#?}");
    assert_eq!(run_by_id(&sandbox, killed_id)["status"], "interrupted");
}

#[test]
fn kill_9_with_retries_0_interrupts_without_retrying() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&gated_config(&sandbox, Some(0)));
    let (killed, mut second, restarted_at) = kill_during_a_run(&sandbox);
    let killed_id = killed["id"].as_i64().unwrap();
    poll(
        "the killed run to become interrupted",
        Duration::from_secs(20),
        || {
            second.assert_running();
            (run_by_id(&sandbox, killed_id)["status"] == "interrupted").then_some(())
        },
    );
    // Recovery happens before the restarted scheduler fires anything, so
    // once a newer run has finished, a retry would already exist.
    poll(
        "a run started after the restart to succeed",
        Duration::from_secs(20),
        || {
            second.assert_running();
            sandbox.runs().into_iter().find(|r| {
                r["job"] == "gated"
                    && r["status"] == "succeeded"
                    && r["started_at"]
                        .as_str()
                        .is_some_and(|s| instant(s) >= restarted_at)
            })
        },
    );
    let runs = sandbox.runs();
    let retries: Vec<_> = runs
        .iter()
        .filter(|r| r["retry_of"].as_i64() == Some(killed_id) || r["trigger"] == "retry")
        .collect();
    assert!(
        retries.is_empty(),
        "retries = 0 but it was retried: {retries:#?}"
    );
    let status = second.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", second.transcript());
    assert_eq!(run_by_id(&sandbox, killed_id)["status"], "interrupted");
    assert_nothing_left_running(&sandbox.runs());
}

#[test]
fn the_store_file_is_created_with_mode_0600() {
    // The default store: $XDG_DATA_HOME/cronport/cronport.db.
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.bare_command();
    cmd.args(["jobs", "list"]);
    common::process::run_command(cmd).ok("jobs list on the default store");
    let default = sandbox.path().join("xdg-data/cronport/cronport.db");
    assert_eq!(mode(&default), 0o600, "{}", default.display());

    // A store named with --store, in a folder that does not exist yet.
    let mut cmd = sandbox.bare_command();
    let named = sandbox.path().join("deeper/folder/named.db");
    cmd.args([
        "--store",
        &format!("sqlite://{}", named.display()),
        "jobs",
        "list",
    ]);
    common::process::run_command(cmd).ok("jobs list on a named store");
    assert_eq!(mode(&named), 0o600, "{}", named.display());

    // Through CRONPORT_STORE, with a permissive umask in force.
    let mut cmd = sandbox.bare_command();
    let from_env = sandbox.path().join("env.db");
    cmd.env("CRONPORT_STORE", format!("sqlite://{}", from_env.display()))
        .args(["runs", "list"]);
    // SAFETY: umask(2) is async-signal-safe; it runs in the child only.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let result = common::process::run_command(cmd);
    result.ok("runs list on CRONPORT_STORE");
    assert_eq!(mode(&from_env), 0o600, "{} (umask 0)", from_env.display());
}

#[test]
fn jobs_run_goes_through_a_running_instance() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"on-demand\"\nschedule = \"0 0 1 1 *\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n7\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n\
         [[jobs]]\nname = \"broken\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"false\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    let mut headless = sandbox.headless(&[]);
    headless.wait_for_line(STARTED, Duration::from_secs(20));
    let pid = headless.pid();

    let out = sandbox
        .run(&["jobs", "run", "on-demand", "--wait"])
        .ok("jobs run --wait through the instance");
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    assert!(
        out.stdout.contains(&format!("started on {host}:{pid}")),
        "the run did not start on the headless instance (pid {pid}):\n{}",
        out.stdout
    );
    let id: i64 = out
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("run ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no run id in:\n{}", out.stdout));
    assert!(
        out.stdout.contains(&format!("run {id} succeeded")),
        "{}",
        out.stdout
    );
    let run = run_by_id(&sandbox, id);
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["rows"], 1);
    // The instance's log has the run's lines.
    headless.wait_for_line(&format!("on-demand#{id}"), Duration::from_secs(5));

    // A failing job through the instance: exit 1.
    let out = sandbox
        .run(&["jobs", "run", "broken", "--wait"])
        .expect_code(1, "jobs run --wait of a failing job");
    assert!(out.stdout.contains(&format!(":{pid}")), "{}", out.stdout);
    assert!(out.stderr.contains("failed"), "{}", out.stderr);

    // Without --wait: it returns once the instance has started the run.
    let out = sandbox
        .run(&["jobs", "run", "on-demand"])
        .ok("jobs run without --wait");
    let id: i64 = out
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("run ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no run id in:\n{}", out.stdout));
    poll("the run to succeed", Duration::from_secs(15), || {
        (run_by_id(&sandbox, id)["status"] == "succeeded").then_some(())
    });

    let status = headless.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
    assert_nothing_left_running(&sandbox.runs());
}

#[test]
fn pausing_a_job_stops_its_runs_on_a_running_instance() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"every-second\"\nschedule = \"* * * * * *\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    let mut headless = sandbox.headless(&[]);
    headless.wait_for_line(STARTED, Duration::from_secs(20));
    poll("2 succeeded runs", Duration::from_secs(20), || {
        headless.assert_running();
        (count_status(&runs_of(&sandbox.runs(), "every-second"), "succeeded") >= 2).then_some(())
    });

    sandbox.run(&["jobs", "pause", "every-second"]).ok("pause");
    let paused_at = Utc::now();
    assert_eq!(sandbox.job("every-second")["state"], "paused");
    // Watch the store for 4 s: no slot later than 2 s after the pause runs.
    let watch_until = Instant::now() + Duration::from_secs(4);
    let limit = paused_at + chrono::Duration::seconds(2);
    while Instant::now() < watch_until {
        headless.assert_running();
        let late: Vec<Value> = sandbox
            .runs()
            .into_iter()
            .filter(|r| r["job"] == "every-second" && r["status"] != "skipped")
            .filter(|r| instant(text(r, "scheduled_for")) > limit)
            .collect();
        assert!(
            late.is_empty(),
            "runs after the pause at {paused_at}: {late:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    sandbox
        .run(&["jobs", "resume", "every-second"])
        .ok("resume");
    let resumed_at = Utc::now();
    poll("a run after the resume", Duration::from_secs(10), || {
        headless.assert_running();
        sandbox.runs().into_iter().find(|r| {
            r["job"] == "every-second"
                && r["status"] == "succeeded"
                && instant(text(r, "scheduled_for")) >= resumed_at
        })
    });
    let status = headless.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
    assert_nothing_left_running(&sandbox.runs());
}
