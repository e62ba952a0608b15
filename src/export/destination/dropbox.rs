//! The `dropbox` destination, through Dropbox's documented HTTP API: an
//! access token from the OAuth refresh token, `files/upload` up to one chunk
//! and an upload session above (the file appears whole when the session is
//! committed). The slot is sent as `client_modified`; a file at the path with
//! that time is this fire's delivery and is not uploaded again.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

use super::pattern::PathPattern;
use super::{Artifact, Destination, DestinationError, refresh_access_token, required_secret};
use crate::config::duration::HumanDuration;
use crate::export::RunContext;

/// Bytes per upload request; larger files go through an upload session.
const CHUNK: usize = 8 * 1024 * 1024;

/// `[destinations.NAME]` with `kind = "dropbox"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropboxConfig {
    /// The Dropbox folder exports go under (`/Reports`).
    pub folder: String,
    /// Where under the folder; see [`PathPattern`].
    #[serde(default = "default_pattern")]
    pub path: String,
    /// The app key, from this environment variable.
    pub app_key_env: String,
    /// The app secret, from this environment variable.
    pub app_secret_env: String,
    /// The OAuth refresh token, from this environment variable.
    pub refresh_token_env: String,
    /// The API host (for tests).
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The content host (for tests).
    #[serde(default = "default_content_url")]
    pub content_url: String,
    /// Per request.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

fn default_pattern() -> String {
    super::local::DEFAULT_PATTERN.to_string()
}

fn default_api_url() -> String {
    "https://api.dropboxapi.com".into()
}

fn default_content_url() -> String {
    "https://content.dropboxapi.com".into()
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

impl DropboxConfig {
    pub(super) fn validate(&mut self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| (key.to_string(), message);
        if !self.folder.starts_with('/') {
            return Err(err("folder", "must start with / (a Dropbox path)".into()));
        }
        if self.folder.split('/').any(|c| c == "..") {
            return Err(err("folder", "may not contain ..".into()));
        }
        PathPattern::parse(&self.path).map_err(|e| err("path", e.to_string()))?;
        for (key, value) in [
            ("app_key_env", &self.app_key_env),
            ("app_secret_env", &self.app_secret_env),
            ("refresh_token_env", &self.refresh_token_env),
        ] {
            if value.trim().is_empty() {
                return Err(err(key, "names no environment variable".into()));
            }
        }
        for (key, value) in [
            ("api_url", &self.api_url),
            ("content_url", &self.content_url),
        ] {
            let url = url::Url::parse(value).map_err(|e| err(key, e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(err(key, "must be an http(s) URL".into()));
            }
        }
        Ok(())
    }
}

/// Uploads to Dropbox.
pub struct DropboxDestination {
    config: DropboxConfig,
    pattern: Result<PathPattern, super::pattern::PatternError>,
}

/// A client with a fresh access token.
struct Session {
    client: reqwest::Client,
    token: String,
}

impl DropboxDestination {
    /// A destination for a validated config.
    pub fn new(config: DropboxConfig) -> Self {
        DropboxDestination {
            pattern: PathPattern::parse(&config.path),
            config,
        }
    }

    fn shown(&self, path: &str) -> String {
        format!("dropbox:{path}")
    }

    fn full_path(&self, relative: &str) -> String {
        format!("{}/{relative}", self.config.folder.trim_end_matches('/'))
    }

    /// Trade the refresh token for an access token.
    async fn login(&self) -> Result<Session, DestinationError> {
        let c = &self.config;
        let key = required_secret("app_key_env", &c.app_key_env)?;
        let app_secret = required_secret("app_secret_env", &c.app_secret_env)?;
        let refresh = required_secret("refresh_token_env", &c.refresh_token_env)?;
        let client = reqwest::Client::builder()
            .timeout(c.timeout.0)
            .build()
            .map_err(|e| DestinationError::remote("set up a client for", "dropbox", e))?;
        let token = refresh_access_token(
            &client,
            &format!("{}/oauth2/token", c.api_url.trim_end_matches('/')),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &key),
                ("client_secret", &app_secret),
            ],
            "dropbox",
            |body| {
                body["error"]
                    .as_str()
                    .unwrap_or("no access token")
                    .to_string()
            },
        )
        .await?;
        Ok(Session { client, token })
    }

    /// An RPC call (JSON in, JSON out); `Ok(None)` for a 409 (a documented
    /// endpoint error such as not found), with its summary.
    async fn rpc(
        &self,
        s: &Session,
        endpoint: &str,
        arg: Value,
        target: &str,
    ) -> Result<Result<Value, String>, DestinationError> {
        let response = s
            .client
            .post(format!(
                "{}/2/{endpoint}",
                self.config.api_url.trim_end_matches('/')
            ))
            .bearer_auth(&s.token)
            .json(&arg)
            .send()
            .await
            .map_err(|e| DestinationError::remote("reach", self.shown(target), e.without_url()))?;
        answer(response, endpoint, &self.shown(target)).await
    }

    /// A content call: the argument in `Dropbox-API-Arg`, bytes as the body.
    async fn content(
        &self,
        s: &Session,
        endpoint: &str,
        arg: Value,
        data: Vec<u8>,
        target: &str,
    ) -> Result<Value, DestinationError> {
        let response = s
            .client
            .post(format!(
                "{}/2/{endpoint}",
                self.config.content_url.trim_end_matches('/')
            ))
            .bearer_auth(&s.token)
            .header("Dropbox-API-Arg", ascii_json(&arg))
            .header("Content-Type", "application/octet-stream")
            .body(data)
            .send()
            .await
            .map_err(|e| DestinationError::remote("upload", self.shown(target), e.without_url()))?;
        answer(response, endpoint, &self.shown(target))
            .await?
            .map_err(|summary| DestinationError::remote("upload", self.shown(target), summary))
    }

    async fn upload(
        &self,
        s: &Session,
        file: &std::path::Path,
        commit: Value,
        target: &str,
    ) -> Result<(), DestinationError> {
        let io = DestinationError::reading(file);
        let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
        let mut first = read_chunk(&mut reader).await.map_err(io)?;
        if first.len() < CHUNK {
            self.content(s, "files/upload", commit, first, target)
                .await?;
            return Ok(());
        }
        let mut offset = first.len() as u64;
        let started = self
            .content(
                s,
                "files/upload_session/start",
                json!({ "close": false }),
                std::mem::take(&mut first),
                target,
            )
            .await?;
        let Some(session_id) = started["session_id"].as_str().map(str::to_string) else {
            return Err(DestinationError::remote(
                "upload",
                self.shown(target),
                "no session_id",
            ));
        };
        loop {
            let chunk = read_chunk(&mut reader).await.map_err(io)?;
            let cursor = json!({ "session_id": session_id, "offset": offset });
            if chunk.len() < CHUNK {
                // The last piece commits: only now does the file appear.
                let arg = json!({ "cursor": cursor, "commit": commit });
                self.content(s, "files/upload_session/finish", arg, chunk, target)
                    .await?;
                return Ok(());
            }
            offset += chunk.len() as u64;
            let arg = json!({ "cursor": cursor, "close": false });
            self.content(s, "files/upload_session/append_v2", arg, chunk, target)
                .await?;
        }
    }
}

