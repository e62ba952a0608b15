//! Watching jobs from outside their runs, with the real binary against a
//! recording HTTP server on loopback (`scripts/webhook-recorder.py`):
//! heartbeat pings (start, success, failure with the log's tail), late and
//! stuck notices from exactly one of two instances on PostgreSQL, the bad
//! values that are refused naming the key, and the documented examples
//! (README, config/cronport.toml) loading as they are written.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike as _, DurationRound as _, Timelike as _, Utc};
use common::process::{PgDatabase, Sandbox, config_header, poll, run_command, text, toml_str};
use common::servers::{Recorded, Smtp, Webhook};
use cronport::config::Config;
use cronport::export::destination::notice::{Notice, NoticeKind};

/// A job running `script` with `sh -c`, printing one CSV row at the end.
fn shell_job(name: &str, script: &str, extra: &str) -> String {
    let script = format!("{script}; printf 'n\\n1\\n'");
    format!(
        "[[jobs]]\nname = \"{name}\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n{extra}\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n",
        toml_str(&script)
    )
}

/// The requests whose path starts with `prefix`, as (method, path, body).
fn pings(hook: &Webhook, prefix: &str) -> Vec<(String, String, String)> {
    hook.requests()
        .into_iter()
        .filter(|r| r.path.starts_with(prefix))
        .map(|r| {
            let body = String::from_utf8_lossy(&r.body()).into_owned();
            (r.method, r.path, body)
        })
        .collect()
}

#[test]
fn pings_tell_a_monitor_of_each_start_success_and_failure_with_the_log_tail() {
    let hook = Webhook::start(&[]);
    let sandbox = Sandbox::new();
    let ok_url = hook.url("/ping/ok-check");
    let bad_url = hook.url("/ping/bad-check/");
    sandbox.write_config(&format!(
        "{}{}{}",
        config_header(),
        shell_job(
            "fine",
            "echo all-good >&2",
            &format!("ping = {}", toml_str(&ok_url))
        ),
        shell_job(
            "broken",
            "echo boom-on-stderr >&2; exit 3",
            &format!("ping = {}", toml_str(&bad_url))
        ),
    ));
    sandbox.apply_config();

    sandbox
        .run(&["jobs", "run", "fine", "--wait"])
        .ok("jobs run fine");
    assert_eq!(
        pings(&hook, "/ping/ok-check"),
        [
            ("GET".into(), "/ping/ok-check/start".into(), String::new()),
            ("GET".into(), "/ping/ok-check".into(), String::new()),
        ]
    );

    let out = sandbox
        .run(&["jobs", "run", "broken", "--wait"])
        .expect_code(1, "jobs run broken");
    let got = pings(&hook, "/ping/bad-check");
    assert_eq!(got.len(), 2, "{got:?}\n{}", out.stderr);
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str()),
        ("GET", "/ping/bad-check/start")
    );
    let (method, path, body) = &got[1];
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", "/ping/bad-check/fail")
    );
    // The tail of the run's log: the program's stderr and why it failed.
    assert!(body.contains("boom-on-stderr"), "{body}");
    assert!(body.contains("attempt 1 of 1 failed"), "{body}");
    assert!(body.contains("exit"), "{body}");

    // The URL from the environment, read when the run starts: never stored.
    sandbox.write_config(&format!(
        "{}{}",
        config_header(),
        shell_job("from-env", "true", "ping_env = \"CHECK_URL\"")
    ));
    sandbox.apply_config();
    let mut cmd = sandbox.command(&["jobs", "run", "from-env", "--wait"]);
    cmd.env("CHECK_URL", hook.url("/ping/env-check"));
    run_command(cmd).ok("jobs run from-env");
    let got: Vec<String> = pings(&hook, "/ping/env-check")
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(got, ["/ping/env-check/start", "/ping/env-check"]);
    let exported = sandbox.run(&["jobs", "export"]).ok("jobs export").stdout;
    assert!(exported.contains("ping_env = \"CHECK_URL\""), "{exported}");
    assert!(!exported.contains("env-check"), "{exported}");
}

