//! `cronport status`: is cronport scheduling, and are its jobs succeeding?
//!
//! Healthy means: a live instance holds the scheduler lease (some process
//! is firing the schedule), and no active job is failing (its newest runs
//! since its last success are not failed or interrupted). Paused jobs do
//! not count: nobody expects them to run. Exit 0 when healthy, 1 when not.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Context, Failure, live_holder};
use crate::store::{InstanceInfo, JobStats};

/// Next fires the text output lists (the JSON has every job's).
const NEXT_SHOWN: usize = 10;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn instance_json(i: &InstanceInfo) -> Value {
    json!({
        "id": i.id,
        "hostname": i.hostname,
        "pid": i.pid,
        "version": i.version,
        "started_at": rfc3339(i.started_at),
        "takes_work": i.takes_work,
    })
}

pub(super) async fn run(ctx: &Context, as_json: bool) -> Result<(), Failure> {
    let store = ctx.store().await?;
    let now = Utc::now();
    let instances = store
        .live_instances(now, crate::scheduler::STALE_AFTER)
        .await?;
    let holder = live_holder(&store).await?;
    let jobs = store.list_jobs().await?;
    let stats: std::collections::HashMap<_, JobStats> = store
        .job_stats()
        .await?
        .into_iter()
        .map(|s| (s.job_id, s))
        .collect();
    let url = store.display_url().to_string();
    let known = crate::destinations::known(&ctx.config, &store).await?;
    store.close().await;
    let mut next: Vec<(DateTime<Utc>, &str)> = jobs
        .iter()
        .filter_map(|job| {
            crate::metrics::next_fire_of(job, &known, now).map(|at| (at, job.name.as_str()))
        })
        .collect();
    next.sort();
    let failing: Vec<(&str, &JobStats)> = jobs
        .iter()
        .filter(|job| !job.paused)
        .filter_map(|job| {
            stats
                .get(&job.id)
                .filter(|s| s.consecutive_failures > 0)
                .map(|s| (job.name.as_str(), s))
        })
        .collect();
    let mut problems = Vec::new();
    if holder.is_none() {
        problems.push(
            "no live instance holds the scheduler lease: nothing is firing the schedule"
                .to_string(),
        );
    }
    if !failing.is_empty() {
        let names: Vec<&str> = failing.iter().map(|(name, _)| *name).collect();
        problems.push(format!("failing job(s): {}", names.join(", ")));
    }
    if as_json {
        let value = json!({
            "healthy": problems.is_empty(),
            "problems": problems,
            "store": url,
            "instances": instances.iter().map(instance_json).collect::<Vec<_>>(),
            "lease_holder": holder.as_ref().map(instance_json),
            "next_fires": next.iter().map(|(at, job)| json!({"job": job, "at": rfc3339(*at)})).collect::<Vec<_>>(),
            "failing_jobs": failing.iter().map(|(job, s)| json!({
                "job": job,
                "consecutive_failures": s.consecutive_failures,
                "last_status": s.last_run.as_ref().map(|r| r.status.as_str()),
                "last_run_at": s.last_run.as_ref().map(|r| rfc3339(r.finished_at.unwrap_or(r.scheduled_for))),
            })).collect::<Vec<_>>(),
        });
        println!("{value:#}");
    } else {
        println!("store:     {}", url);
        match &holder {
            Some(h) => println!("lease:     held by {}:{} ({})", h.hostname, h.pid, h.id),
            None => println!("lease:     nobody holds it"),
        }
        println!("instances: {}", instances.len());
        for i in &instances {
            let role = if holder.as_ref().is_some_and(|h| h.id == i.id) {
                "  [lease]"
            } else {
                ""
            };
            println!(
                "  {}:{}  {}  version {}  since {}{role}",
                i.hostname,
                i.pid,
                i.id,
                i.version,
                rfc3339(i.started_at)
            );
        }
        println!("next fires:");
        for (at, job) in next.iter().take(NEXT_SHOWN) {
            println!("  {}  {job}", rfc3339(*at));
        }
        if next.len() > NEXT_SHOWN {
            println!("  ... and {} more job(s)", next.len() - NEXT_SHOWN);
        }
        println!("failing jobs: {}", failing.len());
        for (job, s) in &failing {
            let last = s.last_run.as_ref().map_or(String::new(), |r| {
                format!(
                    ", last {} at {}",
                    r.status.as_str(),
                    rfc3339(r.finished_at.unwrap_or(r.scheduled_for))
                )
            });
            println!(
                "  {job}: {} consecutive failure(s){last}",
                s.consecutive_failures
            );
        }
        match problems.is_empty() {
            true => println!("healthy"),
            false => println!("not healthy: {}", problems.join("; ")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        // The report is printed; the exit code says the rest.
        Err(Failure::Failed("not healthy".to_string()))
    }
}
