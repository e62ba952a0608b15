//! The `local` destination: a root folder and a path pattern; atomic writes
//! (temporary name in the target folder, fsync, rename, fsync the folder).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::pattern::PathPattern;
use super::retention;
use super::{Artifact, Destination, DestinationError};
use crate::export::RunContext;

/// The default layout: one folder per job and day.
pub const DEFAULT_PATTERN: &str = "{job}/{date:%Y/%m/%d}/{job}_{date:%Y%m%d_%H%M%S}.{ext}";

/// `[destinations.NAME]` with `kind = "local"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The folder everything goes under.
    pub root: PathBuf,
    /// Where under the root; see [`PathPattern`].
    #[serde(default = "default_pattern")]
    pub path: String,
    /// Remove this job's exports older than this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_days: Option<u32>,
    /// Zip this job's exports older than this many days into monthly
    /// archives under `archive/JOB/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_days: Option<u32>,
}

fn default_pattern() -> String {
    DEFAULT_PATTERN.to_string()
}

impl LocalConfig {
    pub(super) fn validate(&mut self, base: &Path) -> Result<(), (String, String)> {
        if self.root.as_os_str().is_empty() {
            return Err(("root".into(), "is empty".into()));
        }
        if self.root.is_relative() {
            self.root = crate::config::paths::normalize(&base.join(&self.root));
        }
        let pattern =
            PathPattern::parse(&self.path).map_err(|e| ("path".to_string(), e.to_string()))?;
        let err = |key: &str, message: &str| Err((key.to_string(), message.to_string()));
        for (key, value) in [
            ("keep_days", self.keep_days),
            ("archive_days", self.archive_days),
        ] {
            if value == Some(0) {
                return err(key, "must be at least 1");
            }
            if value.is_some() && !pattern.mentions_job() {
                return err(
                    key,
                    "needs {job} in path, so that only this job's files are removed or archived",
                );
            }
        }
        if let (Some(keep), Some(archive)) = (self.keep_days, self.archive_days)
            && archive >= keep
        {
            return err("archive_days", "must be less than keep_days");
        }
        if self
            .path
            .starts_with(&format!("{}/", super::retention::ARCHIVE_FOLDER))
        {
            return err(
                "path",
                "may not start with archive/, where retention keeps its archives",
            );
        }
        Ok(())
    }
}

/// Delivers into a folder.
pub struct LocalDestination {
    root: PathBuf,
    pattern: Result<PathPattern, super::pattern::PatternError>,
    keep_days: Option<u32>,
    archive_days: Option<u32>,
}

impl LocalDestination {
    /// A destination for a validated config.
    pub fn new(config: LocalConfig) -> Self {
        LocalDestination {
            pattern: PathPattern::parse(&config.path),
            root: config.root,
            keep_days: config.keep_days,
            archive_days: config.archive_days,
        }
    }
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> DestinationError + 'a {
    move |source| DestinationError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

/// Removes the temporary file unless the delivery completed, so a failed or
/// cancelled run (the future dropped mid-copy) leaves nothing behind.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[async_trait]
impl Destination for LocalDestination {
    async fn deliver(
        &self,
        artifact: &Artifact,
        ctx: &RunContext,
    ) -> Result<String, DestinationError> {
        let pattern = super::pattern::parsed(&self.pattern)?;
        let target = self.root.join(pattern.render(ctx, &artifact.extension)?);
        let source = artifact.path.clone();
        let run_id = ctx.run_id;
        // A blocking copy cannot be interrupted, so a cancelled run raises
        // this flag and the copy gives up before the rename.
        let mut abandoned = AbandonOnDrop {
            flag: Arc::new(AtomicBool::new(false)),
            armed: true,
        };
        let flag = abandoned.flag.clone();
        let delivered =
            crate::export::blocking::run(move || write_atomically(&source, &target, run_id, &flag))
                .await
                .map_err(|e| DestinationError::Io {
                    action: "write",
                    path: artifact.path.display().to_string(),
                    source: e,
                })??;
        abandoned.armed = false;
        self.retain(pattern, &ctx.job).await;
        Ok(delivered.display().to_string())
    }

    async fn retract(&self, location: &str) -> Result<(), DestinationError> {
        let path = PathBuf::from(location);
        // Only ever remove what lies under our own root.
        if !path.starts_with(&self.root) {
            return Ok(());
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove", &path)(e)),
        }
    }

    async fn check(&self) -> Result<String, DestinationError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&root).map_err(io("create folder", &root))?;
            let probe = root.join(format!(".cronport-check-{}", std::process::id()));
            File::create(&probe).map_err(io("write a probe file in", &root))?;
            fs::remove_file(&probe).map_err(io("remove the probe file", &probe))?;
            Ok(format!("{} is writable", root.display()))
        })
        .await
        .map_err(|e| DestinationError::Io {
            action: "check",
            path: self.root.display().to_string(),
            source: std::io::Error::other(e),
        })?
    }
}

impl LocalDestination {
    /// Apply keep_days/archive_days to this job's files. A failure here is
    /// logged, not a failed delivery: the export itself is in place.
    async fn retain(&self, pattern: &PathPattern, job: &str) {
        if self.keep_days.is_none() && self.archive_days.is_none() {
            return;
        }
        let (root, pattern, job) = (self.root.clone(), pattern.clone(), job.to_string());
        let (keep_days, archive_days) = (self.keep_days, self.archive_days);
        let result = crate::export::blocking::run(move || {
            let policy = retention::Policy {
                root: &root,
                pattern: &pattern,
                job: &job,
                keep_days,
                archive_days,
            };
            retention::apply(&policy, std::time::SystemTime::now())
        })
        .await;
        match result {
            Ok(Ok(p)) if p == retention::Pruned::default() => {}
            Ok(Ok(p)) => tracing::info!(
                "retention: removed {} old export(s), archived {}, removed {} old archive(s)",
                p.removed,
                p.archived,
                p.archives_removed
            ),
            Ok(Err(e)) => tracing::warn!("retention under {}: {e}", self.root.display()),
            Err(e) => tracing::warn!("retention under {}: {e}", self.root.display()),
        }
    }
}

struct AbandonOnDrop {
    flag: Arc<AtomicBool>,
    armed: bool,
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

fn write_atomically(
    source: &Path,
    target: &Path,
    run_id: i64,
    abandoned: &AtomicBool,
) -> Result<PathBuf, DestinationError> {
    let folder = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(io("create folder", folder))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = folder.join(format!(
        ".{name}.cronport-{run_id}-{}.tmp",
        std::process::id()
    ));
    let mut guard = TempGuard(Some(temp.clone()));
    // The rendered file is final: a second name for it costs nothing where
    // a copy writes every byte again (a 40 MB export took 0.2 s more). The
    // spool is often on another filesystem, or one without hard links:
    // then it is copied.
    if fs::hard_link(source, &temp).is_err() {
        fs::copy(source, &temp).map_err(io("write", &temp))?;
    }
    File::open(&temp)
        .and_then(|f| f.sync_all())
        .map_err(io("sync", &temp))?;
    if abandoned.load(Ordering::SeqCst) {
        return Err(io("write", target)(std::io::Error::other(
            "the run was cancelled",
        )));
    }
    fs::rename(&temp, target).map_err(io("rename into place", target))?;
    guard.0 = None;
    // The rename is durable only once the folder entry is on disk.
    File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(io("sync folder", folder))?;
    Ok(target.to_path_buf())
}
