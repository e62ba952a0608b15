//! Slack and Teams notices against a recording HTTP server on loopback
//! (`scripts/webhook-recorder.py`): the documented JSON shapes, field by
//! field, for failure, recovery and late notices (Slack's Block Kit
//! message with its `text` fallback; Microsoft's Adaptive Card inside a
//! message attachment), retries on 429 with Retry-After, a 400 that fails
//! naming the destination, a webhook URL that never shows, a job's real
//! failure and recovery through the binary, and bad settings exiting 2.

#[path = "../common/mod.rs"]
mod common;

mod binary;
mod held;
mod late;
mod sending;
mod slack;
mod teams;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use common::servers::{Recorded, Webhook};
use cronport::config::Config;
use cronport::export::destination::Destination;
use cronport::export::destination::notice::{Notice, NoticeKind};
use serde_json::Value;

/// The secret part of every test webhook URL: it must never be printed.
pub const SECRET: &str = "T0001/B0002/s3cr3t-path-9f";

/// 2026-03-08 02:00 UTC, and its Unix time.
pub fn slot() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 8, 2, 0, 0).unwrap()
}
pub const SLOT_UNIX: i64 = 1_772_935_200;

/// A destination named `name` of `kind` whose URL comes from a fresh
/// environment variable pointing at `hook`.
pub fn chat(kind: &str, name: &str, hook: &Webhook, extra: &str) -> Arc<dyn Destination> {
    let var = format!(
        "CRONPORT_TEST_CHAT_{}_{}",
        kind.to_uppercase(),
        hook.server.port
    );
    // SAFETY: a variable only this test reads, set before it is read.
    unsafe { std::env::set_var(&var, hook.url(&format!("/{kind}/{SECRET}"))) };
    let text = format!(
        "[destinations.{name}]\nkind = \"{kind}\"\nurl_env = \"{var}\"\nbackoff = \"50ms\"\n{extra}\n"
    );
    let config = Config::parse(&text, Path::new("/tmp")).unwrap_or_else(|e| panic!("{e}"));
    Arc::from(config.destinations[name].build())
}

pub fn notice(event: NoticeKind) -> Notice {
    let mut n = Notice {
        event,
        job: "nightly".into(),
        run_id: 12,
        fire_id: "nightly@20260308T020000.000Z".into(),
        status: "failed".into(),
        scheduled_for: slot(),
        rows: None,
        bytes: None,
        file: None,
        outputs: vec![],
        error: None,
        failed_runs: None,
    };
    match event {
        NoticeKind::Failure => {
            n.error = Some("source: <!channel> psql & co exited 2\n```boom```".into());
        }
        NoticeKind::Recovery => {
            n.status = "succeeded".into();
            n.rows = Some(42);
            n.bytes = Some(1234);
            n.failed_runs = Some(3);
            n.outputs = vec![
                "s3://acme/nightly/2026-03-08.csv".into(),
                "/srv/exports/nightly.csv".into(),
            ];
        }
        NoticeKind::Late => {
            n.status = "queued".into();
            n.error = Some("has not started 10m after its time (alert_if_late = 10m)".into());
        }
        _ => {}
    }
    n
}

/// Send the three notices and return what the receiver got, with the
/// window of Unix seconds they were sent in.
pub async fn send_three(dest: &Arc<dyn Destination>, hook: &Webhook) -> (Vec<Recorded>, i64, i64) {
    let before = Utc::now().timestamp();
    for event in [NoticeKind::Failure, NoticeKind::Recovery, NoticeKind::Late] {
        let location = dest.notify(&notice(event)).await.unwrap();
        assert!(location.ends_with("(HTTP 200)"), "{location}");
        assert!(!location.contains(SECRET), "{location}");
    }
    let after = Utc::now().timestamp();
    let requests = hook.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert!(r.path.ends_with(SECRET), "{}", r.path);
        assert_eq!(r.headers["content-type"], "application/json");
    }
    (requests, before, after)
}

/// The card inside a Teams message, after checking the envelope.
pub fn card(message: &Value) -> &Value {
    assert_eq!(message["type"], "message", "{message}");
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{message}");
    let a = &attachments[0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(a["contentUrl"], Value::Null);
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    card
}
