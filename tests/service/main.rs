//! cronport as a service, tested on the real binary: Prometheus metrics
//! (checked by `promtool` and scraped by a real Prometheus server),
//! `/healthz` and `/readyz`, `cronport status`, bad listen addresses, and
//! the systemd unit and notifications (`systemd-analyze verify`, READY=1 and
//! WATCHDOG=1 over a real notify socket).

#[path = "../common/mod.rs"]
mod common;

mod health;
mod metrics;
mod prometheus;
mod status;
mod systemd;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::process::{Headless, Sandbox, config_header, poll};

/// The config header and a job every second that exports two rows.
fn jobs(every_second: &str) -> String {
    format!(
        "{}[[jobs]]\nname = \"{every_second}\"\nschedule = \"every 1s\"\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"n\\n1\\n2\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n",
        config_header()
    )
}

/// A job that fails on every run (`false`), every second, without retries.
fn failing_job(name: &str) -> String {
    format!(
        "[[jobs]]\nname = \"{name}\"\nschedule = \"every 1s\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"false\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
    )
}

/// A loopback address with a port nobody listens on now.
fn free_address() -> SocketAddr {
    let port = common::servers::free_port();
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// One HTTP/1.1 GET: the status code and the body.
fn get(address: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no end of headers in {response:?}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    // The body is small and sent whole, or chunked: unchunk it.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        unchunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A headless instance of `sandbox` serving metrics on a free port, once
/// its listener answers.
fn headless_with_metrics(sandbox: &Sandbox) -> (Headless, SocketAddr) {
    let address = free_address();
    let child = sandbox.headless(&["--metrics", &address.to_string()]);
    poll("the metrics listener", Duration::from_secs(30), || {
        get(address, "/healthz").ok().map(|_| ())
    });
    (child, address)
}
