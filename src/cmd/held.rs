//! `cronport runs release ID` and `cronport runs discard ID`: deliver or
//! drop a held run (see [`crate::scheduler::held`], which the console uses
//! too). A run that is not held is refused with exit 2, naming the run and
//! its status, before anything is delivered.

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
    super::redeliver::print_deliveries(&outcome, json_out);
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
