//! Command-line round trips of the real binary: `next`, `apply`, `jobs
//! list|show|pause|resume|export|delete|run`, `runs list|show|logs`, `check`.
//! No scheduler runs here (see tests/process.rs for headless mode).

mod common;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use common::process::{Sandbox, config_header, sqlite_script, text};
use serde_json::Value;

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

fn next_json(sandbox: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["next"];
    all.extend_from_slice(args);
    all.push("--json");
    sandbox.run(&all).ok(&format!("{all:?}")).json()
}

/// `(utc, local)` pairs of a `next --json` answer, checking that each local
/// time is the same instant as its UTC time.
fn fires(answer: &Value) -> Vec<(String, String)> {
    answer["fires"]
        .as_array()
        .unwrap_or_else(|| panic!("fires is not a list: {answer}"))
        .iter()
        .map(|f| {
            assert_eq!(keys(f), set(&["utc", "local"]), "fire object: {f}");
            let utc = f["utc"].as_str().unwrap().to_string();
            let local = f["local"].as_str().unwrap().to_string();
            assert!(utc.ends_with('Z'), "utc is not in UTC: {utc}");
            assert_eq!(instant(&utc), instant(&local), "{utc} vs {local}");
            (utc, local)
        })
        .collect()
}

#[test]
fn next_json_has_the_documented_shape_across_spring_forward() {
    let sandbox = Sandbox::new();
    let answer = next_json(
        &sandbox,
        &[
            "30 2 * * *",
            "--tz",
            "America/New_York",
            "--from",
            "2026-03-07T12:00:00Z",
            "--count",
            "3",
        ],
    );
    assert_eq!(
        keys(&answer),
        set(&["schedule", "cron", "timezone", "description", "fires"])
    );
    assert_eq!(answer["schedule"], "30 2 * * *");
    assert_eq!(answer["cron"], "30 2 * * *");
    assert_eq!(answer["timezone"], "America/New_York");
    assert!(
        answer["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty()),
        "description: {answer}"
    );
    assert_eq!(
        fires(&answer),
        vec![
            // 02:30 does not exist on 2026-03-08: it runs once, at 03:00 EDT.
            (
                "2026-03-08T07:00:00Z".to_string(),
                "2026-03-08T03:00:00-04:00".to_string()
            ),
            (
                "2026-03-09T06:30:00Z".to_string(),
                "2026-03-09T02:30:00-04:00".to_string()
            ),
            (
                "2026-03-10T06:30:00Z".to_string(),
                "2026-03-10T02:30:00-04:00".to_string()
            ),
        ]
    );
    // The text form says the same.
    let out = sandbox
        .run(&[
            "next",
            "30 2 * * *",
            "--tz",
            "America/New_York",
            "--from",
            "2026-03-07T12:00:00Z",
            "--count",
            "1",
        ])
        .ok("next (text)");
    assert!(
        out.stdout.contains("2026-03-08T07:00:00Z"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("America/New_York"), "{}", out.stdout);
}

#[test]
fn next_json_across_fall_back_and_for_presets() {
    let sandbox = Sandbox::new();
    // Fixed time in the repeated hour: once, at the first (EDT) occurrence.
    let fixed = next_json(
        &sandbox,
        &[
            "30 1 * * *",
            "--tz",
            "America/New_York",
            "--from",
            "2026-10-31T12:00:00Z",
            "--count",
            "2",
        ],
    );
    assert_eq!(
        fires(&fixed),
        vec![
            (
                "2026-11-01T05:30:00Z".to_string(),
                "2026-11-01T01:30:00-04:00".to_string()
            ),
            (
                "2026-11-02T06:30:00Z".to_string(),
                "2026-11-02T01:30:00-05:00".to_string()
            ),
        ]
    );
    // Wildcard hour: both occurrences, 30 minutes apart in real time.
    let wildcard = next_json(
        &sandbox,
        &[
            "*/30 * * * *",
            "--tz",
            "America/New_York",
            "--from",
            "2026-11-01T04:45:00Z",
            "--count",
            "5",
        ],
    );
    let got: Vec<String> = fires(&wildcard).into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        got,
        vec![
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:30:00-05:00",
            "2026-11-01T02:00:00-05:00",
        ]
    );
    // A preset is kept as written and shown as cron; default count is 5.
    let preset = next_json(
        &sandbox,
        &[
            "daily at 02:00",
            "--tz",
            "Europe/London",
            "--from",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(preset["schedule"], "daily at 02:00");
    assert_eq!(preset["cron"], "0 2 * * *");
    assert_eq!(fires(&preset).len(), 5);
    assert_eq!(fires(&preset)[0].0, "2026-01-01T02:00:00Z");
}

#[test]
fn next_uses_the_configs_default_zone() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_header().replace(
        "default_timezone = \"UTC\"",
        "default_timezone = \"Asia/Tokyo\"",
    ));
    let answer = next_json(
        &sandbox,
        &[
            "0 9 * * *",
            "--from",
            "2026-04-30T12:00:00Z",
            "--count",
            "1",
        ],
    );
    assert_eq!(answer["timezone"], "Asia/Tokyo");
    assert_eq!(
        fires(&answer)[0],
        (
            "2026-05-01T00:00:00Z".to_string(),
            "2026-05-01T09:00:00+09:00".to_string()
        )
    );
}

const JOB_KEYS: &[&str] = &[
    "name",
    "schedule",
    "cron",
    "timezone",
    "state",
    "next_run",
    "last_run",
    "last_status",
    "run_count",
    "error_count",
];

fn two_jobs_config() -> String {
    format!(
        "{}[[jobs]]\nname = \"alpha\"\nschedule = \"daily at 02:00\"\ntimezone = \"America/New_York\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n\"] }}\nformat = {{ kind = \"csv\" }}\n\
         destinations = [\"out\"]\nretries = 1\ntimeout = \"90s\"\noverlap = \"queue_one\"\n\
         catch_up = \"all\"\ncatch_up_window = \"2d\"\n\n\
         [[jobs]]\nname = \"beta\"\nschedule = \"*/5 * * * *\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n2\\n\"], env = {{ A = \"b\" }} }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    )
}

#[test]
fn apply_list_pause_resume_export_and_prune() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&two_jobs_config());
    let out = sandbox.apply_config();
    assert!(
        out.stdout.contains("created: alpha, beta"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("2 created, 0 updated, 0 unchanged, 0 pruned"),
        "{}",
        out.stdout
    );

    let jobs = sandbox.jobs();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    for job in &jobs {
        let missing: Vec<_> = JOB_KEYS
            .iter()
            .filter(|k| !keys(job).contains(**k))
            .collect();
        assert!(missing.is_empty(), "job lacks {missing:?}: {job}");
        assert_eq!(job["state"], "active");
        assert_eq!(job["run_count"], 0);
        assert_eq!(job["error_count"], 0);
        assert!(job["last_run"].is_null() && job["last_status"].is_null());
        let next = instant(text(job, "next_run"));
        assert!(next > Utc::now(), "next_run in the past: {job}");
    }
    let alpha = sandbox.job("alpha");
    assert_eq!(alpha["schedule"], "daily at 02:00");
    assert_eq!(alpha["cron"], "0 2 * * *");
    assert_eq!(alpha["timezone"], "America/New_York");
    let beta = sandbox.job("beta");
    assert_eq!(beta["cron"], "*/5 * * * *");
    assert_eq!(beta["timezone"], "UTC", "the config's default zone");
    assert_eq!(instant(text(&beta, "next_run")).timestamp() % 300, 0);

    // Applying the same file again changes nothing.
    let again = sandbox.apply_config();
    assert!(
        again.stdout.contains("unchanged: alpha, beta"),
        "{}",
        again.stdout
    );

    // Pause and resume flip the state, and only that job's.
    let out = sandbox.run(&["jobs", "pause", "alpha"]).ok("pause");
    assert!(out.stdout.contains("alpha paused"), "{}", out.stdout);
    let alpha = sandbox.job("alpha");
    assert_eq!(alpha["state"], "paused");
    assert!(alpha["next_run"].is_null(), "a paused job has no next run");
    assert_eq!(sandbox.job("beta")["state"], "active");
    let show = sandbox
        .run(&["jobs", "show", "alpha", "--json"])
        .ok("show")
        .json();
    assert_eq!(show["state"], "paused");
    assert_eq!(show["definition"]["retries"], 1);
    sandbox.run(&["jobs", "resume", "alpha"]).ok("resume");
    let alpha = sandbox.job("alpha");
    assert_eq!(alpha["state"], "active");
    assert!(alpha["next_run"].is_string());

    // export -> apply: every job unchanged.
    let exported = sandbox.run(&["jobs", "export"]).ok("export").stdout;
    let parsed: toml::Table = toml::from_str(&exported)
        .unwrap_or_else(|e| panic!("export is not TOML ({e}):\n{exported}"));
    assert_eq!(
        parsed["jobs"].as_array().map(Vec::len),
        Some(2),
        "{exported}"
    );
    assert!(
        !exported.contains("[destinations") && !exported.contains("[sources"),
        "export writes jobs only:\n{exported}"
    );
    let file = sandbox.write("exported.toml", &exported);
    let out = sandbox
        .run(&["apply", file.to_str().unwrap()])
        .ok("apply of the export");
    assert!(
        out.stdout.contains("unchanged: alpha, beta"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("0 created, 0 updated, 2 unchanged, 0 pruned"),
        "{}",
        out.stdout
    );

    // An edit is an update; --prune removes what the file lacks.
    let only_alpha = exported
        .split("[[jobs]]")
        .filter(|part| part.contains("name = \"alpha\""))
        .map(|part| format!("[[jobs]]{part}"))
        .collect::<String>()
        .replace("retries = 1", "retries = 2");
    let file = sandbox.write("only-alpha.toml", &only_alpha);
    let out = sandbox
        .run(&["apply", "--prune", file.to_str().unwrap()])
        .ok("apply --prune");
    assert!(out.stdout.contains("updated: alpha"), "{}", out.stdout);
    assert!(out.stdout.contains("pruned: beta"), "{}", out.stdout);
    let names: Vec<_> = sandbox.jobs().iter().map(|j| j["name"].clone()).collect();
    assert_eq!(names, vec![Value::from("alpha")]);

    sandbox.run(&["jobs", "delete", "alpha"]).ok("delete");
    assert!(sandbox.jobs().is_empty());
}

#[test]
fn apply_without_a_file_applies_the_config_file() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&two_jobs_config());
    // `cronport --config FILE apply`: FILE is the default apply file.
    let out = sandbox.run(&["apply"]);
    assert_eq!(
        out.code,
        Some(0),
        "`apply` with no FILE must apply the --config file (issue 2: \"default: the config file\"); stderr: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("created: alpha, beta"),
        "{}",
        out.stdout
    );
}

