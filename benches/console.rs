//! Console benchmark (issue 3): prints figures, asserts nothing about speed.
//!
//! `cargo bench --bench console` builds in release and prints, with the
//! machine context:
//! 1. the time to make a SQLite store with 10,000 jobs and 100,000 runs
//!    (once, in this process);
//! 2. in a fresh child process, opened as `cronport` opens the console (the
//!    embedded scheduler starting in the background on those 10,000 jobs):
//!    the time from start to the first frame, and to the first frame with
//!    the store's data;
//! 3. render time per frame (p50/p99) at 120x40 and at 80x24 while 10,000
//!    log lines a second arrive (333 each frame at 30 frames a second),
//!    and the time those lines take to take in;
//! 4. one read of the store for the panels (a background task; p50 of 5);
//! 5. the child's resident and peak memory.
//!
//! Targets (issue 3): under 5 ms a frame, first frame under 300 ms, under
//! 150 MB. `CRONPORT_BENCH_ROUNDS` (default 2) children are measured: the
//! machine is shared, so one number alone says little.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Span, Utc};
use cronport::clock::SystemClock;
use cronport::config::Config;
use cronport::console::loader::Loader;
use cronport::console::model::{Engine, Model, Msg};
use cronport::console::runtime::form_context;
use cronport::console::view;
use cronport::events::{Event, Level, LogEvent};
use cronport::job::JobSpec;
use cronport::scheduler::{Parts, Scheduler};
use cronport::store::{NewRun, RunStatus, RunWrite, Store, Trigger};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const ROLE: &str = "CRONPORT_BENCH_ROLE";
const DIR: &str = "CRONPORT_BENCH_DIR";

const JOBS: usize = 10_000;
const RUNS: usize = 100_000;
/// Frames drawn per size.
const FRAMES: usize = 600;
/// Log lines arriving per frame: 10,000 a second at 30 frames a second.
const LINES_PER_FRAME: usize = 333;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match std::env::var(ROLE).as_deref() {
        Ok("console") => runtime.block_on(child()),
        _ => runtime.block_on(parent()),
    }
}

fn config(dir: &Path) -> Config {
    let text = "[scheduler]\nspool_dir = \"spool\"\n\n\
                [destinations.out]\nkind = \"local\"\nroot = \"exports\"\npath = \"{job}/{run_id}.{ext}\"\n";
    Config::parse(text, dir).expect("bench config")
}

fn store_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("store.db").display())
}

/// Job `i`: mostly daily, hourly and weekly schedules in several zones,
/// one in a hundred every minute, so a few fire while the console runs.
fn job_toml(i: usize) -> String {
    let zones = [
        "UTC",
        "Europe/London",
        "America/New_York",
        "Asia/Tokyo",
        "Australia/Sydney",
    ];
    let schedule = match i % 100 {
        0 => "every 1m".to_string(),
        1..=40 => format!("daily at {:02}:{:02}", i % 24, i % 60),
        41..=80 => format!("hourly at :{:02}", i % 60),
        _ => format!("weekly on mon,thu at {:02}:30", i % 24),
    };
    format!(
        "[[jobs]]\nname = \"job-{i:05}\"\nschedule = \"{schedule}\"\ntimezone = \"{}\"\n\
         source = {{ kind = \"command\", argv = [\"true\"] }}\nformat = {{ kind = \"csv\" }}\n\
         destinations = [\"out\"]\n",
        zones[i % zones.len()]
    )
}

async fn parent() {
    println!("cronport console benchmark (release build, not a timed test)");
    println!("{}", common::machine());
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    make_store(dir.path()).await;
    println!(
        "== 1. store: {JOBS} jobs and {RUNS} runs over 14 days made in {:.1} s ==",
        started.elapsed().as_secs_f64()
    );
    let rounds: usize = std::env::var("CRONPORT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    for round in 1..=rounds {
        println!();
        println!("-- round {round}/{rounds} ({})", common::loadavg());
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env(ROLE, "console")
            .env(DIR, dir.path())
            .status()
            .expect("spawn the benchmark child");
        if !status.success() {
            println!("   (child failed: {status})");
        }
    }
}

