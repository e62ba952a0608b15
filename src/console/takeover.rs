//! An attached console watches the instance it is attached to, and takes
//! the schedule over when that instance is gone and nobody else takes it.
//!
//! Gone means: it stopped cleanly (it gave up the lease: seen within one
//! look, [`WATCH`]), its process on this host no longer exists (a `kill -9`:
//! seen within one look, through its pid), or its lease ran out unrenewed
//! (another host, hung or dead: up to the lease's 15 s). The lease decides
//! who takes over: the watcher registers this console as a claimant, takes
//! the lease (only one of several consoles can), and only then does the
//! console start a scheduler, which the lease is handed to once it has an
//! id. A console that loses keeps following whoever won.
//!
//! The watcher only reads the store and takes the lease; what it learns
//! goes to the console loop as [`Msg::Lease`] messages.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::model::Msg;
use crate::scheduler::{HEARTBEAT, STALE_AFTER, instance};
use crate::store::{InstanceInfo, Store, StoreError};

/// How often the lease is looked at: a clean stop shows within this.
pub const WATCH: Duration = Duration::from_millis(500);
/// An instance that has not heartbeat for this long is called silent in
/// the header (it heartbeats every 5 s; twice that is not a slow write).
pub const SILENT_AFTER: Duration = Duration::from_secs(2 * HEARTBEAT.as_secs());
/// When other scheduler instances are alive, how long they get to take the
/// lease before this console does: they try every heartbeat, and a
/// headless instance is the better holder for a server's schedule.
pub const DEFER_TO_INSTANCES: Duration = Duration::from_secs(HEARTBEAT.as_secs() + 2);

/// Why the instance a console was attached to counts as gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// It stopped and gave up the lease.
    Stopped,
    /// Its process on this host no longer exists.
    Exited,
    /// Its lease ran out with no heartbeat renewing it.
    Silent,
}

impl Gone {
    /// How it reads after the instance's name: "ops-1:4242 stopped".
    pub fn words(self) -> &'static str {
        match self {
            Gone::Stopped => "stopped",
            Gone::Exited => "exited",
            Gone::Silent => "went silent",
        }
    }
}

/// What the watcher learnt about the scheduler lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseNews {
    /// `holder` holds the lease (a new holder, or a new heartbeat).
    Holder {
        /// The instance.
        holder: InstanceInfo,
        /// Its last heartbeat, when known.
        heartbeat_at: Option<DateTime<Utc>>,
    },
    /// The instance followed is gone; the console is about to take over.
    Gone {
        /// The instance.
        holder: InstanceInfo,
        /// How it went.
        why: Gone,
    },
    /// This console took the lease, as `claim`: start the scheduler.
    Won {
        /// The instance it took over from.
        from: InstanceInfo,
        /// The id this console holds the lease under.
        claim: String,
    },
    /// Reading the store or taking the lease failed (it is tried again).
    Trouble(String),
}

/// The watcher's view of the lease at one look.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// The followed instance holds it and lives.
    Alive(Option<DateTime<Utc>>),
    /// Another instance holds it now.
    Moved(InstanceInfo),
    /// The followed instance is gone.
    Gone(Gone),
}

/// Follow `holder` until this console has taken the lease (then the task
/// ends), telling the console over `to_app`. `claim` is who this console
/// is in the store if it takes the lease (registered only then).
pub fn spawn(
    store: Store,
    holder: InstanceInfo,
    claim: InstanceInfo,
    to_app: mpsc::Sender<Msg>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut watcher = Watcher {
            store,
            holder,
            claim,
            gone_since: None,
            heard: None,
        };
        let mut tick = tokio::time::interval(WATCH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let news = watcher.look(Utc::now()).await;
            let won = news.iter().any(|n| matches!(n, LeaseNews::Won { .. }));
            for news in news {
                if to_app.send(Msg::Lease(news)).await.is_err() {
                    return;
                }
            }
            if won {
                return;
            }
        }
    })
}

struct Watcher {
    store: Store,
    holder: InstanceInfo,
    claim: InstanceInfo,
    /// When the followed instance was first seen gone.
    gone_since: Option<DateTime<Utc>>,
    /// Its last heartbeat, as last told to the console.
    heard: Option<DateTime<Utc>>,
}

impl Watcher {
    /// One look at the lease; what the console should hear.
    async fn look(&mut self, now: DateTime<Utc>) -> Vec<LeaseNews> {
        match self.try_look(now).await {
            Ok(news) => news,
            Err(e) => vec![LeaseNews::Trouble(e.to_string())],
        }
    }

