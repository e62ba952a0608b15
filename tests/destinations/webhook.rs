//! The webhook destination against a recording HTTP server.

use std::sync::Once;

use cronport::export::destination::notice::{Notice, NoticeKind};

use crate::common::servers::Webhook;
use crate::{artifact, config_error, ctx, destination, slot};

const TOKEN: &str = "Bearer hook-token-5f1c9e";
const SECRET_PATH: &str = "/services/T000/B000/secretpath77";

fn env() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any destination in this process reads them.
    ONCE.call_once(|| unsafe {
        std::env::set_var("CRONPORT_TEST_HOOK_TOKEN", TOKEN);
    });
}

fn config(url: &str, extra: &str) -> String {
    env();
    format!(
        "kind = \"webhook\"\nurl = \"{url}\"\nbackoff = \"50ms\"\nheaders = {{ X-Source = \"cronport-test\" }}\nheaders_env = {{ Authorization = \"CRONPORT_TEST_HOOK_TOKEN\" }}\n{extra}"
    )
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_idempotency_key() {
    let hook = Webhook::start(&["500", "200"]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&hook.url("/hook"), "text = true"), dir.path());
    let (mut a, _) = artifact(dir.path(), "a.csv", 100, 1);
    a.rows = 42;
    a.delivered = vec!["s3://bucket/daily/2026-03-08.csv".into()];
    let location = dest.deliver(&a, &ctx("daily", 5, slot(0))).await.unwrap();
    assert!(location.contains("(HTTP 200)"), "{location}");
    let requests = hook.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hook");
        assert_eq!(r.headers["idempotency-key"], "daily@20260308T020000.000Z");
        assert_eq!(r.headers["authorization"], TOKEN);
        assert_eq!(r.headers["x-source"], "cronport-test");
        assert_eq!(r.headers["content-type"], "application/json");
    }
    assert_eq!(requests[0].answered, "500");
    let notice = requests[1].json();
    assert_eq!(notice["event"], "delivery");
    assert_eq!(notice["job"], "daily");
    assert_eq!(notice["run_id"], 5);
    assert_eq!(notice["rows"], 42);
    assert_eq!(notice["status"], "succeeded");
    assert_eq!(notice["outputs"][0], "s3://bucket/daily/2026-03-08.csv");
    assert_eq!(notice["file"], "daily_20260308_020000.csv");
    let text = notice["text"].as_str().unwrap();
    assert!(
        text.contains("daily exported 42 rows") && text.contains("s3://bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn file_mode_posts_the_export_as_multipart() {
    let hook = Webhook::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&hook.url("/upload"), "mode = \"file\""), dir.path());
    let (a, data) = artifact(dir.path(), "a.csv", 70_000, 2);
    dest.deliver(&a, &ctx("files", 9, slot(1))).await.unwrap();
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert!(r.headers["content-type"].starts_with("multipart/form-data; boundary="));
    assert_eq!(r.headers["idempotency-key"], "files@20260309T020000.000Z");
    let body = r.body();
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("name=\"job\"\r\n\r\nfiles\r\n"),
        "no job field"
    );
    assert!(text.contains("name=\"fire_id\"\r\n\r\nfiles@20260309T020000.000Z\r\n"));
    assert!(text.contains(
        "name=\"file\"; filename=\"files_20260309_020000.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    ));
    assert!(
        body.windows(data.len()).any(|w| w == data.as_slice()),
        "the file is not in the body"
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_a_timeout_is() {
    let hook = Webhook::start(&["400"]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&hook.url("/x"), ""), dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 10, 3);
    let err = dest
        .deliver(&a, &ctx("j", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 400") && err.contains("scripted failure"),
        "{err}"
    );
    assert_eq!(hook.requests().len(), 1);

    let slow = Webhook::start(&["sleep:3", "200"]);
    let dest = destination(&config(&slow.url("/x"), "timeout = \"500ms\""), dir.path());
    dest.deliver(&a, &ctx("j", 1, slot(0))).await.unwrap();
    let requests = slow.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].headers["idempotency-key"],
        requests[1].headers["idempotency-key"]
    );
}

#[tokio::test]
async fn after_the_last_retry_the_error_says_what_the_server_said() {
    let hook = Webhook::start(&["500", "503", "502"]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&hook.url("/x"), "retries = 2"), dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 10, 3);
    let err = dest
        .deliver(&a, &ctx("j", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("POST to http://127.0.0.1:"), "{err}");
    assert!(err.contains("HTTP 502"), "{err}");
    assert_eq!(hook.requests().len(), 3);
}

#[tokio::test]
async fn a_url_from_the_environment_is_never_shown_whole() {
    let hook = Webhook::start(&["500"]);
    let var = format!("CRONPORT_TEST_HOOK_URL_{}", hook.server.port);
    // SAFETY: a variable only this test reads.
    unsafe { std::env::set_var(&var, hook.url(SECRET_PATH)) };
    let dir = tempfile::tempdir().unwrap();
    let body = format!("kind = \"webhook\"\nurl_env = \"{var}\"\nretries = 0");
    let dest = destination(&body, dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 10, 3);
    let err = dest
        .deliver(&a, &ctx("j", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("http://127.0.0.1/..."), "{err}");
    assert!(!err.contains("secretpath77"), "{err}");
    assert_eq!(hook.requests()[0].path, SECRET_PATH);
    let detail = dest.check().await.unwrap();
    assert!(!detail.contains("secretpath77"), "{detail}");
}

#[tokio::test]
async fn notifications_carry_the_event_in_their_key() {
    let hook = Webhook::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&hook.url("/n"), "text = true"), dir.path());
    let notice = Notice {
        event: NoticeKind::Failure,
        job: "nightly".into(),
        run_id: 12,
        fire_id: "nightly@20260308T020000.000Z".into(),
        status: "failed".into(),
        scheduled_for: slot(0),
        rows: None,
        bytes: None,
        file: None,
        outputs: vec![],
        error: Some("source: connection refused".into()),
        failed_runs: None,
    };
    dest.notify(&notice).await.unwrap();
    let r = &hook.requests()[0];
    assert_eq!(
        r.headers["idempotency-key"],
        "nightly@20260308T020000.000Z:failure"
    );
    let json = r.json();
    assert_eq!(json["event"], "failure");
    assert_eq!(json["error"], "source: connection refused");
    assert!(
        json["text"]
            .as_str()
            .unwrap()
            .contains("nightly failed (run 12")
    );
}

