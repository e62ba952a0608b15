//! What metrics cost, in parts and whole:
//! - the parts: what recording one run costs (the counters and histograms
//!   a run touches, in this process), what one scrape costs the instance
//!   (its CPU over many scrapes of a store with history), and the
//!   once-a-minute count of the whole history; composed into the share of
//!   the CPU of 300 every-second real runs they make;
//! - the whole: CPU per real run with metrics off and on in ABBA turns, so
//!   a machine that drifts one way hits both sides alike (on 2 shared
//!   cores this is the noisier figure);
//! - the time and size of one scrape of `/metrics` with many jobs.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use cronport::metrics::RunEnded;
use cronport::store::{RunStatus, Store, Trigger};

use super::{Bench, cpu_of, run_window, runtime, seed_history, stop};

/// Prometheus's default scrape interval.
const SCRAPE_EVERY: Duration = Duration::from_secs(15);

/// Each off or on window: long enough that the scheduler's once-a-minute
/// chores (handing memory back, maintenance) fall into every window alike.
const WINDOW: Duration = Duration::from_secs(60);

/// `CRONPORT_BENCH_METRICS=1`.
pub fn from_env() -> bool {
    std::env::var("CRONPORT_BENCH_METRICS").is_ok_and(|v| v == "1")
}

/// A loopback address with a port nobody listens on now.
pub fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// GET `/metrics`: the body.
pub fn scrape(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
        _ => Err(std::io::Error::other(format!(
            "bad answer: {}",
            response.lines().next().unwrap_or("")
        ))),
    }
}

/// A headless instance of `bench` serving metrics on a free port, scraped
/// only by the caller.
pub fn serving(bench: &Bench) -> (std::process::Child, SocketAddr) {
    let address = free_address();
    let child = bench
        .command(&["--headless", "--metrics", &address.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start cronport --headless");
    (child, address)
}

/// Wait until `address` serves metrics (at most 2 min).
fn answering(address: SocketAddr) {
    let began = Instant::now();
    while scrape(address).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "no metrics after 2 min"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Scrape `address` every [`SCRAPE_EVERY`], as Prometheus would, until it
/// stops answering (its instance stopped).
pub fn scrape_while_up(address: SocketAddr) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(SCRAPE_EVERY);
            if scrape(address).is_err() {
                return;
            }
        }
    });
}

