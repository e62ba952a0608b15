//! `cronport audit [--job NAME] [--since WHEN] [--json]`: the audit trail,
//! newest first.

use chrono::SecondsFormat;
use serde_json::json;

use super::{Context, Failure};
use crate::cli::AuditArgs;
use crate::store::{AuditEntry, AuditFilter};

/// An entry as `--json` prints it; definitions as JSON, not text.
pub fn to_json(entry: &AuditEntry) -> serde_json::Value {
    let e = &entry.entry;
    let definition = |text: &Option<String>| {
        text.as_deref()
            .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap_or_else(|_| t.into()))
    };
    json!({
        "id": entry.id,
        "at": e.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "user": e.actor_user,
        "host": e.actor_host,
        "way": e.way.as_str(),
        "instance": e.instance,
        "action": e.action.as_str(),
        "job": e.job,
        "run_id": e.run_id,
        "outcome": e.outcome,
        "before": definition(&e.before),
        "after": definition(&e.after),
    })
}

pub(super) async fn run(ctx: &Context, args: &AuditArgs) -> Result<(), Failure> {
    let store = ctx.store().await?;
    let filter = AuditFilter {
        job: args.job.clone(),
        since: args.since,
        limit: args.limit,
    };
    let entries = store.audit_entries(&filter).await?;
    if args.json {
        let values = entries.iter().map(to_json).collect();
        println!("{}", serde_json::Value::Array(values));
        return Ok(());
    }
    if entries.is_empty() {
        println!("no audit entries");
        return Ok(());
    }
    println!(
        "{:<20} {:<24} {:<7} {:<10} {:<20} {:>7}  OUTCOME (INSTANCE)",
        "AT (UTC)", "WHO", "WAY", "ACTION", "JOB", "RUN"
    );
    for entry in &entries {
        let e = &entry.entry;
        println!(
            "{:<20} {:<24} {:<7} {:<10} {:<20} {:>7}  {} ({})",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            format!("{}@{}", e.actor_user, e.actor_host),
            e.way.as_str(),
            e.action.as_str(),
            e.job.as_deref().unwrap_or("-"),
            e.run_id.map_or("-".into(), |id| id.to_string()),
            e.outcome,
            e.instance,
        );
    }
    Ok(())
}
