//! Headless instances of the real binary on one PostgreSQL store (a fresh
//! database on the local server, dropped afterwards): two share an
//! every-second job for 20 s and run every slot exactly once; a slow job's
//! overlap policy holds across them; three share a few hundred real jobs
//! (`sharing`); and three survive kill -9 at random moments without losing
//! or doubling a slot (`chaos`).

#[path = "../common/mod.rs"]
mod common;

mod chaos;
mod sharing;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound as _, Utc};
use common::process::{PgDatabase, Sandbox, config_header, poll, text};

const JOB: &str = "shared";

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// Run ids an instance's log shows it executing (`shared#ID: ...`).
fn executed_run_ids(lines: &[String]) -> BTreeSet<i64> {
    let marker = format!("{JOB}#");
    lines
        .iter()
        .filter_map(|line| {
            let rest = &line[line.find(&marker)? + marker.len()..];
            rest.split(':').next()?.parse().ok()
        })
        .collect()
}

#[test]
fn two_instances_on_postgres_run_every_slot_exactly_once() {
    let _heavy = one_at_a_time();
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"{JOB}\"\nschedule = \"* * * * * *\"\noverlap = \"allow\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();

    let mut a = sandbox.headless(&[]);
    let mut b = sandbox.headless(&[]);
    a.wait_for_line("scheduler started", Duration::from_secs(20));
    b.wait_for_line("scheduler started", Duration::from_secs(20));
    // Both instances are up: from the next whole second on, every slot must
    // be in the store exactly once.
    let window_start = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap()
        + chrono::Duration::seconds(1);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        a.assert_running();
        b.assert_running();
        std::thread::sleep(Duration::from_millis(250));
    }
    let window_end = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap()
        - chrono::Duration::seconds(1);
    // Let the slots of the window finish before stopping.
    poll(
        "the window's runs to finish",
        Duration::from_secs(15),
        || {
            let runs = sandbox.runs();
            runs.iter()
                .filter(|r| r["job"] == JOB)
                .filter(|r| instant(text(r, "scheduled_for")) <= window_end)
                .all(|r| r["status"] != "running" && r["status"] != "queued")
                .then_some(())
        },
    );
    let status_a = a.terminate(Duration::from_secs(20));
    let status_b = b.terminate(Duration::from_secs(20));
    assert_eq!(status_a.code(), Some(0), "instance A\n{}", a.transcript());
    assert_eq!(status_b.code(), Some(0), "instance B\n{}", b.transcript());

    let runs = sandbox.runs();
    let scheduled: Vec<&serde_json::Value> = runs
        .iter()
        .filter(|r| r["job"] == JOB && r["trigger"] == "schedule" && r["status"] != "skipped")
        .collect();
    // Exactly once: no slot has two runs, over the whole test.
    let mut per_slot: BTreeMap<DateTime<Utc>, Vec<i64>> = BTreeMap::new();
    for run in &scheduled {
        per_slot
            .entry(instant(text(run, "scheduled_for")))
            .or_default()
            .push(run["id"].as_i64().unwrap());
    }
    let doubled: Vec<_> = per_slot.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(doubled.is_empty(), "slots run more than once: {doubled:?}");
    // No gaps: every second of the window has its run, and it succeeded.
    let mut missing = Vec::new();
    let mut slot = window_start;
    while slot <= window_end {
        if !per_slot.contains_key(&slot) {
            missing.push(slot);
        }
        slot += chrono::Duration::seconds(1);
    }
    let seconds = (window_end - window_start).num_seconds() + 1;
    assert!(
        seconds >= 15,
        "window too short: {window_start} .. {window_end}"
    );
    assert!(
        missing.is_empty(),
        "{} of {seconds} slots between {window_start} and {window_end} never ran: {missing:?}",
        missing.len()
    );
    let failed: Vec<_> = scheduled
        .iter()
        .filter(|r| r["status"] != "succeeded")
        .collect();
    assert!(failed.is_empty(), "runs that did not succeed: {failed:#?}");
    // Nothing is left behind in the store.
    let stuck: Vec<_> = runs
        .iter()
        .filter(|r| r["status"] == "running" || r["status"] == "queued")
        .collect();
    assert!(stuck.is_empty(), "{stuck:#?}");

    // No run was executed by both instances; report the split.
    let by_a = executed_run_ids(&a.stdout());
    let by_b = executed_run_ids(&b.stdout());
    let both: Vec<_> = by_a.intersection(&by_b).collect();
    assert!(both.is_empty(), "runs executed by both instances: {both:?}");
    let stored: BTreeSet<i64> = scheduled.iter().filter_map(|r| r["id"].as_i64()).collect();
    let executed: BTreeSet<i64> = by_a.union(&by_b).copied().collect();
    assert!(
        stored.is_subset(&executed),
        "stored runs no instance logged: {:?}",
        stored.difference(&executed).collect::<Vec<_>>()
    );
    eprintln!(
        "{seconds} slots in the window; instance A ran {} run(s), instance B {}",
        by_a.len(),
        by_b.len()
    );
}

/// Overlap holds across instances: with `skip`, a slow job's next slots are
/// skipped while either instance runs it, never started beside it on the
/// other one.
#[test]
fn two_instances_on_postgres_keep_a_slow_jobs_overlap_policy() {
    let _heavy = one_at_a_time();
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"{JOB}\"\nschedule = \"* * * * * *\"\noverlap = \"skip\"\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"sleep 2.5; printf 'n\\\\n1\\\\n'\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();

    let mut a = sandbox.headless(&[]);
    let mut b = sandbox.headless(&[]);
    a.wait_for_line("scheduler started", Duration::from_secs(20));
    b.wait_for_line("scheduler started", Duration::from_secs(20));
    let end = Instant::now() + Duration::from_secs(12);
    while Instant::now() < end {
        a.assert_running();
        b.assert_running();
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(a.terminate(Duration::from_secs(20)).code(), Some(0));
    assert_eq!(b.terminate(Duration::from_secs(20)).code(), Some(0));

    let runs = sandbox.runs();
    let mut ran: Vec<(DateTime<Utc>, DateTime<Utc>, i64)> = runs
        .iter()
        .filter(|r| r["job"] == JOB && r["status"] == "succeeded")
        .map(|r| {
            (
                instant(text(r, "started_at")),
                instant(text(r, "finished_at")),
                r["id"].as_i64().unwrap(),
            )
        })
        .collect();
    ran.sort();
    assert!(ran.len() >= 2, "too few runs to compare: {runs:#?}");
    for pair in ran.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "run {} started at {} while run {} ran until {}",
            pair[1].2,
            pair[1].0,
            pair[0].2,
            pair[0].1
        );
    }
    let skipped = runs
        .iter()
        .filter(|r| r["job"] == JOB && r["status"] == "skipped")
        .count();
    assert!(skipped > 0, "no slot was skipped: {runs:#?}");
}

/// The tests here start several instances each: one at a time, or they
/// starve each other of the machine's two cores.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Every run in the store, read through the library (thousands of runs:
/// faster than `runs list --json`).
pub fn stored_runs(url: &str) -> Vec<cronport::store::RunRecord> {
    common::process::block_on(async {
        let store = cronport::store::Store::open(url).await.expect("open store");
        let runs = store
            .list_runs(&cronport::store::RunFilter {
                limit: 10_000_000,
                ..cronport::store::RunFilter::default()
            })
            .await
            .expect("list runs");
        store.close().await;
        runs
    })
}