async fn make_store(dir: &Path) {
    let config = config(dir);
    let store = Store::open(&store_url(dir)).await.expect("store");
    let text: String = (0..JOBS).map(job_toml).collect();
    let jobs = config
        .check_jobs(toml::from_str::<JobsFile>(&text).expect("jobs toml").jobs)
        .expect("jobs");
    let definitions: Vec<_> = jobs
        .iter()
        .map(|job| job.definition().expect("definition"))
        .collect();
    store.apply_jobs(&definitions, false).await.expect("apply");
    let ids: Vec<i64> = store
        .list_jobs()
        .await
        .expect("jobs")
        .iter()
        .map(|j| j.id)
        .collect();
    // Runs every 12 s over the last 14 days, each job in turn; one in
    // twenty fails.
    let now = Utc::now();
    let mut runs = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let at = now - Span::seconds(12 * (RUNS - i) as i64);
        runs.push(NewRun {
            job_id: ids[i % ids.len()],
            trigger: if i % 50 == 0 {
                Trigger::Manual
            } else {
                Trigger::Schedule
            },
            status: RunStatus::Running,
            slot: Some(at),
            scheduled_for: at,
            queued_at: at,
            attempt: 1,
            instance_id: Some("bench".into()),
            retry_of: None,
            error: None,
        });
    }
    for (chunk_no, chunk) in runs.chunks(5_000).enumerate() {
        let claimed = store.enqueue_slots(chunk).await.expect("claim");
        let writes: Vec<RunWrite> = claimed
            .iter()
            .zip(chunk)
            .enumerate()
            .filter_map(|(k, (id, run))| {
                let id = (*id)?;
                let failed = (chunk_no * 5_000 + k) % 20 == 0;
                Some(RunWrite::Finished {
                    run_id: id,
                    attempt: 1,
                    status: if failed {
                        RunStatus::Failed
                    } else {
                        RunStatus::Succeeded
                    },
                    at: run.queued_at + Span::milliseconds(300 + (k as i64 * 37) % 4_000),
                    rows: (!failed).then_some(1_000 + k as i64),
                    bytes: (!failed).then_some(40_000 + k as i64),
                    outputs: Vec::new(),
                    error: failed.then(|| "source: connection refused".to_string()),
                })
            })
            .collect();
        store.write_batch(&writes).await.expect("finish runs");
    }
    store.close().await;
}

