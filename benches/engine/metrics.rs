//! What metrics cost: the CPU they add to real runs (the `cost` window with
//! metrics off and on, in turns, so drift of the machine hits both), and
//! the time and size of one scrape of `/metrics` with many jobs.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use cronport::store::RunStatus;

use super::{Bench, run_window, stop};

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
fn scrape(address: SocketAddr) -> std::io::Result<String> {
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
pub fn section_cpu() {
    println!();
    println!(
        "== metrics: CPU per real run with metrics off and on (one instance, SQLite store, \
         300 every-second jobs, {} s windows, scraped every {} s when on; off/on in turns) ==",
        WINDOW.as_secs(),
        SCRAPE_EVERY.as_secs()
    );
    let mut per_run = [Vec::new(), Vec::new()];
    for round in 1..=3 {
        for on in [false, true] {
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
}

/// Time and size of a scrape of an instance with `jobs` jobs (daily, so
/// none fires meanwhile).
pub fn section_scrape(jobs: usize) {
    println!();
    println!("== scrape: GET /metrics of one instance with {jobs} jobs (SQLite store) ==");
    let mut bench = Bench::with_schedule(jobs, 4, None, "0 3 * * *");
    // Scraped here, not by the background scraper.
    bench.metrics = false;
    let address = free_address();
    let child = bench
        .command(&["--headless", "--metrics", &address.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start cronport --headless");
    let began = Instant::now();
    while scrape(address).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "no metrics after 2 min"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
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
