//! `cronport jobs ...`.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Context, Failure, live_holder};
use crate::audit::{Actor, Note};
use crate::cli::JobsCommand;
use crate::control::{Request, ask_instance};
use crate::job::{JobSpec, Known};
use crate::schedule::{Schedule, parse_timezone};
use crate::store::{AuditAction, JobRecord, JobStats, RunStatus, Store, Way};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The operator at this command line, for the audit trail.
fn cli() -> Actor {
    Actor::here(Way::Cli)
}

fn no_such_job(name: &str) -> Failure {
    Failure::BadInput(format!("no job named {name:?} in the store"))
}

pub(super) async fn run(ctx: &Context, command: &JobsCommand) -> Result<(), Failure> {
    let store = ctx.store().await?;
    match command {
        JobsCommand::List { json } => {
            let known = crate::destinations::known(&ctx.config, &store).await?;
            list(&store, *json, &known).await
        }
        JobsCommand::Show { name, json } => {
            let known = crate::destinations::known(&ctx.config, &store).await?;
            show(&store, name, *json, &known).await
        }
        JobsCommand::Pause { name, .. } => set_paused(&store, name.as_deref(), true).await,
        JobsCommand::Resume { name, .. } => set_paused(&store, name.as_deref(), false).await,
        JobsCommand::Delete { name } => {
            let before = store
                .get_job(name)
                .await?
                .ok_or_else(|| no_such_job(name))?;
            if !store.delete_job(name).await? {
                return Err(no_such_job(name));
            }
            let said = format!("deleted {name} and its run history");
            let note = Note::new(AuditAction::Delete, Some(name))
                .outcome(&Ok(said.clone()))
                .change(Some(before.definition), None);
            crate::audit::record(&store, &cli(), note).await;
            println!("{said}");
            Ok(())
        }
        JobsCommand::Run {
            name,
            dry_run: true,
            rows,
            ..
        } => {
            let pipeline = ctx.pipeline();
            let preview =
                crate::audit::dry_run(&store, &ctx.config, &pipeline, name, *rows, &cli())
                    .await
                    .map_err(Failure::Failed)?;
            print!("{}", preview.to_text());
            Ok(())
        }
        JobsCommand::Run { name, wait, .. } => run_now(ctx, store, name, *wait).await,
        JobsCommand::Backfill(args) => super::backfill::run(ctx, store, args).await,
        JobsCommand::Export => export(&store).await,
    }
}

/// One job with its counters, as listings show it.
///
/// A job that fits the config (`known`) shows its next fire by its rules
/// (calendar, blackouts, bounds, jitter), and `ended` past its `end_at`.
fn summary(
    record: &JobRecord,
    stats: Option<&JobStats>,
    now: DateTime<Utc>,
    known: &Known,
) -> serde_json::Value {
    let checked = crate::job::checked_stored(&record.name, &record.definition, known).ok();
    let schedule = match &checked {
        Some(job) => Some(job.schedule.clone()),
        None => parse_timezone(&record.timezone)
            .ok()
            .and_then(|tz| Schedule::parse(&record.schedule, tz).ok()),
    };
    let ended = checked.as_ref().is_some_and(|job| job.ended(now));
    let next_run = match &checked {
        _ if record.paused || ended => None,
        Some(job) => job.next_run(now).map(|fire| fire.at),
        None => schedule.as_ref().and_then(|s| s.next_after(now)),
    };
    let state = if record.paused {
        "paused"
    } else if ended {
        "ended"
    } else {
        "active"
    };
    let last = stats.and_then(|s| s.last_run.as_ref());
    json!({
        "name": record.name,
        "schedule": record.schedule,
        "cron": record.cron,
        "timezone": record.timezone,
        "description": schedule.as_ref().map(Schedule::describe),
        "state": state,
        "next_run": next_run.map(rfc3339),
        "last_run": last.map(|l| rfc3339(l.started_at.unwrap_or(l.scheduled_for))),
        "last_status": last.map(|l| l.status.as_str()),
        "run_count": stats.map_or(0, |s| s.run_count),
        "error_count": stats.map_or(0, |s| s.error_count),
        "consecutive_failures": stats.map_or(0, |s| s.consecutive_failures),
    })
}

