//! `cronport runs ...`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Context, Failure};
use crate::audit::{Actor, Note};
use crate::cli::RunsCommand;
use crate::export::destination::fire_id_of;
use crate::store::{
    AuditAction, DeliveryRecord, RunFilter, RunId, RunRecord, RunStatus, Store, Way,
};

fn rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// What listings say of a run that sent nothing because its content had
/// not changed (`deliver = "on_change"`).
pub(super) const UNCHANGED: &str =
    "unchanged: same content as the last delivered run, nothing sent";

/// A run as `--json` prints it.
pub(super) fn to_json(run: &RunRecord) -> serde_json::Value {
    json!({
        "id": run.id,
        "job": run.job_name,
        "trigger": run.trigger.as_str(),
        "status": run.status.as_str(),
        "scheduled_for": rfc3339(Some(run.scheduled_for)),
        "started_at": rfc3339(run.started_at),
        "finished_at": rfc3339(run.finished_at),
        "duration_ms": run.duration_ms(),
        "attempt": run.attempt,
        "rows": run.rows,
        "bytes": run.bytes,
        "outputs": run.outputs,
        "error": run.error,
        "retry_of": run.retry_of,
        "instance": run.instance_id,
        "unchanged": run.unchanged,
        "content_hash": run.content_hash,
        "failed_check": run.failed_check,
        "held_until": rfc3339(run.held_until),
        "schema": run.schema,
        "retry_at": rfc3339(run.retry_at),
    })
}

/// Adds `fire_id` and `deliveries` (per destination: status, location,
/// error) to a run's JSON.
fn with_deliveries(run: &RunRecord, deliveries: Option<Vec<DeliveryRecord>>) -> serde_json::Value {
    let mut value = to_json(run);
    let deliveries = deliveries.unwrap_or_default();
    value["fire_id"] = fire_id_of(&run.job_name, run.scheduled_for).into();
    value["deliveries"] = deliveries
        .iter()
        .map(|d| {
            json!({
                "destination": d.destination,
                "status": d.status,
                "location": d.location,
                "error": d.error,
                "attempt": d.attempt,
                "at": rfc3339(Some(d.at)),
            })
        })
        .collect();
    value
}

