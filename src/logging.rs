//! Log capture: a tracing layer that turns events into [`LogEvent`]s. Lines
//! inside a run's span are numbered, capped, stored with the run and
//! published live; other lines go to the process's event bus.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use chrono::Utc;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::events::{Event, EventBus, Level, LogEvent};
use crate::store::{LogLine, RunId};

/// Lines stored per run; past this they are counted, not kept.
pub const MAX_LINES_PER_RUN: i64 = 10_000;

/// Where one run's lines go.
struct RunSink {
    run_id: RunId,
    job: String,
    seq: AtomicI64,
    dropped: AtomicU64,
    store: LineStore,
    bus: EventBus,
}

/// Hands a line to whoever stores it; `false` when it could not take it.
pub type LineStore = Box<dyn Fn(LogLine) -> bool + Send + Sync>;

/// Open captures by token. Tokens, not run ids, key them: run ids are only
/// unique within one store, and a process (a test binary) may use several.
static RUNS: LazyLock<Mutex<HashMap<u64, Arc<RunSink>>>> = LazyLock::new(Default::default);
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);
static PROCESS_BUS: RwLock<Option<EventBus>> = RwLock::new(None);

/// Send lines that belong to no run to `bus` (the headless log, the console).
pub fn set_process_bus(bus: EventBus) {
    *PROCESS_BUS.write().unwrap_or_else(|p| p.into_inner()) = Some(bus);
}

/// Stop sending process lines anywhere (the bus's subscribers may then
/// see it close).
pub fn clear_process_bus() {
    *PROCESS_BUS.write().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Lines logged inside the capture's [`RunCapture::span`] are numbered from
/// 0, stored through `store` and published on `bus` until the guard drops.
pub fn capture_run(run_id: RunId, job: &str, store: LineStore, bus: EventBus) -> RunCapture {
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    let sink = Arc::new(RunSink {
        run_id,
        job: job.to_string(),
        seq: AtomicI64::new(0),
        dropped: AtomicU64::new(0),
        store,
        bus,
    });
    RUNS.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token, sink);
    RunCapture {
        token,
        run_id,
        job: job.to_string(),
    }
}

/// Stops capturing a run's lines; if lines were dropped over the cap, one
/// last line says how many.
pub struct RunCapture {
    token: u64,
    run_id: RunId,
    job: String,
}

impl RunCapture {
    /// The run's span: what is logged inside it belongs to the run.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!("run", run_id = self.run_id, job = %self.job, capture = self.token)
    }
}

impl Drop for RunCapture {
    fn drop(&mut self) {
        let sink = RUNS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.token);
        if let Some(sink) = sink {
            let dropped = sink.dropped.load(Ordering::Relaxed);
            if dropped > 0 {
                let seq = sink.seq.fetch_add(1, Ordering::Relaxed);
                let message = format!(
                    "{dropped} more log lines were dropped (at most {MAX_LINES_PER_RUN} are kept per run)"
                );
                emit(&sink, seq, Level::Warn, message);
            }
        }
    }
}

fn emit(sink: &RunSink, seq: i64, level: Level, message: String) {
    let ts = Utc::now();
    let run_id = sink.run_id;
    let line = LogLine {
        run_id,
        seq,
        ts,
        level: level.as_str().to_string(),
        message: message.clone(),
    };
    // The store's queue is deep; if it is ever full the line is still shown
    // live, and the loss is counted like lines over the cap.
    if !(sink.store)(line) {
        sink.dropped.fetch_add(1, Ordering::Relaxed);
    }
    let _ = sink.bus.send(Event::Log(LogEvent {
        ts,
        level,
        job: Some(sink.job.clone()),
        run_id: Some(run_id),
        message,
    }));
}

/// Marks a span as a capture's (its `capture` field).
struct RunTag(u64);

/// The capture layer; install it once per process.
pub struct CaptureLayer;

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = CaptureVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(token), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(RunTag(token));
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        let token = ctx.event_scope(event).and_then(|mut scope| {
            scope.find_map(|span| span.extensions().get::<RunTag>().map(|t| t.0))
        });
        let level = Level::from_tracing(event.metadata().level());
        let mut message = MessageVisitor::default();
        event.record(&mut message);
        let text = message.finish();
        match token {
            Some(token) => {
                let sink = RUNS
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&token)
                    .cloned();
                if let Some(sink) = sink {
                    let seq = sink.seq.fetch_add(1, Ordering::Relaxed);
                    if seq >= MAX_LINES_PER_RUN {
                        sink.dropped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        emit(&sink, seq, level, text);
                    }
                }
            }
            None => {
                if let Some(bus) = PROCESS_BUS
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                {
                    let _ = bus.send(Event::Log(LogEvent {
                        ts: Utc::now(),
                        level,
                        job: None,
                        run_id: None,
                        message: text,
                    }));
                }
            }
        }
    }
}

struct CaptureVisitor(Option<u64>);

impl Visit for CaptureVisitor {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "capture" {
            self.0 = Some(value);
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The message, then any other fields as `key=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_string()
        } else {
            format!("{}{}", self.message, self.fields)
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// Install the capture layer as the global subscriber (once; later calls do
/// nothing). Lines from cronport at info and up are kept, and warnings from
/// the libraries it uses.
///
/// The filter is global, not the layer's own: a per-layer filter passes its
/// verdict from `enabled` to `on_new_span` through a thread-local, and
/// sqlx's query logger asks `enabled` after every PostgreSQL query on the
/// thread that then opened the run's span, whose tag was lost with it: no
/// line of a `jobs run` on PostgreSQL was stored or shown (tokio-rs/tracing
/// #2519).
pub fn init() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("cronport", tracing::Level::INFO)
        .with_default(tracing::Level::WARN);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(CaptureLayer)
        .try_init();
}
