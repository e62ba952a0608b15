//! The export pipeline: a source yields rows, a format renders them into a
//! spool file, and each destination delivers that file.

pub mod blocking;
pub mod delivery;
pub mod destination;
pub mod format;
pub mod pipeline;
pub mod preview;
pub mod registry;
pub mod source;
pub mod spool;
pub mod thread;
pub mod value;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use pipeline::{Export, ExportError, ExportOutput, Pipeline, Rendered};
pub use preview::Preview;
pub use registry::Registry;

/// What a run knows about itself while it exports: the values behind SQL
/// bind parameters and path placeholders.
#[derive(Clone, Debug)]
pub struct RunContext {
    /// The job's name.
    pub job: String,
    /// The run's id in the store.
    pub run_id: i64,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The slot this run is for (for manual runs: when it was asked for).
    pub scheduled_for: DateTime<Utc>,
    /// The previous slot of the schedule (`:window_start`).
    pub window_start: DateTime<Utc>,
    /// This slot (`:window_end`).
    pub window_end: DateTime<Utc>,
    /// The job's zone, for `{date:...}` in path patterns.
    pub timezone: Tz,
}
