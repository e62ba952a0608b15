//! The console as an operator uses it: the real binary in a tmux pane at
//! 80x24, keys sent with `send-keys`, the screen read with `capture-pane`.
//! Needs tmux (`scripts/test.sh` installs it).

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use common::process::{Headless, Sandbox, config_header, poll};
use common::tmux::{Tmux, console_command};
use cronport::store::{RunFilter, Store};

const EVERY_SECOND: &str = "[[jobs]]\nname = \"every-second\"\nschedule = \"* * * * * *\"\n\
     source = { kind = \"command\", argv = [\"printf\", \"n\\\\n1\\\\n\"] }\n\
     format = { kind = \"csv\" }\ndestinations = [\"out\"]\n";

fn history_rows<'a>(screen: &'a str, job_prefix: &str, trigger: &str) -> Vec<&'a str> {
    screen
        .lines()
        .filter(|l| l.contains(job_prefix) && l.contains(trigger))
        .collect()
}

#[test]
fn create_watch_pause_test_run_and_quit() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_header());
    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    tmux.wait_text("No jobs yet", Duration::from_secs(20));

    // Create the job with the form: name, schedule (the preview shows it
    // in words), the zone as filled in, a command source, csv, the "out"
    // destination ticked, Ctrl-S.
    tmux.keys(&["n"]);
    tmux.wait_text("New job", Duration::from_secs(5));
    tmux.text("every-second");
    tmux.keys(&["Enter"]);
    tmux.text("* * * * * *");
    tmux.wait_text("Every second (UTC)", Duration::from_secs(5));
    tmux.keys(&["Tab", "Tab", "Right", "Tab"]);
    tmux.text(r#"printf "n\n1\n""#);
    // Past the command's folder, environment and output, the format and
    // csv's five options and compression, to the first destination.
    tmux.keys(&["Tab"; 11]);
    tmux.keys(&["Space"]);
    tmux.wait_text("valid: Ctrl-S saves", Duration::from_secs(5));
    tmux.keys(&["C-s"]);
    tmux.wait_text("every-second created", Duration::from_secs(10));
    let job = sandbox.job("every-second");
    assert_eq!(job["schedule"], "* * * * * *", "{job:#}");
    assert_eq!(job["timezone"], "UTC", "{job:#}");

    // It runs: History (shown beside the jobs at 80x24) lists scheduled runs.
    tmux.wait_for("two ok runs in History", Duration::from_secs(20), |s| {
        history_rows(s, "every-second", "schedule")
            .iter()
            .filter(|l| l.contains(" ok "))
            .count()
            >= 2
    });
    // Its lines stream into the live log (Tab: Upcoming, History, Log).
    tmux.keys(&["Tab", "Tab", "Tab"]);
    tmux.wait_text("every-second#", Duration::from_secs(10));
    tmux.wait_text("succeeded: 1 rows", Duration::from_secs(10));

    // Pause it from the jobs panel.
    tmux.keys(&["Tab", "Tab", "p"]);
    tmux.wait_text("1 paused", Duration::from_secs(5));
    let paused_at = Utc::now();
    assert_eq!(sandbox.job("every-second")["state"], "paused");
    std::thread::sleep(Duration::from_secs(3));
    let late: Vec<_> = sandbox
        .runs()
        .into_iter()
        .filter(|r| r["status"] != "skipped" && r["trigger"] == "schedule")
        .filter(|r| {
            let slot =
                chrono::DateTime::parse_from_rfc3339(r["scheduled_for"].as_str().unwrap()).unwrap();
            slot > paused_at + chrono::Duration::seconds(1)
        })
        .collect();
    assert!(late.is_empty(), "runs after the pause: {late:#?}");

    // Test-run it (paused jobs run on request); History shows the manual run.
    tmux.keys(&["t"]);
    tmux.wait_text("of every-second started", Duration::from_secs(10));
    tmux.keys(&["Tab", "Tab"]);
    tmux.wait_for("a manual run in History", Duration::from_secs(10), |s| {
        history_rows(s, "every-second", "manual")
            .iter()
            .any(|l| l.contains(" ok "))
    });

    // Quit: the scheduler drains, the process exits 0, the terminal is back
    // in canonical mode (raw mode clears icanon) and off the alternate screen.
    tmux.keys(&["q"]);
    let screen = tmux.wait_text("exited 0", Duration::from_secs(30));
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "terminal left in raw mode:\n{screen}"
    );
    assert!(
        !screen.contains("Jobs"),
        "console still on screen:\n{screen}"
    );
}

