//! The `slack` and `teams` destinations: notices about runs posted to a
//! chat webhook, as a Slack Block Kit message ([`slack`]) or a Microsoft
//! Teams Adaptive Card ([`teams`]). They only talk to people: a job names
//! them in `notify.to`, never as the destination of its file, which Slack's
//! and Teams' webhooks cannot take.
//!
//! A chat webhook's URL is its only credential (anyone holding it can
//! post), so it is read like a secret (`url_env`, `url_file`) and shown
//! with its host only.

pub mod slack;
pub mod teams;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::http_retry::{self, RetryPolicy};
use super::notice::{Notice, NoticeKind};
use super::{Artifact, Destination, DestinationError, secret};
use crate::config::duration::HumanDuration;
use crate::export::RunContext;

/// Which chat service a destination posts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Slack, through an incoming webhook.
    Slack,
    /// Microsoft Teams, through a workflow (Power Automate) webhook.
    Teams,
}

impl Service {
    /// The kind as written in the config.
    pub fn kind(self) -> &'static str {
        match self {
            Service::Slack => "slack",
            Service::Teams => "teams",
        }
    }

    /// The service's name, for messages.
    fn label(self) -> &'static str {
        match self {
            Service::Slack => "Slack",
            Service::Teams => "Teams",
        }
    }

    /// The JSON body of `notice`, sent at `sent_at`.
    pub fn body(self, notice: &Notice, sent_at: DateTime<Utc>) -> serde_json::Value {
        match self {
            Service::Slack => slack::message(notice, sent_at),
            Service::Teams => teams::message(notice, sent_at),
        }
    }
}

/// `[destinations.NAME]` with `kind = "slack"` or `kind = "teams"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// Never accepted: the URL is a secret. Read only so that writing it
    /// gets an error saying where to put it instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The webhook URL, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The webhook URL, from this file (relative to the config's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// Per request.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Further tries after a 5xx, a 429, a timeout or a refused connection.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first wait between tries; it doubles each time (capped at 1m).
    #[serde(default = "default_backoff")]
    pub backoff: HumanDuration,
    /// The longest `Retry-After` obeyed.
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after: HumanDuration,
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

fn default_retries() -> u32 {
    3
}

fn default_backoff() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}

/// Slack's rate limit is about one message a second per webhook; a minute
/// covers its 429s without holding a notice for long.
fn default_max_retry_after() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

/// The most `max_retry_after` may be: a run's default timeout.
const MAX_RETRY_AFTER_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The URL, if it is an http(s) URL. The error never holds the value.
fn check_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("does not hold a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "holds a URL whose scheme {:?} is not http or https",
            url.scheme()
        ));
    }
    Ok(url)
}

impl ChatConfig {
    /// Check the settings when the config is loaded. A URL already in the
    /// environment or its file is checked now, so a typo exits 2 at start;
    /// one not there yet is read (and checked) when a notice is sent.
    pub(crate) fn validate(
        &mut self,
        base: &std::path::Path,
        service: Service,
    ) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| (key.to_string(), message);
        let label = service.label();
        if self.url.is_some() {
            return Err(err(
                "url",
                format!(
                    "a {label} webhook URL is a secret (anyone holding it can post): keep it in an \
                     environment variable or a file and write url_env = \"VAR\" or url_file = \"PATH\""
                ),
            ));
        }
        if let Some(file) = &mut self.url_file {
            *file = base.join(&*file);
        }
        match (&self.url_env, &self.url_file) {
            (Some(_), Some(_)) => {
                return Err(err("url_env", "give url_env or url_file, not both".into()));
            }
            (None, None) => {
                return Err(err(
                    "url",
                    format!(
                        "is missing: write url_env = \"VAR\" (an environment variable holding the \
                         {label} webhook URL) or url_file = \"PATH\""
                    ),
                ));
            }
            (Some(var), None) => {
                if var.trim().is_empty() {
                    return Err(err("url_env", "is empty".into()));
                }
                if let Ok(text) = std::env::var(var) {
                    check_url(&text).map_err(|m| err("url_env", format!("${var} {m}")))?;
                }
            }
            (None, Some(path)) => {
                if let Ok(text) = std::fs::read_to_string(path) {
                    check_url(&text)
                        .map_err(|m| err("url_file", format!("{} {m}", path.display())))?;
                }
            }
        }
        if self.retries > 10 {
            return Err(err("retries", "at most 10".into()));
        }
        if self.timeout.0.is_zero() {
            return Err(err("timeout", "must be above zero".into()));
        }
        if self.max_retry_after.0 > MAX_RETRY_AFTER_LIMIT {
            return Err(err(
                "max_retry_after",
                format!("at most {}", HumanDuration(MAX_RETRY_AFTER_LIMIT)),
            ));
        }
        Ok(())
    }
}

/// Posts notices to a Slack or Teams webhook.
pub struct ChatDestination {
    config: ChatConfig,
    service: Service,
}

/// The resolved webhook.
struct Target {
    client: reqwest::Client,
    url: url::Url,
    /// The webhook as named in logs, errors and records: its host only.
    shown: String,
}

impl ChatDestination {
    /// A destination for a validated config.
    pub fn new(config: ChatConfig, service: Service) -> Self {
        ChatDestination { config, service }
    }

