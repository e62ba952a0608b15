//! Real servers for destination tests, each a child process on a free
//! loopback port, killed when dropped. `scripts/services.sh destinations`
//! installs them.
// Each test binary that includes tests/common uses only some of these.
#![allow(unused_imports)]

mod apis;
mod azurite;
mod smtp;
mod sshd;

pub use apis::{DROPBOX_APP, DropboxApi, GDRIVE_APP, GdriveApi};
pub use azurite::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite};
pub use smtp::{Certs, Mail, Smtp, make_certs};
pub use sshd::{Sshd, sshd_binary};

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server child process listening on `port`.
pub struct Server {
    child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    name: String,
    /// Set once killed: the pid may belong to another process after that.
    killed: bool,
}

impl Server {
    /// Start `command` (which must listen on `port`) and wait until the port
    /// accepts connections.
    pub fn start(name: &str, mut command: Command, port: u16) -> Server {
        command.stdin(Stdio::null());
        if std::env::var_os("CRONPORT_TEST_SERVER_LOGS").is_none() {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start the {name} test server ({e}); run scripts/services.sh destinations"
            )
        });
        let mut server = Server {
            child,
            port,
            name: name.to_string(),
            killed: false,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the {} test server exited ({status}) before listening; run scripts/services.sh destinations",
                    self.name
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the {} test server did not listen on port {} within 30s",
                self.name,
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill the server now (for fault tests), with every process it
    /// started: sshd serves each connection from a child of its own, which
    /// would otherwise go on serving (and outlive the test).
    pub fn kill(&mut self) {
        if std::mem::replace(&mut self.killed, true) {
            return;
        }
        // Found before the parent dies: its orphans are adopted by init.
        let children = descendants(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in children {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2) on a process this server started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Every descendant of `pid`, from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let mut children = std::collections::HashMap::<u32, Vec<u32>>::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (name) state ppid ...": the name may hold spaces or ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if let Some(parent) = parent {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(next) = queue.pop() {
        for &child in children.get(&next).into_iter().flatten() {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

#[path = "../../support/python.rs"]
mod python_path;
pub use python_path::{cache_dir, python};

/// moto's S3 server.
pub fn moto() -> Server {
    moto_on(free_port())
}

/// moto's S3 server on `port` (again, after a fault test killed it: it
/// starts empty, as moto keeps everything in memory).
pub fn moto_on(port: u16) -> Server {
    let mut command = Command::new(python());
    command.args([
        "-m",
        "moto.server",
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ]);
    Server::start("moto (S3)", command, port)
}

/// The scripts folder of this repository.
pub fn scripts_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts"))
}

/// The recording webhook receiver (`scripts/webhook-recorder.py`): answers
/// the Nth request with `script[N]` (then 200) and records every request.
pub struct Webhook {
    /// The server.
    pub server: Server,
    record: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// One request the receiver got.
#[derive(Debug, serde::Deserialize)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names in lower case.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body, base64.
    pub body: String,
    /// What the script answered.
    pub answered: String,
    /// When it arrived, Unix seconds (the receiver's clock).
    pub received: f64,
}

impl Recorded {
    /// The body bytes.
    pub fn body(&self) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.body)
            .unwrap()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body()).unwrap()
    }
}

impl Webhook {
    /// Start a receiver with a script of answers.
    pub fn start(script: &[&str]) -> Webhook {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("requests.jsonl");
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(scripts_dir().join("webhook-recorder.py"))
            .arg(port.to_string())
            .arg(&record)
            .args(script);
        Webhook {
            server: Server::start("webhook recorder", command, port),
            record,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.server.port)
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}
