//! The `webhook` destination: POST the export (multipart) or a JSON notice.
//! Every request of one fire carries the same `Idempotency-Key`, so a
//! receiver can drop the repeats that retries and redeliveries send.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::notice::Notice;
use super::{Artifact, Destination, DestinationError, http_retry, secret};
use crate::config::duration::HumanDuration;
use crate::export::RunContext;

/// What a delivery sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookMode {
    /// A JSON notice: job, run, status, outputs (the links), error.
    #[default]
    Notice,
    /// The file itself, as `multipart/form-data` with the facts as fields.
    File,
}

/// `[destinations.NAME]` with `kind = "webhook"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST. Chat webhooks keep their secret in the URL: use
    /// `url_env` for those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The URL, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// `notice` (default) or `file`.
    #[serde(default)]
    pub mode: WebhookMode,
    /// Header values written here (nothing secret).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Header values from environment variables (tokens).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers_env: BTreeMap<String, String>,
    /// Add a one-line `text` field, which Slack and Teams show.
    #[serde(default)]
    pub text: bool,
    /// Per request.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Further tries after a 5xx, a 429, a timeout or a refused connection.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The first wait between tries; it doubles each time (capped at 1m).
    #[serde(default = "default_backoff")]
    pub backoff: HumanDuration,
    /// The longest wait a `Retry-After` header on a 429 or 503 answer is
    /// obeyed for; a server asking for longer is retried after this.
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

/// Five minutes: long enough for a rate limit's window or a deploy, short
/// enough that a few tries fit in a run's default 30m timeout.
fn default_max_retry_after() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}

/// The most `max_retry_after` may be: a run's default timeout.
const MAX_RETRY_AFTER_LIMIT: Duration = Duration::from_secs(30 * 60);

fn check_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    Ok(url)
}

impl WebhookConfig {
    pub(super) fn validate(&mut self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| (key.to_string(), message);
        match (&self.url, &self.url_env) {
            (Some(_), Some(_)) => return Err(err("url", "give url or url_env, not both".into())),
            (None, None) => return Err(err("url", "is missing (or give url_env)".into())),
            (Some(url), None) => {
                check_url(url).map_err(|m| err("url", m))?;
            }
            (None, Some(var)) if var.trim().is_empty() => {
                return Err(err("url_env", "is empty".into()));
            }
            (None, Some(_)) => {}
        }
        for (name, value) in &self.headers {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| err("headers", format!("{name:?} is not a header name")))?;
            HeaderValue::from_str(value).map_err(|_| {
                err(
                    "headers",
                    format!("the value of {name:?} is not a header value"),
                )
            })?;
        }
        for (name, var) in &self.headers_env {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| err("headers_env", format!("{name:?} is not a header name")))?;
            if var.trim().is_empty() {
                return Err(err("headers_env", format!("{name:?} names no variable")));
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

/// Posts to an HTTP endpoint.
pub struct WebhookDestination {
    config: WebhookConfig,
}

/// What one request needs, resolved when it is sent.
struct Target {
    client: reqwest::Client,
    url: url::Url,
    /// The URL as shown in errors and records: without its path when it
    /// came from the environment (chat webhooks hide their secret there).
    shown: String,
    headers: HeaderMap,
}

enum Body<'a> {
    Json(serde_json::Value),
    File {
        artifact: &'a Artifact,
        notice: &'a Notice,
    },
}

impl WebhookDestination {
    /// A destination for a validated config.
    pub fn new(config: WebhookConfig) -> Self {
        WebhookDestination { config }
    }

