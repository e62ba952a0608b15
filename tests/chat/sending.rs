//! Sending: retries on 429 with Retry-After, a 400 that fails naming the
//! destination, a URL from a file that never shows, files refused.

use std::collections::HashMap;
use std::sync::Arc;

use cronport::config::Config;
use cronport::export::destination::Destination;
use cronport::export::destination::notice::NoticeKind;
use cronport::scheduler::notify;

use crate::common::servers::Webhook;
use crate::{SECRET, chat, notice, slot};

/// The destinations by name, as the scheduler holds them.
fn named(list: &[(&str, Arc<dyn Destination>)]) -> HashMap<String, Arc<dyn Destination>> {
    list.iter()
        .map(|(name, d)| (name.to_string(), d.clone()))
        .collect()
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_a_400_fails_naming_the_destination() {
    let paced = Webhook::start(&["429,retry-after=1"]);
    let refusing = Webhook::start(&["400"]);
    let destinations = named(&[
        ("team-chat", chat("teams", "team-chat", &paced, "")),
        ("ops-slack", chat("slack", "ops-slack", &refusing, "")),
    ]);
    let to = ["team-chat".to_string(), "ops-slack".to_string()];
    let sent = notify::send(&destinations, &to, &notice(NoticeKind::Failure)).await;
    assert_eq!(sent.len(), 2);

    let ok = sent[0].to_string();
    assert!(sent[0].result.is_ok(), "{ok}");
    assert!(
        ok.starts_with("notified team-chat of the failure of nightly (run 12): Teams webhook http://127.0.0.1/... (HTTP 200)"),
        "{ok}"
    );
    let requests = paced.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].answered, "429,retry-after=1");
    assert!(
        requests[1].received - requests[0].received >= 1.0,
        "Retry-After: 1 was not waited for: {requests:?}"
    );
    assert_eq!(requests[0].body(), requests[1].body(), "the same message");

    // A 400 will not change: one try, and the service's answer is the error.
    let err = sent[1].to_string();
    assert!(sent[1].result.is_err(), "{err}");
    assert!(
        err.starts_with("could not notify ops-slack of the failure of nightly (run 12): POST to Slack webhook http://127.0.0.1/...: HTTP 400: "),
        "{err}"
    );
    assert!(err.contains("scripted failure"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    assert_eq!(refusing.requests().len(), 1);

    // A name nobody defined is reported the same way, naming it.
    let sent = notify::send(
        &destinations,
        &["nowhere".into()],
        &notice(NoticeKind::Late),
    )
    .await;
    let err = sent[0].to_string();
    assert!(
        err.contains("could not notify nowhere")
            && err.contains("not defined under [destinations]"),
        "{err}"
    );
}

#[tokio::test]
async fn a_webhook_url_from_a_file_never_shows_and_files_are_not_taken() {
    let hook = Webhook::start(&["503", "502"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("teams.url"),
        hook.url(&format!("/t/{SECRET}")) + "\n",
    )
    .unwrap();
    let text = "[destinations.t]\nkind = \"teams\"\nurl_file = \"teams.url\"\nretries = 1\nbackoff = \"50ms\"\n";
    let config = Config::parse(text, dir.path()).unwrap();
    let dest = config.destinations["t"].build();
    let err = dest
        .notify(&notice(NoticeKind::Failure))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "POST to Teams webhook http://127.0.0.1/...: HTTP 502: {\"error\":\"scripted failure\"}"
    );
    assert_eq!(hook.requests().len(), 2);
    assert!(hook.requests()[0].path.ends_with(SECRET));
    let checked = dest.check().await.unwrap();
    assert!(
        checked.starts_with("Teams webhook http://127.0.0.1/... answers"),
        "{checked}"
    );
    // `cronport check` only reaches the server: a HEAD, nothing posted.
    let requests = hook.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].method, "HEAD");
    assert!(!format!("{config:?}").contains(SECRET));

    // A stored job naming it as a destination gets a clear refusal.
    let spool = dir.path().join("a.csv");
    std::fs::write(&spool, "n\n1\n").unwrap();
    let artifact = cronport::export::destination::Artifact {
        path: spool,
        extension: "csv".into(),
        bytes: 4,
        rows: 1,
        delivered: vec![],
    };
    let ctx = cronport::export::RunContext {
        job: "j".into(),
        run_id: 1,
        attempt: 1,
        scheduled_for: slot(),
        window_start: slot(),
        window_end: slot(),
        timezone: chrono_tz::UTC,
    };
    let err = dest.deliver(&artifact, &ctx).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "a teams destination posts notices, not files: name it in the job's notify.to"
        ),
        "{err}"
    );
    assert_eq!(hook.requests().len(), 3, "nothing posted for a file");
}
