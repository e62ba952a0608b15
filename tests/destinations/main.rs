//! Destinations against real servers on loopback: each test starts its own
//! server as a child process (installed by `scripts/services.sh destinations`).

#[path = "../common/mod.rs"]
mod common;

mod azure;
mod crash;
mod dropbox;
mod email;
mod faults;
mod gdrive;
mod kept;
mod retention;
mod runs;
mod s3;
mod sftp;
mod webhook;

use std::path::Path;

use chrono::{DateTime, TimeZone as _, Utc};
use cronport::config::Config;
use cronport::export::RunContext;
use cronport::export::destination::{Artifact, Destination};

/// The destination `d` from config text (the body of `[destinations.d]`).
pub fn destination(body: &str, base: &Path) -> Box<dyn Destination> {
    let text = format!("[destinations.d]\n{body}\n");
    let config = Config::parse(&text, base).unwrap_or_else(|e| panic!("config: {e}"));
    config.destinations["d"].build()
}

/// The config error for a destination body.
pub fn config_error(body: &str) -> String {
    let text = format!("[destinations.d]\n{body}\n");
    Config::parse(&text, Path::new("/tmp")).unwrap_err()
}

/// A run of `job` for the slot `slot`.
pub fn ctx(job: &str, run_id: i64, slot: DateTime<Utc>) -> RunContext {
    RunContext {
        job: job.into(),
        run_id,
        attempt: 1,
        scheduled_for: slot,
        window_start: slot - chrono::Duration::days(1),
        window_end: slot,
        timezone: chrono_tz::UTC,
    }
}

/// 2026-03-08 02:00 UTC plus `day` days.
pub fn slot(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, 2, 0, 0).unwrap() + chrono::Duration::days(day)
}

/// A spool file of `bytes` bytes whose content depends on `seed`.
pub fn artifact(dir: &Path, name: &str, bytes: usize, seed: u8) -> (Artifact, Vec<u8>) {
    let data: Vec<u8> = (0..bytes)
        .map(|i| (i as u64 * 31 + seed as u64 * 7 + i as u64 / 4099) as u8)
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    (
        Artifact {
            path,
            extension: "csv".into(),
            bytes: bytes as u64,
            rows: 1,
            delivered: Vec::new(),
        },
        data,
    )
}
