//! The console's requests (pause, resume, run now, cancel, retry, delete)
//! reach a real scheduler: in the same process over its command channel,
//! and in "another" one through the store's commands table, on SQLite and
//! on PostgreSQL (the store an instance on another host shares).

mod common;

use std::time::Duration;

use common::{World, bus, wait_for};
use cronport::control::{Control, Request};
use cronport::events::Event;
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

    // Each request is in the audit trail as the console's, refusals too.
    let trail = store
        .audit_entries(&cronport::store::AuditFilter::default())
        .await
        .unwrap();
    let oldest_first: Vec<_> = trail.iter().rev().map(|e| &e.entry).collect();
    let seen: Vec<(&str, Option<&str>, bool)> = oldest_first
        .iter()
        .map(|e| {
            let done = !e.outcome.starts_with("not done");
            (e.action.as_str(), e.job.as_deref(), done)
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("run_now", Some("fails"), true),
            ("retry", Some("fails"), true),
            ("run_now", Some("slow"), true),
            ("retry", Some("slow"), false),
            ("cancel", Some("slow"), true),
            ("pause", Some("fails"), true),
            ("resume", Some("fails"), true),
            ("pause_all", None, true),
            ("resume_all", None, true),
            ("delete", Some("fails"), true),
            ("delete", Some("fails"), false),
        ]
    );
    let user = cronport::scheduler::instance::user();
    assert!(
        oldest_first
            .iter()
            .all(|e| e.way == cronport::store::Way::Console && e.actor_user == user)
    );
    assert_eq!(oldest_first[0].run_id, Some(failed));
    assert_eq!(oldest_first[1].run_id, Some(failed));
    let deleted: serde_json::Value =
        serde_json::from_str(oldest_first[9].before.as_deref().unwrap()).unwrap();
    assert_eq!(deleted["name"], "fails");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_embedded_scheduler() {
    let world = world().await;
    let (bus, mut rx) = bus();
    let scheduler = common::start_live_scheduler(&world, bus).await;
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
    let scheduler = common::start_live_scheduler(&world, bus).await;
    // Only the store is shared, as with a headless instance elsewhere.
    let control = Control::Attached {
        store: world.store.clone(),
    };
    every_request(&world, &control, &mut rx).await;
    scheduler.shutdown().await.unwrap();
}