#[test]
fn bad_settings_name_the_key() {
    for (body, expected) in [
        ("kind = \"webhook\"", "destinations.d.url: is missing"),
        (
            "kind = \"webhook\"\nurl = \"ftp://x/\"",
            "destinations.d.url: scheme \"ftp\"",
        ),
        (
            "kind = \"webhook\"\nurl = \"http://x/\"\nurl_env = \"X\"",
            "destinations.d.url: give url or url_env",
        ),
        (
            "kind = \"webhook\"\nurl = \"http://x/\"\nheaders = { \"Bad Name\" = \"v\" }",
            "destinations.d.headers: \"Bad Name\" is not a header name",
        ),
        (
            "kind = \"webhook\"\nurl = \"http://x/\"\nmode = \"fax\"",
            "unknown variant `fax`",
        ),
        (
            "kind = \"webhook\"\nurl = \"http://x/\"\nretries = 50",
            "destinations.d.retries: at most 10",
        ),
        (
            "kind = \"webhook\"\nurl = \"http://x/\"\nmax_retry_after = \"2h\"",
            "destinations.d.max_retry_after: at most 30m",
        ),
    ] {
        let err = config_error(body);
        assert!(err.contains(expected), "{body}\n-> {err}");
    }
}

#[test]
fn notifications_go_only_through_webhook_or_email_destinations() {
    let text = "[destinations.files]\nkind = \"local\"\nroot = \"/tmp/x\"\n\n\
                [destinations.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n\n\
                [[jobs]]\nname = \"j\"\nschedule = \"daily at 02:00\"\n\
                source = { kind = \"command\", argv = [\"true\"] }\nformat = { kind = \"csv\" }\n\
                destinations = [\"files\"]\n\
                notify = { on = [\"failure\"], to = [\"hook\", \"files\", \"nowhere\"] }\n";
    let err = cronport::config::Config::parse(text, std::path::Path::new("/tmp")).unwrap_err();
    assert!(
        err.contains("jobs[0] (j).notify.to[1]: \"files\" is a local destination; notifications go through webhook, email, slack or teams destinations"),
        "{err}"
    );
    assert!(
        err.contains("jobs[0] (j).notify.to[2]: \"nowhere\" is not defined under [destinations]"),
        "{err}"
    );
    let err = cronport::config::Config::parse(
        &text.replace(
            "to = [\"hook\", \"files\", \"nowhere\"]",
            "to = [\"hook\"], on_what = 1",
        ),
        std::path::Path::new("/tmp"),
    )
    .unwrap_err();
    assert!(err.contains("unknown field `on_what`"), "{err}");
}

/// The seconds between the requests the receiver got, from its own record.
fn gaps(hook: &Webhook) -> Vec<f64> {
    let times: Vec<f64> = hook.requests().iter().map(|r| r.received).collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test]
async fn retry_after_on_429_and_503_is_obeyed_as_seconds_or_a_date() {
    // A 500's Retry-After means nothing (RFC 9110): the 50ms backoff applies.
    let hook = Webhook::start(&[
        "503,retry-after=2",
        "429,retry-after=date+3",
        "500,retry-after=30",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&hook.url("/ra"), ""), dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 10, 3);
    dest.deliver(&a, &ctx("paced", 1, slot(0))).await.unwrap();
    let requests = hook.requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.headers["idempotency-key"] == "paced@20260308T020000.000Z"),
        "{requests:?}"
    );
    let gaps = gaps(&hook);
    // Never earlier than asked; the upper bounds only show that no longer
    // wait (the 30s, the default 5m cap) was taken.
    assert!(
        gaps[0] >= 2.0 && gaps[0] < 7.0,
        "Retry-After: 2 -> {gaps:?}"
    );
    // The date is whole seconds, 3s after the answer, rounded down: the
    // wait ends more than 2s after the request came in.
    assert!(gaps[1] > 2.0 && gaps[1] < 8.0, "date+3 -> {gaps:?}");
    assert!(gaps[2] < 20.0, "a 500's Retry-After was obeyed: {gaps:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_max_retry_after_waits_the_maximum() {
    let hook = Webhook::start(&["503,retry-after=3600"]);
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(
        &config(&hook.url("/cap"), "max_retry_after = \"1s\""),
        dir.path(),
    );
    let (a, _) = artifact(dir.path(), "a.csv", 10, 3);
    dest.deliver(&a, &ctx("capped", 1, slot(0))).await.unwrap();
    let gaps = gaps(&hook);
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0] >= 1.0 && gaps[0] < 20.0, "{gaps:?}");
}
