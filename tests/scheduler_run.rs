//! The scheduler driven end to end in virtual time: a real SQLite store, the
//! real export pipeline (command source, CSV, local destination), and a
//! clock the test moves. Timeouts, retries, pause/resume and run-now.

mod common;

use std::sync::Arc;

use chrono::{Duration, DurationRound as _, Utc};
use common::{World, bus, files_under, wait_for};
use cronport::clock::VirtualClock;
use cronport::events::{Command, Event};
use cronport::scheduler::{Parts, Scheduler};
use cronport::store::{RunFilter, RunStatus, Trigger};

async fn start(world: &World, clock: &VirtualClock, bus: cronport::events::EventBus) -> Scheduler {
    start_with_grace(world, clock, bus, std::time::Duration::from_secs(5)).await
}

async fn start_with_grace(
    world: &World,
    clock: &VirtualClock,
    bus: cronport::events::EventBus,
    grace: std::time::Duration,
) -> Scheduler {
    cronport::logging::init();
    let executor = cronport::scheduler::Exporter::from_config(&world.config, world.store.clone());
    Scheduler::start(Parts {
        store: world.store.clone(),
        config: world.config.clone(),
        clock: Arc::new(clock.clone()),
        executor: Arc::new(executor),
        bus,
        grace,
    })
    .await
    .unwrap()
}

/// A virtual clock at the start of the current real minute plus 30s, so
/// every-minute jobs created now have their next slot 30s ahead.
fn clock_now() -> VirtualClock {
    let now = Utc::now().duration_trunc(Duration::minutes(1)).unwrap() + Duration::seconds(30);
    VirtualClock::new(now.max(Utc::now()))
}

