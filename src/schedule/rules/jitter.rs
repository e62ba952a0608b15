//! Jitter: a delay derived from the fire's identity (job name and slot), so
//! that every instance, every restart and every preview computes the same
//! one without sharing state. The hash is written out here (FNV-1a, then a
//! splitmix64 finaliser to spread nearby slots) rather than taken from
//! `std`, whose hasher may change between Rust releases: instances built by
//! different compilers must agree.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The delay of the fire of `job` at `slot`, from zero to `max`; whole
/// seconds when `max` is a second or more.
pub fn delay(job: &str, slot: DateTime<Utc>, max: Duration) -> Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if max_ms == 0 {
        return Duration::ZERO;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let slot_ms = slot.timestamp_millis().to_le_bytes();
    for byte in job.bytes().chain([0xff]).chain(slot_ms) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let ms = h % max_ms.saturating_add(1);
    let ms = if max_ms >= 1000 { ms - ms % 1000 } else { ms };
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    /// Pinned: a change here changes when every jittered job runs, and
    /// instances of two versions would disagree.
    const PINNED: u64 = 36;

    #[test]
    fn same_fire_same_delay_and_delays_spread() {
        let max = Duration::from_secs(300);
        let t0 = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .expect("time");
        assert_eq!(delay("nightly", t0, max), Duration::from_secs(PINNED));
        let delays: Vec<u64> = (0..2000)
            .map(|i| delay("nightly", t0 + chrono::Duration::minutes(i), max).as_secs())
            .collect();
        assert!(delays.iter().all(|d| *d <= 300));
        let low = delays.iter().filter(|d| **d < 75).count();
        let high = delays.iter().filter(|d| **d > 225).count();
        assert!(low > 350 && high > 350, "low {low}, high {high}");
        assert_ne!(delay("a", t0, max), delay("b", t0, max));
        assert_eq!(delay("a", t0, Duration::ZERO), Duration::ZERO);
    }
}
