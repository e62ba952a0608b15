//! Engine benchmark (issue 12): the release binary running real exports, as
//! an operator runs it. Prints figures; asserts nothing about speed.
//!
//! Every job is real: an `sql` source (a one-row query on a small SQLite
//! file) rendered to csv and delivered to a local folder, the output kept
//! for `runs redeliver`, every run and its log lines recorded in the store.
//! Instances are `cronport --headless` processes; CPU and memory are read
//! from /proc for them, start latency (run started minus its slot) from the
//! store afterwards.
//!
//! Sections (`CRONPORT_BENCH_ONLY=cost,one,three,soak,wait` picks some):
//! - `cost`: CPU of one run inside the scheduler, on a store with 100 and
//!   with 100,000 runs of history;
//! - `one`: one instance on a SQLite store, 300 and 1,000 every-second jobs
//!   for 60 s: slots run, start latency, the first 10 s against the last;
//! - `three`: three instances on one PostgreSQL store, 300 jobs for 60 s:
//!   slots run, latency, each instance's share;
//! - `soak`: one instance, 300 jobs for 10 minutes: memory (with what SQLite
//!   holds, from the metrics), CPU per run and
//!   latency in each tenth of it;
//! - `wait`: `cronport jobs run --wait` of a 1,000,000-row table to csv,
//!   a whole process, against `sqlite3 -csv` of the same query, in turns.
//!   Then the same export with `deliver = "on_change"` against `always`,
//!   and with checks (not_empty, min_rows, max_change, schema stable,
//!   on_check_fail hold; all passing) against `always`, in turns, for what
//!   the content hash and the checks cost.
//!
//! - `metrics`: the CPU metrics add to real runs: off and on in turns, and
//!   in parts (recording a run, a scrape, the history count; see
//!   `engine/metrics.rs`);
//! - `scrape`: time and size of a scrape of `/metrics` with 10,000 jobs.
//!
//! `CRONPORT_BENCH_SECONDS` shortens the 60 s windows (and the soak to ten
//! times that) for a quick look; `CRONPORT_BENCH_SOAK_SECONDS` sets the
//! soak's length alone. `CRONPORT_BENCH_METRICS=1` runs every section with
//! metrics on: each instance serves them and is scraped every 15 s.
//! `CRONPORT_BENCH_ONE_JOBS=1000` picks the job counts of `one` (comma
//! separated). `CRONPORT_BENCH_BIN` runs another build of cronport in
//! place of this one's, for A/B turns between two builds.

mod common;
#[path = "engine/metrics.rs"]
mod metrics;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound as _, Utc};
use cronport::store::{NewRun, RunFilter, RunRecord, RunStatus, RunWrite, Store, Trigger};

/// The binary under test: this build's, or `CRONPORT_BENCH_BIN`.
fn bin() -> String {
    std::env::var("CRONPORT_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_cronport").into())
}

/// How long instances run before a window is measured.
const WARM_UP: Duration = Duration::from_secs(10);

