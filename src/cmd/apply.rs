//! `cronport apply [FILE] [--prune]`: make the store's jobs match a file.

use super::{Context, Failure};
use crate::cli::ApplyArgs;
use crate::job::Job;
use crate::store::JobDefinition;

/// The stored form of a checked job.
pub(super) fn definition(job: &Job) -> Result<JobDefinition, Failure> {
    job.definition()
        .map_err(|e| Failure::Failed(format!("cannot serialise job {}: {e}", job.name())))
}

pub(super) async fn run(ctx: &Context, args: &ApplyArgs) -> Result<(), Failure> {
    let file = match (&args.file, &ctx.config.path) {
        (Some(file), _) => file.clone(),
        (None, Some(config)) => config.clone(),
        (None, None) => {
            return Err(Failure::BadInput(
                "apply: no FILE given and no config file found (looked for ./config/cronport.toml and the XDG config)".into(),
            ));
        }
    };
    // Every job is checked before anything is written: one bad job and the
    // store stays exactly as it was.
    let jobs = ctx
        .config
        .load_jobs_file(&file)
        .map_err(|e| Failure::BadInput(e.to_string()))?;
    let definitions = jobs.iter().map(definition).collect::<Result<Vec<_>, _>>()?;
    let store = ctx.store().await?;
    let report = store.apply_jobs(&definitions, args.prune).await?;
    for (label, names) in [
        ("created", &report.created),
        ("updated", &report.updated),
        ("unchanged", &report.unchanged),
        ("pruned", &report.pruned),
    ] {
        if !names.is_empty() {
            println!("{label}: {}", names.join(", "));
        }
    }
    println!(
        "{} created, {} updated, {} unchanged, {} pruned ({})",
        report.created.len(),
        report.updated.len(),
        report.unchanged.len(),
        report.pruned.len(),
        store.display_url()
    );
    Ok(())
}
