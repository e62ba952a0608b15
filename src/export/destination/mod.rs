//! Destinations: where a rendered export goes. One file per kind behind the
//! [`Destination`] seam; each is named once in the config and shared by jobs.

pub mod local;
pub mod pattern;

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::RunContext;

/// `[destinations.NAME]` as written in the config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DestinationConfig {
    /// A folder on this machine.
    Local(local::LocalConfig),
}

impl DestinationConfig {
    /// The kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            DestinationConfig::Local(_) => "local",
        }
    }

    /// Check the settings that can be checked without I/O; the message names
    /// the key. Relative paths are resolved against `base` (the config's folder).
    pub fn validate(&mut self, base: &std::path::Path) -> Result<(), (String, String)> {
        match self {
            DestinationConfig::Local(config) => config.validate(base),
        }
    }

    /// The destination ready to deliver.
    pub fn build(&self) -> Box<dyn Destination> {
        match self {
            DestinationConfig::Local(config) => {
                Box::new(local::LocalDestination::new(config.clone()))
            }
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
    /// Check that deliveries can work (for `cronport check`).
    async fn check(&self) -> Result<String, DestinationError>;
}