#[test]
fn attached_to_a_headless_instance_a_pause_stops_it_within_a_second() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!("{}{EVERY_SECOND}", config_header()));
    let mut headless: Headless = sandbox.headless(&[]);
    headless.wait_for_line("scheduler started", Duration::from_secs(20));

    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    let screen = tmux.wait_text("attached to", Duration::from_secs(20));
    assert!(
        screen.contains(&format!(":{}", headless.pid())),
        "the header names the instance:\n{screen}"
    );
    // The instance's runs and lines show up here.
    tmux.wait_for("runs of the instance", Duration::from_secs(20), |s| {
        history_rows(s, "every-second", "schedule").len() >= 2
    });

    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sandbox.store)).unwrap();
    let pressed = Utc::now();
    tmux.keys(&["p"]);
    let paused = poll("the pause in the store", Duration::from_secs(5), || {
        let job = rt.block_on(store.get_job("every-second")).unwrap().unwrap();
        job.paused.then_some(job.updated_at)
    });
    let delay = paused - pressed;
    eprintln!(
        "pause took effect {} ms after the key",
        delay.num_milliseconds()
    );
    // The instance polls the store every second; the key, the console and
    // the instance's own write take a few milliseconds more.
    assert!(
        delay <= chrono::Duration::milliseconds(1_250),
        "the pause took {delay} to reach the instance"
    );
    std::thread::sleep(Duration::from_secs(3));
    headless.assert_running();
    let runs = rt
        .block_on(store.list_runs(&RunFilter {
            job: Some("every-second".into()),
            limit: 1_000,
            ..RunFilter::default()
        }))
        .unwrap();
    let late: Vec<_> = runs
        .iter()
        .filter(|r| r.slot.is_some_and(|slot| slot > paused))
        .collect();
    assert!(late.is_empty(), "slots fired after the pause: {late:#?}");
    tmux.wait_text("1 paused", Duration::from_secs(5));

    // Leaving an attached console leaves the instance running.
    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", Duration::from_secs(10));
    headless.assert_running();
    let status = headless.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
}

/// How the headless instance is stopped under the attached console.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// SIGTERM: it drains and gives up the lease.
    Term,
    /// SIGKILL: its lease stays behind, its process is gone.
    Kill,
}

/// Stopping the instance a console is attached to: within 20 s the
/// console's header says the scheduler runs there, the every-second job's
/// later slots run (by a scheduler other than the stopped one), and a
/// test-run pressed then reaches the console's own scheduler.
fn the_console_takes_over(stop: Stop) {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!("{}{EVERY_SECOND}", config_header()));
    let mut headless: Headless = sandbox.headless(&[]);
    headless.wait_for_line("scheduler started", Duration::from_secs(20));
    let pid = headless.pid();

    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    let screen = tmux.wait_text("attached to", Duration::from_secs(20));
    assert!(screen.contains(&format!(":{pid}")), "{screen}");
    tmux.wait_for("runs of the instance", Duration::from_secs(20), |s| {
        history_rows(s, "every-second", "schedule").len() >= 2
    });

    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::open(&sandbox.store)).unwrap();
    let stopped = Instant::now();
    let stopped_at = Utc::now();
    match stop {
        Stop::Term => {
            let status = headless.terminate(Duration::from_secs(20));
            assert_eq!(status.code(), Some(0), "{}", headless.transcript());
        }
        Stop::Kill => {
            headless.kill9();
        }
    }
    let screen = tmux.wait_text("running here; took over from", Duration::from_secs(20));
    let took_over = stopped.elapsed();
    assert!(
        screen.contains(&format!(":{pid}")),
        "the header names the instance taken over from:\n{screen}"
    );

    // The schedule goes on: slots after the stop run and succeed, by the
    // console's scheduler, all within 20 s of the stop.
    let headless_id = format!(":{pid}:");
    let left = Duration::from_secs(20).saturating_sub(stopped.elapsed());
    let went_on = poll("three runs after the stop", left, || {
        let runs = rt
            .block_on(store.list_runs(&RunFilter {
                job: Some("every-second".into()),
                limit: 1_000,
                ..RunFilter::default()
            }))
            .unwrap();
        let after = runs
            .iter()
            .filter(|r| r.slot.is_some_and(|slot| slot > stopped_at))
            .filter(|r| r.status == cronport::store::RunStatus::Succeeded)
            .filter(|r| {
                r.instance_id
                    .as_deref()
                    .is_some_and(|i| !i.contains(&headless_id))
            })
            .count();
        (after >= 3).then(Instant::now)
    });
    eprintln!(
        "{stop:?}: the header said \"running here\" {} ms after the stop; \
         three later slots had run {} ms after it",
        took_over.as_millis(),
        (went_on - stopped).as_millis()
    );
    // Slots that waited untaken through the handover and came due at once
    // are skipped but one; none of them was behind a run still going, and
    // their entries must not say so.
    let runs = rt
        .block_on(store.list_runs(&RunFilter {
            job: Some("every-second".into()),
            limit: 1_000,
            ..RunFilter::default()
        }))
        .unwrap();
    // A slot skipped as "still running" must have met a run that started
    // before it was skipped (not one started by the same take) and had not
    // ended a second before (the store may learn of an end a moment late).
    use cronport::store::RunStatus::Skipped;
    let skipped: Vec<_> = runs.iter().filter(|r| r.status == Skipped).collect();
    let unfounded: Vec<_> = skipped
        .iter()
        .filter(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e == cronport::scheduler::overlap::SKIPPED_BUSY)
        })
        .filter(|r| {
            let Some(at) = r.finished_at else { return true };
            !runs.iter().any(|q| {
                q.status != Skipped
                    && q.started_at.is_some_and(|s| s < at)
                    && q.finished_at
                        .is_none_or(|f| f + chrono::Duration::seconds(1) >= at)
            })
        })
        .collect();
    let mut reasons: Vec<&str> = skipped.iter().filter_map(|r| r.error.as_deref()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    eprintln!(
        "{stop:?}: {} slot(s) of every-second skipped around the handover: {reasons:?}",
        skipped.len()
    );
    assert!(unfounded.is_empty(), "{unfounded:#?}");

    // The console's requests now reach its own scheduler, which answers:
    // the run started, or (overlap = skip) a slot's run was going just then.
    tmux.keys(&["t"]);
    tmux.wait_for("an answer to run now", Duration::from_secs(10), |s| {
        s.contains("of every-second started") || s.contains("not started: run")
    });
    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", Duration::from_secs(30));
}

