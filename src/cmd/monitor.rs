//! The metrics and health listener of a scheduling process (headless or the
//! console), when `--metrics` or `[metrics] listen` asks for one.

use tokio_util::sync::CancellationToken;

use super::{Context, Failure};
use crate::metrics::http::Listener;
use crate::store::Store;

/// A listener serving until it is stopped.
pub(super) struct Monitor {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    /// Bind the address asked for and serve on it; `None` when none was
    /// asked for. A taken or unusable address is bad input naming the flag
    /// or the key it came from.
    pub(super) fn start(ctx: &Context, store: &Store) -> Result<Option<Monitor>, Failure> {
        let (address, origin) = match (ctx.cli.metrics, ctx.config.metrics_listen) {
            (Some(address), _) => (address, "--metrics".to_string()),
            (None, Some(address)) => (address, config_key(ctx)),
            (None, None) => return Ok(None),
        };
        let listener =
            Listener::bind(address).map_err(|e| Failure::BadInput(format!("{origin}: {e}")))?;
        let bound = listener.local_addr().unwrap_or(address);
        let stop = CancellationToken::new();
        let source = crate::metrics::Source::new(store.clone(), ctx.config.clone());
        let task = listener
            .serve(source, stop.clone())
            .map_err(|e| Failure::Failed(format!("{origin}: cannot serve on {address}: {e}")))?;
        tracing::info!("serving metrics and health checks on http://{bound}/metrics");
        Ok(Some(Monitor { stop, task }))
    }

    /// Stop serving.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

fn config_key(ctx: &Context) -> String {
    match &ctx.config.path {
        Some(path) => format!("{}: metrics.listen", path.display()),
        None => "metrics.listen".to_string(),
    }
}
