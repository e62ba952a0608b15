//! The `email` destination: SMTP through lettre, STARTTLS, implicit TLS or
//! plain (local relays only). The export is attached, or linked when it is
//! larger than `max_attachment_mb`. The Message-ID is derived from the fire
//! id, so a redelivered message is recognisably the same message.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::notice::{Notice, check_template, render_template};
use super::webhook::{file_name, mime_type};
use super::{Artifact, Destination, DestinationError, secret};
use crate::config::duration::HumanDuration;
use crate::export::RunContext;

/// How the connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection, then STARTTLS, which is required.
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: for a relay on this machine or a trusted network.
    None,
}

/// `[destinations.NAME]` with `kind = "email"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://host:port`.
    pub smtp: String,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_env: Option<String>,
    /// Password, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Password, from this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// A PEM certificate to trust besides the public roots (an internal CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The sender.
    pub from: String,
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    /// Blind copy recipients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<String>,
    /// Subject of a delivery, with `{placeholders}`.
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Body of a delivery.
    #[serde(default = "default_body")]
    pub body: String,
    /// Subject of a notification (failure, recovery, success).
    #[serde(default = "default_notify_subject")]
    pub notify_subject: String,
    /// Body of a notification.
    #[serde(default = "default_notify_body")]
    pub notify_body: String,
    /// Larger exports are linked (from an earlier destination of the job)
    /// instead of attached.
    #[serde(default = "default_max_attachment_mb")]
    pub max_attachment_mb: u32,
    /// Per connection and command.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

fn default_subject() -> String {
    "{job}: export for {date}".into()
}

fn default_body() -> String {
    "The export of {job} for {scheduled_for} ({rows} rows) is attached.\n".into()
}

fn default_notify_subject() -> String {
    "[cronport] {job}: {event}".into()
}

fn default_notify_body() -> String {
    "{summary}\n\nJob: {job}\nRun: {run_id}\nSlot: {scheduled_for}\nStatus: {status}\n{error}\n"
        .into()
}

