//! The effects that write or run something: saving a job from the form and
//! dry-running one. They run in tasks; their answers come back as messages.

use std::sync::Arc;

use chrono::Utc;

use crate::config::Config;
use crate::export::{DryRun, Pipeline, RunContext};
use crate::job::JobSpec;
use crate::store::{Store, StoreError};

/// Lines of a dry run's output shown as a preview.
pub const PREVIEW_LINES: usize = 20;

/// Every problem of a job definition, on one line.
fn problems(errors: Vec<crate::job::FieldError>) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Check `spec` against the config and write it in one transaction:
/// created, or (for an edit) updated only if nobody changed it since the
/// form opened at `original`'s version. A running job keeps its current
/// definition until its next run.
pub async fn save(
    store: &Store,
    config: &Config,
    spec: JobSpec,
    original: Option<(String, i64)>,
) -> Result<String, String> {
    let job = spec.validate(&config.known()).map_err(problems)?;
    let definition = job
        .definition()
        .map_err(|e| format!("cannot store job {}: {e}", job.name()))?;
    let name = definition.name.clone();
    let stored = |e: StoreError| e.to_string();
    match original {
        None => {
            store.create_job(&definition).await.map_err(stored)?;
            Ok(format!("{name} created"))
        }
        Some((old, version)) if old == name => {
            store
                .update_job(&definition, Some(version))
                .await
                .map_err(stored)?;
            Ok(format!("{name} saved; a run under way finishes as it was"))
        }
        Some((old, _)) => Err(format!(
            "a job cannot be renamed ({old} → {name}): create {name} as a new job and delete {old}"
        )),
    }
}

/// Render `job` as a run would now, deliver nothing, and report the size
/// and the first lines. Bounded by the job's timeout.
pub async fn dry_run(
    store: &Store,
    config: &Config,
    pipeline: Arc<Pipeline>,
    job: &str,
) -> Result<DryRun, String> {
    let record = store
        .get_job(job)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no job named {job:?}"))?;
    let spec: JobSpec = serde_json::from_str(&record.definition)
        .map_err(|e| format!("{job}: the stored definition is unreadable: {e}"))?;
    let checked = spec.validate(&config.known()).map_err(problems)?;
    let now = Utc::now();
    let ctx = RunContext {
        job: job.to_string(),
        run_id: 0,
        attempt: 1,
        scheduled_for: now,
        window_start: crate::scheduler::runner::previous_fire(&checked, now),
        window_end: now,
        timezone: checked.schedule.timezone(),
    };
    let render = pipeline.dry_run(
        &checked.spec.source,
        &checked.spec.format,
        &ctx,
        PREVIEW_LINES,
    );
    match tokio::time::timeout(checked.policy.timeout, render).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "{job}: the dry run took longer than the job's timeout ({}s)",
            checked.policy.timeout.as_secs()
        )),
    }
}
