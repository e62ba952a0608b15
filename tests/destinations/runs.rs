//! Per-destination status, redelivery from the kept output, notifications
//! and secrets, through the real binary (and the console's views over the
//! store it wrote).

use serde_json::Value;

use crate::common::process::{Sandbox, block_on, config_header};
use crate::common::servers::Webhook;

const TOKEN: &str = "Bearer planted-secret-3c7d9a1e";
const URL_SECRET: &str = "planted-url-secret-55aa";

fn config(sandbox: &Sandbox, hook: &Webhook, hook_retries: u32) -> String {
    let flag = sandbox.path().join("fail-now");
    format!(
        "{header}[destinations.hook]\nkind = \"webhook\"\nurl = \"{hook}\"\nretries = {hook_retries}\nbackoff = \"50ms\"\n\
         headers_env = {{ Authorization = \"CRONPORT_TEST_RUNS_TOKEN\" }}\n\n\
         [destinations.alerts]\nkind = \"webhook\"\nurl_env = \"CRONPORT_TEST_RUNS_ALERT_URL\"\ntext = true\n\n\
         [[jobs]]\nname = \"flaky\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"test -e {flag} && {{ echo flag-set >&2; exit 3; }}; printf 'a\\\\n1\\\\n2\\\\n'\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\", \"hook\"]\n\
         notify = {{ on = [\"failure\", \"recovery\"], to = [\"alerts\"] }}\n",
        header = config_header(),
        hook = hook.url("/deliver"),
        flag = flag.display(),
    )
}

