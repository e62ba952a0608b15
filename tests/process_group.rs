//! A command source's program stops together with everything it started:
//! timeout, cancel and shutdown stop its whole process group (SIGTERM, then
//! SIGKILL after the grace), and a program that exits leaving a background
//! child behind does not leave it running. Real processes, the real
//! pipeline and scheduler, and the real binary for shutdown.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::process::{
    Sandbox, config_header, group_members, is_running, toml_str, wait_group_gone, written_pids,
};
use common::{World, bus, start_scheduler, wait_for};
use cronport::clock::VirtualClock;
use cronport::events::{Command, Event};
use cronport::export::source::group::STOP_GRACE;
use cronport::scheduler::Scheduler;
use cronport::store::{RunId, RunStatus};

/// `sh -c 'sleep 300 & sleep 300; echo a'`, writing its own pid (the
/// group's id) and the background child's to `$PIDS` first.
const FORKS: &str = r#"echo $$ > "$PIDS"; sleep 300 & echo $! >> "$PIDS"; sleep 300; echo a"#;

/// The same, deaf to SIGTERM: the ignored signal is inherited by both
/// sleeps.
const FORKS_IGNORING_TERM: &str =
    r#"trap '' TERM; echo $$ > "$PIDS"; sleep 300 & echo $! >> "$PIDS"; sleep 300; echo a"#;

/// A job `name` running `script` with `$PIDS` set to `pids`.
fn job(name: &str, script: &str, pids: &Path, extra: &str) -> String {
    format!(
        "name = \"{name}\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n{extra}\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", {}], env = {{ PIDS = {} }} }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]",
        toml_str(script),
        toml_str(&pids.display().to_string()),
    )
}

/// A world with one job, its scheduler on a virtual clock set to now, and
/// a receiver of its events.
async fn scheduler_with(
    name: &str,
    script: &str,
    extra: &str,
) -> (
    World,
    VirtualClock,
    Scheduler,
    tokio::sync::broadcast::Receiver<Event>,
    PathBuf,
) {
    let world = World::new("").await;
    let pids = world.dir.path().join("pids");
    world.add_job(&job(name, script, &pids, extra)).await;
    let clock = VirtualClock::new(Utc::now());
    let (bus, rx) = bus();
    let scheduler = start_scheduler(&world, &clock, bus, Duration::from_secs(5)).await;
    (world, clock, scheduler, rx, pids)
}

async fn run_now(scheduler: &Scheduler, job: &str) -> RunId {
    let (reply, answer) = tokio::sync::oneshot::channel();
    scheduler
        .commands()
        .send(Command::RunNow {
            job: job.into(),
            reply: Some(reply),
        })
        .await
        .unwrap();
    answer.await.unwrap().unwrap()
}

/// The pids the program wrote, leader first, once both are there.
async fn started(pids: &Path) -> Vec<i32> {
    let pids = pids.to_path_buf();
    tokio::task::spawn_blocking(move || written_pids(&pids, 2))
        .await
        .unwrap()
}

/// Wait off the runtime until the group is gone; how long it took.
async fn gone(pids: &[i32], limit: Duration) -> Duration {
    let pids = pids.to_vec();
    tokio::task::spawn_blocking(move || wait_group_gone(pids[0], &pids, limit))
        .await
        .unwrap()
}

async fn finished(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    run: RunId,
) -> (RunStatus, Option<String>) {
    wait_for(rx, "run finished", |e| match e {
        Event::RunFinished {
            run_id,
            status,
            error,
            ..
        } if *run_id == run => Some((*status, error.clone())),
        _ => None,
    })
    .await
}

