//! Destinations: where a rendered export goes. One file per kind behind the
//! [`Destination`] seam; each is named once in the config and shared by jobs.

pub mod chat;
pub mod dropbox;
pub mod email;
pub mod gdrive;
pub(crate) mod http_retry;
pub mod local;
pub mod notice;
pub mod object_store;
pub mod pattern;
pub mod retention;
pub mod retry_after;
pub mod sftp;
pub mod webhook;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::RunContext;
use crate::config::secret::Secret;

/// `[destinations.NAME]` as written in the config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DestinationConfig {
    /// A folder on this machine.
    Local(local::LocalConfig),
    /// An S3, GCS or Azure bucket, or a `file://` folder, via object_store.
    ObjectStore(object_store::ObjectStoreConfig),
    /// An HTTP endpoint that receives the file or a JSON notice.
    Webhook(webhook::WebhookConfig),
    /// Mail through an SMTP server.
    Email(email::EmailConfig),
    /// A folder on an SSH server.
    Sftp(sftp::SftpConfig),
    /// A Dropbox folder, through its HTTP API.
    Dropbox(dropbox::DropboxConfig),
    /// A Google Drive folder, through its HTTP API.
    Gdrive(gdrive::GdriveConfig),
    /// Notices as Slack messages, through an incoming webhook.
    Slack(chat::ChatConfig),
    /// Notices as Microsoft Teams cards, through a workflow webhook.
    Teams(chat::ChatConfig),
}

impl DestinationConfig {
    /// The kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            DestinationConfig::Local(_) => "local",
            DestinationConfig::ObjectStore(_) => "object_store",
            DestinationConfig::Webhook(_) => "webhook",
            DestinationConfig::Email(_) => "email",
            DestinationConfig::Sftp(_) => "sftp",
            DestinationConfig::Dropbox(_) => "dropbox",
            DestinationConfig::Gdrive(_) => "gdrive",
            DestinationConfig::Slack(_) => "slack",
            DestinationConfig::Teams(_) => "teams",
        }
    }

    /// Whether a job may name it in `notify.to`: it talks to people.
    pub fn can_notify(&self) -> bool {
        matches!(
            self,
            DestinationConfig::Webhook(_)
                | DestinationConfig::Email(_)
                | DestinationConfig::Slack(_)
                | DestinationConfig::Teams(_)
        )
    }

    /// Whether a job may name it in `destinations`: it can take a file.
    /// Chat webhooks cannot; they only carry notices.
    pub fn can_deliver(&self) -> bool {
        !matches!(
            self,
            DestinationConfig::Slack(_) | DestinationConfig::Teams(_)
        )
    }

    /// Check the settings that can be checked without I/O; the message names
    /// the key. Relative paths are resolved against `base` (the config's folder).
    pub fn validate(&mut self, base: &std::path::Path) -> Result<(), (String, String)> {
        match self {
            DestinationConfig::Local(config) => config.validate(base),
            DestinationConfig::ObjectStore(config) => config.validate(base),
            DestinationConfig::Webhook(config) => config.validate(),
            DestinationConfig::Email(config) => config.validate(base),
            DestinationConfig::Sftp(config) => config.validate(base),
            DestinationConfig::Dropbox(config) => config.validate(),
            DestinationConfig::Gdrive(config) => config.validate(),
            DestinationConfig::Slack(config) => config.validate(base, chat::Service::Slack),
            DestinationConfig::Teams(config) => config.validate(base, chat::Service::Teams),
        }
    }

    /// The destination ready to deliver.
    pub fn build(&self) -> Box<dyn Destination> {
        match self {
            DestinationConfig::Local(config) => {
                Box::new(local::LocalDestination::new(config.clone()))
            }
            DestinationConfig::ObjectStore(config) => {
                Box::new(object_store::ObjectStoreDestination::new(config.clone()))
            }
            DestinationConfig::Webhook(config) => {
                Box::new(webhook::WebhookDestination::new(config.clone()))
            }
            DestinationConfig::Email(config) => {
                Box::new(email::EmailDestination::new(config.clone()))
            }
            DestinationConfig::Sftp(config) => Box::new(sftp::SftpDestination::new(config.clone())),
            DestinationConfig::Dropbox(config) => {
                Box::new(dropbox::DropboxDestination::new(config.clone()))
            }
            DestinationConfig::Gdrive(config) => {
                Box::new(gdrive::GdriveDestination::new(config.clone()))
            }
            DestinationConfig::Slack(config) => Box::new(chat::ChatDestination::new(
                config.clone(),
                chat::Service::Slack,
            )),
            DestinationConfig::Teams(config) => Box::new(chat::ChatDestination::new(
                config.clone(),
                chat::Service::Teams,
            )),
        }
    }
}

