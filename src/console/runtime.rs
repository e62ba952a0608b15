//! The console's one loop: it owns the model, waits on keys, the
//! scheduler's events, answers from background tasks, the clock and the
//! frame timer, drains whatever else is pending, and draws at most once a
//! frame. A burst of 10,000 log lines a second is 10,000 cheap pushes into
//! a ring buffer and about 30 frames.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::effects::{Effects, Handover};
use super::form::FormContext;
use super::loader::{self, LoadRequest, Loader};
use super::model::{Engine, Model, Msg};
use super::terminal::TerminalGuard;
use crate::config::Config;
use crate::control::Control;
use crate::events::{Command, Event};
use crate::export::Pipeline;
use crate::scheduler::{Parts, STALE_AFTER, Scheduler};
use crate::store::{InstanceInfo, Store};

/// At most this often a frame is drawn.
pub const FRAME: Duration = Duration::from_millis(33);
/// Messages handled between two looks at the frame timer.
const DRAIN_BUDGET: usize = 20_000;
/// How often the store is read again unasked with the embedded scheduler
/// (its events ask too; this keeps counters and "in 3m" current).
const REFRESH_EMBEDDED: Duration = Duration::from_secs(2);
/// How often an attached console reads the store: changes made by the
/// other instance show within this.
const REFRESH_ATTACHED: Duration = Duration::from_secs(1);

/// Who runs the scheduler.
pub enum Start {
    /// This process: start one from these parts.
    Embedded(Parts),
    /// Another instance holds the lease: attach to it, and if it goes and
    /// nobody else takes the lease, start a scheduler from `parts`.
    Attached {
        /// The lease holder.
        holder: InstanceInfo,
        /// What a scheduler here would be made of.
        parts: Parts,
    },
}

/// What the console is opened on.
pub struct Setup {
    /// The store.
    pub store: Store,
    /// The config (names for the form, connections for dry runs).
    pub config: Arc<Config>,
    /// Renders dry runs.
    pub pipeline: Arc<Pipeline>,
    /// Who schedules.
    pub start: Start,
}