pub(super) async fn run(ctx: &Context, command: &RunsCommand) -> Result<(), Failure> {
    let store = ctx.store().await?;
    match command {
        RunsCommand::List {
            job,
            status,
            since,
            limit,
            json,
        } => {
            if let Some(name) = job
                && store.get_job(name).await?.is_none()
            {
                return Err(Failure::BadInput(format!(
                    "--job: no job named {name:?} in the store"
                )));
            }
            let filter = RunFilter {
                job: job.clone(),
                status: *status,
                since: *since,
                limit: *limit,
                ..RunFilter::default()
            };
            let runs = store.list_runs(&filter).await?;
            if *json {
                let ids: Vec<RunId> = runs.iter().map(|r| r.id).collect();
                let mut deliveries = store.deliveries(&ids).await?;
                let values = runs
                    .iter()
                    .map(|r| with_deliveries(r, deliveries.remove(&r.id)))
                    .collect();
                println!("{}", serde_json::Value::Array(values));
                return Ok(());
            }
            println!(
                "{:>7} {:<20} {:<9} {:<11} {:<20} {:>9} {:>8} {:>10}  ERROR",
                "ID", "JOB", "TRIGGER", "STATUS", "SCHEDULED (UTC)", "DURATION", "ROWS", "BYTES"
            );
            for r in runs {
                let retry = r
                    .retry_at
                    .filter(|_| r.status == RunStatus::Running)
                    .map(|at| format!("retry at {} (UTC)", at.format("%Y-%m-%d %H:%M:%S")));
                println!(
                    "{:>7} {:<20} {:<9} {:<11} {:<20} {:>9} {:>8} {:>10}  {}",
                    r.id,
                    r.job_name,
                    r.trigger.as_str(),
                    r.status.as_str(),
                    r.scheduled_for.format("%Y-%m-%d %H:%M:%S"),
                    r.duration_ms()
                        .map_or("-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
                    r.rows.map_or("-".into(), |n| n.to_string()),
                    r.bytes.map_or("-".into(), |n| n.to_string()),
                    match (&r.error, r.unchanged, &retry) {
                        (Some(error), _, _) => error.as_str(),
                        (None, _, Some(retry)) => retry.as_str(),
                        (None, true, None) => UNCHANGED,
                        (None, false, None) => "",
                    }
                );
            }
            Ok(())
        }
        RunsCommand::Show { id, json } => {
            let run = store
                .get_run(*id)
                .await?
                .ok_or_else(|| Failure::BadInput(format!("no run with id {id}")))?;
            let attempts = store.attempts(*id).await?;
            let deliveries = store.deliveries(&[*id]).await?.remove(id);
            let mut value = with_deliveries(&run, deliveries);
            value["attempts"] = attempts
                .iter()
                .map(|a| {
                    json!({
                        "attempt": a.attempt,
                        "status": a.status.as_str(),
                        "started_at": rfc3339(Some(a.started_at)),
                        "finished_at": rfc3339(a.finished_at),
                        "error": a.error,
                    })
                })
                .collect();
            if *json {
                println!("{value}");
            } else {
                print_run(&value);
            }
            Ok(())
        }
        RunsCommand::Redeliver {
            id,
            destination,
            json,
        } => {
            let job = store.get_run(*id).await?.map(|run| run.job_name);
            let result = super::redeliver::run(ctx, *id, destination.as_deref(), *json).await;
            let said = match &result {
                Ok(()) => Ok(match destination {
                    Some(name) => format!("redelivered to {name}"),
                    None => "redelivered".to_string(),
                }),
                Err(e) => Err(e.to_string()),
            };
            let note = Note::new(AuditAction::Redeliver, job.as_deref())
                .run(*id)
                .outcome(&said);
            crate::audit::record(&store, &Actor::here(Way::Cli), note).await;
            result
        }
        RunsCommand::Release { id, json } => {
            let job = store.get_run(*id).await?.map(|run| run.job_name);
            let result = super::held::release(ctx, &store, *id, *json).await;
            let said = result
                .as_ref()
                .map(|()| "released: delivered".to_string())
                .map_err(ToString::to_string);
            let note = Note::new(AuditAction::Release, job.as_deref())
                .run(*id)
                .outcome(&said);
            crate::audit::record(&store, &Actor::here(Way::Cli), note).await;
            result
        }
        RunsCommand::Discard { id } => {
            let job = store.get_run(*id).await?.map(|run| run.job_name);
            let result = super::held::discard(ctx, &store, *id).await;
            let said = result
                .as_ref()
                .map(|()| "discarded".to_string())
                .map_err(ToString::to_string);
            let note = Note::new(AuditAction::Discard, job.as_deref())
                .run(*id)
                .outcome(&said);
            crate::audit::record(&store, &Actor::here(Way::Cli), note).await;
            result
        }
        RunsCommand::Retry { id } => super::run_control::retry(&store, *id).await,
        RunsCommand::Cancel { id } => super::run_control::cancel(&store, *id).await,
        RunsCommand::Logs {
            id,
            follow: keep_following,
        } => {
            if store.get_run(*id).await?.is_none() {
                return Err(Failure::BadInput(format!("no run with id {id}")));
            }
            if *keep_following {
                follow(&store, *id).await
            } else {
                print_logs(&store, *id, -1).await.map(|_| ())
            }
        }
    }
}

fn print_run(value: &serde_json::Value) {
    let Some(fields) = value.as_object() else {
        return;
    };
    for (key, v) in fields {
        match (key.as_str(), v) {
            ("outputs", serde_json::Value::Array(items)) => {
                println!("{key:14}{}", if items.is_empty() { "-" } else { "" });
                for item in items {
                    println!("  {}", item.as_str().unwrap_or_default());
                }
            }
            ("deliveries", serde_json::Value::Array(items)) => {
                println!("deliveries:{}", if items.is_empty() { " -" } else { "" });
                for d in items {
                    println!(
                        "  {:<20} {:<10} {}",
                        d["destination"].as_str().unwrap_or("-"),
                        d["status"].as_str().unwrap_or("-"),
                        d["location"]
                            .as_str()
                            .or_else(|| d["error"].as_str())
                            .unwrap_or("")
                    );
                }
            }
            ("attempts", serde_json::Value::Array(items)) => {
                println!("attempts:");
                for a in items {
                    println!(
                        "  #{} {} {} -> {} {}",
                        a["attempt"],
                        a["status"].as_str().unwrap_or("-"),
                        a["started_at"].as_str().unwrap_or("-"),
                        a["finished_at"].as_str().unwrap_or("-"),
                        a["error"].as_str().unwrap_or("")
                    );
                }
            }
            (_, serde_json::Value::Null) => println!("{key:14}-"),
            (_, serde_json::Value::String(s)) => println!("{key:14}{s}"),
            (_, other) => println!("{key:14}{other}"),
        }
    }
}

/// Print lines after `after_seq`; returns the last seq printed.
async fn print_logs(store: &Store, id: RunId, mut after_seq: i64) -> Result<i64, Failure> {
    loop {
        let lines = store.run_logs(id, after_seq, 1000).await?;
        if lines.is_empty() {
            return Ok(after_seq);
        }
        for line in &lines {
            println!(
                "{} {:5} {}",
                line.ts.to_rfc3339_opts(SecondsFormat::Millis, true),
                line.level.to_ascii_uppercase(),
                line.message
            );
            after_seq = line.seq;
        }
    }
}

/// Print a run's lines as they are stored, until it ends.
pub(super) async fn follow(store: &Store, id: RunId) -> Result<(), Failure> {
    let mut after = -1;
    loop {
        after = print_logs(store, id, after).await?;
        let run = store
            .get_run(id)
            .await?
            .ok_or_else(|| Failure::Failed(format!("run {id} vanished")))?;
        if run.status.is_final() {
            // Lines written just before the end are committed with it.
            print_logs(store, id, after).await?;
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
