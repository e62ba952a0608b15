//! `cronport jobs backfill`, the real binary: each slot of a past range runs
//! once, oldest first, with its own window, across a DST change; what
//! already succeeded is left alone unless `--rerun`; `--dry-run` stores
//! nothing; bad input exits 2 naming the flag; a running instance takes the
//! runs from the queue; and two backfills of the same week started at once
//! on PostgreSQL run each of its 168 slots exactly once.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::process::{
    Headless, PgDatabase, Sandbox, config_header, poll, text, toml_str, wait_with_deadline,
};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(120);

/// An hourly job in New York whose file holds its run's window.
fn hourly(sandbox: &Sandbox, overlap: &str) {
    let script = "printf 'window_start,window_end\\n%s,%s\\n' \
                  \"$CRONPORT_WINDOW_START\" \"$CRONPORT_WINDOW_END\"";
    let config = config_header().replace(
        "default_timezone = \"UTC\"",
        "default_timezone = \"America/New_York\"",
    );
    sandbox.write_config(&format!(
        "{config}[[jobs]]\nname = \"hourly\"\nschedule = \"0 * * * *\"\noverlap = \"{overlap}\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        toml_str(script)
    ));
    sandbox.apply_config();
}

fn instant(value: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value)
        .unwrap_or_else(|e| panic!("{value:?}: {e}"))
        .with_timezone(&Utc)
}

