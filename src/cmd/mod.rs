//! What each subcommand does. Errors are sorted by exit code: bad input
//! (2) or a failed run or check (1).

mod apply;
mod audit;
mod backfill;
mod catchup;
mod check;
mod completions;
mod console;
mod held;
mod jobs;
mod monitor;
mod next;
mod redeliver;
mod report;
mod run_control;
mod runs;
mod serve;
mod status;

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{Cli, Commands};
use crate::config::Config;
use crate::events::EventBus;
use crate::export::Pipeline;
use crate::store::Store;

/// How a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The user gave something wrong: exit 2.
    #[error("{0}")]
    BadInput(String),
    /// A run, check or connection failed: exit 1.
    #[error("{0}")]
    Failed(String),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::BadInput(_) => ExitCode::from(2),
            Failure::Failed(_) => ExitCode::from(1),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Failed(e.to_string())
    }
}

/// What every command starts from: the command line and the loaded config.
pub struct Context {
    cli: Cli,
    config: Arc<Config>,
}

impl Context {
    /// Load the config named on the command line (or the default one).
    pub fn load(cli: Cli) -> Result<Context, Failure> {
        let config =
            Config::load(cli.config.as_deref()).map_err(|e| Failure::BadInput(e.to_string()))?;
        Ok(Context {
            cli,
            config: Arc::new(config),
        })
    }

    /// `--store` / `CRONPORT_STORE`, else the config's, else the embedded default.
    pub fn store_url(&self) -> String {
        self.cli
            .store
            .clone()
            .or_else(|| self.config.store_url.clone())
            .unwrap_or_else(crate::config::paths::default_store_url)
    }

    /// Open (creating and migrating if needed) the store.
    pub async fn store(&self) -> Result<Store, Failure> {
        Ok(Store::open(&self.store_url()).await?)
    }

    /// The export pipeline over the config's connections and destinations.
    pub fn pipeline(&self) -> Pipeline {
        self.config.pipeline()
    }

    /// The parts a scheduler (or a one-off run) is made of.
    pub fn parts(&self, store: Store, bus: EventBus) -> crate::scheduler::Parts {
        let executor = Arc::new(crate::scheduler::Exporter::from_config(
            &self.config,
            store.clone(),
        ));
        crate::scheduler::Parts {
            store,
            config: self.config.clone(),
            clock: Arc::new(crate::clock::SystemClock),
            executor,
            bus,
            grace: self.cli.grace.0,
        }
    }
}

/// The instance holding the scheduler lease, unless it died on this host
/// (such a lease is not worth waiting for or attaching to).
async fn live_holder(
    store: &crate::store::Store,
) -> Result<Option<crate::store::InstanceInfo>, Failure> {
    Ok(store
        .lease_holder(chrono::Utc::now())
        .await?
        .filter(|holder| {
            crate::scheduler::instance::dead_on_this_host(std::slice::from_ref(holder), "")
                .is_empty()
        }))
}

/// Run what the command line asks for.
pub async fn dispatch(cli: Cli) -> Result<(), Failure> {
    if let Some(Commands::Next(args)) = &cli.command {
        // `next` is pure: it must work without a config or store (but
        // `--job` needs the config, and says why it cannot be read).
        let config = Config::load(cli.config.as_deref());
        if args.job.is_some() {
            let config = config.map_err(|e| Failure::BadInput(e.to_string()))?;
            return next::run(args, Some(&config));
        }
        return next::run(args, config.ok().as_ref());
    }
    match &cli.command {
        // Made from the command line's own definition: no config or store.
        Some(Commands::Completions(args)) => return completions::completions(args),
        Some(Commands::Man(args)) => return completions::man(args),
        _ => {}
    }
    let ctx = Context::load(cli)?;
    match &ctx.cli.command {
        None if ctx.cli.headless => serve::headless(&ctx).await,
        None => console::open(&ctx).await,
        Some(Commands::Next(_)) => Ok(()),
        Some(Commands::Apply(args)) => apply::run(&ctx, args).await,
        Some(Commands::Jobs(command)) => jobs::run(&ctx, command).await,
        Some(Commands::Runs(command)) => runs::run(&ctx, command).await,
        Some(Commands::Check(args)) => check::run(&ctx, args).await,
        Some(Commands::Status { json }) => status::run(&ctx, *json).await,
        Some(Commands::Catchup(command)) => catchup::run(&ctx, command).await,
        Some(Commands::Audit(args)) => audit::run(&ctx, args).await,
        Some(Commands::Report(args)) => report::run(&ctx, args).await,
        Some(Commands::Completions(_) | Commands::Man(_)) => Ok(()),
    }
}
