//! `cronport next SCHEDULE --tz ZONE`: the next fires of a schedule.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Failure;
use crate::cli::NextArgs;
use crate::schedule::{Schedule, Tz, parse_timezone};

pub(super) fn run(args: &NextArgs, default_zone: Option<Tz>) -> Result<(), Failure> {
    let tz = match &args.tz {
        Some(name) => parse_timezone(name).map_err(|e| Failure::BadInput(format!("--tz: {e}")))?,
        None => default_zone.unwrap_or(chrono_tz::UTC),
    };
    let schedule = Schedule::parse(&args.schedule, tz)
        .map_err(|e| Failure::BadInput(format!("schedule: {e}")))?;
    let from = match &args.from {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Failure::BadInput(format!("--from: {text:?} is not an RFC 3339 time ({e})"))
            })?,
        None => Utc::now(),
    };
    let fires: Vec<DateTime<Utc>> = schedule
        .fires_after(from)
        .take(args.count as usize)
        .collect();
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
    if fires.is_empty() {
        println!("  this schedule never fires");
    }
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
