//! Scheduler benchmark (issue 2): prints figures, asserts nothing about speed.
//!
//! `cargo bench --bench scheduler` builds in release and prints, with the
//! machine context:
//! 1. time to load and plan 100,000 jobs from a SQLite store, and the memory
//!    it takes;
//! 2. CPU while idle with those 100,000 jobs, none due for an hour;
//! 3. fire latency and the share of slots executed with 1,000 and 10,000
//!    every-second jobs over 30 s, every run recorded in SQLite, with a
//!    NO-OP executor: the scheduler and the store alone. Real exports are
//!    measured by `cargo bench --bench engine`, whose figures are the
//!    headline;
//! 4. next-fire computations per second; 4b. the same with a job's rules
//!    (a calendar of 1,000 excluded dates and a blackout);
//! 5. runs recorded per second through the store in batches.
//!
//! Each figure is measured `CRONPORT_BENCH_ROUNDS` times (default 2): the
//! machine is shared, so one number alone says little. Phases that measure
//! process memory or CPU run in a fresh child process (this same binary,
//! told its role by an environment variable), so the setup's heap and
//! threads do not blur them. `CRONPORT_BENCH_ONLY=load,idle,fire,next,rules,record`
//! picks sections.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound as _, Timelike as _, Utc};
use cronport::clock::SystemClock;
use cronport::config::Config;
use cronport::job::{Job, JobSpec};
use cronport::schedule::{Schedule, Tz};
use cronport::scheduler::{Parts, Scheduler};
use cronport::store::{JobDefinition, NewRun, RunStatus, RunWrite, Store, Trigger};

/// The child's role; unset in the parent.
const ROLE: &str = "CRONPORT_BENCH_ROLE";
/// Jobs for the `fire` child.
const JOBS: &str = "CRONPORT_BENCH_JOBS";
/// Store file for the `load` child.
const STORE: &str = "CRONPORT_BENCH_STORE";

