//! `[destinations.NAME]` with `kind = "gdrive"`: settings and their checks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::pattern::PathPattern;
use crate::config::duration::HumanDuration;

/// `[destinations.NAME]` with `kind = "gdrive"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GdriveConfig {
    /// The id of the folder files go into.
    pub folder_id: String,
    /// The file name; see [`PathPattern`] (no `/`: Drive has no paths).
    #[serde(default = "default_pattern")]
    pub path: String,
    /// The OAuth client id, from this environment variable.
    pub client_id_env: String,
    /// The OAuth client secret, from this environment variable.
    pub client_secret_env: String,
    /// The OAuth refresh token, from this environment variable.
    pub refresh_token_env: String,
    /// The token endpoint (for tests).
    #[serde(default = "default_token_url")]
    pub token_url: String,
    /// The API host (for tests).
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Per request.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
}

fn default_pattern() -> String {
    "{job}_{date:%Y%m%d_%H%M%S}.{ext}".into()
}

fn default_token_url() -> String {
    "https://oauth2.googleapis.com/token".into()
}

fn default_api_url() -> String {
    "https://www.googleapis.com".into()
}

fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

impl GdriveConfig {
    pub(in crate::export::destination) fn validate(&mut self) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| (key.to_string(), message);
        if self.folder_id.trim().is_empty() || self.folder_id.contains(['\'', '\\', '/']) {
            return Err(err("folder_id", "is not a Drive folder id".into()));
        }
        PathPattern::parse(&self.path).map_err(|e| err("path", e.to_string()))?;
        if self.path.contains('/') {
            return Err(err(
                "path",
                "Drive has no paths: name a file, without /, in folder_id".into(),
            ));
        }
        for (key, value) in [
            ("client_id_env", &self.client_id_env),
            ("client_secret_env", &self.client_secret_env),
            ("refresh_token_env", &self.refresh_token_env),
        ] {
            if value.trim().is_empty() {
                return Err(err(key, "names no environment variable".into()));
            }
        }
        for (key, value) in [("token_url", &self.token_url), ("api_url", &self.api_url)] {
            let url = url::Url::parse(value).map_err(|e| err(key, e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(err(key, "must be an http(s) URL".into()));
            }
        }
        Ok(())
    }
}
