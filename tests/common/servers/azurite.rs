//! Azurite, Microsoft's Azure Storage emulator: its blob server on a free
//! port, keeping blobs in memory.

use std::process::Command;

use super::{Server, cache_dir, free_port, python};

/// The emulator's account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// The emulator's fixed account key (published in Azurite's README).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A blob request signed with the account key (Shared Key), which Azurite
/// checks as Azure does. Python's standard library has the HMAC this needs;
/// cronport's own client (object_store) cannot create containers.
/// argv: port account key method path [query ...]; prints the body.
const SIGNED_REQUEST: &str = r#"
import base64, hashlib, hmac, sys, urllib.request
from email.utils import formatdate
port, account, key, method, path = sys.argv[1:6]
query = sorted(q.split("=", 1) for q in sys.argv[6:])
date = formatdate(usegmt=True)
version = "2021-08-06"
resource = f"/{account}{path}" + "".join(f"\n{k}:{v}" for k, v in query)
length = ""  # a zero Content-Length is signed as empty
to_sign = f"{method}\n\n\n{length}\n" + "\n" * 8 + f"x-ms-date:{date}\nx-ms-version:{version}\n{resource}"
mac = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
url = f"http://127.0.0.1:{port}{path}?" + "&".join(f"{k}={v}" for k, v in query)
headers = {"x-ms-date": date, "x-ms-version": version,
           "Authorization": f"SharedKey {account}:{base64.b64encode(mac).decode()}"}
# No body: http.client sends a PUT's "Content-Length: 0" itself, and no
# Content-Type (which urllib adds for a body, and would be signed).
request = urllib.request.Request(url, method=method, headers=headers)
sys.stdout.write(urllib.request.urlopen(request).read().decode())
"#;

/// Azurite's blob server.
pub struct Azurite {
    /// The server.
    pub server: Server,
    _dir: tempfile::TempDir,
}

/// The azurite-blob command: `CRONPORT_TEST_AZURITE`, else where
/// `scripts/services.sh destinations` installs it.
fn binary() -> String {
    if let Ok(path) = std::env::var("CRONPORT_TEST_AZURITE") {
        return path;
    }
    cache_dir()
        .map(|c| c.join("cronport/azurite/node_modules/.bin/azurite-blob"))
        .filter(|p| p.exists())
        .map_or_else(|| "azurite-blob".to_string(), |p| p.display().to_string())
}

impl Azurite {
    /// Start it on a free port.
    pub fn start() -> Azurite {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(binary());
        command
            .current_dir(dir.path())
            .args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(port.to_string())
            .args([
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--silent",
            ]);
        Azurite {
            server: Server::start("azurite (Azure blob)", command, port),
            _dir: dir,
        }
    }

    /// The account's endpoint, as object_store's `endpoint` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.server.port)
    }

    /// A signed request to the account (`path` after the account); the
    /// answer's body.
    pub fn request(&self, method: &str, path: &str, query: &[&str]) -> String {
        let out = Command::new(python())
            .arg("-c")
            .arg(SIGNED_REQUEST)
            .arg(self.server.port.to_string())
            .args([AZURITE_ACCOUNT, AZURITE_KEY, method])
            .arg(format!("/{AZURITE_ACCOUNT}{path}"))
            .args(query)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{method} {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Create the container `name`.
    pub fn create_container(&self, name: &str) {
        self.request("PUT", &format!("/{name}"), &["restype=container"]);
    }
}