const LOAD_JOBS: usize = 100_000;
const IDLE_SECONDS: u64 = 20;
const FIRE_SECONDS: i64 = 30;
/// Slots before the window are warm-up: the first second also fires the
/// slots that passed while the jobs were being created.
const WARM_UP_SECONDS: i64 = 2;
const MAX_CONCURRENT_RUNS: usize = 10_000;

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("load") => runtime().block_on(child_load()),
        Ok("fire") => runtime().block_on(child_fire()),
        _ => parent(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    // The default multi-thread runtime, as `#[tokio::main]` in the binary.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn rounds() -> usize {
    std::env::var("CRONPORT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

fn wanted(section: &str) -> bool {
    match std::env::var("CRONPORT_BENCH_ONLY") {
        Ok(list) => list.split(',').any(|s| s.trim() == section),
        Err(_) => true,
    }
}

fn parent() {
    print_machine();
    let rounds = rounds();
    if wanted("load") || wanted("idle") {
        section_load(rounds);
    }
    if wanted("fire") {
        for jobs in [1_000, 10_000] {
            println!();
            println!(
                "== 3. NO-OP EXECUTOR (the scheduler and store alone; real exports: \
                 `cargo bench --bench engine`): fire latency, {jobs} jobs `* * * * * *` for \
                 {FIRE_SECONDS} s (SystemClock, SQLite file store, max_concurrent_runs = \
                 {MAX_CONCURRENT_RUNS}, run logs captured as in production) =="
            );
            for round in 1..=rounds {
                println!("-- round {round}/{rounds} ({})", common::loadavg());
                spawn_child("fire", &[(JOBS, jobs.to_string())]);
            }
        }
    }
    if wanted("next") {
        section_next(rounds);
    }
    if wanted("rules") {
        section_rules(rounds);
    }
    if wanted("record") {
        runtime().block_on(section_record(rounds));
    }
}

fn print_machine() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("cronport scheduler benchmark (release build, not a timed test)");
    println!("{}", common::machine());
    println!(
        "tokio: multi-thread runtime, {cores} workers; store: SQLite file (WAL, synchronous=NORMAL)"
    );
}

fn spawn_child(role: &str, env: &[(&str, String)]) {
    let exe = std::env::current_exe().expect("own path");
    let mut cmd = std::process::Command::new(exe);
    cmd.env(ROLE, role);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().expect("spawn the benchmark child");
    if !status.success() {
        println!("   (child {role} failed: {status})");
    }
}

// ---------------------------------------------------------------- helpers

/// A config with one local destination and room for every run at once.
fn config(dir: &Path) -> Config {
    let text = format!(
        "[scheduler]\nmax_concurrent_runs = {MAX_CONCURRENT_RUNS}\nspool_dir = \"spool\"\n\n\
         [destinations.out]\nkind = \"local\"\nroot = \"exports\"\npath = \"{{job}}/{{run_id}}.{{ext}}\"\n"
    );
    Config::parse(&text, dir).expect("bench config")
}

/// A valid job spec to copy: a command source that never runs here.
fn template(config: &Config) -> JobSpec {
    let text = "[[jobs]]\nname = \"template\"\nschedule = \"* * * * *\"\n\
                source = { kind = \"command\", argv = [\"true\"] }\n\
                format = { kind = \"csv\" }\ndestinations = [\"out\"]\n";
    let jobs = config
        .check_jobs(
            toml::from_str::<JobsFile>(text)
                .expect("template toml")
                .jobs,
        )
        .expect("template job");
    jobs.into_iter().next().expect("one job").spec
}

#[derive(serde::Deserialize)]
struct JobsFile {
    jobs: Vec<JobSpec>,
}

/// Definitions as `cronport apply` stores them; `schedule(i)` gives job i's.
fn definitions(
    config: &Config,
    count: usize,
    schedule: impl Fn(usize) -> String,
) -> Vec<JobDefinition> {
    let template = template(config);
    let mut parsed: HashMap<String, Schedule> = HashMap::new();
    (0..count)
        .map(|i| {
            let text = schedule(i);
            let parsed = parsed
                .entry(text.clone())
                .or_insert_with(|| Schedule::parse(&text, chrono_tz::UTC).expect("schedule"));
            let mut spec = template.clone();
            spec.name = format!("job-{i:06}");
            spec.schedule = text.clone();
            spec.timezone = Some("UTC".into());
            JobDefinition {
                name: spec.name.clone(),
                schedule: text,
                cron: parsed.cron().to_string(),
                timezone: "UTC".into(),
                definition: serde_json::to_string(&spec).expect("spec json"),
            }
        })
        .collect()
}

fn parts(store: &Store, config: Config, bus: cronport::events::EventBus) -> Parts {
    Parts {
        store: store.clone(),
        config: Arc::new(config),
        clock: Arc::new(SystemClock),
        executor: Arc::new(common::Instantly),
        bus,
        grace: Duration::from_secs(30),
    }
}

/// User plus system CPU time of this process so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

// ------------------------------------------------------- 1 + 2: load, idle

fn section_load(rounds: usize) {
    println!();
    println!("== 1. load and plan {LOAD_JOBS} jobs; 2. idle CPU with them ==");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let rt = runtime();
    rt.block_on(async {
        let store = Store::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("store");
        let config = config(dir.path());
        // Every job fires once a day at a minute of the hour that starts at
        // least an hour from now: none is due during the idle measurement.
        let hour = (Utc::now() + chrono::Duration::hours(2)).hour();
        let defs = definitions(&config, LOAD_JOBS, |i| {
            if i % 2 == 0 {
                format!("{} {hour} * * *", i % 60)
            } else {
                format!("daily at {hour:02}:{:02}", i % 60)
            }
        });
        let t = Instant::now();
        store.apply_jobs(&defs, false).await.expect("apply");
        println!(
            "setup: stored {LOAD_JOBS} jobs (half cron `M {hour} * * *`, half preset `daily at {hour:02}:MM`, UTC) \
             with apply_jobs in {:.0} ms (not part of the figures)",
            ms(t.elapsed())
        );
        store.close().await;
    });
    drop(rt);
    for round in 1..=rounds {
        println!("-- round {round}/{rounds} ({})", common::loadavg());
        spawn_child("load", &[(STORE, path.display().to_string())]);
    }
}

async fn child_load() {
    cronport::logging::init();
    let path = std::env::var(STORE).expect("store path");
    let dir = Path::new(&path)
        .parent()
        .expect("store folder")
        .to_path_buf();
    let store = Store::open(&format!("sqlite://{path}"))
        .await
        .expect("store");
    let bus = cronport::events::bus();
    let (base_rss, _) = common::rss_kb();
    let machine = common::machine_time();
    let t = Instant::now();
    let scheduler = Scheduler::start(parts(&store, config(&dir), bus.clone()))
        .await
        .expect("start");
    let load = t.elapsed();
    let (rss, hwm) = common::rss_kb();
    println!(
        "   1. Scheduler::start with {LOAD_JOBS} jobs (list, parse, validate, plan): {:.0} ms; \
         memory after planning: {:.1} MB RSS above the {:.1} MB baseline (peak {:.1} MB above)",
        ms(load),
        (rss.saturating_sub(base_rss)) as f64 / 1024.0,
        base_rss as f64 / 1024.0,
        (hwm.saturating_sub(base_rss)) as f64 / 1024.0,
    );
    println!("      {}", common::machine_since(machine));
    // Let the first store poll and heartbeat pass before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu0 = cpu_time();
    let machine = common::machine_time();
    let wall0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(IDLE_SECONDS)).await;
    let cpu = cpu_time() - cpu0;
    let wall = wall0.elapsed();
    println!(
        "   2. idle for {:.1} s with {LOAD_JOBS} jobs planned, none due within an hour: \
         {:.1} ms of CPU = {:.3}% of one core (process getrusage user+sys; \
         the scheduler still polls the store for edits every 1 s, heartbeats every 5 s)",
        wall.as_secs_f64(),
        ms(cpu),
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
    );
    println!("      {}", common::machine_since(machine));
    scheduler.shutdown().await.expect("shutdown");

    // Where the load time goes, each step timed on its own after the fact.
    let t = Instant::now();
    let records = store.list_jobs().await.expect("list");
    let list = t.elapsed();
    let config = config(&dir);
    let known = config.known();
    let t = Instant::now();
    let jobs: Vec<Job> = records
        .iter()
        .map(|r| {
            serde_json::from_str::<JobSpec>(&r.definition)
                .expect("definition")
                .validate(&known)
                .expect("valid")
        })
        .collect();
    let check = t.elapsed();
    let t = Instant::now();
    let mut planner = cronport::scheduler::plan::Planner::new();
    let now = Utc::now();
    for (record, job) in records.iter().zip(jobs) {
        planner.set_job(record.id, Arc::new(job), false, now);
    }
    let plan = t.elapsed();
    let t = Instant::now();
    let slots = store.last_slots(false).await.expect("last slots");
    let last = t.elapsed();
    println!(
        "      breakdown (timed separately): list_jobs {:.0} ms, last_slots {:.0} ms ({} rows), \
         parse + validate {:.0} ms, planner {:.0} ms",
        ms(list),
        ms(last),
        slots.len(),
        ms(check),
        ms(plan)
    );
    store.close().await;
}

