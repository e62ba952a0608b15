//! `cronport next SCHEDULE --tz ZONE`: the next fires of a schedule; `cronport
//! next --job NAME`: the next fires of a configured job with its rules
//! applied, and why each moved or was skipped.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Failure;
use crate::cli::NextArgs;
use crate::config::Config;
use crate::job::{Fate, Fire, Job, describe_fire};
use crate::schedule::{Schedule, parse_timezone};

pub(super) fn run(args: &NextArgs, config: Option<&Config>) -> Result<(), Failure> {
    let default_zone = config.map(|c| c.scheduler.default_timezone);
    let from = match &args.from {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Failure::BadInput(format!("--from: {text:?} is not an RFC 3339 time ({e})"))
            })?,
        None => Utc::now(),
    };
    if let Some(name) = &args.job {
        let job = config
            .and_then(|c| c.jobs.iter().find(|j| j.name() == name))
            .ok_or_else(|| {
                Failure::BadInput(format!("--job: no job named {name:?} in the config file"))
            })?;
        return job_fires(args, job, from);
    }
    let text = args.schedule.as_deref().unwrap_or_default();
    let tz = match &args.tz {
        Some(name) => parse_timezone(name).map_err(|e| Failure::BadInput(format!("--tz: {e}")))?,
        None => default_zone.unwrap_or(chrono_tz::UTC),
    };
    let schedule =
        Schedule::parse(text, tz).map_err(|e| Failure::BadInput(format!("schedule: {e}")))?;
    let fires: Vec<DateTime<Utc>> = schedule
        .fires_after(from)
        .take(args.count as usize)
        .collect();
    if fires.is_empty() {
        // Nothing to list is not an answer: the schedule is wrong, and a
        // script must hear it (a job with it would never run).
        return Err(Failure::BadInput(format!(
            "schedule: {text:?} never fires ({}; cron: {})",
            schedule.describe(),
            schedule.cron()
        )));
    }
    if args.json {
        let fires: Vec<_> = fires
            .iter()
            .map(|f| {
                serde_json::json!({
                    "utc": f.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "local": f.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, false),
                })
            })
            .collect();
        let out = serde_json::json!({
            "schedule": schedule.text(),
            "cron": schedule.cron(),
            "timezone": tz.name(),
            "description": schedule.describe(),
            "fires": fires,
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "{} ({}; cron: {})",
        schedule.describe(),
        tz.name(),
        schedule.cron()
    );
    for fire in fires {
        let local = fire.with_timezone(&tz);
        println!(
            "  {}  {}",
            local.format("%a %Y-%m-%d %H:%M:%S %Z (%:z)"),
            fire.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    Ok(())
}

/// The job's next `--count` slots, each with its fate: skipped slots are
/// listed too (they say why) but do not count towards `--count` runs.
fn job_fires(args: &NextArgs, job: &Job, from: DateTime<Utc>) -> Result<(), Failure> {
    let tz = job.schedule.timezone();
    let wanted = args.count as usize;
    let mut fires: Vec<Fire> = Vec::new();
    let mut runs = 0;
    for fire in job.fires(from).take(crate::job::MAX_SKIPPED_LOOK) {
        if fire.runs() {
            runs += 1;
        }
        // Long stretches of skipped slots (an every-minute job through a
        // blackout) are shown by their first few.
        if fire.runs() || fires.iter().rev().take_while(|f| !f.runs()).count() < wanted {
            fires.push(fire);
        }
        if runs >= wanted {
            break;
        }
    }
    let ended = fires.is_empty() && job.ended(from);
    if args.json {
        let list: Vec<_> = fires
            .iter()
            .map(|f| {
                let (fate, why) = match &f.fate {
                    Fate::Runs => ("runs", None),
                    Fate::Moved(why) => ("moved", Some(why.as_str())),
                    Fate::Skipped(why) => ("skipped", Some(why.as_str())),
                };
                serde_json::json!({
                    "slot": f.slot.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "at": f.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "local": f.at.with_timezone(&tz).to_rfc3339_opts(SecondsFormat::Secs, false),
                    "fate": fate,
                    "why": why,
                })
            })
            .collect();
        let out = serde_json::json!({
            "job": job.name(),
            "schedule": job.schedule.text(),
            "cron": job.schedule.cron(),
            "timezone": tz.name(),
            "description": job.schedule.describe(),
            "rules": job.rules.summary(tz),
            "ended": ended,
            "fires": list,
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "{}: {} ({}; cron: {})",
        job.name(),
        job.schedule.describe(),
        tz.name(),
        job.schedule.cron()
    );
    for rule in job.rules.summary(tz) {
        println!("  {rule}");
    }
    if ended {
        println!("  ended: past its end_at");
    } else if fires.is_empty() {
        println!("  this job never fires");
    }
    for fire in &fires {
        println!("  {}", describe_fire(fire, tz, "%a %Y-%m-%d %H:%M:%S %Z"));
    }
    Ok(())
}