#[derive(serde::Deserialize)]
struct JobsFile {
    jobs: Vec<JobSpec>,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1_000.0)
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    format!(
        "p50 {}, p99 {}, max {}",
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().expect("samples"))
    )
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The console as `cronport` opens it, measured.
async fn child() {
    let start = Instant::now();
    let dir = std::path::PathBuf::from(std::env::var(DIR).expect("bench dir"));
    let config = Arc::new(config(&dir));
    let store = Store::open(&store_url(&dir)).await.expect("store");
    let bus = cronport::events::bus();
    // As in the console: the scheduler starts beside the first frame.
    let scheduler = tokio::spawn(Scheduler::start(Parts {
        store: store.clone(),
        config: config.clone(),
        clock: Arc::new(SystemClock),
        executor: Arc::new(common::Instantly),
        bus: bus.clone(),
        grace: Duration::from_secs(5),
    }));
    let zone = config.scheduler.default_timezone;
    let mut model = Model::new(
        Utc::now(),
        zone,
        store.display_url().to_string(),
        Engine::Starting,
        form_context(&config),
    );
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|f| view::render(&model, f)).expect("draw");
    let first_frame = start.elapsed();
    // As the console's loader: a first look (jobs, next fires, history),
    // then everything with the counters.
    let mut loader = Loader::new(
        store.clone(),
        zone,
        config.known(),
        config.scheduler.max_concurrent_runs,
    );
    let snapshot = loader
        .first_look(None, Utc::now())
        .await
        .expect("first look");
    model.update(Msg::Snapshot(Box::new(snapshot)));
    terminal.draw(|f| view::render(&model, f)).expect("draw");
    let first_jobs = start.elapsed();
    let snapshot = loader.snapshot(None, Utc::now()).await.expect("snapshot");
    model.update(Msg::Snapshot(Box::new(snapshot)));
    terminal.draw(|f| view::render(&model, f)).expect("draw");
    let first_counted = start.elapsed();
    println!(
        "== 2. start to first frame {}; to the frame with the {} jobs and the history {}; \
         with their counters {} ==",
        ms(first_frame),
        model.data.jobs.len(),
        ms(first_jobs),
        ms(first_counted)
    );

    let mut line_no = 0u64;
    for (width, height) in [(120, 40), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        let mut frames = Vec::with_capacity(FRAMES);
        let mut intake = Vec::with_capacity(FRAMES);
        for i in 0..FRAMES {
            let took = Instant::now();
            for _ in 0..LINES_PER_FRAME {
                line_no += 1;
                model.update(Msg::Event(Event::Log(LogEvent {
                    ts: Utc::now(),
                    level: if line_no.is_multiple_of(10) {
                        Level::Warn
                    } else {
                        Level::Info
                    },
                    job: Some(format!("job-{:05}", line_no % JOBS as u64)),
                    run_id: Some(line_no as i64),
                    message: format!("rendered {line_no} rows, {} bytes of csv", line_no * 40),
                })));
            }
            intake.push(took.elapsed());
            // Move through the jobs; every 100 frames focus the next panel.
            model.update(key(KeyCode::Char('j')));
            if i % 100 == 99 {
                model.update(key(KeyCode::Tab));
            }
            let took = Instant::now();
            terminal.draw(|f| view::render(&model, f)).expect("draw");
            frames.push(took.elapsed());
        }
        println!(
            "== 3. {width}x{height}: render a frame {}; take in {LINES_PER_FRAME} log lines {} ==",
            summary(frames),
            summary(intake)
        );
    }

    let mut reads = Vec::new();
    for _ in 0..5 {
        let took = Instant::now();
        loader.snapshot(None, Utc::now()).await.expect("snapshot");
        reads.push(took.elapsed());
    }
    reads.sort_unstable();
    println!(
        "== 4. a store read for the panels (background): p50 {}, max {} ==",
        ms(percentile(&reads, 0.5)),
        ms(*reads.last().expect("reads"))
    );
    // Where a read's time goes.
    let took = Instant::now();
    let records = store.list_jobs().await.expect("jobs");
    let list = took.elapsed();
    let known = config.known();
    let took = Instant::now();
    let rows: Vec<_> = records
        .into_iter()
        .map(|r| cronport::console::data::JobRow::from_record(r, Utc::now(), &known))
        .collect();
    let parse = took.elapsed();
    let took = Instant::now();
    store.job_stats().await.expect("stats");
    let stats = took.elapsed();
    let took = Instant::now();
    store
        .list_runs(&cronport::store::RunFilter::default())
        .await
        .expect("runs");
    store.running_runs().await.expect("running");
    let runs = took.elapsed();
    let took = Instant::now();
    let windows = cronport::console::loader::day_windows(Utc::now(), zone);
    store.failures_per_window(&windows).await.expect("failures");
    let failures = took.elapsed();
    let took = Instant::now();
    cronport::console::data::upcoming(&rows, Utc::now(), Span::hours(24), 500);
    let upcoming = took.elapsed();
    println!(
        "   (list jobs {}, parse schedules {}, job stats {}, history and running {}, failures per day {}, upcoming {})",
        ms(list),
        ms(parse),
        ms(stats),
        ms(runs),
        ms(failures),
        ms(upcoming)
    );
    let (rss, peak) = common::rss_kb();
    println!(
        "== 5. memory: {} MB resident, {} MB peak (embedded scheduler with {JOBS} jobs included) ==",
        rss / 1024,
        peak / 1024
    );
    match scheduler.await {
        Ok(Ok(scheduler)) => {
            let _ = scheduler.shutdown().await;
        }
        Ok(Err(e)) => println!("   (the scheduler did not start: {e})"),
        Err(e) => println!("   (the scheduler task failed: {e})"),
    }
}