fn default_max_attachment_mb() -> u32 {
    10
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

/// Host and port from `smtp://host:port`.
fn server(text: &str, tls: SmtpTls) -> Result<(String, u16), String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err(format!("scheme {:?} is not smtp://", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put no login in the URL; use username_env and password_env".into());
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("names no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url.port().unwrap_or(match tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    Ok((host, port))
}

impl EmailConfig {
    pub(super) fn validate(&mut self, base: &Path) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| (key.to_string(), message);
        server(&self.smtp, self.tls).map_err(|m| err("smtp", m))?;
        self.from
            .parse::<Mailbox>()
            .map_err(|e| err("from", format!("{:?} is not an address: {e}", self.from)))?;
        for (key, list) in [("to", &self.to), ("cc", &self.cc), ("bcc", &self.bcc)] {
            for address in list {
                address
                    .parse::<Mailbox>()
                    .map_err(|e| err(key, format!("{address:?} is not an address: {e}")))?;
            }
        }
        if self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty() {
            return Err(err("to", "names no recipient".into()));
        }
        for (key, template) in [
            ("subject", &self.subject),
            ("body", &self.body),
            ("notify_subject", &self.notify_subject),
            ("notify_body", &self.notify_body),
        ] {
            check_template(template).map_err(|m| err(key, m))?;
        }
        if self.max_attachment_mb == 0 {
            return Err(err("max_attachment_mb", "must be at least 1".into()));
        }
        if self.username_env.is_some()
            != (self.password_env.is_some() || self.password_file.is_some())
        {
            return Err(err(
                "password_env",
                "give username_env with password_env (or password_file), or neither".into(),
            ));
        }
        for file in [&mut self.ca_file, &mut self.password_file]
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

/// Sends mail.
pub struct EmailDestination {
    config: EmailConfig,
}

impl EmailDestination {
    /// A destination for a validated config.
    pub fn new(config: EmailConfig) -> Self {
        EmailDestination { config }
    }

    fn shown(&self) -> String {
        self.config.smtp.clone()
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DestinationError> {
        let c = &self.config;
        let (host, port) = server(&c.smtp, c.tls).map_err(|message| DestinationError::Setting {
            key: "smtp",
            message,
        })?;
        let tls_error = |e: lettre::transport::smtp::Error| DestinationError::Setting {
            key: "ca_file",
            message: e.to_string(),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(c.timeout.0));
        if c.tls != SmtpTls::None {
            let mut params = TlsParameters::builder(host);
            if let Some(path) = &c.ca_file {
                let pem = std::fs::read(path).map_err(DestinationError::reading(path))?;
                params =
                    params.add_root_certificate(Certificate::from_pem(&pem).map_err(tls_error)?);
            }
            let params = params.build().map_err(tls_error)?;
            builder = builder.tls(match c.tls {
                SmtpTls::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        let user = secret("username_env", c.username_env.as_deref(), None)?;
        let password = secret(
            "password_env",
            c.password_env.as_deref(),
            c.password_file.as_deref(),
        )?;
        if let (Some(user), Some(password)) = (user, password) {
            builder = builder.credentials(Credentials::new(
                user.expose().to_string(),
                password.expose().to_string(),
            ));
        }
        Ok(builder.build())
    }

    /// Headers common to every message; `event` keeps the Message-IDs of a
    /// delivery and of a notification of the same fire apart.
    fn message(
        &self,
        notice: &Notice,
        subject: &str,
    ) -> Result<lettre::message::MessageBuilder, DestinationError> {
        let c = &self.config;
        let bad = |key: &'static str, address: &str| DestinationError::Setting {
            key,
            message: format!("{address:?} is not an address"),
        };
        let from: Mailbox = c.from.parse().map_err(|_| bad("from", &c.from))?;
        let domain = from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(from)
            .subject(render_template(subject, notice))
            .message_id(Some(message_id(notice, &domain)));
        for address in &c.to {
            builder = builder.to(address.parse().map_err(|_| bad("to", address))?);
        }
        for address in &c.cc {
            builder = builder.cc(address.parse().map_err(|_| bad("cc", address))?);
        }
        for address in &c.bcc {
            builder = builder.bcc(address.parse().map_err(|_| bad("bcc", address))?);
        }
        Ok(builder)
    }

    async fn send(&self, message: Message) -> Result<String, DestinationError> {
        let transport = self.transport()?;
        let response = transport
            .send(message)
            .await
            .map_err(|e| DestinationError::remote("send mail through", self.shown(), e))?;
        let recipients = self.config.to.len() + self.config.cc.len() + self.config.bcc.len();
        Ok(format!(
            "mail to {recipients} recipient(s) via {} ({})",
            self.shown(),
            response.code()
        ))
    }
}

/// `<job.20260308T020000.000Z.delivery@example.com>`: the same for every
/// attempt at the same fire and event.
pub fn message_id(notice: &Notice, domain: &str) -> String {
    let local: String = format!("{}.{}", notice.fire_id, notice.event.as_str())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{local}@{domain}>")
}

fn body_error(e: impl ToString) -> DestinationError {
    DestinationError::remote("compose", "the message", e)
}

#[async_trait]
impl Destination for EmailDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let c = &self.config;
        let name = file_name(artifact, ctx);
        let notice = Notice::delivery(artifact, ctx, name.clone());
        let body = render_template(&c.body, &notice);
        let limit = u64::from(c.max_attachment_mb) * 1024 * 1024;
        let builder = self.message(&notice, &c.subject)?;
        let message = if artifact.bytes <= limit {
            let data = tokio::fs::read(&artifact.path)
                .await
                .map_err(DestinationError::reading(&artifact.path))?;
            let kind = ContentType::parse(mime_type(&artifact.extension)).map_err(body_error)?;
            builder
                .multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(body))
                        .singlepart(Attachment::new(name).body(data, kind)),
                )
                .map_err(body_error)?
        } else {
            let Some(link) = artifact.delivered.first() else {
                return Err(DestinationError::Setting {
                    key: "max_attachment_mb",
                    message: format!(
                        "the export is {} bytes, above {} MB, and no destination listed before this one gave a link: list a storage destination first",
                        artifact.bytes, c.max_attachment_mb
                    ),
                });
            };
            let text = format!(
                "{body}\nThe file is too large to attach ({} bytes); it is here:\n{link}\n",
                artifact.bytes
            );
            builder
                .singlepart(SinglePart::plain(text))
                .map_err(body_error)?
        };
        self.send(message).await
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        tracing::warn!("a sent mail cannot be taken back: {location}");
        Ok(())
    }

    fn can_retract(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<String, DestinationError> {
        // Connecting, securing and logging in is the probe: sending would
        // mail someone.
        let transport = self.transport()?;
        match transport.test_connection().await {
            Ok(true) => Ok(format!("{} accepts connections", self.shown())),
            Ok(false) => Err(DestinationError::remote(
                "connect to",
                self.shown(),
                "no answer",
            )),
            Err(e) => Err(DestinationError::remote("connect to", self.shown(), e)),
        }
    }

    async fn notify(&self, notice: &Notice) -> Result<String, DestinationError> {
        let body = render_template(&self.config.notify_body, notice);
        let message = self
            .message(notice, &self.config.notify_subject)?
            .singlepart(SinglePart::plain(body))
            .map_err(body_error)?;
        self.send(message).await
    }
}
