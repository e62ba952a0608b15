//! The `sftp` destination: SSH with a key file, the server's host key
//! checked against a known_hosts file (or a pinned fingerprint), the export
//! written under a temporary name and renamed into place.
//!
//! SFTP files carry no metadata of ours, so the fire is recorded in the
//! file's modification time: it is set to the slot before the rename, and a
//! file under the final name whose modification time is the slot is this
//! fire's delivery, which a redelivery leaves alone.

mod config;
mod host_key;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::FileAttributes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::pattern::PathPattern;
use super::{Artifact, Destination, DestinationError, secret};
use crate::export::RunContext;
pub use config::SftpConfig;
use host_key::HostCheck;

/// Delivers over SFTP.
pub struct SftpDestination {
    config: SftpConfig,
    pattern: Result<PathPattern, super::pattern::PatternError>,
}

/// A logged-in SFTP session.
struct Connection {
    ssh: Handle<HostCheck>,
    sftp: SftpSession,
}

impl Connection {
    async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self
            .ssh
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

impl SftpDestination {
    /// A destination for a validated config.
    pub fn new(config: SftpConfig) -> Self {
        SftpDestination {
            pattern: PathPattern::parse(&config.path),
            config,
        }
    }

    fn shown(&self) -> String {
        format!(
            "sftp://{}@{}:{}",
            self.config.user, self.config.host, self.config.port
        )
    }

    fn remote(&self, action: &'static str, e: impl ToString) -> DestinationError {
        DestinationError::remote(action, self.shown(), e)
    }

    async fn connect(&self) -> Result<Connection, DestinationError> {
        let c = &self.config;
        let refusal = Arc::new(std::sync::Mutex::new(None));
        let check = HostCheck {
            host: c.host.clone(),
            port: c.port,
            known_hosts: c.known_hosts.clone(),
            fingerprint: c.host_key_fingerprint.clone(),
            refusal: refusal.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(c.timeout.0),
            ..client::Config::default()
        });
        let connecting = client::connect(config, (c.host.as_str(), c.port), check);
        let mut ssh = match tokio::time::timeout(c.timeout.0, connecting).await {
            Err(_) => return Err(self.remote("connect to", "timed out")),
            Ok(Err(e)) => {
                let why = refusal.lock().ok().and_then(|mut r| r.take());
                return Err(self.remote("connect to", why.unwrap_or_else(|| e.to_string())));
            }
            Ok(Ok(ssh)) => ssh,
        };
        let hash = ssh
            .best_supported_rsa_hash()
            .await
            .map_err(|e| self.remote("log in to", e))?
            .flatten();
        match &c.key_file {
            Some(file) => self.login_with_key(&mut ssh, file, hash).await?,
            None => self.login_with_agent(&mut ssh, hash).await?,
        }
        let channel = ssh
            .channel_open_session()
            .await
            .map_err(|e| self.remote("open a session on", e))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| self.remote("start sftp on", e))?;
        let sftp = SftpSession::new(channel.into_stream())
            .await
            .map_err(|e| self.remote("start sftp on", e))?;
        sftp.set_timeout(c.timeout.0.as_secs().max(1));
        Ok(Connection { ssh, sftp })
    }

    async fn login_with_key(
        &self,
        ssh: &mut Handle<HostCheck>,
        file: &Path,
        hash: Option<HashAlg>,
    ) -> Result<(), DestinationError> {
        let c = &self.config;
        let passphrase = secret("key_passphrase_env", c.key_passphrase_env.as_deref(), None)?;
        let key = russh::keys::load_secret_key(file, passphrase.as_ref().map(|p| p.expose()))
            .map_err(|e| DestinationError::Setting {
                key: "key_file",
                message: format!("cannot load {}: {e}", file.display()),
            })?;
        let auth = ssh
            .authenticate_publickey(
                c.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|e| self.remote("log in to", e))?;
        if !auth.success() {
            return Err(self.remote(
                "log in to",
                format!("the server refused the key {}", file.display()),
            ));
        }
        Ok(())
    }

    /// Offer each key the agent holds until the server takes one.
    async fn login_with_agent(
        &self,
        ssh: &mut Handle<HostCheck>,
        hash: Option<HashAlg>,
    ) -> Result<(), DestinationError> {
        let c = &self.config;
        let agent_error = |e: &dyn std::fmt::Display| DestinationError::Setting {
            key: "agent",
            message: format!("cannot use the ssh-agent: {e}"),
        };
        let mut agent = match &c.agent_socket {
            Some(path) => AgentClient::connect_uds(path).await,
            None => AgentClient::connect_env().await,
        }
        .map_err(|e| agent_error(&e))?;
        let identities = agent
            .request_identities()
            .await
            .map_err(|e| agent_error(&e))?;
        let mut offered = 0;
        for identity in identities {
            let AgentIdentity::PublicKey { key, .. } = identity else {
                continue;
            };
            offered += 1;
            let auth = ssh
                .authenticate_publickey_with(c.user.clone(), key, hash, &mut agent)
                .await
                .map_err(|e| self.remote("log in to", e))?;
            if auth.success() {
                return Ok(());
            }
        }
        Err(self.remote(
            "log in to",
            format!("the server refused all {offered} key(s) the ssh-agent holds"),
        ))
    }

    fn full_path(&self, relative: &str) -> String {
        match &self.config.root {
            Some(root) => format!("{}/{relative}", root.trim_end_matches('/')),
            None => relative.to_string(),
        }
    }

    async fn upload(
        &self,
        conn: &Connection,
        artifact: &Artifact,
        target: &str,
        slot: u32,
        fire: &str,
    ) -> Result<(), DestinationError> {
        let sftp = &conn.sftp;
        if let Ok(existing) = sftp.metadata(target).await
            && existing.mtime == Some(slot)
        {
            tracing::info!("{target} already holds fire {fire}; not uploading again");
            return Ok(());
        }
        let (folder, name) = target.rsplit_once('/').unwrap_or((".", target));
        make_folders(sftp, folder)
            .await
            .map_err(|e| self.remote("create folder", format!("{folder}: {e}")))?;
        let temp = format!("{folder}/.{name}.cronport-{}.part", std::process::id());
        let result = self.write_temp(sftp, artifact, &temp, slot).await;
        let result = match result {
            Ok(()) => self.rename_into_place(sftp, &temp, target).await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = sftp.remove_file(temp.as_str()).await;
        }
        result
    }

    async fn write_temp(
        &self,
        sftp: &SftpSession,
        artifact: &Artifact,
        temp: &str,
        slot: u32,
    ) -> Result<(), DestinationError> {
        let io = DestinationError::reading(&artifact.path);
        let mut local = tokio::fs::File::open(&artifact.path).await.map_err(io)?;
        let mut remote = sftp
            .create(temp)
            .await
            .map_err(|e| self.remote("write", format!("{temp}: {e}")))?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = local.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                break;
            }
            remote
                .write_all(&buf[..n])
                .await
                .map_err(|e| self.remote("write", format!("{temp}: {e}")))?;
        }
        remote
            .flush()
            .await
            .map_err(|e| self.remote("write", format!("{temp}: {e}")))?;
        remote
            .shutdown()
            .await
            .map_err(|e| self.remote("write", format!("{temp}: {e}")))?;
        let attributes = FileAttributes {
            atime: Some(slot),
            mtime: Some(slot),
            ..FileAttributes::empty()
        };
        sftp.set_metadata(temp, attributes)
            .await
            .map_err(|e| self.remote("set the time of", format!("{temp}: {e}")))
    }

    /// SFTP's rename refuses to replace a file; a different fire's file
    /// under the final name is removed first (the new file is complete by
    /// then, so readers see the old file, no file, or the new one).
    async fn rename_into_place(
        &self,
        sftp: &SftpSession,
        temp: &str,
        target: &str,
    ) -> Result<(), DestinationError> {
        if sftp.rename(temp, target).await.is_ok() {
            return Ok(());
        }
        if sftp.try_exists(target).await.unwrap_or(false) {
            sftp.remove_file(target)
                .await
                .map_err(|e| self.remote("replace", format!("{target}: {e}")))?;
        }
        sftp.rename(temp, target)
            .await
            .map_err(|e| self.remote("rename into place", format!("{target}: {e}")))
    }
}

