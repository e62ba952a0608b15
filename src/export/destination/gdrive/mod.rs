//! The `gdrive` destination, through the Google Drive v3 HTTP API: an access
//! token from the OAuth refresh token, a multipart upload up to 5 MB and a
//! resumable upload above (the file appears when the last chunk lands). The
//! fire id is stored in the file's `appProperties`; a file in the folder with
//! it is this fire's delivery and is not uploaded again. Drive has folders
//! by id, not paths: the pattern names a file in `folder_id`.

mod config;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

use super::pattern::PathPattern;
use super::webhook::mime_type;
use super::{
    Artifact, Destination, DestinationError, fire_id, refresh_access_token, required_secret,
};
use crate::export::RunContext;
pub use config::GdriveConfig;

/// Drive's limit for a multipart upload.
const MULTIPART_LIMIT: u64 = 5 * 1024 * 1024;
/// Resumable chunks: a multiple of 256 KiB, as Drive requires.
const CHUNK: usize = 32 * 256 * 1024;
/// The appProperties key holding the fire id.
pub const FIRE_ID_PROPERTY: &str = "cronport_fire_id";

/// Uploads to a Google Drive folder.
pub struct GdriveDestination {
    config: GdriveConfig,
    pattern: Result<PathPattern, super::pattern::PatternError>,
}

/// A client with a fresh access token.
struct Session {
    client: reqwest::Client,
    token: String,
}

/// A string inside single quotes in Drive's query language.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

impl GdriveDestination {
    /// A destination for a validated config.
    pub fn new(config: GdriveConfig) -> Self {
        GdriveDestination {
            pattern: PathPattern::parse(&config.path),
            config,
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_url.trim_end_matches('/'))
    }

    fn shown(&self, name: &str) -> String {
        format!("gdrive:{}/{name}", self.config.folder_id)
    }

    async fn login(&self) -> Result<Session, DestinationError> {
        let c = &self.config;
        let id = required_secret("client_id_env", &c.client_id_env)?;
        let client_secret = required_secret("client_secret_env", &c.client_secret_env)?;
        let refresh = required_secret("refresh_token_env", &c.refresh_token_env)?;
        let client = reqwest::Client::builder()
            .timeout(c.timeout.0)
            // Drive answers 308 to a chunk that is not the last: not a redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DestinationError::remote("set up a client for", "gdrive", e))?;
        let token = refresh_access_token(
            &client,
            &c.token_url,
            &[
                ("client_id", &id),
                ("client_secret", &client_secret),
                ("refresh_token", &refresh),
                ("grant_type", "refresh_token"),
            ],
            "gdrive",
            error_of,
        )
        .await?;
        Ok(Session { client, token })
    }

    /// Files in the folder matching `condition` (Drive query language).
    async fn find(
        &self,
        s: &Session,
        condition: &str,
        target: &str,
    ) -> Result<Vec<Value>, DestinationError> {
        let q = format!(
            "'{}' in parents{condition} and trashed = false",
            quoted(&self.config.folder_id)
        );
        let mut url = url::Url::parse(&self.api("/drive/v3/files")).map_err(|e| {
            DestinationError::Setting {
                key: "api_url",
                message: e.to_string(),
            }
        })?;
        url.query_pairs_mut()
            .append_pair("q", &q)
            .append_pair("fields", "files(id,name,appProperties)");
        let response = s
            .client
            .get(url)
            .bearer_auth(&s.token)
            .send()
            .await
            .map_err(|e| DestinationError::remote("look up", target, e.without_url()))?;
        let body = ok_json(response, "look up", target).await?;
        Ok(body["files"].as_array().cloned().unwrap_or_default())
    }

    async fn delete(&self, s: &Session, id: &str, target: &str) -> Result<(), DestinationError> {
        let response = s
            .client
            .delete(self.api(&format!("/drive/v3/files/{id}")))
            .bearer_auth(&s.token)
            .send()
            .await
            .map_err(|e| DestinationError::remote("remove", target, e.without_url()))?;
        if response.status().is_success() || response.status().as_u16() == 404 {
            return Ok(());
        }
        ok_json(response, "remove", target).await.map(|_| ())
    }

    /// Upload `file` as `metadata`; returns the new file's id.
    async fn upload(
        &self,
        s: &Session,
        file: &std::path::Path,
        bytes: u64,
        media: &str,
        metadata: Value,
        target: &str,
    ) -> Result<String, DestinationError> {
        let io = DestinationError::reading(file);
        let created = if bytes <= MULTIPART_LIMIT {
            let data = tokio::fs::read(file).await.map_err(io)?;
            let boundary = format!("cronport-{}", rand::random::<u64>());
            let mut body = format!(
                "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: {media}\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&data);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let response = s
                .client
                .post(self.api("/upload/drive/v3/files?uploadType=multipart"))
                .bearer_auth(&s.token)
                .header(
                    "Content-Type",
                    format!("multipart/related; boundary={boundary}"),
                )
                .body(body)
                .send()
                .await
                .map_err(|e| DestinationError::remote("upload", target, e.without_url()))?;
            ok_json(response, "upload", target).await?
        } else {
            self.resumable(s, file, bytes, media, metadata, target)
                .await?
        };
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| DestinationError::remote("upload", target, "no file id in the answer"))
    }