// ------------------------------------------------------------- 3: firing

/// job_id, status, scheduled_for, started_at, finished_at of a run.
type RunRow = (i64, String, i64, Option<i64>, Option<i64>);

async fn child_fire() {
    cronport::logging::init();
    let jobs: usize = std::env::var(JOBS)
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("job count");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("store");
    let config = config(dir.path());
    let defs = definitions(&config, jobs, |_| "* * * * * *".into());
    store.apply_jobs(&defs, false).await.expect("apply");

    let bus = cronport::events::bus();
    // A subscriber like the console's, so events are consumed as in use.
    let events = Arc::new(AtomicU64::new(0));
    let lagged = Arc::new(AtomicU64::new(0));
    let mut rx = bus.subscribe();
    let (ev, lg) = (events.clone(), lagged.clone());
    let listener = tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(_) => {
                    ev.fetch_add(1, Ordering::Relaxed);
                }
                Err(RecvError::Lagged(n)) => {
                    lg.fetch_add(n, Ordering::Relaxed);
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    let t = Instant::now();
    let scheduler = Scheduler::start(parts(&store, config, bus.clone()))
        .await
        .expect("start");
    let start = t.elapsed();
    let first = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .expect("truncate")
        + chrono::Duration::seconds(1 + WARM_UP_SECONDS);
    let end = first + chrono::Duration::seconds(FIRE_SECONDS);
    let sleep_until =
        |at: DateTime<Utc>| tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default());
    sleep_until(first).await;
    let machine = common::machine_time();
    let cpu0 = cpu_time();
    let wall0 = Instant::now();
    sleep_until(end).await;
    let cpu = cpu_time() - cpu0;
    let wall = wall0.elapsed();
    let machine = common::machine_since(machine);
    // The last slot's runs finish and are recorded during the drain.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    scheduler.shutdown().await.expect("shutdown");
    let drain = t.elapsed();
    drop(bus);
    let _ = listener.await;
    store.close().await;

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("read the store");
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT job_id, status, scheduled_for, started_at, finished_at FROM runs \
         WHERE slot >= ?1 AND slot < ?2",
    )
    .bind(first.timestamp_millis())
    .bind(end.timestamp_millis())
    .fetch_all(&pool)
    .await
    .expect("runs");
    let log_lines: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM run_logs")
        .fetch_one(&pool)
        .await
        .expect("logs");
    pool.close().await;

    let expected = jobs as i64 * FIRE_SECONDS;
    let mut per_job: HashMap<i64, i64> = HashMap::new();
    let mut statuses: HashMap<String, i64> = HashMap::new();
    let mut latencies = Vec::with_capacity(rows.len());
    for (job, status, scheduled, started, finished) in &rows {
        *statuses.entry(status.clone()).or_default() += 1;
        if status == RunStatus::Succeeded.as_str()
            && let (Some(started), Some(_)) = (started, finished)
        {
            *per_job.entry(*job).or_default() += 1;
            latencies.push(started - scheduled);
        }
    }
    latencies.sort_unstable();
    let executed = latencies.len() as i64;
    let min_per_job = if per_job.len() < jobs {
        0
    } else {
        per_job.values().copied().min().unwrap_or(0)
    };
    let mut statuses: Vec<_> = statuses.into_iter().collect();
    statuses.sort();
    let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!(
        "   latency (started_at - scheduled_for, ms, from the store): p50 {} / p99 {} / max {}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
    );
    println!(
        "   slots executed and recorded as succeeded: {executed} of {expected} = {:.2}% \
         (runs per job: min {min_per_job}, max {}, expected {FIRE_SECONDS}); \
         runs in the window by status: {}",
        executed as f64 / expected as f64 * 100.0,
        per_job.values().copied().max().unwrap_or(0),
        statuses.join(", "),
    );
    println!(
        "   process CPU during the window: {:.0}% of one core; Scheduler::start {:.0} ms; \
         drain {:.0} ms; {} events published ({} lagged); {} run log lines stored",
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        ms(start),
        ms(drain),
        events.load(Ordering::Relaxed),
        lagged.load(Ordering::Relaxed),
        log_lines,
    );
    println!("   {machine}");
}