#[test]
fn check_names_the_config_file_it_loaded() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&two_jobs_config());
    let out = sandbox.run(&["check"]).ok("check");
    let config = sandbox.config_path();
    assert!(
        out.stdout
            .contains(&format!("ok   config {} (2 job(s))", config.display())),
        "check must report the config file it loaded (--config {}), not built-in defaults:\n{}",
        config.display(),
        out.stdout
    );
}

fn run_config() -> String {
    format!(
        "{}[[jobs]]\nname = \"ok-job\"\nschedule = \"0 0 1 1 *\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"printf 'id,name\\\\n1,a\\\\n2,\\\"b, c\\\"\\\\n'\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n\
         [[jobs]]\nname = \"bad-job\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"echo boom-on-stderr >&2; exit 3\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    )
}

const RUN_KEYS: &[&str] = &[
    "id",
    "job",
    "trigger",
    "status",
    "scheduled_for",
    "started_at",
    "finished_at",
    "duration_ms",
    "attempt",
    "rows",
    "bytes",
    "outputs",
    "error",
];

#[test]
fn jobs_run_in_process_then_runs_list_show_and_logs() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&run_config());
    sandbox.apply_config();

    // No instance holds the lease: the run happens in this process.
    let out = sandbox
        .run(&["jobs", "run", "ok-job"])
        .ok("jobs run ok-job");
    let id: i64 = out
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("run ")?
                .split_once(" succeeded")?
                .0
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no 'run N succeeded' line:\n{}", out.stdout));
    assert!(out.stdout.contains("2 rows"), "{}", out.stdout);

    let runs = sandbox.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    let missing: Vec<_> = RUN_KEYS
        .iter()
        .filter(|k| !keys(run).contains(**k))
        .collect();
    assert!(missing.is_empty(), "run lacks {missing:?}: {run}");
    assert_eq!(run["id"], id);
    assert_eq!(run["job"], "ok-job");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["attempt"], 1);
    assert_eq!(run["rows"], 2);
    assert!(run["error"].is_null());
    let started = instant(text(run, "started_at"));
    let finished = instant(text(run, "finished_at"));
    assert!(started <= finished);
    assert!(run["duration_ms"].as_i64().is_some_and(|d| d >= 0));
    let outputs = run["outputs"].as_array().expect("outputs is a list");
    assert_eq!(outputs.len(), 1, "{run}");
    let output = outputs[0].as_str().unwrap();
    assert!(
        output.contains(&format!("ok-job/{id}.csv")),
        "output {output} does not follow the path pattern"
    );
    let file = sandbox.exports().join("ok-job").join(format!("{id}.csv"));
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(run["bytes"], bytes.len());
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "id,name\r\n1,a\r\n2,\"b, c\"\r\n"
    );

    // runs show, text and JSON.
    let show = sandbox
        .run(&["runs", "show", &id.to_string()])
        .ok("runs show");
    assert!(show.stdout.contains("succeeded"), "{}", show.stdout);
    assert!(
        show.stdout.contains(&format!("{id}.csv")),
        "{}",
        show.stdout
    );
    let show = sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("runs show --json")
        .json();
    assert_eq!(show["id"], id);
    let attempts = show["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status"], "succeeded");

    // runs logs: the run's own lines, each with a timestamp.
    let logs = sandbox
        .run(&["runs", "logs", &id.to_string()])
        .ok("runs logs");
    let lines: Vec<&str> = logs.stdout.lines().collect();
    assert!(!lines.is_empty(), "no log lines for run {id}");
    for line in &lines {
        let ts = line.split_whitespace().next().unwrap_or_default();
        instant(ts);
    }

    // A failing job: exit 1, the run is recorded failed with the reason.
    let out = sandbox
        .run(&["jobs", "run", "bad-job"])
        .expect_code(1, "jobs run bad-job");
    assert!(out.stderr.contains("failed"), "{}", out.stderr);
    assert!(out.stderr.contains("boom-on-stderr"), "{}", out.stderr);
    let bad = sandbox
        .run(&["runs", "list", "--job", "bad-job", "--json"])
        .ok("runs list --job")
        .json();
    let bad = bad.as_array().unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0]["status"], "failed");
    assert_eq!(bad[0]["trigger"], "manual");
    assert!(text(&bad[0], "error").contains('3'), "{}", bad[0]);
    assert!(
        !sandbox.exports().join("bad-job").exists()
            || common::files_under(&sandbox.exports().join("bad-job")).is_empty(),
        "a failed run left output behind"
    );
    let bad_id = bad[0]["id"].as_i64().unwrap().to_string();
    let logs = sandbox.run(&["runs", "logs", &bad_id]).ok("runs logs");
    assert!(logs.stdout.contains("boom-on-stderr"), "{}", logs.stdout);

    // The counters follow.
    let job = sandbox.job("bad-job");
    assert_eq!(job["run_count"], 1);
    assert_eq!(job["error_count"], 1);
    assert_eq!(job["last_status"], "failed");
    let job = sandbox.job("ok-job");
    assert_eq!(job["run_count"], 1);
    assert_eq!(job["error_count"], 0);
    assert_eq!(job["last_status"], "succeeded");

    // Run now works on a paused job, and --limit limits.
    sandbox.run(&["jobs", "pause", "ok-job"]).ok("pause");
    sandbox
        .run(&["jobs", "run", "ok-job"])
        .ok("jobs run of a paused job");
    assert_eq!(sandbox.job("ok-job")["state"], "paused");
    let limited = sandbox
        .run(&["runs", "list", "--limit", "1", "--json"])
        .ok("runs list --limit 1")
        .json();
    assert_eq!(limited.as_array().map(Vec::len), Some(1));
    assert_eq!(sandbox.runs().len(), 3);
    let text_list = sandbox.run(&["runs", "list"]).ok("runs list");
    assert!(text_list.stdout.contains("bad-job") && text_list.stdout.contains("ok-job"));
}

