//! Prometheus metrics (the Prometheus project's `prometheus-client`), served
//! with the health checks by [`http`] when `--metrics` or `[metrics] listen`
//! asks for them.
//!
//! What happens (runs ending, deliveries, store writes) is counted where it
//! happens, with atomics; what is (next fires, failing streaks, the lease)
//! is read from the store when Prometheus scrapes ([`scrape`]). Nothing is
//! counted while metrics are off: every recording function is one load of
//! an empty [`OnceLock`] then.
//!
//! Labels are job, destination, status and trigger names: bounded by the
//! config and the store, never a run id.

pub mod http;
mod scrape;
mod text;

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::store::{RunStatus, Trigger};

pub use scrape::{Source, next_fire_of};

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// Labels of a run that ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    job: String,
    status: &'static str,
    trigger: &'static str,
}

/// Labels of a delivery's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    destination: String,
    status: &'static str,
}

/// One job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: String,
}

/// A status alone.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

/// `cronport_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every metric of the process, registered once.
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    rows: Family<JobLabel, Counter>,
    bytes: Family<JobLabel, Counter>,
    run_duration: Family<StatusLabel, Histogram>,
    start_latency: Histogram,
    store_write: Histogram,
    /// Read from the store at each scrape.
    pub(crate) state: scrape::Gauges,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "cronport_runs",
            "Runs this instance carried to their end, by job, status and trigger",
            runs.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "cronport_deliveries",
            "Outcomes of deliveries to a destination, by destination and status",
            deliveries.clone(),
        );
        let rows = Family::<JobLabel, Counter>::default();
        registry.register(
            "cronport_rows_exported",
            "Rows exported, by job",
            rows.clone(),
        );
        let bytes = Family::<JobLabel, Counter>::default();
        registry.register(
            "cronport_bytes_exported",
            "Bytes exported, by job",
            bytes.clone(),
        );
        // 10 ms to about 11 h: a query of a moment to a night's export.
        let run_duration = Family::<StatusLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 4.0, 13))
        });
        registry.register(
            "cronport_run_duration_seconds",
            "Time from a run's first start to its end, by final status",
            run_duration.clone(),
        );
        // 1 ms to about 70 min.
        let start_latency = Histogram::new(exponential_buckets(0.001, 4.0, 13));
        registry.register(
            "cronport_run_start_latency_seconds",
            "How long after its slot (or its request, for manual runs) a run started",
            start_latency.clone(),
        );
        // 100 µs to about 100 s.
        let store_write = Histogram::new(exponential_buckets(0.0001, 4.0, 11));
        registry.register(
            "cronport_store_write_seconds",
            "Time of one store write (a group commit of run records, or a queue operation)",
            store_write.clone(),
        );
        let build = Info::new(BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        });
        registry.register("cronport_build", "The cronport build", build);
        let state = scrape::Gauges::register(&mut registry);
        Metrics {
            registry,
            runs,
            deliveries,
            rows,
            bytes,
            run_duration,
            start_latency,
            store_write,
            state,
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Turn metrics on for this process (idempotent) and return them.
pub fn enable() -> &'static Metrics {
    METRICS.get_or_init(Metrics::new)
}

/// The metrics, when they are on.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

/// A run started its first attempt `latency` after its slot.
pub fn run_started(latency: Duration) {
    if let Some(m) = get() {
        m.start_latency.observe(latency.as_secs_f64());
    }
}

/// What a run that ended did.
pub struct RunEnded<'a> {
    /// Its job.
    pub job: &'a str,
    /// How it ended.
    pub status: RunStatus,
    /// Why it ran.
    pub trigger: Trigger,
    /// Rows exported, when it succeeded.
    pub rows: Option<u64>,
    /// Bytes exported, when it succeeded.
    pub bytes: Option<u64>,
    /// From its first start to its end; `None` when it never started.
    pub took: Option<Duration>,
}

/// A run ended.
pub fn run_ended(end: &RunEnded<'_>) {
    let Some(m) = get() else { return };
    m.runs
        .get_or_create(&RunLabels {
            job: end.job.to_string(),
            status: end.status.as_str(),
            trigger: end.trigger.as_str(),
        })
        .inc();
    let job = JobLabel {
        job: end.job.to_string(),
    };
    if let Some(rows) = end.rows {
        m.rows.get_or_create(&job).inc_by(rows);
    }
    if let Some(bytes) = end.bytes {
        m.bytes.get_or_create(&job).inc_by(bytes);
    }
    if let Some(took) = end.took {
        m.run_duration
            .get_or_create(&StatusLabel {
                status: end.status.as_str(),
            })
            .observe(took.as_secs_f64());
    }
}

/// A destination's outcome was recorded (`status` as the store spells it).
pub fn delivered(destination: &str, status: &str) {
    let Some(m) = get() else { return };
    // The store's spellings, as static labels; anything else is a bug
    // elsewhere and is counted apart rather than dropped.
    let status = crate::store::DELIVERY_STATUSES
        .iter()
        .find(|s| **s == status)
        .copied()
        .unwrap_or("other");
    m.deliveries
        .get_or_create(&DeliveryLabels {
            destination: destination.to_string(),
            status,
        })
        .inc();
}

/// One store write took `took`.
pub fn store_write(took: Duration) {
    if let Some(m) = get() {
        m.store_write.observe(took.as_secs_f64());
    }
}
