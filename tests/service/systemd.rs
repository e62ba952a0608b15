//! The shipped systemd unit passes `systemd-analyze verify`, and the binary
//! speaks the notify protocol: READY=1 once it schedules, WATCHDOG=1 from
//! its loop at half of WATCHDOG_USEC, STOPPING=1 when it drains.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::common::process::{BIN, Headless, Sandbox};
use super::jobs;

const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/contrib/systemd/cronport.service"
);

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!(
            "\n!!! SKIPPED: systemd-analyze is not installed (Debian package systemd; \
             scripts/services.sh monitoring installs it): the unit was NOT verified !!!\n"
        );
        return;
    }
    let unit = std::fs::read_to_string(UNIT).expect("read the unit");
    for setting in [
        "Type=notify",
        "WatchdogSec=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=cronport",
        "ReadWritePaths=",
    ] {
        assert!(unit.contains(setting), "the unit lacks {setting}");
    }
    // verify checks that ExecStart's program exists: point it at the
    // binary under test instead of where the unit installs it.
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("cronport.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/cronport", BIN)).expect("write the unit");
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Datagrams received on `socket` until `want` says stop or `limit` passes.
fn receive(
    socket: &UnixDatagram,
    limit: Duration,
    mut want: impl FnMut(&[String]) -> bool,
) -> Vec<String> {
    let began = Instant::now();
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    while began.elapsed() < limit && !want(&got) {
        if let Ok(n) = socket.recv(&mut buffer) {
            got.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
    }
    got
}

#[test]
fn headless_sends_ready_watchdog_and_stopping_over_notify_socket() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&jobs("tick"));
    let path = sandbox.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let mut cmd = sandbox.command(&["--headless"]);
    // A 2 s watchdog: fed every second.
    cmd.env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "2000000")
        .env_remove("WATCHDOG_PID");
    let started = Instant::now();
    let mut child = Headless::spawn(cmd);
    let got = receive(&socket, Duration::from_secs(30), |got| {
        got.iter()
            .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
            .count()
            >= 3
            && got.iter().any(|m| m.lines().any(|l| l == "READY=1"))
    });
    let ready = got.iter().position(|m| m.lines().any(|l| l == "READY=1"));
    let watchdogs = got
        .iter()
        .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
        .count();
    assert!(
        ready.is_some(),
        "no READY=1 in {got:?}\n{}",
        child.transcript()
    );
    assert!(watchdogs >= 3, "{watchdogs} WATCHDOG=1 in {got:?}");
    // Three feeds of a 2 s watchdog take about two seconds, not one each
    // turn of the loop (several a second) nor one a period.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "three feeds took {took:?}");
    child.signal(libc::SIGTERM);
    let got = receive(&socket, Duration::from_secs(15), |got| {
        got.iter().any(|m| m.lines().any(|l| l == "STOPPING=1"))
    });
    assert!(
        got.iter().any(|m| m.contains("STOPPING=1")),
        "no STOPPING=1 in {got:?}"
    );
    assert_eq!(child.terminate(Duration::from_secs(30)).code(), Some(0));
}