    async fn try_look(&mut self, now: DateTime<Utc>) -> Result<Vec<LeaseNews>, StoreError> {
        let lease = self.store.lease_holder(now).await?;
        let look = match lease {
            Some(holder) if holder.id != self.holder.id => Look::Moved(holder),
            Some(holder) if !alive_here(&holder) => Look::Gone(Gone::Exited),
            Some(_) => {
                let liveness = self.store.instance_liveness(&self.holder.id).await?;
                Look::Alive(liveness.map(|l| l.heartbeat_at))
            }
            None => {
                let liveness = self.store.instance_liveness(&self.holder.id).await?;
                match liveness {
                    Some(l) if l.stopped_at.is_some() => Look::Gone(Gone::Stopped),
                    _ if !alive_here(&self.holder) => Look::Gone(Gone::Exited),
                    _ => Look::Gone(Gone::Silent),
                }
            }
        };
        let mut news = Vec::new();
        match look {
            Look::Alive(heard) => {
                if heard != self.heard {
                    self.heard = heard;
                    news.push(LeaseNews::Holder {
                        holder: self.holder.clone(),
                        heartbeat_at: heard,
                    });
                }
            }
            Look::Moved(holder) => {
                // Someone else (an instance, or a console that won) took it:
                // follow them from now on.
                let heard = self
                    .store
                    .instance_liveness(&holder.id)
                    .await?
                    .map(|l| l.heartbeat_at);
                self.holder = holder.clone();
                self.heard = heard;
                self.gone_since = None;
                news.push(LeaseNews::Holder {
                    holder,
                    heartbeat_at: heard,
                });
            }
            Look::Gone(why) => {
                if self.gone_since.is_none() {
                    self.gone_since = Some(now);
                    news.push(LeaseNews::Gone {
                        holder: self.holder.clone(),
                        why,
                    });
                }
                if self.should_take(now).await? && self.take(now, why).await? {
                    news.push(LeaseNews::Won {
                        from: self.holder.clone(),
                        claim: self.claim.id.clone(),
                    });
                }
            }
        }
        Ok(news)
    }

    /// Whether to try for the lease now: at once, unless other scheduler
    /// instances are alive and have not had their turn yet.
    async fn should_take(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let waited = self
            .gone_since
            .map_or(chrono::Duration::zero(), |since| now - since);
        if waited >= chrono::Duration::from_std(DEFER_TO_INSTANCES).unwrap_or_default() {
            return Ok(true);
        }
        let live = self.store.live_instances(now, STALE_AFTER).await?;
        let others = live
            .iter()
            .filter(|i| i.id != self.holder.id && i.id != self.claim.id)
            .any(alive_here);
        Ok(!others)
    }

    /// Register as a claimant and take the lease: from the dead holder if
    /// its row still names it, else the free or expired lease. A loser
    /// marks its claim stopped again, so no one waits for it.
    async fn take(&self, now: DateTime<Utc>, why: Gone) -> Result<bool, StoreError> {
        let claim = InstanceInfo {
            started_at: now,
            ..self.claim.clone()
        };
        self.store.register_instance(&claim).await?;
        let won = match why {
            Gone::Exited => {
                self.store
                    .take_lease_from(&self.holder.id, &claim.id, now, STALE_AFTER)
                    .await?
                    || self
                        .store
                        .try_acquire_lease(&claim.id, now, STALE_AFTER)
                        .await?
            }
            Gone::Stopped | Gone::Silent => {
                self.store
                    .try_acquire_lease(&claim.id, now, STALE_AFTER)
                    .await?
            }
        };
        if !won {
            self.store.mark_stopped(&claim.id, now).await?;
        }
        Ok(won)
    }
}

/// False for an instance on this host whose process is gone.
fn alive_here(instance: &InstanceInfo) -> bool {
    instance::dead_on_this_host(std::slice::from_ref(instance), "").is_empty()
}

#[cfg(test)]
mod tests {
    //! The watcher on a real SQLite store, with the clock passed in.

    use super::*;

    struct World {
        _dir: tempfile::TempDir,
        store: Store,
    }

