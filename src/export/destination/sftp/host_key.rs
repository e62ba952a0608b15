//! Host key checking: the server must be the one known_hosts (or a pinned
//! fingerprint) names; an unknown or changed key is refused, and why is
//! kept for the error message.

use std::path::PathBuf;
use std::sync::Arc;

use russh::client;
use russh::keys::{HashAlg, PublicKeyOrCertificate};

/// Decides whether the server is the one we know.
pub(super) struct HostCheck {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) known_hosts: Option<PathBuf>,
    pub(super) fingerprint: Option<String>,
    /// Why the key was refused, for the error message.
    pub(super) refusal: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for HostCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                if let Ok(mut refusal) = self.refusal.lock() {
                    *refusal = Some(
                        "the server offered a host certificate; list its plain host key in known_hosts"
                            .into(),
                    );
                }
                return Ok(false);
            }
        };
        let seen = key.fingerprint(HashAlg::Sha256).to_string();
        let verdict = match (&self.known_hosts, &self.fingerprint) {
            (_, Some(pinned)) if *pinned == seen => Ok(()),
            (_, Some(pinned)) => Err(format!("host key {seen} is not the pinned {pinned}")),
            (Some(file), None) => {
                match russh::keys::check_known_hosts_path(&self.host, self.port, key, file) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(format!(
                        "host key {seen} of {}:{} is not in {}; add it there if it is right",
                        self.host,
                        self.port,
                        file.display()
                    )),
                    Err(russh::keys::Error::KeyChanged { line }) => Err(format!(
                        "HOST KEY CHANGED: {}:{} now shows {seen}, unlike line {line} of {}; refusing to connect",
                        self.host,
                        self.port,
                        file.display()
                    )),
                    Err(e) => Err(format!("cannot read {}: {e}", file.display())),
                }
            }
            (None, None) => Err("no known_hosts or host_key_fingerprint".into()),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                if let Ok(mut refusal) = self.refusal.lock() {
                    *refusal = Some(why);
                }
                Ok(false)
            }
        }
    }
}