// ------------------------------------------------------ 4: next-fire speed

fn section_next(rounds: usize) {
    println!();
    println!("== 4. next-fire computations per second (Schedule::next_after, one thread) ==");
    let cases: [(&str, &str); 6] = [
        ("* * * * * *", "UTC"),
        ("*/5 * * * *", "UTC"),
        ("0 9 * * 1-5", "America/New_York"),
        ("30 2 * * *", "Europe/London"),
        ("daily at 02:30", "Australia/Lord_Howe"),
        ("0 0 29 2 *", "UTC"),
    ];
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("start");
    for (text, zone) in cases {
        let tz: Tz = zone.parse().expect("zone");
        let schedule = Schedule::parse(text, tz).expect("schedule");
        let mut figures = Vec::new();
        for _ in 0..rounds {
            // Chain fire to fire for about half a second.
            let mut calls = 0u64;
            let mut at = start;
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(500) {
                for _ in 0..100 {
                    at = match schedule.next_after(at) {
                        Some(next) => next,
                        None => start,
                    };
                    calls += 1;
                }
            }
            std::hint::black_box(at);
            figures.push(format!(
                "{:.2} M/s",
                calls as f64 / t.elapsed().as_secs_f64() / 1e6
            ));
        }
        println!(
            "   `{text}` in {zone}: {} ({})",
            figures.join(", "),
            common::loadavg()
        );
    }
}

/// Section 4b: the next fire that runs with a job's rules (a calendar of
/// 1,000 excluded dates and a blackout), beside the plain schedule.
fn section_rules(rounds: usize) {
    println!();
    println!(
        "== 4b. next-fire computations per second with rules: a calendar of 1,000 excluded \
         dates (business days mon-fri) and a blackout, Job::next_run vs Schedule::next_after, one thread =="
    );
    // 1,000 dates, every third day from 2026 on (a third of them weekends,
    // which mon-fri excludes anyway): far more holidays than any real calendar.
    let first: chrono::NaiveDate = "2026-01-02".parse().expect("date");
    let dates: Vec<String> = (0..1000)
        .map(|i| format!("\"{}\"", first + chrono::Duration::days(i * 3)))
        .collect();
    let cases: [(&str, &str, &str); 3] = [
        ("*/5 * * * *", "UTC", "skip"),
        ("0 9 * * *", "America/New_York", "next_business_day"),
        ("30 2 * * *", "Europe/London", "skip"),
    ];
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("start");
    for (text, zone, on_excluded) in cases {
        let config = format!(
            "[calendars.big]\nexclude = [{}]\nbusiness_days = \"mon-fri\"\n\n\
             [destinations.out]\nkind = \"local\"\nroot = \"exports\"\npath = \"{{job}}.{{ext}}\"\n\n\
             [[jobs]]\nname = \"ruled\"\nschedule = \"{text}\"\ntimezone = \"{zone}\"\n\
             source = {{ kind = \"command\", argv = [\"true\"] }}\nformat = {{ kind = \"csv\" }}\n\
             destinations = [\"out\"]\ncalendar = \"big\"\non_excluded = \"{on_excluded}\"\n\
             blackout = [\"wed 12:00-13:00\"]\n",
            dates.join(", ")
        );
        let config = Config::parse(&config, Path::new(".")).expect("config with rules");
        let job = &config.jobs[0];
        let mut plain_figures = Vec::new();
        let mut ruled_figures = Vec::new();
        let mut ratios = Vec::new();
        for _ in 0..rounds {
            let plain = rate(start, |at| job.schedule.next_after(at));
            let ruled = rate(start, |at| job.next_run(at).map(|f| f.slot));
            plain_figures.push(format!("{:.2} M/s", plain / 1e6));
            ruled_figures.push(format!("{:.2} M/s", ruled / 1e6));
            ratios.push(format!("{:.2}x", plain / ruled));
        }
        println!(
            "   `{text}` in {zone}, on_excluded = {on_excluded}: plain {}; with the rules {} \
             (slower by {}; goal: within 2x) ({})",
            plain_figures.join(", "),
            ruled_figures.join(", "),
            ratios.join(", "),
            common::loadavg()
        );
    }
}

