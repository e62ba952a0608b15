//! Real servers for destination tests, each a child process on a free
//! loopback port, killed when dropped. `scripts/services.sh destinations`
//! installs them.

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

    /// Kill the server now (for fault tests).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// Python with the test servers' packages: `CRONPORT_TEST_PYTHON`, else
/// the virtualenv `scripts/services.sh destinations` makes when the system
/// Python lacks them, else `python3`.
pub fn python() -> String {
    if let Ok(python) = std::env::var("CRONPORT_TEST_PYTHON") {
        return python;
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")));
    if let Some(cache) = cache {
        let venv = cache.join("cronport/test-venv/bin/python");
        if venv.exists() {
            return venv.display().to_string();
        }
    }
    "python3".to_string()
}

/// moto's S3 server.
pub fn moto() -> Server {
    let port = free_port();
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

/// A throwaway certificate authority and a certificate for `localhost`
/// signed by it, made with the openssl command.
pub struct Certs {
    /// The CA certificate (PEM), for clients to trust.
    pub ca: std::path::PathBuf,
    /// The server certificate (PEM).
    pub cert: std::path::PathBuf,
    /// The server key (PEM).
    pub key: std::path::PathBuf,
}

/// Make a CA and a `localhost` certificate in `dir`.
pub fn make_certs(dir: &Path) -> Certs {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=cronport test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// The recording SMTP server (`scripts/smtp-recorder.py`, aiosmtpd).
pub struct Smtp {
    /// The server.
    pub server: Server,
    /// Its certificates (when TLS is on).
    pub certs: Option<Certs>,
    dir: tempfile::TempDir,
}

/// One received message.
#[derive(Debug)]
pub struct Mail {
    /// The raw message.
    pub raw: String,
    /// Envelope: mail_from, rcpt_tos, authenticated, tls.
    pub envelope: serde_json::Value,
    /// Attachments as a mail client would save them: (file name, bytes).
    pub attachments: Vec<(String, Vec<u8>)>,
    /// The plain text body, decoded.
    pub body: String,
}

impl Mail {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let head = self.raw.split("\r\n\r\n").next().unwrap_or("");
        head.split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_string())
    }
}

impl Smtp {
    /// Start a server: `mode` is none, starttls or tls; `auth` a required login.
    pub fn start(mode: &str, auth: Option<&str>) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).unwrap();
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(scripts_dir().join("smtp-recorder.py"))
            .arg(port.to_string())
            .arg(&out)
            .args(["--mode", mode]);
        let certs = (mode != "none").then(|| make_certs(dir.path()));
        if let Some(certs) = &certs {
            command
                .arg("--cert")
                .arg(&certs.cert)
                .arg("--key")
                .arg(&certs.key);
        }
        if let Some(auth) = auth {
            command.args(["--auth", auth]);
        }
        Smtp {
            server: Server::start("SMTP (aiosmtpd)", command, port),
            certs,
            dir,
        }
    }

    /// The messages received so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        let out = self.dir.path().join("mail");
        let mut mails = Vec::new();
        for n in 1.. {
            let eml = out.join(format!("{n}.eml"));
            let Ok(raw) = std::fs::read_to_string(&eml) else {
                break;
            };
            let envelope: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(out.join(format!("{n}.json"))).unwrap(),
            )
            .unwrap();
            let body =
                std::fs::read_to_string(out.join(format!("{n}.body.txt"))).unwrap_or_default();
            let prefix = format!("{n}.att.");
            let mut attachments: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
                .unwrap()
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let file = name.strip_prefix(&prefix)?.to_string();
                    Some((file, std::fs::read(e.path()).unwrap()))
                })
                .collect();
            attachments.sort();
            mails.push(Mail {
                raw,
                envelope,
                attachments,
                body,
            });
        }
        mails
    }
}

