//! Shared test harness: temporary folders, a real SQLite store, a config
//! with a local destination, and helpers to wait for scheduler events.
#![allow(dead_code)]

pub mod process;
pub mod proxy;
pub mod servers;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cronport::config::Config;
use cronport::events::{Event, EventBus};
use cronport::store::{JobDefinition, Store};
use tokio::sync::broadcast;

/// A temporary world: store file, exports folder, spool, config.
pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub config: Arc<Config>,
}

impl World {
    /// A world whose config is `extra` appended to a `[destinations.out]`
    /// local destination rooted in the temp folder.
    pub async fn new(extra: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[scheduler]\nspool_dir = \"spool\"\n\n[destinations.out]\nkind = \"local\"\nroot = \"exports\"\npath = \"{{job}}/{{run_id}}.{{ext}}\"\n\n{extra}"
        );
        let config = Config::parse(&text, dir.path()).unwrap_or_else(|e| panic!("config: {e}"));
        let store = Store::open(&format!(
            "sqlite://{}",
            dir.path().join("store.db").display()
        ))
        .await
        .unwrap();
        World {
            dir,
            store,
            config: Arc::new(config),
        }
    }

    pub fn exports(&self) -> PathBuf {
        self.dir.path().join("exports")
    }

    pub fn spool(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    /// Store a job given as a TOML `[[jobs]]` body (checked against the config).
    pub async fn add_job(&self, toml_body: &str) {
        let text = format!("[[jobs]]\n{toml_body}");
        let path = self.dir.path().join(format!("job-{}.toml", rand_suffix()));
        std::fs::write(&path, text).unwrap();
        let jobs = self
            .config
            .load_jobs_file(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        let defs: Vec<JobDefinition> = jobs
            .iter()
            .map(|job| JobDefinition {
                name: job.name().to_string(),
                schedule: job.spec.schedule.clone(),
                cron: job.schedule.cron().to_string(),
                timezone: job.schedule.timezone().name().to_string(),
                definition: serde_json::to_string(&job.spec).unwrap(),
            })
            .collect();
        self.store.apply_jobs(&defs, false).await.unwrap();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Wait (real time, bounded) for the first event that `pick` accepts.
pub async fn wait_for<T>(
    rx: &mut broadcast::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|e| panic!("event bus: {e} while waiting for {what}"));
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

/// The scheduler on `world` with the real export pipeline, its time from
/// `clock`, `grace` for runs at shutdown.
pub async fn start_scheduler(
    world: &World,
    clock: &cronport::clock::VirtualClock,
    bus: EventBus,
    grace: Duration,
) -> cronport::scheduler::Scheduler {
    start_with(world, Arc::new(clock.clone()), bus, grace).await
}

/// The scheduler on `world` with the real export pipeline on the system
/// clock, as a running instance has it; a second's grace at shutdown.
pub async fn start_live_scheduler(world: &World, bus: EventBus) -> cronport::scheduler::Scheduler {
    start_with(
        world,
        Arc::new(cronport::clock::SystemClock),
        bus,
        Duration::from_secs(1),
    )
    .await
}

async fn start_with(
    world: &World,
    clock: Arc<dyn cronport::clock::Clock>,
    bus: EventBus,
    grace: Duration,
) -> cronport::scheduler::Scheduler {
    cronport::logging::init();
    let executor = cronport::scheduler::Exporter::from_config(&world.config, world.store.clone());
    cronport::scheduler::Scheduler::start(cronport::scheduler::Parts {
        store: world.store.clone(),
        config: world.config.clone(),
        clock,
        executor: Arc::new(executor),
        bus,
        grace,
    })
    .await
    .expect("the scheduler starts")
}

/// A fresh event bus and a receiver on it.
pub fn bus() -> (EventBus, broadcast::Receiver<Event>) {
    let bus = cronport::events::bus();
    let rx = bus.subscribe();
    (bus, rx)
}