/// The embedded scheduler's task and how to stop it.
struct Embedded {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// What an attached console runs, and what it needs to take over.
struct Attached {
    /// Follows the holder's stored log lines.
    follow: tokio::task::JoinHandle<()>,
    /// Watches the lease (see [`super::takeover`]).
    watch: tokio::task::JoinHandle<()>,
    /// Who this console is in the store if it takes the lease.
    claim: InstanceInfo,
    /// The scheduler to start on taking over.
    parts: Parts,
}

/// `NO_COLOR` set to anything but the empty string turns colours off.
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The names the edit form offers (chat destinations carry notices only,
/// so they are not offered as a job's destinations).
pub fn form_context(config: &Config) -> FormContext {
    FormContext {
        destinations: config
            .destinations
            .iter()
            .filter(|(_, d)| d.can_deliver())
            .map(|(name, _)| name.clone())
            .collect(),
        notifiers: config
            .destinations
            .iter()
            .filter(|(_, d)| d.can_notify())
            .map(|(name, _)| name.clone())
            .collect(),
        made: Vec::new(),
        folder: config.folder.clone(),
        connections: config.sources.keys().cloned().collect(),
        default_timezone: config.scheduler.default_timezone.name().to_string(),
        existing_names: Vec::new(),
        calendars: config.calendars.clone(),
        blackout: config.scheduler.blackout.clone(),
    }
}

/// Open the console and run it until the operator quits (and, with the
/// embedded scheduler, until its runs have drained).
pub async fn run(setup: Setup) -> Result<(), String> {
    let Setup {
        store,
        config,
        pipeline,
        start,
    } = setup;
    let (to_app, mut inbox) = mpsc::channel::<Msg>(1024);
    let mut terminal = TerminalGuard::enter(to_app.clone())
        .map_err(|e| format!("cannot open the terminal: {e}"))?;
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    let mut hangup =
        signal(SignalKind::hangup()).map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;

    let (engine, control, mut bus, mut embedded, mut attached) = match start {
        Start::Embedded(parts) => {
            let (control, bus, embedded) = start_embedded(&store, parts, None, &to_app);
            (Engine::Starting, control, Some(bus), Some(embedded), None)
        }
        Start::Attached { holder, parts } => {
            // The claim only takes the lease, for the scheduler it starts:
            // it takes no share of the run queue itself.
            let claim = crate::store::InstanceInfo {
                takes_work: false,
                ..crate::scheduler::instance::this_process(Utc::now())
            };
            let attached = Attached {
                follow: loader::follow_logs(store.clone(), to_app.clone()),
                watch: super::takeover::spawn(
                    store.clone(),
                    holder.clone(),
                    claim.clone(),
                    to_app.clone(),
                ),
                claim,
                parts,
            };
            let control = Control::Attached {
                store: store.clone(),
            };
            (
                Engine::Attached(holder),
                control,
                None,
                None,
                Some(attached),
            )
        }
    };
    let zone = config.scheduler.default_timezone;
    let mut model = Model::new(
        Utc::now(),
        zone,
        store.display_url().to_string(),
        engine,
        form_context(&config),
    );
    model.color = color_allowed();

    let (requests, requests_rx) = watch::channel(LoadRequest::default());
    let _loader = loader::spawn(
        Loader::new(
            store.clone(),
            zone,
            config.known(),
            config.scheduler.max_concurrent_runs,
        )
        .with_config(config.clone()),
        requests_rx,
        to_app.clone(),
    );
    let mut effects = Effects {
        store,
        config,
        pipeline,
        control,
        to_app,
        requests,
        take_over: std::cell::Cell::new(None),
        backfill_stop: std::cell::RefCell::new(None),
    };
    effects.run(vec![model.refresh()]);
    terminal
        .draw(&model)
        .map_err(|e| format!("cannot draw: {e}"))?;

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut refresh = refresh_timer(attached.is_some());
    let mut last_draw = Instant::now();
    let mut dirty = false;
    let mut draining = false;
    loop {
        if super::terminal::panicked() {
            return Err("internal error: the console stopped after the panic above".into());
        }
        let mut quit = false;
        tokio::select! {
            Some(msg) = inbox.recv() => quit |= effects.run(model.update(msg)),
            event = next_event(&mut bus) => quit |= on_event(&mut model, &effects, &mut bus, event),
            _ = tick.tick() => quit |= effects.run(model.update(Msg::Tick(Utc::now()))),
            _ = refresh.tick() => quit |= effects.run(vec![model.refresh()]),
            _ = terminate.recv() => quit = true,
            _ = hangup.recv() => quit = true,
            _ = tokio::time::sleep_until(last_draw + FRAME), if dirty => {
                terminal.draw(&model).map_err(|e| format!("cannot draw: {e}"))?;
                last_draw = Instant::now();
                dirty = false;
                continue;
            }
            _ = async { embedded.as_mut().map(|e| &mut e.task).expect("guarded").await }, if draining => break,
        }
        dirty = true;
        // Whatever else is pending costs no frame of its own.
        for _ in 0..DRAIN_BUDGET {
            if let Ok(msg) = inbox.try_recv() {
                quit |= effects.run(model.update(msg));
                continue;
            }
            match bus.as_mut().map(broadcast::Receiver::try_recv) {
                Some(Ok(event)) => quit |= on_event(&mut model, &effects, &mut bus, Ok(event)),
                Some(Err(TryRecvError::Lagged(n))) => {
                    quit |= on_event(&mut model, &effects, &mut bus, Err(RecvError::Lagged(n)))
                }
                _ => break,
            }
        }
        if let Some(handover) = effects.take_over.take()
            && let Some(was) = attached.take()
        {
            // From here on this console is one that started embedded: its
            // requests, state and log panel come from its own scheduler.
            was.follow.abort();
            was.watch.abort();
            let (control, events, started) =
                start_embedded(&effects.store, was.parts, Some(handover), &effects.to_app);
            effects.control = control;
            bus = Some(events);
            embedded = Some(started);
            refresh = refresh_timer(false);
        }
        if quit {
            match embedded.as_mut() {
                // Attached, or a second q while draining: leave now.
                None => break,
                Some(_) if draining => break,
                Some(e) if e.task.is_finished() => break,
                Some(e) => {
                    e.stop.cancel();
                    draining = true;
                    model.engine = Engine::Draining;
                    model.quitting = true;
                    model.say("stopping: running exports get the grace period (q again quits now)");
                }
            }
        }
    }
    drop(terminal);
    if let Some(attached) = attached {
        attached.follow.abort();
        attached.watch.abort();
        // The watcher may have been stopped between taking the lease and
        // saying so: give it back rather than leave it to expire.
        if let Err(e) = effects
            .store
            .mark_stopped(&attached.claim.id, Utc::now())
            .await
        {
            tracing::warn!("giving back the scheduler lease failed: {e}");
        }
    }
    crate::logging::clear_process_bus();
    Ok(())
}

/// The store is read again unasked this often (see the constants).
fn refresh_timer(attached: bool) -> tokio::time::Interval {
    let mut refresh = tokio::time::interval(if attached {
        REFRESH_ATTACHED
    } else {
        REFRESH_EMBEDDED
    });
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    refresh
}

/// Start the embedded scheduler in the background (taking over from
/// another instance when `handover` says so): the control that reaches it,
/// its events (subscribed before it starts, so none is missed) and its task.
fn start_embedded(
    store: &Store,
    parts: Parts,
    handover: Option<Handover>,
    to_app: &mpsc::Sender<Msg>,
) -> (Control, broadcast::Receiver<Event>, Embedded) {
    let bus = parts.bus.subscribe();
    let (commands, commands_rx) = mpsc::channel(256);
    let stop = CancellationToken::new();
    let task = tokio::spawn(embedded_scheduler(
        parts,
        handover,
        commands_rx,
        stop.clone(),
        to_app.clone(),
    ));
    let control = Control::Embedded {
        store: store.clone(),
        commands,
    };
    (control, bus, Embedded { stop, task })
}

/// The next event of the embedded scheduler; never, when attached.
async fn next_event(bus: &mut Option<broadcast::Receiver<Event>>) -> Result<Event, RecvError> {
    match bus {
        Some(bus) => bus.recv().await,
        None => std::future::pending().await,
    }
}

fn on_event(
    model: &mut Model,
    effects: &Effects,
    bus: &mut Option<broadcast::Receiver<Event>>,
    event: Result<Event, RecvError>,
) -> bool {
    match event {
        Ok(event) => effects.run(model.update(Msg::Event(event))),
        Err(RecvError::Lagged(n)) => effects.run(model.update(Msg::LogLost(n))),
        Err(RecvError::Closed) => {
            *bus = None;
            false
        }
    }
}

/// The embedded scheduler: started in the background (the first frame
/// does not wait for it), fed the console's commands, shut down (with the
/// grace period) when `stop` fires.
///
/// First the requests it must not carry out are closed (too old, or taken
/// by the instance it takes over from); when it takes over, the lease this
/// console took is handed to the scheduler once it has started, or given
/// back if it cannot start.
async fn embedded_scheduler(
    parts: Parts,
    handover: Option<Handover>,
    mut commands: mpsc::Receiver<Command>,
    stop: CancellationToken,
    to_app: mpsc::Sender<Msg>,
) {
    let store = parts.store.clone();
    let gone = handover.as_ref().map(|h| &h.from);
    match crate::control::close_orphaned_commands(&store, gone, Utc::now()).await {
        Ok(closed) if closed.is_empty() => {}
        Ok(closed) => {
            let _ = to_app.send(Msg::CommandsClosed(closed)).await;
        }
        Err(e) => tracing::error!("closing requests nobody took failed: {e}"),
    }
    let give_back = async |claim: &str| {
        if let Err(e) = store.mark_stopped(claim, Utc::now()).await {
            tracing::warn!("giving back the scheduler lease failed: {e}");
        }
    };
    let started = tokio::select! {
        started = Scheduler::start(parts) => started,
        _ = stop.cancelled() => {
            if let Some(handover) = &handover {
                give_back(&handover.claim).await;
            }
            return;
        }
    };
    let scheduler = match started {
        Ok(scheduler) => scheduler,
        Err(e) => {
            if let Some(handover) = &handover {
                give_back(&handover.claim).await;
            }
            let _ = to_app
                .send(Msg::Engine(Engine::Failed(e.to_string())))
                .await;
            return;
        }
    };
    if let Some(handover) = &handover {
        hand_over(&store, handover, scheduler.instance_id()).await;
        give_back(&handover.claim).await;
    }
    let forward = scheduler.commands();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            command = commands.recv() => match command {
                Some(command) => {
                    let _ = forward.send(command).await;
                }
                None => break,
            },
        }
    }
    if let Err(e) = scheduler.shutdown().await {
        tracing::error!("the scheduler stopped with an error: {e}");
    }
}

/// Pass the lease from this console's claim to the scheduler it started
/// (which renews it from then on).
async fn hand_over(store: &Store, handover: &Handover, to: &str) {
    let from = crate::control::host_pid(&handover.from);
    match store
        .hand_over_lease(&handover.claim, to, Utc::now(), STALE_AFTER)
        .await
    {
        Ok(true) => tracing::info!("took over from {from}: the scheduler here holds the lease"),
        // The claim's lease ran out while the scheduler started and someone
        // else took it: this scheduler shares the work without it.
        Ok(false) => tracing::warn!(
            "took over from {from}, but another instance took the scheduler lease meanwhile"
        ),
        Err(e) => tracing::error!("handing the scheduler lease to the new scheduler failed: {e}"),
    }
}
