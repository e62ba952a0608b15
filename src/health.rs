//! Whether this process's scheduler is alive: its loop records each turn
//! here (one atomic store), `/healthz` reads the age of the last one, and
//! under systemd the same turns send the watchdog's keep-alive.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, RwLock};
use std::time::{Duration, Instant};

use crate::sdnotify::Watchdog;

/// `/healthz` answers 200 while the loop turned within this long. The loop
/// turns at least every second (it looks at the run queue that often), so
/// this leaves room for a slow store without hiding a stuck loop for long.
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(10);

/// The loop turns at least this often while a watchdog is set, whatever
/// else it waits for.
const MAX_BEAT: Duration = Duration::from_secs(1);

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after [`EPOCH`] of the last turn.
static LAST_TURN: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicBool = AtomicBool::new(false);
static INSTANCE: RwLock<Option<String>> = RwLock::new(None);

/// The scheduler loop's side: called at every turn.
pub struct Pulse {
    watchdog: Option<Watchdog>,
}

impl Pulse {
    /// A scheduler with id `instance_id` starts turning (and, under a
    /// systemd watchdog, keeping it fed).
    pub fn start(instance_id: &str) -> Pulse {
        if let Ok(mut id) = INSTANCE.write() {
            *id = Some(instance_id.to_string());
        }
        RUNNING.store(true, Ordering::Release);
        let pulse = Pulse {
            watchdog: Watchdog::from_env(),
        };
        pulse.record();
        pulse
    }

    fn record(&self) {
        let ms = u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX);
        LAST_TURN.store(ms, Ordering::Relaxed);
    }

    /// One turn of the loop.
    pub fn turn(&mut self) {
        self.record();
        if let Some(watchdog) = &mut self.watchdog {
            watchdog.feed_if_due(Instant::now());
        }
    }

    /// How often the loop must turn at the least, when something depends
    /// on it (the watchdog); `None` when nothing does.
    pub fn beat(&self) -> Option<Duration> {
        self.watchdog
            .as_ref()
            .map(|w| (w.every() / 2).min(MAX_BEAT))
    }

    /// The scheduler stopped.
    pub fn stop(self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// How long ago the scheduler loop of this process turned; `None` when no
/// scheduler runs here (a console attached to another instance, or after
/// the drain).
pub fn loop_age() -> Option<Duration> {
    if !RUNNING.load(Ordering::Acquire) {
        return None;
    }
    let last = Duration::from_millis(LAST_TURN.load(Ordering::Relaxed));
    Some(EPOCH.elapsed().saturating_sub(last))
}

/// The id (in the store) of the scheduler this process runs or ran last.
pub fn instance_id() -> Option<String> {
    INSTANCE.read().ok().and_then(|id| id.clone())
}