/// Calls per second of `next`, chained from `start` for about half a second.
fn rate(start: DateTime<Utc>, next: impl Fn(DateTime<Utc>) -> Option<DateTime<Utc>>) -> f64 {
    let mut calls = 0u64;
    let mut at = start;
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(500) {
        for _ in 0..100 {
            at = next(at).unwrap_or(start);
            calls += 1;
        }
    }
    std::hint::black_box(at);
    calls as f64 / t.elapsed().as_secs_f64()
}

// ------------------------------------------------------- 5: runs recorded

async fn section_record(rounds: usize) {
    println!();
    println!(
        "== 5. runs recorded per second: enqueue_slots + write_batch(started) + \
         write_batch(finished), SQLite file store =="
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("store.db").display()
    ))
    .await
    .expect("store");
    let config = config(dir.path());
    let jobs = 1_000usize;
    let defs = definitions(&config, jobs, |_| "* * * * * *".into());
    store.apply_jobs(&defs, false).await.expect("apply");
    let ids: Vec<i64> = store
        .list_jobs()
        .await
        .expect("jobs")
        .iter()
        .map(|j| j.id)
        .collect();
    let base: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().expect("base");
    let mut next_slot = 0i64;
    for (batch, total) in [(1usize, 2_000usize), (100, 20_000), (1_000, 50_000)] {
        let mut figures = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let mut done = 0;
            while done < total {
                let now = Utc::now();
                let runs: Vec<NewRun> = (0..batch)
                    .map(|k| {
                        let n = next_slot + k as i64;
                        let slot = base + chrono::Duration::seconds(n / jobs as i64);
                        NewRun {
                            job_id: ids[(n % jobs as i64) as usize],
                            trigger: Trigger::Schedule,
                            status: RunStatus::Queued,
                            slot: Some(slot),
                            scheduled_for: slot,
                            queued_at: now,
                            attempt: 0,
                            instance_id: Some("bench".into()),
                            retry_of: None,
                            error: None,
                        }
                    })
                    .collect();
                next_slot += batch as i64;
                let claimed = store.enqueue_slots(&runs).await.expect("claim");
                let run_ids: Vec<i64> = claimed.into_iter().flatten().collect();
                assert_eq!(run_ids.len(), batch, "every slot is new");
                let started: Vec<RunWrite> = run_ids
                    .iter()
                    .map(|&run_id| RunWrite::Started {
                        run_id,
                        attempt: 1,
                        instance_id: "bench".into(),
                        at: now,
                    })
                    .collect();
                store.write_batch(&started).await.expect("start");
                let finished: Vec<RunWrite> = run_ids
                    .iter()
                    .map(|&run_id| RunWrite::Finished {
                        run_id,
                        attempt: 1,
                        status: RunStatus::Succeeded,
                        at: Utc::now(),
                        rows: Some(0),
                        bytes: Some(0),
                        outputs: Vec::new(),
                        error: None,
                    })
                    .collect();
                store.write_batch(&finished).await.expect("finish");
                done += batch;
            }
            figures.push(format!(
                "{:.0} runs/s",
                done as f64 / t.elapsed().as_secs_f64()
            ));
        }
        println!(
            "   batches of {batch:>5} ({total} runs, 3 transactions per batch): {} ({})",
            figures.join(", "),
            common::loadavg()
        );
    }
    store.close().await;
}