#[test]
fn a_ping_that_hangs_or_fails_neither_slows_nor_fails_the_run() {
    // The monitor holds the start ping for 30 s; another is not listening.
    let hook = Webhook::start(&["sleep:30"]);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut sandbox_jobs = config_header();
    let slow_url = hook.url("/ping/slow");
    let refused_url = format!("http://127.0.0.1:{closed}/ping/refused");
    sandbox_jobs.push_str(&shell_job(
        "slow-monitor",
        "true",
        &format!("ping = {}", toml_str(&slow_url)),
    ));
    sandbox_jobs.push_str(
        &shell_job(
            "no-monitor",
            "true",
            &format!("ping = {}", toml_str(&refused_url)),
        )
        .replace("\"0 0 1 1 *\"", "\"*/2 * * * * *\""),
    );
    let sandbox = Sandbox::new();
    sandbox.write_config(&sandbox_jobs);
    sandbox.apply_config();

    // The run ends as soon as its work does, while its start ping hangs.
    let started = Instant::now();
    sandbox
        .run(&["jobs", "run", "slow-monitor", "--wait"])
        .ok("jobs run slow-monitor");
    assert_eq!(pings(&hook, "/ping/slow")[0].1, "/ping/slow/start");
    // The process waited at most the ping timeout (10 s) for the ping.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );

    // A monitor that refuses connections: the runs go on, the log says so.
    let mut instance = sandbox.headless(&[]);
    instance.wait_for_line("the ping to 127.0.0.1 failed", Duration::from_secs(20));
    instance.terminate(Duration::from_secs(30));

    // Slots that passed while no instance ran are recorded skipped; every
    // run that ran succeeded, as quickly as without pings.
    let runs = sandbox.runs();
    let ran: Vec<_> = runs
        .iter()
        .filter(|r| text(r, "status") != "skipped")
        .collect();
    for job in ["slow-monitor", "no-monitor"] {
        assert!(ran.iter().any(|r| r["job"] == job), "{job}: {runs:#?}");
    }
    for run in ran {
        assert_eq!(text(run, "status"), "succeeded", "{run}");
        let duration = run["duration_ms"].as_i64().unwrap_or(i64::MAX);
        assert!(duration < 3_000, "the run took {duration} ms: {run}");
    }
}

/// `expect_config_error` of tests/bad_input.rs, for the keys added here.
fn refused(case: &str, config: &str, needles: &[&str]) {
    let sandbox = Sandbox::new();
    sandbox.write_config(config);
    let out = sandbox.run(&["jobs", "list"]);
    assert_eq!(out.code, Some(2), "{case}: {}\n{}", out.stdout, out.stderr);
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{case}: stderr does not name {needle:?}:\n{}",
            out.stderr
        );
    }
    assert!(out.stdout.trim().is_empty(), "{case}: {}", out.stdout);
    assert!(!sandbox.path().join("store.db").exists(), "{case}");
}

