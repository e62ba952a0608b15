//! The systemd notification protocol (`sd_notify(3)`): a datagram of
//! `KEY=VALUE` lines to the socket named by `NOTIFY_SOCKET`. Written out
//! here because it is a few lines: `READY=1` once the store is open and the
//! scheduler has planned, `WATCHDOG=1` from the scheduler loop, `STOPPING=1`
//! when it drains.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// Send `state` (newline-separated `KEY=VALUE` lines) to systemd. `Ok(false)`
/// when not started by systemd with `Type=notify` (no `NOTIFY_SOCKET`).
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    let address = socket_address(path.as_encoded_bytes())?;
    let socket = UnixDatagram::unbound()?;
    socket.send_to_addr(state.as_bytes(), &address)?;
    Ok(true)
}

/// A path, or an abstract name written with a leading `@`.
fn socket_address(name: &[u8]) -> io::Result<SocketAddr> {
    match name.strip_prefix(b"@") {
        Some(abstract_name) => {
            use std::os::linux::net::SocketAddrExt as _;
            SocketAddr::from_abstract_name(abstract_name)
        }
        None => {
            use std::os::unix::ffi::OsStrExt as _;
            SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(name))
        }
    }
}

/// Tells [`notify`]'s failures once: a service whose notices do not arrive
/// is restarted by systemd, and the reason must be in its log.
pub fn notify_or_warn(state: &str) {
    if let Err(e) = notify(state) {
        tracing::warn!(
            "could not notify systemd ({}): {e}",
            state.lines().next().unwrap_or("")
        );
    }
}

/// systemd's watchdog for this process (`WATCHDOG_USEC`, and
/// `WATCHDOG_PID` naming this process when set): fed at half its period.
#[derive(Debug)]
pub struct Watchdog {
    every: Duration,
    last: Option<Instant>,
}

impl Watchdog {
    /// The watchdog systemd set for this process, if any.
    pub fn from_env() -> Option<Watchdog> {
        std::env::var_os("NOTIFY_SOCKET")?;
        if let Some(pid) = std::env::var_os("WATCHDOG_PID")
            && pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(std::process::id())
        {
            return None;
        }
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        if usec == 0 {
            return None;
        }
        Some(Watchdog {
            every: Duration::from_micros(usec) / 2,
            last: None,
        })
    }

    /// How often it is fed.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// Send `WATCHDOG=1` when half the period has passed since the last.
    pub fn feed_if_due(&mut self, now: Instant) {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.every)
        {
            return;
        }
        self.last = Some(now);
        notify_or_warn("WATCHDOG=1");
    }
}
