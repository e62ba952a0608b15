//! Delivering one rendered export to a job's destinations, what happened at
//! each, and the spool copies kept for `runs redeliver`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::Utc;

use super::RunContext;
use super::destination::{Artifact, Destination, DestinationError, fire_id};
use crate::store::DeliveryRecord;

/// What happened at one destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// The export is there.
    Delivered,
    /// The destination refused; the error says why.
    Failed,
    /// Not attempted, because an earlier destination failed.
    Skipped,
    /// Delivered, then taken back because a later destination failed.
    Retracted,
}

impl DeliveryStatus {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Retracted => "retracted",
        }
    }
}

/// One destination's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The destination's name.
    pub destination: String,
    /// What happened.
    pub status: DeliveryStatus,
    /// Where it went.
    pub location: Option<String>,
    /// Why not.
    pub error: Option<String>,
}

/// The outcome at every destination, and the first failure.
pub struct Outcome {
    /// One entry per destination, in the job's order.
    pub deliveries: Vec<Delivery>,
    /// The destination that failed and why.
    pub failure: Option<(String, DestinationError)>,
}

impl Outcome {
    /// The records to store for attempt `attempt` of the run.
    pub fn records(&self, ctx: &RunContext) -> Vec<DeliveryRecord> {
        let fire = fire_id(ctx);
        let at = Utc::now();
        self.deliveries
            .iter()
            .map(|d| DeliveryRecord {
                destination: d.destination.clone(),
                status: d.status.as_str().to_string(),
                location: d.location.clone(),
                error: d.error.clone(),
                fire_id: fire.clone(),
                attempt: i64::from(ctx.attempt),
                at,
            })
            .collect()
    }

    /// The locations delivered to.
    pub fn locations(&self) -> Vec<String> {
        self.deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Delivered)
            .filter_map(|d| d.location.clone())
            .collect()
    }
}

/// Deliver `artifact` to each target in order. When one fails, the rest
/// are skipped and those already made are taken back where the destination
/// can, so a failed run leaves no export behind; cancelling (dropping the
/// future) takes them back too.
pub async fn deliver_all(
    targets: &[(String, Arc<dyn Destination>)],
    artifact: &mut Artifact,
    ctx: &RunContext,
) -> Outcome {
    let mut made = Made::default();
    let mut deliveries = Vec::with_capacity(targets.len());
    let mut failure: Option<(String, DestinationError)> = None;
    for (name, dest) in targets {
        if let Some((failed, _)) = &failure {
            deliveries.push(Delivery {
                destination: name.clone(),
                status: DeliveryStatus::Skipped,
                location: None,
                error: Some(format!("not attempted: destination {failed:?} failed")),
            });
            continue;
        }
        match dest.deliver(artifact, ctx).await {
            Ok(location) => {
                tracing::info!("delivered to {name}: {location}");
                artifact.delivered.push(location.clone());
                made.0.push((dest.clone(), location.clone()));
                deliveries.push(Delivery {
                    destination: name.clone(),
                    status: DeliveryStatus::Delivered,
                    location: Some(location),
                    error: None,
                });
            }
            Err(error) => {
                deliveries.push(Delivery {
                    destination: name.clone(),
                    status: DeliveryStatus::Failed,
                    location: None,
                    error: Some(error.to_string()),
                });
                failure = Some((name.clone(), error));
            }
        }
    }
    if let Some((failed, _)) = &failure {
        for (dest, location) in made.0.drain(..) {
            if !dest.can_retract() {
                continue;
            }
            match dest.retract(&location).await {
                Ok(()) => {
                    if let Some(d) = deliveries
                        .iter_mut()
                        .find(|d| d.location.as_deref() == Some(location.as_str()))
                    {
                        d.status = DeliveryStatus::Retracted;
                        d.error = Some(format!("taken back: destination {failed:?} failed"));
                    }
                }
                Err(e) => tracing::warn!("could not take back {location}: {e}"),
            }
        }
    }
    made.0.clear();
    Outcome {
        deliveries,
        failure,
    }
}

/// Deliveries made so far; if the future is dropped (the run cancelled)
/// before the outcome is known, they are taken back.
#[derive(Default)]
struct Made(Vec<(Arc<dyn Destination>, String)>);

impl Drop for Made {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let pending: Vec<_> = self.0.drain(..).collect();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for (dest, location) in pending {
                    let _ = dest.retract(&location).await;
                }
            });
        }
    }
}

/// The folder under the spool where rendered exports are kept.
pub fn kept_dir(spool: &Path) -> PathBuf {
    spool.join("kept")
}

/// The file beside a kept output that holds its row count (a failed run
/// records none, and a redelivery's notice should say it).
const ROWS_SUFFIX: &str = ".rows";

/// Keep `file` (the attempt's spool file) as the run's output, replacing an
/// earlier attempt's.
pub fn keep(
    file: &Path,
    spool: &Path,
    run_id: i64,
    extension: &str,
    rows: u64,
) -> std::io::Result<PathBuf> {
    let dir = kept_dir(spool);
    std::fs::create_dir_all(&dir)?;
    if let Some((old, _)) = kept_output(spool, run_id) {
        let _ = std::fs::remove_file(old);
    }
    std::fs::write(
        dir.join(format!("run-{run_id}{ROWS_SUFFIX}")),
        rows.to_string(),
    )?;
    let kept = dir.join(format!("run-{run_id}.{extension}"));
    std::fs::rename(file, &kept)?;
    Ok(kept)
}

/// The kept output of `run_id` and its row count, if kept.
pub fn kept_output(spool: &Path, run_id: i64) -> Option<(PathBuf, Option<u64>)> {
    let dir = kept_dir(spool);
    let prefix = format!("run-{run_id}.");
    let file = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with(&prefix) && !n.ends_with(ROWS_SUFFIX))?;
    let rows = std::fs::read_to_string(dir.join(format!("run-{run_id}{ROWS_SUFFIX}")))
        .ok()
        .and_then(|t| t.trim().parse().ok());
    Some((dir.join(file), rows))
}

/// Remove kept outputs older than `days`; returns how many.
pub fn prune_kept(spool: &Path, days: u32, now: SystemTime) -> usize {
    let limit = Duration::from_secs(u64::from(days) * 86_400);
    let Ok(entries) = std::fs::read_dir(kept_dir(spool)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > limit);
        if old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
