//! kill -9 at random moments. Three headless instances share an
//! every-second job on one PostgreSQL store; every few seconds one of them,
//! chosen at random, is killed with SIGKILL and started again a moment later.
//! Afterwards every slot of the window has exactly one succeeded run (a
//! retry of a run whose instance died counts for its slot), one file, and
//! one run that delivered it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound as _, Utc};
use rand::Rng as _;

use crate::common::process::{Headless, PgDatabase, Sandbox, block_on, poll};
use crate::{one_at_a_time, stored_runs};
use cronport::store::{RunRecord, RunStatus, Store};

const JOB: &str = "chaos";
/// A second job, exclusive (overlap = queue_one): slots that meet its run
/// wait, and a newer one replaces a waiting one.
const EXCLUSIVE: &str = "chaos-queue-one";
/// How long instances are killed and restarted.
const CHAOS: Duration = Duration::from_secs(40);

fn config() -> String {
    format!(
        "[scheduler]\nspool_dir = \"spool\"\ndefault_timezone = \"UTC\"\n\n\
         [destinations.out]\nkind = \"local\"\nroot = \"exports\"\n\
         path = \"{{job}}/{{date:%H%M%S}}.{{ext}}\"\n\n\
         [[jobs]]\nname = \"{JOB}\"\nschedule = \"* * * * * *\"\n\
         overlap = \"allow\"\nretries = 3\ncatch_up = \"all\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"sleep 0.7; echo a,b; echo 1,2\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n\
         [[jobs]]\nname = \"{EXCLUSIVE}\"\nschedule = \"* * * * * *\"\n\
         overlap = \"queue_one\"\nretries = 3\ncatch_up = \"all\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"sleep 0.4; echo a,b; echo 1,2\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n"
    )
}

/// The slots from `first` to `last`, each second.
fn seconds(first: DateTime<Utc>, last: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut slots = Vec::new();
    let mut slot = first;
    while slot <= last {
        slots.push(slot);
        slot += chrono::Duration::seconds(1);
    }
    slots
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::Duration::seconds(1))
        .expect("truncate to the second")
}

/// Runs that stand for `slot`: its own, and retries of it.
fn of_slot(runs: &[RunRecord], slot: DateTime<Utc>) -> Vec<&RunRecord> {
    runs.iter()
        .filter(|r| r.job_name == JOB && r.scheduled_for == slot)
        .collect()
}

