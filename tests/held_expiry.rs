//! A held run expires: under the scheduler, in virtual time, a run whose
//! output fails a check is held; once its `hold_for` has passed the
//! maintenance pass discards it ("hold expired") and removes its kept
//! file, and nothing is delivered. On SQLite and on PostgreSQL; on
//! PostgreSQL two schedulers share the store and the run is discarded
//! once.

mod common;

use chrono::{DateTime, Duration, DurationRound as _, Timelike as _, Utc};
use common::process::PgDatabase;
use common::{World, bus, wait_for};
use cronport::clock::VirtualClock;
use cronport::events::Event;
use cronport::store::{RunFilter, RunStatus, Store};

/// `s m h * * *` for the instant `at` (UTC): one slot a day.
fn daily_at(at: DateTime<Utc>) -> String {
    format!("{} {} {} * * *", at.second(), at.minute(), at.hour())
}

async fn a_held_run_expires(pg: Option<String>) {
    let mut world = World::new("").await;
    if let Some(url) = &pg {
        world.store = Store::open(url).await.expect("the PostgreSQL store");
    }
    let data = world.dir.path().join("orders.csv");
    std::fs::write(&data, "id\n1\n").unwrap();
    let start = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    // Closer to the start than `STALE_AFTER`: both instances heartbeat at
    // `start`, and a jump past it would let one instance's recovery pass,
    // woken at the slot before the other's heartbeat, see the other as dead
    // and interrupt the run it has just started.
    let slot = start + Duration::seconds(5);
    world
        .add_job(&format!(
            r#"name = "orders"
schedule = "{}"
timezone = "UTC"
checks = {{ min_rows = 5 }}
hold_for = "1h"
source = {{ kind = "command", argv = ["cat", {:?}] }}
format = {{ kind = "csv" }}
destinations = ["out"]
retries = 0"#,
            daily_at(slot),
            data.display().to_string()
        ))
        .await;
    let clock = VirtualClock::new(start);
    let (bus_a, mut rx) = bus();
    let grace = std::time::Duration::from_secs(5);
    let first = common::start_scheduler(&world, &clock, bus_a.clone(), grace).await;
    // With PostgreSQL, a second instance on the same store (whichever takes
    // the slot, its events come here too) races the first to expire the
    // hold.
    let second = match pg {
        Some(_) => Some(common::start_scheduler(&world, &clock, bus_a, grace).await),
        None => None,
    };
    clock.set(slot);
    let (run_id, status) = wait_for(&mut rx, "the run held", |e| match e {
        Event::RunFinished { run_id, status, .. } => Some((*run_id, *status)),
        _ => None,
    })
    .await;
    assert_eq!(status, RunStatus::Held);
    // The event comes as the run's end is queued for the store's next
    // commit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let held = loop {
        let run = world.store.get_run(run_id).await.unwrap().unwrap();
        if run.status == RunStatus::Held {
            break run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not recorded held: {run:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(held.failed_check.as_deref(), Some("min_rows"));
    let until = held.held_until.expect("a hold");
    assert_eq!(
        until.with_nanosecond(0),
        (slot + Duration::hours(1)).with_nanosecond(0)
    );
    let kept = || {
        common::files_under(&world.spool())
            .into_iter()
            .any(|p| p.ends_with(format!("kept/run-{run_id}.csv")))
    };
    assert!(kept(), "the held output is kept");

    // Not yet: a minute before the hold ends it is still held.
    clock.set(until - Duration::minutes(1));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let still = world.store.get_run(run_id).await.unwrap().unwrap();
    assert_eq!(still.status, RunStatus::Held);

    clock.set(until + Duration::seconds(10));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let discarded = loop {
        let run = world.store.get_run(run_id).await.unwrap().unwrap();
        if run.status != RunStatus::Held {
            break run;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hold did not expire"
        );
        // The maintenance pass wakes every five (virtual) seconds.
        clock.advance(Duration::seconds(5));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(discarded.status, RunStatus::Discarded);
    assert_eq!(
        discarded.error.as_deref(),
        Some("hold expired (held: min_rows: 1 row, fewer than the minimum of 5)")
    );
    assert!(!kept(), "the expired output is removed");
    assert!(
        common::files_under(&world.exports()).is_empty(),
        "nothing was delivered"
    );
    if let Some(second) = second {
        second.shutdown().await.unwrap();
    }
    first.shutdown().await.unwrap();
    // One run, discarded once, no other run of the job.
    let runs = world
        .store
        .list_runs(&RunFilter {
            job: Some("orders".into()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_run_expires_on_sqlite() {
    a_held_run_expires(None).await;
}

#[test]
fn a_held_run_expires_once_on_postgres_with_two_instances() {
    let db = PgDatabase::create();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(a_held_run_expires(Some(db.url.clone())));
}