    fn target(&self) -> Result<Target, DestinationError> {
        let c = &self.config;
        let (text, secret_url) = match (&c.url, &c.url_env) {
            (Some(url), _) => (url.clone(), false),
            (None, Some(var)) => match secret("url_env", Some(var), None)? {
                Some(url) => (url.expose().to_string(), true),
                None => unreachable_setting("url_env")?,
            },
            (None, None) => unreachable_setting("url")?,
        };
        let url = check_url(&text).map_err(|message| DestinationError::Setting {
            key: if secret_url { "url_env" } else { "url" },
            message,
        })?;
        let shown = if secret_url {
            format!("{}://{}/...", url.scheme(), url.host_str().unwrap_or(""))
        } else {
            url.to_string()
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &c.headers {
            insert_header(&mut headers, name, value, "headers")?;
        }
        for (name, var) in &c.headers_env {
            if let Some(value) = secret("headers_env", Some(var), None)? {
                insert_header(&mut headers, name, value.expose(), "headers_env")?;
            }
        }
        let client = reqwest::Client::builder()
            .timeout(c.timeout.0)
            .user_agent(concat!("cronport/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DestinationError::remote("set up a client for", &shown, e))?;
        Ok(Target {
            client,
            url,
            shown,
            headers,
        })
    }

    fn notice_json(&self, notice: &Notice) -> serde_json::Value {
        let mut value = serde_json::to_value(notice).unwrap_or_default();
        if self.config.text
            && let Some(map) = value.as_object_mut()
        {
            map.insert("text".into(), notice.summary().into());
        }
        value
    }

    /// POST with retries ([`http_retry::send`]); the same idempotency key
    /// on every try.
    async fn post(&self, body: Body<'_>, key: &str) -> Result<String, DestinationError> {
        let target = &self.target()?;
        let body = &body;
        let policy = http_retry::RetryPolicy {
            retries: self.config.retries,
            backoff: self.config.backoff.0,
            max_retry_after: self.config.max_retry_after.0,
        };
        let status = http_retry::send(&policy, &target.shown, move || async move {
            let request = target
                .client
                .post(target.url.clone())
                .headers(target.headers.clone())
                .header("Idempotency-Key", key);
            Ok(match body {
                Body::Json(value) => request.json(value),
                Body::File { artifact, notice } => request.multipart(form(artifact, notice).await?),
            })
        })
        .await?;
        Ok(format!("{} (HTTP {status})", target.shown))
    }
}

fn unreachable_setting(key: &'static str) -> Result<(String, bool), DestinationError> {
    Err(DestinationError::Setting {
        key,
        message: "is missing".into(),
    })
}

fn insert_header(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    key: &'static str,
) -> Result<(), DestinationError> {
    let bad = |what: &str| DestinationError::Setting {
        key,
        message: format!("{what} of header {name:?} is not valid"),
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("the name"))?;
    let mut value = HeaderValue::from_str(value).map_err(|_| bad("the value"))?;
    value.set_sensitive(key == "headers_env");
    headers.insert(name, value);
    Ok(())
}

/// The multipart body: the facts as text fields and the file as `file`.
async fn form(
    artifact: &Artifact,
    notice: &Notice,
) -> Result<reqwest::multipart::Form, DestinationError> {
    let file = tokio::fs::File::open(&artifact.path)
        .await
        .map_err(DestinationError::reading(&artifact.path))?;
    let name = notice.file.clone().unwrap_or_else(|| "export".into());
    let part = reqwest::multipart::Part::stream_with_length(file, artifact.bytes)
        .file_name(name)
        .mime_str(mime_type(&artifact.extension))
        .map_err(|e| DestinationError::remote("prepare", "the upload", e))?;
    let mut form = reqwest::multipart::Form::new()
        .text("job", notice.job.clone())
        .text("run_id", notice.run_id.to_string())
        .text("fire_id", notice.fire_id.clone())
        .text("scheduled_for", notice.scheduled_for.to_rfc3339())
        .text("rows", artifact.rows.to_string());
    for output in &notice.outputs {
        form = form.text("outputs", output.clone());
    }
    Ok(form.part("file", part))
}

/// The media type for an export's extension.
pub fn mime_type(extension: &str) -> &'static str {
    match extension.rsplit('.').next().unwrap_or("") {
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "json" => "application/json",
        "ndjson" => "application/x-ndjson",
        "md" => "text/markdown",
        "html" => "text/html",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf" => "application/pdf",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The file name a receiver sees: the job, the slot, the extension.
pub fn file_name(artifact: &Artifact, ctx: &RunContext) -> String {
    format!(
        "{}_{}.{}",
        ctx.job,
        ctx.scheduled_for
            .with_timezone(&ctx.timezone)
            .format("%Y%m%d_%H%M%S"),
        artifact.extension
    )
}

#[async_trait]
impl Destination for WebhookDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let notice = Notice::delivery(artifact, ctx, file_name(artifact, ctx));
        let key = notice.idempotency_key();
        match self.config.mode {
            WebhookMode::Notice => self.post(Body::Json(self.notice_json(&notice)), &key).await,
            WebhookMode::File => {
                self.post(
                    Body::File {
                        artifact,
                        notice: &notice,
                    },
                    &key,
                )
                .await
            }
        }
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        // A request once received cannot be taken back.
        tracing::warn!("a webhook delivery cannot be taken back: {location}");
        Ok(())
    }

    fn can_retract(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<String, DestinationError> {
        // Posting would notify someone; reaching the server with a HEAD
        // request is the probe, whatever it answers.
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
        self.post(
            Body::Json(self.notice_json(notice)),
            &notice.idempotency_key(),
        )
        .await
    }
}
