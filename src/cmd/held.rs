//! `cronport runs release ID` and `cronport runs discard ID`: deliver or
//! drop a held run (see [`crate::scheduler::held`], which the console uses
//! too). A run that is not held is refused with exit 2, naming the run and
//! its status, before anything is delivered.

use serde_json::json;

use super::{Context, Failure};
use crate::scheduler::held::{self, HoldError};
use crate::store::Store;

fn failure(e: HoldError) -> Failure {
    if e.is_bad_input() {
        Failure::BadInput(e.to_string())
    } else {
        Failure::Failed(e.to_string())
    }
}

pub(super) async fn release(
    ctx: &Context,
    store: &Store,
    id: i64,
    json_out: bool,
) -> Result<(), Failure> {
    let outcome = held::release(store, &ctx.config, id)
        .await
        .map_err(failure)?;
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
    match outcome.failure {
        Some((name, error)) => Err(Failure::Failed(format!(
            "destination {name:?}: {error}; run {id} is held again, release it once the \
             destination is back"
        ))),
        None => {
            if !json_out {
                println!("run {id} released: delivered");
            }
            Ok(())
        }
    }
}

pub(super) async fn discard(ctx: &Context, store: &Store, id: i64) -> Result<(), Failure> {
    held::discard(store, &ctx.config, id, "discarded by hand")
        .await
        .map_err(failure)?;
    println!("run {id} discarded: nothing delivered, its output removed");
    Ok(())
}
