//! `[destinations.NAME]` with `kind = "object_store"`: settings and their
//! checks.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::pattern::PathPattern;

/// `[destinations.NAME]` with `kind = "object_store"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectStoreConfig {
    /// `s3://bucket/prefix/`, `gs://bucket/prefix/`, `az://container/prefix/`
    /// or `file:///folder/`.
    pub url: String,
    /// Where under the URL; see [`PathPattern`].
    #[serde(default = "default_pattern")]
    pub path: String,
    /// S3 region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// An S3-compatible (or Azurite) server instead of the cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Allow plain `http://` for `endpoint`.
    #[serde(default)]
    pub allow_http: bool,
    /// S3 access key id, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id_env: Option<String>,
    /// S3 secret access key, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_env: Option<String>,
    /// S3 session token, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_env: Option<String>,
    /// GCS service account JSON file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_file: Option<PathBuf>,
    /// Azure storage account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Azure access key, from this environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_env: Option<String>,
}

fn default_pattern() -> String {
    super::super::local::DEFAULT_PATTERN.to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scheme {
    S3,
    Gcs,
    Azure,
    File,
}

pub(super) fn scheme_of(url: &url::Url) -> Option<Scheme> {
    match url.scheme() {
        "s3" | "s3a" => Some(Scheme::S3),
        "gs" => Some(Scheme::Gcs),
        "az" | "abfs" | "abfss" => Some(Scheme::Azure),
        "file" => Some(Scheme::File),
        _ => None,
    }
}

impl ObjectStoreConfig {
    pub(in crate::export::destination) fn validate(
        &mut self,
        base: &Path,
    ) -> Result<(), (String, String)> {
        let err = |key: &str, message: String| (key.to_string(), message);
        let url = url::Url::parse(&self.url).map_err(|e| err("url", format!("{e}")))?;
        let scheme = scheme_of(&url).ok_or_else(|| {
            err(
                "url",
                format!(
                    "scheme {:?} is not supported; use s3://, gs://, az:// or file://",
                    url.scheme()
                ),
            )
        })?;
        if scheme != Scheme::File && url.host_str().is_none_or(str::is_empty) {
            return Err(err("url", "names no bucket or container".into()));
        }
        PathPattern::parse(&self.path).map_err(|e| err("path", e.to_string()))?;
        let wrong = |key: &str, given: bool, allowed: &[Scheme]| {
            if given && !allowed.contains(&scheme) {
                Err(err(
                    key,
                    format!("does not apply to {}:// URLs", url.scheme()),
                ))
            } else {
                Ok(())
            }
        };
        wrong("region", self.region.is_some(), &[Scheme::S3])?;
        wrong(
            "endpoint",
            self.endpoint.is_some(),
            &[Scheme::S3, Scheme::Azure],
        )?;
        wrong("allow_http", self.allow_http, &[Scheme::S3, Scheme::Azure])?;
        wrong(
            "access_key_id_env",
            self.access_key_id_env.is_some(),
            &[Scheme::S3],
        )?;
        wrong(
            "secret_access_key_env",
            self.secret_access_key_env.is_some(),
            &[Scheme::S3],
        )?;
        wrong(
            "session_token_env",
            self.session_token_env.is_some(),
            &[Scheme::S3],
        )?;
        wrong(
            "service_account_file",
            self.service_account_file.is_some(),
            &[Scheme::Gcs],
        )?;
        wrong("account", self.account.is_some(), &[Scheme::Azure])?;
        wrong(
            "access_key_env",
            self.access_key_env.is_some(),
            &[Scheme::Azure],
        )?;
        if self.access_key_id_env.is_some() != self.secret_access_key_env.is_some() {
            return Err(err(
                "secret_access_key_env",
                "give both access_key_id_env and secret_access_key_env, or neither".into(),
            ));
        }
        if let Some(endpoint) = &self.endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|e| err("endpoint", e.to_string()))?;
            if parsed.scheme() == "http" && !self.allow_http {
                return Err(err(
                    "endpoint",
                    "is plain http: set allow_http = true to use it".into(),
                ));
            }
        }
        if let Some(file) = &mut self.service_account_file
            && file.is_relative()
        {
            *file = crate::config::paths::normalize(&base.join(&*file));
        }
        Ok(())
    }
}