async fn cancel(scheduler: &Scheduler, run_id: RunId) {
    let (reply, answer) = tokio::sync::oneshot::channel();
    scheduler
        .commands()
        .send(Command::Cancel {
            run_id,
            reply: Some(reply),
        })
        .await
        .unwrap();
    answer.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_program_stops_with_everything_it_started() {
    let (_world, clock, scheduler, mut rx, pids) =
        scheduler_with("forks", FORKS, "timeout = \"2s\"").await;
    let run = run_now(&scheduler, "forks").await;
    let pids = started(&pids).await;
    clock.advance(chrono::Duration::seconds(3));
    let (status, error) = finished(&mut rx, run).await;
    assert_eq!(status, RunStatus::Failed);
    let error = error.unwrap_or_default();
    assert!(error.starts_with("timeout: "), "{error}");
    // SIGTERM is enough for sh and sleep: they are gone before the grace.
    let took = gone(&pids, STOP_GRACE + Duration::from_secs(3)).await;
    assert!(took < STOP_GRACE, "gone only after {took:?}");
    scheduler.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_the_whole_group() {
    let (_world, _clock, scheduler, mut rx, pids) = scheduler_with("forks", FORKS, "").await;
    let run = run_now(&scheduler, "forks").await;
    let pids = started(&pids).await;
    cancel(&scheduler, run).await;
    let (status, _) = finished(&mut rx, run).await;
    assert_eq!(status, RunStatus::Cancelled);
    let took = gone(&pids, STOP_GRACE + Duration::from_secs(3)).await;
    assert!(took < STOP_GRACE, "gone only after {took:?}");
    scheduler.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_ignoring_sigterm_is_killed_after_the_grace() {
    let (_world, _clock, scheduler, mut rx, pids) =
        scheduler_with("deaf", FORKS_IGNORING_TERM, "").await;
    let run = run_now(&scheduler, "deaf").await;
    let pids = started(&pids).await;
    cancel(&scheduler, run).await;
    let (status, _) = finished(&mut rx, run).await;
    assert_eq!(status, RunStatus::Cancelled);
    let cancelled = Instant::now();
    // Halfway through the grace, SIGTERM has changed nothing...
    tokio::time::sleep(STOP_GRACE / 2).await;
    assert!(
        pids.iter().all(|&p| is_running(p)),
        "{pids:?} should still run: they ignore SIGTERM"
    );
    // ...and SIGKILL at its end takes the whole group.
    gone(&pids, STOP_GRACE + Duration::from_secs(3)).await;
    assert!(cancelled.elapsed() >= STOP_GRACE / 2);
    scheduler.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_exits_leaving_a_child_behind_succeeds_and_the_child_stops() {
    let script = r#"echo $$ > "$PIDS"; sleep 300 & echo $! >> "$PIDS"; echo a; echo 1"#;
    let (world, _clock, scheduler, mut rx, pids_file) = scheduler_with("leaves", script, "").await;
    let began = Instant::now();
    let run = run_now(&scheduler, "leaves").await;
    let (status, error) = finished(&mut rx, run).await;
    // The background sleep holds stdout open: the run ends because it is
    // stopped, not because of a timeout.
    assert_eq!(status, RunStatus::Succeeded, "{error:?}");
    assert!(began.elapsed() < STOP_GRACE, "{:?}", began.elapsed());
    let pids = written_pids(&pids_file, 2);
    gone(&pids, STOP_GRACE + Duration::from_secs(3)).await;
    scheduler.shutdown().await.unwrap();
    let record = world.store.get_run(run).await.unwrap().unwrap();
    assert_eq!(record.rows, Some(1), "{record:?}");
    let logs = world.store.run_logs(run, -1, 100).await.unwrap();
    assert!(
        logs.iter().any(|l| l
            .message
            .contains("exited but left 1 process(es) of its group running; stopping them")),
        "{logs:?}"
    );
}

#[test]
fn headless_shutdown_kills_a_group_that_ignores_sigterm_before_exiting() {
    let sandbox = Sandbox::new();
    let pids_file = sandbox.path().join("pids");
    sandbox.write_config(&format!(
        "{}[[jobs]]\n{}",
        config_header(),
        job("deaf", FORKS_IGNORING_TERM, &pids_file, "").replace("0 0 1 1 *", "* * * * * *")
    ));
    let mut headless = sandbox.headless(&["--grace", "1s"]);
    let pids = written_pids(&pids_file, 2);
    // Drain: the run gets 1s, is cancelled, its group gets SIGTERM (ignored)
    // and the grace, then SIGKILL; only then does the process exit.
    let status = headless.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status}\n{}", headless.transcript());
    assert_eq!(group_members(pids[0]), Vec::<i32>::new());
    assert!(
        pids.iter().all(|&p| !is_running(p)),
        "{pids:?}\n{}",
        headless.transcript()
    );
}