    fn target(&self) -> Result<Target, DestinationError> {
        let c = &self.config;
        let key = if c.url_env.is_some() {
            "url_env"
        } else {
            "url_file"
        };
        let url = secret(key, c.url_env.as_deref(), c.url_file.as_deref())?.ok_or(
            DestinationError::Setting {
                key: "url",
                message: "is missing".into(),
            },
        )?;
        let url = check_url(url.expose()).map_err(|message| DestinationError::Setting {
            key,
            message: format!("{} {message}", c.url_env.as_deref().unwrap_or("the file")),
        })?;
        let shown = format!(
            "{} webhook {}://{}/...",
            self.service.label(),
            url.scheme(),
            url.host_str().unwrap_or("")
        );
        let client = reqwest::Client::builder()
            .timeout(c.timeout.0)
            .user_agent(concat!("cronport/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DestinationError::remote("set up a client for", &shown, e))?;
        Ok(Target { client, url, shown })
    }
}

#[async_trait]
impl Destination for ChatDestination {
    async fn deliver(
        &self,
        _artifact: &Artifact,
        _ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        // The config refuses this; a job stored before the destination's
        // kind changed still reaches here.
        Err(DestinationError::Setting {
            key: "kind",
            message: format!(
                "a {} destination posts notices, not files: name it in the job's notify.to, \
                 not in its destinations",
                self.service.kind()
            ),
        })
    }

    async fn retract(&self, _location: &str) -> Result<(), DestinationError> {
        Ok(())
    }

    fn can_retract(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<String, DestinationError> {
        // Posting would put a message in front of people; reaching the
        // server is the probe, whatever it answers to HEAD.
        let target = self.target()?;
        let response = target
            .client
            .head(target.url.clone())
            .send()
            .await
            .map_err(|e| DestinationError::remote("reach", &target.shown, e.without_url()))?;
        Ok(format!(
            "{} answers (HTTP {} to HEAD)",
            target.shown,
            response.status().as_u16()
        ))
    }

    async fn notify(&self, notice: &Notice) -> Result<String, DestinationError> {
        let target = &self.target()?;
        let body = &self.service.body(notice, Utc::now());
        let policy = RetryPolicy {
            retries: self.config.retries,
            backoff: self.config.backoff.0,
            max_retry_after: self.config.max_retry_after.0,
        };
        let status = http_retry::send(&policy, &target.shown, move || async move {
            Ok(target.client.post(target.url.clone()).json(body))
        })
        .await?;
        Ok(format!("{} (HTTP {status})", target.shown))
    }
}

/// How a notice should look: its colour or emoji.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// It went well.
    Good,
    /// Someone should look soon.
    Warning,
    /// Something failed.
    Bad,
}

/// The title and tone of a notice. A new kind of notice needs an arm here
/// (and in [`NoticeKind::as_str`] and [`Notice::summary`]), nothing else:
/// the facts below are the same for every kind.
pub(crate) fn headline(notice: &Notice) -> (Tone, String) {
    let job = &notice.job;
    match notice.event {
        NoticeKind::Delivery => (Tone::Good, format!("{job} delivered")),
        NoticeKind::Failure => (Tone::Bad, format!("{job} failed")),
        NoticeKind::Recovery => (
            Tone::Good,
            format!(
                "{job} recovered after {} failed run(s)",
                notice.failed_runs.unwrap_or(0)
            ),
        ),
        NoticeKind::Success => (Tone::Good, format!("{job} succeeded")),
        NoticeKind::Late => (Tone::Warning, format!("{job} is late")),
        NoticeKind::Stuck => (Tone::Warning, format!("{job} is stuck")),
        NoticeKind::OnTime => (Tone::Good, format!("{job} is on time again")),
        NoticeKind::Held => (
            Tone::Warning,
            format!("{job} held: a check failed, nothing was delivered"),
        ),
    }
}

/// The short facts of a notice as (label, value), in the order shown.
pub(crate) fn facts(notice: &Notice) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Job", notice.job.clone()),
        ("Run", notice.run_id.to_string()),
        ("Status", notice.status.clone()),
        ("Slot", utc(notice.scheduled_for)),
    ];
    if let Some(rows) = notice.rows {
        facts.push(("Rows", rows.to_string()));
    }
    if let Some(bytes) = notice.bytes {
        facts.push(("Bytes", bytes.to_string()));
    }
    if let Some(n) = notice.failed_runs {
        facts.push(("Failed runs", n.to_string()));
    }
    if let Some(file) = &notice.file {
        facts.push(("File", file.clone()));
    }
    facts
}

/// What a notice's `error` holds: why a run failed, or for a late or
/// stuck run how late it is.
pub(crate) fn error_label(notice: &Notice) -> &'static str {
    match notice.event {
        NoticeKind::Failure => "Error",
        _ => "Detail",
    }
}

/// How many delivered locations a message lists before "and N more".
pub(crate) const MAX_OUTPUTS: usize = 10;

/// The locations to list, and how many more there are.
pub(crate) fn outputs(notice: &Notice) -> (&[String], usize) {
    let shown = notice.outputs.len().min(MAX_OUTPUTS);
    (&notice.outputs[..shown], notice.outputs.len() - shown)
}

/// `text` cut to at most `max` characters, marked with an ellipsis: chat
/// services refuse a message whose blocks are over their limits.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A time as people read it in a fallback: `2026-03-08 02:00:00 UTC`.
pub(crate) fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_keeps_short_text_and_marks_long_text() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdefghij", 10), "abcdefghij");
        assert_eq!(cut("abcdefghijk", 10), "abcdefghi…");
        assert_eq!(cut("ééééé", 3).chars().count(), 3);
    }

    #[test]
    fn urls_are_checked_without_showing_them() {
        assert!(check_url("https://hooks.slack.com/services/T/B/x").is_ok());
        let err = check_url("ftp://secret-host/x").unwrap_err();
        assert!(!err.contains("secret-host"), "{err}");
        let err = check_url("not a url with secretpart").unwrap_err();
        assert!(!err.contains("secretpart"), "{err}");
    }
}