/// A job the console's form saved a moment ago (written to the store, the
/// scheduler not yet polled) is run at once when `t` asks for it, not
/// refused as unknown.
async fn a_job_saved_a_moment_ago_runs_at_once(
    world: &World,
    control: &Control,
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
) {
    let job = |name: &str| {
        format!(
            "name = \"{name}\"\nschedule = \"daily at 02:00\"\n\
             source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n\"] }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n"
        )
    };
    world.add_job(&job("fresh")).await;
    let said = control.send(Request::RunNow("fresh".into())).await.unwrap();
    let run = run_id_in(&said, "run ");
    assert_eq!(finished(rx, run).await, RunStatus::Succeeded);

    // What the console does after a save: the scheduler in this process
    // loads the job before the form closes.
    world.add_job(&job("fresher")).await;
    control.jobs_changed().await.unwrap();
    let said = control
        .send(Request::RunNow("fresher".into()))
        .await
        .unwrap();
    let run = run_id_in(&said, "run ");
    assert_eq!(finished(rx, run).await, RunStatus::Succeeded);

    // A name the store does not have either is still refused, by name.
    let error = control
        .send(Request::RunNow("never-saved".into()))
        .await
        .unwrap_err();
    assert!(error.contains("no job named \"never-saved\""), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_job_runs_at_once_in_the_embedded_scheduler() {
    let world = world().await;
    let (bus, mut rx) = bus();
    let scheduler = common::start_live_scheduler(&world, bus).await;
    let control = Control::Embedded {
        store: world.store.clone(),
        commands: scheduler.commands(),
    };
    a_job_saved_a_moment_ago_runs_at_once(&world, &control, &mut rx).await;
    scheduler.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_job_runs_at_once_on_another_instance() {
    let world = world().await;
    let (bus, mut rx) = bus();
    let scheduler = common::start_live_scheduler(&world, bus).await;
    let control = Control::Attached {
        store: world.store.clone(),
    };
    a_job_saved_a_moment_ago_runs_at_once(&world, &control, &mut rx).await;
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
        let scheduler = common::start_live_scheduler(&world, bus).await;
        let control = Control::Attached {
            store: world.store.clone(),
        };
        every_request(&world, &control, &mut rx).await;
        scheduler.shutdown().await.unwrap();
        world.store.close().await;
    });
}

/// An instance on this host whose process has exited, holding the lease
/// (as one killed with `kill -9` leaves it).
async fn dead_holder(store: &cronport::store::Store) -> cronport::store::InstanceInfo {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let dead = cronport::store::InstanceInfo {
        id: format!("dead-{}", child.id()),
        hostname: cronport::scheduler::instance::hostname(),
        pid: child.id(),
        version: "0.0.0".into(),
        started_at: chrono::Utc::now(),
        takes_work: true,
    };
    store.register_instance(&dead).await.unwrap();
    let leased = store
        .try_acquire_lease(&dead.id, chrono::Utc::now(), Duration::from_secs(15))
        .await
        .unwrap();
    assert!(leased, "the dead instance holds the lease");
    dead
}

async fn manual_runs(world: &World, job: &str) -> usize {
    let runs = world
        .store
        .list_runs(&cronport::store::RunFilter {
            job: Some(job.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    runs.iter().filter(|r| r.trigger == Trigger::Manual).count()
}

/// A request left for an instance that is gone gets an answer within its
/// deadline that says so, and is withdrawn: a scheduler started afterwards
/// does not carry it out (it used to run when the next process started).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_a_gone_instance_is_answered_and_never_runs_later() {
    let world = world().await;
    let dead = dead_holder(&world.store).await;
    let asked = tokio::time::Instant::now();
    let request = Request::RunNow("fails".into());
    let error =
        cronport::control::ask_instance_within(&world.store, &request, Duration::from_secs(1))
            .await
            .unwrap_err();
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    let name = format!("instance {}:{} is gone", dead.hostname, dead.pid);
    assert!(
        error.starts_with(&name) && error.ends_with("will not run later"),
        "{error}"
    );

    let (bus, _rx) = bus();
    let scheduler = common::start_live_scheduler(&world, bus).await;
    // The scheduler polls the commands table every second.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    scheduler.shutdown().await.unwrap();
    assert_eq!(
        manual_runs(&world, "fails").await,
        0,
        "the withdrawn request ran"
    );
}

/// As a scheduler takes over: a request left for the gone holder within
/// the bound runs at once, an older one expires and one the holder took
/// and never finished is closed, each with its reason recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_takeover_fresh_requests_run_at_once_and_old_ones_expire() {
    use cronport::store::{CommandKind, NewCommand};
    let world = world().await;
    let store = &world.store;
    let dead = dead_holder(store).await;
    let now = chrono::Utc::now();
    let run_now = |secs_ago: i64| NewCommand {
        kind: CommandKind::Run,
        job_name: Some("fails".into()),
        run_id: None,
        requested_at: now - chrono::Duration::seconds(secs_ago),
    };
    let pause = NewCommand {
        kind: CommandKind::Pause,
        job_name: Some("slow".into()),
        run_id: None,
        requested_at: now,
    };
    let taken = store.push_command(&pause).await.unwrap();
    store.take_commands(&dead.id, now).await.unwrap();
    let old = store.push_command(&run_now(60)).await.unwrap();
    let fresh = store.push_command(&run_now(2)).await.unwrap();

    let closed = cronport::control::close_orphaned_commands(store, Some(&dead), now)
        .await
        .unwrap();
    assert_eq!(
        closed.iter().map(|c| c.id).collect::<Vec<_>>(),
        [old, taken]
    );
    let (bus, _rx) = bus();
    let scheduler = common::start_live_scheduler(&world, bus).await;
    let run = poll_command(store, fresh).await;
    assert!(run.is_some(), "the fresh request started a run");
    scheduler.shutdown().await.unwrap();

    let old = store.get_command(old).await.unwrap().unwrap();
    assert!(old.completed && old.result_run_id.is_none());
    assert!(
        old.error.as_deref().unwrap().starts_with("expired:"),
        "{old:?}"
    );
    let taken = store.get_command(taken).await.unwrap().unwrap();
    let reason = format!("instance {}:{} stopped before", dead.hostname, dead.pid);
    assert!(
        taken.error.as_deref().unwrap().starts_with(&reason),
        "{taken:?}"
    );
    assert_eq!(
        manual_runs(&world, "fails").await,
        1,
        "only the fresh one ran"
    );
}

/// The run a completed command started; panics after 5 s.
async fn poll_command(store: &cronport::store::Store, id: i64) -> Option<i64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let command = store.get_command(id).await.unwrap().unwrap();
        if command.completed {
            assert_eq!(command.error, None, "{command:?}");
            return command.result_run_id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "command {id} not done: {command:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
