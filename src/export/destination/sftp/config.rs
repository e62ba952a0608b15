//! `[destinations.NAME]` with `kind = "sftp"`: settings and their checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::pattern::PathPattern;
use crate::config::duration::HumanDuration;

/// `[destinations.NAME]` with `kind = "sftp"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConfig {
    /// The server.
    pub host: String,
    /// Its SSH port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The login.
    pub user: String,
    /// The private key (OpenSSH format); or use `agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Log in with the keys an ssh-agent holds (`SSH_AUTH_SOCK`, or
    /// `agent_socket`).
    #[serde(default)]
    pub agent: bool,
    /// The agent's socket, instead of `SSH_AUTH_SOCK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_socket: Option<PathBuf>,
    /// The key's passphrase, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_passphrase_env: Option<String>,
    /// Host keys to trust, in OpenSSH's known_hosts format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<PathBuf>,
    /// Or one host key fingerprint to trust (`SHA256:...`, as `ssh-keygen -l` prints it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_fingerprint: Option<String>,
    /// The remote folder paths are relative to (default: the login's home).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Where under the root; see [`PathPattern`].
    #[serde(default = "default_pattern")]
    pub path: String,
    /// For connecting and for each request.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

fn default_port() -> u16 {
    22
}

fn default_pattern() -> String {
    super::super::local::DEFAULT_PATTERN.to_string()
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

impl SftpConfig {
    pub(in crate::export::destination) fn validate(
        &mut self,
        base: &Path,
    ) -> Result<(), (String, String)> {
        let err = |key: &str, message: &str| (key.to_string(), message.to_string());
        if self.host.trim().is_empty() {
            return Err(err("host", "is empty"));
        }
        if self.user.trim().is_empty() {
            return Err(err("user", "is empty"));
        }
        if self.port == 0 {
            return Err(err("port", "must be 1 to 65535"));
        }
        match (&self.key_file, self.agent) {
            (None, false) => return Err(err("key_file", "is missing (or set agent = true)")),
            (Some(_), true) => return Err(err("agent", "give key_file or agent = true, not both")),
            _ => {}
        }
        if self.agent_socket.is_some() && !self.agent {
            return Err(err("agent_socket", "needs agent = true"));
        }
        match (&self.known_hosts, &self.host_key_fingerprint) {
            (None, None) => {
                return Err(err(
                    "known_hosts",
                    "is missing: name a known_hosts file (or pin host_key_fingerprint) so the server can be recognised",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    "host_key_fingerprint",
                    "give known_hosts or host_key_fingerprint, not both",
                ));
            }
            (None, Some(f)) if !f.starts_with("SHA256:") => {
                return Err(err(
                    "host_key_fingerprint",
                    "must start with SHA256: (as ssh-keygen -l prints it)",
                ));
            }
            _ => {}
        }
        if let Some(root) = &self.root
            && root.trim().is_empty()
        {
            return Err(err("root", "is empty"));
        }
        PathPattern::parse(&self.path).map_err(|e| ("path".to_string(), e.to_string()))?;
        for file in [
            self.key_file.as_mut(),
            self.known_hosts.as_mut(),
            self.agent_socket.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if file.is_relative() {
                *file = crate::config::paths::normalize(&base.join(&*file));
            }
        }
        Ok(())
    }
}
