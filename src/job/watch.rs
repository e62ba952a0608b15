//! The keys that watch a job from outside its runs: `alert_if_late`,
//! `alert_if_running_over` (notices through the job's `notify.to`) and
//! `ping` (a Healthchecks.io-style URL told of each run's start and end).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::JobSpec;
use crate::config::duration::HumanDuration;

/// A job's watch keys as one value: forms that do not edit them carry them
/// over unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchKeys {
    /// `alert_if_late`.
    pub alert_if_late: Option<HumanDuration>,
    /// `alert_if_running_over`.
    pub alert_if_running_over: Option<HumanDuration>,
    /// `ping`.
    pub ping: Option<String>,
    /// `ping_env`.
    pub ping_env: Option<String>,
}

/// The thresholds a job is watched with, its own or the scheduler's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// A scheduled slot not started this long after its time is late.
    pub late: Option<Duration>,
    /// A run still running this long after it started is stuck.
    pub running_over: Option<Duration>,
}

impl Thresholds {
    /// Whether anything is watched.
    pub fn any(&self) -> bool {
        self.late.is_some() || self.running_over.is_some()
    }
}

impl JobSpec {
    /// Its watch keys.
    pub fn watch_keys(&self) -> WatchKeys {
        WatchKeys {
            alert_if_late: self.alert_if_late,
            alert_if_running_over: self.alert_if_running_over,
            ping: self.ping.clone(),
            ping_env: self.ping_env.clone(),
        }
    }

    /// Sets every watch key from `keys`.
    pub fn set_watch_keys(&mut self, keys: WatchKeys) {
        self.alert_if_late = keys.alert_if_late;
        self.alert_if_running_over = keys.alert_if_running_over;
        self.ping = keys.ping;
        self.ping_env = keys.ping_env;
    }

    /// The job's alert thresholds, falling back to `defaults` (the
    /// `[scheduler]` keys) for those it does not set. A job without
    /// `notify` has nowhere to send a notice: nothing is watched.
    pub fn thresholds(&self, defaults: Thresholds) -> Thresholds {
        if self.notify.is_none() {
            return Thresholds::default();
        }
        Thresholds {
            late: self.alert_if_late.map(|d| d.0).or(defaults.late),
            running_over: self
                .alert_if_running_over
                .map(|d| d.0)
                .or(defaults.running_over),
        }
    }
}

/// Problems with the watch keys of `spec`, as (key, message).
pub(super) fn problems(spec: &JobSpec, fail: &mut impl FnMut(&str, String)) {
    for (key, value) in [
        ("alert_if_late", spec.alert_if_late),
        ("alert_if_running_over", spec.alert_if_running_over),
    ] {
        let Some(value) = value else { continue };
        if value.0 < Duration::from_secs(1) {
            fail(key, format!("{value} is too short: at least 1s"));
        } else if spec.notify.is_none() {
            fail(
                key,
                "says when to send a notice but the job has no notify = { on = [...], to = [...] } \
                 to say where"
                    .to_string(),
            );
        }
    }
    if let Some(url) = &spec.ping
        && let Err(message) = check_ping_url(url)
    {
        fail("ping", message);
    }
    match &spec.ping_env {
        Some(_) if spec.ping.is_some() => {
            fail("ping_env", "give ping or ping_env, not both".into())
        }
        Some(var) if var.trim().is_empty() || var.contains('=') => fail(
            "ping_env",
            format!("{var:?} is not an environment variable's name"),
        ),
        _ => {}
    }
}

/// The ping URL of `spec`: `ping`, or the value of `ping_env` read now.
/// An unset variable or a value that is no http(s) URL is an error that
/// names the variable but never shows the value.
pub fn ping_url(spec: &JobSpec) -> Option<Result<url::Url, String>> {
    if let Some(url) = &spec.ping {
        return Some(check_ping_url(url).map_err(|e| format!("ping: {e}")));
    }
    let var = spec.ping_env.as_deref()?;
    Some(match std::env::var(var) {
        Ok(text) => check_ping_url(&text)
            .map_err(|_| format!("ping_env: the value of {var} is not an http(s) URL with a host")),
        Err(_) => Err(format!("ping_env: {var} is not set")),
    })
}

/// A ping URL must be absolute http(s), with a host.
pub fn check_ping_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        format!("{text:?} is not a URL ({e}); write e.g. \"https://hc-ping.com/<uuid>\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{text:?} is not an http(s) URL (scheme {:?}); pings are HTTP requests",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_urls_must_be_http_with_a_host() {
        assert!(check_ping_url("https://hc-ping.com/0b1c").is_ok());
        assert!(check_ping_url("http://127.0.0.1:8080/api/push/x?status=up").is_ok());
        let err = check_ping_url("ftp://hc-ping.com/x").unwrap_err();
        assert!(err.contains("not an http(s) URL"), "{err}");
        let err = check_ping_url("hc-ping.com/x").unwrap_err();
        assert!(err.contains("is not a URL"), "{err}");
        assert!(check_ping_url("file:///tmp/x").is_err());
    }
}
