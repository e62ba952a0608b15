//! The console's requests (pause, resume, run now, cancel, retry, delete)
//! reach a real scheduler: in the same process over its command channel,
//! and in "another" one through the store's commands table, on SQLite and
//! on PostgreSQL (the store an instance on another host shares).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{World, bus, wait_for};
use cronport::control::{Control, Request};
use cronport::events::Event;
use cronport::scheduler::{Parts, Scheduler};
use cronport::store::{RunStatus, Trigger};

const JOBS: &str = r#"
[[jobs]]
name = "fails"
schedule = "daily at 02:00"
source = { kind = "command", argv = ["false"] }
format = { kind = "csv" }
destinations = ["out"]
retries = 0

[[jobs]]
name = "slow"
schedule = "daily at 02:00"
source = { kind = "command", argv = ["sleep", "30"] }
format = { kind = "csv" }
destinations = ["out"]
"#;

async fn world() -> World {
    jobs_in(World::new("").await).await
}

async fn jobs_in(world: World) -> World {
    for body in JOBS.split("[[jobs]]").filter(|b| !b.trim().is_empty()) {
        world.add_job(body).await;
    }
    world
}

async fn start(world: &World, bus: cronport::events::EventBus) -> Scheduler {
    cronport::logging::init();
    let executor = cronport::scheduler::Exporter::from_config(&world.config, world.store.clone());
    Scheduler::start(Parts {
        store: world.store.clone(),
        config: world.config.clone(),
        clock: Arc::new(cronport::clock::SystemClock),
        executor: Arc::new(executor),
        bus,
        grace: Duration::from_secs(1),
    })
    .await
    .unwrap()
}

/// The run id in "run 12 of fails started", "... retried as run 13 ...".
fn run_id_in(text: &str, after: &str) -> i64 {
    let rest = &text[text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {text:?}"))
        + after.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no run id after {after:?} in {text:?}"))
}

async fn finished(rx: &mut tokio::sync::broadcast::Receiver<Event>, run: i64) -> RunStatus {
    wait_for(rx, &format!("run {run} to finish"), |e| match e {
        Event::RunFinished { run_id, status, .. } if *run_id == run => Some(*status),
        _ => None,
    })
    .await
}

/// Wait (bounded) until `check` holds.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every request, through `control`, against the scheduler behind it.
async fn every_request(
    world: &World,
    control: &Control,
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
) {
    let store = &world.store;

    let said = control.send(Request::RunNow("fails".into())).await.unwrap();
    let failed = run_id_in(&said, "run ");
    assert_eq!(finished(rx, failed).await, RunStatus::Failed);

    let said = control.send(Request::Retry(failed)).await.unwrap();
    let retry = run_id_in(&said, "retried as run ");
    assert_eq!(finished(rx, retry).await, RunStatus::Failed);
    let record = store.get_run(retry).await.unwrap().unwrap();
    assert_eq!(
        (record.trigger, record.retry_of),
        (Trigger::Retry, Some(failed))
    );

    let said = control.send(Request::RunNow("slow".into())).await.unwrap();
    let slow = run_id_in(&said, "run ");
    let error = control.send(Request::Retry(slow)).await.unwrap_err();
    assert!(error.contains("only failed"), "{error}");
    control.send(Request::Cancel(slow)).await.unwrap();
    assert_eq!(finished(rx, slow).await, RunStatus::Cancelled);

    // The embedded scheduler is asked and answers nothing: the store shows
    // the change once it is made.
    let paused =
        |name: &'static str| async move { store.get_job(name).await.unwrap().unwrap().paused };
    control.send(Request::Pause("fails".into())).await.unwrap();
    eventually("fails paused", || paused("fails")).await;
    control.send(Request::Resume("fails".into())).await.unwrap();
    eventually("fails resumed", || async { !paused("fails").await }).await;
    control.send(Request::PauseAll).await.unwrap();
    eventually("all paused", || async {
        paused("fails").await && paused("slow").await
    })
    .await;
    control.send(Request::ResumeAll).await.unwrap();
    eventually("all resumed", || async {
        !paused("fails").await && !paused("slow").await
    })
    .await;

    control.send(Request::Delete("fails".into())).await.unwrap();
    assert!(store.get_job("fails").await.unwrap().is_none());
    let error = control
        .send(Request::Delete("fails".into()))
        .await
        .unwrap_err();
    assert!(error.contains("no job"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_embedded_scheduler() {
    let world = world().await;
    let (bus, mut rx) = bus();
    let scheduler = start(&world, bus).await;
    let control = Control::Embedded {
        store: world.store.clone(),
        commands: scheduler.commands(),
    };
    every_request(&world, &control, &mut rx).await;
    scheduler.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_another_instance_through_the_store() {
    let world = world().await;
    let (bus, mut rx) = bus();
    let scheduler = start(&world, bus).await;
    // Only the store is shared, as with a headless instance elsewhere.
    let control = Control::Attached {
        store: world.store.clone(),
    };
    every_request(&world, &control, &mut rx).await;
    scheduler.shutdown().await.unwrap();
}

// A plain test with its own runtime: the database is created and dropped
// (blocking) outside of it.
#[test]
fn requests_reach_another_instance_through_a_postgres_store() {
    let db = common::process::PgDatabase::create();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut world = World::new("").await;
        world.store = cronport::store::Store::open(&db.url).await.unwrap();
        let world = jobs_in(world).await;
        let (bus, mut rx) = bus();
        let scheduler = start(&world, bus).await;
        let control = Control::Attached {
            store: world.store.clone(),
        };
        every_request(&world, &control, &mut rx).await;
        scheduler.shutdown().await.unwrap();
        world.store.close().await;
    });
}