#[test]
fn an_attached_console_takes_over_when_its_instance_stops() {
    the_console_takes_over(Stop::Term);
}

#[test]
fn an_attached_console_takes_over_when_its_instance_is_killed() {
    the_console_takes_over(Stop::Kill);
}

/// A backfill from the console: `B` on the job, a range typed in the job's
/// zone, Enter shows the plan, Enter runs it, and the window reports the
/// runs as they end; the store then holds one succeeded backfill run per
/// slot.
#[test]
fn a_backfill_is_planned_and_run_from_the_console() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"hourly\"\nschedule = \"0 * * * *\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\\\n1\\\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();
    let tmux = Tmux::start(&console_command(&sandbox), 100, 30);
    tmux.wait_text("hourly", Duration::from_secs(20));
    tmux.keys(&["B"]);
    tmux.wait_text("Backfill hourly", Duration::from_secs(5));
    // Replace the prefilled range: 00:00 to 02:00 UTC, three slots.
    tmux.keys(&["C-u"]);
    tmux.text("2026-11-01T00:00");
    tmux.keys(&["Tab", "C-u"]);
    tmux.text("2026-11-01T02:00");
    tmux.keys(&["Enter"]);
    tmux.wait_text("3 to run of 3 slot(s)", Duration::from_secs(10));
    tmux.keys(&["Enter"]);
    tmux.wait_text("3/3: 3 succeeded", Duration::from_secs(30));
    tmux.wait_text("done", Duration::from_secs(5));
    tmux.keys(&["Enter"]);

    let runs = sandbox.runs();
    let backfills: Vec<_> = runs.iter().filter(|r| r["trigger"] == "backfill").collect();
    assert_eq!(backfills.len(), 3, "{runs:#?}");
    assert!(
        backfills.iter().all(|r| r["status"] == "succeeded"),
        "{backfills:#?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", Duration::from_secs(30));
}

/// An HTTP server on loopback answering every request with a small CSV;
/// returns its address and a log of the request heads it received.
fn csv_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local address").to_string();
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            seen.lock()
                .expect("request log")
                .push(String::from_utf8_lossy(&head).into_owned());
            let body = "n,label\n1,one\n2,two\n";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, heads)
}