/// OpenSSH's sshd with its own config, host key and one user key, in a
/// temporary folder; the login is the user running the tests.
pub struct Sshd {
    /// The server.
    pub server: Server,
    /// Holds keys, config and the upload folder.
    pub dir: tempfile::TempDir,
    /// The user's private key.
    pub user_key: std::path::PathBuf,
    /// A known_hosts file listing this server's host key.
    pub known_hosts: std::path::PathBuf,
    /// The host key's SHA256 fingerprint.
    pub fingerprint: String,
    /// The login.
    pub user: String,
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "cronport-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen (scripts/services.sh destinations installs it)");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The sshd binary.
pub fn sshd_binary() -> String {
    std::env::var("CRONPORT_TEST_SSHD").unwrap_or_else(|_| "/usr/sbin/sshd".to_string())
}

impl Sshd {
    /// Start sshd on a free port.
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir(d.join("upload")).unwrap();
        // sshd running as root needs its privilege separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nPermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\n\
                 LogLevel ERROR\n",
                d = d.display()
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut fields = host_pub.split_whitespace();
        let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {kind} {key}\n"),
        )
        .unwrap();
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(d.join("host_key.pub"))
            .output()
            .unwrap();
        let fingerprint = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let mut command = Command::new(sshd_binary());
        command
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"));
        Sshd {
            server: Server::start("sshd", command, port),
            user_key: d.join("user_key"),
            known_hosts: d.join("known_hosts"),
            fingerprint,
            user,
            dir,
        }
    }

    /// The folder uploads go to.
    pub fn upload_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("upload")
    }
}

/// The local Dropbox API stand-in (`scripts/dropbox-api.py`), which checks
/// each request against the documented API.
pub struct DropboxApi {
    /// The server.
    pub server: Server,
    dir: tempfile::TempDir,
}

/// App key, app secret and refresh token the stand-in accepts.
pub const DROPBOX_APP: (&str, &str, &str) = ("app-key-1", "app-secret-2", "refresh-token-3");

impl DropboxApi {
    /// Start it.
    pub fn start() -> DropboxApi {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(scripts_dir().join("dropbox-api.py"))
            .arg(port.to_string())
            .arg(dir.path().join("files"))
            .arg(dir.path().join("requests.jsonl"))
            .args([DROPBOX_APP.0, DROPBOX_APP.1, DROPBOX_APP.2]);
        DropboxApi {
            server: Server::start("Dropbox API stand-in", command, port),
            dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// A stored file (Dropbox path `/a/b` is `files/a/b`).
    pub fn file(&self, path: &str) -> std::path::PathBuf {
        self.dir
            .path()
            .join("files")
            .join(path.trim_start_matches('/'))
    }

    /// Every request: (endpoint, status, reason).
    pub fn requests(&self) -> Vec<(String, u16, String)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    v["endpoint"].as_str().unwrap().to_string(),
                    v["status"].as_u64().unwrap() as u16,
                    v["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// The local Google Drive API stand-in (`scripts/gdrive-api.py`), which
/// checks each request against the documented API. Its folder is `folder-1`.
pub struct GdriveApi {
    /// The server.
    pub server: Server,
    dir: tempfile::TempDir,
}

/// Client id, client secret and refresh token the stand-in accepts.
pub const GDRIVE_APP: (&str, &str, &str) = ("client-1.apps", "client-secret-2", "1//refresh-3");

impl GdriveApi {
    /// Start it.
    pub fn start() -> GdriveApi {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(python());
        command
            .arg(scripts_dir().join("gdrive-api.py"))
            .arg(port.to_string())
            .arg(dir.path().join("files"))
            .arg(dir.path().join("requests.jsonl"))
            .args([GDRIVE_APP.0, GDRIVE_APP.1, GDRIVE_APP.2]);
        GdriveApi {
            server: Server::start("Google Drive API stand-in", command, port),
            dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// Every stored file: (metadata, content).
    pub fn files(&self) -> Vec<(serde_json::Value, Vec<u8>)> {
        let dir = self.dir.path().join("files");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                let meta: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
                out.push((meta, std::fs::read(dir.join(id)).unwrap()));
            }
        }
        out
    }

    /// Every request: (method, endpoint, status, reason).
    pub fn requests(&self) -> Vec<(String, String, u16, String)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    v["method"].as_str().unwrap().to_string(),
                    v["endpoint"].as_str().unwrap().to_string(),
                    v["status"].as_u64().unwrap() as u16,
                    v["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}
