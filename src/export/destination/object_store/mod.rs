//! The `object_store` destination: `s3://`, `gs://`, `az://` and `file://`
//! URLs through the object_store crate. Small files go up in one put, large
//! ones as a multipart upload that is aborted if anything fails, so no reader
//! ever sees a partial object under the final key.

mod config;
mod multipart;

use std::sync::Arc;
use std::time::Duration;

use ::object_store::aws::AmazonS3Builder;
use ::object_store::azure::MicrosoftAzureBuilder;
use ::object_store::gcp::GoogleCloudStorageBuilder;
use ::object_store::local::LocalFileSystem;
use ::object_store::path::Path as Key;
use ::object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    RetryConfig,
};
use async_trait::async_trait;

use super::pattern::PathPattern;
use super::{Artifact, Destination, DestinationError, fire_id, secret};
use crate::export::RunContext;
pub use config::ObjectStoreConfig;
use config::{Scheme, scheme_of};
use multipart::upload_in_parts;

/// Files up to this size go up in a single put; larger ones in parts.
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
/// The object metadata key that carries the fire id.
pub const FIRE_ID_METADATA: &str = "cronport-fire-id";
/// The same on Azure, whose metadata names must be C# identifiers (no
/// hyphens: a blob put with [`FIRE_ID_METADATA`] is refused with
/// InvalidMetadata). S3 and GCS keep the hyphen: objects they already hold
/// carry it, and some proxies drop headers with underscores.
pub const AZURE_FIRE_ID_METADATA: &str = "cronport_fire_id";

/// Delivers into a bucket.
pub struct ObjectStoreDestination {
    config: ObjectStoreConfig,
    pattern: Result<PathPattern, super::pattern::PatternError>,
}

/// An opened store and where our keys start.
struct Opened {
    store: Arc<dyn ObjectStore>,
    scheme: Scheme,
    /// `s3://bucket` (no trailing slash), for the locations we report.
    base: String,
    /// The URL's path, the first part of every key.
    prefix: String,
}

impl Opened {
    /// The metadata attribute that carries the fire id in this store.
    fn fire_id_attribute(&self) -> Attribute {
        let name = match self.scheme {
            Scheme::Azure => AZURE_FIRE_ID_METADATA,
            _ => FIRE_ID_METADATA,
        };
        Attribute::Metadata(name.into())
    }

    fn key(&self, relative: &str) -> Result<Key, DestinationError> {
        let full = if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        };
        Key::parse(&full).map_err(|e| DestinationError::Setting {
            key: "path",
            message: format!("{full:?} is not a valid object key: {e}"),
        })
    }

    fn location(&self, key: &Key) -> String {
        format!("{}/{key}", self.base)
    }
}

impl ObjectStoreDestination {
    /// A destination for a validated config.
    pub fn new(config: ObjectStoreConfig) -> Self {
        ObjectStoreDestination {
            pattern: PathPattern::parse(&config.path),
            config,
        }
    }