async fn read_chunk(reader: &mut tokio::fs::File) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(CHUNK);
    let mut limited = reader.take(CHUNK as u64);
    limited.read_to_end(&mut buf).await?;
    Ok(buf)
}

/// The body of a 2xx, or the `error_summary` of a 409; other statuses fail.
async fn answer(
    response: reqwest::Response,
    endpoint: &str,
    target: &str,
) -> Result<Result<Value, String>, DestinationError> {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(Ok(body));
    }
    let summary = body["error_summary"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(200).collect());
    if status.as_u16() == 409 {
        return Ok(Err(summary));
    }
    Err(DestinationError::remote(
        "call",
        target,
        format!("{endpoint}: HTTP {}: {summary}", status.as_u16()),
    ))
}

/// JSON for an HTTP header: Dropbox wants non-ASCII escaped as `\uXXXX`.
fn ascii_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[async_trait]
impl Destination for DropboxDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let pattern = super::pattern::parsed(&self.pattern)?;
        let relative = pattern.render_slashed(ctx, &artifact.extension)?;
        let target = self.full_path(&relative);
        let slot = ctx.scheduled_for.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let s = self.login().await?;
        let existing = self
            .rpc(&s, "files/get_metadata", json!({ "path": target }), &target)
            .await?;
        if let Ok(meta) = existing
            && meta["client_modified"].as_str() == Some(slot.as_str())
        {
            tracing::info!(
                "{} already holds fire {}; not uploading again",
                self.shown(&target),
                super::fire_id(ctx)
            );
            return Ok(self.shown(&target));
        }
        let commit = json!({
            "path": target,
            "mode": "overwrite",
            "autorename": false,
            "mute": true,
            "client_modified": slot,
        });
        self.upload(&s, &artifact.path, commit, &target).await?;
        Ok(self.shown(&target))
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        let Some(path) = location.strip_prefix("dropbox:") else {
            return Ok(());
        };
        let s = self.login().await?;
        // A 409 (already gone) is fine.
        self.rpc(&s, "files/delete_v2", json!({ "path": path }), path)
            .await
            .map(|_| ())
    }

    async fn check(&self) -> Result<String, DestinationError> {
        let s = self.login().await?;
        let probe = self.full_path(&format!(".cronport-check-{}", std::process::id()));
        let commit =
            json!({ "path": probe, "mode": "overwrite", "autorename": false, "mute": true });
        self.content(
            &s,
            "files/upload",
            commit,
            b"cronport check\n".to_vec(),
            &probe,
        )
        .await?;
        self.rpc(&s, "files/delete_v2", json!({ "path": probe }), &probe)
            .await?
            .map_err(|summary| {
                DestinationError::remote("remove the probe", self.shown(&probe), summary)
            })?;
        Ok(format!("{} is writable", self.shown(&self.config.folder)))
    }
}