    async fn world() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = Store::open(&url).await.expect("store");
        World { _dir: dir, store }
    }

    fn on_this_host(id: &str, pid: u32) -> InstanceInfo {
        InstanceInfo {
            id: id.into(),
            hostname: instance::hostname(),
            pid,
            version: "0.1.0".into(),
            started_at: Utc::now(),
            takes_work: true,
        }
    }

    /// A pid that no longer exists: a child that has exited and was reaped.
    fn gone_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().expect("true");
        child.wait().expect("wait");
        child.id()
    }

    /// An instance registered and holding the lease at `now`.
    async fn holder(store: &Store, pid: u32, now: DateTime<Utc>) -> InstanceInfo {
        let holder = on_this_host("holder", pid);
        store.register_instance(&holder).await.expect("register");
        let leased = store
            .try_acquire_lease(&holder.id, now, STALE_AFTER)
            .await
            .expect("lease");
        assert!(leased);
        holder
    }

    fn watcher(store: &Store, holder: &InstanceInfo, claim: &str) -> Watcher {
        Watcher {
            store: store.clone(),
            holder: holder.clone(),
            claim: on_this_host(claim, std::process::id()),
            gone_since: None,
            heard: None,
        }
    }

    fn won(news: &[LeaseNews]) -> bool {
        news.iter().any(|n| matches!(n, LeaseNews::Won { .. }))
    }

    #[tokio::test]
    async fn of_two_consoles_one_takes_over_and_the_other_follows_it() {
        let w = world().await;
        let now = Utc::now();
        let holder = holder(&w.store, gone_pid(), now).await;
        let mut a = watcher(&w.store, &holder, "console-a");
        let mut b = watcher(&w.store, &holder, "console-b");
        let (news_a, news_b) = tokio::join!(a.look(now), b.look(now));
        assert!(won(&news_a) ^ won(&news_b), "{news_a:?} / {news_b:?}");
        let (winner, loser, lost) = if won(&news_a) {
            ("console-a", &mut b, news_b)
        } else {
            ("console-b", &mut a, news_a)
        };
        // The loser saw the holder gone (and lost the race for the lease),
        // or, looking after the winner had taken it, the winner already.
        let follows_already = match lost.as_slice() {
            [LeaseNews::Gone { holder: gone, why }] => {
                assert_eq!((gone, why), (&holder, &Gone::Exited));
                false
            }
            [LeaseNews::Holder { holder: new, .. }] => {
                assert_eq!(new.id, winner);
                true
            }
            other => panic!("the loser saw neither the end nor the winner: {other:?}"),
        };
        let later = loser.look(now + chrono::Duration::milliseconds(500)).await;
        match later.as_slice() {
            [LeaseNews::Holder { holder, .. }] => assert_eq!(holder.id, winner),
            [] if follows_already => {}
            other => panic!("the loser should follow the winner: {other:?}"),
        }
        // The loser either saw the winner's claim and waited, or tried and
        // lost and stopped its claim again: nobody waits for it.
        let claim = w
            .store
            .instance_liveness(&loser.claim.id)
            .await
            .expect("read");
        assert!(claim.is_none_or(|c| c.stopped_at.is_some()), "{claim:?}");
    }

    #[tokio::test]
    async fn a_clean_stop_is_taken_over_at_the_next_look() {
        let w = world().await;
        let now = Utc::now();
        let holder = holder(&w.store, std::process::id(), now).await;
        let mut console = watcher(&w.store, &holder, "console");
        let news = console.look(now).await;
        assert!(
            matches!(news.as_slice(), [LeaseNews::Holder { .. }]),
            "{news:?}"
        );
        assert!(console.look(now).await.is_empty(), "nothing new");
        w.store.mark_stopped(&holder.id, now).await.expect("stop");
        let news = console.look(now).await;
        assert_eq!(
            news,
            [
                LeaseNews::Gone {
                    holder: holder.clone(),
                    why: Gone::Stopped
                },
                LeaseNews::Won {
                    from: holder,
                    claim: "console".into()
                }
            ]
        );
    }

    #[tokio::test]
    async fn a_live_instance_gets_its_turn_before_a_console() {
        let w = world().await;
        let now = Utc::now();
        let holder = holder(&w.store, std::process::id(), now).await;
        let headless = on_this_host("headless-2", std::process::id());
        w.store
            .register_instance(&headless)
            .await
            .expect("register");
        w.store.mark_stopped(&holder.id, now).await.expect("stop");
        let mut console = watcher(&w.store, &holder, "console");
        let news = console.look(now).await;
        assert!(!won(&news), "{news:?}");
        let defer = chrono::Duration::from_std(DEFER_TO_INSTANCES).expect("duration");
        let news = console.look(now + defer).await;
        assert!(won(&news), "nobody took it in time: {news:?}");
    }
}
