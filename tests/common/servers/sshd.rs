//! OpenSSH's sshd on a free port with throwaway keys.

use std::path::Path;
use std::process::Command;

use super::{Server, free_port};

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

/// sshd in the foreground with the config in `dir`.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(sshd_binary());
    command
        .arg("-D")
        .arg("-e")
        .arg("-f")
        .arg(dir.join("sshd_config"));
    command
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
        Sshd {
            server: Server::start("sshd", command(d), port),
            user_key: d.join("user_key"),
            known_hosts: d.join("known_hosts"),
            fingerprint,
            user,
            dir,
        }
    }

    /// Start sshd again on the same port with the same keys, after a
    /// fault test killed it.
    pub fn restart(&mut self) {
        self.server.kill();
        self.server = Server::start("sshd", command(self.dir.path()), self.server.port);
    }

    /// The folder uploads go to.
    pub fn upload_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("upload")
    }
}
