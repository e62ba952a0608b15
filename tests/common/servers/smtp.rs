//! aiosmtpd with plain, STARTTLS or TLS, and a throwaway CA for it.

use std::path::Path;
use std::process::Command;

use super::{Server, free_port, python, scripts_dir};

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

/// Make a self-signed `localhost` certificate in `dir`: no CA, the
/// certificate is its own issuer, and clients trust it by name (`ca` is the
/// certificate itself). It says CA:FALSE, as a server's own certificate
/// should; openssl's default (CA:TRUE) is refused by TLS clients as a
/// server certificate.
pub fn make_self_signed(dir: &Path) -> Certs {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
        ])
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Certs {
        ca: dir.join("self.pem"),
        cert: dir.join("self.pem"),
        key: dir.join("self.key"),
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
    /// Start a server: `mode` is none, starttls or tls; `auth` a required
    /// login. Its certificate is signed by a throwaway CA.
    pub fn start(mode: &str, auth: Option<&str>) -> Smtp {
        Self::start_with(mode, auth, make_certs)
    }

    /// [`Smtp::start`] with a self-signed certificate.
    pub fn start_self_signed(mode: &str, auth: Option<&str>) -> Smtp {
        Self::start_with(mode, auth, make_self_signed)
    }

    fn start_with(mode: &str, auth: Option<&str>, certs: fn(&Path) -> Certs) -> Smtp {
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
        let certs = (mode != "none").then(|| certs(dir.path()));
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