    async fn resumable(
        &self,
        s: &Session,
        file: &std::path::Path,
        bytes: u64,
        media: &str,
        metadata: Value,
        target: &str,
    ) -> Result<Value, DestinationError> {
        let io = DestinationError::reading(file);
        let started = s
            .client
            .post(self.api("/upload/drive/v3/files?uploadType=resumable"))
            .bearer_auth(&s.token)
            .header("X-Upload-Content-Type", media)
            .header("X-Upload-Content-Length", bytes.to_string())
            .json(&metadata)
            .send()
            .await
            .map_err(|e| DestinationError::remote("upload", target, e.without_url()))?;
        if !started.status().is_success() {
            return ok_json(started, "upload", target).await;
        }
        let Some(session) = started
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return Err(DestinationError::remote(
                "upload",
                target,
                "no upload session URI",
            ));
        };
        let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
        let mut offset = 0u64;
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            (&mut reader)
                .take(CHUNK as u64)
                .read_to_end(&mut chunk)
                .await
                .map_err(io)?;
            if chunk.is_empty() || offset + chunk.len() as u64 > bytes {
                return Err(io(std::io::Error::other(format!(
                    "the file does not hold the {bytes} bytes rendered"
                ))));
            }
            let end = offset + chunk.len() as u64 - 1;
            let response = s
                .client
                .put(&session)
                .bearer_auth(&s.token)
                .header("Content-Range", format!("bytes {offset}-{end}/{bytes}"))
                .body(chunk)
                .send()
                .await
                .map_err(|e| DestinationError::remote("upload", target, e.without_url()))?;
            if end + 1 == bytes {
                return ok_json(response, "upload", target).await;
            }
            if response.status().as_u16() != 308 {
                return ok_json(response, "upload", target).await;
            }
            offset = end + 1;
        }
    }
}

fn error_of(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .or_else(|| body["error"].as_str())
        .unwrap_or("no details")
        .to_string()
}

async fn ok_json(
    response: reqwest::Response,
    action: &'static str,
    target: &str,
) -> Result<Value, DestinationError> {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(DestinationError::remote(
            action,
            target,
            format!("HTTP {}: {}", status.as_u16(), error_of(&body)),
        ))
    }
}

#[async_trait]
impl Destination for GdriveDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let pattern = super::pattern::parsed(&self.pattern)?;
        let name = pattern
            .render(ctx, &artifact.extension)?
            .to_string_lossy()
            .into_owned();
        let target = self.shown(&name);
        let fire = fire_id(ctx);
        let s = self.login().await?;
        let mine = format!(
            " and appProperties has {{ key='{FIRE_ID_PROPERTY}' and value='{}' }}",
            quoted(&fire)
        );
        if let Some(found) = self.find(&s, &mine, &target).await?.first() {
            tracing::info!("{target} already holds fire {fire}; not uploading again");
            let id = found["id"].as_str().unwrap_or_default();
            return Ok(format!("{target} (id {id})"));
        }
        // Files of other fires under the same name are replaced once the
        // new one is complete (Drive allows several files of one name).
        let same_name = format!(" and name = '{}'", quoted(&name));
        let older = self.find(&s, &same_name, &target).await?;
        let metadata = json!({
            "name": name,
            "parents": [self.config.folder_id],
            "appProperties": { FIRE_ID_PROPERTY: fire },
        });
        let media = mime_type(&artifact.extension);
        let id = self
            .upload(&s, &artifact.path, artifact.bytes, media, metadata, &target)
            .await?;
        for old in older {
            if let Some(old_id) = old["id"].as_str() {
                self.delete(&s, old_id, &target).await?;
            }
        }
        Ok(format!("{target} (id {id})"))
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        let Some(id) = location
            .strip_prefix(&format!("gdrive:{}/", self.config.folder_id))
            .and_then(|rest| rest.rsplit_once(" (id "))
            .and_then(|(_, id)| id.strip_suffix(')'))
        else {
            return Ok(());
        };
        let s = self.login().await?;
        self.delete(&s, id, location).await
    }

    async fn check(&self) -> Result<String, DestinationError> {
        let s = self.login().await?;
        let name = format!(".cronport-check-{}", std::process::id());
        let target = self.shown(&name);
        let probe =
            std::env::temp_dir().join(format!("cronport-gdrive-probe-{}", std::process::id()));
        tokio::fs::write(&probe, b"cronport check\n")
            .await
            .map_err(|source| DestinationError::Io {
                action: "write",
                path: probe.display().to_string(),
                source,
            })?;
        let metadata = json!({ "name": name, "parents": [self.config.folder_id] });
        let uploaded = self
            .upload(&s, &probe, 15, "text/plain", metadata, &target)
            .await;
        let _ = tokio::fs::remove_file(&probe).await;
        self.delete(&s, &uploaded?, &target).await?;
        Ok(format!("folder {} is writable", self.config.folder_id))
    }
}