async fn list(store: &Store, as_json: bool, known: &Known) -> Result<(), Failure> {
    let records = store.list_jobs().await?;
    let stats: HashMap<_, _> = store
        .job_stats()
        .await?
        .into_iter()
        .map(|s| (s.job_id, s))
        .collect();
    let now = Utc::now();
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| summary(r, stats.get(&r.id), now, known))
        .collect();
    if as_json {
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    if rows.is_empty() {
        println!("no jobs; add some with `cronport apply FILE`");
        return Ok(());
    }
    println!(
        "{:<24} {:<7} {:<22} {:<10} {:>6} {:>6}  SCHEDULE",
        "NAME", "STATE", "NEXT RUN", "LAST", "RUNS", "ERRORS"
    );
    for row in rows {
        let text = |key: &str| row[key].as_str().unwrap_or("-").to_string();
        println!(
            "{:<24} {:<7} {:<22} {:<10} {:>6} {:>6}  {} ({})",
            text("name"),
            text("state"),
            text("next_run"),
            text("last_status"),
            row["run_count"].as_i64().unwrap_or(0),
            row["error_count"].as_i64().unwrap_or(0),
            text("description"),
            text("timezone"),
        );
    }
    Ok(())
}

async fn show(store: &Store, name: &str, as_json: bool, known: &Known) -> Result<(), Failure> {
    let record = store
        .get_job(name)
        .await?
        .ok_or_else(|| no_such_job(name))?;
    let stats = store
        .job_stats()
        .await?
        .into_iter()
        .find(|s| s.job_id == record.id);
    let mut value = summary(&record, stats.as_ref(), Utc::now(), known);
    let definition: serde_json::Value =
        serde_json::from_str(&record.definition).unwrap_or(serde_json::Value::Null);
    value["definition"] = definition;
    if as_json {
        println!("{value}");
        return Ok(());
    }
    let text = |key: &str| value[key].as_str().map_or("-".to_string(), str::to_string);
    println!("name:        {}", text("name"));
    println!("state:       {}", text("state"));
    println!(
        "schedule:    {} = {} ({})",
        text("schedule"),
        text("cron"),
        text("description")
    );
    println!("timezone:    {}", text("timezone"));
    println!("next run:    {}", text("next_run"));
    println!("last run:    {} {}", text("last_run"), text("last_status"));
    println!(
        "runs:        {} ({} errors, {} failing in a row)",
        value["run_count"], value["error_count"], value["consecutive_failures"]
    );
    if let Ok(spec) = crate::job::decode_stored(&record.name, &record.definition) {
        let toml = toml::to_string(&spec).unwrap_or_default();
        println!(
            "definition:\n{}",
            toml.lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// Pauses or resumes `name`, or every job when `None` (`--all`).
async fn set_paused(store: &Store, name: Option<&str>, paused: bool) -> Result<(), Failure> {
    let done = if paused { "paused" } else { "resumed" };
    let what = name.unwrap_or("all jobs");
    if let Some(name) = name
        && store.get_job(name).await?.is_none()
    {
        return Err(no_such_job(name));
    }
    let request = match (name, paused) {
        (Some(name), true) => Request::Pause(name.to_string()),
        (Some(name), false) => Request::Resume(name.to_string()),
        (None, true) => Request::PauseAll,
        (None, false) => Request::ResumeAll,
    };
    let (result, by) = match live_holder(store).await? {
        // A scheduler is running: ask it through the store, as the console
        // does, so it acts (and says so) within a second.
        Some(_) => match ask_instance(store, &request).await {
            Ok(command) => {
                let by = command.taken_by.unwrap_or_default();
                (Ok(format!("{what} {done} by {by}")), Some(by))
            }
            Err(e) => (Err(e), None),
        },
        None => {
            let written = match name {
                Some(name) => store.set_paused(name, paused).await.map(|_| 1),
                None => store.set_all_paused(paused).await,
            };
            let result = written
                .map(|count| match name {
                    Some(_) => format!("{what} {done}"),
                    None => format!("{count} job(s) {done}"),
                })
                .map_err(|e| e.to_string());
            (result, None)
        }
    };
    let note = crate::audit::note(&request).outcome(&result).by(by);
    crate::audit::record(store, &cli(), note).await;
    let said = result.map_err(Failure::Failed)?;
    println!("{said}");
    Ok(())
}

async fn export(store: &Store) -> Result<(), Failure> {
    #[derive(serde::Serialize)]
    struct File {
        jobs: Vec<JobSpec>,
    }
    let mut jobs = Vec::new();
    for record in store.list_jobs().await? {
        let spec = crate::job::decode_stored(&record.name, &record.definition)
            .map_err(|e| Failure::Failed(e.to_string()))?;
        jobs.push(spec);
    }
    let text = toml::to_string(&File { jobs })
        .map_err(|e| Failure::Failed(format!("cannot write TOML: {e}")))?;
    print!("{text}");
    Ok(())
}

async fn run_now(ctx: &Context, store: Store, name: &str, wait: bool) -> Result<(), Failure> {
    if store.get_job(name).await?.is_none() {
        return Err(no_such_job(name));
    }
    let run_id = match live_holder(&store).await? {
        Some(_) => {
            // A scheduler is running: ask it, through the store.
            let asked = ask_instance(&store, &Request::RunNow(name.to_string())).await;
            let note = Note::new(AuditAction::RunNow, Some(name));
            let note = match &asked {
                Ok(command) => match command.result_run_id {
                    Some(run) => note.run(run).by(command.taken_by.clone()),
                    None => note.by(command.taken_by.clone()),
                },
                Err(e) => note.outcome(&Err(e.clone())),
            };
            crate::audit::record(&store, &cli(), note).await;
            let command = asked.map_err(Failure::Failed)?;
            let run_id = command
                .result_run_id
                .ok_or_else(|| Failure::Failed("the instance started no run".into()))?;
            let instance = command.taken_by.unwrap_or_default();
            println!(
                "{}",
                crate::control::manual_run(&store, run_id, name, Some(&instance)).await
            );
            if !wait {
                return Ok(());
            }
            super::runs::follow(&store, run_id).await?;
            run_id
        }
        None => {
            let bus = crate::events::bus();
            let printer = crate::headless::spawn_printer(&bus, crate::cli::LogFormat::Text);
            let parts = ctx.parts(store.clone(), bus);
            let result = crate::scheduler::run_once(parts, name).await;
            let said = match &result {
                Ok(run) => Ok(format!("run {run} of {name} ran here")),
                Err(e) => Err(e.to_string()),
            };
            let note = Note::new(AuditAction::RunNow, Some(name)).outcome(&said);
            let note = match &result {
                Ok(run) => note.run(*run),
                Err(_) => note,
            };
            crate::audit::record(&store, &cli(), note).await;
            // The bus closes when the run is done; the printer then finishes
            // the lines it still holds.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), printer).await;
            result.map_err(|e| Failure::Failed(e.to_string()))?
        }
    };
    let run = store
        .get_run(run_id)
        .await?
        .ok_or_else(|| Failure::Failed(format!("run {run_id} vanished")))?;
    match run.status {
        RunStatus::Succeeded => {
            println!(
                "run {run_id} succeeded: {} rows, {} bytes",
                run.rows.unwrap_or(0),
                run.bytes.unwrap_or(0)
            );
            for output in &run.outputs {
                println!("  {output}");
            }
            Ok(())
        }
        // Skipped by a check is what the job asked for, not a failure.
        RunStatus::Skipped if run.failed_check.is_some() => {
            println!(
                "run {run_id} skipped by a check, nothing delivered: {}",
                run.error.unwrap_or_default()
            );
            Ok(())
        }
        RunStatus::Held => Err(Failure::Failed(format!(
            "run {run_id} held, nothing delivered: {}; release it with `cronport runs release \
             {run_id}` or drop it with `cronport runs discard {run_id}`",
            run.error.unwrap_or_default()
        ))),
        status => Err(Failure::Failed(format!(
            "run {run_id} {}: {}",
            status.as_str(),
            run.error.unwrap_or_default()
        ))),
    }
}