/// A rendered export waiting in the spool.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The spool file.
    pub path: PathBuf,
    /// File extension (`{ext}`).
    pub extension: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows rendered.
    pub rows: u64,
    /// Where earlier destinations of this run put it (links for notices).
    pub delivered: Vec<String>,
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The path pattern rendered to something unusable.
    #[error("path pattern: {0}")]
    Pattern(#[from] pattern::PatternError),
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A setting could not be used when delivering (a secret that is not
    /// set, a URL the client refused).
    #[error("{key}: {message}")]
    Setting {
        /// The config key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The remote side refused or could not be reached.
    #[error("{action} {target}: {message}")]
    Remote {
        /// What was being done.
        action: &'static str,
        /// Where.
        target: String,
        /// What the server or client said.
        message: String,
    },
}

impl DestinationError {
    /// For `map_err`: reading the file at `path` failed.
    pub fn reading(path: &Path) -> impl Fn(std::io::Error) -> Self + Copy + '_ {
        move |source| DestinationError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        }
    }

    /// A remote failure.
    pub fn remote(action: &'static str, target: impl Into<String>, message: impl ToString) -> Self {
        DestinationError::Remote {
            action,
            target: target.into(),
            message: message.to_string(),
        }
    }
}

/// The stable id of one firing of a job: the same for every attempt, retry
/// and redelivery of a slot, so destinations can recognise a delivery they
/// already have. Millisecond precision keeps two manual runs apart.
pub fn fire_id(ctx: &RunContext) -> String {
    fire_id_of(&ctx.job, ctx.scheduled_for)
}

/// [`fire_id`] from the job's name and the slot.
pub fn fire_id_of(job: &str, slot: chrono::DateTime<chrono::Utc>) -> String {
    format!("{job}@{}", slot.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// Read a secret named by `{key}_env` / `{key}_file` at the moment it is
/// needed; the error names the key but never the value.
pub(crate) fn secret(
    key: &'static str,
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<Secret>, DestinationError> {
    Secret::resolve(env, file).map_err(|message| DestinationError::Setting { key, message })
}

/// A secret that must be set, read from the environment variable `var`;
/// the error names the setting `key`.
pub(crate) fn required_secret(key: &'static str, var: &str) -> Result<String, DestinationError> {
    secret(key, Some(var), None)?
        .map(|s| s.expose().to_string())
        .ok_or(DestinationError::Setting {
            key,
            message: "is missing".into(),
        })
}

/// Trade a refresh token for an access token (the OAuth 2 `refresh_token`
/// grant): POST `form` to `token_url`. `service` names the remote in errors
/// and `error_of` picks the service's reason out of a refused answer.
pub(crate) async fn refresh_access_token(
    client: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
    service: &'static str,
    error_of: impl FnOnce(&serde_json::Value) -> String,
) -> Result<String, DestinationError> {
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = client
        .post(token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| DestinationError::remote("log in to", service, e.without_url()))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_string()),
        _ => Err(DestinationError::remote(
            "log in to",
            service,
            format!("HTTP {}: {}", status.as_u16(), error_of(&body)),
        )),
    }
}

/// Delivers artifacts somewhere.
#[async_trait]
pub trait Destination: Send + Sync {
    /// Deliver atomically: a reader sees the whole file under its final name
    /// or nothing. Returns where it went, for the run record.
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError>;
    /// Take back a delivery of a run that failed afterwards, so a failed run
    /// leaves no output behind.
    async fn retract(&self, location: &str) -> Result<(), DestinationError>;
    /// Whether [`Destination::retract`] can really take a delivery back
    /// (a sent mail or a received request cannot).
    fn can_retract(&self) -> bool {
        true
    }
    /// Check that deliveries can work (for `cronport check`).
    async fn check(&self) -> Result<String, DestinationError>;
    /// Send a notification (failure, recovery, success). Only destinations
    /// that talk to people can; returns where it went.
    async fn notify(&self, notice: &notice::Notice) -> Result<String, DestinationError> {
        let _ = notice;
        Err(DestinationError::Setting {
            key: "kind",
            message: "this destination cannot send notifications; name a webhook, email, slack or teams destination in notify.to".into(),
        })
    }
}