/// `cronport jobs backfill hourly --from FROM --to TO EXTRA...`.
fn backfill(sandbox: &Sandbox, from: &str, to: &str, extra: &[&str]) -> common::process::Output {
    let mut args = vec!["jobs", "backfill", "hourly", "--from", from, "--to", to];
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

fn backfills(sandbox: &Sandbox) -> Vec<Value> {
    let mut runs: Vec<Value> = sandbox
        .runs()
        .into_iter()
        .filter(|r| r["trigger"] == "backfill")
        .collect();
    runs.sort_by_key(|r| r["id"].as_i64());
    runs
}

/// The window a run's file holds: (start, end).
fn window(run: &Value) -> (DateTime<Utc>, DateTime<Utc>) {
    let output = run["outputs"][0].as_str().expect("an output");
    let path = output.strip_prefix("file://").unwrap_or(output);
    let body = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = body.lines().nth(1).expect("a data row");
    let (start, end) = line.split_once(',').expect("two fields");
    (instant(start.trim()), instant(end.trim()))
}

#[test]
fn each_slot_runs_once_oldest_first_with_its_own_window() {
    let sandbox = Sandbox::new();
    hourly(&sandbox, "skip");
    // New York falls back at 02:00 EDT on 2026-11-01: 01:00 comes twice, so
    // the seven hours from midnight to 05:00 EST hold seven slots.
    let out = backfill(
        &sandbox,
        "2026-11-01",
        "2026-11-01T05:00",
        &["--concurrency", "3"],
    )
    .ok("backfill");
    assert!(out.stdout.contains("7 slot(s)"), "{}", out.stdout);
    assert!(
        out.stdout.contains("backfill done: 7 succeeded"),
        "{}",
        out.stdout
    );
    let runs = backfills(&sandbox);
    assert_eq!(runs.len(), 7, "{runs:#?}");
    let slots: Vec<DateTime<Utc>> = runs
        .iter()
        .map(|r| instant(text(r, "scheduled_for")))
        .collect();
    let want: Vec<DateTime<Utc>> = (4..=10)
        .map(|h| instant(&format!("2026-11-01T{h:02}:00:00Z")))
        .collect();
    assert_eq!(slots, want, "one run per slot, queued oldest first");
    // The job is exclusive: one at a time, in slot order, each with the
    // hour before it as its window.
    for pair in runs.windows(2) {
        assert!(
            instant(text(&pair[1], "started_at")) >= instant(text(&pair[0], "finished_at")),
            "runs overlapped: {} {}",
            pair[0],
            pair[1]
        );
    }
    for (run, slot) in runs.iter().zip(&slots) {
        assert_eq!(run["status"], "succeeded", "{run}");
        let (start, end) = window(run);
        assert_eq!(end, *slot, "{run}");
        assert_eq!(start, *slot - chrono::Duration::hours(1), "{run}");
    }

    // A wider range leaves what succeeded alone.
    let out = backfill(&sandbox, "2026-11-01", "2026-11-01T07:00", &[]).ok("a wider backfill");
    assert!(out.stdout.contains("2 to run"), "{}", out.stdout);
    assert!(out.stdout.contains("7 already succeeded"), "{}", out.stdout);
    assert_eq!(backfills(&sandbox).len(), 9);

    // A dry run lists the plan and stores nothing; --rerun runs them again.
    let out = backfill(
        &sandbox,
        "2026-11-01",
        "2026-11-01T07:00",
        &["--rerun", "--dry-run"],
    )
    .ok("dry run");
    assert_eq!(
        out.stdout.matches("runs again").count(),
        9,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("dry run: nothing was queued"),
        "{}",
        out.stdout
    );
    assert_eq!(backfills(&sandbox).len(), 9);
    backfill(&sandbox, "2026-11-01", "2026-11-01T07:00", &["--rerun"]).ok("rerun");
    assert_eq!(backfills(&sandbox).len(), 18);
}

#[test]
fn bad_input_exits_2_naming_the_flag_and_stores_nothing() {
    let sandbox = Sandbox::new();
    hourly(&sandbox, "skip");
    sandbox.write(
        "small.toml",
        &std::fs::read_to_string(sandbox.config_path())
            .unwrap()
            .replace("[scheduler]\n", "[scheduler]\nmax_backfill_slots = 24\n"),
    );
    let cases: [(&[&str], &str); 5] = [
        (&["--from", "2026-11-02", "--to", "2026-11-01"], "--from"),
        (
            &["--from", "last week", "--to", "2026-11-01"],
            "--from \"last week\"",
        ),
        (&["--from", "2026-11-01", "--to", "2026-13-01"], "--to"),
        // 02:30 does not exist in New York on 2026-03-08.
        (
            &["--from", "2026-03-08T02:30", "--to", "2026-03-09"],
            "daylight-saving gap",
        ),
        (
            // Two past years: 17,500 hourly slots.
            &["--from", "2024-01-01", "--to", "2025-12-31"],
            "max_backfill_slots",
        ),
    ];
    for (flags, names) in cases {
        let mut args = vec!["jobs", "backfill", "hourly"];
        args.extend_from_slice(flags);
        let out = sandbox.run(&args).expect_code(2, "bad backfill input");
        assert!(out.stderr.contains(names), "{flags:?}: {}", out.stderr);
    }
    // More slots than the config allows: --yes is needed, and named.
    let config = sandbox.path().join("small.toml");
    let mut cmd = sandbox.bare_command();
    cmd.arg("--config")
        .arg(&config)
        .arg("--store")
        .arg(&sandbox.store)
        .args([
            "jobs",
            "backfill",
            "hourly",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-03",
        ]);
    let out = common::process::run_command(cmd).expect_code(2, "too many slots");
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    let out = sandbox
        .run(&[
            "jobs",
            "backfill",
            "nope",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-02",
        ])
        .expect_code(2, "unknown job");
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    assert!(sandbox.runs().is_empty(), "bad input stored runs");
}

#[test]
fn a_running_instance_takes_the_runs_from_the_queue() {
    let sandbox = Sandbox::new();
    hourly(&sandbox, "skip");
    let mut headless = sandbox.headless(&[]);
    headless.wait_for_line("scheduler started", LIMIT);
    let out = sandbox
        .run(&[
            "jobs",
            "backfill",
            "hourly",
            "--from",
            "2026-12-01T00:00",
            "--to",
            "2026-12-01T03:00",
        ])
        .ok("backfill through the instance");
    assert!(
        out.stdout.contains("queued for the running instance"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("backfill done: 4 succeeded"),
        "{}",
        out.stdout
    );
    let runs = backfills(&sandbox);
    assert_eq!(runs.len(), 4);
    let pid = headless.pid().to_string();
    assert!(
        runs.iter().all(|r| text(r, "instance").contains(&pid)),
        "the instance ran them: {runs:#?}"
    );
    let status = headless.terminate(LIMIT);
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
}

/// Two backfills of the same week at once, on PostgreSQL: each slot's run
/// is queued once, and one slot never runs twice.
#[test]
fn two_backfills_of_a_week_at_once_run_each_of_its_168_slots_once() {
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    hourly(&sandbox, "allow");
    let week = ["--from", "2026-11-23T00:00", "--to", "2026-11-29T23:00"];
    let start = |concurrency: &str| {
        let mut args = vec!["jobs", "backfill", "hourly", "--concurrency", concurrency];
        args.extend_from_slice(&week);
        Headless::spawn(sandbox.command(&args))
    };
    let mut first = start("4");
    let mut second = start("3");
    for (name, process) in [("first", &mut first), ("second", &mut second)] {
        let status = wait_with_deadline(&mut process.child, LIMIT)
            .unwrap_or_else(|| panic!("the {name} backfill did not end\n{}", process.transcript()));
        assert_eq!(status.code(), Some(0), "{name}: {}", process.transcript());
    }
    let runs = poll("every run ended", LIMIT, || {
        let runs = backfills(&sandbox);
        runs.iter()
            .all(|r| r["status"] == "succeeded")
            .then_some(runs)
    });
    let mut per_slot: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        *per_slot
            .entry(text(run, "scheduled_for").to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_slot.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "slots run twice: {twice:?}");
    assert_eq!(per_slot.len(), 168, "every slot of the week ran");
    assert_eq!(runs.len(), 168);
    // Both took part, or one found everything taken: either way the two
    // reports add up to the week.
    let done = |p: &Headless| {
        p.stdout()
            .iter()
            .find_map(|l| {
                let rest = l.strip_prefix("backfill done: ")?;
                let (ran, rest) = rest.split_once(" succeeded, ")?;
                let (_, rest) = rest.split_once(" failed, ")?;
                let (left, _) = rest.split_once(" left alone")?;
                Some((ran.parse::<usize>().ok()?, left.parse::<usize>().ok()?))
            })
            .unwrap_or_else(|| panic!("no summary:\n{}", p.transcript()))
    };
    let (a, b) = (done(&first), done(&second));
    assert_eq!(a.0 + b.0, 168, "{a:?} {b:?}");
}

/// The plan applies the job's calendar: a week of a daily job on business
/// days holds five slots, and the dry run says why the weekend is skipped.
#[test]
fn the_plan_applies_the_jobs_calendar() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[calendars.work]\nbusiness_days = \"mon-fri\"\n\n\
         [[jobs]]\nname = \"daily\"\nschedule = \"0 6 * * *\"\ncalendar = \"work\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();
    // 2026-11-23 is a Monday.
    let week = ["--from", "2026-11-23", "--to", "2026-11-29"];
    let mut args = vec!["jobs", "backfill", "daily", "--dry-run"];
    args.extend_from_slice(&week);
    let out = sandbox.run(&args).ok("dry run");
    assert!(out.stdout.contains(": 5 slot(s)"), "{}", out.stdout);
    assert!(out.stdout.contains("2 more slot(s)"), "{}", out.stdout);
    assert_eq!(out.stdout.matches("skipped:").count(), 2, "{}", out.stdout);
    let mut args = vec!["jobs", "backfill", "daily"];
    args.extend_from_slice(&week);
    sandbox.run(&args).ok("backfill");
    let days: Vec<String> = backfills(&sandbox)
        .iter()
        .map(|r| text(r, "scheduled_for")[..10].to_string())
        .collect();
    assert_eq!(
        days,
        [
            "2026-11-23",
            "2026-11-24",
            "2026-11-25",
            "2026-11-26",
            "2026-11-27"
        ]
    );
}

/// A backfill runs past slots only: a range reaching into the future stops
/// at now (the schedule runs the rest), and one starting there is refused.
#[test]
fn the_future_is_left_to_the_schedule() {
    let sandbox = Sandbox::new();
    hourly(&sandbox, "skip");
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::hours(2)).to_rfc3339();
    let to = (now + chrono::Duration::hours(5)).to_rfc3339();
    let out = sandbox
        .run(&[
            "jobs",
            "backfill",
            "hourly",
            "--from",
            &from,
            "--to",
            &to,
            "--dry-run",
        ])
        .ok("a range into the future");
    assert!(
        out.stdout
            .contains("is in the future: the backfill stops at now"),
        "{}",
        out.stdout
    );
    // Two hours back hold two or three hourly slots, none ahead of now.
    let slots = out.stdout.matches("  runs").count();
    assert!((1..=3).contains(&slots), "{}", out.stdout);
    let later = (now + chrono::Duration::hours(1)).to_rfc3339();
    let out = sandbox
        .run(&["jobs", "backfill", "hourly", "--from", &later, "--to", &to])
        .expect_code(2, "a range in the future");
    assert!(
        out.stderr.contains("--from") && out.stderr.contains("future"),
        "{}",
        out.stderr
    );
    assert!(backfills(&sandbox).is_empty());
}
