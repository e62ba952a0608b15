//! `cronport runs redeliver ID [--destination NAME]`: send a run's kept
//! output again, without running its source (see
//! [`crate::scheduler::redeliver`], which the console's run view uses too),
//! and print what each destination did.

use serde_json::json;

use super::{Context, Failure};
use crate::export::delivery::Outcome;
use crate::scheduler::redeliver::redeliver;

pub(super) async fn run(
    ctx: &Context,
    id: i64,
    only: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    let store = ctx.store().await?;
    let outcome = redeliver(&store, &ctx.config, id, only)
        .await
        .map_err(|e| {
            if e.is_bad_input() {
                Failure::BadInput(e.to_string())
            } else {
                Failure::Failed(e.to_string())
            }
        })?;
    print_deliveries(&outcome, json_out);
    match outcome.failure {
        Some((name, error)) => Err(Failure::Failed(format!("destination {name:?}: {error}"))),
        None => Ok(()),
    }
}

/// What each destination did with a kept output (a redelivery, a release):
/// a JSON array with `--json`, else a line each.
pub(super) fn print_deliveries(outcome: &Outcome, json_out: bool) {
    if json_out {
        let items: Vec<_> = outcome
            .deliveries
            .iter()
            .map(|d| {
                json!({
                    "destination": d.destination,
                    "status": d.status.as_str(),
                    "location": d.location,
                    "error": d.error,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
    } else {
        for d in &outcome.deliveries {
            println!(
                "{:<10} {:<20} {}",
                d.status.as_str(),
                d.destination,
                d.location.as_deref().or(d.error.as_deref()).unwrap_or("")
            );
        }
    }
}
