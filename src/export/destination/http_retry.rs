//! POST with retries, shared by the webhook and chat destinations. A 5xx, a
//! 429, a timeout or a refused connection is tried again, after a doubling
//! backoff or after what a 429 or 503 answer's `Retry-After` asks for
//! (capped); any other answer is final and its body is the error.

use std::future::Future;
use std::time::Duration;

use super::DestinationError;
use crate::config::duration::HumanDuration;

/// How hard to try.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    /// Further tries after the first.
    pub retries: u32,
    /// The first wait between tries; it doubles each time (capped at 1m).
    pub backoff: Duration,
    /// The longest `Retry-After` obeyed; a server asking for longer is
    /// tried again after this.
    pub max_retry_after: Duration,
}

/// How much of an answer's body goes into an error: enough for a service's
/// reason (`invalid_payload`, a JSON error), not a whole HTML page.
const EXCERPT_CHARS: usize = 200;

/// Send the request `build` makes (once per try, so a streamed body is
/// opened afresh) until it succeeds or the policy gives up. Returns the
/// HTTP status of the success. `shown` names the target in logs and errors:
/// callers pass a form without secrets.
pub(crate) async fn send<F, Fut>(
    policy: &RetryPolicy,
    shown: &str,
    mut build: F,
) -> Result<u16, DestinationError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<reqwest::RequestBuilder, DestinationError>>,
{
    let tries = policy.retries + 1;
    let mut backoff = policy.backoff;
    let mut last = String::new();
    for attempt in 1..=tries {
        let (retry, asked) = match build().await?.send().await {
            Ok(response) if response.status().is_success() => {
                return Ok(response.status().as_u16());
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let asked = retry_after_of(&response);
                let text = response.text().await.unwrap_or_default();
                let excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
                last = format!("HTTP {status}: {}", excerpt.trim());
                (response_is_retried(status), asked)
            }
            Err(e) => {
                let retry = e.is_timeout() || e.is_connect() || e.is_request();
                // Without the URL: it may hold a secret.
                last = e.without_url().to_string();
                (retry, None)
            }
        };
        if !retry || attempt == tries {
            break;
        }
        let wait = wait_before_retry(policy.max_retry_after, asked, backoff, shown);
        tracing::warn!(
            "POST to {shown} failed ({last}); try {} of {tries} in {}",
            attempt + 1,
            HumanDuration(wait)
        );
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
    Err(DestinationError::remote("POST to", shown, last))
}

/// What the server asked for, capped, else the backoff.
fn wait_before_retry(
    cap: Duration,
    asked: Option<Duration>,
    backoff: Duration,
    shown: &str,
) -> Duration {
    match asked {
        Some(asked) if asked > cap => {
            tracing::warn!(
                "{shown} asked to wait {} (Retry-After); waiting max_retry_after = {}",
                HumanDuration(asked),
                HumanDuration(cap)
            );
            cap
        }
        Some(asked) => asked,
        None => backoff,
    }
}

/// 5xx and 429 are worth another try; other answers will not change.
fn response_is_retried(status: u16) -> bool {
    (500..600).contains(&status) || status == 429
}

/// The wait a 429 or 503 answer's `Retry-After` header asks for. Other
/// statuses' headers are ignored: RFC 9110 gives it meaning on these (and
/// on redirects, which reqwest follows itself).
fn retry_after_of(response: &reqwest::Response) -> Option<Duration> {
    if !matches!(response.status().as_u16(), 429 | 503) {
        return None;
    }
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    let asked = super::retry_after::requested_wait(value, std::time::SystemTime::now());
    if asked.is_none() {
        tracing::warn!(
            "ignoring a Retry-After header that is neither seconds nor a date: {value:?}"
        );
    }
    asked
}