fn main() {
    println!("cronport engine benchmark: the release binary, real exports (not a timed test)");
    println!("{}", common::machine());
    let only = std::env::var("CRONPORT_BENCH_ONLY").ok();
    let wanted = |s: &str| {
        only.as_deref()
            .is_none_or(|l| l.split(',').any(|x| x.trim() == s))
    };
    let window = std::env::var("CRONPORT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(60), Duration::from_secs);
    if wanted("cost") {
        section_cost();
    }
    if wanted("one") {
        let counts = std::env::var("CRONPORT_BENCH_ONE_JOBS").map_or(vec![300, 1_000], |l| {
            l.split(',').filter_map(|n| n.trim().parse().ok()).collect()
        });
        for jobs in counts {
            // Room for every job's run at once, and a little more.
            section_one(jobs, jobs + 24, window);
        }
    }
    if wanted("three") {
        section_three(300, 128, window);
    }
    if wanted("soak") {
        let length = std::env::var("CRONPORT_BENCH_SOAK_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(window * 10, Duration::from_secs);
        section_soak(300, 320, length);
    }
    if wanted("wait") {
        section_wait(1_000_000);
    }
    if wanted("metrics") {
        let off_ms = metrics::section_cpu();
        metrics::section_parts(off_ms);
    }
    if wanted("scrape") {
        metrics::section_scrape(10_000);
    }
}

// ------------------------------------------------------------------ setup

/// A folder with a small SQLite table, a config of `jobs` every-second
/// jobs and a store.
struct Bench {
    dir: tempfile::TempDir,
    store: String,
    /// Instances serve metrics and are scraped.
    metrics: bool,
}

impl Bench {
    fn new(jobs: usize, concurrency: usize, store: Option<String>) -> Bench {
        Bench::with_schedule(jobs, concurrency, store, "* * * * * *")
    }

    fn with_schedule(
        jobs: usize,
        concurrency: usize,
        store: Option<String>,
        schedule: &str,
    ) -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("small.db");
        sqlite(
            &data,
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);\n\
             INSERT INTO items (name, price) VALUES ('apple', 1.25), ('pear', 0.8), ('plum', 2.5);",
        );
        let mut config = format!(
            "[scheduler]\nspool_dir = \"spool\"\ndefault_timezone = \"UTC\"\n\
             max_concurrent_runs = {concurrency}\n\n\
             [sources.small]\nurl = \"sqlite://{}\"\n\n\
             [destinations.out]\nkind = \"local\"\nroot = \"exports\"\n\
             path = \"{{job}}/{{date:%H%M%S}}.{{ext}}\"\n\n",
            data.display()
        );
        for i in 0..jobs {
            config.push_str(&format!(
                "[[jobs]]\nname = \"job-{i:04}\"\nschedule = \"{schedule}\"\n\
                 source = {{ kind = \"sql\", connection = \"small\", \
                 query = \"select id, name, price from items where id = 1\" }}\n\
                 format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
            ));
        }
        std::fs::write(dir.path().join("cronport.toml"), config).expect("config");
        let store =
            store.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("store.db").display()));
        let bench = Bench {
            dir,
            store,
            metrics: metrics::from_env(),
        };
        let applied = bench
            .command(&["apply", "cronport.toml"])
            .stdout(Stdio::null())
            .status()
            .expect("apply");
        assert!(applied.success(), "cronport apply failed");
        bench
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.current_dir(self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("xdg"))
            .env_remove("RUST_LOG")
            .args(["--config", "cronport.toml", "--store", &self.store])
            .args(args);
        cmd
    }

    fn headless(&self) -> Child {
        let address = self.metrics.then(metrics::free_address);
        let mut command = self.command(&["--headless"]);
        if let Some(address) = address {
            command.arg("--metrics").arg(address.to_string());
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cronport --headless");
        if let Some(address) = address {
            metrics::scrape_while_up(address);
        }
        child
    }

    /// Runs whose slot is in `[from, to]`.
    fn runs(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<RunRecord> {
        runtime().block_on(async {
            let store = Store::open(&self.store).await.expect("store");
            let runs = store
                .list_runs(&RunFilter {
                    limit: 100_000_000,
                    ..RunFilter::default()
                })
                .await
                .expect("runs");
            store.close().await;
            runs.into_iter()
                .filter(|r| r.slot.is_some_and(|s| s >= from && s <= to))
                .collect()
        })
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn sqlite(path: &Path, script: &str) {
    let out = Command::new("sqlite3")
        .arg(path)
        .arg(script)
        .output()
        .expect("sqlite3 (scripts/bench-tools.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
}

/// User plus system CPU of a process so far, from /proc.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 here.
    let ticks = fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// Resident memory of a process, in MB.
fn rss_mb(pid: u32) -> f64 {
    status_field(pid, "VmRSS:") / 1024.0
}

/// A number from /proc/PID/status (`VmRSS:` in kB, `Threads:`), 0 if absent.
fn status_field(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::Duration::seconds(1))
        .expect("truncate")
}

/// What happened to the slots of `[from, to]` for `jobs` jobs.
struct Outcome {
    expected: usize,
    succeeded: usize,
    skipped: usize,
    /// Start latency of each started run, ms, with its slot.
    latency: Vec<(DateTime<Utc>, i64)>,
}

impl Outcome {
    fn of(runs: &[RunRecord], jobs: usize, from: DateTime<Utc>, to: DateTime<Utc>) -> Outcome {
        let seconds = usize::try_from((to - from).num_seconds() + 1).unwrap_or(0);
        Outcome {
            expected: jobs * seconds,
            succeeded: runs
                .iter()
                .filter(|r| r.status == RunStatus::Succeeded)
                .count(),
            skipped: runs
                .iter()
                .filter(|r| r.status == RunStatus::Skipped)
                .count(),
            latency: runs
                .iter()
                .filter_map(|r| {
                    Some((
                        r.scheduled_for,
                        (r.started_at? - r.scheduled_for).num_milliseconds(),
                    ))
                })
                .collect(),
        }
    }

    fn print(&self, label: &str) {
        let mut all: Vec<i64> = self.latency.iter().map(|l| l.1).collect();
        println!(
            "   {label}: {} of {} slots succeeded ({:.2}%), {} skipped; start latency {}",
            self.succeeded,
            self.expected,
            self.succeeded as f64 * 100.0 / self.expected.max(1) as f64,
            self.skipped,
            percentiles(&mut all)
        );
    }

    /// Latency of the slots in the first and the last `span` of the window.
    fn first_and_last(&self, span: chrono::Duration) -> (String, String) {
        let first = self.latency.iter().map(|l| l.0).min();
        let last = self.latency.iter().map(|l| l.0).max();
        let (Some(first), Some(last)) = (first, last) else {
            return ("-".into(), "-".into());
        };
        let mut head: Vec<i64> = self
            .latency
            .iter()
            .filter(|l| l.0 < first + span)
            .map(|l| l.1)
            .collect();
        let mut tail: Vec<i64> = self
            .latency
            .iter()
            .filter(|l| l.0 > last - span)
            .map(|l| l.1)
            .collect();
        (percentiles(&mut head), percentiles(&mut tail))
    }
}

fn percentiles(values: &mut [i64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    values.sort_unstable();
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {} ms, p99 {} ms, max {} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Start `instances` headless instances on `bench`, let them run `window`
/// after a warm-up, wait for the window's runs to end, stop them. Returns
/// the window, each instance's CPU over it, and its memory at the end.
fn run_window(
    bench: &Bench,
    instances: usize,
    window: Duration,
) -> (DateTime<Utc>, DateTime<Utc>, Vec<(Duration, f64)>) {
    let children: Vec<Child> = (0..instances).map(|_| bench.headless()).collect();
    // Start-up (the first seconds create every job's folders and warm the
    // caches; with 1,000 jobs they fall behind for a few seconds) and, with
    // several instances, learning of each other (5 s).
    std::thread::sleep(WARM_UP);
    let from = whole_second(Utc::now()) + chrono::Duration::seconds(1);
    let machine = common::machine_time();
    let before: Vec<Duration> = children.iter().map(|c| cpu_of(c.id())).collect();
    std::thread::sleep(window);
    let to = whole_second(Utc::now()) - chrono::Duration::seconds(1);
    // The window's last runs end (they take milliseconds).
    std::thread::sleep(Duration::from_secs(2));
    let used: Vec<(Duration, f64)> = children
        .iter()
        .zip(&before)
        .map(|(c, b)| (cpu_of(c.id()).saturating_sub(*b), rss_mb(c.id())))
        .collect();
    println!("   {}", common::machine_since(machine));
    for child in children {
        stop(child);
    }
    (from, to, used)
}

// ------------------------------------------------------------- sections

fn section_cost() {
    println!();
    println!(
        "== cost: CPU of one real run inside the scheduler (one instance, SQLite store, \
         300 every-second jobs for 20 s; process CPU over the window / runs in it) =="
    );
    for history in [100, 100_000] {
        let bench = Bench::new(300, 320, None);
        seed_history(&bench.store, history);
        let (from, to, used) = run_window(&bench, 1, Duration::from_secs(20));
        let runs = bench.runs(from, to);
        let done = runs
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count();
        println!(
            "   {history:>7} runs of history: {done} runs, {:.2} ms of CPU per run ({:.1} s CPU in all)",
            used[0].0.as_secs_f64() * 1000.0 / done.max(1) as f64,
            used[0].0.as_secs_f64()
        );
    }
}

/// Fills the store with `count` finished runs (four log lines each) of its
/// first job, long ago: history the scheduler's queries must not scan.
fn seed_history(url: &str, count: usize) {
    runtime().block_on(async {
        let store = Store::open(url).await.expect("store");
        let job = store.list_jobs().await.expect("jobs")[0].id;
        let start = Utc::now() - chrono::Duration::days(30);
        for chunk in (0..count).collect::<Vec<_>>().chunks(4_000) {
            let slots: Vec<NewRun> = chunk
                .iter()
                .map(|&i| {
                    let slot = start + chrono::Duration::seconds(i as i64);
                    NewRun {
                        job_id: job,
                        trigger: Trigger::Schedule,
                        status: RunStatus::Running,
                        slot: Some(slot),
                        scheduled_for: slot,
                        queued_at: slot,
                        attempt: 1,
                        instance_id: Some("seed".into()),
                        retry_of: None,
                        error: None,
                    }
                })
                .collect();
            let ids = store.enqueue_slots(&slots).await.expect("seed runs");
            let mut writes = Vec::new();
            for (id, run) in ids.iter().zip(&slots) {
                let Some(id) = *id else { continue };
                for seq in 1..=4 {
                    writes.push(RunWrite::Log(cronport::store::LogLine {
                        run_id: id,
                        seq,
                        ts: run.scheduled_for,
                        level: "INFO".into(),
                        message: format!("line {seq} of a run long ago"),
                    }));
                }
                writes.push(RunWrite::Finished {
                    run_id: id,
                    attempt: 1,
                    status: RunStatus::Succeeded,
                    at: run.scheduled_for,
                    rows: Some(1),
                    bytes: Some(30),
                    outputs: vec!["/old/export.csv".into()],
                    error: None,
                });
            }
            store.write_batch(&writes).await.expect("seed finishes");
        }
        store.close().await;
    });
}

fn section_one(jobs: usize, concurrency: usize, window: Duration) {
    println!();
    println!(
        "== one instance, SQLite store: {jobs} every-second real jobs for {} s \
         (max_concurrent_runs = {concurrency}) ==",
        window.as_secs()
    );
    let bench = Bench::new(jobs, concurrency, None);
    let (from, to, used) = run_window(&bench, 1, window);
    let runs = bench.runs(from, to);
    let outcome = Outcome::of(&runs, jobs, from, to);
    outcome.print("slots");
    let (head, tail) = outcome.first_and_last(chrono::Duration::seconds(10));
    println!("   first 10 s: {head}; last 10 s: {tail}");
    println!(
        "   instance CPU {:.2} ms per run, {:.0} MB resident at the end",
        used[0].0.as_secs_f64() * 1000.0 / outcome.succeeded.max(1) as f64,
        used[0].1
    );
}

fn section_three(jobs: usize, concurrency: usize, window: Duration) {
    println!();
    println!(
        "== three instances, one PostgreSQL store: {jobs} every-second real jobs for {} s \
         (max_concurrent_runs = {concurrency} each) ==",
        window.as_secs()
    );
    let Some(db) = PgDb::create() else {
        println!("   (skipped: PostgreSQL at 127.0.0.1:5432 is not reachable)");
        return;
    };
    let bench = Bench::new(jobs, concurrency, Some(db.url.clone()));
    let (from, to, used) = run_window(&bench, 3, window);
    let runs = bench.runs(from, to);
    let outcome = Outcome::of(&runs, jobs, from, to);
    outcome.print("slots");
    let mut shares: std::collections::BTreeMap<String, usize> = Default::default();
    for run in runs.iter().filter(|r| r.status == RunStatus::Succeeded) {
        *shares
            .entry(run.instance_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let shares: Vec<String> = shares
        .values()
        .map(|n| {
            format!(
                "{:.0}%",
                *n as f64 * 100.0 / outcome.succeeded.max(1) as f64
            )
        })
        .collect();
    let cpu: f64 = used.iter().map(|u| u.0.as_secs_f64()).sum();
    println!(
        "   shares of the runs: {}; CPU of the three {:.2} ms per run",
        shares.join(", "),
        cpu * 1000.0 / outcome.succeeded.max(1) as f64
    );
    drop(bench);
    drop(db);
}

fn section_soak(jobs: usize, concurrency: usize, length: Duration) {
    println!();
    println!(
        "== soak: one instance, SQLite store, {jobs} every-second real jobs for {} s ==",
        length.as_secs()
    );
    let bench = Bench::new(jobs, concurrency, None);
    // Served metrics, scraped at the end of each stretch only: they say how
    // much of the memory is SQLite's (its page caches fill as the store
    // grows, up to their size).
    let (child, address) = metrics::serving(&bench);
    std::thread::sleep(WARM_UP);
    let minute = (length / 10).max(Duration::from_secs(10));
    let started = Instant::now();
    let sample = |label: &str, child: &Child| {
        let from = whole_second(Utc::now()) + chrono::Duration::seconds(1);
        let cpu = cpu_of(child.id());
        let memory = Memory::watch(child.id(), minute);
        let to = whole_second(Utc::now()) - chrono::Duration::seconds(1);
        let used = cpu_of(child.id()).saturating_sub(cpu);
        std::thread::sleep(Duration::from_secs(1));
        let runs = bench.runs(from, to);
        let outcome = Outcome::of(&runs, jobs, from, to);
        let mut latency: Vec<i64> = outcome.latency.iter().map(|l| l.1).collect();
        println!(
            "   {label}: resident {memory}; at the end {:.0} MB ({:.0} anonymous, {:.0} file, \
             {:.0} shared; SQLite's allocator {}), {} threads, {:.2} ms CPU per run, {} of {} \
             slots succeeded, start latency {}",
            rss_mb(child.id()),
            status_field(child.id(), "RssAnon:") / 1024.0,
            status_field(child.id(), "RssFile:") / 1024.0,
            status_field(child.id(), "RssShmem:") / 1024.0,
            metrics::scrape(address)
                .ok()
                .and_then(|body| metrics::sample(&body, "cronport_sqlite_memory_bytes"))
                .map_or("-".to_string(), |b| format!("{:.1} MB", b / 1048576.0)),
            status_field(child.id(), "Threads:"),
            used.as_secs_f64() * 1000.0 / outcome.succeeded.max(1) as f64,
            outcome.succeeded,
            outcome.expected,
            percentiles(&mut latency)
        );
    };
    // Every stretch, not only the first and the last: growth that levels
    // off after warming up looks different from growth that keeps going.
    let mut stretch = 1;
    while started.elapsed() + minute <= length {
        sample(&format!("stretch {stretch:2}"), &child);
        stretch += 1;
    }
    stop(child);
}

/// Resident memory through a stretch, read four times a second: the
/// allocator's free memory comes and goes with each second's runs and the
/// scheduler's trims (every 5 s), so one reading says more about when it
/// was taken than about the trend.
struct Memory {
    least: f64,
    mean: f64,
    most: f64,
}

impl Memory {
    /// Watch `pid` for `length`.
    fn watch(pid: u32, length: Duration) -> Memory {
        let started = Instant::now();
        let mut readings = Vec::new();
        while started.elapsed() < length {
            readings.push(rss_mb(pid));
            std::thread::sleep(Duration::from_millis(250));
        }
        let least = readings.iter().copied().fold(f64::INFINITY, f64::min);
        let most = readings.iter().copied().fold(0.0, f64::max);
        let mean = readings.iter().sum::<f64>() / readings.len().max(1) as f64;
        Memory { least, mean, most }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "mean {:.0} MB (least {:.0}, most {:.0})",
            self.mean, self.least, self.most
        )
    }
}

fn section_wait(rows: usize) {
    println!();
    println!(
        "== jobs run --wait: {rows} rows of SQLite to csv as a whole process, against \
         sqlite3 -csv of the same query (medians of 5 turns each) =="
    );
    let bench = Bench::new(0, 4, None);
    let data = bench.dir.path().join("big.db");
    sqlite(
        &data,
        &format!(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL, placed TEXT);\n\
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})\n\
             INSERT INTO orders SELECT i, 'customer ' || (i % 977), (i % 10007) / 100.0, \
             '2026-01-01T00:00:00Z' FROM n;"
        ),
    );
    let query = "select id, customer, amount, placed from orders order by id";
    let config = bench.dir.path().join("cronport.toml");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "[sources.big]\nurl = \"sqlite://{}\"\n\n[[jobs]]\nname = \"big\"\n\
         schedule = \"0 3 * * *\"\nsource = {{ kind = \"sql\", connection = \"big\", query = \"{query}\" }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        data.display()
    ));
    // The content hash's cost: the same export with a last row that
    // differs on every run (its slot), so an `on_change` job hashes and
    // delivers each time, against one that always delivers.
    let stamped = format!("select * from ({query}) union all select 0, :scheduled_for, 0, ''");
    // The checks' cost: every check on, all passing (the stamped row adds
    // none to the count, and the columns keep their types), so each run
    // reads the last success, probes the columns and delivers.
    let checks = "checks = { not_empty = true, min_rows = 1, max_change = \"50%\", \
                  schema = \"stable\" }\non_check_fail = \"hold\"\n";
    for (name, deliver, extra) in [
        ("stamped", "always", ""),
        ("stamped-on-change", "on_change", ""),
        ("stamped-checks", "always", checks),
    ] {
        text.push_str(&format!(
            "\n[[jobs]]\nname = \"{name}\"\nschedule = \"0 3 * * *\"\ndeliver = \"{deliver}\"\n\
             source = {{ kind = \"sql\", connection = \"big\", query = \"{stamped}\" }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n{extra}"
        ));
    }
    std::fs::write(&config, text).expect("config");
    let applied = bench
        .command(&["apply", "cronport.toml"])
        .stdout(Stdio::null())
        .status()
        .expect("apply");
    assert!(applied.success());
    let out = bench.dir.path().join("sqlite3.csv");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let status = bench
            .command(&["jobs", "run", "big", "--wait"])
            .stdout(Stdio::null())
            .status()
            .expect("jobs run");
        assert!(status.success(), "jobs run --wait failed");
        ours.push(t.elapsed());
        let t = Instant::now();
        let file = std::fs::File::create(&out).expect("out");
        let status = Command::new("sqlite3")
            .args(["-csv", "-header"])
            .arg(&data)
            .arg(query)
            .stdout(file)
            .status()
            .expect("sqlite3");
        assert!(status.success());
        theirs.push(t.elapsed());
    }
    ours.sort();
    theirs.sort();
    let (a, b) = (ours[2].as_secs_f64(), theirs[2].as_secs_f64());
    println!(
        "   cronport jobs run --wait {:.0} ms, sqlite3 -csv {:.0} ms: cronport takes {:.2} of sqlite3's time ({})",
        a * 1000.0,
        b * 1000.0,
        a / b,
        common::loadavg()
    );
    let mut plain = Vec::new();
    let mut hashed = Vec::new();
    let mut checked = Vec::new();
    for _ in 0..7 {
        for (job, times) in [
            ("stamped", &mut plain),
            ("stamped-on-change", &mut hashed),
            ("stamped-checks", &mut checked),
        ] {
            let t = Instant::now();
            let status = bench
                .command(&["jobs", "run", job, "--wait"])
                .stdout(Stdio::null())
                .status()
                .expect("jobs run");
            assert!(status.success(), "jobs run {job} --wait failed");
            times.push(t.elapsed());
        }
    }
    plain.sort();
    hashed.sort();
    checked.sort();
    let (a, b) = (plain[3].as_secs_f64(), hashed[3].as_secs_f64());
    println!(
        "   deliver = \"on_change\" (content hash, delivered every run): {:.0} ms against {:.0} ms \
         always: {:+.1}% (medians of 7 turns; {})",
        b * 1000.0,
        a * 1000.0,
        (b / a - 1.0) * 100.0,
        common::loadavg()
    );
    let c = checked[3].as_secs_f64();
    println!(
        "   checks (not_empty, min_rows, max_change, schema stable; all passing, delivered \
         every run): {:.0} ms against {:.0} ms always: {:+.1}% (medians of 7 turns; {})",
        c * 1000.0,
        a * 1000.0,
        (c / a - 1.0) * 100.0,
        common::loadavg()
    );
}

/// A fresh PostgreSQL database on the local server, dropped afterwards.
struct PgDb {
    name: String,
    url: String,
}

impl PgDb {
    fn create() -> Option<PgDb> {
        let name = format!("cronport_bench_{}", std::process::id());
        let ok = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-qc"])
            .arg(format!("CREATE DATABASE {name}"))
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| PgDb {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-qc"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .status();
    }
}