fn run_job(sandbox: &Sandbox, code: i32) -> i64 {
    let out = sandbox
        .command(&["jobs", "run", "flaky"])
        .env("CRONPORT_TEST_RUNS_TOKEN", TOKEN)
        .env(
            "CRONPORT_TEST_RUNS_ALERT_URL",
            ALERT_URL.with(|u| u.borrow().clone()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "jobs run flaky\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    stdout
        .lines()
        .chain(stderr.lines())
        .find_map(|l| {
            let l = l.strip_prefix("cronport: ").unwrap_or(l);
            l.strip_prefix("run ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no run id in:\n{stdout}\n{stderr}"))
}

thread_local! {
    static ALERT_URL: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn show(sandbox: &Sandbox, id: i64) -> Value {
    sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("runs show")
        .json()
}

fn delivery<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["destination"] == name)
        .unwrap_or_else(|| panic!("no delivery to {name}: {run}"))
}

#[test]
fn statuses_redelivery_notifications_and_no_secrets() {
    let sandbox = Sandbox::new();
    // The hook fails its 3rd request (run 2's delivery is never made, the
    // source fails), then all 500s for the 4th: see below.
    let hook = Webhook::start(&["200", "500"]);
    let alerts = Webhook::start(&[]);
    ALERT_URL.with(|u| *u.borrow_mut() = alerts.url(&format!("/services/{URL_SECRET}")));
    sandbox.write_config(&config(&sandbox, &hook, 0));
    sandbox.apply_config();
    let flag = sandbox.path().join("fail-now");

    // 1: succeeds at both destinations; no notice (nothing failed before).
    let first = run_job(&sandbox, 0);
    let run = show(&sandbox, first);
    assert_eq!(delivery(&run, "out")["status"], "delivered");
    assert_eq!(delivery(&run, "hook")["status"], "delivered");
    let fire = run["fire_id"].as_str().unwrap().to_string();
    assert!(fire.starts_with("flaky@"), "{fire}");
    let listed = sandbox.runs();
    assert_eq!(listed[0]["deliveries"].as_array().unwrap().len(), 2);

    // 2: the hook answers 500 (retries = 0): the run fails, the local copy
    // is taken back, the statuses say so.
    let second = run_job(&sandbox, 1);
    let run = show(&sandbox, second);
    assert_eq!(run["status"], "failed");
    assert_eq!(delivery(&run, "out")["status"], "retracted");
    assert_eq!(delivery(&run, "hook")["status"], "failed");
    assert!(
        delivery(&run, "hook")["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{run}"
    );

    // Redeliver run 2 to the hook alone, from the kept output: the same
    // fire id goes out as the idempotency key.
    let out = sandbox
        .command(&[
            "runs",
            "redeliver",
            &second.to_string(),
            "--destination",
            "hook",
        ])
        .env("CRONPORT_TEST_RUNS_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = show(&sandbox, second);
    assert_eq!(delivery(&run, "hook")["status"], "delivered");
    assert_eq!(delivery(&run, "out")["status"], "retracted");
    let requests = hook.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[1].headers["idempotency-key"],
        requests[2].headers["idempotency-key"]
    );
    assert_eq!(requests[2].json()["rows"], 2);
    // A destination the job does not use is bad input.
    sandbox
        .run(&[
            "runs",
            "redeliver",
            &second.to_string(),
            "--destination",
            "alerts",
        ])
        .expect_code(2, "redeliver to a foreign destination");

    // 3 and 4 fail at the source; 5 recovers.
    std::fs::write(&flag, "").unwrap();
    let third = run_job(&sandbox, 1);
    run_job(&sandbox, 1);
    std::fs::remove_file(&flag).unwrap();
    run_job(&sandbox, 0);
    let notices: Vec<Value> = alerts.requests().iter().map(|r| r.json()).collect();
    let events: Vec<&str> = notices
        .iter()
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    // Run 2's failure was the first after a success; 3 and 4 extend the
    // streak silently; 5 recovers after 3 failed runs.
    assert_eq!(events, ["failure", "recovery"], "{notices:?}");
    assert_eq!(notices[0]["run_id"], second);
    assert_eq!(notices[1]["failed_runs"], 3);
    assert!(
        notices[1]["text"]
            .as_str()
            .unwrap()
            .contains("after 3 failed run(s)")
    );
    let run = show(&sandbox, third);
    assert!(run["deliveries"].as_array().unwrap().is_empty(), "{run}");

    // The planted secrets appear nowhere cronport writes.
    let mut seen = String::new();
    for id in first..=third + 2 {
        seen.push_str(
            &sandbox
                .run(&["runs", "show", &id.to_string(), "--json"])
                .stdout,
        );
        seen.push_str(&sandbox.run(&["runs", "logs", &id.to_string()]).stdout);
    }
    seen.push_str(&sandbox.run(&["runs", "list", "--json"]).stdout);
    seen.push_str(&sandbox.run(&["jobs", "export"]).stdout);
    seen.push_str(&sandbox.run(&["check"]).stdout);
    let console = console_text(&sandbox.store, "flaky", first..=third + 2);
    // Not vacuous: the console drew run 2's failed and retracted deliveries.
    assert!(
        console.contains("retracted") && console.contains("HTTP 500"),
        "{console}"
    );
    seen.push_str(&console);
    for secret in [TOKEN, URL_SECRET, "planted-secret"] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    let posts: Vec<_> = hook
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(posts.iter().all(|r| r.headers["authorization"] == TOKEN));
}

/// What the console draws from the store: the panels, each run's view and
/// the job's stored log lines, at 200x60, as text. Drawn in-process with
/// the console's own loader and views, which read what an operator's
/// console would.
fn console_text(store_url: &str, job: &str, runs: std::ops::RangeInclusive<i64>) -> String {
    use cronport::console::form::FormContext;
    use cronport::console::loader::{self, Loader};
    use cronport::console::model::{Engine, LogScope, Model, Msg, Screen};
    block_on(async {
        let store = cronport::store::Store::open(store_url).await.unwrap();
        let now = chrono::Utc::now();
        let zone = chrono_tz::UTC;
        let mut model = Model::new(
            now,
            zone,
            store_url.to_string(),
            Engine::Running,
            FormContext::default(),
        );
        let snapshot = Loader::new(store.clone(), zone, cronport::job::Known::default(), 8)
            .snapshot(None, now)
            .await
            .unwrap();
        model.update(Msg::Snapshot(Box::new(snapshot)));
        let mut text = draw(&model);
        for id in runs {
            model.screen = Screen::Run {
                id,
                details: None,
                scroll: 0,
            };
            model.update(loader::run_details(&store, id).await.unwrap());
            text.push_str(&draw(&model));
        }
        model.screen = Screen::Dashboard;
        model.update(
            loader::stored_log(&store, LogScope::Job(job.to_string()))
                .await
                .unwrap(),
        );
        text.push_str(&draw(&model));
        text
    })
}

/// One frame of the console at 200x60, row by row.
fn draw(model: &cronport::console::model::Model) -> String {
    let (width, height) = (200, 60);
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut terminal = ratatui::Terminal::new(backend).unwrap();
    terminal
        .draw(|frame| cronport::console::view::render(model, frame))
        .unwrap();
    terminal
        .backend()
        .buffer()
        .content()
        .chunks(usize::from(width))
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>() + "\n")
        .collect()
}
