//! One attempt's steps, in the one place that decides what becomes of a
//! rendered output: render it, deliver it or not (`deliver = "on_change"`
//! sends nothing when the content is the same as the last delivered run's),
//! record what happened, and hand the file over to be kept. The executor
//! only carries the steps out; every record of the attempt is written here,
//! through the scheduler's group commit.

use super::recorder::Request;
use super::runner::Shared;
use crate::export::delivery::Outcome;
use crate::export::pipeline::Rendered;
use crate::export::{ExportError, ExportOutput, RunContext};
use crate::job::Job;
use crate::store::{JobId, RunWrite};

/// What to do with a rendered output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send it to every destination.
    Deliver,
    /// Send nothing: its content is the same as the last delivered run's.
    Unchanged,
}

/// What to do with `rendered` for `job`, given the content hash of the
/// job's last delivered run. Without a hash on either side (a job that
/// always delivers, a first run) it is delivered.
pub fn decide(job: &Job, rendered: &Rendered, last_delivered: Option<&str>) -> Decision {
    match (&rendered.content_hash, last_delivered) {
        (Some(now), Some(before)) if job.policy.on_change && now == before => Decision::Unchanged,
        _ => Decision::Deliver,
    }
}

/// Carry out one attempt of `job` (run `ctx.run_id`), recording what it
/// did. Dropping the future cancels it: the rendered file is removed and
/// deliveries already made are taken back.
pub(super) async fn attempt(
    shared: &Shared,
    job: &Job,
    job_id: JobId,
    ctx: &RunContext,
) -> Result<ExportOutput, ExportError> {
    let on_change = job.policy.on_change;
    let last_delivered = if on_change {
        last_delivered(shared, job_id).await
    } else {
        None
    };
    let rendered = shared.executor.render(job, ctx, on_change).await?;
    let decision = decide(job, &rendered, last_delivered.as_deref());
    if let Some(hash) = &rendered.content_hash {
        write(
            shared,
            RunWrite::Content {
                run_id: ctx.run_id,
                hash: hash.clone(),
                unchanged: decision == Decision::Unchanged,
            },
        )
        .await;
    }
    let result = match decision {
        Decision::Unchanged => {
            tracing::info!(
                "unchanged: the output is the same as the last delivered run's ({}); \
                 nothing delivered",
                short(rendered.content_hash.as_deref())
            );
            Ok(ExportOutput {
                rows: rendered.rows,
                bytes: rendered.bytes,
                outputs: Vec::new(),
                unchanged: true,
            })
        }
        Decision::Deliver => match shared.executor.deliver(job, &rendered, ctx).await {
            Ok(outcome) => {
                record_deliveries(shared, &outcome, ctx).await;
                outcome.into_output(rendered.rows, rendered.bytes)
            }
            Err(e) => Err(e),
        },
    };
    // Kept whatever happened at the destinations: `runs redeliver` sends a
    // failed or unchanged run's output as it was rendered.
    shared.executor.keep(rendered, ctx);
    result
}

/// The content hash of the job's last delivered run. The runs before this
/// one may still sit in the recorder's queue, so that is committed first.
/// A store that cannot be read means delivering: sending a report twice
/// does less harm than not sending a changed one.
async fn last_delivered(shared: &Shared, job_id: JobId) -> Option<String> {
    shared.recorder.flush().await;
    match shared.store.last_delivered_hash(job_id).await {
        Ok(hash) => hash,
        Err(e) => {
            tracing::warn!(
                "could not read the last delivered run's content hash, delivering anyway: {e}"
            );
            None
        }
    }
}

/// Record the outcome at each destination, in the run's next group commit.
/// The run does not wait for the commit: waiting made every run as slow as
/// the store's busiest commit (with 1,000 runs a second, over a second, so
/// every-second jobs skipped slots), and a crash between the delivery and
/// its record is not closed by waiting anyway, only narrowed. A retry of a
/// run whose instance died finds what was recorded; what was delivered and
/// not yet recorded is delivered again under the same name (see `fire_id`).
async fn record_deliveries(shared: &Shared, outcome: &Outcome, ctx: &RunContext) {
    let records = super::delivery_records(outcome, ctx);
    for record in &records {
        crate::metrics::delivered(&record.destination, &record.status);
    }
    if !records.is_empty() {
        write(
            shared,
            RunWrite::Delivered {
                run_id: ctx.run_id,
                records,
            },
        )
        .await;
    }
}

async fn write(shared: &Shared, write: RunWrite) {
    let _ = shared.recorder.send(Request::Write(write)).await;
}

/// The first 12 hex digits of a hash, for log lines.
fn short(hash: Option<&str>) -> &str {
    hash.map_or("?", crate::export::pipeline::short_hash)
}