async fn make_folders(
    sftp: &SftpSession,
    folder: &str,
) -> Result<(), russh_sftp::client::error::Error> {
    if folder == "." || folder.is_empty() || sftp.try_exists(folder).await.unwrap_or(false) {
        return Ok(());
    }
    let mut path = String::new();
    for part in folder.split('/') {
        if part.is_empty() {
            path.push('/');
            continue;
        }
        if !path.is_empty() && !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(part);
        if !sftp.try_exists(path.as_str()).await.unwrap_or(false) {
            sftp.create_dir(path.as_str()).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Destination for SftpDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let pattern = super::pattern::parsed(&self.pattern)?;
        let relative = pattern.render_slashed(ctx, &artifact.extension)?;
        let target = self.full_path(&relative);
        let slot = u32::try_from(ctx.scheduled_for.timestamp())
            .map_err(|_| self.remote("upload", "the slot is outside the times SFTP can record"))?;
        let conn = self.connect().await?;
        let result = self
            .upload(&conn, artifact, &target, slot, &super::fire_id(ctx))
            .await;
        conn.close().await;
        result?;
        Ok(format!(
            "{}/{}",
            self.shown(),
            target.trim_start_matches('/')
        ))
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        let Some(path) = location
            .strip_prefix(&self.shown())
            .and_then(|p| p.strip_prefix('/'))
        else {
            return Ok(());
        };
        let path = match &self.config.root {
            Some(root) if root.starts_with('/') => format!("/{path}"),
            _ => path.to_string(),
        };
        let conn = self.connect().await?;
        let result = match conn.sftp.remove_file(path.as_str()).await {
            Ok(()) => Ok(()),
            Err(_) if !conn.sftp.try_exists(path.as_str()).await.unwrap_or(true) => Ok(()),
            Err(e) => Err(self.remote("remove", format!("{path}: {e}"))),
        };
        conn.close().await;
        result
    }

    async fn check(&self) -> Result<String, DestinationError> {
        let conn = self.connect().await?;
        let folder = self.config.root.clone().unwrap_or_else(|| ".".into());
        let probe = format!(
            "{}/.cronport-check-{}",
            folder.trim_end_matches('/'),
            std::process::id()
        );
        let result = async {
            make_folders(&conn.sftp, &folder)
                .await
                .map_err(|e| self.remote("create folder", format!("{folder}: {e}")))?;
            let write_err = |e: &dyn std::fmt::Display| {
                self.remote("write a probe to", format!("{probe}: {e}"))
            };
            let mut file = conn
                .sftp
                .create(probe.as_str())
                .await
                .map_err(|e| write_err(&e))?;
            file.write_all(b"cronport check\n")
                .await
                .map_err(|e| write_err(&e))?;
            file.shutdown().await.map_err(|e| write_err(&e))?;
            conn.sftp
                .remove_file(probe.as_str())
                .await
                .map_err(|e| self.remote("remove the probe", format!("{probe}: {e}")))
        }
        .await;
        conn.close().await;
        result?;
        Ok(format!("{} is writable ({folder})", self.shown()))
    }
}
