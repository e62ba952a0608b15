//! Per-job policies: retries, timeout, overlap, catch-up, delivery.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::JobSpec;

/// Default retries after a failed attempt.
pub const DEFAULT_RETRIES: u32 = 3;
/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default catch-up window.
pub const DEFAULT_CATCH_UP_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// First retry waits up to this long (full jitter).
pub const BACKOFF_BASE: Duration = Duration::from_secs(30);
/// No retry waits longer than this.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10 * 60);

/// What happens when a slot comes while the job's previous run still runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapPolicy {
    /// Don't start; record the slot as skipped.
    #[default]
    Skip,
    /// Start it when the running one ends; only the newest waits.
    QueueOne,
    /// Start it alongside.
    Allow,
    /// Cancel the running one, then start.
    CancelPrevious,
}

impl OverlapPolicy {
    /// The name as written in a config (`queue_one`).
    pub fn as_str(self) -> &'static str {
        match self {
            OverlapPolicy::Skip => "skip",
            OverlapPolicy::QueueOne => "queue_one",
            OverlapPolicy::Allow => "allow",
            OverlapPolicy::CancelPrevious => "cancel_previous",
        }
    }
}

impl std::fmt::Display for OverlapPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to slots missed while cronport was not running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUpPolicy {
    /// Run none of them.
    Skip,
    /// Run the newest one.
    #[default]
    Latest,
    /// Run each, oldest first.
    All,
    /// Run none until someone approves: the missed slots are kept as a
    /// pending plan (`cronport catchup`, or the console) that is approved,
    /// in part or whole, or declined.
    Ask,
}

impl CatchUpPolicy {
    /// The name as written in a config (`latest`).
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUpPolicy::Skip => "skip",
            CatchUpPolicy::Latest => "latest",
            CatchUpPolicy::All => "all",
            CatchUpPolicy::Ask => "ask",
        }
    }
}

/// When a run's rendered output is sent (`deliver`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Deliver {
    /// Every run that succeeds delivers.
    #[default]
    Always,
    /// Only a run whose content differs from the last delivered run's;
    /// one with the same content succeeds, marked unchanged, and sends
    /// nothing.
    OnChange,
    /// A word that is neither, kept as written so that validation can name
    /// it (a decode error would only give a line and column).
    Unknown(String),
}

impl Deliver {
    /// The word as written in a config.
    pub fn as_str(&self) -> &str {
        match self {
            Deliver::Always => "always",
            Deliver::OnChange => "on_change",
            Deliver::Unknown(word) => word,
        }
    }
}

impl From<String> for Deliver {
    fn from(word: String) -> Deliver {
        match word.as_str() {
            "always" => Deliver::Always,
            "on_change" => Deliver::OnChange,
            _ => Deliver::Unknown(word),
        }
    }
}

impl From<Deliver> for String {
    fn from(deliver: Deliver) -> String {
        deliver.as_str().to_string()
    }
}

/// A job's policies with defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Per-attempt limit.
    pub timeout: Duration,
    /// Overlap policy.
    pub overlap: OverlapPolicy,
    /// Catch-up policy.
    pub catch_up: CatchUpPolicy,
    /// Only slots this recent are caught up.
    pub catch_up_window: Duration,
    /// `deliver = "on_change"`: runs whose content matches the last
    /// delivered run's send nothing.
    pub on_change: bool,
    /// The checks of each rendered output, when the job has any.
    pub checks: Option<super::Checks>,
}

impl Policy {
    /// Policies of `spec`, defaults where it says nothing.
    pub fn from_spec(spec: &JobSpec) -> Self {
        Policy {
            retries: spec.retries.unwrap_or(DEFAULT_RETRIES),
            timeout: spec.timeout.map_or(DEFAULT_TIMEOUT, |d| d.0),
            overlap: spec.overlap.unwrap_or_default(),
            catch_up: spec.catch_up.unwrap_or_default(),
            catch_up_window: spec
                .catch_up_window
                .map_or(DEFAULT_CATCH_UP_WINDOW, |d| d.0),
            on_change: spec.deliver == Some(Deliver::OnChange),
            // Problems are reported by `validate`; a policy is only built
            // from a definition that passed it.
            checks: super::checks::resolve(spec, &mut |_: &str, _: String| {}),
        }
    }

    /// Attempts in all: the first plus the retries.
    pub fn max_attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }

    /// The longest a retry after attempt `attempt` (from 1) may wait:
    /// `base * 2^(attempt-1)`, capped. The actual wait is drawn uniformly
    /// from zero to this ("full jitter"), which spreads retries of many
    /// failing jobs instead of bunching them.
    pub fn backoff_ceiling(attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_CAP)
    }

    /// A jittered wait before the retry that follows attempt `attempt`.
    pub fn backoff(attempt: u32, rng: &mut impl rand::Rng) -> Duration {
        let ceiling = Self::backoff_ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rng.random_range(0..=ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(Policy::backoff_ceiling(1), Duration::from_secs(30));
        assert_eq!(Policy::backoff_ceiling(2), Duration::from_secs(60));
        assert_eq!(Policy::backoff_ceiling(3), Duration::from_secs(120));
        assert_eq!(Policy::backoff_ceiling(5), Duration::from_secs(480));
        assert_eq!(Policy::backoff_ceiling(6), Duration::from_secs(600));
        assert_eq!(Policy::backoff_ceiling(60), Duration::from_secs(600));
    }

    #[test]
    fn jittered_waits_stay_within_bounds_and_spread() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..8 {
            let ceiling = Policy::backoff_ceiling(attempt);
            let waits: Vec<_> = (0..2000)
                .map(|_| Policy::backoff(attempt, &mut rng))
                .collect();
            assert!(waits.iter().all(|w| *w <= ceiling));
            // Full jitter: the draws cover the whole range, not just the top.
            let low = waits.iter().filter(|w| **w < ceiling / 4).count();
            let high = waits.iter().filter(|w| **w > ceiling * 3 / 4).count();
            assert!(
                low > 300 && high > 300,
                "attempt {attempt}: low {low}, high {high}"
            );
        }
    }
}