#[test]
fn kill_9_at_random_moments_loses_and_doubles_no_slot() {
    let _heavy = one_at_a_time();
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    sandbox.write_config(&config());
    sandbox.apply_config();

    let mut instances: Vec<Option<Headless>> =
        (0..3).map(|_| Some(sandbox.headless(&[]))).collect();
    for instance in instances.iter_mut().flatten() {
        instance.wait_for_line("scheduler started", Duration::from_secs(30));
    }
    let window_start = whole_second(Utc::now()) + chrono::Duration::seconds(1);
    let mut rng = rand::rng();
    let mut restarts: Vec<(usize, Instant)> = Vec::new();
    let mut kills = 0;
    let end = Instant::now() + CHAOS;
    let mut next_kill = Instant::now() + Duration::from_millis(rng.random_range(2_000..5_000));
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        let now = Instant::now();
        restarts.retain(|&(index, at)| {
            if at <= now {
                instances[index] = Some(sandbox.headless(&[]));
                false
            } else {
                true
            }
        });
        if now >= next_kill {
            let up: Vec<usize> = (0..instances.len())
                .filter(|i| instances[*i].is_some())
                .collect();
            // Always leave one running: with all three down, nothing runs
            // and the slots are caught up (catch_up = all) when one is back.
            if up.len() > 1 {
                let index = up[rng.random_range(0..up.len())];
                if let Some(mut victim) = instances[index].take() {
                    victim.kill9();
                    kills += 1;
                }
                let back = Duration::from_millis(rng.random_range(1_000..3_000));
                restarts.push((index, now + back));
            }
            next_kill = now + Duration::from_millis(rng.random_range(2_000..5_000));
        }
    }
    for (index, _) in restarts.drain(..) {
        instances[index] = Some(sandbox.headless(&[]));
    }
    let window_end = whole_second(Utc::now()) - chrono::Duration::seconds(1);
    let slots = seconds(window_start, window_end);

    // Runs of the dead instances are recovered (the pid is gone: at the
    // next heartbeat, 5 s) and retried; then every slot is done.
    let runs = poll(
        "every slot of the window to have a succeeded run",
        Duration::from_secs(90),
        || {
            let runs = stored_runs(&db.url);
            let done = |slot: &DateTime<Utc>| {
                of_slot(&runs, *slot)
                    .iter()
                    .any(|r| r.status == RunStatus::Succeeded)
                    && runs.iter().any(|r| {
                        r.job_name == EXCLUSIVE
                            && r.scheduled_for == *slot
                            && matches!(r.status, RunStatus::Succeeded | RunStatus::Skipped)
                    })
            };
            slots.iter().all(done).then_some(runs)
        },
    );
    for instance in instances.iter_mut().flatten() {
        let status = instance.terminate(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "{}", instance.transcript());
    }

    let mut per_slot = BTreeMap::new();
    for slot in &slots {
        let of = of_slot(&runs, *slot);
        let succeeded: Vec<i64> = of
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .map(|r| r.id)
            .collect();
        assert_eq!(
            succeeded.len(),
            1,
            "slot {slot}: runs {:#?}",
            of.iter()
                .map(|r| (r.id, r.trigger, r.status, r.retry_of, &r.error))
                .collect::<Vec<_>>()
        );
        per_slot.insert(*slot, of);
    }
    // No slot was delivered twice: one file per slot, whole, and at most one
    // run per slot that recorded a delivery.
    let folder = sandbox.exports().join(JOB);
    for slot in &slots {
        let file = folder.join(format!("{}.csv", slot.format("%H%M%S")));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("slot {slot}: {}: {e}", file.display()));
        assert_eq!(text, "a,b\r\n1,2\r\n", "slot {slot}");
    }
    let leftovers: Vec<String> = std::fs::read_dir(&folder)
        .expect("exports")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    let ids: Vec<i64> = per_slot.values().flatten().map(|r| r.id).collect();
    let deliveries = block_on(async {
        let store = Store::open(&db.url).await.expect("open store");
        let found = store.deliveries(&ids).await.expect("deliveries");
        store.close().await;
        found
    });
    for (slot, of) in &per_slot {
        let delivered: Vec<i64> = of
            .iter()
            .filter(|r| {
                deliveries
                    .get(&r.id)
                    .is_some_and(|d| d.iter().any(|d| d.status == "delivered"))
            })
            .map(|r| r.id)
            .collect();
        assert_eq!(
            delivered.len(),
            1,
            "slot {slot} delivered by runs {delivered:?}"
        );
    }
    // The exclusive job: each slot accounted for exactly once (run once, or
    // recorded as replaced in the queue), and never two runs at once on any
    // instances.
    let exclusive: Vec<&RunRecord> = runs.iter().filter(|r| r.job_name == EXCLUSIVE).collect();
    for slot in &slots {
        let ended: Vec<_> = exclusive
            .iter()
            .filter(|r| r.scheduled_for == *slot)
            .filter(|r| matches!(r.status, RunStatus::Succeeded | RunStatus::Skipped))
            .map(|r| (r.id, r.status, r.error.clone()))
            .collect();
        assert_eq!(ended.len(), 1, "{EXCLUSIVE} slot {slot}: {ended:?}");
    }
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>, i64)> = exclusive
        .iter()
        .filter(|r| r.status == RunStatus::Succeeded)
        .filter_map(|r| Some((r.started_at?, r.finished_at?, r.id)))
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "{EXCLUSIVE}: run {} started at {} while run {} ran until {}",
            pair[1].2,
            pair[1].0,
            pair[0].2,
            pair[0].1
        );
    }
    let interrupted = runs
        .iter()
        .filter(|r| r.status == RunStatus::Interrupted)
        .count();
    let retries = runs.iter().filter(|r| r.retry_of.is_some()).count();
    assert!(kills >= 7, "only {kills} kills in {CHAOS:?}");
    let replaced = exclusive
        .iter()
        .filter(|r| r.status == RunStatus::Skipped)
        .count();
    eprintln!(
        "{} slots, {kills} kills: {interrupted} run(s) interrupted, {retries} retried; \
         every slot ran once and was delivered once; {EXCLUSIVE}: {replaced} slot(s) replaced \
         in the queue, no two runs at once",
        slots.len()
    );
}
