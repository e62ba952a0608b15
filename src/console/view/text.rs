//! Numbers and times as the panels write them: "in 3m", "1.2 KB", "4.1s".

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::store::RunStatus;

/// "in 12s", "in 3m", "in 2h", "in 3d"; "now" once due.
pub fn until(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    if secs <= 0 {
        return "now".into();
    }
    format!("in {}", span(secs))
}

/// "12s ago", "3m ago".
pub fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    format!("{} ago", span(secs))
}

/// A coarse span: "12s", "3m", "2h", "3d".
fn span(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// A run's duration: "850ms", "4.1s", "2m05s", "1h02m".
pub fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        ..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// A speed per second: "0.25", "2.5", "100", "12.3k", "4.1M".
pub fn rate(per_sec: f64) -> String {
    let x = per_sec.max(0.0);
    if x < 1.0 {
        format!("{x:.2}")
    } else if x < 10.0 {
        format!("{x:.1}")
    } else if x < 1_000.0 {
        format!("{x:.0}")
    } else if x < 1_000_000.0 {
        format!("{:.1}k", x / 1_000.0)
    } else {
        format!("{:.1}M", x / 1_000_000.0)
    }
}

/// "512 B", "1.2 KB", "3.4 MB", "1.1 GB".
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KB", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", n / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GB", n / (1024.0 * 1024.0 * 1024.0))
    }
}

/// A time in `zone`: "14:03:07" on the day of `now`, else "03-07 14:03".
pub fn clock(now: DateTime<Utc>, at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    if local.date_naive() == now.with_timezone(&zone).date_naive() {
        local.format("%H:%M:%S").to_string()
    } else {
        local.format("%m-%d %H:%M").to_string()
    }
}

/// A run waiting for its next attempt: "retry at 14:05:09", in the
/// console's zone.
pub fn retry_at(at: DateTime<Utc>, zone: Tz) -> String {
    format!("retry at {}", at.with_timezone(&zone).format("%H:%M:%S"))
}

/// A full time in `zone` with its abbreviation: "2026-03-08 14:03:07 GMT".
pub fn full(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// The time of day in `zone` with its abbreviation: "14:03:07 GMT".
pub fn short(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%H:%M:%S %Z").to_string()
}

/// How a run's state reads in a narrow column.
pub fn status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "ok",
        other => other.as_str(),
    }
}

/// The city of an IANA zone for narrow columns: "New York", "UTC".
pub fn zone_short(zone: &str) -> String {
    zone.rsplit('/').next().unwrap_or(zone).replace('_', " ")
}

/// `text` cut to `width` characters, with "…" when cut at the start.
pub fn keep_end(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let tail: String = text.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_sizes_read_short() {
        let t = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(until(t, t + chrono::Duration::seconds(190)), "in 3m");
        assert_eq!(until(t, t - chrono::Duration::seconds(1)), "now");
        assert_eq!(ago(t, t - chrono::Duration::hours(5)), "5h ago");
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(4_100), "4.1s");
        assert_eq!(duration_ms(125_000), "2m05s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1_300), "1.3 KB");
        assert_eq!(zone_short("America/New_York"), "New York");
        assert_eq!(keep_end("sqlite:///a/long/path.db", 10), "…g/path.db");
    }

    #[test]
    fn rates_keep_three_figures() {
        assert_eq!(rate(0.25), "0.25");
        assert_eq!(rate(2.5), "2.5");
        assert_eq!(rate(100.0), "100");
        assert_eq!(rate(12_345.0), "12.3k");
        assert_eq!(rate(4_100_000.0), "4.1M");
    }
}
