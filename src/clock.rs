//! Time, injected: the real clock in production, a virtual one in tests so
//! they can cross a DST change or days of downtime in milliseconds.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::watch;

/// The longest single real sleep: wall-clock jumps (NTP, a suspended laptop)
/// are noticed within this, since tokio sleeps on the monotonic clock.
const MAX_REAL_SLEEP: std::time::Duration = std::time::Duration::from_secs(60);

/// A source of "now" and a way to wait for a moment.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at or after `deadline`. It may also resolve early (after a
    /// wall-clock jump); callers re-check `now()`.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// Sleeps until `deadline` on `clock`, waking as often as the clock wants
/// but returning only once the deadline has passed.
pub async fn sleep_until(clock: &dyn Clock, deadline: DateTime<Utc>) {
    while clock.now() < deadline {
        clock.sleep_until(deadline).await;
    }
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let wait = (deadline - Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(MAX_REAL_SLEEP);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told. Sleepers wake when it passes their deadline.
#[derive(Clone)]
pub struct VirtualClock {
    inner: Arc<Mutex<DateTime<Utc>>>,
    tick: watch::Sender<DateTime<Utc>>,
}

impl VirtualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            inner: Arc::new(Mutex::new(start)),
            tick: watch::channel(start).0,
        }
    }

    /// Move to `to` (never backwards) and wake whoever is due.
    pub fn set(&self, to: DateTime<Utc>) {
        let mut now = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if to > *now {
            *now = to;
            self.tick.send_replace(to);
        }
    }

    /// Move forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let to = self.now() + by;
        self.set(to);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut rx = self.tick.subscribe();
        Box::pin(async move {
            while *rx.borrow_and_update() < deadline {
                if rx.changed().await.is_err() {
                    // The clock is gone: nobody will ever move time again.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}
