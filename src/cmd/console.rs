//! `cronport` with no subcommand: the console, with the embedded scheduler,
//! or attached to the instance that holds the scheduler lease.

use std::io::IsTerminal as _;
use std::sync::Arc;

use super::{Context, Failure};
use crate::console::{Setup, Start};

pub(super) async fn open(ctx: &Context) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::BadInput(
            "the console needs a terminal; run `cronport --headless` to schedule without one"
                .into(),
        ));
    }
    let bus = crate::events::bus();
    // Lines that belong to no run go to the log panel.
    crate::logging::set_process_bus(bus.clone());
    let store = ctx.store().await?;
    let monitor = super::monitor::Monitor::start(ctx, &store)?;
    let start = match super::live_holder(&store).await? {
        // Attached, with what it needs to take the schedule over if the
        // holder goes.
        Some(holder) => Start::Attached {
            holder,
            parts: ctx.parts(store.clone(), bus),
        },
        None => {
            super::serve::seed_jobs(ctx, &store).await?;
            Start::Embedded(ctx.parts(store.clone(), bus))
        }
    };
    let setup = Setup {
        store: store.clone(),
        config: ctx.config.clone(),
        pipeline: Arc::new(ctx.pipeline()),
        start,
    };
    let result = crate::console::run(setup).await.map_err(Failure::Failed);
    if let Some(monitor) = monitor {
        monitor.stop().await;
    }
    store.close().await;
    result
}