/// CPU per run of 300 every-second real jobs, metrics off and on in turns.
pub fn section_cpu() -> f64 {
    println!();
    println!(
        "== metrics, whole: CPU per real run with metrics off and on (one instance, SQLite \
         store, 300 every-second jobs, {} s windows, scraped every {} s when on; ABBA turns) ==",
        WINDOW.as_secs(),
        SCRAPE_EVERY.as_secs()
    );
    let mut per_run = [Vec::new(), Vec::new()];
    for round in 1..=4 {
        // off-on, on-off, off-on, on-off.
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for on in order {
            let mut bench = Bench::new(300, 320, None);
            bench.metrics = on;
            let (from, to, used) = run_window(&bench, 1, WINDOW);
            let done = bench
                .runs(from, to)
                .iter()
                .filter(|r| r.status == RunStatus::Succeeded)
                .count();
            let ms = used[0].0.as_secs_f64() * 1000.0 / done.max(1) as f64;
            println!(
                "   round {round}, metrics {}: {done} runs, {ms:.3} ms CPU per run",
                if on { "on " } else { "off" }
            );
            per_run[usize::from(on)].push(ms);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (off, on) = (mean(&per_run[0]), mean(&per_run[1]));
    // Each round's own ratio, so drift of the machine between rounds
    // cancels; the median keeps one disturbed window from deciding.
    let mut ratios: Vec<f64> = per_run[0]
        .iter()
        .zip(&per_run[1])
        .map(|(off, on)| (on - off) * 100.0 / off.max(f64::MIN_POSITIVE))
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "   mean: off {off:.3} ms, on {on:.3} ms per run: metrics add {:+.2}%; \
         per round {}, median {:+.2}%",
        (on - off) * 100.0 / off.max(f64::MIN_POSITIVE),
        ratios
            .iter()
            .map(|r| format!("{r:+.1}%"))
            .collect::<Vec<_>>()
            .join(" "),
        ratios.get(ratios.len() / 2).copied().unwrap_or(0.0)
    );
    off
}

/// Time and size of a scrape of an instance with `jobs` jobs (daily, so
/// none fires meanwhile).
pub fn section_scrape(jobs: usize) {
    println!();
    println!("== scrape: GET /metrics of one instance with {jobs} jobs (SQLite store) ==");
    let mut bench = Bench::with_schedule(jobs, 4, None, "0 3 * * *");
    // Scraped here, not by the background scraper.
    bench.metrics = false;
    let (child, address) = serving(&bench);
    answering(address);
    let mut times = Vec::new();
    let mut body = String::new();
    for _ in 0..10 {
        let start = Instant::now();
        body = scrape(address).expect("scrape");
        times.push(start.elapsed());
    }
    times.sort();
    let samples = body.lines().filter(|l| !l.starts_with('#')).count();
    println!(
        "   {} bytes, {samples} samples; time p50 {:.1} ms, max {:.1} ms (10 scrapes)",
        body.len(),
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    );
    stop(child);
}

/// The parts: recording one run, one scrape, the history count; and their
/// share of the CPU of 300 every-second runs costing `run_ms` each.
pub fn section_parts(run_ms: f64) {
    println!();
    println!(
        "== metrics, parts: what recording a run, a scrape and the history count cost \
         (300 jobs, SQLite store) =="
    );
    let record_ns = recording_ns();
    println!(
        "   recording one run (start, end, one delivery, two store writes): {record_ns:.0} ns"
    );
    for history in [100_000usize, 1_000_000] {
        let (scrape_ms, count_ms) = scrape_cpu(history);
        // A minute at 300 runs a second, scraped every 15 s, with the whole
        // history counted once.
        let runs = 300.0 * 60.0;
        let scrapes = 60.0 / SCRAPE_EVERY.as_secs_f64();
        let added = runs * record_ns / 1e6 + scrapes * scrape_ms + count_ms;
        println!(
            "   {history:>9} runs of history: a scrape {scrape_ms:.2} ms CPU, the history \
             count {count_ms:.1} ms CPU (once a minute); a minute's metrics {added:.0} ms \
             against {:.0} ms of runs ({run_ms:.3} ms each): {:+.2}%",
            runs * run_ms,
            added * 100.0 / (runs * run_ms).max(f64::MIN_POSITIVE)
        );
    }
}

/// Nanoseconds to record what one real run reports, metrics on.
fn recording_ns() -> f64 {
    cronport::metrics::enable();
    let jobs: Vec<String> = (0..300).map(|i| format!("job-{i:04}")).collect();
    let rounds = 300_000;
    let start = Instant::now();
    for i in 0..rounds {
        let job = &jobs[i % jobs.len()];
        cronport::metrics::run_started(Duration::from_micros(900));
        cronport::metrics::store_write(Duration::from_micros(400));
        cronport::metrics::delivered("out", "delivered");
        cronport::metrics::run_ended(&RunEnded {
            job,
            status: RunStatus::Succeeded,
            trigger: Trigger::Schedule,
            rows: Some(1),
            bytes: Some(40),
            took: Some(Duration::from_millis(3)),
        });
        cronport::metrics::store_write(Duration::from_micros(400));
    }
    start.elapsed().as_secs_f64() * 1e9 / rounds as f64
}

/// On a store with `history` runs: the instance's CPU per scrape (its
/// history count taken already), and the CPU of counting the history.
fn scrape_cpu(history: usize) -> (f64, f64) {
    let mut bench = Bench::with_schedule(300, 4, None, "0 3 * * *");
    bench.metrics = false;
    seed_history(&bench.store, history);
    let (child, address) = serving(&bench);
    // The first scrape counts the history; the next minute's do not.
    answering(address);
    let scrapes = 200;
    let before = cpu_of(child.id());
    for _ in 0..scrapes {
        scrape(address).expect("scrape");
    }
    let per_scrape =
        cpu_of(child.id()).saturating_sub(before).as_secs_f64() * 1000.0 / scrapes as f64;
    stop(child);
    // The count, in this process: the same query the instance runs.
    let counts = 5;
    let count_ms = runtime().block_on(async {
        let store = Store::open(&bench.store).await.expect("store");
        store.runs_by_status().await.expect("count");
        let before = process_cpu();
        for _ in 0..counts {
            store.runs_by_status().await.expect("count");
        }
        let used = process_cpu().saturating_sub(before);
        store.close().await;
        used.as_secs_f64() * 1000.0 / counts as f64
    });
    (per_scrape, count_ms)
}

/// This process's user and system CPU so far (getrusage: microseconds, not
/// the clock ticks of /proc).
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// The value of the unlabelled sample `name` in a scrape's body.
pub fn sample(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}
