//! A run waiting for its next attempt, as seen from outside the process
//! that runs it: the store keeps the next attempt's time, and `runs list`,
//! `runs show` and their `--json` say "retry at" instead of a bare
//! "running". On SQLite and on PostgreSQL. The scheduler runs in this
//! process on a virtual clock that never reaches the retry, so the run
//! waits for as long as the test looks; the command line is the real
//! binary, another process, as for a console attached to a headless
//! instance.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound as _, Utc};
use common::process::{Output, Sandbox, config_header};
use common::{bus, wait_for};
use cronport::clock::VirtualClock;
use cronport::config::Config;
use cronport::events::{Command, Event};
use cronport::scheduler::{Exporter, Parts, Scheduler};
use cronport::store::{RunStatus, Store};

const FLAKY: &str = "[[jobs]]\nname = \"flaky\"\nschedule = \"daily at 02:00\"\nretries = 2\n\
     source = { kind = \"command\", argv = [\"sh\", \"-c\", \"echo boom >&2; exit 3\"] }\n\
     format = { kind = \"csv\" }\ndestinations = [\"out\"]\n";

/// The real binary, run to completion without holding up the runtime's
/// other tasks (the scheduler's among them).
fn cli(sandbox: &Sandbox, args: &[&str]) -> Output {
    tokio::task::block_in_place(|| sandbox.run(args))
}

fn millis(t: &str) -> i64 {
    DateTime::parse_from_rfc3339(t)
        .unwrap_or_else(|e| panic!("{t}: {e}"))
        .timestamp_millis()
}

async fn retry_at_is_stored_and_shown(sandbox: &Sandbox) {
    sandbox.write_config(&format!("{}{FLAKY}", config_header()));
    tokio::task::block_in_place(|| sandbox.apply_config());
    let config = Config::load_file(&sandbox.config_path()).unwrap();
    let store = Store::open(&sandbox.store).await.unwrap();
    cronport::logging::init();
    let clock = VirtualClock::new(
        Utc::now()
            .duration_trunc(chrono::Duration::seconds(1))
            .unwrap(),
    );
    let (bus, mut rx) = bus();
    let scheduler = Scheduler::start(Parts {
        store: store.clone(),
        config: Arc::new(config.clone()),
        clock: Arc::new(clock.clone()),
        executor: Arc::new(Exporter::from_config(&config, store.clone())),
        bus,
        grace: Duration::from_millis(200),
    })
    .await
    .unwrap();

    let (reply, answer) = tokio::sync::oneshot::channel();
    scheduler
        .commands()
        .send(Command::RunNow {
            job: "flaky".into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    let run = answer.await.unwrap().unwrap();
    let at = wait_for(&mut rx, "the retry", |e| match e {
        Event::RetryScheduled { run_id, at, .. } if *run_id == run => Some(*at),
        _ => None,
    })
    .await;

    // The recorder commits within moments; then the store has it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let record = store.get_run(run).await.unwrap().unwrap();
        if let Some(t) = record.retry_at {
            break (record.status, t);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retry_at: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stored.0, RunStatus::Running);
    assert_eq!(stored.1.timestamp_millis(), at.timestamp_millis());

    let id = run.to_string();
    let shown = cli(sandbox, &["runs", "show", &id, "--json"])
        .ok("runs show")
        .json();
    assert_eq!(shown["status"], "running");
    assert_eq!(
        millis(shown["retry_at"].as_str().unwrap()),
        at.timestamp_millis()
    );
    let listed = tokio::task::block_in_place(|| sandbox.runs());
    let listed = listed
        .iter()
        .find(|r| r["id"] == run)
        .expect("the run listed");
    assert_eq!(listed["retry_at"], shown["retry_at"]);
    let text = cli(sandbox, &["runs", "list"]).ok("runs list").stdout;
    let want = format!("retry at {} (UTC)", at.format("%Y-%m-%d %H:%M:%S"));
    assert!(text.contains(&want), "{want:?} in\n{text}");
    let text = cli(sandbox, &["runs", "show", &id]).ok("runs show").stdout;
    assert!(text.contains("retry_at"), "{text}");

    // Shut down before the retry: the run ends cancelled and waits for
    // nothing any more.
    scheduler.shutdown().await.unwrap();
    let ended = store.get_run(run).await.unwrap().unwrap();
    assert_eq!(ended.status, RunStatus::Cancelled);
    assert_eq!(ended.retry_at, None);
    let shown = cli(sandbox, &["runs", "show", &id, "--json"])
        .ok("runs show")
        .json();
    assert!(shown["retry_at"].is_null(), "{shown}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waiting_to_retry_says_when_on_sqlite() {
    let sandbox = Sandbox::new();
    retry_at_is_stored_and_shown(&sandbox).await;
}

// A plain test with its own runtime: the database is created and dropped
// (blocking) outside of it.
#[test]
fn a_run_waiting_to_retry_says_when_on_postgres() {
    let db = common::process::PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(retry_at_is_stored_and_shown(&sandbox));
}
