//! Delivering one rendered export to a job's destinations, and what
//! happened at each.

use std::sync::Arc;

use super::RunContext;
use super::destination::{Artifact, Destination, DestinationError};
use super::pipeline::{ExportError, ExportOutput};

/// A destination with the name the config gives it.
pub type Target = (String, Arc<dyn Destination>);

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
#[derive(Debug)]
pub struct Outcome {
    /// One entry per destination, in the job's order.
    pub deliveries: Vec<Delivery>,
    /// The destination that failed and why.
    pub failure: Option<(String, DestinationError)>,
}

impl Outcome {
    /// The attempt's result: what it produced (`rows` and `bytes` rendered),
    /// or the destination that refused.
    pub fn into_output(self, rows: u64, bytes: u64) -> Result<ExportOutput, ExportError> {
        let outputs = self.locations();
        if let Some((name, error)) = self.failure {
            return Err(ExportError::Destination { name, error });
        }
        Ok(ExportOutput {
            rows,
            bytes,
            outputs,
            unchanged: false,
            checked: None,
        })
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
pub async fn deliver_all(targets: &[Target], artifact: &mut Artifact, ctx: &RunContext) -> Outcome {
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