#[test]
fn bad_ping_urls_and_alert_durations_exit_2_naming_the_key() {
    let hook = "[destinations.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\n\n";
    let header = format!("{}{hook}", config_header());
    let notify = "notify = { on = [\"failure\"], to = [\"hook\"] }";
    let job = |extra: &str| shell_job("j", "true", extra);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "ftp ping",
            format!("{header}{}", job("ping = \"ftp://hc-ping.com/x\"")),
            vec!["jobs[0] (j).ping", "not an http(s) URL"],
        ),
        (
            "ping without a scheme",
            format!("{header}{}", job("ping = \"hc-ping.com/x\"")),
            vec!["jobs[0] (j).ping", "is not a URL"],
        ),
        (
            "ping and ping_env",
            format!(
                "{header}{}",
                job("ping = \"https://hc-ping.com/x\"\nping_env = \"HC_URL\"")
            ),
            vec!["jobs[0] (j).ping_env", "not both"],
        ),
        (
            "late that does not parse",
            format!(
                "{header}{}",
                job(&format!("{notify}\nalert_if_late = \"soon\""))
            ),
            vec!["alert_if_late", "\"soon\" is not a duration"],
        ),
        (
            "zero running_over",
            format!(
                "{header}{}",
                job(&format!("{notify}\nalert_if_running_over = \"0s\""))
            ),
            vec!["jobs[0] (j).alert_if_running_over", "at least 1s"],
        ),
        (
            "alert without notify",
            format!("{header}{}", job("alert_if_late = \"10m\"")),
            vec!["jobs[0] (j).alert_if_late", "notify"],
        ),
        (
            "scheduler default that does not parse",
            header.replace(
                "[scheduler]\n",
                "[scheduler]\nalert_if_late = \"10 minutes\"\n",
            ),
            vec![
                "scheduler.alert_if_late",
                "\"10 minutes\" is not a duration",
            ],
        ),
        (
            "scheduler default under a second",
            header.replace(
                "[scheduler]\n",
                "[scheduler]\nalert_if_running_over = \"500ms\"\n",
            ),
            vec!["scheduler.alert_if_running_over", "at least 1s"],
        ),
    ];
    for (case, config, needles) in cases {
        refused(case, &config, &needles);
    }
    // `apply` of a file with such a job changes nothing and says why.
    let sandbox = Sandbox::new();
    sandbox.write_config(&header);
    let file = sandbox.write("more.toml", &job("ping = \"mailto:ops@acme.example\""));
    let out = sandbox
        .run(&["apply", file.to_str().unwrap()])
        .expect_code(2, "apply with a bad ping");
    assert!(out.stderr.contains("jobs[0] (j).ping"), "{}", out.stderr);
    assert!(sandbox.jobs().is_empty());
}

/// `s m h d mon *` for the instant `at` (UTC).
fn cron_at(at: DateTime<Utc>) -> String {
    format!(
        "{} {} {} {} {} *",
        at.second(),
        at.minute(),
        at.hour(),
        at.day(),
        at.month()
    )
}

/// Notices the hook got, with their event.
fn notices(hook: &Webhook) -> Vec<(String, Recorded)> {
    hook.requests()
        .into_iter()
        .filter(|r| r.path == "/alerts")
        .map(|r| (r.json()["event"].as_str().unwrap_or("").to_string(), r))
        .collect()
}

fn count(notices: &[(String, Recorded)], event: &str) -> usize {
    notices.iter().filter(|(e, _)| e == event).count()
}