fn check_config(db: &str) -> String {
    format!(
        "{}[sources.db]\nurl = \"sqlite://{db}\"\n\n[[jobs]]\nname = \"dump\"\nschedule = \"0 3 * * *\"\n\
         source = {{ kind = \"sql\", connection = \"db\", query = \"select * from t\" }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    )
}

#[test]
fn check_passes_on_a_good_config_and_fails_on_a_missing_source() {
    let sandbox = Sandbox::new();
    sqlite_script(
        &sandbox.path().join("data.db"),
        "create table t (x integer); insert into t values (1);",
    );
    sandbox.write_config(&check_config("data.db"));
    let out = sandbox.run(&["check"]).ok("check of a good config");
    assert!(out.stdout.contains("ok   source db"), "{}", out.stdout);
    assert!(
        out.stdout.contains("ok   destination out"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("ok   store"), "{}", out.stdout);
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);

    sandbox.write_config(&check_config("missing.db"));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a missing source database");
    assert!(
        out.stdout.contains("FAIL source db"),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    // The job reading from it fails too, naming the connection.
    assert!(
        out.stdout.contains("FAIL job dump [config, not in the store yet]: sql source: cannot connect to source \"db\""),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("2 check(s) failed"), "{}", out.stderr);
    // Checking is read-only: the missing database was not created.
    assert!(!sandbox.path().join("missing.db").exists());
}

#[test]
fn jobs_run_dry_run_prints_the_first_rows_and_delivers_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&run_config());
    sandbox.apply_config();
    let out = sandbox
        .run(&["jobs", "run", "ok-job", "--dry-run", "--rows", "1"])
        .ok("jobs run ok-job --dry-run");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "id\tname", "{}", out.stdout);
    assert_eq!(lines[1], "1\ta", "{}", out.stdout);
    assert!(
        lines[2].starts_with("-- 1 row(s) rendered to ")
            && lines[2].ends_with("(more rows follow); nothing delivered"),
        "{}",
        out.stdout
    );
    assert!(sandbox.runs().is_empty(), "a dry run records no run");
    assert!(
        !sandbox.exports().exists()
            || std::fs::read_dir(sandbox.exports())
                .unwrap()
                .next()
                .is_none(),
        "nothing delivered"
    );
    // A failing source fails the dry run, with its error.
    let out = sandbox
        .run(&["jobs", "run", "bad-job", "--dry-run"])
        .expect_code(1, "dry run of a failing job");
    assert!(out.stderr.contains("boom-on-stderr"), "{}", out.stderr);
}

/// `cronport next ... | head -1`: the pipe closes before the output ends;
/// the command ends quietly (killed by SIGPIPE, as `seq` or `ls` are), not
/// with a panic and a backtrace.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::Read as _;
    use std::os::unix::process::ExitStatusExt as _;
    let sandbox = Sandbox::new();
    let mut child = sandbox
        .bare_command()
        .args(["next", "* * * * * *", "--tz", "UTC", "--count", "10000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start cronport next");
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("wait");
    assert!(
        status.success() || status.signal() == Some(libc::SIGPIPE),
        "{status}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
