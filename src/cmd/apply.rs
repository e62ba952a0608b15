//! `cronport apply [FILE] [--prune]`: make the store's jobs match a file.

use std::collections::HashMap;

use super::{Context, Failure};
use crate::audit::{Actor, Note};
use crate::cli::ApplyArgs;
use crate::job::Job;
use crate::store::{ApplyReport, AuditAction, JobDefinition, Store, Way};

/// The stored form of a checked job.
pub(super) fn definition(job: &Job) -> Result<JobDefinition, Failure> {
    job.definition()
        .map_err(|e| Failure::Failed(format!("cannot serialise job {}: {e}", job.name())))
}

/// One audit entry per job `report` created, updated or pruned, with its
/// definition before and after.
pub(super) async fn audit(
    store: &Store,
    report: &ApplyReport,
    definitions: &[JobDefinition],
    before: &HashMap<String, String>,
    way: Way,
) {
    let after = |name: &str| {
        definitions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.definition.clone())
    };
    let actor = Actor::here(way);
    for (action, names, said) in [
        (AuditAction::Create, &report.created, "created"),
        (AuditAction::Update, &report.updated, "updated"),
        (
            AuditAction::Prune,
            &report.pruned,
            "pruned: the file does not list it",
        ),
    ] {
        for name in names {
            let after = match action {
                AuditAction::Prune => None,
                _ => after(name),
            };
            let note = Note::new(action, Some(name))
                .outcome(&Ok(said.to_string()))
                .change(before.get(name).cloned(), after);
            crate::audit::record(store, &actor, note).await;
        }
    }
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
    // store stays exactly as it was. Jobs may name the destinations made in
    // the console.
    let store = ctx.store().await?;
    let known = crate::destinations::known(&ctx.config, &store).await?;
    let jobs = ctx
        .config
        .load_jobs_file_with(&file, &known)
        .map_err(|e| Failure::BadInput(e.to_string()))?;
    let definitions = jobs.iter().map(definition).collect::<Result<Vec<_>, _>>()?;
    let before: HashMap<String, String> = store
        .list_jobs()
        .await?
        .into_iter()
        .map(|r| (r.name, r.definition))
        .collect();
    let report = store.apply_jobs(&definitions, args.prune).await?;
    audit(&store, &report, &definitions, &before, Way::Cli).await;
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