#[test]
fn two_instances_on_postgres_send_one_late_one_stuck_and_their_on_time_notices() {
    let hook = Webhook::start(&[]);
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    // A manual run sleeps 20 s (only the first run finds no flag file): it
    // is stuck after 4 s. Once it runs, the job is given one slot 6 s
    // later, which waits for it (queue_one) until it is late, 2 s after
    // its time; when the manual run ends, the slot starts.
    let flag = sandbox.path().join("flag");
    let script = format!(
        "if [ ! -e '{0}' ]; then touch '{0}'; sleep 20; fi",
        flag.display()
    );
    let job = shell_job(
        "watched",
        &script,
        "overlap = \"queue_one\"\ntimeout = \"1m\"\nalert_if_late = \"2s\"\n\
         alert_if_running_over = \"4s\"\nnotify = { on = [\"failure\"], to = [\"hook\"] }",
    );
    let config = |job: &str| {
        format!(
            "{}[destinations.hook]\nkind = \"webhook\"\nurl = {}\n\n{job}",
            config_header(),
            toml_str(&hook.url("/alerts"))
        )
    };
    sandbox.write_config(&config(&job));
    sandbox.apply_config();
    let mut a = sandbox.headless(&[]);
    let mut b = sandbox.headless(&[]);
    a.wait_for_line("scheduler started", Duration::from_secs(20));
    b.wait_for_line("scheduler started", Duration::from_secs(20));
    sandbox
        .run(&["jobs", "run", "watched"])
        .ok("jobs run watched");
    let slot = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap()
        + chrono::Duration::seconds(6);
    sandbox.write_config(&config(
        &job.replace("\"0 0 1 1 *\"", &toml_str(&cron_at(slot))),
    ));
    sandbox.apply_config();
    // The instances pick the edit up within a second.
    assert!(
        Utc::now() + chrono::Duration::seconds(2) < slot,
        "the edit must be in well before the slot at {slot}; the machine is too slow"
    );

    let end = Instant::now() + Duration::from_secs(60);
    let slot_run = poll("the slot's run to succeed", Duration::from_secs(60), || {
        a.assert_running();
        b.assert_running();
        let runs = sandbox.runs();
        runs.into_iter()
            .find(|r| r["trigger"] == "schedule" && text(r, "status") == "succeeded")
    });
    let got = poll("two on-time notices", end - Instant::now(), || {
        let got = notices(&hook);
        (count(&got, "on_time") >= 2).then_some(got)
    });
    // Nothing more comes from either instance.
    std::thread::sleep(Duration::from_secs(3));
    let got_later = notices(&hook);
    let events: Vec<&str> = got_later.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(got.len(), got_later.len(), "{events:?}");
    assert_eq!(count(&got, "stuck"), 1, "{events:?}");
    assert_eq!(count(&got, "late"), 1, "{events:?}");
    assert_eq!(count(&got, "on_time"), 2, "{events:?}");
    assert_eq!(got.len(), 4, "{events:?}");

    let slot_id = slot_run["id"].as_i64().unwrap();
    let (_, late) = got.iter().find(|(e, _)| e == "late").unwrap();
    let late = late.json();
    assert_eq!(late["run_id"], slot_id, "{late}");
    assert_eq!(late["status"], "queued", "{late}");
    let when: DateTime<Utc> = late["scheduled_for"].as_str().unwrap().parse().unwrap();
    assert_eq!(when, slot);
    let (_, stuck) = got.iter().find(|(e, _)| e == "stuck").unwrap();
    let stuck_json = stuck.json();
    assert_ne!(
        stuck_json["run_id"], slot_id,
        "the manual run is the stuck one"
    );
    assert!(
        stuck.headers["idempotency-key"].ends_with(":stuck"),
        "{:?}",
        stuck.headers
    );
    // Late before its on-time; the slot started once the stuck run ended.
    let order: Vec<&str> = events.clone();
    let late_at = order.iter().position(|e| *e == "late").unwrap();
    assert!(order[late_at + 1..].contains(&"on_time"), "{order:?}");

    // One instance sent them all: the other never looked.
    let senders = [&a, &b]
        .iter()
        .filter(|h| {
            h.stdout()
                .iter()
                .any(|l| l.contains("notified hook of the late"))
        })
        .count();
    assert_eq!(senders, 1, "{}\n{}", a.transcript(), b.transcript());
    a.terminate(Duration::from_secs(30));
    b.terminate(Duration::from_secs(30));
}