#[test]
fn an_http_source_job_is_made_in_the_form_and_its_test_run_reads_the_url() {
    let (addr, heads) = csv_server();
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_header());
    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    tmux.wait_text("No jobs yet", Duration::from_secs(20));

    tmux.keys(&["n"]);
    tmux.wait_text("New job", Duration::from_secs(5));
    tmux.text("http-stock");
    tmux.keys(&["Enter"]);
    tmux.text("daily at 02:00");
    tmux.wait_text("At 02:00 every day", Duration::from_secs(5));
    // Timezone, then the source kind: sql → command → file → http.
    tmux.keys(&["Tab", "Tab", "Right", "Right", "Right"]);
    tmux.wait_text("[http]", Duration::from_secs(5));
    tmux.keys(&["Tab"]);
    tmux.text(&format!("http://{addr}/stock.csv"));
    // Request timeout, headers, headers from env, body read as csv.
    tmux.keys(&["Tab", "Tab"]);
    tmux.text("Accept=text/csv 'X-Report=daily stock'");
    tmux.keys(&["Tab", "Tab", "Right", "Right"]);
    // The format (csv), its five options and compression, then the destination.
    tmux.keys(&["Tab"; 8]);
    tmux.keys(&["Space"]);
    tmux.wait_text("valid: Ctrl-S saves", Duration::from_secs(5));
    tmux.keys(&["C-s"]);
    tmux.wait_text("http-stock created", Duration::from_secs(10));

    let shown = sandbox
        .run(&["jobs", "show", "http-stock", "--json"])
        .ok("jobs show --json")
        .json();
    let source = &shown["definition"]["source"];
    assert_eq!(source["kind"], "http", "{shown:#}");
    assert_eq!(
        source["url"],
        format!("http://{addr}/stock.csv"),
        "{shown:#}"
    );
    assert_eq!(source["headers"]["Accept"], "text/csv", "{shown:#}");
    assert_eq!(source["headers"]["X-Report"], "daily stock", "{shown:#}");
    assert_eq!(source["format"], "csv", "{shown:#}");
    assert_eq!(shown["definition"]["format"]["kind"], "csv", "{shown:#}");

    // A test-run reads the URL with those headers and exports its rows.
    // The scheduler picks a new job up on its next reload of the job list;
    // until then it answers "no job named", so ask again until it starts.
    let asked = Instant::now();
    loop {
        tmux.keys(&["t"]);
        let screen = tmux.wait_for("an answer to t", Duration::from_secs(5), |s| {
            s.contains("of http-stock started") || s.contains("no job named")
        });
        if screen.contains("of http-stock started") {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(20),
            "the test-run never started:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        let done = sandbox.runs().into_iter().find(|r| {
            r["job"] == "http-stock" && r["status"] != "running" && r["status"] != "queued"
        });
        if let Some(run) = done {
            break run;
        }
        assert!(Instant::now() < deadline, "the test-run did not finish");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["rows"], 2, "{run:#}");
    let heads = heads.lock().expect("request log").clone();
    assert!(
        heads.iter().any(|h| h.starts_with("GET /stock.csv ")
            && h.to_ascii_lowercase().contains("x-report: daily stock")),
        "requests: {heads:?}"
    );

    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", Duration::from_secs(30));
}

/// A job whose check fails: its test-run is held (History says so, with
/// the check), A on it in History releases it, and the file arrives in the
/// destination folder.
#[test]
fn a_held_run_is_released_from_history() {
    let sandbox = Sandbox::new();
    sandbox.write("orders.csv", "id\n1\n");
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"orders\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"cat\", \"orders.csv\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
         checks = {{ min_rows = 5 }}\n",
        config_header()
    ));
    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    tmux.wait_text("orders", Duration::from_secs(20));
    tmux.keys(&["t"]);
    tmux.wait_text("of orders started", Duration::from_secs(10));
    // History: the held run (its error column, cut at 80 columns, starts
    // with the check that held it).
    tmux.keys(&["Tab", "Tab"]);
    let screen = tmux.wait_for("a held run in History", Duration::from_secs(20), |s| {
        s.lines()
            .any(|l| l.contains("orders") && l.contains(" held "))
    });
    let run = sandbox.runs()[0].clone();
    assert_eq!(run["status"], "held", "{run:#}\n{screen}");
    assert_eq!(run["failed_check"], "min_rows", "{run:#}");
    let id = run["id"].as_i64().expect("an id");
    let file = sandbox.exports().join(format!("orders/{id}.csv"));
    assert!(!file.exists(), "a held run delivered nothing");

    tmux.keys(&["A"]);
    tmux.wait_text(
        &format!("run {id} released: delivered to out"),
        Duration::from_secs(10),
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("the released file"),
        "id\r\n1\r\n",
        "the held output as rendered (csv lines end in CRLF by default)"
    );
    tmux.wait_for("the run ok in History", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.contains("orders") && l.contains(" ok ") && l.contains("manual"))
    });
    assert_eq!(sandbox.runs()[0]["status"], "succeeded");

    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", Duration::from_secs(30));
}