fn next_minute(clock: &VirtualClock) -> chrono::DateTime<Utc> {
    use cronport::clock::Clock as _;
    clock.now().duration_trunc(Duration::minutes(1)).unwrap() + Duration::minutes(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_cancels_the_run_and_leaves_no_partial_file() {
    let world = World::new("").await;
    world
        .add_job(
            r#"name = "slow"
schedule = "* * * * *"
source = { kind = "command", argv = ["sh", "-c", "echo a,b; echo 1,2; exec sleep 60"] }
format = { kind = "csv" }
destinations = ["out"]
retries = 0
timeout = "2m""#,
        )
        .await;
    let clock = clock_now();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let slot = next_minute(&clock);
    clock.set(slot);
    let run_id = wait_for(&mut rx, "run started", |e| match e {
        Event::RunStarted { run_id, .. } => Some(*run_id),
        _ => None,
    })
    .await;
    // Give the program time to write its first rows into the spool.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    clock.set(slot + Duration::minutes(2));
    let (status, error) = wait_for(&mut rx, "run finished", |e| match e {
        Event::RunFinished {
            run_id: id,
            status,
            error,
            ..
        } if *id == run_id => Some((*status, error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(status, RunStatus::Failed);
    assert!(
        error.as_deref().unwrap_or("").contains("timeout"),
        "{error:?}"
    );
    scheduler.shutdown().await.unwrap();
    let run = world.store.get_run(run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.error
            .unwrap()
            .starts_with("timeout: the attempt ran longer than 2m")
    );
    assert!(
        files_under(&world.exports()).is_empty(),
        "{:?}",
        files_under(&world.exports())
    );
    assert!(
        files_under(&world.spool()).is_empty(),
        "{:?}",
        files_under(&world.spool())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_retry_within_the_jittered_backoff_and_are_recorded() {
    let world = World::new("").await;
    world
        .add_job(
            r#"name = "flaky"
schedule = "* * * * *"
source = { kind = "command", argv = ["sh", "-c", "echo boom >&2; exit 3"] }
format = { kind = "csv" }
destinations = ["out"]
retries = 2"#,
        )
        .await;
    let clock = clock_now();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let slot = next_minute(&clock);
    clock.set(slot);
    for (attempt, ceiling) in [(1u32, 30i64), (2, 60)] {
        let (at, error) = wait_for(&mut rx, "retry scheduled", |e| match e {
            Event::RetryScheduled {
                attempt: a,
                at,
                error,
                ..
            } if *a == attempt => Some((*at, error.clone())),
            _ => None,
        })
        .await;
        use cronport::clock::Clock as _;
        let wait = at - clock.now();
        assert!(
            wait >= Duration::zero() && wait <= Duration::seconds(ceiling),
            "attempt {attempt}: waits {wait}"
        );
        assert!(
            error.contains("exited with exit status: 3") && error.contains("boom"),
            "{error}"
        );
        clock.set(at);
    }
    let (run_id, status) = wait_for(&mut rx, "run finished", |e| match e {
        Event::RunFinished { run_id, status, .. } => Some((*run_id, *status)),
        _ => None,
    })
    .await;
    assert_eq!(status, RunStatus::Failed);
    scheduler.shutdown().await.unwrap();
    let run = world.store.get_run(run_id).await.unwrap().unwrap();
    assert_eq!(run.attempt, 3);
    let attempts = world.store.attempts(run_id).await.unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a.status == RunStatus::Failed));
    let logs = world.store.run_logs(run_id, -1, 100).await.unwrap();
    assert!(
        logs.iter().any(|l| l.message.contains("stderr: boom")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.message.contains("attempt 3 of 3 failed")),
        "{logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_run_now_while_paused() {
    let world = World::new("").await;
    world
        .add_job(
            r#"name = "report"
schedule = "* * * * *"
source = { kind = "command", argv = ["printf", "id,name\n1,Zoë\n2,東京\n"] }
format = { kind = "csv" }
destinations = ["out"]"#,
        )
        .await;
    let clock = clock_now();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let commands = scheduler.commands();
    let (reply, paused) = tokio::sync::oneshot::channel();
    commands
        .send(Command::Pause {
            job: "report".into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    paused.await.unwrap().unwrap();
    assert!(world.store.get_job("report").await.unwrap().unwrap().paused);
    // Two slots pass while paused: nothing runs.
    let slot = next_minute(&clock);
    clock.set(slot + Duration::minutes(1));
    // Run now works while paused.
    let (reply, answer) = tokio::sync::oneshot::channel();
    commands
        .send(Command::RunNow {
            job: "report".into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    let manual = answer.await.unwrap().unwrap();
    let finished = wait_for(&mut rx, "manual run finished", |e| match e {
        Event::RunFinished {
            run_id,
            status,
            outputs,
            ..
        } if *run_id == manual => Some((*status, outputs.clone())),
        _ => None,
    })
    .await;
    assert_eq!(finished.0, RunStatus::Succeeded);
    let written = std::fs::read_to_string(&finished.1[0]).unwrap();
    assert_eq!(written, "id,name\r\n1,Zoë\r\n2,東京\r\n");
    let runs = world.store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1, "only the manual run: {runs:?}");
    assert_eq!(runs[0].trigger, Trigger::Manual);
    // Resumed: the next slot runs, the ones that passed are not caught up.
    // Resume between slots, so it means the same whenever the loop takes it;
    // the reply comes once the store and the planner both hold the change.
    clock.set(slot + Duration::minutes(1) + Duration::seconds(30));
    let (reply, resumed) = tokio::sync::oneshot::channel();
    commands
        .send(Command::Resume {
            job: "report".into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    resumed.await.unwrap().unwrap();
    assert!(!world.store.get_job("report").await.unwrap().unwrap().paused);
    clock.set(slot + Duration::minutes(2));
    let (trigger, scheduled_for) = wait_for(&mut rx, "scheduled run", |e| match e {
        Event::RunQueued {
            trigger,
            scheduled_for,
            ..
        } => Some((*trigger, *scheduled_for)),
        _ => None,
    })
    .await;
    assert_eq!(
        (trigger, scheduled_for),
        (Trigger::Schedule, slot + Duration::minutes(2))
    );
    wait_for(&mut rx, "scheduled run finished", |e| {
        matches!(e, Event::RunFinished { .. }).then_some(())
    })
    .await;
    scheduler.shutdown().await.unwrap();
    assert_eq!(files_under(&world.exports()).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_cannot_be_carried_out_say_why() {
    let world = World::new("").await;
    let clock = clock_now();
    let (bus, _rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let commands = scheduler.commands();
    let (reply, answer) = tokio::sync::oneshot::channel();
    commands
        .send(Command::Pause {
            job: "nope".into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    assert_eq!(answer.await.unwrap(), Err("no job named \"nope\"".into()));
    let (reply, answer) = tokio::sync::oneshot::channel();
    commands
        .send(Command::Cancel {
            run_id: 42,
            reply: Some(reply),
        })
        .await
        .unwrap();
    assert_eq!(
        answer.await.unwrap(),
        Err("run 42 is not running on this instance".into())
    );
    scheduler.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_three_days_down_latest_runs_once_and_the_gap_is_recorded() {
    let world = World::new("").await;
    world
        .add_job(
            r#"name = "hourly"
schedule = "0 * * * *"
source = { kind = "command", argv = ["printf", "a\n1\n"] }
format = { kind = "csv" }
destinations = ["out"]
catch_up = "latest""#,
        )
        .await;
    // The job was created now; cronport comes back three days later.
    use cronport::clock::Clock as _;
    let created = Utc::now();
    let clock = VirtualClock::new(created + Duration::days(3));
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let newest = clock.now().duration_trunc(Duration::hours(1)).unwrap();
    let (trigger, slot) = wait_for(&mut rx, "catch-up run", |e| match e {
        Event::RunQueued {
            trigger,
            scheduled_for,
            ..
        } => Some((*trigger, *scheduled_for)),
        _ => None,
    })
    .await;
    assert_eq!((trigger, slot), (Trigger::CatchUp, newest));
    wait_for(&mut rx, "catch-up finished", |e| {
        matches!(e, Event::RunFinished { .. }).then_some(())
    })
    .await;
    scheduler.shutdown().await.unwrap();
    let runs = world.store.list_runs(&RunFilter::default()).await.unwrap();
    let skipped: Vec<_> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1, "{runs:?}");
    assert!(
        skipped[0]
            .error
            .as_deref()
            .unwrap()
            .contains("missed 71 slots"),
        "{:?}",
        skipped[0].error
    );
    assert_eq!(
        runs.iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_logs_are_capped_with_a_line_saying_how_many_were_dropped() {
    let world = World::new("").await;
    world
        .add_job(
            r#"name = "chatty"
schedule = "0 0 1 1 *"
source = { kind = "command", argv = ["sh", "-c", "i=0; while [ $i -lt 12000 ]; do echo line $i >&2; i=$((i+1)); done; echo a; echo 1"] }
format = { kind = "csv" }
destinations = ["out"]"#,
        )
        .await;
    let clock = clock_now();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let (reply, answer) = tokio::sync::oneshot::channel();
    scheduler
        .commands()
        .send(Command::RunNow {
            job: "chatty".into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    let run_id = answer.await.unwrap().unwrap();
    let mut live = 0;
    let status = wait_for(&mut rx, "run finished", |e| match e {
        Event::Log(line) if line.run_id == Some(run_id) => {
            live += 1;
            None
        }
        Event::RunFinished {
            run_id: id, status, ..
        } if *id == run_id => Some(*status),
        _ => None,
    })
    .await;
    assert_eq!(status, RunStatus::Succeeded);
    scheduler.shutdown().await.unwrap();
    let mut stored = Vec::new();
    let mut after = -1;
    loop {
        let page = world.store.run_logs(run_id, after, 5000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        stored.extend(page);
    }
    assert_eq!(stored.len(), 10_001, "10,000 lines and the note");
    assert!(stored.windows(2).all(|w| w[0].seq < w[1].seq));
    let note = &stored.last().unwrap().message;
    // 12,000 stderr lines plus the run's own (start, rendered, delivered, succeeded).
    assert!(
        note.starts_with("2004 more log lines were dropped"),
        "{note}"
    );
    assert_eq!(live, 10_001, "the same lines were published live");
}

const SLOW: &str = r#"source = { kind = "command", argv = ["sh", "-c", "echo a; exec sleep 60"] }
format = { kind = "csv" }
destinations = ["out"]
retries = 0"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_previous_cancels_the_running_slot_and_starts_the_next() {
    let world = World::new("").await;
    world
        .add_job(&format!(
            "name = \"slow\"\nschedule = \"* * * * *\"\noverlap = \"cancel_previous\"\n{SLOW}"
        ))
        .await;
    let clock = clock_now();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    let slot = next_minute(&clock);
    clock.set(slot);
    let first = wait_for(&mut rx, "first run started", |e| match e {
        Event::RunStarted { run_id, .. } => Some(*run_id),
        _ => None,
    })
    .await;
    clock.set(slot + Duration::minutes(1));
    // The cancellation and the next slot's start race: take them in any order.
    let (mut cancelled, mut next) = (None, None);
    wait_for(&mut rx, "first run cancelled and second queued", |e| {
        match e {
            Event::RunFinished {
                run_id,
                status,
                error,
                ..
            } if *run_id == first => {
                cancelled = Some((*status, error.clone()));
            }
            Event::RunQueued {
                run_id,
                scheduled_for,
                ..
            } if *run_id != first => {
                next = Some((*run_id, *scheduled_for));
            }
            _ => {}
        }
        (cancelled.is_some() && next.is_some()).then_some(())
    })
    .await;
    let (status, error) = cancelled.unwrap();
    assert_eq!(status, RunStatus::Cancelled);
    assert!(error.unwrap().contains("the next slot replaced it"));
    let (second, slot2) = next.unwrap();
    assert_eq!(slot2, slot + Duration::minutes(1));
    scheduler.shutdown().await.unwrap();
    assert_eq!(
        world.store.get_run(first).await.unwrap().unwrap().status,
        RunStatus::Cancelled
    );
    // Shutdown cancelled the second after the grace period.
    assert_eq!(
        world.store.get_run(second).await.unwrap().unwrap().status,
        RunStatus::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_runs_finish_within_the_grace_period_then_cancels_them() {
    let world = World::new("").await;
    world
        .add_job(&format!(
            "name = \"slow\"\nschedule = \"0 0 1 1 *\"\n{SLOW}"
        ))
        .await;
    world
        .add_job(
            r#"name = "quick"
schedule = "0 0 1 1 *"
source = { kind = "command", argv = ["sh", "-c", "sleep 0.3; echo a; echo 1"] }
format = { kind = "csv" }
destinations = ["out"]"#,
        )
        .await;
    let clock = clock_now();
    let (bus, mut rx) = bus();
    let scheduler = start_with_grace(&world, &clock, bus, std::time::Duration::from_secs(2)).await;
    let mut ids = Vec::new();
    for job in ["slow", "quick"] {
        let (reply, answer) = tokio::sync::oneshot::channel();
        scheduler
            .commands()
            .send(Command::RunNow {
                job: job.into(),
                reply: Some(reply),
            })
            .await
            .unwrap();
        ids.push(answer.await.unwrap().unwrap());
    }
    for _ in 0..2 {
        wait_for(&mut rx, "runs started", |e| {
            matches!(e, Event::RunStarted { .. }).then_some(())
        })
        .await;
    }
    let began = std::time::Instant::now();
    scheduler.shutdown().await.unwrap();
    let took = began.elapsed();
    let slow = world.store.get_run(ids[0]).await.unwrap().unwrap();
    let quick = world.store.get_run(ids[1]).await.unwrap().unwrap();
    assert_eq!(quick.status, RunStatus::Succeeded, "{quick:?}");
    assert_eq!(slow.status, RunStatus::Cancelled, "{slow:?}");
    assert!(slow.error.unwrap().contains("shut down"));
    assert!(
        took >= std::time::Duration::from_secs(2),
        "waited the grace period: {took:?}"
    );
    assert!(
        files_under(&world.exports())
            .iter()
            .all(|f| f.starts_with("quick"))
    );
    // The instance left the store cleanly.
    use cronport::clock::Clock as _;
    assert!(
        world
            .store
            .lease_holder(clock.now())
            .await
            .unwrap()
            .is_none()
    );
}
