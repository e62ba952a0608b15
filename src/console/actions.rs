//! The effects that write something: saving a job from the form. They run in
//! tasks; their answers come back as messages.

use crate::config::Config;
use crate::job::JobSpec;
use crate::store::{Store, StoreError};

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
    let job = spec
        .validate(&config.known())
        .map_err(|errors| crate::job::one_line(&errors))?;
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
