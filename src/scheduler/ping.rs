//! Heartbeat pings for an outside monitor, in the Healthchecks.io
//! convention (Uptime Kuma's push monitors take the same requests):
//! `URL/start` when a run starts, `URL` when it succeeds, and `URL/fail`
//! with the tail of the run's log as the body when it fails or is
//! cancelled. The monitor notices what cronport cannot tell anyone itself:
//! that it is down, or that a job stopped running.
//!
//! A ping never holds up or fails a run: each is sent from a task of its
//! own with a bounded timeout, and a ping that fails is logged and dropped.

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::store::LogLine;

/// How long one ping may take, connection included.
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// The log lines a `/fail` ping carries at most, newest last.
const TAIL_LINES: usize = 50;
/// The body of a `/fail` ping at most (Healthchecks keeps 100 kB).
const TAIL_BYTES: usize = 10_000;

/// One client for every ping: connections to the monitor are reused.
static CLIENT: LazyLock<Option<reqwest::Client>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(PING_TIMEOUT)
        .connect_timeout(PING_TIMEOUT)
        .user_agent(concat!("cronport/", env!("CARGO_PKG_VERSION")))
        .build()
        .inspect_err(|e| tracing::error!("pings are off: cannot build an HTTP client: {e}"))
        .ok()
});

/// Pings still being sent, so that a process about to exit (a `jobs run`)
/// can let them arrive.
static PENDING: LazyLock<TaskTracker> = LazyLock::new(TaskTracker::new);

/// The last lines of a run's log, kept for its `/fail` ping.
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    /// Keep `line`, dropping the oldest past [`TAIL_LINES`].
    pub fn push(&self, line: &LogLine) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(format!(
            "{} {:5} {}",
            line.ts.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            line.level,
            line.message
        ));
    }

    /// The kept lines, at most [`TAIL_BYTES`] of the newest.
    fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n");
        if text.len() > TAIL_BYTES {
            let mut cut = text.len() - TAIL_BYTES;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text.drain(..cut);
        }
        text
    }
}

/// The pings of one run.
pub struct RunPings {
    url: url::Url,
    label: String,
    tail: Tail,
    started: Option<JoinHandle<()>>,
}

/// How a run ended, for its last ping.
pub enum PingEnd<'a> {
    /// It succeeded.
    Succeeded,
    /// It failed or was cancelled, for this reason.
    Failed(&'a str),
}

impl RunPings {
    /// The pings of run `run_id` of `job`, if it has a ping URL (`ping`,
    /// or `ping_env` read now); a variable that is not set is logged.
    pub fn new(job: &crate::job::Job, run_id: i64) -> Option<RunPings> {
        let label = format!("{} (run {run_id})", job.name());
        match crate::job::ping_url(&job.spec)? {
            Ok(url) => Some(RunPings {
                url,
                label,
                tail: Tail::default(),
                started: None,
            }),
            Err(e) => {
                tracing::warn!("{label}: not pinging: {e}");
                None
            }
        }
    }

    /// Where the run's log lines go too.
    pub fn tail(&self) -> Tail {
        self.tail.clone()
    }

    /// The run started: `URL/start`, once.
    pub fn start(&mut self) {
        if self.started.is_none() {
            let url = with_suffix(&self.url, "start");
            self.started = Some(spawn(url, None, self.label.clone(), None));
        }
    }

    /// The run ended: `URL` or `URL/fail`, after the start ping (a monitor
    /// that saw them the other way round would think the run still going).
    pub fn end(self, end: PingEnd<'_>) {
        let (url, body) = match end {
            PingEnd::Succeeded => (self.url.clone(), None),
            PingEnd::Failed(reason) => {
                let mut body = self.tail.text();
                if !body.contains(reason) {
                    if !body.is_empty() {
                        body.push('\n');
                    }
                    body.push_str(reason);
                }
                (with_suffix(&self.url, "fail"), Some(body))
            }
        };
        spawn(url, body, self.label, self.started);
    }
}

/// Wait up to `limit` for pings still on their way: for a process that is
/// about to exit, whose runs' last pings would otherwise be lost.
pub async fn settle(limit: Duration) {
    PENDING.close();
    let _ = tokio::time::timeout(limit, PENDING.wait()).await;
    PENDING.reopen();
}

/// `URL/suffix`, keeping the URL's query (`https://hc-ping.com/UUID/start`).
fn with_suffix(url: &url::Url, suffix: &str) -> url::Url {
    let mut out = url.clone();
    let path = format!("{}/{suffix}", url.path().trim_end_matches('/'));
    out.set_path(&path);
    out
}

/// Send one ping on a task of its own, after `after` (the start ping).
fn spawn(
    url: url::Url,
    body: Option<String>,
    label: String,
    after: Option<JoinHandle<()>>,
) -> JoinHandle<()> {
    PENDING.spawn(async move {
        if let Some(start) = after {
            let _ = start.await;
        }
        let Some(client) = CLIENT.as_ref() else {
            return;
        };
        let request = match body {
            Some(body) => client.post(url.clone()).body(body),
            None => client.get(url.clone()),
        };
        // The URL is a secret of sorts (anyone holding it can ping): the
        // log names the host only.
        let host = url.host_str().unwrap_or("?").to_string();
        match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                tracing::debug!("{label}: pinged {host}{}", url.path());
            }
            Ok(answer) => tracing::warn!(
                "{label}: the ping to {host} was answered {}",
                answer.status()
            ),
            Err(e) => tracing::warn!("{label}: the ping to {host} failed: {}", e.without_url()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_go_on_the_path_and_keep_the_query() {
        let url = url::Url::parse("https://hc-ping.com/abc/").unwrap();
        assert_eq!(
            with_suffix(&url, "start").as_str(),
            "https://hc-ping.com/abc/start"
        );
        let kuma = url::Url::parse("http://kuma:3001/api/push/tok?status=up").unwrap();
        assert_eq!(
            with_suffix(&kuma, "fail").as_str(),
            "http://kuma:3001/api/push/tok/fail?status=up"
        );
    }

    #[test]
    fn the_tail_keeps_the_newest_lines_within_the_cap() {
        let tail = Tail::default();
        for i in 0..(TAIL_LINES + 10) {
            tail.push(&LogLine {
                run_id: 1,
                seq: i as i64,
                ts: chrono::Utc::now(),
                level: "INFO".into(),
                message: format!("line {i} {}", "é".repeat(200)),
            });
        }
        let text = tail.text();
        assert!(text.len() <= TAIL_BYTES, "{}", text.len());
        assert!(text.ends_with(&"é".repeat(200)));
        assert!(text.contains(&format!("line {}", TAIL_LINES + 9)));
        assert!(!text.contains("line 9 "), "the oldest lines are gone");
    }
}