    fn open(&self) -> Result<Opened, DestinationError> {
        let c = &self.config;
        let bad_url = |message: String| DestinationError::Setting {
            key: "url",
            message,
        };
        let url = url::Url::parse(&c.url).map_err(|e| bad_url(e.to_string()))?;
        let scheme = scheme_of(&url).ok_or_else(|| bad_url("unsupported scheme".into()))?;
        let build_err = |e: ::object_store::Error| bad_url(e.to_string());
        // Few, short retries: the run's own retry policy is the outer loop,
        // and a dead server should fail the attempt within a minute.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        };
        let host = url.host_str().unwrap_or_default().to_string();
        let store: Arc<dyn ObjectStore> = match scheme {
            Scheme::S3 => {
                let mut b = match (&c.access_key_id_env, &c.secret_access_key_env) {
                    (Some(id_env), Some(secret_env)) => {
                        let id = secret("access_key_id_env", Some(id_env), None)?;
                        let key = secret("secret_access_key_env", Some(secret_env), None)?;
                        let mut b = AmazonS3Builder::new();
                        if let (Some(id), Some(key)) = (id, key) {
                            b = b
                                .with_access_key_id(id.expose())
                                .with_secret_access_key(key.expose());
                        }
                        b
                    }
                    // No keys named: the usual AWS_* variables or an
                    // instance role.
                    _ => AmazonS3Builder::from_env(),
                };
                b = b.with_url(c.url.as_str()).with_retry(retry);
                if let Some(token) =
                    secret("session_token_env", c.session_token_env.as_deref(), None)?
                {
                    b = b.with_token(token.expose());
                }
                if let Some(region) = &c.region {
                    b = b.with_region(region);
                }
                if let Some(endpoint) = &c.endpoint {
                    b = b.with_endpoint(endpoint).with_allow_http(c.allow_http);
                }
                Arc::new(b.build().map_err(build_err)?)
            }
            Scheme::Gcs => {
                let mut b = GoogleCloudStorageBuilder::from_env()
                    .with_url(c.url.as_str())
                    .with_retry(retry);
                if let Some(file) = &c.service_account_file {
                    b = b.with_service_account_path(file.display().to_string());
                }
                Arc::new(b.build().map_err(build_err)?)
            }
            Scheme::Azure => {
                let mut b = MicrosoftAzureBuilder::from_env()
                    .with_url(c.url.as_str())
                    .with_retry(retry);
                if let Some(account) = &c.account {
                    b = b.with_account(account);
                }
                if let Some(key) = secret("access_key_env", c.access_key_env.as_deref(), None)? {
                    b = b.with_access_key(key.expose());
                }
                if let Some(endpoint) = &c.endpoint {
                    b = b
                        .with_endpoint(endpoint.clone())
                        .with_allow_http(c.allow_http);
                }
                Arc::new(b.build().map_err(build_err)?)
            }
            Scheme::File => {
                let root = url
                    .to_file_path()
                    .map_err(|()| bad_url("is not a local folder".into()))?;
                std::fs::create_dir_all(&root).map_err(|source| DestinationError::Io {
                    action: "create folder",
                    path: root.display().to_string(),
                    source,
                })?;
                Arc::new(LocalFileSystem::new_with_prefix(&root).map_err(build_err)?)
            }
        };
        let (base, prefix) = match scheme {
            Scheme::File => (c.url.trim_end_matches('/').to_string(), String::new()),
            _ => (
                format!("{}://{host}", url.scheme()),
                url.path().trim_matches('/').to_string(),
            ),
        };
        Ok(Opened {
            store,
            scheme,
            base,
            prefix,
        })
    }

    /// The fire id stored with `key`, if the object exists.
    async fn existing_fire_id(
        &self,
        opened: &Opened,
        key: &Key,
    ) -> Result<Option<String>, DestinationError> {
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match opened.store.get_opts(key, options).await {
            Ok(found) => Ok(found
                .attributes
                .get(&opened.fire_id_attribute())
                .map(|v| v.as_ref().to_string())),
            Err(::object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(DestinationError::remote("look up", opened.location(key), e)),
        }
    }
}

#[async_trait]
impl Destination for ObjectStoreDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let pattern = super::pattern::parsed(&self.pattern)?;
        let relative = pattern.render_slashed(ctx, &artifact.extension)?;
        let opened = self.open()?;
        let key = opened.key(&relative)?;
        let location = opened.location(&key);
        let fire = fire_id(ctx);
        // Local folders keep no metadata; there an atomic rewrite of the same
        // key is the idempotent delivery.
        let mut attributes = Attributes::new();
        if opened.scheme != Scheme::File {
            if self.existing_fire_id(&opened, &key).await?.as_deref() == Some(fire.as_str()) {
                tracing::info!("{location} already holds fire {fire}; not uploading again");
                return Ok(location);
            }
            attributes.insert(opened.fire_id_attribute(), fire.into());
        }
        if artifact.bytes <= MULTIPART_THRESHOLD {
            let data = tokio::fs::read(&artifact.path)
                .await
                .map_err(DestinationError::reading(&artifact.path))?;
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            opened
                .store
                .put_opts(&key, PutPayload::from(data), options)
                .await
                .map_err(|e| DestinationError::remote("upload", &location, e))?;
        } else {
            upload_in_parts(
                &opened,
                &key,
                &location,
                &artifact.path,
                artifact.bytes,
                attributes,
            )
            .await?;
        }
        Ok(location)
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        let opened = self.open()?;
        let Some(key) = location
            .strip_prefix(&opened.base)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Ok(()); // not one of ours
        };
        let key = Key::parse(key).map_err(|e| DestinationError::remote("remove", location, e))?;
        match opened.store.delete(&key).await {
            Ok(()) | Err(::object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(DestinationError::remote("remove", location, e)),
        }
    }

    async fn check(&self) -> Result<String, DestinationError> {
        let opened = self.open()?;
        let key = opened.key(&format!(".cronport-check-{}", std::process::id()))?;
        let location = opened.location(&key);
        opened
            .store
            .put(&key, PutPayload::from_static(b"cronport check\n"))
            .await
            .map_err(|e| DestinationError::remote("write a probe to", &location, e))?;
        opened
            .store
            .delete(&key)
            .await
            .map_err(|e| DestinationError::remote("remove the probe", &location, e))?;
        Ok(format!("{} is writable", self.config.url))
    }
}