#[test]
fn a_stuck_run_is_mailed_once_and_so_is_its_end() {
    let smtp = Smtp::start("none", None);
    let sandbox = Sandbox::new();
    let mail = format!(
        "[destinations.ops-mail]\nkind = \"email\"\nsmtp = \"smtp://127.0.0.1:{}\"\n\
         tls = \"none\"\nfrom = \"cronport@acme.example\"\nto = [\"ops@acme.example\"]\n\n",
        smtp.server.port
    );
    let job = shell_job(
        "slow-mail",
        "sleep 5",
        "alert_if_running_over = \"2s\"\nnotify = { on = [\"failure\"], to = [\"ops-mail\"] }",
    );
    sandbox.write_config(&format!("{}{mail}{job}", config_header()));
    sandbox.apply_config();
    let mut instance = sandbox.headless(&[]);
    instance.wait_for_line("scheduler started", Duration::from_secs(20));
    sandbox
        .run(&["jobs", "run", "slow-mail"])
        .ok("jobs run slow-mail");
    let mails = poll("two mails", Duration::from_secs(30), || {
        let mails = smtp.mails();
        (mails.len() >= 2).then_some(mails)
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(smtp.mails().len(), 2, "one mail each");
    instance.terminate(Duration::from_secs(30));
    let subjects: Vec<String> = mails.iter().filter_map(|m| m.header("Subject")).collect();
    assert_eq!(
        subjects,
        [
            "[cronport] slow-mail: stuck",
            "[cronport] slow-mail: on_time"
        ]
    );
    assert!(
        mails[0]
            .body
            .contains("cronport: slow-mail is stuck: run 1")
            && mails[0].body.contains("alert_if_running_over = 2s"),
        "{}",
        mails[0].body
    );
    assert!(
        mails[1].body.contains("is on time again: run 1") && mails[1].body.contains("succeeded"),
        "{}",
        mails[1].body
    );
}

/// The fenced ```toml blocks of `section` in `markdown`.
fn toml_blocks<'a>(markdown: &'a str, section: &str, fence: &str) -> Vec<&'a str> {
    let start = markdown
        .find(section)
        .unwrap_or_else(|| panic!("README has no {section:?}"));
    let rest = &markdown[start + section.len()..];
    let body = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    body.split(fence)
        .skip(1)
        .filter_map(|part| part.split_once("\n```").map(|(block, _)| block))
        .collect()
}

#[test]
fn the_documented_notification_examples_load_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = "## Notifications, late runs and pings";
    let blocks = toml_blocks(&readme, section, "```toml\n");
    assert!(blocks.len() >= 2, "{blocks:?}");
    let base = tempfile::tempdir().unwrap();
    let mut watched = 0;
    for block in &blocks {
        let config = Config::parse(block, base.path())
            .unwrap_or_else(|e| panic!("README example does not load: {e}\n{block}"));
        for job in &config.jobs {
            let t = job.spec.thresholds(config.scheduler.alerts);
            assert!(t.any() && job.spec.notify.is_some(), "{}", job.name());
            watched += 1;
        }
    }
    assert!(watched >= 2);

    // The JSON shown is a notice as sent, its text the notice's summary.
    let json = toml_blocks(&readme, section, "```json\n");
    let value: serde_json::Value = serde_json::from_str(json[0]).unwrap();
    let notice: Notice = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(notice.event, NoticeKind::Late);
    assert_eq!(value["text"], notice.summary());

    // config/cronport.toml: the commented example, uncommented.
    let path = root.join("config/cronport.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = "# [destinations.ops-hook]";
    let at = text
        .find(marker)
        .expect("the commented notifications example");
    let uncomment = |line: &str| {
        line.strip_prefix("# ")
            .or_else(|| line.strip_prefix('#'))
            .unwrap_or(line)
            .to_string()
    };
    let (head, example) = text.split_at(at);
    let head: Vec<String> = head
        .lines()
        .map(|line| {
            if line.starts_with("# alert_if_") {
                uncomment(line)
            } else {
                line.to_string()
            }
        })
        .collect();
    let example: Vec<String> = example.lines().map(uncomment).collect();
    let full = format!("{}\n{}\n", head.join("\n"), example.join("\n"));
    let folder = path.parent().unwrap();
    let config = Config::parse(&full, folder)
        .unwrap_or_else(|e| panic!("config/cronport.toml's example does not load: {e}"));
    assert_eq!(
        config.scheduler.alerts.late,
        Some(Duration::from_secs(15 * 60))
    );
    let job = config
        .jobs
        .iter()
        .find(|j| j.name() == "watched-orders")
        .expect("the example job");
    assert!(job.spec.ping.is_some() && job.spec.notify.is_some());
    assert_eq!(
        job.spec.thresholds(config.scheduler.alerts).late,
        Some(Duration::from_secs(120))
    );
}
