//! Three instances share the work: a few hundred every-second jobs with the
//! real pipeline (an sql source on a small SQLite file, csv, a local folder)
//! on one PostgreSQL store. Every slot runs, once, and each instance runs
//! between 20% and 45% of them. (How fast is the benchmark's business:
//! `cargo bench --bench scheduler`; the latency printed here is for the
//! reader, not asserted.)

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, DurationRound as _, Utc};

use crate::common::process::{PgDatabase, Sandbox, poll, sqlite_script};
use crate::{one_at_a_time, stored_runs};
use cronport::store::RunStatus;

const JOBS: usize = 200;
const WINDOW: Duration = Duration::from_secs(15);

fn config(data: &std::path::Path) -> String {
    let mut text = format!(
        "[scheduler]\nspool_dir = \"spool\"\ndefault_timezone = \"UTC\"\n\
         max_concurrent_runs = 128\n\n\
         [sources.small]\nurl = \"sqlite://{}\"\n\n\
         [destinations.out]\nkind = \"local\"\nroot = \"exports\"\n\
         path = \"{{job}}/{{date:%H%M%S}}.{{ext}}\"\n\n",
        data.display()
    );
    for i in 0..JOBS {
        text.push_str(&format!(
            "[[jobs]]\nname = \"job-{i:03}\"\nschedule = \"* * * * * *\"\n\
             source = {{ kind = \"sql\", connection = \"small\", \
             query = \"select id, name from items where id <= 3 order by id\" }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
        ));
    }
    text
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::Duration::seconds(1))
        .expect("truncate to the second")
}

#[test]
fn three_instances_each_run_a_share_of_every_second_real_jobs() {
    let _heavy = one_at_a_time();
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    let data = sandbox.path().join("small.db");
    sqlite_script(
        &data,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\
         INSERT INTO items (name) VALUES ('apple'), ('pear'), ('plum'), ('fig');",
    );
    sandbox.write_config(&config(&data));
    sandbox.apply_config();

    let mut instances: Vec<_> = (0..3).map(|_| sandbox.headless(&[])).collect();
    for instance in &mut instances {
        instance.wait_for_line("scheduler started", Duration::from_secs(30));
    }
    // Each instance learns of the others at its next heartbeat (5 s).
    std::thread::sleep(Duration::from_secs(6));
    let window_start = whole_second(Utc::now()) + chrono::Duration::seconds(1);
    std::thread::sleep(WINDOW);
    for instance in &mut instances {
        instance.assert_running();
    }
    let window_end = whole_second(Utc::now()) - chrono::Duration::seconds(1);
    let in_window = |slot: DateTime<Utc>| slot >= window_start && slot <= window_end;
    let seconds = (window_end - window_start).num_seconds() + 1;
    let expected = JOBS * usize::try_from(seconds).expect("seconds");
    let runs = poll("the window's runs to end", Duration::from_secs(60), || {
        let runs = stored_runs(&db.url);
        let done = runs
            .iter()
            .filter(|r| r.slot.is_some_and(in_window) && r.status.is_final())
            .count();
        (done >= expected).then_some(runs)
    });
    for instance in &mut instances {
        let status = instance.terminate(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "{}", instance.transcript());
    }

    let window: Vec<_> = runs
        .iter()
        .filter(|r| r.slot.is_some_and(in_window))
        .collect();
    let mut slots = HashSet::new();
    for run in &window {
        assert!(
            slots.insert((run.job_id, run.slot)),
            "slot {:?} of {} has two runs",
            run.slot,
            run.job_name
        );
    }
    let not_succeeded: Vec<_> = window
        .iter()
        .filter(|r| r.status != RunStatus::Succeeded)
        .map(|r| (r.id, &r.job_name, r.status, &r.error))
        .collect();
    assert!(
        not_succeeded.is_empty(),
        "{} of {expected} slots did not succeed, e.g. {:?}",
        not_succeeded.len(),
        &not_succeeded[..not_succeeded.len().min(5)]
    );
    assert_eq!(window.len(), expected, "every slot of every job runs");

    let mut shares: BTreeMap<String, usize> = BTreeMap::new();
    for run in &window {
        *shares
            .entry(run.instance_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let mut latencies: Vec<i64> = window
        .iter()
        .filter_map(|r| Some((r.started_at? - r.scheduled_for).num_milliseconds()))
        .collect();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{expected} slots over {seconds} s; runs per instance {:?}; start latency p50 {} ms, p99 {} ms, max {} ms",
        shares.values().collect::<Vec<_>>(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    assert_eq!(shares.len(), 3, "three instances ran runs: {shares:?}");
    for (instance, count) in &shares {
        let share = *count as f64 / expected as f64;
        assert!(
            (0.20..=0.45).contains(&share),
            "{instance} ran {:.0}% of the runs: {shares:?}",
            share * 100.0
        );
    }
}
