//! `cronport --headless`: the scheduler with its log on stdout, until
//! SIGTERM or SIGINT, then a graceful drain.

use tokio::signal::unix::{SignalKind, signal};

use super::apply::definition;
use super::monitor::Monitor;
use super::{Context, Failure};
use crate::scheduler::Scheduler;

pub(super) async fn headless(ctx: &Context) -> Result<(), Failure> {
    let bus = crate::events::bus();
    crate::logging::set_process_bus(bus.clone());
    let printer = crate::headless::spawn_printer(&bus, ctx.cli.log_format);
    let result = serve(ctx, bus).await;
    // Give the printer the last lines (the drain's) before leaving.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), printer).await;
    result
}

async fn serve(ctx: &Context, bus: crate::events::EventBus) -> Result<(), Failure> {
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| Failure::Failed(format!("cannot listen for SIGTERM: {e}")))?;
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|e| Failure::Failed(format!("cannot listen for SIGINT: {e}")))?;
    let store = ctx.store().await?;
    tracing::info!("store {}", store.display_url());
    seed_jobs(ctx, &store).await?;
    // Requests left in the store while no scheduler ran are not carried out
    // long after whoever asked was told they failed (each is logged).
    crate::control::close_orphaned_commands(&store, None, chrono::Utc::now()).await?;
    let monitor = Monitor::start(ctx, &store)?;
    let scheduler = Scheduler::start(ctx.parts(store.clone(), bus.clone())).await?;
    // The store is open and the scheduler has planned: under systemd
    // (Type=notify) the service counts as started from here.
    crate::sdnotify::notify_or_warn("READY=1\nSTATUS=scheduling");
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: draining"),
        _ = interrupt.recv() => tracing::info!("SIGINT: draining"),
    }
    crate::sdnotify::notify_or_warn("STOPPING=1\nSTATUS=draining");
    let drained = scheduler.shutdown().await;
    if let Some(monitor) = monitor {
        monitor.stop().await;
    }
    drained?;
    crate::logging::clear_process_bus();
    store.close().await;
    Ok(())
}

/// Jobs of the config file that the store lacks are created, so a fresh
/// store starts with them. Jobs the store already has are left as they are
/// (they may have been edited since); a difference is pointed out.
pub(super) async fn seed_jobs(ctx: &Context, store: &crate::store::Store) -> Result<(), Failure> {
    if ctx.config.jobs.is_empty() {
        return Ok(());
    }
    let stored: std::collections::HashMap<String, crate::store::JobRecord> = store
        .list_jobs()
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let mut missing = Vec::new();
    for job in &ctx.config.jobs {
        let def = definition(job)?;
        match stored.get(job.name()) {
            None => missing.push(def),
            Some(record) if !record.matches(&def) => tracing::warn!(
                "job {} in the store differs from the config file; `cronport apply` makes the store match the file",
                job.name()
            ),
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        let report = store.apply_jobs(&missing, false).await?;
        let none = std::collections::HashMap::new();
        super::apply::audit(store, &report, &missing, &none, crate::store::Way::Config).await;
        tracing::info!(
            "added {} job(s) from the config: {}",
            report.created.len(),
            report.created.join(", ")
        );
    }
    Ok(())
}
